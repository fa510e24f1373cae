"""AstroDrizzle on the tiled task graph of :mod:`drizzlepac_ng.mosaic`.

``AstroDrizzle(..., tile_shape=(2048, 2048), scheduler=None)`` runs every
step as independent tasks, in-process on threads or on a
``dask.distributed`` cluster:

* per exposure: static-mask candidates (combined per detector chip by the
  caller), the sky statistic (combined by :func:`.pipeline.assign_sky` as
  in the whole-frame run), chip preparation (sky-subtracted data, weights,
  pixel-map plan) and the separate drizzle, done once over the exposure's
  own bounding box;
* per output tile: the median of the single images overlapping it;
* per chip: blot of the assembled median and driz_cr;
* per output tile: the final drizzle of the chips overlapping it.

The products do not depend on the scheduler or the tile shape.  The task
functions are those of :mod:`.pipeline` and :mod:`drizzlepac_ng.mosaic`
(called, not copied), so the static masks, sky values and chip arrays are
bit for bit those of the whole-frame run.

Chip arrays and single images are written as ``.npy`` files in a
temporary folder next to the products (unless ``in_memory``), so a task
opens only what it needs, memory-mapped, and a cluster ships file names
instead of arrays; a cluster on several machines therefore needs the output
folder on a shared file system.  Pixel maps travel as plans
(:class:`~drizzlepac_ng.pixmap.PixmapPlan`, a few MB of coefficients,
evaluated by the tasks where they need the map).  WCS objects do not cross
process boundaries exactly (see :class:`Geometry`): on a cluster the plans
are made by the calling process.  The mosaic (SCI, WHT, CTX and the median)
is assembled tile by tile in a FITS file there and handed to
:func:`.products.write_products` as memory maps.

The products are those of the whole-frame run (:mod:`.pipeline`) bit for
bit: the kernels drizzle into output windows without shifting a pixel map,
the blot rounds global positions, and driz_cr compares the same numbers
(see the user guide, "Running large mosaics", for the reasoning and the
one exception, float32-cached exact-mode maps).
"""

from __future__ import annotations

import copy
import logging
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from ..errors import ConfigError, FileUpdateError
from ..logutil import no_progress
from ..mosaic import BBox, ChipInput, Task, connect, pixmap_bbox, run_mosaic, run_tasks
from ..mosaic.graph import (
    PLAN_SUFFIX,
    SingleImage,
    drizzle_single,
    prepare_chips,
    whole_pixmap,
)
from ..pixmap import PixmapPlan
from . import sky as sky_mod
from .config import AstroDrizzleConfig, interpret_bits
from .inputs import Exposure
from .pipeline import (
    ChipRecord,
    PackedMasks,
    PipelineResult,
    _CoarseMap,
    _ctedir,
    _out_scale,
    _pixel_area,
    _static_for,
    _static_key,
    _wt_scale,
    assign_sky,
    blot_iscale,
    check_overlaps,
    chip_good_mask,
    chip_sky_value,
    chip_static_candidates,
    effective_config,
    final_record,
    final_weight,
    measure_sky,
    nominal_scale,
    output_frame,
    plan_chip,
    sky_stat_options,
)

__all__ = ["DEFAULT_TILE_SHAPE", "check_tiled_supported", "run_tiled",
           "unsupported_in_tiled"]

log = logging.getLogger(__name__)

#: tile shape of a run given a ``scheduler`` and ``tile_shape=None``
DEFAULT_TILE_SHAPE = (2048, 2048)


def unsupported_in_tiled(cfg: AstroDrizzleConfig) -> list[str]:
    """Parameters set to values the tiled run cannot honour (empty when it can).

    Parameters
    ----------
    cfg : AstroDrizzleConfig

    Returns
    -------
    list of str
        One reason per parameter.
    """
    out = []
    if cfg.general.write_intermediates:
        out.append("write_intermediates=True (single-drizzled and blotted images are never "
                   "formed whole in the tiled run)")
    if cfg.driz_cr.driz_cr_corr:
        out.append("driz_cr_corr=True (needs whole blotted images)")
    if not cfg.blot.blot_addsky and cfg.driz_cr.driz_cr:
        out.append("blot_addsky=False (the tiled driz_cr adds each chip's own sky)")
    if cfg.driz_sep_wcs.driz_sep_wcs:
        out.append("driz_sep_wcs=True (the tiled median uses the final output frame)")
    return out


