"""pixreplace.replace."""

from __future__ import annotations

import gc
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from dzng_testing import file_digest

from drizzlepac_ng import pixreplace
from drizzlepac_ng.errors import ConfigError, InputFileError


@pytest.fixture
def image(tmp_path):
    sci = np.arange(12, dtype=np.float32).reshape(3, 4)
    sci[0, 0] = sci[2, 3] = np.nan
    err = np.ones((3, 4), np.float32)
    err[1, 1] = np.nan
    dq = np.zeros((3, 4), np.int16)
    dq[0, 1] = 7
    hdul = fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(sci, name="SCI", ver=1),
                         fits.ImageHDU(err, name="ERR", ver=1), fits.ImageHDU(dq, name="DQ", ver=1),
                         fits.ImageHDU(sci.copy(), name="SCI", ver=2),
                         fits.BinTableHDU.from_columns([fits.Column("A", "J", array=[1])],
                                                       name="TAB")])
    path = tmp_path / "img_flt.fits"
    hdul.writeto(path)
    return str(path)



def test_default_replaces_nan_everywhere(image):
    counts = pixreplace.replace(image)
    assert counts == {image: 5}
    with fits.open(image) as hdul:
        for h in hdul[1:5]:
            assert not np.isnan(h.data).any()
        assert hdul["SCI", 1].data[0, 0] == 0.0 and hdul["SCI", 1].data[0, 2] == 2.0
        assert hdul["ERR", 1].data[1, 1] == 0.0
        assert hdul["SCI", 1].header["BITPIX"] == -32


def test_value_and_extension_selection(image):
    counts = pixreplace.replace(image, pixvalue=np.nan, newvalue=-1.0, ext=["sci,2", 2])
    assert counts == {image: 3}
    with fits.open(image) as hdul:
        assert np.isnan(hdul["SCI", 1].data[0, 0])
        assert hdul["SCI", 2].data[0, 0] == -1.0 and hdul["ERR", 1].data[1, 1] == -1.0
    pixreplace.replace(image, pixvalue=7, newvalue=3, ext="dq")
    assert fits.getdata(image, "DQ")[0, 1] == 3
    pixreplace.replace(image, pixvalue=None, ext=("SCI", 1))  # None means NaN
    assert not np.isnan(fits.getdata(image, ("SCI", 1))).any()


def test_original_pars_calling_form(image):
    pars = {"pixvalue": 5.0, "newvalue": 50.0, "ext": "sci"}
    pixreplace.replace(image, **pars)
    assert fits.getdata(image, ("SCI", 1))[1, 1] == 50.0
    assert fits.getdata(image, ("SCI", 2))[1, 1] == 50.0


def test_nothing_to_replace_leaves_file_untouched(image):
    digest = file_digest(image)
    assert pixreplace.replace(image, pixvalue=12345.0) == {image: 0}
    assert file_digest(image) == digest


def test_errors_leave_files_unchanged(image, tmp_path):
    digest = file_digest(image)
    with pytest.raises(InputFileError):
        pixreplace.replace(image, ext=("SCI", 5))
    with pytest.raises(InputFileError):
        pixreplace.replace([image, str(tmp_path / "missing_flt.fits")])
    with pytest.raises(ConfigError, match="newvalue"):
        pixreplace.replace(image, newvalue="zero")
    with pytest.raises(ConfigError, match="cannot be stored"):
        pixreplace.replace(image, pixvalue=7, newvalue=0.5, ext="dq")
    with pytest.raises(ConfigError, match="unknown"):
        pixreplace.replace(image, pixval=3)
    assert file_digest(image) == digest


ROOT = Path(__file__).resolve().parents[3]
HST = ROOT.parent / "shared" / "data" / "hst"


@pytest.mark.hstdata
@pytest.mark.oracle
def test_matches_drizzlepac_on_real_flt(tmp_path, capsys):
    original = pytest.importorskip("drizzlepac.pixreplace")
    src = HST / "sample_ipppssoot_flt.fits"
    if not src.exists():
        pytest.skip("real HST samples not available")
    ours, theirs = tmp_path / "n_flt.fits", tmp_path / "o_flt.fits"
    for p in (ours, theirs):
        shutil.copy(src, p)
        with fits.open(p, mode="update") as hdul:
            hdul["SCI", 1].data[2:4, 5] = np.nan
            hdul["ERR", 1].data[0, 0] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        original.replace(str(theirs), newvalue=-9.0)
        gc.collect()
    pixreplace.replace(str(ours), newvalue=-9.0)
    with fits.open(ours) as n, fits.open(theirs) as o:
        for hn, ho in zip(n, o, strict=True):
            if ho.is_image and ho.data is not None:
                np.testing.assert_array_equal(hn.data, ho.data)
    capsys.readouterr()
