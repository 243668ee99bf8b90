"""The Whoosh schema and opening/creating the on-disk index.

Whoosh is known inside :mod:`search_service.index` only (see its package docstring).
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import struct
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from whoosh.fields import DATETIME, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.filetables import FileFormatError
from whoosh.index import TOC
from whoosh.index import IndexError as WhooshIndexError
from whoosh.index import LockError
from whoosh.reading import CorruptIndexError, SegmentReader
from whoosh.util.numeric import byte_to_length, length_to_byte

from search_service.errors import IndexDamaged, IndexMissing, IndexProblem, IndexUnreadable
from search_service.index.analyzers import (bigram_analyzer, exact_analyzer, folded_analyzer,
                                            word_analyzer)

IndexLocked = LockError     # another writer holds the index's write lock

logger = logging.getLogger(__name__)

INDEX_NAME = "documents"
TOC_FILE = re.compile(rf"^_{INDEX_NAME}_([0-9]+)\.toc$")
# Names a folder may hold and still count as empty: a fresh volume's lost+found, dot files
# (.gitkeep), the lock file Whoosh leaves behind.
_IGNORED = ("lost+found", f"{INDEX_NAME}_WRITELOCK")

# What reading a damaged index raises, found by damaging a real one: a truncated segment file
# gives EOFError ("Ran out of input"), struct.error or UnpicklingError; an overwritten header
# FileFormatError; a deleted one FileNotFoundError; an unreadable one PermissionError.
READ_ERRORS = (OSError, EOFError, struct.error, pickle.UnpicklingError, FileFormatError,
               CorruptIndexError, WhooshIndexError, IndexProblem)

# Searchable text fields and the source field each one is built from. Title fields weigh more:
# a match in the title says more about a document than one in a long body.
TEXT_FIELDS = {
    "title": "title", "title_f": "title", "title_bi": "title", "title_w": "title",
    "body": "body", "body_f": "body", "body_bi": "body", "body_w": "body",
}


def build_schema() -> Schema:
    """Every field of a document as the index keeps it."""
    return Schema(
        id=ID(stored=True, unique=True, sortable=True),
        # Exact syllables (diacritics kept): stored, for display and highlighting. Phrases
        # are matched on the folded fields, so these need no positions.
        title=TEXT(analyzer=exact_analyzer(), stored=True, phrase=False, field_boost=2.0),
        body=TEXT(analyzer=exact_analyzer(), stored=True, phrase=False),
        # Folded syllables: recall without diacritics, phrases.
        title_f=TEXT(analyzer=folded_analyzer(), field_boost=2.0),
        body_f=TEXT(analyzer=folded_analyzer()),
        # Folded syllable pairs: word-level precision that survives missing diacritics.
        title_bi=TEXT(analyzer=bigram_analyzer(), phrase=False, field_boost=2.0),
        body_bi=TEXT(analyzer=bigram_analyzer(), phrase=False),
        # pyvi's multi-syllable words.
        title_w=TEXT(analyzer=word_analyzer(), phrase=False, field_boost=2.0),
        body_w=TEXT(analyzer=word_analyzer(), phrase=False),
        # Metadata: stored for display, sortable columns for facets and sorting.
        doc_number=STORED(),
        number_key=KEYWORD(lowercase=False, commas=True),
        category=ID(stored=True, sortable=True),
        doc_type=ID(stored=True, sortable=True),
        issuer=ID(stored=True, sortable=True),
        signer=STORED(),
        published=DATETIME(stored=True, sortable=True),
        year=NUMERIC(stored=False, sortable=True, signed=False, bits=32),
        views=NUMERIC(stored=True, sortable=True, bits=64),
        source=STORED(),
        url=STORED(),
        visibility=ID(stored=True, sortable=True),
        # in_force, replaced, ... (search_service.ingest.validity), from the library; an index
        # made before this field gets it when rebuilt (library reindex).
        validity=ID(stored=True, sortable=True),
        # "ocr" when the text was read from a scan (search_service.documents.OCR), else
        # absent. Added after indexes existed: open_index adds it to an older index.
        text_source=STORED(),
        # Bookkeeping for incremental ingestion, kept in columns so a run reads them cheaply.
        path=ID(stored=True, sortable=True),
        content_hash=ID(sortable=True),
        file_hash=ID(sortable=True),
    )


def quantized_length(length: int) -> int:
    """A field length as the index keeps it (one byte a document)."""
    return int(byte_to_length(length_to_byte(length)))


def continue_generations(ix, generation: int) -> None:
    """Make the index's next commit a later generation than ``generation``.

    A server's reader reopens when the folder's latest generation differs from its own; a
    rebuilt index starting again at 1 could equal the old number and be taken for unchanged.
    An empty table of contents at the old number makes the commit one more; Whoosh removes
    it then as an older generation.
    """
    TOC(ix.schema, [], generation).write(ix.storage, ix.indexname)


def open_index(index_dir: str | Path, create: bool = True):
    """Open the index in ``index_dir``, creating the folder and an empty index if needed.

    Without ``create``, a folder with no index raises FileNotFoundError. A table of contents
    that cannot be read raises :class:`IndexDamaged` (or :class:`IndexUnreadable`), not
    whatever Whoosh happened to trip over.

    Files are read, not memory-mapped: whoosh3 copies every file it opens from a mapped
    segment into a private buffer, which made a server's memory grow with the index size
    (350 MB for 5.5k documents); plain reads keep it near 150 MB at the same speed.
    """
    path = Path(index_dir)
    generations = _generations(path)
    if generations:
        with _reading(path, f"the table of contents {_toc_name(max(generations))}"):
            storage = FileStorage(str(path), supports_mmap=False)
            return _with_new_fields(storage, storage.open_index(INDEX_NAME))
    if not create:
        raise FileNotFoundError(f"no index in {path}")
    path.mkdir(parents=True, exist_ok=True)
    logger.info("creating an empty index in %s", path)
    return FileStorage(str(path), supports_mmap=False).create_index(build_schema(), INDEX_NAME)


def _added_fields(schema) -> dict:
    """The stored-only and ``ID`` fields of :func:`build_schema` that ``schema`` (an older
    index's) lacks: adding one changes no posting or column of the segments written, whose
    documents simply have no value (the reader reads a column segment by segment and leaves
    out those without it); new documents get theirs (``validity``, ``text_source``)."""
    return {name: field for name, field in build_schema().items()
            if type(field) in (STORED, ID) and name not in schema}


def _with_new_fields(storage, ix):
    """``ix``, with the stored-only fields added since it was made written into its schema.

    Whoosh refuses a document with a field its index's schema lacks (``UnknownFieldError``),
    and every writer (worker processes too) takes the schema from the latest table of
    contents. So an index made before a new stored field (``text_source``) gets it here, once:
    under the index's write lock, a table of contents one generation later names the same
    segments with the fuller schema (no document is rewritten; a server reading the index
    just reopens it). When the lock is held by a writer, or the folder is read-only, the
    index opens as it is: it can be searched, and the next opening upgrades it.
    """
    added = _added_fields(ix.schema)
    if not added:
        return ix
    lock = storage.lock(f"{INDEX_NAME}_WRITELOCK")
    try:
        if not lock.acquire(blocking=False):
            return ix
    except OSError as exc:
        logger.info("index in %s left without its new fields %s: %s", storage.folder,
                    ", ".join(added), exc)
        return ix
    try:
        toc = TOC.read(storage, INDEX_NAME)     # the latest, now that no writer can commit
        added = _added_fields(toc.schema)
        if not added:
            return storage.open_index(INDEX_NAME)
        for name, field in added.items():
            toc.schema.add(name, field)
        TOC(toc.schema, toc.segments, toc.generation + 1).write(storage, INDEX_NAME)
    except OSError as exc:
        logger.info("index in %s left without its new fields: %s", storage.folder, exc)
        return ix
    finally:
        lock.release()
    logger.info("index in %s: added the field(s) %s to its schema", storage.folder,
                ", ".join(added))
    return storage.open_index(INDEX_NAME)


@dataclass(frozen=True)
class IndexInfo:
    """What :func:`check_index` found: live documents, deleted ones awaiting a merge, segments
    and the generation (how many commits made the index)."""

    path: Path
    documents: int
    deleted: int
    segments: int
    generation: int


def check_index(index_dir: str | Path) -> IndexInfo:
    """Make sure the index in ``index_dir`` can be searched, reading a little of every file.

    Reads the table of contents, checks that each segment file is there and as long as its
    own directory says, then opens each segment and reads its first and last stored
    document, every column's last value and each field's first posting list. A missing,
    emptied, truncated or overwritten file is found; a flipped byte deep inside a posting list
    is not (Whoosh keeps no checksums). Writes nothing.

    Raises :class:`IndexMissing` (no index in the folder), :class:`IndexDamaged` (the message
    says which file and what to do) or :class:`IndexUnreadable` (permissions, I/O errors).
    """
    path = Path(index_dir)
    attempts = 3
    while True:
        generation = _latest_generation(path)
        try:
            return _check(path, generation)
        except IndexDamaged:
            # A commit that lands while we read removes the old generation's files: read the
            # new one rather than call a healthy index damaged.
            attempts -= 1
            if not attempts or _latest_generation(path) == generation:
                raise


def index_problem(index_dir: str | Path, exc: BaseException, where: str | None = None
                  ) -> IndexProblem:
    """What an error raised while reading the index in ``index_dir`` means to an operator.

    ``where`` names what was being read (``"the segment file documents_x.seg"``).
    """
    path = Path(index_dir)
    if isinstance(exc, IndexProblem):
        return exc
    if isinstance(exc, FileNotFoundError):
        what = (f"the file {Path(exc.filename).name}" if exc.filename
                else where or "a file of the index")
        return IndexDamaged(path, f"{what} is missing")
    if isinstance(exc, OSError):
        message = f"cannot read the index in {path}: {exc.strerror or exc}"
        if exc.filename:
            message += f": {exc.filename}"
        if isinstance(exc, PermissionError):
            message += ("; the user running this command needs read access to the folder "
                        "and its files")
        return IndexUnreadable(path, message)
    kind = type(exc).__name__
    if kind == "error":                 # struct.error
        kind = f"{type(exc).__module__}.error"
    detail = f"{kind}: {str(exc)[:100]}" if str(exc) else kind
    return IndexDamaged(path, f"{where or 'a file of the index'} is truncated or corrupt "
                              f"({detail})")


def latest_generation(index_dir: str | Path) -> int | None:
    """The generation of the newest table of contents in ``index_dir``; None when there is none.

    Reads only file names, so it answers even for a damaged index: the CLI compares it before
    and after a failed run to say truthfully whether the index changed.
    """
    try:
        generations = _generations(Path(index_dir))
    except OSError:
        return None
    return max(generations) if generations else None


def commit_time(index_dir: str | Path, generation: int) -> float | None:
    """When ``generation`` was committed: the time its table of contents was written (None
    when it is gone)."""
    try:
        return (Path(index_dir) / _toc_name(generation)).stat().st_mtime
    except OSError:
        return None


def _toc_name(generation: int) -> str:
    return f"_{INDEX_NAME}_{generation}.toc"


def _generations(path: Path) -> list[int]:
    """The generations of the tables of contents in ``path``; [] when it is not a folder."""
    try:
        names = os.listdir(path)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return _toc_generations(names)


def _toc_generations(names) -> list[int]:
    """The generations of the tables of contents among the file ``names``."""
    return [int(m.group(1)) for m in map(TOC_FILE.match, names) if m]


def _latest_generation(path: Path) -> int:
    """The newest generation in ``path``, or why there is no index there."""
    if not path.exists():
        raise IndexMissing(path, "the folder does not exist", creatable=True)
    if not path.is_dir():
        raise IndexMissing(path, "it is a file, not a folder", creatable=False)
    try:
        names = os.listdir(path)
    except OSError as exc:
        raise index_problem(path, exc) from None
    generations = _toc_generations(names)
    if generations:
        return max(generations)
    names = [n for n in names if not n.startswith(".") and n not in _IGNORED]
    if any(n.startswith(f"{INDEX_NAME}_") for n in names):
        raise IndexDamaged(path, f"it holds segment files but no table of contents "
                                 f"(_{INDEX_NAME}_N.toc)")
    if not names:
        raise IndexMissing(path, "the folder is empty (is the disk mounted?)", creatable=True)
    raise IndexMissing(path, "the folder holds other files but no index (is the path right?)",
                       creatable=False)


@contextmanager
def _reading(path: Path, what: str):
    """Turn whatever a damaged or unreadable file makes Whoosh raise into an IndexProblem."""
    try:
        yield
    except IndexProblem:
        raise
    except Exception as exc:  # noqa: BLE001 - any error reading the files means the same
        raise index_problem(path, exc, what) from exc


def _check(path: Path, generation: int) -> IndexInfo:
    storage = FileStorage(str(path), supports_mmap=False)
    with _reading(path, f"the table of contents {_toc_name(generation)}"):
        toc = TOC.read(storage, INDEX_NAME, gen=generation)
    for segment in toc.segments:
        _check_segment(path, storage, toc, segment)
    return IndexInfo(path=path, documents=sum(s.doc_count() for s in toc.segments),
                     deleted=sum(s.deleted_count() for s in toc.segments),
                     segments=len(toc.segments), generation=generation)


def _check_segment(path: Path, storage, toc, segment) -> None:
    if segment.is_compound():
        name = segment.make_filename(segment.COMPOUND_EXT)
        with _reading(path, f"the segment file {name}"):
            size = storage.file_length(name)
            parts = segment.open_compound_file(storage)
            try:
                for part in parts.list():
                    offset, length = parts.range(part)
                    if offset + length > size:
                        raise IndexDamaged(path, f"the segment file {name} is truncated "
                                                 f"({size} bytes; its part {part} ends at "
                                                 f"byte {offset + length})")
            finally:
                parts.close()
        what = f"the segment file {name}"
    else:
        what = f"the files of segment {segment.segment_id()}"
    with _reading(path, what):
        reader = SegmentReader(storage, toc.schema, segment, generation=toc.generation)
        try:
            _read_samples(reader)
        finally:
            reader.close()


def _read_samples(reader) -> None:
    """Read a little of every part of one segment: what a first search touches."""
    last = reader.doc_count_all() - 1
    for docnum in sorted({0, last}) if last >= 0 else ():
        if not reader.is_deleted(docnum):
            reader.stored_fields(docnum)
    for name, field in reader.schema.items():
        if last >= 0 and reader.has_column(name):
            # Raw values: an undated document's date column holds an out-of-range default
            # that only translating it into a datetime would trip over.
            reader.column_reader(name, translate=False)[last]
        if field.indexed:
            first = next(iter(reader.lexicon(name)), None)
            if first is not None:
                list(reader.postings(name, first).all_ids())
