"""Tests of stwcs_ng.wcsutil.HSTWCS (metadata, distortion evaluation, inverse, gwcs)."""

from __future__ import annotations

import copy
import io
import logging
import os

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from stwcs_ng.errors import HeaderError, InputFileError, MissingExtensionError, NoConvergence
from stwcs_ng.wcsutil import HSTWCS, _fastwcs
from stwcs_ng.wcsutil._ext import parse_extension, split_filename
from stwcs_ng.wcsutil.hstwcs import build_default_wcsname, extract_rootname
from stwcs_ng.wcsutil.instruments import keywords_for

FULL = (2048, 4096)


@pytest.fixture
def full_chip(acs_hdulist):
    """A full-size ACS/WFC-like chip (SIP order 4 + NPOL + D2IM) in memory."""
    return acs_hdulist(nchips=1, shape=FULL)


def _astropy(hdul, ext=("SCI", 1)):
    return WCS(hdul[ext].header, hdul)


# ---- extension specs ---------------------------------------------------------------

@pytest.mark.parametrize("spec, expected", [
    (1, 1), ("1", 1), ("sci,2", ("SCI", 2)), (("sci", 2), ("SCI", 2)), ("[SCI,1]", ("SCI", 1)),
    ("sci", "SCI"), (None, None), ("  ", None)])
def test_parse_extension(spec, expected):
    assert parse_extension(spec) == expected


def test_parse_extension_rejects_garbage():
    with pytest.raises(InputFileError):
        parse_extension(("SCI", "x"))
    with pytest.raises(InputFileError):
        parse_extension(-1)


def test_split_filename():
    assert split_filename("a_flt.fits[sci,2]") == ("a_flt.fits", ("SCI", 2))
    assert split_filename("a_flt.fits[3]") == ("a_flt.fits", 3)
    assert split_filename("a_flt.fits") == ("a_flt.fits", None)


# ---- construction and metadata -----------------------------------------------------

def test_construct_from_all_input_kinds(acs_hdulist, tmp_path):
    hdul = acs_hdulist()
    path = tmp_path / "j8bt06nyq_flt.fits"
    hdul.writeto(path)
    ref = HSTWCS(hdul, ("SCI", 2))
    for w in (HSTWCS(str(path), "sci,2"), HSTWCS(str(path) + "[sci,2]"), HSTWCS(path, 4),
              HSTWCS(hdul, "SCI,2")):
        np.testing.assert_array_equal(w.wcs.crval, ref.wcs.crval)
        assert w.extname == ("SCI", 2)
        assert w.cpdis1 is not None and w.det2im2 is not None
    assert HSTWCS(str(path)).extname == ("SCI", 1)
    assert HSTWCS(str(path)).filename == str(path)


def test_metadata_acs(acs_hdulist):
    hdul = acs_hdulist()
    w = HSTWCS(hdul, ("SCI", 1))
    h = hdul["SCI", 1].header
    assert w.instrument == "ACS" and w.detector == "WFC"
    assert w.chip == 2 and w.filter1 == "F606W" and w.filter2 == "CLEAR2L"
    assert w.parity == [[1, 0], [0, -1]]
    assert w.vafactor == h["VAFACTOR"] and w.binned == 1
    assert w.idcscale == h["IDCSCALE"] and w.ocx11 == h["OCX11"]
    assert w.idctab == "jref$qbu1641sj_idc.fits"
    assert w.ra_targ is None  # quirk kept: the original reads RA-TARG
    assert w.pscale == pytest.approx(np.hypot(h["CD1_1"], h["CD2_1"]) * 3600, rel=1e-14)
    assert w.orientat == pytest.approx(np.degrees(np.arctan2(h["CD1_2"], h["CD2_2"])))
    assert (w.naxis1, w.naxis2) == (128, 64)
    w.naxis1 = 100
    assert w.pixel_shape == (100, 64)


