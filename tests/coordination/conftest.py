"""A two-role incident with policies, touches and a check-in point, in a temporary repository."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import LOADER, make_warehouse, write_incident

TEAM_INCIDENT = """\
incident:
  id: team
  title: Team incident
  date: 2026-01-27
  timezone: America/New_York
  context: A toy pipeline with one table.
  default_target: local
params:
  game_date: 2026-01-27
targets:
  local:
    warehouse: duckdb:///warehouse.duckdb
roles:
  - name: ops
    title: Operations
    mission: Load the rows.
    criteria: [rows-loaded]
    policy: {may: [write_tables, trigger_jobs]}
    handoff: {path: handoffs/ops.md, sections: [{title: What ran, show: [runs]}]}
  - name: dev
    title: Development
    mission: Fix and deploy the loader.
    policy: {may: [change_code, deploy_code]}
    handoff: {path: handoffs/dev.md, sections: [{title: Next, show: [next_actions]}]}
tasks:
  - id: load
    role: ops
    title: Load today's rows
    verified_by: [rows-loaded]
    steps:
      - id: load_rows
        action: write_tables
        touches:
          - {table: raw.events, from: "{{ game_date }}", to: "{{ game_date }}", mode: write}
          - {service: loader, mode: read}
        run: python3 load.py {{ game_date }}
  - id: ship
    role: dev
    title: Deploy the loader
    steps:
      - id: deploy_loader
        action: deploy_code
        touches:
          - {service: loader, mode: deploy}
        run: echo deployed loader
  - id: rebuild
    role: dev
    title: Rebuild the table
    steps:
      - id: rebuild_rows
        touches:
          - {table: raw.events, mode: write}
        run: echo rebuilt
criteria:
  - id: rows-loaded
    role: ops
    text: Rows loaded for today (>2)
    sql: SELECT COUNT(*) AS n FROM raw.events WHERE game_date = @game_date
    expect: {column: n, op: ">", value: 2}
coordination:
  checkins:
    - after: 2h
      questions:
        ops: ["Rows loaded?"]
        dev: ["Loader deployed?"]
"""


def coord(*arguments: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "coordinator", *arguments],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def team(tmp_path: Path) -> Path:
    """A repository holding the team incident (incident.yaml), its warehouse and its loader."""
    (tmp_path / ".git").mkdir()
    make_warehouse(tmp_path)
    (tmp_path / "load.py").write_text(LOADER, encoding="utf-8")
    write_incident(tmp_path, TEAM_INCIDENT)
    return tmp_path
