"""Input handling of astrodrizzle: file lists and reading exposures (read-only).

:func:`expand_input` turns the ``input`` parameter (a file name, a list, a
comma-separated string, a wildcard, an ``@listfile`` or an ``_asn.fits``
association table) into file names.  :func:`load_exposures` reads them into
:class:`Exposure` / :class:`Chip` objects, checking everything the pipeline
needs, with errors that name the file: missing SCI/DQ extensions, zero or
negative exposure time, mixed instruments, unreadable or corrupt files.
Input files are opened read-only and never modified here.
"""

from __future__ import annotations

import glob
import logging
import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

from ..errors import ConfigError, InputFileError, MissingExtensionError
from .config import InstrumentConfig, bad_bits

__all__ = ["Chip", "ChipArrays", "Exposure", "expand_input", "load_exposures", "rootname_of",
           "read_asn_product"]

log = logging.getLogger(__name__)


class ChipArrays:
    """Pixel arrays of one chip: SCI (float32), DQ (or None) and ERR (or None).

    ERR is read from the file on first access when ``err_loader`` is given
    (only the ``final_wht_type='ERR'`` weighting needs it).

    Parameters
    ----------
    data : ndarray
        SCI array.
    dq : ndarray or None
        DQ array.
    err : ndarray or None, optional
        ERR array.
    err_loader : callable, optional
        Returns the ERR array; called once, on first access of :attr:`err`.
    """

    __slots__ = ("data", "dq", "_err", "_err_loader")

    def __init__(self, data: np.ndarray, dq: np.ndarray | None, err: np.ndarray | None = None,
                 *, err_loader=None) -> None:
        self.data = data
        self.dq = dq
        self._err = err
        self._err_loader = err_loader if err is None else None

    @property
    def err(self) -> np.ndarray | None:
        """ERR array (float32) or None."""
        if self._err is None and self._err_loader is not None:
            self._err = self._err_loader()
            self._err_loader = None
        return self._err


