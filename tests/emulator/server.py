"""Starting bqemulator on loopback and loading the sandbox tables into it, for the emulator tests and the bench.

bqemulator's pinned packages conflict with this project's, so it runs from its own virtual environment,
whose python the caller passes (the tests read it from COORD_EMULATOR_PYTHON; `.ci/run` creates it). The
server listens on 127.0.0.1 only. This module imports no pytest, so `bench/` can use it too.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

PROJECT = "nba-props-platform"
SERVE = Path(__file__).parent / "serve_emulator.py"
START_TIMEOUT_SECONDS = 120
BIGQUERY_TYPES = {
    "DATE": "DATE",
    "VARCHAR": "STRING",
    "BIGINT": "INT64",
    "INTEGER": "INT64",
    "BOOLEAN": "BOOL",
    "TIMESTAMP": "TIMESTAMP",
    "DOUBLE": "FLOAT64",
}


@dataclass(frozen=True)
class Emulator:
    endpoint: str
    project: str

    def url(self, **options: str) -> str:
        query = "&".join(f"{key}={value}" for key, value in {"location": "US", **options}.items())
        return f"bigquery://{self.project}?{query}&api_endpoint={self.endpoint}"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_serving(process: subprocess.Popen, endpoint: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"bqemulator exited with code {process.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{endpoint}/bigquery/v2/projects/{PROJECT}/datasets", timeout=2) as response:
                json.load(response)
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"bqemulator did not answer within {START_TIMEOUT_SECONDS} s: {log.read_text()[-2000:]}")


@contextmanager
def running_emulator(python: str, folder: Path) -> Iterator[Emulator]:
    """Start bqemulator with `python` (its own environment's), logging to `folder`, and stop it on exit."""
    port, grpc_port = _free_port(), _free_port()
    log = folder / "emulator.log"
    command = [
        python, str(SERVE),
        "--port", str(port),
        "--grpc-port", str(grpc_port),
        "--extension-dir", str(folder / "duckdb-extensions"),
        "--project", PROJECT,
    ]
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(process, endpoint, log)
        yield Emulator(endpoint=endpoint, project=PROJECT)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def load_sandbox_tables(emulator: Emulator, warehouse: Path, folder: Path) -> None:
    """Export each sandbox table to newline-delimited JSON and load it with `load_table_from_file`.

    DuckDB DECIMAL columns become NUMERIC. `load_table_from_json` fails on bqemulator 1.4, files work.
    """
    import duckdb
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    client = bigquery.Client(
        project=emulator.project,
        credentials=AnonymousCredentials(),
        client_options=ClientOptions(api_endpoint=emulator.endpoint),
        location="US",
    )
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = connection.execute("SELECT schema_name, table_name FROM duckdb_tables() ORDER BY 1, 2").fetchall()
        for dataset in sorted({schema for schema, _ in tables}):
            client.create_dataset(bigquery.Dataset(f"{emulator.project}.{dataset}"), exists_ok=True)
        for dataset, table in tables:
            columns = connection.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                [dataset, table],
            ).fetchall()
            schema = [
                bigquery.SchemaField(name, "NUMERIC" if kind.startswith("DECIMAL") else BIGQUERY_TYPES[kind])
                for name, kind in columns
            ]
            reference = f"{emulator.project}.{dataset}.{table}"
            client.create_table(bigquery.Table(reference, schema=schema), exists_ok=True)
            path = folder / f"{dataset}.{table}.json"
            connection.execute(f"COPY (SELECT * FROM {dataset}.{table}) TO '{path}' (FORMAT json)")
            if path.stat().st_size == 0:
                continue
            config = bigquery.LoadJobConfig(
                schema=schema, source_format="NEWLINE_DELIMITED_JSON", write_disposition="WRITE_TRUNCATE"
            )
            with path.open("rb") as handle:
                client.load_table_from_file(handle, reference, job_config=config).result(timeout=120)
    finally:
        connection.close()
        client.close()


def with_emulator_target(text: str, url: str) -> str:
    """Return the incident text with an `emulator` target that reads the sandbox clock from the emulator."""
    target = f'  emulator:\n    warehouse: "{url}"\n    clock: {{sql: "SELECT now FROM sandbox.clock"}}\n'
    assert text.count("\ntargets:\n") == 1
    return text.replace("\ntargets:\n", "\ntargets:\n" + target, 1)
