"""The floor of a check round: one Python process running the round's queries directly on DuckDB.

`write_plan` runs in the bench, before any timing: it transpiles every SQL criterion with the product's own
`transpile` and resolves its parameters as `coord check` does, and writes both to a JSON plan. The floor
(`python bench/floor_check.py PLAN`) then imports only duckdb, opens the warehouse read-only, reads the
target's clock as `coord check` does, runs each query with the same bound parameters one after another,
compares each to its threshold and prints `{criterion id: pass|fail|error}` as JSON. It does no sqlglot
work, keeps no results and writes nothing.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import sys
from pathlib import Path


def write_plan(incident_path: Path, workspace: Path, plan_path: Path) -> dict:
    """Write the floor's plan for the SQL criteria of `incident_path` on the sandbox in `workspace`."""
    from coordinator.spec import load_incident
    from coordinator.spec.params import fill_sql
    from coordinator.target import TargetContext
    from coordinator.warehouse.duckdb import transpile

    incident = load_incident(incident_path)
    context = TargetContext(incident=incident, target="sandbox", repo=workspace)
    clock = incident.targets["sandbox"].clock
    queries = []
    for criterion in incident.criteria:
        if criterion.sql is None:
            continue
        params = context.params(criterion.params)
        duckdb_sql, names = transpile(fill_sql(criterion.sql, params))
        queries.append({
            "id": criterion.id,
            "sql": duckdb_sql,
            "params": {name: _encode(params[name].value, params[name].type) for name in names if name != "now"},
            "uses_now": "now" in names,
            "column": criterion.expect.column,
            "op": criterion.expect.op,
            "value": _plain(criterion.expect.value),
            "rows": criterion.expect.rows,
        })
    context.close()
    plan = {
        "warehouse": str(context.warehouse().path),
        "clock_sql": transpile(clock.sql)[0],
        "queries": queries,
    }
    context.close()
    plan_path.write_text(json.dumps(plan, indent=1))
    return plan


def _encode(value, type_name: str) -> dict:
    if isinstance(value, (dt.date, dt.datetime)):
        return {"type": type_name, "value": value.isoformat()}
    return {"type": type_name, "value": value}


def _plain(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _decode(encoded: dict):
    if encoded["type"] == "DATE":
        return dt.date.fromisoformat(encoded["value"])
    if encoded["type"] in ("DATETIME", "TIMESTAMP"):
        return dt.datetime.fromisoformat(encoded["value"])
    return encoded["value"]


# The comparison repeats coordinator/criteria/compare.py on purpose: importing it would import the incident's
# pydantic models, which the floor must not pay for. The bench checks that both sides agree on every criterion.
def _number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, decimal.Decimal)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip().rstrip("%"))
        except ValueError:
            return None
    return None


def holds(measured, op: str, expected) -> bool:
    """Return whether `measured op expected` holds, as `coord check` compares; NULL never passes."""
    if measured is None:
        return False
    if op == "between":
        return holds(measured, ">=", expected[0]) and holds(measured, "<=", expected[1])
    left, right = _number(measured), _number(expected)
    if left is None or right is None:
        left = measured.isoformat() if isinstance(measured, (dt.date, dt.datetime)) else measured
        right = expected
    try:
        return {
            ">": left > right, ">=": left >= right, "<": left < right, "<=": left <= right,
            "==": left == right, "!=": left != right,
        }[op]
    except TypeError:
        return False


def judge(query: dict, columns: list[str], rows: list[tuple]) -> str:
    if query["column"] not in columns:
        return "error"
    if not rows:
        return "fail"
    index = columns.index(query["column"])
    checked = rows if query["rows"] == "all" else rows[:1]
    return "pass" if all(holds(row[index], query["op"], query["value"]) for row in checked) else "fail"


def main(argv: list[str]) -> int:
    import duckdb

    plan = json.loads(Path(argv[0]).read_text())
    connection = duckdb.connect(plan["warehouse"], read_only=True)
    connection.execute("SET TimeZone = 'UTC'")
    now = connection.execute(plan["clock_sql"]).fetchall()[0][0]

    statuses = {}
    for query in plan["queries"]:
        params = {name: _decode(encoded) for name, encoded in query["params"].items()}
        if query["uses_now"]:
            params["now"] = now
        try:
            cursor = connection.execute(query["sql"], params)
            rows = cursor.fetchall()
        except duckdb.Error:
            statuses[query["id"]] = "error"
            continue
        columns = [description[0] for description in cursor.description]
        statuses[query["id"]] = judge(query, columns, rows)
    connection.close()
    print(json.dumps(statuses))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
