"""In-memory core of ``updatewcs``: one HDUList in, the same HDUList updated.

Nothing here touches the disk except reading reference files; the task
function (:func:`stwcs_ng.updatewcs.updatewcs`) wraps it in an atomic file
update, so a failure anywhere leaves the science file unchanged.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
from collections.abc import Mapping

import astropy
import numpy as np
from astropy.io import fits

from .. import __version__
from ..distortion import lookup
from ..distortion.idctab import IDCModel, read_idctab
from ..distortion.makewcs import (
    LinearWCS,
    chip_wcs,
    parity_for,
    reference_frame,
    subarray_reference,
)
from ..distortion.sip import idc_to_sip, remove_sip_keywords, sip_keywords
from ..distortion.tdd import apply_tdd, zero_point_offset
from ..distortion.va import apply_velocity_aberration
from ..errors import (
    HeaderError,
    IDCRowNotFoundError,
    MissingExtensionError,
    ReferenceFileError,
    UnsupportedInstrumentError,
)
from ..wcsutil import altwcs, wcscorr
from ..wcsutil._names import build_default_wcsname, build_distname, build_sipname
from .reffiles import check_reference, is_blank_reference

__all__ = ["UpdateOptions", "SUPPORTED", "update_hdulist"]

log = logging.getLogger(__name__)

#: Supported (INSTRUME, DETECTOR) pairs.
SUPPORTED = {
    "ACS": ("WFC", "HRC", "SBC"),
    "WFC3": ("UVIS", "IR"),
}
_DEFERRED = ("WFPC2", "STIS", "NICMOS")

#: Extensions that get a copy of their SCI extension's linear WCS.
_COMPANIONS = ("ERR", "DQ", "SDQ", "SAMP", "TIME")

#: IDC keywords written into each SCI header.
_IDC_KEYWORDS = ("IDCTAB", "OCX10", "OCX11", "OCY10", "OCY11", "IDCSCALE", "IDCTHETA",
                 "IDCXREF", "IDCYREF", "IDCV2REF", "IDCV3REF")

#: Keywords written by a previous run that a new run removes before writing.
_STALE_TDD = ("TDDALPHA", "TDDBETA", "TDD_CTA", "TDD_CTB", "TDD_CYA", "TDD_CYB",
              "TDD_CXA", "TDD_CXB")


@dataclasses.dataclass(frozen=True)
class UpdateOptions:
    """Switches of :func:`update_hdulist` (same names as the task)."""

    vacorr: bool = True
    tddcorr: bool = True
    npolcorr: bool = True
    d2imcorr: bool = True


def _supported_text() -> str:
    return "; ".join(f"{inst} {'/'.join(dets)}" for inst, dets in SUPPORTED.items())


def _check_instrument(primary: fits.Header, filename: str | None) -> tuple[str, str]:
    inst = str(primary.get("INSTRUME", "")).strip().upper()
    det = str(primary.get("DETECTOR", "")).strip().upper()
    if not inst:
        raise HeaderError("primary header has no INSTRUME keyword; updatewcs needs an HST "
                          "exposure", filename=filename)
    if inst in SUPPORTED and det in SUPPORTED[inst]:
        return inst, det
    extra = " (support is deferred to a later release)" if inst in _DEFERRED else ""
    raise UnsupportedInstrumentError(
        f"updatewcs does not support {inst}{'/' + det if det else ''}{extra}; supported: "
        f"{_supported_text()}", filename=filename)


def _sci_indices(hdul: fits.HDUList, filename: str | None) -> list[int]:
    idx = [i for i, h in enumerate(hdul)
           if i > 0 and str(h.header.get("EXTNAME", "")).strip().upper() == "SCI"]
    if not idx:
        raise MissingExtensionError("no SCI extension", filename=filename)
    for i in idx:
        if hdul[i].header.get("NAXIS", 0) != 2:
            raise HeaderError("SCI extension is not a 2-D image", filename=filename,
                              extension=("SCI", hdul[i].header.get("EXTVER", 1)))
    return idx


def _float(header: fits.Header, kw: str, default: float | None, *, filename, extension=None):
    value = header.get(kw, default)
    if value is None:
        raise HeaderError(f"required keyword {kw} is missing", filename=filename,
                          extension=extension)
    try:
        out = float(value)
    except (TypeError, ValueError) as exc:
        raise HeaderError(f"keyword {kw}={value!r} is not a number", filename=filename,
                          extension=extension) from exc
    if not math.isfinite(out):
        raise HeaderError(f"keyword {kw}={value!r} is not finite", filename=filename,
                          extension=extension)
    return out


def _read_linear(header: fits.Header, key: str, *, filename, extension) -> LinearWCS:
    """CRPIX/CRVAL/CD of WCS ``key`` (CD, or PC x CDELT, form)."""
    k = key.strip()

    def kw(base: str) -> str:
        return base + k if k else base

    crpix = np.array([_float(header, kw(f"CRPIX{i}"), None, filename=filename,
                             extension=extension) for i in (1, 2)])
    crval = np.array([_float(header, kw(f"CRVAL{i}"), None, filename=filename,
                             extension=extension) for i in (1, 2)])
    if any(kw(f"CD{i}_{j}") in header for i in (1, 2) for j in (1, 2)):
        cd = np.array([[_float(header, kw(f"CD{i}_{j}"), 0.0, filename=filename,
                               extension=extension) for j in (1, 2)] for i in (1, 2)])
    else:
        pc = np.array([[_float(header, kw(f"PC{i}_{j}"), 1.0 if i == j else 0.0,
                               filename=filename, extension=extension)
                        for j in (1, 2)] for i in (1, 2)])
        cdelt = np.array([_float(header, kw(f"CDELT{i}"), 1.0, filename=filename,
                                 extension=extension) for i in (1, 2)])
        cd = pc * cdelt[:, None]
    if abs(np.linalg.det(cd)) == 0:
        raise HeaderError(f"the CD matrix of WCS {key!r} is singular", filename=filename,
                          extension=extension)
    return LinearWCS(crpix=crpix, crval=crval, cd=cd)


@dataclasses.dataclass
class _Chip:
    index: int
    extver: int
    chip: int
    opus: LinearWCS
    ltv: tuple[float, float]
    naxis: tuple[int, int]
    vafactor: float
    binned: int
    model: IDCModel | None = None
    crpix: np.ndarray | None = None
    zero_point: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(2))
    tdd_keywords: dict = dataclasses.field(default_factory=dict)


def _filters(primary: fits.Header, inst: str) -> tuple[str | None, str | None]:
    if inst == "WFC3":
        return primary.get("FILTER"), "CLEAR"
    return primary.get("FILTER1"), primary.get("FILTER2")


def _open_reference(path, what: str, filename: str | None) -> fits.HDUList:
    hdul = None
    try:
        hdul = fits.open(path, memmap=False)
        hdul.readall()
    except (OSError, ValueError, TypeError) as exc:
        if hdul is not None:
            hdul.close()
        raise ReferenceFileError(f"{what} {str(path)!r} cannot be read as FITS ({exc})",
                                 filename=filename) from exc
    return hdul


def _prepare_opus(header: fits.Header, filename, extension) -> LinearWCS:
    """Make the OPUS WCS primary (restore key O, or archive the primary as O)."""
    keys = altwcs.wcskeys(header)
    if " " not in keys:
        raise HeaderError("no primary WCS (CRPIX/CRVAL/CTYPE keywords)", filename=filename,
                          extension=extension)
    if altwcs.OPUS_KEY in keys:
        altwcs.restore_header_wcs(header, altwcs.OPUS_KEY)
    else:
        altwcs.archive_header_wcs(header, altwcs.OPUS_KEY, "OPUS",
                                  mode=altwcs.ArchiveMode.OVERWRITE_KEY)
    return _read_linear(header, " ", filename=filename, extension=extension)


def _clean_alternates_on_new_idctab(hdul: fits.HDUList, primary: fits.Header) -> None:
    """A new IDCTAB invalidates every WCS computed with the old one (key O is kept)."""
    first = hdul[1].header
    if "IDCTAB" not in first:
        return
    if str(first["IDCTAB"]).strip() == str(primary.get("IDCTAB", "")).strip():
        return
    log.warning("IDCTAB changed from %s to %s: deleting the alternate WCSs computed with the "
                "old one (key O is kept)", first["IDCTAB"], primary.get("IDCTAB"))
    for hdu in hdul[1:]:
        if not isinstance(hdu, (fits.ImageHDU, fits.CompImageHDU)):
            continue
        for key in altwcs.wcskeys(hdu.header):
            if key not in (" ", altwcs.OPUS_KEY):
                altwcs.delete_header_wcs(hdu.header, key)


def _put(header: fits.Header, kw: str, value, comment: str) -> None:
    """Set a card, re-formatting it even when the value is unchanged (stable bytes)."""
    if kw in header:
        idx = header.index(kw)
        del header[idx]
        header.insert(idx, (kw, value, comment))
    else:
        header.set(kw, value, comment)


def _write_linear(header: fits.Header, lw: LinearWCS, *, sip: bool) -> None:
    for kw in ("PC1_1", "PC1_2", "PC2_1", "PC2_2", "CDELT1", "CDELT2", "CROTA1", "CROTA2"):
        if kw in header:
            del header[kw]
    suffix = "-SIP" if sip else ""
    if "WCSAXES" in header:
        _put(header, "WCSAXES", 2, "Number of coordinate axes")
    _put(header, "CTYPE1", "RA---TAN" + suffix, "Right ascension, gnomonic projection")
    _put(header, "CTYPE2", "DEC--TAN" + suffix, "Declination, gnomonic projection")
    for i in (1, 2):
        _put(header, f"CRPIX{i}", float(lw.crpix[i - 1]), "Pixel coordinate of reference point")
    for i in (1, 2):
        _put(header, f"CRVAL{i}", float(lw.crval[i - 1]), "Coordinate value at reference point")
    _put(header, "CD1_1", float(lw.cd[0, 0]), "partial of first axis coordinate w.r.t. x")
    _put(header, "CD1_2", float(lw.cd[0, 1]), "partial of first axis coordinate w.r.t. y")
    _put(header, "CD2_1", float(lw.cd[1, 0]), "partial of second axis coordinate w.r.t. x")
    _put(header, "CD2_2", float(lw.cd[1, 1]), "partial of second axis coordinate w.r.t. y")


def _copy_to_companions(hdul: fits.HDUList, sci_header: fits.Header, extver: int) -> None:
    for hdu in hdul[1:]:
        h = hdu.header
        name = str(h.get("EXTNAME", "")).strip().upper()
        if name not in _COMPANIONS or int(h.get("EXTVER", 1)) != extver:
            continue
        for kw in ("CTYPE1", "CTYPE2"):
            _put(h, kw, str(sci_header[kw]).removesuffix("-SIP"), sci_header.comments[kw])
        for kw in ("CRPIX1", "CRPIX2", "CRVAL1", "CRVAL2", "CD1_1", "CD1_2", "CD2_1", "CD2_2",
                   "WCSNAME"):
            if kw in sci_header:
                _put(h, kw, sci_header[kw], sci_header.comments[kw])
        for kw in ("PC1_1", "PC1_2", "PC2_1", "PC2_2", "CDELT1", "CDELT2"):
            if kw in h:
                del h[kw]


def _place_hdus(hdul: fits.HDUList, extname: str, new: list[fits.ImageHDU]) -> None:
    """Replace extensions ``extname`` by ``new`` keeping positions of matching EXTVERs."""
    existing = {int(h.header.get("EXTVER", 1)): i for i, h in enumerate(hdul)
                if i > 0 and str(h.header.get("EXTNAME", "")).strip().upper() == extname}
    wanted = {int(h.header["EXTVER"]) for h in new}
    doomed = sorted((i for v, i in existing.items() if v not in wanted), reverse=True)
    for hdu in new:
        ver = int(hdu.header["EXTVER"])
        if ver in existing:
            hdul[existing[ver]] = hdu
        else:
            hdul.append(hdu)
    for i in doomed:
        del hdul[i]


def _remove_extensions(hdul: fits.HDUList, extname: str) -> None:
    for i in range(len(hdul) - 1, 0, -1):
        if str(hdul[i].header.get("EXTNAME", "")).strip().upper() == extname:
            del hdul[i]


def _apply_d2im(hdul, sci_idx, primary, ref: fits.HDUList, chips: dict[int, _Chip]) -> None:
    if "D2IMEXT" in hdul[1].header:
        del hdul[1].header["D2IMEXT"]
    hdus = []
    extver = 1
    for i in sci_idx:
        header = hdul[i].header
        lookup.remove_lookup_keywords(header, "d2im")
        tables = lookup.find_tables(ref, lookup.table_chip(primary, header))
        for axis, name in ((1, "DX"), (2, "DY")):
            if name not in tables:
                continue
            data = np.asarray(tables[name].data, dtype=np.float32)
            for card in lookup.d2im_keywords(axis, extver, float(data.max())):
                header.set(*card)
            hdus.append(lookup.lookup_hdu("D2IMARR", extver, data, tables[name].header,
                                          ref[0].header, name, header))
            extver += 1
    _place_hdus(hdul, "D2IMARR", hdus)


def _apply_npol(hdul, sci_idx, primary, ref: fits.HDUList, chips: dict[int, _Chip],
                filename) -> None:
    if "NPOLEXT" in hdul[1].header:
        del hdul[1].header["NPOLEXT"]
    hdus = []
    for i in sci_idx:
        header = hdul[i].header
        extver = chips[i].extver
        lookup.remove_lookup_keywords(header, "npol")
        tables = lookup.find_tables(ref, lookup.table_chip(primary, header))
        if "DX" not in tables or "DY" not in tables:
            raise ReferenceFileError(
                f"NPOLFILE has no DX/DY tables for chip {lookup.table_chip(primary, header)}",
                filename=filename, extension=("SCI", extver))
        dx = np.asarray(tables["DX"].data, dtype=np.float32)
        dy = np.asarray(tables["DY"].data, dtype=np.float32)
        if dx.shape != dy.shape:
            raise ReferenceFileError("NPOLFILE DX and DY tables differ in shape",
                                     filename=filename)
        if all(k in header for k in ("OCX10", "OCX11", "OCY10", "OCY11")):
            linear = np.array([[header["OCX11"], header["OCX10"]],
                               [header["OCY11"], header["OCY10"]]], dtype=np.float64)
            scale = float(header.get("IDCSCALE", 1.0))
            dx, dy = lookup.npol_to_pixels(dx, dy, linear, scale)
        else:
            log.warning("no OCX/OCY keywords in SCI,%d: NPOL tables used untransformed", extver)
        for axis, name, data in ((1, "DX", dx), (2, "DY", dy)):
            ver = 2 * extver - (2 - axis)
            for card in lookup.npol_keywords(axis, ver, float(data.max())):
                header.set(*card)
            hdus.append(lookup.lookup_hdu("WCSDVARR", ver, data, tables[name].header,
                                          ref[0].header, name, header))
    _place_hdus(hdul, "WCSDVARR", hdus)


def _remove_lookup(hdul, sci_idx, kind: str) -> None:
    for i in sci_idx:
        lookup.remove_lookup_keywords(hdul[i].header, kind)
    _remove_extensions(hdul, "WCSDVARR" if kind == "npol" else "D2IMARR")
    for kw in ("NPOLEXT",) if kind == "npol" else ("D2IMEXT",):
        if kw in hdul[1].header:
            del hdul[1].header[kw]


def _set_version_keywords(primary: fits.Header) -> None:
    cards = [("UPWCSVER", f"stwcs-ng {__version__}", "Version of STWCS used to updated the WCS"),
             ("PYWCSVER", astropy.__version__, "Version of PYWCS used to updated the WCS")]
    previous = None
    for kw, value, comment in cards:
        if kw in primary:
            primary[kw] = (value, comment)
        elif previous is not None:
            primary.set(kw, value, comment, after=previous)
        elif "HISTORY" in primary:
            primary.set(kw, value, comment, before="HISTORY")
        elif "ASN_MTYP" in primary:
            primary.set(kw, value, comment, after="ASN_MTYP")
        else:
            primary.set(kw, value, comment)
        previous = kw


def update_hdulist(hdul: fits.HDUList, options: UpdateOptions = UpdateOptions(), *,
                   filename: str | None = None,
                   environ: Mapping[str, str] | None = None) -> str:
    """Apply the HST distortion model to an exposure held in memory.

    Parameters
    ----------
    hdul : astropy.io.fits.HDUList
        The exposure (modified in place; on an exception it may be partly
        modified, so callers pass a copy they can discard).
    options : UpdateOptions, optional
        Which corrections to apply.
    filename : str, optional
        Name used in messages.
    environ : mapping, optional
        Environment for ``jref$``-style names (default ``os.environ``).

    Returns
    -------
    str
        The WCSNAME written.

    Raises
    ------
    StwcsError
        Any problem with the exposure or its reference files (subclasses:
        UnsupportedInstrumentError, MissingExtensionError, HeaderError,
        ReferenceFileError, IDCRowNotFoundError).
    """
    primary = hdul[0].header
    inst, det = _check_instrument(primary, filename)
    sci_idx = _sci_indices(hdul, filename)

    # --- reference files (all resolved and read before anything changes) --------------
    with contextlib.ExitStack() as stack:
        def load(keyword: str, wanted: bool) -> fits.HDUList | None:
            value = primary.get(keyword)
            if not wanted or is_blank_reference(value):
                return None
            path = check_reference(value, environ=environ, keyword=keyword, filename=filename)
            ref = _open_reference(path, keyword, filename)
            stack.callback(ref.close)
            return ref

        idc_hdul = load("IDCTAB", True)
        npol_hdul = load("NPOLFILE", options.npolcorr)
        d2im_hdul = load("D2IMFILE", options.d2imcorr)
        return _update(hdul, primary, inst, det, sci_idx, options, filename,
                       idc_hdul, npol_hdul, d2im_hdul)


def _update(hdul, primary, inst, det, sci_idx, options, filename, idc_hdul, npol_hdul,
            d2im_hdul) -> str:
    if idc_hdul is not None:
        _clean_alternates_on_new_idctab(hdul, primary)

    # --- chips: OPUS WCS, geometry --------------------------------------------------
    chips: dict[int, _Chip] = {}
    for i in sci_idx:
        h = hdul[i].header
        extver = int(h.get("EXTVER", 1))
        ext = ("SCI", extver)
        opus = _prepare_opus(h, filename, ext)
        multichip = (inst, det) in lookup.MULTICHIP_DETECTORS
        chip = int(_float(h, "CCDCHIP", 1, filename=filename, extension=ext)) if multichip else 1
        va = _float(h, "VAFACTOR", primary.get("VAFACTOR", 1.0), filename=filename,
                    extension=ext)
        chips[i] = _Chip(index=i, extver=extver, chip=chip, opus=opus,
                         ltv=(_float(h, "LTV1", 0.0, filename=filename, extension=ext),
                              _float(h, "LTV2", 0.0, filename=filename, extension=ext)),
                         naxis=(int(h["NAXIS1"]), int(h["NAXIS2"])), vafactor=va,
                         binned=int(_float(h, "BINAXIS1", 1, filename=filename, extension=ext)))
    ref_i = sci_idx[0]
    if (inst, det) in lookup.MULTICHIP_DETECTORS:
        ref_i = next((i for i in sci_idx if chips[i].chip == 2), sci_idx[0])

    # --- models ---------------------------------------------------------------------
    wcsname = " "
    if idc_hdul is not None:
        idc_value = str(primary["IDCTAB"]).strip()
        if "idc.fits" in idc_value.lower():
            wcsname = build_default_wcsname(idc_value)
        date_obs = primary.get("DATE-OBS")
        f1, f2 = _filters(primary, inst)
        tdd_switch = str(primary.get("TDDCORR", "PERFORM")).strip().upper()
        do_tdd = inst == "ACS" and det == "WFC" and options.tddcorr and tdd_switch == "PERFORM"
        if do_tdd and is_blank_reference(date_obs):
            raise HeaderError("DATE-OBS is needed for the ACS/WFC time-dependent distortion",
                              filename=filename)
        warned_tdd = False
        for i in sci_idx:
            c = chips[i]
            try:
                model = read_idctab(idc_hdul, chip=c.chip, filter1=f1, filter2=f2,
                                    detector=det, binned=c.binned)
            except IDCRowNotFoundError as exc:
                raise IDCRowNotFoundError(f"{exc.reason} in IDCTAB {idc_value}",
                                          filename=filename, extension=("SCI", c.extver)) \
                    from None
            except ReferenceFileError as exc:
                raise ReferenceFileError(f"IDCTAB {idc_value}: {exc.reason}",
                                         filename=filename) from None
            if do_tdd:
                try:
                    res = apply_tdd(model, str(date_obs))
                except ValueError as exc:
                    raise HeaderError(f"DATE-OBS={date_obs!r} cannot be parsed ({exc})",
                                      filename=filename) from exc
                model = res.model
                if res.defaulted and not warned_tdd:
                    log.warning("%s: the IDCTAB has no time-dependent distortion coefficients; "
                                "the pre-SM4 default skew solution is used (get a current "
                                "IDCTAB)", filename or "input")
                    warned_tdd = True
                c.tdd_keywords = res.keywords
                if res.form == "skew":
                    c.zero_point = zero_point_offset(c.chip, res.alpha, res.beta)
            c.model, c.crpix = subarray_reference(model, c.opus.crpix, c.ltv, c.naxis)
        pa_v3 = _float(primary, "PA_V3", None, filename=filename)
        parity = parity_for(inst, det)
        r = chips[ref_i]
        ref_pscale = math.hypot(r.opus.cd[0, 0], r.opus.cd[1, 0]) * 3600.0
        tdds_ref = ref_pscale / r.model.cx[1, 1]
        v23_frame = (r.model.v2ref + r.zero_point[0] * tdds_ref,
                     r.model.v3ref - r.zero_point[1] * tdds_ref)
        frame = reference_frame(r.opus, r.model, r.crpix, pa_v3, parity, v23_frame)
        ref_crval = frame.crval
    else:
        log.warning("%s: no IDCTAB; only the velocity aberration is applied", filename or "input")
        ref_crval = chips[ref_i].opus.crval

    # --- per chip WCS -----------------------------------------------------------------
    for i in sci_idx:
        c = chips[i]
        h = hdul[i].header
        # keywords of a previous run go, so that every run writes them in the same order
        remove_sip_keywords(h)
        for kw in (*_STALE_TDD, *_IDC_KEYWORDS, "WCSNAME"):
            while kw in h:
                del h[kw]
        if c.model is not None:
            r = chips[ref_i]
            tdds = ref_pscale / c.model.cx[1, 1]
            v23 = (c.model.v2ref + c.zero_point[0] * tdds, c.model.v3ref - c.zero_point[1] * tdds)
            v23_ref = (r.model.v2ref + r.zero_point[0] * tdds,
                       r.model.v3ref - r.zero_point[1] * tdds)
            lw = chip_wcs(frame, c.model, r.model, c.crpix, parity, v23, v23_ref)
        else:
            lw = c.opus
        cd, crval = lw.cd, lw.crval
        if options.vacorr:
            cd, crval = apply_velocity_aberration(cd, crval, ref_crval, c.vafactor)
        lw = LinearWCS(crpix=lw.crpix, crval=crval, cd=cd)
        _write_linear(h, lw, sip=c.model is not None)
        if c.model is not None:
            m = c.model
            h.set("IDCTAB", str(primary["IDCTAB"]).strip(), "IDCTAB used for this WCS")
            for kw, value, comment in (
                    ("OCX10", m.cx[1, 0], "original linear term from IDCTAB"),
                    ("OCX11", m.cx[1, 1], "original linear term from IDCTAB"),
                    ("OCY10", m.cy[1, 0], "original linear term from IDCTAB"),
                    ("OCY11", m.cy[1, 1], "original linear term from IDCTAB"),
                    ("IDCSCALE", m.scale, "pixel scale from the IDCTAB reference file"),
                    ("IDCTHETA", m.theta, "orientation of detector's Y-axis w.r.t. V3 axis"),
                    ("IDCXREF", m.xref, "reference pixel location in X"),
                    ("IDCYREF", m.yref, "reference pixel location in Y"),
                    ("IDCV2REF", m.v2ref, "reference pixel's V2 position"),
                    ("IDCV3REF", m.v3ref, "reference pixel's V3 position")):
                h.set(kw, float(value), comment)
            for kw, (value, comment) in c.tdd_keywords.items():
                h.set(kw, float(value), comment)
            try:
                a, b = idc_to_sip(m)
            except ValueError as exc:
                raise ReferenceFileError(f"IDCTAB row for chip {c.chip}: {exc}",
                                         filename=filename) from exc
            for card in sip_keywords(a, b):
                h.set(*card)
        h.set("WCSNAME", wcsname, "Coordinate system title")
        _copy_to_companions(hdul, h, c.extver)

    # --- lookup tables ------------------------------------------------------------------
    if options.d2imcorr:
        if d2im_hdul is not None:
            _apply_d2im(hdul, sci_idx, primary, d2im_hdul, chips)
            hdul[1].header.set("D2IMEXT", str(primary["D2IMFILE"]).strip(),
                               "D2IMFILE applied to this file")
        else:
            _remove_lookup(hdul, sci_idx, "d2im")
    if options.npolcorr:
        if npol_hdul is not None:
            _apply_npol(hdul, sci_idx, primary, npol_hdul, chips, filename)
            hdul[1].header.set("NPOLEXT", str(primary["NPOLFILE"]).strip(),
                               "NPOLFILE applied to this file")
        else:
            _remove_lookup(hdul, sci_idx, "npol")

    # --- primary bookkeeping, WCSCORR ----------------------------------------------------
    _set_version_keywords(primary)
    primary["DISTNAME"] = build_distname(primary, hdul[sci_idx[0]].header)
    primary["SIPNAME"] = build_sipname(primary, hdul[sci_idx[0]].header)
    wcscorr.init_wcscorr(hdul)
    wcscorr.update_wcscorr(hdul, wcs_id=wcsname.strip() or None)
    primary["NEXTEND"] = (len(hdul) - 1, "Number of standard extensions")
    return wcsname
