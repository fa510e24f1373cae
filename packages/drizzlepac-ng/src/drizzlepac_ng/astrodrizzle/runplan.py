"""Where and how an AstroDrizzle run executes: whole-frame steps or the tiled task graph.

Both give the same products bit for bit (the tiled run visits every output
pixel's contributions in the same order and with the same arithmetic as
the whole-frame run, see the user guide, "Running large mosaics"; the one
exception: with exact-mode pixel maps, ``stepsize=1``, the whole-frame run
keeps them as float32 when they do not fit its cache, and then agrees only
within that rounding), so the choice is one of time, memory and disk, made
here before any work:

* a ``scheduler`` (a ``dask.distributed`` client or address) always runs
  the tiled task graph on that cluster (with ``tile_shape=None`` too: then
  with the default tiles);
* ``tile_shape=None`` always runs the whole-frame steps;
* a ``tile_shape`` given by the caller (keyword, parameter file, mapping
  or ``--set``, even if equal to the default) always runs the tiled graph
  in this process with those tiles;
* with the default ``tile_shape`` and no scheduler, the whole-frame steps
  run when they are the cheaper way: the exposures cover most of the
  output frame (a dithered stack of one field, where every tile would
  overlap every exposure anyway) and the whole-frame estimate (with the
  chips it processes concurrently on ``num_cores`` threads) fits the
  memory budget (``memory_limit``, or half of the memory available when
  the run starts, within a container's memory limit); otherwise (a mosaic
  of several pointings, or a frame too large for this machine) the tiled
  graph runs with the default tiles.

Whole-frame-only parameters (see :func:`.tiled.unsupported_in_tiled`) keep
the default run on whole frames.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from .config import AstroDrizzleConfig
from .inputs import Exposure

__all__ = ["MIN_COVERAGE", "RunPlan", "available_memory", "frame_coverage", "plan_run",
           "tiles_forced"]

log = logging.getLogger(__name__)

#: mean fraction of the output frame an exposure must cover for the default
#: run to use whole-frame steps
MIN_COVERAGE = 0.5


@dataclass(frozen=True)
class RunPlan:
    """The chosen way to run.

    Attributes
    ----------
    tiled : bool
        True: the tiled task graph (:func:`.tiled.run_tiled`); False: the
        whole-frame steps (:func:`.pipeline.run_pipeline`).
    reason : str
        Why, in words (logged and kept in the result).
    estimate : int or None
        Estimated peak bytes of the whole-frame run, when it was estimated.
    budget : int or None
        The memory budget it was compared with.
    coverage : float or None
        Mean fraction of the output frame covered by one exposure, when computed.
    """

    tiled: bool
    reason: str
    estimate: int | None = None
    budget: int | None = None
    coverage: float | None = None

    @property
    def layout(self) -> str:
        """``"whole frame"`` or ``"tiles"``."""
        return "tiles" if self.tiled else "whole frame"


def tiles_forced(cfg: AstroDrizzleConfig) -> bool:
    """True when the caller asked for the tiled graph: a scheduler, or a ``tile_shape``
    given explicitly (not the default).

    Parameters
    ----------
    cfg : AstroDrizzleConfig

    Returns
    -------
    bool
    """
    g = cfg.general
    if g.scheduler is not None:
        return True
    return g.tile_shape is not None and cfg.sources.get("tile_shape", "default") != "default"


def _cgroup_room() -> int | None:
    """Bytes left under this process's cgroup memory limit (v2, else v1); None
    when there is no limit or it cannot be read."""
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max",
                                    "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(limit_file, encoding="ascii") as fh:
                text = fh.read().strip()
            if text == "max":
                return None
            limit = int(text)
            with open(usage_file, encoding="ascii") as fh:
                usage = int(fh.read().strip())
        except (OSError, ValueError):
            continue
        if limit >= 1 << 60:  # v1 reports "no limit" as a huge number
            return None
        return max(0, limit - usage)
    return None


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation now (None when unknown).

    Linux: ``MemAvailable`` of ``/proc/meminfo``, capped by what is left
    under the process's cgroup (container) memory limit; elsewhere the
    physical memory (``os.sysconf``), which overestimates on a busy machine.

    Returns
    -------
    int or None
    """
    found = None
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    found = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        found = None
    if found is None:
        try:
            found = int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            return None
    room = _cgroup_room()
    return found if room is None else min(found, room)


