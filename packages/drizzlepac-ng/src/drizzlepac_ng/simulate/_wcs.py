"""WCS header cards of simulated chips (calibrated and raw forms) and their evaluation."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

from ._instruments import CameraModel, ChipModel
from .distortion import (
    d2im_reference_tables,
    idc_to_sip,
    linear_chip_wcs,
    lookup_hdu,
    npol_reference_tables,
    npol_science_tables,
)

__all__ = ["ExposureWCS", "build_exposure_wcs", "evaluate_wcs", "wcsname_for"]


def wcsname_for(camera: CameraModel) -> str:
    """Default WCSNAME of an updated file: ``IDC_<idctab root>``."""
    return f"IDC_{camera.ref_root}"


def _orientat(cd: np.ndarray) -> float:
    return math.degrees(math.atan2(cd[0, 1], cd[1, 1]))


class ExposureWCS:
    """The WCS of all chips of one exposure.

    Attributes
    ----------
    headers : dict
        ``{extver: fits.Header}`` with the WCS cards of each SCI extension.
    linear : dict
        ``{extver: (crpix, crval, cd)}``.
    lookup_hdus : list of fits.ImageHDU
        ``WCSDVARR`` then ``D2IMARR`` extensions referenced by the headers.
    """

    def __init__(self, headers, linear, lookup_hdus, shapes):
        self.headers = headers
        self.linear = linear
        self.lookup_hdus = lookup_hdus
        self.shapes = shapes
        self._wcs: dict[int, WCS] = {}

    def hdulist(self) -> fits.HDUList:
        """A header-only HDUList (SCI extensions + lookup tables) for astropy evaluation."""
        hdus = [fits.PrimaryHDU()]
        for extver, hdr in self.headers.items():
            h = hdr.copy()
            h["EXTNAME"] = "SCI"
            h["EXTVER"] = extver
            hdus.append(fits.ImageHDU(header=h))
        hdus.extend(self.lookup_hdus)
        return fits.HDUList(hdus)

    def wcs(self, extver: int) -> WCS:
        """astropy WCS of a chip (full distortion); built once per chip."""
        if extver not in self._wcs:
            hdul = fits.HDUList([fits.PrimaryHDU(), *self.lookup_hdus])
            self._wcs[extver] = evaluate_wcs(self.headers[extver], hdul, self.shapes[extver])
        return self._wcs[extver]


def evaluate_wcs(header: fits.Header, hdulist: fits.HDUList | None,
                 shape: tuple[int, int] | None = None) -> WCS:
    """Build an astropy WCS from a header, resolving lookup tables in ``hdulist``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        w = WCS(header, fobj=hdulist)
    if shape is not None:
        w.pixel_shape = (shape[1], shape[0])
    return w


def _sip_cards(hdr: fits.Header, chip: ChipModel) -> None:
    a, b = idc_to_sip(chip)
    order = a.shape[0] - 1
    hdr["A_ORDER"] = (order, "SIP polynomial order, axis 1, detector to sky")
    for p in range(order + 1):
        for q in range(order + 1 - p):
            if p + q >= 2:
                hdr[f"A_{p}_{q}"] = (float(a[p, q]), "SIP distortion coefficient")
    hdr["B_ORDER"] = (order, "SIP polynomial order, axis 2, detector to sky")
    for p in range(order + 1):
        for q in range(order + 1 - p):
            if p + q >= 2:
                hdr[f"B_{p}_{q}"] = (float(b[p, q]), "SIP distortion coefficient")


def _idc_cards(hdr: fits.Header, chip: ChipModel) -> None:
    hdr["IDCSCALE"] = (chip.scale, "pixel scale from the IDCTAB reference file")
    hdr["IDCTHETA"] = (chip.theta, "orientation of detector's Y-axis w.r.t. V3 axis")
    hdr["IDCXREF"] = (chip.xref, "reference pixel location in X")
    hdr["IDCYREF"] = (chip.yref, "reference pixel location in Y")
    hdr["IDCV2REF"] = (chip.v2ref, "reference pixel's V2 position")
    hdr["IDCV3REF"] = (chip.v3ref, "reference pixel's V3 position")
    for name, val in (("OCX10", chip.cx[1, 0]), ("OCX11", chip.cx[1, 1]),
                      ("OCY10", chip.cy[1, 0]), ("OCY11", chip.cy[1, 1])):
        hdr[name] = (float(val), "original linear term from IDCTAB")