@pytest.mark.parametrize("inst, prim, ext, expected", [
    ("WFC3", {"DETECTOR": "UVIS", "FILTER": "F555W"}, {"CCDCHIP": 2},
     {"filter1": "F555W", "filter2": "CLEAR", "chip": 2, "parity": [[-1, 0], [0, 1]]}),
    ("WFPC2", {"FILTNAM1": "", "FILTNAM2": "F814W", "MODE": "AREA"}, {"DETECTOR": 3},
     {"filter1": "CLEAR1", "filter2": "F814W", "chip": 3, "binned": 2}),
    ("NICMOS", {"CAMERA": 2, "FILTER": "F110W"}, {},
     {"detector": 2, "chip": 2, "filter1": "F110W"}),
    ("STIS", {"OPT_ELEM": "MIRVIS", "FILTER": "CLEAR"}, {"DATE-OBS": "2001-01-01"},
     {"filter1": "MIRVIS", "date_obs": "2001-01-01"}),
    ("ACS", {"DETECTOR": "HRC"}, {}, {"parity": [[-1, 0], [0, 1]]}),
    ("FOO", {}, {}, {"instrument": "FOO", "parity": [[1, 0], [0, -1]], "vafactor": 1.0}),
])
def test_instrument_classes(inst, prim, ext, expected):
    p = fits.Header({"INSTRUME": inst, **prim})
    e = fits.Header(ext)
    values = keywords_for(p, e).values()
    for k, v in expected.items():
        assert values[k] == v


def test_default_and_header_input(acs_header, caplog):
    w = HSTWCS()
    assert w.instrument == "DEFAULT" and w.naxis == 2
    with caplog.at_level(logging.WARNING, logger="stwcs_ng"):
        w = HSTWCS(acs_header())
    assert "bare header" in caplog.text
    assert w.sip is not None and w.cpdis1 is None
    w2 = HSTWCS(acs_header(npol=False, d2im=False))
    assert w2.sip is not None


def test_pc_header_is_converted_for_default_instrument():
    h = fits.Header({"NAXIS": 2, "NAXIS1": 10, "NAXIS2": 10, "CTYPE1": "RA---TAN",
                     "CTYPE2": "DEC--TAN", "CRVAL1": 10.0, "CRVAL2": 20.0, "CRPIX1": 5.0,
                     "CRPIX2": 5.0, "CDELT1": -1e-5, "CDELT2": 1e-5, "PC1_1": 0.9,
                     "PC1_2": 0.1, "PC2_1": -0.1, "PC2_2": 0.9})
    w = HSTWCS(h)
    assert w.wcs.has_cd()
    np.testing.assert_allclose(w.wcs.cd, [[-0.9e-5, -0.1e-5], [-0.1e-5, 0.9e-5]])
    w.updatePscale(w.pscale * 2)
    np.testing.assert_allclose(w.wcs.cd, [[-1.8e-5, -0.2e-5], [-0.2e-5, 1.8e-5]])


def test_names():
    assert extract_rootname("jref$qbu1641sj_idc.fits", suffix="_idc") == "qbu1641sj"
    assert extract_rootname("/a/b/x_npl.fits") == "x_npl"
    for blank in ("", " N/A", "none", "INDEF", None):
        assert extract_rootname(blank) == "NONE"
    assert build_default_wcsname("iref$2731450pi_idc.fits") == "IDC_2731450pi"
    assert build_default_wcsname("N/A") == "DEFAULT"


# ---- bad input ----------------------------------------------------------------------

def test_bad_inputs(tmp_path, acs_hdulist):
    notfits = tmp_path / "junk.fits"
    notfits.write_bytes(b"SIMPLE? no" * 400)
    before = notfits.read_bytes()
    with pytest.raises(InputFileError):
        HSTWCS(str(notfits))
    assert notfits.read_bytes() == before
    nosci = tmp_path / "nosci.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.zeros((4, 4)), name="ERR")]).writeto(nosci)
    before = nosci.read_bytes()
    with pytest.raises(MissingExtensionError) as err:
        HSTWCS(str(nosci))
    assert "no SCI extension" in str(err.value) and "nosci.fits" in str(err.value)
    assert nosci.read_bytes() == before
    with pytest.raises(MissingExtensionError):
        HSTWCS(str(nosci), ("SCI", 3))
    with pytest.raises(InputFileError):
        HSTWCS(str(tmp_path / "missing.fits"))
    with pytest.raises(InputFileError):
        HSTWCS(12345)
    hdul = acs_hdulist()
    del hdul["WCSDVARR", 1]
    with pytest.raises((MissingExtensionError, HeaderError)):
        HSTWCS(hdul, ("SCI", 1))
    with pytest.raises(HeaderError):
        HSTWCS(acs_hdulist(), ("SCI", 1), wcskey="AB")