def check_tiled_supported(cfg: AstroDrizzleConfig) -> None:
    """Raise :class:`ConfigError` listing every parameter the tiled run cannot honour.

    Parameters
    ----------
    cfg : AstroDrizzleConfig

    Raises
    ------
    ConfigError
        One or more :func:`unsupported_in_tiled` reasons.
    """
    reasons = unsupported_in_tiled(cfg)
    if reasons:
        raise ConfigError("not available in the tiled run (tile_shape/scheduler): "
                          + "; ".join(reasons) + ". Use tile_shape=None, scheduler=None "
                          "for the whole-frame run")


def _save(folder: Path | None, name: str, array: np.ndarray) -> np.ndarray | str:
    """An array for a ChipInput: the array itself, or the path of its ``.npy`` file."""
    if folder is None:
        return array
    path = folder / f"{name}.npy"
    try:
        np.save(path, array)
    except OSError as exc:  # full disk, quota
        raise FileUpdateError(f"cannot write a temporary chip array ({exc}); no input file "
                              "was changed (free some space, or use in_memory=True)",
                              filename=str(path)) from exc
    return str(path)


def _read(ref: np.ndarray | str | None) -> np.ndarray | None:
    """The array of :func:`_save` (memory-mapped when it is a path)."""
    if ref is None or not isinstance(ref, str):
        return ref
    return np.load(ref, mmap_mode="r")


def _map_ref(plan: PixmapPlan, folder: Path | None, name: str) -> PixmapPlan | np.ndarray | str:
    """What a ChipInput carries for a pixel map: a fast-mode plan (a few MB of
    coefficients, evaluated by the tasks where needed) saved in ``folder`` (so
    that neither this process nor the task graph holds every chip's plan) or
    itself without a folder; an exact-mode map as a ``.npy`` file (or array)."""
    if plan.mode != "fast":
        return _save(folder, name, plan.evaluate())
    if folder is None or not plan.can_save:
        return plan
    path = folder / f"{name}{PLAN_SUFFIX}"
    try:
        return plan.save(path)
    except OSError as exc:
        raise FileUpdateError(f"cannot write a temporary pixel-map plan ({exc}); no input "
                              "file was changed (free some space, or use in_memory=True)",
                              filename=str(path)) from exc


def _chip_map(ref: PixmapPlan | np.ndarray | str | None, geometry: Geometry, chip: Any,
              folder: Path | None, name: str) -> tuple[np.ndarray, Any]:
    """The chip's whole pixel map and what a ChipInput carries for it: ``ref`` when
    given (a plan, array or file), else a plan made here (:func:`_map_ref`)."""
    if ref is not None:
        return whole_pixmap(ref, chip.label), ref
    plan = geometry.plan(chip)
    return plan.evaluate(num_threads=1), _map_ref(plan, folder, name)


@dataclass(frozen=True)
class Geometry:
    """What the per-exposure tasks need of the output frame and the chips' WCSs.

    WCS objects do not cross process boundaries exactly (astropy pickles
    them as header text, which moves pixel positions by up to ~3e-8 px), so
    everything derived from a WCS is computed where the WCS was built: the
    scales here by the caller, the pixel-map plans by in-process tasks
    (threads share the WCS objects; each task uses its own copy of the
    output frame) or, for a cluster, by the caller before the tasks are
    sent.  A plan (:class:`~drizzlepac_ng.pixmap.PixmapPlan`) has no WCS in
    it: it evaluates to the same bits in any process.

    Attributes
    ----------
    frame : WCS or None
        The output frame for in-process tasks that compute pixel maps
        (None: every map is given).
    shape : (nx, ny)
        Output frame size.
    out_scale : float
        Output pixel scale (arcsec).
    stepsize : int
        Pixel-map step.
    """

    frame: Any
    shape: tuple[int, int]
    out_scale: float
    stepsize: int = 10

    def plan(self, chip: Any) -> PixmapPlan:
        """Pixel-map plan of ``chip`` onto a private copy of the frame: it evaluates
        to the bits of the whole-frame run's :class:`.pipeline.PixmapCache` maps."""
        if self.frame is None:
            raise ConfigError(f"no pixel map given for {chip.label}")
        return plan_chip(chip, copy.deepcopy(self.frame), self.stepsize)


