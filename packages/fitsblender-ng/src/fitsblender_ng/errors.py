"""Exceptions raised by fitsblender-ng.

All derive from :class:`FitsblenderError` and carry the file name (and, for
rules files, the line number) they are about.
"""

from __future__ import annotations

__all__ = ["FitsblenderError", "RulesSyntaxError", "RulesNotFoundError", "InputFileError",
           "FileUpdateError", "MissingKeywordError"]


class FitsblenderError(Exception):
    """Base class of every error raised by fitsblender-ng.

    Parameters
    ----------
    message : str
        What is wrong, in plain words.
    filename : str, optional
        The file the problem is about; it prefixes the message.
    lineno : int, optional
        1-based line number in ``filename``.
    """

    def __init__(self, message: str, *, filename: str | None = None,
                 lineno: int | None = None) -> None:
        self.filename = None if filename is None else str(filename)
        self.lineno = lineno
        self.reason = message
        where = ""
        if self.filename:
            where = self.filename + (f":{lineno}" if lineno is not None else "") + ": "
        super().__init__(where + message)

    def __str__(self) -> str:
        return self.args[0] if self.args else ""


class RulesSyntaxError(FitsblenderError, ValueError):
    """A ``.rules`` file line cannot be parsed."""


class RulesNotFoundError(FitsblenderError, FileNotFoundError):
    """No rules file exists for an instrument, or a named rules file is missing."""


class InputFileError(FitsblenderError, ValueError):
    """An input file or header is missing, unreadable or malformed."""


class FileUpdateError(FitsblenderError, OSError):
    """A product could not be updated; the original file is unchanged."""


class MissingKeywordError(FitsblenderError, LookupError):
    """A rule with the ``raise`` error policy met an input without its keyword."""
