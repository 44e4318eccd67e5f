"""Pydantic models of the incident file.

The models check shapes and types. Cross-references (unknown roles, tasks, criteria, parameters) are
checked by `coordinator.spec.references` after the models load, so every problem is reported in one pass.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

IDENTIFIER = r"^[a-z0-9][a-z0-9_-]*$"


def _env_name(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        raise ValueError(f"{value!r} is not an environment variable name: use letters, digits and _, not starting with a digit")
    return value


EnvName = Annotated[str, AfterValidator(_env_name)]


def _shown(value: Any) -> str:
    """A value as the author wrote it in YAML: `true`, `-5`, `'ten'`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isnan(value):
        return ".nan"
    if isinstance(value, float) and math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    return repr(value)


def _seconds(positive: bool):
    def check(value: Any) -> float:
        wanted = "greater than 0, like 30" if positive else "0 or more, like 30"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"give a number of seconds {wanted}, not {_shown(value)}")
        if math.isnan(value) or math.isinf(value) or value < 0 or (positive and value == 0):
            raise ValueError(f"give a number of seconds {wanted}, not {_shown(value)}")
        return float(value)

    return check


def _count(minimum: int, what: str):
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"give {what}, a whole number of {minimum} or more, not {_shown(value)}")
        return value

    return check


# Durations in seconds: numbers, never true/false, NaN or infinite. `Seconds` may be 0, `PositiveSeconds` not.
Seconds = Annotated[float, BeforeValidator(_seconds(False))]
PositiveSeconds = Annotated[float, BeforeValidator(_seconds(True))]
Identifier = Annotated[str, Field(pattern=IDENTIFIER)]


def _table_name(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z0-9_-]+", value):
        raise ValueError(f"{value!r} is not a table name: write dataset.table without the project, like nba_raw.props")
    return value


