"""Potential conflicts between roles, derived from what their tasks and steps touch.

Two roles conflict on a resource when their declared touches overlap (same service or job, the same table
on overlapping dates, a code path inside another) and at least one of them changes it (mode `write` or
`deploy`). Both changing it is a write-write overlap; one reading what the other changes is a read-write
conflict. A conflict between tasks that `depends_on` orders (directly or through other tasks) is still
listed, marked with that order: a run keeps them apart, but a person acting by hand may not.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from coordinator.coordination.usage import CHANGING_MODES, IncidentUsage, Usage
from coordinator.spec.models import Incident

VERBS = {
    ("service", "read"): "uses",
    ("service", "deploy"): "deploys",
    ("service", "write"): "changes",
    ("code", "read"): "runs",
    ("code", "write"): "changes",
    ("job", "read"): "reads",
    ("job", "write"): "triggers",
    ("job", "deploy"): "changes",
}


@dataclass
class Side:
    role: str
    modes: list[str] = field(default_factory=list)
    places: list[str] = field(default_factory=list)
    resources: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)

    def add(self, usage: Usage) -> None:
        for values, value in ((self.modes, usage.mode), (self.places, usage.where), (self.resources, str(usage.resource))):
            if value not in values:
                values.append(value)
        detail = _detail(usage)
        if detail and detail not in self.details:
            self.details.append(detail)


@dataclass
class Conflict:
    """Two roles touching overlapping resources, at least one of them changing it."""

    kind: str  # "write-write" or "read-write"
    resource: str  # the base resource, e.g. table:nba_analytics.player_game_summary
    overlap: str  # where they meet: dates of a table, the inner code path, or the name
    first: Side
    second: Side
    orders: list[str] = field(default_factory=list)  # "later after earlier" for every ordered task pair
    unordered: bool = False  # some pair of tasks in it may run at the same time

    @property
    def ordered(self) -> bool:
        return not self.unordered

    @property
    def roles(self) -> tuple[str, str]:
        return self.first.role, self.second.role

    def sentence(self) -> str:
        """Describe the conflict in one sentence, e.g. `dev deploys it (...) while reprocessing uses it (...)`."""
        kind = self.resource.split(":", 1)[0]
        where = ""
        if kind == "table":
            where = f" for {self.overlap}"
        elif kind == "code" and self.overlap not in self.resource:
            where = f" at {self.overlap}"
        first, second = (self.first, self.second) if _changes(self.first) else (self.second, self.first)
        joint = "and" if self.kind == "write-write" else "while"
        sentence = f"`{self.resource}`{where}: {_side_text(first, kind)} {joint} {_side_text(second, kind)}"
        if self.ordered:
            sentence += f"; depends_on keeps them apart ({'; '.join(self.orders)})"
        return sentence

    def as_json(self) -> dict:
        return {
            "kind": self.kind,
            "resource": self.resource,
            "overlap": self.overlap,
            "roles": [
                {"role": side.role, "modes": side.modes, "where": side.places, "resources": side.resources}
                for side in (self.first, self.second)
            ],
            "ordered": self.ordered,
            "orders": self.orders,
            "text": self.sentence(),
        }


def _changes(side: Side) -> bool:
    return any(mode in CHANGING_MODES for mode in side.modes)


def _side_text(side: Side, kind: str) -> str:
    verbs = []
    for mode in side.modes:
        verb = VERBS.get((kind, mode), {"read": "reads", "write": "writes", "deploy": "deploys"}[mode])
        if verb not in verbs:
            verbs.append(verb)
    details = f"{', '.join(side.details)}, in " if side.details else "in "
    return f"**{side.role}** {' and '.join(verbs)} it ({details}{', '.join(side.places)})"


def _detail(usage: Usage) -> str:
    """Describe what part of the resource a usage touches: a table's dates, or a code path."""
    resource = usage.resource
    if resource.kind == "table":
        if resource.start is None:
            return "every date"
        if resource.start == resource.end:
            return resource.start.isoformat()
        return f"{resource.start.isoformat()}..{resource.end.isoformat()}"
    if resource.kind == "code":
        return resource.name
    return ""


def find_conflicts(incident: Incident, target: str | None = None) -> list[Conflict]:
    """Return the potential conflicts between roles, write-write overlaps first."""
    usages = IncidentUsage(incident, target).usages()
    ordered = _ordered_pairs(incident)
    grouped: dict[tuple, Conflict] = {}

    for index, first in enumerate(usages):
        for second in usages[index + 1 :]:
            if first.role == second.role or not first.resource.overlaps(second.resource):
                continue
            if first.mode not in CHANGING_MODES and second.mode not in CHANGING_MODES:
                continue
            order = None
            if (first.task_id, second.task_id) in ordered:
                order = f"{second.task_id} runs after {first.task_id}"
            elif (second.task_id, first.task_id) in ordered:
                order = f"{first.task_id} runs after {second.task_id}"
            kind = "write-write" if first.mode in CHANGING_MODES and second.mode in CHANGING_MODES else "read-write"
            left, right = sorted((first, second), key=lambda usage: usage.role)
            overlap = left.resource.overlap_text(right.resource)
            key = (kind, left.resource.base if left.resource.kind != "code" else "code:" + overlap, left.role, right.role)
            if key not in grouped:
                base = left.resource.base if left.resource.kind != "code" else f"code:{overlap}"
                grouped[key] = Conflict(kind, base, overlap, Side(left.role), Side(right.role))
            conflict = grouped[key]
            if conflict.overlap != overlap and left.resource.kind == "table":
                conflict.overlap = _wider(conflict.overlap, overlap)
            conflict.first.add(left)
            conflict.second.add(right)
            if order is None:
                conflict.unordered = True
            elif order not in conflict.orders:
                conflict.orders.append(order)

    return sorted(grouped.values(), key=lambda conflict: (conflict.kind != "write-write", conflict.resource, conflict.roles))


def write_write_overlaps(conflicts: list[Conflict]) -> list[Conflict]:
    return [conflict for conflict in conflicts if conflict.kind == "write-write"]


def _wider(first: str, second: str) -> str:
    """Join two overlap descriptions of one table into the range that covers both."""
    if "every date" in (first, second):
        return "every date"
    bounds = sorted(part for text in (first, second) for part in text.split(".."))
    return bounds[0] if bounds[0] == bounds[-1] else f"{bounds[0]}..{bounds[-1]}"


def _ordered_pairs(incident: Incident) -> set[tuple[str, str]]:
    """Return (earlier, later) task pairs that `depends_on` orders, directly or through other tasks."""
    depends = {task.id: set(task.depends_on) for task in incident.tasks}
    pairs: set[tuple[str, str]] = set()
    for task_id in depends:
        seen: set[str] = set()
        pending = list(depends[task_id])
        while pending:
            dependency = pending.pop()
            if dependency in seen or dependency not in depends:
                continue
            seen.add(dependency)
            pending.extend(depends[dependency])
        pairs.update((dependency, task_id) for dependency in seen)
    return pairs
