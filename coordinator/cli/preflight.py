"""`coord preflight`: check an incident file before its prompts are handed out."""

from __future__ import annotations

import typer

from coordinator.cli.common import IncidentArgument, JsonOption, RepoOption, TargetOption, print_json, repository


def preflight(
    incident_file: IncidentArgument,
    target: TargetOption = None,
    as_json: JsonOption = False,
    repo: RepoOption = None,
) -> None:
    """Check the incident without changing anything: SQL compiles on the target's warehouse, named files are
    committed, executables are on PATH, dates and bounds make sense, everything has an owner.

    Prints errors, then warnings, then the estimated bytes per check round. Exit code 2 when there are errors.
    """
    from coordinator.preflight import run_preflight

    report = run_preflight(incident_file, target=target, repo=repository(repo))
    code = 2 if report.errors else 0
    if as_json:
        print_json({**report.to_json(), "exit_code": code})
        raise typer.Exit(code)

    for problem in report.errors:
        typer.echo(f"error: {problem}")
    for problem in report.warnings:
        typer.echo(f"warning: {problem}")
    for line in estimate_lines(report):
        typer.echo(line)
    typer.echo(
        f"{report.incident_id or incident_file} on {report.target or 'no target'}: "
        f"{len(report.errors)} errors, {len(report.warnings)} warnings"
    )
    raise typer.Exit(code)


def estimate_lines(report) -> list[str]:
    from coordinator.warehouse.bigquery import format_bytes

    if not report.estimates:
        return [f"estimated bytes per check round: {report.estimate_note}"] if report.estimate_note else []
    total = report.round_bytes()
    if total is None:
        return [f"estimated bytes per check round: {report.estimate_note or 'unknown'}"]
    lines = [f"estimated bytes per check round: {format_bytes(total)} ({total} bytes) for every criterion"]
    for role in sorted({estimate.role for estimate in report.estimates if estimate.role}):
        lines.append(f"  --role {role}: {format_bytes(report.round_bytes(role) or 0)}")
    for estimate in report.estimates:
        lines.append(f"  {estimate.criterion_id}: {format_bytes(estimate.bytes_processed or 0)}")
    return lines


def register(app: typer.Typer) -> None:
    app.command()(preflight)

