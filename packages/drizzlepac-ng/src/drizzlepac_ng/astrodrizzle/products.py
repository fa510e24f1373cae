"""Products of astrodrizzle: file names, FITS layout, intermediate files, input updates.

Layout of the drizzled product as the original writes it (``build=True``):
PRIMARY (no data), SCI, WHT, CTX (EXTVER 1 each) and HDRTAB (from
fitsblender-ng, one row per input chip).  With ``build=False`` three simple
FITS files ``<output>_drz_sci.fits``, ``_drz_wht.fits`` and ``_drz_ctx.fits``.
Every file is written through :func:`stwcs_ng.fileio.atomic_write`.

:func:`update_inputs` performs the documented changes of the input files
(``MDRIZSKY`` in each SCI header; DQ bits of ``resetbits`` cleared and the
cosmic-ray bit set) and is called only after the products were written.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits

from stwcs_ng.errors import FileUpdateError as StwcsFileUpdateError
from stwcs_ng.fileio import StagedFile, commit_in_order

from .. import __version__
from ..errors import FileUpdateError
from .config import AstroDrizzleConfig, interpret_bits
from .outwcs import cd_scale_orient
from .pipeline import PipelineResult

__all__ = ["ProductNames", "product_names", "derive_output", "check_output_folder",
           "build_product", "write_products", "write_intermediates", "update_inputs",
           "write_quicklook"]

log = logging.getLogger(__name__)

_WCS_KEY = re.compile(
    r"^(WCSNAME|WCSAXES|CRPIX\d|CRVAL\d|CTYPE\d|CDELT\d|CUNIT\d|CD\d_\d|PC\d_\d|PV\d_\d+|"
    r"LONPOLE|LATPOLE|RADESYS|EQUINOX|MJDREF|RESTFRQ|ORIENTAT|WCSTYPE)([A-Z]?)$")
_DISTORTION_KEY = re.compile(
    r"^(A_|B_|AP_|BP_|CPDIS|CPERR|DP\d|DQ\d|D2IM|TDD|SIPNAME|NPOLNAME|NPOLEXT|D2IMEXT|"
    r"D2IMERR|DGEOEXT|IDCSCALE|IDCV2REF|IDCV3REF|IDCTHETA|IDCXREF|IDCYREF|OCX|OCY)")


@dataclass(frozen=True)
class ProductNames:
    """File names of one run (``root`` is the output rootname, e.g. ``final``)."""

    root: str
    suffix: str
    folder: Path
    drz: Path
    sci: Path
    wht: Path
    ctx: Path
    median: Path
    png: Path


def derive_output(output: str | None, files: list[str], asn_product: str | None) -> str:
    """Output rootname: the ``output`` parameter without ``_drz.fits`` etc.; when blank,
    the association product, the single input's rootname, else ``final``."""
    from .inputs import rootname_of

    text = (output or "").strip()
    if text:
        for ext in (".fits",):
            if text.lower().endswith(ext):
                text = text[: -len(ext)]
        for suf in ("_drz", "_drc", "_drw"):
            if text.lower().endswith(suf):
                text = text[: -len(suf)]
        return text
    if asn_product:
        return asn_product
    if len(files) == 1:
        return rootname_of(files[0])
    return "final"


def product_names(root: str, first_input: str, instrument: str = "") -> ProductNames:
    """Names of the products: ``_drc`` from FLC inputs, ``_drw`` for WFPC2, else ``_drz``."""
    name = Path(first_input).name.lower()
    suffix = "drc" if "_flc" in name else "drw" if instrument.upper() == "WFPC2" else "drz"
    base = Path(root)
    folder = base.parent if str(base.parent) else Path(".")
    stem = str(base)
    return ProductNames(
        root=base.name, suffix=suffix, folder=folder, drz=Path(f"{stem}_{suffix}.fits"),
        sci=Path(f"{stem}_{suffix}_sci.fits"), wht=Path(f"{stem}_{suffix}_wht.fits"),
        ctx=Path(f"{stem}_{suffix}_ctx.fits"), median=Path(f"{stem}_med.fits"),
        png=Path(f"{stem}_{suffix}.png"))


