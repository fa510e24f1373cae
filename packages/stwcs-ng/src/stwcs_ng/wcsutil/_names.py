"""Names derived from reference-file keywords (IDCTAB, NPOLFILE, D2IMFILE).

These follow the conventions of the original STWCS (ORIGINALS section 5,
"Naming rules") and are shared by HSTWCS, the WCSCORR table and headerlets.
"""

from __future__ import annotations

import os
from typing import Any

from astropy.io import fits

__all__ = [
    "extract_rootname",
    "build_default_wcsname",
    "build_sipname",
    "build_npolname",
    "build_d2imname",
    "build_distname",
]

_BLANKS = {"", "N/A", "NONE", "INDEF"}


def extract_rootname(kwvalue: Any, suffix: str = "") -> str:
    """Root name of a reference-file keyword value.

    Parameters
    ----------
    kwvalue : str or None
        e.g. ``"jref$qbu1641sj_idc.fits"``.
    suffix : str, optional
        Removed from the end of the root (e.g. ``"_idc"``).

    Returns
    -------
    str
        ``"NONE"`` for blank, ``N/A``, ``NONE`` or ``INDEF`` values; otherwise
        the file name without ``xref$`` prefix, directory, extension and
        ``suffix``.
    """
    if kwvalue is None:
        return "NONE"
    text = str(kwvalue).strip()
    if text.upper() in _BLANKS:
        return "NONE"
    if "$" in text:
        text = text.split("$", 1)[1]
    text = os.path.basename(text)
    text = text.split(".", 1)[0]
    if suffix and text.endswith(suffix):
        text = text[: -len(suffix)]
    return text or "NONE"


def build_default_wcsname(idctab: Any) -> str:
    """Default WCSNAME for a distortion solution: ``'IDC_' + rootname(idctab)``.

    Parameters
    ----------
    idctab : str or None
        IDCTAB keyword value.

    Returns
    -------
    str
        ``IDC_<root>``, or ``DEFAULT`` when there is no IDCTAB.
    """
    root = extract_rootname(idctab, suffix="_idc")
    return "DEFAULT" if root == "NONE" else f"IDC_{root}"


def build_sipname(primary: fits.Header, sci: fits.Header | None = None) -> str:
    """SIPNAME of an exposure: ``<ROOTNAME>_<idcroot>``, ``UNKNOWN`` or ``NOMODEL``.

    Parameters
    ----------
    primary : astropy.io.fits.Header
        Primary header (SIPNAME, ROOTNAME, IDCTAB).
    sci : astropy.io.fits.Header, optional
        A SCI header (looked at for SIP coefficients).

    Returns
    -------
    str
    """
    existing = str(primary.get("SIPNAME", "")).strip()
    idcroot = extract_rootname(primary.get("IDCTAB"), suffix="_idc")
    if existing and (idcroot == "NONE" or idcroot in existing):
        return existing
    if idcroot != "NONE":
        rootname = str(primary.get("ROOTNAME", "")).strip() or "UNKNOWN"
        return f"{rootname}_{idcroot}"
    has_sip = sci is not None and "A_ORDER" in sci
    return "UNKNOWN" if has_sip else "NOMODEL"


def build_npolname(primary: fits.Header) -> str:
    """NPOL name: NPOLFILE rootname without ``_npl``, or ``NOMODEL``.

    Parameters
    ----------
    primary : astropy.io.fits.Header
        Primary header of the exposure.

    Returns
    -------
    str
    """
    root = extract_rootname(primary.get("NPOLFILE"), suffix="_npl")
    return "NOMODEL" if root == "NONE" else root


def build_d2imname(primary: fits.Header) -> str:
    """D2IM name: D2IMFILE rootname without ``_d2i``, or ``NOMODEL``.

    Parameters
    ----------
    primary : astropy.io.fits.Header
        Primary header of the exposure.

    Returns
    -------
    str
    """
    root = extract_rootname(primary.get("D2IMFILE"), suffix="_d2i")
    return "NOMODEL" if root == "NONE" else root


def build_distname(primary: fits.Header, sci: fits.Header | None = None) -> str:
    """DISTNAME: ``<sipname>-<npolname>-<d2imname>`` (original rule, NOMODEL kept).

    Parameters
    ----------
    primary : astropy.io.fits.Header
        Primary header of the exposure.
    sci : astropy.io.fits.Header, optional
        A SCI header (for the SIP check).

    Returns
    -------
    str
    """
    return "-".join([build_sipname(primary, sci), build_npolname(primary),
                     build_d2imname(primary)])
