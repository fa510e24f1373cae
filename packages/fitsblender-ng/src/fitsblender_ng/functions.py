"""Reducers: the functions a rule may name to merge many values into one.

A reducer takes the values one keyword has in the input headers (in input
order) and returns the single value written to the product header, or
``None`` when there is nothing sensible to write (the keyword is then left
as the template header has it, see :mod:`fitsblender_ng.blender`).

Common behaviour of every reducer:

* Missing values (the keyword is absent, or present without a value) never
  reach a reducer: the engine drops them (or substitutes a constant, or
  raises) according to the rule's :class:`ErrorPolicy`.
* Float ``NaN`` values are ignored by every reducer (they can only appear
  through a ``constant`` error policy or through hand-made headers).
* Results are plain Python ``bool``/``int``/``float``/``str`` values; a
  result that FITS cannot store (``NaN`` or infinity) becomes ``None``.
* The numeric reducers (``mean``, ``sum``, ``stddev``, ``median``) use only
  the numeric values (``int``/``float``, not ``bool``) and ignore strings:
  mixed-type inputs never raise.  With no numeric value they return ``None``.
* ``min`` and ``max`` are numeric when any value is numeric; when *all*
  values are strings they compare the strings (this gives the right answer
  for ISO-8601 dates such as ``DATE-OBS = '2004-05-01'``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
from astropy.io.fits.card import Undefined

__all__ = [
    "MULTIPLE",
    "REDUCERS",
    "ErrorPolicy",
    "Reducer",
    "concat",
    "count",
    "first",
    "float_one",
    "int_one",
    "is_missing",
    "last",
    "maximum",
    "mean",
    "median",
    "minimum",
    "multi",
    "multi_question",
    "reduce_values",
    "reducer_names",
    "stddev",
    "total",
    "zero",
]

#: The value :func:`multi` returns when the inputs disagree.
MULTIPLE = "MULTIPLE"

Reducer = Callable[[Sequence[Any]], Any]


def is_missing(value: Any) -> bool:
    """Return True for values that count as missing.

    ``None``, astropy's ``Undefined`` (a card without a value) and float
    ``NaN`` are missing.

    Parameters
    ----------
    value : object
        A header value.

    Returns
    -------
    bool
        Whether ``value`` carries no information.
    """
    if value is None:
        return True
    if isinstance(value, Undefined):
        return True
    if isinstance(value, float | np.floating):
        return bool(np.isnan(value))
    return False


def _to_python(value: Any) -> Any:
    """Return ``value`` as a plain Python scalar, ``None`` if not FITS-storable."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _present(values: Sequence[Any]) -> list[Any]:
    return [v for v in values if not is_missing(v)]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


def _numbers(values: Sequence[Any]) -> list[Any]:
    return [_to_python(v) for v in _present(values) if _is_number(v)]


def _key(value: Any) -> tuple[str, Any]:
    """Equality key that keeps ``True`` and ``1`` apart and ``1`` and ``1.0`` together."""
    if isinstance(value, bool | np.bool_):
        return ("bool", bool(value))
    if _is_number(value):
        return ("num", _to_python(value))
    if isinstance(value, str):
        return ("str", value.rstrip())
    return (type(value).__name__, str(value))


