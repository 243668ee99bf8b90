"""What cluster searches ask again and again, kept while the cluster's generation lasts.

Every write to the cluster raises its generation (the highest write stamp of the shards, see
:meth:`ClusterEngine.snapshot`). Statistics, document frequencies, lexicon forms, stored
fields and "did you mean" answers are the same until it changes, so they are kept per
generation and dropped together when a newer one is seen.

Whether the generation changed is asked at most every :data:`GENERATION_SECONDS` (one cheap
round trip, or none when the web layer has just read a snapshot): an answer may come from
the generation before for that long after a write by another process, as the embedded engine
looks for a new commit at most every 0.2 s too. A write through this process
(``ClusterEngine.refresh``) is seen at once. While some shard has no live mirror nothing is
kept: such answers lack that shard's documents.
"""

from __future__ import annotations

import threading
import time

from search_service.lru import LRU

GENERATION_SECONDS = 0.2
# Entries kept per kind, least recently used out first.
LIMITS = {"scope": 4, "df": 200_000, "lexicon": 50_000, "samples": 256, "stored": 2_000,
          "correction": 4_096, "offered": 4_096, "result": 512}


class GenerationCache:
    """Answers of one cluster generation, per kind and key; shared by a server's threads.

    A caller takes a :meth:`token` before it asks the cluster and hands it to :meth:`put`
    with the answer: an answer worked out while the generation changed is not kept."""

    def __init__(self, limits: dict[str, int] | None = None):
        self.limits = dict(LIMITS if limits is None else limits)
        self.generation: int | None = None      # None: unknown, nothing kept
        self.checked_at = -float("inf")
        self._entries = {kind: LRU(limit) for kind, limit in self.limits.items()}
        self._lock = threading.Lock()        # the generation, and what is kept under it

    def due(self) -> bool:
        """Whether the generation must be asked before answers are taken from here."""
        return (self.generation is None
                or time.monotonic() - self.checked_at >= GENERATION_SECONDS)

    def observe(self, generation: int | None) -> None:
        """The generation the cluster serves now (None or negative: unknown, or a shard is
        missing): a different one drops every answer kept."""
        with self._lock:
            if generation is None or generation < 0:
                self.generation, self.checked_at = None, -float("inf")
                self._clear()
                return
            if generation != self.generation:
                self._clear()
                self.generation = generation
            self.checked_at = time.monotonic()

    def forget(self) -> None:
        """Drop everything and ask the generation again before the next answer."""
        self.observe(None)

    def token(self) -> int | None:
        return self.generation

    def get(self, kind: str, key):
        """``(True, answer)`` when kept, else ``(False, None)``."""
        with self._lock:
            if self.generation is None:
                return False, None
            return self._entries[kind].get(key)

    def put(self, kind: str, key, answer, token: int | None) -> None:
        """Keep ``answer`` if the generation is still the one ``token`` was taken in."""
        with self._lock:
            if token is not None and token == self.generation:
                self._entries[kind].put(key, answer)

    def _clear(self) -> None:
        for entries in self._entries.values():
            entries.clear()
