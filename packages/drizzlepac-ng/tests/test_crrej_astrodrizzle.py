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


# --------------------------------------------------------------------------------------------
# pixels the median does not model (see the crrej module notes)
# --------------------------------------------------------------------------------------------
def test_median_support_is_where_the_median_combines_data():
    from drizzlepac_ng.astrodrizzle import median as median_mod
    from drizzlepac_ng.astrodrizzle.crrej import median_support

    rng = np.random.default_rng(3)
    shape = (40, 50)
    weights = [rng.uniform(0.0, 2.0, shape).astype(np.float32) for _ in range(3)]
    for w in weights:
        w[rng.random(shape) < 0.2] = 0.0
    weights[0][5:8, 5:8] = weights[1][5:8, 5:8] = weights[2][5:8, 5:8] = 0.0
    images = [np.full(shape, 7.0, np.float32) for _ in weights]
    thr = median_mod.weight_masks(weights, 0.3)
    for kind in ("median", "minmed", "mean"):
        med = median_mod.combine(images, weights, combine_type=kind, combine_maskpt=0.3)
        support = median_support(weights, thr)
        assert not support[5:8, 5:8].any()
        assert np.array_equal(support, med != 0), kind    # 0 exactly where nothing is combined
    # the i types fill what the weight thresholds mask: only zero weights are gaps
    assert np.array_equal(median_support(weights), np.any([w > 0 for w in weights], axis=0))
    with pytest.raises(ValueError, match="thresholds"):
        median_support(weights, thr[:2])
    with pytest.raises(ValueError, match="no weight"):
        median_support([])
    with pytest.raises(ValueError, match="shape"):
        median_support([weights[0], weights[1][:, :10]])


def test_model_gaps_follow_the_interpolant_reach():
    from drizzlepac_ng.astrodrizzle.crrej import INTERP_REACH, model_gaps

    support = np.ones((21, 21), bool)
    support[10, 10] = False
    assert np.array_equal(model_gaps(support, "nearest"), ~support)
    for interp in ("linear", "poly3", "poly5", "lan5", "sinc"):
        r = INTERP_REACH[interp]
        g = model_gaps(support, interp)
        assert g.sum() == (2 * r + 1) ** 2
        assert g[10 - r:11 + r, 10 - r:11 + r].all()
    with pytest.raises(ValueError, match="interpolant"):
        model_gaps(support, "cubic")


def test_unmodelled_pixels_use_the_nearest_median_pixel():
    from drizzlepac_ng.astrodrizzle.crrej import unmodelled_pixels

    gaps = np.zeros((30, 30), bool)
    gaps[12, 14] = True
    yy, xx = np.mgrid[:20, :25].astype(float)
    pm = np.dstack([xx + 4.4, yy + 2.6])          # chip (y, x) -> median (y + 2.6, x + 4.4)
    pm[0, 0] = np.nan
    out = unmodelled_pixels(gaps, pm)
    assert out[0, 0]                              # no position: no model
    assert out[9, 10]                             # (11.6, 14.4) rounds to (12, 14)
    assert out.sum() == 2
    edge = unmodelled_pixels(gaps, pm + np.array([10.0, 0.0]))   # x + 14.4: off the frame
    assert edge[1:, 16:].all()                    # from x = 30.4 on (rounds to 30)
    assert edge[9, 0] and edge[1:, :16].sum() == 1   # (11.6, 14.4) again
    with pytest.raises(ValueError, match="shape"):
        unmodelled_pixels(gaps, pm[..., 0])


@pytest.mark.parametrize("shape", [(130, 201), (64, 64), (1, 300), (257, 63)])
def test_unmodelled_pixels_equal_a_pixel_by_pixel_look_up(shape):
    """The block shortcut gives exactly the per-pixel answer (distorted, rotated map
    running off the frame, a few non-finite positions, sparse gaps)."""
    from drizzlepac_ng.astrodrizzle.crrej import unmodelled_pixels

    rng = np.random.default_rng(7)
    gaps = rng.random((180, 240)) < 0.0005
    gaps[90:95, 100:104] = True
    yy, xx = np.mgrid[:shape[0], :shape[1]].astype(float)
    t = np.radians(8.0)
    px = 20.0 + np.cos(t) * xx - np.sin(t) * yy + 2e-4 * xx ** 2
    py = 30.0 + np.sin(t) * xx + np.cos(t) * yy + 1e-4 * xx * yy
    pm = np.dstack([px, py])
    pm[rng.random(shape) < 0.001] = np.nan
    x, y = np.rint(px), np.rint(py)
    inside = np.isfinite(pm).all(axis=2) & (x >= 0) & (x < 240) & (y >= 0) & (y < 180)
    expected = ~inside
    expected[inside] = gaps[y[inside].astype(int), x[inside].astype(int)]
    assert np.array_equal(unmodelled_pixels(gaps, pm), expected)


