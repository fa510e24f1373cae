"""File-level blending: read inputs, choose rules, blend, update a drizzled product.

Public functions keep the original ``fitsblender.blendheaders`` names:
:func:`get_blended_headers`, :func:`blendheaders`, :func:`getSingleTemplate`,
:func:`remove_distortion_keywords`, :func:`extract_filenames_from_drz`,
:func:`cat_headers` and the :class:`KeywordRules` class.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from astropy.io import fits

from . import __version__
from ._fileio import atomic_write, check_writable, incomplete_reason
from .blender import (
    RULES_HISTORY_TITLE,
    BlendResult,
    HeaderSet,
    add_rules_keywords,
    blend,
    drop_empty_sections,
    exposure_key,
    is_protected,
)
from .errors import InputFileError
from .functions import REDUCERS
from .rules import (
    DELETE_COMMAND,
    SUPPORTED_VERSION,
    ExpandedRules,
    RulesFile,
    find_rules_file,
)

__all__ = [
    "WCS_KEYWORDS",
    "KeywordRules",
    "blendheaders",
    "cat_headers",
    "check_complete",
    "extract_filenames_from_drz",
    "getSingleTemplate",
    "get_blended_headers",
    "parse_input_spec",
    "read_header_sets",
    "remove_distortion_keywords",
]

log = logging.getLogger(__name__)

__rules_version__ = SUPPORTED_VERSION
delete_command = DELETE_COMMAND
blender_funcs = REDUCERS

#: Keywords a drizzled product's extensions keep from the product (as the original).
WCS_KEYWORDS = ["CD1_1", "CD1_2", "CD2_1", "CD2_2", "CRPIX1", "CRPIX2", "CRVAL1", "CRVAL2",
                "CTYPE1", "CTYPE2", "VAFACTOR", "ORIENTAT", "BUNIT", "WCSNAME"]

# Any WCS keyword (primary or alternate): taken only from the product in blendheaders.
_WCS_RE = re.compile(
    r"^(CD\d_\d|PC\d_\d|PV\d_\d+|PS\d_\d+|CDELT\d|CRPIX\d|CRVAL\d|CTYPE\d|CUNIT\d|CRDER\d|"
    r"CSYER\d|WCSAXES|WCSNAME|LONPOLE|LATPOLE|RADESYS|EQUINOX|MJDREF|RESTFRQ)[A-Z]?$")
_PRODUCT_EXT_KEYWORDS = frozenset({"VAFACTOR", "ORIENTAT", "BUNIT", "WCSTYPE", "NCOMBINE",
                                   "CCDCHIP"})
_PRODUCT_PRIMARY_KEYWORDS = frozenset({
    "NEXTEND", "FILENAME", "ROOTNAME", "EXPTIME", "TEXPTIME", "EXPSTART", "EXPEND", "DATE",
    "NDRIZIM", "PROD_VER", "DRIZPARS", "ASN_MTYP", "DRIZCORR", "DITHCORR", "FILETYPE",
})
_STRUCTURE_ORDER = ("SIMPLE", "XTENSION", "BITPIX", "NAXIS")
_SPEC_RE = re.compile(r"^(?P<path>.+?)\[(?P<ext>[^\]]*)\]$")
_DRZ_DATA_RE = re.compile(r"^D(\d{3,})DATA$")
_INDEF = (None, "", " ", "INDEF", "None")


# -- inputs ---------------------------------------------------------------------------------
def parse_input_spec(spec: str | Path) -> tuple[Path, tuple[str, int | None] | int | None]:
    """Split ``'file.fits[sci,2]'`` into a path and an extension selector.

    Parameters
    ----------
    spec : str or Path
        ``file.fits``, ``file.fits[sci,2]``, ``file.fits[sci]`` (every SCI
        extension) or ``file.fits[3]`` (HDU number).

    Returns
    -------
    tuple
        ``(path, selector)``; the selector is None, an HDU index, or
        ``(EXTNAME, EXTVER or None)``.

    Raises
    ------
    InputFileError
        If the bracket part cannot be parsed.
    """
    text = str(spec).strip()
    match = _SPEC_RE.match(text)
    if not match:
        return Path(text), None
    path, ext = Path(match["path"].strip()), match["ext"].strip()
    parts = [p.strip() for p in ext.split(",")]
    try:
        if len(parts) == 1 and parts[0].isdigit():
            return path, int(parts[0])
        if len(parts) == 1 and parts[0]:
            return path, (parts[0].upper(), None)
        if len(parts) == 2 and parts[0] and parts[1]:
            return path, (parts[0].upper(), int(parts[1]))
    except ValueError:
        pass
    raise InputFileError(f"cannot parse extension specification [{ext}]", filename=text)


def check_complete(path: str | Path, what: str = "input file") -> Path:
    """Refuse a file that is missing or shorter than its FITS headers declare.

    blendheaders reads only headers, so a file cut short inside its data
    would otherwise be accepted.  This cheap check reads the headers only and
    compares the file size with every HDU's declared data size, padded to
    2880-byte blocks as the FITS standard writes them.

    Parameters
    ----------
    path : str or Path
        The file.
    what : str, optional
        What the file is, for the message (``'input file'``,
        ``'drizzled product'``).

    Returns
    -------
    Path
        ``path`` as a Path.

    Raises
    ------
    InputFileError
        If the file does not exist, cannot be read, is not FITS or is
        truncated; the message names the file and says what is wrong.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{what} does not exist", filename=str(path))
    try:
        reason = incomplete_reason(path)
    except OSError as exc:
        raise InputFileError(f"cannot read {what}: {exc}", filename=str(path)) from exc
    if reason is not None:
        raise InputFileError(f"{what} is not a complete FITS file: {reason}",
                             filename=str(path))
    return path


