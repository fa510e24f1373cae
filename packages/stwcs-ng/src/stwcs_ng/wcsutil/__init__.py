"""WCS utilities: HSTWCS, alternate WCSs and the WCSCORR table.

The names re-exported here are those ``stwcs.wcsutil`` re-exports.
"""

from .altwcs import (
    ArchiveMode,
    archive_wcs,
    available_wcskeys,
    deleteWCS,
    next_wcskey,
    pc2cd,
    restoreWCS,
    wcs_from_key,
    wcskeys,
    wcsnames,
)
from .hstwcs import HSTWCS

__all__ = [
    "HSTWCS",
    "ArchiveMode",
    "archive_wcs",
    "available_wcskeys",
    "deleteWCS",
    "next_wcskey",
    "pc2cd",
    "restoreWCS",
    "wcs_from_key",
    "wcskeys",
    "wcsnames",
]
