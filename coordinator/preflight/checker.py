"""The state shared by the preflight checks: the loaded incident, the target, the repository, the report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from coordinator.preflight.locate import Locator
from coordinator.preflight.report import ERROR, PreflightProblem, PreflightReport
from coordinator.spec.loader import LoadedIncident
from coordinator.spec.located import KeyPath, format_key_path
from coordinator.spec.models import Criterion, Incident, StepBase, Task
from coordinator.spec.references import walk_steps


@dataclass
class Checker:
    loaded: LoadedIncident
    incident: Incident
    target: str
    repo: Path
    report: PreflightReport

    def __post_init__(self) -> None:
        self.locator = Locator(self.loaded)
        self._users = self._criterion_users()

    def add(
        self,
        path: KeyPath,
        message: str,
        *,
        severity: str = ERROR,
        roles: Iterable[str | None] = (),
        position: tuple[int, int] | None = None,
    ) -> None:
        line, column = position or self.locator.at(path)
        owners = tuple(sorted({role for role in roles if role}))
        self.report.problems.append(
            PreflightProblem(severity, self.loaded.file, line, column, format_key_path(path), message, owners)
        )

    def task_steps(self) -> Iterator[tuple[int, Task, KeyPath, str, StepBase, bool]]:
        """Yield (task index, task, path, step key, step, inside alternatives) for every step of every task."""
        for index, task in enumerate(self.incident.tasks):
            for path, key, step in walk_steps(task.steps, ("tasks", index, "steps")):
                yield index, task, path, key, step, "alternatives" in path

    def criterion_roles(self, criterion: Criterion) -> set[str]:
        """Return the roles whose prompts show `criterion`: its owner, checklists, and tasks that use it."""
        roles = {criterion.role} if criterion.role else set()
        roles |= self._users.get(criterion.id, set())
        return {role for role in roles if role}

    def _criterion_users(self) -> dict[str, set[str]]:
        """Map each criterion id to the roles that list it or whose tasks it verifies or gates. One pass finds
        them all, because every check needs the roles of every criterion."""
        users: dict[str, set[str]] = {}
        for role in self.incident.roles:
            for criterion_id in role.criteria:
                users.setdefault(criterion_id, set()).add(role.name)
        for task in self.incident.tasks:
            for criterion_id in (*task.verified_by, *task.preconditions):
                users.setdefault(criterion_id, set()).add(task.role)
        return users
