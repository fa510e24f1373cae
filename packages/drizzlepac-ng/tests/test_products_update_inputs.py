"""astrodrizzle.products.update_inputs: concurrent, all-or-nothing input updates."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from astropy.io import fits
from dzng_testing import file_digest

from drizzlepac_ng.astrodrizzle import products
from drizzlepac_ng.errors import FileUpdateError
from stwcs_ng import fileio

CRBIT = 4096
SHAPE = (40, 30)



def _inputs(folder: Path, n: int = 3):
    """``n`` two-chip exposures with DQ bit 16 set here and there, and a result for them."""
    rng = np.random.default_rng(7)
    exposures, crmasks = [], {}
    for k in range(n):
        path = folder / f"exp{k}_flc.fits"
        hdus = [fits.PrimaryHDU()]
        chips = []
        for v in (1, 2):
            dq = np.where(rng.random(SHAPE) < 0.1, 16, 0).astype(np.int16)
            hdus += [fits.ImageHDU(rng.random(SHAPE).astype(np.float32), name="SCI", ver=v),
                     fits.ImageHDU(dq, name="DQ", ver=v)]
            label = f"{path.name}[sci,{v}]"
            crmasks[label] = rng.random(SHAPE) < 0.02
            chips.append(SimpleNamespace(extver=v, sky=10.0 * k + v, has_dq=True, label=label))
        fits.HDUList(hdus).writeto(path)
        os.chmod(path, 0o640)
        exposures.append(SimpleNamespace(filename=str(path), chips=chips))
    result = SimpleNamespace(exposures=exposures, crmasks=crmasks)
    return [Path(e.filename) for e in exposures], result


def _cfg(num_cores=None, preserve=False):
    return SimpleNamespace(
        general=SimpleNamespace(crbit=CRBIT, resetbits="16", num_cores=num_cores),
        driz_cr=SimpleNamespace(driz_cr_mask=False),
        state=SimpleNamespace(preserve=preserve, overwrite=False))


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("num_cores", [1, 3, None])
def test_update_inputs_writes_sky_and_dq(tmp_path, caplog, num_cores):
    paths, result = _inputs(tmp_path)
    before = {p: fits.getdata(p, ("DQ", 2)).copy() for p in paths}
    import warnings

    filters, show = list(warnings.filters), warnings.showwarning
    with caplog.at_level(logging.INFO, logger=products.__name__):
        products.update_inputs(result, _cfg(num_cores, preserve=True))
    # the workers leave the process-wide warning state alone (catch_warnings is not
    # thread-safe)
    assert warnings.filters == filters and warnings.showwarning is show
    for k, p in enumerate(paths):
        assert os.stat(p).st_mode & 0o777 == 0o640
        with fits.open(p) as h:
            h.verify("exception")
            for v in (1, 2):
                assert h["SCI", v].header["MDRIZSKY"] == 10.0 * k + v
            dq = h["DQ", 2].data
            cr = result.crmasks[f"{p.name}[sci,2]"]
            assert dq.dtype.kind == "i" and dq.dtype.itemsize == 2
            np.testing.assert_array_equal(dq & 16, 0)  # resetbits cleared
            np.testing.assert_array_equal((dq & CRBIT) > 0, cr)
            assert (before[p] == 16).any()
        assert (tmp_path / "OrIg_files" / p.name).exists()
    assert _leftovers(tmp_path) == []
    updated = [r.getMessage() for r in caplog.records if r.getMessage().startswith("updated")]
    assert updated == [f"updated {p} (MDRIZSKY, DQ)" for p in paths]  # input order


def test_a_failing_file_leaves_every_input_unchanged(tmp_path, monkeypatch):
    import errno
    import shutil

    paths, result = _inputs(tmp_path)
    before = {p: file_digest(p) for p in paths}
    real = shutil.copyfile

    def failing(src, dst, **kw):
        if Path(src) == paths[1]:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(src, dst, **kw)

    monkeypatch.setattr(shutil, "copyfile", failing)
    with pytest.raises(FileUpdateError, match="no input file was changed") as err:
        products.update_inputs(result, _cfg(3))
    assert err.value.filename == str(paths[1]) and "No space left" in str(err.value)
    assert {p: file_digest(p) for p in paths} == before
    assert _leftovers(tmp_path) == []


def test_a_copy_that_does_not_verify_is_refused(tmp_path, monkeypatch):
    paths, result = _inputs(tmp_path)
    before = {p: file_digest(p) for p in paths}
    real = fileio.verify_complete

    def verify(staged, n, **kw):
        if staged.name.startswith(f".{paths[2].name}."):
            with open(staged, "r+b") as fh:
                fh.truncate(staged.stat().st_size - 2880)
        return real(staged, n, **kw)

    monkeypatch.setattr(fileio, "verify_complete", verify)
    with pytest.raises(FileUpdateError) as err:
        products.update_inputs(result, _cfg(2))
    assert err.value.filename == str(paths[2])
    assert {p: file_digest(p) for p in paths} == before and _leftovers(tmp_path) == []


def test_unreadable_chip_is_a_package_error(tmp_path):
    paths, result = _inputs(tmp_path, 2)
    result.exposures[1].chips[1].extver = 7  # no SCI,7 in that file
    before = {p: file_digest(p) for p in paths}
    with pytest.raises(FileUpdateError) as err:
        products.update_inputs(result, _cfg(2))
    assert err.value.filename == str(paths[1])
    assert {p: file_digest(p) for p in paths} == before and _leftovers(tmp_path) == []


def test_read_only_input_is_refused_before_any_write(tmp_path, monkeypatch):
    paths, result = _inputs(tmp_path)
    before = {p: file_digest(p) for p in paths}
    real = os.access

    def access(path, mode, *a, **kw):
        if mode & os.W_OK and Path(path) == paths[2]:
            return False
        return real(path, mode, *a, **kw)

    monkeypatch.setattr(os, "access", access)
    with pytest.raises(FileUpdateError, match="read-only") as err:
        products.update_inputs(result, _cfg(2))
    assert err.value.filename == str(paths[2])
    assert {p: file_digest(p) for p in paths} == before


def test_failed_rename_says_which_inputs_were_updated(tmp_path, monkeypatch):
    paths, result = _inputs(tmp_path)
    before = {p: file_digest(p) for p in paths}
    real = os.replace

    def replace(src, dst):
        if Path(dst) == paths[1]:
            raise OSError(5, "Input/output error")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(FileUpdateError, match=f"already updated: {paths[0].name};") as err:
        products.update_inputs(result, _cfg(3))
    assert err.value.filename == str(paths[1])
    assert file_digest(paths[0]) != before[paths[0]]
    assert file_digest(paths[1]) == before[paths[1]] and file_digest(paths[2]) == before[paths[2]]
    assert _leftovers(tmp_path) == []


def test_full_header_and_scaled_dq(tmp_path):
    """A SCI header with no free card (the copy must grow) and a BZERO-scaled uint16 DQ."""
    paths, result = _inputs(tmp_path, 2)
    with fits.open(paths[0]) as h:
        hdul = fits.HDUList([x.copy() for x in h])
    hdr = hdul["SCI", 1].header
    k = 0
    while (len(hdr) + 1) % 36:  # + END: exactly full header blocks
        hdr[f"FILL{k:04d}"] = k
        k += 1
    hdul.writeto(paths[0], overwrite=True)
    with fits.open(paths[1]) as h:
        hdul = fits.HDUList([x.copy() for x in h])
    for v in (1, 2):
        hdul["DQ", v].data = hdul["DQ", v].data.astype(np.uint16) + np.uint16(32768)
    hdul.writeto(paths[1], overwrite=True)
    assert fits.getheader(paths[1], ("DQ", 1))["BZERO"] == 32768
    products.update_inputs(result, _cfg(2))
    for k, p in enumerate(paths):
        with fits.open(p) as h:
            h.verify("exception")
            assert h["SCI", 1].header["MDRIZSKY"] == 10.0 * k + 1
            dq = h["DQ", 1].data.astype(np.int64)
            cr = result.crmasks[f"{p.name}[sci,1]"]
            np.testing.assert_array_equal(dq & 16, 0)
            np.testing.assert_array_equal((dq & CRBIT) > 0, cr)
            if k == 1:
                assert h["DQ", 1].data.dtype.kind == "u"
                np.testing.assert_array_equal(dq & 32768, 32768)  # other bits kept
    assert _leftovers(tmp_path) == []
