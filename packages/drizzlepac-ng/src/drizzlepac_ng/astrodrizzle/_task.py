"""The ``AstroDrizzle`` task: parameters, logging and files around the pipeline."""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..logutil import no_progress, task_logging
from . import products as prod
from .config import AstroDrizzleConfig, interpret_bits
from .inputs import expand_input, load_exposures, read_asn_product
from .pipeline import PipelineResult, run_pipeline
from .runplan import RunPlan, plan_run, tiles_forced

__all__ = ["AstroDrizzle", "run", "AstroDrizzleResult"]

log = logging.getLogger("drizzlepac_ng.astrodrizzle")


@dataclass
class AstroDrizzleResult:
    """What a run produced.

    Attributes
    ----------
    files : list of Path
        Product files written (drizzled product, intermediates, quick-look).
    product : Path or None
        The main product (``_drz.fits``/``_drc.fits``, or ``_drz_sci.fits``).
    pipeline : PipelineResult
        Arrays (SCI, WHT, CTX, median, CR masks) and the exposures.  After
        a tiled run (``plan.tiled``) SCI, WHT and CTX are memory maps of
        the written product (None when none was written) and the median is
        None: it was never held whole.
    config : AstroDrizzleConfig
        The effective parameters.
    timings : dict
        Wall seconds per phase: ``load``, ``pipeline``, ``total``, and the
        pipeline's steps (``static mask``, ``sky``, ``separate drizzle``,
        ``median``, ``blot + driz_cr``, ``final drizzle``) as
        ``"pipeline: <step>"``.
    plan : RunPlan or None
        Whole-frame steps or tiled task graph, and why
        (:func:`.runplan.plan_run`).
    """

    files: list[Path]
    product: Path | None
    pipeline: PipelineResult
    config: AstroDrizzleConfig
    timings: dict[str, float] = field(default_factory=dict)
    plan: RunPlan | None = None


def AstroDrizzle(input: Any = None, output: str | None = None,
                 runfile: str | None = None, configobj: Any = None, *,
                 mdriztab: bool = False, editpars: bool = False, wcsmap: Any = None,
                 progress: Callable | None = None, **parameters: Any) -> AstroDrizzleResult:
    """Combine dithered exposures into one distortion-free image, rejecting cosmic rays.

    Parameters
    ----------
    input : str, path-like or list, optional
        File name(s), comma list, wildcard, ``@listfile`` or ``_asn.fits``
        table (default ``"*flt.fits"``).
    output : str, optional
        Output rootname (blank: association product, single input's rootname,
        else ``final``).  Products are ``<output>_drz.fits`` (``_drc`` from FLC
        inputs).
    runfile : str, optional
        Log (trailer) file, default ``astrodrizzle.log``; ``""`` writes none.
    configobj : None, str, path-like, Mapping or AstroDrizzleConfig, optional
        Parameter file (``.toml``, or an original ``.cfg``) or values; keyword
        parameters override it.
    mdriztab, editpars, wcsmap
        Accepted for compatibility; only their defaults are supported.
    progress : callable, optional
        Progress wrapper (e.g. :func:`drizzlepac_ng.logutil.progress_bar`).
    **parameters
        Any astrodrizzle parameter by its flat name (``skymethod``,
        ``combine_type``, ``final_scale``, ``memory_limit`` ...).  See the user
        guide for the full list and the original's defaults.

    Returns
    -------
    AstroDrizzleResult

    Raises
    ------
    ConfigError
        Unknown or invalid parameters.
    InputFileError, MissingExtensionError
        An input is missing, corrupt, lacks SCI/DQ, has EXPTIME <= 0, or the
        instruments differ; the message names the file.
    NoOverlapError
        An input does not overlap the others.
    MemoryLimitError
        The estimated peak memory exceeds ``memory_limit``.
    FileUpdateError
        A product or an input could not be written.

    Notes
    -----
    Input files are changed only after the products were written: the
    ``MDRIZSKY`` keyword, and the DQ arrays (bits of ``resetbits`` cleared,
    ``crbit`` set on cosmic rays unless ``driz_cr_mask=True``).  With
    ``preserve=True`` (the default) the originals are first copied to
    ``OrIg_files/``.
    """
    if editpars:
        raise ConfigError("editpars=True (the TEAL GUI) is not supported; pass parameters "
                          "as keywords or a parameter file")
    if wcsmap is not None:
        raise ConfigError("a custom wcsmap is not supported: pixel maps come from the WCS")
    overrides = dict(parameters)
    if mdriztab:
        overrides["mdriztab"] = True
    for name, value in (("input", input), ("output", output), ("runfile", runfile)):
        if value is not None:
            overrides[name] = value if name != "input" or isinstance(value, (str, os.PathLike)) \
                else ",".join(str(v) for v in value)
    cfg = AstroDrizzleConfig.resolve(configobj, overrides)
    if cfg.sky.skymask_cat:
        raise ConfigError("skymask_cat (user sky masks) is not supported yet")
    return _run(cfg, progress or no_progress)


