"""Running every preflight check on an incident file for one target."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from coordinator.preflight.checker import Checker
from coordinator.preflight.report import ERROR, PreflightProblem, PreflightReport

if TYPE_CHECKING:
    from coordinator.spec.loader import LoadedIncident


def run_preflight(
    incident_file: str | Path, *, target: str | None, repo: Path, loaded: LoadedIncident | None = None
) -> PreflightReport:
    """Check an incident file without changing anything: nothing is run, SQL is only compiled.

    The file's own problems (the loader's) are errors too; when the file does not validate at all, only
    those are reported. `loaded` is the file as `read_incident` returned it, when the caller has read it.
    """
    from coordinator.preflight.dates import check_dates
    from coordinator.preflight.files import check_files
    from coordinator.preflight.ownership import check_bounds, check_ownership
    from coordinator.preflight.partitions import check_partitions
    from coordinator.preflight.sql import start_sql_checks
    from coordinator.spec.loader import read_incident
    from coordinator.target import choose_target

    if loaded is None:
        loaded = read_incident(incident_file)
    report = PreflightReport(file=loaded.file, incident_id=None, target=target)
    report.problems.extend(
        PreflightProblem(ERROR, problem.file, problem.line, problem.column, problem.key_path, problem.message)
        for problem in loaded.problems
    )
    if loaded.incident is None:
        return report

    incident = loaded.incident
    report.incident_id = incident.incident.id
    report.target = choose_target(incident, target)
    checker = Checker(loaded, incident, report.target, repo, report)
    # The warehouse compiles the SQL while the other checks run; its problems are still reported after theirs.
    sql_checks = start_sql_checks(checker)
    try:
        check_ownership(checker)
        check_bounds(checker)
        check_dates(checker)
        check_files(checker)
    finally:
        sql_checks.finish()
    check_partitions(checker)
    return report
