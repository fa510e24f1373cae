"""Simulated exposures: pointing, sky catalog, rendering, headers, files and truth."""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table
from astropy.time import Time
from astropy.wcs import WCS

from .. import __version__
from ..errors import ConfigError
from . import detector as det
from ._instruments import CameraModel, camera_model
from ._wcs import ExposureWCS, build_exposure_wcs, evaluate_wcs, wcsname_for
from .distortion import _tan_wcs, linear_chip_wcs, normalize_distortion, reference_frame
from .reffiles import reference_names, write_reference_files
from .render import add_stamps, psf_stamps, sersic_stamp
from .truth import ChipTruth, Truth, write_truth

__all__ = ["SimulatedExposure", "SimulatedSet", "simulate_exposures", "sky_catalog",
           "dither_offsets", "make_wcs", "DITHER_PATTERNS"]

log = logging.getLogger(__name__)

#: Dither patterns in detector pixels of the reference chip (x, y), cycled.
DITHER_PATTERNS = {
    "line": np.array([[0.0, 0.0], [2.5, 1.5], [5.0, 3.0], [7.5, 4.5]]),
    "box": np.array([[0.0, 0.0], [5.0, 1.5], [2.5, 4.0], [-2.5, 2.5]]),
}
DEFAULT_TARGET = (53.1600, -27.7900)
DEFAULT_PA_V3 = 85.0
_MJD0 = 60310.25
# random-stream tags (numpy SeedSequence entropy = [seed, tag, ...])
_S_CATALOG, _S_NOISE, _S_CR, _S_DEFECT, _S_ERRORS, _S_BADVAL = 11, 12, 13, 14, 15, 16


@dataclasses.dataclass
class SimulatedExposure:
    """One simulated exposure.

    Attributes
    ----------
    rootname : str
    path : Path or None
        The ``_flc.fits`` file (None when simulated in memory).
    truth_path : Path or None
    hdulist : astropy.io.fits.HDUList or None
        The file content when simulated in memory (``output_dir=None``).
    truth : Truth
    """

    rootname: str
    path: Path | None
    truth_path: Path | None
    hdulist: fits.HDUList | None
    truth: Truth

    def open(self) -> fits.HDUList:
        """The exposure as an HDUList (the in-memory one, or the file opened read-only)."""
        if self.hdulist is not None:
            return self.hdulist
        return fits.open(self.path)


@dataclasses.dataclass
class SimulatedSet:
    """Result of :func:`simulate_exposures`.

    Attributes
    ----------
    exposures : list of SimulatedExposure
    catalog : astropy.table.Table
        The sky catalog shared by all exposures (RATE in e-/s).
    instrument : str
    reference_files : dict
        Paths of the synthetic IDCTAB/NPOLFILE/D2IMFILE (empty in memory).
    output_dir : Path or None
    association : Path or None
        The association table ``<asn_id>_asn.fits`` listing the exposures
        (MEMTYPE ``EXP-DTH``) and the product (``PROD-DTH``); None in memory.
    """

    exposures: list[SimulatedExposure]
    catalog: Table
    instrument: str
    reference_files: dict
    output_dir: Path | None
    association: Path | None = None

    @property
    def paths(self) -> list[Path]:
        """The science files (empty entries are None when in memory)."""
        return [e.path for e in self.exposures]

    def __len__(self) -> int:
        return len(self.exposures)

    def __iter__(self):
        return iter(self.exposures)

    def __getitem__(self, i: int) -> SimulatedExposure:
        return self.exposures[i]


# ------------------------------------------------------------------ pointing & WCS
def _offset_sky(ra: float, dec: float, east_arcsec: float, north_arcsec: float
                ) -> tuple[float, float]:
    """Move a sky position by a small tangent-plane offset (arcsec)."""
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [ra, dec]
    w.wcs.crpix = [0.0, 0.0]
    w.wcs.cdelt = [-1.0 / 3600.0, 1.0 / 3600.0]
    w.wcs.set()
    r, d = w.wcs_pix2world([[-east_arcsec, north_arcsec]], 1)[0]
    return float(r), float(d)


def _linear_wcs(camera: CameraModel, crval, pa_v3) -> dict[int, WCS]:
    """Linear (TAN) WCS of every chip for a pointing, without header round trips."""
    out = {}
    for chip in camera.chips:
        crpix, cval, cd = linear_chip_wcs(camera, chip, crval, pa_v3)
        out[chip.extver] = _tan_wcs(cval, cd, crpix)
    return out


def _nominal_pointing(camera: CameraModel, target: Sequence[float], pa_v3: float
                      ) -> tuple[float, float]:
    """CRVAL of the reference chip so that the middle of the two chips falls on the target."""
    crval = (float(target[0]), float(target[1]))
    for _ in range(3):
        lin = _linear_wcs(camera, crval, pa_v3)
        frame = reference_frame(camera, crval, pa_v3)
        centres = []
        for chip in camera.chips:
            ny, nx = chip.shape
            centres.append(lin[chip.extver].wcs_pix2world([[(nx - 1) / 2, (ny - 1) / 2]], 0)[0])
        mid = frame.wcs_world2pix(np.array(centres), 1).mean(axis=0)
        tgt_pix = frame.wcs_world2pix([list(target)], 1)[0]
        crval = tuple(frame.wcs_pix2world([tgt_pix - mid], 1)[0])
    return float(crval[0]), float(crval[1])


