"""WCS utilities: HSTWCS, alternate WCSs and the WCSCORR table.

The names re-exported here are those ``stwcs.wcsutil`` re-exports.
``Headerlet`` and ``HeaderletHDU`` are reached lazily: importing
:mod:`stwcs_ng.wcsutil.headerlet` registers the ``HDRLET`` extension type
with astropy, which should happen only in programs that use headerlets.
"""

import importlib
from typing import Any

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

_LAZY = {"Headerlet": "headerlet", "HeaderletHDU": "headerlet"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
