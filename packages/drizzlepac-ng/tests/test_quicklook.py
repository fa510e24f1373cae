"""Quick-look PNGs of drizzled products."""

import numpy as np
import pytest
from astropy.io import fits

from drizzlepac_ng.errors import InputFileError
from drizzlepac_ng.quicklook import count_inputs, stretch, write_quicklook


def test_stretch_range_and_nan():
    img = np.linspace(-5, 100, 400).reshape(20, 20)
    img[0, 0] = np.nan
    out = stretch(img)
    assert np.isnan(out[0, 0])
    good = out[np.isfinite(out)]
    assert good.min() == 0.0 and good.max() == 1.0
    assert np.all(np.diff(out.ravel()[1:]) >= 0)  # monotonic


def test_count_inputs_2d_and_3d():
    ctx = np.array([[0, 1], [3, -1]], dtype=np.int32)  # -1: all 32 bits set
    assert count_inputs(ctx).tolist() == [[0, 1], [2, 32]]
    ctx3 = np.stack([ctx, np.array([[1, 0], [0, 7]], dtype=np.int32)])
    assert count_inputs(ctx3).tolist() == [[1, 1], [2, 35]]


def test_write_quicklook(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "x_drz.fits"
    sci = np.random.default_rng(0).normal(size=(64, 80)).astype(np.float32)
    sci[:5] = np.nan
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(sci, name="SCI"),
                  fits.ImageHDU(np.ones_like(sci), name="WHT"),
                  fits.ImageHDU(np.ones(sci.shape, np.int32), name="CTX")]).writeto(path)
    png = write_quicklook(path, max_size=32)
    assert png == tmp_path / "x_drz.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_write_quicklook_needs_sci(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "bad.fits"
    fits.HDUList([fits.PrimaryHDU()]).writeto(path)
    with pytest.raises(InputFileError, match="bad.fits"):
        write_quicklook(path)
