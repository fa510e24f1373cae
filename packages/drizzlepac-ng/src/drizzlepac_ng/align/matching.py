"""Catalog matching in a common tangent plane (like IRAF ``xyxymatch`` + tweakreg's 2-D histogram).

Memory is bounded: all searches use :class:`scipy.spatial.cKDTree`; the only
pair list built is that of pairs closer than ``searchrad`` (capped by using
the brightest sources first, see :func:`histogram_offset`), never an N x M
matrix.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

__all__ = ["HistogramOffset", "histogram_offset", "match_xy", "remove_close_pairs"]

log = logging.getLogger(__name__)

#: Largest number of candidate pairs examined by the 2-D histogram.
MAX_PAIRS = 4_000_000


@dataclass
class HistogramOffset:
    """Result of the 2-D histogram of pair offsets.

    Attributes
    ----------
    offset : numpy.ndarray
        (dx, dy) to add to the input positions (pixels).
    npairs : int
        Pairs within the search radius.
    peak : int
        Pairs in the peak bin (3x3 bins summed).
    hist, edges : numpy.ndarray
        The histogram and its bin edges (for plots).
    significant : bool
        The peak stands out from the background of random pairs.
    """

    offset: np.ndarray
    npairs: int
    peak: int
    hist: np.ndarray
    edges: np.ndarray
    significant: bool


def _pairs(ref: np.ndarray, inp: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    tin = cKDTree(inp)
    tref = cKDTree(ref)
    sdm = tin.sparse_distance_matrix(tref, radius, output_type="ndarray")
    return sdm["i"].astype(np.int64), sdm["j"].astype(np.int64)


def histogram_offset(ref_xy: np.ndarray, in_xy: np.ndarray, searchrad: float, *,
                     binsize: float = 0.5, max_pairs: int = MAX_PAIRS) -> HistogramOffset:
    """Most common offset ``ref - input`` among pairs closer than ``searchrad``.

    Catalogs are assumed sorted by decreasing brightness; when the expected
    number of pairs exceeds ``max_pairs`` only the first (brightest) sources
    are used, which bounds time and memory.

    Parameters
    ----------
    ref_xy, in_xy : numpy.ndarray, shape (n, 2)
        Positions in the same plane (pixels).
    searchrad : float
        Search radius (pixels).
    binsize : float, optional
        Histogram bin size (pixels).
    max_pairs : int, optional
        Bound on the number of pairs examined.

    Returns
    -------
    HistogramOffset
    """
    ref_xy = np.asarray(ref_xy, dtype=np.float64).reshape(-1, 2)
    in_xy = np.asarray(in_xy, dtype=np.float64).reshape(-1, 2)
    nb = max(3, int(np.ceil(2 * searchrad / binsize)))
    edges = np.linspace(-searchrad, searchrad, nb + 1)
    empty = HistogramOffset(np.zeros(2), 0, 0, np.zeros((nb, nb)), edges, False)
    if len(ref_xy) == 0 or len(in_xy) == 0 or searchrad <= 0:
        return empty
    # bound the pair count: density x area estimate
    lo = np.minimum(ref_xy.min(axis=0), in_xy.min(axis=0))
    hi = np.maximum(ref_xy.max(axis=0), in_xy.max(axis=0))
    area = max(float(np.prod(hi - lo + 1.0)), 1.0)
    expected = len(ref_xy) * len(in_xy) * np.pi * searchrad ** 2 / area
    nr, ni = len(ref_xy), len(in_xy)
    if expected > max_pairs:
        f = np.sqrt(max_pairs / expected)
        nr, ni = max(10, int(nr * f)), max(10, int(ni * f))
        log.info("2-D histogram uses the %d / %d brightest sources to bound memory", nr, ni)
    i, j = _pairs(ref_xy[:nr], in_xy[:ni], searchrad)
    if i.size == 0:
        return empty
    d = ref_xy[:nr][j] - in_xy[:ni][i]
    hist, _, _ = np.histogram2d(d[:, 0], d[:, 1], bins=[edges, edges])
    # sum 3x3 neighbourhoods to be robust to a peak split between bins
    pad = np.pad(hist, 1)
    sm = sum(pad[a:a + nb, b:b + nb] for a in range(3) for b in range(3))
    k = np.unravel_index(int(np.argmax(sm)), sm.shape)
    centre = np.array([(edges[k[0]] + edges[k[0] + 1]) / 2, (edges[k[1]] + edges[k[1] + 1]) / 2])
    near = np.all(np.abs(d - centre) <= 1.5 * binsize, axis=1)
    offset = d[near].mean(axis=0) if near.any() else centre
    # refine with the pairs within one bin of the first estimate
    near = np.hypot(*(d - offset).T) <= max(binsize, 0.5)
    if near.sum() >= 2:
        offset = np.median(d[near], axis=0)
    peak = int(sm[k])
    background = float(np.median(sm))
    significant = peak >= max(3.0, background + 5.0 * np.sqrt(max(background, 1.0)))
    log.debug("2-D histogram: %d pairs, peak %d (background %.1f) at offset %s", i.size, peak,
              background, offset)
    return HistogramOffset(offset, int(i.size), peak, hist, edges, bool(significant))


def remove_close_pairs(xy: np.ndarray, separation: float) -> np.ndarray:
    """Indices of sources with no other source closer than ``separation``.

    Parameters
    ----------
    xy : numpy.ndarray, shape (n, 2)
    separation : float
        Pixels; <= 0 keeps everything.

    Returns
    -------
    numpy.ndarray of int
    """
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    if separation <= 0 or len(xy) < 2:
        return np.arange(len(xy))
    pairs = cKDTree(xy).query_pairs(separation, output_type="ndarray")
    bad = np.zeros(len(xy), dtype=bool)
    if len(pairs):
        bad[pairs.ravel()] = True
    return np.nonzero(~bad)[0]


def match_xy(ref_xy: np.ndarray, in_xy: np.ndarray, tolerance: float, *,
             offset=(0.0, 0.0), separation: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one nearest-neighbour matches within ``tolerance`` after an offset.

    A pair is kept when each source is the other's nearest neighbour (both
    ways) and they are closer than ``tolerance``; sources with a neighbour in
    their own catalog closer than ``separation`` are not used.

    Parameters
    ----------
    ref_xy, in_xy : numpy.ndarray, shape (n, 2)
        Positions (pixels).
    tolerance : float
        Matching radius (pixels).
    offset : (float, float), optional
        Added to the input positions first.
    separation : float, optional
        Minimum separation in each catalog.

    Returns
    -------
    iref, iin : numpy.ndarray of int
        Indices of the matched pairs.
    """
    ref_xy = np.asarray(ref_xy, dtype=np.float64).reshape(-1, 2)
    in_xy = np.asarray(in_xy, dtype=np.float64).reshape(-1, 2)
    in_xy = in_xy + np.asarray(offset, dtype=np.float64)
    z = np.zeros(0, dtype=np.int64)
    if len(ref_xy) == 0 or len(in_xy) == 0:
        return z, z
    kr = remove_close_pairs(ref_xy, separation)
    ki = remove_close_pairs(in_xy, separation)
    if kr.size == 0 or ki.size == 0:
        return z, z
    tr, ti = cKDTree(ref_xy[kr]), cKDTree(in_xy[ki])
    d1, j1 = tr.query(in_xy[ki], distance_upper_bound=tolerance)
    d2, j2 = ti.query(ref_xy[kr], distance_upper_bound=tolerance)
    ok = np.isfinite(d1)
    ii = np.nonzero(ok)[0]
    jj = j1[ok]
    mutual = j2[jj] == ii
    return kr[jj[mutual]].astype(np.int64), ki[ii[mutual]].astype(np.int64)
