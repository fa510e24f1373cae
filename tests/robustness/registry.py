"""The public tasks the robustness suite exercises, one entry each.

A task plugs into the corpus (``test_corpus.py``), the fault-injection suite
(``test_fault_injection.py``) and the documentation table (``make_table.py``)
by adding one :class:`TaskSpec` to :data:`TASKS`.  Tasks whose module cannot
be imported yet (still being written) are skipped, not failed.

A :class:`Workspace` is a scratch folder holding copies of a small simulated
data set: two calibrated ACS/WFC FLC exposures (``flc``), the same two
exposures in raw (OPUS WCS) form (``raw``) and their synthetic IDCTAB, NPOLFILE
and D2IMFILE (``refdir``).  A task's ``prepare`` builds the extra files it
needs (a headerlet, a drizzled product ...) from those; ``run`` calls the task.
"""

from __future__ import annotations

import importlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Capabilities a task can declare.  A corpus case applies to a task when the
# task has every capability the case needs.
#   fits       the task reads FITS exposures given by name
#   sci        it needs SCI extensions         sci_data  it uses SCI pixels as 2-D images
#   wcs        it reads the SCI WCS keywords   wcs_math  it transforms with the WCS
#   dq         it reads or changes DQ arrays   err       it requires ERR arrays
#   exptime    it uses EXPTIME                 phot      it uses PHOTFLAM
#   idctab     it reads the IDCTAB             npol      it reads NPOLFILE/refdir
#   npol_search it picks NPOLFILEs by filter   instrument it depends on INSTRUME/DETECTOR
#   coords     it reads a coordinate file      rules     it reads a rules file
#   drz        it reads a drizzled product     hdrlet    it reads a headerlet file
#   region     it reads a region file          catalog   it reads a source catalog
#   multi      it combines several exposures   sources   it needs sources in images
#   single     it works on one extension       hdrlet_attached  it needs attached headerlets


@dataclass
class Workspace:
    """Scratch copies of the good data set, and the files a task made from them."""

    root: Path
    flc: list[Path]
    raw: list[Path]
    refdir: Path
    extra: dict[str, Path] = field(default_factory=dict)
    #: keyword overrides a corpus case passes to the task (e.g. a bad ``rules_file``)
    overrides: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_template(cls, template: Path, root: Path) -> Workspace:
        """Copy the data set in ``template`` (see :func:`make_template`) into ``root``."""
        shutil.copytree(template, root, dirs_exist_ok=True)
        return cls.at(root)

    @classmethod
    def at(cls, root: Path) -> Workspace:
        """The workspace already in ``root``."""
        flc = sorted((root / "flc").glob("*_flc.fits"))
        raw = sorted((root / "raw").glob("*_flc.fits"))
        return cls(root=root, flc=flc, raw=raw, refdir=root / "raw")

    def environ(self) -> dict[str, str]:
        """Environment naming ``refdir`` as ``jref$`` (and ``iref$``)."""
        d = str(self.refdir.resolve()) + os.sep
        return {"jref": d, "iref": d}


def make_template(folder: Path) -> Path:
    """Simulate the good data set into ``folder`` (about 1.5 s)."""
    from drizzlepac_ng import simulate

    folder.mkdir(parents=True, exist_ok=True)
    simulate.simulate_exposures(2, shape="small", seed=12, output_dir=folder / "flc",
                                dither="box")
    simulate.simulate_exposures(2, shape="small", seed=12, output_dir=folder / "raw",
                                raw=True, dither="box")
    for truth in folder.rglob("*_truth.fits"):
        truth.unlink()
    return folder


