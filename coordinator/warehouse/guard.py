"""The read-only guard: a criterion or query is one SELECT (or WITH ... SELECT) statement."""

from __future__ import annotations

import functools


@functools.lru_cache(maxsize=1024)
def read_only_problem(sql: str) -> str | None:
    """Return why `sql` may not run as a criterion (BigQuery dialect), or None when it only reads."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError

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
        return f"{statement.key.upper()} is not allowed"
    writes = (exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create, exp.Drop, exp.Alter, exp.Command)
    for node in statement.walk():
        if isinstance(node, writes):
            return f"{node.key.upper()} is not allowed"
    return None
