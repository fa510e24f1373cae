"""pixreplace: replace pixels equal to a value (NaN by default) in image extensions, in place.

``replace`` replaces the original ``drizzlepac.pixreplace.replace``; each file
is rewritten atomically, and only when something was replaced.  Every file
and extension is checked before the first one is changed.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
from astropy.io import fits

from . import _coords
from .errors import ConfigError, InputFileError

__all__ = ["replace"]

log = logging.getLogger(__name__)


def _as_float(value: Any, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{what} must be a number, not {value!r}") from None


def _select(hdul: fits.HDUList, ext: Any, filename: str) -> list[int]:
    from stwcs_ng.errors import StwcsError
    from stwcs_ng.wcsutil._ext import extension_indices

    if ext is None or (isinstance(ext, str) and ext.strip() in ("", "None")):
        return [i for i, h in enumerate(hdul) if h.is_image and h.header.get("NAXIS", 0)]
    items = ext if isinstance(ext, list) else [ext]
    out: list[int] = []
    try:
        for item in items:
            out.extend(extension_indices(hdul, item, filename=filename))
    except StwcsError as exc:
        raise InputFileError(exc.reason, filename=filename, extension=exc.extension) from exc
    return sorted(set(out))


def replace(input: Any, pixvalue: Any = math.nan, newvalue: Any = 0.0, ext: Any = None,
            **pars: Any) -> dict[str, int]:
    """Replace pixels equal to ``pixvalue`` (NaN by default) with ``newvalue``, in place.

    Parameters
    ----------
    input : str, path-like or list
        File name(s): a name, wildcard, comma-separated list, ``@list`` file
        or a list of these.
    pixvalue : float, optional
        The value to replace; NaN (default; None also means NaN) matches
        every NaN pixel, other values match exactly.
    newvalue : float, optional
        The replacement (default 0.0).
    ext : int, str, tuple or list, optional
        Extensions to process: None (every image HDU with data), an HDU
        index, ``('SCI', 2)``/``'sci,2'``, an EXTNAME (every extension of that
        name), or a list of these.
    **pars
        Anything else is rejected with :class:`ConfigError` (the original
        took every parameter through ``**pars``; ``replace(f, **pars)`` with
        those names still works).

    Returns
    -------
    dict
        File name -> number of pixels replaced (files with 0 are not rewritten).

    Raises
    ------
    ConfigError
        If a value is not a number, an unknown parameter is given, or
        ``newvalue`` cannot be stored in an integer array.
    InputFileError
        If a file cannot be read or a requested extension is missing (no file
        is changed).
    FileUpdateError
        If a file cannot be rewritten (it is then unchanged).

    Examples
    --------
    >>> replace("j8bt06nyq_flc.fits", newvalue=0.0, ext=["sci,1", "sci,2"])  # doctest: +SKIP
    {'j8bt06nyq_flc.fits': 12}
    """
    from stwcs_ng.fileio import open_fits
    from stwcs_ng.wcsutil._ext import update_input

    if pars:
        raise ConfigError(f"unknown parameter(s) {sorted(pars)}; expected pixvalue, newvalue, "
                          "ext")
    old = math.nan if pixvalue is None else _as_float(pixvalue, "pixvalue")
    new = _as_float(newvalue, "newvalue")
    files = _coords.expand_files(input)
    plan: dict[str, list[int]] = {}
    counts: dict[str, int] = {}
    for name in files:
        with _coords.drizzlepac_errors(), open_fits(name) as hdul:
            indices = [i for i in _select(hdul, ext, name)
                       if hdul[i].is_image and hdul[i].data is not None]
            total = 0
            for i in indices:
                data = hdul[i].data
                hit = np.isnan(data) if math.isnan(old) and data.dtype.kind == "f" else (
                    np.zeros(data.shape, bool) if math.isnan(old) else data == old)
                n = int(np.count_nonzero(hit))
                if n and data.dtype.kind in "iu" and not (math.isfinite(new) and new == int(new)
                                                          and _fits(data.dtype, new)):
                    raise ConfigError(f"newvalue {new} cannot be stored in the {data.dtype} "
                                      f"array of {name}[{i}]")
                total += n
        plan[name] = indices
        counts[name] = total
    for name, indices in plan.items():
        if not counts[name]:
            log.info("%s: no pixel equal to %s; file not changed", name, old)
            continue
        with _coords.drizzlepac_errors(), update_input(name) as (hdul, _, _):
            for i in indices:
                data = hdul[i].data
                hit = np.isnan(data) if math.isnan(old) and data.dtype.kind == "f" else (
                    None if math.isnan(old) else data == old)
                if hit is None or not hit.any():
                    continue
                data[hit] = new
                log.info("Converting %s[%s,%s] value of %s to %s (%d pixels)", name,
                         hdul[i].name, hdul[i].ver, old, new, int(hit.sum()))
    return counts


def _fits(dtype: np.dtype, value: float) -> bool:
    info = np.iinfo(dtype)
    return info.min <= value <= info.max
