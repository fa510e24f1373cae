"""Raw-mode files and the updatewcs round trip.

Raw files carry only the linear OPUS WCS plus IDCTAB/NPOLFILE/D2IMFILE names
of the synthetic reference files; running updatewcs on them must rebuild the
WCS of the calibrated files simulated with the same arguments (which is the
true WCS when no error is injected).
"""

from __future__ import annotations

import gc
import warnings

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from drizzlepac_ng import simulate

KW = dict(n_exposures=1, shape="small", seed=21, n_stars=5, n_galaxies=0, n_bright=0,
          noise=False, cosmic_rays=False, defects=False)


def _sim_pair(tmp_path, instrument, wcs_errors=None):
    raw = simulate.simulate_exposures(raw=True, output_dir=tmp_path / "raw",
                                      instrument=instrument, wcs_errors=wcs_errors, **KW)
    cal = simulate.simulate_exposures(raw=False, output_dir=tmp_path / "cal",
                                      instrument=instrument, wcs_errors=wcs_errors, **KW)
    return raw, cal


def _max_pixel_difference(updated_path, reference_path, extver):
    """Map a pixel grid through the updated WCS to the sky and back through the reference."""
    with fits.open(updated_path) as u, fits.open(reference_path) as r:
        wu = WCS(u["SCI", extver].header, u)
        wr = WCS(r["SCI", extver].header, r)
        ny, nx = u["SCI", extver].data.shape
    yy, xx = np.mgrid[0:ny:9j, 0:nx:9j]
    pix = np.column_stack([xx.ravel(), yy.ravel()])
    back = wr.all_world2pix(wu.all_pix2world(pix, 0), 0, tolerance=1e-9, maxiter=50)
    return np.abs(back - pix).max()


def _run_updatewcs(module, path, monkeypatch, refdir):
    monkeypatch.setenv("jref", str(refdir) + "/")
    monkeypatch.setenv("iref", str(refdir) + "/")
    monkeypatch.setenv("ASTROMETRY_STEP_CONTROL", "OFF")
    module.updatewcs(str(path), use_db=False)
    with warnings.catch_warnings():  # the original stwcs leaves its file handles to the GC
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def test_raw_mode_keywords(tmp_path):
    raw = simulate.simulate_exposures(raw=True, output_dir=tmp_path, **KW)
    with fits.open(raw[0].path) as hdul:
        p = hdul[0].header
        assert p["IDCTAB"] == "jref$simacswfc256x128_idc.fits"
        assert p["NPOLFILE"] == "jref$simacswfc256x128_npl.fits"
        assert p["D2IMFILE"] == "jref$simacswfc256x128_d2i.fits"
        assert p["TDDCORR"] == "OMIT"
        assert "DISTNAME" not in p
        for v in (1, 2):
            h = hdul["SCI", v].header
            assert h["CTYPE1"] == "RA---TAN" and h["CTYPE2"] == "DEC--TAN"
            for key in ("A_ORDER", "B_ORDER", "CPDIS1", "D2IMDIS1", "IDCSCALE", "OCX11",
                        "WCSNAME", "WCSNAMEO"):
                assert key not in h, key
            assert {"CRPIX1", "CRVAL1", "CD1_1", "CD2_2"} <= set(h.keys())
        assert [h.name for h in hdul[1:]] == ["SCI", "ERR", "DQ"] * 2
    for kind, path in raw.reference_files.items():
        assert path.exists(), kind


