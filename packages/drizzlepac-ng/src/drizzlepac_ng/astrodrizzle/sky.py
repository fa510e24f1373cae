"""Step 2: sky levels of the input chips.

Each chip's sky statistic comes from an iteratively clipped histogram of its
usable pixels.  Statistics are compared as *brightness*: the value divided by
a per-chip ``scale`` (typically exposure time times pixel area for data in
counts or electrons, pixel area for rates), so chips of different exposure
time or pixel size compare fairly.  The methods are those of the original:

``localmin``
    each exposure's sky is the minimum brightness over its chips;
``globalmin``
    every exposure gets the minimum brightness over all exposures;
``match``
    relative offsets between exposures from their overlaps (least squares,
    the first exposure is the reference, offset 0);
``globalmin+match``
    match offsets plus the global minimum of what is left.

All functions are pure: arrays in, numbers out.  Returned sky values are in
each chip's own data units (brightness times the chip's scale).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._stats import clipped_stats

__all__ = ["SkyChip", "chip_sky_statistic", "compute_sky", "match_offsets"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SkyChip:
    """One chip as the sky step sees it.

    Attributes
    ----------
    data : ndarray
        Science values (native units).
    good : ndarray of bool or None
        Usable pixels (DQ, static mask, user masks combined).
    scale : float
        Data units per unit brightness (e.g. exptime x pixel area).
    exposure : int
        Index of the exposure the chip belongs to.
    value : float or None
        Sky statistic already measured (data units); ``data`` is then unused.
    """

    data: np.ndarray | None
    good: np.ndarray | None
    scale: float
    exposure: int
    value: float | None = None


def chip_sky_statistic(data: np.ndarray, good: np.ndarray | None = None, *,
                       skystat: str = "median", skywidth: float = 0.1,
                       skylower: float | None = None, skyupper: float | None = None,
                       skyclip: int = 5, skylsigma: float = 4.0,
                       skyusigma: float = 4.0) -> float:
    """Clipped sky statistic of one chip (data units); NaN if no pixel is usable.

    Parameters
    ----------
    data : ndarray
        Science values.
    good : ndarray of bool, optional
        Usable pixels.
    skystat : {"median", "mode", "mean"}, optional
        Statistic of the clipped values.
    skywidth : float, optional
        Histogram bin width (in standard deviations) for the mode.
    skylower, skyupper : float, optional
        Limits of usable values.
    skyclip : int, optional
        Clipping iterations.
    skylsigma, skyusigma : float, optional
        Clipping limits in standard deviations.

    Returns
    -------
    float

    Notes
    -----
    Chips of more than 2.1 million pixels are measured on a regular sub-grid
    (every second row and column of an ACS/WFC chip).
    """
    stats = clipped_stats(data, good, lower=skylower, upper=skyupper, nclip=skyclip,
                          lsig=skylsigma, usig=skyusigma, binwidth=skywidth,
                          max_pixels=2_100_000, want=(skystat,))
    return stats.get(skystat)


def match_offsets(differences: dict[tuple[int, int], tuple[float, float]],
                  n_exposures: int) -> np.ndarray:
    """Least-squares sky offsets from pairwise differences in the overlaps.

    Parameters
    ----------
    differences : dict
        ``(i, j) -> (d, w)``: brightness of i minus j in their overlap and a
        weight (e.g. number of overlapping pixels).
    n_exposures : int
        Number of exposures.

    Returns
    -------
    ndarray of float64
        Offset of each exposure, exposure 0 fixed at 0.  Exposures that
        overlap nothing connected to exposure 0 get NaN.
    """
    offsets = np.full(n_exposures, np.nan)
    if n_exposures == 0:
        return offsets
    # connected component of exposure 0
    connected = {0}
    changed = True
    while changed:
        changed = False
        for (i, j), (_, w) in differences.items():
            if w > 0 and ((i in connected) ^ (j in connected)):
                connected |= {i, j}
                changed = True
    members = sorted(connected)
    index = {k: n for n, k in enumerate(members)}
    rows, rhs = [], []
    for (i, j), (d, w) in sorted(differences.items()):
        if w <= 0 or i not in index or j not in index or not np.isfinite(d):
            continue
        row = np.zeros(len(members))
        row[index[i]], row[index[j]] = 1.0, -1.0
        sw = np.sqrt(w)
        rows.append(row * sw)
        rhs.append(d * sw)
    anchor = np.zeros(len(members))
    anchor[0] = 1.0
    rows.append(anchor * 1e3)
    rhs.append(0.0)
    solution, *_ = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)
    offsets[members] = solution
    return offsets


def compute_sky(chips: Sequence[SkyChip], *, skymethod: str = "localmin",
                differences: dict[tuple[int, int], tuple[float, float]] | None = None,
                **stat_options) -> np.ndarray:
    """Sky value of every chip, in its own data units.

    Parameters
    ----------
    chips : sequence of SkyChip
        All chips of all exposures.
    skymethod : {"localmin", "globalmin", "match", "globalmin+match"}, optional
        See the module description.
    differences : dict, optional
        Pairwise exposure brightness differences for the ``*match`` methods
        (see :func:`match_offsets`).  Without them (or when some exposure is
        not connected) a ``match`` method falls back to ``globalmin``
        (``globalmin+match``) or ``localmin`` (``match``), as the original does.
    **stat_options
        Passed to :func:`chip_sky_statistic`.

    Returns
    -------
    ndarray of float64
        One value per chip, in ``chips`` order; chips without usable pixels get 0.
    """
    n_exp = (max(c.exposure for c in chips) + 1) if chips else 0
    bright = np.array([(c.value if c.value is not None
                        else chip_sky_statistic(c.data, c.good, **stat_options)) / c.scale
                       for c in chips], dtype=np.float64)
    exp_of = np.array([c.exposure for c in chips], dtype=np.int64)
    scales = np.array([c.scale for c in chips], dtype=np.float64)

    def per_exposure_min(values: np.ndarray) -> np.ndarray:
        out = np.full(n_exp, np.nan)
        for e in range(n_exp):
            v = values[(exp_of == e) & np.isfinite(values)]
            if v.size:
                out[e] = v.min()
        return out

    local = per_exposure_min(bright)
    method = skymethod
    offsets = None
    if method in ("match", "globalmin+match"):
        offsets = match_offsets(differences or {}, n_exp) if differences else None
        if offsets is None or not np.all(np.isfinite(offsets)):
            fallback = "globalmin" if method == "globalmin+match" else "localmin"
            log.warning("sky matching failed (images do not overlap enough); using %s",
                        fallback)
            method = fallback
    if method == "localmin":
        sky_exp = local
    elif method == "globalmin":
        finite = local[np.isfinite(local)]
        sky_exp = np.full(n_exp, finite.min() if finite.size else np.nan)
    else:
        assert offsets is not None
        # brightness left after removing each exposure's offset
        residual = local - offsets
        finite = residual[np.isfinite(residual)]
        base = finite.min() if finite.size else 0.0
        if method == "match":
            # the reference exposure keeps its own level; others follow the offsets
            base = 0.0
        sky_exp = offsets + base
    sky_exp = np.where(np.isfinite(sky_exp), sky_exp, 0.0)
    return sky_exp[exp_of] * scales
