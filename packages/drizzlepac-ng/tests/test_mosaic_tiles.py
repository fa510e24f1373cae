"""Tile planning, overlaps and memory estimates of drizzlepac_ng.mosaic."""

import numpy as np
import pytest

from drizzlepac_ng.errors import ConfigError, MemoryLimitError
from drizzlepac_ng.mosaic.tiles import (
    BBox,
    check_memory,
    estimate_tile_memory,
    pixmap_bbox,
    plan_tiles,
    tile_overlaps,
)


@pytest.mark.parametrize("shape, tile", [((100, 130), (32, 50)), ((64, 64), (64, 64)),
                                         ((7, 300), (10, 256))])
def test_tiles_cover_frame_once(shape, tile):
    tiles = plan_tiles(shape, tile)
    count = np.zeros(shape, int)
    for k, t in enumerate(tiles):
        assert t.index == k
        b = t.box
        assert b.shape[0] <= tile[0] and b.shape[1] <= tile[1]
        count[b.y0:b.y1, b.x0:b.x1] += 1
    assert (count == 1).all()
    # row-major order
    starts = [(t.box.y0, t.box.x0) for t in tiles]
    assert starts == sorted(starts)


@pytest.mark.parametrize("bad", [(0, 10), (10,), "ab", None])
def test_bad_tile_shape(bad):
    with pytest.raises(ConfigError, match="tile_shape"):
        plan_tiles((10, 10), bad)


def test_pixmap_bbox_and_overlaps():
    y, x = np.mgrid[0:10, 0:20].astype(float)
    pm = np.dstack([x + 30.4, y + 5.6])
    pm[0, 0] = np.nan
    b = pixmap_bbox(pm, margin=2)
    assert b == BBox(28, 53, 3, 18)  # floor(30.4) - 2, ceil(49.4) + 3
    assert pixmap_bbox(np.full((2, 2, 2), np.nan)) is None
    tiles = plan_tiles((40, 80), (20, 20))
    ov = tile_overlaps(tiles, [b, None, BBox(0, 80, 0, 3)])
    for t in tiles:
        hit = [k for k, bb in enumerate([b, None, BBox(0, 80, 0, 3)])
               if bb is not None and t.box.intersect(bb) is not None]
        assert ov[t.index] == hit
    assert ov[0] == [2] and ov[1] == [0, 2]
    # a halo reaches the neighbouring tile
    near = BBox(21, 30, 0, 5)
    assert tile_overlaps(tiles, [near])[0] == []
    assert tile_overlaps(tiles, [near], halo=2)[0] == [0]


def test_memory_estimate_scales_with_tile_and_overlap():
    a = estimate_tile_memory((100, 100), 4)
    assert estimate_tile_memory((200, 100), 4) == 2 * a
    assert estimate_tile_memory((100, 100), 8) > a
    assert estimate_tile_memory((100, 100), 4, chip_bytes=1000) == a + 1000


def test_memory_limit_names_a_tile_size_that_fits():
    with pytest.raises(MemoryLimitError, match=r"tile_shape=\((\d+), \1\)") as info:
        check_memory("100MB", (4096, 4096), 12)
    side = int(str(info.value).split("tile_shape=(")[1].split(",")[0])
    assert estimate_tile_memory((side, side), 12) <= 100e6
    assert estimate_tile_memory((side + 256, side + 256), 12) > 100e6
    assert check_memory("100MB", (side, side), 12) <= 100e6
    assert check_memory(None, (4096, 4096), 12) > 0
    with pytest.raises(MemoryLimitError, match="raise the worker memory limit"):
        check_memory(1000, (512, 512), 3)
    with pytest.raises(ConfigError):
        check_memory("lots", (512, 512), 3)
