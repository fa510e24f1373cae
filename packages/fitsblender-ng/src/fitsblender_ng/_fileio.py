"""Atomic FITS writes: temp file in the same directory, fsync, verify, ``os.replace``.

fitsblender-ng does not depend on stwcs-ng, so it keeps this small
equivalent of ``stwcs_ng.fileio.atomic_write``.  A failed write leaves the
target byte-identical and removes the temporary file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import tempfile
from pathlib import Path

from astropy.io import fits

from .errors import FileUpdateError

__all__ = ["atomic_write", "check_writable"]

log = logging.getLogger(__name__)


def check_writable(path: str | Path) -> Path:
    """Fail early when ``path`` cannot be (re)written.

    Parameters
    ----------
    path : str or Path
        The file to be written or replaced.

    Returns
    -------
    Path
        ``path`` as a Path.

    Raises
    ------
    FileUpdateError
        If the file exists and is read-only, or its directory is missing or
        not writable.
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise FileUpdateError("directory does not exist", filename=str(path))
    if path.exists() and not os.access(path, os.W_OK):
        raise FileUpdateError("file is read-only", filename=str(path))
    if not os.access(parent, os.W_OK):
        raise FileUpdateError("directory is not writable", filename=str(path))
    return path


def atomic_write(hdulist: fits.HDUList, path: str | Path) -> Path:
    """Write ``hdulist`` to ``path`` atomically.

    The list is written to a temporary file next to ``path`` (cards that
    astropy can fix are fixed, with its warnings), flushed and fsynced,
    re-opened and verified, and then moved over ``path`` with ``os.replace``.
    An existing file keeps its permission bits.

    Parameters
    ----------
    hdulist : astropy.io.fits.HDUList
        What to write.
    path : str or Path
        Destination.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    FileUpdateError
        If the destination is not writable, or writing or verifying fails; the
        destination is then unchanged.
    """
    path = check_writable(path)
    parent = path.parent if str(path.parent) else Path(".")
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise FileUpdateError(f"cannot create a temporary file in {str(parent)!r} ({exc}); "
                              "nothing was changed", filename=str(path)) from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            hdulist.writeto(fh, output_verify="fix")
            fh.flush()
            os.fsync(fh.fileno())
        _verify(tmp, len(hdulist))
        if mode is None:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except FileUpdateError:
        _discard(tmp)
        raise
    except Exception as exc:  # a short write surfaces as astropy's AttributeError
        _discard(tmp)
        raise FileUpdateError(f"could not write ({type(exc).__name__}: {exc})",
                              filename=str(path)) from exc
    with contextlib.suppress(OSError):
        dir_fd = os.open(parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    log.debug("wrote %s", path)
    return path


def _verify(tmp: Path, n_hdus: int) -> None:
    try:
        with fits.open(tmp, memmap=True, do_not_scale_image_data=True) as check:
            if len(check) != n_hdus:
                raise FileUpdateError(f"verification found {len(check)} HDUs, expected {n_hdus}",
                                      filename=str(tmp))
            check.verify("exception")
            for hdu in check:
                _ = hdu.data
    except FileUpdateError:
        raise
    except (OSError, ValueError, TypeError, fits.VerifyError) as exc:
        raise FileUpdateError(f"written file does not verify: {exc}", filename=str(tmp)) from exc


def _discard(tmp: Path) -> None:
    with contextlib.suppress(OSError):
        tmp.unlink()
