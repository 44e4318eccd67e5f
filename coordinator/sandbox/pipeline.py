"""The pipeline's processing rules, as SQL over the sandbox warehouse.

Every function takes an open DuckDB connection and the moments it runs at (naive UTC). Phase 3 keeps only the
raw players the registry had resolved at that moment and computes usage rate only from team stats that had
arrived by then, so rerunning a date later picks up later fixes.
"""

from __future__ import annotations

import hashlib
import math
import statistics
from datetime import date, datetime, timedelta

from coordinator.sandbox.workspace import bulk_insert

PHASE3_PROCESSOR = "PlayerGameSummaryProcessor"
PHASE4_PROCESSOR = "PlayerDailyCacheProcessor"
CACHE_LOOKBACK_DAYS = 10
BOOKMAKERS = ("DraftKings", "FanDuel", "BetMGM", "Caesars", "PointsBet", "BetRivers", "ESPNBet", "Fanatics")
BOOKMAKER_COVERAGE = 0.92
PREDICTION_SYSTEMS = ("moving_average", "zone_matchup_v1", "similarity_balanced_v1", "xgboost_v1", "ensemble_v1")
RECOMMENDATION_EDGE = 1.0

MINUTES_PLAYED_SQL = """
    CASE
        WHEN b.minutes IS NULL OR b.minutes IN ('', '0', '00', '0:00', '00:00') THEN 0.0
        WHEN b.minutes LIKE '%:%' THEN
            CAST(split_part(b.minutes, ':', 1) AS DOUBLE) + CAST(split_part(b.minutes, ':', 2) AS DOUBLE) / 60.0
        ELSE CAST(b.minutes AS DOUBLE)
    END
"""

# Usage rate: 100 * (FGA + 0.44 FTA + TOV) * (team minutes / 5) / (minutes * (team FGA + 0.44 team FTA + team TOV)),
# with 240 team minutes in regulation.
# The column list keeps the insert valid after the quality-metadata migration adds columns to the table.
PHASE3_SQL = f"""
    INSERT INTO nba_analytics.player_game_summary (
        game_date, game_id, player_lookup, team_abbr, points, minutes_played, usage_rate, fg_attempts,
        ft_attempts, turnovers, is_dnp, primary_source_used
    )
    WITH lines AS (
        SELECT b.*, r.as_of, {MINUTES_PLAYED_SQL} AS minutes_played
        FROM nba_raw.bdl_player_boxscores b
        JOIN phase3_runs r ON r.game_date = b.game_date
    ),
    arrived_team_stats AS (
        SELECT t.*, a.arrived_at
        FROM nba_analytics.team_offense_game_summary t
        JOIN sandbox.team_stats_arrivals a
          ON a.game_date = t.game_date AND a.game_id = t.game_id AND a.team_abbr = t.team_abbr
    )
    SELECT
        l.game_date, l.game_id, l.player_lookup, l.team_abbr, l.points,
        CAST(ROUND(l.minutes_played, 2) AS DECIMAL(10,2)),
        CASE WHEN l.minutes_played > 0 AND t.fg_attempts IS NOT NULL THEN CAST(ROUND(
            100.0 * (l.field_goals_attempted + 0.44 * l.free_throws_attempted + l.turnovers) * (240.0 / 5)
            / (l.minutes_played * (t.fg_attempts + 0.44 * t.ft_attempts + t.turnovers)), 2) AS DECIMAL(10,2))
        END,
        l.field_goals_attempted, l.free_throws_attempted, l.turnovers,
        l.minutes_played = 0,
        'nba_raw.bdl_player_boxscores'
    FROM lines l
    JOIN nba_reference.nba_players_registry g
      ON g.player_lookup = l.player_lookup AND g.resolved_at <= l.as_of
    LEFT JOIN arrived_team_stats t
      ON t.game_id = l.game_id AND t.team_abbr = l.team_abbr AND t.arrived_at <= l.as_of
"""

TEAM_OFFENSE_SQL = """
    INSERT INTO nba_analytics.team_offense_game_summary
    SELECT b.game_date, b.game_id, b.team_abbr,
           SUM(b.field_goals_attempted), SUM(b.free_throws_attempted), SUM(b.turnovers),
           CAST(ROUND(SUM(b.field_goals_attempted) + 0.44 * SUM(b.free_throws_attempted) + SUM(b.turnovers)) AS BIGINT),
           b.team_abbr = split_part(b.game_id, '_', 3)
    FROM nba_raw.bdl_player_boxscores b
    WHERE b.game_date BETWEEN ? AND ?
    GROUP BY ALL
"""

