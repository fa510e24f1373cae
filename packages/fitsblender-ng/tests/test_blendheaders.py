"""File-level blending: get_blended_headers, blendheaders, helpers and the CLI."""

from __future__ import annotations

import hashlib
import math
import os
import stat

import numpy as np
import pytest
from astropy.io import fits

from fitsblender_ng import testing as T
from fitsblender_ng.blender import INDEF, HeaderSet
from fitsblender_ng.blendheaders import (
    KeywordRules,
    blendheaders,
    cat_headers,
    extract_filenames_from_drz,
    get_blended_headers,
    getSingleTemplate,
    parse_input_spec,
    read_header_sets,
    remove_distortion_keywords,
)
from fitsblender_ng.cli import main
from fitsblender_ng.errors import FileUpdateError, InputFileError, RulesSyntaxError


def acs_sets(n: int = 4) -> list[HeaderSet]:
    sets = []
    for i in range(n):
        hdul = T.acs_wfc_exposure(i)
        for ver in (1, 2):
            sets.append(HeaderSet(hdul[0].header, hdul["SCI", ver].header,
                                  hdul["ERR", ver].header, hdul["DQ", ver].header))
    return sets


@pytest.fixture
def acs_files(tmp_path):
    paths = T.write_exposures([T.acs_wfc_exposure(i, data=True) for i in range(4)], tmp_path)
    return paths


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- the must-show case -------------------------------------------------------------------------
def test_four_acs_wfc_exposures_give_eight_rows_and_merged_values():
    sets = acs_sets(4)
    (prim, sci, err, dq), tab = get_blended_headers(sets)
    exps = [T.acs_wfc_exposure(i)[0].header for i in range(4)]
    assert len(tab.data) == 8
    assert prim["EXPTIME"] == pytest.approx(sum(h["EXPTIME"] for h in exps))
    assert prim["TEXPTIME"] == prim["EXPTIME"]
    assert prim["EXPSTART"] == min(h["EXPSTART"] for h in exps)
    assert prim["EXPEND"] == max(h["EXPEND"] for h in exps)
    chips = [s.sci for s in sets]
    np.testing.assert_array_equal(tab.data["CRVAL1"], [h["CRVAL1"] for h in chips])
    np.testing.assert_array_equal(tab.data["CRVAL2"], [h["CRVAL2"] for h in chips])
    np.testing.assert_array_equal(tab.data["PHOTFLAM"], [h["PHOTFLAM"] for h in chips])
    assert list(tab.data["EXTVER"]) == [1, 2] * 4
    assert list(tab.data["CCDCHIP"]) == [2, 1] * 4
    assert list(tab.data["ROOTNAME"]) == [h["ROOTNAME"] for h in exps for _ in (1, 2)]
    assert sci["PHOTFLAM"] == pytest.approx(np.mean([h["PHOTFLAM"] for h in chips]))
    assert sci["GOODMAX"] == max(h["GOODMAX"] for h in chips)
    assert prim["FILTER1"] == "F606W" and prim["PROPOSID"] == 9443
    # distortion and obsolete keywords gone from the headers, kept in the table
    assert "A_2_0" not in sci and "A_2_0" in tab.columns.names
    assert "NPOLEXT" not in sci and "CCDCHIP" not in sci
    assert sci["CTYPE1"] == "RA---TAN" and sci["CTYPE2"] == "DEC--TAN"  # no SIP left
    assert err["EXTNAME"] == "ERR" and dq["EXTNAME"] == "DQ"


def test_differing_filters_give_multiple():
    sets = acs_sets(1)
    other = T.acs_wfc_exposure(5, filter1="F814W")
    sets.append(HeaderSet(other[0].header, other["SCI", 1].header))
    (prim, *_), _ = get_blended_headers(sets)
    assert prim["FILTER1"] == "MULTIPLE"


def test_file_inputs_with_chip_specs(acs_files):
    specs = [f"{p}[sci,{v}]" for p in acs_files for v in (2, 1)]
    (prim, sci, err, dq), tab = get_blended_headers(specs)
    assert len(tab.data) == 8
    assert list(tab.data["EXTVER"]) == [2, 1] * 4
    assert prim["EXPTIME"] == pytest.approx(4 * 507.0)
    assert err["EXTNAME"] == "ERR" and dq["EXTNAME"] == "DQ"


def test_plain_file_names_give_every_chip(acs_files):
    _, tab = get_blended_headers([str(p) for p in acs_files[:2]])
    assert len(tab.data) == 4