class _FrameShape:
    """Stand-in for the output WCS where only its size is used (coarse sky maps)."""

    def __init__(self, shape: tuple[int, int]) -> None:
        self.pixel_shape = shape


# ---------------------------------------------------------------------------------------------
# per-exposure tasks: pure functions of picklable arguments (they run in a thread of this
# process or in a Dask worker); each reads its own exposure's chips from the input file
def static_task(exp: Exposure, bits: int, static_sig: float) -> list[np.ndarray]:
    """Static-mask candidates of every chip of one exposure (as :func:`.pipeline.static_masks`).

    Parameters
    ----------
    exp : Exposure
    bits : int
        DQ bits treated as good (``driz_sep_bits``).
    static_sig : float

    Returns
    -------
    list of ndarray of bool
        One mask per chip (True = good); the caller combines them per detector chip.
    """
    return [chip_static_candidates(chip, chip.arrays(), bits, static_sig) for chip in exp.chips]


def sky_task(exp: Exposure, static: dict, areas: list[float], bits: int, use_static: bool,
             stat_options: dict, geometry: Geometry | None = None,
             pixmaps: list | None = None, folder: Path | None = None,
             first: int = 0) -> tuple[list[tuple[float, float]], np.ndarray | None, list]:
    """Sky statistic of every chip of one exposure (as :func:`.pipeline.measure_sky`).

    Parameters
    ----------
    exp : Exposure
    static : dict
        Static masks (arrays or ``.npy`` paths) keyed as in :mod:`.pipeline`.
    areas : list of float
        Nominal pixel area of every chip (arcsec^2).
    bits : int
        ``sky_bits``.
    use_static : bool
    stat_options : dict
        :func:`.pipeline.sky_stat_options`.
    geometry : Geometry, optional
        Given for the ``*match`` methods: the exposure's coarse brightness map
        on the output frame is returned too.
    pixmaps : list, optional
        Pixel maps per chip (plans, arrays or ``.npy`` paths), None for one
        to compute.
    folder : Path, optional
        Where computed exact-mode maps are saved (None: returned as arrays;
        fast-mode maps are returned as plans).
    first : int
        Global index of the exposure's first chip (file names).

    Returns
    -------
    stats : list of (scale, value)
        Per chip: brightness scale (pixel area x exposure time) and statistic.
    coarse : ndarray or None
        Coarse map (``*match`` only).
    pixmaps : list
        Pixel maps per chip (plans, arrays or paths; None where none was needed).
    """
    stats, pms = [], []
    cells = _CoarseMap(_FrameShape(geometry.shape)) if geometry is not None else None
    given = pixmaps or [None] * len(exp.chips)
    for n, chip in enumerate(exp.chips):
        arr = chip.arrays()
        good, scale, value = chip_sky_value(
            exp, chip, arr, bits, _read(_static_for(static, exp, chip)) if use_static else None,
            areas[n], stat_options)
        stats.append((scale, value))
        ref = given[n]
        if cells is not None:
            pm, ref = _chip_map(ref, geometry, chip, folder, f"c{first + n}_pixmap")
            cells.append(cells.piece(arr.data, good, scale, pm))
            del pm
        pms.append(ref)
        del arr, good
    return stats, (cells.medians() if cells is not None else None), pms