@dataclass(frozen=True)
class TaskSpec:
    """One public task as the robustness suite sees it.

    Attributes
    ----------
    name : str
        Short name used in test ids and tables.
    package : str
        ``stwcs``, ``fitsblender`` or ``drizzlepac``: selects the error base class.
    target : str
        ``module:attribute`` that must import for the task to be tested.
    run : callable
        ``run(ws) -> result``: calls the task on the workspace's files.
    primary : callable
        ``primary(ws) -> Path``: the file corpus cases corrupt.
    inputs : callable
        ``inputs(ws) -> list[Path]``: every file the task may change or read
        (checked byte-for-byte by the corpus, old-or-new by fault injection).
    capabilities : frozenset of str
        What the task reads (see the list at the top of this module).
    inplace : bool
        Whether the task rewrites its inputs (it then gets fault injection).
    prepare : callable, optional
        ``prepare(ws)``: builds extra inputs before the run.
    normal_ok : dict
        Corpus cases for which the task's contract is a normal return, with
        the documented reason (e.g. TweakReg with no sources).
    """

    name: str
    package: str
    target: str
    run: Callable[[Workspace], Any]
    primary: Callable[[Workspace], Path]
    inputs: Callable[[Workspace], list[Path]]
    capabilities: frozenset[str]
    inplace: bool = False
    prepare: Callable[[Workspace], None] | None = None
    normal_ok: dict[str, str] = field(default_factory=dict)

    def prepared(self, template: Path, cache: Path) -> Path:
        """A folder with the template and this task's prepared inputs (made once)."""
        import json
        folder = cache / self.name
        if not (folder / ".extra.json").exists():
            shutil.rmtree(folder, ignore_errors=True)
            ws = Workspace.from_template(template, folder)
            if self.prepare is not None:
                self.prepare(ws)
            extra = {k: str(v.relative_to(folder)) for k, v in ws.extra.items()}
            (folder / ".extra.json").write_text(json.dumps(extra))
        return folder

    def workspace(self, template: Path, cache: Path, root: Path) -> Workspace:
        """A fresh copy of the prepared inputs in ``root``."""
        import json
        folder = self.prepared(template, cache)
        ws = Workspace.from_template(folder, root)
        extra = json.loads((folder / ".extra.json").read_text())
        ws.extra = {k: root / v for k, v in extra.items()}
        return ws

    def available(self) -> bool:
        """True when the task's module and attribute import."""
        mod, _, attr = self.target.partition(":")
        try:
            obj = importlib.import_module(mod)
        except ImportError:
            return False
        for part in attr.split("."):
            if not hasattr(obj, part):
                return False
            obj = getattr(obj, part)
        return True

    def error_base(self) -> tuple[type[BaseException], ...]:
        """The documented exception base classes the task may raise.

        drizzlepac-ng tasks let stwcs-ng and fitsblender-ng errors pass
        through (documented in ``drizzlepac_ng.errors``).
        """
        from stwcs_ng.errors import StwcsError

        bases: list[type[BaseException]] = [StwcsError]
        if self.package in ("fitsblender", "drizzlepac"):
            from fitsblender_ng.errors import FitsblenderError
            bases.append(FitsblenderError)
        if self.package == "drizzlepac":
            from drizzlepac_ng.errors import DrizzlepacError
            bases.append(DrizzlepacError)
        return tuple(bases)


# --------------------------------------------------------------------------------------
# helpers used by the task entries


def _s(paths: list[Path]) -> list[str]:
    return [str(p) for p in paths]


def _flc(ws: Workspace) -> list[Path]:
    return list(ws.flc)


def _first_flc(ws: Workspace) -> Path:
    return ws.flc[0]


def _raw(ws: Workspace) -> list[Path]:
    return list(ws.raw)


def _first_raw(ws: Workspace) -> Path:
    return ws.raw[0]


def _refs(ws: Workspace) -> list[Path]:
    return sorted(p for p in ws.refdir.glob("*.fits") if not p.name.endswith("_flc.fits"))


def _prep_headerlet(ws: Workspace) -> None:
    """A headerlet file made from the second exposure's own WCS, renamed."""
    from stwcs_ng.fileio import atomic_update
    from stwcs_ng.wcsutil import headerlet

    src = ws.root / "hdrlet_src_flc.fits"
    shutil.copy2(ws.flc[0], src)
    with atomic_update(src) as hdul:  # a slightly different pointing, renamed
        for hdu in hdul:
            if hdu.name == "SCI":
                hdu.header["CRVAL1"] += 1e-5
                hdu.header["WCSNAME"] = "ALTWCS"
    out = ws.root / "alt_hlet.fits"
    headerlet.write_headerlet(str(src), "ALTHDR", output=str(out), attach=False)
    src.unlink()
    ws.extra["hdrlet"] = out


