"""Checks the runner makes around each step: the role's policy, open blockers, and the step's leases.

Before a step, three checks run. A step whose action the role's policy does not allow is rejected. A task
blocked by an open blocking message of this role stops. The step's leases are taken: what it writes or
deploys, and what it reads that another role changes. A lease held by another role is waited for up to `lease_wait_s`, then
the step stops as blocked, naming the holder and until when. After the step, the leases it took are
released. While a step runs, a background thread renews its leases, so they expire only when the runner's
process is gone.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import Callable

from sqlalchemy.exc import SQLAlchemyError

from coordinator.board.coordination import ClaimOutcome, CoordinationStore, as_utc
from coordinator.coordination.board_view import blocked_tasks
from coordinator.coordination.policy import refusal
from coordinator.coordination.resources import Resource
from coordinator.coordination.usage import CHANGING_MODES, IncidentUsage, StepPlan
from coordinator.spec.models import AlternativesStep, BranchStep, Incident, RunStep, StepBase, Task

LEASE_TTL_S = 600.0
LEASE_WAIT_S = 300.0
LEASE_POLL_S = 5.0


class StepBlocked(Exception):
    """A step that may not start: `status` is `refused` (policy) or `blocked` (message or lease)."""

    def __init__(self, message: str, status: str) -> None:
        super().__init__(message)
        self.status = status


def lease_wait_from_env() -> float:
    """Return COORD_LEASE_WAIT (a duration such as 90s or 10m), else LEASE_WAIT_S."""
    from coordinator.durations import parse_duration

    text = os.environ.get("COORD_LEASE_WAIT")
    return parse_duration(text) if text else LEASE_WAIT_S


class StepGuard:
    def __init__(
        self,
        incident: Incident,
        role: str,
        engine,
        *,
        target: str,
        run_id: int | None,
        emit: Callable[[str, str], None],
        lease_ttl_s: float = LEASE_TTL_S,
        lease_wait_s: float | None = None,
    ) -> None:
        self.incident = incident
        self.role = role
        self.store = CoordinationStore(engine)
        self.usage = IncidentUsage(incident, target)
        self.emit = emit
        self.lease_ttl_s = lease_ttl_s
        self.lease_wait_s = lease_wait_from_env() if lease_wait_s is None else lease_wait_s
        self.owner = f"coord run {run_id} (pid {os.getpid()} on {socket.gethostname()})"
        self.contested = self._contested_reads()
        self.taken: dict[int, list[str]] = {}
        self._heartbeat: _Heartbeat | None = None

    @property
    def incident_id(self) -> str:
        return self.incident.incident.id

    def before_step(self, task: Task, key: str, step: StepBase, *, task_states: dict) -> None:
        plan = self.usage.step_plan(task, key, step)
        reason = refusal(self.incident, self.role, task.id, key, plan.actions)
        if reason is not None:
            raise StepBlocked(reason, "refused")
        self._check_blockers(task, task_states)
        if isinstance(step, (RunStep, AlternativesStep, BranchStep)):
            self._take_leases(task, key, step, plan)

    def after_step(self, step: StepBase) -> None:
        names = self.taken.pop(id(step), [])
        for name in names:
            self.store.release(self.incident_id, name, self.role, reason="step ended")
        if not self.taken and self._heartbeat is not None:
            self._heartbeat.stop()
            self._heartbeat = None
        elif self._heartbeat is not None:
            self._heartbeat.resources = [name for held in self.taken.values() for name in held]

    def close(self) -> None:
        for step_id in list(self.taken):
            for name in self.taken.pop(step_id):
                self.store.release(self.incident_id, name, self.role, reason="run ended")
        if self._heartbeat is not None:
            self._heartbeat.stop()
            self._heartbeat = None

    # Blockers

    def _check_blockers(self, task: Task, task_states: dict) -> None:
        self.store.clear_passed_blockers(self.incident_id)
        for message in self.store.messages(self.incident_id, open_only=True):
            if message.sender != self.role or task.id not in blocked_tasks(self.incident, message, task_states):
                continue
            clears = (
                f"it clears when criterion {message.until_criterion} passes (coord check)"
                if message.until_criterion
                else f"a person clears it with `coord resolve {message.id} --by NAME`"
            )
            raise StepBlocked(
                f"task {task.id!r} is blocked by message #{message.id} to {message.recipient} "
                f"({message.text}): {clears}",
                "blocked",
            )

    # Leases

    def _contested_reads(self) -> list[Resource]:
        """Return resources this role reads that another role writes or deploys: reading them takes a lease."""
        usages = self.usage.usages()
        changed_by_others = [usage.resource for usage in usages if usage.role != self.role and usage.mode in CHANGING_MODES]
        return [
            usage.resource
            for usage in usages
            if usage.role == self.role
            and usage.mode not in CHANGING_MODES
            and any(usage.resource.overlaps(other) for other in changed_by_others)
        ]

    def _leased(self, plan: StepPlan) -> list[Resource]:
        wanted: list[Resource] = []
        for resource, mode in plan.touches:
            if mode in CHANGING_MODES or resource in self.contested:
                if resource not in wanted:
                    wanted.append(resource)
        return wanted

    def _take_leases(self, task: Task, key: str, step: StepBase, plan: StepPlan) -> None:
        taken: list[str] = []
        for resource in self._leased(plan):
            outcome = self._claim_waiting(task, key, resource)
            if not outcome.won:
                for name in taken:
                    self.store.release(self.incident_id, name, self.role, reason="step could not start")
                holder = outcome.lease
                note = f" ({holder.note})" if holder.note else ""
                raise StepBlocked(
                    f"step {key} of task {task.id!r} needs {resource}, held by role {holder.holder} as {holder.resource} "
                    f"until {as_utc(holder.expires_at).isoformat(timespec='seconds')}{note}; waited "
                    f"{self.lease_wait_s:g} s: run again once it is released",
                    "blocked",
                )
            if not outcome.renewed:
                taken.append(str(resource))
                self.emit("lease", f"  leased {resource} until {as_utc(outcome.lease.expires_at).isoformat(timespec='seconds')}")
        if taken:
            self.taken[id(step)] = taken
            self._start_heartbeat()

    def _claim_waiting(self, task: Task, key: str, resource: Resource) -> ClaimOutcome:
        deadline = time.monotonic() + self.lease_wait_s
        told = False
        while True:
            outcome = self.store.claim(
                self.incident_id, resource, self.role, ttl_s=self.lease_ttl_s, owner=self.owner, note=f"{task.id} step {key}"
            )
            if outcome.won or time.monotonic() + LEASE_POLL_S > deadline:
                return outcome
            if not told:
                holder = outcome.lease
                self.emit(
                    "wait",
                    f"  waiting up to {self.lease_wait_s:g} s for {resource}: role {holder.holder} holds it until "
                    f"{as_utc(holder.expires_at).isoformat(timespec='seconds')}",
                )
                told = True
            time.sleep(LEASE_POLL_S)

    def _start_heartbeat(self) -> None:
        names = [name for held in self.taken.values() for name in held]
        if self._heartbeat is None:
            self._heartbeat = _Heartbeat(self.store, self.incident_id, self.role, names, self.lease_ttl_s)
            self._heartbeat.start()
        else:
            self._heartbeat.resources = names


class _Heartbeat(threading.Thread):
    """Renews a run's leases every third of their TTL until stopped."""

    def __init__(self, store: CoordinationStore, incident_id: str, role: str, resources: list[str], ttl_s: float) -> None:
        super().__init__(daemon=True, name="coord-lease-heartbeat")
        self.store, self.incident_id, self.role = store, incident_id, role
        self.resources = resources
        self.ttl_s = ttl_s
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.wait(self.ttl_s / 3):
            try:
                self.store.heartbeat(self.incident_id, self.role, resources=list(self.resources), ttl_s=self.ttl_s)
            except SQLAlchemyError:
                # A failed renewal must not stop the step; the next one may succeed, else the lease expires.
                continue

    def stop(self) -> None:
        self._stopped.set()
