"""Resolving HST reference-file names such as ``jref$qbu1641sj_idc.fits``.

HST headers name reference files with an IRAF-style prefix: ``jref$`` (ACS),
``iref$`` (WFC3), ``uref$`` (WFPC2), ``oref$`` (STIS), ``nref$`` (NICMOS).
Users point each prefix at a folder with an environment variable of the same
name (``export jref=/data/crds/references/hst/acs/``); the value may or may
not end with a slash.  A name without a prefix is used as given (relative to
the current folder).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from ..errors import ReferenceFileError

__all__ = ["KNOWN_PREFIXES", "is_blank_reference", "resolve_reference", "check_reference"]

#: The prefixes used in HST headers (any ``name$`` prefix is accepted).
KNOWN_PREFIXES = ("jref", "iref", "uref", "oref", "nref")

_PREFIX = re.compile(r"^(?P<var>[A-Za-z_][A-Za-z0-9_]*)\$(?P<rest>.*)$")
_BLANK = {"", "N/A", "NONE", "INDEF", "NA"}


def is_blank_reference(value: object) -> bool:
    """True when a reference-file keyword value means "no file" (blank, ``N/A``, ``NONE``...).

    Parameters
    ----------
    value : object
        The keyword value (None counts as blank).

    Returns
    -------
    bool
        Whether no reference file is named.
    """
    return value is None or str(value).strip().upper() in _BLANK


def resolve_reference(name: str, *, environ: Mapping[str, str] | None = None,
                      keyword: str | None = None, filename: str | None = None) -> Path:
    """Turn a header reference-file name into a path.

    Parameters
    ----------
    name : str
        ``"jref$x_idc.fits"``, ``"/abs/path/x_idc.fits"`` or ``"x_idc.fits"``.
    environ : mapping, optional
        Environment to read the prefix variables from (default ``os.environ``).
    keyword : str, optional
        Header keyword the name came from (for messages).
    filename : str, optional
        Science file the name came from (for messages).

    Returns
    -------
    pathlib.Path
        The path (not checked for existence; see :func:`check_reference`).

    Raises
    ------
    ReferenceFileError
        If the name is blank or its prefix names an environment variable that
        is not set.
    """
    env = os.environ if environ is None else environ
    what = f"{keyword} " if keyword else ""
    text = str(name).strip()
    if is_blank_reference(text):
        raise ReferenceFileError(f"no reference file named by {what or 'the keyword'}".strip(),
                                 filename=filename)
    match = _PREFIX.match(text)
    if not match:
        return Path(os.path.expanduser(text))
    var, rest = match.group("var"), match.group("rest")
    folder = env.get(var)
    if folder is None:
        folder = env.get(var.lower(), env.get(var.upper()))
    if folder is None or not str(folder).strip():
        raise ReferenceFileError(
            f"{what}{text!r} needs the environment variable {var!r}, which is not set "
            f"(e.g. export {var}=/path/to/references/)", filename=filename)
    return Path(os.path.expanduser(str(folder).strip())) / rest


def check_reference(name: str, *, environ: Mapping[str, str] | None = None,
                    keyword: str | None = None, filename: str | None = None) -> Path:
    """Resolve a reference-file name and check that the file can be read.

    Parameters
    ----------
    name : str
        The header value.
    environ : mapping, optional
        Environment (default ``os.environ``).
    keyword : str, optional
        Header keyword (for messages).
    filename : str, optional
        Science file (for messages).

    Returns
    -------
    pathlib.Path
        The resolved path of an existing, readable file.

    Raises
    ------
    ReferenceFileError
        If the variable is unset, or the file is missing or unreadable.
    """
    path = resolve_reference(name, environ=environ, keyword=keyword, filename=filename)
    what = f"{keyword} " if keyword else "reference file "
    if not path.exists():
        raise ReferenceFileError(f"{what}{str(path)!r} (from {str(name).strip()!r}) does not exist",
                                 filename=filename)
    if not path.is_file() or not os.access(path, os.R_OK):
        raise ReferenceFileError(f"{what}{str(path)!r} is not a readable file", filename=filename)
    return path
