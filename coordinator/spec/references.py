"""Cross-checks of a loaded incident: unique ids and references to roles, tasks, criteria and targets."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Iterator

from coordinator.spec.located import KeyPath
from coordinator.spec.models import (
    AlternativesStep,
    BranchStep,
    CheckStep,
    Incident,
    PerTarget,
    QueryStep,
    RunStep,
    StepBase,
    WaitStep,
)

if TYPE_CHECKING:
    from coordinator.spec.loader import Reporter


def walk_steps(steps: list[StepBase], path: KeyPath, key_prefix: str = "") -> Iterator[tuple[KeyPath, str, StepBase]]:
    """Yield (file path, step key, step) for every step, nested ones included.

    A step's key is its id, or its position: `3`, `3.alt2`, `4.then1`, `4.else2`.
    """
    for index, step in enumerate(steps):
        step_path = (*path, index)
        key = step.id or f"{key_prefix}{index + 1}"
        yield step_path, key, step
        if isinstance(step, AlternativesStep):
            yield from walk_steps(step.alternatives, (*step_path, "alternatives"), f"{key}.alt")
        if isinstance(step, BranchStep):
            yield from walk_steps(step.branch.then, (*step_path, "branch", "then"), f"{key}.then")
            yield from walk_steps(step.branch.otherwise, (*step_path, "branch", "else"), f"{key}.else")


def check_references(incident: Incident, reporter: Reporter) -> None:
    roles = {role.name for role in incident.roles}
    tasks = {task.id for task in incident.tasks}
    criteria = {criterion.id for criterion in incident.criteria}
    targets = set(incident.targets)

    def role_ref(path: KeyPath, name: str) -> None:
        if name not in roles:
            reporter.add(path, f"unknown role {name!r}: roles are {', '.join(sorted(roles))}")

    def task_ref(path: KeyPath, task_id: str) -> None:
        if task_id not in tasks:
            reporter.add(path, f"unknown task {task_id!r}: check the id under tasks")

    def criterion_ref(path: KeyPath, criterion_id: str) -> None:
        if criterion_id not in criteria:
            reporter.add(path, f"unknown criterion {criterion_id!r}: check the id under criteria")

    def per_target(path: KeyPath, command: object) -> None:
        if isinstance(command, PerTarget):
            for target in command.targets():
                if target not in targets:
                    reporter.add((*path, target), f"unknown target {target!r}: targets are {', '.join(sorted(targets))}")

    _duplicates(reporter, "roles", [role.name for role in incident.roles], "name")
    _duplicates(reporter, "tasks", [task.id for task in incident.tasks], "id")
    _duplicates(reporter, "criteria", [criterion.id for criterion in incident.criteria], "id")
    _duplicates(reporter, "findings", [finding.id for finding in incident.findings], "id")

    if incident.incident.default_target and incident.incident.default_target not in targets:
        reporter.add(("incident", "default_target"), f"unknown target {incident.incident.default_target!r}")

    for index, finding in enumerate(incident.findings):
        role_ref(("findings", index, "role"), finding.role)

    for index, role in enumerate(incident.roles):
        for position, criterion_id in enumerate(role.criteria):
            criterion_ref(("roles", index, "criteria", position), criterion_id)
        for position, section in enumerate(role.handoff.sections):
            section_path = ("roles", index, "handoff", "sections", position)
            for item, task_id in enumerate(section.tasks):
                task_ref((*section_path, "tasks", item), task_id)
            for item, criterion_id in enumerate(section.criteria):
                criterion_ref((*section_path, "criteria", item), criterion_id)

    for index, criterion in enumerate(incident.criteria):
        if criterion.role is not None:
            role_ref(("criteria", index, "role"), criterion.role)
        per_target(("criteria", index, "command"), criterion.command)
        if criterion.sql is not None:
            _read_only(reporter, ("criteria", index, "sql"), criterion.sql, f"criterion {criterion.id!r}")

    for index, task in enumerate(incident.tasks):
        task_path = ("tasks", index)
        role_ref((*task_path, "role"), task.role)
        for position, dependency in enumerate(task.depends_on):
            task_ref((*task_path, "depends_on", position), dependency)
            if dependency == task.id:
                reporter.add((*task_path, "depends_on", position), "a task cannot depend on itself")
        for field in ("verified_by", "preconditions"):
            for position, criterion_id in enumerate(getattr(task, field)):
                criterion_ref((*task_path, field, position), criterion_id)
        _check_steps(reporter, task, task_path, criterion_ref, per_target)

    coordination = incident.coordination
    for index, start in enumerate(coordination.suggested_order):
        role_ref(("coordination", "suggested_order", index, "role"), start.role)
    for index, checkin in enumerate(coordination.checkins):
        for role in checkin.questions:
            role_ref(("coordination", "checkins", index, "questions", role), role)
        from coordinator.durations import parse_duration

        try:
            parse_duration(checkin.after)
        except ValueError as error:
            reporter.add(("coordination", "checkins", index, "after"), str(error))
    if coordination.final_validation is not None:
        criterion_ref(("coordination", "final_validation", "criterion"), coordination.final_validation.criterion)


def _check_steps(reporter: Reporter, task, task_path: KeyPath, criterion_ref, per_target) -> None:
    keys: Counter[str] = Counter()
    for path, key, step in walk_steps(task.steps, (*task_path, "steps")):
        keys[key] += 1
        if keys[key] == 2:
            reporter.add(path, f"duplicate step id {key!r} in task {task.id!r}")
        if isinstance(step, RunStep):
            per_target((*path, "run"), step.run)
        if isinstance(step, (CheckStep, WaitStep)):
            criterion_ref((*path, "check" if isinstance(step, CheckStep) else "wait"), step.check if isinstance(step, CheckStep) else step.wait)
        if isinstance(step, QueryStep):
            _read_only(reporter, (*path, "query"), step.query, f"query of task {task.id!r}")
        if isinstance(step, BranchStep):
            condition = step.branch.condition
            if condition.criterion is not None:
                criterion_ref((*path, "branch", "if", "criterion"), condition.criterion)
            if condition.sql is not None:
                _read_only(reporter, (*path, "branch", "if", "sql"), condition.sql, f"branch of task {task.id!r}")


def _duplicates(reporter: Reporter, section: str, ids: list[str], key: str) -> None:
    seen: set[str] = set()
    for index, value in enumerate(ids):
        if value in seen:
            reporter.add((section, index, key), f"duplicate {key} {value!r}: each {key} must be unique in {section}")
        seen.add(value)


def _read_only(reporter: Reporter, path: KeyPath, sql: str, owner: str) -> None:
    from coordinator.warehouse.guard import read_only_problem

    problem = read_only_problem(sql)
    if problem is not None:
        reporter.add(path, f"{problem} in {owner} (criteria and queries only read)")
