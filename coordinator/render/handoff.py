"""A role's handoff document, built only from the board: task states, step runs, results and ticks.

Nothing in the document is free text that could contradict the data: the status, the timeline, every
criterion's first and latest value and the next actions are all derived here.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coordinator.board.store import Board, loads
from coordinator.board.tables import CriterionResult, StepRun, utc_now
from coordinator.coordination.handoff_view import coordination_timeline
from coordinator.errors import CoordinatorError
from coordinator.render.files import shared_file_mode
from coordinator.spec.models import Incident
from coordinator.spec.params import fill_text, resolve
from coordinator.timefmt import local


@dataclass
class CriterionLine:
    id: str
    text: str
    kind: str
    status: str
    first: str
    latest: str
    detail: str
    verified_by_tasks: list[str] = field(default_factory=list)


@dataclass
class StepLine:
    time: str
    task: str
    step: str
    kind: str
    status: str
    command: str | None
    exit_code: int | None
    reason: str | None
    duration: str


def _result_text(result: CriterionResult | None, timezone: str) -> str:
    if result is None:
        return "not measured"
    value = loads(result.value_json)
    shown = "-" if value is None else str(value)
    return f"{shown} ({result.status}, {local(result.started_at, timezone)})"


def _duration(step: StepRun) -> str:
    if step.ended_at is None:
        return "-"
    return f"{(step.ended_at - step.started_at).total_seconds():.1f} s"


def build_handoff(incident: Incident, role_name: str, board: Board, *, target: str) -> dict[str, Any]:
    """Return the view data of a role's handoff."""
    if role_name not in {role.name for role in incident.roles}:
        known = ", ".join(role.name for role in incident.roles)
        raise CoordinatorError(f"unknown role {role_name!r}: this incident's roles are {known}")
    role = incident.role(role_name)
    incident_id = incident.incident.id
    timezone = incident.incident.timezone
    params = resolve(incident, target)

    states = board.task_states(incident_id)
    steps = board.step_runs(incident_id, role=role_name)
    runs = board.runs(incident_id, role=role_name)
    ticks = board.latest_ticks(incident_id)
    criteria = incident.criteria_of(role_name)
    results = board.results(incident_id, [criterion.id for criterion in criteria])

    first: dict[str, CriterionResult] = {}
    latest: dict[str, CriterionResult] = {}
    for result in results:
        first.setdefault(result.criterion_id, result)
        latest[result.criterion_id] = result

    criterion_lines = []
    for criterion in criteria:
        verifiers = [task.id for task in incident.tasks if criterion.id in task.verified_by]
        if criterion.manual:
            tick = ticks.get(criterion.id)
            if tick is None:
                status = "waiting"
            elif tick.passed:
                status = "pass"
            else:
                status = "fail"
            detail = (
                "waiting for a person's tick"
                if tick is None
                else f"{'ticked' if tick.passed else 'rejected'} by {tick.ticked_by} at {local(tick.ticked_at, timezone)}: {tick.reason}"
            )
            decided = "-" if tick is None else detail
            criterion_lines.append(
                CriterionLine(
                    criterion.id, fill_text(criterion.text, params), "manual", status, "-", decided, detail, verifiers
                )
            )
            continue
        last = latest.get(criterion.id)
        criterion_lines.append(
            CriterionLine(
                criterion.id,
                fill_text(criterion.text, params),
                criterion.kind,
                last.status if last else "not measured",
                _result_text(first.get(criterion.id), timezone),
                _result_text(last, timezone),
                (last.detail or "") if last else "",
                verifiers,
            )
        )

    task_lines = []
    for task in incident.tasks_of(role_name):
        state = states.get(task.id)
        task_lines.append(
            {
                "id": task.id,
                "title": fill_text(task.title, params),
                "status": state.status if state else "todo",
                "detail": state.detail if state else None,
                "updated": local(state.updated_at, timezone) if state else "-",
                "steps": [_step_line(step, timezone) for step in steps if step.task_id == task.id],
            }
        )

    status = _status(task_lines, criterion_lines, runs)
    lines_by_id = {line.id: line for line in criterion_lines}
    tasks_by_id = {line["id"]: line for line in task_lines}
    sections = [
        {
            "title": section.title,
            "tasks": [tasks_by_id[task_id] for task_id in section.tasks if task_id in tasks_by_id],
            "criteria": [lines_by_id[criterion_id] for criterion_id in section.criteria if criterion_id in lines_by_id],
            "show": list(section.show),
        }
        for section in role.handoff.sections
    ]

    return {
        "incident": incident.incident,
        "role": role,
        "target": target,
        "written_at": local(utc_now(), timezone),
        "status": status,
        "runs": [
            {"id": run.id, "target": run.target, "status": run.status, "started": local(run.started_at, timezone), "ended": local(run.ended_at, timezone)}
            for run in runs
        ],
        "tasks": task_lines,
        "steps": [_step_line(step, timezone) for step in steps],
        "criteria": criterion_lines,
        "failing": [line for line in criterion_lines if line.status in ("fail", "error", "not measured")],
        "failed_steps": [_step_line(step, timezone) for step in steps if step.status in ("failed", "interrupted")],
        "sections": sections,
        "next_actions": _next_actions(incident, task_lines, criterion_lines),
        "coordination": coordination_timeline(incident_id, role_name, board.engine, timezone),
    }


