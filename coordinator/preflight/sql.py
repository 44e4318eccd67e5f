"""SQL checks: every query compiles against the target's warehouse; the bytes each criterion would scan."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
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
    start_sql_checks(checker).finish()


def start_sql_checks(checker: Checker) -> PendingSqlChecks:
    """Open the target's warehouse and start compiling the incident's SQL texts, several at once.

    Nothing is reported until `finish`, so the checks that run meanwhile keep their problems in the same
    order. A large incident has hundreds of texts, and the warehouse compiles them outside Python, so the
    other checks run while it does.
    """
    from concurrent.futures import ThreadPoolExecutor

    from coordinator.warehouse.base import open_warehouse
    from coordinator.warehouse.guard import read_only_problem

    target = checker.incident.targets[checker.target]
    try:
        warehouse = open_warehouse(target.warehouse, root=_workdir(checker))
    except CoordinatorError as error:
        return PendingSqlChecks(checker, None, opening_error=error)

    pending = PendingSqlChecks(checker, warehouse)
    for text in sql_texts(checker):
        problem = read_only_problem(text.sql)
        if problem is not None:
            if text.path[0] == "targets":
                pending.not_read_only.append((text, problem))
            continue  # the loader reports the other texts
        try:
            params = _params(checker, text)
            pending.texts.append((text, fill_sql(text.sql, params), params))
        except CoordinatorError as error:
            pending.texts.append((text, error, None))

    workers = max(1, min(getattr(warehouse, "max_concurrent_queries", 1), len(pending.texts)))
    pending.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="preflight")
    pending.outcomes = [pending.pool.submit(_dry_run, warehouse, *prepared) for prepared in pending.texts]
    return pending


@dataclass
class PendingSqlChecks:
    """SQL texts being compiled on a warehouse; `finish` waits for them and reports what they found."""

    checker: Checker
    warehouse: object | None
    opening_error: CoordinatorError | None = None
    not_read_only: list = field(default_factory=list)
    texts: list = field(default_factory=list)
    outcomes: list = field(default_factory=list)
    pool: object | None = None

    def finish(self) -> None:
        checker = self.checker
        if self.warehouse is None:
            checker.add(self._warehouse_path, f"cannot open the warehouse of target {checker.target!r}: {self.opening_error}")
            checker.report.estimate_note = "not estimated: the warehouse could not be opened"
            return
        try:
            self._report()
        finally:
            if self.pool is not None:
                self.pool.shutdown(wait=True, cancel_futures=True)
            self.warehouse.close()

    @property
    def _warehouse_path(self) -> KeyPath:
        return ("targets", self.checker.target, "warehouse")

    def _report(self) -> None:
        from coordinator.warehouse.base import WarehouseUnavailableError

        checker = self.checker
        for text, problem in self.not_read_only:
            checker.add(text.path, f"{problem} in the {text.label} (queries only read)")
        cap = getattr(getattr(self.warehouse, "settings", None), "maximum_bytes_billed", None)
        for (text, _filled, _params), future in zip(self.texts, self.outcomes):
            outcome = future.result()
            if isinstance(outcome, WarehouseUnavailableError):
                checker.add(self._warehouse_path, f"SQL not compiled on target {checker.target!r}: {_without_label(str(outcome), text.label)}")
                checker.report.estimate_note = "not estimated: the warehouse could not be reached"
                checker.report.estimates.clear()
                return
            if isinstance(outcome, CoordinatorError):
                _report_compile_error(checker, text, _without_label(str(outcome), text.label))
                continue
            if text.criterion_id is not None:
                checker.report.estimates.append(ByteEstimate(text.criterion_id, text.criterion_role, outcome.bytes_processed))
                if cap is not None and outcome.bytes_processed is not None and outcome.bytes_processed > cap:
                    from coordinator.warehouse.bigquery import over_budget_message

                    checker.add(text.path, over_budget_message(text.label, outcome.bytes_processed, cap), roles=text.roles)
        if any(estimate.bytes_processed is None for estimate in checker.report.estimates):
            checker.report.estimate_note = f"not estimated: the warehouse of target {checker.target!r} gives no byte estimates"


def _dry_run(warehouse, text: SqlText, filled, params):
    """Return the warehouse's dry run of one filled text, or the CoordinatorError it (or the filling) raised."""
    if isinstance(filled, CoordinatorError):
        return filled
    try:
        return warehouse.dry_run(filled, params, label=text.label)
    except CoordinatorError as error:
        return error


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
