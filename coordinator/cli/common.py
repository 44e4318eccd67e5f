"""Options and helpers shared by the command modules."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

if TYPE_CHECKING:
    from coordinator.spec.models import Incident

IncidentArgument = Annotated[Path, typer.Argument(help="Incident file (YAML).", show_default=False)]
RoleOption = Annotated[Optional[str], typer.Option("--role", help="Role name, as under roles in the incident file.")]
TargetOption = Annotated[
    Optional[str], typer.Option("--target", help="Target name; default: the incident's default_target.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (a stable shape, see docs/json.md).")]
RepoOption = Annotated[
    Optional[Path],
    typer.Option(
        "--repo",
        envvar="COORD_REPO",
        help="Repository the incident is about; default: the git work tree holding the current folder.",
    ),
]
BoardOption = Annotated[
    Optional[str],
    typer.Option("--board", envvar="COORD_BOARD", help="Board database URL; default: sqlite under REPO/.coordinator/."),
]


def load(path: Path) -> "Incident":
    from coordinator.spec import load_incident

    return load_incident(path)


def repository(option: Path | None) -> Path:
    """Return `--repo` when given, else the git work tree holding the current folder.

    Outside a git work tree and without `--repo` this fails, so a board and command output never land in
    a folder the user did not choose.
    """
    from coordinator.errors import CoordinatorError
    from coordinator.target import find_repo

    if option is not None:
        if not option.is_dir():
            raise CoordinatorError(f"--repo {option}: folder not found")
        return option.resolve()
    found = find_repo(Path.cwd())
    if not (found / ".git").exists():
        raise CoordinatorError(
            f"{Path.cwd()} is not inside a git repository: run coord from the repository the incident is about, "
            "or pass --repo PATH"
        )
    return found


def open_board(repo: Path, option: str | None, incident: "Incident | None" = None, file: Path | None = None):
    from coordinator.board.store import Board

    board = Board.for_repo(repo, option)
    if incident is not None:
        board.record_incident(incident.incident.id, incident.incident.title, str(file or ""))
    return board


def context_for(incident: "Incident", target: str | None, repo: Path):
    from coordinator.target import TargetContext, choose_target

    return TargetContext(incident=incident, target=choose_target(incident, target), repo=repo)


def print_json(value: Any) -> None:
    from coordinator.values import plain_value

    json.dump(plain_value(value), sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def error_line(message: str) -> None:
    typer.echo(message, err=True)
