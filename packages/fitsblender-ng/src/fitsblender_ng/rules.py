"""Parse ``.rules`` files and expand their rules against real headers.

File format (compatible with fitsblender 0.4.4; see ``docs/user_guide/blending.rst``)::

    !VERSION = 1.1                 # directive: rules-format version (float)
    !INSTRUMENT = ACS              # directive: instrument the file is for
    # a comment line
    ROOTNAME                       # table column ROOTNAME
    PHOTFLAM  PHOTFLAM  mean       # header keyword PHOTFLAM = mean of inputs
    EXPTIME   TEXPTIME  sum        # header keyword TEXPTIME = sum of EXPTIME
    CRVAL1    RA_REF               # table column RA_REF holding CRVAL1
    A_*                            # wildcard: one column per matching keyword
    <delete> NPOLEXT               # delete from the output headers
    / PROPOSAL INFORMATION         # section: its keywords become table columns
    <delete> / ENGINEERING PARAMETERS   # section: its keywords are deleted

An optional fourth field after a function sets the rule's error policy
(``ignore``, ``raise``, ``constant`` or ``constant=<value>``; see
:class:`~fitsblender_ng.functions.ErrorPolicy`); this is an addition to the
original grammar, which has no way to spell it.
"""

from __future__ import annotations

import fnmatch
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from astropy.io import fits

from .errors import RulesNotFoundError, RulesSyntaxError
from .functions import REDUCERS, ErrorPolicy

__all__ = [
    "DELETE_COMMAND",
    "GENERIC_RULES",
    "SUPPORTED_VERSION",
    "Column",
    "ExpandedRules",
    "HeaderRule",
    "Rule",
    "RulesFile",
    "default_rules_path",
    "find_keywords_in_section",
    "find_rules_file",
    "is_section_title",
]

log = logging.getLogger(__name__)

#: Highest rules-format version this code understands (as the original).
SUPPORTED_VERSION = 1.1
#: The prefix marking a deletion rule.
DELETE_COMMAND = "<delete>"
#: The package rules file used when no instrument-specific file exists.
GENERIC_RULES = "hst_header.rules"

_KEYWORD = re.compile(r"^[A-Z0-9_\-]{1,8}$")
_PATTERN = re.compile(r"^[A-Z0-9_\-*?.]+$")
_COLUMN = re.compile(r"^[A-Za-z0-9_\-.]{1,68}$")
_COMMENTARY = frozenset({"", "HISTORY", "COMMENT"})


@dataclass(frozen=True)
class Rule:
    """One parsed rule line.

    Parameters
    ----------
    keyword : str
        Upper-case source keyword or wildcard pattern (``*`` any text, ``?``
        one character); empty for section rules.
    name : str or None
        Column name (table rule) or output keyword (function rule); None means
        the same as ``keyword``.
    function : str or None
        Reducer name (a key of :data:`~fitsblender_ng.functions.REDUCERS`);
        None for table, deletion and section rules.
    delete : bool
        True for ``<delete>`` rules.
    section : str or None
        Section title for section rules (text after ``/``).
    on_error : ErrorPolicy
        What to do with inputs that lack the keyword.
    text, filename, lineno
        Where the rule came from (not part of rule equality).
    """

    keyword: str
    name: str | None = None
    function: str | None = None
    delete: bool = False
    section: str | None = None
    on_error: ErrorPolicy = ErrorPolicy()
    text: str = field(default="", compare=False)
    filename: str | None = field(default=None, compare=False)
    lineno: int | None = field(default=None, compare=False)

    @property
    def kind(self) -> str:
        """One of ``table``, ``header``, ``delete``, ``section``, ``delete-section``."""
        if self.section is not None:
            return "delete-section" if self.delete else "section"
        if self.delete:
            return "delete"
        return "header" if self.function else "table"

    @property
    def target(self) -> str:
        """The column or output keyword name."""
        return self.name or self.keyword

    @property
    def is_wildcard(self) -> bool:
        """Whether ``keyword`` is a pattern."""
        return "*" in self.keyword or "?" in self.keyword


