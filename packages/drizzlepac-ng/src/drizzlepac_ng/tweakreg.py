"""``TweakReg``: align the WCSs of HST exposures to a reference image or catalog.

Same entry point, parameter names and defaults as ``drizzlepac.tweakreg``
(see the user guide page ``tweakreg``).  The work is done by the functions of
:mod:`drizzlepac_ng.align` (finder, catalogs, matching, fitting, wcsupdate);
this module only routes parameters, picks the reference, writes the optional
files and assembles the report.

Differences from the original (deliberate):

* ``TweakReg`` returns a :class:`TweakRegReport` (the original returns None).
* A refused fit (no sources, no overlap, fewer than ``minobj`` matches,
  singular fit) leaves the image untouched even with ``updatehdr=True``
  (the original writes the unchanged WCS under the new name); the report
  says why.
* Plots are always written as PNG files (``hist2d_<root>.png``,
  ``residuals_<root>.png``, ``vector_<root>.png``); nothing is displayed and
  ``interactive`` is accepted and ignored.
* After the first fit the catalogs are matched once more through the fitted
  transform and refitted (better matches for large rotations).
* An added parameter ``crreject`` (default False) drops cosmic-ray-like
  peaks in the finder (single exposures whose cosmic rays are not flagged).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from concurrent.futures import wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from stwcs_ng import fileio

from .align.catalogs import (
    ChipCatalog,
    FinderWorkspaces,
    PendingCatalogs,
    chip_wcs,
    read_sky_catalog,
    reference_plane,
    start_image_catalogs,
)
from .align.fitting import FitResult, fit_linear
from .align.matching import histogram_offset, match_xy
from .align.wcsupdate import FitSummary, apply_linear_correction, chip_extensions, update_image_wcs
from .errors import AlignmentError, ConfigError, DrizzlepacError, InputFileError
from .imagefindpars import ImageFindPars, find_parameter_names
from .kernels import resolve_num_threads
from .logutil import task_logging
from .refimagefindpars import RefImageFindPars

__all__ = ["TweakReg", "run", "TWEAKREG_DEFAULTS", "TweakRegReport", "ImageReport",
           "DuplicateKeyError"]

log = logging.getLogger(__name__)

__taskname__ = "tweakreg"

#: Top-level parameters of the original tweakreg.cfg with their defaults.
TWEAKREG_DEFAULTS: dict[str, Any] = {
    "input": "*flt.fits", "refimage": "", "expand_refcat": False, "enforce_user_order": True,
    "exclusions": "", "updatewcs": False, "writecat": True, "clean": False, "interactive": True,
    "verbose": False, "runfile": "tweakreg.log",
    # UPDATE HEADER
    "updatehdr": False, "wcsname": "TWEAK", "reusename": False,
    # HEADERLET CREATION
    "headerlet": False, "attach": True, "hdrfile": "", "clobber": False, "hdrname": "",
    "author": "", "descrip": "", "catalog": "", "history": "",
    # OPTIONAL SHIFTFILE OUTPUT
    "shiftfile": False, "outshifts": "shifts.txt", "outwcs": "shifts_wcs.fits",
    # COORDINATE FILE DESCRIPTION
    "catfile": "", "xcol": 1, "ycol": 2, "fluxcol": "", "maxflux": None, "minflux": None,
    "fluxunits": "counts", "xyunits": "pixels", "nbright": None,
    # REFERENCE CATALOG DESCRIPTION
    "refcat": "", "refxcol": 1, "refycol": 2, "refxyunits": "degrees", "rfluxcol": "",
    "rmaxflux": None, "rminflux": None, "rfluxunits": "mag", "refnbright": None,
    # OBJECT MATCHING PARAMETERS
    "minobj": 15, "searchrad": 1.0, "searchunits": "arcseconds", "use2dhist": True,
    "see2dplot": True, "separation": 0.5, "tolerance": 1.0, "xoffset": 0.0, "yoffset": 0.0,
    # CATALOG FITTING PARAMETERS
    "fitgeometry": "rscale", "residplot": "both", "ylimit": None, "labelsize": 8,
    "nclip": 3, "sigma": 3.0,
    # ADDITION (not in the original): cosmic-ray test in the finder
    "crreject": False,
}


class DuplicateKeyError(ConfigError):
    """A find parameter was given both flat and in ``imagefindcfg``."""


@dataclass
class ImageReport:
    """Outcome for one image.

    Attributes
    ----------
    filename : str
    role : str
        ``"reference"``, ``"aligned"`` or ``"refused"``.
    accepted : bool
        The fit was accepted (always True for the reference image).
    reason : str
        Why the fit was refused (empty otherwise).
    nsources, nmatch : int
        Sources found, pairs used by the fit.
    xshift, yshift : float
        Shift at the reference point (reference-plane pixels).
    rotation, scale, skew : float
        Degrees, ratio, degrees.
    rms_x, rms_y : float
        Fit RMS (pixels); ``rms_arcsec`` the radial RMS in arcsec.
    rms_ra, rms_dec : float
        Fit RMS along RA / Dec (deg).
    updated : bool
        The header was updated.
    fit : FitResult or None
    """

    filename: str
    role: str = "aligned"
    accepted: bool = False
    reason: str = ""
    nsources: int = 0
    nmatch: int = 0
    xshift: float = 0.0
    yshift: float = 0.0
    rotation: float = 0.0
    scale: float = 1.0
    skew: float = 0.0
    rms_x: float = 0.0
    rms_y: float = 0.0
    rms_arcsec: float = 0.0
    rms_ra: float = 0.0
    rms_dec: float = 0.0
    updated: bool = False
    fit: FitResult | None = field(default=None, repr=False)

    def line(self) -> str:
        """One-line summary."""
        verdict = "OK" if self.accepted else f"REFUSED: {self.reason}"
        return (f"{os.path.basename(self.filename):30s} {self.role:9s} n={self.nmatch:5d} "
                f"shift=({self.xshift:+.4f},{self.yshift:+.4f}) rot={self.rotation:+.6f} "
                f"scale={self.scale:.7f} skew={self.skew:+.6f} "
                f"rms=({self.rms_x:.4f},{self.rms_y:.4f}) px {self.rms_arcsec * 1000:.2f} mas "
                f"{verdict}")


@dataclass
class TweakRegReport:
    """Result of :func:`TweakReg`.

    Attributes
    ----------
    images : list of ImageReport
        In input order.
    reference : str
        Reference image or catalog.
    refwcs : astropy.wcs.WCS
        Reference tangent plane.
    shiftfile : str or None
    """

    images: list[ImageReport]
    reference: str
    refwcs: WCS | None = field(default=None, repr=False)
    shiftfile: str | None = None

    def __getitem__(self, name: str | int) -> ImageReport:
        if isinstance(name, int):
            return self.images[name]
        for r in self.images:
            if r.filename == name or os.path.basename(r.filename) == os.path.basename(str(name)):
                return r
        raise KeyError(name)

    @property
    def all_accepted(self) -> bool:
        """Every image was aligned (or is the reference)."""
        return all(r.accepted for r in self.images)

    def __str__(self) -> str:
        lines = [f"TweakReg reference: {self.reference}"]
        return "\n".join(lines + [r.line() for r in self.images])


# --------------------------------------------------------------------------- parameters

def _flatten(cfg: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if cfg is None:
        return out
    if isinstance(cfg, (str, os.PathLike)):
        raise ConfigError("configobj given as a file name is not supported; pass a dict")
    for k, v in dict(cfg).items():
        if isinstance(v, Mapping) and not str(k).startswith("_"):
            out.update(_flatten(v))
        elif not str(k).startswith("_"):
            out[str(k)] = v
    return out


def _none(v: Any) -> Any:
    if v is None or (isinstance(v, str) and v.strip().lower() in ("", "none", "indef")):
        return None
    return v


def _resolve_parameters(files, configobj, imagefindcfg, refimagefindcfg, input_dict
                        ) -> tuple[dict[str, Any], ImageFindPars, RefImageFindPars]:
    pars = dict(TWEAKREG_DEFAULTS)
    findnames = set(find_parameter_names())
    cfg = dict(configobj) if configobj is not None else {}
    ifind = dict(cfg.pop("_SOURCE FINDING PARS_", {}) or {})
    rfind = dict(cfg.pop("_REF IMAGE SOURCE FINDING PARS_", {}) or {})
    flat = _flatten(cfg)
    flat.update(input_dict)
    if files is not None:
        flat["input"] = files
    if imagefindcfg is not None:
        ifind.update(ImageFindPars.from_dict(imagefindcfg).as_dict()
                     if isinstance(imagefindcfg, ImageFindPars) else dict(imagefindcfg))
    if refimagefindcfg is not None:
        rfind.update(RefImageFindPars.from_dict(refimagefindcfg).as_dict()
                     if isinstance(refimagefindcfg, ImageFindPars) else dict(refimagefindcfg))
    for k in list(flat):
        if k in findnames:
            if imagefindcfg is not None and k in dict(ifind):
                raise DuplicateKeyError(f"find parameter {k!r} given both directly and in "
                                        "imagefindcfg")
            ifind[k] = flat.pop(k)
    unknown = sorted(set(flat) - set(pars) - {"editpars"})
    if unknown:
        raise ConfigError(f"unknown tweakreg parameter(s): {', '.join(unknown)}")
    pars.update(flat)
    return pars, ImageFindPars.from_dict(ifind), RefImageFindPars.from_dict(rfind,
                                                                           section="refimagefindpars")


def _expand_files(spec: Any) -> tuple[list[str], dict[str, list[str]]]:
    """Images and, from an @file, per-chip catalog names."""
    cats: dict[str, list[str]] = {}
    if isinstance(spec, str) and spec.strip().startswith("@"):
        listfile = spec.strip()[1:]
        if not os.path.isfile(listfile):
            raise InputFileError("list file does not exist", filename=listfile)
        names = []
        for line in Path(listfile).read_text().splitlines():
            parts = line.split()
            if not parts or parts[0].startswith("#"):
                continue
            names.append(parts[0])
            if len(parts) > 1:
                cats[parts[0]] = parts[1:]
        spec = names
    from .astrodrizzle.inputs import expand_input
    try:
        files = expand_input(spec)
    except DrizzlepacError:
        raise
    except Exception as exc:
        raise InputFileError(f"cannot interpret the input {spec!r}: {exc}") from exc
    return files, cats


def _read_table_file(name: str) -> dict[str, list[str]]:
    """``image entry1 entry2 ...`` lines (catfile, exclusions)."""
    if not os.path.isfile(name):
        raise InputFileError("file does not exist", filename=name)
    out: dict[str, list[str]] = {}
    for line in Path(name).read_text().splitlines():
        parts = line.split()
        if parts and not parts[0].startswith("#"):
            out[os.path.basename(parts[0])] = parts[1:]
    return out


def _lookup(table: dict[str, list[str]], filename: str) -> list[str] | None:
    return table.get(os.path.basename(filename)) or table.get(filename)


# --------------------------------------------------------------------------- helpers

def _rootname(filename: str) -> str:
    base = os.path.basename(filename)
    for suffix in (".fits.gz", ".fits", ".fit"):
        if base.lower().endswith(suffix):
            base = base[: -len(suffix)]
    return base


def _plane_catalog(cats: list[ChipCatalog], refwcs: WCS, origin: str = ""
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                              np.ndarray]:
    """Sources of an image in the reference plane, brightest first.

    Returns ``xy`` (0-based plane pixels), ``flux``, ``chip`` (EXTVER),
    ``err``, ``orig`` (1-based chip pixels, NaN for sky catalogs) and
    ``origin`` (the file each source comes from).
    """
    if not cats:
        return (np.zeros((0, 2)), np.zeros(0), np.zeros(0, dtype=int), np.zeros(0),
                np.zeros((0, 2)), np.zeros(0, dtype=object))
    ra = np.concatenate([c.ra for c in cats])
    err = np.concatenate([c.err for c in cats])
    dec = np.concatenate([c.dec for c in cats])
    flux = np.concatenate([c.flux for c in cats])
    chip = np.concatenate([np.full(len(c.ra), c.extver) for c in cats])
    orig = np.column_stack([np.concatenate([c.x for c in cats]),
                            np.concatenate([c.y for c in cats])]) + 1.0
    xy = refwcs.wcs_world2pix(np.column_stack([ra, dec]), 0) if len(ra) else np.zeros((0, 2))
    order = np.argsort(-flux, kind="stable")
    names = np.full(len(ra), os.path.basename(origin) or "-", dtype=object)
    return xy[order], flux[order], chip[order], err[order], orig[order], names


def _chips(filename: str, cache: dict[str, dict[int, tuple[WCS, tuple[int, int]]]] | None = None
           ) -> dict[int, tuple[WCS, tuple[int, int]]]:
    """EXTVER -> (full WCS, (ny, nx)) of every chip, read once per run."""
    if cache is not None and cache.get(filename):
        return cache[filename]
    out = {}
    with fileio.open_fits(filename, memmap=True) as hdul:
        for ev, i in sorted(chip_extensions(hdul, filename).items()):
            h = hdul[i].header
            out[ev] = (chip_wcs(hdul, i, filename),
                       (int(h.get("NAXIS2", 1) or 1), int(h.get("NAXIS1", 1) or 1)))
    if cache is not None:
        cache[filename] = out
    return out


def _footprint(filename: str, refwcs: WCS, cache: dict | None = None) -> np.ndarray:
    """Bounding box (xmin, ymin, xmax, ymax) of an image in the reference plane."""
    pts = []
    for w, (ny, nx) in _chips(filename, cache).values():
        gx, gy = np.meshgrid(np.linspace(0, nx - 1, 5), np.linspace(0, ny - 1, 5))
        sky = np.column_stack(w.all_pix2world(gx.ravel(), gy.ravel(), 0))
        pts.append(refwcs.wcs_world2pix(sky, 0))
    p = np.vstack(pts)
    return np.concatenate([p.min(axis=0), p.max(axis=0)])


def _overlap(a: np.ndarray, b: np.ndarray, margin: float) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0]) + 2 * margin
    h = min(a[3], b[3]) - max(a[1], b[1]) + 2 * margin
    return max(w, 0.0) * max(h, 0.0)


def _ref_scale_arcsec(refwcs: WCS) -> float:
    return float(np.sqrt(abs(np.linalg.det(refwcs.pixel_scale_matrix)))) * 3600.0


def _sky_rms(res: np.ndarray, refwcs: WCS) -> tuple[float, float]:
    if len(res) == 0:
        return 0.0, 0.0
    d = res @ refwcs.pixel_scale_matrix.T
    return float(np.sqrt(np.mean(d[:, 0] ** 2))), float(np.sqrt(np.mean(d[:, 1] ** 2)))


# --------------------------------------------------------------------------- outputs

def _write_xy_catalogs(root: str, cats: list[ChipCatalog], with_sr: bool) -> list[str]:
    written = []
    for c in cats:
        name = f"{root}_sci{c.extver}_xy_catalog.coo"
        written.append(name)
        cols = "X Y Flux ID" + (" Sharp Round1 Round2" if with_sr and c.sources is not None else "")
        with open(name, "w", encoding="utf-8") as fh:
            fh.write(f"# Source catalog for {root}[SCI,{c.extver}] (1-based pixels)\n# {cols}\n")
            for k in range(len(c.x)):
                row = f"{c.x[k] + 1:.6f} {c.y[k] + 1:.6f} {c.flux[k]:.6g} {k + 1}"
                if with_sr and c.sources is not None:
                    s = c.sources
                    row += f" {s.sharp[k]:.4f} {s.round1[k]:.4f} {s.round2[k]:.4f}"
                fh.write(row + "\n")
    with open(f"{root}_sky_catalog.coo", "w", encoding="utf-8") as fh:
        fh.write("# RA Dec (deg)\n")
        for c in cats:
            for a, d in zip(c.ra, c.dec, strict=True):
                fh.write(f"{a:0.12f} {d:0.12f}\n")
    return written + [f"{root}_sky_catalog.coo"]


@dataclass
class _MatchSide:
    """One side of the matched pairs: plane positions, chip positions, provenance."""

    xy: np.ndarray
    orig: np.ndarray
    origin: np.ndarray
    chips: np.ndarray | None = None


def _write_fit_match(root: str, fit: FitResult, ref: _MatchSide, inp: _MatchSide,
                     iref: np.ndarray, iin: np.ndarray, refwcs: WCS, report: ImageReport,
                     filename: str) -> str:
    """``<root>_catalog_fit.match``: the 18 columns of the original, pairs of the final fit.

    Pairs rejected by the clipping follow as comment lines (``# clipped:``)
    with the same columns.
    """
    name = f"{root}_catalog_fit.match"
    fitted = inp.xy[iin] @ fit.matrix.T + fit.offset
    sky = refwcs.wcs_pix2world(fitted, 0) if len(iin) else np.zeros((0, 2))
    cols = ["X (reference)", "Y (reference)", "X (input)", "Y (input)", "X (fit)", "Y (fit)",
            "X (residual)", "Y (residual)", "Original X (reference)",
            "Original Y (reference)", "Original X (input)", "Original Y (input)", "Ref ID",
            "Input ID", "Input EXTVER ID", "RA (fit)", "Dec (fit)", "Ref source provenience"]
    lines = [f"# Input image: {filename}",
             f"# Fit geometry: {fit.fitgeometry}; {int(np.sum(fit.used))} pairs used, "
             f"{int(len(iin) - np.sum(fit.used))} clipped",
             "# Coordinate mapping parameters: ",
             f"#    X and Y rms: {report.rms_x:.2g}  {report.rms_y:.2g}",
             f"#    X and Y shift: {report.xshift:.4f}  {report.yshift:.4f}",
             f"#    X and Y scale: {report.scale:.10g}  {report.scale:.10g}",
             f"#    X and Y rotation: {report.rotation:.10g}  {report.rotation:.10g}",
             f"#    <rotation> and skew: {report.rotation:.10g}  {report.skew:.10g}",
             "# ", "# Input Coordinate Listing"]
    lines += [f"#     Column {k}: {c}" for k, c in enumerate(cols, start=1)]
    lines.append("#")
    clipped = []
    for k in range(len(iin)):
        a, b = iref[k], iin[k]
        xr, yr = ref.xy[a] + 1
        xi, yi = inp.xy[b] + 1
        xf, yf = fitted[k] + 1
        rx, ry = fit.residuals[k]
        oxr, oyr = ref.orig[a]
        oxi, oyi = inp.orig[b]
        ev = int(inp.chips[b]) if inp.chips is not None else 0
        row = "".join(f"{v:15.6f}" for v in (xr, yr, xi, yi, xf, yf, rx, ry, oxr, oyr, oxi, oyi))
        row += f"{a + 1:8d}{b + 1:8d}{ev:8d}{sky[k, 0]:20.12f}{sky[k, 1]:20.12f}   {ref.origin[a]}"
        (lines if fit.used[k] else clipped).append(row)
    lines += ["# clipped: " + r for r in clipped]
    Path(name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return name


def _plots(root: str, pars: dict[str, Any], hist, fit: FitResult | None, in_xy: np.ndarray) -> None:
    mode = str(pars["residplot"]).strip().lower()
    want_hist = bool(pars["see2dplot"]) and hist is not None and hist.npairs
    want_resid = fit is not None and fit.nmatch > 0 and not mode.startswith("no")
    if not (want_hist or want_resid):
        return
    try:
        from matplotlib.figure import Figure
    except ImportError:
        log.warning("matplotlib is not installed; no plots written")
        return
    size = int(pars["labelsize"] or 8)
    if pars["see2dplot"] and hist is not None and hist.npairs:
        fig = Figure(figsize=(5, 4.5))
        ax = fig.add_subplot()
        e = hist.edges
        im = ax.imshow(hist.hist.T, origin="lower", extent=[e[0], e[-1], e[0], e[-1]],
                       cmap="viridis")
        ax.plot(*hist.offset, "r+", ms=12)
        ax.set_xlabel("X offset (pixels)", fontsize=size)
        ax.set_ylabel("Y offset (pixels)", fontsize=size)
        ax.set_title(f"{root}: 2-D histogram of offsets", fontsize=size)
        fig.colorbar(im, ax=ax)
        fig.savefig(f"hist2d_{root}.png", dpi=80)
    mode = str(pars["residplot"]).strip().lower()
    if fit is None or fit.nmatch == 0 or mode.startswith("no"):
        return
    u = fit.used
    xy = in_xy[u]
    r = fit.residuals[u]
    if mode in ("both", "vector"):
        fig = Figure(figsize=(6, 5))
        ax = fig.add_subplot()
        ax.quiver(xy[:, 0], xy[:, 1], r[:, 0], r[:, 1], angles="xy")
        ax.set_title(f"{root}: fit residuals (rms {fit.rms_total:.4f} px)", fontsize=size)
        ax.set_xlabel("X (pixels)", fontsize=size)
        ax.set_ylabel("Y (pixels)", fontsize=size)
        fig.savefig(f"vector_{root}.png", dpi=80)
    if mode in ("both", "residuals"):
        fig = Figure(figsize=(8, 6))
        axes = fig.subplots(2, 2)
        for (a, b), ax in np.ndenumerate(axes):
            ax.plot(xy[:, b], r[:, a], ".", ms=2)
            ax.set_xlabel("XY"[b] + " (pixels)", fontsize=size)
            ax.set_ylabel("XY"[a] + " residual (pixels)", fontsize=size)
            if pars["ylimit"]:
                ax.set_ylim(-float(pars["ylimit"]), float(pars["ylimit"]))
        fig.suptitle(f"{root}: residuals", fontsize=size)
        fig.savefig(f"residuals_{root}.png", dpi=80)


def _write_shiftfile(pars: dict[str, Any], reports: list[ImageReport], refwcs: WCS) -> str:
    outwcs = str(pars["outwcs"] or "shifts_wcs.fits")
    hdr = refwcs.to_header()
    hdr["EXTNAME"] = "WCS"
    hdr["EXTVER"] = 1
    nx, ny = refwcs.pixel_shape or (0, 0)
    hdr["NPIX1"], hdr["NPIX2"], hdr["PIXVALUE"] = int(nx), int(ny), 0.0
    cd = refwcs.pixel_scale_matrix
    hdr["ORIENTAT"] = float(math.degrees(math.atan2(cd[0, 1], cd[1, 1])))
    fileio.atomic_write(fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(header=hdr)]), outwcs)
    name = str(pars["outshifts"] or "shifts.txt")
    lines = ["# frame: output", f"# refimage: {outwcs}[wcs]", "# form: delta", "# units: pixels"]
    for r in reports:
        if r.role == "reference":
            lines.append(f"{os.path.basename(r.filename)}    0.0  0.0    0.0     1.0   0.0 0.0")
        elif r.accepted:
            lines.append(f"{os.path.basename(r.filename)}    {r.xshift:.6f}  {r.yshift:.6f}    "
                         f"{r.rotation % 360.0:.8f}     {r.scale:.9f}   "
                         f"{r.rms_x:.6f} {r.rms_y:.6f}")
    Path(name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return name


# --------------------------------------------------------------------------- task

def TweakReg(files: Any = None, editpars: bool = False, configobj: Any = None,
             imagefindcfg: Any = None, refimagefindcfg: Any = None,
             **input_dict: Any) -> TweakRegReport:
    """Align the WCSs of images to a reference image or catalog.

    Parameters
    ----------
    files : str or list of str, optional
        Input images: names, comma-separated names, wildcards or ``@file``
        (an @file line may list per-chip catalogs after the image name).
        Default: the ``input`` parameter (``*flt.fits``).
    editpars : bool, optional
        Accepted for compatibility (no GUI).
    configobj : dict, optional
        Parameter values (nested sections are flattened; the find parameter
        sections ``_SOURCE FINDING PARS_`` / ``_REF IMAGE SOURCE FINDING PARS_``
        are honoured).
    imagefindcfg, refimagefindcfg : dict or ImageFindPars, optional
        Find parameters for the inputs and for the reference image.
    **input_dict
        Any parameter of ``TWEAKREG_DEFAULTS`` (the original names and
        defaults) or of ``imagefindpars`` (routed to ``imagefindcfg``).

    Returns
    -------
    TweakRegReport
        Per image: role, matches, shift, rotation, scale, skew, RMS and the
        verdict (accepted, or refused with the reason).

    Raises
    ------
    ConfigError
        Unknown or bad parameters (:class:`DuplicateKeyError` for a find
        parameter given twice).
    InputFileError
        Missing inputs or an unreadable image.  (A reference catalog in the
        wrong format, or a reference without sources, is not an exception:
        every image is then reported as refused with the reason.)
    FileUpdateError
        A header update could not be written (disk full, read-only file or
        folder); that file is unchanged, files updated before it keep their
        new WCS.
    """
    if editpars:
        log.info("editpars=True: no parameter editor; running with the given values")
    pars, ifind, rfind = _resolve_parameters(files, configobj, imagefindcfg, refimagefindcfg,
                                             input_dict)
    with task_logging(pars["runfile"] or None,
                      logging.DEBUG if pars["verbose"] else logging.INFO):
        return _run(pars, ifind, rfind)


def run(configobj: Any) -> TweakRegReport:
    """Run TweakReg from a configuration mapping (like ``tweakreg.run``).

    Parameters
    ----------
    configobj : mapping

    Returns
    -------
    TweakRegReport
    """
    return TweakReg(configobj=configobj)


def _run(pars: dict[str, Any], ifind: ImageFindPars, rfind: ImageFindPars) -> TweakRegReport:
    from .align.fitting import FIT_GEOMETRIES
    from .align.matching import HistogramOffset  # noqa: F401  (type of hist)
    if str(pars["fitgeometry"]).lower() not in FIT_GEOMETRIES:
        raise ConfigError(f"fitgeometry must be one of {FIT_GEOMETRIES}, "
                          f"not {pars['fitgeometry']!r}")
    files, atcats = _expand_files(pars["input"])
    log.info("TweakReg on %d image(s): %s", len(files), ", ".join(files))
    if pars["updatewcs"]:
        from stwcs_ng import updatewcs as _uw
        for f in files:
            _uw.updatewcs(f)
    catfile = _read_table_file(pars["catfile"]) if _none(pars["catfile"]) else {}
    exclusions = _read_table_file(pars["exclusions"]) if _none(pars["exclusions"]) else {}
    if exclusions:  # names relative to the exclusions file's folder, as the original
        folder = os.path.dirname(str(pars["exclusions"]))
        exclusions = {k: [v if (os.path.isfile(v) or v.lower() in ("none", "indef")
                                or not os.path.isfile(os.path.join(folder, v)))
                          else os.path.join(folder, v) for v in vals]
                      for k, vals in exclusions.items()}
    catopts = {"xcol": pars["xcol"], "ycol": pars["ycol"], "fluxcol": pars["fluxcol"],
               "xyunits": pars["xyunits"], "minflux": _none(pars["minflux"]),
               "maxflux": _none(pars["maxflux"]), "nbright": _none(pars["nbright"]),
               "fluxunits": pars["fluxunits"]}
    wcs_cache: dict[str, dict[int, tuple[WCS, tuple[int, int]]]] = {}

    def start(f: str, fp: ImageFindPars, executor: Any) -> PendingCatalogs:
        """Check ``f`` now; its finder runs in ``executor`` (None: when collected)."""
        user = atcats.get(f) or _lookup(catfile, f)
        return start_image_catalogs(f, fp, executor, exclusions=_lookup(exclusions, f),
                                    chip_catalogs=user, catalog_options=catopts if user else None,
                                    wcs_out=wcs_cache.setdefault(f, {}),
                                    cr_reject=bool(pars["crreject"]))

    def catalogs_of(f: str, fp: ImageFindPars) -> list[ChipCatalog]:
        """Catalogs of a reference image that is not an input (found in this thread)."""
        return start(f, fp, None).result()

    # every input is opened and checked (WCS, data) before anything is written; the finder
    # then runs in worker threads while the main thread matches, fits and updates headers
    from concurrent.futures import ThreadPoolExecutor
    pool = ThreadPoolExecutor(max_workers=resolve_num_threads(None),
                              thread_name_prefix="tweakreg-finder")
    cats = _LazyCatalogs(pool)
    try:
        for f in dict.fromkeys(files):            # a file listed twice is searched once
            cats.start(f, start(f, ifind, None))
        # a header is written as soon as its image is fitted, unless exclusion files
        # (read after the finder) could still make a later image fail
        early = bool(pars["updatehdr"]) and not exclusions
        updates = _HeaderUpdates(pars, wcs_cache)
        try:
            return _align(pars, files, cats, catalogs_of, ifind, rfind, wcs_cache, early,
                          updates)
        finally:
            updates.close()
    finally:
        cats.cancel()
        pool.shutdown(wait=True)


def _align(pars: dict[str, Any], files: list[str], cats: _LazyCatalogs, catalogs_of: Any,
           ifind: ImageFindPars, rfind: ImageFindPars, wcs_cache: dict, early: bool,
           updates: _HeaderUpdates) -> TweakRegReport:
    """Reference, matching, fits, header updates (``early``: each right after its fit)."""
    writecat = bool(pars["writecat"])
    refimage = _none(pars["refimage"])
    refcat = _none(pars["refcat"])
    # reference image defining the tangent plane
    if refimage:
        refimage = str(refimage)
        if not os.path.isfile(refimage.split("[")[0]):
            raise InputFileError("reference image does not exist", filename=refimage)
        refimage = refimage.split("[")[0]
        plane_image = refimage
    elif pars["enforce_user_order"] or len(files) < 3:
        plane_image = files[0]
    else:
        # the input with the largest total overlap with the others
        tmp_plane = _plane_for(files[0], wcs_cache)
        boxes = {f: _footprint(f, tmp_plane, wcs_cache) for f in files}
        plane_image = max(files, key=lambda f: sum(_overlap(boxes[f], boxes[g], 0.0)
                                                   for g in files if g != f))
    refwcs = _plane_for(plane_image, wcs_cache)
    scale_arcsec = _ref_scale_arcsec(refwcs)
    # reference catalog
    if refcat:
        try:
            rc = read_sky_catalog(refcat, refxcol=pars["refxcol"], refycol=pars["refycol"],
                                  rfluxcol=pars["rfluxcol"], refxyunits=pars["refxyunits"],
                                  rminflux=_none(pars["rminflux"]),
                                  rmaxflux=_none(pars["rmaxflux"]),
                                  refnbright=_none(pars["refnbright"]),
                                  rfluxunits=pars["rfluxunits"], wcs=None)
        except (InputFileError, ConfigError) as exc:
            return _all_refused(files, str(refcat), refwcs, f"reference catalog unusable: {exc}")
        flux = rc.flux if pars["rfluxunits"] != "mag" else -rc.flux
        ref_cats = [ChipCatalog(0, rc.x, rc.y, flux, rc.ra, rc.dec)]
        reference_name = str(refcat)
        ref_in_inputs = None
    else:
        ref_in_inputs = plane_image if plane_image in files else None
        ref_cats = cats[plane_image] if ref_in_inputs else catalogs_of(plane_image, rfind)
        reference_name = plane_image
    ref_xy, ref_flux, _, ref_err, ref_orig, ref_origin = _plane_catalog(ref_cats, refwcs,
                                                                        reference_name)
    if len(ref_xy) == 0:
        return _all_refused([f for f in files if f != ref_in_inputs], reference_name, refwcs,
                            "the reference has no sources")
    written: list[str] = []
    if writecat and not refcat:
        written.append(_write_refxy(plane_image, ref_xy))

    searchrad = float(pars["searchrad"])
    if str(pars["searchunits"]).lower().startswith("arc"):
        searchrad /= scale_arcsec
    ref_box = np.concatenate([ref_xy.min(axis=0), ref_xy.max(axis=0)])
    reports: list[ImageReport] = []
    for f in files:
        root = _rootname(f)
        rep = ImageReport(f)
        in_xy, in_flux, chips, in_err, in_orig, in_origin = _plane_catalog(cats[f], refwcs, f)
        rep.nsources = len(in_xy)
        if writecat:
            written += _write_xy_catalogs(root, cats[f], ifind.use_sharp_round)
        if f == ref_in_inputs:
            rep.role, rep.accepted = "reference", True
            reports.append(rep)
            if early:
                updates.submit(rep, refwcs)
            continue
        hist = None
        fit = None
        try:
            if len(in_xy) == 0:
                raise _Refused("no sources found in the image")
            if not np.all(np.isfinite(in_xy)):
                raise _Refused("the image's WCS gives no valid sky position for some of its "
                               "sources (missing or broken WCS keywords?)")
            box = _footprint(f, refwcs, wcs_cache)
            if _overlap(box, ref_box, searchrad) <= 0:
                raise _Refused("no overlap with the reference")
            offset = np.array([float(pars["xoffset"]), float(pars["yoffset"])])
            if pars["use2dhist"]:
                hist = histogram_offset(ref_xy, in_xy + offset, searchrad)
                if hist.significant:
                    offset = offset + hist.offset
                else:
                    log.warning("%s: the 2-D histogram shows no clear offset peak "
                                "(%d pairs, peak %d)", f, hist.npairs, hist.peak)
            iref, iin = match_xy(ref_xy, in_xy, float(pars["tolerance"]), offset=offset,
                                 separation=float(pars["separation"]))
            fitkw = dict(fitgeometry=pars["fitgeometry"], nclip=int(pars["nclip"]),
                         sigma=float(pars["sigma"]), minobj=int(pars["minobj"]),
                         ref_point=refwcs.wcs.crpix - 1.0)
            fit = fit_linear(in_xy[iin], ref_xy[iref], **fitkw,
                             errors=_pair_errors(in_err[iin], ref_err[iref]))
            if fit.ok:
                moved = in_xy @ fit.matrix.T + fit.offset
                iref, iin = match_xy(ref_xy, moved, float(pars["tolerance"]),
                                     separation=float(pars["separation"]))
                fit2 = fit_linear(in_xy[iin], ref_xy[iref], **fitkw,
                                  errors=_pair_errors(in_err[iin], ref_err[iref]))
                fit = fit2
            rep.nmatch = fit.nmatch
            if not fit.ok:
                raise _Refused(fit.reason)
            rep.accepted, rep.role, rep.fit = True, "aligned", fit
            rep.xshift, rep.yshift = (float(v) for v in fit.shift)
            rep.rotation, rep.scale, rep.skew = fit.rotation, fit.scale, fit.skew
            rep.rms_x, rep.rms_y = (float(v) for v in fit.rms)
            rep.rms_arcsec = fit.rms_total * scale_arcsec
            rep.rms_ra, rep.rms_dec = _sky_rms(fit.residuals[fit.used], refwcs)
            if writecat:
                written.append(_write_fit_match(
                    root, fit, _MatchSide(ref_xy, ref_orig, ref_origin),
                    _MatchSide(in_xy, in_orig, in_origin, chips), iref, iin, refwcs, rep, f))
            if pars["expand_refcat"]:
                matched = np.zeros(len(in_xy), dtype=bool)
                matched[iin] = True
                extra = in_xy[~matched] @ fit.matrix.T + fit.offset
                ref_xy = np.vstack([ref_xy, extra])
                ref_err = np.concatenate([ref_err, in_err[~matched]])
                ref_orig = np.vstack([ref_orig, in_orig[~matched]])
                ref_origin = np.concatenate([ref_origin, in_origin[~matched]])
                ref_box = np.concatenate([ref_xy.min(axis=0), ref_xy.max(axis=0)])
        except _Refused as why:
            rep.accepted, rep.role, rep.reason = False, "refused", str(why)
            rep.fit = fit
            log.warning("%s: fit refused (%s); the image is left unchanged", f, why)
        if hist is not None or fit is not None:
            try:
                _plots(root, pars, hist, fit if rep.accepted else None, in_xy[iin] if rep.accepted
                       else in_xy[:0])
            except Exception as exc:  # a plot must never fail the alignment
                log.warning("%s: plot not written (%s)", f, exc)
        reports.append(rep)
        log.info("%s", rep.line())
        if early:
            updates.submit(rep, refwcs)

    if pars["updatehdr"] and not early:
        for rep in reports:
            updates.submit(rep, refwcs)
    updates.finish()
    if pars["clean"]:
        for name in written:
            Path(name).unlink(missing_ok=True)
    report = TweakRegReport(reports, reference_name, refwcs)
    if pars["shiftfile"]:
        report.shiftfile = _write_shiftfile(pars, reports, refwcs)
    log.info("%s", report)
    return report


class _Refused(Exception):
    pass


def _all_refused(files: list[str], reference: str, refwcs: WCS, reason: str) -> TweakRegReport:
    log.error("%s; no image is changed", reason)
    reports = [ImageReport(f, role="refused", accepted=False, reason=reason) for f in files]
    return TweakRegReport(reports, reference, refwcs)


def _pair_errors(e_in: np.ndarray, e_ref: np.ndarray) -> np.ndarray | None:
    """Combined position errors of matched pairs (None when the input has none)."""
    if len(e_in) == 0 or not np.all(np.isfinite(e_in)):
        return None
    e_ref = np.where(np.isfinite(e_ref), e_ref, 0.0)
    return np.sqrt(e_in ** 2 + e_ref ** 2)


def _plane_for(filename: str, cache: dict | None = None) -> WCS:
    chips = sorted(_chips(filename, cache).items())
    return reference_plane([w for _, (w, _) in chips], [shape for _, (_, shape) in chips])


def _write_refxy(plane_image: str, ref_xy: np.ndarray) -> str:
    name = f"{_rootname(plane_image)}_refxy_catalog.coo"
    with open(name, "w", encoding="utf-8") as fh:
        fh.write("# Reference positions in the reference tangent plane (1-based pixels)\n")
        for x, y in ref_xy:
            fh.write(f"{x + 1:.6f} {y + 1:.6f}\n")
    return name


class _HeaderUpdates:
    """Header updates of the accepted images, written in worker threads.

    The corrected chip WCSs are computed in the calling thread (astropy WCS
    objects are not shared between threads); only the file rewrites, which
    are mostly I/O, run in up to 4 threads.  With ``headerlet=True`` they run
    in the calling thread, as the headerlet writer records warnings (not
    thread-safe).  :meth:`finish` waits for every write and raises the first
    failure in input order; each file on its own is always old or new.
    """

    def __init__(self, pars: dict[str, Any], cache: dict) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._pars = pars
        self._cache = cache
        workers = 1 if pars["headerlet"] else min(4, os.cpu_count() or 1)
        self._pool = (ThreadPoolExecutor(workers, thread_name_prefix="tweakreg-update")
                      if workers > 1 else None)
        self._jobs: list[Any] = []
        self._last: dict[str, Any] = {}

    def submit(self, rep: ImageReport, refwcs: WCS) -> None:
        """Write the fitted WCS of ``rep``'s image if it was accepted (the reference
        gets its WCS renamed)."""
        if not rep.accepted:
            return
        m = rep.fit.matrix if rep.fit is not None else np.eye(2)
        t = rep.fit.offset if rep.fit is not None else np.zeros(2)
        corrections = {ev: apply_linear_correction(w, refwcs, m, t, shape=shape)
                       for ev, (w, shape) in _chips(rep.filename, self._cache).items()}
        if self._pool is None:
            _update_file(rep, corrections, self._pars)
            return
        earlier = self._last.get(rep.filename)
        if earlier is not None:      # a file listed twice: its updates stay in order
            wait([earlier])
        job = self._pool.submit(_update_file, rep, corrections, self._pars)
        self._jobs.append(job)
        self._last[rep.filename] = job

    def finish(self) -> None:
        """Wait for the writes; raise the first failure in input order."""
        jobs, self._jobs = self._jobs, []
        wait(jobs)
        for job in jobs:
            if job.exception() is not None:
                raise job.exception()

    def close(self) -> None:
        """Wait for every write still running (no error raised) and stop the threads."""
        wait(self._jobs)
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


class _LazyCatalogs:
    """File -> catalogs, collected from the finder's worker threads when first asked for.

    The files are opened (and checked) in order; the finder runs on at most
    ``ahead`` files not yet collected, which bounds the memory held by
    searched but uncollected images.
    """

    def __init__(self, executor: Any, ahead: int = 2) -> None:
        self._executor = executor
        self._ahead = ahead
        self._workspaces = FinderWorkspaces()
        self._pending: dict[str, PendingCatalogs] = {}
        self._done: dict[str, list[ChipCatalog]] = {}

    def start(self, filename: str, pending: PendingCatalogs) -> None:
        self._pending[filename] = pending
        self._refill()

    def _refill(self) -> None:
        running = 0
        for p in self._pending.values():       # in the order of the files
            if running >= self._ahead:
                break
            p.submit(self._executor, self._workspaces)
            running += 1

    def __getitem__(self, filename: str) -> list[ChipCatalog]:
        if filename not in self._done:
            pending = self._pending.pop(filename)
            self._refill()
            self._done[filename] = pending.result()
        return self._done[filename]

    def cancel(self) -> None:
        """Abandon the catalogs not collected (closes their files)."""
        while self._pending:
            self._pending.popitem()[1].cancel()


def _update_file(rep: ImageReport, corrections: dict[int, Any], pars: dict[str, Any]) -> None:
    f = rep.filename
    try:
        update_image_wcs(
            f, corrections, wcsname=pars["wcsname"], reusename=bool(pars["reusename"]),
            fit=FitSummary(rep.rms_ra, rep.rms_dec, rep.nmatch), headerlet=bool(pars["headerlet"]),
            attach=bool(pars["attach"]), hdrfile=str(pars["hdrfile"] or ""),
            clobber=bool(pars["clobber"]), hdrname=str(pars["hdrname"] or ""),
            author=str(pars["author"] or ""), descrip=str(pars["descrip"] or ""),
            catalog=str(pars["catalog"] or ""), history=str(pars["history"] or ""))
        rep.updated = True
    except (ConfigError, AlignmentError) as exc:
        # a refusal of this image (name already used, unusable correction); a failed
        # write (FileUpdateError: disk full, read-only) or unreadable file is raised
        rep.accepted, rep.role, rep.reason = False, "refused", f"header not updated: {exc}"
        log.error("%s: header not updated (%s); the file is unchanged", f, exc)


