"""The ward's document library: one folder holding ``library.sqlite3`` and ``originals/``.

The library is the source of truth; the Whoosh index is rebuilt from it
(:mod:`search_service.library.reindex`). Every change is one SQLite transaction together with
its audit entry. Several processes may use one library at once (see
:mod:`search_service.library.database`); original files are placed and removed only while
the database's write lock is held, so a file is never removed under a document that uses it.
"""

from __future__ import annotations

import mimetypes
import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from search_service.library import audit
from search_service.library.accounts import PASSWORD_METHOD, Tokens, Users
from search_service.library.database import Database, connect, now
from search_service.library.errors import Conflict, InvalidValue, LibraryError, NotFound
from search_service.library.metadata import (FIELDS, clean_metadata, clean_text, clean_value,
                                             effective_metadata, find_text, fold_for_find,
                                             number_key, with_corrections)
from search_service.library.migrations import migrate
from search_service.library.model import (COLUMNS, TEXT_SOURCES, VISIBILITIES, Document,
                                          DocumentPage, Original, audit_view, from_row,
                                          guess_view)
from search_service.library.originals import Originals, sha256_of

DATABASE = "library.sqlite3"
MAX_ID_CHARS = 500
MAX_PAGE = 500
AUTO_ID_CHARS = 16              # ids of uploads without one: the start of the content hash
STALE_STAGED_SECONDS = 3600
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_MEDIA_TYPES = {".jsonl": "application/jsonl", ".ndjson": "application/jsonl",
                ".md": "text/markdown", ".gz": "application/gzip"}


