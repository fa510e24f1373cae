# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""OpenMP introspection for the compiled kernels.

The functions here exist so that a build which lost ``-fopenmp`` is detected
by a test instead of silently running every ``prange`` loop on one thread.
No global state; the GIL is released inside the parallel loop.
"""
import numpy as np
cimport numpy as cnp
from cython.parallel cimport prange, threadid

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int dpng_max_threads(void) { return omp_get_max_threads(); }
    static int dpng_openmp_enabled(void) { return 1; }
    #else
    static int dpng_max_threads(void) { return 1; }
    static int dpng_openmp_enabled(void) { return 0; }
    #endif
    """
    int dpng_max_threads() nogil
    int dpng_openmp_enabled() nogil

cnp.import_array()


def openmp_enabled():
    """Return True when the kernels were compiled with OpenMP support."""
    return bool(dpng_openmp_enabled())


def max_threads():
    """Number of threads OpenMP would use by default (follows ``OMP_NUM_THREADS``)."""
    return int(dpng_max_threads())


def thread_ids(Py_ssize_t n, int num_threads):
    """Run a static ``prange`` of ``n`` iterations and return the thread id of each.

    Each iteration also does a little floating-point work, so that the loop
    cannot finish on one thread before the others have started.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    if num_threads < 1:
        raise ValueError("num_threads must be >= 1")
    out = np.empty(n, dtype=np.int32)
    cdef int[::1] tid = out
    cdef Py_ssize_t i, k
    cdef double acc
    with nogil:
        for i in prange(n, num_threads=num_threads, schedule="static"):
            acc = 0.0
            for k in range(200):
                acc = acc + (i + k) * 1e-9
            tid[i] = threadid() + <int>(acc * 0.0)
    return out
