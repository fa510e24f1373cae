"""The ``updatewcs`` task: apply the HST distortion model to exposures.

``updatewcs`` reads the reference files named in an exposure's primary
header (``IDCTAB``, ``NPOLFILE``, ``D2IMFILE``), rebuilds every chip's WCS
from the distortion model and the pointing, and writes the full distortion
(SIP, NPOL lookup tables, D2IM tables) into the file, in place and
atomically: if anything fails, the file is left byte-identical.

Supported: ACS (WFC, HRC, SBC) and WFC3 (UVIS, IR).  WFPC2, STIS and NICMOS
are deferred and raise :class:`~stwcs_ng.errors.UnsupportedInstrumentError`.
"""

from __future__ import annotations

import glob
import io
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from astropy.io import fits

from ..errors import InputFileError
from ..wcsutil._ext import update_input
from ._core import SUPPORTED, UpdateOptions, update_hdulist
from .reffiles import check_reference, resolve_reference

__all__ = ["updatewcs", "update_hdulist", "UpdateOptions", "SUPPORTED", "resolve_reference",
           "check_reference", "expand_inputs"]

log = logging.getLogger(__name__)

_USE_DB_WARNING = ("use_db=True: the HST astrometry database is not consulted (stwcs-ng works "
                   "offline); no a priori/a posteriori headerlets are added. Pass use_db=False "
                   "to silence this warning.")


def expand_inputs(input: Any) -> list[Any]:
    """Expand ``updatewcs`` input into a list of file names and HDULists.

    Parameters
    ----------
    input : str, path-like, HDUList or iterable of these
        A file name, a wildcard pattern (``*_flt.fits``), a comma-separated
        list, an ``@list`` file (one name per line, first column used; ``#``
        comments), an open HDUList, or a list of any of these.

    Returns
    -------
    list
        File names (str) and HDULists, in order, without duplicates.

    Raises
    ------
    InputFileError
        If an ``@list`` file cannot be read, a pattern matches nothing, or an
        element has an unsupported type.
    """
    out: list[Any] = []

    def add(item: Any) -> None:
        if isinstance(item, fits.HDUList):
            out.append(item)
        elif isinstance(item, (str, os.PathLike)):
            text = os.fspath(item).strip()
            if not text:
                return
            if text.startswith("@"):
                listfile = Path(text[1:])
                try:
                    lines = listfile.read_text().splitlines()
                except OSError as exc:
                    raise InputFileError(f"cannot read list file ({exc})",
                                         filename=str(listfile)) from exc
                for line in lines:
                    line = line.split("#", 1)[0].strip()
                    if line:
                        add(line.split()[0])
            elif "," in text:
                for part in text.split(","):
                    add(part)
            elif any(ch in text for ch in "*?[") and not os.path.exists(text):
                matches = sorted(glob.glob(text))
                if not matches:
                    raise InputFileError("no file matches this pattern", filename=text)
                out.extend(matches)
            else:
                out.append(text)
        elif isinstance(item, Iterable):
            for sub in item:
                add(sub)
        else:
            raise InputFileError(f"unsupported input of type {type(item).__name__}")

    add(input)
    seen: set = set()
    unique = []
    for item in out:
        key = id(item) if isinstance(item, fits.HDUList) else os.path.abspath(item)
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique


def _detached_copy(hdul: fits.HDUList) -> fits.HDUList:
    """A full in-memory copy (through bytes: ``HDU.copy()`` loses headerlet data)."""
    buf = io.BytesIO()
    try:
        hdul.writeto(buf, output_verify="silentfix+ignore")
        buf.seek(0)
        work = fits.open(buf, memmap=False, lazy_load_hdus=False)
        work.readall()
    except (OSError, ValueError, TypeError) as exc:
        raise InputFileError(f"the HDUList cannot be copied ({exc})",
                             filename=hdul.filename()) from exc
    return work


def _check_file(hdul: fits.HDUList, name: str | None) -> None:
    """What ``checkfiles`` verifies: a multi-extension FITS with a primary header."""
    if len(hdul) < 2:
        raise InputFileError("not a multi-extension FITS file (no extensions); updatewcs "
                             "needs the SCI extensions of an HST exposure", filename=name)


