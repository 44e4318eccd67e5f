"""Turning a key path, or a name inside a SQL text, into a line and column of the incident file."""

from __future__ import annotations

import re

from coordinator.spec.loader import LoadedIncident
from coordinator.spec.located import KeyPath


class Locator:
    def __init__(self, loaded: LoadedIncident) -> None:
        self.loaded = loaded
        self.text = loaded.text

    def at(self, path: KeyPath) -> tuple[int, int]:
        """Return where `path` starts, or its nearest ancestor."""
        if self.loaded.document is None:
            return 1, 1
        return self.loaded.document.position(path)

    def in_value(self, path: KeyPath, *, name: str | None = None, line: int | None = None) -> tuple[int, int]:
        """Return where `name` first appears in the scalar at `path`, else where line `line` (1-based, of the
        value's text) sits in a `|` block, else where the key starts."""
        span = self.loaded.document.spans.get(path) if self.loaded.document is not None else None
        if span is None:
            return self.at(path)
        if name:
            pattern = re.compile(rf"(?<![\w]){re.escape(name)}(?![\w])", re.IGNORECASE)
            match = pattern.search(self.text, span.start, span.end)
            if match is not None:
                return self._line_column(match.start())
        if line is not None and span.style == "|":
            return self._block_line(span.start, line)
        return self.at(path)

    def _line_column(self, offset: int) -> tuple[int, int]:
        line = self.text.count("\n", 0, offset) + 1
        column = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        return line, column

    def _block_line(self, indicator_offset: int, line: int) -> tuple[int, int]:
        """Return the first non-blank character of content line `line` of the block scalar starting at the `|`."""
        offset = self.text.find("\n", indicator_offset) + 1
        for _ in range(line - 1):
            offset = self.text.find("\n", offset) + 1
            if offset == 0:
                return self._line_column(indicator_offset)
        text_line = self.text[offset : self.text.find("\n", offset) if "\n" in self.text[offset:] else len(self.text)]
        indent = len(text_line) - len(text_line.lstrip(" "))
        return self._line_column(offset + indent)
