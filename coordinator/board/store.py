"""Reading and writing the board. Only this package talks to the board database."""

from __future__ import annotations

import datetime as dt
import json
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

from sqlalchemy import func
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from coordinator.errors import CoordinatorError
from coordinator.board.engine import board_url, open_engine
from coordinator.board.tables import BoardIncident, CriterionResult, RoleRun, StepRun, TaskState, Tick, utc_now


class Board:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = open_engine(url)

    @classmethod
    def for_repo(cls, repo: Path, override: str | None = None) -> Board:
        return cls(board_url(repo, override))

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    @contextmanager
    def _write(self) -> Iterator[Session]:
        """Open a write transaction that takes SQLite's write lock before its first read.

        A read-then-write in a deferred transaction fails at once with "database is locked" when another
        process writes meanwhile. Taking the lock first makes such a writer wait for the busy timeout instead.
        """
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                if self.engine.dialect.name == "sqlite":
                    session.connection().exec_driver_sql("BEGIN IMMEDIATE")
                yield session
                session.commit()
        except OperationalError as error:
            raise CoordinatorError(f"cannot write the board at {self.url}: {error.orig}: try again") from None

    def _add(self, *rows: Any) -> None:
        with self._write() as session:
            for row in rows:
                session.add(row)

    # Incidents and tasks

    def record_incident(self, incident_id: str, title: str, file: str) -> None:
        with self._write() as session:
            row = session.get(BoardIncident, incident_id) or BoardIncident(id=incident_id, title=title, file=file)
            row.title, row.file, row.loaded_at = title, file, utc_now()
            session.add(row)

    def task_states(self, incident_id: str) -> dict[str, TaskState]:
        with self._session() as session:
            rows = session.exec(select(TaskState).where(TaskState.incident_id == incident_id)).all()
        return {row.task_id: row for row in rows}

    def set_task_state(self, incident_id: str, task_id: str, role: str, status: str, detail: str | None = None) -> None:
        with self._write() as session:
            row = session.get(TaskState, (incident_id, task_id)) or TaskState(
                incident_id=incident_id, task_id=task_id, role=role
            )
            row.status, row.detail, row.updated_at = status, detail, utc_now()
            session.add(row)

    # Runs

    def start_run(self, incident_id: str, role: str, target: str, pid: int) -> RoleRun:
        run = RoleRun(incident_id=incident_id, role=role, target=target, pid=pid)
        self._add(run)
        return run

    def finish_run(self, run: RoleRun, status: str) -> None:
        run.status, run.ended_at = status, utc_now()
        self._add(run)

    def update_run(self, run: RoleRun, **changes: Any) -> None:
        for key, value in changes.items():
            setattr(run, key, value)
        self._add(run)

    def start_step(self, step: StepRun) -> StepRun:
        self._add(step)
        return step

    def update_step(self, step: StepRun, **changes: Any) -> None:
        for key, value in changes.items():
            setattr(step, key, value)
        self._add(step)

    def save_step_output(self, step_id: int, output_tail: str) -> None:
        """Store the output tail of a running step by id, without touching a StepRun object another thread holds."""
        with self._write() as session:
            row = session.get(StepRun, step_id)
            if row is not None:
                row.output_tail = output_tail
                session.add(row)

    def finish_step(self, step: StepRun, **changes: Any) -> None:
        self.update_step(step, ended_at=utc_now(), **changes)

    def step_runs(self, incident_id: str, *, role: str | None = None) -> list[StepRun]:
        query = select(StepRun).where(StepRun.incident_id == incident_id)
        if role is not None:
            query = query.where(StepRun.role == role)
        with self._session() as session:
            return list(session.exec(query.order_by(StepRun.id)).all())

    def runs(self, incident_id: str, *, role: str | None = None) -> list[RoleRun]:
        query = select(RoleRun).where(RoleRun.incident_id == incident_id)
        if role is not None:
            query = query.where(RoleRun.role == role)
        with self._session() as session:
            return list(session.exec(query.order_by(RoleRun.id)).all())

    # Criteria

    def add_results(self, results: Iterable[CriterionResult]) -> None:
        self._add(*results)

    def results(self, incident_id: str, criterion_ids: Iterable[str] | None = None) -> list[CriterionResult]:
        query = select(CriterionResult).where(CriterionResult.incident_id == incident_id)
        if criterion_ids is not None:
            query = query.where(CriterionResult.criterion_id.in_(list(criterion_ids)))
        with self._session() as session:
            return list(session.exec(query.order_by(CriterionResult.id)).all())

    def latest_results(self, incident_id: str) -> dict[str, CriterionResult]:
        latest_ids = (
            select(func.max(CriterionResult.id))
            .where(CriterionResult.incident_id == incident_id)
            .group_by(CriterionResult.criterion_id)
        )
        with self._session() as session:
            rows = session.exec(select(CriterionResult).where(CriterionResult.id.in_(latest_ids))).all()
        return {row.criterion_id: row for row in rows}

    def add_tick(self, incident_id: str, criterion_id: str, *, ticked_by: str, reason: str, passed: bool) -> Tick:
        tick = Tick(incident_id=incident_id, criterion_id=criterion_id, ticked_by=ticked_by, reason=reason, passed=passed)
        self._add(tick)
        return tick

    def latest_ticks(self, incident_id: str) -> dict[str, Tick]:
        with self._session() as session:
            rows = session.exec(select(Tick).where(Tick.incident_id == incident_id).order_by(Tick.id)).all()
        return {row.criterion_id: row for row in rows}


def dumps(value: Any) -> str:
    from coordinator.values import plain_value

    return json.dumps(plain_value(value), default=str)


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def as_utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.timezone.utc) if moment.tzinfo is None else moment
