"""The main job: the seed incident on a fresh sandbox, before and after recovery, through the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

INCIDENT = "playbooks/nba/2026-01-27-pipeline-recovery.yaml"
PROJECT = Path(__file__).resolve().parents[2]
SEED_HANDOFFS = [
    "docs/09-handoff/2026-01-27-OPS-CHAT-COMPLETE.md",
    "docs/09-handoff/2026-01-27-REPROCESSING-CHAT-COMPLETE.md",
    "docs/09-handoff/2026-01-27-DEV-CHAT-COMPLETE.md",
]


def coord(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coordinator", *arguments], cwd=cwd, capture_output=True, text=True, timeout=600
    )


def criteria_by_id(output: str) -> dict[str, dict]:
    return {criterion["id"]: criterion for criterion in json.loads(output)["criteria"]}


def test_check_before_recovery_shows_seed_problems(tmp_path: Path):
    workspace = tmp_path / "workspace"
    assert coord("sandbox", "init", "--dir", str(workspace), cwd=tmp_path).returncode == 0

    result = coord("check", str(PROJECT / INCIDENT), "--json", cwd=workspace)

    assert result.returncode == 1
    criteria = criteria_by_id(result.stdout)
    assert criteria["props_collected_today"]["status"] == "fail"
    assert criteria["props_collected_today"]["value"] == 0
    assert criteria["cache_restored_jan26"]["status"] == "fail"
    assert criteria["cache_restored_jan26"]["value"] == 0
    assert criteria["player_coverage_jan15"]["status"] == "fail"
    assert criteria["player_coverage_jan15"]["value"] == pytest.approx(63.6, abs=1.0)
    assert criteria["usage_rate_coverage_jan22"]["status"] == "fail"
    assert criteria["usage_rate_coverage_jan22"]["value"] == 0


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    workspace = tmp_path_factory.mktemp("demo") / "workspace"
    return coord("demo", "--dir", str(workspace), cwd=PROJECT), workspace


def test_demo_ends_with_final_validation_passing(demo):
    result, workspace = demo

    assert result.returncode == 0, result.stdout + result.stderr
    assert "final validation tonight_data_valid: pass" in result.stdout
    assert (workspace / "prompts" / "coordination.md").is_file()
    for role in ("ops", "reprocessing", "dev"):
        assert (workspace / "prompts" / f"{role}.md").is_file()


def test_after_demo_every_measured_criterion_passes(demo):
    _, workspace = demo

    result = coord("check", INCIDENT, "--json", cwd=workspace)

    assert result.returncode == 0
    statuses = {criterion["id"]: (criterion["kind"], criterion["status"]) for criterion in json.loads(result.stdout)["criteria"]}
    measured = {key: status for key, (kind, status) in statuses.items() if kind != "manual"}
    manual = {key: status for key, (kind, status) in statuses.items() if kind == "manual"}
    assert set(measured.values()) == {"pass"}
    assert manual and set(manual.values()) == {"waiting"}


def test_demo_writes_handoffs_at_seed_paths(demo):
    _, workspace = demo

    for path in SEED_HANDOFFS:
        text = (workspace / path).read_text(encoding="utf-8")
        assert "| Status | **" in text
        assert "## Success criteria: first and latest values" in text


def test_tick_moves_manual_criterion_to_pass(demo):
    _, workspace = demo

    tick = coord("tick", INCIDENT, "changes_reviewed", "--by", "Ana", "--why", "read the diff", cwd=workspace)
    result = coord("check", INCIDENT, "--role", "dev", "--json", cwd=workspace)

    assert tick.returncode == 0
    assert criteria_by_id(result.stdout)["changes_reviewed"]["status"] == "pass"


def test_tick_refuses_measured_criterion(demo):
    _, workspace = demo

    result = coord("tick", INCIDENT, "props_collected_today", "--by", "Ana", "--why", "looked", cwd=workspace)

    assert result.returncode == 2
    assert "not ticked" in result.stderr


def test_board_shows_fixes_after_demo(demo):
    _, workspace = demo

    result = coord("board", INCIDENT, "--fixes", "--json", cwd=workspace)

    assert result.returncode == 0
    fixes = {fix["task"]: fix for fix in json.loads(result.stdout)["fixes"]["fixes"]}
    assert fixes["fix_quota_issue"]["stage"] == "verified"
    assert fixes["fix_quota_issue"]["service"] == "nba-phase3-analytics-processors"
