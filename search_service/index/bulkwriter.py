"""A Whoosh segment writer that keeps each term's postings together while documents arrive.

Whoosh's ``SegmentWriter`` sends every posting through an external-sort pool: one tuple per
posting, pickled to a temporary run whenever 128 MB of them pile up, read back and merged at
commit, then written one posting at a time. Our fields give about 1,300 postings per news
article, so that path was half of the ingest time. Documents arrive in document-number order,
so a term's postings are already sorted when kept in per-term lists; only the terms need
sorting at commit, and each block of up to 128 postings is encoded at once, in the whoosh3
format. The files are byte for byte those ``SegmentWriter`` writes (a test compares them).

Memory is bounded: past ``max_buffered`` postings the lists are written to a temporary run
file, sorted by term, and emptied. At commit the runs, the lists and the postings of older
segments merged in (which go through Whoosh's pool as before) are merged term by term into
the one segment; they come in document order, so a term's postings are only concatenated.

The text fields of our schema are analyzed once per source text (``text.layers.index_layers``)
instead of once per field; the other fields go through Whoosh's ``field.index`` as usual.
"""

from __future__ import annotations

import gc
import heapq
import marshal
import os
import zlib
from array import array
from collections import Counter
from contextlib import contextmanager
from functools import lru_cache, partial
from itertools import groupby
from operator import itemgetter
from pickle import dumps

from whoosh import formats
from whoosh.codec.whoosh3 import (COMPRESSION_MIN_SIZE, WHOOSH3_HEADER_MAGIC, W3FieldWriter,
                                  W3TermInfo)
from whoosh.system import pack_int, pack_long, pack_uint, pack_ushort
from whoosh.util.numeric import length_to_byte
from whoosh.util import random_name
from whoosh.writing import PostingPool, SegmentWriter

from search_service.index.analyzers import layer_of
from search_service.index.postarrays import EXTENSION as ARRAYS_EXTENSION, ArraysWriter
from search_service.text.layers import index_layers

# Postings kept in memory before they are spilled to a run file: about 3,000 news articles,
# some 360 MB (measured: ~90 bytes a posting, its share of the term dictionaries included).
MAX_BUFFERED = 4_000_000
# Garbage collector thresholds while indexing: the posting lists are millions of objects
# without cycles, and the default thresholds made the collector a tenth of the ingest time.
RELAXED_GC = (100_000, 50, 100)


@contextmanager
def relaxed_gc():
    """Run the cyclic garbage collector less often inside the block."""
    before = gc.get_threshold()
    gc.set_threshold(*RELAXED_GC)
    try:
        yield
    finally:
        gc.set_threshold(*before)


