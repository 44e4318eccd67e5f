"""The located YAML reader: libyaml's parser under the checked composer reads a file as the pure-Python one does."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from coordinator.spec import located

SHIPPED = Path(__file__).parents[2] / "playbooks" / "nba" / "2026-01-27-pipeline-recovery.yaml"

pytestmark = pytest.mark.skipif(located._FastLoader is None, reason="PyYAML was built without libyaml")


def pure(text: str) -> located.LocatedDocument:
    return located._read_with(located._Loader(text))


def fast(text: str) -> located.LocatedDocument:
    return located._read_with(located._FastLoader(text))


@pytest.mark.parametrize(
    "text",
    [
        SHIPPED.read_text(encoding="utf-8"),
        "é: ü\nkey: 'ß → x'\nblock: |\n  line one\n  line two\nz: ok\n",
        "x: 2026-02-30\nk: 1\nk: 2\n",
    ],
    ids=["shipped", "unicode", "bad-date-duplicate"],
)
def test_fast_reader_same_document(text: str):
    expected, found = pure(text), fast(text)

    assert found.data == expected.data
    assert found.positions == expected.positions
    assert found.spans == expected.spans
    assert found.errors == expected.errors
    assert found.duplicates == expected.duplicates


@pytest.mark.parametrize(
    "text, message",
    [
        ("a: &x [1]\nb: *x\n", located.ALIAS_MESSAGE),
        ("a: " + "[" * 200 + "]" * 200 + "\n", located.DEPTH_MESSAGE.format(depth=located.MAX_DEPTH)),
    ],
    ids=["alias", "deep"],
)
def test_fast_reader_rejects_like_pure(text: str, message: str):
    with pytest.raises(located.LocatedYAMLError) as pure_error:
        pure(text)
    with pytest.raises(located.LocatedYAMLError) as fast_error:
        fast(text)

    assert fast_error.value.message == message
    assert (fast_error.value.line, fast_error.value.column) == (pure_error.value.line, pure_error.value.column)


def test_syntax_error_worded_by_pure_parser():
    with pytest.raises(yaml.YAMLError) as error:
        located.read_located("a: b: c\n")

    assert "mapping values are not allowed here" in str(error.value)
