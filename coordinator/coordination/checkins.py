"""Check-in points of an incident as due times, and whether each role has answered them.

A point `after: 2h` is due two hours after the incident started (its first role run or criterion result
on the board). A role's check-in answers the point when it is recorded at most CHECKIN_EARLY before the
due time or any time after it; a point that is due and unanswered is overdue.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from coordinator.board.coordination import Checkin, as_utc
from coordinator.durations import parse_duration

if TYPE_CHECKING:
    from coordinator.spec.models import Incident

CHECKIN_EARLY = dt.timedelta(minutes=30)


@dataclass(frozen=True)
class DueCheckin:
    role: str
    after: str
    due_at: dt.datetime | None  # None until the incident has started
    questions: tuple[str, ...]
    answer: Checkin | None

    def status(self, now: dt.datetime) -> str:
        """answered, overdue, due soon (within CHECKIN_EARLY), upcoming, or not started."""
        if self.answer is not None:
            return "answered"
        if self.due_at is None:
            return "not started"
        if now >= self.due_at:
            return "overdue"
        return "due soon" if now >= self.due_at - CHECKIN_EARLY else "upcoming"


def checkin_schedule(
    incident: Incident, start: dt.datetime | None, checkins: list[Checkin], *, role: str | None = None
) -> list[DueCheckin]:
    """Return every role's check-in points in due order; a point without questions applies to every role."""
    roles = [candidate.name for candidate in incident.roles if role is None or candidate.name == role]
    schedule: list[DueCheckin] = []
    for point in incident.coordination.checkins:
        offset = dt.timedelta(seconds=parse_duration(point.after))
        due_at = start + offset if start is not None else None
        for name in roles:
            if point.questions and name not in point.questions:
                continue
            answer = None
            if due_at is not None:
                answer = next(
                    (checkin for checkin in checkins if checkin.role == name and as_utc(checkin.recorded_at) >= due_at - CHECKIN_EARLY),
                    None,
                )
            schedule.append(DueCheckin(name, point.after, due_at, tuple(point.questions.get(name, [])), answer))
    return sorted(schedule, key=lambda due: (due.due_at or dt.datetime.max.replace(tzinfo=dt.timezone.utc), due.role))
