"""Tests of drizzlepac_ng.astrodrizzle.config."""

import pytest

from drizzlepac_ng.astrodrizzle.config import (
    AstroDrizzleConfig,
    MedianConfig,
    SkyConfig,
    good_pixel_mask,
    interpret_bits,
    parse_memory,
    read_original_cfg,
)
from drizzlepac_ng.errors import ConfigError

ORIGINAL_CFG = """_task_name_ = astrodrizzle
input = "*flt.fits"
output = ""
num_cores = None
resetbits = "4096"

[STATE OF INPUT FILES]
clean = False

[STEP 2: SKY SUBTRACTION]
skysub = True
skymethod = "globalmin+match"
skylower = None
sky_bits = "64,32"   # a comment

[STEP 4: CREATE MEDIAN IMAGE]
combine_nsigma = 5 4
combine_type = imedian

[STEP 6: REMOVE COSMIC RAYS WITH DERIV, DRIZ_CR]
driz_cr_snr = 3.0 2.5

[STEP 7a: CUSTOM WCS FOR FINAL OUTPUT]
final_wcs = True
final_scale = 0.04
final_outnx = None

[_RULES_]
whatever = 1
"""


def test_defaults_match_originals():
    cfg = AstroDrizzleConfig()
    flat = cfg.to_flat()
    assert flat["runfile"] == "astrodrizzle.log"
    assert flat["skymethod"] == "localmin" and flat["skywidth"] == 0.1
    assert flat["combine_type"] == "minmed" and flat["combine_nsigma"] == (4.0, 3.0)
    assert flat["combine_maskpt"] == 0.3 and flat["combine_grow"] == 1
    assert flat["driz_cr_snr"] == (3.5, 3.0) and flat["driz_cr_scale"] == (1.2, 0.7)
    assert flat["driz_sep_kernel"] == "turbo" and flat["final_kernel"] == "square"
    assert flat["final_wht_type"] == "EXP" and flat["final_units"] == "cps"
    assert flat["blot_interp"] == "poly5" and flat["crbit"] == 4096
    assert flat["build"] is False and flat["preserve"] is True


def test_original_cfg_import(tmp_path):
    path = tmp_path / "astrodrizzle.cfg"
    path.write_text(ORIGINAL_CFG)
    cfg = AstroDrizzleConfig.from_original_cfg(path)
    assert cfg.sky.skymethod == "globalmin+match"
    assert cfg.sky.sky_bits == "64,32"
    assert cfg.median.combine_nsigma == (5.0, 4.0)
    assert cfg.median.combine_type == "imedian"
    assert cfg.driz_cr.driz_cr_snr == (3.0, 2.5)
    assert cfg.final_wcs.final_wcs is True and cfg.final_wcs.final_scale == 0.04
    assert cfg.general.num_cores is None
    assert "STEP 2" in cfg.sources["skymethod"]
    assert cfg.sources["final_kernel"] == "default"


def test_original_cfg_errors(tmp_path):
    path = tmp_path / "bad.cfg"
    path.write_text("[STEP 2: SKY SUBTRACTION]\nskymethd = localmin\n")
    with pytest.raises(ConfigError, match="skymethod") as exc:
        AstroDrizzleConfig.from_original_cfg(path)
    assert "bad.cfg" in str(exc.value)
    path.write_text("_task_name_ = tweakreg\n")
    with pytest.raises(ConfigError, match="tweakreg"):
        read_original_cfg(path)
    path.write_text("skyclip = lots\n")
    with pytest.raises(ConfigError, match="skyclip"):
        AstroDrizzleConfig.from_original_cfg(path)


def test_toml(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('build = true\n[median]\ncombine_type = "median"\ncombine_nlow = 1\n'
                    '[final]\nfinal_pixfrac = 0.8\nfinal_fillval = "None"\n')
    cfg = AstroDrizzleConfig.resolve(str(path), {"combine_nlow": 0})
    assert cfg.general.build is True
    assert cfg.median.combine_type == "median"
    assert cfg.median.combine_nlow == 0 and cfg.sources["combine_nlow"] == "argument"
    assert cfg.final.final_pixfrac == 0.8 and cfg.final.final_fillval is None
    assert "p.toml" in cfg.sources["build"]
    path.write_text("build = [\n")
    with pytest.raises(ConfigError, match="TOML"):
        AstroDrizzleConfig.from_toml(path)


def test_resolve_sources_and_implied_wcs():
    cfg = AstroDrizzleConfig.resolve(None, {"final_rot": 0.0})
    assert cfg.final_wcs.final_wcs is True
    assert cfg.sources["final_wcs"].startswith("implied")
    assert cfg.sources["final_rot"] == "argument"
    cfg2 = AstroDrizzleConfig.resolve(None, {"final_rot": 0.0, "final_wcs": False})
    assert cfg2.final_wcs.final_wcs is False
    assert any("final_rot = 0.0" in line for line in cfg.describe())
    with pytest.raises(ConfigError, match="defaults"):
        AstroDrizzleConfig.resolve("defaults")


@pytest.mark.parametrize("kwargs,match", [
    ({"skymethod": "nope"}, "skymethod"),
    ({"combine_nsigma": "4"}, "combine_nsigma"),
    ({"final_pixfrac": 0}, "final_pixfrac"),
    ({"final_wht_type": "VAR"}, "final_wht_type"),
    ({"crbit": 3}, "crbit"),
    ({"final_ra": 10.0}, "final_dec"),
    ({"gain": "2", "gnkeyword": "ATODGNA"}, "gnkeyword"),
    ({"final_bits": "4+x"}, "final_bits"),
    ({"memory_limit": "2 parsecs"}, "memory_limit"),
    ({"skyclp": 3}, "skyclip"),
    ({"mdriztab": True}, "mdriztab"),
])
def test_invalid_values(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        AstroDrizzleConfig.resolve(None, kwargs)


def test_sections_are_frozen():
    sky = SkyConfig(skylower="None", skyupper="10")
    assert sky.skylower is None and sky.skyupper == 10.0
    with pytest.raises(AttributeError):
        sky.skyclip = 3
    assert MedianConfig(combine_nsigma=[6, 5]).combine_nsigma == (6.0, 5.0)


def test_interpret_bits():
    assert interpret_bits("4096") == 4096
    assert interpret_bits("4096,8") == 4104
    assert interpret_bits("64+32") == 96
    assert interpret_bits(0) == 0
    assert interpret_bits(None) is None and interpret_bits("None") is None
    assert interpret_bits("~8") & 8 == 0 and interpret_bits("~8") & 16
    with pytest.raises(ConfigError):
        interpret_bits("3,4")


def test_good_pixel_mask():
    import numpy as np
    dq = np.array([0, 8, 16, 24], dtype=np.int16)
    assert good_pixel_mask(dq, 0).tolist() == [True, False, False, False]
    assert good_pixel_mask(dq, 8).tolist() == [True, True, False, False]
    assert good_pixel_mask(dq, interpret_bits("~8")).tolist() == [True, False, True, False]
    assert good_pixel_mask(dq, None).all()


def test_parse_memory():
    assert parse_memory("2GB") == 2_000_000_000
    assert parse_memory("512 MiB") == 512 * 2**20
    assert parse_memory(1e6) == 1_000_000
    assert parse_memory(None) is None
    with pytest.raises(ConfigError):
        parse_memory("-1GB")
