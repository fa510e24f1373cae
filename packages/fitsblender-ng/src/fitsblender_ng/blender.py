"""The blending engine: rules + input header sets -> product headers + HDRTAB.

No file I/O happens here: inputs are :class:`HeaderSet` objects (the PRIMARY
header of an exposure and the headers of one of its chips) and the result is
a :class:`BlendResult` holding four new headers and the HDRTAB table.

How each output header is made, for each header kind (PRIMARY over the
*distinct* exposures; SCI, ERR and DQ over every chip):

1. Start from the first input's header (the template), keeping its card
   order and comments.
2. Remove keywords that the rules move to the table without a header rule
   writing them back, keywords of ``<delete>`` rules, and section title cards
   whose section became empty.  FITS structural keywords (``SIMPLE``,
   ``BITPIX``, ``NAXIS*``, ``EXTEND``, ``XTENSION``, ``PCOUNT``, ``GCOUNT``,
   ``BSCALE``/``BZERO``/``BLANK``, ``EXTNAME``, ``EXTVER`` ...) are never removed
   or overwritten, so every output header remains valid FITS.
3. For every header rule whose source keyword appears in at least one input
   header of this kind, write ``NAME = function(values)``.
4. If the SIP coefficients are gone (no ``A_ORDER``), strip ``-SIP`` from
   ``CTYPE1``/``CTYPE2`` so that the header's WCS stays consistent.

The HDRTAB table has one row per chip, built from the chip's SCI header and
then its PRIMARY header (a keyword in both takes the SCI value).
"""

from __future__ import annotations

import logging
import math
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from . import __version__
from .errors import MissingKeywordError
from .functions import ErrorPolicy, is_missing, reduce_values
from .rules import ExpandedRules, RulesFile, is_section_title

__all__ = [
    "INDEF",
    "PROTECTED_KEYWORDS",
    "RULES_HISTORY_TITLE",
    "add_rules_keywords",
    "drop_empty_sections",
    "BlendResult",
    "HeaderSet",
    "blend",
    "exposure_key",
    "is_protected",
    "make_table",
]

log = logging.getLogger(__name__)

#: Text written in string table cells for a missing value.
INDEF = "INDEF"
#: First HISTORY line of the rules summary (after a line of ``=``).
RULES_HISTORY_TITLE = "Header blending rules (fitsblender-ng):"

#: Keywords the rules may copy to the table but never remove or overwrite.
PROTECTED_KEYWORDS = frozenset({
    "SIMPLE", "BITPIX", "NAXIS", "EXTEND", "XTENSION", "PCOUNT", "GCOUNT", "GROUPS",
    "TFIELDS", "BSCALE", "BZERO", "BLANK", "EXTNAME", "EXTVER", "EXTLEVEL", "END",
    "CHECKSUM", "DATASUM", "ZIMAGE", "ZBITPIX", "ZCMPTYPE",
})
_NAXISN = re.compile(r"^NAXIS\d{1,3}$")
_COMMENTARY = frozenset({"", "HISTORY", "COMMENT"})
_MISSING = object()


def is_protected(keyword: str) -> bool:
    """Whether ``keyword`` describes the data structure and must be kept.

    Parameters
    ----------
    keyword : str
        Upper-case keyword.

    Returns
    -------
    bool
        True for :data:`PROTECTED_KEYWORDS` and ``NAXISn``.
    """
    return keyword in PROTECTED_KEYWORDS or bool(_NAXISN.match(keyword))


def exposure_key(primary: fits.Header) -> str:
    """Identify the exposure a PRIMARY header belongs to.

    Parameters
    ----------
    primary : astropy.io.fits.Header
        A PRIMARY header.

    Returns
    -------
    str
        ``ROOTNAME`` (upper case), else ``FILENAME``, else the object id: chips
        with the same key share one PRIMARY header in the blend.
    """
    for kw in ("ROOTNAME", "FILENAME"):
        value = primary.get(kw)
        if isinstance(value, str) and value.strip():
            return f"{kw}={value.strip().upper()}"
    return f"id={id(primary)}"


