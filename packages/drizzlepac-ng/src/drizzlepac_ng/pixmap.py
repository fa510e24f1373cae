"""Pixel maps between two images, for any pair of APE-14 WCS objects.

A pixel map is an array of shape ``(ny, nx, 2)``: for each pixel ``(x, y)``
(0-based, numpy order of the first two axes) of the "from" image it holds the
0-based ``(x, y)`` position of the same sky point in the "to" image::

    pixmap[y, x] = wcs_to.world_to_pixel_values(*wcs_from.pixel_to_world_values(x, y))

It works with :class:`astropy.wcs.WCS` (and subclasses such as
``stwcs_ng.wcsutil.HSTWCS``), :class:`gwcs.wcs.WCS` and any other object with
the two APE-14 low-level methods.

Two modes:

``"exact"``
    Evaluates the transform at every pixel, like ``drizzle.utils.calc_pixmap``.

``"fast"``
    Evaluates the transform on a sparse grid of nodes (every ``step`` pixels
    plus the last row and column), interpolates it with a tensor-product
    cubic spline, and measures the interpolation error against the exact
    transform at held-out points (the centres of the grid cells and a seeded
    random set of rows and columns).  Steps of 64, 32, 16 and 8 pixels are
    tried, then grids that keep every column (or row) with a step of 16 or 8
    along the other axis, until the measured error is below half the
    tolerance (a margin for the maximum between the checked points).  If no
    grid passes, or the transform is undefined (NaN) anywhere on the grid,
    the exact map is computed instead.
    The measured error is logged and returned by :func:`calc_pixmap_with_error`.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import PixmapError
from .kernels import resolve_num_threads

__all__ = [
    "PixmapResult",
    "PixmapPlan",
    "calc_pixmap",
    "calc_pixmap_plan",
    "calc_pixmap_with_error",
    "estimate_pixel_scale_ratio",
]

log = logging.getLogger(__name__)

_DEG2RAD = math.pi / 180.0
_BBOX_CHOICES = ("to", "from", "both", "none")
#: Node spacings (x, y) tried by the fast mode, cheapest first.  The
#: anisotropic ones keep every column (row) and catch distortions that vary
#: from pixel to pixel along one axis only, such as a per-column D2IM table.
_FAST_STEPS = ((64, 64), (32, 32), (16, 16), (8, 8), (1, 16), (16, 1), (1, 8), (8, 1))
#: The held-out points sample the interpolation error; a step is accepted when
#: their maximum is below this fraction of the tolerance, leaving a margin for
#: the unsampled maximum.
_SAFETY = 0.5
#: Below this many pixels the fast mode simply evaluates the exact map.
_FAST_MIN_PIXELS = 128 * 128


@dataclass(frozen=True)
class PixmapResult:
    """A pixel map with the accuracy information of the mode that made it.

    Parameters
    ----------
    pixmap : numpy.ndarray
        Array of shape ``(ny, nx, 2)``, float64.
    mode : str
        ``"exact"`` or ``"fast"`` (the mode actually used: a fast request that
        fell back gives ``"exact"``).
    max_error : float
        Largest distance (pixels of the "to" image) between the interpolated
        and the exact map at the held-out points; 0 for the exact mode.
    step : tuple of int or None
        Node spacing ``(x, y)`` of the fast mode, None for the exact mode.
    n_checked : int
        Number of held-out points the error was measured at.
    fallback_reason : str or None
        Why a fast request was answered by the exact map.
    """

    pixmap: np.ndarray
    mode: str
    max_error: float
    step: tuple[int, int] | None = None
    n_checked: int = 0
    fallback_reason: str | None = None


class PixmapPlan:
    """A pixel map that can be (re-)evaluated into any ``(ny, nx, 2)`` float64 array.

    A fast-mode plan holds only the spline coefficients of the map (about
    ``16 * nx * ny / step_y`` bytes), so keeping plans is much cheaper than
    keeping maps; every evaluation gives the same values, bit for bit, as
    :func:`calc_pixmap` with the same arguments.  An exact-mode plan holds
    the map itself.  Made by :func:`calc_pixmap_plan`; evaluating it does not
    call the WCS objects and is safe from several threads at once.

    Attributes
    ----------
    shape : tuple of int
        ``(ny, nx)`` of the map.
    mode, max_error, step, n_checked, fallback_reason
        As in :class:`PixmapResult`.
    """

    def __init__(self, shape: tuple[int, int], mode: str, max_error: float, *,
                 pixmap: np.ndarray | None = None, rows: tuple | None = None,
                 splines: tuple | None = None, step: tuple[int, int] | None = None,
                 n_checked: int = 0, fallback_reason: str | None = None) -> None:
        self.shape = (int(shape[0]), int(shape[1]))
        self.mode = mode
        self.max_error = max_error
        self.step = step
        self.n_checked = n_checked
        self.fallback_reason = fallback_reason
        self._pixmap = pixmap
        self._rows = rows
        self._splines = splines

    @property
    def nbytes(self) -> int:
        """Bytes of array data the plan holds."""
        if self._pixmap is not None:
            return int(self._pixmap.nbytes)
        if self._rows is not None:
            return int(sum(a.nbytes for a in self._rows))
        return int(sum(np.asarray(s.c).nbytes for s in self._splines))

    def evaluate(self, out: np.ndarray | None = None, *,
                 num_threads: int | None = None) -> np.ndarray:
        """The pixel map, written into ``out`` (float64, C-contiguous) or a new array.

        Parameters
        ----------
        out : ndarray, optional
            Array of shape ``(ny, nx, 2)``, float64, C-contiguous, overwritten.
        num_threads : int, optional
            Threads of the row evaluation (None: ``OMP_NUM_THREADS`` or all
            cores); the values do not depend on it.

        Returns
        -------
        numpy.ndarray
            ``out`` (or the new array).  For an exact-mode plan without
            ``out``, the plan's own array: do not write into it.

        Raises
        ------
        PixmapError
            If ``out`` has the wrong shape, type or layout.
        """
        ny, nx = self.shape
        if out is not None:
            if (not isinstance(out, np.ndarray) or out.shape != (ny, nx, 2)
                    or out.dtype != np.float64 or not out.flags.c_contiguous
                    or not out.flags.writeable):
                raise PixmapError(f"out must be a writeable C-contiguous float64 array of shape "
                                  f"{(ny, nx, 2)}")
        if self._pixmap is not None:
            if out is None:
                return self._pixmap
            np.copyto(out, self._pixmap)
            return out
        pixmap = np.empty((ny, nx, 2), dtype=np.float64) if out is None else out
        self._fill(np.arange(ny), pixmap, num_threads)
        return pixmap

    def evaluate_rows(self, rows: slice, out: np.ndarray | None = None, *,
                      num_threads: int | None = 1) -> np.ndarray:
        """Some rows of the pixel map: bit for bit ``evaluate()[rows]``, computing only those.

        Lets a task that needs one band of an input chip (or a sample of its
        rows) evaluate the plan there instead of reading or computing the
        whole map.  A plan is picklable, so it can be shipped to another
        process, which then gets the same values as this one.

        Parameters
        ----------
        rows : slice
            Input rows (any start, stop and positive step).
        out : ndarray, optional
            Float64 C-contiguous array of shape ``(n_rows, nx, 2)``, overwritten.
        num_threads : int, optional
            Threads of the row evaluation (default 1; the values do not depend on it).

        Returns
        -------
        numpy.ndarray
            ``(n_rows, nx, 2)`` float64.  For an exact-mode plan and a step of 1
            without ``out``, a read-only view of the plan's own array.

        Raises
        ------
        PixmapError
            If ``rows`` is not a slice with a positive step, or ``out`` is wrong.
        """
        ny, nx = self.shape
        if not isinstance(rows, slice) or (rows.step is not None and rows.step < 1):
            raise PixmapError(f"rows must be a slice with a positive step, not {rows!r}")
        try:
            index = np.arange(ny)[rows]
        except (TypeError, IndexError) as exc:
            raise PixmapError(f"rows must be a slice of integers, not {rows!r}") from exc
        if out is not None and (not isinstance(out, np.ndarray)
                                or out.shape != (index.size, nx, 2)
                                or out.dtype != np.float64 or not out.flags.c_contiguous
                                or not out.flags.writeable):
            raise PixmapError(f"out must be a writeable C-contiguous float64 array of shape "
                              f"{(index.size, nx, 2)}")
        if self._pixmap is not None:
            view = self._pixmap[rows]
            if out is None:
                if rows.step in (None, 1):
                    view = view.view()
                    view.flags.writeable = False
                    return view
                return np.ascontiguousarray(view)
            np.copyto(out, view)
            return out
        band = np.empty((index.size, nx, 2), dtype=np.float64) if out is None else out
        self._fill(index, band, num_threads)
        return band

    @property
    def can_save(self) -> bool:
        """True when :meth:`save` can write the plan (a fast-mode plan evaluated by
        the row kernel, the usual case)."""
        return self._rows is not None and self._pixmap is None

    def save(self, path: str | os.PathLike) -> str:
        """Write the plan to an ``.npz`` file (plain arrays, no pickled objects).

        A task of a mosaic reads it back with :meth:`load` (a few MB instead
        of the 16 bytes per pixel of the map itself).

        Parameters
        ----------
        path : str or path-like
            File name; ``.npz`` is appended by numpy when missing.

        Returns
        -------
        str
            The name of the file written.

        Raises
        ------
        PixmapError
            If the plan cannot be saved (see :attr:`can_save`).
        OSError
            If the file cannot be written.
        """
        if not self.can_save:
            raise PixmapError("only a fast-mode plan of the row kernel can be saved")
        cx, cy, start, weights = self._rows
        name = str(path) if str(path).endswith(".npz") else f"{path}.npz"
        step = self.step if self.step is not None else (0, 0)
        np.savez(name, cx=cx, cy=cy, start=start, weights=weights,
                 meta=np.array([self.shape[0], self.shape[1], step[0], step[1],
                                self.n_checked], dtype=np.int64),
                 max_error=np.array(self.max_error, dtype=np.float64))
        return name

    @classmethod
    def load(cls, path: str | os.PathLike) -> PixmapPlan:
        """Read a plan written by :meth:`save` (it evaluates to the same bits).

        Parameters
        ----------
        path : str or path-like

        Returns
        -------
        PixmapPlan

        Raises
        ------
        PixmapError
            If the file is missing or is not a saved plan.
        """
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = [int(v) for v in z["meta"]]
                rows = tuple(np.ascontiguousarray(z[k]) for k in ("cx", "cy", "start",
                                                                  "weights"))
                max_error = float(z["max_error"])
        except (OSError, KeyError, ValueError) as exc:
            raise PixmapError(f"cannot read a pixel-map plan from {path} ({exc})") from exc
        step = (meta[2], meta[3]) if meta[2] else None
        return cls((meta[0], meta[1]), "fast", max_error, rows=rows, step=step,
                   n_checked=meta[4])

    def _fill(self, index: np.ndarray, out: np.ndarray, num_threads: int | None) -> None:
        """Rows ``index`` of a fast-mode plan's map into ``out`` (one row per index)."""
        if index.size == 0:
            return
        if self._rows is not None:
            from .kernels._interp_rows import combine_rows

            cx, cy, start, weights = self._rows
            if index.size != start.shape[0]:
                start = np.ascontiguousarray(start[index])
                weights = np.ascontiguousarray(weights[index])
            combine_rows(cx, cy, start, weights, out, resolve_num_threads(num_threads))
        else:
            sx, sy = self._splines
            yq = index.astype(np.float64)
            out[..., 0] = sx(yq)
            out[..., 1] = sy(yq)


