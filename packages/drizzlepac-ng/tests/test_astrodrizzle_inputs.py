"""astrodrizzle on bad inputs, options, parameter files and the command line."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
from astropy.io import fits

from drizzlepac_ng import astrodrizzle, simulate
from drizzlepac_ng.astrodrizzle.inputs import expand_input
from drizzlepac_ng.errors import (
    ConfigError,
    FileUpdateError,
    InputFileError,
    MemoryLimitError,
    MissingExtensionError,
    NoOverlapError,
)


@pytest.fixture(scope="module")
def simset(tmp_path_factory):
    """Three small exposures kept pristine; each test copies what it needs."""
    folder = tmp_path_factory.mktemp("adsim")
    sim = simulate.simulate_exposures(3, shape="small", seed=5, output_dir=folder,
                                      n_galaxies=0)
    return [s.path for s in sim]


def _copy(paths, dest):
    dest.mkdir(exist_ok=True)
    out = []
    for p in paths:
        shutil.copy2(p, dest / p.name)
        out.append(dest / p.name)
    return out


def _snapshot(paths):
    return {p: p.read_bytes() for p in paths}


def _assert_untouched(snap):
    for p, data in snap.items():
        assert p.read_bytes() == data, f"{p} was modified"


def _run(files, tmp_path, **kw):
    kw.setdefault("runfile", "")
    kw.setdefault("preserve", False)
    return astrodrizzle.AstroDrizzle([str(f) for f in files], output=str(tmp_path / "out"),
                                     **kw)


# ---- bad inputs -----------------------------------------------------------------------------
def test_missing_dq(simset, tmp_path):
    files = _copy(simset, tmp_path / "in")
    with fits.open(files[1], mode="update") as h:
        del h["DQ", 2]
    snap = _snapshot(files)
    with pytest.raises(MissingExtensionError, match=files[1].name) as exc:
        _run(files, tmp_path)
    assert "DQ" in str(exc.value)
    _assert_untouched(snap)


def test_zero_exptime(simset, tmp_path):
    files = _copy(simset, tmp_path / "in")
    with fits.open(files[2], mode="update") as h:
        h[0].header["EXPTIME"] = 0.0
    snap = _snapshot(files)
    with pytest.raises(InputFileError, match=f"{files[2].name}.*exposure time"):
        _run(files, tmp_path)
    _assert_untouched(snap)


def test_mixed_instruments(simset, tmp_path):
    files = _copy(simset[:2], tmp_path / "in")
    wfc3 = simulate.simulate_exposures(1, instrument="WFC3/UVIS", shape="small", seed=1,
                                       output_dir=tmp_path / "in")
    files.append(wfc3[0].path)
    snap = _snapshot(files)
    with pytest.raises(InputFileError, match=f"{wfc3[0].path.name}.*WFC3") as exc:
        _run(files, tmp_path)
    assert "ACS" in str(exc.value)
    _assert_untouched(snap)


def test_corrupt_file(simset, tmp_path):
    files = _copy(simset, tmp_path / "in")
    data = files[1].read_bytes()
    files[1].write_bytes(data[: len(data) // 2 + 100])
    snap = _snapshot(files)
    with pytest.raises(InputFileError, match=files[1].name):
        _run(files, tmp_path)
    _assert_untouched(snap)
    files[1].write_bytes(b"this is not a FITS file" * 200)
    with pytest.raises(InputFileError, match=files[1].name):
        _run(files, tmp_path)


def test_missing_file_and_empty_pattern(tmp_path):
    with pytest.raises(InputFileError, match="nothere_flc.fits"):
        expand_input(str(tmp_path / "nothere_flc.fits"))
    with pytest.raises(InputFileError, match="pattern"):
        expand_input(str(tmp_path / "*_flc.fits"))


def test_no_overlap(simset, tmp_path):
    files = _copy(simset[:2], tmp_path / "in")
    far = simulate.simulate_exposures(1, shape="small", seed=6, output_dir=tmp_path / "far",
                                      target=(53.30, -27.70))
    moved = tmp_path / "in" / "jfar01aaq_flc.fits"
    shutil.copy2(far[0].path, moved)
    files.append(moved)
    snap = _snapshot(files)
    with pytest.raises(NoOverlapError, match=moved.name):
        _run(files, tmp_path)
    _assert_untouched(snap)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root ignores folder permissions")
def test_unwritable_output_folder(simset, tmp_path):
    files = _copy(simset, tmp_path / "in")
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o500)
    snap = _snapshot(files)
    try:
        with pytest.raises(FileUpdateError, match="not writable"):
            astrodrizzle.AstroDrizzle([str(f) for f in files], output=str(out / "x"),
                                      runfile="", preserve=False)
    finally:
        out.chmod(0o700)
    _assert_untouched(snap)


def test_unwritable_output_folder_any_user(simset, tmp_path, monkeypatch):
    """Same check when running as root: the permission test is faked."""
    from drizzlepac_ng.astrodrizzle import products

    files = _copy(simset, tmp_path / "in")
    snap = _snapshot(files)
    monkeypatch.setattr(products, "_folder_writable", lambda folder: False)
    with pytest.raises(FileUpdateError, match="not writable"):
        _run(files, tmp_path)
    _assert_untouched(snap)


def test_missing_output_folder(simset, tmp_path):
    files = _copy(simset, tmp_path / "in")
    snap = _snapshot(files)
    with pytest.raises(FileUpdateError, match="does not exist"):
        astrodrizzle.AstroDrizzle([str(f) for f in files], output=str(tmp_path / "no" / "x"),
                                  runfile="", preserve=False)
    _assert_untouched(snap)


def test_memory_limit_refused(simset, tmp_path):
    files = _copy(simset, tmp_path / "in")
    snap = _snapshot(files)
    # whole-frame steps: the message names the tiled graph as the way out
    with pytest.raises(MemoryLimitError, match="memory_limit.*tile_shape"):
        _run(files, tmp_path, memory_limit="10MB", tile_shape=None)
    _assert_untouched(snap)
    # the default run tiles a frame that does not fit (and then succeeds, see
    # test_memory_limit_does_not_change_the_result); when no tile fits either, the
    # tile check refuses
    with pytest.raises(MemoryLimitError, match="worker memory limit"):
        _run(files, tmp_path, memory_limit="1MB")
    _assert_untouched(snap)


def test_bad_parameters():
    with pytest.raises(ConfigError, match="combine_typ"):
        astrodrizzle.AstroDrizzle("x.fits", combine_typ="median")
    with pytest.raises(ConfigError, match="editpars"):
        astrodrizzle.AstroDrizzle("x.fits", editpars=True)


# ---- options ---------------------------------------------------------------------------------
def test_separate_files_intermediates_and_dq_only_in_masks(simset, tmp_path):
    pytest.importorskip("matplotlib")  # the quick-look PNG needs the [plot] extra
    files = _copy(simset, tmp_path / "in")
    before = {f: fits.getdata(f, ("DQ", 1)).copy() for f in files}
    res = _run(files, tmp_path, build=False, write_intermediates=True, driz_cr_mask=True,
               quicklook=True, preserve=True)
    names = sorted(p.name for p in res.files)
    for n in ("out_drc_sci.fits", "out_drc_wht.fits", "out_drc_ctx.fits", "out_med.fits",
              "out_drc.png"):
        assert n in names
    root = files[0].name.split("_")[0]
    assert f"{root}_single_sci.fits" in names and f"{root}_sci1_crmask.fits" in names
    assert f"{root}_sci2_blt.fits" in names
    with fits.open(tmp_path / "out_drc_sci.fits") as h:
        assert h[0].header["NDRIZIM"] == 6 and h[0].header["CTYPE1"] == "RA---TAN"
    crm = fits.getdata(tmp_path / f"{root}_sci1_crmask.fits")
    assert crm.dtype == np.uint8 and (crm == 0).any()
    for f in files:   # driz_cr_mask=True: DQ untouched, MDRIZSKY written
        np.testing.assert_array_equal(fits.getdata(f, ("DQ", 1)), before[f])
        assert "MDRIZSKY" in fits.getheader(f, ("SCI", 1))
        assert (f.parent / "OrIg_files" / f.name).exists()


def test_single_input_switches_off_cr_steps(simset, tmp_path):
    files = _copy(simset[:1], tmp_path / "in")
    res = _run(files, tmp_path)
    cfg = res.config
    assert not cfg.median.median and not cfg.driz_cr.driz_cr
    assert res.pipeline.crmasks == {}
    assert res.product.name == "out_drc.fits" or res.product.name == "out_drc_sci.fits"


def test_custom_wcs_and_options(simset, tmp_path):
    files = _copy(simset, tmp_path / "in")
    res = _run(files, tmp_path, final_rot=0.0, final_scale=0.1, combine_type="median",
               final_wht_type="ERR", final_units="counts", skymethod="globalmin+match",
               build=True, final_kernel="point", final_pixfrac=0.8)
    w = res.pipeline.wcs
    from drizzlepac_ng.astrodrizzle.outwcs import cd_scale_orient
    scale, rot = cd_scale_orient(w.wcs.cd)
    assert scale == pytest.approx(0.1) and rot == pytest.approx(0.0, abs=1e-9)
    assert res.config.final_wcs.final_wcs
    with fits.open(res.product) as h:
        assert h["SCI"].header["BUNIT"] == "ELECTRONS"
        assert h[0].header["D001KERN"] == "point"


def test_parameter_files_and_run(simset, tmp_path):
    files = _copy(simset, tmp_path / "in")
    cfg = tmp_path / "astrodrizzle.cfg"
    cfg.write_text("_task_name_ = astrodrizzle\n[STEP 4: CREATE MEDIAN IMAGE]\n"
                   "combine_type = median\n[STATE OF INPUT FILES]\npreserve = False\n")
    res = astrodrizzle.AstroDrizzle([str(f) for f in files], output=str(tmp_path / "a"),
                                    runfile=str(tmp_path / "a.log"), configobj=str(cfg))
    assert res.config.median.combine_type == "median"
    log = (tmp_path / "a.log").read_text()
    assert "combine_type = 'median'  (file astrodrizzle.cfg [STEP 4" in log
    toml = tmp_path / "p.toml"
    toml.write_text('build = true\npreserve = false\nrunfile = ""\n'
                    '[median]\ncombine_type = "mean"\n')
    res2 = astrodrizzle.run(str(toml), input_dict={"input": ",".join(map(str, files)),
                                                   "output": str(tmp_path / "b")})
    assert res2.config.median.combine_type == "mean" and res2.product.name == "b_drc.fits"


def test_at_file_input(simset, tmp_path):
    files = _copy(simset, tmp_path / "in")
    lst = tmp_path / "in" / "inputs.lst"
    lst.write_text("\n".join(f.name for f in files) + "\n")
    assert expand_input("@" + str(lst)) == [str(tmp_path / "in" / f.name) for f in files]


def test_cli(simset, tmp_path, capsys):
    import argparse

    pytest.importorskip("matplotlib")  # --quicklook needs the [plot] extra

    from drizzlepac_ng.astrodrizzle import _cli

    files = _copy(simset, tmp_path / "in")
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    _cli.register(sub)
    args = parser.parse_args(["astrodrizzle", *map(str, files), "--output", str(tmp_path / "c"),
                              "--runfile", "", "--set", "preserve=False", "--set",
                              "combine_type=median", "--quicklook", "--no-progress"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "c_drc_sci.fits" in out and (tmp_path / "c_drc.png").exists()


def test_wcskey_and_coeffs(simset):
    from drizzlepac_ng.astrodrizzle.inputs import load_exposures

    prim = load_exposures(simset[:1])[0].chips[0].wcs
    opus = load_exposures(simset[:1], wcskey="O")[0].chips[0].wcs
    byname = load_exposures(simset[:1], wcskey="OPUS")[0].chips[0].wcs
    linear = load_exposures(simset[:1], coeffs=False)[0].chips[0].wcs
    assert opus.sip is None and prim.sip is not None and linear.sip is None
    np.testing.assert_allclose(opus.wcs.crval, byname.wcs.crval)
    p0 = np.array(prim.pixel_to_world_values(10.0, 10.0))
    p1 = np.array(linear.pixel_to_world_values(10.0, 10.0))
    assert np.hypot(*(p0 - p1)) * 3600 > 0.01   # distortion at the corner is not zero
    with pytest.raises(InputFileError, match="wcskey"):
        load_exposures(simset[:1], wcskey="Q")


def test_memory_limit_does_not_change_the_result(simset, tmp_path):
    files = _copy(simset, tmp_path / "a")
    free = _run(files, tmp_path / "a", in_memory=True)
    files = _copy(simset, tmp_path / "b")
    tight = _run(files, tmp_path / "b", memory_limit="150MB")
    files = _copy(simset, tmp_path / "c")
    tiles = _run(files, tmp_path / "c", memory_limit="10MB")
    assert not free.plan.tiled and tiles.plan.tiled, (free.plan, tiles.plan)
    np.testing.assert_array_equal(free.pipeline.median, tight.pipeline.median)
    for run in (tight, tiles):
        np.testing.assert_array_equal(free.pipeline.sci, run.pipeline.sci)
        np.testing.assert_array_equal(free.pipeline.wht, run.pipeline.wht)
        for label, mask in free.pipeline.crmasks.items():
            np.testing.assert_array_equal(mask, run.pipeline.crmasks[label])


def test_band_file_round_trip(tmp_path):
    from drizzlepac_ng.astrodrizzle.pipeline import BandFile

    arr = np.arange(60, dtype=np.float32).reshape(6, 10)
    bf = BandFile(tmp_path / "x.f32", arr)
    np.testing.assert_array_equal(bf[2:5], arr[2:5])
    np.testing.assert_array_equal(bf[4:100], arr[4:])
    np.testing.assert_array_equal(np.asarray(bf), arr)
    assert bf.shape == (6, 10)


# ---- threads and reading ------------------------------------------------------------------
def test_products_do_not_depend_on_num_cores(simset, tmp_path):
    """Chips processed concurrently (num_cores=2) give the products of one core, bit for bit,
    with cosmic rays flagged in the same input pixels; matching sky uses the threads too."""
    runs = {}
    for cores in (1, 2):
        folder = tmp_path / f"c{cores}"
        files = _copy(simset, folder)
        res = _run(files, folder, num_cores=cores, build=True, skymethod="globalmin+match")
        with fits.open(res.product) as h:
            arrays = {name: h[name].data.copy() for name in ("SCI", "WHT", "CTX")}
        dq = []
        for f in files:
            with fits.open(f) as h:
                dq += [h["DQ", v].data.copy() for v in (1, 2)]
                arrays["sky"] = arrays.get("sky", []) + [h["SCI", 1].header["MDRIZSKY"]]
        runs[cores] = (arrays, dq, res.pipeline.crmasks)
    (a1, dq1, cr1), (a2, dq2, cr2) = runs[1], runs[2]
    for name in ("SCI", "WHT", "CTX"):
        np.testing.assert_array_equal(a1[name], a2[name])
    assert a1["sky"] == a2["sky"]
    for x, y in zip(dq1, dq2, strict=True):
        np.testing.assert_array_equal(x, y)
    assert sum(int(m.sum()) for m in cr1.values()) > 0
    assert cr1 == cr2


def test_chip_arrays_read_lazily_and_exactly(simset):
    from drizzlepac_ng.astrodrizzle.inputs import load_exposures

    exposures = load_exposures([str(simset[0])], resetbits=4096)
    with fits.open(simset[0]) as h:
        for chip in exposures[0].chips:
            arr = chip.arrays()
            assert arr.data.dtype == np.float32 and arr.data.dtype.isnative
            assert arr.dq.dtype.isnative
            np.testing.assert_array_equal(arr.data, h["SCI", chip.extver].data)
            np.testing.assert_array_equal(arr.dq, h["DQ", chip.extver].data & ~4096)
            assert arr._err is None  # ERR not read yet
            np.testing.assert_array_equal(arr.err, h["ERR", chip.extver].data)
            assert arr.err.dtype == np.float32


def test_pixel_maps_computed_in_threads_equal_serial(simset):
    """Uncached maps computed from several threads (own WCS copies) equal the serial ones."""
    from drizzlepac_ng.astrodrizzle import pipeline
    from drizzlepac_ng.astrodrizzle.inputs import load_exposures
    from drizzlepac_ng.astrodrizzle.median import ordered_map

    exposures = load_exposures([str(p) for p in simset])
    cfg = astrodrizzle.AstroDrizzleConfig.resolve(None, {})
    frame = pipeline.output_frame(exposures, cfg.final_wcs)
    chips = [c for e in exposures for c in e.chips]
    serial = [pipeline.PixmapCache(frame, budget=0).get(c) for c in chips]
    cache = pipeline.PixmapCache(frame, budget=0)
    threaded = list(ordered_map(lambda c: cache.get(c, num_threads=1), chips, 3))
    for a, b in zip(serial, threaded, strict=True):
        np.testing.assert_array_equal(a, b)


def test_chips_carry_the_camera_geometry_for_the_default_frame(simset, tmp_path):
    """PA_V3, the IDC reference and the parity reach the chip WCSs (as HSTWCS attributes):
    the default output frame takes the camera's orientation, as the original's; without
    the IDC keywords it follows the chip's own +Y."""
    from drizzlepac_ng.astrodrizzle import outwcs, pipeline
    from drizzlepac_ng.astrodrizzle.inputs import load_exposures
    from stwcs_ng.wcsutil import HSTWCS

    chip = load_exposures(simset[:1])[0].chips[0]
    ref = HSTWCS(str(simset[0]), ext=("SCI", chip.extver))
    for name in ("pav3", "idcv2ref", "idcv3ref", "idctheta"):
        assert getattr(chip.wcs, name) == pytest.approx(getattr(ref, name), abs=1e-12), name
    assert np.array_equal(chip.wcs.parity, ref.parity)
    camera = outwcs.camera_orientation(ref)
    cfg = astrodrizzle.AstroDrizzleConfig.resolve(None, {})
    frame = pipeline.output_frame(load_exposures(simset), cfg.final_wcs)
    assert outwcs.cd_scale_orient(frame.wcs.cd)[1] == pytest.approx(camera, abs=1e-9)

    (bare,) = _copy(simset[:1], tmp_path / "bare")
    with fits.open(bare, mode="update") as hdul:
        del hdul[0].header["PA_V3"]
        for hdu in hdul:
            if hdu.name == "SCI":
                hdu.header["IDCV2REF"] = "n/a"     # not a number: ignored
    chip = load_exposures([bare])[0].chips[0]
    assert chip.wcs.pav3 is None and chip.wcs.idcv2ref is None
    assert chip.wcs.idcv3ref is not None
    assert outwcs.camera_orientation(chip.wcs) is None
    frame = pipeline.output_frame(load_exposures([bare]), cfg.final_wcs)
    chip_y = outwcs.cd_scale_orient(outwcs.linear_cd(chip.wcs, chip.shape)[0])[1]
    assert outwcs.cd_scale_orient(frame.wcs.cd)[1] == pytest.approx(chip_y, abs=1e-9)