def frame_coverage(exposures: list[Exposure], out_wcs) -> float:
    """Mean fraction of the output frame one exposure covers.

    The area of a chip on the output frame is its pixel count times the
    squared ratio of its nominal pixel scale to the output scale (no WCS is
    evaluated; chips hanging off a user-defined frame count in full, which
    only overestimates).

    Parameters
    ----------
    exposures : list of Exposure
    out_wcs : WCS
        The output frame.

    Returns
    -------
    float
        Capped at 1.
    """
    from .pipeline import _out_scale, nominal_scale

    nx, ny = out_wcs.pixel_shape
    out_scale = _out_scale(out_wcs)
    areas = [sum(c.shape[0] * c.shape[1] * (nominal_scale(c) / out_scale) ** 2
                 for c in e.chips) for e in exposures]
    return min(1.0, sum(areas) / len(areas) / float(nx * ny)) if areas else 0.0


def plan_run(exposures: list[Exposure], cfg: AstroDrizzleConfig, *,
             available: int | None = None) -> RunPlan:
    """Choose between the whole-frame steps and the tiled task graph (see the module notes).

    Parameters
    ----------
    exposures : list of Exposure
        The loaded inputs.
    cfg : AstroDrizzleConfig
        Parameters.
    available : int, optional
        Memory available (bytes); default :func:`available_memory`.  Used
        only without ``memory_limit``.

    Returns
    -------
    RunPlan
    """
    from ..kernels import resolve_num_threads
    from .pipeline import effective_config, estimate_memory, output_frame
    from .tiled import unsupported_in_tiled

    cfg = effective_config(cfg, len(exposures))
    g = cfg.general
    if g.scheduler is not None:
        return RunPlan(True, "a scheduler was given")
    if g.tile_shape is None:
        return RunPlan(False, "tile_shape=None")
    ny_t, nx_t = g.tile_shape
    if tiles_forced(cfg):
        return RunPlan(True, f"tile_shape=({ny_t}, {nx_t}) was given")
    reasons = unsupported_in_tiled(cfg)
    if reasons:
        return RunPlan(False, "needed by " + "; ".join(reasons))
    out_wcs = output_frame(exposures, cfg.final_wcs)
    nx, ny = out_wcs.pixel_shape
    coverage = frame_coverage(exposures, out_wcs)
    if coverage < MIN_COVERAGE:
        return RunPlan(True, f"a mosaic: one exposure covers {100 * coverage:.0f}% of the "
                             f"{nx} x {ny} output frame on average (whole-frame steps below "
                             f"{100 * MIN_COVERAGE:.0f}%)", coverage=coverage)
    if g.memory_limit is not None:
        # under memory_limit the whole-frame run falls back to one chip at a time
        estimate = max(estimate_memory(exposures, (ny, nx), cfg, workers=1).values())
        budget, what = int(g.memory_limit), "memory_limit"
    else:
        # without a limit it processes num_cores chips at a time
        workers = resolve_num_threads(g.num_cores or None)
        estimate = max(estimate_memory(exposures, (ny, nx), cfg, workers=workers).values())
        avail = available_memory() if available is None else available
        budget, what = (None, "") if avail is None else (avail // 2, "half the available memory")
    if budget is not None and estimate > budget:
        return RunPlan(True, f"the whole-frame steps would need about {estimate / 1e9:.2f} GB, "
                             f"more than {what} ({budget / 1e9:.2f} GB)",
                       estimate=estimate, budget=budget, coverage=coverage)
    fits_in = f" within {what} ({budget / 1e9:.2f} GB)" if budget is not None else ""
    return RunPlan(False, f"one field: one exposure covers {100 * coverage:.0f}% of the "
                          f"frame and the whole-frame steps need about "
                          f"{estimate / 1e9:.2f} GB{fits_in}",
                   estimate=estimate, budget=budget, coverage=coverage)