def test_mixed_number_of_sci_extensions(tmp_path):
    paths = T.write_exposures([T.stis_exposure(0, nimsets=3, data=True),
                               T.stis_exposure(1, nimsets=1, data=True)], tmp_path)
    (prim, sci, *_), tab = get_blended_headers([str(p) for p in paths])
    assert len(tab.data) == 4
    assert sci["EXPTIME"] == pytest.approx(4 * 60.0)
    assert prim["TEXPTIME"] == pytest.approx(4 * 60.0)


def test_parse_input_spec():
    assert parse_input_spec("a.fits") == (parse_input_spec("a.fits")[0], None)
    assert parse_input_spec("a.fits[sci,2]")[1] == ("SCI", 2)
    assert parse_input_spec("a.fits[SCI]")[1] == ("SCI", None)
    assert parse_input_spec(" a.fits[3] ")[1] == 3
    for bad in ("a.fits[sci,x]", "a.fits[,1]", "a.fits[]"):
        with pytest.raises(InputFileError, match="cannot parse"):
            parse_input_spec(bad)


def test_input_errors(tmp_path, acs_files):
    with pytest.raises(InputFileError, match="does not exist"):
        get_blended_headers([str(tmp_path / "missing.fits")])
    (tmp_path / "junk.fits").write_bytes(b"not fits at all" * 10)
    with pytest.raises(InputFileError, match="junk.fits"):
        get_blended_headers([str(tmp_path / "junk.fits")])
    with pytest.raises(InputFileError, match="no extension"):
        read_header_sets(f"{acs_files[0]}[sci,7]")
    with pytest.raises(InputFileError, match="no WHT extension"):
        read_header_sets(f"{acs_files[0]}[wht]")
    with pytest.raises(InputFileError, match="expected a file name"):
        get_blended_headers([42])
    with pytest.raises(InputFileError, match="no inputs"):
        get_blended_headers([])


def test_header_object_forms():
    hdul = T.acs_wfc_exposure(0)
    pair = (hdul[0].header, hdul["SCI", 1].header)
    (prim, sci, *_), tab = get_blended_headers([pair, hdul])
    assert len(tab.data) == 3  # one pair + the HDUList's two chips
    single = fits.Header([("INSTRUME", "FOS"), ("EXPTIME", 2.0), ("ROOTNAME", "y19g0309t")])
    (prim, *_), tab = get_blended_headers([single, single.copy()])
    assert prim["EXPTIME"] == 2.0  # same ROOTNAME: one exposure


def test_user_rules_file_and_its_errors(tmp_path):
    good = tmp_path / "mine.rules"
    good.write_text("!VERSION = 1.1\nROOTNAME\nEXPTIME TOTAL sum\n")
    (prim, *_), tab = get_blended_headers(acs_sets(2), rules_file=good)
    assert prim["TOTAL"] == pytest.approx(2 * 507.0)
    assert tab.columns.names == ["ROOTNAME"] and prim["RULEFILE"] == "mine.rules"
    bad = tmp_path / "bad.rules"
    bad.write_text("EXPTIME TOTAL summ\n")
    with pytest.raises(RulesSyntaxError, match=r"bad\.rules:1"):
        get_blended_headers(acs_sets(1), rules_file=bad)


def test_get_single_template(acs_files):
    p, s, e, d = getSingleTemplate(str(acs_files[0]))
    assert p["ROOTNAME"] == "j8bt06n00"
    assert (s["EXTNAME"], e["EXTNAME"], d["EXTNAME"]) == ("SCI", "ERR", "DQ")
    assert e["BUNIT"] == "UNITLESS" and d["BUNIT"] == "UNITLESS"
    p, s, e, d = getSingleTemplate(f"{acs_files[0]}[sci,2]", extlist=["SCI", None, "NOPE"])
    assert s["EXTVER"] == 2 and e["EXTNAME"] == "SCI" and d["EXTNAME"] == "SCI"


def test_remove_distortion_keywords():
    hdr = T.acs_wfc_exposure(0)["SCI", 1].header.copy()
    hdr.append(fits.Card.fromstring("DP1     = 'EXTVER: 1'"), end=True)
    hdr["CPDIS1"] = "Lookup"
    hdr["IDCTAB"] = "jref$x_idc.fits"
    hdr["D2IMFILE"] = "jref$x_d2i.fits"
    removed = remove_distortion_keywords(hdr)
    for key in ("A_2_0", "B_ORDER", "IDCSCALE", "TDDALPHA", "D2IMEXT", "NPOLEXT", "CPDIS1",
                "DP1.EXTVER"):
        assert key in removed and key not in hdr
    assert hdr["IDCTAB"] == "jref$x_idc.fits" and "D2IMFILE" in hdr
    assert hdr["CTYPE1"] == "RA---TAN" and hdr["CTYPE2"] == "DEC--TAN"


