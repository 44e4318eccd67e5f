"""Fixtures for runner tests on the sandbox: a seeded workspace and a small incident that drives it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from coordinator.board.store import Board
from coordinator.runner.run import RoleRunner
from coordinator.spec import parse_incident
from coordinator.target import TargetContext
from tests.sandbox.conftest import seeded_template, workspace  # noqa: F401 (fixtures)

SANDBOX_HEADER = """\
incident:
  id: sandbox-steps
  title: Step kinds on the sandbox
  date: 2026-01-27
  timezone: America/New_York
  context: The sandbox model of the props pipeline.
  default_target: sandbox
params:
  game_date: 2026-01-27
secrets: [BETTINGPROS_API_KEY]
targets:
  sandbox:
    warehouse: duckdb:///.sandbox/warehouse.duckdb
    clock: {sql: "SELECT now FROM sandbox.clock"}
    env: {BETTINGPROS_API_KEY: test-key-5b1c0e}
roles:
  - name: ops
    title: Operations
    mission: Collect today's props.
    handoff: {path: handoffs/ops.md, sections: [{title: Runs, show: [runs]}]}
  - name: dev
    title: Development
    mission: Fix the code.
    handoff: {path: handoffs/dev.md, sections: [{title: Runs, show: [runs]}]}
criteria:
  - id: props-today
    role: ops
    text: Props collected for today (>1000)
    sql: SELECT COUNT(*) AS props FROM nba_raw.bettingpros_player_points_props WHERE game_date = @game_date
    expect: {column: props, op: ">", value: 1000}
  - id: scrapers-serving
    role: ops
    text: nba-scrapers serves requests
    command: coord sandbox health nba-scrapers
    expect: {exit_code: 0}
  - id: scrapers-dated-today
    role: ops
    text: nba-scrapers revision date is today
    command: coord sandbox describe nba-scrapers --field revision_date | grep 2026-01-27
    expect: {exit_code: 0}
"""

DEPLOY = 'coord sandbox deploy nba-scrapers --env BETTINGPROS_API_KEY="$BETTINGPROS_API_KEY"'


def sandbox_incident(tasks: str):
    """Return the sandbox incident with `tasks` (YAML text of the tasks list, without the `tasks:` key)."""
    return parse_incident(SANDBOX_HEADER + "tasks:\n" + textwrap.dedent(tasks))


def sandbox_runner(workspace: Path, incident, role: str = "ops", **options) -> tuple[RoleRunner, Board, list[str]]:
    """Return a runner for `role` on the sandbox, its board, and the list its events are shown in."""
    (workspace / ".git").mkdir(exist_ok=True)
    board = Board.for_repo(workspace)
    context = TargetContext(incident=incident, target="sandbox", repo=workspace)
    shown: list[str] = []
    options.setdefault("confirm", lambda question: True)
    runner = RoleRunner(incident, role, context, board, on_event=lambda kind, message: shown.append(message), **options)
    return runner, board, shown


@pytest.fixture
def steps_of(workspace):
    """Return a function giving {step key: latest row} of the board for a role."""

    def rows(board: Board, role: str = "ops"):
        return {row.step_key: row for row in board.step_runs("sandbox-steps", role=role)}

    return rows