@dataclass
class Chip:
    """One science chip of an exposure.

    Attributes
    ----------
    filename : str
        File it comes from.
    extver : int
        EXTVER of its SCI extension.
    shape : (int, int)
        (ny, nx) of the SCI array.
    has_dq, has_err : bool
        Whether DQ / ERR extensions exist (read with :meth:`arrays`).
    wcs : astropy.wcs.WCS
        Full WCS (SIP, NPOL, D2IM) of the chip.
    header : astropy.io.fits.Header
        SCI header.
    dq_header, err_header : astropy.io.fits.Header or None
        Headers of the DQ and ERR extensions.
    gain, readnoise : float
        Detector gain (e-/DN) and read noise (e-).
    ccdchip : int
        CCDCHIP keyword (or EXTVER when absent).
    sky : float
        Sky level in native units (set by the sky step).
    """

    filename: str
    extver: int
    shape: tuple[int, int]
    has_dq: bool
    has_err: bool
    wcs: WCS
    header: fits.Header
    dq_header: fits.Header | None
    err_header: fits.Header | None
    gain: float
    readnoise: float
    ccdchip: int
    exptime: float
    bunit: str
    resetbits: int | None = None
    sky: float = 0.0
    keep_in_memory: bool = False
    _cache: ChipArrays | None = field(default=None, repr=False)
    _layout: dict | None = field(default=None, repr=False)

    def _fast_read(self) -> ChipArrays | None:
        """Read the arrays at their recorded file offsets (no header parsing)."""
        def read(name, dtype_out=None):
            # one pass from the page cache: the file's bytes are mapped and converted
            # (byte order, type) straight into a new native array
            lay = self._layout.get(name)
            if lay is None:
                return None
            offset, dtype, shape = lay
            mapped = np.memmap(self.filename, dtype=dtype, mode="r", offset=offset,
                               shape=shape)
            try:
                return np.array(mapped, dtype=dtype_out or mapped.dtype.newbyteorder("="))
            finally:
                del mapped

        data = read("SCI", np.float32)
        if data is None:
            return None
        dq = read("DQ") if self.has_dq else None
        if self.has_dq and dq is None:
            return None
        if dq is not None:
            if self.resetbits:
                dq &= bad_bits(self.resetbits, dq.dtype)
        if not self.has_err or "ERR" not in self._layout:
            return ChipArrays(data, dq, None) if not self.has_err else None

        def load_err() -> np.ndarray:
            try:
                return read("ERR", np.float32)
            except (OSError, ValueError) as exc:
                raise InputFileError(f"cannot read the ERR array any more ({exc})",
                                     filename=self.filename,
                                     extension=("err", self.extver)) from None

        return ChipArrays(data, dq, err_loader=load_err)

    def arrays(self) -> ChipArrays:
        """Read SCI (float32), DQ (resetbits cleared) and ERR from the file.

        Nothing is kept after the call unless ``keep_in_memory`` is set, so
        a run over many large exposures holds only the chips it works on.
        """
        if self._cache is not None:
            return self._cache
        if self._layout is not None:
            try:
                out = self._fast_read()
            except (OSError, ValueError):
                out = None
            if out is not None:
                if self.keep_in_memory:
                    self._cache = out
                return out
        # validated by load_exposures already: a plain read is enough here
        try:
            hdul = fits.open(self.filename, memmap=False)
        except OSError as exc:
            raise InputFileError(f"cannot be read any more ({exc})",
                                 filename=self.filename) from None
        with hdul:
            data = np.array(hdul["SCI", self.extver].data, dtype=np.float32)
            dq = np.array(hdul["DQ", self.extver].data) if self.has_dq else None
            err = (np.array(hdul["ERR", self.extver].data, dtype=np.float32)
                   if self.has_err else None)
        if dq is not None and self.resetbits:
            dq = (dq.astype(np.int64) & ~np.int64(self.resetbits)).astype(dq.dtype)
        out = ChipArrays(data, dq, err)
        if self.keep_in_memory:
            self._cache = out
        return out

    @property
    def label(self) -> str:
        """``file.fits[sci,1]``."""
        return f"{Path(self.filename).name}[sci,{self.extver}]"

    @property
    def in_electrons(self) -> bool:
        """True when BUNIT says the data are electrons (or electrons/s)."""
        return "ELECTRON" in self.bunit.upper()

    @property
    def is_rate(self) -> bool:
        """True when BUNIT is a rate (``.../S``)."""
        return self.bunit.upper().replace(" ", "").endswith("/S")

    @property
    def effective_gain(self) -> float:
        """Electrons per data unit: 1 for data in electrons, else the gain."""
        return 1.0 if self.in_electrons else self.gain

    @property
    def tag(self) -> str:
        """Chip tag of the original's file names (``sci1``)."""
        return f"sci{self.extver}"


@dataclass
class Exposure:
    """One input file (exposure) with its chips."""

    filename: str
    rootname: str
    instrument: str
    detector: str
    exptime: float
    primary: fits.Header
    chips: list[Chip] = field(default_factory=list)

    @property
    def suffix(self) -> str:
        """``flc``, ``flt`` ... (the part after the last underscore of the name)."""
        stem = Path(self.filename).name.split(".")[0]
        return stem.rsplit("_", 1)[-1].lower() if "_" in stem else ""


def rootname_of(filename: str) -> str:
    """Input rootname: the file name without its ``_suffix.fits`` part."""
    stem = Path(filename).name
    for ext in (".fits.gz", ".fits", ".fit", ".fts"):
        if stem.lower().endswith(ext):
            stem = stem[: -len(ext)]
            break
    return stem.rsplit("_", 1)[0] if "_" in stem else stem


