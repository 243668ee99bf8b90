"""The cluster backend next to the embedded index, measured in one run on the same documents:
ingest throughput, MRR@10 and latency in process, and latency over HTTP through ``serve``.

Starts its own local cluster (Debian's sphinxsearch) in a temporary folder and always stops it.
Both engines ingest the same JSON Lines file through the same pipeline (timed). Two sets of
questions: the ALQAC dev questions (long, legal) and short known-item queries made from news
titles (a third typed without diacritics, so "did you mean" works on them). Each set is
asked in process (engine calls; MRR@10, p50/p95, round trips per cluster search), then over
HTTP: ``serve`` on the embedded index and ``serve`` with ``SEARCH_BACKEND`` naming the
cluster, one client, every question once ("first") and once more ("repeated": what each
engine kept per generation answers).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import common
from common import BAOMOI, DANTRI, LEGAL, BenchError

EXAMPLE = """\
example:
  .venv/bin/python bench/cluster.py                         # legal + Dân trí (6.5k documents)
  .venv/bin/python bench/cluster.py --limit-docs 1000 --limit-queries 20 --short 20
  .venv/bin/python bench/cluster.py --with-baomoi 40000     # + Báo Mới up to 40k documents
"""


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, epilog=EXAMPLE,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=common.DEFAULT_CORPUS)
    parser.add_argument("--limit-docs", type=int, help="documents ingested (default: all)")
    parser.add_argument("--with-baomoi", type=int, metavar="TOTAL",
                        help=f"add {BAOMOI} documents until TOTAL documents")
    parser.add_argument("--limit-queries", type=int, default=120,
                        help="dev questions asked (default: %(default)s)")
    parser.add_argument("--short", type=int, default=100,
                        help="short known-item queries asked (default: %(default)s)")
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--no-http", action="store_true", help="in process only")
    parser.add_argument("--out", type=Path, help="also write the report (JSON) here")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser.parse_args(argv)


def documents(args) -> list[dict]:
    docs = common.load_documents(common.require_files(args.corpus, [LEGAL, DANTRI]),
                                 args.limit_docs)
    if args.with_baomoi and args.with_baomoi > len(docs):
        more = common.require_files(args.corpus, [BAOMOI])
        docs += common.load_documents(more, args.with_baomoi - len(docs))
    return docs


def ingest(target_kwargs: dict, folder: Path, corpus_file: Path) -> tuple[float, int]:
    from search_service.ingest.pipeline import ingest_paths

    started = time.perf_counter()
    summary = ingest_paths(folder, [corpus_file], max_file_mb=4096, **target_kwargs)
    seconds = time.perf_counter() - started
    if summary.failed:
        raise BenchError(f"ingestion failed: {summary.failure_line()}")
    return seconds, sum(len(f.documents) for f in summary.files)


def latencies(times: list[float]) -> dict:
    return {"p50_ms": round(common.percentile(times, 50), 1),
            "p95_ms": round(common.percentile(times, 95), 1)}


def ask(engine, queries, qrels) -> dict:
    """MRR@10 and latency of each question asked once in process; for a cluster, round
    trips per search too."""
    from search_service.search import SearchRequest

    trips = [0]
    connections = getattr(engine, "connections", None)
    if connections is not None:
        run = connections.run

        def counted(statements):
            trips[0] += 1
            return run(statements)
        connections.run = counted
    runs, times, errors = {}, [], []
    for qid, text in queries:
        started = time.perf_counter()
        try:
            runs[qid] = [hit.id for hit in engine.search(SearchRequest(q=text, per_page=10)).hits]
        except Exception as exc:  # noqa: BLE001 - counted and reported, not hidden
            errors.append(f"{qid}: {exc}")
            runs[qid] = []
        times.append(1000 * (time.perf_counter() - started))
    if connections is not None:
        connections.run = run
    metrics = {**common.evaluate(runs, qrels, 10), "errors": len(errors),
               "first_error": errors[0] if errors else None}
    out = {**{k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()},
           **latencies(times), "runs": runs}
    if connections is not None:
        out["round_trips_per_search"] = round(trips[0] / max(len(queries), 1), 2)
    return out


@contextmanager
def environment(**values):
    """``os.environ`` with ``values`` while the block runs (what a started server inherits)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update({k: v for k, v in values.items() if v is not None})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def over_http(index: Path, backend: str, sets: dict[str, list[str]], log: Path) -> dict:
    """Client-side latency of ``/api/search`` through ``serve`` (one worker, one client):
    per question set, every question once, then once more."""
    from load import Client, Server

    with environment(SEARCH_BACKEND=backend):
        server = Server(index, 1, 4, log)
    try:
        client = Client(server.port)
        client.get("/api/search?" + urlencode({"q": "khởi động"}))
        out, statuses = {}, {}
        for name, questions in sets.items():
            for attempt in ("first", "repeated"):
                times = []
                for text in questions:
                    started = time.perf_counter()
                    status, _ = client.get("/api/search?" + urlencode({"q": text}))
                    times.append(1000 * (time.perf_counter() - started))
                    statuses[status] = statuses.get(status, 0) + 1
                out[f"{name}_{attempt}"] = latencies(times)
        out["statuses"] = {str(k): v for k, v in sorted(statuses.items())}
        return out
    finally:
        server.stop()


