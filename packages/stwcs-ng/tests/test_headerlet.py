"""Headerlets on synthetic SIP + NPOL + D2IM exposures: round trips, file layout, bad input."""

from __future__ import annotations

import hashlib
import io
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

from stwcs_ng.errors import FileUpdateError, HeaderletError, MissingExtensionError, WCSKeyError
from stwcs_ng.wcsutil import altwcs, headerlet
from stwcs_ng.wcsutil._hdrlet_hdu import HeaderletHDU, hdrlet_bytes
from stwcs_ng.wcsutil.headerlet import (
    Headerlet,
    apply_headerlet_as_alternate,
    apply_headerlet_as_primary,
    archive_as_headerlet,
    attach_headerlet,
    create_headerlet,
    delete_headerlet,
    extract_headerlet,
    find_headerlet_HDUs,
    get_headerlet_kw_names,
    headerlet_summary,
    restore_all_with_distname,
    restore_from_headerlet,
    write_headerlet,
)

SHAPE = (16, 32)  # (ny, nx) of each chip
_X, _Y = np.meshgrid(np.linspace(1, SHAPE[1], 5), np.linspace(1, SHAPE[0], 4))


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _fill(hdul: fits.HDUList, seed: int) -> fits.HDUList:
    rng = np.random.default_rng(seed)
    for hdu in hdul[1:]:
        name = hdu.header.get("EXTNAME")
        if name in ("SCI", "ERR"):
            hdu.data = rng.normal(10, 3, SHAPE).astype(np.float32)
        elif name == "DQ":
            hdu.data = rng.integers(0, 512, SHAPE).astype(np.int16)
    hdul[0].header["SIPNAME"] = "j8bt06nyq_qbu1641sj"
    hdul[0].header["DISTNAME"] = "j8bt06nyq_qbu1641sj-02c1450rj-02c1450oj"
    return hdul


@pytest.fixture
def science(tmp_path, acs_hdulist):
    """A 2-chip ACS-like exposure file with SIP, NPOL and D2IM."""
    path = tmp_path / "j8bt06nyq_flt.fits"
    _fill(acs_hdulist(nchips=2, shape=SHAPE), 1).writeto(path)
    return path


@pytest.fixture
def other_model(tmp_path, acs_hdulist):
    """The same exposure with a different NPOL model (file name and tables)."""
    hdul = _fill(acs_hdulist(nchips=2, shape=SHAPE), 1)
    hdul[0].header["NPOLFILE"] = "jref$zzzz999zj_npl.fits"
    hdul[0].header["DISTNAME"] = "j8bt06nyq_qbu1641sj-zzzz999zj-02c1450oj"
    for hdu in hdul:
        if hdu.header.get("EXTNAME") == "WCSDVARR":
            hdu.data = (hdu.data * -2.0 + 0.01).astype(np.float32)
    for v in (1, 2):
        hdul["SCI", v].header["CRVAL1"] += 2e-4
        hdul["SCI", v].header["WCSNAME"] = "OTHER_MODEL"
    path = tmp_path / "other" / "j8bt06nyq_flt.fits"
    path.parent.mkdir()
    hdul.writeto(path)
    return path


