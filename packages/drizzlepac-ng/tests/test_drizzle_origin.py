"""drizzle_add(out_origin=...): drizzling onto a window of the output grid.

The output arrays hold global output pixels [x0, x0 + nx) x [y0, y0 + ny)
while the pixel map stays global; the kernels subtract the origin only from
integer positions, so a window is bit for bit the same region of a drizzle
onto the whole grid, for every kernel, thread count and output plane.  The
last tests show why the feature exists: subtracting the origin from the map
instead rounds map values that cross a power of two.
"""

import numpy as np
import pytest

from drizzlepac_ng.drizzle_kernels import drizzle_add
from drizzlepac_ng.errors import KernelArgumentError

SCALE = 0.9
FRAME = (90, 2110)          # (ny, nx): x spans 2048, the power of two the chips cross
BIG_ORIGIN = (-40, -40)     # a window holding the frame and everything hanging off it
BIG_SHAPE = (185, 2200)


def _chip(seed: int, x0: float, y0: float, rot: float, shape=(48, 56)):
    """Data, weights, mask, variance, DQ and a distorted map (one NaN) of a chip."""
    rng = np.random.default_rng(seed)
    ny, nx = shape
    y, x = np.mgrid[0:ny, 0:nx].astype(np.float64)
    th = np.deg2rad(rot)
    px = x0 + SCALE * (np.cos(th) * x - np.sin(th) * y) + 3e-4 * x * y
    py = y0 + SCALE * (np.sin(th) * x + np.cos(th) * y) + 2e-4 * x * x
    pm = np.dstack([px, py])
    pm[7, 9] = np.nan
    data = rng.normal(10, 3, shape).astype(np.float32)
    data[4, 30] = np.inf
    wht = rng.uniform(0.5, 1.5, shape).astype(np.float32)
    wht[rng.random(shape) < 0.02] = 0
    mask = rng.random(shape) < 0.03
    var = rng.uniform(1, 2, shape).astype(np.float32)
    dq = rng.integers(0, 256, shape).astype(np.uint32)
    return dict(data=data, weight_map=wht, mask=mask, data2=[var], dq=dq, pixmap=pm)


# one chip across x = 2048 (map values change binade), one hanging off the
# frame's lower-left corner, one off its upper-right corner
CHIPS = [_chip(1, 2020.37, 20.11, 17.3), _chip(2, -25.81, -18.29, -8.1),
         _chip(3, 2080.13, 55.47, 31.0)]


def _drizzle(shape, origin, kernel, pixfrac, nt, chips=CHIPS):
    planes = dict(sci=np.zeros(shape, np.float32), wht=np.zeros(shape, np.float32),
                  ctx=np.zeros(shape, np.int32), var=np.zeros(shape, np.float32),
                  dq=np.zeros(shape, np.uint32))
    counts = []
    for k, c in enumerate(chips):
        counts.append(drizzle_add(
            c["data"], c["pixmap"], planes["sci"], planes["wht"], weight_map=c["weight_map"],
            mask=c["mask"], data2=c["data2"], out_img2=[planes["var"]], dq=c["dq"],
            out_dq=planes["dq"], out_ctx=planes["ctx"], ctx_bit=k, kernel=kernel,
            pixfrac=pixfrac, pixel_scale_ratio=SCALE, num_threads=nt, out_origin=origin))
    return planes, counts


def _region(planes, origin, box):
    """Global box (x0, x1, y0, y1) of planes whose element [0, 0] is ``origin``."""
    x0, x1, y0, y1 = box
    return {k: v[y0 - origin[1]:y1 - origin[1], x0 - origin[0]:x1 - origin[0]]
            for k, v in planes.items()}


def _assert_same(a, b):
    for k in a:
        assert a[k].shape == b[k].shape
        assert np.array_equal(a[k].view(np.uint32) if a[k].dtype == np.float32 else a[k],
                              b[k].view(np.uint32) if b[k].dtype == np.float32 else b[k]), k


# (origin, shape): hanging off the lower-left corner (negative origin), across
# x = 2048, at the upper-right edge and beyond, small interior, the whole
# frame plus a border on every side
TILES = [((-16, -12), (40, 70)), ((2030, 0), (45, 40)), ((2075, 50), (70, 60)),
         ((2041, 33), (13, 17)), ((-3, -2), (FRAME[0] + 5, FRAME[1] + 9))]


@pytest.mark.parametrize("nt", [1, 2, 3])
@pytest.mark.parametrize("pixfrac", [1.0, 0.7])
@pytest.mark.parametrize("kernel", ["square", "point", "turbo", "gaussian", "lanczos2",
                                    "lanczos3", "tophat"])
