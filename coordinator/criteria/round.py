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
    evaluations = evaluate_all(criteria, context, ticks=ticks)
    context.close()
    board.add_results(
        evaluation.to_row(incident.incident.id, context.target) for evaluation in evaluations if evaluation.kind != "manual"
    )
    _clear_passed_blockers(incident.incident.id, board)
    return evaluations


def evaluate_all(criteria: list[Criterion], context: TargetContext, *, ticks) -> list[Evaluation]:
    """Measure `criteria` and return the evaluations in the same order.

    SQL criteria run concurrently, up to the warehouse's `max_concurrent_queries`, after every other
    criterion. Commands run one at a time first because a command closes the warehouse connection (an
    embedded file admits one writer), which must not happen under a running query.
    """
    from concurrent.futures import ThreadPoolExecutor

    from coordinator.errors import CoordinatorError

    sql_indexes = [index for index, criterion in enumerate(criteria) if criterion.sql is not None]
    try:
        workers = context.warehouse().max_concurrent_queries if sql_indexes else 1
    except CoordinatorError:
        workers = 1  # each SQL criterion then reports why the warehouse cannot be opened
    if workers <= 1 or len(sql_indexes) <= 1:
        return [evaluate(criterion, context, ticks=ticks) for criterion in criteria]

    evaluations: list[Evaluation | None] = [None] * len(criteria)
    for index, criterion in enumerate(criteria):
        if index not in sql_indexes:
            evaluations[index] = evaluate(criterion, context, ticks=ticks)
    context.warehouse()
    with ThreadPoolExecutor(max_workers=min(workers, len(sql_indexes)), thread_name_prefix="criterion") as pool:
        measured = pool.map(lambda index: evaluate(criteria[index], context, ticks=ticks), sql_indexes)
        for index, evaluation in zip(sql_indexes, measured):
            evaluations[index] = evaluation
    return [evaluation for evaluation in evaluations if evaluation is not None]


def _clear_passed_blockers(incident_id: str, board: Board) -> None:
    """Resolve the blocking messages whose --until criterion this round found passing."""
    from coordinator.board.coordination import CoordinationStore

    CoordinationStore(board.engine).clear_passed_blockers(incident_id)


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
