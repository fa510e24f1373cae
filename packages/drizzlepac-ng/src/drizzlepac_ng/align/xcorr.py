"""Image alignment by cross-correlation, for fields with few stars or nebulosity.

Catalog matching (``tweakreg``) needs a good number of point sources.  Fields
of diffuse emission, or with only a handful of stars, are better aligned by
correlating the images themselves.  This module does it in three layers:

* :func:`cross_correlate` (pure, arrays in): the shift between two images on
  the same pixel grid, with bad-pixel masks, an apodised common footprint,
  plain or phase correlation, and sub-pixel refinement by an upsampled
  discrete Fourier transform around the peak (then a parabola through the
  upsampled samples).  It returns the shift, the peak's signal-to-noise ratio
  and a 1-sigma uncertainty from the image gradients and the residual noise.
* :func:`resample_to_frame`: drizzles every SCI chip of an exposure (full
  distortion, DQ-flagged pixels masked) onto a common undistorted frame.
* :func:`align_xcorr`: aligns an exposure to a reference exposure.
  ``mode='shift'`` correlates the two resampled images; ``mode='hybrid'``
  first fits rotation and scale (and a shift) to the few sources found in
  both (``rscale`` catalog fit from :mod:`drizzlepac_ng.align.fitting`),
  resamples the image again with that fit applied, and refines the shift by
  cross-correlation.  With ``update=True`` the result is written to every
  chip through :mod:`drizzlepac_ng.align.wcsupdate` (tweakreg conventions).

Shift convention: ``(dx, dy)`` is where a feature is in ``image`` minus where
it is in ``reference`` (pixels of the common grid), i.e.
``image(x + dx, y + dy) ~ reference(x, y)``.  The WCS correction of the image
is then ``p_ref = p_in - (dx, dy)`` in that grid.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from astropy.wcs import WCS
from scipy import fft as sfft
from scipy import ndimage

from ..errors import AlignmentError, ConfigError, NoOverlapError
from . import wcsupdate
from .deltashift import _read, read_chip_wcs

__all__ = ["XcorrResult", "XcorrAlignment", "cross_correlate", "resample_to_frame",
           "align_xcorr"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class XcorrResult:
    """Outcome of :func:`cross_correlate`.

    Attributes
    ----------
    dx, dy : float
        Shift of ``image`` relative to ``reference`` (pixels).
    sigma_x, sigma_y : float
        Statistical 1-sigma uncertainty of the shift (pixels), from the
        residual noise and the image gradients (Cramer-Rao bound for white
        noise).  It does not include systematics (resampling, undersampled
        stars), which dominate on good data: on the simulated nebulous
        fields of the tests the actual errors were up to ten times larger
        (0.025 px at most).
    snr : float
        Peak height above the median of the correlation surface, in units of
        its robust standard deviation.  Pure noise gives 3-7 against a
        structured reference; real matches in the tests gave 6-50 (broad
        peaks of smooth nebulosity score low: use ``corr`` to judge them).
    noverlap : int
        Pixels valid in both images.
    corr : float
        Correlation coefficient of ``image`` and the shifted ``reference``
        over the common footprint (apodised, lightly smoothed): about 0 for
        unrelated images, towards 1 for a clean match.  Unlike ``snr`` it
        does not depend on how broad the correlation peak is, so it is the
        better quality measure for smooth nebulosity.
    """

    dx: float
    dy: float
    sigma_x: float
    sigma_y: float
    snr: float
    noverlap: int
    corr: float = float("nan")


def _taper(valid: np.ndarray, width: float) -> np.ndarray:
    """Weights 1 deep inside ``valid``, going smoothly to 0 at its edges."""
    if width <= 0:
        return valid.astype(np.float64)
    d = ndimage.distance_transform_edt(valid)
    t = np.clip(d / float(width), 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * t)


def _upsampled_dft(spec: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Inverse DFT of ``spec`` evaluated at arbitrary shifts (rows ys, columns xs)."""
    ny, nx = spec.shape
    fy = sfft.fftfreq(ny)
    fx = sfft.fftfreq(nx)
    ey = np.exp(2j * np.pi * np.outer(ys, fy))
    ex = np.exp(2j * np.pi * np.outer(fx, xs))
    return (ey @ spec @ ex).real


