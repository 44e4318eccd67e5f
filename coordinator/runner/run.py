"""Running one role's tasks on a target, in order, recording every step on the board.

A task is done when its steps succeed and the criteria that verify it pass afterwards. The run stops at
the first failure; running again skips the tasks already done.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Callable

from coordinator.board.store import Board
from coordinator.board.tables import RoleRun, StepRun
from coordinator.criteria.evaluate import Evaluation, evaluate, measure_sql
from coordinator.errors import CoordinatorError
from coordinator.runner.redact import redact
from coordinator.spec.models import (
    AlternativesStep,
    BranchStep,
    CheckStep,
    Incident,
    QueryStep,
    RunStep,
    SnippetStep,
    StepBase,
    Task,
    WaitStep,
    command_for,
    step_kind,
)
from coordinator.spec.params import fill_command, fill_sql
from coordinator.target import TargetContext

EventSink = Callable[[str, str], None]
QUERY_ROWS_SHOWN = 20


@dataclass(frozen=True)
class RunOutcome:
    status: str
    message: str

    @property
    def exit_code(self) -> int:
        return 0 if self.status == "done" else 1


class StepFailed(Exception):
    """Ends a task: the step failed, or a dependency is not met."""

    def __init__(self, message: str, *, status: str = "failed") -> None:
        super().__init__(message)
        self.status = status


class RoleRunner:
    def __init__(
        self,
        incident: Incident,
        role: str,
        context: TargetContext,
        board: Board,
        *,
        on_event: EventSink | None = None,
    ) -> None:
        if role not in {candidate.name for candidate in incident.roles}:
            known = ", ".join(role.name for role in incident.roles)
            raise CoordinatorError(f"unknown role {role!r}: this incident's roles are {known}")
        self.incident = incident
        self.role = role
        self.context = context
        self.board = board
        self.emit = on_event or (lambda kind, message: None)
        self.run_row: RoleRun | None = None

    @property
    def incident_id(self) -> str:
        return self.incident.incident.id

    def run(self) -> RunOutcome:
        self._mark_interrupted_runs()
        self.run_row = self.board.start_run(self.incident_id, self.role, self.context.target, os.getpid())
        outcome = RunOutcome("done", f"every task of role {self.role!r} is done")
        try:
            for task in self.incident.tasks_of(self.role):
                if not self._run_task(task):
                    continue
        except StepFailed as failure:
            outcome = RunOutcome(failure.status, str(failure))
        finally:
            self.board.finish_run(self.run_row, outcome.status)
            self.context.close()
        return outcome

    def _mark_interrupted_runs(self) -> None:
        """Mark runs of this role whose process is gone as interrupted, with their running steps."""
        dead = set()
        for run in self.board.runs(self.incident_id, role=self.role):
            if run.status == "running" and not _process_alive(run.pid):
                self.board.finish_run(run, "interrupted")
                dead.add(run.id)
        for step in self.board.step_runs(self.incident_id, role=self.role):
            if step.status == "running" and step.run_id in dead:
                self.board.finish_step(step, status="interrupted", reason="the run stopped while this step ran")

    def _run_task(self, task: Task) -> bool:
        states = self.board.task_states(self.incident_id)
        if states.get(task.id) and states[task.id].status == "done":
            self.emit("task", f"{task.id}: already done, skipped")
            return False

        for dependency in task.depends_on:
            state = states.get(dependency)
            if state is None or state.status != "done":
                owner = self.incident.task(dependency).role
                status = state.status if state else "todo"
                message = (
                    f"task {task.id!r} waits for task {dependency!r} of role {owner!r} (status {status}): "
                    f"run that first, then run role {self.role!r} again"
                )
                self.board.set_task_state(self.incident_id, task.id, self.role, "blocked", message)
                raise StepFailed(message, status="blocked")

        self.emit("task", f"{task.id}: {task.title}")
        self.board.set_task_state(self.incident_id, task.id, self.role, "running")
        try:
            for index, step in enumerate(task.steps):
                self._run_step(task, step.id or str(index + 1), step)
            self._verify(task)
        except StepFailed as failure:
            self.board.set_task_state(self.incident_id, task.id, self.role, "failed", str(failure))
            raise
        self.board.set_task_state(self.incident_id, task.id, self.role, "done")
        return True

    def _verify(self, task: Task) -> None:
        for criterion_id in task.verified_by:
            evaluation = self._evaluate(criterion_id, None)
            self.emit("verify", f"{criterion_id}: {evaluation.status} ({evaluation.detail})")
            if evaluation.status != "pass":
                raise StepFailed(
                    f"task {task.id!r} is not verified: criterion {criterion_id!r} is {evaluation.status}: {evaluation.detail}"
                )

    def _evaluate(self, criterion_id: str, step_run: StepRun | None) -> Evaluation:
        ticks = self.board.latest_ticks(self.incident_id)
        self.context.refresh_clock()
        evaluation = evaluate(self.incident.criterion(criterion_id), self.context, ticks=ticks)
        if evaluation.kind != "manual":
            step_run_id = step_run.id if step_run is not None else None
            self.board.add_results([evaluation.to_row(self.incident_id, self.context.target, step_run_id)])
        return evaluation

    # Steps

    def _run_step(self, task: Task, key: str, step: StepBase) -> None:
        """Run one step and record it; raise StepFailed when it fails."""
        kind = step_kind(step)
        record = self.board.start_step(
            StepRun(
                run_id=self.run_row.id,
                incident_id=self.incident_id,
                role=self.role,
                task_id=task.id,
                step_key=key,
                kind=kind,
                title=step.title,
            )
        )
        handler = getattr(self, f"_{kind}")
        try:
            status, reason = handler(task, key, step, record)
        except StepFailed as failure:
            self.board.finish_step(record, status="failed", reason=str(failure))
            self.emit("step", f"  {key} failed: {failure}")
            raise
        except CoordinatorError as error:
            self.board.finish_step(record, status="failed", reason=str(error))
            self.emit("step", f"  {key} failed: {error}")
            raise StepFailed(f"step {key} of task {task.id!r} failed: {error}") from None
        self.board.finish_step(record, status=status, reason=reason)
        self.emit("step", f"  {key} {status}" + (f": {reason}" if reason else ""))

    def _run(self, task: Task, key: str, step: RunStep, record: StepRun) -> tuple[str, str | None]:
        template = command_for(step.run, self.context.target)
        if template is None:
            return "skipped", f"no command for target {self.context.target!r}"

        command = fill_command(template, self.context.params())
        record.command = redact(command)
        self.board.update_step(record)
        self.emit("command", f"  $ {record.command}")

        workdir = self.context.workdir / step.workdir if step.workdir else self.context.workdir
        outcome = self.context.run_command(
            command,
            cwd=workdir,
            env=step.env,
            timeout=step.timeout,
            on_line=lambda line: self.emit("output", "    " + redact(line)),
        )
        record.exit_code = outcome.exit_code
        record.output_tail = redact(outcome.output)
        if outcome.timed_out:
            raise StepFailed(f"step {key} of task {task.id!r} timed out after {step.timeout:g} s: {record.command}")
        if outcome.exit_code != 0:
            why = _failure_reason(outcome.exit_code, outcome.output)
            raise StepFailed(f"step {key} of task {task.id!r} failed: {why}: {record.command}")
        return "done", f"exit code 0 in {outcome.duration_s:.1f} s"

    def _query(self, task: Task, key: str, step: QueryStep, record: StepRun) -> tuple[str, str | None]:
        params = self.context.params(step.params)
        sql = fill_sql(step.query, params)
        record.command = sql
        result = self.context.warehouse().query(sql, params, label=f"query {key} of task {task.id!r}")
        lines = [" | ".join(result.columns)]
        lines += [" | ".join(str(value) for value in row) for row in result.rows[:QUERY_ROWS_SHOWN]]
        if len(result.rows) > QUERY_ROWS_SHOWN:
            lines.append(f"... {len(result.rows) - QUERY_ROWS_SHOWN} more rows")
        record.output_tail = "\n".join(lines)
        for line in lines:
            self.emit("output", "    " + line)
        return "done", f"{len(result.rows)} rows"

    def _check(self, task: Task, key: str, step: CheckStep, record: StepRun) -> tuple[str, str | None]:
        evaluation = self._evaluate(step.check, record)
        if evaluation.status != "pass":
            raise StepFailed(f"criterion {step.check!r} is {evaluation.status}: {evaluation.detail}")
        return "done", f"{step.check}: {evaluation.detail}"

    def _wait(self, task: Task, key: str, step: WaitStep, record: StepRun) -> tuple[str, str | None]:
        started = time.monotonic()
        while True:
            evaluation = self._evaluate(step.wait, record)
            waited = time.monotonic() - started
            self.emit("wait", f"  waiting for {step.wait}: {evaluation.status}, {evaluation.detail} ({waited:.0f} s)")
            if evaluation.status == "pass":
                return "done", f"{step.wait} passed after {waited:.0f} s: {evaluation.detail}"
            if waited + step.interval > step.timeout:
                raise StepFailed(
                    f"timed out after {waited:.0f} s waiting for criterion {step.wait!r}; last value {evaluation.value!r}: "
                    f"{evaluation.detail}"
                )
            time.sleep(step.interval)

    def _snippet(self, task: Task, key: str, step: SnippetStep, record: StepRun) -> tuple[str, str | None]:
        return "skipped", "a snippet is shown in the prompt and not run"

    def _alternatives(self, task: Task, key: str, step: AlternativesStep, record: StepRun) -> tuple[str, str | None]:
        reasons = []
        for index, alternative in enumerate(step.alternatives, start=1):
            child_key = alternative.id or f"{key}.alt{index}"
            if isinstance(alternative, RunStep) and command_for(alternative.run, self.context.target) is None:
                reasons.append(f"alternative {index} has no command for target {self.context.target!r}")
                continue
            try:
                self._run_step(task, child_key, alternative)
            except StepFailed as failure:
                reasons.append(f"alternative {index} failed ({failure})")
                continue
            tried = "; ".join(reasons)
            return "done", f"alternative {index} ran" + (f" after: {tried}" if tried else "")
        raise StepFailed(f"no alternative of step {key} of task {task.id!r} succeeded: " + "; ".join(reasons))

    def _branch(self, task: Task, key: str, step: BranchStep, record: StepRun) -> tuple[str, str | None]:
        condition = step.branch.condition
        if condition.criterion is not None:
            evaluation = self._evaluate(condition.criterion, record)
            if evaluation.status == "error":
                raise StepFailed(f"cannot decide branch {key}: {evaluation.detail}")
            taken, measured = evaluation.status == "pass", f"{condition.criterion}: {evaluation.detail}"
        else:
            assert condition.sql is not None and condition.expect is not None
            status, value, detail, _rows, sql, _params = measure_sql(
                condition.sql, condition.expect, self.context, label=f"branch {key} of task {task.id!r}", extra_params=condition.params
            )
            record.command = sql
            if status == "error":
                raise StepFailed(f"cannot decide branch {key}: {detail}")
            taken, measured = status == "pass", detail

        steps, label = (step.branch.then, "then") if taken else (step.branch.otherwise, "else")
        self.emit("branch", f"  {key}: {measured}: taking {label}")
        for index, child in enumerate(steps, start=1):
            self._run_step(task, child.id or f"{key}.{label}{index}", child)
        return "done", f"{measured}: took {label}"


def _failure_reason(exit_code: int, output: str) -> str:
    lowered = output.lower()
    if exit_code == 127 or "command not found" in lowered:
        return "executable not found (exit code 127)"
    if "can't open file" in lowered or "no such file or directory" in lowered:
        return f"script missing (exit code {exit_code})"
    return f"exit code {exit_code}"


def _process_alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