def _extname(hdu: fits.hdu.base._BaseHDU) -> str:
    return str(hdu.header.get("EXTNAME", "")).strip().upper()


def _extver(hdu: fits.hdu.base._BaseHDU) -> int:
    value = hdu.header.get("EXTVER", 1)
    return value if isinstance(value, int) else 1


def _unitless(hdr: fits.Header) -> fits.Header:
    hdr["BUNIT"] = "UNITLESS"
    return hdr


def _sets_from_hdulist(hdul: fits.HDUList, label: str, selector: Any,
                       extlist: Sequence[str | None], exposure: str | None = None,
                       primary: fits.Header | None = None, copy: bool = True
                       ) -> list[HeaderSet]:
    """Header sets of the chips of ``hdul`` (copies unless ``copy=False``: our own file)."""

    def own(hdr: fits.Header) -> fits.Header:
        return hdr.copy() if copy else hdr

    primary = own(hdul[0].header) if primary is None else primary
    sciname = (extlist[0] or "SCI").upper()
    if selector is None or (isinstance(selector, tuple) and selector[1] is None):
        name = sciname if selector is None else selector[0]
        chips = [h for h in hdul if _extname(h) == name and h.is_image]
        if not chips:
            if selector is not None or len(hdul) > 1 and hdul[0].header.get("NAXIS", 0) == 0:
                raise InputFileError(f"no {name} extension", filename=label)
            chips = [hdul[0]]
    else:
        try:
            chips = [hdul[selector if isinstance(selector, int) else selector]]
        except (KeyError, IndexError):
            raise InputFileError(f"no extension {selector}", filename=label) from None
    exposure = exposure or exposure_key(primary)
    if exposure.startswith("id="):
        exposure = f"file={label}"
    sets = []
    for chip in chips:
        ver = _extver(chip)

        def partner(kind: str | None, chip: fits.hdu.base._BaseHDU = chip,
                    ver: int = ver) -> fits.Header:
            if kind not in _INDEF:
                try:
                    return own(hdul[(str(kind).upper(), ver)].header)
                except KeyError:
                    pass
            return chip.header.copy()  # always a copy: BUNIT is changed below

        err = _unitless(partner(extlist[1] if len(extlist) > 1 else None))
        dq = _unitless(partner(extlist[2] if len(extlist) > 2 else None))
        tag = f"{label}[{_extname(chip).lower() or 'primary'},{ver}]"
        sets.append(HeaderSet(primary, own(chip.header), err, dq, name=tag, exposure=exposure))
    return sets


