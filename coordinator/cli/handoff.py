"""`coord handoff`: write a role's handoff document from what the board recorded."""

from __future__ import annotations

from typing import Annotated

import typer

from coordinator.cli.common import BoardOption, IncidentArgument, RepoOption, TargetOption, load, open_board, repository


def handoff(
    incident_file: IncidentArgument,
    role: Annotated[str, typer.Option("--role", help="Role whose handoff is written.")],
    target: TargetOption = None,
    stdout: Annotated[bool, typer.Option("--stdout", help="Print the document instead of writing it.")] = False,
    commit: Annotated[
        bool, typer.Option("--commit", help="Commit the handoff file, and only it, naming the incident and role.")
    ] = False,
    repo: RepoOption = None,
    board: BoardOption = None,
) -> None:
    """Write the role's handoff at the path the incident names, relative to the repository."""
    from coordinator.render.handoff import handoff_path, render_handoff, write_atomically
    from coordinator.target import choose_target

    from coordinator.errors import CoordinatorError

    if stdout and commit:
        raise CoordinatorError("--commit commits the written file: drop --stdout")
    incident = load(incident_file)
    repo_path = repository(repo)
    chosen = choose_target(incident, target)
    store = open_board(repo_path, board, incident, incident_file)
    text = render_handoff(incident, role, store, target=chosen, repo=repo_path)
    if stdout:
        typer.echo(text, nl=False)
        return
    path = handoff_path(incident, role, repo_path, target=chosen)
    if commit:
        from coordinator.gitops.commit import check_commit

        check_commit(repo_path, path, text)
    write_atomically(path, text)
    typer.echo(str(path))
    if commit:
        from coordinator.gitops.commit import commit_one_file, handoff_message

        sha = commit_one_file(repo_path, path, handoff_message(incident.incident.id, role))
        typer.echo(f"committed {path.name} as {sha[:8]}")


def register(app: typer.Typer) -> None:
    app.command()(handoff)
