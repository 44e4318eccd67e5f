"""The resolved plan of an incident on a target: every role's tasks and steps, and their order across roles.

`build_plan` returns data only; `coordinator.cli.plan` prints it. Nothing here runs a command or a query.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from coordinator.board.store import Board
from coordinator.runner.redact import redact
from coordinator.runner.resume import resume_point
from coordinator.runner.safety import effect_of, idempotent, needs_verification, risk_of
from coordinator.spec.models import (
    AlternativesStep,
    BranchStep,
    CheckStep,
    Incident,
    QueryStep,
    RetryStep,
    RunStep,
    SnippetStep,
    StepBase,
    Task,
    WaitStep,
    command_for,
    step_kind,
)
from coordinator.spec.params import fill_command, fill_sql, resolve


@dataclass
class StepPlan:
    key: str
    kind: str
    depth: int
    title: str | None = None
    command: str | None = None
    detail: str | None = None
    verify: list[str] = field(default_factory=list)
    verify_within: float = 0.0
    risk: str | None = None
    unverified_effect: str | None = None
    idempotent: bool = False
    depends_on: list[str] = field(default_factory=list)
    after_criteria: list[str] = field(default_factory=list)
    status: str | None = None


@dataclass
class TaskPlan:
    id: str
    role: str
    title: str
    stage: int = 0
    status: str = "todo"
    depends_on: list[str] = field(default_factory=list)
    after_criteria: list[str] = field(default_factory=list)
    verified_by: list[str] = field(default_factory=list)
    steps: list[StepPlan] = field(default_factory=list)


@dataclass
class RolePlan:
    name: str
    title: str
    tasks: list[TaskPlan] = field(default_factory=list)


@dataclass
class Dependency:
    """One edge of the order across roles: `task` waits for `waits_for` (a task, or a criterion and its role)."""

    task: str
    role: str
    kind: str
    waits_for: str
    owner: str | None


@dataclass
class PlanSection:
    """An extra titled list of lines printed after the order, for checks that other modules add."""

    title: str
    lines: list[str]


@dataclass
class Plan:
    incident_id: str
    target: str
    roles: list[RolePlan]
    stages: list[list[str]]
    dependencies: list[Dependency]
    warnings: list[str] = field(default_factory=list)
    sections: list[PlanSection] = field(default_factory=list)

    def task(self, task_id: str) -> TaskPlan:
        return next(task for role in self.roles for task in role.tasks if task.id == task_id)


def build_plan(incident: Incident, target: str, *, roles: list[str] | None = None, board: Board | None = None) -> Plan:
    """Resolve every step of the chosen roles (all by default) on `target`, with the board's state when given."""
    states = board.task_states(incident.incident.id) if board is not None else {}
    rows = board.step_runs(incident.incident.id) if board is not None else []
    builder = _StepPlanner(incident, target)
    stages = task_stages(incident)

    role_plans = []
    for role in incident.roles:
        if roles is not None and role.name not in roles:
            continue
        role_plan = RolePlan(role.name, role.title)
        for task in incident.tasks_of(role.name):
            state = states.get(task.id)
            point = resume_point(task, rows, state) if rows else None
            latest = point.latest if point is not None and not point.fresh else {}
            task_plan = TaskPlan(
                task.id,
                role.name,
                task.title,
                stage=stages.get(task.id, 0),
                status=state.status if state else "todo",
                depends_on=list(task.depends_on),
                after_criteria=list(task.after_criteria),
                verified_by=list(task.verified_by),
            )
            for index, step in enumerate(task.steps):
                task_plan.steps.extend(builder.steps(step, step.id or str(index + 1), 0, latest))
            role_plan.tasks.append(task_plan)
        role_plans.append(role_plan)

    plan = Plan(
        incident.incident.id,
        target,
        role_plans,
        stages=_stage_lists(incident, stages),
        dependencies=_dependencies(incident),
    )
    plan.warnings = _warnings(plan, incident)
    return plan


def _criterion_verifiers(incident: Incident) -> dict[str, list[str]]:
    """Return, per criterion, the tasks whose verified_by names it: the tasks that make it pass."""
    verifiers: dict[str, list[str]] = {}
    for task in incident.tasks:
        for criterion_id in task.verified_by:
            verifiers.setdefault(criterion_id, []).append(task.id)
    return verifiers


def _predecessors(incident: Incident) -> dict[str, list[str]]:
    """Return what each task runs after: the previous task of its role, its dependencies, and the tasks that
    verify the criteria it waits for."""
    verifiers = _criterion_verifiers(incident)
    before: dict[str, list[str]] = {}
    for role in incident.roles:
        previous = None
        for task in incident.tasks_of(role.name):
            edges = [previous] if previous else []
            edges += task.depends_on
            criteria = [*task.after_criteria, *(c for step in task.steps for c in step.after_criteria)]
            edges += [verifier for criterion in criteria for verifier in verifiers.get(criterion, []) if verifier != task.id]
            edges += [dependency for step in task.steps for dependency in step.depends_on]
            before[task.id] = list(dict.fromkeys(edges))
            previous = task.id
    return before


def task_stages(incident: Incident) -> dict[str, int]:
    """Return each task's stage (1, 2, ...): one more than the latest stage it must run after.

    Tasks of one stage can run at the same time in different chats. Tasks caught in a dependency cycle get
    stage 0.
    """
    before = _predecessors(incident)
    stages: dict[str, int] = {}
    visiting: set[str] = set()

    def stage(task_id: str) -> int:
        if task_id in stages:
            return stages[task_id]
        if task_id in visiting:
            return -1
        visiting.add(task_id)
        earlier = [stage(predecessor) for predecessor in before.get(task_id, [])]
        visiting.discard(task_id)
        stages[task_id] = 0 if any(value < 0 for value in earlier) else 1 + max(earlier, default=0)
        return stages[task_id] if stages[task_id] > 0 else -1

    for task in incident.tasks:
        stage(task.id)
    return {task_id: max(value, 0) for task_id, value in stages.items()}


def _stage_lists(incident: Incident, stages: dict[str, int]) -> list[list[str]]:
    count = max(stages.values(), default=0)
    lists = [[f"{task.role}.{task.id}" for task in incident.tasks if stages.get(task.id) == number] for number in range(1, count + 1)]
    cycle = [f"{task.role}.{task.id}" for task in incident.tasks if stages.get(task.id) == 0]
    return lists + ([cycle] if cycle else [])


def _dependencies(incident: Incident) -> list[Dependency]:
    edges = []
    for task in incident.tasks:
        step_tasks = [dependency for step in task.steps for dependency in step.depends_on]
        for dependency in dict.fromkeys([*task.depends_on, *step_tasks]):
            edges.append(Dependency(task.id, task.role, "task", dependency, incident.task(dependency).role))
        step_criteria = [criterion for step in task.steps for criterion in step.after_criteria]
        for criterion_id in dict.fromkeys([*task.after_criteria, *step_criteria]):
            edges.append(Dependency(task.id, task.role, "criterion", criterion_id, incident.criterion(criterion_id).role))
    return edges


def _warnings(plan: Plan, incident: Incident) -> list[str]:
    warnings = []
    cycle = [task.id for role in plan.roles for task in role.tasks if task.stage == 0]
    if cycle:
        warnings.append(f"tasks {', '.join(cycle)} wait for each other: no order runs them; fix depends_on or after_criteria")
    for role in plan.roles:
        for task in role.tasks:
            for step in task.steps:
                if step.unverified_effect:
                    warnings.append(
                        f"{task.id}.{step.key}: a {step.unverified_effect} without verify; its exit code alone does not "
                        "prove it worked"
                    )
    return warnings