@dataclass
class HeaderSet:
    """The headers of one input chip.

    Parameters
    ----------
    primary : astropy.io.fits.Header
        The exposure's PRIMARY header (share the same object between the
        chips of one exposure, or give them the same ``ROOTNAME``).
    sci : astropy.io.fits.Header
        The chip's SCI header.
    err, dq : astropy.io.fits.Header, optional
        The chip's ERR and DQ headers (default: the SCI header).
    name : str, optional
        A label such as ``'j8xi01hlq_flt.fits[sci,2]'`` for messages.
    exposure : str, optional
        Exposure identifier; default :func:`exposure_key` of ``primary``.
    """

    primary: fits.Header
    sci: fits.Header
    err: fits.Header | None = None
    dq: fits.Header | None = None
    name: str = ""
    exposure: str | None = None

    def __post_init__(self) -> None:
        if self.exposure is None:
            self.exposure = exposure_key(self.primary)


@dataclass
class BlendResult:
    """Blended headers and the HDRTAB table.

    Attributes
    ----------
    primary, sci, err, dq : astropy.io.fits.Header
        The new headers.
    table : astropy.io.fits.BinTableHDU or None
        HDRTAB, one row per input chip; None when the rules make no column.
    rules : ExpandedRules
        The concrete rules that were applied.
    """

    primary: fits.Header
    sci: fits.Header
    err: fits.Header
    dq: fits.Header
    table: fits.BinTableHDU | None
    rules: ExpandedRules = field(repr=False)

    @property
    def headers(self) -> list[fits.Header]:
        """``[primary, sci, err, dq]`` (the original's list order)."""
        return [self.primary, self.sci, self.err, self.dq]


def blend(inputs: Sequence[HeaderSet], rules: RulesFile | Sequence[RulesFile], *,
          history: bool = True) -> BlendResult:
    """Blend the headers of many chips with ``rules``.

    Parameters
    ----------
    inputs : sequence of HeaderSet
        One entry per input chip, in the order of the HDRTAB rows.
    rules : RulesFile or sequence of RulesFile
        The rules; several files (one per instrument) are merged in order.
    history : bool, optional
        Add ``RULESVER``, ``BLENDVER``, ``RULEFILE`` and a HISTORY summary of
        the rules to the PRIMARY header (default True).

    Returns
    -------
    BlendResult
        New headers and HDRTAB.

    Raises
    ------
    ValueError
        If ``inputs`` or ``rules`` is empty.
    MissingKeywordError
        If a rule with the ``raise`` error policy meets an input without its
        keyword.
    """
    if not inputs:
        raise ValueError("no input headers to blend")
    files = [rules] if isinstance(rules, RulesFile) else list(rules)
    if not files:
        raise ValueError("no rules to blend with")
    merged = files[0]
    for extra in files[1:]:
        merged = merged.merged(extra)

    primaries: dict[str, fits.Header] = {}
    for chip in inputs:
        primaries.setdefault(chip.exposure or exposure_key(chip.primary), chip.primary)
    prim_list = list(primaries.values())
    sci = [c.sci for c in inputs]
    err = [c.err if c.err is not None else c.sci for c in inputs]
    dq = [c.dq if c.dq is not None else c.sci for c in inputs]

    expanded = merged.expand(prim_list + sci + [h for h in err + dq if h is not None])
    log.debug("blending %d chips of %d exposures with %d columns and %d header rules",
              len(inputs), len(prim_list), len(expanded.columns), len(expanded.functions))
    labels = [c.name or f"input {i + 1}" for i, c in enumerate(inputs)]
    prim_labels = []
    seen: set[str] = set()
    for chip, label in zip(inputs, labels, strict=True):
        if chip.exposure not in seen:
            seen.add(chip.exposure or "")
            prim_labels.append(label)

    cache = _ValueCache()
    out_prim = _blend_kind(prim_list, expanded, prim_labels, cache)
    out_sci = _blend_kind(sci, expanded, labels, cache)
    out_err = _blend_kind(err, expanded, labels, cache)
    out_dq = _blend_kind(dq, expanded, labels, cache)
    table = make_table(inputs, expanded, _cache=cache)
    if history:
        add_rules_keywords(out_prim, files, expanded)
    return BlendResult(out_prim, out_sci, out_err, out_dq, table, expanded)


# -- header values ------------------------------------------------------------------------------
def _card_value(card: fits.Card) -> Any:
    """``card.value`` without astropy's per-call configuration look-up (hot path)."""
    value = getattr(card, "_value", None)
    if value is None or card.field_specifier:
        return card.value
    return value.rstrip() if isinstance(value, str) else value


