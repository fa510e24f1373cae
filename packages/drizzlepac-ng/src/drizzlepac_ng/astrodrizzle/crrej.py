"""Step 6: driz_cr, cosmic-ray detection by comparison with the blotted median.

For one chip with input I, blotted model B (same units as I, sky included),
D = :func:`derivative` of B, effective gain g, read noise rn:

* t1 = \\|I - B\\|, noise = sqrt(g \\|B + extra_sky\\| + rn^2) / g;
* pass 1: good where t1 <= scale1 x D + snr1 x noise;
* every pixel within ``grow`` pixels (a (2 grow + 1)^2 box) of a pass-1
  failure must also pass the more stringent test
  t1 <= scale2 x D + snr2 x noise (pass 2);
* the pixels failing are cosmic rays; :func:`grow_mask` can dilate a mask
  unconditionally, and a CTE trail of ``ctegrow`` pixels is added along the
  readout direction.

Where the median has no data
----------------------------
The blotted median is a model of the chip only where the median was measured.
A median pixel at which every single image is masked (weight zero or below
``combine_maskpt`` x its mean weight) has no data; the median step writes 0
there.  That happens in the cores of stars that saturate in every exposure
(the saturated pixels are excluded from the single drizzles, and the output
pixels around them keep too little weight), along bad columns shared by all
exposures and at the edges of the covered area.  Blotting a 0 inside a star
makes the interpolant ring: the chip's unsaturated pixels next to the core
are far brighter than such a "model" and would be flagged as cosmic rays,
removing the star's core from the final image (and moving its centroid).

Rule: a chip pixel is tested only when the blot interpolant draws on median
pixels that all have data (:func:`median_support`, :func:`model_gaps`,
:func:`unmodelled_pixels`: the median pixels within the interpolant's reach,
:data:`INTERP_REACH`, of the pixel's position).  Elsewhere there is nothing
to compare with, exactly as for pixels no other exposure sees; those pixels
are neither flagged nor counted as neighbours of a detection.  The original
tests them against the 0 (and flags many of them around saturated stars).

``driz_cr_grow`` follows the original's documentation ("the radius around
each detected cosmic ray in which more stringent detection criteria for
additional cosmic rays will be used"): the neighbourhood tested with pass 2
is a box of radius ``grow``.  The original's code fixes that neighbourhood at
3 x 3 and then asks a ``grow`` x ``grow`` box to be clean, so that its default
``grow=1`` adds nothing; with the default ``grow=1`` both give the same
neighbourhood test, without any unconditional growth.

Pure functions: arrays in, a new boolean mask out.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import binary_dilation

from .median import has_data

__all__ = ["derivative", "flag_cosmic_rays", "grow_mask", "cte_trail", "box_dilate",
           "INTERP_REACH", "interp_reach", "median_support", "model_gaps",
           "unmodelled_pixels"]

#: Half-width (pixels, around the nearest pixel) of the block of source pixels
#: each blot interpolant reads: poly5 reads a 6 x 6 block from floor(x) - 2 to
#: floor(x) + 3, all within 3 pixels of round(x).  The cubic spline is global in
#: principle; its prefiltered coefficients decay by 0.27 per pixel, so 3 pixels
#: bound the influence of a hole to under 2 %.  The sinc kernel has 15 taps.
INTERP_REACH = {"nearest": 0, "linear": 1, "poly3": 2, "poly5": 3, "spline3": 3,
                "sinc": 7, "lsinc": 7, "lanczos3": 3, "lan3": 3, "lanczos5": 5, "lan5": 5}

#: Rows of the weight images read at a time by :func:`median_support`.
_SUPPORT_ROWS = 512


def derivative(image: np.ndarray) -> np.ndarray:
    """Largest absolute difference between each pixel and its 4 nearest neighbours.

    Parameters
    ----------
    image : ndarray, 2-D

    Returns
    -------
    ndarray of float32
        Edges compare only with the neighbours that exist.
    """
    a = np.asarray(image, dtype=np.float32)
    d = np.zeros_like(a)
    if a.shape[0] > 1:
        dy = np.subtract(a[1:], a[:-1])
        np.abs(dy, out=dy)
        np.maximum(d[1:], dy, out=d[1:])
        np.maximum(d[:-1], dy, out=d[:-1])
        del dy
    if a.shape[1] > 1:
        dx = np.subtract(a[:, 1:], a[:, :-1])
        np.abs(dx, out=dx)
        np.maximum(d[:, 1:], dx, out=d[:, 1:])
        np.maximum(d[:, :-1], dx, out=d[:, :-1])
    return d


def box_dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Pixels within a (2 radius + 1)^2 box of a True pixel (nothing outside the image).

    Equal to ``scipy.ndimage.maximum_filter(mask, size=2 * radius + 1,
    mode="constant") > 0`` and to a binary dilation with a full square
    structuring element, computed as two separable passes of shifted logical
    ORs (much faster on large masks).

    Parameters
    ----------
    mask : ndarray of bool, 2-D
    radius : int
        Box half-width (0: a copy).

    Returns
    -------
    ndarray of bool
    """
    src = np.asarray(mask, dtype=bool)
    rows = src.copy()
    for k in range(1, min(radius, src.shape[0] - 1) + 1):
        rows[k:] |= src[:-k]
        rows[:-k] |= src[k:]
    out = rows.copy()
    for k in range(1, min(radius, src.shape[1] - 1) + 1):
        out[:, k:] |= rows[:, :-k]
        out[:, :-k] |= rows[:, k:]
    return out


