"""The astrodrizzle recipe: each step a function of earlier in-memory products.

static mask -> sky -> output frame -> pixel maps -> separate drizzle ->
median -> blot -> driz_cr -> final drizzle.  Nothing here writes into an
input file; :mod:`.products` writes the products and, after success, the
documented updates of the inputs (MDRIZSKY, DQ cosmic-ray bit).

Memory: chip arrays are read from the files when a step needs them and
dropped afterwards (unless ``in_memory``); single-drizzled images live in
memory-mapped temporary files (unless ``in_memory``); the median works in
bands of rows within the budget; pixel maps are kept as plans (spline
coefficients, a few MB per chip) and evaluated into reused buffers when a
step needs them (see :class:`PixmapCache`).  :func:`estimate_memory` gives
the peak up front.

Threads: with ``num_cores`` > 1 (default: every core) the per-chip work runs
on that many threads: static-mask and sky statistics and blot + driz_cr of
different chips concurrently (the kernels then use one thread each), the
median's bands concurrently, and for both drizzle steps a background thread
prepares the next chip while the kernel drizzles the current one.  Results
are collected in input order, so the products do not depend on the number
of threads.  Under ``memory_limit`` the chips are processed one at a time
when the concurrent estimate does not fit.
"""

from __future__ import annotations

import logging
import math
import tempfile
import threading
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import FileUpdateError, MemoryLimitError, NoOverlapError
from ..kernels import resolve_num_threads
from ..logutil import no_progress
from . import crrej, outwcs, staticmask
from . import median as median_mod
from . import sky as sky_mod
from .config import AstroDrizzleConfig, good_pixel_mask, interpret_bits
from .inputs import Chip, Exposure
from .median import ordered_map

__all__ = [
    "PipelineResult",
    "ChipRecord",
    "effective_config",
    "static_masks",
    "chip_static_candidates",
    "measure_sky",
    "assign_sky",
    "sky_stat_options",
    "chip_sky_value",
    "output_frame",
    "PixmapCache",
    "plan_chip",
    "drizzle_separate",
    "create_median",
    "blot_chip",
    "blot_iscale",
    "blot_level",
    "find_cosmic_rays",
    "drizzle_final",
    "estimate_memory",
    "run_pipeline",
]

log = logging.getLogger(__name__)

CTX_BITS = 32


@dataclass
class ChipRecord:
    """What the final drizzle did with one chip (for the Dnnn keywords)."""

    label: str
    exptime: float
    wt_scl: float
    kernel: str
    pixfrac: float
    units: str
    fillval: str
    mask_name: str
    idcscale: float | None


@dataclass
class PipelineResult:
    """In-memory products of a run.

    Attributes
    ----------
    sci, wht : ndarray of float32 or None
        Final drizzled image and weight (None when ``driz_combine`` is off).
    ctx : ndarray of int32 or None
        Context image, 2-D (<= 32 chips) or 3-D.
    wcs : astropy.wcs.WCS
        Output frame.
    exposures : list of Exposure
        The inputs, with ``chip.sky`` set.
    crmasks : Mapping
        Chip label -> boolean cosmic-ray mask (True = CR), stored packed.
    median : ndarray or None
        The median image (cps), when made.
    singles : list of (sci, wht)
        Single-drizzled images (may be memory-mapped temporaries).
    records : list of ChipRecord
        Per drizzled chip, in context-id order.
    config : AstroDrizzleConfig
        The effective configuration.
    timings : dict
        Wall seconds per step (``static mask``, ``sky``, ``separate drizzle``,
        ``median``, ``blot + driz_cr``, ``final drizzle``), also logged.
    """

    sci: np.ndarray | None
    wht: np.ndarray | None
    ctx: np.ndarray | None
    wcs: object
    exposures: list[Exposure]
    crmasks: Mapping[str, np.ndarray] = field(default_factory=dict)
    median: np.ndarray | None = None
    singles: list = field(default_factory=list)
    records: list[ChipRecord] = field(default_factory=list)
    config: AstroDrizzleConfig | None = None
    sep_wcs: object = None
    static: dict = field(default_factory=dict)
    blots: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)


class PackedMasks(Mapping):
    """Chip label -> boolean mask, stored with one bit per pixel.

    Cosmic-ray masks of every chip are kept until the inputs are updated; packed
    they take 1/8 of the memory.  Indexing returns a new unpacked array.
    """

    def __init__(self) -> None:
        self._data: dict[str, tuple[np.ndarray, tuple[int, int]]] = {}

    def __setitem__(self, key: str, mask: np.ndarray) -> None:
        mask = np.asarray(mask, dtype=bool)
        self._data[key] = (np.packbits(mask, axis=None), mask.shape)

    def __getitem__(self, key: str) -> np.ndarray:
        packed, shape = self._data[key]
        n = shape[0] * shape[1]
        return np.unpackbits(packed, count=n).astype(bool).reshape(shape)

    def __iter__(self):
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __eq__(self, other) -> bool:
        if isinstance(other, Mapping):
            return len(self) == len(other) and all(
                k in other and np.array_equal(self[k], other[k]) for k in self)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


# ---------------------------------------------------------------------------------------------
def effective_config(cfg: AstroDrizzleConfig, n_exposures: int) -> AstroDrizzleConfig:
    """Apply the original's step dependencies.

    With two or more inputs, driz_cr forces blot on, blot forces median on,
    median forces driz_separate on.  With one input, median, blot and
    driz_cr are switched off.
    """
    changes: dict[str, bool] = {}
    if n_exposures < 2:
        for name, on in (("median", cfg.median.median), ("blot", cfg.blot.blot),
                         ("driz_cr", cfg.driz_cr.driz_cr)):
            if on:
                changes[name] = False
        if changes:
            log.info("one input exposure: %s switched off", ", ".join(changes))
    else:
        driz_cr = cfg.driz_cr.driz_cr
        blot = cfg.blot.blot or driz_cr
        med = cfg.median.median or blot
        sep = cfg.driz_sep.driz_separate or med
        for name, new, old in (("blot", blot, cfg.blot.blot), ("median", med, cfg.median.median),
                               ("driz_separate", sep, cfg.driz_sep.driz_separate)):
            if new != old:
                changes[name] = new
                log.info("%s switched on (needed by a later step)", name)
    return cfg.replace(**changes) if changes else cfg


def _static_key(exp: Exposure, chip: Chip) -> Hashable:
    return (exp.instrument, exp.detector, chip.ccdchip, chip.extver, chip.shape)


def static_masks(exposures: list[Exposure], cfg: AstroDrizzleConfig,
                 progress: Callable = no_progress, *,
                 workers: int = 1) -> dict[Hashable, np.ndarray]:
    """Step 1: static good-pixel masks keyed by detector chip (empty when off).

    ``workers`` chips are measured concurrently (threads); the masks are
    combined in input order, so the result does not depend on it.
    """
    if not cfg.static.static:
        return {}
    bits = interpret_bits(cfg.driz_sep.driz_sep_bits, "driz_sep_bits")
    masks: dict[Hashable, np.ndarray] = {}
    pairs = [(e, c) for e in exposures for c in e.chips]

    def one(pair) -> np.ndarray:
        chip = pair[1]
        return chip_static_candidates(chip, chip.arrays(), bits, cfg.static.static_sig)

    results = ordered_map(one, pairs, workers)
    for (exp, chip), m in zip(pairs, progress(results, desc="static mask", total=len(pairs)),
                              strict=True):
        key = _static_key(exp, chip)
        masks[key] = masks[key] & m if key in masks else m
    for key, m in masks.items():
        log.info("static mask %s: %d pixels masked", key[2:4], int((~m).sum()))
    return masks


