"""Headerlets: WCS solutions packaged as small FITS files or HDRLET extensions.

A headerlet holds everything needed to reproduce the sky positions of an
exposure without its pixels: for every science chip the linear WCS, the SIP
polynomial, the NPOL and D2IM lookup-table keywords (one ``SIPWCS``
extension per chip) and the lookup tables themselves (``WCSDVARR`` and
``D2IMARR`` extensions), plus a primary header naming the solution
(``HDRNAME``, ``WCSNAME``), the exposure it belongs to (``DESTIM``) and the
distortion model it assumes (``DISTNAME``).  It can be kept as its own file
or attached to the science file as a ``HDRLET`` extension, then applied as
the primary WCS (or as an alternate) to switch solutions.

The file layout and the HDRLET extension are those of STScI's STWCS
(:mod:`stwcs.wcsutil.headerlet`), so files move freely between the two; the
user functions keep the original names and parameters.  Deliberate
differences are listed in the user guide (``docs/user_guide/headerlets.rst``).

**Registration of the HDRLET HDU class.**  Importing this module registers
:class:`HeaderletHDU` with astropy (``fits.register_hdu``), so that
``fits.open`` returns HDRLET extensions as that class: it keeps its bytes
when copied (astropy's generic non-standard HDU drops them, so
:func:`stwcs_ng.fileio.read_fits` and ``atomic_update`` would lose or reject
headerlets) and gives the embedded headerlet.  This is done here and not on
``import stwcs_ng`` because registration changes how astropy reads files for
the whole process: importing the package for, say, HSTWCS or updatewcs
should not alter what unrelated code gets from ``fits.open``, and a process
that also imports the original ``stwcs`` (which registers its own class for
the same XTENSION; the class defined last wins) should only be affected when
it asked for headerlet support.  The functions here do not rely on the
registration either: they read HDRLET extensions of any class through their
raw bytes.

Every file update goes through :func:`stwcs_ng.wcsutil._ext.update_input`
(whole file in memory, then :func:`stwcs_ng.fileio.atomic_write`): on any
error the file is left byte-identical.
"""

from __future__ import annotations

import datetime
import logging as _logging
import math
import os
import re
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import astropy
import numpy as np
from astropy.io import fits
from astropy.table import Table

from .. import __version__
from ..errors import (
    FileUpdateError,
    HeaderError,
    HeaderletError,
    MissingExtensionError,
    StwcsError,
    WCSKeyError,
)
from ..fileio import atomic_write, open_fits
from . import altwcs, wcscorr
from ._ext import extension_indices, open_input, update_input
from ._hdrlet_hdu import (
    HeaderletHDU,
    _open_embedded,
    build_hdrlet_hdu,
    fit_comment,
    hdrlet_bytes,
    is_hdrlet_hdu,
)
from ._names import build_d2imname, build_npolname, build_sipname

fits.register_hdu(HeaderletHDU)

log = _logging.getLogger(__name__)

__all__ = [
    "Headerlet",
    "HeaderletHDU",
    "create_headerlet",
    "write_headerlet",
    "apply_headerlet_as_primary",
    "apply_headerlet_as_alternate",
    "attach_headerlet",
    "delete_headerlet",
    "extract_headerlet",
    "headerlet_summary",
    "restore_from_headerlet",
    "restore_all_with_distname",
    "archive_as_headerlet",
    "get_headerlet_kw_names",
    "find_headerlet_HDUs",
    "get_extname_extver_list",
    "get_header_kw_vals",
    "is_par_blank",
    "print_summary",
    "update_ref_files",
    "update_versions",
    "verify_hdrname_is_unique",
    "SUMMARY_COLUMNS",
]

#: Columns of :func:`headerlet_summary`, in the original order.
SUMMARY_COLUMNS = ("EXTN", "HDRNAME", "WCSNAME", "DISTNAME", "AUTHOR", "DATE", "SIPNAME",
                   "NPOLFILE", "D2IMFILE", "DESCRIP")

_PRIMARY_COMMENTS = {
    "DESTIM": "Destination observation root name",
    "HDRNAME": "Headerlet name",
    "DATE": "Date FITS file was generated",
    "WCSNAME": "WCS name",
    "DISTNAME": "Distortion model name",
    "SIPNAME": "origin of SIP polynomial distortion model",
    "NPOLFILE": "origin of non-polynomial distortion model",
    "D2IMFILE": "origin of detector to image correction",
    "IDCTAB": "origin of Polynomial Distortion",
    "AUTHOR": "headerlet created by this user",
    "DESCRIP": "Short description of headerlet solution",
    "RMS_RA": "RMS in RA at ref pix of headerlet solution",
    "RMS_DEC": "RMS in Dec at ref pix of headerlet solution",
    "NMATCH": "Number of sources used for headerlet solution",
    "CATALOG": "Astrometric catalog used for headerlet solution",
    "UPWCSVER": "Version of STWCS used to update the WCS",
    "PYWCSVER": "Version of PYWCS used to update the WCS",
}

_SIP_RE = re.compile(r"^(?:A|B|AP|BP)_(?:ORDER|DMAX|\d+_\d+)$")
_DIST_KW_RE = re.compile(r"^(?:CPDIS\d|D2IMDIS\d|CPERR\d|D2IMERR\d|NPOLEXT|D2IMEXT)$")
_RECORD_RE = re.compile(r"^(?:DP|D2IM)\d$")
_IDC_KW = ("OCX10", "OCX11", "OCY10", "OCY11", "IDCSCALE", "IDCTHETA", "IDCXREF", "IDCYREF",
           "IDCV2REF", "IDCV3REF")
_LOOKUP_EXTNAMES = ("WCSDVARR", "D2IMARR")
_REF_FILE_KW = ("IDCTAB", "NPOLFILE", "D2IMFILE", "SIPNAME", "DISTNAME")


# ----------------------------------------------------------------------------
# small helpers


def is_par_blank(par: Any) -> bool:
    """True for None, empty/blank strings and ``'INDEF'``/``'NONE'``/``'N/A'``.

    Parameters
    ----------
    par : any

    Returns
    -------
    bool
    """
    if par is None:
        return True
    if isinstance(par, str):
        return par.strip().upper() in ("", "INDEF", "NONE", "N/A")
    return False


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _norm_key(wcskey: Any) -> str:
    text = _text(wcskey).upper()
    if text in ("", "PRIMARY"):
        return " "
    if len(text) != 1 or not text.isalpha():
        raise WCSKeyError(f"invalid WCS key {wcskey!r}; expected ' ', 'PRIMARY' or A-Z")
    return text


def _kw(base: str, key: str) -> str:
    key = key.strip()
    return base if not key else base[:7] + key


def _dest_rootname(hdul: fits.HDUList, filename: str | None) -> str:
    root = _text(hdul[0].header.get("ROOTNAME"))
    if root:
        return root
    if filename:
        return Path(filename).name.split(".", 1)[0]
    return ""


def _sci_indices(hdul: fits.HDUList, sciext: str = "SCI", filename: str | None = None) -> list[int]:
    idx = [i for i in extension_indices(hdul, None, extname=sciext, filename=filename)]
    return idx


def _sci_target(hdul: fits.HDUList, i: int) -> tuple[str, int]:
    header = hdul[i].header
    name = _text(header.get("EXTNAME")) or ("PRIMARY" if i == 0 else "")
    return name.upper(), int(header.get("EXTVER", 1))


def get_extname_extver_list(fobj: Any, sciext: str = "SCI") -> list[tuple[str, int]]:
    """``(EXTNAME, EXTVER)`` of every science extension of a file.

    Parameters
    ----------
    fobj : str or HDUList
    sciext : str, optional

    Returns
    -------
    list of tuple
    """
    with open_input(fobj) as (hdul, name, _):
        return [_sci_target(hdul, i) for i in _sci_indices(hdul, sciext, name)]


def get_header_kw_vals(hdr: fits.Header, kwname: str, kwval: Any, default: Any = 0) -> Any:
    """``kwval`` if given (not blank), else ``hdr[kwname]``, else ``default``.

    Parameters
    ----------
    hdr : astropy.io.fits.Header
    kwname : str
    kwval : any
    default : any, optional

    Returns
    -------
    any
    """
    if not is_par_blank(kwval):
        return kwval
    return hdr.get(kwname, default)


def _hdrlet_indices(hdul: fits.HDUList) -> list[int]:
    return [i for i, hdu in enumerate(hdul) if is_hdrlet_hdu(hdu)]


def _hdrlet_kw(hdul: fits.HDUList, i: int, kw: str, filename: str | None = None) -> Any:
    """A keyword of HDRLET ``i``: from its extension header, else its embedded primary."""
    header = hdul[i].header
    if kw in header:
        return header[kw]
    try:
        return _headerlet_from_hdu(hdul[i], filename, i)[0].header.get(kw)
    except HeaderletError:
        return None


def get_headerlet_kw_names(fobj: Any, kw: str = "HDRNAME") -> list[Any]:
    """Values of keyword ``kw`` over every HDRLET extension of a file.

    Parameters
    ----------
    fobj : str or HDUList
        The science file.
    kw : str, optional
        Read from the HDRLET extension header, or from the embedded primary
        header when the extension header lacks it (e.g. ``AUTHOR``).

    Returns
    -------
    list
        One value per HDRLET extension, in file order (None when absent).
    """
    with open_input(fobj) as (hdul, name, _):
        return [_hdrlet_kw(hdul, i, kw.upper(), name) for i in _hdrlet_indices(hdul)]


def _ext_selector(hdul: fits.HDUList, hdrext: Any, filename: str | None) -> int:
    """HDU index selected by ``hdrext`` (index, ``('HDRLET', n)``, ``'hdrlet,n'``)."""
    from ._ext import ext_index

    if isinstance(hdrext, str) and hdrext.strip().isdigit():
        hdrext = int(hdrext)
    try:
        return ext_index(hdul, hdrext, filename=filename)
    except MissingExtensionError as exc:
        raise HeaderletError(f"no extension {hdrext!r}", filename=filename) from exc


