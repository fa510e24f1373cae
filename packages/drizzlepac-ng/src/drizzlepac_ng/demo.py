"""The main job on built-in data: simulate, calibrate the WCS, drizzle, look.

``drizzlepac-ng demo`` (and ``nox -s demo``, the README's first command) runs
:func:`run_demo`, which needs no download:

1. simulate a dithered set of ACS/WFC exposures (distortion, stars, galaxies,
   sky, noise, unflagged cosmic rays, hot pixels, bad columns, saturation) as
   *raw* files that carry only the pipeline's linear WCS and the names of
   synthetic IDCTAB/NPOLFILE/D2IMFILE reference files written beside them;
2. run :func:`stwcs_ng.updatewcs.updatewcs` on them, which turns the reference
   files into SIP, NPOL and D2IM distortion in the headers;
3. run :func:`drizzlepac_ng.astrodrizzle.AstroDrizzle` with default parameters
   (static mask, sky, separate drizzle, median, blot, cosmic-ray rejection,
   final drizzle) into a ``_drc.fits`` product;
4. compare the product with the simulator's truth (positions and fluxes of
   isolated stars) and write a quick-look PNG.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DemoResult", "run_demo"]

log = logging.getLogger(__name__)


@dataclass
class DemoResult:
    """What :func:`run_demo` made, and how it compares with the truth.

    Attributes
    ----------
    output_dir : Path
        Folder holding everything.
    inputs : list of Path
        The simulated (then WCS-calibrated) exposures.
    product : Path
        The drizzled product.
    quicklook : Path or None
        The PNG quick-look (None when matplotlib is missing).
    timings : dict
        Seconds spent in each stage.
    checks : dict
        Figures comparing the product with the truth.
    """

    output_dir: Path
    inputs: list[Path]
    product: Path
    quicklook: Path | None
    timings: dict[str, float] = field(default_factory=dict)
    checks: dict[str, float] = field(default_factory=dict)


def run_demo(output_dir: str | Path = "demo_output", *, n_exposures: int = 4,
             shape: str | tuple[int, int] | None = "full", seed: int = 1,
             num_cores: int | None = None) -> DemoResult:
    """Simulate a dithered ACS/WFC set, run updatewcs and AstroDrizzle on it.

    Parameters
    ----------
    output_dir : str or Path, optional
        Folder for the simulated exposures, reference files, products and plots;
        created if needed.
    n_exposures : int, optional
        Number of exposures (at least 2 for cosmic-ray rejection).
    shape : {"full", "small"} or (ny, nx), optional
        Chip shape: the real 4096 x 2048 ACS/WFC chips, or small ones for a
        quick look.
    seed : int, optional
        Random seed of the simulation.
    num_cores : int, optional
        Threads for the kernels (None: all cores).

    Returns
    -------
    DemoResult
        Paths of what was written and the truth comparison.
    """
    from stwcs_ng.updatewcs import updatewcs

    from . import simulate
    from .astrodrizzle import AstroDrizzle
    from .quicklook import write_quicklook

    out = Path(output_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    sim = simulate.simulate_exposures(n_exposures, shape=shape, seed=seed, output_dir=out,
                                      dither="box", raw=True)
    inputs = [Path(exp.path) for exp in sim]
    timings["simulate"] = time.perf_counter() - t0
    log.info("simulated %d exposures in %s (%.1f s)", len(inputs), out, timings["simulate"])

    t0 = time.perf_counter()
    with simulate.reference_env(out):
        updatewcs([str(p) for p in inputs])
    timings["updatewcs"] = time.perf_counter() - t0
    log.info("updatewcs done (%.1f s)", timings["updatewcs"])

    t0 = time.perf_counter()
    root = out / "demo"
    AstroDrizzle([str(p) for p in inputs], output=str(root), build=True,
                 runfile=str(out / "astrodrizzle.log"), num_cores=num_cores)
    timings["astrodrizzle"] = time.perf_counter() - t0
    product = out / "demo_drc.fits"
    log.info("AstroDrizzle wrote %s (%.1f s)", product.name, timings["astrodrizzle"])

    checks = compare_with_truth(product, sim)
    quicklook = write_quicklook(product, out / "demo_drc.png")
    return DemoResult(out, inputs, product, quicklook, timings, checks)


def compare_with_truth(product: str | Path, sim, *, radius: float = 12.0,
                       isolation: float = 25.0, min_rate: float = 50.0,
                       centroid_radius: float = 2.5) -> dict[str, float]:
    """Measure isolated bright stars in a drizzled product against the truth.

    Parameters
    ----------
    product : str or Path
        A ``_drz``/``_drc`` file whose SCI is in electrons per second.
    sim : drizzlepac_ng.simulate.SimulatedSet
        The simulated set the product was made from.
    radius : float, optional
        Aperture radius in output pixels (the PSF wings beyond it are lost, so
        the flux ratio sits slightly below 1).
    isolation : float, optional
        Minimum distance (output pixels) to any other catalogued source.
    min_rate : float, optional
        Minimum true count rate (electrons/s) of the stars measured; stars
        saturated in any exposure are left out.
    centroid_radius : float, optional
        Radius (output pixels) of the window of the intensity-weighted centroid,
        iterated about the measured centre.

    Returns
    -------
    dict
        ``n_stars``, ``flux_ratio_median`` (measured/true), ``position_rms_px``.
    """
    import numpy as np
    from astropy.io import fits
    from astropy.wcs import WCS

    with fits.open(product) as hdul:
        sci = np.nan_to_num(hdul["SCI"].data.astype(np.float64))
        wcs = WCS(hdul["SCI"].header)
    catalog = sim.catalog
    x, y = wcs.all_world2pix(np.asarray(catalog["RA"]), np.asarray(catalog["DEC"]), 0)
    rate = np.asarray(catalog["RATE"], dtype=float)
    is_star = np.asarray(catalog["TYPE"]) == "star"
    saturated: set[int] = set()
    for exp in sim:
        for chip in exp.truth.chips:
            src = chip.sources
            saturated.update(np.asarray(src["ID"])[np.asarray(src["SATURATED"], bool)].tolist())
    is_star &= ~np.isin(np.asarray(catalog["ID"]), sorted(saturated))
    ny, nx = sci.shape
    pos = np.column_stack([x, y])
    ratios, offsets = [], []
    yy, xx = np.mgrid[-int(radius) - 2:int(radius) + 3, -int(radius) - 2:int(radius) + 3]
    for i in np.flatnonzero(is_star & (rate > min_rate)):
        xi, yi = pos[i]
        if not (radius + 3 < xi < nx - radius - 4 and radius + 3 < yi < ny - radius - 4):
            continue
        d = np.hypot(*(pos - pos[i]).T)
        d[i] = np.inf
        if d.min() < isolation:
            continue
        x0, y0 = int(round(xi)), int(round(yi))
        stamp = sci[y0 + yy[:, 0][:, None], x0 + xx[0][None, :]]
        r = np.hypot(xx + x0 - xi, yy + y0 - yi)
        annulus = stamp[(r > radius + 0.5) & (r < radius + 2.5)]
        sky = np.median(annulus) if annulus.size else 0.0
        inside = r <= radius
        flux = float(np.sum(stamp[inside] - sky))
        cx, cy = float(xi), float(yi)
        for _ in range(3):
            window = np.hypot(xx + x0 - cx, yy + y0 - cy) <= centroid_radius
            weights = np.clip(stamp - sky, 0, None) * window
            if weights.sum() <= 0:
                break
            cx = float((weights * (xx + x0)).sum() / weights.sum())
            cy = float((weights * (yy + y0)).sum() / weights.sum())
        if weights.sum() <= 0:
            continue
        ratios.append(flux / rate[i])
        offsets.append((cx - xi, cy - yi))
    if not ratios:
        return {"n_stars": 0.0}
    offsets_arr = np.asarray(offsets)
    return {
        "n_stars": float(len(ratios)),
        "flux_ratio_median": float(np.median(ratios)),
        "position_rms_px": float(np.sqrt(np.mean(np.sum(offsets_arr**2, axis=1)))),
        "position_mean_dx_px": float(np.mean(offsets_arr[:, 0])),
        "position_mean_dy_px": float(np.mean(offsets_arr[:, 1])),
    }