def read_header_sets(spec: str | Path, extlist: Sequence[str | None] = ("SCI", "ERR", "DQ")
                     ) -> list[HeaderSet]:
    """Read the headers of one input specification (one set per chip).

    A plain file name gives every ``extlist[0]`` (SCI) extension; a file with
    no such extension but data in its PRIMARY HDU (simple FITS, GEIS
    conversions, single-drizzle images) is one chip whose SCI header is the
    PRIMARY header.  ERR/DQ headers are the matching EXTVER of ``extlist[1]``
    / ``extlist[2]`` (else the SCI header), with ``BUNIT='UNITLESS'``.

    Parameters
    ----------
    spec : str or Path
        See :func:`parse_input_spec`.
    extlist : sequence of str, optional
        Extension names for SCI, ERR and DQ.

    Returns
    -------
    list of HeaderSet
        One per chip; the chips of a file share one PRIMARY header.

    Raises
    ------
    InputFileError
        If the file is missing, unreadable, truncated (see
        :func:`check_complete`) or lacks the extension asked for.
    """
    reader = _FileReader(extlist)
    try:
        return reader.read(spec)
    finally:
        reader.close()


class _FileReader:
    """Open each input file once per call, however many chips of it are named."""

    def __init__(self, extlist: Sequence[str | None]) -> None:
        self.extlist = extlist
        self.open: dict[Path, tuple[fits.HDUList, fits.Header]] = {}

    def read(self, spec: str | Path) -> list[HeaderSet]:
        path, selector = parse_input_spec(spec)
        try:
            key = path.resolve()
            if key not in self.open:
                check_complete(path)
                hdul = fits.open(path, lazy_load_hdus=True)
                self.open[key] = (hdul, hdul[0].header)
            hdul, primary = self.open[key]
            # headers of a file we opened are not shared with anyone: no copies needed
            return _sets_from_hdulist(hdul, str(path), selector, self.extlist,
                                      primary=primary, copy=False)
        except InputFileError:
            self.close()
            raise
        except (OSError, ValueError, TypeError) as exc:
            self.close()
            raise InputFileError(f"cannot read FITS file: {exc}", filename=str(path)) from exc
        finally:
            if len(self.open) > 64:  # bound the number of open files
                self.close()

    def close(self) -> None:
        for hdul, _ in self.open.values():
            hdul.close()
        self.open.clear()


def _as_header_sets(inputs: Any, extlist: Sequence[str | None]) -> list[HeaderSet]:
    if isinstance(inputs, str | Path | fits.Header | fits.HDUList | HeaderSet):
        inputs = [inputs]
    try:
        items = list(inputs)
    except TypeError:
        raise InputFileError(f"inputs must be a list, not {type(inputs).__name__}") from None
    if not items:
        raise InputFileError("no inputs given")
    sets: list[HeaderSet] = []
    reader = _FileReader(extlist)
    try:
        for i, item in enumerate(items):
            sets.extend(_one_input(i, item, extlist, reader))
    finally:
        reader.close()
    return sets


def _one_input(i: int, item: Any, extlist: Sequence[str | None], reader: _FileReader
               ) -> list[HeaderSet]:
    if isinstance(item, HeaderSet):
        return [item]
    if isinstance(item, str | Path):
        return reader.read(item)
    if isinstance(item, fits.Header):
        return [HeaderSet(item, item, name=f"header {i + 1}")]
    if isinstance(item, fits.HDUList):
        return _sets_from_hdulist(item, f"HDUList {i + 1}", None, extlist)
    if (isinstance(item, Sequence) and 1 <= len(item) <= 4
            and all(isinstance(h, fits.Header) or h is None for h in item)
            and isinstance(item[0], fits.Header)):
        hdrs = list(item) + [None] * (4 - len(item))
        return [HeaderSet(hdrs[0], hdrs[1] if hdrs[1] is not None else hdrs[0],
                          hdrs[2], hdrs[3], name=f"input {i + 1}")]
    raise InputFileError(
        f"input {i + 1}: expected a file name, a Header, an HDUList or a tuple "
        f"(primary, sci[, err[, dq]]) of Headers, not {type(item).__name__}")


def _rules_for(sets: Sequence[HeaderSet], rules_file: str | Path | None) -> list[RulesFile]:
    if rules_file not in _INDEF:
        return [RulesFile.read(find_rules_file(None, None, rules_file))]  # type: ignore[arg-type]
    paths: dict[Path, None] = {}
    for chip in sets:
        inst = chip.primary.get("INSTRUME", chip.sci.get("INSTRUME"))
        tel = chip.primary.get("TELESCOP", chip.sci.get("TELESCOP", "HST"))
        paths.setdefault(find_rules_file(str(inst) if inst else None,
                                         str(tel) if tel else None), None)
    return [RulesFile.read(p) for p in paths]


