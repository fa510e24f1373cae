"""Hatchling build hook that compiles the Cython/OpenMP kernels of drizzlepac-ng.

Every ``*.pyx`` file below ``src/drizzlepac_ng`` becomes one extension module.
Modules are compiled *in place* (the shared object lands next to its ``.pyx``)
because hatchling's editable wheel is only a ``.pth`` file pointing at ``src/``;
the standard wheel then force-includes the same shared objects.  Cython writes
its C output to ``build/cython`` so that the source tree only gains ``.so``
files (both are git-ignored).

Local knobs (environment variables; never used for published wheels):

``DRIZZLEPAC_NG_NO_OPENMP=1``
    compile without ``-fopenmp`` (the OpenMP unit test then fails, on purpose).
``DRIZZLEPAC_NG_NATIVE=1``
    add ``-march=native`` (faster vector code on this processor only; FMA
    contraction stays off, so the bits do not change).
``DRIZZLEPAC_NG_DEBUG=1``
    ``-O0 -g`` and Cython bounds/wraparound checks.

A signature of everything that changes the binary without changing the
sources (flags, numpy/Cython/Python versions) is stored beside the generated
C; when it changes, every module is rebuilt, because setuptools would
otherwise keep a stale ``.so`` that is newer than its ``.pyx``.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

PACKAGE = "drizzlepac_ng"


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


@contextmanager
def _working_directory(path: Path):
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def _install_module(built: Path, target: Path) -> Path:
    """Put a compiled module in the source tree by rename, never by rewriting it.

    setuptools' in-place build copies over the existing file (same inode), which
    crashes every running process that has the old module loaded (SIGBUS / SIGSEGV
    in an editable install).  A new file renamed over the old one leaves their
    mapping intact.
    """
    data = built.read_bytes()
    if target.is_file() and target.read_bytes() == data:
        return target
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, 0o755)
    os.replace(tmp, target)
    return target


def _compiler_settings() -> tuple[list[str], list[str], dict[str, Any]]:
    debug = _env_flag("DRIZZLEPAC_NG_DEBUG")
    cflags = ["-O0", "-g"] if debug else ["-O3", "-g0"]
    # no FMA contraction: the same bits on every platform (arm64 has FMA in its base ISA)
    cflags.append("-ffp-contract=off")
    ldflags: list[str] = []
    if _env_flag("DRIZZLEPAC_NG_NATIVE"):
        cflags.append("-march=native")
    if not _env_flag("DRIZZLEPAC_NG_NO_OPENMP"):
        if sys.platform == "darwin":
            # Apple clang needs libomp (brew install libomp); cibuildwheel sets it up.
            cflags += ["-Xpreprocessor", "-fopenmp"]
            ldflags += ["-lomp"]
        else:
            cflags.append("-fopenmp")
            ldflags.append("-fopenmp")
    directives: dict[str, Any] = {
        "language_level": 3,
        "boundscheck": debug,
        "wraparound": debug,
        "cdivision": True,
        "initializedcheck": debug,
        "embedsignature": True,
    }
    return cflags, ldflags, directives


class CythonOpenMPHook(BuildHookInterface):
    """Cythonize and compile every kernel module for the wheel target."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return  # the sdist ships the .pyx sources and this hook

        import Cython
        import numpy
        from Cython.Build import cythonize
        from setuptools import Distribution, Extension

        root = Path(self.root)
        cflags, ldflags, directives = _compiler_settings()
        with _working_directory(root):
            sources = sorted(Path("src", PACKAGE).rglob("*.pyx"))
            if not sources:
                return
            extensions = []
            for pyx in sources:
                module = ".".join(pyx.relative_to("src").with_suffix("").parts)
                extensions.append(
                    Extension(
                        module,
                        [pyx.as_posix()],
                        include_dirs=[numpy.get_include()],
                        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
                        extra_compile_args=cflags,
                        extra_link_args=ldflags,
                    )
                )
            signature = repr(
                (cflags, ldflags, sorted(directives.items()), numpy.__version__,
                 Cython.__version__, sys.version)
            )
            stamp = Path("build", "cython", "signature.txt")
            force = not stamp.is_file() or stamp.read_text() != signature
            modules = cythonize(
                extensions,
                compiler_directives=directives,
                build_dir="build/cython",
                include_path=["src"],
                force=force,
                quiet=True,
            )
            dist = Distribution(
                {"name": self.metadata.name, "ext_modules": modules, "package_dir": {"": "src"}}
            )
            command = dist.get_command_obj("build_ext")
            command.inplace = False
            command.build_lib = os.path.join("build", "lib")
            command.force = force
            command.build_temp = os.path.join("build", "temp")
            command.parallel = os.cpu_count() or 1
            command.ensure_finalized()
            command.run()
            stamp.parent.mkdir(parents=True, exist_ok=True)
            stamp.write_text(signature)
            built = [_install_module(Path(command.get_ext_fullpath(m.name)),
                                     Path("src", command.get_ext_filename(m.name))).resolve()
                     for m in modules]

        if version == "standard":
            for so in built:
                build_data["force_include"][str(so)] = so.relative_to(root / "src").as_posix()
        build_data["pure_python"] = False
        build_data["infer_tag"] = True

    def clean(self, versions: list[str]) -> None:
        for path in (Path(self.root) / "src" / PACKAGE).rglob("*"):
            if path.suffix in (".so", ".pyd"):
                path.unlink()