def prepare_task(k: int, exp: Exposure, skies: list[float], in_scales: list[float],
                 static: dict, cfg: AstroDrizzleConfig, geometry: Geometry,
                 folder: Path | None, first: int, pixmaps: list, single: bool = False
                 ) -> tuple[list[ChipInput], list[ChipInput], list[ChipRecord],
                            SingleImage | None]:
    """Chip inputs of one exposure for the separate drizzle / driz_cr and the final
    drizzle, and (with ``single``) the exposure's single image, drizzled once.

    Parameters
    ----------
    k : int
        Exposure index.
    exp : Exposure
    skies : list of float
        Sky of every chip (native units).
    in_scales : list of float
        Nominal pixel scale of every chip (arcsec).
    static : dict
        Static masks (arrays or paths) keyed as in :mod:`.pipeline`.
    cfg : AstroDrizzleConfig
    geometry : Geometry
    folder : Path or None
        Where the chip arrays are saved as ``.npy`` (None: kept as arrays).
    first : int
        Global index of the exposure's first chip.
    pixmaps : list
        Pixel maps per chip (plans, arrays or paths), None for one to compute
        (as a plan).
    single : bool
        Also drizzle the exposure's single image (separate-drizzle kernel
        and pixfrac), over the boxes :func:`.run_mosaic` gives its
        chips (the reach of both kernels), saved as ``single_<k>_*.npy``.

    Returns
    -------
    sep_chips, fin_chips : list of ChipInput
    records : list of ChipRecord
    single : SingleImage or None
    """
    fcfg, dcfg = cfg.final, cfg.driz_sep
    sep_bits = interpret_bits(dcfg.driz_sep_bits, "driz_sep_bits")
    fin_bits = interpret_bits(fcfg.final_bits, "final_bits")
    out_scale = geometry.out_scale
    electrons = cfg.general.proc_unit == "electrons"
    local = {key: _read(ref) for key, ref in static.items()}
    sep_chips, fin_chips, records = [], [], []
    for i, chip in enumerate(exp.chips):
        n = first + i
        chip.sky = float(skies[i])
        arr = chip.arrays()
        sep_mask = chip_good_mask(local, exp, chip, arr.dq, sep_bits)
        fin_mask = chip_good_mask(local, exp, chip, arr.dq, fin_bits)
        data = arr.data - np.float32(chip.sky)
        in_scale = in_scales[i]
        iscale = (out_scale / in_scale) ** 2
        units = "cps" if chip.is_rate else "counts"
        pm, pm_ref = _chip_map(pixmaps[i], geometry, chip, folder, f"c{n}_pixmap")
        extent = pixmap_bbox(pm, 0)
        del pm
        data_ref = _save(folder, f"c{n}_data", data)
        common = dict(pixmap=pm_ref, exptime=exp.exptime, exposure=k, label=chip.label,
                      iscale=iscale, in_units=units, extent=extent)
        sep_chips.append(ChipInput(
            data=data_ref, weight=_save(folder, f"c{n}_sepwht", sep_mask),
            pixel_scale_ratio=math.sqrt(iscale),
            wht_scale=_wt_scale(dcfg.driz_sep_wt_scl, exp.exptime),
            sky=float(chip.sky),
            gain=float(chip.effective_gain), readnoise=float(chip.readnoise),
            ctedir=_ctedir(exp, chip, cfg), blot_iscale=blot_iscale(chip, out_scale),
            **common))
        weight, wht_scale = final_weight(exp, chip, arr, fin_mask, cfg)
        if electrons:
            data *= np.float32(chip.effective_gain)
            data_ref = _save(folder, f"c{n}_findata", data)
        fin_chips.append(ChipInput(
            data=data_ref, weight=_save(folder, f"c{n}_finwht", weight),
            pixel_scale_ratio=out_scale / in_scale, wht_scale=wht_scale, **common))
        records.append(final_record(exp, chip, cfg, wht_scale, in_scale))
        del arr, data, weight, sep_mask, fin_mask
    image = None
    if single:
        # the boxes run_mosaic gives the chips: both kernels' reach
        framed = prepare_chips(sep_chips, fcfg.final_kernel, fcfg.final_pixfrac,
                               also=[(dcfg.driz_sep_kernel, dcfg.driz_sep_pixfrac)])
        nx, ny = geometry.shape
        image = drizzle_single(framed, BBox(0, nx, 0, ny), kernel=dcfg.driz_sep_kernel,
                               pixfrac=dcfg.driz_sep_pixfrac,
                               path=None if folder is None else str(folder / f"single_{k}"))
    return sep_chips, fin_chips, records, image


def _first_chips(exposures: list[Exposure]) -> list[int]:
    """Global index of every exposure's first chip."""
    out, n = [], 0
    for e in exposures:
        out.append(n)
        n += len(e.chips)
    return out


def _own_static(static_refs: dict, exp: Exposure) -> dict:
    """The static masks of the exposure's chips only (what its task needs)."""
    keys = {_static_key(exp, c) for c in exp.chips}
    return {key: v for key, v in static_refs.items() if key in keys}


