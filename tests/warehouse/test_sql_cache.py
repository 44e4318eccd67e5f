"""The SQL cache: a round whose queries are cached gives the same results and runs no sqlglot."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from coordinator.criteria.round import check_round
from coordinator.warehouse import sql_cache
from coordinator.warehouse.duckdb import transpile
from coordinator.warehouse.guard import read_only_problem

PROJECT = Path(__file__).resolve().parents[2]
CRITERION_SQL = "SELECT COUNT(*) AS n FROM `demo-project.raw.events` WHERE game_date = @game_date"

# A round in a fresh process; prints the measured values and whether sqlglot was imported.
ROUND_SCRIPT = """
import json, sys
from pathlib import Path
from coordinator.board.store import Board
from coordinator.criteria.round import check_round
from coordinator.spec import load_incident
from coordinator.target import TargetContext

folder = Path(sys.argv[1])
incident = load_incident(folder / "incident.yaml")
context = TargetContext(incident=incident, target="local", repo=folder)
evaluations = check_round(incident, context, Board.for_repo(folder))
print(json.dumps({"values": {e.criterion_id: e.value for e in evaluations}, "details": {e.criterion_id: e.detail for e in evaluations}, "sqlglot": "sqlglot" in sys.modules}))
"""


@pytest.fixture
def cache_file(tmp_path, monkeypatch) -> Path:
    """A cache file of this test's own, with the in-process caches emptied before and after."""
    path = tmp_path / "cache" / "sql-cache.json"
    monkeypatch.setenv("COORD_SQL_CACHE", str(path))
    _forget()
    yield path
    _forget()


def _forget() -> None:
    sql_cache.reset()
    transpile.cache_clear()
    read_only_problem.cache_clear()


def run_round(folder: Path) -> dict:
    completed = subprocess.run(
        [sys.executable, "-c", ROUND_SCRIPT, str(folder)], capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def stored_entries(path: Path) -> dict:
    return json.loads(path.read_text())["entries"]


def test_round_stores_transpilation_and_verdict(small, cache_file):
    incident, context, board, _ = small

    check_round(incident, context, board)
    sql_cache.shared().flush()

    kinds = sorted(key.split(":")[0] for key in stored_entries(cache_file))
    assert "duckdb" in kinds
    assert "guard" in kinds


def test_second_round_uses_cache_without_sqlglot(small, cache_file):
    folder = small[3].parent

    first = run_round(folder)
    entries_after_first = stored_entries(cache_file)
    second = run_round(folder)

    assert first["sqlglot"] is True
    assert second["sqlglot"] is False
    assert second["values"] == first["values"]
    assert stored_entries(cache_file) == entries_after_first


def test_cached_transpilation_is_what_runs(small, cache_file):
    folder = small[3].parent
    run_round(folder)
    document = json.loads(cache_file.read_text())
    for key in document["entries"]:
        if key.startswith("duckdb:"):
            document["entries"][key] = ["SELECT 42 AS n", []]
    cache_file.write_text(json.dumps(document))

    measured = run_round(folder)

    assert measured["values"]["rows-loaded"] == 42, measured["details"]


def test_cache_of_other_sqlglot_is_ignored(cache_file):
    cache_file.parent.mkdir(parents=True)
    cache_file.write_text(json.dumps({"fingerprint": "another release", "entries": {"guard:x": "stale"}}))

    assert sql_cache.shared().entries() == {}


def test_guard_verdict_cached_for_rejected_sql(cache_file):
    verdict = read_only_problem("DELETE FROM raw.events WHERE TRUE")
    sql_cache.shared().flush()
    _forget()

    cached = read_only_problem("DELETE FROM raw.events WHERE TRUE")

    assert verdict == "DELETE is not allowed"
    assert cached == verdict
    assert list(stored_entries(cache_file).values()) == [verdict]


def test_cache_off_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("COORD_SQL_CACHE", "off")
    _forget()

    sql, names = transpile(CRITERION_SQL)
    sql_cache.shared().flush()

    assert names == ("game_date",)
    assert sql_cache.shared().path is None
    assert sql_cache.shared().entries() == {}
    _forget()


def test_cache_file_private_to_user(small, cache_file):
    incident, context, board, _ = small

    check_round(incident, context, board)
    sql_cache.shared().flush()

    assert cache_file.stat().st_mode & 0o077 == 0
