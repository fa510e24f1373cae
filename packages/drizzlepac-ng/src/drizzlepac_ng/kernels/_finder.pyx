# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled loops of the TweakReg source finder: correlation, sky subtraction, peaks.

``correlate_taps`` gives the same float32 values as
``scipy.ndimage.correlate(img, kernel, mode="constant", cval=0.0)`` for a
float32 image and a kernel whose non-zero weights are listed as taps in
raster order: each output pixel is a float64 sum of ``w * img`` over the taps
in that order (taps outside the image contribute nothing, as a zero ``cval``
does), rounded once to float32, the arithmetic scipy uses.  The sum is built
row by row in a float64 buffer so that the inner loop over x vectorises; the
order of the additions for any pixel is still the tap order.

Threading contract: rows are shared out between OpenMP threads and each
output element is written by one thread with a fixed summation order, so the
result is bit-identical for any thread count.  No global state; the GIL is
released for the loop.
"""
import numpy as np

from cython.parallel cimport prange, threadid
from libc.stdlib cimport free, malloc, realloc


def correlate_taps(const float[:, ::1] img, const Py_ssize_t[::1] dy,
                   const Py_ssize_t[::1] dx, const double[::1] w,
                   float[:, ::1] out, int num_threads):
    """out[y, x] = float32(sum_k w[k] * img[y + dy[k], x + dx[k]]) (taps outside skipped)."""
    cdef Py_ssize_t ny = img.shape[0], nx = img.shape[1]
    cdef Py_ssize_t ntap = w.shape[0]
    cdef Py_ssize_t y, x, k, yy, ox, x0, x1
    cdef int t
    cdef double wk
    cdef double[:, ::1] scratch
    cdef double *acc
    if out.shape[0] != ny or out.shape[1] != nx:
        raise ValueError("out must have the shape of img")
    if dy.shape[0] != ntap or dx.shape[0] != ntap:
        raise ValueError("dy, dx and w must have the same length")
    if num_threads < 1:
        raise ValueError("num_threads must be >= 1")
    if nx == 0 or ny == 0:
        return
    scratch = np.empty((num_threads, nx), dtype=np.float64)   # one row buffer per thread
    with nogil:
        for y in prange(ny, num_threads=num_threads, schedule="static"):
            t = threadid()
            acc = &scratch[t, 0]
            for x in range(nx):
                acc[x] = 0.0
            for k in range(ntap):
                yy = y + dy[k]
                if yy < 0 or yy >= ny:
                    continue
                ox = dx[k]
                wk = w[k]
                x0 = 0 if ox >= 0 else -ox
                x1 = nx - ox if ox >= 0 else nx
                for x in range(x0, x1):
                    acc[x] = acc[x] + wk * <double> img[yy, x + ox]
            for x in range(nx):
                out[y, x] = <float> acc[x]


def subtract_and_blank(float[:, ::1] img, const unsigned char[:, ::1] bad, float sky,
                       int num_threads):
    """In place: img = img - sky where bad is 0, and 0 where bad is not 0."""
    cdef Py_ssize_t ny = img.shape[0], nx = img.shape[1], y, x
    if bad.shape[0] != ny or bad.shape[1] != nx:
        raise ValueError("bad must have the shape of img")
    if num_threads < 1:
        raise ValueError("num_threads must be >= 1")
    with nogil:
        for y in prange(ny, num_threads=num_threads, schedule="static"):
            for x in range(nx):
                if bad[y, x]:
                    img[y, x] = 0.0
                else:
                    img[y, x] = img[y, x] - sky


cdef inline bint _is_peak(const float[:, ::1] conv, Py_ssize_t y, Py_ssize_t x,
                          float thresh) noexcept nogil:
    cdef float v = conv[y, x]
    if not (v > thresh):
        return False
    return (v >= conv[y - 1, x - 1] and v >= conv[y - 1, x] and v >= conv[y - 1, x + 1]
            and v >= conv[y, x - 1] and v >= conv[y, x + 1]
            and v >= conv[y + 1, x - 1] and v >= conv[y + 1, x] and v >= conv[y + 1, x + 1])


cdef int _grow(Py_ssize_t **pairs, Py_ssize_t *cap) noexcept nogil:
    """Double the capacity (in pairs) of a buffer of (y, x) pairs; -1 when out of memory."""
    cdef Py_ssize_t *bigger = <Py_ssize_t *> realloc(pairs[0],
                                                     4 * cap[0] * sizeof(Py_ssize_t))
    if bigger == NULL:
        return -1
    pairs[0] = bigger
    cap[0] = 2 * cap[0]
    return 0


def threshold_peaks(const float[:, ::1] conv, const unsigned char[:, ::1] bad, float thresh,
                    Py_ssize_t edge):
    """Pixels at least ``edge`` (>= 1) inside the image that are above ``thresh``, not bad,
    and not below any of their 8 neighbours; row-major order.

    One serial pass without the GIL (the scan is memory-bound) writing the
    positions into a buffer that doubles when full.

    Returns
    -------
    iy, ix : numpy.ndarray of intp
    """
    cdef Py_ssize_t ny = conv.shape[0], nx = conv.shape[1], y, x, k, n = 0, cap = 4096
    cdef Py_ssize_t *pairs
    cdef Py_ssize_t[::1] oy, ox
    cdef bint full = False
    if bad.shape[0] != ny or bad.shape[1] != nx:
        raise ValueError("bad must have the shape of conv")
    if edge < 1:
        raise ValueError("edge must be >= 1")
    if ny <= 2 * edge or nx <= 2 * edge:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    pairs = <Py_ssize_t *> malloc(2 * cap * sizeof(Py_ssize_t))
    if pairs == NULL:
        raise MemoryError("threshold_peaks: no memory for the peak buffer")
    try:
        with nogil:
            for y in range(edge, ny - edge):
                for x in range(edge, nx - edge):
                    if not bad[y, x] and _is_peak(conv, y, x, thresh):
                        if n == cap and _grow(&pairs, &cap) != 0:
                            full = True
                            break
                        pairs[2 * n] = y
                        pairs[2 * n + 1] = x
                        n = n + 1
                if full:
                    break
        if full:
            raise MemoryError(f"threshold_peaks: no memory for more than {n} peaks")
        iy = np.empty(n, dtype=np.intp)
        ix = np.empty(n, dtype=np.intp)
        oy = iy
        ox = ix
        for k in range(n):
            oy[k] = pairs[2 * k]
            ox[k] = pairs[2 * k + 1]
    finally:
        free(pairs)
    return iy, ix
