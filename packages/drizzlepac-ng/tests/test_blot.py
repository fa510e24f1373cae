"""Blot interpolants: definitions, edges, fill, scaling, threads and bad input."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal

from drizzlepac_ng.blot import BLOT_INTERPOLANTS, BlotSource, blot_image
from drizzlepac_ng.errors import KernelArgumentError

ALL = ["nearest", "linear", "poly3", "poly5", "spline3", "sinc", "lsinc", "lanczos3", "lanczos5"]


def affine_pixmap(out_shape, a=1.0, b=0.0, c=0.0, d=1.0, dx=0.0, dy=0.0):
    y, x = np.indices(out_shape, dtype=np.float64)
    return np.dstack([a * x + b * y + dx, c * x + d * y + dy])


def smooth_image(shape=(60, 70)):
    y, x = np.indices(shape, dtype=np.float64)
    return (5.0 + np.sin(x / 9.0) * np.cos(y / 11.0) + 0.01 * x).astype(np.float32)


@pytest.mark.parametrize("interp", ALL)
def test_identity_map_reproduces_image(interp):
    img = np.random.default_rng(1).normal(size=(30, 40)).astype(np.float32)
    out = blot_image(img, affine_pixmap(img.shape), interp=interp, num_threads=1)
    # at integer positions every interpolant returns the pixel itself, except
    # spline3 (float32 coefficients) and lanczos: its table is indexed by
    # truncation, so the weight at distance 1 is the kernel at 0.999, not 0
    # (as in drizzle 3.0, which these kernels match)
    atol = {"spline3": 1e-5, "lanczos3": 0.02, "lanczos5": 0.02}.get(interp, 0.0)
    assert_allclose(out, img, atol=atol, rtol=0)


@pytest.mark.parametrize("interp", ["linear", "poly3", "poly5", "spline3"])
def test_plane_reproduced_everywhere_including_edges(interp):
    # point reflection at the edges keeps linear trends: a plane is exact up
    # to the last pixel (drizzle 3.0.0's poly5 is not, near the top rows)
    y, x = np.indices((40, 50), dtype=np.float64)
    img = (3.0 + 0.5 * x + 0.25 * y).astype(np.float32)
    pm = affine_pixmap((45, 55), 0.9, 0.0, 0.0, 0.88, 0.1, 0.2)
    out = blot_image(img, pm, interp=interp, fillval=np.nan)
    truth = 3.0 + 0.5 * pm[..., 0] + 0.25 * pm[..., 1]
    inside = (pm[..., 0] < 50) & (pm[..., 1] < 40)
    assert np.isnan(out[~inside]).all()
    tol = 2e-5
    if interp == "spline3":
        # mirror boundaries bend a ramp at the edge; the effect decays as
        # 0.27**distance, so only the interior is linear-exact
        tol = 2e-4
        inside &= (pm[..., 0] < 43) & (pm[..., 1] < 33) & (pm[..., 0] > 6) & (pm[..., 1] > 6)
    assert np.abs(out[inside] - truth[inside]).max() < tol


@pytest.mark.parametrize("interp, deg", [("poly3", 3), ("poly5", 5)])
def test_polynomial_interpolants_exact_on_polynomials(interp, deg):
    # the interior Everett interpolants reproduce polynomials of their degree
    y, x = np.indices((30, 30), dtype=np.float64)
    u, v = x / 10.0, y / 10.0
    img = 1.0 + u**deg - 0.5 * v**deg + u * v
    pm = affine_pixmap((12, 12), 1.0, 0.0, 0.0, 1.0, 8.37, 9.61)
    out = blot_image(img.astype(np.float32), pm, interp=interp)
    pu, pv = pm[..., 0] / 10.0, pm[..., 1] / 10.0
    truth = 1.0 + pu**deg - 0.5 * pv**deg + pu * pv
    assert_allclose(out, truth, rtol=2e-5)


def test_nearest_clamps_last_half_pixel():
    img = np.arange(12, dtype=np.float32).reshape(3, 4)
    pm = np.array([[[3.7, 2.6], [0.49, 0.51], [2.5, 1.2]]])
    out = blot_image(img, pm, interp="nearest")
    assert_array_equal(out, [[img[2, 3], img[1, 0], img[1, 3]]])


def test_linear_last_row_and_column_one_direction():
    img = np.arange(12, dtype=np.float32).reshape(3, 4)
    pm = np.array([[[3.5, 1.5], [1.5, 2.25], [3.2, 2.9]]])
    out = blot_image(img, pm, interp="linear")
    assert_allclose(out[0], [img[1, 3] * 0.5 + img[2, 3] * 0.5,
                             img[2, 1] * 0.5 + img[2, 2] * 0.5, img[2, 3]])


def test_spline3_matches_scipy_map_coordinates():
    from scipy.ndimage import map_coordinates

    img = smooth_image()
    pm = affine_pixmap((40, 50), 1.1, 0.05, -0.04, 1.05, 3.3, 2.7)
    out = blot_image(img, pm, interp="spline3")
    ref = map_coordinates(img.astype(np.float64), [pm[..., 1], pm[..., 0]], order=3,
                          mode="mirror")
    assert_allclose(out, ref, atol=2e-5)


@pytest.mark.parametrize("interp", ["sinc", "lanczos3", "lanczos5", "poly5"])
def test_band_limited_signal(interp):
    # a well-sampled sinusoid is recovered closely at fractional positions
    y, x = np.indices((64, 64), dtype=np.float64)
    img = np.cos(2 * np.pi * x / 10.0) * np.cos(2 * np.pi * y / 13.0)
    pm = affine_pixmap((20, 20), 1.0, 0.0, 0.0, 1.0, 20.3, 22.6)
    out = blot_image(img.astype(np.float32), pm, interp=interp)
    truth = np.cos(2 * np.pi * pm[..., 0] / 10.0) * np.cos(2 * np.pi * pm[..., 1] / 13.0)
    assert np.abs(out - truth).max() < 0.05


def test_sinc_constant_image_and_sinscl():
    img = np.full((30, 30), 7.0, dtype=np.float32)
    pm = affine_pixmap((10, 10), 1.0, 0.0, 0.0, 1.0, 0.31, 0.72)  # includes the edges
    for sinscl in (0.5, 1.0, 2.0):
        assert_allclose(blot_image(img, pm, interp="sinc", sinscl=sinscl), 7.0, rtol=1e-6)
    spike = np.zeros((31, 31), np.float32)
    spike[15, 15] = 1.0
    pm = affine_pixmap((1, 1), dx=15.4, dy=15.0)
    wide = blot_image(spike, pm, interp="sinc", sinscl=0.5)
    narrow = blot_image(spike, pm, interp="sinc", sinscl=1.0)
    assert wide[0, 0] != narrow[0, 0]
    assert_array_equal(blot_image(spike, pm, interp="lsinc", sinscl=0.5), wide)


def test_sinc_continuous_across_the_last_half_pixel():
    # positions just below and above x = nx - 0.5 use different centre pixels
    # but must give (nearly) the same value
    img = smooth_image((40, 40))
    pm = np.array([[[39.4999, 20.3], [39.5001, 20.3]]])
    out = blot_image(img, pm, interp="sinc")
    assert abs(out[0, 0] - out[0, 1]) < 1e-3


def test_out_of_bounds_and_nan_get_fillval():
    img = smooth_image((20, 20))
    pm = affine_pixmap((5, 5), dx=0.5, dy=0.5)
    pm[0, 0] = (-0.01, 3.0)
    pm[0, 1] = (3.0, 20.0)
    pm[0, 2] = (np.nan, 3.0)
    pm[0, 3] = (3.0, np.inf)
    pm[0, 4] = (1e300, -1e300)
    for interp in ALL:
        out = blot_image(img, pm, interp=interp, fillval=-7.5)
        assert_array_equal(out[0], -7.5)
        assert (out[1:] != -7.5).all()


def test_iscale_and_deprecated_arguments():
    img = smooth_image()
    pm = affine_pixmap((10, 12), dx=3.3, dy=4.4)
    base = blot_image(img, pm)
    assert_allclose(blot_image(img, pm, iscale=2.5), np.float32(2.5) * base, rtol=1e-6)
    with pytest.warns(DeprecationWarning, match="pix_ratio"):
        r = blot_image(img, pm, pix_ratio=2.0)
    assert_allclose(r, base / 4.0, rtol=1e-6)
    with pytest.warns(DeprecationWarning, match="exptime"):
        r = blot_image(img, pm, exptime=3.0)
    assert_allclose(r, base * 3.0, rtol=1e-6)
    with pytest.warns(DeprecationWarning, match="output_pixel_shape"):
        blot_image(img, pm, output_pixel_shape=(12, 10))
    with pytest.warns(DeprecationWarning), pytest.raises(KernelArgumentError, match="match"):
        blot_image(img, pm, output_pixel_shape=(10, 12))


def test_aliases_and_case():
    img = smooth_image()
    pm = affine_pixmap((8, 8), dx=5.2, dy=6.1)
    assert_array_equal(blot_image(img, pm, interp="lan3"), blot_image(img, pm, interp="LANCZOS3"))
    assert_array_equal(blot_image(img, pm, interp="lan5"), blot_image(img, pm, interp="lanczos5"))
    assert set(ALL) <= set(BLOT_INTERPOLANTS)


def test_out_img_is_filled_in_place():
    img = smooth_image()
    pm = affine_pixmap((8, 9), dx=1.5, dy=2.5)
    out = np.zeros((8, 9), np.float32)
    res = blot_image(img, pm, out)
    assert res is out
    assert_array_equal(out, blot_image(img, pm))


@pytest.mark.parametrize("interp", ALL)
@pytest.mark.parametrize("n", [2, 4])
def test_threads_bit_identical(interp, n):
    img = np.random.default_rng(3).normal(size=(80, 90)).astype(np.float32)
    pm = affine_pixmap((97, 101), 0.87, 0.03, -0.02, 0.91, -2.0, -1.5)
    pm[5, 7] = np.nan
    one = blot_image(img, pm, interp=interp, num_threads=1)
    assert_array_equal(blot_image(img, pm, interp=interp, num_threads=n), one)


def test_out_img_may_be_the_input_array():
    img = smooth_image((30, 30))
    pm = affine_pixmap((30, 30), 0.9, 0.1, -0.1, 0.9, 2.0, 1.0)
    ref = blot_image(img, pm, num_threads=1)
    same = img.copy()
    out = blot_image(same, pm, out_img=same, num_threads=2)
    assert out is same
    assert_array_equal(out, ref)


def test_input_types_converted():
    img64 = smooth_image().astype(np.float64)
    pm = affine_pixmap((6, 6), dx=2.2, dy=3.3)
    ref = blot_image(img64.astype(np.float32), pm)
    assert_array_equal(blot_image(img64, pm.astype(np.float32).astype(np.float64)), ref)
    assert_array_equal(blot_image(img64.tolist(), pm), ref)
    ints = np.arange(100, dtype=np.int16).reshape(10, 10)
    assert blot_image(ints, affine_pixmap((3, 3))).dtype == np.float32
    # non-contiguous views are fine
    assert_array_equal(blot_image(img64[::-1][::-1], pm[:, :, :]), ref)


def test_values_beyond_float32_become_infinite():
    img = np.array([[1e300, 1.0], [1.0, -1e300]])
    pm = np.array([[[0.0, 0.0], [1.0, 1.0], [1.0, 0.0]]])
    for interp in ("nearest", "spline3"):
        out = blot_image(img, pm, interp=interp)
        assert out.shape == (1, 3)
    assert_array_equal(blot_image(img, pm, interp="nearest"), [[np.inf, -np.inf, 1.0]])


def test_tiny_images_never_crash():
    for shape in [(1, 1), (1, 5), (5, 1), (2, 2), (3, 3)]:
        img = np.arange(np.prod(shape), dtype=np.float32).reshape(shape) + 1.0
        pm = affine_pixmap((4, 4), 0.3, 0.0, 0.0, 0.3)
        for interp in ALL:
            out = blot_image(img, pm, interp=interp)
            assert np.isfinite(out).all()


def test_empty_pixmap_gives_empty_output():
    out = blot_image(smooth_image(), np.zeros((0, 5, 2)))
    assert out.shape == (0, 5) and out.dtype == np.float32


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(data=np.zeros((0, 4))), "data is empty"),
        (dict(data=np.zeros((4,))), "data must be 2-D"),
        (dict(data=np.zeros((3, 4), complex)), "data must hold real numbers"),
        (dict(data=np.array([["a", "b"]])), "data must hold real numbers"),
        (dict(data=[[1.0, 2.0], [3.0]]), "data"),
        (dict(pixmap=np.zeros((3, 3))), "pixmap must be 3-D"),
        (dict(pixmap=np.zeros((3, 3, 3))), r"pixmap must have shape \(ny, nx, 2\)"),
        (dict(pixmap=np.zeros((3, 3, 2), object)), "pixmap must hold real numbers"),
        (dict(out_img=np.zeros((3, 3), np.float64)), "out_img must be float32"),
        (dict(out_img=np.zeros((4, 3), np.float32)), "out_img shape"),
        (dict(out_img=np.zeros((3, 6), np.float32)[:, ::2]), "C-contiguous"),
        (dict(out_img=[[0.0]]), "numpy array"),
        (dict(interp="cubic"), "unknown interp"),
        (dict(interp=3), "interp must be a string"),
        (dict(iscale=np.inf), "iscale must be finite"),
        (dict(iscale="x"), "iscale must be a number"),
        (dict(fillval=None), "fillval must be a number"),
        (dict(fillval=1e300), "fillval .* float32"),
        (dict(iscale=-1e40), "iscale .* float32"),
        (dict(sinscl=0.0), "sinscl"),
        (dict(num_threads=0), "num_threads"),
    ],
)
def test_bad_input_clear_errors(kwargs, match):
    args = dict(data=np.ones((5, 5), np.float32), pixmap=np.zeros((3, 3, 2)))
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        blot_image(**args)


def test_bad_input_errors_are_kernel_argument_errors():
    with pytest.raises(KernelArgumentError):
        blot_image(np.ones((3, 3)), np.zeros((2, 2, 3)))


# --- property-based fuzzing of the Python entry point -----------------------------------


_dims = st.integers(0, 6)
_dtypes = st.sampled_from([np.float32, np.float64, np.int32, np.uint8, np.bool_, np.complex64])
_floats = st.floats(allow_nan=True, allow_infinity=True, width=64)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=hnp.arrays(_dtypes, st.tuples(_dims, _dims), elements=None),
    pm_shape=st.tuples(_dims, _dims, st.integers(1, 3)),
    pm_values=st.lists(_floats, min_size=0, max_size=200),
    interp=st.sampled_from(ALL + ["bogus"]),
    fillval=_floats,
)
def test_fuzz_blot_never_crashes(data, pm_shape, pm_values, interp, fillval):
    n = int(np.prod(pm_shape))
    vals = np.resize(np.array(pm_values or [0.0], dtype=np.float64), n).reshape(pm_shape)
    try:
        out = blot_image(data, vals, interp=interp, fillval=fillval, num_threads=2)
    except KernelArgumentError:
        return
    assert out.shape == pm_shape[:2]
    assert out.dtype == np.float32


@pytest.mark.parametrize("interp", ALL)
@pytest.mark.parametrize("shape", [(5, 5), (6, 9), (61, 47)])
def test_blot_source_gives_bit_identical_values(interp, shape):
    # BlotSource prepares the image once (poly5: a table of row differences);
    # the values must not change anywhere, edges, huge values and NaN maps included
    rng = np.random.default_rng(11)
    img = (rng.normal(size=shape) * 100).astype(np.float32)
    img[rng.random(shape) < 0.02] = 3e38
    pm = np.dstack([rng.uniform(-1.5, shape[1] + 0.5, (40, 30)),
                    rng.uniform(-1.5, shape[0] + 0.5, (40, 30))])
    pm[3, 4] = np.nan
    with np.errstate(over="ignore", invalid="ignore"):
        plain = blot_image(img, pm, interp=interp, iscale=1.3, num_threads=1)
        src = BlotSource(img, interp, num_threads=1)
        for n in (1, 3):
            prepared = blot_image(src, pm, interp=interp, iscale=1.3, num_threads=n)
            assert_array_equal(prepared, plain)


def test_blot_source_interp_must_match():
    src = BlotSource(smooth_image(), "poly5")
    with pytest.raises(KernelArgumentError, match="prepared for interp='poly5'"):
        blot_image(src, affine_pixmap((5, 5)), interp="linear")
    with pytest.raises(KernelArgumentError, match="empty"):
        BlotSource(np.zeros((0, 3), np.float32))