class BufferedSegmentWriter(SegmentWriter):
    """``SegmentWriter`` with per-term posting lists instead of the sorting pool."""

    def __init__(self, ix, *, max_buffered: int = MAX_BUFFERED, tempname: str | None = None,
                 **kwargs):
        super().__init__(ix, **kwargs)
        if tempname:        # a worker process's own: another writer's commit must not wipe it
            self._tempstorage = self.storage.temp_storage(tempname)
            self.pool = PostingPool(self._tempstorage, self.newsegment)
        if not isinstance(self.fieldwriter, W3FieldWriter):
            raise TypeError("BufferedSegmentWriter writes whoosh3 segments only")
        if any(field.separate_spelling() for _, field in self.schema.items()):
            raise TypeError("BufferedSegmentWriter does not write separate spelling fields")
        self.max_buffered = max_buffered
        # fieldname → {btext: (docnums, weights, values)}, see _add_postings
        self._lists: dict[str, dict[bytes, tuple | list]] = {}
        self._buffered = 0
        self._runs: list[str] = []      # files of postings spilled from the lists
        self._fast = fast_indexers(self.schema)

    def add_document(self, **fields):
        """``SegmentWriter.add_document``, with postings going to the per-term lists."""
        self._check_state()
        perdocwriter, schema, docnum = self.perdocwriter, self.schema, self.docnum
        docboost = self._doc_boost(fields)
        fieldnames = sorted(name for name in fields if not name.startswith("_"))
        self._check_fields(schema, fieldnames)
        postings = []
        perdocwriter.start_doc(docnum)
        try:
            for fieldname in fieldnames:
                value = fields.get(fieldname)
                if value is None:
                    continue
                field = schema[fieldname]
                length = 0
                if field.indexed:
                    fieldboost = self._field_boost(fields, fieldname, docboost)
                    fast = self._fast.get(fieldname)
                    items = fast(value) if fast and isinstance(value, str) \
                        else field.index(value)
                    items = list(items)
                    if field.scorable:
                        length = sum(item[1] for item in items)
                    postings.append((fieldname, items, fieldboost))
                if field.vector:
                    vitems = sorted((text, weight, vbytes) for text, _, weight, vbytes
                                    in field.vector.word_values(value, field.analyzer,
                                                                mode="index"))
                    perdocwriter.add_vector_items(fieldname, field, vitems)
                customval = fields.get(f"_stored_{fieldname}", value)
                perdocwriter.add_field(fieldname, field, customval if field.stored else None,
                                       length)
                column = field.column_type
                if column and customval is not None:
                    perdocwriter.add_column_value(fieldname, column,
                                                  field.to_column_value(customval))
        except ValueError:
            perdocwriter.cancel_doc()
            raise
        perdocwriter.finish_doc()
        # Only a document that went through whole reaches the lists.
        for fieldname, items, fieldboost in postings:
            self._add_postings(fieldname, docnum, items, fieldboost)
        self._added = True
        self.docnum += 1
        if self._buffered > self.max_buffered:
            self._spill()

    def _add_postings(self, fieldname, docnum, items, fieldboost):
        """Most terms (pairs above all) occur in one document: they are kept as one tuple
        ``(docnums, weights, values)`` of one-item tuples, and become growable lists (arrays
        for the numbers) at their second posting. That halves the memory per term."""
        terms = self._lists.get(fieldname)
        if terms is None:
            terms = self._lists[fieldname] = {}
        for tbytes, _, weight, vbytes in items:
            lists = terms.get(tbytes)
            if lists is None:
                terms[tbytes] = ((docnum,), (weight * fieldboost,), (vbytes,))
                continue
            if type(lists) is tuple:
                lists = terms[tbytes] = [array("I", lists[0]), array("d", lists[1]),
                                         list(lists[2])]
            lists[0].append(docnum)
            lists[1].append(weight * fieldboost)
            lists[2].append(vbytes)
        self._buffered += len(items)

    def _spill(self):
        """Write the lists to a run file in term order and empty them."""
        path = os.path.join(self._tempstorage.folder, f"{random_name()}.postings")
        with open(path, "wb") as run:
            for fieldname, tbytes, docnums, weights, values in self._listed():
                marshal.dump((fieldname, tbytes, array("I", docnums).tobytes(),
                              array("d", weights).tobytes(), tuple(values)), run)
        self._runs.append(path)
        self._lists, self._buffered = {}, 0

    def _listed(self):
        """The lists as ``(fieldname, btext, docnums, weights, values)``, in term order."""
        for fieldname in sorted(self._lists):
            terms = self._lists[fieldname]
            for tbytes in sorted(terms):
                yield (fieldname, tbytes, *terms[tbytes])

    def cancel(self):
        """Drop what was added, and the files of the segment begun for it.

        Whoosh's ``cancel`` leaves them (three to five files) until some later commit, so a
        run that changed nothing would not leave the index folder as it found it. Holding the
        write lock, every segment file the current table of contents does not name is such
        a leftover, also of a killed run or its workers, and is removed as a commit would.
        """
        self._check_state()
        try:
            self._close_segment()
            self._remove_uncommitted_files()
        except Exception:
            self._cleanup_on_error()
            raise
        self._finish()

    def _remove_uncommitted_files(self):
        from whoosh.index import clean_files

        if self.writelock:
            clean_files(self.storage, self.indexname, self.generation - 1, self.segments)
        else:                           # a worker's writer: only its own segment is its own
            for name in self.newsegment.list_files(self.storage):
                self.storage.delete_file(name)

    # -- commit (SegmentWriter.commit calls _flush_segment) ----------------------------------
    def finish_segments(self) -> list:
        """Write out the new segment: ``[segment]``, or ``[]`` when nothing was added."""
        if self._added:
            return [self._finalize_segment()]
        self._close_segment()
        return []

    def _flush_segment(self):
        self.perdocwriter.close()
        pdr = self.per_document_reader() if self.codec.length_stats else None
        try:
            self._write_terms(pdr)
        finally:
            self.fieldwriter.close()
            if pdr:
                pdr.close()

    def _term_lists(self):
        """``(fieldname, btext, docnums, weights, values)`` in term order: the runs, then the
        lists, then the pool (older segments merged in), which is document order."""
        streams = [*map(_read_run, self._runs), self._listed()]
        if self.pool.current or self.pool.runs:
            streams.append((key[0], key[1], *zip(*((d, w, v) for _, _, d, w, v in group)))
                           for key, group in groupby(self.pool.iter_postings(),
                                                     key=itemgetter(0, 1)))
        return streams[0] if len(streams) == 1 else _merge_terms(*streams)

    def _write_terms(self, pdr):
        fieldwriter, schema, ndocs = self.fieldwriter, self.schema, self.docnum
        postfile, termindex = fieldwriter._postfile, fieldwriter._tindex
        block = _BlockWriter(postfile, self.codec._blocklimit, self.codec._compression)
        arrays = ArraysWriter(self.newsegment.create_file(self.storage, ARRAYS_EXTENSION), ndocs)
        current = None
        for fieldname, tbytes, docnums, weights, values in self._term_lists():
            if fieldname != current:
                if current is not None:
                    fieldwriter.finish_field()
                current = fieldname
                fieldobj = schema[fieldname]
                fieldwriter.start_field(fieldname, fieldobj)
                prefix = pack_ushort(fieldwriter._fieldid)
                fixed = fieldobj.format.fixed_value_size()
                lengths = _field_lengths(pdr, fieldname, ndocs)
            termindex.add(prefix + tbytes, block.write(docnums, weights, values, lengths, fixed))
            arrays.add(fieldname, tbytes, docnums, weights)
        if current is not None:
            fieldwriter.finish_field()
        arrays.close()