def _prep_attached(ws: Workspace) -> None:
    """Attach a headerlet to the first exposure, so that it can be deleted."""
    from stwcs_ng.wcsutil import headerlet

    _prep_headerlet(ws)
    headerlet.attach_headerlet(str(ws.flc[0]), str(ws.extra["hdrlet"]))


def _prep_nan(ws: Workspace) -> None:
    """Put a few NaN pixels in every SCI array (for pixreplace)."""
    from stwcs_ng.fileio import atomic_update

    for p in ws.flc:
        with atomic_update(p) as hdul:
            for hdu in hdul:
                if hdu.name == "SCI":
                    hdu.data[::17, ::23] = float("nan")


def _prep_drz(ws: Workspace) -> None:
    """A drizzled product (with its inputs untouched) for blendheaders."""
    from drizzlepac_ng.astrodrizzle import AstroDrizzle

    out = ws.root / "drz"
    out.mkdir(exist_ok=True)
    copies = []
    for p in ws.flc:
        q = out / p.name
        shutil.copy2(p, q)
        copies.append(q)
    cwd = os.getcwd()
    try:
        os.chdir(out)
        AstroDrizzle([q.name for q in copies], output="blend", runfile="",
                     build=True, clean=True, driz_separate=False, median=False, blot=False,
                     driz_cr=False, context=False, num_cores=1)
    finally:
        os.chdir(cwd)
    ws.extra["drz"] = next(out.glob("blend_dr[zc].fits"))
    for q in copies:
        q.unlink()


def _drz(ws: Workspace) -> Path:
    return ws.extra["drz"]


def _coordfile(ws: Workspace) -> Path:
    p = ws.extra.get("coords")
    if p is None:
        p = ws.root / "coords.txt"
        p.write_text("# x y\n10.0 20.0\n100.5 60.25\n")
        ws.extra["coords"] = p
    return p


def _skyfile(ws: Workspace) -> Path:
    p = ws.extra.get("skycoords")
    if p is None:
        from astropy.io import fits
        with fits.open(ws.flc[0]) as h:
            ra, dec = h["SCI", 1].header["CRVAL1"], h["SCI", 1].header["CRVAL2"]
        p = ws.root / "sky.txt"
        p.write_text(f"# ra dec\n{ra:.8f} {dec:.8f}\n{ra + 1e-4:.8f} {dec - 1e-4:.8f}\n")
        ws.extra["skycoords"] = p
    return p


# --------------------------------------------------------------------------------------
# the run functions


def _run_updatewcs(ws: Workspace):
    from stwcs_ng.updatewcs import updatewcs
    return updatewcs(_s(ws.raw), use_db=False, environ=ws.environ())


def _run_hstwcs(ws: Workspace):
    from stwcs_ng.wcsutil import HSTWCS
    return HSTWCS(str(ws.flc[0]), ext=("SCI", 1))


def _run_write_headerlet(ws: Workspace):
    from stwcs_ng.wcsutil import headerlet
    return headerlet.write_headerlet(str(ws.flc[0]), "NEWHDR",
                                     output=str(ws.root / "new_hlet.fits"), attach=False)


def _run_attach(ws: Workspace):
    from stwcs_ng.wcsutil import headerlet
    hl = ws.overrides.get("hdrlet", ws.extra["hdrlet"])
    return headerlet.attach_headerlet(str(ws.flc[0]), str(hl))


def _run_apply(ws: Workspace):
    from stwcs_ng.wcsutil import headerlet
    hl = ws.overrides.get("hdrlet", ws.extra["hdrlet"])
    return headerlet.apply_headerlet_as_primary(str(ws.flc[0]), str(hl), attach=True,
                                                archive=True, force=True)


