"""Speed: query latency over HTTP, ingest throughput and server memory, each next to a baseline
measured in the same run (SQLite FTS5 in-process for queries, plain Whoosh for ingestion).
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import common
from common import BAOMOI, DANTRI, LEGAL, BenchError

SEED = 20240415          # the same shuffle every run, so a size always means the same documents
CHUNK = 5000             # documents per JSON Lines file fed to ingestion
EXAMPLE = """\
example:
  .venv/bin/python bench/speed.py                                  # legal + Dân trí, all parts
  .venv/bin/python bench/speed.py --skip-ingest --queries 20 --repeat 2
  .venv/bin/python bench/speed.py --with-baomoi --sizes 1000,5000,20000,40000 --skip-ingest
"""


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    add = parser.add_argument
    add("--corpus", type=Path, default=common.DEFAULT_CORPUS, help="default: %(default)s")
    add("--out", type=Path, default=common.OUT_DIR, help="cached indexes, logs, CSV "
        "(default: %(default)s)")
    add("--with-baomoi", action="store_true", help=f"add {BAOMOI} to the query-latency documents")
    add("--sizes", help="comma-separated document counts for a scaling series, e.g. 1000,5000")
    add("--queries", type=int, default=50, help="how many of the longest dev questions to send "
        "(default: %(default)s)")
    add("--repeat", type=int, default=3, help="timed rounds of the questions, and ingest runs; "
        "medians over them (default: %(default)s)")
    add("--ingest-docs", type=int, metavar="N", help=f"ingest only the first N of {DANTRI}")
    add("--skip-latency", action="store_true", help="do not measure query latency")
    add("--skip-ingest", action="store_true", help="do not measure ingest throughput")
    add("--rebuild", action="store_true", help="rebuild our cached indexes")
    add("--startup-timeout", type=float, default=180, help="seconds to wait for the server")
    add("--csv", type=Path, help="latency series CSV (default: OUT/speed-series.csv)")
    add("--plot", type=Path, metavar="PNG", help="plot latency and index size vs documents "
        "(needs matplotlib)")
    add("--json", action="store_true", help="print machine-readable JSON")
    add("-v", "--verbose", action="store_true", help="log progress")
    args = parser.parse_args(argv)
    try:
        args.sizes = sorted({int(s) for s in args.sizes.split(",")}) if args.sizes else []
    except ValueError:
        parser.error("--sizes takes whole numbers separated by commas, e.g. 1000,5000")
    if min([args.queries, args.repeat, args.ingest_docs or 1, *args.sizes]) < 1:
        parser.error("--queries, --repeat, --ingest-docs and --sizes must be at least 1")
    return args


# -- the real server -------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """``python -m search_service serve`` on a free local port, as a resident would reach it."""

    def __init__(self, index_dir: Path, log_path: Path, timeout: float):
        self.port = free_port()
        self.log_path = log_path
        self.log = log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "search_service", "serve", "--index", str(index_dir),
             "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=common.REPO_ROOT, stdout=self.log, stderr=subprocess.STDOUT,
            env={**os.environ, "SEARCH_RATE_LIMIT": ""})    # measure the server, not the limit
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stop()
                tail = self.log_path.read_text(errors="replace")[-1500:]
                raise BenchError(f"the server exited with code {self.proc.returncode}:\n{tail}")
            try:
                self.search("phường")
                return
            except (OSError, http.client.HTTPException, BenchError):
                time.sleep(0.2)
        self.stop()
        raise BenchError(f"the server did not answer within {timeout:g}s; see {self.log_path}")

    def search(self, text: str) -> tuple[float, float]:
        """One GET /api/search on a new connection: client-side ms and the server's took_ms."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        started = time.perf_counter()
        try:
            conn.request("GET", "/api/search?" + urlencode({"q": text, "per_page": 10}))
            response = conn.getresponse()
            body = response.read()
        finally:
            conn.close()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200:
            raise BenchError(f"GET /api/search answered {response.status}: {body[:300]!r}")
        data = json.loads(body)
        if not isinstance(data.get("hits"), list) or "took_ms" not in data:
            raise BenchError(f"GET /api/search: unexpected JSON keys {sorted(data)}")
        return elapsed, float(data["took_ms"])

    def rss_mb(self) -> tuple[float, float]:
        """Resident and peak resident memory (VmRSS, VmHWM) of the server process, in MB."""
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        values = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        return tuple(int(values[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM"))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# -- query latency ---------------------------------------------------------------------------
def long_questions(corpus: Path, count: int) -> list[str]:
    queries, _ = common.load_dev(corpus)
    return sorted((q for _, q in queries), key=len, reverse=True)[:count]


def timed_rounds(search, questions: list[str], repeat: int) -> tuple[list[float], list[float]]:
    """A first pass, then ``repeat`` passes; ms per question of each. The server keeps each
    generation's recent results, so only the first pass measures a question it has not seen."""
    first = []
    for text in questions:
        started = time.perf_counter()
        search(text)
        first.append((time.perf_counter() - started) * 1000)
    samples = []
    for _ in range(repeat):
        for text in questions:
            started = time.perf_counter()
            search(text)
            samples.append((time.perf_counter() - started) * 1000)
    return first, samples


def pool_documents(corpus: Path, with_baomoi: bool) -> tuple[list[Path], list[dict]]:
    names = [LEGAL, DANTRI] + ([BAOMOI] if with_baomoi else [])
    paths = common.require_files(corpus, names)
    docs = common.load_documents(paths)
    random.Random(SEED).shuffle(docs)
    return paths, docs


def our_index(args, paths: list[Path], docs: list[dict], n: int) -> tuple[Path, dict]:
    """Our index of the first ``n`` shuffled documents (reusing relevance.py's for the default)."""
    if n == len(docs) and not args.with_baomoi:
        index_dir = args.out / "relevance-index"       # the same documents; the order is moot
        return index_dir, common.ensure_index(index_dir, paths, args.rebuild)
    label = "legal-dantri-baomoi" if args.with_baomoi else "legal-dantri"
    index_dir = args.out / "speed" / f"index-{label}-{n}"
    tmp = args.out / "speed" / f"tmp-docs-{n}"

    def make_inputs() -> list[Path]:
        common.remove_bench_dir(tmp)
        tmp.mkdir(parents=True)
        for start in range(0, n, CHUNK):
            part = tmp / f"part-{start // CHUNK:03d}.jsonl"
            part.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n"
                                    for d in docs[start:min(start + CHUNK, n)]), encoding="utf-8")
        return [tmp]

    try:
        info = common.ensure_index(index_dir, paths, args.rebuild,
                                   {"size": n, "seed": SEED}, make_inputs)
    finally:
        common.remove_bench_dir(tmp)
    return index_dir, info


def latency_row(args, paths, docs, questions, n: int) -> dict:
    index_dir, info = our_index(args, paths, docs, n)
    server = Server(index_dir, args.out / "speed" / f"server-{n}.log", args.startup_timeout)
    took = []
    try:
        ours_first, ours = timed_rounds(lambda q: took.append(server.search(q)[1]), questions,
                                        args.repeat)
        rss, peak = server.rss_mb()
    finally:
        server.stop()
    fts, fts_build = common.build_fts5(docs[:n])
    try:
        _, fts5 = timed_rounds(lambda q: fts.search(q, 10), questions, args.repeat)
        fts_mb = fts.size_bytes() / 1048576
    finally:
        fts.close()
    took = took[len(questions):]                       # the repeated passes
    return {"documents": n, "ours_first_p50_ms": common.percentile(ours_first, 50),
            "ours_first_p95_ms": common.percentile(ours_first, 95),
            "ratio_first_p50": common.percentile(ours_first, 50) / common.percentile(fts5, 50),
            "ours_p50_ms": common.percentile(ours, 50),
            "ours_p95_ms": common.percentile(ours, 95),
            "ours_server_p50_ms": common.percentile(took, 50),
            "fts5_p50_ms": common.percentile(fts5, 50), "fts5_p95_ms": common.percentile(fts5, 95),
            "ratio_p50": common.percentile(ours, 50) / common.percentile(fts5, 50),
            "ours_index_mb": common.dir_size(index_dir) / 1048576, "fts5_mb": fts_mb,
            "server_rss_mb": rss, "server_peak_rss_mb": peak,
            "ours_build_s": info["seconds"], "fts5_build_s": fts_build}


# -- ingest throughput -----------------------------------------------------------------------
def plain_whoosh_ingest(source: Path, index_dir: Path) -> int:
    """Whoosh as it comes: StandardAnalyzer on title and body, every field stored, one commit."""
    from whoosh import index
    from whoosh.analysis import StandardAnalyzer
    from whoosh.fields import ID, STORED, TEXT, Schema

    from search_service.documents import FIELDS

    schema = Schema(id=ID(stored=True, unique=True),
                    title=TEXT(analyzer=StandardAnalyzer(), stored=True),
                    body=TEXT(analyzer=StandardAnalyzer(), stored=True),
                    **{f: STORED() for f in FIELDS if f not in ("id", "title", "body")})
    index_dir.mkdir(parents=True)
    writer = index.create_in(str(index_dir), schema).writer()
    count = 0
    for doc in common.read_jsonl(source):
        writer.add_document(**{k: v for k, v in doc.items() if k in schema and v is not None})
        count += 1
    writer.commit()
    return count


INGEST_RUNS = {"ours": None, "ours_1proc": 0, "whoosh": None}   # name → ingest workers


def measure_ingest(args) -> dict:
    """docs/s of our ingest_paths (default worker processes, and one process only) and of
    plain Whoosh on the same file, medians of --repeat runs taken in turn."""
    ingest_paths, _, _ = common.engine_api()
    from search_service.index.parallelwriter import default_workers

    (source,) = common.require_files(args.corpus, [DANTRI])
    work = args.out / "speed"
    if args.ingest_docs:
        docs = list(common.read_jsonl(source, args.ingest_docs))
        source = work / f"ingest-input-{len(docs)}.jsonl"
        source.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs),
                          encoding="utf-8")
    runs = {name: [] for name in INGEST_RUNS}
    sizes = {}
    for _ in range(args.repeat):
        for name, workers in INGEST_RUNS.items():
            target = work / f"tmp-ingest-{name}"
            common.remove_bench_dir(target)
            started = time.perf_counter()
            if name == "whoosh":
                count = plain_whoosh_ingest(source, target)
            else:
                summary = ingest_paths(target, [source], max_file_mb=1024, workers=workers)
                if summary.failed:
                    raise BenchError(f"our ingestion failed: {summary.files[0].error}")
                count = sum(len(f.documents) for f in summary.files)
            runs[name].append(count / (time.perf_counter() - started))
            sizes[name] = common.dir_size(target) / 1048576
            common.remove_bench_dir(target)
    speed = {name: statistics.median(values) for name, values in runs.items()}
    return {"source": source.name, "documents": count, "runs": args.repeat,
            "workers": default_workers(),
            "ours_docs_per_s": speed["ours"], "ours_1proc_docs_per_s": speed["ours_1proc"],
            "whoosh_docs_per_s": speed["whoosh"], "ratio": speed["ours"] / speed["whoosh"],
            "ratio_1proc": speed["ours_1proc"] / speed["whoosh"],
            "ours_index_mb": sizes["ours"], "ours_1proc_index_mb": sizes["ours_1proc"],
            "whoosh_index_mb": sizes["whoosh"]}