@dataclass(frozen=True)
class Column:
    """A concrete HDRTAB column: values of ``keyword``, one per input chip."""

    keyword: str
    name: str
    on_error: ErrorPolicy = ErrorPolicy()


@dataclass(frozen=True)
class HeaderRule:
    """A concrete header rule: ``name = function(values of keyword)``."""

    keyword: str
    name: str
    function: str
    on_error: ErrorPolicy = ErrorPolicy()


@dataclass
class ExpandedRules:
    """Rules with wildcards and sections resolved against a set of headers.

    Attributes
    ----------
    columns : list of Column
        HDRTAB columns in rule order (unique names).
    functions : list of HeaderRule
        Header rules in rule order (unique output names).
    delete : list of str
        Keywords to delete from output headers.
    sections : list of str
        Section titles named by section rules.
    """

    columns: list[Column] = field(default_factory=list)
    functions: list[HeaderRule] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)

    @property
    def table_only(self) -> set[str]:
        """Source keywords with a column but no header rule writing them back."""
        written = {f.name for f in self.functions}
        return {c.keyword for c in self.columns} - written


def _error(msg: str, filename: str | None, lineno: int | None) -> RulesSyntaxError:
    return RulesSyntaxError(msg, filename=filename, lineno=lineno)


@dataclass(frozen=True)
class RulesFile:
    """A parsed rules file.

    Parameters
    ----------
    rules : tuple of Rule
        Rules in file order, duplicates removed.
    version : float or None
        Value of ``!VERSION``.
    instrument : str or None
        Value of ``!INSTRUMENT`` (upper case).
    filename : str or None
        Where the rules were read from.
    lines : tuple of str
        The rule lines verbatim (for the HISTORY record).
    """

    rules: tuple[Rule, ...]
    version: float | None = None
    instrument: str | None = None
    filename: str | None = None
    lines: tuple[str, ...] = ()

    # -- parsing ---------------------------------------------------------------------
    @classmethod
    def read(cls, path: str | Path, *, strict: bool = True) -> RulesFile:
        """Read and parse a rules file.

        Parameters
        ----------
        path : str or Path
            The ``.rules`` file.
        strict : bool, optional
            See :meth:`parse`.

        Returns
        -------
        RulesFile
            The parsed rules.

        Raises
        ------
        RulesNotFoundError
            If the file does not exist or cannot be read.
        RulesSyntaxError
            If a line cannot be parsed (message gives file and line).
        """
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise RulesNotFoundError("rules file does not exist", filename=str(path)) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise RulesNotFoundError(f"cannot read rules file: {exc}", filename=str(path)) from None
        return cls.parse(text, filename=str(path), strict=strict)

    @classmethod
    def parse(cls, text: str, filename: str | None = None, *, strict: bool = True) -> RulesFile:
        """Parse the text of a rules file.

        Parameters
        ----------
        text : str
            File content.
        filename : str, optional
            Name used in error messages.
        strict : bool, optional
            When True (default) an unknown function name is an error; when
            False it makes the rule a table rule, as the original does, and is
            logged as a warning.

        Returns
        -------
        RulesFile
            The parsed rules.

        Raises
        ------
        RulesSyntaxError
            If a line cannot be parsed.
        """
        version: float | None = None
        instrument: str | None = None
        rules: list[Rule] = []
        lines: list[str] = []
        seen: dict[Rule, int] = {}
        targets: dict[tuple[str, str], Rule] = {}
        for lineno, raw in enumerate(text.splitlines(), start=1):
            if not raw.strip() or raw.lstrip().startswith("#"):
                continue
            if raw[0] in " \t":
                log.warning("%s:%d: line starts with white space; ignored as in the original "
                            "format", filename or "<rules>", lineno)
                continue
            if raw.startswith("!"):
                name, value = _parse_directive(raw, filename, lineno)
                if name == "VERSION":
                    if version is not None:
                        raise _error("!VERSION given twice", filename, lineno)
                    try:
                        version = float(value)
                    except ValueError:
                        raise _error(f"!VERSION value {value!r} is not a number",
                                     filename, lineno) from None
                else:
                    if instrument is not None:
                        raise _error("!INSTRUMENT given twice", filename, lineno)
                    instrument = value.upper()
                continue
            rule = _parse_rule(raw, filename, lineno, strict)
            if rule is None:
                continue
            if rule in seen:
                log.debug("%s:%d: duplicate of line %d ignored", filename, lineno, seen[rule])
                continue
            _check_conflict(rule, targets)
            seen[rule] = lineno
            rules.append(rule)
            lines.append(raw.rstrip())
        if version is not None and version > SUPPORTED_VERSION:
            log.warning("%s: rules version %s is newer than supported %s",
                        filename or "<rules>", version, SUPPORTED_VERSION)
        return cls(tuple(rules), version, instrument, filename, tuple(lines))

    # -- combination and expansion ------------------------------------------------------
    def merged(self, other: RulesFile) -> RulesFile:
        """Return these rules followed by the rules of ``other`` not already present.

        Parameters
        ----------
        other : RulesFile
            Rules for another instrument.

        Returns
        -------
        RulesFile
            The combined rules (version, instrument and filename of ``self``).
        """
        have = set(self.rules)
        extra = [(r, t) for r, t in zip(other.rules, other.lines, strict=True) if r not in have]
        return RulesFile(self.rules + tuple(r for r, _ in extra), self.version, self.instrument,
                         self.filename, self.lines + tuple(t for _, t in extra))

    def expand(self, headers: Sequence[fits.Header]) -> ExpandedRules:
        """Resolve wildcards and sections against ``headers``.

        A wildcard matches the keywords of *all* headers (in order of first
        appearance); a section collects its keywords from every header that
        has the section title.

        Parameters
        ----------
        headers : sequence of astropy.io.fits.Header
            The headers the rules will be applied to.

        Returns
        -------
        ExpandedRules
            Concrete columns, header rules, deletions and section titles.
        """
        keys: dict[str, None] = {}
        needs_keys = any(r.is_wildcard for r in self.rules)
        if needs_keys:
            for hdr in headers:
                for k in hdr.keys():
                    if k not in _COMMENTARY:
                        keys.setdefault(k, None)
        out = ExpandedRules()
        col_names: set[str] = set()
        fn_names: set[str] = set()
        deleted: dict[str, None] = {}
        for rule in self.rules:
            if rule.section is not None:
                out.sections.append(rule.section)
                found: dict[str, None] = {}
                for hdr in headers:
                    for kw in find_keywords_in_section(hdr, rule.section) or ():
                        found.setdefault(kw, None)
                names = list(found)
                if rule.delete:
                    deleted.update(found)
                    continue
                for kw in names:
                    if kw.upper() not in col_names:
                        col_names.add(kw.upper())
                        out.columns.append(Column(kw, kw, rule.on_error))
                continue
            if rule.is_wildcard:
                matched = [k for k in keys if fnmatch.fnmatchcase(k, rule.keyword)]
            else:
                matched = [rule.keyword]
            for kw in matched:
                target = kw if rule.is_wildcard else rule.target
                if rule.delete:
                    deleted.setdefault(kw, None)
                elif rule.function:
                    if target not in fn_names:
                        fn_names.add(target)
                        out.functions.append(HeaderRule(kw, target, rule.function, rule.on_error))
                elif target.upper() not in col_names:
                    col_names.add(target.upper())
                    out.columns.append(Column(kw, target, rule.on_error))
        out.delete = list(deleted)
        return out