# ---- evaluation ---------------------------------------------------------------------

def test_all_pix2world_matches_astropy_points(acs_hdulist):
    hdul = acs_hdulist(nchips=1, shape=FULL, with_data=False)
    hdul[1].header["NAXIS"] = 2
    w = HSTWCS(hdul, 1)
    a = _astropy(hdul, 1)
    assert w.fast_pipeline() is not None
    rng = np.random.default_rng(42)
    x = rng.uniform(-50, 4150, 20000)
    y = rng.uniform(-50, 2100, 20000)
    for origin in (0, 1):
        ra, dec = w.all_pix2world(x, y, origin)
        ra0, dec0 = a.all_pix2world(x, y, origin)
        assert np.abs(ra - ra0).max() < 1e-10 and np.abs(dec - dec0).max() < 1e-10
    xy = np.column_stack([x[:100], y[:100]])
    np.testing.assert_allclose(w.all_pix2world(xy, 1), a.all_pix2world(xy, 1), rtol=0,
                               atol=1e-10)
    r, d = w.all_pix2world(5.0, 7.0, 0)
    assert np.ndim(r) == 0 and abs(r - a.all_pix2world(5.0, 7.0, 0)[0]) < 1e-10
    r, d = w.all_pix2world([np.nan, 1.0], [2.0, 3.0], 0)
    assert np.isnan(r[0]) and np.isfinite(r[1])


def test_full_chip_grid_matches_astropy_and_threads(full_chip):
    w = HSTWCS(full_chip, 1)
    a = _astropy(full_chip, 1)
    yy, xx = np.mgrid[0:FULL[0]:3, 0:FULL[1]:3].astype(float)
    ra, dec = w.all_pix2world(xx, yy, 0)  # meshgrid input: separable grid path
    ra0, dec0 = a.all_pix2world(xx, yy, 0)
    assert np.abs(ra - ra0).max() < 1e-10 and np.abs(dec - dec0).max() < 1e-10
    pipe = w.fast_pipeline()
    g1 = pipe.grid_pix2world(xx[0], yy[:, 0], 0, threads=1)
    g3 = pipe.grid_pix2world(xx[0], yy[:, 0], 0, threads=3)
    p2 = pipe.pix2world(xx, yy, 0, threads=2)
    for a_, b_ in zip(g1, g3, strict=True):
        assert np.array_equal(a_, b_)
    assert np.array_equal(g1[0], p2[0]) and np.array_equal(g1[1], p2[1])
    gr, gd = w.grid_pix2world(np.arange(0, 4096, 512.0), np.arange(0, 2048, 512.0))
    assert gr.shape == (4, 8)


def test_sip_only_grid_path(acs_hdulist):
    hdul = acs_hdulist(nchips=1, shape=(256, 512), npol=False, d2im=False)
    w = HSTWCS(hdul, 1)
    a = _astropy(hdul, 1)
    yy, xx = np.mgrid[0:256, 0:512].astype(float)
    ra, dec = w.all_pix2world(xx, yy, 1)
    ra0, dec0 = a.all_pix2world(xx, yy, 1)
    assert np.abs(ra - ra0).max() < 1e-10 and np.abs(dec - dec0).max() < 1e-10