def _asn_members(path: str) -> tuple[list[str], str | None]:
    try:
        with fits.open(path) as hdul:
            table = hdul[1].data
            names = [str(n).strip() for n in table["MEMNAME"]]
            types = [str(t).strip().upper() for t in table["MEMTYPE"]]
    except (OSError, KeyError, IndexError, TypeError, ValueError) as exc:
        raise InputFileError(f"cannot read association table ({exc})", filename=path) from None
    folder = Path(path).parent
    members, product = [], None
    for name, kind in zip(names, types, strict=True):
        if kind.startswith("PROD"):
            product = product or name.lower()
        elif kind.startswith("EXP"):
            for suffix in ("flc", "flt"):
                candidate = folder / f"{name.lower()}_{suffix}.fits"
                if candidate.exists():
                    members.append(str(candidate))
                    break
            else:
                raise InputFileError(f"association member {name} has no _flc/_flt file in "
                                     f"{str(folder)!r}", filename=path)
    return members, product


def read_asn_product(input_spec) -> str | None:
    """Product name (lower case) of an association table given as input, else None."""
    if isinstance(input_spec, str) and input_spec.strip().lower().endswith("_asn.fits"):
        return _asn_members(input_spec.strip())[1]
    return None


def expand_input(input_spec: str | os.PathLike | Sequence[str]) -> list[str]:
    """File names from the ``input`` parameter.

    Parameters
    ----------
    input_spec : str, path-like or sequence of str
        A file name, comma-separated names, a wildcard pattern, ``@listfile``
        (one file per line; an optional second column naming an IVM file is
        ignored with a warning), an ``_asn.fits`` table, or a list of these.

    Returns
    -------
    list of str
        Existing file names in the order given (wildcards sorted), no duplicates.

    Raises
    ------
    InputFileError
        If a named file or list file does not exist, or nothing matches.
    """
    if isinstance(input_spec, (str, os.PathLike)):
        items = [s.strip() for s in str(input_spec).split(",") if s.strip()]
    else:
        items = [str(s).strip() for s in input_spec]
    if not items:
        raise InputFileError("no input files given")
    out: list[str] = []
    for item in items:
        if item.startswith("@"):
            listfile = item[1:]
            try:
                lines = Path(listfile).read_text().splitlines()
            except OSError as exc:
                raise InputFileError(f"cannot read the @-list ({exc.strerror})",
                                     filename=listfile) from None
            folder = Path(listfile).parent
            for line in lines:
                parts = line.split("#", 1)[0].split()
                if not parts:
                    continue
                if len(parts) > 1:
                    log.warning("%s: IVM file %s listed for %s is ignored (IVM weights from "
                                "files are not supported)", listfile, parts[1], parts[0])
                name = parts[0]
                if not os.path.isabs(name) and not Path(name).exists():
                    name = str(folder / name)
                out.extend(expand_input(name))
        elif item.lower().endswith("_asn.fits"):
            out.extend(_asn_members(item)[0])
        elif glob.has_magic(item):
            matches = sorted(glob.glob(item))
            if not matches:
                raise InputFileError(f"no file matches the pattern {item!r}")
            out.extend(matches)
        else:
            if not Path(item).exists():
                raise InputFileError("file does not exist", filename=item)
            out.append(item)
    seen: set[str] = set()
    unique = []
    for name in out:
        key = os.path.abspath(name)
        if key not in seen:
            seen.add(key)
            unique.append(name)
    return unique


def _average_keywords(headers: Sequence[fits.Header], keys: Sequence[str]) -> float | None:
    values = []
    for k in keys:
        v = None
        for header in headers:
            if k in header:
                v = header[k]
                break
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0:
            values.append(float(v))
    return float(np.mean(values)) if values else None


def _instrument_value(which: str, primary: fits.Header, sci: fits.Header,
                      icfg: InstrumentConfig, filename: str) -> float | None:
    value_name, key_name, defaults = {
        "gain": ("gain", "gnkeyword", (("ATODGNA", "ATODGNB", "ATODGNC", "ATODGND"),
                                       ("ATODGAIN",), ("CCDGAIN",))),
        "rdnoise": ("rdnoise", "rnkeyword", (("READNSEA", "READNSEB", "READNSEC", "READNSED"),
                                             ("READNSE",))),
        "exptime": ("exptime", "expkeyword", (("EXPTIME",),)),
    }[which]
    given = icfg.values(value_name)
    if given is not None:
        return given
    keys = icfg.keywords(key_name)
    merged = (sci, primary)
    if keys:
        found = _average_keywords(merged, keys)
        if found is None:
            raise InputFileError(f"{key_name}={','.join(keys)}: keyword(s) not found or not "
                                 "positive", filename=filename)
        return found
    for group in defaults:
        found = _average_keywords(merged, group)
        if found is not None:
            return found
    return None


