"""File permissions for the documents `coord` writes."""

from __future__ import annotations

import os


def shared_file_mode() -> int:
    """Return the mode a newly created, non-executable file gets under the current umask.

    `tempfile.mkstemp` creates files readable by their owner only, but prompts and handoffs are documents
    other people read, so they are written with the mode an ordinary new file would have.
    """
    current = os.umask(0)
    os.umask(current)
    return 0o666 & ~current
