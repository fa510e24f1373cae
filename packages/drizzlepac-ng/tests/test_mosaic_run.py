"""run_mosaic on a small simulated grid mosaic: in-process vs LocalCluster, bad schedulers."""

import os
import time
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from drizzlepac_ng.astrodrizzle.outwcs import default_output_wcs
from drizzlepac_ng.errors import DrizzlepacError, MemoryLimitError
from drizzlepac_ng.mosaic.graph import ChipInput
from drizzlepac_ng.mosaic.run import run_mosaic
from drizzlepac_ng.mosaic.scheduler import MosaicTaskError, SchedulerError, Task, run_tasks
from drizzlepac_ng.pixmap import calc_pixmap
from drizzlepac_ng.simulate import simulate_exposures

EXTS = ("SCI", "WHT", "CTX", "MED")
MEDIAN = {"halo": 1, "combine_type": "minmed", "combine_grow": 1}
DRIZ_CR = {"snr": (3.5, 3.0), "scale": (1.2, 0.7), "grow": 1}


@pytest.fixture(scope="module")
def grid_mosaic():
    """12 exposures (2 small chips each) on a 3 x 4 grid of overlapping pointings."""
    wcs_list, arrays = [], []
    for k in range(12):
        row, col = divmod(k, 4)
        target = (53.16 + col * 3.0 / 3600 / np.cos(np.deg2rad(27.79)),
                  -27.79 + row * 4.0 / 3600)
        sim = simulate_exposures(1, shape=(48, 96), seed=100 + k, dither=None, distortion=(),
                                 n_stars=20, n_galaxies=2, n_bright=1, target=target)
        hdul = sim.exposures[0].open()
        exptime = float(hdul[0].header["EXPTIME"])
        for ext in hdul:
            if ext.name != "SCI":
                continue
            ver = ext.header.get("EXTVER", 1)
            wcs_list.append(WCS(ext.header, hdul))
            dq = hdul["DQ", ver].data
            sky = float(np.median(ext.data))
            arrays.append((k, f"exp{k}[SCI,{ver}]", ext.data.astype(np.float32) - sky,
                           (dq == 0).astype(np.float32), exptime, sky))
    out_wcs = default_output_wcs(wcs_list)
    chips = [ChipInput(data=d, pixmap=calc_pixmap(w, out_wcs), weight=wt, exptime=t,
                       exposure=k, label=lab, in_units="counts", sky=sky, readnoise=4.0)
             for w, (k, lab, d, wt, t, sky) in zip(wcs_list, arrays, strict=True)]
    return chips, tuple(out_wcs.pixel_shape[::-1]), out_wcs.to_header()


def _read(path):
    with fits.open(path) as hdul:
        return {e: np.array(hdul[e].data) for e in EXTS}


def _run(grid, path, tile_shape, driz_cr=DRIZ_CR, **kw):
    chips, shape, hdr = grid
    return run_mosaic(chips, shape, path, tile_shape=tile_shape, kernel="square",
                      pixfrac=0.9, median=MEDIAN, driz_cr=driz_cr, wcs_header=hdr, **kw)


def _assert_same(a, b):
    for e in EXTS:
        assert a[e].dtype == b[e].dtype and a[e].shape == b[e].shape, e
        assert np.array_equal(a[e], b[e]), f"{e} differs"


def test_in_process_products_independent_of_tile_shape(grid_mosaic, tmp_path):
    chips, shape, _ = grid_mosaic
    whole = _read(_run(grid_mosaic, tmp_path / "whole_drz.fits", shape))
    assert whole["WHT"].max() > 0 and (whole["WHT"] > 0).mean() > 0.5
    ctx = whole["CTX"]
    assert bin(int(np.bitwise_or.reduce(ctx.ravel()))).count("1") == len(chips) == 24
    assert np.isfinite(whole["MED"]).all()
    for ts in [(64, 64), (50, 120)]:
        got = _read(_run(grid_mosaic, tmp_path / f"t{ts[0]}_drz.fits", ts, max_workers=2))
        _assert_same(whole, got)
    with fits.open(tmp_path / "whole_drz.fits") as hdul:
        assert hdul["SCI"].header["CTYPE1"].startswith("RA---TAN")
    assert not list(tmp_path.glob("*.partial"))


