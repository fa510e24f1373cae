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
