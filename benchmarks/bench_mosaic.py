"""Benchmark: tiled mosaic drizzle (drizzlepac_ng.mosaic.run_mosaic) scaling.

Builds a grid mosaic of simulated exposures (plain TAN WCS, small chips by
default), then times minmed median + blot/driz_cr + final drizzle:

* the whole frame as one tile, in-process (the reference bits);
* several tile shapes, in-process with 1 and 2 threads;
* a dask.distributed LocalCluster of 2 single-threaded worker processes
  (if ``distributed`` is installed).

Every run is checked bit for bit against the reference.  Usage::

    python benchmarks/bench_mosaic.py [--grid 3x4] [--chip 256x512]

``--fullsize N --workdir DIR`` instead simulates N full-size ACS/WFC
exposures (two per pointing, pointings on a grid with overlaps; ~170 MB of
files per exposure in DIR, reused when present) and runs the whole
AstroDrizzle task on them with 2048 x 2048 tiles, in-process
(``scheduler=None``, 2 threads) and on a LocalCluster of 2 single-threaded
worker processes: wall time per step, peak RSS of the main process and of
each worker (psutil samples), task time per tile / chip (Dask task stream),
bit-identity of SCI/WHT/CTX, and the extrapolation to 1,000 exposures.

``--versus DIR --workdir W [--rounds 3] [--tile 2048]`` runs AstroDrizzle on
copies of the FLC files in DIR, whole frame vs tiles, alternating, each run in
its own process: wall time, CPU time, peak RSS and the time per step.
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from drizzlepac_ng.astrodrizzle.outwcs import default_output_wcs
from drizzlepac_ng.mosaic.graph import ChipInput
from drizzlepac_ng.mosaic.run import run_mosaic
from drizzlepac_ng.mosaic.tiles import estimate_tile_memory
from drizzlepac_ng.pixmap import calc_pixmap
from drizzlepac_ng.simulate import simulate_exposures


def build(rows: int, cols: int, chip: tuple[int, int]):
    ny, nx = chip
    step_x = 0.05 * nx * 0.6 / 3600
    step_y = 0.05 * ny * 2 * 0.6 / 3600
    wcs_list, arrays = [], []
    for k in range(rows * cols):
        r, c = divmod(k, cols)
        target = (53.16 + c * step_x / np.cos(np.deg2rad(27.79)), -27.79 + r * step_y)
        sim = simulate_exposures(1, shape=chip, seed=7 + k, dither=None, distortion=(),
                                 target=target)
        hdul = sim.exposures[0].open()
        t = float(hdul[0].header["EXPTIME"])
        for ext in hdul:
            if ext.name == "SCI":
                ver = ext.header.get("EXTVER", 1)
                wcs_list.append(WCS(ext.header, hdul))
                sky = float(np.median(ext.data))
                arrays.append((k, ext.data.astype(np.float32) - sky,
                               (hdul["DQ", ver].data == 0).astype(np.float32), t, sky))
    out = default_output_wcs(wcs_list)
    chips = [ChipInput(data=d, pixmap=calc_pixmap(w, out), weight=wt, exptime=t, exposure=k,
                       in_units="counts", sky=sky, readnoise=4.0)
             for w, (k, d, wt, t, sky) in zip(wcs_list, arrays, strict=True)]
    return chips, tuple(out.pixel_shape[::-1])


#: pointing step of the full-size grid (arcsec); the ACS/WFC field is ~202"
GRID_STEP = 150.0


def grid_offsets(n: int) -> np.ndarray:
    """POSTARGs (arcsec) of ``n`` exposures: two per pointing, pointings on a grid."""
    n_point = -(-n // 2)
    cols = int(np.ceil(np.sqrt(n_point)))
    rows = -(-n_point // cols)
    out = []
    for k in range(n):
        p = k // 2
        r, c = divmod(p, cols)
        out.append((GRID_STEP * (c - (cols - 1) / 2) + 2.5 * (k % 2),
                    GRID_STEP * (r - (rows - 1) / 2) + 1.5 * (k % 2)))
    return np.array(out)


def simulate_fullsize(n: int, workdir: Path) -> list[Path]:
    """``n`` full-size ACS/WFC exposures (FLC, with distortion) in a grid mosaic.

    Files already present in ``workdir`` are reused (the simulation is deterministic).
    """
    from drizzlepac_ng.simulate import sky_catalog

    workdir.mkdir(parents=True, exist_ok=True)
    have = sorted(workdir.glob("*_flc.fits"))
    if len(have) == n:
        return have
    offsets = grid_offsets(n)
    extent = float(np.abs(offsets).max())
    # a catalog over the whole grid, with the default density of the camera field
    area = ((2 * extent + 205.0) / 205.0) ** 2
    cat = sky_catalog("ACS/WFC", seed=3, n_stars=int(1500 * area), n_galaxies=int(30 * area),
                      n_bright=int(6 * area), margin_arcsec=extent + 10.0)
    sim = simulate_exposures(n, seed=11, dither=offsets, catalog=cat, output_dir=workdir)
    return [Path(p) for p in sim.paths]


def read(path):
    with fits.open(path) as h:
        return [np.array(h[e].data) for e in ("SCI", "WHT", "CTX", "MED")]


class StepTimer:
    """A progress wrapper that records the wall time of every step (by its label)."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}

    def __call__(self, iterable, desc: str = "", total=None):
        t = time.perf_counter()
        yield from iterable
        self.times[desc] = self.times.get(desc, 0.0) + time.perf_counter() - t


