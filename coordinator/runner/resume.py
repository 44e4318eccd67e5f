"""The starting point of a task's rerun: after its finished steps, with a decision on steps a dead run left behind."""

from __future__ import annotations

from dataclasses import dataclass, field

from coordinator.board.tables import StepRun, TaskState
from coordinator.spec.models import Task

# Step statuses that a rerun does not repeat: the step ran to its end, or had nothing to do.
FINISHED = frozenset({"done", "skipped", "unverified"})


def top_level_keys(task: Task) -> list[str]:
    return [step.id or str(index + 1) for index, step in enumerate(task.steps)]


@dataclass
class ResumePoint:
    """State of a task's next run: its attempt number and the latest row of each top-level step."""

    attempt: int
    fresh: bool
    latest: dict[str, StepRun] = field(default_factory=dict)

    def finished(self, key: str) -> bool:
        row = self.latest.get(key)
        return row is not None and row.status in FINISHED

    def interrupted(self, key: str) -> StepRun | None:
        row = self.latest.get(key)
        return row if row is not None and row.status == "interrupted" else None


def attempt_of(row: StepRun) -> int:
    return row.attempt or 1


def resume_point(task: Task, rows: list[StepRun], state: TaskState | None) -> ResumePoint:
    """Return how `task` runs next, from its earlier step rows (any order) and its board state.

    A task whose earlier attempt finished every step and then failed its verification starts a new attempt:
    its steps ran and did not achieve what they were for, so skipping them would only fail again. Any other
    unfinished task continues its attempt after the steps that finished.
    """
    task_rows = sorted((row for row in rows if row.task_id == task.id), key=lambda row: row.id or 0)
    if not task_rows:
        return ResumePoint(attempt=1, fresh=True)

    attempt = max(attempt_of(row) for row in task_rows)
    latest = {row.step_key: row for row in task_rows if attempt_of(row) == attempt}
    keys = top_level_keys(task)
    everything_finished = all(key in latest and latest[key].status in FINISHED for key in keys)
    if state is not None and state.status == "failed" and everything_finished:
        return ResumePoint(attempt=attempt + 1, fresh=True)
    return ResumePoint(attempt=attempt, fresh=False, latest={key: latest[key] for key in keys if key in latest})


def rerun_matches(requested: set[str], task_id: str, key: str) -> bool:
    """Return whether `--rerun` names this step, as KEY or TASK.KEY."""
    return key in requested or f"{task_id}.{key}" in requested
