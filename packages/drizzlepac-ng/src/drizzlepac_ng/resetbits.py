"""resetbits: clear bit flags in the DQ arrays of exposures, in place.

``reset_dq_bits`` replaces the original ``drizzlepac.resetbits.reset_dq_bits``;
the usual use is to clear the cosmic-ray flag (4096) written by a failed or
unwanted CR rejection before running astrodrizzle again.  Each file is
rewritten atomically; every file and extension is checked before the first
one is changed, so an error leaves all inputs byte-identical.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from astropy.nddata.bitmask import interpret_bit_flags

from . import _coords
from .errors import ConfigError, InputFileError, MissingExtensionError

__all__ = ["reset_dq_bits", "parse_bits"]

log = logging.getLogger(__name__)


def parse_bits(bits: Any) -> int:
    """Interpret a bit-flag specification as one integer mask.

    Parameters
    ----------
    bits : int, str or list of int
        ``4096``, ``"4096,8"``, ``"4096+8"``, ``[4096, 8]`` or ``"~4096"`` (every
        bit except 4096), as :func:`astropy.nddata.bitmask.interpret_bit_flags`.

    Returns
    -------
    int

    Raises
    ------
    ConfigError
        If the value is blank or not a valid bit-flag specification.
    """
    if bits is None or (isinstance(bits, str) and not bits.strip()):
        raise ConfigError("bits must be given (e.g. 4096 or '4096,8')")
    try:
        value = interpret_bit_flags(bits)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"invalid bit flags {bits!r} ({exc})") from None
    if value is None:
        raise ConfigError(f"invalid bit flags {bits!r}")
    return int(value)


def _targets(hdul, filename: str, extver: Any, extname: str) -> list[int]:
    name = str(extname).strip().upper()
    if extver is None:
        found = [i for i, h in enumerate(hdul)
                 if str(h.header.get("EXTNAME", "")).strip().upper() == name]
        if not found:
            raise MissingExtensionError(f"no {name} extension", filename=filename)
        return found
    versions = extver if isinstance(extver, (list, tuple)) else [extver]
    out = []
    for v in versions:
        try:
            ver = int(v)
        except (TypeError, ValueError):
            raise ConfigError(f"extver must be an integer or a list of integers, not {v!r}") \
                from None
        match = [i for i, h in enumerate(hdul)
                 if str(h.header.get("EXTNAME", "")).strip().upper() == name
                 and int(h.header.get("EXTVER", 1)) == ver]
        if not match:
            raise MissingExtensionError("extension does not exist", filename=filename,
                                        extension=(name, ver))
        out.append(match[0])
    return out


def _check(hdul, filename: str, indices: list[int]) -> None:
    for i in indices:
        bitpix = int(hdul[i].header.get("BITPIX", 8))
        naxis = int(hdul[i].header.get("NAXIS", 0))
        if naxis and bitpix < 0:
            raise InputFileError("DQ data are floating point; bits cannot be cleared",
                                 filename=filename, extension=i)


def reset_dq_bits(input: Any, bits: Any = 4096, extver: Any = None,
                  extname: str = "dq") -> list[str]:
    """Clear bit flags (``DQ = DQ & ~bits``) in the DQ arrays of exposures, in place.

    Parameters
    ----------
    input : str, path-like or list
        File name(s): a name, wildcard (``'*flt.fits'``), comma-separated list,
        ``@list`` file, or a list of these.
    bits : int, str or list, optional
        The flags to clear (default 4096, the cosmic-ray flag); see
        :func:`parse_bits`.
    extver : int or list of int, optional
        EXTVERs of the DQ extensions to update; None: every ``extname``
        extension of each file (looked up per file).
    extname : str, optional
        EXTNAME of the data-quality extensions (case-insensitive).

    Returns
    -------
    list of str
        The files updated.

    Raises
    ------
    ConfigError
        If ``bits`` or ``extver`` are invalid.
    InputFileError, MissingExtensionError
        If a file cannot be read or lacks a requested extension (nothing is
        changed in any file).
    FileUpdateError
        If a file cannot be rewritten (it is then unchanged).

    Examples
    --------
    >>> reset_dq_bits("j8bt06nyq_flc.fits", bits=4096)  # doctest: +SKIP
    ['j8bt06nyq_flc.fits']
    """
    from stwcs_ng.fileio import open_fits
    from stwcs_ng.wcsutil._ext import update_input

    mask = parse_bits(bits)
    files = _coords.expand_files(input)
    plan = {}
    for name in files:  # validate everything before changing anything
        with _coords.drizzlepac_errors(), open_fits(name) as hdul:
            indices = _targets(hdul, name, extver, extname)
            _check(hdul, name, indices)
        plan[name] = indices
    for name, indices in plan.items():
        with _coords.drizzlepac_errors(), update_input(name) as (hdul, _, _):
            for i in indices:
                data = hdul[i].data
                if data is None:
                    log.debug("%s[%d]: no data array; nothing to reset", name, i)
                    continue
                keep = np.array(~mask, dtype=np.int64).astype(data.dtype, casting="unsafe")
                hdul[i].data = np.bitwise_and(data, keep).astype(data.dtype, copy=False)
                log.info("%s[%s,%s]: reset bit values %d to 0", name,
                         hdul[i].header.get("EXTNAME"), hdul[i].header.get("EXTVER", 1), mask)
    return files
