"""The board's tables of runs, results and ticks. Times are stored in UTC and shown in the incident's time zone.

The incident table is in coordinator.board.incident and the coordination tables are in
coordinator.board.coordination, so the board verbs define only the tables they use. BoardIncident and
utc_now are re-exported here.
"""

from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlmodel import Field, SQLModel

from coordinator.board.incident import BoardIncident, utc_now

__all__ = ["BoardIncident", "CriterionResult", "RoleRun", "StepRun", "TaskState", "Tick", "utc_now"]


class TaskState(SQLModel, table=True):
    __tablename__ = "task_state"

    incident_id: str = Field(primary_key=True)
    task_id: str = Field(primary_key=True)
    role: str = Field(index=True)
    status: str = "todo"
    detail: Optional[str] = None
    updated_at: dt.datetime = Field(default_factory=utc_now)


class RoleRun(SQLModel, table=True):
    """One `coord run` of one role."""

    __tablename__ = "role_run"

    id: Optional[int] = Field(default=None, primary_key=True)
    incident_id: str = Field(index=True)
    role: str
    target: str
    status: str = "running"
    started_at: dt.datetime = Field(default_factory=utc_now)
    ended_at: Optional[dt.datetime] = None
    pid: Optional[int] = None
    log_path: Optional[str] = None


class StepRun(SQLModel, table=True):
    __tablename__ = "step_run"

    id: Optional[int] = Field(default=None, primary_key=True)
    run_id: int = Field(index=True)
    incident_id: str = Field(index=True)
    role: str
    task_id: str
    step_key: str
    kind: str
    title: Optional[str] = None
    command: Optional[str] = None
    status: str = "running"
    exit_code: Optional[int] = None
    reason: Optional[str] = None
    output_tail: Optional[str] = None
    started_at: dt.datetime = Field(default_factory=utc_now)
    ended_at: Optional[dt.datetime] = None
    git_sha: Optional[str] = None
    git_dirty: Optional[bool] = None
    # The task's attempt: a rerun that resumes keeps it, a fresh start of the task increments it.
    attempt: int = 1
    # Process group of the step's command while it runs, so a later run can tell whether it still runs.
    pid: Optional[int] = None


class CriterionResult(SQLModel, table=True):
    __tablename__ = "criterion_result"

    id: Optional[int] = Field(default=None, primary_key=True)
    incident_id: str = Field(index=True)
    criterion_id: str = Field(index=True)
    role: Optional[str] = None
    target: str
    kind: str
    status: str
    value_json: Optional[str] = None
    detail: Optional[str] = None
    rows_json: Optional[str] = None
    sql: Optional[str] = None
    params_json: Optional[str] = None
    command: Optional[str] = None
    exit_code: Optional[int] = None
    output_tail: Optional[str] = None
    started_at: dt.datetime = Field(default_factory=utc_now)
    duration_ms: int = 0
    step_run_id: Optional[int] = None
    git_sha: Optional[str] = None
    git_dirty: Optional[bool] = None
    # What the warehouse reported for a SQL criterion's query: bytes scanned and bytes billed (BigQuery).
    bytes_processed: Optional[int] = None
    bytes_billed: Optional[int] = None


class Tick(SQLModel, table=True):
    """A person's decision on a manual criterion."""

    __tablename__ = "tick"

    id: Optional[int] = Field(default=None, primary_key=True)
    incident_id: str = Field(index=True)
    criterion_id: str
    ticked_by: str
    reason: str
    passed: bool = True
    ticked_at: dt.datetime = Field(default_factory=utc_now)