def test_window_equals_whole_grid(kernel, pixfrac, nt):
    whole, wcounts = _drizzle(FRAME, (0, 0), kernel, pixfrac, 1)
    big, counts = _drizzle(BIG_SHAPE, BIG_ORIGIN, kernel, pixfrac, 1)
    # the big window holds every chip; the frame misses parts of the last two
    assert counts[0] == wcounts[0]
    assert counts[1].nmiss < wcounts[1].nmiss and counts[2].nmiss < wcounts[2].nmiss
    nbig = [np.count_nonzero(big["ctx"] & (1 << k)) for k in range(3)]
    nwhole = [np.count_nonzero(whole["ctx"] & (1 << k)) for k in range(3)]
    assert nbig[0] == nwhole[0] > 0 and nbig[1] > nwhole[1] > 0 and nbig[2] > nwhole[2] > 0
    _assert_same(_region(big, BIG_ORIGIN, (0, FRAME[1], 0, FRAME[0])), whole)
    for origin, shape in TILES:
        tile, _ = _drizzle(shape, origin, kernel, pixfrac, nt)
        box = (origin[0], origin[0] + shape[1], origin[1], origin[1] + shape[0])
        _assert_same(tile, _region(big, BIG_ORIGIN, box))
        assert tile["wht"].any()


def test_window_with_subregion_and_no_extras():
    """Input sub-region, no weights/mask/extras: the fast paths."""
    c = CHIPS[0]
    for kernel in ("square", "turbo", "point"):
        ref_s = np.zeros(FRAME, np.float32)
        ref_w = np.zeros(FRAME, np.float32)
        drizzle_add(c["data"], c["pixmap"], ref_s, ref_w, kernel=kernel, xmin=3, xmax=50,
                    ymin=2, ymax=40, num_threads=2)
        s = np.zeros((60, 70), np.float32)
        w = np.zeros((60, 70), np.float32)
        drizzle_add(c["data"], c["pixmap"], s, w, kernel=kernel, xmin=3, xmax=50,
                    ymin=2, ymax=40, num_threads=2, out_origin=(np.int64(2000), 10))
        assert np.array_equal(s.view(np.uint32), ref_s[10:70, 2000:2070].view(np.uint32))
        assert np.array_equal(w.view(np.uint32), ref_w[10:70, 2000:2070].view(np.uint32))
        assert w.sum() > 0


def _tie_chip():
    """A 4x4 chip whose pixel (1, 1) maps just below a rounding tie,
    2045.5 - 2**-42 (the last bit of a float64 near 2045): shifted by +3 it
    becomes 2048.5 - 2**-42, which is not a float64 (the spacing there is
    2**-41) and rounds to the tie 2048.5 (ties to even)."""
    y, x = np.mgrid[0:4, 0:4].astype(np.float64)
    pm = np.dstack([2044.5 + x, 10.25 + y])
    pm[1, 1, 0] = 2045.5 - 2.0**-42
    return np.ones((4, 4), np.float32), pm


def test_shifting_the_map_is_not_exact():
    _, pm = _tie_chip()
    v = pm[1, 1, 0]
    assert (v + 3.0) - 3.0 != v          # the shift across 2048 loses the last bit
    assert (v - 1.0) + 1.0 == v          # downwards (finer spacing) it is exact


@pytest.mark.parametrize("kernel", ["point"])
def test_origin_exact_where_map_shift_is_not(kernel):
    """A tile with origin (-3, -2) that reaches past x = 2048: out_origin
    gives the whole-grid bits; the old way (map minus the origin, a tile at
    0) moves the pixel at the tie to the next output column."""
    data, pm = _tie_chip()
    pfrac = 1.0
    frame = (20, 2060)
    ref_s, ref_w = np.zeros(frame, np.float32), np.zeros(frame, np.float32)
    drizzle_add(data, pm, ref_s, ref_w, kernel=kernel, pixfrac=pfrac, pixel_scale_ratio=1.0)
    origin = (-3, -2)
    shape = (frame[0] + 2, frame[1] + 3)
    sub = (slice(-origin[1], None), slice(-origin[0], None))
    s, w = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    drizzle_add(data, pm, s, w, kernel=kernel, pixfrac=pfrac, pixel_scale_ratio=1.0,
                out_origin=origin)
    assert np.array_equal(s[sub], ref_s) and np.array_equal(w[sub], ref_w)
    old_s, old_w = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    drizzle_add(data, pm - np.array(origin, np.float64), old_s, old_w, kernel=kernel,
                pixfrac=pfrac, pixel_scale_ratio=1.0)
    assert not np.array_equal(old_w[sub], ref_w)
    assert old_w.sum() == ref_w.sum()     # the same weight, in another column


@pytest.mark.parametrize("bad", [(1.5, 0), (0,), (0, 0, 0), 3, ("a", 0), (True, 0),
                                 (0, 10**10)])
def test_bad_origin(bad):
    s, w = np.zeros((4, 4), np.float32), np.zeros((4, 4), np.float32)
    data, pm = _tie_chip()
    with pytest.raises(KernelArgumentError, match="out_origin"):
        drizzle_add(data, pm, s, w, out_origin=bad)