def _open(path: str) -> fits.HDUList:
    from stwcs_ng.errors import InputFileError as StwcsInputError
    from stwcs_ng.fileio import open_fits

    try:
        return open_fits(path, memmap=False)
    except StwcsInputError as exc:
        raise InputFileError(getattr(exc, "reason", str(exc)), filename=path) from None


def load_exposures(files: Sequence[str], *, icfg: InstrumentConfig | None = None,
                   resetbits: int | None = None, group: str = "",
                   require_dq: bool = True, in_memory: bool = False, wcskey: str = "",
                   coeffs: bool = True) -> list[Exposure]:
    """Read input files into :class:`Exposure` objects (files are not modified).

    Parameters
    ----------
    files : sequence of str
        Input file names.
    icfg : InstrumentConfig, optional
        Gain / read noise / exposure time overrides.
    resetbits : int, optional
        DQ bits cleared in the in-memory DQ copies.
    group : str, optional
        Restrict to some chips: ``"1"`` or ``"1,2"`` (EXTVERs) or ``"sci,1"``.
    require_dq : bool, optional
        Raise when a chip has no DQ extension (default True).
    in_memory : bool, optional
        Keep each chip's arrays after their first read.
    wcskey : str, optional
        Alternate WCS (key letter or WCSNAME) to use instead of the primary.
    coeffs : bool, optional
        False ignores the distortion (SIP, lookup tables): linear WCS only.

    Returns
    -------
    list of Exposure

    Raises
    ------
    InputFileError, MissingExtensionError
        A file is unreadable or corrupt, lacks SCI (or DQ), has EXPTIME <= 0,
        or its instrument differs from the first file's.
    """
    icfg = icfg or InstrumentConfig()
    wanted = _parse_group(group)
    exposures: list[Exposure] = []
    first_inst: tuple[str, str] | None = None
    for path in files:
        with _open(path) as hdul:
            primary = hdul[0].header.copy()
            instrument = str(primary.get("INSTRUME", "")).strip().upper()
            detector = str(primary.get("DETECTOR", "")).strip().upper()
            if first_inst is None:
                first_inst = (instrument, detector)
            elif (instrument, detector) != first_inst:
                raise InputFileError(
                    f"instrument {instrument}/{detector} differs from the first input's "
                    f"{first_inst[0]}/{first_inst[1]}; astrodrizzle combines one instrument "
                    "and detector at a time", filename=path)
            sci_hdus = [h for h in hdul if h.name.upper() == "SCI"]
            if not sci_hdus and hdul[0].data is not None and hdul[0].data.ndim == 2:
                raise MissingExtensionError("simple FITS image without SCI extension: "
                                            "astrodrizzle needs SCI/DQ extensions",
                                            filename=path)
            if not sci_hdus:
                raise MissingExtensionError("no SCI extension", filename=path)
            exptime = _instrument_value("exptime", primary, sci_hdus[0].header, icfg, path)
            if exptime is None or not exptime > 0:
                value = primary.get("EXPTIME")
                raise InputFileError(f"exposure time must be > 0 (EXPTIME = {value!r}); "
                                     "remove this file from the input list", filename=path)
            exp = Exposure(path, rootname_of(path), instrument, detector, float(exptime),
                           primary)
            for hdu in sci_hdus:
                extver = int(hdu.header.get("EXTVER", 1))
                if wanted and extver not in wanted:
                    continue
                chip = _read_chip(hdul, hdu, path, extver, primary, icfg, exptime,
                                  resetbits, require_dq, wcskey, coeffs)
                chip.keep_in_memory = in_memory
                exp.chips.append(chip)
            if not exp.chips:
                raise InputFileError(f"group={group!r} selects no chip", filename=path)
            exposures.append(exp)
    return exposures


