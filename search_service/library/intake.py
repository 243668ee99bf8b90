"""One document at a time, for the staff console and the write API: upload, correct,
publish, unpublish, delete, each kept in the library and then sent to the search index.

Every write follows one order: wait for the index's write lock (at most ``busy_seconds``,
else :class:`IndexBusy`, and nothing was changed), write the library (the source of truth),
then commit the index. If that commit fails, the change stays in the library, marked pending
for the index (:mod:`search_service.library.feeding`): the next write here, the next
``ingest`` or ``reindex`` sends it, and :class:`IndexNotUpdated` says so. Each write also sends
up to ``catch_up`` other pending documents along, so such a gap closes by itself. The first
write of an :class:`Intake` copies into the library the documents of an index made before the
library (:mod:`search_service.library.importing`): an upload into an empty library must not
make a later ``reindex`` drop them.

After a write, the caller (the web app) calls ``engine.refresh()`` so that its next search
sees the new index generation; a server's other processes notice it within a fraction of a
second by themselves. Unpublished documents are indexed as internal: residents never see
them, staff still find them (:func:`search_service.library.reindex.index_record`).

A JSON Lines file is refused by :meth:`Intake.add`: an upload is one document, while such a
file is an export of many, each with its own id and visibility; ``ingest`` reads those.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path, PurePosixPath, PureWindowsPath

from search_service.documents import DocumentError
from search_service.ingest import IngestError
from search_service.library import checks, feeding, rows, shelving
from search_service.library.audit import check_actor
from search_service.library.errors import InvalidValue, LibraryError
from search_service.library.importing import INDEX_RECORD_TYPE, import_from_reader
from search_service.library.metadata import clean_value
from search_service.library.model import Document

logger = logging.getLogger(__name__)

# Metadata a person may set by hand; views, source and url come from the ward website.
EDITABLE = ("title", "doc_number", "doc_type", "issuer", "signer", "published", "category")
BUSY_SECONDS = 10.0
CATCH_UP = 100
EXCERPT_CHARS = 3000


class IndexBusy(LibraryError):
    """Another run (an ``ingest``, a ``reindex``) is writing the index: nothing was changed."""
    status = 503
    code = "index_busy"


class IndexNotUpdated(LibraryError):
    """The library was changed but the index could not be written; the change is sent with
    the next write, ``ingest`` or ``reindex``."""
    status = 500
    code = "index_not_updated"


class Intake:
    """The library and one index, written together; see the module for the order and
    failures. ``max_file_mb`` and ``max_seconds`` (default: ``SEARCH_MAX_SECONDS_PER_FILE``)
    bound one upload as they bound one file of ``ingest``."""

    def __init__(self, library, index_dir, *, max_file_mb: float,
                 max_seconds: float | None = None, busy_seconds: float = BUSY_SECONDS,
                 catch_up: int = CATCH_UP):
        self.library = library
        self.index_dir = Path(index_dir)
        self.max_file_mb, self.max_seconds = max_file_mb, max_seconds
        self.busy_seconds, self.catch_up = busy_seconds, catch_up
        self._imported = False

    # -- writing -------------------------------------------------------------------------------
    def add(self, name: str, data: bytes, *, fields: dict | None = None,
            visibility: str | None = None, published: bool = True,
            actor: str, on_progress=None) -> tuple[Document, bool]:
        """Keep and index one uploaded file: ``(document, True)``.

        The file is parsed as ``ingest`` parses it (any format but JSON Lines, within the size
        and time budget); its original, text and guessed metadata are kept, then ``fields``
        (metadata given by a person or a program) are applied as corrections, all in one
        transaction. Bytes the library holds already give ``(that document, False)`` and
        change nothing. An unreadable file raises :class:`IngestError` with the reason; bad
        ``fields`` or ``visibility`` raise :class:`InvalidValue`; both before anything is kept.
        ``on_progress(name, page, pages, seconds)`` hears of each page of a scan read by OCR
        (page 0 before the first); see :mod:`search_service.ingest.parserprocess`.
        """
        actor = check_actor(actor)
        cleaned = editable(fields or {}, allow_empty=True)
        visibility = checks.visibility("public" if visibility is None else visibility)
        name = upload_name(name)
        existing = self._same_bytes(data)
        if existing is not None:
            return existing, False
        record = self._read(name, data, on_progress)
        with self._writing() as index:
            with self.library.db.write():           # the document and its fields together
                doc, created = self.library.add_document(
                    data, name=name, record=record, actor=actor, visibility=visibility,
                    is_published=bool(published), text_source=shelving.parsed_source(record))
                if created and cleaned:
                    doc = self.library.correct(doc.id, cleaned, actor=actor)
            index.send(doc.id)
        return doc, created

    def correct(self, doc_id: str, changes: dict, *, actor: str) -> Document:
        """Set metadata by hand (fields of :data:`EDITABLE`; ``None`` or ``""`` clears one);
        a later guess never overwrites it."""
        cleaned = editable(changes)
        return self._change(doc_id, lambda: self.library.correct(doc_id, cleaned, actor=actor))

    def set_visibility(self, doc_id: str, visibility: str, *, actor: str) -> Document:
        """``public`` or ``internal``; a later ``ingest`` keeps a person's choice."""
        visibility = checks.visibility(visibility)
        return self._change(doc_id, lambda: self.library.set_visibility(
            doc_id, visibility, actor=actor))

    def publish(self, doc_id: str, *, actor: str) -> Document:
        return self._change(doc_id, lambda: self.library.publish(doc_id, actor=actor))

    def unpublish(self, doc_id: str, *, actor: str) -> Document:
        """Hide from residents (indexed as internal); kept, with its history."""
        return self._change(doc_id, lambda: self.library.unpublish(doc_id, actor=actor))

    def delete(self, doc_id: str, *, actor: str) -> None:
        """Remove from the library and the index. A document ingested from a folder comes
        back with the next ``ingest`` of that folder unless its file is removed too."""
        self._change(doc_id, lambda: self.library.delete(doc_id, actor=actor))

    def correct_relation(self, source_id: str, number: str, rel_type: str | None, *,
                         actor: str) -> dict:
        """What ``source_id`` does to the document numbered ``number``, set by a person: a
        relation type, or None for "not a relation" (a wrong reading removed). The documents
        whose validity this changes are sent to the index with their new status."""
        return self._relate(source_id, lambda rels: rels.correct_relation(
            source_id, number, rel_type, actor=actor))

    def uncorrect_relation(self, source_id: str, number: str, *, actor: str) -> None:
        """Hand a relation back to what the text says; validity re-sent as above."""
        self._relate(source_id, lambda rels: rels.uncorrect_relation(
            source_id, number, actor=actor))

    def correct_validity(self, doc_id: str, *, actor: str, status: str,
                         since: str | None = None) -> None:
        """Set a document's validity by hand (a correction wins over what relations say);
        the document is sent to the index with it."""
        self._relate(doc_id, lambda rels: rels.correct_validity(
            doc_id, actor=actor, status=status, since=since))

    def uncorrect_validity(self, doc_id: str, *, actor: str) -> None:
        """Hand the validity back to what the relations and dates say."""
        self._relate(doc_id, lambda rels: rels.uncorrect_validity(doc_id, actor=actor))

    def refresh_validity(self, today=None) -> list[str]:
        """Send to the index every document whose status on ``today`` is not the one the
        index holds: statuses change with the calendar too (a decision comes into force on
        its effective date, one replaced from a later date stays in force until then), not
        only when a related document is written. Run once a day (see the README)."""
        from search_service.index.reader import column_by_id
        from search_service.index.schema import open_index
        from search_service.library.relations import Relations

        held = column_by_id(open_index(self.index_dir), "validity")
        statuses = Relations(self.library).statuses(today)
        changed = sorted(i for i, status in statuses.items() if i in held and held[i] != status)
        if changed:
            self.resend(changed, today)
        return changed

    def resend(self, doc_ids, today=None) -> None:
        """Send these documents as the library now holds them (with their validity on
        ``today``, default the real one), and what else is pending; for a run that could not
        write them in its own commit."""
        with self._writing() as index:
            index.today = today
            index.send_all(list(doc_ids))

    # -- reading -------------------------------------------------------------------------------
    def preview(self, doc_id: str) -> dict:
        """What the machine read and what people decided, for the console's review page."""
        doc = self.library.get(doc_id)
        conn = self.library.db.connection()
        source = feeding.source_of(conn, doc_id)
        pending = feeding.mark_of(conn, feeding.index_key(self.index_dir), doc_id) is not None
        original = doc.original
        return {
            "id": doc.id,
            "text": doc.body[:EXCERPT_CHARS],
            "text_chars": len(doc.body),
            "text_truncated": len(doc.body) > EXCERPT_CHARS,
            "text_source": doc.text_source,
            "guesses": {"title": doc.title, **doc.guesses},
            "corrections": doc.corrections,
            "metadata": doc.metadata,
            "visibility": doc.visibility,
            "is_published": doc.is_published,
            "indexed_as": doc.visibility if doc.is_published else "internal",
            "index_pending": pending,
            "original": {"name": original.name, "media_type": original.media_type,
                         "size": original.size, "sha256": original.sha256,
                         "kept": self.library.originals.path(original.sha256).is_file(),
                         "from_index": original.media_type == INDEX_RECORD_TYPE},
            "source": None if source is None else {"path": source.path},
            "created": doc.created,
            "updated": doc.updated,
        }

    # -- internals -----------------------------------------------------------------------------
    def _change(self, doc_id: str, write):
        self.library.get(doc_id)            # NotFound now, not after waiting for the index
        with self._writing() as index:
            result = write()
            index.send(doc_id)
        return result

    def _relate(self, source_id: str, write):
        """``write(relations)`` with the sender's own :class:`Relations`, so the documents
        whose status it changed are sent with ``source_id``."""
        self.library.get(source_id)         # NotFound now, not after waiting for the index
        with self._writing() as index:
            result = write(index.relations)
            index.send(source_id)
        return result

    def _same_bytes(self, data) -> Document | None:
        if not isinstance(data, bytes) or not data:
            raise IngestError("empty file")
        sha = checks.original(data, "upload", None).sha256
        return rows.duplicate(self.library.db.connection(), None, sha)

    def _read(self, name: str, data: bytes, on_progress=None) -> dict:
        """The one record of an uploaded file, checked as ``ingest`` checks it."""
        from search_service.ingest import parserprocess
        from search_service.ingest.prepare import prepare_document
        from search_service.ingest.report import failure_reason

        limit = self.max_file_mb * 1024 * 1024
        if len(data) > limit:
            raise IngestError(f"file is {len(data) / 1048576:.3g} MB, over the "
                              f"{self.max_file_mb:g} MB limit")
        try:
            kind, records = parserprocess.shared().parse(
                Path(name), data, seconds=self._seconds(), max_bytes=int(limit),
                on_progress=on_progress)
        except IngestError:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever a parser raised, said in words
            raise IngestError(failure_reason(exc)) from exc
        if kind == "jsonl":
            raise IngestError("a JSON Lines file holds many documents, and an upload is one; "
                              "ingest it with `python -m search_service ingest`")
        if len(records) != 1:
            raise IngestError(f"the file holds {len(records)} documents; upload one at a time")
        record = {k: v for k, v in records[0].items() if k not in ("id", "visibility")}
        try:
            prepare_document({**record, "id": "upload"})
            checks.extracted(record)
        except (DocumentError, InvalidValue) as exc:
            raise IngestError(str(exc)) from None
        return record

    def _seconds(self) -> float:
        if self.max_seconds is not None:
            return float(self.max_seconds)
        from search_service import config

        return float(config.load()["MAX_SECONDS_PER_FILE"])

    @contextmanager
    def _writing(self):
        """The index's write lock (waited for), then a sender committed at the end."""
        from search_service.index.parallelwriter import ParallelSegmentWriter
        from search_service.index.schema import IndexLocked, open_index

        try:
            ix = open_index(self.index_dir)
        except Exception as exc:  # noqa: BLE001 - OSError, or Whoosh's errors on damage
            raise LibraryError(f"cannot open the index in {self.index_dir}: {exc}") from exc
        try:
            writer = ParallelSegmentWriter(ix, workers=0, timeout=self.busy_seconds, delay=0.1)
        except IndexLocked:
            raise IndexBusy(f"the search index is being written by another run (an ingest or "
                            f"a reindex) and stayed locked for {self.busy_seconds:g} s; nothing "
                            "was changed, try again in a minute") from None
        try:
            if not self._imported:      # an index made before the library: copy it in once
                with ix.reader() as reader:
                    import_from_reader(self.library, reader, self.index_dir, actor="intake")
                self._imported = True
            sender = _Sender(self.library, feeding.register(self.library, self.index_dir),
                             writer, self.catch_up)
            yield sender
        except BaseException:
            if not writer.is_closed:
                writer.cancel()
            raise
        sender.commit()