class RssSampler:
    """Peak resident memory of some processes, sampled in a thread.

    ``peak`` is the whole RSS; ``anon`` its anonymous part (RSS minus the
    file-backed and shared pages, psutil's ``rss - shared``): pages of
    memory-mapped files count in the RSS but the system can drop them, so
    ``anon`` is the memory a process really holds.
    """

    def __init__(self, pids, interval: float = 0.25) -> None:
        import threading

        import psutil

        self.procs = {pid: psutil.Process(pid) for pid in pids}
        self.peak = dict.fromkeys(self.procs, 0)
        self.anon = dict.fromkeys(self.procs, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)

    def _run(self, interval: float) -> None:
        while not self._stop.is_set():
            for pid, p in self.procs.items():
                try:
                    info = p.memory_info()
                    self.peak[pid] = max(self.peak[pid], info.rss)
                    self.anon[pid] = max(self.anon[pid], info.rss - info.shared)
                except Exception:  # a process that went away
                    pass
            self._stop.wait(interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def fullsize(n: int, workdir: Path, tile: int) -> int:
    """AstroDrizzle on ``n`` full-size exposures: in-process vs a 2-worker LocalCluster."""
    import os

    from drizzlepac_ng.astrodrizzle import AstroDrizzle

    t0 = time.perf_counter()
    files = simulate_fullsize(n, workdir / "inputs")
    print(f"{n} full-size ACS/WFC exposures in {workdir / 'inputs'} "
          f"({time.perf_counter() - t0:.0f} s to simulate or find)", flush=True)
    # the default tile_shape is left to AstroDrizzle (its run plan must choose tiles here)
    common = dict(runfile="", preserve=False, build=True, num_cores=2)
    if tile != 2048:
        common["tile_shape"] = (tile, tile)
    runs = {}

    def run(name, scheduler, worker_pids):
        out = workdir / name
        out.mkdir(exist_ok=True)
        timer = StepTimer()
        with RssSampler([os.getpid(), *worker_pids]) as rss:
            t = time.perf_counter()
            res = AstroDrizzle([str(f) for f in files], output=str(out / "mosaic"),
                               scheduler=scheduler, progress=timer, **common)
            wall = time.perf_counter() - t
        with fits.open(res.product) as h:
            shape = h["SCI"].shape
            # digests, not arrays: the next run's memory must not include this one's products
            prods = [hashlib.sha256(np.ascontiguousarray(h[e].data).tobytes()).hexdigest()
                     for e in ("SCI", "WHT", "CTX")]
        runs[name] = dict(wall=wall, steps=dict(timer.times), rss=dict(rss.peak),
                          anon=dict(rss.anon),
                          prods=prods, shape=shape, pids=worker_pids)
        print(f"{name}: {wall:.0f} s ({res.plan.layout}: {res.plan.reason}); steps "
              + ", ".join(f"{k} {v:.0f} s" for k, v in timer.times.items()), flush=True)
        return res

    run("in-process", None, [])
    import distributed

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  memory_limit="6GB", dashboard_address=None) as cl, \
            distributed.Client(cl) as client:
        pids = list(client.run(os.getpid).values())
        with distributed.get_task_stream(client) as ts:
            run("LocalCluster 2x1", client, pids)
        stream = ts.data
    # task compute time by kind
    kinds: dict[str, list[float]] = {}
    for rec in stream:
        key = rec["key"] if isinstance(rec["key"], str) else str(rec["key"][0])
        kind = key.split("-")[0]
        dur = sum(s["stop"] - s["start"] for s in rec["startstops"]
                  if s.get("action") == "compute")
        kinds.setdefault(kind, []).append(dur)

    ref = runs["in-process"]
    ny, nx = ref["shape"]
    n_tiles = -(-ny // tile) * -(-nx // tile)
    print(f"\noutput {nx} x {ny} pixels, {n_tiles} tiles of {tile} x {tile}, "
          f"{2 * n} chips of 4096 x 2048")
    print(f"{'run':22s} {'wall [s]':>9s} {'main RSS (anon) [GB]':>21s} "
          f"{'worker RSS [GB]':>16s}  bit-identical SCI/WHT/CTX")
    for name, r in runs.items():
        same = ref["prods"] == r["prods"]  # byte for byte
        main_rss = r["rss"][os.getpid()] / 1e9
        main_anon = r["anon"][os.getpid()] / 1e9
        workers = [r["rss"][p] / 1e9 for p in r["pids"]]
        wtxt = " / ".join(f"{v:.2f}" for v in workers) or "-"
        main_txt = f"{main_rss:.2f} ({main_anon:.2f})"
        print(f"{name:22s} {r['wall']:9.0f} {main_txt:>21s} {wtxt:>16s}  {same}")
    print(f"\n{'task kind':12s} {'count':>6s} {'mean [s]':>9s} {'max [s]':>8s} {'sum [s]':>8s}")
    total_task = 0.0
    for kind, durs in sorted(kinds.items()):
        total_task += sum(durs)
        print(f"{kind:12s} {len(durs):6d} {np.mean(durs):9.2f} {max(durs):8.2f} "
              f"{sum(durs):8.0f}")
    cl_steps = runs["LocalCluster 2x1"]["steps"]
    # on a cluster only the pixel maps are computed in the calling process (WCS objects
    # do not pickle exactly); every other step is a task
    serial = sum(v for k, v in cl_steps.items() if k in ("pixel maps",))
    other = runs["LocalCluster 2x1"]["wall"] - sum(cl_steps.values())
    a = serial / n
    b = total_task / n
    c = other / n
    print(f"\nper exposure: {a:.1f} s serial in the main process (pixel maps), "
          f"{b:.1f} s of task time (exposures, tiles and chips), {c:.1f} s other "
          f"(loading, output frame, product writing, input updates)")
    print(f"extrapolation: T(N exposures, W workers) ~ N x ({a + c:.1f} + {b:.1f} / W) s")
    for w in (2, 8, 32, 128):
        t1000 = 1000 * (a + c + b / w)
        print(f"  1000 exposures on {w:4d} workers: ~{t1000 / 3600:.1f} h")
    worst = max(max(r["rss"][p] for p in r["pids"]) for r in runs.values() if r["pids"])
    print(f"targets: peak RSS per worker <= 2 GB: measured {worst / 1e9:.2f} GB; products "
          f"bit-identical in-process vs cluster (issue 11)")
    return 0


_VERSUS_RUN = """
import json, os, resource, shutil, sys, threading, time
from pathlib import Path
src, dest, tile = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
shutil.rmtree(dest, ignore_errors=True)
dest.mkdir(parents=True)
for p in src.glob("*.fits"):  # inputs are updated in place: always work on copies
    if not p.name.endswith("_truth.fits"):
        shutil.copy2(p, dest / p.name)
from drizzlepac_ng.astrodrizzle import AstroDrizzle
steps = {}
def progress(iterable, desc="", total=None, **kw):
    t = time.perf_counter()
    yield from iterable
    steps[desc] = steps.get(desc, 0.0) + time.perf_counter() - t
kw = dict(runfile="", preserve=False, build=True, progress=progress)
kw["tile_shape"] = (tile, tile) if tile else None  # forced either way
t0, c0 = time.perf_counter(), os.times()
AstroDrizzle(sorted(str(p) for p in dest.glob("*_flc.fits")), output=str(dest / "out"), **kw)
wall, c1 = time.perf_counter() - t0, os.times()
print(json.dumps(dict(wall=wall, cpu=c1.user - c0.user + c1.system - c0.system,
                      rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                      steps=steps)))
shutil.rmtree(dest, ignore_errors=True)
"""


def versus(inputs: Path, workdir: Path, tile: int, rounds: int) -> int:
    """Whole-frame vs tiled AstroDrizzle on the same inputs, interleaved, in subprocesses."""
    import json
    import subprocess
    import sys

    rows: dict[str, list[dict]] = {"whole frame": [], f"tiles {tile}": []}
    for r in range(rounds):
        for name, t in (("whole frame", 0), (f"tiles {tile}", tile)):
            out = subprocess.run([sys.executable, "-c", _VERSUS_RUN, str(inputs),
                                  str(workdir / f"versus_{t}"), str(t)],
                                 check=True, capture_output=True, text=True)
            rec = json.loads(out.stdout.strip().splitlines()[-1])
            rows[name].append(rec)
            print(f"round {r + 1} {name:14s} wall {rec['wall']:6.1f} s  cpu {rec['cpu']:6.1f} s  "
                  f"peak RSS {rec['rss'] / 1e9:5.2f} GB  steps " + ", ".join(
                      f"{k} {v:.1f}" for k, v in rec["steps"].items()), flush=True)
    print(f"\n{'run':14s} {'wall [s]':>9s} {'cpu [s]':>8s} {'peak RSS [GB]':>14s}  (median of "
          f"{rounds} interleaved rounds)")
    med = {}
    for name, recs in rows.items():
        med[name] = {k: float(np.median([r[k] for r in recs])) for k in ("wall", "cpu", "rss")}
        m = med[name]
        print(f"{name:14s} {m['wall']:9.1f} {m['cpu']:8.1f} {m['rss'] / 1e9:14.2f}")
    w, t = med["whole frame"], med[f"tiles {tile}"]
    print(f"target (issue 11 default switch): tiled wall within 5 % of the whole-frame run "
          f"and peak memory not above it: measured wall {t['wall'] / w['wall']:.2f}x, "
          f"cpu {t['cpu'] / w['cpu']:.2f}x, peak RSS {t['rss'] / w['rss']:.2f}x")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", default="3x4")
    ap.add_argument("--chip", default="256x512")
    ap.add_argument("--tiles", default="256,512")
    ap.add_argument("--fullsize", type=int, default=0,
                    help="run AstroDrizzle on this many full-size exposures instead")
    ap.add_argument("--workdir", default=None, help="folder for --fullsize (needs disk space)")
    ap.add_argument("--tile", type=int, default=2048, help="tile side for --fullsize")
    ap.add_argument("--versus", default=None,
                    help="folder of FLC files: whole-frame vs tiled AstroDrizzle on copies")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds for --versus")
    args = ap.parse_args()
    if args.versus:
        if not args.workdir:
            ap.error("--versus needs --workdir")
        return versus(Path(args.versus), Path(args.workdir), args.tile, args.rounds)
    if args.fullsize:
        if not args.workdir:
            ap.error("--fullsize needs --workdir")
        return fullsize(args.fullsize, Path(args.workdir), args.tile)
    rows, cols = (int(v) for v in args.grid.split("x"))
    chip = tuple(int(v) for v in args.chip.split("x"))
    t0 = time.perf_counter()
    chips, shape = build(rows, cols, chip)
    print(f"{rows * cols} exposures, {len(chips)} chips of {chip}, output {shape} "
          f"(simulated in {time.perf_counter() - t0:.1f} s)")
    median = {"halo": 1, "combine_type": "minmed"}
    rows_out = []
    with tempfile.TemporaryDirectory() as tmp:
        def timed(name, **kw):
            path = Path(tmp) / f"{len(rows_out)}.fits"
            t = time.perf_counter()
            run_mosaic(chips, shape, path, median=median, driz_cr={"grow": 1}, **kw)
            dt = time.perf_counter() - t
            rows_out.append((name, dt, read(path)))
            return dt

        timed("whole frame, 1 thread", tile_shape=shape, max_workers=1)
        for side in (int(v) for v in args.tiles.split(",")):
            for nthr in (1, 2):
                timed(f"tiles {side}x{side}, {nthr} thread(s)", tile_shape=(side, side),
                      max_workers=nthr)
        try:
            import distributed
        except ImportError:
            distributed = None
        if distributed is not None:
            with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                          dashboard_address=None) as cl, \
                    distributed.Client(cl) as client:
                side = int(args.tiles.split(",")[0])
                timed(f"LocalCluster 2 procs, tiles {side}", tile_shape=(side, side),
                      scheduler=client)
        ref = rows_out[0][2]
        print(f"\n{'run':40s} {'time [s]':>9s} {'speed-up':>9s}  bit-identical")
        for name, dt, prod in rows_out:
            same = all(np.array_equal(a, b) for a, b in zip(ref, prod, strict=True))
            print(f"{name:40s} {dt:9.2f} {rows_out[0][1] / dt:9.2f}  {same}")
    n_per_tile = len(chips)
    for side in (int(v) for v in args.tiles.split(",")):
        print(f"estimated peak per tile task {side}x{side}, <= {n_per_tile} inputs: "
              f"{estimate_tile_memory((side, side), n_per_tile) / 2**20:.0f} MiB")
    print("targets: products bit-identical for every scheduler and tile shape (issue 11 #3); "
          "scaling is reported, not asserted")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
