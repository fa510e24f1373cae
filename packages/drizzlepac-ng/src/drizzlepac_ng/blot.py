"""Blot: interpolate an image back onto the pixel grid of another image.

:func:`blot_image` is the drop-in equivalent of ``drizzle.resample.blot_image``
(drizzle 3.0): the pixel map gives, for every pixel of the *output* (blotted)
image, the 0-based ``(x, y)`` position in the *source* image at which the
source is interpolated.  The work is done by the OpenMP kernel
:mod:`drizzlepac_ng.kernels._blot`; this module checks the arguments so that
bad input gives a :class:`~drizzlepac_ng.errors.KernelArgumentError` naming the
argument, never a crash.
"""

from __future__ import annotations

import logging
import math
import warnings
from typing import Any

import numpy as np

from .errors import KernelArgumentError
from .kernels import resolve_num_threads
from .kernels._blot import INTERP_CODES
from .kernels._blot import blot as _blot_kernel
from .kernels._blot import poly5_table as _poly5_table

__all__ = ["BLOT_INTERPOLANTS", "BlotSource", "blot_image"]

log = logging.getLogger(__name__)

#: Accepted ``interp`` names (case-insensitive).  ``lan3``/``lan5`` are the
#: DrizzlePac spellings of ``lanczos3``/``lanczos5``; ``lsinc`` is the same
#: kernel as ``sinc`` (as in DrizzlePac's C code).
BLOT_INTERPOLANTS = (
    "nearest",
    "linear",
    "poly3",
    "poly5",
    "spline3",
    "sinc",
    "lsinc",
    "lanczos3",
    "lanczos5",
    "lan3",
    "lan5",
)

_ALIASES = {"lan3": "lanczos3", "lan5": "lanczos5"}
_DEPRECATED = object()


def _interp_code(interp: Any) -> tuple[str, int]:
    if not isinstance(interp, str):
        raise KernelArgumentError(
            f"interp must be a string, one of {', '.join(BLOT_INTERPOLANTS)} (got {interp!r})"
        )
    name = interp.strip().lower()
    name = _ALIASES.get(name, name)
    if name not in INTERP_CODES:
        raise KernelArgumentError(
            f"unknown interp {interp!r}; choose one of {', '.join(BLOT_INTERPOLANTS)}"
        )
    return name, INTERP_CODES[name]


def _real_array(value: Any, name: str, ndim: int) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise KernelArgumentError(f"{name} cannot be converted to an array: {exc}") from None
    if arr.dtype.kind not in "fiub":
        raise KernelArgumentError(
            f"{name} must hold real numbers (got dtype {arr.dtype})"
        )
    if arr.ndim != ndim:
        raise KernelArgumentError(f"{name} must be {ndim}-D (got shape {arr.shape})")
    return arr


