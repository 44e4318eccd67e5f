"""Converting measured values into JSON-friendly Python."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any


def plain_value(value: Any) -> Any:
    """Return `value` as numbers, strings, booleans, lists and ISO-8601 dates."""
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, (list, tuple)):
        return [plain_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): plain_value(item) for key, item in value.items()}
    return value
