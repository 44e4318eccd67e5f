"""`coord run`: one role's recovery steps on a target, in the foreground, in the background, or as a plan."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from coordinator.cli.common import (
    BoardOption,
    IncidentArgument,
    RepoOption,
    TargetOption,
    context_for,
    load,
    open_board,
    repository,
)
from coordinator.errors import CoordinatorError

RUN_LOG_ENV = "COORD_RUN_LOG"
STATUS_REDRAW_S = 1.0
# Without a terminal the live status line cannot be redrawn, so a line is printed this often instead.
HEARTBEAT_S = 60.0


def run(
    incident_file: IncidentArgument,
    role: Annotated[Optional[str], typer.Option("--role", help="Role whose tasks run; required unless --dry-run or --status.")] = None,
    target: TargetOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="Print only tasks and the outcome, not command output.")] = False,
    allow_dirty: Annotated[
        bool,
        typer.Option("--allow-dirty", help="Let deploy steps run while tracked files differ from HEAD; handoffs say so."),
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the resolved plan (every role without --role); run nothing.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Accept risky steps (deploys, deletes, production writes) without asking.")] = False,
    rerun: Annotated[
        Optional[list[str]],
        typer.Option("--rerun", help="Run this interrupted step again, as STEP or TASK.STEP; repeatable."),
    ] = None,
    wait_for_deps: Annotated[
        Optional[str],
        typer.Option("--wait-for-deps", help="Wait up to this long (e.g. 30m) for other roles' tasks and criteria, then refuse."),
    ] = None,
    detach: Annotated[bool, typer.Option("--detach", help="Run in the background; follow it with --status or the log.")] = False,
    status: Annotated[bool, typer.Option("--status", help="Show the role's latest run and step states from the board; run nothing.")] = False,
    repo: RepoOption = None,
    board: BoardOption = None,
) -> None:
    """Run a role's tasks in order, recording every step; stop at the first failure.

    Running again skips the tasks already done and the finished steps of an unfinished task. Exit code 0
    when every task is done, 1 otherwise, 2 for bad input.
    """
    from coordinator.durations import parse_duration

    incident = load(incident_file)
    if role is not None and role not in {candidate.name for candidate in incident.roles}:
        known = ", ".join(candidate.name for candidate in incident.roles)
        raise CoordinatorError(f"unknown role {role!r}: this incident's roles are {known}")
    repo_path = repository(repo)

    if dry_run:
        show_dry_run(incident, role, target, repo, board)
        return
    if status:
        show_status(incident, role, repo_path, board)
        return
    if role is None:
        raise CoordinatorError("coord run needs --role NAME to run steps (or --dry-run / --status to only look)")
    try:
        wait_seconds = parse_duration(wait_for_deps) if wait_for_deps else 0.0
    except ValueError as error:
        raise CoordinatorError(f"--wait-for-deps: {error}") from None
    if detach:
        start_detached(incident_file, incident, role, target, repo_path, board, yes=yes, rerun=rerun or [],
                       wait_for_deps=wait_for_deps, allow_dirty=allow_dirty)
        return
    run_in_foreground(incident_file, incident, role, target, repo_path, board, quiet=quiet, yes=yes,
                      rerun=rerun or [], wait_seconds=wait_seconds, allow_dirty=allow_dirty)


def run_in_foreground(incident_file, incident, role, target, repo_path, board, *, quiet, yes, rerun, wait_seconds, allow_dirty) -> None:
    import os

    from coordinator.runner.run import RoleRunner

    store = open_board(repo_path, board, incident, incident_file)
    context = context_for(incident, target, repo_path)
    display = LiveDisplay(quiet=quiet)
    runner = RoleRunner(
        incident,
        role,
        context,
        store,
        on_event=display.event,
        allow_dirty=allow_dirty,
        confirm=confirmation(yes),
        rerun=rerun,
        wait_for_deps=wait_seconds,
        log_path=os.environ.get(RUN_LOG_ENV),
    )
    try:
        outcome = runner.run()
    finally:
        display.close()
    typer.echo(f"{role}: {outcome.status}: {outcome.message}", err=outcome.exit_code != 0)
    raise typer.Exit(outcome.exit_code)


def confirmation(yes: bool):
    """Return how risky steps are confirmed: always with --yes, by asking at a terminal, else not at all."""
    if yes:
        return lambda question: True
    if not sys.stdin.isatty():
        return None
    return lambda question: typer.confirm(question, default=False)


class LiveDisplay:
    """Printer of the run's events that also shows a running command's elapsed time and last output line.

    On a terminal the status line is redrawn in place every second. Without one, a line is printed every
    HEARTBEAT_S seconds, so a log shows that a long step is still alive.
    """

    def __init__(self, *, quiet: bool) -> None:
        self.quiet = quiet
        self.terminal = sys.stdout.isatty()
        self.lock = threading.Lock()
        self.started: float | None = None
        self.label = ""
        self.last_line = ""
        self.drawn = False
        self.last_heartbeat = 0.0
        self.stopped = threading.Event()
        self.ticker = threading.Thread(target=self._tick, daemon=True)
        self.ticker.start()

    def event(self, kind: str, message: str) -> None:
        with self.lock:
            self._erase()
            if kind == "command":
                self.started, self.last_heartbeat = time.monotonic(), time.monotonic()
                self.label, self.last_line = message.strip(), ""
            elif kind == "output":
                self.last_line = message.strip()
            elif kind == "step":
                self.started = None
            if not (self.quiet and kind in ("output", "command", "wait")):
                typer.echo(message)

    def close(self) -> None:
        self.stopped.set()
        with self.lock:
            self._erase()

    def _tick(self) -> None:
        while not self.stopped.wait(STATUS_REDRAW_S):
            with self.lock:
                if self.started is None:
                    continue
                elapsed = time.monotonic() - self.started
                text = f"  [{_clock(elapsed)}] {self.last_line or self.label}"
                if self.terminal:
                    sys.stdout.write("\r\033[K" + text[:_width() - 1])
                    sys.stdout.flush()
                    self.drawn = True
                elif time.monotonic() - self.last_heartbeat >= HEARTBEAT_S:
                    self.last_heartbeat = time.monotonic()
                    typer.echo(f"  still running after {_clock(elapsed)}; last output: {self.last_line or '(none yet)'}")

    def _erase(self) -> None:
        if self.drawn:
            sys.stdout.write("\r\033[K")
            sys.stdout.flush()
            self.drawn = False


def _clock(seconds: float) -> str:
    minutes, second = divmod(int(seconds), 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours}:{minute:02d}:{second:02d}" if hours else f"{minute:02d}:{second:02d}"


def _width() -> int:
    import shutil

    return shutil.get_terminal_size((100, 20)).columns


def show_dry_run(incident, role: str | None, target: str | None, repo: Path | None, board: str | None) -> None:
    from coordinator.cli.plan import existing_board, print_plan
    from coordinator.runner.plan import build_plan
    from coordinator.target import choose_target

    chosen = choose_target(incident, target)
    resolved = build_plan(incident, chosen, roles=[role] if role else None, board=existing_board(repo, board))
    typer.echo("Dry run: nothing runs.")
    print_plan(resolved, typer.echo, order=role is None)


def start_detached(incident_file: Path, incident, role: str, target, repo_path: Path, board, *, yes, rerun, wait_for_deps, allow_dirty) -> None:
    """Start `coord run` for the role as a background process writing to a log; print how to follow it."""
    import datetime as dt
    import os
    import subprocess

    from coordinator.runner.plan import build_plan
    from coordinator.target import choose_target

    chosen = choose_target(incident, target)
    if not yes:
        risky = [f"{task.id}.{step.key}" for role_plan in build_plan(incident, chosen, roles=[role]).roles
                 for task in role_plan.tasks for step in task.steps if step.risk]
        if risky:
            raise CoordinatorError(
                f"role {role!r} has risky steps ({', '.join(risky)}) and a detached run cannot ask: add --yes to accept them"
            )

    logs = repo_path / ".coordinator" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    log_path = logs / f"{incident.incident.id}-{role}-{stamp}.log"
    command = [sys.executable, "-m", "coordinator", "run", str(incident_file.resolve()), "--role", role,
               "--target", chosen, "--repo", str(repo_path)]
    if board:
        command += ["--board", board]
    if yes:
        command.append("--yes")
    if allow_dirty:
        command.append("--allow-dirty")
    if wait_for_deps:
        command += ["--wait-for-deps", wait_for_deps]
    for step in rerun:
        command += ["--rerun", step]

    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, RUN_LOG_ENV: str(log_path)}, cwd=repo_path,
        )
    typer.echo(f"{role}: running in the background as pid {process.pid}; log: {log_path}")
    typer.echo(f"follow it with: coord run {incident_file} --role {role} --status (or tail -f {log_path})")


def show_status(incident, role: str | None, repo_path: Path, board: str | None) -> None:
    """Print the latest run of each role (or of `role`) and the state of its tasks and steps."""
    from coordinator.runner.status import role_status

    store = open_board(repo_path, board)
    roles = [role] if role else [candidate.name for candidate in incident.roles]
    for name in roles:
        for line in role_status(incident, name, store):
            typer.echo(line)


def register(app: typer.Typer) -> None:
    app.command()(run)
