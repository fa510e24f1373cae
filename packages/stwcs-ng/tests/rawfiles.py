"""Synthetic HST exposures "as delivered by the pipeline" (before updatewcs).

``make_acs_wfc_raw`` writes a small (or full-size) ACS/WFC FLT-like file:
primary header with the keywords updatewcs needs, two chips (SCI, ERR, DQ
for EXTVER 1 = CCDCHIP 2 and EXTVER 2 = CCDCHIP 1, the order of real WFC
files) with a linear, OPUS-like WCS.  The pixel data are zeros: the WCS
keywords, not the arrays, are what updatewcs works on.  Keep the arrays
larger than the 64x32 NPOL tables when comparing with the original stwcs,
which silently skips NPOL for images not larger than the table.

The required/optional keyword contract is documented in
``docs/user_guide/updatewcs.rst``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

__all__ = ["HST_DATA", "IDCTAB", "NPOLFILE", "D2IMFILE", "make_acs_wfc_raw", "opus_wcs"]

#: Shared real reference files (outside the repository; may be absent).
HST_DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "hst"
IDCTAB = "qbu1641sj_idc.fits"
NPOLFILE = "02c1450rj_npl.fits"
D2IMFILE = "02c1450oj_d2i.fits"

_WFC_SIZE = (4096, 2048)  # NAXIS1, NAXIS2 of one chip


def opus_wcs(ra: float, dec: float, orientat: float, scale: float = 0.05,
             crpix: tuple[float, float] = (2048.0, 1024.0)) -> dict[str, float]:
    """Linear TAN WCS keywords with ORIENTAT (deg) and scale (arcsec/pixel); WFC parity."""
    t = math.radians(orientat)
    s = scale / 3600.0
    # columns: sky direction of +x and +y; +y at position angle `orientat`,
    # +x at orientat - 90 (mirror image of the sky: RA increases to the left)
    cd = np.array([[-s * math.cos(t), s * math.sin(t)],
                   [s * math.sin(t), s * math.cos(t)]])
    return {"CRPIX1": crpix[0], "CRPIX2": crpix[1], "CRVAL1": ra, "CRVAL2": dec,
            "CD1_1": cd[0, 0], "CD1_2": cd[0, 1], "CD2_1": cd[1, 0], "CD2_2": cd[1, 1]}


def make_acs_wfc_raw(path: str | Path, *, shape: tuple[int, int] | None = (48, 96),
                     ra: float = 150.1163, dec: float = 2.2011, pa_v3: float = 120.0,
                     date_obs: str = "2010-06-15", filter1: str = "CLEAR1L",
                     filter2: str = "F814W", vafactor: float = 1.0000765,
                     idctab: str = f"jref${IDCTAB}", npolfile: str = f"jref${NPOLFILE}",
                     d2imfile: str = f"jref${D2IMFILE}", rootname: str = "jtest01abq",
                     ngoodpix: bool = True, dtype=np.float32) -> Path:
    """Write a synthetic ACS/WFC FLT-like exposure.

    Parameters
    ----------
    path : str or Path
        Output file.
    shape : (ny, nx) or None
        Array shape of every extension; None means the full chip (2048, 4096).
        The WCS always describes the full chip (LTV = 0).
    ra, dec : float
        Pointing (degrees) at the reference pixel of chip 2.
    pa_v3 : float
        Roll (degrees).
    date_obs, filter1, filter2, vafactor, idctab, npolfile, d2imfile, rootname
        Header values.
    ngoodpix : bool
        Write ``NGOODPIX`` in SCI headers (the original stwcs refuses files without it).
    dtype : numpy dtype
        SCI/ERR data type.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    ny, nx = (_WFC_SIZE[1], _WFC_SIZE[0]) if shape is None else shape
    orientat = pa_v3 - 94.0  # roughly what the pipeline gives for WFC
    prim = fits.PrimaryHDU()
    h = prim.header
    for kw, value in (("TELESCOP", "HST"), ("INSTRUME", "ACS"), ("DETECTOR", "WFC"),
                      ("ROOTNAME", rootname), ("FILENAME", path.name), ("NEXTEND", 6),
                      ("FILTER1", filter1), ("FILTER2", filter2), ("DATE-OBS", date_obs),
                      ("TIME-OBS", "03:04:05"), ("EXPSTART", 55362.127835),
                      ("EXPEND", 55362.134779), ("EXPTIME", 600.0), ("PA_V3", pa_v3),
                      ("RA_TARG", ra), ("DEC_TARG", dec), ("EQUINOX", 2000.0),
                      ("IDCTAB", idctab), ("NPOLFILE", npolfile), ("D2IMFILE", d2imfile),
                      ("ASN_MTYP", "EXP-DTH")):
        h[kw] = value
    hdus = [prim]
    chip2 = opus_wcs(ra, dec, orientat)
    w2 = WCS(naxis=2)
    w2.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w2.wcs.crpix = [chip2["CRPIX1"], chip2["CRPIX2"]]
    w2.wcs.crval = [ra, dec]
    w2.wcs.cd = [[chip2["CD1_1"], chip2["CD1_2"]], [chip2["CD2_1"], chip2["CD2_2"]]]
    # chip 1 sits above chip 2 (+y) with a ~50-pixel gap
    ra1, dec1 = w2.wcs_pix2world([[2048.0, 1024.0 + 2048.0 + 50.0]], 1)[0]
    chip1 = opus_wcs(float(ra1), float(dec1), orientat)
    for extver, (ccdchip, kws) in enumerate(((2, chip2), (1, chip1)), start=1):
        for extname in ("SCI", "ERR", "DQ"):
            data = np.zeros((ny, nx), dtype=np.int16 if extname == "DQ" else dtype)
            eh = fits.Header()
            eh["EXTNAME"] = extname
            eh["EXTVER"] = extver
            eh["CCDCHIP"] = ccdchip
            eh["WCSAXES"] = 2
            eh["CTYPE1"] = "RA---TAN"
            eh["CTYPE2"] = "DEC--TAN"
            for kw, value in kws.items():
                eh[kw] = value
            eh["LTV1"] = 0.0
            eh["LTV2"] = 0.0
            eh["LTM1_1"] = 1.0
            eh["LTM2_2"] = 1.0
            if extname == "SCI":
                eh["VAFACTOR"] = vafactor
                eh["ORIENTAT"] = orientat
                eh["BUNIT"] = "ELECTRONS"
                if ngoodpix:
                    eh["NGOODPIX"] = nx * ny
            hdus.append(fits.ImageHDU(data=data, header=eh))
    fits.HDUList(hdus).writeto(path, overwrite=True)
    return path


