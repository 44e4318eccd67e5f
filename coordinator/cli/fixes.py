"""`coord fixes`: the stage of each fix (committed, deployed, verified), and overlapping edits between roles."""

from __future__ import annotations


import typer

from coordinator.cli.common import BoardOption, IncidentArgument, JsonOption, RepoOption, load, open_board, print_json, repository


def fixes(
    incident_file: IncidentArgument,
    json_output: JsonOption = False,
    repo: RepoOption = None,
    board: BoardOption = None,
) -> None:
    """Show each fix (a task with files_to_modify) as committed, deployed (service, revision) and verified."""
    from coordinator.gitops.fixes import fixes_report
    from coordinator.gitops.repository import head_commit, open_repository

    incident = load(incident_file)
    repo_path = repository(repo)
    with open_repository(repo_path) as git_repo:
        head_commit(git_repo)
    store = open_board(repo_path, board, incident, incident_file)
    view = fixes_report(incident, store, repo_path)
    if json_output:
        print_json(view)
        return

    for line in fixes_lines(view):
        typer.echo(line)


def fixes_lines(view: dict) -> list[str]:
    """Return the text lines of a fixes report, as `coord fixes` and `coord board --fixes` print them."""
    lines = [f"{view['incident']}: HEAD {view['head']}; commits since {view['start']}"]
    for fix in view["fixes"]:
        parts = [f"{fix['task']} ({fix['role']}): {fix['stage']}"]
        if fix["commit"]:
            parts.append(f"commit {fix['commit']} {fix['commit_subject']}")
        if fix["deployed_by"]:
            where = fix["service"] or "unknown service"
            parts.append(f"deployed to {where}" + (f" as {fix['revision']}" if fix["revision"] else "") + f" by {fix['deployed_by']}")
        if fix["verified_by"]:
            parts.append("verified by " + ", ".join(fix["verified_by"]))
        lines.append("  " + "; ".join(parts))
        lines.extend(f"    warning: {warning}" for warning in fix["warnings"])
    if not view["fixes"]:
        lines.append("  no fixes: no task lists files_to_modify")
    lines.extend(f"overlap: {line}" for line in view["overlaps"])
    lines.extend(
        f"no role: {line} (add a Role: trailer or list the author under git_authors)" for line in view["unattributed"]
    )
    return lines


def register(app: typer.Typer) -> None:
    app.command()(fixes)
