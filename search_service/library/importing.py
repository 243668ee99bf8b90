"""Upgrading: copy the documents of an index made before the library into the library.

Releases before the library kept documents only in the search index, which stores each
document's text and metadata. :func:`import_index` copies every live document of such an
index into the library, so ``reindex`` (which rebuilds the index from the library alone)
loses nothing. The original files were never kept, so each imported document's "original" is
the record the index held, as JSON (media type :data:`INDEX_RECORD_TYPE`), and its
``text_source`` is ``index``: the console can say that no original file exists. Ingesting
the real file later replaces that record with the file and keeps any correction made since.

Documents already in the library are left as they are, and so are documents the library once
held and deleted (its audit log names them): the index still holding one means only that the
deletion has not reached it yet. The import registers the index with
the library, and the documents it copies are not marked pending for it: the index holds them
already. It records the file each came from and the index's key of it, so ``ingest --sync``
still finds the documents of deleted files and a rebuilt index keeps those keys. The next
``ingest`` of a folder reads such files once more, to keep the originals the index never had
(see :class:`search_service.library.librarian.Librarian`); the index is rewritten only where
the text differs.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from search_service.library import audit, checks, feeding, rows
from search_service.library.database import now
from search_service.library.errors import InvalidValue, LibraryError
from search_service.library.metadata import FIELDS
from search_service.library.model import Document, audit_view

logger = logging.getLogger(__name__)

INDEX_RECORD_TYPE = "application/vnd.tra-cuu.index-record+json"
BATCH = 200                     # documents per transaction


@dataclass
class Imported:
    """What an import did: documents copied, and those the library holds or held already."""
    added: int = 0
    kept: int = 0


def import_index(library, index_dir, *, actor: str) -> Imported:
    """Copy every document of the index in ``index_dir`` that the library lacks."""
    from search_service.index.schema import open_index

    try:
        ix = open_index(index_dir, create=False)
    except FileNotFoundError:
        raise LibraryError(f"no index in {index_dir} to import") from None
    with ix.reader() as reader:
        return import_from_reader(library, reader, index_dir, actor=actor)


def import_from_reader(library, reader, index_dir, *, actor: str) -> Imported:
    """:func:`import_index` from an open Whoosh reader (``ingest`` holds one already). Cheap
    when there is nothing to import: the index's ids are read from a column."""
    actor = audit.check_actor(actor)
    key = feeding.register(library, index_dir)
    missing = never_kept(library, reader)
    result = Imported(kept=reader.doc_count() - len(missing))
    if not missing:
        return result
    keys = reader.column_reader("file_hash")
    batch = []
    for docnum in missing:
        batch.append((reader.stored_fields(docnum), keys[docnum]))
        if len(batch) >= BATCH:
            _import_batch(library, batch, key, actor, result)
            batch = []
    if batch:
        _import_batch(library, batch, key, actor, result)
    logger.info("import-index: %d documents copied from %s, %d already in the library",
                result.added, index_dir, result.kept)
    return result


def never_kept(library, reader) -> list[int]:
    """The document numbers of the index's documents the library has never held: neither
    holds now nor deleted (an index made before the library, or beside it)."""
    if not reader.doc_count():
        return []
    ids = reader.column_reader("id")
    conn = library.db.connection()
    held = {row[0] for row in conn.execute("SELECT id FROM documents")}
    missing = {ids[n]: n for n in reader.all_doc_ids() if ids[n] not in held}
    if not missing:
        return []
    once = set()
    names = sorted(missing)
    for start in range(0, len(names), BATCH):
        chunk = names[start:start + BATCH]
        once.update(row[0] for row in conn.execute(
            "SELECT DISTINCT document_id FROM audit WHERE document_id IN "
            f"({','.join('?' * len(chunk))})", chunk))
    return sorted(n for doc_id, n in missing.items() if doc_id not in once)


def record_bytes(stored: dict) -> bytes:
    """The index's record of a document as kept in the library: JSON, dates as ISO text."""
    return json.dumps(stored, ensure_ascii=False, sort_keys=True, indent=1,
                      default=lambda v: v.isoformat()).encode("utf-8")


def _import_batch(library, batch, key: str, actor: str, result: Imported) -> None:
    prepared = [_prepared(stored, file_key) for stored, file_key in batch]
    staged = {doc.original.sha256: library.originals.stage(data)
              for doc, data, _ in prepared}
    placed = []
    try:
        with library.db.write() as conn:
            for doc, _, source in prepared:
                if conn.execute("SELECT 1 FROM documents WHERE id = ?", (doc.id,)).fetchone():
                    result.kept += 1
                    continue
                sha = doc.original.sha256
                if library.originals.place(staged.pop(sha), sha):
                    placed.append(sha)
                rows.insert(conn, doc)
                audit.record(conn, actor, "import", doc.id, audit.diff({}, audit_view(doc)),
                             doc.created)
                if source is not None:
                    feeding.set_source(conn, doc.id, source)
                conn.execute("DELETE FROM index_pending WHERE index_path = ? AND "
                             "document_id = ?", (key, doc.id))
                result.added += 1
    except BaseException:
        for sha in placed:              # rolled back: no document uses them
            library.originals.remove(sha)
        raise
    finally:
        for path in staged.values():
            path.unlink(missing_ok=True)


def _prepared(stored: dict, file_key: str):
    """``(document, original bytes, source)`` of one stored record of the index."""
    doc_id = stored.get("id")
    try:
        checks.check_id(doc_id)
        if not doc_id:
            raise InvalidValue("a document without an id")
        record = {k: v for k, v in stored.items() if k in FIELDS or k == "body"}
        if record.get("published") is not None:
            record["published"] = record["published"].isoformat()
        title, body, guesses = checks.extracted(record)
        visibility = checks.visibility(stored.get("visibility") or "public")
    except InvalidValue as exc:
        raise InvalidValue(f"the index's document {doc_id!r} cannot be imported: {exc}") \
            from None
    data = record_bytes(stored)
    path = stored.get("path") or ""
    name = f"{Path(path).name or doc_id}.index-record.json"
    at = now()
    doc = Document(id=doc_id, title=title, body=body, guesses=guesses, corrections={},
                   metadata=checks.effective(title, guesses, {}), visibility=visibility,
                   is_published=True, text_source="index",
                   original=checks.original(data, name[-200:], INDEX_RECORD_TYPE),
                   created=at, updated=at)
    source = feeding.Source(path, file_key, visibility) if path and file_key else None
    return doc, data, source
