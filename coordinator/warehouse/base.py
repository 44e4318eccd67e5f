"""The Warehouse protocol and opening a warehouse from a target's URL."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlparse

from coordinator.errors import CoordinatorError
from coordinator.spec.params import TypedValue


class WarehouseError(CoordinatorError):
    """A query that could not run: it does not compile, a table is missing, the warehouse is unreachable."""


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    bytes_processed: int | None = None
    bytes_billed: int | None = None

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row)) for row in self.rows]


class Warehouse(Protocol):
    url: str

    def query(self, sql: str, params: dict[str, TypedValue], *, label: str) -> QueryResult:
        """Run one read-only BigQuery-dialect query with `@name` parameters bound from `params`."""

    def close(self) -> None: ...


def open_warehouse(url: str, *, root: Path) -> Warehouse:
    """Open the warehouse a target names; relative DuckDB paths are relative to `root`."""
    parsed = urlparse(url)
    if parsed.scheme == "duckdb":
        from coordinator.warehouse.duckdb import DuckDBWarehouse

        if not url.startswith("duckdb:///"):
            raise WarehouseError(f"invalid DuckDB URL {url!r}: write duckdb:///RELATIVE/PATH or duckdb:////ABSOLUTE/PATH")
        # As in SQLAlchemy URLs, three slashes start a relative path and four an absolute one.
        path = Path(url[len("duckdb:///") :])
        if not path.is_absolute():
            path = root / path
        return DuckDBWarehouse(path, url=url)
    if parsed.scheme == "bigquery":
        options = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
        raise WarehouseError(
            f"{url}: the BigQuery backend is not available in this version; "
            f"use a duckdb:// target (project {parsed.netloc!r}, options {options})"
        )
    raise WarehouseError(f"unknown warehouse URL {url!r}: use duckdb:///PATH or bigquery://PROJECT")
