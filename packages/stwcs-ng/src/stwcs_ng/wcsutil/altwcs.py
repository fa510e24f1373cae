"""Alternate world coordinate systems (FITS WCS Paper I keys ``' '``, ``A``-``Z``).

A header may hold up to 27 linear WCSs: the primary one (key ``' '``) and
alternates whose keywords end with a letter (``CRVAL1A``, ``CD1_2A``,
``WCSNAMEA``...).  HST files use them as a history of astrometric
solutions; key ``O`` is reserved for the original pipeline (OPUS) WCS.

Only the *linear* WCS is archived: ``WCSNAME``, ``WCSAXES``, ``CRPIXi``,
``CRVALi``, ``CDi_j`` (PC/CDELT or CROTA converted to CD), ``CTYPEi``,
``CUNITi``, ``RADESYS``, ``CRDERi``/``CSYERi`` and the STWCS bookkeeping
keywords ``WCSTYPE``, ``RMS_RA``, ``RMS_DEC``, ``NMATCH``, ``FITNAME``,
``HDRNAME``.  The distortion (SIP, NPOL, D2IM) is shared by all of them and
never copied.

Two layers:

* pure header functions (``archive_header_wcs``, ``restore_header_wcs``,
  ``delete_header_wcs``, ``wcs_from_key``, ``wcskeys``...) that change a
  :class:`~astropy.io.fits.Header` in place;
* file-level functions with the names and signatures of ``stwcs.wcsutil.altwcs``
  (``archive_wcs``, ``restoreWCS``, ``deleteWCS``, ``restore_from_to``...) that
  take a file name (updated atomically through
  :func:`stwcs_ng.fileio.atomic_update`) or an open HDUList (modified in
  memory; the caller writes it) and an extension selection.

Query functions (``wcskeys``, ``wcsnames``, ``available_wcskeys``,
``next_wcskey``, ``wcs_from_key``) serve both layers: when the first argument
is a :class:`~astropy.io.fits.Header` they work on it directly, otherwise the
first two arguments are ``(fobj, ext)`` as in the original.
"""

from __future__ import annotations

import enum
import logging
import re
import string
from typing import Any

import numpy as np
from astropy.io import fits

from ..errors import HeaderError, MissingExtensionError, WCSKeyError
from ._ext import ext_index, extension_indices, get_header, update_input

log = logging.getLogger(__name__)

__all__ = [
    "ArchiveMode",
    "archive_header_wcs",
    "restore_header_wcs",
    "delete_header_wcs",
    "archive_wcs",
    "restoreWCS",
    "restore_from_to",
    "deleteWCS",
    "wcskeys",
    "wcsnames",
    "available_wcskeys",
    "next_wcskey",
    "wcs_from_key",
    "getKeyFromName",
    "pc2cd",
    "exclude_hst_specific",
    "mapFitsExt2HDUListInd",
    "closefobj",
    "linear_wcs_keywords",
    "unique_wcsname",
    "STWCS_KEYWORDS",
    "OPUS_KEY",
]

#: Alternate key reserved for the original pipeline WCS.
OPUS_KEY = "O"
#: HST bookkeeping keywords archived with every WCS (plus the key suffix).
STWCS_KEYWORDS = ("WCSTYPE", "RMS_RA", "RMS_DEC", "NMATCH", "FITNAME", "HDRNAME")
#: Keywords dropped by :func:`exclude_hst_specific` / ``exclude_special``.
_SPECIAL = ("EQUINOX", "LONPOLE", "LATPOLE", "RESTWAV", "RESTFRQ")
_VALID_KEYS = " " + string.ascii_uppercase

_PRESENCE = ("WCSNAME", "CTYPE1", "CRPIX1", "CRVAL1", "RADESYS")
_AXIS_KW = r"CRVAL|CRPIX|CTYPE|CUNIT|CDELT|CRDER|CSYER|CNAME|CROTA"
_SCALAR_KW = (r"WCSNAME|WCSAXES|RADESYS|EQUINOX|LONPOLE|LATPOLE|MJDREF|DATEREF|RESTFRQ|"
              r"RESTWAV|SPECSYS|VELREF|WCSTYPE|FITNAME|HDRNAME|RMS_DEC|RMS_RA|NMATCH")


class ArchiveMode(enum.IntFlag):
    """How :func:`archive_header_wcs` resolves conflicts (combine with ``|``).

    Parameters
    ----------
    value : int
        Combination of the flags below.

    Attributes
    ----------
    NO_CONFLICT
        Raise :class:`~stwcs_ng.errors.WCSKeyError` if the key is taken or the
        name is used by a different WCS.
    AUTO_RENAME
        Make a clashing name unique (``TWEAK`` -> ``TWEAK-1``).
    OVERWRITE_KEY
        Replace the WCS already stored under the requested key.
    QUIET_ABORT
        On a conflict, log a warning and return ``(None, None)`` instead of
        raising.
    """

    NO_CONFLICT = 0
    AUTO_RENAME = 1
    OVERWRITE_KEY = 2
    QUIET_ABORT = 4


