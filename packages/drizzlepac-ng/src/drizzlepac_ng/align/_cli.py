"""``drizzlepac-ng tweakreg`` and ``drizzlepac-ng imagefind``: command-line verbs."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``tweakreg`` and ``imagefind`` verbs."""
    p = subparsers.add_parser(
        "tweakreg", help="align the WCSs of exposures to a reference image or catalog",
        description="Find sources, match them to a reference and fit/update the WCS "
                    "(the TweakReg task).")
    p.add_argument("input", nargs="+", help="input files, wildcards or @listfile")
    p.add_argument("--refimage", default="", help="reference image (default: first input)")
    p.add_argument("--refcat", default="", help="reference catalog (RA Dec [mag])")
    p.add_argument("--updatehdr", action="store_true", help="write the fitted WCS into the inputs")
    p.add_argument("--wcsname", default="TWEAK", help="name of the new WCS")
    p.add_argument("--shiftfile", action="store_true", help="write shifts.txt")
    p.add_argument("--runfile", default="tweakreg.log", help="log file")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="any tweakreg or imagefindpars parameter (repeatable)")
    p.set_defaults(func=_tweakreg)
    q = subparsers.add_parser("imagefind", help="find sources on each chip and print them",
                              description="Run the tweakreg source finder on images and write "
                                          "x y flux lines (1-based pixels) to standard output.")
    q.add_argument("input", nargs="+", help="input files")
    q.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="imagefindpars parameter (repeatable)")
    q.set_defaults(func=_imagefind)


def _typed(name: str, text: str, defaults: dict[str, Any]) -> Any:
    low = text.strip().lower()
    if low in ("none", "indef", ""):
        return None if defaults.get(name, "") is None else ""
    if low in ("true", "yes", "false", "no"):
        return low in ("true", "yes")
    default = defaults.get(name)
    for kind in (int, float):
        if isinstance(default, kind) and not isinstance(default, bool):
            try:
                return kind(text)
            except ValueError:
                pass
    try:
        return float(text) if any(c in text for c in ".eE") else int(text)
    except ValueError:
        return text


def _parse_set(items: list[str], defaults: dict[str, Any]) -> dict[str, Any]:
    from ..errors import ConfigError

    out = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set expects NAME=VALUE, not {item!r}")
        name, value = item.split("=", 1)
        out[name.strip()] = _typed(name.strip(), value, defaults)
    return out


def _tweakreg(args: argparse.Namespace) -> int:
    from ..imagefindpars import imagefindpars_defaults
    from ..tweakreg import TWEAKREG_DEFAULTS, TweakReg

    defaults = {**TWEAKREG_DEFAULTS, **imagefindpars_defaults()}
    params = _parse_set(args.set, defaults)
    params.update(refimage=args.refimage, refcat=args.refcat, updatehdr=args.updatehdr,
                  wcsname=args.wcsname, shiftfile=args.shiftfile, runfile=args.runfile)
    params.setdefault("see2dplot", False)
    params.setdefault("residplot", "No plot")
    report = TweakReg(",".join(args.input), **params)
    print(report)
    return 0 if report.all_accepted else 1


def _imagefind(args: argparse.Namespace) -> int:
    from ..imagefindpars import ImageFindPars, imagefindpars_defaults
    from .catalogs import image_catalogs

    pars = ImageFindPars.from_dict(_parse_set(args.set, imagefindpars_defaults()))
    for name in args.input:
        for cat in image_catalogs(name, pars):
            print(f"# {name}[SCI,{cat.extver}]: {len(cat.x)} sources (x y flux ra dec)")
            for k in range(len(cat.x)):
                print(f"{cat.x[k] + 1:.4f} {cat.y[k] + 1:.4f} {cat.flux[k]:.6g} "
                      f"{cat.ra[k]:.9f} {cat.dec[k]:.9f}")
    return 0
