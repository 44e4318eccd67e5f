"""Dependencies of a task or step: tasks of any role that must be done, and criteria that must pass."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from coordinator.board.tables import TaskState
from coordinator.criteria.evaluate import Evaluation
from coordinator.spec.models import Incident


@dataclass(frozen=True)
class UnmetDependency:
    """A task not done yet, or a criterion not passing yet, with the role that owns it."""

    kind: str
    id: str
    owner: str | None
    status: str
    detail: str = ""

    def describe(self) -> str:
        owner = f" of role {self.owner!r}" if self.owner else " (no owning role)"
        text = f"{self.kind} {self.id!r}{owner} (status {self.status}"
        return text + (f": {self.detail})" if self.detail else ")")


def unmet_dependencies(
    incident: Incident,
    task_ids: list[str],
    criterion_ids: list[str],
    *,
    task_states: dict[str, TaskState],
    measure: Callable[[str], Evaluation],
) -> list[UnmetDependency]:
    """Return the tasks that are not done and the criteria that do not pass, in the order given."""
    unmet = []
    for task_id in task_ids:
        state = task_states.get(task_id)
        if state is None or state.status != "done":
            unmet.append(UnmetDependency("task", task_id, incident.task(task_id).role, state.status if state else "todo"))
    for criterion_id in criterion_ids:
        evaluation = measure(criterion_id)
        if evaluation.status != "pass":
            owner = incident.criterion(criterion_id).role
            unmet.append(UnmetDependency("criterion", criterion_id, owner, evaluation.status, evaluation.detail))
    return unmet


def describe_unmet(unmet: list[UnmetDependency]) -> str:
    return "; ".join(item.describe() for item in unmet)


def waiting_message(subject: str, unmet: list[UnmetDependency], role: str) -> str:
    """Return the one-line refusal for `subject` (e.g. "task 'x'") that names whom it waits for."""
    owners = sorted({item.owner for item in unmet if item.owner and item.owner != role})
    who = f"ask role {' and '.join(repr(owner) for owner in owners)} or " if owners else ""
    return f"{subject} waits for {describe_unmet(unmet)}: {who}run again later, or pass --wait-for-deps DURATION to wait"
