"""A corpus of malformed inputs, built on demand from the good simulated set.

Each :class:`Case` has a name, a description, the task capabilities it needs
(see :mod:`registry`) and a ``build(ws, spec)`` function that damages the
files of a fresh :class:`registry.Workspace` and returns the names the error
message may give (the damaged file, or the exposure that refers to it).

:func:`run_case` runs one task on one case and judges the outcome; the tests
(``test_corpus.py``) and the documentation table (``make_table.py``) use it.
Nothing is stored in the repository: every bad file is made in a temporary
folder from a small simulated exposure.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import registry
from astropy.io import fits
from registry import TaskSpec, Workspace


@dataclass(frozen=True)
class Case:
    """One malformed input."""

    name: str
    description: str
    needs: frozenset[str]
    build: Callable[[Workspace, TaskSpec], list[str]]

    def applies_to(self, spec: TaskSpec) -> bool:
        """Whether the task reads what this case damages."""
        return self.needs <= spec.capabilities


# ---------------------------------------------------------------------------------------
# file surgery


def _rewrite(path: Path, edit: Callable[[fits.HDUList], fits.HDUList | None]) -> None:
    """Apply ``edit`` to an in-memory copy of a FITS file and write it back."""
    with fits.open(path) as hdul:
        hdul = fits.HDUList([h.copy() for h in hdul])
    out = edit(hdul) or hdul
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out.writeto(path, overwrite=True, output_verify="silentfix")


def _sci_headers(hdul):
    return [h.header for h in hdul if h.name == "SCI"]


def _set_sci(**keywords):
    def edit(hdul):
        for hdr in _sci_headers(hdul):
            for k, v in keywords.items():
                hdr[k] = v
    return edit


def _set_everywhere(**keywords):
    """Set keywords in the primary header and every SCI header."""
    def edit(hdul):
        for hdr in [hdul[0].header, *_sci_headers(hdul)]:
            for k, v in keywords.items():
                hdr[k] = v
    return edit


def _delete_everywhere(*names):
    def edit(hdul):
        for hdu in hdul:
            for k in names:
                hdu.header.remove(k, ignore_missing=True, remove_all=True)
    return edit


def _drop(extname: str):
    def edit(hdul):
        return fits.HDUList([h for h in hdul if h.name != extname])
    return edit


def _target(ws: Workspace, spec: TaskSpec) -> Path:
    return spec.primary(ws)


def _exposures(ws: Workspace, spec: TaskSpec) -> list[Path]:
    """The exposures of the task's kind (raw for updatewcs-like tasks)."""
    p = spec.primary(ws)
    if p in ws.raw:
        return list(ws.raw)
    if p in ws.flc:
        return list(ws.flc)
    # tasks that read copies of the exposures (tweakback: the product's inputs next
    # to it): those copies, not the originals the task never opens
    drz = ws.extra.get("drz")
    return [q for q in spec.inputs(ws) if q != drz and Path(q).suffix == ".fits"]


def _names(*paths) -> list[str]:
    return [Path(p).name for p in paths]


# ---------------------------------------------------------------------------------------
# the cases


def _truncated(ws, spec):
    p = _target(ws, spec)
    data = p.read_bytes()
    p.write_bytes(data[: int(len(data) * 0.6) + 17])
    return _names(p)


