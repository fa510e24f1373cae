"""Exceptions raised by drizzlepac-ng.

Every exception derives from :class:`DrizzlepacError` and, where it fits,
from the builtin it specialises.  Each carries the file (``filename``) and,
when known, the extension it is about, and says what is wrong in plain words.
Errors raised by stwcs-ng and fitsblender-ng pass through unchanged; they
derive from :class:`stwcs_ng.errors.StwcsError` and
:class:`fitsblender_ng.errors.FitsblenderError`.
"""

from __future__ import annotations

__all__ = [
    "DrizzlepacError",
    "InputFileError",
    "MissingExtensionError",
    "ConfigError",
    "KernelArgumentError",
    "PixmapError",
    "NoOverlapError",
    "MemoryLimitError",
    "AlignmentError",
    "FileUpdateError",
]


class DrizzlepacError(Exception):
    """Base class of every error raised by drizzlepac-ng.

    Parameters
    ----------
    message : str
        What is wrong, in plain words.
    filename : str, optional
        The file the problem is about; it prefixes the message.
    extension : str, int or tuple, optional
        The FITS extension the problem is about.
    """

    def __init__(self, message: str, *, filename: str | None = None, extension=None) -> None:
        self.filename = None if filename is None else str(filename)
        self.extension = extension
        self.reason = message
        where = ""
        if self.filename:
            where = self.filename
            if extension is not None:
                ext = ",".join(map(str, extension)) if isinstance(extension, tuple) else extension
                where += f"[{ext}]"
            where += ": "
        super().__init__(where + message)

    def __str__(self) -> str:
        return self.args[0] if self.args else ""


class InputFileError(DrizzlepacError, ValueError):
    """An input file is missing, unreadable, not FITS or malformed."""


class MissingExtensionError(InputFileError):
    """A required FITS extension (SCI, DQ, ERR ...) is absent."""


class ConfigError(DrizzlepacError, ValueError):
    """A task parameter or configuration file value is invalid."""


class KernelArgumentError(DrizzlepacError, ValueError):
    """Arrays given to a drizzle/blot kernel have the wrong shape, dtype or content."""


class PixmapError(DrizzlepacError, ValueError):
    """A pixel map cannot be computed or does not reach the requested accuracy."""


class NoOverlapError(DrizzlepacError, ValueError):
    """An input does not overlap the output frame (or the other inputs)."""


class MemoryLimitError(DrizzlepacError, MemoryError):
    """The estimated peak memory of a step exceeds the ``memory_limit`` given."""


class AlignmentError(DrizzlepacError, RuntimeError):
    """Source finding, matching or fitting failed for an image."""


class FileUpdateError(DrizzlepacError, OSError):
    """A file could not be updated; the original file is unchanged."""
