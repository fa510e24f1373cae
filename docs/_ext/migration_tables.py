"""Sphinx extension: generate the migration parameter tables from the code.

For every original task listed in :mod:`originals`, compare its parameters and
defaults with ours (read from our function signatures, or from the astrodrizzle
configuration dataclasses) and write a list-table into ``docs/_generated/``.
The tables therefore always tell the truth about the installed code: a
parameter we do not have shows as such, a changed default shows both values.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import originals

# Deliberate differences, with the reason shown in the table.
NOTES = {
    ("astrodrizzle", "editpars"): "no GUI (TEAL): pass parameters as keywords, or a TOML/.cfg "
                                  "file via configobj",
    ("astrodrizzle", "mdriztab"): "reading parameters from the MDRIZTAB reference table",
    ("astrodrizzle", "wcsmap"): "pixel maps come from any APE-14 WCS (see calc_pixmap)",
    ("astrodrizzle", "num_cores"): "threads in the kernels, not processes; results do not "
                                   "depend on it",
    ("astrodrizzle", "stepsize"): "pixel maps are exact or 'fast' with a measured error bound",
    ("stwcs.updatewcs.updatewcs", "use_db"): "accepted; the remote astrometry database is "
                                              "not consulted (offline): one warning",
    ("tweakreg", "editpars"): "no GUI (TEAL)",
    ("tweakreg", "interactive"): "no interactive plots; PNG files are written",
    ("mapreg.MapReg", "iteractive"): "kept with the original (misspelt) name",
}


def _fmt(value) -> str:
    if value is originals.REQUIRED:
        return "*(required)*"
    if value is inspect.Parameter.empty:
        return "*(required)*"
    return f"``{value!r}``"


def _signature_defaults(obj) -> dict[str, object] | None:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    out = {}
    for name, p in sig.parameters.items():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or name == "self":
            continue
        out[name] = p.default
    return out


def _resolve(module: str, attr: str):
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        return None


def _astrodrizzle_defaults() -> dict[str, object] | None:
    task = _resolve("drizzlepac_ng.astrodrizzle", "AstroDrizzle")
    cfg_mod = _resolve("drizzlepac_ng.astrodrizzle", "config")
    if task is None or cfg_mod is None:
        return None
    ours = _signature_defaults(task) or {}
    cfg = cfg_mod.AstroDrizzleConfig()
    for name, section in cfg_mod.PARAMETER_SECTIONS.items():
        ours.setdefault(name, getattr(getattr(cfg, section), name))
    return ours


def _equal(a, b) -> bool:
    if a is originals.REQUIRED:
        return b is inspect.Parameter.empty
    if isinstance(a, bool) != isinstance(b, bool):
        return False  # True == 1, but a flag is not a number
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # e.g. arrays as defaults
        return False


def _table(title: str, key: str, original: list, ours: dict | None) -> str:
    lines = [title, "~" * len(title), ""]
    if ours is None:
        lines += ["This task is not available in this release of drizzlepac-ng.", ""]
        return "\n".join(lines)
    lines += [".. list-table::", "   :header-rows: 1", "   :widths: 22 22 22 34", "",
              "   * - parameter", "     - original default", "     - drizzlepac-ng",
              "     - status"]
    seen = set()
    for name, default in original:
        seen.add(name)
        note = NOTES.get((key, name), "")
        if name not in ours:
            status = "not supported" + (f": {note}" if note else "")
            mine = "—"
        else:
            mine = _fmt(ours[name])
            status = "same" if _equal(default, ours[name]) else "changed default"
            if note:
                status += f" ({note})"
        lines += [f"   * - ``{name}``", f"     - {_fmt(default)}", f"     - {mine}",
                  f"     - {status}"]
    for name, default in ours.items():
        if name not in seen:
            lines += [f"   * - ``{name}``", "     - —", f"     - {_fmt(default)}", "     - new"]
    lines.append("")
    return "\n".join(lines)


def generate(app) -> None:
    out = Path(app.srcdir) / "_generated"
    out.mkdir(exist_ok=True)
    parts = [_table("astrodrizzle.AstroDrizzle", "astrodrizzle", originals.ASTRODRIZZLE,
                    _astrodrizzle_defaults())]
    tweak = _resolve("drizzlepac_ng.tweakreg", "TweakReg")
    parts.append(_table("tweakreg.TweakReg", "tweakreg", originals.TWEAKREG,
                        None if tweak is None else _signature_defaults(tweak)))
    find = _resolve("drizzlepac_ng.imagefindpars", "ImageFindPars")
    parts.append(_table("imagefindpars / refimagefindpars", "imagefindpars",
                        originals.IMAGEFINDPARS,
                        None if find is None else _signature_defaults(find)))
    for key, params in originals.FUNCTIONS.items():
        module, attr = originals.OURS[key]
        obj = _resolve(module, attr)
        parts.append(_table(f"{key} → ``{module}.{attr}``", key, params,
                            None if obj is None else _signature_defaults(obj)))
    text = "\n".join(parts)
    target = out / "migration_tables.rst"
    if not target.exists() or target.read_text() != text:
        target.write_text(text)


def setup(app):
    app.connect("builder-inited", generate)
    return {"version": "1.0", "parallel_read_safe": True}
