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
    from coordinator.cli import check, demo, handoff, incident, run, sandbox

    incident.register(app)
    check.register(app)
    run.register(app)
    handoff.register(app)
    demo.register(app)
    app.add_typer(sandbox.sandbox_app, name="sandbox", help="A local model of the NBA pipeline, for demos and tests.")


def main() -> None:
    _register()
    try:
        app()
    except CoordinatorError as error:
        typer.echo(str(error), err=True)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
