"""One generation of the index, read as arrays: what searching needs of Whoosh, and nothing more.

:func:`open_generation` fixes one table of contents; :meth:`Generation.open` gives a
:class:`IndexReader` on it. A reader wraps one Whoosh searcher, whose files cannot be read by
two threads at once (a seek, then a read): each thread reads through a reader of its own.

Posting lists are read from the segment's posting arrays (:mod:`.postarrays`); in a segment
written before them, from the whoosh3 blocks of one read of the list's extent, decoded here
(the term info's extent, the blocks' pickled tuples), and for any other codec through Whoosh's
public matcher. Field lengths come from whoosh3's length columns (``_perdoc._cached_reader``),
columns in one piece. ``tests/index/test_postings.py`` and ``test_reader_columns.py`` guard
these internals against Whoosh's own readers.
"""

from __future__ import annotations

import io
import logging
import pickle
import struct
import zlib
from datetime import datetime
from typing import Iterator

import numpy as np
from whoosh import query as wq
from whoosh.codec.whoosh3 import (LENGTHS_COLUMN, WHOOSH3_HEADER_MAGIC, W3TermsReader,
                                  _lenfield)
from whoosh.reading import CorruptIndexError, TermNotFound
from whoosh.columns import NumericColumn, VarBytesColumn
from whoosh.searching import Searcher
from whoosh.util.numeric import byte_to_length
from whoosh.util.times import datetime_to_long

from search_service.index.postarrays import PostingArrays, arrays_of
from search_service.lru import LRU

logger = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1)
MISSING_DATE = np.iinfo(np.int64).min       # a document without a date, in :meth:`dates`
_EPOCH_LONG = datetime_to_long(EPOCH)
_LATEST = datetime_to_long(datetime(9999, 12, 31))
_BYTE_LENGTHS = np.array([byte_to_length(b) for b in range(256)], dtype=np.float32)
_EMPTY = (np.zeros(0, np.int64), np.zeros(0, np.float32))
_INT = struct.Struct("!i")            # whoosh.system's int


POSTINGS_CACHE_MAX = 4_000_000   # decoded postings a cache holds (12 bytes each)