def grow_mask(cr: np.ndarray, grow: int) -> np.ndarray:
    """Dilate a boolean mask by a (2 grow + 1)^2 box (grow = 0: unchanged copy)."""
    cr = np.asarray(cr, dtype=bool)
    if grow <= 0:
        return cr.copy()
    return binary_dilation(cr, structure=np.ones((2 * grow + 1, 2 * grow + 1), dtype=bool))


def cte_trail(cr: np.ndarray, length: int, direction: int) -> np.ndarray:
    """Extend flagged pixels ``length`` pixels along y in ``direction`` (+1, -1; 0 = none)."""
    out = np.asarray(cr, dtype=bool).copy()
    if length <= 0 or direction == 0:
        return out
    src = np.asarray(cr, dtype=bool)
    ny = src.shape[0]
    for k in range(1, min(length, ny - 1) + 1):
        if direction > 0:
            out[k:] |= src[:-k]
        else:
            out[:-k] |= src[k:]
    return out


def median_support(weights, thresholds=None) -> np.ndarray:
    """Median-frame pixels at which at least one single image has data.

    A single image has data at a pixel when its weight is positive and not
    below its ``combine_maskpt`` threshold: the pixels the median step combines
    (:func:`.median.combine` masks the others; where all are masked it writes 0).

    Parameters
    ----------
    weights : sequence of 2-D arrays
        Weight image of every single-drizzled image (arrays, memory maps or
        objects supporting row slicing and ``shape``).
    thresholds : sequence of float, optional
        Per image, the weight below which the median masks it
        (:func:`.median.weight_masks`; None or 0: only zero weights are
        masked, as for the ``i`` combine types, which fill pixels masked in
        every image).  The test is :func:`.median.has_data`.

    Returns
    -------
    ndarray of bool
        Shape of the weight images.

    Raises
    ------
    ValueError
        If no weight image is given, the shapes differ, or the number of
        thresholds is not the number of images.
    """
    weights = list(weights)
    if not weights:
        raise ValueError("median_support: no weight image")
    shape = tuple(weights[0].shape)
    if any(tuple(w.shape) != shape for w in weights):
        raise ValueError("median_support: the weight images differ in shape")
    thr = [0.0] * len(weights) if thresholds is None else [float(t) for t in thresholds]
    if len(thr) != len(weights):
        raise ValueError(f"median_support: {len(thr)} thresholds for {len(weights)} images")
    out = np.zeros(shape, dtype=bool)
    for y0 in range(0, shape[0], _SUPPORT_ROWS):
        rows = slice(y0, min(shape[0], y0 + _SUPPORT_ROWS))
        band = out[rows]
        for w, t in zip(weights, thr, strict=True):
            band |= has_data(w[rows], t)
    return out


def interp_reach(interp: str) -> int:
    """Reach (pixels) of a blot interpolant (:data:`INTERP_REACH`).

    Raises
    ------
    ValueError
        If ``interp`` is not a blot interpolant.
    """
    try:
        return INTERP_REACH[str(interp).strip().lower()]
    except KeyError:
        raise ValueError(f"unknown blot interpolant {interp!r}; choose one of "
                         f"{', '.join(INTERP_REACH)}") from None


def model_gaps(support: np.ndarray, interp: str = "poly5") -> np.ndarray:
    """Median-frame positions at which a blot would draw on a pixel without data.

    Parameters
    ----------
    support : ndarray of bool, 2-D
        :func:`median_support`.
    interp : str, optional
        Blot interpolant (``blot_interp``); sets the reach.

    Returns
    -------
    ndarray of bool
        The pixels without data, grown by a box of the interpolant's reach.
    """
    return box_dilate(~np.asarray(support, dtype=bool), interp_reach(interp))


