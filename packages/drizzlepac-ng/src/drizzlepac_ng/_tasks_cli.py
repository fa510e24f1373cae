"""Command-line verbs of the small tasks.

``pixtosky``, ``skytopix``, ``pixtopix``, ``resetbits``, ``pixreplace``,
``photeq``, ``mapreg``, ``updatenpol`` and ``blendheaders``: each maps its
options one to one onto the parameters of the task function of the same
module (``drizzlepac-ng <verb> --help`` lists them).
"""

from __future__ import annotations

import argparse
import math
from typing import Any

__all__ = ["register"]


def _float_or_nan(text: str) -> float:
    if text.strip().lower() in ("nan", "none"):
        return math.nan
    return float(text)


def _positions(args: argparse.Namespace, a: str, b: str):
    va, vb = getattr(args, a), getattr(args, b)
    if va is not None and len(va) == 1 and vb is not None and len(vb) == 1:
        return va[0], vb[0]
    return va, vb


def _coord_options(p: argparse.ArgumentParser, *, sky: bool = False) -> None:
    p.add_argument("--coordfile", "--coords", dest="coordfile", metavar="FILE",
                   help="file of positions (ASCII or FITS table)")
    p.add_argument("--colnames", help="columns of the file, e.g. 'c3,c4' "
                   + ("or 'c1-c3,c4-c6' for split sexagesimal" if sky else ""))
    p.add_argument("--separator", help="column delimiter of the file (default white space)")
    p.add_argument("--precision", type=int, default=6, help="decimals written (default 6)")
    p.add_argument("--output", metavar="FILE", help="write the results to FILE")
    p.add_argument("--no-table", action="store_true", help="do not print the result table")


def _run_pixtosky(args: argparse.Namespace) -> int:
    from .pixtosky import xy2rd

    x, y = _positions(args, "x", "y")
    xy2rd(args.input, x=x, y=y, coordfile=args.coordfile, colnames=args.colnames,
          separator=args.separator, hms=args.hms, precision=args.precision, output=args.output,
          verbose=not args.no_table)
    return 0


def _run_skytopix(args: argparse.Namespace) -> int:
    from .skytopix import rd2xy

    ra, dec = _positions(args, "ra", "dec")
    rd2xy(args.input, ra=ra, dec=dec, coordfile=args.coordfile, colnames=args.colnames,
          precision=args.precision, output=args.output, verbose=not args.no_table,
          separator=args.separator)
    return 0


def _run_pixtopix(args: argparse.Namespace) -> int:
    from .pixtopix import tran

    x, y = _positions(args, "x", "y")
    tran(args.inimage, args.outimage, direction=args.direction, x=x, y=y,
         coordfile=args.coordfile, colnames=args.colnames, separator=args.separator,
         precision=args.precision, output=args.output, verbose=not args.no_table)
    return 0


def _run_resetbits(args: argparse.Namespace) -> int:
    from .resetbits import reset_dq_bits

    done = reset_dq_bits(args.input, bits=args.bits, extver=args.extver, extname=args.extname)
    for name in done:
        print(name)
    return 0


def _run_pixreplace(args: argparse.Namespace) -> int:
    from .pixreplace import replace

    counts = replace(args.input, pixvalue=args.pixvalue, newvalue=args.newvalue,
                     ext=args.ext if args.ext else None)
    for name, n in counts.items():
        print(f"{name}: {n} pixel(s) replaced")
    return 0


def _run_photeq(args: argparse.Namespace) -> int:
    from .photeq import photeq

    aux: Any = args.aux_phot_kwd
    if aux is not None and aux.strip().lower() in ("", "none"):
        aux = None
    res = photeq(files=args.files, sciext=args.sciext, errext=args.errext,
                 ref_phot=args.ref_phot, ref_phot_ext=args.ref_phot_ext,
                 phot_kwd=args.phot_kwd, aux_phot_kwd=aux,
                 search_primary=not args.no_search_primary, readonly=not args.update,
                 logfile=args.logfile or None)
    # the report itself goes to the log (stderr) and the log file; stdout gets the summary
    scaled = [c for c in res.changes if c.factor not in (None, 1.0)]
    verb = "would be rescaled (readonly; use --update)" if res.readonly else "rescaled"
    print(f"reference {args.phot_kwd.upper()} = {res.ref_phot!r} ({res.ref_source}); "
          f"{len(scaled)} extension(s) {verb}")
    return 0


