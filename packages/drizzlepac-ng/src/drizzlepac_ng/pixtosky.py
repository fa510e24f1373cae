"""pixtosky: pixel positions of a chip to RA/Dec with the full distortion model.

``xy2rd`` replaces the original ``drizzlepac.pixtosky.xy2rd`` (and the
IRAF/STSDAS task of the same name): positions on one chip (FITS 1-based
pixels) are mapped through every distortion the header describes (SIP, NPOL
lookup tables, D2IM column corrections) with
:meth:`stwcs_ng.wcsutil.HSTWCS.all_pix2world`.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np

from . import _coords
from .errors import ConfigError

__all__ = ["xy2rd"]

log = logging.getLogger(__name__)


def xy2rd(input: Any, x: Any = None, y: Any = None, coords: Any = None,
          coordfile: Any = None, colnames: Any = None, separator: str | None = None,
          hms: bool = True, precision: int = 6, output: str | os.PathLike | None = None,
          verbose: bool = True):
    """Transform pixel positions of one chip into sky coordinates.

    Parameters
    ----------
    input : str, path-like or astropy.wcs.WCS
        The chip: ``'j8bt06nyq_flc.fits[sci,2]'`` (default extension
        ``SCI,1``; a simple image uses its primary HDU) or a WCS object.
    x, y : float or array_like, optional
        Pixel positions (1-based, FITS convention).  Scalars give scalar
        results, sequences give arrays.
    coords, coordfile : str, optional
        File of positions (``coords`` is the original's parameter file name,
        ``coordfile`` its function argument; either may be given).  ASCII
        (one position per line, ``#`` comments) or a FITS table.
    colnames : str or list, optional
        Columns of the file holding x and y: ``'c1,c2'`` (default) or
        ``['c3', 'c4']``; FITS table column names are accepted too.
    separator : str, optional
        Column delimiter of an ASCII file (default: white space).
    hms : bool, optional
        Return (and write) sexagesimal text ``H:M:S.sss`` / ``D:M:S.sss``
        instead of degrees.
    precision : int, optional
        Decimals of the seconds (``hms``) or of the degrees in the printed
        table and the output file.
    output : str or path-like, optional
        Write ``# Coordinates converted from <input>`` and one ``ra    dec``
        line per position to this file.
    verbose : bool, optional
        Print the table of results to standard output.

    Returns
    -------
    ra, dec : float, str, ndarray or list of str
        Degrees (float for a single scalar position, else arrays), or with
        ``hms`` the sexagesimal text (str, else lists of str).

    Raises
    ------
    ConfigError
        If no positions are given, ``x``/``y`` differ in length, or
        ``precision``/``colnames`` are invalid.
    InputFileError, MissingExtensionError
        If the image, its extension or the coordinate file cannot be read, or
        the extension has no celestial WCS (``stwcs_ng.errors`` classes for
        the image).
    FileUpdateError
        If ``output`` cannot be written.

    Examples
    --------
    >>> ra, dec = xy2rd("j8bt06nyq_flc.fits[sci,1]", 256.0, 256.0)  # doctest: +SKIP
    >>> ra, dec = xy2rd("j8bt06nyq_flc.fits[sci,1]", coordfile="xy.dat", colnames="c3,c4",
    ...                 hms=False, output="radec.dat")  # doctest: +SKIP
    """
    if not _coords.is_blank(coords) and not _coords.is_blank(coordfile) \
            and str(coords) != str(coordfile):
        raise ConfigError(f"give the coordinate file once: coords={coords!r} and "
                          f"coordfile={coordfile!r} differ")
    cfile = coordfile if not _coords.is_blank(coordfile) else coords
    xs, ys, single = _coords.as_positions(x, y, cfile, colnames, separator)
    wcs = _coords.load_wcs(input)
    ra, dec = wcs.all_pix2world(xs, ys, 1)
    ra = np.asarray(ra, dtype=np.float64)
    dec = np.asarray(dec, dtype=np.float64)
    if hms:
        rtext, dtext = _coords.format_hms(ra, dec, precision)
    else:
        rtext, dtext = _coords.format_fixed(ra, precision), _coords.format_fixed(dec, precision)
    name = _display_name(input)
    if verbose:
        _coords.emit_table(name, "X      Y         RA             Dec",
                           [f"{a:.4f}  {b:.4f}    {r}  {d}"
                            for a, b, r, d in zip(xs, ys, rtext, dtext, strict=True)])
    if not _coords.is_blank(output):
        _coords.write_coordinate_file(output, name, rtext, dtext)
    if hms:
        return (rtext[0], dtext[0]) if single else (rtext, dtext)
    if single:
        return float(ra[0]), float(dec[0])
    return ra, dec


def _display_name(image: Any) -> str:
    if isinstance(image, (str, os.PathLike)):
        return os.fspath(image)
    return str(getattr(image, "filename", None) or type(image).__name__)
