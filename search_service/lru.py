"""A bounded map kept least recently used out first: the one cache of every part.

Decoded posting lists (per segment and per generation), "did you mean" answers, whole search
results and the cluster's answers per generation are all kept in one; each bounds the sum of
its values' ``weight`` (one each by default: postings count their length, results their hits).
"""

from __future__ import annotations

import threading
from collections import OrderedDict


class LRU:
    """Values by key, least recently used out first, while the sum of their weights stays
    within ``limit``; a value weighing more than ``largest`` (default: ``limit``), or nothing,
    is not kept. Safe to share between threads; ``hits`` and ``misses`` count :meth:`get`."""

    def __init__(self, limit: int, weight=None, largest: int | None = None):
        self.limit = limit
        self.largest = limit if largest is None else largest
        self.hits = self.misses = 0
        self._weight = weight or (lambda value: 1)
        self._total = 0
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key) -> tuple[bool, object]:
        """``(True, value)`` when ``key`` is kept, else ``(False, None)``."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                self.hits += 1
                return True, self._entries[key]
            self.misses += 1
            return False, None

    def put(self, key, value) -> None:
        weight = self._weight(value)
        if not 0 < weight <= self.largest:
            return
        with self._lock:
            if key in self._entries:
                self._total -= self._weight(self._entries[key])
            self._entries[key] = value
            self._entries.move_to_end(key)
            self._total += weight
            while self._total > self.limit:
                _, gone = self._entries.popitem(last=False)
                self._total -= self._weight(gone)

    def recent(self) -> list:
        """The keys kept, most recently used first."""
        with self._lock:
            return list(reversed(self._entries))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._total = 0

    def __len__(self) -> int:
        return len(self._entries)