def _parabola(c: np.ndarray, i: int) -> float:
    """Sub-sample vertex offset of a parabola through c[i-1], c[i], c[i+1]."""
    if i <= 0 or i >= len(c) - 1:
        return 0.0
    den = c[i - 1] - 2 * c[i] + c[i + 1]
    return 0.0 if den >= 0 else float(0.5 * (c[i - 1] - c[i + 1]) / den)


def _prep(a: np.ndarray, valid: np.ndarray, smooth: float = 0.0) -> np.ndarray:
    """Mean-subtracted copy, invalid pixels filled with the mean, optionally smoothed.

    The smoothing (Gaussian of sigma ``smooth`` pixels, normalised over the
    valid pixels) is applied identically to both images, so it commutes with
    the shift; it keeps pixel-to-pixel noise from dominating the gradients.
    """
    out = np.where(valid, a, 0.0)
    if smooth > 0:
        v = valid.astype(np.float64)
        num = ndimage.gaussian_filter(out, smooth, mode="constant")
        den = ndimage.gaussian_filter(v, smooth, mode="constant")
        out = np.where(valid, num / np.maximum(den, 1e-12), 0.0)
    mean = float(out[valid].mean())
    out[~valid] = mean
    return out - mean


def _shifted(a: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """``a(x - dx, y - dy)`` by cubic-spline interpolation."""
    return ndimage.shift(a, (dy, dx), order=3, mode="nearest", prefilter=True)


def _lsq_terms(a0, b0, valid, w, dx, dy):
    m = _shifted(a0, dx, dy)
    vm = ndimage.shift(valid.astype(np.float64), (dy, dx), order=1, mode="constant",
                       cval=0.0) > 0.999
    ww = w * vm
    gy, gx = np.gradient(m)
    r = b0 - m
    # remove the mean difference (sky offsets) in the weighted sense
    r = r - (ww * r).sum() / max(ww.sum(), 1e-30)
    # d m / d(dx) = -dm/dx
    jx, jy = -gx, -gy
    h = np.array([[(ww * jx * jx).sum(), (ww * jx * jy).sum()],
                  [(ww * jx * jy).sum(), (ww * jy * jy).sum()]])
    g = np.array([(ww * jx * r).sum(), (ww * jy * r).sum()])
    var = float((ww * r * r).sum() / max(ww.sum(), 1e-30))
    return h, g, var


def _pearson(a, b, valid, w, dx, dy, smooth) -> float:
    """Weighted correlation coefficient of b and a shifted by (dx, dy)."""
    a0, b0 = _prep(a, valid, smooth), _prep(b, valid, smooth)
    m = _shifted(a0, dx, dy)
    vm = ndimage.shift(valid.astype(np.float64), (dy, dx), order=1, mode="constant",
                       cval=0.0) > 0.999
    ww = w * vm
    sw = ww.sum()
    if sw <= 0:
        return 0.0
    m = m - (ww * m).sum() / sw
    bb = b0 - (ww * b0).sum() / sw
    den = math.sqrt(float((ww * m * m).sum() * (ww * bb * bb).sum()))
    return float((ww * m * bb).sum() / den) if den > 0 else 0.0


def _lsq_sigma(a, b, valid, w, dx, dy, smooth) -> tuple[float, float]:
    """1-sigma shift errors: raw residual variance over the (smoothed) gradient energy."""
    h, _, _ = _lsq_terms(_prep(a, valid, smooth), _prep(b, valid, smooth), valid, w, dx, dy)
    _, _, var = _lsq_terms(_prep(a, valid), _prep(b, valid), valid, w, dx, dy)
    try:
        cov = var * np.linalg.inv(h)
    except np.linalg.LinAlgError:
        return float("inf"), float("inf")
    return math.sqrt(max(cov[0, 0], 0.0)), math.sqrt(max(cov[1, 1], 0.0))


def _lsq_refine(a, b, valid, w, dx, dy, smooth, maxiter: int = 50, tol: float = 1e-5):
    """Gauss-Newton refinement of the shift minimising sum w (b - a(x - d))^2."""
    a0, b0 = _prep(a, valid, smooth), _prep(b, valid, smooth)
    for _ in range(maxiter):
        h, g, var = _lsq_terms(a0, b0, valid, w, dx, dy)
        try:
            step = np.linalg.solve(h, g)
        except np.linalg.LinAlgError:
            break
        step = np.clip(step, -0.5, 0.5)
        dx, dy = dx + float(step[0]), dy + float(step[1])
        if np.max(np.abs(step)) < tol:
            break
    sx, sy = _lsq_sigma(a, b, valid, w, dx, dy, smooth)
    return dx, dy, sx, sy


def cross_correlate(reference: np.ndarray, image: np.ndarray, *,
                    reference_mask: np.ndarray | None = None,
                    image_mask: np.ndarray | None = None, method: str = "cross",
                    taper: float = 8.0, upsample: int = 50, max_shift: float | None = None,
                    min_overlap: int = 256, refine: str = "lsq",
                    smooth: float = 1.0) -> XcorrResult:
    """Shift between two images on the same pixel grid.

    Parameters
    ----------
    reference, image : numpy.ndarray, 2-D, same shape
        The images; NaN / inf pixels are treated as missing.
    reference_mask, image_mask : numpy.ndarray of bool, optional
        True where a pixel is **bad**.
    method : {'cross', 'phase'}, optional
        ``'cross'``: plain cross-correlation (best for smooth, low-contrast
        structure); ``'phase'``: phase correlation (whitened spectrum; sharper
        peak for star-dominated images, more sensitive to noise).
    taper : float, optional
        Width (pixels) of the cosine apodisation inside the common footprint.
    upsample : int, optional
        Upsampling factor of the peak refinement (1 = integer shifts only).
    max_shift : float, optional
        Largest shift searched along each axis (pixels); default a quarter
        of the image size.
    min_overlap : int, optional
        Fewer common valid pixels raise :class:`NoOverlapError`.
    refine : {'lsq', 'peak'}, optional
        ``'lsq'`` (default): after the correlation peak, minimise the weighted
        squared difference between ``image`` and the shifted ``reference``
        (Gauss-Newton, cubic-spline shifts): the maximum-likelihood shift
        for white noise, free of the bias that broad, noisy correlation peaks
        of smooth structure have.  ``'peak'``: the upsampled peak only.
    smooth : float, optional
        Sigma (pixels) of a Gaussian applied to both images before the
        ``'lsq'`` refinement (0 = none); it does not bias the shift.

    Returns
    -------
    XcorrResult

    Raises
    ------
    ConfigError
        Arrays of different shapes or not 2-D, or bad parameters.
    NoOverlapError
        Fewer than ``min_overlap`` pixels are valid in both images.
    AlignmentError
        The images have no structure (constant) so no peak can be found.
    """
    a = np.asarray(reference, dtype=np.float64)
    b = np.asarray(image, dtype=np.float64)
    if a.ndim != 2 or a.shape != b.shape:
        raise ConfigError(f"reference and image must be 2-D of the same shape, got {a.shape} "
                          f"and {b.shape}")
    if refine not in ("lsq", "peak"):
        raise ConfigError(f"refine must be 'lsq' or 'peak', got {refine!r}")
    if method not in ("cross", "phase"):
        raise ConfigError(f"method must be 'cross' or 'phase', got {method!r}")
    upsample = max(1, int(upsample))
    valid = np.isfinite(a) & np.isfinite(b)
    for m, name in ((reference_mask, "reference_mask"), (image_mask, "image_mask")):
        if m is not None:
            m = np.asarray(m, dtype=bool)
            if m.shape != a.shape:
                raise ConfigError(f"{name} has shape {m.shape}, the images {a.shape}")
            valid &= ~m
    nvalid = int(valid.sum())
    if nvalid < max(int(min_overlap), 16):
        raise NoOverlapError(f"the images have only {nvalid} valid pixels in common "
                             f"(at least {max(int(min_overlap), 16)} needed)")
    w = _taper(valid, taper)
    sw = w.sum()
    a0 = np.where(valid, a, 0.0)
    b0 = np.where(valid, b, 0.0)
    a0 = (a0 - (a0 * w).sum() / sw) * w
    b0 = (b0 - (b0 * w).sum() / sw) * w
    if not (np.any(a0) and np.any(b0)):
        raise AlignmentError("an image is constant over the common footprint: nothing to correlate")
    ny, nx = a.shape
    if max_shift is None:
        max_shift = max(ny, nx) / 4.0
    max_shift = float(max_shift)
    pady = sfft.next_fast_len(ny + int(min(max_shift, ny)) + 1)
    padx = sfft.next_fast_len(nx + int(min(max_shift, nx)) + 1)
    fa = sfft.fft2(a0, s=(pady, padx))
    fb = sfft.fft2(b0, s=(pady, padx))
    spec = np.conj(fa) * fb
    if method == "phase":
        spec = spec / np.maximum(np.abs(spec), 1e-30 * np.abs(spec).max())
    # Normalise by the overlap of the apodised footprints at each shift: without
    # it the number of overlapping pixels, which falls with |s|, pulls broad
    # peaks (smooth nebulosity) towards zero shift.
    fw = sfft.fft2(w, s=(pady, padx))
    wspec = np.conj(fw) * fw
    wcorr = sfft.ifft2(wspec).real
    floor = 0.25 * float(wcorr.max())
    corr = sfft.ifft2(spec).real / np.maximum(wcorr, floor)
    sy = sfft.fftfreq(pady) * pady
    sx = sfft.fftfreq(padx) * padx
    allowed = (np.abs(sy)[:, None] <= max_shift) & (np.abs(sx)[None, :] <= max_shift)
    cm = np.where(allowed, corr, -np.inf)
    iy, ix = np.unravel_index(int(np.argmax(cm)), cm.shape)
    y0, x0 = float(sy[iy]), float(sx[ix])
    # robust SNR of the peak over the searched surface away from it
    near = (np.abs(sy - y0) <= 3)[:, None] & (np.abs(sx - x0) <= 3)[None, :]
    vals = corr[allowed & ~near]
    med = float(np.median(vals))
    mad = float(np.median(np.abs(vals - med))) * 1.4826
    snr = float((corr[iy, ix] - med) / mad) if mad > 0 else float("inf")
    dy, dx = y0, x0
    if upsample > 1:
        n = int(math.ceil(1.5 * upsample))
        offs = np.arange(-n, n + 1) / upsample
        up = (_upsampled_dft(spec, y0 + offs, x0 + offs)
              / np.maximum(_upsampled_dft(wspec, y0 + offs, x0 + offs), floor * pady * padx))
        jy, jx = np.unravel_index(int(np.argmax(up)), up.shape)
        dy = y0 + (offs[jy] + _parabola(up[:, jx], jy) / upsample)
        dx = x0 + (offs[jx] + _parabola(up[jy, :], jx) / upsample)
    if refine == "lsq":
        dx, dy, sig_x, sig_y = _lsq_refine(a, b, valid, w, dx, dy, smooth)
    else:
        sig_x, sig_y = _lsq_sigma(a, b, valid, w, dx, dy, smooth)
    corr = _pearson(a, b, valid, w, dx, dy, smooth)
    return XcorrResult(float(dx), float(dy), sig_x, sig_y, snr, nvalid, corr)


def resample_to_frame(filename: str | os.PathLike, frame_wcs: WCS, frame_shape: tuple[int, int],
                      *, chip_wcs: dict[int, WCS] | None = None, dq_bits: int | None = 0,
                      kernel: str = "square", pixfrac: float = 1.0
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Drizzle every SCI chip of an exposure onto a common frame (count rates).

    Parameters
    ----------
    filename : str or path-like
        The exposure (SCI chips with optional DQ extensions of the same EXTVER).
    frame_wcs : astropy.wcs.WCS
        Output frame.
    frame_shape : (ny, nx)
        Output size.
    chip_wcs : dict, optional
        EXTVER -> WCS to use instead of the headers' (e.g. a trial correction).
    dq_bits : int or None, optional
        DQ bits treated as good; other non-zero DQ pixels are masked.  None
        ignores DQ.
    kernel, pixfrac : optional
        Drizzle kernel and pixfrac.

    Returns
    -------
    sci : numpy.ndarray
        Resampled image (counts per second; NaN where no input pixel landed).
    wht : numpy.ndarray
        Drizzle weight.
    """
    from ..pixmap import calc_pixmap
    from ..resample import Drizzle

    fname = os.fspath(filename)
    hdul = _read(fname)
    chips = read_chip_wcs(fname, hdul)
    exptime = float(hdul[0].header.get("EXPTIME", 1.0) or 1.0)
    driz = Drizzle(kernel=kernel, out_shape=tuple(frame_shape), fillval="NaN", disable_ctx=True,
                   num_threads=1)
    for ev, (w, shape) in sorted(chips.items()):
        if chip_wcs is not None and ev in chip_wcs:
            w = chip_wcs[ev]
        idx = wcsupdate.chip_extensions(hdul, fname)[ev]
        data = np.asarray(hdul[idx].data, dtype=np.float32)
        mask = ~np.isfinite(data)
        if dq_bits is not None:
            for h in hdul:
                if (str(h.header.get("EXTNAME", "")).upper() == "DQ"
                        and int(h.header.get("EXTVER", 1)) == ev and h.data is not None):
                    mask |= (np.asarray(h.data).astype(np.int64) & ~int(dq_bits)) != 0
        pixmap = calc_pixmap(w, frame_wcs, shape=shape)
        driz.add_image(np.ascontiguousarray(data), exptime=exptime, pixmap=pixmap,
                       in_units="counts", pixfrac=pixfrac, mask=mask)
    sci = np.array(driz.out_img, dtype=np.float64)
    wht = np.array(driz.out_wht, dtype=np.float64)
    sci[wht <= 0] = np.nan
    return sci, wht


@dataclass
class XcorrAlignment:
    """Result of :func:`align_xcorr`.

    Attributes
    ----------
    matrix, offset : numpy.ndarray
        Correction of the image in the frame: ``p_ref = matrix @ p_in + offset``.
    shift : numpy.ndarray
        Final cross-correlation shift (frame pixels, image minus reference).
    sigma : numpy.ndarray
        Its 1-sigma uncertainty (x, y), frame pixels.
    snr, corr : float
        Correlation peak quality and correlation coefficient
        (see :class:`XcorrResult`).
    rotation, scale : float
        Rotation (deg) and scale of ``matrix`` (identity in ``mode='shift'``).
    nmatch : int
        Sources used by the hybrid catalog fit (0 in ``mode='shift'``).
    overlap : float
        Fraction of the reference footprint also covered by the image.
    frame_wcs : astropy.wcs.WCS
        The common frame.
    mode : str
    update : dict or None
        What :func:`~drizzlepac_ng.align.wcsupdate.update_image_wcs` returned.
    """

    matrix: np.ndarray
    offset: np.ndarray
    shift: np.ndarray
    sigma: np.ndarray
    snr: float
    corr: float
    rotation: float
    scale: float
    nmatch: int
    overlap: float
    frame_wcs: WCS
    mode: str
    update: dict | None = field(default=None)


def _frame_for(reference: str, chips: dict[int, tuple[WCS, tuple[int, int]]]
               ) -> tuple[WCS, tuple[int, int]]:
    from .catalogs import reference_plane

    evs = sorted(chips)
    frame = reference_plane([chips[e][0] for e in evs], [chips[e][1] for e in evs])
    nx, ny = frame.pixel_shape
    return frame, (int(ny), int(nx))


def _catalog_fit(ref_img: np.ndarray, img: np.ndarray, coarse: tuple[float, float],
                 tolerance: float, find_pars: Any, minobj: int):
    from .finder import find_sources
    from .fitting import fit_linear
    from .matching import match_xy

    ref_src = find_sources(np.nan_to_num(ref_img, nan=0.0), find_pars, mask=~np.isfinite(ref_img))
    img_src = find_sources(np.nan_to_num(img, nan=0.0), find_pars, mask=~np.isfinite(img))
    rxy = np.column_stack([ref_src.x, ref_src.y])
    ixy = np.column_stack([img_src.x, img_src.y])
    iref, iin = match_xy(rxy, ixy, tolerance, offset=(-coarse[0], -coarse[1]))
    log.info("hybrid: %d reference and %d image sources, %d matched", len(rxy), len(ixy), len(iref))
    fit = fit_linear(ixy[iin], rxy[iref], fitgeometry="rscale", minobj=minobj, nclip=2)
    if not fit.ok:
        raise AlignmentError(f"hybrid catalog fit failed: {fit.reason} "
                             f"({len(rxy)} reference, {len(ixy)} image sources)")
    return fit


def align_xcorr(image: str | os.PathLike, reference: str | os.PathLike, *, mode: str = "shift",
                frame_wcs: WCS | None = None, frame_shape: tuple[int, int] | None = None,
                dq_bits: int | None = 0, method: str = "cross", taper: float = 8.0,
                upsample: int = 50, max_shift: float | None = None, min_overlap: float = 0.05,
                min_snr: float = 3.0, min_corr: float = 0.3, tolerance: float = 2.0,
                find_pars: Any = None,
                minobj: int = 2, update: bool = False, wcsname: str = "XCORR",
                reusename: bool = False, **update_kwargs: Any) -> XcorrAlignment:
    """Align an exposure to a reference exposure by cross-correlation.

    Parameters
    ----------
    image : str or path-like
        The exposure to align (its WCS is corrected when ``update``).
    reference : str or path-like
        The reference exposure (a drizzled product works too).
    mode : {'shift', 'hybrid'}, optional
        ``'shift'``: cross-correlation only.  ``'hybrid'``: rotation and scale
        from a catalog ``rscale`` fit of the sources found in both, then the
        shift refined by cross-correlation.
    frame_wcs, frame_shape : optional
        Common frame; default the undistorted tangent plane covering the
        reference (scale and orientation of its first chip).
    dq_bits : int or None, optional
        DQ bits treated as good (None ignores DQ).
    method, taper, upsample, max_shift
        See :func:`cross_correlate`.
    min_overlap : float, optional
        Smallest fraction of the reference footprint the image must cover.
    min_snr : float, optional
        A correlation peak below this signal-to-noise ratio is refused (a
        sanity floor: smooth nebulosity gives broad peaks of modest SNR,
        6-11 in the tests, and pure noise reaches about 7).
    min_corr : float, optional
        A match whose correlation coefficient (:class:`XcorrResult` ``corr``)
        is below this is refused; pure noise gives about 0.05, the simulated
        matches 0.99.
    tolerance : float, optional
        Hybrid mode: matching radius (frame pixels) after the coarse shift.
    find_pars : ImageFindPars, optional
        Hybrid mode: source-finding parameters (defaults of ``imagefindpars``).
    minobj : int, optional
        Hybrid mode: fewest matched sources for the catalog fit (>= 2).
    update : bool, optional
        Write the correction into every chip of ``image``.
    wcsname, reusename, **update_kwargs
        Passed to :func:`~drizzlepac_ng.align.wcsupdate.update_image_wcs`.

    Returns
    -------
    XcorrAlignment

    Raises
    ------
    NoOverlapError
        The image covers less than ``min_overlap`` of the reference (the
        image is then left untouched).
    AlignmentError
        Weak correlation peak, failed hybrid fit (image untouched).
    ConfigError
        Bad parameters.
    """
    if mode not in ("shift", "hybrid"):
        raise ConfigError(f"mode must be 'shift' or 'hybrid', got {mode!r}")
    img_name, ref_name = os.fspath(image), os.fspath(reference)
    ref_chips = read_chip_wcs(ref_name, _read(ref_name))
    img_chips = read_chip_wcs(img_name, _read(img_name))
    if frame_wcs is None:
        frame_wcs, frame_shape = _frame_for(ref_name, ref_chips)
    elif frame_shape is None:
        if frame_wcs.pixel_shape is None:
            raise ConfigError("frame_shape is needed when frame_wcs has no pixel_shape")
        frame_shape = (int(frame_wcs.pixel_shape[1]), int(frame_wcs.pixel_shape[0]))
    ref_img, ref_wht = resample_to_frame(ref_name, frame_wcs, frame_shape, dq_bits=dq_bits)
    img_img, img_wht = resample_to_frame(img_name, frame_wcs, frame_shape, dq_bits=dq_bits)
    ref_cover = ref_wht > 0
    overlap = float((ref_cover & (img_wht > 0)).sum() / max(int(ref_cover.sum()), 1))
    if overlap < min_overlap:
        raise NoOverlapError(f"does not overlap the reference {ref_name}: it covers "
                             f"{100 * overlap:.1f}% of its footprint (min_overlap="
                             f"{100 * min_overlap:.1f}%); the image was not changed",
                             filename=img_name)
    kw = dict(method=method, taper=taper, upsample=upsample, max_shift=max_shift)

    def _xc(im: np.ndarray) -> XcorrResult:
        try:
            res = cross_correlate(ref_img, im, **kw)
        except NoOverlapError as exc:
            raise NoOverlapError(f"{exc.reason} against {ref_name}; the image was not changed",
                                 filename=img_name) from exc
        if not (res.snr >= min_snr and res.corr >= min_corr):
            raise AlignmentError(f"weak cross-correlation against {ref_name} (correlation "
                                 f"coefficient {res.corr:.3f}, min_corr={min_corr}; peak SNR "
                                 f"{res.snr:.1f}, min_snr={min_snr}); the image was not changed",
                                 filename=img_name)
        return res

    first = _xc(img_img)
    matrix, offset, nmatch = np.eye(2), np.zeros(2), 0
    final = first
    if mode == "hybrid":
        fit = _catalog_fit(ref_img, img_img, (first.dx, first.dy), tolerance, find_pars, minobj)
        matrix, offset, nmatch = fit.matrix, fit.offset, fit.nmatch
        trial = {ev: wcsupdate.apply_linear_correction(w, frame_wcs, matrix, offset, shape=shape)
                 for ev, (w, shape) in img_chips.items()}
        img2, _ = resample_to_frame(img_name, frame_wcs, frame_shape, chip_wcs=trial,
                                    dq_bits=dq_bits)
        final = _xc(img2)
    shift = np.array([final.dx, final.dy])
    offset = offset - shift
    rot = math.degrees(math.atan2(matrix[1, 0], matrix[0, 0]))
    scale = math.sqrt(abs(np.linalg.det(matrix)))
    log.info("%s vs %s (%s): shift %.4f, %.4f px (+- %.4f, %.4f), SNR %.1f, rot %.5f deg, "
             "scale %.7f", img_name, ref_name, mode, shift[0], shift[1], final.sigma_x,
             final.sigma_y, final.snr, rot, scale)
    result = XcorrAlignment(matrix, offset, shift, np.array([final.sigma_x, final.sigma_y]),
                            final.snr, final.corr, rot, scale, nmatch, overlap, frame_wcs, mode)
    if update:
        _, _, cd = wcsupdate.linear_part(frame_wcs)
        pscale = math.sqrt(abs(np.linalg.det(cd)))
        fit = wcsupdate.FitSummary(float(final.sigma_x * pscale), float(final.sigma_y * pscale),
                                   int(nmatch))
        corrections = {ev: wcsupdate.apply_linear_correction(w, frame_wcs, matrix, offset,
                                                             shape=shape)
                       for ev, (w, shape) in img_chips.items()}
        result.update = wcsupdate.update_image_wcs(img_name, corrections, wcsname=wcsname,
                                                   reusename=reusename, fit=fit, **update_kwargs)
    return result
