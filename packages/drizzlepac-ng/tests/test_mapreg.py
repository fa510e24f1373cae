"""mapreg.MapReg: sky region files mapped onto every chip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from drizzlepac_ng import mapreg, pixtosky, simulate
from drizzlepac_ng.errors import ConfigError, InputFileError

regions = pytest.importorskip("regions")

SIM = dict(shape="small", seed=12, n_stars=3, n_galaxies=0, n_bright=0, cosmic_rays=False,
           noise=False)


@pytest.fixture(scope="module")
def flc(tmp_path_factory):
    out = tmp_path_factory.mktemp("mapreg")
    return str(simulate.simulate_exposures(1, output_dir=out, **SIM)[0].path)


def _sky(flc, extver, x, y):
    return pixtosky.xy2rd(f"{flc}[sci,{extver}]", x, y, hms=False, precision=10, verbose=False)


@pytest.fixture
def regfile(flc, tmp_path):
    r1, d1 = _sky(flc, 1, 100.0, 60.0)   # on chip 1
    r2, d2 = _sky(flc, 2, 30.0, 90.0)    # on chip 2
    r3, d3 = _sky(flc, 1, 200.0, 20.0)   # excluded region on chip 1
    text = ("# Region file format: DS9\nglobal color=green\nicrs\n"
            f"circle({r1:.10f},{d1:.10f},0.5\") # text={{star}}\n"
            f"box({r2:.10f},{d2:.10f},1\",2\",30)\n"
            f"-circle({r3:.10f},{d3:.10f},0.3\")\n"
            f"point({r1 + 1.0:.10f},{d1:.10f}) # point=x\n")   # 1 deg away: on no chip
    path = tmp_path / "sky.reg"
    path.write_text(text)
    return str(path)


def _read(path):
    return list(regions.Regions.read(str(path), format="ds9"))


def test_one_file_per_chip_and_filtering(flc, regfile, tmp_path):
    out = tmp_path / "regions"
    out.mkdir()
    res = mapreg.MapReg(regfile, flc, outpath=str(out), catfname="excl.cat")
    root = Path(flc).stem
    assert res == {flc: [f"{root}_sci1_twreg.reg", f"{root}_sci2_twreg.reg"]}
    chip1 = _read(out / f"{root}_sci1_twreg.reg")
    chip2 = _read(out / f"{root}_sci2_twreg.reg")
    assert [type(r).__name__ for r in chip1] == ["CirclePixelRegion", "CirclePixelRegion"]
    assert [type(r).__name__ for r in chip2] == ["RectanglePixelRegion"]
    # positions: DS9 image coordinates are 1-based, region objects 0-based
    assert chip1[0].center.x == pytest.approx(99.0, abs=1e-5)
    assert chip1[0].center.y == pytest.approx(59.0, abs=1e-5)
    assert chip1[0].radius == pytest.approx(10.0, rel=0.05)  # 0.5" at ~0.05"/px
    assert chip1[1].meta.get("include") in (0, False)
    assert chip2[0].center.x == pytest.approx(29.0, abs=1e-5)
    assert (out / "excl.cat").read_text() == (
        f"{flc} {root}_sci1_twreg.reg {root}_sci2_twreg.reg\n")


def test_filter_none_keeps_everything_and_append(flc, regfile, tmp_path):
    res = mapreg.MapReg(regfile, flc, img_wcs_ext="sci,1", outpath=str(tmp_path),
                        filter="none")
    name = res[flc][0]
    assert len(_read(tmp_path / name)) == 4
    mapreg.MapReg(regfile, flc, img_wcs_ext=("sci", 1), outpath=str(tmp_path), append=True)
    assert len(_read(tmp_path / name)) == 6
    res = mapreg.MapReg(regfile, flc, img_wcs_ext=1, outpath=str(tmp_path), filter="precise")
    assert res[flc] == [f"{Path(flc).stem}_extn1_twreg.reg"]


def test_chip_without_regions_gets_no_file(flc, tmp_path):
    r, d = _sky(flc, 1, 50.0, 50.0)
    reg = tmp_path / "one.reg"
    reg.write_text(f"icrs\ncircle({r},{d},0.2\")\n")
    res = mapreg.MapReg(str(reg), flc, outpath=str(tmp_path), catfname="c.cat")
    assert res[flc][1] is None
    assert not (tmp_path / f"{Path(flc).stem}_sci2_twreg.reg").exists()
    assert (tmp_path / "c.cat").read_text().split()[-1] == "None"


def test_image_coordinate_input_and_chip_reg(flc, tmp_path):
    img = tmp_path / "img.reg"
    img.write_text("image\ncircle(41.0,21.0,3.0)\n")  # 1-based pixels of SCI,2
    extra = tmp_path / "extra.reg"
    extra.write_text("image\npoint(5,5)\n")
    res = mapreg.MapReg(str(img), flc, refimg=f"{flc}[sci,2]", outpath=str(tmp_path),
                        chip_reg=str(extra))
    chip2 = _read(tmp_path / res[flc][1])
    assert chip2[0].center.x == pytest.approx(40.0, abs=1e-4)
    assert chip2[0].center.y == pytest.approx(20.0, abs=1e-4)
    assert type(chip2[-1]).__name__ == "PointPixelRegion"
    chip1 = _read(tmp_path / res[flc][0])
    assert [type(r).__name__ for r in chip1] == ["PointPixelRegion"]
    with pytest.raises(ConfigError, match="refimg"):
        mapreg.MapReg(str(img), flc, outpath=str(tmp_path))


def test_errors(flc, regfile, tmp_path):
    empty = tmp_path / "empty.reg"
    empty.write_text("# Region file format: DS9\nglobal color=green\nfk5\n")
    with pytest.raises(InputFileError, match="no regions"):
        mapreg.MapReg(str(empty), flc, outpath=str(tmp_path))
    with pytest.raises(InputFileError, match="does not exist"):
        mapreg.MapReg(str(tmp_path / "none.reg"), flc, outpath=str(tmp_path))
    with pytest.raises(InputFileError, match="output directory"):
        mapreg.MapReg(regfile, flc, outpath=str(tmp_path / "nowhere"))
    with pytest.raises(InputFileError):
        mapreg.MapReg(regfile, flc, img_wcs_ext="sci,5", outpath=str(tmp_path))
    with pytest.raises(InputFileError, match="does not exist"):
        mapreg.MapReg(regfile, str(tmp_path / "x_flc.fits"), outpath=str(tmp_path))
    with pytest.raises(ConfigError, match="filter"):
        mapreg.MapReg(regfile, flc, outpath=str(tmp_path), filter="slow")
    with pytest.raises(ConfigError):
        mapreg.MapReg("", flc, outpath=str(tmp_path))
    with pytest.raises(ConfigError, match="by its name"):
        mapreg.MapReg([5], flc, outpath=str(tmp_path))
    bad = tmp_path / "bad.reg"
    bad.write_text("fk5\ncircle(a,b,c)\n")
    with pytest.raises(InputFileError, match="cannot parse"):
        mapreg.MapReg(str(bad), flc, outpath=str(tmp_path))
    assert not list(tmp_path.glob("*_twreg.reg"))


def test_missing_regions_package_message(monkeypatch):
    import builtins

    real = builtins.__import__

    def fake(name, *args, **kwargs):
        if name == "regions":
            raise ImportError("no regions")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake)
    from drizzlepac_ng.errors import DrizzlepacError

    with pytest.raises(DrizzlepacError, match=r"drizzlepac-ng\[regions\]"):
        mapreg.MapReg("a.reg", "b.fits")


def test_region_file_name():
    assert mapreg.region_file_name("dir/j8_flc.fits", ("sci", 2)) == "j8_flc_sci2_twreg.reg"
    assert mapreg.region_file_name("j8_flc.fits", 4) == "j8_flc_extn4_twreg.reg"
    assert np.isfinite(1.0)


def test_fk5_regions_are_converted_to_the_image_frame(flc, tmp_path):
    from astropy.coordinates import SkyCoord

    from drizzlepac_ng import skytopix

    r, d = _sky(flc, 1, 120.0, 70.0)
    reg = tmp_path / "fk5.reg"
    reg.write_text(f"fk5\npoint({r:.10f},{d:.10f})\n")
    res = mapreg.MapReg(str(reg), flc, img_wcs_ext="sci,1", outpath=str(tmp_path))
    got = _read(tmp_path / res[flc][0])[0].center
    icrs = SkyCoord(r, d, unit="deg", frame="fk5").icrs
    x, y = skytopix.rd2xy(f"{flc}[sci,1]", icrs.ra.deg, icrs.dec.deg, verbose=False)
    assert got.x == pytest.approx(x - 1, abs=1e-4) and got.y == pytest.approx(y - 1, abs=1e-4)


@pytest.mark.parametrize("cd", [(0.0, 0.0, 0.0, 0.0), (1e-5, 2e-5, 1e-5, 2e-5)])
def test_singular_cd_matrix_is_refused(flc, regfile, tmp_path, cd):
    import hashlib
    import shutil

    from stwcs_ng.fileio import atomic_update

    bad = tmp_path / "sing_flc.fits"
    shutil.copy(flc, bad)
    with atomic_update(bad) as hdul:
        for key, value in zip(("CD1_1", "CD1_2", "CD2_1", "CD2_2"), cd, strict=True):
            hdul["SCI", 2].header[key] = value
    before = hashlib.sha256(bad.read_bytes()).hexdigest()
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(InputFileError, match="singular") as err:
        mapreg.MapReg(regfile, str(bad), outpath=str(out))
    assert "sing_flc.fits[" in str(err.value)
    assert hashlib.sha256(bad.read_bytes()).hexdigest() == before
