"""Tests of drizzlepac_ng.astrodrizzle.outwcs."""

import numpy as np
import pytest
from astropy.wcs import WCS

from drizzlepac_ng.astrodrizzle.outwcs import (
    cd_scale_orient,
    check_chip_wcs,
    check_overlap,
    custom_output_wcs,
    default_output_wcs,
    footprint,
    linear_cd,
    orthogonal_cd,
)
from drizzlepac_ng.errors import InputFileError, NoOverlapError


def _chip(ra, dec, orient=30.0, scale=0.05, shape=(100, 200), skew=0.0, sip=False):
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN-SIP", "DEC--TAN-SIP"] if sip else ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [ra, dec]
    w.wcs.crpix = [(shape[1] + 1) / 2, (shape[0] + 1) / 2]
    cd = orthogonal_cd(scale, orient)
    cd[0, 0] *= 1 + skew
    w.wcs.cd = cd
    if sip:
        from astropy.wcs import Sip
        a = np.zeros((3, 3))
        b = np.zeros((3, 3))
        a[2, 0] = 2e-5
        b[0, 2] = 1e-5
        w.sip = Sip(a, b, None, None, w.wcs.crpix)
    w.wcs.set()
    w.pixel_shape = (shape[1], shape[0])
    return w


def test_orthogonal_cd_roundtrip():
    for orient in (-170.0, -30.0, 0.0, 45.0, 120.0):
        s, o = cd_scale_orient(orthogonal_cd(0.05, orient))
        assert s == pytest.approx(0.05) and o == pytest.approx(orient)


def test_linear_cd_of_linear_wcs():
    w = _chip(10.0, -20.0, orient=15.0)
    cd, ra, dec = linear_cd(w)
    np.testing.assert_allclose(cd, w.wcs.cd, rtol=1e-6, atol=1e-12)


def test_default_frame_covers_all_chips():
    chips = [_chip(10.0, 20.0, sip=True), _chip(10.0 + 4 / 3600, 20.0 + 3 / 3600, sip=True),
             _chip(10.0 - 2 / 3600, 20.0 - 5 / 3600, orient=32.0, sip=True)]
    out = default_output_wcs(chips)
    s, o = cd_scale_orient(out.wcs.cd)
    s0, o0 = cd_scale_orient(linear_cd(chips[0])[0])
    assert s == pytest.approx(s0, rel=1e-6) and o == pytest.approx(o0, abs=1e-6)
    nx, ny = out.pixel_shape
    for c in chips:
        pts = footprint(c)
        x, y = out.world_to_pixel_values(pts[:, 0], pts[:, 1])
        assert x.min() >= -0.5 - 1e-6 and x.max() <= nx - 0.5 + 1e-6
        assert y.min() >= -0.5 - 1e-6 and y.max() <= ny - 0.5 + 1e-6
    # tight: one chip of 200x100 at 30 deg in a 30 deg frame is ~200x100 + offsets
    assert nx < 200 + 200 and ny < 100 + 200
    assert out.wcs.ctype[0] == "RA---TAN" and out.sip is None


def test_rotation_north_up_grows_frame():
    chips = [_chip(150.0, 2.0, orient=30.0)]
    north = default_output_wcs(chips, rot=0.0)
    assert cd_scale_orient(north.wcs.cd)[1] == pytest.approx(0.0, abs=1e-9)
    assert north.wcs.cd[0, 0] < 0 and north.wcs.cd[1, 1] > 0
    nx, ny = north.pixel_shape
    # 200x100 rotated by 30 deg: 200 cos30 + 100 sin30 = 223.2 wide
    assert nx == pytest.approx(224, abs=1) and ny == pytest.approx(187, abs=1)


