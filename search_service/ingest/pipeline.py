"""Files → documents → one all-or-nothing index commit, with a per-file report.

A bad file is reported and skipped; the good ones are still indexed. The commit happens once,
at the end of a run, so a crash mid-run leaves the index exactly as it was.

Re-running over the same files is cheap and safe: a file whose bytes (and default visibility)
did not change is not parsed again, a document whose content did not change is not rewritten,
and document ids are stable (a record's ``id``, else the file's path relative to the folder
given, ``tin/bai-1.txt``; JSON Lines records without an id get ``file.jsonl#<line number>``).

Who may see a document is decided as :mod:`search_service.ingest.visibility` explains; each
record is checked and prepared by :mod:`search_service.ingest.prepare`; the run's outcome is
described by :mod:`search_service.ingest.report`.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from search_service.index.bulkwriter import relaxed_gc
from search_service.documents import VISIBILITIES, DocumentError
from search_service.ingest import parserprocess
from search_service.ingest.prepare import index_fields, prepare_document, with_guesses
from search_service.ingest.report import (FileReport, IngestSummary, expected_failure,
                                          failure_reason, summary_of)
from search_service.ingest.visibility import FolderMarkers
from search_service.ingest.walk import Refused, collect_files, read_file
from search_service.index.parallelwriter import (ParallelSegmentWriter, WorkerFailed,
                                           default_workers)
from search_service.index.schema import IndexLocked, open_index

logger = logging.getLogger(__name__)

# Part of every file's key: bump it when a parser improves, so unchanged files are read again.
PIPELINE_VERSION = "3"   # 3: legacy fonts (TCVN3, VNI), OCR of scans, Word 97 (#10)
# From this much input on, index worker processes start with the run, not at the first batch.
EAGER_WORKERS_BYTES = 1 << 20


class IndexUnavailable(Exception):
    """The index cannot be written: another run holds its lock, or it cannot be opened."""


def ingest_paths(index_dir, paths, *, visibility: str | None = None, sync: bool = False,
                 max_file_mb: float = 50, progress=None, workers: int | None = None,
                 max_seconds_per_file: float | None = None, target=None,
                 library=None, ocr_progress=None) -> IngestSummary:
    """Index the files in ``paths`` (files or folders, recursively) in one commit.

    ``sync``: also remove documents that came from a file below the given folders that is no
    longer there (or a JSON Lines record no longer in its file). ``visibility``: see
    :mod:`search_service.ingest.visibility`. ``progress`` wraps the file list (e.g. ``tqdm``)
    when given. ``workers``: processes that index next to this one (default: one per further
    core; 0 indexes in this process only). A script that calls this with workers must guard
    its entry point, see :mod:`search_service.index.parallelwriter`. ``max_seconds_per_file``: the
    time one file may take to parse (default: the setting ``MAX_SECONDS_PER_FILE``), see
    :mod:`search_service.ingest.parserprocess`. Symbolic links: see
    :mod:`search_service.ingest.walk`. ``library``: a
    :class:`~search_service.library.Library` the run goes through (the files are kept there
    first, the index gets what it then holds), see :mod:`search_service.library.librarian`.
    ``ocr_progress(name, page, pages, seconds)``: called in this thread for each page of a scan
    read by OCR (page 0 before the first), see :meth:`parserprocess.ParserProcess.parse`.
    Raises :class:`IndexUnavailable` when the index is locked by another run, or when a
    worker process failed (then nothing of the run is written).
    """
    if visibility is not None and visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {', '.join(VISIBILITIES)}")
    started = time.perf_counter()
    seconds = _seconds_per_file(max_seconds_per_file)
    parser = parserprocess.shared()
    parser.start()                      # it imports the parsers while the index opens
    ix = _open(index_dir) if target is None else target    # target: search_service.cluster
    refused: list[Refused] = []
    files = collect_files(paths, exclude=Path(index_dir), refused=refused)
    writer = (_writer(ix, index_dir, default_workers() if workers is None else workers)
              if target is None else target.writer())
    try:
        if sum(_size(file) for file, _ in files) >= EAGER_WORKERS_BYTES:
            writer.start_workers()      # they load pyvi while this process reads the files
        with relaxed_gc(), ix.reader() as reader:
            run = _Run(writer, reader, visibility, max_file_mb, parser, seconds)
            run.ocr_progress = ocr_progress
            if library is not None:     # the library brings its own librarian (it is above us)
                run.librarian = library.librarian(index_dir, reader)
            reports = [run.refuse(path, reason) for path, reason in refused]
            reports += [run.ingest_file(file, root)
                        for file, root in (progress(files) if progress else files)]
            if sync:
                reports.extend(run.delete_missing(paths))
            if run.librarian is not None:
                reports.extend(run.librarian.catch_up(run))
        if run.changed:
            writer.commit()
        else:
            writer.cancel()         # nothing to write: keep the index generation as it is
        if run.librarian is not None:
            run.librarian.committed()
    except WorkerFailed as exc:         # the commit failed as a whole: nothing was written
        _cancel(writer)
        raise IndexUnavailable(str(exc)) from exc
    except BaseException:
        _cancel(writer)
        raise
    summary = IngestSummary(files=reports)
    summary.count()
    summary.seconds = time.perf_counter() - started
    logger.info("ingest: %s", summary.line())
    return summary


def _seconds_per_file(value: float | None) -> float:
    """The time budget per file: ``value``, else the setting; a positive number."""
    if value is None:
        from search_service import config

        value = config.load()["MAX_SECONDS_PER_FILE"]
    if not value > 0:
        raise ValueError(f"the time per file must be above 0 seconds, not {value!r}")
    return float(value)


def _open(index_dir):
    try:
        return open_index(index_dir)
    except Exception as exc:  # noqa: BLE001 - OSError, or Whoosh's errors on a damaged index
        raise IndexUnavailable(f"cannot open the index in {index_dir}: {exc}") from exc


def _writer(ix, index_dir, workers: int):
    try:
        return ParallelSegmentWriter(ix, workers=workers)
    except IndexLocked:
        raise IndexUnavailable(
            f"the index in {index_dir} is being written by another run (it is locked); "
            "try again when that run has finished") from None


def _cancel(writer) -> None:
    if writer.is_closed:                # a failed commit has cleaned up already
        return
    try:
        writer.cancel()
    except Exception:  # noqa: BLE001 - do not hide the error that got us here
        logger.exception("could not cancel the index writer")


@dataclass
class _Known:
    """One document the index holds: its bookkeeping columns and where it is in the reader."""

    content_hash: str
    path: str
    file_hash: str
    docnum: int | None


def _known_documents(reader) -> dict[str, _Known]:
    """What the index holds, read from columns (cheap even for tens of thousands of documents)."""
    if reader.doc_count() == 0:
        return {}
    cols = [reader.column_reader(name) for name in ("id", "content_hash", "path", "file_hash")]
    return {cols[0][n]: _Known(cols[1][n], cols[2][n], cols[3][n], n)
            for n in reader.all_doc_ids()}


class _Run:
    """One ingestion run: what the index held before, what this run has seen and written."""

    def __init__(self, writer, reader, visibility: str | None, max_file_mb: float,
                 parser: parserprocess.ParserProcess, seconds_per_file: float):
        self.writer, self.reader = writer, reader
        self.max_file_mb = max_file_mb
        self.parser, self.seconds_per_file = parser, seconds_per_file
        self.link_markers = FolderMarkers(None)     # the walk's rule, checked again on read
        self.known = _known_documents(reader)
        self.by_file: dict[tuple[str, str], list[str]] = {}
        self.by_path: dict[str, list[str]] = {}
        for doc_id, entry in self.known.items():
            self.by_file.setdefault((entry.path, entry.file_hash), []).append(doc_id)
            self.by_path.setdefault(entry.path, []).append(doc_id)
        self.seen: dict[str, str] = {}          # id → the file that holds it in this run
        self.markers = FolderMarkers(visibility)
        self.changed = False
        self.librarian = None                   # set when the run goes through a library
        self.ocr_progress = None                # see ingest_paths

    def refuse(self, path: Path, reason: str) -> FileReport:
        """The report of a path the folder walk refused (a symbolic link leading out)."""
        logger.info("%s: %s", path, reason)
        return FileReport(path=str(path), outcome="failed", error=reason)

    def ingest_file(self, file: Path, root: Path) -> FileReport:
        """Read, parse and write one file; any failure is reported, never raised."""
        report = FileReport(path=str(file), outcome="skipped")
        abs_path = str(file.resolve())
        try:
            docs = self._prepare_file(file, root, abs_path, report)
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop the run
            report.outcome, report.error = "failed", failure_reason(exc)
            logger.info("%s: %s", file, report.error, exc_info=not expected_failure(exc))
            for doc_id in self.by_path.get(abs_path, []):   # keep its previous documents
                self.seen.setdefault(doc_id, str(file))
            return report
        if docs is None:
            return report                       # unchanged file, documents listed already
        outcomes = [self._write(doc, report) for doc in docs]
        report.outcome = next((o for o in ("added", "updated") if o in outcomes), "skipped")
        return report

    def _prepare_file(self, file: Path, root: Path, abs_path: str, report) -> Iterable | None:
        """The file's documents ready to write, or None when the file did not change.

        Every record is checked before the first is written, so a bad one fails the whole
        file. Metadata guessed from a JSON Lines record's text is added as each record is
        written (indexing starts before a large file is read through); a guess that does not
        fit is dropped, never failing the record.
        """
        data = read_file(file, root, self.max_file_mb, self.link_markers)
        default = self.markers.default_for(file)
        file_hash = hashlib.sha1(
            f"{PIPELINE_VERSION}\0{default}\0".encode() + data).hexdigest()
        unchanged = self.by_file.get((abs_path, file_hash))
        if unchanged and self.librarian and not self.librarian.holds(unchanged, abs_path,
                                                                     file_hash):
            unchanged = None                # the library lacks them: read the file again
        if unchanged:                       # same bytes, same defaults: nothing to parse
            self._claim(unchanged, file)
            report.documents = [{**self._stored_summary(i), "outcome": "skipped"}
                                for i in unchanged]
            return None
        kind, raw_docs = self.parser.parse(file, data, seconds=self.seconds_per_file,
                                           max_bytes=int(self.max_file_mb * 1024 * 1024),
                                           on_progress=self.ocr_progress)
        rel = file.relative_to(root).as_posix()
        docs = []
        for number, raw in enumerate(raw_docs, start=1):
            doc_id = str(raw.get("id") or (f"{rel}#{number}" if kind == "jsonl" else rel))
            try:
                docs.append(prepare_document({**raw, "id": doc_id}, default))
            except DocumentError as exc:
                raise DocumentError(f"document {number} ({doc_id}): {exc}") from None
        self._claim([d["id"] for d in docs], file)
        located = {"path": abs_path, "file_hash": file_hash}
        if self.librarian is not None:
            return self.librarian.shelve(rel, data, kind, raw_docs, docs, located)
        if kind != "jsonl":
            return [{**doc, **located} for doc in docs]
        return ({**_with_guessed(raw, doc, default), **located}
                for raw, doc in zip(raw_docs, docs))

    def _claim(self, ids: list[str], file: Path) -> None:
        """Record that ``file`` holds ``ids``; an id held by another file fails this one."""
        earlier: set[str] = set()
        for number, doc_id in enumerate(ids, start=1):
            holder = self.seen.get(doc_id)
            if holder is not None or doc_id in earlier:
                where = f"in {holder}" if holder else "earlier in this file"
                raise DocumentError(f"document {number}: the id {doc_id!r} is already used "
                                    f"{where}; ids must be unique")
            earlier.add(doc_id)
        for doc_id in ids:
            self.seen[doc_id] = str(file)

    def _write(self, doc: dict, report: FileReport) -> str:
        """Add or replace one document; ``skipped`` when its content is unchanged."""
        previous = self.known.get(doc["id"])
        same = previous is not None and previous.content_hash == doc["content_hash"]
        outcome = "skipped" if same else "updated" if previous else "added"
        report.documents.append({**summary_of(doc), "outcome": outcome})
        if same and (previous.path, previous.file_hash) == (doc["path"], doc["file_hash"]):
            return outcome
        # Same content from moved or re-saved bytes is rewritten too, so the next run can
        # skip the file without parsing it and --sync knows where the document lives.
        if previous and not same and doc["visibility"] == "public" and \
                self._stored(previous).get("visibility") == "internal":
            report.warnings.append(f"{doc['id']}: was internal, is now public")
        self.writer.update_document(**index_fields(doc))
        self.known[doc["id"]] = _Known(doc["content_hash"], doc["path"], doc["file_hash"], None)
        self.changed = True
        return outcome

    def delete_missing(self, paths) -> list[FileReport]:
        """Documents from below the synced folders that no file of this run holds any more."""
        roots = [str(Path(p).resolve()) + "/" for p in paths if Path(p).is_dir()]
        gone: dict[str, list[dict]] = {}
        if self.librarian is not None:      # the library first: it is the source of truth
            self.librarian.forget_missing(roots, self.seen)
        for doc_id, entry in list(self.known.items()):
            if doc_id not in self.seen and any(entry.path.startswith(r) for r in roots):
                summary = self._stored_summary(doc_id)
                self.writer.delete_by_term("id", doc_id)
                gone.setdefault(entry.path, []).append({**summary, "outcome": "deleted"})
                del self.known[doc_id]
                self.changed = True
        return [FileReport(path=p, outcome="deleted", documents=docs)
                for p, docs in gone.items()]

    def _stored(self, entry: _Known) -> dict:
        return self.reader.stored_fields(entry.docnum) if entry.docnum is not None else {}

    def _stored_summary(self, doc_id: str) -> dict:
        return summary_of({**self._stored(self.known[doc_id]), "id": doc_id})


def _size(file: Path) -> int:
    try:
        return file.stat().st_size
    except OSError:
        return 0


def _with_guessed(raw: dict, doc: dict, default: str | None) -> dict:
    """``doc`` (prepared from ``raw``) with the metadata its text suggests and it lacks."""
    record = {**raw, "id": doc["id"]}
    guessed = with_guesses(record)
    if guessed == record:               # nothing to add: doc is already this record prepared
        return doc
    try:
        return prepare_document(guessed, default)
    except DocumentError:
        return doc