def find_headerlet_HDUs(fobj: Any, hdrext: Any = None, hdrname: str | None = None,
                        distname: str | None = None, strict: bool = True,
                        logging: bool = False, logmode: str = "w") -> list[int]:
    """HDU indices of the HDRLET extensions matching every given selector.

    Parameters
    ----------
    fobj : str or HDUList
        The science file.
    hdrext : int, tuple or str, optional
        One extension: HDU index, ``("HDRLET", extver)`` or ``"hdrlet,2"``.
    hdrname : str, optional
        HDRNAME (case-insensitive).
    distname : str, optional
        DISTNAME (case-insensitive).
    strict : bool, optional
        With no selector: True raises, False returns every HDRLET.
    logging, logmode : optional
        Accepted for compatibility; stwcs-ng logs through :mod:`logging`.

    Returns
    -------
    list of int
        Empty when nothing matches (the original raised instead).

    Raises
    ------
    HeaderletError
        If no selector is given and ``strict``, or ``hdrext`` names an
        extension that does not exist or is not a HDRLET.
    """
    with open_input(fobj) as (hdul, name, _):
        all_idx = _hdrlet_indices(hdul)
        if hdrext is None and is_par_blank(hdrname) and is_par_blank(distname):
            if strict:
                raise HeaderletError("give hdrext, hdrname or distname to select a headerlet",
                                     filename=name)
            return all_idx
        found = list(all_idx)
        if hdrext is not None:
            i = _ext_selector(hdul, hdrext, name)
            if i not in all_idx:
                raise HeaderletError(f"extension {hdrext!r} is not a HDRLET extension",
                                     filename=name)
            found = [i]
        for kw, value in (("HDRNAME", hdrname), ("DISTNAME", distname)):
            if is_par_blank(value):
                continue
            wanted = str(value).strip().upper()
            found = [i for i in found if _text(_hdrlet_kw(hdul, i, kw, name)).upper() == wanted]
        return found


def verify_hdrname_is_unique(fobj: Any, hdrname: str) -> bool:
    """True if no HDRLET extension of the file has this HDRNAME.

    Parameters
    ----------
    fobj : str or HDUList
    hdrname : str

    Returns
    -------
    bool
    """
    wanted = _text(hdrname).upper()
    return all(_text(v).upper() != wanted for v in get_headerlet_kw_names(fobj, "HDRNAME"))


def update_versions(sourcehdr: fits.Header, desthdr: fits.Header) -> None:
    """Copy ``UPWCSVER`` and ``PYWCSVER`` from one header to another, in place.

    Parameters
    ----------
    sourcehdr, desthdr : astropy.io.fits.Header
    """
    for kw in ("UPWCSVER", "PYWCSVER"):
        if kw in sourcehdr:
            desthdr[kw] = (sourcehdr[kw], _PRIMARY_COMMENTS[kw])


def update_ref_files(source: fits.Header, dest: fits.Header) -> dict[str, Any]:
    """Copy the distortion reference names (IDCTAB, NPOLFILE, D2IMFILE, SIPNAME, DISTNAME).

    Parameters
    ----------
    source : astropy.io.fits.Header
        Headerlet primary header.
    dest : astropy.io.fits.Header
        Science primary header, changed in place.

    Returns
    -------
    dict
        The keywords written and their previous values (None if absent).
    """
    previous = {}
    for kw in _REF_FILE_KW:
        if kw in source:
            previous[kw] = dest.get(kw)
            dest[kw] = (source[kw], fit_comment(source[kw], source.comments[kw]
                                                or _PRIMARY_COMMENTS.get(kw, "")))
    return previous


# ----------------------------------------------------------------------------
# building headerlets


def _is_distortion_card(card: fits.Card) -> bool:
    kw = card.keyword
    raw = card.rawkeyword
    return bool(_SIP_RE.match(kw) or _DIST_KW_RE.match(kw) or _RECORD_RE.match(raw)
                or kw in _IDC_KW)


def _lookup_extvers(header: fits.Header) -> dict[str, list[int]]:
    """EXTVERs of the WCSDVARR / D2IMARR tables a chip header refers to."""
    out: dict[str, list[int]] = {"WCSDVARR": [], "D2IMARR": []}
    for j in (1, 2):
        for prefix, extname, dis in (("DP", "WCSDVARR", "CPDIS"), ("D2IM", "D2IMARR", "D2IMDIS")):
            if _text(header.get(f"{dis}{j}")).upper() != "LOOKUP":
                continue
            key = f"{prefix}{j}.EXTVER"
            if key in header:
                try:
                    out[extname].append(int(header[key]))
                except (TypeError, ValueError):
                    raise HeaderletError(f"{key}={header[key]!r} is not an integer") from None
    return out


def _orientat(cd: np.ndarray) -> float:
    return math.degrees(math.atan2(cd[0, 1], cd[1, 1]))


def _sipwcs_header(sci: fits.Header, key: str, wcsname: str, target: tuple[str, int],
                   extver: int) -> fits.Header:
    """SIPWCS extension header for one chip (WCS ``key`` + the chip's distortion)."""
    hdr = fits.Header()
    linear = altwcs.linear_wcs_keywords(sci, key)
    has_sip = "A_ORDER" in sci or "B_ORDER" in sci
    for base, value, comment in linear:
        if base == "HDRNAME":
            continue
        if base == "WCSNAME":
            value = wcsname
        if base.startswith("CTYPE") and isinstance(value, str):
            ctype = value.strip()
            if ctype.upper().startswith(("RA-", "DEC-")) and len(ctype) >= 8:
                ctype = ctype.removesuffix("-SIP") + ("-SIP" if has_sip else "")
            value = ctype
        hdr.append((base, value, fit_comment(value, comment)), end=True)
    if "WCSNAME" not in hdr:
        hdr.insert(0, ("WCSNAME", wcsname, "Coordinate system title"))
    for card in sci.cards:
        if _is_distortion_card(card):
            hdr.append(fits.Card.fromstring(card.image), end=True)
    cd = altwcs.cd_matrix(sci, key)
    hdr["ORIENTAT"] = (_orientat(cd), "position angle of image y axis (deg. e of n)")
    hdr["TG_ENAME"] = (target[0], "Target science data extname")
    hdr["TG_EVER"] = (target[1], "Target science data extver")
    hdr["EXTNAME"] = ("SIPWCS", "extension name")
    hdr["EXTVER"] = (extver, "extension value")
    return hdr


def _lookup_hdu(hdu: fits.ImageHDU) -> fits.ImageHDU:
    """A copy of a WCSDVARR / D2IMARR extension (data as float32 array)."""
    header = hdu.header.copy()
    return fits.ImageHDU(data=np.array(hdu.data, copy=True), header=header)


def _history_cards(history: Any) -> list[str]:
    if is_par_blank(history):
        return []
    if isinstance(history, (list, tuple)):
        text = "\n".join(str(h) for h in history)
    else:
        text = str(history)
        path = Path(text)
        try:
            if len(text) < 4096 and path.is_file():
                text = path.read_text()
        except OSError:
            pass
    lines: list[str] = []
    for para in text.splitlines():
        lines.extend(textwrap.wrap(para, 70) or [""])
    return lines


def _default_key_and_name(hdul: fits.HDUList, sci0: fits.Header, wcskey: Any,
                          wcsname: Any, filename: str | None) -> tuple[str, str]:
    """Resolve the WCS key and name the way create_headerlet documents it."""
    key_given = wcskey is not None and _text(wcskey) != ""
    name_given = not is_par_blank(wcsname)
    if key_given:
        key = _norm_key(wcskey)
    elif name_given:
        key = altwcs.getKeyFromName(sci0, str(wcsname))
        if key is None:
            if wcskey is None:
                raise WCSKeyError(f"no WCS named {str(wcsname).strip()!r}", filename=filename)
            key = " "  # primary WCS, stored under the new name
    else:
        key = " "
    if key not in altwcs.wcskeys(sci0):
        raise WCSKeyError(f"no WCS with key {key!r}", filename=filename)
    stored = _text(sci0.get(_kw("WCSNAME", key)))
    if name_given:
        if key_given and stored and stored.upper() != str(wcsname).strip().upper():
            raise WCSKeyError(f"WCS key {key!r} is named {stored!r}, not {wcsname!r}",
                              filename=filename)
        return key, str(wcsname).strip()
    return key, stored


def _require_wcs_keywords(header: fits.Header, key: str, filename: str | None,
                          index: int) -> None:
    """Raise HeaderError naming the input and extension when its WCS lacks keywords.

    A headerlet needs ``CRPIXi``, ``CRVALi``, ``CTYPEi`` and a linear
    transformation (``CDi_j``, or ``CDELTi``/``PCi_j``) of the WCS it copies;
    checked on the input, so that the message names the input file and
    extension (not the headerlet being written).
    """
    k = key.strip()
    missing = [f"{base}{k}" for base in ("CRPIX1", "CRPIX2", "CRVAL1", "CRVAL2", "CTYPE1",
                                          "CTYPE2") if f"{base}{k}" not in header]
    linear = [f"CD{i}_{j}{k}" for i in (1, 2) for j in (1, 2)] + \
        [f"CDELT{i}{k}" for i in (1, 2)] + [f"PC{i}_{j}{k}" for i in (1, 2) for j in (1, 2)]
    if not any(kw in header for kw in linear):
        missing.append(f"CDi_j{k} (or CDELTi{k})")
    if missing:
        extname = _text(header.get("EXTNAME")) or "PRIMARY"
        extver = header.get("EXTVER", 1)
        what = "primary WCS" if not k else f"alternate WCS {k!r}"
        raise HeaderError(f"the {what} lacks {', '.join(missing)}; a headerlet cannot be made "
                          "from it", filename=filename,
                          extension=(extname, extver) if extname != "PRIMARY" else index)