# A cache row for date D: players whose latest non-DNP game before D was for a team playing on D and falls in
# the lookback window, with averages over their last 5 and 10 played games before D.
PHASE4_SQL = f"""
    INSERT INTO nba_precompute.player_daily_cache
    WITH played AS (
        SELECT c.cache_date, a.player_lookup, a.team_abbr, a.game_date, a.points, a.usage_rate,
               ROW_NUMBER() OVER (PARTITION BY c.cache_date, a.player_lookup ORDER BY a.game_date DESC) AS recency
        FROM phase4_runs c
        JOIN nba_analytics.player_game_summary a ON a.game_date < c.cache_date AND NOT a.is_dnp
    ),
    teams_playing AS (
        SELECT game_date, away_team_abbr AS team_abbr FROM nba_raw.nbac_schedule
        UNION SELECT game_date, home_team_abbr FROM nba_raw.nbac_schedule
    ),
    eligible AS (
        SELECT p.cache_date, p.player_lookup
        FROM played p
        JOIN teams_playing t ON t.game_date = p.cache_date AND t.team_abbr = p.team_abbr
        WHERE p.recency = 1 AND p.game_date >= p.cache_date - INTERVAL {CACHE_LOOKBACK_DAYS} DAY
    )
    SELECT p.cache_date, p.player_lookup,
           CAST(ROUND(AVG(p.points) FILTER (WHERE p.recency <= 5), 2) AS DECIMAL(10,2)),
           CAST(ROUND(AVG(p.points) FILTER (WHERE p.recency <= 10), 2) AS DECIMAL(10,2)),
           CAST(ROUND(AVG(p.usage_rate) FILTER (WHERE p.recency <= 10), 2) AS DECIMAL(10,2)),
           r.created_at
    FROM played p
    JOIN eligible e ON e.cache_date = p.cache_date AND e.player_lookup = p.player_lookup
    JOIN phase4_runs r ON r.cache_date = p.cache_date
    GROUP BY p.cache_date, p.player_lookup, r.created_at
"""


def count_by_date(con, table: str, date_column: str, dates: list[date]) -> dict[date, int]:
    """Return the row count of ``table`` per date in ``dates``."""
    if not dates:
        return {}
    rows = con.execute(
        f"SELECT {date_column}, COUNT(*) FROM {table} WHERE {date_column} IN (SELECT UNNEST(?)) GROUP BY ALL",
        [dates],
    ).fetchall()
    counts = dict(rows)
    return {day: counts.get(day, 0) for day in dates}


def game_dates(con, start: date, end: date) -> list[date]:
    """Return the scheduled game dates in [start, end]."""
    rows = con.execute(
        "SELECT DISTINCT game_date FROM nba_raw.nbac_schedule WHERE game_date BETWEEN ? AND ? ORDER BY 1",
        [start, end],
    ).fetchall()
    return [row[0] for row in rows]


def record_run(con, processor: str, day: date, status: str, started_at: datetime, records: int, error: str | None = None) -> None:
    con.execute(
        "INSERT INTO nba_orchestration.processor_run_history VALUES (?, ?, ?, ?, ?, ?)",
        [processor, day, status, started_at, records, error],
    )


def process_player_game_summary(con, runs: list[tuple[date, datetime]]) -> dict[date, int]:
    """Rewrite Phase 3 analytics for each (game date, processing time); return the rows written per date."""
    con.execute("CREATE OR REPLACE TEMP TABLE phase3_runs (game_date DATE, as_of TIMESTAMP)")
    bulk_insert(con, "phase3_runs", ("game_date", "as_of"), runs)
    con.execute("DELETE FROM nba_analytics.player_game_summary WHERE game_date IN (SELECT game_date FROM phase3_runs)")
    con.execute(PHASE3_SQL)
    written = count_by_date(con, "nba_analytics.player_game_summary", "game_date", [day for day, _ in runs])
    for day, as_of in runs:
        record_run(con, PHASE3_PROCESSOR, day, "success", as_of, written[day])
    con.execute("DROP TABLE phase3_runs")
    return written


def build_team_offense(con, start: date, end: date) -> None:
    """Aggregate team offense stats from raw box scores for [start, end]."""
    con.execute(TEAM_OFFENSE_SQL, [start, end])


def previous_game_date(con, day: date) -> date | None:
    rows = con.execute("SELECT MAX(game_date) FROM nba_raw.nbac_schedule WHERE game_date < ?", [day]).fetchall()
    return rows[0][0]


def phase4_blocker(con, day: date) -> str | None:
    """Return why the cache for ``day`` cannot be built yet (Phase 3 missing for the previous game date), or None."""
    previous = previous_game_date(con, day)
    if previous is None:
        return None
    if count_by_date(con, "nba_analytics.player_game_summary", "game_date", [previous])[previous] == 0:
        return f"DependencyError: Upstream {PHASE3_PROCESSOR} failed for {previous}"
    return None


def build_player_daily_cache(con, runs: list[tuple[date, datetime]]) -> dict[date, int]:
    """Rewrite the Phase 4 cache for each (cache date, processing time); return the players cached per date."""
    con.execute("CREATE OR REPLACE TEMP TABLE phase4_runs (cache_date DATE, created_at TIMESTAMP)")
    bulk_insert(con, "phase4_runs", ("cache_date", "created_at"), runs)
    con.execute("DELETE FROM nba_precompute.player_daily_cache WHERE cache_date IN (SELECT cache_date FROM phase4_runs)")
    con.execute(PHASE4_SQL)
    written = count_by_date(con, "nba_precompute.player_daily_cache", "cache_date", [day for day, _ in runs])
    for day, created_at in runs:
        record_run(con, PHASE4_PROCESSOR, day, "success", created_at, written[day])
    con.execute("DROP TABLE phase4_runs")
    return written


