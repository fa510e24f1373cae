"""TweakReg on simulated exposures: accuracy against the truth, outputs, bad input."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from drizzlepac_ng import simulate
from drizzlepac_ng.errors import ConfigError, InputFileError
from drizzlepac_ng.tweakreg import TWEAKREG_DEFAULTS, DuplicateKeyError, TweakReg

QUIET = {"writecat": False, "residplot": "No plot", "see2dplot": False, "runfile": ""}


def _errors(seed: int, n: int = 4, first_exact: bool = True) -> np.ndarray:
    rng = np.random.default_rng(seed)
    err = np.column_stack([rng.normal(0, 0.3, n), rng.normal(0, 0.3, n), rng.normal(0, 0.01, n)])
    if first_exact:
        err[0] = 0.0
    return err


@pytest.fixture(scope="module")
def simset(tmp_path_factory):
    out = tmp_path_factory.mktemp("twsim")
    sim = simulate.simulate_exposures(3, shape=(384, 768), seed=11, output_dir=out,
                                      wcs_errors=_errors(5, 3), n_stars=300)
    return sim


@pytest.fixture
def work(simset, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    paths = []
    for e in simset:
        dest = tmp_path / e.path.name
        shutil.copy(e.path, dest)
        paths.append(dest)
    return paths


def _digest(p) -> str:
    return hashlib.sha256(Path(p).read_bytes()).hexdigest()


def wcs_error_mas(path, truth) -> float:
    """RMS over a 16 x 8 grid on both chips of |WCS - true WCS| (mas)."""
    return truth.wcs_error_mas(path, grid=(16, 8))


def test_parameters_match_original_names():
    for name in ("refimage", "expand_refcat", "enforce_user_order", "updatehdr", "wcsname",
                 "headerlet", "attach", "shiftfile", "outshifts", "outwcs", "minobj", "searchrad",
                 "use2dhist", "see2dplot", "separation", "tolerance", "fitgeometry", "residplot",
                 "nclip", "sigma", "refcat", "catfile", "xyunits", "refnbright"):
        assert name in TWEAKREG_DEFAULTS
    assert TWEAKREG_DEFAULTS["wcsname"] == "TWEAK" and TWEAKREG_DEFAULTS["minobj"] == 15
    assert TWEAKREG_DEFAULTS["fitgeometry"] == "rscale"
    assert TWEAKREG_DEFAULTS["outshifts"] == "shifts.txt"


def test_align_to_first_image_matches_truth(work, simset):
    before = [wcs_error_mas(p, e.truth) for p, e in zip(work, simset, strict=True)]
    rep = TweakReg([str(p) for p in work], updatehdr=True, dqbits=0, **QUIET)
    assert rep.all_accepted
    assert rep[0].role == "reference"
    for r in rep.images[1:]:
        assert r.nmatch >= 80 and r.rms_arcsec < 0.05
    after = [wcs_error_mas(p, e.truth) for p, e in zip(work, simset, strict=True)]
    assert max(before[1:]) > 50.0          # the injected errors were real
    assert max(after) < 5.0                # small images: few stars, ~1-2 mas
    with fits.open(work[1]) as h:
        hdr = h["SCI", 1].header
        assert hdr["WCSNAME"] == "TWEAK" and hdr["NMATCH"] == rep[1].nmatch
        assert hdr["RMS_RA"] > 0 and "WCSCORR" in h
        keys = [k for k in "ABCDEFGHIJKLMNPQRSTUVWXYZ" if f"WCSNAME{k}" in hdr]
        assert keys and hdr[f"WCSNAME{keys[-1]}"].startswith("IDC_")


def test_updatehdr_false_leaves_files(work):
    digests = [_digest(p) for p in work]
    rep = TweakReg([str(p) for p in work], dqbits=0, **QUIET)
    assert rep.all_accepted and not any(r.updated for r in rep.images)
    assert [_digest(p) for p in work] == digests


def test_refcat_aligns_all_images(simset, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sim = simulate.simulate_exposures(2, shape=(384, 768), seed=12, output_dir=tmp_path,
                                      wcs_errors=_errors(6, 2, first_exact=False), n_stars=300)
    cat = sim[0].truth.catalog
    good = cat["TYPE"] == "star"
    lines = [f"{r:.10f} {d:.10f} {-2.5 * np.log10(f):.3f}"
             for r, d, f in zip(cat["RA"][good], cat["DEC"][good], cat["RATE"][good], strict=True)]
    (tmp_path / "ref.txt").write_text("# ra dec mag\n" + "\n".join(lines) + "\n")
    rep = TweakReg([str(e.path) for e in sim], refcat="ref.txt", rfluxcol=3, updatehdr=True,
                   dqbits=0, **QUIET)
    assert rep.all_accepted and all(r.role == "aligned" for r in rep.images)
    for e in sim:
        assert wcs_error_mas(e.path, e.truth) < 5.0


def test_shiftfile_plots_and_catalogs(work):
    pytest.importorskip("matplotlib")  # the PNG plots need the [plot] extra
    rep = TweakReg([str(p) for p in work], dqbits=0, shiftfile=True, writecat=True, runfile="")
    lines = Path("shifts.txt").read_text().splitlines()
    assert lines[:4] == ["# frame: output", "# refimage: shifts_wcs.fits[wcs]", "# form: delta",
                         "# units: pixels"]
    assert len(lines) == 7
    first = lines[4].split()
    assert first[0] == work[0].name and [float(v) for v in first[1:]] == [0, 0, 0, 1, 0, 0]
    row = lines[5].split()
    assert float(row[1]) == pytest.approx(rep[1].xshift, abs=1e-5)
    with fits.open("shifts_wcs.fits") as h:
        assert h[1].header["EXTNAME"] == "WCS" and "NPIX1" in h[1].header
    root = work[1].name.removesuffix(".fits")
    for name in (f"hist2d_{root}.png", f"residuals_{root}.png", f"vector_{root}.png",
                 f"{root}_sci1_xy_catalog.coo", f"{root}_sky_catalog.coo",
                 f"{root}_catalog_fit.match"):
        assert Path(name).is_file(), name
    TweakReg([str(p) for p in work], dqbits=0, writecat=True, clean=True, runfile="",
             residplot="No plot", see2dplot=False)
    assert not Path(f"{root}_catalog_fit.match").exists()


def test_headerlet_option(work):
    rep = TweakReg([str(p) for p in work[:2]], dqbits=0, updatehdr=True, headerlet=True,
                   wcsname="FIT1", **QUIET)
    assert rep.all_accepted
    with fits.open(work[1]) as h:
        assert h["SCI", 1].header["WCSNAME"] == "FIT1"
        assert any(x.header.get("EXTNAME") == "HDRLET" for x in h[1:])


def test_no_sources_refused_and_untouched(work):
    with fits.open(work[2], mode="update") as h:
        for ev in (1, 2):
            h["SCI", ev].data[:] = 10.0
    d = _digest(work[2])
    rep = TweakReg([str(p) for p in work], dqbits=0, updatehdr=True, **QUIET)
    r = rep[work[2].name]
    assert not r.accepted and "no sources" in r.reason and not r.updated
    assert _digest(work[2]) == d
    assert rep[1].accepted and rep[1].updated


def test_no_overlap_refused(work):
    with fits.open(work[2], mode="update") as h:
        for ev in (1, 2):
            h["SCI", ev].header["CRVAL2"] += 0.5
    d = _digest(work[2])
    rep = TweakReg([str(p) for p in work], dqbits=0, updatehdr=True, **QUIET)
    r = rep[work[2].name]
    assert not r.accepted and "overlap" in r.reason
    assert _digest(work[2]) == d


def test_too_few_matches_refused(work):
    digests = [_digest(p) for p in work]
    rep = TweakReg([str(p) for p in work], dqbits=0, updatehdr=True, minobj=100000, **QUIET)
    for r in rep.images[1:]:
        assert not r.accepted and "too few matches" in r.reason
    # the reference alone is "updated" with an identity fit, the refused images are not
    assert [_digest(p) for p in work[1:]] == digests[1:]


def test_wrong_refcat_format_leaves_everything(work):
    Path("bad.txt").write_text("1024.5 512.3 18.0\n900.1 100.0 19.0\n")
    digests = [_digest(p) for p in work]
    rep = TweakReg([str(p) for p in work], refcat="bad.txt", updatehdr=True, **QUIET)
    assert not any(r.accepted for r in rep.images)
    assert all("reference catalog" in r.reason and "RA/Dec" in r.reason for r in rep.images)
    Path("words.txt").write_text("a b c\n")
    rep = TweakReg([str(p) for p in work], refcat="words.txt", updatehdr=True, **QUIET)
    assert all("non-numeric" in r.reason for r in rep.images)
    assert [_digest(p) for p in work] == digests


def test_parameter_errors(work):
    with pytest.raises(ConfigError):
        TweakReg([str(work[0])], nosuchpar=1, **QUIET)
    with pytest.raises(DuplicateKeyError):
        TweakReg([str(work[0])], imagefindcfg={"threshold": 5.0}, threshold=6.0, **QUIET)
    with pytest.raises(ConfigError):
        TweakReg([str(work[0])], fitgeometry="affine", **QUIET)
    with pytest.raises(InputFileError):
        TweakReg(["missing_flc.fits"], **QUIET)


def test_refimage_expand_and_user_order(work, simset):
    # separate reference image (not among the inputs), expanded reference catalog
    rep = TweakReg([str(p) for p in work[1:]], refimage=str(work[0]), expand_refcat=True,
                   dqbits=0, refimagefindcfg={"dqbits": 0}, updatehdr=True, **QUIET)
    assert rep.reference == str(work[0])
    assert rep.all_accepted and all(r.role == "aligned" for r in rep.images)
    for p, e in zip(work[1:], list(simset)[1:], strict=True):
        assert wcs_error_mas(p, e.truth) < 5.0
    rep2 = TweakReg([str(p) for p in work], enforce_user_order=False, dqbits=0, **QUIET)
    assert sum(r.role == "reference" for r in rep2.images) == 1 and rep2.all_accepted


def test_user_catalogs_and_exclusions(work, simset):
    # per-chip catalogs written from the truth (1-based pixels) through catfile
    lines = []
    for p, e in zip(work, simset, strict=True):
        names = []
        for ev in (1, 2):
            t = e.truth.chip(ev).sources
            t = t[t["INSIDE"] & ~t["SATURATED"]]
            name = f"{p.stem}_{ev}.xy"
            Path(name).write_text("\n".join(f"{x + 1:.5f} {y + 1:.5f} {f:.1f}" for x, y, f
                                            in zip(t["X"], t["Y"], t["COUNTS"], strict=True)))
            names.append(name)
        lines.append(" ".join([p.name, *names]))
    Path("cats.txt").write_text("\n".join(lines) + "\n")
    rep = TweakReg([str(p) for p in work], catfile="cats.txt", fluxcol=3, minobj=10,
                   updatehdr=True, **QUIET)
    assert rep.all_accepted
    for p, e in zip(work, simset, strict=True):
        assert wcs_error_mas(p, e.truth) < 0.5   # exact positions: only the fit limits
    # an exclude region covering a whole chip removes its sources; as in the original,
    # an include region (no minus sign) covering it keeps them all
    pytest.importorskip("regions")  # DS9 region files need the [regions] extra
    Path("none.reg").write_text("image\n-box(400,200,2000,1000,0)\n")
    Path("all.reg").write_text("image\nbox(400,200,2000,1000,0)\n")
    Path("sub").mkdir()
    Path("sub/excl.txt").write_text(f"{work[1].name} none.reg INDEF\n"
                                    f"{work[2].name} all.reg all.reg\n")
    shutil.move("none.reg", "sub/none.reg")     # found next to the exclusions file
    rep = TweakReg([str(p) for p in work], exclusions="sub/excl.txt", dqbits=0, **QUIET)
    full = TweakReg([str(p) for p in work], dqbits=0, **QUIET)
    r = rep[work[1].name]
    assert 0 < r.nsources < full[work[1].name].nsources
    assert rep[work[2].name].nsources == full[work[2].name].nsources


def test_broken_wcs_is_a_clear_error(work):
    """An image whose SCI headers lost their WCS: a package error naming it, files unchanged."""
    import hashlib

    from drizzlepac_ng.errors import InputFileError

    with fits.open(work[2], mode="update") as hdul:
        for hdu in hdul:
            if hdu.name == "SCI":
                for key in list(hdu.header):
                    if key.startswith(("CTYPE", "CRVAL", "CRPIX", "CD1_", "CD2_", "WCSNAME")):
                        del hdu.header[key]
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in work}
    with pytest.raises(InputFileError, match=work[2].name):
        TweakReg([str(p) for p in work], dqbits=0, updatehdr=True, **QUIET)
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in work} == before


def test_non_finite_positions_are_refused(work, monkeypatch):
    """Sources whose sky positions are not finite refuse the image instead of crashing."""
    from drizzlepac_ng.align.catalogs import PendingCatalogs

    real = PendingCatalogs._finish

    def poisoned(self, found):
        cats = real(self, found)
        if str(self.filename).endswith(work[2].name):
            for cat in cats:
                cat.ra = cat.ra.copy()
                cat.ra[0] = np.nan
        return cats

    monkeypatch.setattr(PendingCatalogs, "_finish", poisoned)
    rep = TweakReg([str(p) for p in work], dqbits=0, **QUIET)
    r = rep[work[2].name]
    assert not r.accepted and "valid sky position" in r.reason


@pytest.mark.parametrize("which", [0, 2])
def test_singular_cd_is_a_clear_error(work, which):
    """An all-zero CD matrix (astropy would silently make it 1 deg/pixel) names the file."""
    with fits.open(work[which], mode="update") as hdul:
        for hdu in hdul:
            if hdu.name == "SCI":
                for key in ("CD1_1", "CD1_2", "CD2_1", "CD2_2"):
                    hdu.header[key] = 0.0
    before = {p: _digest(p) for p in work}
    with pytest.raises(InputFileError, match=rf"{work[which].name}\[SCI,1\].*singular"):
        TweakReg([str(p) for p in work], dqbits=0, updatehdr=True, **QUIET)
    assert {p: _digest(p) for p in work} == before


def test_check_linear_header():
    from drizzlepac_ng.align.wcsupdate import check_linear_header

    h = fits.Header({"CD1_1": -1e-5, "CD1_2": 2e-6, "CD2_1": 2e-6, "CD2_2": 1e-5})
    assert check_linear_header(h).shape == (2, 2)
    h["CD2_2"], h["CD2_1"] = 2e-6 * 2e-6 / -1e-5, 2e-6        # rank 1
    with pytest.raises(InputFileError, match="singular"):
        check_linear_header(h, "x.fits", ("SCI", 1))
    with pytest.raises(InputFileError, match=r"x.fits\[SCI,2\]: CD1_1"):
        check_linear_header(fits.Header({"CD1_1": "abc"}), "x.fits", ("SCI", 2))
    # PC x CDELT form: a zero CDELT is singular, the defaults are not
    assert np.allclose(check_linear_header(fits.Header({"CDELT1": 2.0})), [[2, 0], [0, 1]])
    with pytest.raises(InputFileError, match="PC x CDELT"):
        check_linear_header(fits.Header({"CDELT2": 0.0}))


def test_fit_match_file_has_the_18_columns(work):
    """Columns of the original's *_catalog_fit.match, consistent with each other."""
    from astropy.wcs import WCS

    rep = TweakReg([str(p) for p in work[:2]], dqbits=0, expand_refcat=True,
                   **{**QUIET, "writecat": True})
    assert rep.all_accepted
    root = work[1].name.removesuffix(".fits")
    text = Path(f"{root}_catalog_fit.match").read_text().splitlines()
    assert "#     Column 18: Ref source provenience" in text
    rows = [ln.split() for ln in text if not ln.startswith("#")]
    clipped = [ln for ln in text if ln.startswith("# clipped:")]
    assert len(rows) + len(clipped) >= rep[1].nmatch and len(rows) == rep[1].nmatch
    assert all(len(r) == 18 for r in rows)
    assert {r[17] for r in rows} == {work[0].name}
    a = np.array([[float(v) for v in r[:17]] for r in rows])
    # fit minus reference equals the residual columns (up to their sign convention)
    d = a[:, 4:6] - a[:, 0:2]
    assert np.allclose(np.abs(d), np.abs(a[:, 6:8]), atol=2e-6)
    assert np.sqrt(np.mean(d ** 2)) < 0.2
    # the original chip positions of the inputs map to the listed RA/Dec through the
    # fitted transform: checked by mapping them with the updated WCS of chip EXTVER
    refwcs = rep.refwcs
    with fits.open(work[1]) as h:
        for ev in (1, 2):
            sel = a[:, 14] == ev
            if not sel.any():
                continue
            w = WCS(h["SCI", ev].header, h)
            plane = refwcs.wcs_world2pix(w.all_pix2world(a[sel, 10:12], 1), 1)
            assert np.allclose(plane, a[sel, 2:4], atol=1e-4)
    with fits.open(work[0]) as h:
        w = WCS(h["SCI", 1].header, h)
        sel = np.isfinite(a[:, 8])
        plane = refwcs.wcs_world2pix(w.all_pix2world(a[sel, 8:10], 1), 1)
        on1 = np.all(np.abs(plane - a[sel, 0:2]) < 1e-4, axis=1)
        assert on1.any()        # the reference sources of chip 1 are where their columns say


