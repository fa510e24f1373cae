"""``drizzlepac-ng astrodrizzle``: the command line of the astrodrizzle task."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``astrodrizzle`` verb to a ``drizzlepac-ng`` sub-parser collection."""
    p = subparsers.add_parser(
        "astrodrizzle",
        help="combine dithered exposures, removing distortion and cosmic rays",
        description="Combine dithered HST exposures (FLT/FLC) into one distortion-free image "
                    "with cosmic rays rejected (the AstroDrizzle task).")
    p.add_argument("input", nargs="+",
                   help="input files, wildcards, @listfile or an _asn.fits table")
    p.add_argument("--output", default=None, help="output rootname (default: derived)")
    p.add_argument("--runfile", default=None, help="log file (default astrodrizzle.log)")
    p.add_argument("--config", default=None,
                   help="parameter file: .toml, or an original astrodrizzle .cfg")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="any astrodrizzle parameter, e.g. --set final_scale=0.04 (repeatable)")
    p.add_argument("--build", action="store_true", help="one multi-extension product")
    p.add_argument("--memory-limit", default=None, help='peak memory budget, e.g. "2GB"')
    p.add_argument("--num-cores", type=int, default=None, help="threads for the kernels")
    p.add_argument("--quicklook", action="store_true", help="also write a PNG quick-look")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_main)


def _parse_set(items: list[str]) -> dict[str, str]:
    from ..errors import ConfigError

    out = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set expects NAME=VALUE, not {item!r}")
        name, value = item.split("=", 1)
        out[name.strip()] = value.strip()
    return out


def _main(args: argparse.Namespace) -> int:
    from ..logutil import progress_bar
    from . import AstroDrizzle

    params: dict[str, Any] = _parse_set(args.set)
    if args.build:
        params["build"] = True
    if args.memory_limit:
        params["memory_limit"] = args.memory_limit
    if args.num_cores is not None:
        params["num_cores"] = args.num_cores
    if args.quicklook:
        params["quicklook"] = True
    result = AstroDrizzle(",".join(args.input), output=args.output, runfile=args.runfile,
                          configobj=args.config, progress=progress_bar(not args.no_progress),
                          **params)
    for path in result.files:
        print(path)
    return 0