def _static_step(exposures: list[Exposure], cfg: AstroDrizzleConfig, client: Any,
                 run_kw: dict) -> dict:
    """Step 1 as one task per exposure; masks combined per detector chip in input order."""
    if not cfg.static.static:
        return {}
    bits = interpret_bits(cfg.driz_sep.driz_sep_bits, "driz_sep_bits")
    tasks = [Task(f"static-{k}", f"static mask of {Path(e.filename).name}", static_task,
                  (e, bits, cfg.static.static_sig)) for k, e in enumerate(exposures)]
    masks: dict = {}
    for k, (_, res) in enumerate(run_tasks(tasks, client, desc="static mask", **run_kw)):
        exp = exposures[k]
        for chip, m in zip(exp.chips, res, strict=True):
            key = _static_key(exp, chip)
            masks[key] = masks[key] & m if key in masks else m
    for key, m in masks.items():
        log.info("static mask %s: %d pixels masked", key[2:4], int((~m).sum()))
    return masks


def _caller_pixmaps(exposures: list[Exposure], out_wcs: Any, folder: Path | None,
                    stepsize: int, progress: Callable) -> list[list]:
    """Pixel-map plans made here (for a cluster: the WCS objects stay in this process;
    the workers evaluate the plans, which give the same bits anywhere)."""
    firsts = _first_chips(exposures)
    out = []
    for k, exp in enumerate(progress(exposures, desc="pixel-map plans", total=len(exposures))):
        out.append([_map_ref(plan_chip(chip, out_wcs, stepsize), folder,
                             f"c{firsts[k] + i}_pixmap") for i, chip in enumerate(exp.chips)])
    return out


def _sky_step(exposures: list[Exposure], static_refs: dict, cfg: AstroDrizzleConfig,
              geometry: Geometry, pixmaps: list[list], folder: Path | None, client: Any,
              run_kw: dict) -> list[list]:
    """Step 2 as one task per exposure (sets ``chip.sky``); returns the pixel maps, with
    those computed for sky matching."""
    scfg = cfg.sky
    if scfg.skyfile or not scfg.skysub:
        # user values or header keywords: no pixel is read
        measure_sky(exposures, {}, cfg)
        return pixmaps
    bits = interpret_bits(scfg.sky_bits, "sky_bits")
    stat_options = sky_stat_options(cfg)
    match = scfg.skymethod.endswith("match")
    firsts = _first_chips(exposures)
    tasks = [Task(f"sky-{k}", f"sky of {Path(e.filename).name}", sky_task,
                  (e, _own_static(static_refs, e), [_pixel_area(c) for c in e.chips],
                   bits, scfg.use_static, stat_options),
                  dict(geometry=geometry if match else None, pixmaps=pixmaps[k],
                       folder=folder, first=firsts[k]))
             for k, e in enumerate(exposures)]
    sky_chips, maps, pms = [], [], []
    for k, (_, (stats, coarse, pm)) in enumerate(run_tasks(tasks, client, desc="sky",
                                                           **run_kw)):
        sky_chips.extend(sky_mod.SkyChip(None, None, scale, k, value=value)
                         for scale, value in stats)
        maps.append(coarse)
        pms.append(pm)
    assign_sky(exposures, sky_chips, maps if match else None, scfg.skymethod)
    return pms


def _prepare_step(exposures: list[Exposure], static_refs: dict, cfg: AstroDrizzleConfig,
                  geometry: Geometry, pixmaps: list[list], folder: Path | None, client: Any,
                  run_kw: dict, single: bool = False
                  ) -> tuple[list[ChipInput], list[ChipInput], list[ChipRecord],
                             list[SingleImage]]:
    """Chip preparation (and the single images) as one task per exposure, in input order."""
    firsts = _first_chips(exposures)
    # the tasks get the parameters without the scheduler (a Client cannot be shipped)
    cfg = cfg.replace(scheduler=None) if cfg.general.scheduler is not None else cfg
    tasks = [Task(f"prepare-{k}", f"chip preparation of {Path(e.filename).name}",
                  prepare_task,
                  (k, e, [c.sky for c in e.chips], [nominal_scale(c) for c in e.chips],
                   _own_static(static_refs, e), cfg, geometry, folder, firsts[k], pixmaps[k],
                   single))
             for k, e in enumerate(exposures)]
    sep_chips, fin_chips, records, singles = [], [], [], []
    desc = "prepare chips + separate drizzle" if single else "prepare chips"
    for _, (sep, fin, rec, image) in run_tasks(tasks, client, desc=desc, **run_kw):
        sep_chips.extend(sep)
        fin_chips.extend(fin)
        records.extend(rec)
        singles.append(image)
    return sep_chips, fin_chips, records, singles


