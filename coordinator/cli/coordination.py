"""`coord claim`, `release`, `heartbeat`, `checkin`, `message` and `resolve`: roles coordinating on the board.

These verbs need no incident file: they work on the incident named by `--incident` (an id, or the file),
else on the incident last recorded on the board. They import no warehouse, SQL parser or template engine,
so an agent can call them often.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from coordinator.cli.common import BoardOption, JsonOption, RepoOption, print_json, repository
from coordinator.errors import CoordinatorError

DEFAULT_TTL = "30m"

IncidentOption = Annotated[
    Optional[str],
    typer.Option(
        "--incident",
        envvar="COORD_INCIDENT",
        help="Incident id, or its file; default: the incident last recorded on the board.",
    ),
]
RequiredRole = Annotated[str, typer.Option("--role", help="Your role, as under roles in the incident file.")]
TtlOption = Annotated[str, typer.Option("--ttl", help="How long the lease lasts without a heartbeat, e.g. 90s, 30m, 2h.")]


def coordination_store(repo: Path | None, board: str | None):
    """Open the board of `--repo` (or `--board`) for leases, check-ins and messages.

    It opens the engine without coordinator.board.store, whose run and result tables these verbs never use.
    """
    from coordinator.board.coordination import CoordinationStore
    from coordinator.board.engine import board_url, open_engine

    return CoordinationStore(open_engine(board_url(repository(repo), board)))


def incident_id_for(store, option: str | None) -> str:
    """Return the incident id from `--incident` (an id or a file), else the one last recorded on the board."""
    if option:
        path = Path(option)
        if path.suffix in (".yaml", ".yml") or path.is_file():
            return _incident_id_from_file(path)
        return option
    latest = store.latest_incident()
    if latest is None:
        raise CoordinatorError(
            "no incident on this board yet: pass --incident ID (or the incident file), or run `coord board INCIDENT` first"
        )
    return latest


def _incident_id_from_file(path: Path) -> str:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return str(data["incident"]["id"])
    except (OSError, yaml.YAMLError, KeyError, TypeError) as error:
        raise CoordinatorError(f"{path}: cannot read incident.id ({error.__class__.__name__}): pass --incident ID instead") from None


def duration_seconds(text: str, option: str) -> float:
    from coordinator.durations import parse_duration

    try:
        seconds = parse_duration(text)
    except ValueError as error:
        raise CoordinatorError(f"{option}: {error}") from None
    if seconds <= 0:
        raise CoordinatorError(f"{option}: {text!r} must be longer than zero")
    return seconds


# The identifier pattern of coordinator.spec.models, written out so these verbs need not import the spec
# package; tests/coordination/test_fast_commands.py checks that the two stay equal.
ROLE_NAME = r"^[a-z0-9][a-z0-9_-]*$"


def _check_role_name(role: str) -> None:
    import re

    if not re.match(ROLE_NAME, role):
        raise CoordinatorError(f"invalid role name {role!r}: role names are lowercase letters, digits, _ and -")


def claim(
    resource: Annotated[str, typer.Argument(help="KIND:NAME[@FROM..TO], e.g. table:nba_analytics.player_game_summary@2026-01-01..2026-01-25.", show_default=False)],
    role: RequiredRole,
    ttl: TtlOption = DEFAULT_TTL,
    note: Annotated[Optional[str], typer.Option("--note", help="What you do with it, shown to the other roles.")] = None,
    incident: IncidentOption = None,
    as_json: JsonOption = False,
    repo: RepoOption = None,
    board: BoardOption = None,
) -> None:
    """Claim a resource for your role before touching it; exit 1 when another role holds it.

    Claiming a resource your role already holds renews it. A lease whose holder stopped heartbeating
    expires after its TTL and can then be claimed.
    """
    from coordinator.board.coordination import as_utc
    from coordinator.coordination.board_view import lease_json
    from coordinator.coordination.resources import parse_resource

    _check_role_name(role)
    parsed = parse_resource(resource)
    seconds = duration_seconds(ttl, "--ttl")
    store = coordination_store(repo, board)
    incident_id = incident_id_for(store, incident)
    outcome = store.claim(incident_id, parsed, role, ttl_s=seconds, owner="coord claim", note=note)

    if as_json:
        from coordinator.board.incident import utc_now

        now = utc_now()
        print_json(
            {
                "incident": incident_id,
                "claimed": outcome.won,
                "renewed": outcome.renewed,
                "lease": lease_json(outcome.lease, now) if outcome.won else None,
                "held_by": None if outcome.won else lease_json(outcome.lease, now),
                "took_over": lease_json(outcome.took_over, now) if outcome.took_over else None,
            }
        )
        raise typer.Exit(0 if outcome.won else 1)

    lease = outcome.lease
    until = as_utc(lease.expires_at).isoformat(timespec="seconds")
    if not outcome.won:
        why = f" ({lease.note})" if lease.note else ""
        typer.echo(
            f"{parsed} is held by {lease.holder} as {lease.resource} until {until}{why}: "
            f"wait, or ask them with `coord message --from {role} --to {lease.holder} TEXT`",
            err=True,
        )
        raise typer.Exit(1)
    verb = "renewed" if outcome.renewed else "claimed"
    typer.echo(f"{verb} {lease.resource} for {role} until {until} (lease {lease.id}); heartbeat or release it when done")
    if outcome.took_over is not None:
        typer.echo(f"took over the expired lease of {outcome.took_over.holder} on {outcome.took_over.resource}")


def release(
    resource: Annotated[str, typer.Argument(help="The resource as claimed.", show_default=False)],
    role: RequiredRole,
    incident: IncidentOption = None,
    as_json: JsonOption = False,
    repo: RepoOption = None,
    board: BoardOption = None,
) -> None:
    """Release your role's lease on a resource; exit 1 when your role holds none on it."""
    from coordinator.board.incident import utc_now
    from coordinator.coordination.board_view import lease_json
    from coordinator.coordination.resources import parse_resource

    name = str(parse_resource(resource))
    store = coordination_store(repo, board)
    incident_id = incident_id_for(store, incident)
    lease = store.release(incident_id, name, role)
    if as_json:
        print_json({"incident": incident_id, "released": lease is not None, "lease": lease_json(lease, utc_now()) if lease else None})
        raise typer.Exit(0 if lease else 1)
    if lease is None:
        typer.echo(f"role {role} holds no lease on {name} in {incident_id}: `coord board` lists the leases", err=True)
        raise typer.Exit(1)
    typer.echo(f"released {name} (lease {lease.id})")


