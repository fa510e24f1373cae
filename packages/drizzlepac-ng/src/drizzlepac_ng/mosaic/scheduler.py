"""Run a list of independent tasks in-process (threads) or on a Dask cluster.

``scheduler=None`` uses a :class:`concurrent.futures.ThreadPoolExecutor`
and never imports Dask.  A ``dask.distributed.Client`` (anything with
``submit``) is used as given; a scheduler address such as
``"tcp://host:8786"`` is connected to with a short timeout (``distributed``
is imported only then).  Every task is retried once; a task that fails twice
raises :class:`MosaicTaskError` naming the tile or exposure it belongs to.
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError, DrizzlepacError
from ..logutil import no_progress

log = logging.getLogger(__name__)

__all__ = ["MosaicTaskError", "SchedulerError", "Task", "connect", "run_tasks"]


#: tasks submitted per thread ahead of the one whose result is awaited (in-process runs)
IN_FLIGHT_PER_THREAD = 2


class SchedulerError(DrizzlepacError, RuntimeError):
    """The Dask scheduler cannot be reached or used."""


class MosaicTaskError(DrizzlepacError, RuntimeError):
    """A mosaic task failed on its retry too."""


@dataclass
class Task:
    """One unit of work.

    Attributes
    ----------
    key : str
        Unique key (also the Dask key).
    label : str
        What the task works on, for messages ("tile 3 (row 0, col 3 ...)").
    func : callable
        A pure, picklable function.
    args, kwargs
        Its arguments.
    """

    key: str
    label: str
    func: Callable
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)


def _is_client(obj: Any) -> bool:
    return hasattr(obj, "submit") and hasattr(obj, "gather")


@contextmanager
def connect(scheduler: Any, *, timeout: float = 10.0) -> Iterator[Any]:
    """Resolve ``scheduler`` to None (in-process) or a Dask client.

    Parameters
    ----------
    scheduler : None, str or Client
        None, a scheduler address, or a ``dask.distributed.Client``.
    timeout : float
        Seconds to wait for a scheduler address to answer.

    Yields
    ------
    None or Client
        A client created here is closed on exit; a given one is left open.

    Raises
    ------
    SchedulerError
        The address cannot be reached within ``timeout``.
    ConfigError
        ``distributed`` is not installed, or ``scheduler`` is of a wrong type.
    """
    if scheduler is None:
        yield None
        return
    if _is_client(scheduler):
        log.info("running on %s (dashboard: %s)", scheduler,
                 getattr(scheduler, "dashboard_link", "n/a"))
        yield scheduler
        return
    if not isinstance(scheduler, str):
        raise ConfigError(f"scheduler must be None, a dask.distributed.Client or an address "
                          f"such as 'tcp://host:8786' (got {type(scheduler).__name__})")
    try:
        from distributed import Client
    except ImportError as exc:
        raise ConfigError("scheduler address given but dask.distributed is not installed "
                          "(pip install 'drizzlepac-ng[dask]')") from exc
    try:
        client = Client(scheduler, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise SchedulerError(f"cannot reach the Dask scheduler at {scheduler!r} within "
                             f"{timeout:g} s ({type(exc).__name__}: {exc})") from exc
    try:
        log.info("connected to %s (dashboard: %s)", scheduler, client.dashboard_link)
        yield client
    finally:
        client.close()


def _call_with_retry(task: Task, retries: int) -> Any:
    for attempt in range(retries + 1):
        try:
            return task.func(*task.args, **task.kwargs)
        except Exception as exc:
            if attempt >= retries:
                raise MosaicTaskError(f"{task.label} failed after {attempt + 1} attempt(s): "
                                      f"{type(exc).__name__}: {exc}") from exc
            log.warning("%s failed (%s: %s); retrying", task.label, type(exc).__name__, exc)
    raise AssertionError("unreachable")


def run_tasks(tasks: Sequence[Task], client: Any = None, *, max_workers: int | None = None,
              retries: int = 1, progress: Callable = no_progress,
              desc: str = "tiles") -> Iterator[tuple[Task, Any]]:
    """Run tasks and yield ``(task, result)`` in task order.

    Parameters
    ----------
    tasks : sequence of Task
    client : None or Client
        From :func:`connect`.
    max_workers : int, optional
        Threads for the in-process run (default: 2).
    retries : int
        Extra attempts per task.
    progress : callable
        ``progress(iterable, desc=..., total=...)`` wrapper, advanced as the
        results arrive in task order (a cluster also shows every task on its
        dashboard, whose link is logged).
    desc : str
        Progress label.

    Yields
    ------
    (Task, result)

    Raises
    ------
    MosaicTaskError
        A task failed ``retries + 1`` times (the other tasks are cancelled).
    SchedulerError
        The cluster went away.
    """
    if client is None:
        n = max_workers or 2
        with ThreadPoolExecutor(max_workers=n) as pool:
            # a bounded window of tasks in flight: a finished result is held only until
            # it is handed out (in task order), not until the whole list is done
            pending: deque = deque()
            todo = iter(tasks)

            def fill() -> None:
                while len(pending) < IN_FLIGHT_PER_THREAD * n:
                    t = next(todo, None)
                    if t is None:
                        return
                    pending.append((t, pool.submit(_call_with_retry, t, retries)))

            def results() -> Iterator[tuple[Task, Any]]:
                fill()
                while pending:
                    t, f = pending.popleft()
                    res = f.result()
                    del f
                    fill()
                    yield t, res

            try:
                yield from progress(results(), desc=desc, total=len(tasks))
            finally:
                for _, f in pending:
                    f.cancel()
        return
    run_id = uuid.uuid4().hex[:8]  # keys unique per run on a shared client
    futs = [client.submit(t.func, *t.args, key=f"{t.key}-{run_id}", retries=retries,
                          pure=False, **t.kwargs) for t in tasks]
    try:
        for t, f in progress(zip(tasks, futs, strict=True), desc=desc, total=len(tasks)):
            try:
                res = f.result()
            except (OSError, TimeoutError) as exc:
                raise SchedulerError(f"lost the Dask cluster while running {t.label} "
                                     f"({type(exc).__name__}: {exc})") from exc
            except Exception as exc:
                if type(exc).__name__ == "KilledWorker":
                    raise MosaicTaskError(f"{t.label}: its worker died repeatedly ({exc})") from exc
                raise MosaicTaskError(f"{t.label} failed after {retries + 1} attempt(s): "
                                      f"{type(exc).__name__}: {exc}") from exc
            f.release()
            yield t, res
    finally:
        for f in futs:
            f.cancel()
