"""Scheduler jobs and backfills: the actions that recompute Phase 3, Phase 4 and predictions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from coordinator.sandbox import clock, pipeline
from coordinator.sandbox.errors import SandboxError
from coordinator.sandbox.workspace import open_warehouse

JOBS = ("execute-workflows", "morning-predictions", "same-day-phase3", "same-day-phase4")
PHASES = ("phase3", "phase4")
PREDICTIONS_MINUTES = 5
MINUTES_PER_DATE = 1
PREDICTION_PROCESSOR = "PredictionCoordinator"


@dataclass
class DateOutcome:
    day: date
    status: str
    rows: int = 0
    message: str = ""

    def line(self) -> str:
        detail = f"{self.rows} rows" if self.status == "written" else self.message
        return f"{self.day}  {self.status:<8} {detail}"


@dataclass
class ProcessingReport:
    """Outcome of a job or backfill, one entry per date it considered."""

    name: str
    outcomes: list[DateOutcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(outcome.status == "failed" for outcome in self.outcomes)

    def lines(self) -> list[str]:
        written = sum(outcome.status == "written" for outcome in self.outcomes)
        skipped = len(self.outcomes) - written
        summary = f"{self.name}: {written} dates written, {skipped} not written"
        return [outcome.line() for outcome in self.outcomes] + self.notes + [summary]


def dates_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=offset) for offset in range((end - start).days + 1)]


def raw_dates(con, days: list[date]) -> set[date]:
    return {day for day, count in pipeline.count_by_date(con, "nba_raw.bdl_player_boxscores", "game_date", days).items() if count}


def team_stats_missing(con, day: date, dependencies: list[str]) -> bool:
    if "team_offense_game_summary" not in dependencies:
        return False
    return pipeline.count_by_date(con, "nba_analytics.team_offense_game_summary", "game_date", [day])[day] == 0


def deployed_hard_dependencies(con) -> list[str]:
    rows = con.execute(
        "SELECT hard_dependencies FROM sandbox.service_revisions WHERE service = ? ORDER BY deployed_at DESC LIMIT 1",
        [clock.PHASE3_SERVICE],
    ).fetchall()
    return [name for name in (rows[0][0] or "").split(",") if name] if rows else []


def run_phase3(con, report: ProcessingReport, days: list[date], *, dependencies: list[str]) -> None:
    """Process ``days`` with the current registry and team stats, failing days whose hard dependencies are empty."""
    ready = []
    for day in days:
        if team_stats_missing(con, day, dependencies):
            message = f"DependencyNotReadyError: team_offense_game_summary not ready for {day}"
            pipeline.record_run(con, pipeline.PHASE3_PROCESSOR, day, "failed", clock.current_time(con), 0, message)
            report.outcomes.append(DateOutcome(day, "failed", message=message))
        else:
            ready.append(day)
    if not ready:
        return
    finished = clock.advance_clock(con, MINUTES_PER_DATE * len(ready))
    written = pipeline.process_player_game_summary(con, [(day, finished) for day in ready])
    report.outcomes.extend(DateOutcome(day, "written", written[day]) for day in ready)
    report.outcomes.sort(key=lambda outcome: outcome.day)


def unprocessed_or_all(con, report: ProcessingReport, days: list[date]) -> list[date]:
    """Return the dates a Phase 3 backfill rewrites with the deployed processor.

    Before the processing-order fix (HARD_DEPENDENCIES on team_offense_game_summary) is deployed, the
    processor trusts its run history: a date with a successful run counts as complete and is skipped, so a
    backfill changes nothing but the dates that failed. The fixed processor treats a date processed before its
    team stats arrived as incomplete, so it rewrites every date.
    """
    if "team_offense_game_summary" in deployed_hard_dependencies(con):
        return days
    succeeded = dict(
        con.execute(
            "SELECT data_date, MAX(started_at) FROM nba_orchestration.processor_run_history "
            "WHERE processor_name = ? AND status = 'success' GROUP BY data_date",
            [pipeline.PHASE3_PROCESSOR],
        ).fetchall()
    )
    for day in days:
        if day in succeeded:
            report.outcomes.append(
                DateOutcome(day, "skipped", message=f"run history has a success at {succeeded[day]:%Y-%m-%dT%H:%M}Z; not rewritten")
            )
    if any(day in succeeded for day in days):
        report.notes.append(
            f"{clock.PHASE3_SERVICE}: the deployed revision skips dates its run history marks successful; "
            "deploy the processing-order fix to rewrite them"
        )
    return [day for day in days if day not in succeeded]


def run_phase4(con, report: ProcessingReport, days: list[date]) -> None:
    """Build the cache for ``days`` whose previous game date has Phase 3 data; record the others as failed."""
    ready = []
    for day in days:
        blocker = pipeline.phase4_blocker(con, day)
        if blocker is None:
            ready.append(day)
            continue
        pipeline.record_run(con, pipeline.PHASE4_PROCESSOR, day, "failed", clock.current_time(con), 0, blocker)
        report.outcomes.append(DateOutcome(day, "failed", message=blocker))
    if ready:
        finished = clock.advance_clock(con, MINUTES_PER_DATE * len(ready))
        written = pipeline.build_player_daily_cache(con, [(day, finished) for day in ready])
        report.outcomes.extend(DateOutcome(day, "written", written[day]) for day in ready)
    report.outcomes.sort(key=lambda outcome: outcome.day)


def run_job(workspace: Path, job: str) -> ProcessingReport:
    """Run a Cloud Scheduler job now; return what it wrote or why it did not."""
    if job not in JOBS:
        raise SandboxError(f"unknown scheduler job '{job}'; known jobs: {', '.join(JOBS)}")
    with open_warehouse(workspace) as con:
        report = ProcessingReport(job)
        today = clock.game_date_at(clock.current_time(con))
        if job == "execute-workflows":
            from coordinator.sandbox.services import evaluate_workflows

            report.notes.extend(decision.line() for decision in evaluate_workflows(con))
        elif job == "morning-predictions":
            run_predictions(con, report, today)
        elif job == "same-day-phase3":
            past = pipeline.game_dates(con, pipeline_start(con), today - timedelta(days=1))
            done = pipeline.count_by_date(con, "nba_analytics.player_game_summary", "game_date", past)
            missing = [day for day in past if day in raw_dates(con, past) and done[day] == 0]
            run_phase3(con, report, missing, dependencies=deployed_hard_dependencies(con))
        else:
            run_same_day_phase4(con, report, today)
        if not report.outcomes:
            report.notes.append(f"{job}: nothing to do at {clock.current_time(con):%Y-%m-%dT%H:%M}Z")
        clock.write_log(con, report.lines()[-1], source=job, resource_type="cloud_scheduler_job",
                        severity="ERROR" if report.failed else "INFO")
        return report


def pipeline_start(con) -> date:
    return con.execute("SELECT MIN(game_date) FROM nba_raw.nbac_schedule").fetchall()[0][0]


def run_same_day_phase4(con, report: ProcessingReport, today: date) -> None:
    days = pipeline.game_dates(con, pipeline_start(con), today)
    cached = pipeline.count_by_date(con, "nba_precompute.player_daily_cache", "cache_date", days)
    missing = [day for day in days if cached[day] == 0 and pipeline.previous_game_date(con, day) is not None]
    run_phase4(con, report, missing)


def run_predictions(con, report: ProcessingReport, today: date) -> None:
    props = con.execute(
        "SELECT COUNT(*) FROM nba_raw.bettingpros_player_points_props WHERE game_date = ? AND is_active", [today]
    ).fetchall()[0][0]
    cached = pipeline.count_by_date(con, "nba_precompute.player_daily_cache", "cache_date", [today])[today]
    started = clock.current_time(con)
    if props == 0 or cached == 0:
        missing = "props (run the betting_lines workflow)" if props == 0 else "player_daily_cache rows (run Phase 4)"
        message = f"no {missing} for {today}; no predictions written"
        pipeline.record_run(con, PREDICTION_PROCESSOR, today, "failed", started, 0, message)
        report.outcomes.append(DateOutcome(today, "failed", message=message))
        return
    finished = clock.advance_clock(con, PREDICTIONS_MINUTES)
    written = pipeline.generate_predictions(con, today, finished)
    pipeline.record_run(con, PREDICTION_PROCESSOR, today, "success", finished, written)
    report.outcomes.append(DateOutcome(today, "written", written))


def backfill(workspace: Path, phase: str, start: date, end: date) -> ProcessingReport:
    """Reprocess ``phase`` for every date in [start, end]: Phase 3 rewrites analytics, Phase 4 rewrites caches."""
    if phase not in PHASES:
        raise SandboxError(f"unknown phase '{phase}'; use one of: {', '.join(PHASES)}")
    if end < start:
        raise SandboxError(f"--end-date {end} is before --start-date {start}")
    with open_warehouse(workspace) as con:
        report = ProcessingReport(f"{phase} backfill {start}..{end}")
        today = clock.game_date_at(clock.current_time(con))
        days = [day for day in dates_between(start, end) if day <= today]
        if end > today:
            first_future = max(start, today + timedelta(days=1))
            report.notes.append(f"{first_future}..{end}: after the sandbox date {today}; nothing to process")
        scheduled = set(pipeline.game_dates(con, start, min(end, today)))
        for day in days:
            if day not in scheduled:
                report.outcomes.append(DateOutcome(day, "skipped", message="no games scheduled"))

        if phase == "phase3":
            with_raw = raw_dates(con, days)
            for day in sorted(scheduled - with_raw):
                report.outcomes.append(DateOutcome(day, "skipped", message="no raw box scores yet"))
            run_phase3(con, report, unprocessed_or_all(con, report, sorted(with_raw)), dependencies=[])
        else:
            run_phase4(con, report, sorted(scheduled))
        report.outcomes.sort(key=lambda outcome: outcome.day)
        clock.write_log(con, report.lines()[-1], source=f"backfill-{phase}", severity="ERROR" if report.failed else "INFO")
        return report
