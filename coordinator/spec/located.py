"""Read YAML into plain Python values while remembering where each key and item starts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

KeyPath = tuple[Any, ...]


class ScalarSpan(NamedTuple):
    """Where a scalar value sits in the file: character offsets, its first line and column (1-based), and
    its YAML style (None for plain, `'` or `"` for quoted, `|` or `>` for block scalars).

    A named tuple rather than a frozen dataclass: a large incident has tens of thousands of scalars, and a
    tuple is several times cheaper to create."""

    start: int
    end: int
    line: int
    column: int
    style: str | None


@dataclass
class LocatedDocument:
    """Plain data from a YAML file, with the (line, column) of every key and item, both 1-based."""

    data: Any
    positions: dict[KeyPath, tuple[int, int]] = field(default_factory=dict)
    duplicates: list[tuple[KeyPath, tuple[int, int]]] = field(default_factory=list)
    spans: dict[KeyPath, ScalarSpan] = field(default_factory=dict)
    # Values that parse as YAML but cannot be built (`2026-02-30`, `!!int abc`): (path, position, message).
    errors: list[tuple[KeyPath, tuple[int, int], str]] = field(default_factory=list)

    def position(self, path: KeyPath) -> tuple[int, int]:
        """Return the position of `path`, or of its nearest ancestor that has one."""
        while path not in self.positions and path:
            path = path[:-1]
        return self.positions.get(path, (1, 1))


def format_key_path(path: KeyPath) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


ALIAS_MESSAGE = "YAML anchors and aliases are not supported: write the value out"
DEPTH_MESSAGE = "nesting is too deep: an incident file nests at most {depth} levels"
MAX_DEPTH = 100


class LocatedYAMLError(Exception):
    """A YAML construct the loader rejects (an alias, too deep a nesting), with its 1-based position."""

    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.message = message


class _CheckedComposer:
    """Composes nodes like PyYAML's Composer, rejecting aliases (recursive values, alias bombs) and deep nesting."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise LocatedYAMLError(mark.line + 1, mark.column + 1, ALIAS_MESSAGE)
        event = self.peek_event()
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = event.start_mark
                raise LocatedYAMLError(mark.line + 1, mark.column + 1, DEPTH_MESSAGE.format(depth=MAX_DEPTH))
            return Composer.compose_node(self, parent, index)
        finally:
            self._depth -= 1


class _Loader(_CheckedComposer, yaml.SafeLoader):
    """SafeLoader in pure Python, with the checked composer."""


if yaml.__with_libyaml__:
    from yaml.cyaml import CParser

    class _FastLoader(_CheckedComposer, CParser, Composer, SafeConstructor, Resolver):
        """libyaml's scanner and parser under the checked composer: the same nodes as _Loader, about three
        times faster on a large file.

        CParser would also compose the nodes, in C, without the alias and nesting checks (and with C recursion
        on deep nesting), so composing stays with PyYAML's Composer.
        """

        def __init__(self, text: str) -> None:
            CParser.__init__(self, text)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

        check_node = Composer.check_node
        get_node = Composer.get_node
        get_single_node = Composer.get_single_node

else:
    _FastLoader = None


def read_located(text: str) -> LocatedDocument:
    """Parse one YAML document, raising yaml.YAMLError on syntax errors and LocatedYAMLError on an alias
    or too deep a nesting. Values that cannot be built are listed in `errors`."""
    if _FastLoader is not None:
        try:
            return _read_with(_FastLoader(text))
        except yaml.YAMLError:
            pass  # libyaml words some syntax errors differently: the pure-Python parser reports them as always
    return _read_with(_Loader(text))


def _read_with(loader: Any) -> LocatedDocument:
    try:
        root = loader.get_single_node()
        document = LocatedDocument(data=None)
        if root is not None:
            document.positions[()] = _position(root)
            document.data = _build(root, (), loader, document)
        return document
    except RecursionError:
        raise LocatedYAMLError(1, 1, DEPTH_MESSAGE.format(depth=MAX_DEPTH)) from None
    finally:
        loader.dispose()


def _position(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _build(node: yaml.Node, path: KeyPath, loader: yaml.SafeLoader, document: LocatedDocument) -> Any:
    if isinstance(node, yaml.MappingNode):
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _construct(key_node, (*path, str(getattr(key_node, "value", "?"))), loader, document)
            if not isinstance(key, (str, int, float, bool)):
                key = str(key)
            child = (*path, key)
            if key in mapping:
                document.duplicates.append((child, _position(key_node)))
                continue
            document.positions[child] = _position(key_node)
            mapping[key] = _build(value_node, child, loader, document)
        return mapping

    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item_node in enumerate(node.value):
            child = (*path, index)
            document.positions[child] = _position(item_node)
            items.append(_build(item_node, child, loader, document))
        return items

    if isinstance(node, yaml.ScalarNode):
        start, end = node.start_mark, node.end_mark
        # libyaml marks a plain scalar with style '' where PyYAML uses None.
        document.spans[path] = ScalarSpan(start.index, end.index, start.line + 1, start.column + 1, node.style or None)
    return _construct(node, path, loader, document)


_KINDS = {
    "tag:yaml.org,2002:timestamp": "a date",
    "tag:yaml.org,2002:int": "an integer",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:bool": "a boolean",
}


def _construct(node: yaml.Node, path: KeyPath, loader: yaml.SafeLoader, document: LocatedDocument) -> Any:
    """Build one node's value. A value PyYAML cannot build is recorded at the node's position and becomes None."""
    try:
        return loader.construct_object(node, deep=True)
    except yaml.constructor.ConstructorError as error:
        reason = error.problem or str(error)
        message = f"cannot read this value: {reason}: write a plain string, number, date, list or mapping"
    except (ValueError, TypeError, AttributeError, OverflowError) as error:
        text = node.value if isinstance(node.value, str) else "this value"
        kind = _KINDS.get(node.tag, "a value")
        if kind == "a date":
            message = (
                f"{text!r} is not a valid date ({error if isinstance(error, ValueError) else 'unknown form'}): "
                "write a real date like 2026-01-27, or quote it to keep it as text"
            )
        else:
            message = f"{text!r} is not {kind}: fix the value, or quote it to keep it as text"
    document.errors.append((path, _position(node), message))
    return None
