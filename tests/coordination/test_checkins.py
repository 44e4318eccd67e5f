"""Check-ins: due times from the incident's start, overdue flags, and the handoff timeline."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from coordinator.board.store import Board
from coordinator.board.tables import utc_now
from tests.coordination.conftest import coord


def start_incident(team: Path, *, hours_ago: float) -> None:
    """Record a role run that started `hours_ago`, which starts the incident's check-in clock."""
    board = Board.for_repo(team)
    board.record_incident("team", "Team incident", "incident.yaml")
    run = board.start_run("team", "ops", "local", pid=None)
    run.started_at = utc_now() - dt.timedelta(hours=hours_ago)
    board.finish_run(run, "done")


def roles(team: Path) -> dict:
    board = json.loads(coord("board", "incident.yaml", "--json", cwd=team).stdout)
    return {role["role"]: role for role in board["roles"]}


def test_checkin_not_due_before_start(team: Path):
    view = roles(team)

    assert view["ops"]["checkins_due"][0]["status"] == "not started"
    assert view["ops"]["checkin_overdue"] is False


def test_unanswered_checkin_is_overdue(team: Path):
    start_incident(team, hours_ago=3)

    view = roles(team)
    text = coord("board", "incident.yaml", cwd=team).stdout

    assert view["ops"]["checkins_due"][0]["status"] == "overdue"
    assert view["ops"]["checkins_due"][0]["questions"] == ["Rows loaded?"]
    assert view["ops"]["checkin_overdue"] is True
    assert "check-in: none yet; OVERDUE since" in text


def test_checkin_answers_the_due_point(team: Path):
    start_incident(team, hours_ago=3)

    recorded = coord(
        "checkin", "--role", "ops", "--conditions", "5 rows today", "--actions", "ran the loader",
        "--needs", "nothing", "--incident", "team", cwd=team,
    )
    view = roles(team)

    assert recorded.returncode == 0, recorded.stderr
    assert view["ops"]["checkins_due"][0]["status"] == "answered"
    assert view["ops"]["last_checkin"]["conditions"] == "5 rows today"
    assert view["dev"]["checkin_overdue"] is True


def test_checkin_is_in_handoff_timeline(team: Path):
    coord("board", "incident.yaml", cwd=team)
    coord("checkin", "--role", "ops", "--note", "loader looks healthy", cwd=team)

    handoff = coord("handoff", "incident.yaml", "--role", "ops", "--stdout", cwd=team).stdout

    assert "check-in: note: loader looks healthy" in handoff


def test_checkin_needs_content(team: Path):
    result = coord("checkin", "--role", "ops", "--incident", "team", cwd=team)

    assert result.returncode == 2
    assert "a check-in needs at least one of --conditions, --actions, --needs or --note" in result.stderr
