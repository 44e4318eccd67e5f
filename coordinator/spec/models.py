"""Pydantic models of the incident file.

The models check shapes and types. Cross-references (unknown roles, tasks, criteria, parameters) are
checked by `coordinator.spec.references` after the models load, so every problem is reported in one pass.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

IDENTIFIER = r"^[a-z0-9][a-z0-9_-]*$"
Identifier = Annotated[str, Field(pattern=IDENTIFIER)]
Operator = Literal[">", ">=", "<", "<=", "==", "!=", "between"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PerTarget(Strict):
    """A value that differs by target: `{prod: ..., sandbox: ...}`. Keys are target names."""

    model_config = ConfigDict(extra="allow", frozen=True)

    def for_target(self, target: str) -> str | None:
        return (self.model_extra or {}).get(target)

    def targets(self) -> dict[str, str]:
        return dict(self.model_extra or {})


Command = Union[str, PerTarget]


def command_for(command: Command | None, target: str) -> str | None:
    """Return the command text for `target`, or None when the step has no command there."""
    if command is None:
        return None
    if isinstance(command, str):
        return command
    return command.for_target(target)


class Header(Strict):
    id: Identifier
    title: str
    date: dt.date
    timezone: str = "UTC"
    author: str | None = None
    summary: str | None = None
    context: str = Field(description="What the platform is, shown at the top of every prompt.")
    default_target: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}: use an IANA name such as America/New_York") from error
        return value


ParamValue = Union[bool, int, float, dt.date, dt.datetime, str]
ParamType = Literal["STRING", "INT64", "FLOAT64", "BOOL", "DATE", "TIMESTAMP"]


class Param(Strict):
    """A parameter with an explicit type; a bare value is also accepted and typed from YAML."""

    value: ParamValue
    type: ParamType | None = None
    description: str | None = None


class Clock(Strict):
    """How to read a simulated pipeline's current time: a query returning one timestamp, or a command."""

    sql: str | None = None
    command: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Clock:
        if (self.sql is None) == (self.command is None):
            raise ValueError("a clock has sql or command, not both")
        return self


class Target(Strict):
    warehouse: str = Field(
        description="duckdb:///RELATIVE/PATH (from the work folder), duckdb:////ABSOLUTE/PATH or bigquery://PROJECT?location=L"
    )
    workdir: str = "."
    description: str | None = None
    params: dict[str, Union[Param, ParamValue]] = {}
    clock: Union[str, Clock, None] = Field(
        default=None,
        description=(
            "The target's current time, for a simulated pipeline: a command printing an ISO-8601 time, or "
            "{sql: ...} returning one timestamp. Without it the time is this machine's UTC time."
        ),
    )
    env: dict[str, str] = {}


class Finding(Strict):
    id: Identifier
    role: str
    title: str
    label: str | None = Field(default=None, description="How the investigation named it, e.g. 'Issue 1' or 'Bug 3'.")
    severity: str | None = None
    problem: str | None = None
    root_cause: str | None = None
    evidence: list[str] = []
    notes: list[str] = []


class FileToRead(Strict):
    path: str
    why: str | None = None
    command: str | None = Field(default=None, description="Command that shows the file, e.g. `cat PATH | head -100`.")
    optional: bool = False


class HandoffSection(Strict):
    title: str
    tasks: list[str] = []
    criteria: list[str] = []
    show: list[Literal["runs", "failures", "next_actions", "timeline", "criteria"]] = []

    @model_validator(mode="after")
    def _has_source(self) -> HandoffSection:
        if not (self.tasks or self.criteria or self.show):
            raise ValueError("a handoff section needs tasks, criteria or show, so it is filled from data")
        return self


class Handoff(Strict):
    path: str
    intro: str | None = Field(default=None, description="Sentence asking for the document, e.g. 'create a short handoff'.")
    sections: list[HandoffSection] = []