def _blend(inputs: Any, extlist: Sequence[str | None], rules_file: str | Path | None,
           verbose: bool, history: bool) -> tuple[BlendResult, list[RulesFile]]:
    sets = _as_header_sets(inputs, extlist)
    files = _rules_for(sets, rules_file)
    level = logging.INFO if verbose else logging.DEBUG
    log.log(level, "blending %d chips with rules %s", len(sets),
            ", ".join(Path(f.filename or "?").name for f in files))
    for chip in sets:
        log.log(level, "    %s", chip.name)
    return blend(sets, files, history=history), files


def get_blended_headers(inputs: Any, verbose: bool = False,
                        extlist: Sequence[str | None] = ("SCI", "ERR", "DQ"),
                        rules_file: str | Path | None = None
                        ) -> tuple[list[fits.Header], fits.BinTableHDU | None]:
    """Blend the headers of many inputs into product headers and HDRTAB.

    Parameters
    ----------
    inputs : list
        File names (``'a_flt.fits'`` for every SCI chip, ``'a_flt.fits[sci,2]'``
        for one chip), :class:`~astropy.io.fits.Header` objects (each a
        single-HDU input), ``(primary, sci[, err[, dq]])`` tuples of headers,
        :class:`~astropy.io.fits.HDUList` objects or
        :class:`~fitsblender_ng.blender.HeaderSet` objects; may be mixed.
    verbose : bool, optional
        Log the inputs and rules at INFO level (default DEBUG).
    extlist : sequence of str, optional
        EXTNAMEs of the SCI, ERR and DQ extensions of the inputs.
    rules_file : str or Path, optional
        A rules file; default: chosen per ``INSTRUME`` (see
        :func:`~fitsblender_ng.rules.find_rules_file`), one file per
        instrument among the inputs, merged in input order.

    Returns
    -------
    headers : list of astropy.io.fits.Header
        ``[primary, sci, err, dq]`` blended headers.
    table : astropy.io.fits.BinTableHDU or None
        HDRTAB with one row per input chip, or None when the rules define no
        column.

    Raises
    ------
    InputFileError
        If an input is missing, unreadable or of an unsupported type.
    RulesNotFoundError, RulesSyntaxError
        If the rules file is missing or invalid.
    MissingKeywordError
        If a ``raise`` rule meets an input without its keyword.
    """
    result, _ = _blend(inputs, extlist, rules_file, verbose, history=True)
    return result.headers, result.table


def getSingleTemplate(fname: str | Path, extlist: Sequence[str | None] = ("SCI", "ERR", "DQ")
                      ) -> tuple[fits.Header, fits.Header, fits.Header, fits.Header]:
    """Return copies of the PRIMARY, SCI, ERR and DQ headers of one chip.

    Parameters
    ----------
    fname : str or Path
        File name, optionally with ``[sci,N]`` (default: first SCI chip).
    extlist : sequence of str, optional
        EXTNAMEs for SCI, ERR and DQ; a missing ERR/DQ falls back to the SCI
        header; ERR and DQ headers get ``BUNIT='UNITLESS'``.

    Returns
    -------
    tuple of astropy.io.fits.Header
        ``(prihdr, scihdr, errhdr, dqhdr)``.

    Raises
    ------
    InputFileError
        If the file cannot be read.
    """
    first = read_header_sets(fname, extlist)[0]
    return (first.primary, first.sci, first.err if first.err is not None else first.sci,
            first.dq if first.dq is not None else first.sci)


def cat_headers(hdr1: fits.Header, hdr2: fits.Header) -> fits.Header:
    """Return a new header with the cards of ``hdr1`` followed by those of ``hdr2``.

    Parameters
    ----------
    hdr1, hdr2 : astropy.io.fits.Header
        Headers to concatenate (not modified).

    Returns
    -------
    astropy.io.fits.Header
        The concatenation (duplicates are kept; look-ups find ``hdr1``'s).
    """
    out = hdr1.copy()
    for card in hdr2.copy().cards:
        out.append(card, end=True)
    return out


