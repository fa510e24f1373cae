"""Tests of drizzlepac_ng.astrodrizzle.sky."""

import numpy as np
import pytest

from drizzlepac_ng.astrodrizzle._stats import clipped_stats
from drizzlepac_ng.astrodrizzle.sky import SkyChip, chip_sky_statistic, compute_sky, match_offsets


def _img(level, seed, shape=(80, 80), stars=True):
    rng = np.random.default_rng(seed)
    img = rng.normal(level, 3.0, shape)
    if stars:
        ys, xs = rng.integers(0, shape[0], 40), rng.integers(0, shape[1], 40)
        img[ys, xs] += rng.uniform(200, 2000, 40)
    return img


def test_clipped_stats_reject_sources():
    img = _img(50.0, 1)
    st = clipped_stats(img, nclip=5, lsig=4, usig=4)
    assert st.median == pytest.approx(50.0, abs=0.2)
    assert st.mode == pytest.approx(50.0, abs=0.5)
    assert st.stddev == pytest.approx(3.0, rel=0.1)
    assert clipped_stats(np.full(10, np.nan)).npix == 0


@pytest.mark.parametrize("stat", ["median", "mode", "mean"])
def test_chip_statistic(stat):
    img = _img(20.0, 2)
    good = np.ones(img.shape, bool)
    img[:10] = 1e4          # masked region must not matter
    good[:10] = False
    assert chip_sky_statistic(img, good, skystat=stat) == pytest.approx(20.0, abs=0.6)


def test_lower_upper_limits():
    img = _img(20.0, 3)
    img[:40] = -500.0
    assert chip_sky_statistic(img, skylower=-100) == pytest.approx(20.0, abs=0.3)


def test_localmin_and_globalmin():
    # exposure 0: chips at 10 and 12; exposure 1: chips at 20 and 18; scale 2 for exposure 1
    chips = [SkyChip(_img(10, 1), None, 1.0, 0), SkyChip(_img(12, 2), None, 1.0, 0),
             SkyChip(_img(40, 3), None, 2.0, 1), SkyChip(_img(36, 4), None, 2.0, 1)]
    local = compute_sky(chips, skymethod="localmin")
    np.testing.assert_allclose(local, [10, 10, 36, 36], atol=0.5)
    glob = compute_sky(chips, skymethod="globalmin")
    # minimum brightness is 10 (exposure 0), in exposure 1's units (scale 2) 20
    np.testing.assert_allclose(glob, [10, 10, 20, 20], atol=0.5)


def test_match_offsets_least_squares():
    diffs = {(1, 0): (5.0, 100.0), (2, 1): (-2.0, 100.0), (2, 0): (3.0, 100.0)}
    off = match_offsets(diffs, 4)
    np.testing.assert_allclose(off[:3], [0.0, 5.0, 3.0], atol=1e-3)
    assert np.isnan(off[3])


def test_match_and_fallback(caplog):
    chips = [SkyChip(_img(10, 1), None, 1.0, 0), SkyChip(_img(15, 2), None, 1.0, 1)]
    diffs = {(1, 0): (5.0, 10.0)}
    np.testing.assert_allclose(compute_sky(chips, skymethod="match", differences=diffs),
                               [0, 5], atol=1e-3)
    gm = compute_sky(chips, skymethod="globalmin+match", differences=diffs)
    np.testing.assert_allclose(gm, [10, 15], atol=0.5)
    fb = compute_sky(chips, skymethod="globalmin+match", differences=None)
    np.testing.assert_allclose(fb, [10, 10], atol=0.5)
    assert "globalmin" in caplog.text


def test_subgrid_statistics_agree():
    img = _img(30.0, 7, shape=(600, 800))
    full = clipped_stats(img, nclip=5, lsig=4, usig=4)
    sub = clipped_stats(img, nclip=5, lsig=4, usig=4, max_pixels=100_000)
    assert sub.npix < 0.25 * full.npix
    assert sub.median == pytest.approx(full.median, abs=0.05)
    assert sub.stddev == pytest.approx(full.stddev, rel=0.02)
