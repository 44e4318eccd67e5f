"""The coordination part of `coord plan`: conflicts between roles, and steps their policies reject."""

from __future__ import annotations

from typing import Any

from coordinator.coordination.conflicts import find_conflicts
from coordinator.coordination.policy import refusal
from coordinator.coordination.usage import IncidentUsage
from coordinator.spec.models import Incident, RunStep


def coordination_plan(incident: Incident, target: str) -> dict[str, Any]:
    """Return the conflicts, the steps each role's policy rejects, and run steps that declare no action."""
    usage = IncidentUsage(incident, target)
    rejected, unclassified = [], []
    for task in incident.tasks:
        for plan, step in usage.step_plans(task):
            reason = refusal(incident, task.role, task.id, plan.key, plan.actions)
            if reason is not None:
                rejected.append({"role": task.role, "task": task.id, "step": plan.key, "reason": reason})
            elif isinstance(step, RunStep) and not plan.declared:
                unclassified.append({"role": task.role, "task": task.id, "step": plan.key})
    return {
        "conflicts": [conflict.as_json() for conflict in find_conflicts(incident, target)],
        "rejected_steps": rejected,
        "unclassified_run_steps": unclassified,
    }


def coordination_plan_lines(plan: dict[str, Any]) -> list[str]:
    """Lay the coordination plan out as text lines."""
    lines = ["Potential conflicts between roles:"]
    lines += [f"  {conflict['kind']}: {conflict['text'].replace('**', '')}" for conflict in plan["conflicts"]] or ["  none"]
    if plan["rejected_steps"]:
        lines.append("Steps the role's policy rejects (coord run stops there):")
        lines += [f"  {item['role']}: {item['reason']}" for item in plan["rejected_steps"]]
    if plan["unclassified_run_steps"]:
        names = ", ".join(f"{item['task']} step {item['step']}" for item in plan["unclassified_run_steps"])
        lines.append(f"Run steps with no action and no writing touch, counted as read: {names}")
    return lines