def unmodelled_pixels(gaps: np.ndarray, pixmap: np.ndarray) -> np.ndarray:
    """Chip pixels whose blotted median is not a model of them (see the module notes).

    Parameters
    ----------
    gaps : ndarray of bool, 2-D
        :func:`model_gaps` of the median frame.
    pixmap : ndarray, (ny, nx, 2)
        Position (x, y; 0-based) of each chip pixel in the median frame.

    Returns
    -------
    ndarray of bool
        Chip shape; True where the nearest median pixel is in ``gaps``, outside
        the median frame, or not finite.

    Raises
    ------
    ValueError
        If ``pixmap`` is not an (ny, nx, 2) array.
    """
    pm = np.asarray(pixmap)
    if pm.ndim != 3 or pm.shape[2] != 2:
        raise ValueError(f"pixmap must have shape (ny, nx, 2), not {pm.shape}")
    gaps = np.asarray(gaps, dtype=bool)
    gy, gx = gaps.shape
    ny, nx = pm.shape[:2]
    out = np.zeros((ny, nx), dtype=bool)
    if ny == 0 or nx == 0:
        return out
    # Gaps are sparse: blocks of chip pixels whose (rounded) positions all lie
    # inside the frame, away from any gap, are False without a per-pixel look-up.
    # The range of a block's rounded positions is [rint(min), rint(max)] (rint is
    # monotonic); a NaN makes the block's range NaN and the block is done exactly.
    c = _GAP_CELL
    cgy, cgx = -(-gy // c), -(-gx // c)
    rows = np.zeros((cgy * c, gx), dtype=bool)
    rows[:gy] = gaps
    rows = rows.reshape(cgy, c, gx).any(axis=1)
    cells = np.zeros((cgy, cgx * c), dtype=bool)
    cells[:, :gx] = rows
    cells = cells.reshape(cgy, cgx, c).any(axis=2)
    csum = np.zeros((cgy + 1, cgx + 1), dtype=np.int64)
    csum[1:, 1:] = cells.cumsum(axis=0).cumsum(axis=1)
    b = _GAP_BLOCK
    ys, xs = np.arange(0, ny, b), np.arange(0, nx, b)
    fy, fx = ny // b, nx // b       # whole blocks; the ragged last ones are done exactly

    def block_range(a):
        lo = np.full((ys.size, xs.size), np.nan)
        hi = lo.copy()
        if fy and fx:
            whole = a[:fy * b, :fx * b].reshape(fy, b, fx, b)   # a view: no copy
            lo[:fy, :fx] = whole.min(axis=(1, 3))
            hi[:fy, :fx] = whole.max(axis=(1, 3))
        return np.rint(lo), np.rint(hi)

    with np.errstate(invalid="ignore"):
        x0, x1 = block_range(pm[..., 0])
        y0, y1 = block_range(pm[..., 1])
        clean = (x0 >= 0) & (x1 < gx) & (y0 >= 0) & (y1 < gy)   # False for NaN
    cx0 = np.where(clean, x0, 0).astype(np.intp) // c
    cx1 = np.where(clean, x1, 0).astype(np.intp) // c + 1
    cy0 = np.where(clean, y0, 0).astype(np.intp) // c
    cy1 = np.where(clean, y1, 0).astype(np.intp) // c + 1
    hits = csum[cy1, cx1] - csum[cy0, cx1] - csum[cy1, cx0] + csum[cy0, cx0]
    for j, i in zip(*np.nonzero(~clean | (hits > 0)), strict=True):
        rows, cols = slice(ys[j], ys[j] + b), slice(xs[i], xs[i] + b)
        with np.errstate(invalid="ignore"):
            x = np.rint(pm[rows, cols, 0])
            y = np.rint(pm[rows, cols, 1])
            inside = (x >= 0) & (x < gx) & (y >= 0) & (y < gy)
        part = ~inside
        part[inside] = gaps[y[inside].astype(np.intp), x[inside].astype(np.intp)]
        out[rows, cols] = part
    return out


#: Chip pixels per side of the blocks :func:`unmodelled_pixels` checks at once,
#: and median pixels per side of the cells of its coarse gap map.
_GAP_BLOCK = 64
_GAP_CELL = 16


def flag_cosmic_rays(data: np.ndarray, blot: np.ndarray, *, gain: float = 1.0,
                     readnoise: float = 0.0, snr: tuple[float, float] = (3.5, 3.0),
                     scale: tuple[float, float] = (1.2, 0.7), grow: int = 1,
                     ctegrow: int = 0, ctedir: int = 0, extra_sky: float = 0.0,
                     good: np.ndarray | None = None,
                     blot_deriv: np.ndarray | None = None,
                     num_threads: int | None = 1) -> np.ndarray:
    """Boolean mask, True where a pixel of ``data`` is a cosmic ray.

    Parameters
    ----------
    data : ndarray, 2-D
        Input chip (native units, sky included).
    blot : ndarray, 2-D
        Blotted median in the same units (sky included).
    gain : float, optional
        Effective gain (electrons per data unit; 1 for data in electrons).
    readnoise : float, optional
        Read noise in electrons.
    snr, scale : (float, float), optional
        ``driz_cr_snr`` and ``driz_cr_scale``.
    grow : int, optional
        Radius of the neighbourhood of pass-1 detections tested with the
        pass-2 thresholds (``driz_cr_grow``).
    ctegrow : int, optional
        CTE trail length (``driz_cr_ctegrow``).
    ctedir : int, optional
        +1: trails towards larger y; -1: smaller y; 0: none.
    extra_sky : float, optional
        Sky not included in ``blot`` (native units) for the noise model.
    good : ndarray of bool, optional
        Pixels to test; others are never flagged (e.g. DQ-bad pixels).
    blot_deriv : ndarray, optional
        Precomputed :func:`derivative` of ``blot``.
    num_threads : int or None, optional
        Bands of rows processed concurrently (default 1; None also means 1).
        The result does not depend on it.

    Returns
    -------
    ndarray of bool
    """
    data = np.asarray(data, dtype=np.float32)
    blot = np.asarray(blot, dtype=np.float32)
    if data.shape != blot.shape:
        raise ValueError(f"data shape {data.shape} differs from blot shape {blot.shape}")
    if not gain > 0:
        raise ValueError(f"gain must be > 0, not {gain}")
    good_arr = None if good is None else np.asarray(good, dtype=bool)
    if good_arr is not None and good_arr.shape != data.shape:
        raise ValueError(f"good shape {good_arr.shape} differs from data shape {data.shape}")
    deriv_arr = None if blot_deriv is None else np.asarray(blot_deriv, np.float32)
    opts = dict(gain=gain, readnoise=readnoise, snr=snr, scale=scale, grow=grow,
                extra_sky=extra_sky)
    ny = data.shape[0]
    # bands of rows (with a halo of grow + 1 rows: the derivative and the
    # neighbourhood reach) keep the temporaries in cache; every band gives exactly
    # the rows of a whole-image computation
    halo = max(0, grow) + 1
    starts = list(range(0, ny, _BAND_ROWS))

    def band(y0: int) -> np.ndarray:
        y1 = min(ny, y0 + _BAND_ROWS)
        r0, r1 = max(0, y0 - halo), min(ny, y1 + halo)
        sub = slice(r0, r1)
        out = _flag_rows(data[sub], blot[sub],
                         None if good_arr is None else good_arr[sub],
                         None if deriv_arr is None else deriv_arr[sub], **opts)
        return out[y0 - r0:y1 - r0]

    from .median import ordered_map

    cr = np.empty(data.shape, dtype=bool)
    for y0, rows in zip(starts, ordered_map(band, starts, max(1, int(num_threads or 1))),
                        strict=True):
        cr[y0:y0 + rows.shape[0]] = rows
    return cte_trail(cr, ctegrow, ctedir)


#: Rows per band of :func:`flag_cosmic_rays`.
_BAND_ROWS = 256


def _flag_rows(data, blot, good, deriv, *, gain, readnoise, snr, scale, grow, extra_sky):
    """Cosmic-ray mask (without CTE trails) of whole images or bands of rows."""
    if deriv is None:
        deriv = derivative(blot)
    t1 = np.abs(data - blot)
    noise = np.sqrt(gain * np.abs(blot + np.float32(extra_sky)) + np.float32(readnoise) ** 2)
    noise /= np.float32(gain)
    with np.errstate(invalid="ignore"):
        pass1 = t1 <= scale[0] * deriv + snr[0] * noise
        pass2 = t1 <= scale[1] * deriv + snr[1] * noise
    valid = np.isfinite(data) & np.isfinite(blot)
    if good is not None:
        valid &= good
    fail1 = ~pass1 & valid
    if grow > 0:
        near = box_dilate(fail1, grow)
        near &= ~pass2
        near &= valid
        return fail1 | near
    return fail1
