"""Ingestion through the library: the library keeps each file, the index follows the library.

When ``ingest_paths`` is given a library (the command line always gives one), each file a run
reads goes into the library first (its original, its text and guessed metadata, see
:mod:`search_service.library.shelving`) and the index receives the documents as the library
then holds them: the guesses overlaid with people's corrections, unpublished documents as
internal. So a correction survives re-reading the file, by ``ingest`` or ``ingest --sync``.

Order and failure: the library is written file by file during the run, the index once at the
end. A run that dies in between (killed, a full disk, a failed worker) leaves the library
ahead of the index; those documents stay marked pending for the index
(:mod:`search_service.library.feeding`), and the next run sends them (they are re-read
anyway: the index does not hold their files' keys). Nothing is lost and nothing is sent twice
in a way that matters: writing a document to the index replaces it. A run first removes the
original files a killed run placed without the rows that use them. ``python -m
search_service check`` compares the two (:mod:`search_service.library.agreement`).

Validity (#11): each document goes to the index with its status computed from the relations
the library holds (:mod:`search_service.library.relations`), as ``reindex`` computes it. The
documents of each file are read for relations as they are kept (only the numbers they touch
are linked again, so the cost does not grow with the library), and a document whose status
that changes (one the new file repeals, replaces, amends) is sent along: at the end of the
run with the library's other pending changes, or, when this run has already written it
(both files in one run), in a second commit right after the run's own, since the index
writer cannot replace a document it has not committed yet.

A run on an index made before the library existed first copies the documents the library has
never had into it (:mod:`search_service.library.importing`), so an upgrade loses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from search_service.documents import DocumentError
from search_service.ingest.prepare import index_fields, with_guesses
from search_service.ingest.report import FileReport, summary_of
from search_service.library import feeding, rows, shelving
from search_service.library.checks import check_id
from search_service.library.errors import InvalidValue
from search_service.library.importing import import_from_reader
from search_service.library.metadata import FIELDS, clean_value
from search_service.library.reindex import prepared
from search_service.library.relations import Relations

logger = logging.getLogger(__name__)

ACTOR = "ingest"
CHUNK = 128                 # records of a JSON Lines file kept per library transaction


class Librarian:
    """The library's side of one ingestion run into the index in ``index_dir``."""

    def __init__(self, library, index_dir, reader, *, actor: str = ACTOR):
        self.library, self.actor = library, actor
        # A run killed while it kept a file may leave its original placed without the rows
        # that use it (or, staged, not placed): the library's side of what the index writer
        # cleans after killed runs (see search_service.index.parallelwriter).
        swept = library.sweep_originals()
        if swept:
            logger.info("ingest: removed %d original file(s) of killed runs that no document "
                        "uses", len(swept))
        # Documents of an index made before the library (or beside it) are copied in first.
        self.imported = import_from_reader(library, reader, index_dir, actor=actor)
        self.key = feeding.register(library, index_dir)
        self.sources = feeding.sources(library)
        # Documents copied from an older index have no original yet: read their files once.
        self.unkept = {row[0] for row in library.db.connection().execute(
            "SELECT id FROM documents WHERE text_source = 'index'")}
        self.covered: dict[str, int | None] = {}    # id → its mark this run's index reflects
        self.index_dir, self.reader = index_dir, reader
        self.relations = Relations(library)
        # id → (its ``updated``, its validity) as this run wrote it to the index
        self.written: dict[str, tuple[str, str | None]] = {}
        self.later: set[str] = set()                # to send after the run's commit

    def holds(self, ids: list[str], path: str, file_key: str) -> bool:
        """Whether the library holds these documents as read from this very file: then an
        unchanged file is skipped without being parsed."""
        return all((s := self.sources.get(i)) is not None and s.path == path
                   and s.file_key == file_key and i not in self.unkept for i in ids)

    def shelve(self, rel: str, data: bytes, kind: str, raw_docs: list[dict], docs: list[dict],
               located: dict) -> list[dict] | Iterator[dict]:
        """Keep one parsed file in the library; the documents to index, as it holds them.

        ``docs`` are the records as the pipeline prepared them (ids, visibility decided,
        checked). A JSON Lines file is kept in chunks as the index takes its documents, so
        indexing starts before a large file is through; its records are checked against the
        library's rules first, so a record the library refuses fails the whole file.
        """
        pairs = list(zip(raw_docs, docs))
        if not _encodable(located["path"]):
            return _unstorable(located["path"])
        if kind != "jsonl":
            try:
                return list(self._shelve(rel, data, pairs, located, guess=False))
            except InvalidValue as exc:         # the library's rules, for this file alone
                raise DocumentError(str(exc)) from None
        for raw, doc in pairs:
            _check_record(raw, doc["id"])
        return self._shelve(rel, data, pairs, located, guess=True)

    def _shelve(self, rel, data, pairs, located, *, guess: bool) -> Iterator[dict]:
        source = feeding.Source(located["path"], located["file_hash"], "public")
        for start in range(0, len(pairs), CHUNK):
            entries = [_entry(raw, doc, guess) for raw, doc in pairs[start:start + CHUNK]]
            shelved = shelving.shelve_file(
                self.library, data, name=rel, entries=entries, source_path=source.path,
                file_key=source.file_key, actor=self.actor, index_key=self.key)
            ids = [kept.document.id for kept in shelved]
            self.relations.read_now(ids)        # marks the documents whose status moved
            statuses = self.relations.statuses_of(ids)
            for kept in shelved:
                doc_id = kept.document.id
                # A status change marks the document again: the end of the run checks it.
                self.covered[doc_id] = kept.mark
                self.written[doc_id] = (kept.document.updated, statuses.get(doc_id))
                validity = {"validity": statuses[doc_id]} if doc_id in statuses else {}
                yield {**prepared(kept.document, source), **located, **validity}

    def forget_missing(self, roots: list[str], seen) -> list[dict]:
        """Delete from the library the documents of files below ``roots`` (``--sync``) that
        this run did not see; returns their metadata as the report lists it."""
        ids = [i for i in feeding.ids_from(self.library, roots) if i not in seen]
        gone = shelving.forget(self.library, ids, actor=self.actor)
        # Their marks stay: catch_up deletes them from the index if the run has not.
        return [{**doc.metadata, "id": doc.id, "visibility": doc.visibility} for doc, _ in gone]

    def catch_up(self, run) -> list[FileReport]:
        """Send the index what the library changed and this run did not: a console edit
        whose index write failed, or the documents of a run that died before its commit.
        Reported as one entry, ``(library)``, listing those documents."""
        done = self._send_pending(run.writer, run.known, run.reader)
        if not done:
            return []
        run.changed = True
        return [FileReport(path="(library)", outcome="updated", documents=done)]

    def _send_pending(self, writer, known: dict, reader=None) -> list[dict]:
        self.relations.catch_up()       # deletions (--sync), console edits during the run
        done = []
        for seq, doc_id in feeding.pending(self.library, self.key):
            if doc_id in self.covered and self.covered[doc_id] == seq:
                continue
            with self.library.db.read() as conn:
                doc = rows.find(conn, doc_id)
                source = feeding.source_of(conn, doc_id)
                self.covered[doc_id] = feeding.mark_of(conn, self.key, doc_id)
            entry = known.get(doc_id)
            if entry is not None and entry.docnum is None:
                # Written by this run: the same writer cannot replace it; unless this run
                # wrote exactly this, send it in a commit of its own right after.
                now = None if doc is None else (doc.updated, self._status(doc_id))
                if now is None or self.written.get(doc_id) != now:
                    self.later.add(doc_id)
                    self.covered[doc_id] = None         # its mark stays until then
                continue
            if doc is None:
                if known.pop(doc_id, None) is not None:
                    writer.delete_by_term("id", doc_id)
                    done.append({"id": doc_id, "outcome": "deleted"})
                continue
            fields = self._with_validity(doc_id, prepared(doc, source))
            if entry is None or (entry.content_hash, entry.path, entry.file_hash) != (
                    fields["content_hash"], fields["path"], fields["file_hash"]) or \
                    _stored_validity(reader, entry) != fields.get("validity"):
                writer.update_document(**index_fields(fields))
                self.written[doc_id] = (doc.updated, fields.get("validity"))
                done.append({**summary_of(fields), "outcome": "updated" if entry else "added"})
        if done:
            logger.info("ingest: %d documents changed in the library since the index last "
                        "received them were sent to it", len(done))
        return done

    def _status(self, doc_id: str) -> str | None:
        return self.relations.statuses_of([doc_id]).get(doc_id)

    def _with_validity(self, doc_id: str, fields: dict) -> dict:
        status = self._status(doc_id)
        return {**fields, "validity": status} if status is not None else fields

    def committed(self) -> None:
        """The index now holds what this run sent: clear those marks. Then send, in a commit
        of their own, the documents this run wrote before their status moved."""
        feeding.clear(self.library, [s for s in self.covered.values() if s is not None])
        if not self.later:
            return
        from search_service.library.intake import Intake

        try:
            Intake(self.library, self.index_dir, max_file_mb=0).resend(sorted(self.later))
        except Exception:  # noqa: BLE001 - the run's own commit stands; they stay pending
            logger.exception("ingest: %d documents whose validity changed during the run "
                             "stay pending for the index (sent with its next write)",
                             len(self.later))
        else:
            logger.info("ingest: %d documents whose validity changed during the run were "
                        "sent to the index", len(self.later))


