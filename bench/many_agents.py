"""Many agents: 8 processes writing 500 check-ins each at once on one SQLite board.

Each writer is its own process with its own connection, as each agent's `coord` would be. A writer imports
coordinator, opens the board the way `coord checkin` does (`coordination_store`), and then records its 500
check-ins through `CoordinationStore.add_checkin`, the call `coord checkin` makes, timing each call. Starting
4,000 real `coord` processes would take about 4,000 × 0.45 s of CPU (half an hour of one core), and it would
measure process starts (the board-commands benchmark's subject) more than writes. The floor of this work is the same 8 processes
writing the same rows with the standard library's sqlite3, with the same pragmas and `BEGIN IMMEDIATE`.
Last, 8 loops of real `coord checkin` processes run at once, so the whole command is raced as well.
"""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.harness import BenchContext, BenchError, Comparison, Count, Samples, Section, run_command

WRITERS = 8
WRITES = 500
CLI_WRITES = 3  # real `coord checkin` processes per writer in the whole-command race
INCIDENT = "many-agents"
LOCKED = "database is locked"
FLOOR_PROCESS = "python -c \"import typer, sqlmodel, sqlite3\""
BUSY_TIMEOUT_MS = 30_000  # as coordinator.board.engine sets it


@dataclass
class Race:
    """One race of WRITERS processes: per-write latencies, the span from first start to last finish, errors."""

    latencies: list[float] = field(default_factory=list)
    span: float = 0.0
    locked: int = 0
    other_errors: list[str] = field(default_factory=list)
    rows: int = 0
    expected: int = 0

    @property
    def throughput(self) -> float:
        """Successful writes (or processes) per second."""
        return len(self.latencies) / self.span if self.span else 0.0

    @property
    def lost(self) -> int:
        return self.expected - self.rows


def run(context: BenchContext) -> Section:
    folder = context.scratch / "many-agents"
    ours: list[Race] = []
    floor: list[Race] = []
    whole: list[Race] = []
    whole_floor: list[Race] = []
    for number in range(context.runs):
        ours.append(_race(_repository(folder / f"coord-{number}"), "coord"))
        floor.append(_race(_repository(folder / f"sqlite3-{number}"), "sqlite3"))
        whole.append(_cli_race(context, _repository(folder / f"cli-{number}")))
        whole_floor.append(_cli_race(context, _repository(folder / f"floor-{number}"), floor=True))

    section = Section(title=f"Many agents: {WRITERS} processes writing {WRITES} check-ins each at once on one board")
    section.comparisons += [
        Comparison("throughput (check-ins/s)", _samples("coord", ours, "throughput"),
                   _samples("sqlite3", floor, "throughput")),
        Comparison("p50 latency per write", _samples("coord", ours, "p50"), _samples("sqlite3", floor, "p50")),
        Comparison("p99 latency per write", _samples("coord", ours, "p99"), _samples("sqlite3", floor, "p99")),
        Comparison(f"whole `coord checkin` processes, {WRITERS} × {CLI_WRITES} at once: processes/s",
                   _samples("coord checkin", whole, "throughput", unit="processes/s"),
                   _samples(FLOOR_PROCESS, whole_floor, "throughput", unit="processes/s")),
        Comparison(f"whole `coord checkin` processes, {WRITERS} × {CLI_WRITES} at once: p50 process time",
                   _samples("coord checkin", whole, "p50"), _samples(FLOOR_PROCESS, whole_floor, "p50")),
    ]
    section.counts += [
        _count("lost writes (rows missing after the race)", sum(race.lost for race in ours), ours),
        _count(f'"{LOCKED}" errors', sum(race.locked for race in ours), ours),
        _count("other write errors", sum(len(race.other_errors) for race in ours), ours),
        _count("lost writes, whole `coord checkin` processes", sum(race.lost for race in whole), whole),
        _count(f'"{LOCKED}" errors, whole `coord checkin` processes', sum(race.locked for race in whole), whole),
        _count("other failures, whole `coord checkin` processes", sum(len(race.other_errors) for race in whole), whole),
    ]
    errors = [error for race in ours + whole for error in race.other_errors]
    section.notes += _notes(context.runs) + [f"first error: {errors[0]}" for _ in errors[:1]]
    return section