def run(configobj: Any, wcsmap: Any = None, input_dict: Mapping[str, Any] | None = None
        ) -> AstroDrizzleResult:
    """Run with a parameter file or mapping (the original's ``run`` entry point)."""
    return AstroDrizzle(configobj=configobj, wcsmap=wcsmap, **dict(input_dict or {}))


def _run(cfg: AstroDrizzleConfig, progress: Callable) -> AstroDrizzleResult:
    g = cfg.general
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    files = expand_input(g.input)
    root = prod.derive_output(g.output, files,
                              read_asn_product(g.input) if isinstance(g.input, str) else None)
    with task_logging(g.runfile or None):
        log.info("AstroDrizzle (drizzlepac_ng) started %s", time.strftime("%Y-%m-%d %H:%M:%S"))
        history = ["AstroDrizzle parameters (value and source):"]
        for line in cfg.describe():
            log.info("  %s", line)
            history.append("  " + line)
        for f in files:
            log.info("input: %s", f)
        prod.check_output_folder(prod.product_names(root, files[0]))  # before any change
        # imported here: drizzlepac_ng.mosaic imports this package's modules
        from .tiled import check_tiled_supported, run_tiled

        if tiles_forced(cfg):
            check_tiled_supported(cfg)  # before any file is changed
        if cfg.state.restore:
            _restore(files)
        if g.updatewcs:
            from stwcs_ng.updatewcs import updatewcs

            log.info("running updatewcs on %d inputs", len(files))
            updatewcs(files)
        exposures = load_exposures(
            files, icfg=cfg.instrument, resetbits=interpret_bits(g.resetbits, "resetbits"),
            group=g.group, in_memory=g.in_memory, wcskey=g.wcskey, coeffs=g.coeffs)
        names = prod.product_names(root, files[0], exposures[0].instrument)
        prod.check_output_folder(names)
        timings["load"] = time.perf_counter() - t0
        plan = plan_run(exposures, cfg)
        log.info("run: %s (%s)", "tiled task graph" if plan.tiled else "whole-frame steps",
                 plan.reason)
        if plan.tiled:
            with run_tiled(exposures, cfg, progress=progress, workdir=names.folder) as result:
                timings["pipeline"] = time.perf_counter() - t0 - timings["load"]
                written, product = _write_outputs(result, cfg, names, history)
            # the mosaic's temporary file is gone: serve the arrays from the product
            _attach_product_arrays(result, cfg, names)
        else:
            keep = g.write_intermediates or cfg.driz_cr.driz_cr_corr
            result = run_pipeline(exposures, cfg, progress=progress, workdir=names.folder,
                                  keep_intermediates=keep)
            timings["pipeline"] = time.perf_counter() - t0 - timings["load"]
            written, product = _write_outputs(result, cfg, names, history)
        if g.quicklook and result.sci is not None:
            png = prod.write_quicklook(result.sci, names.png, title=names.drz.name)
            if png is not None:
                written.append(png)
        timings["total"] = time.perf_counter() - t0
        for step, seconds in getattr(result, "timings", {}).items():
            timings[f"pipeline: {step}"] = seconds
        log.info("AstroDrizzle finished in %.1f s; products: %s", timings["total"],
                 ", ".join(str(p) for p in written) or "none")
    return AstroDrizzleResult(written, product, result, result.config, timings, plan)


def _write_outputs(result: PipelineResult, cfg: AstroDrizzleConfig, names: prod.ProductNames,
                   history: list[str]) -> tuple[list[Path], Path | None]:
    """Products, intermediates, then (after success) the input updates."""
    written: list[Path] = []
    product = None
    if result.sci is not None:
        written += prod.write_products(result, names, result.config, history)
        product = written[0]
    if cfg.general.write_intermediates and not cfg.state.clean:
        written += prod.write_intermediates(result, names)
    if cfg.driz_cr.driz_cr_corr and result.crmasks:
        written += prod.write_crclean(result, names)
    prod.update_inputs(result, result.config)
    return written, product


def _attach_product_arrays(result: PipelineResult, cfg: AstroDrizzleConfig,
                           names: prod.ProductNames) -> None:
    """Point SCI/WHT/CTX of a tiled result at the written product (memory-mapped)."""
    from astropy.io import fits

    result.median = None
    if result.sci is None:
        return
    if cfg.general.build:
        with fits.open(names.drz, memmap=True) as hdul:
            result.sci, result.wht = hdul["SCI"].data, hdul["WHT"].data
            result.ctx = hdul["CTX"].data if result.ctx is not None else None
        return
    arrays = []
    for path in (names.sci, names.wht, names.ctx):
        if path == names.ctx and result.ctx is None:
            arrays.append(None)
            continue
        with fits.open(path, memmap=True) as hdul:
            arrays.append(hdul[0].data)
    result.sci, result.wht, result.ctx = arrays


def _restore(files: list[str]) -> None:
    for f in files:
        src = Path(f).parent / "OrIg_files" / Path(f).name
        if src.exists():
            shutil.copy2(src, f)
            log.info("restored %s from %s", f, src)
