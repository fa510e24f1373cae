"""Shared helpers of the coordinate tasks (pixtosky, skytopix, pixtopix).

* :func:`parse_colnames` and :func:`read_coordfile`: coordinate lists in
  ASCII files (whitespace or ``separator`` delimited, ``#`` comments, one
  position per line) or FITS binary tables, with the columns chosen as
  ``'c1,c2'``, ``['c3', 'c4']``, ``'c1-c3'`` (several columns joined into one
  sexagesimal value) or table column names;
* :func:`parse_skypos` / :func:`parse_sky_arrays`: RA/Dec given in degrees or
  as sexagesimal text (``'12:34:56.7'``, ``'12 34 56.7'``, ``'12h34m56.7s'``;
  RA in hours, Dec in degrees);
* :func:`format_hms`: sexagesimal text ``H:M:S.sss`` / ``D:M:S.sss`` with
  ``precision`` decimals (unpadded fields, as the original tasks print them);
* :func:`as_positions`, :func:`load_wcs`, :func:`write_coordinate_file`,
  :func:`emit_table`: the plumbing the three tasks share.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from .errors import ConfigError, FileUpdateError, InputFileError

log = logging.getLogger(__name__)

__all__ = [
    "parse_colnames",
    "read_coordfile",
    "parse_angle",
    "parse_skypos",
    "parse_sky_arrays",
    "format_hms",
    "format_fixed",
    "as_positions",
    "load_wcs",
    "write_coordinate_file",
    "emit_table",
    "write_text_atomic",
    "drizzlepac_errors",
    "expand_files",
    "is_blank",
]

_BLANK = (None, "", "None", "none", "INDEF")
_SEXA_SEPARATORS = re.compile(r"[hHdDmMsS:°'\"\s]+")


def is_blank(value: Any) -> bool:
    """True for the values the original tasks treat as "not given" (None, '', 'INDEF').

    Parameters
    ----------
    value : object

    Returns
    -------
    bool
    """
    return value is None or (isinstance(value, str) and value.strip() in _BLANK)


# ---------------------------------------------------------------------------------------------
# column specifications and coordinate files
# ---------------------------------------------------------------------------------------------
def _one_colspec(spec: Any) -> list[int | str]:
    """One output column: a list of 0-based column indices (or table column names)."""
    if isinstance(spec, (list, tuple)):
        out: list[int | str] = []
        for item in spec:
            out.extend(_one_colspec(item))
        return out
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        if spec < 1:
            raise ConfigError(f"column number {spec} is invalid (columns count from 1)")
        return [int(spec) - 1]
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(f"invalid column specification {spec!r}")
    text = spec.strip()
    rng = re.fullmatch(r"[cC]?(\d+)\s*[-:]\s*[cC]?(\d+)", text)
    if rng:
        lo, hi = int(rng.group(1)), int(rng.group(2))
        if lo < 1 or hi < lo:
            raise ConfigError(f"invalid column range {spec!r}")
        return list(range(lo - 1, hi))
    parts = text.split()
    if len(parts) > 1:
        return _one_colspec(parts)
    num = re.fullmatch(r"[cC]?(\d+)", text)
    if num:
        return _one_colspec(int(num.group(1)))
    return [text]  # a column name (FITS tables)


def parse_colnames(colnames: Any, ncols: int = 2) -> list[list[int | str]]:
    """Interpret a ``colnames`` parameter.

    Parameters
    ----------
    colnames : str, sequence or None
        None/blank: the first ``ncols`` columns.  ``'c1,c2'`` or ``['c3', 'c4']``
        (1-based, the ``cN`` prefix optional), ``['c1-c3', 'c4-c6']`` or
        ``[['c1', 'c2', 'c3'], ...]`` (several columns joined into one
        sexagesimal value), or names of FITS table columns.
    ncols : int, optional
        Number of output columns expected.

    Returns
    -------
    list of list
        For each output column, the 0-based file columns (or names) it is made of.

    Raises
    ------
    ConfigError
        If the specification is invalid or does not give ``ncols`` columns.
    """
    if is_blank(colnames):
        return [[i] for i in range(ncols)]
    if isinstance(colnames, str):
        items: Sequence[Any] = [c for c in colnames.split(",") if c.strip()]
    elif isinstance(colnames, (list, tuple)):
        items = list(colnames)
    else:
        raise ConfigError(f"colnames must be a string or a list, not {type(colnames).__name__}")
    if len(items) != ncols:
        raise ConfigError(f"colnames {colnames!r} gives {len(items)} column(s); {ncols} are needed")
    return [_one_colspec(item) for item in items]


def _is_fits(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(9) == b"SIMPLE  ="
    except OSError:
        return False


def _read_fits_table(path: Path, cols: list[list[int | str]]) -> list[list[str]]:
    try:
        with fits.open(path, memmap=False) as hdul:
            table = next((h for h in hdul if isinstance(h, fits.BinTableHDU | fits.TableHDU)),
                         None)
            if table is None:
                raise InputFileError("FITS coordinate file has no table extension",
                                     filename=str(path))
            names = [n.lower() for n in table.columns.names]
            data = table.data
            columns = []
            for spec in cols:
                fields = []
                for c in spec:
                    if isinstance(c, int):
                        if c >= len(names):
                            raise InputFileError(f"table has {len(names)} columns; column "
                                                 f"c{c + 1} does not exist", filename=str(path))
                        idx = c
                    elif c.lower() in names:
                        idx = names.index(c.lower())
                    else:
                        raise InputFileError(f"table has no column {c!r} (columns: "
                                             f"{', '.join(table.columns.names)})",
                                             filename=str(path))
                    fields.append([str(v).strip() for v in np.atleast_1d(data.field(idx))])
                columns.append([" ".join(vals) for vals in zip(*fields, strict=True)])
    except (OSError, ValueError) as exc:
        if isinstance(exc, InputFileError):
            raise
        raise InputFileError(f"cannot read the FITS table ({exc})", filename=str(path)) from exc
    return [list(row) for row in zip(*columns, strict=True)]


def _read_ascii(path: Path, cols: list[list[int | str]], separator: str | None
                ) -> list[list[str]]:
    if any(isinstance(c, str) for spec in cols for c in spec):
        names = [c for spec in cols for c in spec if isinstance(c, str)]
        raise ConfigError(f"column names {names} need a FITS table; in ASCII files give "
                          "column numbers ('c1,c2')")
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputFileError(f"cannot read the coordinate file ({exc})",
                             filename=str(path)) from exc
    sep = None if is_blank(separator) or not str(separator).strip() else str(separator)
    rows = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#") or "INDEF" in line:
            continue
        fields = [f.strip() for f in line.split(sep)]
        row = []
        for spec in cols:
            try:
                row.append(" ".join(fields[c] for c in spec))  # type: ignore[index]
            except IndexError:
                want = max(c for c in spec if isinstance(c, int)) + 1
                raise InputFileError(f"line {lineno} has {len(fields)} column(s); column c{want} "
                                     "was requested", filename=str(path)) from None
        rows.append(row)
    return rows


def read_coordfile(coordfile: str | os.PathLike, colnames: Any = None,
                   separator: str | None = None, *, sky: bool = False
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Read two coordinate columns from a file.

    Parameters
    ----------
    coordfile : str or path-like
        ASCII file (one position per line; blank lines, ``#`` comments and
        lines containing ``INDEF`` skipped) or a FITS file with a table.
    colnames : str or list, optional
        See :func:`parse_colnames` (default: the first two columns).
    separator : str, optional
        Column delimiter of an ASCII file (default: white space).
    sky : bool, optional
        The columns are RA and Dec: values may be sexagesimal (RA in hours).

    Returns
    -------
    c1, c2 : ndarray of float64
        Pixel positions, or RA/Dec in degrees when ``sky``.

    Raises
    ------
    InputFileError
        If the file is missing, unreadable, has no positions or a value cannot
        be read as a number (the message names the line).
    ConfigError
        If ``colnames`` is invalid.
    """
    if not isinstance(coordfile, (str, os.PathLike)):
        raise ConfigError(f"the coordinate file must be a file name, not {coordfile!r}")
    path = Path(coordfile)
    if not path.is_file():
        raise InputFileError("coordinate file does not exist", filename=str(path))
    cols = parse_colnames(colnames, 2)
    rows = _read_fits_table(path, cols) if _is_fits(path) else _read_ascii(path, cols, separator)
    if not rows:
        raise InputFileError("coordinate file contains no positions", filename=str(path))
    a = np.empty(len(rows))
    b = np.empty(len(rows))
    for i, (v1, v2) in enumerate(rows):
        try:
            if sky:
                a[i], b[i] = parse_skypos(v1, v2)
            else:
                a[i], b[i] = float(v1), float(v2)
        except (ValueError, ConfigError) as exc:
            raise InputFileError(f"position {i + 1} ({v1!r}, {v2!r}) cannot be read: "
                                 f"{getattr(exc, 'reason', exc)}", filename=str(path)) from None
    return a, b


