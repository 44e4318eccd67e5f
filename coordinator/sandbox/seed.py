"""Creating a workspace seeded with the pipeline's state on the morning of 2026-01-27.

The seed replays the pipeline's history with the same rules the commands use: Phase 3 ran for each date at
00:09 ET the next day with the registry and team stats of that moment, and Phase 4 ran at 07:15 ET.
"""

from __future__ import annotations

import contextlib
import itertools
import shutil
import signal
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb

from coordinator.sandbox import clock, history, league as league_module, pipeline, repo, schema, services
from coordinator.sandbox.errors import SandboxError
from coordinator.sandbox.workspace import PARTIAL_WAREHOUSE_PATH, WAREHOUSE_PATH, bulk_insert

SEED_CLOCK = datetime(2026, 1, 27, 15, 0)
PHASE3_RUN_OFFSET = timedelta(hours=29, minutes=9)
PHASE4_RUN_OFFSET = timedelta(hours=12, minutes=15)
TEAM_STATS_ON_TIME = timedelta(hours=28, minutes=30)
LATE_TEAM_STATS_AT = datetime(2026, 1, 26, 20, 15)
LATE_TEAM_STATS_DATES = (date(2026, 1, 19), date(2026, 1, 25))
FAILED_PHASE3_DATE = date(2026, 1, 25)
PARTIAL_TEAM_STATS_DATE = date(2026, 1, 26)
PARTIAL_USAGE_SHARE = 0.414
DUPLICATED_GAME_IDS = 3
PHASE3_FAILURE = "DependencyError: Upstream BdlBoxscoresProcessor incomplete for 2026-01-25 (boxscores arrived after 00:09 ET)"

SEEDED_REVISIONS = (
    ("nba-scrapers", "nba-scrapers-00087-kzq", datetime(2026, 1, 24, 2, 17, 15)),
    ("nba-phase3-analytics-processors", "nba-phase3-analytics-processors-00142-tvd", datetime(2026, 1, 21, 19, 42, 8)),
    ("nba-phase4-precompute-processors", "nba-phase4-precompute-processors-00063-pwb", datetime(2026, 1, 21, 20, 3, 51)),
    ("prediction-coordinator", "prediction-coordinator-00051-hcx", datetime(2026, 1, 22, 18, 30, 0)),
)
SCHEDULER_JOBS = (
    ("execute-workflows", "5 * * * *", "nba-scrapers", "Hourly evaluation of the scraper's game-aware workflows"),
    ("morning-predictions", "0 10 * * *", "prediction-coordinator", "Predictions for today's games"),
    ("same-day-phase3", "30 10 * * *", "nba-phase3-analytics-processors", "Phase 3 for game dates that have none"),
    ("same-day-phase4", "0 11 * * *", "nba-phase4-precompute-processors", "Phase 4 cache for dates that have none"),
)
TEMPLATE_TOP_LEVEL = (".git", ".sandbox")


@dataclass
class InitSummary:
    workspace: Path
    commits: list[str]
    clock: datetime
    seconds: float


def init_workspace(directory: Path, *, force: bool = False, scale: int = 1) -> InitSummary:
    """Create a seeded workspace in ``directory``: a git repository of pipeline files and a DuckDB warehouse.

    ``scale`` counts seasons: 1 is the incident's season alone, and each more adds an earlier season of
    history that no figure on the incident's dates reads (see ``coordinator.sandbox.history``).
    """
    started = time.monotonic()
    directory = directory.resolve()
    history.check_scale(scale, directory)
    created = not directory.exists()
    prepare_directory(directory, force=force)
    try:
        with _interrupt_noted() as interrupted:
            commits = build_workspace(directory, scale, interrupted=interrupted)
    except BaseException as error:
        remove_workspace(directory, folder_created=created)
        if _is_interrupt(error):
            raise KeyboardInterrupt from None
        if _is_disk_full(error):
            raise SandboxError(
                f"{directory}: disk full while seeding the workspace; removed what was written: free some space "
                "or use a smaller --scale or another --dir",
                exit_code=1,
            ) from None
        raise
    return InitSummary(directory, commits, SEED_CLOCK, time.monotonic() - started)