def sky(source, extver: int) -> np.ndarray:
    """Sky positions of a grid of pixels of chip ``extver`` (full distortion)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        if isinstance(source, Headerlet):
            w = source.wcs(extver)
            return np.array(w.all_pix2world(_X, _Y, 1))
        try:
            from stwcs_ng.wcsutil.hstwcs import HSTWCS
        except ImportError:  # pragma: no cover
            HSTWCS = None
        with fits.open(source) as hdul:
            if HSTWCS is not None:
                w = HSTWCS(hdul, ext=("SCI", extver))
            else:  # pragma: no cover
                w = WCS(hdul["SCI", extver].header, hdul)
            return np.array(w.all_pix2world(_X, _Y, 1))


def pixels(path) -> dict[str, bytes]:
    with fits.open(path) as hdul:
        return {f"{h.name},{h.ver}": h.data.tobytes() for h in hdul
                if h.name in ("SCI", "ERR", "DQ")}


def assert_sky_close(a, b, tol=1e-9):
    assert np.max(np.abs(np.asarray(a) - np.asarray(b))) < tol


# ----------------------------------------------------------------------------
# the Headerlet object and file layout


def test_create_headerlet_layout(science):
    hl = create_headerlet(str(science), hdrname="pipeline", author="me", descrip="test")
    p = hl[0].header
    assert p["DESTIM"] == "j8bt06nyq"
    assert p["HDRNAME"] == "pipeline"
    assert p["WCSNAME"] == "IDC_qbu1641sj"
    assert p["DISTNAME"] == "j8bt06nyq_qbu1641sj-02c1450rj-02c1450oj"
    for kw in ("SIPNAME", "NPOLFILE", "D2IMFILE", "IDCTAB", "AUTHOR", "DESCRIP", "RMS_RA",
               "RMS_DEC", "NMATCH", "CATALOG", "UPWCSVER", "PYWCSVER", "DATE"):
        assert kw in p
    names = [(h.name, h.ver) for h in hl[1:]]
    assert names == [("SIPWCS", 1), ("WCSDVARR", 1), ("WCSDVARR", 2), ("D2IMARR", 1),
                     ("D2IMARR", 2), ("SIPWCS", 2), ("WCSDVARR", 3), ("WCSDVARR", 4),
                     ("D2IMARR", 3), ("D2IMARR", 4)]
    s = hl["SIPWCS", 2].header
    assert s["TG_ENAME"] == "SCI" and s["TG_EVER"] == 2
    assert s["DP1.EXTVER"] == 3 and s["D2IM2.EXTVER"] == 4
    assert "A_ORDER" in s and "CD1_1" in s and "ORIENTAT" in s
    # the headerlet alone gives the file's sky positions
    for v in (1, 2):
        assert_sky_close(sky(hl, v), sky(science, v), 1e-12)


def test_record_cards_on_disk(science, tmp_path):
    out = tmp_path / "h.fits"
    create_headerlet(str(science)).tofile(out)
    raw = out.read_bytes()
    assert b"DP1     = 'EXTVER: 1'" in raw
    assert b"D2IM2   = 'AXIS.2: 2'" in raw


def test_create_from_alternate_and_key_name_checks(science):
    altwcs.archive_wcs(str(science), None, wcskey="B", wcsname="SAVED")
    hl = create_headerlet(str(science), wcskey="B")
    assert hl.wcsname == "SAVED" and hl.hdrname == "SAVED"
    hl2 = create_headerlet(str(science), wcskey=None, wcsname="SAVED")
    assert hl2.wcsname == "SAVED"
    with pytest.raises(WCSKeyError):
        create_headerlet(str(science), wcskey="B", wcsname="NOT_B")
    with pytest.raises(WCSKeyError):
        create_headerlet(str(science), wcskey="Q")


def test_hdrlet_hdu_layout_and_copy(science):
    hl = create_headerlet(str(science), hdrname="h1")
    hdu = hl.to_hdu(extver=3)
    h = hdu.header
    assert list(h.keys())[:6] == ["XTENSION", "BITPIX", "NAXIS", "NAXIS1", "PCOUNT", "GCOUNT"]
    assert h["XTENSION"] == "HDRLET" and h["EXTNAME"] == "HDRLET" and h["EXTVER"] == 3
    assert h["COMPRESS"] is False and h["XIND1"] == 2880
    assert [h[k] for k in ("HDRNAME", "WCSNAME", "DISTNAME")] == [
        "h1", "IDC_qbu1641sj", "j8bt06nyq_qbu1641sj-02c1450rj-02c1450oj"]
    raw = hdrlet_bytes(hdu)
    assert len(raw) == h["NAXIS1"] and len(raw) % 2880 == 0
    with fits.open(io.BytesIO(raw)) as emb:  # XINDn are the real offsets
        assert [emb.fileinfo(i)["hdrLoc"] for i in range(1, len(emb))] == [
            h[f"XIND{i}"] for i in range(1, len(emb))]
    copy = hdu.copy()  # astropy's generic class would drop the data here
    assert hdrlet_bytes(copy) == raw
    assert Headerlet.fromhdu(copy).hdrname == "h1"


def test_compressed_hdrlet_roundtrip(science):
    hl = create_headerlet(str(science), hdrname="gz")
    hdu = HeaderletHDU.fromheaderlet(hl, compress=True)
    assert hdu.header["COMPRESS"] is True
    assert hdrlet_bytes(hdu)[:2] == b"\x1f\x8b"
    back = hdu.headerlet
    for v in (1, 2):
        assert_sky_close(sky(back, v), sky(hl, v), 0.0 + 1e-15)


# ----------------------------------------------------------------------------
# round trip: write -> attach -> delete -> attach -> apply -> restore


def test_round_trip(science, tmp_path, other_model):
    pix0 = pixels(science)
    sky0 = [sky(science, v) for v in (1, 2)]
    # a second solution for the same exposure, from a shifted copy
    with fits.open(science) as hdul:
        shifted = fits.HDUList([h.copy() for h in hdul])
    for v in (1, 2):
        shifted["SCI", v].header["CRVAL2"] += 3e-4
        shifted["SCI", v].header["WCSNAME"] = "TWEAKED"
    tweak = create_headerlet(shifted, hdrname="tweak1", descrip="shifted")
    sky_tweak = [sky(tweak, v) for v in (1, 2)]
    assert np.abs(sky_tweak[0] - sky0[0]).max() > 1e-4

    # write (attaches too) ...
    out = write_headerlet(str(science), "pipeline", output="pipe")
    assert Path(out).name == "j8bt06nyq_flt_pipe_hlet.fits"
    assert get_headerlet_kw_names(str(science)) == ["pipeline"]
    assert find_headerlet_HDUs(str(science), hdrname="pipeline")
    with fits.open(science) as hdul:
        assert "WCSCORR" in hdul and hdul["HDRLET", 1].header["EXTVER"] == 1
    # ... attach another, delete it, attach again
    tweak_file = tmp_path / "tweak_hlet.fits"
    tweak.tofile(tweak_file)
    attach_headerlet(str(science), str(tweak_file))
    assert get_headerlet_kw_names(str(science)) == ["pipeline", "tweak1"]
    assert delete_headerlet(str(science), hdrname="tweak1") == ["tweak1"]
    assert get_headerlet_kw_names(str(science)) == ["pipeline"]
    attach_headerlet(str(science), str(tweak_file))
    with fits.open(science) as hdul:
        vers = [h.header["EXTVER"] for h in hdul if h.name == "HDRLET"]
    assert vers == [1, 2]
    for v in (1, 2):
        assert_sky_close(sky(science, v), sky0[v - 1], 1e-12)
    assert pixels(science) == pix0

    # apply as primary: positions follow the headerlet; the old WCS is archived
    apply_headerlet_as_primary(str(science), str(tweak_file))
    for v in (1, 2):
        assert_sky_close(sky(science, v), sky_tweak[v - 1])
    with fits.open(science) as hdul:
        sci = hdul["SCI", 1].header
        assert sci["HDRNAME"] == "tweak1" and sci["WCSNAME"] == "TWEAKED"
        assert "IDC_qbu1641sj" in altwcs.wcsnames(sci).values()  # archived as alternate
        assert hdul[0].header["NEXTEND"] == len(hdul) - 1
        table = hdul["WCSCORR"]
        ids = [str(s).strip() for s in table.data["WCS_ID"][:table.header["TROWS"]]]
        assert "TWEAKED" in ids
    names = get_headerlet_kw_names(str(science))
    assert names.count("tweak1") == 1  # not attached twice
    # the current primary was already attached as "pipeline": not archived again
    assert names == ["pipeline", "tweak1"]
    assert pixels(science) == pix0

    # restore the pipeline solution
    restore_from_headerlet(str(science), hdrname="pipeline")
    for v in (1, 2):
        assert_sky_close(sky(science, v), sky0[v - 1])
    with fits.open(science) as hdul:
        assert hdul["SCI", 2].header["HDRNAME"] == "pipeline"
    assert pixels(science) == pix0


def test_apply_archives_unsaved_primary(science, tmp_path):
    """A primary WCS that is in no headerlet is attached before being replaced."""
    sky0 = [sky(science, v) for v in (1, 2)]
    with fits.open(science) as hdul:
        shifted = fits.HDUList([h.copy() for h in hdul])
    for v in (1, 2):
        shifted["SCI", v].header["CRPIX1"] += 1.5
    hl = create_headerlet(shifted, hdrname="moved", wcsname="MOVED")
    apply_headerlet_as_primary(str(science), hl)
    assert get_headerlet_kw_names(str(science)) == ["IDC_qbu1641sj", "moved"]
    restore_from_headerlet(str(science), hdrname="IDC_qbu1641sj")
    for v in (1, 2):
        assert_sky_close(sky(science, v), sky0[v - 1])
    # nothing lost: the "moved" WCS is still there to go back to
    restore_from_headerlet(str(science), hdrext=("HDRLET", 2))
    for v in (1, 2):
        assert_sky_close(sky(science, v), sky(hl, v))


def test_apply_other_distortion_replaces_tables(science, other_model):
    sky0 = [sky(science, v) for v in (1, 2)]
    pix0 = pixels(science)
    altwcs.archive_wcs(str(science), None, wcskey="C", wcsname="ALT_C")
    hl = create_headerlet(str(other_model), hdrname="other")
    h0 = sha(science)
    with pytest.raises(HeaderletError, match="distortion"):
        apply_headerlet_as_primary(str(science), hl)
    assert sha(science) == h0
    apply_headerlet_as_primary(str(science), hl, force=True)
    for v in (1, 2):
        assert_sky_close(sky(science, v), sky(hl, v))
        assert_sky_close(sky(science, v), sky(other_model, v))
    with fits.open(science) as hdul:
        assert hdul[0].header["DISTNAME"] == "j8bt06nyq_qbu1641sj-zzzz999zj-02c1450oj"
        assert hdul[0].header["NPOLFILE"] == "jref$zzzz999zj_npl.fits"
        assert len([h for h in hdul if h.name == "WCSDVARR"]) == 4
        # alternates belonged to the old model: attached as headerlets, removed
        assert "C" not in altwcs.wcskeys(hdul["SCI", 1].header)
    names = get_headerlet_kw_names(str(science))
    assert "IDC_qbu1641sj" in names and "ALT_C" in names
    assert pixels(science) == pix0
    # back to the original model
    restore_from_headerlet(str(science), hdrname="IDC_qbu1641sj", force=True)
    for v in (1, 2):
        assert_sky_close(sky(science, v), sky0[v - 1])


def test_apply_as_alternate(science, tmp_path):
    with fits.open(science) as hdul:
        shifted = fits.HDUList([h.copy() for h in hdul])
    for v in (1, 2):
        shifted["SCI", v].header["CRVAL1"] -= 1e-4
    hl = create_headerlet(shifted, hdrname="alt", wcsname="ALTSOL")
    f = tmp_path / "alt_hlet.fits"
    hl.tofile(f)
    apply_headerlet_as_alternate(str(science), str(f), wcskey="D")
    with fits.open(science) as hdul:
        h = hdul["SCI", 2].header
        assert h["WCSNAMED"] == "ALTSOL" and h["HDRNAMED"] == "alt"
        assert h["CRVAL1D"] == pytest.approx(shifted["SCI", 2].header["CRVAL1"], abs=0)
    assert "alt" in get_headerlet_kw_names(str(science))
    h0 = sha(science)
    with pytest.raises(WCSKeyError):
        apply_headerlet_as_alternate(str(science), str(f), wcskey="D", attach=False)
    assert sha(science) == h0


def test_archive_as_headerlet_and_summary(science, tmp_path, capsys):
    altwcs.archive_wcs(str(science), None, wcskey="E", wcsname="ESOL")
    archive_as_headerlet(str(science), "by_name", wcsname="ESOL")  # name alone works
    archive_as_headerlet(str(science), "primary_one")
    table = headerlet_summary(str(science), quiet=True)
    assert list(table["HDRNAME"]) == ["by_name", "primary_one"]
    assert list(table["WCSNAME"]) == ["ESOL", "IDC_qbu1641sj"]
    assert table.colnames == list(headerlet.SUMMARY_COLUMNS)
    assert capsys.readouterr().out == ""
    headerlet_summary(str(science), columns=["HDRNAME"], output=tmp_path / "s.txt")
    printed = capsys.readouterr().out
    assert "by_name" in printed and (tmp_path / "s.txt").read_text() == printed
    with pytest.raises(HeaderletError):
        headerlet_summary(str(science), columns=["NOPE"], quiet=True)


def test_extract_by_name_and_delete_by_distname(science, tmp_path):
    archive_as_headerlet(str(science), "one")
    archive_as_headerlet(str(science), "two")
    out = extract_headerlet(str(science), tmp_path / "two.fits", hdrname="two")
    assert Headerlet.fromfile(out).hdrname == "two"
    with pytest.raises(FileUpdateError):
        extract_headerlet(str(science), out, hdrname="two")
    extract_headerlet(str(science), out, hdrname="one", clobber=True)
    assert Headerlet.fromfile(out).hdrname == "one"
    removed = delete_headerlet(str(science), distname="j8bt06nyq_qbu1641sj-02c1450rj-02c1450oj",
                               keep_first=True)
    assert removed == ["two"]
    assert find_headerlet_HDUs(str(science), hdrname="two") == []
    assert find_headerlet_HDUs(str(science), strict=False) != []


def test_restore_all_with_distname(science, other_model):
    hl_other = create_headerlet(str(other_model), hdrname="other")
    with fits.open(other_model) as hdul:
        shifted = fits.HDUList([h.copy() for h in hdul])
    for v in (1, 2):
        shifted["SCI", v].header["CRVAL2"] -= 2e-4
    hl_other2 = create_headerlet(shifted, hdrname="other2", wcsname="OTHER2")
    attach_headerlet(str(science), [hl_other, hl_other2][0])
    attach_headerlet(str(science), hl_other2)
    restore_all_with_distname(str(science), hl_other.distname, "other")
    for v in (1, 2):
        assert_sky_close(sky(science, v), sky(hl_other, v))
    with fits.open(science) as hdul:
        assert "OTHER2" in altwcs.wcsnames(hdul["SCI", 1].header).values()
        assert hdul[0].header["DISTNAME"] == hl_other.distname


def test_cli(science, tmp_path, capsys):
    from stwcs_ng.cli import main

    assert main(["headerlet", "write", str(science), "--hdrname", "cli1",
                 "--output", str(tmp_path / "cli1.fits")]) == 0
    assert main(["headerlet", "summary", str(science), "--columns", "HDRNAME,WCSNAME"]) == 0
    assert "cli1" in capsys.readouterr().out
    assert main(["headerlet", "extract", str(science), str(tmp_path / "x.fits"),
                 "--hdrname", "cli1"]) == 0
    assert main(["headerlet", "delete", str(science), "--hdrname", "cli1"]) == 0
    assert main(["headerlet", "attach", str(science), str(tmp_path / "x.fits")]) == 0
    assert main(["headerlet", "apply", str(science), str(tmp_path / "x.fits")]) == 0
    assert main(["headerlet", "restore", str(science), "--hdrname", "cli1"]) == 0
    # errors are one line, exit status 1, file unchanged
    h0 = sha(science)
    assert main(["headerlet", "delete", str(science), "--hdrname", "nope"]) == 1
    assert main(["headerlet", "attach", str(science), str(tmp_path / "x.fits")]) == 1
    assert sha(science) == h0


# ----------------------------------------------------------------------------
# bad input: clear errors, files unchanged


def test_destim_mismatch(science, tmp_path, acs_hdulist):
    other = tmp_path / "other_flt.fits"
    hdul = _fill(acs_hdulist(nchips=2, shape=SHAPE), 2)
    hdul[0].header["ROOTNAME"] = "j9zz99zzq"
    hdul.writeto(other)
    hl = create_headerlet(str(other), hdrname="foreign")
    assert hl.destim == "j9zz99zzq"
    h0 = sha(science)
    for call in (lambda: apply_headerlet_as_primary(str(science), hl),
                 lambda: attach_headerlet(str(science), hl),
                 lambda: apply_headerlet_as_alternate(str(science), hl)):
        with pytest.raises(HeaderletError, match="DESTIM"):
            call()
        assert sha(science) == h0
    apply_headerlet_as_primary(str(science), hl, force=True)  # force skips the check
    assert sha(science) != h0


def test_duplicate_hdrname(science):
    archive_as_headerlet(str(science), "dup")
    h0 = sha(science)
    hl = create_headerlet(str(science), hdrname="dup")
    with pytest.raises(HeaderletError, match="already"):
        attach_headerlet(str(science), hl)
    with pytest.raises(HeaderletError, match="already"):
        archive_as_headerlet(str(science), "dup")
    with pytest.raises(HeaderletError, match="already"):
        write_headerlet(str(science), "dup", output="d")
    assert sha(science) == h0


def _corrupt_copy(science: Path, tmp_path: Path, mangle) -> Path:
    archive_as_headerlet(str(science), "good")
    raw = bytearray(science.read_bytes())
    with fits.open(science) as hdul:
        info = hdul.fileinfo(hdul.index_of(("HDRLET", 1)))
    mangle(raw, info["datLoc"])
    out = tmp_path / "corrupt.fits"
    out.write_bytes(bytes(raw))
    return out


def test_corrupt_hdrlet_extension(science, tmp_path):
    def garble(raw, start):
        raw[start:start + 2880] = b"X" * 2880

    bad = _corrupt_copy(science, tmp_path, garble)
    h0 = sha(bad)
    assert headerlet_summary(str(bad), columns=["HDRNAME", "AUTHOR"], quiet=True)[0][
        "HDRNAME"] == "good"
    with pytest.raises(HeaderletError, match="corrupt"):
        extract_headerlet(str(bad), tmp_path / "x.fits", hdrname="good")
    with pytest.raises(HeaderletError, match="corrupt"):
        restore_from_headerlet(str(bad), hdrname="good")
    assert sha(bad) == h0
    assert not (tmp_path / "x.fits").exists()


def test_headerlet_missing_extension(science, tmp_path, acs_hdulist):
    one_chip = tmp_path / "one.fits"
    _fill(acs_hdulist(nchips=1, shape=SHAPE), 3).writeto(one_chip)
    hl_one = create_headerlet(str(one_chip), hdrname="onechip")
    h0 = sha(science)
    with pytest.raises(MissingExtensionError, match="SCI,2"):
        apply_headerlet_as_primary(str(science), hl_one)
    assert sha(science) == h0
    # a headerlet that lost a lookup table is rejected when read
    hl = create_headerlet(str(science), hdrname="broken")
    del hl[hl.index_of(("WCSDVARR", 3))]
    f = tmp_path / "broken.fits"
    fits.HDUList([h.copy() for h in hl]).writeto(f)
    with pytest.raises(HeaderletError, match="WCSDVARR,3"):
        Headerlet.fromfile(f)
    with pytest.raises(HeaderletError):
        apply_headerlet_as_primary(str(science), str(f))
    assert sha(science) == h0


def test_nothing_matches(science):
    h0 = sha(science)
    with pytest.raises(HeaderletError, match="no HDRLET"):
        delete_headerlet(str(science), hdrname="missing")
    with pytest.raises(HeaderletError, match="give hdrext"):
        delete_headerlet(str(science))
    with pytest.raises(HeaderletError):
        restore_all_with_distname(str(science), "nope", "x")
    assert sha(science) == h0


def test_failure_during_write_leaves_file(science, tmp_path, monkeypatch):
    hl = create_headerlet(str(science), hdrname="late")
    h0 = sha(science)

    def boom(*args, **kwargs):
        raise RuntimeError("simulated crash while updating WCSCORR")

    monkeypatch.setattr(headerlet.wcscorr, "update_wcscorr", boom)
    with pytest.raises(RuntimeError):
        apply_headerlet_as_primary(str(science), hl)
    assert sha(science) == h0


def test_restore_all_twice_and_in_memory(science, other_model):
    hl_other = create_headerlet(str(other_model), hdrname="other")
    with fits.open(other_model) as hdul:
        shifted = fits.HDUList([h.copy() for h in hdul])
    for v in (1, 2):
        shifted["SCI", v].header["CRVAL1"] += 1e-4
    attach_headerlet(str(science), hl_other)
    attach_headerlet(str(science), create_headerlet(shifted, hdrname="o2", wcsname="O2"))
    restore_all_with_distname(str(science), hl_other.distname, "other")
    restore_all_with_distname(str(science), hl_other.distname, "o2")  # names exist: renamed
    with fits.open(science) as hdul:
        names = altwcs.wcsnames(hdul["SCI", 1].header, include_primary=False).values()
        assert "OTHER_MODEL" in names
    # an open HDUList is changed in memory only
    h0 = sha(science)
    with fits.open(science) as hdul:
        mem = fits.HDUList([h.copy() if h.name != "HDRLET" else HeaderletHDU(
            data=hdrlet_bytes(h), header=h.header.copy()) for h in hdul])
    restore_from_headerlet(mem, hdrname="other")
    assert mem["SCI", 1].header["HDRNAME"] == "other"
    assert sha(science) == h0


def test_unnamed_primary_archived_as_rootname_orig(tmp_path, acs_hdulist):
    path = tmp_path / "j8bt06nyq_flt.fits"
    hdul = _fill(acs_hdulist(nchips=2, shape=SHAPE), 4)
    for v in (1, 2):
        del hdul["SCI", v].header["WCSNAME"]
    hdul.writeto(path)
    sky0 = [sky(path, v) for v in (1, 2)]
    with fits.open(path) as h:
        shifted = fits.HDUList([x.copy() for x in h])
    for v in (1, 2):
        shifted["SCI", v].header["CRVAL1"] += 5e-5
    with pytest.raises(HeaderletError, match="no WCSNAME"):
        create_headerlet(shifted)
    hl = create_headerlet(shifted, hdrname="named", wcsname="NAMED")
    archived = apply_headerlet_as_primary(str(path), hl)
    assert archived == ["j8bt06nyq_orig"]
    restore_from_headerlet(str(path), hdrname="j8bt06nyq_orig")
    for v in (1, 2):
        assert_sky_close(sky(path, v), sky0[v - 1])


def test_reapplying_current_solution_archives_nothing(science):
    hl = create_headerlet(str(science), hdrname="same")
    apply_headerlet_as_primary(str(science), hl)
    with fits.open(science) as hdul:
        keys = altwcs.wcskeys(hdul["SCI", 1].header)
    assert apply_headerlet_as_primary(str(science), hl) == ["same"]
    with fits.open(science) as hdul:
        assert altwcs.wcskeys(hdul["SCI", 1].header) == keys
    assert get_headerlet_kw_names(str(science)) == ["same"]


@pytest.mark.parametrize("drop", [("CRVAL1",), ("CTYPE2", "CRPIX1"),
                                  ("CD1_1", "CD1_2", "CD2_1", "CD2_2")])
def test_input_without_wcs_keywords_is_named(science, tmp_path, drop):
    """The error names the input file and extension and what is missing, not the output."""
    from stwcs_ng.errors import HeaderError

    with fits.open(science) as hdul:
        for key in drop:
            hdul["SCI", 2].header.remove(key, ignore_missing=True)
            if key.startswith("CD"):
                for alt in ("CDELT1", "CDELT2", "PC1_1", "PC1_2", "PC2_1", "PC2_2"):
                    hdul["SCI", 2].header.remove(alt, ignore_missing=True)
        hdul.writeto(tmp_path / "nowcs_flt.fits")
    bad = tmp_path / "nowcs_flt.fits"
    before = sha(bad)
    out = tmp_path / "out_hlet.fits"
    with pytest.raises(HeaderError) as err:
        write_headerlet(str(bad), "NEW", output=str(out), attach=False)
    msg = str(err.value)
    assert msg.startswith(f"{bad}[SCI,2]: ") and "out_hlet" not in msg
    assert (drop[0] if not drop[0].startswith("CD") else "CDi_j") in msg
    assert not out.exists() and sha(bad) == before
