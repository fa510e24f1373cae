"""``stwcs-ng headerlet {summary,extract,attach,apply,delete,restore,write}``.

Thin wrappers over :mod:`stwcs_ng.wcsutil.headerlet`; every verb returns 0 on
success, and errors of the stwcs-ng hierarchy are reported by the main
command line as one line with exit status 1.
"""

from __future__ import annotations

import argparse
from typing import Any


def _hdrext(text: str | None) -> Any:
    if text is None:
        return None
    text = text.strip()
    if text.isdigit():
        return int(text)
    return text


def _summary(args: argparse.Namespace) -> int:
    from .headerlet import headerlet_summary

    columns = args.columns.split(",") if args.columns else None
    headerlet_summary(args.filename, columns=columns, maxwidth=args.maxwidth,
                      output=args.output, quiet=False)
    return 0


def _extract(args: argparse.Namespace) -> int:
    from .headerlet import extract_headerlet

    out = extract_headerlet(args.filename, args.output, extnum=_hdrext(args.hdrext),
                            hdrname=args.hdrname, clobber=args.clobber)
    print(out)
    return 0


def _attach(args: argparse.Namespace) -> int:
    from .headerlet import attach_headerlet

    attach_headerlet(args.filename, args.headerlet)
    return 0


def _apply(args: argparse.Namespace) -> int:
    from .headerlet import apply_headerlet_as_alternate, apply_headerlet_as_primary

    if args.alternate:
        apply_headerlet_as_alternate(args.filename, args.headerlet, attach=not args.no_attach,
                                     wcskey=args.wcskey, wcsname=args.wcsname)
    else:
        apply_headerlet_as_primary(args.filename, args.headerlet, attach=not args.no_attach,
                                   archive=not args.no_archive, force=args.force)
    return 0


def _delete(args: argparse.Namespace) -> int:
    from .headerlet import delete_headerlet

    removed = delete_headerlet(args.filename, hdrname=args.hdrname, hdrext=_hdrext(args.hdrext),
                               distname=args.distname, keep_first=args.keep_first)
    for name in removed:
        print(name)
    return 0


def _restore(args: argparse.Namespace) -> int:
    from .headerlet import restore_all_with_distname, restore_from_headerlet

    if args.distname:
        primary = _hdrext(args.hdrext) if args.hdrext else args.hdrname
        restore_all_with_distname(args.filename, args.distname, primary,
                                  archive=not args.no_archive)
    else:
        restore_from_headerlet(args.filename, hdrname=args.hdrname, hdrext=_hdrext(args.hdrext),
                               archive=not args.no_archive, force=args.force)
    return 0


def _write(args: argparse.Namespace) -> int:
    from .headerlet import write_headerlet

    out = write_headerlet(args.filename, args.hdrname, output=args.output, sciext=args.sciext,
                          wcsname=args.wcsname, wcskey=args.wcskey, author=args.author,
                          descrip=args.descrip, catalog=args.catalog, attach=not args.no_attach,
                          clobber=args.clobber)
    print(out)
    return 0


def register(subparsers: Any) -> None:
    """Add the ``headerlet`` verb and its sub-verbs.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From the main ``stwcs-ng`` parser.
    """
    parser = subparsers.add_parser("headerlet", help="list, extract, attach, apply, delete, "
                                   "restore and write headerlets",
                                   description="Manage headerlets (WCS solutions kept as "
                                   "small FITS files or HDRLET extensions).")
    sub = parser.add_subparsers(dest="headerlet_command", metavar="ACTION", required=True)

    p = sub.add_parser("summary", help="list the HDRLET extensions of a file")
    p.add_argument("filename")
    p.add_argument("--columns", help="comma-separated columns (default: all)")
    p.add_argument("--maxwidth", type=int, default=None, help="truncate values")
    p.add_argument("--output", help="also write the table to this text file")
    p.set_defaults(func=_summary)

    p = sub.add_parser("extract", help="write an attached headerlet to its own file")
    p.add_argument("filename")
    p.add_argument("output")
    p.add_argument("--hdrext", help="HDU index of the HDRLET extension (or 'hdrlet,N')")
    p.add_argument("--hdrname")
    p.add_argument("--clobber", action="store_true", help="replace the output file")
    p.set_defaults(func=_extract)

    p = sub.add_parser("attach", help="attach a headerlet file as a HDRLET extension")
    p.add_argument("filename")
    p.add_argument("headerlet")
    p.set_defaults(func=_attach)

    p = sub.add_parser("apply", help="apply a headerlet file as primary (or alternate) WCS")
    p.add_argument("filename")
    p.add_argument("headerlet")
    p.add_argument("--alternate", action="store_true", help="apply as an alternate WCS")
    p.add_argument("--wcskey", help="alternate key (with --alternate)")
    p.add_argument("--wcsname", help="alternate WCS name (with --alternate)")
    p.add_argument("--no-attach", action="store_true", help="do not attach the headerlet")
    p.add_argument("--no-archive", action="store_true",
                   help="do not archive the current primary WCS first")
    p.add_argument("--force", action="store_true",
                   help="apply despite a DESTIM or distortion-model mismatch")
    p.set_defaults(func=_apply)

    p = sub.add_parser("delete", help="remove HDRLET extensions")
    p.add_argument("filename")
    p.add_argument("--hdrname")
    p.add_argument("--hdrext")
    p.add_argument("--distname")
    p.add_argument("--keep-first", action="store_true")
    p.set_defaults(func=_delete)

    p = sub.add_parser("restore", help="make an attached headerlet the primary WCS again")
    p.add_argument("filename")
    p.add_argument("--hdrname")
    p.add_argument("--hdrext")
    p.add_argument("--distname", help="restore every headerlet of this distortion model "
                   "(the one selected by --hdrname/--hdrext becomes primary)")
    p.add_argument("--no-archive", action="store_true")
    p.add_argument("--force", action="store_true", help="accept a distortion-model change")
    p.set_defaults(func=_restore)

    p = sub.add_parser("write", help="write a WCS of a file as a headerlet file")
    p.add_argument("filename")
    p.add_argument("--hdrname", default=None)
    p.add_argument("--output", default=None)
    p.add_argument("--sciext", default="SCI")
    p.add_argument("--wcskey", default=None)
    p.add_argument("--wcsname", default=None)
    p.add_argument("--author", default=None)
    p.add_argument("--descrip", default=None)
    p.add_argument("--catalog", default=None)
    p.add_argument("--no-attach", action="store_true")
    p.add_argument("--clobber", action="store_true")
    p.set_defaults(func=_write)