def updatewcs(input: Any, vacorr: bool = True, tddcorr: bool = True,
              npolcorr: bool = True, d2imcorr: bool = True, checkfiles: bool = True,
              verbose: bool = False, use_db: bool = True, all_wcs: bool = False,
              remove_duplicates: bool = True, *,
              environ: Mapping[str, str] | None = None) -> list[str]:
    """Apply the HST distortion model to the WCS of exposures, in place.

    For each exposure: the reference files are resolved (``jref$name`` via
    environment variables) and read; the pipeline (OPUS) WCS is archived as
    alternate key ``O`` (``WCSNAMEO='OPUS'``) the first time, and every later
    run starts again from it, so running twice gives the same result; each
    chip's CRPIX/CRVAL/CD is rebuilt from the IDCTAB model, ``PA_V3`` and the
    V2/V3 reference positions; the ACS/WFC time-dependent distortion and the
    velocity aberration are applied; SIP coefficients, NPOL (``WCSDVARR``) and
    D2IM (``D2IMARR``) extensions are written; ``WCSNAME`` is set to
    ``IDC_<idctab root>`` and the new WCS is recorded in the ``WCSCORR`` table.

    Parameters
    ----------
    input : str, path-like, HDUList or list
        File name(s), wildcard, comma list, ``@list`` file or open HDUList(s).
        Files are rewritten atomically; HDULists are modified in memory
        (unchanged if an error occurs).
    vacorr : bool, optional
        Apply the velocity aberration correction (``VAFACTOR``).
    tddcorr : bool, optional
        Apply the ACS/WFC time-dependent distortion (also needs the primary
        ``TDDCORR`` keyword to be ``PERFORM`` or absent).
    npolcorr : bool, optional
        Write the NPOL lookup tables named by ``NPOLFILE`` (``N/A`` removes
        existing ones).
    d2imcorr : bool, optional
        Write the D2IM tables named by ``D2IMFILE`` (``N/A`` removes them).
    checkfiles : bool, optional
        Check that every input is a multi-extension FITS file before
        processing (always done; kept for compatibility).
    verbose : bool, optional
        Log the steps at INFO level (the original wrote ``stwcs.log``; here
        the caller configures :mod:`logging`).
    use_db : bool, optional
        Accepted for compatibility.  The original queried the HST astrometry
        database; that is not possible offline, so True only logs one warning.
    all_wcs, remove_duplicates : bool, optional
        Accepted for compatibility (they only affected the database step).
    environ : mapping, optional
        Environment to resolve ``jref$``-style names (default ``os.environ``).

    Returns
    -------
    list of str
        Names of the files processed (``"<HDUList>"`` for unnamed HDULists).

    Raises
    ------
    stwcs_ng.errors.StwcsError
        The first failure (``InputFileError``, ``MissingExtensionError``,
        ``HeaderError``, ``ReferenceFileError``, ``IDCRowNotFoundError``,
        ``UnsupportedInstrumentError``, ``FileUpdateError``).  Files processed
        before it keep their update; the failing file is unchanged.

    Examples
    --------
    >>> import os
    >>> os.environ["jref"] = "/data/references/acs/"  # doctest: +SKIP
    >>> updatewcs("j8bt06nyq_flc.fits", use_db=False)  # doctest: +SKIP
    ['j8bt06nyq_flc.fits']
    """
    del all_wcs, remove_duplicates  # only meaningful for the astrometry database
    if use_db:
        log.warning(_USE_DB_WARNING)
    level = logging.INFO if verbose else logging.DEBUG
    options = UpdateOptions(vacorr=bool(vacorr), tddcorr=bool(tddcorr),
                            npolcorr=bool(npolcorr), d2imcorr=bool(d2imcorr))
    done: list[str] = []
    for item in expand_inputs(input):
        if isinstance(item, fits.HDUList):
            name = item.filename() or "<HDUList>"
            work = _detached_copy(item)
            if checkfiles:
                _check_file(work, name)
            wcsname = update_hdulist(work, options, filename=name, environ=environ)
            while len(item):
                del item[-1]
            for hdu in work:
                item.append(hdu)
        else:
            with update_input(item) as (hdul, name, _):
                _check_file(hdul, name)
                wcsname = update_hdulist(hdul, options, filename=name, environ=environ)
        log.log(level, "%s: WCS updated (WCSNAME=%s)", name, wcsname.strip() or "' '")
        done.append(str(name))
    return done
