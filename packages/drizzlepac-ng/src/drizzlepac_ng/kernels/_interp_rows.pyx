# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Row evaluation of a tensor-product cubic spline into a pixel map.

Used by the fast mode of :func:`drizzlepac_ng.pixmap.calc_pixmap`: the spline
has already been evaluated along x on its coarse rows, so each output row is a
4-term weighted sum of coefficient rows.  Threading contract: output rows are
shared out between OpenMP threads and each element is written by one thread
with a fixed summation order, so the result is bit-identical for any thread
count.  No global state; the GIL is released for the loop.
"""
from cython.parallel cimport prange


def combine_rows(const double[:, ::1] cx, const double[:, ::1] cy,
                 const Py_ssize_t[::1] start, const double[:, ::1] weights,
                 double[:, :, ::1] out, int num_threads):
    """out[r, i, 0] = sum_q weights[r, q] * cx[start[r] + q, i] (and cy into plane 1)."""
    cdef Py_ssize_t ny = out.shape[0], nx = out.shape[1]
    cdef Py_ssize_t ncoef = cx.shape[0]
    cdef Py_ssize_t r, i, s
    cdef double w0, w1, w2, w3
    if out.shape[2] != 2:
        raise ValueError("out must have shape (ny, nx, 2)")
    if cx.shape[1] != nx or cy.shape[1] != nx or cy.shape[0] != ncoef:
        raise ValueError("coefficient rows do not match out")
    if start.shape[0] != ny or weights.shape[0] != ny or weights.shape[1] != 4:
        raise ValueError("start/weights do not match out")
    for r in range(ny):
        if start[r] < 0 or start[r] + 4 > ncoef:
            raise ValueError("start index out of range")
    if num_threads < 1:
        raise ValueError("num_threads must be >= 1")
    with nogil:
        for r in prange(ny, num_threads=num_threads, schedule="static"):
            s = start[r]
            w0 = weights[r, 0]
            w1 = weights[r, 1]
            w2 = weights[r, 2]
            w3 = weights[r, 3]
            for i in range(nx):
                out[r, i, 0] = (w0 * cx[s, i] + w1 * cx[s + 1, i]) + (w2 * cx[s + 2, i] + w3 * cx[s + 3, i])
                out[r, i, 1] = (w0 * cy[s, i] + w1 * cy[s + 1, i]) + (w2 * cy[s + 2, i] + w3 * cy[s + 3, i])
