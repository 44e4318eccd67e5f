"""Earlier seasons that `coord sandbox init --scale N` adds to the warehouse, so checks run on tables of real size.

Scale N contains the incident's season plus N-1 earlier ones. Each earlier season repeats the seeded box scores of
Jan 1-26, moved back 52 weeks per season (weekdays stay the same) under that season's own player keys
(``lebronjames2025``), with fully processed analytics rows and the points props every bookmaker offered.

The history changes no figure that the pipeline's rules or the incident's criteria compute. Its dates lie a
year or more before the incident, and its players are not in the registry or the current rosters. It adds
nothing to the schedule, team stats, caches or run history. So every figure on the incident's dates is the same at any
scale, and the Phase 4 rolling averages (which read a player's whole analytics history) see no extra games.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from coordinator.sandbox import league as league_module
from coordinator.sandbox.errors import SandboxError
from coordinator.sandbox.pipeline import BOOKMAKERS, BOOKMAKER_COVERAGE, MINUTES_PLAYED_SQL

MAX_SCALE = 200
DAYS_PER_SEASON = 364
PROP_MARKETS = ("points", "points_first_half")
# Measured on DuckDB 2.0.1: the base seed writes about 4.2 MB of warehouse and 1.8 MB of files, and each
# earlier season adds about 0.8 MB to the warehouse file. The disk check uses twice that, because DuckDB
# writes its WAL and checkpoints beside the file while seeding.
ESTIMATED_BASE_BYTES = 2 * 6_000_000
ESTIMATED_BYTES_PER_SEASON = 2 * 800_000

SEASONS_SQL = "CREATE OR REPLACE TEMP TABLE history_seasons AS SELECT CAST(range AS INTEGER) AS seasons_back FROM range(1, ?)"

BOXSCORES_SQL = """
    INSERT INTO nba_raw.bdl_player_boxscores
    SELECT b.game_date - {days} * s.seasons_back AS moved_date,
           strftime(moved_date, '%Y%m%d') || substr(b.game_id, 9),
           b.player_lookup || CAST(year(DATE '{incident}') - s.seasons_back AS VARCHAR),
           b.team_abbr, b.minutes, b.points, b.field_goals_attempted, b.free_throws_attempted, b.turnovers
    FROM nba_raw.bdl_player_boxscores b CROSS JOIN history_seasons s
    WHERE b.game_date >= DATE '{first}'
"""

# The same usage-rate formula as Phase 3, with team totals summed from the box scores of the game.
ANALYTICS_SQL = f"""
    INSERT INTO nba_analytics.player_game_summary (
        game_date, game_id, player_lookup, team_abbr, points, minutes_played, usage_rate, fg_attempts,
        ft_attempts, turnovers, is_dnp, primary_source_used
    )
    WITH lines AS (
        SELECT b.*, {MINUTES_PLAYED_SQL} AS minutes_played
        FROM nba_raw.bdl_player_boxscores b
        WHERE b.game_date < DATE '{{first}}'
    ),
    teams AS (
        SELECT game_id, team_abbr, SUM(field_goals_attempted) AS fga, SUM(free_throws_attempted) AS fta,
               SUM(turnovers) AS tov
        FROM lines GROUP BY ALL
    )
    SELECT l.game_date, l.game_id, l.player_lookup, l.team_abbr, l.points,
           CAST(ROUND(l.minutes_played, 2) AS DECIMAL(10,2)),
           CASE WHEN l.minutes_played > 0 AND t.fga + 0.44 * t.fta + t.tov > 0 THEN CAST(ROUND(
               100.0 * (l.field_goals_attempted + 0.44 * l.free_throws_attempted + l.turnovers) * (240.0 / 5)
               / (l.minutes_played * (t.fga + 0.44 * t.fta + t.tov)), 2) AS DECIMAL(10,2))
           END,
           l.field_goals_attempted, l.free_throws_attempted, l.turnovers, l.minutes_played = 0,
           'nba_raw.bdl_player_boxscores'
    FROM lines l JOIN teams t USING (game_id, team_abbr)
"""

# A bookmaker offers a market for a player-game when a hash of the four falls under the coverage share, so
# the props are the same on every seed. Lines sit half a point off the points scored, shaded per bookmaker.
PROPS_SQL = """
    INSERT INTO nba_raw.bettingpros_player_points_props
    WITH offers AS (
        SELECT b.game_date, b.player_lookup, b.points, m.market_type, k.bookmaker,
               CAST(('0x' || left(md5(b.game_id || b.player_lookup || m.market_type || k.bookmaker), 8)) AS BIGINT)
                   / 4294967296.0 AS draw
        FROM nba_raw.bdl_player_boxscores b
        CROSS JOIN (SELECT UNNEST(?) AS market_type) m
        CROSS JOIN (SELECT UNNEST(?) AS bookmaker) k
        WHERE b.game_date < DATE '{first}'
    )
    SELECT game_date, player_lookup, market_type,
           greatest(0.5, floor(CASE WHEN market_type = 'points' THEN points ELSE points / 2 END + 4 * draw - 2) + 0.5),
           bookmaker, TRUE, CAST(game_date AS TIMESTAMP) + INTERVAL 14 HOUR
    FROM offers
    WHERE draw < ?
"""


def check_scale(scale: int, directory: Path) -> None:
    """Raise SandboxError when `scale` is not a whole number of seasons from 1 to MAX_SCALE, or would not fit on disk."""
    if scale < 1:
        raise SandboxError(f"invalid --scale {scale}: use a number of seasons from 1 (the seed alone) to {MAX_SCALE}")
    if scale > MAX_SCALE:
        raise SandboxError(f"--scale {scale} is too large: use at most {MAX_SCALE} seasons")

    existing = directory
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    needed = ESTIMATED_BASE_BYTES + (scale - 1) * ESTIMATED_BYTES_PER_SEASON
    free = shutil.disk_usage(existing).free
    if needed > free:
        raise SandboxError(
            f"--scale {scale} needs about {megabytes(needed)} but {existing} has {megabytes(free)} free: "
            "use a smaller --scale or another --dir"
        )


def megabytes(count: int) -> str:
    """Return a byte count in MB with one decimal, so that two close sizes read differently."""
    return f"{count / 1_000_000:.1f} MB"


def add_history(con, scale: int) -> None:
    """Insert scale-1 earlier seasons of box scores, analytics and props; scale 1 inserts nothing."""
    if scale <= 1:
        return
    first = league_module.FIRST_GAME_DATE.isoformat()
    con.execute(SEASONS_SQL, [scale])
    con.execute(BOXSCORES_SQL.format(days=DAYS_PER_SEASON, incident=league_module.INCIDENT_DATE.isoformat(), first=first))
    con.execute(ANALYTICS_SQL.format(first=first))
    con.execute(PROPS_SQL.format(first=first), [list(PROP_MARKETS), list(BOOKMAKERS), BOOKMAKER_COVERAGE])
    con.execute("DROP TABLE history_seasons")
