"""Exceptions raised by stwcs-ng.

Every exception derives from :class:`StwcsError` and, where it fits, from the
builtin exception it specialises, so ``except ValueError`` in old scripts
keeps working.  Each carries the file (``filename``) and, when known, the
extension (``extension``) it is about, and says what is wrong in plain words.
"""

from __future__ import annotations

__all__ = [
    "StwcsError",
    "InputFileError",
    "MissingExtensionError",
    "HeaderError",
    "ReferenceFileError",
    "IDCRowNotFoundError",
    "UnsupportedInstrumentError",
    "WCSKeyError",
    "NoConvergence",
    "HeaderletError",
    "FileUpdateError",
]


class StwcsError(Exception):
    """Base class of every error raised by stwcs-ng.

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
                where += f"[{_format_ext(extension)}]"
            where += ": "
        super().__init__(where + message)

    def __str__(self) -> str:  # OSError subclasses would otherwise format errno
        return self.args[0] if self.args else ""


def _format_ext(extension) -> str:
    if isinstance(extension, tuple):
        return ",".join(str(e) for e in extension)
    return str(extension)


class InputFileError(StwcsError, ValueError):
    """An input file is missing, unreadable, not FITS, or malformed."""


class MissingExtensionError(InputFileError):
    """A required FITS extension (e.g. ``SCI``) is absent."""


class HeaderError(InputFileError):
    """A required header keyword is missing or has a value that cannot be used."""


class ReferenceFileError(StwcsError, OSError):
    """A reference file (IDCTAB, NPOLFILE, D2IMFILE) cannot be found or read.

    Also raised when a ``jref$``-style prefix names an environment variable
    that is not set.
    """


class IDCRowNotFoundError(ReferenceFileError, LookupError):
    """No IDCTAB row matches the chip, direction and filters of an exposure."""


class UnsupportedInstrumentError(StwcsError, NotImplementedError):
    """The instrument or detector is not supported by the requested operation."""


class WCSKeyError(StwcsError, KeyError):
    """An alternate WCS key or WCSNAME does not exist, or is reserved or already taken."""


class NoConvergence(StwcsError, ArithmeticError):
    """The iterative inverse of the distortion did not converge.

    Attributes
    ----------
    best_solution : ndarray
        The best pixel positions found.
    accuracy : ndarray
        The last correction applied to each position (pixels).
    divergent : ndarray or None
        Indices of positions whose iteration diverged.
    """

    def __init__(self, message: str, *, best_solution=None, accuracy=None,
                 divergent=None, filename: str | None = None) -> None:
        super().__init__(message, filename=filename)
        self.best_solution = best_solution
        self.accuracy = accuracy
        self.divergent = divergent


class HeaderletError(StwcsError, ValueError):
    """A headerlet is corrupt, does not belong to the destination, or clashes with one present."""


class FileUpdateError(StwcsError, OSError):
    """A file could not be updated; the original file is unchanged."""