def _median_kw(exposures: list[Exposure], cfg: AstroDrizzleConfig) -> dict:
    """Keyword arguments of the tiled median (as :func:`.pipeline.create_median`)."""
    mcfg, dcfg = cfg.median, cfg.driz_sep
    gains = [float(np.mean([c.effective_gain for c in e.chips])) for e in exposures]
    sky_e = [float(np.mean([c.sky * c.effective_gain * (e.exptime if c.is_rate else 1.0)
                            for c in e.chips])) for e in exposures]
    rn = [float(np.mean([c.readnoise for c in e.chips])) for e in exposures]
    kw: dict[str, Any] = dict(
        halo=mcfg.combine_grow if mcfg.combine_type.endswith("minmed") else 0,
        kernel=dcfg.driz_sep_kernel, pixfrac=dcfg.driz_sep_pixfrac,
        combine_type=mcfg.combine_type, combine_nsigma=mcfg.combine_nsigma,
        combine_nlow=mcfg.combine_nlow, combine_nhigh=mcfg.combine_nhigh,
        combine_lthresh=mcfg.combine_lthresh, combine_hthresh=mcfg.combine_hthresh,
        combine_grow=mcfg.combine_grow, sky=sky_e, exptime=[e.exptime for e in exposures],
        readnoise=rn, gain=gains, gain_ref=gains[0])
    if mcfg.median_newmasks and mcfg.combine_maskpt:
        kw["combine_maskpt"] = mcfg.combine_maskpt
    return kw


def _scale_in_place(hdu: fits.ImageHDU, factor: float, rows: int = 512) -> None:
    """Multiply a memory-mapped image by ``factor`` (float32), band by band."""
    data = hdu.data
    f = np.float32(factor)
    for y0 in range(0, data.shape[0], rows):
        data[y0:y0 + rows] = data[y0:y0 + rows] * f