def build_workspace(directory: Path, scale: int, *, interrupted: threading.Event | None = None) -> list[str]:
    """Write the repository and the warehouse; the warehouse gets its real name only once complete.

    `interrupted` is set when Ctrl-C came: the warehouse then keeps its temporary name even if DuckDB, busy
    in a query when the signal arrived, went on without raising.
    """
    commits = repo.create_repository(directory)
    partial = directory / PARTIAL_WAREHOUSE_PATH
    partial.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(partial))
    try:
        schema.create_all(con)
        seed_warehouse(con, commits)
        history.add_history(con, scale)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    if interrupted is not None and interrupted.is_set():
        raise KeyboardInterrupt
    partial.rename(directory / WAREHOUSE_PATH)
    return commits


@contextlib.contextmanager
def _interrupt_noted():
    """Note Ctrl-C in an event while raising KeyboardInterrupt as usual; only the main thread gets signals."""
    interrupted = threading.Event()
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        yield interrupted
        return

    def note(signum, frame):
        interrupted.set()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, note)
    try:
        yield interrupted
    finally:
        signal.signal(signal.SIGINT, previous)


def remove_workspace(directory: Path, *, folder_created: bool) -> None:
    """Remove what an init that failed wrote: the folder when it made it, else the workspace's own entries."""
    if folder_created:
        shutil.rmtree(directory, ignore_errors=True)
        return
    for name in set(TEMPLATE_TOP_LEVEL) | {path.split("/")[0] for path in repo.template_files()}:
        target = directory / name
        if target.is_dir():
            shutil.rmtree(target, ignore_errors=True)
        elif target.exists():
            target.unlink(missing_ok=True)


def _is_interrupt(error: BaseException) -> bool:
    # DuckDB turns Ctrl-C during a query into an error of its own ("Query interrupted").
    if isinstance(error, (KeyboardInterrupt, duckdb.InterruptException)):
        return True
    return isinstance(error, RuntimeError) and "interrupted" in str(error).lower()


def _is_disk_full(error: BaseException) -> bool:
    import errno

    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return True
    return isinstance(error, duckdb.Error) and "no space left on device" in str(error).lower()


def prepare_directory(directory: Path, *, force: bool) -> None:
    if directory.exists() and not directory.is_dir():
        raise SandboxError(f"{directory}: exists and is not a folder; choose another --dir")
    if directory.is_dir() and any(directory.iterdir()):
        if not force:
            raise SandboxError(f"{directory}: folder is not empty; pass --force to replace a workspace there")
        owned = set(TEMPLATE_TOP_LEVEL) | {path.split("/")[0] for path in repo.template_files()}
        for name in owned:
            target = directory / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    directory.mkdir(parents=True, exist_ok=True)


def seed_warehouse(con, commits: list[str]) -> None:
    generated = league_module.build_league()
    con.execute("INSERT INTO sandbox.clock VALUES (?)", [SEED_CLOCK])
    insert_league(con, generated)

    last_raw_date = PARTIAL_TEAM_STATS_DATE
    pipeline.build_team_offense(con, league_module.FIRST_GAME_DATE, last_raw_date)
    record_team_stats_arrivals(con, generated)
    duplicate_reversed_game_ids(con)

    replay_phase3(con, last_raw_date)
    replay_phase4(con)
    insert_operations_state(con, commits)


