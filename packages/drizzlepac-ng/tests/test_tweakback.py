"""Tests of drizzlepac_ng.tweakback (propagating a drizzled product's alignment)."""

from __future__ import annotations

import hashlib
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from drizzlepac_ng import simulate
from drizzlepac_ng.align import wcsupdate
from drizzlepac_ng.align.catalogs import reference_plane
from drizzlepac_ng.align.deltashift import apply_delta_shift
from drizzlepac_ng.errors import ConfigError, InputFileError, NoOverlapError
from drizzlepac_ng.pixmap import calc_pixmap
from drizzlepac_ng.resample import Drizzle
from drizzlepac_ng.tweakback import apply_tweak, extract_input_filenames, tweak_transform, tweakback
from stwcs_ng.wcsutil import altwcs

VISIT_ERROR = (0.25, -0.18, 0.02)        # arcsec, arcsec, deg


def _digest(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _chips(path):
    with fits.open(path) as hdul:
        out = {}
        for h in hdul:
            if h.header.get("EXTNAME") == "SCI":
                ev = h.header["EXTVER"]
                out[ev] = (WCS(h.header, hdul), np.asarray(h.data, dtype=np.float32))
        return out


def mini_drizzle(inputs, output):
    """A minimal drizzled product: SCI/WHT on the inputs' tangent plane, DnnnDATA keywords."""
    chips = [(f, ev, w, d) for f in inputs for ev, (w, d) in sorted(_chips(f).items())]
    frame = reference_plane([c[2] for c in chips], [c[3].shape for c in chips])
    nx, ny = frame.pixel_shape
    driz = Drizzle(out_shape=(ny, nx), fillval=0.0, num_threads=1)
    prim = fits.PrimaryHDU()
    for n, (f, ev, w, d) in enumerate(chips, start=1):
        driz.add_image(d, exptime=1.0, pixmap=calc_pixmap(w, frame, shape=d.shape))
        prim.header[f"D{n:03d}DATA"] = f"{Path(f).name}[sci,{ev}]"
    prim.header["NDRIZIM"] = len(chips)
    hdr = frame.to_header()
    with fits.open(inputs[0]) as hdul:
        hdr["WCSNAME"] = hdul["SCI", 1].header.get("WCSNAME", "")
    sci = fits.ImageHDU(driz.out_img, header=hdr, name="SCI", ver=1)
    wht = fits.ImageHDU(driz.out_wht, header=hdr, name="WHT", ver=1)
    fits.HDUList([prim, sci, wht]).writeto(output)
    return str(output)


def _max_sep_mas(w, truth, shape):
    ny, nx = shape
    y, x = np.mgrid[0:ny - 1:12j, 0:nx - 1:12j]
    q = np.column_stack([x.ravel(), y.ravel()])
    a, b = w.all_pix2world(q, 0), truth.all_pix2world(q, 0)
    d = np.hypot((a[:, 0] - b[:, 0]) * math.cos(math.radians(b[0, 1])), a[:, 1] - b[:, 1])
    return float(d.max() * 3.6e6)


def _ideal_tweak(product, inputs, truths):
    """The drizzled WCS a perfect aligner would find: the true sky of every drizzled pixel."""
    with fits.open(product) as h:
        w = WCS(h["SCI"].header)
        ny, nx = h["SCI"].data.shape
    src, dst = [], []
    for f, tr in zip(inputs, truths, strict=True):
        for ev, (hw, d) in _chips(f).items():
            y, x = np.mgrid[0:d.shape[0] - 1:6j, 0:d.shape[1] - 1:6j]
            q = np.column_stack([x.ravel(), y.ravel()])
            src.append(w.wcs_world2pix(hw.all_pix2world(q, 0), 0))
            dst.append(w.wcs_world2pix(tr.true_wcs(ev).all_pix2world(q, 0), 0))
    src, dst = np.vstack(src), np.vstack(dst)
    a = np.column_stack([src, np.ones(len(src))])
    sol, *_ = np.linalg.lstsq(a, dst, rcond=None)
    return wcsupdate.apply_linear_correction(w, w, sol[:2].T, sol[2], shape=(ny, nx))


@pytest.fixture(scope="module")
def _pristine_visit(tmp_path_factory):
    out = tmp_path_factory.mktemp("visit")
    sim = simulate.simulate_exposures(2, shape="small", seed=8, output_dir=out,
                                      dither="box", wcs_errors=np.array([VISIT_ERROR] * 2),
                                      cosmic_rays=False)
    truths = [simulate.load_truth(e.truth_path) for e in sim]
    product = mini_drizzle([str(p) for p in sim.paths], out / "visit_drz.fits")
    return list(sim.paths), truths, Path(product)


@pytest.fixture()
def visit(_pristine_visit, tmp_path):
    """Two exposures of one visit sharing a pointing error, and their drizzled product (copies)."""
    paths, truths, product = _pristine_visit
    inputs = []
    for p in paths:
        shutil.copyfile(p, tmp_path / p.name)
        inputs.append(str(tmp_path / p.name))
    shutil.copyfile(product, tmp_path / product.name)
    return inputs, truths, str(tmp_path / product.name)


def test_extract_input_filenames(visit, tmp_path):
    inputs, _, product = visit
    assert extract_input_filenames(product) == [Path(f).name for f in inputs]
    plain = tmp_path / "plain.fits"
    fits.PrimaryHDU(np.zeros((4, 4))).writeto(plain)
    assert extract_input_filenames(plain) is None


def test_tweakback_recovers_truth(visit, monkeypatch):
    inputs, truths, product = visit
    before = [_max_sep_mas(_chips(f)[1][0], truths[i].true_wcs(1), (128, 256))
              for i, f in enumerate(inputs)]
    assert min(before) > 100                  # the visit error is ~300 mas
    ideal = _ideal_tweak(product, inputs, truths)
    wcsupdate.update_image_wcs(product, {1: ideal}, wcsname="IDC_x-FIT_REL_TRUTH",
                               fit=wcsupdate.FitSummary(2e-6, 3e-6, 42))
    monkeypatch.chdir(Path(product).parent)   # DnnnDATA names are relative
    res = tweakback(product)
    assert res.final_wcs == (" ", "IDC_x-FIT_REL_TRUTH")
    assert res.orig_wcs[1].startswith("IDC_") and res.orig_wcs[0] != " "
    assert res.fit_residual < 1e-3
    for f, tr in zip(inputs, truths, strict=True):
        for ev, (w, _) in _chips(f).items():
            assert _max_sep_mas(w, tr.true_wcs(ev), (128, 256)) <= 1.0
        with fits.open(f) as hdul:
            h = hdul["SCI", 2].header
            assert h["WCSNAME"] == "IDC_x-FIT_REL_TRUTH"
            assert h["CRDER1"] == pytest.approx(2e-6) and h["CRDER2"] == pytest.approx(3e-6)
            assert h["NMATCH"] == 42
            assert "IDC_" in "".join(altwcs.wcsnames(h).values())
            assert "WCSCORR" in hdul


def test_tweakback_matches_delta_shift_on_product(visit):
    """A delta shift of the drizzled product moves every input pixel the same way on the sky."""
    inputs, _, product = visit
    with fits.open(product) as h:
        drz = WCS(h["SCI"].header)
    q = np.array([[20.0, 30.0], [200.0, 100.0]])
    sky_before = {f: _chips(f)[2][0].all_pix2world(q, 0) for f in inputs}
    apply_delta_shift(product, 1.5, -0.75, rotation=0.01, frame="reference", wcsname="MOVED")
    res = tweakback(product, input=inputs, newname="MOVED_BACK")
    with fits.open(product) as h:
        drz_new = WCS(h["SCI"].header)
    assert res.wcsname == "MOVED_BACK"
    for f in inputs:
        got = _chips(f)[2][0].all_pix2world(q, 0)
        expect = drz_new.wcs_pix2world(drz.wcs_world2pix(sky_before[f], 0), 0)
        assert np.max(np.abs(got - expect)) * 3.6e6 < 0.05      # mas


def test_tweak_transform_general_and_rscale():
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [10.0, 20.0]
    w.wcs.crpix = [50.0, 50.0]
    w.wcs.cd = np.array([[-1e-5, 0], [0, 1e-5]])
    w.wcs.set()
    t = w.deepcopy()
    t.wcs.cd = w.wcs.cd @ np.array([[1.0, 0.001], [0.0, 1.0]])    # a skew
    t.wcs.set()
    _, _, r_rs = tweak_transform(w, t, (100, 100))
    m, _, r_gen = tweak_transform(w, t, (100, 100), fitgeometry="general")
    assert r_rs > 1e-3 and r_gen < 1e-6
    assert m[0, 1] == pytest.approx(0.001, abs=1e-6)
    with pytest.raises(ConfigError):
        tweak_transform(w, t, (100, 100), fitgeometry="shift3")


def test_apply_tweak_with_keys(visit):
    inputs, _, product = visit
    apply_delta_shift(product, 0.5, 0.5, wcsname="NUDGE")
    res = apply_tweak(product, None, output_wcs_name="NUDGED", input_files=inputs,
                      orig_wcs_key="A", tweaked_wcs_name="NUDGE")
    assert res.orig_wcs[0] == "A" and res.final_wcs == (" ", "NUDGE")
    with fits.open(inputs[0]) as hdul:
        assert hdul["SCI", 1].header["WCSNAME"] == "NUDGED"
    with pytest.raises(ConfigError, match="unknown"):
        apply_tweak(product, None, input_files=inputs, bogus=1)


def test_bad_inputs_leave_files_untouched(visit, tmp_path):
    inputs, _, product = visit
    digests = {f: _digest(f) for f in inputs + [product]}
    # a single WCS: nothing to propagate
    with pytest.raises(InputFileError, match="single WCS"):
        tweakback(product, input=inputs)
    apply_delta_shift(product, 0.5, 0.5, wcsname="NUDGE")
    digests[product] = _digest(product)
    # no inputs given and no DnnnDATA keywords
    bare = tmp_path / "bare_drz.fits"
    with fits.open(product) as hdul:
        for k in [k for k in hdul[0].header if k.startswith("D0")]:
            del hdul[0].header[k]
        hdul.writeto(bare)
    with pytest.raises(InputFileError, match="DnnnDATA"):
        tweakback(bare)
    with pytest.raises(ConfigError, match="not found"):
        tweakback(product, input=inputs, origwcs="NO_SUCH_WCS")
    # an input that was not drizzled into the product: no overlap, nothing written
    far = simulate.simulate_exposures(1, shape="small", seed=9, output_dir=tmp_path / "far",
                                      target=(53.16, -27.70), cosmic_rays=False)
    far_path = str(far.paths[0])
    far_digest = _digest(far_path)
    with pytest.raises(NoOverlapError, match="does not overlap") as info:
        tweakback(product, input=inputs + [far_path])
    assert "no file was changed" in str(info.value)
    assert _digest(far_path) == far_digest
    assert all(_digest(f) == d for f, d in digests.items())
    # applied once; a second run needs force
    tweakback(product, input=inputs)
    with pytest.raises(ConfigError, match="force"):
        tweakback(product, input=inputs)
    tweakback(product, input=inputs, force=True)


def test_input_moved_40_degrees_away_is_no_overlap(visit):
    """An input whose WCS points 40 degrees away: NoOverlapError naming it, nothing written."""
    inputs, _, product = visit
    apply_delta_shift(product, 0.3, -0.2, wcsname="NUDGE")
    with fits.open(inputs[-1], mode="update") as hdul:
        for h in hdul:
            if h.name == "SCI":
                h.header["CRVAL1"] = (h.header["CRVAL1"] + 40.0) % 360.0
                h.header["CRVAL2"] = h.header["CRVAL2"] / 3.0
    digests = {f: _digest(f) for f in inputs + [product]}
    with pytest.raises(NoOverlapError, match=Path(inputs[-1]).name):
        tweakback(product, input=inputs)
    assert all(_digest(f) == d for f, d in digests.items())


def test_singular_cd_input_is_an_input_error(visit):
    inputs, _, product = visit
    apply_delta_shift(product, 0.3, -0.2, wcsname="NUDGE")
    with fits.open(inputs[0], mode="update") as hdul:
        for key in ("CD1_1", "CD1_2", "CD2_1", "CD2_2"):
            hdul["SCI", 2].header[key] = 0.0
    digests = {f: _digest(f) for f in inputs + [product]}
    with pytest.raises(InputFileError, match=rf"{Path(inputs[0]).name}\[SCI,2\].*singular"):
        tweakback(product, input=inputs)
    assert all(_digest(f) == d for f, d in digests.items())


def test_cli_tweakback(visit, capsys):
    from drizzlepac_ng.cli import main

    inputs, _, product = visit
    apply_delta_shift(product, 0.5, -0.5, wcsname="NUDGE")
    assert main(["tweakback", product, *inputs, "--newname", "FROM_CLI"]) == 0
    out = capsys.readouterr().out
    assert "NUDGE" in out and "updated" in out
    with fits.open(inputs[1]) as hdul:
        assert hdul["SCI", 1].header["WCSNAME"] == "FROM_CLI"
    assert main(["tweakback", product, *inputs, "--newname", "FROM_CLI"]) == 1   # needs --force


def test_simple_fits_product(visit, tmp_path):
    """A product written as a simple image (WCS in the primary header, build=False style)."""
    inputs, truths, product = visit
    with fits.open(product) as hdul:
        simple = tmp_path / "visit_drz_sci.fits"
        fits.PrimaryHDU(hdul["SCI"].data, header=hdul["SCI"].header).writeto(simple)
    apply_delta_shift(str(simple), 0.3, 0.2, wcsname="NUDGE")
    res = tweakback(str(simple), input=inputs)
    assert res.final_wcs == (" ", "NUDGE")
    assert np.allclose(res.shift, [0.3, 0.2], atol=1e-6)


def test_astrodrizzle_product(tmp_path, monkeypatch):
    """tweakback on a real AstroDrizzle product (DnnnDATA, drc layout), exact alignment."""
    from drizzlepac_ng.astrodrizzle import AstroDrizzle

    monkeypatch.chdir(tmp_path)
    sim = simulate.simulate_exposures(2, shape="small", seed=4, output_dir=".", dither="box",
                                      wcs_errors=np.array([VISIT_ERROR] * 2))
    paths = [str(p) for p in sim.paths]
    truths = [simulate.load_truth(e.truth_path) for e in sim]
    product = str(AstroDrizzle(paths, output="vis", build=True).product)
    assert extract_input_filenames(product) == [Path(p).name for p in paths]
    ideal = _ideal_tweak(product, paths, truths)
    wcsupdate.update_image_wcs(product, {1: ideal}, wcsname="ALIGNED")
    res = tweakback(product)
    assert res.orig_wcs[1].startswith("IDC_")
    for f, tr in zip(paths, truths, strict=True):
        for ev, (w, _) in _chips(f).items():
            assert _max_sep_mas(w, tr.true_wcs(ev), (128, 256)) <= 1.0
