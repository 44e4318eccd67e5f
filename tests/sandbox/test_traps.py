"""The traps of the real day, each caught by a criterion of the shipped incident and not by an exit code."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from coordinator.board.store import Board
from coordinator.criteria.evaluate import evaluate
from coordinator.sandbox import apply_patch, backfill, deploy, describe_service, health, run_job, trigger_workflow
from coordinator.spec import load_incident
from coordinator.target import TargetContext

from .queries import coverage, scalar

SEED = Path(__file__).resolve().parents[2] / "playbooks/nba/2026-01-27-pipeline-recovery.yaml"
PROPS_TODAY = "SELECT COUNT(*) FROM nba_raw.bettingpros_player_points_props WHERE game_date = '2026-01-27'"


@pytest.fixture(scope="module")
def incident():
    return load_incident(SEED)


def measure(incident, workspace: Path, criterion_id: str):
    context = TargetContext(incident=incident, target="sandbox", repo=workspace)
    try:
        return evaluate(incident.criterion(criterion_id), context, ticks={})
    finally:
        context.close()


def test_redeploy_without_env_fails_to_serve(incident, workspace):
    description = deploy(workspace, "nba-scrapers")

    assert description["revision_date"] == "2026-01-27"
    assert measure(incident, workspace, "scrapers_redeployed_today").status == "pass"
    serving = measure(incident, workspace, "scrapers_serving")
    assert serving.status == "fail"
    assert "BETTINGPROS_API_KEY is not set" in serving.output_tail
    with pytest.raises(Exception, match="fails to serve"):
        run_job(workspace, "execute-workflows")


def test_redeploy_with_env_serves(incident, workspace):
    deploy(workspace, "nba-scrapers", env={"BETTINGPROS_API_KEY": "test-key-0001"})

    assert health(workspace, "nba-scrapers")[0] is True
    assert measure(incident, workspace, "scrapers_serving").status == "pass"


def test_trigger_endpoint_accepts_and_does_nothing(incident, workspace):
    deploy(workspace, "nba-scrapers", env={"BETTINGPROS_API_KEY": "test-key-0001"})

    decision = trigger_workflow(workspace, "betting_lines")

    assert decision.action == "ACCEPTED"
    assert scalar(workspace, PROPS_TODAY) == 0
    assert measure(incident, workspace, "props_collected_today").status == "fail"


def test_phase4_before_phase3_detected(incident, workspace):
    apply_patch(workspace, "processing-order")
    deploy(workspace, "nba-phase3-analytics-processors")

    run_job(workspace, "same-day-phase3")

    backfill(workspace, "phase4", date(2026, 1, 1), date(2026, 2, 13))
    backfill(workspace, "phase3", date(2026, 1, 1), date(2026, 1, 25))

    assert measure(incident, workspace, "cache_complete_jan15_27").status == "pass"
    stale = measure(incident, workspace, "cache_built_after_phase3")
    assert stale.status == "fail"
    assert stale.value > 0

    backfill(workspace, "phase4", date(2026, 1, 1), date(2026, 2, 13))
    assert measure(incident, workspace, "cache_built_after_phase3").status == "pass"


def test_phase3_backfill_before_fix_changes_nothing(incident, workspace):
    before = coverage(workspace, date(2026, 1, 15))

    report = backfill(workspace, "phase3", date(2026, 1, 1), date(2026, 1, 25))

    assert coverage(workspace, date(2026, 1, 15)) == before
    assert measure(incident, workspace, "player_coverage_jan15").status == "fail"
    assert measure(incident, workspace, "usage_rate_coverage_jan22").status == "fail"
    assert any("deploy the processing-order fix" in note for note in report.notes)
    assert describe_service(workspace, "nba-phase3-analytics-processors")["hard_dependencies"] == ""


def test_phase3_backfill_after_fix_rewrites(incident, workspace):
    apply_patch(workspace, "processing-order")
    deploy(workspace, "nba-phase3-analytics-processors")

    backfill(workspace, "phase3", date(2026, 1, 1), date(2026, 1, 25))

    assert measure(incident, workspace, "player_coverage_jan15").status == "pass"
    assert measure(incident, workspace, "usage_rate_coverage_jan22").status == "pass"
