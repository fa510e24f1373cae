"""updatewcs on synthetic ACS/WFC exposures made with the real reference files."""

from __future__ import annotations

import hashlib
import logging
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

sys.path.insert(0, str(Path(__file__).resolve().parent))
import rawfiles

from stwcs_ng import cli
from stwcs_ng.errors import (
    HeaderError,
    IDCRowNotFoundError,
    InputFileError,
    MissingExtensionError,
    ReferenceFileError,
    StwcsError,
    UnsupportedInstrumentError,
)
from stwcs_ng.updatewcs import updatewcs
from stwcs_ng.wcsutil import altwcs

pytestmark = pytest.mark.hstdata

DATA = rawfiles.HST_DATA


@pytest.fixture(autouse=True)
def _jref(monkeypatch):
    if not (DATA / rawfiles.IDCTAB).exists():
        pytest.skip("real HST reference files not available")
    monkeypatch.setenv("jref", str(DATA) + "/")


@pytest.fixture
def raw(tmp_path):
    return rawfiles.make_acs_wfc_raw(tmp_path / "jtest01abq_flt.fits")


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def idc_row(chip: int, filter1: str = "CLEAR1L", filter2: str = "F814W"):
    """The IDCTAB row, selected here independently of the library."""
    with fits.open(DATA / rawfiles.IDCTAB) as t:
        data = t[1].data
        for row in data:
            f1 = "CLEAR" if "CLEAR" in row["FILTER1"] else row["FILTER1"].strip()
            f2 = "CLEAR" if "CLEAR" in row["FILTER2"] else row["FILTER2"].strip()
            if (row["DETCHIP"] == chip and row["DIRECTION"].strip().upper() == "FORWARD"
                    and f1 == ("CLEAR" if "CLEAR" in filter1 else filter1)
                    and f2 == ("CLEAR" if "CLEAR" in filter2 else filter2)):
                return {name: float(row[name]) for name in data.names
                        if name not in ("DIRECTION", "FILTER1", "FILTER2")}
    raise AssertionError("row not found")


def idc_nonlinear(row: dict, dx: np.ndarray, dy: np.ndarray, order: int = 4):
    """inv(M) @ P(dx, dy) - (dx, dy): the IDC polynomial without its linear part, in pixels."""
    px = np.zeros_like(dx)
    py = np.zeros_like(dx)
    for i in range(1, order + 1):
        for j in range(i + 1):
            px += row[f"CX{i}{j}"] * dx ** j * dy ** (i - j)
            py += row[f"CY{i}{j}"] * dx ** j * dy ** (i - j)
    m = np.array([[row["CX11"], row["CX10"]], [row["CY11"], row["CY10"]]])
    u, v = np.linalg.solve(m, np.vstack([px.ravel(), py.ravel()]))
    return u.reshape(dx.shape) - dx, v.reshape(dy.shape) - dy


def _without_lookup(header: fits.Header) -> fits.Header:
    h = header.copy()
    for key in list(h.keys()):
        if key.startswith(("CPDIS", "CPERR", "DP1", "DP2", "D2IMDIS", "D2IMERR", "D2IM1",
                           "D2IM2")):
            while key in h:
                del h[key]
    return h


# ------------------------------------------------------------------------------ must show