# ---------------------------------------------------------------------------------------------
# fully synthetic exposures (no shared data needed): any supported instrument/detector

#: (instrument, detector) -> (chips, XSIZE, YSIZE, scale "/px, (V2REF, V3REF) per chip, THETA)
SYNTHETIC_DETECTORS = {
    ("ACS", "WFC"): ((2, 1), 4096, 2048, 0.05, {1: (260.9, 198.3), 2: (256.6, 302.2)}, 0.0),
    ("ACS", "HRC"): ((1,), 1024, 1024, 0.025, {1: (-207.3, 471.5)}, 0.0),
    ("ACS", "SBC"): ((1,), 1024, 1024, 0.032, {1: (-205.0, 470.0)}, 0.0),
    ("WFC3", "UVIS"): ((2, 1), 4096, 2051, 0.04, {1: (-27.2, -33.4), 2: (-31.6, 50.3)}, 45.0),
    ("WFC3", "IR"): ((1,), 1014, 1014, 0.1283, {1: (1.019, -0.507)}, 45.0),
}


def make_synthetic_idctab(path: str | Path, instrument: str, detector: str,
                          filters: tuple[str, str] = ("F160W", "CLEAR"), *,
                          norder: int = 4, seed: int = 3,
                          header_extra: dict | None = None) -> Path:
    """Write a small IDCTAB for any supported detector: one forward row per chip.

    ACS tables get FILTER1/FILTER2 columns, WFC3 tables a single FILTER column.
    The coefficients are random but realistic (linear part = scale with a
    small skew, distortion of a few pixels at the chip corners).
    """
    path = Path(path)
    chips, xsize, ysize, scale, v23, theta = SYNTHETIC_DETECTORS[(instrument, detector)]
    rng = np.random.default_rng(seed)
    n = len(chips)
    cols = [fits.Column("DETCHIP", "I", array=np.array(chips)),
            fits.Column("DIRECTION", "8A", array=np.array(["FORWARD"] * n))]
    if instrument == "WFC3":
        cols.append(fits.Column("FILTER", "8A", array=np.array([filters[0]] * n)))
    else:
        cols.append(fits.Column("FILTER1", "8A", array=np.array([filters[0]] * n)))
        cols.append(fits.Column("FILTER2", "8A", array=np.array([filters[1]] * n)))
    for name, value in (("XSIZE", xsize), ("YSIZE", ysize)):
        cols.append(fits.Column(name, "J", array=np.full(n, value)))
    cols.append(fits.Column("XREF", "D", array=np.full(n, xsize / 2.0)))
    cols.append(fits.Column("YREF", "D", array=np.full(n, ysize / 2.0)))
    cols.append(fits.Column("V2REF", "D", array=np.array([v23[c][0] for c in chips])))
    cols.append(fits.Column("V3REF", "D", array=np.array([v23[c][1] for c in chips])))
    cols.append(fits.Column("THETA", "D", array=np.full(n, theta)))
    cols.append(fits.Column("SCALE", "D", array=np.full(n, scale)))
    half = max(xsize, ysize) / 2.0
    for prefix in ("CX", "CY"):
        for i in range(1, norder + 1):
            for j in range(i + 1):
                if i == 1:
                    diag = (prefix == "CX") == (j == 1)
                    values = scale * (rng.uniform(0.97, 0.99, n) if diag
                                      else rng.uniform(0.01, 0.05, n))
                else:  # about 3 pixels at the corner for order 2, less above
                    values = rng.normal(0, 3.0 * scale / half ** i / 2 ** (i - 2), n)
                cols.append(fits.Column(f"{prefix}{i}{j}", "D", array=values))
    prim = fits.PrimaryHDU()
    prim.header["INSTRUME"] = instrument
    prim.header["DETECTOR"] = detector
    prim.header["NORDER"] = norder
    for kw, value in (header_extra or {}).items():
        prim.header[kw] = value
    fits.HDUList([prim, fits.BinTableHDU.from_columns(cols)]).writeto(path, overwrite=True)
    return path


