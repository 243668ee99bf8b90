"""One index generation, shared by every thread of a server, and swapped when a commit lands.

A :class:`Snapshot` is built whole before anyone uses it: the columns and statistics of the
generation (:class:`~search_service.search.ranking.Collection`) and a pool of readers opened on
that same generation. The index's files cannot be read by two threads at once, so a search
borrows a reader of its own for its duration; nothing else is locked while searching.

:class:`Generations` keeps the snapshot served. A watcher thread of each process (started by
the first search in it, so each gunicorn worker has its own) looks for a new commit every
``CHECK_SECONDS``, prepares its snapshot while the old one keeps answering, and swaps them under
the only lock left. The word list of "did you mean" (:class:`~search_service.search.suggest.
Lexicon`) is kept per segment: a new generation is swapped in with the word lists it already
has (its unchanged segments'), and the watcher then reads its new segments' one at a time and
swaps in the same generation with the whole list. Meanwhile suggestions may miss the newest
words; results never differ, since every answer of one search comes from one snapshot.

Faults of the disk (the folder removed, renamed or unmounted, a file damaged or unreadable)
never reach a visitor as a 500: a new generation that cannot be opened leaves the old snapshot
answering (its files stay open), and is tried again every ``RETRY_SECONDS``; with no snapshot
at all, or when reading a snapshot's files fails, :class:`SearchUnavailable` is raised, an
:class:`~search_service.errors.IndexProblem` that the web layer answers with 503. Each fault is
logged once, not on every request.
"""

from __future__ import annotations

import copy
import logging
import os
import queue
import threading
import time
import weakref
from contextlib import contextmanager
from typing import Callable

from search_service.errors import IndexDamaged, IndexMissing, IndexProblem, SearchUnavailable
from search_service.index.reader import IndexReader, open_generation
from search_service.index.schema import READ_ERRORS, commit_time, index_problem
from search_service.search.ranking import Collection
from search_service.search.suggest import Lexicon
from search_service.search.wordlists import WordLists

logger = logging.getLogger(__name__)

FACETS = ("doc_type", "category", "issuer", "year", "validity")   # validity: #11
COLUMNS = FACETS + ("visibility",)
READERS = 8            # readers opened per generation: one per server thread
CHECK_SECONDS = 0.1    # how often the watcher looks for a newer commit (a folder listing)
RETRY_SECONDS = 2.0    # how soon a generation that could not be opened is tried again
WARM_SECONDS = 1.0     # CPU a new generation spends decoding its predecessor's posting lists
WARM_BATCH = 64        # posting lists decoded per borrowed reader
READ_FAILURE_SECONDS = 30.0   # how long a failed read of the served snapshot is reported


def _folder(index):
    return getattr(getattr(index, "storage", None), "folder", "the index folder")


def as_problem(index, exc: BaseException) -> IndexProblem:
    """What a read error of ``index`` means (the operator's message, naming the folder)."""
    if isinstance(exc, SearchUnavailable):
        return exc.problem
    return index_problem(_folder(index), exc)


class Snapshot:
    """Everything a search reads of one generation; immutable once built.

    ``lexicon`` makes the word list of "did you mean" from a reader of the generation
    (default: the whole list, read now); ``lexicon_complete`` says whether it covers every
    segment. :meth:`with_lexicon` gives the same generation, readers and all, with another
    word list."""

    def __init__(self, index, scored_fields, readers: int = READERS,
                 lexicon: Callable[[IndexReader], tuple[Lexicon, bool]] | None = None):
        self._index = index
        self._generation = open_generation(index)     # one for every reader: never a mix
        self.generation = self._generation.number
        self.opened_at = time.time()
        self._pool: queue.LifoQueue = queue.LifoQueue()
        self._state = _Shared()       # shared with the views of :meth:`with_lexicon`
        opened: list[IndexReader] = []
        try:
            opened.append(self._generation.open())
            self.collection = Collection(opened[0], scored_fields, COLUMNS)
            self.doc_count = int(self.collection.live.sum())
            for public_only in (True, False):     # worked out once, before anyone waits
                self.collection.scope(public_only)
            self.lexicon, self.lexicon_complete = (
                lexicon(opened[0]) if lexicon else (Lexicon.from_reader(opened[0]), True))
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

    def with_lexicon(self, lexicon: Lexicon) -> "Snapshot":
        """This generation with the whole word list: the readers, columns and their state
        are shared, so retiring either view retires both."""
        view = copy.copy(self)
        view.lexicon, view.lexicon_complete = lexicon, True
        return view

    def add_readers(self, count: int) -> None:
        """Open ``count`` more readers for the pool (the watcher does, once the snapshot is
        served: a search finding the pool empty would open one itself)."""
        for _ in range(count):
            col = self.collection.bind(self._generation.open())
            if self._state.retired:
                _close_quietly(col.reader)
                return
            self._pool.put(col)

    def open_reader(self) -> IndexReader:
        """A reader of this generation of the caller's own (to close when done)."""
        return self._generation.open()

    @property
    def read_failure(self) -> tuple[IndexProblem, float] | None:
        """The last failed read of this generation's files, and when (monotonic)."""
        return self._state.read_failure

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
            if self._state.retired:
                _close_quietly(col.reader)
            else:
                self._pool.put(col)

    def _unavailable(self, problem: IndexProblem, exc: BaseException) -> "SearchUnavailable":
        """Note a failed read (logged once per snapshot; reported by the readiness probe)."""
        state = self._state
        first, state.read_failure = state.read_failure is None, (problem, time.monotonic())
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
        self._state.retired = True
        self.lexicon.forget()
        while True:
            try:
                _close_quietly(self._pool.get_nowait().reader)
            except queue.Empty:
                return