def test_reference_file_format(tmp_path):
    paths = simulate.write_reference_files(tmp_path, "ACS/WFC")
    with fits.open(paths["IDCTAB"]) as idc:
        t = idc[1].data
        names = idc[1].columns.names
        for col in ("DETCHIP", "DIRECTION", "FILTER1", "FILTER2", "XSIZE", "YSIZE", "XREF",
                    "YREF", "V2REF", "V3REF", "SCALE", "CX10", "CX11", "CX44", "CY10", "CY44"):
            assert col in names, col
        assert idc[1].columns["DETCHIP"].format == "I"
        assert idc[1].columns["CX11"].format == "E"
        assert idc[0].header["NORDER"] == 4
        assert set(t["DETCHIP"]) == {1, 2} and set(t["DIRECTION"]) == {"FORWARD"}
        assert np.all(t["XSIZE"] == 4096) and np.all(t["YSIZE"] == 2048)
        row = t[(t["DETCHIP"] == 1) & (t["FILTER2"] == "F814W")][0]
        assert 0.045 < row["CX11"] < 0.055 and 0.045 < row["CY10"] < 0.055
        assert row["SCALE"] == pytest.approx(0.05)
    for key in ("NPOLFILE", "D2IMFILE"):
        with fits.open(paths[key]) as f:
            assert [(h.name, h.ver) for h in f[1:]] == [("DX", 1), ("DY", 1), ("DX", 2), ("DY", 2)]
            assert f["DX", 1].header["CCDCHIP"] == 2 and f["DX", 2].header["CCDCHIP"] == 1
            assert f["DX", 1].data.shape == (32, 64)
            assert f["DX", 1].header["CDELT1"] == 64
            assert 0.005 < np.abs(f["DX", 1].data).max() < 0.2
    uvis = simulate.write_reference_files(tmp_path, "WFC3/UVIS", shape="small")
    with fits.open(uvis["IDCTAB"]) as idc:
        assert "FILTER" in idc[1].columns.names and "THETA" in idc[1].columns.names
        assert np.all(idc[1].data["THETA"] == 45.0)


@pytest.mark.parametrize("instrument", ["ACS/WFC", "WFC3/UVIS"])
def test_updatewcs_ng_reproduces_true_wcs(tmp_path, monkeypatch, instrument):
    """ACCEPTANCE: stwcs-ng updatewcs on raw files gives the calibrated (true) WCS."""
    mod = pytest.importorskip("stwcs_ng.updatewcs")
    if not hasattr(mod, "updatewcs"):
        pytest.skip("stwcs_ng.updatewcs.updatewcs not available yet")
    raw, cal = _sim_pair(tmp_path, instrument)
    for r, c in zip(raw, cal, strict=True):
        _run_updatewcs(mod, r.path, monkeypatch, tmp_path / "raw")
        with fits.open(r.path) as u:
            h = u["SCI", 1].header
            assert h["CTYPE1"] == "RA---TAN-SIP"
            assert h["WCSNAME"] == c.hdulist["SCI", 1].header["WCSNAME"] if c.hdulist else True
        for v in (1, 2):
            assert _max_pixel_difference(r.path, c.path, v) < 1e-3
            # and the truth file says the same
            tw = c.truth.true_wcs(v)
            with fits.open(r.path) as u:
                wu = WCS(u["SCI", v].header, u)
            pix = np.array([[0.0, 0.0], [255.0, 127.0], [100.0, 30.0]])
            back = tw.all_world2pix(wu.all_pix2world(pix, 0), 0, tolerance=1e-9)
            assert np.abs(back - pix).max() < 1e-3


def test_updatewcs_ng_keeps_injected_error(tmp_path, monkeypatch):
    """Raw files carry the erroneous pointing: updatewcs rebuilds the perturbed header WCS."""
    mod = pytest.importorskip("stwcs_ng.updatewcs")
    if not hasattr(mod, "updatewcs"):
        pytest.skip("stwcs_ng.updatewcs.updatewcs not available yet")
    errors = np.array([[1.5, -0.7, 0.05]])
    raw, cal = _sim_pair(tmp_path, "ACS/WFC", wcs_errors=errors)
    for r, c in zip(raw, cal, strict=True):
        _run_updatewcs(mod, r.path, monkeypatch, tmp_path / "raw")
        for v in (1, 2):
            assert _max_pixel_difference(r.path, c.path, v) < 1e-3


@pytest.mark.oracle
@pytest.mark.filterwarnings("ignore:Some non-standard WCS keywords")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("instrument", ["ACS/WFC", "WFC3/UVIS"])
def test_original_stwcs_reproduces_true_wcs(tmp_path, monkeypatch, instrument):
    """The original stwcs.updatewcs rebuilds our true WCS from our raw files and reference set."""
    stwcs_updatewcs = pytest.importorskip("stwcs.updatewcs")
    raw, cal = _sim_pair(tmp_path, instrument)
    for r, c in zip(raw, cal, strict=True):
        _run_updatewcs(stwcs_updatewcs, r.path, monkeypatch, tmp_path / "raw")
        for v in (1, 2):
            assert _max_pixel_difference(r.path, c.path, v) < 1e-3


