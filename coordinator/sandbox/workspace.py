"""Locating a sandbox workspace and opening its warehouse."""

from __future__ import annotations

import csv
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb

from coordinator.sandbox.errors import SandboxError

WAREHOUSE_PATH = Path(".sandbox") / "warehouse.duckdb"
# `coord sandbox init` builds the warehouse under this name and renames it to WAREHOUSE_PATH as its last
# step, so a workspace whose init was killed is not taken for a complete one.
PARTIAL_WAREHOUSE_PATH = Path(".sandbox") / "warehouse.duckdb.partial"
LOCK_TIMEOUT_SECONDS = 10.0
LOCK_RETRY_SECONDS = 0.2


def find_workspace(start: Path | None = None) -> Path:
    """Return the folder holding ``.sandbox/warehouse.duckdb``: ``start`` itself, or else its nearest parent."""
    origin = (start or Path.cwd()).resolve()
    if start is not None:
        if (origin / WAREHOUSE_PATH).is_file():
            return origin
        _reject_incomplete(origin)
        raise SandboxError(f"{origin}: not a sandbox workspace (no {WAREHOUSE_PATH}); run 'coord sandbox init --dir {origin}'")
    for folder in (origin, *origin.parents):
        if (folder / WAREHOUSE_PATH).is_file():
            return folder
        _reject_incomplete(folder)
    raise SandboxError(f"{origin}: no sandbox workspace here or above; pass --dir or run 'coord sandbox init'")


def _reject_incomplete(folder: Path) -> None:
    if (folder / PARTIAL_WAREHOUSE_PATH).exists():
        raise SandboxError(
            f"{folder}: sandbox workspace was not completed (its init stopped); "
            f"run 'coord sandbox init --dir {folder} --force'"
        )


@contextmanager
def open_warehouse(workspace: Path, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the workspace's warehouse for one command, retrying while another process holds the file lock."""
    path = workspace / WAREHOUSE_PATH
    deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as error:
            if "lock" not in str(error).lower() or time.monotonic() > deadline:
                raise SandboxError(
                    f"{path}: warehouse is locked by another process for over {LOCK_TIMEOUT_SECONDS:.0f} s; retry later",
                    exit_code=1,
                ) from error
            time.sleep(LOCK_RETRY_SECONDS)
    try:
        yield con
    finally:
        con.close()


def bulk_insert(con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Insert rows through a temporary CSV file, which DuckDB loads far faster than row-by-row inserts."""
    column_types = {row[0]: row[1] for row in con.execute(f"DESCRIBE {table}").fetchall()}
    with tempfile.TemporaryDirectory(prefix="sandbox-load-") as folder:
        path = Path(folder) / "rows.csv"
        count = 0
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            for row in rows:
                writer.writerow(["" if value is None else value for value in row])
                count += 1
        if count == 0:
            return 0
        types = ", ".join(f"'{name}': '{column_types[name]}'" for name in columns)
        con.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) "
            f"SELECT * FROM read_csv(?, header = true, columns = {{{types}}})",
            [str(path)],
        )
    return count
