from datetime import date

import duckdb

from coordinator.sandbox import (
    advance, apply_migration, apply_patch, backfill, deploy, describe_service, describe_table, read_logs,
    run_job, spot_check, validate,
)
from coordinator.sandbox.workspace import WAREHOUSE_PATH
from .queries import coverage, scalar, usage_coverage

TODAY = date(2026, 1, 27)
SCRAPER_ENV = {"BETTINGPROS_API_KEY": "test-key-0001"}
CACHE = "SELECT COUNT(DISTINCT player_lookup) FROM nba_precompute.player_daily_cache WHERE cache_date = ?"


def collect_props(workspace):
    deploy(workspace, "nba-scrapers", env=SCRAPER_ENV)
    run_job(workspace, "execute-workflows")


def deploy_processing_order_fix(workspace):
    apply_patch(workspace, "processing-order")
    deploy(workspace, "nba-phase3-analytics-processors")


def test_hourly_workflows_skip_before_redeploy(workspace):
    report = run_job(workspace, "execute-workflows")
    assert report.notes[0].startswith("betting_lines SKIP - First game in")
    assert scalar(workspace, "SELECT COUNT(*) FROM nba_raw.bettingpros_player_points_props") == 0


def test_hourly_workflows_run_after_redeploy(workspace):
    description = deploy(workspace, "nba-scrapers", env=SCRAPER_ENV)
    assert description["window_before_game_hours"] == "12"
    assert description["revision_date"] == "2026-01-27"
    report = run_job(workspace, "execute-workflows")
    assert report.notes[0].startswith("betting_lines RUN")
    assert scalar(workspace, "SELECT COUNT(*) FROM nba_raw.bettingpros_player_points_props WHERE game_date = ?", [TODAY]) > 1000


def test_predictions_need_props(workspace):
    report = run_job(workspace, "morning-predictions")
    assert report.failed
    assert "props" in report.outcomes[0].message


def test_predictions_need_cache(workspace):
    collect_props(workspace)
    con = duckdb.connect(str(workspace / WAREHOUSE_PATH))
    con.execute("DELETE FROM nba_precompute.player_daily_cache WHERE cache_date = ?", [TODAY])
    con.close()
    report = run_job(workspace, "morning-predictions")
    assert report.failed
    assert "player_daily_cache" in report.outcomes[0].message


def test_predictions_after_props(workspace):
    collect_props(workspace)
    report = run_job(workspace, "morning-predictions")
    assert not report.failed
    predictions = "SELECT COUNT(*) FROM nba_predictions.player_prop_predictions WHERE game_date = ? AND is_active"
    assert scalar(workspace, predictions, [TODAY]) > 50
    systems = "SELECT COUNT(DISTINCT system_id) FROM nba_predictions.player_prop_predictions"
    assert scalar(workspace, systems) == 5


def test_phase4_before_phase3_stays_empty(workspace):
    report = run_job(workspace, "same-day-phase4")
    assert report.failed
    assert scalar(workspace, CACHE, [date(2026, 1, 26)]) == 0


def test_phase3_then_phase4_fills_cache(workspace):
    assert not run_job(workspace, "same-day-phase3").failed
    assert scalar(workspace, "SELECT COUNT(*) FROM nba_analytics.player_game_summary WHERE game_date = '2026-01-25'") > 0
    assert not run_job(workspace, "same-day-phase4").failed
    assert scalar(workspace, CACHE, [date(2026, 1, 26)]) > 100


def test_backfill_raises_coverage_and_usage(workspace):
    before = spot_check(workspace, date(2026, 1, 15), date(2026, 1, 25), samples=20).accuracy
    deploy_processing_order_fix(workspace)
    backfill(workspace, "phase3", date(2026, 1, 1), date(2026, 1, 25))
    assert 88.0 <= coverage(workspace, date(2026, 1, 15)) <= 95.0
    assert usage_coverage(workspace, date(2026, 1, 22)) >= 90.0
    lookups = "SELECT COUNT(*) FROM nba_analytics.player_game_summary WHERE player_lookup = ? AND game_date >= '2026-01-15'"
    for player in ("anthonydavis", "damianlillard", "austinreaves"):
        assert scalar(workspace, lookups, [player]) > 0, player
    assert spot_check(workspace, date(2026, 1, 15), date(2026, 1, 25), samples=20).accuracy > max(before, 90.0)


def test_backfill_phase4_reports_future_dates(workspace):
    backfill(workspace, "phase3", date(2026, 1, 1), date(2026, 1, 25))
    report = backfill(workspace, "phase4", date(2026, 1, 1), date(2026, 2, 13))
    assert not report.failed
    assert any("after the sandbox date" in note for note in report.notes)
    for day in range(15, 28):
        assert scalar(workspace, CACHE, [date(2026, 1, day)]) > 100, day


def test_streaming_patch_cuts_writes(workspace):
    loaded = advance(workspace, "1h")
    assert 80 <= loaded.circuit_breaker_writes <= 90
    assert loaded.quota_errors > 0

    assert apply_patch(workspace, "streaming-inserts").commit is not None
    assert describe_service(workspace, "nba-phase3-analytics-processors")["writer"] == "load_jobs"
    deploy(workspace, "nba-phase3-analytics-processors")
    assert describe_service(workspace, "nba-phase3-analytics-processors")["writer"] == "streaming"

    streamed = advance(workspace, "1h")
    assert 1 <= streamed.circuit_breaker_writes <= 2
    assert read_logs(workspace, text="quota", freshness="1h") == []


def test_patch_twice_commits_once(workspace):
    assert apply_patch(workspace, "processing-order").commit is not None
    assert apply_patch(workspace, "processing-order").commit is None


def test_gate_and_order_patches_deploy(workspace):
    apply_patch(workspace, "processing-gate")
    apply_patch(workspace, "processing-order")
    description = deploy(workspace, "nba-phase3-analytics-processors")
    assert description["processing_gate"] == "true"
    assert description["hard_dependencies"] == "team_offense_game_summary"


def test_migration_adds_quality_columns(workspace):
    apply_migration(workspace, workspace / "migrations/add_quality_metadata.sql")
    columns = dict(describe_table(workspace, "`nba-props-platform.nba_analytics.player_game_summary`"))
    assert columns["quality_tier"] == "VARCHAR"
    assert columns["upstream_complete"] == "BOOLEAN"


def test_full_recovery_reaches_zero_issues(workspace):
    collect_props(workspace)
    run_job(workspace, "morning-predictions")
    run_job(workspace, "same-day-phase3")
    run_job(workspace, "same-day-phase4")
    assert validate(workspace).issue_count == 2

    deploy_processing_order_fix(workspace)
    backfill(workspace, "phase3", date(2026, 1, 1), date(2026, 1, 25))
    backfill(workspace, "phase4", date(2026, 1, 1), date(2026, 2, 13))
    report = validate(workspace)
    assert report.issue_count == 0
    assert report.lines()[-1] == "0 ISSUES"
