"""photeq.photeq."""

from __future__ import annotations

import gc
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from dzng_testing import copy_files, file_digest

from drizzlepac_ng import photeq, simulate
from drizzlepac_ng.errors import ConfigError, InputFileError, MissingExtensionError

SIM = dict(shape="small", seed=9, n_stars=5, n_galaxies=0, n_bright=0, cosmic_rays=False,
           noise=False)
P1 = 1.5e-19


@pytest.fixture(scope="module")
def masters(tmp_path_factory):
    out = tmp_path_factory.mktemp("photeq_master")
    paths = [s.path for s in simulate.simulate_exposures(2, output_dir=out, **SIM)]
    for k, p in enumerate(paths):
        with fits.open(p, mode="update") as hdul:
            hdul[0].header.remove("PHOTFLAM", ignore_missing=True)
            for v, factor in ((1, 1.0), (2, 1.1 + 0.1 * k)):
                hdul["SCI", v].header["PHOTFLAM"] = P1 * factor
                hdul["SCI", v].header["PHOTFNU"] = 2.0e-7 * factor
    return paths


@pytest.fixture
def files(masters, tmp_path):
    return copy_files(masters, tmp_path)



def _get(path, ext, what="data"):
    with fits.open(path) as hdul:
        return hdul[ext].data.astype(float) if what == "data" else hdul[ext].header[what]


def test_readonly_reports_and_changes_nothing(files, tmp_path):
    digests = [file_digest(f) for f in files]
    log = tmp_path / "photeq.log"
    res = photeq.photeq(files, logfile=str(log))
    assert res.readonly and res.ref_phot == pytest.approx(P1)
    assert res.ref_source == f"{files[0]}[SCI,1]"
    factors = {(Path(c.filename).name, c.ext): c.factor for c in res.changes}
    assert factors[(Path(files[0]).name, ("SCI", 2))] == pytest.approx(1.1)
    assert factors[(Path(files[1]).name, ("SCI", 2))] == pytest.approx(1.2)
    assert factors[(Path(files[1]).name, ("SCI", 1))] == pytest.approx(1.0)
    assert [file_digest(f) for f in files] == digests
    text = log.read_text()
    assert "REFERENCE 'PHOTFLAM' VALUE IS" in text and "READONLY" in text


def test_update_rescales_sci_err_and_keywords(files):
    sci = _get(files[1], ("SCI", 2))
    err = _get(files[1], ("ERR", 2))
    sci1 = _get(files[1], ("SCI", 1))
    dq = _get(files[1], ("DQ", 2))
    photeq.photeq(",".join(files), readonly=False, logfile=None)
    np.testing.assert_allclose(_get(files[1], ("SCI", 2)), sci * 1.2, rtol=1e-6)
    np.testing.assert_allclose(_get(files[1], ("ERR", 2)), err * 1.2, rtol=1e-6)
    np.testing.assert_allclose(_get(files[1], ("SCI", 1)), sci1, rtol=1e-6)
    np.testing.assert_array_equal(_get(files[1], ("DQ", 2)), dq)
    for f in files:
        for v in (1, 2):
            assert _get(f, ("SCI", v), "PHOTFLAM") == pytest.approx(P1)
    assert _get(files[1], ("SCI", 2), "PHOTFNU") == pytest.approx(2.0e-7)
    # flux density per pixel (data x PHOTFLAM) is conserved
    assert _get(files[1], ("SCI", 2), "BITPIX") == -32


def test_user_reference_and_reference_extension(files):
    res = photeq.photeq(files, ref_phot=3e-19, logfile=None)
    assert res.ref_source == "user"
    assert {round(c.factor, 6) for c in res.changes} == {0.5, 0.55, 0.6}
    res = photeq.photeq(files, ref_phot_ext=("sci", 2), logfile=None)
    assert res.ref_phot == pytest.approx(P1 * 1.1)
    res = photeq.photeq(files, phot_kwd="photfnu", aux_phot_kwd=["PHOTFLAM"], logfile=None)
    assert res.ref_phot == pytest.approx(2.0e-7)


def test_primary_value_applies_to_extensions_without_one(files):
    with fits.open(files[0], mode="update") as hdul:
        hdul[0].header["PHOTFLAM"] = 2 * P1
        del hdul["SCI", 2].header["PHOTFLAM"]
    res = photeq.photeq(files[0], logfile=None)
    assert res.ref_source == f"{files[0]}[PRIMARY,1]"
    ext2 = [c for c in res.changes if c.ext == ("SCI", 2)][0]
    assert ext2.factor == 1.0  # primary is the reference: factor 1
    res = photeq.photeq(files[0], search_primary=False, logfile=None)
    assert res.ref_source == f"{files[0]}[SCI,1]"
    assert not [c for c in res.changes if c.ext == ("SCI", 2)]


