import subprocess
import sys
from datetime import date

import git
import pytest

from coordinator.sandbox import SandboxError, init_workspace, validate

from .queries import coverage, scalar, usage_coverage


def test_seed_reported_figures(workspace):
    raw_players = "SELECT COUNT(DISTINCT player_lookup) FROM nba_raw.bdl_player_boxscores WHERE game_date = ?"
    assert scalar(workspace, raw_players, [date(2026, 1, 15)]) == 316
    assert scalar(workspace, raw_players, [date(2026, 1, 22)]) == 282
    assert coverage(workspace, date(2026, 1, 15)) == 63.6
    assert usage_coverage(workspace, date(2026, 1, 22)) == 0.0
    assert 40.0 <= usage_coverage(workspace, date(2026, 1, 26)) <= 43.0
    assert scalar(workspace, "SELECT COUNT(*) FROM nba_raw.bettingpros_player_points_props WHERE game_date = '2026-01-27'") == 0
    assert scalar(workspace, "SELECT COUNT(*) FROM nba_predictions.player_prop_predictions WHERE game_date = '2026-01-27'") == 0


def test_seed_cache_cascade(workspace):
    cache = "SELECT COUNT(DISTINCT player_lookup) FROM nba_precompute.player_daily_cache WHERE cache_date = ?"
    assert scalar(workspace, cache, [date(2026, 1, 26)]) == 0
    assert 150 <= scalar(workspace, cache, [date(2026, 1, 25)]) <= 200
    assert scalar(workspace, cache, [date(2026, 1, 27)]) > 100
    assert scalar(workspace, "SELECT COUNT(*) FROM nba_analytics.player_game_summary WHERE game_date = '2026-01-25'") == 0
    failure = scalar(
        workspace,
        "SELECT error_message FROM nba_orchestration.processor_run_history "
        "WHERE processor_name = 'PlayerGameSummaryProcessor' AND status = 'failed'",
    )
    assert failure.startswith("DependencyError")


def test_seed_coverage_range_jan_1_to_21(workspace):
    for day in range(1, 22):
        assert 60.0 <= coverage(workspace, date(2026, 1, day)) <= 75.0, day


def test_seed_quota_pressure(workspace):
    writes = "SELECT COUNT(*) FROM nba_orchestration.circuit_breaker_state WHERE CAST(updated_at AS DATE) = '2026-01-27'"
    assert scalar(workspace, writes) == 1248
    pgs = writes + " AND processor_name = 'PlayerGameSummaryProcessor'"
    assert scalar(workspace, pgs) == 743
    quota = "SELECT COUNT(*) FROM sandbox.logs WHERE message ILIKE '%quota%' AND ts >= '2026-01-27 14:00'"
    assert scalar(workspace, quota) > 0


def test_seed_duplicate_game_ids(workspace):
    extra = scalar(
        workspace,
        "SELECT COUNT(*) - 2 * COUNT(DISTINCT split_part(game_id, '_', 1) || least(split_part(game_id, '_', 2), "
        "split_part(game_id, '_', 3))) FROM nba_analytics.team_offense_game_summary WHERE game_date = '2026-01-26'",
    )
    assert extra == 6


def test_seed_morning_decision(workspace):
    reason = scalar(workspace, "SELECT reason FROM nba_orchestration.workflow_decisions ORDER BY decision_time DESC LIMIT 1")
    assert reason == "First game in 9.0h (window starts 6h before)"


def test_seed_validation_has_five_issues(workspace):
    assert validate(workspace).issue_count == 5


def test_seed_git_history(workspace):
    repo = git.Repo(workspace)
    commits = list(repo.iter_commits())
    window_commits = list(repo.iter_commits(paths="config/workflows.yaml"))
    assert [commit.committed_datetime.date() for commit in window_commits] == [date(2026, 1, 26), date(2026, 1, 20)]
    assert "window_before_game_hours: 6" in (window_commits[1].tree / "config/workflows.yaml").data_stream.read().decode()
    assert "window_before_game_hours: 12" in (workspace / "config/workflows.yaml").read_text()
    assert all(commit.author.email == "dev@example.invalid" for commit in commits)
    assert not (workspace / "bin/deploy/deploy_scrapers.sh").exists()
    assert not (workspace / "backfill_jobs/analytics/player_game_summary/player_game_summary_analytics_backfill.py").exists()
    assert not repo.is_dirty(untracked_files=True)


def test_seed_pipeline_tests_pass(workspace):
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit/validation"],
        cwd=workspace, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout


def test_init_rejects_non_empty_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("keep")
    with pytest.raises(SandboxError, match="not empty"):
        init_workspace(tmp_path)
