# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Drizzle kernels: scatter input pixels onto an output grid (no GIL, OpenMP).

Threading contract
------------------
The output rows are cut into horizontal *bands* and each band is processed by
one thread at a time (``prange`` over bands, dynamic schedule).  A band walks
the input pixels in input order (row by row, left to right) and keeps only the
part of each pixel's footprint that falls inside its own rows, so an output
pixel always receives its contributions in the same order, whatever the
number of threads or bands.  Each band sums ``d*dw``, ``dw`` and ``d2*dw**2``
in float64 scratch buffers and merges them into the float32 output arrays
once, at the end of the band:

    out  = (out*W + sum(d*dw)) / (W + sum(dw))
    out2 = (out2*W**2 + sum(d2*dw**2)) / (W + sum(dw))**2
    wht  = W + sum(dw)

which equals drizzle's pixel-by-pixel weighted-mean update, with less
rounding.  The point kernel (one contribution per input pixel) applies that
update directly to the outputs instead; the band still owns its rows, so the
order is fixed all the same.  DQ (bitwise OR) and context bits are written directly: they are
order independent.  Results are therefore bit-identical for any thread count.

Before the bands run, a pre-pass (parallel over input rows) records, for
short segments of each input row, the range of output rows and columns their
footprints can touch; a band only visits segments that can reach it.  Input
pixels that are masked, have zero or non-finite weight, or non-finite data,
data2 or pixel-map values contribute nothing.  The band holding the first
output row of a pixel's footprint records whether the pixel reached the
frame (``hit``), so every pixel is counted once.

Translation invariance and the output origin
--------------------------------------------
The output arrays may hold any window of the global output grid: global
pixel (out_x0 + i, out_y0 + j) is array element [j, i] (``out_origin`` of
drizzle_add, negative allowed), while the pixel map stays in global
coordinates.  The origin is subtracted only from integer output positions
(pixel origins, output ranges, pre-pass ranges), never from a map value, so
every floating-point expression sees the same numbers as in a drizzle onto
the whole grid: drizzling onto a window gives exactly the bits of the same
region of a whole-grid drizzle.  (Subtracting the origin from the map
instead is not equivalent: a map value that crosses a power of two when
shifted loses its last bits.)

Geometry is computed relative to an integer origin per input pixel, the
floor of its own mapped centre: map values minus that origin are exact, so
the square-kernel corners, drop areas and cell overlaps, turbo box edges and
every kernel's output range (rounded from the origin-relative offset) are
the same for a map shifted by any integer that keeps values exact.  The
gaussian, lanczos and tophat kernels use the difference between the mapped
centre and a global output position (one rounding).  Square-kernel cell
areas are computed over the drop's whole cell range and only then clipped
to the frame and the band, so a window or band edge cannot change them.
The pre-pass ranges carry one cell of margin because they are rounded from
absolute coordinates.

The point kernel (one output pixel per input pixel) skips the pre-pass, the
bands and the hit map when it runs on at most MAXSTRIPS threads: the output
columns are cut into one strip per thread, each thread walks the whole input
in input order and updates, directly, only the output pixels of its own
strip (see _point_strip).  With more threads it uses the bands.

Vector code
-----------
The square kernel handles the input pixels of a row segment in three
stages (_square_segment): footprints (for interior pixels with pixfrac <= 1,
sixteen at a time), the overlap areas of the drops that lie within 2x2
output cells (about 94% of them for a typical HST map at pixfrac 1), four at
a time, then the accumulation in input order.  The vector functions are C
with GCC vector extensions; on x86-64 Linux an AVX2 clone is picked at load
time.  Every lane performs the same IEEE operations in the same order as
the generic clone (no FMA), so the bits do not depend on the instruction
set.  Accumulators and, for the point kernel, outputs are prefetched a few
pixels ahead: the walk along an input row crosses output rows, which
hardware prefetchers do not follow.