def _run_delete(ws: Workspace):
    from stwcs_ng.wcsutil import headerlet
    return headerlet.delete_headerlet(str(ws.flc[0]), hdrname="ALTHDR")


def _run_archive(ws: Workspace):
    from stwcs_ng.wcsutil import altwcs
    return altwcs.archive_wcs(str(ws.flc[0]), wcskey="T", wcsname="ROBUST")


def _run_blend_fb(ws: Workspace):
    from fitsblender_ng.blendheaders import blendheaders
    return blendheaders(str(ws.extra["drz"]), _s(ws.flc),
                        rules_file=ws.overrides.get("rules_file"))


def _run_blend_dp(ws: Workspace):
    from drizzlepac_ng.blendheaders import blendheaders
    return blendheaders(str(ws.extra["drz"]), _s(ws.flc),
                        rules_file=ws.overrides.get("rules_file"))


def _run_resetbits(ws: Workspace):
    from drizzlepac_ng.resetbits import reset_dq_bits
    return reset_dq_bits(_s(ws.flc), bits=16)


def _run_pixreplace(ws: Workspace):
    from drizzlepac_ng.pixreplace import replace
    return replace(_s(ws.flc), pixvalue=float("nan"), newvalue=0.0)


def _run_photeq(ws: Workspace):
    from drizzlepac_ng.photeq import photeq
    return photeq(_s(ws.flc), ref_phot=1.0e-19, readonly=False, logfile=None)


def _run_updatenpol(ws: Workspace):
    from drizzlepac_ng.updatenpol import update
    return update(_s(ws.raw), refdir=str(ws.refdir) + os.sep, wcsupdate=False)


def _run_astrodrizzle(ws: Workspace):
    from drizzlepac_ng.astrodrizzle import AstroDrizzle
    cwd = os.getcwd()
    try:
        os.chdir(ws.root)
        return AstroDrizzle(_s(ws.flc), output="robust", runfile="", build=True,
                            clean=True, num_cores=1)
    finally:
        os.chdir(cwd)


def _run_xy2rd(ws: Workspace):
    from drizzlepac_ng.pixtosky import xy2rd
    return xy2rd(f"{ws.flc[0]}[sci,1]", coordfile=str(_coordfile(ws)), verbose=False)


def _run_rd2xy(ws: Workspace):
    from drizzlepac_ng.skytopix import rd2xy
    return rd2xy(f"{ws.flc[0]}[sci,1]", coordfile=str(_skyfile(ws)), verbose=False)


def _run_tran(ws: Workspace):
    from drizzlepac_ng.pixtopix import tran
    return tran(f"{ws.flc[0]}[sci,1]", f"{ws.flc[1]}[sci,1]",
                coordfile=str(_coordfile(ws)), verbose=False)


def _run_tweakreg(ws: Workspace):
    from drizzlepac_ng.tweakreg import TweakReg
    cwd = os.getcwd()
    try:
        os.chdir(ws.root)
        extra = {"refcat": ws.overrides["refcat"]} if "refcat" in ws.overrides else {}
        return TweakReg(_s(ws.flc), updatehdr=True, **extra, interactive=False, see2dplot=False,
                        residplot="No plot", shiftfile=False, writecat=False,
                        clean=True, verbose=False)
    finally:
        os.chdir(cwd)


def _prep_tweakback(ws: Workspace) -> None:
    """A product whose primary WCS is 'tweaked', with the original archived as IDC_..."""
    from stwcs_ng.fileio import atomic_update
    from stwcs_ng.wcsutil import altwcs

    _prep_drz(ws)
    drz = ws.extra["drz"]
    for i, p in enumerate(ws.flc):  # the product's inputs, next to it
        q = drz.parent / p.name
        shutil.copy2(p, q)
        ws.extra[f"tb{i}"] = q
    altwcs.archive_wcs(str(drz), ext=[("SCI", 1)], wcskey="A", wcsname="IDC_robust")
    with atomic_update(drz) as hdul:
        hdr = hdul["SCI", 1].header
        hdr["CRVAL1"] += 2e-6
        hdr["CRVAL2"] -= 1e-6
        hdr["WCSNAME"] = "TWEAKED"


