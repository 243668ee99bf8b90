"""Every posting list of a segment a second time, as plain arrays beside Whoosh's blocks.

A whoosh3 posting list is blocks of 128 postings, each a pickled, compressed tuple holding
the positions too, found through a hash file read a few bytes at a time: the first search of
a long question spent ~25 ms of its ~50 ms there (a folded body list, with positions, cost
four times a plain one). Ranking needs only document numbers and weights, so
:class:`ArraysWriter` writes each list once more as two arrays, in a file of the segment
(``<segment>.arr``, packed into the compound ``.seg`` with the others, written before the
table of contents names the segment: it appears and goes with its segment). Reading a list
is a binary search in a sorted array of key hashes and two slices of a memory map
(:func:`arrays_of`); a term the segment lacks is known absent the same way. Segments written
before this file existed are read from Whoosh's blocks (``reader._segment_postings``).

Layout, little endian: ``MAGIC``; the lists, each its document numbers (``uint16`` in a
segment of at most 65,536 documents, else ``uint32``) then, unless every weight is 1, its
weights (``float32``, as Whoosh keeps them); the directory, sorted by key hash: the hashes'
first and second halves (``uint64`` each: a 128-bit BLAKE2b of field name, NUL, term bytes),
the lists' offsets (``uint64``) and posting counts (``uint32``, the top bit set when weights
follow); then ``HEADER``: the id width, the number of lists and the directory's offset.
"""

from __future__ import annotations

import mmap
import os
import struct
import sys
from array import array
from hashlib import blake2b

import numpy as np
from whoosh.reading import CorruptIndexError

EXTENSION = ".arr"
MAGIC = b"TCPARR2\n"
HEADER = struct.Struct("<BQQ")       # id bytes, lists, directory offset (the file's end)
_WEIGHTED = 1 << 31
_COUNT = _WEIGHTED - 1
_ONE = np.float32(1.0)
_ENTRY = 8 + 8 + 8 + 4   # a directory entry: the hash's two halves, the offset, the count
_LITTLE = sys.byteorder == "little"


def key_hash(fieldname: str, tbytes: bytes) -> tuple[int, int]:
    """The two 64-bit halves of a term's key hash."""
    digest = blake2b(fieldname.encode("utf-8") + b"\0" + tbytes, digest_size=16).digest()
    return int.from_bytes(digest[:8], "little"), int.from_bytes(digest[8:], "little")


class ArraysWriter:
    """Writes a segment's lists while its terms are written (in any order), then the
    directory; memory holds the directory only (``_ENTRY`` bytes a term)."""

    def __init__(self, dbfile, doc_count: int):
        self._file = dbfile
        self._id_code = "H" if doc_count <= 1 << 16 else "I"
        self._hi, self._lo, self._offsets = array("Q"), array("Q"), array("Q")
        self._counts = array("I")
        dbfile.write(MAGIC)
        self._offset = len(MAGIC)

    def add(self, fieldname: str, tbytes: bytes, docnums, weights) -> None:
        """One term's postings, document numbers ascending."""
        hi, lo = key_hash(fieldname, tbytes)
        count = len(docnums)
        if count > _COUNT:
            raise ValueError(f"a posting list of {count} postings is too long to keep")
        ids = array(self._id_code, docnums)
        weighted = weights.count(1.0) != count
        self._hi.append(hi)
        self._lo.append(lo)
        self._offsets.append(self._offset)
        self._counts.append(count | _WEIGHTED if weighted else count)
        for data in (ids, array("f", weights)) if weighted else (ids,):
            data = data.tobytes() if _LITTLE else _swapped(data)
            self._file.write(data)
            self._offset += len(data)

    def close(self) -> None:
        """Write the directory and the header, and close the file."""
        hi = np.frombuffer(self._hi, dtype=np.uint64)
        lo = np.frombuffer(self._lo, dtype=np.uint64)
        order = np.lexsort((lo, hi))
        directory = (hi[order], lo[order], np.frombuffer(self._offsets, dtype=np.uint64)[order],
                     np.frombuffer(self._counts, dtype=np.uint32)[order])
        start = self._offset
        for column in directory:
            self._file.write(column.astype(column.dtype.newbyteorder("<")).tobytes())
        self._file.write(HEADER.pack(array(self._id_code).itemsize, len(order), start))
        self._file.close()


def _swapped(data: array) -> bytes:
    copy = array(data.typecode, data)
    copy.byteswap()
    return copy.tobytes()