def _linear_cards(hdr: fits.Header, crpix, crval, cd, sip: bool, key: str = "") -> None:
    hdr[f"WCSAXES{key}"] = (2, "Number of coordinate axes")
    hdr[f"CRPIX1{key}"] = (float(crpix[0]), "Pixel coordinate of reference point")
    hdr[f"CRPIX2{key}"] = (float(crpix[1]), "Pixel coordinate of reference point")
    hdr[f"CUNIT1{key}"] = ("deg", "Units of coordinate increment and value")
    hdr[f"CUNIT2{key}"] = ("deg", "Units of coordinate increment and value")
    suffix = "-SIP" if sip else ""
    hdr[f"CTYPE1{key}"] = ("RA---TAN" + suffix, "Right ascension, gnomonic projection")
    hdr[f"CTYPE2{key}"] = ("DEC--TAN" + suffix, "Declination, gnomonic projection")
    hdr[f"CRVAL1{key}"] = (float(crval[0]), "[deg] Coordinate value at reference point")
    hdr[f"CRVAL2{key}"] = (float(crval[1]), "[deg] Coordinate value at reference point")
    hdr[f"RADESYS{key}"] = ("ICRS", "Equatorial coordinate system")
    hdr[f"CD1_1{key}"] = (float(cd[0, 0]), "partial of first axis coordinate w.r.t. x")
    hdr[f"CD1_2{key}"] = (float(cd[0, 1]), "partial of first axis coordinate w.r.t. y")
    hdr[f"CD2_1{key}"] = (float(cd[1, 0]), "partial of second axis coordinate w.r.t. x")
    hdr[f"CD2_2{key}"] = (float(cd[1, 1]), "partial of second axis coordinate w.r.t. y")


def opus_linear(camera: CameraModel, chip: ChipModel, crval_ref, pa_v3):
    """The approximate pipeline (OPUS) WCS of a chip: orthogonal CD, rough chip offset.

    The reference chip's CRVAL is exact (it is the pointing); the other chip's
    CRVAL is displaced by a fixed ~0.3 arcsec and every CD matrix is replaced
    by the orthogonal matrix of the same scale and ORIENTAT, as a pipeline
    without knowledge of the distortion model would write.
    """
    crpix, crval, cd = linear_chip_wcs(camera, chip, crval_ref, pa_v3)
    det = np.linalg.det(cd)
    scale = math.sqrt(abs(det))
    ori = math.atan2(cd[0, 1], cd[1, 1])
    sgn = -1.0 if det < 0 else 1.0  # east-left (det < 0): x column is (-cos, sin)
    ocd = scale * np.array([[sgn * math.cos(ori), math.sin(ori)],
                            [-sgn * math.sin(ori), math.cos(ori)]])
    if chip is not camera.reference_chip:
        crval = crval + np.array([0.3 / 3600.0 / math.cos(math.radians(crval[1])), -0.2 / 3600.0])
    return crpix, crval, ocd


