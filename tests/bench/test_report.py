"""The bench's own machinery: cases take turns, and the report shows each figure beside its baseline."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from bench import report
from bench.harness import Comparison, Count, Samples, Section, take_turns


def test_take_turns_interleaves_cases():
    order: list[str] = []
    cases = {name: (lambda name=name: order.append(name) or float(len(order))) for name in ("ours", "floor")}

    measured = take_turns(3, cases, warmup=1)

    assert order == ["ours", "floor"] * 4
    assert measured["ours"].values == [3.0, 5.0, 7.0]
    assert measured["floor"].values == [4.0, 6.0, 8.0]


def test_samples_median_and_spread():
    samples = Samples("coord check", [1.0, 3.0, 2.0, 10.0, 2.5])

    assert samples.median == 2.5
    assert samples.spread == 9.0


def test_comparison_ratio_against_goal():
    within = Comparison("check", Samples("ours", [1.2]), Samples("floor", [1.0]), goal=1.3)
    beyond = Comparison("check", Samples("ours", [1.4]), Samples("floor", [1.0]), goal=1.3)

    assert within.meets_goal is True
    assert beyond.meets_goal is False
    assert Comparison("alone", Samples("ours", [1.0])).ratio is None


def test_report_writes_markdown_and_json(tmp_path):
    section = Section(
        "Check round",
        comparisons=[Comparison("coord check, 44 criteria", Samples("ours", [0.9, 1.1, 1.0, 1.0, 1.2]),
                                Samples("floor", [0.8, 0.8, 0.9, 0.8, 0.8]), goal=1.3, goal_text="≤ 1.3× floor")],
        counts=[Count("lost writes", 0, goal_text="0", meets_goal=True)],
        notes=["The floor runs the transpiled queries in one process."],
    )
    settings = {"command": "python -m bench", "runs": 5, "scale": 40, "only": None}

    written = report.write([section], settings, datetime.now(timezone.utc), report.machine(), tmp_path)

    markdown = written.read_text()
    assert "| coord check, 44 criteria | 1.00 s ± 300 ms | floor | 800 ms ± 100 ms | 1.25× | ≤ 1.3× floor | yes |" in markdown
    assert "| lost writes | 0 | 0 | yes |" in markdown
    assert "- The floor runs the transpiled queries in one process." in markdown
    payload = json.loads((tmp_path / "results.json").read_text())
    assert payload["sections"][0]["comparisons"][0]["ratio"] == 1.25
    assert payload["machine"]["cores"] >= 1


def test_missed_goals_lists_only_misses():
    section = Section(
        "Board commands",
        comparisons=[
            Comparison("coord checkin", Samples("ours", [1.1]), Samples("floor", [1.0]), goal=1.2, goal_text="≤ 1.2×"),
            Comparison("coord board --json", Samples("ours", [1.5]), Samples("floor", [1.0]), goal=1.2, goal_text="≤ 1.2×"),
            Comparison("coord prompts", Samples("ours", [2.5]), goal_text="under 2 s", limit=2.0),
        ],
        counts=[Count("lost writes", 3, goal_text="0", meets_goal=False)],
    )

    missed = report.missed_goals([section])

    assert missed == ["coord board --json: 1.50× (≤ 1.2×)", "coord prompts: 2.50 s (under 2 s)", "lost writes: 3 (0)"]