# ----------------------------------------------------------------------------
# keyword helpers


def _kw(base: str, key: str) -> str:
    """Keyword ``base`` with the alternate suffix ``key`` (FITS: at most 8 chars)."""
    key = (key or " ").strip()
    return base if not key else base[:7] + key


def _norm_key(key: Any, *, allow_primary: bool = True) -> str:
    if key is None:
        raise WCSKeyError("no WCS key given")
    text = str(key).strip().upper()
    if text in ("", "PRIMARY"):
        text = " "
    if len(text) != 1 or text not in _VALID_KEYS:
        raise WCSKeyError(f"invalid WCS key {key!r}; expected ' ' or a letter A-Z")
    if text == " " and not allow_primary:
        raise WCSKeyError("the primary WCS (key ' ') cannot be used here")
    return text


def _header_naxes(header: fits.Header, key: str) -> int:
    value = header.get(_kw("WCSAXES", key))
    if value is not None:
        try:
            return int(value)
        except (TypeError, ValueError):
            raise HeaderError(f"{_kw('WCSAXES', key)}={value!r} is not an integer") from None
    found = 0
    pattern = re.compile(r"^(?:CTYPE|CRPIX|CRVAL|CDELT)(\d)" + (key.strip() or "") + "$")
    for card_kw in header.keys():
        match = pattern.match(card_kw)
        if match:
            found = max(found, int(match.group(1)))
    if found:
        return found
    naxis = header.get("NAXIS", 0)
    return int(naxis) if isinstance(naxis, int) and naxis > 0 else 2


def _float(header: fits.Header, kw: str, default: float) -> float:
    value = header.get(kw, default)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise HeaderError(f"{kw}={value!r} is not a number") from None


def cd_matrix(header: fits.Header, key: str = " ") -> np.ndarray:
    """The CD matrix of WCS ``key``, converted from PC/CDELT or CROTA when needed.

    Parameters
    ----------
    header : astropy.io.fits.Header
        The header.
    key : str, optional
        ``' '`` or ``A``-``Z``.

    Returns
    -------
    ndarray of shape (n, n)

    Raises
    ------
    HeaderError
        If a keyword value is not a number.
    """
    key = _norm_key(key)
    n = _header_naxes(header, key)
    idx = range(1, n + 1)
    if any(_kw(f"CD{i}_{j}", key) in header for i in idx for j in idx):
        return np.array([[_float(header, _kw(f"CD{i}_{j}", key), 0.0) for j in idx] for i in idx])
    cdelt = np.array([_float(header, _kw(f"CDELT{i}", key), 1.0) for i in idx])
    if any(_kw(f"PC{i}_{j}", key) in header for i in idx for j in idx):
        pc = np.array([[_float(header, _kw(f"PC{i}_{j}", key), float(i == j)) for j in idx]
                       for i in idx])
        return cdelt[:, None] * pc
    cd = np.diag(cdelt)
    rot_kw = _kw("CROTA2", key)
    if n >= 2 and rot_kw in header:
        rho = np.deg2rad(_float(header, rot_kw, 0.0))
        c, s = np.cos(rho), np.sin(rho)
        cd[0, 0], cd[0, 1] = cdelt[0] * c, -cdelt[1] * s
        cd[1, 0], cd[1, 1] = cdelt[0] * s, cdelt[1] * c
    return cd


