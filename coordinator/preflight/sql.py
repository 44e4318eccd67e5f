"""SQL checks: every query compiles against the target's warehouse; the bytes each criterion would scan."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Iterator

from coordinator.errors import CoordinatorError
from coordinator.preflight.checker import Checker
from coordinator.preflight.report import ByteEstimate
from coordinator.spec.located import KeyPath
from coordinator.spec.models import BranchStep, Clock, QueryStep
from coordinator.spec.params import TypedValue, fill_sql, resolve

# Names a warehouse's message points at, to place the problem on the line where the name is written.
NAME_PATTERNS = (
    re.compile(r"Table with name (?P<name>[\w-]+) does not exist"),
    re.compile(r"Not found: Table [\w.:-]*?[.:](?P<name>[\w-]+) was not found"),
    re.compile(r'Referenced column "?(?P<name>\w+)"? not found'),
    re.compile(r"Unrecognized name: (?P<name>\w+)"),
    re.compile(r"[Ff]unction (?:with name )?(?P<name>\w+) does not exist"),
)
LINE_COLUMN = re.compile(r"\[(?P<line>\d+):(?P<column>\d+)\]")


@dataclass
class SqlText:
    path: KeyPath
    sql: str
    label: str
    local_params: dict
    roles: set[str]
    criterion_id: str | None = None
    criterion_role: str | None = None


def sql_texts(checker: Checker) -> Iterator[SqlText]:
    incident = checker.incident
    for index, criterion in enumerate(incident.criteria):
        if criterion.sql is not None:
            yield SqlText(
                ("criteria", index, "sql"),
                criterion.sql,
                f"criterion {criterion.id!r}",
                dict(criterion.params),
                checker.criterion_roles(criterion),
                criterion.id,
                criterion.role,
            )
    for _index, task, path, key, step, _alternative in checker.task_steps():
        if isinstance(step, QueryStep):
            yield SqlText((*path, "query"), step.query, f"query {key} of task {task.id!r}", dict(step.params), {task.role})
        if isinstance(step, BranchStep) and step.branch.condition.sql is not None:
            condition = step.branch.condition
            yield SqlText(
                (*path, "branch", "if", "sql"), condition.sql, f"branch {key} of task {task.id!r}", dict(condition.params), {task.role}
            )
    clock = incident.targets[checker.target].clock
    if isinstance(clock, Clock) and clock.sql is not None:
        yield SqlText(("targets", checker.target, "clock", "sql"), clock.sql, f"clock of target {checker.target!r}", {}, set())


def check_sql(checker: Checker) -> None:
    """Compile every SQL text of the incident on the target's warehouse, without running any of them."""
    from coordinator.warehouse.base import WarehouseError, WarehouseUnavailableError, open_warehouse
    from coordinator.warehouse.guard import read_only_problem

    target = checker.incident.targets[checker.target]
    warehouse_path = ("targets", checker.target, "warehouse")
    try:
        warehouse = open_warehouse(target.warehouse, root=_workdir(checker))
    except CoordinatorError as error:
        checker.add(warehouse_path, f"cannot open the warehouse of target {checker.target!r}: {error}")
        checker.report.estimate_note = "not estimated: the warehouse could not be opened"
        return

    cap = getattr(getattr(warehouse, "settings", None), "maximum_bytes_billed", None)
    try:
        for text in sql_texts(checker):
            problem = read_only_problem(text.sql)
            if problem is not None:
                if text.path[0] == "targets":
                    checker.add(text.path, f"{problem} in the {text.label} (queries only read)")
                continue  # the loader reports the other texts
            try:
                params = _params(checker, text)
                filled = fill_sql(text.sql, params)
                estimate = warehouse.dry_run(filled, params, label=text.label)
            except WarehouseUnavailableError as error:
                checker.add(warehouse_path, f"SQL not compiled on target {checker.target!r}: {_without_label(str(error), text.label)}")
                checker.report.estimate_note = "not estimated: the warehouse could not be reached"
                checker.report.estimates.clear()
                return
            except CoordinatorError as error:
                _report_compile_error(checker, text, _without_label(str(error), text.label))
                continue
            if text.criterion_id is not None:
                checker.report.estimates.append(ByteEstimate(text.criterion_id, text.criterion_role, estimate.bytes_processed))
                if cap is not None and estimate.bytes_processed is not None and estimate.bytes_processed > cap:
                    from coordinator.warehouse.bigquery import over_budget_message

                    checker.add(text.path, over_budget_message(text.label, estimate.bytes_processed, cap), roles=text.roles)
        if any(estimate.bytes_processed is None for estimate in checker.report.estimates):
            checker.report.estimate_note = f"not estimated: the warehouse of target {checker.target!r} gives no byte estimates"
    finally:
        warehouse.close()


def _report_compile_error(checker: Checker, text: SqlText, message: str) -> None:
    name = next((match.group("name") for pattern in NAME_PATTERNS if (match := pattern.search(message))), None)
    line_column = LINE_COLUMN.search(message)
    position = checker.locator.in_value(
        text.path, name=name, line=int(line_column.group("line")) if line_column else None
    )
    checker.add(
        text.path,
        f"{text.label} does not compile on target {checker.target!r}: {message}",
        roles=text.roles,
        position=position,
    )


def _params(checker: Checker, text: SqlText) -> dict[str, TypedValue]:
    """Return the values in force for the text; `@now` is this machine's time, since only its type matters here."""
    values = resolve(checker.incident, checker.target, extra=text.local_params)
    values["now"] = TypedValue(dt.datetime.now(dt.timezone.utc).replace(tzinfo=None), "TIMESTAMP")
    return values


def _workdir(checker: Checker):
    from pathlib import Path

    folder = Path(checker.incident.targets[checker.target].workdir)
    return folder if folder.is_absolute() else (checker.repo / folder).resolve()


def _without_label(message: str, label: str) -> str:
    prefix = f"{label}: "
    return message[len(prefix) :] if message.startswith(prefix) else message