def test_crreject_drops_cosmic_rays_and_still_aligns(work, simset):
    plain = TweakReg([str(p) for p in work], dqbits=0, **QUIET)
    rep = TweakReg([str(p) for p in work], dqbits=0, crreject=True, updatehdr=True, **QUIET)
    assert rep.all_accepted
    for a, b in zip(rep.images, plain.images, strict=True):
        assert a.nsources < b.nsources          # the simulated exposures carry cosmic rays
    for p, e in zip(work, simset, strict=True):
        assert wcs_error_mas(p, e.truth) < 5.0


def _wcs_cards(path) -> list:
    with fits.open(path) as hdul:
        return [(h.header.get("WCSNAME"), h.header.get("CRVAL1"), h.header.get("CRVAL2"),
                 h.header.get("CD1_1"), h.header.get("CD2_2"), h.header.get("NMATCH"))
                for h in hdul if h.name == "SCI"]


def test_thread_count_does_not_change_the_result(simset, tmp_path, monkeypatch):
    """Finder threads and headers written right after each fit: same WCSs as one thread."""
    results = []
    for n in ("1", "3"):
        folder = tmp_path / f"t{n}"
        folder.mkdir()
        monkeypatch.chdir(folder)
        monkeypatch.setenv("OMP_NUM_THREADS", n)
        paths = [Path(shutil.copy(e.path, folder / e.path.name)) for e in simset]
        rep = TweakReg([str(p) for p in paths], dqbits=0, updatehdr=True, **QUIET)
        assert rep.all_accepted
        results.append(([r.nmatch for r in rep.images], [_wcs_cards(p) for p in paths]))
    assert results[0] == results[1]
    assert results[0][1][1][0][0] == "TWEAK"


