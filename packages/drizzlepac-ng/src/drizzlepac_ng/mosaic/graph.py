"""Pure per-tile tasks of a mosaic: final drizzle and median of one output tile.

Every function here takes plain data (arrays, or ``.npy`` paths opened
memory-mapped) and returns arrays, holds no global state and never writes
files, so the same call can run in a thread, in a Dask worker process or on
another machine and give the same bits.

Determinism and output windows
------------------------------
The drizzle kernels sum the contributions of each output pixel in input
order in float64 and merge them into the float32 outputs once per input, so
a per-tile sum visits the same inputs in the same order as a whole-frame
sum.  The geometry does not depend on the tile either: a chip is drizzled
with its own, global pixel map straight into the tile's arrays, passed as a
window of the output grid (``drizzle_add(..., out_origin=(box.x0,
box.y0))``).  The kernels subtract that origin only from integer output
positions, never from a map value, so every contribution is computed from
the same float64 numbers as in a whole-frame drizzle, and a tile, or the
bounding box of a single image hanging off the frame (negative origin), is
bit for bit the same region of it, for every kernel, tiling and scheduler
(``tests/test_mosaic_bitident.py``; ``tests/test_drizzle_origin.py`` shows
why the map itself is never shifted: a value that crosses a power of two
loses its last bit).  The chip's arrays are read in place (memory-mapped
``.npy`` files are not copied): only the input window that can reach the
tile (``_input_window``) is handed to the kernel, as its ``xmin`` to ``ymax``
sub-region, and the chip's ``reject`` mask as its bad-pixel mask.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..astrodrizzle import crrej
from ..astrodrizzle import median as median_mod
from ..blot import BlotSource, blot_image
from ..drizzle_kernels import drizzle_add
from ..errors import ConfigError, FileUpdateError, PixmapError
from ..pixmap import PixmapPlan
from .tiles import BBox, kernel_margin, pixmap_bbox

log = logging.getLogger(__name__)

__all__ = ["ChipInput", "SingleImage", "TileResult", "crmask_chip", "drizzle_single",
           "drizzle_tile", "map_shape", "median_tile", "pixmap_source",
           "prepare_chips", "single_tile", "whole_pixmap"]

CTX_BITS = 32


@dataclass(frozen=True)
class ChipInput:
    """One input chip of a mosaic, ready to drizzle.

    Attributes
    ----------
    data : ndarray or str
        Science array, or the path of a ``.npy`` file (opened memory-mapped
        inside the task, so a cluster only ships the path).
    pixmap : ndarray, str or PixmapPlan
        ``data.shape + (2,)`` output (x, y) of every input pixel, the path
        of its ``.npy`` file, a :class:`~drizzlepac_ng.pixmap.PixmapPlan`
        (a fast-mode plan is a few MB of spline coefficients: a task
        evaluates only the rows it needs, bit for bit those of the whole
        map), or the path of a plan saved with
        :meth:`~drizzlepac_ng.pixmap.PixmapPlan.save` (ending in
        :data:`PLAN_SUFFIX`).
    exptime : float
        Exposure time (s).
    weight : ndarray, str or None
        Input weights (0 = bad pixel); None for all ones.
    exposure : int
        Index of the exposure the chip belongs to (singles and median).
    label : str
        Name used in error messages (e.g. ``"j8abc1q_flc.fits[SCI,1]"``).
    iscale, pixel_scale_ratio, wht_scale : float
        As :meth:`drizzlepac_ng.resample.Drizzle.add_image`.
    in_units : {'cps', 'counts'}
        Units of ``data``.
    sky, gain, readnoise, ctedir : optional
        Sky already subtracted from ``data`` (native units), effective gain,
        read noise (e-) and CTE trail direction: the driz_cr noise model.
    bbox : BBox or None
        Output pixels the chip can touch; filled by :func:`prepare_chips`.
    reject : ndarray, str or None
        Boolean mask (or ``.npy`` path) of pixels given zero weight, e.g. the
        cosmic rays found by :func:`crmask_chip`; None rejects nothing.
    extent : BBox or None
        ``pixmap_bbox(pixmap, margin=0)`` when already known (saves reading
        the pixel map again in :func:`prepare_chips`).
    blot_iscale : float or None
        Factor from the median (count rate per output pixel) to the chip's
        units and pixel for :func:`crmask_chip`; None: ``exptime / iscale``
        for counts, ``1 / iscale`` for rates.  AstroDrizzle gives the value
        its whole-frame run computes, so that both blots agree bit for bit.
    """

    data: np.ndarray | str
    pixmap: np.ndarray | str | PixmapPlan
    exptime: float
    weight: np.ndarray | str | None = None
    exposure: int = 0
    label: str = ""
    iscale: float = 1.0
    pixel_scale_ratio: float = 1.0
    wht_scale: float = 1.0
    in_units: str = "cps"
    sky: float = 0.0
    gain: float = 1.0
    readnoise: float = 0.0
    ctedir: int = 0
    bbox: BBox | None = field(default=None, compare=False)
    reject: np.ndarray | str | None = field(default=None, compare=False)
    extent: BBox | None = field(default=None, compare=False)
    blot_iscale: float | None = None


@dataclass
class TileResult:
    """Products of one tile (arrays cover exactly ``box``)."""

    box: BBox
    sci: np.ndarray
    wht: np.ndarray | None = None
    ctx: np.ndarray | None = None


def _load(value, name: str, label: str) -> np.ndarray | None:
    if value is None:
        return None
    if isinstance(value, (str, Path)):
        try:
            return np.load(value, mmap_mode="r")
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read {name} of {label or 'a chip'} ({exc})",
                              filename=str(value)) from exc
    return np.asarray(value)


#: file-name ending of a saved pixel-map plan (:meth:`.PixmapPlan.save`)
PLAN_SUFFIX = ".plan.npz"


def pixmap_source(value: np.ndarray | str | PixmapPlan, label: str = ""
                  ) -> np.ndarray | PixmapPlan:
    """A :attr:`ChipInput.pixmap` value as a plan (read from its file if need be) or
    an array (memory-mapped from its ``.npy`` file).

    Raises
    ------
    ConfigError
        If the file cannot be read (the message names the chip and the file).
    """
    if isinstance(value, PixmapPlan):
        return value
    if isinstance(value, (str, Path)) and str(value).endswith(PLAN_SUFFIX):
        try:
            return PixmapPlan.load(value)
        except PixmapError as exc:
            raise ConfigError(f"cannot read the pixel-map plan of {label or 'a chip'} "
                              f"({exc})", filename=str(value)) from exc
    return _load(value, "pixel map", label)


def whole_pixmap(value: np.ndarray | str | PixmapPlan, label: str = "") -> np.ndarray:
    """The whole pixel map behind a :attr:`ChipInput.pixmap` value (a plan is
    evaluated, a file memory-mapped)."""
    src = pixmap_source(value, label)
    return src.evaluate(num_threads=1) if isinstance(src, PixmapPlan) else src


def map_shape(chip: ChipInput) -> tuple[int, int]:
    """``(ny, nx)`` of the chip's pixel map (a plan is not evaluated)."""
    src = pixmap_source(chip.pixmap, chip.label)
    return src.shape if isinstance(src, PixmapPlan) else tuple(src.shape[:2])


