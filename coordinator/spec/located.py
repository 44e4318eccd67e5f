"""Read YAML into plain Python values while remembering where each key and item starts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

KeyPath = tuple[Any, ...]


@dataclass
class LocatedDocument:
    """Plain data from a YAML file, with the (line, column) of every key and item, both 1-based."""

    data: Any
    positions: dict[KeyPath, tuple[int, int]] = field(default_factory=dict)
    duplicates: list[tuple[KeyPath, tuple[int, int]]] = field(default_factory=list)

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


def read_located(text: str) -> LocatedDocument:
    """Parse one YAML document; raise yaml.YAMLError on syntax errors."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        document = LocatedDocument(data=None)
        if root is not None:
            document.positions[()] = _position(root)
            document.data = _build(root, (), loader, document)
        return document
    finally:
        loader.dispose()


def _position(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _build(node: yaml.Node, path: KeyPath, loader: yaml.SafeLoader, document: LocatedDocument) -> Any:
    if isinstance(node, yaml.MappingNode):
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
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

    return loader.construct_object(node, deep=True)
