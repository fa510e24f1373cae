"""AstroDrizzle on the tiled task graph of :mod:`drizzlepac_ng.mosaic`.

``AstroDrizzle(..., tile_shape=(2048, 2048), scheduler=None)`` runs the
per-exposure steps (static mask, sky) exactly as the whole-frame pipeline
(:mod:`.pipeline`, whose functions are reused), then hands every chip to
:func:`drizzlepac_ng.mosaic.run_mosaic` as a
:class:`~drizzlepac_ng.mosaic.ChipInput` and runs the separate drizzle,
median, blot + driz_cr and final drizzle as independent tasks per output tile
(per chip for driz_cr), in-process on threads or on a ``dask.distributed``
cluster.  The products do not depend on the scheduler or the tile shape.

Chip arrays (sky-subtracted data, weights, pixel maps) are written as
``.npy`` files in a temporary folder next to the products (unless
``in_memory``), so a task opens only what it needs, memory-mapped, and a
cluster ships file names instead of arrays; a cluster on several machines
therefore needs the output folder on a shared file system.  The mosaic
(SCI, WHT, CTX and the median) is assembled tile by tile in a memory-mapped
FITS file there and handed to :func:`.products.write_products` as memory
maps.

Differences from the whole-frame path (all within float32 rounding, see the
user guide): pixel maps are always float64 (the whole-frame path reuses
cached float32 copies), the blot of the median is done on a cut-out per chip,
and the ``combine_maskpt`` thresholds are summed exactly.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from ..errors import ConfigError
from ..logutil import no_progress
from ..mosaic import ChipInput, connect, run_mosaic
from .config import AstroDrizzleConfig, interpret_bits
from .inputs import Exposure
from .pipeline import (
    ChipRecord,
    PackedMasks,
    PipelineResult,
    PixmapCache,
    _ctedir,
    _out_scale,
    _wt_scale,
    check_overlaps,
    chip_good_mask,
    effective_config,
    final_record,
    final_weight,
    measure_sky,
    nominal_scale,
    output_frame,
    static_masks,
)

__all__ = ["DEFAULT_TILE_SHAPE", "run_tiled", "tiled_requested", "unsupported_in_tiled"]

log = logging.getLogger(__name__)

#: tile shape used when only ``scheduler`` is given
DEFAULT_TILE_SHAPE = (2048, 2048)


def tiled_requested(cfg: AstroDrizzleConfig) -> bool:
    """True when ``tile_shape`` or ``scheduler`` selects the tiled run."""
    return cfg.general.tile_shape is not None or cfg.general.scheduler is not None


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


def _save(folder: Path | None, name: str, array: np.ndarray) -> np.ndarray | str:
    """An array for a ChipInput: the array itself, or the path of its ``.npy`` file."""
    if folder is None:
        return array
    path = folder / f"{name}.npy"
    np.save(path, array)
    return str(path)


def _build_chips(exposures: list[Exposure], static: dict, pixmaps: PixmapCache,
                 cfg: AstroDrizzleConfig, folder: Path | None, progress: Callable
                 ) -> tuple[list[ChipInput], list[ChipInput], list[ChipRecord]]:
    """Separate-drizzle / driz_cr chips, final-drizzle chips and the final records."""
    fcfg, dcfg = cfg.final, cfg.driz_sep
    sep_bits = interpret_bits(dcfg.driz_sep_bits, "driz_sep_bits")
    fin_bits = interpret_bits(fcfg.final_bits, "final_bits")
    out_scale = _out_scale(pixmaps.out_wcs)
    electrons = cfg.general.proc_unit == "electrons"
    sep_chips, fin_chips, records = [], [], []
    pairs = [(k, e, c) for k, e in enumerate(exposures) for c in e.chips]
    for n, (k, exp, chip) in enumerate(progress(pairs, desc="prepare chips", total=len(pairs))):
        arr = chip.arrays()
        sep_mask = chip_good_mask(static, exp, chip, arr.dq, sep_bits)
        fin_mask = chip_good_mask(static, exp, chip, arr.dq, fin_bits)
        data = arr.data - np.float32(chip.sky)
        in_scale = nominal_scale(chip)
        iscale = (out_scale / in_scale) ** 2
        units = "cps" if chip.is_rate else "counts"
        pm = _save(folder, f"c{n}_pixmap", pixmaps.get(chip))
        data_ref = _save(folder, f"c{n}_data", data)
        common = dict(pixmap=pm, exptime=exp.exptime, exposure=k, label=chip.label,
                      iscale=iscale, in_units=units)
        sep_chips.append(ChipInput(
            data=data_ref, weight=_save(folder, f"c{n}_sepwht", sep_mask.astype(np.float32)),
            pixel_scale_ratio=math.sqrt(iscale),
            wht_scale=_wt_scale(dcfg.driz_sep_wt_scl, exp.exptime),
            sky=float(chip.sky),
            gain=float(chip.effective_gain), readnoise=float(chip.readnoise),
            ctedir=_ctedir(exp, chip, cfg), **common))
        weight, wht_scale = final_weight(exp, chip, arr, fin_mask, cfg)
        if electrons:
            data *= np.float32(chip.effective_gain)
            data_ref = _save(folder, f"c{n}_findata", data)
        fin_chips.append(ChipInput(
            data=data_ref, weight=_save(folder, f"c{n}_finwht", weight),
            pixel_scale_ratio=out_scale / in_scale, wht_scale=wht_scale, **common))
        records.append(final_record(exp, chip, cfg, wht_scale, in_scale))
        del arr, data, weight, sep_mask, fin_mask
    return sep_chips, fin_chips, records


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
    reasons = unsupported_in_tiled(cfg)
    if reasons:
        raise ConfigError("not available in the tiled run (tile_shape/scheduler): "
                          + "; ".join(reasons) + ". Use tile_shape=None, scheduler=None "
                          "for the whole-frame run")
    g = cfg.general
    tile_shape = g.tile_shape or DEFAULT_TILE_SHAPE
    num_threads = g.num_cores or None
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
        pixmaps = PixmapCache(out_wcs, budget=0, stepsize=g.stepsize, num_threads=num_threads)
        static = static_masks(exposures, cfg, progress)
        measure_sky(exposures, static, cfg, progress, out_wcs=out_wcs, pixmaps=pixmaps)
        sep_chips, fin_chips, records = _build_chips(
            exposures, static, pixmaps, cfg, None if g.in_memory else tmpdir, progress)
        crmasks = PackedMasks()
        labels = [c.label for c in sep_chips]

        def on_crmask(k: int, mask: np.ndarray) -> None:
            crmasks[labels[k]] = mask
            log.info("%s: %d pixels flagged as cosmic rays (%.3f%%)", labels[k],
                     int(mask.sum()), 100.0 * mask.mean())

        use_cr = cfg.driz_cr.driz_cr and cfg.blot.blot and cfg.median.median
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
            memory_limit=g.memory_limit, max_workers=g.num_cores or os.cpu_count() or 2,
            progress=progress, final_chips=fin_chips, on_crmask=on_crmask,
            scratch=None if g.in_memory else tmpdir, final=fcfg.driz_combine)
        del sep_chips, fin_chips
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
