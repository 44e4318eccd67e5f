"""Running one role's tasks on a target, in order, recording every step on the board.

A task is done when its steps succeed and the criteria that verify it pass afterwards. A step with `verify`
succeeds only when its criteria pass after it. The run stops at the first failure. Running again skips the
tasks already done and, inside an unfinished task, the steps already finished. A step that a dead run left
interrupted runs again only when it is idempotent or named by `--rerun`.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from typing import Callable, Iterable

from coordinator.board.store import Board
from coordinator.board.tables import RoleRun, StepRun
from coordinator.criteria.evaluate import Evaluation, evaluate, measure_sql
from coordinator.coordination.step_guard import StepBlocked, StepGuard
from coordinator.errors import CoordinatorError
from coordinator.gitops.provenance import dirty_deploy_refusal
from coordinator.gitops.repository import read_provenance
from coordinator.runner.dependencies import describe_unmet, unmet_dependencies, waiting_message
from coordinator.runner.redact import redact
from coordinator.runner.resume import ResumePoint, rerun_matches, resume_point
from coordinator.runner.shell import TAIL_LINES
from coordinator.runner.safety import effect_of, idempotent, needs_verification, risk_of
from coordinator.spec.models import (
    AlternativesStep,
    BranchStep,
    CheckStep,
    Incident,
    QueryStep,
    RetryStep,
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
Confirm = Callable[[str], bool]
QUERY_ROWS_SHOWN = 20
DEPENDENCY_POLL_S = 30.0
# How often a running command's output tail is written to the board, for `coord run --status`.
PROGRESS_SAVE_S = 2.0


@dataclass(frozen=True)
class RunOutcome:
    status: str
    message: str

    @property
    def exit_code(self) -> int:
        return 0 if self.status == "done" else 1


class StepFailed(Exception):
    """Ends a task: the step failed, or a dependency is not met.

    `status` is failed, blocked (a dependency), refused (not confirmed, or not allowed) or interrupted (a
    person must decide about a step a dead run left). A failed command carries its exit code and output.
    """

    def __init__(self, message: str, *, status: str = "failed", exit_code: int | None = None, output: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.exit_code = exit_code
        self.output = output


class RoleRunner:
    def __init__(
        self,
        incident: Incident,
        role: str,
        context: TargetContext,
        board: Board,
        *,
        on_event: EventSink | None = None,
        allow_dirty: bool = False,
        confirm: Confirm | None = None,
        rerun: Iterable[str] = (),
        wait_for_deps: float = 0.0,
        dependency_poll: float = DEPENDENCY_POLL_S,
        log_path: str | None = None,
    ) -> None:
        """`confirm` asks a person about a risky step and returns the answer; without it risky steps are
        refused. `rerun` names interrupted steps to run again (KEY or TASK.KEY). `wait_for_deps` is how long,
        in seconds, to wait for unmet dependencies before refusing."""
        if role not in {candidate.name for candidate in incident.roles}:
            known = ", ".join(role.name for role in incident.roles)
            raise CoordinatorError(f"unknown role {role!r}: this incident's roles are {known}")
        self.incident = incident
        self.role = role
        self.context = context
        self.board = board
        self.emit = on_event or (lambda kind, message: None)
        self.run_row: RoleRun | None = None
        self.step_guard: StepGuard | None = None
        self.allow_dirty = allow_dirty
        self.confirm = confirm
        self.rerun = set(rerun)
        self.wait_for_deps = wait_for_deps
        self.dependency_poll = dependency_poll
        self.log_path = log_path
        self.attempt = 1
        # The steps holding the running step (alternatives, branches, retries), outermost first: their
        # action and risky mark apply to the steps they hold, and their verify covers them.
        self._enclosing: list[StepBase] = []

    @property
    def incident_id(self) -> str:
        return self.incident.incident.id

    def run(self) -> RunOutcome:
        live = self._live_run()
        if live is not None:
            return RunOutcome(
                "busy",
                f"role {self.role!r} is already running (run {live.id}, pid {live.pid}): follow it with "
                f"coord run INCIDENT --role {self.role} --status, or wait until it ends",
            )
        self._mark_interrupted_runs()
        self.run_row = self.board.start_run(self.incident_id, self.role, self.context.target, os.getpid())
        if self.log_path is not None:
            self.board.update_run(self.run_row, log_path=self.log_path)
        outcome = RunOutcome("done", f"every task of role {self.role!r} is done")
        try:
            for task in self.incident.tasks_of(self.role):
                if not self._run_task(task):
                    continue
        except StepFailed as failure:
            outcome = RunOutcome(failure.status, str(failure))
        except KeyboardInterrupt:
            outcome = RunOutcome("interrupted", "stopped by Ctrl-C")
            raise
        except BaseException as error:
            # Anything else that ends the run (a bad workdir, a board error) must not leave it recorded as done.
            outcome = RunOutcome("failed", f"the run stopped on an error: {error}")
            for step in self.board.step_runs(self.incident_id, role=self.role):
                if step.run_id == self.run_row.id and step.status == "running":
                    self.board.finish_step(step, status="failed", reason=outcome.message)
            raise
        finally:
            if self.step_guard is not None:
                self.step_guard.close()
            self.board.finish_run(self.run_row, outcome.status)
            self.context.close()
        return outcome

    def _live_run(self) -> RoleRun | None:
        """Return another run of this role whose process is still alive, if any."""
        for run in self.board.runs(self.incident_id, role=self.role):
            if run.status == "running" and run.pid != os.getpid() and _process_alive(run.pid):
                return run
        return None

    def _mark_interrupted_runs(self) -> None:
        """Mark runs of this role whose process is gone as interrupted, with their running steps and tasks.

        NOTE: liveness is judged by pid on this machine, so with a board shared by several machines a run
        started elsewhere looks dead here.
        """
        dead = set()
        for run in self.board.runs(self.incident_id, role=self.role):
            if run.status == "running" and not _process_alive(run.pid):
                self.board.finish_run(run, "interrupted")
                dead.add(run.id)
        for step in self.board.step_runs(self.incident_id, role=self.role):
            if step.status == "running" and step.run_id in dead:
                self.board.finish_step(step, status="interrupted", reason=f"run {step.run_id} stopped while this step ran")
        # No run of this role is alive now (run() checked), so a task still marked running was left by a dead one.
        for state in self.board.task_states(self.incident_id).values():
            if state.role == self.role and state.status == "running":
                self.board.set_task_state(
                    self.incident_id, state.task_id, self.role, "interrupted", "the run stopped while this task ran"
                )

    def _run_task(self, task: Task) -> bool:
        states = self.board.task_states(self.incident_id)
        if states.get(task.id) and states[task.id].status == "done":
            self.emit("task", f"{task.id}: already done, skipped")
            return False

        try:
            self._await_dependencies(f"task {task.id!r}", task.depends_on, task.after_criteria)
        except StepFailed as failure:
            self.board.set_task_state(self.incident_id, task.id, self.role, "blocked", str(failure))
            raise

        point = resume_point(task, self.board.step_runs(self.incident_id, role=self.role), states.get(task.id))
        self.attempt = point.attempt
        resuming = "" if point.fresh else f" (resuming attempt {point.attempt})"
        self.emit("task", f"{task.id}: {task.title}{resuming}")
        self.board.set_task_state(self.incident_id, task.id, self.role, "running")
        try:
            for index, step in enumerate(task.steps):
                key = step.id or str(index + 1)
                if self._resumed_past(task, key, step, point):
                    continue
                self._run_step(task, key, step)
            self._verify(task)
        except StepFailed as failure:
            state = failure.status if failure.status in ("blocked", "refused", "interrupted") else "failed"
            self.board.set_task_state(self.incident_id, task.id, self.role, state, str(failure))
            raise
        except KeyboardInterrupt:
            self.board.set_task_state(self.incident_id, task.id, self.role, "interrupted", "stopped by Ctrl-C")
            raise
        self.board.set_task_state(self.incident_id, task.id, self.role, "done")
        return True

    def _resumed_past(self, task: Task, key: str, step: StepBase, point: ResumePoint) -> bool:
        """Return True when a resumed task skips this step; raise StepFailed when a person must decide first."""
        if point.fresh:
            return False
        if rerun_matches(self.rerun, task.id, key):
            self.emit("step", f"  {key}: runs again (--rerun)")
            return False
        if point.finished(key):
            row = point.latest[key]
            self.emit("step", f"  {key}: {row.status} in run {row.run_id}, not repeated")
            return True

        row = point.interrupted(key)
        if row is None:
            return False
        if row.pid is not None and _process_alive(row.pid):
            raise StepFailed(
                f"step {key} of task {task.id!r} was interrupted in run {row.run_id}, but its command still runs as "
                f"process group {row.pid}: wait for it to end or stop it (kill -- -{row.pid}), then run again",
                status="interrupted",
            )
        if idempotent(step):
            self.emit("step", f"  {key}: interrupted in run {row.run_id}; idempotent, so it runs again")
            return False
        raise StepFailed(
            f"step {key} of task {task.id!r} was interrupted in run {row.run_id} and is not idempotent: check what "
            f"it did, then run again with --rerun {task.id}.{key}",
            status="interrupted",
        )

    def _await_dependencies(self, subject: str, task_ids: list[str], criterion_ids: list[str]) -> None:
        """Return when the tasks are done and the criteria pass; wait up to `wait_for_deps`, then raise StepFailed."""
        if not task_ids and not criterion_ids:
            return
        started = time.monotonic()
        while True:
            unmet = unmet_dependencies(
                self.incident,
                task_ids,
                criterion_ids,
                task_states=self.board.task_states(self.incident_id),
                measure=lambda criterion_id: self._evaluate(criterion_id, None),
            )
            if not unmet:
                return
            message = waiting_message(subject, unmet, self.role)
            waited = time.monotonic() - started
            if waited + self.dependency_poll > self.wait_for_deps:
                if self.wait_for_deps > 0:
                    message += f" (waited {waited:.0f} s)"
                raise StepFailed(message, status="blocked")
            self.emit("wait", f"  {subject} waits for {describe_unmet(unmet)} ({waited:.0f} s of {self.wait_for_deps:.0f} s)")
            self.context.close()
            time.sleep(self.dependency_poll)

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

    def _run_step(self, task: Task, key: str, step: StepBase) -> str:
        """Run one step and record it; return its status, or raise StepFailed when it fails."""
        self._await_dependencies(f"step {key} of task {task.id!r}", step.depends_on, step.after_criteria)
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
                attempt=self.attempt,
                **read_provenance(self.context.repo).columns(),
            )
        )
        self._refuse_dirty_deploy(task, key, step, record)
        self._confirm_risky(task, key, step, record)
        handler = getattr(self, f"_{kind}")
        try:
            self._before_step(task, key, step)
        except StepBlocked as blocked:
            self.board.finish_step(record, status=blocked.status, reason=str(blocked))
            self.emit("step", f"  {key} {blocked.status}: {blocked}")
            raise StepFailed(str(blocked), status=blocked.status) from None
        try:
            self._enclosing.append(step)
            try:
                status, reason = handler(task, key, step, record)
            finally:
                self._enclosing.pop()
            status, reason = self._verify_step(task, key, step, record, status, reason)
        except StepFailed as failure:
            self.board.finish_step(record, status="failed", reason=self._redact(str(failure)))
            self.emit("step", f"  {key} failed: {self._redact(str(failure))}")
            self._after_step(task, key, step, "failed")
            raise
        except CoordinatorError as error:
            self.board.finish_step(record, status="failed", reason=self._redact(str(error)))
            self.emit("step", f"  {key} failed: {self._redact(str(error))}")
            self._after_step(task, key, step, "failed")
            raise StepFailed(f"step {key} of task {task.id!r} failed: {self._redact(str(error))}") from None
        except KeyboardInterrupt:
            self.board.finish_step(record, status="interrupted", reason="stopped by Ctrl-C while it ran")
            self._after_step(task, key, step, "interrupted")
            raise
        self.board.finish_step(record, status=status, reason=reason)
        self.emit("step", f"  {key} {status}" + (f": {reason}" if reason else ""))
        self._after_step(task, key, step, status)
        return status

    def _confirm_risky(self, task: Task, key: str, step: StepBase, record: StepRun) -> None:
        """Ask a person before a risky step; record it refused and raise StepFailed unless they accept."""
        risk = risk_of(
            step, self.context.target, inherited_action=self._inherited_action(), inherited_risky=self._inherited_risky()
        )
        if risk is None:
            return
        assert isinstance(step, RunStep)
        command = self._redact(fill_command(command_for(step.run, self.context.target) or "", self.context.params()))
        if self.confirm is None:
            message = (
                f"step {key} of task {task.id!r} is risky ({risk}) and there is no terminal to confirm it: "
                "run again with --yes to accept risky steps"
            )
            self.board.finish_step(record, status="refused", command=command, reason=message)
            self.emit("step", f"  {key} refused: {message}")
            raise StepFailed(message, status="refused")
        if not self.confirm(f"step {key} of task {task.id!r} is risky ({risk}):\n  $ {command}\nRun it?"):
            message = f"step {key} of task {task.id!r} was declined at the terminal; nothing ran"
            self.board.finish_step(record, status="declined", command=command, reason=message)
            self.emit("step", f"  {key} declined")
            raise StepFailed(message, status="refused")

    def _inherited_action(self) -> str | None:
        return next((step.action for step in reversed(self._enclosing) if step.action), None)

    def _inherited_risky(self) -> bool | None:
        return next((step.risky for step in reversed(self._enclosing) if step.risky is not None), None)

    def _verify_step(
        self, task: Task, key: str, step: StepBase, record: StepRun, status: str, reason: str | None
    ) -> tuple[str, str | None]:
        """Measure the step's `verify` criteria after it ran; a deploy or trigger without them stays unverified."""
        if status != "done":
            return status, reason
        if step.verify:
            passed, waited, evaluations = self._poll(step.verify, record, within=step.verify_within, interval=step.verify_interval)
            if not passed:
                failing = "; ".join(
                    f"criterion {evaluation.criterion_id!r} is {evaluation.status} (last value {evaluation.value!r}: "
                    f"{evaluation.detail})"
                    for evaluation in evaluations
                    if evaluation.status != "pass"
                )
                raise StepFailed(f"step {key} of task {task.id!r} ran ({reason}) but is not verified after {waited:.0f} s: {failing}")
            verified = ", ".join(evaluation.criterion_id for evaluation in evaluations)
            return "done", f"{reason}; verified by {verified}"
        covered = any(enclosing.verify for enclosing in self._enclosing)
        inherited = self._inherited_action()
        if needs_verification(step, self.context.target, inherited_action=inherited) and not covered:
            effect = effect_of(step, self.context.target, inherited_action=inherited)
            return "unverified", (
                f"{reason}; not verified: the exit code of a {effect} does not prove it worked, so add verify "
                "criteria to this step (a later check or the task's verified_by decides meanwhile)"
            )
        return status, reason

    def _poll(
        self, criterion_ids: list[str], record: StepRun | None, *, within: float, interval: float
    ) -> tuple[bool, float, list[Evaluation]]:
        """Measure criteria until all pass or `within` seconds pass; return (passed, seconds waited, last results).

        The target's `max_wait` caps `within`. The warehouse is closed between measurements, so the
        processes that the wait is for can write meanwhile.
        """
        limit = within if self.context.spec.max_wait is None else min(within, self.context.spec.max_wait)
        started = time.monotonic()
        while True:
            evaluations = [self._evaluate(criterion_id, record) for criterion_id in criterion_ids]
            waited = time.monotonic() - started
            passed = all(evaluation.status == "pass" for evaluation in evaluations)
            progress = ", ".join(f"{e.criterion_id}: {e.status}, {e.detail}" for e in evaluations)
            self.emit("wait", f"  waiting for {progress} ({waited:.0f} s of {limit:.0f} s)")
            if record is not None:
                self.board.update_step(record, output_tail=f"{progress} after {waited:.0f} s of {limit:.0f} s")
            if passed or waited >= limit:
                return passed, waited, evaluations
            self.context.close()
            # The last sleep is shortened so the final measurement lands at the limit, not before it.
            time.sleep(min(interval, limit - waited))

    def _redact(self, text: str, env: dict[str, str] | None = None) -> str:
        return redact(text, self.context.secret_values(env))

    def _refuse_dirty_deploy(self, task: Task, key: str, step: StepBase, record: StepRun) -> None:
        """Refuse a deploy step when tracked files differ from HEAD, unless the run allows a dirty tree."""
        refusal = dirty_deploy_refusal(step, record.git_sha, record.git_dirty, allow_dirty=self.allow_dirty)
        if refusal is None:
            return
        self.board.finish_step(record, status="refused", reason=refusal)
        self.emit("step", f"  {key} refused: {refusal}")
        raise StepFailed(f"step {key} of task {task.id!r} refused: {refusal}")

    def _before_step(self, task: Task, key: str, step: StepBase) -> None:
        """Check the role's policy and open blockers, and take the step's leases; raise StepBlocked when it may not run."""
        self._step_guard().before_step(task, key, step, task_states=self.board.task_states(self.incident_id))

    def _after_step(self, task: Task, key: str, step: StepBase, status: str) -> None:
        """Release the leases the step took."""
        self._step_guard().after_step(step)

    def _step_guard(self) -> StepGuard:
        if self.step_guard is None:
            run_id = self.run_row.id if self.run_row is not None else None
            self.step_guard = StepGuard(
                self.incident, self.role, self.board.engine, target=self.context.target, run_id=run_id, emit=self.emit
            )
        return self.step_guard

    def _run(self, task: Task, key: str, step: RunStep, record: StepRun) -> tuple[str, str | None]:
        template = command_for(step.run, self.context.target)
        if template is None:
            return "skipped", f"no command for target {self.context.target!r}"

        command = fill_command(template, self.context.params())
        secrets = self.context.secret_values(step.env)
        record.command = redact(command, secrets)
        self.board.update_step(record)
        self.emit("command", f"  $ {record.command}")

        progress = _Progress(self.board, record, secrets)
        workdir = self.context.workdir / step.workdir if step.workdir else self.context.workdir
        outcome = self.context.run_command(
            command,
            cwd=workdir,
            env=step.env,
            timeout=step.timeout,
            on_line=lambda line: self.emit("output", "    " + progress.line(line)),
            on_start=progress.started,
        )
        record.exit_code = outcome.exit_code
        record.output_tail = redact(outcome.output, secrets)
        if outcome.timed_out:
            raise StepFailed(
                f"step {key} of task {task.id!r} timed out after {step.timeout:g} s: {record.command}",
                exit_code=outcome.exit_code,
                output=record.output_tail,
            )
        if outcome.exit_code != 0:
            why = _failure_reason(outcome.exit_code, outcome.output)
            raise StepFailed(
                f"step {key} of task {task.id!r} failed: {why}: {record.command}",
                exit_code=outcome.exit_code,
                output=record.output_tail,
            )
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
        passed, waited, evaluations = self._poll([step.wait], record, within=step.timeout, interval=step.interval)
        evaluation = evaluations[0]
        if passed:
            return "done", f"{step.wait} passed after {waited:.0f} s: {evaluation.detail}"
        raise StepFailed(
            f"timed out after {waited:.0f} s waiting for criterion {step.wait!r}; last value {evaluation.value!r}: "
            f"{evaluation.detail}"
        )

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
                status = self._run_step(task, child_key, alternative)
            except StepFailed as failure:
                if failure.status != "failed":
                    raise
                reasons.append(f"alternative {index} failed ({failure})")
                continue
            tried = "; ".join(reasons)
            ran = f"alternative {index} ran" + (" (unverified)" if status == "unverified" else "")
            return "done", ran + (f" after: {tried}" if tried else "")
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

    def _retry(self, task: Task, key: str, step: RetryStep, record: StepRun) -> tuple[str, str | None]:
        retry = step.retry
        attempts = retry.count + 1
        failures: list[str] = []
        for attempt in range(1, attempts + 1):
            try:
                status = self._run_step(task, f"{key}.try{attempt}", retry.step)
            except StepFailed as failure:
                if failure.status != "failed":
                    raise
                failures.append(f"attempt {attempt}: {failure}")
                if not _worth_retrying(retry.when, failure):
                    raise StepFailed(
                        f"step {key} of task {task.id!r} failed and the failure does not match its retry condition: {failure}",
                        exit_code=failure.exit_code,
                        output=failure.output,
                    ) from None
                if attempt == attempts:
                    raise StepFailed(
                        f"step {key} of task {task.id!r} failed {attempts} times; last: {failure}",
                        exit_code=failure.exit_code,
                        output=failure.output,
                    ) from None
                self.emit("retry", f"  {key}: attempt {attempt} of {attempts} failed; next attempt in {retry.delay:g} s")
                self.context.close()
                time.sleep(retry.delay)
                continue
            earlier = f" after {len(failures)} failed" if failures else ""
            return "done", f"attempt {attempt} of {attempts} {status}{earlier}"
        raise AssertionError("unreachable: the last attempt returns or raises")


class _Progress:
    """Keeps a running command's pid and output tail on its step row, for `coord run --status`."""

    def __init__(self, board: Board, record: StepRun, secrets: list[str]) -> None:
        self.board = board
        self.record = record
        self.secrets = secrets
        self.lines: list[str] = []
        self.saved_at = 0.0

    def started(self, pid: int) -> None:
        self.board.update_step(self.record, pid=pid)

    def line(self, text: str) -> str:
        """Redact one output line, remember it, save the tail now and then; return the redacted line."""
        shown = redact(text, self.secrets)
        self.lines = [*self.lines[-(TAIL_LINES - 1):], shown]
        now = time.monotonic()
        if now - self.saved_at >= PROGRESS_SAVE_S:
            self.saved_at = now
            self.board.save_step_output(self.record.id, "\n".join(self.lines))
        return shown


def _worth_retrying(when, failure: StepFailed) -> bool:
    """Return whether a failed attempt matches the retry condition: any failure when there is none."""
    if when is None:
        return True
    if when.exit_code and failure.exit_code in when.exit_code:
        return True
    if when.output is not None and re.search(when.output, f"{failure.output}\n{failure}"):
        return True
    return False


def _failure_reason(exit_code: int, output: str) -> str:
    lowered = output.lower()
    if "can't open file" in lowered or "no such file or directory" in lowered:
        return f"script missing (exit code {exit_code})"
    if exit_code == 127 or "command not found" in lowered:
        return "executable not found (exit code 127)"
    return f"exit code {exit_code}"


def _process_alive(pid: int | None) -> bool:
    """Return whether process `pid` runs on this machine; a zombie waiting to be reaped counts as ended."""
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True
