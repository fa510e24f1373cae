"""updatenpol: point exposures at NPOL and D2IM reference files and rebuild their WCS.

``update`` replaces the original ``drizzlepac.updatenpol.update``: for each
exposure it picks, from a reference directory, the ``*_npl.fits`` (NPOLFILE)
and ``*_d2i.fits`` (D2IMFILE) files that match its instrument, detector and
filters and whose USEAFTER date is not after the observation (the latest such
file wins), writes their names in the primary header, and (``wcsupdate``)
runs stwcs-ng's updatewcs so that the lookup tables become ``WCSDVARR`` /
``D2IMARR`` extensions.  Header change and WCS update are written together,
atomically: a failure leaves the exposure byte-identical.
"""

from __future__ import annotations

import builtins
import contextlib
import glob
import logging
import os
import shutil
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from astropy.io import fits

from . import _coords
from .errors import ConfigError, InputFileError

__all__ = ["update", "find_npolfile", "find_d2ifile", "parse_useafter"]

log = logging.getLogger(__name__)

_NPOL_COMMENT = "Non-polynomial corrections in Paper IV LUT"
_D2IM_COMMENT = "Column correction table"


def parse_useafter(value: Any) -> datetime | None:
    """Parse a USEAFTER (``'Mar 01 2002 00:00:00'``) or DATE-OBS value; None when absent/invalid.

    Parameters
    ----------
    value : str or None

    Returns
    -------
    datetime or None
    """
    if value is None:
        return None
    text = " ".join(str(value).split())
    for fmt in ("%b %d %Y %H:%M:%S", "%b %d %Y %H:%M", "%b %d %Y", "%Y-%m-%dT%H:%M:%S",
                "%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%d/%m/%y"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def _observation_date(primary: fits.Header) -> datetime | None:
    date = primary.get("DATE-OBS")
    time = primary.get("TIME-OBS")
    if date and time:
        found = parse_useafter(f"{str(date).strip()} {str(time).strip()}")
        if found is not None:
            return found
    return parse_useafter(date)


def _header(path: str) -> fits.Header:
    try:
        return fits.getheader(path, 0, memmap=False)
    except (OSError, ValueError) as exc:
        raise InputFileError(f"cannot read the reference file header ({exc})",
                             filename=path) from exc


def _same(a: Any, b: Any) -> bool:
    return str(a).strip().upper() == str(b).strip().upper()


def _select(flist: Sequence[str], detector: str, filters: Sequence[str] | None,
            instrument: str | None, date: datetime | None) -> str | None:
    best: tuple[datetime, int, str] | None = None
    for order, path in enumerate(flist):
        hdr = _header(path)
        if not _same(hdr.get("DETECTOR", ""), detector):
            continue
        if instrument and "INSTRUME" in hdr and not _same(hdr["INSTRUME"], instrument):
            continue
        if filters is not None:
            if "FILTER1" in hdr:
                f1, f2 = hdr.get("FILTER1", ""), hdr.get("FILTER2", "")
                ok = _same(f1, "ANY") or (_same(f1, filters[0]) and
                                          _same(f2, filters[1] if len(filters) > 1 else ""))
            elif "FILTER" in hdr:
                ok = _same(hdr["FILTER"], "ANY") or _same(hdr["FILTER"], filters[0])
            else:
                ok = True
            if not ok:
                continue
        useafter = parse_useafter(hdr.get("USEAFTER"))
        if date is not None and useafter is not None and useafter > date:
            continue
        key = (useafter or datetime.min, order, path)
        if best is None or key[:2] >= best[:2]:
            best = key
    return None if best is None else best[2]


def find_npolfile(flist: Sequence[str], detector: str, filters: Sequence[str],
                  *, instrument: str | None = None, date: datetime | None = None) -> str | None:
    """The NPOL reference file for a detector and filter combination.

    Parameters
    ----------
    flist : sequence of str
        Candidate ``*_npl.fits`` files.
    detector : str
    filters : sequence of str
        ``(FILTER1, FILTER2)`` (ACS) or ``(FILTER,)`` (WFC3).  A candidate
        matches when its FILTER1 (or FILTER) is ``ANY`` or equals them.
    instrument : str, optional
        Candidates with another INSTRUME are skipped.
    date : datetime, optional
        Observation date: candidates with a later USEAFTER are skipped.

    Returns
    -------
    str or None
        The matching file with the latest USEAFTER (the last listed on ties).
    """
    return _select(flist, detector, filters, instrument, date)


def find_d2ifile(flist: Sequence[str], detector: str, *, instrument: str | None = None,
                 date: datetime | None = None) -> str | None:
    """The D2IM reference file for a detector (same rules as :func:`find_npolfile`).

    Parameters
    ----------
    flist : sequence of str
    detector : str
    instrument : str, optional
    date : datetime, optional

    Returns
    -------
    str or None
    """
    return _select(flist, detector, None, instrument, date)


def _resolve_refdir(refdir: str) -> Path:
    from stwcs_ng.errors import ReferenceFileError
    from stwcs_ng.updatewcs import resolve_reference

    text = str(refdir).strip()
    if "$" in text:
        try:
            folder = resolve_reference(text)
        except ReferenceFileError as exc:
            raise InputFileError(f"reference directory {text!r}: {exc.reason}") from exc
    else:
        folder = Path(os.path.expanduser(text))
    if not folder.is_dir():
        raise InputFileError(f"reference directory {text!r} ({folder}) does not exist")
    return folder


def _filters(primary: fits.Header) -> list[str]:
    if "FILTER1" in primary or "FILTER2" in primary:
        return [str(primary.get("FILTER1", "")).strip(), str(primary.get("FILTER2", "")).strip()]
    return [str(primary.get("FILTER", "")).strip()]


def _set_keyword(primary: fits.Header, key: str, value: str, comment: str) -> None:
    if "DGEOFILE" in primary:
        primary.set(key, value, comment, after="DGEOFILE")  # moved there, as the original
    else:
        primary.set(key, value, comment)


def _header_name(path: str, refdir: str, local: bool, input_dir: str) -> str:
    base = os.path.basename(path)
    if local:
        return os.path.join(input_dir, base)
    text = str(refdir).strip()
    if "$" in text:
        return text + base
    return os.path.join(text, base)


def update(input: Any, refdir: str = "jref$", local: bool | None = None,
           interactive: bool = False, wcsupdate: bool = True) -> list[str]:
    """Set NPOLFILE and D2IMFILE from a reference directory and rebuild the WCS.

    Parameters
    ----------
    input : str, path-like or list
        Exposures: a name, wildcard, comma list, ``@list`` file or a list.
    refdir : str, optional
        Directory holding the ``*_npl.fits`` and ``*_d2i.fits`` files: a path,
        or an IRAF-style ``'jref$'`` whose environment variable gives the
        path (default).  Header values are written as ``refdir + name``
        (``'jref$xyz_npl.fits'``) or ``os.path.join(refdir, name)``.
    local : bool, optional
        Copy the chosen files next to each exposure and name the copies.
    interactive : bool, optional
        Ask for the NPOLFILE and D2IMFILE names of each exposure on standard
        input instead of searching ``refdir`` (blank D2IMFILE: none).
    wcsupdate : bool, optional
        Run updatewcs (stwcs-ng) so the new tables become extensions.

    Returns
    -------
    list of str
        The files updated.

    Raises
    ------
    InputFileError
        If an exposure or a reference file cannot be read, ``refdir`` does not
        exist (or its variable is unset), or no NPOL file matches an exposure
        with a DGEOFILE (nothing is changed then).
    stwcs_ng.errors.StwcsError
        If updatewcs fails on an exposure (that exposure is unchanged;
        exposures before it keep their update).
    FileUpdateError
        If an exposure cannot be rewritten (it is then unchanged).

    Examples
    --------
    >>> import os
    >>> os.environ["jref"] = "/data/references/acs/"  # doctest: +SKIP
    >>> update("j8bt06nyq_flc.fits", refdir="jref$")  # doctest: +SKIP
    ['j8bt06nyq_flc.fits']
    """
    from stwcs_ng.fileio import open_fits
    from stwcs_ng.updatewcs import UpdateOptions, update_hdulist
    from stwcs_ng.wcsutil._ext import update_input

    files = _coords.expand_files(input)
    if not interactive:
        if _coords.is_blank(refdir):
            raise ConfigError("refdir must name the reference directory (e.g. 'jref$')")
        folder = _resolve_refdir(refdir)
        npl_files = sorted(glob.glob(str(folder / "*npl.fits")))
        d2i_files = sorted(glob.glob(str(folder / "*d2i.fits")))
    plan: list[tuple[str, str | None, str | None, str, str]] = []
    for name in files:  # choose every file before changing anything
        with _coords.drizzlepac_errors(), open_fits(name) as hdul:
            primary = hdul[0].header.copy()
        detector = str(primary.get("DETECTOR", "")).strip()
        instrument = str(primary.get("INSTRUME", "")).strip() or None
        date = _observation_date(primary)
        filters = _filters(primary)
        if interactive:
            npol = builtins.input(f"Enter name of NPOLFILE for {name}: ").strip() or None
            d2i = builtins.input(f"Enter name of D2IMFILE for {name}: ").strip() or None
            for ref in (npol, d2i):
                if ref is not None and not Path(ref).is_file():
                    raise InputFileError("reference file does not exist", filename=ref)
        else:
            npol = find_npolfile(npl_files, detector, filters, instrument=instrument, date=date)
            d2i = find_d2ifile(d2i_files, detector, instrument=instrument, date=date)
        if npol is None:
            where = "the names given" if interactive else f"{refdir} ({folder})"
            when = f", observed {date:%Y-%m-%d}" if date else ""
            raise InputFileError(f"no valid NPOLFILE in {where} for instrument={instrument}, "
                                 f"detector={detector}, filters={','.join(filters)}{when}; "
                                 "nothing was changed", filename=name)
        if d2i is None:
            log.warning("%s: no valid D2IMFILE for detector %s; the D2IM correction will not "
                        "be applied", name, detector)
        plan.append((name, npol, d2i, detector, os.path.dirname(name)))

    copies: list[Path] = []
    done: list[str] = []
    try:
        for name, npol, d2i, _det, fdir in plan:
            values = {}
            for key, ref in (("NPOLFILE", npol), ("D2IMFILE", d2i)):
                if ref is None:
                    values[key] = ""
                    continue
                if local:
                    target = Path(fdir or ".") / os.path.basename(ref)
                    if target.resolve() != Path(ref).resolve():
                        if not target.exists():
                            copies.append(target)
                        shutil.copyfile(ref, target)
                values[key] = (_header_name(ref, refdir, bool(local), fdir)
                               if not interactive or local else ref)
            with _coords.drizzlepac_errors(), update_input(name) as (hdul, _, _):
                primary = hdul[0].header
                _set_keyword(primary, "NPOLFILE", values["NPOLFILE"], _NPOL_COMMENT)
                _set_keyword(primary, "D2IMFILE", values["D2IMFILE"], _D2IM_COMMENT)
                if wcsupdate:
                    update_hdulist(hdul, UpdateOptions(), filename=name)
            log.info("%s: NPOLFILE=%r D2IMFILE=%r%s", name, values["NPOLFILE"],
                     values["D2IMFILE"], " (WCS updated)" if wcsupdate else "")
            done.append(name)
    except BaseException:
        if not done:
            for c in copies:
                with contextlib.suppress(OSError):
                    c.unlink()
        raise
    return done