@pytest.mark.slow
def test_local_cluster_bit_identical(grid_mosaic, tmp_path):
    distributed = pytest.importorskip("distributed")
    ref = {ts: _read(_run(grid_mosaic, tmp_path / f"ref{ts[0]}.fits", ts))
           for ts in [(64, 64), (50, 120)]}
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            for ts, want in ref.items():
                got = _read(_run(grid_mosaic, tmp_path / f"dask{ts[0]}.fits", ts,
                                 scheduler=client))
                _assert_same(want, got)
            # the address form connects (and closes) its own client
            got = _read(_run(grid_mosaic, tmp_path / "addr.fits", (64, 64),
                             scheduler=cluster.scheduler_address))
            _assert_same(ref[(64, 64)], got)
    _assert_same(ref[(64, 64)], ref[(50, 120)])


def test_unreachable_scheduler_is_a_clear_error(grid_mosaic, tmp_path):
    pytest.importorskip("distributed")
    out = tmp_path / "x_drz.fits"
    t0 = time.monotonic()
    with pytest.raises(SchedulerError, match=r"cannot reach the Dask scheduler at 'tcp://127\.0\.0\.1:9'"):
        _run(grid_mosaic, out, (64, 64), scheduler="tcp://127.0.0.1:9", connect_timeout=2)
    assert time.monotonic() - t0 < 30
    assert not out.exists() and not list(tmp_path.iterdir())


def test_failing_tile_leaves_no_product(grid_mosaic, tmp_path):
    chips, shape, hdr = grid_mosaic
    broken = list(chips)
    broken[5] = ChipInput(data=str(tmp_path / "missing.npy"), pixmap=chips[5].pixmap,
                          exptime=chips[5].exptime, label="exp2[SCI,2]")
    out = tmp_path / "bad_drz.fits"
    with pytest.raises(MosaicTaskError, match=r"tile \d+ \(row \d+, col \d+.*failed after 2 "
                                              r"attempt\(s\).*exp2\[SCI,2\]") as info:
        run_mosaic(broken, shape, out, tile_shape=(64, 64))
    assert isinstance(info.value, DrizzlepacError)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == []


def test_task_retried_once(tmp_path):
    marker = tmp_path / "failed-once"
    tasks = [Task("a", "tile 0", _flaky, (str(marker),)), Task("b", "tile 1", pow, (2, 5))]
    assert [r for _, r in run_tasks(tasks)] == ["ok", 32]
    assert marker.exists()
    with pytest.raises(MosaicTaskError, match="tile 0 failed after 1 attempt"):
        list(run_tasks([Task("c", "tile 0", _flaky, (str(tmp_path / "other"),))], retries=0))


def test_in_process_tasks_run_in_a_bounded_window():
    """Results come in task order, and only a few tasks run ahead of the consumer, so
    finished results are not all held at once."""
    started: list[int] = []

    def work(i: int) -> int:
        started.append(i)
        return i * i

    gen = run_tasks([Task(f"t{i}", f"tile {i}", work, (i,)) for i in range(20)],
                    max_workers=1)
    _, first = next(gen)
    assert first == 0
    # one thread, two tasks in flight per thread: at most task 0 plus two more
    assert len(started) <= 3
    assert [r for _, r in gen] == [i * i for i in range(1, 20)]
    assert sorted(started) == list(range(20))


def _flaky(marker: str) -> str:
    if not os.path.exists(marker):
        Path(marker).touch()
        raise OSError("transient failure")
    return "ok"


def test_memory_limit_too_small(grid_mosaic, tmp_path):
    with pytest.raises(MemoryLimitError, match=r"tile_shape=\(|raise the worker memory"):
        _run(grid_mosaic, tmp_path / "m.fits", (256, 256), memory_limit="1MB")
    assert not list(tmp_path.iterdir())


def _die_once(marker: str, value: int) -> int:
    """Kill the worker process the first time (simulates a node lost mid-run)."""
    if not os.path.exists(marker):
        Path(marker).touch()
        os._exit(1)
    return value * 2


