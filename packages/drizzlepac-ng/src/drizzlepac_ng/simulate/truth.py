"""Truth of a simulated exposure: what was put into the pixels.

File layout of ``<rootname>_truth.fits``:

==========  ============  =====================================================
HDU         EXTNAME/VER   content
==========  ============  =====================================================
0           PRIMARY       ROOTNAME, INSTRUME, DETECTOR, SIMSEED, EXPTIME, SKY
                          (e-/pixel), RDNOISE, GAIN, pointing (RA_REF, DEC_REF,
                          PA_V3, POSTARG1/2) and the injected WCS error
                          (ERR_DRA, ERR_DDEC in arcsec, ERR_ROT in deg)
1           CATALOG, 1    sky catalog: ID, RA, DEC (deg), RATE (e-/s), FLUX
                          (e- in this exposure), TYPE (star/galaxy), R_EFF
                          (arcsec), SERSIC_N, AXIS_RATIO, PA (deg)
..          SOURCES, v    per chip (v = SCI EXTVER): ID, X, Y (0-based pixel
                          positions through the true WCS; pixel centres at
                          integers), FLUX (true e-), PAMFAC (nominal /
                          local pixel area), COUNTS (e- deposited inside the
                          chip before noise: FLUX x PAMFAC when INSIDE),
                          INSIDE (stamp fully on the chip), SATURATED
..          CRMASK, v     uint8 image, 1 where a cosmic ray deposited charge
..          TRUEWCS, v    header only: the true WCS of the chip (SIP etc.),
                          CHIPNX/CHIPNY; lookup tables in the extensions below
..          WCSDVARR, k   NPOL tables of the true WCS (same as the FLC file)
..          D2IMARR, k    D2IM tables of the true WCS
==========  ============  =====================================================

Sign convention of the injected error: the header WCS of the science file is
built from the pointing ``CRVAL_ref + (ERR_DRA, ERR_DDEC)`` (arcsec east and
north on the sky) and ``PA_V3 + ERR_ROT``; i.e. the header says the chip looks
``(ERR_DRA, ERR_DDEC)`` further east/north and is rolled by ``ERR_ROT`` more
(ORIENTAT increases by ~``ERR_ROT``) than it really is.  A source at true
``(ra, dec)`` therefore appears, through the header WCS, at about
``(ra, dec) + (ERR_DRA, ERR_DDEC)`` near the reference pixel.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS

from ..errors import InputFileError
from ._wcs import evaluate_wcs

__all__ = ["ChipTruth", "Truth", "load_truth", "write_truth", "truth_hdulist"]


@dataclasses.dataclass
class ChipTruth:
    """Truth of one chip.

    Attributes
    ----------
    extver, ccdchip : int
    shape : (ny, nx)
    sources : astropy.table.Table
        ID, X, Y (0-based), FLUX, PAMFAC, COUNTS, INSIDE, SATURATED.
    crmask : ndarray
        uint8, 1 on cosmic-ray pixels.
    wcs_header : astropy.io.fits.Header
        True WCS cards.
    """

    extver: int
    ccdchip: int
    shape: tuple[int, int]
    sources: Table
    crmask: np.ndarray
    wcs_header: fits.Header


@dataclasses.dataclass
class Truth:
    """Truth of one exposure (see the module docstring for the file layout).

    Attributes
    ----------
    rootname, instrument : str
    seed : int
    exptime, sky, readnoise, gain : float
    pointing : dict
        ``ra``, ``dec`` (reference pixel of the reference chip), ``pa_v3``,
        ``postarg1``, ``postarg2``.
    wcs_error : tuple
        ``(dra_arcsec, ddec_arcsec, drot_deg)`` injected into the header WCS.
    catalog : astropy.table.Table
    chips : list of ChipTruth
    lookup_hdus : list of astropy.io.fits.ImageHDU
    """

    rootname: str
    instrument: str
    seed: int
    exptime: float
    sky: float
    readnoise: float
    gain: float
    pointing: dict
    wcs_error: tuple[float, float, float]
    catalog: Table
    chips: list[ChipTruth]
    lookup_hdus: list = dataclasses.field(default_factory=list)

    def chip(self, extver: int) -> ChipTruth:
        """Truth of SCI extension ``extver``."""
        for c in self.chips:
            if c.extver == extver:
                return c
        raise KeyError(extver)

    def true_wcs(self, extver: int) -> WCS:
        """astropy WCS of the true pixel <-> sky relation of a chip (full distortion)."""
        c = self.chip(extver)
        hdul = fits.HDUList([fits.PrimaryHDU(), *self.lookup_hdus])
        return evaluate_wcs(c.wcs_header, hdul, c.shape)

    def wcs_error_mas(self, filename: str | Path, *, grid: tuple[int, int] = (20, 10),
                      statistic: str = "rms") -> float:
        """How far a file's header WCS is from the true WCS on the sky, in mas.

        Both WCSs (full distortion) are evaluated on a regular grid of pixels
        of every chip, corners included.

        Parameters
        ----------
        filename : str or Path
            The exposure (or an updated copy of it).
        grid : (int, int), optional
            Number of grid points along x and y of each chip.
        statistic : {"rms", "max"}, optional
            Root mean square or maximum of the separations.

        Returns
        -------
        float
            Separation in milliarcseconds.
        """
        seps = []
        with fits.open(filename) as hdul:
            for c in self.chips:
                wcs = WCS(hdul["SCI", c.extver].header, hdul)
                ny, nx = c.shape
                gx, gy = np.meshgrid(np.linspace(0, nx - 1, grid[0]),
                                     np.linspace(0, ny - 1, grid[1]))
                a = np.column_stack(wcs.all_pix2world(gx.ravel(), gy.ravel(), 0))
                b = np.column_stack(self.true_wcs(c.extver).all_pix2world(gx.ravel(),
                                                                          gy.ravel(), 0))
                d = a - b
                d[:, 0] = ((d[:, 0] + 180.0) % 360.0 - 180.0) * np.cos(np.radians(b[:, 1]))
                seps.append(np.hypot(d[:, 0], d[:, 1]) * 3.6e6)
        e = np.concatenate(seps)
        if statistic == "max":
            return float(e.max())
        return float(np.sqrt(np.mean(e**2)))


def truth_hdulist(truth: Truth) -> fits.HDUList:
    """Serialise a :class:`Truth` into the documented FITS layout."""
    phdr = fits.Header()
    phdr["ROOTNAME"] = truth.rootname
    inst = truth.instrument.split("/")
    phdr["INSTRUME"] = inst[0]
    phdr["DETECTOR"] = inst[-1]
    phdr["SIMSEED"] = (truth.seed, "random seed of the simulation")
    phdr["EXPTIME"] = (truth.exptime, "exposure time (s)")
    phdr["SKY"] = (truth.sky, "sky level (e-/pixel)")
    phdr["RDNOISE"] = (truth.readnoise, "read noise (e-)")
    phdr["GAIN"] = (truth.gain, "gain (e-/DN)")
    phdr["RA_REF"] = (truth.pointing["ra"], "true RA of the reference chip reference pixel")
    phdr["DEC_REF"] = (truth.pointing["dec"], "true Dec of the reference chip reference pixel")
    phdr["PA_V3"] = (truth.pointing["pa_v3"], "true PA_V3 (deg)")
    phdr["POSTARG1"] = (truth.pointing["postarg1"], "dither offset (arcsec)")
    phdr["POSTARG2"] = (truth.pointing["postarg2"], "dither offset (arcsec)")
    phdr["ERR_DRA"] = (truth.wcs_error[0], "injected header WCS error east (arcsec)")
    phdr["ERR_DDEC"] = (truth.wcs_error[1], "injected header WCS error north (arcsec)")
    phdr["ERR_ROT"] = (truth.wcs_error[2], "injected header WCS roll error (deg)")
    phdr["XYORIGIN"] = (0, "X/Y are 0-based, pixel centres at integers")
    hdus = [fits.PrimaryHDU(header=phdr)]
    cat = _table_hdu(truth.catalog, "CATALOG")
    cat.header["EXTVER"] = 1
    hdus.append(cat)
    for c in truth.chips:
        src = _table_hdu(c.sources, "SOURCES")
        src.header["EXTVER"] = c.extver
        src.header["CCDCHIP"] = c.ccdchip
        hdus.append(src)
        cr = fits.ImageHDU(c.crmask.astype(np.uint8), name="CRMASK")
        cr.header["EXTVER"] = c.extver
        hdus.append(cr)
        wh = c.wcs_header.copy()
        wh["CHIPNX"] = (c.shape[1], "chip width (pixels)")
        wh["CHIPNY"] = (c.shape[0], "chip height (pixels)")
        wh["CCDCHIP"] = c.ccdchip
        w = fits.ImageHDU(header=wh, name="TRUEWCS")
        w.header["EXTVER"] = c.extver
        hdus.append(w)
    hdus.extend(truth.lookup_hdus)
    return fits.HDUList(hdus)


def _table_hdu(table: Table, name: str) -> fits.BinTableHDU:
    """Binary table from the columns' numpy arrays (faster than converting the Table)."""
    cols = []
    for cname in table.colnames:
        arr = np.asarray(table[cname])
        if arr.dtype.kind in "US":
            width = max(1, max((len(str(v)) for v in arr), default=1))
            cols.append(fits.Column(cname, f"{width}A", array=arr.astype(f"S{width}")))
        elif arr.dtype.kind == "b":
            cols.append(fits.Column(cname, "L", array=arr))
        elif arr.dtype.kind in "iu":
            cols.append(fits.Column(cname, "J" if arr.dtype.itemsize <= 4 else "K", array=arr))
        else:
            cols.append(fits.Column(cname, "D", array=arr.astype(np.float64)))
    return fits.BinTableHDU.from_columns(cols, name=name)


