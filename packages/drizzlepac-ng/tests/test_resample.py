"""drizzlepac_ng.resample: the drizzle-3.0-compatible Drizzle API.

Semantics of the class (fill values, exposure bookkeeping, context planes past
32 inputs, data2 lists, DQ), decode_context, and bad input fuzzed with
hypothesis (clear errors, never a crash).
"""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from drizzlepac_ng import resample
from drizzlepac_ng.errors import DrizzlepacError
from drizzlepac_ng.resample import SUPPORTED_KERNELS, Drizzle, decode_context


def ident(ny, nx, dx=0.0, dy=0.0):
    y, x = np.indices((ny, nx), dtype=np.float64)
    return np.dstack([x + dx, y + dy])


def test_public_names():
    for name in (
        "Drizzle",
        "blot_image",
        "calc_pixmap",
        "decode_context",
        "estimate_pixel_scale_ratio",
        "SUPPORTED_KERNELS",
    ):
        assert hasattr(resample, name)
    assert {"square", "point", "turbo", "gaussian", "lanczos2", "lanczos3"} <= set(
        SUPPORTED_KERNELS
    )
    assert {"lanczos5", "tophat"} <= set(SUPPORTED_KERNELS)


def test_defaults_and_properties():
    d = Drizzle(out_shape=(4, 5))
    assert d.kernel == "square" and d.fillval == "NaN" and d.ctx_id == 0
    assert d.out_img.dtype == np.float32 and np.isnan(d.out_img).all()
    assert d.out_ctx.shape == (1, 4, 5) and d.out_ctx.dtype == np.int32
    assert d.out_img2 is None and d.out_dq is None and d.total_exptime == 0.0
    data = np.ones((4, 5), np.float32)
    assert d.add_image(data, 2.0, ident(4, 5)) == (0, 0)
    assert d.total_exptime == 2.0 and d.ctx_id == 1
    assert_array_equal(d.out_img, 1.0)
    assert_array_equal(d.out_ctx[0], 1)


def test_fillval_semantics():
    data = np.ones((3, 3), np.float32)
    pm = ident(3, 3, 2, 2)
    d = Drizzle(out_shape=(5, 5), fillval=-1)
    d.add_image(data, 1.0, pm)
    assert d.out_img[0, 0] == -1 and d.out_img[4, 4] == 1
    prior = np.full((5, 5), 9.0, np.float32)
    d = Drizzle(out_img=prior, fillval="INDEF")
    d.add_image(data, 1.0, pm)
    assert d.out_img is prior  # updated in place
    assert prior[0, 0] == 9.0 and prior[4, 4] == 1.0
    d = Drizzle(out_shape=(5, 5))
    d.add_image(data, 1.0, pm)
    assert np.isnan(d.out_img[0, 0])


def test_in_units_counts_and_iscale():
    data = np.full((3, 3), 50.0, np.float32)
    d = Drizzle(out_shape=(3, 3))
    d.add_image(data, 10.0, ident(3, 3), in_units="counts", iscale=2.0)
    assert_allclose(d.out_img, 10.0)


def test_context_grows_past_32_inputs_and_decodes():
    d = Drizzle(out_shape=(2, 3))
    data = np.ones((2, 3), np.float32)
    for k in range(70):
        pm = ident(2, 3)
        if k % 2:
            pm[..., 0] += 10  # odd inputs miss the frame entirely
        d.add_image(data, 1.0, pm)
    assert d.out_ctx.shape == (3, 2, 3)
    got = decode_context(d.out_ctx, [0, 2], [0, 1])
    assert [g.tolist() for g in got] == [list(range(0, 70, 2))] * 2
    assert d.ctx_id == 70


def test_begin_and_max_ctx_id():
    d = Drizzle(out_shape=(2, 2), begin_ctx_id=40, max_ctx_id=100)
    assert d.out_ctx.shape == (4, 2, 2)
    d.add_image(np.ones((2, 2)), 1.0, ident(2, 2))
    assert d.out_ctx[1, 0, 0] == 1 << 8
    assert decode_context(d.out_ctx, 1, 1)[0].tolist() == [40]


def test_bit_31_is_negative_int32_and_decodes():
    d = Drizzle(out_shape=(2, 2), begin_ctx_id=31)
    d.add_image(np.ones((2, 2)), 1.0, ident(2, 2))
    assert d.out_ctx[0, 0, 0] == np.int32(-(2**31))
    assert decode_context(d.out_ctx, 0, 0)[0].tolist() == [31]


