"""Apply a fitted linear correction to HST chip WCSs and write it into files.

Two layers:

* :func:`apply_linear_correction` is pure: given the WCS of one chip, the
  reference tangent plane (a plain ``TAN`` WCS) and a linear transform
  fitted in that plane, it returns a copy of the chip WCS whose ``CRVAL`` and
  ``CD`` are corrected.  SIP, NPOL and D2IM distortions are not touched:
  they act on pixel positions before the ``CD`` matrix, so a correction of
  the sky pointing only changes the linear part.
* :func:`update_image_wcs` writes such corrected WCSs into a file the way
  ``tweakreg`` does with ``updatehdr=True`` (archive the current WCS under
  the next free alternate key, write the new WCS with ``WCSNAME``,
  ``WCSTYPE``, ``FITNAME``, ``RMS_RA``, ``RMS_DEC``, ``NMATCH``, ``CRDER1/2``,
  update ``WCSCORR``, optionally write a headerlet), atomically.
  :func:`correct_image_wcs` combines both for a whole file.

Convention of the transform
---------------------------
Positions are 0-based pixel coordinates ``p = (x, y)`` of the reference
tangent plane ``ref_wcs``.  The fit maps positions measured with the
current (wrong) WCS onto the reference: ``p_ref = matrix @ p_in + offset``.
The corrected WCS places every pixel where the current WCS placed it,
moved by that transform in the reference plane.
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
import math
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from stwcs_ng import fileio
from stwcs_ng.errors import FileUpdateError as StwcsFileUpdateError
from stwcs_ng.wcsutil import altwcs, wcscorr

from ..errors import AlignmentError, ConfigError, FileUpdateError, InputFileError

__all__ = [
    "apply_linear_correction",
    "linear_part",
    "interpret_wcsname_type",
    "FitSummary",
    "update_image_wcs",
    "correct_image_wcs",
    "chip_extensions",
    "check_linear_header",
    "header_update",
]

log = logging.getLogger(__name__)

#: Largest allowed departure (deg) of the corrected linear WCS from the exact
#: transformed positions over the chip (a sanity check, never reached in practice).
_MAX_MODEL_ERROR_DEG = 1e-9


def _tan(crval: np.ndarray, cd: np.ndarray) -> WCS:
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = np.asarray(crval, dtype=np.float64)
    w.wcs.crpix = [0.0, 0.0]
    w.wcs.cd = np.asarray(cd, dtype=np.float64)
    w.wcs.set()
    return w


def linear_part(wcs: WCS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(crval, crpix, cd)`` of a celestial WCS, the matrix always in CD form.

    Parameters
    ----------
    wcs : astropy.wcs.WCS
        Any celestial WCS (HSTWCS included).

    Returns
    -------
    crval, crpix : numpy.ndarray
        Shape (2,), degrees and 1-based pixels.
    cd : numpy.ndarray
        Shape (2, 2), degrees per pixel.
    """
    w = wcs.wcs
    if w.has_cd():
        cd = np.array(w.cd, dtype=np.float64)
    else:
        cd = np.array(w.get_pc(), dtype=np.float64) * np.asarray(w.cdelt, dtype=np.float64)[:, None]
    return np.array(w.crval, dtype=np.float64), np.array(w.crpix, dtype=np.float64), cd


