"""Crash-safe file updates: the file is either exactly the old one or the complete new one."""

import hashlib
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from astropy.io import fits

from stwcs_ng import fileio
from stwcs_ng.errors import FileUpdateError, InputFileError, StwcsError


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def mef(tmp_path):
    path = tmp_path / "test_flt.fits"
    hdul = fits.HDUList([fits.PrimaryHDU()])
    for ver in (1, 2):
        hdu = fits.ImageHDU(np.arange(20, dtype=np.float32).reshape(4, 5) * ver, name="SCI")
        hdu.header["EXTVER"] = ver
        hdul.append(hdu)
    hdul.writeto(path)
    return path


def test_update_replaces_content(mef):
    with fileio.atomic_update(mef) as hdul:
        hdul["SCI", 2].header["MDRIZSKY"] = 3.5
        hdul["SCI", 1].data[0, 0] = -1
    with fits.open(mef) as hdul:
        assert hdul["SCI", 2].header["MDRIZSKY"] == 3.5
        assert hdul["SCI", 1].data[0, 0] == -1
    assert [p.name for p in mef.parent.iterdir()] == [mef.name]  # no temp file left


def test_exception_leaves_file_identical(mef):
    before = _sha(mef)
    with pytest.raises(RuntimeError):
        with fileio.atomic_update(mef) as hdul:
            hdul["SCI", 1].data[:] = 0
            raise RuntimeError("boom")
    assert _sha(mef) == before
    assert [p.name for p in mef.parent.iterdir()] == [mef.name]


def test_write_failure_leaves_file_identical(mef, monkeypatch):
    before = _sha(mef)

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fits.HDUList, "writeto", full_disk)
    with pytest.raises(FileUpdateError, match="No space left"):
        with fileio.atomic_update(mef) as hdul:
            hdul[0].header["X"] = 1
    assert _sha(mef) == before
    assert [p.name for p in mef.parent.iterdir()] == [mef.name]


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_file_is_refused(mef):
    mef.chmod(0o444)
    before = _sha(mef)
    with pytest.raises(FileUpdateError, match="read-only"):
        with fileio.atomic_update(mef):
            pass
    assert _sha(mef) == before


def test_read_only_file_is_refused_even_for_root(mef, monkeypatch):
    # os.access is what the check consults; simulate a non-writable file.
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, m: False if m == os.W_OK else real_access(p, m))
    before = _sha(mef)
    with pytest.raises(FileUpdateError, match="read-only"):
        with fileio.atomic_update(mef):
            pass
    assert _sha(mef) == before


def test_permissions_are_kept(mef):
    mef.chmod(0o640)
    with fileio.atomic_update(mef) as hdul:
        hdul[0].header["X"] = 1
    assert mef.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize("content", [b"", b"this is not FITS at all\n" * 200])
def test_non_fits_is_input_error(tmp_path, content):
    bad = tmp_path / "bad.fits"
    bad.write_bytes(content)
    with pytest.raises(InputFileError) as info:
        fileio.read_fits(bad)
    assert "bad.fits" in str(info.value)
    assert isinstance(info.value, StwcsError)


def test_truncated_fits_is_input_error(mef):
    data = mef.read_bytes()
    mef.write_bytes(data[: len(data) - 2880 - 100])
    with pytest.raises(InputFileError, match="test_flt.fits"):
        fileio.read_fits(mef)


def test_missing_file(tmp_path):
    with pytest.raises(InputFileError, match="does not exist"):
        fileio.read_fits(tmp_path / "nope.fits")


def test_atomic_write_refuses_overwrite(mef):
    with pytest.raises(FileUpdateError, match="overwrite"):
        fileio.atomic_write(fits.HDUList([fits.PrimaryHDU()]), mef, overwrite=False)


def test_atomic_write_missing_folder(tmp_path):
    with pytest.raises(FileUpdateError, match="does not exist"):
        fileio.atomic_write(fits.HDUList([fits.PrimaryHDU()]), tmp_path / "no" / "x.fits")


