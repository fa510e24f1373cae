"""Pixel rendering: pixel-integrated PSF stamps and Sersic galaxies.

The PSF is a circular mixture of Gaussians (a core of FWHM ~2 pixels plus two
broader halo components), integrated exactly over each pixel with error
functions.  Each stamp is normalised to sum to 1 over its (finite) box, so the
counts a source deposits are known exactly: its flux when the box lies inside
the chip, and the sum of the in-chip part otherwise.  The profile is symmetric
about the source position, so first moments and symmetric fits return the
true position.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erf

from ..errors import ConfigError

__all__ = ["PSF_COMPONENTS", "render_psf", "psf_stamps", "add_stamps", "sersic_stamp",
           "point_sources"]

#: (weight, sigma in pixels) of the PSF mixture: FWHM of the total ~ 2.1 px.
PSF_COMPONENTS: tuple[tuple[float, float], ...] = ((0.74, 0.85), (0.20, 1.9), (0.06, 5.0))
_SQRT2 = math.sqrt(2.0)


def _edges_integral(centres: np.ndarray, start: np.ndarray, size: int, sigma: float) -> np.ndarray:
    """Fraction of a 1-D Gaussian falling in each of ``size`` pixels from ``start``.

    ``centres`` and ``start`` have shape (N,); returns (N, size).
    """
    edges = start[:, None] + np.arange(size + 1)[None, :] - 0.5 - centres[:, None]
    cdf = 0.5 * (1.0 + erf(edges / (_SQRT2 * sigma)))
    return np.diff(cdf, axis=1)


def psf_stamps(x: np.ndarray, y: np.ndarray, radius: int,
               components=PSF_COMPONENTS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit-sum pixel-integrated PSF stamps centred on ``(x, y)`` (0-based pixels).

    Parameters
    ----------
    x, y : ndarray
        Source positions (pixel centres at integers).
    radius : int
        Half-size of the square stamps (size ``2 * radius + 1``).
    components : sequence of (weight, sigma)
        Gaussian mixture.

    Returns
    -------
    stamps : ndarray
        ``(N, size, size)`` float64, each summing to 1.
    x0, y0 : ndarray
        Integer pixel of the stamps' lower-left corner.
    """
    x = np.atleast_1d(np.asarray(x, dtype=float))
    y = np.atleast_1d(np.asarray(y, dtype=float))
    size = 2 * radius + 1
    x0 = np.floor(x + 0.5).astype(np.int64) - radius
    y0 = np.floor(y + 0.5).astype(np.int64) - radius
    stamps = np.zeros((x.size, size, size))
    for weight, sigma in components:
        ex = _edges_integral(x, x0, size, sigma)
        ey = _edges_integral(y, y0, size, sigma)
        stamps += weight * ey[:, :, None] * ex[:, None, :]
    stamps /= stamps.sum(axis=(1, 2), keepdims=True)
    return stamps, x0, y0


def add_stamps(image: np.ndarray, stamps: np.ndarray, x0: np.ndarray, y0: np.ndarray,
               scale: np.ndarray) -> np.ndarray:
    """Add ``scale[i] * stamps[i]`` to ``image`` at corners ``(x0, y0)``, clipping to the image.

    Parameters
    ----------
    image : ndarray
        2-D float64 image, modified in place.
    stamps : ndarray
        ``(N, size, size)``.
    x0, y0 : ndarray
        Lower-left corners (integer pixels, may lie outside the image).
    scale : ndarray
        Fluxes.

    Returns
    -------
    ndarray
        Counts actually deposited inside the image for each stamp.
    """
    ny, nx = image.shape
    n, size, _ = stamps.shape
    if n == 0:
        return np.zeros(0)
    if n <= 4000:  # add the overlapping slices one by one (faster than scatter-adds)
        out = np.zeros(n)
        for i in range(n):
            xa, ya = int(x0[i]), int(y0[i])
            sx0, sy0 = max(0, -xa), max(0, -ya)
            sx1, sy1 = min(size, nx - xa), min(size, ny - ya)
            if sx1 <= sx0 or sy1 <= sy0:
                continue
            part = stamps[i, sy0:sy1, sx0:sx1] * float(scale[i])
            image[ya + sy0:ya + sy1, xa + sx0:xa + sx1] += part
            out[i] = part.sum()
        return out
    ix = x0[:, None] + np.arange(size)[None, :]
    iy = y0[:, None] + np.arange(size)[None, :]
    okx = (ix >= 0) & (ix < nx)
    oky = (iy >= 0) & (iy < ny)
    ok = oky[:, :, None] & okx[:, None, :]
    vals = stamps * np.asarray(scale, dtype=float)[:, None, None]
    flat = iy[:, :, None] * nx + ix[:, None, :]
    inside = np.where(ok, vals, 0.0)
    image += np.bincount(flat[ok], weights=vals[ok], minlength=ny * nx).reshape(ny, nx)
    return inside.sum(axis=(1, 2))