def linear_wcs_keywords(header: fits.Header, key: str = " ") -> list[tuple[str, Any, str]]:
    """The archivable keywords of WCS ``key`` as ``(base_name, value, comment)``.

    Base names carry no key suffix.  The linear matrix is always returned in
    CD form.  Absent optional keywords are omitted.

    Parameters
    ----------
    header : astropy.io.fits.Header
        The header.
    key : str, optional
        ``' '`` or ``A``-``Z``.

    Returns
    -------
    list of tuple
        In the order the archive writes them.

    Raises
    ------
    WCSKeyError
        If the header holds no WCS with that key.
    HeaderError
        If a keyword value cannot be used.
    """
    key = _norm_key(key)
    if key not in wcskeys(header):
        raise WCSKeyError(f"no WCS with key {key!r} in the header")
    n = _header_naxes(header, key)
    out: list[tuple[str, Any, str]] = []

    def copy(base: str) -> None:
        kw = _kw(base, key)
        if kw in header:
            out.append((base, header[kw], header.comments[kw]))

    copy("WCSNAME")
    out.append(("WCSAXES", n, "Number of coordinate axes"))
    for i in range(1, n + 1):
        copy(f"CRPIX{i}")
    for i in range(1, n + 1):
        copy(f"CUNIT{i}")
    for i in range(1, n + 1):
        copy(f"CTYPE{i}")
    for i in range(1, n + 1):
        copy(f"CRVAL{i}")
    copy("RADESYS")
    for base in ("LONPOLE", "LATPOLE"):
        copy(base)
    cd = cd_matrix(header, key)
    comments = {(1, 1): "partial of first axis coordinate w.r.t. x",
                (1, 2): "partial of first axis coordinate w.r.t. y",
                (2, 1): "partial of second axis coordinate w.r.t. x",
                (2, 2): "partial of second axis coordinate w.r.t. y"}
    for i in range(1, n + 1):
        for j in range(1, n + 1):
            kw = _kw(f"CD{i}_{j}", key)
            comment = header.comments[kw] if kw in header else comments.get((i, j), "")
            out.append((f"CD{i}_{j}", float(cd[i - 1, j - 1]), comment))
    for i in range(1, n + 1):
        copy(f"CRDER{i}")
    for i in range(1, n + 1):
        copy(f"CSYER{i}")
    for base in STWCS_KEYWORDS:
        copy(base)
    return out


def _alt_keyword_regex(key: str) -> re.Pattern:
    k = re.escape(key)
    return re.compile(
        rf"^(?:(?:{_AXIS_KW})\d{{1,2}}{k}|(?:CD|PC|PV|PS)\d_\d{{1,2}}{k}|(?:{_SCALAR_KW}){k})$")


def _keywords_of_key(header: fits.Header, key: str) -> list[str]:
    """All keywords belonging to alternate ``key`` (not valid for the primary)."""
    pattern = _alt_keyword_regex(key)
    return [kw for kw in dict.fromkeys(header.keys()) if pattern.match(kw)]


# ----------------------------------------------------------------------------
# queries (Header or (fobj, ext))


def _query_header(fobj: Any, ext: Any) -> fits.Header:
    if isinstance(fobj, fits.Header):
        return fobj
    return get_header(fobj, ext)


def wcskeys(fobj: Any, ext: Any = None) -> list[str]:
    """Sorted list of the WCS keys present (``' '`` first when the primary exists).

    Parameters
    ----------
    fobj : Header, str or HDUList
        A header, or a file name / open HDUList.
    ext : int, str or tuple, optional
        Extension of ``fobj`` (ignored for a header).

    Returns
    -------
    list of str

    Raises
    ------
    InputFileError, MissingExtensionError
        If the file or extension cannot be read.
    """
    header = _query_header(fobj, ext)
    keys = set()
    names = header.keys()
    for kw in names:
        for base in _PRESENCE:
            if kw == base:
                keys.add(" ")
            elif (len(kw) == len(base) + 1 and kw.startswith(base)
                  and kw[-1] in string.ascii_uppercase):
                keys.add(kw[-1])
    return sorted(keys)


def wcsnames(fobj: Any, *args: Any, include_primary: bool = True, **kwargs: Any) -> dict[str, str]:
    """Map WCS key to ``WCSNAME<key>`` for every WCS that has a name.

    Call as ``wcsnames(header, include_primary=True)`` or as in the original,
    ``wcsnames(fobj, ext=None, include_primary=True)``.

    Parameters
    ----------
    fobj : Header, str or HDUList
        A header, or a file name / open HDUList.
    *args
        For a header: ``include_primary``; for a file: ``ext`` then
        ``include_primary``.
    include_primary : bool, optional
        Include key ``' '`` (the primary WCSNAME).
    **kwargs
        ``ext=`` for files.

    Returns
    -------
    dict of str to str
        Keys in sorted order.
    """
    if isinstance(fobj, fits.Header):
        header = fobj
        if args:
            include_primary = bool(args[0])
    else:
        ext = kwargs.pop("ext", args[0] if args else None)
        if len(args) > 1:
            include_primary = bool(args[1])
        header = get_header(fobj, ext)
    names = {}
    for key in wcskeys(header):
        if key == " " and not include_primary:
            continue
        kw = _kw("WCSNAME", key)
        if kw in header:
            names[key] = str(header[kw]).strip()
    return names


def available_wcskeys(fobj: Any, ext: Any = None) -> list[str]:
    """Letters ``A``-``Z`` not used by any WCS of the header, sorted.

    Parameters
    ----------
    fobj : Header, str or HDUList
        A header, or a file name / open HDUList.
    ext : int, str or tuple, optional
        Extension of ``fobj`` (ignored for a header).

    Returns
    -------
    list of str
    """
    used = set(wcskeys(_query_header(fobj, ext)))
    return [k for k in string.ascii_uppercase if k not in used]