def _truncated_block(ws, spec):
    p = _target(ws, spec)
    data = p.read_bytes()
    p.write_bytes(data[: (len(data) // 2880 // 2) * 2880])
    return _names(p)


def _empty(ws, spec):
    p = _target(ws, spec)
    p.write_bytes(b"")
    return _names(p)


def _not_fits(ws, spec):
    p = _target(ws, spec)
    p.write_text("This is not a FITS file.\n" * 200)
    return _names(p)


def _html(ws, spec):
    p = _target(ws, spec)
    p.write_bytes((b"<html><body>404 Not Found</body></html>\n").ljust(2880 * 2, b" "))
    return _names(p)


def _missing(ws, spec):
    p = _target(ws, spec)
    p.unlink()
    return _names(p)


def _missing_ext(extname):
    def build(ws, spec):
        p = _target(ws, spec)
        _rewrite(p, _drop(extname))
        return _names(p)
    return build


def _dq_float(ws, spec):
    p = _target(ws, spec)

    def edit(hdul):
        for i, h in enumerate(hdul):
            if h.name == "DQ":
                hdul[i] = fits.ImageHDU(h.data.astype(np.float32) + 0.5, header=h.header)
    _rewrite(p, edit)
    return _names(p)


def _dq_shape(ws, spec):
    p = _target(ws, spec)

    def edit(hdul):
        for i, h in enumerate(hdul):
            if h.name == "DQ":
                hdul[i] = fits.ImageHDU(np.zeros((17, 5), dtype=np.int16), header=h.header)
    _rewrite(p, edit)
    return _names(p)


def _sci_3d(ws, spec):
    p = _target(ws, spec)

    def edit(hdul):
        for i, h in enumerate(hdul):
            if h.name == "SCI":
                hdul[i] = fits.ImageHDU(np.stack([h.data, h.data]), header=h.header)
    _rewrite(p, edit)
    return _names(p)


def _wcs_edit(**kw):
    def build(ws, spec):
        p = _target(ws, spec)
        _rewrite(p, _set_sci(**kw))
        return _names(p)
    return build


_SENTINEL = "1.2345678901234E+99"


def _nan_cd(ws, spec):
    """CD1_1 = NaN as some writers produce it (astropy itself refuses to write it)."""
    p = _target(ws, spec)
    _rewrite(p, _set_sci(CD1_1=float(_SENTINEL)))
    data = p.read_bytes()
    p.write_bytes(data.replace(_SENTINEL.rjust(20).encode(), b"NaN".rjust(20)))
    return _names(p)


def _no_wcs(ws, spec):
    p = _target(ws, spec)
    _rewrite(p, _delete_everywhere("CRVAL1", "CRVAL2", "CD1_1", "CD1_2", "CD2_1", "CD2_2",
                                   "CTYPE1", "CTYPE2"))
    return _names(p)


def _keyword(where: str, **kw):
    def build(ws, spec):
        p = _target(ws, spec)
        _rewrite(p, _set_everywhere(**kw) if where == "all" else _set_sci(**kw))
        return _names(*_exposures(ws, spec))  # a mismatch may be reported on the other file
    return build


def _no_keyword(*names):
    def build(ws, spec):
        p = _target(ws, spec)
        _rewrite(p, _delete_everywhere(*names))
        return _names(p)
    return build


def _ref(ws: Workspace, suffix: str) -> Path:
    return next(ws.refdir.glob(f"*_{suffix}.fits"))


def _ref_missing(keyword, suffix):
    def build(ws, spec):
        ref = _ref(ws, suffix)
        ref.unlink()
        return _names(ref, *_exposures(ws, spec))
    return build


def _ref_garbage(suffix):
    def build(ws, spec):
        ref = _ref(ws, suffix)
        ref.write_text("garbage, not a reference table\n" * 100)
        return _names(ref, *_exposures(ws, spec))
    return build


def _idctab_no_row(ws, spec):
    ref = _ref(ws, "idc")

    def edit(hdul):
        tab = hdul[1].data
        for col in tab.columns.names:
            if col.upper() == "DETCHIP":
                tab[col][:] = 99
            if col.upper().startswith("FILTER"):
                tab[col][:] = "NOSUCH"
    _rewrite(ref, edit)
    return _names(ref, *_exposures(ws, spec))


def _npol_no_match(ws, spec):
    ref = _ref(ws, "npl")

    def edit(hdul):
        for key in ("FILTER1", "FILTER2", "FILTER", "DETECTOR"):
            if key in hdul[0].header:
                hdul[0].header[key] = "NOSUCH"
    _rewrite(ref, edit)
    return _names(ref, *_exposures(ws, spec))


def _coords_syntax(ws, spec):
    bad = "# x y\n10.0 20.0\nthis line is not numbers\n1 2 3 4 five\n"
    out = []
    for key, name in (("coords", "coords.txt"), ("skycoords", "sky.txt")):
        p = ws.root / name
        p.write_text(bad)
        ws.extra[key] = p
        out.append(p.name)
    return out


def _region_syntax(ws, spec):
    p = ws.root / "in.reg"
    p.write_text("# Region file format: DS9\nfk5\ncircle(12.5,,\npolygon(1 2 3 nonsense\n")
    ws.extra["region"] = p
    return [p.name]


def _catalog_syntax(ws, spec):
    p = ws.root / "refcat.txt"
    p.write_text("# RA DEC\n53.1 -27.8\n53.2 minus-twenty-seven\n1 2 3 \"unterminated\n")
    ws.overrides["refcat"] = str(p)
    return [p.name]


def _rules(text: str | None):
    def build(ws, spec):
        p = ws.root / "bad.rules"
        if text is not None:
            p.write_text(text)
        ws.overrides["rules_file"] = str(p)
        return [p.name]
    return build


def _hdrlet_not_headerlet(ws, spec):
    p = ws.extra["hdrlet"]
    p.write_bytes(_ref(ws, "idc").read_bytes())  # a valid FITS file, not a headerlet
    return _names(p)


def _hdrlet_truncated(ws, spec):
    p = ws.extra["hdrlet"]
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2 + 3])
    return _names(p)


def _product_truncated(ws, spec):
    p = ws.extra["drz"]
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2 + 3])
    return _names(p)


