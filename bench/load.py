"""Load: N concurrent clients for T seconds against the real server (`serve --workers W`) on
127.0.0.1, with 1 and 2 workers, while an ingest runs and while it does not.

Reports requests/s, latency percentiles, errors, 5xx and the server's memory (RSS and PSS of
every server process). During an ingest, dedicated readers also check that the totals they
see never go backwards and time how soon after the commit the new documents are served.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import common
from common import DANTRI, LEGAL, BenchError, percentile
from speed import free_port

BKAI = "legal_passages_bkai.jsonl"
SHORT = ["phúc lợi", "phuc loi", "hộ nghèo", "tiêm chủng", "covid", "giao thông", "Hà Nội",
         "bảo hiểm xã hội", "thuế thu nhập", "tai nạn", "học sinh", "bóng đá", "giá xăng",
         "hình phạt tù", "đất đai", "ly hôn", "di chúc", "xe máy", "lãi suất", "phong chay"]
WATCHED = ["", "Hà Nội", "covid", "phúc lợi"]      # one per reader during an ingest
REUSE = 20            # requests per connection of a load client
EXAMPLE = """\
example:
  .venv/bin/python bench/load.py                                # 50 clients x 60 s, 1 and 2 workers
  .venv/bin/python bench/load.py --clients 20 --seconds 15 --no-ingest