class Library:
    """A library folder, opened (and created or upgraded) on construction.

    ``password_method`` is werkzeug's hash method for staff passwords; tests pass a cheaper
    iteration count, never a different algorithm.
    """

    def __init__(self, folder: str | Path, *, password_method: str = PASSWORD_METHOD):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.db = Database(self.folder / DATABASE)
        migrate(self.db.connection())
        self.originals = Originals(self.folder)
        self.users = Users(self.db, password_method)
        self.tokens = Tokens(self.db)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- adding and re-reading ---------------------------------------------------------------
    def add_document(self, data: bytes, *, name: str, record: dict, actor: str,
                     media_type: str | None = None, doc_id: str | None = None,
                     visibility: str | None = None, is_published: bool = True,
                     text_source: str = "text") -> tuple[Document, bool]:
        """Keep a new document and its original file: ``(document, True)``.

        ``record`` is what a parser read from ``data``: ``title``, ``body`` and guessed
        metadata (its own ``id`` and ``visibility`` are used when the arguments are not given).
        Bytes already in the library give ``(existing document, False)``, unless an id is
        given that is new (records of one JSON Lines file share their original). An id in use
        with other bytes is a :class:`Conflict`: re-reading a file is :meth:`reguess`.
        """
        title, body, guesses = _extracted(record)
        doc_id = _check_id(doc_id if doc_id is not None else _record_id(record))
        visibility = _check_choice("visibility", visibility or record.get("visibility")
                                   or "public", VISIBILITIES)
        text_source = _check_choice("text_source", text_source, TEXT_SOURCES)
        original = _original(data, name, media_type)
        actor = audit.check_actor(actor)
        staged = self.originals.stage(data)
        try:
            with self.db.write() as conn:
                existing = _duplicate(conn, doc_id, original.sha256)
                if existing is not None:
                    return existing, False
                at = now()
                doc = Document(id=doc_id or _auto_id(conn, original.sha256), title=title,
                               body=body, guesses=guesses, corrections={},
                               metadata=_effective(title, guesses, {}), visibility=visibility,
                               is_published=bool(is_published), text_source=text_source,
                               original=original, created=at, updated=at)
                self._place(conn, staged, original.sha256, lambda: _insert(conn, doc))
                audit.record(conn, actor, "add", doc.id, audit.diff({}, audit_view(doc)), at)
        finally:
            staged.unlink(missing_ok=True)
        return doc, True

    def reguess(self, doc_id: str, *, record: dict, actor: str, data: bytes | None = None,
                name: str | None = None, media_type: str | None = None,
                text_source: str | None = None) -> Document:
        """Replace a document's extracted text and guesses (and its original, when ``data``
        is given): what people corrected stays as they set it, and so do the visibility and
        the published flag. Nothing is written when nothing changed."""
        title, body, guesses = _extracted(record)
        actor = audit.check_actor(actor)
        if text_source is not None:
            _check_choice("text_source", text_source, TEXT_SOURCES)
        staged = self.originals.stage(data) if data else None
        try:
            with self.db.write() as conn:
                before = _get(conn, doc_id)
                original = before.original
                if data is not None:
                    original = _original(data, name or original.name,
                                         media_type or (None if name else original.media_type))
                after = replace(before, title=title, body=body, guesses=guesses,
                                metadata=_effective(title, guesses, before.corrections),
                                text_source=text_source or before.text_source,
                                original=original, updated=now())
                changes = audit.diff(guess_view(before), guess_view(after))
                if not changes:
                    return before
                self._place(conn, staged, original.sha256, lambda: _update(conn, after))
                audit.record(conn, actor, "reguess", doc_id, changes, after.updated)
        finally:
            if staged is not None:
                staged.unlink(missing_ok=True)
        if before.original.sha256 != original.sha256:
            self._drop_unused(before.original.sha256)
        return after

    def _place(self, conn, staged: Path | None, sha256: str, write_row) -> None:
        """Put the staged original in place, then write the row; a row that cannot be written
        takes a file it brought with it away again. Runs inside the write transaction."""
        placed = self.originals.place(staged, sha256) if staged is not None else False
        try:
            write_row()
        except BaseException:
            if placed:
                self.originals.remove(sha256)
            raise

    # -- reading -----------------------------------------------------------------------------
    def get(self, doc_id: str) -> Document:
        """The document, or :class:`NotFound`."""
        return _get(self.db.connection(), doc_id)

    def list_documents(self, *, visibility: str | None = None, is_published: bool | None = None,
                       doc_type: str | None = None, text: str | None = None,
                       limit: int = 50, offset: int = 0) -> DocumentPage:
        """One page of documents, newest first, filtered by what is given.

        ``text`` matches the (corrected) title or number, with or without diacritics, and a
        number in any separator style (``15/NQ-ĐU`` finds ``15-NQ/ĐU``).
        """
        if not 1 <= limit <= MAX_PAGE or offset < 0:
            raise InvalidValue(f"limit must be 1 to {MAX_PAGE}, offset 0 or more")
        where, params = _filters(visibility, is_published, doc_type, text)
        with self.db.read() as conn:
            total = conn.execute(f"SELECT count(*) FROM documents {where}", params).fetchone()[0]
            rows = conn.execute(f"SELECT {COLUMNS} FROM documents {where} "
                                "ORDER BY created DESC, id LIMIT ? OFFSET ?",
                                [*params, limit, offset]).fetchall()
        return DocumentPage(total, limit, offset, [from_row(r) for r in rows])

    def iter_documents(self, batch: int = 200) -> Iterator[Document]:
        """Every document in the order they were added, all from one snapshot of the library.

        Reads through a connection of its own, so the caller may change the library while it
        iterates (the changes are not seen) and a long iteration blocks no writer.
        """
        conn = connect(self.db.path)
        try:
            conn.execute("BEGIN")
            cursor = conn.execute(f"SELECT {COLUMNS} FROM documents ORDER BY rowid")
            while rows := cursor.fetchmany(batch):
                yield from (from_row(row) for row in rows)
            conn.execute("COMMIT")
        finally:
            conn.close()

    def original_path(self, doc_id: str) -> tuple[Original, Path]:
        """The document's original file: its description and where its bytes are on disk."""
        doc = self.get(doc_id)
        path = self.originals.path(doc.original.sha256)
        if not path.is_file():
            raise LibraryError(f"the original file of {doc_id!r} is missing: {path}")
        return doc.original, path

    def events(self, limit: int = 50, document_id: str | None = None) -> list[dict]:
        """The audit log, newest first: ``{"at", "actor", "action", "document_id", "changes"}``."""
        return audit.events(self.db.connection(), limit, document_id)

    # -- what people decide ------------------------------------------------------------------
    def correct(self, doc_id: str, changes: dict, *, actor: str) -> Document:
        """Set metadata fields by hand; later guesses never overwrite them.

        A value equal to the guess still counts (the person confirmed it); ``None`` or ``""``
        clears a field for good. Use :meth:`uncorrect` to hand a field back to the guesses.
        """
        if not isinstance(changes, dict) or not changes:
            raise InvalidValue("nothing to correct: give at least one field and its value")
        cleaned = {field: clean_value(field, value) for field, value in changes.items()}
        if "title" in cleaned and cleaned["title"] is None:
            raise InvalidValue("title: a document must keep a title")
        actor = audit.check_actor(actor)
        at = now()
        return self._revise(doc_id, actor, "correct", sorted(cleaned), at, lambda doc: {
            "corrections": with_corrections(doc.corrections, cleaned, actor, at)})

    def uncorrect(self, doc_id: str, fields: list[str], *, actor: str) -> Document:
        """Drop people's corrections of ``fields``: the guesses show again."""
        unknown = [f for f in fields if f not in FIELDS]
        if unknown or not fields:
            raise InvalidValue(f"fields to uncorrect must be some of {', '.join(FIELDS)}")
        return self._revise(doc_id, audit.check_actor(actor), "uncorrect", sorted(fields), now(),
                            lambda doc: {"corrections": {k: v for k, v in doc.corrections.items()
                                                         if k not in fields}})

    def set_visibility(self, doc_id: str, visibility: str, *, actor: str) -> Document:
        """``public`` (residents see it) or ``internal`` (staff only)."""
        _check_choice("visibility", visibility, VISIBILITIES)
        return self._revise(doc_id, audit.check_actor(actor), "set_visibility", ["visibility"],
                            now(), lambda doc: {"visibility": visibility})

    def publish(self, doc_id: str, *, actor: str) -> Document:
        return self._revise(doc_id, audit.check_actor(actor), "publish", ["is_published"],
                            now(), lambda doc: {"is_published": True})

    def unpublish(self, doc_id: str, *, actor: str) -> Document:
        """Hide the document from residents but keep it (and its history) in the library."""
        return self._revise(doc_id, audit.check_actor(actor), "unpublish", ["is_published"],
                            now(), lambda doc: {"is_published": False})

    def _revise(self, doc_id: str, actor: str, action: str, fields: list[str], at: str,
                change) -> Document:
        """Read, change and write one document in one transaction, with its audit entry.

        Only ``correct`` is logged when nothing visible changed: confirming a guess is news.
        """
        with self.db.write() as conn:
            before = _get(conn, doc_id)
            after = replace(before, updated=at, **change(before))
            after.metadata = _effective(after.title, after.guesses, after.corrections)
            old, new = audit_view(before), audit_view(after)
            changes = {f: [old.get(f), new.get(f)] for f in fields}
            if action != "correct" and all(a == b for a, b in changes.values()):
                return before
            _update(conn, after)
            audit.record(conn, actor, action, doc_id, changes, at)
        return after

    def delete(self, doc_id: str, *, actor: str) -> None:
        """Remove the document; its original goes too unless another document uses it.
        The audit entry keeps the metadata it had."""
        actor = audit.check_actor(actor)
        with self.db.write() as conn:
            before = _get(conn, doc_id)
            conn.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
            audit.record(conn, actor, "delete", doc_id, audit.diff(audit_view(before), {}))
        self._drop_unused(before.original.sha256)

    # -- originals on disk -------------------------------------------------------------------
    def _drop_unused(self, sha256: str) -> None:
        """Remove an original no document uses, under the write lock (an add placing the same
        bytes waits for it). Its own transaction, after the change that freed the file has
        committed: a failed commit must not cost a file a document still needs."""
        with self.db.write() as conn:
            if not conn.execute("SELECT 1 FROM documents WHERE sha256 = ? LIMIT 1",
                                (sha256,)).fetchone():
                self.originals.remove(sha256)

    def sweep_originals(self) -> list[str]:
        """Remove originals no document uses and staged files of crashed runs; for the rare
        crash between a change and its clean-up. Returns the paths removed."""
        root = self.folder / "originals"
        removed = []
        with self.db.write() as conn:
            used = {r[0] for r in conn.execute("SELECT DISTINCT sha256 FROM documents")}
            for path in sorted(root.glob("??/*.bin")):
                if path.stem not in used:
                    path.unlink(missing_ok=True)
                    removed.append(str(path))
            for path in sorted(root.glob(".incoming-*.tmp")):
                if time.time() - path.stat().st_mtime > STALE_STAGED_SECONDS:
                    path.unlink(missing_ok=True)
                    removed.append(str(path))
        return removed


