"""Step 4: combine the single-drizzled images into a clean "median" image.

:func:`combine` works on bands of output rows, so only a band of every
single image is in memory at a time; the band height comes from a memory
budget (:func:`plan_rows`).  Every output pixel depends only on the stack at
that pixel (plus, for ``minmed`` with ``combine_grow``, a halo of ``grow``
rows that each band reads too), so the result does not depend on the band
height.

``minmed`` (the original's default) follows its description: per pixel over
the N images, with masks,

* M = the mean when N = 2, else the median after rejecting the highest
  unmasked value (the value itself when only one is unmasked); m = the
  minimum unmasked value;
* Wsum = sum of the unmasked weights, bkg = sum over unmasked images of
  sky_i / exptime_i x weight_i, rn2 = sum over unmasked of readnoise_i^2;
* rms = sqrt(max(0, M x Wsum + bkg + rn2));
* the minimum is used where m x Wsum < M x Wsum - nsigma1 x rms; with
  ``grow`` > 0, the pixels within a (2 grow + 1)^2 box of a flagged pixel are
  tested again with nsigma2;
* pixels masked in every image are 0.

The other types reject ``nlow``/``nhigh`` extreme unmasked values and values
outside ``lthresh``/``hthresh``, then take the median, mean or sum; the ``i``
variants fill pixels masked in every image with the unmasked-ignoring result
instead of 0.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence

import numpy as np
from scipy.ndimage import maximum_filter

from ..errors import MemoryLimitError
from ..logutil import no_progress

__all__ = ["combine", "combine_block", "plan_rows", "weight_masks", "has_data",
           "bytes_per_row", "ordered_map", "positive_sum_count"]

log = logging.getLogger(__name__)

COMBINE_TYPES = ("minmed", "iminmed", "median", "mean", "imedian", "imean", "sum")


def weight_masks(weights: Sequence[np.ndarray], maskpt: float) -> list[float]:
    """Weight thresholds below which single-image pixels are masked.

    Parameters
    ----------
    weights : sequence of ndarray
        Weight image of each single-drizzled image.
    maskpt : float
        Fraction of the mean (over pixels with weight > 0) weight.

    Returns
    -------
    list of float
        ``maskpt * mean weight`` per image (0 when an image has no weight).
    """
    out = []
    for w in weights:
        # an object that knows its sums (e.g. a file written from memory) saves a read
        known = getattr(w, "positive_sum_count", None)
        total, count = known if known is not None else positive_sum_count(w)
        out.append(maskpt * total / count if count else 0.0)
    return out


def has_data(weight: np.ndarray, threshold: float = 0.0) -> np.ndarray:
    """Pixels at which a single image has data for the median.

    The one test behind the median's support (:func:`combine` with
    ``support``, :func:`.crrej.median_support`): the weight is positive and
    not below ``threshold`` (compared in float32, as the weights are).

    Parameters
    ----------
    weight : array_like
        Weights (a band of a weight image).
    threshold : float, optional
        The image's entry of :func:`weight_masks` (0: only positive weight
        counts).

    Returns
    -------
    ndarray of bool
        False where the weight is NaN.
    """
    w = np.asarray(weight, dtype=np.float32)
    with np.errstate(invalid="ignore"):
        return (w > 0) & (w >= np.float32(threshold))


def positive_sum_count(weight) -> tuple[float, int]:
    """Sum (float64, in bands of 512 rows) and number of the positive values of a 2-D array.

    Parameters
    ----------
    weight : 2-D array or object with row slicing
        A weight image.

    Returns
    -------
    total : float
    count : int
    """
    total, count = 0.0, 0
    for band in range(0, weight.shape[0], 512):  # bounded temporary memory
        part = np.asarray(weight[band:band + 512], dtype=np.float64)
        pos = part > 0
        total += float(part[pos].sum())
        count += int(pos.sum())
    return total, count


def _masked_sorted(values: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort along axis 0 with masked values (True = bad) moved to the end as +inf."""
    work = np.where(mask, np.inf, values)
    work.sort(axis=0)
    n_good = (~mask).sum(axis=0)
    return work, n_good


