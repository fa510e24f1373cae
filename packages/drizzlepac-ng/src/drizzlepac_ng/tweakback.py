"""``tweakback``: propagate the alignment of a drizzled product back to its inputs.

When a drizzled image has been aligned (its WCS updated by ``tweakreg``,
:mod:`drizzlepac_ng.align.xcorr` or by hand), the exposures that were
drizzled into it still carry their old WCS.  ``tweakback`` finds the linear
transformation between the drizzled product's *original* WCS and its
*tweaked* WCS and applies it to every chip of every input, so that the
inputs can be drizzled again with the new alignment.

Method (the footprint-corner method of the DrizzlePac handbook): the four
corners of the drizzled image are mapped to the sky with the tweaked WCS and
back to pixels with the original WCS; a linear transform (``rscale``: shift,
rotation and one scale; or ``general``) fitted to those four pairs is the
correction, expressed in the original drizzled frame.  Each input chip's
``CRVAL`` and ``CD`` are then corrected with
:func:`drizzlepac_ng.align.wcsupdate.apply_linear_correction` (distortion
untouched) and written with
:func:`drizzlepac_ng.align.wcsupdate.update_image_wcs`: the previous WCS is
archived under the next free alternate key, the new one gets ``WCSNAME``,
``WCSTYPE``, ``FITNAME``, ``CRDER1/2`` and ``RMS_RA``/``RMS_DEC`` from the
tweaked drizzled WCS, and the ``WCSCORR`` table is updated, as ``tweakreg``
does.

:func:`tweak_transform` is the pure core (two WCSs in, a transform out);
:func:`tweakback` and :func:`apply_tweak` are the file tasks with the
original signatures.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from stwcs_ng.wcsutil import altwcs

from .align import wcsupdate
from .align.deltashift import _read, read_chip_wcs, reference_frame
from .errors import AlignmentError, ConfigError, InputFileError, NoOverlapError

__all__ = ["tweakback", "apply_tweak", "extract_input_filenames", "tweak_transform",
           "TweakbackResult"]

__taskname__ = "tweakback"

log = logging.getLogger(__name__)

_DATA_KW = re.compile(r"^D\d{3}DATA$")


@dataclass
class TweakbackResult:
    """What :func:`tweakback` did.

    Attributes
    ----------
    matrix, offset : numpy.ndarray
        Correction in the original drizzled frame (0-based pixels):
        ``p_new = matrix @ p_old + offset``.
    rotation, scale : float
        Rotation (deg, counter-clockwise in the drizzled frame) and scale of
        ``matrix``.
    shift : numpy.ndarray
        Displacement of the drizzled frame's centre (pixels).
    fit_residual : float
        Largest residual of the corner fit (pixels); near zero unless the
        tweak has skew and ``fitgeometry='rscale'``.
    orig_wcs, final_wcs : tuple of (key, name)
        The two WCSs of the drizzled product that were compared.
    wcsname : str
        Name given to the new WCS of the inputs.
    updated : dict
        Input file -> result of :func:`~drizzlepac_ng.align.wcsupdate.update_image_wcs`.
    """

    matrix: np.ndarray
    offset: np.ndarray
    rotation: float
    scale: float
    shift: np.ndarray
    fit_residual: float
    orig_wcs: tuple[str, str]
    final_wcs: tuple[str, str]
    wcsname: str
    updated: dict[str, Any] = field(default_factory=dict)


def extract_input_filenames(drzfile: str | os.PathLike) -> list[str] | None:
    """Input file names recorded in a drizzled product's ``DnnnDATA`` keywords.

    Parameters
    ----------
    drzfile : str or path-like
        The drizzled product.

    Returns
    -------
    list of str or None
        Unique names (the text before ``[``), in the order of the keywords;
        None when the primary header has no ``DnnnDATA`` keyword.

    Raises
    ------
    InputFileError
        The file cannot be read.
    """
    fname = os.fspath(drzfile)
    hdr = _read(fname)[0].header
    names: list[str] = []
    for kw in hdr:
        if _DATA_KW.match(kw):
            value = str(hdr[kw]).strip()
            name = value.split("[", 1)[0].strip()
            if name and name not in names:
                names.append(name)
    return names or None


def tweak_transform(orig_wcs: WCS, tweaked_wcs: WCS, shape: tuple[int, int], *,
                    fitgeometry: str = "rscale") -> tuple[np.ndarray, np.ndarray, float]:
    """Linear transform of the original drizzled frame that the tweak amounts to.

    Parameters
    ----------
    orig_wcs, tweaked_wcs : astropy.wcs.WCS
        The drizzled product's WCS before and after alignment (linear parts used).
    shape : (ny, nx)
        Size of the drizzled image.
    fitgeometry : {'rscale', 'general'}, optional
        Transform fitted to the four footprint corners.

    Returns
    -------
    matrix : numpy.ndarray, shape (2, 2)
    offset : numpy.ndarray, shape (2,)
        ``p_new = matrix @ p_old + offset`` in 0-based pixels of ``orig_wcs``:
        a source the original WCS placed at pixel ``p_old`` of the original
        frame truly lies at ``p_new`` of that frame.
    residual : float
        Largest corner residual of the fit (pixels).

    Raises
    ------
    ConfigError
        Unknown ``fitgeometry`` or a bad shape.
    AlignmentError
        The WCSs cannot be compared (non-finite positions).
    """
    if fitgeometry not in ("rscale", "general"):
        raise ConfigError(f"fitgeometry must be 'rscale' or 'general', got {fitgeometry!r}")
    ny, nx = (int(v) for v in shape)
    if ny < 1 or nx < 1:
        raise ConfigError(f"bad drizzled image shape {shape}")
    o, t = reference_frame(orig_wcs), reference_frame(tweaked_wcs)
    corners = np.array([[-0.5, -0.5], [nx - 0.5, -0.5], [nx - 0.5, ny - 0.5], [-0.5, ny - 0.5]])
    moved = o.wcs_world2pix(t.wcs_pix2world(corners, 0), 0)
    if not np.all(np.isfinite(moved)):
        raise AlignmentError("the original and tweaked drizzled WCSs cannot be compared")
    ci, cr = corners.mean(axis=0), moved.mean(axis=0)
    a, b = corners - ci, moved - cr
    if fitgeometry == "rscale":
        den = float((a ** 2).sum())
        p = float((a[:, 0] * b[:, 0] + a[:, 1] * b[:, 1]).sum()) / den
        q = float((a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]).sum()) / den
        m = np.array([[p, -q], [q, p]])
    else:
        sol, *_ = np.linalg.lstsq(a, b, rcond=None)
        m = sol.T
    off = cr - m @ ci
    res = moved - (corners @ m.T + off)
    return m, off, float(np.max(np.hypot(res[:, 0], res[:, 1])))


def _wcs_header(hdul: fits.HDUList, extname: str, fname: str) -> tuple[fits.Header, int]:
    want = str(extname or "SCI").strip().upper()
    for i, hdu in enumerate(hdul):
        if i and str(hdu.header.get("EXTNAME", "")).strip().upper() == want \
                and int(hdu.header.get("EXTVER", 1)) == 1:
            return hdu.header, i
    if "CTYPE1" in hdul[0].header or "CRVAL1" in hdul[0].header:
        return hdul[0].header, 0
    raise InputFileError(f"no {want} extension and no WCS in the primary header", filename=fname)


def _key_for(names: dict[str, str], given: str | None, what: str, fname: str) -> str | None:
    if given is None or not str(given).strip():
        return None
    g = str(given).strip()
    for k, n in names.items():
        if n.strip().upper() == g.upper():
            return k
    if len(g) == 1 and g.upper() in names:
        return g.upper()
    if g.upper() in ("PRIMARY", "' '") and " " in names:
        return " "
    raise ConfigError(f"{what} {given!r} not found; the drizzled product has "
                      + ", ".join(f"{k!r}: {v!r}" for k, v in sorted(names.items())),
                      filename=fname)


def _default_orig(names: dict[str, str], final_key: str) -> str:
    alts = sorted(k for k in names if k not in (" ", final_key))
    for k in alts:
        if names[k].strip().upper().startswith("IDC_"):
            return k
    non_o = [k for k in alts if k != "O"]
    return (non_o or alts)[-1]


def _resolve_inputs(inputs: Any, drzfile: str) -> list[str]:
    if isinstance(inputs, (str, os.PathLike)):
        items = [s.strip() for s in os.fspath(inputs).split(",") if s.strip()]
    else:
        items = [os.fspath(s) for s in inputs]
    out = []
    base = Path(drzfile).resolve().parent
    for name in items:
        p = Path(name)
        if p.exists() or p.is_absolute():
            out.append(str(p))
        elif (base / p).exists():
            out.append(str(base / p))
        else:
            out.append(str(p))       # reported as missing when read
    return out


def _float_kw(hdr: fits.Header, kw: str) -> float:
    try:
        v = float(hdr.get(kw, 0.0))
    except (TypeError, ValueError):
        return 0.0
    return v if math.isfinite(v) else 0.0


def _run(drzfile: str | os.PathLike, *, inputs: Any, orig: str | None, final: str | None,
         newname: str | None, extname: str, force: bool, fitgeometry: str = "rscale",
         verbose: bool = True) -> TweakbackResult:
    level = logging.INFO if verbose else logging.DEBUG
    fname = os.fspath(drzfile)
    hdul = _read(fname)
    hdr, _ = _wcs_header(hdul, extname, fname)
    names = altwcs.wcsnames(hdr)
    if " " not in names and ("CTYPE1" in hdr or "CRVAL1" in hdr):
        names[" "] = str(hdr.get("WCSNAME", "")).strip()
    if len(names) < 2:
        raise InputFileError("the drizzled product holds a single WCS: align it first (its "
                             "previous WCS must be archived under an alternate key)",
                             filename=fname)
    final_key = _key_for(names, final, "tweaked WCS", fname)
    if final_key is None:
        final_key = " "
    orig_key = _key_for(names, orig, "original WCS", fname)
    if orig_key is None:
        orig_key = _default_orig(names, final_key)
    if orig_key == final_key:
        raise ConfigError(f"the original and tweaked WCS are the same (key {orig_key!r})",
                          filename=fname)
    try:
        w_orig = WCS(hdr, key=orig_key)
        w_fin = WCS(hdr, key=final_key)
    except Exception as exc:  # astropy raises several types on malformed alternates
        raise InputFileError(f"cannot read the drizzled WCSs: {exc}", filename=fname) from exc
    shape = (int(hdr.get("NAXIS2", 0) or 0), int(hdr.get("NAXIS1", 0) or 0))
    matrix, offset, resid = tweak_transform(w_orig, w_fin, shape, fitgeometry=fitgeometry)
    if resid > 1e-3:
        log.warning("%s: the tweak is not a pure %s transform (corner residual %.3g px); "
                    "consider fitgeometry='general'", fname, fitgeometry, resid)
    k = "" if final_key == " " else final_key
    name = str(newname or "").strip() or names[final_key].strip() or "TWEAKBACK"
    fit = wcsupdate.FitSummary(_float_kw(hdr, f"CRDER1{k}"), _float_kw(hdr, f"CRDER2{k}"),
                               int(_float_kw(hdr, f"NMATCH{k}")))
    if inputs is None:
        inputs = extract_input_filenames(fname)
        if inputs is None:
            raise InputFileError("no input files given and the drizzled product has no DnnnDATA "
                                 "keywords naming them", filename=fname)
    files = _resolve_inputs(inputs, fname)
    if not files:
        raise ConfigError("no input files", filename=fname)

    # validate everything before writing anything
    orig_frame = reference_frame(w_orig)
    ny, nx = shape
    corrections: dict[str, dict[int, WCS]] = {}
    for f in files:
        in_hdul = _read(f)
        chips = read_chip_wcs(f, in_hdul)
        if not force:
            for ev, i in wcsupdate.chip_extensions(in_hdul, f).items():
                used = {v.strip().upper() for v in altwcs.wcsnames(in_hdul[i].header).values()}
                if name.upper() in used:
                    raise ConfigError(f"SCI,{ev} already has a WCS named {name!r} (tweakback "
                                      "already applied?); use force=True or another newname",
                                      filename=f)
        corr = {}
        for ev, (w, cshape) in chips.items():
            cy, cx = cshape
            pts = np.array([[0, 0], [cx - 1, 0], [cx - 1, cy - 1], [0, cy - 1],
                            [(cx - 1) / 2, (cy - 1) / 2]], dtype=float)
            xy = orig_frame.wcs_world2pix(w.all_pix2world(pts, 0), 0)
            inside = ((xy[:, 0] >= -0.5) & (xy[:, 0] <= nx - 0.5)
                      & (xy[:, 1] >= -0.5) & (xy[:, 1] <= ny - 0.5))
            if not inside.any():
                raise NoOverlapError(f"SCI,{ev} does not overlap the drizzled product {fname} "
                                     "(was it drizzled into it?); no file was changed",
                                     filename=f)
            corr[ev] = wcsupdate.apply_linear_correction(w, orig_frame, matrix, offset,
                                                         shape=cshape)
        corrections[f] = corr

    rot = math.degrees(math.atan2(matrix[1, 0], matrix[0, 0]))
    scale = math.sqrt(abs(float(np.linalg.det(matrix))))
    centre = np.array([(nx - 1) / 2.0, (ny - 1) / 2.0])
    result = TweakbackResult(matrix, offset, rot, scale, matrix @ centre + offset - centre, resid,
                             (orig_key, names[orig_key]), (final_key, names[final_key]), name)
    log.log(level, "%s: %r (key %r) -> %r (key %r): shift %.4f, %.4f px, rotation %.6f deg, "
             "scale %.8f", fname, names[orig_key], orig_key, names[final_key], final_key,
             result.shift[0], result.shift[1], rot, scale)
    for f in files:
        result.updated[f] = wcsupdate.update_image_wcs(f, corrections[f], wcsname=name,
                                                       reusename=force, fit=fit)
        log.log(level, "%s: new WCS %r", f, name)
    return result


def tweakback(drzfile: str | os.PathLike, input: Any = None, origwcs: str | None = None,
              newname: str | None = None, wcsname: str | None = None, extname: str = "SCI",
              force: bool = False, verbose: bool = False) -> TweakbackResult:
    """Apply the alignment recorded in a drizzled product to its input exposures.

    Parameters
    ----------
    drzfile : str or path-like
        Drizzled product whose ``extname`` header holds the tweaked WCS and
        (as an alternate) the original one.
    input : str or list of str, optional
        Input exposures (a comma-separated string or a list).  Default: the
        files named in the product's ``DnnnDATA`` keywords (looked up
        relative to the current folder, then to the product's folder).
    origwcs : str, optional
        WCSNAME (or alternate key) of the WCS the product was drizzled with.
        Default: the first alternate whose name starts with ``IDC_``, else
        the most recent alternate.
    newname : str, optional
        WCSNAME of the new WCS in the inputs; default the tweaked WCS's name.
    wcsname : str, optional
        WCSNAME (or key) of the tweaked WCS; default the primary WCS.
    extname : str, optional
        Extension of the product holding the WCS (the primary header is used
        for simple images).
    force : bool, optional
        Apply even if the inputs already have a WCS named ``newname``.
    verbose : bool, optional
        Log the transform and each updated file at INFO level (DEBUG otherwise).

    Returns
    -------
    TweakbackResult

    Raises
    ------
    InputFileError
        Unreadable files, a product with a single WCS, or no inputs given
        and no ``DnnnDATA`` keywords.
    ConfigError
        Unknown WCS names, or the new name already in an input (no ``force``).
    NoOverlapError
        An input chip lies outside the product.
    AlignmentError
        The WCSs cannot be compared.

    Notes
    -----
    Every input is checked and every correction computed before any file is
    written; each file is then updated atomically.
    """
    return _run(drzfile, inputs=input, orig=origwcs, final=wcsname, newname=newname,
                extname=extname, force=force, verbose=verbose)


def apply_tweak(drz_file: str | os.PathLike, orig_wcs_name: str | None,
                output_wcs_name: str | None = None, input_files: Sequence[str] | str | None = None,
                default_extname: str = "SCI", **kwargs: Any) -> TweakbackResult:
    """Original-style entry point of tweakback with explicit WCS names or keys.

    Parameters
    ----------
    drz_file : str or path-like
        The drizzled product.
    orig_wcs_name : str or None
        WCSNAME of the original drizzled WCS (``orig_wcs_key`` in kwargs wins).
    output_wcs_name : str, optional
        WCSNAME of the new WCS written to the inputs.
    input_files : str or list of str, optional
        Inputs; default from the ``DnnnDATA`` keywords.
    default_extname : str, optional
        Extension of the product holding the WCS.
    **kwargs
        ``tweaked_wcs_name``, ``tweaked_wcs_key``, ``orig_wcs_key``,
        ``force`` (bool), ``fitgeometry`` (``'rscale'`` or ``'general'``).

    Returns
    -------
    TweakbackResult

    Raises
    ------
    ConfigError
        An unknown keyword argument, or as :func:`tweakback`.
    """
    allowed = {"tweaked_wcs_name", "tweaked_wcs_key", "orig_wcs_key", "force", "fitgeometry"}
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise ConfigError(f"unknown argument(s) {unknown}; allowed: {sorted(allowed)}")
    orig = kwargs.get("orig_wcs_key") or orig_wcs_name
    final = kwargs.get("tweaked_wcs_key") or kwargs.get("tweaked_wcs_name")
    return _run(drz_file, inputs=input_files, orig=orig, final=final, newname=output_wcs_name,
                extname=default_extname, force=bool(kwargs.get("force", False)),
                fitgeometry=kwargs.get("fitgeometry", "rscale"))
