import datetime as dt

import pytest

from coordinator.spec.params import TypedValue
from coordinator.warehouse.base import WarehouseError
from coordinator.warehouse.duckdb import DuckDBWarehouse, transpile
from coordinator.warehouse.guard import read_only_problem
from tests.conftest import make_warehouse


def test_transpile_drops_project_and_binds_parameters():
    sql, names = transpile("SELECT COUNTIF(n > 0) AS c FROM `p-1.raw.events` WHERE game_date = @game_date")

    assert '"p-1"' not in sql
    assert "raw.events" in sql.replace('"', "")
    assert "$game_date" in sql
    assert names == ("game_date",)


def test_query_binds_date_parameter(tmp_path):
    warehouse = DuckDBWarehouse(make_warehouse(tmp_path), url="duckdb:///warehouse.duckdb")
    params = {"d": TypedValue(dt.date(2026, 1, 26), "DATE")}

    result = warehouse.query("SELECT COUNT(*) AS n FROM `x.raw.events` WHERE game_date = @d", params, label="test")

    assert result.columns == ["n"]
    assert result.rows == [(1,)]
    warehouse.close()


def test_parameter_value_is_never_spliced(tmp_path):
    warehouse = DuckDBWarehouse(make_warehouse(tmp_path), url="duckdb:///warehouse.duckdb")
    hostile = {"d": TypedValue("2026-01-26' OR 1=1 --", "STRING")}

    with pytest.raises(WarehouseError):
        warehouse.query("SELECT COUNT(*) AS n FROM raw.events WHERE game_date = @d", hostile, label="test")
    warehouse.close()


def test_query_names_missing_table_with_label(tmp_path):
    warehouse = DuckDBWarehouse(make_warehouse(tmp_path), url="duckdb:///warehouse.duckdb")

    with pytest.raises(WarehouseError) as error:
        warehouse.query("SELECT 1 AS x FROM raw.bp_player_props", {}, label="criterion 'props'")

    assert "criterion 'props'" in str(error.value)
    assert "bp_player_props" in str(error.value)
    warehouse.close()


def test_writes_are_refused_before_running(tmp_path):
    path = make_warehouse(tmp_path)
    warehouse = DuckDBWarehouse(path, url="duckdb:///warehouse.duckdb")

    with pytest.raises(WarehouseError) as error:
        warehouse.query("DELETE FROM raw.events WHERE TRUE", {}, label="criterion 'wipe'")

    assert "DELETE is not allowed" in str(error.value)
    assert warehouse.query("SELECT COUNT(*) AS n FROM raw.events", {}, label="t").rows == [(1,)]
    warehouse.close()


@pytest.mark.parametrize(
    "sql, expected",
    [
        ("SELECT 1", None),
        ("WITH a AS (SELECT 1 AS x) SELECT x FROM a", None),
        ("DELETE FROM t WHERE TRUE", "DELETE is not allowed"),
        ("INSERT INTO t VALUES (1)", "INSERT is not allowed"),
        ("SELECT 1; SELECT 2", "only one query is allowed"),
        ("DROP TABLE t", "DROP is not allowed"),
        ("SELEC 1 FROM", "does not parse"),
        ("INSTALL httpfs", "INSTALL is not allowed"),
        ("SELECT 1 AS n INTO newtable", "INTO is not allowed"),
        ("SELECT * FROM read_text('/etc/hostname')", "function read_text"),
        ("SELECT * FROM query('SELECT 1')", "function query"),
        ("SELECT d FROM UNNEST(GENERATE_DATE_ARRAY(@a, @b)) AS d", None),
    ],
)
def test_read_only_guard(sql, expected):
    problem = read_only_problem(sql)
    if expected is None:
        assert problem is None
    else:
        assert problem is not None and expected in problem


def test_missing_warehouse_file_is_clear(tmp_path):
    warehouse = DuckDBWarehouse(tmp_path / "absent.duckdb", url="duckdb:///absent.duckdb")

    with pytest.raises(WarehouseError) as error:
        warehouse.query("SELECT 1 AS x", {}, label="t")

    assert "warehouse file not found" in str(error.value)


def test_session_cannot_read_local_files(tmp_path):
    import duckdb

    from coordinator.warehouse.duckdb import SESSION_CONFIG

    path = make_warehouse(tmp_path)
    (tmp_path / "secret.txt").write_text("s3cret", encoding="utf-8")
    connection = duckdb.connect(str(path), read_only=True, config=SESSION_CONFIG)
    connection.execute("SET lock_configuration = true")

    with pytest.raises(duckdb.Error) as error:
        connection.execute(f"SELECT content FROM read_text('{tmp_path / 'secret.txt'}')").fetchall()

    assert "disabled by configuration" in str(error.value)
    with pytest.raises(duckdb.Error):
        connection.execute("SET enable_external_access = true")
    connection.close()


def test_threads_query_concurrently(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    warehouse = DuckDBWarehouse(make_warehouse(tmp_path), url="duckdb:///warehouse.duckdb")

    def count_since(day: int) -> list:
        params = {"d": TypedValue(dt.date(2026, 1, day), "DATE")}
        return warehouse.query("SELECT COUNT(*) AS n FROM raw.events WHERE game_date >= @d", params, label="test").rows

    with ThreadPoolExecutor(max_workers=warehouse.max_concurrent_queries) as pool:
        counts = list(pool.map(count_since, [26, 27] * 4))
    warehouse.close()

    assert counts == [[(1,)], [(0,)]] * 4


def test_every_thread_queries_in_utc(tmp_path):
    import os
    import subprocess
    import sys

    make_warehouse(tmp_path)
    script = (
        "import sys, threading\n"
        "from pathlib import Path\n"
        "from coordinator.warehouse.duckdb import DuckDBWarehouse\n"
        "warehouse = DuckDBWarehouse(Path(sys.argv[1]), url='duckdb:///warehouse.duckdb')\n"
        "zones = []\n"
        "ask = lambda: zones.append(warehouse.query(\"SELECT current_setting('TimeZone') AS tz\", {}, label='t').rows[0][0])\n"
        "ask()\n"
        "thread = threading.Thread(target=ask)\n"
        "thread.start(); thread.join()\n"
        "print(','.join(zones))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "warehouse.duckdb")], capture_output=True, text=True,
        env={**os.environ, "TZ": "America/New_York"}, timeout=60,
    )

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "UTC,UTC"
