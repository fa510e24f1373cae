"""skytopix: RA/Dec to pixel positions of a chip with the full distortion model.

``rd2xy`` replaces the original ``drizzlepac.skytopix.rd2xy``: sky positions
(degrees or sexagesimal text) are mapped to 1-based pixel positions of one
chip by inverting every distortion the header describes
(:meth:`stwcs_ng.wcsutil.HSTWCS.all_world2pix`, iterated to 1e-9 px).
"""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np

from . import _coords

__all__ = ["rd2xy", "world_to_pixel", "INVERSE_TOLERANCE"]

log = logging.getLogger(__name__)

#: Convergence limit (pixels) of the iterative inverse used by :func:`rd2xy`.
INVERSE_TOLERANCE = 1e-9


def world_to_pixel(wcs, ra: np.ndarray, dec: np.ndarray, origin: int = 1,
                   *, filename: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Invert the full distortion; positions that do not converge get the linear solution.

    Parameters
    ----------
    wcs : HSTWCS or astropy.wcs.WCS
    ra, dec : ndarray
        Degrees.
    origin : int, optional
        1 for FITS pixels, 0 for numpy.
    filename : str, optional
        For the warning message.

    Returns
    -------
    x, y : ndarray of float64
    """
    from astropy.wcs import NoConvergence as AstropyNoConvergence

    from stwcs_ng.errors import NoConvergence

    ra = np.asarray(ra, dtype=np.float64)
    dec = np.asarray(dec, dtype=np.float64)
    try:
        x, y = wcs.all_world2pix(ra, dec, origin, tolerance=INVERSE_TOLERANCE, maxiter=100)
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    except NoConvergence as exc:
        best, failed, reason = exc.best_solution, getattr(exc, "failed2converge", None), exc
    except AstropyNoConvergence as exc:  # plain astropy WCS objects
        best, failed, reason = exc.best_solution, exc.slow_conv, exc
        if exc.divergent is not None:
            failed = np.union1d(np.asarray(failed if failed is not None else [], dtype=int),
                                exc.divergent)
    best = np.asarray(best, dtype=np.float64)
    x, y = best[:, 0].copy(), best[:, 1].copy()
    if failed is None:
        failed = np.arange(x.size)
    failed = np.asarray(failed, dtype=int)
    lx, ly = wcs.wcs_world2pix(ra.ravel()[failed], dec.ravel()[failed], origin)
    x[failed], y[failed] = lx, ly
    log.warning("%s: the distortion inverse did not converge for %d of %d position(s) (%s); "
                "they are given by the linear WCS only (far outside the chip?)",
                filename or "image", failed.size, x.size, reason)
    return x.reshape(ra.shape), y.reshape(ra.shape)


def rd2xy(input: Any, ra: Any = None, dec: Any = None, coordfile: Any = None,
          colnames: Any = None, precision: int = 6, output: str | os.PathLike | None = None,
          verbose: bool = True, *, separator: str | None = None):
    """Transform sky positions into pixel positions of one chip.

    Parameters
    ----------
    input : str, path-like or astropy.wcs.WCS
        The chip: ``'j8bt06nyq_flc.fits[sci,2]'`` (default extension
        ``SCI,1``) or a WCS object.
    ra, dec : float, str or array_like, optional
        Degrees, or sexagesimal text (RA in hours: ``'5:34:31.94'``,
        ``'5 34 31.94'``, ``'5h34m31.94s'``; Dec in degrees).  Scalars give
        scalar results, sequences give arrays.
    coordfile : str, optional
        File of positions (ASCII or FITS table); used instead of ra/dec.
        Sexagesimal values may span several columns: ``colnames=['c1-c3',
        'c4-c6']``.
    colnames : str or list, optional
        Columns holding RA and Dec (default ``'c1,c2'``).
    precision : int, optional
        Decimals of the pixel positions in the printed table and the file.
    output : str or path-like, optional
        Write ``# Coordinates converted from <input>`` and one ``x    y`` line
        per position.
    verbose : bool, optional
        Print the table of results to standard output.
    separator : str, optional
        Column delimiter of an ASCII coordinate file (default white space).

    Returns
    -------
    x, y : float or ndarray
        1-based pixel positions.

    Raises
    ------
    ConfigError
        If no positions are given, lengths differ, a value is not a valid
        coordinate or ``precision``/``colnames`` are invalid.
    InputFileError, MissingExtensionError
        If the image, its extension or the coordinate file cannot be read.
    FileUpdateError
        If ``output`` cannot be written.

    Notes
    -----
    Positions for which the iterative inverse of the distortion does not
    converge (far outside the chip) are given by the linear WCS, with a
    logged warning.

    Examples
    --------
    >>> x, y = rd2xy("j8bt06nyq_flc.fits[sci,1]", "5:34:31.94", "-5:22:55.1")  # doctest: +SKIP
    """
    if not _coords.is_blank(coordfile):
        ras, decs = _coords.read_coordfile(coordfile, colnames, separator, sky=True)
        single = False
    else:
        ras, decs, single = _coords.parse_sky_arrays(ra, dec)
    wcs = _coords.load_wcs(input)
    name = input if isinstance(input, str) else getattr(wcs, "filename", None)
    x, y = world_to_pixel(wcs, ras, decs, 1, filename=name)
    xtext, ytext = _coords.format_fixed(x, precision), _coords.format_fixed(y, precision)
    title = os.fspath(input) if isinstance(input, (str, os.PathLike)) else str(name)
    if verbose:
        _coords.emit_table(title, "X      Y         RA             Dec",
                           [f"{a}  {b}    {r!r}  {d!r}" for a, b, r, d in
                            zip(xtext, ytext, ras.tolist(), decs.tolist(), strict=True)])
    if not _coords.is_blank(output):
        _coords.write_coordinate_file(output, title, xtext, ytext)
    if single:
        return float(x[0]), float(y[0])
    return x, y
