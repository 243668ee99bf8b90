"""Files → documents → one all-or-nothing index commit, with a per-file report.

A bad file is reported and skipped; the good ones are still indexed. The commit happens once,
at the end of a run, so a crash mid-run leaves the index exactly as it was.

Re-running over the same files is cheap and safe: a file whose bytes (and default visibility)
did not change is not parsed again, a document whose content did not change is not rewritten,
and document ids are stable (a record's ``id``, else the file's path relative to the folder
given, ``tin/bai-1.txt``; JSON Lines records without an id get ``file.jsonl#<line number>``).

Visibility (who may see a document), first match wins:

1. the record's own ``visibility`` field (JSON Lines): the most specific statement;
2. ``internal`` when either the run's ``visibility`` argument (``--visibility internal``) or a
   ``.visibility`` file in the document's folder or any folder above it says so;
3. ``public`` otherwise.

So ``--visibility public`` cannot publish a folder marked internal: a marker file is the folder
owner's lasting decision, a flag is one run's, and a forgotten or wrong flag must not leak.
A marker holds one word: ``internal`` (or ``nội bộ``) or ``public`` (or ``công khai``).
The flag is not remembered: re-running without it makes flag-only internal documents public
again (reported as a warning), so mark folders that are synced regularly with a marker file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from search_service.analysis import normalize_text
from search_service.documents import FIELDS, VISIBILITIES, DocumentError, parse_published
from search_service.ingest import IngestError
from search_service.schema import open_index

logger = logging.getLogger(__name__)

VISIBILITY_FILE = ".visibility"
# Part of every file's key: bump it when a parser improves, so unchanged files are read again.
PIPELINE_VERSION = "2"
_MARKER_WORDS = {"internal": "internal", "nội bộ": "internal", "public": "public",
                 "công khai": "public"}
_GUESSED_KEYS = ("title", "doc_type", "doc_number", "issuer", "signer", "published")
_REPORT_KEYS = ("id", "title", "doc_type", "doc_number", "issuer", "signer", "published",
                "category", "visibility")


class IndexUnavailable(Exception):
    """The index cannot be written: another run holds its lock, or it cannot be opened."""


@dataclass
class FileReport:
    path: str
    outcome: str                  # added | updated | skipped | failed | deleted
    error: str | None = None
    documents: list[dict] = field(default_factory=list)   # metadata, with each one's outcome
    warnings: list[str] = field(default_factory=list)


@dataclass
class IngestSummary:
    """What a run did. added/updated/skipped/deleted count documents; failed counts files."""

    added: int = 0
    updated: int = 0
    skipped: int = 0
    deleted: int = 0
    failed: int = 0
    seconds: float = 0.0
    files: list[FileReport] = field(default_factory=list)

    def line(self) -> str:
        """The one-line summary printed at the end of a run."""
        read = sum(1 for f in self.files if f.outcome != "deleted")
        return (f"added {self.added}, updated {self.updated}, skipped {self.skipped}, "
                f"deleted {self.deleted}, failed {self.failed} ({read} files, "
                f"{self.seconds:.1f}s)")

    def to_json(self) -> dict:
        return {"added": self.added, "updated": self.updated, "skipped": self.skipped,
                "deleted": self.deleted, "failed": self.failed,
                "seconds": round(self.seconds, 3),
                "files": [vars(f) for f in self.files]}

    def count(self) -> None:
        for report in self.files:
            if report.outcome == "failed":
                self.failed += 1
            for doc in report.documents:
                setattr(self, doc["outcome"], getattr(self, doc["outcome"]) + 1)


def collect_files(paths, exclude: Path | None = None) -> list[tuple[Path, Path]]:
    """``(file, root)`` pairs: files given directly, and every file below a folder, sorted.

    In folders, hidden files (``.visibility``, ``.git``), Word's ``~$`` lock files and the
    index folder itself are left out; a file reached twice is taken once.
    """
    excluded = exclude.resolve() if exclude else None
    found, taken = [], set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            candidates = [(f, path) for f in sorted(path.rglob("*"))
                          if f.is_file() and not _ignored(f.relative_to(path))]
        else:
            candidates = [(path, path.parent)]
        for file, root in candidates:
            resolved = file.resolve()
            if resolved in taken or (excluded and excluded in resolved.parents):
                continue
            taken.add(resolved)
            found.append((file, root))
    return found


def _ignored(relative: Path) -> bool:
    return (any(part.startswith(".") for part in relative.parts)
            or relative.name.startswith("~$"))


def ingest_paths(index_dir, paths, *, visibility: str | None = None, sync: bool = False,
                 max_file_mb: float = 50, progress=None) -> IngestSummary:
    """Index the files in ``paths`` (files or folders, recursively) in one commit.

    ``sync``: also remove documents that came from a file below the given folders that is no
    longer there (or a JSON Lines record no longer in its file). ``visibility``: see the
    module docstring. ``progress`` wraps the file list (e.g. ``tqdm``) when given.
    Raises :class:`IndexUnavailable` when the index is locked by another run.
    """
    if visibility is not None and visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {', '.join(VISIBILITIES)}")
    started = time.perf_counter()
    ix = _open(index_dir)
    files = collect_files(paths, exclude=Path(index_dir))
    writer = _writer(ix, index_dir)
    try:
        with ix.reader() as reader:
            run = _Run(writer, reader, visibility, max_file_mb)
            reports = [run.ingest_file(file, root)
                       for file, root in (progress(files) if progress else files)]
            if sync:
                reports.extend(run.delete_missing(paths))
        if run.changed:
            writer.commit()
        else:
            writer.cancel()         # nothing to write: keep the index generation as it is
    except BaseException:
        _cancel(writer)
        raise
    summary = IngestSummary(files=reports)
    summary.count()
    summary.seconds = time.perf_counter() - started
    logger.info("ingest: %s", summary.line())
    return summary


def _open(index_dir):
    try:
        return open_index(index_dir)
    except Exception as exc:  # noqa: BLE001 - OSError, or Whoosh's errors on a damaged index
        raise IndexUnavailable(f"cannot open the index in {index_dir}: {exc}") from exc


def _writer(ix, index_dir):
    from whoosh.index import LockError

    try:
        return ix.writer()
    except LockError:
        raise IndexUnavailable(
            f"the index in {index_dir} is being written by another run (it is locked); "
            "try again when that run has finished") from None


def _cancel(writer) -> None:
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

    def __init__(self, writer, reader, visibility: str | None, max_file_mb: float):
        self.writer, self.reader = writer, reader
        self.visibility, self.max_file_mb = visibility, max_file_mb
        self.known = _known_documents(reader)
        self.by_file: dict[tuple[str, str], list[str]] = {}
        self.by_path: dict[str, list[str]] = {}
        for doc_id, entry in self.known.items():
            self.by_file.setdefault((entry.path, entry.file_hash), []).append(doc_id)
            self.by_path.setdefault(entry.path, []).append(doc_id)
        self.seen: dict[str, str] = {}          # id → the file that holds it in this run
        self.markers: dict[Path, str | None] = {}
        self.changed = False

    def ingest_file(self, file: Path, root: Path) -> FileReport:
        """Read, parse and write one file; any failure is reported, never raised."""
        report = FileReport(path=str(file), outcome="skipped")
        abs_path = str(file.resolve())
        try:
            docs = self._prepare_file(file, root, abs_path, report)
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop the run
            report.outcome, report.error = "failed", _reason(exc)
            logger.info("%s: %s", file, report.error, exc_info=not _expected(exc))
            for doc_id in self.by_path.get(abs_path, []):   # keep its previous documents
                self.seen.setdefault(doc_id, str(file))
            return report
        if docs is None:
            return report                       # unchanged file, documents listed already
        outcomes = [self._write(doc, report) for doc in docs]
        report.outcome = next((o for o in ("added", "updated") if o in outcomes), "skipped")
        return report

    def _prepare_file(self, file: Path, root: Path, abs_path: str, report) -> list[dict] | None:
        """The file's documents ready to write, or None when the file did not change."""
        data = _read(file, self.max_file_mb)
        default = self._default_visibility(file)
        file_hash = hashlib.sha1(
            f"{PIPELINE_VERSION}\0{default}\0".encode() + data).hexdigest()
        unchanged = self.by_file.get((abs_path, file_hash))
        if unchanged:                       # same bytes, same defaults: nothing to parse
            self._claim(unchanged, file)
            report.documents = [{**self._stored_summary(i), "outcome": "skipped"}
                                for i in unchanged]
            return None
        kind, raw_docs = _parse(file, data)
        rel = file.relative_to(root).as_posix()
        docs = []                           # prepare every record before writing any of them
        for number, raw in enumerate(raw_docs, start=1):
            doc_id = str(raw.get("id") or (f"{rel}#{number}" if kind == "jsonl" else rel))
            try:
                doc = prepare_document({**raw, "id": doc_id}, default)
            except DocumentError as exc:
                raise DocumentError(f"document {number} ({doc_id}): {exc}") from None
            docs.append({**doc, "path": abs_path, "file_hash": file_hash})
        self._claim([d["id"] for d in docs], file)
        return docs

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

    def _default_visibility(self, file: Path) -> str:
        folder = self._marker(file.parent.resolve())
        if "internal" in (self.visibility, folder):
            return "internal"
        return "public"

    def _marker(self, folder: Path) -> str | None:
        """The nearest ``.visibility`` marker in ``folder`` or above it (cached per folder)."""
        if folder not in self.markers:
            marker = folder / VISIBILITY_FILE
            if marker.is_file():
                self.markers[folder] = _read_marker(marker)
            else:
                self.markers[folder] = (None if folder.parent == folder
                                        else self._marker(folder.parent))
        return self.markers[folder]

    def _write(self, doc: dict, report: FileReport) -> str:
        """Add or replace one document; ``skipped`` when its content is unchanged."""
        previous = self.known.get(doc["id"])
        same = previous is not None and previous.content_hash == doc["content_hash"]
        outcome = "skipped" if same else "updated" if previous else "added"
        report.documents.append({**_summary_of(doc), "outcome": outcome})
        if same and (previous.path, previous.file_hash) == (doc["path"], doc["file_hash"]):
            return outcome
        # Same content from moved or re-saved bytes is rewritten too, so the next run can
        # skip the file without parsing it and --sync knows where the document lives.
        if previous and not same and doc["visibility"] == "public" and \
                self._stored(previous).get("visibility") == "internal":
            report.warnings.append(f"{doc['id']}: was internal, is now public")
        self.writer.update_document(**_index_fields(doc))
        self.known[doc["id"]] = _Known(doc["content_hash"], doc["path"], doc["file_hash"], None)
        self.changed = True
        return outcome

    def delete_missing(self, paths) -> list[FileReport]:
        """Documents from below the synced folders that no file of this run holds any more."""
        roots = [str(Path(p).resolve()) + "/" for p in paths if Path(p).is_dir()]
        gone: dict[str, list[dict]] = {}
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
        return _summary_of({**self._stored(self.known[doc_id]), "id": doc_id})


