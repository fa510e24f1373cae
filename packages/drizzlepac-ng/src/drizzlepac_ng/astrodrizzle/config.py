"""Parameters of astrodrizzle: one frozen dataclass per step, plus parsers.

The parameter names, defaults and grouping are those of the original
``astrodrizzle`` task (its ``astrodrizzle.cfg``).  Every name is unique
across sections, so a flat ``name=value`` mapping (the task's keyword
arguments, a TOML file, an original ``.cfg`` file) can be routed to the
right section without the section being named.

Values are coerced and validated when a section is built: a string
``"None"``, ``"True"`` or ``"4.0"`` read from a ``.cfg`` file becomes
``None``, ``True`` or ``4.0``; anything that does not fit raises
:class:`~drizzlepac_ng.errors.ConfigError` naming the parameter (and the
file it came from).

Small helpers live here too: :func:`interpret_bits` (bit-flag strings such as
``"4096,8"`` or ``"~8"``), :func:`good_pixel_mask` and :func:`parse_memory`
(``"2GB"``).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError

__all__ = [
    "GeneralConfig",
    "StateConfig",
    "StaticMaskConfig",
    "SkyConfig",
    "DrizSepConfig",
    "DrizSepWCSConfig",
    "MedianConfig",
    "BlotConfig",
    "DrizCRConfig",
    "FinalConfig",
    "FinalWCSConfig",
    "InstrumentConfig",
    "AstroDrizzleConfig",
    "interpret_bits",
    "bad_bits",
    "good_pixel_mask",
    "parse_memory",
    "parse_float_pair",
    "parse_tile_shape",
    "PARAMETER_SECTIONS",
]

log = logging.getLogger(__name__)

KERNELS = ("square", "point", "turbo", "gaussian", "tophat", "lanczos2", "lanczos3")


# --------------------------------------------------------------------------------------------
# value helpers
# --------------------------------------------------------------------------------------------

def _is_none(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in ("", "none",
                                                                                  "indef"))


def _to_bool(name: str, value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        v = value.strip().lower()
        if v in ("true", "yes", "y", "1", "on"):
            return True
        if v in ("false", "no", "n", "0", "off"):
            return False
    raise ConfigError(f"parameter {name!r} must be True or False, not {value!r}")


def _to_number(name: str, value: Any, kind: type, optional: bool) -> Any:
    if optional and _is_none(value):
        return None
    if isinstance(value, bool):
        raise ConfigError(f"parameter {name!r} must be a number, not {value!r}")
    try:
        if kind is int:
            f = float(value)
            if not f.is_integer():
                raise ValueError
            out: Any = int(f)
        else:
            out = float(value)
    except (TypeError, ValueError):
        what = "an integer" if kind is int else "a number"
        extra = " or None" if optional else ""
        raise ConfigError(f"parameter {name!r} must be {what}{extra}, not {value!r}") from None
    if kind is float and not math.isfinite(out):
        raise ConfigError(f"parameter {name!r} must be finite, not {value!r}")
    return out


def _to_str(name: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value).strip()


def interpret_bits(value: Any, name: str = "bits") -> int | None:
    """Turn a DQ bit-flag specification into the integer of bits to *ignore*.

    Follows the convention of the originals (stsci.tools ``bitfield``): an
    integer sum ("4096"), a list of bit values separated by commas or ``+``
    ("4096,8", "64+32"), or any of these preceded by ``~`` to invert it ("~8":
    every bit except 8 is ignored).

    Parameters
    ----------
    value : int, str or None
        The specification.  ``None``, ``""`` or ``"None"`` gives ``None``.
    name : str, optional
        Parameter name used in error messages.

    Returns
    -------
    int or None
        Bits treated as good (ignored when deciding if a pixel is bad);
        ``None`` means that every pixel is good whatever its DQ value.

    Raises
    ------
    ConfigError
        If a value is not a non-negative integer or is not a power of two in a list.
    """
    if _is_none(value):
        return None
    if isinstance(value, bool):
        raise ConfigError(f"parameter {name!r}: {value!r} is not a bit-flag value")
    if isinstance(value, (int, np.integer)):
        if value < 0:
            raise ConfigError(f"parameter {name!r}: bit flags must be >= 0, not {value}")
        return int(value)
    text = str(value).strip()
    flip = text.startswith("~")
    if flip:
        text = text[1:].strip()
    parts = [p.strip() for p in re.split(r"[,+]", text)]
    if not text or any(not p for p in parts):
        raise ConfigError(f"parameter {name!r}: cannot read bit flags from {value!r}")
    total = 0
    for part in parts:
        if not part.isdigit():
            raise ConfigError(f"parameter {name!r}: {part!r} in {value!r} is not a "
                              "non-negative integer")
        bit = int(part)
        if len(parts) > 1 and bit & (bit - 1):
            raise ConfigError(f"parameter {name!r}: {bit} in {value!r} is not a power of two")
        total |= bit
    if flip:
        total = ~total & 0xFFFFFFFF
    return total


def good_pixel_mask(dq: np.ndarray | None, bits: int | None, shape=None) -> np.ndarray:
    """Boolean mask, True where a pixel is good given the ``bits`` to ignore.

    Parameters
    ----------
    dq : ndarray of int or None
        Data-quality array; ``None`` means every pixel is good.
    bits : int or None
        Bits to ignore (see :func:`interpret_bits`); ``None`` ignores all.
    shape : tuple, optional
        Shape of the result when ``dq`` is None.

    Returns
    -------
    ndarray of bool
    """
    if dq is None:
        return np.ones(shape, dtype=bool)
    if bits is None:
        return np.ones(dq.shape, dtype=bool)
    dq = np.asarray(dq)
    if dq.dtype.kind in "iu":
        # test in the array's own integer type (no int64 copy)
        return (dq & bad_bits(bits, dq.dtype)) == 0
    return (dq.astype(np.int64) & ~np.int64(bits)) == 0


def bad_bits(bits: int, dtype: np.dtype) -> np.ndarray:
    """The DQ bits that make a pixel bad (all but ``bits``), as a 0-d array of the
    native integer type of ``dtype`` (``~bits`` wraps to that type's width)."""
    pattern = np.array(~np.int64(bits) & 0xFFFFFFFF, dtype=np.int64)
    return pattern.astype(np.dtype(dtype).newbyteorder("="))


_MEM_UNITS = {
    "": 1, "b": 1,
    "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9,
    "t": 10**12, "tb": 10**12,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
}


def parse_memory(value: Any, name: str = "memory_limit") -> int | None:
    """Parse a memory size: bytes as a number, or a string such as ``"2GB"`` or ``"512 MiB"``.

    Decimal units (kB, MB, GB, TB) are powers of 1000, binary ones (KiB, MiB,
    GiB, TiB) powers of 1024, as Dask reads them.

    Parameters
    ----------
    value : int, float, str or None
        The size; ``None`` or ``""`` means no limit.
    name : str, optional
        Parameter name used in error messages.

    Returns
    -------
    int or None
        Bytes.

    Raises
    ------
    ConfigError
        If the value cannot be read or is not positive.
    """
    if _is_none(value):
        return None
    if isinstance(value, bool):
        raise ConfigError(f"parameter {name!r} must be a size, not {value!r}")
    if isinstance(value, (int, float, np.integer, np.floating)):
        number, unit = float(value), ""
    else:
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)\s*", str(value))
        if not m or m.group(2).lower() not in _MEM_UNITS:
            raise ConfigError(f"parameter {name!r}: cannot read a memory size from {value!r} "
                              "(examples: 2000000000, '2GB', '512MiB')")
        number, unit = float(m.group(1)), m.group(2).lower()
    nbytes = int(number * _MEM_UNITS[unit])
    if nbytes <= 0:
        raise ConfigError(f"parameter {name!r} must be positive, not {value!r}")
    return nbytes