class PostingArrays:
    """The lists of one segment: ``get(fieldname, tbytes)`` → ``(docnums, weights)`` (int64,
    float32), or None when the segment lacks the term.

    A list pointing outside the file, or holding a document number past the segment's
    ``doc_count``, raises :class:`~whoosh.reading.CorruptIndexError` (the index is damaged:
    Whoosh keeps no checksums, so this is what a search can still see)."""

    def __init__(self, buffer, base: int, length: int, doc_count: int | None = None,
                 name: str = "posting arrays"):
        if length < len(MAGIC) + HEADER.size or buffer[base:base + len(MAGIC)] != MAGIC:
            raise ValueError("not a posting arrays file of this version")
        self._buffer, self._base, self._name = buffer, base, name
        self._doc_count = doc_count
        end = base + length
        id_bytes, lists, start = HEADER.unpack(buffer[end - HEADER.size:end])
        if id_bytes not in (2, 4) or start + lists * _ENTRY + HEADER.size != length:
            raise ValueError("the posting arrays file is truncated or damaged")
        self._ids = np.dtype("<u2" if id_bytes == 2 else "<u4")
        self._id_bytes = id_bytes
        at = base + start
        # Searched: copied into memory once (8 bytes a term), as a search of an unaligned
        # array (the file sits anywhere in its compound segment) copies it every time.
        self._hi = np.frombuffer(buffer, "<u8", lists, at).astype(np.uint64)
        self._lo = np.frombuffer(buffer, "<u8", lists, at + 8 * lists)
        self._offsets = np.frombuffer(buffer, "<u8", lists, at + 16 * lists)
        self._counts = np.frombuffer(buffer, "<u4", lists, at + 24 * lists)
        self._data_end = start                      # the lists end where the directory begins
        self.size = lists

    def __len__(self) -> int:
        return self.size

    def get(self, fieldname: str, tbytes: bytes):
        i = self._find(fieldname, tbytes)
        return None if i is None else self._list(i)

    def locate(self, fieldname: str, tbytes: bytes) -> tuple[int, int] | None:
        """Where a term's document numbers lie in the mapped file: ``(position, bytes)``."""
        i = self._find(fieldname, tbytes)
        if i is None:
            return None
        return (self._base + int(self._offsets[i]),
                (int(self._counts[i]) & _COUNT) * self._id_bytes)

    def _find(self, fieldname: str, tbytes: bytes) -> int | None:
        hi, lo = key_hash(fieldname, tbytes)
        his, los = self._hi, self._lo
        i = int(his.searchsorted(np.uint64(hi)))
        while i < self.size and int(his[i]) == hi:
            if int(los[i]) == lo:
                return i
            i += 1
        return None

    def _list(self, i: int):
        count = int(self._counts[i])
        weighted, count = count & _WEIGHTED, count & _COUNT
        offset = int(self._offsets[i])
        size = count * (self._id_bytes + (4 if weighted else 0))
        if offset < len(MAGIC) or offset + size > self._data_end:
            raise CorruptIndexError(f"{self._name}: list {i} lies outside its file")
        at = self._base + offset
        raw = np.frombuffer(self._buffer, self._ids, count, at)
        if count and self._doc_count is not None and int(raw.max()) >= self._doc_count:
            raise CorruptIndexError(f"{self._name}: list {i} names a document past the "
                                    f"segment's {self._doc_count}")
        ids = raw.astype(np.int64)       # copies: no array outlives the map it was read from
        if not weighted:
            return ids, np.full(count, _ONE, dtype=np.float32)
        weights = np.frombuffer(self._buffer, "<f4", count, at + count * self._id_bytes)
        return ids, weights.astype(np.float32)


def arrays_of(leaf, folder: str | None) -> PostingArrays | None:
    """The posting arrays of a Whoosh segment reader's segment, or None (a segment written
    before them, another codec, a storage that is not a folder)."""
    segment = leaf.segment() if hasattr(leaf, "segment") else None
    storage = getattr(leaf, "_storage", None)
    if segment is None or storage is None or folder is None:
        return None
    name = segment.make_filename(EXTENSION)
    if segment.is_compound():
        files = getattr(storage, "a", None)          # OverlayStorage(compound, folder)
        if files is None or not hasattr(files, "range") or not files.file_exists(name):
            return None
        base, length = files.range(name)
        path = os.path.join(folder, segment.make_filename(segment.COMPOUND_EXT))
    else:
        path, base = os.path.join(folder, name), 0
        if not os.path.exists(path):
            return None
        length = os.path.getsize(path)
    with open(path, "rb") as handle:
        buffer = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    return PostingArrays(buffer, base, length, leaf.doc_count_all(), name)
