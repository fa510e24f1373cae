"""Tests of drizzlepac_ng.astrodrizzle.median."""

import numpy as np
import pytest

from drizzlepac_ng.astrodrizzle.median import combine, combine_block, plan_rows
from drizzlepac_ng.errors import MemoryLimitError


def _stack(n=4, shape=(40, 50), seed=0, level=5.0, exptime=100.0):
    rng = np.random.default_rng(seed)
    truth = np.full(shape, level)
    truth[20, 25] = 200.0
    imgs = [rng.normal(truth, np.sqrt(truth * exptime + 25) / exptime).astype(np.float32)
            for _ in range(n)]
    wts = [np.full(shape, exptime, np.float32) for _ in range(n)]
    return truth, imgs, wts


def test_minmed_rejects_cosmic_rays_keeps_star():
    truth, imgs, wts = _stack()
    imgs[1][5, 5] += 500.0
    imgs[2][30, 40] += 50.0
    out = combine(imgs, wts, exptime=[100.0] * 4, readnoise=[5.0] * 4, sky=[0.0] * 4)
    assert out.dtype == np.float32
    assert abs(out[5, 5] - 5.0) < 1.0 and abs(out[30, 40] - 5.0) < 1.0
    assert out[20, 25] == pytest.approx(200.0, rel=0.02)


def test_minmed_two_images_uses_mean_or_minimum():
    a = np.full((5, 5), 10.0, np.float32)
    b = a.copy()
    b[2, 2] = 1000.0
    w = np.full((5, 5), 1000.0, np.float32)
    out = combine_block(np.stack([a, b]), np.stack([w, w]), np.zeros((2, 5, 5), bool),
                        combine_type="minmed", grow=0, exptime=[1000.0] * 2,
                        readnoise=[5.0] * 2)
    assert out[2, 2] == pytest.approx(10.0)   # mean 505 is far above the minimum: use minimum
    assert out[0, 0] == pytest.approx(10.0)


def test_minmed_definition_by_hand():
    # 3 images: M = median after rejecting the highest = mean of the two lowest
    vals = np.array([1.0, 1.2, 9.0])[:, None, None].astype(np.float32)
    w = np.ones_like(vals)
    out = combine_block(vals, w, np.zeros(vals.shape, bool), combine_type="minmed", grow=0,
                        nsigma=(4.0, 3.0))
    # M = 1.1, m = 1.0, Wsum = 3, rms = sqrt(3.3) = 1.82: 3.0 < 3.3 - 7.3 false -> median
    assert out[0, 0] == pytest.approx(1.1)


def test_masks_all_masked_and_i_variants():
    a = np.array([[1.0, 2.0]], np.float32)
    b = np.array([[3.0, 4.0]], np.float32)
    c = np.array([[5.0, 9.0]], np.float32)
    stack = np.stack([a, b, c])
    w = np.ones_like(stack)
    bad = np.zeros(stack.shape, bool)
    bad[:, 0, 0] = True                    # pixel 0 masked everywhere
    bad[2, 0, 1] = True
    med = combine_block(stack, w, bad, combine_type="median")
    assert med[0, 0] == 0.0 and med[0, 1] == pytest.approx(3.0)
    imed = combine_block(stack, w, bad, combine_type="imedian")
    assert imed[0, 0] == pytest.approx(3.0) and imed[0, 1] == pytest.approx(3.0)
    assert combine_block(stack, w, bad, combine_type="mean")[0, 1] == pytest.approx(3.0)
    assert combine_block(stack, w, bad, combine_type="sum")[0, 1] == pytest.approx(6.0)
    assert combine_block(stack, w, bad, combine_type="imean")[0, 0] == pytest.approx(3.0)


def test_nlow_nhigh_thresholds():
    vals = np.array([1.0, 2.0, 3.0, 4.0, 100.0], np.float32)[:, None, None]
    w = np.ones_like(vals)
    bad = np.zeros(vals.shape, bool)
    assert combine_block(vals, w, bad, combine_type="mean", nhigh=1)[0, 0] == 2.5
    assert combine_block(vals, w, bad, combine_type="mean", nlow=1, nhigh=1)[0, 0] == 3.0
    assert combine_block(vals, w, bad, combine_type="mean", hthresh=50)[0, 0] == 2.5
    assert combine_block(vals, w, bad, combine_type="median", lthresh=1.5)[0, 0] == 3.5


