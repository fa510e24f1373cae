"""blendheaders task (delegating to fitsblender-ng)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from drizzlepac_ng import blendheaders, simulate
from drizzlepac_ng.errors import ConfigError
from fitsblender_ng.errors import FitsblenderError

SIM = dict(shape="small", seed=10, n_stars=5, n_galaxies=0, n_bright=0, cosmic_rays=False,
           noise=False)


@pytest.fixture
def product(tmp_path):
    sims = simulate.simulate_exposures(2, output_dir=tmp_path, **SIM)
    names = [Path(s.path).name for s in sims]
    prim = fits.Header()
    prim["INSTRUME"] = "ACS"
    prim["TELESCOP"] = "HST"
    prim["ROOTNAME"] = "final"
    k = 0
    for n in names:
        for v in (1, 2):
            k += 1
            prim[f"D{k:03d}DATA"] = f"{n}[sci,{v}]"
    data = np.zeros((8, 8), np.float32)
    hdul = fits.HDUList([fits.PrimaryHDU(header=prim), fits.ImageHDU(data, name="SCI"),
                         fits.ImageHDU(data, name="WHT"),
                         fits.ImageHDU(np.zeros((8, 8), np.int32), name="CTX")])
    path = tmp_path / "final_drc.fits"
    hdul.writeto(path)
    exptimes = [fits.getval(s.path, "EXPTIME") for s in sims]
    return str(path), [str(s.path) for s in sims], exptimes


def test_blend_in_place_from_dnnndata(product, monkeypatch):
    drz, inputs, exptimes = product
    monkeypatch.chdir(Path(drz).parent)
    written = blendheaders.blendheaders(drz)
    assert Path(written) == Path(drz)
    with fits.open(drz) as hdul:
        assert "HDRTAB" in [h.name for h in hdul]
        assert len(hdul["HDRTAB"].data) == 4
        assert hdul[0].header["TEXPTIME"] == pytest.approx(sum(exptimes))  # per exposure


def test_output_and_explicit_inputs(product, tmp_path):
    drz, inputs, _ = product
    digest = hashlib.sha256(Path(drz).read_bytes()).hexdigest()
    out = tmp_path / "blended.fits"
    blendheaders.blendheaders(drz, inputs=[f"{inputs[0]}[sci,1]"], output=str(out))
    assert hashlib.sha256(Path(drz).read_bytes()).hexdigest() == digest
    with fits.open(out) as hdul:
        assert len(hdul["HDRTAB"].data) == 1
    headers, table = blendheaders.get_blended_headers([f"{inputs[1]}[sci,2]"])
    assert len(headers) == 4 and len(table.data) == 1


def test_errors_leave_product_unchanged(product, tmp_path):
    drz, inputs, _ = product
    digest = hashlib.sha256(Path(drz).read_bytes()).hexdigest()
    with pytest.raises(FitsblenderError):
        blendheaders.blendheaders(str(tmp_path / "missing_drz.fits"))
    with pytest.raises(FitsblenderError):
        blendheaders.blendheaders(drz, inputs=[str(tmp_path / "none_flc.fits")])
    with pytest.raises(FitsblenderError):
        blendheaders.blendheaders(drz, inputs=inputs, rules_file=str(tmp_path / "x.rules"))
    with pytest.raises(ConfigError):
        blendheaders.blendheaders(drz, sciext="")
    assert hashlib.sha256(Path(drz).read_bytes()).hexdigest() == digest


def test_truncated_input_or_product_is_refused(product):
    from drizzlepac_ng.errors import InputFileError

    drz, inputs, _ = product
    digest = hashlib.sha256(Path(drz).read_bytes()).hexdigest()
    victim = Path(inputs[1])
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size * 6 // 10 + 17])
    with pytest.raises(InputFileError, match="truncated") as err:
        blendheaders.blendheaders(drz, inputs=[inputs[0], f"{inputs[1]}[sci,2]"])
    assert victim.name in str(err.value)
    with pytest.raises(FitsblenderError, match="truncated"):  # inputs from DnnnDATA
        blendheaders.blendheaders(drz)
    assert hashlib.sha256(Path(drz).read_bytes()).hexdigest() == digest
    Path(drz).write_bytes(Path(drz).read_bytes()[: Path(drz).stat().st_size // 2 + 3])
    digest = hashlib.sha256(Path(drz).read_bytes()).hexdigest()
    with pytest.raises(InputFileError, match="drizzled product") as err:
        blendheaders.blendheaders(drz, inputs=[inputs[0]])
    assert Path(drz).name in str(err.value)
    assert hashlib.sha256(Path(drz).read_bytes()).hexdigest() == digest
