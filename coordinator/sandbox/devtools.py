"""The dev role's actions: code patches committed to the workspace, schema migrations, table descriptions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from coordinator.sandbox import clock, repo, services
from coordinator.sandbox.errors import SandboxError
from coordinator.sandbox.workspace import open_warehouse

PATCH_MINUTES = 2
MIGRATION_MINUTES = 1

LOAD_JOB_FLUSH = '''        from google.cloud import bigquery

        job_config = bigquery.LoadJobConfig(write_disposition="WRITE_APPEND")
        job = self.client.load_table_from_json(records, self.table_ref, job_config=job_config)
        job.result()
        logger.info("flushed %d rows to %s with a load job", len(records), self.table_ref)
'''
STREAMING_FLUSH = '''        # Streaming inserts do not count against the load-job and partition-modification quotas.
        errors = self.client.insert_rows_json(self.table_ref, records)
        if errors:
            logger.error("streaming insert into %s failed: %s", self.table_ref, errors)
            return
        logger.info("flushed %d rows to %s with a streaming insert", len(records), self.table_ref)
'''
WRITER_IMPORT = "from shared.utils.bigquery_batch_writer import BigQueryBatchWriter\n"
GATE_IMPORT = "from shared.validation.processing_gate import GateStatus, ProcessingBlockedError, ProcessingGate\n"
PLAIN_PROCESS_BODY = '''        records = self.transform(self.extract())
        self.load(records)
'''
GATED_PROCESS_BODY = '''        result = self.processing_gate.check_can_process(
            processor_name=self.__class__.__name__,
            game_date=self.game_date,
            entity_ids=self.get_players(),
            window_size=10,
        )
        if result.status == GateStatus.FAIL:
            raise ProcessingBlockedError(result.message)
        if result.status == GateStatus.WAIT:
            logger.info("data not ready, will retry: %s", result.message)
            return 0

        records = self.transform(self.extract())
        for record in records:
            record.update(result.quality_metadata)
        self.load(records)
'''
RUN_HISTORY_INIT = '''        self.run_history = BigQueryBatchWriter(project_id, "nba_orchestration", "processor_run_history")
'''
GATE_INIT = '''        self.processing_gate = ProcessingGate(bq_client, project_id)
'''
TABLE_ATTRIBUTE = '''    table = "nba_analytics.player_game_summary"
'''
DEPENDENCY_ATTRIBUTE = '''    # Team stats feed usage_rate, so they must be written before this processor runs.
    HARD_DEPENDENCIES = ['team_offense_game_summary']
'''
DEPENDENCY_CHECK = '''    def check_dependencies(self):
        for dependency in self.HARD_DEPENDENCIES:
            rows = list(self.bq_client.query(
                f"SELECT COUNT(*) AS n FROM nba_analytics.{dependency} WHERE game_date = @game_date"
            ))
            if not rows or rows[0]["n"] == 0:
                raise DependencyNotReadyError(f"{dependency} not ready for {self.game_date}")

'''
DEPENDENCY_ERROR = '''

class DependencyNotReadyError(RuntimeError):
    """Raised when a hard dependency has no rows for the game date yet."""
'''


@dataclass
class PatchResult:
    name: str
    path: str
    commit: str | None

    def line(self) -> str:
        if self.commit is None:
            return f"{self.name}: already applied to {self.path}; nothing committed"
        return f"{self.name}: committed {self.path} as {self.commit[:8]}"


def replace_once(text: str, old: str, new: str, *, patch: str, path: str) -> str:
    if old not in text:
        raise SandboxError(f"{path}: patch {patch} cannot find the code it changes; edit the file by hand", exit_code=1)
    return text.replace(old, new, 1)


def streaming_inserts(text: str, path: str) -> str | None:
    if services.batch_writer_kind(text) == "streaming":
        return None
    return replace_once(text, LOAD_JOB_FLUSH, STREAMING_FLUSH, patch="streaming-inserts", path=path)


def processing_gate(text: str, path: str) -> str | None:
    if services.uses_processing_gate(text):
        return None
    text = replace_once(text, WRITER_IMPORT, WRITER_IMPORT + GATE_IMPORT, patch="processing-gate", path=path)
    text = replace_once(text, RUN_HISTORY_INIT, RUN_HISTORY_INIT + GATE_INIT, patch="processing-gate", path=path)
    return replace_once(text, PLAIN_PROCESS_BODY, GATED_PROCESS_BODY, patch="processing-gate", path=path)


def processing_order(text: str, path: str) -> str | None:
    if services.hard_dependencies(text):
        return None
    text = replace_once(text, TABLE_ATTRIBUTE, TABLE_ATTRIBUTE + DEPENDENCY_ATTRIBUTE, patch="processing-order", path=path)
    text = replace_once(text, "    def process(self):\n", DEPENDENCY_CHECK + "    def process(self):\n        self.check_dependencies()\n",
                        patch="processing-order", path=path)
    return replace_once(text, "\n\nclass PlayerGameSummaryProcessor:", DEPENDENCY_ERROR + "\n\nclass PlayerGameSummaryProcessor:",
                        patch="processing-order", path=path)


PATCHES = {
    "streaming-inserts": (services.BATCH_WRITER_PATH, streaming_inserts, "Switch BigQueryBatchWriter to streaming inserts"),
    "processing-gate": (services.PHASE3_PROCESSOR_PATH, processing_gate, "Integrate ProcessingGate into PlayerGameSummaryProcessor"),
    "processing-order": (services.PHASE3_PROCESSOR_PATH, processing_order, "Require team_offense_game_summary before player_game_summary"),
}


def apply_patch(workspace: Path, name: str) -> PatchResult:
    """Apply one of the dev role's code changes to the workspace and commit it as the dev author."""
    if name not in PATCHES:
        raise SandboxError(f"unknown patch '{name}'; known patches: {', '.join(PATCHES)}")
    path, change, message = PATCHES[name]
    source = workspace / path
    if not source.is_file():
        raise SandboxError(f"{source}: file not found; patch {name} needs it", exit_code=1)
    patched = change(source.read_text(), path)
    with open_warehouse(workspace) as con:
        if patched is None:
            clock.write_log(con, f"patch {name}: already applied", source="dev")
            return PatchResult(name, path, None)
        moment = clock.advance_clock(con, PATCH_MINUTES)
        sha = repo.commit_file(workspace, path, patched, message, moment)
        clock.write_log(con, f"patch {name}: committed {path} as {sha[:8]}", source="dev")
        return PatchResult(name, path, sha)


