"""Warehouse queries shared by the sandbox tests."""

import duckdb

from coordinator.sandbox.workspace import WAREHOUSE_PATH


def scalar(workspace, sql, params=()):
    con = duckdb.connect(str(workspace / WAREHOUSE_PATH), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()[0][0]
    finally:
        con.close()


def coverage(workspace, day):
    return scalar(
        workspace,
        """
        SELECT ROUND(100.0 * (SELECT COUNT(DISTINCT player_lookup) FROM nba_analytics.player_game_summary WHERE game_date = ?)
             / (SELECT COUNT(DISTINCT player_lookup) FROM nba_raw.bdl_player_boxscores WHERE game_date = ?), 1)
        """,
        [day, day],
    )


def usage_coverage(workspace, day):
    return scalar(
        workspace,
        "SELECT ROUND(100.0 * COUNT(usage_rate) / COUNT(*), 1) FROM nba_analytics.player_game_summary "
        "WHERE game_date = ? AND minutes_played > 0",
        [day],
    )
