"""A cache of what sqlglot computes from an incident's SQL, so a round of known queries need not import it.

Two kinds of entry are kept, each under the SHA-256 of the exact SQL text: the read-only guard's verdict
(`guard`) and the DuckDB transpilation with its parameter names (`duckdb`). Importing and running sqlglot
costs a check round about a quarter of a second; a round whose queries are all cached skips both.

Every entry is valid only for the sqlglot release and the guard and transpile code that computed it: the
file stores a fingerprint of those, and a file with another fingerprint is ignored and replaced.

The file lives in the user's cache folder (`$XDG_CACHE_HOME/coordinator`, else `~/.cache/coordinator`),
created with owner-only permissions, and never in the repository. `COORD_SQL_CACHE` names another file by
an absolute path; `off` (or `none`, `no`, `false`, `0`, in any case) or a relative path turns the cache off.

The guard's verdict decides whether a query may reach a warehouse, so a user who can write the cache can
let a write statement through. That is why the cache is read and written only when the file and every folder above it
are as safe as ssh wants a key to be: the file is a regular file (not a symlink) owned by this user, and no
folder on its path can be written by another user (a world-writable folder counts only with its sticky
bit, as /tmp has). The cache is written only over a missing file or a cache of ours, so a wrong
`COORD_SQL_CACHE` never replaces a notes file or a device. A cache that fails any of these is ignored
without a message: it only costs speed. Writers take a lock file beside the cache (`NAME.lock`) around
reading, merging and replacing, so processes that finish together keep each other's entries; a writer
that cannot get the lock within LOCK_TIMEOUT_SECONDS leaves its entries unwritten rather than wait.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import stat
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

# Raise when the layout of entries changes.
CACHE_FORMAT = 1
_OWN_SOURCES = ("guard.py", "duckdb.py", "sql_cache.py")
# The values of COORD_SQL_CACHE that turn the cache off, compared in lower case.
OFF_WORDS = frozenset({"off", "none", "no", "false", "0"})
# The keys of a cache document: a file with other top-level keys is not ours, and is never replaced.
DOCUMENT_KEYS = frozenset({"fingerprint", "entries"})
LOCK_TIMEOUT_SECONDS = 2.0

MISSING = object()


def cache_file() -> Path | None:
    """Return the cache file this process uses, or None when caching is off."""
    configured = os.environ.get("COORD_SQL_CACHE", "").strip()
    if configured.lower() in OFF_WORDS:
        return None
    if configured:
        path = Path(configured).expanduser()
        # A relative path would name another file in each folder a command runs from.
        return path if path.is_absolute() else None
    base = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG Base Directory specification requires a relative XDG_CACHE_HOME to be ignored.
    folder = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    return folder / "coordinator" / "sql-cache.json"


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
        """Write the added entries, merged with what other processes wrote meanwhile.

        Nothing is written when the file is not a cache of ours, when its folder is not safe, or when the
        lock stays taken. An OSError is ignored too, because a cache that cannot be written only costs speed.
        """
        with self._lock:
            if self.path is None or not self._added:
                return
            try:
                written = self._merge_and_write()
            except OSError:
                return
            if written:
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
        """Return the file's entries valid for this code; {} for a missing, unsafe, foreign or stale file."""
        assert self.path is not None
        try:
            document = _read_document(self.path)
        except OSError:
            return {}
        return self._valid_entries(document)

    def _valid_entries(self, document: dict[str, Any] | None) -> dict[str, Any]:
        if document is None or document.get("fingerprint") != self._current_fingerprint():
            return {}
        return dict(document["entries"])

    def _merge_and_write(self) -> bool:
        """Under the lock file, merge the added entries into the file's; return whether the file was written."""
        assert self.path is not None
        folder = self.path.parent
        if not folder.is_dir():
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _safe_folders(folder):
            return False
        with _locked(folder / (self.path.name + ".lock")) as held:
            if not held:
                return False
            try:
                document = _read_document(self.path)
            except FileNotFoundError:
                document = {}
            if document is None:
                return False  # not a cache of ours, or not safe to trust, so leave it alone
            merged = self._valid_entries(document) if document else {}
            merged.update(self._added)
            self._write_file(merged)
        return True

    def _write_file(self, entries: dict[str, Any]) -> None:
        assert self.path is not None
        document = {"fingerprint": self._current_fingerprint(), "entries": entries}
        # mkstemp creates the file with O_EXCL and mode 0600; os.replace puts it in place in one step.
        handle, temporary = tempfile.mkstemp(prefix=".sql-cache-", dir=self.path.parent)
        try:
            with os.fdopen(handle, "w") as stream:
                json.dump(document, stream)
            os.replace(temporary, self.path)
        except OSError:
            Path(temporary).unlink(missing_ok=True)
            raise


def _read_document(path: Path) -> dict[str, Any] | None:
    """Return the cache document at `path`, or None when it is not a cache of ours this user may trust.

    Raises FileNotFoundError when there is no file (or folder), and other OSErrors it meets.
    """
    if not _safe_folders(path.parent):
        return None
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        descriptor = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError:
        return None  # a symlink (O_NOFOLLOW), or a file this user cannot read
    with os.fdopen(descriptor, "rb") as stream:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode) or not _owned_and_private(status):
            return None
        text = stream.read()
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(document, dict) or set(document) != DOCUMENT_KEYS:
        return None
    if not isinstance(document["fingerprint"], str) or not isinstance(document["entries"], dict):
        return None
    return document


def _owned_and_private(status: os.stat_result) -> bool:
    """Return whether a file belongs to this user and no other user can write it."""
    if not hasattr(os, "getuid"):
        return True  # no POSIX owners (Windows): the user's profile folder protects the cache
    return status.st_uid == os.getuid() and not status.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _safe_folders(folder: Path) -> bool:
    """Return whether no other user can replace the files in `folder`: it and each folder above it (also
    through symlinks) belong to this user or root and are not writable by others, unless sticky (as /tmp is)."""
    if not hasattr(os, "getuid"):
        return True
    user = os.getuid()
    # Both the path as written and the folders a symlink on it leads to.
    written, real = Path(os.path.abspath(folder)), Path(os.path.realpath(folder))
    for each in {written, *written.parents, real, *real.parents}:
        try:
            status = os.stat(each)
        except FileNotFoundError:
            continue  # not made yet: the writer creates it, owner-only
        if not stat.S_ISDIR(status.st_mode) or status.st_uid not in (user, 0):
            return False
        if status.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not status.st_mode & stat.S_ISVTX:
            return False
    return True


@contextmanager
def _locked(path: Path) -> Iterator[bool]:
    """Hold an exclusive advisory lock on the lock file `path`; yield False when it stays taken too long."""
    try:
        import fcntl
    except ImportError:  # no flock (Windows): write without the lock, as before
        yield True
        return
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        descriptor = os.open(path, flags, 0o600)
    except OSError:
        yield False
        return
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            yield False
            return
        deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    yield False
                    return
                time.sleep(0.01)
        yield True
    finally:
        os.close(descriptor)  # closing releases the lock


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