def test_sigkill_before_rename_leaves_old_file(mef):
    """A process killed while writing leaves the original byte-identical."""
    before = _sha(mef)
    script = textwrap.dedent(f"""
        import os, signal
        from stwcs_ng import fileio
        real_replace = os.replace
        def die(*a, **k):
            os.kill(os.getpid(), signal.SIGKILL)
        os.replace = die
        with fileio.atomic_update({str(mef)!r}) as hdul:
            hdul["SCI", 1].data[:] = 7
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    assert _sha(mef) == before


@pytest.mark.hstdata
@pytest.mark.parametrize("name", ["sample_ipppssoot_flt.fits", "sample_ipppssoot_flc.fits"])
def test_update_keeps_hdrlet_extensions(tmp_path, name):
    """Non-standard HDRLET extensions survive an update byte for byte."""
    from pathlib import Path

    src = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "hst" / name
    if not src.is_file():
        pytest.skip("real HST samples (../shared/data) are absent")
    work = tmp_path / name
    work.write_bytes(src.read_bytes())

    def hdrlets(path):
        with fits.open(path) as hdul:
            return [(hdu.header["HDRNAME"], bytes(hdu._get_raw_data(hdu.size, "ubyte",
                                                                    hdu._data_offset)))
                    for hdu in hdul if hdu.header.get("XTENSION") == "HDRLET"]

    before = hdrlets(work)
    assert before
    with fileio.atomic_update(work) as hdul:
        hdul[0].header["TESTKW"] = 1
    assert hdrlets(work) == before
    assert work.stat().st_size == src.stat().st_size


def test_unparsable_card_is_input_error(tmp_path):
    path = tmp_path / "nan_flt.fits"
    sci = fits.ImageHDU(np.zeros((4, 4), np.float32), name="SCI")
    sci.header["CD1_1"] = (1.0, "placeholder")
    fits.HDUList([fits.PrimaryHDU(), sci]).writeto(path)
    raw = path.read_bytes()
    start = raw.index(b"CD1_1   =")
    bad = b"CD1_1   =                  NaN / broken".ljust(80)
    path.write_bytes(raw[:start] + bad + raw[start + 80:])  # astropy would not write it
    before = _sha(path)
    with pytest.raises(InputFileError, match="CD1_1"):
        fileio.read_fits(path)
    with pytest.raises(InputFileError, match="CD1_1"):
        with fileio.atomic_update(path):
            pass
    assert _sha(path) == before


def test_any_write_failure_is_file_update_error(mef, monkeypatch):
    """astropy reports a short write as AttributeError from its free-space check."""
    before = _sha(mef)

    def broken(*args, **kwargs):
        raise AttributeError("'list' object has no attribute '_file'")

    monkeypatch.setattr(fits.HDUList, "writeto", broken)
    with pytest.raises(FileUpdateError, match="AttributeError"):
        with fileio.atomic_update(mef) as hdul:
            hdul[0].header["X"] = 1
    assert _sha(mef) == before
    assert [p.name for p in mef.parent.iterdir()] == [mef.name]


def test_hdu_end_is_the_size_a_complete_file_needs(mef, tmp_path):
    """hdu_end equals the size of a complete file and exceeds it for a truncated one."""
    with fits.open(mef, memmap=False, lazy_load_hdus=False) as hdul:
        assert fileio.hdu_end(hdul) == mef.stat().st_size
        assert fileio.hdu_end(hdul) == max(h.fileinfo()["datLoc"] + h.fileinfo()["datSpan"]
                                           for h in hdul)
    cut = tmp_path / "cut.fits"
    data = mef.read_bytes()
    cut.write_bytes(data[:len(data) - 2880])        # the last data block is gone
    with pytest.warns(Warning, match="truncated"), \
            fits.open(cut, memmap=False, lazy_load_hdus=False) as hdul:
        assert fileio.hdu_end(hdul) == len(data)
    with pytest.warns(Warning, match="truncated"), \
            pytest.raises(OSError, match=r"truncated \(\d+ bytes, its HDUs need \d+\)"):
        fileio.verify_complete(cut)
    with pytest.raises(TypeError):                   # not read from a file: no offsets
        fileio.hdu_end(fits.HDUList([fits.PrimaryHDU()]))
    assert "hdu_end" in fileio.__all__