def parse_tile_shape(value: Any, name: str = "tile_shape") -> tuple[int, int] | None:
    """Read an output tile shape: ``(ny, nx)``, ``"2048 2048"``, ``"2048,1024"`` or one size.

    Parameters
    ----------
    value : None, int, str or sequence
        ``None``/``"None"`` selects the whole-frame run.
    name : str, optional
        Parameter name used in error messages.

    Returns
    -------
    tuple of int or None

    Raises
    ------
    ConfigError
        If the value is not one or two positive integers.
    """
    if _is_none(value):
        return None
    if isinstance(value, bool):
        raise ConfigError(f"parameter {name!r} must be (ny, nx) or None, not {value!r}")
    if isinstance(value, (int, np.integer)):
        items: Any = [value, value]
    elif isinstance(value, str):
        items = [v for v in re.split(r"[\s,x()\[\]]+", value.strip()) if v]
        items = items * 2 if len(items) == 1 else items
    else:
        try:
            items = list(value)
        except TypeError:
            items = []
    try:
        pair = tuple(_to_number(name, v, int, False) for v in items)
    except ConfigError:
        pair = ()
    if len(pair) != 2 or min(pair) < 1:
        raise ConfigError(f"parameter {name!r} must be two positive integers (ny, nx) such "
                          f"as (2048, 2048), or None, not {value!r}")
    return pair  # type: ignore[return-value]


def _to_scheduler(name: str, value: Any) -> Any:
    """None, a scheduler address (str) or a client object (kept as given)."""
    if _is_none(value):
        return None
    if isinstance(value, str):
        return value.strip()
    if hasattr(value, "submit") and hasattr(value, "gather"):
        return value
    raise ConfigError(f"parameter {name!r} must be None, a dask.distributed.Client or an "
                      f"address such as 'tcp://host:8786', not {type(value).__name__}")


