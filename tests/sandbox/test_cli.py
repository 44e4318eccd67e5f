from typer.testing import CliRunner

from coordinator.cli.sandbox import sandbox_app

runner = CliRunner()


def invoke(workspace, *args):
    return runner.invoke(sandbox_app, [*args, "--dir", str(workspace)])


def test_cli_now(workspace):
    result = invoke(workspace, "now")
    assert result.exit_code == 0
    assert result.output.strip() == "2026-01-27T15:00:00Z"


def test_cli_unknown_service(workspace):
    result = invoke(workspace, "describe", "nba-nothing")
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert "unknown service 'nba-nothing'" in result.output


def test_cli_missing_workspace(tmp_path):
    result = runner.invoke(sandbox_app, ["now", "--dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "not a sandbox workspace" in result.output


def test_cli_describe_field(workspace):
    result = invoke(workspace, "describe", "nba-scrapers", "--field", "deployed_at", "--field", "window_before_game_hours")
    assert result.output.splitlines() == ["2026-01-24T02:17:15Z", "6"]


def test_cli_validate_exit_codes(workspace):
    result = invoke(workspace, "validate")
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == "5 ISSUES"


def test_cli_recovery_session(workspace):
    steps = [
        ("deploy", "nba-scrapers", "--env", "BETTINGPROS_API_KEY=test-key-0001"),
        ("health", "nba-scrapers"),
        ("trigger", "betting_lines"),
        ("run-job", "execute-workflows"),
        ("run-job", "morning-predictions"),
        ("run-job", "same-day-phase3"),
        ("run-job", "same-day-phase4"),
        ("patch", "streaming-inserts"),
        ("patch", "processing-gate"),
        ("patch", "processing-order"),
        ("migrate", "migrations/add_quality_metadata.sql"),
        ("deploy", "nba-phase3-analytics-processors"),
        ("backfill", "phase3", "--start-date", "2026-01-01", "--end-date", "2026-01-25"),
        ("backfill", "phase4", "--start-date", "2026-01-01", "--end-date", "2026-02-13"),
        ("advance", "1h"),
    ]
    for step in steps:
        result = invoke(workspace, *step)
        assert result.exit_code == 0, (step, result.output)

    assert invoke(workspace, "logs", "--filter", "quota", "--freshness", "1h").output == ""
    result = invoke(workspace, "validate")
    assert result.exit_code == 0
    assert result.output.splitlines()[-1] == "0 ISSUES"


def test_cli_bad_date(workspace):
    result = invoke(workspace, "backfill", "phase3", "--start-date", "Jan 1", "--end-date", "2026-01-25")
    assert result.exit_code == 2
    assert "invalid --start-date" in result.output
