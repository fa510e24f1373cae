"""Output tiling for large mosaics: tile plans, overlaps and memory estimates.

A mosaic's output frame is cut into rectangular tiles in row-major order.
Every per-tile task (median, final drizzle) only reads the exposures whose
footprint overlaps its tile, so the memory of one task is bounded by the
tile area times the number of overlapping exposures, never by the size of
the whole mosaic.  :func:`estimate_tile_memory` gives that bound up front
and :func:`check_memory` turns a too-small worker memory limit into an error
that names a tile size which fits.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..astrodrizzle.config import parse_memory
from ..errors import ConfigError, MemoryLimitError

log = logging.getLogger(__name__)

__all__ = [
    "BBox",
    "Tile",
    "check_memory",
    "estimate_tile_memory",
    "kernel_margin",
    "parse_memory",
    "pixmap_bbox",
    "plan_tiles",
    "tile_overlaps",
]


@dataclass(frozen=True)
class BBox:
    """Integer box of output pixels: ``x0 <= x < x1``, ``y0 <= y < y1``."""

    x0: int
    x1: int
    y0: int
    y1: int

    def intersect(self, other: BBox) -> BBox | None:
        """The common box, or None when the boxes do not overlap."""
        x0, x1 = max(self.x0, other.x0), min(self.x1, other.x1)
        y0, y1 = max(self.y0, other.y0), min(self.y1, other.y1)
        if x0 >= x1 or y0 >= y1:
            return None
        return BBox(x0, x1, y0, y1)

    def grow(self, margin: int) -> BBox:
        """The box grown by ``margin`` pixels on every side."""
        return BBox(self.x0 - margin, self.x1 + margin, self.y0 - margin, self.y1 + margin)

    @property
    def shape(self) -> tuple[int, int]:
        """``(ny, nx)`` of the box."""
        return (self.y1 - self.y0, self.x1 - self.x0)


@dataclass(frozen=True)
class Tile:
    """One output tile.

    Attributes
    ----------
    index : int
        Position in row-major order (the order products are assembled in).
    row, col : int
        Tile row and column in the tile grid.
    box : BBox
        Output pixels covered by the tile.
    """

    index: int
    row: int
    col: int
    box: BBox

    @property
    def label(self) -> str:
        """Human-readable name used in progress and error messages."""
        b = self.box
        return (f"tile {self.index} (row {self.row}, col {self.col}: "
                f"y {b.y0}:{b.y1}, x {b.x0}:{b.x1})")


def _pair(value, name: str) -> tuple[int, int]:
    try:
        a, b = (int(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name} must be a pair of integers (ny, nx), got {value!r}") from exc
    if a < 1 or b < 1:
        raise ConfigError(f"{name} must be positive, got {value!r}")
    return a, b


def plan_tiles(out_shape: Sequence[int], tile_shape: Sequence[int]) -> list[Tile]:
    """Cut an output frame into tiles (row-major; edge tiles may be smaller).

    Parameters
    ----------
    out_shape : (ny, nx)
        Output frame shape.
    tile_shape : (ny, nx)
        Nominal tile shape.

    Returns
    -------
    list of Tile

    Raises
    ------
    ConfigError
        If either shape is not a pair of positive integers.
    """
    ny, nx = _pair(out_shape, "out_shape")
    ty, tx = _pair(tile_shape, "tile_shape")
    tiles = []
    for r, y0 in enumerate(range(0, ny, ty)):
        for c, x0 in enumerate(range(0, nx, tx)):
            tiles.append(Tile(len(tiles), r, c, BBox(x0, min(x0 + tx, nx), y0, min(y0 + ty, ny))))
    return tiles


def kernel_margin(kernel: str, pixfrac: float, pixel_scale_ratio: float) -> int:
    """Output pixels a drop can reach beyond its mapped centre (rounded up, +1)."""
    k = kernel.strip().lower()
    s = max(float(pixel_scale_ratio), 1e-6)
    if k.startswith("lanczos"):
        reach = int(k[-1]) / s
    elif k in ("gaussian", "tophat"):
        reach = 3.0 * max(pixfrac, 1.0) / s
    else:
        # square/turbo: half the drop plus half an input pixel diagonal
        reach = (0.5 * pixfrac + 0.75) / s
    return int(math.ceil(reach)) + 2


def pixmap_bbox(pixmap: np.ndarray, margin: int = 2) -> BBox | None:
    """Output pixels a chip can touch: the box of its finite pixel-map entries.

    Parameters
    ----------
    pixmap : ndarray of shape (ny, nx, 2)
        0-based output (x, y) of every input pixel centre.
    margin : int
        Pixels added on every side for the kernel's reach.

    Returns
    -------
    BBox or None
        None when no entry is finite.
    """
    pm = np.asarray(pixmap)
    if pm.ndim != 3 or pm.shape[2] != 2:
        raise ConfigError(f"a pixel map must have shape (ny, nx, 2), got {pm.shape}")
    xs, ys = pm[..., 0], pm[..., 1]
    ok = np.isfinite(xs) & np.isfinite(ys)
    if ok.all():  # the usual case: no boolean-indexed copies
        xs_ok, ys_ok = xs, ys
    elif not ok.any():
        return None
    else:
        xs_ok, ys_ok = xs[ok], ys[ok]
    x0 = int(np.floor(xs_ok.min())) - margin
    x1 = int(np.ceil(xs_ok.max())) + margin + 1
    y0 = int(np.floor(ys_ok.min())) - margin
    y1 = int(np.ceil(ys_ok.max())) + margin + 1
    return BBox(x0, x1, y0, y1)


def tile_overlaps(tiles: Sequence[Tile], bboxes: Sequence[BBox | None],
                  halo: int = 0) -> dict[int, list[int]]:
    """Which inputs overlap which tile, in input order.

    Parameters
    ----------
    tiles : sequence of Tile
    bboxes : sequence of BBox or None
        One box per input (None: the input maps nowhere).
    halo : int
        Grow every tile by this many pixels first (median ``grow``).

    Returns
    -------
    dict
        ``tile.index -> [input indices]``, each list in increasing order, so
        every per-tile sum visits its inputs in the global input order.
    """
    out: dict[int, list[int]] = {}
    for t in tiles:
        box = t.box.grow(halo)
        out[t.index] = [k for k, b in enumerate(bboxes) if b is not None and box.intersect(b)]
    return out


#: bytes per output pixel of one single-drizzled image (float32 SCI + WHT)
SINGLE_BYTES = 8
#: bytes per output pixel of the final outputs (SCI, WHT float32, one CTX plane)
OUTPUT_BYTES = 12
#: float64 band sums and scratch of the drizzle kernels, per output pixel
SCRATCH_BYTES = 24


def estimate_tile_memory(tile_shape: Sequence[int], n_overlapping: int, *,
                         chip_bytes: int = 0, halo: int = 0) -> int:
    """Peak bytes of one per-tile task.

    ``tile area x (n_overlapping x bytes of one single-drizzled image + outputs
    + kernel scratch) + chip_bytes``, the tile grown by ``halo`` on each side;
    ``chip_bytes`` is what one input chip (data, weight, pixel map) holds
    while it is drizzled.

    Parameters
    ----------
    tile_shape : (ny, nx)
    n_overlapping : int
        Largest number of inputs overlapping one tile.
    chip_bytes : int
        Bytes of the largest input chip with its pixel map.
    halo : int
        Tile halo in pixels.

    Returns
    -------
    int
    """
    ty, tx = _pair(tile_shape, "tile_shape")
    area = (ty + 2 * halo) * (tx + 2 * halo)
    return int(area * (max(0, n_overlapping) * SINGLE_BYTES + OUTPUT_BYTES + SCRATCH_BYTES)
               + chip_bytes)


def check_memory(memory_limit, tile_shape: Sequence[int], n_overlapping: int, *,
                 chip_bytes: int = 0, halo: int = 0) -> int:
    """Check that one tile task fits a worker's memory limit.

    Parameters
    ----------
    memory_limit : int, str or None
        Worker memory limit (bytes or ``"4GB"``-style text); None: no check.
    tile_shape, n_overlapping, chip_bytes, halo
        As :func:`estimate_tile_memory`.

    Returns
    -------
    int
        The estimated peak bytes of one tile task.

    Raises
    ------
    MemoryLimitError
        If the estimate exceeds the limit; the message names the largest
        square tile size (a multiple of 256) that fits, or says that none does.
    """
    need = estimate_tile_memory(tile_shape, n_overlapping, chip_bytes=chip_bytes, halo=halo)
    limit = parse_memory(memory_limit) if memory_limit is not None else None
    if limit is None or need <= limit:
        return need
    side = 0
    for cand in range(256, 1 << 16, 256):
        if estimate_tile_memory((cand, cand), n_overlapping, chip_bytes=chip_bytes,
                                halo=halo) > limit:
            break
        side = cand
    hint = (f"use tile_shape=({side}, {side}) or smaller" if side
            else "no tile of 256 x 256 pixels fits either: raise the worker memory limit")
    raise MemoryLimitError(
        f"a tile of {tuple(tile_shape)} pixels with {n_overlapping} overlapping inputs needs "
        f"about {need / 2**20:.1f} MiB, more than the worker memory limit of "
        f"{limit / 2**20:.1f} MiB; {hint}")
