"""Open messages for a role, shown on standard error before any `coord` command run with `--role`."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def option_value(argv: list[str], name: str) -> str | None:
    for index, argument in enumerate(argv):
        if argument == name and index + 1 < len(argv):
            return argv[index + 1]
        if argument.startswith(name + "="):
            return argument.split("=", 1)[1]
    return None


def show_open_messages(argv: list[str]) -> None:
    """Print the open messages addressed to `--role` on stderr; print nothing when there is no board yet."""
    role = option_value(argv, "--role")
    if not role:
        return

    from coordinator.board.engine import board_url
    from coordinator.target import find_repo

    repo_option = option_value(argv, "--repo") or os.environ.get("COORD_REPO")
    repo = find_repo(Path(repo_option) if repo_option else Path.cwd())
    url = board_url(repo, option_value(argv, "--board"))
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).exists():
        return

    for line in open_message_lines(url, role):
        print(line, file=sys.stderr)


def open_message_lines(url: str, role: str) -> list[str]:
    from coordinator.board.coordination import CoordinationStore
    from coordinator.board.engine import open_engine

    store = CoordinationStore(open_engine(url))
    incidents = {message.incident_id for message in store.messages(role=role, open_only=True) if message.until_criterion}
    for incident_id in incidents:
        store.clear_passed_blockers(incident_id)

    lines = []
    for message in store.messages(role=role, open_only=True):
        if message.recipient != role:
            continue
        kind = ""
        if message.blocking:
            kind = f", blocking until {message.until_criterion} passes" if message.until_criterion else ", blocking"
        lines.append(
            f"coord: open message #{message.id} to {role} from {message.sender} "
            f"({message.incident_id}{kind}): {message.text}"
        )
    if lines:
        lines.append(f"coord: answer with `coord message --from {role} --to ROLE TEXT`; a person closes one with `coord resolve ID`")
    return lines
