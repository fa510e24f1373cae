"""updatenpol.update with synthetic reference files."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from dzng_testing import file_digest

from drizzlepac_ng import simulate, updatenpol
from drizzlepac_ng.errors import ConfigError, InputFileError

SIM = dict(shape="small", seed=11, n_stars=3, n_galaxies=0, n_bright=0, cosmic_rays=False,
           noise=False, raw=True)


def _edit_header(path, **cards):
    with fits.open(path, mode="update") as hdul:
        for k, v in cards.items():
            hdul[0].header[k] = v


@pytest.fixture(scope="module")
def master(tmp_path_factory):
    out = tmp_path_factory.mktemp("updatenpol_master")
    sim = simulate.simulate_exposures(1, output_dir=out / "data", **SIM)
    ref = out / "ref"
    paths = simulate.write_reference_files(ref, "ACS/WFC", "small")
    npl = paths["NPOLFILE"]
    # candidates: wrong filter, matching with a later USEAFTER (the winner), future
    # USEAFTER, other detector
    shutil.copy(npl, ref / "aaa_npl.fits")
    _edit_header(ref / "aaa_npl.fits", FILTER1="F606W", FILTER2="CLEAR2L",
                 USEAFTER="Jan 01 2020 00:00:00")
    shutil.copy(npl, ref / "mmm_npl.fits")
    _edit_header(ref / "mmm_npl.fits", FILTER1="CLEAR1L", FILTER2="F814W",
                 USEAFTER="Jun 01 2015 00:00:00")
    with fits.open(ref / "mmm_npl.fits", mode="update") as hdul:  # recognisably different tables
        for h in hdul[1:]:
            h.data = h.data * 2
    shutil.copy(npl, ref / "zzz_npl.fits")
    _edit_header(ref / "zzz_npl.fits", USEAFTER="Jan 01 2090 00:00:00")
    shutil.copy(npl, ref / "hrc_npl.fits")
    _edit_header(ref / "hrc_npl.fits", DETECTOR="HRC", USEAFTER="Jan 01 2023 00:00:00")
    return Path(sim[0].path), ref


@pytest.fixture
def setup(master, tmp_path, monkeypatch):
    src, ref = master
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(src, data / src.name)
    shutil.copytree(ref, tmp_path / "ref")
    monkeypatch.setenv("jref", str(tmp_path / "ref") + "/")
    return str(data / src.name), tmp_path / "ref"



def test_find_npolfile_rules(master):
    _, ref = master
    files = sorted(str(p) for p in ref.glob("*npl.fits"))
    date = updatenpol.parse_useafter("2024-01-04 06:00:00")
    pick = updatenpol.find_npolfile(files, "WFC", ["CLEAR1L", "F814W"], instrument="ACS",
                                    date=date)
    assert Path(pick).name == "mmm_npl.fits"
    early = updatenpol.parse_useafter("2010-01-01")
    pick = updatenpol.find_npolfile(files, "WFC", ["CLEAR1L", "F814W"], date=early)
    assert Path(pick).name == "simacswfc256x128_npl.fits"
    pick = updatenpol.find_npolfile(files, "WFC", ["F606W", "CLEAR2L"], date=date)
    assert Path(pick).name == "aaa_npl.fits"
    assert updatenpol.find_npolfile(files, "SBC", ["F115LP", "N/A"]) is None
    assert Path(updatenpol.find_d2ifile(sorted(str(p) for p in ref.glob("*d2i.fits")),
                                        "WFC")).name == "simacswfc256x128_d2i.fits"
    assert updatenpol.parse_useafter("Mar 01 2002") is not None
    assert updatenpol.parse_useafter("garbage") is None


def test_update_writes_keywords_and_tables(setup):
    flc, ref = setup
    with fits.open(flc) as hdul:
        assert "WCSDVARR" not in [h.name for h in hdul]
    assert updatenpol.update(flc) == [flc]
    with fits.open(flc) as hdul:
        prim = hdul[0].header
        assert prim["NPOLFILE"] == "jref$mmm_npl.fits"
        assert prim["D2IMFILE"] == "jref$simacswfc256x128_d2i.fits"
        assert prim.comments["NPOLFILE"] == "Non-polynomial corrections in Paper IV LUT"
        keys = list(prim.keys())
        assert keys.index("D2IMFILE") == keys.index("DGEOFILE") + 1
        assert hdul["SCI", 1].header["NPOLEXT"] == "jref$mmm_npl.fits"
        dv = [h for h in hdul if h.name == "WCSDVARR"]
        assert len(dv) == 4 and "D2IMARR" in [h.name for h in hdul]
        assert np.abs(dv[0].data).max() > 0


def test_no_wcsupdate_local_copy(setup, tmp_path):
    flc, ref = setup
    updatenpol.update(flc, refdir=str(ref), local=True, wcsupdate=False)
    data = Path(flc).parent
    with fits.open(flc) as hdul:
        assert hdul[0].header["NPOLFILE"] == str(data / "mmm_npl.fits")
        assert "WCSDVARR" not in [h.name for h in hdul]
    assert (data / "mmm_npl.fits").is_file() and (data / "simacswfc256x128_d2i.fits").is_file()
    updatenpol.update(flc, refdir=str(ref) + "/", wcsupdate=False)
    assert fits.getval(flc, "NPOLFILE") == str(ref / "mmm_npl.fits")


def test_interactive(setup, monkeypatch):
    flc, ref = setup
    answers = iter([str(ref / "aaa_npl.fits"), ""])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    updatenpol.update(flc, interactive=True, wcsupdate=False)
    assert fits.getval(flc, "NPOLFILE") == str(ref / "aaa_npl.fits")
    assert fits.getval(flc, "D2IMFILE") == ""


def test_errors_leave_file_unchanged(setup, tmp_path, monkeypatch):
    flc, ref = setup
    digest = file_digest(flc)
    _edit_header(flc, FILTER1="F555W", FILTER2="CLEAR2L")
    digest = file_digest(flc)
    for p in ref.glob("*npl.fits"):  # only filter-specific candidates left
        if fits.getval(p, "FILTER1") == "ANY":
            p.unlink()
    with pytest.raises(InputFileError, match="no valid NPOLFILE"):
        updatenpol.update(flc)
    assert file_digest(flc) == digest
    with pytest.raises(InputFileError, match="does not exist"):
        updatenpol.update(flc, refdir=str(tmp_path / "nowhere"))
    monkeypatch.delenv("jref")
    with pytest.raises(InputFileError, match="not set"):
        updatenpol.update(flc)
    with pytest.raises(InputFileError, match="does not exist"):
        updatenpol.update(str(tmp_path / "missing_flc.fits"), refdir=str(ref))
    with pytest.raises(ConfigError):
        updatenpol.update(flc, refdir="")
    assert file_digest(flc) == digest


def test_updatewcs_failure_leaves_file_unchanged(setup):
    from stwcs_ng.errors import StwcsError

    flc, ref = setup
    (ref / "simacswfc256x128_idc.fits").unlink()  # updatewcs cannot read the IDCTAB
    digest = file_digest(flc)
    with pytest.raises(StwcsError):
        updatenpol.update(flc)
    assert file_digest(flc) == digest