# -- rows --------------------------------------------------------------------------------------
def _get(conn: sqlite3.Connection, doc_id: str) -> Document:
    row = conn.execute(f"SELECT {COLUMNS} FROM documents WHERE id = ?", (doc_id,)).fetchone()
    if row is None:
        raise NotFound(f"no document {doc_id!r} in the library")
    return from_row(row)


def _duplicate(conn: sqlite3.Connection, doc_id: str | None, sha256: str) -> Document | None:
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


def _auto_id(conn: sqlite3.Connection, sha256: str) -> str:
    """An id for an upload that has none: stable (the content hash), unique (a suffix)."""
    candidate, number = sha256[:AUTO_ID_CHARS], 1
    while conn.execute("SELECT 1 FROM documents WHERE id = ?", (candidate,)).fetchone():
        number += 1
        candidate = f"{sha256[:AUTO_ID_CHARS]}-{number}"
    return candidate


def _values(doc: Document) -> tuple:
    from search_service.library.database import dumps

    o = doc.original
    return (doc.title, doc.body, dumps(doc.guesses), dumps(doc.corrections),
            dumps(doc.metadata), find_text(doc.metadata), doc.visibility, int(doc.is_published),
            doc.text_source, o.name, o.media_type, o.size, o.sha256, doc.created, doc.updated,
            doc.id)