_DISTORTION_FIXED = frozenset({"TDDALPHA", "TDDBETA", "D2IMEXT", "D2IMERR", "DGEOEXT",
                               "NPOLEXT", "SIPNAME", "NPOLNAME", "D2IMNAME"})
_DISTORTION_RE = re.compile(
    r"^(A_|B_|AP_|BP_|SCD|SCTYPE|SCRVAL|SNAXIS|SCRPIX|CPDIS|CPERR|D2IM(EXT|ERR|DIS|\d)|TDD|DP\d)")


def remove_distortion_keywords(hdr: fits.Header) -> list[str]:
    """Delete distortion-model keywords from a header of a distortion-free product.

    Removes ``TDDALPHA``, ``TDDBETA``, ``D2IMEXT``, ``D2IMERR``, ``DGEOEXT``,
    ``NPOLEXT``, SIP coefficients (``A_*``, ``B_*``, ``AP_*``, ``BP_*``),
    ``IDC*`` except ``IDCTAB``, old ``S*`` WCS copies (``SCD*``, ``SCTYPE*``,
    ``SCRVAL*``, ``SNAXIS*``, ``SCRPIX*``), lookup-table keywords (``CPDIS*``,
    ``CPERR*``, ``DPn*`` record cards, ``D2IM*``), ``TDD*``, and strips
    ``-SIP`` from ``CTYPE1``/``CTYPE2``.

    Parameters
    ----------
    hdr : astropy.io.fits.Header
        Header to clean in place.

    Returns
    -------
    list of str
        The keywords removed.
    """
    removed = []
    for key in list(dict.fromkeys(hdr.keys())):
        if key in ("", "HISTORY", "COMMENT") or is_protected(key):
            continue
        if (key in _DISTORTION_FIXED or _DISTORTION_RE.match(key)
                or (key.startswith("IDC") and key != "IDCTAB")):
            removed.append(key)
    for key in removed:
        while key in hdr:
            del hdr[key]
    for key in ("CTYPE1", "CTYPE2"):
        value = hdr.get(key)
        if isinstance(value, str) and value.rstrip().endswith("-SIP"):
            hdr[key] = value.rstrip()[:-4]
    return removed


def extract_filenames_from_drz(drzfile: str | Path) -> list[str]:
    """Return the input chip names a drizzled product records in ``DnnnDATA``.

    Parameters
    ----------
    drzfile : str or Path
        The drizzled product.

    Returns
    -------
    list of str
        The ``D001DATA``, ``D002DATA`` ... values in numeric order.

    Raises
    ------
    InputFileError
        If the file cannot be read.
    """
    try:
        phdr = fits.getheader(drzfile)
    except (OSError, ValueError) as exc:
        raise InputFileError(f"cannot read header: {exc}", filename=str(drzfile)) from exc
    found = []
    for card in phdr.cards:
        match = _DRZ_DATA_RE.match(card.keyword)
        if match and isinstance(card.value, str) and card.value.strip():
            found.append((int(match.group(1)), card.value.strip()))
    return [name for _, name in sorted(found)]


# -- updating a product ------------------------------------------------------------------------
def _structural(hdr: fits.Header) -> list[fits.Card]:
    cards = []
    for key in ("SIMPLE", "XTENSION", "BITPIX", "NAXIS"):
        if key in hdr:
            cards.append(fits.Card(key, hdr[key], hdr.comments[key]))
    for i in range(1, int(hdr.get("NAXIS", 0)) + 1):
        key = f"NAXIS{i}"
        if key in hdr:
            cards.append(fits.Card(key, hdr[key], hdr.comments[key]))
    for key in ("EXTEND", "PCOUNT", "GCOUNT", "GROUPS", "BSCALE", "BZERO", "BLANK",
                "EXTNAME", "EXTVER"):
        if key in hdr:
            cards.append(fits.Card(key, hdr[key], hdr.comments[key]))
    return cards


def _is_wcs(key: str) -> bool:
    return bool(_WCS_RE.match(key)) or key in ("ORIENTAT", "VAFACTOR")


