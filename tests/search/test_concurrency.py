"""Many residents at once: concurrent searches share one snapshot and never see a mix.

Real threads against one real engine (as a server's request threads use it) and a real
ingest committing in between: no errors, the same answers as one reader alone, totals never
going backwards, and a new commit visible within a second without a restart.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from search_service.ingest.pipeline import ingest_paths
from search_service.search import SearchEngine, SearchRequest

from conftest import DATA_DIR

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


def test_readers_during_ingests_see_whole_generations_and_the_newest_within_a_second(tmp_path):
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
                assert time.monotonic() - committed < 1.0, "the commit is not visible after 1 s"
                time.sleep(0.02)
    finally:
        stop.set()
        for thread in readers:
            thread.join(timeout=10)
    assert errors == []
    for totals in seen:
        assert totals and totals == sorted(totals)                 # never backwards
        assert set(totals) <= {10, 20, 30, 40}                     # never a mix