def test_lookup_table_definition_against_astropy(acs_hdulist):
    hdul = acs_hdulist(nchips=1, shape=FULL)
    a = _astropy(hdul, 1)
    t = _fastwcs.LookupTable.from_astropy(a.det2im1)
    rng = np.random.default_rng(3)
    x = rng.uniform(-200, 4300, 5000)
    y = rng.uniform(-200, 2300, 5000)
    ours = _fastwcs._lookup_pair(t, None, x, y)[0]
    theirs = a.det2im(x, y, 1)[0] - x
    assert np.abs(ours - theirs).max() < 1e-12


def test_ra_wraps_like_astropy(acs_hdulist):
    hdul = acs_hdulist(nchips=1, shape=(256, 512))
    for crval1 in (0.0001, 359.9999):
        hdul[1].header["CRVAL1"] = crval1
        w = HSTWCS(hdul, 1)
        a = _astropy(hdul, 1)
        yy, xx = np.mgrid[0:256:5, 0:512:5].astype(float)
        ra, _ = w.all_pix2world(xx, yy, 0)
        ra0, _ = a.all_pix2world(xx, yy, 0)
        assert np.abs(ra - ra0).max() < 1e-10


def test_non_tan_falls_back_to_astropy():
    h = fits.Header({"NAXIS": 2, "NAXIS1": 20, "NAXIS2": 20, "CTYPE1": "RA---SIN",
                     "CTYPE2": "DEC--SIN", "CRVAL1": 10.0, "CRVAL2": 20.0, "CRPIX1": 10.0,
                     "CRPIX2": 10.0, "CD1_1": -1e-4, "CD2_2": 1e-4})
    w = HSTWCS(h)
    assert w.fast_pipeline() is None
    np.testing.assert_allclose(w.all_pix2world([1.0], [2.0], 0),
                               WCS(h).all_pix2world([1.0], [2.0], 0))
    x, y = w.all_world2pix(*w.all_pix2world([1.0], [2.0], 0), 0)
    assert abs(x[0] - 1.0) < 1e-6


@pytest.mark.slow
def test_all_world2pix_converges_for_every_pixel_of_a_chip(full_chip):
    w = HSTWCS(full_chip, 1)
    yy, xx = np.mgrid[0:FULL[0], 0:FULL[1]].astype(float)
    ra, dec = w.all_pix2world(xx, yy, 0)
    x, y = w.all_world2pix(ra, dec, 0, tolerance=1e-8, maxiter=30)
    assert np.abs(x - xx).max() < 1e-7 and np.abs(y - yy).max() < 1e-7


def test_all_world2pix_subsampled_chip_and_forms(full_chip):
    w = HSTWCS(full_chip, 1)
    a = _astropy(full_chip, 1)
    yy, xx = np.mgrid[-20:FULL[0] + 20:7, -20:FULL[1] + 20:7].astype(float)
    ra, dec = w.all_pix2world(xx, yy, 1)
    x, y = w.all_world2pix(ra, dec, 1, tolerance=1e-9)
    assert np.abs(x - xx).max() < 1e-7 and np.abs(y - yy).max() < 1e-7
    pts = np.column_stack([ra.ravel()[:50], dec.ravel()[:50]])
    out = w.all_world2pix(pts, 1)
    ref = a.all_world2pix(pts, 1, tolerance=1e-9)
    np.testing.assert_allclose(out, ref, atol=1e-4)
    bx, by = w.all_world2pix([ra[0, 0] + 180.0], [-dec[0, 0]], 0, quiet=True)
    assert np.isnan(bx[0])


def test_no_convergence(full_chip):
    w = HSTWCS(full_chip, 1)
    ra, dec = w.all_pix2world([10.0, 4000.0], [10.0, 2000.0], 0)
    with pytest.raises(NoConvergence) as err:
        w.all_world2pix(ra, dec, 0, tolerance=1e-14, maxiter=1)
    assert isinstance(err.value, ArithmeticError)
    assert err.value.best_solution.shape == (2, 2)
    assert len(err.value.failed2converge) == 2
    x, y = w.all_world2pix(ra, dec, 0, tolerance=1e-14, maxiter=1, quiet=True)
    assert np.abs(x - [10.0, 4000.0]).max() < 1.0


