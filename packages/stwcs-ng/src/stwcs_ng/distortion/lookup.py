"""Lookup-table distortions: NPOL (``WCSDVARR``) and D2IM (``D2IMARR``).

Both reference files (``*_npl.fits``, ``*_d2i.fits``) hold small 2-D images
named ``DX`` and ``DY`` per chip (``CCDCHIP``), sampled every ``CDELTi``
detector pixels.  ``updatewcs`` copies them into the science file as image
extensions described by FITS Paper IV record-valued keywords, which
astropy/wcslib evaluate (bilinear interpolation):

* D2IM (detector to image, applied first): ``D2IMDISj = 'Lookup'``,
  ``D2IMj.EXTVER``, ``D2IMj.NAXES = 2``, ``D2IMj.AXIS.1 = 1``,
  ``D2IMj.AXIS.2 = 2``, ``D2IMERRj``; data copied unchanged into ``D2IMARR``
  extensions numbered 1, 2, 3... over all chips.
* NPOL (non-polynomial residuals, added to the SIP correction):
  ``CPDISj = 'Lookup'``, ``DPj.EXTVER``, ``DPj.NAXES``, ``DPj.AXIS.*``,
  ``CPERRj``; data in ``WCSDVARR`` extensions ``2v-1`` (DX) and ``2v`` (DY)
  for SCI extver ``v``.  The reference tables are in units of the IDC frame
  at scale ``IDCSCALE``; they are converted to detector pixels (the units of
  the SIP correction) by ``inv(M / IDCSCALE)``, ``M`` the linear matrix.

The table WCS (``CRPIXi``, ``CRVALi``, ``CDELTi``) maps image pixels onto
table pixels; subarrays and binned images are handled by subtracting
``LTVi`` from CRVAL and multiplying CDELT by ``LTMi_i``.
"""

from __future__ import annotations

import numpy as np
from astropy.io import fits

__all__ = [
    "MULTICHIP_DETECTORS",
    "table_chip",
    "find_tables",
    "npol_to_pixels",
    "lookup_hdu",
    "npol_keywords",
    "d2im_keywords",
    "remove_lookup_keywords",
]

#: Detectors whose reference files carry one table pair per CCDCHIP.
MULTICHIP_DETECTORS = {("ACS", "WFC"), ("WFC3", "UVIS")}

#: Primary keywords of the reference file copied to the table extensions (provenance).
_PROVENANCE = ("FILENAME", "FILETYPE", "DESCRIP", "PEDIGREE", "USEAFTER", "FILTER1", "FILTER2")


def _is_multichip(header: fits.Header) -> bool:
    key = (str(header.get("INSTRUME", "")).strip().upper(),
           str(header.get("DETECTOR", "")).strip().upper())
    return key in MULTICHIP_DETECTORS


def table_chip(primary: fits.Header, ext_header: fits.Header) -> int:
    """Chip number of an extension of a science or reference file.

    Parameters
    ----------
    primary : astropy.io.fits.Header
        Primary header (``INSTRUME``, ``DETECTOR``).
    ext_header : astropy.io.fits.Header
        The extension's header.

    Returns
    -------
    int
        ``CCDCHIP`` for ACS/WFC and WFC3/UVIS, else 1.
    """
    if _is_multichip(primary):
        try:
            return int(ext_header.get("CCDCHIP", 1))
        except (TypeError, ValueError):
            return 1
    return 1


def find_tables(ref: fits.HDUList, chip: int) -> dict[str, fits.ImageHDU]:
    """The ``DX``/``DY`` table extensions of a reference file for one chip.

    Parameters
    ----------
    ref : astropy.io.fits.HDUList
        An NPOLFILE or D2IMFILE.
    chip : int
        Chip number as given by :func:`table_chip` for the science extension.

    Returns
    -------
    dict
        ``{"DX": hdu, "DY": hdu}``, with only the tables present (the first
        match of each in file order).
    """
    found: dict[str, fits.ImageHDU] = {}
    for hdu in ref[1:]:
        name = str(hdu.header.get("EXTNAME", "")).strip().upper()
        if name in ("DX", "DY") and name not in found and hdu.data is not None \
                and table_chip(ref[0].header, hdu.header) == chip:
            found[name] = hdu
    return found


def npol_to_pixels(dx: np.ndarray, dy: np.ndarray, linear: np.ndarray,
                   idcscale: float) -> tuple[np.ndarray, np.ndarray]:
    """Convert NPOL tables from IDC-frame units to detector pixels.

    Parameters
    ----------
    dx, dy : ndarray
        The reference tables (same shape).
    linear : ndarray
        ``[[OCX11, OCX10], [OCY11, OCY10]]`` of the chip's model (arcsec/pixel).
    idcscale : float
        ``IDCSCALE`` (arcsec/pixel).

    Returns
    -------
    (dx, dy) : tuple of ndarray
        float32 tables in pixels: ``inv(linear / idcscale) @ (dx, dy)``.
    """
    minv = np.linalg.inv(np.asarray(linear, dtype=np.float64) / float(idcscale))
    stacked = minv @ np.vstack([np.ravel(dx).astype(np.float64), np.ravel(dy).astype(np.float64)])
    return (stacked[0].reshape(np.shape(dx)).astype(np.float32),
            stacked[1].reshape(np.shape(dy)).astype(np.float32))


