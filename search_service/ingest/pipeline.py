"""Files → documents → one all-or-nothing index commit, with a per-file report.

A bad file is reported and skipped; the good ones are still indexed. The commit happens once,
at the end of a run, so a crash mid-run leaves the index exactly as it was.
"""

from __future__ import annotations

import hashlib
import importlib
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

VISIBILITY_FILE = ".visibility"   # a folder holding this file (text: internal/public) sets its default


@dataclass
class FileReport:
    path: str
    outcome: str                  # added | updated | skipped | failed | deleted
    error: str | None = None
    documents: list[dict] = field(default_factory=list)


@dataclass
class IngestSummary:
    added: int = 0
    updated: int = 0
    skipped: int = 0
    deleted: int = 0
    failed: int = 0
    seconds: float = 0.0
    files: list[FileReport] = field(default_factory=list)

    def line(self) -> str:
        """The one-line summary printed at the end of a run."""
        return (f"added {self.added}, updated {self.updated}, skipped {self.skipped}, "
                f"deleted {self.deleted}, failed {self.failed} in {self.seconds:.1f}s")

    def to_json(self) -> dict:
        return {"added": self.added, "updated": self.updated, "skipped": self.skipped,
                "deleted": self.deleted, "failed": self.failed,
                "seconds": round(self.seconds, 3),
                "files": [vars(f) for f in self.files]}


def collect_files(paths) -> list[tuple[Path, Path]]:
    """``(file, root)`` pairs: files given directly, and every file below a folder, sorted."""
    found = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                if not any(part.startswith(".") for part in file.relative_to(path).parts):
                    found.append((file, path))
        else:
            found.append((path, path.parent))
    return found


def ingest_paths(index_dir, paths, *, visibility: str | None = None, sync: bool = False,
                 max_file_mb: float = 50, progress=None) -> IngestSummary:
    """Index the files in ``paths`` (files or folders, recursively) in one commit.

    ``sync`` (one folder): also remove documents whose file is gone from that folder.
    ``progress`` wraps the file list (e.g. ``tqdm``) when given.
    """
    if visibility is not None and visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {', '.join(VISIBILITIES)}")
    started = time.perf_counter()
    summary = IngestSummary()
    ix = open_index(index_dir)
    files = collect_files(paths)
    writer = ix.writer()
    try:
        known = _known_documents(ix)
        seen_ids: set[str] = set()
        for file, root in (progress(files) if progress else files):
            report = _ingest_file(writer, known, seen_ids, file, root, visibility, max_file_mb)
            summary.files.append(report)
        if sync:
            summary.files.extend(_delete_missing(writer, known, paths, seen_ids))
        writer.commit()
    except BaseException:
        writer.cancel()
        raise
    for report in summary.files:
        setattr(summary, report.outcome, getattr(summary, report.outcome) + 1)
    summary.seconds = time.perf_counter() - started
    logger.info("ingest: %s", summary.line())
    return summary


class _Known(dict):
    """``id → (content_hash, path, file_hash)`` of what the index holds, and
    ``by_file[(path, file_hash)] → ids`` to skip files whose bytes did not change."""

    def __init__(self, items=()):
        super().__init__(items)
        self.by_file: dict[tuple[str, str], list[str]] = {}
        for doc_id, (_, path, file_hash) in self.items():
            self.by_file.setdefault((path, file_hash), []).append(doc_id)


def _known_documents(ix) -> _Known:
    """What the index holds, read from columns (cheap even for tens of thousands of documents)."""
    with ix.reader() as reader:
        if reader.doc_count() == 0:
            return _Known()
        cols = [reader.column_reader(name) for name in ("id", "content_hash", "path", "file_hash")]
        return _Known((cols[0][n], (cols[1][n], cols[2][n], cols[3][n]))
                      for n in reader.all_doc_ids())