def _as_text(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return "T" if value else "F"
    value = _to_python(value)
    if isinstance(value, str):
        return value.strip()
    return str(value)


def first(values: Sequence[Any]) -> Any:
    """Return the first value, or None when there is none.

    Parameters
    ----------
    values : sequence
        Values in input order.

    Returns
    -------
    object or None
        The first non-missing value.
    """
    present = _present(values)
    return _to_python(present[0]) if present else None


def last(values: Sequence[Any]) -> Any:
    """Return the last value, or None when there is none.

    Parameters
    ----------
    values : sequence
        Values in input order.

    Returns
    -------
    object or None
        The last non-missing value.
    """
    present = _present(values)
    return _to_python(present[-1]) if present else None


def float_one(values: Sequence[Any]) -> float:
    """Return 1.0 whatever the inputs (e.g. ``LTM1_1`` of a drizzled product).

    Parameters
    ----------
    values : sequence
        Ignored.

    Returns
    -------
    float
        1.0
    """
    return 1.0


def int_one(values: Sequence[Any]) -> int:
    """Return the integer 1 whatever the inputs.

    Parameters
    ----------
    values : sequence
        Ignored.

    Returns
    -------
    int
        1
    """
    return 1


def zero(values: Sequence[Any]) -> int:
    """Return the integer 0 whatever the inputs (e.g. ``LTV1`` of a product).

    Parameters
    ----------
    values : sequence
        Ignored.

    Returns
    -------
    int
        0
    """
    return 0


def _common_or(values: Sequence[Any], marker: str) -> Any:
    present = _present(values)
    if not present:
        return None
    keys = {_key(v) for v in present}
    return _to_python(present[0]) if len(keys) == 1 else marker


def multi(values: Sequence[Any]) -> Any:
    """Return the common value when all inputs agree, else ``'MULTIPLE'``.

    Strings are compared without trailing blanks; ``1`` equals ``1.0`` but
    ``True`` does not equal ``1``.

    Parameters
    ----------
    values : sequence
        Values in input order.

    Returns
    -------
    object or None
        The shared value, ``'MULTIPLE'``, or None when there is no value.
    """
    return _common_or(values, MULTIPLE)


def multi_question(values: Sequence[Any]) -> Any:
    """Like :func:`multi`, but return ``'?'`` when the inputs disagree (rule name ``multi?``).

    Parameters
    ----------
    values : sequence
        Values in input order.

    Returns
    -------
    object or None
        The shared value, ``'?'``, or None when there is no value.
    """
    return _common_or(values, "?")


def concat(values: Sequence[Any]) -> str | None:
    """Join the distinct values, in order of first appearance, with commas.

    Useful for string keywords such as ``FILTER`` or ``ROOTNAME`` where the
    list of values is more informative than ``'MULTIPLE'``.  Long results are
    written by astropy with ``CONTINUE`` cards.

    Parameters
    ----------
    values : sequence
        Values in input order; numbers are formatted with ``str``, booleans as
        ``T``/``F``.

    Returns
    -------
    str or None
        The joined text, or None when there is no value.
    """
    seen: dict[str, None] = {}
    for v in _present(values):
        seen.setdefault(_as_text(v), None)
    return ",".join(seen) if seen else None


def count(values: Sequence[Any]) -> int:
    """Return how many inputs have a value for the keyword.

    Parameters
    ----------
    values : sequence
        Values in input order.

    Returns
    -------
    int
        The number of non-missing values.
    """
    return len(_present(values))


def mean(values: Sequence[Any]) -> float | None:
    """Arithmetic mean of the numeric values.

    Parameters
    ----------
    values : sequence
        Values in input order; non-numeric values are ignored.

    Returns
    -------
    float or None
        The mean, or None without numeric values.
    """
    nums = _numbers(values)
    if not nums:
        return None
    scale = _scale(nums)
    return _to_python(scale * (math.fsum(v / scale for v in nums) / len(nums)))


def total(values: Sequence[Any]) -> int | float | None:
    """Sum of the numeric values (rule name ``sum``); integers stay integers.

    Parameters
    ----------
    values : sequence
        Values in input order; non-numeric values are ignored.

    Returns
    -------
    int, float or None
        The exact integer sum, the float sum (``math.fsum``), or None without
        numeric values.
    """
    nums = _numbers(values)
    if not nums:
        return None
    if all(isinstance(v, int) for v in nums):
        return sum(nums)
    try:
        return _to_python(math.fsum(nums))
    except OverflowError:  # the sum is beyond float64: FITS cannot store it
        return None


def _extreme(values: Sequence[Any], pick: Callable[..., Any]) -> Any:
    present = _present(values)
    if not present:
        return None
    nums = _numbers(present)
    if nums:
        return pick(nums)
    if all(isinstance(v, str) for v in present):
        return pick(v.strip() for v in present)
    return None


def minimum(values: Sequence[Any]) -> Any:
    """Smallest value (rule name ``min``); see the module notes for strings.

    Parameters
    ----------
    values : sequence
        Values in input order.

    Returns
    -------
    object or None
        The smallest numeric value, the smallest string when all values are
        strings, or None.
    """
    return _extreme(values, min)


def maximum(values: Sequence[Any]) -> Any:
    """Largest value (rule name ``max``); see the module notes for strings.

    Parameters
    ----------
    values : sequence
        Values in input order.

    Returns
    -------
    object or None
        The largest numeric value, the largest string when all values are
        strings, or None.
    """
    return _extreme(values, max)


def stddev(values: Sequence[Any]) -> float | None:
    """Population standard deviation (``ddof=0``, as ``numpy.std``) of the numbers.

    Parameters
    ----------
    values : sequence
        Values in input order; non-numeric values are ignored.

    Returns
    -------
    float or None
        The standard deviation (0.0 for a single value), or None.
    """
    nums = _numbers(values)
    if not nums:
        return None
    scale = _scale(nums)
    return _to_python(scale * float(np.std(np.asarray(nums, dtype=np.float64) / scale)))


def median(values: Sequence[Any]) -> float | None:
    """Median of the numeric values.

    Parameters
    ----------
    values : sequence
        Values in input order; non-numeric values are ignored.

    Returns
    -------
    float or None
        The median, or None without numeric values.
    """
    nums = _numbers(values)
    if not nums:
        return None
    scale = _scale(nums)
    return _to_python(scale * float(np.median(np.asarray(nums, dtype=np.float64) / scale)))


def _scale(nums: Sequence[Any]) -> float:
    """Largest magnitude (1.0 for all zeros): dividing by it keeps sums from overflowing."""
    biggest = max(abs(float(v)) for v in nums)
    return biggest if biggest > 0.0 and math.isfinite(biggest) else 1.0


#: Names usable in the third field of a rule, mapped to their reducer.  The
#: first twelve are the original fitsblender's names; ``median``, ``count``
#: and ``concat`` are additions.
REDUCERS: Mapping[str, Reducer] = MappingProxyType({
    "first": first,
    "last": last,
    "float_one": float_one,
    "int_one": int_one,
    "zero": zero,
    "multi": multi,
    "multi?": multi_question,
    "mean": mean,
    "sum": total,
    "max": maximum,
    "min": minimum,
    "stddev": stddev,
    "median": median,
    "count": count,
    "concat": concat,
})


def reducer_names() -> list[str]:
    """Return the function names a rule may use, in registry order.

    Returns
    -------
    list of str
        The keys of :data:`REDUCERS`.
    """
    return list(REDUCERS)


def reduce_values(name: str, values: Sequence[Any]) -> Any:
    """Apply the reducer called ``name`` to ``values``.

    Parameters
    ----------
    name : str
        A key of :data:`REDUCERS` (case-insensitive).
    values : sequence
        Values in input order.

    Returns
    -------
    object or None
        The reducer's result as a plain Python scalar, or None.

    Raises
    ------
    ValueError
        If ``name`` is not a known reducer.
    """
    try:
        func = REDUCERS[name.lower()]
    except KeyError:
        raise ValueError(
            f"unknown function {name!r}; known: {', '.join(REDUCERS)}") from None
    return _to_python(func(values))


ErrorKind = Literal["ignore", "raise", "constant"]


@dataclass(frozen=True)
class ErrorPolicy:
    """What to do when an input lacks a rule's keyword (the rule's error element).

    Parameters
    ----------
    kind : {"ignore", "raise", "constant"}
        ``ignore`` (the default, as in the original) leaves the input out of
        the reduction and writes a missing value (``INDEF``/``NaN``) in its
        table cell; ``raise`` makes the blend fail with
        :class:`~fitsblender_ng.errors.MissingKeywordError`; ``constant``
        uses ``value`` instead.
    value : object, optional
        The substitute for ``constant`` (default ``NaN``, as in the original).
    """

    kind: ErrorKind = "ignore"
    value: Any = math.nan

    def __post_init__(self) -> None:
        if self.kind not in ("ignore", "raise", "constant"):
            raise ValueError(f"error policy must be ignore, raise or constant, not {self.kind!r}")

    @classmethod
    def parse(cls, token: str) -> ErrorPolicy:
        """Build a policy from its rules-file spelling.

        Parameters
        ----------
        token : str
            ``ignore``, ``raise``, ``constant`` or ``constant=<value>`` where
            value is an integer, a float, ``T``/``F`` or a string (optionally
            in single quotes).

        Returns
        -------
        ErrorPolicy
            The policy.

        Raises
        ------
        ValueError
            If ``token`` is none of these.
        """
        kind, sep, raw = token.partition("=")
        kind = kind.strip().lower()
        if kind in ("ignore", "raise") and not sep:
            return cls(kind)  # type: ignore[arg-type]
        if kind == "constant":
            return cls("constant", _parse_constant(raw.strip()) if sep else math.nan)
        raise ValueError(
            f"bad error policy {token!r}; use ignore, raise, constant or constant=<value>")

    def __str__(self) -> str:
        if self.kind != "constant":
            return self.kind
        return f"constant={self.value!r}" if not is_missing(self.value) else "constant"


def _parse_constant(raw: str) -> Any:
    if not raw:
        raise ValueError("constant= needs a value")
    if len(raw) >= 2 and raw[0] == raw[-1] == "'":
        return raw[1:-1]
    if raw in ("T", "F"):
        return raw == "T"
    for conv in (int, float):
        try:
            return conv(raw)
        except ValueError:
            pass
    return raw
