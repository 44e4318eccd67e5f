"""Evaluating criteria: SQL through the target's warehouse, commands in its work folder, manual by ticks."""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from coordinator.criteria.compare import compare, describe
from coordinator.errors import CoordinatorError
from coordinator.runner.redact import redact
from coordinator.spec.models import Criterion, Expect, Param, ParamValue, command_for
from coordinator.spec.params import TypedValue, fill_command, fill_sql
from coordinator.target import TargetContext
from coordinator.values import plain_value

# The board's tables (SQLModel) are imported only where a result is stored, so `coord check` can measure
# its queries while it is still opening the board.
if TYPE_CHECKING:
    from coordinator.board.tables import CriterionResult, Tick

ROWS_KEPT = 50


@dataclass
class Evaluation:
    """One measurement of a criterion. `status` is pass, fail, error (not measurable) or waiting (manual)."""

    criterion_id: str
    role: str | None
    kind: str
    status: str
    value: Any = None
    detail: str = ""
    rows: list[dict[str, Any]] = field(default_factory=list)
    sql: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    command: str | None = None
    exit_code: int | None = None
    output_tail: str | None = None
    started_at: Any = None
    duration_ms: int = 0
    git_sha: str | None = None
    git_dirty: bool | None = None
    bytes_processed: int | None = None
    bytes_billed: int | None = None

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    def to_row(self, incident_id: str, target: str, step_run_id: int | None = None) -> CriterionResult:
        from coordinator.board.store import dumps
        from coordinator.board.tables import CriterionResult

        return CriterionResult(
            incident_id=incident_id,
            criterion_id=self.criterion_id,
            role=self.role,
            target=target,
            kind=self.kind,
            status=self.status,
            value_json=dumps(self.value),
            detail=self.detail,
            rows_json=dumps(self.rows[:ROWS_KEPT]),
            sql=self.sql,
            params_json=dumps(self.params),
            command=self.command,
            exit_code=self.exit_code,
            output_tail=self.output_tail,
            started_at=self.started_at,
            duration_ms=self.duration_ms,
            step_run_id=step_run_id,
            git_sha=self.git_sha,
            git_dirty=self.git_dirty,
            bytes_processed=self.bytes_processed,
            bytes_billed=self.bytes_billed,
        )


def evaluate(
    criterion: Criterion,
    context: TargetContext,
    *,
    ticks: dict[str, Tick] | None = None,
    record_provenance: bool = True,
) -> Evaluation:
    """Measure one criterion on the context's target. Problems become status `error`, never exceptions.

    A measured criterion records HEAD's commit and whether the tree is dirty, unless `record_provenance` is
    False: the caller then records one reading for a batch that cannot change the repository.
    """
    started, clock = dt.datetime.now(dt.timezone.utc), time.monotonic()
    if criterion.manual:
        evaluation = _manual(criterion, (ticks or {}).get(criterion.id))
    else:
        try:
            if criterion.sql is not None:
                evaluation = _sql(criterion, context)
            elif criterion.drift is not None:
                from coordinator.criteria.drift import evaluate_drift

                evaluation = evaluate_drift(criterion, context)
            else:
                evaluation = _command(criterion, context)
        except CoordinatorError as error:
            evaluation = Evaluation(criterion.id, criterion.role, criterion.kind, "error", detail=str(error))
    evaluation.started_at = started
    evaluation.duration_ms = int((time.monotonic() - clock) * 1000)
    if record_provenance and not criterion.manual:
        from coordinator.gitops.repository import read_provenance

        record_provenance_of(evaluation, read_provenance(context.repo))
    return evaluation


def record_provenance_of(evaluation: Evaluation, provenance) -> None:
    evaluation.git_sha, evaluation.git_dirty = provenance.sha, provenance.dirty


@dataclass
class SqlMeasurement:
    """A SQL criterion's query run once and judged, with what the warehouse reported it scanned."""

    status: str
    value: Any
    detail: str
    rows: list[dict[str, Any]]
    sql: str
    params: dict[str, TypedValue]
    bytes_processed: int | None = None
    bytes_billed: int | None = None


def measure_sql(
    sql: str,
    expect: Expect,
    context: TargetContext,
    *,
    label: str,
    extra_params: dict[str, Param | ParamValue] | None = None,
) -> tuple[str, Any, str, list[dict[str, Any]], str, dict[str, TypedValue]]:
    """Run `sql` and compare `expect.column`; return (status, value, detail, rows, filled sql, params)."""
    measured = measure_sql_query(sql, expect, context, label=label, extra_params=extra_params)
    return measured.status, measured.value, measured.detail, measured.rows, measured.sql, measured.params