def next_wcskey(fobj: Any, ext: Any = None) -> str | None:
    """First free alternate key, alphabetically, skipping the reserved ``O``.

    Parameters
    ----------
    fobj : Header, str or HDUList
        A header, or a file name / open HDUList.
    ext : int, str or tuple, optional
        Extension of ``fobj`` (ignored for a header).

    Returns
    -------
    str or None
        None when every key (other than ``O``) is taken.
    """
    free = [k for k in available_wcskeys(fobj, ext) if k != OPUS_KEY]
    return free[0] if free else None


def getKeyFromName(header: Any, wcsname: str, ext: Any = None) -> str | None:
    """Key of the WCS named ``wcsname`` (case-insensitive); highest key if several.

    Parameters
    ----------
    header : Header, str or HDUList
        A header (or a file name / HDUList with ``ext``).
    wcsname : str
        The name to look for.
    ext : int, str or tuple, optional
        Extension when ``header`` is a file.

    Returns
    -------
    str or None
        None when no WCS has that name.
    """
    header = _query_header(header, ext)
    wanted = str(wcsname).strip().upper()
    found = [k for k, v in wcsnames(header).items() if v.upper() == wanted]
    return found[-1] if found else None


def _resolve_key(header: fits.Header, wcskey: Any, wcsname: Any) -> str:
    """Key selected by ``wcskey`` or, when that is blank/None, by ``wcsname``."""
    name_given = wcsname is not None and bool(str(wcsname).strip())
    key_given = wcskey is not None and bool(str(wcskey).strip())
    if key_given:
        key = _norm_key(wcskey)
        if name_given:
            named = getKeyFromName(header, wcsname)
            if named is not None and named != key:
                raise WCSKeyError(f"WCSNAME {wcsname!r} belongs to key {named!r}, not {key!r}")
        return key
    if name_given:
        key = getKeyFromName(header, wcsname)
        if key is None:
            raise WCSKeyError(f"no WCS named {str(wcsname).strip()!r}")
        return key
    if wcskey is not None:
        return " "
    raise WCSKeyError("give a WCS key or a WCS name")


def wcs_from_key(fobj: Any, *args: Any, **kwargs: Any) -> fits.Header:
    """Header holding the WCS ``from_key`` rewritten under key ``to_key``.

    Call as ``wcs_from_key(header, from_key=' ', to_key=None,
    exclude_special=True)`` or as in the original, ``wcs_from_key(fobj, ext,
    from_key=' ', to_key=None, exclude_special=True)``.

    The result holds the linear WCS in CD form, the CTYPEs as stored, and the
    STWCS keywords (:data:`STWCS_KEYWORDS`), all suffixed with ``to_key``
    (default: ``from_key``).

    Parameters
    ----------
    fobj : Header, str or HDUList
        The source.
    *args, **kwargs
        ``ext`` (files only), ``from_key``, ``to_key``, ``exclude_special``
        (drop ``LONPOLE``/``LATPOLE``, default True).

    Returns
    -------
    astropy.io.fits.Header

    Raises
    ------
    WCSKeyError
        If ``from_key`` does not exist or a key is invalid.
    """
    if isinstance(fobj, fits.Header):
        header = fobj
    else:
        args = list(args)
        ext = kwargs.pop("ext", args.pop(0) if args else None)
        header = get_header(fobj, ext)
    return _wcs_from_key(header, *args, **kwargs)


def _wcs_from_key(header: fits.Header, from_key: str = " ", to_key: str | None = None,
                  exclude_special: bool = True) -> fits.Header:
    from_key = _norm_key(from_key)
    to_key = from_key if to_key is None else _norm_key(to_key)
    out = fits.Header()
    for base, value, comment in linear_wcs_keywords(header, from_key):
        if exclude_special and base in _SPECIAL:
            continue
        out.append((_kw(base, to_key), value, comment), end=True)
    return out


def pc2cd(hdr: fits.Header, key: str = " ") -> fits.Header:
    """Convert the PC/CDELT (or CROTA) matrix of WCS ``key`` to CD form, in place.

    Parameters
    ----------
    hdr : astropy.io.fits.Header
        The header to change.
    key : str, optional
        ``' '`` or ``A``-``Z``.

    Returns
    -------
    astropy.io.fits.Header
        ``hdr`` itself.
    """
    key = _norm_key(key)
    n = _header_naxes(hdr, key)
    cd = cd_matrix(hdr, key)
    for i in range(1, n + 1):
        for kw in [_kw(f"CDELT{i}", key), _kw(f"CROTA{i}", key)] + [
                _kw(f"PC{i}_{j}", key) for j in range(1, n + 1)]:
            if kw in hdr:
                del hdr[kw]
    for i in range(1, n + 1):
        for j in range(1, n + 1):
            hdr[_kw(f"CD{i}_{j}", key)] = float(cd[i - 1, j - 1])
    return hdr


