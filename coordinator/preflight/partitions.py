"""Partition filters: a SQL criterion that reads a partitioned table without a WHERE predicate on the table's
partition column scans every partition of it on each check round."""

from __future__ import annotations

import functools
import hashlib
import json
import re
from pathlib import Path
from typing import Mapping

from coordinator.preflight.checker import Checker
from coordinator.preflight.report import WARNING

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def check_partitions(checker: Checker) -> None:
    """Warn about each SQL criterion that reads a table of `partitions:` without filtering its partition column."""
    partitions = checker.incident.partitions
    if not partitions:
        return
    for index, criterion in enumerate(checker.incident.criteria):
        if criterion.sql is None:
            continue
        for table in unfiltered_tables(criterion.sql, partitions):
            checker.add(
                ("criteria", index, "sql"),
                f"criterion {criterion.id!r} reads {table} without a WHERE predicate on its partition column "
                f"{partitions[table]}, so every check round scans all of its partitions: filter on "
                f"{partitions[table]} (e.g. {partitions[table]} = @date or BETWEEN two parameters), in a subquery "
                f"where {table} is outer-joined, since a WHERE on it would drop the rows the join keeps",
                severity=WARNING,
                roles=checker.criterion_roles(criterion),
            )


def unfiltered_tables(sql: str, partitions: Mapping[str, str]) -> list[str]:
    """Return the tables of `partitions` (`dataset.table`) that `sql` reads without a WHERE predicate on their
    partition column, in the order they are read. SQL that does not parse returns no table: the read-only
    check reports it.

    A predicate counts when the WHERE clause of the SELECT that reads the table names the partition column,
    qualified by that table's name or alias, or unqualified. A join condition does not count: BigQuery prunes
    partitions by filters, not by joins.
    NOTE: BigQuery prunes only when the predicate compares the column with constants or parameters. This
    check does not look at the form of the predicate, so `game_date >= other.day` counts as a filter.
    """
    if not any(table in sql for table in partitions):
        return []
    from coordinator.warehouse import sql_cache

    # The verdict is kept in the SQL cache, so a later preflight of an unchanged query need not parse it.
    cache = sql_cache.shared()
    key = json.dumps(sorted(partitions.items())) + "\n" + sql
    cached = cache.get(_cache_kind(), key)
    if isinstance(cached, list) and all(isinstance(table, str) for table in cached):
        return cached
    found = list(_unfiltered_tables(sql, tuple(sorted(partitions.items()))))
    cache.put(_cache_kind(), key, found)
    return found


@functools.lru_cache(maxsize=1)
def _cache_kind() -> str:
    """Return the cache kind of the verdicts, which changes with this file: the cache file's own fingerprint
    covers sqlglot's release and the warehouse's code, not this check."""
    return "partitions-" + hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


@functools.lru_cache(maxsize=1024)
def _unfiltered_tables(sql: str, partitions: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError
    from sqlglot.optimizer.scope import traverse_scope

    columns = dict(partitions)
    # `{{ project }}` stands for an identifier, so its name keeps the SQL parseable.
    text = PLACEHOLDER.sub(r"\1", sql)
    try:
        statement = sqlglot.parse_one(text, read="bigquery")
        scopes = traverse_scope(statement)
    except SqlglotError:
        return ()

    unfiltered: list[str] = []
    for scope in scopes:
        where = scope.expression.args.get("where")
        for alias, source in scope.sources.items():
            if not isinstance(source, exp.Table):
                continue
            table = f"{source.db}.{source.name}"
            if table not in columns:
                continue
            if where is None or not _names_column(where, columns[table], alias):
                unfiltered.append(table)
    return tuple(dict.fromkeys(unfiltered))


def _names_column(where, column: str, alias: str) -> bool:
    from sqlglot import exp

    return any(
        found.name == column and found.table in ("", alias) for found in where.find_all(exp.Column)
    )
