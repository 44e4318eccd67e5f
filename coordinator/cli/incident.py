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
) -> None:
    """Write one prompt per role and the coordination notes for the person running the chats."""
    from coordinator.render.prompts import write_prompts
    from coordinator.target import choose_target

    incident = load(incident_file)
    written = write_prompts(
        incident, choose_target(incident, target), out, incident_path=incident_file, workspace=repository(repo)
    )
    for path in written:
        typer.echo(str(path))


def register(app: typer.Typer) -> None:
    app.command()(schema)
    app.command()(prompts)
