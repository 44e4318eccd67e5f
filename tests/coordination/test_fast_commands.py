"""The board verbs agents call often import no warehouse, SQL parser, template engine, git or cloud client."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = re.compile(r"\|\s+(duckdb|sqlglot|jinja2|git|google\.cloud)(\.|$)")

COMMANDS = [
    ("claim", "table:raw.events@2026-01-27..2026-01-27", "--role", "ops", "--incident", "team"),
    ("heartbeat", "--role", "ops", "--incident", "team"),
    ("checkin", "--role", "ops", "--note", "fine", "--incident", "team"),
    ("board", "incident.yaml", "--json"),
]


@pytest.mark.parametrize("arguments", COMMANDS, ids=[arguments[0] for arguments in COMMANDS])
def test_board_verb_imports_nothing_heavy(team: Path, arguments: tuple[str, ...]):
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "coordinator", *arguments],
        cwd=team, capture_output=True, text=True, timeout=120,
    )

    heavy = sorted({match.group(1) for match in HEAVY.finditer(result.stderr)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert heavy == []