def _run_mapreg(args: argparse.Namespace) -> int:
    from .mapreg import MapReg

    ext: Any = args.img_wcs_ext
    res = MapReg(args.input_reg, args.images, img_wcs_ext=ext, refimg=args.refimg or "",
                 ref_wcs_ext=args.ref_wcs_ext, chip_reg=args.chip_reg or "",
                 outpath=args.outpath, filter=args.filter, catfname=args.catfname or "",
                 append=args.append, verbose=True)
    for image, names in res.items():
        print(image, " ".join(n or "None" for n in names))
    return 0


def _run_updatenpol(args: argparse.Namespace) -> int:
    from .updatenpol import update

    for name in update(args.input, refdir=args.refdir, local=args.local,
                       interactive=args.interactive, wcsupdate=not args.no_wcsupdate):
        print(name)
    return 0


def _run_blendheaders(args: argparse.Namespace) -> int:
    from .blendheaders import blendheaders

    print(blendheaders(args.drzfile, inputs=args.inputs, output=args.output,
                       sciext=args.sciext, errext=args.errext, dqext=args.dqext,
                       rules_file=args.rules, verbose=True))
    return 0


def register(subparsers: Any) -> None:
    """Add the small-task verbs.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The sub-command collection of the main parser.
    """
    p = subparsers.add_parser("pixtosky", help="pixel positions of a chip to RA/Dec",
                              description="Transform 1-based pixel positions of one chip "
                              "into sky coordinates with the full distortion model.")
    p.add_argument("input", help="image and extension, e.g. 'j8bt06nyq_flc.fits[sci,1]'")
    p.add_argument("--x", type=float, nargs="+", help="x position(s)")
    p.add_argument("--y", type=float, nargs="+", help="y position(s)")
    p.add_argument("--hms", action=argparse.BooleanOptionalAction, default=True,
                   help="sexagesimal output (default) or degrees (--no-hms)")
    _coord_options(p)
    p.set_defaults(func=_run_pixtosky)

    p = subparsers.add_parser("skytopix", help="RA/Dec to pixel positions of a chip",
                              description="Transform sky positions (degrees or sexagesimal, "
                              "RA in hours) into 1-based pixel positions of one chip.")
    p.add_argument("input", help="image and extension")
    p.add_argument("--ra", nargs="+", help="RA value(s): degrees or H:M:S")
    p.add_argument("--dec", nargs="+", help="Dec value(s): degrees or D:M:S")
    _coord_options(p, sky=True)
    p.set_defaults(func=_run_skytopix)

    p = subparsers.add_parser("pixtopix", help="pixel positions between a chip and an "
                              "output frame", description="Transform pixel positions from an "
                              "input chip to an output (drizzled) frame or back.")
    p.add_argument("inimage", help="input chip, e.g. 'j8bt06nyq_flc.fits[sci,1]'")
    p.add_argument("outimage", nargs="?", default=None,
                   help="output frame (default: the undistorted frame of all input chips)")
    p.add_argument("--direction", default="forward", choices=["forward", "backward"])
    p.add_argument("--x", type=float, nargs="+", help="x position(s)")
    p.add_argument("--y", type=float, nargs="+", help="y position(s)")
    _coord_options(p)
    p.set_defaults(func=_run_pixtopix)

    p = subparsers.add_parser("resetbits", help="clear DQ bit flags in place",
                              description="Clear bit flags (default 4096, cosmic rays) in the "
                              "DQ arrays of exposures, in place.")
    p.add_argument("input", help="file(s): name, wildcard, comma list or @list")
    p.add_argument("--bits", default="4096", help="flags to clear, e.g. '4096' or '4096,8'")
    p.add_argument("--extver", type=int, nargs="+", help="EXTVERs (default: all)")
    p.add_argument("--extname", default="dq", help="EXTNAME of the DQ arrays (default dq)")
    p.set_defaults(func=_run_resetbits)

    p = subparsers.add_parser("pixreplace", help="replace pixel values (NaN) in place",
                              description="Replace pixels equal to a value (NaN by default) "
                              "in image extensions, in place.")
    p.add_argument("input", help="file(s)")
    p.add_argument("--pixvalue", type=_float_or_nan, default=math.nan,
                   help="value to replace (default nan)")
    p.add_argument("--newvalue", type=float, default=0.0, help="replacement (default 0)")
    p.add_argument("--ext", nargs="+", help="extensions, e.g. 'sci,1' 'err' 3 (default all)")
    p.set_defaults(func=_run_pixreplace)

    p = subparsers.add_parser("photeq", help="equalize PHOTFLAM of all chips",
                              description="Rescale SCI and ERR data so that every chip has the "
                              "same PHOTFLAM; report only unless --update.")
    p.add_argument("files", nargs="?", default="*_flt.fits", help="files (default *_flt.fits)")
    p.add_argument("--sciext", default="SCI")
    p.add_argument("--errext", default="ERR")
    p.add_argument("--ref-phot", type=float, default=None, help="reference value")
    p.add_argument("--ref-phot-ext", default=None, help="extension holding the reference")
    p.add_argument("--phot-kwd", default="PHOTFLAM")
    p.add_argument("--aux-phot-kwd", default="PHOTFNU", help="comma list, or 'none'")
    p.add_argument("--no-search-primary", action="store_true")
    p.add_argument("--update", action="store_true", help="modify the files (readonly=False)")
    p.add_argument("--logfile", default="photeq.log", help="log file ('' for none)")
    p.set_defaults(func=_run_photeq)

    p = subparsers.add_parser("mapreg", help="map DS9 sky regions onto every chip",
                              description="Map DS9 region files onto the chips of images, "
                              "writing <image>_<ext><ver>_twreg.reg files.")
    p.add_argument("input_reg", help="region file(s): name, comma list or @list")
    p.add_argument("images", help="image(s): name, wildcard, comma list or @list")
    p.add_argument("--img-wcs-ext", default="sci", help="extensions (default sci)")
    p.add_argument("--refimg", default="", help="reference image for image-coordinate regions")
    p.add_argument("--ref-wcs-ext", default="sci")
    p.add_argument("--chip-reg", default="", help="image-coordinate regions added to each chip")
    p.add_argument("--outpath", default="./regions", help="existing output directory")
    p.add_argument("--filter", default="", help="fast (default), precise or none")
    p.add_argument("--catfname", default="", help="exclusions catalog file name")
    p.add_argument("--append", action="store_true")
    p.set_defaults(func=_run_mapreg)

    p = subparsers.add_parser("updatenpol", help="set NPOLFILE/D2IMFILE and rebuild the WCS",
                              description="Choose the NPOL and D2IM reference files of each "
                              "exposure from a directory and run updatewcs.")
    p.add_argument("input", help="file(s)")
    p.add_argument("refdir", nargs="?", default="jref$",
                   help="reference directory or 'jref$' (default)")
    p.add_argument("--local", action="store_true", help="copy the files next to the inputs")
    p.add_argument("--interactive", action="store_true", help="ask for the file names")
    p.add_argument("--no-wcsupdate", action="store_true", help="only set the keywords")
    p.set_defaults(func=_run_updatenpol)

    p = subparsers.add_parser("blendheaders", help="blend input headers into a drizzled "
                              "product", description="Write blended headers and HDRTAB into a "
                              "drizzled product (fitsblender-ng).")
    p.add_argument("drzfile")
    p.add_argument("--inputs", nargs="+", help="inputs (default: the DnnnDATA keywords)")
    p.add_argument("--output", help="write to this file instead of in place")
    p.add_argument("--sciext", default="SCI")
    p.add_argument("--errext", default="ERR")
    p.add_argument("--dqext", default="DQ")
    p.add_argument("--rules", help="rules file")
    p.set_defaults(func=_run_blendheaders)
