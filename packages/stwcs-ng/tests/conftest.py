"""Shared fixtures for the stwcs-ng tests.

Fixtures
--------
hst_data_dir
    ``../shared/data/hst`` next to the repository (skips the test when absent).
wfc3_flc, wfc3_flt
    The real WFC3 sample files in it (skip when absent).  Never modify them:
    copy to ``tmp_path`` first (see ``copy_to_tmp``).
copy_to_tmp
    ``copy_to_tmp(path) -> Path``: writable copy in the test's tmp folder.
acs_header
    Factory ``acs_header(chip=2, extver=1, shape=(2048, 4096), sip=True,
    npol=True, d2im=True, crval=(5.6, -72.05)) -> Header``: an ACS/WFC-like
    SCI header with order-4 SIP (ACS-like coefficients) and the NPOL/D2IM
    record keywords pointing at WCSDVARR/D2IMARR EXTVERs ``2*extver-1`` and
    ``2*extver``.
acs_hdulist
    Factory ``acs_hdulist(nchips=2, shape=(64, 128), npol=True, d2im=True,
    with_data=True) -> HDUList``: primary + SCI/ERR/DQ per chip + WCSDVARR and
    D2IMARR tables (smooth synthetic offsets, fixed seed).  ``shape`` is the
    (ny, nx) of each chip; SIP coefficients and table spacing are scaled so
    that the distortion looks like a full ACS/WFC chip squeezed to that size.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

ROOT = Path(__file__).resolve().parents[3]
HST_DATA = ROOT.parent / "shared" / "data" / "hst"

# ACS/WFC-like SIP coefficients for a 4096 x 2048 chip (pixels).
_SIP_A = {(2, 0): 8.6e-6, (1, 1): -7.5e-6, (0, 2): 2.2e-6, (3, 0): -1.1e-11, (2, 1): 3.1e-11,
          (1, 2): -5.2e-11, (0, 3): 1.2e-11, (4, 0): 1.5e-14, (3, 1): -8.0e-15,
          (2, 2): 2.1e-14, (1, 3): 6.0e-15, (0, 4): -3.0e-15}
_SIP_B = {(2, 0): -1.8e-6, (1, 1): 6.2e-6, (0, 2): -9.4e-6, (3, 0): 2.2e-11, (2, 1): -4.1e-11,
          (1, 2): 1.2e-11, (0, 3): -3.3e-11, (4, 0): -7.0e-15, (3, 1): 1.1e-14,
          (2, 2): -4.0e-15, (1, 3): 9.0e-15, (0, 4): 2.5e-14}
_FULL = (2048, 4096)


@pytest.fixture
def hst_data_dir() -> Path:
    """The shared real-data folder; skips when absent."""
    if not HST_DATA.is_dir():
        pytest.skip(f"real HST data not available ({HST_DATA})")
    return HST_DATA


def _sample(name: str) -> Path:
    path = HST_DATA / name
    if not path.is_file():
        pytest.skip(f"real HST sample {name} not available")
    return path


@pytest.fixture
def wfc3_flc() -> Path:
    """Real WFC3/UVIS _flc sample (2 chips, NPOL + D2IM, headerlets, WCSCORR)."""
    return _sample("sample_ipppssoot_flc.fits")


@pytest.fixture
def wfc3_flt() -> Path:
    """Real WFC3/IR _flt sample (1 chip)."""
    return _sample("sample_ipppssoot_flt.fits")


@pytest.fixture
def copy_to_tmp(tmp_path):
    """Factory returning a writable copy of a file inside tmp_path."""

    def copy(path: Path) -> Path:
        dest = tmp_path / Path(path).name
        shutil.copyfile(path, dest)
        dest.chmod(0o644)
        return dest

    return copy


def make_acs_header(chip: int = 2, extver: int = 1, shape: tuple[int, int] = _FULL,
                    sip: bool = True, npol: bool = True, d2im: bool = True,
                    crval: tuple[float, float] = (5.6, -72.05)) -> fits.Header:
    """ACS/WFC-like SCI header (see module docstring)."""
    ny, nx = shape
    scale = _FULL[1] / nx  # pixel size ratio to a full chip
    h = fits.Header()
    h["NAXIS"] = 2
    h["NAXIS1"] = nx
    h["NAXIS2"] = ny
    h["EXTNAME"] = "SCI"
    h["EXTVER"] = extver
    h["CCDCHIP"] = chip
    h["VAFACTOR"] = 1.000021
    h["LTV1"] = 0.0
    h["LTV2"] = 0.0
    h["WCSAXES"] = 2
    h["CRPIX1"] = nx / 2.0
    h["CRPIX2"] = ny / 2.0
    h["CRVAL1"] = crval[0]
    h["CRVAL2"] = crval[1] + (0.02 if chip == 1 else 0.0)
    h["CTYPE1"] = "RA---TAN-SIP" if sip else "RA---TAN"
    h["CTYPE2"] = "DEC--TAN-SIP" if sip else "DEC--TAN"
    h["CUNIT1"] = "deg"
    h["CUNIT2"] = "deg"
    cd = np.array([[-8.7e-6, -1.07e-5], [-1.1e-5, 8.3e-6]]) * scale
    for i in (1, 2):
        for j in (1, 2):
            h[f"CD{i}_{j}"] = cd[i - 1, j - 1]
    h["RADESYS"] = "ICRS"
    h["WCSNAME"] = "IDC_qbu1641sj"
    h["IDCTAB"] = "jref$qbu1641sj_idc.fits"
    h["OCX10"] = 0.002
    h["OCX11"] = 0.0498
    h["OCY10"] = 0.0492
    h["OCY11"] = 0.0013
    h["IDCSCALE"] = 0.05
    h["IDCV2REF"] = 256.6
    h["IDCV3REF"] = 302.2
    h["IDCTHETA"] = 0.0
    if sip:
        h["A_ORDER"] = 4
        for (p, q), v in _SIP_A.items():
            h[f"A_{p}_{q}"] = v * scale ** (p + q - 1)
        h["B_ORDER"] = 4
        for (p, q), v in _SIP_B.items():
            h[f"B_{p}_{q}"] = v * scale ** (p + q - 1)
    for flag, dis, rec, err in ((d2im, "D2IMDIS", "D2IM", "D2IMERR"),
                                (npol, "CPDIS", "DP", "CPERR")):
        if not flag:
            continue
        for j in (1, 2):
            h[f"{dis}{j}"] = ("LOOKUP", "lookup table distortion")
            h[f"{rec}{j}.EXTVER"] = 2 * extver - 2 + j
            h[f"{rec}{j}.NAXES"] = 2
            h[f"{rec}{j}.AXIS.1"] = 1
            h[f"{rec}{j}.AXIS.2"] = 2
            h[f"{err}{j}"] = 0.05
    return h


def _table(extname: str, extver: int, shape: tuple[int, int], amplitude: float,
           seed: int) -> fits.ImageHDU:
    rng = np.random.default_rng(seed)
    ty, tx = 32, 64
    yy, xx = np.mgrid[0:ty, 0:tx]
    phase = rng.uniform(0, 2 * np.pi, 4)
    data = amplitude * (np.sin(xx / 7.0 + phase[0]) * np.cos(yy / 5.0 + phase[1])
                        + 0.3 * np.sin((xx + yy) / 3.0 + phase[2]))
    data += 0.1 * amplitude * rng.standard_normal((ty, tx))
    hdu = fits.ImageHDU(data.astype(np.float32), name=extname, ver=extver)
    ny, nx = shape
    for k, step in ((1, nx / tx), (2, ny / ty)):
        hdu.header[f"CRPIX{k}"] = 0.0
        hdu.header[f"CRVAL{k}"] = 0.0
        hdu.header[f"CDELT{k}"] = float(step)
    return hdu


def make_acs_hdulist(nchips: int = 2, shape: tuple[int, int] = (64, 128), npol: bool = True,
                     d2im: bool = True, with_data: bool = True) -> fits.HDUList:
    """ACS/WFC-like exposure in memory (see module docstring)."""
    prim = fits.PrimaryHDU()
    ph = prim.header
    ph["INSTRUME"] = "ACS"
    ph["DETECTOR"] = "WFC"
    ph["ROOTNAME"] = "j8bt06nyq"
    ph["FILTER1"] = "F606W"
    ph["FILTER2"] = "CLEAR2L"
    ph["DATE-OBS"] = "2004-04-10"
    ph["PA_V3"] = 122.3
    ph["IDCTAB"] = "jref$qbu1641sj_idc.fits"
    ph["NPOLFILE"] = "jref$02c1450rj_npl.fits" if npol else "N/A"
    ph["D2IMFILE"] = "jref$02c1450oj_d2i.fits" if d2im else "N/A"
    hdus = [prim]
    tables = []
    for v in range(1, nchips + 1):
        chip = 2 if v == 1 else 1
        h = make_acs_header(chip=chip, extver=v, shape=shape, npol=npol, d2im=d2im)
        data = np.zeros(shape, dtype=np.float32) if with_data else None
        sci = fits.ImageHDU(data, header=h)
        hdus += [sci, fits.ImageHDU(data, name="ERR", ver=v),
                 fits.ImageHDU(None if data is None else data.astype(np.int16), name="DQ",
                               ver=v)]
        for j in (1, 2):
            if npol:
                tables.append(_table("WCSDVARR", 2 * v - 2 + j, shape, 0.03, 10 * v + j))
            if d2im:
                tables.append(_table("D2IMARR", 2 * v - 2 + j, shape, 0.05, 100 * v + j))
    return fits.HDUList(hdus + tables)


@pytest.fixture
def acs_header():
    """Factory for ACS/WFC-like SCI headers (see :func:`make_acs_header`)."""
    return make_acs_header


@pytest.fixture
def acs_hdulist():
    """Factory for in-memory ACS/WFC-like exposures (see :func:`make_acs_hdulist`)."""
    return make_acs_hdulist
