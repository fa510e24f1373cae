"""``drizzlepac-ng simulate``: write a set of synthetic exposures with their truth."""

from __future__ import annotations

import argparse

__all__ = ["register"]


def _shape(text: str):
    if text.lower() in ("full", "small"):
        return text.lower()
    try:
        ny, nx = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"shape must be 'full', 'small' or NYxNX (e.g. 512x1024), not {text!r}") from None
    return ny, nx


def _errors(text: str):
    try:
        shift, rot = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--wcs-errors takes SHIFT_ARCSEC,ROT_DEG (e.g. 0.5,0.02), not {text!r}") from None
    return shift, rot


def _run(args: argparse.Namespace) -> int:
    from . import simulate_exposures

    dither = None if args.dither == "none" else args.dither
    distortion = () if args.distortion == "none" else tuple(args.distortion.split(","))
    sim = simulate_exposures(
        args.n, instrument=args.instrument, shape=args.shape, seed=args.seed,
        output_dir=args.output_dir, dither=dither, wcs_errors=args.wcs_errors,
        cosmic_rays=not args.no_cosmic_rays, distortion=distortion, raw=args.raw,
        n_stars=args.n_stars, n_galaxies=args.n_galaxies, exptime=args.exptime,
        filter=args.filter, noise=not args.no_noise,
    )
    for exp in sim:
        print(f"{exp.path}\t{exp.truth_path}")
    for kind, path in sim.reference_files.items():
        print(f"{kind}\t{path}")
    if args.raw and sim.reference_files:
        env = "jref" if args.instrument.upper().startswith("ACS") else "iref"
        print(f"# before updatewcs: export {env}={args.output_dir.rstrip('/')}/")
    return 0


def register(subparsers) -> None:
    """Add the ``simulate`` verb."""
    p = subparsers.add_parser(
        "simulate", help="write synthetic HST exposures (FLC) with truth files",
        description="Write synthetic calibrated ACS/WFC or WFC3/UVIS exposures, their truth "
                    "files and the synthetic distortion reference files.")
    p.add_argument("--n", type=int, default=4, help="number of exposures (default 4)")
    p.add_argument("--instrument", default="ACS/WFC", help="ACS/WFC (default) or WFC3/UVIS")
    p.add_argument("--shape", type=_shape, default="full",
                   help="chip shape: full (default), small (128x256) or NYxNX")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--output-dir", required=True, help="directory for the files")
    p.add_argument("--dither", default="line", choices=["line", "box", "none"],
                   help="dither pattern (default line)")
    p.add_argument("--wcs-errors", type=_errors, default=None, metavar="SHIFT,ROT",
                   help="random header WCS errors: rms shift (arcsec), rms rotation (deg)")
    p.add_argument("--no-cosmic-rays", action="store_true", help="do not add cosmic rays")
    p.add_argument("--distortion", default="sip,npol,d2im",
                   help="comma list of sip,npol,d2im or 'none' (default all)")
    p.add_argument("--raw", action="store_true",
                   help="headers as before updatewcs (linear OPUS WCS + reference file names)")
    p.add_argument("--n-stars", type=int, default=None, help="number of stars")
    p.add_argument("--n-galaxies", type=int, default=None, help="number of galaxies")
    p.add_argument("--exptime", type=float, default=None, help="exposure time (s)")
    p.add_argument("--filter", default=None, help="filter (default F814W ACS, F606W WFC3)")
    p.add_argument("--no-noise", action="store_true", help="noise-free expected charge")
    p.set_defaults(func=_run)