def test_disable_ctx():
    d = Drizzle(out_shape=(2, 2), disable_ctx=True)
    d.add_image(np.ones((2, 2)), 1.0, ident(2, 2))
    assert d.out_ctx is None and d.ctx_id is None


def test_data2_list_and_dq():
    d = Drizzle(out_shape=(4, 4))
    data = np.ones((4, 4), np.float32)
    var = np.full((4, 4), 4.0, np.float32)
    dq = np.full((4, 4), 3, np.uint16)
    d.add_image(data, 1.0, ident(4, 4), data2=[var, None], dq=dq)
    d.add_image(data, 1.0, ident(4, 4), data2=[var, var], dq=dq * 4)
    assert len(d.out_img2) == 2
    assert_allclose(d.out_img2[0], (4 + 4) / 4)
    assert_allclose(d.out_img2[1], (0 + 4) / 4)
    assert_array_equal(d.out_dq, 15)
    with pytest.raises(ValueError, match="mismatch"):
        d.add_image(data, 1.0, ident(4, 4), data2=[var])


def test_out_shape_from_pixmap_is_ny_nx():
    data = np.ones((3, 8), np.float32)
    d = Drizzle()
    d.add_image(data, 1.0, ident(3, 8, 100.0, 50.0))
    assert d.out_img.shape == (3, 8)
    assert_array_equal(d.out_img, 1.0)


def test_failed_add_image_leaves_object_unchanged():
    d = Drizzle(out_shape=(3, 3))
    with pytest.raises(ValueError, match="exptime"):
        d.add_image(np.ones((3, 3)), 0.0, ident(3, 3))
    with pytest.raises(ValueError, match="weight_map"):
        d.add_image(np.ones((3, 3)), 1.0, ident(3, 3), weight_map=np.ones((2, 2)))
    assert d.ctx_id == 0 and d.total_exptime == 0.0 and not d.out_ctx.any()


def test_deprecated_scale_argument():
    d = Drizzle(out_shape=(3, 3))
    with pytest.warns(DeprecationWarning, match="scale"):
        d.add_image(np.ones((3, 3)), 1.0, ident(3, 3), scale=2.0)
    assert_allclose(d.out_img, 4.0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(kernel="bogus"), "not supported"),
        (dict(begin_ctx_id=-1), "begin_ctx_id"),
        (dict(begin_ctx_id=5, max_ctx_id=2), "max_ctx_id"),
        (dict(exptime=-1.0), "non-negative"),
        (dict(exptime=1.0), "exposure time must be 0"),
        (dict(out_shape=(3, 3), out_img=np.zeros((2, 2))), "inconsistent shapes"),
        (dict(out_wht=np.ones((2, 2))), "exptime cannot be 0"),
        (dict(out_dq=np.zeros((2, 2), np.float32)), "out_dq"),
        (dict(out_ctx=np.zeros((2, 2, 2, 2), np.int32)), "out_ctx"),
        (dict(fillval="abc"), "fill value"),
    ],
)
def test_constructor_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Drizzle(**kwargs)


def test_inconsistent_weight_and_context_rejected():
    wht = np.ones((2, 2), np.float32)
    ctx = np.zeros((2, 2), np.int32)
    with pytest.raises(ValueError, match="out_ctx"):
        Drizzle(out_wht=wht, out_ctx=ctx, exptime=1.0)


def test_decode_context_errors():
    ctx = np.zeros((1, 3, 3), np.int32)
    for args, match in [
        ((np.zeros((3, 3), np.int32), 0, 0), "3-D"),
        ((ctx, [0, 1], [0]), "equal length"),
        ((ctx, 0.5, 0), "integer"),
        ((ctx, 3, 0), "outside"),
        ((ctx.astype(float), 0, 0), "integer array"),
    ]:
        with pytest.raises(ValueError, match=match):
            decode_context(*args)