def stable_fraction(*parts: object) -> float:
    """Return a number in [0, 1) fixed by ``parts``, so scraped lines do not change between runs."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def collect_props(con, game_date: date, at: datetime) -> int:
    """Scrape points lines for players on the teams playing on ``game_date``; return the rows written.

    A player gets lines when he played in at least two games in the previous 14 days; each bookmaker offers a
    line with probability ``BOOKMAKER_COVERAGE``. Earlier lines of the date are marked inactive.
    """
    players = con.execute(
        """
        WITH teams AS (
            SELECT away_team_abbr AS team_abbr FROM nba_raw.nbac_schedule WHERE game_date = ?
            UNION SELECT home_team_abbr FROM nba_raw.nbac_schedule WHERE game_date = ?
        )
        SELECT r.player_lookup, AVG(b.points)
        FROM nba_raw.nbac_player_list_current r
        JOIN nba_raw.bdl_player_boxscores b ON b.player_lookup = r.player_lookup
        WHERE r.team_abbr IN (SELECT team_abbr FROM teams)
          AND b.game_date BETWEEN ? AND ? AND b.minutes NOT IN ('', '0', '00', '0:00', '00:00')
        GROUP BY r.player_lookup
        HAVING COUNT(*) >= 2
        ORDER BY r.player_lookup
        """,
        [game_date, game_date, game_date - timedelta(days=14), game_date - timedelta(days=1)],
    ).fetchall()

    lines = []
    for lookup, average in players:
        for bookmaker in BOOKMAKERS:
            if stable_fraction(game_date, lookup, bookmaker) >= BOOKMAKER_COVERAGE:
                continue
            shade = (stable_fraction(bookmaker, lookup) - 0.5) * 2
            line = max(0.5, math.floor(float(average) + shade) + 0.5)
            lines.append((game_date, lookup, "points", line, bookmaker, True, at))

    con.execute("UPDATE nba_raw.bettingpros_player_points_props SET is_active = FALSE WHERE game_date = ?", [game_date])
    return bulk_insert(
        con,
        "nba_raw.bettingpros_player_points_props",
        ("game_date", "player_lookup", "market_type", "points_line", "bookmaker", "is_active", "created_at"),
        lines,
    )


def predict_points(avg_5: float, avg_10: float, usage: float | None, line: float) -> dict[str, float]:
    """Return each prediction system's points estimate."""
    moving_average = 0.6 * avg_5 + 0.4 * avg_10
    zone_matchup = avg_10 * (1 + ((usage if usage is not None else 20.0) - 20.0) / 200)
    similarity = 0.5 * avg_5 + 0.5 * line
    xgboost = 0.45 * avg_5 + 0.35 * avg_10 + 0.2 * line
    ensemble = (moving_average + zone_matchup + similarity + xgboost) / 4
    return dict(zip(PREDICTION_SYSTEMS, (moving_average, zone_matchup, similarity, xgboost, ensemble)))


def recommend(predicted: float, line: float) -> str:
    if predicted - line >= RECOMMENDATION_EDGE:
        return "OVER"
    if line - predicted >= RECOMMENDATION_EDGE:
        return "UNDER"
    return "PASS"


def generate_predictions(con, game_date: date, at: datetime) -> int:
    """Write one prediction per system for each player with an active line and a cache row on ``game_date``."""
    candidates = con.execute(
        """
        SELECT c.player_lookup, c.points_avg_last_5, c.points_avg_last_10, c.usage_rate_last_10,
               LIST(p.points_line ORDER BY p.bookmaker), s.game_id
        FROM nba_precompute.player_daily_cache c
        JOIN nba_raw.bettingpros_player_points_props p
          ON p.player_lookup = c.player_lookup AND p.game_date = c.cache_date AND p.is_active
        JOIN nba_raw.nbac_player_list_current r ON r.player_lookup = c.player_lookup
        JOIN nba_raw.nbac_schedule s
          ON s.game_date = c.cache_date AND r.team_abbr IN (s.away_team_abbr, s.home_team_abbr)
        WHERE c.cache_date = ?
        GROUP BY c.player_lookup, c.points_avg_last_5, c.points_avg_last_10, c.usage_rate_last_10, s.game_id
        ORDER BY c.player_lookup
        """,
        [game_date],
    ).fetchall()

    predictions = []
    for lookup, avg_5, avg_10, usage, lines, game_id in candidates:
        line = statistics.median(lines)
        estimates = predict_points(float(avg_5), float(avg_10), None if usage is None else float(usage), line)
        for system, points in estimates.items():
            predictions.append((game_date, game_id, lookup, system, round(points, 2), recommend(points, line), True, True, at))

    con.execute("UPDATE nba_predictions.player_prop_predictions SET is_active = FALSE WHERE game_date = ?", [game_date])
    return bulk_insert(
        con,
        "nba_predictions.player_prop_predictions",
        ("game_date", "game_id", "player_lookup", "system_id", "predicted_points", "recommendation",
         "has_prop_line", "is_active", "created_at"),
        predictions,
    )
