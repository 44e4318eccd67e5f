"""BigQuery bytes: what one check round of the shipped incident would scan, on bqemulator and by computation.

The sandbox's seeded tables are loaded into bqemulator on 127.0.0.1 (the emulator tests' own machinery,
`tests/emulator/server.py`), and the shipped incident gets an `emulator` target. Per SQL criterion the bench
reports three figures. The first is the estimate of `coord preflight --target emulator` (a dry run), and the
second the bytes the emulator reported for the query of one `coord check` round. The third is the bytes of
the columns the query reads, computed from the sandbox's tables with BigQuery's sizes per value, both
without partition pruning and over the partitions the criterion's WHERE predicates select. It also lists
the criteria without a partition filter, by the same check `coord preflight` warns with.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from bench.harness import REPOSITORY, BenchContext, BenchError, Count, Section, run_command

SHIPPED = REPOSITORY / "playbooks" / "nba" / "2026-01-27-pipeline-recovery.yaml"
DEFAULT_EMULATOR_VENV = Path.home() / ".cache" / "coord-bqemulator"
EMULATOR_MODULES = "import bqemulator, duckdb_extension_spatial, numpy"
# The lines of .ci/run that create the emulator's environment.
CREATE_VENV = (
    'python3 -m uv venv "$HOME/.cache/coord-bqemulator" && '
    'python3 -m uv pip install --python "$HOME/.cache/coord-bqemulator/bin/python" '
    '"bqemulator==1.4.0" "duckdb==1.5.5" "duckdb-extension-spatial==1.5.5" numpy'
)
# Bytes per non-NULL value by BigQuery type, for DuckDB's types of the sandbox tables. STRING is 2 bytes plus
# its UTF-8 length. NOTE: taken from BigQuery's on-demand pricing page ("data size calculation") as
# remembered, not re-read for this bench; NULL values are counted as 0 bytes.
FIXED_SIZES = {"BIGINT": 8, "INTEGER": 8, "DOUBLE": 8, "DATE": 8, "TIMESTAMP": 8, "BOOLEAN": 1}
NUMERIC_SIZE = 16


def run(context: BenchContext) -> Section:
    section = Section(title="BigQuery bytes: one check round of the shipped incident on the emulator target")
    python = emulator_python()
    if python is None:
        section.notes.append(
            "Not measured: no BigQuery emulator environment with bqemulator was found (COORD_EMULATOR_PYTHON is "
            f"{os.environ.get('COORD_EMULATOR_PYTHON') or 'unset'}, and {DEFAULT_EMULATOR_VENV} has none). Create it as "
            f".ci/run does, then run the bench again: `{CREATE_VENV}`."
        )
        return section

    from tests.emulator.server import load_sandbox_tables, running_emulator, with_emulator_target

    folder = context.scratch / "bigquery-bytes"
    workspace = folder / "workspace"
    export = folder / "export"
    export.mkdir(parents=True, exist_ok=True)
    run_command([*context.coord, "sandbox", "init", "--dir", str(workspace)])
    warehouse = workspace / ".sandbox" / "warehouse.duckdb"
    incident_file = folder / "incident.yaml"

    with running_emulator(python, folder) as emulator:
        load_sandbox_tables(emulator, warehouse, export)
        incident_file.write_text(with_emulator_target(SHIPPED.read_text(encoding="utf-8"), emulator.url(timeout="60")))
        preflight = _json(run_command(
            [*context.coord, "preflight", str(incident_file), "--target", "emulator", "--json"], cwd=workspace, accept=(0, 2)
        ))
        check = _json(run_command(
            [*context.coord, "check", str(incident_file), "--target", "emulator", "--json"], cwd=workspace, accept=(0, 1, 2)
        ))

    rows = criterion_rows(incident_file, warehouse, preflight, check)
    section.table = rows
    section.counts += _counts(rows)
    section.notes += _notes(rows)
    return section


def emulator_python() -> str | None:
    """Return the emulator environment's python (COORD_EMULATOR_PYTHON, else .ci/run's folder), or None."""
    configured = os.environ.get("COORD_EMULATOR_PYTHON")
    candidate = configured or str(DEFAULT_EMULATOR_VENV / "bin" / "python")
    if not Path(candidate).exists():
        return None
    probe = run_command([candidate, "-c", EMULATOR_MODULES], accept=(0, 1))
    return candidate if probe.returncode == 0 else None


def _json(completed) -> dict:
    try:
        return json.loads(completed.stdout)
    except json.JSONDecodeError:
        raise BenchError(f"expected JSON from coord, got: {completed.stdout[:200]!r} {completed.stderr[-300:]!r}") from None


# What each criterion reads

def criterion_rows(incident_file: Path, warehouse: Path, preflight: dict, check: dict) -> list[dict[str, Any]]:
    """Return one row per SQL criterion: estimates, emulator bytes, computed bytes and partition filters."""
    import duckdb

    from coordinator.preflight.partitions import unfiltered_tables
    from coordinator.spec import load_incident

    incident = load_incident(incident_file)
    estimates = {entry["id"]: entry["bytes_processed"] for entry in preflight["estimates"]["criteria"]}
    measured = {entry["id"]: entry for entry in check.get("criteria", [])}
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        schema = _schema(connection)
        # The sandbox's own clock is the `@now` its criteria are measured at.
        now = connection.execute("SELECT now FROM sandbox.clock").fetchone()[0]
        rows = []
        for criterion in incident.criteria:
            if criterion.sql is None:
                continue
            reads = columns_read(criterion.sql, schema)
            full, pruned = _scanned_bytes(connection, incident, criterion, reads, schema, now)
            rows.append({
                "criterion": criterion.id,
                "role": criterion.role or "",
                "preflight estimate (emulator)": estimates.get(criterion.id),
                "check round bytes (emulator)": measured.get(criterion.id, {}).get("bytes_processed"),
                "columns read": "; ".join(f"{table}({', '.join(sorted(columns)) or '-'})" for table, columns in sorted(reads.items())),
                "column bytes, full scan": full,
                "column bytes, partitions selected": pruned,
                "no partition filter on": ", ".join(unfiltered_tables(criterion.sql, incident.partitions)) or "-",
            })
        return rows
    finally:
        connection.close()


def _schema(connection) -> dict[str, dict[str, str]]:
    """Return {dataset.table: {column: DuckDB type}} of the sandbox warehouse."""
    schema: dict[str, dict[str, str]] = {}
    for dataset, table, column, kind in connection.execute(
        "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
        "ORDER BY table_schema, table_name, ordinal_position"
    ).fetchall():
        schema.setdefault(f"{dataset}.{table}", {})[column] = kind
    return schema


def columns_read(sql: str, schema: dict[str, dict[str, str]]) -> dict[str, set[str]]:
    """Return {dataset.table: columns} that `sql` reads, by qualifying its columns with sqlglot."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.optimizer.qualify import qualify
    from sqlglot.optimizer.scope import traverse_scope

    from coordinator.preflight.partitions import PLACEHOLDER

    nested: dict = {"project": {}}
    for name, columns in schema.items():
        dataset, table = name.split(".")
        nested["project"].setdefault(dataset, {})[table] = {column: "STRING" for column in columns}
    statement = sqlglot.parse_one(PLACEHOLDER.sub(r"\1", sql), read="bigquery")
    qualified = qualify(statement, schema=nested, dialect="bigquery", validate_qualify_columns=False)

    reads: dict[str, set[str]] = {}
    for scope in traverse_scope(qualified):
        for alias, source in scope.sources.items():
            if isinstance(source, exp.Table):
                reads.setdefault(f"{source.db}.{source.name}", set())
        for column in scope.columns:
            source = scope.sources.get(column.table)
            if isinstance(source, exp.Table):
                reads.setdefault(f"{source.db}.{source.name}", set()).add(column.name)
    return reads


