"""Validating wrapper around the compiled drizzle kernels.

:func:`drizzle_add` checks and converts every argument (dtypes, shapes,
finiteness of the scalars, the input sub-region), resolves ``num_threads``
and calls :func:`drizzlepac_ng.kernels._drizzle.drizzle_kernel`, which runs
without the GIL on OpenMP threads.  Bad input raises
:class:`~drizzlepac_ng.errors.KernelArgumentError` naming the argument; it
never reaches compiled code.

Kernels (``SUPPORTED_KERNELS``), with ``s`` the pixel-scale ratio (output
pixel size / input pixel size) and ``p`` the ``pixfrac``:

``square``
    The input pixel, shrunk by ``p`` about its centre, is mapped to a
    quadrilateral (its four corners interpolated bilinearly in the pixel-centre
    map) and shared among output pixels by exact area of overlap.  Weight and
    flux are conserved for any ``p`` and any map; ``s`` is not used.
``point``
    The whole value goes to the output pixel nearest to the mapped centre.
    Conserves weight and flux; ignores ``p`` and ``s``.
``turbo``
    An axis-aligned box of side ``p / s`` output pixels about the mapped
    centre, shared by area.  Conserves weight and flux; ignores rotation and
    distortion of the pixel shape.
``gaussian``
    A circular Gaussian of FWHM ``p / s`` output pixels, normalised to unit
    integral and truncated at 2.5 FWHM/2.3548 (at least ``1.2 / s``).
    Weight and flux are conserved only approximately (truncation, sampling).
``lanczos2``, ``lanczos3``, ``lanczos5``
    Separable Lanczos-a kernel of ``a / s`` output pixels radius, taken from a
    table sampled every 0.003 input pixels.  Not normalised: neither weight
    nor flux is conserved; ``p`` is ignored.
``tophat``
    Every output pixel whose centre lies within ``p / (2 s)`` of the mapped
    centre receives the full input weight.  Not normalised.

Every kernel forms the weighted mean ``out = (out*W + d*dw)/(W + dw)`` with
``d = data * iscale / expscale`` and ``dw`` the kernel weight times
``weight_map * wht_scale``; ``data2`` planes use squared weights; DQ values
are combined with bitwise OR; context bit ``ctx_bit`` is set where ``dw > 0``.
"""

from __future__ import annotations

import logging
import math
import operator
from collections.abc import Sequence

import numpy as np

from .errors import KernelArgumentError
from .kernels import resolve_num_threads
from .kernels._drizzle import drizzle_kernel

log = logging.getLogger(__name__)

__all__ = [
    "KERNEL_CODES",
    "SUPPORTED_KERNELS",
    "DrizzleCounts",
    "drizzle_add",
    "estimate_pixmap_scale_ratio",
]

#: Kernel names accepted by :func:`drizzle_add` and their codes in the compiled module.
KERNEL_CODES: dict[str, int] = {
    "square": 0,
    "point": 1,
    "turbo": 2,
    "gaussian": 3,
    "lanczos2": 4,
    "lanczos3": 5,
    "lanczos5": 6,
    "tophat": 7,
}

#: Supported drizzle kernels (a superset of ``drizzle`` 3.0's list).
SUPPORTED_KERNELS: list[str] = list(KERNEL_CODES)


class DrizzleCounts(tuple):
    """``(nmiss, nskip)`` as returned by ``drizzle``'s ``add_image``."""

    __slots__ = ()

    def __new__(cls, nmiss: int, nskip: int):
        return super().__new__(cls, (int(nmiss), int(nskip)))

    @property
    def nmiss(self) -> int:
        """Input pixels of the sub-region that reached no output pixel."""
        return self[0]

    @property
    def nskip(self) -> int:
        """Input rows of the sub-region from which no pixel reached the output."""
        return self[1]


