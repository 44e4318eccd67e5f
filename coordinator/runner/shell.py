"""Running a shell command with a timeout, streaming its output lines."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

TAIL_LINES = 60


@dataclass(frozen=True)
class CommandOutcome:
    exit_code: int
    output: str
    duration_s: float
    timed_out: bool = False


def command_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Return the environment for a step: ours, the interpreter's folder first on PATH, then `extra`.

    Putting the interpreter's folder first makes `coord` and `python` in a step mean this installation.
    """
    environment = dict(os.environ)
    interpreter_folder = str(Path(sys.executable).parent)
    environment["PATH"] = interpreter_folder + os.pathsep + environment.get("PATH", "")
    environment.update(extra or {})
    return environment


def run_command(
    command: str,
    *,
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float,
    on_line: Callable[[str], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> CommandOutcome:
    """Run `command` in a shell in its own process group; on timeout or Ctrl-C the whole group is killed.

    `on_start` receives the process group id as soon as the command starts.
    """
    started = time.monotonic()
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    process = subprocess.Popen(
        command,
        shell=True,
        cwd=cwd,
        env=command_environment(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    assert process.stdout is not None
    stream = process.stdout

    def pump() -> None:
        for line in stream:
            tail.append(line.rstrip("\n"))
            if on_line is not None:
                on_line(line.rstrip("\n"))

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    timed_out = False
    try:
        if on_start is not None:
            on_start(process.pid)
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(process)
    except BaseException:
        # Ctrl-C or an error in `on_start`: the command must not outlive the step that started it.
        _kill_group(process)
        raise
    reader.join(timeout=5)
    stream.close()

    exit_code = process.returncode if process.returncode is not None else -signal.SIGKILL
    return CommandOutcome(exit_code=exit_code, output="\n".join(tail), duration_s=time.monotonic() - started, timed_out=timed_out)


def _kill_group(process: subprocess.Popen[str]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()
