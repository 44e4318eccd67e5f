"""Classification of a step's effect: whether it deploys or triggers, whether it is risky, whether it may rerun.

A step's `action` (deploy_code, trigger_jobs, ...) decides first; without one, the command's words decide.
The word rules are a heuristic for incident files written without actions; `risky: false` overrides them.
"""

from __future__ import annotations

import re

from coordinator.spec.models import (
    AlternativesStep,
    BranchStep,
    CheckStep,
    QueryStep,
    RetryStep,
    RunStep,
    SnippetStep,
    StepBase,
    WaitStep,
    command_for,
)

DEPLOY_ACTIONS = {"deploy_code": "deploy", "deploy_config": "deploy", "trigger_jobs": "trigger"}
RISKY_ACTIONS = {"deploy_code", "deploy_config", "write_tables", "change_schema"}
_COMMAND_EFFECTS = (
    ("deploy", re.compile(r"\b(?:run|functions|app)\s+deploy\b|\bdeploy\b|\bkubectl\s+(?:apply|rollout)\b|\bterraform\s+apply\b")),
    ("delete", re.compile(r"\b(?:delete|destroy|drop|truncate)\b|\brm\s+-[a-z]*r", re.IGNORECASE)),
    (
        "trigger",
        re.compile(r"\bscheduler\s+jobs\s+run\b|\bexecute-workflows\b|\btrigger\b|\bcurl\b[^\n]*-X\s*POST|\bworkflows\s+run\b"),
    ),
)
READ_ONLY_KINDS = (QueryStep, CheckStep, WaitStep, SnippetStep)


def effect_of(step: StepBase, target: str, *, inherited_action: str | None = None) -> str | None:
    """Return `deploy`, `trigger` or `delete` when the step does that on `target`, else None.

    `inherited_action` is the action of the step that contains this one (alternatives, a branch, a retry).
    """
    action = step.action or inherited_action
    if action in DEPLOY_ACTIONS:
        return DEPLOY_ACTIONS[action]
    if not isinstance(step, RunStep):
        return None
    command = command_for(step.run, target) or ""
    for effect, pattern in _COMMAND_EFFECTS:
        if pattern.search(command):
            return effect
    return None


def needs_verification(step: StepBase, target: str, *, inherited_action: str | None = None) -> bool:
    """Return whether the step is a command whose exit code alone cannot prove it worked: a deploy or a trigger."""
    if not isinstance(step, RunStep) or command_for(step.run, target) is None:
        return False
    return effect_of(step, target, inherited_action=inherited_action) in ("deploy", "trigger")


def risk_of(step: StepBase, target: str, *, inherited_action: str | None = None, inherited_risky: bool | None = None) -> str | None:
    """Return why the command step needs a person's confirmation before it runs, or None when it does not.

    The `inherited_` values come from the step that contains this one; the step's own values win.
    """
    risky = step.risky if step.risky is not None else inherited_risky
    if risky is False or not isinstance(step, RunStep):
        return None
    if command_for(step.run, target) is None:
        return None
    if risky:
        return "it is marked risky"
    action = step.action or inherited_action
    if action in RISKY_ACTIONS:
        return f"its action is {action}"
    effect = effect_of(step, target, inherited_action=inherited_action)
    if effect in ("deploy", "delete"):
        return f"it looks like a {effect}"
    return None


def idempotent(step: StepBase) -> bool:
    """Return whether the step may run again after an interruption without asking.

    Queries, checks, waits and snippets only read. A command is idempotent only when marked so; a step
    containing other steps is idempotent when every step it contains is.
    """
    if step.idempotent is not None:
        return step.idempotent
    if isinstance(step, READ_ONLY_KINDS):
        return True
    if isinstance(step, AlternativesStep):
        return all(idempotent(child) for child in step.alternatives)
    if isinstance(step, BranchStep):
        return all(idempotent(child) for child in [*step.branch.then, *step.branch.otherwise])
    if isinstance(step, RetryStep):
        return idempotent(step.retry.step)
    return False
