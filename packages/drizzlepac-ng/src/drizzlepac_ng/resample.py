"""Drizzle resampling: a drop-in superset of ``drizzle.resample`` / ``drizzle.utils`` 3.0.

Code written for the ``drizzle`` package ports by changing the import::

    from drizzlepac_ng.resample import Drizzle, blot_image, calc_pixmap, decode_context

:class:`Drizzle` accumulates any number of input images onto one output grid
(science, weight, context, optional squared-weight planes such as variance
and an OR-combined DQ array).  The arithmetic runs in the compiled kernels of
:mod:`drizzlepac_ng.kernels._drizzle` (GIL released, OpenMP); see
:mod:`drizzlepac_ng.drizzle_kernels` for what each kernel conserves.

Determinism
-----------
Output rows are split into bands and every band walks the input in input
order, so every output pixel receives its contributions in the same order for
any ``num_threads``: outputs are bit-identical for 1, 2, 4... threads.  Sums
are formed in float64 per band and merged into the float32 outputs once per
``add_image`` call.

Supersets of ``drizzle`` 3.0
----------------------------
* kernels ``lanczos5`` and ``tophat`` (see :data:`SUPPORTED_KERNELS`);
* ``num_threads`` on :class:`Drizzle`;
* ``mask`` (bad-pixel mask) on :meth:`Drizzle.add_image`;
* ``pixel_scale_ratio=None`` estimates the ratio from the pixel map.

Deliberate differences (see the user guide page "Drizzle kernels")
-------------------------------------------------------------------
* Without ``out_shape``/outputs, the shape taken from the first pixel map is
  ``(ny, nx)``; drizzle 3.0 returns it transposed.
* A failing :meth:`Drizzle.add_image` leaves the object unchanged (drizzle
  3.0 consumes a context id before checking ``exptime``).
* NaN (or infinite) data, weights or ``data2`` values make the input pixel
  skip (no weight, no context); drizzle lets NaN reach the output.
* ``in_units`` must be ``'cps'`` or ``'counts'``; drizzle treats any other
  string as counts.
* Errors are :class:`~drizzlepac_ng.errors.KernelArgumentError` /
  :class:`~drizzlepac_ng.errors.ConfigError`, both ``ValueError``
  subclasses (drizzle raises ``TypeError`` for a bad DQ dtype).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence

import numpy as np

from .blot import blot_image
from .drizzle_kernels import (
    SUPPORTED_KERNELS,
    _real_array,
    drizzle_add,
    estimate_pixmap_scale_ratio,
)
from .errors import ConfigError, KernelArgumentError
from .pixmap import calc_pixmap, estimate_pixel_scale_ratio

log = logging.getLogger(__name__)

__all__ = [
    "CTX_PLANE_BITS",
    "SUPPORTED_KERNELS",
    "Drizzle",
    "blot_image",
    "calc_pixmap",
    "decode_context",
    "estimate_pixel_scale_ratio",
    "estimate_pixmap_scale_ratio",
]

#: Number of input images recorded per int32 context plane.
CTX_PLANE_BITS = 32

_DEPRECATED = object()


def _process_fillval(out_img, fillval) -> str:
    """Normalise a fill value to drizzle's string convention."""
    if fillval is None:
        fv = "INDEF"
    elif isinstance(fillval, str):
        fv = fillval.strip()
        if fv.upper() in ("", "INDEF"):
            fv = "INDEF"
        else:
            try:
                float(fv)
            except ValueError as exc:
                raise ConfigError(
                    f"fill value {fillval!r} is neither a number nor 'INDEF'"
                ) from exc
    else:
        try:
            fv = str(float(fillval))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"fill value {fillval!r} is neither a number nor 'INDEF'") from exc
    if out_img is None and fv == "INDEF":
        fv = "NaN"
    return fv


def _fill_number(fv: str) -> float | None:
    """The number to write into uncovered pixels, or None for INDEF."""
    if fv.upper() == "INDEF":
        return None
    return float(fv)


def _init_value(fv: str) -> float:
    return np.nan if fv.upper() in ("INDEF", "NAN") else float(fv)


