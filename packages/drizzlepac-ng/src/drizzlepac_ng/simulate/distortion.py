"""Distortion model of the simulated cameras and the WCS it implies.

Three parts, as in the HST pipeline products:

* **IDC polynomial -> SIP.**  With ``M = [[CX11, CX10], [CY11, CY10]]`` each
  non-linear pair ``(CX[n, m], CY[n, m])`` (n >= 2) becomes
  ``[A_m_(n-m), B_m_(n-m)] = M^-1 [CX[n, m], CY[n, m]]``; the linear part goes
  into the CD matrix.
* **Pointing -> linear WCS per chip** (the rules of stwcs ``MakeWCS``): the
  reference chip (CCDCHIP 2) defines a tangent-plane frame at its reference
  pixel, oriented by ``PA_V3`` carried to the chip's V2/V3 position
  (:func:`troll`) plus the chip's ``THETA`` and the detector parity; every
  chip's CRVAL is the frame position at its V2/V3 offset and its CD matrix
  columns are the sky displacements of the linear terms ``(CX11, CY11)`` and
  ``(CX10, CY10)``.  CRPIX is ``(XREF, YREF)``.
* **Lookup tables.**  NPOL (``CPDIS``/``DP`` records, ``WCSDVARR``) and D2IM
  (``D2IMDIS``/``D2IM`` records, ``D2IMARR``) corrections of a few
  hundredths of a pixel, smooth on the 64-pixel grid of the reference files.

The functions are pure: they build headers and arrays; nothing is written.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from ..errors import ConfigError
from ._instruments import ORDER, CameraModel, ChipModel

__all__ = [
    "troll",
    "idc_to_sip",
    "reference_frame",
    "linear_chip_wcs",
    "npol_reference_tables",
    "d2im_reference_tables",
    "npol_science_tables",
    "DISTORTION_PARTS",
    "normalize_distortion",
]

#: Distortion components that can be switched on.
DISTORTION_PARTS = ("sip", "npol", "d2im")
_NPOL_SEED = 20240611
_D2IM_SEED = 20240612


def normalize_distortion(distortion) -> tuple[str, ...]:
    """Return the distortion components as a tuple of lower-case names.

    Parameters
    ----------
    distortion : None, str or sequence of str
        Any of "sip", "npol", "d2im"; None or () means no distortion at all
        (a plain TAN WCS); "all" means all three.

    Returns
    -------
    tuple of str

    Raises
    ------
    ConfigError
        For an unknown component, or lookup tables without "sip".
    """
    if distortion is None:
        return ()
    if isinstance(distortion, str):
        distortion = DISTORTION_PARTS if distortion.lower() == "all" else (distortion,)
    parts = tuple(str(p).lower() for p in distortion)
    bad = [p for p in parts if p not in DISTORTION_PARTS]
    if bad:
        raise ConfigError(f"unknown distortion component(s) {bad}; use {DISTORTION_PARTS}")
    if parts and "sip" not in parts:
        raise ConfigError("lookup-table distortion (npol/d2im) needs 'sip' as well")
    return tuple(p for p in DISTORTION_PARTS if p in parts)


def troll(roll: float, dec: float, v2: float, v3: float) -> float:
    """Position angle (deg) of V3 at a V2/V3 position, from its value at the V1 axis.

    Spherical triangle V1 -- aperture -- celestial pole: the aperture lies at
    angular distance ``rho`` from V1 along the direction given by (V2, V3).

    Parameters
    ----------
    roll : float
        ``PA_V3`` at the V1 axis (deg).
    dec : float
        Declination of the aperture (deg).
    v2, v3 : float
        Aperture position in the V2/V3 frame (arcsec).

    Returns
    -------
    float
        The roll angle at the aperture (deg).
    """
    r = math.radians(roll)
    d = math.radians(dec)
    a2 = math.radians(v2 / 3600.0)
    a3 = math.radians(v3 / 3600.0)
    s2, s3 = math.sin(a2), math.sin(a3)
    sin_rho = math.sqrt(s2 * s2 + s3 * s3 - s2 * s2 * s3 * s3)
    if sin_rho == 0.0:
        return roll
    rho = math.asin(sin_rho)
    beta = math.asin(s3 / sin_rho)
    if a2 < 0:
        beta = math.pi - beta
    gamma = math.asin(s2 / sin_rho)
    if a3 < 0:
        gamma = math.pi - gamma
    big_a = math.pi / 2.0 + r - beta
    big_b = math.atan2(math.sin(big_a) * math.cos(d),
                       math.sin(d) * sin_rho - math.cos(d) * math.cos(rho) * math.cos(big_a))
    return math.degrees(math.pi - (gamma + big_b))


def idc_to_sip(chip: ChipModel, order: int = ORDER) -> tuple[np.ndarray, np.ndarray]:
    """SIP ``A``/``B`` arrays (``A[p, q]`` multiplies ``u**p v**q``) of a chip polynomial.

    Parameters
    ----------
    chip : ChipModel
        Chip with IDC coefficients.
    order : int
        Polynomial order.

    Returns
    -------
    a, b : ndarray
        ``(order+1, order+1)`` arrays; terms of order < 2 are zero.
    """
    inv = np.linalg.inv(chip.linear)
    a = np.zeros((order + 1, order + 1))
    b = np.zeros((order + 1, order + 1))
    for n in range(2, order + 1):
        for m in range(n + 1):
            sa, sb = inv @ np.array([chip.cx[n, m], chip.cy[n, m]])
            a[m, n - m] = sa
            b[m, n - m] = sb
    return a, b


def _rot(theta_deg: float) -> np.ndarray:
    t = math.radians(theta_deg)
    return np.array([[math.cos(t), math.sin(t)], [-math.sin(t), math.cos(t)]])


def _tan_wcs(crval: Sequence[float], cd: np.ndarray, crpix=(0.0, 0.0)) -> WCS:
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [float(crval[0]), float(crval[1])]
    w.wcs.crpix = [float(crpix[0]), float(crpix[1])]
    w.wcs.cd = np.asarray(cd, dtype=float)
    w.wcs.set()
    return w


def _dangle(a: float, b: float) -> float:
    return (a - b + 180.0) % 360.0 - 180.0


def reference_frame(camera: CameraModel, crval: Sequence[float], pa_v3: float) -> WCS:
    """The tangent-plane frame defined by the reference chip (CRPIX = (0, 0), 1-based).

    Parameters
    ----------
    camera : CameraModel
    crval : (ra, dec)
        Sky position of the reference chip's reference pixel (deg).
    pa_v3 : float
        ``PA_V3`` (deg).

    Returns
    -------
    astropy.wcs.WCS
        Linear TAN WCS whose pixel offsets are in units of the model scale.
    """
    ref = camera.reference_chip
    pv = troll(pa_v3, float(crval[1]), ref.v2ref, ref.v3ref) + ref.theta
    p = camera.parity
    s = ref.scale / 3600.0
    c, sn = math.cos(math.radians(pv)), math.sin(math.radians(pv))
    cd = np.array([[p[0][0] * c * s, -p[0][0] * sn * s], [p[1][1] * sn * s, p[1][1] * c * s]])
    return _tan_wcs(crval, cd)


def linear_chip_wcs(camera: CameraModel, chip: ChipModel, crval_ref: Sequence[float],
                    pa_v3: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CRPIX, CRVAL and CD of a chip for a pointing (the MakeWCS rules).

    Parameters
    ----------
    camera : CameraModel
    chip : ChipModel
    crval_ref : (ra, dec)
        Sky position of the reference chip's reference pixel (deg).
    pa_v3 : float
        ``PA_V3`` (deg).

    Returns
    -------
    crpix, crval, cd : ndarray
        1-based CRPIX, CRVAL (deg) and CD (deg/pixel).
    """
    frame = reference_frame(camera, crval_ref, pa_v3)
    ref = camera.reference_chip
    s_ref = ref.scale
    dv2 = chip.v2ref - ref.v2ref
    dv3 = chip.v3ref - ref.v3ref
    dist = math.hypot(dv2, dv3) / s_ref
    p = camera.parity
    ang = 0.0 if dv3 == 0.0 else math.atan2(p[0][0] * dv2, p[1][1] * dv3)
    ang += math.radians(ref.theta)
    origin = np.array([[dist * math.sin(ang), dist * math.cos(ang)]])
    crval = frame.wcs_pix2world(origin, 1)[0]
    # unit pixel steps along x and y of the chip, in frame pixels
    steps = np.array([[chip.cx[1, 1], chip.cy[1, 1]], [chip.cx[1, 0], chip.cy[1, 0]]]) / s_ref
    steps = steps @ _rot(chip.theta - ref.theta)
    ends = frame.wcs_pix2world(origin + steps, 1)
    cosd = math.cos(math.radians(crval[1]))
    cd = np.array([
        [_dangle(ends[0, 0], crval[0]) * cosd, _dangle(ends[1, 0], crval[0]) * cosd],
        [_dangle(ends[0, 1], crval[1]), _dangle(ends[1, 1], crval[1])],
    ])
    crpix = np.array([chip.xref, chip.yref])
    return crpix, np.asarray(crval, dtype=float), cd


