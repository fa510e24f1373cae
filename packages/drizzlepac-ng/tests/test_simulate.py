"""Tests of drizzlepac_ng.simulate: layout, determinism and truth round trips."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import least_squares

from drizzlepac_ng import simulate
from drizzlepac_ng.errors import ConfigError, InputFileError


@pytest.fixture(scope="module")
def small_set(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    return simulate.simulate_exposures(3, shape="small", seed=5, output_dir=out, dither="box")


@pytest.fixture(scope="module")
def clean_set():
    """Noise-free, no CRs/defects, zero sky: the pure source model."""
    return simulate.simulate_exposures(2, shape="small", seed=11, noise=False, cosmic_rays=False,
                                       defects=False, sky=0.0, n_stars=80, n_galaxies=0)


def _header_wcs(hdul, extver):
    return WCS(hdul["SCI", extver].header, hdul)


# ----------------------------------------------------------------------------- layout
def test_layout_and_keywords(small_set):
    exp = small_set[0]
    with fits.open(exp.path) as hdul:
        names = [(h.name, h.ver) for h in hdul]
        assert names[:7] == [("PRIMARY", 1), ("SCI", 1), ("ERR", 1), ("DQ", 1),
                             ("SCI", 2), ("ERR", 2), ("DQ", 2)]
        assert [n for n, _ in names[7:]] == ["WCSDVARR"] * 4 + ["D2IMARR"] * 4
        p = hdul[0].header
        for key in ("INSTRUME", "DETECTOR", "FILTER1", "FILTER2", "EXPTIME", "EXPSTART",
                    "EXPEND", "ROOTNAME", "PA_V3", "RA_TARG", "DEC_TARG", "IDCTAB", "NPOLFILE",
                    "D2IMFILE", "DATE-OBS", "POSTARG1", "POSTARG2", "NEXTEND"):
            assert key in p, key
        assert p["INSTRUME"] == "ACS" and p["DETECTOR"] == "WFC"
        assert p["EXPEND"] > p["EXPSTART"]
        assert p["NEXTEND"] == len(hdul) - 1
        assert p["IDCTAB"].startswith("jref$") and p["IDCTAB"].endswith("_idc.fits")
        assert hdul["SCI", 1].header["CCDCHIP"] == 2 and hdul["SCI", 2].header["CCDCHIP"] == 1
        s = hdul["SCI", 1].header
        for key in ("BUNIT", "PHOTFLAM", "PHOTPLAM", "LTV1", "LTV2", "CTYPE1", "A_ORDER",
                    "B_ORDER", "IDCSCALE", "IDCV2REF", "IDCV3REF", "IDCTHETA", "OCX10", "OCX11",
                    "OCY10", "OCY11", "WCSNAME", "WCSNAMEO", "CRVAL1O", "CD1_1O", "CPDIS1",
                    "D2IMDIS1", "CPERR1", "D2IMERR1", "NPOLEXT", "D2IMEXT", "ORIENTAT"):
            assert key in s, key
        assert s["BUNIT"] == "ELECTRONS"
        assert s["CTYPE1"] == "RA---TAN-SIP" and s["A_ORDER"] == 4
        assert s["WCSNAME"].startswith("IDC_") and s["WCSNAMEO"] == "OPUS"
        assert s["DP1.EXTVER"] == 1 and hdul["SCI", 2].header["DP2.EXTVER"] == 4
        assert hdul["SCI", 1].data.dtype.newbyteorder("=") == np.float32
        assert hdul["ERR", 1].data.dtype.newbyteorder("=") == np.float32
        assert hdul["DQ", 1].data.dtype.newbyteorder("=") == np.int16
        assert hdul["ERR", 1].header["CTYPE1"] == "RA---TAN"
        assert np.all(hdul["ERR", 1].data > 0)


def test_wfc3_layout():
    sim = simulate.simulate_exposures(1, instrument="WFC3/UVIS", shape=(96, 192), seed=2)
    hdul = sim[0].hdulist
    p = hdul[0].header
    assert (p["INSTRUME"], p["DETECTOR"]) == ("WFC3", "UVIS")
    assert "FILTER" in p and "FILTER1" not in p
    assert p["IDCTAB"].startswith("iref$")
    assert hdul["SCI", 1].data.shape == (96, 192)
    assert hdul["SCI", 1].header["IDCTHETA"] == 45.0
    assert sim[0].rootname.startswith("i")


# ----------------------------------------------------------------------------- determinism
def test_deterministic_for_a_seed():
    a = simulate.simulate_exposures(2, shape="small", seed=3, wcs_errors=(0.3, 0.02))
    b = simulate.simulate_exposures(2, shape="small", seed=3, wcs_errors=(0.3, 0.02))
    c = simulate.simulate_exposures(2, shape="small", seed=4, wcs_errors=(0.3, 0.02))
    for ea, eb, ec in zip(a, b, c, strict=True):
        for ext in (("SCI", 1), ("ERR", 1), ("DQ", 1), ("SCI", 2), ("DQ", 2)):
            assert ea.hdulist[ext].data.tobytes() == eb.hdulist[ext].data.tobytes()
            assert ea.hdulist[ext].header == eb.hdulist[ext].header
        assert ea.hdulist["SCI", 1].data.tobytes() != ec.hdulist["SCI", 1].data.tobytes()
        assert np.array_equal(ea.truth.chips[0].crmask, eb.truth.chips[0].crmask)


# ----------------------------------------------------------------------------- WCS truth
def test_header_wcs_reproduces_truth_positions(small_set):
    for exp in small_set:
        with fits.open(exp.path) as hdul:
            for chip in exp.truth.chips:
                w = _header_wcs(hdul, chip.extver)
                cat = exp.truth.catalog
                idx = np.searchsorted(cat["ID"], chip.sources["ID"])
                x, y = w.all_world2pix(cat["RA"][idx], cat["DEC"][idx], 0,
                                       tolerance=1e-10, maxiter=60)
                assert np.max(np.abs(x - chip.sources["X"])) < 1e-6
                assert np.max(np.abs(y - chip.sources["Y"])) < 1e-6
                # the truth file's WCS is the same relation
                tw = exp.truth.true_wcs(chip.extver)
                ny, nx = chip.shape
                pix = np.array([[0.0, 0.0], [nx - 1.0, ny - 1.0], [nx / 3, ny / 2]])
                assert np.allclose(tw.all_pix2world(pix, 0), w.all_pix2world(pix, 0),
                                   rtol=0, atol=1e-12)


def test_full_distortion_is_not_linear():
    """Sources go through SIP + NPOL + D2IM: the linear WCS is off by pixels at the corners."""
    w = simulate.make_wcs("ACS/WFC", 1, distortion=("sip", "npol", "d2im"))
    nx, ny = w.pixel_shape
    corners = np.array([[0.0, 0.0], [nx - 1.0, 0.0], [0.0, ny - 1.0], [nx - 1.0, ny - 1.0]])
    sky = w.all_pix2world(corners, 0)
    lin = w.wcs_world2pix(sky, 0)
    off = np.hypot(*(lin - corners).T)
    assert off.max() > 20.0  # tens of pixels at the corners (ACS/WFC-like)
    assert off.max() < 150.0
    assert w.cpdis1 is not None and w.det2im1 is not None and w.sip is not None


def test_centroids_match_truth(clean_set):
    """Fitted centroids of isolated bright unsaturated stars agree with truth to 0.02 px rms."""
    resid = []
    for exp in clean_set:
        for chip in exp.truth.chips:
            sci = exp.hdulist["SCI", chip.extver].data.astype(float)
            src = chip.sources
            ny, nx = sci.shape
            for r in src:
                if not r["INSIDE"] or r["SATURATED"] or r["FLUX"] < 300:
                    continue
                sep = np.hypot(src["X"] - r["X"], src["Y"] - r["Y"])
                if np.sort(sep)[1] < 20:
                    continue
                xi, yi = int(round(r["X"])), int(round(r["Y"]))
                if not (6 <= xi < nx - 6 and 6 <= yi < ny - 6):
                    continue
                yy, xx = np.mgrid[yi - 5:yi + 6, xi - 5:xi + 6]
                sub = sci[yi - 5:yi + 6, xi - 5:xi + 6]

                def model(p, xx=xx, yy=yy, sub=sub):
                    g = np.exp(-((xx - p[1]) ** 2 + (yy - p[2]) ** 2) / (2 * p[3] ** 2))
                    return (p[0] * g - sub).ravel()

                p = least_squares(model, [sub.max(), xi, yi, 1.0]).x
                resid.append((p[1] - r["X"], p[2] - r["Y"]))
    resid = np.array(resid)
    assert len(resid) >= 10
    rms = np.sqrt(np.mean(resid ** 2, axis=0))
    assert np.all(rms <= 0.02), rms


def test_counts_match_noise_free_model(clean_set):
    for exp in clean_set:
        for chip in exp.truth.chips:
            sci = exp.hdulist["SCI", chip.extver].data.astype(np.float64)
            total = float(np.sum(chip.sources["COUNTS"]))
            assert sci.sum() == pytest.approx(total, rel=1e-6)
            inside = chip.sources[chip.sources["INSIDE"]]
            assert np.allclose(inside["COUNTS"], inside["FLUX"] * inside["PAMFAC"], rtol=1e-9)
            # flat-fielded counts follow the inverse pixel area (a few percent over the chip)
            assert np.all(np.abs(chip.sources["PAMFAC"] - 1.0) < 0.2)
            assert np.ptp(chip.sources["PAMFAC"]) > 0.005


# ----------------------------------------------------------------------------- detector
def test_cosmic_ray_mask_matches_injected_pixels():
    kw = dict(shape="small", seed=8, n_exposures=1, exptime=500.0)
    with_cr = simulate.simulate_exposures(cosmic_rays=True, **kw)[0]
    without = simulate.simulate_exposures(cosmic_rays=False, **kw)[0]
    for chip in with_cr.truth.chips:
        diff = (with_cr.hdulist["SCI", chip.extver].data.astype(float)
                - without.hdulist["SCI", chip.extver].data.astype(float))
        changed = diff != 0
        assert np.array_equal(changed, chip.crmask.astype(bool))
        assert 0.015 <= chip.crmask.mean() <= 0.025  # ~2 % of pixels in 500 s
        # CRs are not flagged
        assert np.array_equal(with_cr.hdulist["DQ", chip.extver].data,
                              without.hdulist["DQ", chip.extver].data)
    assert not without.truth.chips[0].crmask.any()


def test_dq_flags_present():
    sim = simulate.simulate_exposures(1, shape=(256, 512), seed=2, n_stars=200)
    dq = np.concatenate([sim[0].hdulist["DQ", v].data.ravel() for v in (1, 2)])
    assert np.any(dq & 16), "hot pixels"
    assert np.any(dq & 4), "bad columns"
    assert np.any(dq & 256), "saturated stars"
    sat = sim[0].hdulist["DQ", 1].data & 256
    sci = sim[0].hdulist["SCI", 1].data
    assert np.all(sci[sat > 0] > 0.5 * 84700.0)


def test_saturation_conserves_charge():
    kw = dict(n_exposures=1, shape="small", seed=4, noise=False, cosmic_rays=False,
              defects=False, sky=0.0, n_stars=30, n_galaxies=0)
    sat = simulate.simulate_exposures(saturation=True, **kw)[0]
    assert any(c.sources["SATURATED"].any() for c in sat.truth.chips)
    for chip in sat.truth.chips:
        img = sat.hdulist["SCI", chip.extver].data.astype(float)
        assert img.max() <= 84700.0 * (1 + 1e-6)
        assert img.sum() == pytest.approx(chip.sources["COUNTS"].sum(), rel=1e-6)


# ----------------------------------------------------------------------------- WCS errors
def test_injected_wcs_errors_sign():
    err = np.array([[2.0, -1.0, 0.1], [0.0, 0.0, 0.0]])
    sim = simulate.simulate_exposures(2, shape="small", seed=9, wcs_errors=err, dither=None)
    bad, good = sim
    assert bad.truth.wcs_error == (2.0, -1.0, 0.1)
    assert good.truth.wcs_error == (0.0, 0.0, 0.0)
    hb = bad.hdulist["SCI", 1].header
    true = bad.truth.true_wcs(1)
    ra_t, dec_t = true.wcs.crval
    dec0 = np.radians(dec_t)
    d_east = (hb["CRVAL1"] - ra_t) * np.cos(dec0) * 3600.0
    d_north = (hb["CRVAL2"] - dec_t) * 3600.0
    assert d_east == pytest.approx(2.0, abs=1e-3)
    assert d_north == pytest.approx(-1.0, abs=1e-3)
    tcd = true.wcs.cd
    ori_true = np.degrees(np.arctan2(tcd[0, 1], tcd[1, 1]))
    assert hb["ORIENTAT"] - ori_true == pytest.approx(0.1, abs=2e-3)
    assert bad.hdulist[0].header["PA_V3"] == pytest.approx(good.hdulist[0].header["PA_V3"] + 0.1)
    # a star appears, through the header WCS, shifted by the error near the reference pixel
    chip = bad.truth.chip(1)
    r = chip.sources[np.argmin(np.hypot(chip.sources["X"] - 128, chip.sources["Y"] - 64))]
    cat = bad.truth.catalog[bad.truth.catalog["ID"] == r["ID"]][0]
    ra_h, dec_h = _header_wcs(bad.hdulist, 1).all_pix2world([[r["X"], r["Y"]]], 0)[0]
    assert (ra_h - cat["RA"]) * np.cos(dec0) * 3600 == pytest.approx(2.0, abs=0.3)
    assert (dec_h - cat["DEC"]) * 3600 == pytest.approx(-1.0, abs=0.3)
    # the error-free exposure's header is the truth
    gw = _header_wcs(good.hdulist, 1)
    assert np.allclose(gw.wcs.crval, good.truth.true_wcs(1).wcs.crval, atol=1e-12)


def test_random_wcs_errors_recorded():
    sim = simulate.simulate_exposures(3, shape="small", seed=1, wcs_errors=(0.5, 0.05))
    errs = np.array([e.truth.wcs_error for e in sim])
    assert errs.shape == (3, 3) and np.all(errs != 0)


# ----------------------------------------------------------------------------- dithers
def test_dither_moves_sources(small_set):
    a, b = small_set[0], small_set[1]
    pa = np.array([a.truth.pointing["postarg1"], a.truth.pointing["postarg2"]])
    pb = np.array([b.truth.pointing["postarg1"], b.truth.pointing["postarg2"]])
    assert np.allclose(pb - pa, np.array([5.0, 1.5]) * 0.05)
    sa, sb = a.truth.chip(1).sources, b.truth.chip(1).sources
    common, ia, ib = np.intersect1d(sa["ID"], sb["ID"], return_indices=True)
    assert len(common) > 5
    dx = np.median(sb["X"][ib] - sa["X"][ia])
    dy = np.median(sb["Y"][ib] - sa["Y"][ia])
    assert dx == pytest.approx(5.0, abs=0.2) and dy == pytest.approx(1.5, abs=0.2)
    # the same sky catalog is used by every exposure
    assert np.array_equal(a.truth.catalog["RA"], b.truth.catalog["RA"])


# ----------------------------------------------------------------------------- truth file
def test_truth_file_round_trip(small_set):
    exp = small_set[0]
    t = simulate.load_truth(exp.truth_path)
    assert t.rootname == exp.rootname
    assert t.seed == 5 and t.instrument == "ACS/WFC"
    assert len(t.chips) == 2
    for a, b in zip(t.chips, exp.truth.chips, strict=True):
        assert a.extver == b.extver and a.shape == b.shape
        assert a.crmask.dtype == np.uint8
        assert np.array_equal(a.crmask, b.crmask)
        assert np.allclose(a.sources["X"], b.sources["X"], rtol=0, atol=0)
        pix = np.array([[3.0, 4.0], [200.0, 100.0]])
        assert np.allclose(t.true_wcs(a.extver).all_pix2world(pix, 0),
                           exp.truth.true_wcs(a.extver).all_pix2world(pix, 0), atol=1e-12)
    assert {"ID", "RA", "DEC", "FLUX", "TYPE"} <= set(t.catalog.colnames)


def test_load_truth_errors(tmp_path):
    with pytest.raises(InputFileError, match="not found"):
        simulate.load_truth(tmp_path / "missing_truth.fits")
    bad = tmp_path / "bad_truth.fits"
    fits.PrimaryHDU().writeto(bad)
    with pytest.raises(InputFileError, match="not a simulator truth file"):
        simulate.load_truth(bad)


# ----------------------------------------------------------------------------- options
@pytest.mark.parametrize("kwargs", [
    {"instrument": "NICMOS"}, {"shape": "huge"}, {"shape": (10, 10)}, {"dither": "spiral"},
    {"wcs_errors": (1.0, 2.0, 3.0)}, {"distortion": ("npol",)}, {"n_exposures": 0},
    {"exptime": -1.0}, {"filter": "F999W"}, {"psf_radius": 1}, {"sky": -5.0},
    {"dither": np.zeros((3, 2))}, {"seed": -1}, {"seed": 1.5},
])
def test_bad_options_raise_config_error(kwargs):
    args = {"n_exposures": 1, "shape": "small"} | kwargs
    with pytest.raises(ConfigError):
        simulate.simulate_exposures(**args)


def test_no_distortion_gives_plain_tan():
    sim = simulate.simulate_exposures(1, shape="small", seed=1, distortion=())
    h = sim[0].hdulist
    assert h["SCI", 1].header["CTYPE1"] == "RA---TAN"
    assert "A_ORDER" not in h["SCI", 1].header
    assert h[0].header["IDCTAB"] == "N/A"
    assert len(h) == 7


def test_point_sources_and_render_psf():
    img, src = simulate.point_sources((64, 64), seed=3, return_positions=True)
    assert img.sum() == pytest.approx(src[:, 2].sum(), rel=1e-10)
    again = simulate.point_sources((64, 64), seed=3)
    assert np.array_equal(img, again)
    one = simulate.render_psf((31, 31), [15.3], [14.8], [1000.0])
    yy, xx = np.mgrid[0:31, 0:31]
    assert one.sum() == pytest.approx(1000.0)
    assert (one * xx).sum() / one.sum() == pytest.approx(15.3, abs=0.02)
    assert (one * yy).sum() / one.sum() == pytest.approx(14.8, abs=0.02)
    with pytest.raises(ConfigError):
        simulate.render_psf((8, 8), [1.0, 2.0], [1.0], 1.0)


def test_sky_catalog_deterministic():
    a = simulate.sky_catalog(shape="small", seed=2)
    b = simulate.sky_catalog(shape="small", seed=2)
    assert np.array_equal(np.asarray(a["RA"]), np.asarray(b["RA"]))
    assert set(a["TYPE"]) == {"star", "galaxy"}
    assert np.all(a["RATE"] > 0)


def test_cli_simulate(tmp_path, capsys):
    from drizzlepac_ng.cli import main

    rc = main(["simulate", "--n", "2", "--shape", "small", "--seed", "1",
               "--output-dir", str(tmp_path), "--raw"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "_flc.fits" in out and "export jref=" in out
    files = sorted(p.name for p in tmp_path.iterdir())
    assert sum(f.endswith("_flc.fits") for f in files) == 2
    assert sum(f.endswith("_truth.fits") for f in files) == 2
    assert any(f.endswith("_idc.fits") for f in files)


def test_array_helpers():
    s = simulate.stack(3, shape=(64, 96), seed=2)
    assert s.shape == (3, 64, 96) and s.dtype == np.float32
    assert np.array_equal(s, simulate.stack(3, shape=(64, 96), seed=2))
    assert not np.array_equal(s[0], s[1])  # independent noise and cosmic rays
    clean = simulate.stack(2, shape=(64, 96), seed=2, cosmic_rays=False, n_stars=3)
    assert np.median(clean) == pytest.approx(40.0, abs=2.0)
    with pytest.raises(ConfigError):
        simulate.stack(0)
    pm = simulate.dither_pixmap(0, shape="small")
    assert pm.shape == (128, 256, 2)
    pm4 = simulate.dither_pixmap(0, shape="small", step=4)
    assert np.abs(pm - pm4).max() < 0.02
    moved = simulate.dither_pixmap(0, shape="small", exposure=1)
    # box/line dithers move the chip on the output grid by a few pixels
    assert 1.0 < np.abs(moved - pm).max() < 10.0
    chip = simulate.wfc_chip(1, shape="small")
    assert chip.shape == (128, 256) and chip.dtype == np.float32


@pytest.mark.slow
def test_full_size_acs_exposure():
    sim = simulate.simulate_exposures(1, seed=0)
    hdul = sim[0].hdulist
    assert [(h.name, h.data.shape) for h in hdul[1:4]] == [
        ("SCI", (2048, 4096)), ("ERR", (2048, 4096)), ("DQ", (2048, 4096))]
    for chip in sim[0].truth.chips:
        assert 0.015 <= chip.crmask.mean() <= 0.025
        assert len(chip.sources) > 500
        dq = hdul["DQ", chip.extver].data
        assert np.any(dq & 256) and np.any(dq & 16) and np.any(dq & 4)
    assert hdul["WCSDVARR", 1].data.shape == (32, 64)


def test_association_table(small_set):
    asn = small_set.association
    assert asn is not None and asn.name.endswith("_asn.fits")
    with fits.open(asn) as hdul:
        t = hdul[1].data
        assert list(t["MEMTYPE"]) == ["EXP-DTH"] * 3 + ["PROD-DTH"]
        assert [m.lower() for m in t["MEMNAME"][:3]] == [e.rootname for e in small_set]
    with fits.open(small_set[0].path) as hdul:
        assert hdul[0].header["ASN_TAB"] == asn.name
        assert hdul[0].header["ASN_ID"] == t["MEMNAME"][3]


@settings(max_examples=25, deadline=None)
@given(x=st.floats(8.0, 23.0), y=st.floats(8.0, 23.0), flux=st.floats(1.0, 1e6))
def test_psf_stamp_conserves_flux_and_centre(x, y, flux):
    img = simulate.render_psf((32, 32), [x], [y], [flux], radius=7)
    assert img.sum() == pytest.approx(flux, rel=1e-12)
    yy, xx = np.mgrid[0:32, 0:32]
    # first moments of a stamp truncated at +-7.5 px are unbiased to ~0.01 px
    assert (img * xx).sum() / img.sum() == pytest.approx(x, abs=0.02)
    assert (img * yy).sum() / img.sum() == pytest.approx(y, abs=0.02)


def test_truth_wcs_error_mas(tmp_path):
    """Header-vs-truth distance: ~0 without injected errors, the injected shift with them."""
    from drizzlepac_ng import simulate as sim_mod

    errors = [[0.0, 0.0, 0.0], [0.3, -0.4, 0.0]]  # (dRA", dDec", drot deg) per exposure
    sim = sim_mod.simulate_exposures(2, shape="small", seed=4, output_dir=tmp_path,
                                     wcs_errors=errors, cosmic_rays=False)
    exact, shifted = sim
    assert exact.truth.wcs_error_mas(exact.path) < 1e-3
    rms = shifted.truth.wcs_error_mas(shifted.path)
    assert rms == pytest.approx(500.0, rel=0.01)          # hypot(300, 400) mas
    assert shifted.truth.wcs_error_mas(shifted.path, statistic="max") >= rms
