"""Tests of stwcs_ng.wcsutil.altwcs (alternate WCS keys ' ', A-Z)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from astropy.io import fits

from stwcs_ng.errors import InputFileError, MissingExtensionError, WCSKeyError
from stwcs_ng.wcsutil import altwcs
from stwcs_ng.wcsutil.altwcs import ArchiveMode

LINEAR = ["CRPIX1", "CRPIX2", "CRVAL1", "CRVAL2", "CD1_1", "CD1_2", "CD2_1", "CD2_2"]


@pytest.fixture
def header(acs_header):
    h = acs_header()
    h["WCSTYPE"] = "distorted a priori"
    h["RMS_RA"] = 5.5
    h["HDRNAME"] = "j8bt06nyq_hlet"
    return h


def test_keys_and_names(header):
    assert altwcs.wcskeys(header) == [" "]
    assert altwcs.wcsnames(header) == {" ": "IDC_qbu1641sj"}
    assert altwcs.wcsnames(header, include_primary=False) == {}
    assert altwcs.available_wcskeys(header)[0] == "A"
    assert len(altwcs.available_wcskeys(header)) == 26
    assert altwcs.next_wcskey(header) == "A"


def test_archive_copies_linear_wcs_and_stwcs_keywords(header):
    key, name = altwcs.archive_header_wcs(header)
    assert (key, name) == ("A", "IDC_qbu1641sj")
    for kw in LINEAR:
        assert header[kw + "A"] == header[kw]
    assert header["WCSNAMEA"] == "IDC_qbu1641sj"
    assert header["RADESYSA"] == "ICRS"  # 8 characters
    assert header["WCSTYPEA"] == "distorted a priori"
    assert header["RMS_RAA"] == 5.5
    assert header["HDRNAMEA"] == "j8bt06nyq_hlet"
    assert header["CTYPE1A"] == "RA---TAN-SIP"
    # distortion keywords are shared, never archived
    assert not any(k.startswith(("A_0_2A", "CPDIS1A", "D2IMDIS1A")) for k in header)
    assert all(len(k) <= 8 for k in header.keys() if "." not in k)
    assert altwcs.wcskeys(header) == [" ", "A"]
    assert altwcs.next_wcskey(header) == "B"


def test_next_key_skips_reserved_o(header):
    for letter in "ABCDEFGHIJKLMN":
        header["WCSNAME" + letter] = "X" + letter
    assert altwcs.next_wcskey(header) == "P"
    assert "O" in altwcs.available_wcskeys(header)


def test_archive_converts_pc_to_cd(header):
    cd = np.array([[header[f"CD{i}_{j}"] for j in (1, 2)] for i in (1, 2)])
    for i in (1, 2):
        for j in (1, 2):
            del header[f"CD{i}_{j}"]
    cdelt = np.array([2.0e-5, -3.0e-5])
    pc = cd / cdelt[:, None]
    for i in (1, 2):
        header[f"CDELT{i}"] = cdelt[i - 1]
        for j in (1, 2):
            header[f"PC{i}_{j}"] = pc[i - 1, j - 1]
    altwcs.archive_header_wcs(header, "B", "PCFORM")
    got = np.array([[header[f"CD{i}_{j}B"] for j in (1, 2)] for i in (1, 2)])
    np.testing.assert_allclose(got, cd, rtol=1e-14)
    assert "PC1_1B" not in header and "CDELT1B" not in header
    altwcs.pc2cd(header)
    np.testing.assert_allclose(altwcs.cd_matrix(header), cd, rtol=1e-14)
    assert "PC1_1" not in header and "CDELT1" not in header


def test_conflicts_and_modes(header, caplog):
    altwcs.archive_header_wcs(header, "A", "TWEAK")
    header["CRVAL1"] = header["CRVAL1"] + 1e-4  # primary differs now
    with pytest.raises(WCSKeyError) as err:
        altwcs.archive_header_wcs(header, "A", "OTHER")
    assert isinstance(err.value, KeyError)
    with pytest.raises(WCSKeyError):
        altwcs.archive_header_wcs(header, None, "TWEAK")  # name used by a different WCS
    assert altwcs.archive_header_wcs(header, None, "TWEAK", ArchiveMode.AUTO_RENAME) == \
        ("B", "TWEAK-1")
    header["CRVAL1"] = header["CRVAL1"] + 1e-4
    assert altwcs.archive_header_wcs(header, None, "tweak", ArchiveMode.AUTO_RENAME) == \
        ("C", "tweak-2")
    with caplog.at_level(logging.WARNING, logger="stwcs_ng"):
        assert altwcs.archive_header_wcs(header, "A", "NEW", ArchiveMode.QUIET_ABORT) == \
            (None, None)
    assert "already used" in caplog.text
    assert header["WCSNAMEA"] == "TWEAK"
    assert altwcs.archive_header_wcs(header, "A", "NEW", ArchiveMode.OVERWRITE_KEY) == \
        ("A", "NEW")
    assert header["WCSNAMEA"] == "NEW"
    assert header["CRVAL1A"] == header["CRVAL1"]
    assert list(header.keys()).count("CRVAL1A") == 1


def test_identical_wcs_with_same_name_reuses_key(header):
    assert altwcs.archive_header_wcs(header, None, "SAME") == ("A", "SAME")
    n = len(header)
    assert altwcs.archive_header_wcs(header, None, "SAME") == ("A", "SAME")
    assert len(header) == n


def test_blank_name_gets_archived_wcs(header):
    del header["WCSNAME"]
    assert altwcs.archive_header_wcs(header) == ("A", "ARCHIVED_WCS")
    header["CRPIX1"] += 1
    assert altwcs.archive_header_wcs(header) == ("B", "ARCHIVED_WCS-1")


def test_opus_key_is_not_archived_twice(header):
    assert altwcs.archive_header_wcs(header, "O", "OPUS") == ("O", "OPUS")
    header["CRVAL2"] += 1e-3
    assert altwcs.archive_header_wcs(header, "O", "OPUS") == (None, None)
    assert header["CRVAL2O"] != header["CRVAL2"]
    assert altwcs.archive_header_wcs(header, "O", "OPUS", ArchiveMode.OVERWRITE_KEY) == \
        ("O", "OPUS")
    assert header["CRVAL2O"] == header["CRVAL2"]


def test_invalid_keys(header):
    with pytest.raises(WCSKeyError):
        altwcs.archive_header_wcs(header, "AB")
    with pytest.raises(WCSKeyError):
        altwcs.archive_header_wcs(header, "1")
    bare = fits.Header({"NAXIS": 2})
    with pytest.raises(WCSKeyError):
        altwcs.archive_header_wcs(bare)


def test_restore(header):
    original = {kw: header[kw] for kw in LINEAR}
    altwcs.archive_header_wcs(header, "A", "ORIG")
    header["CRVAL1"] = 10.0
    header["CD1_1"] = 1e-5
    header["WCSNAME"] = "CHANGED"
    header["RMS_RA"] = 99.0
    key = altwcs.restore_header_wcs(header, wcsname="orig")
    assert key == "A"
    for kw, value in original.items():
        assert header[kw] == value
    assert header["WCSNAME"] == "ORIG"
    assert header["RMS_RA"] == 5.5
    with pytest.raises(WCSKeyError):
        altwcs.restore_header_wcs(header, "Z")
    with pytest.raises(WCSKeyError):
        altwcs.restore_header_wcs(header, wcsname="nope")


def test_restore_sets_sip_suffix_from_shared_distortion(header):
    header["WCSNAMEO"] = "OPUS"
    for kw in LINEAR:
        header[kw + "O"] = header[kw]
    header["CTYPE1O"] = "RA---TAN"
    header["CTYPE2O"] = "DEC--TAN"
    header["CDELT1"] = 1.0  # stale PC form in the primary is removed
    header["PC1_1"] = 1.0
    altwcs.restore_header_wcs(header, "O")
    assert header["CTYPE1"] == "RA---TAN-SIP"
    assert "PC1_1" not in header and "CDELT1" not in header
    for kw in [k for k in header if k.startswith("A_")]:
        del header[kw]
    for kw in [k for k in header if k.startswith("B_")]:
        del header[kw]
    header["CTYPE1O"] = "RA---TAN-SIP"
    altwcs.restore_header_wcs(header, "O")
    assert header["CTYPE1"] == "RA---TAN"


def test_delete(header):
    altwcs.archive_header_wcs(header, "C", "CC")
    assert altwcs.delete_header_wcs(header, wcsname="cc")
    assert altwcs.wcskeys(header) == [" "]
    assert not any(k.endswith("C") and k[:-1] in ("CRVAL1", "WCSNAME", "HDRNAME", "RMS_RA")
                   for k in header)
    with pytest.raises(WCSKeyError):
        altwcs.delete_header_wcs(header, "C")
    with pytest.raises(WCSKeyError):
        altwcs.delete_header_wcs(header, " ")
    altwcs.archive_header_wcs(header, "O", "OPUS")
    assert altwcs.delete_header_wcs(header, "O") is False
    assert "O" in altwcs.wcskeys(header)


def test_get_key_from_name_and_wcs_from_key(header):
    altwcs.archive_header_wcs(header, "B", "DUP")
    header["CRPIX1"] += 1
    altwcs.archive_header_wcs(header, "D", "dup2")
    header["WCSNAMED"] = "Dup"
    assert altwcs.getKeyFromName(header, "dup") == "D"
    assert altwcs.getKeyFromName(header, "missing") is None
    h = altwcs.wcs_from_key(header, "B", "E")
    assert all(k.endswith("E") for k in h)
    assert h["CRPIX1E"] == header["CRPIX1B"]
    h2 = altwcs.wcs_from_key(header, from_key="B")
    assert h2["WCSNAMEB"] == "DUP"


def test_unique_wcsname(header):
    header["WCSNAMEA"] = "FIT"
    header["WCSNAMEB"] = "FIT-1"
    header["WCSNAMEC"] = "RUN_3"
    assert altwcs.unique_wcsname(header, "FIT") == "FIT-2"
    assert altwcs.unique_wcsname(header, "RUN_3") == "RUN_4"
    assert altwcs.unique_wcsname(header, "NEW") == "NEW"


def test_exclude_hst_specific(header):
    header["LONPOLE"] = 180.0
    header["EQUINOXA"] = 2000.0
    altwcs.exclude_hst_specific(header)
    altwcs.exclude_hst_specific(header, "A")
    assert "LONPOLE" not in header and "EQUINOXA" not in header


# ---- file level ------------------------------------------------------------------

def _write(hdul, tmp_path, name="j8bt06nyq_flc.fits"):
    path = tmp_path / name
    hdul.writeto(path)
    return path


def test_file_archive_restore_delete(acs_hdulist, tmp_path):
    path = _write(acs_hdulist(), tmp_path)
    assert altwcs.archive_wcs(str(path), wcsname="FIRST") == ("A", "FIRST")
    assert altwcs.wcskeys(str(path), ("SCI", 2)) == [" ", "A"]
    assert altwcs.wcsnames(str(path) + "[sci,1]") == {" ": "IDC_qbu1641sj", "A": "FIRST"}
    with fits.open(path, mode="update") as h:
        h["SCI", 1].header["CRVAL1"] = 1.0
    altwcs.restoreWCS(str(path), "sci,1", wcskey="A")
    with fits.open(path) as h:
        assert h["SCI", 1].header["CRVAL1"] == h["SCI", 1].header["CRVAL1A"]
    altwcs.deleteWCS(str(path), None, wcsname="FIRST")
    with fits.open(path) as h:
        for v in (1, 2):
            assert altwcs.wcskeys(h[("SCI", v)].header) == [" "]


def test_file_errors_leave_file_identical(acs_hdulist, tmp_path):
    path = _write(acs_hdulist(), tmp_path)
    altwcs.archive_wcs(str(path), wcskey="B", wcsname="B1")
    before = path.read_bytes()
    with pytest.raises(WCSKeyError):
        altwcs.archive_wcs(str(path), wcskey="B", wcsname="B2")
    with pytest.raises(WCSKeyError):
        altwcs.deleteWCS(str(path), wcskey="Q")
    with pytest.raises(WCSKeyError):
        altwcs.restoreWCS(str(path), wcsname="nothing")
    with pytest.raises(MissingExtensionError):
        altwcs.archive_wcs(str(path), ("SCI", 9))
    assert path.read_bytes() == before
    bad = tmp_path / "notfits.fits"
    bad.write_bytes(b"hello" * 700)
    with pytest.raises(InputFileError):
        altwcs.archive_wcs(str(bad))
    assert bad.read_bytes() == b"hello" * 700


def test_hdulist_is_modified_in_memory(acs_hdulist):
    hdul = acs_hdulist()
    assert altwcs.archive_wcs(hdul, [("SCI", 1), ("SCI", 2)], "C", "MEM") == ("C", "MEM")
    assert hdul["SCI", 2].header["WCSNAMEC"] == "MEM"
    assert altwcs.next_wcskey(hdul, ("SCI", 1)) == "A"
    assert altwcs.available_wcskeys(hdul, 1)[:2] == ["A", "B"]


def test_restore_from_to(acs_hdulist):
    hdul = acs_hdulist()
    altwcs.archive_wcs(hdul, None, "A", "SAVED")
    altwcs.restore_from_to(hdul, fromext="SCI", toext=["ERR", "DQ"], wcskey="A")
    for v in (1, 2):
        for name in ("ERR", "DQ"):
            h = hdul[name, v].header
            assert h["CRVAL1"] == hdul["SCI", v].header["CRVAL1A"]
            assert h["WCSNAME"] == "SAVED"
    with pytest.raises(WCSKeyError):
        altwcs.restore_from_to(hdul, fromext="SCI", toext="ERR", wcskey="K")


def test_map_ext(acs_hdulist):
    hdul = acs_hdulist(nchips=2)
    assert altwcs.mapFitsExt2HDUListInd(hdul, "sci") == {("SCI", 1): 1, ("SCI", 2): 4}


@pytest.mark.hstdata
def test_real_flc_names_and_archive_keeps_headerlets(wfc3_flc, copy_to_tmp):
    names = altwcs.wcsnames(str(wfc3_flc), ("SCI", 1))
    assert names["O"] == "OPUS"
    assert names[" "].startswith("IDC_")
    path = copy_to_tmp(wfc3_flc)
    with fits.open(path) as h:
        hdrlets = [bytes(hdu.data.tobytes()) for hdu in h if hdu.name == "HDRLET"]
    key, _ = altwcs.archive_wcs(str(path), wcsname="MY_TEST")
    assert key == altwcs.next_wcskey(str(wfc3_flc), ("SCI", 1))
    with fits.open(path) as h:
        after = [bytes(hdu.data.tobytes()) for hdu in h if hdu.name == "HDRLET"]
        assert h["SCI", 2].header["WCSNAME" + key] == "MY_TEST"
    assert after == hdrlets and len(after) > 0
    assert wfc3_flc.read_bytes() != path.read_bytes()
