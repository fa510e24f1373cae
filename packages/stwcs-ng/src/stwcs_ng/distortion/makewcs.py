"""Rebuilding the linear WCS of each chip from the distortion model and the pointing.

The pipeline (OPUS) WCS of an exposure is linear.  ``updatewcs`` replaces it
by one consistent with the IDCTAB model:

1. **Reference chip** (WFC/UVIS: chip 2; otherwise the first SCI extension).
   Its reference point moves to the model's ``(XREF, YREF)``; CRVAL is the
   OPUS WCS evaluated there.  The orientation comes from the telescope roll:
   ``PA_V3`` is the position angle of V3 at the V1 axis; :func:`troll`
   carries it to the chip's V2/V3 position and the declination of the
   pointing, then the table's ``THETA`` is added.  With parity ``P`` (a
   diagonal +-1 matrix per detector) and the model scale ``s`` (arcsec):
   ``CD_frame = s/3600 * [[P00 cos(pv), -P00 sin(pv)], [P11 sin(pv), P11 cos(pv)]]``.
   This defines a tangent-plane *frame* (TAN, pixel offsets in units of
   ``s``) centred on the reference chip.
2. **Each chip**: its reference point lies at the V2/V3 offset from the
   reference chip's, i.e. at frame offset ``(d sin t, d cos t)`` with
   ``d = |dV| / s`` and ``t = atan2(P00 dV2, P11 dV3) + THETA_ref``; CRVAL is
   the frame's sky position there.  The CD matrix columns are the sky
   displacements of the model's linear terms ``(CX11, CY11)`` and
   ``(CX10, CY10)`` (rotated by ``THETA - THETA_ref``), measured in the
   frame at that point.  CRPIX is ``(XREF, YREF)``.

Subarrays (``LTV`` offsets, unless the image has the model's full size) keep
their OPUS CRPIX as reference point, and the model is re-expanded about it.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from astropy.wcs import WCS

from .idctab import IDCModel, shift_model
from .va import diff_angles

__all__ = ["LinearWCS", "troll", "PARITY", "parity_for", "reference_frame", "chip_wcs",
           "subarray_reference"]

#: Parity matrices per (instrument, detector); anything else uses the default.
PARITY: dict[tuple[str, str], np.ndarray] = {
    ("ACS", "WFC"): np.array([[1.0, 0.0], [0.0, -1.0]]),
    ("ACS", "HRC"): np.array([[-1.0, 0.0], [0.0, 1.0]]),
    ("ACS", "SBC"): np.array([[-1.0, 0.0], [0.0, 1.0]]),
    ("WFC3", "UVIS"): np.array([[-1.0, 0.0], [0.0, 1.0]]),
    ("WFC3", "IR"): np.array([[-1.0, 0.0], [0.0, 1.0]]),
}
_DEFAULT_PARITY = np.array([[1.0, 0.0], [0.0, -1.0]])


def parity_for(instrument: str, detector: str) -> np.ndarray:
    """Parity matrix of a detector.

    Parameters
    ----------
    instrument, detector : str
        ``INSTRUME`` and ``DETECTOR``.

    Returns
    -------
    ndarray
        2x2 diagonal matrix of +-1.
    """
    key = (str(instrument).strip().upper(), str(detector).strip().upper())
    return PARITY.get(key, _DEFAULT_PARITY).copy()


@dataclasses.dataclass(frozen=True)
class LinearWCS:
    """A linear celestial (TAN) WCS: 1-based CRPIX, CRVAL (deg), CD (deg/pixel)."""

    crpix: np.ndarray
    crval: np.ndarray
    cd: np.ndarray

    def to_astropy(self) -> WCS:
        """Return the equivalent :class:`astropy.wcs.WCS` (RA---TAN/DEC--TAN)."""
        w = WCS(naxis=2)
        w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
        w.wcs.crpix = np.asarray(self.crpix, dtype=np.float64)
        w.wcs.crval = np.asarray(self.crval, dtype=np.float64)
        w.wcs.cd = np.asarray(self.cd, dtype=np.float64)
        w.wcs.set()
        return w

    def pix2world(self, x: float, y: float) -> np.ndarray:
        """Sky position (deg) of 1-based pixel ``(x, y)``."""
        return self.to_astropy().wcs_pix2world(np.array([[x, y]], dtype=np.float64), 1)[0]


def troll(roll: float, dec: float, v2: float, v3: float) -> float:
    """Position angle of V3 at an aperture, from the roll at the V1 axis.

    Spherical-trigonometry formula used by STScI's generic conversion.

    Parameters
    ----------
    roll : float
        ``PA_V3`` (degrees): position angle of V3 at V1.
    dec : float
        Declination of the aperture's pointing (degrees).
    v2, v3 : float
        The aperture's V2/V3 position (arcsec).

    Returns
    -------
    float
        The position angle of V3 at the aperture (degrees).
    """
    r = math.radians(roll)
    d = math.radians(dec)
    a2 = math.radians(v2 / 3600.0)
    a3 = math.radians(v3 / 3600.0)
    sin_rho = math.sqrt(math.sin(a2) ** 2 + math.sin(a3) ** 2
                        - math.sin(a2) ** 2 * math.sin(a3) ** 2)
    if sin_rho == 0.0:
        return float(roll)
    rho = math.asin(sin_rho)
    beta = math.asin(max(-1.0, min(1.0, math.sin(a3) / sin_rho)))
    if a2 < 0:
        beta = math.pi - beta
    gamma = math.asin(max(-1.0, min(1.0, math.sin(a2) / sin_rho)))
    if a3 < 0:
        gamma = math.pi - gamma
    big_a = math.pi / 2.0 + r - beta
    big_b = math.atan2(math.sin(big_a) * math.cos(d),
                       math.sin(d) * sin_rho - math.cos(d) * math.cos(rho) * math.cos(big_a))
    return math.degrees(math.pi - (gamma + big_b))


def subarray_reference(model: IDCModel, opus_crpix: np.ndarray, ltv: tuple[float, float],
                       naxis: tuple[int, int]) -> tuple[IDCModel, np.ndarray]:
    """Reference pixel and (shifted) model for a chip, given its LTV offsets.

    Parameters
    ----------
    model : IDCModel
        The chip's model.
    opus_crpix : ndarray
        The chip's pipeline CRPIX (1-based image pixels).
    ltv : tuple of float
        ``(LTV1, LTV2)``: image pixel minus detector pixel.
    naxis : tuple of int
        ``(NAXIS1, NAXIS2)``.

    Returns
    -------
    (model, crpix) : tuple
        With zero LTV (or an image of the model's full size, e.g. the
        polarizer case) the model unchanged and ``(XREF, YREF)``; otherwise
        the model re-expanded about the OPUS CRPIX and that CRPIX.
    """
    ltv1, ltv2 = float(ltv[0]), float(ltv[1])
    if (naxis[0] == model.xsize and naxis[1] == model.ysize) or (ltv1 == 0 and ltv2 == 0):
        return model, np.array([model.xref, model.yref])
    offx = float(opus_crpix[0]) - ltv1 - model.xref
    offy = float(opus_crpix[1]) - ltv2 - model.yref
    return shift_model(model, offx, offy), np.array([model.xref + ltv1 + offx,
                                                     model.yref + ltv2 + offy])


def reference_frame(opus_ref: LinearWCS, ref_model: IDCModel, ref_crpix: np.ndarray,
                    pa_v3: float, parity: np.ndarray, v23_ref: tuple[float, float]) -> LinearWCS:
    """The tangent-plane frame of the reference chip (step 1 of the module notes).

    Parameters
    ----------
    opus_ref : LinearWCS
        Pipeline WCS of the reference chip.
    ref_model : IDCModel
        Model of the reference chip.
    ref_crpix : ndarray
        New reference pixel of the reference chip.
    pa_v3 : float
        ``PA_V3`` (degrees).
    parity : ndarray
        Parity matrix.
    v23_ref : tuple of float
        V2/V3 (arcsec) of the reference chip's reference point (with any
        time-dependent zero-point correction).

    Returns
    -------
    LinearWCS
        Frame WCS with CRPIX ``(0, 0)``, the reference chip's new CRVAL and a
        CD matrix in degrees per model-scale unit.
    """
    crval = opus_ref.pix2world(float(ref_crpix[0]), float(ref_crpix[1]))
    pv = troll(pa_v3, float(opus_ref.crval[1]), v23_ref[0], v23_ref[1]) + ref_model.theta
    c, s = math.cos(math.radians(pv)), math.sin(math.radians(pv))
    r = ref_model.scale / 3600.0
    cd = np.array([[parity[0, 0] * c, -parity[0, 0] * s],
                   [parity[1, 1] * s, parity[1, 1] * c]]) * r
    return LinearWCS(crpix=np.zeros(2), crval=np.asarray(crval, dtype=np.float64), cd=cd)


def chip_wcs(frame: LinearWCS, model: IDCModel, ref_model: IDCModel, crpix: np.ndarray,
             parity: np.ndarray, v23: tuple[float, float],
             v23_ref: tuple[float, float]) -> LinearWCS:
    """Linear WCS of one chip in the reference frame (step 2 of the module notes).

    Parameters
    ----------
    frame : LinearWCS
        From :func:`reference_frame`.
    model : IDCModel
        The chip's (corrected, possibly shifted) model.
    ref_model : IDCModel
        The reference chip's model (scale and THETA).
    crpix : ndarray
        The chip's new reference pixel.
    parity : ndarray
        Parity matrix.
    v23, v23_ref : tuple of float
        V2/V3 (arcsec) of the chip's and the reference chip's reference points.

    Returns
    -------
    LinearWCS
        CRPIX, CRVAL and CD of the chip (before velocity aberration).
    """
    dv2 = v23[0] - v23_ref[0]
    dv3 = v23[1] - v23_ref[1]
    scale = ref_model.scale
    off = math.hypot(dv2, dv3) / scale
    theta = 0.0 if dv3 == 0 else math.atan2(parity[0, 0] * dv2, parity[1, 1] * dv3)
    theta += math.radians(ref_model.theta)
    dxy0 = np.array([off * math.sin(theta), off * math.cos(theta)])
    wframe = frame.to_astropy()
    delmat = np.array([[model.cx[1, 1], model.cy[1, 1]],
                       [model.cx[1, 0], model.cy[1, 0]]]) / scale
    dtheta = math.radians(model.theta - ref_model.theta) if model.theta else 0.0
    rot = np.array([[math.cos(dtheta), math.sin(dtheta)],
                    [-math.sin(dtheta), math.cos(dtheta)]])
    steps = delmat @ rot
    pts = np.vstack([dxy0, dxy0 + steps[0], dxy0 + steps[1]])
    sky = wframe.wcs_pix2world(pts, 1)
    crval = sky[0]
    cosd = math.cos(math.radians(crval[1]))
    cd = np.array([[diff_angles(sky[1, 0], crval[0]) * cosd,
                    diff_angles(sky[2, 0], crval[0]) * cosd],
                   [diff_angles(sky[1, 1], crval[1]), diff_angles(sky[2, 1], crval[1])]])
    return LinearWCS(crpix=np.asarray(crpix, dtype=np.float64), crval=crval, cd=cd)
