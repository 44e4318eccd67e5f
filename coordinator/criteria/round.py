"""A check round: measure a set of criteria once, store every result on the board."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from coordinator.criteria.evaluate import Evaluation, evaluate, record_provenance_of
from coordinator.errors import CoordinatorError
from coordinator.spec.models import Criterion, Incident
from coordinator.target import TargetContext

if TYPE_CHECKING:
    from coordinator.board.store import Board


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
    """Measure the criteria (a role's, or all), store every measured result, and return the evaluations."""
    return start_round(incident, context, role=role).finish(board)


def start_round(incident: Incident, context: TargetContext, *, role: str | None = None) -> PendingRound:
    """Measure the commands, drift checks and clock now, and start the SQL criteria in the background.

    `coord check` opens the board while the queries run: the queries spend their time in the warehouse,
    outside Python, and opening the board is mostly importing SQLAlchemy.
    """
    criteria = select_criteria(incident, role=role)
    context.refresh_clock()
    evaluations: list[Evaluation | None] = [None] * len(criteria)
    sql_indexes = []
    for index, criterion in enumerate(criteria):
        if criterion.sql is not None:
            sql_indexes.append(index)
        elif not criterion.manual:
            evaluations[index] = evaluate(criterion, context)

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="round")
    measuring = pool.submit(measure_sql_criteria, [criteria[index] for index in sql_indexes], context)
    return PendingRound(incident, context, criteria, evaluations, sql_indexes, pool, measuring)


@dataclass
class PendingRound:
    """A check round whose SQL criteria are being measured; `finish` completes it, `abandon` drops it."""

    incident: Incident
    context: TargetContext
    criteria: list[Criterion]
    evaluations: list[Evaluation | None]
    sql_indexes: list[int]
    pool: ThreadPoolExecutor
    measuring: Future

    def finish(self, board: Board) -> list[Evaluation]:
        """Judge the manual criteria by their latest ticks, store every measured result, and return all."""
        incident_id = self.incident.incident.id
        try:
            ticks = board.latest_ticks(incident_id)
            for index, criterion in enumerate(self.criteria):
                if criterion.manual:
                    self.evaluations[index] = evaluate(criterion, self.context, ticks=ticks)
            for index, evaluation in zip(self.sql_indexes, self.measuring.result()):
                self.evaluations[index] = evaluation
        finally:
            self.abandon()

        evaluations = [evaluation for evaluation in self.evaluations if evaluation is not None]
        board.add_results(
            evaluation.to_row(incident_id, self.context.target) for evaluation in evaluations if evaluation.kind != "manual"
        )
        _clear_passed_blockers(incident_id, board)
        return evaluations

    def abandon(self) -> None:
        """Wait for the running queries and close the warehouse; nothing is stored."""
        self.pool.shutdown(wait=True)
        self.context.close()


def evaluate_all(criteria: list[Criterion], context: TargetContext, *, ticks) -> list[Evaluation]:
    """Measure `criteria` and return the evaluations in the same order.

    Commands, drift checks and manual criteria are measured first, one at a time, in checklist order,
    because a command closes the warehouse connection (an embedded file admits one writer), which must not
    happen under a running query. The SQL criteria then run as `measure_sql_criteria` runs them.
    """
    evaluations: list[Evaluation | None] = [None] * len(criteria)
    sql_indexes = []
    for index, criterion in enumerate(criteria):
        if criterion.sql is None:
            evaluations[index] = evaluate(criterion, context, ticks=ticks)
        else:
            sql_indexes.append(index)
    measured = measure_sql_criteria([criteria[index] for index in sql_indexes], context)
    for index, evaluation in zip(sql_indexes, measured):
        evaluations[index] = evaluation
    return [evaluation for evaluation in evaluations if evaluation is not None]


def measure_sql_criteria(criteria: list[Criterion], context: TargetContext) -> list[Evaluation]:
    """Measure SQL criteria concurrently, up to the warehouse's `max_concurrent_queries`, in the same order.

    A query cannot change the repository, so HEAD's commit and the tree's state are read once for all of
    them, while they run, and recorded on each.
    """
    from coordinator.gitops.repository import read_provenance

    if not criteria:
        return []
    try:
        workers = max(1, min(context.warehouse().max_concurrent_queries, len(criteria)))
    except CoordinatorError:
        workers = 1  # each SQL criterion then reports why the warehouse cannot be opened
    try:
        context.params()  # reads the target's clock, if unread, before the threads share the context
    except CoordinatorError:
        pass  # each SQL criterion then reports the problem

    def measure(criterion: Criterion) -> Evaluation:
        return evaluate(criterion, context, record_provenance=False)

    with ThreadPoolExecutor(max_workers=workers + 1, thread_name_prefix="criterion") as pool:
        provenance = pool.submit(read_provenance, context.repo)
        measured = [measure(criterion) for criterion in criteria] if workers == 1 else list(pool.map(measure, criteria))
        for evaluation in measured:
            record_provenance_of(evaluation, provenance.result())
    return measured


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
