"""resetbits.reset_dq_bits."""

from __future__ import annotations

import gc
import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from dzng_testing import copy_files, file_digest

from drizzlepac_ng import resetbits, simulate
from drizzlepac_ng.errors import ConfigError, InputFileError, MissingExtensionError

SIM = dict(shape="small", seed=8, n_stars=5, n_galaxies=0, n_bright=0, cosmic_rays=False,
           noise=False)


@pytest.fixture(scope="module")
def masters(tmp_path_factory):
    out = tmp_path_factory.mktemp("resetbits_master")
    paths = [str(s.path) for s in simulate.simulate_exposures(2, output_dir=out, **SIM)]
    rng = np.random.default_rng(1)
    for p in paths:  # mark random pixels with CR (4096), 8 and 16
        with fits.open(p, mode="update") as hdul:
            for v in (1, 2):
                dq = hdul["DQ", v].data
                flags = rng.choice(np.array([0, 4096, 8, 4096 | 8, 16], dtype=dq.dtype),
                                   size=dq.shape)
                hdul["DQ", v].data = dq | flags
    return paths


@pytest.fixture
def files(masters, tmp_path):
    return copy_files(masters, tmp_path)



def _dq(path, v):
    with fits.open(path) as hdul:
        return hdul["DQ", v].data.copy()


def test_default_clears_4096_only(files):
    before = [_dq(files[0], v) for v in (1, 2)]
    sci_before = fits.getdata(files[0], ("SCI", 1))
    assert resetbits.reset_dq_bits(files[0]) == [files[0]]
    for v, old in zip((1, 2), before, strict=True):
        new = _dq(files[0], v)
        assert new.dtype == old.dtype
        np.testing.assert_array_equal(new, old & ~4096)
        assert (old & 4096).any()
    np.testing.assert_array_equal(fits.getdata(files[0], ("SCI", 1)), sci_before)


@pytest.mark.parametrize("bits, mask", [("4096,8", 4096 | 8), ([4096, 16], 4096 | 16),
                                        ("8+16", 24), (8, 8)])
def test_bit_specifications(files, bits, mask):
    old = _dq(files[1], 2)
    resetbits.reset_dq_bits(files[1], bits=bits)
    np.testing.assert_array_equal(_dq(files[1], 2), old & ~mask)


def test_extver_selects_extensions(files):
    old1, old2 = _dq(files[0], 1), _dq(files[0], 2)
    resetbits.reset_dq_bits(files[0], 8, extver=2)
    np.testing.assert_array_equal(_dq(files[0], 1), old1)
    np.testing.assert_array_equal(_dq(files[0], 2), old2 & ~8)


def test_many_files_each_own_extensions(files, tmp_path):
    # second file has only one DQ extension: extver=None is looked up per file
    with fits.open(files[1]) as hdul:
        del hdul[("DQ", 2)]
        hdul.writeto(tmp_path / "one_dq.fits")
    one = str(tmp_path / "one_dq.fits")
    old = _dq(one, 1)
    out = resetbits.reset_dq_bits(f"{files[0]},{one}", "4096")
    assert out == [files[0], one]
    np.testing.assert_array_equal(_dq(one, 1), old & ~4096)


def test_wildcard(files, tmp_path):
    out = resetbits.reset_dq_bits(str(tmp_path / "*_flc.fits"))
    assert sorted(out) == sorted(files)


def test_errors_leave_files_unchanged(files, tmp_path):
    digests = [file_digest(f) for f in files]
    with pytest.raises(MissingExtensionError):
        resetbits.reset_dq_bits(files, extver=[1, 3])
    with pytest.raises(MissingExtensionError):
        resetbits.reset_dq_bits(files, extname="flags")
    with pytest.raises(ConfigError):
        resetbits.reset_dq_bits(files, bits="abc")
    with pytest.raises(ConfigError):
        resetbits.reset_dq_bits(files, bits=None)
    with pytest.raises(ConfigError):
        resetbits.reset_dq_bits(files, extver="one")
    with pytest.raises(InputFileError, match="does not exist"):
        resetbits.reset_dq_bits([files[0], str(tmp_path / "missing_flt.fits")])
    with pytest.raises(InputFileError):
        resetbits.reset_dq_bits(str(tmp_path / "nothing*_flt.fits"))
    assert [file_digest(f) for f in files] == digests


def test_float_dq_rejected(tmp_path):
    path = tmp_path / "float_dq.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.zeros((2, 2), np.float32),
                                                   name="DQ")]).writeto(path)
    with pytest.raises(InputFileError, match="floating"):
        resetbits.reset_dq_bits(str(path))


def test_read_only_file(files):
    from drizzlepac_ng.errors import FileUpdateError

    os.chmod(files[0], 0o444)
    try:
        if os.access(files[0], os.W_OK):
            pytest.skip("running as a user that can write read-only files")
        digest = file_digest(files[0])
        with pytest.raises(FileUpdateError):
            resetbits.reset_dq_bits(files[0])
        assert file_digest(files[0]) == digest
    finally:
        os.chmod(files[0], 0o644)


ROOT = Path(__file__).resolve().parents[3]
HST = ROOT.parent / "shared" / "data" / "hst"


@pytest.mark.hstdata
@pytest.mark.oracle
@pytest.mark.parametrize("bits", [4096, "4096,16", "~4"])
def test_matches_drizzlepac_on_real_flt(bits, tmp_path):
    original = pytest.importorskip("drizzlepac.resetbits")
    src = HST / "sample_ipppssoot_flt.fits"
    if not src.exists():
        pytest.skip("real HST samples not available")
    ours, theirs = tmp_path / "n_flt.fits", tmp_path / "o_flt.fits"
    for p in (ours, theirs):
        shutil.copy(src, p)
        with fits.open(p, mode="update") as hdul:
            hdul["DQ", 1].data = (np.arange(100).reshape(10, 10) * 97).astype(np.int16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        original.reset_dq_bits(str(theirs), bits)
        gc.collect()
    resetbits.reset_dq_bits(str(ours), bits)
    np.testing.assert_array_equal(fits.getdata(ours, ("DQ", 1)), fits.getdata(theirs, ("DQ", 1)))
