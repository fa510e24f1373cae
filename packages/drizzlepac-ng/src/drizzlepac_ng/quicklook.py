"""Quick-look PNGs of drizzled products (matplotlib, optional).

:func:`write_quicklook` draws the science image with an asinh stretch beside
the weight map and the number of inputs per pixel (from the context image).
matplotlib is an optional dependency (``pip install drizzlepac-ng[plot]``);
without it the function logs a message and returns None.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits

from .errors import InputFileError

__all__ = ["count_inputs", "stretch", "write_quicklook"]

log = logging.getLogger(__name__)


def stretch(image: np.ndarray, *, lower: float = 20.0, upper: float = 99.8,
            softening: float = 0.05) -> np.ndarray:
    """Map an image to [0, 1] with an asinh stretch between two percentiles.

    Parameters
    ----------
    image : ndarray
        Image; NaN pixels stay NaN.
    lower, upper : float, optional
        Percentiles mapped to 0 and 1.
    softening : float, optional
        Where the stretch turns from linear to logarithmic, as a fraction of the range.

    Returns
    -------
    ndarray
        float64 image in [0, 1] (NaN where the input is NaN).
    """
    img = np.asarray(image, dtype=np.float64)
    good = np.isfinite(img)
    if not good.any():
        return np.full(img.shape, np.nan)
    lo, hi = np.percentile(img[good], [lower, upper])
    if hi <= lo:
        hi = lo + 1.0
    scaled = np.clip((img - lo) / (hi - lo), 0.0, 1.0)
    return np.arcsinh(scaled / softening) / np.arcsinh(1.0 / softening)


def count_inputs(ctx: np.ndarray) -> np.ndarray:
    """Number of contributing inputs per pixel from a 2-D or 3-D context image.

    Parameters
    ----------
    ctx : ndarray of int32
        Context image, shape (ny, nx) or (nplanes, ny, nx).

    Returns
    -------
    ndarray of int
        Count of set bits over all planes.
    """
    arr = np.asarray(ctx)
    planes = arr[None] if arr.ndim == 2 else arr
    bits = planes.astype(np.uint32)
    counts = np.zeros(bits.shape[1:], dtype=np.int64)
    for plane in bits:
        v = plane.copy()
        while v.any():
            counts += (v & 1).astype(np.int64)
            v >>= 1
    return counts


def write_quicklook(product: str | Path, png: str | Path | None = None, *,
                    title: str | None = None, max_size: int = 1600) -> Path | None:
    """Write a PNG quick-look of a drizzled product.

    Parameters
    ----------
    product : str or Path
        A ``_drz``/``_drc`` file with SCI (and optionally WHT, CTX) extensions.
    png : str or Path, optional
        Output PNG; default: the product name with ``.png``.
    title : str, optional
        Figure title; default: the product file name.
    max_size : int, optional
        Images larger than this (pixels, either axis) are block-averaged for display.

    Returns
    -------
    Path or None
        The PNG written, or None when matplotlib is not installed.

    Raises
    ------
    InputFileError
        If the product cannot be read or has no SCI extension.
    """
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        log.info("matplotlib is not installed: no quick-look PNG written")
        return None
    product = Path(product)
    png = Path(png) if png is not None else product.with_suffix(".png")
    try:
        with fits.open(product) as hdul:
            names = [h.name for h in hdul]
            if "SCI" not in names:
                raise InputFileError("no SCI extension to display", filename=str(product))
            sci = np.asarray(hdul["SCI"].data, dtype=np.float64)
            wht = np.asarray(hdul["WHT"].data, dtype=np.float64) if "WHT" in names else None
            ctx = np.asarray(hdul["CTX"].data) if "CTX" in names else None
    except OSError as exc:
        raise InputFileError(f"cannot be read ({exc})", filename=str(product)) from exc

    step = max(1, int(np.ceil(max(sci.shape) / max_size)))
    panels = [("science (asinh)", stretch(_bin(sci, step)), "gray")]
    if wht is not None:
        panels.append(("weight", _bin(wht, step), "viridis"))
    if ctx is not None:
        panels.append(("inputs per pixel", _bin(count_inputs(ctx).astype(float), step), "magma"))
    fig, axes = plt.subplots(1, len(panels), figsize=(5.0 * len(panels), 5.0), squeeze=False)
    for ax, (label, img, cmap) in zip(axes[0], panels, strict=True):
        colours = plt.get_cmap(cmap).with_extremes(bad="black")  # NaN: no input reached it
        im = ax.imshow(img, origin="lower", cmap=colours, interpolation="nearest")
        ax.set_title(label)
        ax.set_xticks([])
        ax.set_yticks([])
        if label != "science (asinh)":
            fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.suptitle(title or product.name)
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
    log.info("quick-look written to %s", png)
    return png


def _bin(img: np.ndarray, step: int) -> np.ndarray:
    if step == 1:
        return img
    ny, nx = (img.shape[0] // step) * step, (img.shape[1] // step) * step
    view = img[:ny, :nx].reshape(ny // step, step, nx // step, step)
    if not np.isnan(view).any():
        return view.mean(axis=(1, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN blocks stay NaN
        return np.nanmean(view, axis=(1, 3))
