"""A DuckDB warehouse that runs BigQuery-dialect SQL by transpiling it with sqlglot.

`project.dataset.table` names lose their project part and resolve to DuckDB `schema.table`, so a
warehouse file contains one project. Parameters are bound by DuckDB (`$name`), never written into the text.
Sessions run in UTC.
"""

from __future__ import annotations

import functools
import threading
import time
from pathlib import Path

from coordinator.spec.params import TypedValue
from coordinator.warehouse.base import DryRun, QueryResult, WarehouseError, WarehouseUnavailableError
from coordinator.warehouse.guard import read_only_problem

LOCK_RETRY_SECONDS = 15.0

# Criteria and queries come from incident files, so a session reads only the warehouse itself: no local
# files, no URLs, no extension downloads, and no SET that could turn these back on.
SESSION_CONFIG = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}


@functools.lru_cache(maxsize=512)
def transpile(sql: str) -> tuple[str, tuple[str, ...]]:
    """Return `sql` (BigQuery dialect) as DuckDB SQL, and the names of its `@name` parameters.

    The result is kept in the SQL cache, so a query transpiled once is not parsed again by a later process.
    """
    from coordinator.warehouse import sql_cache

    cache = sql_cache.shared()
    cached = cache.get("duckdb", sql)
    if _is_transpiled(cached):
        return cached[0], tuple(cached[1])
    duckdb_sql, names = _transpile_with_sqlglot(sql)
    cache.put("duckdb", sql, [duckdb_sql, list(names)])
    return duckdb_sql, names


def _is_transpiled(cached: object) -> bool:
    return (
        isinstance(cached, list)
        and len(cached) == 2
        and isinstance(cached[0], str)
        and isinstance(cached[1], list)
        and all(isinstance(name, str) for name in cached[1])
    )


def _transpile_with_sqlglot(sql: str) -> tuple[str, tuple[str, ...]]:
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        statement = sqlglot.parse_one(sql, read="bigquery")
    except SqlglotError as error:
        raise WarehouseError(f"SQL does not parse as BigQuery: {error}") from None

    for table in statement.find_all(exp.Table):
        if table.args.get("catalog") is not None:
            table.set("catalog", None)

    names = sorted({parameter.name for parameter in statement.find_all(exp.Parameter)})
    return statement.sql(dialect="duckdb"), tuple(names)


class DuckDBWarehouse:
    # Each thread queries through its own cursor of one read-only connection, and DuckDB runs the cursors'
    # queries in parallel. Beyond a few at once they only queue for the same cores.
    max_concurrent_queries = 4

    def __init__(self, path: Path, *, url: str) -> None:
        self.path = path
        self.url = url
        self._connection = None
        self._cursors: dict[int, object] = {}
        self._lock = threading.Lock()

    def _connect(self):
        import duckdb

        if not self.path.exists():
            raise WarehouseUnavailableError(
                f"{self.path}: warehouse file not found: run `coord sandbox init` or fix the target's URL"
            )
        deadline = time.monotonic() + LOCK_RETRY_SECONDS
        while True:
            try:
                connection = duckdb.connect(str(self.path), read_only=True, config=SESSION_CONFIG)
                break
            except duckdb.IOException as error:
                if "lock" not in str(error).lower() or time.monotonic() > deadline:
                    first_line = str(error).splitlines()[0]
                    raise WarehouseError(f"{self.path}: cannot open the warehouse: {first_line}") from None
                time.sleep(0.2)
            except duckdb.Error as error:
                first_line = str(error).splitlines()[0]
                raise WarehouseError(f"{self.path}: not a DuckDB warehouse: {first_line}") from None
        # GLOBAL, so that the cursors, which are sessions of their own, run in UTC too.
        connection.execute("SET GLOBAL TimeZone = 'UTC'")
        connection.execute("SET lock_configuration = true")
        return connection

    def _cursor(self):
        """Return this thread's cursor, opening the connection on first use."""
        thread = threading.get_ident()
        with self._lock:
            if self._connection is None:
                self._connection = self._connect()
            cursor = self._cursors.get(thread)
            if cursor is None:
                cursor = self._connection.cursor()
                self._cursors[thread] = cursor
            return cursor

    def query(
        self, sql: str, params: dict[str, TypedValue], *, label: str, job_labels: dict[str, str] | None = None
    ) -> QueryResult:
        import duckdb

        duckdb_sql, bound = self._prepare(sql, params, label=label)
        cursor = self._cursor()
        try:
            cursor.execute(duckdb_sql, bound)
            rows = cursor.fetchall()
        except duckdb.Error as error:
            message = str(error).splitlines()[0]
            raise WarehouseError(f"{label}: {message}") from None
        columns = [description[0] for description in cursor.description or []]
        return QueryResult(columns=columns, rows=[tuple(row) for row in rows])

    def dry_run(self, sql: str, params: dict[str, TypedValue], *, label: str) -> DryRun:
        """Plan the query with EXPLAIN, which binds every table and column without reading rows.

        DuckDB gives no estimate of the bytes a query reads, so `bytes_processed` is None.
        """
        import duckdb

        duckdb_sql, bound = self._prepare(sql, params, label=label)
        cursor = self._cursor()
        try:
            cursor.execute(f"EXPLAIN {duckdb_sql}", bound).fetchall()
        except duckdb.Error as error:
            raise WarehouseError(f"{label}: {_message(error)}") from None
        return DryRun(bytes_processed=None)

    def _prepare(self, sql: str, params: dict[str, TypedValue], *, label: str) -> tuple[str, dict[str, object]]:
        problem = read_only_problem(sql)
        if problem is not None:
            raise WarehouseError(f"{label}: {problem} (criteria and queries only read)")
        duckdb_sql, names = transpile(sql)
        missing = [name for name in names if name not in params]
        if missing:
            raise WarehouseError(f"{label}: no value for query parameter @{missing[0]}")
        return duckdb_sql, {name: params[name].value for name in names}

    def interrupt(self) -> None:
        """Interrupt the query each thread's cursor runs, from any thread; each fails with WarehouseError."""
        with self._lock:
            for cursor in self._cursors.values():
                cursor.interrupt()

    def close(self) -> None:
        with self._lock:
            for cursor in self._cursors.values():
                cursor.close()
            self._cursors.clear()
            if self._connection is not None:
                self._connection.close()
                self._connection = None


def _message(error: Exception) -> str:
    """Return DuckDB's message without the LINE excerpt, which quotes the transpiled SQL, not the incident's.

    The hint that follows a catalog or binder error (`Did you mean ...`, candidate columns) is kept.
    """
    lines = []
    for line in str(error).splitlines():
        if line.startswith("LINE "):
            break
        if line.strip():
            lines.append(line.strip())
    return " ".join(lines)
