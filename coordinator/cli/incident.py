"""`coord schema` and `coord prompts`: the incident file's format and the prompts made from it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from coordinator.cli.common import IncidentArgument, RepoOption, TargetOption, repository


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
    from coordinator.coordination.conflicts import find_conflicts
    from coordinator.errors import IncidentFileError
    from coordinator.preflight import run_preflight
    from coordinator.render.prompts import write_prompts
    from coordinator.spec import read_incident
    from coordinator.target import choose_target

    # Read once: preflight checks the same reading, so a large file is not parsed twice.
    loaded = read_incident(incident_file)
    if loaded.problems:
        raise IncidentFileError(loaded.problems)
    incident = loaded.incident
    workspace = repository(repo)
    report = run_preflight(incident_file, target=target, repo=workspace, loaded=loaded)
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
    chosen = choose_target(incident, target)
    conflicts = find_conflicts(incident, chosen)
    written = write_prompts(
        incident,
        chosen,
        out,
        role_problems=role_problems,
        incident_path=incident_file,
        workspace=workspace,
        conflicts=conflicts,
    )
    for path in written:
        typer.echo(str(path))
    _warn_write_write(conflicts)


def _warn_write_write(conflicts) -> None:
    """Warn on stderr about every write-write overlap between roles, before the prompts are handed out."""
    from coordinator.coordination.conflicts import write_write_overlaps

    for conflict in write_write_overlaps(conflicts):
        typer.echo(f"warning: write-write overlap: {conflict.sentence().replace('**', '')}", err=True)


def register(app: typer.Typer) -> None:
    app.command()(schema)
    app.command()(prompts)
