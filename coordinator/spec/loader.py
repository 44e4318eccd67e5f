"""Load an incident file, reporting every problem as `FILE:LINE:COL: key.path: what is wrong`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import yaml
from pydantic import ValidationError

from coordinator.errors import CoordinatorError, IncidentFileError, Problem
from coordinator.spec.located import KeyPath, LocatedDocument, format_key_path, read_located
from coordinator.spec.models import STEP_KINDS, Incident
from coordinator.spec.params import RUNTIME_PARAMETERS, declared_names, sql_parameter_names, template_names

SQL_KEYS = ("sql", "query")


class Reporter:
    """Collects problems located in one file."""

    def __init__(self, file: str, document: LocatedDocument) -> None:
        self.file = file
        self.document = document
        self.problems: list[Problem] = []

    def add(self, path: KeyPath, message: str) -> None:
        line, column = self.document.position(path)
        self.problems.append(Problem(self.file, line, column, format_key_path(path), message))


def load_incident(path: str | Path) -> Incident:
    """Read, validate and cross-check an incident file; raise IncidentFileError listing every problem."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CoordinatorError(f"{file}: incident file not found: check the path") from None
    except (OSError, UnicodeDecodeError) as error:
        raise CoordinatorError(f"{file}: cannot read the incident file: {error}") from None
    return parse_incident(text, file=str(file))


def parse_incident(text: str, *, file: str = "<incident>") -> Incident:
    try:
        document = read_located(text)
    except yaml.YAMLError as error:
        raise IncidentFileError([_yaml_problem(file, error)]) from None

    reporter = Reporter(file, document)
    for duplicate_path, (line, column) in document.duplicates:
        reporter.problems.append(
            Problem(file, line, column, format_key_path(duplicate_path), "duplicate key: each key may appear once")
        )
    if not isinstance(document.data, dict):
        reporter.add((), "an incident file is a mapping with the keys incident, targets, roles, tasks and criteria")
        raise IncidentFileError(reporter.problems)

    try:
        incident = Incident.model_validate(document.data)
    except ValidationError as error:
        for detail in error.errors():
            _report_validation(reporter, detail)
        incident = None

    _check_templates(reporter, document.data)
    if incident is not None:
        from coordinator.spec.references import check_references

        check_references(incident, reporter)

    if reporter.problems:
        raise IncidentFileError(reporter.problems)
    return incident


def _yaml_problem(file: str, error: yaml.YAMLError) -> Problem:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    reason = getattr(error, "problem", None) or str(error)
    return Problem(file, line, column, "", f"invalid YAML: {reason}: fix the syntax at this position")


def _report_validation(reporter: Reporter, detail: dict[str, Any]) -> None:
    path = _data_path(detail["loc"], reporter.document.data)
    kind = detail["type"]
    if kind == "extra_forbidden":
        message = f"unknown key {path[-1]!r}: remove it or check its spelling (see `coord schema`)"
    elif kind == "missing":
        message = f"missing required key {detail['loc'][-1]!r}"
        path = _data_path(detail["loc"][:-1], reporter.document.data)
        path = (*path, detail["loc"][-1])
    elif kind == "step_kind":
        message = f"a step has exactly one of the keys {', '.join(STEP_KINDS)}"
    else:
        message = _plain(detail["msg"])
    reporter.add(path, message)


def _data_path(loc: tuple[Any, ...], data: Any) -> KeyPath:
    """Map a pydantic error location onto keys that exist in the data, dropping union tags.

    A step's location carries its kind as a tag before the field (`steps, 0, run, timeout`); the tag is
    dropped unless it is the last part, where it names the step's own `run:` (or `query:` ...) key.
    """
    path: list[Any] = []
    node = data
    for position, part in enumerate(loc):
        is_last = position == len(loc) - 1
        if isinstance(node, dict) and part in STEP_KINDS and not is_last and _is_step(node):
            continue
        if isinstance(node, dict) and part in node:
            node = node[part]
            path.append(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
            path.append(part)
        elif isinstance(part, str) and ("[" in part or part[:1].isupper() or part in STEP_KINDS):
            continue
        else:
            path.append(part)
            node = None
    return tuple(path)


def _is_step(node: dict[str, Any]) -> bool:
    return any(kind in node for kind in STEP_KINDS)


def _plain(message: str) -> str:
    if message.startswith("Value error, "):
        return message[len("Value error, ") :]
    return message[0].lower() + message[1:] if message else message


def _strings(data: Any, path: KeyPath = ()) -> Iterator[tuple[KeyPath, str]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _strings(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _strings(value, (*path, index))
    elif isinstance(data, str):
        yield path, data


def _check_templates(reporter: Reporter, data: dict[str, Any]) -> None:
    params = data.get("params") if isinstance(data.get("params"), dict) else {}
    targets = data.get("targets") if isinstance(data.get("targets"), dict) else {}
    known = declared_names(params, {name: t for name, t in targets.items() if isinstance(t, dict)})

    for path, text in _strings(data):
        for name in template_names(text):
            if name not in known:
                reporter.add(path, f"undefined parameter {{{{ {name} }}}}: declare it under params or fix the name")
        if path and path[-1] in SQL_KEYS:
            local = _local_params(data, path)
            for name in sql_parameter_names(text):
                if name not in known and name not in local and name not in RUNTIME_PARAMETERS:
                    reporter.add(path, f"undefined query parameter @{name}: declare it under params or fix the name")


def _local_params(data: Any, path: KeyPath) -> set[str]:
    node = data
    for part in path[:-1]:
        node = node[part]
    params = node.get("params") if isinstance(node, dict) else None
    return set(params) if isinstance(params, dict) else set()
