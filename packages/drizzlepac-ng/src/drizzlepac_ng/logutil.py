"""Logging and progress helpers shared by the drizzlepac-ng tasks.

The library never adds handlers at import time.  A task that has a
``runfile`` (astrodrizzle, tweakreg ...) wraps its work in
:func:`task_logging`, which attaches a file handler to the loggers of all
three packages for the duration of the task and removes it afterwards, so
nothing leaks into the next call.  The command line calls
:func:`configure_console` once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

__all__ = ["LOGGER_NAMES", "configure_console", "task_logging", "progress_bar", "no_progress"]

#: Loggers of the three packages of the stack.
LOGGER_NAMES = ("drizzlepac_ng", "stwcs_ng", "fitsblender_ng")
_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"

T = TypeVar("T")


def configure_console(verbose: bool = False, quiet: bool = False) -> None:
    """Send the stack's log records to standard error (command-line use only).

    Parameters
    ----------
    verbose : bool, optional
        Show DEBUG records.
    quiet : bool, optional
        Show only warnings and errors.
    """
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    for name in LOGGER_NAMES:
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.addHandler(handler)


@contextlib.contextmanager
def task_logging(runfile: str | os.PathLike | None, level: int = logging.INFO) -> Iterator[None]:
    """Copy every log record of the stack into ``runfile`` while the block runs.

    Parameters
    ----------
    runfile : str, path-like or None
        Log (trailer) file; appended to. ``None`` or ``""`` does nothing.
    level : int, optional
        Lowest level written to the file.
    """
    if not runfile:
        yield
        return
    handler = logging.FileHandler(os.fspath(runfile), mode="a", encoding="utf-8")
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter(_FORMAT))
    loggers = [logging.getLogger(name) for name in LOGGER_NAMES]
    previous = [lg.level for lg in loggers]
    for lg in loggers:
        if lg.level == logging.NOTSET or lg.level > level:
            lg.setLevel(level)
        lg.addHandler(handler)
    try:
        yield
    finally:
        for lg, old in zip(loggers, previous, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(old)
        handler.close()


def no_progress(iterable: Iterable[T], **_: object) -> Iterable[T]:
    """A progress callable that shows nothing."""
    return iterable


def progress_bar(enabled: bool = True) -> Callable[..., Iterable]:
    """Return a progress callable: tqdm when installed and ``enabled``, else a no-op.

    Parameters
    ----------
    enabled : bool, optional
        False always gives :func:`no_progress`.

    Returns
    -------
    callable
        ``progress(iterable, desc=..., total=...)`` returning an iterable.
    """
    if not enabled:
        return no_progress
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return no_progress

    def _bar(iterable, **kwargs):
        return tqdm(iterable, leave=False, **kwargs)

    return _bar
