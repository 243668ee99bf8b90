"""Rebuild the search index from the library alone: the index is derived data.

The documents go through the same preparation as ingestion (``prepare_document`` and
``index_fields`` of :mod:`search_service.ingest.prepare`) with their effective metadata, so a
rebuilt index answers exactly as one built by ``ingest`` from the same documents.

Unpublished documents are indexed as ``internal``, not left out: residents never see
internal documents, while staff still find a withdrawn or draft text when they search for
it, which is why it was kept. The library keeps the published flag and the visibility apart,
so publishing again restores the document's own visibility.

The new index is built in a sibling folder and swapped in with one atomic rename, so a
server keeps answering from the old index until the new one is complete, and a failed
rebuild leaves the old one untouched. The old index's write lock is held meanwhile, so an
ingestion run cannot commit into an index that is about to be replaced.

A document ingested from a folder keeps the file's path and key in the rebuilt index (from
the library's ``sources``), so the next ``ingest`` of that folder still skips unchanged files
cheaply and ``--sync`` still finds the documents of deleted files. A rebuild registers the
index with the library and clears the changes it was waiting for (see
:mod:`search_service.library.feeding`). It refuses to replace an index holding documents the
library has never had (an index made before the library): those are imported first.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from search_service.library import feeding
from search_service.library.errors import Conflict, LibraryError
from search_service.library.model import Document

logger = logging.getLogger(__name__)

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def index_record(doc: Document) -> dict:
    """The record ingestion would have read for this document, with people's corrections;
    a text read by OCR says so (the index keeps only that mark, see documents.OCR)."""
    from search_service.documents import OCR

    visibility = doc.visibility if doc.is_published else "internal"
    record = {**doc.metadata, "id": doc.id, "body": doc.body, "visibility": visibility}
    if doc.text_source == OCR:
        record["text_source"] = OCR
    return record


def prepared(doc: Document, source: feeding.Source | None = None) -> dict:
    """The document as the index stores it (before its derived fields are added), from its
    effective metadata: what ``ingest`` writes for it.

    ``path`` and ``file_hash`` are bookkeeping for incremental ingestion, which never affects
    ranking: the file it was ingested from and that file's key (``source``), else the
    original's name and SHA-256.
    """
    from search_service.documents import DocumentError
    from search_service.ingest.prepare import prepare_document

    try:
        fields = prepare_document(index_record(doc))
    except DocumentError as exc:        # the library checks values, so this means a bug
        raise LibraryError(f"document {doc.id!r} cannot be indexed: {exc}") from None
    if source is not None:
        return {**fields, "path": source.path, "file_hash": source.file_key}
    return {**fields, "path": doc.original.name, "file_hash": doc.original.sha256}


def documents_for_index(library) -> Iterator[dict]:
    """The keyword arguments of the index writer for every document, in the order added."""
    from search_service.ingest.prepare import index_fields

    from search_service.library.relations import Relations

    sources = feeding.sources(library)
    statuses = Relations(library).statuses()      # validity (#11): in_force, replaced, ...
    for doc in library.iter_documents():
        validity = {"validity": statuses[doc.id]} if doc.id in statuses else {}
        yield index_fields({**prepared(doc, sources.get(doc.id)), **validity})


def reindex(library, index_dir: str | Path, *, workers: int = 0) -> int:
    """Replace the index in ``index_dir`` with one built from ``library``; returns how many
    documents it holds. ``workers``: see :class:`~search_service.index.parallelwriter.
    ParallelSegmentWriter` (0, the default, writes in this process: safe from any caller)."""
    target = Path(index_dir).absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked(target) as old_generation:
        _refuse_to_lose(library, target)
        build = Path(tempfile.mkdtemp(prefix=f".{target.name}.reindex-", dir=target.parent))
        try:
            key = feeding.register(library, target)
            covered = feeding.latest_mark(library)      # the library is read after these
            count = _build(library, build, workers, old_generation)
            _carry_other_files(target, build)
            old = _swap(build, target)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
            feeding.clear_up_to(library, key, covered)
        finally:
            shutil.rmtree(build, ignore_errors=True)
    logger.info("reindex: %d documents into %s", count, target)
    return count


def reindex_into(library, target) -> int:
    """Rebuild a cluster from ``library``: every document the library holds is written again
    (replacing the cluster's copy), and every document the cluster holds that the library
    does not is deleted; returns how many documents were written. ``target`` is where
    ingestion writes when ``SEARCH_BACKEND`` names a cluster (``reader()`` and ``writer()``,
    see :class:`~search_service.cluster.writer.ClusterTarget`).

    A cluster has no folder to swap: it keeps answering meanwhile, each document old or new,
    and a run that fails leaves the documents sent before it written (run it again). It is
    how a city moves from the embedded index to a cluster, and from a library restored from a
    backup back onto one."""
    with target.reader() as reader:
        held = set(reader.column_reader("id").values())
    writer = target.writer()
    written: set[str] = set()
    try:
        for fields in documents_for_index(library):
            writer.update_document(**fields)
            written.add(fields["id"])
        for doc_id in sorted(held - written):
            writer.delete_by_term("id", doc_id)
        writer.commit()
    except BaseException:
        if not writer.is_closed:
            writer.cancel()
        raise
    logger.info("reindex: %d documents into the cluster, %d deleted", len(written),
                len(held - written))
    return len(written)


@contextmanager
def _locked(target: Path) -> Iterator[int]:
    """Hold the write lock of the index in ``target`` (if there is one); yields its latest
    generation, or -1."""
    from search_service.errors import IndexProblem
    from search_service.index.schema import latest_generation, open_index

    try:
        ix = open_index(target, create=False)
    except FileNotFoundError:
        yield -1
        return
    except IndexProblem as exc:
        # A table of contents that cannot be read: no run can write into this index (ingest
        # refuses it), so there is no lock to take, and a rebuild is what repairs it.
        logger.warning("reindex: %s", exc)
        yield latest_generation(target) or -1
        return
    lock = ix.lock("WRITELOCK")
    if not lock.acquire():
        raise Conflict(f"the index in {target} is being written by another run (it is "
                       "locked); try again when that run has finished")
    try:
        yield ix.latest_generation()
    finally:
        lock.release()


def _refuse_to_lose(library, target: Path) -> None:
    """Documents the index holds and the library never held (an index made before the
    library) would be lost: import them first."""
    from search_service.library.importing import never_kept
    from search_service.index.schema import READ_ERRORS, open_index

    try:
        ix = open_index(target, create=False)
    except FileNotFoundError:
        return
    except READ_ERRORS as exc:
        logger.warning("reindex: the index in %s cannot be read (%s); rebuilding it from the "
                       "library", target, exc)
        return
    try:
        with ix.reader() as reader:
            missing = never_kept(library, reader)
            if not missing:
                return
            example = reader.stored_fields(missing[0]).get("id")
    except READ_ERRORS as exc:
        # A damaged index (a truncated segment) is what a rebuild repairs; what it holds
        # cannot be read, so it cannot be imported either.
        logger.warning("reindex: the index in %s cannot be read (%s: %s); rebuilding it from "
                       "the library", target, type(exc).__name__, exc)
        return
    raise Conflict(f"the index in {target} holds {len(missing)} documents the library has "
                   f"never had (such as {example!r}); rebuilding would lose them: copy them "
                   "into the library first with `python -m search_service library "
                   "import-index`, then reindex")


def _build(library, folder: Path, workers: int, old_generation: int) -> int:
    from search_service.index.parallelwriter import ParallelSegmentWriter
    from search_service.index.schema import continue_generations, open_index

    ix = open_index(folder)
    if old_generation > 0:
        continue_generations(ix, old_generation)
    writer = ParallelSegmentWriter(ix, workers=workers)
    count = 0
    try:
        for fields in documents_for_index(library):
            writer.add_document(**fields)
            count += 1
        writer.commit()
    except BaseException:
        if not writer.is_closed:
            writer.cancel()
        raise
    return count


def _carry_other_files(old: Path, new: Path) -> None:
    """Copy what is not the index's own from the old folder (a README, ``.gitkeep``)."""
    from search_service.index.schema import INDEX_NAME

    if not old.is_dir():
        return
    own = re.compile(rf"^_?{re.escape(INDEX_NAME)}[._]")
    for entry in old.iterdir():
        if own.match(entry.name):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, new / entry.name, symlinks=True)
        else:
            shutil.copy2(entry, new / entry.name, follow_symlinks=False)


def _swap(new: Path, target: Path) -> Path | None:
    """Put ``new`` at ``target``; returns where the old index now is (to be removed)."""
    if not target.exists():
        os.rename(new, target)
        return None
    if _exchange(new, target):
        return new
    # Not Linux, or a file system without RENAME_EXCHANGE: two renames, a moment apart.
    aside = new.with_name(new.name + ".old")
    os.rename(target, aside)
    try:
        os.rename(new, target)
    except BaseException:
        os.rename(aside, target)
        raise
    return aside


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):       # a C library older than glibc 2.28
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))
