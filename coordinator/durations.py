"""Durations written the way people write them: `90s`, `30m`, `2h`, `1h30m`."""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|m|s)")
_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str) -> float:
    """Return the number of seconds in `text`; raise ValueError naming the accepted forms."""
    compact = text.strip().replace(" ", "")
    if compact and _PART.sub("", compact) == "" and _PART.search(compact):
        return sum(float(amount) * _SECONDS[unit] for amount, unit in _PART.findall(compact))
    raise ValueError(f"invalid duration {text!r}: write it like 90s, 30m, 2h or 1h30m")
