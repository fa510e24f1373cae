"""Tests of drizzlepac_ng.astrodrizzle.crrej."""

import numpy as np
import pytest

from drizzlepac_ng.astrodrizzle.crrej import cte_trail, derivative, flag_cosmic_rays, grow_mask


def _scene(seed=0, shape=(96, 96)):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    model = np.full(shape, 100.0)
    stars = [(20, 30, 5e4), (60, 70, 2e4), (75, 15, 8e3)]
    for y, x, f in stars:
        model += f / (2 * np.pi * 1.2**2) * np.exp(-((xx - x)**2 + (yy - y)**2) / (2 * 1.2**2))
    data = rng.normal(model, np.sqrt(model + 25.0))
    return model, data, stars


def test_derivative():
    a = np.zeros((5, 5))
    a[2, 2] = 10.0
    d = derivative(a)
    assert d[2, 2] == 10 and d[1, 2] == 10 and d[2, 3] == 10
    assert d[1, 1] == 0 and d[0, 0] == 0


def test_clean_image_no_flags_and_crs_found():
    model, data, stars = _scene()
    cr = flag_cosmic_rays(data, model, gain=1.0, readnoise=5.0, grow=0)
    # pure noise: only the chance |z| > 3.5 pixels (4.7e-4 of 9216 pixels)
    assert cr.sum() <= 10
    hits = [(10, 10), (40, 50), (80, 80), (24, 30)]   # last one on a star wing
    dirty = data.copy()
    for y, x in hits:
        dirty[y, x] += 800.0
    cr = flag_cosmic_rays(dirty, model, gain=1.0, readnoise=5.0, grow=0)
    for y, x in hits:
        assert cr[y, x]
    for y, x, _ in stars:   # star cores are not flagged
        assert not cr[y, x]


def test_second_pass_catches_faint_neighbour():
    model, data, _ = _scene(1)
    dirty = data.copy()
    dirty[40, 40] += 1000.0
    # 3.2 sigma: fails the 3.0 pass-2 test but not the 3.5 pass-1 test
    dirty[40, 41] = model[40, 41] + 3.2 * np.sqrt(model[40, 41] + 25)
    dirty[10, 41] = model[10, 41] + 3.2 * np.sqrt(model[10, 41] + 25)
    cr = flag_cosmic_rays(dirty, model, gain=1.0, readnoise=5.0, grow=1)
    assert cr[40, 40] and cr[40, 41]
    assert not cr[10, 41]
    # grow=0: no neighbourhood test, the faint neighbour passes
    assert not flag_cosmic_rays(dirty, model, gain=1.0, readnoise=5.0, grow=0)[40, 41]


def test_grow_is_the_radius_of_the_stringent_test_and_input_untouched():
    model, data, _ = _scene(2)
    dirty = data.copy()
    dirty[50, 50] += 2000.0
    faint = 3.2 * np.sqrt(model[50, 52] + 25)   # between the pass-2 (3.0) and pass-1 (3.5) limits
    dirty[50, 52] = model[50, 52] + faint
    before = dirty.copy()
    cr1 = flag_cosmic_rays(dirty, model, readnoise=5.0, grow=1)
    cr2 = flag_cosmic_rays(dirty, model, readnoise=5.0, grow=2)
    assert cr1[50, 50] and not cr1[50, 52]      # 2 px away: outside radius 1
    assert cr2[50, 50] and cr2[50, 52]          # inside radius 2
    # clean neighbours are never flagged by the neighbourhood test
    assert cr2[47:54, 47:54].sum() == 2
    np.testing.assert_array_equal(dirty, before)


def test_gain_and_good_mask():
    model, data, _ = _scene(3)
    # data in counts with gain 2: noise in counts is sqrt(2 B + rn^2) / 2
    counts_model, counts = model / 2.0, data / 2.0
    counts[30, 30] += 400
    cr = flag_cosmic_rays(counts, counts_model, gain=2.0, readnoise=5.0, grow=0)
    assert cr[30, 30] and cr.sum() <= 10
    good = np.ones_like(cr)
    good[30, 30] = False
    assert not flag_cosmic_rays(counts, counts_model, gain=2.0, readnoise=5.0, grow=0,
                                good=good)[30, 30]
    with pytest.raises(ValueError, match="gain"):
        flag_cosmic_rays(counts, counts_model, gain=0.0)


def test_cte_trail_and_grow_helpers():
    m = np.zeros((8, 4), bool)
    m[3, 1] = True
    up = cte_trail(m, 2, +1)
    assert up[3:6, 1].all() and up.sum() == 3
    down = cte_trail(m, 2, -1)
    assert down[1:4, 1].all() and down.sum() == 3
    assert cte_trail(m, 2, 0).sum() == 1
    assert grow_mask(m, 1).sum() == 9


# --------------------------------------------------------------------------------------------
def test_box_dilate_equals_maximum_filter():
    from scipy.ndimage import maximum_filter

    from drizzlepac_ng.astrodrizzle.crrej import box_dilate

    rng = np.random.default_rng(5)
    for shape in ((1, 1), (1, 9), (7, 1), (40, 33)):
        mask = rng.random(shape) < 0.05
        mask[0, 0] = True
        for radius in (0, 1, 2, 5):
            expect = maximum_filter(mask.astype(np.uint8), size=2 * radius + 1,
                                    mode="constant") > 0
            np.testing.assert_array_equal(box_dilate(mask, radius), expect)


@pytest.mark.parametrize("grow,ctegrow,ctedir", [(0, 0, 0), (1, 0, 0), (2, 3, 1), (1, 2, -1)])
def test_bands_and_threads_do_not_change_the_mask(monkeypatch, grow, ctegrow, ctedir):
    import drizzlepac_ng.astrodrizzle.crrej as crrej

    model, data, _ = _scene(seed=2, shape=(150, 70))
    rng = np.random.default_rng(9)
    data[rng.random(data.shape) < 0.02] += 2000.0
    good = rng.random(data.shape) > 0.03
    kw = dict(gain=1.0, readnoise=5.0, grow=grow, ctegrow=ctegrow, ctedir=ctedir, good=good)
    monkeypatch.setattr(crrej, "_BAND_ROWS", 10_000)  # one band: the whole image
    whole = crrej.flag_cosmic_rays(data, model, **kw)
    assert whole.sum() > 100
    for rows in (1, 7, 64):
        monkeypatch.setattr(crrej, "_BAND_ROWS", rows)
        for threads in (1, 2):
            np.testing.assert_array_equal(
                crrej.flag_cosmic_rays(data, model, num_threads=threads, **kw), whole)
