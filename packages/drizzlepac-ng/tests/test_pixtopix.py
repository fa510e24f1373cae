"""pixtopix.tran between input chips and output frames."""

from __future__ import annotations

import gc
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from drizzlepac_ng import pixtopix, simulate
from drizzlepac_ng.astrodrizzle.outwcs import default_output_wcs
from drizzlepac_ng.errors import ConfigError, InputFileError
from stwcs_ng.errors import InputFileError as StwcsInputFileError
from stwcs_ng.wcsutil import HSTWCS

SIM = dict(shape="small", seed=7, n_stars=5, n_galaxies=0, n_bright=0, cosmic_rays=False,
           noise=False)


@pytest.fixture(scope="module")
def flc(tmp_path_factory):
    out = tmp_path_factory.mktemp("pixtopix")
    return str(simulate.simulate_exposures(1, output_dir=out, **SIM)[0].path)


@pytest.fixture(scope="module")
def drz(flc, tmp_path_factory):
    """A drizzled-product-like file: PRIMARY + SCI with the default output TAN WCS."""
    with fits.open(flc) as hdul:
        # HSTWCS, as pixtopix reads them: the default frame takes the camera's
        # orientation (PA_V3, IDC keywords) which a plain astropy WCS lacks
        chips = [HSTWCS(hdul, ext=("SCI", v)) for v in (1, 2)]
        shapes = [hdul["SCI", v].data.shape for v in (1, 2)]
    out = default_output_wcs(chips, shapes)
    ny, nx = out.pixel_shape[1], out.pixel_shape[0]
    path = tmp_path_factory.mktemp("drz") / "final_drz.fits"
    fits.HDUList([fits.PrimaryHDU(),
                  fits.ImageHDU(np.zeros((ny, nx), np.float32), header=out.to_header(),
                                name="SCI")]).writeto(path)
    return str(path)


def _grid(n=9):
    yy, xx = np.mgrid[1:128:complex(n), 1:256:complex(n)]
    return xx.ravel(), yy.ravel()


@pytest.mark.parametrize("extver", [1, 2])
@pytest.mark.parametrize("use_file", [False, True])
def test_forward_then_backward(flc, drz, extver, use_file):
    x, y = _grid()
    out = drz + "[sci,1]" if use_file else None
    ox, oy = pixtopix.tran(f"{flc}[sci,{extver}]", out, "forward", x, y, verbose=False)
    assert isinstance(ox, list) and len(ox) == x.size
    bx, by = pixtopix.tran(f"{flc}[sci,{extver}]", out, "backward", ox, oy, verbose=False)
    assert np.abs(np.array(bx) - x).max() <= 1e-4
    assert np.abs(np.array(by) - y).max() <= 1e-4


def test_default_frame_equals_written_frame(flc, drz):
    a = pixtopix.tran(f"{flc}[sci,2]", None, "f", 30.0, 40.0, verbose=False)
    b = pixtopix.tran(f"{flc}[sci,2]", drz, "f", 30.0, 40.0, verbose=False)
    assert isinstance(a[0], float)
    assert a == pytest.approx(b, abs=1e-6)  # header text keeps ~12 digits


def test_forward_is_sky_consistent(flc, drz):
    """Input pixel -> output pixel agrees with the two WCSs evaluated independently."""
    with fits.open(flc) as hdul:
        w_in = WCS(hdul["SCI", 1].header, hdul)
    with fits.open(drz) as hdul:
        w_out = WCS(hdul["SCI"].header)
    ra, dec = w_in.all_pix2world([12.0, 240.0], [100.0, 3.0], 1)
    want = w_out.wcs_world2pix(ra, dec, 1)
    ox, oy = pixtopix.tran(f"{flc}[sci,1]", drz, "forward", [12.0, 240.0], [100.0, 3.0],
                           verbose=False)
    np.testing.assert_allclose(ox, want[0], atol=1e-8)
    np.testing.assert_allclose(oy, want[1], atol=1e-8)