def test_footprint_matches_astropy(full_chip):
    w = HSTWCS(full_chip, 1)
    np.testing.assert_allclose(w.calc_footprint(), _astropy(full_chip, 1).calc_footprint(),
                               rtol=0, atol=1e-10)


# ---- output -------------------------------------------------------------------------

def test_wcs2header(acs_hdulist):
    hdul = acs_hdulist()
    w = HSTWCS(hdul, 1)
    h = w.wcs2header()
    assert h["CTYPE1"] == "RA---TAN" and "A_ORDER" not in h
    assert h["WCSNAME"] == "IDC_qbu1641sj"
    assert h["OCX11"] == w.ocx11 and h["IDCSCALE"] == w.idcscale
    for kw in ("CD1_1", "CD1_2", "CD2_1", "CD2_2", "CRPIX1", "CRVAL2"):
        assert h[kw] == pytest.approx(hdul[1].header[kw], rel=1e-15)
    hs = w.wcs2header(sip2hdr=True, idc2hdr=False)
    assert hs["CTYPE2"] == "DEC--TAN-SIP" and hs["A_ORDER"] == 4 and "OCX10" not in hs
    assert hs["B_0_4"] == hdul[1].header["B_0_4"]
    assert all(v != 0 for k, v in hs.items() if k.startswith(("A_", "B_")) and "ORDER" not in k)
    ha = w.wcs2header(wcskey="C")
    assert "CRVAL1C" in ha and "CRVAL1" not in ha
    back = WCS(hs)
    np.testing.assert_allclose(back.wcs_pix2world([[3.0, 4.0]], 1),
                               w.wcs_pix2world([[3.0, 4.0]], 1))


def test_printwcs_and_repr(acs_hdulist):
    w = HSTWCS(acs_hdulist(), ("SCI", 2))
    out = io.StringIO()
    w.printwcs(file=out)
    text = out.getvalue()
    assert "CRVAL" in text and "ORIENTAT" in text and str(float(w.wcs.crpix[0])) in text
    assert "np.float64" not in text
    assert "ACS" in repr(w)


def test_copy_keeps_metadata(acs_hdulist):
    w = HSTWCS(acs_hdulist(), 1)
    for c in (w.copy(), w.deepcopy(), copy.copy(w), copy.deepcopy(w)):
        assert isinstance(c, HSTWCS)
        assert c.instrument == "ACS" and c.chip == 2 and c.pscale == w.pscale
        assert c.cpdis1 is not None
        np.testing.assert_array_equal(c.all_pix2world([[1.0, 2.0]], 0),
                                      w.all_pix2world([[1.0, 2.0]], 0))


def test_to_gwcs_agrees(full_chip):
    w = HSTWCS(full_chip, 1)
    g = w.to_gwcs()
    rng = np.random.default_rng(7)
    x = rng.uniform(0, FULL[1] - 1, 3000)
    y = rng.uniform(0, FULL[0] - 1, 3000)
    gw = g.pixel_to_world_values(x, y)
    aw = w.pixel_to_world_values(x, y)
    # compare in pixels: 1 px ~ 1.4e-5 deg here
    scale = w.pscale / 3600.0
    assert np.abs(gw[0] - aw[0]).max() * np.cos(np.radians(aw[1])).max() / scale < 1e-6
    assert np.abs(gw[1] - aw[1]).max() / scale < 1e-6
    px, py = g.world_to_pixel_values(*aw)
    assert np.abs(px - x).max() < 1e-6 and np.abs(py - y).max() < 1e-6
    assert g.pixel_shape == w.pixel_shape


# ---- real data ----------------------------------------------------------------------