def _finite_float(value: Any, name: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise KernelArgumentError(f"{name} must be a number (got {value!r})") from None
    return out


_F32_MAX = float(np.finfo(np.float32).max)


def _check_float32_range(value: float, name: str) -> None:
    if math.isfinite(value) and abs(value) > _F32_MAX:
        raise KernelArgumentError(
            f"{name} = {value:g} does not fit in the float32 output (|value| <= {_F32_MAX:g})"
        )


class BlotSource:
    """A source image prepared once for blotting it several times.

    Pass it to :func:`blot_image` as ``data`` (with the same ``interp``):
    the float32 conversion, the spline prefilter of ``spline3`` and the row
    differences of ``poly5`` (:func:`drizzlepac_ng.kernels._blot.poly5_table`,
    8 bytes per pixel) are then done once instead of at every call.  The
    blotted values are the same, bit for bit.

    Parameters
    ----------
    data : array_like, 2-D
        Source image (as for :func:`blot_image`).
    interp : str, optional
        The interpolant it will be blotted with (default ``poly5``).
    num_threads : int, optional
        OpenMP threads of the preparation (None: ``OMP_NUM_THREADS`` or all cores).

    Raises
    ------
    KernelArgumentError
        On a non-numeric or empty ``data`` or an unknown ``interp``.
    """

    def __init__(self, data: Any, interp: str = "poly5", *,
                 num_threads: int | None = None) -> None:
        self.interp, code = _interp_code(interp)
        src = _real_array(data, "data", 2)
        if src.size == 0:
            raise KernelArgumentError(f"data is empty (shape {src.shape})")
        self.shape = src.shape
        self.data = _source32(src, self.interp)
        self.table = (_poly5_table(self.data, resolve_num_threads(num_threads))
                      if self.interp == "poly5" else None)


def _source32(src: np.ndarray, name: str) -> np.ndarray:
    """The float32 array the kernel interpolates (spline coefficients for spline3)."""
    # values beyond the float32 range become +-inf, as in the originals
    with np.errstate(over="ignore", invalid="ignore"):
        if name == "spline3":
            from scipy.ndimage import spline_filter

            src32 = spline_filter(np.asarray(src, dtype=np.float64), order=3, mode="mirror")
            return np.ascontiguousarray(src32, dtype=np.float32)
        return np.ascontiguousarray(src, dtype=np.float32)


def blot_image(
    data: np.ndarray,
    pixmap: np.ndarray,
    out_img: np.ndarray | None = None,
    fillval: float = 0.0,
    iscale: float = 1.0,
    interp: str = "poly5",
    sinscl: float = 1.0,
    num_threads: int | None = None,
    *,
    pix_ratio: Any = _DEPRECATED,
    exptime: Any = _DEPRECATED,
    output_pixel_shape: Any = _DEPRECATED,
) -> np.ndarray:
    """Resample ``data`` at the positions given by ``pixmap`` (blot).

    Blotting interpolates; unlike drizzling it does not conserve flux.  It is
    used to bring a well-sampled combined image back to the frame of one of
    its inputs.  Every output pixel is ``iscale`` times the interpolated value,
    or ``fillval`` when its position falls outside ``data``
    (``0 <= x < nx`` and ``0 <= y < ny``, after rounding the position to single
    precision as the originals do) or is NaN.

    Parameters
    ----------
    data : array_like, 2-D, or BlotSource
        Source image (real numbers; converted to float32, so values beyond
        the float32 range become infinite), or a :class:`BlotSource` made
        with the same ``interp`` (faster when one image is blotted many times).
    pixmap : array_like of shape (ny_out, nx_out, 2)
        For every output pixel, the 0-based ``(x, y)`` position in ``data``
        (``pixmap[..., 0]`` is x).  Converted to float64.  NaN means "no
        mapping" and gives ``fillval``.
    out_img : numpy.ndarray, optional
        C-contiguous, writeable float32 array of shape ``pixmap.shape[:2]``
        that receives the result (and is returned).  A new array when None.
    fillval : float, optional
        Value of output pixels without a source position.  Default 0.
    iscale : float, optional
        Multiplicative scale applied to every interpolated value (for example
        an exposure time, or ``1 / pixel_scale_ratio**2``).  Default 1.
    interp : str, optional
        Interpolant: ``nearest``, ``linear``, ``poly3``, ``poly5`` (default),
        ``spline3``, ``sinc``, ``lsinc``, ``lanczos3``, ``lanczos5`` (``lan3``,
        ``lan5`` are accepted aliases).  See the module documentation of
        :mod:`drizzlepac_ng.kernels._blot` for their definitions.
    sinscl : float, optional
        Scale of the sinc kernel's argument (``sinc``/``lsinc`` only); must be
        positive.  Default 1.
    num_threads : int, optional
        OpenMP threads; None means ``OMP_NUM_THREADS`` or all cores.  The
        result does not depend on it.
    pix_ratio, exptime, output_pixel_shape : optional, keyword-only
        Deprecated drizzle 2.x arguments, accepted with a
        :class:`DeprecationWarning`: ``pix_ratio`` p divides ``iscale`` by p²,
        ``exptime`` t multiplies it by t, and ``output_pixel_shape`` (nx, ny)
        must agree with ``pixmap``.  In drizzle 3.0 they are the 3rd to 5th
        positional parameters; here ``out_img`` is the 3rd.

    Returns
    -------
    numpy.ndarray
        The blotted image, float32, shape ``pixmap.shape[:2]``.

    Raises
    ------
    KernelArgumentError
        On a non-numeric, empty or wrongly shaped ``data``/``pixmap``, an
        unusable ``out_img``, an unknown ``interp``, a non-finite ``iscale``
        or ``fillval`` that is not a number, or ``sinscl <= 0``.
    """
    name, code = _interp_code(interp)

    iscale = _finite_float(iscale, "iscale")
    if pix_ratio is not _DEPRECATED:
        warnings.warn(
            "blot_image: 'pix_ratio' is deprecated; use iscale=1/pix_ratio**2",
            DeprecationWarning,
            stacklevel=2,
        )
        p = _finite_float(pix_ratio, "pix_ratio")
        if p == 0.0 or not math.isfinite(p):
            raise KernelArgumentError(f"pix_ratio must be finite and non-zero (got {p})")
        iscale /= p * p
    if exptime is not _DEPRECATED:
        warnings.warn(
            "blot_image: 'exptime' is deprecated; use iscale=exptime",
            DeprecationWarning,
            stacklevel=2,
        )
        iscale *= _finite_float(exptime, "exptime")
    if not math.isfinite(iscale):
        raise KernelArgumentError(f"iscale must be finite (got {iscale})")
    _check_float32_range(iscale, "iscale")
    fill = _finite_float(fillval, "fillval")
    _check_float32_range(fill, "fillval")
    sinscl = _finite_float(sinscl, "sinscl")
    if not (sinscl > 0.0 and math.isfinite(sinscl)):
        raise KernelArgumentError(f"sinscl must be a positive finite number (got {sinscl})")

    prepared = data if isinstance(data, BlotSource) else None
    if prepared is not None:
        if prepared.interp != name:
            raise KernelArgumentError(
                f"the BlotSource was prepared for interp={prepared.interp!r}, not {name!r}")
        src = prepared.data
    else:
        src = _real_array(data, "data", 2)
    if src.size == 0:
        raise KernelArgumentError(f"data is empty (shape {src.shape})")
    pm = _real_array(pixmap, "pixmap", 3)
    if pm.shape[2] != 2:
        raise KernelArgumentError(
            f"pixmap must have shape (ny, nx, 2) (got {pm.shape})"
        )
    out_shape = tuple(int(n) for n in pm.shape[:2])
    if output_pixel_shape is not _DEPRECATED:
        warnings.warn(
            "blot_image: 'output_pixel_shape' is deprecated; the shape comes from pixmap",
            DeprecationWarning,
            stacklevel=2,
        )
        try:
            given = tuple(int(n) for n in output_pixel_shape)[::-1]
        except (TypeError, ValueError):
            raise KernelArgumentError(
                f"output_pixel_shape must be (nx, ny) (got {output_pixel_shape!r})"
            ) from None
        if given != out_shape:
            raise KernelArgumentError(
                f"output_pixel_shape {tuple(output_pixel_shape)} (nx, ny) does not match "
                f"pixmap shape {pm.shape}"
            )

    if out_img is None:
        out = np.empty(out_shape, dtype=np.float32)
    else:
        if not isinstance(out_img, np.ndarray):
            raise KernelArgumentError(
                f"out_img must be a numpy array (got {type(out_img).__name__})"
            )
        if out_img.dtype != np.float32:
            raise KernelArgumentError(f"out_img must be float32 (got {out_img.dtype})")
        if out_img.shape != out_shape:
            raise KernelArgumentError(
                f"out_img shape {out_img.shape} does not match pixmap shape {pm.shape[:2]}"
            )
        if not (out_img.flags.c_contiguous and out_img.flags.writeable):
            raise KernelArgumentError("out_img must be C-contiguous and writeable")
        out = out_img
    if out.size == 0:
        return out

    nthreads = resolve_num_threads(num_threads)
    src32 = prepared.data if prepared is not None else _source32(src, name)
    table = prepared.table if prepared is not None else None
    with np.errstate(over="ignore"):
        pm64 = np.ascontiguousarray(pm, dtype=np.float64)
    # the kernel reads its inputs while it writes out_img: never let them overlap
    if np.may_share_memory(src32, out):
        src32 = src32.copy()
    if table is not None and np.may_share_memory(table, out):
        table = table.copy()
    if np.may_share_memory(pm64, out):
        pm64 = pm64.copy()
    nmiss = _blot_kernel(src32, pm64, out, code, np.float32(iscale), np.float32(fill),
                         sinscl, nthreads, table)
    log.debug(
        "blot_image: interp=%s, %d x %d -> %d x %d, iscale=%g, %d pixels filled with %g, "
        "%d threads", name, src.shape[1], src.shape[0], out_shape[1], out_shape[0], iscale,
        nmiss, fill, nthreads,
    )
    return out