def test_weight_mask_maskpt():
    truth, imgs, wts = _stack(3)
    imgs[0][10, 10] = 1e4
    wts[0][10, 10] = 10.0              # 0.1 of the mean weight: masked with maskpt 0.3
    out = combine(imgs, wts, combine_type="mean", combine_maskpt=0.3)
    assert abs(out[10, 10] - 5.0) < 1.0
    out2 = combine(imgs, wts, combine_type="mean", combine_maskpt=0.05)
    assert out2[10, 10] > 100


@pytest.mark.parametrize("ctype", ["minmed", "median", "imean"])
def test_band_height_does_not_change_result(ctype):
    truth, imgs, wts = _stack(5, seed=3)
    imgs[2][::7, ::5] += 300
    kw = dict(combine_type=ctype, exptime=[100.0] * 5, readnoise=[4.0] * 5)
    full = combine(imgs, wts, rows=1000, **kw)
    for rows in (1, 3, 7):
        np.testing.assert_array_equal(combine(imgs, wts, rows=rows, **kw), full)


def test_memory_budget():
    assert plan_rows(4, (4000, 4000), None) == 256
    rows = plan_rows(4, (4000, 4000), 100_000_000)
    assert 1 <= rows < 4000
    with pytest.raises(MemoryLimitError, match="memory_limit"):
        plan_rows(40, (100, 100_000), 1_000_000)
    with pytest.raises(ValueError, match="combine_type"):
        combine([np.zeros((2, 2))], [np.ones((2, 2))], combine_type="mode")


# --------------------------------------------------------------------------------------------
# speed paths give the same values as the plain ones
def test_sorting_network_sorts():
    from drizzlepac_ng.astrodrizzle.median import _network

    rng = np.random.default_rng(3)
    for n in range(1, 25):
        vals = rng.integers(0, 5, size=(200, n)).astype(float)  # many ties
        for i, j in _network(n):
            lo = np.minimum(vals[:, i], vals[:, j])
            vals[:, j] = np.maximum(vals[:, i], vals[:, j])
            vals[:, i] = lo
        assert np.all(np.diff(vals, axis=1) >= 0), n


@pytest.mark.parametrize("n", [3, 4, 7])
@pytest.mark.parametrize("grow", [0, 1, 2])
def test_minmed_plane_path_equals_sort_path(monkeypatch, n, grow):
    import drizzlepac_ng.astrodrizzle.median as med

    rng = np.random.default_rng(n * 10 + grow)
    shape = (30, 41)
    imgs = rng.normal(10, 3, (n,) + shape).astype(np.float32)
    imgs[rng.random(imgs.shape) < 0.05] += 400.0  # cosmic rays
    imgs[rng.random(imgs.shape) < 0.01] = np.nan
    wts = rng.uniform(0, 2, (n,) + shape).astype(np.float32)
    bad = wts < 0.5
    bad[:, 0, :3] = True  # pixels masked everywhere
    kw = dict(grow=grow, sky=list(rng.uniform(20, 50, n)), exptime=[400.0] * n,
              readnoise=[5.0] * n)
    for ctype in ("minmed", "iminmed"):
        fast = med.combine_block(imgs, wts, bad, combine_type=ctype, **kw)
        monkeypatch.setattr(med, "_NETWORK_MAX", 0)
        plain = med.combine_block(imgs, wts, bad, combine_type=ctype, **kw)
        monkeypatch.undo()
        np.testing.assert_array_equal(fast, plain)


@pytest.mark.parametrize("ctype", ["minmed", "imedian"])
def test_threads_do_not_change_the_result(ctype):
    _, imgs, wts = _stack(n=5, shape=(300, 40), seed=4)
    kw = dict(combine_type=ctype, exptime=[100.0] * 5, readnoise=[4.0] * 5, sky=[10.0] * 5)
    serial = combine(imgs, wts, rows=32, **kw)
    for threads in (2, 3):
        np.testing.assert_array_equal(combine(imgs, wts, rows=32, num_threads=threads, **kw),
                                      serial)
    limited = combine(imgs, wts, memory_limit=600_000, num_threads=2, **kw)
    np.testing.assert_array_equal(limited, serial)