@contextmanager
def run_tiled(exposures: list[Exposure], cfg: AstroDrizzleConfig, *,
              progress: Callable = no_progress, workdir: str | os.PathLike | None = None,
              connect_timeout: float = 10.0) -> Iterator[PipelineResult]:
    """Run every enabled step as a tiled task graph; yield the result while its files exist.

    Use as a context manager: the SCI, WHT and CTX arrays of the yielded
    result are memory maps of a temporary mosaic file that is removed on
    exit (write the products inside the ``with`` block).

    Parameters
    ----------
    exposures : list of Exposure
        Read with :func:`.inputs.load_exposures`.
    cfg : AstroDrizzleConfig
        Parameters; ``tile_shape`` (default ``(2048, 2048)``) and
        ``scheduler`` (None: threads in this process) select where it runs;
        ``num_cores`` is the number of threads of an in-process run;
        ``memory_limit`` is checked against the estimated memory of one tile
        task.
    progress : callable, optional
        Progress wrapper (one bar per step).
    workdir : path-like, optional
        Folder of the temporaries (default: system temporary folder); on a
        multi-machine cluster it must be shared with the workers.
    connect_timeout : float
        Seconds to wait for a scheduler address.

    Yields
    ------
    PipelineResult
        ``sci``, ``wht``, ``ctx`` (memory maps, None when ``driz_combine`` is
        off), ``crmasks``, ``records``, ``exposures`` (with ``chip.sky``) and
        the effective ``config``.

    Raises
    ------
    ConfigError
        A parameter the tiled run does not support (see
        :func:`unsupported_in_tiled`), or a bad tile shape / scheduler.
    SchedulerError, MosaicTaskError
        The cluster is unreachable, or a task failed twice.
    NoOverlapError, MemoryLimitError
        As the whole-frame run.
    """
    cfg = effective_config(cfg, len(exposures))
    check_tiled_supported(cfg)
    g = cfg.general
    tile_shape = g.tile_shape or DEFAULT_TILE_SHAPE
    out_wcs = output_frame(exposures, cfg.final_wcs)
    check_overlaps(exposures, out_wcs)
    nx, ny = out_wcs.pixel_shape
    n_chips = sum(len(e.chips) for e in exposures)
    log.info("tiled run: output frame %d x %d pixels in tiles of %s, %d chips, scheduler %s",
             nx, ny, tuple(tile_shape), n_chips,
             "in-process" if g.scheduler is None else g.scheduler)
    # connect first: an unreachable cluster fails before any work is done
    with connect(g.scheduler, timeout=connect_timeout) as client, \
            tempfile.TemporaryDirectory(prefix="astrodrizzle-tiles-", dir=workdir) as tmp:
        tmpdir = Path(tmp)
        folder = None if g.in_memory else tmpdir
        run_kw = dict(max_workers=g.num_cores or os.cpu_count() or 2, progress=progress)
        static = _static_step(exposures, cfg, client, run_kw)
        # the tasks read the static masks from files (a cluster ships their names)
        static_refs = {key: _save(folder, f"static_{n}", m)
                       for n, (key, m) in enumerate(static.items())}
        nx, ny = out_wcs.pixel_shape
        if client is None:
            geometry = Geometry(out_wcs, (nx, ny), _out_scale(out_wcs), g.stepsize)
            pixmaps: list[list] = [[None] * len(e.chips) for e in exposures]
        else:
            geometry = Geometry(None, (nx, ny), _out_scale(out_wcs), g.stepsize)
            pixmaps = _caller_pixmaps(exposures, out_wcs, folder, g.stepsize, progress)
        pixmaps = _sky_step(exposures, static_refs, cfg, geometry, pixmaps, folder, client,
                            run_kw)
        use_cr = cfg.driz_cr.driz_cr and cfg.blot.blot and cfg.median.median
        sep_chips, fin_chips, records, singles = _prepare_step(
            exposures, static_refs, cfg, geometry, pixmaps, folder, client, run_kw,
            single=use_cr)
        del pixmaps
        crmasks = PackedMasks()
        labels = [c.label for c in sep_chips]

        def on_crmask(k: int, mask: np.ndarray) -> None:
            crmasks[labels[k]] = mask
            log.info("%s: %d pixels flagged as cosmic rays (%.3f%%)", labels[k],
                     int(mask.sum()), 100.0 * mask.mean())

        ccfg, bcfg, fcfg = cfg.driz_cr, cfg.blot, cfg.final
        fill = fcfg.final_fillval if fcfg.final_fillval is not None else (
            fcfg.final_maskval if fcfg.final_maskval is not None else np.nan)
        mosaic = tmpdir / "mosaic.fits"
        run_mosaic(
            sep_chips, (ny, nx), mosaic, tile_shape=tile_shape, scheduler=client,
            kernel=fcfg.final_kernel, pixfrac=fcfg.final_pixfrac, fillval=fill,
            context=g.context, median=_median_kw(exposures, cfg) if use_cr else None,
            driz_cr=dict(snr=ccfg.driz_cr_snr, scale=ccfg.driz_cr_scale,
                         grow=ccfg.driz_cr_grow, ctegrow=ccfg.driz_cr_ctegrow,
                         interp=bcfg.blot_interp, sinscl=bcfg.blot_sinscl) if use_cr else None,
            memory_limit=g.memory_limit, final_chips=fin_chips, **run_kw, on_crmask=on_crmask,
            scratch=None if g.in_memory else tmpdir, final=fcfg.driz_combine,
            singles=singles if use_cr else None)
        del sep_chips, fin_chips, singles
        if fcfg.driz_combine and fcfg.final_units == "counts":
            total = sum(e.exptime for e in exposures)
            with fits.open(mosaic, mode="update", memmap=True) as hdul:
                _scale_in_place(hdul["SCI"], total)
        if fcfg.driz_combine:
            log.info("final drizzle: %d chips onto %d x %d pixels of %.4f arcsec", n_chips,
                     nx, ny, _out_scale(out_wcs))
        with fits.open(mosaic, memmap=True) as hdul:
            names = [h.name for h in hdul]
            result = PipelineResult(
                hdul["SCI"].data if fcfg.driz_combine else None,
                hdul["WHT"].data if fcfg.driz_combine else None,
                hdul["CTX"].data if fcfg.driz_combine and "CTX" in names else None,
                out_wcs, exposures, crmasks=crmasks,
                median=hdul["MED"].data if "MED" in names else None,
                records=records if fcfg.driz_combine else [], config=cfg, sep_wcs=out_wcs,
                static=static)
            yield result