# -- output ----------------------------------------------------------------------------------
def write_csv(rows: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({k: (round(v, 3) if isinstance(v, float) else v)
                          for k, v in row.items()} for row in rows)


def plot(rows: list[dict], png: Path) -> None:
    try:
        import matplotlib
    except ImportError:
        raise BenchError("--plot needs matplotlib, which is not installed; the numbers are in "
                         "the CSV") from None
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    x = [r["documents"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for key, label in (("ours_p50_ms", "ours p50 (HTTP)"), ("ours_p95_ms", "ours p95 (HTTP)"),
                       ("fts5_p50_ms", "FTS5 p50"), ("fts5_p95_ms", "FTS5 p95")):
        left.plot(x, [r[key] for r in rows], marker="o", label=label)
    left.set(xlabel="documents", ylabel="ms per question", title="Query latency")
    for key, label in (("ours_index_mb", "ours"), ("fts5_mb", "FTS5")):
        right.plot(x, [r[key] for r in rows], marker="o", label=label)
    right.set(xlabel="documents", ylabel="MB", title="Index size")
    for ax in (left, right):
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(png, dpi=120)


def print_report(report: dict) -> None:
    if report.get("latency"):
        print(f"query latency, {report['questions']} longest dev questions x {report['repeat']} "
              "rounds after a first pass (ours over HTTP, FTS5 in-process), ms")
        print(f"{'docs':>6} {'ours p50':>8} {'p95':>7} {'server':>7} {'fts5 p50':>8} {'p95':>6} "
              f"{'ratio':>6} {'ours MB':>7} {'fts5 MB':>7} {'RSS MB':>7}")
        for r in report["latency"]:
            print(f"{r['documents']:>6} {r['ours_p50_ms']:>8.1f} {r['ours_p95_ms']:>7.1f} "
                  f"{r['ours_server_p50_ms']:>7.1f} {r['fts5_p50_ms']:>8.1f} "
                  f"{r['fts5_p95_ms']:>6.1f} {r['ratio_p50']:>6.2f} {r['ours_index_mb']:>7.1f} "
                  f"{r['fts5_mb']:>7.1f} {r['server_rss_mb']:>7.0f}")
        print("(server = the took_ms the API reports; ratio = ours p50 / FTS5 p50)")
        print("first time (each question's first pass, before the server keeps its result):")
        for r in report["latency"]:
            print(f"{r['documents']:>6} ours p50 {r['ours_first_p50_ms']:.1f}, "
                  f"p95 {r['ours_first_p95_ms']:.1f}; ratio to FTS5 p50 {r['ratio_first_p50']:.2f}")
    if report.get("ingest"):
        i = report["ingest"]
        print(f"ingest of {i['documents']} documents from {i['source']}, median of {i['runs']}: "
              f"ours {i['ours_docs_per_s']:.0f} docs/s with {i['workers']} worker process(es) "
              f"({i['ours_index_mb']:.1f} MB), ours in one process "
              f"{i['ours_1proc_docs_per_s']:.0f} docs/s ({i['ours_1proc_index_mb']:.1f} MB), "
              f"plain Whoosh {i['whoosh_docs_per_s']:.0f} docs/s ({i['whoosh_index_mb']:.1f} MB); "
              f"ratio {i['ratio']:.2f} (one process: {i['ratio_1proc']:.2f})")


def main(argv=None) -> int:
    args = parse_args(argv)
    common.configure_logging(args.verbose)
    (args.out / "speed").mkdir(parents=True, exist_ok=True)
    report = {"questions": args.queries, "repeat": args.repeat, "latency": [], "ingest": None}
    if not args.skip_latency:
        common.engine_api()
        questions = long_questions(args.corpus, args.queries)
        paths, docs = pool_documents(args.corpus, args.with_baomoi)
        sizes = sorted({min(n, len(docs)) for n in args.sizes}) or [len(docs)]
        report["latency"] = [latency_row(args, paths, docs, questions, n) for n in sizes]
        write_csv(report["latency"], args.csv or args.out / "speed-series.csv")
    if not args.skip_ingest:
        report["ingest"] = measure_ingest(args)
    print(json.dumps(report, indent=2) if args.json else "", end="")
    if not args.json:
        print_report(report)
    if args.plot:
        if not report["latency"]:
            raise BenchError("--plot needs the latency measurement (drop --skip-latency)")
        plot(report["latency"], args.plot)
    return 0


if __name__ == "__main__":
    common.run_main(main)
