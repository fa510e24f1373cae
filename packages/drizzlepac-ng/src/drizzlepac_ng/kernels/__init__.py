"""Compiled drizzle/blot kernels and their thread-count policy.

Kernels release the GIL and run OpenMP loops.  The Python wrappers in this
package validate arguments (dtypes, shapes, finiteness) and resolve
``num_threads`` before calling into compiled code, so that bad input gives a
:class:`~drizzlepac_ng.errors.DrizzlepacError` and never a crash.
"""

from __future__ import annotations

import os

from ._openmp import max_threads, openmp_enabled, thread_ids

__all__ = ["max_threads", "openmp_enabled", "resolve_num_threads", "thread_ids"]


def resolve_num_threads(num_threads: int | None) -> int:
    """Return the number of threads a kernel call should use.

    Parameters
    ----------
    num_threads : int or None
        ``None`` means the ``OMP_NUM_THREADS`` environment variable when it is
        set, otherwise every core of the machine.

    Returns
    -------
    int
        A thread count of at least 1.

    Raises
    ------
    ValueError
        If ``num_threads`` is smaller than 1.
    """
    if num_threads is None:
        env = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
        if env.isdigit() and int(env) > 0:
            return int(env)
        return max(1, os.cpu_count() or 1)
    num_threads = int(num_threads)
    if num_threads < 1:
        raise ValueError(f"num_threads must be >= 1 (got {num_threads})")
    return num_threads