def apply_linear_correction(chip_wcs: WCS, ref_wcs: WCS, matrix: Any, offset: Any, *,
                            shape: tuple[int, int] | None = None, ngrid: int = 7) -> WCS:
    """Return a copy of ``chip_wcs`` corrected by a transform of the reference plane.

    Parameters
    ----------
    chip_wcs : astropy.wcs.WCS
        WCS of one chip (SIP and lookup-table distortions allowed; they are
        kept unchanged).  It must be a TAN projection.
    ref_wcs : astropy.wcs.WCS
        Reference tangent plane; only its linear ``TAN`` part is used.
    matrix : array_like, shape (2, 2)
        Linear part of the fit (rotation, scale, skew) in ``ref_wcs`` pixels.
    offset : array_like, shape (2,)
        Shift, ``ref_wcs`` pixels: ``p_ref = matrix @ p_in + offset`` (0-based).
    shape : (ny, nx), optional
        Chip size used to lay out the sample grid (default ``chip_wcs.pixel_shape``
        or 4096 x 2048).
    ngrid : int, optional
        Sample points per axis.

    Returns
    -------
    astropy.wcs.WCS
        Deep copy of ``chip_wcs`` with new ``CRVAL`` and ``CD``.  The sky
        positions it gives equal the transformed ones to about 1e-12 deg.

    Raises
    ------
    AlignmentError
        If the transform is singular, not finite, or the new WCS cannot
        reproduce it (a non-TAN projection).
    """
    m = np.asarray(matrix, dtype=np.float64)
    t = np.asarray(offset, dtype=np.float64).reshape(-1)
    if m.shape != (2, 2) or t.shape != (2,):
        raise AlignmentError(f"matrix must be 2x2 and offset of length 2, got {m.shape}, {t.shape}")
    if not (np.all(np.isfinite(m)) and np.all(np.isfinite(t))) or abs(np.linalg.det(m)) < 1e-12:
        raise AlignmentError("the fitted transform is singular or not finite")
    ctype = [str(c).upper() for c in chip_wcs.wcs.ctype]
    if not (ctype[0].startswith("RA---TAN") and ctype[1].startswith("DEC--TAN")):
        raise AlignmentError(f"only TAN projections can be corrected (CTYPE={ctype})")
    crval, crpix, cd = linear_part(chip_wcs)
    if shape is None:
        ps = chip_wcs.pixel_shape
        shape = (int(ps[1]), int(ps[0])) if ps is not None else (2048, 4096)
    ny, nx = shape
    # Intermediate pixel offsets q (pixel + distortion - CRPIX) spanning the chip.
    qx = np.linspace(0.5 - crpix[0], nx + 0.5 - crpix[0], ngrid)
    qy = np.linspace(0.5 - crpix[1], ny + 0.5 - crpix[1], ngrid)
    gx, gy = np.meshgrid(qx, qy)
    q = np.vstack([[0.0, 0.0], np.column_stack([gx.ravel(), gy.ravel()])])
    old_sky = _tan(crval, cd).wcs_pix2world(q, 1)
    pin = ref_wcs.wcs_world2pix(old_sky, 0)
    pout = pin @ m.T + t
    new_sky = ref_wcs.wcs_pix2world(pout, 0)
    new_crval = new_sky[0].copy()
    inter = _tan(new_crval, np.eye(2)).wcs_world2pix(new_sky, 1)
    sol, *_ = np.linalg.lstsq(q[1:], inter[1:], rcond=None)
    new_cd = sol.T
    resid = inter[1:] - q[1:] @ new_cd.T
    err = float(np.max(np.hypot(resid[:, 0], resid[:, 1]))) if len(resid) else 0.0
    if not np.isfinite(err) or err > _MAX_MODEL_ERROR_DEG:
        raise AlignmentError("the corrected WCS departs from the fitted transform by "
                             f"{err:.3g} deg")
    log.debug("linear correction: dCRVAL=%s deg, model error %.2g deg", new_crval - crval, err)
    out = copy.deepcopy(chip_wcs)
    out.wcs.crval = new_crval
    if out.wcs.has_cd():
        out.wcs.cd = new_cd
    else:
        out.wcs.cdelt = [1.0, 1.0]
        out.wcs.pc = new_cd
    out.wcs.set()
    return out


