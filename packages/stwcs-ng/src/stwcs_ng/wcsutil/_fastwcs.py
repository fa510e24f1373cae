"""Vectorised evaluation of the HST distortion pipeline (numpy, thread-parallel).

Evaluates exactly what :meth:`astropy.wcs.WCS.all_pix2world` evaluates for a
celestial TAN WCS with SIP, Paper IV lookup tables (``CPDISj``) and detector
to image tables (``D2IMDISj``), in the same order:

1. ``d = p + D2IM(p)`` (``p`` 1-based pixel coordinates; each D2IM table
   corrects one axis);
2. ``f = d + SIP(d - CRPIX) + NPOL(d)`` (SIP polynomial and lookup tables
   both evaluated at ``d``);
3. ``(xi, eta) = CD @ (f - CRPIX)`` (intermediate world coordinates, deg);
4. gnomonic (TAN) deprojection and rotation to celestial coordinates, for
   the default native pole (``LONPOLE = 180``).

Lookup tables (Paper IV): the 0-based table coordinate of image coordinate
``v`` along axis ``k`` is ``(v - CRVAL_k) / CDELT_k + CRPIX_k - 1``, clamped
to the table; values are interpolated bilinearly.

Two evaluation paths share the same arithmetic per point, so results do not
depend on the chunking or on the number of threads:

* arbitrary points, split into chunks evaluated by a thread pool (numpy
  releases the GIL);
* a rectilinear pixel grid (e.g. a whole chip): lookup tables sampled at grid
  points are evaluated separably (interpolate table rows once per image row,
  then gather along x).

Everything here is pure: arrays in, arrays out.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

__all__ = ["LookupTable", "SIPPolynomial", "DistortionPipeline", "pipeline_from_wcs",
           "default_threads"]

_CHUNK = 1 << 13  # points per task: small enough for the temporaries to stay in cache
_ROWS_TARGET = 1 << 13  # grid pixels per task


def default_threads() -> int:
    """Default thread count: the CPUs available to this process, at most 8.

    Returns
    -------
    int
    """
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    return max(1, min(8, n))


@dataclass(frozen=True)
class LookupTable:
    """A Paper IV distortion lookup table.

    Attributes
    ----------
    data : ndarray of shape (ny, nx)
        Offsets (pixels), float64.
    crpix, crval, cdelt : tuple of float
        Table header values per axis (x, y).
    """

    data: np.ndarray
    crpix: tuple[float, float]
    crval: tuple[float, float]
    cdelt: tuple[float, float]

    @classmethod
    def from_astropy(cls, table) -> LookupTable | None:
        """Build from an :class:`astropy.wcs.DistortionLookupTable` (None passes through)."""
        if table is None:
            return None
        return cls(np.ascontiguousarray(table.data, dtype=np.float64),
                   tuple(float(v) for v in table.crpix), tuple(float(v) for v in table.crval),
                   tuple(float(v) for v in table.cdelt))

    @property
    def padded(self) -> np.ndarray:
        """Table padded to at least 2 samples per axis (edge repeated)."""
        d = self.data
        if d.shape[0] < 2:
            d = np.vstack([d, d])
        if d.shape[1] < 2:
            d = np.hstack([d, d])
        return np.ascontiguousarray(d)

    def same_geometry(self, other: LookupTable | None) -> bool:
        """True when ``other`` has the same shape and axis definitions."""
        return (other is not None and other.data.shape == self.data.shape
                and other.crpix == self.crpix and other.crval == self.crval
                and other.cdelt == self.cdelt)

    def coords(self, v: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
        """Integer cell index and fraction along ``axis`` for 1-based image coords ``v``."""
        n = self.data.shape[1 - axis]
        p = (v - self.crval[axis]) / self.cdelt[axis] + (self.crpix[axis] - 1.0)
        np.clip(p, 0.0, n - 1.0, out=p)
        with np.errstate(invalid="ignore"):  # NaN positions: any index, NaN fraction
            i = np.minimum(p.astype(np.intp), max(n - 2, 0))
        return i, p - i


def _bilinear(tables: list[np.ndarray], ix: np.ndarray, fx: np.ndarray, iy: np.ndarray,
              fy: np.ndarray) -> list[np.ndarray]:
    nx = tables[0].shape[1]
    flat = iy * nx + ix
    out = []
    for t in tables:
        r = t.ravel()
        t00 = r.take(flat, mode="clip")  # clip: NaN positions must not raise
        t01 = r.take(flat + 1, mode="clip")
        t10 = r.take(flat + nx, mode="clip")
        t11 = r.take(flat + (nx + 1), mode="clip")
        a = t00 + fx * (t01 - t00)
        b = t10 + fx * (t11 - t10)
        out.append(a + fy * (b - a))
    return out


def _lookup_pair(t1: LookupTable | None, t2: LookupTable | None, x: np.ndarray,
                 y: np.ndarray) -> tuple[np.ndarray | float, np.ndarray | float]:
    """Offsets of a table pair at points (x, y), 1-based."""
    if t1 is not None and t1.same_geometry(t2):
        ix, fx = t1.coords(x, 0)
        iy, fy = t1.coords(y, 1)
        o1, o2 = _bilinear([t1.padded, t2.padded], ix, fx, iy, fy)
        return o1, o2
    out: list[np.ndarray | float] = []
    for t in (t1, t2):
        if t is None:
            out.append(0.0)
            continue
        ix, fx = t.coords(x, 0)
        iy, fy = t.coords(y, 1)
        out.append(_bilinear([t.padded], ix, fx, iy, fy)[0])
    return out[0], out[1]


def _lookup_grid(t: LookupTable | None, x1d: np.ndarray, y1d: np.ndarray) -> np.ndarray | float:
    """Offsets of one table on the grid ``y1d x x1d`` (1-based), separably."""
    if t is None:
        return 0.0
    tab = t.padded
    ix, fx = t.coords(x1d.copy(), 0)
    iy, fy = t.coords(y1d.copy(), 1)
    rows = tab[iy] + fy[:, None] * (tab[iy + 1] - tab[iy])  # (ny, tx)
    a = np.take(rows, ix, axis=1)  # C order (rows[:, ix] would be Fortran order)
    b = np.take(rows, ix + 1, axis=1)
    return a + fx[None, :] * (b - a)


@dataclass(frozen=True)
class SIPPolynomial:
    """SIP forward polynomial ``A(u, v)``, ``B(u, v)`` (coefficient ``[p, q]`` of u^p v^q)."""

    a: np.ndarray
    b: np.ndarray
    crpix: tuple[float, float]

    @classmethod
    def from_astropy(cls, sip) -> SIPPolynomial | None:
        if sip is None or sip.a is None:
            return None
        return cls(np.asarray(sip.a, dtype=np.float64), np.asarray(sip.b, dtype=np.float64),
                   (float(sip.crpix[0]), float(sip.crpix[1])))

    @staticmethod
    def _horner(c: np.ndarray, u, v):
        order = c.shape[0] - 1
        result = None
        for p in range(order, -1, -1):
            # inner polynomial in v for power p of u
            inner = None
            for q in range(order - p, -1, -1):
                coef = c[p, q]
                if inner is None:
                    inner = coef if coef != 0.0 else None
                    continue
                inner = inner * v + coef if coef != 0.0 else inner * v
            if result is None:
                result = inner
            else:
                result = result * u
                if inner is not None:
                    result = result + inner
        if result is None:
            return 0.0
        return result

    def __call__(self, u: np.ndarray, v: np.ndarray) -> tuple:
        """Return ``(A(u, v), B(u, v))``."""
        return self._horner(self.a, u, v), self._horner(self.b, u, v)

    def jacobian(self, u: np.ndarray, v: np.ndarray) -> tuple:
        """Return ``(dA/du, dA/dv, dB/du, dB/dv)``."""
        out = []
        for c in (self.a, self.b):
            n = c.shape[0]
            du = np.zeros_like(c)
            dv = np.zeros_like(c)
            du[:n - 1, :] = c[1:, :] * np.arange(1, n)[:, None]
            dv[:, :n - 1] = c[:, 1:] * np.arange(1, n)[None, :]
            out += [self._horner(du, u, v), self._horner(dv, u, v)]
        return tuple(out)

    def on_grid(self, u1d: np.ndarray, v1d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``A`` and ``B`` on the grid ``v1d x u1d`` from 1-D powers (separable)."""
        order = self.a.shape[0] - 1
        vpow = np.vander(v1d, order + 1, increasing=True)  # (ny, order+1)
        out = []
        for c in (self.a, self.b):
            res = np.zeros((v1d.size, u1d.size))
            for q in range(order + 1):
                poly_u = np.polynomial.polynomial.polyval(u1d, c[:, q])
                if np.any(c[:, q]):
                    res += vpow[:, q:q + 1] * poly_u[None, :]
            out.append(res)
        return out[0], out[1]


