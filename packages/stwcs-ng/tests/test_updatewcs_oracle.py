"""Compatibility with the original STScI stwcs (run only when it is installed)."""

from __future__ import annotations

import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

sys.path.insert(0, str(Path(__file__).resolve().parent))
import rawfiles

from stwcs_ng.updatewcs import updatewcs
from stwcs_ng.wcsutil import altwcs

pytestmark = [pytest.mark.oracle, pytest.mark.hstdata]


@pytest.fixture(autouse=True)
def _jref(monkeypatch):
    if not (rawfiles.HST_DATA / rawfiles.IDCTAB).exists():
        pytest.skip("real HST reference files not available")
    monkeypatch.setenv("jref", str(rawfiles.HST_DATA) + "/")


def _run_original(path: Path) -> None:
    stwcs_updatewcs = pytest.importorskip("stwcs.updatewcs")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stwcs_updatewcs.updatewcs(str(path), use_db=False)


def _sky(header, hdul, x, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = WCS(header, hdul)
    return w.all_pix2world(x, y, 1)


@pytest.mark.parametrize("kwargs", [
    {},
    {"pa_v3": 301.7, "dec": -71.3, "ra": 5.2, "date_obs": "2004-02-29", "filter1": "F606W",
     "filter2": "CLEAR2L", "vafactor": 0.99993},
    {"pa_v3": 12.0, "dec": 62.0, "ra": 359.99, "date_obs": "2016-11-30"},
])
def test_same_sky_positions_names_and_keys(tmp_path, kwargs):
    ours = rawfiles.make_acs_wfc_raw(tmp_path / "ours_flt.fits", **kwargs)
    theirs = tmp_path / "theirs_flt.fits"
    shutil.copy(ours, theirs)
    _run_original(theirs)
    updatewcs(str(ours), use_db=False)
    y, x = np.mgrid[1:2049:64, 1:4097:64].astype(float)
    x, y = x.ravel(), y.ravel()
    with fits.open(ours) as fo, fits.open(theirs) as ft:
        for extver in (1, 2):
            ho, ht = fo["SCI", extver].header, ft["SCI", extver].header
            ra_o, dec_o = _sky(ho, fo, x, y)
            ra_t, dec_t = _sky(ht, ft, x, y)
            dra = ((ra_o - ra_t + 180.0) % 360.0 - 180.0) * np.cos(np.radians(dec_t))
            sep_mas = np.hypot(dra, dec_o - dec_t) * 3.6e6
            assert sep_mas.max() < 1.0, f"SCI,{extver}: {sep_mas.max():.3g} mas"
            assert ho["WCSNAME"] == ht["WCSNAME"]
            assert altwcs.wcskeys(ho) == altwcs.wcskeys(ht)
            assert ho["WCSNAMEO"] == ht["WCSNAMEO"] == "OPUS"
            assert ho["A_ORDER"] == ht["A_ORDER"]
        assert fo[0].header["DISTNAME"] == ft[0].header["DISTNAME"]
        assert fo[0].header["SIPNAME"] == ft[0].header["SIPNAME"]
        for name in ("WCSDVARR", "D2IMARR"):
            ours_ext = sorted(h.ver for h in fo if h.name == name)
            theirs_ext = sorted(h.ver for h in ft if h.name == name)
            assert ours_ext == theirs_ext


@pytest.mark.parametrize("keep_extver", [1, 2])
def test_subarray_matches_original(tmp_path, keep_extver):
    """One WFC chip, 512x512 subarray with LTV offsets: same sky positions as the original."""
    full = rawfiles.make_acs_wfc_raw(tmp_path / "full_flt.fits", shape=(512, 512))
    ours = tmp_path / "ours_flt.fits"
    with fits.open(full) as f:
        keep = [f[0].copy()] + [h.copy() for h in f[1:] if h.ver == keep_extver]
        for h in keep[1:]:
            h.header["EXTVER"] = 1
            h.header["LTV1"] = -1000.0
            h.header["LTV2"] = -300.0
            h.header["CRPIX1"] = 256.0
            h.header["CRPIX2"] = 256.0
        keep[0].header["NEXTEND"] = 3
        fits.HDUList(keep).writeto(ours)
    theirs = tmp_path / "theirs_flt.fits"
    shutil.copy(ours, theirs)
    _run_original(theirs)
    updatewcs(str(ours), use_db=False)
    y, x = np.mgrid[1:513:32, 1:513:32].astype(float)
    x, y = x.ravel(), y.ravel()
    with fits.open(ours) as fo, fits.open(theirs) as ft:
        ho, ht = fo["SCI", 1].header, ft["SCI", 1].header
        assert (ho["CRPIX1"], ho["CRPIX2"]) == (ht["CRPIX1"], ht["CRPIX2"]) == (256.0, 256.0)
        ra_o, dec_o = _sky(ho, fo, x, y)
        ra_t, dec_t = _sky(ht, ft, x, y)
        dra = ((ra_o - ra_t + 180.0) % 360.0 - 180.0) * np.cos(np.radians(dec_t))
        assert (np.hypot(dra, dec_o - dec_t) * 3.6e6).max() < 1.0
        assert fo["WCSDVARR", 1].header["CRVAL1"] == ft["WCSDVARR", 1].header["CRVAL1"] == 1000.0