def interpret_wcsname_type(wcsname: str) -> str:
    """The ``WCSTYPE`` text that goes with a WCS name (rule of the original tweakreg).

    Parameters
    ----------
    wcsname : str
        The WCS name, e.g. ``IDC_xyz-FIT_REL_GAIADR2`` or ``TWEAK``.

    Returns
    -------
    str
        e.g. ``"undistorted a posteriori solution relatively aligned to GAIADR2"``.
    """
    name = str(wcsname or "").strip()
    parts = name.split("-", 1)
    head = parts[0][:3].upper()
    if head == "IDC":
        text = "undistorted "
    elif head == "OPU":
        text = "pipeline default "
    else:
        return "user-defined"
    if len(parts) == 1 or not parts[1]:
        return text + "not aligned"
    second = parts[1]
    if "FIT" not in second.upper():
        return text + f"a priori solution based on {second}"
    fields = second.split("_")
    ftype = fields[1].upper() if len(fields) > 1 else ""
    cat = "_".join(fields[2:]) if len(fields) > 2 else ""
    how = {"REL": "relatively aligned to", "IMG": "aligned image-by-image to",
           "EVM": "aligned by visit-exposures to", "SVM": "aligned by visit to"}.get(ftype, "")
    return (text + "a posteriori solution " + (how + " " if how else "") + cat).rstrip()


@dataclass(frozen=True)
class FitSummary:
    """Fit quality recorded in the header with a new WCS.

    Attributes
    ----------
    rms_ra, rms_dec : float
        Fit RMS along RA and Dec, degrees (``RMS_RA``, ``RMS_DEC``, ``CRDER1/2``).
    nmatch : int
        Number of sources used by the fit (``NMATCH``).
    """

    rms_ra: float = 0.0
    rms_dec: float = 0.0
    nmatch: int = 0


def check_linear_header(header: fits.Header, filename: str | None = None,
                        extension: Any = None) -> np.ndarray:
    """The pixel-to-sky matrix a header declares, refused when unusable.

    astropy (wcslib ``cdfix``) silently replaces an all-zero ``CD`` matrix by
    the unit matrix (1 degree per pixel); this check looks at the keywords
    themselves so that such an image is refused instead of being aligned
    with a meaningless WCS.

    Parameters
    ----------
    header : astropy.io.fits.Header
        Header of one chip (primary WCS: ``CDi_j``, else ``PCi_j`` x ``CDELTi``).
    filename : str, optional
        For error messages.
    extension : str, int or tuple, optional
        For error messages.

    Returns
    -------
    numpy.ndarray, shape (2, 2)
        The matrix (degrees per pixel).

    Raises
    ------
    InputFileError
        Non-numeric or non-finite values, or a singular matrix.
    """
    def value(key: str, default: float) -> float:
        v = header.get(key, default)
        try:
            return float(v)
        except (TypeError, ValueError):
            raise InputFileError(f"{key} = {v!r} is not a number", filename=filename,
                                 extension=extension) from None

    if any(f"CD{i}_{j}" in header for i in (1, 2) for j in (1, 2)):
        kind = "CD"
        m = np.array([[value("CD1_1", 0.0), value("CD1_2", 0.0)],
                      [value("CD2_1", 0.0), value("CD2_2", 0.0)]])
    else:
        kind = "PC x CDELT"
        pc = np.array([[value("PC1_1", 1.0), value("PC1_2", 0.0)],
                       [value("PC2_1", 0.0), value("PC2_2", 1.0)]])
        m = pc * np.array([[value("CDELT1", 1.0)], [value("CDELT2", 1.0)]])
    if not np.all(np.isfinite(m)):
        raise InputFileError(f"the {kind} matrix has non-finite values", filename=filename,
                             extension=extension)
    big = float(np.max(np.abs(m)))
    if big == 0.0 or abs(float(np.linalg.det(m))) <= 1e-10 * big * big:
        raise InputFileError(f"the {kind} matrix is singular ({m.ravel().tolist()}): the "
                             "pixel scale is undefined", filename=filename, extension=extension)
    return m


