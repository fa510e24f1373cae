"""``drizzlepac-ng demo``: the main job on built-in simulated data."""

from __future__ import annotations

import argparse
import logging

log = logging.getLogger(__name__)


def _shape(text: str):
    if text in ("full", "small"):
        return text
    try:
        ny, nx = (int(v) for v in text.lower().split("x"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"shape must be full, small or NYxNX, not {text!r}") from exc
    return (ny, nx)


def _run(args: argparse.Namespace) -> int:
    from .demo import run_demo

    result = run_demo(args.output_dir, n_exposures=args.n, shape=args.shape, seed=args.seed,
                      num_cores=args.num_cores)
    print(f"inputs     : {len(result.inputs)} exposures in {result.output_dir}")
    print(f"product    : {result.product}")
    print(f"quick-look : {result.quicklook or '(matplotlib not installed)'}")
    for stage, seconds in result.timings.items():
        print(f"time {stage:<13s}: {seconds:7.1f} s")
    for name, value in result.checks.items():
        print(f"truth {name:<18s}: {value:.4f}")
    return 0


def register(subparsers) -> None:
    """Add the ``demo`` verb."""
    p = subparsers.add_parser(
        "demo", help="simulate a dithered ACS/WFC set and run updatewcs + AstroDrizzle on it",
        description="Simulate a dithered set of ACS/WFC exposures (no download), run "
                    "updatewcs and AstroDrizzle on it, compare with the truth and write "
                    "a quick-look PNG.")
    p.add_argument("--output-dir", default="demo_output", help="folder for all files")
    p.add_argument("--n", type=int, default=4, help="number of exposures (default 4)")
    p.add_argument("--shape", type=_shape, default="full",
                   help="chip shape: full (4096x2048), small, or NYxNX (default full)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--num-cores", type=int, default=None, help="threads (default: all cores)")
    p.set_defaults(func=_run)
