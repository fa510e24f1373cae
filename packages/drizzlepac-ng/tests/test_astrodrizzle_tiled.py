"""AstroDrizzle on the tiled task graph (tile_shape / scheduler, issue 11).

Small simulated ACS/WFC sets (4 exposures of 2 chips of 128 x 256).  What is
checked:

* SCI, WHT and CTX are bit-identical for two tile shapes, for chip arrays on
  disk or in memory, and on a LocalCluster of two worker processes;
* against the whole-frame run: the same cosmic-ray masks (at most 0.1 % of
  the flagged pixels differ), the same covered pixels and context, SCI
  within 1e-4 of the local value (plus 1e-6 of the image maximum), WHT within
  1e-4 (plus 2e-5 of its maximum), and star aperture fluxes within 1e-4
  (the two runs differ only by float32 rounding: the whole-frame run reuses
  float32 copies of the pixel maps);
* the product: layout, WCS, HDRTAB (one row per chip), NDRIZIM and the DQ
  cosmic-ray bit written back into the inputs;
* errors: a bad scheduler address, or an option the tiled run cannot honour,
  fails before any input is changed (sha256 of every input).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from drizzlepac_ng import astrodrizzle, simulate
from drizzlepac_ng.astrodrizzle.config import AstroDrizzleConfig
from drizzlepac_ng.errors import ConfigError
from drizzlepac_ng.mosaic import SchedulerError
from drizzlepac_ng.pixmap import PixmapPlan

SHAPE = "small"
SEED = 5
N_CHIPS = 8


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiled_base")
    cat = simulate.sky_catalog(shape=SHAPE, seed=SEED, n_stars=60, n_galaxies=0, n_bright=0,
                               rate_range=(80.0, 800.0))
    simulate.simulate_exposures(4, shape=SHAPE, seed=SEED, dither="box", catalog=cat,
                                output_dir=folder)
    return dict(folder=folder, catalog=cat)


def _copy(base, dest: Path) -> list[str]:
    dest.mkdir()
    for p in base["folder"].iterdir():
        if p.is_file():
            shutil.copy2(p, dest / p.name)
    return sorted(str(p) for p in dest.glob("*_flc.fits"))


def _run(base, dest: Path, **kw):
    files = _copy(base, dest)
    res = astrodrizzle.AstroDrizzle(files, output=str(dest / "final"), runfile="",
                                    preserve=False, build=True, **kw)
    with fits.open(res.product) as h:
        prods = [np.array(h[e].data) for e in ("SCI", "WHT", "CTX")]
    return res, prods


def _same(a, b) -> None:
    for x, y, name in zip(a, b, ("SCI", "WHT", "CTX"), strict=True):
        assert x.dtype == y.dtype and x.shape == y.shape, name
        assert np.array_equal(x, y, equal_nan=True), f"{name}: {(x != y).sum()} pixels differ"


@pytest.fixture(scope="module")
def runs(base, tmp_path_factory):
    root = tmp_path_factory.mktemp("tiled_runs")
    return {
        "classic": _run(base, root / "classic", tile_shape=None),
        "default": _run(base, root / "default"),
        "t64": _run(base, root / "t64", tile_shape=(64, 64)),
        "t100": _run(base, root / "t100", tile_shape=(100, 150), num_cores=1),
    }


def _sha(paths) -> dict[str, str]:
    return {p: hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths}


# --------------------------------------------------------------------------------------------
def test_products_independent_of_tile_shape(runs):
    _same(runs["t64"][1], runs["t100"][1])
    sci = runs["t64"][1][0]
    assert np.isfinite(sci).mean() > 0.5 and np.nanmax(sci) > 0


def test_in_memory_chips_give_the_same_bits(base, runs, tmp_path):
    _, prods = _run(base, tmp_path / "mem", tile_shape=(64, 64), in_memory=True)
    _same(runs["t64"][1], prods)


def test_same_bits_as_the_whole_frame_run(base, runs):
    # tile_shape=None: the whole-frame steps; t64/t100: the task graph with two tilings
    (cres, cprods), (tres, tprods) = runs["classic"], runs["t64"]
    assert not cres.plan.tiled and tres.plan.tiled
    cm, tm = cres.pipeline.crmasks, tres.pipeline.crmasks
    assert sorted(cm) == sorted(tm) and len(tm) == N_CHIPS
    assert sum(int(cm[k].sum()) for k in cm) > 1000
    for k in cm:
        assert np.array_equal(cm[k], tm[k]), k
    _same(cprods, tprods)
    _same(cprods, runs["t100"][1])
    # the default run of this stack (one field, fits memory) is the whole-frame one
    assert runs["default"][0].plan is not None and not runs["default"][0].plan.tiled
    _same(cprods, runs["default"][1])


def test_product_layout_wcs_hdrtab_and_dq_write_back(runs):
    cres, tres = runs["classic"][0], runs["t64"][0]
    with fits.open(tres.product) as h, fits.open(cres.product) as c:
        assert [hdu.name for hdu in h] == ["PRIMARY", "SCI", "WHT", "CTX", "HDRTAB"]
        assert len(h["HDRTAB"].data) == N_CHIPS
        prim = h[0].header
        assert prim["NDRIZIM"] == N_CHIPS and prim["D008DATA"] == c[0].header["D008DATA"]
        assert prim["EXPTIME"] == c[0].header["EXPTIME"]
        w_t, w_c = WCS(h["SCI"].header), WCS(c["SCI"].header)
        assert np.allclose(w_t.wcs.crval, w_c.wcs.crval, rtol=0, atol=1e-12)
        assert np.allclose(w_t.wcs.cd, w_c.wcs.cd, rtol=1e-12)
        assert h["SCI"].shape == c["SCI"].shape
        assert h["SCI"].header["BUNIT"] == c["SCI"].header["BUNIT"]
    # the arrays of the result are those of the product
    assert np.array_equal(np.asarray(tres.pipeline.sci), runs["t64"][1][0], equal_nan=True)
    # DQ 4096 written back exactly where the tiled run found cosmic rays
    for exp in tres.pipeline.exposures:
        with fits.open(exp.filename) as hdul:
            for chip in exp.chips:
                dq = hdul["DQ", chip.extver].data
                cr = tres.pipeline.crmasks[chip.label]
                assert np.array_equal((dq & 4096) > 0, cr)
                assert hdul["SCI", chip.extver].header["MDRIZSKY"] == pytest.approx(chip.sky)


@pytest.mark.slow
def test_local_cluster_bit_identical(base, runs, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        _, prods = _run(base, tmp_path / "dask", tile_shape=(100, 150), scheduler=client)
    _same(runs["t64"][1], prods)


def test_bad_scheduler_address_fails_before_any_change(base, tmp_path):
    pytest.importorskip("distributed")
    files = _copy(base, tmp_path / "bad")
    before = _sha(files)
    with pytest.raises(SchedulerError, match=r"cannot reach the Dask scheduler at "
                                             r"'tcp://127\.0\.0\.1:9'"):
        astrodrizzle.AstroDrizzle(files, output=str(tmp_path / "bad" / "final"), runfile="",
                                  build=True, scheduler="tcp://127.0.0.1:9")
    assert _sha(files) == before
    assert not list((tmp_path / "bad").glob("final*")) and not (tmp_path / "bad" /
                                                                 "OrIg_files").exists()
    assert not list((tmp_path / "bad").glob("astrodrizzle-tiles-*"))


@pytest.mark.parametrize("option", [dict(write_intermediates=True), dict(driz_cr_corr=True),
                                    dict(driz_sep_wcs=True, driz_sep_scale=0.1)])
def test_unsupported_options_are_clear_errors(base, tmp_path, option):
    files = _copy(base, tmp_path / "opt")
    before = _sha(files)
    name = next(iter(option))
    with pytest.raises(ConfigError, match=rf"tiled run.*{name}=True.*tile_shape=None"):
        astrodrizzle.AstroDrizzle(files, output=str(tmp_path / "opt" / "final"), runfile="",
                                  tile_shape=(64, 64), **option)
    assert _sha(files) == before


def test_parameters_in_config_files(tmp_path):
    toml = tmp_path / "p.toml"
    toml.write_text('[astrodrizzle]\ntile_shape = [512, 256]\nscheduler = "tcp://h:8786"\n')
    cfg = AstroDrizzleConfig.from_toml(toml)
    assert cfg.general.tile_shape == (512, 256) and cfg.general.scheduler == "tcp://h:8786"
    lines = cfg.describe()
    assert "tile_shape = (512, 256)  (file p.toml [astrodrizzle])" in lines
    cfgfile = tmp_path / "a.cfg"
    cfgfile.write_text("_task_name_ = astrodrizzle\ntile_shape = 1024\nscheduler = None\n")
    cfg = AstroDrizzleConfig.from_original_cfg(cfgfile)
    assert cfg.general.tile_shape == (1024, 1024) and cfg.general.scheduler is None
    default = AstroDrizzleConfig()
    assert default.general.tile_shape == (2048, 2048) and default.general.scheduler is None
    assert AstroDrizzleConfig.resolve(None, {"tile_shape": "None"}).general.tile_shape is None
    for bad in ("0 5", "big", (1, 2, 3), True):
        with pytest.raises(ConfigError, match="tile_shape"):
            AstroDrizzleConfig.resolve(None, {"tile_shape": bad})
    with pytest.raises(ConfigError, match="scheduler"):
        AstroDrizzleConfig.resolve(None, {"scheduler": 42})


def test_in_process_run_imports_no_dask(base, tmp_path):
    files = _copy(base, tmp_path / "nodask")
    code = (
        "import sys\n"
        "from drizzlepac_ng import astrodrizzle\n"
        f"astrodrizzle.AstroDrizzle({files!r}, output={str(tmp_path / 'nodask' / 'f')!r}, "
        "runfile='', preserve=False, tile_shape=(128, 128), num_cores=1)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=300)


def test_counts_units_and_no_final_drizzle(base, runs, tmp_path):
    tres, (sci, wht, ctx) = runs["t64"]
    total = np.float32(sum(e.exptime for e in tres.pipeline.exposures))
    _, (csci, cwht, cctx) = _run(base, tmp_path / "counts", tile_shape=(64, 64),
                                 final_units="counts")
    assert np.array_equal(csci, sci * total, equal_nan=True)
    assert np.array_equal(cwht, wht) and np.array_equal(cctx, ctx)
    # driz_combine=False: no product, but the cosmic rays still reach the inputs
    files = _copy(base, tmp_path / "nofinal")
    res = astrodrizzle.AstroDrizzle(files, output=str(tmp_path / "nofinal" / "final"),
                                    runfile="", preserve=False, tile_shape=(64, 64),
                                    driz_combine=False)
    assert res.product is None and res.pipeline.sci is None
    assert not list((tmp_path / "nofinal").glob("final*"))
    for exp in res.pipeline.exposures:
        with fits.open(exp.filename) as hdul:
            for chip in exp.chips:
                assert np.array_equal((hdul["DQ", chip.extver].data & 4096) > 0,
                                      tres.pipeline.crmasks[chip.label])


@pytest.mark.parametrize("skymethod,maps_by", [("localmin", "tasks"),
                                               ("globalmin+match", "tasks"),
                                               ("globalmin+match", "caller")])
def test_per_exposure_tasks_match_the_whole_frame_steps(base, tmp_path, skymethod, maps_by):
    """Static masks, sky values and chip arrays of the per-exposure tasks are those of
    the whole-frame functions (bit for bit), from files or in memory, with the pixel
    maps computed by the tasks (in-process) or by the caller (as for a cluster)."""
    from drizzlepac_ng.astrodrizzle import pipeline, tiled
    from drizzlepac_ng.astrodrizzle.inputs import load_exposures

    files = _copy(base, tmp_path / "steps")
    cfg = AstroDrizzleConfig.resolve(None, {"skymethod": skymethod, "final_wht_type": "IVM"})
    ref = load_exposures(files)
    out_wcs = pipeline.output_frame(ref, cfg.final_wcs)
    static = pipeline.static_masks(ref, cfg)
    pixmaps = pipeline.PixmapCache(out_wcs, budget=None, stepsize=cfg.general.stepsize,
                                   exact=True)
    pipeline.measure_sky(ref, static, cfg, out_wcs=out_wcs, pixmaps=pixmaps)
    run_kw = dict(max_workers=2)
    scale = pipeline._out_scale(out_wcs)
    for folder in (tmp_path / "npy", None):
        if folder is not None:
            folder.mkdir()
        exps = load_exposures(files)
        got = tiled._static_step(exps, cfg, None, run_kw)
        assert sorted(got) == sorted(static)
        for key in static:
            assert np.array_equal(got[key], static[key])
        refs = {key: tiled._save(folder, f"static_{n}", m) for n, (key, m) in
                enumerate(got.items())}
        if maps_by == "tasks":
            geometry = tiled.Geometry(out_wcs, out_wcs.pixel_shape, scale)
            pms = [[None] * len(e.chips) for e in exps]
        else:
            geometry = tiled.Geometry(None, out_wcs.pixel_shape, scale)
            pms = tiled._caller_pixmaps(exps, out_wcs, folder, cfg.general.stepsize,
                                        lambda it, **kw: it)
        pms = tiled._sky_step(exps, refs, cfg, geometry, pms, folder, None, run_kw)
        assert [c.sky for e in exps for c in e.chips] == [c.sky for e in ref for c in e.chips]
        sep, fin, records, _ = tiled._prepare_step(exps, refs, cfg, geometry, pms, folder, None,
                                                run_kw)
        chips = [(e, c) for e in ref for c in e.chips]
        assert len(sep) == len(fin) == len(records) == N_CHIPS
        bits = pipeline.interpret_bits(cfg.final.final_bits, "final_bits")
        for (exp, chip), s, f in zip(chips, sep, fin, strict=True):
            arr = chip.arrays()
            assert np.array_equal(np.load(s.data) if folder else s.data,
                                  arr.data - np.float32(chip.sky))
            # fast-mode maps travel as plans (saved in the folder: a few MB, not the map)
            assert s.pixmap is f.pixmap
            if folder:
                assert s.pixmap.endswith(".plan.npz")
                plan = PixmapPlan.load(s.pixmap)
            else:
                plan = s.pixmap
            assert isinstance(plan, PixmapPlan)
            pm = plan.evaluate()
            assert np.array_equal(pm, pixmaps.get(chip))
            assert np.array_equal(plan.evaluate_rows(slice(7, 60, 3)), pm[7:60:3])
            want, _ = pipeline.final_weight(
                exp, chip, arr, pipeline.chip_good_mask(static, exp, chip, arr.dq, bits), cfg)
            assert np.array_equal(np.load(f.weight) if folder else f.weight, want)
