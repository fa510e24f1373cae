"""HSTWCS: an :class:`astropy.wcs.WCS` with HST instrument metadata and fast evaluation.

``HSTWCS(fobj, ext)`` reads the WCS of one extension of an HST exposure with
its full distortion model (SIP; NPOL lookup tables from ``WCSDVARR``; D2IM
tables from ``D2IMARR``) exactly as astropy does, adds the instrument
metadata of the original ``stwcs.wcsutil.HSTWCS`` (instrument, detector,
chip, filters, IDC keywords, velocity aberration factor, plate scale,
ORIENTAT...) and replaces the two expensive methods:

* :meth:`HSTWCS.all_pix2world` evaluates the same pipeline in vectorised
  numpy, in cache-sized chunks over a thread pool (separably on a pixel
  grid such as a whole chip), agreeing with astropy to ~1e-13 deg;
* :meth:`HSTWCS.all_world2pix` inverts it with per-point Newton steps (the
  SIP Jacobian; lookup-table slopes are left to the iteration) that
  converge over whole chips, raising
  :class:`stwcs_ng.errors.NoConvergence` otherwise.

Both fall back to astropy for WCSs outside the fast path (non-TAN
projections, PV terms, a non-default native pole).
"""

from __future__ import annotations

import io
import logging
import math
import os
import sys
from typing import Any, TextIO

import numpy as np
from astropy import wcs as astropy_wcs
from astropy.io import fits

from ..errors import HeaderError, MissingExtensionError, NoConvergence
from . import _fastwcs
from ._ext import ext_index, open_input, parse_extension
from ._names import build_default_wcsname, extract_rootname
from .instruments import keywords_for

log = logging.getLogger(__name__)

__all__ = ["HSTWCS", "NoConvergence", "extract_rootname", "build_default_wcsname",
           "determine_refframe"]

_LOOKUP_KW = ("CPDIS", "CPERR", "DP", "D2IMDIS", "D2IMERR", "D2IM")
_IDC_KW = ("ocx10", "ocx11", "ocy10", "ocy11", "idcscale", "idcv2ref", "idcv3ref", "idctheta")
_VALID_REFFRAMES = ("ICRS", "FK5", "FK4", "FK4-NO-E", "GAPPT")


def determine_refframe(primary: fits.Header | None) -> str | None:
    """RADESYS implied by the primary ``REFFRAME`` keyword (None when absent/unknown).

    Parameters
    ----------
    primary : astropy.io.fits.Header or None
        Primary header.

    Returns
    -------
    str or None
    """
    if primary is None:
        return None
    value = str(primary.get("REFFRAME", "")).strip().upper()
    if value == "GSC1":
        return "FK5"
    return value if value in _VALID_REFFRAMES else None


def _strip_lookup(header: fits.Header) -> fits.Header:
    out = header.copy()
    for kw in list(out.keys()):
        base = kw.split(".")[0].rstrip("0123456789")
        if base in _LOOKUP_KW and kw not in ("D2IMEXT",):
            del out[kw]
    return out


