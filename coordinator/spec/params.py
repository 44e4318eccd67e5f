"""Incident parameters: typing, per-target resolution and `{{ name }}` substitution.

Templates are deliberately small: `{{ name }}` is the only form, and an unknown name is an error.
SQL values are never substituted into text: queries use `@name` and the warehouse binds the value.
`{{ name }}` in SQL is for identifiers (the project in a table name) and must look like one.
"""

from __future__ import annotations

import datetime as dt
import re
import shlex
from dataclasses import dataclass
from typing import Any, Iterator

from coordinator.errors import CoordinatorError
from coordinator.spec.models import Incident, Param, ParamValue

TEMPLATE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
SQL_PARAMETER = re.compile(r"(?<![@\w])@([A-Za-z_][A-Za-z0-9_]*)")
SQL_IDENTIFIER = re.compile(r"^[A-Za-z0-9_.\-]+$")
BUILTIN_NAMES = ("target", "incident_id", "incident_date")
RUNTIME_PARAMETERS = ("now",)


@dataclass(frozen=True)
class TypedValue:
    value: Any
    type: str


def infer_type(value: ParamValue) -> str:
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        return "INT64"
    if isinstance(value, float):
        return "FLOAT64"
    if isinstance(value, dt.datetime):
        return "TIMESTAMP"
    if isinstance(value, dt.date):
        return "DATE"
    return "STRING"


def typed(raw: Param | ParamValue) -> TypedValue:
    if isinstance(raw, Param):
        return TypedValue(_coerce(raw.value, raw.type), raw.type or infer_type(raw.value))
    return TypedValue(raw, infer_type(raw))


def _coerce(value: ParamValue, type_name: str | None) -> Any:
    if type_name == "DATE" and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if type_name == "TIMESTAMP" and isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    return value


def declared_names(incident_params: dict[str, Any], targets: dict[str, Any]) -> set[str]:
    """Return every name a template may use in this incident, on any target."""
    names = set(incident_params) | set(BUILTIN_NAMES)
    for target in targets.values():
        if isinstance(target, dict):
            names |= set(target.get("params") or {})
        else:
            names |= set(target.params)
    return names


def resolve(incident: Incident, target: str, *, extra: dict[str, Param | ParamValue] | None = None) -> dict[str, TypedValue]:
    """Return the parameters in force on `target`: incident values, then the target's, then `extra`."""
    if target not in incident.targets:
        known = ", ".join(sorted(incident.targets))
        raise CoordinatorError(f"unknown target {target!r}: this incident defines {known}")

    values = {name: typed(raw) for name, raw in incident.params.items()}
    values.update({name: typed(raw) for name, raw in incident.targets[target].params.items()})
    values.update({name: typed(raw) for name, raw in (extra or {}).items()})
    values["target"] = TypedValue(target, "STRING")
    values["incident_id"] = TypedValue(incident.incident.id, "STRING")
    values["incident_date"] = TypedValue(incident.incident.date, "DATE")
    return values


PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


def unsupported_templates(text: str) -> Iterator[str]:
    """Yield every `{{ ... }}` in `text` that is not the plain `{{ name }}` form."""
    for match in PLACEHOLDER.finditer(text):
        if not TEMPLATE.fullmatch(match.group(0)):
            yield match.group(0)


_CONTEXTS = {
    "'": "inside quotes",
    '"': "inside quotes",
    "`": "inside backticks",
    "$(": "inside $(...)",
    "${": "inside ${...}",
    "(": "inside $(...)",
    "<<": "inside a here-document",
}


