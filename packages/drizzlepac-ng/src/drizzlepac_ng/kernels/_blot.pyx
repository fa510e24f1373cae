# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Blot (interpolation) kernels.

``blot`` fills every pixel of an output image by interpolating the source
image at the position given for it by a pixel map.  Threading contract: the
output rows are shared out between OpenMP threads and every output pixel is
computed and written by exactly one thread from read-only inputs, so the
result is bit-identical for any thread count.  No global state; the GIL is
released for the whole loop.

Interpolants (codes of :data:`INTERP_CODES`):

* ``nearest``: value of the closest pixel.
* ``linear``: bilinear; along the last row/column it interpolates in one
  direction only.
* ``poly3`` / ``poly5``: the interior bicubic / biquintic polynomial
  interpolants evaluated with Everett's central-difference formula on a
  4x4 / 6x6 block; the image is extended beyond its edges by point
  reflection about the edge pixel (``d[-k] = 2 d[0] - d[k]``).
* ``sinc`` / ``lsinc``: a 15-point tapered sinc kernel, normalised to unit
  sum, whose argument is multiplied by ``sinscl``; pixels beyond the edge
  repeat the edge pixel.
* ``lanczos3`` / ``lanczos5``: Lanczos kernels tabulated every 0.003 pixel,
  summed over the part of the (2n x 2n) box that lies on the image
  (not renormalised), as drizzle 3.0 does.
* ``spline3``: cubic B-spline on coefficients prepared by the caller
  (``scipy.ndimage.spline_filter`` with mirror boundaries).

