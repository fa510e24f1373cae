"""Exclusion files of tweakreg: DS9 regions, FITS masks and target-radius lists."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from drizzlepac_ng.align.catalogs import exclusion_mask_filter, read_target_radius_list
from drizzlepac_ng.errors import ConfigError, InputFileError

# a 10 x 10 grid of sources at 0-based pixels 5, 15, ..., 95
G = np.arange(5.0, 100.0, 10.0)
X, Y = (a.ravel() for a in np.meshgrid(G, G))


def _wcs():
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [150.0, 2.0]
    w.wcs.crpix = [50.5, 50.5]                 # 1-based: 0-based pixel (49.5, 49.5)
    w.wcs.cd = np.array([[-0.05, 0.0], [0.0, 0.05]]) / 3600.0
    w.wcs.radesys = "ICRS"
    w.wcs.set()
    return w


def test_pixel_targets(tmp_path):
    f = tmp_path / "t.txt"
    # 1-based (16, 16) is 0-based (15, 15); radius 1 removes that source only,
    # radius 15 around 1-based (56, 56) removes (45..65)^2 minus the corners
    f.write_text("# my targets\n16 16 1.0\n56, 56, 15\n")
    keep = exclusion_mask_filter(X, Y, f)
    d1 = np.hypot(X - 15, Y - 15)
    d2 = np.hypot(X - 55, Y - 55)
    assert np.array_equal(keep, (d1 > 1) & (d2 > 15))
    assert (~keep).sum() == 1 + 1 + 4 + 4  # (15,15); (55,55), 4 at distance 10, 4 at 14.1


def test_sky_targets(tmp_path):
    w = _wcs()
    ra, dec = w.all_pix2world([[25.0, 75.0]], 0)[0]
    f = tmp_path / "sky.txt"
    f.write_text(f"fk5\n{ra:.10f} {dec:.10f} 0.6\"\n")   # 0.6 arcsec = 12 pixels
    keep = exclusion_mask_filter(X, Y, f, w)
    expect = np.hypot(X - 25, Y - 75) > 12.0 - 1e-6
    assert np.array_equal(keep, expect) and (~keep).sum() == 5
    g = tmp_path / "sky2.txt"
    g.write_text(f"# units: degrees\n{ra:.10f} {dec:.10f} {0.6 / 60:.8f}'\n")
    assert np.array_equal(exclusion_mask_filter(X, Y, g, w), expect)
    with pytest.raises(ConfigError, match="WCS"):
        exclusion_mask_filter(X, Y, f)


def test_target_list_errors_and_non_lists(tmp_path):
    f = tmp_path / "mixed.txt"
    f.write_text("10 10 2\nfk5\n150 2 1\n")
    with pytest.raises(InputFileError, match="mixes"):
        read_target_radius_list(f)
    g = tmp_path / "neg.txt"
    g.write_text("10 10 -2\n")
    with pytest.raises(InputFileError, match="radius"):
        read_target_radius_list(g)
    h = tmp_path / "r.reg"
    h.write_text("image\ncircle(10,10,3)\n")
    assert read_target_radius_list(h) is None
    with pytest.raises(InputFileError, match="does not exist"):
        exclusion_mask_filter(X, Y, tmp_path / "nothere.txt")


def test_ds9_include_and_exclude_regions(tmp_path):
    pytest.importorskip("regions")
    inc = tmp_path / "inc.reg"
    # DS9 image coordinates are 1-based: circle centre (51, 51) is 0-based (50, 50)
    inc.write_text("image\ncircle(51,51,21)\n-circle(51,51,8)\n")
    keep = exclusion_mask_filter(X, Y, inc)
    r = np.hypot(X - 50, Y - 50)
    assert np.array_equal(keep, (r < 21) & (r >= 8))
    exc = tmp_path / "exc.reg"
    exc.write_text("image\n-box(51,51,40,40,0)\n")     # only exclusions: all the rest kept
    keep = exclusion_mask_filter(X, Y, exc)
    inside = (np.abs(X - 50) < 20) & (np.abs(Y - 50) < 20)
    assert np.array_equal(keep, ~inside)
    sky = tmp_path / "sky.reg"
    w = _wcs()
    ra, dec = w.all_pix2world([[50.0, 50.0]], 0)[0]
    sky.write_text(f'icrs\ncircle({ra:.10f},{dec:.10f},1.05")\n')   # 21 pixels
    assert np.array_equal(exclusion_mask_filter(X, Y, sky, w), r < 21)


def test_fits_mask(tmp_path):
    good = np.ones((100, 100), dtype=np.uint8)
    good[:50, :] = 0                                # lower half excluded
    f = tmp_path / "mask.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.zeros((3, 3))),
                  fits.ImageHDU(good)]).writeto(f)
    keep = exclusion_mask_filter(X, Y, f, shape=(100, 100))
    assert np.array_equal(keep, Y >= 50)
    with pytest.raises(InputFileError, match="shape"):
        exclusion_mask_filter(X, Y, f, shape=(200, 100))


def test_dqbits_blank_warns_about_flagged_sources(tmp_path, caplog):
    """With dqbits='' (the original default) hot pixels become sources: a warning says so."""
    import logging

    from drizzlepac_ng import simulate
    from drizzlepac_ng.align.catalogs import image_catalogs
    from drizzlepac_ng.imagefindpars import ImageFindPars

    sim = simulate.simulate_exposures(1, shape="small", seed=4, output_dir=tmp_path,
                                      cosmic_rays=False)
    with caplog.at_level(logging.WARNING, logger="drizzlepac_ng.align.catalogs"):
        blank = image_catalogs(sim.paths[0], ImageFindPars())
    assert "dqbits=0" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="drizzlepac_ng.align.catalogs"):
        zero = image_catalogs(sim.paths[0], ImageFindPars(dqbits=0))
    assert "dqbits=0" not in caplog.text
    assert sum(len(c.x) for c in zero) < sum(len(c.x) for c in blank)


def test_image_catalogs_same_with_chip_threads(tmp_path):
    """The chips are searched in parallel threads: the catalogs equal a serial run's."""
    from drizzlepac_ng import simulate
    from drizzlepac_ng.align.catalogs import image_catalogs
    from drizzlepac_ng.imagefindpars import ImageFindPars

    sim = simulate.simulate_exposures(1, shape="small", seed=8, output_dir=tmp_path)
    pars = ImageFindPars(dqbits=0)
    serial = image_catalogs(sim.paths[0], pars, num_threads=1)
    threaded = image_catalogs(sim.paths[0], pars, num_threads=2)
    assert len(serial) == len(threaded) == 2
    for a, b in zip(serial, threaded, strict=True):
        assert a.extver == b.extver and len(a.x) > 10
        for name in ("x", "y", "flux", "ra", "dec"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


@pytest.mark.parametrize("dtype", [">i2", "<i2", ">i4", "u1", ">u2"])
@pytest.mark.parametrize("bits", [0, 4096, 4096 + 16, 65535 - 4])
def test_dq_bad_mask_equals_good_pixel_mask(dtype, bits):
    from drizzlepac_ng.align.catalogs import dq_bad_mask
    from drizzlepac_ng.astrodrizzle.config import good_pixel_mask

    info = np.iinfo(np.dtype(dtype))
    dq = np.random.default_rng(2).integers(0, min(info.max, 2 ** 15) + 1, (40, 50)).astype(dtype)
    dq[::7] = 0
    expect = ~good_pixel_mask(dq, bits)
    out = np.empty(dq.shape, bool)
    work = np.empty(dq.shape, np.dtype(dtype).newbyteorder("="))
    got = dq_bad_mask(dq, bits, out=out, work=work)
    assert got is out
    np.testing.assert_array_equal(got, expect)
    np.testing.assert_array_equal(dq_bad_mask(dq, bits), expect)     # no work arrays
