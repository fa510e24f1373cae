"""Unit tests of the alignment building blocks: finder, matching, fitting, catalogs."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from drizzlepac_ng.align import catalogs, finder, fitting, matching
from drizzlepac_ng.errors import ConfigError, InputFileError
from drizzlepac_ng.imagefindpars import ImageFindPars


def _field(n=60, shape=(200, 300), seed=0, sigma_psf=1.0, noise=5.0, sky=50.0):
    rng = np.random.default_rng(seed)
    ny, nx = shape
    x = rng.uniform(10, nx - 10, n)
    y = rng.uniform(10, ny - 10, n)
    flux = rng.uniform(3000, 20000, n)
    yy, xx = np.mgrid[:ny, :nx]
    img = np.full(shape, sky)
    for xi, yi, fi in zip(x, y, flux, strict=True):
        sl = (slice(int(yi) - 8, int(yi) + 9), slice(int(xi) - 8, int(xi) + 9))
        img[sl] += fi / (2 * np.pi * sigma_psf ** 2) * np.exp(
            -0.5 * ((xx[sl] - xi) ** 2 + (yy[sl] - yi) ** 2) / sigma_psf ** 2)
    img += rng.normal(0, noise, shape)
    return img, x, y, flux


def _nearest(xs, ys, x, y):
    d = np.hypot(xs[:, None] - x[None], ys[:, None] - y[None])
    return d.min(axis=1), d.argmin(axis=1)


def test_finder_recovers_positions():
    img, x, y, _ = _field()
    src = finder.find_sources(img, ImageFindPars())
    d, k = _nearest(x, y, src.x, src.y)
    found = d < 0.5
    assert found.mean() > 0.9
    assert np.median(d[found]) < 0.03
    assert src.skysigma == pytest.approx(5.0, rel=0.1)
    assert np.all(np.diff(src.flux) <= 0)  # brightest first


def test_finder_dq_mask_and_hot_pixel_cut():
    img, x, y, _ = _field(n=10, seed=1)
    img[50, 50] += 5000.0  # single hot pixel
    all_src = finder.find_sources(img)
    d, _ = _nearest(np.array([50.0]), np.array([50.0]), all_src.x, all_src.y)
    assert d[0] < 0.5
    cut = finder.find_sources(img, ImageFindPars(use_sharp_round=True))
    d, _ = _nearest(np.array([50.0]), np.array([50.0]), cut.x, cut.y)
    assert d[0] > 1.0
    assert len(cut) >= 9
    mask = np.zeros(img.shape, dtype=bool)
    mask[45:56, 45:56] = True
    masked = finder.find_sources(img, mask=mask)
    d, _ = _nearest(np.array([50.0]), np.array([50.0]), masked.x, masked.y)
    assert d[0] > 1.0


def test_finder_limits_and_empty():
    img, *_ = _field(n=30, seed=2)
    src = finder.find_sources(img)
    lim = finder.find_sources(img, ImageFindPars(fluxmax=float(np.median(src.flux))))
    assert 0 < len(lim) < len(src)
    flat = np.random.default_rng(0).normal(100, 3, (100, 100))
    assert len(finder.find_sources(flat)) < 3
    with pytest.raises(ConfigError):
        finder.find_sources(np.zeros(10))
    with pytest.raises(ConfigError):
        finder.find_sources(img, mask=np.zeros((3, 3), dtype=bool))


@pytest.mark.parametrize("width,ratio,theta", [(3.5, 1.0, 0.0), (2.5, 0.6, 30.0), (9.0, 1.0, 0.0)])
def test_correlate_equals_scipy_bit_for_bit(width, ratio, theta):
    from scipy import ndimage
    img, *_ = _field(n=20, shape=(61, 97), seed=4)
    img = img.astype(np.float32)
    img[5, 7] = np.float32(3e38)              # large values, as bad data may hold
    k, _ = finder.gaussian_kernel(width, ratio, theta)
    ref = ndimage.correlate(img, k.astype(np.float32), mode="constant", cval=0.0)
    for nt in (1, 2, 3):
        got = finder.correlate(img, k, num_threads=nt)
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got.view(np.uint32), ref.view(np.uint32))


def test_correlate_small_images_and_bad_kernel():
    from scipy import ndimage
    k, _ = finder.gaussian_kernel(9.0)              # 11 x 11: larger than the images
    for shape in [(1, 1), (1, 40), (40, 1), (3, 7)]:
        img = np.random.default_rng(1).normal(0, 1, shape).astype(np.float32)
        ref = ndimage.correlate(img, k.astype(np.float32), mode="constant", cval=0.0)
        np.testing.assert_array_equal(finder.correlate(img, k), ref)
    with pytest.raises(ConfigError):
        finder.correlate(np.zeros((5, 5), np.float32), np.ones((4, 3)))
    with pytest.raises(ConfigError):
        finder.correlate(np.zeros(5, np.float32), np.ones((3, 3)))


def test_threshold_peaks_and_sky_subtraction_kernels():
    from drizzlepac_ng.kernels._finder import subtract_and_blank, threshold_peaks
    rng = np.random.default_rng(3)
    conv = rng.normal(0, 1, (60, 80)).astype(np.float32)
    conv[10, 10:13] = 9.0                      # a plateau: ties are kept
    conv[30, 30] = np.nan
    conv[40, 40] = np.inf
    bad = rng.random(conv.shape) < 0.1
    for edge in (1, 3, 5):
        inner = conv[edge:-edge, edge:-edge]
        ok = (inner > np.float32(1.5)) & ~bad[edge:-edge, edge:-edge]
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                nb = conv[edge + dy:conv.shape[0] - edge + dy, edge + dx:conv.shape[1] - edge + dx]
                ok &= inner >= nb
        ey, ex = np.nonzero(ok)
        iy, ix = threshold_peaks(conv, bad.view(np.uint8), np.float32(1.5), edge)
        np.testing.assert_array_equal(iy, ey + edge)
        np.testing.assert_array_equal(ix, ex + edge)
    iy, _ = threshold_peaks(conv[:4], bad[:4].view(np.uint8), np.float32(1.5), 2)
    assert iy.size == 0
    # many peaks (white noise, low threshold): the output buffers grow several times
    noise = rng.normal(0, 1, (420, 397)).astype(np.float32)
    nb = np.zeros(noise.shape, np.uint8)
    inner = noise[1:-1, 1:-1]
    ok = inner > np.float32(-0.5)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            ok &= inner >= noise[1 + dy:noise.shape[0] - 1 + dy, 1 + dx:noise.shape[1] - 1 + dx]
    ey, ex = np.nonzero(ok)
    iy, ix = threshold_peaks(noise, nb, np.float32(-0.5), 1)
    assert ey.size > 10000
    np.testing.assert_array_equal(iy, ey + 1)
    np.testing.assert_array_equal(ix, ex + 1)
    img = rng.normal(5, 1, (7, 9)).astype(np.float32)
    expect = img - np.float32(2.5)
    expect[bad[:7, :9]] = 0.0
    subtract_and_blank(img, np.ascontiguousarray(bad[:7, :9]).view(np.uint8), np.float32(2.5), 2)
    np.testing.assert_array_equal(img, expect)


def _brute_force_peaks(conv, bad, thresh, edge, footprint):
    """Pixels >= edge inside, above thresh, not bad, >= every 3x3 and footprint neighbour."""
    ny, nx = conv.shape
    inner = conv[edge:ny - edge, edge:nx - edge]
    ok = (inner > thresh) & ~bad[edge:ny - edge, edge:nx - edge]
    r = footprint.shape[0] // 2
    offsets = {(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)}
    offsets |= {(int(a) - r, int(b) - r) for a, b in zip(*np.nonzero(footprint), strict=True)}
    for dy, dx in offsets - {(0, 0)}:
        ok &= inner >= conv[edge + dy:ny - edge + dy, edge + dx:nx - edge + dx]
    ey, ex = np.nonzero(ok)
    return ey + edge, ex + edge


def test_local_maxima_after_threshold_peaks_is_the_footprint_maximum():
    """threshold_peaks' candidates already pass the 3x3 test; with _local_maxima the result is
    the brute-force footprint maximum (ties, plateaus, NaN, +-inf, candidates at the edge)."""
    from drizzlepac_ng.kernels._finder import threshold_peaks
    rng = np.random.default_rng(21)
    checked = 0
    for trial in range(12):
        shape = (int(rng.integers(20, 90)), int(rng.integers(20, 90)))
        conv = rng.normal(0, 1, shape).astype(np.float32)
        if trial % 3 == 1:
            conv = np.round(conv * 2).astype(np.float32) / 2      # many ties
        conv[rng.random(shape) < 0.03] = np.nan
        conv[rng.random(shape) < 0.01] = np.inf
        conv[rng.random(shape) < 0.01] = -np.inf
        y0, x0 = int(rng.integers(0, shape[0] - 4)), int(rng.integers(0, shape[1] - 6))
        conv[y0:y0 + 3, x0:x0 + 5] = 4.0                          # a plateau
        conv[:, -4:] = np.float32(3.0)                           # flat ridge at the edge
        bad = rng.random(shape) < 0.05
        width = float(rng.uniform(1.5, 6.0))
        _, footprint = finder.gaussian_kernel(width, float(rng.uniform(0.4, 1.0)),
                                              float(rng.uniform(0, 180)))
        r = footprint.shape[0] // 2
        edge = max(r, 3)
        for thresh in (np.float32(-0.5), np.float32(0.8)):
            iy, ix = threshold_peaks(conv, bad.view(np.uint8), thresh, edge)
            v = conv[iy, ix]
            for dy in (-1, 0, 1):             # the test _local_maxima no longer repeats
                for dx in (-1, 0, 1):
                    assert (v >= conv[iy + dy, ix + dx]).all()
            got = finder._local_maxima(conv, iy, ix, footprint, chunk=7)
            ey, ex = _brute_force_peaks(conv, bad, thresh, edge, footprint)
            np.testing.assert_array_equal(got[0], ey)
            np.testing.assert_array_equal(got[1], ex)
            checked += ey.size
    assert checked > 100


def test_sky_median_equals_numpy_median():
    from drizzlepac_ng.align.finder import _median
    rng = np.random.default_rng(9)
    for n in [*range(1, 30), 1000, 1001, 24999]:
        a = rng.normal(0, 1, n) * 10.0 ** rng.uniform(-5, 5)
        for v in (a, np.round(a, 1), np.full(n, 3.25)):
            assert _median(v) == float(np.median(v))


def test_sky_statistics_bad_mask_is_the_subsample_of_good():
    """bad= reads the mask at the subsample pixels: the statistics of the pre-subsampled image."""
    rng = np.random.default_rng(12)
    for shape, max_samples in (((300, 401), 7000), ((64, 64), 10**6), ((517, 263), 5000)):
        img = rng.normal(20.0, 3.0, shape).astype(np.float32)
        img[rng.random(shape) < 0.01] = np.nan
        bad = rng.random(shape) < 0.2
        step = max(1, int(np.ceil(img.size / max_samples)))
        assert step > 1 or max_samples > img.size
        sub = finder.sky_statistics(img.ravel()[::step], ~bad.ravel()[::step],
                                    max_samples=max_samples)
        assert finder.sky_statistics(img, bad=bad, max_samples=max_samples) == sub
        assert finder.sky_statistics(img, ~bad, max_samples=max_samples) == sub
        both = finder.sky_statistics(img, ~bad, bad=bad, max_samples=max_samples)
        assert both == sub
        other = rng.random(shape) < 0.5                # good and not bad
        assert finder.sky_statistics(img, other, bad=bad, max_samples=max_samples) == \
            finder.sky_statistics(img, other & ~bad, max_samples=max_samples)
        assert finder.sky_statistics(img, bad=bad, max_samples=max_samples) != \
            finder.sky_statistics(img, bad=other, max_samples=max_samples)
    assert finder.sky_statistics(img, bad=np.ones(shape, bool)) == (0.0, 0.0)
    with pytest.raises(ConfigError, match="bad mask"):
        finder.sky_statistics(img, bad=bad[:10])


def test_finder_threads_do_not_change_the_sources():
    img, *_ = _field(n=80, shape=(300, 400), seed=6)
    one = finder.find_sources(img, num_threads=1)
    two = finder.find_sources(img, num_threads=2)
    assert len(one) > 50
    for name in ("x", "y", "flux", "peak", "sharp", "round1", "round2", "err"):
        np.testing.assert_array_equal(getattr(one, name), getattr(two, name))


def test_kernel_is_zero_sum():
    k, fp = finder.gaussian_kernel(3.5, 0.6, 30.0, 1.5)
    assert abs(k.sum()) < 1e-12 and fp.any()


def test_histogram_offset_and_matching():
    rng = np.random.default_rng(3)
    ref = rng.uniform(0, 2000, (800, 2))
    true = np.array([7.3, -4.1])
    inp = ref[:600] - true + rng.normal(0, 0.05, (600, 2))
    inp = np.vstack([inp, rng.uniform(0, 2000, (300, 2))])  # unmatched junk (cosmic rays)
    h = matching.histogram_offset(ref, inp, 20.0)
    assert h.significant
    assert np.allclose(h.offset, true, atol=0.1)
    # a tight pair cap still finds it (memory bound)
    h2 = matching.histogram_offset(ref, inp, 20.0, max_pairs=2000)
    assert np.allclose(h2.offset, true, atol=0.2)
    iref, iin = matching.match_xy(ref, inp, 1.0, offset=h.offset)
    assert len(iref) >= 590
    assert np.all(iref == iin)  # by construction the first 600 pair up in order


def test_separation_drops_close_pairs():
    xy = np.array([[0.0, 0.0], [0.3, 0.0], [10.0, 10.0]])
    assert list(matching.remove_close_pairs(xy, 0.5)) == [2]


@pytest.mark.parametrize("geometry", ["shift", "rscale", "general"])
def test_fit_recovers_transform(geometry):
    rng = np.random.default_rng(4)
    inp = rng.uniform(0, 4000, (300, 2))
    th = np.radians(0.02)
    if geometry == "shift":
        m = np.eye(2)
    elif geometry == "rscale":
        m = 1.0001 * np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    else:
        m = np.array([[1.0002, -0.0003], [0.0001, 0.9998]])
    t = np.array([3.0, -2.0])
    ref = inp @ m.T + t
    ref[:10] += 5.0  # outliers
    fit = fitting.fit_linear(inp, ref, fitgeometry=geometry, minobj=15)
    assert fit.ok and fit.nmatch == 290
    assert np.allclose(fit.matrix, m, atol=1e-10) and np.allclose(fit.offset, t, atol=1e-7)
    if geometry == "rscale":
        assert fit.rotation == pytest.approx(0.02, abs=1e-9)
        assert fit.scale == pytest.approx(1.0001, abs=1e-12)
        assert fit.skew == pytest.approx(0.0, abs=1e-9)


def test_fit_refuses_too_few():
    fit = fitting.fit_linear(np.zeros((5, 2)), np.zeros((5, 2)), minobj=15)
    assert not fit.ok and "too few" in fit.reason
    with pytest.raises(ConfigError):
        fitting.fit_linear(np.zeros((20, 2)), np.zeros((20, 2)), fitgeometry="affine")


def test_read_text_and_fits_catalogs(tmp_path):
    p = tmp_path / "cat.txt"
    p.write_text("# x y flux\n1 2 30\n3 INDEF 5\n4 5 60 extra\n7 8\n")
    x, y, f = catalogs.read_columns(p, ["c1", 2, 3])
    assert list(x) == [1, 4] and list(f) == [30, 60]
    t = Table({"RA": [10.0, 10.1], "DEC": [-5.0, -5.1], "MAG": [20.0, 19.0]})
    fp = tmp_path / "cat.fits"
    t.write(fp)
    cat = catalogs.read_sky_catalog(fp, refxcol="RA", refycol="DEC", rfluxcol="MAG",
                                    refnbright=1)
    assert list(cat.ra) == [10.1]  # brightest magnitude first
    sexa = tmp_path / "sexa.txt"
    sexa.write_text("10 00 00.0 -05 00 00.0\n")
    cat = catalogs.read_sky_catalog(sexa, refxcol="1-3", refycol="4-6")
    assert cat.ra[0] == pytest.approx(150.0) and cat.dec[0] == pytest.approx(-5.0)


def test_bad_catalogs(tmp_path):
    with pytest.raises(InputFileError):
        catalogs.read_columns(tmp_path / "none.txt", [1, 2])
    p = tmp_path / "words.txt"
    p.write_text("a b c\n")
    with pytest.raises(InputFileError):
        catalogs.read_sky_catalog(p)
    p2 = tmp_path / "pix.txt"
    p2.write_text("1500.0 3000.5\n")  # pixels given as if they were degrees
    with pytest.raises(InputFileError):
        catalogs.read_sky_catalog(p2)
    f = tmp_path / "img.fits"
    fits.PrimaryHDU(np.zeros((2, 2))).writeto(f)
    with pytest.raises(InputFileError):
        catalogs.read_sky_catalog(f)
