"""Reducers and the error policy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from astropy.io.fits.card import UNDEFINED

from fitsblender_ng import functions as F
from fitsblender_ng.functions import REDUCERS, ErrorPolicy, reduce_values


def test_registry_has_original_names_first():
    assert list(REDUCERS)[:12] == ["first", "last", "float_one", "int_one", "zero", "multi",
                                   "multi?", "mean", "sum", "max", "min", "stddev"]
    assert F.reducer_names() == list(REDUCERS)
    with pytest.raises(TypeError):
        REDUCERS["new"] = F.first  # type: ignore[index]


@pytest.mark.parametrize("name", list(REDUCERS))
def test_every_reducer_survives_empty_mixed_and_nan(name):
    for values in ([], [math.nan], ["a", 1, 2.5, True, math.nan, UNDEFINED, None],
                   [np.float64(2.0), np.int32(3)]):
        result = reduce_values(name, values)
        assert result is None or isinstance(result, bool | int | float | str)
        if isinstance(result, float):
            assert math.isfinite(result)


def test_first_last_skip_missing():
    assert F.first([None, UNDEFINED, 3, 4]) == 3
    assert F.last([3, 4, math.nan]) == 4
    assert F.first([]) is None and F.last([]) is None


def test_constants():
    assert F.float_one([5]) == 1.0 and isinstance(F.float_one([]), float)
    assert F.int_one([5]) == 1 and isinstance(F.int_one([5]), int)
    assert F.zero([5]) == 0


def test_multi():
    assert F.multi(["F606W", "F606W "]) == "F606W"
    assert F.multi(["F606W", "F814W"]) == "MULTIPLE"
    assert F.multi([1, 1.0]) == 1
    assert F.multi([True, 1]) == "MULTIPLE"
    assert F.multi([]) is None
    assert F.multi([None, "A"]) == "A"
    assert F.multi_question([1, 2]) == "?"
    assert reduce_values("multi?", ["x", "x"]) == "x"


def test_concat():
    assert F.concat(["F606W", "F814W", "F606W"]) == "F606W,F814W"
    assert F.concat([True, 2, 2.5, " a "]) == "T,2,2.5,a"
    assert F.concat([]) is None


def test_count():
    assert F.count([1, None, "a", math.nan]) == 2


def test_mean_sum_types():
    assert F.mean([1, 2, 3, 4]) == 2.5
    assert F.total([500, 507]) == 1007 and isinstance(F.total([500, 507]), int)
    assert F.total([0.1] * 10) == 1.0  # fsum: exact
    assert F.total([1, 2.5]) == 3.5
    assert F.mean(["a", "b"]) is None
    assert F.total([True, 2]) == 2  # booleans are not numbers


def test_min_max_numeric_and_strings():
    assert F.minimum([3, 1.5, "x"]) == 1.5
    assert F.maximum([3, 1.5, "x"]) == 3
    assert F.minimum(["2003-04-25", "2002-12-01"]) == "2002-12-01"
    assert F.maximum(["b", "a"]) == "b"
    assert F.minimum([True, "a"]) is None


def test_stddev_and_median():
    assert F.stddev([1, 2, 3, 4]) == pytest.approx(np.std([1, 2, 3, 4]))
    assert F.stddev([7]) == 0.0
    assert F.median([5, 1, 3, "x"]) == 3.0


def test_numpy_scalars_become_python():
    result = reduce_values("sum", [np.float32(1.5), np.int64(2)])
    assert type(result) is float and result == 3.5
    assert type(reduce_values("first", [np.int16(4)])) is int


def test_reduce_values_unknown_name():
    with pytest.raises(ValueError, match="unknown function 'average'"):
        reduce_values("average", [1])


def test_is_missing():
    assert F.is_missing(None) and F.is_missing(UNDEFINED) and F.is_missing(float("nan"))
    assert not F.is_missing(0) and not F.is_missing("") and not F.is_missing(False)


def test_error_policy_parse_and_str():
    assert ErrorPolicy.parse("ignore") == ErrorPolicy()
    assert str(ErrorPolicy.parse("RAISE")) == "raise"
    assert ErrorPolicy.parse("constant=1.5").value == 1.5
    assert ErrorPolicy.parse("constant=T").value is True
    assert ErrorPolicy.parse("constant=INDEF").value == "INDEF"
    assert str(ErrorPolicy("constant", 2)) == "constant=2"
    assert str(ErrorPolicy("constant")) == "constant"
    with pytest.raises(ValueError):
        ErrorPolicy("sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ErrorPolicy.parse("raise=1")


# -- properties -------------------------------------------------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

header_values = st.one_of(
    st.none(), st.booleans(), st.integers(-2**40, 2**40),
    st.floats(allow_nan=True, allow_infinity=False, width=64),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=12))


@settings(max_examples=150, deadline=None)
@given(st.lists(header_values, max_size=12))
def test_reducers_never_raise_and_return_fits_scalars(values):
    for name in REDUCERS:
        result = reduce_values(name, values)
        assert result is None or isinstance(result, bool | int | float | str)
        if isinstance(result, float):
            assert math.isfinite(result)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=20))
def test_numeric_reducers_agree_with_numpy(values):
    arr = np.asarray(values)
    assert F.total(values) == pytest.approx(math.fsum(values))
    assert F.mean(values) == pytest.approx(arr.mean(), abs=1e-6)
    assert F.minimum(values) == arr.min() and F.maximum(values) == arr.max()
    assert F.stddev(values) == pytest.approx(arr.std(), abs=1e-6)
    assert F.median(values) == pytest.approx(np.median(arr))
