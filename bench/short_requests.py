"""Short requests over HTTP: what a one- or two-word query costs through the real server.

```
.venv/bin/python bench/short_requests.py                      # relevance-index-2, 1 worker
.venv/bin/python bench/short_requests.py --cpu --profile
.venv/bin/python bench/short_requests.py --questions 50          # and long questions vs FTS5
```

Starts ``python -m search_service serve --index … --workers 1`` on a free local port and, on one
keep-alive connection:

1. asks each of the distinct short queries below once, each for the first time on this
   server (``first``: nothing of the query is cached yet; a few other queries warm it first);
2. asks them all again ``--rounds`` times (``repeat``);
3. asks ``phuc loi`` ``--repeat`` times (``phuc loi``), and ``/healthz`` as often;
4. with ``--questions N``: the N longest dev questions (``bench/speed.py``'s), once each
   (``questions first``: the server has not seen them) and ``--rounds`` times again, and the
   same through SQLite FTS5 in-process over the same 6,491 documents, in the same run; the
   ratio is ours p50 / FTS5 p50, first time and repeated.

Reported: p50 and p95 of the client-side time and the median ``took_ms`` the API reports.
``--cpu`` also prints, in-process (Flask's test client, no socket), the CPU time per
request of each query set, first time and repeated; ``--profile`` adds the top of a cProfile
of the short queries' first pass.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import json
import os
import pstats
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import common
from common import BenchError
from speed import free_port, long_questions

WARM = ["phường", "ủy ban nhân dân", "nghị định"]
SHORT = ["phuc loi", "phúc lợi", "ho ngheo", "hộ nghèo", "covid", "hoa giai", "hòa giải",
         "bao hiem y te", "bảo hiểm y tế", "dat dai", "đất đai", "thue", "thuế", "ket hon",
         "kết hôn", "giay phep lai xe", "giấy phép lái xe", "hoc phi", "học phí", "luong",
         "lương", "tai nan giao thong", "tai nạn giao thông", "chung cu", "chung cư",
         "di chuc", "di chúc", "ly hon", "ly hôn", "phong chay", "phòng cháy", "tiem chung",
         "tiêm chủng", "bau cu", "bầu cử", "quan su", "quân sự", "moi truong", "môi trường",
         "can cuoc"]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", type=Path, default=common.OUT_DIR / "relevance-index-2")
    parser.add_argument("--repeat", type=int, default=300, help="requests of phuc loi")
    parser.add_argument("--rounds", type=int, default=5, help="repeated passes of the list")
    parser.add_argument("--cpu", action="store_true",
                        help="also the CPU per request in-process (Flask's test client)")
    parser.add_argument("--profile", action="store_true",
                        help="with --cpu: a cProfile of the first pass")
    parser.add_argument("--questions", type=int, default=0, metavar="N",
                        help="also the N longest dev questions, first time and repeated, "
                             "against SQLite FTS5 in-process over the same documents")
    parser.add_argument("--corpus", type=Path, default=common.DEFAULT_CORPUS)
    parser.add_argument("--startup-timeout", type=float, default=180)
    return parser.parse_args(argv)


class Client:
    """One keep-alive connection to the server."""

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def get(self, path: str) -> tuple[float, dict | None]:
        started = time.perf_counter()
        self.conn.request("GET", path)
        response = self.conn.getresponse()
        body = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200:
            raise BenchError(f"GET {path} answered {response.status}: {body[:300]!r}")
        data = json.loads(body) if path.startswith("/api/") else None
        return elapsed, data

    def search(self, q: str) -> tuple[float, float]:
        elapsed, data = self.get("/api/search?" + urlencode({"q": q}))
        return elapsed, float(data["took_ms"])


def start_server(index: Path, log_path: Path, timeout: float) -> tuple[subprocess.Popen, int]:
    port = free_port()
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "search_service", "serve", "--index", str(index),
         "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        cwd=common.REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "SEARCH_RATE_LIMIT": ""})     # measure the server, not the limit
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"the server exited with {proc.returncode}; see {log_path}")
        try:
            Client(port).get("/readyz")
            return proc, port
        except (OSError, http.client.HTTPException, BenchError):
            time.sleep(0.2)
    proc.terminate()
    raise BenchError(f"the server did not answer within {timeout:g}s; see {log_path}")


def summary(samples: list[tuple[float, float]]) -> dict:
    client = sorted(s[0] for s in samples)
    return {"n": len(client), "p50": common.percentile(client, 50),
            "p95": common.percentile(client, 95),
            "took_p50": statistics.median(s[1] for s in samples)}


def over_http(args) -> dict:
    common.OUT_DIR.mkdir(parents=True, exist_ok=True)
    proc, port = start_server(args.index, common.OUT_DIR / "short-requests-server.log",
                              args.startup_timeout)
    try:
        client = Client(port)
        for q in WARM:
            client.search(q)
        first = [client.search(q) for q in SHORT]
        repeat = [client.search(q) for _ in range(args.rounds) for q in SHORT]
        one = [client.search("phuc loi") for _ in range(args.repeat)]
        health = [(client.get("/healthz")[0], 0.0) for _ in range(args.repeat)]
        out = {"first": summary(first), "repeat": summary(repeat), "phuc loi": summary(one),
               "healthz": summary(health)}
        if args.questions:
            questions = long_questions(args.corpus, args.questions)
            out["questions first"] = summary([client.search(q) for q in questions])
            out["questions repeat"] = summary([client.search(q) for _ in range(args.rounds)
                                               for q in questions])
    finally:
        proc.terminate()
        proc.wait(10)
    return out


def fts5_questions(args) -> dict:
    """The same questions through SQLite FTS5 in-process: first time, then repeated."""
    docs = common.load_documents(common.require_files(
        args.corpus, [common.LEGAL, common.BKAI, common.DANTRI]))
    fts, _ = common.build_fts5(docs)
    questions = long_questions(args.corpus, args.questions)

    def timed(q):
        started = time.perf_counter()
        fts.search(q, 10)
        return (time.perf_counter() - started) * 1000, 0.0
    try:
        first = [timed(q) for q in questions]
        repeat = [timed(q) for _ in range(args.rounds) for q in questions]
    finally:
        fts.close()
    return {"fts5 first": summary(first), "fts5 repeat": summary(repeat)}


def in_process(args) -> dict:
    """CPU ms per request through Flask's test client (no socket), medians: the short
    queries first time and repeated, and with ``--questions`` the questions likewise;
    ``--profile`` prints a cProfile of the short queries' first pass."""
    from search_service.web import create_app

    app = create_app({"INDEX_DIR": str(args.index), "RATE_LIMIT": ""})
    app.extensions["search_engine"].warm()
    client = app.test_client()

    def cpu(q: str) -> float:
        started = time.thread_time()
        response = client.get("/api/search?" + urlencode({"q": q}))
        if response.status_code != 200:
            raise BenchError(f"/api/search?q={q} answered {response.status_code}")
        return (time.thread_time() - started) * 1000

    for q in WARM:
        cpu(q)
    profile = cProfile.Profile()
    if args.profile:
        profile.enable()
    out = {"short first": statistics.median([cpu(q) for q in SHORT])}
    profile.disable()
    out["short repeat"] = statistics.median([cpu(q) for _ in range(args.rounds) for q in SHORT])
    if args.questions:
        questions = long_questions(args.corpus, args.questions)
        out["questions first"] = statistics.median([cpu(q) for q in questions])
        out["questions repeat"] = statistics.median([cpu(q) for q in questions])
    if args.profile:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(35)
    return {name: round(ms, 2) for name, ms in out.items()}


def main(argv=None) -> int:
    args = parse_args(argv)
    if not args.index.is_dir():
        raise BenchError(f"no index at {args.index} (build it with bench/relevance.py)")
    report = {"http": over_http(args)}
    if args.questions:
        report["http"].update(fts5_questions(args))
        for kind in ("first", "repeat"):
            report[f"ratio {kind}"] = (report["http"][f"questions {kind}"]["p50"]
                                       / report["http"][f"fts5 {kind}"]["p50"])
    if args.cpu:
        report["in_process"] = in_process(args)
    for name, row in report["http"].items():
        print(f"{name:>9}: n={row['n']:>4} p50 {row['p50']:6.2f} ms  p95 {row['p95']:6.2f} ms"
              f"  took_ms p50 {row['took_p50']:5.2f}")
    for kind in ("first", "repeat"):
        if f"ratio {kind}" in report:
            print(f"questions {kind}: ours p50 / FTS5 p50 = {report[f'ratio {kind}']:.2f}")
    if args.cpu:
        print("CPU ms per request in-process:", json.dumps(report["in_process"]))
    return 0


if __name__ == "__main__":
    common.run_main(main)