def exclude_hst_specific(hdr: fits.Header, wcskey: str = " ") -> fits.Header:
    """Remove EQUINOX, LONPOLE, LATPOLE, RESTWAV, RESTFRQ (with ``wcskey``) in place.

    Parameters
    ----------
    hdr : astropy.io.fits.Header
        The header to change.
    wcskey : str, optional
        The key whose keywords are removed.

    Returns
    -------
    astropy.io.fits.Header
        ``hdr`` itself.
    """
    key = _norm_key(wcskey)
    for base in _SPECIAL:
        kw = _kw(base, key)
        if kw in hdr:
            del hdr[kw]
    return hdr


# ----------------------------------------------------------------------------
# header-level archive / restore / delete


_NAME_COUNTER = re.compile(r"^(?P<stem>.*?)(?P<sep>[-_ ])(?P<num>\d+)$")


def unique_wcsname(header: fits.Header, wcsname: str) -> str:
    """``wcsname`` made unique among the header's WCS names.

    A trailing counter (``-``, ``_`` or space followed by digits) is
    incremented; otherwise ``-1`` is appended: ``TWEAK`` -> ``TWEAK-1`` ->
    ``TWEAK-2``.

    Parameters
    ----------
    header : astropy.io.fits.Header
        The header whose names must be avoided.
    wcsname : str
        The wanted name.

    Returns
    -------
    str
    """
    taken = {v.upper() for v in wcsnames(header).values()}
    name = wcsname.strip()
    if name.upper() not in taken:
        return name
    match = _NAME_COUNTER.match(name)
    if match:
        stem, sep, num = match.group("stem"), match.group("sep"), int(match.group("num"))
    else:
        stem, sep, num = name, "-", 0
    while True:
        num += 1
        candidate = f"{stem}{sep}{num}"
        if candidate.upper() not in taken:
            return candidate


def _same_wcs(header: fits.Header, key1: str, key2: str) -> bool:
    def numeric(key: str) -> tuple[dict, dict]:
        nums, texts = {}, {}
        for base, value, _ in linear_wcs_keywords(header, key):
            if base.startswith(("CRPIX", "CRVAL", "CD")):
                nums[base] = float(value)
            elif base.startswith("CTYPE"):
                texts[base] = str(value).strip().upper().removesuffix("-SIP")
        return nums, texts

    n1, t1 = numeric(key1)
    n2, t2 = numeric(key2)
    if t1 != t2 or n1.keys() != n2.keys():
        return False
    a = np.array([n1[k] for k in n1])
    b = np.array([n2[k] for k in n1])
    return bool(np.allclose(a, b, rtol=1e-12, atol=0.0))


def _conflict(message: str, mode: ArchiveMode) -> tuple[None, None]:
    if mode & ArchiveMode.QUIET_ABORT:
        log.warning("%s; nothing archived", message)
        return None, None
    raise WCSKeyError(message)


