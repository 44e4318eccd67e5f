"""Date checks: every date resolves, ranges run forwards, and nothing reaches past the incident date unless the
task is marked forward-looking."""

from __future__ import annotations

import datetime as dt
import re
from typing import Iterator

from coordinator.errors import CoordinatorError
from coordinator.preflight.checker import Checker
from coordinator.spec.located import KeyPath
from coordinator.spec.models import BranchStep, Param, PerTarget, QueryStep, RunStep, command_for
from coordinator.spec.params import SQL_PARAMETER, TEMPLATE, TypedValue, resolve, typed

ISO_DATE = re.compile(r"(?<![\d-])(\d{4})-(\d{2})-(\d{2})(?![\d])")
COMMAND_RANGE = re.compile(r"--start[-_]date[ =](?P<start>\S+).*?--end[-_]date[ =](?P<end>\S+)", re.DOTALL)
RANGE_NAME = re.compile(r"^(?P<stem>.+?)_?(?P<edge>start|end|from|to|begin|since|until)$")


def check_dates(checker: Checker) -> None:
    _check_param_values(checker)
    values = resolve(checker.incident, checker.target)
    _check_param_ranges(checker, values)

    for path, text, extra, owner, forward_looking, roles in _dated_texts(checker):
        local = {**values, **{name: typed(raw) for name, raw in extra.items()}}
        for name, moment in _dates_in(text, local, path, checker, roles):
            if moment > checker.incident.incident.date and not forward_looking:
                checker.add(
                    path,
                    f"{name} = {moment.isoformat()} is after the incident date {checker.incident.incident.date}: fix the "
                    f"date, or set forward_looking: true on {owner} if the later dates are intended",
                    roles=roles,
                )
        _check_command_range(checker, path, text, local, roles)


def _check_param_values(checker: Checker) -> None:
    """Report DATE and TIMESTAMP parameters whose values do not parse."""
    sections: list[tuple[KeyPath, dict]] = [(("params",), checker.incident.params)]
    sections += [(("targets", name, "params"), target.params) for name, target in checker.incident.targets.items()]
    for prefix, params in sections:
        for name, raw in params.items():
            if isinstance(raw, Param) and raw.type in ("DATE", "TIMESTAMP") and isinstance(raw.value, str):
                try:
                    typed(raw)
                except ValueError:
                    checker.add((*prefix, name), f"{raw.value!r} is not a valid {raw.type}: write YYYY-MM-DD (or an ISO-8601 time)")


def _check_param_ranges(checker: Checker, values: dict[str, TypedValue]) -> None:
    """Report pairs such as `backfill_start`/`backfill_end` whose start is after their end."""
    dates = {name: _as_date(value.value) for name, value in values.items() if _as_date(value.value) is not None}
    for name, start in dates.items():
        match = RANGE_NAME.match(name)
        if match is None or match.group("edge") not in ("start", "from", "begin", "since"):
            continue
        for edge in ("end", "to", "until"):
            for separator in ("_", ""):
                end_name = f"{match.group('stem')}{separator}{edge}"
                if end_name in dates and dates[end_name] < start:
                    checker.add(
                        ("params", name),
                        f"date range {name} = {start} .. {end_name} = {dates[end_name]} starts after it ends: swap or fix the dates",
                    )


def _dated_texts(checker: Checker) -> Iterator[tuple[KeyPath, str, dict, str, bool, set[str]]]:
    """Yield (path, text, local params, owner, forward-looking, roles) for every command and query of the target."""
    incident = checker.incident
    forward_tasks = {task.id for task in incident.tasks if task.forward_looking}
    for _index, task, path, _key, step, _alternative in checker.task_steps():
        owner = f"task {task.id!r}"
        if isinstance(step, RunStep):
            command = command_for(step.run, checker.target)
            if command is not None:
                key = (*path, "run", checker.target) if isinstance(step.run, PerTarget) else (*path, "run")
                yield key, command, {}, owner, task.forward_looking, {task.role}
        if isinstance(step, QueryStep):
            yield (*path, "query"), step.query, dict(step.params), owner, task.forward_looking, {task.role}
        if isinstance(step, BranchStep) and step.branch.condition.sql is not None:
            condition = step.branch.condition
            yield (*path, "branch", "if", "sql"), condition.sql, dict(condition.params), owner, task.forward_looking, {task.role}

    for index, criterion in enumerate(incident.criteria):
        verifying = [task for task in incident.tasks if criterion.id in task.verified_by]
        # A criterion may look ahead only when every task it verifies does.
        forward_looking = bool(verifying) and all(task.id in forward_tasks for task in verifying)
        owner = f"the tasks that criterion {criterion.id!r} verifies"
        roles = checker.criterion_roles(criterion)
        if criterion.sql is not None:
            yield ("criteria", index, "sql"), criterion.sql, dict(criterion.params), owner, forward_looking, roles
        command = command_for(criterion.command, checker.target)
        if command is not None:
            key = ("criteria", index, "command") + ((checker.target,) if isinstance(criterion.command, PerTarget) else ())
            yield key, command, dict(criterion.params), owner, forward_looking, roles


def _dates_in(text: str, values: dict[str, TypedValue], path: KeyPath, checker: Checker, roles) -> Iterator[tuple[str, dt.date]]:
    """Yield (how it is written, date) for each parameter and literal date the text uses."""
    names = [match.group(1) for match in TEMPLATE.finditer(text)]
    if path[-1] in ("sql", "query"):
        names += [match.group(1) for match in SQL_PARAMETER.finditer(text)]
    for name in dict.fromkeys(names):
        if name in values and name not in ("incident_date",):
            moment = _as_date(values[name].value)
            if moment is not None:
                written = f"{{{{ {name} }}}}" if f"{{{{ {name} }}}}" in text or f"{{{{{name}}}}}" in text else f"@{name}"
                yield written, moment
    for match in ISO_DATE.finditer(TEMPLATE.sub("", text)):
        try:
            yield match.group(0), dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            checker.add(path, f"{match.group(0)} is not a valid date: fix it", roles=roles)


def _check_command_range(checker: Checker, path: KeyPath, text: str, values: dict[str, TypedValue], roles) -> None:
    from coordinator.spec.params import fill_text

    try:
        filled = fill_text(text, values)
    except CoordinatorError:
        return
    for match in COMMAND_RANGE.finditer(filled):
        start, end = _parse_date(match.group("start")), _parse_date(match.group("end"))
        if start is not None and end is not None and start > end:
            checker.add(path, f"date range {start} .. {end} starts after it ends: swap or fix the dates", roles=roles)


def _as_date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return None


def _parse_date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text.strip("'\""))
    except ValueError:
        return None