def _read(file: Path, max_file_mb: float) -> bytes:
    size = file.stat().st_size
    if size > max_file_mb * 1024 * 1024:
        raise IngestError(f"file is {size / 1048576:.3g} MB, over the {max_file_mb:g} MB limit")
    if size == 0:
        raise IngestError("empty file")
    return file.read_bytes()


def _read_marker(marker: Path) -> str:
    text = marker.read_text(encoding="utf-8-sig", errors="replace")
    value = " ".join(normalize_text(text).lower().split())
    if value not in _MARKER_WORDS:
        raise IngestError(f"{marker}: expected 'internal' or 'public', found {value[:40]!r}")
    return _MARKER_WORDS[value]


def _parse(file: Path, data: bytes) -> tuple[str, list[dict]]:
    """The file's format and its records; JSON Lines records get guessed metadata they lack."""
    from search_service.ingest import formats

    kind = formats.detect(file, data)
    docs = formats.PARSERS[kind](file, data)
    if kind == "jsonl":
        docs = [_with_guesses(record) for record in docs]
    return kind, docs


def _with_guesses(record: dict) -> dict:
    """Fill what a record lacks from its text; what the record says always wins.

    A record's number implies its type, so a type guessed from the text is not used then.
    """
    from search_service.ingest import metadata

    body = record.get("body")
    if not isinstance(body, str) or not body.strip():
        return record
    guessed = metadata.extract(normalize_text(body))
    keys = [k for k in _GUESSED_KEYS if record.get(k) in (None, "")]
    if record.get("doc_number"):
        keys = [k for k in keys if k != "doc_type"]
    return {**{k: guessed[k] for k in keys if guessed.get(k)}, **record}


