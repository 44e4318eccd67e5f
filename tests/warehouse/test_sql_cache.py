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


DELETE_SQL = "DELETE FROM raw.events WHERE TRUE"


def write_cache(path: Path, entries: dict, *, mode: int = 0o600) -> None:
    """Write a cache file for this code, as a hand edit would, holding `entries` ({(kind, sql): value})."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    document = {"fingerprint": sql_cache.fingerprint(), "entries": {sql_cache._key(kind, sql): value for (kind, sql), value in entries.items()}}
    path.write_text(json.dumps(document))
    path.chmod(mode)


def add_one_entry() -> None:
    transpile(CRITERION_SQL)
    sql_cache.shared().flush()


def test_notes_file_named_by_variable_is_kept(cache_file):
    cache_file.parent.mkdir(parents=True)
    cache_file.write_text("my notes\n")

    add_one_entry()

    assert cache_file.read_text() == "my notes\n"
    assert transpile(CRITERION_SQL)[1] == ("game_date",)


def test_symlink_cache_path_kept(cache_file, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    cache_file.parent.mkdir(parents=True)
    cache_file.symlink_to(notes)

    add_one_entry()

    assert cache_file.is_symlink()
    assert notes.read_text() == "my notes\n"


def test_fifo_named_by_variable_is_left_alone(cache_file):
    cache_file.parent.mkdir(parents=True)
    os.mkfifo(cache_file)

    add_one_entry()

    assert cache_file.is_fifo()


def test_new_cache_file_created_owner_only(cache_file):
    add_one_entry()

    assert cache_file.stat().st_mode & 0o777 == 0o600
    assert list(cache_file.parent.glob(".sql-cache-*")) == []


def test_tampered_verdict_in_private_cache_is_read(cache_file):
    """The control for the tests below: a cache that passes the checks is trusted as it is."""
    write_cache(cache_file, {("guard", DELETE_SQL): None})

    assert read_only_problem(DELETE_SQL) is None


@pytest.mark.parametrize("mode", [0o620, 0o602, 0o666])
def test_cache_writable_by_others_is_ignored(cache_file, mode):
    write_cache(cache_file, {("guard", DELETE_SQL): None}, mode=mode)

    assert read_only_problem(DELETE_SQL) == "DELETE is not allowed"
    assert sql_cache.shared().entries() == {"guard:" + sql_cache._key("", DELETE_SQL)[1:]: "DELETE is not allowed"}


def test_cache_in_folder_writable_by_others_is_ignored(cache_file):
    write_cache(cache_file, {("guard", DELETE_SQL): None})
    cache_file.parent.chmod(0o777)

    assert read_only_problem(DELETE_SQL) == "DELETE is not allowed"
    sql_cache.shared().flush()
    assert json.loads(cache_file.read_text())["entries"] == {sql_cache._key("guard", DELETE_SQL): None}


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="giving a file to another user needs root")
def test_cache_owned_by_another_user_is_ignored(cache_file):
    write_cache(cache_file, {("guard", DELETE_SQL): None})
    os.chown(cache_file, 65534, 65534)

    assert read_only_problem(DELETE_SQL) == "DELETE is not allowed"


def test_duckdb_rejects_delete_despite_shared_cache(small, cache_file):
    """What a user gets: a criterion whose SQL deletes is rejected, whatever a cache that others can write contains."""
    from coordinator.warehouse.base import WarehouseError
    from coordinator.warehouse.duckdb import DuckDBWarehouse

    write_cache(cache_file, {("guard", DELETE_SQL): None, ("duckdb", DELETE_SQL): [DELETE_SQL, []]}, mode=0o666)
    warehouse = DuckDBWarehouse(small[3].parent / "warehouse.duckdb", url="duckdb:///warehouse.duckdb")
    try:
        with pytest.raises(WarehouseError, match=r"^criterion 'x': DELETE is not allowed"):
            warehouse.query(DELETE_SQL, {}, label="criterion 'x'")
    finally:
        warehouse.close()


def test_relative_path_turns_cache_off(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COORD_SQL_CACHE", "sql-cache.json")
    _forget()
    try:
        add_one_entry()

        assert sql_cache.shared().path is None
        assert list(tmp_path.iterdir()) == []
    finally:
        _forget()


@pytest.mark.parametrize("word", ["off", "OFF", "Off", "none", "None", "0", "false", "FALSE", "no", " off "])
def test_false_words_turn_cache_off(tmp_path, monkeypatch, word):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COORD_SQL_CACHE", word)
    _forget()
    try:
        add_one_entry()

        assert sql_cache.shared().path is None
        assert list(tmp_path.iterdir()) == []
    finally:
        _forget()


def test_deeply_nested_cache_is_ignored(small, cache_file):
    cache_file.parent.mkdir(parents=True, mode=0o700)
    nested = "[" * 100000 + "]" * 100000
    cache_file.write_text(nested)
    cache_file.chmod(0o600)

    measured = run_round(small[3].parent)

    assert measured["details"]["rows-loaded"] == "n = 0, expected > 2"
    assert cache_file.read_text() == nested


# Adds `count` entries of its own and writes them, as a command does at exit.
WRITER_SCRIPT = """
import sys
from coordinator.warehouse import sql_cache
name, count = sys.argv[1], int(sys.argv[2])
for number in range(count):
    sql_cache.shared().put("guard", f"SELECT {number} AS {name}", None)
"""


def test_concurrent_writers_keep_every_entry(cache_file):
    writers, count = 8, 150
    processes = [
        subprocess.Popen([sys.executable, "-c", WRITER_SCRIPT, f"w{writer}", str(count)], env={**os.environ, "PYTHONPATH": str(PROJECT)})
        for writer in range(writers)
    ]
    assert [process.wait(timeout=120) for process in processes] == [0] * writers

    assert len(stored_entries(cache_file)) == writers * count


def test_writer_gives_up_when_lock_stays_taken(cache_file, monkeypatch):
    import fcntl

    monkeypatch.setattr(sql_cache, "LOCK_TIMEOUT_SECONDS", 0.2)
    cache_file.parent.mkdir(parents=True, mode=0o700)
    lock = open(cache_file.parent / (cache_file.name + ".lock"), "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        add_one_entry()
        assert not cache_file.exists()
    finally:
        lock.close()

    sql_cache.shared().flush()
    assert len(stored_entries(cache_file)) == 1