BIGQUERY_TYPES = {"STRING": "VARCHAR", "FLOAT64": "DOUBLE", "INT64": "BIGINT", "BOOL": "BOOLEAN", "NUMERIC": "DECIMAL(38,9)"}


def to_duckdb(statement: str) -> str:
    """Rewrite a BigQuery DDL statement for DuckDB: drop the project part and map BigQuery type names."""
    statement = re.sub(r"`(?:[\w-]+\.)?(\w+\.\w+)`", r"\1", statement)
    statement = re.sub(r"\bnba-props-platform\.", "", statement)
    for bigquery_type, duckdb_type in BIGQUERY_TYPES.items():
        statement = re.sub(rf"\b{bigquery_type}\b", duckdb_type, statement)
    return statement


def split_statements(sql: str) -> list[str]:
    without_comments = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    return [statement.strip() for statement in without_comments.split(";") if statement.strip()]


def apply_migration(workspace: Path, file: Path) -> list[str]:
    """Run a BigQuery DDL migration file against the warehouse; return the statements run, as DuckDB SQL."""
    path = (file if file.is_absolute() else workspace / file).resolve()
    if not path.is_relative_to(workspace.resolve()):
        raise SandboxError(f"{file}: a migration file must be inside the workspace {workspace}")
    if not path.is_file():
        raise SandboxError(f"{path}: migration file not found")
    statements = [to_duckdb(statement) for statement in split_statements(path.read_text())]
    with open_warehouse(workspace) as con:
        for statement in statements:
            try:
                con.execute(statement)
            except Exception as error:  # duckdb raises several unrelated error classes for bad DDL
                raise SandboxError(f"{path}: statement failed: {statement[:80]}: {error}".splitlines()[0], exit_code=1) from error
        clock.advance_clock(con, MIGRATION_MINUTES)
        clock.write_log(con, f"migration {path.name}: {len(statements)} statements applied", source="dev")
    return statements


def table_name(text: str) -> str:
    """Return ``dataset.table`` from a name that may carry backticks and the project part."""
    name = text.strip().strip("`")
    parts = name.split(".")
    if len(parts) == 3:
        parts = parts[1:]
    if len(parts) != 2 or not all(re.fullmatch(r"\w+", part) for part in parts):
        raise SandboxError(f"invalid table name '{text}'; use dataset.table, e.g. nba_analytics.player_game_summary")
    return ".".join(parts)


def describe_table(workspace: Path, table: str) -> list[tuple[str, str]]:
    """Return the (column, type) pairs of a warehouse table."""
    name = table_name(table)
    schema_name, bare = name.split(".")
    with open_warehouse(workspace, read_only=True) as con:
        columns = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [schema_name, bare],
        ).fetchall()
    if not columns:
        raise SandboxError(f"table {name} not found in the sandbox warehouse")
    return columns
