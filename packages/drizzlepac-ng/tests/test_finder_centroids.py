"""Centroid accuracy of the finder against known star positions, and the fit weighting.

Stars are rendered with the project's simulator PSF (pixel-integrated
Gaussian mixture) on a noisy sky; the finder does not know that PSF.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from drizzlepac_ng.align.finder import find_sources
from drizzlepac_ng.align.fitting import fit_linear
from drizzlepac_ng.imagefindpars import ImageFindPars
from drizzlepac_ng.simulate.render import render_psf

SKY, READ_NOISE = 60.0, 5.0


def _star_field(seed: int, n: int = 300, shape=(400, 400), flux=(300.0, 60000.0)):
    rng = np.random.default_rng(seed)
    # a jittered grid keeps stars apart (no blends), with random sub-pixel phases
    g = int(np.ceil(np.sqrt(n)))
    step = (shape[0] - 40) / g
    gy, gx = np.divmod(np.arange(n), g)
    x = 20 + (gx + 0.5) * step + rng.uniform(-0.25, 0.25, n) * step
    y = 20 + (gy + 0.5) * step + rng.uniform(-0.25, 0.25, n) * step
    f = np.exp(rng.uniform(np.log(flux[0]), np.log(flux[1]), n))
    model = render_psf(shape, x, y, f, radius=10) + SKY
    img = rng.poisson(model).astype(np.float64) + rng.normal(0.0, READ_NOISE, shape)
    return img, x, y, f


def _matched(img, x, y, f, pars=None):
    src = find_sources(img, pars or ImageFindPars(use_sharp_round=False))
    d, i = cKDTree(np.column_stack([src.x, src.y])).query(np.column_stack([x, y]))
    ok = d < 0.5
    res = np.column_stack([src.x[i] - x, src.y[i] - y])[ok]
    return res, f[ok], src.err[i][ok]


@pytest.mark.parametrize("seed", [1, 2])
def test_centroid_scatter_and_bias_vs_truth(seed):
    img, x, y, f = _star_field(seed)
    res, flux, err = _matched(img, x, y, f)
    assert len(res) >= 0.95 * len(x)
    bright = flux > 1e4
    mid = (flux > 3e3) & ~bright
    robust = lambda v: 1.4826 * np.median(np.abs(v - np.median(v)))  # noqa: E731
    # photon-limited scatter of a ~1 px sigma PSF: ~1/sqrt(flux) pixels
    assert robust(res[bright, 0]) < 0.012 and robust(res[bright, 1]) < 0.012
    assert robust(res[mid, 0]) < 0.03 and robust(res[mid, 1]) < 0.03
    # no systematic offset (a symmetric PSF must give an unbiased centroid)
    assert np.all(np.abs(np.mean(res[bright], axis=0)) < 0.004)
    # the reported errors describe the real scatter (used to weight the fits)
    chi = np.abs(res / err[:, None]).ravel()
    assert 0.5 < 1.4826 * np.median(chi) < 1.6


def test_stars_with_nearby_cosmic_ray_are_still_found_and_located():
    img, x, y, f = _star_field(3, n=100, flux=(2e4, 5e4))
    clean, _, _ = _matched(img, x, y, f)
    # a strong cosmic-ray pixel two pixels from each star
    hit = img.copy()
    hit[np.rint(y).astype(int), np.rint(x).astype(int) + 2] += 5000.0
    res, _, _ = _matched(hit, x, y, f)
    # the sources are still found; their displacement stays well below a pixel
    assert len(res) >= 0.8 * len(x)
    assert np.median(np.hypot(*res.T)) < 0.5
    assert np.median(np.hypot(*clean.T)) < 0.02


def test_weighted_fit_rejects_many_false_matches():
    """Weighted fits clip on a robust scale: 40% false matches do not bias the solution."""
    rng = np.random.default_rng(7)
    n_good, n_bad = 300, 200
    inp = rng.uniform(0, 4000, (n_good + n_bad, 2))
    ang = np.radians(0.01)
    m = 1.00001 * np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    t = np.array([3.2, -1.7])
    err = np.concatenate([np.exp(rng.uniform(np.log(0.005), np.log(0.1), n_good)),
                          rng.uniform(0.05, 0.12, n_bad)])
    ref = inp @ m.T + t + rng.normal(0, 1, (n_good + n_bad, 2)) * err[:, None]
    # false matches: anywhere within a 1-pixel matching tolerance, with small claimed errors
    phi = rng.uniform(0, 2 * np.pi, n_bad)
    rad = np.sqrt(rng.uniform(0.05, 1.0, n_bad))
    away = np.column_stack([np.cos(phi), np.sin(phi)]) * rad[:, None]
    ref[n_good:] = inp[n_good:] @ m.T + t + away
    fit = fit_linear(inp, ref, fitgeometry="rscale", nclip=3, sigma=3.0, errors=err)
    assert fit.ok
    assert fit.used[n_good:].sum() < 0.2 * n_bad
    assert fit.used[:n_good].sum() > 0.95 * n_good
    grid = np.array([[0, 0], [4000, 0], [0, 4000], [4000, 4000], [2000, 2000]], float)
    dev = grid @ (fit.matrix - m).T + (fit.offset - t)
    assert np.max(np.hypot(*dev.T)) < 0.003


def test_cosmic_ray_test_rejects_hits_and_keeps_stars():
    """cr_reject: single-pixel and short-track hits go, stars of every brightness stay."""
    img, x, y, f = _star_field(5, n=200, flux=(500.0, 60000.0))
    rng = np.random.default_rng(6)
    tree = cKDTree(np.column_stack([x, y]))
    hits = []
    while len(hits) < 150:                 # hits at least 6 px from every star
        cx, cy = rng.uniform(15, 385, 2)
        if tree.query([cx, cy])[0] > 6 and all(np.hypot(cx - a, cy - b) > 6 for a, b in hits):
            hits.append((cx, cy))
    hits = np.array(hits)
    for k, (cx, cy) in enumerate(hits):
        i, j = int(cy), int(cx)
        amp = rng.uniform(300.0, 5000.0)
        if k % 3 == 0:
            img[i, j] += amp                                  # single pixel
        elif k % 3 == 1:
            img[i, j:j + 3] += amp * np.array([1.0, 0.7, 0.4])  # short track along x
        else:
            img[i:i + 2, j] += amp * np.array([1.0, 0.6])      # two pixels along y
    pars = ImageFindPars(use_sharp_round=False)
    plain = find_sources(img, pars)
    clean = find_sources(img, pars, cr_reject=True)

    def near(src, pts):
        return cKDTree(np.column_stack([src.x, src.y])).query(pts)[0] < 1.5

    on_hits_plain, on_hits_clean = near(plain, hits).sum(), near(clean, hits).sum()
    stars = np.column_stack([x, y])
    assert on_hits_plain >= 140                      # the plain finder takes the hits
    assert on_hits_clean <= 0.15 * on_hits_plain     # the test removes most of them
    assert near(clean, stars).sum() >= near(plain, stars).sum() - 2