def heartbeat(
    role: RequiredRole,
    resources: Annotated[Optional[list[str]], typer.Argument(help="Resources to renew; default: every lease of the role.", show_default=False)] = None,
    ttl: Annotated[Optional[str], typer.Option("--ttl", help="New TTL, e.g. 30m; default: each lease's own.")] = None,
    incident: IncidentOption = None,
    as_json: JsonOption = False,
    repo: RepoOption = None,
    board: BoardOption = None,
) -> None:
    """Renew your role's leases; exit 1 when one had already expired (it is lost: claim it again)."""
    from coordinator.board.incident import utc_now
    from coordinator.coordination.board_view import lease_json
    from coordinator.coordination.resources import parse_resource

    names = [str(parse_resource(resource)) for resource in resources or []]
    seconds = duration_seconds(ttl, "--ttl") if ttl else None
    store = coordination_store(repo, board)
    incident_id = incident_id_for(store, incident)
    renewed, expired = store.heartbeat(incident_id, role, resources=names or None, ttl_s=seconds)
    if as_json:
        now = utc_now()
        print_json(
            {
                "incident": incident_id,
                "renewed": [lease_json(lease, now) for lease in renewed],
                "expired": [lease_json(lease, now) for lease in expired],
            }
        )
        raise typer.Exit(1 if expired else 0)
    for lease in renewed:
        typer.echo(f"renewed {lease.resource} until {lease.expires_at.isoformat(timespec='seconds')}")
    for lease in expired:
        typer.echo(f"lost {lease.resource}: it expired at {lease.expires_at.isoformat(timespec='seconds')}; claim it again", err=True)
    if not renewed and not expired:
        typer.echo(f"role {role} holds no lease in {incident_id}")
    raise typer.Exit(1 if expired else 0)


def checkin(
    role: RequiredRole,
    conditions: Annotated[Optional[str], typer.Option("--conditions", help="What you see now (state, numbers).")] = None,
    actions: Annotated[Optional[str], typer.Option("--actions", help="What you did since the last check-in.")] = None,
    needs: Annotated[Optional[str], typer.Option("--needs", help="What you need from other roles or a person.")] = None,
    note: Annotated[Optional[str], typer.Option("--note", help="A free note, instead of or beside the three above.")] = None,
    incident: IncidentOption = None,
    as_json: JsonOption = False,
    repo: RepoOption = None,
    board: BoardOption = None,
) -> None:
    """Record a check-in of your role: conditions, actions and needs, or a note."""
    from coordinator.board.coordination import Checkin

    _check_role_name(role)
    if not any(value and value.strip() for value in (conditions, actions, needs, note)):
        raise CoordinatorError("a check-in needs at least one of --conditions, --actions, --needs or --note")
    store = coordination_store(repo, board)
    incident_id = incident_id_for(store, incident)
    record = store.add_checkin(
        Checkin(incident_id=incident_id, role=role, conditions=conditions, actions=actions, needs=needs, note=note)
    )
    if as_json:
        from coordinator.coordination.board_view import checkin_json

        print_json({"incident": incident_id, "checkin": checkin_json(record)})
        return
    typer.echo(f"check-in {record.id} of {role} recorded for {incident_id}")