Arithmetic is single precision for the polynomial interpolants (as in the
originals) and double precision for the kernel sums.
"""
import numpy as np
cimport numpy as cnp
from cython.parallel cimport prange
from libc.math cimport floor, fabs, sin, ceil, M_PI

cnp.import_array()

INTERP_CODES = {
    "nearest": 0,
    "linear": 1,
    "poly3": 2,
    "poly5": 3,
    "sinc": 4,
    "lsinc": 4,
    "lanczos3": 5,
    "lanczos5": 6,
    "spline3": 7,
}

cdef extern from *:
    """
    #define DPNG_LUT_DELTA 0.003
    """
    const double LUT_DELTA "DPNG_LUT_DELTA"

cdef enum:
    NSINC = 7    # half width of the sinc kernel
    NCONV = 15   # taps of the sinc kernel (2 * NSINC + 1)


cdef inline float _px(const float* d, Py_ssize_t nx, Py_ssize_t ny,
                      Py_ssize_t i, Py_ssize_t j) noexcept nogil:
    """Pixel (i, j) with i, j already inside the image."""
    return d[j * nx + i]


cdef inline Py_ssize_t _clampi(Py_ssize_t i, Py_ssize_t last) noexcept nogil:
    if i < 0:
        return 0
    if i > last:
        return last
    return i


cdef inline float _reflect_x(const float* d, Py_ssize_t nx, Py_ssize_t ny,
                             Py_ssize_t i, Py_ssize_t j) noexcept nogil:
    """Pixel (i, j), row j inside, column i point-reflected about the edge."""
    cdef Py_ssize_t last = nx - 1
    if i < 0:
        return 2.0 * d[j * nx] - d[j * nx + _clampi(-i, last)]
    if i > last:
        return 2.0 * d[j * nx + last] - d[j * nx + _clampi(2 * last - i, last)]
    return d[j * nx + i]


cdef inline float _reflect(const float* d, Py_ssize_t nx, Py_ssize_t ny,
                           Py_ssize_t i, Py_ssize_t j) noexcept nogil:
    """Pixel (i, j) of the image extended by point reflection in x, then y.

    Reflected indices are clamped into the image, so that images smaller than
    the interpolation block stay safe (they then degrade gracefully).
    """
    cdef Py_ssize_t last = ny - 1
    if j < 0:
        return 2.0 * _reflect_x(d, nx, ny, i, 0) - _reflect_x(d, nx, ny, i, _clampi(-j, last))
    if j > last:
        return (2.0 * _reflect_x(d, nx, ny, i, last)
                - _reflect_x(d, nx, ny, i, _clampi(2 * last - j, last)))
    return _reflect_x(d, nx, ny, i, j)


cdef inline void _block(const float* d, Py_ssize_t nx, Py_ssize_t ny,
                        Py_ssize_t i0, Py_ssize_t j0, int n, float* blk) noexcept nogil:
    """Copy the n x n block starting at (i0, j0) into blk[row * n + col]."""
    cdef int r, c
    cdef const float* row
    if i0 >= 0 and j0 >= 0 and i0 + n <= nx and j0 + n <= ny:
        for r in range(n):
            row = d + (j0 + r) * nx + i0
            for c in range(n):
                blk[r * n + c] = row[c]
    else:
        for r in range(n):
            for c in range(n):
                blk[r * n + c] = _reflect(d, nx, ny, i0 + c, j0 + r)


cdef inline float _nearest(const float* d, Py_ssize_t nx, Py_ssize_t ny,
                           float x, float y) noexcept nogil:
    cdef Py_ssize_t i = <Py_ssize_t>(x + 0.5)
    cdef Py_ssize_t j = <Py_ssize_t>(y + 0.5)
    if i > nx - 1:
        i = nx - 1
    if j > ny - 1:
        j = ny - 1
    return d[j * nx + i]


cdef inline float _linear(const float* d, Py_ssize_t nx, Py_ssize_t ny,
                          float x, float y) noexcept nogil:
    cdef Py_ssize_t i = <Py_ssize_t>x
    cdef Py_ssize_t j = <Py_ssize_t>y
    cdef float f00 = d[j * nx + i]
    cdef float sx, sy, tx, ty
    if i == nx - 1:
        if j == ny - 1:
            return f00
        sy = y - <float>j
        return (1.0 - sy) * f00 + sy * d[(j + 1) * nx + i]
    if j == ny - 1:
        sx = x - <float>i
        return (1.0 - sx) * f00 + sx * d[j * nx + i + 1]
    sx = x - <float>i
    tx = 1.0 - sx
    sy = y - <float>j
    ty = 1.0 - sy
    return (tx * ty * f00 + sx * ty * d[j * nx + i + 1]
            + sy * tx * d[(j + 1) * nx + i] + sx * sy * d[(j + 1) * nx + i + 1])


cdef inline float _poly3(const float* d, Py_ssize_t nx, Py_ssize_t ny,
                         float x, float y) noexcept nogil:
    cdef float c[16]
    cdef float z[4]
    cdef Py_ssize_t i = <Py_ssize_t>x
    cdef Py_ssize_t j = <Py_ssize_t>y
    cdef float sx = x - <float>i, sy = y - <float>j
    cdef float tx = 1.0 - sx, ty = 1.0 - sy
    cdef float sx2m1 = sx * sx - 1.0, tx2m1 = tx * tx - 1.0
    cdef float cd20, cd21
    cdef int r
    cdef const float* row
    _block(d, nx, ny, i - 1, j - 1, 4, c)
    for r in range(4):
        row = c + 4 * r
        cd20 = (1.0 / 6.0) * (row[2] - 2.0 * row[1] + row[0])
        cd21 = (1.0 / 6.0) * (row[3] - 2.0 * row[2] + row[1])
        z[r] = sx * (row[2] + sx2m1 * cd21) + tx * (row[1] + tx2m1 * cd20)
    cd20 = (1.0 / 6.0) * (z[2] - 2.0 * z[1] + z[0])
    cd21 = (1.0 / 6.0) * (z[3] - 2.0 * z[2] + z[1])
    return sy * (z[2] + (sy * sy - 1.0) * cd21) + ty * (z[1] + (ty * ty - 1.0) * cd20)


cdef inline float _poly5(const float* d, Py_ssize_t nx, Py_ssize_t ny,
                         float x, float y) noexcept nogil:
    cdef float c[36]
    cdef float z[6]
    cdef Py_ssize_t i = <Py_ssize_t>x
    cdef Py_ssize_t j = <Py_ssize_t>y
    cdef float sx = x - <float>i, sy = y - <float>j
    cdef float tx = 1.0 - sx, ty = 1.0 - sy
    cdef float sx2 = sx * sx, tx2 = tx * tx, sy2 = sy * sy, ty2 = ty * ty
    cdef float sx2m1 = sx2 - 1.0, sx2m4 = sx2 - 4.0
    cdef float tx2m1 = tx2 - 1.0, tx2m4 = tx2 - 4.0
    cdef float cd20, cd21, cd40, cd41
    cdef int r
    cdef const float* w
    _block(d, nx, ny, i - 2, j - 2, 6, c)
    for r in range(6):
        w = c + 6 * r
        cd20 = (1.0 / 6.0) * (w[3] - 2.0 * w[2] + w[1])
        cd21 = (1.0 / 6.0) * (w[4] - 2.0 * w[3] + w[2])
        cd40 = (1.0 / 120.0) * (w[0] - 4.0 * w[1] + 6.0 * w[2] - 4.0 * w[3] + w[4])
        cd41 = (1.0 / 120.0) * (w[1] - 4.0 * w[2] + 6.0 * w[3] - 4.0 * w[4] + w[5])
        z[r] = (sx * (w[3] + sx2m1 * (cd21 + sx2m4 * cd41))
                + tx * (w[2] + tx2m1 * (cd20 + tx2m4 * cd40)))
    cd20 = (1.0 / 6.0) * (z[3] - 2.0 * z[2] + z[1])
    cd21 = (1.0 / 6.0) * (z[4] - 2.0 * z[3] + z[2])
    cd40 = (1.0 / 120.0) * (z[0] - 4.0 * z[1] + 6.0 * z[2] - 4.0 * z[3] + z[4])
    cd41 = (1.0 / 120.0) * (z[1] - 4.0 * z[2] + 6.0 * z[3] - 4.0 * z[4] + z[5])
    return (sy * (z[3] + (sy2 - 1.0) * (cd21 + (sy2 - 4.0) * cd41))
            + ty * (z[2] + (ty2 - 1.0) * (cd20 + (ty2 - 4.0) * cd40)))


cdef inline float _poly5_tab(const float* d, const float* t, Py_ssize_t nx, Py_ssize_t ny,
                             float x, float y) noexcept nogil:
    """:func:`_poly5` with the row differences read from a :func:`poly5_table`.

    The table holds, for every pixel, the float32 values that :func:`_poly5`
    computes as ``cd20`` and ``cd40`` of a block centred there (``cd21`` and
    ``cd41`` are those of the next pixel), from the same expression, so the
    result is bit-identical.  Blocks that reach past an edge use
    :func:`_poly5` itself.
    """
    cdef Py_ssize_t i = <Py_ssize_t>x
    cdef Py_ssize_t j = <Py_ssize_t>y
    if i < 2 or j < 2 or i + 3 >= nx or j + 3 >= ny:
        return _poly5(d, nx, ny, x, y)
    cdef float z[6]
    cdef float sx = x - <float>i, sy = y - <float>j
    cdef float tx = 1.0 - sx, ty = 1.0 - sy
    cdef float sx2 = sx * sx, tx2 = tx * tx, sy2 = sy * sy, ty2 = ty * ty
    cdef float sx2m1 = sx2 - 1.0, sx2m4 = sx2 - 4.0
    cdef float tx2m1 = tx2 - 1.0, tx2m4 = tx2 - 4.0
    cdef float cd20, cd21, cd40, cd41
    cdef int r
    cdef const float* w
    cdef const float* c
    for r in range(6):
        w = d + (j - 2 + r) * nx + i
        c = t + 2 * ((j - 2 + r) * nx + i)
        cd20 = c[0]
        cd40 = c[1]
        cd21 = c[2]
        cd41 = c[3]
        z[r] = (sx * (w[1] + sx2m1 * (cd21 + sx2m4 * cd41))
                + tx * (w[0] + tx2m1 * (cd20 + tx2m4 * cd40)))
    cd20 = (1.0 / 6.0) * (z[3] - 2.0 * z[2] + z[1])
    cd21 = (1.0 / 6.0) * (z[4] - 2.0 * z[3] + z[2])
    cd40 = (1.0 / 120.0) * (z[0] - 4.0 * z[1] + 6.0 * z[2] - 4.0 * z[3] + z[4])
    cd41 = (1.0 / 120.0) * (z[1] - 4.0 * z[2] + 6.0 * z[3] - 4.0 * z[4] + z[5])
    return (sy * (z[3] + (sy2 - 1.0) * (cd21 + (sy2 - 4.0) * cd41))
            + ty * (z[2] + (ty2 - 1.0) * (cd20 + (ty2 - 4.0) * cd40)))


def poly5_table(const float[:, ::1] data, int num_threads):
    """Row differences of ``data`` for the ``poly5`` interpolant, float32 ``(ny, nx, 2)``.

    ``[j, i, 0]`` is the second central difference along x at pixel (i, j)
    divided by 6, ``[j, i, 1]`` the fourth one divided by 120, computed as
    the ``poly5`` interpolant computes them (double, rounded to float32), for
    2 <= i < nx - 2 (0 elsewhere).  Blotting the same image many times with
    the table saves most of the interpolant's arithmetic; the values do not
    change.
    """
    cdef Py_ssize_t ny = data.shape[0], nx = data.shape[1]
    cdef Py_ssize_t j, i
    cdef const float* d
    cdef float* o
    if num_threads < 1:
        raise ValueError("num_threads must be >= 1")
    out = np.zeros((ny, nx, 2), dtype=np.float32)
    cdef float[:, :, ::1] ov = out
    if ny == 0 or nx < 5:
        return out
    with nogil:
        for j in prange(ny, num_threads=num_threads, schedule="static"):
            d = &data[j, 0]
            o = &ov[j, 0, 0]
            for i in range(2, nx - 2):
                o[2 * i] = (1.0 / 6.0) * (d[i + 1] - 2.0 * d[i] + d[i - 1])
                o[2 * i + 1] = (1.0 / 120.0) * (d[i - 2] - 4.0 * d[i - 1] + 6.0 * d[i]
                                                - 4.0 * d[i + 1] + d[i + 2])
    return out


cdef inline float _lanczos(const float* d, Py_ssize_t nx, Py_ssize_t ny,
                           float x, float y, const double* lut, Py_ssize_t nlut,
                           int order) noexcept nogil:
    cdef double wx[12]   # at most 2 * 5 + 1 taps per axis
    cdef Py_ssize_t ixs, ixe, iys, iye, i, j, xoff, yoff
    cdef double luty, rowsum, s = 0.0
    cdef double xd = x, yd = y
    ixs = <Py_ssize_t>floor(xd - order) + 1
    ixe = <Py_ssize_t>floor(xd + order)
    iys = <Py_ssize_t>floor(yd - order) + 1
    iye = <Py_ssize_t>floor(yd + order)
    if ixs < 0:
        ixs = 0
    if iys < 0:
        iys = 0
    if ixe > nx - 1:
        ixe = nx - 1
    if iye > ny - 1:
        iye = ny - 1
    # the table index is the truncated |offset| / spacing, as in drizzle 3.0
    for i in range(ixs, ixe + 1):
        xoff = <Py_ssize_t>(fabs(xd - <double>i) / LUT_DELTA)
        wx[i - ixs] = lut[xoff] if xoff < nlut else 0.0
    for j in range(iys, iye + 1):
        yoff = <Py_ssize_t>(fabs(yd - <double>j) / LUT_DELTA)
        if yoff >= nlut:
            continue
        luty = lut[yoff]
        for i in range(ixs, ixe + 1):
            s = s + <double>d[j * nx + i] * wx[i - ixs] * luty
    return <float>s


cdef inline float _sinc(const float* d, Py_ssize_t nx, Py_ssize_t ny,
                        float x, float y, const double* taper, double sinscl) noexcept nogil:
    cdef double wx[NCONV]
    cdef double wy[NCONV]
    cdef Py_ssize_t ci = <Py_ssize_t>floor(<double>x + 0.5)
    cdef Py_ssize_t cj = <Py_ssize_t>floor(<double>y + 0.5)
    cdef double dx = (<double>x - ci) * sinscl
    cdef double dy = (<double>y - cj) * sinscl
    cdef double sumx = 0.0, sumy = 0.0, acc = 0.0, rowsum
    cdef int k, m
    cdef Py_ssize_t ii, jj
    # ci (cj) may be one past the last pixel; the taps beyond the edge repeat it
    if fabs(dx) < 0.001 and fabs(dy) < 0.001:
        return d[_clampi(cj, ny - 1) * nx + _clampi(ci, nx - 1)]
    for k in range(NCONV):
        if dx == 0.0:
            wx[k] = 1.0 if k == NSINC else 0.0
        else:
            wx[k] = taper[k] / (dx - (k - NSINC))
        if dy == 0.0:
            wy[k] = 1.0 if k == NSINC else 0.0
        else:
            wy[k] = taper[k] / (dy - (k - NSINC))
        sumx = sumx + wx[k]
        sumy = sumy + wy[k]
    for m in range(NCONV):
        jj = _clampi(cj + m - NSINC, ny - 1)
        rowsum = 0.0
        for k in range(NCONV):
            ii = _clampi(ci + k - NSINC, nx - 1)
            rowsum = rowsum + wx[k] * d[jj * nx + ii]
        acc = acc + wy[m] * rowsum
    return <float>(acc / sumx / sumy)


cdef inline void _bspline3_weights(double t, double* w) noexcept nogil:
    cdef double u = 1.0 - t
    w[0] = u * u * u / 6.0
    w[1] = (3.0 * t * t * t - 6.0 * t * t + 4.0) / 6.0
    w[2] = (-3.0 * t * t * t + 3.0 * t * t + 3.0 * t + 1.0) / 6.0
    w[3] = t * t * t / 6.0


cdef inline Py_ssize_t _mirror(Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    """Whole-sample mirror index (d[-k] = d[k], d[n-1+k] = d[n-1-k])."""
    cdef Py_ssize_t period
    if n == 1:
        return 0
    period = 2 * (n - 1)
    i = i % period
    if i < 0:
        i = i + period
    if i > n - 1:
        i = period - i
    return i


cdef inline float _spline3(const float* c, Py_ssize_t nx, Py_ssize_t ny,
                           float x, float y) noexcept nogil:
    cdef double wx[4]
    cdef double wy[4]
    cdef Py_ssize_t i = <Py_ssize_t>floor(<double>x)
    cdef Py_ssize_t j = <Py_ssize_t>floor(<double>y)
    cdef double acc = 0.0, rowsum
    cdef int a, b
    cdef Py_ssize_t jj
    _bspline3_weights(<double>x - i, wx)
    _bspline3_weights(<double>y - j, wy)
    for a in range(4):
        jj = _mirror(j - 1 + a, ny)
        rowsum = 0.0
        for b in range(4):
            rowsum = rowsum + wx[b] * c[jj * nx + _mirror(i - 1 + b, nx)]
        acc = acc + wy[a] * rowsum
    return <float>acc


def lanczos_lut(int order):
    """Lanczos kernel of ``order`` tabulated every 0.003 pixel (float64)."""
    cdef Py_ssize_t n = <Py_ssize_t>ceil(order / LUT_DELTA) + 1
    cdef Py_ssize_t i
    cdef double xx, p, r
    out = np.zeros(n, dtype=np.float64)
    cdef double[::1] o = out
    o[0] = 1.0
    for i in range(1, n):
        xx = i * LUT_DELTA
        if xx <= order:
            p = M_PI * xx
            r = p / order
            o[i] = sin(p) * sin(r) / (p * r)
    return out


def sinc_taper():
    """Alternating-sign taper of the 15-point sinc kernel (float64)."""
    cdef double sconst = (M_PI / 2.0 / NSINC) ** 2
    cdef double a2 = -0.49670, a4 = 0.03705, u, t
    cdef int k, off
    out = np.empty(NCONV, dtype=np.float64)
    for k in range(NCONV):
        off = k - NSINC
        u = sconst * off * off
        t = 1.0 + a2 * u + a4 * u * u
        out[k] = (t * t) * (-1.0 if (off % 2) else 1.0)
    return out


def blot(const float[:, ::1] data, const double[:, :, ::1] pixmap, float[:, ::1] out,
         int interp, float scale, float fillval, double sinscl, int num_threads,
         const float[:, :, ::1] table=None):
    """Interpolate ``data`` at ``pixmap`` into ``out``; return the number of misses.

    No argument checking beyond what memoryviews do: call it through
    :func:`drizzlepac_ng.blot.blot_image`.  ``data`` must be non-empty and
    ``out`` must have the shape ``pixmap.shape[:2]``.  ``table``, for
    ``poly5`` only, is :func:`poly5_table` of ``data`` (same result, faster).
    """
    cdef Py_ssize_t nx = data.shape[1], ny = data.shape[0]
    cdef Py_ssize_t onx = out.shape[1], ony = out.shape[0]
    cdef Py_ssize_t i, j
    cdef float xo, yo, v
    cdef int order = 0
    cdef const float* d
    cdef const double* lutp = NULL
    cdef const double* taperp = NULL
    cdef Py_ssize_t nlut = 0
    cdef const float* tp = NULL
    if nx < 1 or ny < 1:
        raise ValueError("data must not be empty")
    if table is not None:
        if interp != 3:
            raise ValueError("a table is for the poly5 interpolant only")
        if table.shape[0] != ny or table.shape[1] != nx or table.shape[2] != 2:
            raise ValueError("table shape does not match data")
        tp = &table[0, 0, 0]
    if pixmap.shape[0] != ony or pixmap.shape[1] != onx or pixmap.shape[2] != 2:
        raise ValueError("pixmap shape does not match out")
    if num_threads < 1:
        raise ValueError("num_threads must be >= 1")
    if interp < 0 or interp > 7:
        raise ValueError("unknown interpolant code")
    misses = np.zeros(ony, dtype=np.int64)
    cdef long long[::1] miss = misses
    lut = np.zeros(1, dtype=np.float64)
    taper = sinc_taper()
    if interp == 5 or interp == 6:
        order = 3 if interp == 5 else 5
        lut = lanczos_lut(order)
    cdef double[::1] lutv = lut
    cdef double[::1] taperv = taper
    nlut = lutv.shape[0]
    lutp = &lutv[0]
    taperp = &taperv[0]
    d = &data[0, 0]
    if ony == 0 or onx == 0:
        return 0
    with nogil:
        for j in prange(ony, num_threads=num_threads, schedule="dynamic", chunksize=4):
            for i in range(onx):
                xo = <float>pixmap[j, i, 0]
                yo = <float>pixmap[j, i, 1]
                # NaN fails both comparisons and lands in the fill branch.
                if xo >= 0.0 and xo < <float>nx and yo >= 0.0 and yo < <float>ny:
                    if interp == 0:
                        v = _nearest(d, nx, ny, xo, yo)
                    elif interp == 1:
                        v = _linear(d, nx, ny, xo, yo)
                    elif interp == 2:
                        v = _poly3(d, nx, ny, xo, yo)
                    elif interp == 3:
                        if tp != NULL:
                            v = _poly5_tab(d, tp, nx, ny, xo, yo)
                        else:
                            v = _poly5(d, nx, ny, xo, yo)
                    elif interp == 4:
                        v = _sinc(d, nx, ny, xo, yo, taperp, sinscl)
                    elif interp == 7:
                        v = _spline3(d, nx, ny, xo, yo)
                    else:
                        v = _lanczos(d, nx, ny, xo, yo, lutp, nlut, order)
                    out[j, i] = v * scale
                else:
                    out[j, i] = fillval
                    miss[j] = miss[j] + 1
    return int(misses.sum())