def _compose(product: fits.Header, blended: fits.Header, rules: ExpandedRules, *,
             primary: bool) -> fits.Header:
    """Product structure + blended cards + the product's WCS and own keywords.

    The product's WCS cards go where the blended header had its first WCS
    card (else to the end); the product's other own keywords follow the
    blended cards; the product's HISTORY comes last.
    """
    wins = _PRODUCT_PRIMARY_KEYWORDS if primary else _PRODUCT_EXT_KEYWORDS
    table_only = rules.table_only
    structure = _structural(product)
    taken = {c.keyword for c in structure}
    prod_wcs = [c for c in product.cards if _is_wcs(c.keyword) and c.keyword not in taken]
    body: list[fits.Card] = []
    placed_wcs = False
    for card in blended.cards:
        key = card.keyword
        if key == "HISTORY":
            continue
        if key not in ("", "COMMENT"):
            if _is_wcs(key) and not placed_wcs:
                body.extend(fits.Card(c.keyword, c.value, c.comment) for c in prod_wcs)
                placed_wcs = True
            if (is_protected(key) or key in taken or _is_wcs(key)
                    or (key in wins and key in product)):
                continue
            taken.add(key)
        body.append(card)
    if not placed_wcs:
        body.extend(fits.Card(c.keyword, c.value, c.comment) for c in prod_wcs)
    taken.update(c.keyword for c in prod_wcs)
    out = fits.Header(structure + drop_empty_sections(body))
    for card in product.cards:
        key = card.keyword
        if key in ("", "COMMENT", "HISTORY") or is_protected(key) or _is_wcs(key):
            continue
        if key in wins:
            out.set(key, card.value, card.comment)
        elif key not in out and key not in table_only:
            out.append(fits.Card(key, card.value, card.comment), end=False)
    for value in _without_rules_history([str(v) for v in product.get("HISTORY", [])]):
        out.add_history(value)
    return out


def _without_rules_history(lines: list[str]) -> list[str]:
    """Drop the rules summary of an earlier blend, so that re-blending does not repeat it."""
    keep: list[str] = []
    i = 0
    while i < len(lines):
        if (lines[i].startswith("=" * 60) and i + 1 < len(lines)
                and lines[i + 1].startswith(RULES_HISTORY_TITLE)):
            j = i + 2
            while j < len(lines) and not lines[j].startswith("=" * 60):
                j += 1
            i = j + 1
            continue
        keep.append(lines[i])
        i += 1
    return keep


def blendheaders(drzfile: str | Path, inputs: Any = None, output: str | Path | None = None,
                 sciext: str = "SCI", rules_file: str | Path | None = None, *,
                 errext: str | None = "ERR", dqext: str | None = "DQ",
                 extensions: Mapping[str, str] | None = None,
                 verbose: bool = False) -> Path:
    """Write blended headers and HDRTAB into a drizzled product.

    The product keeps its data, its data-structure keywords, its WCS
    (``CD*``, ``CRPIX*``, ``CRVAL*``, ``CTYPE*`` ..., ``ORIENTAT``,
    ``VAFACTOR``, ``BUNIT``, ``WCSNAME``) and the keywords it wrote itself
    (``NEXTEND``, ``ROOTNAME``, ``EXPTIME``, ``EXPSTART``, ``EXPEND``,
    ``DnnnXXXX`` ...); every other keyword comes from the blend.  Distortion
    keywords are removed, an existing HDRTAB is replaced, ``NEXTEND`` is
    updated.  The file is written atomically and verified, so a failure leaves
    the product byte-identical.

    Parameters
    ----------
    drzfile : str or Path
        The drizzled product (``SCI``/``WHT``/``CTX`` extensions, or a simple
        FITS image with data in its PRIMARY HDU).
    inputs : list, optional
        Inputs as for :func:`get_blended_headers`; default: the product's
        ``DnnnDATA`` values (relative names are looked up in the current
        directory, then next to ``drzfile``).
    output : str or Path, optional
        Write the result here instead of updating ``drzfile`` in place.
    sciext : str, optional
        EXTNAME of the inputs' science extensions.
    rules_file : str or Path, optional
        Rules file; default chosen per instrument.
    errext, dqext : str, optional
        EXTNAMEs of the inputs' error and data-quality extensions.
    extensions : mapping, optional
        Which product extension receives which blended header; default
        ``{'SCI': 'SCI', 'ERR': 'WHT', 'DQ': 'CTX'}`` (the original's ``'CON'``
        is also accepted for the context image).
    verbose : bool, optional
        Log progress at INFO level.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    InputFileError
        If the product or an input is missing, unreadable or truncated (see
        :func:`check_complete`), or no inputs are known; nothing is written.
    FileUpdateError
        If the output cannot be written (the product is then unchanged).
    RulesNotFoundError, RulesSyntaxError, MissingKeywordError
        As :func:`get_blended_headers`.
    """
    drzfile = check_complete(drzfile, "drizzled product")
    target = Path(output) if output not in _INDEF else drzfile
    check_writable(target)
    if inputs in _INDEF:
        inputs = extract_filenames_from_drz(drzfile)
        if not inputs:
            raise InputFileError("no DnnnDATA keywords: give the inputs explicitly",
                                 filename=str(drzfile))
    inputs = [_locate(i, drzfile.parent) if isinstance(i, str | Path) else i
              for i in ([inputs] if isinstance(inputs, str | Path) else inputs)]
    result, files = _blend(inputs, [sciext, errext, dqext], rules_file, verbose, history=False)
    for hdr in result.headers:
        remove_distortion_keywords(hdr)
    mapping = {"SCI": result.sci, "WHT": result.err, "CTX": result.dq, "CON": result.dq}
    if extensions is not None:
        kinds = {"SCI": result.sci, "ERR": result.err, "DQ": result.dq}
        mapping = {str(v).upper(): kinds[str(k).upper()] for k, v in extensions.items()
                   if str(k).upper() in kinds}
    try:
        hdul = fits.open(drzfile, do_not_scale_image_data=True)
    except (OSError, ValueError) as exc:
        raise InputFileError(f"cannot read FITS file: {exc}", filename=str(drzfile)) from exc
    with hdul:
        _update_product(hdul, result, files, mapping)
        written = atomic_write(hdul, target)
    log.log(logging.INFO if verbose else logging.DEBUG, "%s %s with blended headers",
            "updated" if target == drzfile else "wrote", target)
    return written