def archive_header_wcs(header: fits.Header, wcskey: str | None = None,
                       wcsname: str | None = None,
                       mode: ArchiveMode = ArchiveMode.NO_CONFLICT
                       ) -> tuple[str | None, str | None]:
    """Copy the primary WCS of ``header`` to alternate key ``wcskey``, in place.

    Parameters
    ----------
    header : astropy.io.fits.Header
        The header to change.
    wcskey : str, optional
        Target key ``A``-``Z``; None picks the key that already holds an
        identical WCS with the same name, else :func:`next_wcskey`.
    wcsname : str, optional
        Name stored as ``WCSNAME<key>``; None uses the primary WCSNAME, or
        ``ARCHIVED_WCS`` (made unique) when that is blank or absent.
    mode : ArchiveMode, optional
        Conflict handling (see :class:`ArchiveMode`).

    Returns
    -------
    key : str or None
        The key used, None when nothing was archived (``O`` already present
        and not overwritten, or a conflict with ``QUIET_ABORT``).
    name : str or None
        The name used (None with ``key``).

    Raises
    ------
    WCSKeyError
        If the header has no primary WCS, the key is invalid or the primary,
        no key is free, or a conflict occurs without ``QUIET_ABORT``.
    """
    mode = ArchiveMode(mode)
    keys = wcskeys(header)
    if " " not in keys:
        raise WCSKeyError("the header has no primary WCS to archive")
    if wcskey is not None and not (isinstance(wcskey, str) and not wcskey.strip()):
        wcskey = _norm_key(wcskey, allow_primary=False)
    else:
        wcskey = None
    if wcsname is None or not str(wcsname).strip():
        current = str(header.get("WCSNAME", "")).strip()
        if current:
            wcsname = current
        else:
            wcsname = "ARCHIVED_WCS"
            mode |= ArchiveMode.AUTO_RENAME
    wcsname = str(wcsname).strip()

    if wcskey == OPUS_KEY and OPUS_KEY in keys and not mode & ArchiveMode.OVERWRITE_KEY:
        log.info("WCS key 'O' (OPUS) already present; not archived again")
        return None, None

    named_key = getKeyFromName(header, wcsname)
    if named_key == " ":
        # the primary's own name: look for an alternate holding it
        alt = [k for k, v in wcsnames(header, include_primary=False).items()
               if v.upper() == wcsname.upper()]
        named_key = alt[-1] if alt else None
    if named_key is not None and named_key != wcskey:
        if _same_wcs(header, " ", named_key) and wcskey is None:
            log.info("primary WCS already archived as key %r (%s)", named_key, wcsname)
            return named_key, wcsname
        if mode & ArchiveMode.AUTO_RENAME:
            wcsname = unique_wcsname(header, wcsname)
        elif not (mode & ArchiveMode.OVERWRITE_KEY and named_key == wcskey):
            return _conflict(f"WCSNAME {wcsname!r} is already used by key {named_key!r}", mode)

    if wcskey is None:
        wcskey = next_wcskey(header)
        if wcskey is None:
            return _conflict("no free alternate WCS key left (A-Z are all used)", mode)
    elif wcskey in keys:
        if not mode & ArchiveMode.OVERWRITE_KEY:
            return _conflict(f"WCS key {wcskey!r} is already used "
                             f"(WCSNAME{wcskey}={wcsnames(header).get(wcskey, '')!r})", mode)
        for kw in _keywords_of_key(header, wcskey):
            del header[kw]

    cards = _wcs_from_key(header, " ", wcskey)
    name_kw = _kw("WCSNAME", wcskey)
    if name_kw in cards:
        cards[name_kw] = wcsname
    else:
        cards.insert(0, (name_kw, wcsname, "Coordinate system title"))
    for card in cards.cards:
        header.append(card, end=True)
    log.debug("archived primary WCS as key %r (%s)", wcskey, wcsname)
    return wcskey, wcsname


def _has_sip(header: fits.Header) -> bool:
    return "A_ORDER" in header or "B_ORDER" in header


def restore_header_wcs(header: fits.Header, wcskey: str | None = None,
                       wcsname: str | None = None) -> str:
    """Make the alternate WCS ``wcskey`` (or the one named ``wcsname``) primary, in place.

    The primary linear WCS keywords are replaced (updated in place when
    present, so their position in the header is kept); a PC/CDELT matrix
    in the primary is removed in favour of CD; primary STWCS keywords that
    the alternate lacks are removed.  The ``-SIP`` suffix of the restored
    CTYPEs follows the SIP coefficients present in the header, since the
    distortion is shared by all WCSs.

    Parameters
    ----------
    header : astropy.io.fits.Header
        The header to change.
    wcskey : str, optional
        The alternate key.
    wcsname : str, optional
        The alternate's name (used when ``wcskey`` is None or blank).

    Returns
    -------
    str
        The key restored.

    Raises
    ------
    WCSKeyError
        If the key or name does not exist, or the key is ``' '``.
    """
    key = _resolve_key(header, wcskey, wcsname)
    if key == " ":
        raise WCSKeyError("key ' ' is the primary WCS already; give an alternate key")
    if key not in wcskeys(header):
        raise WCSKeyError(f"no alternate WCS with key {key!r}")
    _set_primary(header, linear_wcs_keywords(header, key))
    log.debug("restored WCS key %r as primary", key)
    return key


def _set_primary(header: fits.Header, new: list[tuple[str, Any, str]]) -> None:
    """Write linear WCS keywords ``new`` (base names) as the primary WCS of ``header``."""
    n = next((int(v) for b, v, _ in new if b == "WCSAXES"), 2)
    bases = {b for b, _, _ in new}
    sip = _has_sip(header)
    stale = ["WCSNAME", "RADESYS", "LONPOLE", "LATPOLE", *STWCS_KEYWORDS]
    for i in range(1, n + 1):
        stale += [f"CDELT{i}", f"CROTA{i}", f"CRDER{i}", f"CSYER{i}", f"CUNIT{i}"]
        stale += [f"PC{i}_{j}" for j in range(1, n + 1)]
    for kw in stale:
        if kw not in bases and kw in header:
            del header[kw]
    for base, value, comment in new:
        if base.startswith("CTYPE") and isinstance(value, str):
            ctype = value.strip()
            if ctype.upper().startswith(("RA-", "DEC-")) and len(ctype) >= 8:
                ctype = ctype.removesuffix("-SIP") + ("-SIP" if sip else "")
            value = ctype
        header.set(base, value, comment)


