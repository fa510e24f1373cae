"""Standalone entry point: drizzle a mosaic tile by tile into a FITS file."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from ..astrodrizzle import median as median_mod
from ..errors import ConfigError, FileUpdateError
from ..logutil import no_progress
from .graph import (
    ChipInput,
    SingleImage,
    _load,
    crmask_chip,
    drizzle_single,
    drizzle_tile,
    map_shape,
    median_tile,
    prepare_chips,
)
from .scheduler import Task, connect, run_tasks
from .tiles import BBox, check_memory, plan_tiles, tile_overlaps

log = logging.getLogger(__name__)

__all__ = ["TileWriter", "create_fits", "run_mosaic"]

_BITPIX = {np.dtype(np.float32): -32, np.dtype(np.int32): 32}


def create_fits(path: str | os.PathLike, extensions: Sequence[tuple[str, Any, tuple[int, ...]]],
                primary: fits.Header | None = None,
                headers: dict[str, fits.Header] | None = None
                ) -> dict[str, tuple[int, np.dtype, tuple[int, ...]]]:
    """Write a FITS file of zero-filled image extensions without holding them in memory.

    Parameters
    ----------
    path : path-like
    extensions : sequence of (EXTNAME, dtype, shape)
        ``shape`` in numpy order.
    primary : Header, optional
        Extra primary-header cards.
    headers : dict, optional
        Extra cards per EXTNAME (e.g. the output WCS).

    Returns
    -------
    dict
        ``EXTNAME -> (byte offset of the data, dtype, shape)`` (see :class:`TileWriter`).
    """
    headers = headers or {}
    layout: dict[str, tuple[int, np.dtype, tuple[int, ...]]] = {}
    with open(path, "wb") as fh:
        ph = fits.PrimaryHDU().header
        ph["EXTEND"] = True
        ph["NEXTEND"] = (len(extensions), "number of extensions")
        if primary is not None:
            ph.update(primary)
        fh.write(ph.tostring().encode("ascii"))
        for name, dtype, shape in extensions:
            dt = np.dtype(dtype)
            h = fits.Header()
            h["XTENSION"] = "IMAGE"
            h["BITPIX"] = _BITPIX[dt]
            h["NAXIS"] = len(shape)
            for k, n in enumerate(reversed(shape), start=1):
                h[f"NAXIS{k}"] = int(n)
            h["PCOUNT"] = 0
            h["GCOUNT"] = 1
            h["EXTNAME"] = name
            h["EXTVER"] = 1
            extra = headers.get(name)
            if extra is not None:
                for card in extra.cards:
                    if card.keyword not in h and card.keyword not in ("", "COMMENT", "HISTORY"):
                        h.append(card)
            fh.write(h.tostring().encode("ascii"))
            layout[name] = (fh.tell(), dt, tuple(int(v) for v in shape))
            nbytes = int(np.prod(shape)) * dt.itemsize
            padded = -(-nbytes // 2880) * 2880
            fh.seek(padded - 1, os.SEEK_CUR)
            fh.write(b"\0")
    return layout


class TileWriter:
    """Writes tiles into the image extensions of a file made by :func:`create_fits`.

    Rows go to the file with plain positioned writes (big-endian, as FITS),
    so the process never maps the mosaic: its resident memory does not grow
    with the mosaic as it would with a writable memory map, whose written
    pages stay resident until the map is closed.

    Parameters
    ----------
    path : path-like
    layout : dict
        What :func:`create_fits` returned.
    """

    def __init__(self, path: str | os.PathLike,
                 layout: dict[str, tuple[int, np.dtype, tuple[int, ...]]]) -> None:
        self.path = str(path)
        self.layout = layout
        self._fd = os.open(self.path, os.O_RDWR)

    def write(self, name: str, box: BBox, array: np.ndarray) -> None:
        """Write ``array`` (``box.shape``, or ``(planes,) + box.shape``) at ``box``."""
        offset, dtype, shape = self.layout[name]
        ny, nx = shape[-2:]
        data = np.asarray(array).astype(dtype.newbyteorder(">"), copy=False)
        planes = data.reshape((-1,) + box.shape)
        size = dtype.itemsize
        try:
            for p, plane in enumerate(planes):
                base = offset + p * ny * nx * size
                for r in range(box.shape[0]):
                    pos = base + ((box.y0 + r) * nx + box.x0) * size
                    row = np.ascontiguousarray(plane[r])
                    if os.pwrite(self._fd, row.data, pos) != row.nbytes:
                        raise OSError("short write")
        except OSError as exc:
            raise FileUpdateError(f"cannot write a tile of {name} ({exc})",
                                  filename=self.path) from exc

    def sync(self) -> None:
        """Flush the written rows to the disk (before other machines read the file)."""
        os.fsync(self._fd)

    def close(self) -> None:
        """Close the file."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> TileWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _mask_weight(chip: ChipInput, cr: np.ndarray, path: Path | None = None) -> ChipInput:
    """The chip with zero weight on its cosmic rays (the mask saved to ``path`` if given)."""
    old = _load(chip.reject, "reject mask", chip.label)
    reject = cr if old is None else (np.asarray(old, dtype=bool) | cr)
    if path is None:
        return replace(chip, reject=reject)
    np.save(path, reject)
    return replace(chip, reject=str(path))