def _locate(spec: str | Path, folder: Path) -> str:
    path, _ = parse_input_spec(spec)
    if not path.is_absolute() and not path.exists() and (folder / path).exists():
        return str(folder / str(spec).strip())
    return str(spec)


def _update_product(hdul: fits.HDUList, result: BlendResult, files: list[RulesFile],
                    mapping: Mapping[str, fits.Header]) -> None:
    for i in reversed(range(1, len(hdul))):
        if _extname(hdul[i]) == "HDRTAB":
            del hdul[i]
    simple = len(hdul) == 1 or all(not h.is_image for h in hdul[1:])
    prim = hdul[0]
    if simple:
        blended = cat_headers(result.primary, _without(result.sci, result.primary))
        new = _compose(prim.header, blended, result.rules, primary=True)
    else:
        new = _compose(prim.header, result.primary, result.rules, primary=True)
    add_rules_keywords(new, files, result.rules)
    prim.header = new
    for hdu in hdul[1:]:
        blended_ext = mapping.get(_extname(hdu))
        if blended_ext is not None and hdu.is_image:
            hdu.header = _compose(hdu.header, blended_ext, result.rules, primary=False)
    if result.table is not None:
        hdul.append(result.table)
        if "EXTEND" not in hdul[0].header:
            hdul[0].header.set("EXTEND", True, after=f"NAXIS{hdul[0].header['NAXIS']}"
                               if hdul[0].header["NAXIS"] else "NAXIS")
        else:
            hdul[0].header["EXTEND"] = True
    if "NEXTEND" in hdul[0].header:
        hdul[0].header["NEXTEND"] = len(hdul) - 1


def _without(hdr: fits.Header, other: fits.Header) -> fits.Header:
    """Cards of ``hdr`` whose keyword is not in ``other`` (commentary kept)."""
    return fits.Header([c for c in hdr.copy().cards
                        if c.keyword in ("", "COMMENT") or c.keyword not in other])