def _repository(folder: Path) -> Path:
    """Make `folder` a repository (a `.git` folder is what coord looks for) with no board yet."""
    (folder / ".git").mkdir(parents=True, exist_ok=True)
    return folder


def _board_path(repo: Path) -> Path:
    return repo / ".coordinator" / "board.db"


# The race of writer processes

def _race(repo: Path, kind: str) -> Race:
    """Run WRITERS processes that each record WRITES check-ins; return their figures and the rows counted."""
    _create_board(repo)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WRITERS)
    results = context.Queue()
    workers = [
        context.Process(target=_write_checkins, args=(str(repo), kind, writer, barrier, results))
        for writer in range(WRITERS)
    ]
    for worker in workers:
        worker.start()
    reports = [results.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    if any(worker.exitcode != 0 for worker in workers):
        raise BenchError(f"a {kind} writer exited with {[worker.exitcode for worker in workers]}")

    race = Race(expected=WRITERS * WRITES)
    for report in reports:
        race.latencies += report["latencies"]
        race.locked += report["locked"]
        race.other_errors += report["errors"]
    race.span = max(report["finished"] for report in reports) - min(report["started"] for report in reports)
    race.rows = _distinct_checkins(repo, INCIDENT)
    return race


def _create_board(repo: Path) -> None:
    """Create the board and its tables before the race, so the writers race on writes and not on creating it."""
    from coordinator.board.engine import board_url, open_engine

    open_engine(board_url(repo, str(_board_path(repo)))).dispose()


def _write_checkins(repo: str, kind: str, writer: int, barrier, results) -> None:
    """Record WRITES check-ins of role `agent<writer>`, timing each; put the latencies and errors on `results`."""
    record = _coord_writer(Path(repo)) if kind == "coord" else _sqlite3_writer(Path(repo))
    role = f"agent{writer}"
    latencies: list[float] = []
    locked = 0
    errors: list[str] = []
    barrier.wait()
    started = time.perf_counter()
    for index in range(WRITES):
        began = time.perf_counter()
        try:
            record(role, f"{role} write {index}")
        except Exception as error:  # noqa: BLE001 - every failed write is a figure of this benchmark
            if LOCKED in str(error):
                locked += 1
            else:
                errors.append(f"{role}: {error.__class__.__name__}: {error}")
            continue
        latencies.append(time.perf_counter() - began)
    finished = time.perf_counter()
    results.put({"latencies": latencies, "locked": locked, "errors": errors, "started": started, "finished": finished})


def _coord_writer(repo: Path):
    from coordinator.board.coordination import Checkin
    from coordinator.cli.coordination import coordination_store

    store = coordination_store(repo, str(_board_path(repo)))

    def record(role: str, note: str) -> None:
        store.add_checkin(Checkin(incident_id=INCIDENT, role=role, conditions="all green", note=note))

    return record


def _sqlite3_writer(repo: Path):
    connection = sqlite3.connect(_board_path(repo), timeout=BUSY_TIMEOUT_MS / 1000,
                                 isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    connection.execute("PRAGMA synchronous=NORMAL")

    def record(role: str, note: str) -> None:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute(
            "INSERT INTO checkin (incident_id, role, conditions, note, recorded_at) VALUES (?, ?, ?, ?, ?)",
            (INCIDENT, role, "all green", note, time.strftime("%Y-%m-%d %H:%M:%S.000000")),
        )
        connection.execute("COMMIT")

    return record


def _distinct_checkins(repo: Path, incident: str) -> int:
    """Count the distinct check-ins of `incident` on the board, read with sqlite3 and not through coordinator."""
    connection = sqlite3.connect(_board_path(repo))
    try:
        return connection.execute(
            "SELECT COUNT(DISTINCT role || '|' || COALESCE(note, '')) FROM checkin WHERE incident_id = ?", (incident,)
        ).fetchone()[0]
    finally:
        connection.close()


# The race of whole `coord checkin` processes

def _cli_race(context: BenchContext, repo: Path, *, floor: bool = False) -> Race:
    """Run WRITERS loops at once, each starting CLI_WRITES `coord checkin` processes one after another.

    With `floor`, the loops start the import floor of the board commands instead, which writes nothing.
    """
    incident = f"{INCIDENT}-cli"
    board = {"COORD_BOARD": str(_board_path(repo)), "COORD_REPO": str(repo)}  # not the caller's board
    run_command([*context.coord, "checkin", "--role", "lead", "--note", "board created", "--incident", incident],
                cwd=repo, env=board)
    race = Race(expected=1 if floor else WRITERS * CLI_WRITES + 1)
    lock = threading.Lock()
    environment = {**os.environ, **board, "COORD_INCIDENT": incident}

    def loop(writer: int) -> None:
        role = f"agent{writer}"
        for index in range(CLI_WRITES):
            began = time.perf_counter()
            argv = [*context.coord, "checkin", "--role", role, "--note", f"{role} write {index}"]
            if floor:
                argv = [context.python, "-c", "import typer, sqlmodel, sqlite3"]
            completed = subprocess.run(
                argv,
                cwd=repo, env=environment, capture_output=True, text=True, check=False,
            )
            elapsed = time.perf_counter() - began
            with lock:
                if completed.returncode == 0:
                    race.latencies.append(elapsed)
                elif LOCKED in completed.stderr:
                    race.locked += 1
                else:
                    race.other_errors.append(f"{role}: exit {completed.returncode}: {completed.stderr.strip()[-300:]}")

    threads = [threading.Thread(target=loop, args=(writer,)) for writer in range(WRITERS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    race.span = time.perf_counter() - started
    race.rows = _distinct_checkins(repo, incident)
    return race


# Figures

def _samples(label: str, races: list[Race], figure: str, *, unit: str = "check-ins/s") -> Samples:
    if figure == "throughput":
        return Samples(label, [race.throughput for race in races], unit)
    quantile = 50 if figure == "p50" else 99
    return Samples(label, [_percentile(race.latencies, quantile) * 1000 for race in races], "ms")


def _percentile(values: list[float], percent: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def _count(name: str, value: int, races: list[Race]) -> Count:
    return Count(name, value, f"over {len(races)} runs", goal_text="0", meets_goal=value == 0)


def _notes(runs: int) -> list[str]:
    return [
        f"Each of {runs} runs starts on a new board (created before the race, so the writers race on writes). "
        f"The {WRITERS} writer processes start with Python's `spawn`, import what they use, open the board, "
        "wait at a barrier and then write as fast as they can.",
        "coord: each writer opens the board with `coordinator.cli.coordination.coordination_store` and records "
        "each check-in with `CoordinationStore.add_checkin` (a `BEGIN IMMEDIATE` transaction), the calls "
        "`coord checkin` makes after parsing its options. Latency is the time of one such call.",
        "sqlite3 (the floor): the same writers insert the same rows with the standard library's sqlite3, "
        "with the board's pragmas (WAL, busy timeout 30 s, synchronous NORMAL) and `BEGIN IMMEDIATE`.",
        "Throughput is the successful writes divided by the time from the first writer's first write to the "
        "last writer's last. Lost writes are the check-ins missing when the board is read back with sqlite3 "
        "(distinct role and note), compared with the number written.",
        f"Whole processes: {WRITERS} loops at once, each running {CLI_WRITES} `coord checkin` processes one "
        "after another (the incident named by COORD_INCIDENT), on a board the first check-in created; the "
        "latency shown is one whole process's wall time, which includes the other loops' load on the cores. "
        f"Their baseline is the same {WRITERS} loops starting the board commands' import floor "
        f"(`{FLOOR_PROCESS}`), which shows how much of that time is {WRITERS} processes sharing the cores.",
    ]
