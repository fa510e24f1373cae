"""A daofind-like point-source finder (numpy/scipy only).

Steps, per chip:

1. Bad pixels (DQ via ``dqbits``, non-finite values) are replaced by the sky
   level so they neither create nor hide sources; sources with a bad pixel
   inside their centroid window (saturated cores, hot pixels next to a star)
   are dropped, since their positions would be biased.
2. Sky level and sigma: median and 1.4826 x MAD of the good pixels after
   three 3-sigma clipping passes (``computesig``), or ``skysigma``.
3. The image is correlated with a *lowered* elliptical Gaussian (FWHM
   ``conv_width``, axis ratio ``ratio``, angle ``theta``, truncated at
   ``nsigma`` sigma along the major axis, minimum radius 2 pixels), zero-sum
   and normalised so that the result is the amplitude of the best-fitting
   Gaussian; its noise is ``sigma * sqrt(sum(K**2))``.  Detections are local
   maxima of the filtered image above ``threshold`` times that noise.
4. Each detection is centroided with an iterated Gaussian-weighted
   (windowed) centroid after subtracting the median of the stamp border
   (local background); it is unbiased for symmetric profiles.  The expected
   centroid error (PSF sigma x noise / flux) is kept to weight fits.  Flux is
   the sky-subtracted sum inside the kernel footprint, peak the highest
   sky-subtracted pixel.  Sharpness (``(peak pixel - mean of the others) /
   amplitude``, as daofind) and two roundness values (``round1`` from the
   second moments, ``round2`` = ``2 (hx - hy) / (hx + hy)`` from the
   amplitudes of the x and y marginal profiles, as daofind) are computed.
5. Limits: ``peakmin``/``peakmax``, ``fluxmin``/``fluxmax`` and, with
   ``use_sharp_round``, ``sharplo``..``sharphi``, ``roundlo``..``roundhi``.

Memory: a handful of float32/float64 arrays of the chip size (about 200 MB
for a 4096 x 2048 chip at most); time about one second per full ACS/WFC chip.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..imagefindpars import ImageFindPars
from ..kernels import resolve_num_threads
from ..kernels._finder import correlate_taps, subtract_and_blank, threshold_peaks

__all__ = ["SourceList", "find_sources", "sky_statistics", "gaussian_kernel", "cosmic_ray_peaks",
           "correlate", "FinderWorkspace"]

log = logging.getLogger(__name__)

#: Smallest centroid error (pixels) given to a source (keeps weights finite).
#: Larger floors were measured to *worsen* the alignment of simulated ACS/WFC
#: data: faint sources are less reliable than their noise alone says.
ERROR_FLOOR = 0.001
#: Sigma of the Gaussian centroid window in units of the kernel sigma.  A window
#: somewhat narrower than the detection kernel (``conv_width`` is usually chosen
#: wider than the PSF core) weights the well-measured core more: on simulated
#: ACS/WFC exposures 0.7-0.9 gave the best alignment (0.6 and 1.0 were worse).
WINDOW_FACTOR = 0.8
#: Pixels (a regular subsample) used for the sky statistics of a chip.
SKY_SAMPLES = 250_000


@dataclass
class SourceList:
    """Sources found on one chip (0-based pixel positions).

    Attributes
    ----------
    x, y, flux, peak, sharp, round1, round2 : numpy.ndarray
        One value per source (float64).
    err : numpy.ndarray or None
        Expected centroid error (pixels) from the flux and the background
        noise; used to weight fits.
    sky, skysigma : float
        Background level and sigma used.
    """

    x: np.ndarray
    y: np.ndarray
    flux: np.ndarray
    peak: np.ndarray
    sharp: np.ndarray
    round1: np.ndarray
    round2: np.ndarray
    err: np.ndarray | None = None
    sky: float = 0.0
    skysigma: float = 0.0

    def __len__(self) -> int:
        return int(self.x.size)

    def select(self, keep: np.ndarray) -> SourceList:
        """A new list with the sources where ``keep`` is True (or at those indices)."""
        return SourceList(self.x[keep], self.y[keep], self.flux[keep], self.peak[keep],
                          self.sharp[keep], self.round1[keep], self.round2[keep],
                          None if self.err is None else self.err[keep], self.sky, self.skysigma)

    @classmethod
    def empty(cls, sky: float = 0.0, skysigma: float = 0.0) -> SourceList:
        """An empty list."""
        z = np.zeros(0)
        return cls(z, z.copy(), z.copy(), z.copy(), z.copy(), z.copy(), z.copy(), z.copy(), sky,
                   skysigma)


def sky_statistics(data: np.ndarray, good: np.ndarray | None = None, *,
                   bad: np.ndarray | None = None, max_samples: int = SKY_SAMPLES
                   ) -> tuple[float, float]:
    """Robust sky level and sigma (median, 1.4826 MAD, three 3-sigma clips).

    The statistics use a regular subsample of the pixels (every ``step``-th
    pixel in raster order, ``step = ceil(size / max_samples)``); the masks are
    only read at those pixels, so a full-size mask is never inverted or
    combined.

    Parameters
    ----------
    data : numpy.ndarray
        Image.
    good : numpy.ndarray of bool, optional
        True for the pixels to use (as many as ``data``, read in raster order).
    bad : numpy.ndarray of bool, optional
        True for the pixels **not** to use (as many as ``data``); with
        ``good``, a pixel must be good and not bad.
    max_samples : int, optional
        At most this many pixels (a regular subsample) are used.

    Returns
    -------
    sky, sigma : float
        ``(0.0, 0.0)`` when no usable (finite, selected) pixel is left.

    Raises
    ------
    ConfigError
        If a mask does not have as many pixels as ``data``.
    """
    for name, m in (("good", good), ("bad", bad)):
        if m is not None and np.size(m) != np.size(data):
            raise ConfigError(f"sky_statistics: the {name} mask has {np.size(m)} pixels, "
                              f"the image {np.size(data)}")
    flat = data.ravel()
    step = max(1, int(np.ceil(flat.size / max_samples)))
    vals = flat[::step]
    use = None if good is None else good.ravel()[::step]
    if bad is not None:
        use = ~bad.ravel()[::step] if use is None else use & ~bad.ravel()[::step]
    if use is not None:
        vals = vals[use]
    vals = vals[np.isfinite(vals)]
    if vals.size == 0:
        return 0.0, 0.0
    vals = vals.astype(np.float64)
    med, sig = _median(vals), 0.0
    for _ in range(3):
        dev = np.abs(vals - med)
        sig = 1.4826 * _median(dev)
        if sig <= 0:
            break
        vals = vals[dev < 3.0 * sig]
        if vals.size == 0:
            break
        med = _median(vals)
    return med, sig


def _median(a: np.ndarray) -> float:
    """``np.median`` of a non-empty 1-D float64 array without NaN, with one selection.

    (numpy selects the two middle elements and the largest one, for its NaN
    check; the lower middle element is the maximum of the lower part.)  The
    same value: the same two order statistics, averaged as ``np.mean`` does.
    """
    h = a.size // 2
    part = np.partition(a, h)
    hi = part[h]
    if a.size % 2:
        return float(hi)
    return float((part[:h].max() + hi) / 2.0)


def gaussian_kernel(conv_width: float, ratio: float = 1.0, theta: float = 0.0,
                    nsigma: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
    """The lowered, normalised elliptical Gaussian kernel and its footprint.

    Parameters
    ----------
    conv_width : float
        FWHM of the major axis (pixels).
    ratio : float
        Minor/major axis ratio.
    theta : float
        Angle of the major axis (deg, counter-clockwise from +x).
    nsigma : float
        Truncation radius in major-axis sigmas (at least 2 pixels).

    Returns
    -------
    kernel : numpy.ndarray
        Zero-sum kernel; correlating it with an image gives the amplitude of
        the best-fitting Gaussian at each pixel.
    footprint : numpy.ndarray of bool
    """
    sx = conv_width / (2.0 * np.sqrt(2.0 * np.log(2.0)))
    sy = sx * ratio
    radius = max(2, int(nsigma * sx))
    yy, xx = np.mgrid[-radius:radius + 1, -radius:radius + 1].astype(np.float64)
    t = np.radians(theta)
    u = xx * np.cos(t) + yy * np.sin(t)
    v = -xx * np.sin(t) + yy * np.cos(t)
    g = np.exp(-0.5 * ((u / sx) ** 2 + (v / sy) ** 2))
    footprint = ((u / (nsigma * sx)) ** 2 + (v / max(nsigma * sy, 1e-9)) ** 2 <= 1.0) | (
        xx ** 2 + yy ** 2 <= 2.0)
    footprint &= xx ** 2 + yy ** 2 <= radius ** 2 + 1e-9
    n = footprint.sum()
    gf = np.where(footprint, g, 0.0)
    denom = (gf ** 2).sum() - gf.sum() ** 2 / n
    kernel = np.where(footprint, (g - gf.sum() / n) / denom, 0.0)
    return kernel, footprint


def correlate(img: np.ndarray, kernel: np.ndarray, *, num_threads: int | None = 1,
              out: np.ndarray | None = None) -> np.ndarray:
    """Correlate a float32 image with a small kernel (zero outside the image).

    The same float32 values as ``scipy.ndimage.correlate(img, kernel,
    mode="constant", cval=0.0)`` with the kernel rounded to float32 (float64
    sums over the weights in raster order, rounded once), computed by
    a compiled loop that releases the GIL and is 2-3 times faster; the result
    does not depend on ``num_threads``.

    Parameters
    ----------
    img : numpy.ndarray, 2-D
        The image (converted to C-ordered float32 if needed).
    kernel : numpy.ndarray, 2-D
        Weights; odd sizes, centred.
    num_threads : int or None, optional
        OpenMP threads (None: ``OMP_NUM_THREADS`` or every core).
    out : numpy.ndarray of float32, optional
        C-ordered array of the image's shape for the result (not ``img``).

    Returns
    -------
    numpy.ndarray of float32

    Raises
    ------
    ConfigError
        If the arrays are not 2-D or the kernel has an even size.
    """
    img = np.ascontiguousarray(img, dtype=np.float32)
    kernel = np.asarray(kernel)
    if img.ndim != 2 or kernel.ndim != 2 or not (kernel.shape[0] % 2 and kernel.shape[1] % 2):
        raise ConfigError(f"correlate needs a 2-D image and a 2-D kernel of odd sizes, got "
                          f"{img.shape} and {kernel.shape}")
    if out is None:
        out = np.empty_like(img)
    elif (out.shape != img.shape or out.dtype != np.float32 or not out.flags.c_contiguous
          or np.shares_memory(out, img)):
        raise ConfigError("out must be a C-ordered float32 array of the image's shape, "
                          "not sharing memory with it")
    w = kernel.astype(np.float32).astype(np.float64)
    # the taps in raster order; like scipy, weights within DBL_EPSILON of 0 are left out
    ky, kx = np.nonzero(np.abs(w) > np.finfo(np.float64).eps)
    correlate_taps(img, (ky - kernel.shape[0] // 2).astype(np.intp),
                   (kx - kernel.shape[1] // 2).astype(np.intp), np.ascontiguousarray(w[ky, kx]),
                   out, resolve_num_threads(num_threads))
    return out


def _stamps(data: np.ndarray, ix: np.ndarray, iy: np.ndarray, r: int) -> np.ndarray:
    off = np.arange(-r, r + 1)
    return data[iy[:, None, None] + off[None, :, None], ix[:, None, None] + off[None, None, :]]


def _local_maxima(conv: np.ndarray, iy: np.ndarray, ix: np.ndarray, footprint: np.ndarray,
                  chunk: int = 65536) -> tuple[np.ndarray, np.ndarray]:
    """The candidates ``(iy, ix)`` where ``conv`` is the maximum over ``footprint``.

    Equal to ``conv >= maximum_filter(conv, footprint)`` at those pixels (ties
    kept), computed on the candidates only.  The candidates must already be
    maxima of their 3 x 3 block (not below any of their 8 neighbours, as
    :func:`~drizzlepac_ng.kernels._finder.threshold_peaks` returns them: the
    same float32 comparisons), so only the footprint offsets outside that
    block are tested here; they must lie at least the footprint radius inside
    the image.
    """
    r = footprint.shape[0] // 2
    v = conv[iy, ix]
    oy, ox = np.nonzero(footprint)
    far = (np.abs(oy - r) > 1) | (np.abs(ox - r) > 1)   # outside the 3 x 3 block
    oy, ox = oy[far] - r, ox[far] - r
    keep = np.ones(iy.size, dtype=bool)
    for a in range(0, iy.size, chunk):
        sl = slice(a, a + chunk)
        vals = conv[iy[sl, None] + oy[None, :], ix[sl, None] + ox[None, :]]
        keep[sl] = v[sl] >= vals.max(axis=1, initial=-np.inf)
    return iy[keep], ix[keep]


def cosmic_ray_peaks(img: np.ndarray, iy: np.ndarray, ix: np.ndarray, sigma: float, *,
                     sigclip: float = 4.5, objlim: float = 10.0, chunk: int = 8192
                     ) -> np.ndarray:
    """True for the peaks that look like cosmic rays (a Laplacian test on stamps).

    The test of L.A.Cosmic (van Dokkum 2001) evaluated at the brightest pixel
    ``p`` of the 3 x 3 box around each peak: the discrete Laplacian
    ``L = 4 p - (sum of the 4 neighbours)`` must be significant
    (``L / (4 noise) > sigclip``, noise from ``sigma`` and the Poisson noise
    of ``p`` in electrons), and sharp compared with the *fine structure*
    ``F = med3(p) - med7(med3)(p)`` that a point-spread function of the same
    brightness has: ``L / F > objlim``.  On simulated full-size ACS/WFC
    exposures (FWHM ~2 px) ``objlim=10`` rejects 90 % of the cosmic-ray
    peaks and 3 of 617 stars (blends with a cosmic ray); the undersampled
    PSF needs an ``objlim`` well above L.A.Cosmic's usual 2-5.

    Parameters
    ----------
    img : numpy.ndarray
        Sky-subtracted image (electrons), bad pixels set to 0.
    iy, ix : numpy.ndarray of int
        Peaks, at least 5 pixels inside the image.
    sigma : float
        Background noise.
    sigclip, objlim : float, optional
        Thresholds of the two tests.
    chunk : int, optional
        Peaks processed at once (memory).

    Returns
    -------
    numpy.ndarray of bool
    """
    from numpy.lib.stride_tricks import sliding_window_view

    out = np.zeros(iy.size, dtype=bool)
    for a in range(0, iy.size, chunk):
        sy, sx = iy[a:a + chunk], ix[a:a + chunk]
        c3 = _stamps(img, sx, sy, 1).reshape(sy.size, 9).argmax(axis=1)
        py, px = sy + c3 // 3 - 1, sx + c3 % 3 - 1
        st = _stamps(img, px, py, 4).astype(np.float64)           # 9 x 9 around p
        p = st[:, 4, 4]
        lap = 4.0 * p - st[:, 3, 4] - st[:, 5, 4] - st[:, 4, 3] - st[:, 4, 5]
        noise = np.sqrt(sigma ** 2 + np.clip(p, 0.0, None))
        win = sliding_window_view(st, (3, 3), axis=(1, 2)).reshape(sy.size, 7, 7, 9)
        m3 = np.partition(win, 4, axis=3)[:, :, :, 4]           # 3 x 3 medians
        m37 = np.partition(m3.reshape(sy.size, 49), 24, axis=1)[:, 24]
        fine = m3[:, 3, 3] - m37
        fine = np.maximum(fine, 0.5 * noise)
        out[a:a + chunk] = (lap > 4.0 * sigclip * noise) & (lap > objlim * fine)
    return out


class FinderWorkspace:
    """Full-size work arrays of :func:`find_sources`, kept for the next chip.

    Fresh chip-size arrays cost page faults and the kernel's zeroing of their
    memory every time; a workspace given to successive calls (one call at a
    time: use one workspace per thread) reuses them.  It holds about
    10 bytes per pixel.
    """

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def array(self, name: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """The (uninitialised) C-ordered array ``name`` with this shape and type.

        Parameters
        ----------
        name : str
        shape : tuple of int
        dtype : numpy dtype

        Returns
        -------
        numpy.ndarray
        """
        a = self._arrays.get(name)
        if a is None or a.shape != tuple(shape) or a.dtype != np.dtype(dtype):
            self._arrays.pop(name, None)
            a = np.empty(shape, dtype=dtype)
            self._arrays[name] = a
        return a


def find_sources(data: np.ndarray, pars: ImageFindPars | None = None, *,
                 mask: np.ndarray | None = None, cr_reject: bool = False,
                 num_threads: int | None = 1,
                 workspace: FinderWorkspace | None = None) -> SourceList:
    """Find point-like sources in one image.

    Parameters
    ----------
    data : numpy.ndarray, 2-D
        The chip (any float or int type).
    pars : ImageFindPars, optional
        Finder parameters (defaults of the original if None).
    mask : numpy.ndarray of bool, optional
        True where a pixel is **bad** (DQ, exclusion).
    cr_reject : bool, optional
        Drop peaks that look like cosmic rays (:func:`cosmic_ray_peaks`);
        for single exposures whose cosmic rays are not flagged in the DQ
        array.  Not in the original.
    num_threads : int or None, optional
        Threads of the correlation (None: ``OMP_NUM_THREADS`` or every
        core); the sources do not depend on it.  The function releases the
        GIL for most of its work, so chips can also be processed in parallel
        Python threads (each with ``num_threads=1``).
    workspace : FinderWorkspace, optional
        Work arrays to reuse (faster for successive chips of one size).

    Returns
    -------
    SourceList
        Sorted by decreasing flux.

    Raises
    ------
    ConfigError
        If ``data`` is not a 2-D array or ``mask`` has another shape.
    """
    pars = pars or ImageFindPars()
    data = np.asarray(data)
    if data.ndim != 2 or min(data.shape) < 5:
        raise ConfigError(f"the image must be 2-D and at least 5x5 pixels, got shape {data.shape}")
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != data.shape:
            raise ConfigError(f"mask shape {mask.shape} differs from image shape {data.shape}")
    ws = workspace if workspace is not None else FinderWorkspace()
    # one native float32 copy (FITS data are big-endian: every later pass is faster)
    img = ws.array("img", data.shape, np.float32)
    np.copyto(img, data, casting="unsafe")
    bad = ws.array("bad", data.shape, np.bool_)
    np.isfinite(img, out=bad)
    np.logical_not(bad, out=bad)
    if mask is not None:
        np.logical_or(bad, mask, out=bad)
    nt = resolve_num_threads(num_threads)
    sky, sigma = sky_statistics(img, bad=bad)
    if not pars.computesig:
        sigma = float(pars.skysigma)
    if sigma <= 0 or bad.all():
        log.warning("no usable background (sigma=%g); no sources", sigma)
        return SourceList.empty(sky, sigma)
    bad8 = bad.view(np.uint8)
    subtract_and_blank(img, bad8, np.float32(sky), nt)   # img - sky, bad pixels 0
    kernel, footprint = gaussian_kernel(pars.conv_width, pars.ratio, pars.theta, pars.nsigma)
    r = kernel.shape[0] // 2
    conv = correlate(img, kernel, num_threads=nt, out=ws.array("conv", img.shape, np.float32))
    thresh = pars.threshold * sigma * float(np.sqrt((kernel ** 2).sum()))
    edge = max(r, 3)
    # good pixels above the threshold that are not below any of their 8 neighbours
    # (one compiled pass), then the maxima over the whole footprint
    iy, ix = threshold_peaks(conv, bad8, np.float32(thresh), edge)
    iy, ix = _local_maxima(conv, iy, ix, footprint)
    if cr_reject and iy.size:
        inside = ((iy >= 5) & (ix >= 5) & (iy < img.shape[0] - 5) & (ix < img.shape[1] - 5))
        crs = np.zeros(iy.size, dtype=bool)
        crs[inside] = cosmic_ray_peaks(img, iy[inside], ix[inside], sigma)
        log.debug("cosmic-ray test: %d of %d peaks rejected", int(crs.sum()), iy.size)
        iy, ix = iy[~crs], ix[~crs]
    if iy.size == 0:
        return SourceList.empty(sky, sigma)
    amp = conv[iy, ix].astype(np.float64)
    del conv
    # plateau duplicates: keep one per connected equal-valued maximum (first in raster order)
    st = _stamps(img, ix, iy, r).astype(np.float64)
    fp = footprint[None]
    n_fp = footprint.sum()
    centre = st[:, r, r]
    others = (np.where(fp, st, 0.0).sum(axis=(1, 2)) - centre) / (n_fp - 1)
    sharp = (centre - others) / amp
    flux = np.where(fp, st, 0.0).sum(axis=(1, 2))
    peak = np.where(fp, st, -np.inf).max(axis=(1, 2))
    # marginal-profile amplitudes (daofind roundness2)
    g1 = np.exp(-0.5 * (np.arange(-r, r + 1) / (pars.conv_width / 2.3548)) ** 2)
    g1l = (g1 - g1.mean()) / ((g1 ** 2).sum() - g1.sum() ** 2 / g1.size)
    hx = (st.sum(axis=1) * g1l).sum(axis=1)
    hy = (st.sum(axis=2) * g1l).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        round2 = np.where(hx + hy != 0, 2.0 * (hx - hy) / (hx + hy), 0.0)
    # windowed centroid on a larger stamp
    cr = max(r, int(np.ceil(2.5 * pars.conv_width / 2.3548)), 3)
    cr = min(cr, edge) if edge >= 3 else cr
    big = _stamps(img, ix, iy, cr).astype(np.float64)
    # a bad pixel (DQ, non-finite) under the centroid window biases the position: drop it
    clean = ~_stamps(bad, ix, iy, cr).any(axis=(1, 2)) if bad.any() else np.ones(iy.size, bool)
    off = np.arange(-cr, cr + 1, dtype=np.float64)
    # local background: median of the stamp border (removes sky gradients and wings)
    ring = np.hypot(off[:, None], off[None, :]) >= cr - 0.5
    big = big - np.median(big[:, ring], axis=1)[:, None, None]
    sw = pars.conv_width / 2.3548 * WINDOW_FACTOR  # centroid window sigma
    dx = np.zeros(iy.size)
    dy = np.zeros(iy.size)
    for _ in range(10):
        # the window is separable: contract the stamps along x, then along y
        wx = np.exp(-0.5 * ((off[None, :] - dx[:, None]) / sw) ** 2)
        wy = np.exp(-0.5 * ((off[None, :] - dy[:, None]) / sw) ** 2)
        bx = np.einsum("nyx,nx->ny", big, wx)
        bxo = np.einsum("nyx,nx->ny", big, wx * off[None, :])
        tot = np.einsum("ny,ny->n", bx, wy)
        ok = tot > 0
        safe = np.where(ok, tot, 1.0)
        ndx = np.where(ok, np.einsum("ny,ny->n", bxo, wy) / safe, 0.0)
        ndy = np.where(ok, np.einsum("ny,ny->n", bx, wy * off[None, :]) / safe, 0.0)
        ndx = np.clip(ndx, -1.5, 1.5)
        ndy = np.clip(ndy, -1.5, 1.5)
        step = np.max(np.abs(np.concatenate([ndx - dx, ndy - dy]))) if iy.size else 0.0
        dx, dy = ndx, ndy
        if step < 1e-5:
            break
    # second-moment roundness (round1)
    wpos = np.clip(big, 0, None) * (np.exp(-0.5 * (off[None, :] / sw) ** 2)[:, :, None]
                                    * np.exp(-0.5 * (off[None, :] / sw) ** 2)[:, None, :])
    tot = wpos.sum(axis=(1, 2))
    ixx = (wpos * (off[None, None, :] - dx[:, None, None]) ** 2).sum(axis=(1, 2))
    iyy = (wpos * (off[None, :, None] - dy[:, None, None]) ** 2).sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        round1 = np.where((ixx + iyy) > 0, 2.0 * (ixx - iyy) / (ixx + iyy), 0.0)
    del big, wpos, st
    x = ix + dx
    y = iy + dy
    keep = np.isfinite(x) & np.isfinite(y) & (tot > 0) & (flux > 0) & clean
    if pars.peakmin is not None:
        keep &= peak >= pars.peakmin
    if pars.peakmax is not None:
        keep &= peak <= pars.peakmax
    if pars.fluxmin is not None:
        keep &= flux >= pars.fluxmin
    if pars.fluxmax is not None:
        keep &= flux <= pars.fluxmax
    if pars.use_sharp_round:
        keep &= (sharp >= pars.sharplo) & (sharp <= pars.sharphi)
        keep &= (round1 >= pars.roundlo) & (round1 <= pars.roundhi)
        keep &= (round2 >= pars.roundlo) & (round2 <= pars.roundhi)
    # expected centroid error (pixels): PSF sigma x noise / flux (image in electrons)
    with np.errstate(divide="ignore", invalid="ignore"):
        err = sw * np.sqrt(np.clip(flux, 0, None) + 4 * np.pi * sw ** 2 * sigma ** 2) / flux
    err = np.where(np.isfinite(err) & (err > 0), np.hypot(err, ERROR_FLOOR), 10.0)
    out = SourceList(x[keep], y[keep], flux[keep], peak[keep], sharp[keep], round1[keep],
                     round2[keep], err[keep], sky, sigma)
    order = np.argsort(-out.flux, kind="stable")
    out = out.select(order)
    log.debug("found %d sources (of %d peaks), sky=%.4g sigma=%.4g", len(out), iy.size, sky, sigma)
    return out