No global state; every array is passed in.  All geometry is float64.
"""

import numpy as np
cimport numpy as cnp
from cython.parallel cimport prange, threadid
from libc.math cimport floor, fabs, exp, sin, sqrt, isfinite, M_PI
from libc.stdlib cimport malloc, calloc, free

cnp.import_array()

# Kernel codes (kept in step with drizzle_kernels.KERNEL_CODES).
cdef enum:
    K_SQUARE = 0
    K_POINT = 1
    K_TURBO = 2
    K_GAUSSIAN = 3
    K_LANCZOS2 = 4
    K_LANCZOS3 = 5
    K_LANCZOS5 = 6
    K_TOPHAT = 7
    SEGLEN = 16          # input pixels per row segment in the pre-pass
    MAXSTRIPS = 4        # point kernel: most threads that use output-column strips
    PFD = 20             # point kernel: prefetch distance (input pixels)
    MAXCELLS = 64        # output cells handled by the fast square-kernel path

cdef extern from *:
    """
    #define DPNG_LUT_STEP 0.003  /* Lanczos look-up table step (input pixels) */
    #define DPNG_BIG 1.0e9       /* clamp for coordinates before integer conversion */
    """
    double LUT_STEP "DPNG_LUT_STEP"
    double BIG "DPNG_BIG"
    void _prefetch_w "__builtin_prefetch"(const void* addr, int rw, int locality) noexcept nogil

cdef extern from *:
    """
    #include <string.h>
    /* Overlap areas of square-kernel drops with their 2x2 output cells, four
       drops at a time (GCC vector extensions).  On x86-64 Linux with GCC an
       AVX2 clone is selected at load time; AVX2 is not FMA, and every lane
       performs the same IEEE operations in the same order as the generic
       clone, so both give the same bits. */
    #if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) \
        && defined(__GLIBC__)
    #define DPNG_CLONES __attribute__((target_clones("avx2", "default")))
    #else
    #define DPNG_CLONES
    #endif
    #define DPNG_INL static inline __attribute__((always_inline))
    typedef double dpng_vd __attribute__((vector_size(32)));
    typedef long long dpng_vl __attribute__((vector_size(32)));

    DPNG_INL dpng_vd dpng_sel(dpng_vl m, dpng_vd a, dpng_vd b) {
        return (dpng_vd)(((dpng_vl)a & m) | ((dpng_vl)b & ~m));
    }
    DPNG_INL dpng_vd dpng_ld(const double* p) { dpng_vd v; memcpy(&v, p, sizeof v); return v; }
    DPNG_INL void dpng_st(double* p, dpng_vd v) { memcpy(p, &v, sizeof v); }

    /* Piece x in [u, v] of the edge y = ya + s (x - xa): returns the
       integral of max(y - b1, 0) and stores in *below that of
       clamp(y - b0, 0, 1) (b1 = b0 + 1 lies above the edge's lower cell).
       h = 1 / (2 |s|) (huge for flat pieces, which then vanish through a
       zero factor). */
    DPNG_INL dpng_vd dpng_p2(dpng_vd ya, dpng_vd s, dpng_vd h, dpng_vd xa, dpng_vd u,
                             dpng_vd v, dpng_vd b0, dpng_vd b1, dpng_vd* below) {
        const dpng_vd zero = {0.0, 0.0, 0.0, 0.0};
        const dpng_vd half = {0.5, 0.5, 0.5, 0.5};
        dpng_vd length = v - u;
        dpng_vd yu = ya + s * (u - xa);
        dpng_vd yv = ya + s * (v - xa);
        dpng_vl m = yu < yv;
        dpng_vd lo = dpng_sel(m, yu, yv);
        dpng_vd hi = dpng_sel(m, yv, yu);
        dpng_vd c = dpng_sel(b1 > lo, b1, lo);
        dpng_vd t, e, p1;
        c = dpng_sel(c < hi, c, hi);
        t = hi - c;
        e = lo - b1;
        p1 = length * dpng_sel(e > zero, e, zero) + t * t * h;
        *below = length * (half * (yu + yv) - b0) - p1;
        return p1;
    }

    /* n drops (n a multiple of 4).  X, Y: corner k of drop l at [16 k + l]
       (corners relative to the drop's integer origin); XM: the middle
       column boundary, B0/B1: the bottom and middle row boundaries (same
       origin).  C: areas of cells (row, col) 00, 01, 10, 11 at
       [16 * cell + l]. */
    DPNG_CLONES
    static void dpng_area2x2(long n, const double* X, const double* Y, const double* XM,
                             const double* B0, const double* B1, double* C) {
        const dpng_vd one = {1.0, 1.0, 1.0, 1.0};
        const dpng_vd mone = {-1.0, -1.0, -1.0, -1.0};
        const dpng_vd half = {0.5, 0.5, 0.5, 0.5};
        const dpng_vd tiny = {1e-300, 1e-300, 1e-300, 1e-300};
        const dpng_vd zero = {0.0, 0.0, 0.0, 0.0};
        const dpng_vl absm = {0x7fffffffffffffffLL, 0x7fffffffffffffffLL,
                              0x7fffffffffffffffLL, 0x7fffffffffffffffLL};
        long l;
        int k, m;
        for (l = 0; l < n; l += 4) {
            dpng_vd xm = dpng_ld(XM + l), b0 = dpng_ld(B0 + l), b1 = dpng_ld(B1 + l);
            dpng_vd c00 = {0.0, 0.0, 0.0, 0.0}, c01 = c00, c10 = c00, c11 = c00;
            for (k = 0; k < 4; k++) {
                dpng_vd x1, y1, x2, y2, dx, dy, sgn, xa, xb, ya, adx, ady, sl, h, u, v, lo, hi;
                dpng_vl pos;
                m = (k + 1) & 3;
                x1 = dpng_ld(X + 16 * k + l);
                y1 = dpng_ld(Y + 16 * k + l);
                x2 = dpng_ld(X + 16 * m + l);
                y2 = dpng_ld(Y + 16 * m + l);
                dx = x2 - x1;
                dy = y2 - y1;
                pos = dx > zero;
                sgn = dpng_sel(pos, one, mone);
                xa = dpng_sel(pos, x1, x2);
                xb = dpng_sel(pos, x2, x1);
                ya = dpng_sel(pos, y1, y2);
                adx = (dpng_vd)((dpng_vl)dx & absm);
                ady = (dpng_vd)((dpng_vl)dy & absm);
                sl = dpng_sel(pos, dy, -dy) / dpng_sel(adx > tiny, adx, tiny);
                h = half * adx / dpng_sel(ady > tiny, ady, tiny);
                /* left column piece [xa, min(xb, xm)] */
                v = dpng_sel(xb < xm, xb, xm);
                v = dpng_sel(v > xa, v, xa);
                hi = dpng_p2(ya, sl, h, xa, xa, v, b0, b1, &lo);
                c00 += sgn * lo;
                c10 += sgn * hi;
                /* right column piece [max(xa, xm), xb] */
                u = dpng_sel(xa > xm, xa, xm);
                u = dpng_sel(u < xb, u, xb);
                hi = dpng_p2(ya, sl, h, xa, u, xb, b0, b1, &lo);
                c01 += sgn * lo;
                c11 += sgn * hi;
            }
            dpng_st(C + l, c00);
            dpng_st(C + 16 + l, c01);
            dpng_st(C + 32 + l, c10);
            dpng_st(C + 48 + l, c11);
        }
    }

    /* floor(x) for |x| < 2**51 (exact: round to an integer through the
       1.5 * 2**52 offset, then step down when that rounded up). */
    DPNG_INL dpng_vd dpng_floor(dpng_vd x) {
        const dpng_vd magic = {6755399441055744.0, 6755399441055744.0,
                               6755399441055744.0, 6755399441055744.0};
        const dpng_vd one = {1.0, 1.0, 1.0, 1.0}, zero = {0.0, 0.0, 0.0, 0.0};
        dpng_vd r = (x + magic) - magic;
        return r - dpng_sel(r > x, one, zero);
    }

    DPNG_INL void dpng_deint(const double* p, dpng_vd* x, dpng_vd* y) {
        dpng_vd u = dpng_ld(p), v = dpng_ld(p + 4);
    #if defined(__clang__)
        *x = __builtin_shufflevector(u, v, 0, 2, 4, 6);
        *y = __builtin_shufflevector(u, v, 1, 3, 5, 7);
    #else
        const dpng_vl ix = {0, 2, 4, 6}, iy = {1, 3, 5, 7};
        *x = __builtin_shuffle(u, v, ix);
        *y = __builtin_shuffle(u, v, iy);
    #endif
    }

    /* Fast-path corners (see _corners) of 16 consecutive interior pixels
       whose centre is at pm (interleaved map, row stride rs doubles): the
       same operations, in the same order, as the scalar code.  Writes the
       integer origins (floor of each finite mapped centre, else 0) minus
       the output origin (x0, y0) to FOX/FOY[l], corner k of pixel l
       relative to the (global) integer origins to CX/CY[16 k + l], the
       signed drop area (0 for unusable corners) to JAC[l] and the output
       cell range in the output arrays (x lo, x hi, y lo, y hi: corners'
       extremes rounded half up, as _footprint, minus the output origin)
       to LIM[16 * r + l]. */
    DPNG_CLONES
    static void dpng_corners16(const double* pm, long rs, double* FOX, double* FOY,
                               double ca, double cb, double cc, double big, double x0,
                               double y0, double* CX, double* CY, double* JAC, double* LIM) {
        const dpng_vd A = {ca, ca, ca, ca}, B = {cb, cb, cb, cb}, C = {cc, cc, cc, cc};
        const dpng_vd BG = {big, big, big, big}, zero = {0.0, 0.0, 0.0, 0.0};
        const dpng_vd half = {0.5, 0.5, 0.5, 0.5};
        const dpng_vd X0 = {x0, x0, x0, x0}, Y0 = {y0, y0, y0, y0};
        const dpng_vl absm = {0x7fffffffffffffffLL, 0x7fffffffffffffffLL,
                              0x7fffffffffffffffLL, 0x7fffffffffffffffLL};
        int l, k;
        for (l = 0; l < 16; l += 4) {
            const double* p = pm + 2 * l;
            dpng_vd fx, fy;
            dpng_vd mx, my, lx, ly, rx, ry, tx, ty, qx, qy, x[4], y[4], sa, sb, s, mn, mx_;
            dpng_vl ok;
            dpng_deint(p, &mx, &my);
            ok = (mx > -BG) & (mx < BG) & (my > -BG) & (my < BG);
            fx = dpng_sel(ok, dpng_floor(mx), zero);
            fy = dpng_sel(ok, dpng_floor(my), zero);
            dpng_st(FOX + l, fx - X0);
            dpng_st(FOY + l, fy - Y0);
            dpng_deint(p - 2, &lx, &ly);
            dpng_deint(p + 2, &rx, &ry);
            mx = mx - fx; my = my - fy;
            lx = lx - fx; ly = ly - fy;
            rx = rx - fx; ry = ry - fy;
            /* row above (j + 1): corners (-,+) and (+,+) */
            dpng_deint(p + rs, &tx, &ty);
            tx = tx - fx; ty = ty - fy;
            dpng_deint(p + rs - 2, &qx, &qy);
            x[0] = A * mx + B * (lx + tx) + C * (qx - fx);
            y[0] = A * my + B * (ly + ty) + C * (qy - fy);
            dpng_deint(p + rs + 2, &qx, &qy);
            x[1] = A * mx + B * (rx + tx) + C * (qx - fx);
            y[1] = A * my + B * (ry + ty) + C * (qy - fy);
            /* row below (j - 1): corners (+,-) and (-,-) */
            dpng_deint(p - rs, &tx, &ty);
            tx = tx - fx; ty = ty - fy;
            dpng_deint(p - rs + 2, &qx, &qy);
            x[2] = A * mx + B * (rx + tx) + C * (qx - fx);
            y[2] = A * my + B * (ry + ty) + C * (qy - fy);
            dpng_deint(p - rs - 2, &qx, &qy);
            x[3] = A * mx + B * (lx + tx) + C * (qx - fx);
            y[3] = A * my + B * (ly + ty) + C * (qy - fy);
            sa = (dpng_vd)((dpng_vl)x[0] & absm) + (dpng_vd)((dpng_vl)x[1] & absm)
                 + (dpng_vd)((dpng_vl)x[2] & absm) + (dpng_vd)((dpng_vl)x[3] & absm);
            sb = (dpng_vd)((dpng_vl)y[0] & absm) + (dpng_vd)((dpng_vl)y[1] & absm)
                 + (dpng_vd)((dpng_vl)y[2] & absm) + (dpng_vd)((dpng_vl)y[3] & absm);
            ok = (sa < BG) & (sb < BG);
            s = zero;
            for (k = 0; k < 4; k++) {
                int m = (k + 1) & 3;
                s = s + (x[m] - x[k]) * (y[k] + y[m]);
                dpng_st(CX + 16 * k + l, x[k]);
                dpng_st(CY + 16 * k + l, y[k]);
            }
            dpng_st(JAC + l, dpng_sel(ok, half * s, zero));
            mn = x[0]; mx_ = x[0];
            for (k = 1; k < 4; k++) {
                mn = dpng_sel(x[k] < mn, x[k], mn);
                mx_ = dpng_sel(x[k] > mx_, x[k], mx_);
            }
            dpng_st(LIM + l, dpng_floor(mn + half) + (fx - X0));
            dpng_st(LIM + 16 + l, dpng_floor(mx_ + half) + (fx - X0));
            mn = y[0]; mx_ = y[0];
            for (k = 1; k < 4; k++) {
                mn = dpng_sel(y[k] < mn, y[k], mn);
                mx_ = dpng_sel(y[k] > mx_, y[k], mx_);
            }
            dpng_st(LIM + 32 + l, dpng_floor(mn + half) + (fy - Y0));
            dpng_st(LIM + 48 + l, dpng_floor(mx_ + half) + (fy - Y0));
        }
    }

    DPNG_INL dpng_vd dpng_nint(dpng_vd x) {   /* _nint_small: halves away from zero */
        const dpng_vd half = {0.5, 0.5, 0.5, 0.5}, zero = {0.0, 0.0, 0.0, 0.0};
        return dpng_sel(x >= zero, dpng_floor(x + half), -dpng_floor(half - x));
    }

    /* Turbo kernel geometry of 16 pixels whose mapped centres are at pm
       (interleaved; a copy, padded): the same operations as _centre_lim and
       the turbo loops.  T[16 r + l]: r = 0 usable centre (1.0 or 0.0),
       1..4 the output range (x lo, x hi, y lo, y hi) in the output arrays
       (global range minus the integer output origin x0, y0: exact), 5, 6
       the box overlaps of columns x lo and x lo + 1, 7, 8 those of rows
       y lo and y lo + 1. */
    DPNG_CLONES
    static void dpng_turbo16(const double* pm, double pfo, double big, double x0, double y0,
                             double* T) {
        const dpng_vd P = {pfo, pfo, pfo, pfo}, BG = {big, big, big, big};
        const dpng_vd zero = {0.0, 0.0, 0.0, 0.0}, one = {1.0, 1.0, 1.0, 1.0};
        const dpng_vd half = {0.5, 0.5, 0.5, 0.5};
        const dpng_vd X0 = {x0, x0, x0, x0}, Y0 = {y0, y0, y0, y0};
        int l;
        for (l = 0; l < 16; l += 4) {
            dpng_vd cx, cy, ox, oy, rx, ry, a, b, xl, xh, yl, yh;
            dpng_vl ok;
            dpng_deint(pm + 2 * l, &cx, &cy);
            ok = (cx > -BG) & (cx < BG) & (cy > -BG) & (cy < BG);
            ox = dpng_sel(ok, dpng_floor(cx), zero);
            oy = dpng_sel(ok, dpng_floor(cy), zero);
            rx = dpng_sel(ok, cx - ox, zero);
            ry = dpng_sel(ok, cy - oy, zero);
            a = dpng_nint(rx - P);
            b = dpng_nint(ry - P);
            dpng_st(T + l, dpng_sel(ok, one, zero));
            dpng_st(T + 16 + l, a + (ox - X0));
            dpng_st(T + 32 + l, dpng_nint(rx + P) + (ox - X0));
            dpng_st(T + 48 + l, b + (oy - Y0));
            dpng_st(T + 64 + l, dpng_nint(ry + P) + (oy - Y0));
            xl = rx - P;
            xh = rx + P;
            yl = ry - P;
            yh = ry + P;
            dpng_st(T + 80 + l, dpng_sel(xh < a + half, xh, a + half)
                                - dpng_sel(xl > a - half, xl, a - half));
            a = a + one;
            dpng_st(T + 96 + l, dpng_sel(xh < a + half, xh, a + half)
                                - dpng_sel(xl > a - half, xl, a - half));
            dpng_st(T + 112 + l, dpng_sel(yh < b + half, yh, b + half)
                                 - dpng_sel(yl > b - half, yl, b - half));
            b = b + one;
            dpng_st(T + 128 + l, dpng_sel(yh < b + half, yh, b + half)
                                 - dpng_sel(yl > b - half, yl, b - half));
        }
    }
    """
    void dpng_turbo16(const double* pm, double pfo, double big, double x0, double y0,
                      double* T) noexcept nogil
    void dpng_corners16(const double* pm, long rs, double* FOX, double* FOY,
                        double ca, double cb, double cc, double big, double x0, double y0,
                        double* CX, double* CY, double* JAC, double* LIM) noexcept nogil
    void dpng_area2x2(long n, const double* X, const double* Y, const double* XM,
                      const double* B0, const double* B1, double* C) noexcept nogil


ctypedef struct Params:
    float* data
    double* pixmap
    float* weights
    unsigned char* mask
    unsigned int* dq
    float** data2
    int n2
    Py_ssize_t nx, ny, onx, ony
    Py_ssize_t ox0, oy0      # global position of output pixel [0, 0] (out_origin)
    float* out_img
    float* out_wht
    float** out2
    unsigned int* out_dq
    int* out_ctx
    int ctx_bit
    int extra
    int kernel
    double pixfrac, pscale, dscale, dscale2, wtscale
    double dh, pfo, dover_scale, gauss_efac, gauss_es
    double cw[3]
    double* lut
    Py_ssize_t nlut
    double sdp
    Py_ssize_t xmin, xmax, ymin, ymax, nseg, band_h
    unsigned char* hit
    int* seg
    int* row


ctypedef struct Band:
    Py_ssize_t y0, y1, x0, x1, w
    double* acc_d
    double* acc_w
    double* acc_2
    double* d2v
    double* kx
    double* ky


cdef inline Py_ssize_t _ffloor(double x) noexcept nogil:
    """floor() for |x| < 2**62 without a libm call."""
    cdef Py_ssize_t t = <Py_ssize_t>x
    if x < t:
        t = t - 1
    return t


cdef inline Py_ssize_t _nint_small(double x) noexcept nogil:
    """_nint for |x| < 2**62 (no clamp), always inlined by hand below."""
    if x >= 0:
        return _ffloor(x + 0.5)
    return -_ffloor(0.5 - x)


cdef inline Py_ssize_t _nint(double x) noexcept nogil:
    """Nearest integer, halves away from zero, clamped to +-BIG."""
    if x > BIG:
        x = BIG
    elif x < -BIG:
        x = -BIG
    if x >= 0:
        return _ffloor(x + 0.5)
    return -_ffloor(0.5 - x)


cdef inline Py_ssize_t _floori(double x) noexcept nogil:
    if x > BIG:
        x = BIG
    elif x < -BIG:
        x = -BIG
    return _ffloor(x)


cdef inline int _bilinear(const Params* P, double x, double y, double fox, double foy,
                          double* ox, double* oy) noexcept nogil:
    """Map input position (x, y) through the pixel-centre map by bilinear
    interpolation of the enclosing cell (edge cells are extended linearly).
    The result is relative to the integer origin (fox, foy), which must lie
    within a few pixels of the map values involved (so that every map value
    minus the origin is exact).  Returns 1 when the result is not finite."""
    cdef Py_ssize_t i0, j0
    if not (x > -BIG and x < BIG and y > -BIG and y < BIG):
        ox[0] = y * 0.0 + x * 0.0 + BIG
        oy[0] = ox[0]
        return 1
    i0 = _ffloor(x)
    j0 = _ffloor(y)
    cdef double fx, fy, gx, gy
    cdef double* p00
    cdef double* p01
    cdef Py_ssize_t rs = 2 * P.nx
    if i0 < 0:
        i0 = 0
    elif i0 > P.nx - 2:
        i0 = P.nx - 2
    if j0 < 0:
        j0 = 0
    elif j0 > P.ny - 2:
        j0 = P.ny - 2
    fx = x - i0
    fy = y - j0
    gx = 1.0 - fx
    gy = 1.0 - fy
    p00 = P.pixmap + j0 * rs + 2 * i0
    p01 = p00 + rs
    ox[0] = gy * (gx * (p00[0] - fox) + fx * (p00[2] - fox)) + \
        fy * (gx * (p01[0] - fox) + fx * (p01[2] - fox))
    oy[0] = gy * (gx * (p00[1] - foy) + fx * (p00[3] - foy)) + \
        fy * (gx * (p01[1] - foy) + fx * (p01[3] - foy))
    if fabs(ox[0]) < BIG and fabs(oy[0]) < BIG:   # false for NaN
        return 0
    return 1


cdef int _corners_slow(const Params* P, Py_ssize_t i, Py_ssize_t j, double fox, double foy,
                       double* xo, double* yo) noexcept nogil:
    """_corners for border pixels and pixfrac > 1: four general bilinear
    interpolations (kept out of line so that the fast path inlines)."""
    cdef double dh = P.dh
    if _bilinear(P, i - dh, j + dh, fox, foy, &xo[0], &yo[0]):
        return 1
    if _bilinear(P, i + dh, j + dh, fox, foy, &xo[1], &yo[1]):
        return 1
    if _bilinear(P, i + dh, j - dh, fox, foy, &xo[2], &yo[2]):
        return 1
    if _bilinear(P, i - dh, j - dh, fox, foy, &xo[3], &yo[3]):
        return 1
    return 0


cdef inline int _corners(const Params* P, Py_ssize_t i, Py_ssize_t j,
                         double* xo, double* yo, Py_ssize_t* org) noexcept nogil:
    """Output positions of the four corners of the drop of pixel (i, j),
    in the order (-,+), (+,+), (+,-), (-,-) of (dx, dy).

    Interior pixels with pixfrac <= 1 take a fast path: every corner lies in
    a known cell of the map with fractional offsets (1 - dh or dh), so the
    bilinear weights are the same for every pixel (P.cw).

    Translation invariance: the corners are returned RELATIVE to the integer
    origin org = (floor(x), floor(y)) of the pixel's own mapped centre.  Map
    values near the centre minus that origin are exact, so shifting the whole
    map by an integer changes org and nothing else: every later float
    operation sees the same numbers (bit-identical tiles)."""
    cdef double dh = P.dh
    cdef double fox = 0.0, foy = 0.0, cx, cy
    cdef double* pc = P.pixmap + 2 * (j * P.nx + i)
    cx = pc[0]
    cy = pc[1]
    org[0] = 0
    org[1] = 0
    if cx > -BIG and cx < BIG and cy > -BIG and cy < BIG:
        org[0] = _ffloor(cx)
        org[1] = _ffloor(cy)
        fox = <double>org[0]
        foy = <double>org[1]
        # the float offsets use the global origin; org moves to the output arrays
        org[0] = org[0] - P.ox0
        org[1] = org[1] - P.oy0
    cdef double a, b, c, mx, my, lx, ly, rx, ry, tx, ty
    cdef double* m
    cdef double* t
    cdef double* ml
    cdef double* tl
    cdef Py_ssize_t rs
    if dh <= 0.5 and i >= 1 and j >= 1 and i <= P.nx - 2 and j <= P.ny - 2:
        rs = 2 * P.nx
        m = P.pixmap + j * rs + 2 * i   # centre (i, j)
        a = P.cw[0]                     # (1-dh)^2 : weight of the centre
        b = P.cw[1]                     # dh(1-dh) : weight of an edge neighbour
        c = P.cw[2]                     # dh^2     : weight of a diagonal neighbour
        ml = m - 2                      # centre (i - 1, j)
        # (-,+): cells (i-1..i, j..j+1)
        t = m + rs
        tl = t - 2
        mx = m[0] - fox
        my = m[1] - foy
        lx = ml[0] - fox
        ly = ml[1] - foy
        rx = m[2] - fox
        ry = m[3] - foy
        tx = t[0] - fox
        ty = t[1] - foy
        xo[0] = a * mx + b * (lx + tx) + c * (tl[0] - fox)
        yo[0] = a * my + b * (ly + ty) + c * (tl[1] - foy)
        xo[1] = a * mx + b * (rx + tx) + c * (t[2] - fox)
        yo[1] = a * my + b * (ry + ty) + c * (t[3] - foy)
        t = m - rs
        tl = t - 2
        tx = t[0] - fox
        ty = t[1] - foy
        xo[2] = a * mx + b * (rx + tx) + c * (t[2] - fox)
        yo[2] = a * my + b * (ry + ty) + c * (t[3] - foy)
        xo[3] = a * mx + b * (lx + tx) + c * (tl[0] - fox)
        yo[3] = a * my + b * (ly + ty) + c * (tl[1] - foy)
        a = fabs(xo[0]) + fabs(xo[1]) + fabs(xo[2]) + fabs(xo[3])
        b = fabs(yo[0]) + fabs(yo[1]) + fabs(yo[2]) + fabs(yo[3])
        if a < BIG and b < BIG:      # also false for NaN
            return 0
        return 1
    return _corners_slow(P, i, j, fox, foy, xo, yo)


cdef inline double _quad_area(const double* x, const double* y) noexcept nogil:
    """Signed area of the quadrilateral with the same orientation convention
    as _edge_integral: the sum over edges of (x2 - x1) * (y1 + y2) / 2."""
    cdef double s = 0.0
    cdef int k, m
    for k in range(4):
        m = (k + 1) & 3
        s = s + (x[m] - x[k]) * (y[k] + y[m])
    return 0.5 * s


cdef inline double _clamp01(double v) noexcept nogil:
    if v < 0.0:
        return 0.0
    if v > 1.0:
        return 1.0
    return v


cdef inline double _edge_integral(double x1, double y1, double x2, double y2) noexcept nogil:
    """Directed integral from x1 to x2 of clamp(y(x), 0, 1) over x in [0, 1],
    y(x) being the straight line through (x1, y1) and (x2, y2).

    Summed over the closed edges of a polygon (coordinates relative to the
    lower-left corner of a unit square) it gives the signed area of the
    polygon's intersection with the square.
    """
    cdef double sgn, xa, xb, ya, yb, slope, t, u, v, total
    cdef double br[4]
    cdef int nb, k
    if x1 == x2:
        return 0.0
    if x1 < x2:
        sgn = 1.0
        xa = x1
        xb = x2
        ya = y1
        yb = y2
    else:
        sgn = -1.0
        xa = x2
        xb = x1
        ya = y2
        yb = y1
    if xa >= 1.0 or xb <= 0.0:
        return 0.0
    slope = (yb - ya) / (xb - xa)
    # clip the x interval to [0, 1]
    if xa < 0.0:
        ya = ya + slope * (0.0 - xa)
        xa = 0.0
    if xb > 1.0:
        yb = ya + slope * (1.0 - xa)
        xb = 1.0
    # quick cases: entirely at or below 0, entirely at or above 1, entirely inside
    if ya <= 0.0 and yb <= 0.0:
        return 0.0
    if ya >= 1.0 and yb >= 1.0:
        return sgn * (xb - xa)
    if ya >= 0.0 and ya <= 1.0 and yb >= 0.0 and yb <= 1.0:
        return sgn * 0.5 * (xb - xa) * (ya + yb)
    # general case: split at the crossings of y = 0 and y = 1
    nb = 0
    br[nb] = xa
    nb = nb + 1
    if (ya < 0.0) != (yb < 0.0):
        t = xa + (0.0 - ya) / slope
        br[nb] = t
        nb = nb + 1
    if (ya < 1.0) != (yb < 1.0):
        t = xa + (1.0 - ya) / slope
        if nb == 2 and t < br[1]:
            br[2] = br[1]
            br[1] = t
        else:
            br[nb] = t
        nb = nb + 1
    br[nb] = xb
    nb = nb + 1
    total = 0.0
    for k in range(nb - 1):
        u = br[k]
        v = br[k + 1]
        if v > u:
            total = total + 0.5 * (v - u) * (
                _clamp01(ya + slope * (u - xa)) + _clamp01(ya + slope * (v - xa)))
    return sgn * total


cdef inline double _overlap(const double* x, const double* y,
                            Py_ssize_t ii, Py_ssize_t jj) noexcept nogil:
    """Signed area common to the quadrilateral (x, y) and output pixel (ii, jj)."""
    cdef double bx = ii - 0.5
    cdef double by = jj - 0.5
    cdef double s = 0.0
    cdef int k, m
    for k in range(4):
        m = (k + 1) & 3
        s = s + _edge_integral(x[k] - bx, y[k] - by, x[m] - bx, y[m] - by)
    return s


cdef inline int _footprint(const Params* P, Py_ssize_t i, Py_ssize_t j,
                           double* xo, double* yo, double* jac,
                           Py_ssize_t* lim, Py_ssize_t* org) noexcept nogil:
    """Square kernel: integer output range [lim[0], lim[1]] x [lim[2], lim[3]]
    (x then y, absolute, not clipped) that the drop of pixel (i, j) can
    touch, its corners (relative to the integer origin org, see _corners)
    and its signed area.  Returns 1 when the pixel is unusable."""
    cdef double mnx, mxx, mny, mxy
    cdef int k
    if _corners(P, i, j, xo, yo, org):
        return 1
    jac[0] = _quad_area(xo, yo)
    if not (jac[0] != 0.0 and isfinite(jac[0])):
        return 1
    mnx = xo[0]
    mxx = xo[0]
    mny = yo[0]
    mxy = yo[0]
    for k in range(1, 4):
        if xo[k] < mnx:
            mnx = xo[k]
        if xo[k] > mxx:
            mxx = xo[k]
        if yo[k] < mny:
            mny = yo[k]
        if yo[k] > mxy:
            mxy = yo[k]
    # corners are within +-BIG: round half up (only the candidate cells
    # depend on it; the areas decide the weights)
    lim[0] = _ffloor(mnx + 0.5) + org[0]
    lim[1] = _ffloor(mxx + 0.5) + org[0]
    lim[2] = _ffloor(mny + 0.5) + org[1]
    lim[3] = _ffloor(mxy + 0.5) + org[1]
    return 0


cdef int _footprint_pre(const Params* P, Py_ssize_t i, Py_ssize_t j,
                        double* xo, double* yo, double* jac,
                        Py_ssize_t* lim, Py_ssize_t* org) noexcept nogil:
    """_footprint for the pre-pass (out of line, so that the copy in
    _do_pixel is inlined)."""
    return _footprint(P, i, j, xo, yo, jac, lim, org)


cdef inline void _centre_lim(const Params* P, double cx, double cy,
                             Py_ssize_t* lim, Py_ssize_t* org, double* cr) noexcept nogil:
    """Output range of a centre-based kernel at (cx, cy) (finite, within
    +-BIG), computed from the offsets cr = (cx, cy) - org to the integer
    origin org = floor((cx, cy)), which are exact: the range then moves with
    any integer shift of the map (translation invariance)."""
    cdef double pfo = P.pfo
    cdef double rx, ry
    org[0] = _ffloor(cx)
    org[1] = _ffloor(cy)
    rx = cx - org[0]
    ry = cy - org[1]
    cr[0] = rx
    cr[1] = ry
    org[0] = org[0] - P.ox0      # integer origin in the output arrays
    org[1] = org[1] - P.oy0
    if P.kernel == K_POINT:
        lim[0] = _ffloor(rx + 0.5) + org[0]
        lim[1] = lim[0]
        lim[2] = _ffloor(ry + 0.5) + org[1]
        lim[3] = lim[2]
    elif P.kernel == K_LANCZOS2 or P.kernel == K_LANCZOS3 or P.kernel == K_LANCZOS5:
        lim[0] = _floori(rx - pfo) + 1 + org[0]
        lim[1] = _floori(rx + pfo) + org[0]
        lim[2] = _floori(ry - pfo) + 1 + org[1]
        lim[3] = _floori(ry + pfo) + org[1]
    elif pfo < BIG:     # offsets are small: no clamp needed
        lim[0] = _nint_small(rx - pfo) + org[0]
        lim[1] = _nint_small(rx + pfo) + org[0]
        lim[2] = _nint_small(ry - pfo) + org[1]
        lim[3] = _nint_small(ry + pfo) + org[1]
    else:
        lim[0] = _nint(rx - pfo) + org[0]
        lim[1] = _nint(rx + pfo) + org[0]
        lim[2] = _nint(ry - pfo) + org[1]
        lim[3] = _nint(ry + pfo) + org[1]


cdef inline void _union(int* r, Py_ssize_t x0, Py_ssize_t x1, Py_ssize_t y0, Py_ssize_t y1,
                        Py_ssize_t onx, Py_ssize_t ony) noexcept nogil:
    """Grow range r (xlo, xhi, ylo, yhi) by [x0, x1] x [y0, y1] clipped to the frame."""
    if x0 < 0:
        x0 = 0
    if x1 > onx - 1:
        x1 = onx - 1
    if y0 < 0:
        y0 = 0
    if y1 > ony - 1:
        y1 = ony - 1
    if x0 > x1 or y0 > y1:
        return
    if x0 < r[0]:
        r[0] = <int>x0
    if x1 > r[1]:
        r[1] = <int>x1
    if y0 < r[2]:
        r[2] = <int>y0
    if y1 > r[3]:
        r[3] = <int>y1


cdef inline void _centre_range(const Params* P, Py_ssize_t j0, Py_ssize_t j1,
                              Py_ssize_t i0, Py_ssize_t i1, double* r) noexcept nogil:
    """min/max (r[0..3] = xmin, xmax, ymin, ymax) of the mapped centres of
    input rows j0..j1 and columns i0..i1 (inclusive); NaN entries are ignored
    (comparisons with NaN are false)."""
    cdef Py_ssize_t jj, ii
    cdef double vx, vy
    cdef double* pm
    for jj in range(j0, j1 + 1):
        pm = P.pixmap + 2 * (jj * P.nx + i0)
        for ii in range(i1 - i0 + 1):
            vx = pm[2 * ii]
            vy = pm[2 * ii + 1]
            if vx < r[0]:
                r[0] = vx
            if vx > r[1]:
                r[1] = vx
            if vy < r[2]:
                r[2] = vy
            if vy > r[3]:
                r[3] = vy


cdef void _prepass_row(Params* P, Py_ssize_t j) noexcept nogil:
    """Record the output ranges that the segments of input row j (seg) and
    the whole row (row) can touch, clipped to the output frame (an empty
    range has lo > hi).

    Centre-based kernels: the range of the segment's mapped centres widened
    by the kernel radius.  Square kernel with pixfrac <= 1: the drop of an
    interior pixel lies in the convex hull of the mapped centres of its 3x3
    neighbourhood, so the range of the centres around the segment is used;
    pixels on the image border (extrapolated corners) and pixfrac > 1 use
    exact per-pixel footprints."""
    cdef Py_ssize_t jr = j - P.ymin
    cdef Py_ssize_t s, i, i0, i1, ca, cb
    cdef Py_ssize_t lim[4]
    cdef Py_ssize_t org[2]
    cdef double xo[4]
    cdef double yo[4]
    cdef double r[4]
    cdef double jac, pfo = P.pfo
    cdef int* sg
    cdef int* rw = P.row + 4 * jr
    cdef int square = P.kernel == K_SQUARE
    cdef int fast = square and P.dh <= 0.5
    cdef int border_row = j == 0 or j == P.ny - 1
    rw[0] = <int>P.onx
    rw[1] = -1
    rw[2] = <int>P.ony
    rw[3] = -1
    for s in range(P.nseg):
        sg = P.seg + 4 * (jr * P.nseg + s)
        sg[0] = <int>P.onx
        sg[1] = -1
        sg[2] = <int>P.ony
        sg[3] = -1
        i0 = P.xmin + s * SEGLEN
        i1 = i0 + SEGLEN
        if i1 > P.xmax + 1:
            i1 = P.xmax + 1
        r[0] = BIG
        r[1] = -BIG
        r[2] = BIG
        r[3] = -BIG
        if not square:
            _centre_range(P, j, j, i0, i1 - 1, r)
            if r[0] <= r[1] and r[2] <= r[3]:
                # one cell of margin: the pixels' own ranges are rounded
                # from origin-relative offsets (see _centre_lim)
                # (rounded in global coordinates, then moved to the output arrays)
                if P.kernel == K_LANCZOS2 or P.kernel == K_LANCZOS3 or P.kernel == K_LANCZOS5:
                    _union(sg, _floori(r[0] - pfo) - P.ox0, _floori(r[1] + pfo) + 1 - P.ox0,
                           _floori(r[2] - pfo) - P.oy0, _floori(r[3] + pfo) + 1 - P.oy0,
                           P.onx, P.ony)
                else:
                    _union(sg, _nint(r[0] - pfo) - 1 - P.ox0, _nint(r[1] + pfo) + 1 - P.ox0,
                           _nint(r[2] - pfo) - 1 - P.oy0, _nint(r[3] + pfo) + 1 - P.oy0,
                           P.onx, P.ony)
        elif fast and not border_row:
            ca = i0 - 1 if i0 >= 1 else 0
            cb = i1 if i1 <= P.nx - 1 else P.nx - 1
            _centre_range(P, j - 1, j + 1, ca, cb, r)
            if r[0] <= r[1] and r[2] <= r[3]:
                _union(sg, _nint(r[0]) - 1 - P.ox0, _nint(r[1]) + 1 - P.ox0,
                       _nint(r[2]) - 1 - P.oy0, _nint(r[3]) + 1 - P.oy0, P.onx, P.ony)
            # the first and last pixels of a row have extrapolated corners
            if i0 == 0 and not _footprint_pre(P, 0, j, xo, yo, &jac, lim, org):
                _union(sg, lim[0], lim[1], lim[2], lim[3], P.onx, P.ony)
            if i1 == P.nx and not _footprint_pre(P, P.nx - 1, j, xo, yo, &jac, lim, org):
                _union(sg, lim[0], lim[1], lim[2], lim[3], P.onx, P.ony)
        else:
            for i in range(i0, i1):
                if not _footprint_pre(P, i, j, xo, yo, &jac, lim, org):
                    _union(sg, lim[0], lim[1], lim[2], lim[3], P.onx, P.ony)
        if sg[0] <= sg[1]:
            _union(rw, sg[0], sg[1], sg[2], sg[3], P.onx, P.ony)


cdef inline int _excluded(const Params* P, Py_ssize_t o) noexcept nogil:
    """True for a pixel left out on purpose: masked, or zero (finite) weight."""
    cdef double w
    if P.mask != NULL and P.mask[o] != 0:
        return 1
    w = P.weights[o] * P.wtscale if P.weights != NULL else P.wtscale
    return w == 0.0


cdef inline bint _usable(const Params* P, Py_ssize_t o, double* w, double* d) noexcept nogil:
    """Classify input pixel o: False when masked, of zero or non-finite weight, or of
    non-finite data (in any plane); else its weight and data in w and d."""
    cdef int k
    if P.mask != NULL and P.mask[o] != 0:
        return False
    if P.weights != NULL:
        w[0] = P.weights[o] * P.wtscale
    else:
        w[0] = P.wtscale
    if w[0] == 0.0 or not isfinite(w[0]):
        return False
    d[0] = P.data[o]
    if not isfinite(d[0]):
        return False
    for k in range(P.n2):
        if P.data2[k] != NULL and not isfinite(P.data2[k][o]):
            return False
    return True


cdef inline bint _clip_box(const Params* P, const Band* B, Py_ssize_t o, Py_ssize_t x0,
                           Py_ssize_t x1, Py_ssize_t y0, Py_ssize_t y1,
                           Py_ssize_t* K) noexcept nogil:
    """Output pixels [x0, x1] x [y0, y1] of input pixel o clipped to the frame (the band
    that holds the first touched row records the hit), then to band B, into
    K = (ilo, ihi, jlo, jhi); False when nothing is left."""
    K[0] = x0 if x0 > 0 else 0
    K[1] = x1 if x1 < P.onx - 1 else P.onx - 1
    K[2] = y0 if y0 > 0 else 0
    K[3] = y1 if y1 < P.ony - 1 else P.ony - 1
    if K[0] > K[1] or K[2] > K[3]:
        return False
    if K[2] >= B.y0 and K[2] < B.y1:
        P.hit[o] = 1
    if K[2] < B.y0:
        K[2] = B.y0
    if K[3] > B.y1 - 1:
        K[3] = B.y1 - 1
    if K[0] < B.x0:
        K[0] = B.x0
    if K[1] > B.x1:
        K[1] = B.x1
    return K[0] <= K[1] and K[2] <= K[3]


cdef inline unsigned int _load_extras(const Params* P, Band* B, Py_ssize_t o) noexcept nogil:
    """For P.extra: the DQ value of input pixel o (0 without DQ); its extra data
    planes, scaled, into B.d2v."""
    cdef int k
    for k in range(P.n2):
        if P.data2[k] != NULL:
            B.d2v[k] = P.data2[k][o] * P.dscale2
        else:
            B.d2v[k] = 0.0
    if P.dq != NULL:
        return P.dq[o]
    return 0


cdef inline void _acc3(double* acc, double d, double dow) noexcept nogil:
    acc[0] += d * dow
    acc[1] += dow
    if dow > 0.0:
        acc[2] = 1.0


cdef inline void _accumulate(const Params* P, Band* B, Py_ssize_t ii, Py_ssize_t jj,
                             double d, double dow, unsigned int dqv) noexcept nogil:
    """Add one contribution (value d, weight dow) to output pixel (ii, jj)."""
    cdef Py_ssize_t a = (jj - B.y0) * B.w + (ii - B.x0)
    cdef double* acc = B.acc_d + 3 * a
    acc[0] += d * dow
    acc[1] += dow
    if dow > 0.0:
        acc[2] = 1.0          # context flag, applied when the band is merged
    if P.extra:
        _accumulate_extra(P, B, a, ii, jj, dow, dqv)


cdef void _accumulate_extra(const Params* P, Band* B, Py_ssize_t a, Py_ssize_t ii,
                            Py_ssize_t jj, double dow, unsigned int dqv) noexcept nogil:
    """data2 (squared weights) and DQ part of a contribution."""
    cdef Py_ssize_t hw = (B.y1 - B.y0) * B.w
    cdef int k
    if dow == 0.0:
        return
    for k in range(P.n2):
        B.acc_2[k * hw + a] += B.d2v[k] * dow * dow
    if P.out_dq != NULL:
        P.out_dq[jj * P.onx + ii] |= dqv


cdef inline double _ppos(double lo, double hi, double inv, double length,
                         double b) noexcept nogil:
    """Integral over a straight piece of length ``length``, whose height runs
    linearly between lo < hi (inv = 1 / (hi - lo)), of max(y - b, 0).

    Heights are uniformly spread over [lo, hi], so with c = clamp(b, lo, hi)
    the integral is length * ((hi + c) / 2 - b) * (hi - c) / (hi - lo).
    Written without branches (min/max), because b against lo/hi is data
    dependent and mispredicts."""
    cdef double c = b if b > lo else lo
    c = c if c < hi else hi
    return length * ((hi + c) * 0.5 - b) * ((hi - c) * inv)


cdef inline double _ppos_flat(double y, double length, double b) noexcept nogil:
    """The same for a piece at constant height y."""
    cdef double t = y - b
    return length * (t if t > 0.0 else 0.0)


cdef inline double _p2(double ya, double s, double h, double xa, double u, double v,
                       double b0, double b1, double* below) noexcept nogil:
    """For the piece x in [u, v] of an edge y = ya + s (x - xa): return the
    integral of max(y - b1, 0) and store in ``below`` the integral of
    clamp(y - b0, 0, 1) - that is, of the part between b0 and b1 (b0 lies
    below the edge, b1 = b0 + 1).  h = 1 / (2 |s|) (huge for flat pieces,
    whose contribution then vanishes through a zero factor)."""
    cdef double length = v - u
    cdef double yu = ya + s * (u - xa)
    cdef double yv = ya + s * (v - xa)
    cdef double lo = yu if yu < yv else yv
    cdef double hi = yv if yu < yv else yu
    cdef double c = b1 if b1 > lo else lo
    cdef double t, p1, e
    c = c if c < hi else hi
    t = hi - c
    e = lo - b1
    p1 = length * (e if e > 0.0 else 0.0) + t * t * h
    below[0] = length * (0.5 * (yu + yv) - b0) - p1
    return p1


cdef void _square_cells(const Params* P, Band* B, const double* xo, const double* yo,
                        const Py_ssize_t* lim, const Py_ssize_t* org,
                        Py_ssize_t ilo, Py_ssize_t ihi, Py_ssize_t jlo, Py_ssize_t jhi,
                        double d, double w, double jac, unsigned int dqv) noexcept nogil:
    """Overlap areas of the drop quadrilateral (corners relative to the
    integer origin org) with all the output cells of its range lim (at most
    MAXCELLS), then accumulate those inside [ilo, ihi] x [jlo, jhi] (frame
    and band).  The areas never depend on the clipping, so a tile or a band
    boundary cannot change them.

    For every edge and every output column it crosses, the directed integral
    of clamp(y - b, 0, 1) over the column, with b the lower edge of a row, is
    P(b) - P(b + 1) with P(b) the integral of max(y - b, 0); summed over the
    closed quadrilateral it is the signed area inside the cell.  Each edge
    thus costs nrows + 1 evaluations of P per column.  Areas below 1e-12 of
    the drop area are rounding noise (from cells the drop does not reach)
    and are dropped.  Rows lim[2]..lim[3] hold the whole drop, which saves
    two evaluations per piece."""
    cdef double cell[MAXCELLS]
    cdef Py_ssize_t clo = lim[0] - org[0]      # relative cell range
    cdef Py_ssize_t chi = lim[1] - org[0]
    cdef Py_ssize_t rlo = lim[2] - org[1]
    cdef Py_ssize_t nc = lim[1] - lim[0] + 1
    cdef Py_ssize_t nr = lim[3] - lim[2] + 1
    cdef Py_ssize_t k, m, c, ca, cb, rr
    cdef double x1, y1, x2, y2, sgn, xa, xb, ya, yb, slope, u, v, yu, yv, lo, hi, length
    cdef double b0, prev, nxt, inv, bb, eps = 1e-12 * fabs(jac)
    cdef int flat
    for k in range(nr * nc):
        cell[k] = 0.0
    b0 = rlo - 0.5
    for k in range(4):
        m = (k + 1) & 3
        x1 = xo[k]
        y1 = yo[k]
        x2 = xo[m]
        y2 = yo[m]
        if x1 == x2:
            continue
        if x1 < x2:
            sgn = 1.0
            xa = x1
            ya = y1
            xb = x2
            yb = y2
        else:
            sgn = -1.0
            xa = x2
            ya = y2
            xb = x1
            yb = y1
        ca = _ffloor(xa + 0.5)
        cb = _ffloor(xb + 0.5)
        if ca < clo:
            ca = clo
        if cb > chi:
            cb = chi
        slope = 0.0
        if ca != cb or xa < ca - 0.5 or xb > ca + 0.5:
            slope = (yb - ya) / (xb - xa)      # only needed when the edge is clipped
        for c in range(ca, cb + 1):
            u = xa if xa > c - 0.5 else c - 0.5
            v = xb if xb < c + 0.5 else c + 0.5
            if v <= u:
                continue
            yu = ya if u == xa else ya + slope * (u - xa)
            yv = yb if v == xb else ya + slope * (v - xa)
            length = v - u
            if yu < yv:
                lo = yu
                hi = yv
            else:
                lo = yv
                hi = yu
            flat = not (hi > lo)
            inv = 0.0 if flat else 1.0 / (hi - lo)
            # b0 lies below the whole drop and b0 + nr above it
            prev = length * (0.5 * (yu + yv) - b0)
            for rr in range(nr - 1):
                bb = b0 + (rr + 1)
                nxt = _ppos_flat(lo, length, bb) if flat else _ppos(lo, hi, inv, length, bb)
                cell[rr * nc + (c - clo)] += sgn * (prev - nxt)
                prev = nxt
            cell[(nr - 1) * nc + (c - clo)] += sgn * prev
    for rr in range(jlo - lim[2], jhi - lim[2] + 1):
        for c in range(ilo - lim[0], ihi - lim[0] + 1):
            if fabs(cell[rr * nc + c]) > eps:
                _accumulate(P, B, lim[0] + c, lim[2] + rr, d, cell[rr * nc + c] * w, dqv)


cdef inline void _update_direct(const Params* P, Band* B, Py_ssize_t o, double d, double dow,
                                unsigned int dqv) noexcept nogil:
    """Weighted-mean update of output pixel o by one contribution (as drizzle
    does it, with float64 intermediates).  Used by the point kernel."""
    cdef double W0, Wn
    cdef int k
    if dow == 0.0:
        return
    W0 = P.out_wht[o]
    Wn = W0 + dow
    if W0 == 0.0:
        P.out_img[o] = <float>d
        for k in range(P.n2):
            if P.out2[k] != NULL:
                P.out2[k][o] = <float>(B.d2v[k] * dow * dow / (Wn * Wn))
    elif Wn != 0.0:
        P.out_img[o] = <float>((P.out_img[o] * W0 + d * dow) / Wn)
        for k in range(P.n2):
            if P.out2[k] != NULL:
                P.out2[k][o] = <float>((P.out2[k][o] * W0 * W0 + B.d2v[k] * dow * dow) / (Wn * Wn))
    P.out_wht[o] = <float>Wn
    if P.out_dq != NULL:
        P.out_dq[o] |= dqv
    if dow > 0.0 and P.out_ctx != NULL:
        P.out_ctx[o] |= P.ctx_bit


cdef inline void _turbo_small(const Params* P, Band* B, double cx, double cy,
                              const Py_ssize_t* org, Py_ssize_t ilo, Py_ssize_t ihi,
                              Py_ssize_t jlo, Py_ssize_t jhi, double d, double w) noexcept nogil:
    """Turbo kernel for a box over at most 2x2 output cells and no extra
    outputs: the same arithmetic as the general loop, in registers."""
    cdef double pfo = P.pfo
    cdef double xl = cx - pfo, xh = cx + pfo, yl = cy - pfo, yh = cy + pfo
    cdef double a, kx0, kx1 = 0.0, dy, wy
    cdef double* acc
    cdef Py_ssize_t jj
    a = <double>(ilo - org[0])
    kx0 = (xh if xh < a + 0.5 else a + 0.5) - (xl if xl > a - 0.5 else a - 0.5)
    if ihi > ilo:
        a = a + 1.0
        kx1 = (xh if xh < a + 0.5 else a + 0.5) - (xl if xl > a - 0.5 else a - 0.5)
    for jj in range(jlo, jhi + 1):
        a = <double>(jj - org[1])
        dy = (yh if yh < a + 0.5 else a + 0.5) - (yl if yl > a - 0.5 else a - 0.5)
        if dy <= 0.0:
            continue
        wy = dy * P.dover_scale * w
        acc = B.acc_d + 3 * ((jj - B.y0) * B.w + (ilo - B.x0))
        if kx0 > 0.0:
            _acc3(acc, d, kx0 * wy)
        if kx1 > 0.0:
            _acc3(acc + 3, d, kx1 * wy)


cdef void _square_segment(const Params* P, Band* B, Py_ssize_t i0, Py_ssize_t i1,
                          Py_ssize_t j) noexcept nogil:
    """Square kernel: add the parts inside band B of the input pixels
    i0..i1-1 (at most SEGLEN) of row j.

    Three stages: the footprints of all the pixels (for interior pixels with
    pixfrac <= 1, sixteen at a time: dpng_corners16, the same arithmetic as
    _corners), then the cell areas of the drops that lie within 2x2 output
    cells (the common case), four at a time (dpng_area2x2), then the
    accumulation, in input order.  A drop takes the 2x2 path whenever its
    own cell range is 2x2, whatever the clipping, so the areas never depend
    on the band or the frame."""
    cdef Py_ssize_t n = i1 - i0
    cdef int st[SEGLEN]            # 0: nothing, 1: one cell, 2: 2x2 cells, 3: more
    cdef Py_ssize_t lim[4 * SEGLEN]
    cdef Py_ssize_t clip[4 * SEGLEN]
    cdef Py_ssize_t org[2 * SEGLEN]
    cdef double dd[SEGLEN]
    cdef double ww[SEGLEN]
    cdef double JAC[SEGLEN]
    cdef double FOX[SEGLEN]
    cdef double FOY[SEGLEN]
    cdef double CX[4 * SEGLEN]
    cdef double CY[4 * SEGLEN]
    cdef double MN[4 * SEGLEN]
    cdef double XM[SEGLEN]
    cdef double B0[SEGLEN]
    cdef double B1[SEGLEN]
    cdef double C[4 * SEGLEN]
    cdef double xo[4]
    cdef double yo[4]
    cdef Py_ssize_t q, i, o, nv = 0, ilo, jlo, ii, jj, v
    cdef Py_ssize_t* L
    cdef Py_ssize_t* K
    cdef double d, w, jac, a, eps, cx, cy
    cdef double* acc
    cdef double* pc
    cdef unsigned int dqv = 0
    cdef int k
    cdef int fast = (P.dh <= 0.5 and j >= 1 and j <= P.ny - 2 and i0 >= 1
                     and i0 + SEGLEN + 1 <= P.nx)
    if fast:
        pc = P.pixmap + 2 * (j * P.nx + i0)
        dpng_corners16(pc, 2 * P.nx, FOX, FOY, P.cw[0], P.cw[1], P.cw[2], BIG,
                       <double>P.ox0, <double>P.oy0, CX, CY, JAC, MN)
    for q in range(SEGLEN):
        XM[q] = 0.0
        B0[q] = 0.0
        B1[q] = 0.0
    for q in range(n):
        st[q] = 0
        i = i0 + q
        o = j * P.nx + i
        if not _usable(P, o, &w, &d):
            continue
        L = &lim[4 * q]
        if fast:
            jac = JAC[q]
            if not (jac != 0.0 and isfinite(jac)):
                continue
            # exact integers, in the output arrays (see dpng_corners16)
            org[2 * q] = <Py_ssize_t>FOX[q]
            org[2 * q + 1] = <Py_ssize_t>FOY[q]
            L[0] = <Py_ssize_t>MN[q]
            L[1] = <Py_ssize_t>MN[SEGLEN + q]
            L[2] = <Py_ssize_t>MN[2 * SEGLEN + q]
            L[3] = <Py_ssize_t>MN[3 * SEGLEN + q]
        else:
            if _footprint(P, i, j, xo, yo, &jac, L, &org[2 * q]):
                continue
            for k in range(4):
                CX[SEGLEN * k + q] = xo[k]
                CY[SEGLEN * k + q] = yo[k]
            JAC[q] = jac
        K = &clip[4 * q]
        if not _clip_box(P, B, o, L[0], L[1], L[2], L[3], K):
            continue
        ilo = K[0]
        jlo = K[2]
        # fetch the accumulators of the first two rows ahead of stage 3 (the
        # walk crosses output rows, which hardware prefetchers miss)
        acc = B.acc_d + 3 * ((jlo - B.y0) * B.w + (ilo - B.x0))
        _prefetch_w(acc + 5, 1, 3)
        _prefetch_w(acc + 3 * B.w + 5, 1, 3)
        dd[q] = d * P.dscale
        ww[q] = w
        if L[0] == L[1] and L[2] == L[3]:
            st[q] = 1
        elif L[1] - L[0] <= 1 and L[3] - L[2] <= 1:
            st[q] = 2
            XM[q] = (L[0] - org[2 * q]) + 0.5
            B0[q] = (L[2] - org[2 * q + 1]) - 0.5
            B1[q] = (L[2] - org[2 * q + 1]) + 0.5
            nv = nv + 1
        else:
            st[q] = 3
    if nv > 0:
        if not fast:
            # lanes without a footprint: harmless values
            for q in range(n, SEGLEN):
                for k in range(4):
                    CX[SEGLEN * k + q] = 0.0
                    CY[SEGLEN * k + q] = 0.0
            for q in range(n):
                if st[q] == 0:
                    for k in range(4):
                        CX[SEGLEN * k + q] = 0.0
                        CY[SEGLEN * k + q] = 0.0
        dpng_area2x2(SEGLEN, CX, CY, XM, B0, B1, C)
    for q in range(n):
        if st[q] == 0:
            continue
        o = j * P.nx + i0 + q
        if P.extra:
            dqv = _load_extras(P, B, o)
        d = dd[q]
        jac = JAC[q]
        w = ww[q] / jac
        K = &clip[4 * q]
        L = &lim[4 * q]
        if st[q] == 1:
            # the whole drop falls inside one output pixel
            _accumulate(P, B, K[0], K[2], d, w * jac, dqv)
        elif st[q] == 2:
            eps = 1e-12 * fabs(jac)
            v = q
            ii = L[0]
            jj = L[2]
            if P.extra:
                if jj >= K[2]:
                    if ii >= K[0] and fabs(C[v]) > eps:
                        _accumulate(P, B, ii, jj, d, C[v] * w, dqv)
                    if ii + 1 <= K[1] and fabs(C[SEGLEN + v]) > eps:
                        _accumulate(P, B, ii + 1, jj, d, C[SEGLEN + v] * w, dqv)
                if jj + 1 <= K[3]:
                    if ii >= K[0] and fabs(C[2 * SEGLEN + v]) > eps:
                        _accumulate(P, B, ii, jj + 1, d, C[2 * SEGLEN + v] * w, dqv)
                    if ii + 1 <= K[1] and fabs(C[3 * SEGLEN + v]) > eps:
                        _accumulate(P, B, ii + 1, jj + 1, d, C[3 * SEGLEN + v] * w, dqv)
                continue
            if jj >= K[2]:
                acc = B.acc_d + 3 * ((jj - B.y0) * B.w + (ii - B.x0))
                if ii >= K[0] and fabs(C[v]) > eps:
                    _acc3(acc, d, C[v] * w)
                if ii + 1 <= K[1] and fabs(C[SEGLEN + v]) > eps:
                    _acc3(acc + 3, d, C[SEGLEN + v] * w)
            if jj + 1 <= K[3]:
                acc = B.acc_d + 3 * ((jj + 1 - B.y0) * B.w + (ii - B.x0))
                if ii >= K[0] and fabs(C[2 * SEGLEN + v]) > eps:
                    _acc3(acc, d, C[2 * SEGLEN + v] * w)
                if ii + 1 <= K[1] and fabs(C[3 * SEGLEN + v]) > eps:
                    _acc3(acc + 3, d, C[3 * SEGLEN + v] * w)
        else:
            for k in range(4):
                xo[k] = CX[SEGLEN * k + q]
                yo[k] = CY[SEGLEN * k + q]
            if (L[3] - L[2] + 1) * (L[1] - L[0] + 1) <= MAXCELLS:
                _square_cells(P, B, xo, yo, L, &org[2 * q],
                              K[0], K[1], K[2], K[3], d, w, jac, dqv)
            else:
                for jj in range(K[2], K[3] + 1):
                    for ii in range(K[0], K[1] + 1):
                        a = _overlap(xo, yo, ii - org[2 * q], jj - org[2 * q + 1])
                        if fabs(a) > 1e-12 * fabs(jac):
                            _accumulate(P, B, ii, jj, d, a * w, dqv)


cdef void _turbo_segment(const Params* P, Band* B, Py_ssize_t i0, Py_ssize_t i1,
                         Py_ssize_t j) noexcept nogil:
    """Turbo kernel: add the parts inside band B of the input pixels i0..i1-1
    (at most SEGLEN) of row j.  The output ranges and box overlaps of boxes
    within 2x2 output cells come from dpng_turbo16 (the same arithmetic as
    _centre_lim and the loops of _do_pixel, sixteen pixels at a time); larger
    boxes go through _do_pixel.  Pixels are accumulated in input order."""
    cdef Py_ssize_t n = i1 - i0
    cdef double pm[2 * SEGLEN]
    cdef double T[9 * SEGLEN]
    cdef Py_ssize_t q, i, o, ilo, ihi, jlo, jhi, ii, jj, l0, l2
    cdef Py_ssize_t box[4]
    cdef double d, w, dy, wy, kx
    cdef double* pc = P.pixmap + 2 * (j * P.nx + i0)
    cdef double* acc
    cdef unsigned int dqv = 0
    cdef int k
    for q in range(2 * n):
        pm[q] = pc[q]
    for q in range(2 * n, 2 * SEGLEN):
        pm[q] = 0.0
    dpng_turbo16(pm, P.pfo, BIG, <double>P.ox0, <double>P.oy0, T)
    for q in range(n):
        i = i0 + q
        o = j * P.nx + i
        if not _usable(P, o, &w, &d) or T[q] == 0.0:
            continue
        l0 = <Py_ssize_t>T[SEGLEN + q]
        ihi = <Py_ssize_t>T[2 * SEGLEN + q]
        l2 = <Py_ssize_t>T[3 * SEGLEN + q]
        jhi = <Py_ssize_t>T[4 * SEGLEN + q]
        if ihi - l0 > 1 or jhi - l2 > 1:
            _do_pixel(P, B, i, j)
            continue
        if not _clip_box(P, B, o, l0, ihi, l2, jhi, box):
            continue
        ilo, ihi, jlo, jhi = box[0], box[1], box[2], box[3]
        d = d * P.dscale
        if P.extra:
            dqv = _load_extras(P, B, o)
        for jj in range(jlo, jhi + 1):
            dy = T[(7 + jj - l2) * SEGLEN + q]
            if dy <= 0.0:
                continue
            wy = dy * P.dover_scale * w
            acc = B.acc_d + 3 * ((jj - B.y0) * B.w + (ilo - B.x0))
            for ii in range(ilo, ihi + 1):
                kx = T[(5 + ii - l0) * SEGLEN + q]
                if kx > 0.0:
                    if P.extra:
                        _accumulate(P, B, ii, jj, d, kx * wy, dqv)
                    else:
                        _acc3(acc + 3 * (ii - ilo), d, kx * wy)


cdef void _do_pixel(const Params* P, Band* B, Py_ssize_t i, Py_ssize_t j) noexcept nogil:
    """Add the part of input pixel (i, j) that falls inside band B (every
    kernel but square, see _square_segment)."""
    cdef Py_ssize_t o = j * P.nx + i
    cdef Py_ssize_t lim[4]
    cdef Py_ssize_t org[2]
    cdef double cr[2]
    cdef Py_ssize_t ilo, ihi, jlo, jhi, ii, jj
    cdef Py_ssize_t box[4]
    cdef double xo[4]
    cdef double yo[4]
    cdef double jac, d, w, dow, a, cx, cy, dx, dy, wy
    cdef double* acc
    cdef unsigned int dqv = 0
    cdef Py_ssize_t ix
    cdef Py_ssize_t gx0 = P.ox0, gy0 = P.oy0     # global = array position + origin
    cdef int k, kern = P.kernel

    if not _usable(P, o, &w, &d):
        return
    cx = P.pixmap[2 * o]
    cy = P.pixmap[2 * o + 1]
    if not (cx > -BIG and cx < BIG and cy > -BIG and cy < BIG):
        return
    xo[0] = cx
    yo[0] = cy
    _centre_lim(P, cx, cy, lim, org, cr)
    if not _clip_box(P, B, o, lim[0], lim[1], lim[2], lim[3], box):
        return
    ilo, ihi, jlo, jhi = box[0], box[1], box[2], box[3]

    d = d * P.dscale
    if P.extra:
        dqv = _load_extras(P, B, o)

    if kern == K_POINT:
        # one contribution per input pixel: update the outputs directly with
        # the weighted mean (no band accumulators, no merge pass)
        _update_direct(P, B, jlo * P.onx + ilo, d, w, dqv)
    elif kern == K_TURBO:
        # box edges relative to the integer origin org (exact offsets cr)
        cx = cr[0]
        cy = cr[1]
        if not P.extra and ihi - ilo <= 1 and jhi - jlo <= 1:
            _turbo_small(P, B, cx, cy, org, ilo, ihi, jlo, jhi, d, w)
            return
        for ii in range(ilo, ihi + 1):
            a = <double>(ii - org[0])
            dx = (cx + P.pfo if cx + P.pfo < a + 0.5 else a + 0.5) - \
                 (cx - P.pfo if cx - P.pfo > a - 0.5 else a - 0.5)
            B.kx[ii - ilo] = dx if dx > 0.0 else 0.0
        for jj in range(jlo, jhi + 1):
            a = <double>(jj - org[1])
            dy = (cy + P.pfo if cy + P.pfo < a + 0.5 else a + 0.5) - \
                 (cy - P.pfo if cy - P.pfo > a - 0.5 else a - 0.5)
            if dy <= 0.0:
                continue
            wy = dy * P.dover_scale * w
            acc = B.acc_d + 3 * ((jj - B.y0) * B.w + (ilo - B.x0))
            for ii in range(ilo, ihi + 1):
                if B.kx[ii - ilo] > 0.0:
                    if P.extra:
                        _accumulate(P, B, ii, jj, d, B.kx[ii - ilo] * wy, dqv)
                    else:
                        _acc3(acc + 3 * (ii - ilo), d, B.kx[ii - ilo] * wy)
    elif kern == K_GAUSSIAN:
        cx = xo[0]
        cy = yo[0]
        for ii in range(ilo, ihi + 1):
            dx = cx - <double>(ii + gx0)
            B.kx[ii - ilo] = exp(-dx * dx * P.gauss_efac)
        for jj in range(jlo, jhi + 1):
            dy = cy - <double>(jj + gy0)
            wy = P.gauss_es * exp(-dy * dy * P.gauss_efac) * w
            acc = B.acc_d + 3 * ((jj - B.y0) * B.w + (ilo - B.x0))
            for ii in range(ilo, ihi + 1):
                if P.extra:
                    _accumulate(P, B, ii, jj, d, B.kx[ii - ilo] * wy, dqv)
                else:
                    _acc3(acc + 3 * (ii - ilo), d, B.kx[ii - ilo] * wy)
    elif kern == K_TOPHAT:
        cx = xo[0]
        cy = yo[0]
        for jj in range(jlo, jhi + 1):
            dy = cy - <double>(jj + gy0)
            for ii in range(ilo, ihi + 1):
                dx = cx - <double>(ii + gx0)
                if dx * dx + dy * dy <= P.pfo * P.pfo:
                    _accumulate(P, B, ii, jj, d, w, dqv)
    else:  # Lanczos family: separable product of look-up values
        cx = xo[0]
        cy = yo[0]
        for ii in range(ilo, ihi + 1):
            ix = _nint(fabs(cx - <double>(ii + gx0)) * P.sdp)
            B.kx[ii - ilo] = P.lut[ix] if ix < P.nlut else 0.0
        for jj in range(jlo, jhi + 1):
            ix = _nint(fabs(cy - <double>(jj + gy0)) * P.sdp)
            if ix >= P.nlut:
                continue
            wy = P.lut[ix] * w
            acc = B.acc_d + 3 * ((jj - B.y0) * B.w + (ilo - B.x0))
            for ii in range(ilo, ihi + 1):
                if B.kx[ii - ilo] != 0.0:
                    if P.extra:
                        _accumulate(P, B, ii, jj, d, B.kx[ii - ilo] * wy, dqv)
                    else:
                        _acc3(acc + 3 * (ii - ilo), d, B.kx[ii - ilo] * wy)


cdef int _run_band(const Params* P, Py_ssize_t band, double* work,
                   Py_ssize_t kbuf) noexcept nogil:
    """Process one band of output rows with the calling thread's workspace
    ``work`` (all zeros on entry and on return: (3 + n2) * band_h * onx
    accumulators, then n2 + 1 + kbuf scratch values).  Returns 0."""
    cdef double* acc
    cdef Band B
    cdef Py_ssize_t j, jr, s, i, i0, i1, y, x, a, o, h, hw
    cdef int* sg
    cdef int* rw
    cdef double W0, Wn, W02, Wn2, ad, aw
    cdef int k
    B.y0 = band * P.band_h
    B.y1 = B.y0 + P.band_h
    if B.y1 > P.ony:
        B.y1 = P.ony
    B.x0 = P.onx
    B.x1 = -1
    for j in range(P.ymin, P.ymax + 1):
        jr = j - P.ymin
        rw = P.row + 4 * jr
        if rw[3] < B.y0 or rw[2] >= B.y1 or rw[0] > rw[1]:
            continue
        for s in range(P.nseg):
            sg = P.seg + 4 * (jr * P.nseg + s)
            if sg[3] < B.y0 or sg[2] >= B.y1 or sg[0] > sg[1]:
                continue
            if sg[0] < B.x0:
                B.x0 = sg[0]
            if sg[1] > B.x1:
                B.x1 = sg[1]
    if B.x1 < B.x0:
        return 0
    B.w = B.x1 - B.x0 + 1
    h = B.y1 - B.y0
    hw = h * B.w
    B.acc_d = work                # interleaved (sum d*dw, sum dw, ctx flag)
    B.acc_w = work + 1
    B.acc_2 = work + 3 * hw
    B.d2v = work + (3 + P.n2) * P.band_h * P.onx
    B.kx = B.d2v + P.n2 + 1
    B.ky = NULL

    for j in range(P.ymin, P.ymax + 1):
        jr = j - P.ymin
        rw = P.row + 4 * jr
        if rw[3] < B.y0 or rw[2] >= B.y1 or rw[0] > rw[1]:
            continue
        for s in range(P.nseg):
            sg = P.seg + 4 * (jr * P.nseg + s)
            if sg[3] < B.y0 or sg[2] >= B.y1 or sg[0] > sg[1]:
                continue
            i0 = P.xmin + s * SEGLEN
            i1 = i0 + SEGLEN
            if i1 > P.xmax + 1:
                i1 = P.xmax + 1
            if P.kernel == K_SQUARE:
                _square_segment(P, &B, i0, i1, j)
            elif P.kernel == K_TURBO and P.pfo < 0.25 * BIG:
                _turbo_segment(P, &B, i0, i1, j)
            else:
                for i in range(i0, i1):
                    _do_pixel(P, &B, i, j)

    if P.kernel == K_POINT:
        return 0          # the point kernel updated the outputs directly
    # merge the band sums into the outputs, clearing the workspace
    for y in range(B.y0, B.y1):
        for x in range(B.x0, B.x1 + 1):
            a = (y - B.y0) * B.w + (x - B.x0)
            acc = B.acc_d + 3 * a
            aw = acc[1]
            o = y * P.onx + x
            if acc[2] != 0.0:
                if P.out_ctx != NULL:
                    P.out_ctx[o] |= P.ctx_bit
                acc[2] = 0.0
            if aw == 0.0:
                # untouched, or weights that cancelled exactly: just clear
                if acc[0] != 0.0:
                    acc[0] = 0.0
                for k in range(P.n2):
                    if B.acc_2[k * hw + a] != 0.0:
                        B.acc_2[k * hw + a] = 0.0
                continue
            ad = acc[0]
            acc[0] = 0.0
            acc[1] = 0.0
            W0 = P.out_wht[o]
            Wn = W0 + aw
            if Wn == 0.0:
                for k in range(P.n2):
                    B.acc_2[k * hw + a] = 0.0
                continue
            Wn2 = Wn * Wn
            if W0 == 0.0:
                P.out_img[o] = <float>(ad / Wn)
                for k in range(P.n2):
                    if P.out2[k] != NULL:
                        P.out2[k][o] = <float>(B.acc_2[k * hw + a] / Wn2)
                    B.acc_2[k * hw + a] = 0.0
            else:
                W02 = W0 * W0
                P.out_img[o] = <float>((P.out_img[o] * W0 + ad) / Wn)
                for k in range(P.n2):
                    if P.out2[k] != NULL:
                        P.out2[k][o] = <float>((P.out2[k][o] * W02 + B.acc_2[k * hw + a]) / Wn2)
                    B.acc_2[k * hw + a] = 0.0
            P.out_wht[o] = <float>Wn
    return 0


cdef void _point_strip(const Params* P, double* d2v, long long* rs,
                       Py_ssize_t xlo, Py_ssize_t xhi, int first) noexcept nogil:
    """The point kernel for the output columns [xlo, xhi): every input pixel
    of the sub-region whose nearest global output column lies there updates its
    output pixel directly, in input order.  Each output pixel is owned by
    exactly one strip, so the strips can run on different threads and every
    output pixel still receives its contributions in input order: the bits
    do not depend on the number of strips.  The first strip (``first``) also
    owns the pixels whose map value is not finite, and the first and last
    strips are unbounded (xlo, xhi = -BIG - 1, BIG + 1), so that every usable
    pixel, in or out of the frame, is counted by exactly one strip.
    rs[2 * row] counts the pixels of each input row that reached the frame,
    rs[2 * row + 1] the usable ones that did not (see drizzle_kernel)."""
    cdef Py_ssize_t i, j, o, ii, jj, ox, oy
    cdef double w, d, cx, cy
    cdef long long nh, nm
    cdef unsigned int dqv = 0
    cdef int k, bad, fin
    cdef Band B
    cdef double xlo_d = <double>xlo - 1.0
    cdef double xhi_d = <double>xhi + 1.0
    cdef double fx0 = <double>P.ox0, fy0 = <double>P.oy0
    cdef Py_ssize_t ox0 = P.ox0, oy0 = P.oy0
    B.d2v = d2v
    for j in range(P.ymin, P.ymax + 1):
        nh = 0
        nm = 0
        for i in range(P.xmin, P.xmax + 1):
            o = j * P.nx + i
            cx = P.pixmap[2 * o]
            if cx < xlo_d or cx >= xhi_d:
                # far outside the strip (cheap test first; the strip's
                # exact test below uses the rounded column)
                if not first or (cx > -BIG and cx < BIG):
                    continue
            if (i & 3) == 0 and i + PFD <= P.xmax:
                # prefetch the output pixel of a pixel PFD ahead (the walk
                # crosses output rows, which hardware prefetchers miss); one
                # pixel in four is enough, a cache line holding 16 outputs
                cx = P.pixmap[2 * (o + PFD)] - fx0
                cy = P.pixmap[2 * (o + PFD) + 1] - fy0
                if cx > 0.0 and cx < P.onx - 1 and cy > 0.0 and cy < P.ony - 1:
                    ii = <Py_ssize_t>(cx + 0.5)
                    if ii + ox0 >= xlo and ii + ox0 < xhi:
                        ii = ii + <Py_ssize_t>(cy + 0.5) * P.onx
                        _prefetch_w(P.out_wht + ii, 1, 3)
                        _prefetch_w(P.out_img + ii, 1, 3)
                        if P.out_ctx != NULL:
                            _prefetch_w(P.out_ctx + ii, 1, 3)
            cx = P.pixmap[2 * o]
            cy = P.pixmap[2 * o + 1]
            fin = cx > -BIG and cx < BIG and cy > -BIG and cy < BIG
            ii = 0
            jj = 0
            if fin:
                # nearest output pixel from the exact offsets to floor()
                # (as _centre_lim); the owner of the pixel is the strip of ii
                ox = _ffloor(cx)
                ii = _ffloor((cx - ox) + 0.5) + ox
                if ii < xlo or ii >= xhi:
                    continue
                oy = _ffloor(cy)
                jj = _ffloor((cy - oy) + 0.5) + oy
            elif not first:
                continue
            if P.mask != NULL and P.mask[o] != 0:
                continue
            if P.weights != NULL:
                w = P.weights[o] * P.wtscale
            else:
                w = P.wtscale
            if w == 0.0:
                continue
            d = P.data[o]
            bad = not (fin and isfinite(w) and isfinite(d))
            for k in range(P.n2):
                if P.data2[k] != NULL and not isfinite(P.data2[k][o]):
                    bad = 1
            if bad:
                nm = nm + 1
                continue
            ii = ii - ox0        # global column (strips) to the output arrays
            jj = jj - oy0
            if ii < 0 or ii >= P.onx or jj < 0 or jj >= P.ony:
                nm = nm + 1
                continue
            nh = nh + 1
            if P.extra:
                dqv = P.dq[o] if P.dq != NULL else 0
                for k in range(P.n2):
                    d2v[k] = P.data2[k][o] * P.dscale2 if P.data2[k] != NULL else 0.0
            _update_direct(P, &B, jj * P.onx + ii, d * P.dscale, w, dqv)
        rs[2 * (j - P.ymin)] = nh
        rs[2 * (j - P.ymin) + 1] = nm


cdef void _point_run(const Params* P, long long* rs, const Py_ssize_t* cuts,
                     Py_ssize_t nstrip, Py_ssize_t nrows) noexcept nogil:
    """Run the point kernel's strips [cuts[s], cuts[s + 1]) of output
    columns, one per thread; rs holds nstrip blocks of 2 * nrows counters."""
    cdef Py_ssize_t s
    cdef double d2buf[64]
    if nstrip == 1:
        _point_strip(P, d2buf, rs, cuts[0], cuts[1], 1)
        return
    for s in prange(nstrip, num_threads=nstrip, schedule="static", chunksize=1):
        _point_strip_thread(P, rs + 2 * nrows * s, cuts[s], cuts[s + 1], s == 0)


cdef void _point_strip_thread(const Params* P, long long* rs, Py_ssize_t xlo,
                              Py_ssize_t xhi, int first) noexcept nogil:
    """_point_strip with its own data2 scratch (one per thread)."""
    cdef double d2buf[64]
    _point_strip(P, d2buf, rs, xlo, xhi, first)


def _strip_cuts(const double[:, :, ::1] pixmap, Py_ssize_t xmin, Py_ssize_t xmax,
                Py_ssize_t ymin, Py_ssize_t ymax, Py_ssize_t nstrip):
    """Output-column cuts for the point kernel's strips: quantiles of the
    mapped x of a sparse sample of the sub-region, so that the strips get
    similar numbers of input pixels.  Only the balance depends on them, never
    the result.  The outer cuts are -BIG - 1 and BIG + 1."""
    cdef Py_ssize_t s
    cuts = np.empty(nstrip + 1, dtype=np.intp)
    cuts[0] = -<Py_ssize_t>BIG - 1
    cuts[nstrip] = <Py_ssize_t>BIG + 1
    if nstrip > 1:
        ys = np.unique(np.linspace(ymin, ymax, 33).astype(np.intp))
        xs = np.unique(np.linspace(xmin, xmax, 65).astype(np.intp))
        sx = np.asarray(pixmap)[ys[:, None], xs[None, :], 0].ravel()
        sx = sx[np.isfinite(sx) & (np.abs(sx) < BIG)]
        if sx.size == 0:
            sx = np.zeros(1)
        q = np.quantile(sx, np.arange(1, nstrip) / nstrip)
        for s in range(1, nstrip):
            cuts[s] = int(np.floor(q[s - 1] + 0.5))
        cuts[1:nstrip] = np.maximum.accumulate(cuts[1:nstrip])
    return cuts


def _lanczos_lut(int order):
    """Look-up table of the 1-D Lanczos function sinc(x) sinc(x/order),
    sampled every LUT_STEP input pixels from 0 to order inclusive."""
    cdef Py_ssize_t n = <Py_ssize_t>(order / LUT_STEP + 0.5) + 2
    lut = np.zeros(n, dtype=np.float64)
    cdef double[::1] L = lut
    cdef Py_ssize_t i
    cdef double x, px, r
    L[0] = 1.0
    for i in range(1, n):
        x = i * LUT_STEP
        if x <= order:
            px = M_PI * x
            r = px / order
            L[i] = sin(px) * sin(r) / (px * r)
    return lut


def drizzle_kernel(
    const float[:, ::1] data,
    const double[:, :, ::1] pixmap,
    float[:, ::1] out_img,
    float[:, ::1] out_wht,
    weights=None,
    mask=None,
    dq=None,
    out_dq=None,
    out_ctx=None,
    int ctx_bit=0,
    data2=(),
    out_img2=(),
    *,
    int kernel=K_SQUARE,
    double pixfrac=1.0,
    double pscale_ratio=1.0,
    double dscale=1.0,
    double wtscale=1.0,
    Py_ssize_t xmin=0,
    Py_ssize_t xmax=-1,
    Py_ssize_t ymin=0,
    Py_ssize_t ymax=-1,
    Py_ssize_t band_height=64,
    int num_threads=1,
    int _phases=3,
    Py_ssize_t out_x0=0,
    Py_ssize_t out_y0=0,
):
    """Low-level drizzle of one image.  Arguments must already be validated
    (see :func:`drizzlepac_ng.drizzle_kernels.drizzle_add`): C-contiguous
    arrays of the right dtypes and shapes, 0 <= xmin <= xmax < nx, etc.
    The output arrays hold the global output pixels starting at
    (out_x0, out_y0); the pixel map is global.

    Returns ``(nmiss, nskip)``: pixels of the sub-region that are neither
    excluded on purpose (masked, zero weight) nor reached the output frame
    (usable = finite data, weight, data2 and map), and rows of the
    sub-region with no pixel reaching the frame.
    """
    cdef Params P
    cdef const float[:, ::1] wv
    cdef const unsigned char[:, ::1] mv
    cdef const unsigned int[:, ::1] dqv
    cdef unsigned int[:, ::1] odqv
    cdef int[:, ::1] ctxv
    cdef const float[:, ::1] tmp_in
    cdef float[:, ::1] tmp_out
    cdef double[::1] lutv
    cdef Py_ssize_t k, nb, j, b, kbuf
    cdef int n2 = len(data2)

    P.ny = data.shape[0]
    P.nx = data.shape[1]
    P.ony = out_img.shape[0]
    P.onx = out_img.shape[1]
    P.ox0 = out_x0
    P.oy0 = out_y0
    P.data = <float*>&data[0, 0]
    P.pixmap = <double*>&pixmap[0, 0, 0]
    P.out_img = &out_img[0, 0]
    P.out_wht = &out_wht[0, 0]
    P.weights = NULL
    P.mask = NULL
    P.dq = NULL
    P.out_dq = NULL
    P.out_ctx = NULL
    P.ctx_bit = ctx_bit
    if weights is not None:
        wv = weights
        P.weights = <float*>&wv[0, 0]
    if mask is not None:
        mv = mask
        P.mask = <unsigned char*>&mv[0, 0]
    if dq is not None and out_dq is not None:
        dqv = dq
        odqv = out_dq
        P.dq = <unsigned int*>&dqv[0, 0]
        P.out_dq = &odqv[0, 0]
    if out_ctx is not None:
        ctxv = out_ctx
        P.out_ctx = &ctxv[0, 0]

    P.kernel = kernel
    P.pixfrac = pixfrac
    P.pscale = pscale_ratio
    P.dscale = dscale
    P.dscale2 = dscale * dscale
    P.wtscale = wtscale
    P.dh = 0.5 * pixfrac
    P.cw[0] = (1.0 - P.dh) * (1.0 - P.dh)
    P.cw[1] = P.dh * (1.0 - P.dh)
    P.cw[2] = P.dh * P.dh
    P.pfo = 0.0
    P.dover_scale = 1.0
    P.gauss_efac = 0.0
    P.gauss_es = 0.0
    P.lut = NULL
    P.nlut = 0
    P.sdp = 0.0
    lut = None
    if kernel == K_TURBO or kernel == K_TOPHAT:
        P.pfo = pixfrac / pscale_ratio / 2.0
        P.dover_scale = pscale_ratio * pscale_ratio / (pixfrac * pixfrac)
    elif kernel == K_GAUSSIAN:
        P.pfo = 2.5 * pixfrac / 2.3548 / pscale_ratio
        if P.pfo < 1.2 / pscale_ratio:
            P.pfo = 1.2 / pscale_ratio
        P.gauss_efac = 2.3548 * 2.3548 * pscale_ratio * pscale_ratio / (pixfrac * pixfrac) / 2.0
        P.gauss_es = P.gauss_efac / M_PI
    elif kernel == K_LANCZOS2 or kernel == K_LANCZOS3 or kernel == K_LANCZOS5:
        order = 2 if kernel == K_LANCZOS2 else (3 if kernel == K_LANCZOS3 else 5)
        lut = _lanczos_lut(order)
        lutv = lut
        P.lut = &lutv[0]
        P.nlut = lutv.shape[0]
        P.pfo = order / pscale_ratio
        P.sdp = pscale_ratio / LUT_STEP
    elif kernel == K_POINT:
        P.pfo = 0.0
    kbuf = 2 * (<Py_ssize_t>(P.pfo + 2.0)) + 4
    if kbuf > out_img.shape[1] + 4:
        kbuf = out_img.shape[1] + 4

    # data2 / out_img2 pointer tables
    P.n2 = n2
    P.data2 = NULL
    P.out2 = NULL
    keep = []
    if n2 > 0:
        P.data2 = <float**>malloc(n2 * sizeof(float*))
        P.out2 = <float**>malloc(n2 * sizeof(float*))
        if P.data2 == NULL or P.out2 == NULL:
            free(P.data2)
            free(P.out2)
            raise MemoryError("cannot allocate the data2 pointer table")
        for k in range(n2):
            P.data2[k] = NULL
            P.out2[k] = NULL
            if data2[k] is not None:
                tmp_in = data2[k]
                keep.append(data2[k])
                P.data2[k] = <float*>&tmp_in[0, 0]
            if out_img2[k] is not None:
                tmp_out = out_img2[k]
                keep.append(out_img2[k])
                P.out2[k] = &tmp_out[0, 0]

    P.extra = 1 if (n2 > 0 or P.out_dq != NULL) else 0
    P.xmin = xmin
    P.xmax = xmax if xmax >= 0 else P.nx - 1
    P.ymin = ymin
    P.ymax = ymax if ymax >= 0 else P.ny - 1
    P.nseg = (P.xmax - P.xmin + SEGLEN) // SEGLEN
    P.band_h = band_height if band_height > 0 else 64
    nrows = P.ymax - P.ymin + 1
    cdef long long[:, ::1] rs
    cdef long long[:, :, ::1] rs3
    cdef Py_ssize_t[::1] cutv
    cdef Py_ssize_t nstrip, nrw
    if kernel == K_POINT and _phases == 3 and n2 <= 64 and num_threads <= MAXSTRIPS:
        # strips of output columns, one per thread: no pre-pass, bands or hit
        # map.  Every strip reads the whole pixel map, so with many threads
        # the bands (which split the reading too) scale better.
        nstrip = num_threads if num_threads > 1 else 1
        cuts = _strip_cuts(pixmap, P.xmin, P.xmax, P.ymin, P.ymax, nstrip)
        cutv = cuts
        rowstat3 = np.zeros((nstrip, nrows, 2), dtype=np.int64)
        rs3 = rowstat3
        nrw = nrows
        try:
            with nogil:
                _point_run(&P, &rs3[0, 0, 0], &cutv[0], nstrip, nrw)
        finally:
            free(P.data2)
            free(P.out2)
        rowstat = rowstat3.sum(axis=0)
        return int(rowstat[:, 1].sum()), int(np.count_nonzero(rowstat[:, 0] == 0))
    hit = np.zeros((P.ny, P.nx), dtype=np.uint8)
    cdef unsigned char[:, ::1] hv = hit
    P.hit = &hv[0, 0]
    seg = np.empty(4 * nrows * P.nseg, dtype=np.intc)
    row = np.empty(4 * nrows, dtype=np.intc)
    cdef int[::1] segv = seg
    cdef int[::1] rowv = row
    P.seg = &segv[0]
    P.row = &rowv[0]
    nb = (P.ony + P.band_h - 1) // P.band_h
    cdef Py_ssize_t wsize = (3 + n2) * P.band_h * P.onx + n2 + 1 + kbuf
    cdef Py_ssize_t nthr = num_threads if num_threads < nb else nb
    if nthr < 1:
        nthr = 1
    try:
        work = np.zeros((nthr, wsize), dtype=np.float64)
    except MemoryError:
        free(P.data2)
        free(P.out2)
        raise MemoryError(
            f"cannot allocate {nthr * wsize * 8 / 1e6:.0f} MB of drizzle accumulators "
            f"({nthr} threads x {P.band_h} rows x {P.onx} columns)") from None
    cdef double[:, ::1] workv = work
    try:
        with nogil:
            if _phases & 1:
                for j in prange(P.ymin, P.ymax + 1, num_threads=num_threads, schedule="static"):
                    _prepass_row(&P, j)
            if _phases & 2:
                for b in prange(nb, num_threads=nthr, schedule="dynamic", chunksize=1):
                    _run_band(&P, b, &workv[threadid(), 0], kbuf)
    finally:
        free(P.data2)
        free(P.out2)
    # count, per input row (one writer per row, so deterministic)
    rowstat = np.zeros((nrows, 2), dtype=np.int64)
    rs = rowstat
    cdef Py_ssize_t i, o
    cdef long long nh, nmiss_row
    with nogil:
        for j in prange(P.ymin, P.ymax + 1, num_threads=num_threads, schedule="static"):
            nh = 0
            nmiss_row = 0
            for i in range(P.xmin, P.xmax + 1):
                o = j * P.nx + i
                if P.hit[o]:
                    nh = nh + 1
                elif not _excluded(&P, o):
                    nmiss_row = nmiss_row + 1
            rs[j - P.ymin, 0] = nh
            rs[j - P.ymin, 1] = nmiss_row
    return int(rowstat[:, 1].sum()), int(np.count_nonzero(rowstat[:, 0] == 0))
