"""Index on every core: worker processes write segments of their own for the same commit.

Analysis (pyvi above all) and writing postings are CPU-bound Python, so one process uses one
core. ``ParallelSegmentWriter`` hands batches of documents to worker processes while it goes
on reading files. While the workers' queue is full, the writer indexes pending documents
itself, one at a time, so the work balances without tuning and no worker waits for it. Each
worker builds its own segment with a
:class:`~search_service.index.bulkwriter.BufferedSegmentWriter`; at commit the writer collects
them and writes one table of contents naming its own segment and theirs. Until then no
reader sees any of them, so the commit stays all-or-nothing: a worker that fails or dies
fails the commit, and the index is left as it was (Whoosh removes the orphaned files at the
next commit).

Workers start with the first full batch, so a run that changes a few documents starts none,
or earlier when the caller expects much work (:meth:`ParallelSegmentWriter.start_workers`).
They are spawned, not forked: the parent may have threads (a test server, a progress bar).
So, as multiprocessing requires for spawned processes, a script that writes with workers
must guard its entry point (``if __name__ == "__main__":``); without the guard the worker
dies at start and the run fails with "an indexing worker process died". ``python -m
search_service`` needs nothing.

A worker never outlives the run that started it (:func:`die_with_parent`): after a ``kill -9``
of the run, workers holding 150 MB each would otherwise index on for minutes, for nothing. What
a killed run leaves in the index folder is removed by the next one: the workers' temporary
folders when it starts, unreferenced segment files when it commits or cancels.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import multiprocessing
import os
import queue
import re
import shutil
import signal
import sys
import time

from whoosh.filedb.filestore import FileStorage

from search_service.index.bulkwriter import RELAXED_GC, BufferedSegmentWriter

logger = logging.getLogger(__name__)

BATCH_SIZE = 32         # documents per job: big enough to amortize pickling, small to balance
POLL_SECONDS = 1.0


class WorkerFailed(Exception):
    """A worker process could not index its documents; nothing was committed."""


def default_workers() -> int:
    """Worker processes next to the writer: one per further core, at most 3."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(0, min((cores or 1) - 1, 3))


class ParallelSegmentWriter(BufferedSegmentWriter):
    """A :class:`BufferedSegmentWriter` that shares the documents with ``workers`` processes."""

    def __init__(self, ix, *, workers: int, batch_size: int = BATCH_SIZE, **kwargs):
        super().__init__(ix, **kwargs)
        remove_stale_temp_folders(self.storage.folder, self.indexname)  # we hold the lock
        self._workers_wanted, self._batch_size = workers, batch_size
        self._batch: list[dict] = []
        self._procs: list = []
        self._reported: set[int] = set()        # workers whose result has arrived
        self._jobs = self._results = None

    # -- adding -------------------------------------------------------------------------------
    def add_document(self, **fields):
        """Queue the document; a full batch goes to a worker if one has room in its queue,
        else this process indexes one pending document: workers never wait for it."""
        self._check_state()
        self._batch.append(fields)
        if len(self._batch) >= self._batch_size:
            if self._offer(self._batch):
                self._batch = []
            else:
                super().add_document(**self._batch.pop(0))

    def _offer(self, batch) -> bool:
        """Queue ``batch`` for a worker if one can take it soon; False if they are all busy."""
        if not self._workers_wanted:
            return False
        self.start_workers()
        try:
            self._jobs.put_nowait(batch)
        except queue.Full:
            self._check_workers()       # a crashed worker fails the run now, not at commit
            return False
        return True

    def start_workers(self):
        """Start the workers now (they take a second to load pyvi), not at the first batch."""
        if self._procs or not self._workers_wanted:
            return
        context = multiprocessing.get_context("spawn")
        self._jobs = context.Queue(maxsize=2 * self._workers_wanted)
        self._results = context.Queue()
        for number in range(self._workers_wanted):
            proc = context.Process(target=_work, daemon=True, name=f"index-worker-{number}",
                                   args=(number, self.storage.folder, self.indexname,
                                         self._jobs, self._results, os.getpid()))
            proc.start()
            self._procs.append(proc)
        logger.info("indexing with %d worker process(es)", len(self._procs))

    # -- committing ----------------------------------------------------------------------------
    def commit(self, mergetype=None, optimize=None, merge=None):
        self._check_state()
        try:
            for fields in self._batch:
                super().add_document(**fields)
            self._batch = []
            for _ in self._procs:       # workers write their segments while this one does
                self._put(None)
            finalsegments = self._merge_segments(mergetype, optimize, merge)
            finalsegments += self.finish_segments()
            self._commit_toc(finalsegments + self._collect())
        except BaseException:
            self._stop_workers()
            self._cleanup_on_error()
            raise
        self._finish()

    def cancel(self):
        self._stop_workers()
        super().cancel()

    def _collect(self) -> list:
        """The segments of the workers (told to finish), or WorkerFailed."""
        segments, errors = [], []
        while len(self._reported) < len(self._procs):
            number, kind, value = self._get()
            self._reported.add(number)
            if kind == "error":
                errors.append(value)
            else:
                segments.extend(value)
        for proc in self._procs:
            proc.join()
        self._procs = []
        if errors:
            raise WorkerFailed("an indexing worker failed: " + "; ".join(errors))
        return segments

    def _put(self, item):
        while True:
            try:
                return self._jobs.put(item, timeout=POLL_SECONDS)
            except queue.Full:
                self._check_workers()

    def _get(self):
        while True:
            try:
                return self._results.get(timeout=POLL_SECONDS)
            except queue.Empty:
                self._check_workers()

    def _check_workers(self):
        """WorkerFailed if a worker ended without reporting (killed, out of memory)."""
        dead = [n for n, p in enumerate(self._procs) if n not in self._reported
                and not p.is_alive()]
        if dead:
            time.sleep(0.1)         # a result put just before exiting may still be in flight
            if self._results.empty():
                codes = ", ".join(str(self._procs[n].exitcode) for n in dead)
                self._stop_workers()
                raise WorkerFailed(f"an indexing worker process died (exit code {codes})")

    def _stop_workers(self):
        for proc in self._procs:
            proc.kill()
        for proc in self._procs:
            proc.join()
            # A killed worker leaves its spilled postings behind.
            shutil.rmtree(os.path.join(self.storage.folder, _temp_name(self.indexname, proc.pid)),
                          ignore_errors=True)
        if self._jobs is not None:      # batches nobody will read must not block our exit
            self._jobs.cancel_join_thread()
        self._procs, self._workers_wanted = [], 0


