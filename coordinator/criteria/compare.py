"""Comparing a measured value with a criterion's expectation."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from coordinator.spec.models import Operator


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, decimal.Decimal)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip().rstrip("%"))
        except ValueError:
            return None
    return None


def _comparable(measured: Any, expected: Any) -> tuple[Any, Any]:
    measured_number, expected_number = _number(measured), _number(expected)
    if measured_number is not None and expected_number is not None:
        return measured_number, expected_number
    if isinstance(measured, (dt.date, dt.datetime)):
        measured = measured.isoformat()
    if isinstance(expected, (dt.date, dt.datetime)):
        expected = expected.isoformat()
    return measured, expected


def compare(measured: Any, op: Operator, expected: Any) -> bool:
    """Return whether `measured op expected` holds; a NULL measurement never passes."""
    if measured is None:
        return False
    if op == "between":
        low, high = expected
        return compare(measured, ">=", low) and compare(measured, "<=", high)

    left, right = _comparable(measured, expected)
    try:
        if op == ">":
            return left > right
        if op == ">=":
            return left >= right
        if op == "<":
            return left < right
        if op == "<=":
            return left <= right
        if op == "==":
            return left == right
        if op == "!=":
            return left != right
    except TypeError:
        return False
    raise ValueError(f"unknown operator {op!r}")


def describe(op: Operator, expected: Any) -> str:
    if op == "between":
        return f"between {expected[0]} and {expected[1]}"
    return f"{op} {expected}"