def chip_extensions(hdul: fits.HDUList, filename: str | None = None) -> dict[int, int]:
    """Map EXTVER -> HDU index of the science chips (``{1: 0}`` for a simple image).

    Parameters
    ----------
    hdul : astropy.io.fits.HDUList
        The file.
    filename : str, optional
        For error messages.

    Returns
    -------
    dict
    """
    out: dict[int, int] = {}
    for i, hdu in enumerate(hdul):
        if i and str(hdu.header.get("EXTNAME", "")).strip().upper() == "SCI":
            out[int(hdu.header.get("EXTVER", 1))] = i
    if not out:
        if "CRVAL1" in hdul[0].header or "CTYPE1" in hdul[0].header:
            out[1] = 0
        else:
            from ..errors import MissingExtensionError
            raise MissingExtensionError("no SCI extension and no WCS in the primary header",
                                        filename=filename)
    return out


def _cd_of(value: Any) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(value, WCS):
        crval, _, cd = linear_part(value)
        return crval, cd
    crval, cd = value
    crval = np.asarray(crval, dtype=np.float64).reshape(2)
    return crval, np.asarray(cd, dtype=np.float64).reshape(2, 2)


def _write_linear(header: fits.Header, crval: np.ndarray, cd: np.ndarray) -> None:
    for i in range(2):
        header[f"CRVAL{i + 1}"] = float(crval[i])
    for i in range(2):
        for j in range(2):
            header[f"CD{i + 1}_{j + 1}"] = float(cd[i, j])
    for kw in ("PC1_1", "PC1_2", "PC2_1", "PC2_2", "CDELT1", "CDELT2"):
        if kw in header:
            del header[kw]
    header["ORIENTAT"] = (float(math.degrees(math.atan2(cd[0, 1], cd[1, 1]))),
                          "position angle of image y axis (deg. e of n)")


#: Keywords that fix the layout of an HDU's data: a header-only rewrite keeps them.
_STRUCTURE = ("XTENSION", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "NAXIS3", "PCOUNT", "GCOUNT",
              "BSCALE", "BZERO", "GROUPS")


def _structure(header: fits.Header) -> tuple:
    return tuple(header.get(k) for k in _STRUCTURE)


def _copy_range(src, dst, offset: int, length: int) -> None:
    """Copy ``length`` bytes at ``offset`` of ``src`` to the position of ``dst`` (kernel copy)."""
    dst.flush()
    done = 0
    if hasattr(os, "copy_file_range"):
        try:
            pos = dst.tell()
            while done < length:
                n = os.copy_file_range(src.fileno(), dst.fileno(), length - done,
                                       offset + done, pos + done)
                if n <= 0:
                    break
                done += n
            dst.seek(pos + done)
        except OSError:
            if done:            # a partial kernel copy: start this range again
                dst.seek(pos)
                dst.truncate()
            done = 0
    if done == length:
        return
    src.seek(offset + done)
    left = length - done
    while left > 0:
        block = src.read(min(left, 1 << 24))
        if not block:
            raise OSError(f"unexpected end of file at byte {offset + length - left}")
        dst.write(block)
        left -= len(block)


def _extension_bytes(hdu: Any) -> bytes:
    """The bytes of ``hdu`` (header + padded data) as astropy writes it as an extension."""
    buf = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(buf, output_verify="fix")
    data = buf.getvalue()
    with fits.open(io.BytesIO(data), memmap=False) as chk:
        start = chk.fileinfo(1)["hdrLoc"]
    return data[start:]


