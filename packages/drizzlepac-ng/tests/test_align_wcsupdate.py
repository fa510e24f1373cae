"""Tests of drizzlepac_ng.align.wcsupdate (corrected WCS and header updates)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from dzng_testing import file_digest

from drizzlepac_ng import simulate
from drizzlepac_ng.align import wcsupdate
from drizzlepac_ng.errors import AlignmentError, ConfigError
from stwcs_ng import fileio
from stwcs_ng.wcsutil import altwcs


@pytest.fixture(scope="module")
def exposure(tmp_path_factory):
    out = tmp_path_factory.mktemp("wcsupd")
    sim = simulate.simulate_exposures(1, shape="small", seed=3, output_dir=out,
                                      wcs_errors=(0.3, 0.01))
    return sim[0].path



def _ref_wcs(crval, scale_deg=0.05 / 3600, rot=0.0):
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = crval
    w.wcs.crpix = [1000.0, 1000.0]
    c, s = np.cos(np.radians(rot)), np.sin(np.radians(rot))
    w.wcs.cd = scale_deg * np.array([[-c, s], [s, c]])
    w.wcs.set()
    return w


def _transform(theta_deg=0.01, scale=1.00002, shift=(3.7, -2.1)):
    t = np.radians(theta_deg)
    m = scale * np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    return m, np.array(shift)


def test_corrected_wcs_reproduces_transform(exposure):
    with fits.open(exposure) as hdul:
        chip = WCS(hdul["SCI", 1].header, hdul)
        ref = _ref_wcs(chip.wcs.crval + [0.01, -0.005])
        m, t = _transform()
        new = wcsupdate.apply_linear_correction(chip, ref, m, t, shape=(128, 256))
        rng = np.random.default_rng(0)
        pix = rng.uniform([0, 0], [256, 128], size=(200, 2))
        old_sky = chip.all_pix2world(pix, 0)
        new_sky = new.all_pix2world(pix, 0)
    expect = ref.wcs_pix2world(ref.wcs_world2pix(old_sky, 0) @ m.T + t, 0)
    dra = (new_sky[:, 0] - expect[:, 0]) * np.cos(np.radians(expect[:, 1]))
    ddec = new_sky[:, 1] - expect[:, 1]
    assert np.max(np.hypot(dra, ddec)) < 1e-10
    # distortion untouched, the original object unchanged
    assert new.sip is not None and np.array_equal(new.sip.a, chip.sip.a)
    assert not np.allclose(new.wcs.crval, chip.wcs.crval, rtol=0, atol=1e-9)


def test_identity_transform_is_noop(exposure):
    with fits.open(exposure) as hdul:
        chip = WCS(hdul["SCI", 2].header, hdul)
    ref = _ref_wcs(chip.wcs.crval)
    new = wcsupdate.apply_linear_correction(chip, ref, np.eye(2), [0, 0], shape=(128, 256))
    assert np.allclose(new.wcs.crval, chip.wcs.crval, rtol=0, atol=1e-12)
    assert np.allclose(new.wcs.cd, chip.wcs.cd, rtol=1e-10, atol=0)


def test_singular_transform_refused(exposure):
    with fits.open(exposure) as hdul:
        chip = WCS(hdul["SCI", 1].header, hdul)
    with pytest.raises(AlignmentError):
        wcsupdate.apply_linear_correction(chip, _ref_wcs(chip.wcs.crval), np.zeros((2, 2)), [0, 0])
    with pytest.raises(AlignmentError):
        wcsupdate.apply_linear_correction(chip, _ref_wcs(chip.wcs.crval), np.eye(2), [np.nan, 0])


@pytest.mark.parametrize("name, text", [
    ("TWEAK", "user-defined"),
    ("IDC_abc", "undistorted not aligned"),
    ("OPUS", "pipeline default not aligned"),
    ("IDC_abc-GSC240", "undistorted a priori solution based on GSC240"),
    ("IDC_abc-FIT_REL_GAIADR2", "undistorted a posteriori solution relatively aligned to GAIADR2"),
    ("IDC_abc-FIT_SVM_GAIAeDR3", "undistorted a posteriori solution aligned by visit to GAIAeDR3"),
])
def test_wcstype(name, text):
    assert wcsupdate.interpret_wcsname_type(name) == text


def test_update_image_wcs_archives_and_writes(tmp_path, exposure):
    path = tmp_path / "x_flc.fits"
    path.write_bytes(Path(exposure).read_bytes())
    with fits.open(path) as hdul:
        old = {v: (hdul["SCI", v].header["CRVAL1"], hdul["SCI", v].header["CRVAL2"],
                   hdul["SCI", v].header["WCSNAME"]) for v in (1, 2)}
        ref = _ref_wcs([hdul["SCI", 1].header["CRVAL1"], hdul["SCI", 1].header["CRVAL2"]])
    m, t = _transform()
    fit = wcsupdate.FitSummary(rms_ra=1e-6, rms_dec=2e-6, nmatch=42)
    res = wcsupdate.correct_image_wcs(path, ref, m, t, wcsname="TWEAK", fit=fit)
    key = res["wcskey"]
    assert key not in (None, " ", "O")
    with fits.open(path) as hdul:
        for v in (1, 2):
            h = hdul["SCI", v].header
            assert h["WCSNAME"] == "TWEAK" and h["FITNAME"] == "TWEAK"
            assert h["WCSTYPE"] == "user-defined"
            assert h["NMATCH"] == 42 and h["RMS_DEC"] == pytest.approx(2e-6)
            assert h["CRDER1"] == pytest.approx(1e-6)
            assert h[f"WCSNAME{key}"] == old[v][2]
            assert h[f"CRVAL1{key}"] == pytest.approx(old[v][0], abs=1e-12)
            assert h["CRVAL1"] != pytest.approx(old[v][0], abs=1e-9)
            altwcs.restore_header_wcs(h, key)
            assert h["CRVAL1"] == pytest.approx(old[v][0], abs=1e-12)
            assert h["CRVAL2"] == pytest.approx(old[v][1], abs=1e-12)
        assert "WCSCORR" in hdul
        ids = [str(x).strip() for x in hdul["WCSCORR"].data["WCS_ID"]]
        assert "TWEAK" in ids


def test_name_clash_leaves_file_untouched(tmp_path, exposure):
    path = tmp_path / "y_flc.fits"
    path.write_bytes(Path(exposure).read_bytes())
    with fits.open(path) as hdul:
        name = hdul["SCI", 1].header["WCSNAME"]
        ref = _ref_wcs([hdul["SCI", 1].header["CRVAL1"], hdul["SCI", 1].header["CRVAL2"]])
    before = file_digest(path)
    with pytest.raises(ConfigError):
        wcsupdate.correct_image_wcs(path, ref, np.eye(2), [0.1, 0.0], wcsname=name)
    assert file_digest(path) == before
    # reusename: allowed; the previous WCS is archived under its own name
    res = wcsupdate.correct_image_wcs(path, ref, np.eye(2), [0.1, 0.0], wcsname=name,
                                      reusename=True)
    with fits.open(path) as hdul:
        h = hdul["SCI", 1].header
        assert h["WCSNAME"] == name
        assert h[f"WCSNAME{res['wcskey']}"] == res["archived_name"]


def test_missing_chip_correction_refused(tmp_path, exposure):
    path = tmp_path / "z_flc.fits"
    path.write_bytes(Path(exposure).read_bytes())
    before = file_digest(path)
    with pytest.raises(ConfigError):
        wcsupdate.update_image_wcs(path, {1: ([0.0, 0.0], np.eye(2) * 1e-5)})
    assert file_digest(path) == before


def test_headerlet_written(tmp_path, exposure):
    path = tmp_path / "h_flc.fits"
    path.write_bytes(Path(exposure).read_bytes())
    with fits.open(path) as hdul:
        ref = _ref_wcs([hdul["SCI", 1].header["CRVAL1"], hdul["SCI", 1].header["CRVAL2"]])
    res = wcsupdate.correct_image_wcs(path, ref, np.eye(2), [0.5, 0.5], wcsname="MYFIT",
                                      headerlet=True, attach=True)
    assert res["headerlet"] is not None
    with fits.open(path) as hdul:
        assert any(h.header.get("EXTNAME") == "HDRLET" for h in hdul[1:])


def _data_digests(path):
    with fits.open(path) as hdul:
        return [(h.name, h.ver, hashlib.sha256(np.ascontiguousarray(h.data).tobytes()).hexdigest())
                for h in hdul if h.data is not None and not isinstance(h, fits.BinTableHDU)]


def test_header_update_copies_data_bytes_and_adds_tables(tmp_path, exposure):
    """Headers change, image data are byte copies, a new table HDU is written by astropy."""
    import shutil

    f = tmp_path / "e.fits"
    shutil.copy(exposure, f)
    # a non-standard extension (as attached headerlets are) must survive the rewrite
    with fits.open(f, mode="append") as hdul:
        odd = fits.ImageHDU(np.arange(12, dtype=">i2").reshape(3, 4), name="ODD")
        hdul.append(odd)
    before = _data_digests(f)
    with wcsupdate.header_update(f) as hdul:
        hdul["SCI", 1].header["TESTKW"] = (1.5, "added by the test")
        for k in range(200):                      # grows the header by several blocks
            hdul["SCI", 2].header[f"HIST{k:04d}"] = k
        hdul.append(fits.BinTableHDU.from_columns(
            [fits.Column(name="A", format="D", array=np.arange(3.0))], name="NEWTAB"))
    assert _data_digests(f) == before
    with fits.open(f, memmap=False) as hdul:
        hdul.verify("exception")
        assert hdul["SCI", 1].header["TESTKW"] == 1.5
        assert hdul["SCI", 2].header["HIST0199"] == 199
        assert list(hdul["NEWTAB"].data["A"]) == [0.0, 1.0, 2.0]
    assert f.stat().st_size % 2880 == 0
    assert not list(tmp_path.glob(".*.tmp"))


def test_header_update_failure_leaves_file(tmp_path, exposure):
    import os
    import shutil

    from drizzlepac_ng.errors import FileUpdateError

    f = tmp_path / "e.fits"
    shutil.copy(exposure, f)
    digest = file_digest(f)
    with pytest.raises(RuntimeError), wcsupdate.header_update(f) as hdul:
        hdul["SCI", 1].header["TESTKW"] = 1
        raise RuntimeError("stop")
    assert file_digest(f) == digest
    os.chmod(f, 0o444)
    try:
        if not os.access(f, os.W_OK):            # (root can write read-only files)
            with pytest.raises(FileUpdateError, match="read-only"), \
                    wcsupdate.header_update(f) as hdul:
                hdul["SCI", 1].header["TESTKW"] = 1
            assert file_digest(f) == digest
    finally:
        os.chmod(f, 0o644)
    # a failing write (no space, here an unwritable folder for the temporary file)
    real = fileio.tempfile.mkstemp

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    fileio.tempfile.mkstemp = broken
    try:
        with pytest.raises(FileUpdateError, match="temporary file"), \
                wcsupdate.header_update(f) as hdul:
            hdul["SCI", 1].header["TESTKW"] = 1
    finally:
        fileio.tempfile.mkstemp = real
    assert file_digest(f) == digest


def test_header_update_refuses_a_truncated_file(tmp_path, exposure):
    """A file shorter than its HDUs need (fileio.hdu_end) is an InputFileError, unchanged."""
    from drizzlepac_ng.errors import InputFileError

    f = tmp_path / "e.fits"
    data = exposure.read_bytes()
    f.write_bytes(data[:len(data) - 2880])
    digest = file_digest(f)
    with pytest.warns(Warning, match="truncated"), \
            pytest.raises(InputFileError, match=r"e\.fits.*truncated: its HDUs need"), \
            wcsupdate.header_update(f):
        pass
    assert file_digest(f) == digest
