"""The `coord` command: one module per verb group registers its commands here."""

from __future__ import annotations

import sys

import typer

from coordinator.errors import CoordinatorError

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Coordinate parallel AI agent chats through a data-pipeline incident.",
)


def _register() -> None:
    from coordinator.cli import board, check, coordination, demo, fixes, handoff, incident, plan, preflight, run, sandbox

    incident.register(app)
    preflight.register(app)
    check.register(app)
    run.register(app)
    handoff.register(app)
    fixes.register(app)
    coordination.register(app)
    board.register(app)
    plan.register(app)
    demo.register(app)
    app.add_typer(sandbox.sandbox_app, name="sandbox", help="A local model of the NBA pipeline, for demos and tests.")


def _show_open_messages() -> None:
    """Show the open messages of the role named by --role before the command runs; never stop it."""
    if not any(argument == "--role" or argument.startswith("--role=") for argument in sys.argv[1:]):
        return

    from sqlalchemy.exc import SQLAlchemyError

    from coordinator.coordination.notices import show_open_messages

    try:
        show_open_messages(sys.argv[1:])
    except (CoordinatorError, SQLAlchemyError, OSError) as error:
        typer.echo(f"coord: cannot read the open messages: {error}", err=True)


def main() -> None:
    _register()
    try:
        _show_open_messages()
        app()
    except CoordinatorError as error:
        typer.echo(str(error), err=True)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