def _expected(exc: Exception) -> bool:
    return isinstance(exc, (IngestError, DocumentError, OSError))


def _reason(exc: Exception) -> str:
    """A failure in words a clerk can read; unexpected errors name their kind for the log."""
    if isinstance(exc, OSError):
        return f"cannot read the file: {exc.strerror or exc}"
    if _expected(exc):
        return str(exc)
    return f"the file could not be read (unexpected {type(exc).__name__}: {exc})"


def prepare_document(raw: dict, default_visibility: str | None = None) -> dict:
    """A parsed record as the index stores it: normalized text, typed values, hashes."""
    from search_service import docnumber

    doc = {}
    for key in FIELDS:
        value = _text(raw.get(key), key) if key not in ("published", "views") else raw.get(key)
        if isinstance(value, str):
            value = normalize_text(value).strip()
        if value not in (None, ""):
            doc[key] = value
    if not doc.get("title") and not doc.get("body"):
        raise DocumentError("the document has neither a title nor a body")
    doc.setdefault("title", doc.get("body", "")[:120].split("\n")[0])
    doc["published"] = parse_published(doc.get("published"))
    doc["views"] = _int(doc.get("views"), "views")
    doc["visibility"] = str(doc.get("visibility") or default_visibility or "public").lower()
    if doc["visibility"] not in VISIBILITIES:
        raise DocumentError(f"visibility must be public or internal, not {doc['visibility']!r}")
    if doc.get("doc_number"):
        doc["number_key"] = docnumber.canonical(doc["doc_number"])
        doc.setdefault("doc_type", docnumber.doc_type_for(doc["doc_number"]))
    doc = {k: v for k, v in doc.items() if v is not None}
    doc["content_hash"] = hashlib.sha1(
        json.dumps(doc, sort_keys=True, default=str).encode("utf-8")).hexdigest()
    return doc


