"""The ``drizzlepac-ng`` command line.

Each verb lives in the module that implements it; that module has a
``register(subparsers)`` function adding its parser(s) and setting
``func`` to a callable taking the parsed arguments and returning an exit
status.  Errors of the package's own hierarchy are printed as one line and
give exit status 1 (a traceback with ``--debug``).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from fitsblender_ng.errors import FitsblenderError
from stwcs_ng.errors import StwcsError

from . import __version__
from .errors import DrizzlepacError

#: Modules contributing verbs, in the order they appear in ``--help``.
COMMAND_MODULES: list[str] = [
    "drizzlepac_ng._demo_cli",
    "drizzlepac_ng.simulate._cli",
    "drizzlepac_ng.astrodrizzle._cli",
    "drizzlepac_ng._tasks_cli",
    "drizzlepac_ng.align._cli",
    "drizzlepac_ng.align._tweakback_cli",
]


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every registered verb."""
    parser = argparse.ArgumentParser(prog="drizzlepac-ng", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show debug messages")
    parser.add_argument("-q", "--quiet", action="store_true", help="show only warnings and errors")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (DrizzlepacError, StwcsError, FitsblenderError) as exc:
        if args.debug:
            raise
        logging.getLogger("drizzlepac_ng").error("%s", exc)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