def _tb_inputs(ws: Workspace) -> list[Path]:
    return [ws.extra["tb0"], ws.extra["tb1"]]


def _run_tweakback(ws: Workspace):
    from drizzlepac_ng.tweakback import tweakback
    return tweakback(str(ws.extra["drz"]), input=_s(_tb_inputs(ws)))


def _region(ws: Workspace) -> Path:
    p = ws.extra.get("region")
    if p is None:
        from astropy.io import fits
        with fits.open(ws.flc[0]) as h:
            ra, dec = h["SCI", 1].header["CRVAL1"], h["SCI", 1].header["CRVAL2"]
        p = ws.root / "in.reg"
        p.write_text('# Region file format: DS9\nfk5\n'
                     f'circle({ra:.7f},{dec:.7f},0.5")\n')
        ws.extra["region"] = p
    return p


def _run_mapreg(ws: Workspace):
    from drizzlepac_ng.mapreg import MapReg
    (ws.root / "regions").mkdir(exist_ok=True)
    return MapReg(str(_region(ws)), [str(ws.flc[0])], outpath=str(ws.root / "regions"),
                  verbose=False)


def _with_coords(ws: Workspace) -> list[Path]:
    return [ws.flc[0], _coordfile(ws)]


def _with_sky(ws: Workspace) -> list[Path]:
    return [ws.flc[0], _skyfile(ws)]


def _F(*caps: str) -> frozenset[str]:
    return frozenset(caps)


_EXPOSURE = ("fits", "sci", "wcs")