def _one_line(command: str | None) -> str | None:
    """Return the first line of a command, marked with an ellipsis when more lines follow."""
    if command is None:
        return None
    lines = [line.rstrip(" \\") for line in command.strip().splitlines() if line.strip()]
    if not lines:
        return None
    return lines[0] + (" …" if len(lines) > 1 else "")


def _step_line(step: StepRun, timezone: str) -> StepLine:
    return StepLine(
        time=local(step.started_at, timezone),
        task=step.task_id,
        step=step.step_key,
        kind=step.kind,
        status=step.status,
        command=_one_line(step.command),
        exit_code=step.exit_code,
        reason=step.reason,
        duration=_duration(step),
    )


def _status(tasks: list[dict[str, Any]], criteria: list[CriterionLine], runs: list[Any]) -> str:
    """Return blocked when a task waits on another, complete when every task is done and every criterion
    passes (manual ones ticked by a person), and partial otherwise."""
    if any(task["status"] == "blocked" for task in tasks):
        return "blocked"
    if all(task["status"] == "done" for task in tasks) and all(line.status == "pass" for line in criteria):
        return "complete"
    return "partial"


def _next_actions(incident: Incident, tasks: list[dict[str, Any]], criteria: list[CriterionLine]) -> list[str]:
    actions = []
    for task in tasks:
        if task["status"] != "done":
            reason = f": {task['detail']}" if task["detail"] else ""
            actions.append(f"Finish task `{task['id']}` ({task['title']}), now {task['status']}{reason}")
    for line in criteria:
        if line.kind == "manual" and line.status == "waiting":
            actions.append(
                f"A person decides \"{line.text}\": `coord tick INCIDENT {line.id} --by NAME --why TEXT`"
            )
        elif line.status != "pass":
            verifiers = f" (verified by task {', '.join(line.verified_by_tasks)})" if line.verified_by_tasks else ""
            actions.append(f"Make \"{line.text}\" pass: latest {line.latest}{verifiers}")
    return actions


def render_handoff(incident: Incident, role_name: str, board: Board, *, target: str, repo: Path | None = None) -> str:
    from coordinator.render.environment import render_template

    view = build_handoff(incident, role_name, board, target=target)
    if repo is not None:
        from coordinator.gitops.handoff import handoff_git_view

        view["git"] = handoff_git_view(incident, role_name, board, repo)
    return render_template("handoff.md.j2", view, workspace=repo)


def handoff_path(incident: Incident, role_name: str, repo: Path, *, target: str) -> Path:
    """Return where the role's handoff goes; it must be inside the repository the incident is about."""
    text = fill_text(incident.role(role_name).handoff.path, resolve(incident, target))
    path = (repo / text).resolve()
    if not path.is_relative_to(repo.resolve()):
        raise CoordinatorError(
            f"handoff path {text!r} of role {role_name!r} is outside the repository {repo}: "
            "give a path inside it, such as docs/handoffs/ROLE.md"
        )
    return path


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file in the same folder, so no half-written file remains."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            raise IsADirectoryError(21, "is a folder", str(path))
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise CoordinatorError(f"cannot write {path}: {error.strerror}: choose another path") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, shared_file_mode())
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise CoordinatorError(f"cannot write {path}: {error.strerror}: choose another path") from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise

