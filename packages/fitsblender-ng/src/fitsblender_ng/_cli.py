"""Command-line verbs of fitsblender-ng: ``blend`` and ``rules``.

``fitsblender-ng blend DRZFILE [--inputs F ...] [--output OUT] [--rules FILE]``
    Blend the input headers into a drizzled product (in place unless
    ``--output``); inputs default to the product's ``DnnnDATA`` keywords.

``fitsblender-ng rules INSTRUMENT [--show] [--check FILE]``
    Print the path of the default rules file for an instrument (with
    ``--show`` its content); ``--check`` parses a rules file and prints a
    summary, or the first syntax error with file and line.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .blendheaders import blendheaders
from .rules import RulesFile, find_rules_file, iter_rule_kinds

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``blend`` and ``rules`` verbs.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The sub-command collection of the main parser.
    """
    blend = subparsers.add_parser(
        "blend", help="write blended headers and HDRTAB into a drizzled product",
        description="Blend the headers of the inputs of a drizzled product into its headers "
                    "and an HDRTAB table.")
    blend.add_argument("drzfile", help="drizzled product (updated in place unless --output)")
    blend.add_argument("--inputs", nargs="+", metavar="FILE",
                       help="input files or chips (file.fits[sci,1]); default: DnnnDATA values")
    blend.add_argument("--output", help="write the result to this file instead")
    blend.add_argument("--rules", metavar="FILE", help="rules file (default: per instrument)")
    blend.add_argument("--sciext", default="SCI", help="EXTNAME of the inputs' science data")
    blend.set_defaults(func=_run_blend)

    rules = subparsers.add_parser(
        "rules", help="show the default rules file of an instrument, or check a rules file",
        description="Print the default rules file chosen for INSTRUMENT, or check a file.")
    rules.add_argument("instrument", nargs="?", default=None,
                       help="instrument name (ACS, WFC3, STIS, NICMOS, WFPC2, ...)")
    rules.add_argument("--telescope", default="HST", help="telescope (fallback rules)")
    rules.add_argument("--show", action="store_true", help="print the file content")
    rules.add_argument("--check", metavar="FILE", help="parse FILE and print a summary")
    rules.set_defaults(func=_run_rules)


def _run_blend(args: argparse.Namespace) -> int:
    written = blendheaders(args.drzfile, inputs=args.inputs, output=args.output,
                           sciext=args.sciext, rules_file=args.rules, verbose=True)
    print(written)
    return 0


def _run_rules(args: argparse.Namespace) -> int:
    if args.check:
        parsed = RulesFile.read(args.check)
        kinds = ", ".join(f"{n} {k}" for k, n in iter_rule_kinds(parsed.rules).items())
        print(f"{args.check}: version {parsed.version}, instrument {parsed.instrument}, "
              f"{len(parsed.rules)} rules ({kinds})")
        return 0
    if not args.instrument:
        print("give an INSTRUMENT or --check FILE", file=sys.stderr)
        return 2
    path = find_rules_file(args.instrument, args.telescope)
    if args.show:
        sys.stdout.write(path.read_text(encoding="utf-8"))
    else:
        print(path)
    return 0