def test_exclusion_error_after_fits_leaves_every_file(work, tmp_path):
    """An exclusion file read after the finder fails: no header was written before it."""
    excl = tmp_path / "excl.txt"
    excl.write_text(f"{work[2].name} missing_regions.reg\n")
    before = {p: _digest(p) for p in work}
    with pytest.raises(InputFileError):
        TweakReg([str(p) for p in work], dqbits=0, updatehdr=True, exclusions=str(excl),
                 **QUIET)
    assert {p: _digest(p) for p in work} == before


def test_pending_catalogs_close_their_file(work):
    from concurrent.futures import ThreadPoolExecutor

    from drizzlepac_ng.align.catalogs import image_catalogs, start_image_catalogs
    from drizzlepac_ng.imagefindpars import ImageFindPars

    pars = ImageFindPars(dqbits=0)
    serial = image_catalogs(work[0], pars, num_threads=1)
    with ThreadPoolExecutor(2) as pool:
        pending = start_image_catalogs(work[0], pars, pool)
        cats = pending.result()
        with pytest.raises(RuntimeError, match="already collected"):
            pending.result()
        abandoned = start_image_catalogs(work[1], pars, pool)
        abandoned.cancel()
        assert abandoned._hdul is None
    assert [len(c.x) for c in cats] == [len(c.x) for c in serial]
    for a, b in zip(cats, serial, strict=True):
        np.testing.assert_array_equal(a.ra, b.ra)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd")
