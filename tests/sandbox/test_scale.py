"""`coord sandbox init --scale N`: earlier seasons that grow the tables and leave the incident's figures alone."""

import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from coordinator.cli.sandbox import sandbox_app
from coordinator.sandbox import SandboxError, init_workspace
from coordinator.sandbox.history import MAX_SCALE
from coordinator.sandbox.workspace import WAREHOUSE_PATH

INCIDENT_SEASON_START = date(2026, 1, 1)
# Every table and date column of the sandbox that contains the incident season's figures.
DATED_TABLES = {
    "nba_raw.nbac_schedule": "game_date",
    "nba_raw.bettingpros_player_points_props": "game_date",
    "nba_raw.bdl_player_boxscores": "game_date",
    "nba_analytics.player_game_summary": "game_date",
    "nba_analytics.team_offense_game_summary": "game_date",
    "nba_precompute.player_daily_cache": "cache_date",
    "nba_predictions.player_prop_predictions": "game_date",
    "nba_orchestration.processor_run_history": "data_date",
}
UNDATED_TABLES = (
    "nba_raw.nbac_player_list_current",
    "nba_reference.nba_players_registry",
    "nba_reference.unresolved_player_names",
    "nba_orchestration.circuit_breaker_state",
    "nba_orchestration.workflow_decisions",
    "sandbox.logs",
    "sandbox.team_stats_arrivals",
)


def rows(workspace: Path, sql: str) -> list[tuple]:
    connection = duckdb.connect(str(workspace / WAREHOUSE_PATH), read_only=True)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def incident_season(workspace: Path) -> dict[str, list[tuple]]:
    """Return every row on or after Jan 1, 2026, and every row of the tables without a date, in a fixed order."""
    season = {
        table: rows(workspace, f"SELECT * FROM {table} WHERE {column} >= DATE '{INCIDENT_SEASON_START}' ORDER BY ALL")
        for table, column in DATED_TABLES.items()
    }
    season.update({table: rows(workspace, f"SELECT * FROM {table} ORDER BY ALL") for table in UNDATED_TABLES})
    return season


def count(workspace: Path, table: str) -> int:
    return rows(workspace, f"SELECT COUNT(*) FROM {table}")[0][0]


@pytest.fixture(scope="module")
def scaled(tmp_path_factory) -> dict[int, Path]:
    folder = tmp_path_factory.mktemp("scaled")
    return {scale: init_workspace(folder / f"scale-{scale}", scale=scale).workspace for scale in (1, 2, 3)}


def test_scale_keeps_incident_season(scaled):
    unscaled = incident_season(scaled[1])

    for scale in (2, 3):
        assert incident_season(scaled[scale]) == unscaled, scale


def test_scale_one_adds_no_history(scaled):
    for table, column in DATED_TABLES.items():
        earlier = rows(scaled[1], f"SELECT COUNT(*) FROM {table} WHERE {column} < DATE '{INCIDENT_SEASON_START}'")
        assert earlier == [(0,)], table


def test_each_season_adds_same_rows(scaled):
    for table in ("nba_analytics.player_game_summary", "nba_raw.bdl_player_boxscores"):
        first, second, third = (count(scaled[scale], table) for scale in (1, 2, 3))
        assert second > first, table
        assert third - second == second - first, table


def test_each_season_adds_props(scaled):
    # Which bookmaker offers which player-game is drawn per season, so the counts differ a little.
    props = [count(scaled[scale], "nba_raw.bettingpros_player_points_props") for scale in (1, 2, 3)]

    assert props[0] == 0
    assert props[1] > 90_000
    assert props[2] - props[1] == pytest.approx(props[1], rel=0.02)


def test_history_players_not_in_registry(scaled):
    history_players = rows(
        scaled[3],
        "SELECT COUNT(*) FROM nba_analytics.player_game_summary a "
        "JOIN nba_reference.nba_players_registry r USING (player_lookup) "
        f"WHERE a.game_date < DATE '{INCIDENT_SEASON_START}'",
    )

    assert history_players == [(0,)]


def test_scaled_check_round_matches_unscaled(scaled):
    incident = Path(__file__).resolve().parents[2] / "playbooks/nba/2026-01-27-pipeline-recovery.yaml"

    def measured(workspace: Path) -> dict:
        completed = subprocess.run(
            [sys.executable, "-m", "coordinator", "check", str(incident), "--json"],
            cwd=workspace, capture_output=True, text=True, timeout=300,
        )
        import json

        return {item["id"]: (item["status"], item["value"]) for item in json.loads(completed.stdout)["criteria"]}

    assert measured(scaled[3]) == measured(scaled[1])


@pytest.mark.parametrize("scale", ["0", "-1", str(MAX_SCALE + 1), "100000000"])
def test_init_rejects_bad_scale(tmp_path, scale):
    workspace = tmp_path / "workspace"

    result = CliRunner().invoke(sandbox_app, ["init", "--dir", str(workspace), "--scale", scale])

    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert "--scale" in result.output
    assert not workspace.exists()


def test_init_rejects_scale_larger_than_free_disk(tmp_path, monkeypatch):
    from coordinator.sandbox import history

    monkeypatch.setattr(history.shutil, "disk_usage", lambda path: type("Usage", (), {"free": 1_000_000})())
    workspace = tmp_path / "workspace"

    result = CliRunner().invoke(sandbox_app, ["init", "--dir", str(workspace), "--scale", "20"])

    assert result.exit_code == 2
    assert "MB free" in result.output
    assert not workspace.exists()


def test_init_workspace_rejects_scale_before_writing(tmp_path):
    with pytest.raises(SandboxError, match="invalid --scale 0"):
        init_workspace(tmp_path / "workspace", scale=0)

    assert not (tmp_path / "workspace").exists()


def test_init_help_explains_scale():
    result = CliRunner().invoke(sandbox_app, ["init", "--help"])

    assert "--scale" in result.output
    assert "Seasons in the warehouse" in result.output