# ---------------------------------------------------------------------------------------------
# sexagesimal
# ---------------------------------------------------------------------------------------------
def parse_angle(value: Any, *, hours: bool) -> float:
    """One angle in degrees from a number or sexagesimal text.

    Parameters
    ----------
    value : float, str or sequence
        A number (degrees), a decimal string, ``'D:M:S'``, ``'D M S'``,
        ``'12h34m56.7s'``, ``'-0d30m00s'`` or ``['12', '34', '56.7']``.
    hours : bool
        Sexagesimal values are hours (RA) rather than degrees.

    Returns
    -------
    float
        Degrees.

    Raises
    ------
    ConfigError
        If the value cannot be understood.
    """
    if isinstance(value, (list, tuple)):
        value = " ".join(str(v) for v in value)
    if isinstance(value, bytes):
        value = value.decode()
    if not isinstance(value, str):
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"invalid coordinate {value!r}") from None
    text = value.strip()
    try:
        return float(text)
    except ValueError:
        pass
    negative = text.startswith("-")
    body = text.lstrip("+-").strip()
    parts = [p for p in _SEXA_SEPARATORS.split(body) if p]
    if not 1 <= len(parts) <= 3:
        raise ConfigError(f"invalid sexagesimal coordinate {value!r}")
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        raise ConfigError(f"invalid sexagesimal coordinate {value!r}") from None
    if any(n < 0 for n in nums) or any(n >= 60 for n in nums[1:]):
        raise ConfigError(f"invalid sexagesimal coordinate {value!r} (minutes and seconds "
                          "must be in [0, 60))")
    angle = sum(n / 60.0**i for i, n in enumerate(nums))
    angle = -angle if negative else angle
    return angle * 15.0 if hours else angle


