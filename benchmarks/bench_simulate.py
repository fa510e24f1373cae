"""Simulator speed: full-size and small synthetic exposures written to disk.

Usage::

    python benchmarks/bench_simulate.py [--repeat 1] [--keep DIR]

Each case runs in a fresh child process so that the peak resident memory
(``ru_maxrss``) belongs to that case alone.  Targets (issue 3, item 5): four
full-size ACS/WFC exposures (2 chips of 4096x2048, SIP+NPOL+D2IM, stars,
galaxies, noise, cosmic rays, defects, truth files) in under 30 s, and small
(2 x 128x256) exposures in under 0.5 s each.  There is no original to compare
with (the original packages have no simulator).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

CASES = [
    ("ACS/WFC full, 4 exposures", {"n_exposures": 4, "instrument": "ACS/WFC", "shape": "full"},
     30.0),
    ("WFC3/UVIS full, 4 exposures", {"n_exposures": 4, "instrument": "WFC3/UVIS", "shape": "full"},
     30.0),
    ("ACS/WFC small, 10 exposures", {"n_exposures": 10, "instrument": "ACS/WFC", "shape": "small"},
     5.0),
    ("ACS/WFC small raw, 10 exposures",
     {"n_exposures": 10, "instrument": "ACS/WFC", "shape": "small", "raw": True}, 5.0),
]

_CHILD = r"""
import json, resource, sys, time
from drizzlepac_ng import simulate
kw = json.loads(sys.argv[1]); out = sys.argv[2]
simulate.simulate_exposures(1, shape="small", seed=99)  # imports and caches warmed up
t0 = time.perf_counter()
sim = simulate.simulate_exposures(seed=0, output_dir=out, **kw)
dt = time.perf_counter() - t0
size = sum(p.stat().st_size for p in sim.paths) + sum(e.truth_path.stat().st_size for e in sim)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": dt, "maxrss_mb": rss, "mbytes": size / 1e6}))
"""


def _load() -> str:
    try:
        return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        return "load average n/a"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs per case (best is reported)")
    parser.add_argument("--keep", default=None, help="write the files here instead of a temp dir")
    parser.add_argument("--quick", action="store_true", help="small cases only")
    args = parser.parse_args(argv)
    import numpy

    import drizzlepac_ng

    print(f"drizzlepac_ng {drizzlepac_ng.__version__}, numpy {numpy.__version__}, "
          f"python {platform.python_version()}, {os.cpu_count()} cpu(s), {_load()}")
    print(f"{'case':36s} {'time (s)':>9s} {'per exp (s)':>11s} {'peak RSS (MB)':>14s} "
          f"{'written (MB)':>12s} {'target (s)':>10s}  verdict")
    ok_all = True
    for name, kw, target in CASES:
        if args.quick and kw["shape"] == "full":
            continue
        best = None
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory(dir=args.keep) as tmp:
                res = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(kw), tmp],
                                     capture_output=True, text=True, check=True)
                r = json.loads(res.stdout.strip().splitlines()[-1])
            if best is None or r["seconds"] < best["seconds"]:
                best = r
        per = best["seconds"] / kw["n_exposures"]
        ok = best["seconds"] < target
        ok_all &= ok
        print(f"{name:36s} {best['seconds']:9.2f} {per:11.3f} {best['maxrss_mb']:14.0f} "
              f"{best['mbytes']:12.1f} {target:10.1f}  {'OK' if ok else 'MISSED'}")
    print(_load())
    print("targets: 4 full-size ACS/WFC exposures < 30 s; small exposures < 0.5 s each")
    return 0 if ok_all else 1


if __name__ == "__main__":
    t = time.perf_counter()
    rc = main()
    print(f"total {time.perf_counter() - t:.1f} s")
    sys.exit(rc)