def _parse_directive(raw: str, filename: str | None, lineno: int) -> tuple[str, str]:
    body = raw[1:].split("#", 1)[0].strip()
    name, sep, value = body.partition("=")
    name = name.strip().upper()
    if name not in ("VERSION", "INSTRUMENT"):
        raise _error(f"unknown directive !{name or '?'} (known: !VERSION, !INSTRUMENT)",
                     filename, lineno)
    value = value.strip()
    if not sep or not value:
        raise _error(f"!{name} needs '= <value>'", filename, lineno)
    return name, value


def _parse_rule(raw: str, filename: str | None, lineno: int, strict: bool) -> Rule | None:
    body = raw.split("#", 1)[0].strip()
    if not body:
        return None
    delete = False
    if body.lower().startswith(DELETE_COMMAND):
        delete = True
        body = body[len(DELETE_COMMAND):].strip()
        if not body:
            raise _error("<delete> needs a keyword or a '/ SECTION TITLE'", filename, lineno)
    if "<" in body or ">" in body:
        raise _error(f"unknown command in {body!r} (only <delete> is known)", filename, lineno)
    if body.startswith("/"):
        title = body[1:].strip()
        if not title:
            raise _error("section rule needs a title after '/'", filename, lineno)
        return Rule("", section=title, delete=delete, text=raw.rstrip(), filename=filename,
                    lineno=lineno)
    if "/" in body:
        raise _error("a section rule must start with '/' (or '<delete> /')", filename, lineno)
    fields = body.split()
    keyword = fields[0].upper()
    if not _PATTERN.match(keyword) or (
            "*" not in keyword and "?" not in keyword and "." not in keyword
            and not _KEYWORD.match(keyword)):
        raise _error(f"{fields[0]!r} is not a FITS keyword or keyword pattern", filename, lineno)
    wildcard = "*" in keyword or "?" in keyword
    if delete:
        if len(fields) > 1:
            raise _error("a <delete> rule takes only the keyword", filename, lineno)
        return Rule(keyword, delete=True, text=raw.rstrip(), filename=filename, lineno=lineno)
    if len(fields) > 4:
        raise _error(f"too many fields ({len(fields)}); expected KEYWORD [NAME [FUNCTION "
                     "[ERROR]]]", filename, lineno)
    name = fields[1] if len(fields) > 1 else None
    function = fields[2].lower() if len(fields) > 2 else None
    if name is not None:
        if wildcard and name.upper() != keyword:
            raise _error("a wildcard rule cannot rename: the second field must repeat the "
                         "pattern", filename, lineno)
        if not wildcard and not _COLUMN.match(name):
            raise _error(f"{name!r} is not a valid column or keyword name", filename, lineno)
    on_error = ErrorPolicy()
    if len(fields) > 3:
        try:
            on_error = ErrorPolicy.parse(fields[3])
        except ValueError as exc:
            raise _error(str(exc), filename, lineno) from None
    if function is not None and function not in REDUCERS:
        if strict:
            raise _error(f"unknown function {fields[2]!r}; known: {', '.join(REDUCERS)}",
                         filename, lineno)
        log.warning("%s:%d: unknown function %r: rule treated as a table column (as the "
                    "original)", filename or "<rules>", lineno, fields[2])
        function = None
    if function is not None:
        name = (name or keyword).upper()
        if not wildcard and not _KEYWORD.match(name):
            raise _error(f"output keyword {name!r} is not a valid FITS keyword", filename, lineno)
    elif name is not None and wildcard:
        name = name.upper()
    if name is not None and name == keyword:
        name = None
    return Rule(keyword, name, function, on_error=on_error, text=raw.rstrip(),
                filename=filename, lineno=lineno)