def parse_skypos(ra: Any, dec: Any) -> tuple[float, float]:
    """RA and Dec in degrees from numbers or sexagesimal text (RA in hours).

    Parameters
    ----------
    ra, dec : float, str or sequence
        See :func:`parse_angle`.

    Returns
    -------
    (float, float)

    Raises
    ------
    ConfigError
        If a value cannot be understood or Dec is outside [-90, 90].
    """
    r = parse_angle(ra, hours=True)
    d = parse_angle(dec, hours=False)
    if not (math.isfinite(d) and -90.0 <= d <= 90.0):
        raise ConfigError(f"declination {dec!r} is outside [-90, 90] degrees")
    if not math.isfinite(r):
        raise ConfigError(f"invalid right ascension {ra!r}")
    return r, d


def parse_sky_arrays(ra: Any, dec: Any) -> tuple[np.ndarray, np.ndarray, bool]:
    """RA/Dec arrays in degrees from scalars or sequences of numbers or strings.

    Parameters
    ----------
    ra, dec : float, str, sequence or ndarray

    Returns
    -------
    ra, dec : ndarray of float64
    single : bool
        Whether a single position was given as scalars.

    Raises
    ------
    ConfigError
        If the values are missing, of different lengths or cannot be read.
    """
    if ra is None or dec is None:
        raise ConfigError("give ra and dec, or a coordinate file")
    single = np.ndim(ra) == 0 and np.ndim(dec) == 0
    if single:
        r, d = parse_skypos(ra.item() if isinstance(ra, np.generic) else ra,
                            dec.item() if isinstance(dec, np.generic) else dec)
        return np.array([r]), np.array([d]), True
    ra_list = list(np.atleast_1d(np.asarray(ra, dtype=object)).ravel())
    dec_list = list(np.atleast_1d(np.asarray(dec, dtype=object)).ravel())
    if len(ra_list) != len(dec_list):
        raise ConfigError(f"ra and dec have different lengths ({len(ra_list)} and "
                          f"{len(dec_list)})")
    if not ra_list:
        raise ConfigError("ra and dec are empty")
    pairs = [parse_skypos(r, d) for r, d in zip(ra_list, dec_list, strict=True)]
    out = np.array(pairs, dtype=np.float64)
    return out[:, 0].copy(), out[:, 1].copy(), False


def _split_units(value: float, scale: float, precision: int) -> tuple[int, int, int, int]:
    """(sign, first, minutes, seconds in 10**-precision units) with correct carries."""
    q = 10**precision
    units = round(abs(value) * scale * 3600.0 * q)
    sign = -1 if value < 0 and units > 0 else 1
    first, rem = divmod(units, 3600 * q)
    minutes, sec_units = divmod(rem, 60 * q)
    return sign, int(first), int(minutes), int(sec_units)


def _sec_text(sec_units: int, precision: int) -> str:
    if precision <= 0:
        return str(sec_units)
    q = 10**precision
    return f"{sec_units // q}.{sec_units % q:0{precision}d}"


