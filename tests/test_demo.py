"""End to end across the three packages: the README's main job on small simulated chips."""

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from drizzlepac_ng.cli import main
from drizzlepac_ng.demo import run_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    return run_demo(out, n_exposures=3, shape="small", seed=3, num_cores=2)


def test_product_layout(demo):
    with fits.open(demo.product) as hdul:
        names = [h.name for h in hdul]
        assert names[:4] == ["PRIMARY", "SCI", "WHT", "CTX"]
        assert "HDRTAB" in names
        assert len(hdul["HDRTAB"].data) == 3 * 2  # one row per input chip
        assert hdul[0].header["NDRIZIM"] == 6
        assert hdul[0].header["D001DATA"].endswith("[sci,1]")
        sci = hdul["SCI"].data
        assert sci.dtype.kind == "f" and sci.dtype.itemsize == 4  # float32 (big-endian on disk)
        assert np.isfinite(sci).mean() > 0.5


def test_inputs_were_calibrated_by_updatewcs(demo):
    for path in demo.inputs:
        with fits.open(path) as hdul:
            hdr = hdul["SCI", 1].header
            assert hdr["CTYPE1"] == "RA---TAN-SIP"
            assert hdr["WCSNAME"].startswith("IDC_")
            assert hdr["WCSNAMEO"] == "OPUS"
            assert "MDRIZSKY" in hdr


def test_product_wcs_matches_sources(demo):
    """The brightest catalogued star lands where the product's WCS says."""
    from drizzlepac_ng import simulate

    with fits.open(demo.product) as hdul:
        sci = np.nan_to_num(hdul["SCI"].data.astype(float))
        wcs = WCS(hdul["SCI"].header)
    sim = simulate.simulate_exposures(3, shape="small", seed=3, dither="box", raw=True)
    cat = sim.catalog
    x, y = wcs.all_world2pix(np.asarray(cat["RA"]), np.asarray(cat["DEC"]), 0)
    ny, nx = sci.shape
    stars = [i for i in np.argsort(-np.asarray(cat["RATE"]))
             if cat["TYPE"][i] == "star" and 5 < x[i] < nx - 6 and 5 < y[i] < ny - 6]
    assert stars
    i = stars[len(stars) // 4]  # a bright star, but not necessarily saturated
    x0, y0 = int(round(x[i])), int(round(y[i]))
    stamp = sci[y0 - 3:y0 + 4, x0 - 3:x0 + 4]
    assert stamp[3, 3] == pytest.approx(stamp.max())


def test_quicklook_png(demo):
    pytest.importorskip("matplotlib")
    assert demo.quicklook is not None
    assert demo.quicklook.read_bytes()[:4] == b"\x89PNG"


def test_demo_command_line(tmp_path, capsys):
    assert main(["demo", "--shape", "small", "--n", "2", "--seed", "5",
                 "--output-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "demo_drc.fits" in out
    assert (tmp_path / "demo_drc.fits").is_file()