def test_cat_headers():
    a, b = fits.Header([("A", 1), ("B", 2)]), fits.Header([("B", 3), ("C", 4)])
    c = cat_headers(a, b)
    assert list(c.keys()) == ["A", "B", "B", "C"] and c["B"] == 2 and len(a) == 2


def test_keyword_rules_class():
    kr = KeywordRules("ACS")
    assert kr.get_filename().endswith("acs_header.rules")
    assert kr.get_rules_header(kr.get_filename()) == (1.1, "acs")
    sets = acs_sets(2)
    kr.interpret_rules([s.sci for s in sets])
    assert ("EXPTIME", "TEXPTIME", "sum") in kr.rules
    assert kr.index_of("EXPTIME")
    hdr, tab = kr.apply([s.sci for s in sets])
    assert len(tab) == 4 and "PHOTFLAM" in hdr
    kr.merge(KeywordRules("WFC3"))
    assert any("PHTFLAM1" in line for line in kr.rule_specs)
    prim = sets[0].primary.copy()
    kr.add_rules_kws(prim)
    assert prim["RULEFILE"] == "acs_header.rules" and "ACS" in repr(kr)


# -- blendheaders on a product ------------------------------------------------------------------
@pytest.fixture
def product(acs_files, tmp_path):
    chips = [f"{p.name}[sci,{v}]" for p in acs_files for v in (1, 2)]
    return T.drizzle_product(chips, tmp_path / "final_drz.fits")


def test_extract_filenames_from_drz(product):
    names = extract_filenames_from_drz(product)
    assert len(names) == 8 and names[0].endswith("_flt.fits[sci,1]")


def test_blendheaders_in_place(product, monkeypatch):
    monkeypatch.chdir(product.parent.parent)  # inputs found next to the product
    data_before = fits.getdata(product, "SCI").copy()
    out = blendheaders(product)
    assert out == product
    with fits.open(product) as hdul:
        hdul.verify("exception")
        assert [h.name for h in hdul] == ["PRIMARY", "SCI", "WHT", "CTX", "HDRTAB"]
        p, s, w = hdul[0].header, hdul[1].header, hdul[2].header
        assert p["NEXTEND"] == 4 and p["EXTEND"] is True
        assert p["EXPTIME"] == 2028.0 and p["ROOTNAME"] == "final"  # product's own values
        assert p["D008DATA"].endswith("[sci,2]") and p["NDRIZIM"] == 8
        assert p["FILTER1"] == "F606W" and p["PROPOSID"] == 9443  # blended values
        assert p["RULEFILE"] == "acs_header.rules"
        assert list(p.keys())[:4] == ["SIMPLE", "BITPIX", "NAXIS", "EXTEND"]
        assert list(s.keys())[:8] == ["XTENSION", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2",
                                      "PCOUNT", "GCOUNT", "EXTNAME"]
        assert s["CRVAL1"] == 6.0223 and s["WCSNAME"] == "DRZWCS"  # product WCS kept
        assert s["CTYPE1"] == "RA---TAN" and "A_2_0" not in s and "IDCSCALE" not in s
        assert s["BUNIT"] == "ELECTRONS/S" and s["NCOMBINE"] == 8
        assert s["PHOTFLAM"] == pytest.approx(7.8117e-20)
        assert w["BUNIT"] == "UNITLESS"
        np.testing.assert_array_equal(hdul["SCI"].data, data_before)
        tab = hdul["HDRTAB"].data
        assert len(tab) == 8 and "CRVAL1" in tab.columns.names
    # a second run replaces HDRTAB and the rules summary instead of adding more
    blendheaders(product)
    with fits.open(product) as hdul:
        assert [h.name for h in hdul].count("HDRTAB") == 1
        history = [str(v) for v in hdul[0].header["HISTORY"]]
        assert history[0] == "drizzled with drizzlepac-ng (simulated)"
        assert sum(h.startswith("Header blending rules") for h in history) == 1


