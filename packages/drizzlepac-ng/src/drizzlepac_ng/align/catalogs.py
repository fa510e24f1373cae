"""Source catalogs for tweakreg: per-chip detection, user catalogs, reference plane.

Conventions: positions inside this package are 0-based pixels; catalog
files (written ``.coo`` files and user ``x y`` catalogs with
``xyunits='pixels'``) use the 1-based FITS/IRAF convention, as the original.
Sky positions come from each chip's full WCS (SIP + NPOL + D2IM) and are
projected onto one reference tangent plane (:func:`reference_plane`) where
matching and fitting happen.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
from collections.abc import Iterator
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from stwcs_ng import fileio

from ..errors import ConfigError, InputFileError
from ..imagefindpars import ImageFindPars
from .finder import FinderWorkspace, SourceList, find_sources
from .wcsupdate import check_linear_header, chip_extensions

__all__ = ["ChipCatalog", "image_catalogs", "start_image_catalogs", "PendingCatalogs",
           "FinderWorkspaces", "dq_bad_mask", "read_columns", "read_xy_catalog", "read_sky_catalog",
           "reference_plane", "apply_flux_limits", "exclusion_mask_filter", "chip_wcs",
           "read_target_radius_list"]

log = logging.getLogger(__name__)


@dataclass
class ChipCatalog:
    """Sources of one chip.

    Attributes
    ----------
    extver : int
    x, y : numpy.ndarray
        0-based chip pixels (NaN for sky-only catalogs).
    flux : numpy.ndarray
    ra, dec : numpy.ndarray
        Degrees (full-distortion WCS).
    shape : (ny, nx)
    sources : SourceList or None
        Finder output (with sharpness and roundness) when found here.
    """

    extver: int
    x: np.ndarray
    y: np.ndarray
    flux: np.ndarray
    ra: np.ndarray
    dec: np.ndarray
    shape: tuple[int, int] = (0, 0)
    sources: SourceList | None = field(default=None, repr=False)

    @property
    def err(self) -> np.ndarray:
        """Expected centroid errors (pixels; NaN when unknown, e.g. user catalogs)."""
        if self.sources is not None and self.sources.err is not None:
            return self.sources.err
        return np.full(len(self.ra), np.nan)


def chip_wcs(hdul: fits.HDUList, index: int, filename: str | None = None) -> WCS:
    """Full-distortion WCS of HDU ``index`` (SIP and lookup tables included).

    Raises
    ------
    InputFileError
        If the header has no usable WCS (astropy cannot build one from it,
        or its CD matrix is singular).
    """
    header = hdul[index].header
    ext: Any = index
    if index:
        ext = (str(header.get("EXTNAME", "")).strip() or str(index), header.get("EXTVER", 1))
    missing = [k for k in ("CTYPE1", "CTYPE2", "CRVAL1", "CRVAL2") if k not in header]
    if missing:
        raise InputFileError(f"no usable WCS: {', '.join(missing)} missing",
                             filename=filename, extension=ext)
    check_linear_header(header, filename, ext)
    try:
        return WCS(header, hdul, relax=True)
    except (KeyError, ValueError, MemoryError) as exc:
        raise InputFileError(f"no usable WCS ({exc})", filename=filename,
                             extension=ext) from exc


def _column(table_like: Any, spec: Any, ncols: int, filename: str) -> list[int]:
    text = str(spec).strip()
    out: list[int] = []
    for part in re.split(r"[,\s]+", text):
        if not part:
            continue
        part = part.lower().lstrip("c")
        if "-" in part:
            a, b = part.split("-", 1)
            out.extend(range(int(a), int(b) + 1))
        else:
            out.append(int(part))
    if not out or any(c < 1 or c > ncols for c in out):
        raise InputFileError(f"column {spec!r} is not among the {ncols} columns", filename=filename)
    return out


def read_columns(path: str | os.PathLike, specs: list[Any]) -> list[np.ndarray]:
    """Read columns from a whitespace text catalog or the first FITS table.

    Parameters
    ----------
    path : str or path-like
        ``.fits``/``.fit`` files: first binary table, columns by name or
        1-based number; text: ``#`` comments, lines with ``INDEF`` or too few
        columns skipped, columns by 1-based number (``3``, ``c3``, ``1-3``).
        Several columns in one spec are joined (sexagesimal RA/Dec parts).
    specs : list
        One column spec per wanted quantity; None gives None.

    Returns
    -------
    list of numpy.ndarray (or None)
        float64 arrays; a sexagesimal spec gives the joined strings.

    Raises
    ------
    InputFileError
        Missing file, no usable rows, unknown column or non-numeric values.
    """
    fname = os.fspath(path)
    if not Path(fname).is_file():
        raise InputFileError("catalog file does not exist", filename=fname)
    if fname.lower().endswith((".fits", ".fit", ".fits.gz")):
        try:
            with fits.open(fname) as hdul:
                tab = next((h for h in hdul if isinstance(h, fits.BinTableHDU)), None)
                if tab is None:
                    raise InputFileError("no binary table in the FITS catalog", filename=fname)
                names = [n.upper() for n in tab.columns.names]
                out = []
                for spec in specs:
                    if spec is None or str(spec).strip() == "":
                        out.append(None)
                        continue
                    s = str(spec).strip()
                    if s.upper() in names:
                        col = tab.data[tab.columns.names[names.index(s.upper())]]
                    else:
                        idx = _column(None, s, len(names), fname)
                        col = tab.data[tab.columns.names[idx[0] - 1]]
                    out.append(np.asarray(col, dtype=np.float64))
                return out
        except (OSError, ValueError, TypeError) as exc:
            if isinstance(exc, InputFileError):
                raise
            raise InputFileError(f"cannot read the FITS catalog: {exc}", filename=fname) from exc
    rows = []
    try:
        with open(fname, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                line = line.strip()
                if not line or line.startswith("#") or "INDEF" in line.upper():
                    continue
                rows.append(line.split())
    except OSError as exc:
        raise InputFileError(f"cannot read the catalog: {exc}", filename=fname) from exc
    if not rows:
        raise InputFileError("the catalog has no data rows", filename=fname)
    wanted = []
    for spec in specs:
        wanted.append(None if spec is None or str(spec).strip() == "" else
                      _column(None, spec, max(len(r) for r in rows), fname))
    need = max((max(w) for w in wanted if w), default=0)
    rows = [r for r in rows if len(r) >= need]
    if not rows:
        raise InputFileError(f"no row has the {need} columns asked for", filename=fname)
    out = []
    for w in wanted:
        if w is None:
            out.append(None)
            continue
        try:
            if len(w) == 1:
                out.append(np.array([float(r[w[0] - 1]) for r in rows]))
            else:
                out.append(np.array([":".join(r[c - 1] for c in w) for r in rows]))
        except ValueError:
            raise InputFileError(f"column(s) {w} hold non-numeric values", filename=fname) from None
    return out


def _sexagesimal(values: np.ndarray, hours: bool) -> np.ndarray:
    import astropy.units as u
    from astropy.coordinates import Angle
    return Angle(values, unit=u.hourangle if hours else u.deg).deg


def apply_flux_limits(flux: np.ndarray | None, *, minflux=None, maxflux=None, nbright=None,
                      fluxunits: str = "counts") -> np.ndarray:
    """Indices kept by the flux limits and ``nbright`` (brightest first).

    Parameters
    ----------
    flux : numpy.ndarray or None
    minflux, maxflux : float, optional
    nbright : int, optional
    fluxunits : {"counts", "mag"}
        For magnitudes smaller is brighter.

    Returns
    -------
    numpy.ndarray of int
    """
    if flux is None:
        return np.arange(0)
    n = len(flux)
    keep = np.ones(n, dtype=bool)
    if minflux is not None:
        keep &= flux >= float(minflux)
    if maxflux is not None:
        keep &= flux <= float(maxflux)
    idx = np.nonzero(keep)[0]
    bright = flux[idx] if fluxunits != "mag" else -flux[idx]
    idx = idx[np.argsort(-bright, kind="stable")]
    if nbright is not None and int(nbright) > 0:
        idx = idx[: int(nbright)]
    return idx


def read_xy_catalog(path: str | os.PathLike, wcs: WCS | None, *, xcol=1, ycol=2, fluxcol="",
                    xyunits: str = "pixels", minflux=None, maxflux=None, nbright=None,
                    fluxunits: str = "counts", extver: int = 1) -> ChipCatalog:
    """Read a user source catalog of one chip.

    Parameters
    ----------
    path : str or path-like
    wcs : astropy.wcs.WCS or None
        The chip WCS (needed for ``xyunits='pixels'``).
    xcol, ycol, fluxcol
        Column specs (see :func:`read_columns`).
    xyunits : {"pixels", "degrees"}
        1-based chip pixels or RA/Dec degrees.
    minflux, maxflux, nbright, fluxunits
        Selection (see :func:`apply_flux_limits`).
    extver : int

    Returns
    -------
    ChipCatalog
    """
    a, b, f = read_columns(path, [xcol, ycol, fluxcol or None])
    flux = f if f is not None else np.ones(len(a))
    idx = apply_flux_limits(flux, minflux=minflux, maxflux=maxflux, nbright=nbright,
                            fluxunits=fluxunits)
    a, b, flux = a[idx], b[idx], flux[idx]
    if str(xyunits).lower().startswith("deg"):
        if a.dtype.kind in "US":
            a, b = _sexagesimal(a, True), _sexagesimal(b, False)
        ra, dec = a.astype(np.float64), b.astype(np.float64)
        x = y = np.full(len(a), np.nan)
    else:
        if wcs is None:
            raise ConfigError("xyunits='pixels' needs the image WCS", filename=os.fspath(path))
        x, y = a.astype(np.float64) - 1.0, b.astype(np.float64) - 1.0
        ra, dec = wcs.all_pix2world(x, y, 0) if len(x) else (np.zeros(0), np.zeros(0))
    return ChipCatalog(extver, x, y, flux, np.asarray(ra), np.asarray(dec))


def read_sky_catalog(path: str | os.PathLike, *, refxcol=1, refycol=2, rfluxcol="",
                     refxyunits: str = "degrees", rminflux=None, rmaxflux=None, refnbright=None,
                     rfluxunits: str = "mag", wcs: WCS | None = None) -> ChipCatalog:
    """Read a reference catalog (RA/Dec in degrees or sexagesimal parts).

    Parameters
    ----------
    path : str or path-like
    refxcol, refycol, rfluxcol
        Column specs; several columns per coordinate = sexagesimal parts
        (RA in hours).
    refxyunits : {"degrees", "pixels"}
        Pixels need ``wcs`` (1-based).
    rminflux, rmaxflux, refnbright, rfluxunits
        Selection.
    wcs : astropy.wcs.WCS, optional

    Returns
    -------
    ChipCatalog

    Raises
    ------
    InputFileError
        Wrong format, out-of-range coordinates, no rows.
    """
    fname = os.fspath(path)
    cat = read_xy_catalog(fname, wcs, xcol=refxcol, ycol=refycol, fluxcol=rfluxcol,
                          xyunits=("degrees" if str(refxyunits).lower().startswith("deg")
                                   else "pixels"),
                          minflux=rminflux, maxflux=rmaxflux, nbright=refnbright,
                          fluxunits=rfluxunits)
    if len(cat.ra) == 0:
        raise InputFileError("the reference catalog has no sources within the limits",
                             filename=fname)
    if not (np.all(np.isfinite(cat.ra)) and np.all(np.abs(cat.dec) <= 90)
            and np.all((cat.ra >= -360) & (cat.ra <= 360))):
        raise InputFileError("the reference catalog columns are not RA/Dec in degrees "
                             "(check refxcol/refycol/refxyunits)", filename=fname)
    return cat


_SKY_SYSTEMS = ("fk5", "icrs", "j2000", "fk4", "sky", "degrees", "world")
_PIXEL_SYSTEMS = ("image", "physical", "pixels", "pixel")


def read_target_radius_list(path: str | os.PathLike) -> tuple[str, np.ndarray] | None:
    """Read a target-radius exclusion list, or None if the file is not one.

    Format: one target per line, ``x y radius`` (1-based chip pixels, radius
    in pixels) or, after a line holding only ``fk5``/``icrs``/``j2000``/
    ``sky``/``degrees`` (or with ``# units: degrees``), ``ra dec radius``
    (degrees, radius in arcsec; a trailing ``"`` on the radius is allowed,
    ``'`` means arcmin and ``d`` degrees).  ``#`` starts a comment; a line
    ``image``/``physical``/``pixels`` (or ``# units: pixels``) switches back
    to pixels.  Every data line must hold exactly three numbers; anything
    else means the file is not a target-radius list (it is then read as DS9
    regions).

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    (system, targets) or None
        ``system`` is ``"image"`` or ``"sky"`` for the whole file (mixing
        is refused); ``targets`` an (N, 3) float array (x, y, r in pixels, or
        ra, dec in degrees and r in degrees).

    Raises
    ------
    InputFileError
        The file cannot be read, mixes pixel and sky targets, or has a
        negative radius.
    """
    fname = os.fspath(path)
    try:
        text = Path(fname).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputFileError(f"cannot read the exclusion file: {exc}", filename=fname) from exc
    system, used, rows = "image", set(), []
    for raw in text.splitlines():
        line, _, comment = raw.partition("#")
        m = re.match(r"\s*units\s*[:=]\s*(\w+)", comment, re.IGNORECASE)
        if m and not line.strip():
            unit = m.group(1).lower()
            system = "sky" if unit in _SKY_SYSTEMS else "image" if unit in _PIXEL_SYSTEMS \
                else system
            continue
        tokens = line.replace(",", " ").split()
        if not tokens:
            continue
        if len(tokens) == 1 and tokens[0].lower().rstrip(";") in _SKY_SYSTEMS + _PIXEL_SYSTEMS:
            system = "sky" if tokens[0].lower().rstrip(";") in _SKY_SYSTEMS else "image"
            continue
        if len(tokens) != 3:
            return None
        rad = tokens[2]
        factor = 1.0
        if system == "sky":
            factor = 1.0 / 3600.0
            for suffix, f in (('"', 1 / 3600.0), ("'", 1 / 60.0), ("d", 1.0)):
                if rad.endswith(suffix):
                    rad, factor = rad[: -len(suffix)], f
                    break
        try:
            a, b, r = float(tokens[0]), float(tokens[1]), float(rad) * factor
        except ValueError:
            return None
        if not (np.isfinite(a) and np.isfinite(b) and np.isfinite(r)) or r < 0:
            raise InputFileError(f"bad target line {raw.strip()!r} (radius must be >= 0)",
                                 filename=fname)
        used.add(system)
        rows.append((a, b, r))
    if not rows:
        return None
    if len(used) > 1:
        raise InputFileError("the exclusion list mixes pixel and sky targets; use one file "
                             "per coordinate system", filename=fname)
    return used.pop(), np.array(rows, dtype=np.float64)


def _fits_mask(fname: str, shape: tuple[int, int]) -> np.ndarray:
    try:
        with fits.open(fname) as hdul:
            for h in hdul:
                if h.is_image and h.data is not None and tuple(h.data.shape) == tuple(shape):
                    return np.asarray(h.data) != 0
    except (OSError, ValueError, TypeError) as exc:
        raise InputFileError(f"cannot read the exclusion mask: {exc}", filename=fname) from exc
    raise InputFileError(f"no image extension of the chip's shape {shape} in the exclusion "
                         "mask", filename=fname)


def exclusion_mask_filter(x: np.ndarray, y: np.ndarray, region_file: str | os.PathLike,
                          wcs: WCS | None = None, shape: tuple[int, int] | None = None
                          ) -> np.ndarray:
    """True for the sources an exclusion file lets through.

    Three kinds of file are accepted (as the original, plus target lists):

    * a FITS mask (``.fits``/``.fit``): the first image HDU of the chip's
      shape; zero pixels are excluded, non-zero ones searched;
    * a target-radius list (see :func:`read_target_radius_list`): sources
      within ``radius`` of any target are excluded;
    * a DS9 region file (image or sky coordinates), with the original's
      meaning: sources are kept inside the *include* regions and outside the
      *exclude* (``-shape``) regions; a file of exclude regions only keeps
      everything outside them.

    Parameters
    ----------
    x, y : numpy.ndarray
        0-based chip pixels.
    region_file : str or path-like
    wcs : astropy.wcs.WCS, optional
        The chip WCS (needed for sky regions and sky targets).
    shape : (ny, nx), optional
        The chip shape (needed for FITS masks).

    Returns
    -------
    numpy.ndarray of bool

    Raises
    ------
    InputFileError
        The file cannot be read or interpreted.
    ConfigError
        Sky coordinates without a WCS, a FITS mask without the chip shape.
    """
    fname = os.fspath(region_file)
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if not Path(fname).is_file():
        raise InputFileError("exclusion file does not exist", filename=fname)
    if fname.lower().endswith((".fits", ".fit", ".fits.gz")):
        if shape is None:
            raise ConfigError("a FITS exclusion mask needs the chip shape", filename=fname)
        good = _fits_mask(fname, shape)
        iy = np.clip(np.rint(y).astype(int), 0, shape[0] - 1)
        ix = np.clip(np.rint(x).astype(int), 0, shape[1] - 1)
        return good[iy, ix] if len(x) else np.ones(0, dtype=bool)
    targets = read_target_radius_list(fname)
    if targets is not None:
        system, t = targets
        keep = np.ones(len(x), dtype=bool)
        if not len(x):
            return keep
        if system == "image":
            for tx, ty, r in t:
                keep &= np.hypot(x - (tx - 1.0), y - (ty - 1.0)) > r
            return keep
        if wcs is None:
            raise ConfigError("sky targets need the chip WCS", filename=fname)
        ra, dec = wcs.all_pix2world(x, y, 0)
        ra, dec = np.radians(ra), np.radians(dec)
        for tra, tdec, r in t:
            a, d = np.radians(tra), np.radians(tdec)
            cosd = (np.sin(dec) * np.sin(d) + np.cos(dec) * np.cos(d) * np.cos(ra - a))
            keep &= np.degrees(np.arccos(np.clip(cosd, -1.0, 1.0))) > r
        return keep
    try:
        from regions import PixCoord, Regions
        regs = Regions.read(fname, format="ds9")
    except Exception as exc:  # regions raises many types on bad files
        raise InputFileError(f"cannot read the DS9 region file: {exc}", filename=fname) from exc
    pts = PixCoord(x, y)
    include = np.zeros(len(x), dtype=bool)
    exclude = np.zeros(len(x), dtype=bool)
    n_include = 0
    for reg in regs:
        if not hasattr(reg, "to_sky"):           # a sky region: to chip pixels
            if wcs is None:
                raise ConfigError("sky regions need the chip WCS", filename=fname)
            reg = reg.to_pixel(wcs.celestial)
        inside = np.asarray(reg.contains(pts), dtype=bool) if len(x) else include
        if getattr(reg, "meta", {}).get("include", True):
            include |= inside
            n_include += 1
        else:
            exclude |= inside
    return (include if n_include else np.ones(len(x), dtype=bool)) & ~exclude


#: With ``dqbits=''`` (DQ ignored), warn when at least this fraction of the
#: sources sit on flagged pixels (hot pixels then dominate the matching).
FLAGGED_WARNING_FRACTION = 0.1


def _warn_flagged(fname: str, extver: int, src: SourceList, dq: Any) -> None:
    """Log a warning when many sources found with the DQ array ignored are flagged pixels."""
    if dq is None or np.ndim(dq) != 2:
        return
    ny, nx = np.shape(dq)
    iy = np.clip(np.rint(src.y).astype(int), 0, ny - 1)
    ix = np.clip(np.rint(src.x).astype(int), 0, nx - 1)
    flagged = int(np.count_nonzero(np.asarray(dq)[iy, ix]))
    if flagged >= max(10, FLAGGED_WARNING_FRACTION * len(src)):
        log.warning("%s[SCI,%d]: %d of %d sources sit on DQ-flagged pixels (hot pixels, "
                    "cosmic rays?) because dqbits='' ignores the DQ array; dqbits=0 treats "
                    "every flagged pixel as bad", fname, extver, flagged, len(src))


class FinderWorkspaces:
    """Finder work arrays shared by worker threads: one workspace per running chip.

    Successive chips reuse the arrays of finished ones (see
    :class:`~drizzlepac_ng.align.finder.FinderWorkspace`).
    """

    def __init__(self) -> None:
        self._free: list[FinderWorkspace] = []
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def borrow(self) -> Iterator[FinderWorkspace]:
        """A workspace nobody else uses until the ``with`` block ends."""
        with self._lock:
            ws = self._free.pop() if self._free else FinderWorkspace()
        try:
            yield ws
        finally:
            with self._lock:
                self._free.append(ws)


def dq_bad_mask(dq: np.ndarray, bits: int, out: np.ndarray | None = None,
                work: np.ndarray | None = None) -> np.ndarray:
    """True where a DQ value has a bit outside ``bits`` (``~good_pixel_mask(dq, bits)``).

    Parameters
    ----------
    dq : numpy.ndarray
        Data-quality array (any byte order).
    bits : int
        Bits that do not make a pixel bad (from ``interpret_bits``).
    out : numpy.ndarray of bool, optional
        Result array (C-ordered, the shape of ``dq``).
    work : numpy.ndarray, optional
        Scratch array of ``dq``'s shape and native integer type.

    Returns
    -------
    numpy.ndarray of bool
    """
    from ..astrodrizzle.config import bad_bits, good_pixel_mask
    dq = np.asarray(dq)
    native = dq.dtype.newbyteorder("=")
    if dq.dtype.kind not in "iu" or out is None or work is None or work.dtype != native:
        return ~good_pixel_mask(dq, bits)
    # the test of good_pixel_mask, in the array's own integer type, into reused arrays
    np.bitwise_and(dq, bad_bits(bits, dq.dtype), out=work)
    np.not_equal(work, 0, out=out)
    return out


def _find_chip(data: np.ndarray, dq: Any, bits: int | None, pars: ImageFindPars,
               cr_reject: bool, workspaces: FinderWorkspaces) -> SourceList:
    """The finder on one chip, bad pixels from its DQ array (one thread; chips run
    concurrently in worker threads)."""
    with workspaces.borrow() as ws:
        mask = None
        if bits is not None and dq is not None:
            dq = np.asarray(dq)
            mask = dq_bad_mask(dq, bits, out=ws.array("dqbad", dq.shape, np.bool_),
                               work=ws.array("dqwork", dq.shape, dq.dtype.newbyteorder("=")))
        return find_sources(data, pars, mask=mask, cr_reject=cr_reject, num_threads=1,
                            workspace=ws)


def image_catalogs(filename: str | os.PathLike, pars: ImageFindPars, *,
                   exclusions: list[str | None] | None = None,
                   chip_catalogs: list[str] | None = None, catalog_options: dict | None = None,
                   wcs_out: dict[int, tuple[WCS, tuple[int, int]]] | None = None,
                   cr_reject: bool = False, num_threads: int | None = None) -> list[ChipCatalog]:
    """Find (or read) the sources of every chip of an image and give their sky positions.

    Parameters
    ----------
    filename : str or path-like
    pars : ImageFindPars
    exclusions : list of str or None, optional
        One exclusion file per chip (None/blank/``None``/``INDEF`` for
        none): DS9 regions, FITS mask or target-radius list (see
        :func:`exclusion_mask_filter`).
    chip_catalogs : list of str, optional
        User catalogs, one per chip; when given nothing is detected.
    catalog_options : dict, optional
        ``xcol``, ``ycol``, ``fluxcol``, ``xyunits``, ``minflux``, ``maxflux``,
        ``nbright``, ``fluxunits`` for user catalogs.
    wcs_out : dict, optional
        Filled with EXTVER -> ``(wcs, (ny, nx))`` of every chip (saves
        re-opening the file to get them).
    cr_reject : bool, optional
        Drop cosmic-ray-like peaks (see
        :func:`~drizzlepac_ng.align.finder.cosmic_ray_peaks`).
    num_threads : int or None, optional
        Threads for the finder: the chips are searched in parallel (None:
        ``OMP_NUM_THREADS`` or every core).  The catalogs do not depend on it.

    Returns
    -------
    list of ChipCatalog

    Raises
    ------
    InputFileError
        Unreadable file or catalog.
    """
    from ..kernels import resolve_num_threads
    nthreads = resolve_num_threads(num_threads)
    kw = dict(exclusions=exclusions, chip_catalogs=chip_catalogs,
              catalog_options=catalog_options, wcs_out=wcs_out, cr_reject=cr_reject)
    if nthreads <= 1:
        return start_image_catalogs(filename, pars, None, **kw).result()
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=nthreads, thread_name_prefix="finder") as pool:
        return start_image_catalogs(filename, pars, pool, **kw).result()


class PendingCatalogs:
    """The catalogs of one image: its file checked and open, the finder to run or running.

    Made by :func:`start_image_catalogs`.  :meth:`submit` starts the finder
    on the chips in an executor's worker threads, :meth:`result` waits for
    the catalogs (running the finder in the calling thread if it was not
    submitted), :meth:`cancel` abandons them; both close the file.
    """

    def __init__(self, filename: str, entries: list, work: list,
                 exclusions: list[str | None] | None, bits: int | None, pars: ImageFindPars,
                 cr_reject: bool) -> None:
        self.filename = filename
        self._hdul: fits.HDUList | None = None
        self._state = "checked"            # -> "open" (file mapped) -> "closed"
        self._entries = entries
        self._work = work                  # (SCI index, DQ index or None) per chip
        self._jobs: list[Future] = []
        self._exclusions = exclusions
        self._bits = bits
        self._pars = pars
        self._cr_reject = cr_reject

    def submit(self, executor: Any, workspaces: FinderWorkspaces | None = None) -> None:
        """Start the finder on every chip in ``executor`` (one task per chip).

        Parameters
        ----------
        executor : concurrent.futures.Executor
        workspaces : FinderWorkspaces, optional
            Work arrays shared with other images' chips.
        """
        if self._state == "closed" or self._jobs:
            return
        arrays = self._arrays()
        ws = workspaces or FinderWorkspaces()
        self._jobs = [executor.submit(_find_chip, data, dq, self._bits, self._pars,
                                      self._cr_reject, ws) for data, dq in arrays]

    def _arrays(self) -> list[tuple[Any, Any]]:
        """Open the file again (memory-mapped) and return each chip's SCI and DQ arrays."""
        if not self._work:                 # user catalogs only: nothing to read
            return []
        if self._state == "checked":
            try:
                self._hdul = fits.open(self.filename, mode="readonly", memmap=True)
                self._state = "open"
            except (OSError, ValueError) as exc:
                self._state = "closed"
                raise InputFileError(f"cannot be read again for the source finder ({exc})",
                                     filename=self.filename) from exc
        hdul = self._hdul
        return [(hdul[i].data, None if d is None else hdul[d].data) for i, d in self._work]

    def result(self) -> list[ChipCatalog]:
        """The catalogs, one per chip (in EXTVER order); closes the file.

        Raises
        ------
        InputFileError
            An exclusion file cannot be read (or any error of the finder).
        """
        if self._state == "closed":
            raise RuntimeError(f"{self.filename}: catalogs already collected or cancelled")
        try:
            if self._jobs:
                found = [job.result() for job in self._jobs]
            else:
                ws = FinderWorkspaces()
                found = [_find_chip(data, dq, self._bits, self._pars, self._cr_reject, ws)
                         for data, dq in self._arrays()]
            return self._finish(found)
        finally:
            self.cancel()

    def cancel(self) -> None:
        """Abandon the work not started, wait for the running chips, close the file."""
        for f in self._jobs:
            f.cancel()
        wait(self._jobs)
        self._jobs, self._work = [], []
        self._state = "closed"
        if self._hdul is not None:
            self._hdul.close()
            self._hdul = None

    def _finish(self, found: list[SourceList]) -> list[ChipCatalog]:
        fname, exclusions = self.filename, self._exclusions
        out = []
        searched = iter(found)
        for n, ev, w, shape, item in self._entries:
            if isinstance(item, ChipCatalog):
                out.append(item)
                continue
            src = next(searched)
            if self._bits is None and item is not None and len(src):
                _warn_flagged(fname, ev, src, self._hdul[item].data)
            if exclusions and n < len(exclusions) and exclusions[n] and \
                    str(exclusions[n]).strip().lower() not in ("none", "indef"):
                src = src.select(exclusion_mask_filter(src.x, src.y, exclusions[n], w, shape))
            if len(src):
                ra, dec = w.all_pix2world(src.x, src.y, 0)
            else:
                ra = dec = np.zeros(0)
            out.append(ChipCatalog(ev, src.x, src.y, src.flux, np.asarray(ra), np.asarray(dec),
                                   shape, src))
            log.info("%s[SCI,%d]: %d sources", fname, ev, len(src))
        return out


def start_image_catalogs(filename: str | os.PathLike, pars: ImageFindPars, executor: Any, *,
                         exclusions: list[str | None] | None = None,
                         chip_catalogs: list[str] | None = None,
                         catalog_options: dict | None = None,
                         wcs_out: dict[int, tuple[WCS, tuple[int, int]]] | None = None,
                         cr_reject: bool = False) -> PendingCatalogs:
    """Read an image's headers and WCSs now and start the finder on its chips.

    Everything that can make the file unusable (missing, truncated, no
    usable WCS, no science data, unreadable user catalog) is checked here, in
    the calling thread, before this returns; the finder then runs in
    ``executor`` (one task per chip), or later (``submit``, or in the thread
    that asks for the ``result``) when it is None.  Arguments as
    :func:`image_catalogs`.

    Parameters
    ----------
    filename : str or path-like
    pars : ImageFindPars
    executor : concurrent.futures.Executor or None
        Runs the finder; its workers search one chip each with one thread.
        None: the finder is not started yet.
    exclusions, chip_catalogs, catalog_options, wcs_out, cr_reject
        As :func:`image_catalogs`.

    Returns
    -------
    PendingCatalogs
        Call its ``result()`` (or ``cancel()``) to close the file.

    Raises
    ------
    InputFileError
        Unreadable file or user catalog.
    """
    fname = os.fspath(filename)
    from ..astrodrizzle.config import interpret_bits
    bits = interpret_bits(pars.dqbits, "dqbits")
    hdul = fileio.open_fits(fname, memmap=True)
    try:
        chips = chip_extensions(hdul, fname)
        entries: list[tuple[int, int, WCS, tuple[int, int], Any]] = []
        work = []
        for n, (ev, i) in enumerate(sorted(chips.items())):
            hdr = hdul[i].header
            w = chip_wcs(hdul, i, fname)
            shape = (int(hdr.get("NAXIS2", 0)), int(hdr.get("NAXIS1", 0)))
            if wcs_out is not None:
                wcs_out[ev] = (w, shape)
            if chip_catalogs:
                if n >= len(chip_catalogs) or not chip_catalogs[n]:
                    continue
                cat = read_xy_catalog(chip_catalogs[n], w, extver=ev, **(catalog_options or {}))
                cat.shape = shape
                entries.append((n, ev, w, shape, cat))
                continue
            if int(hdr.get("NAXIS", 0)) != 2 or min(shape) <= 0:
                raise InputFileError("science extension has no 2-D data", filename=fname,
                                     extension=("SCI", ev))
            dq_index = next((k for k, h in enumerate(hdul) if
                             str(h.header.get("EXTNAME", "")).upper() == "DQ"
                             and int(h.header.get("EXTVER", 1)) == ev), None)
            entries.append((n, ev, w, shape, dq_index))
            work.append((i, dq_index))
    finally:
        # closed again until the finder starts: a run over hundreds of images must
        # not hold a descriptor (and a mapping) per image
        hdul.close()
    pending = PendingCatalogs(fname, entries, work, exclusions, bits, pars, cr_reject)
    if executor is not None:
        pending.submit(executor)
    return pending


def reference_plane(wcs_list: list[WCS], shapes: list[tuple[int, int]]) -> WCS:
    """Tangent-plane WCS covering the given chips (scale and orientation of the first).

    Parameters
    ----------
    wcs_list : list of astropy.wcs.WCS
        Chip WCSs of the reference image.
    shapes : list of (ny, nx)

    Returns
    -------
    astropy.wcs.WCS
        ``RA---TAN``/``DEC--TAN``, no distortion; CRVAL at the centre of the
        chips' footprint, CRPIX so that the footprint starts near pixel 1.
    """
    pts = []
    for w, (ny, nx) in zip(wcs_list, shapes, strict=True):
        gx, gy = np.meshgrid(np.linspace(0, nx - 1, 5), np.linspace(0, ny - 1, 5))
        pts.append(np.column_stack(w.all_pix2world(gx.ravel(), gy.ravel(), 0)))
    sky = np.vstack(pts)
    # mean direction on the sphere
    ra, dec = np.radians(sky[:, 0]), np.radians(sky[:, 1])
    v = np.column_stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)]).mean(0)
    v /= np.linalg.norm(v)
    crval = [float(np.degrees(np.arctan2(v[1], v[0])) % 360.0), float(np.degrees(np.arcsin(v[2])))]
    w0 = wcs_list[0]
    cd0 = w0.pixel_scale_matrix
    scale = float(np.sqrt(abs(np.linalg.det(cd0))))
    orient = np.arctan2(cd0[0, 1], cd0[1, 1])
    c, s = np.cos(orient), np.sin(orient)
    cd = scale * np.array([[-c, s], [s, c]])
    ref = WCS(naxis=2)
    ref.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    ref.wcs.crval = crval
    ref.wcs.cd = cd
    ref.wcs.crpix = [0.0, 0.0]
    ref.wcs.set()
    xy = ref.wcs_world2pix(sky, 0)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    ref.wcs.crpix = [float(np.ceil(-lo[0])) + 1.0, float(np.ceil(-lo[1])) + 1.0]
    ref.wcs.set()
    ref.pixel_shape = (int(np.ceil(hi[0] - lo[0])) + 2, int(np.ceil(hi[1] - lo[1])) + 2)
    return ref