@pytest.mark.hstdata
@pytest.mark.parametrize("sample", ["wfc3_flc", "wfc3_flt"])
def test_real_wfc3_every_sci_agrees_with_astropy(sample, request):
    path = request.getfixturevalue(sample)
    with fits.open(path) as hdul:
        versions = [h.ver for h in hdul if h.name == "SCI"]
        assert versions
        for ver in versions:
            w = HSTWCS(str(path), ("SCI", ver))
            a = WCS(hdul["SCI", ver].header, hdul)
            assert w.instrument == "WFC3"
            assert w.chip == hdul["SCI", ver].header.get("CCDCHIP", 1)
            nx, ny = w.pixel_shape
            yy, xx = np.mgrid[-2:ny + 2:0.5, -2:nx + 2:0.5]
            for origin in (0, 1):
                ra, dec = w.all_pix2world(xx, yy, origin)
                ra0, dec0 = a.all_pix2world(xx, yy, origin)
                assert np.abs(ra - ra0).max() < 1e-8
                assert np.abs(dec - dec0).max() < 1e-8
            x, y = w.all_world2pix(ra, dec, 1, tolerance=1e-10)
            assert np.abs(x - xx).max() < 1e-6 and np.abs(y - yy).max() < 1e-6
            assert w.pscale == pytest.approx(0.04, abs=0.1)


@pytest.mark.hstdata
def test_real_flc_metadata(wfc3_flc):
    w = HSTWCS(str(wfc3_flc) + "[sci,2]")
    assert w.detector == "UVIS" and w.filter2 == "CLEAR"
    assert w.parity == [[-1, 0], [0, 1]]
    assert w.cpdis1 is not None and w.det2im1 is not None
    with fits.open(wfc3_flc) as h:
        assert w.orientat == pytest.approx(h["SCI", 2].header["ORIENTAT"], abs=0.05)


# ---- shared input helpers (stwcs_ng.wcsutil._ext) ------------------------------------

def test_ext_helpers(acs_hdulist, tmp_path):
    from stwcs_ng.errors import FileUpdateError
    from stwcs_ng.wcsutil._ext import (
        ext_index,
        extension_indices,
        get_header,
        open_input,
        update_input,
    )

    hdul = acs_hdulist()
    assert extension_indices(hdul) == [1, 4]
    assert extension_indices(hdul, "err") == [2, 5]
    assert extension_indices(hdul, [("SCI", 2), 2]) == [4, 2]
    assert ext_index(hdul, "sci,2") == 4 and ext_index(hdul, None) == 0
    simple = fits.HDUList([fits.PrimaryHDU(np.zeros((3, 3)))])
    assert extension_indices(simple) == [0]
    with pytest.raises(MissingExtensionError):
        extension_indices(fits.HDUList([fits.PrimaryHDU()]))
    h = hdul["SCI", 1].header
    assert get_header(h) is h
    with open_input(h) as (lst, name, ext):
        assert lst[0].header["CRPIX1"] == h["CRPIX1"] and name is None and ext is None
    with open_input(hdul["SCI", 2]) as (lst, _, _):
        assert lst[0].header["EXTVER"] == 2
    path = tmp_path / "f.fits"
    hdul.writeto(path)
    assert get_header(f"{path}[sci,2]")["EXTVER"] == 2
    with update_input(f"{path}[sci,2]") as (lst, name, ext):
        assert ext == ("SCI", 2) and name == str(path)
        lst["SCI", 2].header["NEWKEY"] = 1
    assert fits.getval(path, "NEWKEY", ext=("SCI", 2)) == 1
    before = path.read_bytes()
    with pytest.raises(RuntimeError), update_input(str(path)) as (lst, _, _):
        lst[0].header["OTHER"] = 2
        raise RuntimeError("boom")
    assert path.read_bytes() == before
    with pytest.raises(InputFileError), update_input(h):
        pass
    path.chmod(0o444)
    try:
        if not os.access(path, os.W_OK):  # root can write anyway
            with pytest.raises(FileUpdateError), update_input(str(path)):
                pass
    finally:
        path.chmod(0o644)
    assert path.read_bytes() == before