def parse_float_pair(value: Any, name: str) -> tuple[float, float]:
    """Read a pair of numbers such as ``"3.5 3.0"`` (driz_cr_snr, combine_nsigma ...).

    Parameters
    ----------
    value : str or sequence
        Two numbers separated by blanks or a comma, or a 2-sequence.
    name : str
        Parameter name used in error messages.

    Returns
    -------
    tuple of float

    Raises
    ------
    ConfigError
        If the value is not two finite numbers.
    """
    items = value if isinstance(value, (list, tuple)) else re.split(r"[\s,]+",
                                                                    str(value).strip())
    try:
        pair = tuple(float(v) for v in items if str(v) != "")
    except (TypeError, ValueError):
        pair = ()
    if len(pair) != 2 or not all(math.isfinite(v) for v in pair):
        raise ConfigError(f"parameter {name!r} must be two numbers such as '3.5 3.0', "
                          f"not {value!r}")
    return pair  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------
# section machinery
# --------------------------------------------------------------------------------------------

def _p(default: Any, kind: str, choices: tuple | None = None, doc: str = "") -> Any:
    """Declare a parameter: default, kind (bool/int/float/optint/optfloat/str/choice/...)."""
    return field(default=default, metadata={"kind": kind, "choices": choices, "doc": doc})


