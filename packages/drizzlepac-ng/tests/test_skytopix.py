"""skytopix.rd2xy, and the pixtosky -> skytopix round trip on whole chips."""

from __future__ import annotations

import gc
import logging
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from drizzlepac_ng import _coords, pixtosky, simulate, skytopix
from drizzlepac_ng.errors import ConfigError, InputFileError
from stwcs_ng.errors import MissingExtensionError, NoConvergence

SIM = dict(shape="small", seed=6, n_stars=5, n_galaxies=0, n_bright=0, cosmic_rays=False,
           noise=False)


@pytest.fixture(scope="module")
def flc(tmp_path_factory):
    out = tmp_path_factory.mktemp("skytopix")
    return str(simulate.simulate_exposures(1, output_dir=out, **SIM)[0].path)


@pytest.mark.parametrize("extver", [1, 2])
def test_round_trip_every_pixel(flc, extver):
    with fits.open(flc) as hdul:
        ny, nx = hdul["SCI", extver].data.shape
    yy, xx = np.mgrid[1:ny + 1, 1:nx + 1].astype(float)
    image = f"{flc}[sci,{extver}]"
    ra, dec = pixtosky.xy2rd(image, xx.ravel(), yy.ravel(), hms=False, verbose=False)
    x, y = skytopix.rd2xy(image, ra, dec, verbose=False)
    assert np.abs(x - xx.ravel()).max() <= 1e-6
    assert np.abs(y - yy.ravel()).max() <= 1e-6


def test_matches_astropy_inverse(flc):
    with fits.open(flc) as hdul:
        w = WCS(hdul["SCI", 1].header, hdul)
    ra, dec = w.all_pix2world([20.0, 200.0], [30.0, 100.0], 1)
    x, y = skytopix.rd2xy(f"{flc}[sci,1]", ra, dec, verbose=False)
    np.testing.assert_allclose(x, [20.0, 200.0], atol=1e-7)
    np.testing.assert_allclose(y, [30.0, 100.0], atol=1e-7)


def test_sexagesimal_scalar_input(flc):
    ra_s, dec_s = pixtosky.xy2rd(f"{flc}[sci,1]", 101.0, 55.0, precision=9, verbose=False)
    x, y = skytopix.rd2xy(f"{flc}[sci,1]", ra_s, dec_s, verbose=False)
    assert isinstance(x, float)
    assert abs(x - 101.0) < 1e-4 and abs(y - 55.0) < 1e-4
    xs, ys = skytopix.rd2xy(f"{flc}[sci,1]", [ra_s, ra_s], [dec_s, dec_s], verbose=False)
    assert xs.shape == (2,)


def test_coordfile_multicolumn_sexagesimal(flc, tmp_path):
    ra, dec = pixtosky.xy2rd(f"{flc}[sci,1]", [10.0, 90.0], [12.0, 70.0], precision=9,
                             verbose=False)
    f = tmp_path / "radec.dat"
    f.write_text("# ra dec (split in fields)\n" + "".join(
        f"{r.replace(':', ' ')} {d.replace(':', ' ')}\n" for r, d in zip(ra, dec, strict=False)))
    x, y = skytopix.rd2xy(f"{flc}[sci,1]", coordfile=str(f), colnames=["c1-c3", "c4-c6"],
                          verbose=False)
    np.testing.assert_allclose(x, [10.0, 90.0], atol=1e-4)
    g = tmp_path / "radec_colon.dat"
    g.write_text("".join(f"{r} {d}\n" for r, d in zip(ra, dec, strict=False)))
    x2, _ = skytopix.rd2xy(f"{flc}[sci,1]", coordfile=str(g), verbose=False)
    np.testing.assert_allclose(x2, x, atol=1e-9)