def test_sip_npol_d2im_and_independent_idc_check(raw):
    assert updatewcs(str(raw), use_db=False) == [str(raw)]
    with fits.open(raw) as f:
        names = [(h.name, h.ver) for h in f]
        assert [v for n, v in names if n == "WCSDVARR"] == [1, 2, 3, 4]
        assert [v for n, v in names if n == "D2IMARR"] == [1, 2, 3, 4]
        for extver in (1, 2):
            h = f["SCI", extver].header
            assert h["A_ORDER"] == 4 and h["B_ORDER"] == 4
            assert h["CTYPE1"] == "RA---TAN-SIP" and h["CTYPE2"] == "DEC--TAN-SIP"
            assert h["CPDIS1"] == "Lookup" and h["DP1.EXTVER"] == 2 * extver - 1
            assert h["DP2.EXTVER"] == 2 * extver and h["D2IMDIS2"] == "Lookup"
            assert (h["CRPIX1"], h["CRPIX2"]) == (2048.0, 1024.0)
            row = idc_row(h["CCDCHIP"])
            # full-chip grid, pixel offsets from the reference pixel
            y, x = np.mgrid[1:2049:97, 1:4097:131].astype(float)
            dx, dy = x - h["CRPIX1"], y - h["CRPIX2"]
            want_u, want_v = idc_nonlinear(row, dx, dy)
            # SIP evaluated by astropy/wcslib from the header alone (no lookup tables)
            sip_only = WCS(_without_lookup(h))
            foc = sip_only.sip_pix2foc(np.column_stack([x.ravel(), y.ravel()]), 1)
            # focal-plane coordinates are relative to CRPIX: u + A(u, v)
            got_u = foc[:, 0].reshape(x.shape) - dx
            got_v = foc[:, 1].reshape(y.shape) - dy
            assert np.abs(want_u).max() > 1.0  # the check is not vacuous: pixels of distortion
            np.testing.assert_allclose(got_u, want_u, atol=1e-3, rtol=0)
            np.testing.assert_allclose(got_v, want_v, atol=1e-3, rtol=0)
            # full model: the lookup tables add at most their largest values
            full = WCS(h, f)
            assert full.cpdis1 is not None and full.det2im1 is not None
            world_full = full.all_pix2world(x.ravel(), y.ravel(), 1)
            world_sip = sip_only.all_pix2world(x.ravel(), y.ravel(), 1)
            sep = np.hypot((world_full[0] - world_sip[0]) * np.cos(np.radians(world_sip[1])),
                           world_full[1] - world_sip[1]) * 3600 / 0.05
            assert 0.005 < sep.max() < 0.5


def test_names_archive_and_primary_keywords(raw):
    with fits.open(raw) as f:
        opus = {k: f["SCI", 1].header[k] for k in ("CRVAL1", "CRVAL2", "CD1_1", "CRPIX1")}
    updatewcs(str(raw), use_db=False)
    with fits.open(raw) as f:
        p = f[0].header
        h = f["SCI", 1].header
        assert h["WCSNAME"] == "IDC_qbu1641sj"
        assert h["WCSNAMEO"] == "OPUS"
        assert altwcs.wcskeys(h) == [" ", "O"]
        for k, v in opus.items():
            assert h[k + "O"] == v
        assert h["IDCTAB"] == "jref$qbu1641sj_idc.fits"
        for k in ("OCX10", "OCX11", "OCY10", "OCY11", "IDCSCALE", "IDCV2REF", "IDCV3REF",
                  "IDCXREF", "IDCYREF", "IDCTHETA", "TDDALPHA", "TDDBETA"):
            assert k in h
        assert p["SIPNAME"] == "jtest01abq_qbu1641sj"
        assert p["DISTNAME"] == "jtest01abq_qbu1641sj-02c1450rj-02c1450oj"
        assert p["UPWCSVER"].startswith("stwcs-ng") and "PYWCSVER" in p
        assert p["NEXTEND"] == len(f) - 1
        assert f[1].header["NPOLEXT"] == "jref$02c1450rj_npl.fits"
        assert f[1].header["D2IMEXT"] == "jref$02c1450oj_d2i.fits"
        # ERR/DQ carry the SCI linear WCS, without SIP
        for name in ("ERR", "DQ"):
            e = f[name, 2].header
            assert e["CRVAL1"] == f["SCI", 2].header["CRVAL1"]
            assert e["CD2_2"] == f["SCI", 2].header["CD2_2"]
            assert e["CTYPE1"] == "RA---TAN"
        # WCSCORR: OPUS rows and the new solution, one per chip
        tab = f["WCSCORR"]
        used = tab.header["TROWS"]
        ids = sorted(str(s).strip() for s in tab.data["WCS_ID"][:used])
        assert ids == ["IDC_qbu1641sj", "IDC_qbu1641sj", "OPUS", "OPUS"]


def test_idempotent(raw, tmp_path):
    updatewcs(str(raw), use_db=False)
    first = sha(raw)
    with fits.open(raw) as f:
        headers = [h.header.tostring() for h in f]
    updatewcs(str(raw), use_db=False)
    with fits.open(raw) as f:
        assert [h.header.tostring() for h in f] == headers
    assert sha(raw) == first


