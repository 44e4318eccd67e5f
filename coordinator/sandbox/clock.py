"""The sandbox clock, its log, and the background load of the deployed Phase 3 service.

The clock is one naive-UTC TIMESTAMP in ``sandbox.clock``. Moving it also simulates what the deployed
``nba-phase3-analytics-processors`` revision writes meanwhile: circuit-breaker rows and, with the load-job
writer, quota errors. The model lets that one service's writer set the rate for every processor, because the
batch writer is shared code and that service is the one whose deploy changes it.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from coordinator.sandbox.workspace import bulk_insert

PIPELINE_TIMEZONE = ZoneInfo("America/New_York")
PHASE3_SERVICE = "nba-phase3-analytics-processors"

# Events of a rate-based stream happen at fixed offsets from this anchor, so any split of an interval into
# smaller advances yields the same events.
EVENT_ANCHOR = datetime(2026, 1, 1)

# Circuit-breaker writes per hour. The load-job rates add up to 1,248 writes between 00:00 and 15:00 UTC.
LOAD_JOB_WRITE_RATES = {
    "PlayerGameSummaryProcessor": 49.55,
    "TeamOffenseGameSummaryProcessor": 12.0,
    "PlayerDailyCacheProcessor": 10.0,
    "MLFeatureStoreProcessor": 7.0,
    "PredictionCoordinator": 4.667,
}
STREAMING_WRITE_RATES = {
    "PlayerGameSummaryProcessor": 1.0,
    "TeamOffenseGameSummaryProcessor": 0.5,
}
QUOTA_ERRORS_PER_HOUR = 4.0
QUOTA_ERROR_MESSAGE = (
    "Quota exceeded: Your table exceeded quota for Number of partition modifications to a column partitioned "
    "table (nba_orchestration.circuit_breaker_state)"
)


def current_time(con) -> datetime:
    """Return the sandbox clock as naive UTC."""
    return con.execute("SELECT now FROM sandbox.clock").fetchall()[0][0]


def game_date_at(moment: datetime) -> date:
    """Return the pipeline's game date (the New York calendar date) of a naive-UTC moment."""
    return moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(PIPELINE_TIMEZONE).date()


def write_log(con, message: str, *, source: str, severity: str = "INFO", resource_type: str = "sandbox") -> None:
    """Append one entry to ``sandbox.logs`` at the sandbox clock."""
    con.execute(
        "INSERT INTO sandbox.logs VALUES ((SELECT now FROM sandbox.clock), ?, ?, ?, ?)",
        [severity, resource_type, source, message],
    )


def event_times(rate_per_hour: float, start: datetime, end: datetime) -> list[datetime]:
    """Return the moments in [start, end) of a stream with ``rate_per_hour`` events evenly spaced from the anchor."""
    if rate_per_hour <= 0 or end <= start:
        return []
    spacing = 3600.0 / rate_per_hour
    first = math.ceil((start - EVENT_ANCHOR).total_seconds() / spacing)
    last = math.ceil((end - EVENT_ANCHOR).total_seconds() / spacing)
    return [EVENT_ANCHOR + timedelta(seconds=round(index * spacing)) for index in range(first, last)]


def simulate_background(con, start: datetime, end: datetime, *, writer: str, intensity: float = 1.0) -> int:
    """Write the circuit-breaker rows and quota errors that ``writer`` produces in [start, end) and return the row count."""
    rates = LOAD_JOB_WRITE_RATES if writer == "load_jobs" else STREAMING_WRITE_RATES
    rows = [
        (processor, "CLOSED", 0, moment)
        for processor, rate in rates.items()
        for moment in event_times(rate * intensity, start, end)
    ]
    bulk_insert(con, "nba_orchestration.circuit_breaker_state", ("processor_name", "state", "failure_count", "updated_at"), rows)

    if writer == "load_jobs":
        errors = [
            (moment, "ERROR", "bigquery_resource", PHASE3_SERVICE, QUOTA_ERROR_MESSAGE)
            for moment in event_times(QUOTA_ERRORS_PER_HOUR * intensity, start, end)
        ]
        bulk_insert(con, "sandbox.logs", ("ts", "severity", "resource_type", "source", "message"), errors)
    return len(rows)


def deployed_writer(con) -> str:
    """Return the batch writer (``load_jobs`` or ``streaming``) of the latest Phase 3 revision."""
    rows = con.execute(
        "SELECT writer FROM sandbox.service_revisions WHERE service = ? ORDER BY deployed_at DESC LIMIT 1",
        [PHASE3_SERVICE],
    ).fetchall()
    return rows[0][0] if rows else "load_jobs"


def advance_clock(con, minutes: float) -> datetime:
    """Move the clock forward, simulate the background load of that interval and return the new time."""
    start = current_time(con)
    end = start + timedelta(minutes=minutes)
    simulate_background(con, start, end, writer=deployed_writer(con))
    con.execute("UPDATE sandbox.clock SET now = ?", [end])
    return end
