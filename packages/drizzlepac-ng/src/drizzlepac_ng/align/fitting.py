"""Linear fits between matched catalogs with iterative sigma clipping (``fitgeometry``).

Models (positions in the reference tangent plane, pixels,
``ref = M @ inp + t``):

``shift``
    ``M`` = identity.
``rscale``
    ``M`` = scale x rotation (4 parameters).
``general``
    Full affine: independent scales, rotation and skew (6 parameters).

After each fit, pairs whose residual exceeds ``sigma`` times the RMS
residual (radial) are rejected and the fit repeated, ``nclip`` times.  In a
weighted fit (position errors given) the residuals are in units of the errors
and the RMS is estimated robustly, as ``median / sqrt(ln 2)`` (exact for a
circular 2-D Gaussian), so that false matches (cosmic rays, noise peaks) do
not widen the clipping limit until they are themselves accepted.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError

__all__ = ["FitResult", "fit_linear", "decompose", "FIT_GEOMETRIES"]

log = logging.getLogger(__name__)

FIT_GEOMETRIES = ("shift", "rscale", "general")

#: RMS / median of the radial distance of a circular 2-D Gaussian: sqrt(2) / sqrt(2 ln 2).
RAYLEIGH_MEDIAN_TO_RMS = 1.0 / math.sqrt(math.log(2.0))


@dataclass
class FitResult:
    """Outcome of a fit; ``ok`` False carries the ``reason``.

    Attributes
    ----------
    ok : bool
        The fit is usable.
    reason : str
        Why it is not (empty when ok).
    matrix, offset : numpy.ndarray
        ``ref = matrix @ inp + offset`` (pixels of the reference plane).
    fitgeometry : str
    nmatch : int
        Pairs kept after clipping.
    used : numpy.ndarray of bool
        Pairs kept, over the input pairs.
    residuals : numpy.ndarray, shape (n, 2)
        ``ref - fit(inp)`` for every input pair.
    rms : numpy.ndarray
        RMS residual along x and y (kept pairs, pixels).
    shift, rotation, scale, skew
        Shift at the reference point (pixels), rotation (deg), scale, skew (deg).
    scale_xy : tuple of float
        Scales along x and y.
    positions : numpy.ndarray, shape (n, 2)
        The input positions of the pairs (for residual plots).
    """

    ok: bool
    reason: str = ""
    matrix: np.ndarray = field(default_factory=lambda: np.eye(2))
    offset: np.ndarray = field(default_factory=lambda: np.zeros(2))
    fitgeometry: str = "rscale"
    nmatch: int = 0
    used: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    residuals: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    rms: np.ndarray = field(default_factory=lambda: np.zeros(2))
    shift: np.ndarray = field(default_factory=lambda: np.zeros(2))
    rotation: float = 0.0
    scale: float = 1.0
    scale_xy: tuple[float, float] = (1.0, 1.0)
    skew: float = 0.0
    positions: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))

    @property
    def rms_total(self) -> float:
        """Radial RMS (pixels)."""
        return float(np.hypot(*self.rms))


def decompose(matrix: np.ndarray) -> tuple[float, float, tuple[float, float], float]:
    """Rotation (deg), mean scale, (x, y) scales and skew (deg) of a 2x2 matrix.

    Parameters
    ----------
    matrix : numpy.ndarray

    Returns
    -------
    rotation, scale, (sx, sy), skew
    """
    m = np.asarray(matrix, dtype=np.float64)
    sx = math.hypot(m[0, 0], m[1, 0])
    sy = math.hypot(m[0, 1], m[1, 1])
    rx = math.degrees(math.atan2(m[1, 0], m[0, 0]))
    ry = math.degrees(math.atan2(-m[0, 1], m[1, 1]))
    skew = (ry - rx + 180.0) % 360.0 - 180.0
    rot = rx + skew / 2.0
    return rot, math.sqrt(sx * sy), (sx, sy), skew


def _solve(inp: np.ndarray, ref: np.ndarray, geometry: str, w: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray]:
    w = w / w.sum()
    ci, cr = (inp * w[:, None]).sum(axis=0), (ref * w[:, None]).sum(axis=0)
    a, b = inp - ci, ref - cr
    if geometry == "shift":
        m = np.eye(2)
    elif geometry == "rscale":
        den = (w[:, None] * a ** 2).sum()
        p = (w * (a[:, 0] * b[:, 0] + a[:, 1] * b[:, 1])).sum() / den
        q = (w * (a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0])).sum() / den
        m = np.array([[p, -q], [q, p]])
    else:
        sq = np.sqrt(w)[:, None]
        sol, *_ = np.linalg.lstsq(a * sq, b * sq, rcond=None)
        m = sol.T
    t = cr - m @ ci
    return m, t


def fit_linear(inp: np.ndarray, ref: np.ndarray, *, fitgeometry: str = "rscale", nclip: int = 3,
               sigma: float = 3.0, minobj: int = 15, ref_point=(0.0, 0.0),
               errors: np.ndarray | None = None) -> FitResult:
    """Fit ``ref = M @ inp + t`` with iterative sigma clipping.

    Parameters
    ----------
    inp, ref : numpy.ndarray, shape (n, 2)
        Matched positions (pixels of the reference plane).
    fitgeometry : {"shift", "rscale", "general"}
    nclip : int
        Clipping iterations.
    sigma : float
        Clipping limit in RMS units.
    minobj : int
        Fewer pairs (before or after clipping) refuse the fit.
    ref_point : (float, float)
        Point where the reported shift is evaluated (e.g. the reference CRPIX, 0-based).
    errors : numpy.ndarray, optional
        Expected position error of each pair (pixels).  When given (all finite
        and > 0) the fit is weighted by ``1/errors**2`` and clipping uses the
        residuals in units of ``errors`` and a robust (median-based) RMS;
        otherwise all pairs weigh the same and the plain RMS is used.

    Returns
    -------
    FitResult
        ``ok`` False with a reason when too few pairs remain or the fit is degenerate.

    Raises
    ------
    ConfigError
        On an unknown ``fitgeometry``.
    """
    geometry = str(fitgeometry).strip().lower()
    if geometry not in FIT_GEOMETRIES:
        raise ConfigError(f"fitgeometry must be one of {FIT_GEOMETRIES}, not {fitgeometry!r}")
    inp = np.asarray(inp, dtype=np.float64).reshape(-1, 2)
    ref = np.asarray(ref, dtype=np.float64).reshape(-1, 2)
    n = len(inp)
    need = max(int(minobj), {"shift": 1, "rscale": 2, "general": 3}[geometry])
    if n < need:
        return FitResult(False, f"too few matches: {n} < minobj={need}", fitgeometry=geometry,
                         nmatch=n, used=np.ones(n, dtype=bool), residuals=np.zeros((n, 2)))
    used = np.ones(n, dtype=bool)
    m, t = np.eye(2), np.zeros(2)
    if errors is not None:
        errors = np.asarray(errors, dtype=np.float64).reshape(-1)
        if errors.shape != (n,) or not np.all(np.isfinite(errors) & (errors > 0)):
            errors = None
    scale_r = np.ones(n) if errors is None else errors
    wts = 1.0 / scale_r ** 2
    for it in range(int(nclip) + 1):
        try:
            m, t = _solve(inp[used], ref[used], geometry, wts[used])
        except np.linalg.LinAlgError:
            return FitResult(False, "degenerate source geometry: the fit is singular",
                             fitgeometry=geometry, nmatch=int(used.sum()), used=used)
        res = ref - (inp @ m.T + t)
        r = np.hypot(res[:, 0], res[:, 1]) / scale_r
        if errors is None:
            rms = float(np.sqrt(np.mean(r[used] ** 2)))
        else:
            # robust RMS: the median radial residual scaled to the RMS of a 2-D Gaussian
            # (false matches and cosmic rays would otherwise inflate the limit)
            rms = RAYLEIGH_MEDIAN_TO_RMS * float(np.median(r[used]))
        if it == int(nclip) or rms == 0:
            break
        new = r <= sigma * rms
        if new.sum() < need:
            break
        if np.array_equal(new, used):
            break
        used = new
    if not (np.all(np.isfinite(m)) and np.all(np.isfinite(t))) or abs(np.linalg.det(m)) < 1e-8:
        return FitResult(False, "the fit is singular or not finite", fitgeometry=geometry,
                         nmatch=int(used.sum()), used=used)
    res = ref - (inp @ m.T + t)
    rmsxy = np.sqrt(np.mean(res[used] ** 2, axis=0))
    rot, scale, sxy, skew = decompose(m)
    p = np.asarray(ref_point, dtype=np.float64)
    out = FitResult(True, "", m, t, geometry, int(used.sum()), used, res, rmsxy,
                    m @ p + t - p, rot, scale, sxy, skew, inp.copy())
    if out.nmatch < need:
        out.ok = False
        out.reason = f"too few matches after clipping: {out.nmatch} < minobj={need}"
    return out