def _median_of_sorted(srt: np.ndarray, lo: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Median of ``srt[lo:lo+n]`` per pixel (n may be 0 -> NaN)."""
    n_safe = np.maximum(n, 1)
    i1 = lo + (n_safe - 1) // 2
    i2 = lo + n_safe // 2
    top = srt.shape[0] - 1
    a = np.take_along_axis(srt, np.minimum(i1, top)[None], axis=0)[0]
    b = np.take_along_axis(srt, np.minimum(i2, top)[None], axis=0)[0]
    with np.errstate(invalid="ignore"):
        med = 0.5 * (a + b)
    return np.where(n > 0, med, np.nan)


def _mean_of_sorted(srt: np.ndarray, lo: np.ndarray, n: np.ndarray,
                    want_sum: bool = False) -> np.ndarray:
    idx = np.arange(srt.shape[0])[:, None, None]
    sel = (idx >= lo[None]) & (idx < (lo + n)[None])
    total = np.where(sel, srt, srt.dtype.type(0)).sum(axis=0, dtype=np.float64)
    if want_sum:
        return np.where(n > 0, total, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def _reduce(values: np.ndarray, bad: np.ndarray, kind: str, nlow: int,
            nhigh: int) -> np.ndarray:
    srt, n_good = _masked_sorted(values, bad)
    lo = np.minimum(n_good, nlow)
    n = np.maximum(n_good - nlow - nhigh, 0)
    if kind == "median":
        return _median_of_sorted(srt, lo, n)
    return _mean_of_sorted(srt, lo, n, want_sum=(kind == "sum"))


def combine_block(images: np.ndarray, weights: np.ndarray, bad: np.ndarray, *,
                  combine_type: str = "minmed", nsigma: tuple[float, float] = (4.0, 3.0),
                  nlow: int = 0, nhigh: int = 0, lthresh: float | None = None,
                  hthresh: float | None = None, grow: int = 1,
                  sky: Sequence[float] | None = None, exptime: Sequence[float] | None = None,
                  readnoise: Sequence[float] | None = None) -> np.ndarray:
    """Combine one block of a stack (all of it in memory).

    Parameters
    ----------
    images, weights : ndarray, shape (N, ny, nx)
        Single-drizzled values (count rates) and their weights.
    bad : ndarray of bool, shape (N, ny, nx)
        Masked (unusable) values.
    combine_type : str, optional
        One of minmed, iminmed, median, mean, imedian, imean, sum.
    nsigma : (float, float), optional
        minmed thresholds.
    nlow, nhigh : int, optional
        Lowest/highest unmasked values rejected (median/mean/sum types).
    lthresh, hthresh : float, optional
        Values below/above are masked (median/mean/sum types).
    grow : int, optional
        minmed neighbourhood radius.
    sky, exptime, readnoise : sequence of float, optional
        Per image (minmed noise model); sky in the input's counts per exposure.

    Returns
    -------
    ndarray of float32, shape (ny, nx)
        For ``minmed`` with ``grow`` > 0 the block's first and last ``grow``
        rows are unreliable (their neighbours are outside); :func:`combine`
        trims them.
    """
    # float32 arithmetic: values are count rates and electrons far inside its range,
    # and half the memory traffic of float64
    images = np.asarray(images, dtype=np.float32)
    bad = np.asarray(bad, dtype=bool) | ~np.isfinite(images)
    all_bad = bad.all(axis=0)
    fill_all_bad = combine_type.startswith("i")
    base = combine_type[1:] if fill_all_bad else combine_type

    if base == "minmed":
        result = _minmed(images, np.asarray(weights, dtype=np.float32), bad, nsigma, grow,
                         sky, exptime, readnoise)
        fallback = _minmed(images, np.asarray(weights, dtype=np.float32),
                           ~np.isfinite(images), nsigma, grow, sky, exptime, readnoise) \
            if fill_all_bad and all_bad.any() else None
    else:
        b = bad.copy()
        if lthresh is not None:
            b |= images < lthresh
        if hthresh is not None:
            b |= images > hthresh
        result = _reduce(images, b, base, nlow, nhigh)
        fallback = _reduce(images, ~np.isfinite(images), base, nlow, nhigh) \
            if fill_all_bad and all_bad.any() else None
    if fallback is not None:
        result = np.where(all_bad, fallback, result)
    else:
        result = np.where(all_bad, 0.0, result)
    return np.nan_to_num(result, nan=0.0).astype(np.float32)


def _minmed(images, weights, bad, nsigma, grow, sky, exptime, readnoise):
    n_img = images.shape[0]
    if 2 < n_img <= _NETWORK_MAX:
        return _minmed_planes(images, weights, bad, nsigma, grow, sky, exptime, readnoise)
    good = ~bad
    n_good = good.sum(axis=0)
    srt, _ = _masked_sorted(images, bad)
    if n_img == 2:
        med = _mean_of_sorted(srt, np.zeros_like(n_good), n_good)
    else:
        # reject the highest unmasked value unless it is the only one
        n_use = np.where(n_good > 1, n_good - 1, n_good)
        med = _median_of_sorted(srt, np.zeros_like(n_good), n_use)
    minimum = np.where(n_good > 0, srt[0], np.nan)
    w = np.where(good, weights, np.float32(0.0))
    wsum = w.sum(axis=0)
    bkg_rate, rn2_img = _noise_terms(n_img, sky, exptime, readnoise)
    bkg = (w * bkg_rate[:, None, None]).sum(axis=0)
    rn2 = (good * rn2_img[:, None, None]).sum(axis=0)
    return _minmed_select(med, minimum, wsum, bkg, rn2, n_good > 0, nsigma, grow)


def _noise_terms(n_img, sky, exptime, readnoise) -> tuple[np.ndarray, np.ndarray]:
    """Per image: sky rate (float32) and read noise squared (float32)."""
    sky_a = np.zeros(n_img) if sky is None else np.asarray(sky, dtype=np.float64)
    exp_a = np.ones(n_img) if exptime is None else np.asarray(exptime, dtype=np.float64)
    rn_a = np.zeros(n_img) if readnoise is None else np.asarray(readnoise, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        bkg_rate = np.where(exp_a > 0, sky_a / exp_a, 0.0).astype(np.float32)
    return bkg_rate, (rn_a ** 2).astype(np.float32)


def _minmed_select(med, minimum, wsum, bkg, rn2, any_good, nsigma, grow):
    """The minmed choice between the median ``med`` and the ``minimum``."""
    with np.errstate(invalid="ignore"):
        rms = np.sqrt(np.maximum(0.0, med * wsum + bkg + rn2))
        mw = minimum * wsum
        medw = med * wsum
        flag1 = mw < medw - nsigma[0] * rms
    flag1 &= any_good
    flags = flag1
    if grow > 0:
        size = 2 * grow + 1
        near = maximum_filter(flag1.view(np.uint8), size=size, mode="constant") > 0
        with np.errstate(invalid="ignore"):
            flag2 = mw < medw - nsigma[1] * rms
        flags = flag1 | (near & flag2 & any_good)
    return np.where(flags, minimum, med)


#: Stacks of up to this many images are sorted with a sorting network of
#: whole-plane minimum/maximum operations (much faster than ``np.sort`` along
#: the first axis); larger stacks use ``np.sort``.  Both give the same values.
_NETWORK_MAX = 24


def _network(n: int) -> list[tuple[int, int]]:
    """Compare-exchange pairs of Batcher's odd-even merge sort for ``n`` items."""
    pairs = []
    p = 1
    while p < n:
        k = p
        while k >= 1:
            for j in range(k % p, n - k, 2 * k):
                for i in range(min(k, n - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p):
                        pairs.append((i + j, i + j + k))
            k //= 2
        p *= 2
    return pairs


def _sorted_planes(images: np.ndarray, bad: np.ndarray) -> list[np.ndarray]:
    """Per-pixel ascending values as a list of planes; masked values are +inf (last)."""
    planes = [np.where(bad[k], np.float32(np.inf), images[k]) for k in range(images.shape[0])]
    for i, j in _network(len(planes)):
        lo = np.minimum(planes[i], planes[j])
        np.maximum(planes[i], planes[j], out=planes[j])
        planes[i] = lo
    return planes


def _minmed_planes(images, weights, bad, nsigma, grow, sky, exptime, readnoise):
    """:func:`_minmed` for 3 or more images, plane by plane (same values)."""
    n_img = images.shape[0]
    good = ~bad
    n_good = np.zeros(images.shape[1:], dtype=np.int64)
    for k in range(n_img):
        n_good += good[k]
    planes = _sorted_planes(images, bad)
    # median of the lowest n_use values, n_use = n_good - 1 (the highest rejected)
    # unless only one is unmasked
    n_use = np.where(n_good > 1, n_good - 1, n_good)
    med = np.full(images.shape[1:], np.nan, dtype=np.float32)
    for n in range(1, n_img):
        sel = n_use == n
        if n % 2:
            value = planes[(n - 1) // 2]
        else:
            with np.errstate(invalid="ignore"):
                value = np.float32(0.5) * (planes[n // 2 - 1] + planes[n // 2])
        np.copyto(med, value, where=sel)
    any_good = n_good > 0
    minimum = np.where(any_good, planes[0], np.float32(np.nan))
    del planes
    bkg_rate, rn2_img = _noise_terms(n_img, sky, exptime, readnoise)
    w0 = np.where(good[0], weights[0], np.float32(0.0))
    wsum = w0.copy()
    bkg = w0 * bkg_rate[0]
    rn2 = good[0] * rn2_img[0]
    for k in range(1, n_img):
        wk = np.where(good[k], weights[k], np.float32(0.0))
        wsum += wk
        wk *= bkg_rate[k]
        bkg += wk
        rn2 += good[k] * rn2_img[k]
    return _minmed_select(med, minimum, wsum, bkg, rn2, any_good, nsigma, grow)


def bytes_per_row(n_images: int, nx: int) -> int:
    """Estimated peak bytes per output row while combining ``n_images``.

    Counts the float32 image and weight bands read, the float64 working
    copies, the sort buffer, the masks and a few per-pixel temporaries.
    """
    per_pixel_stack = 4 + 4 + 8 + 8 + 8 + 1 + 1  # band reads, float64 copies, sort, masks
    per_pixel_plane = 8 * 12  # temporaries of one plane
    return nx * (n_images * per_pixel_stack + per_pixel_plane)


def plan_rows(n_images: int, shape: tuple[int, int], memory_limit: int | None, *,
              halo: int = 0, default_rows: int = 256) -> int:
    """Rows per band so that one band fits ``memory_limit`` bytes.

    Raises
    ------
    MemoryLimitError
        If even one row (plus its halo) does not fit.
    """
    ny, nx = shape
    per_row = bytes_per_row(n_images, nx)
    if memory_limit is None:
        return max(1, min(ny, default_rows))
    rows = memory_limit // per_row - 2 * halo
    if rows < 1:
        need = per_row * (1 + 2 * halo)
        raise MemoryLimitError(f"median of {n_images} images of {nx} columns needs at least "
                               f"{need / 1e6:.1f} MB; memory_limit is "
                               f"{memory_limit / 1e6:.1f} MB")
    return int(min(ny, rows))


def combine(images: Sequence[np.ndarray], weights: Sequence[np.ndarray], *,
            combine_type: str = "minmed", combine_nsigma: tuple[float, float] = (4.0, 3.0),
            combine_nlow: int = 0, combine_nhigh: int = 0,
            combine_lthresh: float | None = None, combine_hthresh: float | None = None,
            combine_grow: int = 1, combine_maskpt: float | None = 0.3,
            masks: Sequence[np.ndarray | None] | None = None,
            sky: Sequence[float] | None = None, exptime: Sequence[float] | None = None,
            readnoise: Sequence[float] | None = None, memory_limit: int | None = None,
            rows: int | None = None, progress: Callable = no_progress,
            num_threads: int | None = 1, support: np.ndarray | None = None) -> np.ndarray:
    """Combine single-drizzled images band by band within a memory budget.

    Parameters
    ----------
    images, weights : sequence of 2-D arrays (ndarray or memmap)
        Single-drizzled images and weights, all of one shape.
    combine_type, combine_nsigma, combine_nlow, combine_nhigh : optional
        As the original parameters.
    combine_lthresh, combine_hthresh, combine_grow : optional
        As the original parameters.
    combine_maskpt : float or None, optional
        Mask pixels whose weight is below this fraction of the image's mean
        weight (``median_newmasks``); None masks only zero weight.
    masks : sequence of bool arrays or None, optional
        Extra per-image masks (True = bad).
    sky, exptime, readnoise : sequence of float, optional
        Per-image noise model for minmed.
    memory_limit : int, optional
        Byte budget for one band (see :func:`plan_rows`).
    rows : int, optional
        Band height; overrides the budget (tests).
    progress : callable, optional
        Progress wrapper, ``progress(iterable, desc=..., total=...)``.
    num_threads : int or None, optional
        Bands combined concurrently (default 1; None also means 1).  Each
        thread holds one band, so ``memory_limit`` is shared between them
        (one thread is used when a shared band would not fit).  The result
        does not depend on it.
    support : ndarray of bool, optional
        Filled with the pixels at which at least one image has data
        (:func:`has_data`), from the weight bands read for the median (no
        second pass over the weights): the weight is positive and not below
        the ``combine_maskpt`` threshold of the image; for the ``i`` types,
        which fill pixels masked in every image, only zero weights are gaps.
        That is :func:`.crrej.median_support` of the weights with the
        thresholds of :func:`weight_masks` (``i`` types: None).

    Returns
    -------
    ndarray of float32

    Raises
    ------
    ValueError
        If the images differ in shape or the type is unknown.
    MemoryLimitError
        If one band does not fit in ``memory_limit``.
    """
    if combine_type not in COMBINE_TYPES:
        raise ValueError(f"unknown combine_type {combine_type!r}")
    if not images:
        raise ValueError("no images to combine")
    shape = images[0].shape
    for k, (im, wt) in enumerate(zip(images, weights, strict=True)):
        if im.shape != shape or wt.shape != shape:
            raise ValueError(f"image {k} has shape {im.shape}/{wt.shape}, expected {shape}")
    n = len(images)
    halo = combine_grow if combine_type.endswith("minmed") else 0
    workers = max(1, int(num_threads or 1))
    if rows:
        step = rows
    else:
        # every worker holds one band: split the budget, but never below one band's need
        while True:
            try:
                step = plan_rows(n, shape, None if memory_limit is None
                                 else memory_limit // workers, halo=halo)
                break
            except MemoryLimitError:
                if workers == 1:
                    raise
                workers = 1
    thresholds = weight_masks(weights, combine_maskpt) if combine_maskpt else [0.0] * n
    # the i types fill the pixels every threshold masks: there only zero weights are gaps
    support_thresholds = [0.0] * n if combine_type.startswith("i") else thresholds
    out = np.zeros(shape, dtype=np.float32)
    if support is not None:
        if support.shape != shape or support.dtype != np.bool_:
            raise ValueError(f"support must be a bool array of shape {shape}")
        support[...] = False
    ny = shape[0]
    starts = list(range(0, ny, step))
    workers = min(workers, len(starts))

    def band(y0: int) -> np.ndarray:
        y1 = min(ny, y0 + step)
        r0, r1 = max(0, y0 - halo), min(ny, y1 + halo)
        stack = np.stack([np.asarray(im[r0:r1], dtype=np.float32) for im in images])
        wst = np.stack([np.asarray(wt[r0:r1], dtype=np.float32) for wt in weights])
        bad = np.stack([(wst[k] < thresholds[k]) | (wst[k] <= 0) for k in range(n)])
        if masks is not None:
            for k, m in enumerate(masks):
                if m is not None:
                    bad[k] |= np.asarray(m[r0:r1], dtype=bool)
        if support is not None:
            sup = support[y0:y1]
            lo = y0 - r0
            for k in range(n):
                sup |= has_data(wst[k, lo:lo + (y1 - y0)], support_thresholds[k])
        block = combine_block(stack, wst, bad, combine_type=combine_type,
                              nsigma=combine_nsigma, nlow=combine_nlow, nhigh=combine_nhigh,
                              lthresh=combine_lthresh, hthresh=combine_hthresh,
                              grow=combine_grow, sky=sky, exptime=exptime,
                              readnoise=readnoise)
        return block[y0 - r0:y0 - r0 + (y1 - y0)]

    # bands are independent: workers compute them concurrently (numpy releases the
    # GIL on whole-array operations) and they are written back in order
    results = ordered_map(band, starts, workers)
    for y0, block in zip(starts, progress(results, desc="median", total=len(starts)),
                         strict=True):
        out[y0:y0 + block.shape[0]] = block
    return out


def ordered_map(func: Callable, items: Sequence, workers: int, *,
                ahead: int | None = None) -> Iterator:
    """``map(func, items)`` on ``workers`` threads, results in input order.

    At most ``ahead`` (default ``workers``) results are being computed or
    waiting while the caller consumes one, so the memory held is bounded by
    that many items.  ``workers=1, ahead=1`` prepares the next item in one
    background thread while the caller works on the current one.  With
    ``workers`` <= 1 and no ``ahead`` it is the plain ``map``.

    Parameters
    ----------
    func : callable
        Function of one item.
    items : sequence
        Items, processed in order.
    workers : int
        Number of threads.
    ahead : int, optional
        Results computed ahead of the consumer (default ``workers``).

    Yields
    ------
    object
        ``func(item)`` for every item, in the order of ``items``.
    """
    depth = workers if ahead is None else ahead
    if workers < 1 or depth < 1 or len(items) <= 1 or (workers == 1 and ahead is None):
        for item in items:
            yield func(item)
        return
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque = deque()
        it = iter(items)
        try:
            for item in it:
                pending.append(pool.submit(func, item))
                if len(pending) >= depth:
                    break
            while pending:
                result = pending.popleft().result()
                for item in it:
                    pending.append(pool.submit(func, item))
                    break
                yield result
        finally:
            for fut in pending:
                fut.cancel()