def measure_sql_query(
    sql: str,
    expect: Expect,
    context: TargetContext,
    *,
    label: str,
    extra_params: dict[str, Param | ParamValue] | None = None,
    job_labels: dict[str, str] | None = None,
) -> SqlMeasurement:
    """Run `sql` with bound parameters and compare `expect.column` with the expectation."""
    params = context.params(extra_params)
    filled = fill_sql(sql, params)
    result = context.warehouse().query(filled, params, label=label, job_labels=job_labels)
    rows = [{key: plain_value(value) for key, value in record.items()} for record in result.records()]
    status, value, detail = _judge_rows(expect, result.columns, rows)
    return SqlMeasurement(
        status, value, detail, rows, filled, params, bytes_processed=result.bytes_processed, bytes_billed=result.bytes_billed
    )


def _judge_rows(expect: Expect, columns: list[str], rows: list[dict[str, Any]]) -> tuple[str, Any, str]:
    assert expect.column is not None and expect.op is not None
    if expect.column not in columns:
        return "error", None, f"column {expect.column!r} is not in the result (columns: {', '.join(columns) or 'none'})"
    if not rows:
        return "fail", None, "the query returned no rows"

    expected_text = describe(expect.op, expect.value)
    if expect.rows == "all":
        failing = [row for row in rows if not compare(row[expect.column], expect.op, expect.value)]
        if failing:
            return "fail", failing[0][expect.column], f"{len(failing)} of {len(rows)} rows not {expected_text}"
        return "pass", rows[0][expect.column], f"all {len(rows)} rows {expected_text}"

    value = rows[0][expect.column]
    status = "pass" if compare(value, expect.op, expect.value) else "fail"
    return status, value, f"{expect.column} = {value}, expected {expected_text}"


def _sql(criterion: Criterion, context: TargetContext) -> Evaluation:
    assert criterion.sql is not None and criterion.expect is not None
    measured = measure_sql_query(
        criterion.sql,
        criterion.expect,
        context,
        label=f"criterion {criterion.id!r}",
        extra_params=criterion.params,
        job_labels={"incident": context.incident.incident.id, "criterion": criterion.id},
    )
    used = {name: plain_value(measured.params[name].value) for name in measured.params if f"@{name}" in measured.sql}
    return Evaluation(
        criterion.id,
        criterion.role,
        "sql",
        measured.status,
        value=measured.value,
        detail=measured.detail,
        rows=measured.rows,
        sql=measured.sql,
        params=used,
        bytes_processed=measured.bytes_processed,
        bytes_billed=measured.bytes_billed,
    )


def _command(criterion: Criterion, context: TargetContext) -> Evaluation:
    assert criterion.expect is not None
    template = command_for(criterion.command, context.target)
    if template is None:
        return Evaluation(
            criterion.id, criterion.role, "command", "error", detail=f"no command for target {context.target!r}"
        )
    command = fill_command(template, context.params(criterion.params))
    outcome = context.run_command(command, timeout=criterion.timeout)
    secrets = context.secret_values()
    output = redact(outcome.output, secrets)
    evaluation = Evaluation(
        criterion.id,
        criterion.role,
        "command",
        "pass",
        command=redact(command, secrets),
        exit_code=outcome.exit_code,
        output_tail=output,
    )
    if outcome.timed_out:
        evaluation.status, evaluation.detail = "error", f"command timed out after {criterion.timeout:g} s"
        return evaluation

    evaluation.value, evaluation.detail = _judge_output(criterion.expect, outcome.exit_code, output, evaluation)
    return evaluation


def _judge_output(expect: Expect, exit_code: int, output: str, evaluation: Evaluation) -> tuple[Any, str]:
    """Return the measured value and a sentence saying why the command passed or failed.

    The value is the captured `value` group, else the first output line (`(no output)` when empty) for an
    output check, else the exit code.
    """
    first_line = next((line.strip() for line in output.splitlines() if line.strip()), "")
    value: Any = (first_line[:120] or "(no output)") if expect.output is not None else exit_code
    reasons, matched = [], []

    if expect.exit_code is not None:
        if exit_code != expect.exit_code:
            evaluation.status = "fail"
            reasons.append(f"exit code {exit_code}, expected {expect.exit_code}")
        else:
            matched.append(f"exit code {exit_code}")

    if expect.output is not None:
        match = re.search(expect.output, output)
        if match is None:
            evaluation.status = "fail"
            reasons.append(f"output does not match /{expect.output}/")
        elif "value" in match.groupdict():
            value = match.group("value")
            if expect.op is not None and not compare(value, expect.op, expect.value):
                evaluation.status = "fail"
                reasons.append(f"value {value}, expected {describe(expect.op, expect.value)}")
            else:
                matched.append(f"value {value}")
        else:
            matched.append(f"output matches /{expect.output}/")

    if not reasons:
        return value, ", ".join(matched) + ", as expected"
    return value, "; ".join(reasons)


def _manual(criterion: Criterion, tick: Tick | None) -> Evaluation:
    if tick is None:
        return Evaluation(criterion.id, criterion.role, "manual", "waiting", detail="waiting for a person's tick")
    status = "pass" if tick.passed else "fail"
    verdict = "ticked" if tick.passed else "rejected"
    return Evaluation(
        criterion.id, criterion.role, "manual", status, value=verdict, detail=f"{verdict} by {tick.ticked_by}: {tick.reason}"
    )