def _build_headerlet(hdul: fits.HDUList, filename: str | None, *, sciext: str = "SCI",
                     hdrname: Any = None, destim: Any = None, wcskey: Any = " ",
                     wcsname: Any = None, sipname: Any = None, npolfile: Any = None,
                     d2imfile: Any = None, author: Any = None, descrip: Any = None,
                     history: Any = None, nmatch: Any = None, catalog: Any = None,
                     rms_ra: Any = None, rms_dec: Any = None) -> Headerlet:
    primary = hdul[0].header
    sci = _sci_indices(hdul, sciext, filename)
    sci0 = hdul[sci[0]].header
    key, wcsname = _default_key_and_name(hdul, sci0, wcskey, wcsname, filename)
    if is_par_blank(hdrname):
        hdrname = _text(sci0.get(_kw("HDRNAME", key))) or wcsname
    if is_par_blank(wcsname):
        wcsname = _text(hdrname)
    if is_par_blank(hdrname) or is_par_blank(wcsname):
        raise HeaderletError("the WCS has no WCSNAME; give hdrname or wcsname", filename=filename)
    hdrname, wcsname = str(hdrname).strip(), str(wcsname).strip()
    if is_par_blank(destim):
        destim = _dest_rootname(hdul, filename)
    if is_par_blank(sipname):
        sipname = build_sipname(primary, sci0)
    npolfile = npolfile if not is_par_blank(npolfile) else primary.get("NPOLFILE", "N/A")
    d2imfile = d2imfile if not is_par_blank(d2imfile) else primary.get("D2IMFILE", "N/A")
    names = fits.Header([("SIPNAME", sipname), ("NPOLFILE", npolfile),
                         ("D2IMFILE", d2imfile)])
    distname = "-".join([str(sipname).strip(), build_npolname(names), build_d2imname(names)])
    if _text(primary.get("DISTNAME")) and str(sipname).strip() == build_sipname(primary, sci0) \
            and npolfile == primary.get("NPOLFILE", "N/A") \
            and d2imfile == primary.get("D2IMFILE", "N/A"):
        distname = _text(primary["DISTNAME"])  # keep the recorded name of this model

    def sci_value(base: str, default: Any) -> Any:
        for kw in (_kw(base, key),):
            if kw in sci0:
                return sci0[kw]
        return default

    if is_par_blank(rms_ra):
        rms_ra = sci_value("RMS_RA", sci_value("CRDER1", 0.0))
    if is_par_blank(rms_dec):
        rms_dec = sci_value("RMS_DEC", sci_value("CRDER2", 0.0))
    nmatch = sci_value("NMATCH", 0) if is_par_blank(nmatch) else nmatch
    catalog = sci_value("CATALOG", "") if is_par_blank(catalog) else catalog

    phdr = fits.Header()
    values = [
        ("DESTIM", str(destim).strip()), ("HDRNAME", hdrname), ("DATE", _now()),
        ("WCSNAME", wcsname), ("DISTNAME", distname), ("SIPNAME", str(sipname).strip()),
        ("NPOLFILE", npolfile), ("D2IMFILE", d2imfile),
        ("IDCTAB", primary.get("IDCTAB", "N/A")),
        ("AUTHOR", _text(author)), ("DESCRIP", _text(descrip)),
        ("RMS_RA", rms_ra), ("RMS_DEC", rms_dec), ("NMATCH", int(nmatch or 0)),
        ("CATALOG", _text(catalog)),
        ("UPWCSVER", primary.get("UPWCSVER", f"stwcs-ng {__version__}")),
        ("PYWCSVER", primary.get("PYWCSVER", astropy.__version__)),
    ]
    for kw, value in values:
        phdr[kw] = (value, fit_comment(value, _PRIMARY_COMMENTS[kw]))
    for line in _history_cards(history):
        phdr.add_history(line)
    hdus: list[fits.hdu.base._BaseHDU] = [fits.PrimaryHDU(header=phdr)]
    seen: set[tuple[str, int]] = set()
    lookup_index = {(_text(h.header.get("EXTNAME")).upper(), int(h.header.get("EXTVER", 1))): i
                    for i, h in enumerate(hdul) if _text(h.header.get("EXTNAME")).upper()
                    in _LOOKUP_EXTNAMES}
    for n, i in enumerate(sci, start=1):
        header = hdul[i].header
        if key not in altwcs.wcskeys(header):
            raise WCSKeyError(f"WCS key {key!r} is missing from extension {i}", filename=filename)
        _require_wcs_keywords(header, key, filename, i)
        hdus.append(fits.ImageHDU(header=_sipwcs_header(header, key, wcsname,
                                                        _sci_target(hdul, i), n)))
        for extname, vers in _lookup_extvers(header).items():
            for ver in vers:
                if (extname, ver) in seen:
                    continue
                j = lookup_index.get((extname, ver))
                if j is None:
                    raise MissingExtensionError(
                        f"{extname},{ver} (referenced by extension {i}) does not exist",
                        filename=filename)
                hdus.append(_lookup_hdu(hdul[j]))
                seen.add((extname, ver))
    return Headerlet(hdus)


# ----------------------------------------------------------------------------
# the Headerlet object


def _wcs_numbers(header: fits.Header) -> tuple[dict[str, float], dict[str, str]]:
    nums, texts = {}, {}
    cd = altwcs.cd_matrix(header, " ")
    for i in (1, 2):
        for base in (f"CRPIX{i}", f"CRVAL{i}"):
            nums[base] = float(header.get(base, 0.0))
        texts[f"CTYPE{i}"] = _text(header.get(f"CTYPE{i}")).upper().removesuffix("-SIP")
    for (i, j), v in np.ndenumerate(cd):
        nums[f"CD{i + 1}_{j + 1}"] = float(v)
    for card in header.cards:
        if _SIP_RE.match(card.keyword) and not card.keyword.endswith(("ORDER", "DMAX")):
            nums[card.keyword] = float(card.value)
    return nums, texts


