"""Crash-safe updates of FITS files.

Every task that changes a file goes through :func:`atomic_update` (or
:func:`atomic_write`): the new content is written to a temporary file in the
same folder, flushed to disk with ``fsync``, re-opened to prove it is valid
FITS, and only then renamed over the original with :func:`os.replace`, which
is atomic on POSIX file systems.  Whatever happens before the rename (an
exception, ``SIGKILL``, a full disk), the original file is untouched; after it,
the file is the complete new one.  The temporary file is removed on failure.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

from astropy.io import fits

from .errors import FileUpdateError, InputFileError

__all__ = ["atomic_update", "atomic_write", "fsync_folder", "open_fits", "read_fits"]


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise InputFileError("file does not exist", filename=str(path))
    if not path.is_file():
        raise InputFileError("not a regular file", filename=str(path))
    if not os.access(path, os.R_OK):
        raise InputFileError("file is not readable (permission denied)", filename=str(path))


def open_fits(filename: str | os.PathLike, **kwargs) -> fits.HDUList:
    """Open a FITS file read-only, turning every failure into :class:`InputFileError`.

    Parameters
    ----------
    filename : str or path-like
        The file to open.
    **kwargs
        Passed to :func:`astropy.io.fits.open`.

    Returns
    -------
    astropy.io.fits.HDUList
        The open file; the caller closes it.

    Raises
    ------
    InputFileError
        If the file is missing, unreadable, not FITS or truncated.
    """
    path = Path(filename)
    _check_readable(path)
    size = path.stat().st_size
    if size == 0 or size % 2880:
        raise InputFileError(f"not a complete FITS file: its size ({size} bytes) is not a "
                             "positive multiple of 2880 (truncated, or not FITS)",
                             filename=str(path))
    hdul = None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            hdul = fits.open(path, mode="readonly", **kwargs)
            _check_cards(hdul, path)
            hdul.verify("silentfix+ignore")
            # Touch every HDU so that truncation shows up here, not later.
            hdul.readall()
        truncated = [w for w in caught
                     if "truncated" in str(w.message) or "corrupted" in str(w.message)]
        if truncated:
            raise OSError(str(truncated[0].message))
        for w in caught:  # pass on anything else astropy had to say
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    except (OSError, ValueError, TypeError, IndexError, KeyError) as exc:
        if hdul is not None:
            hdul.close()
        raise InputFileError(f"cannot be read as FITS ({exc})", filename=str(path)) from exc
    if len(hdul) == 0:
        hdul.close()
        raise InputFileError("file contains no HDU", filename=str(path))
    return hdul


def _check_cards(hdul: fits.HDUList, path: Path) -> None:
    """Raise InputFileError for a header card whose value cannot be parsed."""
    for index, hdu in enumerate(hdul):
        for card in hdu.header.cards:
            try:
                value = card.value
            except (fits.VerifyError, ValueError) as exc:
                raise InputFileError(
                    f"header card {card.keyword!r} of extension {index} cannot be parsed "
                    f"({exc})", filename=str(path), extension=index) from exc
            if isinstance(value, float) and value != value:  # NaN from a bad card
                raise InputFileError(f"header card {card.keyword!r} of extension {index} "
                                     "is not a number (NaN)", filename=str(path),
                                     extension=index)


def read_fits(filename: str | os.PathLike) -> fits.HDUList:
    """Read a whole FITS file into memory and close it.

    The returned :class:`~astropy.io.fits.HDUList` is detached from the file, so it
    can be modified freely and written elsewhere.

    Parameters
    ----------
    filename : str or path-like
        The file to read.

    Returns
    -------
    astropy.io.fits.HDUList
        An in-memory copy of every HDU.

    Raises
    ------
    InputFileError
        If the file is missing, unreadable, not FITS or truncated.
    """
    path = Path(filename)
    with open_fits(path):  # validation: missing, unreadable, not FITS, truncated
        pass
    # Parse an in-memory copy of the bytes rather than ``copy()`` each HDU:
    # astropy's copy of a non-standard extension (HDRLET) drops its data.
    try:
        hdul = fits.open(io.BytesIO(path.read_bytes()), memmap=False, lazy_load_hdus=False)
        hdul.readall()
    except (OSError, ValueError, TypeError) as exc:
        raise InputFileError(f"cannot be read as FITS ({exc})", filename=str(path)) from exc
    return hdul


def atomic_write(hdulist: fits.HDUList, filename: str | os.PathLike, *,
                 overwrite: bool = True, output_verify: str = "fix") -> None:
    """Write ``hdulist`` to ``filename`` through a verified temporary file.

    Parameters
    ----------
    hdulist : astropy.io.fits.HDUList
        The content to write.
    filename : str or path-like
        Destination; replaced atomically if it exists.
    overwrite : bool, optional
        If False and ``filename`` exists, raise instead of replacing it.
    output_verify : str, optional
        Passed to :meth:`astropy.io.fits.HDUList.writeto`.

    Raises
    ------
    FileUpdateError
        If the folder is not writable, the disk is full, or the written file
        does not read back; ``filename`` is then unchanged.
    """
    path = Path(filename)
    if path.exists() and not overwrite:
        raise FileUpdateError("file exists and overwrite is False", filename=str(path))
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FileUpdateError(f"folder {str(folder)!r} does not exist", filename=str(path))
    if path.exists() and not os.access(path, os.W_OK):
        raise FileUpdateError("file is read-only; it was not changed", filename=str(path))
    mode = path.stat().st_mode & 0o7777 if path.exists() else None
    try:
        fd, tmpname = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise FileUpdateError(f"cannot create a temporary file in {str(folder)!r} ({exc})",
                              filename=str(path)) from exc
    tmp = Path(tmpname)
    try:
        with os.fdopen(fd, "wb") as fh:
            hdulist.writeto(fh, output_verify=output_verify)
            fh.flush()
            os.fsync(fh.fileno())
        _verify_written(tmp, len(hdulist))
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
        fsync_folder(folder)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, Exception):
            # Any failure while writing (a full disk also surfaces as astropy's own
            # AttributeError from its free-space check) means: not written.
            raise FileUpdateError(f"could not be written ({type(exc).__name__}: {exc}); "
                                  "the original is unchanged", filename=str(path)) from exc
        raise  # KeyboardInterrupt, SystemExit: the temporary file is gone, re-raise


def _verify_written(path: Path, n_hdus: int) -> None:
    """Re-open a freshly written file; raise OSError unless it is complete."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with fits.open(path, memmap=False) as check:
            check.verify("exception")
            check.readall()
            found = len(check)
    bad = [w for w in caught if "truncated" in str(w.message) or "corrupted" in str(w.message)]
    if bad:
        raise OSError(f"the written file does not read back: {bad[0].message}")
    if found != n_hdus:
        raise OSError(f"the written file has {found} HDUs instead of {n_hdus}")


