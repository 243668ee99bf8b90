"""One index generation, shared by every thread of a server, and swapped when a commit lands.

A :class:`Snapshot` is built whole before anyone uses it: the columns and statistics of the
generation (:class:`~search_service.search.ranking.Collection`), the word list for "did you mean",
and a pool of readers opened on that same generation. The index's files cannot be read by two
threads at once, so a search borrows a reader of its own for its duration; nothing else is
locked while searching. :class:`Generations` notices a new commit, prepares its snapshot in
the background while the old one keeps answering, and swaps them under the only lock left.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from contextlib import contextmanager

from search_service.index.reader import IndexReader, open_generation
from search_service.search.ranking import Collection
from search_service.search.suggest import Lexicon

logger = logging.getLogger(__name__)

FACETS = ("doc_type", "category", "issuer", "year", "validity")   # validity: #11
COLUMNS = FACETS + ("visibility",)
READERS = 8            # readers opened per generation: one per server thread
CHECK_SECONDS = 0.2    # how often a request looks for a newer commit


class Snapshot:
    """Everything a search reads of one generation; immutable once built."""

    def __init__(self, index, scored_fields, readers: int = READERS,
                 lexicons: dict | None = None):
        self._generation = open_generation(index)     # one for every reader: never a mix
        self.generation = self._generation.number
        self.opened_at = time.time()
        first = self._open()
        self.collection = Collection(first, scored_fields, COLUMNS)
        self.doc_count = int(self.collection.live.sum())
        self.lexicon = Lexicon.from_reader(first, lexicons)
        self._pool: queue.LifoQueue = queue.LifoQueue()
        self._pool.put(self.collection)
        for _ in range(readers - 1):
            self._pool.put(self.collection.bind(self._open()))
        self._retired = False

    def _open(self) -> IndexReader:
        return self._generation.open()

    @contextmanager
    def reading(self):
        """The collection bound to a reader that no other thread reads meanwhile."""
        try:
            col = self._pool.get_nowait()
        except queue.Empty:               # more concurrent searches than readers
            try:
                col = self.collection.bind(self._open())
            except OSError:               # a later commit removed this generation's files
                col = self._pool.get()
        try:
            yield col
        finally:
            if self._retired:
                col.reader.close()
            else:
                self._pool.put(col)

    def retire(self) -> None:
        """Close the readers nobody is using; those in use close when given back."""
        self._retired = True
        while True:
            try:
                self._pool.get_nowait().reader.close()
            except queue.Empty:
                return


class Generations:
    """The current snapshot of an index; a newer commit is prepared in the background and
    swapped in whole, so a search never waits for it and never sees a mix."""

    def __init__(self, index, scored_fields, readers: int = READERS):
        self.index = index
        self._fields, self._readers = scored_fields, readers
        self._current: Snapshot | None = None
        self._swap = threading.Lock()
        self._next: threading.Thread | None = None
        self._checked = 0.0
        self._lexicons: dict = {}         # per segment, kept across generations

    def _snapshot(self) -> Snapshot:
        return Snapshot(self.index, self._fields, self._readers, self._lexicons)

    def current(self) -> Snapshot:
        snap = self._current
        if snap is None:
            return self.refresh()
        now = time.monotonic()
        if now - self._checked >= CHECK_SECONDS:
            self._checked = now
            if self.index.latest_generation() != snap.generation:
                self._prepare_next()
        return snap

    def refresh(self) -> Snapshot:
        """The newest generation, opened now if needed (for scripts that just committed)."""
        with self._swap:
            snap = self._current
            if snap is None or self.index.latest_generation() != snap.generation:
                self._install(self._snapshot())
            return self._current

    def _prepare_next(self) -> None:
        with self._swap:
            if self._next is None or not self._next.is_alive():
                self._next = threading.Thread(target=self._build_next, daemon=True,
                                              name="next-index-generation")
                self._next.start()

    def _build_next(self) -> None:
        try:
            fresh = self._snapshot()
        except Exception:                 # the old snapshot keeps answering
            logger.exception("could not open the new index generation")
            return
        with self._swap:
            if self._current is None or fresh.generation > self._current.generation:
                self._install(fresh)
            else:
                fresh.retire()

    def _install(self, fresh: Snapshot) -> None:
        old, self._current = self._current, fresh
        logger.info("index generation %d: %d documents", fresh.generation, fresh.doc_count)
        if old is not None:
            old.retire()

    def close(self) -> None:
        with self._swap:
            if self._current is not None:
                self._current.retire()
                self._current = None