def chip_static_candidates(chip: Chip, arr, bits: int, static_sig: float) -> np.ndarray:
    """Static-mask candidates of one chip (True = good), before the per-detector combination.

    Parameters
    ----------
    chip : Chip
    arr : ChipArrays
        The chip's arrays (``data``, ``dq``).
    bits : int
        DQ bits treated as good (``driz_sep_bits``).
    static_sig : float
        ``static_sig`` of :func:`.staticmask.chip_static_mask`.

    Returns
    -------
    ndarray of bool
        :func:`.staticmask.chip_static_mask` of the chip's DQ-good pixels.
    """
    good = good_pixel_mask(arr.dq, bits, chip.shape)
    return staticmask.chip_static_mask(arr.data, static_sig=static_sig, good=good)


def _static_for(static: dict, exp: Exposure, chip: Chip) -> np.ndarray | None:
    return static.get(_static_key(exp, chip))


def chip_good_mask(static: dict, exp: Exposure, chip: Chip, dq, bits: int) -> np.ndarray:
    """Usable pixels of a chip: DQ-good for ``bits`` and not in the static mask."""
    mask = good_pixel_mask(dq, bits, chip.shape)
    st = _static_for(static, exp, chip)
    if st is not None:
        mask &= st
    return mask


def _minus_sky(chip: Chip, data: np.ndarray, sky: float | None = None) -> np.ndarray:
    """``data - sky`` (float32; ``chip.sky`` unless given); in place when the chip's
    arrays are read afresh for every step (not kept in memory), which saves a
    chip-sized array."""
    sky = np.float32(chip.sky if sky is None else sky)
    if chip.keep_in_memory or not data.flags.writeable or data.dtype != np.float32:
        return np.asarray(data, dtype=np.float32) - sky
    data -= sky
    return data


def final_record(exp: Exposure, chip: Chip, cfg: AstroDrizzleConfig, wht_scale: float,
                 in_scale: float) -> ChipRecord:
    """The product's ``Dnnn*`` keyword values of one chip of the final drizzle."""
    fcfg = cfg.final
    return ChipRecord(
        label=chip.label, exptime=exp.exptime, wt_scl=float(wht_scale),
        kernel=fcfg.final_kernel, pixfrac=fcfg.final_pixfrac, units=fcfg.final_units,
        fillval="INDEF" if fcfg.final_fillval is None else str(fcfg.final_fillval),
        mask_name=f"{Path(chip.filename).name.split('.')[0].rsplit('_', 1)[0]}"
                  f"_{chip.tag}_final_mask.fits",
        idcscale=in_scale)


def _pixel_area(chip: Chip) -> float:
    """Nominal pixel area (arcsec^2): IDCSCALE^2, else the linear area at the centre.

    Calibrated (flat-fielded) data have a uniform sky per pixel although the
    true pixel area varies across a chip, so chips are compared through their
    nominal scale, not their local one.
    """
    idcscale = chip.header.get("IDCSCALE")
    if isinstance(idcscale, (int, float)) and idcscale > 0:
        return float(idcscale) ** 2
    cd, _, _ = outwcs.linear_cd(chip.wcs, chip.shape)
    return abs(float(np.linalg.det(cd))) * 3600.0 ** 2


def _read_skyfile(path: str) -> tuple[dict[str, list[float]], bool]:
    values: dict[str, list[float]] = {}
    applied = False
    from ..errors import ConfigError

    try:
        lines = Path(path).read_text().splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read skyfile ({exc.strerror})", filename=path) from None
    for line in lines:
        text = line.strip()
        if not text:
            continue
        if text.startswith("#"):
            low = text.lower().replace(" ", "")
            if "applied=yes" in low or "applied=true" in low:
                applied = True
            continue
        parts = text.split()
        try:
            values[Path(parts[0]).name] = [float(v) for v in parts[1:]]
        except ValueError:
            raise ConfigError(f"cannot read sky values in line {text!r}", filename=path) from None
    return values, applied


def sky_stat_options(cfg: AstroDrizzleConfig) -> dict:
    """Keyword arguments of :func:`.sky.chip_sky_statistic` from the sky section.

    Returns
    -------
    dict
        ``skystat``, ``skywidth``, ``skylower``, ``skyupper``, ``skyclip``,
        ``skylsigma``, ``skyusigma``.
    """
    scfg = cfg.sky
    return dict(skystat=scfg.skystat, skywidth=scfg.skywidth, skylower=scfg.skylower,
                skyupper=scfg.skyupper, skyclip=scfg.skyclip, skylsigma=scfg.skylsigma,
                skyusigma=scfg.skyusigma)


def chip_sky_value(exp: Exposure, chip: Chip, arr, bits: int, static_mask: np.ndarray | None,
                   area: float, stat_options: Mapping) -> tuple[np.ndarray, float, float]:
    """Sky statistic of one chip (:func:`.sky.chip_sky_statistic`) and its brightness scale.

    Parameters
    ----------
    exp, chip : Exposure, Chip
        The chip and its exposure.
    arr : ChipArrays
        The chip's arrays (``data``, ``dq``).
    bits : int
        DQ bits treated as good (``sky_bits``).
    static_mask : ndarray of bool or None
        The chip's static mask (True = good) when ``use_static``, else None.
    area : float
        Nominal pixel area of the chip (arcsec^2).
    stat_options : Mapping
        :func:`sky_stat_options`.

    Returns
    -------
    good : ndarray of bool
        The pixels measured.
    scale : float
        ``area`` x exposure time (x 1 for count-rate data): divides the
        chip's values into a brightness comparable between chips.
    value : float
        The statistic (native units).
    """
    good = good_pixel_mask(arr.dq, bits, chip.shape)
    if static_mask is not None:
        good &= static_mask
    scale = area * (1.0 if chip.is_rate else exp.exptime)
    return good, scale, sky_mod.chip_sky_statistic(arr.data, good, **stat_options)


def measure_sky(exposures: list[Exposure], static: dict, cfg: AstroDrizzleConfig,
                progress: Callable = no_progress, *, out_wcs=None,
                pixmaps: PixmapCache | None = None, workers: int = 1) -> None:
    """Step 2: set ``chip.sky`` (native units) for every chip.

    ``skysub=False`` takes the sky from the ``skyuser`` header keyword (0
    when blank); ``skyfile`` gives user values (subtracted by us unless the
    file says ``applied = yes``).  Otherwise the sky is measured with
    :func:`.sky.compute_sky`, ``workers`` chips at a time (threads; the
    values do not depend on it).
    """
    scfg = cfg.sky
    chips = [(e, c) for e in exposures for c in e.chips]
    if scfg.skyfile:
        values, applied = _read_skyfile(scfg.skyfile)
        from ..errors import ConfigError

        for exp, chip in chips:
            vals = values.get(Path(exp.filename).name)
            if vals is None:
                raise ConfigError(f"no sky value for {Path(exp.filename).name}",
                                  filename=scfg.skyfile)
            k = exp.chips.index(chip)
            chip.sky = vals[k] if k < len(vals) else vals[0]
        if applied:
            log.info("skyfile values are already subtracted from the data")
        return
    if not scfg.skysub:
        for exp, chip in chips:
            if scfg.skyuser:
                value = chip.header.get(scfg.skyuser, exp.primary.get(scfg.skyuser))
                chip.sky = float(value) if isinstance(value, (int, float)) else 0.0
            else:
                chip.sky = 0.0
        return
    bits = interpret_bits(scfg.sky_bits, "sky_bits")
    stat_options = sky_stat_options(cfg)
    want_match = scfg.skymethod.endswith("match") and out_wcs is not None and pixmaps is not None
    sky_chips = []
    maps = []
    # ``workers`` chips in memory at a time: the statistic (and, for matching, a coarse
    # map of the exposure on the output grid) is all that is kept
    pairs = [(k, e, c) for k, e in enumerate(exposures) for c in e.chips]
    kernel_threads = 1 if workers > 1 else None

    def one(item):
        k, exp, chip = item
        arr = chip.arrays()
        good, scale, value = chip_sky_value(
            exp, chip, arr, bits, _static_for(static, exp, chip) if scfg.use_static else None,
            _pixel_area(chip), stat_options)
        piece = None
        if want_match:
            pm = pixmaps.get(chip, num_threads=kernel_threads)
            piece = _CoarseMap(out_wcs).piece(arr.data, good, scale, pm)
            pixmaps.release(pm)
        return scale, value, piece

    cells = None
    results = ordered_map(one, pairs, workers)
    for n, ((k, _, _), (scale, value, piece)) in enumerate(zip(
            pairs, progress(results, desc="sky", total=len(pairs)), strict=True)):
        sky_chips.append(sky_mod.SkyChip(None, None, scale, k, value=value))
        if want_match:
            if cells is None:
                cells = _CoarseMap(out_wcs)
            cells.append(piece)
            if n + 1 == len(pairs) or pairs[n + 1][0] != k:
                maps.append(cells.medians())
                cells = None
    assign_sky(exposures, sky_chips, maps if want_match else None, scfg.skymethod)


