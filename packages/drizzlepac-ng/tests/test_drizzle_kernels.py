"""Properties of the compiled drizzle kernels (through drizzle_kernels.drizzle_add).

Exactness on identity and integer shifts, flux and weight conservation under
rotation, scale and pixfrac, overlap areas against an independent polygon
clipper, masks, NaN handling, data2/DQ propagation, sub-regions, and
bit-identical results for 1, 2 and 4 threads.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from drizzlepac_ng.drizzle_kernels import (
    SUPPORTED_KERNELS,
    drizzle_add,
    estimate_pixmap_scale_ratio,
)

CONSERVING = ["square", "turbo", "point"]


def identity_pixmap(ny, nx, dx=0.0, dy=0.0):
    y, x = np.indices((ny, nx), dtype=np.float64)
    return np.dstack([x + dx, y + dy])


def affine_pixmap(ny, nx, *, angle=0.0, scale=1.0, offset=(0.0, 0.0), centre=None):
    """Output = offset + R(angle) * (input - centre) / scale (scale = out/in pixel size)."""
    y, x = np.indices((ny, nx), dtype=np.float64)
    cx, cy = centre if centre is not None else ((nx - 1) / 2, (ny - 1) / 2)
    c, s = np.cos(np.deg2rad(angle)), np.sin(np.deg2rad(angle))
    u, v = (x - cx) / scale, (y - cy) / scale
    return np.dstack([offset[0] + c * u - s * v, offset[1] + s * u + c * v])


def distorted_pixmap(ny, nx, seed=0):
    """A smooth, rotated, slightly distorted map with scale ~1.1."""
    y, x = np.indices((ny, nx), dtype=np.float64)
    u, v = x / nx - 0.5, y / ny - 0.5
    pm = affine_pixmap(ny, nx, angle=17.0, scale=1.1, offset=(nx * 0.6, ny * 0.6))
    pm[..., 0] += 2.5 * u * u - 1.5 * u * v
    pm[..., 1] += 2.0 * v * v + 1.0 * u * u
    return pm


def interior_sources(ny, nx, seed=3, margin=6):
    rng = np.random.default_rng(seed)
    img = np.zeros((ny, nx), np.float32)
    img[margin:-margin, margin:-margin] = rng.gamma(2.0, 10.0, (ny - 2 * margin, nx - 2 * margin))
    return img


def run(data, pixmap, oshape, kernel="square", **kw):
    out = np.full(oshape, np.nan, np.float32)
    wht = np.zeros(oshape, np.float32)
    counts = drizzle_add(data, pixmap, out, wht, kernel=kernel, **kw)
    return out, wht, counts


# --------------------------------------------------------------------- exactness
@pytest.mark.parametrize("shape", [(17, 23), (2, 2), (40, 3)])
def test_identity_square_pixfrac1_reproduces_input_exactly(shape):
    data = np.random.default_rng(1).normal(5, 2, shape).astype(np.float32)
    out, wht, (nmiss, nskip) = run(data, identity_pixmap(*shape), shape)
    assert_array_equal(out, data)
    assert_array_equal(wht, np.ones(shape, np.float32))
    assert (nmiss, nskip) == (0, 0)


@pytest.mark.parametrize("kernel", ["square", "point", "turbo", "tophat"])
@pytest.mark.parametrize("shift", [(3, -2), (-5, 4), (0, 7)])
def test_integer_shift_is_exact(kernel, shift):
    ny, nx = 20, 30
    data = np.random.default_rng(2).normal(0, 1, (ny, nx)).astype(np.float32)
    dx, dy = shift
    out, wht, _ = run(data, identity_pixmap(ny, nx, dx, dy), (ny, nx), kernel)
    ys, xs = np.nonzero(wht > 0)
    assert_array_equal(out[ys, xs], data[ys - dy, xs - dx])
    assert_array_equal(wht[ys, xs], 1.0)
    expected = (nx - abs(dx)) * (ny - abs(dy))
    assert len(ys) == expected


# ------------------------------------------------------------------ conservation
@settings(max_examples=25, deadline=None)
@given(
    kernel=st.sampled_from(CONSERVING),
    angle=st.floats(-180, 180),
    scale=st.floats(0.5, 2.5),
    pixfrac=st.floats(0.1, 1.0),
)
def test_flux_and_weight_conserved(kernel, angle, scale, pixfrac):
    ny, nx = 24, 28
    data = interior_sources(ny, nx)
    wmap = np.random.default_rng(4).uniform(0.5, 2.0, (ny, nx)).astype(np.float32)
    oshape = (int(60 / scale) + 10,) * 2
    pm = affine_pixmap(ny, nx, angle=angle, scale=scale, offset=(oshape[1] / 2, oshape[0] / 2))
    out, wht, (nmiss, _) = run(
        data,
        pm,
        oshape,
        kernel,
        weight_map=wmap,
        pixfrac=pixfrac,
        pixel_scale_ratio=scale,
        iscale=1.7,
    )
    assert nmiss == 0
    covered = wht != 0
    total = np.sum(out[covered].astype(np.float64) * wht[covered])
    expected = 1.7 * np.sum(data.astype(np.float64) * wmap)
    assert total == pytest.approx(expected, rel=1e-5)
    assert wht.sum(dtype=np.float64) == pytest.approx(wmap.sum(dtype=np.float64), rel=1e-5)


@pytest.mark.parametrize("scale", [0.5, 1.0, 2.0, 3.0])
@pytest.mark.parametrize("angle", [0.0, 33.0])
def test_square_surface_flux_with_iscale(scale, angle):
    """With iscale = scale**2 the sum of the output equals the input flux."""
    ny, nx = 30, 36
    data = interior_sources(ny, nx, margin=8)
    oshape = (int(80 / scale) + 8,) * 2
    pm = affine_pixmap(ny, nx, angle=angle, scale=scale, offset=(oshape[1] / 2, oshape[0] / 2))
    out, wht, _ = run(data, pm, oshape, iscale=scale**2)
    assert np.nansum(out, dtype=np.float64) == pytest.approx(data.sum(dtype=np.float64), rel=1e-5)


def _clip_area(poly, x0, y0):
    """Area of a convex polygon clipped to [x0, x0+1] x [y0, y0+1] (Sutherland-Hodgman)."""

    def clip(pts, inside, cross):
        res = []
        for k in range(len(pts)):
            p, q = pts[k - 1], pts[k]
            if inside(q):
                if not inside(p):
                    res.append(cross(p, q))
                res.append(q)
            elif inside(p):
                res.append(cross(p, q))
        return res

    def xcut(c):
        return lambda p, q: (c, p[1] + (q[1] - p[1]) * (c - p[0]) / (q[0] - p[0]))

    def ycut(c):
        return lambda p, q: (p[0] + (q[0] - p[0]) * (c - p[1]) / (q[1] - p[1]), c)

    pts = list(poly)
    for inside, cross in [
        (lambda p: p[0] >= x0, xcut(x0)),
        (lambda p: p[0] <= x0 + 1, xcut(x0 + 1)),
        (lambda p: p[1] >= y0, ycut(y0)),
        (lambda p: p[1] <= y0 + 1, ycut(y0 + 1)),
    ]:
        pts = clip(pts, inside, cross)
        if not pts:
            return 0.0
    xs, ys = np.array(pts).T
    return 0.5 * abs(np.dot(xs, np.roll(ys, -1)) - np.dot(ys, np.roll(xs, -1)))


@settings(max_examples=30, deadline=None)
@given(
    angle=st.floats(0, 360),
    scale=st.floats(0.4, 3.0),
    fx=st.floats(0, 1),
    fy=st.floats(0, 1),
    pixfrac=st.floats(0.2, 1.0),
)
def test_square_overlap_matches_polygon_clipping(angle, scale, fx, fy, pixfrac):
    """One lit pixel in an affine map: output weights are the exact overlap fractions."""
    ny = nx = 5
    data = np.zeros((ny, nx), np.float32)
    pm = affine_pixmap(ny, nx, angle=angle, scale=scale, offset=(10 + fx, 10 + fy))
    wmap = np.zeros((ny, nx), np.float32)
    wmap[2, 2] = 1.0
    out, wht, _ = run(data, pm, (21, 21), weight_map=wmap, pixfrac=pixfrac)
    # the drop: corners of the centre pixel shrunk by pixfrac, mapped affinely
    h = pixfrac / 2
    c, s = np.cos(np.deg2rad(angle)), np.sin(np.deg2rad(angle))
    corners = [
        ((2 + dx - 2) / scale, (2 + dy - 2) / scale)
        for dx, dy in [(-h, h), (h, h), (h, -h), (-h, -h)]
    ]
    quad = [(10 + fx + c * u - s * v, 10 + fy + s * u + c * v) for u, v in corners]
    area = 0.5 * abs(
        sum(quad[k - 1][0] * quad[k][1] - quad[k][0] * quad[k - 1][1] for k in range(4))
    )
    expect = np.zeros_like(wht, dtype=np.float64)
    for jj in range(21):
        for ii in range(21):
            expect[jj, ii] = _clip_area(quad, ii - 0.5, jj - 0.5) / area
    assert_allclose(wht, expect, atol=2e-6)


def test_turbo_and_point_match_numpy_reference():
    rng = np.random.default_rng(7)
    ny, nx = 8, 9
    data = rng.normal(3, 1, (ny, nx)).astype(np.float32)
    pm = affine_pixmap(ny, nx, angle=21.0, scale=1.3, offset=(9.3, 8.7))
    out, wht, _ = run(data, pm, (18, 18), "turbo", pixfrac=0.8, pixel_scale_ratio=1.3)
    num = np.zeros((18, 18))
    den = np.zeros((18, 18))
    half = 0.8 / 1.3 / 2
    for j in range(ny):
        for i in range(nx):
            cx, cy = pm[j, i]
            for jj in range(18):
                for ii in range(18):
                    ox = min(cx + half, ii + 0.5) - max(cx - half, ii - 0.5)
                    oy = min(cy + half, jj + 0.5) - max(cy - half, jj - 0.5)
                    if ox > 0 and oy > 0:
                        dw = ox * oy / (2 * half) ** 2
                        num[jj, ii] += data[j, i] * dw
                        den[jj, ii] += dw
    covered = den > 0
    assert_array_equal(wht > 0, covered)
    assert_allclose(out[covered], num[covered] / den[covered], rtol=1e-6)
    assert_allclose(wht, den, rtol=1e-6, atol=1e-7)

    out, wht, _ = run(data, pm, (18, 18), "point")
    num[:] = 0
    den[:] = 0
    for j in range(ny):
        for i in range(nx):
            ii, jj = (np.floor(pm[j, i] + 0.5)).astype(int)
            num[jj, ii] += data[j, i]
            den[jj, ii] += 1
    covered = den > 0
    assert_allclose(out[covered], num[covered] / den[covered], rtol=1e-6)
    assert_array_equal(wht, den)


# ------------------------------------------------------------ masks, NaN, ctx, dq
def test_masked_pixels_get_no_weight_or_context():
    ny, nx = 10, 12
    data = np.ones((ny, nx), np.float32)
    mask = np.zeros((ny, nx), bool)
    mask[3, 4] = True
    wmap = np.ones((ny, nx), np.float32)
    wmap[6, 7] = 0.0
    out = np.zeros((ny, nx), np.float32)
    wht = np.zeros((ny, nx), np.float32)
    ctx = np.zeros((ny, nx), np.int32)
    nmiss, nskip = drizzle_add(
        data, identity_pixmap(ny, nx), out, wht, mask=mask, weight_map=wmap, out_ctx=ctx, ctx_bit=5
    )
    assert wht[3, 4] == 0 and wht[6, 7] == 0 and ctx[3, 4] == 0 and ctx[6, 7] == 0
    good = np.ones((ny, nx), bool)
    good[3, 4] = good[6, 7] = False
    assert np.all(wht[good] == 1) and np.all(ctx[good] == 1 << 5)
    assert (nmiss, nskip) == (0, 0)  # excluded pixels are not "missed"


@pytest.mark.parametrize("kernel", SUPPORTED_KERNELS)
def test_nan_inputs_never_reach_the_output(kernel):
    ny, nx = 16, 18
    rng = np.random.default_rng(5)
    data = rng.normal(1, 0.1, (ny, nx)).astype(np.float32)
    data[4, 5] = np.nan
    data[8, 2] = np.inf
    wmap = np.ones((ny, nx), np.float32)
    wmap[10, 10] = np.nan
    var = np.abs(data)
    var[12, 3] = np.nan
    pm = affine_pixmap(ny, nx, angle=10, scale=1.0, offset=(14, 14))
    pm[2, 2] = np.nan
    pm[0, 7, 1] = np.inf
    out = np.zeros((28, 28), np.float32)
    wht = np.zeros((28, 28), np.float32)
    out2 = np.zeros((28, 28), np.float32)
    nmiss, _ = drizzle_add(
        data,
        pm,
        out,
        wht,
        weight_map=wmap,
        data2=[var],
        out_img2=[out2],
        kernel=kernel,
        pixel_scale_ratio=1.0,
    )
    assert np.isfinite(out).all() and np.isfinite(wht).all() and np.isfinite(out2).all()
    assert nmiss >= 6


def test_data2_uses_squared_weights_and_dq_is_ored():
    # 2x2 binning: each output pixel is the mean of 4 inputs
    ny, nx = 8, 8
    rng = np.random.default_rng(6)
    data = rng.normal(10, 1, (ny, nx)).astype(np.float32)
    var = rng.uniform(1, 2, (ny, nx)).astype(np.float32)
    dq = (1 << rng.integers(0, 8, (ny, nx))).astype(np.uint16)
    pm = affine_pixmap(ny, nx, scale=2.0, centre=(-0.5, -0.5), offset=(-0.5, -0.5))
    out = np.zeros((4, 4), np.float32)
    wht = np.zeros((4, 4), np.float32)
    out2 = np.zeros((4, 4), np.float32)
    odq = np.zeros((4, 4), np.uint32)
    drizzle_add(data, pm, out, wht, data2=var, out_img2=[out2], dq=dq, out_dq=odq)
    blocks = lambda a: a.reshape(4, 2, 4, 2).astype(np.float64)  # noqa: E731
    assert_allclose(out, blocks(data).mean(axis=(1, 3)), rtol=1e-6)
    assert_allclose(out2, blocks(var).sum(axis=(1, 3)) / 16, rtol=1e-6)
    assert_array_equal(
        odq, np.bitwise_or.reduce(np.bitwise_or.reduce(dq.reshape(4, 2, 4, 2), axis=3), axis=1)
    )


def test_weighted_mean_update_across_calls():
    ny, nx = 6, 7
    pm = identity_pixmap(ny, nx)
    out = np.zeros((ny, nx), np.float32)
    wht = np.zeros((ny, nx), np.float32)
    drizzle_add(np.full((ny, nx), 2.0), pm, out, wht, weight_map=np.full((ny, nx), 1.0))
    drizzle_add(np.full((ny, nx), 5.0), pm, out, wht, weight_map=np.full((ny, nx), 3.0))
    assert_allclose(out, (2 * 1 + 5 * 3) / 4)
    assert_array_equal(wht, 4)


def test_subregion_and_counts():
    ny, nx = 10, 10
    data = np.ones((ny, nx), np.float32)
    out, wht, (nmiss, nskip) = run(
        data, identity_pixmap(ny, nx, 0, 0), (ny, nx), "point", xmin=2, xmax=5, ymin=1, ymax=3
    )
    assert_array_equal(np.argwhere(wht > 0)[[0, -1]], [[1, 2], [3, 5]])
    assert int(wht.sum()) == 4 * 3 and (nmiss, nskip) == (0, 0)
    # half the input maps off the frame: 5 columns missed on every row
    out, wht, (nmiss, nskip) = run(data, identity_pixmap(ny, nx, 5, 0), (ny, nx), "point")
    assert (nmiss, nskip) == (50, 0)
    out, wht, (nmiss, nskip) = run(data, identity_pixmap(ny, nx, 0, 6), (ny, nx), "point")
    assert (nmiss, nskip) == (60, 6)


def test_exposure_and_intensity_scaling():
    data = np.full((5, 5), 100.0, np.float32)
    out, _, _ = run(data, identity_pixmap(5, 5), (5, 5), iscale=0.5, expscale=20.0)
    assert_allclose(out, 2.5)


def test_pixel_scale_ratio_estimate():
    pm = affine_pixmap(20, 30, angle=40, scale=1.7, offset=(5, 5))
    assert estimate_pixmap_scale_ratio(pm) == pytest.approx(1.7, rel=1e-9)
    data = np.random.default_rng(8).normal(size=(20, 30)).astype(np.float32)
    a = run(data, pm, (30, 30), "turbo", pixel_scale_ratio=None)
    b = run(data, pm, (30, 30), "turbo", pixel_scale_ratio=1.7)
    assert_array_equal(a[0], b[0])


# --------------------------------------------------------------------- threads
@pytest.mark.parametrize("kernel", SUPPORTED_KERNELS)
def test_bit_identical_for_1_2_4_threads(kernel):
    ny, nx = 120, 90
    rng = np.random.default_rng(9)
    data = rng.normal(10, 3, (ny, nx)).astype(np.float32)
    wmap = rng.uniform(0.2, 1.0, (ny, nx)).astype(np.float32)
    var = rng.uniform(0.5, 1.5, (ny, nx)).astype(np.float32)
    dq = rng.integers(0, 2**16, (ny, nx)).astype(np.uint32)
    pm = distorted_pixmap(ny, nx)
    oshape = (170, 160)
    results = []
    for nt in (1, 2, 4):
        out = np.full(oshape, 7.0, np.float32)
        wht = np.zeros(oshape, np.float32)
        wht[::7, ::5] = 0.5  # previous contributions
        out2 = np.ones(oshape, np.float32)
        ctx = np.zeros(oshape, np.int32)
        odq = np.zeros(oshape, np.uint32)
        counts = drizzle_add(
            data,
            pm,
            out,
            wht,
            weight_map=wmap,
            data2=[var],
            out_img2=[out2],
            dq=dq,
            out_dq=odq,
            out_ctx=ctx,
            ctx_bit=31,
            kernel=kernel,
            pixfrac=0.8,
            pixel_scale_ratio=1.1,
            num_threads=nt,
        )
        results.append((out, wht, out2, ctx, odq, counts))
    assert (results[0][1] > 0.5).sum() > 1000
    for other in results[1:]:
        for a, b in zip(results[0], other, strict=False):
            assert_array_equal(a, b)


@pytest.mark.parametrize("kernel", ["point", "square"])
def test_threads_with_bad_and_outside_map_values(kernel):
    """Non-finite and out-of-frame map values, masked and zero-weight pixels:
    outputs and counts identical for 1..4 and 6 threads (up to 4 threads
    the point kernel splits the output columns between threads, and a pixel
    with a non-finite map value belongs to no column; with more it uses the
    bands of the other kernels)."""
    ny, nx = 60, 80
    rng = np.random.default_rng(21)
    data = rng.normal(10, 3, (ny, nx)).astype(np.float32)
    wmap = rng.uniform(0.2, 1.0, (ny, nx)).astype(np.float32)
    wmap[rng.random((ny, nx)) < 0.05] = 0.0
    mask = rng.random((ny, nx)) < 0.05
    pm = distorted_pixmap(ny, nx)
    bad = rng.random((ny, nx)) < 0.03
    pm[bad, 0] = rng.choice([np.nan, np.inf, -np.inf, 1e300], bad.sum())
    pm[5:9, :, 0] -= 200.0  # rows partly and wholly off the frame
    pm[40, 30:, 1] += 500.0
    oshape = (90, 100)
    results = []
    for nt in (1, 2, 3, 4, 6):
        out, wht, counts = run(data, pm, oshape, kernel, weight_map=wmap, mask=mask,
                               pixel_scale_ratio=1.1, num_threads=nt)
        results.append((out, wht, counts))
    assert results[0][2][0] > 0 and (results[0][1] > 0).sum() > 1000
    for other in results[1:]:
        for a, b in zip(results[0], other, strict=True):
            assert_array_equal(a, b)


@pytest.mark.parametrize("kernel", ["square", "turbo"])
@pytest.mark.parametrize("pixfrac", [1.5, 2.5])
def test_pixfrac_above_one_conserves(kernel, pixfrac):
    ny, nx = 20, 24
    data = interior_sources(ny, nx)
    pm = affine_pixmap(ny, nx, angle=25.0, scale=0.9, offset=(30, 30))
    out, wht, (nmiss, _) = run(data, pm, (60, 60), kernel, pixfrac=pixfrac, pixel_scale_ratio=0.9)
    covered = wht != 0
    total = np.sum(out[covered].astype(np.float64) * wht[covered])
    assert nmiss == 0
    assert total == pytest.approx(data.sum(dtype=np.float64), rel=1e-5)
    assert wht.sum(dtype=np.float64) == pytest.approx(ny * nx, rel=1e-5)
