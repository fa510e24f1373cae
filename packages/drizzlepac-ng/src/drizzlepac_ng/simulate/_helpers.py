"""Array-level helpers for kernel tests and benchmarks (no files, no headers)."""

from __future__ import annotations

import numpy as np
from astropy.wcs import WCS

from ..errors import ConfigError
from . import detector as det
from ._instruments import camera_model
from ._wcs import build_exposure_wcs
from .exposure import (
    DEFAULT_PA_V3,
    DEFAULT_TARGET,
    _exposure_pointing,
    _nominal_pointing,
    dither_offsets,
    simulate_exposures,
)
from .render import render_psf

__all__ = ["wfc_chip", "stack", "dither_pixmap", "output_frame"]


def wfc_chip(seed: int = 0, *, extver: int = 1, shape=None, noise: bool = True,
             cosmic_rays: bool = True) -> np.ndarray:
    """The SCI array of one simulated ACS/WFC chip (float32, electrons).

    Parameters
    ----------
    seed : int
        Random seed.
    extver : int
        1 (CCDCHIP 2) or 2 (CCDCHIP 1).
    shape : None, "small" or (ny, nx)
        Chip shape (default full 2048 x 4096).
    noise, cosmic_rays : bool
        As in :func:`~drizzlepac_ng.simulate.simulate_exposures`.

    Returns
    -------
    ndarray
        float32 image.
    """
    sim = simulate_exposures(1, shape=shape, seed=seed, noise=noise, cosmic_rays=cosmic_rays,
                             dither=None)
    return np.array(sim[0].hdulist["SCI", extver].data, dtype=np.float32)


def stack(n: int = 8, *, shape: tuple[int, int] = (256, 256), seed: int = 0,
          n_stars: int = 60, sky: float = 40.0, readnoise: float = 4.0,
          exptime: float = 500.0, cosmic_rays: bool = True) -> np.ndarray:
    """``n`` aligned noisy images of the same star field with independent cosmic rays.

    For median/minmed and outlier-rejection tests: no distortion, no dithers;
    every frame has the same stars (interior, PSF of :func:`render_psf`), the
    same sky, independent Poisson + read noise and independent cosmic rays
    (about 2 % of the pixels in 500 s).

    Parameters
    ----------
    n : int
        Number of frames.
    shape : (ny, nx)
    seed : int
    n_stars : int
    sky : float
        Sky level (e-/pixel).
    readnoise : float
        Read noise (e-).
    exptime : float
        Sets the cosmic-ray rate.
    cosmic_rays : bool

    Returns
    -------
    ndarray
        float32 array of shape ``(n, ny, nx)``.

    Raises
    ------
    ConfigError
        For ``n < 1`` or a shape smaller than 32 x 32.
    """
    if n < 1:
        raise ConfigError(f"n must be >= 1, not {n}")
    ny, nx = (int(v) for v in shape)
    if ny < 32 or nx < 32:
        raise ConfigError(f"shape {shape} too small (minimum 32 x 32)")
    rng = np.random.default_rng([seed, 21])
    x = rng.uniform(8, nx - 9, n_stars)
    y = rng.uniform(8, ny - 9, n_stars)
    flux = 200.0 * (1.0 - rng.random(n_stars)) ** (-1.0 / 0.8)
    model = render_psf((ny, nx), x, y, np.minimum(flux, 5e5)) + sky
    out = np.empty((n, ny, nx), dtype=np.float32)
    for i in range(n):
        frame = det.add_noise(model, readnoise, np.random.default_rng([seed, 22, i]))
        if cosmic_rays:
            frame += det.cosmic_rays((ny, nx), exptime, np.random.default_rng([seed, 23, i]))
        out[i] = frame
    return out


def output_frame(shape: tuple[int, int] = (2400, 4400), *, scale: float = 0.05,
                 ra: float = DEFAULT_TARGET[0], dec: float = DEFAULT_TARGET[1]) -> WCS:
    """A north-up TAN output grid centred on the default simulated field.

    Parameters
    ----------
    shape : (ny, nx)
    scale : float
        arcsec/pixel.
    ra, dec : float
        Centre (deg).

    Returns
    -------
    astropy.wcs.WCS
    """
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [ra, dec]
    w.wcs.crpix = [(shape[1] + 1) / 2.0, (shape[0] + 1) / 2.0]
    w.wcs.cdelt = [-scale / 3600.0, scale / 3600.0]
    w.wcs.set()
    w.pixel_shape = (shape[1], shape[0])
    return w


def dither_pixmap(seed: int = 0, *, exposure: int = 0, extver: int = 1, shape=None,
                  dither="line", step: int = 1) -> np.ndarray:
    """Pixel map of a simulated chip onto a common north-up grid (full distortion).

    Parameters
    ----------
    seed : int
        Unused (the geometry is deterministic); kept for a uniform signature.
    exposure : int
        Index in the dither pattern (0-based).
    extver : int
        Chip.
    shape : None, "small" or (ny, nx)
        Chip shape (default full size).
    dither : str
        Dither pattern.
    step : int
        1 evaluates the full WCS at every pixel (exact; ~5 s for a full chip);
        larger values evaluate every ``step`` pixels and interpolate with
        bicubic splines (~0.01 px near the lookup-table nodes, much faster).

    Returns
    -------
    ndarray
        ``(ny, nx, 2)`` float64: 0-based ``(x, y)`` in :func:`output_frame`
        pixels (an output frame large enough for both chips of the chip size).
    """
    del seed  # the geometry does not depend on the seed (kept for a uniform signature)
    camera = camera_model("ACS/WFC", shape)
    nominal = _nominal_pointing(camera, DEFAULT_TARGET, DEFAULT_PA_V3)
    postarg = dither_offsets(exposure + 1, dither, camera)[exposure]
    crval = _exposure_pointing(camera, nominal, DEFAULT_PA_V3, postarg)
    parts = ("sip", "npol", "d2im")
    w = build_exposure_wcs(camera, crval, DEFAULT_PA_V3, parts).wcs(extver)
    ny, nx = camera.chip(extver).shape
    out = output_frame((int(ny * 2.4), int(nx * 1.15)), ra=DEFAULT_TARGET[0],
                       dec=DEFAULT_TARGET[1])
    if step <= 1:
        yy, xx = np.mgrid[0:ny, 0:nx]
        sky = w.all_pix2world(xx.ravel().astype(float), yy.ravel().astype(float), 0)
        ox, oy = out.wcs_world2pix(sky[0], sky[1], 0)
        return np.dstack([ox.reshape(ny, nx), oy.reshape(ny, nx)])
    from scipy.interpolate import RectBivariateSpline

    gx = np.unique(np.append(np.arange(0, nx, step), nx - 1)).astype(float)
    gy = np.unique(np.append(np.arange(0, ny, step), ny - 1)).astype(float)
    xx, yy = np.meshgrid(gx, gy)
    sky = w.all_pix2world(xx.ravel(), yy.ravel(), 0)
    ox, oy = out.wcs_world2pix(sky[0], sky[1], 0)
    fx = RectBivariateSpline(gy, gx, ox.reshape(xx.shape))
    fy = RectBivariateSpline(gy, gx, oy.reshape(xx.shape))
    ax, ay = np.arange(nx, dtype=float), np.arange(ny, dtype=float)
    return np.dstack([fx(ay, ax), fy(ay, ax)])
