"""A cache of what sqlglot computes from an incident's SQL, so a round of known queries need not import it.

Two kinds of entry are kept, each under the SHA-256 of the exact SQL text: the read-only guard's verdict
(`guard`) and the DuckDB transpilation with its parameter names (`duckdb`). Importing and running sqlglot
costs a check round about a quarter of a second; a round whose queries are all cached skips both.

Every entry is valid only for the sqlglot release and the guard and transpile code that computed it: the
file stores a fingerprint of those, and a file with another fingerprint is ignored and replaced.

The file lives in the user's cache folder (`$XDG_CACHE_HOME/coordinator`, else `~/.cache/coordinator`),
created with owner-only permissions, and never in the repository. The guard's verdict decides whether a
query may reach a warehouse, so whoever can write the cache can let a write statement through; keeping
it outside the repository means that writing an incident file or the board is not enough to do that.
`COORD_SQL_CACHE` names another file, or `off` to compute everything each time.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

# Raise when the layout of entries changes.
CACHE_FORMAT = 1
_OWN_SOURCES = ("guard.py", "duckdb.py", "sql_cache.py")

MISSING = object()


def cache_file() -> Path | None:
    """Return the cache file this process uses, or None when caching is off."""
    configured = os.environ.get("COORD_SQL_CACHE")
    if configured == "off":
        return None
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "coordinator" / "sql-cache.json"


def fingerprint() -> str:
    """Return a digest of the sqlglot release and the code that fills the cache."""
    import importlib.util

    digest = hashlib.sha256(f"format {CACHE_FORMAT}".encode())
    spec = importlib.util.find_spec("sqlglot")
    if spec is not None and spec.origin is not None:
        package = Path(spec.origin).parent
        version_file = package / "_version.py"
        if version_file.is_file():
            digest.update(version_file.read_bytes())
        else:
            status = Path(spec.origin).stat()
            digest.update(f"{spec.origin} {status.st_size} {status.st_mtime_ns}".encode())
    warehouse_package = Path(__file__).parent
    for name in _OWN_SOURCES:
        digest.update((warehouse_package / name).read_bytes())
    return digest.hexdigest()


class SqlCache:
    """Entries read from the cache file on first use and written back once, at exit, when any were added."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._entries: dict[str, Any] | None = None
        self._added: dict[str, Any] = {}
        self._fingerprint: str | None = None

    def get(self, kind: str, sql: str) -> Any:
        """Return the cached value of `kind` for `sql`, or MISSING."""
        if self.path is None:
            return MISSING
        with self._lock:
            entries = self._load()
            return entries.get(_key(kind, sql), MISSING)

    def put(self, kind: str, sql: str, value: Any) -> None:
        if self.path is None:
            return
        with self._lock:
            entries = self._load()
            key = _key(kind, sql)
            entries[key] = value
            if not self._added:
                atexit.register(self.flush)
            self._added[key] = value

    def flush(self) -> None:
        """Write the added entries, merged with what other processes wrote meanwhile; ignore an OSError."""
        with self._lock:
            if self.path is None or not self._added:
                return
            try:
                merged = self._read_file()
                merged.update(self._added)
                self._write_file(merged)
            except OSError:
                return  # a cache that cannot be written only costs the next round the transpilation
            self._added = {}

    def entries(self) -> dict[str, Any]:
        """Return a copy of the entries valid for this code: what the file contains plus what this process added."""
        if self.path is None:
            return {}
        with self._lock:
            return dict(self._load())

    def _load(self) -> dict[str, Any]:
        if self._entries is None:
            self._entries = self._read_file()
        return self._entries

    def _current_fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = fingerprint()
        return self._fingerprint

    def _read_file(self) -> dict[str, Any]:
        assert self.path is not None
        try:
            document = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        if not isinstance(document, dict) or document.get("fingerprint") != self._current_fingerprint():
            return {}
        entries = document.get("entries")
        return dict(entries) if isinstance(entries, dict) else {}

    def _write_file(self, entries: dict[str, Any]) -> None:
        assert self.path is not None
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        document = {"fingerprint": self._current_fingerprint(), "entries": entries}
        handle, temporary = tempfile.mkstemp(prefix=".sql-cache-", dir=self.path.parent)
        try:
            with os.fdopen(handle, "w") as stream:
                json.dump(document, stream)
            os.replace(temporary, self.path)
        except OSError:
            Path(temporary).unlink(missing_ok=True)
            raise


def _key(kind: str, sql: str) -> str:
    return kind + ":" + hashlib.sha256(sql.encode()).hexdigest()


_cache: SqlCache | None = None
_cache_lock = threading.Lock()


def shared() -> SqlCache:
    """Return this process's cache, opened for the file `cache_file()` names when first called."""
    global _cache
    with _cache_lock:
        if _cache is None:
            _cache = SqlCache(cache_file())
        return _cache


def reset() -> None:
    """Forget this process's cache after writing it, so the next use reads `cache_file()` again (for tests)."""
    global _cache
    with _cache_lock:
        if _cache is not None:
            _cache.flush()
        _cache = None
