"""``drizzlepac-ng tweakback``, ``deltashift`` and ``xcorr``: command-line verbs."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``tweakback``, ``deltashift`` and ``xcorr`` verbs."""
    p = subparsers.add_parser(
        "tweakback", help="apply a drizzled product's new alignment to its input exposures",
        description="Propagate the tweaked WCS of a drizzled product back to the exposures "
                    "drizzled into it (inputs from its DnnnDATA keywords by default).")
    p.add_argument("drzfile", help="drizzled product")
    p.add_argument("input", nargs="*", help="input exposures (default: from DnnnDATA)")
    p.add_argument("--origwcs", default=None, help="WCSNAME or key of the original drizzled WCS")
    p.add_argument("--wcsname", default=None, help="WCSNAME or key of the tweaked WCS "
                                                   "(default: primary)")
    p.add_argument("--newname", default=None, help="WCSNAME written to the inputs")
    p.add_argument("--extname", default="SCI", help="extension holding the drizzled WCS")
    p.add_argument("--force", action="store_true", help="apply even if already applied")
    p.set_defaults(func=_tweakback)

    d = subparsers.add_parser(
        "deltashift", help="shift/rotate/scale the WCS of every chip of exposures",
        description="Apply a measured offset to every chip's WCS.  Frame 'reference': pixels "
                    "(or arcsec) of the first image's first chip grid, rotation counter-"
                    "clockwise about its CRPIX.  Frame 'sky': arcsec east/north, rotation "
                    "north through east.  A source placed at p by the current WCS moves to p+d.")
    d.add_argument("images", nargs="+", help="exposures")
    d.add_argument("--dx", type=float, required=True, help="shift along x (or east)")
    d.add_argument("--dy", type=float, required=True, help="shift along y (or north)")
    d.add_argument("--rotation", type=float, default=0.0, help="degrees")
    d.add_argument("--scale", type=float, default=1.0, help="scale factor")
    d.add_argument("--units", choices=("pixels", "arcsec"), default="pixels")
    d.add_argument("--frame", choices=("reference", "sky"), default="reference")
    d.add_argument("--center", type=float, nargs=2, default=None, metavar=("C1", "C2"),
                   help="rotation centre (0-based pixels, or RA Dec for --frame sky)")
    d.add_argument("--wcsname", default="DELTASHIFT", help="name of the new WCS")
    d.add_argument("--reusename", action="store_true", help="allow an existing WCS name")
    d.add_argument("--dry-run", action="store_true", help="compute only, write nothing")
    d.set_defaults(func=_deltashift)

    x = subparsers.add_parser(
        "xcorr", help="align an exposure to a reference by cross-correlation",
        description="Cross-correlation alignment for nebulous or sparse fields; --hybrid fits "
                    "rotation and scale to the few sources first, then refines the shift.")
    x.add_argument("image", help="exposure to align")
    x.add_argument("reference", help="reference exposure or drizzled product")
    x.add_argument("--hybrid", action="store_true", help="catalog rscale fit + xcorr shift")
    x.add_argument("--method", choices=("cross", "phase"), default="cross")
    x.add_argument("--min-snr", type=float, default=3.0, help="weakest accepted peak SNR")
    x.add_argument("--min-corr", type=float, default=0.3,
                   help="smallest accepted correlation coefficient")
    x.add_argument("--updatehdr", action="store_true", help="write the correction into the image")
    x.add_argument("--wcsname", default="XCORR", help="name of the new WCS")
    x.set_defaults(func=_xcorr)


def _tweakback(args: argparse.Namespace) -> int:
    from ..tweakback import tweakback

    res = tweakback(args.drzfile, input=args.input or None, origwcs=args.origwcs,
                    newname=args.newname, wcsname=args.wcsname, extname=args.extname,
                    force=args.force, verbose=True)
    print(f"{args.drzfile}: {res.orig_wcs[1]!r} -> {res.final_wcs[1]!r}: shift "
          f"{res.shift[0]:.4f} {res.shift[1]:.4f} px, rotation {res.rotation:.6f} deg, "
          f"scale {res.scale:.8f}")
    for f in res.updated:
        print(f"  updated {f} (WCSNAME {res.wcsname!r})")
    return 0


def _deltashift(args: argparse.Namespace) -> int:
    from .deltashift import apply_delta_shift

    res = apply_delta_shift(args.images, args.dx, args.dy, args.rotation, args.scale,
                            units=args.units, frame=args.frame, center=args.center,
                            wcsname=args.wcsname, reusename=args.reusename,
                            update=not args.dry_run)
    for f, chips in res["wcs"].items():
        state = "updated" if f in res["updates"] else "not written (dry run)"
        print(f"{f}: {len(chips)} chip(s) {state}")
    return 0


def _xcorr(args: argparse.Namespace) -> int:
    from .xcorr import align_xcorr

    res = align_xcorr(args.image, args.reference, mode="hybrid" if args.hybrid else "shift",
                      method=args.method, min_snr=args.min_snr,
                      min_corr=args.min_corr, update=args.updatehdr,
                      wcsname=args.wcsname)
    print(f"{args.image}: shift {res.shift[0]:.4f} {res.shift[1]:.4f} px "
          f"(+- {res.sigma[0]:.4f} {res.sigma[1]:.4f}), SNR {res.snr:.1f}, corr {res.corr:.3f}, "
          f"rotation "
          f"{res.rotation:.6f} deg, scale {res.scale:.8f}, overlap {100 * res.overlap:.0f}%"
          + (" [header updated]" if res.update else ""))
    return 0
