"""Many residents at once: concurrent searches share one snapshot and never see a mix.

Real threads against one real engine (as a server's request threads use it) and a real
ingest committing in between (in this process or another one): no errors, the same answers as
one reader alone, totals never going backwards, a new commit served without a restart (how
soon is measured by ``bench/load.py``), and "did you mean" catching up with the new words.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from search_service.ingest.pipeline import ingest_paths
from search_service.search import SearchEngine, SearchRequest

from conftest import DATA_DIR, RealServer

REPO_ROOT = Path(__file__).resolve().parents[2]

QUERIES = ["phuc loi", "hội nghị sơ kết", "phòng cháy chữa cháy", "ho ngheo", "15/NQ-ĐU",
           "tiêm chủng cho trẻ em", "sân chơi", "xyzzy", "tuyen duong hoc sinh", '"hoi nghi"']


def answer(engine, q: str):
    result = engine.search(SearchRequest(q=q, per_page=20))
    return result.total, [(h.id, h.score, h.snippet) for h in result.hits], result.did_you_mean


def test_concurrent_searches_give_the_answers_of_a_single_reader(tmp_path):
    ingest_paths(tmp_path / "index", [DATA_DIR], workers=0)
    engine = SearchEngine(tmp_path / "index", readers=3)     # fewer searchers than threads
    alone = {q: answer(engine, q) for q in QUERIES}
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda q: (q, answer(engine, q)), QUERIES * 30))
    assert all(got == alone[q] for q, got in answers)


def _news(folder: Path, start: int, count: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"tin-{start}.jsonl", "w", encoding="utf-8") as out:
        for n in range(start, start + count):
            out.write(json.dumps({"id": f"tin-{n}", "title": f"Bản tin phường số {n}",
                                  "body": f"Tin số {n}: lịch tiêm chủng và họp tổ dân phố."},
                                 ensure_ascii=False) + "\n")
    return folder


def test_readers_during_ingests_see_whole_generations_and_the_newest_without_a_restart(tmp_path):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    ingest_paths(index, [_news(corpus, 0, 10)], workers=0)
    engine = SearchEngine(index)
    errors, seen, stop = [], [[] for _ in range(4)], threading.Event()

    def read(mine):
        while not stop.is_set():
            try:
                result = engine.search(SearchRequest(q="ban tin phuong", per_page=5))
                mine.append(result.total)
            except Exception as exc:      # noqa: BLE001 - any error fails the test below
                errors.append(repr(exc))

    readers = [threading.Thread(target=read, args=(s,)) for s in seen]
    for thread in readers:
        thread.start()
    try:
        for batch in range(1, 4):
            ingest_paths(index, [_news(corpus, batch * 10, 10)], workers=0)
            committed = time.monotonic()
            while engine.search(SearchRequest(q="ban tin phuong")).total != (batch + 1) * 10:
                assert time.monotonic() - committed < 60, "the commit is never served"
                time.sleep(0.02)     # how soon is bench/load.py's to say
    finally:
        stop.set()
        for thread in readers:
            thread.join(timeout=10)
    assert errors == []
    for totals in seen:
        assert totals and totals == sorted(totals)                 # never backwards
        assert set(totals) <= {10, 20, 30, 40}                     # never a mix


FESTIVAL = [{"id": f"le-hoi-{n}", "title": f"Lễ hội Quỳnh Lâm năm {2020 + n}",
             "body": "Lễ hội chùa Quỳnh Lâm được tổ chức tại sân văn hóa phường."}
            for n in range(3)]
NEW_WORDS = "Quỳnh Lâm"
TYPO = "quynhh"       # "quỳnh" is a word only the new documents write


def _commit_from_another_process(index: Path, folder: Path) -> None:
    """Ingest ``folder`` into ``index`` in a process of its own, as the CLI or the console
    would while a server is serving the index."""
    code = ("import sys\nfrom search_service.ingest.pipeline import ingest_paths\n"
            "assert ingest_paths(sys.argv[1], [sys.argv[2]], workers=0).failed == 0\n")
    subprocess.run([sys.executable, "-c", code, str(index), str(folder)], cwd=REPO_ROOT,
                   check=True, timeout=300)


def _festival(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "le-hoi.jsonl", "w", encoding="utf-8") as out:
        out.writelines(json.dumps(doc, ensure_ascii=False) + "\n" for doc in FESTIVAL)
    return folder


def _found(engine) -> tuple[int, list[str]]:
    result = engine.search(SearchRequest(q=NEW_WORDS, per_page=20))
    return result.total, [h.id for h in result.hits]


def _did_you_mean(engine) -> str | None:
    return engine.search(SearchRequest(q=TYPO)).did_you_mean


def test_a_commit_of_another_process_is_served_whole_and_did_you_mean_catches_up(tmp_path):
    """Four readers search for the new documents' words, and for a typo of one of them,
    while another process commits them: each sees the old generation, then the new one,
    never a mix nor other results than a fresh engine's. Its "did you mean" may lag behind
    the new generation for a moment (the typo fixed, its tones not yet known), but ends with
    the fresh engine's answer and never goes back from it."""
    index = tmp_path / "index"
    ingest_paths(index, [DATA_DIR], workers=0)
    engine = SearchEngine(index)
    old, old_offer = _found(engine), _did_you_mean(engine)
    assert old_offer is None               # nothing to offer: no document says quỳnh
    errors, seen, stop = [], [[] for _ in range(4)], threading.Event()

    def read(mine):
        while not stop.is_set():
            try:
                mine.append((_found(engine), _did_you_mean(engine)))
            except Exception as exc:      # noqa: BLE001 - any error fails the test below
                errors.append(repr(exc))
            time.sleep(0.005)

    readers = [threading.Thread(target=read, args=(mine,)) for mine in seen]
    for thread in readers:
        thread.start()
    try:
        _commit_from_another_process(index, _festival(tmp_path / "more"))
        fresh = SearchEngine(index)               # what a restarted server would answer
        new, offer = _found(fresh), _did_you_mean(fresh)
        fresh.close()
        assert new[0] == old[0] + 3 and offer == "quỳnh"
        deadline = time.monotonic() + 60
        while not all(mine and mine[-1] == (new, offer) for mine in seen):
            assert time.monotonic() < deadline, "the commit is never served whole"
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in readers:
            thread.join(timeout=30)
    assert errors == []
    for mine in seen:
        found = [f for f, _ in mine]
        assert all(f in (old, new) for f in found)
        assert found == sorted(found, key=lambda f: f == new)          # old, then new
        offered = [o for _, o in mine]
        caught_up = offered.index(offer)
        assert set(offered[:caught_up]) <= {old_offer, "quynh"}        # before, or stale
        assert set(offered[caught_up:]) == {offer}                     # never back
    engine.close()


