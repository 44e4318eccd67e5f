"""Load an incident file, reporting every problem as `FILE:LINE:COL: key.path: what is wrong`."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import yaml
from pydantic import ValidationError

from coordinator.errors import CoordinatorError, IncidentFileError, Problem
from coordinator.spec.located import KeyPath, LocatedDocument, LocatedYAMLError, format_key_path, read_located
from coordinator.spec.models import IDENTIFIER, STEP_KINDS, Incident
from coordinator.spec.params import (
    RUNTIME_PARAMETERS,
    declared_names,
    is_sql_identifier,
    quoted_placeholders,
    sql_parameter_names,
    template_names,
    unsupported_templates,
)

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


def load_incident(path: str | Path, *, check_sql: bool = True) -> Incident:
    """Read, validate and cross-check an incident file; raise IncidentFileError listing every problem.

    `check_sql=False` skips parsing every query for the read-only check, which needs sqlglot; the board
    verbs that run no query of the file use it to start fast.
    """
    loaded = read_incident(path, check_sql=check_sql)
    if loaded.problems:
        raise IncidentFileError(loaded.problems)
    assert loaded.incident is not None
    return loaded.incident


@dataclass
class LoadedIncident:
    """An incident file as read: the model (None when it does not validate), the located document (None
    when the YAML does not parse), its text, and every problem found while loading."""

    file: str
    text: str
    incident: Incident | None
    document: LocatedDocument | None
    problems: list[Problem] = field(default_factory=list)


def read_incident(path: str | Path, *, check_sql: bool = True) -> LoadedIncident:
    """Read an incident file keeping its positions; problems are returned, not raised.

    Raises CoordinatorError only when the file cannot be read at all.
    """
    file = Path(path)
    text = _read_text(file)
    return read_incident_text(text, file=str(file), check_sql=check_sql)


MAX_FILE_BYTES = 5 * 1024 * 1024


def _read_text(file: Path) -> str:
    """Read a regular file of at most 5 MB as UTF-8. Anything else (a folder, a device, a pipe) is rejected
    before it is opened."""
    import os
    import stat

    try:
        status = os.stat(file)
    except FileNotFoundError:
        raise CoordinatorError(f"{file}: incident file not found: check the path") from None
    except OSError as error:
        raise CoordinatorError(f"{file}: cannot read the incident file: {error.strerror or error}") from None
    if stat.S_ISDIR(status.st_mode):
        raise CoordinatorError(f"{file}: is a folder, not an incident file: give the path of the YAML file")
    if not stat.S_ISREG(status.st_mode):
        raise CoordinatorError(f"{file}: not a regular file (a device or a pipe): give the path of the YAML file")
    if status.st_size > MAX_FILE_BYTES:
        raise CoordinatorError(
            f"{file}: the file has {status.st_size} bytes, more than the 5 MB an incident file may have: check the path"
        )
    try:
        with open(file, "rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise CoordinatorError(f"{file}: cannot read the incident file: {error.strerror or error}") from None
    if len(data) > MAX_FILE_BYTES:
        raise CoordinatorError(f"{file}: the file has more than the 5 MB an incident file may have: check the path")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CoordinatorError(
            f"{file}: not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start}): save it as UTF-8"
        ) from None


def parse_incident(text: str, *, file: str = "<incident>", check_sql: bool = True) -> Incident:
    loaded = read_incident_text(text, file=file, check_sql=check_sql)
    if loaded.problems:
        raise IncidentFileError(loaded.problems)
    assert loaded.incident is not None
    return loaded.incident


def read_incident_text(text: str, *, file: str = "<incident>", check_sql: bool = True) -> LoadedIncident:
    """Parse, validate and cross-check incident text, collecting every problem instead of raising.

    `incident` is set whenever the models validate, even when cross-checks found problems, so that
    `coord preflight` can go on checking the rest of the file.
    """
    try:
        document = read_located(text)
    except yaml.YAMLError as error:
        return LoadedIncident(file, text, None, None, [_yaml_problem(file, error)])
    except LocatedYAMLError as error:
        return LoadedIncident(file, text, None, None, [Problem(file, error.line, error.column, "", error.message)])

    reporter = Reporter(file, document)
    for duplicate_path, (line, column) in document.duplicates:
        reporter.problems.append(
            Problem(file, line, column, format_key_path(duplicate_path), "duplicate key: each key may appear once")
        )
    if document.errors:
        # A value that could not be built is None in the data, so validating would report it a second time.
        for error_path, (line, column), message in document.errors:
            reporter.problems.append(Problem(file, line, column, format_key_path(error_path), message))
        problems = sorted(reporter.problems, key=lambda problem: (problem.line, problem.column))
        return LoadedIncident(file, text, None, document, problems)
    if not isinstance(document.data, dict):
        reporter.add((), "an incident file is a mapping with the keys incident, targets, roles, tasks and criteria")
        return LoadedIncident(file, text, None, document, reporter.problems)

    try:
        incident = Incident.model_validate(document.data)
    except ValidationError as error:
        for detail in _collapse_unions(error.errors(), document.data):
            _report_validation(reporter, detail)
        incident = None

    _check_templates(reporter, document.data)
    if incident is not None:
        from coordinator.spec.references import check_references

        check_references(incident, reporter, check_sql=check_sql)

    problems = sorted(reporter.problems, key=lambda problem: (problem.line, problem.column))
    return LoadedIncident(file, text, incident, document, problems)


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
    elif kind == "string_pattern_mismatch" and detail.get("ctx", {}).get("pattern") == IDENTIFIER:
        message = f"invalid id {detail.get('input')!r}: use lowercase letters, digits, '-' and '_', starting with a letter or digit"
    elif kind == "union":
        message = detail["msg"]
    elif kind in ("model_type", "dict_type"):
        message = "must be a mapping of keys to values"
    elif kind == "date_from_datetime_inexact":
        message = "give a date without a time, like 2026-01-27"
    else:
        message = _plain(detail["msg"])
    reporter.add(path, message)


# How pydantic names the members of a union in an error's location, and what each means to an author.
_SCALAR_TAGS = {
    "bool": "a boolean",
    "int": "an integer",
    "float": "a number",
    "date": "a date",
    "datetime": "a date and time",
    "str": "a string",
    "none": "nothing",
}


def _union_tag(part: Any, node: Any) -> bool:
    """Whether `part` of an error location names a member of a union rather than a key of the data."""
    if not isinstance(part, str):
        return False
    if isinstance(node, dict) and part in node:
        return part in STEP_KINDS and _is_step(node)
    return part in _SCALAR_TAGS or part[:1].isupper() or "[" in part


def _union_split(loc: tuple[Any, ...], data: Any) -> int | None:
    """Return the index of the first union tag in `loc`, or None when it names no union member."""
    node = data
    for index, part in enumerate(loc):
        if _union_tag(part, node):
            return index
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return None
    return None


def _member_name(tag: str) -> str:
    if tag in _SCALAR_TAGS:
        return _SCALAR_TAGS[tag]
    if tag.startswith("list["):
        return "a list"
    return "a mapping"


def _tag_name(tag: str) -> str:
    """`function-after[_check(), Param]` names the model `Param`; other tags are names already."""
    match = re.fullmatch(r"function-\w+\[.*, (\w+)\]", tag)
    return match.group(1) if match else tag


def _union_message(tags: list[str]) -> str:
    tags = [_tag_name(tag) for tag in tags]
    if "Param" in tags:
        return "invalid value: give a date, number, string, boolean or {value, type}"
    if "PerTarget" in tags:
        return "invalid command: give a command, or a mapping of target names to commands"
    if "Clock" in tags:
        return "invalid clock: give a command, or {sql: QUERY} returning one timestamp"
    names: list[str] = []
    for tag in tags:
        name = _member_name(tag)
        if name not in names and name != "nothing":
            names.append(name)
    return "invalid value: give " + (", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0])


def _collapse_unions(details: list[dict[str, Any]], data: Any) -> list[dict[str, Any]]:
    """Replace the errors of every member of one union by what the author can act on.

    A value that matches no member gets one line naming what it may be. When the value has the shape of
    one member (a mapping with a wrong key), that member's own errors are kept and the others dropped.
    """
    groups: dict[tuple[Any, ...], list[tuple[int, dict[str, Any]]]] = {}
    order: list[Any] = []
    for detail in details:
        split = _union_split(tuple(detail["loc"]), data)
        if split is None:
            order.append(detail)
            continue
        prefix = tuple(detail["loc"][:split])
        if prefix not in groups:
            groups[prefix] = []
            order.append(prefix)
        groups[prefix].append((split, detail))

    result: list[dict[str, Any]] = []
    for item in order:
        if isinstance(item, dict):
            result.append(item)
            continue
        members = groups[item]
        tags = list(dict.fromkeys(detail["loc"][split] for split, detail in members))
        if len(tags) < 2:
            result.extend(detail for _split, detail in members)
            continue
        specific = [
            detail
            for split, detail in members
            if len(detail["loc"]) > split + 1 or detail["type"] in ("value_error", "assertion_error", "step_kind")
        ]
        if specific:
            result.extend(specific)
        else:
            result.append({"loc": item, "type": "union", "msg": _union_message(tags), "input": members[0][1].get("input")})
    return result


def _data_path(loc: tuple[Any, ...], data: Any) -> KeyPath:
    """Map a pydantic error location onto keys that exist in the data, dropping union tags.

    A step's location carries its kind as a tag before the field, as in `steps, 0, run, timeout`. The tag is
    dropped unless it is the last part, because there it names the step's own `run:` (or `query:`) key.
    """
    path: list[Any] = []
    node = data
    after_tag = False
    for position, part in enumerate(loc):
        is_last = position == len(loc) - 1
        if isinstance(node, dict) and part in STEP_KINDS and not is_last and not after_tag and _is_step(node):
            after_tag = True
            continue
        after_tag = False
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
    textual = _textual_names(data)
    identifier_values = _text_values(params, targets)

    for path, text in _strings(data):
        for form in unsupported_templates(text):
            reporter.add(path, f"{form} is not a parameter: only {{{{ name }}}} is supported")
        for name in template_names(text):
            if name not in known:
                reporter.add(path, f"undefined parameter {{{{ {name} }}}}: declare it under params or fix the name")
        if _is_command(data, path):
            for name, where in dict.fromkeys(quoted_placeholders(text)):
                if name not in textual:
                    continue
                reporter.add(path, f"{{{{ {name} }}}} is {where}: write it bare, coord quotes the value for the shell")
        if path and path[-1] in SQL_KEYS:
            for name in dict.fromkeys(template_names(text)):
                for value in identifier_values.get(name, []):
                    if not is_sql_identifier(value):
                        reporter.add(
                            path,
                            f"parameter {name!r} = {value!r} is used as a SQL identifier here but is not one: "
                            "give a plain name, or bind values with @name instead of {{ name }}",
                        )
                        break
            local = _local_params(data, path)
            for name in sql_parameter_names(text):
                if name not in known and name not in local and name not in RUNTIME_PARAMETERS:
                    reporter.add(path, f"undefined query parameter @{name}: declare it under params or fix the name")


# Keys whose text is a shell command: a step's `run`, a criterion's or a clock's `command`, a drift
# criterion's `revision`, a target's `clock` written as a command, a file's `command`. A per-target mapping
# under these keys contains one command per target.
COMMAND_KEYS = ("run", "command", "revision", "clock")


def _is_command(data: Any, path: KeyPath) -> bool:
    if not path or not isinstance(path[-1], str):
        return False
    if path[-1] in COMMAND_KEYS:
        return path[-1] != "clock" or (len(path) == 3 and path[0] == "targets")
    if len(path) >= 2 and path[-2] in ("run", "command", "revision"):
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        return isinstance(parent, dict)
    return False


def _textual_names(data: Any) -> set[str]:
    """Names of parameters that may hold text on some target or under some `params:`, plus `target`.

    Only text can carry shell syntax: a date, a time, a number or a boolean is safe anywhere in a command,
    so a placeholder of those types may stand inside quotes.
    """
    names = {"target"}

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "params" and isinstance(value, dict):
                    names.update(name for name, raw in value.items() if _may_be_text(raw))
                visit(value)
        elif isinstance(node, list):
            for item in node:
                visit(item)

    visit(data)
    return names


def _text_values(params: dict[str, Any], targets: dict[str, Any]) -> dict[str, list[str]]:
    """The text values each incident or target parameter takes, for the identifier check of `{{ name }}` in SQL."""
    values: dict[str, list[str]] = {}
    sources = [params] + [t.get("params") for t in targets.values() if isinstance(t, dict)]
    for source in sources:
        for name, raw in (source or {}).items() if isinstance(source, dict) else ():
            value = raw.get("value") if isinstance(raw, dict) else raw
            if isinstance(value, str):
                values.setdefault(name, []).append(value)
    return values


def _may_be_text(raw: Any) -> bool:
    if isinstance(raw, dict):
        declared = raw.get("type")
        if declared in ("INT64", "FLOAT64", "BOOL", "DATE", "TIMESTAMP"):
            return False
        raw = raw.get("value")
    return not isinstance(raw, (bool, int, float, dt.date))


def _local_params(data: Any, path: KeyPath) -> set[str]:
    node = data
    for part in path[:-1]:
        node = node[part]
    params = node.get("params") if isinstance(node, dict) else None
    return set(params) if isinstance(params, dict) else set()