def _temp_name(indexname: str, pid: int) -> str:
    """A worker's own folder for spilled postings, in the index folder."""
    return f"{indexname}.{pid}.tmp"


def remove_stale_temp_folders(folder: str, indexname: str) -> list[str]:
    """Remove the temporary folders of workers that are gone (killed with their run).

    Call it holding the index's write lock: then no worker of a live run can be writing in
    the folder. A folder whose process id is alive again (reused) is left for a later run.
    """
    pattern = re.compile(re.escape(indexname) + r"\.(\d+)\.tmp")
    removed = []
    for name in os.listdir(folder):
        match = pattern.fullmatch(name)
        if match and not _alive(int(match.group(1))):
            shutil.rmtree(os.path.join(folder, name), ignore_errors=True)
            removed.append(name)
    if removed:
        logger.info("removed the temporary folders of killed runs: %s", ", ".join(removed))
    return removed


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs; a zombie (ended, not yet reaped by whoever adopted it
    after its parent was killed) does not."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except FileNotFoundError:
        return False
    except OSError:                 # no /proc: ask the kernel
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:         # someone else's process
        return True
    return True


def die_with_parent(parent_pid: int) -> None:
    """Have the kernel kill this process when its parent dies (Linux), and exit now if the
    parent is already gone (it died before this process got here).

    The kernel sends the signal when the parent *thread* that started this process ends, so
    start such processes from a thread that outlives them (a run starts and joins its workers
    in one call). Elsewhere than Linux the workers notice their parent is gone between jobs.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            logger.debug("prctl(PR_SET_PDEATHSIG) is not available", exc_info=True)
    if os.getppid() != parent_pid:
        os._exit(1)


_PR_SET_PDEATHSIG = 1       # from <linux/prctl.h>


def _next_batch(jobs, parent_pid: int):
    """The next batch of documents; exits this process if its parent has died meanwhile."""
    while True:
        try:
            return jobs.get(timeout=POLL_SECONDS)
        except queue.Empty:
            if os.getppid() != parent_pid:
                os._exit(1)


def _work(number: int, folder: str, indexname: str, jobs, results, parent_pid: int) -> None:
    """A worker process: index the batches it gets into a segment of its own, until None."""
    die_with_parent(parent_pid)
    writer = None
    gc.set_threshold(*RELAXED_GC)     # this process only indexes (see bulkwriter.relaxed_gc)
    try:
        ix = FileStorage(folder, supports_mmap=False).open_index(indexname)
        writer = BufferedSegmentWriter(ix, _lk=False, tempname=_temp_name(indexname, os.getpid()))
        while (batch := _next_batch(jobs, parent_pid)) is not None:
            for fields in batch:
                writer.add_document(**fields)
        segments = writer.finish_segments()
        writer._finish()
        results.put((number, "done", segments))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which fails the commit
        results.put((number, "error", f"{type(exc).__name__}: {exc}"))
        if writer is not None and not writer.is_closed:
            writer._cleanup_on_error()
