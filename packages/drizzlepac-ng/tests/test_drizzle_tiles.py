"""Translation invariance of the drizzle kernels (tiled mosaics, issue 11).

Drizzling onto an output tile -- the pixel map minus the tile's integer
origin, a smaller output shape -- must give bit for bit the values of the
same region of a whole-frame drizzle, for every kernel, pixel map, tile
shape and thread count.  The whole frame is placed far from the origin
(x ~ 20000) so that float64 rounding of absolute coordinates would show.
"""

from __future__ import annotations

import numpy as np
import pytest

from drizzlepac_ng.drizzle_kernels import SUPPORTED_KERNELS, drizzle_add

X0, Y0 = 20000, 300          # whole-frame position of the local grid
LOCAL = (150, 170)           # (ny, nx) of the region the chips land in
FULL = (Y0 + LOCAL[0], X0 + LOCAL[1])


def _pixmap(kind: str, shape=(60, 70)) -> np.ndarray:
    """Whole-frame pixel map of a small chip; ``kind`` picks the geometry."""
    ny, nx = shape
    y, x = np.indices(shape, dtype=np.float64)
    cx, cy = X0 + 20.371, Y0 + 17.913
    if kind == "shift":
        px, py = x + cx, y + cy
    elif kind == "halfshift":          # exact half-pixel positions (rounding ties)
        px, py = x + X0 + 20.5, y + Y0 + 17.5
    elif kind == "rotation":
        th = np.deg2rad(23.7)
        px = cx + 30 + np.cos(th) * x - np.sin(th) * y
        py = cy + np.sin(th) * x + np.cos(th) * y
    elif kind == "scale":              # output pixels 0.7 of the input ones
        px, py = cx + x / 0.7, cy + y / 0.7
    elif kind == "acs":                # ACS-like cubic distortion, skew and rotation
        u = (x - nx / 2) / (nx / 2)
        v = (y - ny / 2) / (ny / 2)
        xd = x + 2.5 * u * u + 1.2 * u * v - 0.8 * v * v + 0.6 * u**3
        yd = y + 1.5 * v * v - 1.0 * u * v + 1.8 * u * u + 0.5 * v**3 + 0.02 * x
        th = np.deg2rad(-7.1)
        s = 0.0495 / 0.05
        px = cx + 15 + s * (np.cos(th) * xd - np.sin(th) * yd)
        py = cy + 5 + s * (np.sin(th) * xd + np.cos(th) * yd)
    elif kind == "big":                # drops of ~8x8 output pixels (generic path)
        px = cx + 8.3 * x[:15, :15] + 0.4 * y[:15, :15]
        py = cy + 8.1 * y[:15, :15] - 0.3 * x[:15, :15]
    else:
        raise ValueError(kind)
    return np.dstack([px, py])


def _scale_ratio(kind: str) -> float:
    return {"scale": 1 / 0.7, "big": 8.2, "acs": 0.99}.get(kind, 1.0)


def _pixfrac(kernel: str) -> float:
    if kernel in ("point", "lanczos2", "lanczos3", "lanczos5"):
        return 1.0
    return 1.6 if kernel == "tophat" else 0.8   # tophat: reach the half-pixel centres


def _inputs(pm: np.ndarray, seed: int):
    rng = np.random.default_rng(seed)
    shape = pm.shape[:2]
    data = rng.normal(10.0, 3.0, shape).astype(np.float32)
    wht = rng.uniform(0.5, 1.5, shape).astype(np.float32)
    return data, wht


def _drizzle(chips, origin, shape, kernel, pixfrac, threads, extra=False):
    """Drizzle ``chips`` (list of (data, wht, pixmap, scale)) onto an output of
    ``shape`` whose pixel (0, 0) is whole-frame pixel ``origin`` (x, y)."""
    out = [np.zeros(shape, np.float32), np.zeros(shape, np.float32),
           np.zeros(shape, np.int32)]
    if extra:
        out += [np.zeros(shape, np.float32), np.zeros(shape, np.uint32)]
    for bit, (data, wht, pm, ratio) in enumerate(chips):
        local = pm.copy()
        local[..., 0] -= origin[0]
        local[..., 1] -= origin[1]
        kw = {}
        if extra:
            kw = dict(data2=[np.abs(data) * 0.1], out_img2=[out[3]],
                      dq=(np.arange(data.size, dtype=np.uint32).reshape(data.shape) % 7),
                      out_dq=out[4])
        drizzle_add(data, local, out[0], out[1], weight_map=wht, out_ctx=out[2],
                    ctx_bit=bit, kernel=kernel, pixfrac=pixfrac, pixel_scale_ratio=ratio,
                    num_threads=threads, **kw)
    return out


