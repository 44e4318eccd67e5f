"""`coord demo`: the whole loop on the embedded sandbox, in one command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def demo(
    directory: Annotated[
        Optional[Path],
        typer.Option("--dir", help="Folder for the demo workspace (created; a former demo there is replaced). Default: a new temporary folder."),
    ] = None,
) -> None:
    """Carry the 2026-01-27 incident from prompts to handoffs on a local sandbox, with no cloud.

    Exit code 0 only when the final validation passes.
    """
    from coordinator.sandbox.demo import run_demo

    result = run_demo(directory, on_event=lambda kind, message: typer.echo(message))
    if result.passed:
        typer.echo(f"demo passed: the final validation passes; look around in {result.workspace}")
        return
    typer.echo(f"demo failed: the final validation does not pass; see the handoffs in {result.workspace}", err=True)
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(demo)
