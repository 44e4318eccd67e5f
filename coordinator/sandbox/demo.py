"""The demo: the 2026-01-27 incident carried end to end on a fresh sandbox workspace.

Seed a workspace, write the prompts, measure the criteria (the seed's problems fail), run the roles in
the incident's suggested order, measure again, write each role's handoff, and end with the final
validation. The demo passes only when the final validation passes.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import coordinator
from coordinator.board.store import Board
from coordinator.criteria.evaluate import Evaluation, evaluate
from coordinator.criteria.round import check_round
from coordinator.errors import CoordinatorError
from coordinator.runner.run import RoleRunner, RunOutcome
from coordinator.spec import Incident, load_incident
from coordinator.target import TargetContext

DEMO_INCIDENT = Path("playbooks/nba/2026-01-27-pipeline-recovery.yaml")
DEMO_TARGET = "sandbox"


def shipped_incident() -> Path:
    """Return the incident file the demo uses, from a source checkout or an installed wheel."""
    package = Path(coordinator.__file__).resolve().parent
    for root in (package.parent, package / "_playbooks_root"):
        candidate = root / DEMO_INCIDENT
        if candidate.is_file():
            return candidate
    raise CoordinatorError(f"the demo incident {DEMO_INCIDENT} is not installed with coordinator: reinstall it")


@dataclass
class DemoResult:
    workspace: Path
    incident_file: Path
    prompts: list[Path] = field(default_factory=list)
    before: list[Evaluation] = field(default_factory=list)
    outcomes: dict[str, RunOutcome] = field(default_factory=dict)
    after: list[Evaluation] = field(default_factory=list)
    handoffs: dict[str, Path] = field(default_factory=dict)
    final: Evaluation | None = None

    @property
    def passed(self) -> bool:
        return self.final is not None and self.final.passed


def prepare_workspace(directory: Path | None) -> Path:
    """Return an empty folder for the workspace: a new temporary one, or `directory` emptied of a former demo."""
    if directory is None:
        return Path(tempfile.mkdtemp(prefix="coord-demo-"))
    directory = directory.resolve()
    if directory.exists() and any(directory.iterdir()):
        if not (directory / ".sandbox").is_dir():
            raise CoordinatorError(
                f"{directory}: folder is not empty and is not a former demo workspace: choose an empty or new --dir"
            )
        shutil.rmtree(directory)
    return directory


def run_demo(
    directory: Path | None,
    *,
    incident_file: Path | None = None,
    on_event: Callable[[str, str], None] | None = None,
    scale: int = 1,
) -> DemoResult:
    from coordinator.render.handoff import handoff_path, render_handoff, write_atomically
    from coordinator.render.prompts import write_prompts
    from coordinator.sandbox.errors import SandboxError
    from coordinator.sandbox.seed import init_workspace

    emit = on_event or (lambda kind, message: None)
    source = incident_file or shipped_incident()
    incident = load_incident(source)
    workspace = prepare_workspace(directory)

    try:
        init_workspace(workspace, force=True, scale=scale)
    except SandboxError as error:
        raise CoordinatorError(str(error)) from None
    local_copy = workspace / DEMO_INCIDENT
    local_copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, local_copy)
    result = DemoResult(workspace=workspace, incident_file=local_copy)
    emit("phase", f"workspace: {workspace}")

    board = Board.for_repo(workspace)
    board.record_incident(incident.incident.id, incident.incident.title, str(local_copy))
    context = TargetContext(incident=incident, target=DEMO_TARGET, repo=workspace)

    from coordinator.preflight import run_preflight

    # As `coord prompts` does: prompts are handed out only when the preflight finds no error.
    preflight = run_preflight(local_copy, target=DEMO_TARGET, repo=workspace)
    emit("phase", f"preflight: {len(preflight.errors)} errors, {len(preflight.warnings)} warnings")
    if preflight.errors:
        raise CoordinatorError("the demo incident fails its preflight: " + str(preflight.errors[0]))
    result.prompts = write_prompts(
        incident, DEMO_TARGET, workspace / "prompts", incident_path=DEMO_INCIDENT, workspace=workspace
    )
    emit("phase", f"prompts: {', '.join(path.name for path in result.prompts)} in {workspace / 'prompts'}")

    result.before = check_round(incident, context, board)
    emit("check", _summary("before recovery", result.before))

    _run_roles(incident, context, board, result, emit)

    result.after = check_round(incident, context, board)
    emit("check", _summary("after recovery", result.after))

    for role in incident.roles:
        path = handoff_path(incident, role.name, workspace, target=DEMO_TARGET)
        write_atomically(path, render_handoff(incident, role.name, board, target=DEMO_TARGET, repo=workspace))
        result.handoffs[role.name] = path
    emit("phase", "handoffs: " + ", ".join(str(path.relative_to(workspace)) for path in result.handoffs.values()))

    final = incident.coordination.final_validation
    if final is not None:
        context.refresh_clock()
        result.final = evaluate(incident.criterion(final.criterion), context, ticks=board.latest_ticks(incident.incident.id))
        board.add_results([result.final.to_row(incident.incident.id, DEMO_TARGET)])
        context.close()
        emit("final", f"final validation {final.criterion}: {result.final.status} ({result.final.value}: {result.final.detail})")
    return result


def _run_roles(incident: Incident, context: TargetContext, board: Board, result: DemoResult, emit) -> None:
    """Run the roles in the suggested order, again and again while a blocked role can move on.

    A role blocked by another role's unfinished task runs again after that role; the sandbox is no place
    for a person to confirm, so risky steps are accepted.
    """
    pending = _role_order(incident)
    while pending:
        blocked = []
        for role in pending:
            outcome = RoleRunner(
                incident, role, context, board, on_event=lambda kind, message: None, confirm=lambda question: True
            ).run()
            result.outcomes[role] = outcome
            emit("run", f"run {role}: {outcome.status}" + ("" if outcome.status == "done" else f": {outcome.message}"))
            if outcome.status == "blocked":
                blocked.append(role)
        if len(blocked) == len(pending):
            return
        pending = blocked


def _role_order(incident: Incident) -> list[str]:
    """Return the roles in the coordination notes' suggested order, then any the notes leave out."""
    ordered = [start.role for start in incident.coordination.suggested_order]
    return ordered + [role.name for role in incident.roles if role.name not in ordered]


def _summary(label: str, evaluations: list[Evaluation]) -> str:
    counts = {status: sum(1 for evaluation in evaluations if evaluation.status == status) for status in ("pass", "fail", "error", "waiting")}
    failing = [f"{evaluation.criterion_id} = {evaluation.value}" for evaluation in evaluations if evaluation.status in ("fail", "error")]
    text = (
        f"check {label}: {counts['pass']} pass, {counts['fail']} fail, {counts['error']} not measurable, "
        f"{counts['waiting']} waiting for a tick"
    )
    if failing:
        text += "\n  failing: " + ", ".join(failing)
    return text
