"""Tests of drizzlepac_ng.align.xcorr (cross-correlation and hybrid alignment)."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from scipy import fft, ndimage

from drizzlepac_ng import simulate
from drizzlepac_ng.align import xcorr
from drizzlepac_ng.align.deltashift import reference_frame
from drizzlepac_ng.errors import AlignmentError, ConfigError, NoOverlapError

SHAPE = (200, 320)            # (ny, nx) of the single chip
SKY_PIX = 0.025 / 3600        # grid of the sky-brightness model (deg)


def _digest(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# ---------------------------------------------------------------- array level

def _field(n, seed, smooth=8.0, amp=50.0):
    rng = np.random.default_rng(seed)
    return ndimage.gaussian_filter(rng.normal(size=(n, n)), smooth) * amp + 100.0


def _fourier_shift(img, dx, dy):
    fy = fft.fftfreq(img.shape[0])[:, None]
    fx = fft.fftfreq(img.shape[1])[None, :]
    return fft.ifft2(fft.fft2(img) * np.exp(-2j * np.pi * (fx * dx + fy * dy))).real


@pytest.mark.parametrize("dx, dy", [(3.37, -1.82), (0.25, 0.6), (-10.4, 7.9)])
def test_cross_correlate_recovers_subpixel_shift(dx, dy):
    base = _field(320, 1)
    a = base[32:-32, 32:-32]
    b = _fourier_shift(base, dx, dy)[32:-32, 32:-32]
    r = xcorr.cross_correlate(a, b)
    assert abs(r.dx - dx) < 0.01 and abs(r.dy - dy) < 0.01
    assert r.snr > 5


def test_cross_correlate_noisy_within_005():
    rng = np.random.default_rng(7)
    base = _field(320, 2)
    noise = 0.5                 # the structure has an rms of about 1.8
    a = base[32:-32, 32:-32] + rng.normal(0, noise, (256, 256))
    b = _fourier_shift(base, 1.63, -2.27)[32:-32, 32:-32] + rng.normal(0, noise, (256, 256))
    r = xcorr.cross_correlate(a, b)
    assert abs(r.dx - 1.63) < 0.05 and abs(r.dy + 2.27) < 0.05
    assert 0 < r.sigma_x < 0.05 and 0 < r.sigma_y < 0.05
    # the reported uncertainty is realistic (errors within 4 sigma)
    assert abs(r.dx - 1.63) < 4 * r.sigma_x and abs(r.dy + 2.27) < 4 * r.sigma_y


def test_masked_pixels_are_ignored():
    base = _field(320, 3)
    a = base[32:-32, 32:-32].copy()
    b = _fourier_shift(base, 2.2, 1.1)[32:-32, 32:-32].copy()
    bad = np.zeros(a.shape, bool)
    bad[100:110, :] = True              # a bad column block with garbage
    b[bad] = 1e6
    a[50:52, 50:52] = np.nan
    r = xcorr.cross_correlate(a, b, image_mask=bad)
    assert abs(r.dx - 2.2) < 0.02 and abs(r.dy - 1.1) < 0.02


def test_phase_method_on_stars():
    img = simulate.point_sources((200, 200), seed=4)
    a = img.astype(float)
    b = _fourier_shift(a, -4.3, 2.6)
    r = xcorr.cross_correlate(a, b, method="phase")
    assert abs(r.dx + 4.3) < 0.05 and abs(r.dy - 2.6) < 0.05


def test_cross_correlate_bad_input():
    a = np.ones((50, 50))
    with pytest.raises(ConfigError):
        xcorr.cross_correlate(a, np.ones((40, 50)))
    with pytest.raises(ConfigError):
        xcorr.cross_correlate(a, a, method="magic")
    with pytest.raises(NoOverlapError):
        xcorr.cross_correlate(a, np.full((50, 50), np.nan))
    with pytest.raises(AlignmentError, match="constant"):
        xcorr.cross_correlate(a, a)


# ----------------------------------------------------------------- file level

class NebulousSky:
    """Smooth nebulosity on a fine tangent-plane grid plus a few stars."""

    def __init__(self, center, nstars=6, seed=11, n=1600):
        rng = np.random.default_rng(seed)
        self.plane = WCS(naxis=2)
        self.plane.wcs.ctype = ["RA---TAN", "DEC--TAN"]
        self.plane.wcs.crval = center
        self.plane.wcs.crpix = [n / 2, n / 2]
        self.plane.wcs.cd = np.diag([-SKY_PIX, SKY_PIX])
        self.plane.wcs.set()
        neb = ndimage.gaussian_filter(rng.normal(size=(n, n)), 30.0)
        self.neb = 8.0 * neb / neb.std()            # e-/s per chip pixel, large-scale
        self.neb += 4.0 * np.exp(-((np.indices((n, n)) - n / 2) ** 2).sum(0) / (2 * 300.0 ** 2))
        xy = rng.uniform(n * 0.3, n * 0.7, size=(nstars, 2))
        self.stars = self.plane.wcs_pix2world(xy, 0)
        self.flux = rng.uniform(2000, 8000, nstars)

    def render(self, true_wcs, shape, exptime, seed, sky=30.0):
        ny, nx = shape
        y, x = np.indices(shape, dtype=float)
        sky_pos = true_wcs.all_pix2world(np.column_stack([x.ravel(), y.ravel()]), 0)
        gx, gy = self.plane.wcs_world2pix(sky_pos, 0).T
        rate = ndimage.map_coordinates(self.neb, [gy, gx], order=3).reshape(shape)
        sxy = true_wcs.all_world2pix(self.stars, 0, quiet=True)
        sig = 2.0 / 2.3548
        for (sx, sy), f in zip(sxy, self.flux, strict=True):
            r2 = (x - sx) ** 2 + (y - sy) ** 2
            rate += f / (2 * np.pi * sig ** 2) * np.exp(-r2 / (2 * sig ** 2))
        counts = (rate + sky) * exptime
        rng = np.random.default_rng(seed)
        counts = rng.poisson(np.clip(counts, 0, None)).astype(np.float32)
        return counts + rng.normal(0, 4.0, shape).astype(np.float32)


def _true_wcs(pa=85.0, ra=53.16, dec=-27.79):
    return simulate.make_wcs("ACS/WFC", 1, shape=SHAPE, ra=ra, dec=dec, pa_v3=pa)


def _write(path, data, header_wcs, exptime=400.0):
    hdr = header_wcs.to_header(relax=True)
    hdr["WCSNAME"] = "IDC_test"
    prim = fits.PrimaryHDU()
    prim.header["EXPTIME"] = exptime
    prim.header["INSTRUME"] = "ACS"
    sci = fits.ImageHDU(data, header=hdr, name="SCI", ver=1)
    dq = fits.ImageHDU(np.zeros(data.shape, np.int16), name="DQ", ver=1)
    fits.HDUList([prim, sci, dq]).writeto(path)
    return str(path)


def _perturbed(w, dra_arcsec=0.0, ddec_arcsec=0.0, rot_deg=0.0):
    out = w.deepcopy()
    dec = out.wcs.crval[1]
    out.wcs.crval = out.wcs.crval + [dra_arcsec / 3600 / math.cos(math.radians(dec)),
                                     ddec_arcsec / 3600]
    t = math.radians(rot_deg)
    r = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    out.wcs.cd = r @ out.wcs.cd
    out.wcs.set()
    return out


def _expected_shift(frame, header_wcs, true_wcs):
    q = np.array([[SHAPE[1] / 2, SHAPE[0] / 2]])
    return (frame.wcs_world2pix(header_wcs.all_pix2world(q, 0), 0)
            - frame.wcs_world2pix(true_wcs.all_pix2world(q, 0), 0))[0]


def _max_sep_px(w, truth, scale_arcsec=0.05):
    y, x = np.mgrid[0:SHAPE[0]:20j, 0:SHAPE[1]:20j]
    p = np.column_stack([x.ravel(), y.ravel()])
    a, b = w.all_pix2world(p, 0), truth.all_pix2world(p, 0)
    d = np.hypot((a[:, 0] - b[:, 0]) * math.cos(math.radians(b[0, 1])), a[:, 1] - b[:, 1])
    return float(d.max() * 3600 / scale_arcsec)


@pytest.fixture(scope="module")
def nebula(tmp_path_factory):
    out = tmp_path_factory.mktemp("xcorr")
    t1 = _true_wcs()
    t2 = _true_wcs(ra=53.16 + 1.1 / 3600, dec=-27.79 + 0.6 / 3600)   # dithered pointing
    sky = NebulousSky(t1.wcs.crval, nstars=6)
    ref = _write(out / "ref_flt.fits", sky.render(t1, SHAPE, 400.0, 1), t1)
    return out, sky, t1, t2, ref


def test_align_xcorr_nebula_recovers_shift(nebula, tmp_path):
    out, sky, t1, t2, ref = nebula
    hdr2 = _perturbed(t2, 0.173, -0.121)
    img = _write(tmp_path / "img_flt.fits", sky.render(t2, SHAPE, 400.0, 2), hdr2)
    res = xcorr.align_xcorr(img, ref, update=True, wcsname="XC")
    expect = _expected_shift(res.frame_wcs, hdr2, t2)
    err = res.shift - expect
    assert np.all(np.abs(err) <= 0.05), (res.shift, expect)
    assert res.snr > 5 and res.corr > 0.9 and np.all(res.sigma < 0.05)
    with fits.open(img) as hdul:
        new = WCS(hdul["SCI", 1].header, hdul)
        assert hdul["SCI", 1].header["WCSNAME"] == "XC"
    assert _max_sep_px(new, t2) <= 0.05
    assert _max_sep_px(hdr2, t2) > 2.0           # it really was misaligned


def test_align_xcorr_hybrid_rotation(nebula, tmp_path):
    out, sky, t1, t2, ref = nebula
    hdr2 = _perturbed(t2, -0.11, 0.09, rot_deg=0.03)
    img = _write(tmp_path / "img_flt.fits", sky.render(t2, SHAPE, 400.0, 3), hdr2)
    res = xcorr.align_xcorr(img, ref, mode="hybrid", update=True, wcsname="HYB")
    assert res.nmatch >= 3
    assert abs(abs(res.rotation) - 0.03) < 0.01     # sign depends on the frame parity
    with fits.open(img) as hdul:
        new = WCS(hdul["SCI", 1].header, hdul)
    assert _max_sep_px(new, t2) <= 0.1
    assert _max_sep_px(hdr2, t2) > 2.0


def test_no_overlap_leaves_image_untouched(nebula, tmp_path):
    out, sky, t1, t2, ref = nebula
    far = _true_wcs(ra=53.16 + 60 / 3600)            # one arcminute away
    img = _write(tmp_path / "far_flt.fits", sky.render(far, SHAPE, 400.0, 4), far)
    before = _digest(img)
    with pytest.raises(NoOverlapError, match="does not overlap") as info:
        xcorr.align_xcorr(img, ref, update=True)
    assert "not changed" in str(info.value) and "far_flt.fits" in str(info.value)
    assert _digest(img) == before


def test_noise_only_image_is_refused(nebula, tmp_path):
    out, sky, t1, t2, ref = nebula
    rng = np.random.default_rng(0)
    img = _write(tmp_path / "noise_flt.fits",
                 rng.normal(100, 10, SHAPE).astype(np.float32), t2)
    before = _digest(img)
    with pytest.raises(AlignmentError, match="weak"):
        xcorr.align_xcorr(img, ref, update=True)      # default min_corr=0.3
    assert _digest(img) == before


def test_resample_to_frame_masks_dq(nebula):
    out, sky, t1, t2, ref = nebula
    with fits.open(ref) as hdul:
        frame = reference_frame(WCS(hdul["SCI", 1].header, hdul))
    sci, wht = xcorr.resample_to_frame(ref, frame, SHAPE)
    assert np.isfinite(sci).mean() > 0.8
    assert wht.max() > 0


def test_cli_xcorr(nebula, tmp_path, capsys):
    from drizzlepac_ng.cli import main

    out, sky, t1, t2, ref = nebula
    img = _write(tmp_path / "cli_flt.fits", sky.render(t2, SHAPE, 400.0, 5), _perturbed(t2, 0.1))
    assert main(["xcorr", img, ref]) == 0
    assert "shift" in capsys.readouterr().out


def test_hybrid_without_stars_is_refused(nebula, tmp_path):
    out, sky, t1, t2, ref = nebula
    starless = NebulousSky(t1.wcs.crval, nstars=0, seed=11)
    ref0 = _write(tmp_path / "ref0_flt.fits", starless.render(t1, SHAPE, 400.0, 6), t1)
    img = _write(tmp_path / "img0_flt.fits", starless.render(t2, SHAPE, 400.0, 7),
                 _perturbed(t2, 0.1, 0.1, rot_deg=0.02))
    before = _digest(img)
    with pytest.raises(AlignmentError, match="hybrid catalog fit failed"):
        xcorr.align_xcorr(img, ref0, mode="hybrid", update=True)
    assert _digest(img) == before
    # the shift-only mode still works on pure nebulosity
    res = xcorr.align_xcorr(img, ref0)
    assert res.corr > 0.9
