"""Evaluating criteria: SQL through the target's warehouse, commands in its work folder, manual by ticks."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from coordinator.board.tables import CriterionResult, Tick, utc_now
from coordinator.criteria.compare import compare, describe
from coordinator.errors import CoordinatorError
from coordinator.runner.redact import redact
from coordinator.spec.models import Criterion, Expect, Param, ParamValue, command_for
from coordinator.spec.params import TypedValue, fill_command, fill_sql
from coordinator.target import TargetContext
from coordinator.values import plain_value

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

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    def to_row(self, incident_id: str, target: str, step_run_id: int | None = None) -> CriterionResult:
        from coordinator.board.store import dumps

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
        )


def evaluate(criterion: Criterion, context: TargetContext, *, ticks: dict[str, Tick] | None = None) -> Evaluation:
    """Measure one criterion on the context's target. Problems become status `error`, never exceptions."""
    started, clock = utc_now(), time.monotonic()
    if criterion.manual:
        evaluation = _manual(criterion, (ticks or {}).get(criterion.id))
    else:
        try:
            if criterion.sql is not None:
                evaluation = _sql(criterion, context)
            else:
                evaluation = _command(criterion, context)
        except CoordinatorError as error:
            evaluation = Evaluation(criterion.id, criterion.role, criterion.kind, "error", detail=str(error))
    evaluation.started_at = started
    evaluation.duration_ms = int((time.monotonic() - clock) * 1000)
    return evaluation


def measure_sql(
    sql: str,
    expect: Expect,
    context: TargetContext,
    *,
    label: str,
    extra_params: dict[str, Param | ParamValue] | None = None,
) -> tuple[str, Any, str, list[dict[str, Any]], str, dict[str, TypedValue]]:
    """Run `sql` and compare `expect.column`; return (status, value, detail, rows, filled sql, params)."""
    params = context.params(extra_params)
    filled = fill_sql(sql, params)
    result = context.warehouse().query(filled, params, label=label)
    rows = [{key: plain_value(value) for key, value in record.items()} for record in result.records()]
    assert expect.column is not None and expect.op is not None

    if expect.column not in result.columns:
        columns = ", ".join(result.columns) or "none"
        return "error", None, f"column {expect.column!r} is not in the result (columns: {columns})", rows, filled, params
    if not rows:
        return "fail", None, "the query returned no rows", rows, filled, params

    wanted = describe(expect.op, expect.value)
    if expect.rows == "all":
        failing = [row for row in rows if not compare(row[expect.column], expect.op, expect.value)]
        if failing:
            value = failing[0][expect.column]
            return "fail", value, f"{len(failing)} of {len(rows)} rows not {wanted}", rows, filled, params
        return "pass", rows[0][expect.column], f"all {len(rows)} rows {wanted}", rows, filled, params

    value = rows[0][expect.column]
    status = "pass" if compare(value, expect.op, expect.value) else "fail"
    return status, value, f"{expect.column} = {value}, expected {wanted}", rows, filled, params


def _sql(criterion: Criterion, context: TargetContext) -> Evaluation:
    assert criterion.sql is not None and criterion.expect is not None
    status, value, detail, rows, filled, params = measure_sql(
        criterion.sql, criterion.expect, context, label=f"criterion {criterion.id!r}", extra_params=criterion.params
    )
    used = {name: plain_value(params[name].value) for name in params if f"@{name}" in filled}
    return Evaluation(
        criterion.id, criterion.role, "sql", status, value=value, detail=detail, rows=rows, sql=filled, params=used
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
    output = redact(outcome.output)
    evaluation = Evaluation(
        criterion.id, criterion.role, "command", "pass", command=command, exit_code=outcome.exit_code, output_tail=output
    )
    if outcome.timed_out:
        evaluation.status, evaluation.detail = "error", f"command timed out after {criterion.timeout:g} s"
        return evaluation

    evaluation.value, evaluation.detail = _judge_output(criterion.expect, outcome.exit_code, output, evaluation)
    return evaluation


def _judge_output(expect: Expect, exit_code: int, output: str, evaluation: Evaluation) -> tuple[Any, str]:
    first_line = next((line.strip() for line in output.splitlines() if line.strip()), "")
    value: Any = first_line[:120] if expect.output is not None else exit_code
    reasons = []

    if expect.exit_code is not None and exit_code != expect.exit_code:
        evaluation.status = "fail"
        reasons.append(f"exit code {exit_code}, expected {expect.exit_code}")

    if expect.output is not None:
        match = re.search(expect.output, output)
        if match is None:
            evaluation.status = "fail"
            reasons.append(f"output does not match {expect.output!r}")
        elif "value" in match.groupdict():
            value = match.group("value")
            if expect.op is not None and not compare(value, expect.op, expect.value):
                evaluation.status = "fail"
                reasons.append(f"value {value}, expected {describe(expect.op, expect.value)}")

    if not reasons:
        return value, "as expected"
    return value, "; ".join(reasons)


def _manual(criterion: Criterion, tick: Tick | None) -> Evaluation:
    if tick is None:
        return Evaluation(criterion.id, criterion.role, "manual", "waiting", detail="waiting for a person's tick")
    status = "pass" if tick.passed else "fail"
    verdict = "ticked" if tick.passed else "rejected"
    return Evaluation(
        criterion.id, criterion.role, "manual", status, value=verdict, detail=f"{verdict} by {tick.ticked_by}: {tick.reason}"
    )