def test_blendheaders_output_leaves_product_untouched(product, tmp_path):
    before = sha(product)
    inputs = [str(tmp_path / n) for n in extract_filenames_from_drz(product)]
    out = blendheaders(product, inputs=inputs[:4], output=tmp_path / "copy_drz.fits")
    assert sha(product) == before
    with fits.open(out) as hdul:
        assert len(hdul["HDRTAB"].data) == 4


def test_blendheaders_read_only_product_is_unchanged(product, tmp_path):
    before = sha(product)
    os.chmod(product, stat.S_IRUSR)
    try:
        if os.access(product, os.W_OK):
            pytest.skip("running as a user who can write read-only files")
        with pytest.raises(FileUpdateError, match="read-only"):
            blendheaders(product)
    finally:
        os.chmod(product, stat.S_IRUSR | stat.S_IWUSR)
    assert sha(product) == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_blendheaders_failure_leaves_product_identical(product, tmp_path):
    before = sha(product)
    bad = tmp_path / "bad.rules"
    bad.write_text("EXPTIME T nosuch\n")
    with pytest.raises(RulesSyntaxError):
        blendheaders(product, rules_file=bad)
    with pytest.raises(InputFileError):
        blendheaders(product, inputs=[str(tmp_path / "gone.fits")])
    assert sha(product) == before


def test_blendheaders_without_recorded_inputs(tmp_path):
    path = tmp_path / "x_drz.fits"
    fits.PrimaryHDU(np.zeros((3, 3), np.float32)).writeto(path)
    with pytest.raises(InputFileError, match="DnnnDATA"):
        blendheaders(path)
    with pytest.raises(InputFileError, match="does not exist"):
        blendheaders(tmp_path / "none_drz.fits")


def test_blendheaders_simple_fits_product(acs_files, tmp_path):
    path = tmp_path / "single_sci.fits"
    hdu = fits.PrimaryHDU(np.ones((4, 5), np.float32))
    hdu.header["CRVAL1"] = 1.0
    hdu.header["D001DATA"] = f"{acs_files[0].name}[sci,1]"
    hdu.writeto(path)
    blendheaders(path, inputs=[f"{acs_files[0]}[sci,1]"])
    with fits.open(path) as hdul:
        hdul.verify("exception")
        assert [h.name for h in hdul] == ["PRIMARY", "HDRTAB"]
        p = hdul[0].header
        assert p["NAXIS"] == 2 and p["EXTEND"] is True and p["CRVAL1"] == 1.0
        assert "PHOTFLAM" in p and "EXPTIME" in p
        np.testing.assert_array_equal(hdul[0].data, np.ones((4, 5)))


def test_blendheaders_scaled_integer_data_preserved(acs_files, tmp_path):
    path = tmp_path / "int_drz.fits"
    prim = fits.PrimaryHDU()
    prim.header["D001DATA"] = f"{acs_files[0].name}[sci,1]"
    sci = fits.ImageHDU(np.arange(6, dtype=np.int16).reshape(2, 3), name="SCI")
    sci.header["BSCALE"] = 2.0
    sci.header["BZERO"] = 10.0
    fits.HDUList([prim, sci]).writeto(path)
    before = fits.getdata(path, "SCI").copy()
    blendheaders(path, inputs=[f"{acs_files[0]}[sci,1]"])
    np.testing.assert_array_equal(fits.getdata(path, "SCI"), before)


# -- missions and eras ------------------------------------------------------------------------
MISSIONS = {
    "WFPC2": lambda i: T.wfpc2_geis_exposure(i),
    "NICMOS": lambda i: T.nicmos_exposure(i),
    "STIS": lambda i: T.stis_exposure(i, nimsets=2),
    "WFC3": lambda i: T.wfc3_uvis_exposure(i),
    "ACS": lambda i: T.acs_wfc_exposure(i),
}


def _sets(hduls):
    sets = []
    for hdul in hduls:
        for hdu in hdul[1:]:
            if hdu.name == "SCI":
                sets.append(HeaderSet(hdul[0].header, hdu.header))
    return sets


@pytest.mark.parametrize("inst", list(MISSIONS))
@pytest.mark.parametrize("which", ["instrument", "generic"])
def test_missions_blend_with_instrument_and_generic_rules(inst, which):
    from fitsblender_ng.rules import default_rules_path

    hduls = [MISSIONS[inst](i) for i in range(3)]
    sets = _sets(hduls)
    rules = None if which == "instrument" else default_rules_path("hst_header.rules")
    (prim, sci, err, dq), tab = get_blended_headers(sets, rules_file=rules)
    assert len(tab.data) == len(sets)
    expected = f"{inst.lower()}_header.rules" if which == "instrument" else "hst_header.rules"
    assert prim["RULEFILE"] == expected
    assert prim["INSTRUME"] == inst
    for hdr in (prim, sci, err, dq):
        for card in hdr.cards:
            card.verify("exception")
    fits.HDUList([fits.PrimaryHDU(header=prim), fits.ImageHDU(header=sci), tab]).verify(
        "exception")
    assert "ROOTNAME" in tab.columns.names


