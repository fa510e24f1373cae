"""Is a drizzle onto an output tile bit-identical to the same region of a whole-frame drizzle?

Finding (recorded in docs/user_guide/mosaics.rst): with a pixel map shifted by
the integer tile origin, the point, gaussian, lanczos and tophat kernels
usually gave the same bits (they only use ``x_centre - i_out``); square and
turbo did not until the kernels formed drop corners and box edges relative
to each input pixel's integer origin (commit 9bcda1b): before that, far from
the origin a few float32 outputs changed in the last bit.  Shifting the map
is still not exact where a map value crosses a power of two (a value near
2045 shifted by +3: see tests/test_drizzle_origin.py), so the mosaic code
never shifts a map: it drizzles every chip with its global map into the
tile's arrays, passed as a window of the output grid (``out_origin``), and
the tests below compare tiles, singles and rejected pixels with plain
whole-frame drizzles.
"""

import numpy as np
import pytest

from drizzlepac_ng.drizzle_kernels import drizzle_add
from drizzlepac_ng.mosaic.graph import ChipInput, drizzle_single, drizzle_tile, prepare_chips
from drizzlepac_ng.mosaic.tiles import BBox, plan_tiles, tile_overlaps

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
def test_tiles_independent_of_tile_shape(kernel):
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
def test_tiles_equal_plain_drizzle(kernel, x_base):
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


def _tie_chip():
    """A 4 x 2060 chip mapped 1:1 from x = -6.5, one pixel moved just below its
    rounding tie (2045.5 - 2**-42): minus the chip's box origin (< -6) that
    value crosses 2048, is rounded to the tie and lands in the next column."""
    y, x = np.mgrid[0:4, 0:2060].astype(np.float64)
    pm = np.dstack([x - 6.5, y + 2.25])
    pm[1, 2052, 0] = 2045.5 - 2.0**-42
    rng = np.random.default_rng(5)
    return ChipInput(data=rng.normal(10, 3, (4, 2060)).astype(np.float32), pixmap=pm,
                     exptime=1.0)


@pytest.mark.parametrize("tile_shape", [(8, 2060), (8, 1000), (3, 700)])
def test_tie_pixel_tiles_equal_plain_drizzle(tile_shape):
    chip = _tie_chip()
    shape = (8, 2060)
    ref_s, ref_w = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    drizzle_add(chip.data, chip.pixmap, ref_s, ref_w, kernel="point", num_threads=1)
    assert ref_w[3, 2045] == 2 and ref_w[3, 2046] == 0     # the tie pixel joins 2044.5
    prepared = prepare_chips([chip], "point", 1.0)
    assert prepared[0].bbox.x0 < -6
    got = _mosaic(prepared, shape, tile_shape, "point")
    assert np.array_equal(got[0], ref_s) and np.array_equal(got[1], ref_w)


def test_single_with_negative_origin_and_rejects_from_npy(tmp_path):
    """drizzle_single onto a box hanging off the frame (negative origin) with
    the chips' arrays and reject masks as memory-mapped .npy files equals a
    plain drizzle (rejected pixels as a mask) onto a larger window."""
    chips, ref_planes = [], []
    for k in range(2):
        data, wht, pm = _chip(20 + k, -30.37 + 9.1 * k, -12.11 + 4.2 * k, 11.0 + 3 * k,
                              shape=(90, 100))
        reject = np.random.default_rng(k).random(data.shape) < 0.05
        paths = {}
        for name, arr in (("data", data), ("weight", wht), ("pixmap", pm), ("reject", reject)):
            paths[name] = str(tmp_path / f"{name}{k}.npy")
            np.save(paths[name], arr)
        chips.append(ChipInput(exptime=1.0, pixel_scale_ratio=SCALE, **paths))
        ref_planes.append((data, wht, pm, reject))
    prepared = prepare_chips(chips, "square", 0.8)
    single = drizzle_single(prepared, BBox(0, 200, 0, 150), kernel="square", pixfrac=0.8)
    box = single.box
    assert box.x0 < 0 and box.y0 < 0
    origin = (box.x0 - 7, box.y0 - 5)       # a larger window, also hanging off
    shape = (box.shape[0] + 12, box.shape[1] + 15)
    o, w = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    for data, wht, pm, reject in ref_planes:
        drizzle_add(data, pm, o, w, weight_map=wht, mask=reject, kernel="square",
                    pixfrac=0.8, num_threads=1, out_origin=origin)
    crop = (slice(5, 5 + box.shape[0]), slice(7, 7 + box.shape[1]))
    assert np.array_equal(single.sci, o[crop]) and np.array_equal(single.wht, w[crop])
    border = np.ones(shape, bool)
    border[crop] = False
    assert not w[border].any() and single.wht.any()      # the box holds every drop
    # the part inside the frame is the plain whole-frame drizzle's
    fo, fw = np.zeros((150, 200), np.float32), np.zeros((150, 200), np.float32)
    for data, wht, pm, reject in ref_planes:
        drizzle_add(data, pm, fo, fw, weight_map=np.where(reject, 0, wht), kernel="square",
                    pixfrac=0.8, num_threads=1)
    inside = (slice(-box.y0, None), slice(-box.x0, None))
    assert np.array_equal(single.sci[inside], fo[:box.y1, :box.x1])
    assert np.array_equal(single.wht[inside], fw[:box.y1, :box.x1])
