"""Leases, check-ins and messages on the board.

Every write here runs in a `BEGIN IMMEDIATE` transaction on SQLite, which takes the write lock before the
first read. So a claim's check and insert are one atomic step, and concurrent writers wait for the busy
timeout instead of failing with "database is locked". On other databases a partial unique index on the
active lease of a resource keeps a single winner; there, only the exact same resource string is guarded,
and overlapping date ranges of one table are not.
"""

from __future__ import annotations

import datetime as dt
import json
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Optional

from sqlalchemy import Index, func, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from coordinator.board.incident import BoardIncident, utc_now
from coordinator.coordination.resources import Resource, parse_resource


def as_utc(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=dt.timezone.utc) if moment.tzinfo is None else moment


class Lease(SQLModel, table=True):
    """A time-limited claim of a role on a resource; kept after release as the lease's history."""

    __tablename__ = "lease"

    id: Optional[int] = Field(default=None, primary_key=True)
    incident_id: str = Field(index=True)
    resource: str
    holder: str  # the role
    owner: str  # who in the role: "coord claim", or the run and process
    note: Optional[str] = None
    ttl_s: float
    claimed_at: dt.datetime = Field(default_factory=utc_now)
    heartbeat_at: dt.datetime = Field(default_factory=utc_now)
    expires_at: dt.datetime
    released_at: Optional[dt.datetime] = None
    release_reason: Optional[str] = None

    def expired(self, now: dt.datetime) -> bool:
        return self.released_at is None and as_utc(self.expires_at) <= now

    def state(self, now: dt.datetime) -> str:
        if self.released_at is not None:
            return "released"
        return "expired" if self.expired(now) else "held"


class Checkin(SQLModel, table=True):
    """A role's status update: current conditions, actions taken, needs from others, or a free note."""

    __tablename__ = "checkin"

    id: Optional[int] = Field(default=None, primary_key=True)
    incident_id: str = Field(index=True)
    role: str
    conditions: Optional[str] = None
    actions: Optional[str] = None
    needs: Optional[str] = None
    note: Optional[str] = None
    recorded_at: dt.datetime = Field(default_factory=utc_now)


class Message(SQLModel, table=True):
    """A note from one role to another; a blocking one blocks the sender's tasks until it is resolved."""

    __tablename__ = "message"

    id: Optional[int] = Field(default=None, primary_key=True)
    incident_id: str = Field(index=True)
    sender: str
    recipient: str = Field(index=True)
    text: str
    blocking: bool = False
    until_criterion: Optional[str] = None
    # JSON list of the sender's task ids it blocks; NULL means every task of the sender not done yet.
    tasks_json: Optional[str] = None
    created_at: dt.datetime = Field(default_factory=utc_now)
    resolved_at: Optional[dt.datetime] = None
    resolved_by: Optional[str] = None
    resolution: Optional[str] = None

    @property
    def task_ids(self) -> list[str] | None:
        return None if self.tasks_json is None else json.loads(self.tasks_json)

    @property
    def open(self) -> bool:
        return self.resolved_at is None


COORDINATION_TABLES = (Lease, Checkin, Message)
LEASE_ACTIVE_INDEX = "lease_active_resource"


def add_lease_index() -> None:
    """Attach to the lease table the unique index on the active lease of a resource, once per process.

    The index is not in `Lease.__table_args__` because its `sqlite_where` and `postgresql_where` options make
    SQLAlchemy import both dialect packages when the index is built: about 40 ms of every board verb's start
    (pyinstrument, Python 3.11, 2 cores). Only the migration that creates the lease table needs the index.
    """
    table = Lease.__table__
    if any(index.name == LEASE_ACTIVE_INDEX for index in table.indexes):
        return
    Index(
        LEASE_ACTIVE_INDEX,
        table.c.incident_id,
        table.c.resource,
        unique=True,
        sqlite_where=text("released_at IS NULL"),
        postgresql_where=text("released_at IS NULL"),
    )


@dataclass(frozen=True)
class ClaimOutcome:
    """The result of a claim: the lease won (new or renewed), or the other role's lease that blocks it."""

    won: bool
    lease: Lease
    renewed: bool = False
    took_over: Lease | None = None  # an expired lease of another role that this claim replaced


