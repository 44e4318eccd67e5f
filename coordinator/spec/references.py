"""Cross-checks of a loaded incident: unique ids and references to roles, tasks, criteria and targets."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Iterator

from coordinator.spec.located import KeyPath
from coordinator.spec.models import (
    AlternativesStep,
    BranchStep,
    CheckStep,
    Clock,
    Incident,
    PerTarget,
    QueryStep,
    RetryStep,
    RunStep,
    StepBase,
    WaitStep,
)

if TYPE_CHECKING:
    from coordinator.spec.loader import Reporter


def walk_steps(steps: list[StepBase], path: KeyPath, key_prefix: str = "") -> Iterator[tuple[KeyPath, str, StepBase]]:
    """Yield (file path, step key, step) for every step, nested ones included.

    A step's key is its id, or its position: `3`, `3.alt2`, `4.then1`, `4.else2`, `5.try1`.
    """
    for index, step in enumerate(steps):
        yield from _walk_step(step, (*path, index), step.id or f"{key_prefix}{index + 1}")


def _walk_step(step: StepBase, step_path: KeyPath, key: str) -> Iterator[tuple[KeyPath, str, StepBase]]:
    yield step_path, key, step
    if isinstance(step, AlternativesStep):
        yield from walk_steps(step.alternatives, (*step_path, "alternatives"), f"{key}.alt")
    if isinstance(step, BranchStep):
        yield from walk_steps(step.branch.then, (*step_path, "branch", "then"), f"{key}.then")
        yield from walk_steps(step.branch.otherwise, (*step_path, "branch", "else"), f"{key}.else")
    if isinstance(step, RetryStep):
        # Every attempt runs the same step under the key `KEY.tryN`; the first attempt stands for all.
        yield from _walk_step(step.retry.step, (*step_path, "retry", "step"), f"{key}.try1")


def check_references(incident: Incident, reporter: Reporter, *, check_sql: bool = True) -> None:
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
        reporter.add(
            ("incident", "default_target"),
            f"unknown target {incident.incident.default_target!r}: targets are {', '.join(sorted(targets))}",
        )

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
        if criterion.drift is not None:
            per_target(("criteria", index, "drift", "revision"), criterion.drift.revision)
        if criterion.sql is not None and check_sql:
            _read_only(reporter, ("criteria", index, "sql"), criterion.sql, f"criterion {criterion.id!r}")

    if check_sql:
        for name, target in incident.targets.items():
            if isinstance(target.clock, Clock) and target.clock.sql is not None:
                _read_only(reporter, ("targets", name, "clock", "sql"), target.clock.sql, f"the clock of target {name!r}")

    for index, task in enumerate(incident.tasks):
        task_path = ("tasks", index)
        if task.role is None:
            reporter.add(task_path, f"task {task.id!r} has no role: add role: NAME, one of {', '.join(sorted(roles))}")
        else:
            role_ref((*task_path, "role"), task.role)
        for position, dependency in enumerate(task.depends_on):
            task_ref((*task_path, "depends_on", position), dependency)
            if dependency == task.id:
                reporter.add((*task_path, "depends_on", position), "a task cannot depend on itself")
        for field in ("verified_by", "preconditions", "after_criteria"):
            for position, criterion_id in enumerate(getattr(task, field)):
                criterion_ref((*task_path, field, position), criterion_id)
        for path, _key, step in walk_steps(task.steps, (*task_path, "steps")):
            for position, criterion_id in enumerate(step.verify):
                criterion_ref((*path, "verify", position), criterion_id)
            for position, criterion_id in enumerate(step.after_criteria):
                criterion_ref((*path, "after_criteria", position), criterion_id)
            for position, dependency in enumerate(step.depends_on):
                task_ref((*path, "depends_on", position), dependency)
                if dependency == task.id:
                    reporter.add((*path, "depends_on", position), "a step cannot depend on its own task")
        _check_steps(reporter, task, task_path, criterion_ref, per_target, check_sql=check_sql)
        for position, touch in enumerate(task.touches):
            _check_touch(reporter, (*task_path, "touches", position), touch)
        for path, _key, step in walk_steps(task.steps, (*task_path, "steps")):
            for position, touch in enumerate(step.touches):
                _check_touch(reporter, (*path, "touches", position), touch)

    _check_task_order(reporter, incident)

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


def _check_steps(reporter: Reporter, task, task_path: KeyPath, criterion_ref, per_target, *, check_sql: bool = True) -> None:
    keys: Counter[str] = Counter()
    for path, key, step in walk_steps(task.steps, (*task_path, "steps")):
        keys[key] += 1
        if keys[key] == 2:
            reporter.add(path, f"duplicate step id {key!r} in task {task.id!r}")
        if isinstance(step, RunStep):
            per_target((*path, "run"), step.run)
        if isinstance(step, (CheckStep, WaitStep)):
            criterion_ref((*path, "check" if isinstance(step, CheckStep) else "wait"), step.check if isinstance(step, CheckStep) else step.wait)
        if isinstance(step, QueryStep) and check_sql:
            _read_only(reporter, (*path, "query"), step.query, f"query of task {task.id!r}")
        if isinstance(step, BranchStep):
            condition = step.branch.condition
            if condition.criterion is not None:
                criterion_ref((*path, "branch", "if", "criterion"), condition.criterion)
            if condition.sql is not None and check_sql:
                _read_only(reporter, (*path, "branch", "if", "sql"), condition.sql, f"branch of task {task.id!r}")


def _check_task_order(reporter: Reporter, incident: Incident) -> None:
    """Report dependencies that can never be met: a cycle of tasks, and a task waiting for a later task of
    its own role (a role works through its tasks in order, so the later one never starts)."""
    index_of = {task.id: index for index, task in enumerate(incident.tasks)}
    # Each task's dependencies, with where each is written: the task's own depends_on, then its steps'.
    edges: dict[str, list[tuple[str, KeyPath]]] = {}
    for index, task in enumerate(incident.tasks):
        task_path = ("tasks", index)
        found = [(dependency, (*task_path, "depends_on", position)) for position, dependency in enumerate(task.depends_on)]
        for path, _key, step in walk_steps(task.steps, (*task_path, "steps")):
            found += [(dependency, (*path, "depends_on", position)) for position, dependency in enumerate(step.depends_on)]
        edges.setdefault(task.id, [])
        edges[task.id] += [(dependency, path) for dependency, path in found if dependency in index_of and dependency != task.id]

    for task_id, dependencies in edges.items():
        task = incident.tasks[index_of[task_id]]
        for dependency, path in dependencies:
            other = incident.tasks[index_of[dependency]]
            if task.role is not None and other.role == task.role and index_of[dependency] > index_of[task_id]:
                reporter.add(
                    path,
                    f"task {task_id!r} depends on {dependency!r}, a later task of role {task.role!r}, which would wait "
                    f"forever: move task {dependency!r} before {task_id!r} or drop the dependency",
                )

    reported: set[frozenset[str]] = set()
    for start in edges:
        cycle = _cycle_from(start, edges)
        if cycle is None or frozenset(cycle) in reported:
            continue
        reported.add(frozenset(cycle))
        first = min(cycle, key=lambda task_id: index_of[task_id])
        at = cycle.index(first)
        ordered = cycle[at:] + cycle[:at]
        path = next(path for dependency, path in edges[first] if dependency == ordered[1 % len(ordered)])
        chain = " -> ".join([*ordered, first])
        reporter.add(path, f"tasks depend on each other in a cycle ({chain}), so none can start: drop one of these dependencies")


def _cycle_from(start: str, edges: dict[str, list[tuple[str, KeyPath]]]) -> list[str] | None:
    """Return the tasks of a cycle through `start`, in dependency order, or None."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, trail = stack.pop()
        for dependency, _path in edges.get(node, []):
            if dependency == start:
                return trail
            if dependency not in seen:
                seen.add(dependency)
                stack.append((dependency, [*trail, dependency]))
    return None


