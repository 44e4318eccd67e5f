"""Leases through the command line and the runner: claim, renew, release, expiry, waiting steps."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.coordination.conftest import coord

TABLE = "table:raw.events@2026-01-20..2026-01-27"


def test_claim_refused_while_other_role_holds(team: Path):
    first = coord("claim", TABLE, "--role", "dev", "--incident", "team", "--note", "rebuilding", cwd=team)
    second = coord("claim", "table:raw.events@2026-01-27..2026-01-27", "--role", "ops", "--incident", "team", cwd=team)

    assert first.returncode == 0, first.stderr
    assert second.returncode == 1
    assert f"is held by dev as {TABLE} until" in second.stderr
    assert "(rebuilding)" in second.stderr


def test_claim_again_renews_and_release_frees(team: Path):
    coord("claim", TABLE, "--role", "dev", "--incident", "team", cwd=team)

    again = coord("claim", TABLE, "--role", "dev", "--incident", "team", "--json", cwd=team)
    released = coord("release", TABLE, "--role", "dev", "--incident", "team", cwd=team)
    other = coord("claim", TABLE, "--role", "ops", "--incident", "team", cwd=team)

    assert json.loads(again.stdout)["renewed"] is True
    assert released.returncode == 0
    assert other.returncode == 0


def test_invalid_resource_is_one_line(team: Path):
    result = coord("claim", "database:x", "--role", "dev", "--incident", "team", cwd=team)

    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "invalid resource 'database:x'" in result.stderr


def test_lease_expires_without_heartbeat(team: Path):
    coord("claim", TABLE, "--role", "dev", "--incident", "team", "--ttl", "1s", cwd=team)
    time.sleep(1.5)

    board = coord("board", "incident.yaml", "--json", cwd=team)
    text = coord("board", "incident.yaml", cwd=team)
    beat = coord("heartbeat", "--role", "dev", "--incident", "team", "--json", cwd=team)
    taken = coord("claim", TABLE, "--role", "ops", "--incident", "team", "--json", cwd=team)

    dev = next(role for role in json.loads(board.stdout)["roles"] if role["role"] == "dev")
    assert [lease["state"] for lease in dev["leases"]] == ["expired"]
    assert f"lease {TABLE} EXPIRED at" in text.stdout
    assert beat.returncode == 1
    assert [lease["resource"] for lease in json.loads(beat.stdout)["expired"]] == [TABLE]
    took_over = json.loads(taken.stdout)["took_over"]
    assert took_over["role"] == "dev"
    assert took_over["release_reason"].startswith("expired at")


def test_heartbeat_extends_lease(team: Path):
    coord("claim", TABLE, "--role", "dev", "--incident", "team", "--ttl", "10m", cwd=team)

    beat = coord("heartbeat", "--role", "dev", "--incident", "team", "--ttl", "1h", "--json", cwd=team)

    renewed = json.loads(beat.stdout)["renewed"]
    assert beat.returncode == 0
    assert [lease["ttl_s"] for lease in renewed] == [3600.0]


def test_run_step_blocked_by_other_role_lease(team: Path):
    coord("claim", "service:loader", "--role", "dev", "--incident", "team", "--note", "deploying", cwd=team)

    result = coord("run", "incident.yaml", "--role", "ops", "--yes", "--allow-dirty", cwd=team, env={"COORD_LEASE_WAIT": "1s"})

    assert result.returncode == 1
    assert "needs service:loader, held by role dev as service:loader until" in result.stderr
    assert "(deploying)" in result.stderr
    board = json.loads(coord("board", "incident.yaml", "--json", cwd=team).stdout)
    ops = next(role for role in board["roles"] if role["role"] == "ops")
    assert ops["tasks"][0]["status"] == "blocked"


def test_run_takes_and_releases_step_leases(team: Path):
    result = coord("run", "incident.yaml", "--role", "ops", "--yes", "--allow-dirty", cwd=team)

    assert result.returncode == 0, result.stderr
    assert "leased table:raw.events@2026-01-27..2026-01-27" in result.stdout
    assert "leased service:loader" in result.stdout
    board = json.loads(coord("board", "incident.yaml", "--json", cwd=team).stdout)
    assert all(role["leases"] == [] for role in board["roles"])
