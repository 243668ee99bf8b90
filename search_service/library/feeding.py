"""How the library feeds search indexes: which indexes it feeds, what each has yet to receive,
and which file each ingested document came from.

The library is written first and the index second, so a run that dies between the two (a
crash, a full disk, a killed process) leaves the library ahead of the index. Every change to
a document marks it pending for every index the library feeds, in the change's own
transaction (SQLite triggers, see step 3 of :mod:`search_service.library.migrations`), and a
mark is cleared only once an index commit holding that state has landed. The next write to
the index (``ingest``, a console edit through :class:`~search_service.library.intake.Intake`,
or ``reindex``) sends what is still marked. A mark made while a writer was working gets a
higher ``seq`` than the one the writer read, so it survives that writer's clean-up.

An index is fed once registered: by ``ingest``, ``reindex``, ``library import-index`` or a
console edit. Each index has marks of its own, so a second index built from the same library
(a copy for testing) never receives changes made for the first one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from search_service.library.database import now

_CHUNK = 500                    # SQLite's default limit is 999 variables per statement
FORGET_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class Source:
    """The file a document was ingested from: where it was, ingestion's key of its bytes and
    defaults (the index's ``file_hash``), and the visibility ingestion chose for it."""
    path: str
    file_key: str
    visibility: str


def index_key(index_dir) -> str:
    """The name an index is registered under: its absolute path, links resolved."""
    return str(Path(index_dir).resolve())


def register(library, index_dir) -> str:
    """Mark changes for the index in ``index_dir`` from now on; returns its key. An index
    whose folder has been gone for a day (moved, deleted) is forgotten, so its marks do not
    pile up; a day, because a rebuild registers a folder before it exists."""
    key = index_key(index_dir)
    at = now()
    cutoff = (datetime.fromisoformat(at) - FORGET_AFTER).isoformat(timespec="microseconds")
    with library.db.write() as conn:
        stale = [row[0] for row in conn.execute(
            "SELECT path FROM indexes WHERE path != ? AND registered < ?", (key, cutoff))]
        conn.executemany("DELETE FROM indexes WHERE path = ?",
                         [(p,) for p in stale if not os.path.isdir(p)])
        conn.execute("INSERT INTO indexes (path, registered) VALUES (?, ?) ON CONFLICT (path) "
                     "DO UPDATE SET registered = excluded.registered", (key, at))
    return key


def pending(library, key: str, limit: int | None = None,
            first: list[str] = ()) -> list[tuple[int, str]]:
    """``(seq, document id)`` marks of one index, oldest first (the ids in ``first`` before
    the others); at most ``limit`` of the others."""
    conn = library.db.connection()
    with library.db.read():
        marks = _marks_of(conn, key, first)
        rest = conn.execute("SELECT seq, document_id FROM index_pending WHERE index_path = ? "
                            "ORDER BY seq LIMIT ?", (key, -1 if limit is None else limit))
        taken = {doc_id for _, doc_id in marks}
        marks += [(seq, doc_id) for seq, doc_id in rest if doc_id not in taken]
    return marks


def mark_of(conn, key: str, doc_id: str) -> int | None:
    """The seq of a document's mark for one index (None: not pending); read it in the
    transaction that read the document, so the two belong together."""
    row = conn.execute("SELECT seq FROM index_pending WHERE index_path = ? AND document_id = ?",
                       (key, doc_id)).fetchone()
    return row[0] if row else None


def clear(library, seqs) -> None:
    """Drop these marks: an index commit holding their state has landed. Marks made since,
    with a higher seq, stay."""
    seqs = sorted(set(seqs))
    if not seqs:
        return
    with library.db.write() as conn:
        for start in range(0, len(seqs), _CHUNK):
            chunk = seqs[start:start + _CHUNK]
            conn.execute(f"DELETE FROM index_pending WHERE seq IN ({','.join('?' * len(chunk))})",
                         chunk)


def latest_mark(library) -> int:
    """The highest seq given so far (0 for none): marks up to it were made before now."""
    row = library.db.connection().execute(
        "SELECT seq FROM sqlite_sequence WHERE name = 'index_pending'").fetchone()
    return row[0] if row else 0


def clear_up_to(library, key: str, seq: int) -> None:
    """Drop one index's marks made up to ``seq`` (a rebuild read the library after them)."""
    with library.db.write() as conn:
        conn.execute("DELETE FROM index_pending WHERE index_path = ? AND seq <= ?", (key, seq))


def sources(library) -> dict[str, Source]:
    """Where every ingested document came from, by id (read in one go: cheap for 40k)."""
    rows = library.db.connection().execute(
        "SELECT document_id, path, file_key, visibility FROM sources")
    return {row[0]: Source(row[1], row[2], row[3]) for row in rows}


def source_of(conn, doc_id: str) -> Source | None:
    row = conn.execute("SELECT path, file_key, visibility FROM sources WHERE document_id = ?",
                       (doc_id,)).fetchone()
    return Source(*row) if row else None


def set_source(conn, doc_id: str, source: Source) -> None:
    """Record where a document came from (inside the transaction that wrote it)."""
    conn.execute("INSERT OR REPLACE INTO sources (document_id, path, file_key, visibility) "
                 "VALUES (?, ?, ?, ?)", (doc_id, source.path, source.file_key, source.visibility))


def ids_from(library, roots: list[str]) -> dict[str, str]:
    """``{id: path}`` of documents ingested from a file below one of ``roots`` (each ending
    with the path separator)."""
    found = {}
    for doc_id, path in library.db.connection().execute(
            "SELECT document_id, path FROM sources"):
        if any(path.startswith(root) for root in roots):
            found[doc_id] = path
    return found


def _marks_of(conn, key: str, ids) -> list[tuple[int, str]]:
    marks = []
    for doc_id in ids:
        seq = mark_of(conn, key, doc_id)
        if seq is not None:
            marks.append((seq, doc_id))
    return marks