def prepare_chips(chips: Sequence[ChipInput], kernel: str, pixfrac: float, *,
                  also: Sequence[tuple[str, float]] = ()) -> list[ChipInput]:
    """Attach each chip's output bounding box (the output pixels it can touch).

    Parameters
    ----------
    chips : sequence of ChipInput
    kernel : str
    pixfrac : float
    also : sequence of (kernel, pixfrac), optional
        Other drizzles of the same chips (e.g. the separate drizzle of the
        median step): the box covers the reach of every one of them.

    Returns
    -------
    list of ChipInput
        Copies with ``bbox`` set (None for a chip that maps nowhere).
    """
    out = []
    for c in chips:
        margin = max(kernel_margin(k, p, c.pixel_scale_ratio)
                     for k, p in [(kernel, pixfrac), *also])
        extent = (c.extent if c.extent is not None
                  else pixmap_bbox(whole_pixmap(c.pixmap, c.label), 0))
        # pixmap_bbox(pm, 0).grow(m) is pixmap_bbox(pm, m)
        out.append(replace(c, bbox=None if extent is None else extent.grow(margin)))
    return out


#: stride of the pixel-map sample used to find a chip's input window
WINDOW_STRIDE = 8


def _input_window(pm: np.ndarray | PixmapPlan, box: BBox
                  ) -> tuple[int, int, int, int] | None:
    """Inclusive input sub-region (xmin, xmax, ymin, ymax) containing every
    pixel whose mapped centre falls in ``box`` (already grown by the kernel's
    reach).

    The window is found on a sample of the map (every :data:`WINDOW_STRIDE`
    rows and columns, plus the last ones): the box is grown by the largest
    output step between neighbouring samples, and the window by one stride,
    so a pixel between samples cannot be missed.  A window that is too large
    changes nothing either: the kernels visit it in input order and the extra
    pixels land outside the tile, so restricting the input never changes an
    output bit; it only skips work.  ``pm`` may be a plan: only the sampled
    rows are evaluated.
    """
    s = WINDOW_STRIDE
    if isinstance(pm, PixmapPlan):
        ny, nx = pm.shape
        rows = pm.evaluate_rows(slice(0, ny, s))
        last = pm.evaluate_rows(slice(ny - 1, ny))[0]
    else:
        ny, nx = pm.shape[:2]
        rows, last = pm[::s], pm[ny - 1]  # strided views: no copy of every sampled row
    ys = np.unique(np.r_[np.arange(0, ny, s), ny - 1])
    xs = np.unique(np.r_[np.arange(0, nx, s), nx - 1])
    # every s-th row and column, plus the last row and column
    sample = np.empty((ys.size, xs.size, 2), dtype=np.float64)
    my, mx = -(-ny // s), -(-nx // s)
    sample[:my, :mx] = rows[:, ::s]
    if ys.size > my:
        sample[my, :mx] = last[::s]
    if xs.size > mx:
        sample[:my, mx] = rows[:, nx - 1]
        if ys.size > my:
            sample[my, mx] = last[nx - 1]
    with np.errstate(invalid="ignore"):
        steps = [np.abs(np.diff(sample, axis=a)) for a in (0, 1) if sample.shape[a] > 1]
        finite = [d[np.isfinite(d)] for d in steps]
        reach = max((float(d.max()) for d in finite if d.size), default=0.0)
        g = int(math.ceil(reach)) + 1
        inside = ((sample[..., 0] >= box.x0 - g) & (sample[..., 0] < box.x1 + g)
                  & (sample[..., 1] >= box.y0 - g) & (sample[..., 1] < box.y1 + g))
    rows = np.flatnonzero(inside.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(inside.any(axis=0))
    return (max(0, int(xs[cols[0]]) - s), min(nx - 1, int(xs[cols[-1]]) + s),
            max(0, int(ys[rows[0]]) - s), min(ny - 1, int(ys[rows[-1]]) + s))


#: input rows evaluated around a window when the pixel map is a plan (the square
#: kernel forms a pixel's corners from the map values of its neighbours)
WINDOW_PAD = 4


def _drizzle_chip_into(box: BBox, chip: ChipInput, sci: np.ndarray, wht: np.ndarray,
                       ctx: np.ndarray | None, ctx_id: int, kernel: str, pixfrac: float,
                       num_threads: int | None) -> None:
    """Drizzle one chip straight onto tile arrays covering ``box`` (global map,
    output origin at the tile's corner, the input window as the sub-region)."""
    if chip.bbox is None or box.intersect(chip.bbox) is None:
        return
    pm = pixmap_source(chip.pixmap, chip.label)
    plan = pm if isinstance(pm, PixmapPlan) else None
    sub = _input_window(pm, box.intersect(chip.bbox).grow(
        kernel_margin(kernel, pixfrac, chip.pixel_scale_ratio)))
    if sub is None:
        return
    data = _load(chip.data, "data", chip.label)
    weight = _load(chip.weight, "weight", chip.label)
    reject = _load(chip.reject, "reject mask", chip.label)
    if plan is not None:
        # evaluate only a band of rows: the window plus WINDOW_PAD rows of neighbours
        # (or the chip's own edge), so the kernel sees the values it sees in the whole
        # map; the other arrays are cut to the same rows (views)
        pad = WINDOW_PAD + int(math.ceil(pixfrac))
        y0, y1 = max(0, sub[2] - pad), min(plan.shape[0], sub[3] + 1 + pad)
        band = slice(y0, y1)
        pm = plan.evaluate_rows(band)
        data = data[band]
        weight = None if weight is None else weight[band]
        reject = None if reject is None else reject[band]
        sub = (sub[0], sub[1], sub[2] - y0, sub[3] - y0)
    if weight is not None and weight.dtype == bool:
        # a good-pixel mask (weights 1/0) is the kernel's bad-pixel mask inverted: the
        # same sums, without the float32 copy of the chip the kernel would make of it
        bad = np.logical_not(weight)
        if reject is not None:
            bad |= np.asarray(reject, dtype=bool)
        weight, reject = None, bad
    out_ctx, bit = None, 0
    if ctx is not None:
        plane, bit = divmod(ctx_id, CTX_BITS)
        out_ctx = ctx[plane]
    drizzle_add(data, pm, sci, wht, weight_map=weight, mask=reject, out_ctx=out_ctx,
                ctx_bit=bit, kernel=kernel, pixfrac=pixfrac,
                pixel_scale_ratio=chip.pixel_scale_ratio, iscale=chip.iscale,
                wht_scale=chip.wht_scale,
                expscale=chip.exptime if chip.in_units == "counts" else 1.0,
                xmin=sub[0], xmax=sub[1], ymin=sub[2], ymax=sub[3],
                num_threads=num_threads, out_origin=(box.x0, box.y0))


def drizzle_tile(box: BBox, chips: Sequence[tuple[int, ChipInput]], *, kernel: str = "square",
                 pixfrac: float = 1.0, fillval: float | None = None, context: bool = True,
                 n_ctx_planes: int = 1, num_threads: int | None = 1) -> TileResult:
    """Final drizzle of the chips overlapping one output tile.

    Parameters
    ----------
    box : BBox
        The tile.
    chips : sequence of (int, ChipInput)
        ``(global input index, chip)`` in increasing index order; the index
        is the chip's context bit.  Chips need ``bbox`` (see
        :func:`prepare_chips`).
    kernel : str
    pixfrac : float
    fillval : float or None
        Value of uncovered pixels (None leaves 0).
    context : bool
        Build the context planes.
    n_ctx_planes : int
        Context planes of the whole mosaic (``n_inputs // 32 + 1``).
    num_threads : int or None
        Kernel threads (results do not depend on it).

    Returns
    -------
    TileResult

    Raises
    ------
    ConfigError
        If the chips are not in increasing index order or a file cannot be read.
    """
    idx = [k for k, _ in chips]
    if idx != sorted(idx) or len(set(idx)) != len(idx):
        raise ConfigError(f"tile chips must be in increasing input order, got {idx}")
    sci = np.zeros(box.shape, np.float32)
    wht = np.zeros(box.shape, np.float32)
    ctx = np.zeros((n_ctx_planes,) + box.shape, np.int32) if context else None
    for k, chip in chips:
        _drizzle_chip_into(box, chip, sci, wht, ctx, k, kernel, pixfrac, num_threads)
    if fillval is not None:
        sci[wht <= 0] = np.float32(fillval)
    return TileResult(box, sci, wht, ctx)


def single_tile(box: BBox, chips: Sequence[ChipInput], *, kernel: str = "square",
                pixfrac: float = 1.0, num_threads: int | None = 1) -> tuple[np.ndarray, np.ndarray]:
    """Separate drizzle of one exposure's chips onto a tile (no context).

    Parameters
    ----------
    box : BBox
        The tile (possibly grown by a halo).
    chips : sequence of ChipInput
        The exposure's chips, with ``bbox`` set.
    kernel, pixfrac : optional
        Separate-drizzle kernel and pixfrac.
    num_threads : int or None
        Kernel threads.

    Returns
    -------
    sci, wht : ndarray of float32
        Covering ``box``.
    """
    sci = np.zeros(box.shape, np.float32)
    wht = np.zeros(box.shape, np.float32)
    for chip in chips:
        _drizzle_chip_into(box, chip, sci, wht, None, 0, kernel, pixfrac, num_threads)
    return sci, wht


@dataclass
class SingleImage:
    """One exposure's single-drizzled image over its own bounding box.

    Attributes
    ----------
    box : BBox or None
        Output pixels covered (the union of its chips' bounding boxes, not
        clipped to the frame); None when the exposure maps nowhere.
    sci, wht : ndarray, str or None
        The image and its weights (float32, ``box.shape``), or the paths of
        their ``.npy`` files.
    weight_sum : float
        Sum of the positive weights inside the output frame (float64, in a
        fixed order: the single does not depend on the tiling).
    weight_count : int
        Number of those weights.
    """

    box: BBox | None
    sci: np.ndarray | str | None = None
    wht: np.ndarray | str | None = None
    weight_sum: float = 0.0
    weight_count: int = 0

    def crop(self, box: BBox, *, weight_only: bool = False
             ) -> tuple[np.ndarray | None, np.ndarray]:
        """SCI and WHT over ``box`` (zero where the exposure has no data; SCI is
        None with ``weight_only``)."""
        sci = None if weight_only else np.zeros(box.shape, np.float32)
        wht = np.zeros(box.shape, np.float32)
        inter = None if self.box is None else box.intersect(self.box)
        if inter is None:
            return sci, wht
        src = (slice(inter.y0 - self.box.y0, inter.y1 - self.box.y0),
               slice(inter.x0 - self.box.x0, inter.x1 - self.box.x0))
        dst = (slice(inter.y0 - box.y0, inter.y1 - box.y0),
               slice(inter.x0 - box.x0, inter.x1 - box.x0))
        if sci is not None:
            sci[dst] = _load(self.sci, "single image", "an exposure")[src]
        wht[dst] = _load(self.wht, "single weight", "an exposure")[src]
        return sci, wht


def drizzle_single(chips: Sequence[ChipInput], frame: BBox, *, kernel: str = "square",
                   pixfrac: float = 1.0, path: str | Path | None = None,
                   num_threads: int | None = 1) -> SingleImage:
    """Separate drizzle of one exposure onto the union of its chips' bounding boxes.

    Every chip is drizzled onto the box as a window of the output grid (see
    the module notes; the box is not clipped to the frame and its origin may
    be negative), so any crop of the result is bit for bit what a drizzle
    onto that crop would give: the median tiles read crops of it instead of
    drizzling the exposure again.

    Parameters
    ----------
    chips : sequence of ChipInput
        The exposure's chips, with ``bbox`` set.
    frame : BBox
        The output frame (the weight statistics count only pixels inside).
    kernel, pixfrac : optional
        Separate-drizzle kernel and pixfrac.
    path : path-like, optional
        Prefix of the ``.npy`` files to write (``<path>_sci.npy``,
        ``<path>_wht.npy``); None keeps the arrays in the result.
    num_threads : int or None
        Kernel threads.

    Returns
    -------
    SingleImage

    Raises
    ------
    FileUpdateError
        If a file cannot be written.
    """
    boxes = [c.bbox for c in chips if c.bbox is not None]
    if not boxes:
        return SingleImage(None)
    box = BBox(min(b.x0 for b in boxes), max(b.x1 for b in boxes),
               min(b.y0 for b in boxes), max(b.y1 for b in boxes))
    sci, wht = single_tile(box, chips, kernel=kernel, pixfrac=pixfrac, num_threads=num_threads)
    total, count = 0.0, 0
    inside = box.intersect(frame)
    if inside is not None:
        total, count = median_mod.positive_sum_count(
            wht[inside.y0 - box.y0:inside.y1 - box.y0, inside.x0 - box.x0:inside.x1 - box.x0])
    if path is None:
        return SingleImage(box, sci, wht, total, count)
    refs = []
    for name, arr in (("sci", sci), ("wht", wht)):
        target = f"{path}_{name}.npy"
        try:
            np.save(target, arr)
        except OSError as exc:
            raise FileUpdateError(f"cannot write a temporary single image ({exc}); use "
                                  "in_memory=True or free some space", filename=target) from exc
        refs.append(target)
    return SingleImage(box, refs[0], refs[1], total, count)


def median_tile(box: BBox, singles: Sequence[SingleImage | None], *, halo: int = 0,
                weight_thresholds: Sequence[float] | None = None,
                gain: Sequence[float] | None = None, gain_ref: float = 1.0,
                **combine_kw) -> TileResult:
    """Median (or other combination) of the single-drizzled exposures over one tile.

    The singles (see :func:`drizzle_single`) are cropped to the tile grown
    by ``halo`` pixels (the ``combine_grow`` reach of ``minmed``), combined
    with :func:`drizzlepac_ng.astrodrizzle.median.combine`, and cropped back.

    Parameters
    ----------
    box : BBox
    singles : sequence of SingleImage or None
        The overlapping exposures' single images, in exposure order (None:
        an all-masked image that only pads the stack).
    halo : int
        Halo in pixels.
    weight_thresholds : sequence of float, optional
        Per-exposure weight below which a single pixel is masked, computed
        over the *whole* single image by the caller (``combine_maskpt`` x its
        mean weight) so the mask does not depend on the tile.  A pixel is
        masked when its weight is below the threshold (or zero).
    gain : sequence of float, optional
        Per-exposure factor applied to each single image before combining
        (AstroDrizzle combines in electrons so that minmed's noise model,
        ``sky`` and ``readnoise``, is in electrons).
    gain_ref : float
        The combined image is divided by it (back to the first exposure's units).
    **combine_kw
        Passed to ``combine`` (``combine_type``, ``combine_nsigma``...);
        ``combine_maskpt`` is replaced by ``weight_thresholds``; ``kernel``,
        ``pixfrac`` and ``num_threads`` (used by :func:`drizzle_single`) are
        ignored.

    Returns
    -------
    TileResult
        ``sci`` only.
    """
    for name in ("kernel", "pixfrac", "num_threads", "combine_maskpt"):
        combine_kw.pop(name, None)
    if not singles:
        return TileResult(box, np.zeros(box.shape, np.float32))
    big = box.grow(halo)
    images, weights, masks = [], [], []
    for k, single in enumerate(singles):
        if single is None:
            s = np.zeros(big.shape, np.float32)
            w = np.zeros(big.shape, np.float32)
        else:
            s, w = single.crop(big)
        g = 1.0 if gain is None else float(gain[k])
        if g != 1.0:
            s *= np.float32(g)
        images.append(s)
        weights.append(w)
        thr = 0.0 if weight_thresholds is None else float(weight_thresholds[k])
        masks.append(w < thr if thr > 0 else None)
    med = median_mod.combine(images, weights, combine_maskpt=None, masks=masks, **combine_kw)
    if gain_ref != 1.0:
        med /= np.float32(gain_ref)
    return TileResult(box, np.ascontiguousarray(med[halo:halo + box.shape[0],
                                                    halo:halo + box.shape[1]]))


#: extra median pixels read around a chip for the blot interpolation
BLOT_MARGIN = 8


def crmask_chip(chip: ChipInput, median_path: str, *, extension: str = "MED",
                interp: str = "poly5", sinscl: float = 1.0,
                num_threads: int | None = 1,
                singles: Sequence[SingleImage | None] | None = None,
                weight_thresholds: Sequence[float] | None = None,
                **flag_kw) -> np.ndarray:
    """Blot the assembled median back to one chip and flag its cosmic rays.

    Only the part of the median under the chip's bounding box (plus
    :data:`BLOT_MARGIN`, clipped to the frame) is read from the
    memory-mapped product, and the pixel map is shifted by that cut-out's
    origin.  The blot rounds positions to float32 (as the originals do), so
    the map is rounded first and shifted after: every chip pixel maps at
    least :data:`BLOT_MARGIN` pixels inside the cut-out, where subtracting
    its integer origin from a float32 position is exact.  The blot, and so
    the mask, are then bit for bit those of a blot of the whole median (the
    whole-frame AstroDrizzle run), whatever the tile shape or scheduler.

    Parameters
    ----------
    chip : ChipInput
        With ``bbox`` set; ``data`` is sky-subtracted, ``sky`` the sky level.
    median_path : str
        FITS file holding the assembled median (count rate per output pixel).
    extension : str
        Its extension name.
    interp, sinscl : optional
        Blot interpolation.
    num_threads : int or None
        Kernel threads.
    singles : sequence of SingleImage, optional
        The exposures' single images the median was combined from (None
        entries allowed); with them, chip pixels whose blot draws on median
        pixels without data (every single masked) are not tested
        (:func:`drizzlepac_ng.astrodrizzle.crrej.unmodelled_pixels`, the rule
        of the whole-frame run).  Only those overlapping the cut-out are read.
    weight_thresholds : sequence of float, optional
        Per single, the weight below which the median masked it (as for
        :func:`median_tile`); None: only zero weights (``i`` combine types).
    **flag_kw
        ``snr``, ``scale``, ``grow``, ``ctegrow`` of
        :func:`drizzlepac_ng.astrodrizzle.crrej.flag_cosmic_rays`.

    Returns
    -------
    ndarray of bool
        True where the chip has a cosmic ray.

    Raises
    ------
    ConfigError
        If the median cannot be read.
    """
    from astropy.io import fits

    data = np.asarray(_load(chip.data, "data", chip.label), dtype=np.float32)
    src = pixmap_source(chip.pixmap, chip.label)
    evaluated = isinstance(src, PixmapPlan)
    pm = src.evaluate(num_threads=1) if evaluated else src
    del src
    good = np.isfinite(pm[..., 0]) & np.isfinite(pm[..., 1])
    weight = _load(chip.weight, "weight", chip.label)
    if weight is not None:
        good &= np.asarray(weight) > 0
    if chip.bbox is None:
        return np.zeros(data.shape, bool)
    try:
        with fits.open(median_path, memmap=True) as hdul:
            med_hdu = hdul[extension]
            ny, nx = med_hdu.shape
            b = chip.bbox.grow(BLOT_MARGIN).intersect(BBox(0, nx, 0, ny))
            if b is None:
                return np.zeros(data.shape, bool)
            cut = np.array(med_hdu.data[b.y0:b.y1, b.x0:b.x1], dtype=np.float32)
    except (OSError, KeyError) as exc:
        raise ConfigError(f"cannot read the median for {chip.label} ({exc})",
                          filename=median_path) from exc
    # one writable float64 map: the evaluated plan itself, else a copy of the array
    local = pm if evaluated else np.array(pm, dtype=np.float64)
    del pm
    shift = np.array([b.x0, b.y0], dtype=np.float64)
    if singles:
        # the cut reaches BLOT_MARGIN (more than any interpolant's reach) beyond the
        # chip's box, so every median pixel a chip pixel's blot reads is inside it
        thr = [0.0] * len(singles) if weight_thresholds is None else list(weight_thresholds)
        pairs = [(sg, t) for sg, t in zip(singles, thr, strict=True)
                 if sg is not None and sg.box is not None and sg.box.intersect(b) is not None]
        weights = [sg.crop(b, weight_only=True)[1] for sg, _ in pairs]
        support = (crrej.median_support(weights, [t for _, t in pairs]) if weights
                   else np.zeros(b.shape, bool))
        del weights
        # positions in the cut-out; exact, as is the way back (every chip pixel maps
        # inside the cut-out, whose origin is >= 0)
        local -= shift
        good &= ~crrej.unmodelled_pixels(crrej.model_gaps(support, interp), local)
        local += shift
    # positions rounded to float32 in the global frame, then shifted (exact, see above)
    origin = shift.astype(np.float32)
    for y0 in range(0, local.shape[0], 256):
        rows = slice(y0, y0 + 256)
        local[rows] = local[rows].astype(np.float32) - origin
    # median is a count rate per output pixel: back to the chip's units and pixel
    iscale = chip.blot_iscale if chip.blot_iscale is not None else (
        (chip.exptime if chip.in_units == "counts" else 1.0) / chip.iscale)
    # prepared once (float32 source, poly5 row differences): the same bits, less work
    source = BlotSource(cut, interp, num_threads=num_threads)
    del cut
    blot = blot_image(source, local, fillval=0.0, iscale=iscale, interp=interp, sinscl=sinscl,
                      num_threads=num_threads)
    return crrej.flag_cosmic_rays(data, blot, gain=chip.gain, readnoise=chip.readnoise,
                                  ctedir=chip.ctedir, extra_sky=chip.sky, good=good,
                                  **flag_kw)
