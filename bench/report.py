"""Writing bench/RESULTS.md and bench/results.json from the sections of one run."""

from __future__ import annotations

import json
import os
import platform
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from bench.harness import Comparison, Section

PACKAGES = ("duckdb", "sqlglot", "sqlalchemy", "sqlmodel", "typer", "pydantic", "jinja2", "gitpython",
            "google-cloud-bigquery")


def machine() -> dict:
    """Return the facts of the machine the figures are measured on."""
    return {
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "load_average_at_start": list(os.getloadavg()),
        "bytecode_writing": "off (PYTHONDONTWRITEBYTECODE is set)" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "on",
        "bytecode_compiled_by_bench": True,
        "packages": {name: _version(name) for name in PACKAGES},
        "soda_packages": _soda_versions(),
    }


def write(sections: list[Section], settings: dict, started: datetime, machine_facts: dict, directory: Path) -> Path:
    """Write RESULTS.md and results.json into `directory`; return the markdown file."""
    finished = datetime.now(timezone.utc)
    payload = {
        "started": started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"),
        "settings": settings,
        "machine": machine_facts,
        "sections": [section.to_json() for section in sections],
    }
    (directory / "results.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    markdown = directory / "RESULTS.md"
    markdown.write_text(render_markdown(payload, sections), encoding="utf-8")
    return markdown


def render_markdown(payload: dict, sections: list[Section]) -> str:
    facts = payload["machine"]
    lines = [
        "# Benchmark results",
        "",
        f"Measured {payload['started']} to {payload['finished']} by `{payload['settings']['command']}`.",
        f"Each figure is the median of {payload['settings']['runs']} runs, with the spread (slowest minus fastest);",
        "a case and its baseline took turns, one run each, in the same process of the bench.",
        *(["With fewer than 5 runs a spread says little; the committed results use 5."]
          if payload["settings"]["runs"] < 5 else []),
        "",
        "## Machine",
        "",
        f"- {facts['cores']} cores, {facts['memory_gib']} GiB memory, {facts['platform']}",
        f"- Python {facts['python']} ({facts['implementation']}); bytecode writing {facts['bytecode_writing']}; "
        "the bench compiles every module to bytecode before timing, as a machine that writes bytecode has it",
        f"- load average at the start: {', '.join(f'{value:.2f}' for value in facts['load_average_at_start'])}",
        "- packages: " + ", ".join(f"{name} {version}" for name, version in facts["packages"].items()),
        *(["- Soda's own environment: " + ", ".join(f"{name} {version}" for name, version in facts["soda_packages"].items())]
          if "soda_packages" in facts else []),
        "",
    ]
    for section in sections:
        lines += [f"## {section.title}", ""]
        if section.comparisons:
            lines += [
                "| case | ours (median ± spread) | baseline | baseline (median ± spread) | ratio | goal | met |",
                "|---|---|---|---|---|---|---|",
            ]
            lines += [_comparison_row(comparison) for comparison in section.comparisons]
            lines.append("")
        if section.counts:
            lines += ["| figure | value | goal | met |", "|---|---|---|---|"]
            for count in section.counts:
                value = f"{_number(count.value)} {count.unit}".strip()
                lines.append(f"| {count.name} | {value} | {count.goal_text or '—'} | "
                             f"{_met(count.meets_goal)} |")
            lines.append("")
        if section.table:
            headers = list(section.table[0])
            lines += ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
            lines += ["| " + " | ".join(str(row.get(header, "")) for header in headers) + " |" for row in section.table]
            lines.append("")
        lines += [f"- {note}" for note in section.notes]
        if section.notes:
            lines.append("")
    return "\n".join(lines)


def missed_goals(sections: list[Section]) -> list[str]:
    """Return one line for each figure of `sections` that misses its goal."""
    missed = []
    for section in sections:
        for comparison in section.comparisons:
            if comparison.meets_goal is False:
                figure = f"{comparison.ratio:.2f}×" if comparison.limit is None else _timing(comparison.ours.median, comparison.ours.unit)
                missed.append(f"{comparison.name}: {figure} ({comparison.goal_text})")
        for count in section.counts:
            if count.meets_goal is False:
                missed.append(f"{count.name}: {_number(count.value)} ({count.goal_text})")
    return missed


def _comparison_row(comparison: Comparison) -> str:
    ours = comparison.ours
    baseline = comparison.baseline
    ratio = f"{comparison.ratio:.2f}×" if comparison.ratio is not None else "—"
    return (
        f"| {comparison.name} | {_timing(ours.median, ours.unit)} ± {_timing(ours.spread, ours.unit)} | "
        f"{baseline.label if baseline else '—'} | "
        f"{_timing(baseline.median, baseline.unit) + ' ± ' + _timing(baseline.spread, baseline.unit) if baseline else '—'} | "
        f"{ratio} | {comparison.goal_text or '—'} | {_met(comparison.meets_goal)} |"
    )


def _timing(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
    return f"{_number(value)} {unit}"


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:.3g}"


def _met(meets: bool | None) -> str:
    return {True: "yes", False: "**no**", None: "—"}[meets]


def _soda_versions() -> dict[str, str]:
    from bench.soda import pinned_versions

    return pinned_versions()


def _memory_gib() -> float | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        return None
    return None


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"