class Role(Strict):
    name: Identifier
    title: str
    chat: int | None = None
    focus: str | None = Field(default=None, description="Short name of the role, e.g. 'Operations/Infrastructure'.")
    mission: str
    context: str | None = Field(default=None, description="Opening paragraph of this role's prompt.")
    constraints: list[str] = []
    findings_heading: str | None = None
    criteria: list[str] = Field(default=[], description="Ids of this role's success criteria, in checklist order.")
    criteria_intro: str | None = Field(
        default=None, description="Sentence above the success-criteria checklist, e.g. 'Before finishing, verify:'."
    )
    files_to_read: list[FileToRead] = []
    files_intro: str | None = Field(default=None, description="Sentence above the files to read.")
    notes: list[str] = []
    handoff: Handoff


class Expect(Strict):
    """The comparison that decides a criterion.

    SQL criteria compare `column` of the first row (or of every row with `rows: all`) to `value`.
    Command criteria check `exit_code` and search `output` (a regular expression) in the output; a named
    group `value` in that expression is compared with `op` and `value` when they are given.
    """

    column: str | None = None
    op: Operator | None = None
    value: Any = None
    rows: Literal["first", "all"] = "first"
    exit_code: int | None = None
    output: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Expect:
        if (self.op is None) != (self.value is None):
            raise ValueError("op and value go together")
        if self.op == "between":
            if not (isinstance(self.value, list) and len(self.value) == 2):
                raise ValueError("between needs value: [low, high]")
        if self.output is not None:
            try:
                re.compile(self.output)
            except re.error as error:
                raise ValueError(f"output is not a valid regular expression: {error}") from error
        return self


class Criterion(Strict):
    id: Identifier
    text: str = Field(description="The sentence shown in the prompt's checklist.")
    role: str | None = None
    sql: str | None = None
    command: Command | None = None
    manual: bool = False
    expect: Expect | None = None
    params: dict[str, Union[Param, ParamValue]] = {}
    timeout: float = 120.0
    note: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Criterion:
        kinds = [kind for kind, present in (("sql", self.sql), ("command", self.command), ("manual", self.manual)) if present]
        if len(kinds) != 1:
            raise ValueError("a criterion has exactly one of sql, command or manual: true")
        if self.manual:
            if self.expect is not None:
                raise ValueError("a manual criterion has no expect: a person ticks it")
            return self
        if self.expect is None:
            raise ValueError("missing expect: say what result passes")
        if self.sql is not None and (self.expect.column is None or self.expect.op is None):
            raise ValueError("a SQL criterion needs expect.column, expect.op and expect.value")
        if self.command is not None and self.expect.exit_code is None and self.expect.output is None:
            raise ValueError("a command criterion needs expect.exit_code or expect.output")
        return self

    @property
    def kind(self) -> str:
        if self.manual:
            return "manual"
        return "sql" if self.sql is not None else "command"


class Condition(Strict):
    """What a branch measures: a criterion by id, or an inline query with its comparison."""

    criterion: str | None = None
    sql: str | None = None
    expect: Expect | None = None
    params: dict[str, Union[Param, ParamValue]] = {}

    @model_validator(mode="after")
    def _one_source(self) -> Condition:
        if (self.criterion is None) == (self.sql is None):
            raise ValueError("a condition names a criterion or gives sql with expect, not both")
        if self.sql is not None and (self.expect is None or self.expect.column is None or self.expect.op is None):
            raise ValueError("an inline condition needs expect.column, expect.op and expect.value")
        return self


class StepBase(Strict):
    id: Identifier | None = None
    title: str | None = None
    comment: str | None = Field(default=None, description="Comment lines shown above the command in the prompt.")
    note: str | None = None


class RunStep(StepBase):
    run: Command
    timeout: float = 3600.0
    env: dict[str, str] = {}
    workdir: str | None = None
    wait_hint: str | None = None


class QueryStep(StepBase):
    query: str
    params: dict[str, Union[Param, ParamValue]] = {}
    wait_hint: str | None = None


class CheckStep(StepBase):
    check: str


class WaitStep(StepBase):
    wait: str
    interval: float = 30.0
    timeout: float = 1800.0
    wait_hint: str | None = None


class SnippetStep(StepBase):
    snippet: str
    language: str = "python"


class AlternativesStep(StepBase):
    alternatives: list[Step]

    @field_validator("alternatives")
    @classmethod
    def _at_least_two(cls, value: list[Any]) -> list[Any]:
        if len(value) < 2:
            raise ValueError("alternatives needs at least two steps to choose from")
        return value