class _Section:
    """Base class: coerce and validate every field at construction."""

    #: Name of the section in the originals' ``.cfg`` (empty: top level).
    cfg_section = ""

    def __post_init__(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            object.__setattr__(self, f.name, self._coerce(f, value))
        self._validate()

    @staticmethod
    def _coerce(f: dataclasses.Field, value: Any) -> Any:
        kind, name = f.metadata["kind"], f.name
        if kind == "bool":
            return _to_bool(name, value)
        if kind in ("int", "optint"):
            return _to_number(name, value, int, kind == "optint")
        if kind in ("float", "optfloat"):
            return _to_number(name, value, float, kind == "optfloat")
        if kind == "str":
            return _to_str(name, value)
        if kind == "bits":
            if _is_none(value):
                return None
            interpret_bits(value, name)
            return value if isinstance(value, int) else str(value).strip()
        if kind == "pair":
            return parse_float_pair(value, name)
        if kind == "memory":
            return parse_memory(value, name)
        if kind == "tileshape":
            return parse_tile_shape(value, name)
        if kind == "scheduler":
            return _to_scheduler(name, value)
        if kind == "fill":  # None/INDEF or a number
            if _is_none(value):
                return None
            return _to_number(name, value, float, True)
        if kind == "choice":
            text = _to_str(name, value).lower()
            choices = f.metadata["choices"]
            if text not in choices:
                raise ConfigError(f"parameter {name!r} must be one of "
                                  f"{', '.join(map(repr, choices))}, not {value!r}")
            return text
        raise AssertionError(kind)  # pragma: no cover

    def _validate(self) -> None:
        """Cross-field checks; overridden by sections that need them."""

    def _check(self, name: str, ok: bool, what: str) -> None:
        if not ok:
            raise ConfigError(f"parameter {name!r} {what}, not {getattr(self, name)!r}")


@dataclass(frozen=True, kw_only=True)
class GeneralConfig(_Section):
    """Top-level parameters (no section in the original .cfg)."""

    input: str = _p("*flt.fits", "str")
    output: str = _p("", "str")
    runfile: str = _p("astrodrizzle.log", "str")
    wcskey: str = _p("", "str")
    proc_unit: str = _p("native", "choice", ("native", "electrons"))
    coeffs: bool = _p(True, "bool")
    context: bool = _p(True, "bool")
    group: str = _p("", "str")
    build: bool = _p(False, "bool")
    crbit: int = _p(4096, "int")
    stepsize: int = _p(10, "int")
    resetbits: Any = _p("4096", "bits")
    num_cores: int | None = _p(None, "optint")
    in_memory: bool = _p(False, "bool")
    rules_file: str = _p("", "str")
    memory_limit: int | None = _p(None, "memory", doc="new: byte budget of median/final")
    updatewcs: bool = _p(False, "bool")
    mdriztab: bool = _p(False, "bool")
    write_intermediates: bool = _p(False, "bool", doc="new: write single/median/blot/crmask")
    quicklook: bool = _p(False, "bool", doc="new: write a PNG quick-look of the product")
    tile_shape: tuple[int, int] | None = _p(
        (2048, 2048), "tileshape",
        doc="new: output tile (ny, nx) of the task graph; None: whole-frame steps (with a "
            "scheduler: the default tiles). Left at its default in-process, a stack that fits "
            "memory runs whole-frame steps (same bits); given in any way, it always tiles")
    scheduler: Any = _p(None, "scheduler", doc="new: None (threads in this process), a "
                                               "dask.distributed Client or an address")

    def _validate(self) -> None:
        c = self.crbit
        self._check("crbit", c >= 0 and (c & (c - 1)) == 0, "must be 0 or a power of two")
        self._check("stepsize", self.stepsize >= 1, "must be >= 1")
        self._check("num_cores", self.num_cores is None or self.num_cores >= 0, "must be >= 0")
        if self.mdriztab:
            raise ConfigError("mdriztab=True (parameters from an MDRIZTAB reference table) is "
                              "not supported: export the table's values to a parameter file")


@dataclass(frozen=True, kw_only=True)
class StateConfig(_Section):
    """State of input files."""

    cfg_section = "STATE OF INPUT FILES"
    restore: bool = _p(False, "bool")
    preserve: bool = _p(True, "bool")
    overwrite: bool = _p(False, "bool")
    clean: bool = _p(False, "bool")


@dataclass(frozen=True, kw_only=True)
class StaticMaskConfig(_Section):
    """Step 1: static mask."""

    cfg_section = "STEP 1: STATIC MASK"
    static: bool = _p(True, "bool")
    static_sig: float = _p(4.0, "float")

    def _validate(self) -> None:
        self._check("static_sig", self.static_sig > 0, "must be > 0")


@dataclass(frozen=True, kw_only=True)
class SkyConfig(_Section):
    """Step 2: sky subtraction."""

    cfg_section = "STEP 2: SKY SUBTRACTION"
    skysub: bool = _p(True, "bool")
    skymethod: str = _p("localmin", "choice", ("localmin", "globalmin", "match",
                                               "globalmin+match"))
    skystat: str = _p("median", "choice", ("median", "mode", "mean"))
    skywidth: float = _p(0.1, "float")
    skylower: float | None = _p(None, "optfloat")
    skyupper: float | None = _p(None, "optfloat")
    skyclip: int = _p(5, "int")
    skylsigma: float = _p(4.0, "float")
    skyusigma: float = _p(4.0, "float")
    skymask_cat: str = _p("", "str")
    use_static: bool = _p(True, "bool")
    sky_bits: Any = _p("0", "bits")
    skyfile: str = _p("", "str")
    skyuser: str = _p("", "str")

    def _validate(self) -> None:
        self._check("skywidth", self.skywidth > 0, "must be > 0")
        self._check("skyclip", self.skyclip >= 0, "must be >= 0")
        self._check("skylsigma", self.skylsigma > 0, "must be > 0")
        self._check("skyusigma", self.skyusigma > 0, "must be > 0")
        if self.skylower is not None and self.skyupper is not None:
            self._check("skyupper", self.skyupper > self.skylower, "must exceed skylower")


@dataclass(frozen=True, kw_only=True)
class DrizSepConfig(_Section):
    """Step 3: drizzle separate images."""

    cfg_section = "STEP 3: DRIZZLE SEPARATE IMAGES"
    driz_separate: bool = _p(True, "bool")
    driz_sep_kernel: str = _p("turbo", "choice", KERNELS)
    driz_sep_wt_scl: str = _p("exptime", "str")
    driz_sep_pixfrac: float = _p(1.0, "float")
    driz_sep_fillval: float | None = _p(None, "fill")
    driz_sep_bits: Any = _p("0", "bits")
    driz_sep_compress: bool = _p(False, "bool")

    def _validate(self) -> None:
        self._check("driz_sep_pixfrac", 0 < self.driz_sep_pixfrac <= 10, "must be in (0, 10]")
        _check_wt_scl("driz_sep_wt_scl", self.driz_sep_wt_scl)


def _check_wt_scl(name: str, value: str) -> None:
    if value.lower() in ("exptime", "expsq", ""):
        return
    try:
        float(value)
    except ValueError:
        raise ConfigError(f"parameter {name!r} must be 'exptime', 'expsq' or a number, "
                          f"not {value!r}") from None


class _WCSSection(_Section):
    prefix = ""

    def _validate(self) -> None:
        p = self.prefix
        scale = getattr(self, f"{p}_scale")
        self._check(f"{p}_scale", scale is None or scale > 0, "must be > 0")
        for axis in ("outnx", "outny"):
            n = getattr(self, f"{p}_{axis}")
            self._check(f"{p}_{axis}", n is None or n >= 1, "must be >= 1")
        dec = getattr(self, f"{p}_dec")
        self._check(f"{p}_dec", dec is None or -90 <= dec <= 90, "must be within [-90, 90]")
        if (getattr(self, f"{p}_ra") is None) != (dec is None):
            raise ConfigError(f"parameters '{p}_ra' and '{p}_dec' must be given together")

    def overrides(self) -> dict[str, Any]:
        """The WCS overrides as ``{rot, scale, outnx, outny, ra, dec, crpix1, crpix2}``."""
        p = self.prefix
        keys = ("rot", "scale", "outnx", "outny", "ra", "dec", "crpix1", "crpix2")
        return {k: getattr(self, f"{p}_{k}") for k in keys}


@dataclass(frozen=True, kw_only=True)
class DrizSepWCSConfig(_WCSSection):
    """Step 3a: custom WCS for separate outputs."""

    cfg_section = "STEP 3a: CUSTOM WCS FOR SEPARATE OUTPUTS"
    prefix = "driz_sep"
    driz_sep_wcs: bool = _p(False, "bool")
    driz_sep_refimage: str = _p("", "str")
    driz_sep_rot: float | None = _p(None, "optfloat")
    driz_sep_scale: float | None = _p(None, "optfloat")
    driz_sep_outnx: int | None = _p(None, "optint")
    driz_sep_outny: int | None = _p(None, "optint")
    driz_sep_ra: float | None = _p(None, "optfloat")
    driz_sep_dec: float | None = _p(None, "optfloat")
    driz_sep_crpix1: float | None = _p(None, "optfloat")
    driz_sep_crpix2: float | None = _p(None, "optfloat")


@dataclass(frozen=True, kw_only=True)
class MedianConfig(_Section):
    """Step 4: create median image."""

    cfg_section = "STEP 4: CREATE MEDIAN IMAGE"
    median: bool = _p(True, "bool")
    median_newmasks: bool = _p(True, "bool")
    combine_maskpt: float = _p(0.3, "float")
    combine_type: str = _p("minmed", "choice", ("minmed", "iminmed", "median", "mean",
                                                "imedian", "imean", "sum"))
    combine_nsigma: tuple[float, float] = _p("4 3", "pair")
    combine_nlow: int = _p(0, "int")
    combine_nhigh: int = _p(0, "int")
    combine_lthresh: float | None = _p(None, "optfloat")
    combine_hthresh: float | None = _p(None, "optfloat")
    combine_grow: int = _p(1, "int")
    combine_bufsize: float | None = _p(None, "optfloat")

    def _validate(self) -> None:
        self._check("combine_maskpt", 0 <= self.combine_maskpt <= 1, "must be within [0, 1]")
        self._check("combine_nlow", self.combine_nlow >= 0, "must be >= 0")
        self._check("combine_nhigh", self.combine_nhigh >= 0, "must be >= 0")
        self._check("combine_grow", self.combine_grow >= 0, "must be >= 0")
        self._check("combine_bufsize", self.combine_bufsize is None or self.combine_bufsize > 0,
                    "must be > 0 (MB)")
        self._check("combine_nsigma", all(s > 0 for s in self.combine_nsigma),
                    "must be two positive numbers")


@dataclass(frozen=True, kw_only=True)
class BlotConfig(_Section):
    """Step 5: blot back the median image."""

    cfg_section = "STEP 5: BLOT BACK THE MEDIAN IMAGE"
    blot: bool = _p(True, "bool")
    blot_interp: str = _p("poly5", "choice", ("poly5", "nearest", "linear", "poly3", "sinc",
                                              "lan3", "lan5"))
    blot_sinscl: float = _p(1.0, "float")
    blot_addsky: bool = _p(True, "bool")
    blot_skyval: float = _p(0.0, "float")


@dataclass(frozen=True, kw_only=True)
class DrizCRConfig(_Section):
    """Step 6: remove cosmic rays with deriv, driz_cr."""

    cfg_section = "STEP 6: REMOVE COSMIC RAYS WITH DERIV, DRIZ_CR"
    driz_cr: bool = _p(True, "bool")
    driz_cr_corr: bool = _p(False, "bool")
    driz_cr_snr: tuple[float, float] = _p("3.5 3.0", "pair")
    driz_cr_grow: int = _p(1, "int")
    driz_cr_ctegrow: int = _p(0, "int")
    driz_cr_ctedir: int | None = _p(None, "optint", doc="new: CTE trail direction along y")
    driz_cr_scale: tuple[float, float] = _p("1.2 0.7", "pair")
    driz_cr_mask: bool = _p(False, "bool", doc="new: True keeps CR flags out of input DQ")

    def _validate(self) -> None:
        self._check("driz_cr_grow", self.driz_cr_grow >= 0, "must be >= 0")
        self._check("driz_cr_ctegrow", self.driz_cr_ctegrow >= 0, "must be >= 0")
        self._check("driz_cr_ctedir", self.driz_cr_ctedir in (None, -1, 0, 1),
                    "must be -1, 0, 1 or None")
        self._check("driz_cr_snr", all(s > 0 for s in self.driz_cr_snr), "must be positive")
        self._check("driz_cr_scale", all(s >= 0 for s in self.driz_cr_scale),
                    "must be non-negative")


@dataclass(frozen=True, kw_only=True)
class FinalConfig(_Section):
    """Step 7: drizzle final combined image."""

    cfg_section = "STEP 7: DRIZZLE FINAL COMBINED IMAGE"
    driz_combine: bool = _p(True, "bool")
    final_wht_type: str = _p("EXP", "str")
    final_kernel: str = _p("square", "choice", KERNELS)
    final_wt_scl: str = _p("exptime", "str")
    final_pixfrac: float = _p(1.0, "float")
    final_fillval: float | None = _p(None, "fill")
    final_maskval: float | None = _p(None, "fill")
    final_bits: Any = _p("0", "bits")
    final_units: str = _p("cps", "choice", ("cps", "counts"))

    def __post_init__(self) -> None:
        object.__setattr__(self, "final_wht_type", str(self.final_wht_type).strip().upper())
        super().__post_init__()

    def _validate(self) -> None:
        self._check("final_wht_type", self.final_wht_type in ("EXP", "ERR", "IVM"),
                    "must be one of 'EXP', 'ERR', 'IVM'")
        self._check("final_pixfrac", 0 < self.final_pixfrac <= 10, "must be in (0, 10]")
        _check_wt_scl("final_wt_scl", self.final_wt_scl)


@dataclass(frozen=True, kw_only=True)
class FinalWCSConfig(_WCSSection):
    """Step 7a: custom WCS for final output."""

    cfg_section = "STEP 7a: CUSTOM WCS FOR FINAL OUTPUT"
    prefix = "final"
    final_wcs: bool = _p(False, "bool")
    final_refimage: str = _p("", "str")
    final_rot: float | None = _p(None, "optfloat")
    final_scale: float | None = _p(None, "optfloat")
    final_outnx: int | None = _p(None, "optint")
    final_outny: int | None = _p(None, "optint")
    final_ra: float | None = _p(None, "optfloat")
    final_dec: float | None = _p(None, "optfloat")
    final_crpix1: float | None = _p(None, "optfloat")
    final_crpix2: float | None = _p(None, "optfloat")


@dataclass(frozen=True, kw_only=True)
class InstrumentConfig(_Section):
    """Instrument parameters (gain, read noise, exposure time overrides)."""

    cfg_section = "INSTRUMENT PARAMETERS"
    gain: str = _p("", "str")
    gnkeyword: str = _p("", "str")
    rdnoise: str = _p("", "str")
    rnkeyword: str = _p("", "str")
    exptime: str = _p("", "str")
    expkeyword: str = _p("", "str")

    def _validate(self) -> None:
        for value, keyword in (("gain", "gnkeyword"), ("rdnoise", "rnkeyword"),
                               ("exptime", "expkeyword")):
            if getattr(self, value) and getattr(self, keyword):
                raise ConfigError(f"parameters {value!r} and {keyword!r} cannot both be given")
            if getattr(self, value):
                self.values(value)

    def values(self, name: str) -> float | None:
        """Average of the comma-separated numbers given for ``name`` (None when blank)."""
        text = getattr(self, name)
        if not text:
            return None
        try:
            nums = [float(v) for v in re.split(r"[\s,]+", text) if v]
        except ValueError:
            raise ConfigError(f"parameter {name!r} must be numbers, not {text!r}") from None
        if not nums:
            return None
        return float(np.mean(nums))

    def keywords(self, name: str) -> list[str]:
        """The header keywords listed in ``gnkeyword``/``rnkeyword``/``expkeyword``."""
        return [k.upper() for k in re.split(r"[\s,]+", getattr(self, name)) if k]


#: Section attribute of :class:`AstroDrizzleConfig` -> section class.
_SECTIONS: dict[str, type[_Section]] = {
    "general": GeneralConfig,
    "state": StateConfig,
    "static": StaticMaskConfig,
    "sky": SkyConfig,
    "driz_sep": DrizSepConfig,
    "driz_sep_wcs": DrizSepWCSConfig,
    "median": MedianConfig,
    "blot": BlotConfig,
    "driz_cr": DrizCRConfig,
    "final": FinalConfig,
    "final_wcs": FinalWCSConfig,
    "instrument": InstrumentConfig,
}

#: Flat parameter name -> section attribute.
PARAMETER_SECTIONS: dict[str, str] = {
    f.name: sec for sec, cls in _SECTIONS.items() for f in fields(cls)  # type: ignore[arg-type]
}

_CFG_SECTION_NAMES = {cls.cfg_section.lower(): sec for sec, cls in _SECTIONS.items()
                      if cls.cfg_section}


@dataclass(frozen=True, kw_only=True)
class AstroDrizzleConfig:
    """All astrodrizzle parameters, grouped by step.

    Build it with :meth:`resolve` (defaults, then a configuration file, then
    keyword overrides), which also records where each value came from.

    Attributes
    ----------
    sources : dict
        Parameter name -> where its value came from (``"default"``,
        ``"file <name> [section]"``, ``"argument"``, ``"implied by ..."``).
    """

    general: GeneralConfig = field(default_factory=GeneralConfig)
    state: StateConfig = field(default_factory=StateConfig)
    static: StaticMaskConfig = field(default_factory=StaticMaskConfig)
    sky: SkyConfig = field(default_factory=SkyConfig)
    driz_sep: DrizSepConfig = field(default_factory=DrizSepConfig)
    driz_sep_wcs: DrizSepWCSConfig = field(default_factory=DrizSepWCSConfig)
    median: MedianConfig = field(default_factory=MedianConfig)
    blot: BlotConfig = field(default_factory=BlotConfig)
    driz_cr: DrizCRConfig = field(default_factory=DrizCRConfig)
    final: FinalConfig = field(default_factory=FinalConfig)
    final_wcs: FinalWCSConfig = field(default_factory=FinalWCSConfig)
    instrument: InstrumentConfig = field(default_factory=InstrumentConfig)
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def from_flat(cls, params: Mapping[str, Any], sources: Mapping[str, str] | None = None,
                  *, filename: str | None = None) -> AstroDrizzleConfig:
        """Build from flat ``name=value`` pairs (unknown names raise ConfigError)."""
        per_section: dict[str, dict[str, Any]] = {sec: {} for sec in _SECTIONS}
        for name, value in params.items():
            sec = PARAMETER_SECTIONS.get(name)
            if sec is None:
                raise ConfigError(f"unknown astrodrizzle parameter {name!r}"
                                  + _suggest(name), filename=filename)
            per_section[sec][name] = value
        src = {name: "default" for name in PARAMETER_SECTIONS}
        src.update(sources or {name: "argument" for name in params})
        built = {}
        for sec, cls_ in _SECTIONS.items():
            try:
                built[sec] = cls_(**per_section[sec])
            except ConfigError as exc:
                if filename and not exc.filename:
                    raise ConfigError(exc.reason, filename=filename) from None
                raise
        return cls(**built, sources=src)

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> AstroDrizzleConfig:
        """Read a TOML parameter file.

        Keys are the flat parameter names, either at the top level or inside
        any table (``[sky]``, ``[median]``, ``[astrodrizzle]`` ...); TOML has no
        null, so write ``"None"`` (or leave the key out) for None.

        Parameters
        ----------
        path : str or path-like
            The TOML file.

        Returns
        -------
        AstroDrizzleConfig

        Raises
        ------
        ConfigError
            If the file cannot be read, is not TOML, or holds an unknown or invalid value.
        """
        params, sources = read_toml(path)
        return cls.from_flat(params, sources, filename=str(path))

    @classmethod
    def from_original_cfg(cls, path: str | os.PathLike) -> AstroDrizzleConfig:
        """Import a parameter file of the original astrodrizzle (ConfigObj ``.cfg``).

        Parameters
        ----------
        path : str or path-like
            An ``astrodrizzle.cfg`` file as written by TEAL or shipped with
            drizzlepac.

        Returns
        -------
        AstroDrizzleConfig

        Raises
        ------
        ConfigError
            If the file cannot be read or holds an unknown or invalid value.
        """
        params, sources = read_original_cfg(path)
        return cls.from_flat(params, sources, filename=str(path))

    @classmethod
    def resolve(cls, configobj: Any = None, overrides: Mapping[str, Any] | None = None
                ) -> AstroDrizzleConfig:
        """Defaults, then ``configobj``, then ``overrides``; sources are recorded.

        Parameters
        ----------
        configobj : None, str, path-like, Mapping or AstroDrizzleConfig
            ``None``: package defaults.  A path ending in ``.toml`` is read with
            :meth:`from_toml`, any other path with :meth:`from_original_cfg`.  A
            mapping holds flat names (nested section mappings are flattened).
            ``"defaults"`` (the originals' saved-TEAL file) is refused: there is
            no hidden per-user configuration.
        overrides : Mapping, optional
            Flat parameter names and values (the task's keyword arguments).
            Giving any ``final_*`` (``driz_sep_*``) WCS parameter switches
            ``final_wcs`` (``driz_sep_wcs``) on, as in the original.

        Returns
        -------
        AstroDrizzleConfig

        Raises
        ------
        ConfigError
            On unknown names or invalid values.
        """
        params: dict[str, Any] = {}
        sources: dict[str, str] = {}
        if isinstance(configobj, AstroDrizzleConfig):
            params = configobj.to_flat()
            sources = dict(configobj.sources)
        elif isinstance(configobj, Mapping):
            params = _flatten(configobj)
            sources = {k: "configobj mapping" for k in params}
        elif isinstance(configobj, (str, os.PathLike)):
            if str(configobj).strip().lower() == "defaults":
                raise ConfigError("configobj='defaults' (a saved per-user TEAL file) is not "
                                  "supported: pass a parameter file path instead")
            if Path(configobj).suffix.lower() == ".toml":
                params, sources = read_toml(configobj)
            else:
                params, sources = read_original_cfg(configobj)
        elif configobj is not None:
            raise ConfigError(f"configobj must be None, a file name, a mapping or an "
                              f"AstroDrizzleConfig, not {type(configobj).__name__}")
        overrides = dict(overrides or {})
        for prefix in ("final", "driz_sep"):
            switch = f"{prefix}_wcs"
            wcs_names = [f"{prefix}_{k}" for k in ("refimage", "rot", "scale", "outnx", "outny",
                                                   "ra", "dec", "crpix1", "crpix2")]
            given = [n for n in wcs_names if n in overrides and not _is_none(overrides[n])]
            if given and switch not in overrides:
                overrides[switch] = True
                sources[switch] = f"implied by {given[0]}"
        params.update(overrides)
        sources.update({k: "argument" for k in overrides if k not in sources
                        or not sources[k].startswith("implied")})
        filename = str(configobj) if isinstance(configobj, (str, os.PathLike)) else None
        return cls.from_flat(params, sources, filename=filename)

    # ---- views ------------------------------------------------------------------------------
    def to_flat(self) -> dict[str, Any]:
        """Every parameter by its flat name."""
        return {f.name: getattr(getattr(self, sec), f.name)
                for sec in _SECTIONS for f in fields(getattr(self, sec))}

    def replace(self, **flat: Any) -> AstroDrizzleConfig:
        """A copy with some flat parameters changed (recorded with source ``"pipeline"``)."""
        per: dict[str, dict[str, Any]] = {}
        for name, value in flat.items():
            if name not in PARAMETER_SECTIONS:
                raise ConfigError(f"unknown astrodrizzle parameter {name!r}")
            per.setdefault(PARAMETER_SECTIONS[name], {})[name] = value
        new = {sec: dataclasses.replace(getattr(self, sec), **vals) for sec, vals in per.items()}
        sources = dict(self.sources)
        sources.update({k: "pipeline" for k in flat})
        return dataclasses.replace(self, **new, sources=sources)

    def describe(self) -> list[str]:
        """One line per parameter: ``section.name = value  (source)``."""
        lines = []
        for sec in _SECTIONS:
            for f in fields(getattr(self, sec)):
                value = getattr(getattr(self, sec), f.name)
                lines.append(f"{f.name} = {value!r}  ({self.sources.get(f.name, 'default')})")
        return lines


def _suggest(name: str) -> str:
    import difflib

    close = difflib.get_close_matches(name, PARAMETER_SECTIONS, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _flatten(mapping: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        if isinstance(value, Mapping):
            out.update(_flatten(value))
        elif not str(key).startswith("_"):
            out[str(key)] = value
    return out


def read_toml(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, str]]:
    """Read a TOML parameter file into flat parameters and their sources."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"cannot read parameter file ({exc.strerror})",
                          filename=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML ({exc})", filename=str(path)) from None
    params: dict[str, Any] = {}
    sources: dict[str, str] = {}

    def walk(table: Mapping[str, Any], where: str) -> None:
        for key, value in table.items():
            if isinstance(value, Mapping):
                walk(value, key)
                continue
            if key in params:
                raise ConfigError(f"parameter {key!r} is given twice", filename=str(path))
            params[key] = value
            sources[key] = f"file {Path(path).name}" + (f" [{where}]" if where else "")

    walk(data, "")
    return params, sources


_CFG_LINE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


def _cfg_value(raw: str) -> str:
    """Strip quotes and trailing comments from a ConfigObj value."""
    raw = raw.strip()
    if raw[:1] in ("'", '"'):
        quote = raw[0]
        end = raw.find(quote, 1)
        if end == -1:
            raise ValueError(f"unterminated quote in {raw!r}")
        return raw[1:end]
    return raw.split("#", 1)[0].strip()


def read_original_cfg(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, str]]:
    """Read an original astrodrizzle ``.cfg`` (ConfigObj format) into flat parameters.

    ``_task_name_`` and other ``_private_`` keys are skipped; a ``_task_name_``
    other than astrodrizzle raises.  Sections are recognised by their step
    names; keys are routed by name, so a key under an unexpected section is
    still accepted (and the section recorded as its source).
    """
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ConfigError(f"cannot read parameter file ({exc.strerror})",
                          filename=str(path)) from None
    params: dict[str, Any] = {}
    sources: dict[str, str] = {}
    section = ""
    for lineno, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("["):
            m = re.fullmatch(r"\[+\s*([^\]]*?)\s*\]+", stripped)
            if not m:
                raise ConfigError(f"line {lineno}: cannot read section header {stripped!r}",
                                  filename=str(path))
            section = m.group(1)
            continue
        if section.startswith("_"):  # [_RULES_] and other TEAL-private sections
            continue
        m = _CFG_LINE.match(line)
        if not m:
            raise ConfigError(f"line {lineno}: expected 'name = value', got {stripped!r}",
                              filename=str(path))
        key = m.group(1)
        try:
            value = _cfg_value(m.group(2))
        except ValueError as exc:
            raise ConfigError(f"line {lineno}: {exc}", filename=str(path)) from None
        if key == "_task_name_":
            if value.lower() != "astrodrizzle":
                raise ConfigError(f"this is a parameter file for task {value!r}, "
                                  "not astrodrizzle", filename=str(path))
            continue
        if key.startswith("_"):
            continue
        if key not in PARAMETER_SECTIONS:
            raise ConfigError(f"line {lineno}: unknown astrodrizzle parameter {key!r}"
                              + _suggest(key), filename=str(path))
        params[key] = value
        sources[key] = f"file {Path(path).name}" + (f" [{section}]" if section else "")
    return params, sources
