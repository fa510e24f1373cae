"""Conversion of an HSTWCS to a :class:`gwcs.wcs.WCS` (APE-14 equivalent).

The forward transform is

``distortion | AffineTransformation2D(CD) | Pix2Sky_TAN | RotateNative2Celestial``

where ``distortion`` is a parameter-free astropy model evaluating D2IM, SIP and
NPOL exactly as :mod:`stwcs_ng.wcsutil._fastwcs` does (0-based pixels in,
offsets from CRPIX out).  Its inverse is a fixed-point iteration on the
same distortion (like :meth:`HSTWCS.all_world2pix`), so ``gwcs.WCS.invert``
and ``world_to_pixel`` work.
"""

from __future__ import annotations

import numpy as np
from astropy import coordinates as coord
from astropy import units as u
from astropy.modeling import Model, models

from ..errors import UnsupportedInstrumentError

__all__ = ["HSTDistortion", "HSTDistortionInverse", "hstwcs_to_gwcs"]


class HSTDistortion(Model):
    """0-based detector pixels -> undistorted offsets from CRPIX (pixels)."""

    n_inputs = 2
    n_outputs = 2
    _separable = False

    def __init__(self, pipeline, **kwargs) -> None:
        super().__init__(**kwargs)
        self._pipe = pipeline
        self.inputs = ("x", "y")
        self.outputs = ("u", "v")

    def evaluate(self, x, y):
        fx, fy = self._pipe.pix2foc(np.asarray(x, dtype=np.float64) + 1.0,
                                    np.asarray(y, dtype=np.float64) + 1.0)
        return fx - self._pipe.crpix[0], fy - self._pipe.crpix[1]

    @property
    def inverse(self):
        return HSTDistortionInverse(self._pipe)


class HSTDistortionInverse(Model):
    """Undistorted offsets from CRPIX -> 0-based detector pixels (iterative)."""

    n_inputs = 2
    n_outputs = 2
    _separable = False

    def __init__(self, pipeline, tolerance: float = 1e-10, maxiter: int = 50, **kwargs) -> None:
        super().__init__(**kwargs)
        self._pipe = pipeline
        self._tol = tolerance
        self._maxiter = maxiter
        self.inputs = ("u", "v")
        self.outputs = ("x", "y")

    def evaluate(self, u_, v_):
        tx = np.asarray(u_, dtype=np.float64) + self._pipe.crpix[0]
        ty = np.asarray(v_, dtype=np.float64) + self._pipe.crpix[1]
        px, py = tx.copy(), ty.copy()
        for _ in range(self._maxiter):
            fx, fy = self._pipe.pix2foc(px, py)
            dx, dy = fx - tx, fy - ty
            px -= dx
            py -= dy
            if not np.any(np.hypot(dx, dy) > self._tol):
                break
        return px - 1.0, py - 1.0

    @property
    def inverse(self):
        return HSTDistortion(self._pipe)


def hstwcs_to_gwcs(w):
    """Build the gwcs equivalent of an HSTWCS (or any TAN astropy WCS).

    Parameters
    ----------
    w : HSTWCS or astropy.wcs.WCS

    Returns
    -------
    gwcs.wcs.WCS

    Raises
    ------
    UnsupportedInstrumentError
        If the WCS is not a celestial TAN WCS with the default native pole.
    """
    from gwcs import coordinate_frames as cf
    from gwcs import wcs as gwcs_wcs

    from ._fastwcs import pipeline_from_wcs

    pipe = pipeline_from_wcs(w)
    if pipe is None:
        raise UnsupportedInstrumentError("to_gwcs supports celestial TAN WCSs (with SIP/NPOL/"
                                         "D2IM) and the default native pole only")
    transform = (HSTDistortion(pipe, name="hst_distortion")
                 | models.AffineTransformation2D(matrix=pipe.cd, translation=[0.0, 0.0],
                                                 name="cd_matrix")
                 | models.Pix2Sky_TAN(name="tan")
                 | models.RotateNative2Celestial(pipe.crval[0], pipe.crval[1], 180.0,
                                                 name="sky_rotation"))
    radesys = str(w.wcs.radesys).strip().upper() or "ICRS"
    if radesys == "FK5":
        frame = coord.FK5(equinox=f"J{w.wcs.equinox if np.isfinite(w.wcs.equinox) else 2000.0}")
    else:
        frame = coord.ICRS()
    detector = cf.Frame2D(name="detector", axes_names=("x", "y"), unit=(u.pix, u.pix))
    sky = cf.CelestialFrame(reference_frame=frame, name="world", unit=(u.deg, u.deg))
    g = gwcs_wcs.WCS(forward_transform=transform, input_frame=detector, output_frame=sky)
    if w.pixel_shape is not None:
        nx, ny = w.pixel_shape
        g.bounding_box = ((-0.5, nx - 0.5), (-0.5, ny - 0.5))
        g.pixel_shape = (nx, ny)
    return g