class Drizzle:
    """Accumulate input images onto one output grid with a drizzle kernel.

    Parameters
    ----------
    kernel : str
        One of :data:`SUPPORTED_KERNELS` (case-insensitive).
    fillval : float, str or None
        Value of output pixels that receive no input.  ``None`` or ``"INDEF"``
        leave a provided ``out_img`` untouched there (NaN when this class
        allocates ``out_img``).
    fillval2 : float, str or None
        The same for ``out_img2``.
    out_shape : tuple of int, optional
        ``(ny, nx)`` of the output; else taken from the provided arrays or
        from the first pixel map.
    out_img, out_wht, out_ctx, out_dq : ndarray, optional
        Arrays to continue from (updated in place when already float32 /
        int32 / uint32 and C-contiguous).  ``out_ctx`` may be 2-D or 3-D.
    out_img2 : ndarray or list of ndarray/None, optional
        Squared-weight outputs to continue from.
    exptime : float
        Exposure time already in the provided outputs (0 for a fresh start).
    begin_ctx_id : int
        Context id (0-based) of the first image added.
    max_ctx_id : int, optional
        Pre-allocates context planes up to this id; more are added as needed.
    disable_ctx : bool
        Do not keep a context image.
    num_threads : int or None
        OpenMP threads for the kernels; None uses ``OMP_NUM_THREADS`` or every
        core.  Results do not depend on it.

    Raises
    ------
    ConfigError
        Inconsistent parameters (bad kernel, negative ``exptime``...).
    KernelArgumentError
        Inconsistent array shapes or dtypes.
    """

    def __init__(
        self,
        kernel: str = "square",
        fillval=None,
        fillval2=None,
        out_shape: Sequence[int] | None = None,
        out_img=None,
        out_wht=None,
        out_ctx=None,
        out_img2=None,
        out_dq=None,
        exptime: float = 0.0,
        begin_ctx_id: int = 0,
        max_ctx_id: int | None = None,
        disable_ctx: bool = False,
        num_threads: int | None = None,
    ) -> None:
        self._ncoadds = 0
        self._num_threads = num_threads
        self._prefilled: set[int] = set()  # id() of arrays allocated here with the fill value
        self._disable_ctx = bool(disable_ctx)
        if self._disable_ctx:
            self._ctx_id = None
            self._max_ctx_id = None
        else:
            if int(begin_ctx_id) < 0:
                raise ConfigError(
                    f"invalid context image id begin_ctx_id={begin_ctx_id} (must be >= 0)"
                )
            self._ctx_id = int(begin_ctx_id)
            if max_ctx_id is None:
                max_ctx_id = self._ctx_id
            elif int(max_ctx_id) < self._ctx_id:
                raise ConfigError(
                    f"'max_ctx_id' ({max_ctx_id}) cannot be smaller than "
                    f"'begin_ctx_id' ({begin_ctx_id})"
                )
            self._max_ctx_id = int(max_ctx_id)

        exptime = float(exptime)
        if not exptime >= 0.0:
            raise ConfigError(f"exposure time must be non-negative (got {exptime})")
        if exptime > 0.0 and out_img is None and out_ctx is None and out_wht is None:
            raise ConfigError(
                "exposure time must be 0.0 for the first resampling "
                "(when no output resampled images have been provided)"
            )
        if exptime == 0.0 and (
            (out_ctx is not None and np.any(np.asarray(out_ctx) != 0))
            or (out_wht is not None and np.any(np.asarray(out_wht) > 0))
        ):
            raise ConfigError(
                "inconsistent exposure time and context/weight images: exptime cannot be 0 "
                "when the context and/or weight arrays are non-zero"
            )
        self._texptime = exptime

        if not isinstance(kernel, str) or kernel.strip().lower() not in SUPPORTED_KERNELS:
            raise ConfigError(
                f"kernel {kernel!r} is not supported; choose one of {', '.join(SUPPORTED_KERNELS)}"
            )
        self._kernel = kernel

        self._fillval = _process_fillval(out_img, fillval)
        self._fillval2 = _process_fillval(out_img2, fillval2)

        shapes: set[tuple[int, ...]] = set()
        if out_img is not None:
            out_img = np.ascontiguousarray(out_img, dtype=np.float32)
            shapes.add(out_img.shape)
        if out_wht is not None:
            out_wht = np.ascontiguousarray(out_wht, dtype=np.float32)
            shapes.add(out_wht.shape)
        if out_ctx is not None:
            out_ctx = np.ascontiguousarray(out_ctx, dtype=np.int32)
            if out_ctx.ndim == 2:
                out_ctx = out_ctx[None, :, :].copy()
            elif out_ctx.ndim != 3:
                raise KernelArgumentError(
                    f"'out_ctx' must be a 2-D or 3-D array (got shape {out_ctx.shape})"
                )
            shapes.add(out_ctx.shape[1:])
        self._out_dq = None
        if out_dq is not None:
            dqa = np.asarray(out_dq)
            if dqa.dtype.kind not in "biu" or dqa.dtype.itemsize > 4:
                raise KernelArgumentError(
                    "'out_dq' must be an integer array with items of at most 4 bytes "
                    f"(got {dqa.dtype})"
                )
            self._out_dq = np.ascontiguousarray(dqa, dtype=np.uint32)
            shapes.add(self._out_dq.shape)
        if out_shape is not None:
            try:
                shapes.add(tuple(int(n) for n in out_shape))
            except (TypeError, ValueError) as exc:
                raise ConfigError(
                    f"'out_shape' must be a pair of integers (got {out_shape!r})"
                ) from exc
        for shp in shapes:
            if len(shp) != 2 or min(shp) < 1:
                raise KernelArgumentError(f"output shape {shp} is not a non-empty 2-D shape")

        self._out_img = self._out_wht = self._out_ctx = None
        if len(shapes) == 1:
            self._out_shape = next(iter(shapes))
            self._alloc_output_arrays(out_img, out_wht, out_ctx)
        elif len(shapes) > 1:
            raise KernelArgumentError(
                "inconsistent shapes: 'out_shape' and/or out_img, out_wht, out_ctx, out_dq "
                f"have different shapes {sorted(shapes)}"
            )
        else:
            self._out_shape = None

        self._out_img2: list | None = None
        if out_img2 is not None:
            lst = [out_img2] if isinstance(out_img2, np.ndarray) else list(out_img2)
            conv = []
            for k, img in enumerate(lst):
                if img is None:
                    conv.append(None)
                    continue
                arr = np.ascontiguousarray(img, dtype=np.float32)
                if self._out_shape is not None and arr.shape != self._out_shape:
                    raise KernelArgumentError(
                        f"'out_img2[{k}]' has shape {arr.shape}, "
                        f"not the output shape {self._out_shape}"
                    )
                if self._out_shape is None:
                    self._out_shape = arr.shape
                    self._alloc_output_arrays(None, None, None)
                conv.append(arr)
            if self._out_shape is not None:
                conv = [
                    self._new_filled(self._out_shape, self._fillval2) if a is None else a
                    for a in conv
                ]
            self._out_img2 = conv

    # ------------------------------------------------------------------ setup
    def _alloc_output_arrays(self, out_img, out_wht, out_ctx) -> None:
        shape = self._out_shape
        self._out_wht = np.zeros(shape, np.float32) if out_wht is None else out_wht
        if self._disable_ctx:
            self._out_ctx = None
        else:
            if out_ctx is None:
                nplanes = self._max_ctx_id // CTX_PLANE_BITS + 1
                self._out_ctx = np.zeros((nplanes,) + tuple(shape), np.int32)
            else:
                self._out_ctx = out_ctx
            if out_wht is not None or out_ctx is not None:
                if np.any((self._out_wht > 0) ^ np.any(self._out_ctx != 0, axis=0)):
                    raise KernelArgumentError(
                        "inconsistent 'out_wht' and 'out_ctx': pixels with non-zero context "
                        "must have positive weight and vice versa"
                    )
        if out_img is None:
            self._out_img = self._new_filled(shape, self._fillval)
        else:
            self._out_img = out_img

    def _new_filled(self, shape, fillval: str) -> np.ndarray:
        arr = np.full(shape, _init_value(fillval), np.float32)
        self._prefilled.add(id(arr))
        return arr

    # -------------------------------------------------------------- properties
    @property
    def fillval(self) -> str:
        """Fill value of uncovered output pixels (drizzle's string form)."""
        return self._fillval

    @property
    def fillval2(self) -> str:
        """Fill value of uncovered pixels of ``out_img2``."""
        return self._fillval2

    @property
    def kernel(self) -> str:
        """Resampling kernel name, as given."""
        return self._kernel

    @property
    def ctx_id(self) -> int | None:
        """Context id (0-based) of the next image to be added; None when disabled."""
        return self._ctx_id

    @property
    def out_img(self) -> np.ndarray | None:
        """Output science image (float32)."""
        return self._out_img

    @property
    def out_wht(self) -> np.ndarray | None:
        """Output weight image (float32)."""
        return self._out_wht

    @property
    def out_ctx(self) -> np.ndarray | None:
        """Output context image: int32 array of shape (nplanes, ny, nx)."""
        return self._out_ctx

    @property
    def out_img2(self) -> list | None:
        """Outputs resampled with squared weights: a list of float32 arrays (or None)."""
        return self._out_img2

    @property
    def out_dq(self) -> np.ndarray | None:
        """Bitwise OR of the DQ of contributing input pixels (uint32), if any DQ was given."""
        return self._out_dq

    @property
    def total_exptime(self) -> float:
        """Total exposure time of the resampled images."""
        return self._texptime

    @property
    def num_threads(self) -> int | None:
        """Thread count given at construction (None: automatic)."""
        return self._num_threads

    # ------------------------------------------------------------------- add
    def add_image(
        self,
        data,
        exptime: float,
        pixmap,
        data2=None,
        dq=None,
        scale=_DEPRECATED,
        iscale: float = 1.0,
        pixel_scale_ratio: float | None = 1.0,
        weight_map=None,
        wht_scale: float = 1.0,
        pixfrac: float = 1.0,
        in_units: str = "cps",
        xmin: int | None = None,
        xmax: int | None = None,
        ymin: int | None = None,
        ymax: int | None = None,
        *,
        mask=None,
    ) -> tuple[int, int]:
        """Resample one image onto the output grid.

        Parameters
        ----------
        data : array_like, 2-D
            Input image.
        exptime : float
            Exposure time of the input, > 0; added to ``total_exptime``.
        pixmap : array_like of shape ``data.shape + (2,)``
            0-based output (x, y) of every input pixel centre (NaN: unmapped).
        data2 : array_like or list of (array_like or None), optional
            Planes resampled with squared weights (e.g. variance).
        dq : array_like of integers (<= 32 bits), optional
            Input DQ flags, OR-combined into ``out_dq``.
        scale : float, optional
            Deprecated: ``iscale = scale**2`` and ``pixel_scale_ratio = scale``.
        iscale : float
            Multiplies ``data`` (``data2`` by ``iscale**2``).
        pixel_scale_ratio : float or None
            Output/input linear pixel size (kernel size of turbo, gaussian,
            lanczos, tophat); None estimates it from ``pixmap``.
        weight_map : array_like, optional
            Input pixel weights (default 1).
        wht_scale : float
            Multiplies ``weight_map``.
        pixfrac : float
            Linear drop size in input pixels.
        in_units : {'cps', 'counts'}
            ``'counts'`` divides ``data`` by ``exptime`` (``data2`` by its square).
        xmin, xmax, ymin, ymax : int or None
            Inclusive 0-based input sub-region.
        mask : array_like of bool, optional
            True marks bad input pixels (extension to ``drizzle``).

        Returns
        -------
        nmiss, nskip : int
            Input pixels (and rows) of the sub-region that reached no output pixel.

        Raises
        ------
        ConfigError
            ``exptime`` <= 0, unknown ``in_units``, data2 count mismatch.
        KernelArgumentError
            Bad array shapes, dtypes or values.
        """
        if scale is not _DEPRECATED:
            warnings.warn(
                "'scale' is deprecated; use iscale=scale**2 and pixel_scale_ratio=scale",
                DeprecationWarning,
                stacklevel=2,
            )
            iscale = float(scale) ** 2
            pixel_scale_ratio = float(scale)
        try:
            exptime = float(exptime)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"'exptime' must be a number (got {exptime!r})") from exc
        if not exptime > 0.0 or not np.isfinite(exptime):
            raise ConfigError(f"'exptime' must be a strictly positive number (got {exptime})")
        units = str(in_units).strip().lower()
        if units not in ("cps", "counts"):
            raise ConfigError(f"in_units must be 'cps' or 'counts' (got {in_units!r})")
        expscale = exptime if units == "counts" else 1.0

        data_arr = _real_array("data", data, 2)
        pm = _real_array("pixmap", pixmap, 3)
        if pm.shape != data_arr.shape + (2,):
            raise KernelArgumentError(
                f"'pixmap' has shape {pm.shape}; expected {data_arr.shape + (2,)} "
                "(the shape of 'data' plus 2)"
            )

        # data2 as a list (None entries allowed)
        if data2 is None:
            d2list = None
        elif isinstance(data2, np.ndarray):
            d2list = [_real_array("data2", data2, 2)]
        else:
            try:
                d2list = [None if (d is None or np.size(d) == 0) else d for d in data2]
            except (TypeError, ValueError) as exc:
                raise KernelArgumentError(
                    f"'data2' must be an array, a list of arrays or None ({exc})"
                ) from exc
        n2 = None if d2list is None else len(d2list)

        if self._out_shape is None:
            pm = np.asarray(pm, dtype=np.float64)
            with np.errstate(invalid="ignore"):
                finite = np.isfinite(pm).all(axis=2)
            if not finite.any():
                raise KernelArgumentError(
                    "cannot derive the output shape: 'pixmap' has no finite entries "
                    "(give 'out_shape')"
                )
            xs, ys = pm[..., 0][finite], pm[..., 1][finite]
            x0, x1 = int(np.floor(xs.min())), int(np.ceil(xs.max()))
            y0, y1 = int(np.floor(ys.min())), int(np.ceil(ys.max()))
            pm = pm.copy()
            pm[..., 0] -= x0
            pm[..., 1] -= y0
            self._out_shape = (y1 - y0 + 1, x1 - x0 + 1)
            self._alloc_output_arrays(None, None, None)
            log.debug("output shape %s derived from the pixel map", self._out_shape)

        # squared-weight outputs
        if self._out_img2 is None:
            if n2:
                if self._ncoadds > 0:
                    raise ConfigError(
                        "mismatch between the number of 'out_img2' images and the number of "
                        "'data2' inputs (data2 given after images without it)"
                    )
                self._out_img2 = [
                    self._new_filled(self._out_shape, self._fillval2) for _ in range(n2)
                ]
        else:
            self._out_img2 = [
                self._new_filled(self._out_shape, self._fillval2) if a is None else a
                for a in self._out_img2
            ]
            if (n2 or 0) != len(self._out_img2):
                raise ConfigError(
                    f"mismatch between the number of 'out_img2' images ({len(self._out_img2)}) "
                    f"and of 'data2' inputs ({n2 or 0})"
                )
        if d2list is None and self._out_img2:
            d2list = [None] * len(self._out_img2)

        # context plane (committed only on success)
        ctx = self._out_ctx
        ctx_plane = None
        bit = 0
        if not self._disable_ctx:
            plane_no, bit = divmod(self._ctx_id, CTX_PLANE_BITS)
            if plane_no >= ctx.shape[0]:
                extra = np.zeros((plane_no + 1 - ctx.shape[0],) + tuple(self._out_shape), np.int32)
                ctx = np.concatenate([ctx, extra], axis=0)
            ctx_plane = ctx[plane_no]

        out_dq = self._out_dq
        if dq is not None and out_dq is None:
            out_dq = np.zeros(self._out_shape, np.uint32)

        nmiss, nskip = drizzle_add(
            data_arr,
            pm,
            self._out_img,
            self._out_wht,
            weight_map=weight_map,
            mask=mask,
            data2=d2list,
            out_img2=self._out_img2 if d2list is not None else None,
            dq=dq,
            out_dq=out_dq if dq is not None else None,
            out_ctx=ctx_plane,
            ctx_bit=bit,
            kernel=self._kernel,
            pixfrac=pixfrac,
            pixel_scale_ratio=pixel_scale_ratio,
            iscale=iscale,
            wht_scale=wht_scale,
            expscale=expscale,
            xmin=xmin,
            xmax=xmax,
            ymin=ymin,
            ymax=ymax,
            num_threads=self._num_threads,
        )

        # commit
        if not self._disable_ctx:
            self._out_ctx = ctx
            self._ctx_id += 1
        if dq is not None:
            self._out_dq = out_dq
        self._texptime += exptime
        self._ncoadds += 1

        # Pixels that never received weight are never written by the kernels,
        # so arrays this class allocated already hold the fill value there.
        fill = _fill_number(self._fillval)
        if fill is not None and id(self._out_img) not in self._prefilled:
            np.copyto(self._out_img, np.float32(fill), where=self._out_wht == 0)
        fill2 = _fill_number(self._fillval2)
        if fill2 is not None and self._out_img2:
            uncovered = None
            for arr in self._out_img2:
                if id(arr) in self._prefilled:
                    continue
                if uncovered is None:
                    uncovered = self._out_wht == 0
                np.copyto(arr, np.float32(fill2), where=uncovered)
        return nmiss, nskip