def test_reference_chip_crval_follows_opus_wcs(raw):
    with fits.open(raw) as f:
        opus = WCS(f["SCI", 1].header)
    updatewcs(str(raw), use_db=False, vacorr=False)
    with fits.open(raw) as f:
        h = f["SCI", 1].header  # CCDCHIP 2 = reference chip; XREF/YREF = OPUS CRPIX here
        assert h["CCDCHIP"] == 2
        np.testing.assert_allclose([h["CRVAL1"], h["CRVAL2"]],
                                   opus.wcs_pix2world([[2048.0, 1024.0]], 1)[0], atol=1e-12)
        # the scale of the new CD is the IDC linear scale (~0.05"/pixel)
        row = idc_row(2)
        assert np.hypot(h["CD1_1"], h["CD2_1"]) * 3600 == pytest.approx(
            np.hypot(row["CX11"], row["CY11"]), rel=2e-3)


def test_switches(tmp_path):
    a = rawfiles.make_acs_wfc_raw(tmp_path / "a_flt.fits")
    b = rawfiles.make_acs_wfc_raw(tmp_path / "b_flt.fits")
    c = rawfiles.make_acs_wfc_raw(tmp_path / "c_flt.fits")
    updatewcs([str(a)], use_db=False)
    updatewcs(str(b), use_db=False, vacorr=False, tddcorr=False, npolcorr=False, d2imcorr=False)
    updatewcs(str(c), use_db=False, vacorr=False)
    with fits.open(a) as fa, fits.open(b) as fb, fits.open(c) as fc:
        ha, hb, hc = fa["SCI", 2].header, fb["SCI", 2].header, fc["SCI", 2].header
        assert "WCSDVARR" not in fb and "D2IMARR" not in fb and "TDDALPHA" not in hb
        # velocity aberration: CD scaled by VAFACTOR
        assert ha["CD1_1"] / hc["CD1_1"] == pytest.approx(ha["VAFACTOR"], rel=1e-12)
        # TDD changes the linear terms but not SIP
        assert hb["OCX11"] != hc["OCX11"]
        assert hb["A_3_0"] == pytest.approx(hc["A_3_0"], rel=1e-9)


def test_npolfile_na_removes_tables(raw):
    updatewcs(str(raw), use_db=False)
    with fits.open(raw, mode="update") as f:
        f[0].header["NPOLFILE"] = "N/A"
    updatewcs(str(raw), use_db=False)
    with fits.open(raw) as f:
        assert "WCSDVARR" not in f and "CPDIS1" not in f["SCI", 1].header
        assert "NPOLEXT" not in f[1].header and "D2IMARR" in f
        assert f[0].header["DISTNAME"] == "jtest01abq_qbu1641sj-NOMODEL-02c1450oj"


def test_new_idctab_deletes_alternates_but_keeps_opus(raw, tmp_path, monkeypatch):
    refs = tmp_path / "refs"
    refs.mkdir()
    for name in (rawfiles.IDCTAB, rawfiles.NPOLFILE, rawfiles.D2IMFILE):
        (refs / name).symlink_to(DATA / name)
    (refs / "zzz0000zj_idc.fits").symlink_to(DATA / rawfiles.IDCTAB)
    monkeypatch.setenv("jref", str(refs))
    updatewcs(str(raw), use_db=False)
    with fits.open(raw, mode="update") as f:
        for ext in (("SCI", 1), ("SCI", 2)):
            altwcs.archive_header_wcs(f[ext].header, "A", "SOMETHING")
        f[0].header["IDCTAB"] = "jref$zzz0000zj_idc.fits"
    updatewcs(str(raw), use_db=False)
    with fits.open(raw) as f:
        h = f["SCI", 2].header
        assert altwcs.wcskeys(h) == [" ", "O"]
        assert h["WCSNAME"] == "IDC_zzz0000zj" and h["WCSNAMEO"] == "OPUS"


def test_ngoodpix_not_required(tmp_path):
    p = rawfiles.make_acs_wfc_raw(tmp_path / "x_flt.fits", ngoodpix=False)
    updatewcs(str(p), use_db=False)
    with fits.open(p) as f:
        assert f["SCI", 1].header["A_ORDER"] == 4