def _check_conflict(rule: Rule, targets: dict[tuple[str, str], Rule]) -> None:
    if rule.kind not in ("table", "header") or rule.is_wildcard:
        return
    key = (rule.kind, rule.target if rule.kind == "header" else rule.target.upper())
    other = targets.get(key)
    if other is not None:
        what = "output keyword" if rule.kind == "header" else "table column"
        raise _error(f"{what} {rule.target} already defined on line {other.lineno}",
                     rule.filename, rule.lineno)
    targets[key] = rule


# -- sections --------------------------------------------------------------------------------
def _norm_title(text: str) -> str:
    return " ".join(text.strip().lstrip("/").split()).upper()


def is_section_title(card: fits.Card) -> bool:
    """Whether ``card`` is an HST section title (blank keyword, text starting with ``/``).

    Parameters
    ----------
    card : astropy.io.fits.Card
        A header card.

    Returns
    -------
    bool
        True for cards such as ``        / PROPOSAL INFORMATION``.
    """
    return card.keyword == "" and str(card.value).strip().startswith("/")


def find_keywords_in_section(hdr: fits.Header, title: str) -> list[str] | None:
    """Return the keywords of the section titled ``title`` in ``hdr``.

    The section runs from its title card to the next title card (or the end
    of the header); commentary cards (blank, ``HISTORY``, ``COMMENT``) are not
    keywords.  Titles compare case-insensitively, ignoring the ``/`` and extra
    blanks.

    Parameters
    ----------
    hdr : astropy.io.fits.Header
        The header to search.
    title : str
        Section title, with or without the leading ``/``.

    Returns
    -------
    list of str or None
        The section's keywords in header order, or None if ``hdr`` has no such
        section.
    """
    want = _norm_title(title)
    inside = False
    found: list[str] | None = None
    for card in hdr.cards:
        if is_section_title(card):
            if inside:
                break
            if _norm_title(str(card.value)) == want:
                inside = True
                found = []
            continue
        if inside and card.keyword not in _COMMENTARY:
            found.append(card.keyword)  # type: ignore[union-attr]
    return found


