"""`coord plan`: what an incident's roles will do and in which order, checked before anything runs."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import typer

from coordinator.cli.common import BoardOption, IncidentArgument, JsonOption, RepoOption, TargetOption, load, print_json

if TYPE_CHECKING:
    from coordinator.runner.plan import Plan, StepPlan, TaskPlan

Echo = Callable[[str], None]


def plan(
    incident_file: IncidentArgument,
    target: TargetOption = None,
    as_json: JsonOption = False,
    repo: RepoOption = None,
    board: BoardOption = None,
) -> None:
    """Show every role's resolved steps, the order of tasks across roles, conflicts and rejected steps.

    Nothing runs. With a board (the repository's, or --board), each task and step shows its recorded state.
    Conflicts are listed, not fatal: `coord run` leases the resources around each step. Exit code 1 when a
    role's policy rejects one of its own steps, because its run would stop there.
    """
    from coordinator.coordination.plan import coordination_plan, coordination_plan_lines
    from coordinator.runner.plan import build_plan
    from coordinator.target import choose_target

    incident = load(incident_file)
    chosen = choose_target(incident, target)
    resolved = build_plan(incident, chosen, board=existing_board(repo, board))
    coordination = coordination_plan(incident, chosen)
    flagged = bool(coordination["rejected_steps"])
    if as_json:
        print_json({**plan_as_dict(resolved), **coordination})
    else:
        print_plan(resolved, typer.echo)
        typer.echo("")
        for line in coordination_plan_lines(coordination):
            typer.echo(line)
    raise typer.Exit(1 if flagged else 0)


def existing_board(repo: Path | None, board: str | None):
    """Return the board when one is named or already exists in the repository; never create one for a plan."""
    from coordinator.board.engine import board_url
    from coordinator.board.store import Board
    from coordinator.cli.common import repository

    url = board_url(repository(repo), board)
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).is_file():
        return None
    return Board(url)


def plan_as_dict(resolved: "Plan") -> dict[str, Any]:
    return dataclasses.asdict(resolved)


def print_plan(resolved: "Plan", echo: Echo, *, order: bool = True) -> None:
    """Print the plan: the order across roles (unless `order` is False), each role's tasks, then warnings."""
    echo(f"Plan of incident {resolved.incident_id} on target {resolved.target}")
    if order:
        print_order(resolved, echo)
    for role in resolved.roles:
        echo("")
        echo(f"Role {role.name}: {role.title}")
        for number, task in enumerate(role.tasks, start=1):
            print_task(number, task, echo)
    for section in resolved.sections:
        echo("")
        echo(f"{section.title}:")
        for line in section.lines:
            echo(f"  {line}")
    if resolved.warnings:
        echo("")
        echo("Warnings:")
        for warning in resolved.warnings:
            echo(f"  {warning}")


def print_order(resolved: "Plan", echo: Echo) -> None:
    echo("")
    echo("Order across roles (tasks of one stage can run at the same time):")
    for number, stage in enumerate(resolved.stages, start=1):
        echo(f"  stage {number}: {', '.join(stage)}")
    if resolved.dependencies:
        echo("Waits between tasks:")
        for edge in resolved.dependencies:
            owner = f" (role {edge.owner})" if edge.owner else ""
            echo(f"  {edge.role}.{edge.task} waits for {edge.kind} {edge.waits_for}{owner}")


def print_task(number: int, task: "TaskPlan", echo: Echo) -> None:
    echo(f"  {number}. {task.id}: {task.title} [{task.status}]")
    if task.depends_on:
        echo(f"     after tasks: {', '.join(task.depends_on)}")
    if task.after_criteria:
        echo(f"     after criteria pass: {', '.join(task.after_criteria)}")
    for step in task.steps:
        print_step(step, echo)
    if task.verified_by:
        echo(f"     done when these pass: {', '.join(task.verified_by)}")


def print_step(step: "StepPlan", echo: Echo) -> None:
    indent = "     " + "  " * step.depth
    marks = [step.kind]
    if step.status:
        marks.append(step.status)
    if step.risk:
        marks.append(f"asks first: {step.risk}")
    if not step.idempotent:
        marks.append("not idempotent")
    title = f" {step.title}" if step.title else ""
    echo(f"{indent}- {step.key} ({', '.join(marks)}){title}")
    if step.command:
        lines = step.command.splitlines()
        echo(f"{indent}    $ {lines[0]}")
        for line in lines[1:]:
            echo(f"{indent}      {line}")
    if step.detail:
        echo(f"{indent}    {step.detail}")
    if step.depends_on or step.after_criteria:
        waits = [*(f"task {task}" for task in step.depends_on), *(f"criterion {c}" for c in step.after_criteria)]
        echo(f"{indent}    runs after: {', '.join(waits)}")
    if step.verify:
        echo(f"{indent}    verified by: {', '.join(step.verify)} (within {step.verify_within:g} s)")
    if step.unverified_effect:
        echo(f"{indent}    WARNING: a {step.unverified_effect} with no verify criteria")


def register(app: typer.Typer) -> None:
    app.command()(plan)