class Headerlet(fits.HDUList):
    """A WCS solution as a FITS HDUList: primary header + SIPWCS + lookup-table extensions.

    Build one with :func:`create_headerlet` (from a science file),
    :meth:`fromfile` (from a headerlet file) or :meth:`fromhdu` (from a
    HDRLET extension).  Primary-header values are available as attributes
    (``hdrname``, ``wcsname``, ``destim``, ``distname``, ``sipname``,
    ``npolfile``, ``d2imfile``, ``idctab``, ``author``, ``descrip``,
    ``date``, ``upwcsver``, ``pywcsver``, ``rms_ra``, ``rms_dec``,
    ``nmatch``, ``catalog``).

    Parameters
    ----------
    hdus : list of HDU, optional
        The HDUs (primary first).
    file : optional
        Ignored (kept for the original signature).
    logging, logmode : optional
        Accepted for compatibility; stwcs-ng logs through :mod:`logging`.
    """

    _ATTRS = {"hdrname": "HDRNAME", "wcsname": "WCSNAME", "destim": "DESTIM",
              "distname": "DISTNAME", "sipname": "SIPNAME", "npolfile": "NPOLFILE",
              "d2imfile": "D2IMFILE", "idctab": "IDCTAB", "author": "AUTHOR",
              "descrip": "DESCRIP", "date": "DATE", "upwcsver": "UPWCSVER",
              "pywcsver": "PYWCSVER", "rms_ra": "RMS_RA", "rms_dec": "RMS_DEC",
              "nmatch": "NMATCH", "catalog": "CATALOG", "vafactor": "VAFACTOR"}

    def __init__(self, hdus: Sequence[Any] = (), file: Any = None, logging: bool = False,
                 logmode: str = "w") -> None:
        super().__init__(list(hdus))

    def __getattr__(self, name: str) -> Any:
        attrs = type(self)._ATTRS
        if name in attrs:
            if not len(self):
                return None
            value = self[0].header.get(attrs[name])
            return value.strip() if isinstance(value, str) else value
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")

    # -- construction ---------------------------------------------------------

    @classmethod
    def fromfile(cls, fileobj: Any, mode: str = "readonly", memmap: Any = None,
                 save_backup: bool = False, logging: bool = False, logmode: str = "w",
                 **kwargs: Any) -> Headerlet:
        """Read a headerlet file into memory and check it.

        Parameters
        ----------
        fileobj : str or path-like
            The headerlet file.
        mode, memmap, save_backup, logging, logmode, **kwargs
            Accepted for compatibility; the file is always read whole and
            closed.

        Returns
        -------
        Headerlet

        Raises
        ------
        InputFileError
            If the file cannot be read.
        HeaderletError
            If it is not a valid headerlet.
        """
        name = os.fspath(fileobj)
        with open_fits(name, memmap=False, lazy_load_hdus=False) as hdul:
            hl = cls([hdu.copy() for hdu in hdul])
        hl.hverify(filename=name)
        return hl

    @classmethod
    def fromhdu(cls, hdu: Any, *, filename: str | None = None,
                extension: Any = None) -> Headerlet:
        """The headerlet embedded in a HDRLET extension (of any HDU class).

        Parameters
        ----------
        hdu : astropy HDU
            The HDRLET extension.
        filename, extension : optional
            For error messages.

        Returns
        -------
        Headerlet

        Raises
        ------
        HeaderletError
            If the extension is not a HDRLET or its content is corrupt.
        """
        if not is_hdrlet_hdu(hdu):
            raise HeaderletError("extension is not a HDRLET extension", filename=filename,
                                 extension=extension)
        raw = hdrlet_bytes(hdu, filename=filename, extension=extension)
        with _open_embedded(raw, hdu.header, filename=filename, extension=extension) as emb:
            hl = cls([h.copy() for h in emb])
        hl.hverify(filename=filename, extension=extension)
        return hl

    # -- checks -----------------------------------------------------------------

    def sipwcs_indices(self) -> list[int]:
        """HDU indices of the SIPWCS extensions.

        Returns
        -------
        list of int
        """
        return [i for i, h in enumerate(self)
                if _text(h.header.get("EXTNAME")).upper() == "SIPWCS"]

    def targets(self) -> dict[tuple[str, int], int]:
        """Map ``(TG_ENAME, TG_EVER)`` to the SIPWCS HDU index.

        Returns
        -------
        dict
        """
        out = {}
        for i in self.sipwcs_indices():
            h = self[i].header
            out[(_text(h.get("TG_ENAME", "SCI")).upper() or "SCI",
                 int(h.get("TG_EVER", h.get("EXTVER", 1))))] = i
        return out

    def hverify(self, filename: str | None = None, extension: Any = None) -> bool:
        """Check that the headerlet is complete and self-consistent.

        Parameters
        ----------
        filename, extension : optional
            For error messages.

        Returns
        -------
        bool
            True.

        Raises
        ------
        HeaderletError
            If a required keyword or extension is missing.
        """
        def fail(msg: str) -> None:
            raise HeaderletError(f"not a valid headerlet: {msg}", filename=filename,
                                 extension=extension)

        if not len(self):
            fail("no HDU")
        primary = self[0].header
        for kw in ("HDRNAME", "WCSNAME", "DESTIM"):
            if not _text(primary.get(kw)):
                fail(f"primary keyword {kw} missing or blank")
        sip = self.sipwcs_indices()
        if not sip:
            fail("no SIPWCS extension")
        have = {(_text(h.header.get("EXTNAME")).upper(), int(h.header.get("EXTVER", 1)))
                for h in self}
        for i in sip:
            h = self[i].header
            for kw in ("CRPIX1", "CRPIX2", "CRVAL1", "CRVAL2", "CTYPE1", "CTYPE2"):
                if kw not in h:
                    fail(f"SIPWCS extension {i} lacks {kw}")
            try:
                refs = _lookup_extvers(h)
                altwcs.cd_matrix(h, " ")
            except StwcsError as exc:
                fail(f"SIPWCS extension {i}: {exc}")
            for extname, vers in refs.items():
                for ver in vers:
                    if (extname, ver) not in have:
                        fail(f"{extname},{ver} referenced by SIPWCS extension {i} is missing")
        return True

    def build_distname(self, dest: Any) -> str:
        """DISTNAME of a destination file (see :meth:`get_destination_model`).

        Parameters
        ----------
        dest : str or HDUList

        Returns
        -------
        str
        """
        return self.get_destination_model(dest)

    @staticmethod
    def get_destination_model(dest: Any) -> str:
        """Distortion model name of a science file: its DISTNAME, else built from its keywords.

        Parameters
        ----------
        dest : str or HDUList

        Returns
        -------
        str
        """
        with open_input(dest) as (hdul, name, _):
            return _dest_distname(hdul, name)

    def equal_distmodel(self, dmodel: str) -> bool:
        """True if the headerlet's DISTNAME equals ``dmodel`` (case-insensitive).

        Parameters
        ----------
        dmodel : str

        Returns
        -------
        bool
        """
        return _text(self.distname).upper() == _text(dmodel).upper()

    def verify_dest(self, dest: Any, fname: str | None = None) -> bool:
        """Check that this headerlet belongs to ``dest`` (DESTIM equals its ROOTNAME).

        Parameters
        ----------
        dest : str or HDUList
            The science file.
        fname : str, optional
            File name for messages (and for files without ROOTNAME).

        Returns
        -------
        bool
            True.

        Raises
        ------
        HeaderletError
            On a mismatch.
        """
        with open_input(dest) as (hdul, name, _):
            _check_dest(self, hdul, fname or name)
        return True

    def verify_hdrname(self, dest: Any) -> bool:
        """True if no HDRLET extension of ``dest`` already has this HDRNAME.

        Parameters
        ----------
        dest : str or HDUList

        Returns
        -------
        bool
        """
        return verify_hdrname_is_unique(dest, self.hdrname)

    # -- sky positions ------------------------------------------------------------

    def wcs(self, extver: int = 1, extname: str = "SCI"):
        """The full astropy WCS (linear + SIP + lookup tables) of one target chip.

        Parameters
        ----------
        extver : int, optional
            TG_EVER of the chip.
        extname : str, optional
            TG_ENAME of the chip.

        Returns
        -------
        astropy.wcs.WCS

        Raises
        ------
        HeaderletError
            If the headerlet has no SIPWCS for that chip.
        """
        import warnings

        from astropy.wcs import WCS, FITSFixedWarning

        i = self.targets().get((extname.upper(), int(extver)))
        if i is None:
            raise HeaderletError(f"headerlet {self.hdrname!r} has no SIPWCS for "
                                 f"{extname},{extver}")
        header = self[i].header.copy()
        for kw in ("CDELT1", "CDELT2"):
            if kw in header and "CD1_1" in header:
                del header[kw]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FITSFixedWarning)
            return WCS(header, fobj=self)

    # -- output ---------------------------------------------------------------------

    def tofile(self, fname: Any, destim: str | None = None, hdrname: str | None = None,
               clobber: bool = False) -> None:
        """Write the headerlet to a file (atomically).

        Parameters
        ----------
        fname : str or path-like
        destim, hdrname : str, optional
            Override DESTIM / HDRNAME before writing.
        clobber : bool, optional
            Replace an existing file.

        Raises
        ------
        FileUpdateError
            If the file exists and ``clobber`` is False, or cannot be written.
        """
        if not is_par_blank(destim):
            self[0].header["DESTIM"] = (str(destim).strip(), "Destination observation root name")
        if not is_par_blank(hdrname):
            name = str(hdrname).strip()
            self[0].header["HDRNAME"] = (name, fit_comment(name, _PRIMARY_COMMENTS["HDRNAME"]))
        self.hverify(filename=os.fspath(fname))
        atomic_write(fits.HDUList([h.copy() for h in self]), fname, overwrite=clobber)

    def to_hdu(self, compress: bool = False, extver: int | None = None) -> HeaderletHDU:
        """This headerlet as a HDRLET extension.

        Parameters
        ----------
        compress : bool, optional
        extver : int, optional

        Returns
        -------
        HeaderletHDU
        """
        return build_hdrlet_hdu(self, compress=compress, extver=extver)

    def summary(self, columns: Sequence[str] | None = None) -> dict[str, Any]:
        """Summary values of this headerlet (the :data:`SUMMARY_COLUMNS` but EXTN).

        Parameters
        ----------
        columns : list of str, optional

        Returns
        -------
        dict
        """
        cols = [c for c in (columns or SUMMARY_COLUMNS) if c.upper() != "EXTN"]
        return {c.upper(): _text(self[0].header.get(c.upper())) for c in cols}

    def info(self, columns: Sequence[str] | None = None, pad: int = 2,
             maxwidth: int | None = None, output: Any = None, clobber: bool = True,
             quiet: bool = False) -> Table:
        """Summary table of this headerlet; printed unless ``quiet``.

        Parameters
        ----------
        columns, pad, maxwidth, output, clobber, quiet
            As in :func:`headerlet_summary`.

        Returns
        -------
        astropy.table.Table
        """
        row = self.summary(columns)
        table = Table(rows=[list(row.values())], names=list(row.keys()),
                      dtype=[str] * len(row))
        print_summary(list(row.keys()), {k: [v] for k, v in row.items()}, pad=pad,
                      maxwidth=maxwidth, output=output, clobber=clobber, quiet=quiet)
        return table

    # -- applying ---------------------------------------------------------------------

    def apply_as_primary(self, fobj: Any, attach: bool = True, archive: bool = True,
                         force: bool = False) -> str | None:
        """Make this headerlet's WCS the primary WCS of a science file.

        Checks DESTIM against the file's ROOTNAME and DISTNAME against the
        file's distortion model (``force=True`` skips both).  With
        ``archive``, the current primary WCS is first attached as a headerlet
        (HDRNAME = its WCSNAME, or ``<ROOTNAME>_orig``) unless an identical
        one is attached already, and, when the distortion models are equal,
        also kept as an alternate WCS; when they differ, every alternate WCS
        (except ``O``) is attached as a headerlet and removed from the
        headers, since it belongs to the old distortion.  Then the linear
        WCS, SIP, NPOL/D2IM keywords and WCSDVARR/D2IMARR extensions are
        replaced, ``HDRNAME`` is written to each chip, the reference-file
        names and DISTNAME to the primary header, the WCSCORR table and
        NEXTEND are updated, and (``attach``) the headerlet itself is
        attached if no HDRLET has its HDRNAME.

        Parameters
        ----------
        fobj : str or HDUList
            File name (updated atomically) or open HDUList (modified in
            memory; the caller writes it).
        attach : bool, optional
        archive : bool, optional
        force : bool, optional

        Returns
        -------
        str or None
            HDRNAME of the attached headerlet holding the previous primary
            WCS (new or already present); None without ``archive``.

        Raises
        ------
        HeaderletError
            DESTIM or distortion mismatch, or an invalid headerlet.
        MissingExtensionError
            The file lacks a chip the headerlet targets, or vice versa.
        InputFileError, FileUpdateError
        """
        with update_input(fobj) as (hdul, name, _):
            return _apply_primary(self, hdul, name, attach=attach, archive=archive,
                                  check_dest=not force, check_dist=not force)

    def apply_as_alternate(self, fobj: Any, attach: bool = True, wcskey: str | None = None,
                           wcsname: str | None = None) -> str:
        """Write this headerlet's linear WCS as an alternate WCS of a science file.

        Parameters
        ----------
        fobj : str or HDUList
            File name (updated atomically) or open HDUList.
        attach : bool, optional
            Also attach the headerlet (if its HDRNAME is not attached yet).
        wcskey : str, optional
            ``A``-``Z``; None takes the next free key.
        wcsname : str, optional
            Default: the headerlet's WCSNAME.

        Returns
        -------
        str
            The key used.

        Raises
        ------
        HeaderletError
            DESTIM mismatch.
        WCSKeyError
            The key or name is already used, or no key is free.
        """
        with update_input(fobj) as (hdul, name, _):
            return _apply_alternate(self, hdul, name, attach=attach, wcskey=wcskey,
                                    wcsname=wcsname)

    def attach_to_file(self, fobj: Any, archive: bool = False) -> int:
        """Attach this headerlet to a science file as a new HDRLET extension.

        Parameters
        ----------
        fobj : str or HDUList
            File name (updated atomically) or open HDUList.
        archive : bool, optional
            First archive the current primary WCS as a headerlet too.

        Returns
        -------
        int
            EXTVER of the new HDRLET extension.

        Raises
        ------
        HeaderletError
            DESTIM mismatch or HDRNAME already attached.
        """
        with update_input(fobj) as (hdul, name, _):
            _check_dest(self, hdul, name)
            if archive:
                _archive_primary(hdul, name)
            return _attach(self, hdul, name)