def main(argv=None) -> int:
    args = parse_args(argv)
    common.configure_logging(args.verbose)
    from search_service.cluster import cluster_target, engine_for, local

    if local.searchd_path() is None:
        raise BenchError("searchd is not installed (apt-get install sphinxsearch)")
    docs = documents(args)
    queries, qrels = common.load_dev(args.corpus, args.limit_queries)
    short, short_qrels = common.known_item_queries(docs, args.short)
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        tmp = Path(tmp)
        corpus_file = tmp / "corpus" / "documents.jsonl"
        corpus_file.parent.mkdir()
        corpus_file.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs),
                               encoding="utf-8")
        cluster = local.up(tmp / "cluster", shards=args.shards, port=local.free_port())
        try:
            settings = {"BACKEND": cluster.url, "INDEX_DIR": str(tmp / "index"),
                        "NEWS_TYPES": None}
            report = {"documents": len(docs), "questions": len(queries), "short": len(short),
                      "shards": args.shards}
            del docs
            embedded_s, count = ingest({}, tmp / "index", corpus_file)
            save(args, report, embedded_ingest_s=round(embedded_s, 1), documents=count)
            cluster_s, _ = ingest({"target": cluster_target(settings)}, tmp / "unused",
                                  corpus_file)
            save(args, report, cluster_ingest_s=round(cluster_s, 1))
            engines = {"embedded": engine_for({**settings, "BACKEND": "embedded"}),
                       "cluster": engine_for(settings)}
            for name, engine in engines.items():
                engine.warm()
                report[name] = {"ingest_docs_per_s": round(count / (embedded_s if name ==
                                                                     "embedded" else cluster_s), 1),
                                "dev": ask(engine, queries, qrels),
                                "short": ask(engine, short, short_qrels)}
                engine.close()
                save(args, report)
            for kind in ("dev", "short"):
                ours, theirs = report["embedded"][kind], report["cluster"][kind]
                report[f"identical_top10_{kind}"] = sum(ours["runs"][q] == theirs["runs"][q]
                                                        for q in ours["runs"])
                for side in (ours, theirs):
                    del side["runs"]
            if not args.no_http:
                sets = {"dev": [q for _, q in queries], "short": [q for _, q in short]}
                for name, backend in (("embedded", "embedded"), ("cluster", cluster.url)):
                    report[name]["http"] = over_http(tmp / "index", backend, sets,
                                                     tmp / f"serve-{name}.log")
                    save(args, report)
        finally:
            local.down(tmp / "cluster")
    save(args, report)
    print(json.dumps(report, ensure_ascii=False, indent=2) if args.json else text_report(report))
    return 0


def save(args, report: dict, **values) -> None:
    """Add ``values`` to the report and write it to ``--out`` as it stands (a long run that
    is stopped keeps what it measured)."""
    report.update(values)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2))


def text_report(report: dict) -> str:
    lines = [f"{report['documents']} documents, {report['questions']} dev questions, "
             f"{report['short']} short queries; cluster of {report['shards']} shards × 2 "
             f"mirrors; identical top 10: dev {report['identical_top10_dev']}/"
             f"{report['questions']}, short {report['identical_top10_short']}/{report['short']}",
             f"{'':10} {'set':6} {'MRR@10':>7} {'p50 ms':>7} {'p95 ms':>7} {'trips':>6} "
             f"{'http p50/p95 first':>19} {'http p50/p95 again':>19}"]
    for name in ("embedded", "cluster"):
        r = report[name]
        for kind in ("dev", "short"):
            row = r[kind]
            http = r.get("http", {})
            first, again = http.get(f"{kind}_first", {}), http.get(f"{kind}_repeated", {})
            lines.append(
                f"{name:10} {kind:6} {row['mrr@10']:7.3f} {row['p50_ms']:7.1f} "
                f"{row['p95_ms']:7.1f} {row.get('round_trips_per_search', 0):6.2f} "
                f"{first.get('p50_ms', 0):9.1f}/{first.get('p95_ms', 0):<9.1f} "
                f"{again.get('p50_ms', 0):9.1f}/{again.get('p95_ms', 0):<9.1f}")
        lines.append(f"{name:10} ingest {r['ingest_docs_per_s']:.1f} docs/s; HTTP statuses "
                     f"{r.get('http', {}).get('statuses')}")
    return "\n".join(lines)


if __name__ == "__main__":
    common.run_main(main)
