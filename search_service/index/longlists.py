"""Long posting lists kept a second time as plain arrays, beside Whoosh's blocks.

A whoosh3 posting list is blocks of 128 postings, each a pickled, compressed tuple holding
the positions too: the first search of a long question decoded ~30,000 postings that way,
~25 ms of its ~50 ms, and a folded body list (positions) cost four times a plain one. Ranking
needs only document numbers and weights, so :class:`ListsWriter` writes the lists of
:data:`LONG_LIST` postings and more once more, as two arrays each, in a file of the segment
(``<segment>.lla``, packed into the compound ``.seg`` with the others, written before the
table of contents names the segment: it appears and goes with its segment). Reading one is
a slice of a memory map: :func:`lists_of`. Short lists, and segments written before this
file existed, are decoded from Whoosh's blocks as before (``reader._segment_postings``).

Layout: ``MAGIC``, the arrays, a JSON directory, the directory's offset (8 bytes, little
endian). Document numbers are ``uint16`` in a segment of at most 65,536 documents, else
``uint32``; weights ``uint16`` when all are whole numbers below 65,536, else ``float32``.
"""

from __future__ import annotations

import json
import mmap
import os
import struct

import numpy as np

EXTENSION = ".lla"
MAGIC = b"TCPLLA1\n"
LONG_LIST = 128          # one whoosh3 block: shorter lists are one pickle, decoded quickly
_FOOTER = struct.Struct("<Q")


class ListsWriter:
    """Gathers a segment's long lists while its terms are written, then writes the file."""

    def __init__(self, doc_count: int):
        self._ids = np.dtype("<u2") if doc_count <= 1 << 16 else np.dtype("<u4")
        self._chunks: list[bytes] = [MAGIC]
        self._offset = len(MAGIC)
        self._lists: list[list] = []

    def add(self, fieldname: str, tbytes: bytes, docnums, weights) -> None:
        """Keep one term's postings (document numbers ascending) if the list is long."""
        if len(docnums) < LONG_LIST:
            return
        try:
            term = tbytes.decode("utf-8")
        except UnicodeDecodeError:       # a numeric field's term: never ranked, left out
            return
        ids = np.asarray(docnums).astype(self._ids)
        values = np.asarray(weights, dtype=np.float64)
        whole = values.min() >= 0 and values.max() < 1 << 16 and (values % 1 == 0).all()
        weights_out = values.astype("<u2" if whole else "<f4")
        self._lists.append([fieldname, term, self._offset, len(ids), weights_out.dtype.str])
        for array in (ids, weights_out):
            data = array.tobytes()
            self._chunks.append(data)
            self._offset += len(data)

    def write(self, dbfile) -> None:
        """Write the file to ``dbfile`` (a Whoosh storage file) and close it."""
        directory = json.dumps({"ids": self._ids.str, "lists": self._lists},
                               ensure_ascii=False).encode("utf-8")
        for chunk in (*self._chunks, directory, _FOOTER.pack(self._offset)):
            dbfile.write(chunk)
        dbfile.close()


class Lists:
    """The long lists of one segment: ``get(fieldname, term)`` → ``(docnums, weights)``
    (int64, float32) or None where the list is not kept here."""

    def __init__(self, buffer, base: int, length: int):
        self._buffer, self._base = buffer, base
        if length < len(MAGIC) + _FOOTER.size or buffer[base:base + len(MAGIC)] != MAGIC:
            raise ValueError("not a long-lists file")
        end = base + length
        start = base + _FOOTER.unpack(buffer[end - _FOOTER.size:end])[0]
        directory = json.loads(bytes(buffer[start:end - _FOOTER.size]))
        self._id_type = np.dtype(directory["ids"])
        self._lists = {(field, term): (offset, count, np.dtype(weights))
                       for field, term, offset, count, weights in directory["lists"]}

    def __len__(self) -> int:
        return len(self._lists)

    def get(self, fieldname: str, term: str):
        found = self._lists.get((fieldname, term))
        if found is None:
            return None
        offset, count, weight_type = found
        at = self._base + offset
        ids = np.frombuffer(self._buffer, self._id_type, count, at)
        weights = np.frombuffer(self._buffer, weight_type, count, at + count * self._id_type.itemsize)
        # Copies: no array outlives the map it was read from.
        return ids.astype(np.int64), weights.astype(np.float32)


def lists_of(leaf, folder: str | None) -> Lists | None:
    """The long lists of a Whoosh segment reader's segment, or None (a segment written
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
    return Lists(buffer, base, length)
