"""The board of an incident: per role, its tasks, criteria, leases, messages and check-ins.

`build_board` returns plain data (the `coord board --json` shape, see docs/json.md); `board_text` lays it
out for a terminal of 100 columns.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from coordinator.board.coordination import CoordinationStore, Lease, Message, as_utc
from coordinator.board.incident import utc_now
from coordinator.coordination.checkins import checkin_schedule

if TYPE_CHECKING:
    from coordinator.spec.models import Incident

WIDTH = 100
TASK_MARKS = {"done": "done", "running": "running", "blocked": "BLOCKED", "failed": "FAILED", "todo": "todo"}
CRITERION_MARKS = {"pass": "[x]", "fail": "[ ]", "error": "[!]", "waiting": "[?]", "not measured": "[ ]"}


def iso(moment: dt.datetime | None) -> str | None:
    return as_utc(moment).isoformat(timespec="seconds") if moment is not None else None


def blocked_tasks(incident: Incident, message: Message, states: dict) -> list[str]:
    """Return the sender's tasks an open blocking message blocks: those it names, else those not done."""
    if not (message.blocking and message.open):
        return []
    own = [task.id for task in incident.tasks_of(message.sender)] if message.sender in {r.name for r in incident.roles} else []
    named = message.task_ids
    chosen = [task_id for task_id in own if task_id in named] if named is not None else own
    return [task_id for task_id in chosen if not (states.get(task_id) and states[task_id].status == "done")]


def lease_json(lease: Lease, now: dt.datetime) -> dict[str, Any]:
    return {
        "id": lease.id,
        "resource": lease.resource,
        "role": lease.holder,
        "owner": lease.owner,
        "note": lease.note,
        "state": lease.state(now),
        "ttl_s": lease.ttl_s,
        "claimed_at": iso(lease.claimed_at),
        "heartbeat_at": iso(lease.heartbeat_at),
        "expires_at": iso(lease.expires_at),
        "released_at": iso(lease.released_at),
        "release_reason": lease.release_reason,
    }


def message_json(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "from": message.sender,
        "to": message.recipient,
        "text": message.text,
        "blocking": message.blocking,
        "until": message.until_criterion,
        "tasks": message.task_ids,
        "created_at": iso(message.created_at),
        "resolved_at": iso(message.resolved_at),
        "resolved_by": message.resolved_by,
        "resolution": message.resolution,
    }


def checkin_json(checkin) -> dict[str, Any] | None:
    if checkin is None:
        return None
    return {
        "id": checkin.id,
        "role": checkin.role,
        "conditions": checkin.conditions,
        "actions": checkin.actions,
        "needs": checkin.needs,
        "note": checkin.note,
        "recorded_at": iso(checkin.recorded_at),
    }