# ----------------------------------------------------------------------------
# core operations on an in-memory HDUList


def _dest_distname(hdul: fits.HDUList, filename: str | None) -> str:
    primary = hdul[0].header
    if _text(primary.get("DISTNAME")):
        return _text(primary["DISTNAME"])
    try:
        sci = hdul[_sci_indices(hdul, "SCI", filename)[0]].header
    except MissingExtensionError:
        sci = None
    from ._names import build_distname

    return build_distname(primary, sci)


def _check_dest(hl: Headerlet, hdul: fits.HDUList, filename: str | None) -> None:
    root = _dest_rootname(hdul, filename)
    if _text(hl.destim).upper() != root.upper():
        raise HeaderletError(f"headerlet {hl.hdrname!r} is for {hl.destim!r}, but this file "
                             f"is {root!r} (DESTIM does not match ROOTNAME); nothing changed",
                             filename=filename)


def _headerlet_from_hdu(hdu: Any, filename: str | None, index: int) -> Headerlet:
    return Headerlet.fromhdu(hdu, filename=filename, extension=index)


def _next_hdrlet_extver(hdul: fits.HDUList) -> int:
    vers = [int(hdul[i].header.get("EXTVER", 0) or 0) for i in _hdrlet_indices(hdul)]
    return max([0, *vers, len(vers)]) + 1


def _attach(hl: Headerlet, hdul: fits.HDUList, filename: str | None) -> int:
    if not verify_hdrname_is_unique(hdul, hl.hdrname):
        raise HeaderletError(f"a HDRLET extension with HDRNAME {hl.hdrname!r} is already "
                             "attached; nothing changed", filename=filename)
    hl.hverify(filename=filename)
    for extname, extver in hl.targets():
        if not any(h.name.upper() == extname and h.ver == extver for h in hdul[1:]):
            raise MissingExtensionError(
                f"the headerlet {hl.hdrname!r} is for extension ({extname}, {extver}), which "
                "this file does not have; nothing changed", filename=filename)
    extver = _next_hdrlet_extver(hdul)
    hdul.append(build_hdrlet_hdu(hl, extver=extver))
    _refresh_nextend(hdul)
    log.info("attached headerlet %r as HDRLET,%d", hl.hdrname, extver)
    return extver


def _refresh_nextend(hdul: fits.HDUList) -> None:
    hdul[0].header["NEXTEND"] = (len(hdul) - 1, "Number of standard extensions")


def _same_solution(a: Headerlet, b: Headerlet) -> bool:
    """True if two headerlets give the same sky positions (same WCS, SIP and tables)."""
    if not a.equal_distmodel(b.distname or ""):
        return False
    ta, tb = a.targets(), b.targets()
    if ta.keys() != tb.keys():
        return False
    for target, ia in ta.items():
        ha, hb = a[ia].header, b[tb[target]].header
        (na, xa), (nb, xb) = _wcs_numbers(ha), _wcs_numbers(hb)
        if xa != xb or na.keys() != nb.keys():
            return False
        va = np.array([na[k] for k in na])
        vb = np.array([nb[k] for k in na])
        if not np.allclose(va, vb, rtol=1e-12, atol=0.0):
            return False
        ra, rb = _lookup_extvers(ha), _lookup_extvers(hb)
        if {k: len(v) for k, v in ra.items()} != {k: len(v) for k, v in rb.items()}:
            return False
        for extname in _LOOKUP_EXTNAMES:
            for va_, vb_ in zip(ra[extname], rb[extname], strict=True):
                da, db = a[(extname, va_)], b[(extname, vb_)]
                if not np.array_equal(np.asarray(da.data), np.asarray(db.data)):
                    return False
                for kw in ("CRPIX1", "CRPIX2", "CRVAL1", "CRVAL2", "CDELT1", "CDELT2"):
                    if da.header.get(kw) != db.header.get(kw):
                        return False
    return True


def _unique_hdrname(hdul: fits.HDUList, hdrname: str) -> str:
    taken = {_text(v).upper() for v in get_headerlet_kw_names(hdul, "HDRNAME")}
    if hdrname.upper() not in taken:
        return hdrname
    n = 1
    while f"{hdrname}-{n}".upper() in taken:
        n += 1
    return f"{hdrname}-{n}"


def _archive_key(hdul: fits.HDUList, filename: str | None, key: str,
                 sciext: str = "SCI") -> str | None:
    """Attach WCS ``key`` of the file as a headerlet unless an identical one is attached.

    Returns the HDRNAME of the headerlet holding it (new or existing), or
    None when the file has no such WCS.
    """
    sci = _sci_indices(hdul, sciext, filename)
    sci0 = hdul[sci[0]].header
    if key not in altwcs.wcskeys(sci0):
        return None
    wcsname = _text(sci0.get(_kw("WCSNAME", key)))
    current_hdrname = _text(sci0.get(_kw("HDRNAME", key)))
    if key == " ":
        candidate = wcsname or f"{_dest_rootname(hdul, filename)}_orig"
    else:
        candidate = current_hdrname or wcsname or f"{_dest_rootname(hdul, filename)}_{key}"
    hl = _build_headerlet(hdul, filename, sciext=sciext, hdrname=candidate, wcskey=key,
                          wcsname=wcsname or candidate)
    # already attached?  Look at the likely names first, then at every HDRLET.
    order = []
    for name in dict.fromkeys(n for n in (current_hdrname, candidate) if n):
        order += find_headerlet_HDUs(hdul, hdrname=name)
    order += [i for i in _hdrlet_indices(hdul) if i not in order]
    for i in order:
        other_name = _text(_hdrlet_kw(hdul, i, "WCSNAME", filename))
        if (not hl.equal_distmodel(_text(_hdrlet_kw(hdul, i, "DISTNAME", filename)))
                or other_name.upper() != _text(hl.wcsname).upper()):
            continue
        try:
            existing = _headerlet_from_hdu(hdul[i], filename, i)
        except HeaderletError:
            continue
        if _same_solution(existing, hl):
            log.info("WCS %r already attached as headerlet %r", wcsname, existing.hdrname)
            return existing.hdrname
    hdrname = _unique_hdrname(hdul, candidate)
    hl[0].header["HDRNAME"] = (hdrname, fit_comment(hdrname, _PRIMARY_COMMENTS["HDRNAME"]))
    _attach(hl, hdul, filename)
    log.info("archived WCS %r (key %r) as headerlet %r", wcsname, key, hdrname)
    return hdrname


def _archive_primary(hdul: fits.HDUList, filename: str | None, sciext: str = "SCI") -> str | None:
    return _archive_key(hdul, filename, " ", sciext)


_PRIMARY_STALE = ["WCSNAME", "WCSAXES", "RADESYS", "LONPOLE", "LATPOLE", "EQUINOX", "MJDREF",
                  *altwcs.STWCS_KEYWORDS]
for _i in (1, 2):
    _PRIMARY_STALE += [f"{b}{_i}" for b in ("CRPIX", "CRVAL", "CTYPE", "CUNIT", "CDELT", "CROTA",
                                            "CRDER", "CSYER")]
    _PRIMARY_STALE += [f"{b}{_i}_{_j}" for b in ("CD", "PC") for _j in (1, 2)]


def _replace_chip_wcs(sci: fits.Header, sip: fits.Header, hdrname: str) -> None:
    """Replace the primary WCS and the distortion keywords of a chip header, in place."""
    skip = {"XTENSION", "BITPIX", "NAXIS", "PCOUNT", "GCOUNT", "EXTNAME", "EXTVER", "TG_ENAME",
            "TG_EVER", "ORIENTAT", "CDELT1", "CDELT2"}
    new_plain = []
    new_dist = []
    for card in sip.cards:
        kw = card.keyword
        if kw in skip or kw in ("COMMENT", "HISTORY", ""):
            continue
        if _is_distortion_card(card) and kw not in _IDC_KW:
            new_dist.append(card)
        else:
            new_plain.append(card)
    new_kw = {c.keyword for c in new_plain}
    # remove the old distortion and any primary WCS keyword the headerlet does not set
    doomed = [k for k, card in enumerate(sci.cards)
              if (_is_distortion_card(card) and card.keyword not in _IDC_KW)
              or (card.keyword in _PRIMARY_STALE and card.keyword not in new_kw)]
    for k in reversed(doomed):
        del sci[k]
    for card in new_plain:
        sci.set(card.keyword, card.value, fit_comment(card.value, card.comment))
    if "CD1_1" in new_kw:
        for kw in ("CDELT1", "CDELT2", "PC1_1", "PC1_2", "PC2_1", "PC2_2"):
            if kw in sci:
                del sci[kw]
    for card in new_dist:
        sci.append(fits.Card.fromstring(card.image), end=True)
    if "ORIENTAT" in sip:
        sci["ORIENTAT"] = (sip["ORIENTAT"], sip.comments["ORIENTAT"])
    sci["HDRNAME"] = (hdrname, fit_comment(hdrname, "Name of headerlet applied as primary WCS"))


