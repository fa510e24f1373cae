"""Benchmark: blend 200 input chip headers (100 ACS/WFC exposures x 2 chips) with the ACS rules.

    python benchmarks/bench_fitsblender.py [--chips 200] [--repeat 5]

Prints a table of the median time of fitsblender-ng's ``get_blended_headers``
on in-memory headers and on files, with the target (< 1 s for 200 headers
with the ACS rules), and the same for the original ``fitsblender`` when it
is installed (files only: its in-memory interface does not accept header
sets), measured in the same run.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import astropy
import numpy as np

import fitsblender_ng
from fitsblender_ng import testing
from fitsblender_ng.blender import HeaderSet
from fitsblender_ng.blendheaders import get_blended_headers
from fitsblender_ng.rules import default_rules_path

TARGET_S = 1.0


def _time(func: Callable[[], object], repeat: int) -> float:
    func()  # warm-up: imports, rules parsing caches of astropy
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chips", type=int, default=200, help="number of input chip headers")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n_exp = max(1, args.chips // 2)
    hduls = [testing.acs_wfc_exposure(i, seed=1) for i in range(n_exp)]
    sets = [HeaderSet(h[0].header, h["SCI", v].header, h["ERR", v].header, h["DQ", v].header)
            for h in hduls for v in (1, 2)]
    rules = default_rules_path("ACS")

    rows = []
    t_mem = _time(lambda: get_blended_headers(sets, rules_file=rules), args.repeat)
    rows.append(("fitsblender-ng", "headers in memory", len(sets), t_mem))

    with tempfile.TemporaryDirectory() as tmp:
        files = testing.write_exposures(
            [testing.acs_wfc_exposure(i, seed=1, data=True) for i in range(n_exp)], tmp)
        specs = [f"{p}[sci,{v}]" for p in files for v in (1, 2)]
        t_files = _time(lambda: get_blended_headers(specs, rules_file=rules), args.repeat)
        rows.append(("fitsblender-ng", "files [sci,N]", len(specs), t_files))
        try:
            from fitsblender import blendheaders as original
        except ImportError:
            original = None
        if original is not None:
            orig_rules = str(Path(original.__file__).parent / "acs_header.rules")
            t_orig = _time(lambda: original.get_blended_headers(specs, rules_file=orig_rules),
                           max(1, args.repeat // 2))
            rows.append(("fitsblender 0.4.4", "files [sci,N] (its ACS rules)", len(specs),
                         t_orig))
            t_ours_orig_rules = _time(lambda: get_blended_headers(specs, rules_file=orig_rules),
                                      args.repeat)
            rows.append(("fitsblender-ng", "files [sci,N] (original's ACS rules)", len(specs),
                         t_ours_orig_rules))

    print(f"fitsblender-ng {fitsblender_ng.__version__}, astropy {astropy.__version__}, "
          f"numpy {np.__version__}, Python {platform.python_version()}, {platform.machine()}")
    print(f"{'package':<18} {'inputs':<38} {'chips':>5} {'median s':>9} {'chips/s':>8}")
    for pkg, what, n, t in rows:
        print(f"{pkg:<18} {what:<38} {n:>5} {t:>9.3f} {n / t:>8.0f}")
    if len(rows) >= 4:
        print(f"ratio original / fitsblender-ng (same files, same rules): "
              f"{rows[2][3] / rows[3][3]:.2f}")
    verdict = "met" if t_mem < TARGET_S else "MISSED"
    print(f"target: blend {len(sets)} headers with the ACS rules in < {TARGET_S:.1f} s -> "
          f"{t_mem:.3f} s ({verdict})")


if __name__ == "__main__":
    main()