@contextlib.contextmanager
def header_update(filename: str | os.PathLike) -> Iterator[fits.HDUList]:
    """Atomically update the headers (and small tables) of a FITS file.

    Like :func:`stwcs_ng.fileio.atomic_update` (temporary file, fsync,
    verification, ``os.replace``; on any error the file is unchanged), but
    the image data are never decoded: the yielded list is read lazily (without
    memory mapping: a file truncated by another process while it is read gives
    an error, not a SIGBUS), and every non-table HDU of the file whose data
    layout is unchanged is written as its new header followed by a byte copy
    of its original data.  Table HDUs (``WCSCORR``) and new HDUs are written by
    astropy.  On a
    full-size ACS/WFC file (170 MB) this takes a third of the time of a full
    decode and re-encode.

    Parameters
    ----------
    filename : str or path-like

    Yields
    ------
    astropy.io.fits.HDUList
        The file's HDUs; change headers, replace or append table HDUs.  Image
        data must not be modified in place (a changed layout makes the whole
        file be written by astropy instead).

    Raises
    ------
    InputFileError
        The file cannot be read.
    FileUpdateError
        The file is read-only or the new content cannot be written.
    """
    path = Path(filename)
    fname = str(path)
    hdul = _open_for_update(path)
    try:
        if not os.access(path, os.W_OK):
            raise FileUpdateError("file is read-only; it was not changed", filename=fname)
        # the HDU's own fileinfo (HDUList.fileinfo re-checks every header: quadratic)
        origin = {id(h): (i, _structure(h.header), h.fileinfo())
                  for i, h in enumerate(hdul)}
        yield hdul
        plan = []
        for k, hdu in enumerate(hdul):
            o = origin.get(id(hdu))
            raw = (o is not None and not isinstance(hdu, (fits.BinTableHDU, fits.TableHDU))
                   and (k == 0) == (o[0] == 0) and _structure(hdu.header) == o[1])
            plan.append(o[2] if raw else None)
        if plan[0] is None:          # a new or changed primary: let astropy write it all
            fileio.atomic_write(hdul, path)
            return
        _write_plan(path, hdul, plan)
    finally:
        hdul.close()


def _open_for_update(path: Path) -> fits.HDUList:
    """Open ``path`` lazily (not memory-mapped), refusing missing, unreadable, truncated files.

    Lighter than :func:`stwcs_ng.fileio.open_fits` (which also parses every
    card value): the callers have read the file's WCS through it already.
    Completeness is judged from the HDU offsets against the file size, not
    from astropy's "truncated" warning, so that several files can be updated
    in worker threads (:func:`warnings.catch_warnings` is not thread-safe).
    """
    fname = str(path)
    if not path.is_file() or not os.access(path, os.R_OK):
        raise InputFileError("file does not exist or is not readable", filename=fname)
    size = path.stat().st_size
    if size == 0 or size % 2880:
        raise InputFileError(f"not a complete FITS file ({size} bytes)", filename=fname)
    hdul = None
    fh = open(path, "rb")
    try:
        hdul = fits.open(fh, mode="readonly", memmap=False, lazy_load_hdus=False)
        end = fileio.hdu_end(hdul)
        if end > size:
            raise OSError(f"truncated: its HDUs need {end} bytes, the file has {size}")
        if end < size and _has_content(path, end, size):
            # astropy stops (with a warning) at an HDU it cannot read: a cut header
            raise OSError(f"truncated or corrupted after byte {end} of {size}")
    except BaseException as exc:
        if hdul is not None:
            hdul.close()
        fh.close()  # astropy leaves a handle it was given open when fits.open fails
        if isinstance(exc, (OSError, ValueError, TypeError, IndexError, KeyError)):
            raise InputFileError(f"cannot be read as FITS ({exc})", filename=fname) from exc
        raise
    return hdul


def _has_content(path: Path, start: int, stop: int) -> bool:
    """True unless bytes ``start:stop`` of ``path`` are only NUL or blank padding."""
    with open(path, "rb") as fh:
        fh.seek(start)
        while start < stop:
            block = fh.read(min(stop - start, 1 << 20))
            if not block:
                return True
            if block.strip(b"\0 "):
                return True
            start += len(block)
    return False


