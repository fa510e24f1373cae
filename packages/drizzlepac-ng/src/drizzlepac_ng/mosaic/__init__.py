"""Large mosaics as a task graph of output tiles (issue 11).

Per-tile tasks (:mod:`.graph`) run in-process on threads
(``scheduler=None``, no Dask needed) or on a ``dask.distributed`` cluster
(:mod:`.scheduler`), and the products are assembled tile by tile into a
memory-mapped FITS file (:func:`run_mosaic`).  Products are bit-identical for
every scheduler and every tile shape.
"""

from .graph import ChipInput, TileResult, drizzle_tile, median_tile, prepare_chips
from .run import create_fits, run_mosaic
from .scheduler import MosaicTaskError, SchedulerError, Task, connect, run_tasks
from .tiles import (
    BBox,
    Tile,
    check_memory,
    estimate_tile_memory,
    pixmap_bbox,
    plan_tiles,
    tile_overlaps,
)

__all__ = [
    "BBox",
    "ChipInput",
    "MosaicTaskError",
    "SchedulerError",
    "Task",
    "connect",
    "create_fits",
    "run_mosaic",
    "run_tasks",
    "Tile",
    "TileResult",
    "check_memory",
    "drizzle_tile",
    "estimate_tile_memory",
    "median_tile",
    "pixmap_bbox",
    "plan_tiles",
    "prepare_chips",
    "tile_overlaps",
]