def _folder_writable(folder: Path) -> bool:
    return os.access(folder, os.W_OK | os.X_OK)


def check_output_folder(names: ProductNames) -> None:
    """Raise :class:`FileUpdateError` early when the products cannot be written."""
    folder = names.folder
    if not folder.is_dir():
        raise FileUpdateError(f"output folder {str(folder)!r} does not exist",
                              filename=str(names.drz))
    if not _folder_writable(folder):
        raise FileUpdateError(f"output folder {str(folder)!r} is not writable",
                              filename=str(names.drz))


def _wcs_cards(wcs) -> fits.Header:
    hdr = fits.Header()
    scale, orient = cd_scale_orient(wcs.wcs.cd)
    hdr["WCSAXES"] = 2
    hdr["CRPIX1"], hdr["CRPIX2"] = (float(v) for v in wcs.wcs.crpix)
    hdr["CRVAL1"], hdr["CRVAL2"] = (float(v) for v in wcs.wcs.crval)
    hdr["CTYPE1"], hdr["CTYPE2"] = "RA---TAN", "DEC--TAN"
    cd = wcs.wcs.cd
    hdr["CD1_1"], hdr["CD1_2"] = float(cd[0, 0]), float(cd[0, 1])
    hdr["CD2_1"], hdr["CD2_2"] = float(cd[1, 0]), float(cd[1, 1])
    hdr["ORIENTAT"] = (orient, "position angle of image y axis (deg. e of n)")
    hdr["RADESYS"] = "ICRS"
    return hdr


def _clean_ext_header(hdr: fits.Header) -> fits.Header:
    """Drop WCS (primary and alternate), distortion and structural keywords."""
    out = fits.Header()
    for card in hdr.cards:
        key = card.keyword
        if key in ("SIMPLE", "XTENSION", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "EXTEND",
                   "PCOUNT", "GCOUNT", "EXTNAME", "EXTVER", "BSCALE", "BZERO", "OBJECT",
                   "INHERIT", "MDRIZSKY") or key.startswith(("LTV", "LTM")):
            continue
        if _WCS_KEY.match(key) or _DISTORTION_KEY.match(key):
            continue
        out.append(card)
    return out


def _typed(array, dtype) -> np.ndarray:
    """``array`` as ``dtype`` without a copy when only the byte order differs.

    The tiled path hands over big-endian memory maps of the assembled mosaic;
    astropy writes those as they are, while converting them to native order
    would hold the whole mosaic in memory once more.
    """
    a = np.asanyarray(array)
    if a.dtype.newbyteorder("=") == np.dtype(dtype).newbyteorder("="):
        return a
    return np.asarray(a, dtype)