def _write_plan(path: Path, hdul: fits.HDUList, plan: list) -> None:
    """Stage the new file (headers + byte-copied data), seal it, replace ``path``."""
    fname = str(path)
    try:
        staged = fileio.StagedFile(path)
    except StwcsFileUpdateError as exc:
        raise FileUpdateError(exc.reason, filename=fname) from exc
    with staged:
        try:
            expected = 0
            with open(staged.path, "wb") as out, open(path, "rb") as src:
                for hdu, info in zip(hdul, plan, strict=True):
                    if info is None:
                        block = _extension_bytes(hdu)
                        out.write(block)
                        expected += len(block)
                        continue
                    head = hdu.header.tostring(padding=True).encode("ascii")
                    out.write(head)
                    _copy_range(src, out, info["datLoc"], info["datSpan"])
                    expected += len(head) + info["datSpan"]
            # every byte is there (exact size) and the HDU structure reads back
            staged.seal(len(hdul), expected_size=expected)
            staged.commit()
        except Exception as exc:
            raise FileUpdateError(f"could not be written ({type(exc).__name__}: {exc}); the "
                                  "original is unchanged", filename=fname) from exc


def update_image_wcs(filename: str | os.PathLike, corrections: Mapping[int, Any], *,
                     wcsname: str = "TWEAK", reusename: bool = False,
                     fit: FitSummary | None = None, headerlet: bool = False,
                     attach: bool = True, hdrfile: str = "", clobber: bool = False,
                     hdrname: str = "", author: str = "", descrip: str = "",
                     catalog: str = "", history: str = "") -> dict[str, Any]:
    """Write corrected WCSs into a file as ``tweakreg(updatehdr=True)`` does.

    For each science chip: a missing ``WCSNAME`` becomes ``PRE-TWEAKREG``;
    the current primary WCS is archived under the next free alternate key
    (a clashing name gets a ``-N`` suffix); the new ``CRVAL``/``CD`` are
    written with ``WCSNAME``, ``WCSTYPE``, ``ORIENTAT``, ``CRDER1/2``,
    ``FITNAME``, ``RMS_RA``, ``RMS_DEC`` and ``NMATCH``; the ``WCSCORR``
    table is created if needed and gets rows for the archived and new WCS.
    The update is atomic: on any error the file is unchanged.  The headerlet
    (``headerlet=True``) is written afterwards, as a second atomic step.

    Parameters
    ----------
    filename : str or path-like
        The exposure.
    corrections : mapping
        EXTVER -> corrected WCS (astropy WCS) or ``(crval, cd)``.
    wcsname : str, optional
        Name of the new WCS; blank means ``TWEAK``.
    reusename : bool, optional
        Allow a name already present in the file.
    fit : FitSummary, optional
        Fit quality (zeros if None).
    headerlet, attach, hdrfile, clobber, hdrname, author, descrip, catalog, history
        Headerlet options (see :func:`stwcs_ng.wcsutil.headerlet.write_headerlet`);
        a blank ``hdrfile`` gives ``<root>_hlet.fits``, a blank ``hdrname`` the WCS name.

    Returns
    -------
    dict
        ``wcskey`` (alternate key of the archived WCS), ``archived_name``,
        ``wcsname``, ``headerlet`` (file name or None).

    Raises
    ------
    ConfigError
        The name is already used and ``reusename`` is False, or a chip has no correction.
    InputFileError, FileUpdateError
        The file cannot be read or written (it is then unchanged).
    """
    name = str(wcsname or "").strip() or "TWEAK"
    fit = fit or FitSummary()
    fname = os.fspath(filename)
    result: dict[str, Any] = {"wcskey": None, "archived_name": None, "wcsname": name,
                              "headerlet": None}
    with header_update(fname) as hdul:
        chips = chip_extensions(hdul, fname)
        missing = sorted(set(chips) - set(int(k) for k in corrections))
        if missing:
            raise ConfigError(f"no corrected WCS given for SCI extensions {missing}",
                              filename=fname)
        if not reusename:
            for ev, i in chips.items():
                names = {v.strip().upper() for v in altwcs.wcsnames(hdul[i].header).values()}
                if name.upper() in names:
                    raise ConfigError(f"WCSNAME {name!r} is already used in SCI,{ev}; give another "
                                      "wcsname or reusename=True", filename=fname)
        for i in chips.values():
            if not str(hdul[i].header.get("WCSNAME", "")).strip():
                hdul[i].header["WCSNAME"] = "PRE-TWEAKREG"
        simple = list(chips.values()) == [0]
        if not simple:
            wcscorr.init_wcscorr(hdul)
        key = None
        for ev, i in sorted(chips.items()):
            header = hdul[i].header
            k, archived = altwcs.archive_header_wcs(header, wcskey=key,
                                                    mode=altwcs.ArchiveMode.AUTO_RENAME)
            if key is None:
                key = k
                result["wcskey"], result["archived_name"] = k, archived
            crval, cd = _cd_of(corrections[ev])
            _write_linear(header, crval, cd)
            header["WCSNAME"] = (name, "Coordinate system title")
            wcstype = interpret_wcsname_type(name)
            # the comment goes only where the card still fits in 80 characters
            header["WCSTYPE"] = ((wcstype, "Coordinate system type") if len(wcstype) <= 43
                                 else wcstype)
            header["CRDER1"] = (float(fit.rms_ra), "fit RMS along RA (deg)")
            header["CRDER2"] = (float(fit.rms_dec), "fit RMS along Dec (deg)")
            header["FITNAME"] = (name, "name of the fit")
            header["RMS_RA"] = (float(fit.rms_ra), "RMS in RA of the fit (deg)")
            header["RMS_DEC"] = (float(fit.rms_dec), "RMS in Dec of the fit (deg)")
            header["NMATCH"] = (int(fit.nmatch), "number of matched sources of the fit")
        if not simple:
            wcscorr.update_wcscorr(hdul, wcs_id=name)
        if "NEXTEND" in hdul[0].header:
            hdul[0].header["NEXTEND"] = len(hdul) - 1
    log.info("%s: archived the previous WCS as key %r (%s); new WCS %r", fname, result["wcskey"],
             result["archived_name"], name)
    if headerlet:
        from stwcs_ng.wcsutil import headerlet as hl
        try:
            result["headerlet"] = hl.write_headerlet(
                fname, hdrname or name, output=hdrfile or None, wcskey="PRIMARY",
                author=author or None, descrip=descrip or None, history=history or None,
                nmatch=int(fit.nmatch), catalog=catalog or None, attach=attach, clobber=clobber)
        except Exception as exc:  # the WCS update itself is done; report the headerlet failure
            raise FileUpdateError(f"WCS updated but the headerlet could not be written: {exc}",
                                  filename=fname) from exc
    return result


def correct_image_wcs(filename: str | os.PathLike, ref_wcs: WCS, matrix: Any, offset: Any,
                      **kwargs: Any) -> dict[str, Any]:
    """Apply one reference-plane transform to every chip of a file and write it.

    Parameters
    ----------
    filename : str or path-like
        The exposure.
    ref_wcs : astropy.wcs.WCS
        Reference tangent plane of the transform.
    matrix, offset
        The transform (see :func:`apply_linear_correction`).
    **kwargs
        Passed to :func:`update_image_wcs` (``wcsname``, ``fit``, ``headerlet`` ...).

    Returns
    -------
    dict
        As :func:`update_image_wcs`.
    """
    fname = os.fspath(filename)
    hdul = fileio.read_fits(fname)
    corrections = {}
    for ev, i in chip_extensions(hdul, fname).items():
        hdr = hdul[i].header
        w = WCS(hdr, hdul, relax=True)
        shape = (int(hdr.get("NAXIS2", 2048)), int(hdr.get("NAXIS1", 4096)))
        corrections[ev] = apply_linear_correction(w, ref_wcs, matrix, offset, shape=shape)
    return update_image_wcs(fname, corrections, **kwargs)
