"""Synthetic WCS objects for the blot / pixel-map tests (no files)."""

from __future__ import annotations

import numpy as np
from astropy.wcs import WCS, DistortionLookupTable, Sip


def tan_wcs(shape=(200, 300), crval=(150.0, 2.0), scale_arcsec=0.05, rot_deg=0.0,
            crpix=None):
    """A plain TAN WCS of array shape ``shape`` (ny, nx)."""
    ny, nx = shape
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = list(crval)
    w.wcs.crpix = list(crpix) if crpix is not None else [nx / 2 + 0.5, ny / 2 + 0.5]
    s = scale_arcsec / 3600.0
    c, t = np.cos(np.radians(rot_deg)), np.sin(np.radians(rot_deg))
    w.wcs.cd = [[-s * c, s * t], [s * t, s * c]]
    w.pixel_shape = (nx, ny)
    w.wcs.set()
    return w


def acs_like_wcs(shape=(2048, 4096), *, npol=True, d2im=True, seed=0, crval=(150.0, 2.0),
                 rot_deg=-120.0):
    """TAN-SIP WCS with order-4 ACS/WFC-like coefficients (tens of pixels of
    distortion at the corners), and optional NPOL (CPDIS) and D2IM lookup
    tables on a 64-pixel grid, as in the HST reference files."""
    ny, nx = shape
    w = tan_wcs(shape, crval=crval, rot_deg=rot_deg)
    w.wcs.ctype = ["RA---TAN-SIP", "DEC--TAN-SIP"]
    a = np.zeros((5, 5))
    b = np.zeros((5, 5))
    # magnitudes modelled on ACS/WFC IDCTAB-derived SIP solutions
    a[2, 0], a[1, 1], a[0, 2] = 8.6e-6, -7.5e-6, 2.2e-6
    b[2, 0], b[1, 1], b[0, 2] = -5.2e-6, 6.1e-6, -4.6e-6
    a[3, 0], a[2, 1], a[1, 2], a[0, 3] = 1.2e-11, -3.1e-11, 2.0e-11, -1.5e-11
    b[3, 0], b[2, 1], b[1, 2], b[0, 3] = -2.2e-11, 1.1e-11, 2.6e-11, 0.9e-11
    a[4, 0], a[2, 2], a[0, 4] = 3.0e-15, -2.0e-15, 1.0e-15
    b[4, 0], b[2, 2], b[0, 4] = -1.0e-15, 2.5e-15, -3.0e-15
    w.sip = Sip(a, b, None, None, w.wcs.crpix)
    rng = np.random.default_rng(seed)
    tshape = (ny // 64 + 1, nx // 64 + 1)

    def table(amp):
        yy, xx = np.indices(tshape, dtype=np.float64)
        smooth = amp * np.sin(xx / 7.0 + yy / 5.0)
        return (smooth + 0.2 * amp * rng.standard_normal(tshape)).astype(np.float32)

    if npol:
        w.cpdis1 = DistortionLookupTable(table(0.05), (1.0, 1.0), (1.0, 1.0), (64.0, 64.0))
        w.cpdis2 = DistortionLookupTable(table(0.05), (1.0, 1.0), (1.0, 1.0), (64.0, 64.0))
    if d2im:
        w.det2im1 = DistortionLookupTable(table(0.03), (1.0, 1.0), (1.0, 1.0), (64.0, 64.0))
    w.wcs.set()
    return w