def _check_tiles(chips, kernel, pixfrac, tiles, threads=1, extra=False):
    ref = _drizzle(chips, (X0, Y0), LOCAL, kernel, pixfrac, 1, extra)
    assert ref[1].max() > 0
    for tx, ty, h, w in tiles:
        got = _drizzle(chips, (X0 + tx, Y0 + ty), (h, w), kernel, pixfrac, threads, extra)
        for a, b in zip(ref, got, strict=True):
            crop = a[ty:ty + h, tx:tx + w]
            assert np.array_equal(crop, b), (kernel, (tx, ty, h, w), int((crop != b).sum()))


TILES = [(0, 0, LOCAL[0], LOCAL[1]), (37, 11, 64, 48), (13, 70, 80, 157), (101, 29, 3, 5),
         (50, 0, 150, 1), (0, 66, 1, 170)]
KINDS = ["shift", "halfshift", "rotation", "scale", "acs"]


@pytest.mark.parametrize("kernel", SUPPORTED_KERNELS)
@pytest.mark.parametrize("kind", KINDS)
def test_tile_equals_crop(kernel, kind):
    pm = _pixmap(kind)
    data, wht = _inputs(pm, 3)
    pixfrac = _pixfrac(kernel)
    _check_tiles([(data, wht, pm, _scale_ratio(kind))], kernel, pixfrac, TILES)


@pytest.mark.parametrize("pixfrac", [1.0, 0.6])
def test_tile_equals_crop_wide_square_drops(pixfrac):
    """Drops of ~8x8 output pixels (more cells than the fast paths handle)."""
    pm = _pixmap("big")
    data, wht = _inputs(pm, 4)
    _check_tiles([(data, wht, pm, 8.2)], "square", pixfrac, TILES)


@pytest.mark.parametrize("kernel", ["square", "turbo", "gaussian", "tophat"])
@pytest.mark.parametrize("pixfrac", [1.0, 0.5, 1.6])
def test_tile_equals_crop_pixfrac(kernel, pixfrac):
    pm = _pixmap("acs")
    data, wht = _inputs(pm, 5)
    _check_tiles([(data, wht, pm, 0.99)], kernel, pixfrac, TILES[1:4])


@pytest.mark.parametrize("kernel", SUPPORTED_KERNELS)
def test_tile_equals_crop_two_threads_two_chips(kernel):
    chips = []
    for seed, kind in enumerate(["acs", "rotation"]):
        pm = _pixmap(kind)
        data, wht = _inputs(pm, seed)
        chips.append((data, wht, pm, _scale_ratio(kind)))
    pixfrac = _pixfrac(kernel)
    _check_tiles(chips, kernel, pixfrac, TILES, threads=2)


@pytest.mark.parametrize("kernel", ["square", "turbo", "point", "gaussian"])
def test_tile_equals_crop_variance_and_dq(kernel):
    pm = _pixmap("acs")
    data, wht = _inputs(pm, 9)
    _check_tiles([(data, wht, pm, 0.99)], kernel, 0.8, TILES[1:3], threads=2, extra=True)


def test_tile_mismatch_is_detectable():
    """The comparison can fail: a sub-pixel (non-integer) origin changes the bits."""
    pm = _pixmap("acs")
    data, wht = _inputs(pm, 1)
    chips = [(data, wht, pm, 0.99)]
    ref = _drizzle(chips, (X0, Y0), LOCAL, "square", 1.0, 1)
    got = _drizzle(chips, (X0 + 37.25, Y0 + 11), (64, 48), "square", 1.0, 1)
    assert not np.array_equal(ref[0][11:75, 37:85], got[0])