# --------------------------------------------------------------------------- tables
def _smooth_field(rng: np.random.Generator, shape: tuple[int, int], amplitude: float,
                  n_modes: int = 12) -> np.ndarray:
    """A smooth random field (sum of low-frequency cosines) with peak ~ ``amplitude``."""
    ny, nx = shape
    yy, xx = np.mgrid[0:ny, 0:nx]
    out = np.zeros(shape)
    for _ in range(n_modes):
        kx = rng.uniform(0.5, 4.0) * 2 * math.pi / nx
        ky = rng.uniform(0.5, 4.0) * 2 * math.pi / ny
        phase = rng.uniform(0, 2 * math.pi)
        out += rng.normal() * np.cos(kx * xx * rng.choice([-1, 1]) + ky * yy + phase)
    out *= amplitude / max(np.abs(out).max(), 1e-30)
    return out


def _table_shape(camera: CameraModel) -> tuple[int, int]:
    ny, nx = camera.chips[0].shape
    c = camera.npol_cdelt
    return max(2, math.ceil(ny / c)), max(2, math.ceil(nx / c))


def npol_reference_tables(camera: CameraModel) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """NPOL ``DX``/``DY`` tables per CCDCHIP, in the reference-file convention.

    Values are in units of model-frame pixels (the NPOLFILE convention: they
    are turned into detector pixels with the inverse of the normalised linear
    IDC matrix when written into a science file).

    Parameters
    ----------
    camera : CameraModel

    Returns
    -------
    dict
        ``{ccdchip: (dx, dy)}``, float32 arrays of shape ``ceil(chip / CDELT)``.
    """
    rng = np.random.default_rng(_NPOL_SEED + (0 if camera.instrume == "ACS" else 7))
    shape = _table_shape(camera)
    out = {}
    for chip in camera.chips:
        dx = _smooth_field(rng, shape, camera.npol_amplitude).astype(np.float32)
        dy = _smooth_field(rng, shape, camera.npol_amplitude).astype(np.float32)
        out[chip.ccdchip] = (dx, dy)
    return out