def test_use_db_warns_once_and_changes_nothing(tmp_path, caplog):
    a = rawfiles.make_acs_wfc_raw(tmp_path / "a_flt.fits")
    b = rawfiles.make_acs_wfc_raw(tmp_path / "b_flt.fits")
    c = rawfiles.make_acs_wfc_raw(tmp_path / "c_flt.fits")
    with caplog.at_level(logging.WARNING, logger="stwcs_ng"):
        updatewcs([str(a), str(b)])  # use_db defaults to True, as in the original
    db = [r for r in caplog.records if "astrometry database" in r.getMessage()]
    assert len(db) == 1
    updatewcs(str(c), use_db=False)
    with fits.open(a) as fa, fits.open(c) as fc:
        for ext in (("SCI", 1), ("SCI", 2)):
            assert fa[ext].header["CRVAL1"] == fc[ext].header["CRVAL1"]
            assert fa[ext].header["CD1_2"] == fc[ext].header["CD1_2"]


def test_list_wildcard_and_at_file(tmp_path, monkeypatch):
    paths = [rawfiles.make_acs_wfc_raw(tmp_path / f"e{i}_flt.fits") for i in range(2)]
    monkeypatch.chdir(tmp_path)
    assert updatewcs("e*_flt.fits", use_db=False) == ["e0_flt.fits", "e1_flt.fits"]
    (tmp_path / "files.lst").write_text("# inputs\ne0_flt.fits\ne1_flt.fits extra\n")
    assert updatewcs("@files.lst", use_db=False) == ["e0_flt.fits", "e1_flt.fits"]
    assert updatewcs("e0_flt.fits,e1_flt.fits", use_db=False) == ["e0_flt.fits", "e1_flt.fits"]
    with pytest.raises(InputFileError, match="no file matches"):
        updatewcs("nothing*_flt.fits", use_db=False)
    assert all(p.exists() for p in paths)


def test_hdulist_input(raw):
    with fits.open(raw) as f:
        hdul = fits.HDUList([h.copy() for h in f])
    before = len(hdul)
    updatewcs(hdul, use_db=False)
    assert len(hdul) > before and hdul["SCI", 1].header["WCSNAME"] == "IDC_qbu1641sj"
    bad = fits.HDUList([h.copy() for h in hdul])
    bad[0].header["FILTER2"] = "F999W"
    snapshot = [h.header.tostring() for h in bad]
    with pytest.raises(IDCRowNotFoundError):
        updatewcs(bad, use_db=False)
    assert [h.header.tostring() for h in bad] == snapshot


def test_cli(raw, capsys, tmp_path):
    assert cli.main(["updatewcs", str(raw)]) == 0
    assert str(raw) in capsys.readouterr().out
    with fits.open(raw) as f:
        assert f["SCI", 1].header["WCSNAME"] == "IDC_qbu1641sj"
    assert cli.main(["updatewcs", str(tmp_path / "missing_flt.fits")]) == 1


# ------------------------------------------------------------------------------ bad input


def _unchanged_after(path, exc_type, match, **kw):
    before = sha(path)
    with pytest.raises(exc_type, match=match) as info:
        updatewcs(str(path), use_db=False, **kw)
    assert isinstance(info.value, StwcsError)
    assert sha(path) == before
    return info.value


def test_missing_reference_file(tmp_path):
    p = rawfiles.make_acs_wfc_raw(tmp_path / "x_flt.fits", npolfile="jref$nothere_npl.fits")
    err = _unchanged_after(p, ReferenceFileError, "nothere_npl.fits.*does not exist")
    assert err.filename == str(p)


def test_unset_environment_variable(tmp_path, monkeypatch):
    p = rawfiles.make_acs_wfc_raw(tmp_path / "x_flt.fits")
    monkeypatch.delenv("jref")
    _unchanged_after(p, ReferenceFileError, "environment variable 'jref'")


def test_unreadable_reference_file(tmp_path, monkeypatch):
    refs = tmp_path / "refs"
    refs.mkdir()
    for name in (rawfiles.IDCTAB, rawfiles.NPOLFILE):
        (refs / name).symlink_to(DATA / name)
    (refs / rawfiles.D2IMFILE).write_bytes(b"SIMPLE  = garbage" * 10)
    monkeypatch.setenv("jref", str(refs))
    p = rawfiles.make_acs_wfc_raw(tmp_path / "x_flt.fits")
    _unchanged_after(p, ReferenceFileError, "D2IMFILE.*cannot be read")