def fsync_folder(folder: str | os.PathLike) -> None:
    """Make a rename in ``folder`` durable (best effort).

    Some file systems refuse to open or fsync a directory; that is ignored,
    since the rename itself is already atomic.

    Parameters
    ----------
    folder : str or path-like
        The directory that holds the renamed file.
    """
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_update(filename: str | os.PathLike) -> Iterator[fits.HDUList]:
    """Context manager giving an in-memory copy of a FITS file to modify.

    On normal exit the modified copy replaces the file atomically (see
    :func:`atomic_write`); if the block raises, the file is left exactly as
    it was.

    Parameters
    ----------
    filename : str or path-like
        The file to update.

    Yields
    ------
    astropy.io.fits.HDUList
        In-memory copy of the file's HDUs.

    Raises
    ------
    InputFileError
        If the file cannot be read.
    FileUpdateError
        If the file is read-only or the new content cannot be written.

    Examples
    --------
    >>> with atomic_update("j8bt06nyq_flc.fits") as hdul:  # doctest: +SKIP
    ...     hdul["SCI", 1].header["MDRIZSKY"] = 12.5
    """
    path = Path(filename)
    _check_readable(path)
    if not os.access(path, os.W_OK):
        raise FileUpdateError("file is read-only; it was not changed", filename=str(path))
    hdul = read_fits(path)
    yield hdul
    atomic_write(hdul, path)
