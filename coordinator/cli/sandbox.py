"""`coord sandbox`: commands that stand in for gcloud, bq and curl on a local model of the pipeline.

The core lives in ``coordinator.sandbox`` and is imported inside each command, so loading this module stays
cheap for the other verbs. Exit codes: 0 success, 1 a failed action or validation, 2 bad input.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Optional

import typer

sandbox_app = typer.Typer(no_args_is_help=True, help="Run the recovery on a local model of the NBA props pipeline.")

DirOption = Annotated[
    Optional[Path],
    typer.Option("--dir", help="Workspace folder; default: the current folder or the nearest parent holding one."),
]
DateOption = Annotated[str, typer.Option(help="Date as YYYY-MM-DD.")]


def fail(error: Exception) -> typer.Exit:
    """Print a sandbox error as one line on stderr and return the exit to raise."""
    typer.echo(f"error: {error}", err=True)
    return typer.Exit(getattr(error, "exit_code", 2))


def workspace_for(directory: Optional[Path]) -> Path:
    from coordinator.sandbox import find_workspace

    return find_workspace(directory)


def parse_date(text: str, option: str) -> date:
    from coordinator.sandbox import SandboxError

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise SandboxError(f"invalid {option} '{text}'; use YYYY-MM-DD") from None


def parse_env(pairs: list[str]) -> dict[str, str]:
    from coordinator.sandbox import SandboxError

    env = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key:
            raise SandboxError(f"invalid --env '{pair}'; use KEY=VALUE")
        env[key] = value
    return env


@sandbox_app.command()
def init(
    directory: Annotated[Path, typer.Option("--dir", help="Folder to create the workspace in.")],
    force: Annotated[bool, typer.Option("--force", help="Replace a workspace in a non-empty folder.")] = False,
    scale: Annotated[int, typer.Option(
        "--scale",
        help="Seasons in the warehouse: 1 is the incident's season alone; each more adds an earlier season of "
             "box scores, analytics and props (about 6,500 analytics and 96,000 props rows) that no figure on "
             "the incident's dates reads. Used to benchmark checks on bigger tables.",
    )] = 1,
) -> None:
    """Create a workspace seeded with the pipeline's state on the morning of 2026-01-27."""
    from coordinator.sandbox import SandboxError, init_workspace

    try:
        summary = init_workspace(directory, force=force, scale=scale)
    except SandboxError as error:
        raise fail(error)
    seasons = "" if scale == 1 else f", {scale} seasons"
    typer.echo(f"created sandbox workspace {summary.workspace} (clock {summary.clock:%Y-%m-%dT%H:%M:%S}Z, "
               f"{len(summary.commits)} commits{seasons}, {summary.seconds:.1f} s)")


@sandbox_app.command()
def now(directory: DirOption = None) -> None:
    """Print the sandbox clock as ISO-8601 UTC."""
    from coordinator.sandbox import SandboxError, current_time

    try:
        moment = current_time(workspace_for(directory))
    except SandboxError as error:
        raise fail(error)
    typer.echo(f"{moment:%Y-%m-%dT%H:%M:%S}Z")


@sandbox_app.command()
def deploy(
    service: str,
    env: Annotated[list[str], typer.Option("--env", help="Environment variable KEY=VALUE; repeatable.")] = [],
    directory: DirOption = None,
) -> None:
    """Deploy a new revision of SERVICE from the workspace files at git HEAD, with exactly the --env variables given."""
    from coordinator.sandbox import SandboxError, deploy as deploy_service
    from coordinator.sandbox.services import check_service

    try:
        check_service(service)
        description = deploy_service(workspace_for(directory), service, env=parse_env(env))
    except SandboxError as error:
        raise fail(error)
    typer.echo(f"deployed {description['revision']} at {description['deployed_at']}")


@sandbox_app.command()
def describe(
    service: str,
    field: Annotated[Optional[list[str]], typer.Option("--field", help="Field to print; repeatable.")] = None,
    directory: DirOption = None,
) -> None:
    """Print the latest revision of SERVICE: the requested fields one per line, or every field."""
    from coordinator.sandbox import SandboxError, describe_service
    from coordinator.sandbox.services import DESCRIBE_FIELDS, check_service

    try:
        check_service(service)
        unknown = [name for name in field or [] if name not in DESCRIBE_FIELDS]
        if unknown:
            raise SandboxError(f"unknown --field '{unknown[0]}'; known fields: {', '.join(DESCRIBE_FIELDS)}")
        description = describe_service(workspace_for(directory), service)
    except SandboxError as error:
        raise fail(error)
    if field:
        for name in field:
            typer.echo(description[name])
        return
    for name in DESCRIBE_FIELDS:
        typer.echo(f"{name}: {description[name]}")


@sandbox_app.command()
def health(service: str, directory: DirOption = None) -> None:
    """Probe the latest revision of SERVICE like a request to /health; exit 1 when it fails to serve."""
    from coordinator.sandbox import SandboxError
    from coordinator.sandbox.services import check_service, health as probe

    try:
        check_service(service)
        serving, answer = probe(workspace_for(directory), service)
    except SandboxError as error:
        raise fail(error)
    typer.echo(answer)
    if not serving:
        raise typer.Exit(1)


