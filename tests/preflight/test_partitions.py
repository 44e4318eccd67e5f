"""The partition-filter warning of `coord preflight`: criteria that scan every partition of a table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from coordinator.preflight import run_preflight
from coordinator.preflight.partitions import unfiltered_tables

SHIPPED = Path(__file__).parents[2] / "playbooks" / "nba" / "2026-01-27-pipeline-recovery.yaml"
PARTITIONS = {"nba_precompute.player_daily_cache": "cache_date", "nba_raw.games": "game_date"}


def test_where_on_partition_column_filters():
    sql = "SELECT COUNT(*) AS n FROM `{{ project }}.nba_precompute.player_daily_cache` WHERE cache_date = @day"

    assert unfiltered_tables(sql, PARTITIONS) == []


def test_missing_where_reported():
    sql = "SELECT COUNT(*) AS n FROM `{{ project }}.nba_precompute.player_daily_cache` WHERE player_lookup = 'x'"

    assert unfiltered_tables(sql, PARTITIONS) == ["nba_precompute.player_daily_cache"]


def test_join_condition_does_not_filter():
    sql = (
        "SELECT day, COUNT(cache.player_lookup) AS n FROM UNNEST(GENERATE_DATE_ARRAY(@start, @end)) AS day "
        "LEFT JOIN `p.nba_precompute.player_daily_cache` AS cache ON cache.cache_date = day GROUP BY day"
    )

    assert unfiltered_tables(sql, PARTITIONS) == ["nba_precompute.player_daily_cache"]


def test_filter_of_another_alias_does_not_count():
    sql = (
        "SELECT COUNT(*) AS n FROM `p.nba_precompute.player_daily_cache` AS cache "
        "JOIN `p.nba_raw.games` AS games ON games.game_date = cache.cache_date WHERE games.game_date = @day"
    )

    assert unfiltered_tables(sql, PARTITIONS) == ["nba_precompute.player_daily_cache"]


def test_each_cte_checked():
    sql = (
        "WITH a AS (SELECT cache_date FROM `p.nba_precompute.player_daily_cache` WHERE cache_date >= @day), "
        "b AS (SELECT game_date FROM `p.nba_raw.games`) SELECT COUNT(*) AS n FROM a JOIN b ON a.cache_date = b.game_date"
    )

    assert unfiltered_tables(sql, PARTITIONS) == ["nba_raw.games"]


def test_undeclared_table_ignored():
    assert unfiltered_tables("SELECT COUNT(*) AS n FROM `p.nba_raw.other`", PARTITIONS) == []


def test_shipped_incident_warnings(sandbox_repo: Path):
    report = run_preflight(SHIPPED, target="sandbox", repo=sandbox_repo)
    warnings = [problem for problem in report.warnings if "partition column" in problem.message]

    assert [problem.key_path for problem in warnings] == ["criteria[9].sql", "criteria[10].sql"]
    assert "criterion 'cache_complete_jan15_27' reads nba_precompute.player_daily_cache" in warnings[0].message
    assert "without a WHERE predicate on its partition column cache_date" in warnings[0].message
    assert "every check round scans all of its partitions" in warnings[0].message
    assert warnings[0].roles == ("reprocessing",)
    assert "criterion 'cache_built_after_phase3' reads nba_orchestration.processor_run_history" in warnings[1].message
    assert report.errors == []


def test_no_partitions_no_warning(sandbox_repo: Path, tmp_path: Path):
    text = SHIPPED.read_text()
    start = text.index("\npartitions:\n")
    end = text.index("\n\n", start + 1)
    path = tmp_path / "incident.yaml"
    path.write_text(text[:start] + text[end:])

    report = run_preflight(path, target="sandbox", repo=sandbox_repo)

    assert not [problem for problem in report.warnings if "partition column" in problem.message]


def test_invalid_table_name_rejected(sandbox_repo: Path, tmp_path: Path):
    text = SHIPPED.read_text().replace("  nba_raw.bdl_player_boxscores: game_date\n", "  bdl_player_boxscores: game_date\n")
    path = tmp_path / "incident.yaml"
    path.write_text(text)

    result = subprocess.run(
        [sys.executable, "-m", "coordinator", "preflight", str(path), "--repo", str(sandbox_repo)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    errors = [line for line in result.stdout.splitlines() if line.startswith("error:")]

    assert result.returncode == 2
    assert len(errors) == 1
    assert "partitions.bdl_player_boxscores: 'bdl_player_boxscores' is not a table name" in errors[0]
    assert f"{path}:" in errors[0]