def _apply_primary(hl: Headerlet, hdul: fits.HDUList, filename: str | None, *, attach: bool,
                   archive: bool, check_dest: bool, check_dist: bool,
                   sciext: str = "SCI") -> str | None:
    hl.hverify(filename=filename)
    if check_dest:
        _check_dest(hl, hdul, filename)
    dest_model = _dest_distname(hdul, filename)
    same_model = hl.equal_distmodel(dest_model)
    if not same_model and check_dist:
        raise HeaderletError(f"headerlet {hl.hdrname!r} uses distortion model "
                             f"{hl.distname!r} but the file uses {dest_model!r}; use force=True "
                             "to replace the file's distortion; nothing changed",
                             filename=filename)
    sci = _sci_indices(hdul, sciext, filename)
    targets = hl.targets()
    chips = {_sci_target(hdul, i): i for i in sci}
    missing = [t for t in targets if t not in chips]
    if missing:
        raise MissingExtensionError(f"the file has no extension {missing[0][0]},{missing[0][1]} "
                                    f"targeted by headerlet {hl.hdrname!r}; nothing changed",
                                    filename=filename)
    uncovered = [t for t in chips if t not in targets]
    if uncovered:
        raise MissingExtensionError(f"headerlet {hl.hdrname!r} has no SIPWCS for "
                                    f"{uncovered[0][0]},{uncovered[0][1]}; nothing changed",
                                    filename=filename)

    archived = None
    old_name = _text(hdul[sci[0]].header.get("WCSNAME"))
    if archive and " " in altwcs.wcskeys(hdul[sci[0]].header) and same_model \
            and old_name.upper() == _text(hl.wcsname).upper():
        current = _build_headerlet(hdul, filename, sciext=sciext, hdrname=hl.hdrname,
                                   wcskey=" ", wcsname=old_name)
        if _same_solution(current, hl):  # re-applying the current solution: nothing to keep
            log.info("headerlet %r is already the primary WCS", hl.hdrname)
            archive = False
            archived = hl.hdrname
    if archive:
        if " " in altwcs.wcskeys(hdul[sci[0]].header):
            archived = _archive_primary(hdul, filename, sciext)
            if same_model:
                altwcs.archive_wcs(hdul, ext=list(sci), wcskey=None, wcsname=old_name or None,
                                   mode=altwcs.ArchiveMode.AUTO_RENAME
                                   | altwcs.ArchiveMode.QUIET_ABORT)
        if not same_model:
            keys = [k for k in altwcs.wcskeys(hdul[sci[0]].header) if k not in (" ", "O")]
            for key in keys:
                _archive_key(hdul, filename, key, sciext)
            for i in sci:
                for key in keys:
                    if key in altwcs.wcskeys(hdul[i].header):
                        altwcs.delete_header_wcs(hdul[i].header, key)
    elif not same_model:
        keys = [k for k in altwcs.wcskeys(hdul[sci[0]].header) if k not in (" ", "O")]
        if keys:
            log.warning("alternate WCSs %s belong to the replaced distortion model %r",
                        ", ".join(keys), dest_model)

    # replace each chip's WCS
    for target, j in targets.items():
        _replace_chip_wcs(hdul[chips[target]].header, hl[j].header, hl.hdrname)

    # replace the lookup-table extensions
    old = [i for i, h in enumerate(hdul)
           if _text(h.header.get("EXTNAME")).upper() in _LOOKUP_EXTNAMES and i != 0]
    insert_at = old[0] if old else None
    for i in reversed(old):
        del hdul[i]
    new = [_lookup_hdu(h) for h in hl[1:]
           if _text(h.header.get("EXTNAME")).upper() in _LOOKUP_EXTNAMES]
    for k, hdu in enumerate(new):
        if insert_at is None or insert_at + k >= len(hdul):
            hdul.append(hdu)
        else:
            hdul.insert(insert_at + k, hdu)

    primary = hdul[0].header
    update_ref_files(hl[0].header, primary)
    update_versions(hl[0].header, primary)
    if "DISTNAME" not in hl[0].header:
        primary["DISTNAME"] = (_dest_distname(hdul, filename), "Distortion model name")

    if attach:
        if verify_hdrname_is_unique(hdul, hl.hdrname):
            _attach(hl, hdul, filename)
        else:
            log.info("headerlet %r is already attached", hl.hdrname)
    try:
        wcscorr.update_wcscorr(hdul, wcs_id=hl.wcsname)
    except MissingExtensionError:
        log.debug("no WCSCORR update (no SCI extension)")
    _refresh_nextend(hdul)
    log.info("applied headerlet %r (WCSNAME %r) as primary WCS", hl.hdrname, hl.wcsname)
    return archived


def _apply_alternate(hl: Headerlet, hdul: fits.HDUList, filename: str | None, *, attach: bool,
                     wcskey: Any, wcsname: Any, sciext: str = "SCI",
                     check_dest: bool = True, rename: bool = False) -> str:
    hl.hverify(filename=filename)
    if check_dest:
        _check_dest(hl, hdul, filename)
    dest_model = _dest_distname(hdul, filename)
    if not hl.equal_distmodel(dest_model):
        log.warning("headerlet %r assumes distortion %r but the file uses %r: the alternate "
                    "WCS will be used with the file's distortion", hl.hdrname, hl.distname,
                    dest_model)
    sci = _sci_indices(hdul, sciext, filename)
    chips = {_sci_target(hdul, i): i for i in sci}
    targets = hl.targets()
    missing = [t for t in targets if t not in chips]
    if missing:
        raise MissingExtensionError(f"the file has no extension {missing[0][0]},{missing[0][1]} "
                                    f"targeted by headerlet {hl.hdrname!r}; nothing changed",
                                    filename=filename)
    name = _text(wcsname) or _text(hl.wcsname)
    headers = [hdul[chips[t]].header for t in targets]
    if is_par_blank(wcskey):
        free = set(altwcs.available_wcskeys(headers[0]))
        for h in headers[1:]:
            free &= set(altwcs.available_wcskeys(h))
        free.discard(altwcs.OPUS_KEY)
        if not free:
            raise WCSKeyError("no free alternate WCS key (A-Z all used)", filename=filename)
        key = sorted(free)[0]
    else:
        key = _norm_key(wcskey)
        if key == " ":
            raise WCSKeyError("use apply_as_primary for the primary WCS", filename=filename)
        for h in headers:
            if key in altwcs.wcskeys(h):
                raise WCSKeyError(f"WCS key {key!r} is already used "
                                  f"(WCSNAME{key}={_text(h.get(_kw('WCSNAME', key)))!r}); "
                                  "nothing changed", filename=filename)
    for h in headers:
        if altwcs.getKeyFromName(h, name) not in (None, " "):
            if not rename:
                raise WCSKeyError(f"an alternate WCS named {name!r} already exists; give "
                                  "another wcsname; nothing changed", filename=filename)
            name = altwcs.unique_wcsname(h, name)
    for target, j in targets.items():
        header = hdul[chips[target]].header
        sip = hl[j].header.copy()
        for kw in ("CDELT1", "CDELT2"):
            if kw in sip and "CD1_1" in sip:
                del sip[kw]
        sip["WCSNAME"] = name
        cards = altwcs.wcs_from_key(sip, from_key=" ", to_key=key)
        for card in cards.cards:
            if card.keyword == _kw("HDRNAME", key):
                continue
            header.set(card.keyword, card.value, fit_comment(card.value, card.comment))
        header.set(_kw("HDRNAME", key), hl.hdrname, fit_comment(hl.hdrname, "Headerlet name"))
    if attach and verify_hdrname_is_unique(hdul, hl.hdrname):
        _attach(hl, hdul, filename)
    try:
        wcscorr.update_wcscorr(hdul, wcs_id=name, active=False)
    except MissingExtensionError:
        pass
    _refresh_nextend(hdul)
    log.info("applied headerlet %r as alternate WCS %r (%s)", hl.hdrname, key, name)
    return key


# ----------------------------------------------------------------------------
# user functions


def _as_headerlet(obj: Any) -> Headerlet:
    if isinstance(obj, Headerlet):
        return obj
    if isinstance(obj, fits.HDUList):
        hl = Headerlet([h.copy() for h in obj])
        hl.hverify(filename=_text(obj.filename()) or None)
        return hl
    if is_hdrlet_hdu(obj):
        return Headerlet.fromhdu(obj)
    if isinstance(obj, (str, os.PathLike)):
        return Headerlet.fromfile(obj)
    raise HeaderletError(f"cannot use an object of type {type(obj).__name__} as a headerlet")


def _is_list(obj: Any) -> bool:
    return isinstance(obj, (list, tuple)) and not isinstance(obj, fits.HDUList)


def _as_list(obj: Any) -> list[Any]:
    return list(obj) if _is_list(obj) else [obj]


def _pairs(filename: Any, hdrlet: Any) -> list[tuple[Any, Any]]:
    files = _as_list(filename)
    hlets = _as_list(hdrlet) if _is_list(hdrlet) else [hdrlet] * len(files)
    if len(hlets) != len(files):
        raise HeaderletError(f"{len(files)} files but {len(hlets)} headerlets given")
    return list(zip(files, hlets, strict=True))


