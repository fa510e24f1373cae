"""The ``stwcs-ng printwcs`` and ``stwcs-ng altwcs ...`` commands.

``printwcs FILE[ext]...``
    Print the linear WCS, plate scale and ORIENTAT of each chip.
``altwcs list FILE[ext]``
    Print the WCS keys and names of each chip.
``altwcs archive FILE[ext] [--key K] [--name NAME] [--auto-rename] [--overwrite]``
    Copy the primary WCS of each chip to an alternate key (file updated atomically).
``altwcs restore FILE[ext] (--key K | --name NAME)``
    Make an alternate WCS primary.
``altwcs delete FILE[ext] (--key K | --name NAME)``
    Delete an alternate WCS.

Without ``[ext]`` every ``SCI`` extension is used.
"""

from __future__ import annotations

import argparse

from . import altwcs
from ._ext import extension_indices, open_input, split_filename

__all__ = ["register"]


def _chips(path: str) -> list[tuple[str, object]]:
    """(file, ext) pairs for every chip selected by ``path``."""
    with open_input(path) as (hdul, name, ext):
        out = []
        for i in extension_indices(hdul, ext, filename=name):
            h = hdul[i].header
            out.append((name, (str(h.get("EXTNAME", "PRIMARY")).strip(),
                               int(h.get("EXTVER", 1))) if i else 0))
        return out


def _printwcs(args: argparse.Namespace) -> int:
    from .hstwcs import HSTWCS

    for path in args.files:
        for name, ext in _chips(path):
            HSTWCS(name, ext=ext).printwcs()
    return 0


def _list(args: argparse.Namespace) -> int:
    for path in args.files:
        for name, ext in _chips(path):
            label = f"{name}[{ext[0]},{ext[1]}]" if isinstance(ext, tuple) else f"{name}[{ext}]"
            print(label)
            names = altwcs.wcsnames(name, ext)
            for key in altwcs.wcskeys(name, ext):
                shown = "PRIMARY" if key == " " else key
                print(f"  {shown:8s} {names.get(key, '')}")
    return 0


def _mode(args: argparse.Namespace) -> altwcs.ArchiveMode:
    mode = altwcs.ArchiveMode.NO_CONFLICT
    if args.auto_rename:
        mode |= altwcs.ArchiveMode.AUTO_RENAME
    if args.overwrite:
        mode |= altwcs.ArchiveMode.OVERWRITE_KEY
    return mode


def _archive(args: argparse.Namespace) -> int:
    name, ext = split_filename(args.file)
    key, wcsname = altwcs.archive_wcs(name, ext, wcskey=args.key, wcsname=args.name,
                                      mode=_mode(args))
    if key is None:
        print("nothing archived")
        return 1
    print(f"archived as key {key} ({wcsname})")
    return 0


def _restore(args: argparse.Namespace) -> int:
    name, ext = split_filename(args.file)
    altwcs.restoreWCS(name, ext, wcskey=args.key or " ", wcsname=args.name or " ")
    return 0


def _delete(args: argparse.Namespace) -> int:
    name, ext = split_filename(args.file)
    altwcs.deleteWCS(name, ext, wcskey=args.key or " ", wcsname=args.name or " ")
    return 0


def _selector(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--key", help="alternate WCS key (A-Z)")
    group.add_argument("--name", help="alternate WCS name (WCSNAME<key>)")


def register(subparsers) -> None:
    """Add the ``printwcs`` and ``altwcs`` verbs.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The sub-command collection of the ``stwcs-ng`` parser.
    """
    p = subparsers.add_parser("printwcs", help="print the WCS of each chip",
                              description="Print CD, CRVAL, CRPIX, NAXIS, plate scale and "
                                          "ORIENTAT of each chip (FILE or FILE[ext]).")
    p.add_argument("files", nargs="+", metavar="FILE[ext]")
    p.set_defaults(func=_printwcs)

    p = subparsers.add_parser("altwcs", help="list, archive, restore or delete alternate WCSs",
                              description="Manage FITS alternate WCSs (keys A-Z; O is the "
                                          "original OPUS WCS). Files are updated atomically.")
    sub = p.add_subparsers(dest="altwcs_command", metavar="ACTION", required=True)
    q = sub.add_parser("list", help="print the keys and names of each chip")
    q.add_argument("files", nargs="+", metavar="FILE[ext]")
    q.set_defaults(func=_list)
    q = sub.add_parser("archive", help="copy the primary WCS to an alternate key")
    q.add_argument("file", metavar="FILE[ext]")
    q.add_argument("--key", default=None, help="target key (default: next free)")
    q.add_argument("--name", default=None, help="WCS name (default: the primary WCSNAME)")
    q.add_argument("--auto-rename", action="store_true", help="make a clashing name unique")
    q.add_argument("--overwrite", action="store_true", help="replace an existing key")
    q.set_defaults(func=_archive)
    q = sub.add_parser("restore", help="make an alternate WCS primary")
    q.add_argument("file", metavar="FILE[ext]")
    _selector(q)
    q.set_defaults(func=_restore)
    q = sub.add_parser("delete", help="delete an alternate WCS")
    q.add_argument("file", metavar="FILE[ext]")
    _selector(q)
    q.set_defaults(func=_delete)
