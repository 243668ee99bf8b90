"""SQLite connections for the library: one per thread and process, transactions made explicit.

Several processes use one library at once (the web server, an ingestion run, a backup), so:
WAL journal (readers never block the writer), a busy timeout (a writer waits its turn rather
than failing), and every change inside ``BEGIN IMMEDIATE`` (the write lock is taken before the
first read of a read-modify-write, so two writers cannot both read the old value).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

BUSY_TIMEOUT_MS = 30_000


def connect(path: str | Path) -> sqlite3.Connection:
    """A connection with the library's settings; transactions are begun explicitly."""
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                           check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    # The library is the only copy of people's corrections: fsync every commit.
    conn.execute("PRAGMA synchronous = FULL")
    if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        conn.execute("PRAGMA journal_mode = WAL")
    return conn


class Database:
    """Hands each thread its own connection to one database file (sqlite3 connections must
    not be shared between threads in use, and not at all across a fork)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: list[tuple[int, sqlite3.Connection]] = []

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use (and again in a forked child)."""
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():
            conn = connect(self.path)
            self._local.conn, self._local.pid = conn, os.getpid()
            with self._lock:
                self._open.append((os.getpid(), conn))
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; nested uses join the outer one."""
        conn = self.connection()
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: several queries see one state of the library."""
        conn = self.connection()
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def close(self) -> None:
        """Close every connection this object opened (in this process)."""
        with self._lock:
            conns, self._open = self._open, []
        for pid, conn in conns:
            if pid != os.getpid():      # a forked child leaves its parent's connections alone
                continue
            try:
                conn.close()
            except sqlite3.ProgrammingError:     # closed from its own thread already
                pass
        self._local = threading.local()


def now() -> str:
    """The current time as stored: UTC, ISO 8601, microseconds (audit entries sort by id)."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def dumps(value) -> str:
    """JSON as stored: compact, Vietnamese kept readable, keys sorted for stable comparisons."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