class PostingsCache(LRU):
    """Decoded posting lists ``(docnums, weights)``, least recently used out first, bounded by
    the number of postings held; a list of over a quarter of that is never kept.

    Two are kept: one per index of single segments' lists (:func:`segment_postings`: a segment
    never changes once written, so what was decoded for one generation serves the next one
    too, and a commit that adds a segment costs its first searches only the new segment's
    lists), and one per generation of whole lists (:class:`~search_service.search.ranking.
    Collection`)."""

    def __init__(self, limit: int = POSTINGS_CACHE_MAX):
        super().__init__(limit, weight=lambda postings: len(postings[0]), largest=limit // 4)


def posting_arrays(index, leaves) -> list[PostingArrays | None]:
    """The posting arrays (:mod:`.postarrays`) of each of ``leaves``' segments, opened once
    per segment and kept on ``index`` while its generations name the segment."""
    kept = index.__dict__.setdefault("_posting_arrays", {})       # atomic
    folder = getattr(index.storage, "folder", None)
    out, keys = [], set()
    for leaf, _ in leaves:
        key = _segment_key(leaf)
        keys.add(key)
        if key is None or key not in kept:
            try:
                found = arrays_of(leaf, folder)
            except (OSError, ValueError) as exc:
                logger.warning("the posting arrays of segment %s are unreadable (%s); its "
                               "blocks are read instead", key, exc)
                found = None
            if key is None:
                out.append(found)
                continue
            kept[key] = found
        out.append(kept[key])
    for key in [key for key in list(kept) if key not in keys]:   # segments merged away
        kept.pop(key, None)
    return out


def segment_postings(index) -> PostingsCache:
    """The cache of single segments' lists of ``index`` (the opened index object, shared by
    every generation an engine opens from it)."""
    return index.__dict__.setdefault("_segment_postings", PostingsCache())   # atomic


class Generation:
    """One table of contents of an index: every reader opened on it sees the same segments."""

    def __init__(self, index):
        self._index = index
        self._toc = index._read_toc()
        self.number = self._toc.generation

    def open(self) -> "IndexReader":
        toc = self._toc
        reader = self._index._reader(self._index.storage, toc.schema, list(toc.segments),
                                     toc.generation)
        return IndexReader(Searcher(reader, fromindex=self._index), self._index)


def open_generation(index) -> Generation:
    """The index's current generation (its newest commit)."""
    return Generation(index)


def column_by_id(index, fieldname: str) -> dict[str, object]:
    """``{document id: value}`` of one column over the index's live documents (documents
    without a value are left out)."""
    reader = open_generation(index).open()
    try:
        live = reader.live()
        ids = dict(reader.column_values("id"))
        return {ids[n]: value for n, value in reader.column_values(fieldname)
                if live[n] and n in ids and value not in (None, "")}
    finally:
        reader.close()


class Segment:
    """The terms of one segment (segments never change once written)."""

    def __init__(self, leaf):
        self._leaf = leaf

    def terms(self, fieldname: str) -> Iterator[str]:
        if fieldname not in self._leaf.schema:
            return iter(())
        return (_text(raw) for raw in self._leaf.lexicon(fieldname))


class IndexReader:
    """Postings, lengths, columns, stored fields and terms of one generation, by document
    number (0 .. ``size`` - 1, segment after segment)."""

    def __init__(self, searcher: Searcher, index=None):
        """``index`` (the opened index the searcher reads) lends what outlives a generation:
        each segment's posting arrays and its decoded lists; without it, every list is
        decoded anew from Whoosh's blocks."""
        self._searcher = searcher
        reader = searcher.reader()
        self._reader = reader
        self.size = reader.doc_count_all()
        self._leaves = list(reader.leaf_readers())
        self._segment_keys = [_segment_key(leaf) for leaf, _ in self._leaves]
        if index is None:
            self._decoded, self._arrays = None, [None] * len(self._leaves)
        else:
            self._decoded = segment_postings(index)
            self._arrays = posting_arrays(index, self._leaves)

    @property
    def decodes_blocks(self) -> bool:
        """Whether some segment has no posting arrays (its lists are decoded from blocks)."""
        return any(arrays is None for arrays in self._arrays)

    def close(self) -> None:
        self._searcher.close()

    # -- per document arrays -----------------------------------------------------------------
    def lengths(self, fieldname: str) -> np.ndarray:
        """Each document's length in ``fieldname`` (Whoosh keeps it as one byte a document),
        read a segment's column at a time."""
        out = np.zeros(self.size, dtype=np.float32)
        for leaf, offset in self._leaves:
            count = leaf.doc_count_all()
            column = _length_column(leaf, fieldname)
            if column is not None:
                values = (_numbers(column) if type(column) is NumericColumn.Reader
                          else np.asarray(column.load()))
                out[offset:offset + count] = _BYTE_LENGTHS[values.astype(np.uint8)]
            else:
                out[offset:offset + count] = [leaf.doc_field_length(d, fieldname, 0) or 0
                                              for d in range(count)]
        return out

    def live(self) -> np.ndarray:
        """True for each document not deleted."""
        live = np.ones(self.size, dtype=bool)
        for leaf, offset in self._leaves:
            if leaf.has_deletions():
                live[[offset + d for d in range(leaf.doc_count_all()) if leaf.is_deleted(d)]] = False
        return live

    def column_values(self, fieldname: str, translate: bool = True):
        """``(docnum, value)`` of a column, read segment by segment: a segment written
        without any value for the field has no column, which would shift a merged view."""
        for offset, values in self.column_parts(fieldname, translate):
            yield from enumerate(values, offset)

    def column_parts(self, fieldname: str, translate: bool = True):
        """``(first docnum, values)`` of a column, one segment at a time (segments without
        it are left out)."""
        for leaf, offset in self._leaves:
            if fieldname not in leaf.schema or not leaf.has_column(fieldname):
                continue
            yield offset, _column_values(leaf, fieldname, translate)

    def missing_value(self, fieldname: str):
        """The value a numeric column holds for "none" (None for other columns, and for a
        field an older index does not have)."""
        schema = self._leaves[0][0].schema if self._leaves else {}
        return getattr(schema[fieldname], "default", None) if fieldname in schema else None

    def dates(self, fieldname: str) -> np.ndarray:
        """Seconds since 1970 per document; ``MISSING_DATE`` where there is none."""
        out = np.full(self.size, MISSING_DATE, dtype=np.int64)
        # Raw values (microseconds since year 1); a missing date is an out-of-range default.
        for docnum, raw in self.column_values(fieldname, translate=False):
            if isinstance(raw, int) and 0 <= raw < _LATEST:
                out[docnum] = (raw - _EPOCH_LONG) // 1_000_000
        return out

    # -- postings and terms --------------------------------------------------------------------
    def postings(self, fieldname: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """``(docnums, weights)`` of a term over every segment."""
        ids, weights = [], []
        for (leaf, offset), segment, arrays in zip(self._leaves, self._segment_keys,
                                                   self._arrays):
            if arrays is not None:      # a slice of a map each time: nothing to keep
                local = arrays.get(fieldname, leaf._text_to_bytes(fieldname, term)) \
                    if fieldname in leaf.schema else None
                if local is None:
                    continue
            else:
                key = (segment, fieldname, term)
                cache = self._decoded if segment is not None else None
                found, local = cache.get(key) if cache is not None else (False, None)
                if not found:
                    local = _segment_postings(leaf, fieldname, term)
                    if cache is not None:
                        cache.put(key, local)
            if not len(local[0]):
                continue
            ids.append(local[0] + offset if offset else local[0])
            weights.append(local[1])
        return _joined(ids, weights)

    def expand_prefix(self, fieldname: str, prefix: str, limit: int | None = None) -> list[str]:
        """Terms of ``fieldname`` starting with ``prefix``, in any segment (at most ``limit``)."""
        found: dict[str, None] = {}
        for leaf, _ in self._leaves:
            for term in leaf.expand_prefix(fieldname, prefix):
                found[_text(term)] = None
                if limit is not None and len(found) >= limit:
                    return sorted(found)
        return sorted(found)

    def terms_within(self, fieldname: str, text: str, maxdist: int = 1,
                     prefix: int = 0) -> list[str]:
        """Terms within ``maxdist`` edits of ``text`` sharing its first ``prefix`` letters."""
        return [_text(t) for t in self._reader.terms_within(fieldname, text, maxdist,
                                                             prefix=prefix)]

    def segments(self) -> list[tuple[object, Segment]]:
        """``(key, segment)`` for each segment; the key names it across generations."""
        return [(key if key is not None else id(leaf), Segment(leaf))
                for (leaf, _), key in zip(self._leaves, self._segment_keys)]

    # -- positional matches ----------------------------------------------------------------------
    def phrase_mask(self, phrases: list[list[str]], fields: tuple[str, ...]) -> np.ndarray:
        """Documents holding every phrase (its terms in a row) in one of ``fields``."""
        query = wq.And([wq.Or([wq.Phrase(f, list(p)) for f in fields]) for p in phrases])
        return self._mask(query)

    def terms_mask(self, terms: list[str], fields: tuple[str, ...]) -> np.ndarray:
        """Documents holding any of ``terms`` in any of ``fields``."""
        return self._mask(wq.Or([wq.Term(f, t) for t in terms for f in fields]))

    def _mask(self, query) -> np.ndarray:
        mask = np.zeros(self.size, dtype=bool)
        docs = list(self._searcher.docs_for_query(query))
        if docs:
            mask[np.fromiter(docs, dtype=np.int64, count=len(docs))] = True
        return mask

    # -- stored fields -----------------------------------------------------------------------------
    def stored(self, docnum: int) -> dict:
        return self._searcher.stored_fields(int(docnum))

    def docnum_of(self, doc_id: str) -> int | None:
        """The live document numbered ``doc_id``, or None."""
        return self._searcher.document_number(id=doc_id)

    def stored_where(self, fieldname: str, value: str) -> list[dict]:
        """Stored fields of every live document whose ``fieldname`` holds ``value``."""
        return list(self._searcher.documents(**{fieldname: value}))


def _text(term) -> str:
    return term.decode("utf-8") if isinstance(term, bytes) else term


def _length_column(leaf, fieldname):
    """The column of a W3 segment's field lengths (whoosh3 internals), or None."""
    perdoc = getattr(leaf, "_perdoc", None)
    if perdoc is None or not hasattr(perdoc, "_cached_reader"):
        return None
    column = perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
    return column if hasattr(column, "load") else None


def _column_values(leaf, fieldname: str, translate: bool) -> list:
    """Every value of one segment's column, in document order.

    Whoosh reads a column one value at a time (a seek and a read each: ~0.1 s for the six
    columns of 10,000 documents, on the path of a new generation to being served); the
    columns the schema uses are read here in one piece (whoosh3 internals), and any other
    through Whoosh."""
    column = leaf.column_reader(fieldname, translate=False)
    if type(column) is NumericColumn.Reader:
        values = _numbers(column).tolist()
    elif type(column) is VarBytesColumn.Reader:
        values = _byte_strings(column)
    else:
        column = leaf.column_reader(fieldname, translate=translate)
        return list(column.load() if hasattr(column, "load") else column)
    if not translate:
        return values
    convert, seen = leaf.schema[fieldname].from_column_value, {}
    out = []
    for raw in values:            # few distinct values in a facet column: each converted once
        value = seen.get(raw, seen)
        if value is seen:
            value = seen[raw] = convert(raw)
        out.append(value)
    return out


def _numbers(column) -> np.ndarray:
    """A whoosh3 numeric column (``NumericColumn.Reader``), read in one piece; documents
    after the last one written hold the column's default, as Whoosh says."""
    typecode, count, size = column._typecode, column._doccount, column._fixedlen
    dtype = np.dtype(">" + typecode)
    if dtype.itemsize != size:     # struct's standard sizes are not numpy's for "l"
        return np.asarray(column.load())
    written = min(column._count, count)
    out = np.full(count, column._default, dtype=dtype.newbyteorder("="))
    if written:
        data = column._dbfile.get(column._basepos, written * size)
        out[:written] = np.frombuffer(data, dtype=dtype)
    return out


def _byte_strings(column) -> list[bytes]:
    """A whoosh3 ``VarBytesColumn.Reader``'s values, from one read of its data."""
    lengths, offsets = column._lengths, column._offsets
    if not len(lengths):
        return []
    data = column._dbfile.get(column._basepos, offsets[-1] + lengths[-1])
    return [data[o:o + n] for o, n in zip(offsets, lengths)]


def _segment_key(leaf):
    """What names a segment across generations (None: not known, so not cached)."""
    segment = leaf.segment() if hasattr(leaf, "segment") else None
    return segment.segment_id() if segment is not None else None


def _segment_postings(leaf, fieldname: str, term: str):
    """``(docnums, weights)`` of a term in one segment, deleted documents included (a
    search leaves them out through its scope); empty where the segment lacks the term.

    A whoosh3 segment's list is read in one piece (its term info gives the extent) and its
    blocks decoded here: reading them through the matcher costs a seek and a read for
    every few bytes of a block header, three times the decoding itself."""
    if fieldname not in leaf.schema:
        return _EMPTY
    terms = getattr(leaf, "_terms", None)
    tbytes = leaf._text_to_bytes(fieldname, term)
    if not isinstance(terms, W3TermsReader):      # another codec: Whoosh's public matcher
        if (fieldname, tbytes) not in leaf:
            return _EMPTY
        return _matched(leaf.postings(fieldname, term))
    try:
        info = terms.term_info(fieldname, tbytes)
    except TermNotFound:
        return _EMPTY
    if info.is_inlined():
        ids, weights, _ = info.inlined_postings()
        return np.array(ids, dtype=np.int64), np.array(weights, dtype=np.float32)
    offset, length = info.extent()
    if isinstance(length, tuple):     # whoosh3's from_bytes leaves it a 1-tuple
        length = length[0]
    return _decode_blocks(terms._postfile.get(offset, length), offset)


def _decode_blocks(data: bytes, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """The blocks of one whoosh3 posting list (``W3LeafMatcher``'s format): the header tag,
    then blocks of a length (negative for the last), a pickled info tuple and the pickled,
    maybe compressed, ``(id deltas, weights, values)``; ids restart from 0 in each block."""
    if data[:4] != WHOOSH3_HEADER_MAGIC:
        raise CorruptIndexError(f"Bad postings block tag {bytes(data[:4])!r} at offset "
                                f"{offset}: the index appears damaged.")
    ids, weights = [], []
    pos, end = 4, len(data)
    try:
        while pos < end:
            size = _INT.unpack_from(data, pos)[0]
            last, size = size < 0, abs(size)
            block = io.BytesIO(data[pos + 4:pos + 4 + size])
            count, _, _, compression, _, _ = pickle.load(block)
            body = block.getbuffer()[block.tell():]
            deltas, block_weights, _ = pickle.loads(zlib.decompress(body) if compression
                                                    else body)
            ids.append(np.cumsum(np.array(deltas, dtype=np.int64)))
            if block_weights is None:
                weights.append(np.ones(count, dtype=np.float32))
            elif isinstance(block_weights, float):
                weights.append(np.full(count, block_weights, dtype=np.float32))
            else:
                weights.append(np.array(block_weights, dtype=np.float32))
            pos += 4 + size
            if last:
                break
    except (pickle.UnpicklingError, zlib.error, struct.error, ValueError, TypeError,
            EOFError, IndexError) as exc:
        raise CorruptIndexError(f"Damaged postings block at offset {offset + pos}: "
                                f"{exc!r}; the index appears damaged.") from exc
    return _joined(ids, weights)


def _joined(ids: list, weights: list) -> tuple[np.ndarray, np.ndarray]:
    """Parts of one posting list as one ``(docnums, weights)`` (a single part as it is)."""
    if not ids:
        return _EMPTY
    if len(ids) == 1:
        return ids[0], weights[0]
    return np.concatenate(ids), np.concatenate(weights)


def _matched(matcher) -> tuple[np.ndarray, np.ndarray]:
    """A list through Whoosh's public matcher protocol, a posting at a time."""
    ids, weights = [], []
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    return np.array(ids, dtype=np.int64), np.array(weights, dtype=np.float32)