class _Shared:
    """What the views of one generation share: whether it is retired, its last failed read."""

    def __init__(self):
        self.retired = False
        self.read_failure: tuple[IndexProblem, float] | None = None


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
        self._words = WordLists()         # per segment, kept across generations
        # This process's watcher: (pid, thread, its stop); a forked worker starts its own.
        self._watcher: tuple[int, threading.Thread, threading.Event] | None = None
        self._starting = threading.Lock()
        self._lexicon_reader: tuple[int, IndexReader] | None = None   # the watcher's own
        self._lexicon_failed: tuple[int, float] = (-1, 0.0)
        # The last generation that could not be opened (None: no index on disk), why, when.
        self._failure: tuple[int | None, IndexProblem, float] | None = None
        self._logged: tuple | None = None   # the failure last logged: each is logged once
        self._tried: tuple[int, float] = (-1, 0.0)   # the last generation opened, and when

    def _snapshot(self, whole_lexicon: bool = True, readers: int | None = None) -> Snapshot:
        """A snapshot of the newest generation: with every segment's word list (read now if
        need be), or with those already read (the watcher reads the others afterwards)."""
        words = self._words
        lexicon = (lambda reader: (words.whole(reader), True)) if whole_lexicon else words.known
        return Snapshot(self.index, self._fields, readers or self._readers, lexicon)

    def current(self) -> Snapshot:
        """The snapshot searches read now; raises :class:`SearchUnavailable` when there is
        none and none can be opened."""
        self._watch()
        snap = self._current
        if snap is None:
            return self._refresh(retry_soon=False)
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
                elif not snap.lexicon_complete:
                    self._complete_now(snap)
                return self._current
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

    # -- the watcher ---------------------------------------------------------------------------
    def _watch(self) -> None:
        """Start this process's watcher unless it runs (threads do not survive a fork, so a
        gunicorn worker starts its own with its first search)."""
        if self._watching():
            return
        with self._starting:
            if self._watching():
                return
            stop = threading.Event()
            thread = threading.Thread(target=_watch_loop, args=(weakref.ref(self), stop),
                                      daemon=True, name="index-generations")
            self._watcher = (os.getpid(), thread, stop)
            try:
                thread.start()
            except RuntimeError:          # the interpreter is shutting down: answer all the same
                self._watcher = None
                logger.debug("the index watcher cannot start", exc_info=True)

    def _watching(self) -> bool:
        """Whether this process's watcher runs."""
        watcher = self._watcher
        return watcher is not None and watcher[0] == os.getpid() and watcher[1].is_alive()

    def _tick(self) -> bool:
        """One look of the watcher: a newer commit is opened and swapped in, else one more
        segment's word list is read. True when it did something (it looks again at once)."""
        snap = self._current
        if snap is None:
            return False                  # a search opens the first snapshot (or says 503)
        latest = self._latest()
        if latest is None:
            self._failed(None, self._missing())
            return False
        if latest != snap.generation:
            now = time.monotonic()
            if self._tried[0] != latest or now - self._tried[1] >= RETRY_SECONDS:
                self._tried = (latest, now)
                if self._build_next(latest):
                    return True
        elif self._failure is not None:
            self._recovered(snap)         # the folder is back as it was
        if not snap.lexicon_complete:
            return self._grow_lexicon(snap)
        return False

    def _build_next(self, latest: int) -> bool:
        """Open ``latest`` with the word lists already read, and swap it in; False when it
        cannot be opened (the old snapshot keeps answering) or is not newer."""
        try:           # one reader to begin with: the others are opened once it is served
            fresh = self._snapshot(whole_lexicon=False, readers=1)
        except Exception as exc:          # noqa: BLE001 - the old snapshot keeps answering
            self._failed(latest, as_problem(self.index, exc), exc)
            return False
        with self._swap:
            watcher = self._watcher
            previous = self._current
            installed = (watcher is not None and not watcher[2].is_set() and
                         (previous is None or fresh.generation > previous.generation))
            if installed:
                warm = previous.collection.recent_terms() if previous is not None else []
                self._install(fresh)
        if not installed:
            fresh.retire()
            return False
        try:
            fresh.add_readers(self._readers - 1)
        except READ_ERRORS:               # its files went meanwhile: searches open their own
            logger.debug("opening readers of generation %d failed", fresh.generation,
                         exc_info=True)
        self._warm(fresh, warm)
        return True

    def _warm(self, snap: Snapshot, keys: list) -> None:
        """Decode, in the watcher, the posting lists the previous generation was using (most
        recent first), so the first searches of a new generation do not all decode them at
        once: at most ``WARM_SECONDS`` of this thread's CPU, stopping at a newer commit.
        Nothing to do when every segment has posting arrays (a list is a slice of a map)."""
        if not keys:
            return
        with snap.reading() as col:
            if not col.reader.decodes_blocks:
                return
        started = time.thread_time()
        stop = self._watcher[2] if self._watcher is not None else threading.Event()

        def going() -> bool:
            return time.thread_time() - started < WARM_SECONDS and not stop.is_set()

        done = 0
        try:
            for at in range(0, len(keys), WARM_BATCH):    # a reader is borrowed per batch
                if not going() or self._latest() != snap.generation:
                    break
                with snap.reading() as col:
                    done += col.warm(keys[at:at + WARM_BATCH], going)
        except Exception:                 # noqa: BLE001 - only a cache: searches read anyway
            logger.debug("warming generation %d failed", snap.generation, exc_info=True)
        logger.debug("index generation %d: %d of %d posting lists decoded ahead in %.0f ms",
                     snap.generation, done, len(keys), (time.thread_time() - started) * 1000)

    def _grow_lexicon(self, snap: Snapshot) -> bool:
        """Read one more segment's word list of the served generation; with all of them,
        swap in the same generation with the whole list (a search that began meanwhile
        keeps the view it began with). False when nothing was done."""
        if self._lexicon_failed[0] == snap.generation and \
                time.monotonic() - self._lexicon_failed[1] < RETRY_SECONDS:
            return False
        try:
            reader = self._reader_of(snap)
            if self._words.read_one(reader):
                return True
            lexicon, complete = self._words.known(reader)
        except Exception:                 # noqa: BLE001 - e.g. its files merged away meanwhile
            logger.debug("reading the word lists of generation %d failed", snap.generation,
                         exc_info=True)
            self._lexicon_failed = (snap.generation, time.monotonic())
            self._close_lexicon_reader()
            return False
        if not complete:                  # a list was dropped meanwhile: read it again
            return True
        with self._swap:
            if self._current is snap:
                self._current = snap.with_lexicon(lexicon)
                snap.lexicon.forget()     # answers given with the partial list
                self._words.keep_only(reader)
                logger.info("index generation %d: did-you-mean word list complete",
                            snap.generation)
        self._close_lexicon_reader()
        return False

    def _reader_of(self, snap: Snapshot) -> IndexReader:
        """The watcher's own reader of ``snap``'s generation (searches use the pool's)."""
        held = self._lexicon_reader
        if held is None or held[0] != snap.generation:
            self._close_lexicon_reader()
            held = self._lexicon_reader = (snap.generation, snap.open_reader())
        return held[1]

    def _close_lexicon_reader(self) -> None:
        held, self._lexicon_reader = self._lexicon_reader, None
        if held is not None:
            _close_quietly(held[1])

    def _complete_now(self, snap: Snapshot) -> None:
        """Swap in ``snap``'s generation with its whole word list, read now (``refresh``: a
        script that has just committed expects every suggestion of the new generation)."""
        try:
            reader = snap.open_reader()
            try:
                self._current = snap.with_lexicon(self._words.whole(reader))
            finally:
                _close_quietly(reader)
        except Exception:                 # noqa: BLE001 - the partial list keeps answering
            logger.warning("the word list of index generation %d cannot be read",
                           snap.generation, exc_info=True)
            return
        snap.lexicon.forget()

    def _install(self, fresh: Snapshot) -> None:
        old, self._current = self._current, fresh
        committed = commit_time(self.index.storage.folder, fresh.generation) \
            if hasattr(self.index.storage, "folder") else None
        if old is None or committed is None:
            logger.info("index generation %d: %d documents", fresh.generation, fresh.doc_count)
        else:             # how long readers waited for a commit: what an operator watches
            logger.info("index generation %d: %d documents, served %.2f s after its commit",
                        fresh.generation, fresh.doc_count, time.time() - committed)
        self._recovered(fresh)
        if old is not None:
            old.retire()

    def close(self) -> None:
        """Stop the watcher and close the snapshot (a later search opens the index again)."""
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher[2].set()
            if watcher[0] == os.getpid() and watcher[1] is not threading.current_thread():
                watcher[1].join(timeout=30)
        with self._swap:
            self._close_lexicon_reader()
            if self._current is not None:
                self._current.retire()
                self._current = None
            self._failure = self._logged = None


def _watch_loop(ref: "weakref.ref[Generations]", stop: threading.Event) -> None:
    """The watcher's loop; it ends with ``stop`` or when its :class:`Generations` is gone."""
    while not stop.is_set():
        generations = ref()
        if generations is None:
            return
        try:
            busy = generations._tick()
        except Exception:                 # noqa: BLE001 - the watcher must outlive any fault
            logger.exception("looking for a new index generation failed")
            busy = False
        del generations
        if not busy:
            stop.wait(CHECK_SECONDS)