def message(
    text: Annotated[str, typer.Argument(help="The message.", show_default=False)],
    sender: Annotated[str, typer.Option("--from", help="Your role.")],
    recipient: Annotated[str, typer.Option("--to", help="The role it is for.")],
    blocking: Annotated[bool, typer.Option("--blocking", help="Your tasks wait until it is resolved.")] = False,
    until: Annotated[Optional[str], typer.Option("--until", help="Criterion whose passing resolves it; implies --blocking.")] = None,
    tasks: Annotated[Optional[list[str]], typer.Option("--task", help="Your task it blocks (repeatable); default: all your tasks not done.")] = None,
    incident: IncidentOption = None,
    as_json: JsonOption = False,
    repo: RepoOption = None,
    board: BoardOption = None,
) -> None:
    """Send a message to another role; a blocking one marks your tasks blocked until it is resolved."""
    from coordinator.board.coordination import Message
    from coordinator.coordination.board_view import message_json

    for name in (sender, recipient):
        _check_role_name(name)
    if not text.strip():
        raise CoordinatorError("the message is empty: say what you need")
    store = coordination_store(repo, board)
    incident_id = incident_id_for(store, incident)
    _validate_names(store, repository(repo), incident, incident_id, roles=[sender, recipient], criterion=until, tasks=tasks or [], sender=sender)

    import json

    record = store.add_message(
        Message(
            incident_id=incident_id,
            sender=sender,
            recipient=recipient,
            text=text,
            blocking=blocking or until is not None,
            until_criterion=until,
            tasks_json=json.dumps(tasks) if tasks else None,
        )
    )
    if as_json:
        print_json({"incident": incident_id, "message": message_json(record)})
        return
    clears = ""
    if until:
        clears = f"; it clears when {until} passes"
    elif record.blocking:
        clears = "; `coord resolve` clears it"
    typer.echo(f"message #{record.id} from {sender} to {recipient}{' (blocking)' if record.blocking else ''}{clears}")


def resolve(
    message_id: Annotated[int, typer.Argument(help="Message number, as shown by `coord board`.", show_default=False)],
    by: Annotated[str, typer.Option("--by", help="Who resolves it (a name or a role).")],
    why: Annotated[str, typer.Option("--why", help="How it was resolved.")] = "resolved",
    as_json: JsonOption = False,
    repo: RepoOption = None,
    board: BoardOption = None,
) -> None:
    """Resolve a message: a blocker stops blocking its sender's tasks."""
    from coordinator.coordination.board_view import message_json

    store = coordination_store(repo, board)
    before = store.message(message_id)
    if before is None:
        raise CoordinatorError(f"no message #{message_id} on this board: `coord board INCIDENT` lists the open ones")
    record = store.resolve(message_id, by=by, resolution=why)
    if as_json:
        print_json({"message": message_json(record), "already_resolved": before.resolved_at is not None})
        return
    if before.resolved_at is not None:
        typer.echo(f"message #{message_id} was already resolved by {before.resolved_by}: {before.resolution}")
        return
    typer.echo(f"message #{message_id} resolved by {by}: {why}")


def _validate_names(store, repo: Path, option: str | None, incident_id: str, *, roles: list[str], criterion: str | None, tasks: list[str], sender: str) -> None:
    """Check role, criterion and task names against the incident file, when the board has recorded its path."""
    incident = _incident_file(store, repo, option, incident_id)
    if incident is None:
        return
    known_roles = {role.name for role in incident.roles}
    for role in roles:
        if role not in known_roles:
            raise CoordinatorError(f"unknown role {role!r}: this incident's roles are {', '.join(sorted(known_roles))}")
    if criterion is not None and criterion not in {item.id for item in incident.criteria}:
        raise CoordinatorError(f"--until: unknown criterion {criterion!r}: see `coord check` for the ids")
    own = {task.id for task in incident.tasks_of(sender)}
    for task_id in tasks:
        if task_id not in own:
            raise CoordinatorError(f"--task: {task_id!r} is not a task of role {sender!r}: its tasks are {', '.join(sorted(own))}")


def _incident_file(store, repo: Path, option: str | None, incident_id: str):
    from coordinator.spec import load_incident

    candidates = []
    if option and (option.endswith((".yaml", ".yml")) or Path(option).is_file()):
        candidates.append(Path(option))
    recorded = store.incident_file(incident_id)
    if recorded:
        candidates += [Path(recorded), repo / recorded]
    for path in candidates:
        if path.is_file():
            return load_incident(path, check_sql=False)
    return None


def register(app: typer.Typer) -> None:
    app.command()(claim)
    app.command()(release)
    app.command()(heartbeat)
    app.command()(checkin)
    app.command()(message)
    app.command()(resolve)