@dataclass(frozen=True)
class DistortionPipeline:
    """Pixel to sky pipeline of a celestial TAN WCS with HST distortions.

    Attributes
    ----------
    crpix : tuple of float
        Reference pixel (1-based).
    cd : ndarray of shape (2, 2)
        Linear matrix (deg/pixel), longitude row first.
    crval : tuple of float
        Reference point (deg), longitude first.
    sip : SIPPolynomial or None
    cpdis : tuple of (LookupTable or None)
    det2im : tuple of (LookupTable or None)
    """

    crpix: tuple[float, float]
    cd: np.ndarray
    crval: tuple[float, float]
    sip: SIPPolynomial | None
    cpdis: tuple[LookupTable | None, LookupTable | None]
    det2im: tuple[LookupTable | None, LookupTable | None]

    # ---- distortion: pixel (1-based) -> focal plane (1-based) -----------------
    def pix2foc(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distortion-corrected pixel coordinates (1-based in, 1-based out)."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if self.det2im[0] is not None or self.det2im[1] is not None:
            o1, o2 = _lookup_pair(self.det2im[0], self.det2im[1], x, y)
            dx = x + o1
            dy = y + o2
        else:
            dx, dy = x, y
        fx, fy = dx, dy
        if self.sip is not None:
            a, b = self.sip(dx - self.sip.crpix[0], dy - self.sip.crpix[1])
            fx = fx + a
            fy = fy + b
        if self.cpdis[0] is not None or self.cpdis[1] is not None:
            o1, o2 = _lookup_pair(self.cpdis[0], self.cpdis[1], dx, dy)
            fx = fx + o1
            fy = fy + o2
        return np.asarray(fx, dtype=np.float64), np.asarray(fy, dtype=np.float64)

    def newton_step(self, x: np.ndarray, y: np.ndarray, tx: np.ndarray,
                    ty: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Correction ``(dx, dy)`` to subtract from ``(x, y)`` to reach foc ``(tx, ty)``.

        Residual of :meth:`pix2foc` divided by the Jacobian of the SIP part
        (the lookup tables' slopes, ~1e-3, are left to the iteration).
        """
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if self.det2im[0] is not None or self.det2im[1] is not None:
            o1, o2 = _lookup_pair(self.det2im[0], self.det2im[1], x, y)
            dx = x + o1
            dy = y + o2
        else:
            dx, dy = x, y
        fx, fy = self.pix2foc_from_d(dx, dy)
        rx = fx - tx
        ry = fy - ty
        if self.sip is None:
            return rx, ry
        au, av, bu, bv = self.sip.jacobian(dx - self.sip.crpix[0], dy - self.sip.crpix[1])
        au = au + 1.0
        bv = bv + 1.0
        det = au * bv - av * bu
        return (bv * rx - av * ry) / det, (au * ry - bu * rx) / det

    def _grid_pix2foc(self, x1d: np.ndarray, y1d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        shape = (y1d.size, x1d.size)
        if self.det2im[0] is not None or self.det2im[1] is not None:
            dx = x1d[None, :] + _lookup_grid(self.det2im[0], x1d, y1d)
            dy = y1d[:, None] + _lookup_grid(self.det2im[1], x1d, y1d)
            dx = np.broadcast_to(dx, shape)
            dy = np.broadcast_to(dy, shape)
            return self.pix2foc_from_d(dx, dy)
        fx = np.broadcast_to(x1d[None, :], shape)
        fy = np.broadcast_to(y1d[:, None], shape)
        if self.sip is not None:
            a, b = self.sip.on_grid(x1d - self.sip.crpix[0], y1d - self.sip.crpix[1])
            fx = fx + a
            fy = fy + b
        if self.cpdis[0] is not None:
            fx = fx + _lookup_grid(self.cpdis[0], x1d, y1d)
        if self.cpdis[1] is not None:
            fy = fy + _lookup_grid(self.cpdis[1], x1d, y1d)
        return np.broadcast_to(fx, shape), np.broadcast_to(fy, shape)

    def pix2foc_from_d(self, dx: np.ndarray, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Steps after D2IM (``dx, dy`` already detector-corrected)."""
        fx, fy = dx, dy
        if self.sip is not None:
            a, b = self.sip(dx - self.sip.crpix[0], dy - self.sip.crpix[1])
            fx = fx + a
            fy = fy + b
        if self.cpdis[0] is not None or self.cpdis[1] is not None:
            o1, o2 = _lookup_pair(self.cpdis[0], self.cpdis[1], dx, dy)
            fx = fx + o1
            fy = fy + o2
        return fx, fy

    # ---- focal plane -> sky ----------------------------------------------------
    def foc2world(self, fx: np.ndarray, fy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Celestial coordinates (deg) of 1-based focal-plane coordinates."""
        X = fx - self.crpix[0]
        Y = fy - self.crpix[1]
        cd = self.cd * (math.pi / 180.0)
        xi = cd[0, 0] * X + cd[0, 1] * Y
        eta = cd[1, 0] * X + cd[1, 1] * Y
        d0 = math.radians(self.crval[1])
        sd, cdec = math.sin(d0), math.cos(d0)
        den = cdec - eta * sd
        ra = np.arctan2(xi, den)
        ra *= 180.0 / math.pi
        ra += self.crval[0]
        # wrap into [0, 360) like wcslib; np.mod is slow, so only where needed
        if (ra < 0.0).any() or (ra >= 360.0).any():
            np.mod(ra, 360.0, out=ra)
        num = sd + eta * cdec
        den *= den
        xi *= xi
        den += xi
        np.sqrt(den, out=den)
        dec = np.arctan2(num, den)
        dec *= 180.0 / math.pi
        return ra, dec

    def world2foc(self, ra: np.ndarray, dec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """1-based focal-plane coordinates of celestial coordinates (deg); NaN behind."""
        a = np.radians(np.asarray(ra, dtype=np.float64) - self.crval[0])
        d = np.radians(np.asarray(dec, dtype=np.float64))
        d0 = math.radians(self.crval[1])
        sd0, cd0 = math.sin(d0), math.cos(d0)
        sd, cdd = np.sin(d), np.cos(d)
        ca = np.cos(a)
        cosc = sd0 * sd + cd0 * cdd * ca
        with np.errstate(divide="ignore", invalid="ignore"):
            xi = np.where(cosc > 0, cdd * np.sin(a) / cosc, np.nan)
            eta = np.where(cosc > 0, (cd0 * sd - sd0 * cdd * ca) / cosc, np.nan)
        xi = np.degrees(xi)
        eta = np.degrees(eta)
        inv = np.linalg.inv(self.cd)
        X = inv[0, 0] * xi + inv[0, 1] * eta + self.crpix[0]
        Y = inv[1, 0] * xi + inv[1, 1] * eta + self.crpix[1]
        return X, Y

    # ---- drivers ---------------------------------------------------------------
    def pix2world(self, x: np.ndarray, y: np.ndarray, origin: int = 0,
                  threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Sky coordinates (deg) of pixel positions of any (equal) shape."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        x, y = np.broadcast_arrays(x, y)
        shape = x.shape
        xf = x.ravel() + (1 - origin)
        yf = y.ravel() + (1 - origin)
        ra = np.empty(xf.size)
        dec = np.empty(xf.size)

        def work(sl: slice) -> None:
            fx, fy = self.pix2foc(xf[sl], yf[sl])
            ra[sl], dec[sl] = self.foc2world(fx, fy)

        _run(work, [slice(i, min(i + _CHUNK, xf.size)) for i in range(0, xf.size, _CHUNK)],
             threads)
        return ra.reshape(shape), dec.reshape(shape)

    def grid_pix2world(self, x1d: np.ndarray, y1d: np.ndarray, origin: int = 0,
                       threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Sky coordinates on the grid ``y1d x x1d``; outputs have shape (ny, nx)."""
        x1d = np.asarray(x1d, dtype=np.float64).ravel() + (1 - origin)
        y1d = np.asarray(y1d, dtype=np.float64).ravel() + (1 - origin)
        ny, nx = y1d.size, x1d.size
        ra = np.empty((ny, nx))
        dec = np.empty((ny, nx))
        rows = max(1, _ROWS_TARGET // max(nx, 1))

        def work(sl: slice) -> None:
            fx, fy = self._grid_pix2foc(x1d, y1d[sl])
            ra[sl], dec[sl] = self.foc2world(fx, fy)

        _run(work, [slice(i, min(i + rows, ny)) for i in range(0, ny, rows)], threads)
        return ra, dec


def _run(func: Callable[[slice], None], slices: list[slice], threads: int | None) -> None:
    """Call ``func`` on every slice; ``threads`` workers each take a contiguous batch."""
    n = default_threads() if threads is None else max(1, int(threads))
    n = min(n, len(slices))
    if n <= 1:
        for sl in slices:
            func(sl)
        return

    def batch(part: list[slice]) -> None:
        for sl in part:
            func(sl)

    size = -(-len(slices) // n)
    parts = [slices[i:i + size] for i in range(0, len(slices), size)]
    with ThreadPoolExecutor(max_workers=len(parts)) as pool:
        for fut in [pool.submit(batch, part) for part in parts]:
            fut.result()


def pipeline_from_wcs(w) -> DistortionPipeline | None:
    """Build the fast pipeline for an astropy WCS, or None when it does not apply.

    Applies to 2-D celestial WCSs with a TAN projection (any SIP / lookup
    distortion), default native pole (``LONPOLE = 180``), no ``PV`` terms and
    degrees as units.

    Parameters
    ----------
    w : astropy.wcs.WCS

    Returns
    -------
    DistortionPipeline or None
    """
    try:
        wcs = w.wcs
        if wcs.naxis != 2 or wcs.lng != 0 or wcs.lat != 1:
            return None
        ctype = [c.upper() for c in wcs.ctype]
        if not all(c[5:8] == "TAN" for c in ctype):
            return None
        if any(c[8:] not in ("", "-SIP") for c in ctype):
            return None
        if len(wcs.get_pv()) or len(wcs.get_ps()):
            return None
        if [str(u) for u in wcs.cunit] not in (["deg", "deg"], ["", ""]):
            return None
        wcs.set()
        if abs(wcs.lonpole - 180.0) > 0 or wcs.crval[1] >= 90.0:
            return None
        cd = np.asarray(wcs.get_pc(), dtype=np.float64) * np.asarray(wcs.get_cdelt())[:, None]
        if not np.all(np.isfinite(cd)) or abs(np.linalg.det(cd)) == 0:
            return None
        return DistortionPipeline(
            crpix=(float(wcs.crpix[0]), float(wcs.crpix[1])),
            cd=cd,
            crval=(float(wcs.crval[0]), float(wcs.crval[1])),
            sip=SIPPolynomial.from_astropy(getattr(w, "sip", None)),
            cpdis=(LookupTable.from_astropy(w.cpdis1), LookupTable.from_astropy(w.cpdis2)),
            det2im=(LookupTable.from_astropy(w.det2im1), LookupTable.from_astropy(w.det2im2)),
        )
    except (AttributeError, ValueError, TypeError, np.linalg.LinAlgError):
        return None
