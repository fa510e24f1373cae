"""Tests of the ``stwcs-ng printwcs`` and ``stwcs-ng altwcs`` verbs."""

from __future__ import annotations

import pytest
from astropy.io import fits

from stwcs_ng.cli import main


@pytest.fixture
def exposure(acs_hdulist, tmp_path):
    path = tmp_path / "j8bt06nyq_flc.fits"
    acs_hdulist().writeto(path)
    return path


def test_printwcs(exposure, capsys):
    assert main(["printwcs", f"{exposure}[sci,2]"]) == 0
    out = capsys.readouterr().out
    assert out.count("CRVAL") == 1 and "[SCI,2]" in out and "Plate Scale" in out
    assert main(["printwcs", str(exposure)]) == 0
    assert capsys.readouterr().out.count("ORIENTAT") == 2


def test_altwcs_cycle(exposure, capsys):
    assert main(["altwcs", "archive", str(exposure), "--name", "SAVED"]) == 0
    assert "key A" in capsys.readouterr().out
    assert main(["altwcs", "list", str(exposure)]) == 0
    out = capsys.readouterr().out
    assert out.count("SAVED") == 2 and "PRIMARY" in out
    with fits.open(exposure, mode="update") as h:
        h["SCI", 1].header["CRVAL1"] = 1.5
    assert main(["altwcs", "restore", f"{exposure}[sci,1]", "--key", "A"]) == 0
    with fits.open(exposure) as h:
        assert h["SCI", 1].header["CRVAL1"] == h["SCI", 1].header["CRVAL1A"]
        assert h["SCI", 2].header["CRVAL1"] == h["SCI", 2].header["CRVAL1A"]
    assert main(["altwcs", "delete", str(exposure), "--name", "saved"]) == 0
    with fits.open(exposure) as h:
        assert "WCSNAMEA" not in h["SCI", 1].header


def test_errors_exit_1_and_leave_file(exposure, tmp_path, capsys):
    main(["altwcs", "archive", str(exposure), "--key", "B", "--name", "X"])
    before = exposure.read_bytes()
    assert main(["altwcs", "archive", str(exposure), "--key", "B", "--name", "Y"]) == 1
    assert main(["altwcs", "delete", str(exposure), "--key", "Q"]) == 1
    assert main(["printwcs", f"{exposure}[sci,7]"]) == 1
    assert exposure.read_bytes() == before
    junk = tmp_path / "junk.fits"
    junk.write_text("not fits")
    assert main(["printwcs", str(junk)]) == 1
    assert main(["altwcs", "archive", str(exposure), "--key", "B", "--name", "Y",
                 "--overwrite"]) == 0
    with fits.open(exposure) as h:
        assert h["SCI", 2].header["WCSNAMEB"] == "Y"
    with pytest.raises(SystemExit):
        main(["altwcs", "restore", str(exposure)])  # --key or --name required


@pytest.mark.hstdata
def test_printwcs_real(wfc3_flt, capsys):
    assert main(["printwcs", str(wfc3_flt)]) == 0
    assert "CRPIX" in capsys.readouterr().out