def run_mosaic(chips: Sequence[ChipInput], out_shape: tuple[int, int],
               output: str | os.PathLike, *, tile_shape: tuple[int, int] = (2048, 2048),
               scheduler: Any = None, kernel: str = "square", pixfrac: float = 1.0,
               fillval: float | None = None, context: bool = True,
               median: dict | None = None, driz_cr: dict | None = None,
               wcs_header: fits.Header | None = None,
               memory_limit: Any = None, max_workers: int | None = None,
               connect_timeout: float = 10.0, overwrite: bool = False,
               progress: Callable = no_progress,
               final_chips: Sequence[ChipInput] | None = None,
               on_crmask: Callable[[int, np.ndarray], None] | None = None,
               scratch: str | os.PathLike | None = None, final: bool = True,
               singles: Sequence[SingleImage] | None = None) -> Path:
    """Drizzle chips onto a large output frame, tile by tile, into a FITS file.

    The output is written to ``<output>.partial`` (memory-mapped, one tile
    at a time) and renamed to ``output`` only when every tile succeeded; on
    any failure the partial file is removed.

    Parameters
    ----------
    chips : sequence of ChipInput
        Inputs in their global order (the order of every per-pixel sum and
        of the context bits).
    out_shape : (ny, nx)
        Output frame.
    output : path-like
        Product file: extensions SCI, WHT, CTX (if ``context``) and MED (if
        ``median``).
    tile_shape : (ny, nx)
        Output tile size; the products do not depend on it.
    scheduler : None, str or dask.distributed.Client
        None runs on threads in this process (no Dask import).
    kernel, pixfrac, fillval : optional
        Final-drizzle parameters.
    context : bool
        Write the CTX extension.
    median : dict, optional
        Also combine the single-drizzled exposures per tile: ``kernel`` and
        ``pixfrac`` of the separate drizzle (one task per exposure drizzles
        its single image once, over its own bounding box, see
        :func:`~drizzlepac_ng.mosaic.graph.drizzle_single`) and keyword
        arguments of :func:`~drizzlepac_ng.mosaic.graph.median_tile`
        (``halo``, ``weight_thresholds``, ``combine_type``...; per-exposure
        lists ``sky``, ``exptime``, ``readnoise``, ``gain``).  Without
        ``weight_thresholds`` but with ``combine_maskpt`` > 0, the
        thresholds are ``maskpt`` x the mean positive weight of each single
        image (inside the frame).
    driz_cr : dict, optional
        Blot the assembled median back to every chip and flag cosmic rays
        before the final drizzle (needs ``median``): keyword arguments of
        :func:`~drizzlepac_ng.mosaic.graph.crmask_chip` (``snr``, ``scale``,
        ``grow``, ``ctegrow``, ``interp``, ``sinscl``).  Flagged pixels get
        zero final weight.  On a multi-node cluster the output directory must
        be shared (the workers read the median from ``<output>.partial``).
    wcs_header : Header, optional
        Output WCS cards copied into every extension header.
    memory_limit : int or str, optional
        Per-worker memory; checked against the estimate up front.
    max_workers : int, optional
        Threads for ``scheduler=None``.
    connect_timeout : float
        Seconds to wait for a scheduler address.
    overwrite : bool
        Replace an existing ``output``.
    progress : callable
        Progress wrapper for local runs.
    final_chips : sequence of ChipInput, optional
        The chips of the final drizzle when they differ from ``chips`` (which
        then only feed the median and driz_cr): other weights or units.  Same
        number and order as ``chips``; the cosmic rays found on ``chips[k]``
        get zero weight in ``final_chips[k]``.
    on_crmask : callable, optional
        ``on_crmask(k, mask)`` receives the cosmic-ray mask of every chip.
    scratch : path-like, optional
        Folder for the single images read by the median tiles and the
        cosmic-ray masks handed to the final-drizzle tasks (``.npy`` files,
        so that a cluster ships paths, not arrays; it must be shared with
        the workers).  None keeps them in memory.
    final : bool
        Run the final drizzle (False: only the median and the cosmic-ray
        masks; SCI, WHT and CTX stay zero).
    singles : sequence of SingleImage, optional
        The exposures' single images when the caller drizzled them already
        (:func:`~drizzlepac_ng.mosaic.graph.drizzle_single` with the median's
        ``kernel`` and ``pixfrac``, each chip's ``bbox`` as
        :func:`~drizzlepac_ng.mosaic.graph.prepare_chips` sets it here: the
        union of both kernels' reach); one per exposure, in exposure order.

    Returns
    -------
    Path
        The product.

    Raises
    ------
    ConfigError
        Bad parameters, or ``output`` exists and ``overwrite`` is False.
    MemoryLimitError
        A tile does not fit ``memory_limit`` (the message names a tile size).
    SchedulerError, MosaicTaskError
        The cluster is unreachable, or a task failed twice.
    """
    output = Path(output)
    if output.exists() and not overwrite:
        raise ConfigError("output exists (use overwrite=True)", filename=str(output))
    if not chips:
        raise ConfigError("no input chips")
    if final_chips is not None and len(final_chips) != len(chips):
        raise ConfigError(f"final_chips must have one chip per input chip "
                          f"({len(final_chips)} != {len(chips)})")
    # a chip's box covers the reach of both drizzle kernels (final, separate)
    prepared = prepare_chips(chips, kernel, pixfrac, also=[] if median is None else [
        (median.get("kernel", "square"), median.get("pixfrac", 1.0))])
    final_prepared = prepared if final_chips is None else [
        replace(f, bbox=c.bbox) for f, c in zip(final_chips, prepared, strict=True)]
    tiles = plan_tiles(out_shape, tile_shape)
    bboxes = [c.bbox for c in prepared]
    overlaps = tile_overlaps(tiles, bboxes)
    n_max = max((len(v) for v in overlaps.values()), default=0)
    # one chip in a task (the driz_cr task holds the most): data (float32), its pixel
    # map (a float64 pair), the blot, good-pixel and cosmic-ray masks and the
    # flagging temporaries, about 48 bytes per input pixel
    chip_bytes = max((48 * int(np.prod(map_shape(c)))
                      for c in prepared if c.bbox is not None), default=0)
    n_planes = (len(prepared) - 1) // 32 + 1
    ny, nx = (int(v) for v in out_shape)
    exts: list[tuple[str, Any, tuple[int, ...]]] = [("SCI", np.float32, (ny, nx)),
                                                    ("WHT", np.float32, (ny, nx))]
    if context:
        exts.append(("CTX", np.int32, (ny, nx) if n_planes == 1 else (n_planes, ny, nx)))
    med_kw = None
    halo = 0
    if median is not None:
        med_kw = dict(median)
        ctype = med_kw.get("combine_type", "minmed")
        if ctype not in median_mod.COMBINE_TYPES:
            raise ConfigError(f"unknown median combine_type {ctype!r}; choose one of "
                              f"{', '.join(median_mod.COMBINE_TYPES)}")
        halo = int(med_kw.get("halo", 0))
        exts.append(("MED", np.float32, (ny, nx)))
    headers = {name: wcs_header for name, _, _ in exts} if wcs_header is not None else None

    if driz_cr is not None and median is None:
        raise ConfigError("driz_cr needs the median step (give median={...})")
    if median is not None:
        n_max = max(n_max, max(len(v) for v in
                               tile_overlaps(tiles, bboxes, halo=halo).values()))
    thr = None if med_kw is None else med_kw.pop("weight_thresholds", None)
    maskpt = None if med_kw is None else med_kw.pop("combine_maskpt", None)
    n_exp = max(c.exposure for c in prepared) + 1

    def drizzle_tasks(refs: Sequence[Any]) -> list[Task]:
        """Final-drizzle tasks over chip references (chips, or futures of scattered chips)."""
        tasks = [Task(f"drizzle-{t.index}", t.label, drizzle_tile,
                      (t.box, [(k, refs[k]) for k in overlaps[t.index]]),
                      dict(kernel=kernel, pixfrac=pixfrac, fillval=fillval, context=context,
                           n_ctx_planes=n_planes)) for t in tiles]
        # work ~ the overlapped area of every chip
        costs = [sum(_area(t.box, bboxes[k]) for k in overlaps[t.index]) for t in tiles]
        return _largest_first(tasks, costs)

    def median_tasks(singles: Sequence[SingleImage]) -> list[Task]:
        """Median tasks over the exposures' single images."""
        tasks: list[Task] = []
        costs: list[int] = []
        if med_kw is not None:
            med_over = tile_overlaps(tiles, bboxes, halo=halo)
            for t in tiles:
                exps = sorted({prepared[k].exposure for k in med_over[t.index]})
                # minmed averages (instead of a median) when the stack has exactly
                # two images: pad with all-masked images so that a tile's stack
                # has two images exactly when the whole mosaic's has.
                want = 2 if n_exp == 2 else (3 if len(exps) == 2 else len(exps))
                exps = exps + [None] * (want - len(exps))
                group = [None if e is None else singles[e] for e in exps]
                kw = dict(med_kw)
                for name in ("weight_thresholds", "sky", "exptime", "readnoise", "gain"):
                    per_exp = thr if name == "weight_thresholds" else kw.get(name)
                    if per_exp is None:
                        continue
                    if len(per_exp) != n_exp:
                        raise ConfigError(f"median {name!r} needs {n_exp} values (one per "
                                          f"exposure), got {len(per_exp)}")
                    fill = 1.0 if name in ("exptime", "gain") else 0.0
                    kw[name] = [fill if e is None else per_exp[e] for e in exps]
                tasks.append(Task(f"median-{t.index}", "median of " + t.label, median_tile,
                                  (t.box, group), kw))
                costs.append(t.box.shape[0] * t.box.shape[1] * max(1, len(group)))
        return _largest_first(tasks, costs)

    with connect(scheduler, timeout=connect_timeout) as client:
        limit = memory_limit
        if limit is None and client is not None:
            try:
                limits = [w.get("memory_limit") for w in
                          client.scheduler_info()["workers"].values()]
                limits = [v for v in limits if v]
                limit = min(limits) if limits else None
            except (KeyError, AttributeError, TypeError):
                limit = None
        # the largest tile actually cut (tiles stop at the frame's edge)
        biggest = (min(int(tile_shape[0]), out_shape[0]), min(int(tile_shape[1]), out_shape[1]))
        need = check_memory(limit, biggest, n_max, chip_bytes=chip_bytes, halo=halo)
        log.info("%d tiles of %s, up to %d overlapping inputs, ~%.1f MiB per tile task",
                 len(tiles), biggest, n_max, need / 2**20)
        # ship every chip to the cluster once, not once per tile
        refs = prepared if client is None else client.scatter(list(prepared))
        run_kw = dict(max_workers=max_workers, progress=progress)
        if med_kw is not None and singles is None:
            singles = _drizzle_singles(prepared, refs, n_exp, out_shape, med_kw, client,
                                       run_kw, scratch)
        singles = list(singles or [])
        if med_kw is not None:
            if len(singles) != n_exp:
                raise ConfigError(f"singles must have one image per exposure ({len(singles)} "
                                  f"!= {n_exp})")
            if thr is None and maskpt:
                thr = [float(maskpt) * s.weight_sum / s.weight_count
                       if s.weight_count else 0.0 for s in singles]
        med_tasks = median_tasks(singles)
        tmp = output.with_name(output.name + ".partial")
        layout = create_fits(tmp, exts, headers=headers)
        try:
            with TileWriter(tmp, layout) as out:
                for _, res in run_tasks(med_tasks, client, desc="median tiles", **run_kw):
                    out.write("MED", res.box, res.sci)
                    del res
                if client is not None:
                    out.sync()  # the workers read the median from the file
                if driz_cr is not None:
                    cr_kw = dict(driz_cr)
                    # chip pixels whose blot draws on median pixels without data (every
                    # single masked) are not tested, as in the whole-frame run
                    fills = str(med_kw.get("combine_type", "minmed")).startswith("i")
                    cr_kw.update(singles=singles, weight_thresholds=None if fills else thr)
                    cr_tasks = [Task(f"crmask-{k}", f"blot + driz_cr of chip {k} "
                                     f"({c.label or 'no label'}, exposure {c.exposure})",
                                     crmask_chip, (refs[k], str(tmp)), cr_kw)
                                for k, c in enumerate(prepared)]
                    n_cr = 0
                    masked = []
                    for k, (_, cr) in enumerate(run_tasks(cr_tasks, client, desc="driz_cr",
                                                          **run_kw)):
                        n_cr += int(cr.sum())
                        if on_crmask is not None:
                            on_crmask(k, cr)
                        path = None if scratch is None else Path(scratch) / f"reject_{k}.npy"
                        masked.append(_mask_weight(final_prepared[k], cr, path))
                        del cr
                    final_prepared = masked
                    log.info("driz_cr: %d pixels flagged in %d chips", n_cr, len(masked))
                if final_prepared is not prepared:
                    refs = (final_prepared if client is None
                            else client.scatter(list(final_prepared)))
                for _, res in run_tasks(drizzle_tasks(refs) if final else [], client,
                                        desc="final drizzle",
                                        **run_kw):
                    out.write("SCI", res.box, res.sci)
                    out.write("WHT", res.box, res.wht)
                    if context:
                        out.write("CTX", res.box, res.ctx)
                    del res
            os.replace(tmp, output)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    if not output.exists():  # pragma: no cover - os.replace either worked or raised
        raise FileUpdateError("product missing after rename", filename=str(output))
    return output