@pytest.mark.slow
def test_worker_dying_mid_run_is_recovered(tmp_path):
    distributed = pytest.importorskip("distributed")
    marker = str(tmp_path / "died")
    tasks = [Task(f"t{k}", f"tile {k}", _die_once if k == 1 else pow,
                  (marker, k) if k == 1 else (k, 2)) for k in range(4)]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            got = [r for _, r in run_tasks(tasks, client)]
    assert os.path.exists(marker)
    assert got == [0, 2, 4, 9]


def test_more_than_32_chips_multi_plane_context(tmp_path):
    rng = np.random.default_rng(5)
    chips = []
    for k in range(40):
        y, x = np.mgrid[0:20, 0:24].astype(float)
        pm = np.dstack([x + 3.3 * (k % 8) + 0.25, y + 4.1 * (k // 8) + 0.4])
        chips.append(ChipInput(data=rng.normal(5, 1, (20, 24)).astype(np.float32), pixmap=pm,
                               exptime=10.0, exposure=k))
    outs = []
    for ts in [(50, 60), (16, 16)]:
        path = run_mosaic(chips, (50, 60), tmp_path / f"c{ts[0]}.fits", tile_shape=ts,
                          fillval=-1.0)
        with fits.open(path) as hdul:
            outs.append([np.array(hdul[e].data) for e in ("SCI", "WHT", "CTX")])
    sci, wht, ctx = outs[0]
    assert ctx.shape == (2, 50, 60)
    assert (sci[wht == 0] == -1).all() and (wht == 0).any()
    # chip 39 (bit 7 of plane 1) covers output pixel (x=30, y=30)
    assert ctx[1, 30, 30] & (1 << 7)
    for a, b in zip(outs[0], outs[1], strict=True):
        assert np.array_equal(a, b)


def test_bad_median_type_is_rejected_up_front(grid_mosaic, tmp_path):
    chips, shape, _ = grid_mosaic
    with pytest.raises(DrizzlepacError, match="combine_type"):
        run_mosaic(chips, shape, tmp_path / "m.fits", median={"combine_type": "mode"})
    assert not list(tmp_path.iterdir())


def test_driz_cr_flags_cosmic_rays(grid_mosaic, tmp_path):
    chips, shape, _ = grid_mosaic
    plain = _run(grid_mosaic, tmp_path / "plain.fits", (64, 64), driz_cr=None)
    cr = _run(grid_mosaic, tmp_path / "cr.fits", (64, 64))
    with fits.open(plain) as a, fits.open(cr) as b:
        w0, w1 = a["WHT"].data, b["WHT"].data
        lowered = (w1 < w0).sum()
        assert 0 < lowered < 0.2 * (w0 > 0).sum() and (w1 <= w0).all()  # ~4% of inputs
        # cosmic rays are bright: flagging them lowers the brightest output pixels
        assert b["SCI"].data[w1 < w0].mean() < a["SCI"].data[w1 < w0].mean()
    with pytest.raises(DrizzlepacError, match="driz_cr needs the median"):
        run_mosaic(chips, shape, tmp_path / "x.fits", driz_cr=DRIZ_CR)


class _SmallWorkersClient:
    """Stands in for a dask Client whose workers have 2 MB each (nothing is submitted)."""

    dashboard_link = "n/a"

    def scheduler_info(self):
        return {"workers": {"tcp://a:1": {"memory_limit": 2_000_000},
                            "tcp://b:1": {"memory_limit": 8_000_000}}}

    def submit(self, *a, **k):  # pragma: no cover - must not be reached
        raise AssertionError("a task was submitted despite the memory check")

    def gather(self, *a, **k):  # pragma: no cover
        raise AssertionError


def test_cluster_worker_memory_limit_is_checked_up_front(grid_mosaic, tmp_path):
    with pytest.raises(MemoryLimitError, match=r"1\.9 MiB; (use tile_shape|no tile)"):
        _run(grid_mosaic, tmp_path / "m.fits", (256, 256), scheduler=_SmallWorkersClient())
    assert not list(tmp_path.iterdir())