def test_custom_overrides():
    chips = [_chip(150.0, 2.0, orient=10.0)]
    out = custom_output_wcs(chips, scale=0.1, rot=0.0, outnx=300, outny=200, ra=150.001,
                            dec=2.001, crpix1=10.0, crpix2=20.0)
    assert out.pixel_shape == (300, 200)
    np.testing.assert_allclose(out.wcs.crval, [150.001, 2.001])
    np.testing.assert_allclose(out.wcs.crpix, [10.0, 20.0])
    assert cd_scale_orient(out.wcs.cd) == pytest.approx((0.1, 0.0))
    # ra/dec only: centred there, large enough for the chip
    out2 = custom_output_wcs(chips, ra=150.0, dec=2.0)
    assert out2.wcs.crpix[0] == pytest.approx((out2.pixel_shape[0] + 1) / 2)
    # reference image, rescaled
    ref = _chip(150.0, 2.0, orient=0.0, scale=0.05, shape=(100, 100))
    out3 = custom_output_wcs(chips, refimage_wcs=ref, scale=0.1)
    assert out3.pixel_shape == (50, 50)


def test_check_overlap():
    out = default_output_wcs([_chip(150.0, 2.0)])
    check_overlap(out, _chip(150.0, 2.0))
    with pytest.raises(NoOverlapError, match="far.fits"):
        check_overlap(out, _chip(151.0, 2.0), filename="far.fits")


def _header_wcs(cd, shape=(100, 200)):
    """An astropy WCS read from a header with the given CD keywords (as inputs.py reads it)."""
    import warnings

    from astropy.io import fits

    h = fits.Header()
    h["NAXIS"], h["NAXIS1"], h["NAXIS2"] = 2, shape[1], shape[0]
    h["CTYPE1"], h["CTYPE2"] = "RA---TAN", "DEC--TAN"
    h["CRVAL1"], h["CRVAL2"], h["CRPIX1"], h["CRPIX2"] = 10.0, 20.0, 100.5, 50.5
    for key, value in zip(("CD1_1", "CD1_2", "CD2_1", "CD2_2"), cd, strict=True):
        h[key] = value
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # astropy's FITSFixedWarning for the zero CD
        w = WCS(h)
    w.pixel_shape = (shape[1], shape[0])
    return w


@pytest.mark.parametrize("cd", [(0.0, 0.0, 0.0, 0.0), (-1.4e-5, 0.0, 0.0, 0.0),
                                (1e-5, 2e-5, 1e-5, 2e-5)])
def test_singular_cd_is_refused_before_any_frame(cd):
    good = _chip(10.0, 20.0)
    bad = _header_wcs(cd)
    assert check_chip_wcs(good) == pytest.approx(0.05, rel=1e-6)
    names = [("good_flc.fits", ("sci", 1)), ("bad_flc.fits", ("sci", 2))]
    with pytest.raises(InputFileError, match="singular") as err:
        default_output_wcs([good, bad], names=names)
    assert str(err.value).startswith("bad_flc.fits[sci,2]: ")
    with pytest.raises(InputFileError, match="singular"):
        custom_output_wcs([good, bad], names=names, scale=0.1)
    with pytest.raises(InputFileError, match="^input chip 1: .*singular"):
        default_output_wcs([bad])  # no names: the chip's position in the list
    with pytest.raises(InputFileError, match="reference image"):
        custom_output_wcs([good], refimage_wcs=bad)


def test_non_finite_wcs_is_refused():
    w = _chip(10.0, 20.0)
    w.wcs.cd = np.array([[np.inf, 0.0], [0.0, 1e-5]])
    with pytest.raises(InputFileError, match="not finite") as err:
        check_chip_wcs(w, filename="x.fits", extension=("sci", 1))
    assert str(err.value).startswith("x.fits[sci,1]: ")


def test_hstwcs_names_itself(tmp_path):
    """An HSTWCS carries its file name and extension: no names needed."""
    from drizzlepac_ng import simulate
    from stwcs_ng.fileio import atomic_update
    from stwcs_ng.wcsutil import HSTWCS

    sim = simulate.simulate_exposures(1, shape="small", seed=3, output_dir=tmp_path,
                                      n_stars=2, n_galaxies=0, n_bright=0,
                                      cosmic_rays=False, noise=False)[0]
    with atomic_update(sim.path) as hdul:
        for key in ("CD1_1", "CD1_2", "CD2_1", "CD2_2"):
            hdul["SCI", 2].header[key] = 0.0
    chips = [HSTWCS(str(sim.path), ext=("SCI", v)) for v in (1, 2)]
    with pytest.raises(InputFileError, match="singular") as err:
        default_output_wcs(chips)
    assert f"{sim.path.name}" in str(err.value) and "2" in str(err.value).split(":")[0]


