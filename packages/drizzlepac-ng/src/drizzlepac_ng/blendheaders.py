"""blendheaders: the drizzlepac-ng task that blends input headers into a drizzled product.

A thin task over :func:`fitsblender_ng.blendheaders.blendheaders` with the
original ``fitsblender.blendheaders.blendheaders`` parameter order (drizzlepac
3.11 lists ``blendheaders`` among its tasks and runs fitsblender's).  The
product is rewritten atomically, or written to ``output``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import ConfigError, InputFileError

__all__ = ["blendheaders", "get_blended_headers"]


def blendheaders(drzfile: str | os.PathLike, inputs: Any = None,
                 output: str | os.PathLike | None = None,
                 extensions: Mapping[str, str] | None = None, sciext: str = "SCI",
                 errext: str | None = "ERR", dqext: str | None = "DQ",
                 rules_file: str | os.PathLike | None = None, verbose: bool = False) -> Path:
    """Blend the headers of a drizzled product's inputs into its headers and an HDRTAB.

    Parameters
    ----------
    drzfile : str or path-like
        The drizzled product (``SCI``/``WHT``/``CTX`` extensions or a simple image).
    inputs : list of str, optional
        Input exposures or chips (``'a_flc.fits[sci,1]'``); default: the
        product's ``DnnnDATA`` keywords.
    output : str or path-like, optional
        Write the result here instead of updating ``drzfile`` in place.
    extensions : mapping, optional
        Which product extension receives which blended header (default
        ``{'SCI': 'SCI', 'ERR': 'WHT', 'DQ': 'CTX'}``; ``'CON'`` is accepted
        for the context image).
    sciext, errext, dqext : str, optional
        EXTNAMEs of the inputs' science, error and data-quality extensions.
    rules_file : str or path-like, optional
        A blending rules file; default chosen per instrument.
    verbose : bool, optional
        Log progress at INFO level.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ConfigError
        If ``sciext`` is blank.
    InputFileError
        If the product or an input file named in ``inputs`` is shorter than
        its FITS headers declare (truncated); checked before anything is
        read or written, from the headers only.
    fitsblender_ng.errors.InputFileError
        If the product or an input cannot be read, or no input is known.
    fitsblender_ng.errors.FitsblenderError
        For rules problems (missing or invalid rules file, ``raise`` rules).
    fitsblender_ng.errors.FileUpdateError
        If the output cannot be written (the product is then unchanged).

    Examples
    --------
    >>> blendheaders("final_drc.fits")  # doctest: +SKIP
    PosixPath('final_drc.fits')
    """
    from fitsblender_ng.blendheaders import blendheaders as _blend

    if not isinstance(sciext, str) or not sciext.strip():
        raise ConfigError("sciext must be an extension name such as 'SCI'")
    blank = (None, "", "None", "INDEF")
    _require_complete(Path(drzfile), "drizzled product")
    if inputs not in blank:
        folder = Path(drzfile).parent
        for item in [inputs] if isinstance(inputs, str | os.PathLike) else inputs:
            if isinstance(item, str | os.PathLike):
                path = _input_path(item, folder)
                if path is not None:
                    _require_complete(path, "input file")
    return _blend(drzfile, inputs=None if inputs in blank else inputs,
                  output=None if output in blank else output, sciext=sciext.strip(),
                  rules_file=None if rules_file in blank else rules_file,
                  errext=errext or None, dqext=dqext or None, extensions=extensions,
                  verbose=bool(verbose))


def _input_path(spec: str | os.PathLike, folder: Path) -> Path | None:
    """The file an input specification names (as fitsblender-ng finds it), if it exists."""
    from fitsblender_ng.blendheaders import parse_input_spec
    from fitsblender_ng.errors import FitsblenderError

    try:
        path, _ = parse_input_spec(spec)
    except FitsblenderError:
        return None  # reported by fitsblender-ng with its reason
    if not path.is_absolute() and not path.exists():
        path = folder / path
    return path if path.is_file() else None


def _require_complete(path: Path, what: str) -> None:
    """Raise InputFileError when an existing ``path`` is a truncated FITS file.

    A missing or unreadable file is left to fitsblender-ng, which reports it.
    """
    from fitsblender_ng.blendheaders import check_complete
    from fitsblender_ng.errors import InputFileError as BlendInputError

    if not path.is_file():
        return
    try:
        check_complete(path, what)
    except BlendInputError as exc:
        raise InputFileError(exc.reason, filename=str(path)) from exc


def get_blended_headers(inputs: Any, verbose: bool = False,
                        extlist: Any = ("SCI", "ERR", "DQ"), rules_file: Any = None):
    """Blended ``[primary, sci, err, dq]`` headers and HDRTAB of inputs (see fitsblender-ng).

    Parameters
    ----------
    inputs : list
        File names (``'a_flt.fits[sci,1]'`` for one chip) or headers.
    verbose : bool, optional
    extlist : sequence of str, optional
        EXTNAMEs of the SCI, ERR and DQ extensions.
    rules_file : str, optional

    Returns
    -------
    headers : list of astropy.io.fits.Header
    table : astropy.io.fits.BinTableHDU or None
    """
    from fitsblender_ng.blendheaders import get_blended_headers as _get

    return _get(inputs, verbose=verbose, extlist=extlist, rules_file=rules_file)