def _insert(conn: sqlite3.Connection, doc: Document) -> None:
    conn.execute("INSERT INTO documents (title, body, guesses, corrections, metadata, find_text, "
                 "visibility, is_published, text_source, original_name, media_type, "
                 "original_size, sha256, created, updated, id) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", _values(doc))


def _update(conn: sqlite3.Connection, doc: Document) -> None:
    conn.execute("UPDATE documents SET title = ?, body = ?, guesses = ?, corrections = ?, "
                 "metadata = ?, find_text = ?, visibility = ?, is_published = ?, "
                 "text_source = ?, original_name = ?, media_type = ?, original_size = ?, "
                 "sha256 = ?, created = ?, updated = ? WHERE id = ?", _values(doc))


def _filters(visibility, is_published, doc_type, text) -> tuple[str, list]:
    """The WHERE clause of a document list and its parameters."""
    clauses, params = [], []
    if visibility is not None:
        clauses.append("visibility = ?")
        params.append(_check_choice("visibility", visibility, VISIBILITIES))
    if is_published is not None:
        clauses.append("is_published = ?")
        params.append(int(bool(is_published)))
    if doc_type:
        clauses.append("json_extract(metadata, '$.doc_type') = ?")
        params.append(clean_text(doc_type, "doc_type"))
    if text and text.strip():
        needles = {fold_for_find(clean_text(text, "text")), number_key(text)} - {""}
        clauses.append("(" + " OR ".join(["find_text LIKE ? ESCAPE '\\'"] * len(needles)) + ")")
        params.extend(f"%{_escape_like(n)}%" for n in sorted(needles))
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# -- checking input ------------------------------------------------------------------------------
def _effective(title: str, guesses: dict, corrections: dict) -> dict:
    """The shown metadata: the extracted title counts as one more guess."""
    return effective_metadata({"title": title, **guesses}, corrections)


def _extracted(record) -> tuple[str, str, dict]:
    """A parser's record as ``(title, body, guesses)``, cleaned; the title defaults to the
    body's first line, cut as the index does it."""
    if not isinstance(record, dict):
        raise InvalidValue("record: expected the fields a parser read (a dict)")
    body = clean_text(record.get("body") or "", "body")
    title = clean_value("title", record.get("title"))
    title = title or clean_text(body[:120].split("\n")[0], "title")
    if not title:
        raise InvalidValue("the document has neither a title nor a body")
    guesses = clean_metadata({k: record[k] for k in FIELDS if k != "title" and k in record})
    return title, body, guesses


def _original(data, name, media_type) -> Original:
    if not isinstance(data, bytes) or not data:
        raise InvalidValue("the original file is empty")
    if not isinstance(name, str) or not name.strip() or _CONTROL_RE.search(name) \
            or len(name) > 1000:
        raise InvalidValue(f"the original file's name is not usable: {name!r}")
    if not media_type:
        suffix = Path(name).suffix.lower()
        media_type = _MEDIA_TYPES.get(suffix) or mimetypes.guess_type(name)[0] \
            or "application/octet-stream"
    return Original(name=name.strip(), media_type=media_type, size=len(data),
                    sha256=sha256_of(data))


def _record_id(record) -> str | None:
    """A record's own id; JSON Lines may give it as a number (``"id": 15``)."""
    value = record.get("id") if isinstance(record, dict) else None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value if value != "" else None


def _check_id(doc_id) -> str | None:
    if doc_id is None:
        return None
    if not isinstance(doc_id, str) or not doc_id or len(doc_id) > MAX_ID_CHARS \
            or _CONTROL_RE.search(doc_id):
        raise InvalidValue(f"not a usable document id: {doc_id!r} (1 to {MAX_ID_CHARS} "
                           "characters, no control characters)")
    return doc_id


def _check_choice(name: str, value, choices: tuple) -> str:
    if value not in choices:
        raise InvalidValue(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value
