"""Check round: whole-process `coord check` against the floor and against Soda Core, on a scaled sandbox.

The sandbox is seeded once with `coord sandbox init --scale N`. The bench incident (bench/incident.py) holds
the shipped incident's SQL criteria and their per-date variants. Each side's answers are compared with
coord's before any time is taken, and again after the last timed run: a side that disagrees on a
criterion's pass or fail stops the benchmark instead of reporting a figure.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench import floor_check, incident as bench_incident
from bench.harness import BenchContext, BenchError, Comparison, Count, Section, run_command, take_turns, time_command

PROPS_TABLE = "nba_raw.bettingpros_player_points_props"
ANALYTICS_TABLE = "nba_analytics.player_game_summary"
PROPS_GOAL = 1_000_000
ANALYTICS_GOAL = 100_000
FLOOR_GOAL = 1.3
SODA_GOAL = 0.5
ROUND_EXIT_CODES = (0, 1)  # 2 would mean a criterion could not be measured, which no side may time


def run(context: BenchContext) -> Section:
    section = Section("Check round")
    folder = context.scratch / "check-round"
    workspace = folder / "workspace"
    folder.mkdir(parents=True, exist_ok=True)

    run_command([*context.coord, "sandbox", "init", "--dir", str(workspace), "--scale", str(context.scale)])
    section.counts.extend(_table_counts(workspace))

    document = bench_incident.bench_document()
    incident_path = bench_incident.write_incident(folder / "bench-incident.yaml", document=document)
    criteria = bench_incident.load(incident_path).criteria
    if len(criteria) < bench_incident.MIN_SQL_CRITERIA:
        raise BenchError(f"{incident_path}: {len(criteria)} SQL criteria, fewer than {bench_incident.MIN_SQL_CRITERIA}")
    section.counts.append(Count("SQL criteria in the bench incident", len(criteria),
                                goal_text=f">= {bench_incident.MIN_SQL_CRITERIA}", meets_goal=True))

    rounds = _Rounds(context, workspace, folder)
    plan_path = folder / "floor-plan.json"
    floor_check.write_plan(incident_path, workspace, plan_path)
    floor_argv = [context.python, str(Path(floor_check.__file__).resolve()), str(plan_path)]
    _compare_floor(rounds, incident_path, floor_argv)

    timed = take_turns(context.runs, {
        "coord check (SQL cache warm)": lambda: rounds.time(incident_path),
        "coord check (SQL cache off)": lambda: rounds.time(incident_path, cache=False),
        "floor": lambda: time_command(floor_argv),
    })
    _compare_floor(rounds, incident_path, floor_argv)
    section.comparisons.append(Comparison(
        f"coord check, {len(criteria)} SQL criteria, vs the floor", timed["coord check (SQL cache warm)"],
        timed["floor"], goal=FLOOR_GOAL, goal_text=f"<= {FLOOR_GOAL}x the floor",
    ))
    section.comparisons.append(Comparison(
        "the same, with the SQL cache off (every query parsed and transpiled by sqlglot)",
        timed["coord check (SQL cache off)"], timed["floor"],
    ))

    section.notes.extend(_notes(context, len(criteria)))
    section.notes.extend(_soda_round(context, rounds, incident_path, workspace, section))
    return section


class _Rounds:
    """Timed and checked runs of `coord check` in the scaled workspace, with the SQL cache in the bench's scratch folder."""

    def __init__(self, context: BenchContext, workspace: Path, folder: Path) -> None:
        self.context = context
        self.workspace = workspace
        self.cache = folder / "sql-cache.json"

    def environment(self, *, cache: bool = True) -> dict:
        return {"COORD_SQL_CACHE": str(self.cache) if cache else "off"}

    def time(self, incident_path: Path, *, cache: bool = True) -> float:
        argv = [*self.context.coord, "check", str(incident_path)]
        return time_command(argv, cwd=self.workspace, env=self.environment(cache=cache), accept=ROUND_EXIT_CODES)

    def statuses(self, incident_path: Path) -> dict[str, str]:
        argv = [*self.context.coord, "check", str(incident_path), "--json"]
        completed = run_command(argv, cwd=self.workspace, env=self.environment(), accept=ROUND_EXIT_CODES)
        return {criterion["id"]: criterion["status"] for criterion in json.loads(completed.stdout)["criteria"]}


def _table_counts(workspace: Path) -> list[Count]:
    import duckdb

    from coordinator.sandbox.workspace import WAREHOUSE_PATH

    connection = duckdb.connect(str(workspace / WAREHOUSE_PATH), read_only=True)
    try:
        props = connection.execute(f"SELECT COUNT(*) FROM {PROPS_TABLE}").fetchone()[0]
        analytics = connection.execute(f"SELECT COUNT(*) FROM {ANALYTICS_TABLE}").fetchone()[0]
    finally:
        connection.close()
    return [
        Count(f"rows in {PROPS_TABLE}", props, "rows", f">= {PROPS_GOAL:,}", props >= PROPS_GOAL),
        Count(f"rows in {ANALYTICS_TABLE}", analytics, "rows", f">= {ANALYTICS_GOAL:,}", analytics >= ANALYTICS_GOAL),
    ]


