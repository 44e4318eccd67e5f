"""A role's progress as the board records it: its latest run, its tasks, and the steps of each task."""

from __future__ import annotations

from coordinator.board.store import Board, as_utc
from coordinator.board.tables import utc_now
from coordinator.runner.resume import attempt_of
from coordinator.spec.models import Incident


def role_status(incident: Incident, role: str, board: Board) -> list[str]:
    """Return text lines: the latest run (alive or not), each task's state, and its current attempt's steps."""
    from coordinator.runner.run import _process_alive

    incident_id = incident.incident.id
    runs = board.runs(incident_id, role=role)
    if not runs:
        return [f"{role}: no run recorded yet"]
    latest = runs[-1]
    alive = latest.status == "running" and _process_alive(latest.pid)
    state = latest.status
    if latest.status == "running" and not alive:
        state = "stopped without finishing"
    lines = [f"{role}: run {latest.id} on {latest.target}, pid {latest.pid}, {state}, started {_ago(latest.started_at)}"]
    if latest.log_path:
        lines.append(f"  log: {latest.log_path}")

    states = board.task_states(incident_id)
    rows = board.step_runs(incident_id, role=role)
    for task in incident.tasks_of(role):
        task_state = states.get(task.id)
        detail = f": {task_state.detail}" if task_state is not None and task_state.detail else ""
        lines.append(f"  {task.id}: {task_state.status if task_state else 'todo'}{detail}")
        task_rows = [row for row in rows if row.task_id == task.id]
        if not task_rows:
            continue
        attempt = max(attempt_of(row) for row in task_rows)
        for row in (row for row in task_rows if attempt_of(row) == attempt):
            ended = row.ended_at or utc_now()
            took = (as_utc(ended) - as_utc(row.started_at)).total_seconds()
            last = (row.output_tail or "").strip().splitlines()[-1:] if row.status == "running" else []
            line = f"    {row.step_key}: {row.status} (run {row.run_id}, {took:.0f} s)"
            lines.append(line + (f" last output: {last[0]}" if last else ""))
    return lines


def _ago(moment) -> str:
    seconds = (utc_now() - as_utc(moment)).total_seconds()
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"
