"""Is a drizzle onto an output tile bit-identical to the same region of a whole-frame drizzle?

Finding (recorded in docs/user_guide/mosaics.rst): with a pixel map shifted by
the integer tile origin, the point, gaussian, lanczos and tophat kernels always
gave the same bits (they only use ``x_centre - i_out``, an exact difference);
square and turbo did not until the kernels formed drop corners and box edges
relative to each input pixel's integer origin (commit 9bcda1b): before that,
far from the origin a few float32 outputs changed in the last bit.  The mosaic
code drizzles every chip in its own exposure frame anyway (see
drizzlepac_ng.mosaic.graph), so its products stay independent of the tile shape
even for a kernel that is not translation invariant.
"""

import numpy as np
import pytest

from drizzlepac_ng.drizzle_kernels import drizzle_add
from drizzlepac_ng.mosaic.graph import ChipInput, drizzle_tile, prepare_chips
from drizzlepac_ng.mosaic.tiles import plan_tiles, tile_overlaps

SCALE = 0.83


def _chip(seed: int, x0: float, y0: float, rot: float, shape=(150, 160)):
    rng = np.random.default_rng(seed)
    ny, nx = shape
    data = rng.normal(10, 3, shape).astype(np.float32)
    wht = rng.uniform(0.5, 1.5, shape).astype(np.float32)
    y, x = np.mgrid[0:ny, 0:nx].astype(np.float64)
    th = np.deg2rad(rot)
    px = x0 + SCALE * (np.cos(th) * x - np.sin(th) * y) + 1e-5 * x * y
    py = y0 + SCALE * (np.sin(th) * x + np.cos(th) * y) + 1e-5 * x * x
    return data, wht, np.dstack([px, py])


def _drizzle(data, wht, pm, shape, kernel, pixfrac=0.8):
    o = np.zeros(shape, np.float32)
    w = np.zeros(shape, np.float32)
    c = np.zeros(shape, np.int32)
    drizzle_add(data, pm, o, w, weight_map=wht, out_ctx=c, kernel=kernel, pixfrac=pixfrac,
                pixel_scale_ratio=SCALE, num_threads=1)
    return o, w, c


def _shift_mismatches(kernel: str, x_origin: int, shape=(150, 160), pixfrac=0.8) -> int:
    """Pixels that differ between a whole-frame drizzle and a drizzle onto a
    frame shifted by ``x_origin`` (the region right of it)."""
    data, wht, pm = _chip(1, x_origin + 150.37, 3.11, 17.3, shape)
    out = (shape[0] + 50, x_origin + shape[1] + 200)
    full = _drizzle(data, wht, pm, out, kernel, pixfrac)
    local = pm.copy()
    local[..., 0] -= x_origin
    tile = _drizzle(data, wht, local, (out[0], out[1] - x_origin), kernel, pixfrac)
    return sum(int((a[:, x_origin:] != b).sum()) for a, b in zip(full, tile, strict=True))


@pytest.mark.parametrize("kernel", ["square", "turbo", "point", "gaussian", "lanczos3",
                                    "tophat"])
def test_shift_near_origin_is_identical(kernel):
    assert _shift_mismatches(kernel, 48) == 0


@pytest.mark.parametrize("kernel", ["square", "turbo", "point", "gaussian", "lanczos3",
                                    "tophat"])
def test_shift_far_from_origin_identical(kernel):
    # 400 x 400 input pixels at x ~ 20000: before the kernels formed square
    # corners / turbo edges relative to each pixel's integer origin (commit
    # 9bcda1b), 1-2 float32 weights differed in the last bit here
    assert _shift_mismatches(kernel, 20000, shape=(400, 400), pixfrac=1.0) == 0


def _chips(x_base: float):
    out = []
    for k in range(3):
        data, wht, pm = _chip(10 + k, x_base + 150 + 31.3 * k, 3.11 + 17.1 * k, 17.3 + k,
                              shape=(120, 130))
        out.append(ChipInput(data=data, pixmap=pm, weight=wht, exptime=100.0,
                             pixel_scale_ratio=SCALE, exposure=k))
    return out


def _mosaic(chips, shape, tile_shape, kernel):
    prepared = prepare_chips(chips, kernel, 0.8)
    tiles = plan_tiles(shape, tile_shape)
    ov = tile_overlaps(tiles, [c.bbox for c in prepared])
    planes = [np.zeros(shape, np.float32), np.zeros(shape, np.float32),
              np.zeros(shape, np.int32)]
    for t in tiles:
        r = drizzle_tile(t.box, [(k, prepared[k]) for k in ov[t.index]], kernel=kernel,
                         pixfrac=0.8)
        b = t.box
        for arr, part in zip(planes, (r.sci, r.wht, r.ctx[0]), strict=True):
            arr[b.y0:b.y1, b.x0:b.x1] = part
    return planes


@pytest.mark.parametrize("kernel", ["square", "turbo", "point", "gaussian", "lanczos3"])
def test_exposure_frame_tiles_independent_of_tile_shape(kernel):
    chips = _chips(20000.37)
    shape = (240, 20450)
    ref = _mosaic(chips, shape, shape, kernel)
    assert ref[1].max() > 0 and ref[2].max() == 7
    for ts in [(64, 48), (100, 333)]:
        got = _mosaic(chips, shape, ts, kernel)
        for a, b in zip(ref, got, strict=True):
            assert np.array_equal(a, b)


@pytest.mark.parametrize("kernel", ["square", "turbo", "point", "gaussian", "lanczos3"])
@pytest.mark.parametrize("x_base", [100.37, 20000.37])
def test_exposure_frame_equals_plain_drizzle(kernel, x_base):
    chips = _chips(x_base)
    shape = (240, int(x_base) + 400)
    got = _mosaic(chips, shape, (64, 48), kernel)
    o = np.zeros(shape, np.float32)
    w = np.zeros(shape, np.float32)
    c = np.zeros(shape, np.int32)
    for k, ch in enumerate(chips):
        drizzle_add(ch.data, ch.pixmap, o, w, weight_map=ch.weight, out_ctx=c, ctx_bit=k,
                    kernel=kernel, pixfrac=0.8, pixel_scale_ratio=SCALE, num_threads=1)
    for a, b in zip((o, w, c), got, strict=True):
        assert np.array_equal(a, b)
