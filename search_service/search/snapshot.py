"""One index generation, shared by every thread of a server, and swapped when a commit lands.

A :class:`Snapshot` is built whole before anyone uses it: the columns and statistics of the
generation (:class:`~search_service.search.ranking.Collection`), the word list for "did you mean",
and a pool of readers opened on that same generation. The index's files cannot be read by two
threads at once, so a search borrows a reader of its own for its duration; nothing else is
locked while searching. :class:`Generations` notices a new commit, prepares its snapshot in
the background while the old one keeps answering, and swaps them under the only lock left.

Faults of the disk (the folder removed, renamed or unmounted, a file damaged or unreadable)
never reach a visitor as a 500: a new generation that cannot be opened leaves the old snapshot
answering (its files stay open), and is tried again every ``RETRY_SECONDS``; with no snapshot
at all, or when reading a snapshot's files fails, :class:`SearchUnavailable` is raised, an
:class:`~search_service.errors.IndexProblem` that the web layer answers with 503. Each fault is
logged once, not on every request.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from contextlib import contextmanager

from search_service.errors import IndexDamaged, IndexMissing, IndexProblem, SearchUnavailable
from search_service.index.reader import IndexReader, open_generation
from search_service.index.schema import READ_ERRORS, index_problem
from search_service.search.ranking import Collection
from search_service.search.suggest import Lexicon

logger = logging.getLogger(__name__)

FACETS = ("doc_type", "category", "issuer", "year", "validity")   # validity: #11
COLUMNS = FACETS + ("visibility",)
READERS = 8            # readers opened per generation: one per server thread
CHECK_SECONDS = 0.2    # how often a request looks for a newer commit
RETRY_SECONDS = 2.0    # how soon a generation that could not be opened is tried again
READ_FAILURE_SECONDS = 30.0   # how long a failed read of the served snapshot is reported


def _folder(index):
    return getattr(getattr(index, "storage", None), "folder", "the index folder")


def as_problem(index, exc: BaseException) -> IndexProblem:
    """What a read error of ``index`` means (the operator's message, naming the folder)."""
    if isinstance(exc, SearchUnavailable):
        return exc.problem
    return index_problem(_folder(index), exc)


class Snapshot:
    """Everything a search reads of one generation; immutable once built."""

    def __init__(self, index, scored_fields, readers: int = READERS,
                 lexicons: dict | None = None):
        self._index = index
        self._generation = open_generation(index)     # one for every reader: never a mix
        self.generation = self._generation.number
        self.opened_at = time.time()
        self._pool: queue.LifoQueue = queue.LifoQueue()
        self._retired = False
        self.read_failure: tuple[IndexProblem, float] | None = None   # the last, and when
        opened: list[IndexReader] = []
        try:
            opened.append(self._generation.open())
            self.collection = Collection(opened[0], scored_fields, COLUMNS)
            self.doc_count = int(self.collection.live.sum())
            self.lexicon = Lexicon.from_reader(opened[0], lexicons)
            self._files = _fingerprint(index, _segment_files(index, opened[0]))
            bound = [self.collection]
            for _ in range(readers - 1):
                opened.append(self._generation.open())
                bound.append(self.collection.bind(opened[-1]))
        except BaseException:
            for reader in opened:          # half a snapshot holds files open: let them go
                _close_quietly(reader)
            raise
        for col in bound:
            self._pool.put(col)

    @contextmanager
    def reading(self):
        """The collection bound to a reader that no other thread reads meanwhile.

        A file of the generation that cannot be read meanwhile (removed, truncated, the disk
        gone) raises :class:`SearchUnavailable`; the reader goes back to the pool all the same
        (each read seeks first), so the pool never runs dry."""
        try:
            col = self._pool.get_nowait()
        except queue.Empty:               # more concurrent searches than readers
            try:
                col = self.collection.bind(self._generation.open())
            except READ_ERRORS:           # a later commit removed this generation's files
                col = self._pool.get()
        try:
            yield col
        except SearchUnavailable:
            raise
        except READ_ERRORS as exc:
            raise self._unavailable(as_problem(self._index, exc), exc) from exc
        except Exception as exc:
            # A file changed in place under the open readers (truncated, overwritten) makes
            # Whoosh return anything, e.g. stored fields without an id: not a bug to report
            # as a 500, but a damaged index.
            changed = self._changed_files()
            if not changed:
                raise
            problem = IndexDamaged(_folder(self._index), f"the file {changed[0]} was changed "
                                                         "while the server was reading it")
            raise self._unavailable(problem, exc) from exc
        finally:
            if self._retired:
                _close_quietly(col.reader)
            else:
                self._pool.put(col)

    def _unavailable(self, problem: IndexProblem, exc: BaseException) -> "SearchUnavailable":
        """Note a failed read (logged once per snapshot; reported by the readiness probe)."""
        first, self.read_failure = self.read_failure is None, (problem, time.monotonic())
        if first:     # the caller reports the error itself (503, the CLI's message)
            logger.warning("index generation %d cannot be read: %s", self.generation,
                           problem.message)
            logger.debug("the failed read", exc_info=exc)
        return SearchUnavailable(problem, RETRY_SECONDS)

    def _changed_files(self) -> list[str]:
        """Files of this generation whose size or time changed since it was opened (a
        segment's files never change once written; a file merged away is not counted)."""
        now = _fingerprint(self._index, self._files)
        return sorted(name for name, seen in self._files.items()
                      if name in now and now[name] != seen)

    def retire(self) -> None:
        """Close the readers nobody is using; those in use close when given back."""
        self._retired = True
        self.lexicon.forget()
        while True:
            try:
                _close_quietly(self._pool.get_nowait().reader)
            except queue.Empty:
                return


def _segment_files(index, reader: IndexReader) -> list[str]:
    """The names of the files of the segments ``reader`` reads."""
    prefixes = tuple(f"{key}." for key, _ in reader.segments() if isinstance(key, str))
    if not prefixes:
        return []
    try:
        return [n for n in os.listdir(_folder(index)) if n.startswith(prefixes)]
    except (OSError, TypeError):
        return []


def _fingerprint(index, names) -> dict[str, tuple[int, int]]:
    """``{file name: (size, mtime_ns)}`` of the files ``names`` of the index's folder."""
    folder = _folder(index)
    out = {}
    for name in names:
        try:
            stat = os.stat(os.path.join(folder, name))
        except (OSError, TypeError):
            continue
        out[name] = (stat.st_size, stat.st_mtime_ns)
    return out


def _close_quietly(reader: IndexReader) -> None:
    try:
        reader.close()
    except Exception:                     # noqa: BLE001 - its files may be gone already
        logger.debug("closing a reader failed", exc_info=True)


class Generations:
    """The current snapshot of an index; a newer commit is prepared in the background and
    swapped in whole, so a search never waits for it and never sees a mix.

    A generation that cannot be opened leaves the current snapshot answering; it is tried
    again after ``RETRY_SECONDS`` (or as soon as a newer commit lands). Without any snapshot,
    :meth:`current` raises :class:`SearchUnavailable`. :meth:`problem` says why the newest
    generation on disk is not the one served, for the readiness probe.
    """

    def __init__(self, index, scored_fields, readers: int = READERS):
        self.index = index
        self._fields, self._readers = scored_fields, readers
        self._current: Snapshot | None = None
        self._swap = threading.Lock()
        self._next: threading.Thread | None = None
        self._checked = 0.0
        self._lexicons: dict = {}         # per segment, kept across generations
        # The last generation that could not be opened (None: no index on disk), why, when.
        self._failure: tuple[int | None, IndexProblem, float] | None = None
        self._logged: tuple | None = None   # the failure last logged: each is logged once
        self._tried: tuple[int, float] = (-1, 0.0)   # the last generation opened, and when

    def _snapshot(self) -> Snapshot:
        return Snapshot(self.index, self._fields, self._readers, self._lexicons)

    def current(self) -> Snapshot:
        """The snapshot searches read now; raises :class:`SearchUnavailable` when there is
        none and none can be opened."""
        snap = self._current
        if snap is None:
            return self._refresh(retry_soon=False)
        now = time.monotonic()
        if now - self._checked >= CHECK_SECONDS:
            self._checked = now
            latest = self._latest()
            if latest is None:
                self._failed(None, self._missing())
            elif latest != snap.generation:
                if self._tried[0] != latest or now - self._tried[1] >= RETRY_SECONDS:
                    self._prepare_next(latest)
            elif self._failure is not None:
                self._recovered(snap)       # the folder is back as it was
        return snap

    def refresh(self) -> Snapshot:
        """The newest generation, opened now if needed (for scripts that just committed).

        When it cannot be opened the current snapshot is kept (and returned); without one,
        :class:`SearchUnavailable` is raised."""
        return self._refresh(retry_soon=True)

    def problem(self) -> IndexProblem | None:
        """What is wrong with the index being served: reading the snapshot failed in the last
        ``READ_FAILURE_SECONDS``, the folder holds no index, or opening its newest generation
        failed. None when all is well (or the newest generation is still being opened)."""
        snap = self._current
        if snap is not None and snap.read_failure is not None:
            problem, when = snap.read_failure
            if time.monotonic() - when < READ_FAILURE_SECONDS:
                return problem
        failure = self._failure
        if failure is None:
            return None
        latest = self._latest()
        if latest is None:
            return failure[1] if failure[0] is None else self._missing()
        if (snap is not None and latest == snap.generation) or failure[0] != latest:
            return None
        return failure[1]

    def _refresh(self, retry_soon: bool) -> Snapshot:
        """``retry_soon``: try to open the newest generation even if that failed moments ago
        (a request without a snapshot waits ``RETRY_SECONDS`` between attempts instead)."""
        with self._swap:
            snap = self._current
            latest = self._latest()
            if snap is not None and latest in (None, snap.generation):
                if latest is None:
                    self._failed(None, self._missing())
                return snap
            if latest is None:
                problem = self._missing()
                self._failed(None, problem)
                raise SearchUnavailable(problem, RETRY_SECONDS)
            failure = self._failure
            if (snap is None and not retry_soon and failure is not None and failure[0] == latest
                    and time.monotonic() - failure[2] < RETRY_SECONDS):
                raise SearchUnavailable(failure[1], RETRY_SECONDS)
            try:
                fresh = self._open_newest(latest)
            except Exception as exc:      # noqa: BLE001 - whatever the files make Whoosh raise
                problem = as_problem(self.index, exc)
                self._failed(latest, problem, exc)
                if snap is None:
                    raise SearchUnavailable(problem, RETRY_SECONDS) from exc
                return snap
            if snap is None or fresh.generation != snap.generation:
                self._install(fresh)
            else:
                fresh.retire()
            return self._current

    def _open_newest(self, latest: int) -> Snapshot:
        """A snapshot of the newest generation; a commit landing meanwhile (which may remove
        the files being opened) is followed, up to three times."""
        for attempt in range(3):
            self._tried = (latest, time.monotonic())
            try:
                return self._snapshot()
            except Exception:             # noqa: BLE001
                now = self._latest()
                if attempt == 2 or now is None or now == latest:
                    raise
                latest = now
        raise AssertionError("unreachable")

    def _latest(self) -> int | None:
        """The newest generation on disk; None when the folder holds none (it was removed,
        renamed, emptied or cannot be listed: Whoosh then says -1)."""
        try:
            latest = self.index.latest_generation()
        except Exception:                 # noqa: BLE001 - not a listable folder
            return None
        return latest if latest >= 0 else None

    def _missing(self) -> IndexMissing:
        return IndexMissing(_folder(self.index), "the folder holds no index any more (was it "
                            "removed, renamed or unmounted?)", creatable=False)

    def _failed(self, generation: int | None, problem: IndexProblem,
                exc: BaseException | None = None) -> None:
        self._failure = (generation, problem, time.monotonic())
        key = (generation, type(problem), problem.message)
        if key == self._logged:
            return
        self._logged = key
        snap = self._current
        serving = (f"searches keep reading generation {snap.generation}" if snap is not None
                   else "searches answer 503 until it can be read")
        what = f"index generation {generation}" if generation is not None else "the index"
        logger.error("%s cannot be opened; %s: %s", what, serving, problem.message,
                     exc_info=exc)

    def _recovered(self, snap: Snapshot) -> None:
        if self._failure is not None:
            logger.warning("the index can be read again: generation %d", snap.generation)
        self._failure = self._logged = None

    def _prepare_next(self, latest: int) -> None:
        with self._swap:
            if self._next is None or not self._next.is_alive():
                self._tried = (latest, time.monotonic())
                self._next = threading.Thread(target=self._build_next, args=(latest,),
                                              daemon=True, name="next-index-generation")
                self._next.start()

    def _build_next(self, latest: int) -> None:
        try:
            fresh = self._snapshot()
        except Exception as exc:          # noqa: BLE001 - the old snapshot keeps answering
            self._failed(latest, as_problem(self.index, exc), exc)
            return
        with self._swap:
            if self._current is None or fresh.generation > self._current.generation:
                self._install(fresh)
            else:
                fresh.retire()

    def _install(self, fresh: Snapshot) -> None:
        old, self._current = self._current, fresh
        logger.info("index generation %d: %d documents", fresh.generation, fresh.doc_count)
        self._recovered(fresh)
        if old is not None:
            old.retire()

    def close(self) -> None:
        with self._swap:
            if self._current is not None:
                self._current.retire()
                self._current = None
            self._failure = self._logged = None
