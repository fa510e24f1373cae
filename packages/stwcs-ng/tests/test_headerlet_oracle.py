"""Compatibility with the original STWCS headerlets (only when ``stwcs`` is installed).

Importing ``stwcs`` registers its own HDRLET HDU class with astropy; our
functions read HDRLET extensions through their raw bytes, so they work
whichever class astropy picks.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

from stwcs_ng.wcsutil import headerlet as ours

pytestmark = [
    pytest.mark.oracle,
    # stwcs leaves headerlet files open (its leak, not ours)
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]

SHAPE = (16, 32)
_X, _Y = np.meshgrid(np.linspace(1, SHAPE[1], 6), np.linspace(1, SHAPE[0], 5))


@pytest.fixture
def theirs(tmp_path, monkeypatch):
    pytest.importorskip("stwcs")
    monkeypatch.chdir(tmp_path)  # stwcs writes headerlet.log into the current folder
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from stwcs.wcsutil import headerlet
    return headerlet


@pytest.fixture
def science(tmp_path, acs_hdulist) -> Path:
    hdul = acs_hdulist(nchips=2, shape=SHAPE)
    rng = np.random.default_rng(5)
    for v in (1, 2):
        hdul["SCI", v].data = rng.normal(0, 1, SHAPE).astype(np.float32)
    hdul[0].header["SIPNAME"] = "j8bt06nyq_qbu1641sj"
    hdul[0].header["DISTNAME"] = "j8bt06nyq_qbu1641sj-02c1450rj-02c1450oj"
    path = tmp_path / "j8bt06nyq_flt.fits"
    hdul.writeto(path)
    return path


def _copy(path: Path, name: str) -> Path:
    dest = path.with_name(name)
    shutil.copyfile(path, dest)
    return dest


def _shifted(path: Path) -> fits.HDUList:
    with fits.open(path) as hdul:
        out = fits.HDUList([h.copy() for h in hdul])
    for v in (1, 2):
        out["SCI", v].header["CRVAL2"] += 3e-4
        out["SCI", v].header["CD1_1"] *= 1.0001
        out["SCI", v].header["WCSNAME"] = "SHIFTED"
    return out


def _sky(path: Path) -> list[np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        with fits.open(path) as hdul:
            return [np.array(WCS(hdul["SCI", v].header, hdul).all_pix2world(_X, _Y, 1))
                    for v in (1, 2)]


def _close(a, b, tol=1e-9) -> bool:
    return all(np.max(np.abs(x - y)) < tol for x, y in zip(a, b, strict=True))


def _quiet(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return func(*args, **kwargs)


def test_our_headerlet_applied_by_stwcs(science, theirs, capsys):
    hl = ours.create_headerlet(_shifted(science), hdrname="ours")
    hfile = science.with_name("ours_hlet.fits")
    hl.tofile(hfile)
    by_them, by_us = _copy(science, "a.fits"), _copy(science, "b.fits")
    t = _quiet(theirs.Headerlet.fromfile, str(hfile))
    assert t.hdrname == "ours" and t.distname == hl.distname
    t.close()
    _quiet(theirs.apply_headerlet_as_primary, str(by_them), str(hfile))
    ours.apply_headerlet_as_primary(str(by_us), str(hfile))
    assert _close(_sky(by_them), _sky(by_us))
    assert _close(_sky(by_us), [np.array(hl.wcs(v).all_pix2world(_X, _Y, 1)) for v in (1, 2)])
    assert not _close(_sky(by_us), _sky(science), 1e-6)


def test_stwcs_headerlet_applied_by_us(science, theirs, capsys):
    src = _copy(science, "shifted.fits")
    _shifted(science).writeto(src, overwrite=True)
    t = _quiet(theirs.create_headerlet, str(src), hdrname="theirs")
    hfile = science.with_name("theirs_hlet.fits")
    _quiet(t.tofile, str(hfile))
    hl = ours.Headerlet.fromfile(hfile)
    assert hl.hdrname == "theirs"
    by_them, by_us = _copy(science, "a.fits"), _copy(science, "b.fits")
    _quiet(theirs.apply_headerlet_as_primary, str(by_them), str(hfile))
    ours.apply_headerlet_as_primary(str(by_us), str(hfile))
    assert _close(_sky(by_them), _sky(by_us))
    assert _close(_sky(by_us), _sky(src))


def test_stwcs_reads_our_hdrlet_extensions(science, theirs, tmp_path, capsys):
    ours.write_headerlet(str(science), "first", output=str(tmp_path / "first.fits"))
    hl = ours.create_headerlet(_shifted(science), hdrname="second")
    ours.attach_headerlet(str(science), hl)
    names = _quiet(theirs.get_headerlet_kw_names, str(science), kw="HDRNAME")
    assert names == ["first", "second"]
    _quiet(theirs.headerlet_summary, str(science))  # fails on HDRLETs without EXTVER
    assert "second" in capsys.readouterr().out
    _quiet(theirs.restore_from_headerlet, str(science), hdrname="second", archive=False)
    assert _close(_sky(science), [np.array(hl.wcs(v).all_pix2world(_X, _Y, 1)) for v in (1, 2)])


def test_we_read_stwcs_hdrlet_extensions(science, theirs, tmp_path, capsys):
    _quiet(theirs.archive_as_headerlet, str(science), "arch1", wcskey="PRIMARY")
    t = _quiet(theirs.create_headerlet, str(science), hdrname="arch2")
    _quiet(t.attach_to_file, str(science))
    assert ours.get_headerlet_kw_names(str(science)) == ["arch1", "arch2"]
    table = ours.headerlet_summary(str(science), quiet=True)
    assert list(table["HDRNAME"]) == ["arch1", "arch2"]
    out = ours.extract_headerlet(str(science), tmp_path / "x.fits", hdrname="arch2")
    assert ours.Headerlet.fromfile(out).hdrname == "arch2"