def delete_header_wcs(header: fits.Header, wcskey: str | None = None,
                      wcsname: str | None = None) -> bool:
    """Delete every keyword of alternate WCS ``wcskey`` (or named ``wcsname``), in place.

    Key ``O`` (the OPUS WCS) is never deleted: a warning is logged instead.

    Parameters
    ----------
    header : astropy.io.fits.Header
        The header to change.
    wcskey : str, optional
        The alternate key.
    wcsname : str, optional
        The alternate's name (used when ``wcskey`` is None or blank).

    Returns
    -------
    bool
        True if keywords were deleted, False for key ``O``.

    Raises
    ------
    WCSKeyError
        If the key or name does not exist, or the key is ``' '`` (the
        primary WCS cannot be deleted).
    """
    key = _resolve_key(header, wcskey, wcsname)
    if key == " ":
        raise WCSKeyError("the primary WCS (key ' ') cannot be deleted")
    if key not in wcskeys(header):
        raise WCSKeyError(f"no alternate WCS with key {key!r}")
    if key == OPUS_KEY:
        log.warning("WCS key 'O' (original OPUS WCS) is never deleted")
        return False
    for kw in _keywords_of_key(header, key):
        del header[kw]
    log.debug("deleted WCS key %r", key)
    return True


# ----------------------------------------------------------------------------
# file / HDUList level


def _selected(hdul: fits.HDUList, ext: Any, name: str | None) -> list[int]:
    if isinstance(ext, (list, tuple)) and ext and all(
            isinstance(e, (int, tuple, list)) for e in ext):
        return [ext_index(hdul, e, filename=name) for e in ext]
    return extension_indices(hdul, ext, filename=name)


def archive_wcs(fname: Any, ext: Any = None, wcskey: str | None = None,
                wcsname: str | None = None,
                mode: ArchiveMode = ArchiveMode.NO_CONFLICT) -> tuple[str | None, str | None]:
    """Archive the primary WCS of each selected extension under ``wcskey``.

    Parameters
    ----------
    fname : str or HDUList
        File name (updated atomically) or open HDUList (modified in memory).
    ext : int, str, tuple or list, optional
        Extensions; None means every ``SCI`` extension.
    wcskey : str, optional
        Target key; None chooses it once, from the first extension, and uses
        it for all.
    wcsname : str, optional
        Name (see :func:`archive_header_wcs`).
    mode : ArchiveMode, optional
        Conflict handling.

    Returns
    -------
    key : str or None
        As returned for the first extension.
    name : str or None
        As returned for the first extension.

    Raises
    ------
    WCSKeyError
        On a conflict without ``QUIET_ABORT`` (the file is then unchanged).
    InputFileError, MissingExtensionError, FileUpdateError
        If the file cannot be read, lacks the extensions, or cannot be written.
    """
    result: tuple[str | None, str | None] = (None, None)
    with update_input(fname) as (hdul, name, embedded):
        indices = _selected(hdul, ext if ext is not None else embedded, name)
        first = True
        for i in indices:
            header = hdul[i].header
            missing = [k for k in ("CTYPE1", "CTYPE2", "CRVAL1", "CRVAL2") if k not in header]
            if missing:
                raise HeaderError(f"no complete primary WCS to archive ({', '.join(missing)} "
                                  "missing); nothing changed", filename=name, extension=i)
            key, nm = archive_header_wcs(header, wcskey, wcsname, mode)
            if first:
                result = (key, nm)
                first = False
                if key is None:
                    break
                wcskey = key if wcskey is None else wcskey
                wcsname = nm
    return result


def restoreWCS(f: Any, ext: Any = None, wcskey: str = " ", wcsname: str = " ") -> None:
    """Make an alternate WCS primary in each selected extension that has it.

    Parameters
    ----------
    f : str or HDUList
        File name (updated atomically) or open HDUList (modified in memory).
    ext : int, str, tuple or list, optional
        Extensions; None means every ``SCI`` extension.
    wcskey : str, optional
        The alternate key.
    wcsname : str, optional
        The alternate's name, used when ``wcskey`` is blank.

    Raises
    ------
    WCSKeyError
        If no selected extension has that WCS (the file is then unchanged).
    InputFileError, MissingExtensionError, FileUpdateError
    """
    with update_input(f) as (hdul, name, embedded):
        done = 0
        for i in _selected(hdul, ext if ext is not None else embedded, name):
            header = hdul[i].header
            try:
                key = _resolve_key(header, wcskey, wcsname)
            except WCSKeyError:
                continue
            if key != " " and key in wcskeys(header):
                restore_header_wcs(header, key)
                done += 1
        if not done:
            raise WCSKeyError(f"no selected extension has WCS key={wcskey!r} name={wcsname!r}",
                              filename=name)


