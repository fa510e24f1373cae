"""Cross-package checks: dependencies, versions, entry points and error hierarchies."""

import importlib
import importlib.metadata as md
import subprocess
import sys

import pytest
from packaging.requirements import Requirement

PACKAGES = {"stwcs-ng": "stwcs_ng", "fitsblender-ng": "fitsblender_ng",
            "drizzlepac-ng": "drizzlepac_ng"}


def _requires(dist):
    return {Requirement(r).name: Requirement(r) for r in md.requires(dist) or []
            if "extra ==" not in r}


def test_dependency_graph():
    driz = _requires("drizzlepac-ng")
    assert "stwcs-ng" in driz and "fitsblender-ng" in driz
    # fitsblender-ng stands alone; stwcs-ng does not need the others.
    assert not {"stwcs-ng", "drizzlepac-ng"} & set(_requires("fitsblender-ng"))
    assert not {"fitsblender-ng", "drizzlepac-ng"} & set(_requires("stwcs-ng"))


def test_sibling_pins_match_installed_versions():
    driz = _requires("drizzlepac-ng")
    for sibling in ("stwcs-ng", "fitsblender-ng"):
        assert driz[sibling].specifier.contains(md.version(sibling)), sibling


@pytest.mark.parametrize("dist, module", PACKAGES.items())
def test_version_attribute(dist, module):
    assert importlib.import_module(module).__version__ == md.version(dist)


@pytest.mark.parametrize("dist, module", PACKAGES.items())
def test_command_line_version(dist, module):
    out = subprocess.run([sys.executable, "-m", f"{module}.cli", "--version"],
                         capture_output=True, text=True, check=True)
    assert md.version(dist) in out.stdout


@pytest.mark.parametrize("module, base", [("stwcs_ng.errors", "StwcsError"),
                                          ("fitsblender_ng.errors", "FitsblenderError"),
                                          ("drizzlepac_ng.errors", "DrizzlepacError")])
def test_every_error_derives_from_the_package_base(module, base):
    mod = importlib.import_module(module)
    root = getattr(mod, base)
    for name in mod.__all__:
        cls = getattr(mod, name)
        assert issubclass(cls, root), name
        err = cls("something is wrong", filename="x_flt.fits")
        assert str(err).startswith("x_flt.fits"), name
        assert "something is wrong" in str(err)
        assert err.filename == "x_flt.fits"


def test_library_adds_no_handlers_at_import():
    import logging

    for name in ("stwcs_ng", "fitsblender_ng", "drizzlepac_ng"):
        handlers = logging.getLogger(name).handlers
        assert all(isinstance(h, logging.NullHandler) for h in handlers), name
