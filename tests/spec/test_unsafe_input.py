"""Inputs that must be refused before they are read or run: files that are not incident text, placeholders
that shell quoting cannot protect, and SQL identifiers that would comment out a query."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from coordinator.errors import CoordinatorError
from coordinator.spec import load_incident
from coordinator.spec.params import TypedValue, fill_command, fill_sql, quoted_placeholders

BASE = (Path(__file__).parent / "bad" / "wrong_type.yaml").read_text(encoding="utf-8").replace("    chat: first\n", "")


def refused(path: Path) -> str:
    with pytest.raises(CoordinatorError) as raised:
        load_incident(path)
    return str(raised.value)


def test_base_file_loads(tmp_path: Path):
    path = tmp_path / "incident.yaml"
    path.write_text(BASE, encoding="utf-8")

    assert load_incident(path).incident.id == "bad-example"


def test_folder_is_refused(tmp_path: Path):
    assert refused(tmp_path) == f"{tmp_path}: is a folder, not an incident file: give the path of the YAML file"


def test_fifo_is_refused_without_reading(tmp_path: Path):
    fifo = tmp_path / "incident.yaml"
    os.mkfifo(fifo)

    # Opening a FIFO with no writer would block: the refusal proves it was never opened.
    assert refused(fifo) == f"{fifo}: not a regular file (a device or a pipe): give the path of the YAML file"


def test_device_is_refused():
    assert refused(Path("/dev/zero")) == "/dev/zero: not a regular file (a device or a pipe): give the path of the YAML file"


def test_file_over_5_mb_is_refused(tmp_path: Path):
    path = tmp_path / "incident.yaml"
    path.write_text(BASE + "#" * (5 * 1024 * 1024), encoding="utf-8")

    message = refused(path)

    assert message.startswith(f"{path}: the file has ")
    assert message.endswith("bytes, more than the 5 MB an incident file may have: check the path")


def test_non_utf8_file_names_the_byte(tmp_path: Path):
    path = tmp_path / "incident.yaml"
    path.write_bytes(BASE.replace("Operations", "Op\xe9rations").encode("latin-1"))
    offset = BASE.index("Operations") + 2

    assert refused(path) == f"{path}: not UTF-8 text (byte 0xe9 at offset {offset}): save it as UTF-8"


def test_alias_bomb_is_refused_at_once(tmp_path: Path):
    lines = ["a: &a [" + ", ".join(["lol"] * 9) + "]"]
    for level in range(1, 8):
        previous, name = chr(ord("a") + level - 1), chr(ord("a") + level)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    path = tmp_path / "incident.yaml"
    path.write_text(BASE.replace("params:\n", "params:\n" + "".join(f"  {line}\n" for line in lines)), encoding="utf-8")

    message = refused(path)

    assert message == f"{path}:9:10: YAML anchors and aliases are not supported: write the value out"


def test_cli_refuses_a_folder_with_exit_2(tmp_path: Path):
    (tmp_path / "incident.yaml").mkdir()

    result = subprocess.run(
        [sys.executable, "-m", "coordinator", "check", "incident.yaml"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 2
    assert result.stderr.strip() == "incident.yaml: is a folder, not an incident file: give the path of the YAML file"


@pytest.mark.parametrize(
    "command, found",
    [
        ("echo {{ player }}", []),
        ('echo "player is {{ player }}"', [("player", "inside quotes")]),
        ("sh -c 'echo {{ player }}'", [("player", "inside quotes")]),
        ("echo `grep {{ player }} roster`", [("player", "inside backticks")]),
        ("echo $(grep {{ player }} roster)", [("player", "inside $(...)")]),
        ('echo "$(grep {{ player }} roster)"', [("player", "inside $(...)")]),
        ("echo ${NAME:-{{ player }}}", [("player", "inside ${...}")]),
        ("cat <<EOF\n{{ player }}\nEOF\necho {{ date }}", [("player", "inside a here-document")]),
        ("echo \\\"{{ player }}", []),
        ("echo \"\" {{ player }} '' {{ date }}  # it's {{ fine }}", []),
        ("python - <<'PY'\nprint(1)\nPY\nrun {{ player }}", []),
    ],
)
def test_quoted_placeholders(command: str, found: list[tuple[str, str]]):
    assert list(quoted_placeholders(command)) == found


def test_bare_placeholder_value_cannot_run_a_command(tmp_path: Path):
    marker = tmp_path / "ran"
    command = fill_command("echo player is {{ player }}", {"player": TypedValue(f"$(touch {marker})", "STRING")})

    result = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=30)

    assert result.stdout.strip() == f"player is $(touch {marker})"
    assert not marker.exists()


def test_date_inside_quotes_is_accepted(tmp_path: Path):
    """A DATE cannot carry shell syntax, so `"{{ game_date }}"` is safe and loads."""
    path = tmp_path / "incident.yaml"
    path.write_text(BASE.replace("echo load {{ game_date }}", 'echo "load {{ game_date }}"'), encoding="utf-8")

    assert load_incident(path).tasks[0].steps


@pytest.mark.parametrize("value", ["player_game_summary--", "rows/*", "-rows", "rows-", ".rows", "rows.", "a b"])
def test_fill_sql_refuses_values_that_are_not_identifiers(value: str):
    with pytest.raises(CoordinatorError) as raised:
        fill_sql("SELECT 1 FROM {{ table }} WHERE x = 1", {"table": TypedValue(value, "STRING")})

    assert str(raised.value).startswith(f"parameter 'table' = {value!r} is used as a SQL identifier but is not one")


def test_fill_sql_accepts_a_project_and_table():
    filled = fill_sql("SELECT 1 FROM `{{ project }}.raw.rows`", {"project": TypedValue("nba-props-platform", "STRING")})

    assert filled == "SELECT 1 FROM `nba-props-platform.raw.rows`"
