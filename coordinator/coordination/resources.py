"""Resources that roles can collide on, written `KIND:NAME[@FROM..TO]`.

Kinds are `service`, `table`, `code` and `job`. A table may carry an inclusive date range
(`table:nba_analytics.player_game_summary@2026-01-01..2026-01-25`); a table without one means every date.
A code path ending in `/` is a folder and overlaps every path under it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Iterator

from coordinator.errors import CoordinatorError

KINDS = ("service", "table", "code", "job")
_RESOURCE = re.compile(r"^(?P<kind>[a-z]+):(?P<name>[^@\s]+)(?:@(?P<start>[0-9-]+)\.\.(?P<end>[0-9-]+))?$")


@dataclass(frozen=True, order=True)
class Resource:
    kind: str
    name: str
    start: dt.date | None = None
    end: dt.date | None = None

    def __str__(self) -> str:
        text = f"{self.kind}:{self.name}"
        if self.start is not None and self.end is not None:
            text += f"@{self.start.isoformat()}..{self.end.isoformat()}"
        return text

    @property
    def base(self) -> str:
        """The resource without its date range: leases on one base are checked against each other."""
        return f"{self.kind}:{self.name}"

    def overlaps(self, other: Resource) -> bool:
        if self.kind != other.kind:
            return False
        if self.kind == "code":
            return _paths_overlap(self.name, other.name)
        if self.name != other.name:
            return False
        if self.start is None or other.start is None:
            return True
        return self.start <= other.end and other.start <= self.end

    def overlap_text(self, other: Resource) -> str:
        """Describe where two overlapping resources meet, e.g. `2026-01-20..2026-01-25` or `every date`."""
        if self.kind == "code":
            return self.name if len(self.name) >= len(other.name) else other.name
        if self.kind != "table":
            return self.name
        if self.start is None and other.start is None:
            return "every date"
        start = max(date for date in (self.start, other.start) if date is not None)
        end = min(date for date in (self.end, other.end) if date is not None)
        return start.isoformat() if start == end else f"{start.isoformat()}..{end.isoformat()}"


def parse_resource(text: str) -> Resource:
    """Parse `KIND:NAME[@FROM..TO]`; raise CoordinatorError saying the accepted form."""
    match = _RESOURCE.match(text.strip())
    if match is None or match.group("kind") not in KINDS:
        raise CoordinatorError(
            f"invalid resource {text!r}: write KIND:NAME with KIND one of {', '.join(KINDS)}, "
            "and a table's dates as table:DATASET.TABLE@2026-01-01..2026-01-25"
        )
    kind, name = match.group("kind"), match.group("name")
    if match.group("start") is None:
        return make_resource(kind, name)
    if kind != "table":
        raise CoordinatorError(f"invalid resource {text!r}: only a table has a date range")
    return make_resource(kind, name, _date(match.group("start"), text), _date(match.group("end"), text))


def make_resource(kind: str, name: str, start: dt.date | None = None, end: dt.date | None = None) -> Resource:
    if kind == "code":
        name = _normal_path(name)
    if start is not None and end is not None and end < start:
        raise CoordinatorError(f"invalid date range {start}..{end} of {kind}:{name}: the end is before the start")
    return Resource(kind, name, start, end)


def _date(text: str, resource: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CoordinatorError(f"invalid date {text!r} in resource {resource!r}: write YYYY-MM-DD") from None


def _normal_path(path: str) -> str:
    folder = path.endswith("/")
    parts = [part for part in path.split("/") if part not in ("", ".")]
    return "/".join(parts) + ("/" if folder and parts else "")


def _paths_overlap(first: str, second: str) -> bool:
    if first == second:
        return True
    for folder, path in ((first, second), (second, first)):
        if folder.endswith("/") and path.startswith(folder):
            return True
        if folder.endswith("/") and path == folder.rstrip("/"):
            return True
    return False


def ranges_text(resources: Iterator[Resource]) -> str:
    return ", ".join(str(resource) for resource in resources)