def quoted_placeholders(command: str) -> Iterator[tuple[str, str]]:
    """Yield (name, where) for every `{{ name }}` of a shell command that is not a bare word of the shell.

    `fill_command` quotes each value for the shell. Inside quotes, backticks, `$(...)`, `${...}` or a
    here-document that quoting does not protect the command (`"$(touch x)"` still runs), so the loader rejects
    such a placeholder.
    The scanner follows single, double and backtick quotes, `$(` and `${` nesting, comments and here-documents.
    """
    if "{{" not in command:
        return
    stack: list[str] = []
    heredocs: list[tuple[str, bool]] = []
    index, length = 0, len(command)
    while index < length:
        match = TEMPLATE.match(command, index)
        if match:
            if stack:
                yield match.group(1), _CONTEXTS[stack[-1]]
            index = match.end()
            continue
        char = command[index]
        top = stack[-1] if stack else None
        if top == "'":
            if char == "'":
                stack.pop()
            index += 1
            continue
        if char == "\\":
            index += 2
            continue
        if top == '"':
            if char == '"':
                stack.pop()
            elif char == "`":
                stack.append("`")
            elif command.startswith("$(", index) or command.startswith("${", index):
                stack.append(command[index : index + 2])
                index += 2
                continue
            index += 1
            continue
        if char == "\n" and heredocs and top is None:
            index = yield from _heredoc_bodies(command, index + 1, heredocs)
            heredocs = []
            continue
        if char == "'" or char == '"':
            stack.append(char)
        elif char == "`":
            if top == "`":
                stack.pop()
            else:
                stack.append("`")
        elif command.startswith("$(", index) or command.startswith("${", index):
            stack.append(command[index : index + 2])
            index += 2
            continue
        elif char == "(" and top in ("$(", "("):
            stack.append("(")
        elif char == ")" and top in ("$(", "("):
            stack.pop()
        elif char == "}" and top == "${":
            stack.pop()
        elif char == "#" and (index == 0 or command[index - 1] in " \t\n;&|(") and top != "${":
            end = command.find("\n", index)
            index = length if end < 0 else end
            continue
        elif command.startswith("<<", index) and not command.startswith("<<<", index) and top is None:
            heredoc = re.match(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1", command[index:])
            if heredoc:
                heredocs.append((heredoc.group(2), command[index + 2 : index + 3] == "-"))
                index += heredoc.end()
                continue
        index += 1


def _heredoc_bodies(command: str, index: int, heredocs: list[tuple[str, bool]]):
    """Yield the placeholders in the bodies of pending here-documents, and return the index after the last."""
    for word, strip_tabs in heredocs:
        while index < len(command):
            end = command.find("\n", index)
            end = len(command) if end < 0 else end
            line = command[index:end]
            index = end + 1
            if (line.lstrip("\t") if strip_tabs else line) == word:
                break
            for match in TEMPLATE.finditer(line):
                yield match.group(1), _CONTEXTS["<<"]
    return index


def template_names(text: str) -> Iterator[str]:
    for match in TEMPLATE.finditer(text):
        yield match.group(1)


def sql_parameter_names(sql: str) -> Iterator[str]:
    for match in SQL_PARAMETER.finditer(_without_sql_strings(sql)):
        yield match.group(1)


def _without_sql_strings(sql: str) -> str:
    return re.sub(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"", "''", sql)


def _text(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def fill_text(text: str, values: dict[str, TypedValue]) -> str:
    """Substitute `{{ name }}` for display text and paths."""
    return TEMPLATE.sub(lambda match: _text(_lookup(values, match.group(1)).value), text)


def fill_command(command: str, values: dict[str, TypedValue]) -> str:
    """Substitute `{{ name }}` in a shell command, quoting each value for the shell."""
    return TEMPLATE.sub(lambda match: shlex.quote(_text(_lookup(values, match.group(1)).value)), command)


def is_sql_identifier(text: str) -> bool:
    """Return whether `text` can be (part of) a table name in SQL: letters, digits, `_`, `-` and `.`, with no
    comment marker and no `-` or `.` at either end."""
    return bool(SQL_IDENTIFIER.match(text)) and "--" not in text and not text.startswith(("-", ".")) and not text.endswith(("-", "."))


def fill_sql(sql: str, values: dict[str, TypedValue]) -> str:
    """Substitute `{{ name }}` identifiers in SQL; values stay as `@name` for binding."""

    def identifier(match: re.Match[str]) -> str:
        text = _text(_lookup(values, match.group(1)).value)
        if not is_sql_identifier(text):
            raise CoordinatorError(
                f"parameter {match.group(1)!r} = {text!r} is used as a SQL identifier but is not one: "
                "bind values with @name instead of {{ name }}"
            )
        return text

    return TEMPLATE.sub(identifier, sql)


def sql_literal(value: TypedValue) -> str:
    """Render a value as a BigQuery literal, for the copy of a query shown to a person."""
    if value.value is None:
        return "NULL"
    if value.type == "BOOL":
        return "TRUE" if value.value else "FALSE"
    if value.type in ("INT64", "FLOAT64"):
        return str(value.value)
    text = _text(value.value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


def inline_sql_parameters(sql: str, values: dict[str, TypedValue]) -> str:
    """Return `sql` with `@name` replaced by literals, for prompts; never used to run a query."""

    def literal(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            return match.group(0)
        return sql_literal(values[name])

    return SQL_PARAMETER.sub(literal, sql)


def _lookup(values: dict[str, TypedValue], name: str) -> TypedValue:
    if name not in values:
        raise CoordinatorError(f"undefined parameter {{{{ {name} }}}}: declare it under params")
    return values[name]
