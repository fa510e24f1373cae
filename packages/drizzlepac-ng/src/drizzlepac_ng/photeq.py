"""photeq: equalize the inverse sensitivity (PHOTFLAM) of every chip to one value.

``photeq`` replaces the original ``drizzlepac.photeq.photeq``.  For each
chip ``conv = PHOTFLAM / reference``; its SCI (floating-point) data and the
matching ERR data are multiplied by ``conv``, PHOTFLAM is set to the reference
and every auxiliary keyword (PHOTFNU) is divided by ``conv``, so that the
physical flux of every pixel is unchanged while all chips share one
calibration.  ``readonly=True`` (the default) only reports what would be
done.  The whole plan is computed from the headers before any file is
changed; files are rewritten atomically.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from . import _coords
from .errors import ConfigError, InputFileError, MissingExtensionError

__all__ = ["photeq", "PhoteqResult", "Change"]

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Change:
    """What photeq does (or would do) to one HDU.

    Attributes
    ----------
    filename : str
    ext : tuple of (str, int)
        ``(EXTNAME, EXTVER)`` of the HDU (``('PRIMARY', 1)`` for the primary).
    factor : float or None
        Data multiplier (None: keywords only).
    keywords : dict
        Keyword -> (old value, new value).
    scale_data : bool
        Whether the data of this HDU are multiplied.
    err_ext : tuple or None
        The error extension multiplied by the same factor.
    """

    filename: str
    ext: tuple[str, int]
    factor: float | None
    keywords: dict
    scale_data: bool
    err_ext: tuple[str, int] | None


@dataclasses.dataclass
class PhoteqResult:
    """Report of a photeq run.

    Attributes
    ----------
    ref_phot : float
        The reference value.
    ref_source : str
        ``'user'`` or ``'file[EXT,VER]'``.
    changes : list of Change
    readonly : bool
        True when nothing was written.
    lines : list of str
        The report as written to the log file.
    """

    ref_phot: float
    ref_source: str
    changes: list[Change]
    readonly: bool
    lines: list[str]


def _kw_list(aux: Any, phot_kwd: str) -> list[str]:
    if aux is None:
        return []
    if isinstance(aux, str):
        items = [a.strip().upper() for a in aux.split(",") if a.strip()]
    elif isinstance(aux, (list, tuple)) and all(isinstance(a, str) for a in aux):
        items = [a.strip().upper() for a in aux if a.strip()]
    else:
        raise ConfigError("aux_phot_kwd must be a keyword name, a list of names or None")
    if phot_kwd in items:
        raise ConfigError(f"aux_phot_kwd must differ from phot_kwd ({phot_kwd})")
    return items


def _ext_key(hdu) -> tuple[str, int]:
    name = str(hdu.header.get("EXTNAME", "PRIMARY" if isinstance(hdu, fits.PrimaryHDU) else ""))
    return name.strip().upper(), int(hdu.header.get("EXTVER", 1))


def _is_float(hdu) -> bool:
    return int(hdu.header.get("BITPIX", 8)) < 0


def _has_data(hdu) -> bool:
    return hdu.is_image and int(hdu.header.get("NAXIS", 0)) > 0


def _number(value: Any, what: str, filename: str, ext) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise InputFileError(f"{what} = {value!r} is not a number", filename=filename,
                             extension=ext) from None
    if not np.isfinite(out) or out == 0:
        raise InputFileError(f"{what} = {value!r} cannot be used (zero or not finite)",
                             filename=filename, extension=ext)
    return out


def photeq(files: Any = "*_flt.fits", sciext: str = "SCI", errext: str | None = "ERR",
           ref_phot: float | None = None, ref_phot_ext: Any = None, phot_kwd: str = "PHOTFLAM",
           aux_phot_kwd: Any = "PHOTFNU", search_primary: bool = True, readonly: bool = True,
           clobber: bool = False, logfile: str | os.PathLike | None = "photeq.log"
           ) -> PhoteqResult:
    """Equalize each chip's PHOTFLAM (or ``phot_kwd``) to one reference value.

    Parameters
    ----------
    files : str, path-like or list, optional
        Exposures: a name, wildcard (default ``'*_flt.fits'``), comma list,
        ``@list`` file, or a list.
    sciext : str, optional
        EXTNAME of the science extensions (``'PRIMARY'`` for simple images).
    errext : str or None, optional
        EXTNAME of the error arrays scaled like the science data (None: none).
    ref_phot : float, optional
        Reference value; default: the first ``phot_kwd`` found (primary header
        first when ``search_primary``, else the first science extension, of
        the first file that has it).
    ref_phot_ext : int, str or tuple, optional
        Take the reference only from this extension (``3``, ``'sci'`` or
        ``('sci', 2)``) of the inputs; ignored when ``ref_phot`` is given.
    phot_kwd : str, optional
        The inverse-sensitivity keyword defining the conversion factors.
    aux_phot_kwd : str, list of str or None, optional
        Keywords divided by the factor (default ``'PHOTFNU'``; a comma list works).
    search_primary : bool, optional
        Look for ``phot_kwd`` in the primary header first; when found there its
        factor applies to extensions without their own value.
    readonly : bool, optional
        Only report (default); False rewrites the files.
    clobber : bool, optional
        Accepted for compatibility (the original converted GEIS/WAIVER files;
        only multi-extension FITS is supported here).
    logfile : str or path-like or None, optional
        Append the report to this file (default ``'photeq.log'``); None: only
        :mod:`logging`.

    Returns
    -------
    PhoteqResult
        The reference value and every change made (or planned).

    Raises
    ------
    ConfigError
        If a parameter is invalid.
    InputFileError
        If a file cannot be read, ``phot_kwd`` is absent from every candidate
        header, or a photometric value is not a usable number (nothing changed).
    MissingExtensionError
        If ``ref_phot_ext`` or the science extensions do not exist.
    FileUpdateError
        If a file cannot be rewritten (it is then unchanged).

    Examples
    --------
    >>> report = photeq("*_flt.fits", readonly=True, logfile=None)  # doctest: +SKIP
    >>> report.ref_phot  # doctest: +SKIP
    1.5e-19
    """
    from stwcs_ng.fileio import open_fits
    from stwcs_ng.wcsutil._ext import parse_extension, update_input

    del clobber
    if not isinstance(phot_kwd, str) or not phot_kwd.strip():
        raise ConfigError("phot_kwd must be a keyword name")
    phot_kwd = phot_kwd.strip().upper()
    aux = _kw_list(aux_phot_kwd, phot_kwd)
    if not isinstance(sciext, str) or not sciext.strip():
        raise ConfigError("sciext must be an extension name such as 'SCI' or 'PRIMARY'")
    sciname = sciext.strip().upper()
    if errext is not None and not isinstance(errext, str):
        raise ConfigError("errext must be an extension name or None")
    errname = errext.strip().upper() if errext and errext.strip() else None
    user_ref = ref_phot is not None
    if user_ref:
        try:
            ref_value = float(ref_phot)
        except (TypeError, ValueError):
            raise ConfigError(f"ref_phot must be a number, not {ref_phot!r}") from None
        if not np.isfinite(ref_value) or ref_value <= 0:
            raise ConfigError(f"ref_phot must be positive and finite (got {ref_phot!r})")
    with _coords.drizzlepac_errors():
        ref_ext = None if user_ref or ref_phot_ext is None else parse_extension(ref_phot_ext)
    names = _coords.expand_files(files)

    lines: list[str] = []

    def say(msg: str, level: int = logging.INFO) -> None:
        lines.append(msg)
        log.log(level, "%s", msg)

    say(f"***** photeq started on {datetime.now().isoformat(timespec='seconds')}")
    # -- read every header once ------------------------------------------------------------------
    headers: dict[str, list[tuple[tuple[str, int], fits.Header, bool, bool]]] = {}
    for name in names:
        with _coords.drizzlepac_errors(), open_fits(name) as hdul:
            headers[name] = [(_ext_key(h), h.header.copy(), _has_data(h), _is_float(h))
                             for h in hdul]

    def sci_indices(name: str) -> list[int]:
        hdrs = headers[name]
        if sciname == "PRIMARY":
            return [0]
        found = [i for i, (key, *_rest) in enumerate(hdrs) if key[0] == sciname]
        if not found:
            raise MissingExtensionError(f"no {sciname} extension", filename=name)
        return found

    def find_index(name: str, spec) -> int:
        hdrs = headers[name]
        if isinstance(spec, int):
            if spec >= len(hdrs):
                raise MissingExtensionError(f"no extension {spec}", filename=name, extension=spec)
            return spec
        key = (spec, 1) if isinstance(spec, str) else spec
        for i, (k, *_rest) in enumerate(hdrs):
            if k == (key[0].upper(), int(key[1])):
                return i
        raise MissingExtensionError("extension does not exist", filename=name, extension=key)

    # -- reference --------------------------------------------------------------------------------
    ref_loc: tuple[str, int] | None = None
    if user_ref:
        ref_source = "user"
    else:
        ref_value = None
        for name in names:
            candidates = ([find_index(name, ref_ext)] if ref_ext is not None
                          else sci_indices(name))
            if ref_ext is None and search_primary and 0 not in candidates:
                candidates = [0, *candidates]
            for i in candidates:
                hdr = headers[name][i][1]
                if phot_kwd in hdr:
                    ref_value = _number(hdr[phot_kwd], phot_kwd, name, headers[name][i][0])
                    ref_loc = (name, i)
                    break
            if ref_loc:
                break
            say(f"WARNING: {phot_kwd} not found in the candidate headers of {name}",
                logging.WARNING)
        if ref_loc is None:
            raise InputFileError(f"photometry keyword {phot_kwd} is absent from the "
                                 f"{'given extension' if ref_ext is not None else sciname} "
                                 "headers of every input; nothing was changed",
                                 filename=names[0] if len(names) == 1 else None)
        key = headers[ref_loc[0]][ref_loc[1]][0]
        ref_source = f"{ref_loc[0]}[{key[0]},{key[1]}]"
    say(f"PRIMARY PHOTOMETRIC KEYWORD: {phot_kwd}")
    say(f"SECONDARY PHOTOMETRIC KEYWORD(S): {','.join(aux) if aux else 'None'}")
    if user_ref:
        say(f"REFERENCE VALUE PROVIDED BY USER: '{phot_kwd}'={ref_value}")
    else:
        say(f"REFERENCE VALUE FROM FILE: '{ref_source}'")
        say(f"REFERENCE '{phot_kwd}' VALUE IS: {ref_value}")

    # -- plan --------------------------------------------------------------------------------------
    changes: list[Change] = []
    for name in names:
        hdrs = headers[name]
        say(f"Processing file '{name}'")
        pri_conv = None
        index_of = {key: i for i, (key, *_rest) in enumerate(hdrs)}
        if search_primary and phot_kwd in hdrs[0][1]:
            old = _number(hdrs[0][1][phot_kwd], phot_kwd, name, "PRIMARY")
            if ref_loc == (name, 0):
                pri_conv = 1.0
                say(f"   * Primary header: '{phot_kwd}' = {old} is the reference")
            else:
                pri_conv = old / ref_value
                kws = {phot_kwd: (hdrs[0][1][phot_kwd], ref_value)}
                for k in aux:
                    if k in hdrs[0][1]:
                        val = _number(hdrs[0][1][k], k, name, "PRIMARY")
                        kws[k] = (hdrs[0][1][k], val / pri_conv)
                primary_data = sciname == "PRIMARY" and hdrs[0][2]
                err = (errname, 1) if sciname == "PRIMARY" and errname else None
                if err is not None and err not in index_of:
                    say(f"   WARNING: error extension {err} not found", logging.WARNING)
                    err = None
                changes.append(Change(name, ("PRIMARY", 1), pri_conv, kws,
                                      bool(primary_data and hdrs[0][3]), err))
                say(f"   * Primary header: {phot_kwd} {old} -> {ref_value}; factor {pri_conv}")
        if sciname == "PRIMARY":
            continue
        for i in sci_indices(name):
            key, hdr, has_data, is_float = hdrs[i]
            if ref_loc == (name, i):
                say(f"   * EXT: {key} is the reference extension; nothing to do")
                continue
            kws = {}
            if phot_kwd in hdr:
                old = _number(hdr[phot_kwd], phot_kwd, name, key)
                conv = old / ref_value
                kws[phot_kwd] = (hdr[phot_kwd], ref_value)
            elif pri_conv is None:
                say(f"   * EXT: {key}: '{phot_kwd}' not found; skipped")
                continue
            else:
                conv = pri_conv
            for k in aux:
                if k in hdr:
                    kws[k] = (hdr[k], _number(hdr[k], k, name, key) / conv)
            if has_data and not is_float:
                say(f"   WARNING: {key} holds integer data; not rescaled", logging.WARNING)
            err = (errname, key[1]) if errname else None
            if err is not None and (err not in index_of or not hdrs[index_of[err]][3]):
                err = None
            changes.append(Change(name, key, conv, kws, bool(has_data and is_float), err))
            say(f"   * EXT: {key}: {phot_kwd} -> {ref_value}; data and "
                f"{'error array ' if err else ''}multiplied by {conv}")

    # -- apply -------------------------------------------------------------------------------------
    if not readonly:
        by_file: dict[str, list[Change]] = {}
        for ch in changes:
            by_file.setdefault(ch.filename, []).append(ch)
        for name, chs in by_file.items():
            with _coords.drizzlepac_errors(), update_input(name) as (hdul, _, _):
                lookup = {_ext_key(h): i for i, h in enumerate(hdul)}
                for ch in chs:
                    hdu = hdul[lookup[ch.ext]]
                    for k, (_old, new) in ch.keywords.items():
                        hdu.header[k] = new
                    if ch.scale_data and hdu.data is not None:
                        hdu.data = (hdu.data * ch.factor).astype(hdu.data.dtype, copy=False)
                    if ch.err_ext is not None:
                        ehdu = hdul[lookup[ch.err_ext]]
                        if ehdu.data is not None:
                            ehdu.data = (ehdu.data * ch.factor).astype(ehdu.data.dtype,
                                                                       copy=False)
    say("Done.")
    if readonly:
        say("NOTE: photeq was run in READONLY mode and the input files were NOT modified.")
    if logfile is not None and str(logfile).strip():
        try:
            with Path(logfile).open("a", encoding="utf-8") as fh:
                fh.write("\n".join(lines) + "\n")
        except OSError as exc:
            log.warning("cannot write the photeq log file %s (%s)", logfile, exc)
    return PhoteqResult(float(ref_value), ref_source, changes, bool(readonly), lines)
