"""Size: load, preflight and prompts for an incident of 500 tasks over 10 roles; `coord board` with 10,000 results.

The large incident is made of copies of the shipped NBA incident. Every task, criterion and finding is copied
with a suffix on its id and on every reference to it, and each copy's three roles are dealt round-robin to
ten roles. So the large incident uses every feature of the shipped one: per-target commands, alternatives,
branches, waits, SQL criteria and queries, touches, files to read and modify. The paths it names are those of
the sandbox workspace, which the bench creates with `coord sandbox init`.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from bench.harness import REPOSITORY, BenchContext, BenchError, Comparison, Count, Section, run_command, take_turns, time_command

SHIPPED = REPOSITORY / "playbooks" / "nba" / "2026-01-27-pipeline-recovery.yaml"
TASKS = 500
ROLES = 10
RESULTS = 10_000
SQL_KEYS = {"sql", "query"}
RENDER_GOAL_SECONDS = 2.0

# Keys whose values (a string or a list of strings) name a task, a criterion or a finding.
REFERENCE_KEYS = {
    "id", "depends_on", "verified_by", "preconditions", "after_criteria", "verify", "check", "wait", "criterion",
    "tasks", "criteria", "until",
}


def run(context: BenchContext) -> Section:
    folder = context.scratch / "size"
    workspace = folder / "workspace"
    folder.mkdir(parents=True, exist_ok=True)
    run_command([*context.coord, "sandbox", "init", "--dir", str(workspace)])

    large = folder / "incident-500.yaml"
    document = build_incident(yaml.safe_load(SHIPPED.read_text()), tasks=TASKS, roles=ROLES)
    large.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=120))

    section = Section(title=f"Size: an incident of {TASKS} tasks over {ROLES} roles; the board with {RESULTS:,} results")
    section.counts += _incident_counts(document, large)
    section.comparisons += _load(context, large, workspace)
    section.comparisons += _preflight(context, large, workspace)
    section.comparisons += _prompts(context, large, workspace, folder)
    section.comparisons += _board(context, folder)
    section.notes += _notes()
    return section


# The large incident

def build_incident(shipped: dict[str, Any], *, tasks: int, roles: int) -> dict[str, Any]:
    """Return an incident document of `tasks` tasks over `roles` roles made of suffixed copies of `shipped`."""
    base_roles = [role["name"] for role in shipped["roles"]]
    lanes = [f"chat{number:02d}" for number in range(1, roles + 1)]
    per_copy = len(shipped["tasks"])

    document = {key: copy.deepcopy(value) for key, value in shipped.items() if key not in ("findings", "roles", "tasks", "criteria")}
    document["incident"]["id"] = f"size-{tasks}-tasks"
    document["incident"]["title"] = f"Size bench: {tasks} tasks over {roles} roles"
    document["findings"], document["tasks"], document["criteria"] = [], [], []
    lane_criteria: dict[str, list[str]] = {lane: [] for lane in lanes}
    lane_base: dict[str, tuple[str, str]] = {}  # lane -> (base role, suffix of its first copy)

    copy_number = 0
    while len(document["tasks"]) < tasks:
        room = tasks - len(document["tasks"])
        # A partial last copy keeps only the roles whose tasks fit, in the shipped order. The shipped ops
        # tasks depend on no other role, so a copy cut after ops still resolves every reference.
        chosen = base_roles if room >= per_copy else _roles_that_fit(shipped, base_roles, room)
        suffix = f"_c{copy_number:02d}"
        lane_of = {base: lanes[(len(base_roles) * copy_number + index) % roles] for index, base in enumerate(base_roles)}
        ids = _ids(shipped)
        for base in chosen:
            lane_base.setdefault(lane_of[base], (base, suffix))
            lane_criteria[lane_of[base]] += [criterion + suffix for criterion in _role(shipped, base).get("criteria", [])]
        for kind in ("findings", "tasks", "criteria"):
            for item in shipped[kind]:
                owner = item.get("role")
                # A criterion of the whole incident (the final validation) is copied once.
                if (owner is None and kind == "criteria" and copy_number == 0) or owner in chosen:
                    document[kind].append(_renamed(item, ids, suffix, lane_of))
        copy_number += 1

    document["roles"] = [_lane_role(shipped, lane, number, lane_base, lane_criteria) for number, lane in enumerate(lanes, 1)]
    coordination = document["coordination"]
    coordination["suggested_order"] = [{"role": lane, "note": f"chat {number}"} for number, lane in enumerate(lanes, 1)]
    coordination["checkins"] = [{"after": "2h", "questions": {lane: ["Tasks done?", "Blocked on anything?"] for lane in lanes}}]
    coordination["final_validation"]["criterion"] += "_c00"

    if len(document["tasks"]) != tasks:
        raise BenchError(f"the size incident has {len(document['tasks'])} tasks instead of {tasks}")
    return document


def _roles_that_fit(shipped: dict[str, Any], base_roles: list[str], room: int) -> list[str]:
    chosen: list[str] = []
    for base in base_roles:
        count = sum(1 for task in shipped["tasks"] if task.get("role") == base)
        if count > room:
            break
        chosen.append(base)
        room -= count
    if room:
        raise BenchError(f"cannot fill the last {room} tasks with whole roles of the shipped incident")
    return chosen


def _ids(shipped: dict[str, Any]) -> set[str]:
    return {item["id"] for kind in ("findings", "tasks", "criteria") for item in shipped[kind]}


def _role(shipped: dict[str, Any], name: str) -> dict[str, Any]:
    return next(role for role in shipped["roles"] if role["name"] == name)


def _renamed(node: Any, ids: set[str], suffix: str, lane_of: dict[str, str], key: str | None = None) -> Any:
    """Return a copy of `node` with every id of `ids` suffixed and every base role replaced by its lane."""
    if isinstance(node, dict):
        return {name: _renamed(value, ids, suffix, lane_of, name) for name, value in node.items()}
    if isinstance(node, list):
        return [_renamed(value, ids, suffix, lane_of, key) for value in node]
    if isinstance(node, str) and key in REFERENCE_KEYS and node in ids:
        return node + suffix
    if isinstance(node, str) and key == "role" and node in lane_of:
        return lane_of[node]
    if isinstance(node, str) and key in SQL_KEYS:
        # Each copy's SQL differs from the others' by a comment, so no cache keyed on the text can make
        # the large incident cheaper than an incident of as many different queries.
        return f"-- size bench copy {suffix[1:]}\n{node}"
    return node


def _lane_role(shipped, lane: str, number: int, lane_base, lane_criteria) -> dict[str, Any]:
    """Return the role of one lane: the shipped role its first copy came from, renamed, with every criterion
    its copies bring."""
    base, suffix = lane_base[lane]
    role = _renamed(_role(shipped, base), _ids(shipped), suffix, {})
    role.update(name=lane, title=f"CHAT {number} - {role['title']}", chat=number, criteria=lane_criteria[lane])
    role["policy"] = {"may": ["deploy_config", "trigger_jobs", "write_tables", "change_code", "deploy_code", "change_schema"]}
    if "git_authors" in role:
        role["git_authors"] = [f"{lane}@example.invalid"]
    role["handoff"]["path"] = f"docs/09-handoff/size-bench-{lane}-COMPLETE.md"
    return role


def _incident_counts(document: dict[str, Any], path: Path) -> list[Count]:
    steps = sum(_count_steps(task.get("steps", [])) for task in document["tasks"])
    sql = sum(1 for criterion in document["criteria"] if "sql" in criterion)
    return [
        Count("tasks", len(document["tasks"])),
        Count("roles", len(document["roles"])),
        Count("steps (alternatives and branch arms included)", steps),
        Count("criteria", len(document["criteria"])),
        Count("SQL criteria", sql),
        Count("incident file size", path.stat().st_size, "bytes"),
    ]


def _count_steps(steps: list[dict[str, Any]]) -> int:
    total = 0
    for step in steps:
        total += 1
        total += _count_steps(step.get("alternatives", []))
        branch = step.get("branch") or {}
        total += _count_steps(branch.get("then", [])) + _count_steps(branch.get("else", []))
    return total


# The measurements

def _load(context: BenchContext, large: Path, workspace: Path) -> list[Comparison]:
    """Time the product's loader in a process of its own against libyaml parsing the same file."""
    ours = [context.python, "-c", f"from coordinator.spec import load_incident; load_incident({str(large)!r})"]
    floor = [context.python, "-c", f"import yaml; yaml.load(open({str(large)!r}).read(), Loader=yaml.CSafeLoader)"]
    environment = _sql_cache(context)
    samples = take_turns(context.runs, {
        "load_incident": lambda: time_command(ours, cwd=workspace, env=environment),
        "yaml CSafeLoader": lambda: time_command(floor, cwd=workspace),
    })
    return [Comparison(f"load the {TASKS}-task incident (whole process)", samples["load_incident"], samples["yaml CSafeLoader"],
                       goal_text="no goal: the floor is parsing the YAML with libyaml alone")]


