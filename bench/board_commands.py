"""Board commands: cold whole-process wall time of `coord checkin`, `coord claim` and `coord board --json`.

Each command runs as a new process, as an agent's shell would start it, beside its import floor: a new
Python process importing only what these commands cannot avoid. The architecture fixes the command line
as typer and the board as sqlmodel over SQLAlchemy (so that any SQLAlchemy URL keeps working), and the
default board is a SQLite file, so the floor is `python -c "import typer, sqlmodel, sqlite3"`. A bare
`python -c pass` is measured too, so a reader sees how much of the floor is the interpreter itself.
"""

from __future__ import annotations

import json
import resource
import shutil
import statistics
import time
from pathlib import Path
from typing import Callable

from bench.harness import REPOSITORY, BenchContext, BenchError, Comparison, Section, Samples, run_command, take_turns

SHIPPED = REPOSITORY / "playbooks" / "nba" / "2026-01-27-pipeline-recovery.yaml"
INCIDENT_FILE = Path("playbooks/nba/2026-01-27-pipeline-recovery.yaml")
GOAL = 1.2
FLOOR_IMPORTS = "import typer, sqlmodel, sqlite3"
CLAIMED = "service:nba-scrapers"


def run(context: BenchContext) -> Section:
    workspace = _workspace(context)
    environment = _environment(workspace)
    incident_id = _incident_id(context, workspace)
    cpu: dict[str, list[float]] = {}

    def timed(label: str, argv: list[str], after: Callable[[], None] | None = None) -> Callable[[], float]:
        def case() -> float:
            wall, used = _time_process(argv, workspace, environment)
            cpu.setdefault(label, []).append(used)
            if after is not None:
                after()
            return wall
        return case

    release = [*context.coord, "release", CLAIMED, "--role", "ops", "--incident", incident_id]
    cases = {
        "python -c pass": timed("python -c pass", [context.python, "-c", "pass"]),
        "floor": timed("floor", [context.python, "-c", FLOOR_IMPORTS]),
        "coord checkin": timed("coord checkin", [
            *context.coord, "checkin", "--role", "ops", "--incident", incident_id,
            "--conditions", "scraper revision 00042 serving", "--actions", "redeployed", "--needs", "nothing",
        ]),
        "coord claim": timed(
            "coord claim",
            [*context.coord, "claim", CLAIMED, "--role", "ops", "--incident", incident_id, "--ttl", "10m"],
            after=lambda: run_command(release, cwd=workspace, env=environment),
        ),
        "coord board --json": timed("coord board --json", [*context.coord, "board", str(INCIDENT_FILE), "--json"]),
    }
    samples = take_turns(context.runs, cases)
    floor = samples["floor"]
    floor.label = f'python -c "{FLOOR_IMPORTS}"'

    section = Section(title="Board commands: cold start of the verbs agents call often, beside their import floor")
    for label in ("coord checkin", "coord claim", "coord board --json"):
        section.comparisons.append(
            Comparison(label, samples[label], floor, goal=GOAL, goal_text=f"≤ {GOAL}× the import floor")
        )
    reference = samples["python -c pass"]
    section.comparisons.append(Comparison("python -c pass (reference)", reference, floor))
    section.table = _cpu_table(samples, cpu, runs=context.runs)
    section.notes += _notes(incident_id)
    return section


def _workspace(context: BenchContext) -> Path:
    """Create a sandbox workspace whose board has the shipped incident recorded and one open message to ops."""
    workspace = context.scratch / "board-commands"
    run_command([*context.coord, "sandbox", "init", "--dir", str(workspace)])
    (workspace / INCIDENT_FILE).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SHIPPED, workspace / INCIDENT_FILE)

    run_command([*context.coord, "board", str(INCIDENT_FILE), "--json"], cwd=workspace, env=_environment(workspace))
    run_command([*context.coord, "message", "--from", "dev", "--to", "ops", "scraper fix merged, please redeploy"],
                cwd=workspace, env=_environment(workspace))
    return workspace


def _environment(workspace: Path) -> dict[str, str]:
    """Name the workspace's board and repository, so a COORD_BOARD or COORD_REPO of the caller is not used."""
    return {"COORD_BOARD": str(workspace / ".coordinator" / "board.db"), "COORD_REPO": str(workspace)}


def _incident_id(context: BenchContext, workspace: Path) -> str:
    board_output = run_command([*context.coord, "board", str(INCIDENT_FILE), "--json"], cwd=workspace,
                        env=_environment(workspace))
    try:
        return json.loads(board_output.stdout)["incident"]
    except (ValueError, KeyError, TypeError) as error:
        raise BenchError(f"coord board --json printed no incident id ({error!r}): {board_output.stdout[:200]}") from None


def _time_process(argv: list[str], cwd: Path, environment: dict[str, str]) -> tuple[float, float]:
    """Run `argv` to completion; return its wall time and the CPU time (user and system) it used, in seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    run_command(argv, cwd=cwd, env=environment)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _cpu_table(samples: dict[str, Samples], cpu: dict[str, list[float]], *, runs: int) -> list[dict]:
    """Rows of wall and CPU medians per case; CPU time is less disturbed by other load on a shared machine."""
    measured_cpu = {label: values[-runs:] for label, values in cpu.items()}  # the warm-up rounds come first
    floor_wall = samples["floor"].median
    floor_cpu = statistics.median(measured_cpu["floor"])
    rows = []
    for label, measured in samples.items():
        cpu_median = statistics.median(measured_cpu[label])
        rows.append({
            "case": label,
            "wall median": f"{measured.median * 1000:.0f} ms",
            "wall / floor": f"{measured.median / floor_wall:.2f}×",
            "CPU median": f"{cpu_median * 1000:.0f} ms",
            "CPU / floor": f"{cpu_median / floor_cpu:.2f}×",
        })
    return rows


def _notes(incident_id: str) -> list[str]:
    return [
        f'Floor: a new process running `python -c "{FLOOR_IMPORTS}"`. The command line is typer and the board '
        "is sqlmodel over SQLAlchemy, which must keep accepting any SQLAlchemy URL, so no board verb can start "
        "without these; `python -c pass` shows the interpreter's own start.",
        "Every case is a whole new process (wall time from start to exit), the cases taking turns; one warm-up "
        "round is not kept. The table shows the same runs' CPU time (user and system) as well.",
        f"`coord checkin` and `coord claim` name the incident by id (`--incident {incident_id}`), the way agents "
        "call them, so they read no incident file; given the file's path they would also load and validate it.",
        f"`coord claim {CLAIMED}` is followed, untimed, by `coord release`, so every timed claim takes a free "
        "resource and does the same work.",
        "The board holds the shipped incident, one open message to ops (which `--role ops` shows on standard "
        "error before each command) and the check-ins the runs add.",
        f"`coord board --json` reads and validates the incident file it is given "
        f"({len(SHIPPED.read_text().splitlines()):,} lines of YAML) and "
        "records it on the board; its floor does not include that work.",
    ]