def test_ordered_map_order_errors_and_prefetch():
    import threading
    import time

    from drizzlepac_ng.astrodrizzle.median import ordered_map

    def slow_square(k):
        time.sleep(0.002 * (5 - k % 5))  # later items finish first
        return k * k, threading.get_ident()

    items = list(range(12))
    for workers, ahead in ((1, None), (3, None), (1, 1), (2, 4)):
        out = list(ordered_map(slow_square, items, workers, ahead=ahead))
        assert [r[0] for r in out] == [k * k for k in items]
        threads = {r[1] for r in out}
        assert (threads == {threading.get_ident()}) == (workers == 1 and ahead is None)

    def fail_on_five(k):
        if k == 5:
            raise ValueError("item five")
        return k

    with pytest.raises(ValueError, match="item five"):
        list(ordered_map(fail_on_five, items, 2))


def test_weight_thresholds_known_at_write_time(tmp_path):
    from drizzlepac_ng.astrodrizzle.median import weight_masks
    from drizzlepac_ng.astrodrizzle.pipeline import BandFile

    rng = np.random.default_rng(6)
    w = rng.uniform(-1.0, 3.0, (1100, 37)).astype(np.float32)
    band = BandFile(tmp_path / "w.f32", w, weight=True)
    assert band.positive_sum_count is not None
    plain = BandFile(tmp_path / "w2.f32", w)
    assert plain.positive_sum_count is None
    expect = weight_masks([w], 0.3)
    assert weight_masks([band], 0.3) == expect == weight_masks([plain], 0.3)


@pytest.mark.parametrize("kind", ["minmed", "imedian"])
@pytest.mark.parametrize("maskpt", [None, 0.7])
@pytest.mark.parametrize("threads", [1, 2])
def test_combine_fills_the_median_support_of_crrej(maskpt, threads, kind):
    """combine(support=...) gives crrej.median_support of the same weights, band by band,
    with the median's own thresholds (the i types: only zero weights are gaps)."""
    from drizzlepac_ng.astrodrizzle import crrej
    from drizzlepac_ng.astrodrizzle.median import combine, weight_masks

    rng = np.random.default_rng(8)
    shape = (75, 40)
    images = [rng.normal(10.0, 1.0, shape).astype(np.float32) for _ in range(4)]
    weights = []
    for _ in range(4):
        w = rng.uniform(0.0, 2.0, shape).astype(np.float32)
        w[rng.random(shape) < 0.3] = 0.0
        w[10:20, :] = 0.0                 # rows where no image has data
        weights.append(w)
    thr = weight_masks(weights, maskpt) if maskpt and not kind.startswith("i") else None
    support = np.ones(shape, dtype=bool)
    combine(images, weights, combine_type=kind, combine_maskpt=maskpt, rows=8,
            num_threads=threads, support=support)
    expected = crrej.median_support(weights, thr)
    np.testing.assert_array_equal(support, expected)
    if maskpt:   # the thresholds matter: some positive weights are below them
        assert not np.array_equal(crrej.median_support(weights, weight_masks(weights, maskpt)),
                                  crrej.median_support(weights))
    assert not support[10:20].any() and support.any()
    with pytest.raises(ValueError, match="support must be"):
        combine(images, weights, support=np.zeros((3, 3), dtype=bool))


def test_has_data_is_positive_weight_not_below_the_threshold_in_float32():
    from drizzlepac_ng.astrodrizzle.median import has_data

    t = float(np.float32(0.5)) + 1e-12        # equal to 0.5 in float32
    w = np.array([[0.0, -1.0, np.nan, 0.4, 0.5, 2.0, np.inf]], dtype=np.float32)
    np.testing.assert_array_equal(has_data(w, t), [[False, False, False, False, True, True,
                                                    True]])
    np.testing.assert_array_equal(has_data(w), [[False, False, False, True, True, True, True]])
    assert has_data(w.astype(np.float64), t).dtype == bool