# -- rules-file selection ----------------------------------------------------------------------
def default_rules_path(name: str) -> Path:
    """Path of a rules file shipped with the package.

    Parameters
    ----------
    name : str
        An instrument (``'ACS'``), or a file name (``'acs_header.rules'``).

    Returns
    -------
    Path
        ``<package>/rules/<instrument lower>_header.rules`` (may not exist).
    """
    fname = name if name.endswith(".rules") else f"{name.strip().lower()}_header.rules"
    return Path(str(resources.files("fitsblender_ng").joinpath("rules", fname)))


def find_rules_file(instrument: str | None, telescope: str | None = "HST",
                    rules_file: str | Path | None = None) -> Path:
    """Choose the rules file for an instrument.

    Order: (1) ``rules_file`` when given; (2) the package's
    ``<instrument>_header.rules``; (3) the package's
    ``<telescope>_header.rules``; (4) the generic :data:`GENERIC_RULES`.
    Unlike the original, the current directory is never searched.

    Parameters
    ----------
    instrument : str or None
        Value of ``INSTRUME``.
    telescope : str or None, optional
        Value of ``TELESCOP``.
    rules_file : str or Path, optional
        A user rules file; it must exist.

    Returns
    -------
    Path
        The rules file to use.

    Raises
    ------
    RulesNotFoundError
        If ``rules_file`` is given but does not exist.
    """
    if rules_file is not None:
        path = Path(rules_file)
        if not path.is_file():
            raise RulesNotFoundError("rules file does not exist", filename=str(path))
        return path
    for name in (instrument, telescope):
        if name and re.fullmatch(r"[A-Za-z0-9_\-]+", name.strip()):
            path = default_rules_path(name)
            if path.is_file():
                return path
    log.info("no rules for instrument %r / telescope %r; using the generic %s",
             instrument, telescope, GENERIC_RULES)
    return default_rules_path(GENERIC_RULES)


def iter_rule_kinds(rules: Iterable[Rule]) -> dict[str, int]:
    """Count rules by :attr:`Rule.kind` (used in logs and the ``rules`` CLI verb).

    Parameters
    ----------
    rules : iterable of Rule
        Parsed rules.

    Returns
    -------
    dict
        Kind -> number of rules.
    """
    counts: dict[str, int] = {}
    for r in rules:
        counts[r.kind] = counts.get(r.kind, 0) + 1
    return counts