def _ingest_file(writer, known, seen_ids, file: Path, root: Path, visibility, max_file_mb):
    rel = file.relative_to(root).as_posix() if file != root else file.name
    report = FileReport(path=str(file), outcome="skipped")
    try:
        data = _read(file, max_file_mb)
        file_hash = hashlib.sha1(data).hexdigest()
        abs_path = str(file.resolve())
        unchanged = known.by_file.get((abs_path, file_hash))
        if unchanged:                       # same bytes as last time: nothing to parse
            seen_ids.update(unchanged)
            return report
        raw_docs = _parse(file, data)
        default_visibility = visibility or _folder_visibility(file, root)
        docs = []                           # prepare every record before writing any of them
        for number, raw in enumerate(raw_docs, start=1):
            doc_id = str(raw.get("id") or (rel if len(raw_docs) == 1 else f"{rel}#{number}"))
            try:
                doc = prepare_document({**raw, "id": doc_id}, default_visibility)
            except DocumentError as exc:
                raise DocumentError(f"document {number} ({doc_id}): {exc}") from None
            docs.append({**doc, "path": abs_path, "file_hash": file_hash})
        outcomes = []
        for doc in docs:
            seen_ids.add(doc["id"])
            outcomes.append(_write(writer, known, doc))
            report.documents.append(_summary_of(doc))
        report.outcome = ("added" if "added" in outcomes else
                          "updated" if "updated" in outcomes else "skipped")
    except (IngestError, DocumentError, OSError) as exc:
        report.outcome, report.error = "failed", _reason(exc)
        logger.warning("%s: %s", file, report.error)
    return report


def _read(file: Path, max_file_mb: float) -> bytes:
    size = file.stat().st_size
    if size > max_file_mb * 1024 * 1024:
        raise IngestError(f"file is {size / 1048576:.1f} MB, over the {max_file_mb:g} MB limit")
    if size == 0:
        raise IngestError("empty file")
    return file.read_bytes()


def _parse(file: Path, data: bytes) -> list[dict]:
    from search_service.ingest import formats

    kind = formats.detect(file, data)
    return importlib.import_module(f"search_service.ingest.{kind}").parse(file, data)


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError):
        return f"cannot read the file: {exc.strerror or exc}"
    return str(exc)


def _folder_visibility(file: Path, root: Path) -> str | None:
    """The nearest ``.visibility`` file between the file's folder and the ingested root."""
    folder = file.parent
    while True:
        marker = folder / VISIBILITY_FILE
        if marker.is_file():
            value = marker.read_text(encoding="utf-8").strip().lower()
            if value in VISIBILITIES:
                return value
            raise IngestError(f"{marker}: expected 'internal' or 'public', found {value!r}")
        if folder == root or folder == folder.parent or root not in folder.parents:
            return None
        folder = folder.parent


def prepare_document(raw: dict, default_visibility: str | None = None) -> dict:
    """A parsed record as the index stores it: normalized text, typed values, hashes."""
    from search_service import docnumber

    doc = {}
    for key in FIELDS:
        value = raw.get(key)
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


def _int(value, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise DocumentError(f"{name}: not a whole number: {value!r}") from None


def _write(writer, known, doc: dict) -> str:
    """Add or replace one document; ``skipped`` when the index already holds the same content."""
    previous = known.get(doc["id"])
    if previous and previous[0] == doc["content_hash"]:
        return "skipped"
    fields = {k: v for k, v in doc.items() if k != "published" or v}
    if doc.get("published"):
        fields["year"] = doc["published"].year
    for name, source in (("title_f", "title"), ("title_bi", "title"), ("title_w", "title"),
                         ("body_f", "body"), ("body_bi", "body"), ("body_w", "body")):
        fields[name] = doc.get(source, "")
    writer.update_document(**fields)
    known[doc["id"]] = (doc["content_hash"], doc.get("path", ""), doc.get("file_hash", ""))
    return "updated" if previous else "added"


def _summary_of(doc: dict) -> dict:
    keys = ("id", "title", "doc_type", "doc_number", "issuer", "signer", "published",
            "category", "visibility")
    return {k: (doc[k].isoformat() if hasattr(doc.get(k), "isoformat") else doc[k])
            for k in keys if doc.get(k) is not None}


def _delete_missing(writer, known, paths, seen_ids) -> list[FileReport]:
    """Documents that came from a file below the synced folders that no longer exists."""
    roots = [str(Path(p).resolve()) + "/" for p in paths if Path(p).is_dir()]
    gone: dict[str, list[str]] = {}
    for doc_id, (_, path, _) in list(known.items()):
        if doc_id not in seen_ids and any(path.startswith(r) for r in roots):
            writer.delete_by_term("id", doc_id)
            gone.setdefault(path, []).append(doc_id)
            del known[doc_id]
    return [FileReport(path=p, outcome="deleted", documents=[{"id": i} for i in ids])
            for p, ids in gone.items()]
