"""Step 1: static mask (pixels far below the background in every exposure).

For each chip, an iteratively clipped histogram gives the background mode and
rms; pixels below ``mode - static_sig * rms`` are bad.  Chips that share a
key (the same detector chip and shape) are combined with a logical AND of
their good-pixel masks, so a pixel is bad if it is low in any exposure.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

import numpy as np

from ._stats import clipped_stats

__all__ = ["chip_static_mask", "combine_static_masks", "MAX_STAT_PIXELS"]

#: Statistics of larger chips use a regular sub-grid of about this many pixels.
MAX_STAT_PIXELS = 2_100_000


def chip_static_mask(data: np.ndarray, *, static_sig: float = 4.0,
                     good: np.ndarray | None = None) -> np.ndarray:
    """Good-pixel mask of one chip: False where the value is far below the mode.

    Parameters
    ----------
    data : ndarray, 2-D
        Science array (any units).
    static_sig : float, optional
        Threshold below the mode, in clipped standard deviations.
    good : ndarray of bool, optional
        Pixels usable for the statistics (all by default).

    Returns
    -------
    ndarray of bool
        True = good; non-finite values are bad.
    """
    stats = clipped_stats(data, good, nclip=3, lsig=3.0, usig=3.0, binwidth=0.01,
                          max_pixels=MAX_STAT_PIXELS, want=("mode", "stddev"))
    values = np.asarray(data)
    finite = np.isfinite(values)
    if stats.npix == 0:
        return finite
    limit = stats.mode - static_sig * stats.stddev
    with np.errstate(invalid="ignore"):
        return finite & ~(values < limit)


def combine_static_masks(chips: Iterable[tuple[Hashable, np.ndarray]], *,
                         static_sig: float = 4.0) -> dict[Hashable, np.ndarray]:
    """Static masks for many chips, AND-combined per key.

    Parameters
    ----------
    chips : iterable of (key, data)
        ``key`` identifies chips that share a mask, e.g. ``("WFC", 2, (2048, 4096))``.
    static_sig : float, optional
        See :func:`chip_static_mask`.

    Returns
    -------
    dict
        key -> boolean good-pixel mask.
    """
    masks: dict[Hashable, np.ndarray] = {}
    for key, data in chips:
        m = chip_static_mask(data, static_sig=static_sig)
        if key in masks:
            if masks[key].shape != m.shape:
                raise ValueError(f"static-mask key {key!r} used for shapes "
                                 f"{masks[key].shape} and {m.shape}")
            masks[key] = masks[key] & m
        else:
            masks[key] = m
    return masks