def _sql_cache(context: BenchContext, *, cold: bool = False) -> dict[str, str]:
    """Return the environment giving `coord` a SQL cache of the bench's own (or none, when `cold`)."""
    return {"COORD_SQL_CACHE": "off" if cold else str(context.scratch / "size" / "sql-cache.json")}


def _preflight(context: BenchContext, large: Path, workspace: Path) -> list[Comparison]:
    """Time `coord preflight` on the large incident against the same command on the shipped one."""
    ours = [*context.coord, "preflight", str(large)]
    shipped = [*context.coord, "preflight", str(SHIPPED)]
    environment = _sql_cache(context)
    samples = take_turns(context.runs, {
        f"{TASKS} tasks": lambda: time_command(ours, cwd=workspace, env=environment),
        "15 tasks (shipped)": lambda: time_command(shipped, cwd=workspace, env=environment),
    })
    return [Comparison(f"coord preflight, {TASKS} tasks vs the shipped 15", samples[f"{TASKS} tasks"], samples["15 tasks (shipped)"],
                       goal_text="no goal: the ratio shows how preflight scales (33x the tasks)")]


def _prompts(context: BenchContext, large: Path, workspace: Path, folder: Path) -> list[Comparison]:
    """Time `coord prompts` (load, preflight and rendering in one process), warm and cold, against the shipped incident."""
    ours = [*context.coord, "prompts", str(large), "--out", str(folder / "prompts-500"), "--force"]
    shipped = [*context.coord, "prompts", str(SHIPPED), "--out", str(folder / "prompts-15"), "--force"]
    warm, cold = _sql_cache(context), _sql_cache(context, cold=True)
    samples = take_turns(context.runs, {
        f"{TASKS} tasks": lambda: time_command(ours, cwd=workspace, env=warm),
        f"{TASKS} tasks, no SQL cache": lambda: time_command(ours, cwd=workspace, env=cold),
        "15 tasks (shipped)": lambda: time_command(shipped, cwd=workspace, env=warm),
    })
    rendered = len(list((folder / "prompts-500").glob("*.md")))
    if rendered != ROLES + 1:
        raise BenchError(f"coord prompts wrote {rendered} documents for the {TASKS}-task incident instead of {ROLES + 1}")

    goal = Comparison(
        f"coord prompts, {TASKS} tasks: load + preflight + {ROLES} prompts + coordination notes (whole process)",
        samples[f"{TASKS} tasks"],
        goal_text=f"under {RENDER_GOAL_SECONDS:.0f} s",
        limit=RENDER_GOAL_SECONDS,
    )

    first_time = Comparison(
        f"coord prompts, {TASKS} tasks, first run (no SQL cache: every query parsed by sqlglot)",
        samples[f"{TASKS} tasks, no SQL cache"],
        goal_text=f"under {RENDER_GOAL_SECONDS:.0f} s",
        limit=RENDER_GOAL_SECONDS,
    )
    scale = Comparison(f"coord prompts, {TASKS} tasks vs the shipped 15", samples[f"{TASKS} tasks"], samples["15 tasks (shipped)"],
                       goal_text="no goal: the ratio shows how rendering scales")
    return [goal, first_time, scale]