class _Sender:
    """Sends documents from the library to one open index writer; clears their marks once
    the commit has landed.

    Each document goes with its validity (#11), computed from the relations the library
    holds as ``reindex`` computes it. Before sending, the relations catch up with the write
    just made, so the documents whose status it changed (the ones a new decision repeals,
    replaces or amends; those a deleted one no longer did) go in the same commit. A document
    is written at most once per commit: the index writer cannot replace a document it has
    not committed yet."""

    def __init__(self, library, key: str, writer, catch_up: int):
        from search_service.library.relations import Relations

        self.library, self.key, self.writer, self.catch_up = library, key, writer, catch_up
        self.relations = Relations(library)
        self.sent: list[int] = []
        self.written: set[str] = set()
        self.today = None               # the validity sent is the one of this day (None: today)

    def send(self, doc_id: str) -> None:
        """The document's pending change, those whose validity changed, and up to
        ``catch_up`` others."""
        # Read the written document first (cheap: only the numbers it touches are linked),
        # then whatever else is stale (a deletion); both mark the documents whose status moved.
        self.relations.read_now([doc_id])
        self.relations.catch_up()
        first = list(dict.fromkeys([doc_id, *sorted(self.relations.changed)]))
        self._send(feeding.pending(self.library, self.key, self.catch_up, first))

    def send_all(self, doc_ids: list[str]) -> None:
        """These documents whether marked or not, then up to ``catch_up`` others."""
        self.relations.catch_up()
        first = list(dict.fromkeys([*doc_ids, *sorted(self.relations.changed)]))
        marked = feeding.pending(self.library, self.key, self.catch_up, first)
        listed = {i for _, i in marked}
        self._send([(None, i) for i in first if i not in listed] + marked)

    def _send(self, marks: list[tuple[int | None, str]]) -> None:
        from search_service.ingest.prepare import index_fields
        from search_service.library.reindex import prepared

        todo = [doc_id for _, doc_id in marks if doc_id not in self.written]
        statuses = self.relations.statuses_of(todo, self.today)
        for pending_id in todo:
            with self.library.db.read() as conn:
                mark = feeding.mark_of(conn, self.key, pending_id)
                doc = rows.find(conn, pending_id)
                source = feeding.source_of(conn, pending_id)
            if doc is None:
                self.writer.delete_by_term("id", pending_id)
            else:
                fields = prepared(doc, source)
                if pending_id in statuses:
                    fields["validity"] = statuses[pending_id]
                self.writer.update_document(**index_fields(fields))
            self.written.add(pending_id)
            if mark is not None:
                self.sent.append(mark)

    def commit(self) -> None:
        if not self.sent and not self.written:
            self.writer.cancel()
            return
        try:
            self.writer.commit()
        except Exception as exc:  # noqa: BLE001 - a full disk, a damaged index
            if not self.writer.is_closed:
                self.writer.cancel()
            logger.exception("the index could not be written; the change stays pending")
            raise IndexNotUpdated(
                f"the change is kept in the library, but the search index could not be "
                f"written ({type(exc).__name__}: {exc}); searches show it after the next "
                "change, ingest or reindex") from exc
        feeding.clear(self.library, self.sent)


def editable(changes, *, allow_empty: bool = False) -> dict:
    """``changes`` cleaned as the library stores them, or :class:`InvalidValue` naming the
    field: only :data:`EDITABLE` fields, each a valid value (a date that is a date)."""
    if not isinstance(changes, dict) or (not changes and not allow_empty):
        raise InvalidValue("nothing to change: give at least one field and its value")
    cleaned = {}
    for field, value in changes.items():
        if field not in EDITABLE:
            raise InvalidValue(f"{field!r} cannot be set by hand; the fields are "
                               f"{', '.join(EDITABLE)}")
        cleaned[field] = clean_value(field, value)
    if "title" in cleaned and cleaned["title"] is None:
        raise InvalidValue("title: a document must keep a title")
    return cleaned


def upload_name(name) -> str:
    """The file name of an upload without any folder a browser sent (``C:\\x\\qd.pdf``)."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidValue("the uploaded file has no name")
    base = PureWindowsPath(PurePosixPath(name.strip()).name).name
    if not base or base in (".", ".."):
        raise InvalidValue(f"the uploaded file's name is not usable: {name!r}")
    return base