def test_checked_images_hold_no_descriptor_until_searched(work):
    """Hundreds of inputs must not need hundreds of open files: a checked image is closed."""
    from concurrent.futures import ThreadPoolExecutor

    from drizzlepac_ng.align.catalogs import start_image_catalogs
    from drizzlepac_ng.imagefindpars import ImageFindPars

    def open_descriptors():
        return len(list(Path("/proc/self/fd").iterdir()))

    pars = ImageFindPars(dqbits=0)
    before = open_descriptors()
    pending = [start_image_catalogs(p, pars, None) for p in work for _ in range(3)]
    assert open_descriptors() <= before          # nothing stays open after the checks
    with ThreadPoolExecutor(2) as pool:
        pending[0].submit(pool)                  # the file is opened when searched ...
        assert pending[0]._hdul is not None
        first = pending[0].result()              # ... and closed when collected
        assert pending[0]._hdul is None and len(first)
    for p in pending[1:]:
        p.cancel()
    assert open_descriptors() <= before


def test_threaded_header_updates_write_what_serial_ones_do(work, tmp_path, monkeypatch):
    """Header writes run in worker threads; the files equal those of one-at-a-time writes,
    and a file listed twice is updated in order (the second time refused: name used)."""
    import drizzlepac_ng.tweakreg as tw

    serial_dir = tmp_path / "serial"
    serial_dir.mkdir()
    serial = []
    for p in work:
        shutil.copy(p, serial_dir / p.name)
        serial.append(serial_dir / p.name)
    names = [str(p) for p in work] + [str(work[1])]
    threaded = TweakReg(names, dqbits=0, updatehdr=True, **QUIET)
    assert threaded[str(work[1])].updated
    monkeypatch.setattr(tw.os, "cpu_count", lambda: 1)   # one writer: the calling thread
    TweakReg([str(p) for p in serial] + [str(serial[1])], dqbits=0, updatehdr=True, **QUIET)

    def wcs_cards(path):
        with fits.open(path) as hdul:
            return [(h.name, h.ver, {k: v for k, v in h.header.items()
                                     if k not in ("DATE", "IRAF-TLM", "CHECKSUM", "DATASUM")})
                    for h in hdul if h.name in ("SCI", "PRIMARY")]

    for a, b in zip(work, serial, strict=True):
        assert wcs_cards(a) == wcs_cards(b)
