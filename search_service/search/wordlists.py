"""The word lists of "did you mean", kept per segment across the generations of an index.

A segment never changes once written, so its word list (what
:meth:`~search_service.search.suggest.Lexicon.from_reader` reads of it: about a quarter of a
second of CPU for 3,000 news articles) is read once per process and reused by every later
generation that holds the segment. A new generation can be served at once with the lists it
already has (:meth:`WordLists.known`), and the lists of its new segments read afterwards, one
segment at a time (:meth:`WordLists.read_one`), so a newer commit never waits long behind them.
"""

from __future__ import annotations

import threading

from search_service.search.suggest import Lexicon, segment_words


class WordLists:
    """Per segment key, the word list of that segment; safe to share between threads."""

    def __init__(self):
        self._parts: dict = {}
        self._lock = threading.Lock()      # taken to change the dict, never while searching

    def whole(self, reader) -> Lexicon:
        """The word list of every segment ``reader`` reads, the missing ones read now
        (lists of segments it does not read are dropped: they were merged away)."""
        with self._lock:
            return Lexicon.from_reader(reader, self._parts)

    def known(self, reader) -> tuple[Lexicon, bool]:
        """``(lexicon, complete)``: the lists already read of ``reader``'s segments, and
        whether that is all of them."""
        parts = [self._parts.get(key) for key, _ in reader.segments()]
        return Lexicon([p for p in parts if p is not None]), None not in parts

    def read_one(self, reader) -> bool:
        """Read the list of one of ``reader``'s segments that has none yet; False when
        every one has its list."""
        for key, segment in reader.segments():
            if key not in self._parts:
                part = segment_words(segment)          # no lock held
                with self._lock:
                    self._parts.setdefault(key, part)
                return True
        return False

    def keep_only(self, reader) -> None:
        """Drop the lists of segments ``reader`` does not read (merged away)."""
        keys = {key for key, _ in reader.segments()}
        with self._lock:
            for gone in set(self._parts) - keys:
                del self._parts[gone]

    def __len__(self) -> int:
        return len(self._parts)

