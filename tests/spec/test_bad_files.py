"""Every file in tests/spec/bad/ fails to load with the one located message in the .expected file beside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from coordinator.errors import IncidentFileError
from coordinator.spec import load_incident

SPEC_TESTS = Path(__file__).parent
BAD_FILES = sorted((SPEC_TESTS / "bad").glob("*.yaml"))



def _case(path: Path):
    return pytest.param(path, id=path.stem)


def test_corpus_is_present():
    assert len(BAD_FILES) >= 8


@pytest.mark.parametrize("path", [_case(path) for path in BAD_FILES])
def test_bad_file_message(path: Path, monkeypatch: pytest.MonkeyPatch):
    expected = path.with_suffix(".expected").read_text(encoding="utf-8").strip()
    monkeypatch.chdir(SPEC_TESTS)

    with pytest.raises(IncidentFileError) as raised:
        load_incident(path.relative_to(SPEC_TESTS))

    assert str(raised.value) == expected
    assert len(raised.value.problems) == 1


@pytest.mark.parametrize("path", BAD_FILES, ids=[path.stem for path in BAD_FILES])
def test_expected_is_one_line(path: Path):
    expected = path.with_suffix(".expected").read_text(encoding="utf-8")

    assert expected.endswith("\n")
    assert expected.count("\n") == 1
    assert expected.startswith(f"bad/{path.name}:")
