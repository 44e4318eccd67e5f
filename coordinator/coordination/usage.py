"""What each task and step of an incident touches and what kind of action it is, with parameters filled.

A step inherits the touches and the action of the alternatives or branch step it sits in. A step that
declares no action takes the one its writing touches imply (a deployed service is `deploy_code`, a written
table `write_tables`, written code `change_code`, a touched job `trigger_jobs`), else `read`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterator

from coordinator.coordination.resources import Resource, make_resource
from coordinator.errors import CoordinatorError
from coordinator.spec.models import AlternativesStep, BranchStep, Incident, RunStep, StepBase, Task, Touch

CHANGING_MODES = ("write", "deploy")
IMPLIED_ACTIONS = {("service", "deploy"): "deploy_code", ("table", "write"): "write_tables", ("code", "write"): "change_code"}


@dataclass(frozen=True)
class Usage:
    """One declared touch: which role's task (and step, unless declared on the task) touches what, how."""

    role: str
    task_id: str
    step_key: str | None
    resource: Resource
    mode: str

    @property
    def where(self) -> str:
        return self.task_id if self.step_key is None else f"{self.task_id} step {self.step_key}"


@dataclass(frozen=True)
class StepPlan:
    """A step's effective action and touches, its own and those of the steps it sits in."""

    key: str
    actions: tuple[str, ...]
    touches: tuple[tuple[Resource, str], ...]
    declared: bool

    @property
    def changing(self) -> tuple[tuple[Resource, str], ...]:
        return tuple((resource, mode) for resource, mode in self.touches if mode in CHANGING_MODES)


class IncidentUsage:
    """The resources and actions of one incident on one target."""

    def __init__(self, incident: Incident, target: str | None = None) -> None:
        from coordinator.spec.params import resolve

        self.incident = incident
        self.target = target or incident.incident.default_target or next(iter(incident.targets))
        self.values = resolve(incident, self.target)
        self._plans: dict[int, StepPlan] = {}
        self._by_key: dict[tuple[str, str], StepPlan] = {}
        for task in incident.tasks:
            for plan, step in self._walk(task, task.steps, "", None, ()):
                self._plans[id(step)] = plan
                self._by_key[(task.id, plan.key)] = plan

    def resource(self, touch: Touch) -> Resource:
        from coordinator.spec.params import fill_text

        name = fill_text(touch.name, self.values)
        return make_resource(touch.kind, name, self._date(touch.start, touch), self._date(touch.end, touch))

    def step_plan(self, task: Task, key: str, step: StepBase) -> StepPlan:
        """Return the plan of a step as the runner meets it, found by identity and else by its key."""
        plan = self._plans.get(id(step)) or self._by_key.get((task.id, key))
        if plan is None:
            return self._plan(key, step, None, ())
        return plan

    def usages(self) -> list[Usage]:
        found: list[Usage] = []
        for task in self.incident.tasks:
            for touch in task.touches:
                found.append(Usage(task.role, task.id, None, self.resource(touch), touch.mode))
            for plan, step in self._walk(task, task.steps, "", None, ()):
                for touch in step.touches:
                    found.append(Usage(task.role, task.id, plan.key, self.resource(touch), touch.mode))
        return found

    def step_plans(self, task: Task) -> Iterator[tuple[StepPlan, StepBase]]:
        yield from self._walk(task, task.steps, "", None, ())

    def _walk(
        self, task: Task, steps: list, prefix: str, inherited_action: str | None, inherited: tuple
    ) -> Iterator[tuple[StepPlan, StepBase]]:
        for index, step in enumerate(steps):
            key = step.id or f"{prefix}{index + 1}"
            plan = self._plan(key, step, inherited_action, inherited)
            yield plan, step
            action = step.action or inherited_action
            if isinstance(step, AlternativesStep):
                yield from self._walk(task, step.alternatives, f"{key}.alt", action, plan.touches)
            if isinstance(step, BranchStep):
                yield from self._walk(task, step.branch.then, f"{key}.then", action, plan.touches)
                yield from self._walk(task, step.branch.otherwise, f"{key}.else", action, plan.touches)

    def _plan(self, key: str, step: StepBase, inherited_action: str | None, inherited: tuple) -> StepPlan:
        touches = tuple(inherited) + tuple((self.resource(touch), touch.mode) for touch in step.touches)
        explicit = step.action or inherited_action
        if explicit is not None:
            return StepPlan(key, (explicit,), touches, True)
        implied = []
        for resource, mode in touches:
            action = "trigger_jobs" if resource.kind == "job" and mode in CHANGING_MODES else IMPLIED_ACTIONS.get((resource.kind, mode))
            if action is not None and action not in implied:
                implied.append(action)
        if implied:
            return StepPlan(key, tuple(implied), touches, True)
        return StepPlan(key, ("read",), touches, not isinstance(step, RunStep))

    def _date(self, value: dt.date | str | None, touch: Touch) -> dt.date | None:
        from coordinator.spec.params import fill_text

        if value is None or isinstance(value, dt.date):
            return value
        text = fill_text(value, self.values)
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise CoordinatorError(f"touch {touch.kind}:{touch.name}: date {text!r} is not YYYY-MM-DD") from None
