"""Soda Core 4 as the check round's second baseline: the incident's SQL criteria written as one Soda contract.

`ensure_environment()` installs Soda Core 4 with its DuckDB data source in a virtual environment of its own
(pinned by bench/soda/requirements.txt, with the project's DuckDB version so both sides open the same files).
`prepare()` writes a contract containing every criterion Soda can express as the same check, and gives the
reason it skips each of the others. The bench runs `plan.argv` as one whole process, the counterpart of `coord check`, and
`plan.outcomes()` reads Soda's verdicts so they can be compared with coord's before any time is reported.

Soda's usage telemetry is on by default and sends to a host on the internet, so every run here sets
SODA_CORE_TELEMETRY_ENABLED=false, names no Soda Cloud configuration and never passes --publish.

Run `python -m bench.soda INCIDENT WAREHOUSE` to print the plan and Soda's verdicts beside coord's.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

from bench.harness import BENCH_DIR, REPOSITORY, BenchContext, BenchError

REQUIREMENTS = BENCH_DIR / "soda" / "requirements.txt"
VENV = Path(os.environ.get("COORD_BENCH_SODA_VENV", Path.home() / ".cache" / "coord-bench-soda"))
PACKAGES = ("soda-core", "soda-duckdb", "duckdb")
DATA_SOURCE_NAME = "coord_warehouse"

# The environment of every Soda run. Soda Core 4 reads SODA_CORE_TELEMETRY_ENABLED once, in
# soda_core/common/env_config_helper.py; when it is false no OpenTelemetry exporter is set up.
# OTEL_SDK_DISABLED turns off any other OpenTelemetry SDK that might be configured by the environment.
# TZ=UTC gives DuckDB's session the time zone coord's warehouse sets with `SET TimeZone = 'UTC'`.
# Soda also loads a .env file found in a folder above its installed package, but never over a variable
# that is already set, so these values hold.
SODA_ENV = {
    "SODA_CORE_TELEMETRY_ENABLED": "false",
    "OTEL_SDK_DISABLED": "true",
    "OTEL_TRACES_EXPORTER": "none",
    "TZ": "UTC",
}

# Soda's thresholds for coord's operators; `between` is inclusive on both sides in both tools.
THRESHOLDS = {
    ">": "must_be_greater_than",
    ">=": "must_be_greater_than_or_equal",
    "<": "must_be_less_than",
    "<=": "must_be_less_than_or_equal",
    "==": "must_be",
    "!=": "must_not_be",
}
SQL_OPERATORS = {">": ">", ">=": ">=", "<": "<", "<=": "<=", "==": "=", "!=": "<>"}
OUTCOME_LINE = re.compile(r"(PASSED|FAILED|NOT_EVALUATED|WARN)\b")


@dataclass(frozen=True)
class SodaEnvironment:
    python: Path
    soda: Path
    versions: dict[str, str]  # soda-core, soda-duckdb and duckdb as installed, for the results' machine section


@dataclass
class SodaPlan:
    """The contract that verifies the expressed criteria, and the whole-process command that runs it."""

    folder: Path
    expressed: list[str]
    skipped: dict[str, str]
    argv: list[str]
    env: dict[str, str] = field(default_factory=lambda: dict(SODA_ENV))
    contract: Optional[Path] = None
    data_source: Optional[Path] = None

    def outcomes(self, completed: Union[subprocess.CompletedProcess, str]) -> dict[str, str]:
        """Return each expressed criterion's verdict from Soda's printed results: "pass" or "fail".

        A check Soda could not evaluate (the query returned no row or NULL) counts as "fail", as coord counts a
        NULL measurement. Exit code 3 means Soda hit an error (a query that did not run, a contract it could not
        read): that raises, because its verdicts cannot be compared then.
        """
        if isinstance(completed, subprocess.CompletedProcess):
            output = (completed.stdout or "") + (completed.stderr or "")
            if completed.returncode not in (0, 1):
                tail = " | ".join(output.strip().splitlines()[-4:])
                raise BenchError(f"soda contract verify exited {completed.returncode}: {tail}")
        else:
            output = completed

        verdicts = _read_results_table(output)
        missing = [criterion_id for criterion_id in self.expressed if criterion_id not in verdicts]
        if missing:
            raise BenchError(f"soda printed no result for {', '.join(missing)}: see {self.folder}")
        return {criterion_id: verdicts[criterion_id] for criterion_id in self.expressed}


def ensure_environment() -> SodaEnvironment:
    """Return Soda's virtual environment, creating it once with the pinned packages.

    The environment is kept under ~/.cache (COORD_BENCH_SODA_VENV overrides) and rebuilt only when an
    installed version differs from bench/soda/requirements.txt.
    """
    pinned = _pinned_versions()
    _require_project_duckdb(pinned["duckdb"])
    expected = {name: pinned[name] for name in PACKAGES}
    python, soda = VENV / "bin" / "python", VENV / "bin" / "soda"

    installed = _installed_versions(python)
    if installed != expected:
        _create_environment(python)
        installed = _installed_versions(python)
        if installed != expected:
            raise BenchError(f"{VENV}: installed {installed}, expected the pins of {REQUIREMENTS}")
    _require_telemetry_off(python)
    return SodaEnvironment(python=python, soda=soda, versions=installed)


def prepare(
    context: BenchContext,
    incident_path: Union[str, Path],
    warehouse_path: Union[str, Path],
    criterion_ids: list[str],
    *,
    target: Optional[str] = None,
    environment: Optional[SodaEnvironment] = None,
) -> SodaPlan:
    """Write a Soda contract for `criterion_ids` of the incident, checked against the DuckDB file.

    Parameters are resolved as coord resolves them on `target` (the incident's default target when None),
    the clock included, and written into the SQL as typed literals, since Soda binds no query parameters.
    """
    from coordinator.spec.loader import load_incident
    from coordinator.target import TargetContext, choose_target
    from coordinator.warehouse.duckdb import DuckDBWarehouse

    environment = environment or ensure_environment()
    incident = load_incident(incident_path)
    warehouse_path = Path(warehouse_path).resolve()
    if not warehouse_path.exists():
        raise BenchError(f"{warehouse_path}: warehouse file not found: run `coord sandbox init` first")

    criteria = {criterion.id: criterion for criterion in incident.criteria}
    unknown = [criterion_id for criterion_id in criterion_ids if criterion_id not in criteria]
    if unknown:
        raise BenchError(f"{incident_path}: no criterion {', '.join(unknown)}")

    warehouse = DuckDBWarehouse(warehouse_path, url=f"duckdb:///{warehouse_path}")
    target_context = TargetContext(
        incident=incident,
        target=choose_target(incident, target),
        repo=_workspace_of(warehouse_path),
        _warehouse=warehouse,
    )
    try:
        target_context.refresh_clock()
        checks, skipped, tables = [], {}, set()
        for criterion_id in criterion_ids:
            criterion = criteria[criterion_id]
            check, read, reason = _soda_check(criterion, target_context)
            if check is None:
                skipped[criterion_id] = reason
                continue
            checks.append(check)
            tables |= read
    finally:
        target_context.close()

    folder = context.scratch / "soda"
    folder.mkdir(parents=True, exist_ok=True)
    plan = SodaPlan(folder=folder, expressed=[check["_id"] for check in checks], skipped=skipped, argv=[])
    if not checks:
        return plan

    plan.data_source = folder / "data_source.yml"
    plan.contract = folder / "contract.yml"
    plan.data_source.write_text(_data_source_yaml(warehouse_path))
    plan.contract.write_text(_contract_yaml(_smallest_table(warehouse_path, tables), checks))
    plan.argv = [str(environment.soda), "contract", "verify", "-c", str(plan.contract), "-ds", str(plan.data_source)]
    return plan


def run(plan: SodaPlan) -> subprocess.CompletedProcess:
    """Run Soda's whole process once, in the plan's folder, with SODA_ENV set."""
    return subprocess.run(
        plan.argv, cwd=plan.folder, env={**os.environ, **plan.env}, capture_output=True, text=True, check=False
    )


# ---------------------------------------------------------------- expressing criteria


def _soda_check(criterion, target_context) -> tuple[Optional[dict], set[tuple[str, str]], str]:
    """Return (the contract's check, the tables it reads, "") or (None, {}, why Soda cannot express it)."""
    from coordinator.errors import CoordinatorError
    from coordinator.spec.params import fill_sql

    if criterion.sql is None:
        return None, set(), f"a {criterion.kind} criterion: a Soda contract only runs SQL against the data source"
    expect = criterion.expect
    threshold_problem = _threshold_problem(expect.op, expect.value)
    if threshold_problem:
        return None, set(), threshold_problem
    if "${" in criterion.sql:
        return None, set(), "the SQL contains `${`, which Soda reads as a variable of the contract"

    try:
        params = target_context.params(criterion.params)
        sql, tables = _literal_duckdb_sql(fill_sql(criterion.sql, params), params)
    except (CoordinatorError, ValueError) as error:
        return None, set(), f"coord's SQL could not be prepared for Soda: {error}"

    column = _quoted_identifier(expect.column)
    if expect.rows == "all":
        check = {"failed_rows": {"name": criterion.id, "qualifier": criterion.id,
                                 "query": _failed_rows_query(sql, column, expect.op, expect.value),
                                 "threshold": {"must_be": 0}}}
    else:
        query = f"SELECT {column}\nFROM (\n{sql}\n) AS criterion_result\nLIMIT 1"
        check = {"metric": {"name": criterion.id, "qualifier": criterion.id, "query": query,
                            "threshold": _threshold(expect.op, expect.value)}}
    check["_id"] = criterion.id
    return check, tables, ""


def _threshold_problem(op: str, value: Any) -> str:
    values = value if op == "between" else [value]
    for bound in values:
        if isinstance(bound, bool) or not isinstance(bound, (int, float)):
            written = bound.isoformat() if hasattr(bound, "isoformat") else repr(bound)
            return (f"compares with {written}, not a number: Soda's thresholds are numbers "
                    "(coord also compares dates and text)")
        if bound != bound or bound in (float("inf"), float("-inf")):
            return f"compares with {bound!r}: Soda's thresholds are finite numbers"
    return ""


def _threshold(op: str, value: Any) -> dict:
    if op == "between":
        low, high = value
        if low == high:  # Soda rejects a range with equal bounds, and coord's such range is an equality
            return {"must_be": low}
        return {"must_be_between": {"greater_than_or_equal": low, "less_than_or_equal": high}}
    return {THRESHOLDS[op]: value}


def _failed_rows_query(sql: str, column: str, op: str, value: Any) -> str:
    """Rows of the criterion's result whose column does not pass, plus one row when the result is empty.

    coord fails a `rows: all` criterion on an empty result and on any row that is NULL or out of range. A
    failed_rows check fails when this query returns a row, so the two agree on every result.
    """
    if op == "between":
        condition = f"{column} BETWEEN {value[0]!r} AND {value[1]!r}"
    else:
        condition = f"{column} {SQL_OPERATORS[op]} {value!r}"
    return (
        f"WITH criterion_rows AS (\n{sql}\n)\n"
        f"SELECT {column} FROM criterion_rows WHERE NOT COALESCE({condition}, FALSE)\n"
        "UNION ALL\n"
        "SELECT NULL WHERE NOT EXISTS (SELECT 1 FROM criterion_rows)"
    )


def _literal_duckdb_sql(sql: str, params: dict) -> tuple[str, set[tuple[str, str]]]:
    """Transpile as coord does, then write each bound parameter as the literal DuckDB would have bound.

    Return the SQL and the (schema, table) pairs it reads, from which the contract's dataset is chosen.
    """
    import sqlglot
    from sqlglot import exp

    from coordinator.warehouse.duckdb import transpile

    duckdb_sql, names = transpile(sql)
    missing = [name for name in names if name not in params]
    if missing:
        raise ValueError(f"no value for query parameter @{missing[0]}")
    placeholders = (exp.Parameter, exp.Placeholder)
    expected_uses = sum(1 for node in sqlglot.parse_one(duckdb_sql, read="duckdb").walk()
                        if isinstance(node, placeholders) and node.name in names)
    pattern = re.compile(r"\$(" + "|".join(re.escape(name) for name in names) + r")\b") if names else None
    if pattern is not None and len(pattern.findall(duckdb_sql)) != expected_uses:
        raise ValueError("a parameter's name also appears elsewhere in the transpiled SQL")
    literals = _duckdb_literals({name: params[name].value for name in names})
    filled = pattern.sub(lambda match: literals[match.group(1)], duckdb_sql) if pattern else duckdb_sql

    tables = {(found.db, found.name) for found in sqlglot.parse_one(filled, read="duckdb").find_all(exp.Table) if found.db}
    return filled, tables


def _duckdb_literals(values: dict[str, Any]) -> dict[str, str]:
    """Ask DuckDB how it binds each Python value (type and text) and write it as a typed literal."""
    import duckdb

    connection = duckdb.connect(config={"enable_external_access": False})
    try:
        connection.execute("SET TimeZone = 'UTC'")
        literals = {}
        for name, value in values.items():
            if value is None:
                literals[name] = "NULL"
                continue
            text, type_name = connection.execute("SELECT CAST($v AS VARCHAR), typeof($v)", {"v": value}).fetchone()
            quoted = "'" + text.replace("'", "''") + "'"
            literals[name] = quoted if type_name == "VARCHAR" else f"CAST({quoted} AS {type_name})"
        return literals
    finally:
        connection.close()


def _quoted_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# ---------------------------------------------------------------- files Soda reads


def _data_source_yaml(warehouse_path: Path) -> str:
    """Soda's DuckDB data source: the warehouse file opened read-only, with coord's session settings."""
    return _dump({
        "name": DATA_SOURCE_NAME,
        "type": "duckdb",
        "connection": {
            "database": str(warehouse_path),
            "read_only": True,
            "configuration": {
                "enable_external_access": "false",
                "autoinstall_known_extensions": "false",
                "autoload_known_extensions": "false",
            },
        },
    })


def _smallest_table(warehouse_path: Path, tables: set[tuple[str, str]]) -> tuple[str, str]:
    """Return the table with the fewest rows among those the criteria read, by DuckDB's own estimate.

    A contract belongs to a dataset, and Soda counts its rows once per run (dataset_rows_tested). The checks
    here are queries that may read any table, so naming the smallest one keeps that extra query cheapest.
    """
    import duckdb

    if not tables:
        raise BenchError("the criteria Soda can express read no schema-qualified table to name as the dataset")
    connection = duckdb.connect(str(warehouse_path), read_only=True, config={"enable_external_access": False})
    try:
        sizes = dict(((schema, name), size) for schema, name, size in connection.execute(
            "SELECT schema_name, table_name, estimated_size FROM duckdb_tables()").fetchall())
    finally:
        connection.close()
    return min(sorted(tables), key=lambda table: sizes.get(table, float("inf")))


def _contract_yaml(table: tuple[str, str], checks: list[dict]) -> str:
    """Write one contract containing every check, so one Soda process verifies them all."""
    body = [{key: value for key, value in check.items() if key != "_id"} for check in checks]
    return _dump({"dataset": f"{DATA_SOURCE_NAME}/{table[0]}/{table[1]}", "columns": [], "checks": body})


def _dump(document: dict) -> str:
    import yaml

    class BlockDumper(yaml.SafeDumper):
        pass

    def text(dumper, value):
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    BlockDumper.add_representer(str, text)
    return yaml.dump(document, Dumper=BlockDumper, sort_keys=False, width=1000)


# ---------------------------------------------------------------- reading Soda's output


def _read_results_table(output: str) -> dict[str, str]:
    """Read Soda's results grid: `| column | check | threshold | outcome | diagnostics |` rows.

    A check's row starts where its name cell is filled; the outcome is on that first line.
    """
    verdicts: dict[str, str] = {}
    for line in output.splitlines():
        if not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not cells[1] or cells[1] == "Check":
            continue
        match = OUTCOME_LINE.search(cells[3])
        if match is None:
            continue
        verdicts[cells[1]] = "pass" if match.group(1) == "PASSED" else "fail"
    return verdicts


# ---------------------------------------------------------------- the environment


def pinned_versions() -> dict[str, str]:
    """Return the soda-core, soda-duckdb and duckdb versions that bench/soda/requirements.txt pins."""
    pinned = _pinned_versions()
    return {name: pinned[name] for name in PACKAGES}


def _pinned_versions() -> dict[str, str]:
    pins = {}
    for line in REQUIREMENTS.read_text().splitlines():
        if "==" in line and not line.lstrip().startswith("#"):
            name, version = line.split("==", 1)
            pins[name.strip().lower()] = version.strip()
    return pins


def _require_project_duckdb(pinned: str) -> None:
    """Soda must open the files coord's DuckDB writes: a file from a newer DuckDB may not open in an older one."""
    from importlib.metadata import version

    project = version("duckdb")
    if project != pinned:
        raise BenchError(
            f"the project's duckdb is {project} but {REQUIREMENTS.relative_to(REPOSITORY)} pins {pinned}: "
            "pin the same version so Soda opens the same warehouse files"
        )


def _installed_versions(python: Path) -> dict[str, str]:
    if not python.exists():
        return {}
    script = (
        "import json; from importlib.metadata import version; "
        f"print(json.dumps({{name: version(name) for name in {list(PACKAGES)!r}}}))"
    )
    completed = subprocess.run([str(python), "-c", script], capture_output=True, text=True, check=False)
    return json.loads(completed.stdout) if completed.returncode == 0 else {}


def _create_environment(python: Path) -> None:
    import shutil

    shutil.rmtree(VENV, ignore_errors=True)
    environment = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    # `uv run` names its own binary in UV; uv is not a package of the project's environment (.ci/run installs it
    # for the machine's python3, whose interpreter is this environment's base).
    uv = [os.environ["UV"]] if os.environ.get("UV") else [getattr(sys, "_base_executable", "python3"), "-m", "uv"]
    steps = (
        [*uv, "venv", "--quiet", str(VENV)],
        # Compiled bytecode, as the project's environment has, so neither side compiles its imports when timed.
        [*uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", str(python), "-r", str(REQUIREMENTS)],
    )
    print(f"bench: installing Soda Core into {VENV} …", file=sys.stderr, flush=True)
    for step in steps:
        completed = subprocess.run(step, env=environment, capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            raise BenchError(f"{' '.join(step[2:5])} … exited {completed.returncode}: {completed.stderr.strip()[-300:]}")


def _require_telemetry_off(python: Path) -> None:
    """Prove with the installed package that SODA_ENV leaves Soda's telemetry without an exporter."""
    script = (
        "from soda_core.telemetry.soda_telemetry import SodaTelemetry; "
        "print(bool(SodaTelemetry()._SodaTelemetry__send))"
    )
    completed = subprocess.run(
        [str(python), "-c", script], env={**os.environ, **SODA_ENV}, capture_output=True, text=True, check=False
    )
    if completed.stdout.strip() != "False":
        raise BenchError(f"{VENV}: Soda's telemetry is still on with {SODA_ENV}: {completed.stderr.strip()[-300:]}")


def _workspace_of(warehouse_path: Path) -> Path:
    """Return the sandbox workspace containing `.sandbox/warehouse.duckdb`, where a clock command would run."""
    if warehouse_path.parent.name == ".sandbox":
        return warehouse_path.parent.parent
    return warehouse_path.parent


# ---------------------------------------------------------------- self-check


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soda",
        description="Write the Soda contract for an incident's SQL criteria, run Soda once and compare with coord check.",
    )
    parser.add_argument("incident", type=Path)
    parser.add_argument("warehouse", type=Path, help="the DuckDB file, e.g. WORKSPACE/.sandbox/warehouse.duckdb")
    parser.add_argument("--target", help="target whose parameters and clock apply (default: the incident's)")
    parser.add_argument("--keep", action="store_true", help="keep the folder containing the contract")
    options = parser.parse_args(argv)

    from coordinator.spec.loader import load_incident

    environment = ensure_environment()
    print("versions: " + ", ".join(f"{name} {version}" for name, version in environment.versions.items()))
    incident = load_incident(options.incident)
    sql_ids = [criterion.id for criterion in incident.criteria if criterion.sql is not None]
    scratch = Path(tempfile.mkdtemp(prefix="coord-bench-soda-"))
    context = BenchContext(runs=1, scratch=scratch, scale=0)
    plan = prepare(context, options.incident, options.warehouse, sql_ids, target=options.target,
                   environment=environment)
    print(f"contract: {plan.contract}")
    for criterion_id, reason in plan.skipped.items():
        print(f"skipped {criterion_id}: {reason}")

    soda = plan.outcomes(run(plan)) if plan.expressed else {}
    coord = _coord_verdicts(options.incident, options.warehouse, options.target)
    disagreements = 0
    print(f"{'criterion':40} {'soda':6} coord")
    for criterion_id in plan.expressed:
        mark = "" if soda[criterion_id] == coord.get(criterion_id) else "  <- differs"
        disagreements += bool(mark)
        print(f"{criterion_id:40} {soda[criterion_id]:6} {coord.get(criterion_id)}{mark}")
    print(f"{len(plan.expressed)} expressed, {len(plan.skipped)} skipped, {disagreements} disagree")
    if not options.keep:
        import shutil

        shutil.rmtree(scratch, ignore_errors=True)
    return 1 if disagreements else 0


def _coord_verdicts(incident: Path, warehouse: Path, target: Optional[str]) -> dict[str, str]:
    command = [str(Path(sys.executable).parent / "coord"), "check", str(incident), "--json",
               "--repo", str(_workspace_of(warehouse.resolve()))]
    if target:
        command += ["--target", target]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode not in (0, 1, 2):
        raise BenchError(f"coord check exited {completed.returncode}: {completed.stderr.strip()[-300:]}")
    return {result["id"]: result["status"] for result in json.loads(completed.stdout)["criteria"]}


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"bench.soda: {error}", file=sys.stderr)
        sys.exit(1)
