"""Helpers shared by drizzlepac-ng's tests (imported, not collected)."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterable
from pathlib import Path


def file_digest(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes: equal digests mean the file was not touched."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def copy_files(paths: Iterable[str | os.PathLike], folder: str | os.PathLike) -> list[str]:
    """Copy ``paths`` into ``folder`` (same names); return the copies' paths as strings."""
    out = []
    for p in paths:
        target = Path(folder) / Path(p).name
        shutil.copy(p, target)
        out.append(str(target))
    return out