def _check_ape14(wcs: Any, name: str) -> None:
    for attr in ("pixel_to_world_values", "world_to_pixel_values"):
        if not callable(getattr(wcs, attr, None)):
            raise PixmapError(
                f"{name} is not an APE-14 WCS: it has no {attr}() method "
                f"(got {type(wcs).__name__})"
            )


def _get_bbox(wcs: Any) -> tuple[Any, Any]:
    """Return (original bounding box object, F-ordered tuple) or (None, None)."""
    try:
        bbox = getattr(wcs, "bounding_box", None)
    except Exception:  # some WCS raise when no bounding box is defined
        return None, None
    if bbox is None:
        return None, None
    try:
        ftuple = bbox.bounding_box(order="F")
    except AttributeError:
        ftuple = tuple(bbox)
    return bbox, ftuple


def _restore_bbox(wcs: Any, original: Any, ftuple: Any) -> None:
    try:
        wcs.bounding_box = original
    except Exception:
        wcs.bounding_box = ftuple


def _resolve_shape(wcs_from: Any, shape: Any, bbox_from: Any) -> tuple[int, int]:
    if shape is None:
        shape = getattr(wcs_from, "array_shape", None)
        if shape is None and bbox_from is not None:
            lims = bbox_from
            if np.ndim(lims) == 1:
                lims = (lims,)
            if np.ndim(lims) > 1:
                shape = tuple(math.ceil(lim[1] + 0.5) for lim in lims[::-1])
        if shape is None:
            raise PixmapError(
                "cannot tell the pixel map shape: give shape=, or set the 'from' WCS's "
                "array_shape (pixel_shape) or bounding box"
            )
    try:
        dims = tuple(int(n) for n in shape)
        if any(float(a) != float(b) for a, b in zip(dims, shape, strict=True)):
            raise ValueError
    except (TypeError, ValueError):
        raise PixmapError(f"shape must be two integers (ny, nx) (got {shape!r})") from None
    if len(dims) != 2:
        raise PixmapError(f"shape must be two integers (ny, nx) (got {shape!r})")
    if dims[0] < 1 or dims[1] < 1:
        raise PixmapError(f"shape must be positive (got {dims})")
    return dims