def build_board(incident: Incident, board, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Return the board of `incident` as plain data; clears `--until` blockers whose criterion passed first."""
    now = now or utc_now()
    incident_id = incident.incident.id
    store = CoordinationStore(board.engine)
    store.clear_passed_blockers(incident_id)

    states = board.task_states(incident_id)
    results = board.latest_results(incident_id)
    ticks = board.latest_ticks(incident_id)
    leases = store.leases(incident_id)
    messages = store.messages(incident_id, open_only=True)
    checkins = store.checkins(incident_id)
    start = store.incident_start(incident_id)
    schedule = checkin_schedule(incident, start, checkins)

    blockers: dict[str, list[int]] = {}
    for message in messages:
        for task_id in blocked_tasks(incident, message, states):
            blockers.setdefault(task_id, []).append(message.id)

    roles = []
    for role in incident.roles:
        tasks = []
        for task in incident.tasks_of(role.name):
            state = states.get(task.id)
            status = state.status if state else "todo"
            if task.id in blockers and status != "done":
                status = "blocked"
            tasks.append(
                {
                    "id": task.id,
                    "title": task.title,
                    "status": status,
                    "detail": state.detail if state else None,
                    "blocked_by": blockers.get(task.id, []),
                    "updated_at": iso(state.updated_at) if state else None,
                }
            )
        criteria = [_criterion_json(criterion, results, ticks) for criterion in incident.criteria_of(role.name)]
        own_checkins = [checkin for checkin in checkins if checkin.role == role.name]
        due = [
            {
                "after": point.after,
                "due_at": iso(point.due_at),
                "status": point.status(now),
                "questions": list(point.questions),
                "answered_by": point.answer.id if point.answer else None,
            }
            for point in schedule
            if point.role == role.name
        ]
        roles.append(
            {
                "role": role.name,
                "policy": list(role.policy.may) if role.policy is not None else None,
                "tasks": tasks,
                "criteria": criteria,
                "leases": [lease_json(lease, now) for lease in leases if lease.holder == role.name],
                "messages_in": [message_json(message) for message in messages if message.recipient == role.name],
                "messages_out": [message_json(message) for message in messages if message.sender == role.name],
                "last_checkin": checkin_json(own_checkins[-1] if own_checkins else None),
                "checkins_due": due,
                "checkin_overdue": any(point["status"] == "overdue" for point in due),
            }
        )

    names = {role.name for role in incident.roles}
    return {
        "incident": incident_id,
        "title": incident.incident.title,
        "timezone": incident.incident.timezone,
        "now": iso(now),
        "started_at": iso(start),
        "roles": roles,
        "other_leases": [lease_json(lease, now) for lease in leases if lease.holder not in names],
    }


def _criterion_json(criterion, results, ticks) -> dict[str, Any]:
    if criterion.manual:
        tick = ticks.get(criterion.id)
        status = "waiting"
        if tick is not None:
            status = "pass" if tick.passed else "fail"
        return {
            "id": criterion.id,
            "text": criterion.text,
            "kind": "manual",
            "status": status,
            "value": None,
            "measured_at": iso(tick.ticked_at) if tick else None,
            "ticked_by": tick.ticked_by if tick else None,
        }
    result = results.get(criterion.id)
    return {
        "id": criterion.id,
        "text": criterion.text,
        "kind": criterion.kind,
        "status": result.status if result else "not measured",
        "value": json.loads(result.value_json) if result and result.value_json else None,
        "measured_at": iso(result.started_at) if result else None,
        "ticked_by": None,
    }


def board_text(view: dict[str, Any]) -> str:
    """Lay the board out in at most WIDTH columns."""
    timezone = view["timezone"]
    started = _local(view["started_at"], timezone) if view["started_at"] else "not started (no run or check yet)"
    lines = [
        _fit(f"{view['incident']}: {view['title']}"),
        _fit(f"started {started}; now {_local(view['now'], timezone)}"),
    ]
    for role in view["roles"]:
        lines.append("")
        policy = "any action" if role["policy"] is None else (", ".join(role["policy"]) or "read only")
        lines.append(_fit(f"== {role['role']} (may: {policy})"))
        lines.append(_fit("  check-in: " + _checkin_text(role, timezone)))
        for task in role["tasks"]:
            blocked = f" (message #{', #'.join(str(i) for i in task['blocked_by'])})" if task["blocked_by"] else ""
            lines.append(_fit(f"  {TASK_MARKS.get(task['status'], task['status']):<8} {task['id']}{blocked}"))
        for criterion in role["criteria"]:
            value = "" if criterion["value"] is None else f" = {criterion['value']}"
            who = f" (ticked by {criterion['ticked_by']})" if criterion["ticked_by"] else ""
            mark = CRITERION_MARKS.get(criterion["status"], "[ ]")
            lines.append(_fit(f"  {mark} {criterion['id']}{value}{who}"))
        for lease in role["leases"]:
            lines.append(_fit("  " + _lease_text(lease, timezone)))
        for message in role["messages_in"]:
            lines.append(_fit(f"  message #{message['id']} from {message['from']}{_blocking_text(message)}: {message['text']}"))
        for message in role["messages_out"]:
            lines.append(_fit(f"  sent #{message['id']} to {message['to']}{_blocking_text(message)}: {message['text']}"))
    if view["other_leases"]:
        lines.append("")
        lines.append("== leases of roles this incident does not define")
        lines.extend(_fit("  " + _lease_text(lease, timezone)) for lease in view["other_leases"])
    return "\n".join(lines) + "\n"


def _checkin_text(role: dict[str, Any], timezone: str) -> str:
    last = role["last_checkin"]
    text = f"last {_local(last['recorded_at'], timezone)}" if last else "none yet"
    pending = [point for point in role["checkins_due"] if point["status"] != "answered"]
    if pending:
        point = pending[0]
        when = _local(point["due_at"], timezone) if point["due_at"] else f"{point['after']} after the start"
        label = "OVERDUE since" if point["status"] == "overdue" else "next due"
        text += f"; {label} {when}"
    return text


def _lease_text(lease: dict[str, Any], timezone: str) -> str:
    if lease["state"] == "expired":
        state = f"EXPIRED at {_local(lease['expires_at'], timezone)} (holder stopped heartbeating)"
    else:
        state = f"held by {lease['role']} until {_local(lease['expires_at'], timezone)}"
    note = f": {lease['note']}" if lease["note"] else ""
    return f"lease {lease['resource']} {state}{note}"


def _blocking_text(message: dict[str, Any]) -> str:
    if not message["blocking"]:
        return ""
    return f" (BLOCKING until {message['until']} passes)" if message["until"] else " (BLOCKING until resolved)"


def _local(moment: str | None, timezone: str) -> str:
    if moment is None:
        return "-"
    import zoneinfo

    value = dt.datetime.fromisoformat(moment).astimezone(zoneinfo.ZoneInfo(timezone))
    return value.strftime("%m-%d %H:%M %Z")


def _fit(line: str) -> str:
    return line if len(line) <= WIDTH else line[: WIDTH - 3] + "..."
