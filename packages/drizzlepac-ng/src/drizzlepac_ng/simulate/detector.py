"""Detector effects: cosmic rays, hot pixels, bad columns, saturation with bleeding, noise.

All functions take an explicit :class:`numpy.random.Generator`; nothing uses
global random state.

Data-quality bits (as in ACS/WFC3 FLT/FLC files): 4 = bad detector pixel
(bad columns), 16 = hot pixel, 256 = full-well saturation.  Cosmic rays are
*not* flagged (that is the job of astrodrizzle's driz_cr step); their pixels
are recorded in the truth file only.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["DQ_BAD_PIXEL", "DQ_HOT_PIXEL", "DQ_SATURATED", "cosmic_rays", "detector_defects",
           "saturate_and_bleed", "add_noise", "CR_FRACTION_PER_SECOND"]

DQ_BAD_PIXEL = 4
DQ_HOT_PIXEL = 16
DQ_SATURATED = 256
#: Fraction of pixels hit by cosmic rays per second of exposure (2 % in 500 s).
CR_FRACTION_PER_SECOND = 0.02 / 500.0
#: Counts below this level are not part of a cosmic ray (charge-diffusion wings dropped).
CR_FLOOR = 5.0
_MEAN_PIXELS_PER_CR = 5.4  # calibrated so the affected fraction matches the rate above


def cosmic_rays(shape: tuple[int, int], exptime: float, rng: np.random.Generator,
                fraction_per_second: float = CR_FRACTION_PER_SECOND) -> np.ndarray:
    """Image of cosmic-ray charge (electrons), zero outside the hits.

    Hits are straight segments: most are short (0-3 pixels, giving 1-6 affected
    pixels after charge sharing), ~8 % are long grazing tracks of 6-60 pixels.
    Charge per unit length is log-normal (median ~900 e-/pixel).  The number
    of hits is Poisson with a mean chosen so that the affected fraction of
    pixels is ``fraction_per_second * exptime`` (about 2 % for 500 s).

    Parameters
    ----------
    shape : (ny, nx)
    exptime : float
        Exposure time (s).
    rng : numpy.random.Generator
    fraction_per_second : float
        Target affected fraction per second.

    Returns
    -------
    ndarray
        float64 image of deposited charge; ``> 0`` exactly on CR pixels.
    """
    ny, nx = shape
    npix = nx * ny
    mean_hits = fraction_per_second * exptime * npix / _MEAN_PIXELS_PER_CR
    nhit = int(rng.poisson(max(mean_hits, 0.0)))
    out = np.zeros(npix)
    if nhit == 0:
        return out.reshape(shape)
    long = rng.random(nhit) < 0.04
    track = np.minimum(6.0 / np.sqrt(1.0 - rng.random(nhit)), 60.0)  # 6-60 px, mostly short
    length = np.where(long, track, rng.exponential(0.5, nhit))
    angle = rng.uniform(0.0, math.pi, nhit)
    x0 = rng.uniform(-0.5, nx - 0.5, nhit)
    y0 = rng.uniform(-0.5, ny - 0.5, nhit)
    dens = rng.lognormal(math.log(900.0), 0.6, nhit)  # e- per pixel of path
    nstep = np.maximum(1, np.ceil(length / 0.25).astype(np.int64))
    idx = np.repeat(np.arange(nhit), nstep)
    start = np.cumsum(nstep) - nstep
    t = (np.arange(idx.size) - start[idx] + 0.5) / nstep[idx]
    px = x0[idx] + (t - 0.5) * length[idx] * np.cos(angle[idx])
    py = y0[idx] + (t - 0.5) * length[idx] * np.sin(angle[idx])
    charge = dens[idx] * np.maximum(length[idx], 1.0) / nstep[idx]
    # bilinear sharing between the 4 nearest pixels (charge diffusion)
    fx, fy = np.floor(px), np.floor(py)
    wx, wy = px - fx, py - fy
    fx = fx.astype(np.int64)
    fy = fy.astype(np.int64)
    for ddx, ddy, w in ((0, 0, (1 - wx) * (1 - wy)), (1, 0, wx * (1 - wy)),
                        (0, 1, (1 - wx) * wy), (1, 1, wx * wy)):
        ix, iy = fx + ddx, fy + ddy
        ok = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
        out += np.bincount(iy[ok] * nx + ix[ok], weights=(charge * w)[ok], minlength=npix)
    out[out < CR_FLOOR] = 0.0
    return out.reshape(shape)


def detector_defects(shape: tuple[int, int], exptime: float, rng: np.random.Generator,
                     *, hot_fraction: float = 0.002, n_bad_columns: int | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hot pixels and bad columns of a chip.

    Parameters
    ----------
    shape : (ny, nx)
    exptime : float
        Exposure time (s); hot-pixel excess is a dark rate times ``exptime``.
    rng : numpy.random.Generator
        Should depend on the chip only, so defects repeat between exposures.
    hot_fraction : float
        Fraction of hot pixels.
    n_bad_columns : int, optional
        Default: 3 on full-size chips, 1 on small ones.

    Returns
    -------
    excess : ndarray
        Extra charge of hot pixels (e-), float64.
    dq : ndarray
        int16 DQ bits (4 and 16).
    badcol : ndarray
        bool mask of bad-column pixels (their values are replaced by garbage later).
    """
    ny, nx = shape
    npix = nx * ny
    dq = np.zeros(shape, dtype=np.int16)
    excess = np.zeros(shape)
    nhot = int(round(hot_fraction * npix))
    flat = rng.choice(npix, size=nhot, replace=False) if nhot else np.zeros(0, dtype=np.int64)
    rates = rng.lognormal(math.log(0.15), 1.0, nhot)  # e-/s
    excess.ravel()[flat] = rates * exptime
    dq.ravel()[flat] |= DQ_HOT_PIXEL
    if n_bad_columns is None:
        n_bad_columns = 3 if nx >= 1024 else 1
    badcol = np.zeros(shape, dtype=bool)
    cols = rng.choice(np.arange(4, nx - 4), size=min(n_bad_columns, nx - 8), replace=False)
    for c in cols:
        y_start = int(rng.integers(0, ny // 2))
        badcol[y_start:, c] = True
    dq[badcol] |= DQ_BAD_PIXEL
    return excess, dq, badcol


def saturate_and_bleed(charge: np.ndarray, full_well: float) -> np.ndarray:
    """Clip charge at the full well and spill the excess along the columns.

    Charge is conserved as long as the bleed stays on the chip: the excess of
    each saturated run of a column is shared out to the pixels above and below
    (alternately) until each is full.

    Parameters
    ----------
    charge : ndarray
        Expected charge image (e-), modified in place.
    full_well : float

    Returns
    -------
    ndarray
        bool mask of pixels at the full well (to be flagged 256).
    """
    ny, _ = charge.shape
    over = charge > full_well
    if not over.any():
        return over
    for col in np.unique(np.nonzero(over)[1]):
        column = charge[:, col]
        sat = column > full_well
        # contiguous runs of saturated pixels
        edges = np.diff(np.concatenate([[0], sat.view(np.int8), [0]]))
        starts = np.nonzero(edges == 1)[0]
        ends = np.nonzero(edges == -1)[0]
        for s, e in zip(starts, ends, strict=True):
            excess = float((column[s:e] - full_well).sum())
            column[s:e] = full_well
            lo, hi = s - 1, e
            while excess > 0 and (lo >= 0 or hi < ny):
                for j in (hi, lo):
                    if 0 <= j < ny and excess > 0:
                        room = full_well - column[j]
                        take = min(room, excess) if room > 0 else 0.0
                        column[j] += take
                        excess -= take
                lo -= 1
                hi += 1
        charge[:, col] = column
    return charge >= full_well


def add_noise(charge: np.ndarray, readnoise: float, rng: np.random.Generator) -> np.ndarray:
    """Poisson noise on the charge plus Gaussian read noise.

    Parameters
    ----------
    charge : ndarray
        Expected charge (e-), >= 0.
    readnoise : float
        Read noise (e- rms).
    rng : numpy.random.Generator

    Returns
    -------
    ndarray
        float32 noisy image (electrons).
    """
    lam = charge if charge.min() >= 0 else np.clip(charge, 0.0, None)
    noisy = rng.poisson(lam).astype(np.float32)
    read = rng.standard_normal(charge.shape, dtype=np.float32)
    read *= np.float32(readnoise)
    noisy += read
    return noisy
