"""Crash safety of ingest (#12): a real ``python -m search_service ingest`` killed with SIGKILL
at random points, again and again, into one library and one index.

Each run ingests one more JSON Lines file of ward documents (from ``tests/data``) with two
index workers, so worker processes run while it is killed. Kill times are seeded and drawn
over a whole run, from its start through its commit: a run's length is measured on this
machine (the first run's, then the shortest of those that ended before their kill). Every
tenth kill waits for the commit instead: right after it, before the run clears the library's
marks. After every kill:

- the index passes ``check_index`` and ``SearchEngine`` searches it;
- it holds exactly the documents it held before the run, or exactly those of all the files
  (never some of a run: the commit is all-or-nothing), each once;
- the library and the index agree (``library.agreement``: what the library holds beyond the
  index is marked pending, to be sent by the next run);
- no lock is left: the index's write lock and the library's write transaction can be taken;
- no process the run spawned (index workers, the parser, multiprocessing's helper) is still
  running: they are found by a marker in their environment, which they inherit from the run.

A run that ends by itself must succeed (a run blocked by what a killed one left would fail
with "locked"). At the end a normal run completes the index, leaves no temporary file, and
every document is found by a search for its own code word.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from conftest import REPO_ROOT, write_jsonl
from search_service.index.schema import check_index, open_index
from search_service.library import Library
from search_service.library.agreement import compare
from search_service.search import SearchEngine, SearchRequest

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(),
                                reason="finds the run's processes in /proc (Linux)")

SEED = 12                       # issue #12; another seed gives other kill times
KILLS = 20
DOCS_PER_FILE = 40              # a batch of 32 for a worker, the rest for the run
MARKER = "TRA_CUU_CRASH_TEST"   # in the environment of a run and all it spawns
WORKERS_GONE_SECONDS = 10       # for SIGKILL on parent death; a worker still importing
                                # notices at its first line of work
BUDGET_SECONDS = 300            # never hang a CI run, whatever the machine's load
WARD = Path(__file__).resolve().parent.parent / "data" / "ward.jsonl"


def code_word(file_no: int, doc_no: int) -> str:
    """A word of plain letters found in one document only: ``kt`` + the numbers in base 26
    (``ktaabc``), long enough to be no word, no abbreviation and no stop word."""
    n, letters = file_no * 1000 + doc_no, ""
    for _ in range(4):
        n, digit = divmod(n, 26)
        letters = chr(ord("a") + digit) + letters
    return "kt" + letters


def write_file(folder: Path, file_no: int) -> list[str]:
    """The ``file_no``-th file of the run: real ward documents (one internal), each with its
    own id and code word; returns the ids."""
    ward = [json.loads(line) for line in WARD.read_text(encoding="utf-8").splitlines()]
    records = []
    for n in range(DOCS_PER_FILE):
        record = dict(ward[n % len(ward)])
        record["id"] = f"dot-{file_no}-{n}"
        record["body"] = f"{record.get('body', '')}\nMã tra cứu: {code_word(file_no, n)}."
        records.append(record)
    write_jsonl(folder / f"dot-{file_no:02}.jsonl", records)
    return [r["id"] for r in records]


def index_ids(index: Path) -> list[str]:
    """The ids of the live documents of the index (a repeated id appears twice)."""
    with open_index(index, create=False).reader() as reader:
        if reader.doc_count() == 0:
            return []
        ids = reader.column_reader("id")
        return sorted(ids[n] for n in reader.all_doc_ids())


def spawned(token: str) -> set[int]:
    """Live processes carrying the run's marker (zombies have ended and carry none)."""
    needle = f"{MARKER}={token}\0".encode()
    found = set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as environ:
                if needle in environ.read():
                    found.add(int(entry.name))
        except OSError:                 # ended while we looked, or not ours
            continue
    return found


