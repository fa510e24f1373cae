"""Tests of drizzlepac_ng.astrodrizzle.staticmask."""

import numpy as np
import pytest

from drizzlepac_ng.astrodrizzle.staticmask import chip_static_mask, combine_static_masks


def _sky(seed, shape=(64, 64)):
    return np.random.default_rng(seed).normal(100.0, 5.0, shape)


def test_low_pixels_masked_only():
    data = _sky(1)
    data[10, 10] = 20.0     # 16 sigma low: bad
    data[20, 20] = 90.0     # 2 sigma low: fine
    data[30, 30] = 5000.0   # high (a star): fine
    mask = chip_static_mask(data, static_sig=4.0)
    assert not mask[10, 10]
    assert mask[20, 20] and mask[30, 30]
    assert mask.mean() > 0.999


def test_threshold_scales_with_sig():
    data = _sky(2)
    data[5, 5] = 100 - 6 * 5.0
    assert not chip_static_mask(data, static_sig=4.0)[5, 5]
    assert chip_static_mask(data, static_sig=8.0)[5, 5]


def test_nan_is_bad_and_input_untouched():
    data = _sky(3)
    data[0, 0] = np.nan
    before = data.copy()
    mask = chip_static_mask(data)
    assert not mask[0, 0]
    np.testing.assert_array_equal(data, before)


def test_and_combination_per_key():
    a, b = _sky(4), _sky(5)
    a[1, 1] = 0.0
    b[2, 2] = 0.0
    c = _sky(6, (32, 32))
    masks = combine_static_masks([("chip1", a), ("chip1", b), ("chip2", c)])
    assert set(masks) == {"chip1", "chip2"}
    assert not masks["chip1"][1, 1] and not masks["chip1"][2, 2]
    assert masks["chip2"].shape == (32, 32)
    with pytest.raises(ValueError, match="chip1"):
        combine_static_masks([("chip1", a), ("chip1", c)])


def test_clipped_stats_subsets_give_the_same_values():
    from drizzlepac_ng.astrodrizzle._stats import clipped_stats

    rng = np.random.default_rng(8)
    data = rng.normal(40.0, 5.0, (300, 200)).astype(np.float32)
    data[::7, ::5] += 300.0
    data[3, :10] = np.nan
    good = rng.random(data.shape) > 0.05
    kw = dict(lower=20.0, upper=80.1, nclip=5, lsig=4.0, usig=4.0, binwidth=0.1)
    full = clipped_stats(data, good, **kw)
    assert full.npix > 0 and np.isfinite(full.mode) and np.isfinite(full.median)
    for want in (("median",), ("mode",), ("mode", "stddev"), ("mean",)):
        part = clipped_stats(data, good, want=want, **kw)
        for name in ("mean", "stddev", "npix") + want:
            assert getattr(part, name) == getattr(full, name), (want, name)
        if "median" not in want and "mode" not in want:
            assert np.isnan(part.median)
    with pytest.raises(ValueError, match="unknown statistic"):
        clipped_stats(data, want=("average",))