def render_psf(shape: tuple[int, int], x, y, flux, *, radius: int = 12,
               components=PSF_COMPONENTS) -> np.ndarray:
    """Render point sources on an empty image.

    Parameters
    ----------
    shape : (ny, nx)
        Image shape.
    x, y : array_like
        0-based pixel positions.
    flux : array_like
        Total counts of each source (deposited exactly when the stamp is inside).
    radius : int
        Stamp half-size.
    components : sequence of (weight, sigma)
        PSF mixture (default :data:`PSF_COMPONENTS`).

    Returns
    -------
    ndarray
        float64 image.

    Raises
    ------
    ConfigError
        If the arrays have different lengths or the radius is not positive.
    """
    x = np.atleast_1d(np.asarray(x, dtype=float))
    y = np.atleast_1d(np.asarray(y, dtype=float))
    flux = np.broadcast_to(np.asarray(flux, dtype=float), x.shape)
    if x.shape != y.shape:
        raise ConfigError("x and y must have the same length")
    if radius < 1:
        raise ConfigError(f"radius must be >= 1, not {radius}")
    image = np.zeros(tuple(shape))
    stamps, x0, y0 = psf_stamps(x, y, radius, components)
    add_stamps(image, stamps, x0, y0, flux)
    return image


def point_sources(shape: tuple[int, int] = (64, 64), seed: int = 0, *, n: int | None = None,
                  flux_range: tuple[float, float] = (100.0, 10000.0), margin: int = 8,
                  return_positions: bool = False):
    """A simple image of interior point sources on a zero background (for kernel tests).

    Sources lie at least ``margin`` pixels from the edges, so the image sum
    equals the sum of the fluxes (to rounding).

    Parameters
    ----------
    shape : (ny, nx)
        Image shape.
    seed : int
        Random seed.
    n : int, optional
        Number of sources (default: one per 256 pixels, at least 1).
    flux_range : (float, float)
        Log-uniform range of the fluxes.
    margin : int
        Minimum distance to the edges (>= the stamp radius used, 6).
    return_positions : bool
        Also return an ``(n, 3)`` array of ``x, y, flux``.

    Returns
    -------
    image : ndarray
        float64 image.
    sources : ndarray, optional
        When ``return_positions`` is true.

    Raises
    ------
    ConfigError
        If the image is too small for the margin.
    """
    ny, nx = shape
    if nx <= 2 * margin or ny <= 2 * margin:
        raise ConfigError(f"shape {shape} too small for a margin of {margin} pixels")
    rng = np.random.default_rng(seed)
    if n is None:
        n = max(1, (nx * ny) // 256)
    x = rng.uniform(margin, nx - 1 - margin, n)
    y = rng.uniform(margin, ny - 1 - margin, n)
    flux = np.exp(rng.uniform(math.log(flux_range[0]), math.log(flux_range[1]), n))
    radius = min(6, margin)
    image = render_psf(shape, x, y, flux, radius=radius)
    if return_positions:
        return image, np.column_stack([x, y, flux])
    return image


def sersic_stamp(xc: float, yc: float, jac: np.ndarray, r_eff: float, n_sersic: float,
                 axis_ratio: float, pa_deg: float, *, oversample: int = 5,
                 max_radius: int = 40, psf=PSF_COMPONENTS) -> tuple[np.ndarray, int, int]:
    """Unit-sum stamp of an elliptical Sersic galaxy seen through a local distortion.

    Parameters
    ----------
    xc, yc : float
        0-based pixel position of the centre.
    jac : ndarray
        2x2 matrix mapping a pixel offset ``(dx, dy)`` to a tangent-plane offset
        ``(east, north)`` in arcsec at the galaxy position (the local full WCS).
    r_eff : float
        Effective (half-light) radius along the major axis (arcsec).
    n_sersic : float
        Sersic index.
    axis_ratio : float
        Minor/major axis ratio.
    pa_deg : float
        Position angle of the major axis, east of north (deg).
    oversample : int
        Sub-samples per pixel along each axis.
    max_radius : int
        Largest stamp half-size in pixels.
    psf : sequence of (weight, sigma) or None
        Gaussian-mixture PSF the pixelised profile is convolved with (None:
        no convolution).  The stamp is renormalised afterwards.

    Returns
    -------
    stamp : ndarray
        Unit-sum float64 stamp.
    x0, y0 : int
        Lower-left pixel of the stamp.
    """
    pscale = math.sqrt(abs(np.linalg.det(jac)))
    radius = int(min(max_radius, max(8, math.ceil(5.0 * r_eff / pscale))))
    size = 2 * radius + 1
    x0 = int(math.floor(xc + 0.5)) - radius
    y0 = int(math.floor(yc + 0.5)) - radius
    sub = (np.arange(size * oversample) + 0.5) / oversample - 0.5
    gx = x0 + sub - xc
    gy = y0 + sub - yc
    dx, dy = np.meshgrid(gx, gy)
    east = jac[0, 0] * dx + jac[0, 1] * dy
    north = jac[1, 0] * dx + jac[1, 1] * dy
    pa = math.radians(pa_deg)
    major = east * math.sin(pa) + north * math.cos(pa)
    minor = -east * math.cos(pa) + north * math.sin(pa)
    r = np.sqrt(major ** 2 + (minor / axis_ratio) ** 2)
    bn = 2.0 * n_sersic - 1.0 / 3.0 + 0.009876 / n_sersic
    prof = np.exp(-bn * ((r / r_eff) ** (1.0 / n_sersic) - 1.0))
    # soften the cusp of steep profiles at the centre (one sub-sample)
    r_min = 0.5 * pscale / oversample
    prof = np.minimum(prof, np.exp(-bn * ((r_min / r_eff) ** (1.0 / n_sersic) - 1.0)))
    stamp = prof.reshape(size, oversample, size, oversample).sum(axis=(1, 3))
    if psf:
        from scipy.ndimage import gaussian_filter

        stamp = sum(w * gaussian_filter(stamp, s, mode="constant", truncate=4.0)
                    for w, s in psf)
    stamp /= stamp.sum()
    return stamp, x0, y0