def _column_name(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        raise ValueError(f"{value!r} is not a column name: use letters, digits and _, not starting with a digit")
    return value


# A table as the incident's SQL names it after its project (`nba_raw.props`), and a column.
TableName = Annotated[str, AfterValidator(_table_name)]
ColumnName = Annotated[str, AfterValidator(_column_name)]
Operator = Literal[">", ">=", "<", "<=", "==", "!=", "between"]
ResourceMode = Literal["read", "write", "deploy"]
# Kinds of action a step takes; a role's policy lists the ones it may take. `read` is always allowed.
Action = Literal["read", "change_code", "deploy_code", "deploy_config", "write_tables", "trigger_jobs", "change_schema"]


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

    @model_validator(mode="after")
    def _value_of_type(self) -> Param:
        problem = param_type_problem(self.value, self.type)
        if problem is not None:
            raise ValueError(problem)
        return self


def param_type_problem(value: Any, type_name: str | None) -> str | None:
    """Say why `value` cannot be a parameter of `type_name`, or return None when it can."""
    if type_name is None:
        return None
    shown = value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else repr(value)
    if type_name == "DATE":
        if isinstance(value, dt.datetime):
            return f"value {shown} has a time but the type is DATE: give a date like 2026-01-27"
        if isinstance(value, dt.date):
            return None
        if isinstance(value, str):
            try:
                dt.date.fromisoformat(value)
                return None
            except ValueError:
                pass
        return f"value {shown} is not a DATE: give a date like 2026-01-27"
    if type_name == "TIMESTAMP":
        if isinstance(value, dt.date):
            return None
        if isinstance(value, str):
            try:
                dt.datetime.fromisoformat(value)
                return None
            except ValueError:
                pass
        return f"value {shown} is not a TIMESTAMP: give a time like 2026-01-27T15:00:00Z"
    if type_name == "INT64" and (isinstance(value, bool) or not isinstance(value, int)):
        return f"value {shown} is not an INT64: give a whole number like 20"
    if type_name == "FLOAT64" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return f"value {shown} is not a FLOAT64: give a number like 0.5"
    if type_name == "BOOL" and not isinstance(value, bool):
        return f"value {shown} is not a BOOL: give true or false"
    if type_name == "STRING" and not isinstance(value, str):
        return f"value {shown} is not a STRING: quote it to make it text"
    return None


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
    secrets: list[EnvName] = Field(
        default=[], description="Environment variables whose values are secret on this target: redacted from output."
    )
    max_wait: Seconds | None = Field(
        default=None,
        description=(
            "Longest time in seconds that a wait or a step's verification polls on this target. A simulated "
            "pipeline whose clock moves only when a command runs sets 0, so each is measured once."
        ),
    )


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


class Policy(Strict):
    """The kinds of action a role may take. `coord run` rejects a step whose action is not listed."""

    may: list[Action] = []
    note: str | None = Field(default=None, description="Why the role is limited, shown in its prompt.")


class Touch(Strict):
    """A resource that a task or step touches: exactly one of service, table, code or job, with a mode.

    A table may carry a date range (`from`, `to`, inclusive), so that two roles writing different dates of
    one table do not conflict. A code path ending in `/` is a folder and covers every file under it.
    """

    service: str | None = None
    table: str | None = None
    code: str | None = None
    job: str | None = None
    mode: ResourceMode = "read"
    start: Union[dt.date, str, None] = Field(default=None, alias="from")
    end: Union[dt.date, str, None] = Field(default=None, alias="to")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_resource(self) -> Touch:
        kinds = [kind for kind in ("service", "table", "code", "job") if getattr(self, kind) is not None]
        if len(kinds) != 1:
            raise ValueError("a touch names exactly one of service, table, code or job")
        if (self.start is not None or self.end is not None) and self.table is None:
            raise ValueError("from and to are dates of a table: only a table touch has them")
        if (self.start is None) != (self.end is None):
            raise ValueError("from and to go together: give both dates of the range")
        return self

    @property
    def kind(self) -> str:
        return next(kind for kind in ("service", "table", "code", "job") if getattr(self, kind) is not None)

    @property
    def name(self) -> str:
        return getattr(self, self.kind)


class Role(Strict):
    name: Identifier
    title: str
    chat: Annotated[int, BeforeValidator(_count(1, "the chat number"))] | None = None
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
    policy: Policy | None = Field(
        default=None, description="What kinds of action this role may take; without it the role may take any."
    )
    paths: list[str] = Field(
        default=[], description="Code paths this role claims (a folder ends in /); others' commits there are flagged."
    )
    git_authors: list[str] = Field(
        default=[], description="Author emails or names whose commits belong to this role, when they carry no Role: trailer."
    )


def _ordered(value: Any) -> float | str | None:
    """Return `value` in a form that orders (a number, or an ISO date text), or None when it has no order.

    A string holding a number ("95%") or an ISO date counts; so does a `{{ name }}` parameter, as "".
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, str):
        if "{{" in value:
            return ""
        try:
            return float(value.strip().rstrip("%"))
        except ValueError:
            pass
        try:
            return dt.datetime.fromisoformat(value.strip()).isoformat()
        except ValueError:
            return None
    return None


class Expect(Strict):
    """The comparison that decides a criterion.

    SQL criteria compare `column` of the first row (or of every row with `rows: all`) to `value`.
    Command criteria check `exit_code` and search the output for the regular expression `output`. When that
    expression has a named group `value` and `op` is given, the captured text is compared with `value`.
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
            raise ValueError("give both op and value, or neither")
        if self.op == "between":
            if not (isinstance(self.value, list) and len(self.value) == 2):
                raise ValueError("between needs value: [low, high]")
            low, high = (_ordered(bound) for bound in self.value)
            if low is None or high is None:
                raise ValueError(f"between needs two numbers or two dates as [low, high], not {self.value!r}")
            if type(low) is type(high) and "" not in (low, high) and low > high:
                raise ValueError(f"between needs [low, high] with low <= high, not {self.value!r}")
        elif self.op in (">", ">=", "<", "<=") and _ordered(self.value) is None:
            raise ValueError(f"with op {self.op!r} the value must be a number or a date, not {self.value!r}")
        if self.output is not None:
            try:
                re.compile(self.output)
            except re.error as error:
                raise ValueError(f"output is not a valid regular expression: {error}") from error
        return self


class Drift(Strict):
    """A deployed service compared with the repository: it drifts when a later commit touches what it reads."""

    service: str
    paths: list[str] = Field(min_length=1, description="Paths the service reads, config included; a folder ends in /.")
    revision: Command = Field(
        description="Command printing the deployed revision's commit sha or its deploy time (ISO-8601), per target."
    )


class Criterion(Strict):
    id: Identifier
    text: str = Field(description="The sentence shown in the prompt's checklist.")
    role: str | None = None
    sql: str | None = None
    command: Command | None = None
    manual: bool = False
    drift: Drift | None = None
    expect: Expect | None = None
    params: dict[str, Union[Param, ParamValue]] = {}
    timeout: PositiveSeconds = 120.0
    note: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Criterion:
        kinds = [
            kind
            for kind, present in (("sql", self.sql), ("command", self.command), ("manual", self.manual), ("drift", self.drift))
            if present
        ]
        if len(kinds) != 1:
            raise ValueError("a criterion has exactly one of sql, command, drift or manual: true")
        if self.manual:
            if self.expect is not None:
                raise ValueError("a manual criterion has no expect: a person ticks it")
            return self
        if self.drift is not None:
            if self.expect is not None:
                raise ValueError("a drift criterion has no expect: it passes when no later commit touches its paths")
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
        if self.drift is not None:
            return "drift"
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
    action: Action | None = Field(
        default=None, description="What kind of action the step takes, checked against the role's policy."
    )
    touches: list[Touch] = Field(default=[], description="Resources the step touches; the runner leases them.")
    verify: list[str] = Field(
        default=[], description="Criteria that prove the step worked: it succeeds only when they pass afterwards."
    )
    verify_within: Seconds = Field(
        default=0.0, description="Seconds to keep measuring `verify` until it passes; 0 measures once."
    )
    verify_interval: PositiveSeconds = Field(default=30.0, description="Seconds between measurements of `verify`.")
    risky: bool | None = Field(
        default=None,
        description="Ask for confirmation before running; default: true for deploys, deletes and production writes.",
    )
    idempotent: bool | None = Field(
        default=None,
        description=(
            "Safe to run again after an interruption; default: true for queries, checks, waits and snippets, "
            "false for commands."
        ),
    )
    depends_on: list[str] = Field(default=[], description="Tasks, of any role, that must be done before this step.")
    after_criteria: list[str] = Field(default=[], description="Criteria that must pass before this step runs.")


class RunStep(StepBase):
    run: Command
    timeout: PositiveSeconds = 3600.0
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
    interval: PositiveSeconds = 30.0
    timeout: PositiveSeconds = 1800.0
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


class RetryWhen(Strict):
    """Which failures are worth another attempt: any listed exit code, or output matching `output`."""

    exit_code: list[int] = []
    output: str | None = None

    @field_validator("output")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as error:
                raise ValueError(f"output is not a valid regular expression: {error}") from error
        return value


class Retry(Strict):
    count: Annotated[int, BeforeValidator(_count(1, "the number of attempts"))] = Field(
        description="Attempts after the first one fails."
    )
    delay: Seconds = Field(default=0.0, description="Seconds between attempts.")
    when: RetryWhen | None = Field(default=None, description="Retry only these failures; default: any failure.")
    step: Step


class RetryStep(StepBase):
    retry: Retry


STEP_KINDS = ("run", "query", "check", "wait", "snippet", "alternatives", "branch", "retry")


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
        Annotated[RetryStep, Tag("retry")],
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
    "retry": RetryStep,
}


