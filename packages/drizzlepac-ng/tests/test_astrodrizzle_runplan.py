"""How AstroDrizzle chooses between whole-frame steps and the tiled task graph."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from drizzlepac_ng import astrodrizzle, simulate
from drizzlepac_ng.astrodrizzle.config import AstroDrizzleConfig
from drizzlepac_ng.astrodrizzle.inputs import load_exposures
from drizzlepac_ng.astrodrizzle.pipeline import output_frame
from drizzlepac_ng.astrodrizzle.runplan import (
    MIN_COVERAGE,
    available_memory,
    frame_coverage,
    plan_run,
    tiles_forced,
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Four small exposures of one field (box dither)."""
    folder = tmp_path_factory.mktemp("plan_stack")
    simulate.simulate_exposures(4, shape="small", seed=11, dither="box", output_dir=folder)
    return sorted(str(p) for p in folder.glob("*_flc.fits"))


@pytest.fixture(scope="module")
def strip(tmp_path_factory):
    """Three small exposures in a row, each overlapping the next by ~1/5 of a chip."""
    folder = tmp_path_factory.mktemp("plan_strip")
    simulate.simulate_exposures(3, shape="small", seed=12,
                                dither=np.array([[0.0, 0.0], [10.0, 0.0], [20.0, 0.0]]),
                                output_dir=folder)
    return sorted(str(p) for p in folder.glob("*_flc.fits"))


def _cfg(files, **kw) -> AstroDrizzleConfig:
    return AstroDrizzleConfig.resolve(None, dict(input=",".join(files), **kw))


def _exposures(files, cfg):
    return load_exposures(files, icfg=cfg.instrument, resetbits=0, group=cfg.general.group,
                          in_memory=True, wcskey=cfg.general.wcskey, coeffs=cfg.general.coeffs)


def test_default_tile_shape_is_2048_and_not_forced(stack):
    cfg = _cfg(stack)
    assert cfg.general.tile_shape == (2048, 2048)
    assert not tiles_forced(cfg)
    assert tiles_forced(_cfg(stack, tile_shape=(2048, 2048)))
    assert tiles_forced(_cfg(stack, scheduler="tcp://127.0.0.1:1"))
    assert not tiles_forced(_cfg(stack, tile_shape=None))


def test_coverage_separates_a_stack_from_a_mosaic(stack, strip):
    cs = _cfg(stack)
    es = _exposures(stack, cs)
    cov_stack = frame_coverage(es, output_frame(es, cs.final_wcs))
    cm = _cfg(strip)
    em = _exposures(strip, cm)
    cov_strip = frame_coverage(em, output_frame(em, cm.final_wcs))
    assert cov_stack > 0.8 > MIN_COVERAGE > cov_strip > 0.2


def test_default_plan_for_a_stack_is_whole_frame(stack):
    cfg = _cfg(stack)
    plan = plan_run(_exposures(stack, cfg), cfg, available=8 * 2**30)
    assert not plan.tiled and plan.layout == "whole frame"
    assert "one field" in plan.reason and plan.estimate < plan.budget


def test_default_plan_for_a_mosaic_is_tiled(strip):
    cfg = _cfg(strip)
    plan = plan_run(_exposures(strip, cfg), cfg, available=8 * 2**30)
    assert plan.tiled and "mosaic" in plan.reason


@pytest.mark.parametrize("kw", [dict(memory_limit="50MB"), dict(available=40_000_000)])
def test_default_plan_tiles_when_the_whole_frame_does_not_fit(stack, kw):
    available = kw.pop("available", None)
    cfg = _cfg(stack, **kw)
    plan = plan_run(_exposures(stack, cfg), cfg, available=available)
    assert plan.tiled and plan.estimate > plan.budget
    assert ("memory_limit" if cfg.general.memory_limit else "available memory") in plan.reason


@pytest.mark.parametrize("kw, tiled", [
    (dict(tile_shape=(512, 512)), True),
    (dict(tile_shape=None, memory_limit="10GB"), False),
    (dict(write_intermediates=True), False),       # whole-frame only: kept whole
    (dict(driz_cr_corr=True), False),
])
def test_explicit_choices_win(strip, kw, tiled):
    cfg = _cfg(strip, **kw)
    plan = plan_run(_exposures(strip, cfg), cfg, available=8 * 2**30)
    assert plan.tiled is tiled, plan.reason


def test_available_memory_is_within_the_machine():
    import os

    mem = available_memory()
    total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert mem is None or 0 < mem <= total


def _run(files, dest: Path, **kw):
    dest.mkdir()
    for f in files:
        shutil.copy2(f, dest / Path(f).name)
    local = sorted(str(p) for p in dest.glob("*_flc.fits"))
    res = astrodrizzle.AstroDrizzle(local, output=str(dest / "out"), runfile="",
                                    preserve=False, build=True, **kw)
    with fits.open(res.product) as h:
        return res, [np.array(h[e].data) for e in ("SCI", "WHT", "CTX")]


def test_the_default_run_logs_its_choice_and_a_mosaic_tiles(strip, tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="drizzlepac_ng.astrodrizzle"):
        res, prods = _run(strip, tmp_path / "default")
    assert res.plan is not None and res.plan.tiled
    assert any("run: tiled task graph (a mosaic" in r.getMessage() for r in caplog.records)
    # the same bits as the whole-frame steps
    whole, wprods = _run(strip, tmp_path / "whole", tile_shape=None)
    assert not whole.plan.tiled
    for a, b, name in zip(prods, wprods, ("SCI", "WHT", "CTX"), strict=True):
        assert np.array_equal(a, b, equal_nan=True), f"{name}: {(a != b).sum()} pixels differ"