def insert_league(con, generated: league_module.League) -> None:
    bulk_insert(
        con,
        "nba_raw.nbac_schedule",
        ("game_date", "game_id", "away_team_abbr", "home_team_abbr", "game_start_time"),
        [(game.game_date, game.game_id, game.away, game.home, game.start_utc) for game in generated.games],
    )
    bulk_insert(
        con,
        "nba_raw.nbac_player_list_current",
        ("player_lookup", "player_name", "team_abbr", "roster_role"),
        [(player.lookup, player.name, player.team, player.role) for player in generated.players],
    )
    resolution_time = {"original": league_module.ORIGINAL_RESOLUTION_AT, "late": league_module.LATE_RESOLUTION_AT}
    bulk_insert(
        con,
        "nba_reference.nba_players_registry",
        ("player_lookup", "player_name", "team_abbr", "resolved_at", "resolution_source"),
        [
            (player.lookup, player.name, player.team, resolution_time[player.status],
             "roster" if player.status == "original" else "manual_alias")
            for player in generated.players
            if player.status != "never"
        ],
    )
    bulk_insert(
        con,
        "nba_reference.unresolved_player_names",
        ("player_lookup", "team_abbr", "first_seen", "status"),
        [(p.lookup, p.team, league_module.FIRST_GAME_DATE, "pending") for p in generated.players if p.status == "never"],
    )
    bulk_insert(
        con,
        "nba_raw.bdl_player_boxscores",
        ("game_date", "game_id", "player_lookup", "team_abbr", "minutes", "points", "field_goals_attempted",
         "free_throws_attempted", "turnovers"),
        [
            (game_date, game_id, lookup, team, *line)
            for (game_date, game_id, team), lines in sorted(generated.boxscores.items())
            for lookup, line in lines.items()
        ],
    )


def record_team_stats_arrivals(con, generated: league_module.League) -> None:
    """Date team stats so that Jan 19-25 arrive after Phase 3 ran and Jan 26 arrives for only part of the teams."""
    rows = con.execute(
        "SELECT game_date, game_id, team_abbr FROM nba_analytics.team_offense_game_summary ORDER BY ALL"
    ).fetchall()
    on_time_partial = teams_with_usage_share(generated, PARTIAL_TEAM_STATS_DATE, PARTIAL_USAGE_SHARE)
    arrivals = []
    for game_date, game_id, team in rows:
        phase3_at = datetime.combine(game_date, datetime.min.time()) + PHASE3_RUN_OFFSET
        if LATE_TEAM_STATS_DATES[0] <= game_date <= LATE_TEAM_STATS_DATES[1]:
            arrived = LATE_TEAM_STATS_AT
        elif game_date == PARTIAL_TEAM_STATS_DATE and team not in on_time_partial:
            arrived = phase3_at + timedelta(hours=1, minutes=31)
        else:
            arrived = datetime.combine(game_date, datetime.min.time()) + TEAM_STATS_ON_TIME
        arrivals.append((game_date, game_id, team, arrived))
    bulk_insert(con, "sandbox.team_stats_arrivals", ("game_date", "game_id", "team_abbr", "arrived_at"), arrivals)


def teams_with_usage_share(generated: league_module.League, game_date: date, share: float) -> set[str]:
    """Return the teams whose share of resolved players with minutes on ``game_date`` is closest to ``share``."""
    played: dict[str, int] = {}
    status = {player.lookup: player.status for player in generated.players}
    for (day, _, team), lines in generated.boxscores.items():
        if day == game_date:
            played[team] = sum(
                line != league_module.DNP_LINE and status[lookup] != "never" for lookup, line in lines.items()
            )
    total = sum(played.values())
    teams = sorted(played)
    best: tuple[float, tuple[str, ...]] = (1.0, ())
    for size in range(len(teams) + 1):
        for subset in itertools.combinations(teams, size):
            gap = abs(sum(played[team] for team in subset) / total - share)
            best = min(best, (gap, subset))
    return set(best[1])


REVERSED_GAME_ID_SQL = (
    "strftime(game_date, '%Y%m%d') || '_' || split_part(game_id, '_', 3) || '_' || split_part(game_id, '_', 2)"
)