def test_each_worker_of_an_idle_server_swaps_in_a_commit_without_a_request(tmp_path, web_index):
    """``serve --workers 2``: each worker holds its own snapshot, and its own watcher swaps a
    commit in while no request comes; the next requests, to either worker, find the new
    documents and suggest their words. Without ``-v`` the log tells the operator each worker's
    swap and how long after the commit it came."""
    import re
    import shutil

    index = tmp_path / "index"
    shutil.copytree(web_index, index)
    server = RealServer(index, tmp_path / "server.log", workers=2)
    get = server.get

    def logged(line):
        return server.log_text().count(line)

    try:
        server.wait_for(lambda: logged("ready: index generation 1") == 2 and server.ready(),
                        "not ready")
        ingest_paths(index, [_festival(tmp_path / "more")], workers=0)   # no request meanwhile
        server.wait_for(
            lambda: logged("index generation 2: did-you-mean word list complete") == 2,
            "a worker did not swap the commit in")
        delays = re.findall(r"index generation 2: \d+ documents, served ([\d.]+) s after its "
                            r"commit", server.log_text())
        assert len(delays) == 2 and all(float(d) < 60 for d in delays), server.log_text()
        pids = set()
        deadline = time.monotonic() + 90
        while len(pids) < 2:       # the connections reach both workers sooner or later
            assert time.monotonic() < deadline, f"only worker {pids} answered"
            status, body = get("/api/search?q=Qu%E1%BB%B3nh+L%C3%A2m&facets=false")
            assert status == 200
            assert {"le-hoi-0", "le-hoi-1", "le-hoi-2"} <= {h["id"] for h in body["hits"]}
            assert get(f"/api/search?q={TYPO}&facets=false")[1]["did_you_mean"] == "quỳnh"
            status, body = get("/readyz")
            assert status == 200 and body["generation"] == 2
            pids.add(body["pid"])
    finally:
        server.kill()


