"""The Warehouse protocol and opening a warehouse from a target's URL."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from coordinator.errors import CoordinatorError
from coordinator.spec.params import TypedValue


class WarehouseError(CoordinatorError):
    """A query that could not run: it does not compile, a table is missing, the warehouse is unreachable."""


class WarehouseUnavailableError(WarehouseError):
    """No query can run on this warehouse: no credentials, or the server cannot be reached."""


@dataclass(frozen=True)
class DryRun:
    """A query compiled without running. `bytes_processed` is the warehouse's estimate, None when it gives none."""

    bytes_processed: int | None = None


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
    # How many queries may run at once from separate threads; 1 means one at a time.
    max_concurrent_queries: int

    def query(
        self, sql: str, params: dict[str, TypedValue], *, label: str, job_labels: dict[str, str] | None = None
    ) -> QueryResult:
        """Run one read-only BigQuery-dialect query with `@name` parameters bound from `params`.

        `job_labels` name the incident and criterion where the warehouse records labels on its jobs.
        """

    def dry_run(self, sql: str, params: dict[str, TypedValue], *, label: str) -> DryRun:
        """Compile the query against the warehouse's tables without running it; raise WarehouseError when it fails."""

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
        from coordinator.warehouse.bigquery import BigQueryWarehouse

        return BigQueryWarehouse.from_url(url)
    raise WarehouseError(f"unknown warehouse URL {url!r}: use duckdb:///PATH or bigquery://PROJECT")
