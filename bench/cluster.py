"""The cluster backend next to the embedded index, measured in one run: MRR@10 on the dev
questions, query latency (p50/p95, in process) and ingest throughput, on the same documents.

Starts its own local cluster (Debian's sphinxsearch) in a temporary folder and always stops it.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import common
from common import DANTRI, LEGAL, BenchError

EXAMPLE = """\
example:
  .venv/bin/python bench/cluster.py                     # legal + Dân trí (6.5k documents)
  .venv/bin/python bench/cluster.py --limit-docs 1000 --limit-queries 50
"""


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, epilog=EXAMPLE,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=common.DEFAULT_CORPUS)
    parser.add_argument("--limit-docs", type=int, help="documents ingested (default: all)")
    parser.add_argument("--limit-queries", type=int, help="dev questions asked (default: all)")
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser.parse_args(argv)


def ingest(target_kwargs: dict, folder: Path, corpus_file: Path) -> tuple[float, int]:
    from search_service.ingest.pipeline import ingest_paths

    started = time.perf_counter()
    summary = ingest_paths(folder, [corpus_file], max_file_mb=1024, **target_kwargs)
    seconds = time.perf_counter() - started
    if summary.failed:
        raise BenchError(f"ingestion failed: {summary.failure_line()}")
    return seconds, sum(len(f.documents) for f in summary.files)


def ask(engine, queries, qrels) -> dict:
    from search_service.search import SearchRequest

    runs, times, errors = {}, [], []
    engine.search(SearchRequest(q="khởi động"))           # warm caches and pyvi
    for qid, text in queries:
        started = time.perf_counter()
        try:
            runs[qid] = [hit.id for hit in engine.search(SearchRequest(q=text, per_page=10)).hits]
        except Exception as exc:  # noqa: BLE001 - counted and reported, not hidden
            errors.append(f"{qid}: {exc}")
            runs[qid] = []
        times.append(1000 * (time.perf_counter() - started))
    metrics = {**common.evaluate(runs, qrels, 10), "errors": len(errors),
               "first_error": errors[0] if errors else None}
    return {**{k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()},
            "p50_ms": round(common.percentile(times, 50), 1),
            "p95_ms": round(common.percentile(times, 95), 1), "runs": runs}


def main(argv=None) -> int:
    args = parse_args(argv)
    common.configure_logging(args.verbose)
    from search_service.cluster import cluster_target, engine_for, local

    if local.searchd_path() is None:
        raise BenchError("searchd is not installed (apt-get install sphinxsearch)")
    paths = common.require_files(args.corpus, [LEGAL, DANTRI])
    docs = common.load_documents(paths, args.limit_docs)
    queries, qrels = common.load_dev(args.corpus, args.limit_queries)
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
            embedded_s, count = ingest({}, tmp / "index", corpus_file)
            cluster_s, _ = ingest({"target": cluster_target(settings)}, tmp / "unused",
                                  corpus_file)
            embedded = engine_for({**settings, "BACKEND": "embedded"})
            clustered = engine_for(settings)
            clustered.refresh()
            ours, theirs = ask(embedded, queries, qrels), ask(clustered, queries, qrels)
            same_top = sum(ours["runs"][q] == theirs["runs"][q] for q in ours["runs"])
            embedded.close()
            clustered.close()
        finally:
            local.down(tmp / "cluster")
    report = {"documents": count, "questions": len(queries), "shards": args.shards,
              "identical_top10": same_top,
              "embedded": {**{k: v for k, v in ours.items() if k != "runs"},
                           "ingest_docs_per_s": round(count / embedded_s, 1)},
              "cluster": {**{k: v for k, v in theirs.items() if k != "runs"},
                          "ingest_docs_per_s": round(count / cluster_s, 1)}}
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    print(f"{count} documents, {len(queries)} dev questions, cluster of {args.shards} shards "
          f"× 2 mirrors; identical top 10: {same_top}/{len(queries)}")
    print(f"{'':10} {'MRR@10':>7} {'R@10':>6} {'p50 ms':>7} {'p95 ms':>7} {'ingest/s':>9}")
    for name in ("embedded", "cluster"):
        r = report[name]
        print(f"{name:10} {r['mrr@10']:7.3f} {r['recall@10']:6.3f} {r['p50_ms']:7.1f} "
              f"{r['p95_ms']:7.1f} {r['ingest_docs_per_s']:9.1f}")
    return 0


if __name__ == "__main__":
    common.run_main(main)
