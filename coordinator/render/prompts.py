"""Turn an incident into one prompt per role and a coordination note for the person running the chats.

The views built here hold only strings, lists and display blocks, so the templates stay simple. Every
parameter is filled and every step is flattened to paragraphs and code blocks. Steps that have no command
on the chosen target are left out.
"""

from __future__ import annotations

import os
import re
import shlex
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from coordinator.coordination.policy import policy_sentences, policy_summary
from coordinator.errors import CoordinatorError
from coordinator.render.files import shared_file_mode
from coordinator.spec.models import (
    AlternativesStep,
    BranchStep,
    CheckStep,
    Condition,
    Criterion,
    Expect,
    Finding,
    Incident,
    QueryStep,
    RetryStep,
    Role,
    RunStep,
    SnippetStep,
    StepBase,
    Task,
    WaitStep,
    command_for,
)
from coordinator.spec.params import (
    fill_command,
    fill_sql,
    fill_text,
    inline_sql_parameters,
    resolve,
)

if TYPE_CHECKING:
    from coordinator.coordination.conflicts import Conflict

ROLE_TEMPLATE = "role.md.j2"
COORDINATION_TEMPLATE = "coordination.md.j2"
COORDINATION_NAME = "coordination"
COORDINATION_FILE = f"{COORDINATION_NAME}.md"
INCIDENT_PLACEHOLDER = "INCIDENT"
ALTERNATIVE_SEPARATOR = "If the above script doesn't exist, try:"
COMMENT_PREFIXES = {"sql": "--", "javascript": "//", "typescript": "//", "go": "//", "java": "//", "rust": "//"}
NEGATED = {">": "<=", ">=": "<", "<": ">=", "<=": ">", "==": "!=", "!=": "=="}


@dataclass(frozen=True)
class Block:
    """One piece of a prompt body: a `paragraph`, a `code` block, or a `bullets` or `checklist` list."""

    kind: str
    text: str = ""
    language: str = ""
    items: tuple[str, ...] = ()

    @property
    def fence(self) -> str:
        """Return a code fence longer than any backtick run inside the code."""
        longest = max((len(run) for run in re.findall(r"`{3,}", self.text)), default=2)
        return "`" * (longest + 1)


def paragraph(text: str) -> Block:
    return Block("paragraph", text=text)


def code(text: str, language: str = "") -> Block:
    return Block("code", text=text, language=language)


def render_role_prompt(
    incident: Incident,
    role_name: str,
    target: str,
    *,
    problems: Sequence[str] = (),
    incident_path: str | Path | None = None,
    workspace: str | Path | None = None,
) -> str:
    """Render the prompt of one role for `target` as markdown.

    `problems` are listed under a warning at the top. `incident_path` is the file named in the `coord`
    commands the prompt suggests. Without it, the commands show the placeholder INCIDENT.
    """
    from coordinator.render.environment import render_template

    view = PromptBuilder(incident, target, incident_path=incident_path).role_view(role_name, problems=problems)
    return render_template(ROLE_TEMPLATE, view, workspace=workspace)


def render_coordination(
    incident: Incident,
    target: str,
    *,
    problems: Sequence[str] = (),
    incident_path: str | Path | None = None,
    workspace: str | Path | None = None,
) -> str:
    """Render the note for the person running the chats: missions, order, conflicts, check-ins, validation."""
    from coordinator.render.environment import render_template

    view = PromptBuilder(incident, target, incident_path=incident_path).coordination_view(problems=problems)
    return render_template(COORDINATION_TEMPLATE, view, workspace=workspace)


