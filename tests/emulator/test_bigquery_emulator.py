"""The BigQuery backend against a real BigQuery API server on loopback, holding the sandbox's seeded tables."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from coordinator.board.store import Board
from coordinator.criteria.evaluate import evaluate
from coordinator.preflight import run_preflight
from coordinator.spec import parse_incident
from coordinator.target import TargetContext

from .server import with_emulator_target

pytestmark = pytest.mark.emulator

SHIPPED = Path(__file__).parents[2] / "playbooks" / "nba" / "2026-01-27-pipeline-recovery.yaml"
PROPS_TABLE = "nba_raw.bettingpros_player_points_props"
ORIGINAL_PROPS_TABLE = "nba_raw.bp_player_props"


def same_value(left, right) -> bool:
    if isinstance(left, (int, float)) and isinstance(right, (int, float)):
        return math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-9)
    return left == right


@pytest.fixture(scope="module")
def incident_on_both(seeded_emulator, sandbox_workspace: Path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("incident")
    path = folder / "incident.yaml"
    path.write_text(with_emulator_target(SHIPPED.read_text(encoding="utf-8"), seeded_emulator.url(timeout="60")))
    return parse_incident(path.read_text(), file=str(path)), path


def test_seed_criteria_match_sandbox(incident_on_both, sandbox_workspace: Path):
    incident, _path = incident_on_both
    sandbox = TargetContext(incident=incident, target="sandbox", repo=sandbox_workspace)
    emulator = TargetContext(incident=incident, target="emulator", repo=sandbox_workspace)
    sandbox.refresh_clock()
    emulator.refresh_clock()
    sql_criteria = [criterion for criterion in incident.criteria if criterion.sql is not None]

    assert emulator.now == sandbox.now
    assert len(sql_criteria) >= 6
    for criterion in sql_criteria:
        expected = evaluate(criterion, sandbox)
        measured = evaluate(criterion, emulator)

        assert measured.status == expected.status, (criterion.id, measured.detail, expected.detail)
        assert same_value(measured.value, expected.value), (criterion.id, measured.value, expected.value)
        assert len(measured.rows) == len(expected.rows), criterion.id
        for emulator_row, sandbox_row in zip(measured.rows, expected.rows):
            for column, value in sandbox_row.items():
                assert same_value(emulator_row[column], value), (criterion.id, column, emulator_row, sandbox_row)
        assert measured.params == expected.params, criterion.id
        assert measured.params, f"{criterion.id} ran with no bound parameter"
        assert measured.bytes_processed is not None, criterion.id
    sandbox.close()
    emulator.close()


def test_check_json_shows_bytes(incident_on_both, sandbox_workspace: Path, tmp_path: Path):
    _incident, path = incident_on_both
    board = f"sqlite:///{tmp_path / 'board.db'}"

    result = subprocess.run(
        [sys.executable, "-m", "coordinator", "check", str(path), "--target", "emulator", "--role", "reprocessing",
         "--json", "--repo", str(sandbox_workspace), "--board", board],
        capture_output=True, text=True, timeout=300,
    )
    report = json.loads(result.stdout)
    sql_entries = [entry for entry in report["criteria"] if entry["kind"] == "sql"]
    stored = Board(board).results(report["incident"])

    # The role's command criteria have no command for the emulator target, so the round exits 2.
    assert result.returncode == 2, result.stderr
    assert sql_entries
    assert all(entry["status"] in ("pass", "fail") for entry in sql_entries), sql_entries
    assert all("bytes_processed" in entry and "bytes_billed" in entry for entry in report["criteria"])
    assert all(entry["bytes_processed"] == 0 for entry in sql_entries)
    assert {row.criterion_id for row in stored if row.kind == "sql"} == {entry["id"] for entry in sql_entries}
    assert all(row.bytes_processed == 0 for row in stored if row.kind == "sql")


def test_preflight_reports_missing_table(seeded_emulator, sandbox_workspace: Path, tmp_path: Path):
    text = SHIPPED.read_text(encoding="utf-8").replace(f".{PROPS_TABLE}`", f".{ORIGINAL_PROPS_TABLE}`")
    path = tmp_path / "incident.yaml"
    path.write_text(with_emulator_target(text, seeded_emulator.url()))
    line = next(number for number, content in enumerate(path.read_text().splitlines(), 1) if ORIGINAL_PROPS_TABLE + "`" in content)

    report = run_preflight(path, target="emulator", repo=sandbox_workspace)

    assert [(problem.line, problem.key_path) for problem in report.errors] == [(line, report.errors[0].key_path)]
    assert report.errors[0].key_path.endswith(".sql")
    assert "criterion 'props_collected_today' does not compile on target 'emulator'" in report.errors[0].message
    assert "bp_player_props was not found" in report.errors[0].message
    assert report.round_bytes() == 0


def test_preflight_clean_on_emulator(seeded_emulator, sandbox_workspace: Path, tmp_path: Path):
    path = tmp_path / "incident.yaml"
    path.write_text(with_emulator_target(SHIPPED.read_text(encoding="utf-8"), seeded_emulator.url()))

    report = run_preflight(path, target="emulator", repo=sandbox_workspace)

    assert [str(problem) for problem in report.errors] == []
    assert report.estimates


def test_dry_run_rejects_tampered_delete(emulator, tmp_path: Path, monkeypatch):
    """bqemulator reports each dry run's statement type, so BigQuery's reading stops a DELETE the guard missed."""
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    from coordinator.warehouse import sql_cache
    from coordinator.warehouse.base import WarehouseError
    from coordinator.warehouse.bigquery import BigQueryWarehouse
    from coordinator.warehouse.guard import read_only_problem

    client = bigquery.Client(
        project=emulator.project, credentials=AnonymousCredentials(),
        client_options=ClientOptions(api_endpoint=emulator.endpoint), location="US",
    )
    client.create_dataset(bigquery.Dataset(f"{emulator.project}.guard_check"), exists_ok=True)
    client.query("CREATE TABLE guard_check.kept (x INT64)").result()
    client.query("INSERT INTO guard_check.kept (x) VALUES (1)").result()
    delete = "DELETE FROM guard_check.kept WHERE TRUE"
    cache = tmp_path / "cache" / "sql-cache.json"
    cache.parent.mkdir(mode=0o700)
    cache.write_text(json.dumps({"fingerprint": sql_cache.fingerprint(), "entries": {sql_cache._key("guard", delete): None}}))
    cache.chmod(0o600)
    monkeypatch.setenv("COORD_SQL_CACHE", str(cache))
    sql_cache.reset()
    read_only_problem.cache_clear()
    warehouse = BigQueryWarehouse.from_url(emulator.url(maximum_bytes_billed="1GB"))
    try:
        with pytest.raises(WarehouseError) as raised:
            warehouse.query(delete, {}, label="criterion 'kept'")
        remaining = warehouse.query("SELECT COUNT(*) AS n FROM guard_check.kept", {}, label="count").rows
    finally:
        warehouse.close()
        client.close()
        sql_cache.reset()
        read_only_problem.cache_clear()

    assert str(raised.value) == (
        "criterion 'kept': BigQuery's dry run reports a DELETE statement: criteria and queries only read, "
        "so write one SELECT statement"
    )
    assert remaining == [(1,)]
