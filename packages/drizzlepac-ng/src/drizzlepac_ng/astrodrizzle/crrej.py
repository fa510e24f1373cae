"""Step 6: driz_cr, cosmic-ray detection by comparison with the blotted median.

For one chip with input I, blotted model B (same units as I, sky included),
D = :func:`derivative` of B, effective gain g, read noise rn:

* t1 = \\|I - B\\|, noise = sqrt(g \\|B + extra_sky\\| + rn^2) / g;
* pass 1: good where t1 <= scale1 x D + snr1 x noise;
* a pixel whose whole 3x3 neighbourhood is good in pass 1 stays good; any
  other pixel must also pass t1 <= scale2 x D + snr2 x noise (pass 2);
* the pixels failing are cosmic rays; they are grown by ``grow`` pixels in
  every direction (a (2 grow + 1)^2 box: the documented meaning of the
  original's ``driz_cr_grow``, whose code instead asks a grow x grow box to be
  clean, so that its default 1 grows nothing), then trailed ``ctegrow`` pixels
  along the CTE direction.

Pure functions: arrays in, a new boolean mask out.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import binary_dilation, minimum_filter

__all__ = ["derivative", "flag_cosmic_rays", "grow_mask", "cte_trail"]


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
    dy = np.abs(np.diff(a, axis=0))
    dx = np.abs(np.diff(a, axis=1))
    np.maximum(d[1:], dy, out=d[1:])
    np.maximum(d[:-1], dy, out=d[:-1])
    np.maximum(d[:, 1:], dx, out=d[:, 1:])
    np.maximum(d[:, :-1], dx, out=d[:, :-1])
    return d


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


def flag_cosmic_rays(data: np.ndarray, blot: np.ndarray, *, gain: float = 1.0,
                     readnoise: float = 0.0, snr: tuple[float, float] = (3.5, 3.0),
                     scale: tuple[float, float] = (1.2, 0.7), grow: int = 1,
                     ctegrow: int = 0, ctedir: int = 0, extra_sky: float = 0.0,
                     good: np.ndarray | None = None,
                     blot_deriv: np.ndarray | None = None) -> np.ndarray:
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
        Growth radius (``driz_cr_grow``).
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
    deriv = derivative(blot) if blot_deriv is None else np.asarray(blot_deriv, np.float32)
    t1 = np.abs(data - blot)
    noise = np.sqrt(gain * np.abs(blot + np.float32(extra_sky)) + np.float32(readnoise) ** 2)
    noise /= np.float32(gain)
    with np.errstate(invalid="ignore"):
        pass1 = t1 <= scale[0] * deriv + snr[0] * noise
        pass2 = t1 <= scale[1] * deriv + snr[1] * noise
    pass1 &= np.isfinite(data)
    clean_nbhd = minimum_filter(pass1.astype(np.uint8), size=3, mode="nearest") > 0
    ok = clean_nbhd | pass2
    cr = ~ok & np.isfinite(data) & np.isfinite(blot)
    if good is not None:
        cr &= np.asarray(good, dtype=bool)
    cr = grow_mask(cr, grow)
    cr = cte_trail(cr, ctegrow, ctedir)
    return cr
