"""Compatibility with ``drizzle.utils`` (optional; skipped unless drizzle is installed).

The exact pixel map equals drizzle 3.0's ``calc_pixmap`` (same APE-14 calls)
to 0.001 px for astropy and gwcs WCS pairs, with each ``disable_bbox`` choice,
and ``estimate_pixel_scale_ratio`` agrees to 1e-9 relative.
"""

import numpy as np
import pytest
from astropy.wcs import WCS
from numpy.testing import assert_allclose

from drizzlepac_ng.pixmap import calc_pixmap, estimate_pixel_scale_ratio

pytestmark = pytest.mark.oracle
dutils = pytest.importorskip("drizzle.utils")


def tan_wcs(shape, crval=(150.0, 2.0), scale_arcsec=0.05, rot_deg=0.0, crpix=None, sip=False):
    ny, nx = shape
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN-SIP", "DEC--TAN-SIP"] if sip else ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = list(crval)
    w.wcs.crpix = list(crpix) if crpix is not None else [nx / 2 + 0.5, ny / 2 + 0.5]
    s = scale_arcsec / 3600.0
    c, t = np.cos(np.radians(rot_deg)), np.sin(np.radians(rot_deg))
    w.wcs.cd = [[-s * c, s * t], [s * t, s * c]]
    if sip:
        from astropy.wcs import Sip

        a = np.zeros((5, 5))
        b = np.zeros((5, 5))
        a[2, 0], a[1, 1], a[0, 2], a[3, 0] = 8.6e-6, -7.5e-6, 2.2e-6, 1.2e-11
        b[2, 0], b[1, 1], b[0, 2], b[0, 3] = -5.2e-6, 6.1e-6, -4.6e-6, 0.9e-11
        w.sip = Sip(a, b, None, None, w.wcs.crpix)
    w.pixel_shape = (nx, ny)
    w.wcs.set()
    return w


def gwcs_tan(shape, rot_deg=0.0, scale_arcsec=0.05):
    from astropy import coordinates as coord
    from astropy import units as u
    from astropy.modeling import models
    from gwcs import coordinate_frames as cf
    from gwcs import wcs as gw

    ny, nx = shape
    s = scale_arcsec / 3600.0
    c, t = np.cos(np.radians(rot_deg)), np.sin(np.radians(rot_deg))
    forward = (
        (models.Shift(-(nx / 2 - 0.5)) & models.Shift(-(ny / 2 - 0.5)))
        | models.AffineTransformation2D(matrix=[[-s * c, s * t], [s * t, s * c]])
        | models.Pix2Sky_TAN()
        | models.RotateNative2Celestial(150.0, 2.0, 180.0)
    )
    det = cf.Frame2D(name="detector", unit=(u.pix, u.pix))
    sky = cf.CelestialFrame(reference_frame=coord.ICRS(), name="icrs", unit=(u.deg, u.deg))
    w = gw.WCS([(det, forward), (sky, None)])
    w.bounding_box = ((-0.5, nx - 0.5), (-0.5, ny - 0.5))
    return w


def _pairs():
    return [
        (tan_wcs((300, 500), sip=True), tan_wcs((600, 600), rot_deg=-30.0, scale_arcsec=0.04)),
        (tan_wcs((200, 200), rot_deg=15.0), tan_wcs((200, 200), sip=True, rot_deg=-5.0)),
        (gwcs_tan((120, 150), rot_deg=10.0), gwcs_tan((100, 100), rot_deg=-20.0)),
        (gwcs_tan((80, 90)), tan_wcs((100, 100), rot_deg=3.0)),
    ]


@pytest.mark.parametrize("disable_bbox", ["to", "from", "both", "none"])
@pytest.mark.parametrize("k", range(4))
def test_exact_pixmap_matches_drizzle(k, disable_bbox):
    wf, wt = _pairs()[k]
    ref = dutils.calc_pixmap(wf, wt, disable_bbox=disable_bbox)
    ours = calc_pixmap(wf, wt, disable_bbox=disable_bbox)
    assert ours.shape == ref.shape
    assert_allclose(ours, ref, atol=1e-3, rtol=0, equal_nan=True)


@pytest.mark.parametrize("k", range(4))
def test_fast_pixmap_close_to_drizzle(k):
    wf, wt = _pairs()[k]
    ref = dutils.calc_pixmap(wf, wt)
    ours = calc_pixmap(wf, wt, mode="fast", tolerance=0.01)
    assert np.hypot(*(ours - ref).transpose(2, 0, 1)).max() <= 0.01


@pytest.mark.parametrize("k", range(4))
def test_pixel_scale_ratio_matches_drizzle(k):
    wf, wt = _pairs()[k]
    ref = dutils.estimate_pixel_scale_ratio(wf, wt)
    assert estimate_pixel_scale_ratio(wf, wt) == pytest.approx(ref, rel=1e-9)
    refpix = ((3.0, 4.0), (10.0, 2.0))
    ref = dutils.estimate_pixel_scale_ratio(wf, wt, *refpix)
    assert estimate_pixel_scale_ratio(wf, wt, *refpix) == pytest.approx(ref, rel=1e-9)
