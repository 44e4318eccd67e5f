"""A check round: measure a set of criteria once, store every result on the board."""

from __future__ import annotations

from coordinator.board.store import Board
from coordinator.criteria.evaluate import Evaluation, evaluate
from coordinator.errors import CoordinatorError
from coordinator.spec.models import Criterion, Incident
from coordinator.target import TargetContext


def select_criteria(incident: Incident, *, role: str | None = None) -> list[Criterion]:
    """Return a role's criteria in checklist order, or every criterion of the incident."""
    if role is None:
        return list(incident.criteria)
    if role not in {candidate.name for candidate in incident.roles}:
        known = ", ".join(candidate.name for candidate in incident.roles)
        raise CoordinatorError(f"unknown role {role!r}: this incident's roles are {known}")
    return incident.criteria_of(role)


def check_round(
    incident: Incident, context: TargetContext, board: Board, *, role: str | None = None
) -> list[Evaluation]:
    criteria = select_criteria(incident, role=role)
    context.refresh_clock()
    ticks = board.latest_ticks(incident.incident.id)
    evaluations = [evaluate(criterion, context, ticks=ticks) for criterion in criteria]
    context.close()
    board.add_results(
        evaluation.to_row(incident.incident.id, context.target) for evaluation in evaluations if evaluation.kind != "manual"
    )
    return evaluations


def round_exit_code(evaluations: list[Evaluation]) -> int:
    """0 when every measured criterion passes, 1 when one fails, 2 when one could not be measured.

    Manual criteria waiting for a tick do not change the code: they are listed as waiting.
    """
    statuses = {evaluation.status for evaluation in evaluations}
    if "error" in statuses:
        return 2
    if "fail" in statuses:
        return 1
    return 0