def write_truth(truth: Truth, path: str | Path) -> Path:
    """Write a truth file; returns its path."""
    path = Path(path)
    truth_hdulist(truth).writeto(path, overwrite=True)
    return path


_WCS_SKIP = {"XTENSION", "BITPIX", "NAXIS", "PCOUNT", "GCOUNT", "EXTNAME", "EXTVER",
             "CHIPNX", "CHIPNY", "CCDCHIP"}


def load_truth(path: str | Path) -> Truth:
    """Read a ``*_truth.fits`` file written by the simulator.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    Truth

    Raises
    ------
    InputFileError
        If the file is missing or not a simulator truth file.
    """
    path = Path(path)
    try:
        with fits.open(path) as hdul:
            hdul.verify("silentfix")
            p = hdul[0].header
            catalog = Table(hdul["CATALOG"].data)
            chips = []
            lookup = []
            for hdu in hdul[1:]:
                name = hdu.header.get("EXTNAME", "")
                if name in ("WCSDVARR", "D2IMARR"):
                    lookup.append(fits.ImageHDU(data=np.array(hdu.data), header=hdu.header.copy()))
            for hdu in hdul[1:]:
                if hdu.header.get("EXTNAME") != "TRUEWCS":
                    continue
                v = hdu.header["EXTVER"]
                wh = fits.Header([c for c in hdu.header.cards if c.keyword not in _WCS_SKIP])
                chips.append(ChipTruth(
                    extver=v, ccdchip=int(hdu.header["CCDCHIP"]),
                    shape=(int(hdu.header["CHIPNY"]), int(hdu.header["CHIPNX"])),
                    sources=Table(hdul["SOURCES", v].data),
                    crmask=np.array(hdul["CRMASK", v].data),
                    wcs_header=wh,
                ))
            return Truth(
                rootname=p["ROOTNAME"], instrument=f"{p['INSTRUME']}/{p['DETECTOR']}",
                seed=int(p["SIMSEED"]), exptime=float(p["EXPTIME"]), sky=float(p["SKY"]),
                readnoise=float(p["RDNOISE"]), gain=float(p["GAIN"]),
                pointing={"ra": p["RA_REF"], "dec": p["DEC_REF"], "pa_v3": p["PA_V3"],
                          "postarg1": p["POSTARG1"], "postarg2": p["POSTARG2"]},
                wcs_error=(float(p["ERR_DRA"]), float(p["ERR_DDEC"]), float(p["ERR_ROT"])),
                catalog=catalog, chips=chips, lookup_hdus=lookup,
            )
    except FileNotFoundError:
        raise InputFileError("truth file not found", filename=str(path)) from None
    except (KeyError, OSError, ValueError) as exc:
        raise InputFileError(f"not a simulator truth file ({exc})", filename=str(path)) from None
