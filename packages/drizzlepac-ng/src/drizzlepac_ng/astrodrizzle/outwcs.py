"""Output frame of astrodrizzle: a distortion-free TAN WCS covering every input chip.

Default (``final_wcs=False``): the pixel scale of the first chip's linear WCS
at its centre (the Jacobian of its full, distorted pixel-to-sky transform,
made orthogonal with the same area), the camera's orientation at that chip as
the original DrizzlePac takes it (:func:`camera_orientation`: ``PA_V3``
carried to the chip's V2/V3 reference, plus ``IDCTHETA``, turned by the
detector parity), a tangent point at the centre of the union of all chips'
footprints, and a shape just large enough to hold the union.  A WCS without
the HST camera attributes (``pav3``, ``idcv2ref``, ``idcv3ref``, ``parity``:
non-HST data, files without IDC keywords) gets the orientation of the +Y axis
of its linear WCS instead; ``orient_from="chip"`` asks for that orientation
for HST chips too.

Custom (:func:`custom_output_wcs`): start from a reference image's WCS (or
the default), then override rotation, scale, shape, centre and reference pixel
as the ``final_*`` parameters ask.

Any APE-14 WCS (astropy, HSTWCS, gwcs) can describe the chips; the result is
an :class:`astropy.wcs.WCS` with ``pixel_shape`` set.  Every chip's WCS is
checked first (:func:`check_chip_wcs`): a chip whose WCS cannot define a
pixel scale (singular or non-finite CD matrix, sky coordinates that are not
finite) is refused with :class:`~drizzlepac_ng.errors.InputFileError` before
any frame is computed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from astropy.wcs import WCS

from ..errors import InputFileError, NoOverlapError

__all__ = [
    "check_chip_wcs",
    "camera_orientation",
    "footprint",
    "linear_cd",
    "orthogonal_cd",
    "cd_scale_orient",
    "make_tan_wcs",
    "default_output_wcs",
    "custom_output_wcs",
    "check_chips",
    "check_overlap",
]


def _shape_of(wcs, shape=None) -> tuple[int, int]:
    if shape is not None:
        return int(shape[0]), int(shape[1])
    ps = getattr(wcs, "pixel_shape", None)  # (nx, ny)
    if ps is None or None in ps:
        ps = getattr(wcs, "_naxis", None)
    if ps is None or None in ps or 0 in ps:
        raise ValueError("the WCS has no pixel shape; pass shape=(ny, nx)")
    return int(ps[1]), int(ps[0])


def footprint(wcs, shape: tuple[int, int] | None = None, *, n: int = 16) -> np.ndarray:
    """Sky coordinates of points along the outer pixel edges of an image.

    Parameters
    ----------
    wcs : APE-14 WCS
        With distortion.
    shape : (ny, nx), optional
        Image shape (taken from the WCS when omitted).
    n : int, optional
        Points per edge.

    Returns
    -------
    ndarray, shape (4 n, 2)
        (RA, Dec) in degrees.
    """
    ny, nx = _shape_of(wcs, shape)
    t = np.linspace(0.0, 1.0, n, endpoint=False)
    x0, x1, y0, y1 = -0.5, nx - 0.5, -0.5, ny - 0.5
    xs = np.concatenate([x0 + t * (x1 - x0), np.full(n, x1), x1 - t * (x1 - x0), np.full(n, x0)])
    ys = np.concatenate([np.full(n, y0), y0 + t * (y1 - y0), np.full(n, y1), y1 - t * (y1 - y0)])
    ra, dec = wcs.pixel_to_world_values(xs, ys)
    return np.column_stack([np.asarray(ra, float), np.asarray(dec, float)])


def _tangent_plane(ra: np.ndarray, dec: np.ndarray, ra0: float, dec0: float):
    """Gnomonic projection (degrees) about (ra0, dec0): xi east, eta north."""
    a, d = np.radians(ra), np.radians(dec)
    a0, d0 = math.radians(ra0), math.radians(dec0)
    cosc = np.sin(d0) * np.sin(d) + np.cos(d0) * np.cos(d) * np.cos(a - a0)
    xi = np.cos(d) * np.sin(a - a0) / cosc
    eta = (np.cos(d0) * np.sin(d) - np.sin(d0) * np.cos(d) * np.cos(a - a0)) / cosc
    return np.degrees(xi), np.degrees(eta)


def linear_cd(wcs, shape: tuple[int, int] | None = None, *, at=None, step: float = 1.0
              ) -> tuple[np.ndarray, float, float]:
    """Local linear CD matrix of a (distorted) WCS at a pixel.

    Parameters
    ----------
    wcs : APE-14 WCS
    shape : (ny, nx), optional
    at : (x, y), optional
        0-based pixel; default the image centre.
    step : float, optional
        Finite-difference step in pixels.

    Returns
    -------
    cd : ndarray (2, 2)
        Degrees per pixel, in the tangent plane at the pixel's sky position.
    ra, dec : float
        Sky position of the pixel.
    """
    if at is None:
        ny, nx = _shape_of(wcs, shape)
        at = ((nx - 1) / 2.0, (ny - 1) / 2.0)
    x, y = float(at[0]), float(at[1])
    xs = np.array([x, x + step, x - step, x, x])
    ys = np.array([y, y, y, y + step, y - step])
    ra, dec = (np.asarray(v, float) for v in wcs.pixel_to_world_values(xs, ys))
    xi, eta = _tangent_plane(ra, dec, ra[0], dec[0])
    cd = np.array([[(xi[1] - xi[2]) / (2 * step), (xi[3] - xi[4]) / (2 * step)],
                   [(eta[1] - eta[2]) / (2 * step), (eta[3] - eta[4]) / (2 * step)]])
    return cd, float(ra[0]), float(dec[0])


def cd_scale_orient(cd: np.ndarray) -> tuple[float, float]:
    """Pixel scale (arcsec, sqrt of the area) and ORIENTAT (deg, PA of +Y east of north)."""
    cd = np.asarray(cd, dtype=np.float64)
    scale = math.sqrt(abs(np.linalg.det(cd))) * 3600.0
    orient = math.degrees(math.atan2(cd[0, 1], cd[1, 1]))
    return scale, orient


def orthogonal_cd(scale_arcsec: float, orient_deg: float) -> np.ndarray:
    """CD matrix of a square, north-east-left (parity of the sky) pixel grid.

    Parameters
    ----------
    scale_arcsec : float
        Pixel size.
    orient_deg : float
        Position angle of the +Y axis, east of north.

    Returns
    -------
    ndarray (2, 2)
    """
    s = scale_arcsec / 3600.0
    t = math.radians(orient_deg)
    return np.array([[-s * math.cos(t), s * math.sin(t)],
                     [s * math.sin(t), s * math.cos(t)]])


def make_tan_wcs(crval: tuple[float, float], cd: np.ndarray, crpix: tuple[float, float],
                 shape: tuple[int, int]) -> WCS:
    """A plain RA---TAN/DEC--TAN WCS; ``crpix`` is 1-based (FITS), ``shape`` (ny, nx)."""
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [float(crval[0]) % 360.0, float(crval[1])]
    w.wcs.crpix = [float(crpix[0]), float(crpix[1])]
    w.wcs.cd = np.asarray(cd, dtype=np.float64)
    w.wcs.cunit = ["deg", "deg"]
    w.wcs.radesys = "ICRS"
    w.wcs.set()
    w.pixel_shape = (int(shape[1]), int(shape[0]))
    return w


def _pixel_extent(points: np.ndarray, crval, cd) -> tuple[np.ndarray, np.ndarray]:
    """Offsets in output pixels (from the tangent point) of sky points."""
    xi, eta = _tangent_plane(points[:, 0], points[:, 1], crval[0], crval[1])
    inv = np.linalg.inv(cd)
    px = inv[0, 0] * xi + inv[0, 1] * eta
    py = inv[1, 0] * xi + inv[1, 1] * eta
    return px, py


def _covering(points: np.ndarray, cd: np.ndarray, crval0: tuple[float, float]):
    """Tangent point at the bounding-box centre and the shape that holds all points."""
    crval = crval0
    for _ in range(3):  # recentre: the box is not symmetric on the sky after projection
        px, py = _pixel_extent(points, crval, cd)
        cx, cy = 0.5 * (px.min() + px.max()), 0.5 * (py.min() + py.max())
        xi = cd[0, 0] * cx + cd[0, 1] * cy
        eta = cd[1, 0] * cx + cd[1, 1] * cy
        crval = _deproject(xi, eta, crval)
    px, py = _pixel_extent(points, crval, cd)
    nx = max(1, int(math.ceil(px.max() - px.min() - 1e-6)))
    ny = max(1, int(math.ceil(py.max() - py.min() - 1e-6)))
    return crval, (ny, nx)


def _deproject(xi_deg: float, eta_deg: float, crval) -> tuple[float, float]:
    xi, eta = math.radians(xi_deg), math.radians(eta_deg)
    a0, d0 = math.radians(crval[0]), math.radians(crval[1])
    rho = math.hypot(xi, eta)
    if rho == 0:
        return float(crval[0]), float(crval[1])
    c = math.atan(rho)
    dec = math.asin(math.cos(c) * math.sin(d0) + eta * math.sin(c) * math.cos(d0) / rho)
    ra = a0 + math.atan2(xi * math.sin(c),
                         rho * math.cos(d0) * math.cos(c) - eta * math.sin(d0) * math.sin(c))
    return math.degrees(ra) % 360.0, math.degrees(dec)


#: Smallest accepted |det(CD)| relative to the square of its largest element: a
#: chip's pixels must span an area, not a line (real detectors give ~1).
_MIN_RELATIVE_AREA = 1e-10


def _chip_name(wcs, index: int, names: Sequence | None) -> tuple[str, object]:
    """(file name, extension) of chip ``index`` for messages."""
    if names is not None and index < len(names) and names[index] is not None:
        name = names[index]
        if isinstance(name, tuple) and len(name) == 2:
            return str(name[0]), name[1]
        return str(name), None
    filename = getattr(wcs, "filename", None)  # HSTWCS knows its file and extension
    if filename:
        return str(filename), getattr(wcs, "extname", None)
    return f"input chip {index + 1}", None


def _header_cd(wcs) -> np.ndarray | None:
    """The linear CD matrix of a FITS-WCS (astropy, HSTWCS); None for other WCS kinds."""
    inner = getattr(wcs, "wcs", None)
    if inner is None or not hasattr(inner, "get_pc"):
        return None
    if getattr(wcs, "naxis", 2) != 2:
        return None
    try:
        return np.asarray(inner.get_cdelt(), float)[:, None] * np.asarray(inner.get_pc(), float)
    except Exception:  # astropy raises several types for unusable matrices
        return np.full((2, 2), np.nan)


def _fmt_cd(cd: np.ndarray) -> str:
    return "[" + ", ".join("[" + ", ".join(f"{v:.3g}" for v in row) + "]" for row in cd) + "]"


def _cd_problem(cd: np.ndarray, what: str) -> str | None:
    if not np.all(np.isfinite(cd)):
        return f"its {what} is not finite: {_fmt_cd(cd)}"
    biggest = float(np.max(np.abs(cd)))
    det = float(np.linalg.det(cd))
    if biggest == 0.0 or abs(det) <= _MIN_RELATIVE_AREA * biggest * biggest:
        return (f"its {what} is singular (determinant {det:.3g}); it defines no pixel "
                f"scale: {_fmt_cd(cd)}")
    return None


def _unit_fix_problem(cd: np.ndarray) -> str | None:
    """The signature of an all-zero CD row and column that FITS readers "fixed".

    wcslib (and so astropy) replaces a zero diagonal CD element whose row and
    column are zero by 1, i.e. one degree per pixel: a singular CD matrix in
    the header arrives here as a matrix with an exact unit diagonal element.
    """
    for i in range(2):
        j = 1 - i
        if cd[i, i] == 1.0 and cd[i, j] == 0.0 and cd[j, i] == 0.0:
            return (f"its CD matrix is singular in the header (row and column {i + 1} are "
                    f"zero or missing; FITS readers substitute CD{i + 1}_{i + 1} = 1 degree "
                    "per pixel), so it defines no pixel scale")
    return None


def check_chip_wcs(wcs, shape: tuple[int, int] | None = None, *,
                   filename: str | None = None, extension=None) -> float:
    """Refuse a chip whose WCS cannot define a pixel scale; return the scale.

    Checks the header CD matrix (for FITS WCSs) and the local linear CD
    matrix of the full transform at the chip centre (any APE-14 WCS): both
    must be finite and non-singular (``|det| > 1e-10 * max|CD|**2``), and the
    centre must map to finite sky coordinates.  An all-zero CD matrix (or
    row and column) reaches astropy as a unit diagonal element, one degree
    per pixel along an otherwise decoupled axis (wcslib's ``cdfix``); that
    exact pattern is refused too, as no drizzled instrument has such pixels.

    Parameters
    ----------
    wcs : APE-14 WCS
        The chip's WCS, with distortion.
    shape : (ny, nx), optional
        Chip shape (taken from the WCS when omitted).
    filename : str, optional
        File of the chip, for the message.
    extension : str, int or tuple, optional
        Its extension, for the message (e.g. ``('sci', 1)``).

    Returns
    -------
    float
        The chip's linear pixel scale at its centre (arcsec).

    Raises
    ------
    InputFileError
        If the WCS is singular, non-finite or cannot be evaluated; the
        message names ``filename[extension]`` and the problem.
    """
    def refuse(problem: str) -> InputFileError:
        return InputFileError(f"the SCI WCS cannot be used for drizzling: {problem}",
                              filename=filename, extension=extension)

    header_cd = _header_cd(wcs)
    if header_cd is not None:
        problem = _cd_problem(header_cd, "CD matrix") or _unit_fix_problem(header_cd)
        if problem:
            raise refuse(problem)
    try:
        with np.errstate(all="ignore"):
            cd, ra, dec = linear_cd(wcs, shape)
    except InputFileError:
        raise
    except Exception as exc:  # any failure of the transform is the input's
        raise refuse(f"pixel to sky fails at the chip centre ({type(exc).__name__}: "
                     f"{exc})") from exc
    if not (math.isfinite(ra) and math.isfinite(dec)):
        raise refuse("the chip centre has no finite sky position")
    problem = _cd_problem(cd, "local linear CD matrix at the chip centre")
    if problem:
        raise refuse(problem)
    return cd_scale_orient(cd)[0]


def check_chips(wcs_list: Sequence, shapes: Sequence | None = None,
                names: Sequence | None = None) -> None:
    """:func:`check_chip_wcs` on every chip (names as for :func:`default_output_wcs`).

    Parameters
    ----------
    wcs_list : sequence of APE-14 WCS
    shapes : sequence of (ny, nx), optional
    names : sequence, optional
        Per chip, a file name or a ``(filename, extension)`` tuple.

    Raises
    ------
    InputFileError
        For the first chip whose WCS defines no pixel scale.
    """
    if not wcs_list:
        raise ValueError("no input WCS given")
    shapes = shapes or [None] * len(wcs_list)
    for i, (w, s) in enumerate(zip(wcs_list, shapes, strict=True)):
        filename, extension = _chip_name(w, i, names)
        check_chip_wcs(w, s, filename=filename, extension=extension)


def _all_footprints(wcs_list: Sequence, shapes: Sequence | None,
                    names: Sequence | None = None) -> np.ndarray:
    if not wcs_list:
        raise ValueError("no input WCS given")
    shapes = shapes or [None] * len(wcs_list)
    pts = [footprint(w, s) for w, s in zip(wcs_list, shapes, strict=True)]
    for i, (w, pt) in enumerate(zip(wcs_list, pts, strict=True)):
        if not np.all(np.isfinite(pt)):
            filename, extension = _chip_name(w, i, names)
            raise InputFileError("the SCI WCS gives non-finite sky coordinates on the chip "
                                 "edges; it cannot be drizzled", filename=filename,
                                 extension=extension)
    return np.concatenate(pts)


def camera_orientation(wcs) -> float | None:
    """ORIENTAT (deg) of an HST camera's default frame at a chip, or None.

    The position angle of V3 at the chip's IDC reference point (``PA_V3``
    carried from V1 to the aperture's V2/V3 position), plus ``IDCTHETA``,
    turned by the detector parity: the orientation the original DrizzlePac
    gives its default output frame ("the default orientation for the
    camera").  It differs from the +Y axis of the chip's own CD matrix by the
    chip's skew and rotation in the focal plane (~2 deg for ACS/WFC, ~0.3
    deg for WFC3/UVIS).  None when the WCS lacks ``pav3``, ``idcv2ref``,
    ``idcv3ref`` or ``parity`` (non-HST WCSs, files without IDC keywords).

    Parameters
    ----------
    wcs : HSTWCS or any WCS
        The reference chip (the first chip of the first input).

    Returns
    -------
    float or None
    """
    pav3 = getattr(wcs, "pav3", None)
    v2 = getattr(wcs, "idcv2ref", None)
    v3 = getattr(wcs, "idcv3ref", None)
    parity = getattr(wcs, "parity", None)
    if pav3 is None or v2 is None or v3 is None or parity is None:
        return None
    from stwcs_ng.distortion.makewcs import troll

    try:
        pv = troll(float(pav3), float(wcs.wcs.crval[1]), float(v2), float(v3))
        pv += float(getattr(wcs, "idctheta", None) or 0.0)
        t = math.radians(pv)
        m = np.array([[math.cos(t), math.sin(t)], [-math.sin(t), math.cos(t)]]) \
            @ np.asarray(parity, dtype=float)
    except (TypeError, ValueError, AttributeError):
        return None
    orient = math.degrees(math.atan2(m[0, 1], m[1, 1]))
    return orient if math.isfinite(orient) else None


def _default_orient(wcs, fallback: float, orient_from: str) -> float:
    if orient_from == "chip":
        return fallback
    if orient_from != "camera":
        raise ValueError(f"orient_from must be 'chip' or 'camera', not {orient_from!r}")
    orient = camera_orientation(wcs)
    return fallback if orient is None else orient


def default_output_wcs(wcs_list: Sequence, shapes: Sequence | None = None, *,
                       scale: float | None = None, rot: float | None = None,
                       orient_from: str = "camera", names: Sequence | None = None) -> WCS:
    """The default output frame: first chip's scale, camera orientation, covering all chips.

    Parameters
    ----------
    wcs_list : sequence of APE-14 WCS
        Every input chip, with its distortion.
    shapes : sequence of (ny, nx), optional
        Chip shapes when the WCSs do not carry them.
    scale : float, optional
        Pixel scale (arcsec) instead of the first chip's.
    rot : float, optional
        ORIENTAT (deg) instead of the first chip's.
    orient_from : {'camera', 'chip'}, optional
        Default orientation: ``'camera'`` (the default) the camera's
        orientation as the original DrizzlePac takes it
        (:func:`camera_orientation`; falls back to ``'chip'`` for WCSs
        without the HST camera attributes); ``'chip'`` the +Y axis of the
        first chip's linear WCS.
    names : sequence, optional
        Per chip, its file name or a ``(filename, extension)`` tuple, for
        error messages (default: an HSTWCS's own ``filename``/``extname``,
        else ``'input chip N'``).

    Returns
    -------
    astropy.wcs.WCS
        TAN projection with an orthogonal CD matrix and ``pixel_shape``.

    Raises
    ------
    InputFileError
        If a chip's WCS defines no pixel scale (see :func:`check_chip_wcs`);
        checked before the frame is computed.
    """
    check_chips(wcs_list, shapes, names)
    points = _all_footprints(wcs_list, shapes, names)
    cd0, ra0, dec0 = linear_cd(wcs_list[0], shapes[0] if shapes else None)
    s0, o0 = cd_scale_orient(cd0)
    o0 = _default_orient(wcs_list[0], o0, orient_from)
    cd = orthogonal_cd(s0 if scale is None else scale, o0 if rot is None else rot)
    crval, shape = _covering(points, cd, (ra0, dec0))
    return make_tan_wcs(crval, cd, ((shape[1] + 1) / 2.0, (shape[0] + 1) / 2.0), shape)


def custom_output_wcs(wcs_list: Sequence, shapes: Sequence | None = None, *,
                      refimage_wcs=None, rot: float | None = None, scale: float | None = None,
                      outnx: int | None = None, outny: int | None = None,
                      ra: float | None = None, dec: float | None = None,
                      crpix1: float | None = None, crpix2: float | None = None,
                      orient_from: str = "camera", names: Sequence | None = None) -> WCS:
    """Output frame with the ``final_*`` (or ``driz_sep_*``) overrides.

    Parameters
    ----------
    wcs_list, shapes
        As :func:`default_output_wcs` (used when no reference is given, and to
        size the frame when ``outnx``/``outny`` are not given).
    refimage_wcs : APE-14 WCS, optional
        Frame to start from (its linear part at its centre, its shape).
    rot, scale : float, optional
        ORIENTAT (deg) and pixel scale (arcsec).
    outnx, outny : int, optional
        Output shape.
    ra, dec : float, optional
        Sky position of the reference pixel (default: centre of the frame).
    crpix1, crpix2 : float, optional
        1-based reference pixel (default: centre of the output).
    orient_from : {'camera', 'chip'}, optional
        As :func:`default_output_wcs` (without a reference image).
    names : sequence, optional
        As :func:`default_output_wcs`.

    Returns
    -------
    astropy.wcs.WCS

    Raises
    ------
    InputFileError
        If a chip's WCS (or the reference image's) defines no pixel scale;
        checked before the frame is computed.
    """
    if wcs_list:
        check_chips(wcs_list, shapes, names)
    if refimage_wcs is not None:
        check_chip_wcs(refimage_wcs, filename=getattr(refimage_wcs, "filename", None)
                       or "the reference image")
        ref_shape = _shape_of(refimage_wcs)
        cd_ref, ra_ref, dec_ref = linear_cd(refimage_wcs, ref_shape)
        s_ref, o_ref = cd_scale_orient(cd_ref)
        s_new = s_ref if scale is None else scale
        cd = orthogonal_cd(s_new, o_ref if rot is None else rot)
        crval = (ra_ref, dec_ref)
        shape = (max(1, round(ref_shape[0] * s_ref / s_new)),
                 max(1, round(ref_shape[1] * s_ref / s_new)))
    else:
        points = _all_footprints(wcs_list, shapes, names)
        cd0, ra0, dec0 = linear_cd(wcs_list[0], shapes[0] if shapes else None)
        s0, o0 = cd_scale_orient(cd0)
        o0 = _default_orient(wcs_list[0], o0, orient_from)
        cd = orthogonal_cd(s0 if scale is None else scale, o0 if rot is None else rot)
        crval, shape = _covering(points, cd, (ra0, dec0))
        if ra is not None and dec is not None:
            # keep everything inside with the requested sky position at the centre
            px, py = _pixel_extent(points, (ra, dec), cd)
            shape = (max(1, int(math.ceil(2 * np.abs(py).max()))),
                     max(1, int(math.ceil(2 * np.abs(px).max()))))
    if ra is not None and dec is not None:
        crval = (ra, dec)
    shape = (int(outny) if outny else shape[0], int(outnx) if outnx else shape[1])
    crpix = (crpix1 if crpix1 is not None else (shape[1] + 1) / 2.0,
             crpix2 if crpix2 is not None else (shape[0] + 1) / 2.0)
    return make_tan_wcs(crval, cd, crpix, shape)


def check_overlap(out_wcs: WCS, chip_wcs, shape=None, *, filename: str | None = None) -> None:
    """Raise :class:`NoOverlapError` if a chip falls entirely outside the output frame."""
    pts = footprint(chip_wcs, shape, n=8)
    ny_out, nx_out = _shape_of(out_wcs)
    x, y = out_wcs.world_to_pixel_values(pts[:, 0], pts[:, 1])
    x, y = np.asarray(x), np.asarray(y)
    if (x.max() < -0.5 or x.min() > nx_out - 0.5 or y.max() < -0.5 or y.min() > ny_out - 0.5):
        raise NoOverlapError("does not overlap the output frame", filename=filename)