@pytest.mark.oracle
def test_drizzle_returns_true_positions_and_fluxes():
    """Drizzling a simulated chip (original drizzle package) onto an undistorted
    north-up grid puts isolated stars at their catalog RA/Dec with their flux."""
    pytest.importorskip("drizzle")
    from drizzle.resample import Drizzle
    from drizzle.utils import calc_pixmap

    sim = simulate.simulate_exposures(1, shape="small", seed=31, noise=False, cosmic_rays=False,
                                      defects=False, saturation=False, sky=0.0, n_stars=60,
                                      n_galaxies=0, n_bright=0)
    exp = sim[0]
    hdul = exp.hdulist
    chip = exp.truth.chip(1)
    win = WCS(hdul["SCI", 1].header, hdul)
    ny, nx = chip.shape
    centre = win.all_pix2world([[nx / 2, ny / 2]], 0)[0]
    out = WCS(naxis=2)
    out.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    out.wcs.crval = centre
    out.wcs.crpix = [200.5, 200.5]
    out.wcs.cdelt = [-0.05 / 3600, 0.05 / 3600]
    out.pixel_shape = (400, 400)
    out.wcs.set()
    pixmap = calc_pixmap(win, out, shape=(ny, nx))
    driz = Drizzle(kernel="square", out_shape=(400, 400), fillval=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        driz.add_image(hdul["SCI", 1].data.astype(np.float32), exptime=1.0, pixmap=pixmap,
                       in_units="cps", pixfrac=1.0)
    img = driz.out_img
    cat = exp.truth.catalog
    src = chip.sources
    checked = 0
    for r in src:
        if not r["INSIDE"] or r["FLUX"] < 300:
            continue
        if np.sort(np.hypot(src["X"] - r["X"], src["Y"] - r["Y"]))[1] < 18:
            continue
        if not (16 <= r["X"] < nx - 16 and 16 <= r["Y"] < ny - 16):
            continue
        row = cat[cat["ID"] == r["ID"]][0]
        xo, yo = out.wcs_world2pix([[row["RA"], row["DEC"]]], 0)[0]
        xi, yi = int(round(xo)), int(round(yo))
        box = img[yi - 14:yi + 15, xi - 14:xi + 15].astype(float)
        yy, xx = np.mgrid[yi - 14:yi + 15, xi - 14:xi + 15]
        cx, cy = (box * xx).sum() / box.sum(), (box * yy).sum() / box.sum()
        assert abs(cx - xo) < 0.05 and abs(cy - yo) < 0.05
        # drizzle keeps counts per input pixel, so the drizzled total is the deposited
        # counts times the input pixel area in output pixels (0.05"): the true flux
        assert box.sum() == pytest.approx(r["FLUX"], rel=0.01)
        checked += 1
    assert checked >= 3


@pytest.mark.parametrize("errors", [None, np.array([[0.8, -0.5, 0.04]])])
def test_updatewcs_ng_on_calibrated_files_changes_nothing(tmp_path, monkeypatch, errors):
    """Calibrated files are already 'updated': running updatewcs again (it starts from the
    archived OPUS WCS) must give the same WCS."""
    mod = pytest.importorskip("stwcs_ng.updatewcs")
    if not hasattr(mod, "updatewcs"):
        pytest.skip("stwcs_ng.updatewcs.updatewcs not available yet")
    cal = simulate.simulate_exposures(raw=False, output_dir=tmp_path / "cal", wcs_errors=errors,
                                      **KW)
    before = tmp_path / "before.fits"
    before.write_bytes(cal[0].path.read_bytes())
    _run_updatewcs(mod, cal[0].path, monkeypatch, tmp_path / "cal")
    for v in (1, 2):
        assert _max_pixel_difference(cal[0].path, before, v) < 1e-3
    with fits.open(cal[0].path) as u:
        assert u["SCI", 1].header["WCSNAMEO"] == "OPUS"