class _ValueCache:
    """First value of each keyword of each header, read once per header."""

    def __init__(self) -> None:
        self._cache: dict[int, tuple[fits.Header, dict[str, Any]]] = {}

    def __call__(self, hdr: fits.Header) -> dict[str, Any]:
        got = self._cache.get(id(hdr))
        if got is None:
            values: dict[str, Any] = {}
            for card in hdr.cards:
                key = card.keyword
                if key not in values and key not in _COMMENTARY:
                    values[key] = _card_value(card)
            got = (hdr, values)  # keep hdr alive so its id stays unique
            self._cache[id(hdr)] = got
        return got[1]


def _values(dicts: Sequence[dict[str, Any]], keyword: str, policy: ErrorPolicy,
            labels: Sequence[str]) -> list[Any] | None:
    """Values of ``keyword`` (None if no header has it), the error policy applied."""
    if not any(keyword in d for d in dicts):
        return None
    values = []
    for d, label in zip(dicts, labels, strict=True):
        value = d.get(keyword, _MISSING)
        if value is _MISSING or is_missing(value):
            if policy.kind == "raise":
                raise MissingKeywordError(f"keyword {keyword} is missing or undefined",
                                          filename=label)
            if policy.kind == "constant":
                values.append(policy.value)
            continue
        values.append(value)
    return values


def _blend_kind(headers: Sequence[fits.Header], rules: ExpandedRules,
                labels: Sequence[str], cache: _ValueCache) -> fits.Header:
    template = headers[0]
    dicts = [cache(h) for h in headers]
    results: dict[str, tuple[Any, str]] = {}
    for hr in rules.functions:
        if is_protected(hr.name):
            log.warning("rule %s -> %s %s ignored: %s describes the data structure",
                        hr.keyword, hr.name, hr.function, hr.name)
            continue
        values = _values(dicts, hr.keyword, hr.on_error, labels)
        if values is None:
            continue
        result = reduce_values(hr.function, values)
        if result is None:
            continue
        comment = ""
        if hr.keyword in template:
            comment = template.comments[hr.keyword]
        results[hr.name] = (result, comment, hr.keyword)

    remove = (rules.table_only | set(rules.delete)) - set(results)
    cards = [c for c in template.copy().cards if c.keyword in _COMMENTARY
             or not (c.keyword in remove and not is_protected(c.keyword))]
    new = fits.Header(drop_empty_sections(cards))
    for name, (value, comment, source) in results.items():
        if name in new:
            new[name] = value
        elif source in new and source != name:
            new.set(name, value, comment, after=source)
        else:
            new.set(name, value, comment)
    if "A_ORDER" not in new:  # SIP coefficients deleted: the CTYPEs must not claim SIP
        for key in ("CTYPE1", "CTYPE2"):
            value = new.get(key)
            if isinstance(value, str) and value.rstrip().endswith("-SIP"):
                new[key] = value.rstrip()[:-4]
    return new


def drop_empty_sections(cards: Sequence[fits.Card]) -> list[fits.Card]:
    """Remove section title cards (and their blank padding) left without keywords.

    Parameters
    ----------
    cards : sequence of astropy.io.fits.Card
        Header cards in order.

    Returns
    -------
    list of astropy.io.fits.Card
        The cards without empty sections.
    """
    drop: set[int] = set()
    for i, card in enumerate(cards):
        if not is_section_title(card):
            continue
        j = i + 1
        empty = True
        while j < len(cards) and not is_section_title(cards[j]):
            if cards[j].keyword not in _COMMENTARY:
                empty = False
                break
            j += 1
        if empty:
            drop.add(i)
            for k in (i - 1, i + 1):
                if (0 <= k < len(cards) and cards[k].keyword == ""
                        and not str(cards[k].value).strip()):
                    drop.add(k)
    return [c for i, c in enumerate(cards) if i not in drop]


