"""`coord preflight` on real incident files, a seeded sandbox workspace and its DuckDB warehouse."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from coordinator.preflight import run_preflight
from coordinator.spec import load_incident

FILES = Path(__file__).parent / "files"
SHIPPED = Path(__file__).parents[2] / "playbooks" / "nba" / "2026-01-27-pipeline-recovery.yaml"
PROPS_TABLE = "nba_raw.bettingpros_player_points_props"
ORIGINAL_PROPS_TABLE = "nba_raw.bp_player_props"


def coord(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coordinator", *arguments], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def line_of(path: Path, marker: str) -> int:
    return next(number for number, text in enumerate(path.read_text().splitlines(), 1) if marker in text)


def test_shipped_incident_clean(sandbox_repo: Path):
    report = run_preflight(SHIPPED, target="sandbox", repo=sandbox_repo)

    assert [str(problem) for problem in report.errors] == []
    assert report.estimates
    assert report.round_bytes() is None
    assert "gives no byte estimates" in (report.estimate_note or "")


def test_original_props_table_reported(sandbox_repo: Path, tmp_path: Path):
    path = tmp_path / "incident.yaml"
    path.write_text(SHIPPED.read_text().replace(f".{PROPS_TABLE}`", f".{ORIGINAL_PROPS_TABLE}`"))
    line = line_of(path, ORIGINAL_PROPS_TABLE + "`")

    report = run_preflight(path, target="sandbox", repo=sandbox_repo)

    assert len(report.errors) == 1
    error = report.errors[0]
    assert error.line == line
    assert error.column == path.read_text().splitlines()[line - 1].index("bp_player_props") + 1
    assert error.key_path.startswith("criteria[")
    assert error.key_path.endswith("].sql")
    assert "criterion 'props_collected_today' does not compile on target 'sandbox'" in error.message
    assert "Table with name bp_player_props does not exist" in error.message
    assert error.roles == ("ops",)


def test_five_problems_one_run(sandbox_repo: Path):
    path = FILES / "five_problems.yaml"

    report = run_preflight(path, target="sandbox", repo=sandbox_repo)
    errors = {problem.line: problem.message for problem in report.errors}

    assert "bin/deploy/deploy_scrapers.sh" in errors[line_of(path, "missing script")]
    assert "not in the repository at HEAD" in errors[line_of(path, "missing script")]
    assert "2026-03-01 is after the incident date 2026-01-27" in errors[line_of(path, "future date")]
    assert "task 'review' has no role" in errors[line_of(path, "no owner")]
    assert "DELETE is not allowed" in errors[line_of(path, "PROBLEM writes")]
    assert "criterion 'clock_cleared'" in errors[line_of(path, "PROBLEM writes")]
    assert 'Referenced column "usage_rat" not found' in errors[line_of(path, "usage_rat IS NOT NULL")]
    assert len(report.errors) == 5


def test_cli_exit_code_and_json(sandbox_repo: Path):
    text_run = coord("preflight", str(FILES / "five_problems.yaml"), cwd=sandbox_repo)
    json_run = coord("preflight", str(FILES / "five_problems.yaml"), "--json", cwd=sandbox_repo)
    report = json.loads(json_run.stdout)

    assert text_run.returncode == 2
    assert text_run.stdout.count("\nerror: ") + text_run.stdout.startswith("error: ") == 5
    assert text_run.stdout.rstrip().endswith("five-problems on sandbox: 5 errors, 0 warnings")
    assert json_run.returncode == 2
    assert report["exit_code"] == 2
    assert len(report["errors"]) == 5
    assert report["warnings"] == []
    assert [entry["id"] for entry in report["estimates"]["criteria"]] == []


def test_shipped_incident_cli_clean(sandbox_repo: Path):
    result = coord("preflight", str(SHIPPED), "--target", "sandbox", cwd=sandbox_repo)

    assert result.returncode == 0, result.stdout
    assert "2026-01-27-pipeline-recovery on sandbox: 0 errors" in result.stdout


def test_percentage_bounds_flagged(sandbox_repo: Path, tmp_path: Path):
    text = SHIPPED.read_text()
    assert text.count("expect: {column: coverage_pct, op: between, value: [85, 100]}") == 1
    assert text.count("expect: {column: pct, op: between, value: [80, 100]}") == 1
    path = tmp_path / "incident.yaml"
    path.write_text(
        text.replace("expect: {column: coverage_pct, op: between, value: [85, 100]}", 'expect: {column: coverage_pct, op: ">", value: 85}')
        .replace("expect: {column: pct, op: between, value: [80, 100]}", "expect: {column: pct, op: between, value: [80, 120]}")
    )

    report = run_preflight(path, target="sandbox", repo=sandbox_repo)
    messages = [problem.message for problem in report.errors]

    assert len(messages) == 2
    assert "criterion 'player_coverage_jan15' bounds coverage_pct only from below (> 85)" in messages[0]
    assert "criterion 'usage_rate_coverage_jan22' lets pct reach 120, above 100%" in messages[1]


def test_unowned_criterion_and_shared_handoff(sandbox_repo: Path, tmp_path: Path):
    text = (FILES / "five_problems.yaml").read_text()
    path = tmp_path / "incident.yaml"
    dev_role = "  - name: dev\n    title: Development\n    mission: Fix.\n    handoff: {path: handoffs/ops.md, sections: [{title: Runs, show: [runs]}]}\n"
    path.write_text(
        text.replace("    criteria: [usage_rate_covered, clock_cleared]\n", "    criteria: [clock_cleared]\n")
        .replace("    role: ops\n    text: Usage rate coverage above 80%", "    text: Usage rate coverage above 80%")
        .replace("\ntasks:\n", "\n" + dev_role + "\ntasks:\n")
    )

    messages = [problem.message for problem in run_preflight(path, target="sandbox", repo=sandbox_repo).errors]

    assert any("criterion 'usage_rate_covered' has no owner" in message for message in messages)
    assert any("roles 'ops' and 'dev' write their handoffs to the same path 'handoffs/ops.md'" in message for message in messages)


def test_prompts_refused_then_forced(sandbox_repo: Path, tmp_path: Path):
    path = tmp_path / "incident.yaml"
    path.write_text(SHIPPED.read_text().replace(f".{PROPS_TABLE}`", f".{ORIGINAL_PROPS_TABLE}`"))
    out = tmp_path / "prompts"

    refused = coord("prompts", str(path), "--out", str(out), cwd=sandbox_repo)

    assert refused.returncode == 2
    assert "1 preflight errors: no prompts written" in refused.stderr
    assert not out.exists()

    forced = coord("prompts", str(path), "--out", str(out), "--force", cwd=sandbox_repo)

    assert forced.returncode == 0, forced.stderr
    ops = (out / "ops.md").read_text()
    assert "## WARNING: Rendered Despite Problems" in ops
    assert "Table with name bp_player_props does not exist" in ops
    assert "Rendered Despite Problems" not in (out / "dev.md").read_text()
    assert "Table with name bp_player_props does not exist" in (out / "coordination.md").read_text()


def test_bytes_estimates_and_cap(sandbox_repo: Path, monkeypatch):
    from coordinator.warehouse import base
    from coordinator.warehouse.base import DryRun
    from coordinator.warehouse.bigquery import BigQueryWarehouse, parse_url

    class Estimating(BigQueryWarehouse):
        """A BigQuery warehouse whose dry runs estimate 2 GB for the props table and 1 MB for others."""

        def dry_run(self, sql, params, *, label):
            return DryRun(bytes_processed=2 * 10**9 if "bettingpros" in sql else 10**6)

    url = "bigquery://nba-props-platform?location=US&maximum_bytes_billed=1GB"
    monkeypatch.setattr(base, "open_warehouse", lambda _url, root: Estimating(parse_url(url), url=url))

    report = run_preflight(SHIPPED, target="prod", repo=sandbox_repo)
    over_cap = [problem for problem in report.errors if "rejected before running" in problem.message]
    sql_criteria = [criterion for criterion in load_incident(SHIPPED).criteria if criterion.sql is not None]

    assert len(over_cap) == 1
    assert "criterion 'props_collected_today'" in over_cap[0].message
    assert "estimates 2000000000 bytes (2.0 GB)" in over_cap[0].message
    assert len(report.estimates) == len(sql_criteria)
    assert report.round_bytes() == 2 * 10**9 + (len(sql_criteria) - 1) * 10**6
    ops_queries = [criterion for criterion in sql_criteria if criterion.role == "ops"]
    assert report.round_bytes("ops") == 2 * 10**9 + (len(ops_queries) - 1) * 10**6