def _real_array(name: str, value, ndim: int | None = None) -> np.ndarray:
    if value is None:
        raise KernelArgumentError(f"'{name}' is required")
    try:
        arr = np.asarray(value)
    except Exception as exc:
        raise KernelArgumentError(f"'{name}' cannot be converted to an array: {exc}") from exc
    if arr.dtype.kind not in "biuf":
        raise KernelArgumentError(f"'{name}' must hold real numbers (got dtype {arr.dtype})")
    if ndim is not None and arr.ndim != ndim:
        raise KernelArgumentError(f"'{name}' must be a {ndim}-D array (got shape {arr.shape})")
    if arr.size == 0:
        raise KernelArgumentError(f"'{name}' is empty (shape {arr.shape})")
    return arr


def _input_like(name: str, value, shape: tuple[int, ...], dtype) -> np.ndarray:
    arr = _real_array(name, value, 2)
    if arr.shape != shape:
        raise KernelArgumentError(
            f"'{name}' has shape {arr.shape}, which is not the shape of 'data' {shape}"
        )
    return np.ascontiguousarray(arr, dtype=dtype)


def _output(name: str, value, shape: tuple[int, ...] | None, dtype) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        raise KernelArgumentError(f"'{name}' must be a numpy array updated in place")
    if value.ndim != 2 or value.size == 0:
        raise KernelArgumentError(
            f"'{name}' must be a non-empty 2-D array (got shape {value.shape})"
        )
    if shape is not None and value.shape != shape:
        raise KernelArgumentError(
            f"'{name}' has shape {value.shape}, which is not the output shape {shape}"
        )
    if value.dtype != np.dtype(dtype) or not value.flags.c_contiguous or not value.flags.writeable:
        raise KernelArgumentError(
            f"'{name}' must be a writeable C-contiguous {np.dtype(dtype).name} array "
            f"(got {value.dtype}, contiguous={value.flags.c_contiguous}, "
            f"writeable={value.flags.writeable})"
        )
    return value


