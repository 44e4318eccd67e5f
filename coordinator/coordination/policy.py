"""Role policies: which kinds of action a role may take, checked before each step and stated in prompts."""

from __future__ import annotations

from coordinator.spec.models import Incident, Role

# The meaning of each action, in words that fit "you may ..." and "you may not ...".
ACTION_WORDS = {
    "read": "read code, tables and services",
    "change_code": "change code",
    "deploy_code": "deploy code",
    "deploy_config": "redeploy a service to pick up a configuration change (no code change)",
    "write_tables": "write warehouse tables (backfills and reprocessing)",
    "trigger_jobs": "trigger scheduler jobs and workflows",
    "change_schema": "change table schemas (migrations)",
}
ACTIONS = tuple(action for action in ACTION_WORDS if action != "read")


def allowed(role: Role, action: str) -> bool:
    return action == "read" or role.policy is None or action in role.policy.may


def refusal(incident: Incident, role_name: str, task_id: str, key: str, actions: tuple[str, ...]) -> str | None:
    """Return the one-line reason a role may not take a step, or None when its policy allows every action."""
    role = incident.role(role_name)
    for action in actions:
        if allowed(role, action):
            continue
        index = incident.roles.index(role)
        may = ", ".join(role.policy.may) if role.policy.may else "nothing but read"
        others = [other.name for other in incident.roles if other.name != role_name and allowed(other, action)]
        hand_over = f"hand it to role {' or '.join(others)}" if others else "no role may take it"
        return (
            f"step {key} of task {task_id!r} is rejected: it is {action} and role {role_name!r} may not "
            f"{ACTION_WORDS[action]} (roles[{index}].policy.may: {may}); {hand_over}, or change the policy"
        )
    return None


def policy_sentences(role: Role) -> list[str]:
    """Describe a role's policy in plain words, for its prompt."""
    if role.policy is None:
        return []
    may = [ACTION_WORDS[action] for action in ACTIONS if action in role.policy.may]
    may_not = [ACTION_WORDS[action] for action in ACTIONS if action not in role.policy.may]
    sentences = [f"You may {_join(may)}." if may else "You may only read: no change, deploy, write or trigger."]
    if may_not:
        sentences.append(f"You may not {_join(may_not, 'or')}: `coord run` rejects such steps.")
    if role.policy.note:
        sentences.append(role.policy.note)
    return sentences


def policy_summary(role: Role) -> str | None:
    """Name the actions a role may take, for the coordination notes; None when it may take any."""
    if role.policy is None:
        return None
    may = [action for action in ACTIONS if action in role.policy.may]
    return "may " + (", ".join(f"`{action}`" for action in may) if may else "only read")


def _join(items: list[str], word: str = "and") -> str:
    if len(items) <= 1:
        return "".join(items)
    if len(items) == 2:
        return f"{items[0]} {word} {items[1]}"
    return "; ".join(items[:-1]) + f"; {word} " + items[-1]