def _area(a: BBox, b: BBox | None) -> int:
    inter = None if b is None else a.intersect(b)
    return 0 if inter is None else inter.shape[0] * inter.shape[1]


def _largest_first(tasks: list[Task], costs: Sequence[int]) -> list[Task]:
    """Tasks in decreasing estimated work (ties in tile order): the largest tiles start
    first, so the end of a step does not wait for one large tile started last.  Tile
    results go to their own regions, so the order changes no bit."""
    order = sorted(range(len(tasks)), key=lambda i: (-costs[i], i))
    return [tasks[i] for i in order]


def _drizzle_singles(prepared: Sequence[ChipInput], refs: Sequence[Any], n_exp: int,
                     out_shape: tuple[int, int], med_kw: dict, client: Any, run_kw: dict,
                     scratch: str | os.PathLike | None) -> list[SingleImage]:
    """One separate-drizzle task per exposure: its single image, drizzled once."""
    ny, nx = (int(v) for v in out_shape)
    frame = BBox(0, nx, 0, ny)
    tasks = []
    for e in range(n_exp):
        group = [refs[k] for k, c in enumerate(prepared) if c.exposure == e]
        path = None if scratch is None else str(Path(scratch) / f"single_{e}")
        tasks.append(Task(f"single-{e}", f"separate drizzle of exposure {e}",
                          drizzle_single, (group, frame),
                          dict(kernel=med_kw.get("kernel", "square"),
                               pixfrac=med_kw.get("pixfrac", 1.0), path=path)))
    return [res for _, res in run_tasks(tasks, client, desc="separate drizzle", **run_kw)]
