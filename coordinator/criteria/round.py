"""A check round: measure a set of criteria once, store every result on the board."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
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
    """Read the clock now and start the SQL criteria in the background; `finish` measures the rest.

    `coord check` opens the board while the queries run: the queries spend their time in the warehouse,
    outside Python, and opening the board is mostly importing SQLAlchemy. The commands and drift checks
    run in `finish`, once the board is open and the queries are done. A command closes the warehouse
    connection (an embedded file admits one writer), which must not happen under a running query. And no
    command runs for a round whose results cannot be stored.
    """
    criteria = select_criteria(incident, role=role)
    context.refresh_clock()
    pending = PendingRound(incident, context, criteria)
    pending.start()
    return pending


class RoundStopped(Exception):
    """The round was abandoned while its SQL criteria were measured."""


@dataclass
class PendingRound:
    """A check round whose SQL criteria are being measured; `finish` completes it, `abandon` drops it."""

    incident: Incident
    context: TargetContext
    criteria: list[Criterion]
    stop: threading.Event = field(default_factory=threading.Event)
    # Set by the round's thread when it ends. Thread.is_alive() is not used: a join that Ctrl-C interrupts
    # can leave it reporting False while the thread still runs (Python 3.11).
    done: threading.Event = field(default_factory=threading.Event)
    _outcome: list = field(default_factory=list)

    @property
    def sql_indexes(self) -> list[int]:
        return [index for index, criterion in enumerate(self.criteria) if criterion.sql is not None]

    def start(self) -> None:
        sql_criteria = [self.criteria[index] for index in self.sql_indexes]

        def measure() -> None:
            try:
                self._outcome.append(measure_sql_criteria(sql_criteria, self.context, stop=self.stop))
            except BaseException as error:  # handed to the main thread by `finish`
                self._outcome.append(error)
            finally:
                self.done.set()

        # A daemon thread: when a warehouse cannot interrupt its queries, an interrupted process still exits.
        threading.Thread(target=measure, name="round", daemon=True).start()

    def finish(self, board: Board) -> list[Evaluation]:
        """Wait for the SQL criteria, measure the others in checklist order, store every result, return all.

        On any exception, Ctrl-C included, the running queries are interrupted and nothing is stored.
        """
        incident_id = self.incident.incident.id
        evaluations: list[Evaluation | None] = [None] * len(self.criteria)
        try:
            ticks = board.latest_ticks(incident_id)
            self.done.wait()
            measured = self._outcome[0]
            if isinstance(measured, BaseException):
                raise measured
            for index, evaluation in zip(self.sql_indexes, measured):
                evaluations[index] = evaluation
            for index, criterion in enumerate(self.criteria):
                if criterion.sql is None:
                    evaluations[index] = evaluate(criterion, self.context, ticks=ticks)
        except BaseException:
            self.abandon()
            raise
        self.context.close()

        results = [evaluation for evaluation in evaluations if evaluation is not None]
        board.add_results(
            evaluation.to_row(incident_id, self.context.target) for evaluation in results if evaluation.kind != "manual"
        )
        _clear_passed_blockers(incident_id, board)
        return results

    def abandon(self) -> None:
        """Interrupt the running queries and close the warehouse; nothing is stored.

        A warehouse that cannot interrupt its queries is left to them: the round's threads are daemons, so
        the process does not wait for them when it ends.
        """
        self.stop.set()
        if not self.done.is_set():
            if not self.context.interrupt_queries():
                return
            # A query may start between two interrupts; `stop` keeps further ones from starting.
            while not self.done.wait(0.05):
                if not self.context.interrupt_queries():
                    return
        self.context.close()


def measure_sql_criteria(
    criteria: list[Criterion], context: TargetContext, *, stop: threading.Event | None = None
) -> list[Evaluation]:
    """Measure SQL criteria concurrently, up to the warehouse's `max_concurrent_queries`, in the same order.

    A query cannot change the repository, so HEAD's commit and the tree's state are read once for all of
    them, while they run, and recorded on each. Once `stop` is set no further criterion starts, and
    RoundStopped is raised.
    """
    from coordinator.gitops.repository import read_provenance

    if not criteria:
        return []
    stop = stop or threading.Event()
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

    provenance = _in_threads(read_provenance, [context.repo], workers=1, stop=threading.Event(), background=True)
    measured = _in_threads(measure, criteria, workers=workers, stop=stop)
    provenance_result = provenance()
    if stop.is_set():
        raise RoundStopped()
    for evaluation in measured:
        record_provenance_of(evaluation, provenance_result[0])
    return measured


def _in_threads(function, items: list, *, workers: int, stop: threading.Event, background: bool = False):
    """Apply `function` to `items` on `workers` daemon threads; return the results in order.

    Daemon threads, unlike ThreadPoolExecutor's, do not keep an interrupted process waiting for a query
    that cannot be interrupted. With `background`, return at once a function that waits for the results.
    """
    results: list = [None] * len(items)
    errors: list[BaseException] = []
    remaining = iter(range(len(items)))
    lock = threading.Lock()

    def work() -> None:
        while not stop.is_set():
            with lock:
                index = next(remaining, None)
            if index is None:
                return
            try:
                results[index] = function(items[index])
            except BaseException as error:
                errors.append(error)
                stop.set()
                return

    if workers == 1 and not background:
        work()
        threads = []
    else:
        threads = [threading.Thread(target=work, name="criterion", daemon=True) for _ in range(workers)]
        for thread in threads:
            thread.start()

    def wait() -> list:
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        return results

    return wait if background else wait()


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
