"""Parse files in a child process, so a file that takes too long can be stopped.

One pathological file (a web page nested 100,000 levels deep, a PDF whose content streams
loop) must not stall a run that holds the index's write lock, and a thread cannot be stopped:
only a process can. So every file is parsed by a child process, and when a file overruns its
time budget (the setting ``SEARCH_MAX_SECONDS_PER_FILE``) the child is killed, the file fails
with a reason naming the budget, and a new child parses the next file. A file that crashes
the parser itself (a segfault in a C library, the kernel's out-of-memory killer) fails the
same way, alone.

The child is a plain ``python -c`` subprocess that imports the parsers only: it needs no
``__main__`` guard in the caller's script (multiprocessing would re-import that script). It
starts in about 0.2 s, so each thread keeps its own between runs (:func:`shared`) and the child
exits by itself after a minute without work. It dies with its parent: see
:func:`search_service.index.parallelwriter.die_with_parent`.

The protocol: the parent sends ``(sequence, path, max_bytes, seconds)`` and the file's bytes;
the child answers with any number of ``(sequence, "progress", name, page, pages, seconds)``
(one per page read by OCR, :func:`page_read`), then one
``(sequence, "ok", format, records)`` or ``(sequence, "error", exception)``. Progress does not
extend the file's time budget: the parent waits for the final answer until the deadline set
when the file was sent, however many progress messages arrive meanwhile.
"""

from __future__ import annotations

import atexit
import importlib
import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
import traceback
import weakref
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

from search_service.ingest import IngestError

logger = logging.getLogger(__name__)

STARTUP_SECONDS = 60.0      # importing the parsers on a loaded machine, not parsing
IDLE_EXIT_SECONDS = 60.0    # a child with nothing to do for this long exits
IDLE_RESTART_SECONDS = 30.0  # so the parent starts a new one after half of that

# Imported by the parsers on first use; preloaded so that a new child parses at full speed.
_LIBRARIES = ("bs4", "lxml.etree", "pypdf", "docx")
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent.parent)
_CHILD = ("import sys; sys.path.insert(0, sys.argv[1]); "
          "from search_service.ingest.parserprocess import serve; serve(*sys.argv[2:])")
_local = threading.local()
# on_progress(name, page, pages, seconds): a page of a scan read (page 0: about to read them)
Progress = Callable[[str, int, int, float], None]
_every: weakref.WeakSet = weakref.WeakSet()


def shared() -> ParserProcess:
    """This thread's parser process, kept between runs (starting one takes some 0.2 s)."""
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = ParserProcess()
    return parser


@atexit.register
def _close_all() -> None:
    """Stop and reap every child when this process exits, rather than leave it to notice."""
    for parser in list(_every):
        parser.close()