def _check_touch(reporter: Reporter, path: KeyPath, touch) -> None:
    """A touch's dates are dates, or parameters (`{{ backfill_start }}`) checked when they are filled."""
    import datetime as dt

    for key, value in (("from", touch.start), ("to", touch.end)):
        if isinstance(value, str) and "{{" not in value:
            try:
                dt.date.fromisoformat(value)
            except ValueError:
                reporter.add((*path, key), f"invalid date {value!r}: write YYYY-MM-DD or a parameter such as {{{{ start_date }}}}")
    if isinstance(touch.start, dt.date) and isinstance(touch.end, dt.date) and touch.end < touch.start:
        reporter.add((*path, "to"), f"the range ends ({touch.end}) before it starts ({touch.start})")


def _duplicates(reporter: Reporter, section: str, ids: list[str], key: str) -> None:
    seen: set[str] = set()
    for index, value in enumerate(ids):
        if value in seen:
            reporter.add((section, index, key), f"duplicate {key} {value!r}: each {key} must be unique in {section}")
        seen.add(value)


def _read_only(reporter: Reporter, path: KeyPath, sql: str, owner: str) -> None:
    from coordinator.warehouse.guard import read_only_problem

    problem = read_only_problem(sql)
    if problem is None:
        return
    if "not allowed" in problem or "statements" in problem:
        reporter.add(path, f"{problem} in {owner} (criteria and queries only read)")
    else:
        reporter.add(path, f"{problem} in {owner}: fix the SQL")