def test_read_model_from_header(acs_hdulist, monkeypatch):
    monkeypatch.delenv("jref", raising=False)
    hdul = acs_hdulist()
    w = HSTWCS(hdul, 1)
    h = hdul[1].header
    model = w.readModel(header=h)  # jref unset: IDCTAB unreachable -> header model
    assert model is w.idcmodel and model.order == 4
    assert model.cx[1, 1] == h["OCX11"] and model.cy[1, 0] == h["OCY10"]
    lin = np.array([[h["OCX11"], h["OCX10"]], [h["OCY11"], h["OCY10"]]])
    a, b = np.linalg.solve(lin, [model.cx[2, 1], model.cy[2, 1]])
    assert a == pytest.approx(h["A_1_1"], rel=1e-12) and b == pytest.approx(h["B_1_1"], rel=1e-12)
    for attr in ("ocx10", "ocx11", "ocy10", "ocy11", "idcscale"):
        setattr(w, attr, None)
    assert w.readModel(header=h) is None


@pytest.mark.hstdata
def test_read_model_from_idctab(acs_hdulist, hst_data_dir, monkeypatch):
    if not (hst_data_dir / "qbu1641sj_idc.fits").is_file():
        pytest.skip("IDCTAB sample absent")
    monkeypatch.setenv("jref", str(hst_data_dir) + "/")
    hdul = acs_hdulist(shape=FULL)
    w = HSTWCS(hdul, 1)
    h = hdul[1].header.copy()
    model = w.readModel(update=True, header=h)
    assert model.chip == 2 and model.xsize == 4096
    assert h["IDCSCALE"] == pytest.approx(model.scale) and h["OCX11"] == model.cx[1, 1]
    assert (w.ltv1, w.ltv2) == (0.0, 0.0)


def test_one_row_d2im_table_and_single_axis(acs_hdulist):
    """Old-style D2IM: one table row, axis 1 only (no D2IMDIS2)."""
    hdul = acs_hdulist(nchips=1, shape=(256, 512), npol=True, d2im=True)
    h = hdul[1].header
    for kw in [k for k in h if k.startswith(("D2IMDIS2", "D2IM2", "D2IMERR2"))]:
        del h[kw]
    row = hdul["D2IMARR", 1]
    row.data = np.ascontiguousarray(row.data[:1]) * 3.0
    w = HSTWCS(hdul, 1)
    a = _astropy(hdul, 1)
    assert w.det2im2 is None and w.det2im1.data.shape == (1, 64)
    yy, xx = np.mgrid[0:256:3, 0:512:3].astype(float)
    for args in ((xx, yy, 0), (xx.ravel(), yy.ravel(), 1)):
        ra, dec = w.all_pix2world(*args)
        ra0, dec0 = a.all_pix2world(*args)
        assert np.abs(ra - ra0).max() < 1e-10 and np.abs(dec - dec0).max() < 1e-10


def test_nan_positions_propagate(acs_hdulist):
    w = HSTWCS(acs_hdulist(nchips=1), 1)
    fx, fy = w.fast_pipeline().pix2foc(np.array([np.nan, 3.0]), np.array([1.0, 2.0]))
    assert np.isnan(fx[0]) and np.isfinite(fx[1])
    x, y = w.all_world2pix([np.nan, 5.6], [0.0, -72.05], 0)
    assert np.isnan(x[0]) and np.isfinite(x[1])


def test_sip_jacobian_matches_finite_differences(acs_hdulist):
    sip = HSTWCS(acs_hdulist(nchips=1, shape=FULL), 1).fast_pipeline().sip
    rng = np.random.default_rng(11)
    u = rng.uniform(-2048, 2048, 50)
    v = rng.uniform(-1024, 1024, 50)
    h = 1e-3
    au, av, bu, bv = sip.jacobian(u, v)
    a1, b1 = sip(u + h, v)
    a0, b0 = sip(u - h, v)
    np.testing.assert_allclose(au, (a1 - a0) / (2 * h), atol=1e-9)
    np.testing.assert_allclose(bu, (b1 - b0) / (2 * h), atol=1e-9)
    a1, b1 = sip(u, v + h)
    a0, b0 = sip(u, v - h)
    np.testing.assert_allclose(av, (a1 - a0) / (2 * h), atol=1e-9)
    np.testing.assert_allclose(bv, (b1 - b0) / (2 * h), atol=1e-9)