def test_wfpc2_geis_values():
    sets = _sets([T.wfpc2_geis_exposure(i) for i in range(2)])
    (prim, sci, *_), tab = get_blended_headers(sets)
    assert list(tab.data["DETECTOR"]) == [1, 2, 3, 4] * 2
    assert sci["DETECTOR"] == "MULTIPLE"
    assert sci["DATAMIN"] == -9.0 and sci["DATAMAX"] == 3804.0
    assert sci["GPIXELS"] == 2 * sum(640000 - 100 * d for d in (1, 2, 3, 4))
    assert prim["DATE-OBS"] == "14/07/98" and prim["EXPTIME"] == 800.0
    assert prim["FILTNAM1"] == "F555W"


def test_nicmos_photometry_in_primary_and_missing_expend():
    sets = _sets([T.nicmos_exposure(i) for i in range(3)])
    (prim, sci, *_), tab = get_blended_headers(sets)
    assert prim["PHOTFLAM"] == pytest.approx(2.36e-19) and prim["CAMERA"] == 2
    assert "EXPEND" not in prim and prim["EXPTIME"] == pytest.approx(3 * 255.9)
    assert "EXPEND" not in tab.columns.names


def test_mixed_instruments_merge_rules():
    sets = _sets([T.acs_wfc_exposure(0), T.wfpc2_geis_exposure(0), T.nicmos_exposure(0)])
    (prim, sci, *_), tab = get_blended_headers(sets)
    assert prim["INSTRUME"] == "MULTIPLE"
    assert prim["RULEFILE"] == "acs_header.rules,wfpc2_header.rules,nicmos_header.rules"
    assert len(tab.data) == 2 + 4 + 1
    # ACS has DETECTOR in its PRIMARY header, WFPC2 per chip (an integer), NICMOS none
    assert list(tab.data["DETECTOR"]) == ["WFC", "WFC", "1", "2", "3", "4", INDEF]
    col = tab.data["CAMERA"]
    assert math.isnan(col[0]) and col[-1] == 2


def test_unknown_instrument_uses_generic(caplog):
    hdr = fits.Header([("TELESCOP", "EUVE"), ("INSTRUME", "DS/S"), ("EXPOSURE", 100.0),
                       ("ROOTNAME", "a")])
    hdr2 = fits.Header([("TELESCOP", "EUVE"), ("INSTRUME", "DS/S"), ("EXPOSURE", 50.0),
                        ("ROOTNAME", "b")])
    (prim, *_), tab = get_blended_headers([hdr, hdr2])
    assert prim["RULEFILE"] == "hst_header.rules" and prim["EXPOSURE"] == 150.0


