"""Shared fixtures: a small incident on a real DuckDB warehouse in a temporary folder."""

from __future__ import annotations

import textwrap
from pathlib import Path

import duckdb
import pytest

from coordinator.board.store import Board
from coordinator.spec import load_incident
from coordinator.target import TargetContext

SMALL_INCIDENT = """\
incident:
  id: small
  title: Small incident
  date: 2026-01-27
  timezone: America/New_York
  context: A toy pipeline with one table.
  default_target: local
params:
  project: demo-project
  game_date: 2026-01-27
targets:
  local:
    warehouse: duckdb:///warehouse.duckdb
roles:
  - name: ops
    title: Operations
    mission: Load the rows.
    criteria: [rows-loaded, reviewed]
    handoff:
      path: handoffs/ops.md
      sections:
        - {title: What ran, show: [runs]}
  - name: dev
    title: Development
    mission: Fix the code.
    handoff: {path: handoffs/dev.md, sections: [{title: Next, show: [next_actions]}]}
tasks:
  - id: load
    role: ops
    title: Load today's rows
    verified_by: [rows-loaded]
    steps:
      - run: python3 load.py {{ game_date }}
criteria:
  - id: rows-loaded
    role: ops
    text: Rows loaded for today (>2)
    sql: SELECT COUNT(*) AS n FROM `{{ project }}.raw.events` WHERE game_date = @game_date
    expect: {column: n, op: ">", value: 2}
  - id: reviewed
    role: ops
    text: Changes reviewed
    manual: true
"""

LOADER = """\
import sys, duckdb
con = duckdb.connect("warehouse.duckdb")
con.execute("INSERT INTO raw.events SELECT CAST(? AS DATE), range FROM range(5)", [sys.argv[1]])
con.close()
print("loaded 5 rows for", sys.argv[1])
"""


def write_incident(folder: Path, text: str, name: str = "incident.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def make_warehouse(folder: Path) -> Path:
    path = folder / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA raw")
    con.execute("CREATE TABLE raw.events (game_date DATE, n BIGINT)")
    con.execute("INSERT INTO raw.events VALUES (DATE '2026-01-26', 1)")
    con.close()
    return path


@pytest.fixture(scope="session", autouse=True)
def sql_cache_in_temporary_folder(tmp_path_factory):
    """Keep the SQL cache of every test, and of the commands tests start, out of the user's cache folder."""
    import os

    os.environ["COORD_SQL_CACHE"] = str(tmp_path_factory.mktemp("sql-cache") / "sql-cache.json")


@pytest.fixture
def small(tmp_path: Path):
    """A folder holding the small incident, its warehouse and its loader script."""
    (tmp_path / ".git").mkdir()
    make_warehouse(tmp_path)
    (tmp_path / "load.py").write_text(LOADER, encoding="utf-8")
    incident_file = write_incident(tmp_path, SMALL_INCIDENT)
    incident = load_incident(incident_file)
    board = Board.for_repo(tmp_path)
    context = TargetContext(incident=incident, target="local", repo=tmp_path)
    return incident, context, board, incident_file