def test_errors_leave_files_unchanged(files, tmp_path):
    digests = [file_digest(f) for f in files]
    with pytest.raises(InputFileError, match="absent"):
        photeq.photeq(files, phot_kwd="PHOTXXX", readonly=False, logfile=None)
    with pytest.raises(MissingExtensionError):
        photeq.photeq(files, sciext="SCIX", readonly=False, logfile=None)
    with pytest.raises(MissingExtensionError):
        photeq.photeq(files, ref_phot_ext=("sci", 7), readonly=False, logfile=None)
    with pytest.raises(InputFileError, match="does not exist"):
        photeq.photeq([*files, str(tmp_path / "missing_flt.fits")], readonly=False,
                      logfile=None)
    with pytest.raises(ConfigError):
        photeq.photeq(files, aux_phot_kwd="PHOTFLAM", logfile=None)
    with pytest.raises(ConfigError):
        photeq.photeq(files, ref_phot=-1.0, logfile=None)
    with pytest.raises(ConfigError):
        photeq.photeq(files, aux_phot_kwd=3, logfile=None)
    with fits.open(files[1], mode="update") as hdul:
        hdul["SCI", 2].header["PHOTFLAM"] = "bad"
    digests[1] = file_digest(files[1])
    with pytest.raises(InputFileError, match="not a number"):
        photeq.photeq(files, readonly=False, logfile=None)
    assert [file_digest(f) for f in files] == digests


def test_default_pattern_in_current_directory(files, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputFileError, match="no file matches"):
        photeq.photeq()
    res = photeq.photeq("*_flc.fits")
    assert len({c.filename for c in res.changes}) == 2
    assert (tmp_path / "photeq.log").exists()


ROOT = Path(__file__).resolve().parents[3]
HST = ROOT.parent / "shared" / "data" / "hst"


@pytest.mark.hstdata
@pytest.mark.oracle
def test_matches_drizzlepac_on_real_flc(tmp_path, capsys):
    original = pytest.importorskip("drizzlepac.photeq")
    src = HST / "sample_ipppssoot_flc.fits"
    if not src.exists():
        pytest.skip("real HST samples not available")
    for who in ("o", "n"):
        for tag, factor in (("a", 1.0), ("b", 1.3)):
            path = tmp_path / f"{who}_{tag}_flc.fits"
            shutil.copy(src, path)
            with fits.open(path, mode="update") as hdul:
                hdul["SCI", 1].header["PHOTFLAM"] *= factor
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        original.photeq(f"{tmp_path / 'o_a_flc.fits'},{tmp_path / 'o_b_flc.fits'}",
                        readonly=False, logfile=None)
        gc.collect()
    photeq.photeq([str(tmp_path / "n_a_flc.fits"), str(tmp_path / "n_b_flc.fits")],
                  readonly=False, logfile=None)
    for tag in "ab":
        with fits.open(tmp_path / f"o_{tag}_flc.fits") as o, \
                fits.open(tmp_path / f"n_{tag}_flc.fits") as n:
            assert len(o) == len(n)
            for ho, hn in zip(o, n, strict=True):
                if ho.is_image and ho.data is not None:
                    np.testing.assert_array_equal(hn.data, ho.data)
                for k in ("PHOTFLAM", "PHOTFNU"):
                    if k in ho.header:
                        assert hn.header[k] == pytest.approx(ho.header[k], rel=1e-12)
    capsys.readouterr()


def test_simple_images_with_sciext_primary(tmp_path):
    paths = []
    for k, flam in enumerate((1e-19, 4e-19)):
        hdr = fits.Header()
        hdr["PHOTFLAM"] = flam
        hdr["PHOTFNU"] = 1e-7 * (k + 1)
        p = tmp_path / f"simple{k}.fits"
        fits.PrimaryHDU(np.full((3, 3), 2.0, np.float32), header=hdr).writeto(p)
        paths.append(str(p))
    res = photeq.photeq(paths, sciext="PRIMARY", errext=None, readonly=False, logfile=None)
    assert res.ref_source == f"{paths[0]}[PRIMARY,1]"
    np.testing.assert_allclose(fits.getdata(paths[1]), 8.0)
    np.testing.assert_allclose(fits.getdata(paths[0]), 2.0)
    assert fits.getval(paths[1], "PHOTFLAM") == pytest.approx(1e-19)
    assert fits.getval(paths[1], "PHOTFNU") == pytest.approx(0.5e-7)