def build_product(result: PipelineResult, names: ProductNames, cfg: AstroDrizzleConfig,
                  history: list[str]) -> tuple[fits.Header, list[fits.ImageHDU],
                                               fits.BinTableHDU | None]:
    """Primary header, SCI/WHT/CTX extensions and HDRTAB of the final product."""
    from fitsblender_ng.blender import HeaderSet

    exps = result.exposures
    sets = []
    for exp in exps:
        for chip in exp.chips:
            sets.append(HeaderSet(primary=exp.primary, sci=chip.header,
                                  err=chip.err_header, dq=chip.dq_header, name=chip.label))
    table = None
    try:
        from fitsblender_ng.blendheaders import get_blended_headers

        headers, table = get_blended_headers(sets, rules_file=cfg.general.rules_file or None)
        prim, sci_blend = headers[0].copy(), headers[1].copy()
    except Exception as exc:  # blending is best effort: fall back to the first input
        log.warning("header blending failed (%s); using the first input's headers", exc)
        prim, sci_blend = exps[0].primary.copy(), exps[0].chips[0].header.copy()
    prim = _clean_ext_header(prim)
    ext = _clean_ext_header(sci_blend)
    drz_name = names.drz.name if cfg.general.build else names.sci.name
    total = float(sum(e.exptime for e in exps))
    starts = [e.primary.get("EXPSTART") for e in exps if e.primary.get("EXPSTART") is not None]
    ends = [e.primary.get("EXPEND") for e in exps if e.primary.get("EXPEND") is not None]
    prim["DATE"] = (time.strftime("%Y-%m-%d", time.gmtime()), "date this file was written")
    prim["FILENAME"] = drz_name
    prim["PROD_VER"] = f"DrizzlePac {__version__}"
    prim["DRIZPARS"] = (cfg.general.runfile or "", "parameters / log file")
    prim["ROOTNAME"] = names.root
    prim["EXPTIME"] = (total, "total exposure time (s)")
    prim["TEXPTIME"] = (total, "total exposure time (s)")
    if starts:
        prim["EXPSTART"] = min(starts)
    if ends:
        prim["EXPEND"] = max(ends)
    prim["ASN_MTYP"] = "PROD-DTH"
    for key in ("DRIZCORR", "DITHCORR"):
        if key in prim:
            prim[key] = "COMPLETE"
    prim["NDRIZIM"] = (len(result.records), "number of drizzled images")
    out_scale = cd_scale_orient(result.wcs.wcs.cd)[0]
    wcskey = cfg.general.wcskey or " "
    for n, rec in enumerate(result.records, 1):
        p = f"D{n:03d}"
        prim[f"{p}VER"] = (f"drizzlepac_ng {__version__}", "drizzle version")
        prim[f"{p}GEOM"] = ("wcs", "drizzle geometry source")
        prim[f"{p}DATA"] = (rec.label, "drizzle input image")
        prim[f"{p}DEXP"] = (rec.exptime, "drizzle input image exposure time (s)")
        prim[f"{p}OUDA"] = (drz_name, "drizzle output image name")
        prim[f"{p}OUWE"] = (names.wht.name, "drizzle output weighting image name")
        prim[f"{p}OUCO"] = (names.ctx.name, "drizzle output context image name")
        prim[f"{p}MASK"] = (rec.mask_name, "drizzle input weighting image")
        prim[f"{p}WTSC"] = (rec.wt_scl, "drizzle weighting scale factor")
        prim[f"{p}KERN"] = (rec.kernel, "drizzle kernel")
        prim[f"{p}PIXF"] = (rec.pixfrac, "drizzle linear size of drop")
        prim[f"{p}COEF"] = ("SIP", "drizzle source of coefficients")
        prim[f"{p}OUUN"] = (rec.units, "drizzle units of output image")
        prim[f"{p}FVAL"] = (rec.fillval, "drizzle fill value for empty output pixels")
        prim[f"{p}WKEY"] = (wcskey, "input image WCS key being processed")
        prim[f"{p}SCAL"] = (out_scale, "drizzle output pixel scale (arcsec)")
        if rec.idcscale is not None:
            prim[f"{p}ISCL"] = (float(rec.idcscale), "drizzle input pixel scale (arcsec)")
    import astropy
    import numpy

    prim.add_history(f"AstroDrizzle processing performed using: drizzlepac_ng {__version__}")
    prim.add_history(f"    numpy {numpy.__version__}, astropy {astropy.__version__}")
    for line in history:
        prim.add_history(line)

    wcs_hdr = _wcs_cards(result.wcs)
    in_bunit = str(exps[0].chips[0].bunit).upper().replace("/S", "")
    if cfg.general.proc_unit == "electrons":
        in_bunit = "ELECTRONS"
    bunit = in_bunit if cfg.final.final_units == "counts" else f"{in_bunit}/S"
    wcsname = exps[0].chips[0].header.get("WCSNAME", "")

    def ext_header(extname: str, unit: str) -> fits.Header:
        h = ext.copy()
        h["EXTNAME"] = extname
        h["EXTVER"] = 1
        h["BUNIT"] = unit
        h.update(wcs_hdr)
        h["VAFACTOR"] = 1.0
        if wcsname:
            h["WCSNAME"] = wcsname
            h["WCSTYPE"] = "distortion-corrected " + str(wcsname)
        if "CCDCHIP" in h:
            h["CCDCHIP"] = -999
        h["NCOMBINE"] = (len(exps), "number of image sets combined")
        return h

    hdus = []
    sci = result.sci if result.sci is not None else np.zeros((1, 1), np.float32)
    hdus.append(fits.ImageHDU(_typed(sci, np.float32), header=ext_header("SCI", bunit)))
    hdus.append(fits.ImageHDU(_typed(result.wht, np.float32),
                              header=ext_header("WHT", "UNITLESS")))
    if result.ctx is not None:
        hdus.append(fits.ImageHDU(_typed(result.ctx, np.int32),
                                  header=ext_header("CTX", "UNITLESS")))
    for h in hdus:
        for key in ("EXTNAME", "EXTVER"):
            h.header[key] = h.header[key]
    if table is not None:
        table.name = "HDRTAB"
    return prim, hdus, table