def restore_from_to(f: Any, fromext: str | None = None, toext: Any = None,
                    wcskey: str = " ", wcsname: str = " ") -> None:
    """Copy alternate WCS of EXTNAME ``fromext`` into the primary WCS of ``toext``.

    For each extension named ``fromext`` that holds the alternate, the
    extensions named in ``toext`` with the same EXTVER receive it as their
    primary WCS.

    Parameters
    ----------
    f : str or HDUList
        File name (updated atomically) or open HDUList (modified in memory).
    fromext : str
        Source EXTNAME, e.g. ``"SCI"``.
    toext : str or list of str
        Destination EXTNAME(s), e.g. ``["ERR", "DQ"]``.
    wcskey : str, optional
        The alternate key.
    wcsname : str, optional
        The alternate's name, used when ``wcskey`` is blank.

    Raises
    ------
    WCSKeyError
        If no source extension holds that WCS.
    InputFileError, MissingExtensionError, FileUpdateError
    """
    if not fromext or not toext:
        raise WCSKeyError("restore_from_to needs both fromext and toext")
    targets = [toext] if isinstance(toext, str) else list(toext)
    with update_input(f) as (hdul, name, _):
        done = 0
        for i in extension_indices(hdul, str(fromext), filename=name):
            src = hdul[i].header
            try:
                key = _resolve_key(src, wcskey, wcsname)
            except WCSKeyError:
                continue
            if key not in wcskeys(src):
                continue
            ver = int(src.get("EXTVER", 1))
            for target in targets:
                try:
                    j = ext_index(hdul, (str(target), ver), filename=name)
                except MissingExtensionError:  # no destination with this EXTVER
                    continue
                _set_primary(hdul[j].header, linear_wcs_keywords(src, key))
                done += 1
        if not done:
            raise WCSKeyError(f"no {fromext} extension has WCS key={wcskey!r} name={wcsname!r}",
                              filename=name)


def deleteWCS(fname: Any, ext: Any = None, wcskey: str = " ", wcsname: str = " ") -> None:
    """Delete an alternate WCS from each selected extension.

    Key ``O`` is never deleted (a warning is logged).

    Parameters
    ----------
    fname : str or HDUList
        File name (updated atomically) or open HDUList (modified in memory).
    ext : int, str, tuple or list, optional
        Extensions; None means every ``SCI`` extension.
    wcskey : str, optional
        The alternate key.
    wcsname : str, optional
        The alternate's name, used when ``wcskey`` is blank.

    Raises
    ------
    WCSKeyError
        If no selected extension has that WCS (the file is then unchanged).
    InputFileError, MissingExtensionError, FileUpdateError
    """
    with update_input(fname) as (hdul, name, embedded):
        found = 0
        for i in _selected(hdul, ext if ext is not None else embedded, name):
            header = hdul[i].header
            try:
                key = _resolve_key(header, wcskey, wcsname)
            except WCSKeyError:
                continue
            if key == " ":
                raise WCSKeyError("the primary WCS (key ' ') cannot be deleted", filename=name)
            if key in wcskeys(header):
                delete_header_wcs(header, key)
                found += 1
        if not found:
            raise WCSKeyError(f"no selected extension has WCS key={wcskey!r} name={wcsname!r}",
                              filename=name)


def mapFitsExt2HDUListInd(fname: Any, extname: str) -> dict[tuple[str, int], int]:
    """Map ``(EXTNAME, EXTVER)`` to HDU index for every extension named ``extname``.

    Parameters
    ----------
    fname : str or HDUList
        The file.
    extname : str
        The EXTNAME to map.

    Returns
    -------
    dict
    """
    from ._ext import open_input

    out: dict[tuple[str, int], int] = {}
    with open_input(fname) as (hdul, name, _):
        for i in extension_indices(hdul, str(extname), filename=name):
            out[(str(extname).upper(), int(hdul[i].header.get("EXTVER", 1)))] = i
    return out


def closefobj(fname: Any, f: fits.HDUList) -> None:
    """Close ``f`` if it was opened from the file name ``fname`` (original helper).

    Parameters
    ----------
    fname : str or HDUList
        What the caller was given.
    f : HDUList
        What the caller opened.
    """
    if not isinstance(fname, fits.HDUList):
        f.close()
