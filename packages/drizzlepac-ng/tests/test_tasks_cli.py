"""Command-line verbs of the small tasks (drizzlepac-ng pixtosky ... blendheaders)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from drizzlepac_ng import pixtosky, simulate
from drizzlepac_ng.cli import COMMAND_MODULES, main

SIM = dict(shape="small", seed=13, n_stars=3, n_galaxies=0, n_bright=0, cosmic_rays=False,
           noise=False)


@pytest.fixture(scope="module")
def master(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli_master")
    return Path(simulate.simulate_exposures(1, output_dir=out, **SIM)[0].path)


@pytest.fixture
def flc(master, tmp_path):
    shutil.copy(master, tmp_path / master.name)
    for ref in master.parent.glob("sim*.fits"):
        shutil.copy(ref, tmp_path / ref.name)
    return str(tmp_path / master.name)


def test_registered():
    assert "drizzlepac_ng._tasks_cli" in COMMAND_MODULES


def test_pixtosky_skytopix_round_trip(flc, capsys):
    assert main(["pixtosky", f"{flc}[sci,1]", "--x", "10", "--y", "20", "--no-hms",
                 "--precision", "10"]) == 0
    row = capsys.readouterr().out.splitlines()[3].split()
    ra, dec = row[2], row[3]
    assert main(["skytopix", f"{flc}[sci,1]", "--ra", ra, "--dec", dec]) == 0
    x, y = capsys.readouterr().out.splitlines()[3].split()[:2]
    assert float(x) == pytest.approx(10.0, abs=1e-5) and float(y) == pytest.approx(20.0, abs=1e-5)


def test_pixtosky_output_and_pixtopix(flc, tmp_path, capsys):
    out = tmp_path / "radec.dat"
    assert main(["pixtosky", f"{flc}[sci,2]", "--x", "1", "2", "--y", "3", "4", "--output",
                 str(out), "--no-table"]) == 0
    assert capsys.readouterr().out == ""
    lines = out.read_text().splitlines()
    want = pixtosky.xy2rd(f"{flc}[sci,2]", 1.0, 3.0, verbose=False)
    assert lines[1].split() == list(want)
    assert main(["pixtopix", f"{flc}[sci,1]", "--x", "5", "--y", "6"]) == 0
    assert "X(out)" in capsys.readouterr().out


def test_resetbits_and_pixreplace(flc, capsys):
    with fits.open(flc, mode="update") as hdul:
        hdul["DQ", 1].data[0, 0] = 4096 + 8
        hdul["SCI", 1].data[1, 1] = np.nan
    assert main(["resetbits", flc]) == 0
    assert fits.getdata(flc, ("DQ", 1))[0, 0] == 8
    assert main(["pixreplace", flc, "--ext", "sci,1", "--newvalue", "-5"]) == 0
    assert fits.getdata(flc, ("SCI", 1))[1, 1] == -5
    assert "1 pixel(s) replaced" in capsys.readouterr().out


def test_photeq_readonly_and_update(flc, tmp_path, capsys):
    with fits.open(flc, mode="update") as hdul:
        hdul["SCI", 2].header["PHOTFLAM"] = 2 * hdul["SCI", 1].header["PHOTFLAM"]
    digest = hashlib.sha256(Path(flc).read_bytes()).hexdigest()
    log = tmp_path / "p.log"
    assert main(["photeq", flc, "--logfile", str(log)]) == 0
    assert hashlib.sha256(Path(flc).read_bytes()).hexdigest() == digest
    out = capsys.readouterr().out
    assert "1 extension(s) would be rescaled" in out and "[SCI,1]" in out
    assert "READONLY" in log.read_text()
    assert main(["photeq", flc, "--update", "--logfile", ""]) == 0
    assert fits.getval(flc, "PHOTFLAM", ("SCI", 2)) == fits.getval(flc, "PHOTFLAM", ("SCI", 1))


def test_mapreg(flc, tmp_path, capsys):
    pytest.importorskip("regions")
    ra, dec = pixtosky.xy2rd(f"{flc}[sci,1]", 30.0, 30.0, hms=False, verbose=False)
    reg = tmp_path / "s.reg"
    reg.write_text(f"icrs\ncircle({ra},{dec},0.3\")\n")
    assert main(["mapreg", str(reg), flc, "--outpath", str(tmp_path)]) == 0
    out = capsys.readouterr().out.split()
    assert out[1].endswith("_sci1_twreg.reg") and out[2] == "None"


def test_updatenpol(flc, tmp_path, monkeypatch):
    monkeypatch.setenv("jref", str(tmp_path) + "/")
    assert main(["updatenpol", flc, "--no-wcsupdate"]) == 0
    assert fits.getval(flc, "NPOLFILE") == "jref$simacswfc256x128_npl.fits"


def test_errors_exit_1_and_leave_files(flc, tmp_path, caplog):
    digest = hashlib.sha256(Path(flc).read_bytes()).hexdigest()
    assert main(["resetbits", flc, "--extver", "7"]) == 1
    assert main(["pixtosky", str(tmp_path / "none.fits"), "--x", "1", "--y", "1"]) == 1
    assert main(["photeq", flc, "--phot-kwd", "NOSUCHKW", "--update", "--logfile", ""]) == 1
    assert main(["blendheaders", str(tmp_path / "none_drz.fits")]) == 1
    assert main(["updatenpol", flc, str(tmp_path / "nowhere")]) == 1
    assert "NOSUCHKW" in caplog.text
    assert hashlib.sha256(Path(flc).read_bytes()).hexdigest() == digest
