"""Shared helpers: extension specifications and opening inputs.

Every stwcs-ng function that accepts "a file, an open HDUList or a header"
plus "an extension" goes through these helpers, so the accepted spellings
are the same everywhere:

* extensions: ``1`` (HDU index), ``("SCI", 2)``, ``"sci,2"``, ``"2"``,
  ``"SCI"`` (EXTNAME alone: every extension of that name where a list is
  wanted, EXTVER 1 where one HDU is wanted);
* file names with an embedded extension: ``"j8bt06nyq_flc.fits[sci,2]"`` or
  ``"name.fits[3]"``;
* inputs: a path, an open :class:`~astropy.io.fits.HDUList`, a single HDU or
  a :class:`~astropy.io.fits.Header`.

Functions
---------
parse_extension
    Normalise an extension specification.
split_filename
    Split ``"file.fits[sci,1]"`` into the file name and the extension.
ext_index
    HDU index of one extension in an HDUList.
extension_indices
    HDU indices of several extensions (default: every ``SCI``).
open_input
    Context manager giving ``(hdulist, filename)`` for any input, read-only.
update_input
    Context manager giving an HDUList to modify; file names are updated
    atomically on exit, open HDULists are modified in memory.
get_header
    The header of one extension of any input.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from astropy.io import fits

from ..errors import FileUpdateError, InputFileError, MissingExtensionError
from ..fileio import atomic_write, open_fits, read_fits

__all__ = [
    "ExtSpec",
    "parse_extension",
    "split_filename",
    "ext_index",
    "extension_indices",
    "open_input",
    "update_input",
    "get_header",
    "input_name",
]

#: A normalised extension: HDU index, ``(EXTNAME, EXTVER)`` or a bare EXTNAME.
ExtSpec = int | tuple[str, int] | str

_BRACKET = re.compile(r"^(?P<name>.*?)\[(?P<ext>[^\[\]]*)\]$")


def parse_extension(spec: Any) -> ExtSpec | None:
    """Normalise an extension specification.

    Parameters
    ----------
    spec : int, str, tuple or None
        ``3``, ``"3"``, ``("sci", 1)``, ``"sci,1"``, ``"SCI"`` or None.

    Returns
    -------
    int, tuple of (str, int), str or None
        An HDU index, an upper-case ``(EXTNAME, EXTVER)`` pair, an upper-case
        EXTNAME alone, or None when ``spec`` is None or blank.

    Raises
    ------
    InputFileError
        If the specification cannot be understood.
    """
    if spec is None:
        return None
    if isinstance(spec, bool):
        raise InputFileError(f"invalid extension specification {spec!r}")
    if isinstance(spec, int):
        if spec < 0:
            raise InputFileError(f"invalid extension index {spec}")
        return int(spec)
    if isinstance(spec, (tuple, list)):
        if len(spec) == 1:
            return parse_extension(spec[0])
        if len(spec) != 2 or not isinstance(spec[0], str):
            raise InputFileError(f"invalid extension specification {spec!r}")
        try:
            ver = int(spec[1])
        except (TypeError, ValueError):
            raise InputFileError(f"invalid EXTVER in extension specification {spec!r}") from None
        return (spec[0].strip().upper(), ver)
    if isinstance(spec, str):
        text = spec.strip().strip("[]").strip()
        if not text:
            return None
        if "," in text:
            name, _, ver = text.partition(",")
            return parse_extension((name, ver.strip()))
        if text.lstrip("+").isdigit():
            return int(text)
        return text.upper()
    raise InputFileError(f"invalid extension specification {spec!r}")


def split_filename(name: str | os.PathLike) -> tuple[str, ExtSpec | None]:
    """Split a file name with an optional ``[ext]`` suffix.

    Parameters
    ----------
    name : str or path-like
        For example ``"j8bt06nyq_flc.fits[sci,2]"``.

    Returns
    -------
    filename : str
    ext : int, tuple, str or None
        The parsed extension (see :func:`parse_extension`), None if absent.
    """
    text = os.fspath(name)
    match = _BRACKET.match(text)
    if match and not Path(text).exists():
        return match.group("name"), parse_extension(match.group("ext"))
    return text, None


def _extname(hdu: fits.hdu.base._BaseHDU) -> str:
    return str(hdu.header.get("EXTNAME", "PRIMARY" if isinstance(hdu, fits.PrimaryHDU) else ""))


def ext_index(hdulist: fits.HDUList, ext: Any, *, filename: str | None = None) -> int:
    """Return the HDU index of one extension.

    Parameters
    ----------
    hdulist : astropy.io.fits.HDUList
        The open file.
    ext : int, str, tuple or None
        Any spelling accepted by :func:`parse_extension`; None means the
        primary HDU, a bare EXTNAME means EXTVER 1.
    filename : str, optional
        Used in error messages.

    Returns
    -------
    int

    Raises
    ------
    MissingExtensionError
        If the extension does not exist.
    """
    spec = parse_extension(ext)
    filename = filename or input_name(hdulist)
    if spec is None:
        return 0
    if isinstance(spec, int):
        if spec >= len(hdulist):
            raise MissingExtensionError(f"no extension {spec} (the file has {len(hdulist)} HDUs)",
                                        filename=filename, extension=spec)
        return spec
    if isinstance(spec, str):
        spec = (spec, 1)
    name, ver = spec
    for i, hdu in enumerate(hdulist):
        if _extname(hdu).strip().upper() == name and int(hdu.header.get("EXTVER", 1)) == ver:
            return i
    raise MissingExtensionError("extension does not exist", filename=filename, extension=spec)


def extension_indices(hdulist: fits.HDUList, ext: Any = None, *, extname: str = "SCI",
                      filename: str | None = None) -> list[int]:
    """Return the HDU indices selected by ``ext``.

    Parameters
    ----------
    hdulist : astropy.io.fits.HDUList
        The open file.
    ext : int, str, tuple, list or None, optional
        None selects every extension named ``extname`` (or the primary HDU
        of a simple, single-HDU image); a bare EXTNAME selects every
        extension of that name; a list selects each item.
    extname : str, optional
        Default EXTNAME when ``ext`` is None.
    filename : str, optional
        Used in error messages.

    Returns
    -------
    list of int
        HDU indices, in file order.

    Raises
    ------
    MissingExtensionError
        If nothing is selected.
    """
    filename = filename or input_name(hdulist)
    if isinstance(ext, list):
        return [ext_index(hdulist, e, filename=filename) for e in ext]
    spec = parse_extension(ext)
    if spec is None or isinstance(spec, str):
        name = (spec or extname).upper()
        found = [i for i, hdu in enumerate(hdulist) if _extname(hdu).strip().upper() == name]
        if not found and spec is None and len(hdulist) == 1 and hdulist[0].header.get("NAXIS", 0):
            return [0]
        if not found:
            raise MissingExtensionError(f"no {name} extension", filename=filename)
        return found
    return [ext_index(hdulist, spec, filename=filename)]


def input_name(fobj: Any) -> str | None:
    """Best-effort file name of an input (path, HDUList or None).

    Parameters
    ----------
    fobj : str, path-like, HDUList or other
        The input.

    Returns
    -------
    str or None
    """
    if isinstance(fobj, (str, os.PathLike)):
        return os.fspath(fobj)
    if isinstance(fobj, fits.HDUList):
        try:
            name = fobj.filename()
        except (AttributeError, TypeError):
            name = None
        return name
    return None


@contextlib.contextmanager
def open_input(fobj: Any) -> Iterator[tuple[fits.HDUList, str | None, ExtSpec | None]]:
    """Open any input read-only.

    Parameters
    ----------
    fobj : str, path-like, HDUList, HDU or Header
        A file name (an ``[ext]`` suffix is split off and returned), an open
        HDUList (used as is, not closed), a single HDU or a header (wrapped
        in a one-HDU list).

    Yields
    ------
    (hdulist, filename, ext)
        ``ext`` is the extension embedded in the file name, or None.

    Raises
    ------
    InputFileError
        If the file cannot be read or the input type is not supported.
    """
    if isinstance(fobj, (str, os.PathLike)):
        name, ext = split_filename(fobj)
        hdul = open_fits(name)
        try:
            yield hdul, name, ext
        finally:
            hdul.close()
    elif isinstance(fobj, fits.HDUList):
        yield fobj, input_name(fobj), None
    elif isinstance(fobj, fits.Header):
        yield fits.HDUList([fits.PrimaryHDU(header=fobj)]), None, None
    elif isinstance(fobj, fits.hdu.base._BaseHDU):
        yield fits.HDUList([fobj]), None, None
    else:
        raise InputFileError(f"unsupported input type {type(fobj).__name__}; expected a file "
                             "name, an HDUList or a Header")


@contextlib.contextmanager
def update_input(fobj: Any) -> Iterator[tuple[fits.HDUList, str | None, ExtSpec | None]]:
    """Give an HDUList to modify.

    Parameters
    ----------
    fobj : str, path-like or HDUList
        A file name (updated atomically through
        :func:`stwcs_ng.fileio.atomic_update` when the block exits normally;
        left untouched if it raises) or an open HDUList (modified in memory;
        the caller writes or flushes it).

    Yields
    ------
    (hdulist, filename, ext)

    Raises
    ------
    InputFileError
        If the input is not a file name or an HDUList, or cannot be read.
    FileUpdateError
        If the file cannot be rewritten (it is then unchanged).
    """
    if isinstance(fobj, (str, os.PathLike)):
        name, ext = split_filename(fobj)
        hdul = _read_for_update(name)
        yield hdul, name, ext
        atomic_write(hdul, name)
    elif isinstance(fobj, fits.HDUList):
        yield fobj, input_name(fobj), None
    else:
        raise InputFileError(f"cannot update an input of type {type(fobj).__name__}; expected a "
                             "file name or an HDUList")


def _read_for_update(name: str) -> fits.HDUList:
    """Whole file in memory, writable, detached from the file (read-only files refused)."""
    path = Path(name)
    if path.is_file() and not os.access(path, os.W_OK):
        raise FileUpdateError("file is read-only; it was not changed", filename=str(path))
    return read_fits(path)


def get_header(fobj: Any, ext: Any = None) -> fits.Header:
    """Return the header of one extension of any input.

    Parameters
    ----------
    fobj : str, path-like, HDUList, HDU or Header
        The input; a Header is returned as is (``ext`` ignored).
    ext : int, str or tuple, optional
        The extension; None means the one embedded in the file name, else
        the primary HDU.

    Returns
    -------
    astropy.io.fits.Header
        For a file name, a copy; otherwise the live header.

    Raises
    ------
    InputFileError, MissingExtensionError
    """
    if isinstance(fobj, fits.Header):
        return fobj
    with open_input(fobj) as (hdul, name, embedded):
        idx = ext_index(hdul, ext if ext is not None else embedded, filename=name)
        header = hdul[idx].header
        return header.copy() if isinstance(fobj, (str, os.PathLike)) else header
