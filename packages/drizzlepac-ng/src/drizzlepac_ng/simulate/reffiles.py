"""Synthetic distortion reference files (IDCTAB, NPOLFILE, D2IMFILE).

Formats follow the HST reference files:

* ``<root>_idc.fits``: PRIMARY (INSTRUME, DETECTOR, NORDER, FILETYPE =
  'DISTORTION COEFFICIENTS', TDDCORR-free: TDD coefficients are zero) and one
  binary table with columns DETCHIP (I), DIRECTION (8A), FILTER1 (8A),
  FILTER2 (8A) (ACS) or FILTER (8A) (WFC3), XSIZE, YSIZE (J), XREF, YREF,
  V2REF, V3REF, SCALE (E), THETA (E, WFC3 only), CX10..CX44, CY10..CY44 (E);
  one FORWARD row per chip and filter combination.
* ``<root>_npl.fits``: PRIMARY (FILETYPE 'DXY GRID', FILTER1/FILTER2 or
  FILTER = 'ANY') and image extensions ``DX``/``DY`` per chip (header
  CCDCHIP, CDELT1/2, ONAXIS1/2), values in model-frame pixels.
* ``<root>_d2i.fits``: same layout, FILETYPE 'WFC D2I FILE' / 'UVIS D2I FILE',
  values in detector pixels.

Science files refer to them as ``jref$<root>_idc.fits`` (ACS) or
``iref$<root>_idc.fits`` (WFC3); set the environment variable (``jref`` /
``iref``) to the directory, with a trailing slash, before running updatewcs.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from astropy.io import fits

from ._instruments import ORDER, CameraModel, camera_model
from .distortion import d2im_reference_tables, npol_reference_tables

__all__ = ["write_reference_files", "reference_names", "reference_env", "IDC_FILTERS"]

#: Filter combinations listed in the synthetic ACS IDCTAB (FILTER1, FILTER2).
IDC_FILTERS = {
    "ACS": [("CLEAR1L", "F814W"), ("F606W", "CLEAR2L"), ("F475W", "CLEAR2L"),
            ("F555W", "CLEAR2L"), ("CLEAR1L", "F606W")],
    "WFC3": [("F606W",), ("F555W",), ("F814W",), ("F438W",)],
}


def reference_names(camera: CameraModel) -> dict[str, str]:
    """Header values (``env$name``) of the synthetic reference files of a camera."""
    env, root = camera.ref_env, camera.ref_root
    return {"IDCTAB": f"{env}${root}_idc.fits", "NPOLFILE": f"{env}${root}_npl.fits",
            "D2IMFILE": f"{env}${root}_d2i.fits"}


def _idc_table(camera: CameraModel) -> fits.BinTableHDU:
    acs = camera.instrume == "ACS"
    filters = IDC_FILTERS["ACS" if acs else "WFC3"]
    rows = [(chip, f) for f in filters for chip in sorted(camera.chips, key=lambda c: c.ccdchip)]
    n = len(rows)
    cols = [fits.Column("DETCHIP", "I", unit="chip", array=np.array([c.ccdchip for c, _ in rows])),
            fits.Column("DIRECTION", "8A", array=np.array(["FORWARD"] * n))]
    if acs:
        cols.append(fits.Column("FILTER1", "8A", array=np.array([f[0] for _, f in rows])))
        cols.append(fits.Column("FILTER2", "8A", array=np.array([f[1] for _, f in rows])))
    else:
        cols.append(fits.Column("FILTER", "8A", array=np.array([f[0] for _, f in rows])))
    cols += [
        fits.Column("XSIZE", "J", array=np.array([c.shape[1] for c, _ in rows])),
        fits.Column("YSIZE", "J", array=np.array([c.shape[0] for c, _ in rows])),
        fits.Column("XREF", "E", array=np.array([c.xref for c, _ in rows])),
        fits.Column("YREF", "E", array=np.array([c.yref for c, _ in rows])),
        fits.Column("V2REF", "E", array=np.array([c.v2ref for c, _ in rows])),
        fits.Column("V3REF", "E", array=np.array([c.v3ref for c, _ in rows])),
        fits.Column("SCALE", "E", unit="arcsec", array=np.array([c.scale for c, _ in rows])),
    ]
    if not acs:
        theta = np.array([c.theta for c, _ in rows])
        cols.append(fits.Column("THETA", "E", unit="deg", array=theta))
    for axis in ("CX", "CY"):
        for i in range(1, ORDER + 1):
            for j in range(i + 1):
                vals = np.array([(c.cx if axis == "CX" else c.cy)[i, j] for c, _ in rows])
                cols.append(fits.Column(f"{axis}{i}{j}", "E", array=vals))
    return fits.BinTableHDU.from_columns(cols, name="IDCTAB")


def _primary(camera: CameraModel, filename: str, filetype: str, descrip: str) -> fits.PrimaryHDU:
    h = fits.Header()
    h["TELESCOP"] = "HST"
    h["INSTRUME"] = camera.instrume
    h["DETECTOR"] = camera.detector
    h["FILENAME"] = (filename, "name of file")
    h["FILETYPE"] = filetype
    h["USEAFTER"] = "Jan 01 2002 00:00:00"
    h["PEDIGREE"] = "MODEL"
    h["DESCRIP"] = descrip
    h["COMMENT"] = "Synthetic reference file written by drizzlepac_ng.simulate; not a calibration."
    return fits.PrimaryHDU(header=h)


def _table_hdus(camera: CameraModel, tables: dict) -> list[fits.ImageHDU]:
    hdus = []
    ny, nx = camera.chips[0].shape
    for ver, chip in enumerate(sorted(camera.chips, key=lambda c: -c.ccdchip), start=1):
        for name, data in zip(("DX", "DY"), tables[chip.ccdchip], strict=True):
            h = fits.Header()
            h["EXTNAME"] = name
            h["EXTVER"] = ver
            h["ONAXIS1"] = nx
            h["ONAXIS2"] = ny
            h["CDELT1"] = camera.npol_cdelt
            h["CDELT2"] = camera.npol_cdelt
            h["CCDCHIP"] = chip.ccdchip
            hdus.append(fits.ImageHDU(data=np.asarray(data, dtype=np.float32), header=h))
    return hdus


def write_reference_files(output_dir: str | Path, instrument: str = "ACS/WFC", shape=None,
                          *, overwrite: bool = True) -> dict[str, Path]:
    """Write the synthetic IDCTAB, NPOLFILE and D2IMFILE of a camera.

    Parameters
    ----------
    output_dir : str or Path
        Directory (created if needed).
    instrument : str
        "ACS/WFC" or "WFC3/UVIS".
    shape : None, "full", "small" or (ny, nx)
        Chip shape (small chips have their own miniaturised reference files).
    overwrite : bool
        Rewrite existing files (their content is deterministic).

    Returns
    -------
    dict
        ``{"IDCTAB": path, "NPOLFILE": path, "D2IMFILE": path}``.
    """
    camera = camera_model(instrument, shape)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    root = camera.ref_root
    paths = {"IDCTAB": out / f"{root}_idc.fits", "NPOLFILE": out / f"{root}_npl.fits",
             "D2IMFILE": out / f"{root}_d2i.fits"}
    if not overwrite and all(p.exists() for p in paths.values()):
        return paths
    prim = _primary(camera, paths["IDCTAB"].name, "DISTORTION COEFFICIENTS",
                    "Synthetic polynomial distortion model")
    prim.header["NORDER"] = ORDER
    if camera.instrume == "ACS":
        # zero time-dependent terms (2015 form): TDD leaves the model unchanged
        prim.header["TDD_DATE"] = (2004.5, "TDD reference date (zero TDD terms)")
        for k in ("TDD_CTA", "TDD_CTB", "TDD_CYA", "TDD_CYB", "TDD_CXA", "TDD_CXB"):
            prim.header[k] = 0.0
    fits.HDUList([prim, _idc_table(camera)]).writeto(paths["IDCTAB"], overwrite=True)

    prim = _primary(camera, paths["NPOLFILE"].name, "DXY GRID",
                    "Synthetic non-polynomial distortion tables")
    _filter_any(prim.header, camera)
    fits.HDUList([prim, *_table_hdus(camera, npol_reference_tables(camera))]).writeto(
        paths["NPOLFILE"], overwrite=True)

    prim = _primary(camera, paths["D2IMFILE"].name, f"{camera.detector} D2I FILE",
                    "Synthetic detector-to-image correction tables")
    fits.HDUList([prim, *_table_hdus(camera, d2im_reference_tables(camera))]).writeto(
        paths["D2IMFILE"], overwrite=True)
    return paths


def _filter_any(h: fits.Header, camera: CameraModel) -> None:
    if camera.instrume == "ACS":
        h["FILTER1"] = "ANY"
        h["FILTER2"] = "ANY"
    else:
        h["FILTER"] = "ANY"


@contextlib.contextmanager
def reference_env(directory: str | Path) -> Iterator[None]:
    """Temporarily point ``jref`` and ``iref`` at ``directory`` (restored on exit).

    Parameters
    ----------
    directory : str or Path
        Directory holding the synthetic reference files.
    """
    saved = {k: os.environ.get(k) for k in ("jref", "iref")}
    value = str(Path(directory)) + os.sep
    try:
        os.environ["jref"] = value
        os.environ["iref"] = value
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
