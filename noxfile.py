"""Nox sessions for the drizzlepac-ng monorepo.

    nox -s tests                 # all three packages (real wheels) + every test folder, not slow
    nox -s slow                  # the slow full-size tests
    nox -s stwcs                 # stwcs-ng alone, in its own venv
    nox -s fitsblender           # fitsblender-ng alone
    nox -s drizzlepac            # drizzlepac-ng with its two siblings
    nox -s docs                  # Sphinx, warnings as errors, doc examples run as tests
    nox -s lint                  # ruff
    nox -s build                 # sdists + wheels into dist/, twine check
    nox -s sdist_check           # a wheel built from drizzlepac-ng's sdist passes the OpenMP test
    nox -s demo                  # the README's main job on built-in simulated data
    nox -s dev                   # .venv with editable installs for day-to-day work

Extra pytest arguments go after ``--``, e.g. ``nox -s tests -- -m "not slow" -x``.
"""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = False

ROOT = Path(__file__).parent
STWCS = "packages/stwcs-ng"
BLENDER = "packages/fitsblender-ng"
DRIZ = "packages/drizzlepac-ng"

# Sibling packages are installed from their folders (they are not on PyPI);
# each package session installs only what that package needs.
PACKAGES = {
    "stwcs": ([f"./{STWCS}[test]"], f"{STWCS}/tests"),
    "fitsblender": ([f"./{BLENDER}[test]"], f"{BLENDER}/tests"),
    "drizzlepac": ([f"./{STWCS}", f"./{BLENDER}", f"./{DRIZ}[test]"], f"{DRIZ}/tests"),
}
ALL_EXTRAS = f"./{DRIZ}[test,all]"


def _install(session: nox.Session, *specs: str) -> None:
    session.install("-U", "pip")
    # Real (non-editable) wheels, built from each folder.
    session.install(*specs)


def _pytest(session: nox.Session, *paths: str) -> None:
    # Without arguments, the slow full-size tests are left to ``nox -s slow``.
    session.run("pytest", "-p", "no:cacheprovider", *paths,
                *(session.posargs or ["-m", "not slow"]))


def _package_session(session: nox.Session, package: str) -> None:
    specs, tests = PACKAGES[package]
    _install(session, *specs)
    # Prove the package stands alone: its siblings must not be importable
    # unless it depends on them.
    others = {"stwcs": ["fitsblender_ng", "drizzlepac_ng"],
              "fitsblender": ["stwcs_ng", "drizzlepac_ng"],
              "drizzlepac": []}[package]
    for mod in others:
        session.run("python", "-c",
                    f"import importlib.util, sys; "
                    f"sys.exit(importlib.util.find_spec('{mod}') is not None)")
    _pytest(session, "-c", "pyproject.toml", "--rootdir", ".", tests)


@nox.session
def stwcs(session: nox.Session) -> None:
    """Install stwcs-ng alone as a wheel and run its tests."""
    _package_session(session, "stwcs")


@nox.session
def fitsblender(session: nox.Session) -> None:
    """Install fitsblender-ng alone as a wheel and run its tests."""
    _package_session(session, "fitsblender")


@nox.session
def drizzlepac(session: nox.Session) -> None:
    """Install drizzlepac-ng (with its two siblings) as wheels and run its tests."""
    _package_session(session, "drizzlepac")


@nox.session
def tests(session: nox.Session) -> None:
    """Install all three packages as wheels and run every test folder (slow tests excluded).

    Extra arguments replace the default marker selection, e.g. ``nox -s tests -- -m slow``.
    """
    _install(session, f"./{STWCS}", f"./{BLENDER}", ALL_EXTRAS)
    _pytest(session)


@nox.session
def slow(session: nox.Session) -> None:
    """The slow, full-size tests (the issues' must-show runs on full ACS/WFC exposures)."""
    _install(session, f"./{STWCS}", f"./{BLENDER}", ALL_EXTRAS)
    session.run("pytest", "-p", "no:cacheprovider", "-m", "slow", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the Sphinx docs with warnings as errors, then run their examples."""
    _install(session, f"./{STWCS}", f"./{BLENDER}", ALL_EXTRAS, "-r", "docs/requirements.txt")
    session.run("sphinx-build", "-W", "--keep-going", "-b", "html", "-j", "auto",
                "docs", "docs/_build/html")
    session.run("sphinx-build", "-W", "--keep-going", "-b", "doctest",
                "docs", "docs/_build/doctest")


@nox.session
def lint(session: nox.Session) -> None:
    """Run ruff over the whole tree."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")


@nox.session
def build(session: nox.Session) -> None:
    """Build an sdist and a wheel of each package, then ``twine check`` them."""
    session.install("build", "twine")
    dist = ROOT / "dist"
    for pkg in (STWCS, BLENDER, DRIZ):
        session.run("python", "-m", "build", pkg, "--outdir", str(dist))
    session.run("twine", "check", "--strict", *sorted(str(p) for p in dist.glob("*")))


@nox.session
def sdist_check(session: nox.Session) -> None:
    """Build drizzlepac-ng's sdist, install a wheel built from it, run the OpenMP test."""
    session.install("build")
    tmp = Path(session.create_tmp()).resolve()
    session.run("python", "-m", "build", "--sdist", DRIZ, "--outdir", str(tmp))
    sdist = sorted(tmp.glob("drizzlepac_ng-*.tar.gz"))[-1]
    # pip builds a wheel from the sdist in an isolated environment, compiling from scratch
    session.install("-U", "pip")
    session.install(f"./{STWCS}", f"./{BLENDER}", f"{sdist}[test]")
    session.chdir(str(tmp))
    session.run("tar", "xzf", str(sdist), external=True)
    tests = sorted(tmp.glob("drizzlepac_ng-*/tests/test_openmp.py"))[-1]
    session.run("pytest", "-p", "no:cacheprovider", "-c", "/dev/null", "-q", str(tests))


@nox.session
def demo(session: nox.Session) -> None:
    """Run the main job on built-in simulated data (no download)."""
    _install(session, f"./{STWCS}", f"./{BLENDER}", ALL_EXTRAS)
    session.run("drizzlepac-ng", "demo", "--output-dir", "demo_output", *session.posargs)


@nox.session(venv_backend="none")
def dev(session: nox.Session) -> None:
    """Create ``.venv`` with editable installs of the three packages."""
    session.run("python3", "-m", "venv", ".venv", external=True)
    py = ".venv/bin/python"
    session.run(py, "-m", "pip", "install", "-U", "pip", external=True)
    session.run(py, "-m", "pip", "install", "-e", STWCS, "-e", BLENDER,
                "-e", f"{DRIZ}[test,all]", "-r", "docs/requirements.txt", "nox", "ruff",
                external=True)