class _StepPlanner:
    def __init__(self, incident: Incident, target: str) -> None:
        self.incident = incident
        self.target = target
        self.values = resolve(incident, target)
        self.secrets = [*incident.secrets, *incident.targets[target].secrets]

    def steps(self, step: StepBase, key: str, depth: int, latest: dict, *, enclosing: tuple[StepBase, ...] = ()) -> list[StepPlan]:
        row = latest.get(key)
        action = next((outer.action for outer in reversed(enclosing) if outer.action), None)
        risky = next((outer.risky for outer in reversed(enclosing) if outer.risky is not None), None)
        covered = any(outer.verify for outer in enclosing)
        plan = StepPlan(
            key=key,
            kind=step_kind(step),
            depth=depth,
            title=step.title,
            verify=list(step.verify),
            verify_within=step.verify_within,
            risk=risk_of(step, self.target, inherited_action=action, inherited_risky=risky),
            idempotent=idempotent(step),
            depends_on=list(step.depends_on),
            after_criteria=list(step.after_criteria),
            status=row.status if row is not None else None,
        )
        if not step.verify and not covered and needs_verification(step, self.target, inherited_action=action):
            plan.unverified_effect = effect_of(step, self.target, inherited_action=action)
        enclosing = (*enclosing, step)
        children: list[StepPlan] = []
        self._describe(step, plan)

        if isinstance(step, AlternativesStep):
            for index, child in enumerate(step.alternatives, start=1):
                children += self.steps(child, child.id or f"{key}.alt{index}", depth + 1, latest, enclosing=enclosing)
        elif isinstance(step, BranchStep):
            for label, branch_steps in (("then", step.branch.then), ("else", step.branch.otherwise)):
                for index, child in enumerate(branch_steps, start=1):
                    children += self.steps(child, child.id or f"{key}.{label}{index}", depth + 1, latest, enclosing=enclosing)
        elif isinstance(step, RetryStep):
            children += self.steps(step.retry.step, f"{key}.try1", depth + 1, latest, enclosing=enclosing)
        return [plan, *children]

    def _describe(self, step: StepBase, plan: StepPlan) -> None:
        if isinstance(step, RunStep):
            template = command_for(step.run, self.target)
            if template is None:
                plan.detail = f"skipped: no command for target {self.target!r}"
            else:
                plan.command = redact(fill_command(template, self.values), self._secret_values(step.env))
                plan.detail = f"timeout {step.timeout:g} s" + (f", in {step.workdir}" if step.workdir else "")
        elif isinstance(step, QueryStep):
            plan.command = fill_sql(step.query, resolve(self.incident, self.target, extra=step.params)).strip()
        elif isinstance(step, CheckStep):
            plan.detail = f"check {step.check}"
        elif isinstance(step, WaitStep):
            limit = self._limit(step.timeout)
            plan.detail = f"wait until {step.wait} passes, every {step.interval:g} s for up to {limit:g} s"
        elif isinstance(step, SnippetStep):
            plan.detail = "shown in the prompt, not run"
        elif isinstance(step, AlternativesStep):
            plan.detail = f"the first of {len(step.alternatives)} alternatives that succeeds"
        elif isinstance(step, BranchStep):
            condition = step.branch.condition
            measured = condition.criterion or "an inline query"
            plan.detail = f"if {measured} passes run then ({len(step.branch.then)} steps), else ({len(step.branch.otherwise)} steps)"
        elif isinstance(step, RetryStep):
            retry = step.retry
            when = []
            if retry.when is not None and retry.when.exit_code:
                when.append(f"exit code in {retry.when.exit_code}")
            if retry.when is not None and retry.when.output:
                when.append(f"output matches {retry.when.output!r}")
            plan.detail = f"up to {retry.count + 1} attempts, {retry.delay:g} s apart" + (
                f", retried when {' or '.join(when)}" if when else ", retried on any failure"
            )
        if step.verify:
            plan.verify_within = self._limit(step.verify_within)

    def _limit(self, seconds: float) -> float:
        cap = self.incident.targets[self.target].max_wait
        return seconds if cap is None else min(seconds, cap)

    def _secret_values(self, env: dict[str, str]) -> list[str]:
        import os

        sources = [env, self.incident.targets[self.target].env, os.environ]
        return [next((source[name] for source in sources if source.get(name)), "") for name in self.secrets]
