"""The check round's incident: the shipped 2026-01-27 incident's SQL criteria plus the same checks per date.

The bench incident keeps the shipped file's header, parameters, targets and roles, and drops its findings,
tasks and coordination notes, which a check round does not read. It contains SQL criteria only: the floor
and Soda run queries and cannot run the sandbox's commands, drift checks read git, and a manual criterion
is a lookup, so only the SQL criteria do the same work on every side.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Iterable, Optional

import yaml

from bench.harness import REPOSITORY, BenchError

SHIPPED_INCIDENT = REPOSITORY / "playbooks" / "nba" / "2026-01-27-pipeline-recovery.yaml"
BENCH_INCIDENT_ID = "bench-check-round"
MIN_SQL_CRITERIA = 40


@dataclass(frozen=True)
class Variant:
    """A seed criterion measured again on other dates by overriding one date parameter."""

    source: str
    param: str
    dates: tuple[date, ...]
    text: str  # with {day} for the date


def _dates(first: date, last: date, *, skip: Iterable[date] = ()) -> tuple[date, ...]:
    skipped = set(skip)
    days = []
    day = first
    while day <= last:
        if day not in skipped:
            days.append(day)
        day += timedelta(days=1)
    return tuple(days)


# Each variant skips the date its source criterion already measures. Jan 27 has no box scores yet, so the
# coverage ratio (which divides by the raw players) stops at Jan 26.
VARIANTS = (
    Variant("player_coverage_jan15", "coverage_date", _dates(date(2026, 1, 16), date(2026, 1, 26)),
            "Player coverage for {day}: >85%"),
    Variant("usage_rate_coverage_jan22", "usage_date", _dates(date(2026, 1, 16), date(2026, 1, 26), skip=[date(2026, 1, 22)]),
            "Usage rate coverage for {day}: >80%"),
    Variant("cache_restored_jan26", "cache_gap_date", _dates(date(2026, 1, 15), date(2026, 1, 27), skip=[date(2026, 1, 26)]),
            "Cache exists for {day} (>100 players)"),
    Variant("props_collected_today", "game_date", _dates(date(2026, 1, 20), date(2026, 1, 26)),
            "Props collected for {day} (>1000 records)"),
)


def bench_document(shipped: Path = SHIPPED_INCIDENT) -> dict:
    """Return the bench incident as YAML data: the shipped SQL criteria, then their per-date variants."""
    source = yaml.safe_load(shipped.read_text())
    seed_sql = [criterion for criterion in source["criteria"] if criterion.get("sql")]
    by_id = {criterion["id"]: criterion for criterion in seed_sql}

    criteria = [dict(criterion) for criterion in seed_sql]
    for variant in VARIANTS:
        for day in variant.dates:
            criterion = dict(by_id[variant.source])
            criterion["id"] = f"{variant.source}__{day:%Y%m%d}"
            criterion["text"] = variant.text.format(day=day.isoformat())
            criterion["params"] = {**criterion.get("params", {}), variant.param: day}
            criterion.pop("note", None)
            criteria.append(criterion)
    return _document(source, criteria)


def _document(source: dict, criteria: list[dict]) -> dict:
    header = dict(source["incident"], id=BENCH_INCIDENT_ID, title=f"Check round benchmark ({len(criteria)} SQL criteria)")
    roles = []
    for role in source["roles"]:
        owned = [criterion["id"] for criterion in criteria if criterion.get("role") == role["name"]]
        roles.append(dict(role, criteria=owned, handoff={"path": f"handoffs/bench-{role['name']}.md"}))
    return {
        "incident": header,
        "params": source["params"],
        "secrets": source.get("secrets", []),
        "targets": source["targets"],
        "roles": roles,
        "criteria": criteria,
    }


def sql_criterion_ids(document: dict) -> list[str]:
    return [criterion["id"] for criterion in document["criteria"] if criterion.get("sql")]


def write_incident(path: Path, *, criterion_ids: Optional[list[str]] = None, document: Optional[dict] = None) -> Path:
    """Write the bench incident to `path`, restricted to `criterion_ids` (in the incident's order) when given."""
    document = document or bench_document()
    if criterion_ids is not None:
        unknown = set(criterion_ids) - set(sql_criterion_ids(document))
        if unknown:
            raise BenchError(f"not criteria of the bench incident: {', '.join(sorted(unknown))}")
        selected = [criterion for criterion in document["criteria"] if criterion["id"] in set(criterion_ids)]
        document = _document(document, selected)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.dump(document, Dumper=_PlainDumper, sort_keys=False, allow_unicode=True))
    return path


class _PlainDumper(yaml.SafeDumper):
    """Write shared values out in full: the incident loader rejects YAML anchors and aliases."""

    def ignore_aliases(self, data) -> bool:
        return True


def load(path: Path):
    """Load `path` with the product's own loader, so a bench incident is one `coord check` accepts."""
    from coordinator.errors import CoordinatorError
    from coordinator.spec import load_incident

    try:
        return load_incident(path)
    except CoordinatorError as error:
        raise BenchError(f"{path}: the bench incident does not load: {error}") from None