def _compare_floor(rounds: _Rounds, incident_path: Path, floor_argv: list[str]) -> None:
    ours = rounds.statuses(incident_path)
    floor = json.loads(run_command(floor_argv).stdout)
    _require_same("the floor", ours, floor)


def _require_same(side: str, ours: dict[str, str], theirs: dict[str, str]) -> None:
    """Raise BenchError unless both sides give every criterion the same pass or fail."""
    if "error" in ours.values():
        broken = [criterion_id for criterion_id, status in ours.items() if status == "error"]
        raise BenchError(f"coord check could not measure {', '.join(broken)}: no figure is reported")
    differing = sorted(
        criterion_id for criterion_id in ours.keys() | theirs.keys() if ours.get(criterion_id) != theirs.get(criterion_id)
    )
    if differing:
        listed = ", ".join(f"{criterion_id} (coord {ours.get(criterion_id)}, {side} {theirs.get(criterion_id)})"
                          for criterion_id in differing[:5])
        raise BenchError(f"coord check and {side} disagree on {len(differing)} criteria: {listed}")


def _notes(context: BenchContext, criteria: int) -> list[str]:
    return [
        f"Sandbox seeded once with `coord sandbox init --scale {context.scale}`; each figure is the wall time of "
        "a whole process, the cases taking turns, after one warm-up turn that is not kept.",
        f"The bench incident contains the shipped incident's 9 SQL criteria and per-date variants of four of them "
        f"({criteria} in all). Its command, drift and manual criteria are left out: the floor and Soda cannot run "
        "`coord sandbox` commands or read git, so only SQL criteria are the same work on every side.",
        "The floor (bench/floor_check.py) is one Python process that imports duckdb, opens the warehouse "
        "read-only, reads the sandbox clock, and runs the queries one after another, transpiled beforehand by "
        "coord's own `transpile` and bound to the same parameters, comparing each with its threshold. It loads "
        "no incident file and stores no result.",
        "coord check also loads and validates the incident, runs the queries four at a time on cursors of one "
        "read-only connection, records HEAD's commit and the tree's state, and stores every result on the board. "
        "With the SQL cache warm (its normal state from the second round on) it imports no sqlglot.",
        "Pass and fail of every criterion were compared between coord check and the floor before and after "
        "the timed runs; the figures are reported only because they agree.",
    ]


def _soda_round(context: BenchContext, rounds: _Rounds, incident_path: Path, workspace: Path,
                section: Section) -> list[str]:
    """Time coord check against Soda Core on the criteria Soda can express; return the notes on it."""
    try:
        from bench import soda
    except ImportError:
        return ["Soda Core: not compared, because bench/soda.py (Soda's side of the round) is missing."]

    from coordinator.sandbox.workspace import WAREHOUSE_PATH

    criterion_ids = [criterion.id for criterion in bench_incident.load(incident_path).criteria]
    try:
        plan = soda.prepare(context, incident_path, workspace / WAREHOUSE_PATH, criterion_ids)
    except BenchError as error:
        return [f"Soda Core: not compared, because its environment could not be prepared: {error}"]
    if not plan.expressed:
        return ["Soda Core: not compared, because it could express none of the criteria."]

    subset_path = bench_incident.write_incident(incident_path.with_name("bench-incident-soda.yaml"),
                                                criterion_ids=plan.expressed)
    _require_same("Soda", rounds.statuses(subset_path), plan.outcomes(soda.run(plan)))
    timed = take_turns(context.runs, {
        "coord check": lambda: rounds.time(subset_path),
        "soda contract verify": lambda: time_command(plan.argv, cwd=plan.folder, env=plan.env, accept=ROUND_EXIT_CODES),
    })
    _require_same("Soda", rounds.statuses(subset_path), plan.outcomes(soda.run(plan)))
    section.comparisons.append(Comparison(
        f"coord check vs Soda Core, the same {len(plan.expressed)} criteria", timed["coord check"],
        timed["soda contract verify"], goal=SODA_GOAL, goal_text=f"<= {SODA_GOAL}x Soda's time",
    ))

    notes = [
        f"Soda Core verifies one contract holding the {len(plan.expressed)} criteria it can express as the same "
        "check; coord check runs an incident holding exactly those criteria (bench-incident-soda.yaml). Both "
        "sides' pass and fail were compared before and after the timed runs."
    ]
    if plan.skipped:
        reasons = "; ".join(f"{criterion_id}: {reason}" for criterion_id, reason in sorted(plan.skipped.items()))
        notes.append(f"Left out of the Soda comparison: {reasons}.")
    return notes