def write_products(result: PipelineResult, names: ProductNames, cfg: AstroDrizzleConfig,
                   history: list[str]) -> list[Path]:
    """Write the final product(s); return the files written."""
    from stwcs_ng.fileio import atomic_write

    prim, hdus, table = build_product(result, names, cfg, history)
    written = []
    if cfg.general.build:
        prim["NEXTEND"] = len(hdus) + (table is not None)
        hdul = fits.HDUList([fits.PrimaryHDU(header=prim), *hdus]
                            + ([table] if table is not None else []))
        _write(atomic_write, hdul, names.drz)
        written.append(names.drz)
    else:
        for hdu, path in zip(hdus, (names.sci, names.wht, names.ctx), strict=False):
            h = prim.copy()
            h["FILENAME"] = path.name
            for card in hdu.header.cards:
                if card.keyword not in ("EXTNAME", "EXTVER", "XTENSION", "PCOUNT", "GCOUNT",
                                        "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "HISTORY"):
                    h[card.keyword] = (card.value, card.comment)
            h.pop("NEXTEND", None)
            _write(atomic_write, fits.HDUList([fits.PrimaryHDU(hdu.data, header=h)]), path)
            written.append(path)
    return written


def _write(atomic_write, hdul: fits.HDUList, path: Path) -> None:
    try:
        atomic_write(hdul, path)
    except StwcsFileUpdateError as exc:
        raise FileUpdateError(getattr(exc, "reason", str(exc)), filename=str(path)) from None
    log.info("wrote %s", path)


def write_intermediates(result: PipelineResult, names: ProductNames) -> list[Path]:
    """Single-drizzled, median, blotted images and CR masks with the original's names."""
    from stwcs_ng.fileio import atomic_write

    written = []
    folder = names.folder
    sep_hdr = _wcs_cards(result.sep_wcs if result.sep_wcs is not None else result.wcs)
    for exp, (sci, wht) in zip(result.exposures, result.singles, strict=False):
        for arr, kind in ((sci, "sci"), (wht, "wht")):
            path = folder / f"{exp.rootname}_single_{kind}.fits"
            _write(atomic_write, fits.HDUList([fits.PrimaryHDU(np.asarray(arr), header=sep_hdr)]),
                   path)
            written.append(path)
    if result.median is not None:
        _write(atomic_write, fits.HDUList([fits.PrimaryHDU(result.median, header=sep_hdr)]),
               names.median)
        written.append(names.median)
    for exp in result.exposures:
        for chip in exp.chips:
            blot = result.blots.get(chip.label)
            if blot is not None:
                path = folder / f"{exp.rootname}_{chip.tag}_blt.fits"
                _write(atomic_write, fits.HDUList([fits.PrimaryHDU(blot)]), path)
                written.append(path)
            cr = result.crmasks.get(chip.label)
            if cr is not None:
                path = folder / f"{exp.rootname}_{chip.tag}_crmask.fits"
                good = (~cr).astype(np.uint8)
                _write(atomic_write, fits.HDUList([fits.PrimaryHDU(good)]), path)
                written.append(path)
    return written


def write_crclean(result: PipelineResult, names: ProductNames) -> list[Path]:
    """``R_crclean.fits`` copies with cosmic-ray pixels replaced by the blotted model."""
    from stwcs_ng.fileio import atomic_write, read_fits

    written = []
    for exp in result.exposures:
        hdul = read_fits(exp.filename)
        for chip in exp.chips:
            cr, blot = result.crmasks.get(chip.label), result.blots.get(chip.label)
            if cr is None or blot is None:
                continue
            data = np.array(hdul["SCI", chip.extver].data, dtype=np.float32)
            data[cr] = blot[cr]
            hdul["SCI", chip.extver].data = data
        path = names.folder / f"{exp.rootname}_crclean.fits"
        _write(atomic_write, hdul, path)
        written.append(path)
    return written


def _update_workers(cfg: AstroDrizzleConfig, n_files: int) -> int:
    cores = cfg.general.num_cores or os.cpu_count() or 1
    return max(1, min(int(cores), n_files))


def _dq_update(dq: np.ndarray, cr: np.ndarray | None, resetbits: int, crbit: int) -> None:
    """Clear ``resetbits`` and set ``crbit`` where ``cr`` in an integer DQ array, in place.

    The masks are cast to the array's own integer type (two's complement), so
    the bits are those of the stored values whatever their width.
    """
    if resetbits:
        dq &= np.array(~np.int64(resetbits)).astype(dq.dtype)
    if cr is not None and crbit:
        dq[cr] |= np.array(np.int64(crbit)).astype(dq.dtype)


def _is_scaled(header: fits.Header) -> bool:
    return header.get("BSCALE", 1) != 1 or header.get("BZERO", 0) != 0


def _edit_copy(staged: Path, exp, result: PipelineResult, resetbits: int, crbit: int,
               write_dq: bool) -> int | None:
    """Update the byte copy ``staged`` in place (memory-mapped); return its HDU count.

    None (nothing changed) when a DQ array is scaled (``BSCALE``/``BZERO``):
    its bits are then those of the scaled values and the copy is rebuilt by
    :func:`_rebuild_copy` instead.
    """
    with fits.open(staged, mode="update", memmap=True, do_not_scale_image_data=True) as hdul:
        dq_hdus = {}
        for chip in exp.chips:
            if chip.has_dq and (write_dq or resetbits):
                dq_hdus[chip.extver] = hdul["DQ", chip.extver]
        if any(_is_scaled(h.header) for h in dq_hdus.values()):
            return None
        for chip in exp.chips:
            hdul["SCI", chip.extver].header["MDRIZSKY"] = (
                float(chip.sky), "Sky value computed by AstroDrizzle")
            hdu = dq_hdus.get(chip.extver)
            if hdu is not None:
                cr = result.crmasks.get(chip.label) if write_dq else None
                _dq_update(hdu.data, cr, resetbits, crbit)
        return len(hdul)


def _rebuild_copy(path: Path, staged: Path, exp, result: PipelineResult, resetbits: int,
                  crbit: int, write_dq: bool) -> int:
    """Read ``path`` whole, change it, write it to ``staged`` (for scaled DQ arrays)."""
    from stwcs_ng.fileio import read_fits

    hdul = read_fits(path)
    for chip in exp.chips:
        hdul["SCI", chip.extver].header["MDRIZSKY"] = (
            float(chip.sky), "Sky value computed by AstroDrizzle")
        if not chip.has_dq:
            continue
        dq_hdu = hdul["DQ", chip.extver]
        dq = np.asarray(dq_hdu.data)
        new = dq.astype(np.int64)
        _dq_update(new, result.crmasks.get(chip.label) if write_dq else None, resetbits,
                   crbit)
        dq_hdu.data = new.astype(dq.dtype)
    with open(staged, "wb") as fh:
        hdul.writeto(fh, output_verify="fix")
    return len(hdul)


def _staged_update(exp, result: PipelineResult, resetbits: int, crbit: int,
                   write_dq: bool) -> StagedFile | None:
    """Phase 1 for one input (in a worker thread): its updated, sealed copy next to it.

    The input's bytes are copied by the kernel to a :class:`StagedFile`; the
    copy's SCI headers and DQ arrays are changed in place (memory-mapped, so
    only the changed pages are written); the copy is then sealed (fsynced,
    re-read and verified, given the input's permission bits).  The input
    itself is only read.  Returns None (and leaves no file) when a DQ array is
    scaled: the caller then rebuilds that copy with :func:`_staged_rebuild`.
    """
    staged = StagedFile(exp.filename, copy=True)
    try:
        n_hdus = _edit_copy(staged.path, exp, result, resetbits, crbit, write_dq)
        if n_hdus is None:
            staged.discard()
            return None
        staged.seal(n_hdus)
    except BaseException:
        staged.discard()
        raise
    return staged


def _staged_rebuild(exp, result: PipelineResult, resetbits: int, crbit: int,
                    write_dq: bool) -> StagedFile:
    """Phase 1 for an input with a scaled DQ array (main thread: stwcs-ng's readers
    record warnings, which is not thread-safe)."""
    staged = StagedFile(exp.filename)
    try:
        n_hdus = _rebuild_copy(Path(exp.filename), staged.path, exp, result, resetbits,
                               crbit, write_dq)
        staged.seal(n_hdus)
    except BaseException:
        staged.discard()
        raise
    return staged


def _update_error(exc: BaseException, path: Path) -> BaseException:
    """The package error for a failed phase-1 update of ``path``."""
    from stwcs_ng.errors import StwcsError

    if isinstance(exc, StwcsFileUpdateError) or not isinstance(exc, StwcsError):
        reason = getattr(exc, "reason", None) or f"{type(exc).__name__}: {exc}"
        return FileUpdateError(f"could not be updated ({reason}); no input file was changed",
                               filename=str(path))
    return exc  # stwcs-ng's InputFileError etc. name the file already


def update_inputs(result: PipelineResult, cfg: AstroDrizzleConfig) -> None:
    """After success: MDRIZSKY into each SCI header; DQ resetbits cleared, CR bit set.

    With ``preserve`` the original files are first copied to ``OrIg_files/``
    (unless a copy is already there and ``overwrite`` is False).  With
    ``driz_cr_mask=True`` the DQ arrays are not changed.

    The inputs are updated in two phases, so that the update is
    all-or-nothing across files:

    1. every input is checked to be writable; then, concurrently in a thread
       pool of ``general.num_cores`` (default ``os.cpu_count()``) workers, at
       most one per file, each input is copied byte for byte (by the kernel) to
       a temporary file next to it (``.<name>.*.tmp``), the copy's SCI headers
       and DQ arrays are changed in place (memory-mapped), and the copy is
       fsynced, re-read completely and verified.  Nothing has been renamed
       yet: if any file fails, every temporary file is removed, every input is
       byte-identical, and :class:`~drizzlepac_ng.errors.FileUpdateError`
       names the first failing file in input order.  (A DQ array scaled by
       ``BSCALE``/``BZERO`` is instead read, changed and rewritten whole, in
       the calling thread.)
    2. the verified copies are renamed over the inputs in input order
       (``os.replace``, atomic per file) and the folders fsynced.  Only a
       failed rename (practically never, as the temporary file is in the same
       folder) can leave the files before it updated and those after it old;
       the error then says which were updated.  Each file on its own is
       always either the old or the new complete file.

    A ``SIGKILL`` during phase 1 leaves every input old (and stale
    ``.<name>.*.tmp`` files); during phase 2, each input old or new.  Log
    lines are written from the calling thread in input order, so the log does
    not depend on the number of workers.  Each worker holds only the DQ pages
    it changes in memory (plus the CR masks of the run); the disk needs room
    for one extra copy of every input until phase 2.

    Parameters
    ----------
    result : PipelineResult
        The run's exposures (with their chips' sky values) and CR masks.
    cfg : AstroDrizzleConfig
        ``general.crbit``, ``general.resetbits``, ``general.num_cores``,
        ``state.preserve``/``overwrite`` and ``driz_cr.driz_cr_mask``.

    Raises
    ------
    FileUpdateError
        If an input (or its ``OrIg_files`` copy) cannot be written; no input
        was changed (see the phases above).
    stwcs_ng.errors.InputFileError
        If an input can no longer be read.
    """
    from concurrent.futures import ThreadPoolExecutor

    crbit = int(cfg.general.crbit)
    resetbits = interpret_bits(cfg.general.resetbits, "resetbits") or 0
    write_dq = not cfg.driz_cr.driz_cr_mask
    exposures = list(result.exposures)
    if not exposures:
        return
    paths = [Path(exp.filename) for exp in exposures]
    for path in paths:  # refuse before anything is written
        if not os.access(path, os.W_OK):
            raise FileUpdateError("input file is read-only; no input file was changed",
                                  filename=str(path))
    if cfg.state.preserve:
        for path in paths:
            archive = path.parent / "OrIg_files"
            target = archive / path.name
            if not target.exists() or cfg.state.overwrite:
                try:
                    archive.mkdir(exist_ok=True)
                    shutil.copy2(path, target)
                except OSError as exc:
                    raise FileUpdateError(f"cannot keep a copy of the original ({exc}); no "
                                          "input file was changed", filename=str(target)) \
                        from exc
                log.info("copied %s to %s", path, target)

    workers = _update_workers(cfg, len(exposures))
    staged: list[StagedFile | None] = [None] * len(exposures)
    futures: list = []
    try:
        with ThreadPoolExecutor(max_workers=workers,
                                thread_name_prefix="update_inputs") as pool:
            futures = [pool.submit(_staged_update, exp, result, resetbits, crbit, write_dq)
                       for exp in exposures]
            failure: BaseException | None = None
            for i, fut in enumerate(futures):  # input order: a deterministic first failure
                try:
                    staged[i] = fut.result()
                except Exception as exc:
                    if failure is None:
                        failure = _update_error(exc, paths[i])
                        failure.__cause__ = exc
                        for later in futures[i + 1:]:
                            later.cancel()
            for i, exp in enumerate(exposures):  # scaled DQ arrays: rebuilt here, serially
                if failure is None and staged[i] is None:
                    try:
                        staged[i] = _staged_rebuild(exp, result, resetbits, crbit, write_dq)
                    except Exception as exc:
                        failure = _update_error(exc, paths[i])
                        failure.__cause__ = exc
        if failure is not None:
            raise failure
        try:
            commit_in_order(staged)  # phase 2: rename in input order
        except StwcsFileUpdateError as exc:
            raise FileUpdateError(exc.reason, filename=exc.filename) from exc
    finally:
        for i, fut in enumerate(futures):  # also copies finished after an interruption
            if staged[i] is None and fut.done() and not fut.cancelled() \
                    and fut.exception() is None and fut.result() is not None:
                staged[i] = fut.result()
        for item in staged:
            if item is not None:
                item.discard()
    for path in paths:
        log.info("updated %s (MDRIZSKY%s)", path, ", DQ" if write_dq else "")


def write_quicklook(image: np.ndarray, path: str | Path, *, title: str = "") -> Path | None:
    """PNG quick-look (asinh stretch between the 1st and 99.7th percentiles).

    Returns None (with a warning) when matplotlib is not installed.
    """
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        from matplotlib.figure import Figure
    except ImportError:
        log.warning("matplotlib is not installed: no quick-look PNG")
        return None
    img = np.asarray(image, dtype=np.float64)
    finite = img[np.isfinite(img)]
    lo, hi = (np.percentile(finite, [1.0, 99.7]) if finite.size else (0.0, 1.0))
    span = hi - lo if hi > lo else 1.0
    scaled = np.arcsinh(10 * np.clip((img - lo) / span, 0, 1)) / np.arcsinh(10)
    ny, nx = img.shape
    fig = Figure(figsize=(8, 8 * ny / max(nx, 1) + 0.4), dpi=100)
    ax = fig.add_axes((0, 0, 1, 0.95))
    ax.imshow(np.nan_to_num(scaled, nan=0.0), origin="lower", cmap="gray",
              interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)
    fig.savefig(path)
    log.info("wrote quick-look %s", path)
    return Path(path)