def _scanned_bytes(connection, incident, criterion, reads, schema, now) -> tuple[int, int]:
    """Return the bytes of the columns read over whole tables, and over the partitions the WHERE selects."""
    full = 0
    pruned = 0
    for table, columns in reads.items():
        sizes = _size_expression(columns, schema[table])
        full += connection.execute(f"SELECT {sizes} FROM {table}").fetchone()[0] or 0
        where, bound = _partition_filter(incident, criterion, table, now)
        pruned += connection.execute(f"SELECT {sizes} FROM {table} WHERE {where}", bound).fetchone()[0] or 0
    return int(full), int(pruned)


def _size_expression(columns: set[str], types: dict[str, str]) -> str:
    terms = []
    for column in sorted(columns):
        kind = types[column]
        quoted = f'"{column}"'
        if kind == "VARCHAR":
            terms.append(f"SUM(CASE WHEN {quoted} IS NULL THEN 0 ELSE 2 + strlen({quoted}) END)")
        elif kind.startswith("DECIMAL"):
            terms.append(f"{NUMERIC_SIZE} * COUNT({quoted})")
        else:
            terms.append(f"{FIXED_SIZES[kind]} * COUNT({quoted})")
    return " + ".join(terms) if terms else "0"


def _partition_filter(incident, criterion, table: str, now) -> tuple[str, dict]:
    """Return a DuckDB condition, with its bound parameters, that selects the partitions of `table` kept by the
    criterion's WHERE predicates on the partition column. Without such a predicate the condition is `TRUE`."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.optimizer.scope import traverse_scope

    from coordinator.preflight.partitions import PLACEHOLDER
    from coordinator.spec.params import TypedValue, resolve
    from coordinator.warehouse.duckdb import transpile

    column = incident.partitions.get(table)
    if column is None:
        return "TRUE", {}
    statement = sqlglot.parse_one(PLACEHOLDER.sub(r"\1", criterion.sql), read="bigquery")
    conditions = []
    for scope in traverse_scope(statement):
        where = scope.expression.args.get("where")
        for alias, source in scope.sources.items():
            if not isinstance(source, exp.Table) or f"{source.db}.{source.name}" != table or where is None:
                continue
            predicates = where.this.flatten() if isinstance(where.this, exp.And) else [where.this]
            kept = [
                f"({predicate.copy().transform(_unqualified).sql(dialect='bigquery')})"
                for predicate in predicates
                if {found.name for found in predicate.find_all(exp.Column)} == {column}
            ]
            # Without a predicate on the partition column this SELECT reads every partition.
            conditions.append(" AND ".join(kept) if kept else "TRUE")
    if not conditions:
        return "TRUE", {}
    # Several SELECTs reading the table each scan their own partitions, and the round reads their union.
    bigquery_sql = f"SELECT 1 FROM {table} WHERE " + " OR ".join(f"({condition})" for condition in dict.fromkeys(conditions))
    duckdb_sql, names = transpile(bigquery_sql)
    values = resolve(incident, "sandbox", extra=dict(criterion.params))
    values["now"] = TypedValue(now, "TIMESTAMP")
    return duckdb_sql.split(" WHERE ", 1)[1], {name: values[name].value for name in names}


def _unqualified(node):
    from sqlglot import exp

    if isinstance(node, exp.Column) and node.table:
        return exp.column(node.name)
    return node


def _counts(rows: list[dict[str, Any]]) -> list[Count]:
    def total(key: str) -> float:
        return sum(row[key] or 0 for row in rows)

    unfiltered = [row["criterion"] for row in rows if row["no partition filter on"] != "-"]
    return [
        Count("SQL criteria in one round", len(rows)),
        Count("preflight estimate per round (emulator dry run)", total("preflight estimate (emulator)"), "bytes"),
        Count("bytes the emulator reported for one check round", total("check round bytes (emulator)"), "bytes"),
        Count("column bytes per round, full scans", total("column bytes, full scan"), "bytes"),
        Count("column bytes per round, partitions selected", total("column bytes, partitions selected"), "bytes"),
        Count("criteria without a partition filter", len(unfiltered), goal_text="0", meets_goal=not unfiltered),
    ]


def _notes(rows: list[dict[str, Any]]) -> list[str]:
    estimates = {row["preflight estimate (emulator)"] for row in rows}
    meaningful = "meaningless: it returns 0 bytes for every query" if estimates == {0} else f"returns {sorted(map(str, estimates))}"
    return [
        f"bqemulator 1.4.0's dry-run estimate is {meaningful}, and so are the bytes it reports for a run query; "
        "the column bytes are the figures to read. They sum BigQuery's size per value (8 bytes for INT64, FLOAT64, "
        "DATE and TIMESTAMP, 16 for NUMERIC, 1 for BOOL, 2 plus the UTF-8 length for STRING, 0 for NULL) over "
        "the columns each query reads, in the sandbox's seeded tables.",
        "'partitions selected' keeps only the rows that the WHERE predicates on the table's partition column "
        "(from the incident's `partitions:`) select, as BigQuery's pruning would; with no such predicate it is the "
        "full scan. The sandbox's tables cover January 1 to 27, 2026 (the seed's default scale), so these figures "
        "are small. The ratio between the two columns is what carries over to prod.",
        "'no partition filter on' is the check `coord preflight` warns with: the table is read without a WHERE "
        "predicate on its partition column (a join condition does not count).",
    ]
