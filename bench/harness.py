"""Timing whole commands side by side with their baselines, and the figures a benchmark reports.

Every figure is measured in the same run as its baseline: the cases of a comparison take turns, one run
each, so a burst of load on the machine lands on both sides instead of on one.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

BENCH_DIR = Path(__file__).resolve().parent
REPOSITORY = BENCH_DIR.parent


class BenchError(Exception):
    """Error raised when a benchmark cannot measure its figure: a command failed or returned a wrong result."""


@dataclass
class Samples:
    """Repeated measurements of one case, in `unit`."""

    label: str
    values: list[float]
    unit: str = "s"

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def spread(self) -> float:
        """The distance between the fastest and the slowest run."""
        return max(self.values) - min(self.values)

    def to_json(self) -> dict:
        return {
            "label": self.label,
            "unit": self.unit,
            "median": self.median,
            "min": min(self.values),
            "max": max(self.values),
            "spread": self.spread,
            "values": self.values,
        }


@dataclass
class Comparison:
    """One measured case beside its baseline, with the goal the ratio is held to."""

    name: str
    ours: Samples
    baseline: Optional[Samples] = None
    goal: Optional[float] = None  # the ratio ours/baseline must stay at or under, when there is one
    goal_text: str = ""
    limit: Optional[float] = None  # the median ours must stay at or under, in its unit, when there is one

    @property
    def ratio(self) -> Optional[float]:
        if self.baseline is None or self.baseline.median == 0:
            return None
        return self.ours.median / self.baseline.median

    @property
    def meets_goal(self) -> Optional[bool]:
        if self.limit is not None:
            return self.ours.median <= self.limit
        if self.goal is None or self.ratio is None:
            return None
        return self.ratio <= self.goal

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "ours": self.ours.to_json(),
            "baseline": self.baseline.to_json() if self.baseline else None,
            "ratio": self.ratio,
            "goal": self.goal,
            "limit": self.limit,
            "goal_text": self.goal_text,
            "meets_goal": self.meets_goal,
        }


@dataclass
class Count:
    """A figure that is not a timing: rows, bytes, lost writes."""

    name: str
    value: float
    unit: str = ""
    goal_text: str = ""
    meets_goal: Optional[bool] = None

    def to_json(self) -> dict:
        return {"name": self.name, "value": self.value, "unit": self.unit, "goal_text": self.goal_text,
                "meets_goal": self.meets_goal}


@dataclass
class Section:
    """The report of one benchmark: its comparisons, its counts, and notes on how it measured them."""

    title: str
    comparisons: list[Comparison] = field(default_factory=list)
    counts: list[Count] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    table: Optional[list[dict]] = None  # optional extra rows, shown as a table under the figures

    def to_json(self) -> dict:
        return {
            "title": self.title,
            "comparisons": [comparison.to_json() for comparison in self.comparisons],
            "counts": [count.to_json() for count in self.counts],
            "notes": self.notes,
            "table": self.table,
        }


@dataclass
class BenchContext:
    """The settings every benchmark receives: the number of runs, a scratch folder, and how to start `coord`."""

    runs: int
    scratch: Path
    scale: int

    @property
    def coord(self) -> list[str]:
        """The `coord` console script of the environment running the bench."""
        return [str(Path(sys.executable).parent / "coord")]

    @property
    def python(self) -> str:
        return sys.executable


def run_command(argv: list[str], *, cwd: Optional[Path] = None, env: Optional[dict] = None,
                accept: tuple[int, ...] = (0,), stdin: Optional[str] = None) -> subprocess.CompletedProcess:
    """Run `argv` to completion and return it; raise BenchError when it exits with a code not in `accept`."""
    completed = subprocess.run(
        argv, cwd=cwd, env=_environment(env), input=stdin, capture_output=True, text=True, check=False
    )
    if completed.returncode not in accept:
        tail = (completed.stderr or completed.stdout).strip().splitlines()[-3:]
        raise BenchError(f"{' '.join(argv[:4])} … exited {completed.returncode}: {' | '.join(tail)}")
    return completed


def time_command(argv: list[str], *, cwd: Optional[Path] = None, env: Optional[dict] = None,
                 accept: tuple[int, ...] = (0,), stdin: Optional[str] = None) -> float:
    """Return the wall time of one whole process running `argv`, in seconds."""
    started = time.perf_counter()
    run_command(argv, cwd=cwd, env=env, accept=accept, stdin=stdin)
    return time.perf_counter() - started


def take_turns(runs: int, cases: dict[str, Callable[[], float]], *, warmup: int = 1,
               unit: str = "s") -> dict[str, Samples]:
    """Measure each case `runs` times, the cases taking turns; the first `warmup` rounds are not kept.

    A case returns its own measurement (usually the seconds from `time_command`), so a case may time
    only part of what it runs.
    """
    values: dict[str, list[float]] = {label: [] for label in cases}
    for round_number in range(warmup + runs):
        for label, case in cases.items():
            measured = case()
            if round_number >= warmup:
                values[label].append(measured)
    return {label: Samples(label, measured, unit) for label, measured in values.items()}


def _environment(extra: Optional[dict]) -> dict:
    environment = dict(os.environ)
    environment.update(extra or {})
    return environment
