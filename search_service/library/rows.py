"""SQL of the documents table: reading, writing and filtering rows (no rules here; those are
in :mod:`search_service.library.store` and :mod:`search_service.library.metadata`)."""

from __future__ import annotations

import sqlite3

from search_service.library import checks
from search_service.library.database import dumps
from search_service.library.errors import Conflict, NotFound
from search_service.library.metadata import clean_text, find_text, fold_for_find, number_key
from search_service.library.model import COLUMNS, VISIBILITIES, Document, from_row

AUTO_ID_CHARS = 16              # ids of uploads without one: the start of the content hash


def get(conn: sqlite3.Connection, doc_id: str) -> Document:
    row = conn.execute(f"SELECT {COLUMNS} FROM documents WHERE id = ?", (doc_id,)).fetchone()
    if row is None:
        raise NotFound(f"no document {doc_id!r} in the library")
    return from_row(row)


def find(conn: sqlite3.Connection, doc_id: str) -> Document | None:
    """The document, or None when the library does not hold it (deleted meanwhile)."""
    try:
        return get(conn, doc_id)
    except NotFound:
        return None


def duplicate(conn: sqlite3.Connection, doc_id: str | None, sha256: str) -> Document | None:
    """The document these bytes (or this id with these bytes) already are, if any."""
    if doc_id is None:
        row = conn.execute(f"SELECT {COLUMNS} FROM documents WHERE sha256 = ? "
                           "ORDER BY rowid LIMIT 1", (sha256,)).fetchone()
        return from_row(row) if row else None
    row = conn.execute(f"SELECT {COLUMNS} FROM documents WHERE id = ?", (doc_id,)).fetchone()
    if row is None:
        return None
    if row["sha256"] == sha256:
        return from_row(row)
    raise Conflict(f"the id {doc_id!r} is in use by a document read from another file "
                   f"({row['original_name']}); re-read it with reguess to replace its file")


def auto_id(conn: sqlite3.Connection, sha256: str) -> str:
    """An id for an upload that has none: stable (the content hash), unique (a suffix)."""
    candidate, number = sha256[:AUTO_ID_CHARS], 1
    while conn.execute("SELECT 1 FROM documents WHERE id = ?", (candidate,)).fetchone():
        number += 1
        candidate = f"{sha256[:AUTO_ID_CHARS]}-{number}"
    return candidate


def _values(doc: Document) -> tuple:
    o = doc.original
    return (doc.title, doc.body, dumps(doc.guesses), dumps(doc.corrections),
            dumps(doc.metadata), find_text(doc.metadata), doc.visibility, int(doc.is_published),
            doc.text_source, o.name, o.media_type, o.size, o.sha256, doc.created, doc.updated,
            doc.id)


def insert(conn: sqlite3.Connection, doc: Document) -> None:
    conn.execute("INSERT INTO documents (title, body, guesses, corrections, metadata, find_text, "
                 "visibility, is_published, text_source, original_name, media_type, "
                 "original_size, sha256, created, updated, id) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", _values(doc))


def update(conn: sqlite3.Connection, doc: Document) -> None:
    conn.execute("UPDATE documents SET title = ?, body = ?, guesses = ?, corrections = ?, "
                 "metadata = ?, find_text = ?, visibility = ?, is_published = ?, "
                 "text_source = ?, original_name = ?, media_type = ?, original_size = ?, "
                 "sha256 = ?, created = ?, updated = ? WHERE id = ?", _values(doc))


def filters(visibility, is_published, doc_type, text) -> tuple[str, list]:
    """The WHERE clause of a document list and its parameters."""
    clauses, params = [], []
    if visibility is not None:
        clauses.append("visibility = ?")
        params.append(checks.check_choice("visibility", visibility, VISIBILITIES))
    if is_published is not None:
        clauses.append("is_published = ?")
        params.append(int(bool(is_published)))
    if doc_type:
        clauses.append("json_extract(metadata, '$.doc_type') = ?")
        params.append(clean_text(doc_type, "doc_type"))
    text = clean_text(text, "text") if text is not None else ""
    if text:
        needles = {fold_for_find(text), number_key(text)} - {""}
        clauses.append("(" + " OR ".join(["find_text LIKE ? ESCAPE '\\'"] * len(needles)) + ")")
        params.extend(f"%{_escape_like(n)}%" for n in sorted(needles))
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
