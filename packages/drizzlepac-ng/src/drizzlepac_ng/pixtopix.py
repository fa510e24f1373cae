"""pixtopix: pixel positions between an input chip and an output (drizzled) frame.

``tran`` replaces the original ``drizzlepac.pixtopix.tran`` (and the STSDAS
``dither.tran`` task): ``direction='forward'`` maps 1-based pixels of the
input chip to the output frame, ``'backward'`` the reverse.  Both images'
full distortion models are used.  Without an output image the default
undistorted output frame of :mod:`drizzlepac_ng.astrodrizzle.outwcs` (all
SCI chips of the input file) is used.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np

from . import _coords
from .errors import ConfigError
from .skytopix import world_to_pixel

__all__ = ["tran", "default_output_frame"]

log = logging.getLogger(__name__)


def default_output_frame(inimage: Any):
    """The default undistorted output frame covering every SCI chip of ``inimage``'s file.

    Parameters
    ----------
    inimage : str or path-like
        ``'file.fits[sci,1]'`` or ``'file.fits'``.

    Returns
    -------
    astropy.wcs.WCS
        TAN WCS with ``pixel_shape`` (see
        :func:`drizzlepac_ng.astrodrizzle.outwcs.default_output_wcs`).

    Raises
    ------
    InputFileError, MissingExtensionError
        If the file cannot be read or has no SCI extension.
    """
    from stwcs_ng.wcsutil import HSTWCS
    from stwcs_ng.wcsutil._ext import extension_indices, open_input

    from .astrodrizzle.outwcs import default_output_wcs

    with open_input(os.fspath(inimage)) as (hdul, name, _):
        indices = extension_indices(hdul, None, extname="SCI", filename=name)
        chips = [HSTWCS(hdul, ext=i) for i in indices]
        shapes = [hdul[i].data.shape if hdul[i].data is not None else
                  (hdul[i].header.get("NAXIS2", 0), hdul[i].header.get("NAXIS1", 0))
                  for i in indices]
    return default_output_wcs(chips, shapes)


def _direction(direction: Any) -> str:
    text = str(direction or "").strip().lower()
    if text and "forward".startswith(text):
        return "forward"
    if text and ("backward".startswith(text) or "reverse".startswith(text)):
        return "backward"
    raise ConfigError(f"direction must be 'forward' or 'backward', not {direction!r}")


def tran(inimage: Any, outimage: Any, direction: str = "forward", x: Any = None, y: Any = None,
         coordfile: Any = None, colnames: Any = None, separator: str | None = None,
         precision: int = 6, output: str | os.PathLike | None = None, verbose: bool = True,
         *, coords: Any = None):
    """Transform pixel positions between an input chip and an output frame.

    Parameters
    ----------
    inimage : str, path-like or astropy.wcs.WCS
        The input chip, e.g. ``'j8bt06nyq_flc.fits[sci,1]'`` (default ``SCI,1``).
    outimage : str, path-like, astropy.wcs.WCS or None
        The output frame, e.g. ``'final_drz.fits[sci,1]'``; None (or blank)
        means the default undistorted frame built from all SCI chips of
        ``inimage``'s file.
    direction : str, optional
        ``'forward'`` (input pixels to output pixels) or ``'backward'``
        (output to input); any prefix (``'f'``, ``'b'``) works.
    x, y : float or array_like, optional
        1-based pixel positions in the source image of the transformation.
    coordfile : str, optional
        File of positions, used instead of x/y (ASCII or FITS table).
    colnames : str or list, optional
        Columns of x and y in the file (default ``'c1,c2'``).
    separator : str, optional
        Column delimiter of an ASCII file (default white space).
    precision : int, optional
        Decimals in the printed table and the output file.
    output : str or path-like, optional
        Write ``# Coordinates converted from <inimage>`` and one ``x    y`` line
        per position.
    verbose : bool, optional
        Print the table of results to standard output.
    coords : str, optional
        Same as ``coordfile`` (the original parameter file's name).

    Returns
    -------
    x, y : float or list of float
        Scalars for a single scalar position, lists otherwise (as the original).

    Raises
    ------
    ConfigError
        If ``direction`` or the positions are invalid.
    InputFileError, MissingExtensionError
        If an image, its extension or the coordinate file cannot be read.
    FileUpdateError
        If ``output`` cannot be written.

    Examples
    --------
    >>> tran("j8bt06nyq_flc.fits[sci,1]", "final_drc.fits[sci,1]", "forward",
    ...      x=100.0, y=200.0)  # doctest: +SKIP
    """
    way = _direction(direction)
    cfile = coordfile if not _coords.is_blank(coordfile) else coords
    xs, ys, single = _coords.as_positions(x, y, cfile, colnames, separator)
    in_wcs = _coords.load_wcs(inimage, "input")
    if _coords.is_blank(outimage):
        if not isinstance(inimage, (str, os.PathLike)):
            raise ConfigError("outimage=None needs inimage to be a file name (the default "
                              "output frame is built from all its SCI chips)")
        out_wcs = default_output_frame(_split(inimage))
    else:
        out_wcs = _coords.load_wcs(outimage, "output")
    if way == "forward":
        ra, dec = in_wcs.all_pix2world(xs, ys, 1)
        ox, oy = world_to_pixel(out_wcs, np.asarray(ra), np.asarray(dec), 1,
                                filename=_name(outimage))
    else:
        ra, dec = out_wcs.all_pix2world(xs, ys, 1)
        ox, oy = world_to_pixel(in_wcs, np.asarray(ra), np.asarray(dec), 1,
                                filename=_name(inimage))
    xtext, ytext = _coords.format_fixed(ox, precision), _coords.format_fixed(oy, precision)
    title = _name(inimage)
    if verbose:
        _coords.emit_table(title, "X(in)      Y(in)             X(out)         Y(out)",
                           [f"{a:.4f}  {b:.4f}    {c}  {d}"
                            for a, b, c, d in zip(xs, ys, xtext, ytext, strict=True)])
    if not _coords.is_blank(output):
        _coords.write_coordinate_file(output, title, xtext, ytext)
    if single:
        return float(ox[0]), float(oy[0])
    return np.asarray(ox).tolist(), np.asarray(oy).tolist()


def _split(image: Any) -> str:
    from stwcs_ng.wcsutil._ext import split_filename

    return split_filename(os.fspath(image))[0]


def _name(image: Any) -> str:
    if isinstance(image, (str, os.PathLike)):
        return os.fspath(image)
    if image is None:
        return "default output frame"
    return str(getattr(image, "filename", None) or type(image).__name__)