def format_hms(ra: Any, dec: Any, precision: int = 6) -> tuple[list[str], list[str]]:
    """Sexagesimal text for RA (hours) and Dec (degrees).

    Fields are not zero padded (``'5:4:3.250000'``), as the original tasks
    write them; rounding carries into minutes and hours (never ``60.0``
    seconds); RA wraps to [0, 24) h; declinations between -1 and 0 degrees
    keep their minus sign (``'-0:30:0.000000'``).

    Parameters
    ----------
    ra, dec : float or array_like
        Degrees.
    precision : int, optional
        Decimals of the seconds.

    Returns
    -------
    ra_text, dec_text : list of str
        ``'nan'`` for non-finite values.
    """
    precision = _check_precision(precision)
    ras = np.atleast_1d(np.asarray(ra, dtype=np.float64)).ravel()
    decs = np.atleast_1d(np.asarray(dec, dtype=np.float64)).ravel()
    rtext, dtext = [], []
    for r, d in zip(ras, decs, strict=True):
        if math.isfinite(r):
            _, h, m, s = _split_units(float(r) % 360.0, 1.0 / 15.0, precision)
            rtext.append(f"{h % 24}:{m}:{_sec_text(s, precision)}")
        else:
            rtext.append("nan")
        if math.isfinite(d):
            sign, deg, m, s = _split_units(float(d), 1.0, precision)
            dtext.append(f"{'-' if sign < 0 else ''}{deg}:{m}:{_sec_text(s, precision)}")
        else:
            dtext.append("nan")
    return rtext, dtext


def _check_precision(precision: Any) -> int:
    try:
        p = int(precision)
    except (TypeError, ValueError):
        raise ConfigError(f"precision must be an integer, not {precision!r}") from None
    if not 0 <= p <= 15:
        raise ConfigError(f"precision must be between 0 and 15 (got {p})")
    return p


def format_fixed(values: Any, precision: int = 6) -> list[str]:
    """``'%.<precision>f'`` text of each value.

    Parameters
    ----------
    values : float or array_like
    precision : int, optional

    Returns
    -------
    list of str
    """
    p = _check_precision(precision)
    return [f"{v:.{p}f}" for v in np.atleast_1d(np.asarray(values, dtype=np.float64)).ravel()]


# ---------------------------------------------------------------------------------------------
# task plumbing
# ---------------------------------------------------------------------------------------------
def as_positions(x: Any, y: Any, coordfile: Any, colnames: Any, separator: Any
                 ) -> tuple[np.ndarray, np.ndarray, bool]:
    """Pixel positions from ``x``/``y`` (scalars or sequences) or a coordinate file.

    Parameters
    ----------
    x, y : float or array_like, optional
    coordfile : str, optional
        Used when given (``x``/``y`` are then ignored).
    colnames, separator : optional
        See :func:`read_coordfile`.

    Returns
    -------
    x, y : ndarray of float64
    single : bool
        True when one position was given as scalars.

    Raises
    ------
    ConfigError
        If nothing is given, lengths differ or values are not numbers.
    InputFileError
        If the coordinate file cannot be read.
    """
    if not is_blank(coordfile):
        a, b = read_coordfile(coordfile, colnames, separator)
        return a, b, False
    if x is None or y is None:
        raise ConfigError("give x and y, or a coordinate file")
    single = np.ndim(x) == 0 and np.ndim(y) == 0
    try:
        xa = np.atleast_1d(np.asarray(x, dtype=np.float64)).ravel()
        ya = np.atleast_1d(np.asarray(y, dtype=np.float64)).ravel()
    except (TypeError, ValueError):
        raise ConfigError(f"x and y must be numbers or sequences of numbers (got {x!r}, "
                          f"{y!r})") from None
    if xa.shape != ya.shape:
        raise ConfigError(f"x and y have different lengths ({xa.size} and {ya.size})")
    if xa.size == 0:
        raise ConfigError("x and y are empty")
    return xa, ya, single