def _parse_group(group: str) -> set[int]:
    text = str(group or "").strip().lower()
    if not text:
        return set()
    nums = re.findall(r"\d+", text)
    if not nums:
        raise ConfigError(f"parameter 'group' must name chips such as '1' or 'sci,1', "
                          f"not {group!r}")
    return {int(n) for n in nums}


_BITPIX = {8: ">u1", 16: ">i2", 32: ">i4", 64: ">i8", -32: ">f4", -64: ">f8"}


def _data_layout(hdu, shape) -> tuple[int, str, tuple[int, int]] | None:
    """(byte offset, dtype, shape) of an uncompressed, unscaled image, else None."""
    hdr = hdu.header
    if hdr.get("BSCALE", 1) != 1 or hdr.get("BZERO", 0) != 0 or "ZIMAGE" in hdr:
        return None
    dtype = _BITPIX.get(int(hdr.get("BITPIX", 0)))
    if dtype is None or _ext_shape(hdu) != tuple(shape):
        return None
    try:
        offset = int(hdu.fileinfo()["datLoc"])
    except (TypeError, KeyError, AttributeError):
        return None
    return offset, dtype, (int(shape[0]), int(shape[1]))


def _ext_shape(hdu) -> tuple[int, ...] | None:
    hdr = hdu.header
    naxis = int(hdr.get("NAXIS", 0))
    if naxis == 0:
        return None
    return tuple(int(hdr.get(f"NAXIS{k}", 0)) for k in range(naxis, 0, -1))


def _resolve_wcskey(header: fits.Header, wcskey: str, path: str, extver: int) -> str:
    """Alternate-WCS key from a key letter or a WCSNAME (blank: primary)."""
    text = (wcskey or "").strip()
    if not text:
        return " "
    if len(text) == 1 and text.upper().isalpha():
        key = text.upper()
        if f"CTYPE1{key}" not in header and f"CRVAL1{key}" not in header:
            raise InputFileError(f"wcskey={text!r}: no alternate WCS with this key",
                                 filename=path, extension=("sci", extver))
        return key
    for k in " ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        if str(header.get("WCSNAME" + k.strip(), "")).strip() == text:
            return k
    raise InputFileError(f"wcskey={text!r}: no WCS with this WCSNAME", filename=path,
                         extension=("sci", extver))