def test_saturated_core_without_median_data_is_not_flagged():
    """A star saturated in every exposure: its median core has no data (0).

    The blotted 0 rings onto the unsaturated pixels around the core, which
    pass 1 then flags; with the pixels whose blot draws on the gap left out
    (the pipeline's rule) the star is untouched and a cosmic ray elsewhere is
    still found.
    """
    from drizzlepac_ng.astrodrizzle.crrej import median_support, model_gaps, unmodelled_pixels
    from drizzlepac_ng.blot import blot_image

    rng = np.random.default_rng(5)
    shape = (64, 64)
    x0, y0, sigma, flux, full_well = 31.3, 32.6, 0.9, 4.0e5, 8.0e4

    def star(x, y):
        return 50.0 + flux / (2 * np.pi * sigma ** 2) * np.exp(
            -((x - x0) ** 2 + (y - y0) ** 2) / (2 * sigma ** 2))

    yy, xx = np.mgrid[:shape[0], :shape[1]].astype(float)
    median = star(xx, yy).astype(np.float32)
    hole = median > 0.5 * full_well                # masked in every single image
    assert 1 <= hole.sum() <= 6
    median[hole] = 0.0
    weights = [np.where(hole, 0.0, 1.0).astype(np.float32)] * 4
    shift = np.array([0.37, -0.21])
    pm = np.dstack([xx, yy]) + shift                # chip pixel -> median position
    truth = star(pm[..., 0], pm[..., 1])
    data = rng.normal(truth, np.sqrt(truth + 25.0)).astype(np.float32)
    good = truth < full_well                        # saturated pixels are DQ-flagged
    data[10, 50] += 3000.0                          # a cosmic ray
    blot = blot_image(median, pm, interp="poly5")
    near_star = (np.hypot(pm[..., 0] - x0, pm[..., 1] - y0) <= 6)

    naive = flag_cosmic_rays(data, blot, readnoise=5.0, good=good)
    assert (naive & near_star).sum() >= 2          # the false flags the rule removes
    unmodelled = unmodelled_pixels(model_gaps(median_support(weights), "poly5"), pm)
    assert unmodelled.sum() <= 100
    cr = flag_cosmic_rays(data, blot, readnoise=5.0, good=good & ~unmodelled)
    assert not (cr & near_star).any()
    assert cr[10, 50]
    assert cr.sum() <= 12


def test_pipeline_spares_cores_saturated_in_every_exposure(tmp_path, monkeypatch):
    """The whole-frame pipeline applies the rule (pixels near saturated cores unflagged)."""
    import glob
    import inspect

    from drizzlepac_ng import simulate
    from drizzlepac_ng.astrodrizzle import crrej, pipeline
    from drizzlepac_ng.astrodrizzle.config import AstroDrizzleConfig
    from drizzlepac_ng.astrodrizzle.inputs import load_exposures

    if "support" not in inspect.signature(pipeline.find_cosmic_rays).parameters:
        pytest.skip("pipeline.find_cosmic_rays does not take the median support yet")
    sim = simulate.simulate_exposures(4, shape=(256, 512), seed=2, dither="box",
                                      output_dir=tmp_path, n_bright=3, n_galaxies=0)
    exposures = load_exposures(sorted(glob.glob(str(tmp_path / "*_flc.fits"))))
    cfg = AstroDrizzleConfig.resolve(None, {"driz_combine": False})

    def flags_near_saturated_cores(result):
        n_sat = n_flag = 0
        for exp, s in zip(result.exposures, sim, strict=True):
            for chip in exp.chips:
                truth = s.truth.chip(chip.extver)
                cr = result.crmasks[chip.label]
                yy, xx = np.mgrid[:cr.shape[0], :cr.shape[1]]
                for row in truth.sources:
                    if row["SATURATED"]:
                        n_sat += 1
                        near = (xx - row["X"]) ** 2 + (yy - row["Y"]) ** 2 <= 16
                        n_flag += int((cr & near & (truth.crmask == 0)).sum())
        return n_sat, n_flag

    n_sat, n_flag = flags_near_saturated_cores(pipeline.run_pipeline(exposures, cfg))
    assert n_sat >= 4 and n_flag == 0
    # without the rule (every chip pixel taken as modelled) the cores are flagged
    monkeypatch.setattr(crrej, "unmodelled_pixels",
                        lambda gaps, pm: np.zeros(np.shape(pm)[:2], bool))
    assert flags_near_saturated_cores(pipeline.run_pipeline(exposures, cfg))[1] >= 5