def build_exposure_wcs(camera: CameraModel, crval_ref: Sequence[float], pa_v3: float,
                       distortion: tuple[str, ...], *, raw: bool = False,
                       opus_crval_ref: Sequence[float] | None = None,
                       opus_pa_v3: float | None = None,
                       cache: dict | None = None) -> ExposureWCS:
    """WCS cards of every chip of an exposure.

    Parameters
    ----------
    camera : CameraModel
    crval_ref : (ra, dec)
        Pointing: sky position of the reference chip's reference pixel.
    pa_v3 : float
        Roll (deg).
    distortion : tuple of str
        Components switched on ("sip", "npol", "d2im").
    raw : bool
        True: only the linear OPUS WCS (what updatewcs starts from).
    opus_crval_ref, opus_pa_v3 : optional
        Pointing used for the archived OPUS WCS (defaults: the same).
    cache : dict, optional
        Caller-owned dictionary in which the lookup-table HDUs (which do not
        depend on the pointing) are kept between calls for the same camera.

    Returns
    -------
    ExposureWCS
    """
    headers, linear, shapes = {}, {}, {}
    lookup: list[fits.ImageHDU] = []
    cache = {} if cache is None else cache
    if "npol" in distortion and not raw and "npol" not in cache:
        cache["npol"] = npol_reference_tables(camera)
    if "d2im" in distortion and not raw and "d2im" not in cache:
        cache["d2im"] = d2im_reference_tables(camera)
    npol_ref = cache.get("npol") if ("npol" in distortion and not raw) else None
    d2im_ref = cache.get("d2im") if ("d2im" in distortion and not raw) else None

    def table_hdu(extname, ver, tab):
        key = (extname, ver)
        if key not in cache:
            cache[key] = lookup_hdu(extname, ver, tab, camera.npol_cdelt)
        return cache[key]

    wcsname = wcsname_for(camera)
    o_crval = crval_ref if opus_crval_ref is None else opus_crval_ref
    o_pa = pa_v3 if opus_pa_v3 is None else opus_pa_v3
    d2im_ver = 1
    d2im_hdus = []
    for chip in camera.chips:
        hdr = fits.Header()
        shapes[chip.extver] = chip.shape
        ocrpix, ocrval, ocd = opus_linear(camera, chip, o_crval, o_pa)
        if raw:
            _linear_cards(hdr, ocrpix, ocrval, ocd, sip=False)
            linear[chip.extver] = (ocrpix, ocrval, ocd)
            headers[chip.extver] = hdr
            continue
        crpix, crval, cd = linear_chip_wcs(camera, chip, crval_ref, pa_v3)
        linear[chip.extver] = (crpix, crval, cd)
        sip = "sip" in distortion
        _linear_cards(hdr, crpix, crval, cd, sip=sip)
        hdr["WCSNAME"] = (wcsname if sip else "SIMULATED-TAN", "Coordinate system title")
        hdr["ORIENTAT"] = (_orientat(cd), "position angle of image y axis (deg. e of n)")
        if sip:
            _sip_cards(hdr, chip)
            _idc_cards(hdr, chip)
            hdr["IDCTAB"] = (f"{camera.ref_env}${camera.ref_root}_idc.fits",
                             "IDCTAB used to compute this WCS")
        if d2im_ref is not None:
            dx, dy = d2im_ref[chip.ccdchip]
            for j, tab in ((1, dx), (2, dy)):
                hdr[f"D2IMERR{j}"] = (float(tab.max()),
                                      f"Maximum error of D2IM correction for axis {j}")
                hdr[f"D2IMDIS{j}"] = ("Lookup", "Detector to image correction type")
                hdr[f"D2IM{j}.EXTVER"] = (d2im_ver, "Version number of D2IMARR extension")
                hdr[f"D2IM{j}.NAXES"] = (2, "Number of independent variables in D2IM function")
                hdr[f"D2IM{j}.AXIS.1"] = (1, "Axis number of the 1st variable in a D2IM function")
                hdr[f"D2IM{j}.AXIS.2"] = (2, "Axis number of the 2nd variable in a D2IM function")
                d2im_hdus.append(table_hdu("D2IMARR", d2im_ver, tab))
                d2im_ver += 1
            hdr["D2IMEXT"] = (f"{camera.ref_env}${camera.ref_root}_d2i.fits", "D2IM reference file")
        if npol_ref is not None:
            key = ("npol-science", chip.ccdchip)
            if key not in cache:
                cache[key] = npol_science_tables(chip, *npol_ref[chip.ccdchip])
            dx, dy = cache[key]
            for j, tab in ((1, dx), (2, dy)):
                ver = 2 * chip.extver - 2 + j
                hdr[f"CPERR{j}"] = (float(tab.max()),
                                    f"Maximum error of NPOL correction for axis {j}")
                hdr[f"CPDIS{j}"] = ("Lookup", "Prior distortion function type")
                hdr[f"DP{j}.EXTVER"] = (ver, "Version number of WCSDVARR extension")
                hdr[f"DP{j}.NAXES"] = (2, "Number of independent variables in CPDIS function")
                hdr[f"DP{j}.AXIS.1"] = (1, "Axis number of the 1st variable in a CPDIS function")
                hdr[f"DP{j}.AXIS.2"] = (2, "Axis number of the 2nd variable in a CPDIS function")
                lookup.append(table_hdu("WCSDVARR", ver, tab))
            hdr["NPOLEXT"] = (f"{camera.ref_env}${camera.ref_root}_npl.fits", "NPOL reference file")
        # archived pipeline WCS under key O
        hdr["WCSNAMEO"] = ("OPUS", "Coordinate system title")
        _linear_cards(hdr, ocrpix, ocrval, ocd, sip=False, key="O")
        headers[chip.extver] = hdr
    return ExposureWCS(headers, linear, lookup + d2im_hdus, shapes)
