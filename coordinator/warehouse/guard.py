"""The read-only guard: a criterion or query is one SELECT (or WITH ... SELECT) statement."""

from __future__ import annotations

import functools


@functools.lru_cache(maxsize=1024)
def read_only_problem(sql: str, *, use_cache: bool = True) -> str | None:
    """Return why `sql` may not run as a criterion (BigQuery dialect), or None when it only reads.

    The verdict is kept in the SQL cache, so a query checked once is not parsed again by a later process.
    With `use_cache=False` the verdict is computed by sqlglot whatever the cache contains, and then stored.
    Callers pass it for a query that no other barrier stops from writing.
    """
    from coordinator.warehouse import sql_cache

    cache = sql_cache.shared()
    if use_cache:
        cached = cache.get("guard", sql)
        if cached is None or isinstance(cached, str):
            return cached
    problem = _parse_for_problem(sql)
    cache.put("guard", sql, problem)
    return problem


def _parse_for_problem(sql: str) -> str | None:
    import logging

    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError

    # sqlglot logs a warning for statements it cannot fully parse (CALL, LOAD), and the returned message
    # already reports them.
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    text = sql.replace("{{", "").replace("}}", "")
    try:
        statements = [statement for statement in sqlglot.parse(text, read="bigquery") if statement is not None]
    except ParseError as error:
        first = error.errors[0] if error.errors else {}
        return f"SQL does not parse: {first.get('description', str(error))}"

    if not statements:
        return "SQL is empty"
    if len(statements) > 1:
        return f"SQL holds {len(statements)} statements; only one query is allowed"

    statement = statements[0]
    if not isinstance(statement, exp.Query):
        keyword = text.split(None, 1)[0].upper() if text.split() else ""
        if keyword in ("SELECT", "WITH", "(") or not keyword.isalpha():
            return "SQL is not a query: write one SELECT statement"
        return f"{keyword} is not allowed"
    if statement.args.get("into") is not None:
        return "SELECT ... INTO is not allowed: it creates a table"

    writes = (exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create, exp.Drop, exp.Alter, exp.Command)
    for node in statement.walk():
        if isinstance(node, writes):
            return f"{node.key.upper()} is not allowed"
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Func):
            return f"reading from the function {node.this.sql(dialect='bigquery')[:40]} is not allowed: read tables"
    return None
