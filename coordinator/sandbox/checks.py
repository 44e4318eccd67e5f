"""Reading the sandbox clock, logs, spot checks and tonight's validation, and moving the clock."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from coordinator.sandbox import clock
from coordinator.sandbox.errors import SandboxError
from coordinator.sandbox.workspace import open_warehouse

DURATION_PATTERN = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?")
PROPS_MINIMUM = 1000
PREDICTIONS_MINIMUM = 50
CACHE_MINIMUM = 100
COVERAGE_MINIMUM = 85.0
USAGE_MINIMUM = 80.0
MINUTES_TOLERANCE = 0.01


def parse_duration(text: str) -> timedelta:
    """Parse durations like ``1h``, ``30m``, ``1h30m`` or ``2d``."""
    match = DURATION_PATTERN.fullmatch(text.strip().lower())
    if not match or not any(match.groups()):
        raise SandboxError(f"invalid duration '{text}'; use forms like 1h, 30m, 1h30m or 2d")
    days, hours, minutes = (int(part or 0) for part in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes)


def current_time(workspace: Path) -> datetime:
    """Return the sandbox clock (naive UTC)."""
    with open_warehouse(workspace, read_only=True) as con:
        return clock.current_time(con)


@dataclass
class AdvanceResult:
    start: datetime
    end: datetime
    circuit_breaker_writes: int
    quota_errors: int

    def line(self) -> str:
        return (
            f"clock {self.start:%Y-%m-%dT%H:%M:%S}Z -> {self.end:%Y-%m-%dT%H:%M:%S}Z: "
            f"{self.circuit_breaker_writes} circuit-breaker writes, {self.quota_errors} quota errors"
        )


def advance(workspace: Path, duration: str) -> AdvanceResult:
    """Move the sandbox clock forward while the deployed Phase 3 service writes its background load."""
    step = parse_duration(duration)
    with open_warehouse(workspace) as con:
        start = clock.current_time(con)
        end = clock.advance_clock(con, step.total_seconds() / 60)
        writes = con.execute(
            "SELECT COUNT(*) FROM nba_orchestration.circuit_breaker_state WHERE updated_at >= ? AND updated_at < ?",
            [start, end],
        ).fetchall()[0][0]
        errors = con.execute(
            "SELECT COUNT(*) FROM sandbox.logs WHERE resource_type = 'bigquery_resource' AND ts >= ? AND ts < ?",
            [start, end],
        ).fetchall()[0][0]
        clock.write_log(con, f"clock advanced by {duration}", source="sandbox")
        return AdvanceResult(start, end, writes, errors)


@dataclass
class LogEntry:
    ts: datetime
    severity: str
    resource_type: str
    source: str
    message: str

    def line(self) -> str:
        return f"{self.ts:%Y-%m-%dT%H:%M:%S}Z {self.severity} {self.source} {self.message}"


def read_logs(workspace: Path, *, text: str | None = None, freshness: str | None = None) -> list[LogEntry]:
    """Return log entries up to the clock, newest last, matching ``text`` (case-insensitive) within ``freshness``."""
    window = parse_duration(freshness) if freshness else None
    with open_warehouse(workspace, read_only=True) as con:
        now = clock.current_time(con)
        since = now - window if window else datetime.min
        rows = con.execute(
            """
            SELECT ts, severity, resource_type, source, message FROM sandbox.logs
            WHERE ts > ? AND ts <= ?
              AND (? IS NULL OR contains(lower(message || ' ' || source || ' ' || resource_type || ' ' || severity), lower(?)))
            ORDER BY ts
            """,
            [since, now, text, text],
        ).fetchall()
    return [LogEntry(*row) for row in rows]


@dataclass
class SpotCheckReport:
    start: date
    end: date
    samples: list[tuple[date, str, str]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        if not self.samples:
            return 0.0
        return 100.0 * sum(outcome == "match" for _, _, outcome in self.samples) / len(self.samples)

    def lines(self) -> list[str]:
        details = [f"{day}  {player:<24} {outcome}" for day, player, outcome in self.samples]
        return details + [f"accuracy: {self.accuracy:.1f}% ({len(self.samples)} samples, {self.start}..{self.end})"]


def spot_check(workspace: Path, start: date, end: date, *, samples: int = 20) -> SpotCheckReport:
    """Compare sampled raw player-games with minutes against analytics; a missing analytics row is a mismatch.

    The sample is fixed by a hash of date and player, so reruns compare the same player-games.
    """
    if samples <= 0:
        raise SandboxError(f"invalid --samples {samples}; use a positive number")
    with open_warehouse(workspace, read_only=True) as con:
        rows = con.execute(
            """
            WITH sampled AS (
                SELECT * FROM nba_raw.bdl_player_boxscores
                WHERE game_date BETWEEN ? AND ? AND minutes NOT IN ('', '0', '00', '0:00', '00:00')
                ORDER BY md5(CAST(game_date AS VARCHAR) || player_lookup)
                LIMIT ?
            )
            SELECT s.game_date, s.player_lookup, s.points, s.minutes, a.points, a.minutes_played
            FROM sampled s
            LEFT JOIN nba_analytics.player_game_summary a
              ON a.game_date = s.game_date AND a.player_lookup = s.player_lookup
            ORDER BY s.game_date, s.player_lookup
            """,
            [start, end, samples],
        ).fetchall()
    report = SpotCheckReport(start, end)
    for day, player, raw_points, raw_minutes, points, minutes_played in rows:
        report.samples.append((day, player, compare_player_game(raw_points, raw_minutes, points, minutes_played)))
    return report


def compare_player_game(raw_points: int, raw_minutes: str, points: int | None, minutes_played) -> str:
    if points is None:
        return "missing in analytics"
    whole, _, seconds = raw_minutes.partition(":")
    expected_minutes = int(whole) + (int(seconds or 0) / 60)
    if points != raw_points:
        return f"points {points} != raw {raw_points}"
    if abs(float(minutes_played) - expected_minutes) > MINUTES_TOLERANCE:
        return f"minutes {minutes_played} != raw {expected_minutes:.2f}"
    return "match"


@dataclass
class ValidationCheck:
    name: str
    value: float
    minimum: float
    detail: str

    @property
    def passed(self) -> bool:
        return self.value > self.minimum if self.name in {"props", "predictions", "cache"} else self.value >= self.minimum


@dataclass
class ValidationReport:
    checks: list[ValidationCheck]

    @property
    def issue_count(self) -> int:
        return sum(not check.passed for check in self.checks)

    def lines(self) -> list[str]:
        lines = [f"{'OK' if check.passed else 'ISSUE':<5} {check.detail}" for check in self.checks]
        return lines + [f"{self.issue_count} ISSUES"]


def validate(
    workspace: Path,
    *,
    game_date: date | None = None,
    cache_date: date = date(2026, 1, 26),
    coverage_date: date = date(2026, 1, 15),
    usage_date: date = date(2026, 1, 22),
) -> ValidationReport:
    """Check tonight's readiness: props and predictions for the game date, a cache, player and usage coverage."""
    with open_warehouse(workspace, read_only=True) as con:
        today = game_date or clock.game_date_at(clock.current_time(con))

        def scalar(sql: str, params: list) -> float:
            return float(con.execute(sql, params).fetchall()[0][0] or 0)

        props = scalar("SELECT COUNT(*) FROM nba_raw.bettingpros_player_points_props WHERE game_date = ?", [today])
        predictions = scalar(
            "SELECT COUNT(*) FROM nba_predictions.player_prop_predictions WHERE game_date = ? AND is_active", [today]
        )
        cache = scalar(
            "SELECT COUNT(DISTINCT player_lookup) FROM nba_precompute.player_daily_cache WHERE cache_date = ?", [cache_date]
        )
        coverage = scalar(
            """
            SELECT 100.0 * (SELECT COUNT(DISTINCT player_lookup) FROM nba_analytics.player_game_summary WHERE game_date = ?)
                 / NULLIF((SELECT COUNT(DISTINCT player_lookup) FROM nba_raw.bdl_player_boxscores WHERE game_date = ?), 0)
            """,
            [coverage_date, coverage_date],
        )
        usage = scalar(
            "SELECT 100.0 * COUNT(usage_rate) / NULLIF(COUNT(*), 0) FROM nba_analytics.player_game_summary "
            "WHERE game_date = ? AND minutes_played > 0",
            [usage_date],
        )
    return ValidationReport([
        ValidationCheck("props", props, PROPS_MINIMUM, f"props for {today}: {props:.0f} rows (need > {PROPS_MINIMUM})"),
        ValidationCheck("predictions", predictions, PREDICTIONS_MINIMUM,
                        f"predictions for {today}: {predictions:.0f} active (need > {PREDICTIONS_MINIMUM})"),
        ValidationCheck("cache", cache, CACHE_MINIMUM, f"cache for {cache_date}: {cache:.0f} players (need > {CACHE_MINIMUM})"),
        ValidationCheck("coverage", round(coverage, 1), COVERAGE_MINIMUM,
                        f"player coverage for {coverage_date}: {coverage:.1f}% (need >= {COVERAGE_MINIMUM:.0f}%)"),
        ValidationCheck("usage", round(usage, 1), USAGE_MINIMUM,
                        f"usage_rate coverage for {usage_date}: {usage:.1f}% (need >= {USAGE_MINIMUM:.0f}%)"),
    ])
