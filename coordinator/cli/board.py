"""`coord board`: per role, tasks, criteria, leases, messages and check-ins, in one screen."""

from __future__ import annotations

from typing import Annotated

import typer

from coordinator.cli.common import BoardOption, IncidentArgument, JsonOption, RepoOption, open_board, print_json, repository


def board(
    incident_file: IncidentArgument,
    as_json: JsonOption = False,
    watch: Annotated[bool, typer.Option("--watch", help="Redraw the board until interrupted (Ctrl-C).")] = False,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between redraws with --watch.", min=0.5)] = 5.0,
    fixes: Annotated[
        bool, typer.Option("--fixes", help="Also show each fix as committed, deployed and verified (reads git).")
    ] = False,
    repo: RepoOption = None,
    board: BoardOption = None,
) -> None:
    """Show the board: per role, task states, criteria with their latest values, leases, messages, check-ins.

    Reading the board also resolves blocking messages whose --until criterion has passed since they were sent.
    """
    import time

    from coordinator.coordination.board_view import board_text, build_board
    from coordinator.spec import load_incident

    incident = load_incident(incident_file, check_sql=False)
    repo_path = repository(repo)
    store = open_board(repo_path, board, incident, incident_file)
    while True:
        view = build_board(incident, store)
        if fixes:
            from coordinator.gitops.fixes import fixes_report

            view["fixes"] = fixes_report(incident, store, repo_path)
        if as_json:
            print_json(view)
        else:
            if watch:
                typer.echo("\x1b[2J\x1b[H", nl=False)
            typer.echo(board_text(view), nl=False)
            if fixes:
                from coordinator.cli.fixes import fixes_lines

                typer.echo("\nfixes:\n" + "\n".join(fixes_lines(view["fixes"])))
        if not watch:
            return
        time.sleep(interval)


def register(app: typer.Typer) -> None:
    app.command()(board)