def dither_offsets(n: int, dither, camera: CameraModel) -> np.ndarray:
    """POSTARG offsets (arcsec) of ``n`` exposures.

    Parameters
    ----------
    n : int
    dither : None, "line", "box" or array_like
        Named pattern (offsets in reference-chip pixels, cycled with a
        20-pixel step between cycles), None (no dither) or an ``(n, 2)``
        array of POSTARG1/POSTARG2 in arcsec.
    camera : CameraModel

    Returns
    -------
    ndarray
        ``(n, 2)`` arcsec.

    Raises
    ------
    ConfigError
        For an unknown pattern or a wrong array shape.
    """
    scale = camera.reference_chip.scale
    if dither is None:
        return np.zeros((n, 2))
    if isinstance(dither, str):
        pat = DITHER_PATTERNS.get(dither.lower())
        if pat is None:
            raise ConfigError(f"unknown dither pattern {dither!r}; use {sorted(DITHER_PATTERNS)}")
        k = np.arange(n)
        pix = pat[k % len(pat)] + (k // len(pat))[:, None] * np.array([20.0, 10.0])
        return pix * scale
    arr = np.asarray(dither, dtype=float)
    if arr.shape != (n, 2):
        raise ConfigError(f"dither array must have shape ({n}, 2), not {arr.shape}")
    return arr


def _wcs_errors(n: int, wcs_errors, seed: int) -> np.ndarray:
    if wcs_errors is None:
        return np.zeros((n, 3))
    arr = np.asarray(wcs_errors, dtype=float)
    if arr.shape == (2,):
        rng = np.random.default_rng([seed, _S_ERRORS])
        shift, rot = arr
        out = np.column_stack([rng.normal(0, shift, n), rng.normal(0, shift, n),
                               rng.normal(0, rot, n)])
        return out
    if arr.shape == (n, 3):
        return arr
    raise ConfigError("wcs_errors must be None, (shift_arcsec, rot_deg) or an (n, 3) array "
                      f"of (dra_arcsec, ddec_arcsec, drot_deg); got shape {arr.shape}")


def _exposure_pointing(camera, nominal, pa_v3, postarg):
    """CRVAL of the reference chip after a POSTARG offset (the target moves by +POSTARG)."""
    frame = reference_frame(camera, nominal, pa_v3)
    pix = -np.asarray(postarg) / camera.reference_chip.scale
    ra, dec = frame.wcs_pix2world([pix], 1)[0]
    return float(ra), float(dec)


def make_wcs(instrument: str = "ACS/WFC", extver: int = 1, *, shape=None,
             ra: float = DEFAULT_TARGET[0], dec: float = DEFAULT_TARGET[1],
             pa_v3: float = DEFAULT_PA_V3, distortion=("sip",)) -> WCS:
    """An astropy WCS of one simulated chip (ACS/WFC-like SIP distortion by default).

    Parameters
    ----------
    instrument : str
        "ACS/WFC" or "WFC3/UVIS".
    extver : int
        SCI extension (1 = CCDCHIP 2, the reference chip; 2 = CCDCHIP 1).
    shape : None, "full", "small" or (ny, nx)
        Chip shape.
    ra, dec : float
        Sky position of the reference chip's reference pixel (deg).
    pa_v3 : float
        Roll (deg).
    distortion : sequence of str
        Components: "sip", "npol", "d2im" (() for a plain TAN WCS).

    Returns
    -------
    astropy.wcs.WCS
        With ``pixel_shape`` set; lookup tables are attached when requested.
    """
    camera = camera_model(instrument, shape)
    camera.chip(extver)
    ew = build_exposure_wcs(camera, (ra, dec), pa_v3, normalize_distortion(distortion))
    return ew.wcs(extver)


# ------------------------------------------------------------------ sky catalog
def _power_law(rng, n, lo, hi, slope):
    u = rng.random(n)
    a = 1.0 - slope
    return (lo ** a + u * (hi ** a - lo ** a)) ** (1.0 / a)


def sky_catalog(instrument: str = "ACS/WFC", *, shape=None, seed: int = 0,
                n_stars: int | None = None, n_galaxies: int | None = None,
                n_bright: int | None = None,
                target: Sequence[float] = DEFAULT_TARGET, pa_v3: float = DEFAULT_PA_V3,
                margin_arcsec: float | None = None, rate_range: tuple[float, float] = (0.4, 6000.0),
                slope: float = 1.8) -> Table:
    """A catalog of stars and galaxies covering the camera field at a pointing.

    Positions are uniform over the rectangle (in the reference frame) that
    contains both chips plus ``margin_arcsec``.  Star count rates follow
    ``dN/dF ~ F**-slope`` between ``rate_range`` (e-/s), plus ``n_bright``
    stars of 1500-30000 e-/s that saturate in a few hundred seconds; galaxies have
    log-uniform rates of 1-150 e-/s, effective radii 0.15-0.8 arcsec, Sersic
    indices 0.7-4, axis ratios 0.3-1.

    Parameters
    ----------
    instrument, shape
        Camera (see :func:`simulate_exposures`).
    seed : int
        Random seed.
    n_stars, n_galaxies : int, optional
        Defaults: 2000 / 40 on full-size chips, the same density on smaller
        ones but at least 40 / 2 (so 40 / 2 on 128 x 256 chips).
    n_bright : int, optional
        Extra very bright stars (default 12 on full-size chips, scaled with
        the area, at least 2).
    target : (ra, dec)
        Field centre (deg).
    pa_v3 : float
        Roll (deg).
    margin_arcsec : float, optional
        Extra margin around the chips (covers dithers); default 3 arcsec on
        full-size chips, 1 arcsec on small ones.
    rate_range : (float, float)
        Star count-rate range (e-/s).
    slope : float
        Power-law index of the star rate distribution.

    Returns
    -------
    astropy.table.Table
        Columns ID, RA, DEC, RATE, TYPE, R_EFF, SERSIC_N, AXIS_RATIO, PA.
    """
    camera = camera_model(instrument, shape)
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, not {seed!r}")
    full = camera.full_size
    if margin_arcsec is None:
        margin_arcsec = 3.0 if full else 1.0
    area = camera.shrink ** -2  # field area relative to the real camera
    if n_stars is None:
        n_stars = max(40, round(2000 * area))
    if n_galaxies is None:
        n_galaxies = max(2, round(40 * area))
    if n_bright is None:
        n_bright = max(2, round(12 * area))
    if n_stars < 0 or n_galaxies < 0 or n_bright < 0:
        raise ConfigError("n_stars, n_galaxies and n_bright must be >= 0")
    n_stars += n_bright
    rng = np.random.default_rng([seed, _S_CATALOG])
    crval = _nominal_pointing(camera, target, pa_v3)
    frame = reference_frame(camera, crval, pa_v3)
    lin = _linear_wcs(camera, crval, pa_v3)
    corners = []
    for chip in camera.chips:
        ny, nx = chip.shape
        w = lin[chip.extver]
        sky = w.wcs_pix2world([[-0.5, -0.5], [nx - 0.5, -0.5], [-0.5, ny - 0.5],
                               [nx - 0.5, ny - 0.5]], 0)
        corners.append(frame.wcs_world2pix(sky, 1))
    corners = np.vstack(corners)
    m = margin_arcsec / camera.reference_chip.scale
    lo = corners.min(axis=0) - m
    hi = corners.max(axis=0) + m
    n = n_stars + n_galaxies
    px = rng.uniform(lo[0], hi[0], n)
    py = rng.uniform(lo[1], hi[1], n)
    sky = frame.wcs_pix2world(np.column_stack([px, py]), 1)
    rate = np.empty(n)
    rate[:n_stars] = _power_law(rng, n_stars, rate_range[0], rate_range[1], slope)
    rate[n_stars - n_bright:n_stars] = np.exp(rng.uniform(math.log(1500.0), math.log(30000.0),
                                                          n_bright))
    rate[n_stars:] = np.exp(rng.uniform(math.log(1.0), math.log(150.0), n_galaxies))
    kind = np.array(["star"] * n_stars + ["galaxy"] * n_galaxies)
    r_eff = np.zeros(n)
    sersic = np.zeros(n)
    q = np.ones(n)
    pa = np.zeros(n)
    g = slice(n_stars, n)
    r_eff[g] = np.exp(rng.uniform(math.log(0.15), math.log(0.8), n_galaxies))
    sersic[g] = rng.uniform(0.7, 4.0, n_galaxies)
    q[g] = rng.uniform(0.3, 1.0, n_galaxies)
    pa[g] = rng.uniform(0.0, 180.0, n_galaxies)
    return Table({"ID": np.arange(1, n + 1, dtype=np.int32), "RA": sky[:, 0], "DEC": sky[:, 1],
                  "RATE": rate, "TYPE": kind, "R_EFF": r_eff, "SERSIC_N": sersic,
                  "AXIS_RATIO": q, "PA": pa})


# ------------------------------------------------------------------ rendering
def _pixel_positions(w: WCS, ra: np.ndarray, dec: np.ndarray, shape) -> tuple[np.ndarray, ...]:
    """0-based pixel positions through the full WCS, checked by a forward evaluation."""
    ny, nx = shape
    lin = w.wcs_world2pix(ra, dec, 0)
    near = ((lin[0] > -80 - 0.05 * nx) & (lin[0] < nx + 80 + 0.05 * nx)
            & (lin[1] > -80 - 0.05 * ny) & (lin[1] < ny + 80 + 0.05 * ny))
    idx = np.nonzero(near)[0]
    if idx.size == 0:
        return idx, np.zeros(0), np.zeros(0)
    x, y = w.all_world2pix(ra[idx], dec[idx], 0, tolerance=1e-10, maxiter=60, quiet=True)
    # verify: forward-evaluate and compare in pixels (local linear scale)
    rf, df = w.all_pix2world(x, y, 0)
    back = w.wcs_world2pix(rf, df, 0)
    ref = w.wcs_world2pix(ra[idx], dec[idx], 0)
    err = np.hypot(back[0] - ref[0], back[1] - ref[1])
    bad = ~(err < 1e-6)
    if bad.any():
        log.warning("%d source positions did not converge to 1e-6 px; dropped", int(bad.sum()))
        keep = ~bad
        idx, x, y = idx[keep], x[keep], y[keep]
    return idx, x, y


def _local_jacobian(w: WCS, x: float, y: float) -> np.ndarray:
    """d(east, north)/d(x, y) in arcsec per pixel at a pixel position (full WCS)."""
    pts = np.array([[x, y], [x + 0.5, y], [x - 0.5, y], [x, y + 0.5], [x, y - 0.5]])
    sky = w.all_pix2world(pts, 0)
    cosd = math.cos(math.radians(sky[0, 1]))
    dra = ((sky[:, 0] - sky[0, 0] + 180.0) % 360.0 - 180.0) * cosd * 3600.0
    ddec = (sky[:, 1] - sky[0, 1]) * 3600.0
    return np.array([[dra[1] - dra[2], dra[3] - dra[4]], [ddec[1] - ddec[2], ddec[3] - ddec[4]]])


def _pixel_areas(w: WCS, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Sky area (arcsec**2) of the pixels at ``(x, y)`` through the full WCS."""
    if x.size == 0:
        return np.zeros(0)
    px = np.concatenate([x + 0.5, x - 0.5, x, x])
    py = np.concatenate([y, y, y + 0.5, y - 0.5])
    ra, dec = w.all_pix2world(px, py, 0)
    n = x.size
    cosd = np.cos(np.radians(dec[:n]))
    dra = ((ra[:n] - ra[n:2 * n] + 180.0) % 360.0 - 180.0) * cosd * 3600.0
    ddec = (dec[:n] - dec[n:2 * n]) * 3600.0
    era = ((ra[2 * n:3 * n] - ra[3 * n:] + 180.0) % 360.0 - 180.0) * cosd * 3600.0
    edec = (dec[2 * n:3 * n] - dec[3 * n:]) * 3600.0
    return np.abs(dra * edec - era * ddec)


def _render_chip(w: WCS, shape, catalog: Table, exptime: float, psf_radius: int,
                 nominal_area: float) -> tuple[np.ndarray, Table]:
    """Noise-free source image (e-) of one chip and its SOURCES truth table.

    Counts are those of a flat-fielded (not pixel-area corrected) image: a
    source of true flux F deposits ``F * nominal_area / pixel_area`` where the
    pixel area is the local one through the full distortion (PAMFAC).
    """
    ra = np.asarray(catalog["RA"], dtype=float)
    dec = np.asarray(catalog["DEC"], dtype=float)
    idx, x, y = _pixel_positions(w, ra, dec, shape)
    image = np.zeros(shape)
    true_flux = np.asarray(catalog["RATE"], dtype=float)[idx] * exptime
    pamfac = nominal_area / _pixel_areas(w, x, y) if idx.size else np.zeros(0)
    flux = true_flux * pamfac
    kind = np.asarray(catalog["TYPE"])[idx]
    counts = np.zeros(idx.size)
    inside = np.zeros(idx.size, dtype=bool)
    ny, nx = shape
    star = kind == "star"
    bright = star & (flux > 2.0e5)
    for sel, radius in ((star & ~bright, psf_radius), (bright, max(psf_radius, 3 * psf_radius))):
        if not sel.any():
            continue
        stamps, x0, y0 = psf_stamps(x[sel], y[sel], radius)
        counts[sel] = add_stamps(image, stamps, x0, y0, flux[sel])
        size = 2 * radius + 1
        inside[sel] = (x0 >= 0) & (y0 >= 0) & (x0 + size <= nx) & (y0 + size <= ny)
    for i in np.nonzero(~star)[0]:
        row = catalog[int(idx[i])]
        jac = _local_jacobian(w, x[i], y[i])
        stamp, gx0, gy0 = sersic_stamp(x[i], y[i], jac, float(row["R_EFF"]),
                                       float(row["SERSIC_N"]), float(row["AXIS_RATIO"]),
                                       float(row["PA"]))
        counts[i] = add_stamps(image, stamp[None], np.array([gx0]), np.array([gy0]),
                               np.array([flux[i]]))[0]
        size = stamp.shape[0]
        inside[i] = gx0 >= 0 and gy0 >= 0 and gx0 + size <= nx and gy0 + size <= ny
    touched = counts > 0
    table = Table({"ID": np.asarray(catalog["ID"])[idx][touched], "X": x[touched],
                   "Y": y[touched], "FLUX": true_flux[touched], "PAMFAC": pamfac[touched],
                   "COUNTS": counts[touched], "INSIDE": inside[touched],
                   "SATURATED": np.zeros(int(touched.sum()), bool)})
    return image, table


# ------------------------------------------------------------------ headers
def _primary_header(camera: CameraModel, rootname: str, filt: str, exptime: float,
                    expstart: float, pa_v3: float, target, postarg, raw: bool,
                    distortion, seed: int, suffix: str, nsci: int) -> fits.Header:
    h = fits.Header()
    h["NEXTEND"] = (3 * nsci, "Number of standard extensions")
    h["FILENAME"] = (f"{rootname}_{suffix}.fits", "name of file")
    h["FILETYPE"] = ("SCI", "type of data found in data file")
    h["TELESCOP"] = ("HST", "telescope used to acquire data")
    h["INSTRUME"] = (camera.instrume, "identifier for instrument used to acquire data")
    h["EQUINOX"] = (2000.0, "equinox of celestial coord. system")
    h["ROOTNAME"] = (rootname, "rootname of the observation set")
    h["IMAGETYP"] = ("EXT", "type of exposure identifier")
    h["TARGNAME"] = ("SIMULATED", "proposer's target name")
    h["RA_TARG"] = (float(target[0]), "right ascension of the target (deg) (J2000)")
    h["DEC_TARG"] = (float(target[1]), "declination of the target (deg) (J2000)")
    h["PROPOSID"] = (99999, "PEP proposal identifier")
    t = Time(expstart, format="mjd", scale="utc")
    iso = t.isot
    h["DATE-OBS"] = (iso[:10], "UT date of start of observation (yyyy-mm-dd)")
    h["TIME-OBS"] = (iso[11:19], "UT time of start of observation (hh:mm:ss)")
    h["EXPSTART"] = (expstart, "exposure start time (Modified Julian Date)")
    h["EXPEND"] = (expstart + exptime / 86400.0, "exposure end time (Modified Julian Date)")
    h["EXPTIME"] = (exptime, "exposure duration (seconds)--calculated")
    h["EXPFLAG"] = ("NORMAL", "Exposure interruption indicator")
    h["PA_V3"] = (pa_v3, "position angle of V3-axis of HST (deg)")
    h["POSTARG1"] = (float(postarg[0]), "POSTARG in axis 1 direction")
    h["POSTARG2"] = (float(postarg[1]), "POSTARG in axis 2 direction")
    h["REFFRAME"] = ("ICRS", "guide star catalog version")
    h["OBSTYPE"] = ("IMAGING", "observation type - imaging or spectroscopic")
    h["OBSMODE"] = ("ACCUM", "operating mode")
    h["SUBARRAY"] = (False, "data from a subarray (T) or full frame (F)")
    h["DETECTOR"] = (camera.detector, "detector in use")
    if camera.instrume == "ACS":
        f1, f2 = ("CLEAR1L", filt) if filt in ("F814W",) else (filt, "CLEAR2L")
        h["FILTER1"] = (f1, "element selected from filter wheel 1")
        h["FILTER2"] = (f2, "element selected from filter wheel 2")
    else:
        h["FILTER"] = (filt, "element selected from filter wheel")
    h["APERTURE"] = (camera.aperture, "aperture name")
    h["CRSPLIT"] = (1, "number of cosmic ray split exposures")
    h["CCDAMP"] = ("ABCD", "CCD Amplifier Readout Configuration")
    h["CCDGAIN"] = (camera.gain, "commanded gain of CCD")
    for amp in "ABCD":
        h[f"ATODGN{amp}"] = (camera.gain, f"calibrated gain for amplifier {amp}")
    for amp in "ABCD":
        h[f"READNSE{amp}"] = (camera.readnoise, f"calibrated read noise for amplifier {amp}")
    for key in ("DQICORR", "BLEVCORR", "BIASCORR", "DARKCORR", "FLATCORR", "PHOTCORR"):
        h[key] = ("COMPLETE", "calibration switch")
    h["DRIZCORR"] = ("PERFORM", "drizzle processing")
    if camera.instrume == "ACS":
        h["TDDCORR"] = ("OMIT", "time-dependent distortion: not simulated")
    refs = reference_names(camera)
    h["IDCTAB"] = (refs["IDCTAB"] if "sip" in distortion else "N/A",
                   "origin of Polynomial Distortion")
    h["DGEOFILE"] = ("N/A", "Distortion correction image")
    h["NPOLFILE"] = (refs["NPOLFILE"] if "npol" in distortion else "N/A",
                     "non-polynomial distortion model")
    h["D2IMFILE"] = (refs["D2IMFILE"] if "d2im" in distortion else "N/A",
                     "detector to image correction")
    h["ASN_ID"] = (f"{rootname[:6]}010".upper(), "unique identifier assigned to association")
    h["ASN_TAB"] = (f"{rootname[:6]}010_asn.fits", "name of the association table")
    h["ASN_MTYP"] = ("EXP-DTH", "Role of the Member in the Association")
    if not raw:
        idcroot = camera.ref_root
        npol = camera.ref_root if "npol" in distortion else "NOMODEL"
        d2im = camera.ref_root if "d2im" in distortion else "NOMODEL"
        if "sip" in distortion:
            h["SIPNAME"] = f"{rootname}_{idcroot}"
            h["DISTNAME"] = f"{rootname}_{idcroot}-{npol}-{d2im}"
        h["UPWCSVER"] = (f"simulate {__version__}", "Version of STWCS used to update the WCS")
        import astropy

        h["PYWCSVER"] = (astropy.__version__, "Version of Astropy used to update the WCS")
    h["SIMULATE"] = (True, "synthetic exposure from drizzlepac_ng.simulate")
    h["SIMSEED"] = (seed, "random seed of the simulation")
    return h


def _ext_header(camera, chip, rootname, filt, wcs_cards: fits.Header, pa_v3, extname,
                bunit, crval_ref) -> fits.Header:
    """Header of a SCI (full WCS) or ERR/DQ (linear WCS only) extension."""
    h = fits.Header()
    h["INHERIT"] = (True, "inherit the primary header")
    h["EXTNAME"] = (extname, "extension name")
    h["EXTVER"] = (chip.extver, "extension version number")
    h["ROOTNAME"] = (rootname, "rootname of the observation set")
    h["EXPNAME"] = (rootname, "exposure identifier")
    h["BUNIT"] = (bunit, "brightness units")
    h["CCDCHIP"] = (chip.ccdchip, "CCD chip (1 or 2)")
    h["LTV1"] = (0.0, "offset in X to subsection start")
    h["LTV2"] = (0.0, "offset in Y to subsection start")
    h["LTM1_1"] = (1.0, "reciprocal of sampling rate in X")
    h["LTM2_2"] = (1.0, "reciprocal of sampling rate in Y")
    h["VAFACTOR"] = (1.0, "velocity aberration plate scale factor")
    ny, nx = chip.shape
    h["SIZAXIS1"] = (nx, "subarray axis1 size in unbinned detector pixels")
    h["SIZAXIS2"] = (ny, "subarray axis2 size in unbinned detector pixels")
    h["BINAXIS1"] = (1, "axis1 data bin size in unbinned detector pixels")
    h["BINAXIS2"] = (1, "axis2 data bin size in unbinned detector pixels")
    if extname == "SCI":
        flam, plam, bw = camera.photometry.get(filt, (1.0e-19, 6000.0, 500.0))
        chip_tag = chip.ccdchip if camera.instrume == "WFC3" else ""
        mode = f"{camera.instrume} {camera.detector}{chip_tag} {filt}"
        h["PHOTMODE"] = (mode.replace("  ", " "), "observation configuration for photometry")
        h["PHOTFLAM"] = (flam, "inverse sensitivity, ergs/cm2/A/e-")
        h["PHOTZPT"] = (-21.1, "ST magnitude zero point")
        h["PHOTPLAM"] = (plam, "Pivot wavelength (Angstroms)")
        h["PHOTBW"] = (bw, "RMS bandwidth of filter plus detector")
        h["PHOTFNU"] = (3.33564e4 * flam * plam ** 2, "inverse sensitivity, Jy*sec/e-")
        h["NCOMBINE"] = (1, "number of images combined")
        h["SATURATE"] = (camera.full_well, "CCD full well (e-)")
        h["SDQFLAGS"] = (31743, "serious data quality flags")
        h["RA_APER"] = (float(crval_ref[0]), "RA of aperture reference position")
        h["DEC_APER"] = (float(crval_ref[1]), "Declination of aperture reference position")
        h["PA_APER"] = (float(wcs_cards.get("ORIENTAT", pa_v3)),
                        "position angle of aperture (deg)")
        for card in wcs_cards.cards:
            h.append(card)
    else:
        for key in ("WCSAXES", "CRPIX1", "CRPIX2", "CRVAL1", "CRVAL2", "CTYPE1", "CTYPE2",
                    "CD1_1", "CD1_2", "CD2_1", "CD2_2", "CUNIT1", "CUNIT2", "RADESYS", "WCSNAME"):
            if key in wcs_cards:
                val = wcs_cards[key]
                if key.startswith("CTYPE"):
                    val = val.replace("-SIP", "")
                h[key] = (val, wcs_cards.comments[key])
    return h


# ------------------------------------------------------------------ main entry point
def simulate_exposures(n_exposures: int = 4, *, instrument: str = "ACS/WFC", shape=None,
                       seed: int = 0, output_dir: str | Path | None = None,
                       dither="line", wcs_errors=None, cosmic_rays: bool = True,
                       distortion=("sip", "npol", "d2im"), raw: bool = False,
                       n_stars: int | None = None, n_galaxies: int | None = None,
                       n_bright: int | None = None, sky: float | None = None,
                       exptime: float | None = None,
                       noise: bool = True, defects: bool = True, saturation: bool = True,
                       filter: str | None = None, target: Sequence[float] = DEFAULT_TARGET,
                       pa_v3: float = DEFAULT_PA_V3, psf_radius: int = 12,
                       catalog: Table | None = None, suffix: str = "flc") -> SimulatedSet:
    """Simulate a set of calibrated HST exposures (FLC/FLT) with their truth.

    See the package docstring (:mod:`drizzlepac_ng.simulate`) for the full
    description of the model, the files and the conventions.

    Parameters
    ----------
    n_exposures : int
        Number of exposures.
    instrument : str
        "ACS/WFC" (default) or "WFC3/UVIS".
    shape : None, "full", "small" or (ny, nx)
        Chip shape; None/"full" is the real detector, "small" 128 x 256.
    seed : int
        Random seed; the result is a deterministic function of all arguments.
    output_dir : str or Path, optional
        Write ``<rootname>_flc.fits``, ``<rootname>_truth.fits`` and the
        synthetic reference files there; None keeps everything in memory.
    dither : None, "line", "box" or array_like
        Dither pattern (see :func:`dither_offsets`).
    wcs_errors : None, (shift_arcsec, rot_deg) or array_like
        Header WCS errors: random per exposure with these standard deviations,
        or an ``(n, 3)`` array of ``(dra_arcsec, ddec_arcsec, drot_deg)``.
    cosmic_rays : bool
        Add (unflagged) cosmic rays.
    distortion : sequence of str
        Distortion components ("sip", "npol", "d2im"); () for a plain TAN WCS.
    raw : bool
        Write the header as before updatewcs: linear OPUS WCS and the
        IDCTAB/NPOLFILE/D2IMFILE keywords only.
    n_stars, n_galaxies, n_bright : int, optional
        Catalog size (defaults: see :func:`sky_catalog`).
    sky : float, optional
        Sky level in e-/pixel (default: the camera's sky rate x exptime).
    exptime : float, optional
        Exposure time (default 480 s ACS, 420 s WFC3).
    noise : bool
        Poisson and read noise; False gives the noise-free expected charge.
    defects : bool
        Hot pixels (DQ 16) and bad columns (DQ 4).
    saturation : bool
        Clip at the full well with bleeding along columns (DQ 256).
    filter : str, optional
        Filter name (default F814W for ACS, F606W for WFC3).
    target : (ra, dec)
        Field centre (deg).
    pa_v3 : float
        Roll (deg).
    psf_radius : int
        Half-size of the PSF stamps (bright stars use three times more).
    catalog : astropy.table.Table, optional
        Use this sky catalog instead of generating one.
    suffix : str
        File suffix ("flc" or "flt").

    Returns
    -------
    SimulatedSet

    Raises
    ------
    ConfigError
        For invalid options.
    """
    t0 = time.perf_counter()
    if int(n_exposures) < 1:
        raise ConfigError(f"n_exposures must be >= 1, not {n_exposures}")
    n = int(n_exposures)
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, not {seed!r}")
    camera = camera_model(instrument, shape)
    chip_shape = camera.chips[0].shape
    parts = normalize_distortion(distortion)
    if raw and "sip" not in parts:
        raise ConfigError("raw=True needs the 'sip' distortion (an IDCTAB for updatewcs)")
    exptime = float(camera.default_exptime if exptime is None else exptime)
    if exptime <= 0:
        raise ConfigError(f"exptime must be positive, not {exptime}")
    sky_level = float(camera.sky_rate * exptime if sky is None else sky)
    if not sky_level >= 0:
        raise ConfigError(f"sky must be >= 0 e-/pixel, not {sky}")
    filt = (filter or camera.filters[-1]).upper()
    if filt not in camera.photometry:
        raise ConfigError(f"filter {filter!r} not simulated for {camera.name}; "
                          f"use one of {sorted(camera.photometry)}")
    if int(psf_radius) < 3:
        raise ConfigError(f"psf_radius must be >= 3 pixels, not {psf_radius}")
    if catalog is None:
        catalog = sky_catalog(camera.name, shape=chip_shape, seed=seed, n_stars=n_stars,
                              n_galaxies=n_galaxies, n_bright=n_bright, target=target,
                              pa_v3=pa_v3)
    postargs = dither_offsets(n, dither, camera)
    errors = _wcs_errors(n, wcs_errors, seed)
    nominal = _nominal_pointing(camera, target, pa_v3)
    out_dir = None if output_dir is None else Path(output_dir)
    refs: dict = {}
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        if parts:
            refs = write_reference_files(out_dir, camera.name, chip_shape)
    exposures = []
    wcs_cache: dict = {}  # lookup tables are the same for every exposure
    for k in range(n):
        letters = chr(97 + (k // 26) % 26) + chr(97 + k % 26)
        rootname = f"{camera.rootname_prefix}sm{seed % 100:02d}0{letters}q"
        crval = _exposure_pointing(camera, nominal, pa_v3, postargs[k])
        true_wcs = build_exposure_wcs(camera, crval, pa_v3, parts, cache=wcs_cache)
        dra, ddec, drot = errors[k]
        hdr_crval = _offset_sky(crval[0], crval[1], dra, ddec)
        hdr_pa = pa_v3 + drot
        if raw:
            hdr_wcs = build_exposure_wcs(camera, hdr_crval, hdr_pa, parts, raw=True,
                                         cache=wcs_cache)
        elif np.any(errors[k] != 0):
            hdr_wcs = build_exposure_wcs(camera, hdr_crval, hdr_pa, parts, cache=wcs_cache)
        else:
            hdr_wcs = true_wcs
        expstart = _MJD0 + (seed % 97) + k * (exptime + 120.0) / 86400.0
        primary = _primary_header(camera, rootname, filt, exptime, expstart, hdr_pa, target,
                                  postargs[k], raw, parts, seed, suffix, len(camera.chips))
        hdus: list = [fits.PrimaryHDU(header=primary)]
        chips_truth = []
        for chip in camera.chips:
            w = true_wcs.wcs(chip.extver)
            model, sources = _render_chip(w, chip.shape, catalog, exptime, psf_radius,
                                          chip.scale ** 2)
            charge = model  # rendered in place: source + sky (+ dark) expected charge
            charge += sky_level
            del model
            dq = np.zeros(chip.shape, dtype=np.int16)
            badcol = None
            if defects:
                rng_d = np.random.default_rng([seed, _S_DEFECT, chip.extver])
                excess, dq_def, badcol = det.detector_defects(chip.shape, exptime, rng_d)
                charge += excess
                dq |= dq_def
                del excess
            if saturation:
                sat = det.saturate_and_bleed(charge, camera.full_well)
                dq[sat] |= det.DQ_SATURATED
                if len(sources):
                    xi = np.clip(np.rint(sources["X"]).astype(int), 0, chip.shape[1] - 1)
                    yi = np.clip(np.rint(sources["Y"]).astype(int), 0, chip.shape[0] - 1)
                    sources["SATURATED"] = sat[yi, xi]
            if noise:
                rng_n = np.random.default_rng([seed, _S_NOISE, k, chip.extver])
                sci = det.add_noise(charge, camera.readnoise, rng_n)
            else:
                sci = charge.astype(np.float32)
            if cosmic_rays:
                rng_c = np.random.default_rng([seed, _S_CR, k, chip.extver])
                cr = det.cosmic_rays(chip.shape, exptime, rng_c)
                sci += cr
                crmask = (cr > 0).astype(np.uint8)
                del cr
            else:
                crmask = np.zeros(chip.shape, dtype=np.uint8)
            if badcol is not None and badcol.any():
                rng_b = np.random.default_rng([seed, _S_BADVAL, k, chip.extver])
                sci[badcol] += rng_b.normal(300.0, 80.0, int(badcol.sum()))
            charge += camera.readnoise ** 2
            np.sqrt(charge, out=charge)
            err = charge.astype(np.float32)
            del charge
            cards = hdr_wcs.headers[chip.extver]
            sci_h = _ext_header(camera, chip, rootname, filt, cards, hdr_pa, "SCI", "ELECTRONS",
                                hdr_crval)
            err_h = _ext_header(camera, chip, rootname, filt, cards, hdr_pa, "ERR", "ELECTRONS",
                                hdr_crval)
            dq_h = _ext_header(camera, chip, rootname, filt, cards, hdr_pa, "DQ", "UNITLESS",
                               hdr_crval)
            good = dq == 0
            for hdr, arr in ((sci_h, sci), (err_h, err)):
                vals = arr[good] if good.any() else arr.ravel()
                hdr["NGOODPIX"] = (int(good.sum()), "number of good pixels")
                hdr["GOODMIN"] = (float(vals.min()), "minimum value of good pixels")
                hdr["GOODMAX"] = (float(vals.max()), "maximum value of good pixels")
                hdr["GOODMEAN"] = (float(vals.mean()), "mean value of good pixels")
            hdus.append(fits.ImageHDU(np.asarray(sci, dtype=np.float32), header=sci_h))
            hdus.append(fits.ImageHDU(err, header=err_h))
            hdus.append(fits.ImageHDU(dq, header=dq_h))
            chips_truth.append(ChipTruth(extver=chip.extver, ccdchip=chip.ccdchip,
                                         shape=chip.shape, sources=sources, crmask=crmask,
                                         wcs_header=true_wcs.headers[chip.extver].copy()))
        # on disk the shared table HDUs are only written; in memory each exposure owns copies
        hdus.extend(h if out_dir is not None else h.copy() for h in hdr_wcs.lookup_hdus)
        hdul = fits.HDUList(hdus)
        hdul[0].header["NEXTEND"] = len(hdul) - 1
        cat = catalog.copy()
        cat["FLUX"] = cat["RATE"] * exptime
        truth = Truth(
            rootname=rootname, instrument=camera.name, seed=int(seed), exptime=exptime,
            sky=sky_level, readnoise=camera.readnoise, gain=camera.gain,
            pointing={"ra": crval[0], "dec": crval[1], "pa_v3": pa_v3,
                      "postarg1": float(postargs[k][0]), "postarg2": float(postargs[k][1])},
            wcs_error=(float(dra), float(ddec), float(drot)), catalog=cat, chips=chips_truth,
            lookup_hdus=list(true_wcs.lookup_hdus) if out_dir is not None
            else [h.copy() for h in true_wcs.lookup_hdus],
        )
        if out_dir is not None:
            path = out_dir / f"{rootname}_{suffix}.fits"
            hdul.writeto(path, overwrite=True)
            tpath = write_truth(truth, out_dir / f"{rootname}_truth.fits")
            exposures.append(SimulatedExposure(rootname, path, tpath, None, truth))
        else:
            exposures.append(SimulatedExposure(rootname, None, None, hdul, truth))
    asn = None
    if out_dir is not None:
        asn = _write_association(out_dir, [e.rootname for e in exposures])
    log.info("simulated %d %s exposure(s) of %s chips in %.2f s", n, camera.name,
             "x".join(map(str, chip_shape)), time.perf_counter() - t0)
    return SimulatedSet(exposures, catalog, camera.name, refs, out_dir, asn)


def _write_association(out_dir: Path, rootnames: list[str]) -> Path:
    """Write the association table of a set (the ASN_ID/ASN_TAB of its exposures)."""
    asn_id = f"{rootnames[0][:6]}010"
    names = [r.upper() for r in rootnames] + [asn_id.upper()]
    types = ["EXP-DTH"] * len(rootnames) + ["PROD-DTH"]
    table = fits.BinTableHDU.from_columns([
        fits.Column("MEMNAME", "14A", array=np.array(names)),
        fits.Column("MEMTYPE", "14A", array=np.array(types)),
        fits.Column("MEMPRSNT", "L", array=np.ones(len(names), dtype=bool)),
    ], name="ASN")
    prim = fits.PrimaryHDU()
    prim.header["FILENAME"] = f"{asn_id}_asn.fits"
    prim.header["ASN_ID"] = asn_id.upper()
    prim.header["ASN_TAB"] = f"{asn_id}_asn.fits"
    path = out_dir / f"{asn_id}_asn.fits"
    fits.HDUList([prim, table]).writeto(path, overwrite=True)
    return path


__all__ += ["ExposureWCS", "evaluate_wcs", "wcsname_for"]