@pytest.mark.parametrize("kernel", SUPPORTED_KERNELS)
def test_threads_bit_identical_through_class(kernel):
    rng = np.random.default_rng(0)
    data = rng.normal(5, 1, (60, 50)).astype(np.float32)
    y, x = np.indices(data.shape, dtype=float)
    pm = np.dstack([0.9 * x + 0.2 * y + 3, -0.2 * x + 0.9 * y + 15])
    outs = []
    for nt in (1, 2, 4):
        d = Drizzle(kernel=kernel, out_shape=(80, 70), num_threads=nt)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            d.add_image(data, 1.0, pm, data2=data**2, pixel_scale_ratio=None, pixfrac=0.9)
            d.add_image(data[::-1], 1.0, pm, pixfrac=0.9, data2=data)
        outs.append((d.out_img, d.out_wht, d.out_ctx, d.out_img2[0]))
    for o in outs[1:]:
        for a, b in zip(outs[0], o, strict=False):
            assert_array_equal(a, b)


# ------------------------------------------------------------------ fuzzing
_arrays = st.one_of(
    st.none(),
    st.just(np.zeros((0, 3))),
    st.just(np.zeros((4,))),
    st.just(np.ones((4, 5), np.float32)),
    st.just(np.ones((5, 4), np.float32)),
    st.just(np.ones((4, 5), complex)),
    st.just(np.array([["a"] * 5] * 4)),
    st.just(np.full((4, 5), np.nan)),
    st.just(np.full((4, 5, 2), np.nan)),
    st.just(np.ones((4, 5, 2))),
    st.just(np.ones((4, 5, 3))),
    st.just([[1, 2], [3]]),
    st.just("text"),
    st.just(np.ones((4, 5), np.int64)),
)
_scalars = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-5, 5),
    st.just("x"),
    st.just([1.0]),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=_arrays,
    pixmap=_arrays,
    weight=_arrays,
    dq=_arrays,
    data2=_arrays,
    exptime=_scalars,
    pixfrac=_scalars,
    iscale=_scalars,
    psr=_scalars,
    kernel=st.sampled_from(SUPPORTED_KERNELS + ["nope", 3]),
    lims=st.tuples(_scalars, _scalars, _scalars, _scalars),
    units=st.sampled_from(["cps", "counts", "bad"]),
)
def test_fuzz_add_image_raises_clean_errors(
    data, pixmap, weight, dq, data2, exptime, pixfrac, iscale, psr, kernel, lims, units
):
    try:
        d = Drizzle(kernel=kernel, out_shape=(6, 6), num_threads=2)
    except DrizzlepacError:
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            d.add_image(
                data,
                exptime,
                pixmap,
                data2=data2,
                dq=dq,
                weight_map=weight,
                pixfrac=pixfrac,
                iscale=iscale,
                pixel_scale_ratio=psr,
                in_units=units,
                xmin=lims[0],
                xmax=lims[1],
                ymin=lims[2],
                ymax=lims[3],
            )
    except DrizzlepacError as exc:
        assert str(exc)
    else:
        assert np.isfinite(d.out_wht).all()


@settings(max_examples=60, deadline=None)
@given(
    ny=st.integers(1, 6),
    nx=st.integers(1, 6),
    vals=st.lists(
        st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=72, max_size=72
    ),
    kernel=st.sampled_from(SUPPORTED_KERNELS),
)
def test_fuzz_pixmap_values_never_crash(ny, nx, vals, kernel):
    pm = np.array(vals[: ny * nx * 2]).reshape(ny, nx, 2)
    d = Drizzle(kernel=kernel, out_shape=(5, 5))
    try:
        d.add_image(np.ones((ny, nx)), 1.0, pm, pixel_scale_ratio=1.0)
    except DrizzlepacError:
        return
    assert np.isfinite(d.out_wht).all()
    assert np.isfinite(d.out_img[d.out_wht > 0]).all()


@pytest.mark.parametrize(
    "bad",
    [
        None,
        [[1, 2], [3]],
        "text",
        np.ones((4, 5), complex),
        np.zeros((0, 5)),
        np.ones(5),
        np.array([["a"] * 5] * 4),
        object(),
    ],
)
@pytest.mark.parametrize("which", ["data", "pixmap", "weight_map", "dq", "data2"])
def test_each_bad_array_gives_a_clear_error(bad, which):
    args = dict(data=np.ones((4, 5)), pixmap=ident(4, 5), weight_map=None, dq=None, data2=None)
    if which in ("weight_map", "dq", "data2") and bad is None:
        return  # None is valid there
    args[which] = bad
    d = Drizzle(out_shape=(6, 6))
    with pytest.raises(DrizzlepacError, match=which.split("_")[0]):
        d.add_image(args.pop("data"), 1.0, args.pop("pixmap"), **args)
