"""The compiled kernels really run in parallel.

A build that lost ``-fopenmp`` still imports and runs, serially; these tests
make such a build fail loudly.
"""

import numpy as np
import pytest

from drizzlepac_ng import kernels


def test_built_with_openmp():
    assert kernels.openmp_enabled(), "kernels were compiled without OpenMP (-fopenmp missing)"


def test_two_threads_used():
    tid = kernels.thread_ids(10_000, 2)
    assert set(np.unique(tid).tolist()) == {0, 1}


def test_one_thread_uses_thread_zero():
    assert set(np.unique(kernels.thread_ids(1000, 1)).tolist()) == {0}


@pytest.mark.parametrize("value, env, expected", [(3, None, 3), (None, "2", 2), (None, "1", 1)])
def test_resolve_num_threads(monkeypatch, value, env, expected):
    if env is None:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("OMP_NUM_THREADS", env)
    assert kernels.resolve_num_threads(value) == expected


def test_resolve_num_threads_default_is_all_cores(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert kernels.resolve_num_threads(None) >= 1


@pytest.mark.parametrize("bad", [0, -2])
def test_resolve_num_threads_rejects(bad):
    with pytest.raises(ValueError, match="num_threads"):
        kernels.resolve_num_threads(bad)


def test_thread_ids_rejects_bad_arguments():
    with pytest.raises(ValueError):
        kernels.thread_ids(10, 0)