def load_wcs(image: Any, what: str = "input"):
    """The full-distortion WCS of one chip.

    Parameters
    ----------
    image : str, path-like or astropy.wcs.WCS
        ``'file.fits[sci,2]'`` (default extension ``SCI,1``, or the primary
        HDU of a simple image) or a WCS object (used as is).
    what : str, optional
        Role of the image in messages.

    Returns
    -------
    stwcs_ng.wcsutil.HSTWCS or astropy.wcs.WCS

    Raises
    ------
    stwcs_ng.errors.InputFileError, stwcs_ng.errors.MissingExtensionError
        If the file or extension does not exist.
    InputFileError
        If the extension has no celestial WCS.
    """
    from stwcs_ng.wcsutil import HSTWCS

    if isinstance(image, WCS):
        wcs = image
        name = getattr(image, "filename", None)
    elif isinstance(image, (str, os.PathLike)) and str(image).strip():
        wcs = HSTWCS(os.fspath(image))
        name = os.fspath(image)
    else:
        raise ConfigError(f"{what} image must be a file name or a WCS, not {image!r}")
    if not wcs.has_celestial or wcs.wcs.is_unity():
        raise InputFileError(f"{what} image has no valid celestial WCS", filename=name)
    return wcs


def write_coordinate_file(output: str | os.PathLike, source: str, col1: Sequence[str],
                          col2: Sequence[str]) -> Path:
    """Write ``# Coordinates converted from <source>`` and one ``a    b`` line per position.

    The file is written to a temporary file in the same folder and renamed
    into place, so an existing file is either replaced completely or unchanged.

    Parameters
    ----------
    output : str or path-like
    source : str
        Name of the image the coordinates come from.
    col1, col2 : sequence of str
        Formatted values.

    Returns
    -------
    Path

    Raises
    ------
    FileUpdateError
        If the file cannot be written.
    """
    text = f"# Coordinates converted from {source}\n" + "".join(
        f"{a}    {b}\n" for a, b in zip(col1, col2, strict=True))
    path = write_text_atomic(output, text)
    log.info("Wrote out results to: %s", path)
    return path


def write_text_atomic(output: str | os.PathLike, text: str) -> Path:
    """Write a text file through a temporary file in the same folder and an atomic rename.

    Parameters
    ----------
    output : str or path-like
    text : str

    Returns
    -------
    Path

    Raises
    ------
    FileUpdateError
        If the file cannot be written (an existing file is then unchanged).
    """
    path = Path(output)
    folder = path.parent if str(path.parent) else Path(".")
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise FileUpdateError(f"cannot write the file ({exc})", filename=str(path)) from exc
    return path


def emit_table(title: str, columns: str, rows: Sequence[str], file: TextIO | None = None) -> None:
    """Print a result table the way the original tasks do (to ``sys.stdout`` by default).

    Parameters
    ----------
    title : str
        Image name, after ``# Coordinate transformations for``.
    columns : str
        The column header line (after ``#``).
    rows : sequence of str
    file : file-like, optional
    """
    out = sys.stdout if file is None else file
    out.write(f"# Coordinate transformations for {title}\n# {columns}\n\n")
    for row in rows:
        out.write(row + "\n")
    out.flush()


# ---------------------------------------------------------------------------------------------
# file access for the in-place tasks (resetbits, pixreplace, photeq, updatenpol)
# ---------------------------------------------------------------------------------------------
@contextlib.contextmanager
def drizzlepac_errors():
    """Re-raise stwcs-ng file errors as the drizzlepac-ng classes of the same meaning.

    ``stwcs_ng.errors.MissingExtensionError`` becomes
    :class:`~drizzlepac_ng.errors.MissingExtensionError`, ``InputFileError``
    becomes :class:`~drizzlepac_ng.errors.InputFileError`, ``FileUpdateError``
    becomes :class:`~drizzlepac_ng.errors.FileUpdateError` (file name,
    extension and message kept, the original chained); others pass through.
    """
    from stwcs_ng import errors as serr

    from . import errors as derr

    try:
        yield
    except serr.StwcsError as exc:
        for src, dst in ((serr.MissingExtensionError, derr.MissingExtensionError),
                         (serr.InputFileError, derr.InputFileError),
                         (serr.FileUpdateError, derr.FileUpdateError)):
            if isinstance(exc, src):
                raise dst(exc.reason, filename=exc.filename, extension=exc.extension) from exc
        raise


def expand_files(input: Any) -> list[str]:
    """File names from a name, wildcard, comma list, ``@list`` file or a list of these.

    Parameters
    ----------
    input : str, path-like or list

    Returns
    -------
    list of str

    Raises
    ------
    InputFileError
        If a pattern matches nothing, an ``@list`` cannot be read, or nothing is given.
    """
    from stwcs_ng.updatewcs import expand_inputs

    with drizzlepac_errors():
        files = expand_inputs(input)
    names = [os.fspath(f) for f in files if isinstance(f, (str, os.PathLike))]
    if len(names) != len(files):
        raise InputFileError("give file names (open HDULists are not accepted by this task)")
    if not names:
        raise InputFileError("no input files given")
    return names