"""


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, epilog=EXAMPLE,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add = parser.add_argument
    add("--corpus", type=Path, default=common.DEFAULT_CORPUS, help="default: %(default)s")
    add("--out", type=Path, default=common.OUT_DIR / "load", help="indexes, logs, results")
    add("--clients", type=int, default=50, help="concurrent clients (default: %(default)s)")
    add("--seconds", type=float, default=60, help="load duration per run (default: %(default)s)")
    add("--workers", default="1,2", help="server processes to compare (default: %(default)s)")
    add("--threads", type=int, default=4, help="threads per server process")
    add("--readers", type=int, default=4, help="readers watching totals during an ingest")
    add("--short-share", type=float, default=0.7, help="share of short queries (default 0.7)")
    add("--no-ingest", action="store_true", help="skip the runs with an ingest")
    add("--no-result-cache", action="store_true", help="serve with SEARCH_RESULT_CACHE=false: "
        "every search ranked anew (the query mix repeats, so by default most are answered "
        "from the generation's results)")
    add("--ingest-timeout", type=float, default=900, help="seconds an ingest may take")
    add("--rounds", type=int, default=1, help="runs of each worker count, taken in turn; "
        "medians reported (default: %(default)s)")
    add("--index", type=Path, help="an index of legal + bkai + Dân trí to use as it is "
        "(default: built and cached in OUT/index-full)")
    add("--base-index", type=Path, help="an index of legal + bkai to copy for the ingest runs "
        "(default: built and cached in OUT/index-legal)")
    add("--nice", type=int, help="scheduling priority of the server and the clients (e.g. -10 "
        "on a machine shared with other work; negative values need root)")
    add("--json", type=Path, help="write every figure as JSON to this file")
    add("--wrk", action="store_true", help="send the load with wrk (Debian's package wrk) "
        "instead of Python client threads, which on a 2-core machine take the CPU the server "
        "needs once requests are cheap")
    args = parser.parse_args(argv)
    args.workers = [int(w) for w in args.workers.split(",")]
    if args.clients < 1 or args.seconds <= 0 or min(args.workers) < 1 or args.clients > 500:
        parser.error("--clients 1..500, --seconds > 0, --workers >= 1")
    return args


# -- the server ------------------------------------------------------------------------------
class Server:
    """`python -m search_service serve --workers W` on a free port of 127.0.0.1."""

    def __init__(self, index: Path, workers: int, threads: int, log: Path,
                 nice: int | None = None, no_result_cache: bool = False,
                 library: Path | None = None):
        self.port, self.log = free_port(), log
        env = {**os.environ, "SEARCH_RATE_LIMIT": ""}     # measure the server, not the limit
        if library is not None:
            env["SEARCH_LIBRARY_DIR"] = str(library)
        if no_result_cache:
            env["SEARCH_RESULT_CACHE"] = "false"
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "search_service", "serve", "--index", str(index),
                 "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers),
                 "--threads", str(threads)],
                cwd=common.REPO_ROOT, stdout=out, stderr=subprocess.STDOUT, env=env,
                start_new_session=True,
                preexec_fn=None if nice is None else lambda: os.setpriority(
                    os.PRIO_PROCESS, 0, nice))
        ready: set[int] = set()            # every worker, not just the first one up
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"the server exited: {log.read_text(errors='replace')[-800:]}")
            try:
                status, body = Client(self.port).get("/readyz")
                if status == 200:
                    ready.add(json.loads(body)["pid"])
                    if len(ready) == workers:
                        return
                    continue
            except OSError:
                pass
            time.sleep(0.3)
        self.stop()
        raise BenchError(f"{len(ready)} of {workers} workers ready within 180 s; see {log}")

    def pids(self) -> list[int]:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        return [self.proc.pid] + [int(p) for p in children.split()]

    def cpu_seconds(self) -> float:
        """User + system CPU time of every server process so far."""
        total = 0
        for pid in self.pids():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])          # utime, stime
        return total / os.sysconf("SC_CLK_TCK")

    def memory(self) -> dict:
        """RSS and PSS in MB per process (PSS shares pages among the processes using them)."""
        out = {}
        for pid in self.pids():
            fields = {}
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
                name, value = line.split(":", 1)
                fields[name] = int(value.split()[0]) / 1024
            out[pid] = {"rss_mb": round(fields["Rss"], 1), "pss_mb": round(fields["Pss"], 1)}
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(40)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


class Client:
    """A keep-alive connection, opened anew every ``reuse`` requests (a visitor's browser
    keeps one for a page or a few, not for ever) and after an error."""

    def __init__(self, port: int, reuse: int = 0):
        self.port, self.conn, self.reuse, self.used = port, None, reuse, 0

    def get(self, path: str) -> tuple[int, bytes]:
        if self.conn is not None and self.reuse and self.used >= self.reuse:
            self.conn.close()
            self.conn = None
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            self.used = 0
        self.used += 1
        try:
            self.conn.request("GET", path)
            response = self.conn.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = None
            raise


# -- load ------------------------------------------------------------------------------------
def query_paths(questions: list[str], share_short: float, seed: int):
    """An endless mix: short keyword queries, long dev questions; some pages of the UI."""
    rng = random.Random(seed)
    while True:
        text = rng.choice(SHORT) if rng.random() < share_short else rng.choice(questions)
        if rng.random() < 0.1:
            yield "/search?" + urlencode({"q": text})
        else:
            yield "/api/search?" + urlencode({"q": text, "per_page": 10})


def run_clients(port: int, clients: int, seconds: float, questions, share_short) -> dict:
    """``clients`` threads, each on its own connection, until ``seconds`` have passed."""
    stop_at = time.monotonic() + seconds
    results = [{"ms": [], "errors": 0, "5xx": 0, "other": 0} for _ in range(clients)]

    def client(n: int) -> None:
        mine, conn = results[n], Client(port, reuse=REUSE)
        for path in query_paths(questions, share_short, seed=n):
            if time.monotonic() >= stop_at:
                return
            started = time.perf_counter()
            try:
                status, _ = conn.get(path)
            except (OSError, http.client.HTTPException):
                mine["errors"] += 1
                continue
            mine["ms"].append((time.perf_counter() - started) * 1000)
            if status >= 500:
                mine["5xx"] += 1
            elif status != 200:
                mine["other"] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 60)
    elapsed = time.monotonic() - started
    ms = [v for r in results for v in r["ms"]]
    return {"requests": len(ms), "rps": round(len(ms) / elapsed, 1),
            "p50_ms": round(percentile(ms, 50), 1), "p95_ms": round(percentile(ms, 95), 1),
            "p99_ms": round(percentile(ms, 99), 1),
            "errors": sum(r["errors"] for r in results), "5xx": sum(r["5xx"] for r in results),
            "other_status": sum(r["other"] for r in results)}


WRK_SCRIPT = """
local paths = {%s}
local threads, s5 = {}, 0
function setup(thread)
  thread:set("first", #threads * 7919)
  table.insert(threads, thread)
end
function init(args)
  i = first
  fivexx = 0
end
function request()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
function response(status, headers, body)
  if status >= 500 then fivexx = fivexx + 1 end
end
function done(summary, latency, requests)
  for _, thread in ipairs(threads) do s5 = s5 + thread:get("fivexx") end
  local e = summary.errors
  io.write(string.format(
    "WRK {\\"requests\\": %%d, \\"seconds\\": %%.3f, \\"p50_ms\\": %%.2f, \\"p95_ms\\": %%.2f, "
    .. "\\"p99_ms\\": %%.2f, \\"errors\\": %%d, \\"non_2xx\\": %%d, \\"5xx\\": %%d}\\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(95) / 1e3, latency:percentile(99) / 1e3,
    e.connect + e.read + e.write + e.timeout, e.status, s5))
end
"""


def run_wrk(port: int, clients: int, seconds: float, questions, share_short,
            out: Path) -> dict:
    """The same mix of requests from ``wrk`` (C, two threads, ``clients`` keep-alive
    connections): a client that costs far less CPU than the server it measures, which the
    Python client threads do not once a request costs the server a few milliseconds."""
    paths = list(itertools.islice(query_paths(questions, share_short, seed=0), 20_000))
    script = out / "wrk-mix.lua"
    script.write_text(WRK_SCRIPT % ", ".join(f'"{p}"' for p in paths), encoding="utf-8")
    run = subprocess.run(
        ["wrk", "-t2", f"-c{clients}", f"-d{seconds:g}s", "--timeout", "30s", "-s", str(script),
         f"http://127.0.0.1:{port}"], capture_output=True, text=True, timeout=seconds + 120)
    line = next((l for l in run.stdout.splitlines() if l.startswith("WRK ")), None)
    if run.returncode != 0 or line is None:
        raise BenchError(f"wrk failed (exit {run.returncode}): {run.stderr[-500:]}")
    found = json.loads(line[4:])
    return {"requests": found["requests"], "rps": round(found["requests"] / found["seconds"], 1),
            "p50_ms": found["p50_ms"], "p95_ms": found["p95_ms"], "p99_ms": found["p99_ms"],
            "errors": found["errors"], "5xx": found["5xx"],
            "other_status": found["non_2xx"] - found["5xx"]}


class Watcher(threading.Thread):
    """A reader that asks one query over and over and remembers every total it saw."""

    def __init__(self, port: int, query: str, stop: threading.Event):
        super().__init__(daemon=True)
        self.port, self.query, self.stop = port, query, stop
        self.seen: list[tuple[float, int]] = []          # (time, total)
        self.errors = 0

    def run(self) -> None:
        conn = Client(self.port)
        path = "/api/search?" + urlencode({"q": self.query, "facets": "false"})
        while not self.stop.is_set():
            try:
                status, body = conn.get(path)
                if status != 200:
                    raise ValueError(status)
                self.seen.append((time.time(), json.loads(body)["total"]))
            except (OSError, http.client.HTTPException, ValueError):
                self.errors += 1
            time.sleep(0.02)

    def backwards(self) -> int:
        return sum(b[1] < a[1] for a, b in zip(self.seen, self.seen[1:]))

    def first_after(self, before: int) -> float | None:
        return next((t for t, total in self.seen if total > before), None)


# -- runs ------------------------------------------------------------------------------------
def measured_load(server: Server, args, questions) -> dict:
    """run_clients, plus the CPU the server processes used meanwhile: cores busy, and CPU
    milliseconds per request (what a busy shared machine does not distort)."""
    cpu_before, started = server.cpu_seconds(), time.monotonic()
    if args.wrk:
        row = run_wrk(server.port, args.clients, args.seconds, questions, args.short_share,
                      args.out)
    else:
        row = run_clients(server.port, args.clients, args.seconds, questions, args.short_share)
    cpu = server.cpu_seconds() - cpu_before
    row["server_cores"] = round(cpu / (time.monotonic() - started), 2)
    row["cpu_ms_per_request"] = round(1000 * cpu / max(1, row["requests"]), 1)
    return row


def steady_run(args, index: Path, workers: int, questions) -> dict:
    server = Server(index, workers, args.threads, args.out / f"server-steady-{workers}.log",
                    args.nice, args.no_result_cache)
    try:
        row = measured_load(server, args, questions)
        row["memory"] = server.memory()
    finally:
        server.stop()
    return {"workers": workers, "ingest": False, **row}


def ingest_run(args, base: Path, workers: int, questions) -> dict:
    """The load while ``news_dantri_2020`` is ingested into a copy of the legal index."""
    work = args.out / f"tmp-ingest-{workers}"
    common.remove_bench_dir(work)
    shutil.copytree(base, work)
    # A library of the run's own (the repository's library/ is the developer's), new each
    # run: the ingest copies the legal documents into it and writes them again, every run alike.
    library = args.out / f"tmp-library-{workers}"
    common.remove_bench_dir(library)
    server = Server(work, workers, args.threads, args.out / f"server-ingest-{workers}.log",
                    args.nice, args.no_result_cache, library)
    stop = threading.Event()
    watchers = [Watcher(server.port, q, stop) for q in WATCHED[:args.readers]]
    try:
        for w in watchers:
            w.start()
        time.sleep(1)
        before = [w.seen[-1][1] if w.seen else 0 for w in watchers]
        with open(args.out / f"ingest-{workers}.log", "wb") as log:
            started = time.time()
            ingest = subprocess.Popen(
                [sys.executable, "-m", "search_service", "ingest", "--index", str(work),
                 "--library", str(library), str(args.corpus / DANTRI)],
                cwd=common.REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
            load_started = time.time()
            row = measured_load(server, args, questions)
            load_ended = time.time()
            try:
                code = ingest.wait(args.ingest_timeout)
            except subprocess.TimeoutExpired:
                ingest.kill()
                raise BenchError(f"the ingest took over {args.ingest_timeout:g} s") from None
        ingest_seconds = time.time() - started
        if code != 0:
            raise BenchError(f"the ingest failed (exit {code}); see {log.name}")
        toc = max(work.glob("_documents_*.toc"), key=lambda p: p.stat().st_mtime)
        committed = toc.stat().st_mtime
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not all(
                w.first_after(b) for w, b in zip(watchers, before)):
            time.sleep(0.1)
        row["memory"] = server.memory()
    finally:
        stop.set()
        server.stop()
    visible = [round(w.first_after(b) - committed, 2) for w, b in zip(watchers, before)
               if w.first_after(b)]
    common.remove_bench_dir(work)
    common.remove_bench_dir(library)
    return {"workers": workers, "ingest": True, **row,
            "ingest_seconds": round(ingest_seconds, 1),
            "ingest_overlap_s": round(min(ingest_seconds, args.seconds), 1),
            # Where the commit fell: a commit after the load ended says nothing of the swap
            # under load.
            "commit_into_load_s": round(committed - load_started, 1),
            "load_seconds": round(load_ended - load_started, 1),
            "readers": len(watchers), "reader_requests": sum(len(w.seen) for w in watchers),
            "reader_errors": sum(w.errors for w in watchers),
            "totals_backwards": sum(w.backwards() for w in watchers),
            "visible_after_commit_s": visible}


def indexes(args) -> tuple[Path, Path | None]:
    """The collection to load, and the one an ingest adds Dân trí to (None: no ingest runs).
    Built once and reused while the indexing code is unchanged (see common.ensure_index)."""
    full, base = args.index, args.base_index
    if full is None:
        full = args.out / "index-full"
        common.ensure_index(full, common.require_files(args.corpus, [LEGAL, BKAI, DANTRI]))
    if args.no_ingest:
        return full, None
    if base is None:
        base = args.out / "index-legal"
        common.ensure_index(base, common.require_files(args.corpus, [LEGAL, BKAI]))
    return full, base


def print_report(rows: list[dict], args) -> None:
    print(f"{args.clients} clients x {args.seconds:g} s, {args.threads} threads per process, "
          f"{args.short_share:.0%} short queries")
    print(f"{'workers':>7} {'ingest':>6} {'req/s':>7} {'p50':>6} {'p95':>6} {'p99':>7} "
          f"{'errors':>6} {'5xx':>4} {'cores':>5} {'cpu ms':>6} {'RSS MB':>14} {'PSS MB':>7}")
    for r in rows:
        procs = list(r["memory"].values())
        rss = "+".join(f"{p['rss_mb']:.0f}" for p in procs)
        pss = f"{sum(p['pss_mb'] for p in procs):.0f}"
        print(f"{r['workers']:>7} {'yes' if r['ingest'] else 'no':>6} {r['rps']:>7.1f} "
              f"{r['p50_ms']:>6.1f} {r['p95_ms']:>6.1f} {r['p99_ms']:>7.1f} {r['errors']:>6} "
              f"{r['5xx']:>4} {r['server_cores']:>5.2f} {r['cpu_ms_per_request']:>6.1f} "
              f"{rss:>14} {pss:>7}")
        if r["ingest"]:
            print(f"{'':>15}ingest {r['ingest_seconds']} s; {r['readers']} readers, "
                  f"{r['reader_requests']} requests, {r['reader_errors']} errors, totals "
                  f"backwards {r['totals_backwards']}; new documents served "
                  f"{r['visible_after_commit_s']} s after the commit, which came "
                  f"{r['commit_into_load_s']} s into the {r['load_seconds']} s of load")
    for ingest in (False, True):
        rps = {w: [r["rps"] for r in rows if r["ingest"] == ingest and r["workers"] == w]
               for w in (1, 2)}
        if rps[1] and rps[2]:
            one, two = statistics.median(rps[1]), statistics.median(rps[2])
            pairs = " ".join(f"{b / a:.2f}" for a, b in zip(rps[1], rps[2]))
            print(f"2 workers / 1 worker ({'during an ingest' if ingest else 'no ingest'}): "
                  f"median {two:.1f} / {one:.1f} req/s = {two / one:.2f}x (each round: {pairs})")
    print("(cores: CPU the server processes used / wall time; cpu ms: their CPU per request;\n"
          " RSS: master + each worker; PSS: their sum with shared pages counted once)")


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.nice is not None:
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)      # the clients, like the server
    args.out.mkdir(parents=True, exist_ok=True)
    full, legal = indexes(args)
    queries, _ = common.load_dev(args.corpus)
    questions = [q for _, q in queries]
    rows = []
    for _ in range(args.rounds):        # in turn, so a busy spell on the machine hits both
        rows += [steady_run(args, full, w, questions) for w in args.workers]
    for _ in range(args.rounds if legal is not None else 0):
        rows += [ingest_run(args, legal, w, questions) for w in args.workers]
    print_report(rows, args)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    bad = any(r["errors"] or r["5xx"] or r.get("totals_backwards") for r in rows)
    return 1 if bad else 0


if __name__ == "__main__":
    common.run_main(main)
