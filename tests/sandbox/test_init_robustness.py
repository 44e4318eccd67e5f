"""`coord sandbox init` stopped part way: by Ctrl-C, by kill -9, by a full disk. No half workspace passes for a whole one."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
from typer.testing import CliRunner

from coordinator.cli.sandbox import sandbox_app
from coordinator.sandbox import history
from coordinator.sandbox.workspace import PARTIAL_WAREHOUSE_PATH, WAREHOUSE_PATH

WITHIN = 120


def coord(*arguments: str, **options) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "coordinator", *arguments],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=WITHIN, **options,
    )


def start_init(workspace: Path, scale: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "coordinator", "sandbox", "init", "--dir", str(workspace), "--scale", str(scale)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
    )


def wait_for(path: Path, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + WITHIN
    while not path.exists():
        assert process.poll() is None, "init ended before writing the warehouse"
        assert time.monotonic() < deadline, f"timed out waiting for {path}"
        time.sleep(0.05)


def finish(process: subprocess.Popen) -> tuple[str, str]:
    try:
        return process.communicate(timeout=WITHIN)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise


def test_killed_init_is_rejected(tmp_path):
    workspace = tmp_path / "workspace"
    process = start_init(workspace, 3)
    wait_for(workspace / PARTIAL_WAREHOUSE_PATH, process)
    process.send_signal(signal.SIGKILL)
    finish(process)

    assert not (workspace / WAREHOUSE_PATH).exists()
    refused = coord("sandbox", "now", "--dir", str(workspace))
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1, refused.stderr
    assert "was not completed" in refused.stderr
    assert "--force" in refused.stderr

    rebuilt = coord("sandbox", "init", "--dir", str(workspace), "--force")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert not (workspace / PARTIAL_WAREHOUSE_PATH).exists()
    assert coord("sandbox", "now", "--dir", str(workspace)).returncode == 0


def test_ctrl_c_removes_new_workspace(tmp_path):
    workspace = tmp_path / "workspace"
    process = start_init(workspace, 3)
    wait_for(workspace / PARTIAL_WAREHOUSE_PATH, process)
    process.send_signal(signal.SIGINT)
    stdout, stderr = finish(process)

    assert process.returncode == 130
    assert stderr.strip() == "interrupted"
    assert not workspace.exists()


def test_ctrl_c_keeps_other_files(tmp_path):
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "notes.txt").write_text("mine\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "coordinator", "sandbox", "init", "--dir", str(workspace), "--scale", "3", "--force"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
    )
    wait_for(workspace / PARTIAL_WAREHOUSE_PATH, process)
    process.send_signal(signal.SIGINT)
    finish(process)

    assert process.returncode == 130
    assert sorted(path.name for path in workspace.iterdir()) == ["notes.txt"]


def test_full_disk_removes_workspace(tmp_path, monkeypatch):
    def full_disk(con, scale):
        raise duckdb.TransactionException("TransactionContext Error: Failed to commit: No space left on device")

    monkeypatch.setattr(history, "add_history", full_disk)
    workspace = tmp_path / "workspace"

    result = CliRunner().invoke(sandbox_app, ["init", "--dir", str(workspace), "--scale", "2"])

    assert result.exit_code == 1
    assert result.output.count("\n") == 1, result.output
    assert f"{workspace}: disk full while seeding" in result.output
    assert "free some space" in result.output
    assert not workspace.exists()


def test_disk_estimate_counts_base_seed(tmp_path, monkeypatch):
    free = history.ESTIMATED_BASE_BYTES - 1
    monkeypatch.setattr(history.shutil, "disk_usage", lambda path: type("Usage", (), {"free": free})())
    workspace = tmp_path / "workspace"

    result = CliRunner().invoke(sandbox_app, ["init", "--dir", str(workspace), "--scale", "1"])

    assert result.exit_code == 2
    assert f"needs about {history.ESTIMATED_BASE_BYTES / 1e6:.1f} MB" in result.output
    assert f"has {free / 1e6:.1f} MB free" in result.output
    assert not workspace.exists()
