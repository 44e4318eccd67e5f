"""`coord run`: one role's recovery steps on a target."""

from __future__ import annotations

from typing import Annotated

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


def run(
    incident_file: IncidentArgument,
    role: Annotated[str, typer.Option("--role", help="Role whose tasks run.")],
    target: TargetOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="Print only tasks and the outcome, not command output.")] = False,
    repo: RepoOption = None,
    board: BoardOption = None,
) -> None:
    """Run a role's tasks in order, recording every step; stop at the first failure.

    Running again skips the tasks already done. Exit code 0 when every task is done, 1 otherwise.
    """
    from coordinator.runner.run import RoleRunner

    incident = load(incident_file)
    repo_path = repository(repo)
    store = open_board(repo_path, board, incident, incident_file)
    context = context_for(incident, target, repo_path)

    def show(kind: str, message: str) -> None:
        if quiet and kind in ("output", "command", "wait"):
            return
        typer.echo(message)

    outcome = RoleRunner(incident, role, context, store, on_event=show).run()
    typer.echo(f"{role}: {outcome.status}: {outcome.message}", err=outcome.exit_code != 0)
    raise typer.Exit(outcome.exit_code)


def register(app: typer.Typer) -> None:
    app.command()(run)
