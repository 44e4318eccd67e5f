"""The `coord` command: one module per verb group registers its commands here."""

from __future__ import annotations

import sys

import typer

from coordinator.errors import CoordinatorError

APP_SETTINGS = dict(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Coordinate parallel AI agent chats through a data-pipeline incident.",
)
app = typer.Typer(**APP_SETTINGS)


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


def _app_for(argv: list[str]) -> typer.Typer:
    """Return an app holding only the top-level command that `argv` names, or the whole app.

    Typer turns every registered command into a click command each time the app starts, which took 30 to
    50 ms for coord's commands (pyinstrument, Python 3.11, 2 cores). A process runs one command, so it
    builds only that one. Help, unknown names and command groups (sandbox) get the whole app, so their
    output is unchanged.
    """
    if not argv or argv[0].startswith("-"):
        return app
    chosen = [info for info in app.registered_commands if _command_name(info) == argv[0]]
    if len(chosen) != 1:
        return app

    single = typer.Typer(**APP_SETTINGS)
    # A callback keeps the app a group, so the command's name is still read from argv as with the whole app.
    single.callback()(_no_options)
    single.registered_commands.append(chosen[0])
    return single


def _command_name(info) -> str:
    from typer.main import get_command_name

    return info.name or get_command_name(info.callback.__name__)


def _no_options() -> None:
    pass


def main() -> None:
    _register()
    try:
        _show_open_messages()
        _app_for(sys.argv[1:])()
    except CoordinatorError as error:
        typer.echo(str(error), err=True)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except SystemExit as stop:
        # Typer turns Ctrl-C inside a command into a silent exit 130, so print why the command stopped.
        if stop.code == 130 and _caused_by_ctrl_c(stop):
            typer.echo("interrupted", err=True)
        raise


def _caused_by_ctrl_c(error: BaseException) -> bool:
    seen = error.__cause__ or error.__context__
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
