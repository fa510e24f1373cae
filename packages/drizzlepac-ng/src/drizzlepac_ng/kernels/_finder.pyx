# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Sparse 2-D correlation for the TweakReg source finder.

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