# --- the camera's default orientation (PA_V3 + IDC reference), as the original -------

_ROOT = __import__("pathlib").Path(__file__).resolve().parents[3]
_HST = _ROOT.parent / "shared" / "data" / "hst"


@pytest.fixture(scope="module")
def sim_flc(tmp_path_factory):
    from drizzlepac_ng import simulate

    out = tmp_path_factory.mktemp("orient")
    return str(simulate.simulate_exposures(1, output_dir=out, shape="small", seed=3, n_stars=5,
                                           n_galaxies=0, n_bright=0, cosmic_rays=False,
                                           noise=False)[0].path)


def test_camera_orientation_sets_default_frame(sim_flc):
    from drizzlepac_ng.astrodrizzle.outwcs import camera_orientation
    from stwcs_ng.distortion.makewcs import troll
    from stwcs_ng.wcsutil import HSTWCS

    chips = [HSTWCS(sim_flc, ext=("SCI", v)) for v in (1, 2)]
    orient = camera_orientation(chips[0])
    w = chips[0]
    # ACS/WFC parity flips y: the frame's +Y points opposite V3 turned by theta
    expected = troll(w.pav3, w.wcs.crval[1], w.idcv2ref, w.idcv3ref) + (w.idctheta or 0.0)
    assert orient == pytest.approx(expected % 360.0 - 180.0, abs=1e-9)
    chip_y = cd_scale_orient(linear_cd(w, (w.pixel_shape[1], w.pixel_shape[0]))[0])[1]
    assert abs(orient - chip_y) > 0.5  # the ACS/WFC chip's own +Y is tilted by its skew
    # the camera's orientation is the default (as the original's)
    out = default_output_wcs(chips)
    assert cd_scale_orient(out.wcs.cd)[1] == pytest.approx(orient, abs=1e-9)
    out = custom_output_wcs(chips, scale=0.1)
    assert cd_scale_orient(out.wcs.cd)[1] == pytest.approx(orient, abs=1e-9)
    # the opt-out: the chip's own +Y
    out = default_output_wcs(chips, orient_from="chip")
    assert cd_scale_orient(out.wcs.cd)[1] == pytest.approx(chip_y, abs=1e-9)
    out = custom_output_wcs(chips, orient_from="chip", scale=0.1)
    assert cd_scale_orient(out.wcs.cd)[1] == pytest.approx(chip_y, abs=1e-9)
    # an explicit final_rot wins
    rot = default_output_wcs(chips, rot=12.0).wcs.cd
    assert cd_scale_orient(rot)[1] == pytest.approx(12.0)
    with pytest.raises(ValueError, match="orient_from"):
        default_output_wcs(chips, orient_from="north")


def test_camera_orientation_absent_for_plain_wcs():
    from drizzlepac_ng.astrodrizzle.outwcs import camera_orientation

    w = _chip(10.0, 20.0, orient=33.0)
    assert camera_orientation(w) is None
    out = default_output_wcs([w])
    assert cd_scale_orient(out.wcs.cd)[1] == pytest.approx(33.0, abs=1e-6)


@pytest.mark.oracle
def test_camera_orientation_matches_stwcs(sim_flc):
    """The original's make_orthogonal_cd gives the same orientation (simulated ACS/WFC and,
    when present, the real WFC3 samples)."""
    pytest.importorskip("stwcs")
    import warnings

    from stwcs.distortion import utils
    from stwcs.wcsutil import HSTWCS as OrigHSTWCS

    from drizzlepac_ng.astrodrizzle.outwcs import camera_orientation
    from stwcs_ng.wcsutil import HSTWCS

    files = [sim_flc] + sorted(str(p) for p in _HST.glob("*_fl?.fits"))
    for f in files:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = utils.make_orthogonal_cd(OrigHSTWCS(f, ext=("SCI", 1)))
        theirs = np.degrees(np.arctan2(ref.wcs.cd[0, 1], ref.wcs.cd[1, 1]))
        assert camera_orientation(HSTWCS(f, ext=("SCI", 1))) == pytest.approx(theirs, abs=1e-9), f