# -- CLI ---------------------------------------------------------------------------------------
def test_cli_rules_and_blend(product, tmp_path, capsys, monkeypatch):
    assert main(["rules", "wfpc2"]) == 0
    assert capsys.readouterr().out.strip().endswith("wfpc2_header.rules")
    assert main(["rules", "STIS", "--show"]) == 0
    assert "!INSTRUMENT = STIS" in capsys.readouterr().out
    bad = tmp_path / "bad.rules"
    bad.write_text("!VERSION = x\n")
    assert main(["rules", "--check", str(bad)]) == 1
    assert main(["rules", "--check", str(T.__file__).replace("testing.py",
                                                            "rules/acs_header.rules")]) == 0
    assert "instrument ACS" in capsys.readouterr().out
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "cli_drz.fits"
    assert main(["-q", "blend", str(product), "--output", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert len(fits.getdata(out, "HDRTAB")) == 8
    assert main(["-q", "blend", str(tmp_path / "nothing.fits")]) == 1


def test_output_into_missing_directory(product, tmp_path):
    with pytest.raises(FileUpdateError, match="directory does not exist"):
        blendheaders(product, output=tmp_path / "no" / "such" / "x.fits")


def test_write_failure_leaves_product_and_no_temp_file(product, tmp_path, monkeypatch):
    before = sha(product)

    def broken(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(fits.HDUList, "writeto", broken)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileUpdateError, match="disk full"):
        blendheaders(product)
    assert sha(product) == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_read_only_check_without_root_privileges(product, monkeypatch):
    """The read-only path, simulated so that it also runs as root (who may write anyway)."""
    from fitsblender_ng import _fileio

    before = sha(product)
    real_access = os.access

    def access(path, mode):
        if mode == os.W_OK and str(path) == str(product):
            return False
        return real_access(path, mode)

    monkeypatch.setattr(_fileio.os, "access", access)
    with pytest.raises(FileUpdateError, match="read-only") as info:
        blendheaders(product)
    assert info.value.filename == str(product)
    assert sha(product) == before


# -- truncated files (blendheaders reads headers only, so it checks sizes) ------------------
def _cut(path, size):
    data = path.read_bytes()
    path.write_bytes(data[:size])


@pytest.mark.parametrize("where", ["mid_data", "block", "last_pad", "header", "next_header"])
def test_check_complete_refuses_truncated_files(tmp_path, where):
    from fitsblender_ng.blendheaders import check_complete

    path = tmp_path / "big_flt.fits"
    rng = np.random.default_rng(3)
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(rng.random((60, 50)), name="SCI"),
                  fits.ImageHDU(np.zeros((60, 50), np.int16), name="DQ")]).writeto(path)
    assert check_complete(path) == path
    size = path.stat().st_size
    with fits.open(path) as hdul:
        sci, dq = hdul.fileinfo(1), hdul.fileinfo(2)
    cut = {"mid_data": sci["datLoc"] + 5000 + 17,
           "block": sci["datLoc"] + 2 * 2880,  # a block boundary inside SCI's data
           "last_pad": size - 100,
           "header": sci["hdrLoc"] + 80 * 3,
           "next_header": dq["hdrLoc"] + 3}[where]
    assert cut < size
    _cut(path, cut)
    with pytest.raises(InputFileError, match="truncated") as err:
        check_complete(path)
    assert path.name in str(err.value)


def test_check_complete_other_problems(tmp_path):
    from fitsblender_ng._fileio import incomplete_reason
    from fitsblender_ng.blendheaders import check_complete

    empty = tmp_path / "empty.fits"
    empty.write_bytes(b"")
    assert "empty" in incomplete_reason(empty)
    text = tmp_path / "text.fits"
    text.write_text("not FITS\n" * 400)
    assert "not a FITS file" in incomplete_reason(text)
    with pytest.raises(InputFileError, match="does not exist"):
        check_complete(tmp_path / "none.fits")
    # a complete file with trailing bytes after its last HDU is accepted (as FITS readers do)
    ok = tmp_path / "ok.fits"
    fits.HDUList([fits.PrimaryHDU(np.arange(7, dtype=np.int16)),
                  fits.BinTableHDU.from_columns([fits.Column("A", "J", array=[1, 2, 3])])]
                 ).writeto(ok)
    assert incomplete_reason(ok) is None
    ok.write_bytes(ok.read_bytes() + b"\0" * 2880)
    assert incomplete_reason(ok) is None
    # the declared size counts PCOUNT (heap) and GCOUNT
    heap = tmp_path / "heap.fits"
    col = fits.Column("V", "PJ()", array=[np.arange(500), np.arange(900)])
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns([col])]).writeto(heap)
    assert fits.getheader(heap, 1)["PCOUNT"] > 0 and incomplete_reason(heap) is None
    _cut(heap, heap.stat().st_size - 2880)
    assert "HDU 1" in incomplete_reason(heap)


def test_blendheaders_refuses_truncated_input_and_product(product, tmp_path):
    inputs = [str(tmp_path / n) for n in extract_filenames_from_drz(product)]
    victim = tmp_path / extract_filenames_from_drz(product)[0].split("[")[0]
    before = sha(product)
    _cut(victim, victim.stat().st_size * 6 // 10)
    with pytest.raises(InputFileError, match="truncated") as err:
        blendheaders(product, inputs=inputs)
    assert victim.name in str(err.value) and sha(product) == before
    with pytest.raises(InputFileError, match="truncated"):
        get_blended_headers(inputs)
    _cut(product, product.stat().st_size // 2 + 3)
    before = sha(product)
    with pytest.raises(InputFileError, match="drizzled product .*truncated") as err:
        blendheaders(product, inputs=inputs[2:])
    assert product.name in str(err.value) and sha(product) == before
    assert not [p for p in product.parent.iterdir() if p.name.endswith(".tmp")]