def _header_number(value) -> float | None:
    """A finite header number as float, else None (strings, booleans, NaN)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if np.isfinite(value) else None


def _attach_camera_geometry(wcs: WCS, primary: fits.Header, sci: fits.Header) -> None:
    """Attach the HST camera geometry (as HSTWCS attributes) to a chip's astropy WCS.

    ``pav3`` (``PA_V3``), ``idcv2ref``/``idcv3ref``/``idctheta`` (the IDC
    keywords of the SCI header) and ``parity`` (the detector's axis flip)
    let :func:`.outwcs.camera_orientation` give the default output frame the
    camera's orientation, as the original does.  An attribute whose keyword
    is missing or not a number is None; the frame then follows the chip's own
    CD matrix.
    """
    from stwcs_ng.wcsutil.instruments import keywords_for

    wcs.pav3 = _header_number(primary.get("PA_V3", sci.get("PA_V3")))
    wcs.idcv2ref = _header_number(sci.get("IDCV2REF"))
    wcs.idcv3ref = _header_number(sci.get("IDCV3REF"))
    wcs.idctheta = _header_number(sci.get("IDCTHETA"))
    try:
        wcs.parity = keywords_for(primary, sci).parity_for()
    except (KeyError, TypeError, ValueError, AttributeError):
        wcs.parity = None


def _read_chip(hdul, hdu, path, extver, primary, icfg, exptime, resetbits, require_dq,
               wcskey="", coeffs=True) -> Chip:
    shape = _ext_shape(hdu)
    if shape is None or len(shape) != 2:
        raise MissingExtensionError("SCI extension has no 2-D image", filename=path,
                                    extension=("sci", extver))
    try:
        dq_hdu = hdul["DQ", extver]
    except KeyError:
        dq_hdu = None
    if dq_hdu is None or _ext_shape(dq_hdu) is None:
        if require_dq:
            raise MissingExtensionError("no DQ extension for this chip (astrodrizzle needs "
                                        "data-quality flags)", filename=path,
                                        extension=("dq", extver))
        dq_hdu = None
    elif _ext_shape(dq_hdu) != shape:
        raise InputFileError(f"DQ shape {_ext_shape(dq_hdu)} differs from SCI shape {shape}",
                             filename=path, extension=("dq", extver))
    elif int(dq_hdu.header.get("BITPIX", 16)) < 0:
        raise InputFileError(f"DQ holds floating-point values (BITPIX={dq_hdu.header['BITPIX']}); "
                             "data-quality flags must be integers", filename=path,
                             extension=("dq", extver))
    try:
        err_hdu = hdul["ERR", extver]
    except KeyError:
        err_hdu = None
    if err_hdu is not None and _ext_shape(err_hdu) != shape:
        err_hdu = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FITSFixedWarning)
            key = _resolve_wcskey(hdu.header, wcskey, path, extver)
            alt_linear = key != " " and not str(hdu.header.get(f"CTYPE1{key}", "")).endswith(
                "-SIP")
            if coeffs and not alt_linear:
                wcs = WCS(hdu.header, hdul, key=key)
            else:  # linear WCS only: no SIP, no lookup tables (or a linear alternate WCS)
                hdr = hdu.header.copy()
                for card in ("CTYPE1", "CTYPE2"):
                    if isinstance(hdr.get(card + key.strip()), str):
                        hdr[card + key.strip()] = hdr[card + key.strip()].replace("-SIP", "")
                for k in list(hdr.keys()):
                    if re.match(r"^((A|B|AP|BP)_(\d+_\d+|ORDER|DMAX)|CPDIS\d|CPERR\d|DP\d|"
                                r"D2IM(DIS|ERR|EXT)?\d?)", k):
                        del hdr[k]
                wcs = WCS(hdr, key=key)
                wcs.sip = None
    except InputFileError:
        raise
    except Exception as exc:  # astropy raises many types for broken WCS headers
        raise InputFileError(f"cannot build the WCS ({exc})", filename=path,
                             extension=("sci", extver)) from None
    if not wcs.has_celestial:
        raise InputFileError("SCI header has no celestial WCS", filename=path,
                             extension=("sci", extver))
    wcs.pixel_shape = (shape[1], shape[0])
    _attach_camera_geometry(wcs, primary, hdu.header)
    gain = _instrument_value("gain", primary, hdu.header, icfg, path) or 1.0
    rdnoise = _instrument_value("rdnoise", primary, hdu.header, icfg, path) or 0.0
    bunit = str(hdu.header.get("BUNIT", primary.get("BUNIT", "COUNTS")))
    layout = {}
    for name, h in (("SCI", hdu), ("DQ", dq_hdu), ("ERR", err_hdu)):
        lay = _data_layout(h, shape) if h is not None else None
        if lay is not None:
            layout[name] = lay
    return Chip(
        _layout=layout or None,
        filename=path, extver=extver, shape=(shape[0], shape[1]), has_dq=dq_hdu is not None,
        has_err=err_hdu is not None, wcs=wcs, header=hdu.header.copy(),
        dq_header=None if dq_hdu is None else dq_hdu.header.copy(),
        err_header=None if err_hdu is None else err_hdu.header.copy(),
        gain=float(gain), readnoise=float(rdnoise),
        ccdchip=int(hdu.header.get("CCDCHIP", extver)), exptime=float(exptime), bunit=bunit,
        resetbits=resetbits)
