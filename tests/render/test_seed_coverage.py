"""Every command, query, criterion and file path of the hand-written NBA prompts appears in the rendered ones.

The hand-written prompts (one `# CHAT N:` section per chat) are what the NBA incident file was written from.
They live outside the repository, so these tests skip when the file is absent. Two corrections are applied
before comparing, because the hand-written text is wrong there: the props table is
`nba_raw.bettingpros_player_points_props`, and the quota query counts the incident date, not the day it runs.
"""

import re
from pathlib import Path

import pytest

from coordinator.render import render_role_prompt
from coordinator.spec import load_incident

REPOSITORY = Path(__file__).resolve().parents[2]
SEED = REPOSITORY.parent / "shared" / "seed" / "2026-01-27-PARALLEL-CHAT-PROMPTS.md"
INCIDENT = REPOSITORY / "playbooks" / "nba" / "2026-01-27-pipeline-recovery.yaml"
CHATS = (1, 2, 3)

OPENING_FENCE = re.compile(r"^(\s*)```[\w-]*\s*$")
CLOSING_FENCE = re.compile(r"^\s*```\s*$")
CHAT_HEADING = re.compile(r"^# CHAT (\d+):", re.MULTILINE)


def normalise(text: str) -> str:
    return " ".join(text.split())


def correct(unit: str) -> str:
    """Apply the known corrections to a unit of the hand-written prompts.

    The props table and the player 'leblonjames' do not exist in the warehouse, and the quota query's
    CURRENT_DATE() would measure the day the query runs instead of the incident day.
    """
    unit = unit.replace("nba_raw.bp_player_props", "nba_raw.bettingpros_player_points_props")
    unit = unit.replace("'leblonjames'", "'lebronjames'")
    if "circuit_breaker_state" in unit:
        unit = unit.replace("CURRENT_DATE()", "'2026-01-27'")
    return unit


def chat_sections(seed: str) -> dict[int, str]:
    """Split the hand-written prompts at `# CHAT N:` headings. The last chat ends at the coordination notes."""
    starts = [(int(match.group(1)), match.start()) for match in CHAT_HEADING.finditer(seed)]
    sections = {}
    for index, (number, start) in enumerate(starts):
        end = starts[index + 1][1] if index + 1 < len(starts) else seed.find("# Coordination Notes", start)
        sections[number] = seed[start : end if end != -1 else len(seed)]
    return sections


def code_blocks(markdown: str) -> list[list[str]]:
    """Return the lines of each fenced code block, with the fence's indentation removed."""
    blocks: list[list[str]] = []
    current: list[str] | None = None
    indent = 0
    for line in markdown.splitlines():
        if current is None:
            opening = OPENING_FENCE.match(line)
            if opening:
                current, indent = [], len(opening.group(1))
        elif CLOSING_FENCE.match(line):
            blocks.append(current)
            current = None
        else:
            current.append(line[indent:] if line[:indent].strip() == "" else line)
    return blocks


def command_units(lines: list[str]) -> list[str]:
    """Split a code block into units: a multi-line `bq query "..."` is one unit, any other line is one."""
    units: list[str] = []
    query: list[str] | None = None
    for line in lines:
        stripped = line.strip()
        if query is not None:
            query.append(line)
            if stripped.endswith('"'):
                units.append("\n".join(query))
                query = None
            continue
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("bq query") and stripped.endswith('"') and stripped.count('"') % 2 == 1:
            query = [line]
            continue
        units.append(line)
    if query is not None:
        units.append("\n".join(query))
    return units


def without_code(markdown: str) -> str:
    return re.sub(r"^\s*```.*?^\s*```\s*$", "", markdown, flags=re.DOTALL | re.MULTILINE)


def section(markdown: str, heading_prefix: str) -> str:
    """Return the text under the first `## ` heading starting with `heading_prefix`, up to the next `## `."""
    match = re.search(rf"^## {re.escape(heading_prefix)}.*?$(.*?)(?=^## |\Z)", markdown, flags=re.DOTALL | re.MULTILINE)
    return match.group(1) if match else ""


def seed_commands(chat: str) -> list[str]:
    return [correct(unit) for block in code_blocks(chat) for unit in command_units(block)]


def seed_criteria(chat: str) -> list[str]:
    return [f"- [ ] {text.strip()}" for text in re.findall(r"^\s*- \[ \] (.+)$", chat, flags=re.MULTILINE)]


def seed_file_paths(chat: str) -> list[str]:
    files = without_code(section(chat, "Files to Read"))
    handoff = section(chat, "Handoff Notes")
    paths = re.findall(r"`([^`\s]+)`", files) + re.findall(r"`([^`\s]+)`", handoff)
    return [path for path in paths if "/" in path]


EXTRACTORS = {"commands": seed_commands, "criteria": seed_criteria, "file paths": seed_file_paths}


@pytest.fixture(scope="module")
def seed_chats() -> dict[int, str]:
    if not SEED.is_file():
        pytest.skip(f"hand-written prompts not found at {SEED}: they live outside the repository")
    return chat_sections(SEED.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def nba_incident():
    if not INCIDENT.is_file():
        pytest.skip(f"incident file {INCIDENT.relative_to(REPOSITORY)} not written yet")
    return load_incident(INCIDENT)


@pytest.fixture(scope="module")
def prod_prompts(nba_incident) -> dict[int, str]:
    prompts = {}
    for role in nba_incident.roles:
        if role.chat is not None:
            prompts[role.chat] = render_role_prompt(nba_incident, role.name, "prod")
    return prompts


def test_hand_written_split_into_chats(seed_chats):
    assert sorted(seed_chats) == list(CHATS)
    for number in CHATS:
        assert seed_commands(seed_chats[number]), f"no commands extracted from chat {number}"
        assert seed_criteria(seed_chats[number]), f"no criteria extracted from chat {number}"
        assert seed_file_paths(seed_chats[number]), f"no file paths extracted from chat {number}"


def test_bq_query_kept_as_one_unit():
    lines = ['bq query --use_legacy_sql=false "', "SELECT 1", 'FROM \\`t\\`"', "# comment", "", "gcloud x"]

    assert command_units(lines) == ['bq query --use_legacy_sql=false "\nSELECT 1\nFROM \\`t\\`"', "gcloud x"]


def test_one_line_bq_query_kept():
    assert command_units(["bq query --use_legacy_sql=false < migrations/x.sql"]) == [
        "bq query --use_legacy_sql=false < migrations/x.sql"
    ]


@pytest.mark.parametrize("kind", sorted(EXTRACTORS))
@pytest.mark.parametrize("number", CHATS)
def test_chat_covered_by_prompt(seed_chats, prod_prompts, number, kind):
    assert number in prod_prompts, f"no role has chat: {number} in the incident file"
    prompt = normalise(prod_prompts[number])

    missing = [item for item in EXTRACTORS[kind](seed_chats[number]) if normalise(item) not in prompt]

    message = f"chat {number}: {len(missing)} hand-written {kind} missing from the prod prompt:\n"
    assert missing == [], message + "\n---\n".join(missing)