def _stored_validity(reader, entry) -> str | None:
    """The validity the index holds for a document it had before this run."""
    if reader is None or entry.docnum is None:
        return None
    return reader.stored_fields(entry.docnum).get("validity")


def _encodable(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _unstorable(path: str) -> Iterator[dict]:
    """A file name that is not UTF-8 stops the run when its documents are written, as the
    index itself does (``ingest`` then says which file to rename)."""
    path.encode("utf-8")                # raises UnicodeEncodeError naming the path
    yield from ()


def _entry(raw: dict, doc: dict, guess: bool) -> shelving.Entry:
    """What the library keeps of one record: the record as parsed (the text formats' parsers
    guess metadata themselves); a JSON Lines record completed with what its text suggests,
    falling back to the record alone when the library refuses a guess."""
    record = {**raw, "id": doc["id"]}
    if not guess:
        return shelving.Entry(doc["id"], record, doc["visibility"])
    guessed = with_guesses(record)
    if guessed == record:
        return shelving.Entry(doc["id"], record, doc["visibility"])
    return shelving.Entry(doc["id"], guessed, doc["visibility"], fallback=record)


def _check_record(raw: dict, doc_id: str) -> None:
    """A record's id and own metadata within the library's rules (cheap: the body is not
    read), so that a record refused fails its file before any of it is indexed."""
    try:
        check_id(doc_id)
        for field in FIELDS:
            if field in raw:
                clean_value(field, raw[field])
    except InvalidValue as exc:
        raise DocumentError(f"document {doc_id}: {exc}") from None