class HSTWCS(astropy_wcs.WCS):
    """WCS of one extension of an HST exposure, with instrument metadata.

    Parameters
    ----------
    fobj : str, path-like, astropy.io.fits.HDUList, astropy.io.fits.Header or None
        A file name (may end with ``[sci,1]`` or ``[3]``), an open HDUList
        (not closed here), a header (lookup-table distortions cannot be
        read from a bare header and are dropped with a warning), or None
        for an empty default WCS (instrument ``DEFAULT``).
    ext : int, str or tuple, optional
        ``1``, ``('SCI', 1)`` or ``'sci,1'``.  When None: the extension in
        the file name, else ``('SCI', 1)``, else the primary HDU of a simple
        image.
    minerr : float, optional
        Lookup-table corrections whose ``CPERR``/``D2IMERR`` is below this
        are not applied.
    wcskey : str, optional
        ``' '`` (primary) or an alternate key ``A``-``Z``.

    Attributes
    ----------
    instrument, detector, chip, filter1, filter2 : str or int
        Instrument metadata.
    idctab, offtab, date_obs, pav3, vafactor, ltv1, ltv2, binned, parity
        More metadata (see the user guide).
    ocx10, ocx11, ocy10, ocy11, idcscale, idcv2ref, idcv3ref, idctheta : float or None
        IDC keywords of the extension.
    pscale : float
        Plate scale (arcsec/pixel).
    orientat : float
        Position angle of the image y axis (deg).
    filename, extname, minerr, wcskey, inst_kw
        Provenance.
    idcmodel : IDCModel or None
        Set by :meth:`readModel`.
    num_threads : int or None
        Threads used by the fast evaluation (None: all available CPUs,
        at most 8).  Results do not depend on it.

    Raises
    ------
    InputFileError
        If the file is missing or not FITS, or the input type is unsupported.
    MissingExtensionError
        If the extension does not exist (or a multi-extension file has no
        ``SCI`` extension and no ``ext`` was given).
    HeaderError
        If the header does not hold a valid WCS.
    """

    def __init__(self, fobj: Any = None, ext: Any = None, minerr: float = 0.0,
                 wcskey: str = " ") -> None:
        self.minerr = float(minerr)
        key = (wcskey or " ").strip().upper() or " "
        if key != " " and (len(key) != 1 or not key.isalpha()):
            raise HeaderError(f"invalid WCS key {wcskey!r}")
        self.wcskey = key
        self.filename: str | None = None
        self.extname: tuple[str, int] | None = None
        self.num_threads: int | None = None
        self.idcmodel = None
        self.inst_kw = None
        if fobj is None:
            astropy_wcs.WCS.__init__(self, naxis=2)
            self._init_metadata(None, None)
            return
        if isinstance(fobj, fits.Header):
            self._from_header(fobj, fobj, None)
            return
        with open_input(fobj) as (hdul, name, embedded):
            self.filename = name
            idx = self._select(hdul, ext if ext is not None else embedded, name)
            header = hdul[idx].header
            self.extname = (str(header.get("EXTNAME", "PRIMARY")).strip(),
                            int(header.get("EXTVER", 1)))
            self._from_header(header, hdul[0].header, hdul)

    # ---- construction ---------------------------------------------------------
    @staticmethod
    def _select(hdul: fits.HDUList, ext: Any, name: str | None) -> int:
        if ext is not None:
            return ext_index(hdul, parse_extension(ext), filename=name)
        try:
            return ext_index(hdul, ("SCI", 1), filename=name)
        except MissingExtensionError:
            if len(hdul) == 1 and hdul[0].header.get("NAXIS", 0):
                return 0
            raise MissingExtensionError("no SCI extension; give ext explicitly",
                                        filename=name) from None

    def _from_header(self, header: fits.Header, primary: fits.Header,
                     hdul: fits.HDUList | None) -> None:
        where = self.filename
        try:
            try:
                astropy_wcs.WCS.__init__(self, header, fobj=hdul, key=self.wcskey,
                                         minerr=self.minerr)
            except (ValueError, KeyError, AttributeError, IndexError) as exc:
                if hdul is not None or not any(
                        str(k).split(".")[0].rstrip("0123456789") in ("CPDIS", "D2IMDIS")
                        for k in header.keys()):
                    raise
                log.warning("lookup-table distortion cannot be read from a bare header "
                            "(%s); using SIP only", exc)
                astropy_wcs.WCS.__init__(self, _strip_lookup(header), key=self.wcskey,
                                         minerr=self.minerr)
        except MemoryError:
            raise
        except (ValueError, KeyError, AttributeError, IndexError, TypeError) as exc:
            if "WCSDVARR" in str(exc) or "D2IMARR" in str(exc):
                raise MissingExtensionError(f"distortion table extension missing ({exc})",
                                            filename=where, extension=self.extname) from exc
            raise HeaderError(f"no valid WCS ({exc})", filename=where,
                              extension=self.extname) from exc
        radesys = determine_refframe(primary)
        if radesys and not str(self.wcs.radesys).strip():
            self.wcs.radesys = radesys
        self._init_metadata(primary, header)

    def _init_metadata(self, primary: fits.Header | None, ext: fits.Header | None) -> None:
        reader = keywords_for(primary, ext)
        self.inst_kw = type(reader).__name__
        for name, value in reader.values().items():
            setattr(self, name, value)
        self.readIDCCoeffs(ext)
        if self.instrument == "DEFAULT" and self.wcs.has_pc():
            self.pc2cd()
        self.setPscale()
        self.setOrient()

    # ---- metadata ---------------------------------------------------------------
    def readIDCCoeffs(self, header: fits.Header | None) -> None:
        """Read OCX10, OCX11, OCY10, OCY11, IDCSCALE, IDCV2REF, IDCV3REF, IDCTHETA.

        Parameters
        ----------
        header : astropy.io.fits.Header or None
            Extension header; absent keywords give None.
        """
        for attr in _IDC_KW:
            value = None if header is None else header.get(attr.upper())
            setattr(self, attr, None if value is None else float(value))

    def setInstrSpecKw(self, prim_hdr: fits.Header | None = None,
                       ext_hdr: fits.Header | None = None) -> None:
        """(Re)read the instrument metadata from the given headers.

        Parameters
        ----------
        prim_hdr : astropy.io.fits.Header, optional
            Primary header.
        ext_hdr : astropy.io.fits.Header, optional
            Extension header.
        """
        reader = keywords_for(prim_hdr, ext_hdr)
        self.inst_kw = type(reader).__name__
        for name, value in reader.values().items():
            setattr(self, name, value)

    def _cd(self) -> np.ndarray:
        wcs = self.wcs
        if wcs.has_cd():
            return np.array(wcs.cd, dtype=np.float64)
        return np.asarray(wcs.get_pc(), dtype=np.float64) * np.asarray(wcs.get_cdelt())[:, None]

    def setPscale(self) -> None:
        """Set :attr:`pscale` = sqrt(CD1_1**2 + CD2_1**2) * 3600 (arcsec/pixel)."""
        try:
            cd = self._cd()
            self.pscale = math.hypot(cd[0, 0], cd[1, 0]) * 3600.0
        except (ValueError, IndexError, astropy_wcs.WcsError):
            self.pscale = 1.0

    def setOrient(self) -> None:
        """Set :attr:`orientat` = degrees(atan2(CD1_2, CD2_2))."""
        try:
            cd = self._cd()
            self.orientat = math.degrees(math.atan2(cd[0, 1], cd[1, 1]))
        except (ValueError, IndexError, astropy_wcs.WcsError):
            self.orientat = 0.0

    def updatePscale(self, scale: float) -> None:
        """Rescale the CD matrix to a plate scale of ``scale`` arcsec/pixel.

        Parameters
        ----------
        scale : float
            New plate scale (arcsec/pixel).
        """
        if not scale or not self.pscale:
            raise HeaderError("plate scale must be non-zero")
        cd = self._cd() * (float(scale) / self.pscale)
        self._set_cd(cd)
        self.setPscale()
        self.setOrient()

    def _set_cd(self, cd: np.ndarray) -> None:
        if not self.wcs.has_cd():
            if self.wcs.has_pc():
                del self.wcs.pc
            self.wcs.cdelt = [1.0, 1.0]
        self.wcs.cd = cd
        self.wcs.set()

    def pc2cd(self) -> None:
        """Express the linear matrix as CD (PC x CDELT)."""
        self._set_cd(self._cd())

    def resetLTV(self) -> None:
        """Set LTV1/LTV2 to 0 (image size equals the IDCTAB size)."""
        self.ltv1 = 0.0
        self.ltv2 = 0.0

    def readModel(self, update: bool = False, header: fits.Header | None = None):
        """Read the IDC model: from the IDCTAB if it can be found, else from the header.

        Parameters
        ----------
        update : bool, optional
            Write OCX/OCY, IDCSCALE, IDCTHETA, IDCXREF/YREF, IDCV2REF/V3REF to
            ``header`` (IDCTAB models only).
        header : astropy.io.fits.Header, optional
            Extension header (for the header model and for ``update``).

        Returns
        -------
        IDCModel or None
        """
        model = None
        if self.idctab and str(self.idctab).strip().upper() not in ("", "N/A", "NONE"):
            model = self.readModelFromIDCTAB(header=header, update=update)
        if model is None and header is not None:
            model = self._model_from_header(header)
        self.idcmodel = model
        return model

    def readModelFromIDCTAB(self, header: fits.Header | None = None,
                            update: bool = False):
        """IDC model of this chip from the IDCTAB (None if the file is not found).

        Parameters
        ----------
        header : astropy.io.fits.Header, optional
            Written to when ``update``.
        update : bool, optional
            Write the IDC keywords to ``header``.

        Returns
        -------
        IDCModel or None
        """
        from ..distortion import read_idctab
        from ..errors import ReferenceFileError
        from ..updatewcs.reffiles import resolve_reference

        if not self.date_obs or not self.filter1:
            return None
        try:
            path = resolve_reference(str(self.idctab))
        except ReferenceFileError as exc:
            log.info("IDCTAB not available (%s)", exc)
            return None
        if not os.path.exists(path):
            return None
        model = read_idctab(path, chip=int(self.chip or 1), filter1=self.filter1,
                            filter2=self.filter2, binned=int(self.binned or 1))
        if self.naxis1 == model.xsize and self.naxis2 == model.ysize:
            self.resetLTV()
        self.idcmodel = model
        if update and header is not None:
            values = {"OCX10": model.cx[1, 0], "OCX11": model.cx[1, 1],
                      "OCY10": model.cy[1, 0], "OCY11": model.cy[1, 1],
                      "IDCSCALE": model.scale, "IDCTHETA": model.theta,
                      "IDCXREF": model.xref, "IDCYREF": model.yref,
                      "IDCV2REF": model.v2ref, "IDCV3REF": model.v3ref}
            for kw, value in values.items():
                header[kw] = float(value)
        return model

    def _model_from_header(self, header: fits.Header):
        if None in (self.ocx10, self.ocx11, self.ocy10, self.ocy11, self.idcscale):
            return None
        from ..distortion import IDCModel

        order = max(3, int(header.get("A_ORDER", 3)))
        cx = np.zeros((order + 1, order + 1))
        cy = np.zeros((order + 1, order + 1))
        cx[1, 0], cx[1, 1] = self.ocx10, self.ocx11
        cy[1, 0], cy[1, 1] = self.ocy10, self.ocy11
        lin = np.array([[self.ocx11, self.ocx10], [self.ocy11, self.ocy10]])
        binned = float(self.binned or 1)
        for n in range(2, order + 1):
            for m in range(n + 1):
                a = float(header.get(f"A_{m}_{n - m}", 0.0))
                b = float(header.get(f"B_{m}_{n - m}", 0.0))
                cx[n, m], cy[n, m] = lin @ np.array([a, b]) / binned
        return IDCModel(order=order, cx=cx, cy=cy,
                        xref=float(header.get("IDCXREF", self.wcs.crpix[0])),
                        yref=float(header.get("IDCYREF", self.wcs.crpix[1])),
                        xsize=float(self.naxis1 or 0), ysize=float(self.naxis2 or 0),
                        v2ref=float(self.idcv2ref or 0.0), v3ref=float(self.idcv3ref or 0.0),
                        theta=float(self.idctheta or 0.0), scale=float(self.idcscale),
                        chip=int(self.chip or 1))

    # ---- sizes ------------------------------------------------------------------
    @property
    def naxis1(self) -> int | None:
        """Image width (pixels), None if unknown; settable."""
        shape = self.pixel_shape
        return None if shape is None else int(shape[0])

    @naxis1.setter
    def naxis1(self, value: int) -> None:
        shape = self.pixel_shape or (0, 0)
        self.pixel_shape = (int(value), int(shape[1]))

    @property
    def naxis2(self) -> int | None:
        """Image height (pixels), None if unknown; settable."""
        shape = self.pixel_shape
        return None if shape is None else int(shape[1])

    @naxis2.setter
    def naxis2(self, value: int) -> None:
        shape = self.pixel_shape or (0, 0)
        self.pixel_shape = (int(shape[0]), int(value))

    # ---- fast evaluation ----------------------------------------------------------
    def fast_pipeline(self) -> _fastwcs.DistortionPipeline | None:
        """The vectorised pipeline for the current parameters (None: astropy is used).

        Returns
        -------
        DistortionPipeline or None
        """
        return _fastwcs.pipeline_from_wcs(self)

    def all_pix2world(self, *args: Any, **kwargs: Any):
        """Pixel to sky with every distortion (SIP, NPOL, D2IM); astropy's signature.

        Call as ``all_pix2world(x, y, origin)`` (returns ``[ra, dec]``, arrays
        shaped like ``x``) or ``all_pix2world(xy, origin)`` with an ``(N, 2)``
        array (returns ``(N, 2)``).  A meshgrid-shaped input (``x`` constant
        along columns, ``y`` along rows, e.g. a whole chip) is evaluated
        separably.

        Parameters
        ----------
        *args
            As above; ``origin`` is 0 (numpy) or 1 (FITS).
        **kwargs
            ``ra_dec_order`` (passed to astropy).

        Returns
        -------
        list of ndarray or ndarray
        """
        pipe = None if kwargs else self.fast_pipeline()
        if pipe is None:
            return super().all_pix2world(*args, **kwargs)
        if len(args) == 2:
            xy, origin = args
            xy = np.asarray(xy, dtype=np.float64)
            if xy.ndim != 2 or xy.shape[1] != 2:
                raise ValueError("When providing two arguments, the array must be of shape "
                                 "(N, 2)")
            ra, dec = self._fast_p2w(pipe, xy[:, 0], xy[:, 1], int(origin))
            return np.column_stack([ra, dec])
        if len(args) == 3:
            x, y, origin = args
            ra, dec = self._fast_p2w(pipe, np.asarray(x, dtype=np.float64),
                                     np.asarray(y, dtype=np.float64), int(origin))
            return [ra, dec]
        raise TypeError("all_pix2world expects (x, y, origin) or (xy, origin)")

    def _fast_p2w(self, pipe, x: np.ndarray, y: np.ndarray, origin: int):
        if x.shape != y.shape:
            try:
                x, y = np.broadcast_arrays(x, y)
            except ValueError:
                raise ValueError("Coordinate arrays are not broadcastable to each other") \
                    from None
        bad = ~(np.isfinite(x) & np.isfinite(y))
        if bad.any():
            x = np.where(bad, 0.0, x)
            y = np.where(bad, 0.0, y)
        if (x.ndim == 2 and x.size >= 4096 and not bad.any()
                and np.array_equal(x, np.broadcast_to(x[:1], x.shape))
                and np.array_equal(y, np.broadcast_to(y[:, :1], y.shape))):
            ra, dec = pipe.grid_pix2world(x[0], y[:, 0], origin, threads=self.num_threads)
        else:
            ra, dec = pipe.pix2world(x, y, origin, threads=self.num_threads)
        if bad.any():
            ra[bad] = np.nan
            dec[bad] = np.nan
        return ra, dec

    def grid_pix2world(self, x: np.ndarray | None = None, y: np.ndarray | None = None,
                       origin: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Sky coordinates on the pixel grid ``y x x`` (default: every pixel of the chip).

        Parameters
        ----------
        x, y : 1-D arrays, optional
            Column and row coordinates (default ``arange(naxis1)``,
            ``arange(naxis2)`` shifted by ``origin``).
        origin : int, optional
            0 (numpy) or 1 (FITS) pixel convention.

        Returns
        -------
        ra : ndarray of shape (len(y), len(x))
            Right ascension (deg).
        dec : ndarray of shape (len(y), len(x))
            Declination (deg).
        """
        if x is None:
            x = np.arange(self.naxis1 or 0, dtype=np.float64) + origin
        if y is None:
            y = np.arange(self.naxis2 or 0, dtype=np.float64) + origin
        x = np.asarray(x, dtype=np.float64).ravel()
        y = np.asarray(y, dtype=np.float64).ravel()
        pipe = self.fast_pipeline()
        if pipe is None:
            xx, yy = np.meshgrid(x, y)
            ra, dec = super().all_pix2world(xx, yy, origin)
            return ra, dec
        return pipe.grid_pix2world(x, y, origin, threads=self.num_threads)

    def all_world2pix(self, *args: Any, tolerance: float = 1e-4, maxiter: int = 20,
                      adaptive: bool = False, detect_divergence: bool = True,
                      quiet: bool = False):
        """Sky to pixel, inverting every distortion iteratively.

        Call as ``all_world2pix(ra, dec, origin)`` (returns ``[x, y]``) or
        ``all_world2pix(radec, origin)`` with an ``(N, 2)`` array (returns
        ``(N, 2)``).

        Parameters
        ----------
        *args
            As above.
        tolerance : float, optional
            Convergence limit on the pixel correction.
        maxiter : int, optional
            Maximum number of iterations.
        adaptive : bool, optional
            Accepted for compatibility; every point already iterates on its
            own.
        detect_divergence : bool, optional
            Stop iterating points whose correction grows.
        quiet : bool, optional
            Return the best solution instead of raising.

        Returns
        -------
        list of ndarray or ndarray

        Raises
        ------
        NoConvergence
            If some points did not converge within ``maxiter`` (unless quiet).
        """
        pipe = self.fast_pipeline()
        if len(args) == 2:
            arr = np.asarray(args[0], dtype=np.float64)
            if arr.ndim != 2 or arr.shape[1] != 2:
                raise ValueError("When providing two arguments, the array must be of shape "
                                 "(N, 2)")
            ra, dec, origin = arr[:, 0], arr[:, 1], int(args[1])
            pair = False
        elif len(args) == 3:
            ra = np.asarray(args[0], dtype=np.float64)
            dec = np.asarray(args[1], dtype=np.float64)
            origin = int(args[2])
            pair = True
        else:
            raise TypeError("all_world2pix expects (ra, dec, origin) or (radec, origin)")
        if pipe is None:
            try:
                out = super().all_world2pix(*args, tolerance=tolerance, maxiter=maxiter,
                                            adaptive=adaptive,
                                            detect_divergence=detect_divergence, quiet=quiet)
            except astropy_wcs.NoConvergence as exc:
                raise NoConvergence(str(exc), best_solution=exc.best_solution,
                                    accuracy=exc.accuracy, divergent=exc.divergent,
                                    filename=self.filename) from exc
            return out
        ra, dec = np.broadcast_arrays(ra, dec)
        shape = ra.shape
        x, y, acc, niter, div = _invert(pipe, ra.ravel(), dec.ravel(), tolerance, maxiter,
                                        detect_divergence, self.num_threads)
        failed = np.flatnonzero(~(acc < tolerance) & np.isfinite(acc))
        x = x - (1 - origin)
        y = y - (1 - origin)
        if len(failed) and not quiet:
            best = np.column_stack([x, y])
            exc = NoConvergence(
                f"all_world2pix failed to converge to the requested accuracy for "
                f"{len(failed)} point(s) after {niter} iterations",
                best_solution=best, accuracy=np.column_stack([acc, acc]),
                divergent=np.flatnonzero(div) if div.any() else None, filename=self.filename)
            exc.niter = niter
            exc.failed2converge = failed
            raise exc
        if pair:
            return [x.reshape(shape), y.reshape(shape)]
        return np.column_stack([x, y])

    # ---- output -----------------------------------------------------------------
    def wcs2header(self, sip2hdr: bool = False, idc2hdr: bool = True, wcskey: str | None = None,
                   relax: bool = False) -> fits.Header:
        """Header with this WCS in CD form (no HST-specific cards).

        Parameters
        ----------
        sip2hdr : bool, optional
            Add ``A_ORDER``/``B_ORDER``, non-zero ``A_p_q``/``B_p_q`` (and
            ``AP``/``BP`` when present); CTYPEs then carry ``-SIP``.
        idc2hdr : bool, optional
            Add OCX10, OCX11, OCY10, OCY11 and IDCSCALE when known.
        wcskey : str, optional
            Alternate key appended to the WCS keywords (default primary).
        relax : bool, optional
            Accepted for compatibility (the cards written are standard).

        Returns
        -------
        astropy.io.fits.Header
        """
        key = (wcskey or " ").strip().upper()

        def kw(base: str) -> str:
            return base[:7] + key if key else base

        h = fits.Header()
        wcs = self.wcs
        has_sip = self.sip is not None
        name = str(getattr(wcs, "name", "") or "").strip() or build_default_wcsname(self.idctab)
        h[kw("WCSAXES")] = (2, "Number of coordinate axes")
        for i in (1, 2):
            h[kw(f"CRPIX{i}")] = (float(wcs.crpix[i - 1]), "Pixel coordinate of reference point")
        for i in (1, 2):
            unit = str(wcs.cunit[i - 1]) or "deg"
            h[kw(f"CUNIT{i}")] = (unit, "Units of coordinate increment and value")
        for i in (1, 2):
            ctype = str(wcs.ctype[i - 1]).removesuffix("-SIP")
            if sip2hdr and has_sip:
                ctype += "-SIP"
            h[kw(f"CTYPE{i}")] = ctype
        for i in (1, 2):
            h[kw(f"CRVAL{i}")] = (float(wcs.crval[i - 1]), "Coordinate value at reference point")
        crder = np.asarray(wcs.crder, dtype=np.float64)
        for i in (1, 2):
            if np.isfinite(crder[i - 1]):
                h[kw(f"CRDER{i}")] = (float(crder[i - 1]), "Random error in coordinate")
        if str(wcs.radesys).strip():
            h[kw("RADESYS")] = (str(wcs.radesys), "Equatorial coordinate system")
        cd = self._cd()
        for i, j, what in ((1, 1, "first axis coordinate w.r.t. x"),
                           (1, 2, "first axis coordinate w.r.t. y"),
                           (2, 1, "second axis coordinate w.r.t. x"),
                           (2, 2, "second axis coordinate w.r.t. y")):
            h[kw(f"CD{i}_{j}")] = (float(cd[i - 1, j - 1]), f"partial of {what}")
        h[kw("WCSNAME")] = (name, "Coordinate system title")
        if idc2hdr:
            for attr in ("ocx10", "ocx11", "ocy10", "ocy11"):
                value = getattr(self, attr, None)
                if value is not None:
                    h[attr.upper()] = value
            if self.idcscale:
                h["IDCSCALE"] = self.idcscale
        if sip2hdr and has_sip:
            for letter, coeffs, order in (("A", self.sip.a, self.sip.a_order),
                                          ("B", self.sip.b, self.sip.b_order),
                                          ("AP", self.sip.ap, self.sip.ap_order),
                                          ("BP", self.sip.bp, self.sip.bp_order)):
                if coeffs is None:
                    continue
                h[f"{letter}_ORDER"] = int(order)
                for p in range(coeffs.shape[0]):
                    for q in range(coeffs.shape[1]):
                        if coeffs[p, q] != 0.0:
                            h[f"{letter}_{p}_{q}"] = float(coeffs[p, q])
        return h

    def wcs_summary(self) -> str:
        """Text printed by :meth:`printwcs`.

        Returns
        -------
        str
        """
        cd = self._cd()
        out = io.StringIO()
        out.write("WCS Keywords\n")
        if self.filename:
            ext = f"[{self.extname[0]},{self.extname[1]}]" if self.extname else ""
            out.write(f"File: {self.filename}{ext}\n")
        crval = [float(v) for v in self.wcs.crval]
        crpix = [float(v) for v in self.wcs.crpix]
        out.write(f"CD_11  CD_12: {float(cd[0, 0])!r} {float(cd[0, 1])!r}\n")
        out.write(f"CD_21  CD_22: {float(cd[1, 0])!r} {float(cd[1, 1])!r}\n")
        out.write(f"CRVAL    : {crval[0]!r} {crval[1]!r}\n")
        out.write(f"CRPIX    : {crpix[0]!r} {crpix[1]!r}\n")
        out.write(f"NAXIS    : {self.naxis1} {self.naxis2}\n")
        out.write(f"Plate Scale : {float(self.pscale)!r}\n")
        out.write(f"ORIENTAT : {float(self.orientat)!r}\n")
        return out.getvalue()

    def printwcs(self, file: TextIO | None = None) -> None:
        """Print CD, CRVAL, CRPIX, NAXIS, plate scale and ORIENTAT.

        Parameters
        ----------
        file : text stream, optional
            Default ``sys.stdout``.
        """
        (file or sys.stdout).write(self.wcs_summary())

    def to_gwcs(self):
        """Equivalent :class:`gwcs.wcs.WCS` (same pixel convention: 0-based).

        Returns
        -------
        gwcs.wcs.WCS
            Forward transform pixel -> (ra, dec) deg with every distortion;
            the inverse iterates on the distortion like
            :meth:`all_world2pix`.
        """
        from ._gwcs import hstwcs_to_gwcs

        return hstwcs_to_gwcs(self)

    def __repr__(self) -> str:
        return (f"<HSTWCS instrument={self.instrument!r} detector={self.detector!r} "
                f"chip={self.chip!r} file={self.filename!r} ext={self.extname!r}>")


def _invert(pipe, ra: np.ndarray, dec: np.ndarray, tolerance: float, maxiter: int,
            detect_divergence: bool, threads: int | None):
    """Fixed-point inversion of pix2foc, chunked over a thread pool (1-based results)."""
    n = ra.size
    x = np.empty(n)
    y = np.empty(n)
    acc = np.zeros(n)
    div = np.zeros(n, dtype=bool)
    iters = [0]

    def work(sl: slice) -> None:
        tx, ty = pipe.world2foc(ra[sl], dec[sl])
        ok = np.isfinite(tx) & np.isfinite(ty)
        px = np.where(ok, tx, 0.0)
        py = np.where(ok, ty, 0.0)
        step = np.full(px.size, np.inf)
        active = np.flatnonzero(ok)
        k = 0
        while active.size and k < maxiter:
            k += 1
            dx, dy = pipe.newton_step(px[active], py[active], tx[active], ty[active])
            px[active] -= dx
            py[active] -= dy
            new = np.hypot(dx, dy)
            if detect_divergence and k > 2:
                grows = new > step[active]
                div[sl][active[grows]] = True
                keep = ~grows
            else:
                keep = np.ones(active.size, dtype=bool)
            step[active] = new
            done = new < tolerance
            active = active[keep & ~done]
        iters[0] = max(iters[0], k)
        step[~ok] = np.nan
        px[~ok] = np.nan
        py[~ok] = np.nan
        x[sl], y[sl], acc[sl] = px, py, step

    slices = [slice(i, min(i + _fastwcs._CHUNK, n)) for i in range(0, n, _fastwcs._CHUNK)]
    if slices:
        _fastwcs._run(work, slices, threads)
    return x, y, acc, iters[0], div

