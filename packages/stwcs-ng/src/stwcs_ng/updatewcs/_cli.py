"""The ``stwcs-ng updatewcs`` command."""

from __future__ import annotations

import argparse

__all__ = ["register"]


def _run(args: argparse.Namespace) -> int:
    from . import updatewcs

    done = updatewcs(args.input, vacorr=not args.no_vacorr, tddcorr=not args.no_tddcorr,
                     npolcorr=not args.no_npolcorr, d2imcorr=not args.no_d2imcorr,
                     checkfiles=True, verbose=args.verbose_task, use_db=args.use_db)
    for name in done:
        print(name)
    return 0


def register(subparsers) -> None:
    """Add the ``updatewcs`` verb.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The sub-command collection of the ``stwcs-ng`` parser.
    """
    p = subparsers.add_parser(
        "updatewcs", help="apply the HST distortion model to exposures (in place)",
        description="Apply the IDCTAB/NPOLFILE/D2IMFILE distortion model to the WCS of HST "
                    "exposures, in place and atomically. Reference names like jref$x.fits are "
                    "resolved through environment variables (jref, iref, ...).")
    p.add_argument("input", nargs="+",
                   help="file names, wildcards, comma lists or @list files")
    p.add_argument("--no-vacorr", action="store_true", help="skip the velocity aberration")
    p.add_argument("--no-tddcorr", action="store_true",
                   help="skip the ACS/WFC time-dependent distortion")
    p.add_argument("--no-npolcorr", action="store_true", help="do not write NPOL tables")
    p.add_argument("--no-d2imcorr", action="store_true", help="do not write D2IM tables")
    p.add_argument("--use-db", action="store_true",
                   help="accepted for compatibility; the astrometry database is not "
                        "consulted offline (a warning is logged)")
    p.add_argument("--verbose-task", action="store_true", help="log each file at INFO level")
    p.set_defaults(func=_run)
