"""Showing stored UTC times in an incident's time zone."""

from __future__ import annotations

import datetime as dt
import zoneinfo


def local(moment: dt.datetime | None, timezone: str) -> str:
    if moment is None:
        return "-"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(zoneinfo.ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M:%S %Z")
