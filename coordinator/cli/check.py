"""`coord check` and `coord tick`: measuring criteria, and a person's tick on a manual one."""

from __future__ import annotations

from typing import Annotated

import typer

from coordinator.cli.common import (
    BoardOption,
    IncidentArgument,
    JsonOption,
    RepoOption,
    RoleOption,
    TargetOption,
    context_for,
    load,
    open_board,
    print_json,
    repository,
)
from coordinator.errors import CoordinatorError

MARKS = {"pass": "[x]", "fail": "[ ]", "error": "[!]", "waiting": "[?]"}


def check(
    incident_file: IncidentArgument,
    role: RoleOption = None,
    target: TargetOption = None,
    as_json: JsonOption = False,
    repo: RepoOption = None,
    board: BoardOption = None,
) -> None:
    """Measure the success criteria, store every result, and print the checklist.

    Exit code 0 when every measured criterion passes, 1 when one fails, 2 when one cannot be measured.
    Manual criteria waiting for a tick are listed as waiting and do not change the exit code; a rejected
    tick counts as a failing criterion.
    """
    from coordinator.criteria.round import round_exit_code, start_round
    from coordinator.timefmt import local

    incident = load(incident_file)
    repo_path = repository(repo)
    context = context_for(incident, target, repo_path)
    pending = start_round(incident, context, role=role)
    try:
        store = open_board(repo_path, board, incident, incident_file)
    except BaseException:
        pending.abandon()
        raise
    evaluations = pending.finish(store)
    code = round_exit_code(evaluations)
    texts = {criterion.id: criterion.text for criterion in incident.criteria}

    if as_json:
        print_json(
            {
                "incident": incident.incident.id,
                "target": context.target,
                "target_time": context.now,
                "exit_code": code,
                "criteria": [
                    {
                        "id": evaluation.criterion_id,
                        "role": evaluation.role,
                        "text": texts[evaluation.criterion_id],
                        "kind": evaluation.kind,
                        "status": evaluation.status,
                        "value": evaluation.value,
                        "detail": evaluation.detail,
                        "sql": evaluation.sql,
                        "params": evaluation.params,
                        "command": evaluation.command,
                        "exit_code": evaluation.exit_code,
                        "duration_ms": evaluation.duration_ms,
                        "bytes_processed": evaluation.bytes_processed,
                        "bytes_billed": evaluation.bytes_billed,
                    }
                    for evaluation in evaluations
                ],
            }
        )
        raise typer.Exit(code)

    timezone = incident.incident.timezone
    typer.echo(f"{incident.incident.id} on {context.target} (target time {local(context.now, timezone)})")
    current_role = object()
    for evaluation in evaluations:
        if evaluation.role != current_role:
            current_role = evaluation.role
            typer.echo(f"{evaluation.role or 'incident'}:")
        value = "" if evaluation.value is None else f" = {evaluation.value}"
        typer.echo(f"  {MARKS[evaluation.status]} {texts[evaluation.criterion_id]}")
        typer.echo(f"      {evaluation.criterion_id}{value}: {evaluation.detail}")
    counts = {status: sum(1 for e in evaluations if e.status == status) for status in MARKS}
    typer.echo(
        f"{counts['pass']} pass, {counts['fail']} fail, {counts['error']} not measurable, "
        f"{counts['waiting']} waiting for a person's tick"
    )
    scanned = [evaluation.bytes_processed for evaluation in evaluations if evaluation.bytes_processed is not None]
    if scanned:
        from coordinator.warehouse.bigquery import format_bytes

        billed = sum(evaluation.bytes_billed or 0 for evaluation in evaluations)
        typer.echo(f"queries processed {format_bytes(sum(scanned))}, billed {format_bytes(billed)}")
    raise typer.Exit(code)


def tick(
    incident_file: IncidentArgument,
    criterion: Annotated[str, typer.Argument(help="Id of a manual criterion.", show_default=False)],
    by: Annotated[str, typer.Option("--by", help="Who decides (a name).")],
    why: Annotated[str, typer.Option("--why", help="What the decision rests on.")],
    reject: Annotated[bool, typer.Option("--reject", help="Record that the criterion does NOT hold.")] = False,
    as_json: JsonOption = False,
    repo: RepoOption = None,
    board: BoardOption = None,
) -> None:
    """Record a person's decision on a manual criterion (who, when and why)."""
    incident = load(incident_file)
    known = {item.id: item for item in incident.criteria}
    if criterion not in known:
        raise CoordinatorError(f"{incident_file}: unknown criterion {criterion!r}: see `coord check {incident_file}`")
    if not known[criterion].manual:
        raise CoordinatorError(
            f"{incident_file}: criterion {criterion!r} is measured by {known[criterion].kind}, not ticked: run `coord check`"
        )
    if not by.strip() or not why.strip():
        raise CoordinatorError("--by and --why must not be empty: a tick records who decided and why")

    store = open_board(repository(repo), board, incident, incident_file)
    record = store.add_tick(incident.incident.id, criterion, ticked_by=by, reason=why, passed=not reject)
    if as_json:
        print_json(record.model_dump())
        return
    verdict = "rejected" if reject else "ticked"
    typer.echo(f"{criterion} {verdict} by {by}: {why}")


def query(
    incident_file: IncidentArgument,
    sql: Annotated[str, typer.Argument(help="One read-only BigQuery-dialect query, or - to read it from standard input.")],
    target: TargetOption = None,
    as_json: JsonOption = False,
    repo: RepoOption = None,
) -> None:
    """Run one read-only query on the target's warehouse with the incident's parameters bound (@name)."""
    import sys

    from coordinator.spec.params import fill_sql

    incident = load(incident_file)
    context = context_for(incident, target, repository(repo))
    text = sys.stdin.read() if sql == "-" else sql
    params = context.params()
    result = context.warehouse().query(fill_sql(text, params), params, label="query")
    context.close()

    if as_json:
        print_json({"columns": result.columns, "rows": [list(row) for row in result.rows]})
        return
    typer.echo(" | ".join(result.columns))
    for row in result.rows:
        typer.echo(" | ".join("NULL" if value is None else str(value) for value in row))
    typer.echo(f"({len(result.rows)} rows)")


def register(app: typer.Typer) -> None:
    app.command()(check)
    app.command()(tick)
    app.command()(query)