def wait_until_gone(token: str, seconds: float) -> tuple[set[int], float]:
    """The marked processes still alive after at most ``seconds``, and the time it took."""
    started = time.monotonic()
    while (alive := spawned(token)) and time.monotonic() - started < seconds:
        time.sleep(0.05)
    return alive, time.monotonic() - started


def start_run(index: Path, library: Path, folder: Path, token: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEARCH_")}
    return subprocess.Popen(
        [sys.executable, "-m", "search_service", "ingest", "--workers", "2", "--index",
         str(index), "--library", str(library), str(folder)],
        cwd=REPO_ROOT, env={**env, MARKER: token, "PYTHONIOENCODING": "utf-8"},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, encoding="utf-8")


def assert_no_lock_is_left(index: Path, library: Path) -> None:
    from whoosh.filedb.filestore import FileStorage

    lock = FileStorage(str(index)).lock("documents_WRITELOCK")
    assert lock.acquire(blocking=False), "the index's write lock is still held"
    lock.release()
    conn = sqlite3.connect(str(library / "library.sqlite3"), timeout=0)
    try:
        conn.execute("BEGIN IMMEDIATE")     # fails at once if a write transaction is held
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def first_hits(index: Path, words: list[str]) -> list[str | None]:
    """The best hit of a search for each word (internal documents included), one engine."""
    engine = SearchEngine(index, create=False)
    try:
        return [next((hit.id for hit in engine.search(SearchRequest(
            q=word, per_page=1, facets=False, snippets=False, include_internal=True)).hits),
            None) for word in words]
    finally:
        engine.close()


def assert_searchable(index: Path, word: str, expected_id: str) -> None:
    assert first_hits(index, [word]) == [expected_id], word


def leftovers(index: Path) -> list[str]:
    """Files of the index folder that its latest table of contents does not name."""
    from whoosh.index import TOC

    from whoosh.filedb.filestore import FileStorage

    storage = FileStorage(str(index))
    toc = TOC.read(storage, "documents")
    named = {f"_documents_{toc.generation}.toc", "documents_WRITELOCK"}
    for segment in toc.segments:
        named.update(segment.list_files(storage))
    return sorted(set(storage.list()) - named)


def finish(run: subprocess.Popen) -> str:
    _, stderr = run.communicate(timeout=120)
    return stderr


def test_an_ingest_killed_at_random_points_loses_nothing_and_blocks_nothing(tmp_path):
    started = time.monotonic()
    index, library, folder = tmp_path / "index", tmp_path / "library", tmp_path / "ward"
    folder.mkdir()
    all_ids = write_file(folder, 0)
    first = start_run(index, library, folder, uuid.uuid4().hex)
    assert first.wait(timeout=120) == 0, finish(first)
    run_seconds = time.monotonic() - started        # one run's length on this machine
    assert index_ids(index) == sorted(all_ids)

    rng = random.Random(SEED)
    kills, outcomes, hit_workers, gone_after = 0, {"old": 0, "new": 0, "done": 0}, 0, []
    file_no = 0
    while kills < KILLS:
        assert time.monotonic() - started < BUDGET_SECONDS, \
            f"{kills} kills in {BUDGET_SECONDS} s: {outcomes}"
        before = index_ids(index)
        if before == sorted(all_ids):   # the last file is in: the next run brings another
            file_no += 1
            all_ids += write_file(folder, file_no)
        token = uuid.uuid4().hex
        run, run_started = start_run(index, library, folder, token), time.monotonic()
        try:
            delay = rng.uniform(0, run_seconds)
            # Every tenth kill lands right after the commit, before the run clears the
            # library's marks: a window random times seldom hit.
            ended = _wait_for_commit(run, index, before) if kills % 10 == 9 \
                else _wait(run, delay)
            at_kill = spawned(token) - {run.pid}
            if not ended:
                run.send_signal(signal.SIGKILL)         # kill -9
            stderr = finish(run)
        except BaseException:
            run.kill()
            run.wait()
            raise
        if ended:
            assert run.returncode == 0, stderr          # not blocked by an earlier kill
            run_seconds = min(run_seconds, time.monotonic() - run_started)
        else:
            assert run.returncode == -signal.SIGKILL, stderr
            kills += 1
            hit_workers += bool(at_kill)
        left, waited = wait_until_gone(token, WORKERS_GONE_SECONDS)
        assert not left, f"kill {kills}: processes of the killed run still running: {left}"
        gone_after.append(waited)

        check_index(index)
        after = index_ids(index)
        assert after in (before, sorted(all_ids)), \
            f"kill {kills}: {len(after)} documents, neither {len(before)} nor {len(all_ids)}"
        outcomes["done" if ended else "new" if after != before else "old"] += 1
        assert_searchable(index, code_word(0, 5), "dot-0-5")
        with Library(library) as kept:
            agreement = compare(kept, index)
        assert agreement.agrees, agreement.problems()
        assert agreement.library_documents >= len(after)
        assert_no_lock_is_left(index, library)

    # Most kills must have found spawned processes running, else they tested little.
    assert hit_workers >= KILLS // 2, f"only {hit_workers} of {KILLS} kills hit workers"
    last = start_run(index, library, folder, uuid.uuid4().hex)
    stderr = finish(last)
    assert last.returncode == 0, stderr
    assert index_ids(index) == sorted(all_ids)
    assert leftovers(index) == [], "files of killed runs are left in the index folder"
    with Library(library) as kept:
        used = {doc.original.sha256 for doc in kept.iter_documents()}
    placed = {p.stem for p in (library / "originals").glob("??/*.bin")}
    assert placed == used, "original files no document uses are left in the library"
    done = cli("check", "--index", index, "--library", library)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert done.stdout.splitlines()[1] == (f"library {library} agrees: {len(all_ids)} "
                                           f"documents, {len(all_ids)} in the index")
    words = [code_word(*map(int, doc_id.split("-")[1:])) for doc_id in all_ids]
    assert first_hits(index, words) == all_ids
    print(f"{kills} kills ({outcomes}), {hit_workers} with workers running, runs of "
          f"{run_seconds:.1f} s, spawned processes gone within {max(gone_after):.2f} s, "
          f"{time.monotonic() - started:.0f} s in all")


def _wait_for_commit(run: subprocess.Popen, index: Path, before: list[str]) -> bool:
    """Whether the run ended by itself before its commit landed (a new table of contents)."""
    from search_service.index.schema import latest_generation

    generation = latest_generation(index)
    while latest_generation(index) == generation:
        if run.poll() is not None:
            return True
        time.sleep(0.005)
    return False


def _wait(run: subprocess.Popen, seconds: float) -> bool:
    """Whether the run ended by itself within ``seconds``."""
    try:
        run.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return False
    return True


# -- check: the index against the library -----------------------------------------------------

def cli(*args) -> subprocess.CompletedProcess:
    """The command line as an operator runs it (no SEARCH_* setting but those given)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEARCH_")}
    return subprocess.run([sys.executable, "-m", "search_service", *map(str, args)],
                          cwd=REPO_ROOT, capture_output=True, text=True, encoding="utf-8",
                          timeout=120, env={**env, "PYTHONIOENCODING": "utf-8"})


def run_check(index: Path, library: Path) -> subprocess.CompletedProcess:
    return cli("check", "--index", index, "--library", library)


@pytest.fixture
def fed(tmp_path) -> tuple[Path, Path]:
    """An index of three documents, ingested through a library."""
    from search_service.ingest.pipeline import ingest_paths

    folder = tmp_path / "ward"
    folder.mkdir()
    write_jsonl(folder / "thong-bao.jsonl", [
        {"id": f"tb-{n}", "title": f"Thông báo số {n} của phường Phúc Lợi",
         "body": "Ủy ban nhân dân phường tiếp công dân vào thứ Năm hằng tuần."}
        for n in (1, 2, 3)])
    index, library = tmp_path / "index", tmp_path / "library"
    with Library(library) as kept:
        assert ingest_paths(index, [folder], workers=0, library=kept).failed == 0
    return index, library


def test_check_says_the_index_and_its_library_agree(fed):
    index, library = fed
    with Library(library) as kept:
        kept.delete("tb-2", actor="thu_ky")     # the index learns it at the next ingest
    done = run_check(index, library)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines()[1] == (f"library {library} agrees: 2 documents, 3 in the "
                                           "index; 1 change waiting for the next ingest into "
                                           "this index")


def test_check_names_the_documents_the_index_and_the_library_disagree_on(fed):
    index, library = fed
    writer = open_index(index).writer()
    writer.delete_by_term("id", "tb-1")         # lost by the index, not by the library
    writer.commit()
    with Library(library) as kept:
        kept.db.connection().execute("DELETE FROM index_pending")
        kept.delete("tb-3", actor="thu_ky")
        kept.db.connection().execute("DELETE FROM index_pending")    # and its mark lost
    done = run_check(index, library)
    assert "Traceback" not in done.stderr
    assert (done.returncode, done.stderr) == (1, (
        f"Error: the index in {index} and the library in {library} disagree: 1 document of "
        f"the library is not in the index (tb-1); 1 document of the index is not in the "
        f"library (tb-3); rebuild the index from the library: `reindex --index {index} "
        f"--library {library}` (when the index holds documents the library lacks, `library "
        "import-index` copies them in first)\n"))


def test_check_refuses_a_library_that_is_not_there_or_feeds_another_index(fed, tmp_path):
    index, library = fed
    done = run_check(index, tmp_path / "elsewhere")
    assert (done.returncode, done.stderr) == (
        1, f"Error: no library in {tmp_path / 'elsewhere'} (no library.sqlite3); is the path "
           "right?\n")
    other = tmp_path / "other-index"
    shutil.copytree(index, other)
    done = run_check(other, library)
    assert done.returncode == 1
    assert done.stderr.startswith(f"Error: the index in {other} and the library in {library} "
                                  "disagree: the library does not feed this index")
    assert "Traceback" not in done.stderr


# -- a damaged index, rebuilt from the library ----------------------------------------------------

def truncate_segment(index: Path) -> str:
    [segment] = index.glob("documents_*.seg")
    segment.write_bytes(segment.read_bytes()[:segment.stat().st_size // 2])
    return f"the segment file {segment.name} is truncated or corrupt (EOFError: Ran out of input)"


def empty_toc(index: Path) -> str:
    [toc] = index.glob("_documents_*.toc")
    toc.write_bytes(b"")
    return (f"the table of contents {toc.name} is truncated or corrupt (TypeError: ord() "
            "expected a character, but string of length 0 found)")


@pytest.mark.parametrize("damage", [truncate_segment, empty_toc], ids=lambda f: f.__name__)
def test_a_damaged_index_is_named_and_reindex_from_the_library_repairs_it(fed, damage):
    index, library = fed
    damaged = (f"Error: the index in {index} is damaged: {damage(index)}; it cannot be "
               "repaired in place: rebuild it from the library (`reindex --index FOLDER`; ")
    for command in (["search", "--index", index, "thông báo"], ["check", "--index", index]):
        done = cli(*command)
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert done.stderr.startswith(damaged), done.stderr

    done = cli("reindex", "--index", index, "--library", library, "--workers", "0")
    assert (done.returncode, done.stdout) == (0, f"reindexed 3 documents into {index}\n"), \
        done.stderr
    assert cli("check", "--index", index, "--library", library).stdout.splitlines()[1] == \
        f"library {library} agrees: 3 documents, 3 in the index"
    assert_searchable(index, "thông báo số 2", "tb-2")