def make_synthetic_raw(path: str | Path, instrument: str, detector: str, *,
                       filters: tuple[str, str] = ("F160W", "CLEAR"), idctab: str,
                       shape: tuple[int, int] = (48, 96), ra: float = 53.16, dec: float = -27.79,
                       pa_v3: float = 250.0, date_obs: str = "2012-09-10",
                       vafactor: float = 0.99995) -> Path:
    """Write an exposure of any supported detector with a linear OPUS-like WCS.

    No NPOLFILE/D2IMFILE (``N/A``); extensions SCI/ERR/DQ per chip (IR adds
    SAMP and TIME).  WCS keyword contract as for :func:`make_acs_wfc_raw`.
    """
    path = Path(path)
    chips, xsize, ysize, scale, _, _ = SYNTHETIC_DETECTORS[(instrument, detector)]
    prim = fits.PrimaryHDU()
    h = prim.header
    h["TELESCOP"] = "HST"
    h["INSTRUME"] = instrument
    h["DETECTOR"] = detector
    h["ROOTNAME"] = "synth01abq"
    if instrument == "WFC3":
        h["FILTER"] = filters[0]
    else:
        h["FILTER1"], h["FILTER2"] = filters
    for kw, value in (("DATE-OBS", date_obs), ("EXPTIME", 300.0), ("PA_V3", pa_v3),
                      ("RA_TARG", ra),
                      ("DEC_TARG", dec), ("IDCTAB", idctab), ("NPOLFILE", "N/A"),
                      ("D2IMFILE", "N/A")):
        h[kw] = value
    hdus = [prim]
    extra = ("SAMP", "TIME") if detector == "IR" else ()
    for extver, ccdchip in enumerate(chips, start=1):
        crval_dec = dec + (extver - 1) * ysize * scale / 3600.0
        kws = opus_wcs(ra, crval_dec, pa_v3 - 45.0, scale, (xsize / 2.0, ysize / 2.0))
        for extname in ("SCI", "ERR", "DQ", *extra):
            eh = fits.Header()
            eh["EXTNAME"] = extname
            eh["EXTVER"] = extver
            eh["CCDCHIP"] = ccdchip
            eh["CTYPE1"] = "RA---TAN"
            eh["CTYPE2"] = "DEC--TAN"
            for kw, value in kws.items():
                eh[kw] = value
            if extname == "SCI":
                eh["VAFACTOR"] = vafactor
                eh["NGOODPIX"] = shape[0] * shape[1]
            dtype = np.int16 if extname in ("DQ", "SAMP") else np.float32
            hdus.append(fits.ImageHDU(np.zeros(shape, dtype=dtype), header=eh))
    fits.HDUList(hdus).writeto(path, overwrite=True)
    return path