def _text(value, name: str) -> str | None:
    """A text field as a string: numbers are spelled out, lists and objects refused.

    Checked here because Whoosh fails mid-document on them, which would abort the whole run.
    """
    if value is None or isinstance(value, str):
        if value and not _encodable(value):
            raise DocumentError(f"{name}: holds characters that are not valid Unicode")
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise DocumentError(f"{name}: expected text, found {type(value).__name__}")


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:          # a lone surrogate from JSON "\ud800"
        return False
    return True


def _int(value, name: str) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise DocumentError(f"{name}: not a whole number: {value!r}")
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise DocumentError(f"{name}: not a whole number: {value!r}") from None
    if not 0 <= number < 2 ** 63:       # the index keeps it in 64 bits
        raise DocumentError(f"{name}: out of range: {value!r}")
    return number


def _index_fields(doc: dict) -> dict:
    fields = {k: v for k, v in doc.items() if k != "published" or v}
    if doc.get("published"):
        fields["year"] = doc["published"].year
    for name, source in (("title_f", "title"), ("title_bi", "title"), ("title_w", "title"),
                         ("body_f", "body"), ("body_bi", "body"), ("body_w", "body")):
        fields[name] = doc.get(source, "")
    return fields


def _summary_of(doc: dict) -> dict:
    return {k: (doc[k].isoformat() if hasattr(doc.get(k), "isoformat") else doc[k])
            for k in _REPORT_KEYS if doc.get(k) not in (None, "")}