def _no_overlap(ws, spec):
    exps = _exposures(ws, spec)

    def edit(hdul):
        for hdr in _sci_headers(hdul):
            hdr["CRVAL1"] = (hdr["CRVAL1"] + 40.0) % 360.0
            hdr["CRVAL2"] = hdr["CRVAL2"] / 3.0
    _rewrite(exps[-1], edit)
    return _names(*exps)


def _no_sources(ws, spec):
    exps = _exposures(ws, spec)
    rng = np.random.default_rng(5)

    def edit(hdul):
        for h in hdul:
            if h.name == "SCI":
                h.data = (100.0 + rng.normal(0.0, 0.01, h.data.shape)).astype(h.data.dtype)
    for p in exps:
        _rewrite(p, edit)
    return _names(*exps)


def _F(*caps: str) -> frozenset[str]:
    return frozenset(caps)


CASES: list[Case] = [
    Case("truncated", "FITS file cut in the middle of a data block", _F("fits"), _truncated),
    Case("truncated_block", "FITS file cut at a 2880-byte block boundary inside the data",
         _F("fits"), _truncated_block),
    Case("empty_file", "zero-byte file", _F("fits"), _empty),
    Case("not_fits", "text file with a .fits name", _F("fits"), _not_fits),
    Case("html_as_fits", "an HTML error page saved as .fits (padded to 2880 bytes)",
         _F("fits"), _html),
    Case("missing_file", "the input does not exist", _F("fits"), _missing),
    Case("missing_sci", "no SCI extension", _F("sci"), _missing_ext("SCI")),
    Case("missing_dq", "no DQ extension", _F("dq"), _missing_ext("DQ")),
    Case("missing_err", "no ERR extension", _F("err"), _missing_ext("ERR")),
    Case("dq_float", "DQ array stored as floats (BITPIX -32)", _F("dq"), _dq_float),
    Case("dq_shape", "DQ array shape differs from SCI", _F("dq", "sci_data"), _dq_shape),
    Case("sci_3d", "SCI array is 3-D", _F("sci_data"), _sci_3d),
    Case("nan_cd", "CD1_1 = NaN (an unparsable card for FITS readers)", _F("wcs"), _nan_cd),
    Case("singular_cd", "CD matrix is singular (all zero)", _F("wcs_math"),
         _wcs_edit(CD1_1=0.0, CD1_2=0.0, CD2_1=0.0, CD2_2=0.0)),
    Case("no_wcs", "CRVAL, CD and CTYPE keywords removed", _F("wcs"), _no_wcs),
    Case("exptime_zero", "EXPTIME = 0", _F("exptime"), _keyword("all", EXPTIME=0.0)),
    Case("exptime_negative", "EXPTIME = -100", _F("exptime"),
         _keyword("all", EXPTIME=-100.0)),
    Case("exptime_string", "EXPTIME = 'long'", _F("exptime"),
         _keyword("all", EXPTIME="long")),
    Case("exptime_missing", "no EXPTIME keyword", _F("exptime"), _no_keyword("EXPTIME")),
    Case("bad_instrument", "INSTRUME = 'NOSUCHCAM'", _F("instrument"),
         _keyword("all", INSTRUME="NOSUCHCAM")),
    Case("photflam_zero", "PHOTFLAM = 0", _F("phot"), _keyword("all", PHOTFLAM=0.0)),
    Case("photflam_string", "PHOTFLAM = 'bright'", _F("phot"),
         _keyword("all", PHOTFLAM="bright")),
    Case("idctab_missing", "the IDCTAB file does not exist", _F("idctab"),
         _ref_missing("IDCTAB", "idc")),
    Case("idctab_garbage", "the IDCTAB file is not FITS", _F("idctab"), _ref_garbage("idc")),
    Case("idctab_no_row", "no IDCTAB row matches the chip and filters", _F("idctab"),
         _idctab_no_row),
    Case("npolfile_missing", "the NPOLFILE does not exist", _F("npol"),
         _ref_missing("NPOLFILE", "npl")),
    Case("npolfile_garbage", "the NPOLFILE is not FITS", _F("npol"), _ref_garbage("npl")),
    Case("npolfile_no_match", "no NPOLFILE matches the detector and filters",
         _F("npol_search"), _npol_no_match),
    Case("coords_syntax", "coordinate file with lines that are not numbers", _F("coords"),
         _coords_syntax),
    Case("rules_syntax", "rules file with syntax errors", _F("rules"),
         _rules("!VERSION = 1.1\n!INSTRUMENT = ACS\nEXPTIME  sum  unknownextra words here\n"
                "FILTER1 first\nDATE-OBS\tfirst\t[broken\n")),
    Case("rules_missing", "rules file does not exist", _F("rules"), _rules(None)),
    Case("region_syntax", "region file with syntax errors", _F("region"), _region_syntax),
    Case("catalog_syntax", "reference catalog with syntax errors", _F("catalog"),
         _catalog_syntax),
    Case("hdrlet_not_headerlet", "the headerlet file is a FITS table, not a headerlet",
         _F("hdrlet"), _hdrlet_not_headerlet),
    Case("hdrlet_truncated", "the headerlet file is truncated", _F("hdrlet"),
         _hdrlet_truncated),
    Case("product_truncated", "the drizzled product is truncated", _F("drz"),
         _product_truncated),
    Case("no_overlap", "the exposures are 40 degrees apart", _F("multi", "wcs"), _no_overlap),
    Case("no_sources", "images of flat sky with no sources", _F("sources"), _no_sources),
]