# -- faults of the disk, and did-you-mean answered once -----------------------------------------
def test_searches_while_the_index_folder_comes_and_goes_answer_or_say_unavailable(tmp_path):
    """The folder renamed away and back (an unmounted disk) under 8 searching threads: every
    answer is the one a single reader gives, or SearchUnavailable; never another error."""
    from search_service.errors import SearchUnavailable

    index = tmp_path / "index"
    ingest_paths(index, [DATA_DIR], workers=0)
    engine = SearchEngine(index, readers=3)
    alone = {q: answer(engine, q) for q in QUERIES}
    stop, unexpected, answered = threading.Event(), [], []

    def read(start: int):
        i = start
        while not stop.is_set():
            q = QUERIES[i % len(QUERIES)]
            i += 1
            try:
                got = answer(engine, q)
            except SearchUnavailable:
                continue
            except Exception as exc:      # noqa: BLE001 - any other error fails the test
                unexpected.append(repr(exc))
                continue
            answered.append(got == alone[q])

    threads = [threading.Thread(target=read, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(5):
            index.rename(tmp_path / "away")
            time.sleep(0.3)
            (tmp_path / "away").rename(index)
            time.sleep(0.3)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert unexpected == []
    assert answered and all(answered)
    assert engine.generations.problem() is None        # back as it was
    engine.close()


def test_without_a_snapshot_a_lost_index_raises_the_index_error_until_it_is_back(tmp_path):
    import shutil

    from search_service.errors import IndexMissing, IndexProblem
    from search_service.search import snapshot
    from search_service.errors import SearchUnavailable

    index = tmp_path / "index"
    ingest_paths(index, [DATA_DIR], workers=0)
    engine = SearchEngine(index)
    shutil.copytree(index, tmp_path / "backup")
    shutil.rmtree(index)
    for _ in range(3):
        try:
            engine.search(SearchRequest(q="phuc loi"))
        except SearchUnavailable as exc:
            assert isinstance(exc, IndexProblem) and isinstance(exc.problem, IndexMissing)
            assert exc.status == 503 and str(index) not in str(exc.body())
        else:
            raise AssertionError("a search without any index answered")
    shutil.copytree(tmp_path / "backup", index)
    deadline = time.monotonic() + snapshot.RETRY_SECONDS + 5
    while True:
        try:
            assert engine.search(SearchRequest(q="phuc loi")).total > 0
            break
        except SearchUnavailable:
            assert time.monotonic() < deadline, "the restored index is not served"
            time.sleep(0.1)
    engine.close()


def test_did_you_mean_is_worked_out_once_per_generation_scope_and_query(tmp_path, monkeypatch):
    from search_service.search import suggest

    index = tmp_path / "index"
    ingest_paths(index, [DATA_DIR], workers=0)
    engine = SearchEngine(index)
    work = []
    original = suggest._correct
    monkeypatch.setattr(suggest, "_correct", lambda *a: work.append(a[2].text) or original(*a))

    def did_you_mean(q, staff=False):
        return engine.search(SearchRequest(q=q, include_internal=staff)).did_you_mean

    first = did_you_mean("phuc loi")
    assert [did_you_mean("phuc loi") for _ in range(5)] == [first] * 5
    assert work == ["phuc loi"]
    did_you_mean("phuc loi", staff=True)            # staff see other documents: worked out anew
    did_you_mean("Phuc loi")                        # another text (its capitals are kept)
    assert work == ["phuc loi", "phuc loi", "Phuc loi"]
    corrections = engine.snapshot().lexicon.corrections
    # Three corrections, and for each request whether its correction was offered.
    # Repeats are answered from the whole-result cache, which the generation also keeps.
    assert len(corrections) == 6 and engine.snapshot().lexicon.results.hits >= 5
    assert corrections.get(("public", "phuc loi"))[1] == "phúc lợi"   # what the search weighed

    # Many threads asking at once get the same answer as one alone.
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(lambda _: did_you_mean("phuc loi"), range(40))) == {first}

    # A new generation starts empty, and the old one's answers are dropped with it.
    old = engine.snapshot()
    ingest_paths(index, [_news(tmp_path / "more", 0, 3)], workers=0)
    engine.refresh()
    assert engine.snapshot().generation > old.generation
    assert len(old.lexicon.corrections) == 0
    assert did_you_mean("phuc loi") == first
    assert work[-1] == "phuc loi" and len(work) == 4
    engine.close()


def test_the_correction_cache_is_bounded_least_recently_used_out():
    from search_service.search.suggest import Corrections

    cache = Corrections(limit=2)
    cache.put(("public", "a"), "á")
    cache.put(("public", "b"), None)
    assert cache.get(("public", "a")) == (True, "á")      # a is now the most recent
    cache.put(("staff", "a"), "à")
    assert cache.get(("public", "b")) == (False, None)
    assert cache.get(("public", "a")) == (True, "á") and cache.get(("staff", "a")) == (True, "à")
    assert len(cache) == 2
