"""Resuming at step level: after a failure, and after `coord run` is killed with SIGKILL mid-step."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from coordinator.board.store import Board
from coordinator.runner.run import RoleRunner, _process_alive
from coordinator.spec import load_incident
from coordinator.target import TargetContext
from tests.conftest import make_warehouse, write_incident

INCIDENT = """\
incident:
  id: resume
  title: Resume after a crash
  date: 2026-01-27
  context: A toy pipeline that appends records to a file.
  default_target: local
targets:
  local:
    warehouse: duckdb:///warehouse.duckdb
roles:
  - name: ops
    title: Operations
    mission: Append the records.
    handoff: {path: handoffs/ops.md, sections: [{title: Runs, show: [runs]}]}
tasks:
  - id: load
    role: ops
    title: Append the records
    steps:
      - {id: first, run: python3 append.py first}
      - {id: slow, run: python3 slow.py, timeout: 120}
      - {id: last, run: python3 append.py last}
"""

APPEND = """\
import sys
with open("records.txt", "a") as records:
    records.write(sys.argv[1] + "\\n")
"""

# Waits for the file `release`, so the test decides when the step ends.
SLOW = """\
import os, time
with open("records.txt", "a") as records:
    records.write("slow-started\\n")
print("slow step started", flush=True)
while not os.path.exists("release"):
    time.sleep(0.1)
with open("records.txt", "a") as records:
    records.write("slow-done\\n")
"""


def make_repo(folder: Path, text: str = INCIDENT) -> Path:
    (folder / ".git").mkdir()
    make_warehouse(folder)
    (folder / "append.py").write_text(APPEND)
    (folder / "slow.py").write_text(SLOW)
    return write_incident(folder, text)


def coord_run(folder: Path, incident: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "coordinator", "run", str(incident), "--role", "ops", "--repo", str(folder), *extra],
        cwd=folder, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )


def wait_until(condition, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the condition"
        time.sleep(0.1)


def running_slow_step(board: Board):
    rows = [row for row in board.step_runs("resume") if row.step_key == "slow" and row.status == "running"]
    return rows[0] if rows and rows[0].pid else None


def records(folder: Path) -> list[str]:
    return (folder / "records.txt").read_text().splitlines()


def test_sigkill_mid_step_then_resume(tmp_path):
    incident = make_repo(tmp_path)
    board = Board.for_repo(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "coordinator", "run", str(incident), "--role", "ops", "--repo", str(tmp_path)],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
    )
    wait_until(lambda: running_slow_step(board) is not None)
    step_pid = running_slow_step(board).pid

    os.kill(process.pid, signal.SIGKILL)
    process.wait()

    still_running = coord_run(tmp_path, incident)
    assert still_running.returncode == 1
    assert f"still runs as process group {step_pid}" in still_running.stderr

    os.killpg(step_pid, signal.SIGKILL)
    wait_until(lambda: not _process_alive(step_pid))
    undecided = coord_run(tmp_path, incident)
    assert undecided.returncode == 1
    assert "step slow of task 'load' was interrupted in run 1 and is not idempotent" in undecided.stderr
    assert "--rerun load.slow" in undecided.stderr

    (tmp_path / "release").write_text("")
    resumed = coord_run(tmp_path, incident, "--rerun", "load.slow")
    assert resumed.returncode == 0, resumed.stderr
    assert "first: done in run 1, not repeated" in resumed.stdout

    assert records(tmp_path) == ["first", "slow-started", "slow-started", "slow-done", "last"]
    rows = [(row.run_id, row.step_key, row.status) for row in board.step_runs("resume")]
    assert rows == [(1, "first", "done"), (1, "slow", "interrupted"), (4, "slow", "done"), (4, "last", "done")]
    assert [run.status for run in board.runs("resume")] == ["interrupted", "interrupted", "interrupted", "done"]
    assert board.task_states("resume")["load"].status == "done"


def test_idempotent_interrupted_step_reruns(tmp_path):
    incident = make_repo(tmp_path, INCIDENT.replace("run: python3 slow.py, timeout: 120", "run: python3 slow.py, idempotent: true"))
    board = Board.for_repo(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "coordinator", "run", str(incident), "--role", "ops", "--repo", str(tmp_path)],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
    )
    wait_until(lambda: running_slow_step(board) is not None)
    step_pid = running_slow_step(board).pid
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    os.killpg(step_pid, signal.SIGKILL)
    wait_until(lambda: not _process_alive(step_pid))

    (tmp_path / "release").write_text("")
    resumed = coord_run(tmp_path, incident)

    assert resumed.returncode == 0, resumed.stderr
    assert "slow: interrupted in run 1; idempotent, so it runs again" in resumed.stdout
    assert records(tmp_path) == ["first", "slow-started", "slow-started", "slow-done", "last"]


def runner(folder: Path, incident_file: Path) -> tuple[RoleRunner, Board]:
    incident = load_incident(incident_file)
    board = Board.for_repo(folder)
    return RoleRunner(incident, "ops", TargetContext(incident=incident, target="local", repo=folder), board), board


def test_rerun_continues_after_failed_step(tmp_path):
    text = INCIDENT.replace("python3 slow.py, timeout: 120", "test -f release")
    incident = make_repo(tmp_path, text)
    first, board = runner(tmp_path, incident)
    assert first.run().status == "failed"

    (tmp_path / "release").write_text("")
    again, _ = runner(tmp_path, incident)
    outcome = again.run()

    assert outcome.status == "done"
    assert records(tmp_path) == ["first", "last"]
    rows = [(row.run_id, row.step_key, row.status, row.attempt) for row in board.step_runs("resume")]
    assert rows == [(1, "first", "done", 1), (1, "slow", "failed", 1), (2, "slow", "done", 1), (2, "last", "done", 1)]


def test_failed_verification_starts_new_attempt(tmp_path):
    text = INCIDENT.replace(
        "    steps:\n      - {id: first", "    verified_by: [released]\n    steps:\n      - {id: first"
    ).replace("python3 slow.py, timeout: 120", "echo slow") + textwrap.dedent("""\
        criteria:
          - id: released
            text: The release file exists
            command: test -f release
            expect: {exit_code: 0}
        """)
    incident = make_repo(tmp_path, text)
    first, board = runner(tmp_path, incident)
    assert first.run().status == "failed"

    (tmp_path / "release").write_text("")
    again, _ = runner(tmp_path, incident)
    outcome = again.run()

    assert outcome.status == "done"
    assert records(tmp_path) == ["first", "last", "first", "last"]
    assert [row.attempt for row in board.step_runs("resume")] == [1, 1, 1, 2, 2, 2]