#: Every task under test.  Add new tasks here (one entry each).
TASKS: list[TaskSpec] = [
    TaskSpec("updatewcs", "stwcs", "stwcs_ng.updatewcs:updatewcs", _run_updatewcs,
             _first_raw, lambda ws: _raw(ws) + _refs(ws),
             _F(*_EXPOSURE, "instrument", "wcs_math", "idctab", "npol"), inplace=True),
    TaskSpec("HSTWCS", "stwcs", "stwcs_ng.wcsutil:HSTWCS", _run_hstwcs, _first_flc,
             lambda ws: [ws.flc[0]], _F(*_EXPOSURE, "single")),
    TaskSpec("write_headerlet", "stwcs", "stwcs_ng.wcsutil.headerlet:write_headerlet",
             _run_write_headerlet, _first_flc, lambda ws: [ws.flc[0]], _F(*_EXPOSURE)),
    TaskSpec("attach_headerlet", "stwcs", "stwcs_ng.wcsutil.headerlet:attach_headerlet",
             _run_attach, _first_flc, lambda ws: [ws.flc[0], ws.extra["hdrlet"]],
             _F("fits", "sci", "hdrlet"), inplace=True, prepare=_prep_headerlet),
    TaskSpec("apply_headerlet", "stwcs",
             "stwcs_ng.wcsutil.headerlet:apply_headerlet_as_primary", _run_apply,
             _first_flc, lambda ws: [ws.flc[0], ws.extra["hdrlet"]],
             _F(*_EXPOSURE, "hdrlet"), inplace=True, prepare=_prep_headerlet),
    TaskSpec("delete_headerlet", "stwcs", "stwcs_ng.wcsutil.headerlet:delete_headerlet",
             _run_delete, _first_flc, lambda ws: [ws.flc[0]], _F("fits", "hdrlet_attached"),
             inplace=True, prepare=_prep_attached),
    TaskSpec("archive_wcs", "stwcs", "stwcs_ng.wcsutil.altwcs:archive_wcs", _run_archive,
             _first_flc, lambda ws: [ws.flc[0]], _F(*_EXPOSURE), inplace=True),
    TaskSpec("fb.blendheaders", "fitsblender", "fitsblender_ng.blendheaders:blendheaders",
             _run_blend_fb, _first_flc,
             lambda ws: _flc(ws) + [ws.extra["drz"]], _F("fits", "sci", "rules", "multi", "drz"),
             inplace=True, prepare=_prep_drz),
    TaskSpec("blendheaders", "drizzlepac", "drizzlepac_ng.blendheaders:blendheaders",
             _run_blend_dp, _first_flc,
             lambda ws: _flc(ws) + [ws.extra["drz"]], _F("fits", "sci", "rules", "multi", "drz"),
             inplace=True, prepare=_prep_drz),
    TaskSpec("reset_dq_bits", "drizzlepac", "drizzlepac_ng.resetbits:reset_dq_bits",
             _run_resetbits, _first_flc, _flc, _F("fits", "dq"), inplace=True),
    TaskSpec("pixreplace", "drizzlepac", "drizzlepac_ng.pixreplace:replace",
             _run_pixreplace, _first_flc, _flc, _F("fits"), inplace=True,
             prepare=_prep_nan),
    TaskSpec("photeq", "drizzlepac", "drizzlepac_ng.photeq:photeq", _run_photeq,
             _first_flc, _flc, _F("fits", "sci", "phot"), inplace=True),
    TaskSpec("updatenpol", "drizzlepac", "drizzlepac_ng.updatenpol:update", _run_updatenpol,
             _first_raw, lambda ws: _raw(ws) + _refs(ws),
             _F("fits", "instrument", "npol", "npol_search"), inplace=True),
    TaskSpec("AstroDrizzle", "drizzlepac", "drizzlepac_ng.astrodrizzle:AstroDrizzle",
             _run_astrodrizzle, _first_flc, _flc,
             _F(*_EXPOSURE, "instrument", "wcs_math", "sci_data", "dq", "exptime", "multi"),
             inplace=True),
    TaskSpec("xy2rd", "drizzlepac", "drizzlepac_ng.pixtosky:xy2rd", _run_xy2rd, _first_flc,
             _with_coords, _F(*_EXPOSURE, "wcs_math", "coords", "single")),
    TaskSpec("rd2xy", "drizzlepac", "drizzlepac_ng.skytopix:rd2xy", _run_rd2xy, _first_flc,
             _with_sky, _F(*_EXPOSURE, "wcs_math", "coords", "single")),
    TaskSpec("tran", "drizzlepac", "drizzlepac_ng.pixtopix:tran", _run_tran, _first_flc,
             lambda ws: [*ws.flc, _coordfile(ws)], _F(*_EXPOSURE, "wcs_math", "coords", "single")),
    TaskSpec("TweakReg", "drizzlepac", "drizzlepac_ng.tweakreg:TweakReg", _run_tweakreg,
             _first_flc, _flc,
             _F(*_EXPOSURE, "wcs_math", "sci_data", "multi", "sources", "catalog"), inplace=True,
             normal_ok={"no_sources": "no sources, no matches: the report says why",
                        "no_overlap": "no matches: the report says why",
                        "catalog_syntax": "reference catalog unusable: the report says why"}),
    TaskSpec("tweakback", "drizzlepac", "drizzlepac_ng.tweakback:tweakback", _run_tweakback,
             lambda ws: ws.extra["tb0"], lambda ws: [*_tb_inputs(ws), ws.extra["drz"]],
             _F(*_EXPOSURE, "wcs_math", "multi", "drz"), inplace=True,
             prepare=_prep_tweakback),
    TaskSpec("MapReg", "drizzlepac", "drizzlepac_ng.mapreg:MapReg", _run_mapreg, _first_flc,
             lambda ws: [ws.flc[0], _region(ws)], _F(*_EXPOSURE, "wcs_math", "region", "single")),
]


def available_tasks(*, inplace_only: bool = False) -> list[TaskSpec]:
    """Tasks whose modules import (optionally only in-place ones)."""
    return [t for t in TASKS if t.available() and (t.inplace or not inplace_only)]


def task(name: str) -> TaskSpec:
    """The task called ``name``."""
    for t in TASKS:
        if t.name == name:
            return t
    raise LookupError(name)
