"""Velocity aberration correction of a linear WCS.

HST's orbital and Earth's motion scale the apparent sky by ``VAFACTOR``
(a number within about 1e-4 of 1, computed by the pipeline for each
exposure).  The correction scales the CD matrix, and the offset of each
chip's reference point from the reference chip's, by that factor.
"""

from __future__ import annotations

import numpy as np

__all__ = ["diff_angles", "apply_velocity_aberration"]


def diff_angles(a, b):
    """Difference ``a - b`` of angles in degrees, wrapped to [-180, 180).

    Parameters
    ----------
    a, b : float or array_like
        Angles (degrees).

    Returns
    -------
    float or ndarray
        The wrapped difference.
    """
    return (np.asarray(a, dtype=np.float64) - b - 180.0) % 360.0 - 180.0


def apply_velocity_aberration(cd: np.ndarray, crval: np.ndarray, ref_crval: np.ndarray,
                              vafactor: float) -> tuple[np.ndarray, np.ndarray]:
    """Apply the velocity aberration factor to a chip's CD matrix and CRVAL.

    Parameters
    ----------
    cd : ndarray
        2x2 CD matrix (degrees/pixel).
    crval : ndarray
        The chip's CRVAL (degrees).
    ref_crval : ndarray
        CRVAL of the reference chip (the centre of the scaling).
    vafactor : float
        ``VAFACTOR``; 1 leaves the WCS unchanged.

    Returns
    -------
    (cd, crval) : tuple of ndarray
        ``cd * vafactor`` and ``ref_crval + vafactor * (crval - ref_crval)``
        (per axis, with RA wrapping).
    """
    cd = np.asarray(cd, dtype=np.float64)
    crval = np.asarray(crval, dtype=np.float64)
    if vafactor == 1:
        return cd.copy(), crval.copy()
    ref = np.asarray(ref_crval, dtype=np.float64)
    new_crval = ref + vafactor * diff_angles(crval, ref)
    return cd * vafactor, new_crval