def test_no_sci_extension(tmp_path):
    p = tmp_path / "nosci_flt.fits"
    src = rawfiles.make_acs_wfc_raw(tmp_path / "src_flt.fits")
    with fits.open(src) as f:
        fits.HDUList([f[0].copy(), fits.ImageHDU(np.zeros((4, 4)), name="ERR")]).writeto(p)
    _unchanged_after(p, MissingExtensionError, "no SCI extension")


def test_no_matching_idc_row(tmp_path):
    p = rawfiles.make_acs_wfc_raw(tmp_path / "x_flt.fits", filter2="F999W")
    _unchanged_after(p, IDCRowNotFoundError, "F999W")


def test_non_fits_file(tmp_path):
    p = tmp_path / "notes_flt.fits"
    p.write_text("this is not a FITS file\n" * 100)
    _unchanged_after(p, InputFileError, "not FITS|not a complete FITS")


def test_unsupported_instrument(tmp_path):
    p = rawfiles.make_acs_wfc_raw(tmp_path / "x_flt.fits")
    with fits.open(p, mode="update") as f:
        f[0].header["INSTRUME"] = "WFPC2"
    err = _unchanged_after(p, UnsupportedInstrumentError, "WFPC2.*deferred")
    assert "ACS WFC/HRC/SBC" in str(err)


def test_missing_pa_v3(tmp_path):
    p = rawfiles.make_acs_wfc_raw(tmp_path / "x_flt.fits")
    with fits.open(p, mode="update") as f:
        del f[0].header["PA_V3"]
    _unchanged_after(p, HeaderError, "PA_V3")


def test_readonly_file_unchanged(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root ignores permissions")
    p = rawfiles.make_acs_wfc_raw(tmp_path / "x_flt.fits")
    p.chmod(0o444)
    try:
        _unchanged_after(p, StwcsError, "read-only")
    finally:
        p.chmod(0o644)


def test_hstwcs_reads_the_updated_file(raw):
    hstwcs = pytest.importorskip("stwcs_ng.wcsutil.hstwcs")
    updatewcs(str(raw), use_db=False)
    with fits.open(raw) as f:
        w = hstwcs.HSTWCS(f, ("SCI", 2))
        ref = WCS(f["SCI", 2].header, f)
        assert w.sip is not None and w.cpdis1 is not None and w.det2im1 is not None
        x = np.array([1.0, 2048.0, 4096.0])
        y = np.array([1.0, 1024.0, 2048.0])
        np.testing.assert_allclose(w.all_pix2world(x, y, 1), ref.all_pix2world(x, y, 1),
                                   rtol=0, atol=1e-10)


def test_real_pipeline_file_keeps_headerlets(tmp_path, monkeypatch):
    """A real WFC3/IR FLT (headerlets, WCSCORR, alternates) with a stand-in IDCTAB."""
    sample = DATA / "sample_ipppssoot_flt.fits"
    if not sample.exists():
        pytest.skip("sample FLT not available")
    path = tmp_path / "sample_flt.fits"
    path.write_bytes(sample.read_bytes())
    path.chmod(0o644)
    refs = tmp_path / "iref"
    refs.mkdir()
    with fits.open(path) as f:
        filt = f[0].header["FILTER"]
        hdrlets = {h.ver: hashlib.sha256(h.data.tobytes()).hexdigest()
                   for h in f if h.name == "HDRLET"}
        nwcscorr = f["WCSCORR"].header["TROWS"]
    rawfiles.make_synthetic_idctab(refs / "w3m18525i_idc.fits", "WFC3", "IR", (filt, "CLEAR"))
    monkeypatch.setenv("iref", str(refs))
    updatewcs(str(path), use_db=False)
    with fits.open(path) as f:
        after = {h.ver: hashlib.sha256(h.data.tobytes()).hexdigest()
                 for h in f if h.name == "HDRLET"}
        assert after == hdrlets and len(after) == 9
        h = f["SCI", 1].header
        assert h["WCSNAME"] == "IDC_w3m18525i" and h["WCSNAMEO"] == "OPUS"
        assert f["ERR", 1].header["CRVAL1"] == h["CRVAL1"]
        assert f["WCSCORR"].header["TROWS"] == nwcscorr + 1