def _merge_terms(*streams):
    """Term-sorted streams as one. They come in document order, and heapq.merge keeps the
    order of the streams for equal terms, so a term's postings are concatenated."""
    term = itemgetter(0, 1)
    for key, group in groupby(heapq.merge(*streams, key=term), key=term):
        group = list(group)
        if len(group) == 1:
            yield group[0]
        else:
            yield (*key, *([x for entry in group for x in entry[i]] for i in (2, 3, 4)))


def _read_run(path: str):
    """The entries :meth:`BufferedSegmentWriter._spill` wrote, in the same order."""
    with open(path, "rb") as run:
        while True:
            try:
                fieldname, tbytes, docnums, weights, values = marshal.load(run)
            except EOFError:
                return
            yield fieldname, tbytes, _array("I", docnums), _array("d", weights), values


def _array(typecode: str, data: bytes) -> array:
    numbers = array(typecode)
    numbers.frombytes(data)
    return numbers


def _field_lengths(pdr, fieldname, ndocs) -> list:
    """Each document's length in ``fieldname`` as Whoosh stores it (one byte, so rounded)."""
    if pdr is None:
        return [0] * ndocs
    get = pdr.doc_field_length_reader(fieldname)
    return [get(docnum) for docnum in range(ndocs)]


class _BlockWriter:
    """Writes one term's postings as ``W3PostingsWriter`` does, a whole block at a time.

    ``W3PostingsWriter`` takes postings one by one and keeps block statistics as it goes;
    here each block's statistics are taken from its lists at once, and a term is one write.
    The bytes are the same: blocks of ``limit`` postings, each a pickled info tuple and a
    pickled (and, from ``COMPRESSION_MIN_SIZE`` bytes, compressed) data tuple; then the
    term's ``W3TermInfo`` bytes for the term table.
    """

    def __init__(self, postfile, limit: int, compression: int):
        self.postfile, self.limit, self.compression = postfile, limit, compression
        self.offset = postfile.tell()   # nothing else writes to the postings file meanwhile

    def write(self, docnums, weights, values, lengths, fixed) -> bytes:
        """Write the postings; returns the term info bytes for the term table."""
        limit, total = self.limit, len(docnums)
        chunks = [WHOOSH3_HEADER_MAGIC]
        # What W3TermInfo.add_block gathers over the blocks, and its to_bytes() writes.
        term_weight, term_minlength, term_maxlength, term_maxweight = 0, None, 0, 0
        for first in range(0, total, limit):
            ids = docnums[first:first + limit]
            block_weights = array("f", weights[first:first + limit])
            block_values = [v for v in values[first:first + limit] if v]
            block_lengths = [n for n in map(lengths.__getitem__, ids) if n]
            minlength = min(block_lengths) if block_lengths else None
            maxlength = max(block_lengths) if block_lengths else 0
            maxweight = max(0, max(weights[first:first + limit]))
            data = dumps((_deltas(ids), _mini_weights(block_weights),
                          _mini_values(block_values, fixed)), 2)
            compression = self.compression if len(data) >= COMPRESSION_MIN_SIZE else 0
            if compression:
                data = zlib.compress(data, compression)
            header = dumps((len(ids), ids[-1], maxweight, compression,
                            length_to_byte(minlength), length_to_byte(maxlength)), 2)
            size = len(header) + len(data)
            chunks += (pack_int(-size if first + limit >= total else size), header, data)
            term_weight += sum(block_weights)
            term_minlength = minlength if term_minlength is None \
                else min(term_minlength, minlength)
            term_maxlength = max(term_maxlength, maxlength)
            term_maxweight = max(term_maxweight, maxweight)
        blob = b"".join(chunks)
        self.postfile.write(blob)
        start, self.offset = self.offset, self.offset + len(blob)
        return W3TermInfo._struct.pack(
            False, term_weight, total,
            0 if term_minlength is None else length_to_byte(term_minlength),
            length_to_byte(term_maxlength), term_maxweight, docnums[0], docnums[-1],
        ) + pack_long(start) + pack_int(len(blob))


