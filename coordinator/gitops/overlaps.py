"""Overlapping edits: a role's commit touching a path another role claims, or changed during the incident."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from coordinator.gitops.history import CommitRecord, path_matches

if TYPE_CHECKING:
    from coordinator.spec.models import Incident

CLAIMING_MODES = ("write", "deploy")


@dataclass(frozen=True)
class Overlap:
    commit: str
    subject: str
    role: str
    path: str
    other_role: str
    reason: str
    other_commit: str | None = None
    claim: str | None = None

    def line(self) -> str:
        if self.reason == "claimed":
            return (
                f"{self.commit} by {self.role} ({self.subject}) changes {self.path}, "
                f"which {self.other_role} claims ({self.claim})"
            )
        return (
            f"{self.commit} by {self.role} ({self.subject}) changes {self.path}, "
            f"which {self.other_role} also changed in {self.other_commit} during the incident"
        )


def claimed_paths(incident: "Incident", leases: dict[str, list[str]] | None = None) -> dict[str, list[str]]:
    """Return {role: code paths it claims}: its `paths`, its tasks' and steps' code touches that write or deploy,
    and `leases` (code paths held as leases on the board, by role)."""
    from coordinator.spec.references import walk_steps

    claims: dict[str, list[str]] = {role.name: list(role.paths) for role in incident.roles}
    for task in incident.tasks:
        touches: list[Any] = list(getattr(task, "touches", []))
        for _path, _key, step in walk_steps(task.steps, ()):
            touches.extend(getattr(step, "touches", []))
        for touch in touches:
            if getattr(touch, "code", None) and touch.mode in CLAIMING_MODES:
                claims.setdefault(task.role, []).append(touch.code)
    for role, paths in (leases or {}).items():
        claims.setdefault(role, []).extend(paths)
    return {role: sorted(set(paths)) for role, paths in claims.items()}


def find_overlaps(commits: list[CommitRecord], claims: dict[str, list[str]]) -> list[Overlap]:
    """Return each path that a role's commit changed and another role claims or changed earlier in `commits`.

    `commits` are oldest first; commits attributed to no role are never flagged, because no role could be notified.
    """
    overlaps: list[Overlap] = []
    seen: set[tuple[str, str, str]] = set()
    for index, commit in enumerate(commits):
        if commit.role is None:
            continue
        for change in commit.files:
            for other_role, patterns in claims.items():
                if other_role == commit.role:
                    continue
                claim = next((pattern for pattern in patterns if path_matches(change.path, pattern)), None)
                if claim is not None and (commit.sha, change.path, other_role) not in seen:
                    seen.add((commit.sha, change.path, other_role))
                    overlaps.append(
                        Overlap(commit.short, commit.subject, commit.role, change.path, other_role, "claimed", claim=claim)
                    )
            for earlier in commits[:index]:
                if earlier.role in (None, commit.role) or (commit.sha, change.path, earlier.role) in seen:
                    continue
                if any(other.path == change.path for other in earlier.files):
                    seen.add((commit.sha, change.path, earlier.role))
                    overlaps.append(
                        Overlap(
                            commit.short, commit.subject, commit.role, change.path, earlier.role, "changed",
                            other_commit=earlier.short,
                        )
                    )
    return overlaps