# -- the original's class interface -------------------------------------------------------------
class KeywordRules:
    """Rules for one instrument, with the original class's method names.

    Parameters
    ----------
    instrument : str
        Instrument name (``INSTRUME``).
    telescope : str, optional
        Telescope name, used when there is no instrument rules file.
    rules_file : str or Path, optional
        A rules file instead of the package default.

    Notes
    -----
    Rules are read with ``strict=False``: an unknown function name makes a
    table rule, as in the original.
    """

    rules_name_suffix = "_header.rules"

    def __init__(self, instrument: str, telescope: str = "HST",
                 rules_file: str | Path | None = None) -> None:
        self.instrument = instrument
        self.telescope = telescope
        self.rules_file = str(find_rules_file(instrument, telescope, rules_file))
        self.parsed = RulesFile.read(self.rules_file, strict=False)
        self.rules_version = self.parsed.version
        self.rule_specs = list(self.parsed.lines)
        self.expanded: ExpandedRules | None = None

    def get_filename(self) -> str:
        """Return the path of the rules file in use.

        Returns
        -------
        str
            The rules file.
        """
        return self.rules_file

    def get_rules_header(self, filename: str | Path) -> tuple[float | None, str | None]:
        """Return ``(version, instrument lower case)`` declared by a rules file.

        Parameters
        ----------
        filename : str or Path
            A rules file.

        Returns
        -------
        tuple
            Version (float or None) and instrument (or None); an undeclared
            instrument is taken from a ``<inst>_header.rules`` file name.
        """
        parsed = RulesFile.read(filename, strict=False)
        inst = parsed.instrument.lower() if parsed.instrument else None
        if inst is None and Path(filename).name.lower().endswith(self.rules_name_suffix):
            inst = Path(filename).name.lower()[: -len(self.rules_name_suffix)]
        return parsed.version, inst

    def interpret_rules(self, hdrs: fits.Header | Iterable[fits.Header]) -> ExpandedRules:
        """Expand wildcards and sections against ``hdrs``.

        Parameters
        ----------
        hdrs : Header or iterable of Header
            Headers the rules will be applied to.

        Returns
        -------
        ExpandedRules
            The concrete rules (also kept as ``self.expanded``).
        """
        hdrs = [hdrs] if isinstance(hdrs, fits.Header) else list(hdrs)
        self.expanded = self.parsed.expand(hdrs)
        return self.expanded

    @property
    def rules(self) -> list[tuple[Any, ...]]:
        """Concrete rules as ``(keyword, name[, function])`` tuples (after interpretation)."""
        if self.expanded is None:
            return []
        return ([(c.keyword, c.name) for c in self.expanded.columns]
                + [(f.keyword, f.name, f.function) for f in self.expanded.functions])

    def merge(self, kwrules: KeywordRules) -> None:
        """Append the rules of another instrument not already present.

        Parameters
        ----------
        kwrules : KeywordRules
            The other rules.
        """
        self.parsed = self.parsed.merged(kwrules.parsed)
        self.rule_specs = list(self.parsed.lines)
        self.expanded = None

    def apply(self, headers: Sequence[fits.Header], tabhdu: bool = False
              ) -> tuple[fits.Header, Any]:
        """Blend one kind of header (e.g. all SCI headers).

        Parameters
        ----------
        headers : sequence of Header
            Headers of one kind, one per input.
        tabhdu : bool, optional
            Return the table as a ``BinTableHDU`` instead of its data.

        Returns
        -------
        tuple
            The new header and the table (``FITS_rec``, ``BinTableHDU`` or
            None).
        """
        sets = [HeaderSet(h, h, name=f"header {i + 1}", exposure=str(i))
                for i, h in enumerate(headers)]
        result = blend(sets, self.parsed, history=False)
        self.expanded = result.rules
        table = result.table
        if table is not None and not tabhdu:
            return result.sci, table.data
        return result.sci, table

    def add_rules_kws(self, hdr: fits.Header) -> None:
        """Add ``RULESVER``, ``BLENDVER``, ``RULEFILE`` and the HISTORY summary.

        Parameters
        ----------
        hdr : astropy.io.fits.Header
            PRIMARY header to update in place.
        """
        add_rules_keywords(hdr, [self.parsed], self.expanded or self.parsed.expand([hdr]))

    def index_of(self, kw: str) -> list[int]:
        """Positions in :attr:`rules` of the rules reading keyword ``kw``.

        Parameters
        ----------
        kw : str
            A keyword.

        Returns
        -------
        list of int
            Indices into :attr:`rules`.
        """
        return [i for i, r in enumerate(self.rules) if r[0] == kw.upper()]

    def __repr__(self) -> str:
        return (f"KeywordRules({self.instrument!r}, rules_file={Path(self.rules_file).name!r}, "
                f"version={self.rules_version}, {len(self.parsed.rules)} rules, "
                f"fitsblender-ng {__version__})")