def create_headerlet(filename: Any, sciext: str = "SCI", hdrname: str | None = None,
                     destim: str | None = None, wcskey: str | None = " ",
                     wcsname: str | None = None, sipname: str | None = None,
                     npolfile: str | None = None, d2imfile: str | None = None,
                     author: str | None = None, descrip: str | None = None,
                     history: Any = None, nmatch: int | None = None,
                     catalog: str | None = None, logging: bool = False,
                     logmode: str = "w") -> Headerlet:
    """Create a headerlet from the primary or an alternate WCS of a science file.

    Parameters
    ----------
    filename : str or HDUList
        The science file.
    sciext : str, optional
        EXTNAME of the chips.
    hdrname : str, optional
        Default: the chip's ``HDRNAME<key>``, else the WCS name.
    destim : str, optional
        Default: the file's ROOTNAME (else its file name).
    wcskey : str, optional
        ``' '``/``'PRIMARY'`` (default) or ``A``-``Z``; None/``''`` selects
        by ``wcsname``.
    wcsname : str, optional
        Selects the WCS when ``wcskey`` is None; must agree with the key's
        WCSNAME when both are given.
    sipname, npolfile, d2imfile : str, optional
        Override the distortion names (DISTNAME follows them).
    author, descrip, catalog : str, optional
    history : str or list of str, optional
        Text (or the name of a text file) for HISTORY cards.
    nmatch : int, optional
    logging, logmode : optional
        Accepted for compatibility; stwcs-ng logs through :mod:`logging`.

    Returns
    -------
    Headerlet

    Raises
    ------
    WCSKeyError
        The key/name does not exist or they disagree.
    HeaderletError
        No name can be found for the WCS.
    InputFileError, MissingExtensionError
    """
    with open_input(filename) as (hdul, name, _):
        return _build_headerlet(hdul, name, sciext=sciext, hdrname=hdrname, destim=destim,
                                wcskey=wcskey, wcsname=wcsname, sipname=sipname,
                                npolfile=npolfile, d2imfile=d2imfile, author=author,
                                descrip=descrip, history=history, nmatch=nmatch,
                                catalog=catalog)


def _output_name(filename: str, output: str | None) -> str:
    base = str(filename)
    root = base[:-5] if base.lower().endswith(".fits") else base
    if is_par_blank(output):
        return f"{root}_hlet.fits"
    if not str(output).lower().endswith(".fits"):
        return f"{root}_{output}_hlet.fits"
    return str(output)


def write_headerlet(filename: Any, hdrname: str | None, output: str | None = None,
                    sciext: str = "SCI", wcsname: str | None = None,
                    wcskey: str | None = None, destim: str | None = None,
                    sipname: str | None = None, npolfile: str | None = None,
                    d2imfile: str | None = None, author: str | None = None,
                    descrip: str | None = None, history: Any = None,
                    nmatch: int | None = None, catalog: str | None = None,
                    attach: bool = True, clobber: bool = False,
                    logging: bool = False) -> str:
    """Write a WCS of a science file as a headerlet file (and attach it).

    Parameters
    ----------
    filename : str
        The science file.
    hdrname : str or None
        HDRNAME; blank uses the WCS name.
    output : str, optional
        None: ``<root>_hlet.fits``; a name not ending in ``.fits``:
        ``<root>_<output>_hlet.fits`` (``<root>`` = ``filename`` without
        ``.fits``); otherwise used as is.
    author, descrip, history, nmatch, catalog
        As in :func:`create_headerlet`.
    sciext, wcsname, wcskey, destim, sipname, npolfile, d2imfile
        As in :func:`create_headerlet`; with neither ``wcskey`` nor
        ``wcsname`` the primary WCS is used.
    attach : bool, optional
        Also attach it to ``filename`` (the WCSCORR table is created or
        updated then).
    clobber : bool, optional
        Replace an existing output file.
    logging : bool, optional
        Accepted for compatibility.

    Returns
    -------
    str
        The output file name.

    Raises
    ------
    HeaderletError
        The HDRNAME is already attached (with ``attach``): nothing written.
    FileUpdateError
        The output exists and ``clobber`` is False.
    """
    if is_par_blank(wcskey) and is_par_blank(wcsname):
        wcskey = " "
    fname = os.fspath(filename)
    out = _output_name(fname, output)
    if Path(out).exists() and not clobber:
        raise FileUpdateError("output file exists and clobber is False; nothing written",
                              filename=out)
    hl = create_headerlet(fname, sciext=sciext, hdrname=hdrname, destim=destim,
                          wcskey=wcskey,
                          wcsname=wcsname, sipname=sipname, npolfile=npolfile,
                          d2imfile=d2imfile, author=author, descrip=descrip, history=history,
                          nmatch=nmatch, catalog=catalog)
    if attach:
        existed = Path(out).exists()
        try:
            with update_input(fname) as (hdul, name, _):
                _attach(hl, hdul, name)
                wcscorr.init_wcscorr(hdul)
                _refresh_nextend(hdul)
                hl.tofile(out, clobber=clobber)
        except BaseException:
            if not existed and Path(out).exists():  # do not leave half the job done
                Path(out).unlink()
            raise
    else:
        hl.tofile(out, clobber=clobber)
    log.info("wrote headerlet %r to %s", hl.hdrname, out)
    return out


def apply_headerlet_as_primary(filename: Any, hdrlet: Any, attach: bool = True,
                               archive: bool = True, force: bool = False,
                               logging: bool = False, logmode: str = "a") -> list[str | None]:
    """Apply headerlet(s) as the primary WCS of science file(s).

    Parameters
    ----------
    filename : str, HDUList or list
        Science file(s).
    hdrlet : str, Headerlet or list
        Headerlet file(s) or object(s); one per file, or one for all.
    attach, archive, force
        See :meth:`Headerlet.apply_as_primary`.
    logging, logmode : optional
        Accepted for compatibility.

    Returns
    -------
    list of str or None
        Per file, the HDRNAME under which the previous primary WCS is kept
        (see :meth:`Headerlet.apply_as_primary`).

    Raises
    ------
    HeaderletError, MissingExtensionError, InputFileError, FileUpdateError
        The failing file is unchanged (earlier files of a list stay updated).
    """
    return [_as_headerlet(hlet).apply_as_primary(fname, attach=attach, archive=archive,
                                                 force=force)
            for fname, hlet in _pairs(filename, hdrlet)]


def apply_headerlet_as_alternate(filename: Any, hdrlet: Any, attach: bool = True,
                                 wcskey: str | None = None, wcsname: str | None = None,
                                 logging: bool = False, logmode: str = "w") -> None:
    """Apply headerlet(s) as an alternate WCS of science file(s).

    Parameters
    ----------
    filename : str, HDUList or list
    hdrlet : str, Headerlet or list
    attach, wcskey, wcsname
        See :meth:`Headerlet.apply_as_alternate`.
    logging, logmode : optional
        Accepted for compatibility.
    """
    for fname, hlet in _pairs(filename, hdrlet):
        _as_headerlet(hlet).apply_as_alternate(fname, attach=attach, wcskey=wcskey,
                                               wcsname=wcsname)


def attach_headerlet(filename: Any, hdrlet: Any, logging: bool = False,
                     logmode: str = "a") -> None:
    """Attach headerlet(s) to science file(s) as HDRLET extensions.

    Parameters
    ----------
    filename : str, HDUList or list
    hdrlet : str, Headerlet or list
    logging, logmode : optional
        Accepted for compatibility.

    Raises
    ------
    HeaderletError
        DESTIM mismatch or duplicate HDRNAME (file unchanged).
    """
    for fname, hlet in _pairs(filename, hdrlet):
        _as_headerlet(hlet).attach_to_file(fname)


def _available(hdul: fits.HDUList, filename: str | None) -> str:
    names = [f"{i}:{_text(_hdrlet_kw(hdul, i, 'HDRNAME', filename))}"
             for i in _hdrlet_indices(hdul)]
    return ", ".join(names) if names else "none"


def delete_headerlet(filename: Any, hdrname: str | None = None, hdrext: Any = None,
                     distname: str | None = None, keep_first: bool = False,
                     logging: bool = False, logmode: str = "w") -> list[str]:
    """Remove HDRLET extensions selected by HDRNAME, extension or DISTNAME.

    Parameters
    ----------
    filename : str, HDUList or list
    hdrname : str, optional
    hdrext : int, tuple or str, optional
    distname : str, optional
    keep_first : bool, optional
        Keep the first matching extension (remove duplicates).
    logging, logmode : optional
        Accepted for compatibility.

    Returns
    -------
    list of str
        HDRNAMEs removed (of the last file).

    Raises
    ------
    HeaderletError
        No selector, or nothing matches (file unchanged).
    """
    files = _as_list(filename)
    removed: list[str] = []
    for fname in files:
        with update_input(fname) as (hdul, name, _):
            found = find_headerlet_HDUs(hdul, hdrext=hdrext, hdrname=hdrname,
                                        distname=distname, strict=True)
            if not found:
                raise HeaderletError("no HDRLET extension matches (available: "
                                     f"{_available(hdul, name)}); nothing changed",
                                     filename=name)
            if keep_first:
                found = found[1:]
            removed = [_text(_hdrlet_kw(hdul, i, "HDRNAME", name)) for i in found]
            for i in reversed(found):
                del hdul[i]
            _refresh_nextend(hdul)
            log.info("deleted headerlets %s", removed)
    return removed


def _select_one(hdul: fits.HDUList, filename: str | None, *, hdrext: Any = None,
                hdrname: Any = None, distname: Any = None) -> int:
    found = find_headerlet_HDUs(hdul, hdrext=hdrext, hdrname=hdrname, distname=distname,
                                strict=True)
    if not found:
        raise HeaderletError(f"no HDRLET extension matches (available: "
                             f"{_available(hdul, filename)})", filename=filename)
    if len(found) > 1:
        raise HeaderletError(f"{len(found)} HDRLET extensions match ({found}); select one "
                             "by extension number", filename=filename)
    return found[0]