def assign_sky(exposures: list[Exposure], sky_chips: list, maps: list | None,
               skymethod: str) -> None:
    """Combine the per-chip sky statistics by ``skymethod`` and set every ``chip.sky``.

    Parameters
    ----------
    exposures : list of Exposure
    sky_chips : list of sky.SkyChip
        One per chip, in input order, with its statistic and brightness scale.
    maps : list of ndarray or None
        Coarse brightness map of every exposure (``*match`` methods), else None.
    skymethod : str
    """
    differences = _map_differences(maps) if maps is not None else None
    values = sky_mod.compute_sky(sky_chips, skymethod=skymethod, differences=differences)
    chips = [c for e in exposures for c in e.chips]
    for chip, value in zip(chips, values, strict=True):
        chip.sky = float(value)
        log.info("%s: MDRIZSKY = %.6g", chip.label, chip.sky)


class _CoarseMap:
    """Median brightness of one exposure in coarse cells of the output grid."""

    def __init__(self, out_wcs, cell: int = 32) -> None:
        self.nx, self.ny = out_wcs.pixel_shape
        self.cell = cell
        self.ncx = self.nx // cell + 1
        self.ncy = self.ny // cell + 1
        self.vals: list[np.ndarray] = []
        self.cells: list[np.ndarray] = []

    def add(self, data, good, scale, pm) -> None:
        """Add one chip's pixels (every other row and column)."""
        self.append(self.piece(data, good, scale, pm))

    def append(self, piece: tuple[np.ndarray, np.ndarray]) -> None:
        """Add the result of :meth:`piece`."""
        self.vals.append(piece[0])
        self.cells.append(piece[1])

    def piece(self, data, good, scale, pm) -> tuple[np.ndarray, np.ndarray]:
        """Brightness values and cell numbers of one chip (pure: nothing is stored)."""
        x, y = pm[..., 0], pm[..., 1]
        ok = good & np.isfinite(x) & np.isfinite(y) & np.isfinite(data)
        ok &= (x >= 0) & (x < self.nx) & (y >= 0) & (y < self.ny)
        step = 2  # every other pixel is plenty for a median per 32 x 32 cell
        ok[1::step, :] = False
        ok[:, 1::step] = False
        cid = ((y[ok] // self.cell).astype(np.int64) * self.ncx
               + (x[ok] // self.cell).astype(np.int64))
        return data[ok].astype(np.float32) / np.float32(scale), cid

    def medians(self) -> np.ndarray:
        full = np.full(self.ncx * self.ncy, np.nan)
        if not self.vals:
            return full
        v, c = np.concatenate(self.vals), np.concatenate(self.cells)
        self.vals, self.cells = [], []
        order = np.lexsort((v, c))
        v, c = v[order], c[order]
        uniq, start, count = np.unique(c, return_index=True, return_counts=True)
        enough = count >= 20
        full[uniq[enough]] = v[start + count // 2][enough]
        return full


def _map_differences(maps: list[np.ndarray]) -> dict[tuple[int, int], tuple[float, float]]:
    """Pairwise median differences of coarse maps where both exposures have data."""
    diffs = {}
    for i in range(len(maps)):
        for j in range(i):
            both = np.isfinite(maps[i]) & np.isfinite(maps[j])
            if both.sum() >= 3:
                diffs[(i, j)] = (float(np.median(maps[i][both] - maps[j][both])),
                                 float(both.sum()))
    return diffs


# ---------------------------------------------------------------------------------------------
def _read_refimage(spec: str):
    import warnings

    from astropy.io import fits
    from astropy.wcs import WCS, FITSFixedWarning

    from ..errors import InputFileError

    path, ext = spec, None
    if spec.endswith("]") and "[" in spec:
        path, ext_text = spec[:-1].split("[", 1)
        parts = [p.strip() for p in ext_text.split(",")]
        ext = (parts[0], int(parts[1])) if len(parts) == 2 else (
            int(parts[0]) if parts[0].isdigit() else parts[0])
    try:
        with fits.open(path) as hdul:
            if ext is None:
                ext = ("SCI", 1) if "SCI" in [h.name for h in hdul] else 0
            hdr = hdul[ext].header
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FITSFixedWarning)
                w = WCS(hdr, hdul)
            w.pixel_shape = (int(hdr["NAXIS1"]), int(hdr["NAXIS2"]))
    except (OSError, KeyError, IndexError, ValueError) as exc:
        raise InputFileError(f"cannot read the reference image WCS ({exc})",
                             filename=path) from None
    return w


def output_frame(exposures: list[Exposure], wcs_cfg) -> object:
    """Output WCS from the ``final_*`` (or ``driz_sep_*``) section."""
    chips = [c for e in exposures for c in e.chips]
    wcs_list = [c.wcs for c in chips]
    shapes = [c.shape for c in chips]
    names = [(c.filename, ("sci", c.extver)) for c in chips]  # for error messages
    prefix = wcs_cfg.prefix
    if getattr(wcs_cfg, f"{prefix}_wcs"):
        ref = getattr(wcs_cfg, f"{prefix}_refimage")
        refwcs = _read_refimage(ref) if ref else None
        over = wcs_cfg.overrides()
        if refwcs is None and over["scale"] is None:
            over["scale"] = nominal_scale(chips[0])
        return outwcs.custom_output_wcs(wcs_list, shapes, refimage_wcs=refwcs, names=names,
                                        **over)
    # the original's default frame has the first chip's nominal (IDCSCALE) pixel scale
    return outwcs.default_output_wcs(wcs_list, shapes, scale=nominal_scale(chips[0]),
                                     names=names)


def check_overlaps(exposures: list[Exposure], out_wcs) -> None:
    """Every chip must land on the output frame; with several exposures each must
    overlap another one.  Raises :class:`NoOverlapError` naming the file."""
    boxes = []
    nx, ny = out_wcs.pixel_shape
    for exp in exposures:
        lo, hi = np.array([np.inf, np.inf]), np.array([-np.inf, -np.inf])
        for chip in exp.chips:
            outwcs.check_overlap(out_wcs, chip.wcs, chip.shape, filename=exp.filename)
            pts = outwcs.footprint(chip.wcs, chip.shape, n=8)
            x, y = out_wcs.world_to_pixel_values(pts[:, 0], pts[:, 1])
            lo = np.minimum(lo, [np.min(x), np.min(y)])
            hi = np.maximum(hi, [np.max(x), np.max(y)])
        boxes.append((lo, hi))
    if len(exposures) < 2:
        return
    for i, (lo_i, hi_i) in enumerate(boxes):
        touching = any(np.all(np.minimum(hi_i, hi_j) - np.maximum(lo_i, lo_j) > 0)
                       for j, (lo_j, hi_j) in enumerate(boxes) if j != i)
        if not touching:
            raise NoOverlapError("does not overlap any other input exposure; drizzle "
                                 "overlapping images together", filename=exposures[i].filename)


def plan_chip(chip: Chip, frame, stepsize: int):
    """The pixel-map plan of ``chip`` onto ``frame``: fast mode (interpolated, checked
    to 0.01 px) when ``stepsize`` > 1, else exact.  Both runs (whole-frame and tiled)
    plan every map here, so their maps are the same bits.

    Returns
    -------
    drizzlepac_ng.pixmap.PixmapPlan
    """
    from ..pixmap import calc_pixmap_plan

    return calc_pixmap_plan(chip.wcs, frame, chip.shape,
                            mode="fast" if stepsize > 1 else "exact")


class PixmapCache:
    """Pixel maps chip -> output frame, planned once per chip and evaluated on demand.

    Each chip's map is planned once (:func:`drizzlepac_ng.pixmap.calc_pixmap_plan`)
    and the plan is kept while the plans fit ``budget`` bytes.  A fast-mode plan
    (``stepsize`` > 1) holds only spline coefficients, about 2 MB for a
    4096 x 2048 chip, and :meth:`get` evaluates the map from it into a buffer:
    the values are those of :func:`drizzlepac_ng.pixmap.calc_pixmap`, bit for
    bit, and evaluating (tens of ms) costs less than keeping every 134 MB map
    resident.  Buffers handed back with :meth:`release` are reused (up to
    ``spare`` of them), so the steps do not keep asking the system for fresh
    memory.  An exact-mode plan (``stepsize`` = 1, or a fast request that
    fell back) holds the whole map: with ``exact`` it is kept as float64 and
    handed out without a copy, otherwise as float32 (8 bytes per chip pixel,
    better than 0.0005 px for frames up to 8000 px) and handed out as float64.
    """

    def __init__(self, out_wcs, *, budget: int | None, stepsize: int = 10,
                 num_threads: int | None = None, exact: bool = False, spare: int = 3) -> None:
        self.out_wcs = out_wcs
        self.exact = exact
        self.budget = budget
        self.stepsize = stepsize
        self.num_threads = num_threads
        self.spare = spare
        self._maps: dict[tuple[str, int], object] = {}
        self._free: dict[tuple, list[np.ndarray]] = {}
        self._used = 0
        self._lock = threading.Lock()
        self._local = threading.local()
        self._owner = threading.get_ident()

    def _frame(self):
        """The output WCS for the calling thread: other threads use their own copy
        (WCSLIB objects keep internal state; a copy has the same parameters)."""
        if threading.get_ident() == self._owner:
            return self.out_wcs
        frame = getattr(self._local, "frame", None)
        if frame is None:
            import copy

            frame = self._local.frame = copy.deepcopy(self.out_wcs)
        return frame

    def _buffer(self, shape: tuple[int, int]) -> np.ndarray:
        key = (shape[0], shape[1], 2)
        with self._lock:
            free = self._free.get(key)
            if free:
                return free.pop()
        return np.empty(key, dtype=np.float64)

    def get(self, chip: Chip, *, num_threads: int | None = None) -> np.ndarray:
        """Pixel map of ``chip`` (float64, read-only use); safe to call from threads.

        ``num_threads`` overrides the cache's kernel threads for evaluating the
        map (e.g. 1 inside a thread pool); the map does not depend on it.
        Hand the map back with :meth:`release` when done with it.
        """
        from ..pixmap import PixmapPlan

        threads = self.num_threads if num_threads is None else num_threads
        key = (chip.filename, chip.extver)
        with self._lock:
            cached = self._maps.get(key)
        if isinstance(cached, np.ndarray):
            # float64 maps are handed out as they are (no caller writes into a map)
            return cached if cached.dtype == np.float64 else cached.astype(np.float64)
        plan = cached
        if plan is None:
            plan = plan_chip(chip, self._frame(), self.stepsize)
        assert isinstance(plan, PixmapPlan)
        exact_map = plan.mode == "exact"
        if exact_map:
            pm = plan.evaluate()
            # what keeping it costs: the map as float64 (``exact``) or float32
            size = pm.nbytes if self.exact else pm.nbytes // 2
        else:
            pm = plan.evaluate(self._buffer(plan.shape), num_threads=threads)
            size = plan.nbytes
        if cached is None:
            with self._lock:
                kept = self._fits(key, size)
            if kept:
                # converted only once the budget is known to keep it
                keep = (pm if self.exact else pm.astype(np.float32)) if exact_map else plan
                with self._lock:
                    if self._fits(key, size):
                        self._maps[key] = keep
                        self._used += size
        return pm

    def _fits(self, key: tuple[str, int], size: int) -> bool:
        """True when ``key`` is not cached and ``size`` more bytes fit the budget
        (call with the lock held)."""
        return key not in self._maps and (self.budget is None
                                          or self._used + size <= self.budget)

    def all_finite(self, chip: Chip) -> bool:
        """True when the map of ``chip`` is known to hold no NaN: it comes from a
        cached fast-mode plan (a spline through finite nodes)."""
        with self._lock:
            plan = self._maps.get((chip.filename, chip.extver))
        return getattr(plan, "mode", None) == "fast"

    def release(self, pixmap: np.ndarray | None) -> None:
        """Hand back a map from :meth:`get`: its buffer may be reused by a later call."""
        if (pixmap is None or not isinstance(pixmap, np.ndarray) or pixmap.ndim != 3
                or pixmap.dtype != np.float64 or not pixmap.flags.owndata
                or not pixmap.flags.c_contiguous):
            return
        with self._lock:
            if any(pixmap is m for m in self._maps.values()):
                return  # a cached exact map, not a buffer
            free = self._free.setdefault(pixmap.shape, [])
            if len(free) < self.spare and not any(pixmap is b for b in free):
                free.append(pixmap)

    def drop_buffers(self) -> None:
        """Free the spare buffers (the cached plans stay)."""
        with self._lock:
            self._free.clear()

    def clear(self) -> None:
        """Drop every cached plan and spare buffer."""
        with self._lock:
            self._maps.clear()
            self._free.clear()
            self._used = 0


def nominal_scale(chip: Chip) -> float:
    """Nominal pixel scale of a chip (arcsec): IDCSCALE, else the linear scale at its centre."""
    idcscale = chip.header.get("IDCSCALE")
    if isinstance(idcscale, (int, float)) and not isinstance(idcscale, bool) and idcscale > 0:
        return float(idcscale)
    cd, _, _ = outwcs.linear_cd(chip.wcs, chip.shape)
    return outwcs.cd_scale_orient(cd)[0]


def _out_scale(out_wcs) -> float:
    return outwcs.cd_scale_orient(out_wcs.wcs.cd)[0]


def _wt_scale(text: str, exptime: float) -> float:
    t = text.strip().lower()
    if t in ("exptime", ""):
        return exptime
    if t == "expsq":
        return exptime * exptime
    return float(t)


class BandFile:
    """A 2-D float32 array on disk, read back by rows with plain file reads.

    Unlike a memory map, reading a band does not keep the file's pages in the
    process's resident memory, so the median's memory stays within its band.
    """

    def __init__(self, path: Path, array: np.ndarray, *, weight: bool = False) -> None:
        self.path = Path(path)
        self.shape = array.shape
        self.dtype = np.dtype(np.float32)
        try:
            np.ascontiguousarray(array, dtype=np.float32).tofile(self.path)
        except OSError as exc:  # full disk, quota, file-size limit
            raise FileUpdateError(
                f"could not write a temporary image ({exc}); no input file was changed "
                "(free some space, or use in_memory=True)", filename=str(self.path)) from exc
        #: for a weight image, :func:`.median.positive_sum_count` of it (saves a read)
        self.positive_sum_count = median_mod.positive_sum_count(array) if weight else None

    def __getitem__(self, item) -> np.ndarray:
        if not isinstance(item, slice) or item.step not in (None, 1):
            return self.read()[item]
        start, stop, _ = item.indices(self.shape[0])
        nx = self.shape[1]
        count = max(0, stop - start) * nx
        with open(self.path, "rb") as fh:
            fh.seek(start * nx * 4)
            data = np.fromfile(fh, dtype=np.float32, count=count)
        return data.reshape(-1, nx)

    def read(self) -> np.ndarray:
        """The whole array."""
        return np.fromfile(self.path, dtype=np.float32).reshape(self.shape)

    def __array__(self, dtype=None, copy=None):
        arr = self.read()
        return arr if dtype is None else arr.astype(dtype)


def drizzle_separate(exposures: list[Exposure], static: dict, pixmaps: PixmapCache,
                     cfg: AstroDrizzleConfig, *, tmpdir: Path | None = None,
                     progress: Callable = no_progress, num_threads: int | None = None,
                     prefetch: bool = False, workers: int = 1
                     ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Step 3: one single-drizzled image (cps) and weight per exposure.

    With ``workers`` > 1, when the exposures share out evenly between them
    (a multiple of ``workers``, or at least twice as many), ``workers``
    exposures are drizzled at once, each on one thread: every single image
    is made from its own chips in the same order, so the values do not
    change.  Otherwise, with ``prefetch``, a background thread reads and
    prepares the next chip (arrays, mask, pixel map) while the kernel
    drizzles the current one on ``num_threads`` threads.
    """
    dcfg = cfg.driz_sep
    bits = interpret_bits(dcfg.driz_sep_bits, "driz_sep_bits")
    nx, ny = pixmaps.out_wcs.pixel_shape
    out_scale = _out_scale(pixmaps.out_wcs)
    # a map computed in the background thread uses one core: the kernel has the others
    bg_threads = 1 if prefetch else None

    def prepare(item, threads=bg_threads):
        exp, chip = item
        arr = chip.arrays()
        # bad pixels are masked out of the drizzle; the good ones have weight 1,
        # exactly as a 0/1 weight map would give them (the kernel skips zero weights)
        bad = np.logical_not(chip_good_mask(static, exp, chip, arr.dq, bits))
        data = _minus_sky(chip, arr.data)
        return data, bad, pixmaps.get(chip, num_threads=threads)

    def add_chip(drz, exp, chip, data, bad, pm) -> None:
        iscale = (out_scale / nominal_scale(chip)) ** 2
        drz.add_image(data, exptime=exp.exptime, pixmap=pm, mask=bad,
                      wht_scale=_wt_scale(dcfg.driz_sep_wt_scl, exp.exptime),
                      pixfrac=dcfg.driz_sep_pixfrac, iscale=iscale,
                      in_units="cps" if chip.is_rate else "counts",
                      pixel_scale_ratio=math.sqrt(iscale))
        pixmaps.release(pm)

    # output pairs already written to disk are zeroed and used again (fresh memory
    # costs more than clearing it)
    outputs = _OutputPairs((ny, nx))

    def write(k: int, sci: np.ndarray, wht: np.ndarray) -> tuple[BandFile, BandFile]:
        files = _write_single(tmpdir, k, sci, wht)
        outputs.put((sci, wht))
        return files

    n_exp = len(exposures)
    if workers > 1 and n_exp > 1 and (n_exp % workers == 0 or n_exp >= 2 * workers):
        # ``workers`` exposures at a time, each on one thread
        def one(item):
            k, exp = item
            chips = (prepare((exp, chip), threads=1) for chip in exp.chips)
            sci, wht = _drizzle_one(exp, chips, outputs.get(), add_chip, dcfg, num_threads=1)
            return (sci, wht) if tmpdir is None else write(k, sci, wht)

        results = ordered_map(one, list(enumerate(exposures)), workers)
        return list(progress(results, desc="separate drizzle", total=n_exp))

    pairs = [(e, c) for e in exposures for c in e.chips]
    prepared = ordered_map(prepare, pairs, 1, ahead=1 if prefetch else 0)
    singles = []
    writer = None
    pending: list = []
    if prefetch and tmpdir is not None:
        from concurrent.futures import ThreadPoolExecutor

        writer = ThreadPoolExecutor(max_workers=1)
    try:
        for k, exp in enumerate(progress(exposures, desc="separate drizzle", total=n_exp)):
            sci, wht = _drizzle_one(exp, prepared, outputs.get(), add_chip, dcfg,
                                    num_threads=num_threads)
            if tmpdir is None:
                singles.append((sci, wht))
            elif writer is None:
                singles.append(write(k, sci, wht))
            else:
                # with prefetch, the files are written behind while the next exposure drizzles
                while pending and pending[0].done():
                    singles.append(pending.pop(0).result())
                pending.append(writer.submit(write, k, sci, wht))
            del sci, wht
        singles.extend(f.result() for f in pending)
    finally:
        if writer is not None:
            writer.shutdown(wait=True)
    return singles


class _OutputPairs:
    """Zeroed (sci, wht) output pairs of one shape, reusing pairs handed back (thread-safe)."""

    def __init__(self, shape: tuple[int, int]) -> None:
        self.shape = shape
        self._spare: list[tuple[np.ndarray, np.ndarray]] = []
        self._lock = threading.Lock()

    def get(self) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            pair = self._spare.pop() if self._spare else None
        if pair is None:
            return np.zeros(self.shape, np.float32), np.zeros(self.shape, np.float32)
        for a in pair:
            a.fill(0.0)
        return pair

    def put(self, pair: tuple[np.ndarray, np.ndarray]) -> None:
        with self._lock:
            self._spare.append(pair)


def _drizzle_one(exp: Exposure, prepared, pair: tuple[np.ndarray, np.ndarray],
                 add_chip: Callable, dcfg, *, num_threads: int | None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The single-drizzled image and weight of one exposure.

    ``prepared`` yields ``(data, bad, pixmap)`` for each chip of ``exp`` in
    turn; the chips are drizzled into the zeroed ``pair`` on ``num_threads``
    threads, then pixels without weight get ``driz_sep_fillval`` (when set).
    """
    from ..resample import Drizzle

    drz = Drizzle(kernel=dcfg.driz_sep_kernel, fillval=None, out_img=pair[0],
                  out_wht=pair[1], disable_ctx=True, num_threads=num_threads)
    del pair
    for chip in exp.chips:
        data, bad, pm = next(prepared)
        add_chip(drz, exp, chip, data, bad, pm)
        del data, bad, pm
    sci, wht = drz.out_img, drz.out_wht
    del drz
    if dcfg.driz_sep_fillval is not None:
        sci[wht <= 0] = dcfg.driz_sep_fillval
    return sci, wht


def _write_single(tmpdir: Path, k: int, sci: np.ndarray, wht: np.ndarray
                  ) -> tuple[BandFile, BandFile]:
    """Write the single image and weight of exposure ``k`` to temporary band files."""
    return (BandFile(tmpdir / f"single{k}_sci.f32", sci),
            BandFile(tmpdir / f"single{k}_wht.f32", wht, weight=True))


def create_median(singles, exposures: list[Exposure], cfg: AstroDrizzleConfig, *,
                  memory_limit: int | None, progress: Callable = no_progress,
                  num_threads: int | None = 1, support: np.ndarray | None = None
                  ) -> np.ndarray:
    """Step 4: combine the single images (cps) into the median image (cps).

    ``num_threads`` bands of rows are combined concurrently (see
    :func:`.median.combine`); the result does not depend on it.  A bool
    ``support`` array of the median's shape is filled with the pixels that
    have data (for driz_cr: :func:`.crrej.median_support` of the singles'
    weights with the median's own thresholds, see :func:`.median.combine`),
    from the same reading of the weights.
    """
    mcfg = cfg.median
    gains = [float(np.mean([c.effective_gain for c in e.chips])) for e in exposures]
    # work in electrons/s so that the minmed noise model is in electrons
    images = [_Scaled(s, g) for (s, _), g in zip(singles, gains, strict=True)]
    weights = [w for _, w in singles]
    # sky per pixel per exposure, in electrons
    sky_e = [float(np.mean([c.sky * c.effective_gain * (e.exptime if c.is_rate else 1.0)
                            for c in e.chips])) for e in exposures]
    rn = [float(np.mean([c.readnoise for c in e.chips])) for e in exposures]
    exptimes = [e.exptime for e in exposures]
    # the original converts the thresholds with the first chip's gain and exptime
    med = median_mod.combine(
        images, weights, combine_type=mcfg.combine_type, combine_nsigma=mcfg.combine_nsigma,
        combine_nlow=mcfg.combine_nlow, combine_nhigh=mcfg.combine_nhigh,
        combine_lthresh=mcfg.combine_lthresh, combine_hthresh=mcfg.combine_hthresh,
        combine_grow=mcfg.combine_grow,
        combine_maskpt=mcfg.combine_maskpt if mcfg.median_newmasks else None,
        sky=sky_e,
        exptime=exptimes, readnoise=rn, memory_limit=memory_limit, progress=progress,
        num_threads=num_threads, support=support)
    g0 = gains[0]
    if g0 != 1.0:
        med /= np.float32(g0)
    return med


class _Scaled:
    """Lazy ``array * factor`` with row slicing (keeps memmaps on disk)."""

    def __init__(self, array, factor: float) -> None:
        self.array, self.factor = array, np.float32(factor)
        self.shape = array.shape

    def __getitem__(self, item):
        part = np.asarray(self.array[item], dtype=np.float32)
        return part * self.factor if self.factor != 1 else part


def blot_level(chip: Chip, cfg: AstroDrizzleConfig) -> float:
    """The sky level a blotted image gets: ``chip.sky``, or ``blot_skyval`` when
    ``blot_addsky`` is off."""
    return chip.sky if cfg.blot.blot_addsky else cfg.blot.blot_skyval


def blot_iscale(chip: Chip, out_scale: float | None) -> float:
    """Factor from the median (count rate per output pixel of ``out_scale``
    arcsec; None: the chip's own pixel) to the chip's native units and pixel."""
    iscale = 1.0 if chip.is_rate else chip.exptime
    if out_scale is not None:
        iscale *= (nominal_scale(chip) / out_scale) ** 2
    return iscale


def blot_chip(median, chip: Chip, pixmap: np.ndarray, cfg: AstroDrizzleConfig,
              *, num_threads: int | None = None, median_wcs=None,
              add_sky: bool = True) -> np.ndarray:
    """Step 5: the median (cps) resampled onto ``chip``, in its native units, with
    :func:`blot_level` added (unless ``add_sky`` is False).

    ``median`` is an array or a :class:`drizzlepac_ng.blot.BlotSource` of it
    (prepared once for every chip, with ``blot_interp``).
    """
    from ..blot import blot_image

    bcfg = cfg.blot
    iscale = blot_iscale(chip, None if median_wcs is None else _out_scale(median_wcs))
    out = blot_image(median, pixmap, fillval=0.0, iscale=iscale, interp=bcfg.blot_interp,
                     sinscl=bcfg.blot_sinscl, num_threads=num_threads)
    if add_sky:
        out += np.float32(blot_level(chip, cfg))
    return out


def _ctedir(exp: Exposure, chip: Chip, cfg: AstroDrizzleConfig) -> int:
    if cfg.driz_cr.driz_cr_ctedir is not None:
        return cfg.driz_cr.driz_cr_ctedir
    if exp.instrument == "ACS" and exp.detector == "WFC":
        return 1 if chip.ccdchip == 2 else -1
    if exp.instrument == "WFC3" and exp.detector == "UVIS":
        return 1 if chip.ccdchip == 2 else -1
    return 0


def find_cosmic_rays(exposures: list[Exposure], median: np.ndarray, static: dict,
                     pixmaps: PixmapCache, cfg: AstroDrizzleConfig, *,
                     progress: Callable = no_progress, num_threads: int | None = None,
                     keep_blots: bool = False, workers: int = 1,
                     support: np.ndarray | None = None) -> tuple[PackedMasks, dict]:
    """Steps 5 and 6: blot the median to each chip and flag cosmic rays.

    ``workers`` chips are processed concurrently (threads, each running the
    kernels on one thread); results are collected in input order and do not
    depend on it.  ``support`` (:func:`.crrej.median_support`): the median
    pixels that have data; chip pixels whose blot draws on others are not
    tested (:func:`.crrej.unmodelled_pixels`).
    """
    gaps = None if support is None else crrej.model_gaps(support, cfg.blot.blot_interp)
    ccfg = cfg.driz_cr
    bits = interpret_bits(cfg.driz_sep.driz_sep_bits, "driz_sep_bits")
    masks = PackedMasks()
    blots: dict[str, np.ndarray] = {}
    pairs = [(e, c) for e in exposures for c in e.chips]
    threads = 1 if workers > 1 else num_threads
    flag_threads = 1 if workers > 1 else resolve_num_threads(num_threads)
    from ..blot import BlotSource

    # the median is converted (and for poly5 its row differences tabulated) once
    source = BlotSource(median, cfg.blot.blot_interp, num_threads=num_threads)

    def one(pair):
        exp, chip = pair
        pm = pixmaps.get(chip, num_threads=threads)
        # the blot without its sky level: the test compares it with the chip minus
        # that level (the arithmetic of the tiled run, so both give the same bits)
        blot = blot_chip(source, chip, pm, cfg, num_threads=threads,
                         median_wcs=pixmaps.out_wcs, add_sky=False)
        level = np.float32(blot_level(chip, cfg))
        if not ccfg.driz_cr:
            pixmaps.release(pm)
            if not keep_blots:
                return None, None
            blot += level
            return blot, None
        arr = chip.arrays()
        # test only usable pixels: DQ-flagged ones (hot pixels, bad columns, saturation)
        # are excluded from the drizzle anyway, and growing around them would spread
        # false flags onto good neighbours
        covered = chip_good_mask(static, exp, chip, arr.dq, bits)
        if not pixmaps.all_finite(chip):
            covered &= np.isfinite(pm[..., 0]) & np.isfinite(pm[..., 1])
        if gaps is not None:
            # where the blot draws on median pixels without data it models nothing
            covered &= ~crrej.unmodelled_pixels(gaps, pm)
        pixmaps.release(pm)
        del pm
        cr = crrej.flag_cosmic_rays(
            _minus_sky(chip, arr.data, level), blot, gain=chip.effective_gain,
            readnoise=chip.readnoise, snr=ccfg.driz_cr_snr, scale=ccfg.driz_cr_scale,
            grow=ccfg.driz_cr_grow, ctegrow=ccfg.driz_cr_ctegrow,
            ctedir=_ctedir(exp, chip, cfg), extra_sky=chip.sky, good=covered,
            num_threads=flag_threads)
        del arr
        if not keep_blots:
            return None, cr
        blot += level
        return blot, cr

    results = ordered_map(one, pairs, workers)
    for (_, chip), (blot, cr) in zip(pairs, progress(results, desc="blot + driz_cr",
                                                      total=len(pairs)), strict=True):
        if keep_blots:
            blots[chip.label] = blot
        if cr is None:
            continue
        masks[chip.label] = cr
        log.info("%s: %d pixels flagged as cosmic rays (%.3f%%)", chip.label, int(cr.sum()),
                 100.0 * cr.mean())
    return masks, blots


def final_wht_scale(exp: Exposure, cfg: AstroDrizzleConfig) -> float:
    """The final drizzle's ``wht_scale`` of an exposure's chips (see :func:`final_weight`).

    With ``final_wht_type='EXP'`` the weight map is already the exposure
    time, so ``final_wt_scl='exptime'`` scales it by 1 and any other value
    (``expsq`` or a number) by that value; the ``ERR`` and ``IVM`` weights
    are not scaled (1).

    Parameters
    ----------
    exp : Exposure
    cfg : AstroDrizzleConfig

    Returns
    -------
    float
    """
    fcfg = cfg.final
    if fcfg.final_wht_type != "EXP" or fcfg.final_wt_scl.strip().lower() == "exptime":
        return 1.0
    return _wt_scale(fcfg.final_wt_scl, exp.exptime)


def final_weight(exp: Exposure, chip: Chip, arr, mask: np.ndarray,
                 cfg: AstroDrizzleConfig) -> tuple[np.ndarray, float]:
    """Final-drizzle weight map and ``wht_scale`` of one chip (``final_wht_type``).

    Parameters
    ----------
    exp, chip : Exposure, Chip
        The chip and its exposure.
    arr : ChipArrays
        The chip's arrays (``err`` is needed for ``final_wht_type='ERR'``).
    mask : ndarray of bool
        Good pixels (DQ, static mask and cosmic rays applied).
    cfg : AstroDrizzleConfig
        Parameters.

    Returns
    -------
    weight : ndarray of float32
    wht_scale : float
        :func:`final_wht_scale`.

    Raises
    ------
    MissingExtensionError
        If ``final_wht_type='ERR'`` and the chip has no ERR extension.
    """
    fcfg = cfg.final
    if fcfg.final_wht_type == "EXP":
        weight = mask.astype(np.float32) * np.float32(exp.exptime)
    elif fcfg.final_wht_type == "ERR":
        if arr.err is None:
            from ..errors import MissingExtensionError
            raise MissingExtensionError("final_wht_type='ERR' needs an ERR extension",
                                        filename=chip.filename, extension=("err", chip.extver))
        err_rate = arr.err / (1.0 if chip.is_rate else exp.exptime)
        with np.errstate(divide="ignore", invalid="ignore"):
            weight = np.where(mask & (err_rate > 0), 1.0 / err_rate ** 2, 0.0)
        weight = weight.astype(np.float32)
    else:  # IVM computed from the noise model (flat = 1, dark = 0)
        sky_e = chip.sky * chip.effective_gain * (exp.exptime if chip.is_rate else 1.0)
        var_rate = (max(sky_e, 0.0) + chip.readnoise ** 2) / exp.exptime ** 2
        weight = mask.astype(np.float32) / np.float32(var_rate)
    return weight, final_wht_scale(exp, cfg)


def drizzle_final(exposures: list[Exposure], static: dict, crmasks: dict[str, np.ndarray],
                  pixmaps: PixmapCache, cfg: AstroDrizzleConfig, *,
                  progress: Callable = no_progress, num_threads: int | None = None,
                  prefetch: bool = False
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, list[ChipRecord]]:
    """Step 7: drizzle every chip onto the output frame.

    With ``prefetch``, a background thread prepares the next chip (arrays,
    masks, weights, pixel map) while the kernel drizzles the current one; the
    chips are drizzled in the same order either way.
    """
    from ..resample import Drizzle

    fcfg = cfg.final
    bits = interpret_bits(fcfg.final_bits, "final_bits")
    nx, ny = pixmaps.out_wcs.pixel_shape
    n_chips = sum(len(e.chips) for e in exposures)
    init = np.nan if fcfg.final_maskval is None else fcfg.final_maskval
    out_sci = np.full((ny, nx), init, dtype=np.float32)
    out_wht = np.zeros((ny, nx), dtype=np.float32)
    drz = Drizzle(kernel=fcfg.final_kernel,
                  fillval=None if fcfg.final_fillval is None else fcfg.final_fillval,
                  out_img=out_sci, out_wht=out_wht, disable_ctx=not cfg.general.context,
                  max_ctx_id=max(0, n_chips - 1) if cfg.general.context else None,
                  num_threads=num_threads)
    out_scale = outwcs.cd_scale_orient(pixmaps.out_wcs.wcs.cd)[0]
    records = []
    pairs = [(e, c) for e in exposures for c in e.chips]
    bg_threads = 1 if prefetch else None

    def prepare(pair):
        exp, chip = pair
        arr = chip.arrays()
        mask = chip_good_mask(static, exp, chip, arr.dq, bits)
        cr = crmasks.get(chip.label)
        if cr is not None:
            mask &= ~cr
        data = _minus_sky(chip, arr.data)
        if cfg.general.proc_unit == "electrons":
            data *= np.float32(chip.effective_gain)
        if cfg.final.final_wht_type == "EXP":
            # the EXP weight map is exptime (float32) on good pixels and 0 elsewhere:
            # the same weights come from masking the bad pixels and a scalar scale
            wht_scale = final_wht_scale(exp, cfg)
            weight = np.float32(exp.exptime)
            np.logical_not(mask, out=mask)
            return data, (None, mask, weight), wht_scale, pixmaps.get(
                chip, num_threads=bg_threads)
        weight, wht_scale = final_weight(exp, chip, arr, mask, cfg)
        return data, (weight, None, 1.0), wht_scale, pixmaps.get(chip, num_threads=bg_threads)

    prepared = ordered_map(prepare, pairs, 1, ahead=1 if prefetch else 0)
    for (exp, chip), (data, weight, wht_scale, pm) in zip(
            pairs, progress(prepared, desc="final drizzle", total=len(pairs)), strict=True):
        in_scale = nominal_scale(chip)
        weight_map, bad, factor = weight
        drz.add_image(data, exptime=exp.exptime, pixmap=pm, weight_map=weight_map, mask=bad,
                      wht_scale=float(factor) * wht_scale, pixfrac=fcfg.final_pixfrac,
                      iscale=(out_scale / in_scale) ** 2,
                      in_units="cps" if chip.is_rate else "counts",
                      pixel_scale_ratio=out_scale / in_scale)
        records.append(final_record(exp, chip, cfg, wht_scale, in_scale))
        pixmaps.release(pm)
        del data, weight, weight_map, bad, pm
    sci, wht = drz.out_img, drz.out_wht
    if fcfg.final_units == "counts":
        total = sum(e.exptime for e in exposures)
        sci = sci * np.float32(total)
    ctx = drz.out_ctx if cfg.general.context else None
    if ctx is not None and ctx.ndim == 3 and ctx.shape[0] == 1:
        ctx = ctx[0]
    log.info("final drizzle: %d chips onto %d x %d pixels of %.4f arcsec", n_chips, nx, ny,
             out_scale)
    return sci, wht, ctx, records


# ---------------------------------------------------------------------------------------------
def estimate_memory(exposures: list[Exposure], out_shape: tuple[int, int],
                    cfg: AstroDrizzleConfig, *, workers: int = 1) -> dict[str, int]:
    """Estimated peak bytes of each step (arrays held plus working arrays).

    The estimate counts: one chip's SCI/DQ/ERR and temporaries (~60 bytes per
    chip pixel) plus its pixel map and the temporaries of computing it (32
    bytes per pixel); the packed cosmic-ray masks of every chip; for the separate
    drizzle, one exposure's output image and weight in memory (8 bytes per
    output pixel); for the median, one band (see
    :func:`.median.plan_rows`) of at least 16 rows; for the final drizzle the
    output SCI, WHT and context (4 + 4 + 4 per 32 chips bytes per output pixel)
    plus the median image kept for blotting.  Python, numpy and astropy add
    ~80 MB.  The pixel-map cache comes on top (see :func:`run_pipeline`).

    With ``workers`` > 1 (chips processed concurrently, see
    :func:`run_pipeline`), every further worker adds one chip's arrays and
    pixel map (40 bytes per chip pixel) to the static mask, sky and
    blot + driz_cr steps, one prepared chip (40 bytes per pixel) to the
    drizzle steps, one single-drizzled image and weight being written (8
    bytes per output pixel) to the separate drizzle, and one median band.
    """
    ny, nx = out_shape
    out_px = nx * ny
    chip_px = max(c.shape[0] * c.shape[1] for e in exposures for c in e.chips)
    n_chips = sum(len(e.chips) for e in exposures)
    n_exp = len(exposures)
    # one chip's arrays and driz_cr temporaries (~60 B/px) and its float64 pixel map
    # with the temporaries of computing it (~32 B/px)
    base = 80_000_000 + chip_px * (60 + 32)
    extra = chip_px * 40 if workers > 1 else 0  # a prepared chip (prefetch)
    extra_pool = chip_px * 40 * (workers - 1)  # chips processed concurrently
    in_mem = cfg.general.in_memory
    singles = out_px * 8 * n_exp if in_mem else 0
    steps = {"static mask + sky": base + extra_pool,
             "separate drizzle": base + out_px * 8 + singles + extra
             + (out_px * 8 if workers > 1 and not in_mem else 0)}
    if cfg.median.median:
        rows = 16
        steps["median"] = (50_000_000 + singles + out_px * 4
                           + median_mod.bytes_per_row(n_exp, nx) * rows * max(1, workers))
        steps["blot + driz_cr"] = base + out_px * 4 + chip_px * 16 + singles + extra_pool
    nplanes = math.ceil(n_chips / CTX_BITS) if cfg.general.context else 0
    steps["final drizzle"] = (base + out_px * (8 + 4 * nplanes)
                              + (out_px * 4 if cfg.median.median else 0) + singles + extra)
    # writing: the product is read back once for verification
    steps["write products"] = 80_000_000 + 2 * out_px * (8 + 4 * nplanes) + out_px * 4
    packed_masks = n_chips * chip_px // 8
    return {k: v + packed_masks for k, v in steps.items()}


def run_pipeline(exposures: list[Exposure], cfg: AstroDrizzleConfig, *,
                 progress: Callable = no_progress, workdir: str | Path | None = None,
                 keep_intermediates: bool = False) -> PipelineResult:
    """Run every enabled step on ``exposures`` (no file is written except temporaries).

    Parameters
    ----------
    exposures : list of Exposure
        Read with :func:`.inputs.load_exposures`.
    cfg : AstroDrizzleConfig
        Parameters (step dependencies are applied here).
    progress : callable, optional
        Progress wrapper.
    workdir : str or Path, optional
        Folder for memory-mapped temporaries (default: system temp folder).
    keep_intermediates : bool, optional
        Keep blotted images in the result (for writing them).

    Returns
    -------
    PipelineResult

    Raises
    ------
    MemoryLimitError
        If the estimated peak exceeds ``memory_limit``.
    NoOverlapError
        If an input does not overlap the others or the output frame.
    """
    cfg = effective_config(cfg, len(exposures))
    num_threads = cfg.general.num_cores or None
    limit = cfg.general.memory_limit
    out_wcs = output_frame(exposures, cfg.final_wcs)
    sep_wcs = output_frame(exposures, cfg.driz_sep_wcs) if cfg.driz_sep_wcs.driz_sep_wcs \
        else out_wcs
    check_overlaps(exposures, out_wcs)
    nx, ny = out_wcs.pixel_shape
    # chips are processed on up to num_cores threads when the memory allows
    workers = resolve_num_threads(num_threads)
    estimate = estimate_memory(exposures, (ny, nx), cfg, workers=workers)
    peak = max(estimate.values())
    if workers > 1 and limit is not None and peak > limit:
        workers = 1
        estimate = estimate_memory(exposures, (ny, nx), cfg, workers=1)
        peak = max(estimate.values())
        log.info("memory_limit: one chip at a time")
    log.info("output frame %d x %d pixels; estimated peak memory %.0f MB (%s)", nx, ny,
             peak / 1e6, ", ".join(f"{k} {v / 1e6:.0f} MB" for k, v in estimate.items()))
    if limit is not None and peak > limit:
        worst = max(estimate, key=estimate.get)
        raise MemoryLimitError(
            f"the {worst} step needs about {peak / 1e6:.0f} MB but memory_limit is "
            f"{limit / 1e6:.0f} MB; raise memory_limit, run the tiled task graph "
            "(tile_shape=(2048, 2048), or smaller tiles: its memory depends on the tile "
            "size and the number of exposures over a tile, not on the frame), or reduce the "
            "output frame (final_outnx/final_outny, final_scale)")
    # pixel-map plans are cached in what the budget leaves: a fast-mode plan takes a few
    # MB; an exact-mode one (stepsize=1, or a fast map that fell back) holds the whole map
    budget = 600_000_000 if limit is None else max(0, (limit - peak) // 3)
    chip_px_total = sum(c.shape[0] * c.shape[1] for e in exposures for c in e.chips)
    # exact-mode maps are kept as float64 (no conversion at each use) when all of them
    # fit 1.2 GB (or the budget under memory_limit), else as float32 within the budget
    exact_budget = 1_200_000_000 if limit is None else budget
    exact = chip_px_total * 16 <= exact_budget and sep_wcs is out_wcs
    budget = chip_px_total * 16 if exact else min(budget, chip_px_total * 8)
    log.info("pixel-map plan cache up to %.0f MB (exact-mode maps as %s)", budget / 1e6,
             "float64" if exact else "float32")
    pixmaps_final = PixmapCache(out_wcs, budget=budget, stepsize=cfg.general.stepsize,
                                num_threads=num_threads, exact=exact)
    pixmaps_sep = pixmaps_final if sep_wcs is out_wcs else PixmapCache(
        sep_wcs, budget=budget // 2, stepsize=cfg.general.stepsize, num_threads=num_threads)

    timings: dict[str, float] = {}
    clock = [time.perf_counter()]

    def done(step: str) -> None:
        now = time.perf_counter()
        timings[step] = timings.get(step, 0.0) + now - clock[0]
        clock[0] = now
        log.info("%s done in %.2f s", step, timings[step])

    static = static_masks(exposures, cfg, progress, workers=workers)
    done("static mask")
    measure_sky(exposures, static, cfg, progress, out_wcs=sep_wcs, pixmaps=pixmaps_sep,
                workers=workers)
    done("sky")

    result = PipelineResult(None, None, None, out_wcs, exposures, config=cfg, sep_wcs=sep_wcs,
                            static=static, timings=timings)
    with tempfile.TemporaryDirectory(prefix="astrodrizzle-", dir=workdir) as tmp:
        tmpdir = None if cfg.general.in_memory else Path(tmp)
        if cfg.driz_sep.driz_separate:
            result.singles = drizzle_separate(exposures, static, pixmaps_sep, cfg, tmpdir=tmpdir,
                                              progress=progress, num_threads=num_threads,
                                              prefetch=workers > 1, workers=workers)
            done("separate drizzle")
        support = None
        if cfg.median.median:
            if limit is not None:
                # spare map buffers are not counted in the median's budget
                pixmaps_sep.drop_buffers()
                pixmaps_final.drop_buffers()
            # the band may use what the estimate and the pixel-map cache leave, plus
            # the 16-row band the estimate already counts
            med_budget = None if limit is None else max(
                1, limit - peak - budget
                + median_mod.bytes_per_row(len(exposures), out_wcs.pixel_shape[0]) * 16
                * workers)
            # the median pixels with data, for driz_cr (see find_cosmic_rays)
            support = (np.zeros((ny, nx), dtype=bool)
                       if cfg.driz_cr.driz_cr and cfg.blot.blot else None)
            result.median = create_median(result.singles, exposures, cfg,
                                          memory_limit=med_budget, progress=progress,
                                          num_threads=workers, support=support)
            done("median")
            if not np.any(result.median):
                log.warning("median step rejected every pixel: blot and driz_cr switched off")
                cfg = cfg.replace(blot=False, driz_cr=False)
                result.config = cfg
        if cfg.blot.blot and result.median is not None:
            result.crmasks, result.blots = find_cosmic_rays(
                exposures, result.median, static, pixmaps_sep, cfg, progress=progress,
                num_threads=num_threads, keep_blots=keep_intermediates, workers=workers,
                support=support)
            done("blot + driz_cr")
        if keep_intermediates and tmpdir is not None:
            result.singles = [(np.array(s), np.array(w)) for s, w in result.singles]
        elif tmpdir is not None:
            result.singles = []
        if pixmaps_sep is not pixmaps_final:
            pixmaps_sep.clear()
        if cfg.final.driz_combine:
            result.sci, result.wht, result.ctx, result.records = drizzle_final(
                exposures, static, result.crmasks, pixmaps_final, cfg, progress=progress,
                num_threads=num_threads, prefetch=workers > 1)
            done("final drizzle")
        pixmaps_final.clear()
    return result
