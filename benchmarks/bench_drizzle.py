"""Drizzle kernel throughput: one 4096x2048 ACS/WFC-like chip onto a 0.05"/px grid.

Usage::

    python benchmarks/bench_drizzle.py [--kernels square,turbo] [--repeat 2] [--threads 1,2]

Prints input Mpix/s for every kernel at each thread count and, when the
original ``drizzle`` package is importable, its throughput measured in the
same run (variants interleaved) and the wall-time ratios ours/drizzle, plus
the single-thread CPU-time ratio (less sensitive to a shared machine), next
to the targets of issue 6
(2-core machine: square >= 1.5x on one thread and >= 2.7x on two; every other
kernel >= 1.0x and >= 1.8x).  Thread scaling is meaningless on a loaded
machine, so the load average is printed before and after every kernel.

The pixel map is built with numpy only: a cubic polynomial with ~40 px of
distortion at the chip corners, a 1.5 deg rotation and skew, and a pixel scale
of 0.0495 -> 0.05 "/px.  ``drizzle`` kernels not in drizzle 3.0 (lanczos5,
tophat) are shown without a ratio.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings

import numpy as np

from drizzlepac_ng.resample import SUPPORTED_KERNELS, Drizzle

TARGETS = {"square": (1.5, 2.7)}
DEFAULT_TARGET = (1.0, 1.8)


def wfc_like_pixmap(ny: int = 2048, nx: int = 4096) -> tuple[np.ndarray, tuple[int, int]]:
    """Pixel map of a distorted 4096x2048 chip onto a 0.05"/px grid, and the output shape."""
    y, x = np.indices((ny, nx), dtype=np.float64)
    u = (x - nx / 2) / (nx / 2)  # -1..1
    v = (y - ny / 2) / (ny / 2)
    scale = 0.0495 / 0.05
    th = np.deg2rad(1.5)
    skew = 0.02
    xd = x - nx / 2 + 25.0 * u * u + 12.0 * u * v - 8.0 * v * v + 6.0 * u**3
    yd = y - ny / 2 + 15.0 * v * v - 10.0 * u * v + 18.0 * u * u + 5.0 * v**3 + skew * (x - nx / 2)
    xo = scale * (np.cos(th) * xd - np.sin(th) * yd)
    yo = scale * (np.sin(th) * xd + np.cos(th) * yd)
    xo -= xo.min() - 10.0
    yo -= yo.min() - 10.0
    shape = (int(np.ceil(yo.max())) + 11, int(np.ceil(xo.max())) + 11)
    return np.dstack([xo, yo]), shape


def _load() -> str:
    try:
        return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        return "load average n/a"


def _clock(fn) -> tuple[float, float]:
    """(wall, cpu) seconds of one call."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernels", default=",".join(SUPPORTED_KERNELS))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args(argv)
    kernels = [k.strip() for k in args.kernels.split(",") if k.strip()]
    threads = [int(t) for t in args.threads.split(",")]

    try:
        import drizzle
        from drizzle.resample import Drizzle as OrigDrizzle

        orig_version = drizzle.__version__
    except ImportError:
        OrigDrizzle = None
        orig_version = None

    rng = np.random.default_rng(0)
    pixmap, oshape = wfc_like_pixmap()
    data = rng.normal(100.0, 5.0, pixmap.shape[:2]).astype(np.float32)
    wht = np.ones_like(data)
    npix = data.size / 1e6
    ratio = 0.05 / 0.0495

    print(
        f"# drizzlepac-ng drizzle kernels: {data.shape[1]}x{data.shape[0]} chip"
        f" -> {oshape[1]}x{oshape[0]} grid"
    )
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}, "
        f"numpy {np.__version__}, drizzle {orig_version or 'not installed'}"
    )
    print(f"# {_load()} at start; best of {args.repeat}")
    head = f"{'kernel':10s}" + "".join(f"{'ours ' + str(t) + 't':>10s}" for t in threads)
    if OrigDrizzle:
        head += f"{'drizzle':>10s}" + "".join(f"{'ratio ' + str(t) + 't':>10s}" for t in threads)
        head += f"{'cpu ratio':>10s}{'targets':>14s}  {'met':4s}"
    print(head + "  load   (input Mpix/s; ratio = ours/drizzle wall time, best of repeats)")

    all_met = True
    for kern in kernels:
        load_before = os.getloadavg()[0]
        runs = {}
        for t in threads:
            def run(t=t):
                d = Drizzle(kernel=kern, out_shape=oshape, num_threads=t)  # noqa: B023
                d.add_image(data, 1.0, pixmap, weight_map=wht, pixel_scale_ratio=ratio)

            runs[t] = run
        has_orig = OrigDrizzle is not None and kern not in ("lanczos5", "tophat")
        if has_orig:
            def run_orig():
                d = OrigDrizzle(kernel=kern, out_shape=oshape)  # noqa: B023
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    d.add_image(data, 1.0, pixmap, weight_map=wht, pixel_scale_ratio=ratio)

            runs["orig"] = run_orig
        for fn in runs.values():  # warm-up
            fn()
        wall = {k: np.inf for k in runs}
        cpu = {k: np.inf for k in runs}
        for _ in range(args.repeat):  # interleaved, so load changes hit every variant alike
            for k, fn in runs.items():
                w, c = _clock(fn)
                wall[k] = min(wall[k], w)
                cpu[k] = min(cpu[k], c)
        line = f"{kern:10s}" + "".join(f"{npix / wall[t]:10.2f}" for t in threads)
        if OrigDrizzle:
            if has_orig:
                ratios = {t: wall["orig"] / wall[t] for t in threads}
                cpu_ratio = cpu["orig"] / cpu[1] if 1 in cpu else float("nan")
                tgt = TARGETS.get(kern, DEFAULT_TARGET)
                met = all(ratios[t] >= g for t, g in zip((1, 2), tgt, strict=True) if t in ratios)
                all_met &= met
                line += f"{npix / wall['orig']:10.2f}"
                line += "".join(f"{ratios[t]:10.2f}" for t in threads)
                target = f">={tgt[0]:.1f} / >={tgt[1]:.1f}"
                line += f"{cpu_ratio:10.2f}{target:>14s}  {'yes' if met else 'NO':4s}"
            else:
                line += f"{'n/a':>10s}" + " " * (10 * len(threads) + 30)
        line += f"  {load_before:.1f}->{os.getloadavg()[0]:.1f}"
        print(line)
    print(f"# {_load()} at end")
    if OrigDrizzle:
        print(
            "# all targets met"
            if all_met
            else "# some targets NOT met (check the load column: the 2 cores are shared)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