def _board(context: BenchContext, folder: Path) -> list[Comparison]:
    """Time `coord board` and `coord board --json` on a board of 10,000 results against one of a check round's."""
    full = folder / "board-full"
    few = folder / "board-few"
    for workspace in (full, few):
        run_command([*context.coord, "sandbox", "init", "--dir", str(workspace)])
        # One real check round, so the board contains what a user's board contains after `coord check`.
        run_command([*context.coord, "check", str(SHIPPED)], cwd=workspace, accept=(0, 1, 2))
    run_command([context.python, "-c", FILL_BOARD, str(SHIPPED), str(full), str(RESULTS)])

    comparisons = []
    for label, extra in (("coord board", []), ("coord board --json", ["--json"])):
        command = [*context.coord, "board", str(SHIPPED), *extra]
        samples = take_turns(context.runs, {
            f"{RESULTS:,} results": lambda: time_command(command, cwd=full),
            "one check round": lambda: time_command(command, cwd=few),
        })
        comparisons.append(Comparison(f"{label}, {RESULTS:,} results vs one check round", samples[f"{RESULTS:,} results"],
                                      samples["one check round"], goal=1.2,
                                      goal_text="within 1.2x: the board shows the latest result per criterion"))
    return comparisons


# Inserts results through the board's own store: copies of the results one `coord check` stored, with times
# spread over the past days, until the board contains the requested count.
FILL_BOARD = """
import datetime as dt, sys
from pathlib import Path
from coordinator.board.store import Board
from coordinator.board.tables import CriterionResult
from coordinator.spec import load_incident

incident = load_incident(sys.argv[1], check_sql=False)
board = Board.for_repo(Path(sys.argv[2]))
stored = board.results(incident.incident.id)
missing = int(sys.argv[3]) - len(stored)
if not stored:
    sys.exit("no results on the board to copy")
start = dt.datetime(2026, 1, 20, tzinfo=dt.timezone.utc)
copies = []
for number in range(missing):
    model = stored[number % len(stored)]
    row = CriterionResult(**model.model_dump(exclude={"id"}))
    row.started_at = start + dt.timedelta(seconds=30 * number)
    copies.append(row)
board.add_results(copies)
print(len(board.results(incident.incident.id)))
"""


