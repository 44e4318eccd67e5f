"""A DuckDB warehouse that runs BigQuery-dialect SQL by transpiling it with sqlglot.

`project.dataset.table` names lose their project part and resolve to DuckDB `schema.table`, so a
warehouse file holds one project. Parameters are bound by DuckDB (`$name`), never written into the text.
Sessions run in UTC.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path

from coordinator.spec.params import TypedValue
from coordinator.warehouse.base import QueryResult, WarehouseError
from coordinator.warehouse.guard import read_only_problem

LOCK_RETRY_SECONDS = 15.0


@functools.lru_cache(maxsize=512)
def transpile(sql: str) -> tuple[str, tuple[str, ...]]:
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
    def __init__(self, path: Path, *, url: str) -> None:
        self.path = path
        self.url = url
        self._connection = None

    def _connect(self):
        import duckdb

        if not self.path.exists():
            raise WarehouseError(f"{self.path}: warehouse file not found: run `coord sandbox init` or fix the target's URL")
        deadline = time.monotonic() + LOCK_RETRY_SECONDS
        while True:
            try:
                connection = duckdb.connect(str(self.path), read_only=True)
                break
            except duckdb.IOException as error:
                if "lock" not in str(error).lower() or time.monotonic() > deadline:
                    raise WarehouseError(f"{self.path}: cannot open the warehouse: {error}") from None
                time.sleep(0.2)
        connection.execute("SET TimeZone = 'UTC'")
        return connection

    def query(self, sql: str, params: dict[str, TypedValue], *, label: str) -> QueryResult:
        import duckdb

        problem = read_only_problem(sql)
        if problem is not None:
            raise WarehouseError(f"{label}: {problem} (criteria and queries only read)")
        duckdb_sql, names = transpile(sql)
        missing = [name for name in names if name not in params]
        if missing:
            raise WarehouseError(f"{label}: no value for query parameter @{missing[0]}")

        bound = {name: params[name].value for name in names}
        if self._connection is None:
            self._connection = self._connect()
        try:
            cursor = self._connection.execute(duckdb_sql, bound)
            rows = cursor.fetchall()
        except duckdb.Error as error:
            message = str(error).splitlines()[0]
            raise WarehouseError(f"{label}: {message}") from None
        columns = [description[0] for description in cursor.description or []]
        return QueryResult(columns=columns, rows=[tuple(row) for row in rows])

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