def case(name: str) -> Case:
    """The case called ``name``."""
    for c in CASES:
        if c.name == name:
            return c
    raise LookupError(name)


# ---------------------------------------------------------------------------------------
# running a case


@dataclass
class Outcome:
    """What a task did on a case."""

    kind: str  # "error" (package error), "return" (normal return) or "bad"
    exc_type: str = ""
    message: str = ""
    changed: tuple[str, ...] = ()
    problem: str = ""  # empty when the outcome honours the contract

    @property
    def ok(self) -> bool:
        return not self.problem


def _sha(paths: list[Path]) -> dict[Path, str | None]:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else None
            for p in paths}


def run_case(c: Case, spec: TaskSpec, template: Path, cache: Path, root: Path) -> Outcome:
    """Build case ``c`` in ``root`` and run ``spec`` on it; judge the outcome.

    ``cache`` keeps each task's prepared inputs between cases.
    """
    ws = spec.workspace(template, cache, root)
    inputs = sorted({*spec.inputs(ws), *ws.flc, *ws.raw, *registry._refs(ws)})
    names = c.build(ws, spec)
    inputs = sorted({*inputs, *(p for p in ws.extra.values() if p.is_file())})
    before = _sha(inputs)
    cwd = os.getcwd()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = spec.run(ws)
    except Exception as exc:
        changed = tuple(p.name for p, h in _sha(inputs).items() if h != before[p])
        out = Outcome("error", f"{type(exc).__module__}.{type(exc).__qualname__}",
                      str(exc), changed)
        if not isinstance(exc, spec.error_base()):
            out.kind = "bad"
            out.problem = f"not a package error: {out.exc_type}: {exc}"
        elif c.name in spec.normal_ok:
            out.problem = f"documented to return normally ({spec.normal_ok[c.name]})"
        elif names and not any(n in str(exc) for n in names):
            out.problem = f"message names none of {names}: {exc}"
        elif changed:
            out.problem = f"input files changed: {changed}"
        return out
    finally:
        os.chdir(cwd)
    changed = tuple(p.name for p, h in _sha(inputs).items() if h != before[p])
    out = Outcome("return", message=str(result)[:200], changed=changed)
    if c.name not in spec.normal_ok:
        out.problem = "returned normally instead of raising"
    elif not str(result).strip():
        out.problem = "returned normally without a report saying why"
    else:  # the task did its documented work: changed files must be complete
        broken = [p.name for p in inputs if p.exists() and before[p] and
                  _sha([p])[p] != before[p] and not _complete(p)]
        if broken:
            out.problem = f"files left incomplete: {broken}"
    return out


def _complete(path: Path) -> bool:
    try:
        with fits.open(path, memmap=False) as h:
            h.verify("exception")
            h.readall()
        return path.stat().st_size % 2880 == 0
    except Exception:
        return False


def pairs() -> list[tuple[Case, TaskSpec]]:
    """Every (case, task) pair that applies (tasks not yet importable included)."""
    return [(c, t) for c in CASES for t in registry.TASKS if c.applies_to(t)]
