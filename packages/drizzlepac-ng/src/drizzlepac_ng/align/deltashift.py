"""Apply a user-measured offset (shift, rotation, scale) to the WCS of every chip.

The DrizzlePac handbook notes that there is no straightforward way to turn
an offset measured by eye (or by any outside tool) into a header WCS update
of every chip of a multi-chip exposure.  :func:`apply_delta_shift` does it:
it expresses the offset as a linear transform of a well-defined plane, then
moves every chip's linear WCS (``CRVAL``, ``CD``) so that each pixel lands
where the transform puts it.  Distortion (SIP, NPOL, D2IM) is untouched.
Files are written the way ``tweakreg`` writes them (previous WCS archived
under an alternate key, ``WCSNAME``/``WCSTYPE``/``FITNAME`` ..., ``WCSCORR``),
atomically, through :mod:`drizzlepac_ng.align.wcsupdate`.

Definition of the offset
------------------------
A :class:`DeltaShift` ``(dx, dy, rotation, scale)`` is the transform::

    p' = c + scale * R(rotation) @ (p - c) + (dx, dy)

of a plane, where ``R(a) = [[cos a, -sin a], [sin a, cos a]]`` and ``c`` is
the rotation centre.  After the update, every pixel of every chip points at
the sky position that was at ``p'`` before, if it pointed at ``p``: in words,
*a source that the current WCS places at p is moved to p'*.  If a star sits
at ``(x, y)`` according to your image but should be at ``(x + 2, y - 1)``,
pass ``dx=2, dy=-1``.

``frame='reference'`` (default)
    The plane is the undistorted pixel grid of the *reference chip*: the
    linear (``TAN``, no distortion) part of the first SCI extension of the
    first image, as it is before the update (``refwcs`` replaces it).
    ``dx``/``dy`` are pixels of that grid (``units='pixels'``) or arcsec
    along its axes (``units='arcsec'``, divided by its pixel scale).
    ``rotation`` is in degrees, counter-clockwise from +x towards +y on that
    grid; ``c`` is ``center`` (0-based pixels of that grid) or, by default,
    the reference chip's ``CRPIX``.
``frame='sky'``
    The plane is a north-up, east-*right* tangent plane with 1-arcsec pixels
    centred on ``center`` (RA, Dec in degrees; default the reference chip's
    ``CRVAL``).  ``dx`` is towards east and ``dy`` towards north, in arcsec
    (``units='pixels'`` multiplies by the reference chip's pixel scale).
    ``rotation`` is in degrees from north through east (position angles grow
    by it) about the plane's centre.

``scale`` > 1 enlarges the image on the sky about ``c`` (pixel scale grows).

Inverse
-------
:meth:`DeltaShift.inverse` (given the frame name) returns the offset undoing
this one in the same frame and centre.  With ``frame='reference'`` the reference chip itself
moves with the update, and the inverse still applies exactly in the moved
frame; with ``frame='sky'`` give the same ``center`` both times.  Applying
an offset and then its inverse restores ``CRVAL`` and ``CD`` to about 1e-12.
One caveat: ``units='arcsec'`` on the reference grid converts with the grid's
*current* pixel scale, which a ``scale`` other than 1 changes; undo such an
offset in pixels.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from stwcs_ng import fileio
from stwcs_ng.errors import StwcsError

from ..errors import ConfigError, DrizzlepacError, InputFileError
from . import wcsupdate

__all__ = ["DeltaShift", "apply_delta_shift", "delta_matrix", "reference_frame", "read_chip_wcs"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeltaShift:
    """An offset ``p' = c + scale * R(rotation) (p - c) + (dx, dy)`` of a plane.

    Attributes
    ----------
    dx, dy : float
        Shift, in the units of the frame it is applied in.
    rotation : float
        Degrees (sense defined by the frame, see the module documentation).
    scale : float
        Scale factor (> 0).
    """

    dx: float = 0.0
    dy: float = 0.0
    rotation: float = 0.0
    scale: float = 1.0

    def inverse(self, frame: str = "reference") -> DeltaShift:
        """The offset undoing this one (same frame, same rotation centre).

        Parameters
        ----------
        frame : {'reference', 'sky'}, optional
            Frame the offset is applied in: rotations are counter-clockwise
            in ``(dx, dy)`` on the reference grid but clockwise (north through
            east) in the ``(east, north)`` sky frame.

        Returns
        -------
        DeltaShift
        """
        t = math.radians(-self.rotation if frame != "sky" else self.rotation)
        c, s = math.cos(t), math.sin(t)
        inv = 1.0 / self.scale
        return DeltaShift(-inv * (c * self.dx - s * self.dy), -inv * (s * self.dx + c * self.dy),
                          -self.rotation, inv)


def delta_matrix(delta: DeltaShift, center: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """``(matrix, offset)`` with ``p' = matrix @ p + offset`` for a counter-clockwise rotation.

    Parameters
    ----------
    delta : DeltaShift
        The offset (rotation counter-clockwise from +x to +y).
    center : sequence of 2 float
        Rotation centre ``c`` in the plane's coordinates.

    Returns
    -------
    matrix : numpy.ndarray, shape (2, 2)
    offset : numpy.ndarray, shape (2,)
    """
    t = math.radians(delta.rotation)
    m = delta.scale * np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    c = np.asarray(center, dtype=np.float64)
    return m, c - m @ c + np.array([delta.dx, delta.dy], dtype=np.float64)


def read_chip_wcs(filename: str, hdul: fits.HDUList) -> dict[int, tuple[WCS, tuple[int, int]]]:
    """Full WCS and shape ``(ny, nx)`` of every SCI chip of an open file, by EXTVER.

    Parameters
    ----------
    filename : str
        For error messages.
    hdul : astropy.io.fits.HDUList
        The open file.

    Returns
    -------
    dict
        EXTVER -> ``(wcs, (ny, nx))``.

    Raises
    ------
    InputFileError
        A chip has no valid celestial WCS.
    """
    out = {}
    for ev, i in wcsupdate.chip_extensions(hdul, filename).items():
        hdr = hdul[i].header
        wcsupdate.check_linear_header(hdr, filename, ("SCI", ev))
        try:
            w = WCS(hdr, hdul, relax=True)
        except Exception as exc:  # astropy raises many types on malformed headers
            raise InputFileError(f"cannot read the WCS: {exc}", filename=filename,
                                 extension=("SCI", ev)) from exc
        if not w.has_celestial or w.naxis != 2:
            raise InputFileError("no 2-D celestial WCS", filename=filename, extension=("SCI", ev))
        shape = (int(hdr.get("NAXIS2", 0) or 0), int(hdr.get("NAXIS1", 0) or 0))
        if shape[0] <= 0 or shape[1] <= 0:
            ps = w.pixel_shape
            shape = (int(ps[1]), int(ps[0])) if ps else (2048, 4096)
        out[ev] = (w, shape)
    return out


def _read(filename: str) -> fits.HDUList:
    """Read a file into memory; stwcs-ng file errors become :class:`InputFileError`."""
    try:
        return fileio.read_fits(filename)
    except StwcsError as exc:
        raise InputFileError(getattr(exc, "reason", str(exc)), filename=filename) from exc


def _linear_tan(crval: Any, crpix: Any, cd: Any) -> WCS:
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = np.asarray(crval, dtype=np.float64)
    w.wcs.crpix = np.asarray(crpix, dtype=np.float64)
    w.wcs.cd = np.asarray(cd, dtype=np.float64)
    w.wcs.set()
    return w


def reference_frame(chip_wcs: WCS) -> WCS:
    """The undistorted linear ``TAN`` part of a chip WCS (same CRVAL, CRPIX, CD).

    Parameters
    ----------
    chip_wcs : astropy.wcs.WCS
        A chip WCS.

    Returns
    -------
    astropy.wcs.WCS
    """
    crval, crpix, cd = wcsupdate.linear_part(chip_wcs)
    return _linear_tan(crval, crpix, cd)


def _pscale_arcsec(w: WCS) -> float:
    _, _, cd = wcsupdate.linear_part(w)
    return math.sqrt(abs(np.linalg.det(cd))) * 3600.0


def _frame_transform(ref: WCS, delta: DeltaShift, frame: str, units: str,
                     center: Sequence[float] | None) -> tuple[WCS, np.ndarray, np.ndarray]:
    pscale = _pscale_arcsec(ref)
    if frame == "reference":
        factor = 1.0 / pscale if units == "arcsec" else 1.0
        d = DeltaShift(delta.dx * factor, delta.dy * factor, delta.rotation, delta.scale)
        c = np.asarray(center, dtype=np.float64) if center is not None else ref.wcs.crpix - 1.0
        m, t = delta_matrix(d, c)
        return ref, m, t
    # sky: east-right, north-up plane with 1" pixels centred on `center`
    crval = np.asarray(center if center is not None else ref.wcs.crval, dtype=np.float64)
    plane = _linear_tan(crval, [1.0, 1.0], np.eye(2) / 3600.0)
    factor = pscale if units == "pixels" else 1.0
    # position angle grows north -> east: clockwise in an east-right/north-up plane
    d = DeltaShift(delta.dx * factor, delta.dy * factor, -delta.rotation, delta.scale)
    m, t = delta_matrix(d, [0.0, 0.0])
    return plane, m, t


def apply_delta_shift(images: str | os.PathLike | Sequence[str | os.PathLike], dx: float,
                      dy: float, rotation: float = 0.0, scale: float = 1.0, *,
                      units: str = "pixels", frame: str = "reference",
                      center: Sequence[float] | None = None, refwcs: WCS | None = None,
                      wcsname: str = "DELTASHIFT", reusename: bool = False,
                      update: bool = True, **update_kwargs: Any) -> dict[str, Any]:
    """Shift/rotate/scale the WCS of every chip of one or more images.

    Parameters
    ----------
    images : path or sequence of paths
        Exposures (multi-chip FLT/FLC or simple images).  All get the same
        offset.
    dx, dy : float
        Shift (see the module documentation for the exact definition).
    rotation : float, optional
        Degrees; counter-clockwise on the reference grid (``frame='reference'``)
        or north through east (``frame='sky'``).
    scale : float, optional
        Scale factor about the rotation centre (> 0).
    units : {'pixels', 'arcsec'}, optional
        Units of ``dx``/``dy``.
    frame : {'reference', 'sky'}, optional
        Plane in which the offset is defined.
    center : sequence of 2 float, optional
        Rotation centre: 0-based pixels of the reference grid, or (RA, Dec)
        degrees for ``frame='sky'``.
    refwcs : astropy.wcs.WCS, optional
        Reference grid to use instead of the first image's first chip (its
        linear part is used).
    wcsname : str, optional
        Name of the new WCS.
    reusename : bool, optional
        Allow a name already present in a file.
    update : bool, optional
        False computes and returns the new WCSs without writing anything.
    **update_kwargs
        Passed to :func:`drizzlepac_ng.align.wcsupdate.update_image_wcs`
        (``headerlet``, ``author`` ...).

    Returns
    -------
    dict
        ``matrix`` and ``offset`` of the transform in the plane, ``frame_wcs``
        (the plane), ``wcs`` (file -> {EXTVER: new WCS}) and ``updates``
        (file -> result of ``update_image_wcs``, empty when ``update`` is False).

    Raises
    ------
    ConfigError
        Bad ``units``/``frame``/``scale``, non-finite values, or a WCS name
        already in use (nothing is then written).
    InputFileError
        An image cannot be read or has no valid WCS.
    AlignmentError
        The transform cannot be represented (non-TAN projection).
    """
    files = [os.fspath(images)] if isinstance(images, (str, os.PathLike)) else [
        os.fspath(f) for f in images]
    if not files:
        raise ConfigError("no images given")
    if units not in ("pixels", "arcsec"):
        raise ConfigError(f"units must be 'pixels' or 'arcsec', got {units!r}")
    if frame not in ("reference", "sky"):
        raise ConfigError(f"frame must be 'reference' or 'sky', got {frame!r}")
    try:
        values = [float(dx), float(dy), float(rotation), float(scale)]
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"dx, dy, rotation and scale must be numbers: {exc}") from exc
    if not all(math.isfinite(v) for v in values) or values[3] <= 0:
        raise ConfigError("dx, dy, rotation must be finite and scale finite and > 0")
    if center is not None:
        center = [float(v) for v in center]
        if len(center) != 2 or not all(math.isfinite(v) for v in center):
            raise ConfigError("center must be two finite numbers")
    delta = DeltaShift(*values)

    chips: dict[str, dict[int, tuple[WCS, tuple[int, int]]]] = {}
    for f in files:
        chips[f] = read_chip_wcs(f, _read(f))
    if refwcs is None:
        first = chips[files[0]]
        ref = reference_frame(first[min(first)][0])
    else:
        ref = reference_frame(refwcs)
    plane, m, t = _frame_transform(ref, delta, frame, units, center)

    new_wcs: dict[str, dict[int, WCS]] = {}
    for f, cmap in chips.items():
        new_wcs[f] = {ev: wcsupdate.apply_linear_correction(w, plane, m, t, shape=shape)
                      for ev, (w, shape) in cmap.items()}
    name = str(wcsname or "").strip() or "DELTASHIFT"
    if not reusename:  # check every file before writing any
        from stwcs_ng.wcsutil import altwcs
        for f in files:
            hdul = _read(f)
            for ev, i in wcsupdate.chip_extensions(hdul, f).items():
                used = {v.strip().upper() for v in altwcs.wcsnames(hdul[i].header).values()}
                if name.upper() in used:
                    raise ConfigError(f"WCSNAME {name!r} is already used in SCI,{ev}; give another "
                                      "wcsname or reusename=True", filename=f)
    updates: dict[str, Any] = {}
    if update:
        for f in files:
            try:
                updates[f] = wcsupdate.update_image_wcs(f, new_wcs[f], wcsname=name,
                                                        reusename=reusename, **update_kwargs)
            except DrizzlepacError:
                if updates:
                    log.error("updated %s before %s failed", sorted(updates), f)
                raise
            log.info("%s: applied delta shift %s in the %s frame", f, delta, frame)
    return {"matrix": m, "offset": t, "frame_wcs": plane, "wcs": new_wcs, "updates": updates,
            "delta": delta}
