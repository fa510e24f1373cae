"""Iteratively clipped image statistics with a histogram mode (imagestats-like)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

__all__ = ["ClippedStats", "clipped_stats"]


@dataclass(frozen=True)
class ClippedStats:
    """Statistics of the values left after clipping.

    Attributes
    ----------
    mean, median, mode, stddev : float
        NaN when no value is left.
    npix : int
        Number of values left.
    """

    mean: float
    median: float
    mode: float
    stddev: float
    npix: int

    def get(self, name: str) -> float:
        """Return the statistic called ``name`` (mean, median, mode, stddev)."""
        return float(getattr(self, name))


def _histogram_mode(values: np.ndarray, binwidth: float) -> float | None:
    """Peak of a histogram with bins of ``binwidth``, refined by a parabola through 3 bins.

    None when no histogram can be made (fewer than 3 values or bins, a
    bin width that is not positive, or more than 10 million bins).
    """
    if values.size < 3 or not binwidth > 0:
        return None
    lo, hi = float(values.min()), float(values.max())
    nbins = int((hi - lo) / binwidth) + 1
    if nbins < 3 or nbins > 10_000_000:
        return None
    counts = np.bincount(((values - lo) / binwidth).astype(np.int64), minlength=nbins)
    k = int(np.argmax(counts))  # first maximum: deterministic
    centre = lo + (k + 0.5) * binwidth
    if 0 < k < nbins - 1:
        c0, c1, c2 = (float(c) for c in counts[k - 1:k + 2])
        denom = c0 - 2.0 * c1 + c2
        if denom != 0:
            centre += 0.5 * binwidth * (c0 - c2) / denom
    return centre


def clipped_stats(data: np.ndarray, good: np.ndarray | None = None, *,
                  lower: float | None = None, upper: float | None = None,
                  nclip: int = 3, lsig: float = 3.0, usig: float = 3.0,
                  binwidth: float = 0.1, max_pixels: int | None = None,
                  want: Collection[str] | None = None) -> ClippedStats:
    """Mean, median, histogram mode and standard deviation after sigma clipping.

    Parameters
    ----------
    data : ndarray
        Values (any shape).
    good : ndarray of bool, optional
        Pixels that may be used.
    lower, upper : float, optional
        Hard limits of usable values (inclusive).
    nclip : int, optional
        Number of clipping iterations (stops early when nothing changes).
    lsig, usig : float, optional
        Lower/upper clipping limits in standard deviations about the mean.
    binwidth : float, optional
        Histogram bin width for the mode, in units of the standard deviation.
    max_pixels : int, optional
        Above this many pixels, a regular sub-grid (every k-th row and column,
        k the smallest that fits) is used: deterministic, and for a sky of
        millions of pixels the statistics change far below their noise.
    want : collection of str, optional
        Statistics needed among ``mean``, ``median``, ``mode``, ``stddev``
        (default all).  Mean and standard deviation are always computed; the
        median and the mode only when wanted (or, for the median, when the
        mode falls back to it), the others are NaN.  Computed values do not
        depend on ``want``.

    Returns
    -------
    ClippedStats
    """
    data = np.asarray(data)
    if max_pixels and data.ndim == 2 and data.size > max_pixels:
        k = int(np.ceil(np.sqrt(data.size / max_pixels)))
        data = data[::k, ::k]
        good = None if good is None else np.asarray(good)[::k, ::k]
    wanted = {"mean", "median", "mode", "stddev"} if want is None else set(want)
    unknown = wanted - {"mean", "median", "mode", "stddev"}
    if unknown:
        raise ValueError(f"unknown statistic(s) {sorted(unknown)}")
    values = np.asarray(data)
    if values.dtype.kind not in "fiub":
        values = values.astype(np.float64)
    sel = np.isfinite(values)
    if good is not None:
        sel &= np.asarray(good, dtype=bool)
    if lower is not None:
        sel &= values >= np.float64(lower)  # compared in float64
    if upper is not None:
        sel &= values <= np.float64(upper)
    # only the selected values are converted (the same float64 numbers)
    v = values[sel].astype(np.float64)
    for _ in range(max(0, int(nclip))):
        if v.size < 2:
            break
        mean, std = float(v.mean()), float(v.std())
        keep = (v >= mean - lsig * std) & (v <= mean + usig * std)
        if keep.all():
            break
        v = v[keep]
    if v.size == 0:
        nan = float("nan")
        return ClippedStats(nan, nan, nan, nan, 0)
    mean, std = float(v.mean()), float(v.std())
    nan = float("nan")
    med = float(np.median(v)) if "median" in wanted else None
    mode = nan
    if "mode" in wanted:
        mode = _histogram_mode(v, binwidth * std) if std > 0 else None
        if mode is None:  # no histogram: the mode is the median
            if med is None:
                med = float(np.median(v))
            mode = med
    return ClippedStats(mean, nan if med is None else med, mode, std, int(v.size))