def decode_context(context, x, y) -> list[np.ndarray]:
    """Indices of the input images that contributed to output pixels.

    Parameters
    ----------
    context : ndarray, 3-D, integer
        Context image of shape (nplanes, ny, nx); bit ``b`` of plane ``p``
        stands for input image ``32 * p + b`` (for int32 planes).
    x, y : int or 1-D sequence of int
        Pixel coordinates (x: last axis, y: middle axis).

    Returns
    -------
    list of ndarray
        One sorted int64 array of 0-based image indices per coordinate pair.

    Raises
    ------
    KernelArgumentError
        Non-3-D or non-integer context, coordinate arrays of different
        lengths, non-integer or out-of-range coordinates.
    """
    context = np.asarray(context)
    if context.ndim != 3:
        raise KernelArgumentError(f"'context' must be a 3-D array (got shape {context.shape})")
    if context.dtype.kind not in "iu":
        raise KernelArgumentError(f"'context' must be an integer array (got {context.dtype})")
    x = np.atleast_1d(np.asarray(x))
    y = np.atleast_1d(np.asarray(y))
    if x.ndim != 1 or y.ndim != 1:
        raise KernelArgumentError("coordinates must be scalars or 1-D arrays")
    if x.size != y.size:
        raise KernelArgumentError(
            f"coordinate arrays must have equal length (got {x.size} and {y.size})"
        )
    if x.size and not (x.dtype.kind in "iu" and y.dtype.kind in "iu"):
        raise KernelArgumentError("pixel coordinates must be integer values")
    ny, nx = context.shape[1:]
    if x.size and (x.min() < 0 or x.max() >= nx or y.min() < 0 or y.max() >= ny):
        raise KernelArgumentError(
            f"pixel coordinates outside the context image of shape {(ny, nx)}"
        )
    nbits = 8 * context.dtype.itemsize
    unsigned = context.view(np.dtype(f"u{context.dtype.itemsize}"))
    shifts = np.arange(nbits, dtype=unsigned.dtype)
    out = []
    for xi, yi in zip(x.tolist(), y.tolist(), strict=True):
        words = unsigned[:, yi, xi]
        bits = (words[:, None] >> shifts[None, :]) & 1
        out.append(np.flatnonzero(bits.ravel()).astype(np.int64))
    return out
