"""The board verbs agents call often import no warehouse, SQL parser, template engine, git or cloud client."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = re.compile(r"\|\s+(duckdb|sqlglot|jinja2|git|google\.cloud|sqlalchemy\.dialects\.postgresql)(\.|$)")
# Verbs given the incident by id have no file to read, so they need neither the YAML parser nor the spec models.
INCIDENT_FILE_READERS = re.compile(r"\|\s+(yaml|coordinator\.spec)(\.|$)")

COMMANDS = [
    ("claim", "table:raw.events@2026-01-27..2026-01-27", "--role", "ops", "--incident", "team"),
    ("heartbeat", "--role", "ops", "--incident", "team"),
    ("checkin", "--role", "ops", "--note", "fine", "--incident", "team"),
    ("board", "incident.yaml", "--json"),
]


def imported(team: Path, arguments: tuple[str, ...]) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run `coord ARGUMENTS` on the team's board, created beforehand; return it and its `-X importtime` lines.

    The first command on a new board creates the tables, and the lease index's dialect options import more.
    Agents pay that once, so these tests measure a later call.
    """
    subprocess.run([sys.executable, "-m", "coordinator", "board", "incident.yaml", "--json"], cwd=team,
                   capture_output=True, check=True, timeout=120)
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "coordinator", *arguments],
        cwd=team, capture_output=True, text=True, timeout=120,
    )
    return result, result.stderr


@pytest.mark.parametrize("arguments", COMMANDS, ids=[arguments[0] for arguments in COMMANDS])
def test_board_verb_imports_nothing_heavy(team: Path, arguments: tuple[str, ...]):
    result, importtime = imported(team, arguments)

    heavy = sorted({match.group(1) for match in HEAVY.finditer(importtime)})
    assert result.returncode == 0, importtime[-2000:]
    assert heavy == []


@pytest.mark.parametrize("arguments", COMMANDS[:3], ids=[arguments[0] for arguments in COMMANDS[:3]])
def test_verb_by_incident_id_skips_spec(team: Path, arguments: tuple[str, ...]):
    result, importtime = imported(team, arguments)

    readers = sorted({match.group(1) for match in INCIDENT_FILE_READERS.finditer(importtime)})
    assert result.returncode == 0, importtime[-2000:]
    assert readers == []


def test_role_name_pattern_matches_spec():
    from coordinator.cli.coordination import ROLE_NAME
    from coordinator.spec.models import IDENTIFIER

    assert ROLE_NAME == IDENTIFIER


def test_new_board_has_active_lease_index(team: Path):
    subprocess.run([sys.executable, "-m", "coordinator", "checkin", "--role", "ops", "--note", "up", "--incident", "team"],
                   cwd=team, capture_output=True, check=True, timeout=120)

    connection = sqlite3.connect(team / ".coordinator" / "board.db")
    row = connection.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'lease_active_resource'").fetchone()
    connection.close()

    assert row is not None
    assert "UNIQUE INDEX lease_active_resource ON lease (incident_id, resource)" in row[0]
    assert row[0].endswith("WHERE released_at IS NULL")


def test_app_for_builds_one_command():
    from coordinator.cli.app import _app_for, _register, app

    _register()
    single = _app_for(["checkin", "--role", "ops"])

    assert [info.callback.__name__ for info in single.registered_commands] == ["checkin"]
    assert _app_for(["--help"]) is app
    assert _app_for([]) is app
    assert _app_for(["sandbox", "init"]) is app
    assert _app_for(["no-such-command"]) is app