def test_output_file_and_table(flc, tmp_path, capsys):
    ra, dec = pixtosky.xy2rd(f"{flc}[sci,1]", 10.0, 12.0, hms=False, verbose=False)
    out = tmp_path / "xy.dat"
    skytopix.rd2xy(f"{flc}[sci,1]", ra, dec, precision=3, output=str(out))
    lines = out.read_text().splitlines()
    assert lines[0] == f"# Coordinates converted from {flc}[sci,1]"
    assert lines[1] == "10.000    12.000"
    printed = capsys.readouterr().out.splitlines()
    assert printed[3].startswith("10.000  12.000    ")


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(), ConfigError, "give ra and dec"),
    (dict(ra=[1.0, 2.0], dec=[1.0]), ConfigError, "different lengths"),
    (dict(ra="1:75:00", dec="0:0:0"), ConfigError, "sexagesimal"),
    (dict(ra=10.0, dec=95.0), ConfigError, "outside"),
    (dict(coordfile="nofile.dat"), InputFileError, "does not exist"),
])
def test_errors(flc, kwargs, error, match):
    with pytest.raises(error, match=match):
        skytopix.rd2xy(f"{flc}[sci,1]", verbose=False, **kwargs)


def test_missing_extension(flc):
    with pytest.raises(MissingExtensionError):
        skytopix.rd2xy(f"{flc}[err,7]", 10.0, 10.0, verbose=False)


class _Diverging:
    """A WCS whose distortion inverse fails for the second point."""

    def __init__(self, w):
        self.w = w

    def all_world2pix(self, ra, dec, origin, **kw):
        best = np.column_stack(self.w.wcs_world2pix(ra, dec, origin)) + 5.0
        exc = NoConvergence("did not converge", best_solution=best)
        exc.failed2converge = np.array([1])
        raise exc

    def wcs_world2pix(self, *args):
        return self.w.wcs_world2pix(*args)


def test_no_convergence_falls_back_to_linear(flc, caplog):
    with fits.open(flc) as hdul:
        w = WCS(hdul["SCI", 1].header, hdul)
    ra, dec = w.wcs_pix2world([10.0, 20.0], [10.0, 20.0], 1)
    with caplog.at_level(logging.WARNING):
        x, y = skytopix.world_to_pixel(_Diverging(w), ra, dec, 1, filename="f.fits")
    assert x[0] == pytest.approx(15.0) and x[1] == pytest.approx(20.0)
    assert "did not converge for 1 of 2" in caplog.text


def test_far_positions_are_finite(flc):
    ra, dec = pixtosky.xy2rd(f"{flc}[sci,1]", 128.0, 64.0, hms=False, verbose=False)
    x, y = skytopix.rd2xy(f"{flc}[sci,1]", ra + 0.05, dec, verbose=False)
    assert np.isfinite(x) and np.isfinite(y)
    assert max(abs(x - 128), abs(y - 64)) > 100  # far outside the 256 x 128 chip


def test_format_fixed_rounding():
    assert _coords.format_fixed([1.23456, -0.5], 2) == ["1.23", "-0.50"]


# ---- real WFC3 samples vs the original drizzlepac ------------------------------------------
ROOT = Path(__file__).resolve().parents[3]
HST = ROOT.parent / "shared" / "data" / "hst"


@pytest.mark.hstdata
@pytest.mark.oracle
@pytest.mark.parametrize("sample", ["sample_ipppssoot_flc.fits", "sample_ipppssoot_flt.fits"])
def test_rd2xy_matches_drizzlepac(sample, capsys):
    original = pytest.importorskip("drizzlepac.skytopix")
    path = HST / sample
    if not path.exists():
        pytest.skip("real HST samples not available")
    image = f"{path}[sci,1]"
    x = np.array([1.0, 4.5, 10.0, 7.25])
    y = np.array([1.0, 8.0, 10.0, 2.5])
    ra, dec = pixtosky.xy2rd(image, x, y, hms=False, verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x0, y0 = original.rd2xy(image, ra=list(ra), dec=list(dec), verbose=False)
        gc.collect()
    x1, y1 = skytopix.rd2xy(image, ra, dec, verbose=False)
    # the original iterates to 1e-4 px, we to 1e-9 px: compare on the sky, and in pixels
    assert np.abs(np.asarray(x0) - x1).max() < 2e-4 and np.abs(np.asarray(y0) - y1).max() < 2e-4
    r0, d0 = pixtosky.xy2rd(image, np.asarray(x0), np.asarray(y0), hms=False, verbose=False)
    assert np.abs(r0 - ra).max() <= 1e-8 and np.abs(d0 - dec).max() <= 1e-8
    assert np.abs(x1 - x).max() <= 1e-6 and np.abs(y1 - y).max() <= 1e-6
    capsys.readouterr()