def write_prompts(
    incident: Incident,
    target: str,
    out_dir: str | Path,
    *,
    problems: Sequence[str] = (),
    role_problems: Mapping[str, Sequence[str]] | None = None,
    incident_path: str | Path | None = None,
    workspace: str | Path | None = None,
    conflicts: Sequence[Conflict] | None = None,
) -> list[Path]:
    """Write `<role>.md` for every role and `coordination.md` into `out_dir`, and return the paths written.

    `problems` go at the top of every document; `role_problems` only at the top of the named role's prompt
    (and of the coordination notes, which list them all). `conflicts` are the incident's conflicts on
    `target` when the caller has already found them.
    Every document is rendered before anything is written, and each file is written to a temporary file
    in `out_dir` and then moved over the old one, so an error never leaves a half-written prompt.
    """
    from coordinator.render.environment import make_environment, render_template

    names = [role.name for role in incident.roles]
    if COORDINATION_NAME in names:
        raise CoordinatorError(
            f"role name {COORDINATION_NAME!r} collides with the coordination note {COORDINATION_FILE}: rename the role"
        )

    builder = PromptBuilder(incident, target, incident_path=incident_path, conflicts=conflicts)
    environment = make_environment(workspace=workspace)
    by_role = role_problems or {}
    documents = {}
    for name in names:
        view = builder.role_view(name, problems=[*problems, *by_role.get(name, ())])
        documents[f"{name}.md"] = render_template(ROLE_TEMPLATE, view, workspace=workspace, environment=environment)
    every_problem = [*problems, *dict.fromkeys(problem for name in names for problem in by_role.get(name, ()))]
    view = builder.coordination_view(problems=every_problem)
    documents[COORDINATION_FILE] = render_template(COORDINATION_TEMPLATE, view, workspace=workspace, environment=environment)

    folder = Path(out_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CoordinatorError(f"cannot create the output folder {folder}: {error}") from None
    return _write_atomically(folder, documents)


def _write_atomically(folder: Path, documents: dict[str, str]) -> list[Path]:
    staged: list[tuple[Path, Path]] = []
    try:
        for name, text in documents.items():
            handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
            staged.append((Path(temporary), folder / name))
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
            os.chmod(temporary, shared_file_mode())
        for temporary, final in staged:
            os.replace(temporary, final)
    except BaseException as error:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise CoordinatorError(f"cannot write the prompts into {folder}: {error}") from None
        raise
    return [final for _, final in staged]



class PromptBuilder:
    """Builder of the template views of one incident on one target."""

    def __init__(
        self,
        incident: Incident,
        target: str,
        *,
        incident_path: str | Path | None = None,
        conflicts: Sequence[Conflict] | None = None,
    ) -> None:
        self.incident = incident
        self.target = target
        self.values = resolve(incident, target)
        self.warehouse = incident.targets[target].warehouse
        self.incident_ref = str(incident_path) if incident_path is not None else INCIDENT_PLACEHOLDER
        self._conflicts = list(conflicts) if conflicts is not None else None

    def conflicts(self) -> list[Conflict]:
        """Return the incident's conflicts on the target, found once per builder: every prompt shows them."""
        from coordinator.coordination.conflicts import find_conflicts

        if self._conflicts is None:
            self._conflicts = find_conflicts(self.incident, self.target)
        return self._conflicts

    # Views

    def role_view(self, role_name: str, *, problems: Sequence[str] = ()) -> dict[str, Any]:
        role = self._role(role_name)
        # The checklist is the role's own list when it has one; criteria it owns only as preconditions
        # (a deployment checklist) are shown with their task instead.
        if role.criteria:
            criteria = [self.incident.criterion(criterion_id) for criterion_id in role.criteria]
        else:
            criteria = self.incident.criteria_of(role.name)
        return {
            "problems": list(problems),
            "incident": self._incident_view(),
            "role": self._role_view(role),
            "findings": [self._finding_view(finding) for finding in self.incident.findings_of(role.name)],
            "tasks": [self._task_view(number, task) for number, task in enumerate(self.incident.tasks_of(role.name), 1)],
            "criteria": [self.text(criterion.text) for criterion in criteria],
            "criteria_intro": self.text(role.criteria_intro or "Before finishing, verify ALL of the following:"),
            "manual_criteria": [criterion.id for criterion in self.incident.criteria_of(role.name) if criterion.manual],
            "files": [self._file_view(file) for file in role.files_to_read],
            "notes": [self.text(note) for note in role.notes],
            "handoff": {
                "path": self.text(role.handoff.path),
                "intro": self.text(role.handoff.intro or "When complete, create a handoff document at:"),
                "sections": [self.text(section.title) for section in role.handoff.sections],
            },
            "coord": self._coord_commands(role.name),
            "policy": policy_sentences(role),
            "shared_resources": self._shared_resources(role.name),
        }

    def coordination_view(self, *, problems: Sequence[str] = ()) -> dict[str, Any]:
        coordination = self.incident.coordination
        final = coordination.final_validation
        final_view = None
        if final is not None:
            criterion = self.incident.criterion(final.criterion)
            blocks = self.criterion_blocks(criterion)
            if final.expected:
                # The expected outcome reads best right under the command, before how `coord` judges it.
                first_code = next((index for index, block in enumerate(blocks) if block.kind == "code"), -1)
                blocks.insert(first_code + 1, paragraph(f"Expected: {self.text(final.expected)}"))
            final_view = {
                "text": self.text(criterion.text),
                "blocks": blocks,
                "command": f"coord check {self.incident_ref} --target {self.target}",
            }
        return {
            "problems": list(problems),
            "incident": self._incident_view(),
            "roles": [
                {
                    "label": self.role_label(role),
                    "name": role.name,
                    "title": self.text(role.title),
                    "mission": self.text(role.mission),
                    "file": f"{role.name}.md",
                    "policy": policy_summary(role),
                }
                for role in self.incident.roles
            ],
            "suggested_order": [
                {"label": self.role_label(self._role(start.role)), "note": self.text(start.note)}
                for start in coordination.suggested_order
            ],
            "conflicts": [
                {"kind": conflict.kind, "text": conflict.sentence(), "resource": conflict.resource}
                for conflict in self.conflicts()
            ],
            "conflict_notes": [self.text(note) for note in coordination.conflicts],
            "board_command": f"coord board {self.incident_ref}",
            "checkins": [
                {
                    "after": _duration_text(checkin.after),
                    "questions": [
                        {"label": self.role_label(self._role(role)), "text": " ".join(self.text(q) for q in questions)}
                        for role, questions in checkin.questions.items()
                    ],
                }
                for checkin in coordination.checkins
            ],
            "final_validation": final_view,
            "files": [f"{role.name}.md" for role in self.incident.roles],
            "status_command": f"coord check {self.incident_ref} --target {self.target}",
        }

    def _incident_view(self) -> dict[str, Any]:
        header = self.incident.incident
        target = self.incident.targets[self.target]
        return {
            "id": header.id,
            "title": self.text(header.title),
            "date": header.date.isoformat(),
            "summary": self.text(header.summary) if header.summary else None,
            "context": self.text(header.context),
            "target": self.target,
            "target_description": self.text(target.description).strip().rstrip(".") if target.description else None,
            "ref": self.incident_ref,
        }

    def _role_view(self, role: Role) -> dict[str, Any]:
        return {
            "name": role.name,
            "label": self.role_label(role),
            "heading": f"CHAT {role.chat}: {self.text(role.title)}" if role.chat is not None else self.text(role.title),
            "focus": self.text(role.focus) if role.focus else None,
            "mission": self.text(role.mission),
            "context": self.text(role.context) if role.context else None,
            "constraints": " ".join(self.text(constraint) for constraint in role.constraints),
            "findings_heading": self.text(role.findings_heading) if role.findings_heading else "Current Issues (Your Responsibility)",
            "files_intro": _label(self.text(role.files_intro)) if role.files_intro else "If you need more context",
        }

    def _finding_view(self, finding: Finding) -> dict[str, Any]:
        title = self.text(finding.title)
        if finding.severity and finding.severity.lower() not in title.lower():
            title = f"{title} ({finding.severity})"
        return {
            "heading": f"{self.text(finding.label)}: {title}" if finding.label else title,
            "problem": self.text(finding.problem) if finding.problem else None,
            "root_cause": self.text(finding.root_cause) if finding.root_cause else None,
            "evidence": [code(self.text(evidence).rstrip("\n")) for evidence in finding.evidence],
            "notes": [self.text(note) for note in finding.notes],
        }

    def _task_view(self, number: int, task: Task) -> dict[str, Any]:
        heading = f"Task {number}: {self.text(task.title)}"
        if task.priority:
            heading += f" ({self.text(task.priority)})"
        return {
            "id": task.id,
            "heading": heading,
            "why": self.text(task.why) if task.why else None,
            "intro": self.text(task.intro) if task.intro else None,
            "depends_on": [self._dependency_text(task, dependency) for dependency in task.depends_on]
            + [f"{self.text(self.incident.criterion(c).text)} (passing)" for c in task.after_criteria],
            "preconditions_title": _label(self.text(task.preconditions_title)) if task.preconditions_title else "Before you start, confirm",
            "preconditions": [self.text(self.incident.criterion(c).text) for c in task.preconditions],
            "steps": self.steps_blocks(task.steps),
            "files_to_modify": [self.text(path) for path in task.files_to_modify],
            "verification": self._verification_blocks(task),
            "expected_title": _label(self.text(task.expected_title)) if task.expected_title else "Expected Results",
            "expected": [self.text(item) for item in task.expected],
            "notes": [self.text(note) for note in task.notes],
        }

    def _dependency_text(self, task: Task, dependency_id: str) -> str:
        dependency = self.incident.task(dependency_id)
        siblings = self.incident.tasks_of(dependency.role)
        where = f"Task {siblings.index(dependency) + 1}: {self.text(dependency.title)}"
        if dependency.role != task.role:
            where += f" (the {self._role(dependency.role).name} chat)"
        return where

    def _verification_blocks(self, task: Task) -> list[Block]:
        """Show the task's criteria that no check, wait or branch step already shows."""
        in_steps = _criteria_in_steps(task.steps)
        blocks: list[Block] = []
        for criterion_id in task.verified_by:
            if criterion_id in in_steps:
                continue
            criterion = self.incident.criterion(criterion_id)
            blocks.append(paragraph(f"**Verify**: {self.text(criterion.text)}"))
            blocks.extend(self.criterion_blocks(criterion))
        return blocks

    def _file_view(self, file) -> dict[str, Any]:
        return {
            "path": self.text(file.path),
            "why": self.text(file.why) if file.why else None,
            "command": fill_command(file.command, self.values) if file.command else None,
            "optional": file.optional,
        }

    def _shared_resources(self, role: str) -> list[str]:
        """Return the resources this role touches that another role also touches, changing one side at least."""
        shared = []
        for conflict in self.conflicts():
            if role in conflict.roles:
                side = conflict.first if conflict.first.role == role else conflict.second
                for resource in side.resources:
                    if resource not in shared:
                        shared.append(resource)
        return shared

    def _coord_commands(self, role: str) -> dict[str, str]:
        ref = self.incident_ref
        incident_id = self.incident.incident.id
        return {
            "checkin": f"coord checkin --incident {incident_id} --role {role} --conditions TEXT --actions TEXT --needs TEXT",
            "claim": f"coord claim RESOURCE --incident {incident_id} --role {role} --ttl 30m --note TEXT",
            "heartbeat": f"coord heartbeat --incident {incident_id} --role {role}",
            "release": f"coord release RESOURCE --incident {incident_id} --role {role}",
            "message": f"coord message --incident {incident_id} --from {role} --to ROLE TEXT",
            "blocker": f"coord message --incident {incident_id} --from {role} --to ROLE TEXT --blocking --until CRITERION",
            "board": f"coord board {ref} --json",
            "check": f"coord check {ref} --role {role} --target {self.target}",
            "run": f"coord run {ref} --role {role} --target {self.target}",
            "tick": f"coord tick {ref} CRITERION --by NAME --why TEXT",
            "handoff": f"coord handoff {ref} --role {role} --target {self.target}",
        }

    # Steps

    def steps_blocks(self, steps: Iterable[StepBase]) -> list[Block]:
        """Flatten steps into blocks, joining an untitled step's code onto the code block just before it."""
        blocks: list[Block] = []
        joinable = False
        for step in steps:
            step_blocks = self.step_blocks(step)
            if not step_blocks:
                continue
            first = step_blocks[0]
            previous = blocks[-1] if blocks else None
            if joinable and previous.kind == first.kind == "code" and previous.language == first.language:
                separator = "\n\n" if first.text.lstrip().startswith(_comment_prefix(first.language)) else "\n"
                blocks[-1] = code(previous.text + separator + first.text, previous.language)
                step_blocks = step_blocks[1:]
            blocks.extend(step_blocks)
            joinable = isinstance(step, (RunStep, QueryStep, SnippetStep)) and blocks[-1].kind == "code"
        return blocks

    def step_blocks(self, step: StepBase) -> list[Block]:
        """Return the blocks of one step, or none when the step has nothing to show on this target.

        A step's dependencies come before it; its retry rule and the criteria that verify it come after.
        """
        blocks = self._kind_blocks(step)
        if not blocks:
            return []
        return [*self._step_dependency_blocks(step), *blocks, *self._step_verify_blocks(step)]

    def _step_dependency_blocks(self, step: StepBase) -> list[Block]:
        waits = [self._dependency_text_of(task_id) for task_id in step.depends_on]
        waits += [f"{self.text(self.incident.criterion(c).text)} (passing)" for c in step.after_criteria]
        return [paragraph(f"**Only after**: {'; '.join(waits)}.")] if waits else []

    def _dependency_text_of(self, task_id: str) -> str:
        task = self.incident.task(task_id)
        number = self.incident.tasks_of(task.role).index(task) + 1
        return f"Task {number}: {self.text(task.title)} (the {task.role} chat)"

    def _step_verify_blocks(self, step: StepBase) -> list[Block]:
        if not step.verify:
            return []
        texts = "; ".join(self.text(self.incident.criterion(criterion_id).text) for criterion_id in step.verify)
        within = f", measured for up to {_seconds_text(step.verify_within)}" if step.verify_within else ""
        return [paragraph(f"**Done only when these pass afterwards**{within}: {texts}. The exit code alone does not prove it worked.")]

    def _retry_blocks(self, step: RetryStep) -> list[Block]:
        retry = step.retry
        conditions = []
        if retry.when is not None and retry.when.exit_code:
            conditions.append(f"it exits with {', '.join(str(code) for code in retry.when.exit_code)}")
        if retry.when is not None and retry.when.output:
            conditions.append(f"its output matches `{retry.when.output}`")
        when = f"If it fails and {' or '.join(conditions)}" if conditions else "If it fails"
        delay = f", {_seconds_text(retry.delay)} apart" if retry.delay else ""
        inner = self.step_blocks(retry.step)
        if not inner:
            return []
        times = "time" if retry.count == 1 else "times"
        return self._titled(step, [*inner, paragraph(f"{when}, run it again, up to {retry.count} more {times}{delay}.")])

    def _kind_blocks(self, step: StepBase) -> list[Block]:
        if isinstance(step, RunStep):
            command = command_for(step.run, self.target)
            if command is None:
                return []
            body = [code(self._commented(step, "bash", fill_command(command, self.values).rstrip()), "bash")]
        elif isinstance(step, QueryStep):
            body = self.query_blocks(step.query, step.params, comment=self._comment_lines(step, "sql"))
        elif isinstance(step, SnippetStep):
            language = step.language
            body = [code(self._commented(step, language, self.text(step.snippet).rstrip()), language)]
        elif isinstance(step, CheckStep):
            return self._check_blocks(step)
        elif isinstance(step, WaitStep):
            return self._wait_blocks(step)
        elif isinstance(step, AlternativesStep):
            return self._alternatives_blocks(step)
        elif isinstance(step, BranchStep):
            return self._branch_blocks(step)
        elif isinstance(step, RetryStep):
            return self._retry_blocks(step)
        else:
            raise CoordinatorError(f"cannot render a step of type {type(step).__name__}")
        return self._titled(step, body)

    def query_blocks(
        self, sql: str, params: dict, *, comment: list[str] | None = None, runner: str = "coord query"
    ) -> list[Block]:
        """Show a query: a `bq query` command on BigQuery, otherwise the SQL and the `coord` verb that runs it."""
        values = resolve(self.incident, self.target, extra=params) if params else self.values
        display_sql = inline_sql_parameters(fill_sql(sql, values), values).strip()
        comment = comment or []
        if self.warehouse.startswith("bigquery://"):
            lines = [f"# {line}" for line in comment]
            lines.append(f'bq query --use_legacy_sql=false "\n{_shell_double_quoted(display_sql)}"')
            return [code("\n".join(lines), "bash")]
        if runner == "coord query":
            lines = [f"# {line}" for line in comment]
            lines.append(f"coord query {self.incident_ref} --target {self.target} - <<'SQL'\n{display_sql}\nSQL")
            return [code("\n".join(lines), "bash")]
        lines = [f"-- {line}" for line in comment]
        lines.append(display_sql)
        return [
            code("\n".join(lines), "sql"),
            paragraph(f"`{runner}` runs this query on the `{self.target}` warehouse."),
        ]

    def criterion_blocks(self, criterion: Criterion) -> list[Block]:
        """Show how a criterion is checked on this target and what result passes."""
        if criterion.manual:
            return [paragraph(f"Confirm this by hand, then record it: `coord tick {self.incident_ref} {criterion.id} --by NAME --why TEXT`.")]

        if criterion.drift is not None:
            return self._drift_blocks(criterion)
        if criterion.sql is not None:
            blocks = self.query_blocks(criterion.sql, criterion.params, runner="coord check")
        else:
            command = command_for(criterion.command, self.target)
            if command is None:
                return [paragraph(f"This check has no command on the `{self.target}` target.")]
            blocks = [code(fill_command(command, self.values).rstrip(), "bash")]

        blocks.append(paragraph(f"Passes when {_describe_expect(criterion.expect)}."))
        if criterion.note:
            blocks.append(paragraph(self.text(criterion.note)))
        return blocks

    def _drift_blocks(self, criterion: Criterion) -> list[Block]:
        """Show how to read the deployed revision and list the commits made after it on the service's paths."""
        drift = criterion.drift
        command = command_for(drift.revision, self.target)
        if command is None:
            return [paragraph(f"This check has no revision command on the `{self.target}` target.")]
        paths = " ".join(shlex.quote(path) for path in drift.paths)
        lines = [
            f"# The commit (or deploy time) of the revision {drift.service} runs",
            f"DEPLOYED=$({fill_command(command, self.values).strip()})",
            "# Commits after it that touch what the service reads; with a deploy time, use --since=\"$DEPLOYED\"",
            f"git log --oneline \"$DEPLOYED\"..HEAD -- {paths}",
        ]
        blocks = [
            code("\n".join(lines), "bash"),
            paragraph(f"Passes when no commit after the deployed one touches {', '.join(f'`{path}`' for path in drift.paths)}."),
        ]
        if criterion.note:
            blocks.append(paragraph(self.text(criterion.note)))
        return blocks

    def _check_blocks(self, step: CheckStep) -> list[Block]:
        criterion = self.incident.criterion(step.check)
        heading = self._heading(step.title, wait_hint=None) or f"**Check**: {self.text(criterion.text)}"
        return self._with_note(step, [paragraph(heading), *self.criterion_blocks(criterion)])

    def _wait_blocks(self, step: WaitStep) -> list[Block]:
        criterion = self.incident.criterion(step.wait)
        heading = self._heading(step.title, wait_hint=step.wait_hint)
        if heading is None:
            heading = f"**Wait until**: {self.text(criterion.text)}"
            if step.wait_hint:
                heading += f" ({self.text(step.wait_hint)})"
        blocks = [paragraph(heading), *self.criterion_blocks(criterion)]
        if not criterion.manual:
            blocks.append(
                paragraph(
                    f"`coord run` repeats this check every {_seconds_text(step.interval)} "
                    f"for up to {_seconds_text(step.timeout)}."
                )
            )
        return self._with_note(step, blocks)

    def _alternatives_blocks(self, step: AlternativesStep) -> list[Block]:
        options = []
        for option in step.alternatives:
            if isinstance(option, (RunStep, QueryStep)) and option.title and not option.comment and not option.note:
                # A one-command option reads best as a comment inside one shared code block.
                option = option.model_copy(update={"title": None, "comment": option.title})
            if options and option.title is None and option.comment is None:
                option = option.model_copy(update={"comment": ALTERNATIVE_SEPARATOR})
            if self.step_blocks(option):
                options.append(option)
        if not options:
            return []
        return self._titled(step, self.steps_blocks(options))

    def _branch_blocks(self, step: BranchStep) -> list[Block]:
        branch = step.branch
        then_blocks = self.steps_blocks(branch.then)
        else_blocks = self.steps_blocks(branch.otherwise)
        if not then_blocks and not else_blocks:
            return []

        condition, negation = self._condition_texts(branch.condition)
        blocks = self._condition_blocks(branch.condition)
        if then_blocks:
            blocks.append(paragraph(_branch_heading(self.text(branch.then_title) if branch.then_title else None, "If", condition)))
            blocks.extend(then_blocks)
        if else_blocks:
            blocks.append(paragraph(_branch_heading(self.text(branch.else_title) if branch.else_title else None, "Otherwise", negation)))
            blocks.extend(else_blocks)
        return self._titled(step, blocks)

    def _condition_blocks(self, condition: Condition) -> list[Block]:
        if condition.criterion is not None:
            criterion = self.incident.criterion(condition.criterion)
            return [] if criterion.manual else self.criterion_blocks(criterion)
        return self.query_blocks(condition.sql, condition.params)

    def _condition_texts(self, condition: Condition) -> tuple[str, str | None]:
        """Return the condition as a reader sees it, and its negation when one can be written."""
        if condition.criterion is not None:
            return self.text(self.incident.criterion(condition.criterion).text), None
        expect = condition.expect
        return _describe_expect(expect), _describe_expect(expect, negate=True)

    # Text

    def text(self, value: str) -> str:
        """Fill `{{ name }}` parameters in display text."""
        return fill_text(value, self.values)

    def role_label(self, role: Role) -> str:
        name = role.name.replace("-", " ").replace("_", " ").title()
        return f"Chat {role.chat} ({name})" if role.chat is not None else name

    def _role(self, name: str) -> Role:
        for role in self.incident.roles:
            if role.name == name:
                return role
        known = ", ".join(role.name for role in self.incident.roles)
        raise CoordinatorError(f"unknown role {name!r}: this incident defines {known}")

    def _comment_lines(self, step: StepBase, language: str) -> list[str]:
        lines = self.text(step.comment).splitlines() if step.comment else []
        hint = getattr(step, "wait_hint", None)
        if hint and not step.title:
            lines.append(self.text(hint))
        return lines

    def _commented(self, step: StepBase, language: str, body: str) -> str:
        prefix = _comment_prefix(language)
        lines = [f"{prefix} {line}" if line else prefix for line in self._comment_lines(step, language)]
        return "\n".join([*lines, body])

    def _heading(self, title: str | None, *, wait_hint: str | None) -> str | None:
        if not title:
            return None
        text = self.text(title).rstrip()
        ending = ""
        if text.endswith(":"):
            text = text[:-1]
        if text[-1:] not in ".?!":
            ending = ":"
        heading = f"**{text}**"
        if wait_hint:
            heading += f" ({self.text(wait_hint)})"
        return heading + ending

    def _titled(self, step: StepBase, body: list[Block]) -> list[Block]:
        heading = self._heading(step.title, wait_hint=getattr(step, "wait_hint", None))
        blocks = [paragraph(heading), *body] if heading else list(body)
        return self._with_note(step, blocks)

    def _with_note(self, step: StepBase, blocks: list[Block]) -> list[Block]:
        if step.note:
            blocks.append(paragraph(self.text(step.note)))
        return blocks


def _label(text: str) -> str:
    """Strip the colon that ends a label, because the template adds its own."""
    return text.strip().rstrip(":").rstrip()


def _criteria_in_steps(steps: Iterable[StepBase]) -> set[str]:
    found: set[str] = set()
    for step in steps:
        if isinstance(step, CheckStep):
            found.add(step.check)
        elif isinstance(step, WaitStep):
            found.add(step.wait)
        elif isinstance(step, AlternativesStep):
            found |= _criteria_in_steps(step.alternatives)
        elif isinstance(step, BranchStep):
            if step.branch.condition.criterion is not None:
                found.add(step.branch.condition.criterion)
            found |= _criteria_in_steps(step.branch.then)
            found |= _criteria_in_steps(step.branch.otherwise)
    return found


def _branch_heading(title: str | None, word: str, condition: str | None) -> str:
    """Format the heading of one side of a branch. A title with its own bold text is shown as written."""
    if title is None:
        return f"**{word} {condition}**:" if condition else f"**{word}**:"
    title = title.strip().rstrip(":")
    if "**" in title:
        return f"{title}:"
    if condition is None or condition in title:
        return f"**{title}**:"
    return f"**{title}** ({condition}):"


def _describe_expect(expect: Expect | None, *, negate: bool = False) -> str:
    """Describe a comparison in words, e.g. `records > 0` or `exit code is 0 and the output matches ...`."""
    if expect is None:
        return "it is confirmed"
    parts = []
    if expect.exit_code is not None:
        parts.append(f"exit code {'is not' if negate else 'is'} {expect.exit_code}")
    if expect.output is not None:
        parts.append(f"the output {'does not match' if negate else 'matches'} `{expect.output}`")
    if expect.op is not None:
        subject = expect.column if expect.column is not None else "the captured value"
        parts.append(_comparison(subject, expect.op, expect.value, negate=negate))
    text = " or ".join(parts) if negate else " and ".join(parts)
    if expect.rows == "all" and expect.column is not None:
        text += " in some row" if negate else " in every row"
    return text


def _comparison(subject: str, op: str, value: Any, *, negate: bool) -> str:
    if op == "between":
        low, high = value
        return f"{subject} is {'not ' if negate else ''}between {low} and {high}"
    operator = NEGATED[op] if negate else op
    value_text = repr(value) if isinstance(value, str) else value
    return f"{subject} {operator} {value_text}"


def _shell_double_quoted(text: str) -> str:
    """Escape text for the inside of a shell double-quoted string: backslash, double quote, `$` and backtick."""
    for character in ("\\", '"', "$", "`"):
        text = text.replace(character, "\\" + character)
    return text


def _comment_prefix(language: str) -> str:
    return COMMENT_PREFIXES.get(language, "#")


def _seconds_text(seconds: float) -> str:
    whole = int(seconds)
    if whole % 3600 == 0 and whole >= 3600:
        hours = whole // 3600
        return f"{hours} hour" + ("s" if hours != 1 else "")
    if whole % 60 == 0 and whole >= 60:
        minutes = whole // 60
        return f"{minutes} minute" + ("s" if minutes != 1 else "")
    return f"{seconds:g} second" + ("s" if seconds != 1 else "")


def _duration_text(duration: str) -> str:
    from coordinator.durations import parse_duration

    seconds = parse_duration(duration)
    hours, rest = divmod(int(seconds), 3600)
    minutes = rest // 60
    parts = []
    if hours:
        parts.append(f"{hours} hour" + ("s" if hours != 1 else ""))
    if minutes:
        parts.append(f"{minutes} minute" + ("s" if minutes != 1 else ""))
    return "~" + " ".join(parts) if parts else f"~{_seconds_text(seconds)}"