def _deltas(ids) -> tuple:
    previous, out = 0, []
    for n in ids:
        out.append(n - previous)
        previous = n
    return tuple(out)


def _mini_weights(weights):
    if weights.count(1.0) == len(weights):
        return None
    if weights.count(weights[0]) == len(weights):
        return weights[0]
    return tuple(weights)


def _mini_values(values, fixed):
    if fixed is None or fixed < 0:
        return tuple(values)
    return None if fixed == 0 else b"".join(values)


# -- analysis ----------------------------------------------------------------------------
def fast_indexers(schema) -> dict:
    """fieldname → ``f(text)`` giving what ``field.index(text)`` gives, for the fields that use
    one of our analyzers with a frequency or positions format."""
    indexers = {}
    for name, field in schema.items():
        fmt = getattr(field, "format", None)
        if type(fmt) not in (formats.Frequency, formats.Positions):
            continue
        layer = layer_of(field.analyzer)
        if layer is not None:
            indexers[name] = partial(_index_layer, layer, fmt)
    return indexers


@lru_cache(maxsize=4)
def _layers(value: str) -> dict:
    return index_layers(value)


@lru_cache(maxsize=1024)
def _freq_bytes(freq: int) -> bytes:
    return pack_uint(freq)


def _index_layer(layer: str, fmt, value: str) -> list:
    """``(btext, freq, weight, vbytes)`` for each distinct term, as the format computes them."""
    tokens = _layers(value)[layer]
    boost = fmt.field_boost
    if type(fmt) is formats.Positions:
        positions: dict[str, list[int]] = {}
        for text, position in tokens:
            positions.setdefault(text, []).append(position)
        return [(text.encode("utf-8"), len(p), float(len(p)) * boost, fmt.encode(p))
                for text, p in positions.items()]
    if layer == "folded":
        tokens = [text for text, _ in tokens]
    return [(text.encode("utf-8"), n, float(n) * boost, _freq_bytes(n))
            for text, n in Counter(tokens).items()]
