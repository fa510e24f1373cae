"""Realistic synthetic HST exposures with known truth (tests, benchmarks, docs, demo).

:func:`simulate_exposures` writes (or returns in memory) calibrated ACS/WFC or
WFC3/UVIS exposures in the pipeline FLC/FLT layout, together with the truth
of what was put into them::

    from drizzlepac_ng import simulate
    sim = simulate.simulate_exposures(4, shape="small", seed=1, output_dir="work")
    sim[0].path            # work/jsm010aaq_flc.fits
    sim[0].truth.chip(1).sources   # X, Y (0-based), FLUX, COUNTS ...

Files
-----
``<rootname>_flc.fits``: PRIMARY + (SCI, ERR, DQ) per chip (SCI,1 is CCDCHIP 2,
SCI,2 is CCDCHIP 1, as in the pipeline), then ``WCSDVARR`` (NPOL) and
``D2IMARR`` (D2IM) extensions.  ``BUNIT='ELECTRONS'``.  The primary header has
INSTRUME, DETECTOR, FILTER1/FILTER2 (ACS) or FILTER (WFC3), EXPTIME,
EXPSTART, EXPEND, DATE-OBS, ROOTNAME, PA_V3, POSTARG1/2, RA_TARG/DEC_TARG,
gains and read noises, IDCTAB/NPOLFILE/D2IMFILE (``jref$`` for ACS, ``iref$``
for WFC3), SIPNAME/DISTNAME; each SCI header CCDCHIP, PHOTFLAM, PHOTPLAM,
PHOTBW, PHOTZPT, LTV1/2, VAFACTOR=1 and the WCS.

``<rootname>_truth.fits``: see :mod:`drizzlepac_ng.simulate.truth`; read it
with :func:`load_truth`.

Synthetic reference files ``<root>_idc.fits``, ``_npl.fits``, ``_d2i.fits``
are written beside the exposures (:func:`write_reference_files`), and an
association table ``<asn_id>_asn.fits`` (MEMNAME/MEMTYPE/MEMPRSNT).

WCS and distortion
------------------
Calibrated mode (default) writes the headers as after ``updatewcs``:
``CTYPE = RA---TAN-SIP``, SIP of order 4 computed from the (synthetic) IDC
polynomial, NPOL (``CPDISj``/``DPj`` records + ``WCSDVARR``) and D2IM
(``D2IMDISj``/``D2IMj`` records + ``D2IMARR``) lookup tables,
``WCSNAME='IDC_<idcroot>'``, the IDC keywords (IDCSCALE, IDCV2REF, IDCV3REF,
IDCTHETA, IDCXREF, IDCYREF, OCX10, OCX11, OCY10, OCY11) and the pipeline WCS
archived under key ``O`` (``WCSNAMEO='OPUS'``).  The linear part follows the
``MakeWCS`` rules from the pointing (see :mod:`drizzlepac_ng.simulate.distortion`).
The ACS/WFC model has tens of pixels of non-linear distortion at the chip
corners (up to ~60 px relative to the linear WCS), WFC3/UVIS ~20 px.

The true pixel <-> sky relation of a chip *is* what astropy evaluates on the
header of an exposure simulated without WCS errors:
``astropy.wcs.WCS(hdul["SCI", v].header, hdul)``.  Sources are placed through
that full distortion (``all_world2pix``, each solution checked to 1e-6 px by a
forward evaluation).  With ``wcs_errors`` the header describes a perturbed
pointing and the truth file keeps the true WCS (``Truth.true_wcs(v)``).

Raw mode (``raw=True``): the header has only the linear OPUS WCS (no SIP, no
IDC keywords, no lookup tables) and the primary IDCTAB/NPOLFILE/D2IMFILE
keywords; with the environment variable ``jref`` (ACS) or ``iref`` (WFC3) set
to the output directory (trailing slash; :func:`reference_env` does it
temporarily), running updatewcs rebuilds the calibrated WCS.  ACS files carry
``TDDCORR='OMIT'`` (no time-dependent distortion is simulated; the synthetic
IDCTAB's TDD coefficients are zero anyway) and ``VAFACTOR=1``.

Small images
------------
``shape="small"`` (128 x 256 chips) or any ``(ny, nx)`` miniaturises the
camera by ``k = min(full_nx/nx, full_ny/ny)``: the pixel scale stays real,
the polynomial keeps the same fractional deformation (scale and skew
variations across the chip are realistic, the corner offsets shrink by ``k``
to a few pixels), chip separations shrink by ``k`` and the lookup tables use a
16-pixel grid.  Small sets have their own reference files
(``simacswfc256x128_idc.fits`` ...).  A small exposure takes ~0.1 s.

Pixels
------
Stars: pixel-integrated PSF (a mixture of three circular Gaussians, FWHM
~2.1 px, stamps normalised to sum to 1), count rates from a power law
(``dN/dF ~ F**-1.8``, 0.4-6000 e-/s) plus a few saturating stars.  Galaxies:
elliptical Sersic profiles (oversampled 5x5, shape defined on the sky and
mapped through the local Jacobian of the full WCS, convolved with the PSF).
As in pipeline FLT/FLC files (flat-fielded, not pixel-area corrected), a
source of true flux F deposits ``F * PAMFAC`` counts, with
``PAMFAC = IDCSCALE**2 / local pixel area`` (0.9-1.15 for ACS/WFC), so
that drizzling onto pixels of the nominal scale returns F everywhere in the
field; the truth gives FLUX, PAMFAC and the COUNTS actually deposited on the
chip.  Sky: uniform, default ``sky_rate x exptime``.
Noise: Poisson on source + sky + hot-pixel charge, Gaussian read noise.
Cosmic rays: ~2 % of pixels in 500 s, mostly 1-6 px, some long tracks, *not*
flagged.  Hot pixels (DQ 16), bad columns (DQ 4, garbage values), full-well
saturation with charge bleeding along columns (DQ 256, charge conserved).
ERR = sqrt(expected charge + readnoise**2).

Multi-exposure sets share one sky catalog (:func:`sky_catalog`); dithers are
POSTARG offsets (the target moves by +POSTARG in the reference chip frame,
see :func:`dither_offsets`).  Injected WCS errors: see
:mod:`drizzlepac_ng.simulate.truth` for the sign convention.

Determinism: every random stream is a :class:`numpy.random.Generator` seeded
with ``[seed, stream, exposure, chip]``; the same arguments give identical
arrays, and switching a component off (e.g. ``cosmic_rays=False``) leaves the
other components unchanged.

Building blocks
---------------
:func:`make_wcs` (astropy WCS of a chip), :func:`render_psf`,
:func:`point_sources` (a simple image of interior point sources),
:func:`sky_catalog`, :func:`write_reference_files`, :func:`load_truth`, and
array-level helpers for kernel tests and benchmarks: :func:`wfc_chip` (the SCI
array of one chip), :func:`stack` (aligned noisy frames with independent
cosmic rays, for median tests), :func:`dither_pixmap` (full-distortion pixel
map of a chip onto :func:`output_frame`).
"""

from ._helpers import dither_pixmap, output_frame, stack, wfc_chip
from .exposure import (
    DITHER_PATTERNS,
    SimulatedExposure,
    SimulatedSet,
    dither_offsets,
    make_wcs,
    simulate_exposures,
    sky_catalog,
)
from .reffiles import reference_env, write_reference_files
from .render import PSF_COMPONENTS, point_sources, render_psf
from .truth import ChipTruth, Truth, load_truth

__all__ = [
    "simulate_exposures",
    "SimulatedSet",
    "SimulatedExposure",
    "sky_catalog",
    "dither_offsets",
    "DITHER_PATTERNS",
    "make_wcs",
    "render_psf",
    "point_sources",
    "PSF_COMPONENTS",
    "write_reference_files",
    "reference_env",
    "load_truth",
    "Truth",
    "ChipTruth",
    "wfc_chip",
    "stack",
    "dither_pixmap",
    "output_frame",
]