@sandbox_app.command()
def trigger(workflow: str, directory: DirOption = None) -> None:
    """POST force_workflows to the scraper's /execute-workflows: it answers 200 and runs nothing."""
    from coordinator.sandbox import SandboxError, trigger_workflow

    try:
        decision = trigger_workflow(workspace_for(directory), workflow)
    except SandboxError as error:
        raise fail(error)
    typer.echo(decision.line())


def print_report(report) -> None:
    for line in report.lines():
        typer.echo(line)
    if report.failed:
        raise typer.Exit(1)


@sandbox_app.command("run-job")
def run_job(job: str, directory: DirOption = None) -> None:
    """Run a scheduler job now (execute-workflows, morning-predictions, same-day-phase3, same-day-phase4); exit 1 when it failed."""
    from coordinator.sandbox import SandboxError, run_job as run_scheduler_job

    try:
        report = run_scheduler_job(workspace_for(directory), job)
    except SandboxError as error:
        raise fail(error)
    print_report(report)


@sandbox_app.command()
def backfill(
    phase: Annotated[str, typer.Argument(help="phase3 or phase4.")],
    start_date: DateOption,
    end_date: DateOption,
    directory: DirOption = None,
) -> None:
    """Reprocess PHASE for every date in the range; exit 1 when a date failed."""
    from coordinator.sandbox import SandboxError, backfill as run_backfill

    try:
        start, end = parse_date(start_date, "--start-date"), parse_date(end_date, "--end-date")
        report = run_backfill(workspace_for(directory), phase, start, end)
    except SandboxError as error:
        raise fail(error)
    print_report(report)


@sandbox_app.command()
def patch(name: str, directory: DirOption = None) -> None:
    """Apply a dev code change (streaming-inserts, processing-gate, processing-order) and commit it."""
    from coordinator.sandbox import SandboxError, apply_patch

    try:
        result = apply_patch(workspace_for(directory), name)
    except SandboxError as error:
        raise fail(error)
    typer.echo(result.line())


@sandbox_app.command()
def migrate(file: Path, directory: DirOption = None) -> None:
    """Apply a BigQuery DDL migration FILE (relative to the workspace) to the warehouse."""
    from coordinator.sandbox import SandboxError, apply_migration

    try:
        statements = apply_migration(workspace_for(directory), file)
    except SandboxError as error:
        raise fail(error)
    for statement in statements:
        typer.echo(statement)
    typer.echo(f"{len(statements)} statements applied")


@sandbox_app.command("describe-table")
def describe_table(table: str, directory: DirOption = None) -> None:
    """Print the columns of TABLE (dataset.table), one 'name TYPE' per line."""
    from coordinator.sandbox import SandboxError, describe_table as describe_warehouse_table

    try:
        columns = describe_warehouse_table(workspace_for(directory), table)
    except SandboxError as error:
        raise fail(error)
    for name, column_type in columns:
        typer.echo(f"{name} {column_type}")


@sandbox_app.command()
def advance(
    duration: Annotated[str, typer.Argument(help="How far to move the clock, e.g. 1h, 30m, 1h30m.")],
    directory: DirOption = None,
) -> None:
    """Move the sandbox clock; the deployed services keep writing meanwhile."""
    from coordinator.sandbox import SandboxError, advance as advance_clock

    try:
        result = advance_clock(workspace_for(directory), duration)
    except SandboxError as error:
        raise fail(error)
    typer.echo(result.line())


@sandbox_app.command()
def logs(
    filter_text: Annotated[Optional[str], typer.Option("--filter", help="Case-insensitive text to match.")] = None,
    freshness: Annotated[Optional[str], typer.Option(help="Only entries this recent, e.g. 1h or 30m.")] = None,
    directory: DirOption = None,
) -> None:
    """Print log entries up to the sandbox clock; prints nothing when none match."""
    from coordinator.sandbox import SandboxError, read_logs

    try:
        entries = read_logs(workspace_for(directory), text=filter_text, freshness=freshness)
    except SandboxError as error:
        raise fail(error)
    for entry in entries:
        typer.echo(entry.line())


@sandbox_app.command("spot-check")
def spot_check(
    start_date: DateOption,
    end_date: DateOption,
    samples: Annotated[int, typer.Option(help="Player-games to sample.")] = 20,
    directory: DirOption = None,
) -> None:
    """Compare sampled player-games of analytics with raw box scores; print the accuracy."""
    from coordinator.sandbox import SandboxError, spot_check as run_spot_check

    try:
        start, end = parse_date(start_date, "--start-date"), parse_date(end_date, "--end-date")
        report = run_spot_check(workspace_for(directory), start, end, samples=samples)
    except SandboxError as error:
        raise fail(error)
    for line in report.lines():
        typer.echo(line)


@sandbox_app.command()
def validate(directory: DirOption = None) -> None:
    """Run tonight's validation; the last line is 'N ISSUES'; exit 1 when there are any."""
    from coordinator.sandbox import SandboxError, validate as run_validation

    try:
        report = run_validation(workspace_for(directory))
    except SandboxError as error:
        raise fail(error)
    for line in report.lines():
        typer.echo(line)
    if report.issue_count:
        raise typer.Exit(1)