def d2im_reference_tables(camera: CameraModel) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """D2IM ``DX``/``DY`` tables per CCDCHIP (detector pixels, applied as they are).

    Parameters
    ----------
    camera : CameraModel

    Returns
    -------
    dict
        ``{ccdchip: (dx, dy)}``, float32 arrays.
    """
    rng = np.random.default_rng(_D2IM_SEED + (0 if camera.instrume == "ACS" else 7))
    shape = _table_shape(camera)
    out = {}
    for chip in camera.chips:
        dx = _smooth_field(rng, shape, camera.d2im_amplitude, n_modes=20).astype(np.float32)
        dy = _smooth_field(rng, shape, camera.d2im_amplitude, n_modes=20).astype(np.float32)
        out[chip.ccdchip] = (dx, dy)
    return out


def npol_science_tables(chip: ChipModel, dx: np.ndarray, dy: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Convert reference NPOL tables to the detector-pixel tables of a science file.

    The conversion is the one ``updatewcs`` applies: multiply ``(dx, dy)`` by
    the inverse of ``[[OCX11, OCX10], [OCY11, OCY10]] / IDCSCALE``, computed
    in single precision.

    Parameters
    ----------
    chip : ChipModel
    dx, dy : ndarray
        Reference tables.

    Returns
    -------
    dx, dy : ndarray
        float32 tables for the ``WCSDVARR`` extensions.
    """
    m = np.array([[chip.cx[1, 1], chip.cx[1, 0]], [chip.cy[1, 1], chip.cy[1, 0]]],
                 dtype=np.float32)
    inv = np.linalg.inv(m / np.float32(chip.scale))
    ndx, ndy = np.dot(inv, [dx.ravel(), dy.ravel()]).astype(np.float32)
    return ndx.reshape(dx.shape), ndy.reshape(dy.shape)


def lookup_hdu(extname: str, extver: int, data: np.ndarray, cdelt: float) -> fits.ImageHDU:
    """A ``WCSDVARR`` / ``D2IMARR`` extension as in updated pipeline files."""
    hdr = fits.Header()
    hdr["EXTNAME"] = (extname, "WCS distortion array")
    hdr["EXTVER"] = (extver, "Distortion array version number")
    for i in (1, 2):
        hdr[f"CDELT{i}"] = (float(cdelt), "Coordinate increment at reference point")
        hdr[f"CRPIX{i}"] = (0.0, "Pixel coordinate of reference point")
        hdr[f"CRVAL{i}"] = (0.0, "Coordinate value at reference point")
    return fits.ImageHDU(data=np.asarray(data, dtype=np.float32), header=hdr)


def check_order(order: int) -> None:
    """Raise ConfigError unless ``order`` is a supported SIP order."""
    if order not in range(2, ORDER + 1):
        raise ConfigError(f"SIP order must be 2..{ORDER}, not {order}")