def _transform(wcs_from: Any, wcs_to: Any, x: np.ndarray, y: np.ndarray) -> tuple:
    """Exact map of pixel arrays ``x, y`` (any matching shapes)."""
    world = wcs_from.pixel_to_world_values(x, y)
    if not isinstance(world, tuple | list) or len(world) != 2:
        raise PixmapError(
            "wcs_from.pixel_to_world_values must return two world arrays for a 2-D image"
        )
    out = wcs_to.world_to_pixel_values(*world)
    if not isinstance(out, tuple | list) or len(out) != 2:
        raise PixmapError("wcs_to.world_to_pixel_values must return two pixel arrays")
    xo = np.asarray(out[0], dtype=np.float64)
    yo = np.asarray(out[1], dtype=np.float64)
    return np.broadcast_to(xo, np.shape(x)), np.broadcast_to(yo, np.shape(x))


#: The exact map is evaluated in bands of about this many pixels, which bounds
#: the temporary memory (the transform is pointwise, so results are the same).
_EXACT_BAND_PIXELS = 1 << 20


def _exact(wcs_from: Any, wcs_to: Any, shape: tuple[int, int]) -> np.ndarray:
    ny, nx = shape
    pixmap = np.empty((ny, nx, 2), dtype=np.float64)
    rows = max(1, _EXACT_BAND_PIXELS // nx)
    x = np.arange(nx, dtype=np.float64)
    for lo in range(0, ny, rows):
        hi = min(ny, lo + rows)
        gx, gy = np.meshgrid(x, np.arange(lo, hi, dtype=np.float64))
        xo, yo = _transform(wcs_from, wcs_to, gx, gy)
        pixmap[lo:hi, :, 0] = xo
        pixmap[lo:hi, :, 1] = yo
    return pixmap


def _nodes(n: int, step: int) -> np.ndarray:
    nodes = np.arange(0, n, step, dtype=np.float64)
    if nodes[-1] != n - 1:
        if n - 1 - nodes[-1] < step / 2 and nodes.size > 1:
            nodes[-1] = n - 1  # avoid a sliver cell at the far edge
        else:
            nodes = np.append(nodes, float(n - 1))
    return nodes


#: Up to this many nodes an axis is fitted through its dense inverse matrix
#: (one BLAS product for all rows), beyond it by a banded solve.
_DENSE_FIT_MAX = 1024


class _AxisFit:
    """Not-a-knot cubic interpolation along one axis, reusable for many arrays."""

    def __init__(self, nodes: np.ndarray) -> None:
        from scipy.interpolate import make_interp_spline

        self.nodes = nodes
        self.matrix = None
        if nodes.size <= _DENSE_FIT_MAX:
            unit = make_interp_spline(nodes, np.eye(nodes.size), k=3, axis=0)
            self.t, self.matrix = unit.t, unit.c  # coefficients = matrix @ values

    def __call__(self, values: np.ndarray, axis: int):
        from scipy.interpolate import BSpline, make_interp_spline

        if self.matrix is None:
            return make_interp_spline(self.nodes, values, k=3, axis=axis)
        coef = self.matrix @ values if axis == 0 else values @ self.matrix.T
        return BSpline(self.t, coef, 3, axis=axis)


class _GridSpline:
    """Tensor-product cubic spline (not-a-knot) through values on a node grid.

    The coefficients are solved along y on the coarse grid, then the
    coefficient rows are interpolated along x; evaluating the result at any
    column gives the y-spline coefficients of that column (tensor-product
    splines commute), so no solve ever involves a full-width image row.
    """

    def __init__(self, fit_x: _AxisFit, fit_y: _AxisFit, values: np.ndarray) -> None:
        along_y = fit_y(values, axis=0)
        self.t = along_y.t
        self.coef_along_x = fit_x(np.asarray(along_y.c), axis=1)

    def y_spline(self, xq: np.ndarray):
        """The spline along y through the columns ``xq``."""
        from scipy.interpolate import BSpline

        return BSpline(self.t, self.coef_along_x(xq), 3, axis=0)

    def __call__(self, xq: np.ndarray, yq: np.ndarray) -> np.ndarray:
        """Values on the tensor grid ``yq`` x ``xq``."""
        return self.y_spline(xq)(yq)


def _held_out(nodes: np.ndarray, n: int, rng: np.random.Generator, count: int) -> np.ndarray:
    if nodes.size == n:  # every pixel is a node: check whole pixels only
        return np.unique(rng.integers(0, n, size=count)).astype(np.float64)
    mids = 0.5 * (nodes[:-1] + nodes[1:])
    extra = rng.uniform(0.0, n - 1.0, size=count)
    return np.unique(np.concatenate([mids, extra]))


def _fast(wcs_from: Any, wcs_to: Any, shape: tuple[int, int],
          tolerance: float) -> PixmapPlan:
    ny, nx = shape
    if ny * nx < _FAST_MIN_PIXELS or nx < 16 or ny < 16:
        return PixmapPlan(shape, "exact", 0.0, pixmap=_exact(wcs_from, wcs_to, shape),
                          fallback_reason="image too small for the sparse grid")
    rng = np.random.default_rng(20240917)
    worst = math.inf
    for sx, sy in _FAST_STEPS:
        if sx * 4 > nx or sy * 4 > ny:
            continue
        xs, ys = _nodes(nx, sx), _nodes(ny, sy)
        hx = _held_out(xs, nx, rng, 64 if sx == 1 else 32)
        hy = _held_out(ys, ny, rng, 64 if sy == 1 else 32)
        # one exact call for the node grid and the held-out grid
        gx, gy = np.meshgrid(xs, ys)
        hgx, hgy = np.meshgrid(hx, hy)
        mx, my = _transform(wcs_from, wcs_to, np.concatenate([gx.ravel(), hgx.ravel()]),
                            np.concatenate([gy.ravel(), hgy.ravel()]))
        if not (np.isfinite(mx).all() and np.isfinite(my).all()):
            pm = _exact(wcs_from, wcs_to, shape)
            return PixmapPlan(shape, "exact", 0.0, pixmap=pm, fallback_reason="transform "
                              "undefined (NaN) in part of the image")
        nnode = gx.size
        fit_x, fit_y = _AxisFit(xs), _AxisFit(ys)
        fx = _GridSpline(fit_x, fit_y, mx[:nnode].reshape(gx.shape))
        fy = _GridSpline(fit_x, fit_y, my[:nnode].reshape(gx.shape))
        err_x = fx(hx, hy) - mx[nnode:].reshape(hgx.shape)
        err_y = fy(hx, hy) - my[nnode:].reshape(hgx.shape)
        worst = float(np.sqrt(err_x * err_x + err_y * err_y).max())
        n_checked = hgx.size
        log.debug("calc_pixmap fast: step (%d, %d), max error %.3g px at %d held-out points",
                  sx, sy, worst, n_checked)
        if worst <= _SAFETY * tolerance:
            xq = np.arange(nx, dtype=np.float64)
            rows, splines = _row_plan(fx, fy, xq, ny)
            log.info("calc_pixmap fast: %d x %d map from a (%d, %d)-px grid, measured max "
                     "error %.2g px (tolerance %g)", nx, ny, sx, sy, worst, tolerance)
            return PixmapPlan(shape, "fast", worst, rows=rows, splines=splines, step=(sx, sy),
                              n_checked=n_checked)
    reason = (f"sparse-grid error {worst:.3g} px exceeds {_SAFETY:g} x tolerance "
              f"({tolerance:g} px) at every grid step tried")
    log.info("calc_pixmap fast: %s; computing the exact map", reason)
    return PixmapPlan(shape, "exact", 0.0, pixmap=_exact(wcs_from, wcs_to, shape),
                      fallback_reason=reason)


def _row_plan(fx: _GridSpline, fy: _GridSpline, xq: np.ndarray, ny: int
              ) -> tuple[tuple | None, tuple | None]:
    """What evaluating both splines at every pixel needs: ``(rows, None)`` for the
    OpenMP row kernel (coefficient rows, first row and 4 weights per image
    row), or ``(None, (sx, sy))`` to evaluate with scipy."""
    from scipy.interpolate import BSpline

    sx = fx.y_spline(xq)
    sy = fy.y_spline(xq)
    yq = np.arange(ny, dtype=np.float64)
    basis = BSpline.design_matrix(yq, sx.t, 3).tocsr()
    counts = np.diff(basis.indptr)
    if basis.shape[0] != ny or not np.all(counts == 4):
        # not the expected 4 entries per row: evaluate with scipy instead
        return None, (sx, sy)
    cols = basis.indices.reshape(ny, 4)
    order = np.argsort(cols, axis=1)
    cols = np.take_along_axis(cols, order, axis=1)
    weights = np.take_along_axis(basis.data.reshape(ny, 4), order, axis=1)
    if not np.all(np.diff(cols, axis=1) == 1):
        return None, (sx, sy)
    start = np.ascontiguousarray(cols[:, 0], dtype=np.intp)
    return (np.ascontiguousarray(sx.c, dtype=np.float64),
            np.ascontiguousarray(sy.c, dtype=np.float64),
            start, np.ascontiguousarray(weights, dtype=np.float64)), None


def calc_pixmap_with_error(
    wcs_from: Any,
    wcs_to: Any,
    shape: tuple[int, int] | None = None,
    disable_bbox: str = "to",
    *,
    mode: str = "exact",
    tolerance: float = 0.01,
    num_threads: int | None = None,
) -> PixmapResult:
    """Like :func:`calc_pixmap`, returning the map with its measured accuracy.

    Parameters
    ----------
    wcs_from : APE-14 WCS
        As for :func:`calc_pixmap`.
    wcs_to : APE-14 WCS
        As for :func:`calc_pixmap`.
    shape : tuple of int, optional
        As for :func:`calc_pixmap`.
    disable_bbox : {"to", "from", "both", "none"}, optional
        As for :func:`calc_pixmap`.
    mode : {"exact", "fast"}, optional
        As for :func:`calc_pixmap`.
    tolerance : float, optional
        As for :func:`calc_pixmap`.
    num_threads : int, optional
        As for :func:`calc_pixmap`.

    Returns
    -------
    PixmapResult
        The pixel map, the mode actually used, the measured maximum error of
        the fast mode and, if a fast request fell back to the exact map, why.

    Raises
    ------
    PixmapError
        As for :func:`calc_pixmap`.
    """
    nthreads = resolve_num_threads(num_threads)
    plan = calc_pixmap_plan(wcs_from, wcs_to, shape, disable_bbox, mode=mode,
                            tolerance=tolerance)
    return PixmapResult(plan.evaluate(num_threads=nthreads), plan.mode, plan.max_error,
                        step=plan.step, n_checked=plan.n_checked,
                        fallback_reason=plan.fallback_reason)


def calc_pixmap_plan(
    wcs_from: Any,
    wcs_to: Any,
    shape: tuple[int, int] | None = None,
    disable_bbox: str = "to",
    *,
    mode: str = "exact",
    tolerance: float = 0.01,
) -> PixmapPlan:
    """Everything :func:`calc_pixmap` does except writing the map: a reusable plan.

    A fast-mode plan keeps the spline coefficients only (a few MB for a
    4096 x 2048 chip instead of 134 MB), and :meth:`PixmapPlan.evaluate`
    writes the map into any buffer, with the values :func:`calc_pixmap`
    returns for the same arguments.

    Parameters
    ----------
    wcs_from, wcs_to, shape, disable_bbox, mode, tolerance
        As for :func:`calc_pixmap`.

    Returns
    -------
    PixmapPlan

    Raises
    ------
    PixmapError
        As for :func:`calc_pixmap`.
    """
    _check_ape14(wcs_from, "wcs_from")
    _check_ape14(wcs_to, "wcs_to")
    if disable_bbox not in _BBOX_CHOICES:
        raise PixmapError(
            f"disable_bbox must be one of {', '.join(_BBOX_CHOICES)} (got {disable_bbox!r})"
        )
    if mode not in ("exact", "fast"):
        raise PixmapError(f"mode must be 'exact' or 'fast' (got {mode!r})")
    try:
        tolerance = float(tolerance)
    except (TypeError, ValueError):
        raise PixmapError(f"tolerance must be a number (got {tolerance!r})") from None
    if not (tolerance > 0.0 and math.isfinite(tolerance)):
        raise PixmapError(f"tolerance must be positive and finite (got {tolerance})")

    bbox_from, ftuple_from = _get_bbox(wcs_from)
    bbox_to, ftuple_to = _get_bbox(wcs_to)
    dims = _resolve_shape(wcs_from, shape, ftuple_from)

    removed = []
    try:
        if disable_bbox in ("from", "both") and bbox_from is not None:
            wcs_from.bounding_box = None
            removed.append((wcs_from, bbox_from, ftuple_from))
        if disable_bbox in ("to", "both") and bbox_to is not None:
            wcs_to.bounding_box = None
            removed.append((wcs_to, bbox_to, ftuple_to))
        if mode == "exact":
            result = PixmapPlan(dims, "exact", 0.0, pixmap=_exact(wcs_from, wcs_to, dims))
        else:
            result = _fast(wcs_from, wcs_to, dims, tolerance)
    finally:
        for wcs, original, ftuple in removed:
            _restore_bbox(wcs, original, ftuple)
    return result


def calc_pixmap(
    wcs_from: Any,
    wcs_to: Any,
    shape: tuple[int, int] | None = None,
    disable_bbox: str = "to",
    *,
    mode: str = "exact",
    tolerance: float = 0.01,
    num_threads: int | None = None,
) -> np.ndarray:
    """Map every pixel of one image onto the pixel grid of another.

    Parameters
    ----------
    wcs_from : APE-14 WCS
        WCS of the image whose pixels are mapped.
    wcs_to : APE-14 WCS
        WCS of the image the pixels are mapped onto.
    shape : tuple of int, optional
        ``(ny, nx)`` of the map.  Default: ``wcs_from.array_shape``, else the
        extent of ``wcs_from``'s bounding box.
    disable_bbox : {"to", "from", "both", "none"}, optional
        Bounding boxes (gwcs) removed for the computation and restored
        afterwards, also on error, as in drizzle 3.0: with a bounding box in
        place, positions outside it map to NaN.  Default ``"to"``.  Because
        the WCS objects are modified meanwhile, do not share them with other
        threads during the call.
    mode : {"exact", "fast"}, optional
        ``"fast"`` evaluates the WCS on a sparse grid and interpolates it,
        checked at held-out points against ``tolerance`` (see the module
        documentation); it falls back to the exact map when it cannot reach
        the tolerance or when the transform is undefined somewhere.
    tolerance : float, optional
        Largest accepted error of the fast mode, in pixels.  Default 0.01.
    num_threads : int, optional
        Threads used to evaluate the fast-mode interpolant; None means
        ``OMP_NUM_THREADS`` or all cores.  The result does not depend on it.

    Returns
    -------
    numpy.ndarray
        Array of shape ``(ny, nx, 2)``, float64: 0-based ``(x, y)`` in
        ``wcs_to`` pixels, NaN where the transform is undefined.

    Raises
    ------
    PixmapError
        If a WCS lacks the APE-14 methods, the shape cannot be determined or
        is invalid, or an option has an invalid value.
    """
    return calc_pixmap_with_error(
        wcs_from, wcs_to, shape, disable_bbox, mode=mode, tolerance=tolerance,
        num_threads=num_threads,
    ).pixmap


def _pixel_scale(wcs: Any, refpix: Any) -> float:
    if refpix is None:
        _, ftuple = _get_bbox(wcs)
        if ftuple is not None:
            refpix = np.mean(np.asarray(ftuple, dtype=np.float64), axis=-1)
        elif getattr(wcs, "pixel_shape", None):
            refpix = np.array([(n - 1) // 2 for n in wcs.pixel_shape], dtype=np.float64)
        else:
            refpix = np.zeros(getattr(wcs, "pixel_n_dim", 2))
    else:
        refpix = np.asarray(refpix, dtype=np.float64)
    if refpix.shape != (2,):
        raise PixmapError(f"reference pixel must be (x, y) (got {refpix!r})")
    corners = np.array([[-0.5, -0.5], [-0.5, 0.5], [0.5, 0.5], [0.5, -0.5]]) + refpix
    lon, lat = wcs.pixel_to_world_values(corners[:, 0], corners[:, 1])
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.sin(_DEG2RAD * np.asarray(lat, dtype=np.float64))
    # area of the projected pixel on the unit sphere (JPL approximation)
    area = _DEG2RAD * abs(0.5 * ((lon[3] - lon[1]) * (lat[0] - lat[2])
                                 + (lon[0] - lon[2]) * (lat[1] - lat[3])))
    if not (area > 0.0 and math.isfinite(area)):
        raise PixmapError(f"cannot estimate the pixel scale at reference pixel {refpix.tolist()}")
    return math.sqrt(area)


def estimate_pixel_scale_ratio(
    wcs_from: Any,
    wcs_to: Any,
    refpix_from: Any = None,
    refpix_to: Any = None,
) -> float:
    """Ratio of the pixel scale of ``wcs_to`` to that of ``wcs_from``.

    Each scale is the square root of the sky area of one pixel centred on the
    reference pixel: ``refpix_*`` when given, else the centre of the WCS's
    bounding box, else pixel ``((n - 1) // 2)`` along each axis of
    ``pixel_shape``, else pixel (0, 0) (as drizzle 3.0).

    Parameters
    ----------
    wcs_from, wcs_to : APE-14 WCS
        Celestial WCS objects (world values in degrees).
    refpix_from, refpix_to : array_like of 2 floats, optional
        0-based ``(x, y)`` reference pixels.

    Returns
    -------
    float
        ``scale(wcs_to) / scale(wcs_from)``.

    Raises
    ------
    PixmapError
        If a WCS lacks the APE-14 methods or a pixel area is not positive.
    """
    _check_ape14(wcs_from, "wcs_from")
    _check_ape14(wcs_to, "wcs_to")
    return _pixel_scale(wcs_to, refpix_to) / _pixel_scale(wcs_from, refpix_from)
