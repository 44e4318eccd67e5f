"""`coord schema` and `coord prompts`: the incident file's format and the prompts made from it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from coordinator.cli.common import IncidentArgument, RepoOption, TargetOption, load, repository


def schema() -> None:
    """Print the JSON Schema of incident files, for editors to validate and complete them."""
    from coordinator.spec.models import Incident

    document = Incident.model_json_schema(by_alias=True)
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["title"] = "coord incident file"
    typer.echo(json.dumps(document, indent=2))


def prompts(
    incident_file: IncidentArgument,
    out: Annotated[Path, typer.Option("--out", help="Folder to write ROLE.md and coordination.md into.")],
    target: TargetOption = None,
    repo: RepoOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Write the prompts despite preflight errors, listing them at the top of each.")
    ] = False,
) -> None:
    """Run `coord preflight`, then write one prompt per role and the coordination notes.

    Preflight errors stop the command (exit 2) unless --force is given; then each affected prompt lists
    them at its top. A file that does not load is never rendered, --force or not.
    """
    from coordinator.preflight import run_preflight
    from coordinator.render.prompts import write_prompts
    from coordinator.target import choose_target

    incident = load(incident_file)
    workspace = repository(repo)
    report = run_preflight(incident_file, target=target, repo=workspace)
    for problem in report.warnings:
        typer.echo(f"warning: {problem}", err=True)
    for problem in report.errors:
        typer.echo(f"error: {problem}", err=True)
    if report.errors and not force:
        typer.echo(
            f"{len(report.errors)} preflight errors: no prompts written; fix them, or pass --force to write the "
            "prompts with the errors listed at their top",
            err=True,
        )
        raise typer.Exit(2)

    role_problems = report.role_errors([role.name for role in incident.roles])
    written = write_prompts(
        incident,
        choose_target(incident, target),
        out,
        role_problems=role_problems,
        incident_path=incident_file,
        workspace=workspace,
    )
    for path in written:
        typer.echo(str(path))
    _warn_write_write(incident, choose_target(incident, target))


def _warn_write_write(incident, target: str) -> None:
    """Warn on stderr about every write-write overlap between roles, before the prompts are handed out."""
    from coordinator.coordination.conflicts import find_conflicts, write_write_overlaps

    for conflict in write_write_overlaps(find_conflicts(incident, target)):
        typer.echo(f"warning: write-write overlap: {conflict.sentence().replace('**', '')}", err=True)


def register(app: typer.Typer) -> None:
    app.command()(schema)
    app.command()(prompts)