def step_kind(step: StepBase) -> str:
    kind = _step_kind(step)
    assert kind is not None
    return kind


class Task(Strict):
    id: Identifier
    # Required: a task without a role is reported by the cross-checks, so that `coord preflight` can still
    # check the rest of the file.
    role: str | None = Field(default=None, description="The one role that owns this task (required).")
    title: str
    priority: str | None = None
    why: str | None = None
    intro: str | None = Field(default=None, description="Text shown before the steps, e.g. 'This will: ...'.")
    depends_on: list[str] = []
    after_criteria: list[str] = Field(default=[], description="Criteria that must pass before this task starts.")
    preconditions: list[str] = Field(default=[], description="Criteria to confirm before this task's steps run.")
    preconditions_title: str | None = None
    verified_by: list[str] = []
    steps: list[Step] = []
    expected: list[str] = []
    expected_title: str | None = None
    files_to_modify: list[str] = []
    touches: list[Touch] = Field(default=[], description="Resources the task touches as a whole, for planning.")
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
    conflicts: list[str] = Field(
        default=[], description="Notes about collisions; the conflicts themselves are derived from touches."
    )
    checkins: list[CheckinPoint] = []
    final_validation: FinalValidation | None = None


class Incident(Strict):
    incident: Header
    params: dict[str, Union[Param, ParamValue]] = {}
    secrets: list[EnvName] = Field(
        default=[], description="Environment variables whose values are secret on every target: redacted from output."
    )
    partitions: dict[TableName, ColumnName] = Field(
        default={},
        description=(
            "The column each partitioned table (`dataset.table`) is partitioned on. `coord preflight` warns about "
            "a SQL criterion that reads such a table without a WHERE predicate on that column, because every "
            "check round would then scan all of the table's partitions."
        ),
    )
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
        listed_ids = {criterion.id for criterion in listed}
        owned = [criterion for criterion in self.criteria if criterion.role == role and criterion.id not in listed_ids]
        return listed + owned


AlternativesStep.model_rebuild()
Branch.model_rebuild()
BranchStep.model_rebuild()
Retry.model_rebuild()
RetryStep.model_rebuild()
