"""Real processes racing on one board: one lease winner per round, and no write lost or refused.

Each worker is a separate process with its own connection, as separate `coord` commands would be; the
workers call the store directly, because starting 3,200 interpreters would take minutes on a small machine.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from coordinator.board.coordination import Checkin, CoordinationStore, Message
from coordinator.board.store import Board
from coordinator.coordination.resources import parse_resource

RACERS = 16
ROUNDS = 200
WRITERS = 8
WRITES = 300
INCIDENT = "stress"


def race(url: str, racer: int, barrier, results) -> None:
    store = CoordinationStore(Board(url).engine)
    resource = parse_resource("table:raw.events@2026-01-01..2026-01-31")
    won = []
    for round_number in range(ROUNDS):
        barrier.wait()
        outcome = store.claim(INCIDENT, resource, f"role{racer}", ttl_s=600, owner=f"racer {racer}")
        if outcome.won:
            won.append(round_number)
        barrier.wait()
        if outcome.won:
            store.release(INCIDENT, str(resource), f"role{racer}")
        barrier.wait()
    results.put((racer, won))


def write_mixed(url: str, writer: int, barrier, errors) -> None:
    store = CoordinationStore(Board(url).engine)
    role = f"role{writer}"
    barrier.wait()
    try:
        for index in range(WRITES):
            if index % 3 == 0:
                store.add_checkin(Checkin(incident_id=INCIDENT, role=role, note=f"check-in {index}"))
            elif index % 3 == 1:
                store.add_message(Message(incident_id=INCIDENT, sender=role, recipient="lead", text=f"message {index}"))
            else:
                resource = parse_resource(f"job:{role}-{index}")
                if not store.claim(INCIDENT, resource, role, ttl_s=600, owner=role).won:
                    errors.put(f"{role}: claim of a free {resource} lost")
    except Exception as error:  # noqa: BLE001 - any failure of a writer is what this test reports
        errors.put(f"{role}: {error.__class__.__name__}: {error}")
    errors.put(None)


def start(target, url: str, count: int, *extra) -> list:
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=target, args=(url, number, *extra)) for number in range(count)]
    for worker in workers:
        worker.start()
    return workers


def test_lease_race_has_one_winner_per_round(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'board.db'}"
    Board(url).engine.dispose()
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(RACERS), context.Queue()

    workers = start(race, url, RACERS, barrier, results)
    wins = dict(results.get(timeout=300) for _ in workers)
    for worker in workers:
        worker.join(timeout=60)

    winners_per_round = [sum(round_number in won for won in wins.values()) for round_number in range(ROUNDS)]
    assert len(wins) == RACERS
    assert winners_per_round == [1] * ROUNDS
    leases = CoordinationStore(Board(url).engine).leases(INCIDENT, active_only=False)
    assert len(leases) == ROUNDS
    assert all(lease.release_reason == "released" for lease in leases)


def test_concurrent_writes_all_recorded(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'board.db'}"
    Board(url).engine.dispose()
    context = multiprocessing.get_context("fork")
    barrier, errors = context.Barrier(WRITERS), context.Queue()

    workers = start(write_mixed, url, WRITERS, barrier, errors)
    reported, finished = [], 0
    while finished < WRITERS:
        item = errors.get(timeout=300)
        finished += item is None
        reported += [item] if item is not None else []
    for worker in workers:
        worker.join(timeout=60)

    store = CoordinationStore(Board(url).engine)
    assert reported == []
    assert all(worker.exitcode == 0 for worker in workers)
    assert len(store.checkins(INCIDENT)) == WRITERS * (WRITES // 3)
    assert len(store.messages(INCIDENT)) == WRITERS * (WRITES // 3)
    assert len(store.leases(INCIDENT)) == WRITERS * (WRITES // 3)
    assert {lease.holder for lease in store.leases(INCIDENT)} == {f"role{number}" for number in range(WRITERS)}