def _notes() -> list[str]:
    return [
        f"The {TASKS}-task incident is built by the bench from suffixed copies of {SHIPPED.relative_to(REPOSITORY)} "
        f"(its three roles dealt round-robin to {ROLES} roles, the last copy cut after its ops tasks); it names the "
        "same commands, tables and paths, in a sandbox workspace made by `coord sandbox init`.",
        "Load: coord has no load-only command, so the load figure is `python -c 'load_incident(FILE)'`, the loader "
        "every command uses (shapes, references, and the read-only check of every SQL text with sqlglot), in a "
        "process of its own; the floor is parsing the same file with PyYAML's libyaml loader (CSafeLoader) alone.",
        "SQL cache: coord keeps what sqlglot computes from each SQL text in a cache file between processes. The "
        "bench gives it a cache file of its own, filled by the first (unkept) round, so the figures are those of "
        "a user's second and later runs; 'first run' sets COORD_SQL_CACHE=off, so every query is parsed as on "
        "the first run after the incident file changed.",
        "Rendered means one whole `coord prompts --force` process: load, preflight (SQL compiled on the sandbox's "
        "DuckDB, files checked at HEAD, dates, bounds, owners), every role's prompt and the coordination notes "
        "rendered and written. --force only keeps preflight errors from stopping the command; the incident has none.",
        f"Board: {RESULTS:,} results are stored through the board's own store (Board.add_results), as copies of "
        "the results one real `coord check` round stored, in one process before the timing; the baseline is a "
        "board after that one check round.",
    ]
