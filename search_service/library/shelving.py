"""Ingestion's way into the library: the records of one file, kept in one transaction.

``ingest`` reads thousands of files, and a JSON Lines file holds thousands of records that
share one original, so :meth:`Library.add_document` (a transaction and a copy of the file per
call) would not do. :func:`shelve_file` writes a batch of records read from one file: their
original is copied once, every record is added, or re-read as :meth:`Library.reguess` does.
The one rule holds: what a person corrected keeps its value; the published flag stays as it
was set; the visibility is ingestion's choice (the folder's ``.visibility``, ``--visibility``,
a record's own) until a person changes it, and a person's choice then stays. A text typed by
hand or read by OCR stays as long as the file's bytes do not change. How the parser got the
text is kept: ``text_source`` is ``ocr`` when it says it read the text from a scan, else
``text``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from search_service.library import audit, checks, feeding, rows
from search_service.library.database import now
from search_service.library.errors import InvalidValue, NotFound
from search_service.library.model import Document, Original, audit_view, guess_view

_KEPT_TEXT = ("ocr", "manual")      # texts a file's own text must not replace
_PARSED_SOURCES = ("ocr",)          # what a parser may say of its text (else "text")


@dataclass(frozen=True)
class Entry:
    """One record read from a file: its id, what the parser read (title, body, guessed
    metadata), and the visibility ingestion decided for it. ``fallback``: the record without
    the guesses added to it, used when the library refuses one of them."""
    doc_id: str
    record: dict
    visibility: str
    fallback: dict | None = None


@dataclass(frozen=True)
class Shelved:
    """What became of one record: the document as the library now holds it, ``added``,
    ``updated`` or ``unchanged``, and the seq of its pending mark for the index being fed
    (read in the same transaction as the document, see :mod:`.feeding`)."""
    document: Document
    outcome: str
    mark: int | None


def extracted(entry: Entry) -> tuple[str, str, dict]:
    """The record as the library keeps it, or :class:`InvalidValue` naming the document."""
    checks.check_id(entry.doc_id)
    checks.visibility(entry.visibility)
    try:
        return checks.extracted(entry.record)
    except InvalidValue as exc:
        if entry.fallback is not None:
            return extracted(replace(entry, record=entry.fallback, fallback=None))
        raise InvalidValue(f"document {entry.doc_id}: {exc}") from None


def shelve_file(library, data: bytes, *, name: str, entries: list[Entry], source_path: str,
                file_key: str, actor: str, index_key: str | None = None) -> list[Shelved]:
    """Keep the records of one file and its original (all or nothing); see the module."""
    texts = [extracted(entry) for entry in entries]
    original = checks.original(data, name, None)
    actor = audit.check_actor(actor)
    store = library.originals
    staged = None if store.path(original.sha256).is_file() else store.stage(data)
    freed: set[str] = set()
    try:
        with library.db.write() as conn:
            if staged is None and not store.path(original.sha256).is_file():
                staged = store.stage(data)          # removed since we looked: rare
            at = now()
            shelved = []

            def write_rows():
                for entry, text in zip(entries, texts):
                    doc, outcome, old_sha = _shelve_one(conn, entry, text, original, actor, at)
                    feeding.set_source(conn, entry.doc_id, feeding.Source(
                        source_path, file_key, entry.visibility))
                    mark = feeding.mark_of(conn, index_key, doc.id) if index_key else None
                    shelved.append(Shelved(doc, outcome, mark))
                    if old_sha and old_sha != original.sha256:
                        freed.add(old_sha)

            library._place(conn, staged, original.sha256, write_rows)
    finally:
        if staged is not None:
            staged.unlink(missing_ok=True)
    for sha in sorted(freed):
        library._drop_unused(sha)
    return shelved


def forget(library, doc_ids, *, actor: str, index_key: str | None = None
           ) -> list[tuple[Document, int | None]]:
    """Delete documents whose file is gone (``ingest --sync``), as :meth:`Library.delete`
    does; returns each one deleted with the seq of its pending mark for the index being fed.
    A document deleted meanwhile is skipped."""
    actor = audit.check_actor(actor)
    gone = []
    for doc_id in doc_ids:
        with library.db.write() as conn:
            try:
                before = rows.get(conn, doc_id)
            except NotFound:
                continue
            conn.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
            audit.record(conn, actor, "delete", doc_id, audit.diff(audit_view(before), {}))
            gone.append((before, feeding.mark_of(conn, index_key, doc_id) if index_key
                         else None))
        library._drop_unused(before.original.sha256)
    return gone


def parsed_source(record) -> str:
    """How the parser got a record's text: ``ocr`` when it says so, else ``text``."""
    source = record.get("text_source") if isinstance(record, dict) else None
    return source if source in _PARSED_SOURCES else "text"


def _shelve_one(conn, entry: Entry, text: tuple[str, str, dict], original: Original,
                actor: str, at: str) -> tuple[Document, str, str | None]:
    """Add or re-read one record: ``(document, outcome, sha256 of the original it had)``."""
    title, body, guesses = text
    read_as = parsed_source(entry.record)
    try:
        before = rows.get(conn, entry.doc_id)
    except NotFound:
        doc = Document(id=entry.doc_id, title=title, body=body, guesses=guesses,
                       corrections={}, metadata=checks.effective(title, guesses, {}),
                       visibility=entry.visibility, is_published=True, text_source=read_as,
                       original=original, created=at, updated=at)
        rows.insert(conn, doc)
        audit.record(conn, actor, "add", doc.id, audit.diff({}, audit_view(doc)), at)
        return doc, "added", None
    same_bytes = before.original.sha256 == original.sha256
    if same_bytes and before.text_source in _KEPT_TEXT:
        title, body, guesses, text_source = (before.title, before.body, before.guesses,
                                             before.text_source)
    else:
        text_source = read_as
    source = feeding.source_of(conn, entry.doc_id)
    # A person who changed the visibility made it differ from ingestion's last choice.
    chosen_by_ingest = source is not None and source.visibility == before.visibility
    visibility = entry.visibility if chosen_by_ingest else before.visibility
    after = replace(before, title=title, body=body, guesses=guesses,
                    metadata=checks.effective(title, guesses, before.corrections),
                    visibility=visibility, text_source=text_source,
                    original=before.original if before.original == original else original,
                    updated=at)
    changes = audit.diff(guess_view(before), guess_view(after))
    if not changes and visibility == before.visibility:
        return before, "unchanged", None
    rows.update(conn, after)
    if changes:
        audit.record(conn, actor, "reguess", after.id, changes, at)
    if visibility != before.visibility:
        audit.record(conn, actor, "set_visibility", after.id,
                     {"visibility": [before.visibility, visibility]}, at)
    return after, "updated", before.original.sha256
