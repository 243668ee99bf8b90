"""The ward's document library: one folder holding ``library.sqlite3`` and ``originals/``.

The library is the source of truth; the Whoosh index is rebuilt from it
(:mod:`search_service.library.reindex`). Every change is one SQLite transaction together with
its audit entry. Several processes may use one library at once (see
:mod:`search_service.library.database`); original files are placed and removed only while
the database's write lock is held, so a file is never removed under a document that uses it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from search_service.library import audit, checks, rows
from search_service.library.accounts import PASSWORD_METHOD, Tokens, Users
from search_service.library.database import Database, connect, now
from search_service.library.errors import InvalidValue, LibraryError
from search_service.library.metadata import FIELDS, clean_value, with_corrections
from search_service.library.migrations import migrate
from search_service.library.model import (COLUMNS, TEXT_SOURCES, VISIBILITIES, Document,
                                          DocumentPage, Original, audit_view, from_row,
                                          guess_view)
from search_service.library.originals import Originals

DATABASE = "library.sqlite3"
MAX_PAGE = 500
STALE_STAGED_SECONDS = 3600


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

    def librarian(self, index_dir, reader):
        """What an ingest run (``search_service.ingest.pipeline``) shelves its files through:
        the library is above ingestion, so the run asks it rather than importing it."""
        from search_service.library.librarian import Librarian

        return Librarian(self, index_dir, reader)

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
        title, body, guesses = checks.extracted(record)
        doc_id = checks.check_id(doc_id if doc_id is not None else checks.record_id(record))
        visibility = checks.visibility(visibility or record.get("visibility") or "public")
        text_source = checks.check_choice("text_source", text_source, TEXT_SOURCES)
        original = checks.original(data, name, media_type)
        actor = audit.check_actor(actor)
        staged = self.originals.stage(data)
        try:
            with self.db.write() as conn:
                existing = rows.duplicate(conn, doc_id, original.sha256)
                if existing is not None:
                    return existing, False
                at = now()
                doc = Document(id=doc_id or rows.auto_id(conn, original.sha256), title=title,
                               body=body, guesses=guesses, corrections={},
                               metadata=checks.effective(title, guesses, {}),
                               visibility=visibility,
                               is_published=bool(is_published), text_source=text_source,
                               original=original, created=at, updated=at)
                self._place(conn, staged, original.sha256, lambda: (
                    rows.insert(conn, doc),
                    audit.record(conn, actor, "add", doc.id, audit.diff({}, audit_view(doc)),
                                 at)))
        finally:
            staged.unlink(missing_ok=True)
        return doc, True

    def reguess(self, doc_id: str, *, record: dict, actor: str, data: bytes | None = None,
                name: str | None = None, media_type: str | None = None,
                text_source: str | None = None) -> Document:
        """Replace a document's extracted text and guesses (and its original, when ``data``
        is given): what people corrected stays as they set it, and so do the visibility and
        the published flag. Nothing is written when nothing changed."""
        title, body, guesses = checks.extracted(record)
        actor = audit.check_actor(actor)
        if text_source is not None:
            checks.check_choice("text_source", text_source, TEXT_SOURCES)
        staged = self.originals.stage(data) if data else None
        try:
            with self.db.write() as conn:
                before = rows.get(conn, doc_id)
                original = before.original
                if data is not None:    # a new name without a type: guess it from the name
                    kept_type = None if name else original.media_type
                    original = checks.original(data, name or original.name,
                                               media_type or kept_type)
                after = replace(before, title=title, body=body, guesses=guesses,
                                metadata=checks.effective(title, guesses, before.corrections),
                                text_source=text_source or before.text_source,
                                original=original, updated=now())
                changes = audit.diff(guess_view(before), guess_view(after))
                if not changes:
                    return before
                self._place(conn, staged, original.sha256, lambda: (
                    rows.update(conn, after),
                    audit.record(conn, actor, "reguess", doc_id, changes, after.updated)))
        finally:
            if staged is not None:
                staged.unlink(missing_ok=True)
        if before.original.sha256 != original.sha256:
            self._drop_unused(before.original.sha256)
        return after

    def _place(self, conn, staged: Path | None, sha256: str, write_rows) -> None:
        """Put the staged original in place, then write the rows; rows that cannot be written
        take a file they brought with them away again. Runs inside the write transaction."""
        placed = self.originals.place(staged, sha256) if staged is not None else False
        try:
            write_rows()
        except BaseException:
            if placed:
                self.originals.remove(sha256)
            raise

    # -- reading -----------------------------------------------------------------------------
    def get(self, doc_id: str) -> Document:
        """The document, or :class:`NotFound`."""
        return rows.get(self.db.connection(), doc_id)

    def list_documents(self, *, visibility: str | None = None, is_published: bool | None = None,
                       doc_type: str | None = None, text: str | None = None,
                       limit: int = 50, offset: int = 0) -> DocumentPage:
        """One page of documents, newest first, filtered by what is given.

        ``text`` matches the (corrected) title or number, with or without diacritics, and a
        number in any separator style (``15/NQ-ĐU`` finds ``15-NQ/ĐU``).
        """
        if not 1 <= limit <= MAX_PAGE or offset < 0:
            raise InvalidValue(f"limit must be 1 to {MAX_PAGE}, offset 0 or more")
        where, params = rows.filters(visibility, is_published, doc_type, text)
        with self.db.read() as conn:
            total = conn.execute(f"SELECT count(*) FROM documents {where}", params).fetchone()[0]
            found = conn.execute(f"SELECT {COLUMNS} FROM documents {where} "
                                 "ORDER BY created DESC, id LIMIT ? OFFSET ?",
                                 [*params, limit, offset]).fetchall()
        return DocumentPage(total, limit, offset, [from_row(r) for r in found])

    def iter_documents(self, batch: int = 200) -> Iterator[Document]:
        """Every document in the order they were added, all from one snapshot of the library.

        Reads through a connection of its own, so the caller may change the library while it
        iterates (the changes are not seen) and a long iteration blocks no writer.
        """
        conn = connect(self.db.path)
        try:
            conn.execute("BEGIN")
            cursor = conn.execute(f"SELECT {COLUMNS} FROM documents ORDER BY rowid")
            while chunk := cursor.fetchmany(batch):
                yield from (from_row(row) for row in chunk)
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
        checks.check_choice("visibility", visibility, VISIBILITIES)
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
            before = rows.get(conn, doc_id)
            after = replace(before, updated=at, **change(before))
            after.metadata = checks.effective(after.title, after.guesses, after.corrections)
            old, new = audit_view(before), audit_view(after)
            changes = {f: [old.get(f), new.get(f)] for f in fields}
            if action != "correct" and all(a == b for a, b in changes.values()):
                return before
            rows.update(conn, after)
            audit.record(conn, actor, action, doc_id, changes, at)
        return after

    def delete(self, doc_id: str, *, actor: str) -> None:
        """Remove the document; its original goes too unless another document uses it.
        The audit entry keeps the metadata it had."""
        actor = audit.check_actor(actor)
        with self.db.write() as conn:
            before = rows.get(conn, doc_id)
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