def extract_headerlet(filename: Any, output: Any, extnum: Any = None,
                      hdrname: str | None = None, clobber: bool = False,
                      logging: bool = True) -> str:
    """Write a HDRLET extension of a science file as a headerlet file.

    Parameters
    ----------
    filename : str or HDUList
        The science file.
    output : str or path-like
        The headerlet file to write.
    extnum : int, tuple or str, optional
        The HDRLET extension (HDU index or ``("HDRLET", extver)``).
    hdrname : str, optional
        Its HDRNAME (either selector suffices; both must agree).
    clobber : bool, optional
        Replace an existing output file.
    logging : bool, optional
        Accepted for compatibility.

    Returns
    -------
    str
        The output file name.

    Raises
    ------
    HeaderletError
        Nothing or several extensions match, or the extension is corrupt.
    FileUpdateError
        The output exists and ``clobber`` is False.
    """
    out = os.fspath(output)
    if Path(out).exists() and not clobber:
        raise FileUpdateError("output file exists and clobber is False", filename=out)
    with open_input(filename) as (hdul, name, _):
        i = _select_one(hdul, name, hdrext=extnum, hdrname=hdrname)
        hl = _headerlet_from_hdu(hdul[i], name, i)
    hl.tofile(out, clobber=clobber)
    log.info("extracted headerlet %r to %s", hl.hdrname, out)
    return out


def print_summary(summary_cols: Sequence[str], summary_dict: dict[str, Sequence[Any]],
                  pad: int = 2, maxwidth: int | None = None, idcol: Any = None,
                  output: Any = None, clobber: bool = True, quiet: bool = False) -> str:
    """Format a summary table as text; print it unless ``quiet``; write it to ``output``.

    Parameters
    ----------
    summary_cols : list of str
        Column names, in order.
    summary_dict : dict
        Column name -> list of values.
    pad : int, optional
        Spaces between columns.
    maxwidth : int, optional
        Truncate values to this many characters.
    idcol : dict, optional
        Extra first column ``{'name': ..., 'vals': [...]}``.
    output : str, optional
        Text file to write.
    clobber : bool, optional
        Replace ``output`` if it exists.
    quiet : bool, optional
        Do not print.

    Returns
    -------
    str
        The formatted text.
    """
    cols = list(summary_cols)
    data = {c: [_text(v) for v in summary_dict.get(c, [])] for c in cols}
    if idcol:
        cols.insert(0, idcol["name"])
        data[idcol["name"]] = [_text(v) for v in idcol["vals"]]
    if maxwidth:
        data = {c: [v[:maxwidth] for v in vals] for c, vals in data.items()}
    nrows = max((len(v) for v in data.values()), default=0)
    widths = {c: max([len(c), *(len(v) for v in data[c])]) for c in cols}
    sep = " " * pad
    lines = [sep.join(c.ljust(widths[c]) for c in cols).rstrip(),
             sep.join("-" * widths[c] for c in cols)]
    for r in range(nrows):
        lines.append(sep.join((data[c][r] if r < len(data[c]) else "").ljust(widths[c])
                              for c in cols).rstrip())
    text = "\n".join(lines) + "\n"
    if not quiet:
        sys.stdout.write(text)  # the documented purpose of this function
    if output:
        path = Path(output)
        if path.exists() and not clobber:
            raise FileUpdateError("summary file exists and clobber is False",
                                  filename=str(path))
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
    return text


def headerlet_summary(filename: Any, columns: Sequence[str] | None = None, pad: int = 2,
                      maxwidth: int | None = None, output: Any = None, clobber: bool = True,
                      quiet: bool = False) -> Table:
    """Table of the HDRLET extensions of a science file; printed unless ``quiet``.

    Parameters
    ----------
    filename : str or HDUList
    columns : list of str, optional
        Subset of :data:`SUMMARY_COLUMNS` (``EXTN``, the HDU index, is
        always first).
    pad : int, optional
        Spaces between printed columns.
    maxwidth : int, optional
        Truncate printed values.
    output : str, optional
        Also write the text to this file.
    clobber : bool, optional
        Replace ``output``.
    quiet : bool, optional
        Do not print to standard output.

    Returns
    -------
    astropy.table.Table
        One row per HDRLET extension (``EXTN`` int, other columns str).

    Raises
    ------
    HeaderletError
        An unknown column name.
    """
    cols = [c.upper() for c in (columns or SUMMARY_COLUMNS) if c.upper() != "EXTN"]
    bad = [c for c in cols if c not in SUMMARY_COLUMNS]
    if bad:
        raise HeaderletError(f"unknown summary column(s) {bad}; choose from {SUMMARY_COLUMNS}")
    rows: dict[str, list[Any]] = {c: [] for c in ["EXTN", *cols]}
    with open_input(filename) as (hdul, name, _):
        for i in _hdrlet_indices(hdul):
            rows["EXTN"].append(i)
            embedded = None
            for c in cols:
                value = hdul[i].header.get(c)
                if value is None:
                    if embedded is None:
                        try:
                            embedded = _headerlet_from_hdu(hdul[i], name, i)[0].header
                        except HeaderletError as exc:
                            log.warning("%s", exc)
                            embedded = fits.Header()
                    value = embedded.get(c, "")
                rows[c].append(_text(value))
    table = Table([rows["EXTN"], *[rows[c] for c in cols]], names=["EXTN", *cols],
                  dtype=[int] + [str] * len(cols))
    print_summary(["EXTN", *cols], rows, pad=pad, maxwidth=maxwidth, output=output,
                  clobber=clobber, quiet=quiet)
    return table


def restore_from_headerlet(filename: Any, hdrname: str | None = None, hdrext: Any = None,
                           archive: bool = True, force: bool = False, logging: bool = False,
                           logmode: str = "w") -> None:
    """Make an attached headerlet the primary WCS again.

    Parameters
    ----------
    filename : str, HDUList or list
    hdrname : str, optional
    hdrext : int, tuple or str, optional
        Select the HDRLET extension (one must match).
    archive : bool, optional
        Archive the current primary WCS first.
    force : bool, optional
        Apply even if the distortion models differ (the file's distortion is
        then replaced by the headerlet's).
    logging, logmode : optional
        Accepted for compatibility.

    Raises
    ------
    HeaderletError
        Nothing or several extensions match, distortion mismatch without
        ``force``, corrupt extension (file unchanged).
    """
    files = _as_list(filename)
    for fname in files:
        with update_input(fname) as (hdul, name, _):
            i = _select_one(hdul, name, hdrext=hdrext, hdrname=hdrname)
            hl = _headerlet_from_hdu(hdul[i], name, i)
            _apply_primary(hl, hdul, name, attach=False, archive=archive, check_dest=True,
                           check_dist=not force)


def restore_all_with_distname(filename: Any, distname: str, primary: Any,
                              archive: bool = True, sciext: str = "SCI",
                              logging: bool = False, logmode: str = "w") -> None:
    """Switch a file to distortion model ``distname`` using its attached headerlets.

    The headerlet selected by ``primary`` becomes the primary WCS (the file's
    distortion is replaced by its model); every other attached headerlet with
    this DISTNAME becomes an alternate WCS.

    Parameters
    ----------
    filename : str, HDUList or list
    distname : str
        The distortion model.
    primary : str or int
        HDRNAME or HDU index of the headerlet to apply as primary (it must
        have this DISTNAME).
    archive : bool, optional
        Archive the current WCSs first.
    sciext : str, optional
    logging, logmode : optional
        Accepted for compatibility.

    Raises
    ------
    HeaderletError
        No headerlet has this DISTNAME, or ``primary`` is not one of them
        (file unchanged).
    """
    files = _as_list(filename)
    for fname in files:
        with update_input(fname) as (hdul, name, _):
            found = find_headerlet_HDUs(hdul, distname=distname)
            if not found:
                raise HeaderletError(f"no attached headerlet has DISTNAME {distname!r}",
                                     filename=name)
            if isinstance(primary, (int, np.integer)) or (isinstance(primary, str)
                                                          and primary.strip().isdigit()):
                pidx = int(primary)
            else:
                sel = find_headerlet_HDUs(hdul, hdrname=primary, distname=distname)
                pidx = sel[0] if sel else -1
            if pidx not in found:
                raise HeaderletError(f"{primary!r} is not an attached headerlet with DISTNAME "
                                     f"{distname!r}", filename=name)
            hlets = {i: _headerlet_from_hdu(hdul[i], name, i) for i in found}
            _apply_primary(hlets[pidx], hdul, name, attach=False, archive=archive,
                           check_dest=True, check_dist=False, sciext=sciext)
            for i, hl in hlets.items():
                if i == pidx:
                    continue
                _apply_alternate(hl, hdul, name, attach=False, wcskey=None, wcsname=None,
                                 sciext=sciext, rename=True)


def archive_as_headerlet(filename: Any, hdrname: str, sciext: str = "SCI",
                         wcsname: str | None = None, wcskey: str | None = None,
                         destim: str | None = None, sipname: str | None = None,
                         npolfile: str | None = None, d2imfile: str | None = None,
                         author: str | None = None, descrip: str | None = None,
                         history: Any = None, nmatch: int | None = None,
                         catalog: str | None = None, logging: bool = False,
                         logmode: str = "w") -> None:
    """Attach a WCS of a science file (primary by default) as a headerlet.

    Parameters
    ----------
    filename : str, HDUList or list
    hdrname : str
        HDRNAME of the new headerlet (must not be attached already).
    author, descrip, history, nmatch, catalog
        As in :func:`create_headerlet`.
    sciext, wcsname, wcskey, destim, sipname, npolfile, d2imfile
        As in :func:`create_headerlet`; ``wcsname`` alone selects the WCS by
        name; neither selects the primary WCS.
    logging, logmode : optional
        Accepted for compatibility.

    Raises
    ------
    HeaderletError
        The HDRNAME is already attached (file unchanged).
    WCSKeyError
        The WCS does not exist.
    """
    files = _as_list(filename)
    key: Any = wcskey
    if is_par_blank(wcskey):
        key = None if not is_par_blank(wcsname) else " "
    for fname in files:
        with update_input(fname) as (hdul, name, _):
            hl = _build_headerlet(hdul, name, sciext=sciext, hdrname=hdrname, destim=destim,
                                  wcskey=key, wcsname=wcsname, sipname=sipname,
                                  npolfile=npolfile, d2imfile=d2imfile, author=author,
                                  descrip=descrip, history=history, nmatch=nmatch,
                                  catalog=catalog)
            _attach(hl, hdul, name)

