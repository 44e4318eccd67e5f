"""The Soda side of the check round: which criteria become Soda checks, and how Soda's verdicts are read.

These tests write contracts and read sample output, so they need no Soda installed.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest
import yaml

from bench import soda
from bench.harness import REPOSITORY, BenchContext, BenchError

SEED_INCIDENT = REPOSITORY / "playbooks" / "nba" / "2026-01-27-pipeline-recovery.yaml"
NO_ENVIRONMENT = soda.SodaEnvironment(python=Path("python"), soda=Path("soda"), versions={})

SODA_OUTPUT = """\
### Contract results for coord_warehouse/nba_raw/bettingpros_player_points_props
+-----------------+-----------------------+----------------------------+------------------+------------------------+
| Column          | Check                 | Threshold                  | Outcome          | Diagnostics            |
+=================+=======================+============================+==================+========================+
| [dataset-level] | cache_complete        | level: fail                | ✅ PASSED        | failed_rows_count: 0   |
|                 |                       | must be: 0                 |                  | dataset_rows_tested: 1 |
+-----------------+-----------------------+----------------------------+------------------+------------------------+
|                 | empty_result          | level: fail                | ❓ NOT_EVALUATED | dataset_rows_tested: 1 |
+-----------------+-----------------------+----------------------------+------------------+------------------------+
|                 | props_collected_today | level: fail                | ❌ FAILED        | dataset_rows_tested: 1 |
|                 |                       | must be greater than: 1000 |                  |                        |
+-----------------+-----------------------+----------------------------+------------------+------------------------+
"""


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Path:
    from coordinator.sandbox import init_workspace

    return init_workspace(tmp_path_factory.mktemp("soda") / "workspace").workspace


def _plan(tmp_path: Path, warehouse: Path, ids: list[str], incident: Path = SEED_INCIDENT) -> soda.SodaPlan:
    context = BenchContext(runs=1, scratch=tmp_path, scale=1)
    return soda.prepare(context, incident, warehouse, ids, environment=NO_ENVIRONMENT)


def test_seed_sql_criteria_all_expressed(sandbox: Path, tmp_path: Path):
    from coordinator.spec.loader import load_incident

    incident = load_incident(SEED_INCIDENT)
    sql_ids = [criterion.id for criterion in incident.criteria if criterion.sql is not None]

    plan = _plan(tmp_path, sandbox / ".sandbox" / "warehouse.duckdb", sql_ids)

    assert plan.expressed == sql_ids
    assert plan.skipped == {}
    assert plan.argv == ["soda", "contract", "verify", "-c", str(plan.contract), "-ds", str(plan.data_source)]
    assert plan.env["SODA_CORE_TELEMETRY_ENABLED"] == "false"


def test_contract_has_literal_parameters(sandbox: Path, tmp_path: Path):
    plan = _plan(tmp_path, sandbox / ".sandbox" / "warehouse.duckdb",
                 ["props_collected_today", "circuit_breaker_writes_reduced", "player_coverage_jan15"])
    contract = yaml.safe_load(plan.contract.read_text())
    checks = {check["metric"]["name"]: check["metric"] for check in contract["checks"]}

    assert "CAST('2026-01-27' AS DATE)" in checks["props_collected_today"]["query"]
    assert checks["props_collected_today"]["threshold"] == {"must_be_greater_than": 1000}
    assert "CAST('2026-01-27 15:00:00' AS TIMESTAMP)" in checks["circuit_breaker_writes_reduced"]["query"]
    assert checks["player_coverage_jan15"]["threshold"] == {
        "must_be_between": {"greater_than_or_equal": 85, "less_than_or_equal": 100}
    }
    assert all("@" not in check["query"] and "$" not in check["query"] for check in checks.values())


def test_data_source_opens_file_read_only(sandbox: Path, tmp_path: Path):
    warehouse = sandbox / ".sandbox" / "warehouse.duckdb"
    plan = _plan(tmp_path, warehouse, ["props_collected_today"])
    data_source = yaml.safe_load(plan.data_source.read_text())

    assert data_source["type"] == "duckdb"
    assert data_source["connection"]["database"] == str(warehouse.resolve())
    assert data_source["connection"]["read_only"] is True


def test_rows_all_becomes_failed_rows(sandbox: Path, tmp_path: Path):
    plan = _plan(tmp_path, sandbox / ".sandbox" / "warehouse.duckdb", ["cache_complete_jan15_27"])
    check = yaml.safe_load(plan.contract.read_text())["checks"][0]

    assert "failed_rows" in check
    assert 'NOT COALESCE("players" > 100, FALSE)' in check["failed_rows"]["query"]
    assert "NOT EXISTS" in check["failed_rows"]["query"]


def test_non_sql_criteria_skipped_with_reason(sandbox: Path, tmp_path: Path):
    plan = _plan(tmp_path, sandbox / ".sandbox" / "warehouse.duckdb",
                 ["scrapers_redeployed_today", "scrapers_config_deployed", "game_id_fix_identified"])

    assert plan.expressed == []
    assert plan.argv == []
    assert plan.skipped["scrapers_redeployed_today"].startswith("a command criterion")
    assert plan.skipped["scrapers_config_deployed"].startswith("a drift criterion")
    assert plan.skipped["game_id_fix_identified"].startswith("a manual criterion")


def test_unknown_criterion_rejected(sandbox: Path, tmp_path: Path):
    with pytest.raises(BenchError, match="no criterion nope"):
        _plan(tmp_path, sandbox / ".sandbox" / "warehouse.duckdb", ["nope"])


def test_threshold_for_each_operator():
    assert soda._threshold(">=", 5) == {"must_be_greater_than_or_equal": 5}
    assert soda._threshold("!=", 0) == {"must_not_be": 0}
    assert soda._threshold("between", [0.5, 0.5]) == {"must_be": 0.5}


def test_threshold_problem_for_dates_and_text():
    assert "2026-01-20, not a number" in soda._threshold_problem(">=", dt.date(2026, 1, 20))
    assert "not a number" in soda._threshold_problem("==", "ok")
    assert "not a number" in soda._threshold_problem("==", True)
    assert soda._threshold_problem("between", [80, 100]) == ""


def test_outcomes_read_from_results_table(tmp_path: Path):
    plan = soda.SodaPlan(folder=tmp_path, expressed=["props_collected_today", "cache_complete", "empty_result"],
                         skipped={}, argv=["soda"])
    completed = subprocess.CompletedProcess(["soda"], 1, stdout=SODA_OUTPUT, stderr="")

    outcomes = plan.outcomes(completed)

    assert outcomes == {"props_collected_today": "fail", "cache_complete": "pass", "empty_result": "fail"}


def test_outcomes_raise_on_soda_error(tmp_path: Path):
    plan = soda.SodaPlan(folder=tmp_path, expressed=["props_collected_today"], skipped={}, argv=["soda"])
    completed = subprocess.CompletedProcess(["soda"], 3, stdout="Could not execute metric query", stderr="")

    with pytest.raises(BenchError, match="exited 3"):
        plan.outcomes(completed)


def test_outcomes_raise_on_missing_check(tmp_path: Path):
    plan = soda.SodaPlan(folder=tmp_path, expressed=["not_in_output"], skipped={}, argv=["soda"])

    with pytest.raises(BenchError, match="no result for not_in_output"):
        plan.outcomes(SODA_OUTPUT)
