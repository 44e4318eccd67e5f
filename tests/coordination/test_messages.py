"""Messages and blockers: a blocking message with --until clears itself when its criterion passes."""

from __future__ import annotations

import json
from pathlib import Path

from tests.coordination.conftest import coord


def board_roles(team: Path) -> dict:
    result = coord("board", "incident.yaml", "--json", cwd=team)
    assert result.returncode == 0, result.stderr
    return {role["role"]: role for role in json.loads(result.stdout)["roles"]}


def test_blocker_until_criterion_clears_and_shows_in_handoffs(team: Path):
    coord("board", "incident.yaml", cwd=team)
    sent = coord(
        "message", "--from", "dev", "--to", "ops", "rebuild waits for today's rows",
        "--until", "rows-loaded", "--task", "rebuild", "--json", cwd=team,
    )
    message = json.loads(sent.stdout)["message"]

    blocked = board_roles(team)
    assert [task["status"] for task in blocked["dev"]["tasks"]] == ["todo", "blocked"]
    assert blocked["dev"]["tasks"][1]["blocked_by"] == [message["id"]]
    assert [item["id"] for item in blocked["ops"]["messages_in"]] == [message["id"]]

    run = coord("run", "incident.yaml", "--role", "ops", "--yes", "--allow-dirty", cwd=team)
    assert run.returncode == 0, run.stderr

    cleared = board_roles(team)
    assert cleared["dev"]["tasks"][1]["status"] == "todo"
    assert cleared["ops"]["messages_in"] == []
    for role in ("ops", "dev"):
        handoff = coord("handoff", "incident.yaml", "--role", role, "--stdout", cwd=team).stdout
        assert f"blocker #{message['id']} " in handoff
        assert f"blocker #{message['id']} (dev to ops) resolved by coord: criterion rows-loaded passed (value 5)" in handoff


def test_blocked_task_stops_the_run(team: Path):
    coord("board", "incident.yaml", cwd=team)
    coord("message", "--from", "dev", "--to", "ops", "wait for me", "--blocking", "--task", "ship", cwd=team)

    result = coord("run", "incident.yaml", "--role", "dev", "--yes", "--allow-dirty", cwd=team)

    assert result.returncode == 1
    assert "task 'ship' is blocked by message #1 to ops (wait for me)" in result.stderr
    assert "coord resolve 1 --by NAME" in result.stderr


def test_resolve_unblocks(team: Path):
    coord("board", "incident.yaml", cwd=team)
    coord("message", "--from", "dev", "--to", "ops", "wait for me", "--blocking", cwd=team)

    resolved = coord("resolve", "1", "--by", "lead", "--why", "ops answered", cwd=team)

    assert resolved.returncode == 0
    assert all(task["status"] == "todo" for task in board_roles(team)["dev"]["tasks"])


def test_addressed_role_sees_open_messages_first(team: Path):
    coord("board", "incident.yaml", cwd=team)
    coord("message", "--from", "dev", "--to", "ops", "do not load yet", cwd=team)

    result = coord("checkin", "--role", "ops", "--note", "starting", "--json", cwd=team)
    other = coord("checkin", "--role", "dev", "--note", "starting", cwd=team)

    assert result.stderr.startswith("coord: open message #1 to ops from dev (team): do not load yet")
    assert json.loads(result.stdout)["checkin"]["note"] == "starting"
    assert "open message" not in other.stderr


def test_message_with_unknown_criterion_rejected(team: Path):
    coord("board", "incident.yaml", cwd=team)

    result = coord("message", "--from", "dev", "--to", "ops", "x", "--until", "rows-lodaed", cwd=team)

    assert result.returncode == 2
    assert "--until: unknown criterion 'rows-lodaed'" in result.stderr