def lookup_hdu(extname: str, extver: int, data: np.ndarray, table_header: fits.Header,
               ref_primary: fits.Header, axis_name: str, sci_header: fits.Header) -> fits.ImageHDU:
    """Build a ``WCSDVARR`` or ``D2IMARR`` extension.

    Parameters
    ----------
    extname : str
        ``"WCSDVARR"`` or ``"D2IMARR"``.
    extver : int
        EXTVER referenced by the science header.
    data : ndarray
        The table (written as float32).
    table_header : astropy.io.fits.Header
        Header of the reference table (CDELTi/CRPIXi/CRVALi).
    ref_primary : astropy.io.fits.Header
        Primary header of the reference file (provenance keywords copied).
    axis_name : str
        ``"DX"`` or ``"DY"``, recorded in ``CCDCHIP`` as the original does.
    sci_header : astropy.io.fits.Header
        Science header (``LTVi``, ``LTMi_i``).

    Returns
    -------
    astropy.io.fits.ImageHDU
        The extension.
    """
    arr = np.ascontiguousarray(data, dtype=np.float32)
    hdr = fits.Header()
    hdr["EXTNAME"] = (extname, "WCS distortion array")
    hdr["EXTVER"] = (int(extver), "Distortion array version number")
    hdr["CCDCHIP"] = (axis_name, "table axis (DX or DY) of the reference file")
    for i in range(1, arr.ndim + 1):
        ltm = float(sci_header.get(f"LTM{i}_{i}", 1.0))
        ltv = float(sci_header.get(f"LTV{i}", 0.0))
        hdr[f"CDELT{i}"] = (float(table_header.get(f"CDELT{i}", 1.0)) * ltm,
                            "Coordinate increment at reference point")
        hdr[f"CRPIX{i}"] = (float(table_header.get(f"CRPIX{i}", 0.0)),
                            "Pixel coordinate of reference point")
        hdr[f"CRVAL{i}"] = (float(table_header.get(f"CRVAL{i}", 0.0)) - ltv,
                            "Coordinate value at reference point")
    for kw in _PROVENANCE:
        if kw in ref_primary:
            hdr[kw] = (ref_primary[kw], ref_primary.comments[kw])
    return fits.ImageHDU(data=arr, header=hdr)


def _records(prefix: str, err_prefix: str, dis_prefix: str, axis: int, extver: int,
             error: float, kind: str) -> list[tuple[str, object, str]]:
    return [
        (f"{err_prefix}{axis}", float(error),
         f"Maximum error of {kind} correction for axis {axis}"),
        (f"{dis_prefix}{axis}", "Lookup", f"{kind} distortion function type"),
        (f"{prefix}{axis}.EXTVER", int(extver), "Version number of the table extension"),
        (f"{prefix}{axis}.NAXES", 2, "Number of independent variables in the function"),
        (f"{prefix}{axis}.AXIS.1", 1, "Axis number of the 1st variable"),
        (f"{prefix}{axis}.AXIS.2", 2, "Axis number of the 2nd variable"),
    ]


def npol_keywords(axis: int, extver: int, error: float) -> list[tuple[str, object, str]]:
    """Science-header cards describing an NPOL table for one axis.

    Parameters
    ----------
    axis : int
        1 (DX) or 2 (DY).
    extver : int
        EXTVER of the ``WCSDVARR`` extension.
    error : float
        ``CPERRj``: the largest value of the table (signed maximum, as the original).

    Returns
    -------
    list of (keyword, value, comment)
        ``CPERRj``, ``CPDISj``, ``DPj.EXTVER``, ``DPj.NAXES``, ``DPj.AXIS.1/2``.
    """
    return _records("DP", "CPERR", "CPDIS", axis, extver, error, "NPOL")


def d2im_keywords(axis: int, extver: int, error: float) -> list[tuple[str, object, str]]:
    """Science-header cards describing a D2IM table for one axis.

    Parameters
    ----------
    axis : int
        1 (DX) or 2 (DY).
    extver : int
        EXTVER of the ``D2IMARR`` extension.
    error : float
        ``D2IMERRj``: the largest value of the table.

    Returns
    -------
    list of (keyword, value, comment)
        ``D2IMERRj``, ``D2IMDISj``, ``D2IMj.EXTVER``, ``D2IMj.NAXES``, ``D2IMj.AXIS.1/2``.
    """
    return _records("D2IM", "D2IMERR", "D2IMDIS", axis, extver, error, "D2IM")


def remove_lookup_keywords(header: fits.Header, kind: str) -> None:
    """Delete the NPOL (``kind="npol"``) or D2IM (``kind="d2im"``) keywords of a header.

    Parameters
    ----------
    header : astropy.io.fits.Header
        Science header, changed in place.
    kind : str
        ``"npol"`` or ``"d2im"``.
    """
    if kind == "npol":
        prefixes, records = ("CPERR", "CPDIS"), ("DP1", "DP2")
    else:
        prefixes, records = ("D2IMERR", "D2IMDIS"), ("D2IM1", "D2IM2")
    doomed = []
    for card in header.cards:
        key = card.keyword
        if key.startswith(prefixes) and key[len(key.rstrip("0123456789")):] in ("1", "2"):
            doomed.append(key)
        elif key.split(".", 1)[0] in records and "." in key:
            doomed.append(key)
    for key in dict.fromkeys(doomed):
        while key in header:
            del header[key]
    # record-valued keywords may also be stored as e.g. 'DP1' = 'EXTVER: 1'
    for rec in records:
        while rec in header:
            del header[rec]