class CoordinationStore:
    def __init__(self, engine) -> None:
        self.engine = engine

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            if self.engine.dialect.name == "sqlite":
                session.connection().exec_driver_sql("BEGIN IMMEDIATE")
            yield session
            session.commit()

    def _read(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # Incidents

    def latest_incident(self) -> str | None:
        with self._read() as session:
            row = session.exec(select(BoardIncident).order_by(BoardIncident.loaded_at.desc())).first()
        return row.id if row else None

    def incident_file(self, incident_id: str) -> str | None:
        """Return the incident file as the last command that loaded it named it, or None."""
        with self._read() as session:
            row = session.get(BoardIncident, incident_id)
        return row.file if row and row.file else None

    def incident_start(self, incident_id: str) -> dt.datetime | None:
        """Return when work on the incident started: its first role run or criterion result."""
        from coordinator.board.tables import CriterionResult, RoleRun

        with self._read() as session:
            first_run = session.exec(select(func.min(RoleRun.started_at)).where(RoleRun.incident_id == incident_id)).one()
            first_result = session.exec(
                select(func.min(CriterionResult.started_at)).where(CriterionResult.incident_id == incident_id)
            ).one()
        moments = [as_utc(moment) for moment in (first_run, first_result) if moment is not None]
        return min(moments) if moments else None

    # Leases

    def claim(
        self,
        incident_id: str,
        resource: Resource,
        role: str,
        *,
        ttl_s: float,
        owner: str,
        note: str | None = None,
        now: dt.datetime | None = None,
    ) -> ClaimOutcome:
        """Claim `resource` for `role` atomically, renewing the role's own lease and replacing expired ones."""
        try:
            with self._write() as session:
                return self._claim(session, incident_id, resource, role, ttl_s=ttl_s, owner=owner, note=note, now=now)
        except IntegrityError:
            # Only on databases without BEGIN IMMEDIATE: another process inserted the same resource first.
            holder = self._active(incident_id, str(resource))
            if holder is None:
                raise
            return ClaimOutcome(False, holder)

    def _claim(self, session: Session, incident_id, resource, role, *, ttl_s, owner, note, now) -> ClaimOutcome:
        now = now or utc_now()
        active = session.exec(select(Lease).where(Lease.incident_id == incident_id, Lease.released_at.is_(None))).all()
        overlapping = [lease for lease in active if parse_resource(lease.resource).overlaps(resource)]

        for lease in overlapping:
            if lease.holder != role and not lease.expired(now):
                return ClaimOutcome(False, lease)

        own = next((lease for lease in overlapping if lease.resource == str(resource) and lease.holder == role), None)
        if own is not None and not own.expired(now):
            own.heartbeat_at, own.expires_at, own.ttl_s = now, now + dt.timedelta(seconds=ttl_s), ttl_s
            own.note = note or own.note
            session.add(own)
            return ClaimOutcome(True, own, renewed=True)

        took_over = None
        for lease in overlapping:
            if lease.expired(now):
                lease.released_at = now
                lease.release_reason = f"expired at {as_utc(lease.expires_at).isoformat(timespec='seconds')}, taken over by {role}"
                if lease.holder != role:
                    took_over = lease
                session.add(lease)
        session.flush()

        lease = Lease(
            incident_id=incident_id,
            resource=str(resource),
            holder=role,
            owner=owner,
            note=note,
            ttl_s=ttl_s,
            claimed_at=now,
            heartbeat_at=now,
            expires_at=now + dt.timedelta(seconds=ttl_s),
        )
        session.add(lease)
        return ClaimOutcome(True, lease, took_over=took_over)

    def release(self, incident_id: str, resource: str, role: str, *, reason: str = "released") -> Lease | None:
        """Release the role's active lease on exactly `resource`; return it, or None when it held none."""
        with self._write() as session:
            lease = session.exec(
                select(Lease).where(
                    Lease.incident_id == incident_id,
                    Lease.resource == resource,
                    Lease.holder == role,
                    Lease.released_at.is_(None),
                )
            ).first()
            if lease is None:
                return None
            lease.released_at, lease.release_reason = utc_now(), reason
            session.add(lease)
            return lease

    def heartbeat(
        self, incident_id: str, role: str, *, resources: list[str] | None = None, ttl_s: float | None = None
    ) -> tuple[list[Lease], list[Lease]]:
        """Extend the role's active leases that have not expired; return (renewed, expired ones left as they are).

        An expired lease is not revived, because another role may already have seen it as free.
        """
        now = utc_now()
        renewed, expired = [], []
        with self._write() as session:
            query = select(Lease).where(Lease.incident_id == incident_id, Lease.holder == role, Lease.released_at.is_(None))
            for lease in session.exec(query).all():
                if resources and lease.resource not in resources:
                    continue
                if lease.expired(now):
                    expired.append(lease)
                    continue
                lease.ttl_s = ttl_s or lease.ttl_s
                lease.heartbeat_at, lease.expires_at = now, now + dt.timedelta(seconds=lease.ttl_s)
                session.add(lease)
                renewed.append(lease)
        return renewed, expired

    def leases(self, incident_id: str, *, active_only: bool = True, role: str | None = None) -> list[Lease]:
        query = select(Lease).where(Lease.incident_id == incident_id)
        if active_only:
            query = query.where(Lease.released_at.is_(None))
        if role is not None:
            query = query.where(Lease.holder == role)
        with self._read() as session:
            return list(session.exec(query.order_by(Lease.id)).all())

    def _active(self, incident_id: str, resource: str) -> Lease | None:
        with self._read() as session:
            return session.exec(
                select(Lease).where(Lease.incident_id == incident_id, Lease.resource == resource, Lease.released_at.is_(None))
            ).first()

    # Check-ins

    def add_checkin(self, checkin: Checkin) -> Checkin:
        with self._write() as session:
            session.add(checkin)
        return checkin

    def checkins(self, incident_id: str, *, role: str | None = None) -> list[Checkin]:
        query = select(Checkin).where(Checkin.incident_id == incident_id)
        if role is not None:
            query = query.where(Checkin.role == role)
        with self._read() as session:
            return list(session.exec(query.order_by(Checkin.id)).all())

    # Messages

    def add_message(self, message: Message) -> Message:
        with self._write() as session:
            session.add(message)
        return message

    def messages(self, incident_id: str | None = None, *, role: str | None = None, open_only: bool = False) -> list[Message]:
        """Return messages, oldest first; with `role`, those it sent or received."""
        query = select(Message)
        if incident_id is not None:
            query = query.where(Message.incident_id == incident_id)
        if role is not None:
            query = query.where((Message.sender == role) | (Message.recipient == role))
        if open_only:
            query = query.where(Message.resolved_at.is_(None))
        with self._read() as session:
            return list(session.exec(query.order_by(Message.id)).all())

    def message(self, message_id: int) -> Message | None:
        with self._read() as session:
            return session.get(Message, message_id)

    def resolve(self, message_id: int, *, by: str, resolution: str) -> Message | None:
        """Resolve an open message; return it, or None when it does not exist. A resolved one is returned unchanged."""
        with self._write() as session:
            message = session.get(Message, message_id)
            if message is None or message.resolved_at is not None:
                return message
            message.resolved_at, message.resolved_by, message.resolution = utc_now(), by, resolution
            session.add(message)
            return message

    def clear_passed_blockers(self, incident_id: str) -> list[Message]:
        """Resolve open messages whose `until` criterion has a passing result recorded after they were sent."""
        waiting = [message for message in self.messages(incident_id, open_only=True) if message.until_criterion]
        if not waiting:
            return []

        from coordinator.board.tables import CriterionResult

        cleared = []
        with self._read() as session:
            for message in waiting:
                result = session.exec(
                    select(CriterionResult)
                    .where(
                        CriterionResult.incident_id == incident_id,
                        CriterionResult.criterion_id == message.until_criterion,
                        CriterionResult.started_at >= message.created_at,
                    )
                    .order_by(CriterionResult.id.desc())
                ).first()
                if result is not None and result.status == "pass":
                    cleared.append((message, result))
        resolved = []
        for message, result in cleared:
            value = json.loads(result.value_json) if result.value_json else None
            shown = f" (value {value})" if value is not None else ""
            done = self.resolve(
                message.id, by="coord", resolution=f"criterion {message.until_criterion} passed{shown} at {as_utc(result.started_at).isoformat(timespec='seconds')}"
            )
            if done is not None:
                resolved.append(done)
        return resolved