def _finite(name: str, value, *, positive: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise KernelArgumentError(f"'{name}' must be a number (got {value!r})") from exc
    if not math.isfinite(v):
        raise KernelArgumentError(f"'{name}' must be finite (got {v})")
    if positive and v <= 0:
        raise KernelArgumentError(f"'{name}' must be > 0 (got {v})")
    return v


def _dq_array(name: str, value, shape) -> np.ndarray:
    arr = _real_array(name, value, 2)
    if arr.dtype.kind not in "biu" or arr.dtype.itemsize > 4:
        raise KernelArgumentError(
            f"'{name}' must be an integer array with items of at most 4 bytes (got {arr.dtype})"
        )
    if shape is not None and arr.shape != shape:
        raise KernelArgumentError(
            f"'{name}' has shape {arr.shape}, which is not the shape of 'data' {shape}"
        )
    return np.ascontiguousarray(arr.astype(np.uint32, copy=False))


def _limit(name: str, value, default: int, size: int, low: bool) -> int:
    if value is None:
        return default
    try:
        v = int(value)
    except (TypeError, ValueError) as exc:
        raise KernelArgumentError(f"'{name}' must be an integer or None (got {value!r})") from exc
    if isinstance(value, float) and value != v:
        raise KernelArgumentError(f"'{name}' must be an integer (got {value!r})")
    # like drizzle: limits outside the image are clipped to it
    return max(v, 0) if low else min(v, size - 1)


#: largest ``|out_origin|`` component (the kernels treat map values beyond +-1e9 as unusable)
MAX_ORIGIN = 10**9


def _out_origin(value) -> tuple[int, int]:
    """Validate ``out_origin``: two integers (negative allowed)."""
    try:
        items = tuple(value)
    except TypeError:
        raise KernelArgumentError(
            f"'out_origin' must be a pair of integers (x0, y0) (got {value!r})") from None
    if len(items) != 2:
        raise KernelArgumentError(
            f"'out_origin' must be a pair of integers (x0, y0) (got {len(items)} values)")
    out = []
    for v in items:
        if isinstance(v, (bool, np.bool_)):
            raise KernelArgumentError(f"'out_origin' must hold integers (got {v!r})")
        try:
            iv = operator.index(v)
        except TypeError:
            raise KernelArgumentError(
                f"'out_origin' must hold integers, not {type(v).__name__} ({v!r})") from None
        if abs(iv) > MAX_ORIGIN:
            raise KernelArgumentError(
                f"'out_origin' component {iv} is outside +-{MAX_ORIGIN}")
        out.append(int(iv))
    return out[0], out[1]


def estimate_pixmap_scale_ratio(
    pixmap: np.ndarray,
    xmin: int = 0,
    xmax: int | None = None,
    ymin: int = 0,
    ymax: int | None = None,
) -> float:
    """Estimate the output/input linear pixel-size ratio from a pixel map.

    The Jacobian of the map is taken by finite differences at the valid
    pixel nearest the centre of the (sub-)region; the ratio is
    ``1 / sqrt(|det J|)`` (output pixels larger than input pixels give a
    ratio above 1, as ``pixel_scale_ratio`` expects).

    Parameters
    ----------
    pixmap : ndarray of shape (ny, nx, 2)
        Output (x, y) of every input pixel centre.
    xmin, xmax, ymin, ymax : int, optional
        Inclusive input sub-region to look at.

    Returns
    -------
    float
        The estimated ratio.

    Raises
    ------
    KernelArgumentError
        If no pixel with finite neighbours is found or the map is degenerate.
    """
    pm = np.asarray(pixmap, dtype=np.float64)
    ny, nx = pm.shape[:2]
    xmax = nx - 1 if xmax is None else xmax
    ymax = ny - 1 if ymax is None else ymax
    if nx < 2 or ny < 2:
        raise KernelArgumentError(
            "cannot estimate the pixel scale ratio from a map narrower than 2 pixels"
        )
    dxx = np.diff(pm[..., 0], axis=1)
    dxy = np.diff(pm[..., 1], axis=1)
    dyx = np.diff(pm[..., 0], axis=0)
    dyy = np.diff(pm[..., 1], axis=0)
    det = dxx[:-1, :] * dyy[:, :-1] - dxy[:-1, :] * dyx[:, :-1]
    det = np.abs(det)
    jx = det[min(ymin, ny - 2) : min(ymax, ny - 2) + 1, min(xmin, nx - 2) : min(xmax, nx - 2) + 1]
    good = np.isfinite(jx) & (jx > 0)
    if not good.any():
        raise KernelArgumentError(
            "cannot estimate the pixel scale ratio: the pixel map has no valid region"
        )
    yy, xx = np.nonzero(good)
    cy, cx = (jx.shape[0] - 1) / 2.0, (jx.shape[1] - 1) / 2.0
    k = int(np.argmin((yy - cy) ** 2 + (xx - cx) ** 2))
    return float(1.0 / math.sqrt(jx[yy[k], xx[k]]))


def drizzle_add(
    data,
    pixmap,
    out_img: np.ndarray,
    out_wht: np.ndarray,
    *,
    weight_map=None,
    mask=None,
    data2=None,
    out_img2: Sequence[np.ndarray | None] | None = None,
    dq=None,
    out_dq: np.ndarray | None = None,
    out_ctx: np.ndarray | None = None,
    ctx_bit: int = 0,
    kernel: str = "square",
    pixfrac: float = 1.0,
    pixel_scale_ratio: float | None = 1.0,
    iscale: float = 1.0,
    wht_scale: float = 1.0,
    expscale: float = 1.0,
    xmin: int | None = None,
    xmax: int | None = None,
    ymin: int | None = None,
    ymax: int | None = None,
    num_threads: int | None = None,
    out_origin: tuple[int, int] = (0, 0),
) -> DrizzleCounts:
    """Drizzle one image onto output arrays, updating them in place.

    Parameters
    ----------
    data : array_like, 2-D
        Input image (converted to float32).
    pixmap : array_like of shape ``data.shape + (2,)``
        0-based output (x, y) of every input pixel centre; NaN marks pixels
        that do not map (they are skipped and counted in ``nmiss``).
    out_img, out_wht : ndarray, float32, C-contiguous
        Output science and weight arrays (same 2-D shape), updated in place;
        they hold the output pixels starting at ``out_origin``.
    weight_map : array_like, optional
        Input weights (default 1), multiplied by ``wht_scale``.
    mask : array_like of bool, optional
        True marks bad input pixels: they contribute nothing.
    data2 : array_like or list of (array_like or None), optional
        Planes resampled with squared weights (e.g. variance).  ``None``
        entries are taken as zeros.
    out_img2 : list of ndarray, optional
        One float32 output per ``data2`` plane (updated in place).
    dq : array_like of integers, optional
        Input bit flags (at most 32 bits), OR-ed into ``out_dq``.
    out_dq : ndarray of uint32, optional
        Output DQ array; required when ``dq`` is given.
    out_ctx : ndarray of int32, optional
        One 2-D context plane; bit ``ctx_bit`` is set where this image
        contributes with positive weight.
    ctx_bit : int
        Bit number, 0 to 31.
    kernel : str
        One of :data:`SUPPORTED_KERNELS` (case-insensitive).
    pixfrac : float
        Linear drop size in input pixels, > 0.
    pixel_scale_ratio : float or None
        Output/input linear pixel size, used by turbo, gaussian, lanczos and
        tophat.  None estimates it from ``pixmap``.
    iscale : float
        Multiplies ``data`` (``data2`` by ``iscale**2``).
    wht_scale : float
        Multiplies the weights.
    expscale : float
        Divides ``data`` (``data2`` by ``expscale**2``): the exposure time for
        input in counts, else 1.
    xmin, xmax, ymin, ymax : int or None
        Inclusive 0-based input sub-region (clipped to the image).
    num_threads : int or None
        OpenMP threads; None follows ``OMP_NUM_THREADS`` or uses every core.
        The result does not depend on it.
    out_origin : (int, int)
        Output pixel ``(x0, y0)`` held by element ``[0, 0]`` of every output
        array (negative allowed): the outputs cover output pixels
        ``[x0, x0 + nx) x [y0, y0 + ny)`` while ``pixmap`` stays in the
        coordinates of the whole output grid.  The result is bit for bit the
        same region of a drizzle onto the whole grid (the origin only moves
        integer positions; shifting ``pixmap`` by it instead would round map
        values that cross a power of two).

    Returns
    -------
    DrizzleCounts
        ``(nmiss, nskip)``: input pixels of the sub-region that reached no
        output pixel (off the frame, unmapped or non-finite; masked and
        zero-weight pixels are not counted), and sub-region rows with no
        pixel reaching the output.

    Raises
    ------
    KernelArgumentError
        On any invalid argument (message names it).
    """
    name = str(kernel).strip().lower() if isinstance(kernel, str) else None
    if name not in KERNEL_CODES:
        raise KernelArgumentError(
            f"kernel {kernel!r} is not supported; choose one of {', '.join(SUPPORTED_KERNELS)}"
        )
    data = _real_array("data", data, 2)
    shape = data.shape
    data = np.ascontiguousarray(data, dtype=np.float32)
    pm = _real_array("pixmap", pixmap, 3)
    if pm.shape != shape + (2,):
        raise KernelArgumentError(
            f"'pixmap' has shape {pm.shape}; expected {shape + (2,)} (the shape of 'data' plus 2)"
        )
    pm = np.ascontiguousarray(pm, dtype=np.float64)
    out_img = _output("out_img", out_img, None, np.float32)
    oshape = out_img.shape
    out_wht = _output("out_wht", out_wht, oshape, np.float32)
    if name == "square" and (shape[0] < 2 or shape[1] < 2):
        raise KernelArgumentError(
            f"the square kernel needs 'data' of at least 2x2 pixels to interpolate pixel corners "
            f"(got shape {shape})"
        )

    weights = (
        None if weight_map is None else _input_like("weight_map", weight_map, shape, np.float32)
    )
    mk = None
    if mask is not None:
        mk = _real_array("mask", mask, 2)
        if mk.shape != shape:
            raise KernelArgumentError(
                f"'mask' has shape {mk.shape}, which is not the shape of 'data' {shape}"
            )
        if mk.dtype == np.bool_:
            mk = np.ascontiguousarray(mk).view(np.uint8)  # bools are 0/1 bytes: no copy
        else:
            mk = np.ascontiguousarray(mk != 0, dtype=np.uint8)

    dqa = None
    if dq is not None:
        dqa = _dq_array("dq", dq, shape)
        if out_dq is None:
            raise KernelArgumentError("'out_dq' is required when 'dq' is given")
        out_dq = _output("out_dq", out_dq, oshape, np.uint32)
    elif out_dq is not None:
        out_dq = _output("out_dq", out_dq, oshape, np.uint32)
    if out_ctx is not None:
        out_ctx = _output("out_ctx", out_ctx, oshape, np.int32)
    try:
        ctx_bit = int(ctx_bit)
    except (TypeError, ValueError) as exc:
        raise KernelArgumentError(f"'ctx_bit' must be an integer (got {ctx_bit!r})") from exc
    if not 0 <= ctx_bit < 32:
        raise KernelArgumentError(f"'ctx_bit' must be in 0..31 (got {ctx_bit})")
    bitval = int(np.array(1 << ctx_bit, dtype=np.uint32).view(np.int32))

    # data2 / out_img2
    if data2 is None:
        d2list: list = []
    elif isinstance(data2, np.ndarray):
        d2list = [data2]
    elif isinstance(data2, (list, tuple)):
        d2list = list(data2)
    else:
        raise KernelArgumentError(
            f"'data2' must be an array, a list of arrays or None (got {type(data2).__name__})"
        )
    d2conv = []
    for k, d2 in enumerate(d2list):
        if d2 is None or (isinstance(d2, np.ndarray) and d2.size == 0):
            d2conv.append(None)
        else:
            d2conv.append(_input_like(f"data2[{k}]", d2, shape, np.float32))
    if out_img2 is None:
        out2 = []
    elif isinstance(out_img2, np.ndarray):
        out2 = [out_img2]
    else:
        out2 = list(out_img2)
    if len(out2) != len(d2conv):
        raise KernelArgumentError(
            f"'out_img2' has {len(out2)} arrays but 'data2' has {len(d2conv)}"
        )
    out2 = [_output(f"out_img2[{k}]", o, oshape, np.float32) for k, o in enumerate(out2)]

    pixfrac = _finite("pixfrac", pixfrac, positive=True)
    iscale = _finite("iscale", iscale)
    wht_scale = _finite("wht_scale", wht_scale)
    expscale = _finite("expscale", expscale, positive=True)

    ny, nx = shape
    x0 = _limit("xmin", xmin, 0, nx, True)
    x1 = _limit("xmax", xmax, nx - 1, nx, False)
    y0 = _limit("ymin", ymin, 0, ny, True)
    y1 = _limit("ymax", ymax, ny - 1, ny, False)
    if x0 > x1 or y0 > y1:
        raise KernelArgumentError(
            f"empty input sub-region: xmin={x0}, xmax={x1}, ymin={y0}, ymax={y1} "
            f"for 'data' of shape {shape}"
        )

    if pixel_scale_ratio is None:
        if name in ("square", "point"):
            pscale = 1.0  # not used by these kernels
        else:
            pscale = estimate_pixmap_scale_ratio(pm, x0, x1, y0, y1)
            log.debug("pixel_scale_ratio estimated from the pixel map: %.6g", pscale)
    else:
        pscale = _finite("pixel_scale_ratio", pixel_scale_ratio, positive=True)
    if name.startswith("lanczos") and abs(pixfrac - 1.0) > 1e-5:
        log.debug("pixfrac=%g is ignored by the %s kernel", pixfrac, name)

    ox0, oy0 = _out_origin(out_origin)
    nthreads = resolve_num_threads(num_threads)
    oy = oshape[0]
    band_h = int(min(64, max(16, -(-oy // (4 * nthreads)))))
    nmiss, nskip = drizzle_kernel(
        data,
        pm,
        out_img,
        out_wht,
        weights,
        mk,
        dqa,
        out_dq,
        out_ctx,
        bitval,
        tuple(d2conv),
        tuple(out2),
        kernel=KERNEL_CODES[name],
        pixfrac=pixfrac,
        pscale_ratio=pscale,
        dscale=iscale / expscale,
        wtscale=wht_scale,
        xmin=x0,
        xmax=x1,
        ymin=y0,
        ymax=y1,
        band_height=band_h,
        num_threads=nthreads,
        out_x0=ox0,
        out_y0=oy0,
    )
    return DrizzleCounts(nmiss, nskip)
