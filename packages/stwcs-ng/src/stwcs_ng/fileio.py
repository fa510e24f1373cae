"""Crash-safe updates of FITS files.

Every task that changes a file goes through one write path, :class:`StagedFile`
(directly, or through :func:`atomic_update` / :func:`atomic_write`): the new
content is written to a temporary file in the same folder, flushed to disk
with ``fsync``, re-read to prove it is complete, valid FITS, and only then
renamed over the original with :func:`os.replace`, which is atomic on POSIX
file systems.  Whatever happens before the rename (an exception, ``SIGKILL``, a
full disk), the original file is untouched; after it, the file is the complete
new one.  The temporary file is removed on failure.  Tasks that change several
files stage and seal them all first, then :func:`commit_in_order`.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

from astropy.io import fits

from .errors import FileUpdateError, InputFileError

__all__ = ["StagedFile", "atomic_update", "atomic_write", "commit_in_order", "fsync_folder",
           "hdu_end", "open_fits", "read_fits", "verify_complete"]


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


class StagedFile:
    """A temporary file next to ``target`` that replaces it only when committed.

    The one write path of the project: :func:`atomic_write`, AstroDrizzle's
    input update and TweakReg's header update all stage their new content
    here.  The temporary file (``.<name>.<random>.tmp``) lives in the target's
    folder, so the final :func:`os.replace` is a rename within one file
    system and therefore atomic.  :meth:`seal` makes the content durable
    (``fsync``), proves it complete (:func:`verify_complete`) and gives it the
    target's permission bits; :meth:`commit` renames it over the target and
    fsyncs the folder.  Used as a context manager, a staged file that was not
    committed is removed when the block ends, whatever the reason.

    Parameters
    ----------
    target : str or path-like
        The file to be created or replaced.
    copy : bool, optional
        Start from a byte copy of ``target`` (made by the kernel where it can),
        to be edited in place; the target itself is only read.

    Raises
    ------
    FileUpdateError
        If the folder does not exist or no temporary file can be made in it.

    Examples
    --------
    Stage several files, then replace them all only if every one was
    written and verified (all-or-nothing across files):

    >>> staged = [StagedFile(p, copy=True) for p in paths]  # doctest: +SKIP
    >>> for s in staged:                                     # doctest: +SKIP
    ...     edit_in_place(s.path)
    ...     s.seal()
    >>> commit_in_order(staged)                              # doctest: +SKIP
    """

    def __init__(self, target: str | os.PathLike, *, copy: bool = False) -> None:
        self.target = Path(target)
        folder = self.target.parent if str(self.target.parent) else Path(".")
        self.folder = folder
        if not folder.is_dir():
            raise FileUpdateError(f"folder {str(folder)!r} does not exist",
                                  filename=str(self.target))
        try:
            fd, name = tempfile.mkstemp(prefix=f".{self.target.name}.", suffix=".tmp",
                                        dir=folder)
        except OSError as exc:
            raise FileUpdateError(f"cannot create a temporary file in {str(folder)!r} "
                                  f"({exc})", filename=str(self.target)) from exc
        os.close(fd)
        self.path = Path(name)
        self.committed = False
        if copy:
            try:
                shutil.copyfile(self.target, self.path)
            except BaseException:
                self.discard()
                raise

    def seal(self, n_hdus: int | None = None, *, expected_size: int | None = None) -> None:
        """Flush the staged file to disk, verify it, and give it the target's mode.

        Parameters
        ----------
        n_hdus : int, optional
            Number of HDUs the file must have (not checked when None).
        expected_size : int, optional
            Exact size in bytes the file must have.

        Raises
        ------
        OSError
            If the file is incomplete or not valid FITS (see
            :func:`verify_complete`); the caller discards it.
        """
        with open(self.path, "rb+") as fh:
            os.fsync(fh.fileno())
        verify_complete(self.path, n_hdus, expected_size=expected_size)
        if self.target.exists():
            os.chmod(self.path, self.target.stat().st_mode & 0o7777)

    def commit(self) -> None:
        """Rename the staged file over the target (atomic) and fsync the folder."""
        os.replace(self.path, self.target)
        self.committed = True
        fsync_folder(self.folder)

    def discard(self) -> None:
        """Remove the staged file (nothing happens after a commit)."""
        if not self.committed:
            with contextlib.suppress(OSError):
                self.path.unlink()

    def __enter__(self) -> StagedFile:
        return self

    def __exit__(self, *exc_info) -> None:
        self.discard()


def commit_in_order(staged: Sequence[StagedFile]) -> None:
    """Commit several sealed staged files in order; say which were done if one fails.

    Each file on its own is always the complete old or the complete new one;
    only a failed rename (practically never: the temporary file is in the
    same folder) leaves the files before it new and those after it old.

    Parameters
    ----------
    staged : sequence of StagedFile
        Sealed files, committed in this order.

    Raises
    ------
    FileUpdateError
        Naming the file whose rename failed and the files already replaced.
    """
    for i, item in enumerate(staged):
        try:
            os.replace(item.path, item.target)
        except OSError as exc:
            done = ", ".join(s.target.name for s in staged[:i]) or "none"
            raise FileUpdateError(f"cannot replace the file with its update ({exc}); files "
                                  f"already updated: {done}; the others are unchanged",
                                  filename=str(item.target)) from exc
        item.committed = True
    for folder in dict.fromkeys(s.folder for s in staged):
        fsync_folder(folder)


def hdu_end(hdul: fits.HDUList) -> int:
    """Byte offset just past the data of the last HDU of a FITS file read from disk.

    The largest ``datLoc + datSpan`` of the HDUs (from each HDU's own
    ``fileinfo()``; ``HDUList.fileinfo(i)`` re-checks every header at each
    call).  A complete file is at least this long; compared with the
    file size it shows a truncated file without reading any data and without
    relying on astropy's "truncated" warning (which cannot be caught safely
    in worker threads).

    Parameters
    ----------
    hdul : astropy.io.fits.HDUList
        A list opened from a file, with every HDU loaded
        (``lazy_load_hdus=False`` or after :meth:`~astropy.io.fits.HDUList.readall`).

    Returns
    -------
    int
        The offset in bytes; the file's HDUs need that many bytes.

    Raises
    ------
    ValueError
        If ``hdul`` has no HDU.
    TypeError
        If an HDU was not read from a file (it has no file offsets).
    """
    return max(info["datLoc"] + info["datSpan"] for info in (h.fileinfo() for h in hdul))


def verify_complete(path: str | os.PathLike, n_hdus: int | None = None, *,
                    expected_size: int | None = None) -> None:
    """Re-read a freshly written FITS file's structure; raise OSError unless it is complete.

    Every header is parsed and verified; the data are not read (a product
    mosaic is never loaded whole just to be checked): completeness is judged
    from the HDU offsets against the file size, which also catches a short
    write, and not from astropy's "truncated" warning, so this is safe to
    call from worker threads, where :func:`warnings.catch_warnings` is not.

    Parameters
    ----------
    path : str or path-like
        The file to check.
    n_hdus : int, optional
        Required number of HDUs.
    expected_size : int, optional
        Required size in bytes.

    Raises
    ------
    OSError
        If the file is shorter than its HDUs need, not a multiple of 2880
        bytes, has another number of HDUs or size, or does not verify.
    """
    path = Path(path)
    size = path.stat().st_size
    try:
        # our own handle: astropy leaves its file open when fits.open itself fails
        with open(path, "rb") as fh, \
                fits.open(fh, memmap=False, lazy_load_hdus=False) as check:
            check.verify("exception")
            found = len(check)
            end = hdu_end(check)
    except (ValueError, TypeError, IndexError, KeyError, fits.VerifyError) as exc:
        raise OSError(f"the written file does not read back ({exc})") from exc
    if n_hdus is not None and found != n_hdus:
        raise OSError(f"the written file has {found} HDUs instead of {n_hdus}")
    if end > size or size % 2880:
        raise OSError(f"the written file is truncated ({size} bytes, its HDUs need {end})")
    if expected_size is not None and size != expected_size:
        raise OSError(f"the written file has {size} bytes instead of {expected_size}")


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
    if path.exists() and not os.access(path, os.W_OK):
        raise FileUpdateError("file is read-only; it was not changed", filename=str(path))
    with StagedFile(path) as staged:
        try:
            with open(staged.path, "wb") as fh:
                hdulist.writeto(fh, output_verify=output_verify)
            staged.seal(len(hdulist))
            staged.commit()
        except Exception as exc:
            # Any failure while writing (a full disk also surfaces as astropy's own
            # AttributeError from its free-space check) means: not written.
            raise FileUpdateError(f"could not be written ({type(exc).__name__}: {exc}); "
                                  "the original is unchanged", filename=str(path)) from exc


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
