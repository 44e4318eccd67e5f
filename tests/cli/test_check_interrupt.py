"""Ctrl-C and an unusable board stop `coord check` without waiting for its running queries."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from coordinator.board.store import Board
from tests.conftest import SMALL_INCIDENT, make_warehouse, write_incident

# A cross join of 2e11 rows: DuckDB needs minutes for it, so the command can only end early by interrupting it.
SLOW_SQL = (
    "SELECT SUM(a * b) AS n FROM UNNEST(GENERATE_ARRAY(1, 200000)) AS a "
    "CROSS JOIN UNNEST(GENERATE_ARRAY(1, 1000000)) AS b"
)
# Bound on the whole command, far below the query's own time: an interrupted query ends within a second.
WITHIN = 60


def slow_incident(folder: Path, *, command: str | None = None) -> Path:
    (folder / ".git").mkdir()
    make_warehouse(folder)
    extra = f"  - id: cmd\n    role: ops\n    text: A command\n    command: {command!r}\n    expect: {{exit_code: 0}}\n"
    text = SMALL_INCIDENT.replace(
        "  - id: reviewed\n",
        f"  - id: slow\n    role: ops\n    text: A slow query\n    sql: {SLOW_SQL}\n    expect: {{column: n, op: '>', value: 0}}\n"
        + (extra if command else "")
        + "  - id: reviewed\n",
    )
    return write_incident(folder, text)


def start_check(folder: Path, incident: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "coordinator", "check", str(incident), "--repo", str(folder), *extra],
        cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
    )


def communicate(process: subprocess.Popen) -> tuple[str, str]:
    """Wait for the command, within WITHIN seconds; a command still running then is killed and fails the test."""
    try:
        return process.communicate(timeout=WITHIN)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise


def board_knows_incident(folder: Path) -> bool:
    path = folder / ".coordinator" / "board.db"
    if not path.exists():
        return False
    try:
        with sqlite3.connect(path) as connection:
            return bool(connection.execute("SELECT id FROM incident").fetchall())
    except sqlite3.Error:
        return False


def wait_until(condition, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the condition"
        time.sleep(0.1)


def test_ctrl_c_interrupts_the_running_query(tmp_path):
    incident = slow_incident(tmp_path)
    process = start_check(tmp_path, incident)
    # The board is opened while the queries run, so once it names the incident the query has started.
    wait_until(lambda: board_knows_incident(tmp_path))
    time.sleep(0.5)

    process.send_signal(signal.SIGINT)
    stdout, stderr = communicate(process)

    assert process.returncode == 130
    assert stderr.strip() == "interrupted"
    assert stdout == ""
    assert Board.for_repo(tmp_path).results("small") == []


def test_ctrl_c_during_the_queries_runs_no_command(tmp_path):
    incident = slow_incident(tmp_path, command="touch command-ran")
    process = start_check(tmp_path, incident)
    wait_until(lambda: board_knows_incident(tmp_path))
    time.sleep(0.5)

    process.send_signal(signal.SIGINT)
    communicate(process)

    assert process.returncode == 130
    assert not (tmp_path / "command-ran").exists()
    assert Board.for_repo(tmp_path).results("small") == []


def test_bad_board_is_reported_before_any_command_runs(tmp_path):
    incident = slow_incident(tmp_path, command="touch command-ran")
    junk = tmp_path / "junk.db"
    junk.write_text("not a database\n" * 100)
    read_only = tmp_path / "read-only.db"
    Board(f"sqlite:///{read_only}").record_incident("other", "Other", "other.yaml")
    read_only.chmod(0o444)

    boards = ["nonsense://x", str(junk)]
    if os.geteuid() != 0:  # root writes to a read-only file
        boards.append(str(read_only))
    for board in boards:
        process = start_check(tmp_path, incident, "--board", board)
        stdout, stderr = communicate(process)

        assert process.returncode != 0, board
        assert "Traceback" not in stderr
        assert len(stderr.strip().splitlines()) == 1, stderr
        assert stdout == ""
        assert not (tmp_path / "command-ran").exists(), f"a criterion command ran with --board {board}"


def test_results_keep_checklist_order_with_a_command(tmp_path):
    (tmp_path / ".git").mkdir()
    make_warehouse(tmp_path)
    text = SMALL_INCIDENT.replace(
        "  - id: rows-loaded\n",
        "  - id: first-cmd\n    role: ops\n    text: A command\n    command: 'true'\n    expect: {exit_code: 0}\n"
        "  - id: rows-loaded\n",
    ).replace("criteria: [rows-loaded, reviewed]", "criteria: [first-cmd, rows-loaded, reviewed]")
    incident = write_incident(tmp_path, text)

    result = subprocess.run(
        [sys.executable, "-m", "coordinator", "check", str(incident), "--repo", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120,
    )

    assert result.returncode == 1, result.stderr
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert lines.index("[x] A command") < lines.index("[ ] Rows loaded for today (>2)") < lines.index("[?] Changes reviewed")
    stored = [row.criterion_id for row in Board.for_repo(tmp_path).results("small")]
    assert stored == ["first-cmd", "rows-loaded"]


def test_sigint_while_waiting_twice_still_exits_at_once(tmp_path):
    incident = slow_incident(tmp_path)
    process = start_check(tmp_path, incident)
    wait_until(lambda: board_knows_incident(tmp_path))
    time.sleep(0.5)

    process.send_signal(signal.SIGINT)
    try:
        process.send_signal(signal.SIGINT)
    except ProcessLookupError:
        pass
    communicate(process)

    assert process.returncode == 130
    assert Board.for_repo(tmp_path).results("small") == []
    assert os.path.exists(tmp_path / "warehouse.duckdb")