class Branch(Strict):
    condition: Condition = Field(alias="if")
    then: list[Step] = []
    otherwise: list[Step] = Field(default=[], alias="else")
    then_title: str | None = None
    else_title: str | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class BranchStep(StepBase):
    branch: Branch


STEP_KINDS = ("run", "query", "check", "wait", "snippet", "alternatives", "branch")


def _step_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        present = [kind for kind in STEP_KINDS if kind in value]
        return present[0] if len(present) == 1 else None
    for kind, model in STEP_MODELS.items():
        if isinstance(value, model):
            return kind
    return None


Step = Annotated[
    Union[
        Annotated[RunStep, Tag("run")],
        Annotated[QueryStep, Tag("query")],
        Annotated[CheckStep, Tag("check")],
        Annotated[WaitStep, Tag("wait")],
        Annotated[SnippetStep, Tag("snippet")],
        Annotated[AlternativesStep, Tag("alternatives")],
        Annotated[BranchStep, Tag("branch")],
    ],
    Discriminator(
        _step_kind,
        custom_error_type="step_kind",
        custom_error_message=f"a step has exactly one of: {', '.join(STEP_KINDS)}",
    ),
]

STEP_MODELS: dict[str, type[StepBase]] = {
    "run": RunStep,
    "query": QueryStep,
    "check": CheckStep,
    "wait": WaitStep,
    "snippet": SnippetStep,
    "alternatives": AlternativesStep,
    "branch": BranchStep,
}


def step_kind(step: StepBase) -> str:
    kind = _step_kind(step)
    assert kind is not None
    return kind


class Task(Strict):
    id: Identifier
    role: str
    title: str
    priority: str | None = None
    why: str | None = None
    intro: str | None = Field(default=None, description="Text shown before the steps, e.g. 'This will: ...'.")
    depends_on: list[str] = []
    preconditions: list[str] = Field(default=[], description="Criteria to confirm before this task's steps run.")
    preconditions_title: str | None = None
    verified_by: list[str] = []
    steps: list[Step] = []
    expected: list[str] = []
    expected_title: str | None = None
    files_to_modify: list[str] = []
    notes: list[str] = []
    forward_looking: bool = Field(default=False, description="Dates after the incident date are intended here.")


class SuggestedStart(Strict):
    role: str
    note: str


class CheckinPoint(Strict):
    after: str = Field(description="Duration after the start, e.g. '2h'.")
    questions: dict[str, list[str]] = {}


class FinalValidation(Strict):
    criterion: str
    expected: str | None = None


class Coordination(Strict):
    suggested_order: list[SuggestedStart] = []
    conflicts: list[str] = []
    checkins: list[CheckinPoint] = []
    final_validation: FinalValidation | None = None


class Incident(Strict):
    incident: Header
    params: dict[str, Union[Param, ParamValue]] = {}
    targets: dict[str, Target]
    findings: list[Finding] = []
    roles: list[Role]
    tasks: list[Task] = []
    criteria: list[Criterion] = []
    coordination: Coordination = Coordination()

    def role(self, name: str) -> Role:
        return next(role for role in self.roles if role.name == name)

    def criterion(self, criterion_id: str) -> Criterion:
        return next(criterion for criterion in self.criteria if criterion.id == criterion_id)

    def task(self, task_id: str) -> Task:
        return next(task for task in self.tasks if task.id == task_id)

    def tasks_of(self, role: str) -> list[Task]:
        return [task for task in self.tasks if task.role == role]

    def findings_of(self, role: str) -> list[Finding]:
        return [finding for finding in self.findings if finding.role == role]

    def criteria_of(self, role: str) -> list[Criterion]:
        """Return the role's criteria: its checklist order first, then any others it owns."""
        listed = [self.criterion(criterion_id) for criterion_id in self.role(role).criteria]
        owned = [criterion for criterion in self.criteria if criterion.role == role and criterion not in listed]
        return listed + owned


AlternativesStep.model_rebuild()
Branch.model_rebuild()
BranchStep.model_rebuild()
