"""Simulated HST headers and files for tests, examples and benchmarks.

The headers follow the layout of real calibrated products (section title
cards, keyword names, value types and typical values) of several missions
and eras: ACS/WFC and WFC3/UVIS ``_flt`` files (PRIMARY + SCI/ERR/DQ per
chip), STIS ``_flt`` files with several imsets, NICMOS ``_cal`` files, WFPC2
GEIS data converted to multi-extension FITS (``_c0m``, old ``dd/mm/yy`` dates,
group parameters in each extension), and a drizzled product with ``DnnnDATA``
keywords.  Values vary deterministically with ``seed`` and the exposure
index; no real data are used.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

__all__ = [
    "acs_wfc_exposure",
    "drizzle_product",
    "header_from_spec",
    "nicmos_exposure",
    "stis_exposure",
    "wfc3_uvis_exposure",
    "wfpc2_geis_exposure",
    "write_exposures",
]

Spec = Sequence[tuple[Any, ...]]


def header_from_spec(spec: Spec) -> fits.Header:
    """Build a header from ``(key, value[, comment])`` and ``('/ TITLE',)`` entries.

    A one-element entry starting with ``/`` becomes an HST section title: a
    blank card, the title card and another blank card.

    Parameters
    ----------
    spec : sequence of tuple
        Card specifications in order.

    Returns
    -------
    astropy.io.fits.Header
        The header.
    """
    cards = []
    for item in spec:
        if len(item) == 1 and str(item[0]).startswith("/"):
            cards += [fits.Card("", ""), fits.Card("", item[0]), fits.Card("", "")]
        else:
            cards.append(fits.Card(*item))
    return fits.Header(cards)


def _primary_start(n_ext: int) -> list[tuple[Any, ...]]:
    return [("SIMPLE", True, "data conform to FITS standard"),
            ("BITPIX", 16, "bits per data value"), ("NAXIS", 0, "number of data axes"),
            ("EXTEND", True, "File may contain standard extensions"),
            ("NEXTEND", n_ext, "Number of standard extensions"),
            ("DATE", "2024-03-01", "date this file was written (yyyy-mm-dd)"),
            ("ORIGIN", "HSTIO/CFITSIO March 2010", "FITS file originator")]


def _ext_start(extname: str, extver: int, shape: tuple[int, int], bitpix: int = -32
               ) -> list[tuple[Any, ...]]:
    return [("XTENSION", "IMAGE", "IMAGE extension"), ("BITPIX", bitpix),
            ("NAXIS", 2), ("NAXIS1", shape[1]), ("NAXIS2", shape[0]),
            ("PCOUNT", 0, "required keyword; must = 0"),
            ("GCOUNT", 1, "required keyword; must = 1"),
            ("EXTNAME", extname, "extension name"), ("EXTVER", extver, "extension version number")]


def _wcs(rng: np.random.Generator, ra: float, dec: float, scale_deg: float, theta: float,
         crpix: tuple[float, float], sip: bool) -> list[tuple[Any, ...]]:
    c, s = np.cos(np.radians(theta)), np.sin(np.radians(theta))
    out = [("/ WORLD COORDINATE SYSTEM AND RELATED PARAMETERS",), ("WCSAXES", 2),
           ("CRPIX1", crpix[0]), ("CRPIX2", crpix[1]),
           ("CRVAL1", ra + float(rng.normal(0, 1e-4)), "first axis value at reference pixel"),
           ("CRVAL2", dec + float(rng.normal(0, 1e-4)), "second axis value at reference pixel"),
           ("CTYPE1", "RA---TAN-SIP" if sip else "RA---TAN", "the coordinate type for axis 1"),
           ("CTYPE2", "DEC--TAN-SIP" if sip else "DEC--TAN", "the coordinate type for axis 2"),
           ("CD1_1", -scale_deg * c), ("CD1_2", scale_deg * s),
           ("CD2_1", scale_deg * s), ("CD2_2", scale_deg * c),
           ("LTV1", 0.0), ("LTV2", 0.0), ("LTM1_1", 1.0), ("LTM2_2", 1.0),
           ("ORIENTAT", round(theta, 4), "position angle of image y axis (deg. e of n)"),
           ("RA_APER", ra), ("DEC_APER", dec), ("PA_APER", round(theta + 0.2, 4)),
           ("VAFACTOR", 1.0 + float(rng.normal(0, 2e-5)), "velocity aberration plate scale factor"),
           ("WCSNAME", "IDC_0461802ej")]
    if sip:
        out += [("A_ORDER", 4), ("B_ORDER", 4)]
        out += [(f"A_{p}_{q}", float(rng.normal(0, 1e-6))) for p in range(5) for q in range(5)
                if 2 <= p + q <= 4]
        out += [(f"B_{p}_{q}", float(rng.normal(0, 1e-6))) for p in range(5) for q in range(5)
                if 2 <= p + q <= 4]
        out += [("IDCSCALE", 0.05), ("IDCV2REF", 256.5), ("IDCV3REF", 302.8), ("IDCTHETA", 0.0),
                ("OCX10", 0.002), ("OCX11", 0.0494), ("OCY10", 0.0484), ("OCY11", 0.0015),
                ("TDDALPHA", 0.27), ("TDDBETA", -0.09), ("D2IMEXT", "jref$02c1450oj_d2i.fits"),
                ("D2IMERR", 0.0039), ("NPOLEXT", "jref$02c1450rj_npl.fits"),
                ("SIPNAME", "IDC_0461802ej"), ("DISTNAME", "j8bt06nyq_0461802ej-02c1450rj")]
    return out


def _hdul(primary: list, exts: list[tuple[list, np.ndarray | None]]) -> fits.HDUList:
    hdus: list[Any] = [fits.PrimaryHDU(header=header_from_spec(primary))]
    for spec, data in exts:
        hdr = header_from_spec(spec)
        hdus.append(fits.ImageHDU(data=data, header=hdr))
    return fits.HDUList(hdus)


def _shape_data(shape: tuple[int, int], dtype: Any, data: bool) -> np.ndarray | None:
    return np.zeros(shape, dtype=dtype) if data else None


def acs_wfc_exposure(index: int = 0, *, seed: int = 0, rootname: str | None = None,
                     exptime: float = 507.0, filter1: str = "F606W", data: bool = False
                     ) -> fits.HDUList:
    """An ACS/WFC ``_flt`` file: PRIMARY + (SCI, ERR, DQ) for chips 2 and 1.

    Parameters
    ----------
    index : int, optional
        Exposure number in the visit (changes times, pointing, rootname).
    seed : int, optional
        Random seed for the small per-chip variations.
    rootname : str, optional
        Default ``j8bt06n<index>q``.
    exptime : float, optional
        Exposure time (s).
    filter1 : str, optional
        FILTER1 value.
    data : bool, optional
        Attach small 4x8 arrays (for files); else headers only (astropy then
        sets ``NAXIS = 0`` in the extension headers).

    Returns
    -------
    astropy.io.fits.HDUList
        PRIMARY, SCI/ERR/DQ (EXTVER 1 = chip 2), SCI/ERR/DQ (EXTVER 2 = chip 1).
    """
    rng = np.random.default_rng(seed * 1000 + index)
    root = (rootname or f"j8bt06n{index:02d}q")[:9].lower()
    expstart = 52748.3 + index * 0.01
    primary = _primary_start(6) + [
        ("FILENAME", f"{root}_flt.fits", "name of file"), ("FILETYPE", "SCI"),
        ("TELESCOP", "HST", "telescope used to acquire data"),
        ("INSTRUME", "ACS", "identifier for instrument used to acquire data"),
        ("EQUINOX", 2000.0),
        ("/ DATA DESCRIPTION KEYWORDS",),
        ("ROOTNAME", root, "rootname of the observation set"),
        ("IMAGETYP", "EXT", "type of exposure identifier"),
        ("PRIMESI", "ACS"),
        ("/ TARGET INFORMATION",),
        ("TARGNAME", "NGC104", "proposer's target name"),
        ("RA_TARG", 6.0223, "right ascension of the target (deg) (J2000)"),
        ("DEC_TARG", -72.0814, "declination of the target (deg) (J2000)"),
        ("/ PROPOSAL INFORMATION",),
        ("PROPOSID", 9443, "PEP proposal identifier"),
        ("LINENUM", f"06.{index + 1:03d}", "proposal logsheet line number"),
        ("PR_INV_L", "King", "last name of principal investigator"),
        ("PR_INV_F", "Ivan", "first name of principal investigator"),
        ("PR_INV_M", "R.", "middle name / initial of principal investigator"),
        ("/ EXPOSURE INFORMATION",),
        ("SUNANGLE", 102.3 - index, "angle between sun and V1 axis"),
        ("MOONANGL", 71.2 + index, "angle between moon and V1 axis"),
        ("FGSLOCK", "FINE", "commanded FGS lock (FINE,COARSE,GYROS,UNKNOWN)"),
        ("GYROMODE", "T", "number of gyros scheduled, T=3+OBAD"),
        ("DATE-OBS", "2003-04-25", "UT date of start of observation (yyyy-mm-dd)"),
        ("TIME-OBS", f"{7 + index:02d}:12:{10 + index:02d}", "UT time of start of observation"),
        ("EXPSTART", expstart, "exposure start time (Modified Julian Date)"),
        ("EXPEND", expstart + exptime / 86400.0, "exposure end time (Modified Julian Date)"),
        ("EXPTIME", exptime, "exposure duration (seconds)--calculated"),
        ("EXPFLAG", "NORMAL", "Exposure interruption indicator"),
        ("/ POINTING INFORMATION",),
        ("PA_V3", 120.3 + 0.01 * index, "position angle of V3-axis of HST (deg)"),
        ("POSTARG1", 0.25 * index, "POSTARG in axis 1 direction"),
        ("POSTARG2", 0.15 * index, "POSTARG in axis 2 direction"),
        ("/ INSTRUMENT CONFIGURATION INFORMATION",),
        ("DETECTOR", "WFC", "detector in use: WFC, HRC, or SBC"),
        ("OBSTYPE", "IMAGING"), ("OBSMODE", "ACCUM"),
        ("CTEDIR", "BOTH"), ("CRSPLIT", 1, "number of cosmic ray split exposures"),
        ("APERTURE", "WFC", "aperture name"), ("FILTER1", filter1), ("FILTER2", "CLEAR2L"),
        ("/ CALIBRATION SWITCHES: PERFORM, OMIT, COMPLETE",),
        ("DQICORR", "COMPLETE"), ("ATODCORR", "OMIT"), ("BLEVCORR", "COMPLETE"),
        ("BIASCORR", "COMPLETE"), ("FLSHCORR", "OMIT"), ("CRCORR", "OMIT"),
        ("DARKCORR", "COMPLETE"), ("FLATCORR", "COMPLETE"), ("PHOTCORR", "COMPLETE"),
        ("DRIZCORR", "PERFORM"), ("PCTECORR", "OMIT"),
        ("/ CALIBRATION REFERENCE FILES",),
        ("BPIXTAB", "jref$t3n1116nj_bpx.fits"), ("CCDTAB", "jref$uc82140bj_ccd.fits"),
        ("BIASFILE", "jref$n6g1758dj_bia.fits"), ("DARKFILE", "jref$n6g1759bj_drk.fits"),
        ("PFLTFILE", "jref$qb12257sj_pfl.fits"), ("IMPHTTAB", "jref$wbj1825rj_imp.fits"),
        ("IDCTAB", "jref$0461802ej_idc.fits"), ("MDRIZTAB", "jref$16r12191j_mdz.fits"),
        ("D2IMFILE", "jref$02c1450oj_d2i.fits"), ("NPOLFILE", "jref$02c1450rj_npl.fits"),
        ("/ PATTERN KEYWORDS",),
        ("PATTERN1", "ACS-WFC-DITHER-BOX"), ("P1_SHAPE", "PARALLELOGRAM"),
        ("P1_PURPS", "DITHER"), ("P1_NPTS", 4), ("P1_PSPAC", 0.3), ("P1_LSPAC", 0.3),
        ("P1_ANGLE", 22.4), ("P1_FRAME", "POS-TARG"), ("P1_ORINT", -41.2),
        ("P1_CENTR", "YES"), ("PATTSTEP", index + 1, "position number of this point"),
        ("/ ENGINEERING PARAMETERS",),
        ("CCDAMP", "ABCD"), ("CCDGAIN", 1.0), ("CCDOFSTA", 1), ("CCDOFSTB", 1),
        ("CCDOFSTC", 1), ("CCDOFSTD", 1),
        ("/ CALIBRATED ENGINEERING PARAMETERS",),
        ("ATODGNA", 1.0), ("ATODGNB", 1.02), ("ATODGNC", 1.011), ("ATODGND", 1.018),
        ("READNSEA", 5.0), ("READNSEB", 4.9), ("READNSEC", 5.1), ("READNSED", 5.0),
        ("BIASLEVA", 2150.0 + rng.normal()), ("BIASLEVB", 2204.0 + rng.normal()),
        ("BIASLEVC", 2197.0 + rng.normal()), ("BIASLEVD", 2160.0 + rng.normal()),
        ("/ ASSOCIATION KEYWORDS",),
        ("ASN_ID", "J8BT06010"), ("ASN_TAB", "j8bt06010_asn.fits"), ("ASN_MTYP", "EXP-DTH"),
        ("CAL_VER", "10.3.5"), ("OPUS_VER", "HSTDP 2020_3"),
        ("HISTORY", "CCD parameters table: reference file jref$uc82140bj_ccd.fits"),
        ("HISTORY", "Bias level from overscan has been subtracted"),
    ]
    shape = (2048, 4096)
    exts = []
    for ver, ccdchip in ((1, 2), (2, 1)):
        crpix = (2048.0, 1024.0)
        sci = _ext_start("SCI", ver, shape) + [
            ("INHERIT", True), ("ROOTNAME", root), ("EXPNAME", f"{root[:8]}$"),
            ("BUNIT", "ELECTRONS", "brightness units"),
            ("/ WFC CCD CHIP IDENTIFICATION",), ("CCDCHIP", ccdchip, "CCD chip (1 or 2)"),
        ] + _wcs(rng, 6.0223 + 0.0004 * index, -72.0814 + (0.02 if ccdchip == 1 else -0.02),
                 1.388e-5, 120.3 + 0.01 * index, crpix, sip=True) + [
            ("/ PHOTOMETRY KEYWORDS",),
            ("PHOTMODE", f"ACS WFC{ccdchip} {filter1} MJD#52748.3"),
            ("PHOTFLAM", 7.8e-20 * (1.0 + 0.001 * ccdchip), "inverse sensitivity"),
            ("PHOTZPT", -21.1), ("PHOTPLAM", 5921.1), ("PHOTBW", 672.3),
            ("/ READOUT DEFINITION PARAMETERS",),
            ("CENTERA1", 2073), ("CENTERA2", 1035), ("SIZAXIS1", 4096), ("SIZAXIS2", 2048),
            ("/ DATA STATISTICS",),
            ("NGOODPIX", 8388608 - int(rng.integers(1000, 5000))),
            ("GOODMIN", -50.0 + rng.normal()), ("GOODMAX", 80000.0 + rng.normal()),
            ("GOODMEAN", 60.0 + rng.normal()), ("SNRMIN", -2.0), ("SNRMAX", 300.0),
            ("SNRMEAN", 3.0 + 0.1 * index), ("SOFTERRS", 0), ("MEANDARK", 1.2),
            ("MEANBLEV", 2170.0), ("MDRIZSKY", 30.0 + index + 0.5 * ccdchip),
            ("NCOMBINE", 1),
        ]
        shp = (4, 8) if data else shape
        sci[3], sci[4] = ("NAXIS1", shp[1]), ("NAXIS2", shp[0])
        exts.append((sci, _shape_data(shp, np.float32, data)))
        err = _ext_start("ERR", ver, shp) + [("BUNIT", "ELECTRONS"), ("CCDCHIP", ccdchip)]
        exts.append((err, _shape_data(shp, np.float32, data)))
        dq = _ext_start("DQ", ver, shp, bitpix=16) + [("BUNIT", "UNITLESS"), ("CCDCHIP", ccdchip)]
        exts.append((dq, _shape_data(shp, np.int16, data)))
    return _hdul(primary, exts)


def wfc3_uvis_exposure(index: int = 0, *, seed: int = 0, exptime: float = 350.0,
                       filt: str = "F555W", data: bool = False) -> fits.HDUList:
    """A WFC3/UVIS ``_flt`` file (two chips), built like :func:`acs_wfc_exposure`.

    Parameters
    ----------
    index : int, optional
        Exposure number.
    seed : int, optional
        Random seed.
    exptime : float, optional
        Exposure time (s).
    filt : str, optional
        FILTER value.
    data : bool, optional
        Attach small arrays.

    Returns
    -------
    astropy.io.fits.HDUList
        PRIMARY + two (SCI, ERR, DQ) chips.
    """
    hdul = acs_wfc_exposure(index, seed=seed, rootname=f"ib6w{index:02d}abq", exptime=exptime,
                            data=data)
    p = hdul[0].header
    p["INSTRUME"] = "WFC3"
    p["DETECTOR"] = "UVIS"
    p["APERTURE"] = "UVIS"
    p.rename_keyword("FILTER1", "FILTER")
    p["FILTER"] = filt
    del p["FILTER2"]
    p["IDCTAB"] = "iref$w3m18525i_idc.fits"
    for hdu in hdul[1:]:
        if hdu.name == "SCI":
            hdu.header["PHOTMODE"] = f"WFC3 UVIS{hdu.header['CCDCHIP']} {filt}"
            hdu.header["PHTFLAM1"] = 1.8e-19
            hdu.header["PHTFLAM2"] = 1.81e-19
    return hdul


def stis_exposure(index: int = 0, *, nimsets: int = 2, seed: int = 0, exptime: float = 60.0,
                  data: bool = False) -> fits.HDUList:
    """A STIS CCD imaging ``_flt`` file with ``nimsets`` repeat exposures.

    STIS keeps ``EXPTIME``/``EXPSTART``/``EXPEND`` in each SCI header and the
    file totals ``TEXPTIME``/``TEXPSTRT``/``TEXPEND`` in the PRIMARY header.

    Parameters
    ----------
    index : int, optional
        File number.
    nimsets : int, optional
        Number of SCI/ERR/DQ imsets.
    seed : int, optional
        Random seed.
    exptime : float, optional
        Exposure time of each imset (s).
    data : bool, optional
        Attach small arrays.

    Returns
    -------
    astropy.io.fits.HDUList
        PRIMARY + ``nimsets`` (SCI, ERR, DQ).
    """
    rng = np.random.default_rng(seed * 1000 + 500 + index)
    root = f"o6h{index:02d}0010"
    t0 = 51800.1 + 0.05 * index
    primary = _primary_start(3 * nimsets) + [
        ("FILENAME", f"{root}_flt.fits"), ("TELESCOP", "HST"), ("INSTRUME", "STIS"),
        ("EQUINOX", 2000.0),
        ("/ DATA DESCRIPTION KEYWORDS",), ("ROOTNAME", root), ("PRIMESI", "STIS"),
        ("/ TARGET INFORMATION",), ("TARGNAME", "HD-12345"), ("RA_TARG", 40.1),
        ("DEC_TARG", 10.2),
        ("/ PROPOSAL INFORMATION",), ("PROPOSID", 8250), ("LINENUM", f"1.{index}"),
        ("PR_INV_L", "Smith"), ("PR_INV_F", "Jane"),
        ("/ EXPOSURE INFORMATION",), ("TDATEOBS", "2000-09-12"), ("TTIMEOBS", "02:24:00"),
        ("TEXPSTRT", t0), ("TEXPEND", t0 + nimsets * exptime / 86400.0),
        ("TEXPTIME", nimsets * exptime), ("NRPTEXP", nimsets), ("CRSPLIT", 1),
        ("/ INSTRUMENT CONFIGURATION INFORMATION",),
        ("OBSTYPE", "IMAGING"), ("OBSMODE", "ACCUM"), ("DETECTOR", "CCD"),
        ("OPT_ELEM", "MIRVIS"), ("APERTURE", "50CCD"), ("CCDAMP", "D"), ("CCDGAIN", 1),
        ("CCDOFFST", 3), ("BINAXIS1", 1), ("BINAXIS2", 1),
        ("/ CALIBRATION SWITCHES: PERFORM, OMIT, COMPLETE",),
        ("DQICORR", "COMPLETE"), ("BLEVCORR", "COMPLETE"), ("BIASCORR", "COMPLETE"),
        ("CRCORR", "OMIT"), ("DARKCORR", "COMPLETE"), ("FLATCORR", "COMPLETE"),
        ("/ CALIBRATION REFERENCE FILES",),
        ("BIASFILE", "oref$m8m1307ao_bia.fits"), ("DARKFILE", "oref$o5q1725no_drk.fits"),
        ("PFLTFILE", "oref$k2910262o_pfl.fits"), ("IDCTAB", "oref$o8g1508do_idc.fits"),
        ("CAL_VER", "2.11"),
    ]
    exts = []
    for k in range(1, nimsets + 1):
        start = t0 + (k - 1) * exptime / 86400.0
        shp = (4, 8) if data else (1024, 1024)
        sci = _ext_start("SCI", k, shp, -32 if data else 16) + [
            ("INHERIT", True), ("BUNIT", "COUNTS"),
            ("DATE-OBS", "2000-09-12"), ("TIME-OBS", f"02:{24 + k:02d}:00"),
            ("EXPSTART", start), ("EXPEND", start + exptime / 86400.0), ("EXPTIME", exptime),
            ("ATODGAIN", 1.0), ("READNSE", 4.3), ("MEANBLEV", 1530.0 + rng.normal()),
        ] + _wcs(rng, 40.1, 10.2, 1.4e-5, 230.0, (512.0, 512.0), sip=False) + [
            ("PHOTMODE", "STIS CCD MIRVIS"), ("PHOTFLAM", 1.4e-19), ("PHOTZPT", -21.1),
            ("PHOTPLAM", 5852.0), ("PHOTBW", 1744.0),
            ("NGOODPIX", 1048000), ("GOODMIN", -12.0), ("GOODMAX", 33000.0 + k),
            ("GOODMEAN", 14.0 + k),
        ]
        exts.append((sci, _shape_data(shp, np.float32, data)))
        exts.append((_ext_start("ERR", k, shp) + [("BUNIT", "COUNTS")],
                     _shape_data(shp, np.float32, data)))
        exts.append((_ext_start("DQ", k, shp, 16), _shape_data(shp, np.int16, data)))
    return _hdul(primary, exts)


def nicmos_exposure(index: int = 0, *, camera: int = 2, seed: int = 0, data: bool = False
                    ) -> fits.HDUList:
    """A NICMOS ``_cal`` file: one chip with SCI, ERR, DQ, SAMP, TIME extensions.

    NICMOS keeps the photometry keywords in the PRIMARY header and has no
    EXPEND in older products (only EXPSTART/EXPTIME).

    Parameters
    ----------
    index : int, optional
        Exposure number.
    camera : int, optional
        NIC1, NIC2 or NIC3.
    seed : int, optional
        Random seed.
    data : bool, optional
        Attach small arrays.

    Returns
    -------
    astropy.io.fits.HDUList
        PRIMARY + SCI, ERR, DQ, SAMP, TIME (EXTVER 1).
    """
    rng = np.random.default_rng(seed * 1000 + 700 + index)
    root = f"n4hk12{index:02d}q"
    exptime = 255.9
    start = 51120.4 + 0.004 * index
    primary = _primary_start(5) + [
        ("FILENAME", f"{root}_cal.fits"), ("TELESCOP", "HST"), ("INSTRUME", "NICMOS"),
        ("EQUINOX", 2000.0),
        ("/ DATA DESCRIPTION KEYWORDS",), ("ROOTNAME", root), ("PRIMESI", "NICMOS"),
        ("/ TARGET INFORMATION",), ("TARGNAME", "HDF-N"), ("RA_TARG", 189.2),
        ("DEC_TARG", 62.21),
        ("/ PROPOSAL INFORMATION",), ("PROPOSID", 7817), ("PR_INV_L", "Thompson"),
        ("/ EXPOSURE INFORMATION",), ("DATE-OBS", "1998-06-13"),
        ("TIME-OBS", f"14:{10 + index:02d}:05"), ("EXPSTART", start), ("EXPTIME", exptime),
        ("EXPFLAG", "NORMAL"), ("SUNANGLE", 95.0), ("MOONANGL", 120.0 - index),
        ("/ INSTRUMENT CONFIGURATION INFORMATION",),
        ("CAMERA", camera), ("APERTURE", f"NIC{camera}"), ("FILTER", "F160W"),
        ("OBSMODE", "MULTIACCUM"), ("SAMP_SEQ", "STEP64"), ("NREAD", 1), ("NSAMP", 13),
        ("ADCGAIN", 5.4), ("READOUT", "FAST"),
        ("/ PHOTOMETRY KEYWORDS",), ("PHOTMODE", f"NICMOS,{camera},F160W,DN"),
        ("PHOTFLAM", 2.36e-19), ("PHOTFNU", 2.03e-6), ("PHOTZPT", -21.1),
        ("PHOTPLAM", 16030.0), ("PHOTBW", 1177.0),
        ("/ CALIBRATION SWITCHES",), ("ZOFFCORR", "COMPLETE"), ("MASKCORR", "COMPLETE"),
        ("DARKCORR", "COMPLETE"), ("NLINCORR", "COMPLETE"), ("FLATCORR", "COMPLETE"),
        ("UNITCORR", "COMPLETE"), ("CRIDCALC", "COMPLETE"),
        ("/ CALIBRATION REFERENCE FILES",), ("MASKFILE", "nref$i9k1040dn_msk.fits"),
        ("DARKFILE", "nref$j3k1136pn_drk.fits"), ("FLATFILE", "nref$i2r1519ln_flt.fits"),
        ("IDCTAB", "nref$hbd1439ln_idc.fits"),
        ("/ PATTERN KEYWORDS",), ("PATTERN1", "NIC-SPIRAL-DITH"), ("P1_NPTS", 4),
        ("PATTSTEP", index + 1),
        ("/ ENGINEERING PARAMETERS",), ("NDWTMP11", 62.1 + 0.01 * rng.normal()),
        ("NDWTMP13", 62.3), ("TFBTEMP", 61.9),
        ("CAL_VER", "4.4.1"),
    ]
    shp = (4, 8) if data else (256, 256)
    sci = _ext_start("SCI", 1, shp) + [("BUNIT", "COUNTS/S"), ("SAMPTIME", exptime),
                                       ("DELTATIM", 21.3)] + \
        _wcs(rng, 189.2 + 1e-4 * index, 62.21, 2.1e-5, 315.0, (128.0, 128.0), sip=False) + [
            ("GOODMIN", -3.0), ("GOODMAX", 800.0), ("GOODMEAN", 0.2)]
    exts = [(sci, _shape_data(shp, np.float32, data))]
    for name in ("ERR", "DQ", "SAMP", "TIME"):
        exts.append((_ext_start(name, 1, shp, 16 if name in ("DQ", "SAMP") else -32),
                     _shape_data(shp, np.int16 if name in ("DQ", "SAMP") else np.float32, data)))
    return _hdul(primary, exts)


def wfpc2_geis_exposure(index: int = 0, *, seed: int = 0, data: bool = False) -> fits.HDUList:
    """A WFPC2 observation converted from GEIS (``_c0h``) to multi-extension FITS.

    Old-style dates (``DATE-OBS='14/07/98'``), the four chips as SCI
    extensions with the former group parameters (``DETECTOR``, ``PHOTFLAM``,
    ``DATAMIN`` ...), and no ERR/DQ extensions.

    Parameters
    ----------
    index : int, optional
        Exposure number.
    seed : int, optional
        Random seed.
    data : bool, optional
        Attach small arrays.

    Returns
    -------
    astropy.io.fits.HDUList
        PRIMARY + four SCI extensions (PC1, WF2, WF3, WF4).
    """
    rng = np.random.default_rng(seed * 1000 + 900 + index)
    root = f"U57802{index:02d}R"
    start = 51008.9 + 0.02 * index
    primary = _primary_start(4) + [
        ("IRAF-TLM", "14:05:26 (14/07/98)", "Time of last modification"),
        ("FILENAME", f"{root.lower()}_c0m.fits"), ("TELESCOP", "HST"), ("INSTRUME", "WFPC2"),
        ("ROOTNAME", root), ("FILETYPE", "SCI"), ("MODE", "FULL"), ("SERIALS", "OFF"),
        ("IMAGETYP", "EXT"), ("FILTNAM1", "F555W"), ("FILTNAM2", ""), ("FILTER1", 23),
        ("FILTER2", 0), ("SHUTTER", "A"), ("ATODGAIN", 7.0),
        ("/ PROPOSAL INFORMATION",), ("PROPOSID", 7909), ("PR_INV_L", "Keel"),
        ("/ EXPOSURE INFORMATION",),
        ("DATE-OBS", "14/07/98", "UT date of start of observation (dd/mm/yy)"),
        ("TIME-OBS", f"21:{30 + index:02d}:14"), ("EXPSTART", start),
        ("EXPEND", start + 400.0 / 86400.0), ("EXPTIME", 400.0), ("EXPFLAG", "NORMAL"),
        ("UEXPODUR", 400), ("SUNANGLE", 88.2), ("MOONANGL", 44.0), ("PA_V3", 291.0),
        ("/ CALIBRATION SWITCHES",), ("MASKCORR", "COMPLETE"), ("ATODCORR", "COMPLETE"),
        ("BLEVCORR", "COMPLETE"), ("BIASCORR", "COMPLETE"), ("DARKCORR", "COMPLETE"),
        ("FLATCORR", "COMPLETE"), ("SHADCORR", "OMIT"), ("DOPHOTOM", "COMPLETE"),
        ("/ CALIBRATION REFERENCE FILES",), ("MASKFILE", "uref$f8213081u.r0h"),
        ("ATODFILE", "uref$dbu1405iu.r1h"), ("BIASFILE", "uref$j9a1612mu.r2h"),
        ("DARKFILE", "uref$j2f1402ou.r3h"), ("FLATFILE", "uref$g640925ru.r4h"),
        ("IDCTAB", "uref$gc61103ku_idc.fits"),
        ("UCH1CJTM", -88.0 + 0.1 * rng.normal()), ("UCH2CJTM", -88.1), ("UCH3CJTM", -88.0),
        ("UCH4CJTM", -87.9), ("UBAY3TMP", 13.2), ("KSPOTS", "OFF"),
        ("HISTORY", "Converted from GEIS u5780205r.c0h by stwfits"),
    ]
    exts = []
    for det in (1, 2, 3, 4):
        scale = 1.27e-5 if det == 1 else 2.77e-5
        shp = (4, 8) if data else (800, 800)
        sci = _ext_start("SCI", det, shp) + [
            ("BUNIT", "COUNTS"), ("DETECTOR", det, "detector number"),
        ] + _wcs(rng, 250.4 + 0.001 * det, 36.46 + 0.001 * det, scale, 291.0 - 45.0 + det,
                 (420.0, 424.5), sip=False) + [
            ("PHOTMODE", f"WFPC2,{det},A2D7,F555W,,CAL"),
            ("PHOTFLAM", [3.48e-18, 3.49e-18, 3.47e-18, 3.51e-18][det - 1]),
            ("PHOTZPT", -21.1), ("PHOTPLAM", 5443.0), ("PHOTBW", 522.0),
            ("DATAMIN", -5.0 - det), ("DATAMAX", 3800.0 + det), ("DATAMEAN", 4.2 * det),
            ("GPIXELS", 640000 - 100 * det), ("SOFTERRS", 0), ("CALIBDEF", 12 * det),
            ("STATICD", 3), ("ATODSAT", det), ("DATALOST", 0), ("BADPIXEL", 5),
            ("FILLCNT", 0), ("BIASEVEN", 312.1 + det), ("BIASODD", 312.4 + det),
        ]
        exts.append((sci, _shape_data(shp, np.float32, data)))
    return _hdul(primary, exts)


def write_exposures(hduls: Sequence[fits.HDUList], folder: str | Path) -> list[Path]:
    """Write simulated files to ``folder`` as ``<FILENAME>`` (or ``<ROOTNAME>_flt.fits``).

    Parameters
    ----------
    hduls : sequence of astropy.io.fits.HDUList
        Exposures made by this module (with ``data=True``).
    folder : str or Path
        Destination folder.

    Returns
    -------
    list of Path
        The files written.
    """
    paths = []
    for hdul in hduls:
        name = hdul[0].header.get("FILENAME") or f"{hdul[0].header['ROOTNAME'].lower()}_flt.fits"
        path = Path(folder) / name
        hdul.writeto(path, overwrite=True)
        paths.append(path)
    return paths


def drizzle_product(chips: Sequence[str], path: str | Path, *, shape: tuple[int, int] = (6, 5),
                    exptime: float = 2028.0) -> Path:
    """Write a minimal drizzled product (PRIMARY, SCI, WHT, CTX) recording ``chips``.

    The PRIMARY header carries the keywords a drizzle step writes
    (``NDRIZIM``, ``D001DATA`` ..., ``EXPTIME``, ``ROOTNAME`` ...), the SCI and
    WHT headers a clean TAN WCS.

    Parameters
    ----------
    chips : sequence of str
        Input chip names such as ``'j8bt06n00q_flt.fits[sci,1]'``.
    path : str or Path
        Output file.
    shape : tuple of int, optional
        Image shape (small by default).
    exptime : float, optional
        Total exposure time to record.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    prim = fits.PrimaryHDU()
    ph = prim.header
    ph["NEXTEND"] = 3
    ph["FILENAME"] = path.name
    ph["ROOTNAME"] = path.name.split("_drz")[0]
    ph["PROD_VER"] = "DrizzlePac-ng 0.1.0"
    ph["EXPTIME"] = exptime
    ph["TEXPTIME"] = exptime
    ph["EXPSTART"] = 52748.3
    ph["EXPEND"] = 52748.4
    ph["NDRIZIM"] = len(chips)
    for i, chip in enumerate(chips, start=1):
        ph[f"D{i:03d}VER"] = "WCSLIB-based drizzle"
        ph[f"D{i:03d}DATA"] = chip
        ph[f"D{i:03d}DEXP"] = 507.0
        ph[f"D{i:03d}KERN"] = "square"
    ph.add_history("drizzled with drizzlepac-ng (simulated)")
    wcs = [("WCSAXES", 2), ("CRPIX1", 3.0), ("CRPIX2", 3.5), ("CRVAL1", 6.0223),
           ("CRVAL2", -72.0814), ("CTYPE1", "RA---TAN"), ("CTYPE2", "DEC--TAN"),
           ("CD1_1", -1.38e-5), ("CD1_2", 0.0), ("CD2_1", 0.0), ("CD2_2", 1.38e-5),
           ("ORIENTAT", 0.0), ("VAFACTOR", 1.0), ("WCSNAME", "DRZWCS")]
    sci = fits.ImageHDU(np.arange(np.prod(shape), dtype=np.float32).reshape(shape), name="SCI")
    wht = fits.ImageHDU(np.ones(shape, dtype=np.float32), name="WHT")
    ctx = fits.ImageHDU(np.ones(shape, dtype=np.int32), name="CTX")
    for hdu in (sci, wht):
        for k, v in wcs:
            hdu.header[k] = v
    sci.header["BUNIT"] = "ELECTRONS/S"
    sci.header["NCOMBINE"] = len(chips)
    wht.header["BUNIT"] = "UNITLESS"
    fits.HDUList([prim, sci, wht, ctx]).writeto(path, overwrite=True)
    return path
