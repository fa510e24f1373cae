"""Tests of drizzlepac_ng.align.deltashift (user offsets written as WCS updates)."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from dzng_testing import file_digest

from drizzlepac_ng import simulate
from drizzlepac_ng.align import deltashift
from drizzlepac_ng.align.deltashift import DeltaShift, apply_delta_shift
from drizzlepac_ng.errors import ConfigError, InputFileError
from stwcs_ng.wcsutil import altwcs


@pytest.fixture(scope="module")
def _pristine(tmp_path_factory):
    out = tmp_path_factory.mktemp("deltashift")
    sim = simulate.simulate_exposures(2, shape="small", seed=5, output_dir=out,
                                      cosmic_rays=False)
    return [p for p in sim.paths]


@pytest.fixture()
def images(_pristine, tmp_path):
    """Fresh copies of two simulated exposures for each test."""
    out = []
    for p in _pristine:
        dst = tmp_path / p.name
        shutil.copyfile(p, dst)
        out.append(str(dst))
    return out



def _linear(path, ev):
    with fits.open(path) as hdul:
        h = hdul["SCI", ev].header
        return (np.array([h["CRVAL1"], h["CRVAL2"]]),
                np.array([[h["CD1_1"], h["CD1_2"]], [h["CD2_1"], h["CD2_2"]]]))


def _sky(path, ev, pix):
    with fits.open(path) as hdul:
        return WCS(hdul["SCI", ev].header, hdul).all_pix2world(pix, 0)


def test_inverse_is_exact_algebraically():
    d = DeltaShift(3.2, -1.7, 0.3, 1.001)
    c = [100.0, 50.0]
    m1, t1 = deltashift.delta_matrix(d, c)
    m2, t2 = deltashift.delta_matrix(d.inverse(), c)
    assert np.allclose(m2 @ m1, np.eye(2), atol=1e-15)
    assert np.allclose(m2 @ t1 + t2, 0, atol=1e-12)
    # sky frame: clockwise rotation in (east, north)
    mirror = DeltaShift(d.dx, d.dy, -d.rotation, d.scale)
    inv = d.inverse("sky")
    m1, t1 = deltashift.delta_matrix(mirror, c)
    m2, t2 = deltashift.delta_matrix(DeltaShift(inv.dx, inv.dy, -inv.rotation, inv.scale), c)
    assert np.allclose(m2 @ m1, np.eye(2), atol=1e-15)
    assert np.allclose(m2 @ t1 + t2, 0, atol=1e-12)


@pytest.mark.parametrize("frame, units, center", [("reference", "pixels", None),
                                                  ("reference", "arcsec", (10.0, 20.0)),
                                                  ("sky", "arcsec", "crval")])
def test_round_trip_restores_crval_cd(images, frame, units, center):
    before = {(f, ev): _linear(f, ev) for f in images for ev in (1, 2)}
    if center == "crval":
        center = tuple(before[(images[0], 1)][0])
    # arcsec on the reference grid are converted with its *current* pixel scale,
    # which a scale change alters: the round trip is exact for scale 1 there
    d = DeltaShift(2.5, -1.25, 0.05, 1.0 if units == "arcsec" and frame == "reference" else 1.0002)
    apply_delta_shift(images, d.dx, d.dy, d.rotation, d.scale, frame=frame, units=units,
                      center=center, wcsname="SHIFTED")
    moved = {(f, ev): _linear(f, ev) for f in images for ev in (1, 2)}
    assert not np.allclose(moved[(images[1], 2)][0], before[(images[1], 2)][0], atol=1e-7, rtol=0)
    inv = d.inverse(frame)
    apply_delta_shift(images, inv.dx, inv.dy, inv.rotation, inv.scale, frame=frame, units=units,
                      center=center, wcsname="BACK")
    for key, (crval, cd) in before.items():
        crval2, cd2 = _linear(*key)
        assert np.max(np.abs(crval2 - crval)) < 1e-12
        assert np.max(np.abs(cd2 - cd)) < 1e-12
        with fits.open(key[0]) as hdul:
            names = altwcs.wcsnames(hdul["SCI", key[1]].header)
        assert names[" "] == "BACK" and "SHIFTED" in names.values()


def test_reference_frame_shift_moves_pixels_as_documented(images):
    """A pure shift of (dx, dy) reference pixels: sky(p) after == sky(p + d) before."""
    with fits.open(images[0]) as hdul:
        ref = deltashift.reference_frame(WCS(hdul["SCI", 1].header, hdul))
    pix = np.array([[10.0, 10.0], [200.0, 100.0], [128.0, 64.0]])
    old = {(f, ev): _sky(f, ev, pix) for f in images for ev in (1, 2)}
    apply_delta_shift(images, 3.0, -2.0)
    for (f, ev), sky in old.items():
        expect = ref.wcs_pix2world(ref.wcs_world2pix(sky, 0) + [3.0, -2.0], 0)
        got = _sky(f, ev, pix)
        assert np.max(np.abs(got - expect)) < 1e-10


def test_sky_frame_shift_is_east_north(images):
    pix = np.array([[128.0, 64.0]])
    before = _sky(images[0], 2, pix)[0]
    apply_delta_shift(images[0], 0.5, -0.3, units="arcsec", frame="sky")
    after = _sky(images[0], 2, pix)[0]
    dra = (after[0] - before[0]) * math.cos(math.radians(before[1])) * 3600
    ddec = (after[1] - before[1]) * 3600
    # exact at the plane centre; 10 uas here (a shift of a tangent plane, 100 arcsec off)
    assert dra == pytest.approx(0.5, abs=1e-5) and ddec == pytest.approx(-0.3, abs=1e-5)


def test_sky_rotation_increases_orientat(images):
    with fits.open(images[0]) as hdul:
        o1 = hdul["SCI", 1].header["ORIENTAT"]
    apply_delta_shift(images[0], 0, 0, rotation=0.2, frame="sky")
    with fits.open(images[0]) as hdul:
        o2 = hdul["SCI", 1].header["ORIENTAT"]
    assert (o2 - o1) == pytest.approx(0.2, abs=1e-6)


def test_header_keywords_written(images):
    apply_delta_shift(images[0], 1.0, 0.0, wcsname="MYSHIFT")
    with fits.open(images[0]) as hdul:
        h = hdul["SCI", 2].header
        assert h["WCSNAME"] == "MYSHIFT" and h["FITNAME"] == "MYSHIFT"
        assert h["WCSTYPE"] == "user-defined"
        assert "WCSCORR" in hdul


def test_bad_input_leaves_files_untouched(images, tmp_path):
    digests = [file_digest(f) for f in images]
    with pytest.raises(ConfigError):
        apply_delta_shift(images, 1, 1, scale=0)
    with pytest.raises(ConfigError):
        apply_delta_shift(images, 1, 1, units="furlongs")
    with pytest.raises(ConfigError):
        apply_delta_shift(images, float("nan"), 1)
    missing = tmp_path / "nope.fits"
    with pytest.raises(InputFileError):
        apply_delta_shift(images + [str(missing)], 1, 1)
    # name already used in the second file: neither file is written
    apply_delta_shift(images[1], 1, 1, wcsname="TAKEN")
    d1 = file_digest(images[1])
    with pytest.raises(ConfigError, match="TAKEN"):
        apply_delta_shift(images, 1, 1, wcsname="TAKEN")
    assert file_digest(images[0]) == digests[0] and file_digest(images[1]) == d1


def test_dry_run_writes_nothing(images):
    digests = [file_digest(f) for f in images]
    res = apply_delta_shift(images, 1.0, 2.0, update=False)
    assert [file_digest(f) for f in images] == digests
    assert set(res["wcs"][images[0]]) == {1, 2}


def test_cli_deltashift(images, capsys):
    from drizzlepac_ng.cli import main

    pix = np.array([[128.0, 64.0]])
    before = _sky(images[0], 1, pix)[0]
    assert main(["deltashift", images[0], "--dx", "0.2", "--dy", "0.1", "--units", "arcsec",
                 "--frame", "sky", "--wcsname", "CLI"]) == 0
    assert "1 file" not in capsys.readouterr().out
    after = _sky(images[0], 1, pix)[0]
    assert (after[1] - before[1]) * 3600 == pytest.approx(0.1, abs=1e-5)
    # bad input: one-line error, exit status 1, file unchanged
    d = file_digest(images[0])
    assert main(["deltashift", images[0], "--dx", "1", "--dy", "1", "--scale", "-1"]) == 1
    assert file_digest(images[0]) == d