def add_rules_keywords(hdr: fits.Header, files: Sequence[RulesFile],
                       expanded: ExpandedRules) -> None:
    """Record the rules in a PRIMARY header (``RULESVER``, ``BLENDVER``, ``RULEFILE``, HISTORY).

    ``RULEFILE`` holds base names only (never a machine path); the HISTORY
    cards summarise the rules: files, counts, and the header rules grouped by
    function.

    Parameters
    ----------
    hdr : astropy.io.fits.Header
        Header to update in place.
    files : sequence of RulesFile
        The rules files used.
    expanded : ExpandedRules
        The concrete rules that were applied.
    """
    versions = [f.version for f in files if f.version is not None]
    if versions:
        hdr["RULESVER"] = (versions[0], "Version ID for header kw rules file")
    hdr["BLENDVER"] = (f"fitsblender-ng {__version__}", "Version of blending software used")
    names = ",".join(Path(f.filename).name if f.filename else "<in memory>" for f in files)
    hdr["RULEFILE"] = (names, "Name of header kw rules file")
    hdr.add_history("=" * 60)
    hdr.add_history(RULES_HISTORY_TITLE)
    for f in files:
        hdr.add_history(f"  file {Path(f.filename).name if f.filename else '<in memory>'}, "
                        f"version {f.version}, instrument {f.instrument}, {len(f.rules)} rules")
    hdr.add_history(f"  applied: {len(expanded.columns)} column rules, "
                    f"{len(expanded.functions)} header rules, {len(expanded.delete)} deletions, "
                    f"{len(expanded.sections)} section rules")
    by_func: dict[str, list[str]] = {}
    for hr in expanded.functions:
        item = hr.keyword if hr.name == hr.keyword else f"{hr.keyword}->{hr.name}"
        by_func.setdefault(hr.function, []).append(item)
    for func, items in by_func.items():
        for line in textwrap.wrap(f"{func}: " + " ".join(items), width=66,
                                  subsequent_indent="    "):
            hdr.add_history("  " + line)
    hdr.add_history("=" * 60)


# -- HDRTAB ---------------------------------------------------------------------------------
def make_table(inputs: Sequence[HeaderSet], rules: ExpandedRules, *,
               _cache: _ValueCache | None = None) -> fits.BinTableHDU | None:
    """Build HDRTAB: one row per chip, one column per table rule.

    Column types: all-``bool`` -> ``L``; all-integer -> ``K``; numbers -> ``D``
    (an integer or boolean column with a missing value becomes ``D`` with
    ``NaN``, booleans as 1.0/0.0); anything with text -> ``nA`` with n the
    longest value, missing cells hold ``'INDEF'``.  A column no input has a
    value for is left out.

    Parameters
    ----------
    inputs : sequence of HeaderSet
        The chips, in row order.
    rules : ExpandedRules
        Concrete rules (their ``columns``).

    Returns
    -------
    astropy.io.fits.BinTableHDU or None
        The table with ``EXTNAME='HDRTAB'``, or None without columns.

    Raises
    ------
    MissingKeywordError
        If a column with the ``raise`` policy lacks a value for some chip.
    """
    cache = _cache or _ValueCache()
    rows = [{**cache(chip.primary), **cache(chip.sci)} for chip in inputs]
    columns = []
    for col in rules.columns:
        values = []
        for i, row in enumerate(rows):
            value = row.get(col.keyword, _MISSING)
            if value is _MISSING or is_missing(value):
                if col.on_error.kind == "raise":
                    raise MissingKeywordError(
                        f"keyword {col.keyword} is missing or undefined",
                        filename=inputs[i].name or f"input {i + 1}")
                value = col.on_error.value if col.on_error.kind == "constant" else _MISSING
                if is_missing(value):
                    value = _MISSING
            values.append(value)
        if all(v is _MISSING for v in values):
            log.debug("no input has %s: column %s left out", col.keyword, col.name)
            continue
        columns.append(_make_column(col.name, values))
    if not columns:
        return None
    return fits.BinTableHDU.from_columns(columns, name="HDRTAB")


def _kind(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return "bool"
    if isinstance(value, int | np.integer):
        return "int"
    if isinstance(value, float | np.floating):
        return "float"
    return "str"


def _text(value: Any) -> str:
    if value is _MISSING:
        return INDEF
    kind = _kind(value)
    if kind == "bool":
        return "T" if value else "F"
    if kind == "float":
        return repr(float(value))
    return str(value).rstrip() if kind == "str" else str(int(value))


def _make_column(name: str, values: list[Any]) -> fits.Column:
    kinds = {_kind(v) for v in values if v is not _MISSING}
    missing = any(v is _MISSING for v in values)
    if kinds == {"bool"} and not missing:
        return fits.Column(name=name, format="L", array=np.array(values, dtype=bool))
    if kinds == {"int"} and not missing:
        try:
            return fits.Column(name=name, format="K", array=np.array(values, dtype=np.int64))
        except OverflowError:
            pass
    if kinds <= {"int", "float"} or kinds == {"bool"}:
        arr = np.array([math.nan if v is _MISSING else float(v) for v in values],
                       dtype=np.float64)
        return fits.Column(name=name, format="D", array=arr)
    texts = [_text(v) for v in values]
    width = max(1, max(len(t) for t in texts))
    data = [t.encode("ascii", "replace") for t in texts]
    return fits.Column(name=name, format=f"{width}A", array=np.array(data, dtype=f"S{width}"))