class ParserProcess:
    """A child process that parses one file at a time, killed when a file overruns."""

    def __init__(self):
        self._proc: subprocess.Popen | None = None
        self._jobs = self._results = None
        self._ready = False
        self._sequence = 0
        self._last_used = 0.0
        _every.add(self)

    def start(self) -> None:
        """Start the child now (it imports the parsers while the caller does other work).
        Never raises: a child that cannot start is reported for each file instead."""
        try:
            self._ensure()
        except IngestError:
            logger.warning("could not start the parser process", exc_info=True)

    def parse(self, path: Path, data: bytes, *, seconds: float, max_bytes: int,
              on_progress: Progress | None = None) -> tuple[str, list[dict]]:
        """``(format, records)`` of one file, or :class:`IngestError` (also when the file
        took over ``seconds`` to parse or killed the parser). Raises what the parser raised.

        ``on_progress(name, page, pages, seconds)`` is called in this thread for each page
        the child reads by OCR (and once with page 0 before the first); an exception it
        raises is logged, never failing the file."""
        self._ensure()
        try:
            self._send(path, data, max_bytes, seconds)
            deadline = time.monotonic() + seconds
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not self._results.poll(left):
                    self.close()
                    raise IngestError(f"reading the file took over the {seconds:g} s allowed "
                                      "per file (SEARCH_MAX_SECONDS_PER_FILE); it was stopped")
                reply = self._receive()
                if not _is_progress(reply):
                    break
                self._check_turn(reply)
                if on_progress is not None:
                    _report(on_progress, reply[2:])
        except IngestError:
            raise
        except BaseException:           # Ctrl+C, or a bug here: the child's state is unknown
            self.close()
            raise
        self._last_used = time.monotonic()
        self._check_turn(reply)
        sequence, outcome, *value = reply
        if outcome == "error":
            raise value[0]
        return value[0], value[1]

    def close(self) -> None:
        """Stop the child (killed: it may be stuck in a file) and forget it."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
        for conn in (self._jobs, self._results):
            if conn is not None:
                conn.close()
        self._proc = self._jobs = self._results = None
        self._ready = False

    # -- internals ------------------------------------------------------------------------
    def _check_turn(self, reply) -> None:
        """An answer that is not about the file just sent means the child's state is unknown."""
        if not isinstance(reply, tuple) or len(reply) < 2 or reply[0] != self._sequence:
            self.close()
            raise IngestError("the parser process answered out of turn; it was restarted")

    def _ensure(self) -> None:
        """A child is running or starting: the one there is, unless it has ended or has been
        idle so long that it may be about to exit, else a new one."""
        if self._proc is not None and (self._proc.poll() is not None or self._idle_too_long()):
            self.close()
        if self._proc is None:
            self._spawn()

    def _spawn(self) -> None:
        job_read, job_write = os.pipe()
        result_read, result_write = os.pipe()
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _CHILD, _PACKAGE_ROOT, str(job_read), str(result_write),
                 str(os.getpid())],
                stdin=subprocess.DEVNULL, pass_fds=(job_read, result_write))
        except OSError as exc:
            os.close(job_write)
            os.close(result_read)
            raise IngestError(f"cannot start the parser process: {exc}") from None
        finally:
            os.close(job_read)
            os.close(result_write)
        self._jobs = Connection(job_write, readable=False)
        self._results = Connection(result_read, writable=False)
        self._last_used = time.monotonic()

    def _send(self, path: Path, data: bytes, max_bytes: int, seconds: float) -> None:
        """Send one job; a child that has died since its last file is replaced once."""
        for attempt in (1, 2):
            self._wait_ready()
            self._sequence += 1
            try:
                self._jobs.send((self._sequence, str(path), max_bytes, seconds))
                self._jobs.send_bytes(data)
                return
            except (BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt == 2:
                    raise IngestError("the parser process stopped accepting files") from None
                self._spawn()

    def _idle_too_long(self) -> bool:
        """Counted from the last answer (or the start), which is never before the child
        began counting its own idle time: so the parent always gives up first."""
        return time.monotonic() - self._last_used > IDLE_RESTART_SECONDS

    def _wait_ready(self) -> None:
        if self._ready:
            return
        if not self._results.poll(STARTUP_SECONDS):
            self.close()
            raise IngestError("the parser process did not start in time")
        try:
            self._results.recv()
        except EOFError:
            code = self._proc.wait()
            self.close()
            raise IngestError(f"the parser process could not start (exit code {code}; "
                              "see the error output)") from None
        self._ready = True

    def _receive(self) -> tuple:
        try:
            return self._results.recv()
        except EOFError:
            code = self._proc.wait()
            self.close()
            reason = _signal_name(code)
            raise IngestError(f"the parser process died while reading the file ({reason}); "
                              "it was restarted") from None


def _is_progress(reply) -> bool:
    return (isinstance(reply, tuple) and len(reply) == 6 and reply[1] == "progress"
            and isinstance(reply[2], str) and all(isinstance(v, int) for v in reply[3:5])
            and isinstance(reply[5], float))


def _report(on_progress: Progress, values) -> None:
    try:
        on_progress(*values)
    except Exception:  # noqa: BLE001 - a display that fails must not fail the file
        logger.warning("the OCR progress display failed", exc_info=True)


def _signal_name(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            pass
    return f"exit code {code}"


# -- the child ------------------------------------------------------------------------------

_deadline: float | None = None      # in the child: when the current file's time is up
_answer: tuple[Connection, int] | None = None  # in the child: the pipe and the file's number


def time_left() -> float | None:
    """Seconds the file being parsed has left before the parser process is killed; None
    outside a parser process. A slow parser (OCR) can stop between pages with a clear error
    instead of being killed."""
    return None if _deadline is None else _deadline - time.monotonic()


def serve(job_fd: str, result_fd: str, parent_pid: str) -> None:
    """The child's loop: parse each file sent, answer with its records or the error."""
    global _deadline, _answer
    from search_service.index.parallelwriter import die_with_parent

    die_with_parent(int(parent_pid))
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # Ctrl+C is the parent's to handle
    jobs = Connection(int(job_fd), writable=False)
    results = Connection(int(result_fd), readable=False)
    formats = _preload()
    results.send(("ready",))
    while jobs.poll(IDLE_EXIT_SECONDS):
        try:
            sequence, path, max_bytes, seconds = jobs.recv()
            data = jobs.recv_bytes()
        except EOFError:                            # the parent closed the pipe or exited
            return
        _deadline = time.monotonic() + seconds
        _answer = (results, sequence)
        try:
            kind, records = formats.parse_as(Path(path), data, max_bytes=max_bytes)
            reply = (sequence, "ok", kind, records)
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which names the file
            reply = (sequence, "error", _portable(exc))
        _deadline = None
        results.send(reply)


def page_read(name: str, page: int, pages: int, seconds: float) -> None:
    """Tell the parent that OCR read ``page`` of ``pages`` (0: is about to start); nothing
    outside a parser process. Called by :func:`search_service.ingest.ocr.read_pages`."""
    if _answer is not None:
        results, sequence = _answer
        results.send((sequence, "progress", str(name), int(page), int(pages), float(seconds)))


def _preload():
    """Import every parser and the libraries they import on first use, before the child
    says it is ready: the time budget is for parsing a file, not for importing pypdf."""
    from search_service.ingest import formats

    for name in (*formats.PARSER_MODULES, *_LIBRARIES):
        try:
            importlib.import_module(name)
        except ImportError:                         # said when a file needs it
            logger.debug("cannot preload %s", name, exc_info=True)
    return formats


def _portable(exc: Exception) -> Exception:
    """``exc`` with the child's traceback as a note, or a stand-in when it cannot be pickled."""
    exc.add_note("in the parser process:\n" + "".join(traceback.format_exception(exc)))
    try:
        pickle.dumps(exc)
    except Exception:  # noqa: BLE001 - any exception may refuse pickling
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc
