"""A role's coordination timeline for its handoff: check-ins, messages and blockers, lost leases."""

from __future__ import annotations

import datetime as dt

from coordinator.board.coordination import CoordinationStore, as_utc
from coordinator.timefmt import local


def coordination_timeline(incident_id: str, role: str, engine, timezone: str) -> list[str]:
    """Return the role's check-ins, the messages it sent or received and how they were resolved, in time order."""
    store = CoordinationStore(engine)
    store.clear_passed_blockers(incident_id)
    entries: list[tuple[dt.datetime, str]] = []

    for checkin in store.checkins(incident_id, role=role):
        parts = [
            f"{label}: {value}"
            for label, value in (("conditions", checkin.conditions), ("actions", checkin.actions), ("needs", checkin.needs), ("note", checkin.note))
            if value
        ]
        entries.append((as_utc(checkin.recorded_at), f"check-in: {'; '.join(parts)}"))

    for message in store.messages(incident_id, role=role):
        kind = "blocker" if message.blocking else "message"
        until = f", until {message.until_criterion} passes" if message.until_criterion else ""
        if message.sender == role:
            entries.append((as_utc(message.created_at), f"{kind} #{message.id} sent to {message.recipient}{until}: {message.text}"))
        else:
            entries.append((as_utc(message.created_at), f"{kind} #{message.id} received from {message.sender}{until}: {message.text}"))
        if message.resolved_at is not None:
            entries.append(
                (as_utc(message.resolved_at), f"{kind} #{message.id} ({message.sender} to {message.recipient}) resolved by {message.resolved_by}: {message.resolution}")
            )

    for lease in store.leases(incident_id, active_only=False, role=role):
        if lease.release_reason and lease.release_reason.startswith("expired"):
            entries.append((as_utc(lease.expires_at), f"lease on {lease.resource} expired: its holder stopped heartbeating ({lease.release_reason})"))

    entries.sort(key=lambda entry: entry[0])
    return [f"{local(moment, timezone)} {text}" for moment, text in entries]
