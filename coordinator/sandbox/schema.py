"""DuckDB tables of the sandbox warehouse.

Schemas carry the BigQuery dataset names, so a BigQuery query with the project part removed runs unchanged.
Every TIMESTAMP column holds naive UTC (DuckDB ``TIMESTAMP``, no time zone); ``sandbox.clock`` is UTC too.
"""

SCHEMAS = (
    "nba_raw",
    "nba_analytics",
    "nba_precompute",
    "nba_predictions",
    "nba_orchestration",
    "nba_reference",
    "sandbox",
)

TABLES: dict[str, str] = {
    "nba_raw.nbac_schedule": (
        "game_date DATE, game_id VARCHAR, away_team_abbr VARCHAR, home_team_abbr VARCHAR, game_start_time TIMESTAMP"
    ),
    "nba_raw.nbac_player_list_current": (
        "player_lookup VARCHAR, player_name VARCHAR, team_abbr VARCHAR, roster_role VARCHAR"
    ),
    "nba_raw.bettingpros_player_points_props": (
        "game_date DATE, player_lookup VARCHAR, market_type VARCHAR, points_line DOUBLE, bookmaker VARCHAR, "
        "is_active BOOLEAN, created_at TIMESTAMP"
    ),
    "nba_raw.bdl_player_boxscores": (
        "game_date DATE, game_id VARCHAR, player_lookup VARCHAR, team_abbr VARCHAR, minutes VARCHAR, points BIGINT, "
        "field_goals_attempted BIGINT, free_throws_attempted BIGINT, turnovers BIGINT"
    ),
    "nba_reference.nba_players_registry": (
        "player_lookup VARCHAR, player_name VARCHAR, team_abbr VARCHAR, resolved_at TIMESTAMP, resolution_source VARCHAR"
    ),
    "nba_reference.unresolved_player_names": (
        "player_lookup VARCHAR, team_abbr VARCHAR, first_seen DATE, status VARCHAR"
    ),
    "nba_analytics.player_game_summary": (
        "game_date DATE, game_id VARCHAR, player_lookup VARCHAR, team_abbr VARCHAR, points BIGINT, "
        "minutes_played DECIMAL(10,2), usage_rate DECIMAL(10,2), fg_attempts BIGINT, ft_attempts BIGINT, "
        "turnovers BIGINT, is_dnp BOOLEAN, primary_source_used VARCHAR"
    ),
    "nba_analytics.team_offense_game_summary": (
        "game_date DATE, game_id VARCHAR, team_abbr VARCHAR, fg_attempts BIGINT, ft_attempts BIGINT, "
        "turnovers BIGINT, possessions BIGINT, home_game BOOLEAN"
    ),
    "nba_precompute.player_daily_cache": (
        "cache_date DATE, player_lookup VARCHAR, points_avg_last_5 DECIMAL(10,2), points_avg_last_10 DECIMAL(10,2), "
        "usage_rate_last_10 DECIMAL(10,2), created_at TIMESTAMP"
    ),
    "nba_predictions.player_prop_predictions": (
        "game_date DATE, game_id VARCHAR, player_lookup VARCHAR, system_id VARCHAR, predicted_points DECIMAL(10,2), "
        "recommendation VARCHAR, has_prop_line BOOLEAN, is_active BOOLEAN, created_at TIMESTAMP"
    ),
    "nba_orchestration.circuit_breaker_state": (
        "processor_name VARCHAR, state VARCHAR, failure_count BIGINT, updated_at TIMESTAMP"
    ),
    "nba_orchestration.workflow_decisions": (
        "decision_time TIMESTAMP, workflow_name VARCHAR, action VARCHAR, reason VARCHAR"
    ),
    "nba_orchestration.processor_run_history": (
        "processor_name VARCHAR, data_date DATE, status VARCHAR, started_at TIMESTAMP, records_written BIGINT, "
        "error_message VARCHAR"
    ),
    "sandbox.clock": "now TIMESTAMP",
    "sandbox.logs": "ts TIMESTAMP, severity VARCHAR, resource_type VARCHAR, source VARCHAR, message VARCHAR",
    "sandbox.service_revisions": (
        "service VARCHAR, revision VARCHAR, deployed_at TIMESTAMP, git_commit VARCHAR, "
        "window_before_game_hours INTEGER, writer VARCHAR, processing_gate BOOLEAN, hard_dependencies VARCHAR, "
        "env VARCHAR"
    ),
    "sandbox.scheduler_jobs": "name VARCHAR, schedule VARCHAR, time_zone VARCHAR, target_service VARCHAR, description VARCHAR",
    "sandbox.team_stats_arrivals": "game_date DATE, game_id VARCHAR, team_abbr VARCHAR, arrived_at TIMESTAMP",
}



def create_all(con) -> None:
    """Create every schema and table of the sandbox warehouse in an empty DuckDB database.

    The warehouse has no `nba_raw.bp_player_props`: the real warehouse has none either, so a query naming it
    fails here as it would in production.
    """
    for schema in SCHEMAS:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    for table, columns in TABLES.items():
        con.execute(f"CREATE TABLE {table} ({columns})")