def test_chip_to_chip_uses_both_distortions(flc):
    ox, oy = pixtopix.tran(f"{flc}[sci,1]", f"{flc}[sci,2]", "forward", [10.0], [10.0],
                           verbose=False)
    bx, by = pixtopix.tran(f"{flc}[sci,1]", f"{flc}[sci,2]", "backward", ox, oy, verbose=False)
    assert bx[0] == pytest.approx(10.0, abs=1e-6) and by[0] == pytest.approx(10.0, abs=1e-6)


def test_coordfile_output_and_table(flc, drz, tmp_path, capsys):
    f = tmp_path / "xy.dat"
    f.write_text("1 10 20\n2 30 40\n")
    out = tmp_path / "out.dat"
    ox, oy = pixtopix.tran(f"{flc}[sci,1]", drz, coordfile=str(f), colnames="c2,c3",
                           precision=3, output=str(out))
    lines = out.read_text().splitlines()
    assert lines[0] == f"# Coordinates converted from {flc}[sci,1]"
    assert lines[1] == f"{ox[0]:.3f}    {oy[0]:.3f}"
    printed = capsys.readouterr().out.splitlines()
    assert printed[1] == "# X(in)      Y(in)             X(out)         Y(out)"
    assert printed[3].startswith("10.0000  20.0000    ")
    same = pixtopix.tran(f"{flc}[sci,1]", drz, coords=str(f), colnames="c2,c3", verbose=False)
    assert same == (ox, oy)


def test_errors(flc, drz, tmp_path):
    with pytest.raises(ConfigError, match="direction"):
        pixtopix.tran(f"{flc}[sci,1]", drz, "sideways", 1.0, 1.0, verbose=False)
    with pytest.raises(ConfigError, match="give x and y"):
        pixtopix.tran(f"{flc}[sci,1]", drz, verbose=False)
    with pytest.raises(StwcsInputFileError, match="does not exist"):
        pixtopix.tran(f"{flc}[sci,1]", str(tmp_path / "none_drz.fits"), x=1.0, y=1.0,
                      verbose=False)
    with fits.open(flc) as hdul:
        w = WCS(hdul["SCI", 1].header, hdul)
    with pytest.raises(ConfigError, match="outimage=None"):
        pixtopix.tran(w, None, x=1.0, y=1.0, verbose=False)
    flat = tmp_path / "flat.fits"
    fits.PrimaryHDU(np.zeros((3, 3))).writeto(flat)
    with pytest.raises(InputFileError, match="celestial"):
        pixtopix.tran(f"{flc}[sci,1]", str(flat), x=1.0, y=1.0, verbose=False)


# ---- real WFC3 samples vs the original drizzlepac ------------------------------------------
ROOT = Path(__file__).resolve().parents[3]
HST = ROOT.parent / "shared" / "data" / "hst"


@pytest.mark.hstdata
@pytest.mark.oracle
@pytest.mark.parametrize("sample", ["sample_ipppssoot_flc.fits", "sample_ipppssoot_flt.fits"])
def test_tran_matches_drizzlepac(sample, tmp_path, capsys):
    original = pytest.importorskip("drizzlepac.pixtopix")
    path = HST / sample
    if not path.exists():
        pytest.skip("real HST samples not available")
    with fits.open(path) as hdul:
        chip = WCS(hdul["SCI", 1].header, hdul)
        shape = hdul["SCI", 1].data.shape
    frame = default_output_wcs([chip], [shape])
    drz = tmp_path / "frame_drz.fits"
    fits.HDUList([fits.PrimaryHDU(),
                  fits.ImageHDU(np.zeros(frame.pixel_shape[::-1], np.float32),
                                header=frame.to_header(), name="SCI")]).writeto(drz)
    image = f"{path}[sci,1]"
    x, y = [1.0, 5.5, 10.0], [1.0, 3.25, 10.0]
    for direction in ("forward", "backward"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            x0, y0 = original.tran(image, f"{drz}[sci,1]", direction, x=list(x), y=list(y),
                                   verbose=False)
            gc.collect()
        x1, y1 = pixtopix.tran(image, f"{drz}[sci,1]", direction, x, y, verbose=False)
        tol = 1e-7 if direction == "forward" else 2e-4  # original inverse tolerance 1e-4 px
        np.testing.assert_allclose(x1, x0, rtol=0, atol=tol)
        np.testing.assert_allclose(y1, y0, rtol=0, atol=tol)
    capsys.readouterr()