def duplicate_reversed_game_ids(con) -> None:
    """Copy a few Jan 26 games' team rows under HOME_AWAY ids too, as a second scraper source wrote them."""
    games = "SELECT game_id FROM nba_raw.nbac_schedule WHERE game_date = ? ORDER BY game_id LIMIT ?"
    con.execute(
        f"""
        INSERT INTO nba_analytics.team_offense_game_summary
        SELECT game_date, {REVERSED_GAME_ID_SQL}, team_abbr, fg_attempts, ft_attempts, turnovers, possessions,
               NOT home_game
        FROM nba_analytics.team_offense_game_summary WHERE game_id IN ({games})
        """,
        [PARTIAL_TEAM_STATS_DATE, DUPLICATED_GAME_IDS],
    )
    con.execute(
        f"""
        INSERT INTO sandbox.team_stats_arrivals
        SELECT game_date, {REVERSED_GAME_ID_SQL}, team_abbr, arrived_at
        FROM sandbox.team_stats_arrivals WHERE game_id IN ({games})
        """,
        [PARTIAL_TEAM_STATS_DATE, DUPLICATED_GAME_IDS],
    )


def replay_phase3(con, last_raw_date: date) -> None:
    runs = []
    day = league_module.FIRST_GAME_DATE
    while day <= last_raw_date:
        if day != FAILED_PHASE3_DATE:
            runs.append((day, datetime.combine(day, datetime.min.time()) + PHASE3_RUN_OFFSET))
        day += timedelta(days=1)
    pipeline.process_player_game_summary(con, runs)

    failed_at = datetime.combine(FAILED_PHASE3_DATE, datetime.min.time()) + PHASE3_RUN_OFFSET
    pipeline.record_run(con, pipeline.PHASE3_PROCESSOR, FAILED_PHASE3_DATE, "failed", failed_at, 0, PHASE3_FAILURE)
    con.execute(
        "INSERT INTO sandbox.logs VALUES (?, 'ERROR', 'cloud_run_revision', 'nba-phase3-analytics-processors', ?)",
        [failed_at, f"{pipeline.PHASE3_PROCESSOR} failed for {FAILED_PHASE3_DATE}: {PHASE3_FAILURE}"],
    )


def replay_phase4(con) -> None:
    runs = []
    for day in pipeline.game_dates(con, league_module.FIRST_GAME_DATE, league_module.INCIDENT_DATE):
        ran_at = datetime.combine(day, datetime.min.time()) + PHASE4_RUN_OFFSET
        blocker = pipeline.phase4_blocker(con, day)
        if blocker is None:
            runs.append((day, ran_at))
            continue
        pipeline.record_run(con, pipeline.PHASE4_PROCESSOR, day, "failed", ran_at, 0, blocker)
        con.execute(
            "INSERT INTO sandbox.logs VALUES (?, 'ERROR', 'cloud_run_revision', 'nba-phase4-precompute-processors', ?)",
            [ran_at, f"{pipeline.PHASE4_PROCESSOR} blocked for {day}: {blocker}"],
        )
    pipeline.build_player_daily_cache(con, runs)


def insert_operations_state(con, commits: list[str]) -> None:
    initial_commit = commits[0]
    for service, revision, deployed_at in SEEDED_REVISIONS:
        snapshot = services.ServiceSnapshot(git_commit=initial_commit)
        if service == services.SCRAPER_SERVICE:
            snapshot.window_before_game_hours = repo.INITIAL_WINDOW_HOURS
        if service == clock.PHASE3_SERVICE:
            snapshot.writer = "load_jobs"
            snapshot.processing_gate = False
        services.insert_revision(con, service, revision, deployed_at, snapshot, env=services.SEEDED_ENV.get(service, {}))

    bulk_insert(
        con,
        "sandbox.scheduler_jobs",
        ("name", "schedule", "time_zone", "target_service", "description"),
        [(name, cron, "America/New_York", target, text) for name, cron, target, text in SCHEDULER_JOBS],
    )

    for hours_before in (2, 1, 0):
        moment = SEED_CLOCK - timedelta(hours=hours_before)
        decision = services.decide_workflow(con, "betting_lines", moment, repo.INITIAL_WINDOW_HOURS)
        services.record_decision(con, decision)

    clock.simulate_background(con, datetime(2026, 1, 25), datetime(2026, 1, 26), writer="load_jobs", intensity=1.268)
    clock.simulate_background(con, datetime(2026, 1, 26), datetime(2026, 1, 27), writer="load_jobs")
    clock.simulate_background(con, datetime(2026, 1, 27), SEED_CLOCK, writer="load_jobs")
