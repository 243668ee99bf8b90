"""Relevance on three question sets, ours against SQLite FTS5 on one index.

Both systems index the two legal files plus the Dân trí news (6,491 documents) and answer:
the ALQAC legal questions, the BKAI administrative-rule questions, and short known-item
queries made from Dân trí headlines — each twice, as typed and with every diacritic removed,
as residents often type. Reported: MRR@10, Recall@10, Success@1 and time per query.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import common
from common import BKAI, DANTRI, LEGAL, BenchError

EXAMPLE = """\
example:
  .venv/bin/python bench/relevance.py                      # full run, table
  .venv/bin/python bench/relevance.py --limit-queries 30   # quick look
  .venv/bin/python bench/relevance.py --sets bkai --only ours --param PAIR_BOOST=0
  .venv/bin/python bench/relevance.py --only fts5 --json   # the baseline alone, as JSON
"""
SETS = ("alqac", "bkai", "known")
INDEX_NAME = "relevance-index-2"       # legal_alqac + legal_bkai + Dân trí
VARIANTS = (("as typed", str), ("folded", common.fold))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=common.DEFAULT_CORPUS,
                        help="folder with the corpus files and dev/ (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=common.OUT_DIR,
                        help="where our cached index lives (default: %(default)s)")
    parser.add_argument("--rebuild", action="store_true",
                        help="rebuild our index even if the cached one is up to date")
    parser.add_argument("--keep-index", action="store_true",
                        help="reuse the cached index of the same files even if the indexing "
                             "code changed since")
    parser.add_argument("--sets", default=",".join(SETS),
                        help="question sets, separated by commas (default: %(default)s)")
    parser.add_argument("--limit-queries", type=int, metavar="N",
                        help="use only the first N questions of each set")
    parser.add_argument("--known-count", type=int, default=200,
                        help="known-item queries to generate (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=13,
                        help="seed of the known-item queries (default: %(default)s)")
    parser.add_argument("--known-unique", choices=("document", "title"), default="document",
                        help="a known-item phrase occurs in one document (default) or in one "
                             "title only, other documents' text may hold it")
    parser.add_argument("--k", type=int, default=10, help="cut-off rank (default: 10)")
    parser.add_argument("--only", choices=("ours", "fts5"), help="measure one system only")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="override a ranking constant of search_service.search.query or "
                             ".ranking for this run (ablations), e.g. PAIR_BOOST=0")
    parser.add_argument("--http", type=int, metavar="N", default=0,
                        help="also time the N longest questions of each set (as typed and "
                             "folded) over HTTP through the real server: p50/p95 in ms")
    parser.add_argument("--details", type=Path, metavar="FILE",
                        help="write each question's rank of the first relevant hit (JSON Lines)")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    args = parser.parse_args(argv)
    if args.limit_queries is not None and args.limit_queries < 1:
        parser.error("--limit-queries must be at least 1")
    args.sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    if not args.sets or set(args.sets) - set(SETS):
        parser.error(f"--sets takes names among {', '.join(SETS)}")
    return args


def constant_module(name: str):
    """The module of ranking constant ``name``: search_service.search.query or .ranking. A name
    neither has is an error, not a silent no-op."""
    from search_service.search import query, ranking

    module = next((m for m in (query, ranking) if hasattr(m, name)), None)
    if module is None:
        raise BenchError(f"no ranking constant {name!r} in search_service.search.query or "
                         "search_service.search.ranking")
    return module


def apply_params(pairs: list[str]) -> dict:
    """Set ranking constants (``NAME=VALUE``) in search_service.search.query or .ranking; returns
    what was set."""
    applied = {}
    for pair in pairs:
        name, _, raw = pair.partition("=")
        if not raw:
            raise BenchError(f"--param {pair}: a value is missing")
        module = constant_module(name)
        old = getattr(module, name)
        value = type(old)(float(raw)) if isinstance(old, (int, float)) else raw
        setattr(module, name, value)
        applied[name] = value
    return applied


def load_sets(args, docs: list[dict]) -> dict[str, tuple[list, dict]]:
    """``{set name: (queries, qrels)}``."""
    sets = {}
    for name in args.sets:
        if name == "known":
            queries, qrels = known_items(args, docs)
            queries = queries[:args.limit_queries] if args.limit_queries else queries
        else:
            queries, qrels = common.load_dev(args.corpus, args.limit_queries, name)
        if not queries:
            raise BenchError(f"no judged questions in the set {name}")
        sets[name] = (queries, qrels)
    return sets


def known_items(args, docs) -> tuple[list, dict]:
    """The known-item queries, generated once per seed and count and kept in ``--out``."""
    unique = getattr(args, "known_unique", "document")
    suffix = "" if unique == "document" else "-title"
    path = args.out / f"known-items-{args.seed}-{args.known_count}{suffix}.json"
    key = [args.seed, args.known_count, len(docs), sum(len(d.get("body") or "") for d in docs)]
    if path.is_file():
        saved = json.loads(path.read_text(encoding="utf-8"))
        if saved["key"] == key:
            return [tuple(q) for q in saved["queries"]], {q: set(d) for q, d in
                                                           saved["qrels"].items()}
    queries, qrels = common.known_item_queries(docs, args.known_count, args.seed,
                                               unique=unique)
    args.out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"key": key, "queries": queries,
                                "qrels": {q: sorted(d) for q, d in qrels.items()}},
                               ensure_ascii=False), encoding="utf-8")
    return queries, qrels


def run_system(name: str, search, sets, k: int) -> tuple[list[dict], list[dict]]:
    """Each set and variant through ``search(text) -> ids``: metric rows, per-question ranks."""
    rows, details = [], []
    for set_name, (queries, qrels) in sets.items():
        for variant, transform in VARIANTS:
            runs, errors, times = {}, [], []
            for qid, text in queries:
                started = time.perf_counter()
                try:
                    runs[qid] = search(transform(text))
                except Exception as exc:   # one failing question must not hide the others
                    errors.append(f"{qid}: {type(exc).__name__}: {exc}")
                    runs[qid] = []
                times.append(1000 * (time.perf_counter() - started))
            row = {"system": name, "set": set_name, "variant": variant,
                   **common.evaluate(runs, qrels, k),
                   "mean_ms": sum(times) / max(len(times), 1),
                   "p95_ms": common.percentile(times, 95), "errors": len(errors)}
            if errors:
                row["first_error"] = errors[0]
            rows.append(row)
            for qid, ranked in runs.items():
                rank = next((i for i, d in enumerate(ranked, 1) if d in qrels[qid]), None)
                details.append({"system": name, "set": set_name, "variant": variant,
                                "qid": qid, "rank": rank, "top": ranked[:3]})
    return rows, details


def measure_fts5(docs, sets, k: int) -> tuple[list[dict], list[dict], dict]:
    fts, seconds = common.build_fts5(docs)
    try:
        rows, details = run_system("sqlite-fts5", lambda q: fts.search(q, k), sets, k)
    finally:
        fts.close()
    return rows, details, {"documents": len(docs), "build_seconds": round(seconds, 2)}


def open_ours(args, paths):
    """Our engine over the cached index (built first when needed) and the index's info."""
    _, SearchEngine, _ = common.engine_api()
    info = common.ensure_index(args.out / INDEX_NAME, paths, args.rebuild, keep=args.keep_index)
    return SearchEngine(args.out / INDEX_NAME), info


def searcher(engine, k: int):
    """``search(text) -> ids`` through our engine, as a staff member (everything visible)."""
    _, _, SearchRequest = common.engine_api()

    def search(text: str) -> list[str]:
        req = SearchRequest(q=text, per_page=k, include_internal=True, facets=False,
                            snippets=False)
        return [hit.id for hit in engine.search(req).hits]
    return search


def measure_ours(args, paths, sets, k: int):
    engine, info = open_ours(args, paths)
    try:
        rows, details = run_system("ours", searcher(engine, k), sets, k)
    finally:
        engine.close()
    return rows, details, info


def measure_http(args, sets, count: int) -> list[dict]:
    """p50/p95 client-side ms of the ``count`` longest questions of each set and variant, each
    GET /api/search on a new connection to ``python -m search_service serve``, after one
    untimed pass (the server's first searches load pyvi and the snapshot)."""
    import speed

    server = speed.Server(args.out / INDEX_NAME, args.out / "relevance-server.log", 120)
    rows = []
    try:
        for set_name, (queries, _) in sets.items():
            longest = sorted((q for _, q in queries), key=len, reverse=True)[:count]
            for variant, transform in VARIANTS:
                texts = [transform(q) for q in longest]
                for text in texts:
                    server.search(text)
                client, took = [], []
                for text in texts:
                    elapsed, server_ms = server.search(text)
                    client.append(elapsed)
                    took.append(server_ms)
                rows.append({"set": set_name, "variant": variant, "queries": len(texts),
                             "p50_ms": common.percentile(client, 50),
                             "p95_ms": common.percentile(client, 95),
                             "server_p50_ms": common.percentile(took, 50)})
    finally:
        server.stop()
    return rows


def print_table(report: dict, k: int) -> None:
    counts = ", ".join(f"{name} {n}" for name, n in report["queries"].items())
    print(f"questions: {counts}; top {k}; corpus {report['corpus']}")
    if report.get("params"):
        print(f"params: {report['params']}")
    print(f"{'system':<12} {'set':<6} {'variant':<9} {f'MRR@{k}':>7} {f'R@{k}':>6} "
          f"{'S@1':>6} {'ms/q':>6} {'p95 ms':>7} {'errors':>6}")
    order = {name: n for n, name in enumerate(SETS)}
    rows = sorted(report["results"], key=lambda r: (order[r["set"]], r["variant"] != "as typed",
                                                    r["system"] != "ours"))
    for row in rows:
        print(f"{row['system']:<12} {row['set']:<6} {row['variant']:<9} {row[f'mrr@{k}']:>7.3f} "
              f"{row[f'recall@{k}']:>6.3f} {row['success@1']:>6.3f} {row['mean_ms']:>6.1f} "
              f"{row['p95_ms']:>7.1f} {row['errors']:>6}")
    for row in report.get("http", []):
        print(f"HTTP {row['set']:<6} {row['variant']:<9} {row['queries']} longest: "
              f"p50 {row['p50_ms']:.1f} ms, p95 {row['p95_ms']:.1f} ms, server p50 "
              f"{row['server_p50_ms']:.1f} ms")
    for name, info in report["indexes"].items():
        print(f"{name}: {json.dumps(info, ensure_ascii=False)}")
    for row in report["results"]:
        if row.get("first_error"):
            print(f"{row['system']} {row['set']} {row['variant']}: first error: "
                  f"{row['first_error']}", file=sys.stderr)


def main(argv=None) -> int:
    args = parse_args(argv)
    common.configure_logging(args.verbose)
    params = apply_params(args.param)
    paths = common.require_files(args.corpus, [LEGAL, BKAI, DANTRI])
    docs = common.load_documents(paths)
    sets = load_sets(args, docs)
    report = {"corpus": str(args.corpus), "queries": {n: len(q) for n, (q, _) in sets.items()},
              "k": args.k, "params": params, "results": [], "indexes": {}}
    details = []
    if args.only != "fts5":
        rows, more, info = measure_ours(args, paths, sets, args.k)
        report["results"] += rows
        report["indexes"]["ours"] = info
        details += more
    if args.only != "ours":
        rows, more, info = measure_fts5(docs, sets, args.k)
        report["results"] += rows
        report["indexes"]["sqlite-fts5"] = info
        details += more
    if args.http and args.only != "fts5":
        report["http"] = measure_http(args, sets, args.http)
    if args.details:
        args.details.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n"
                                        for d in details), encoding="utf-8")
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print_table(report, args.k)
    return 1 if any(row["errors"] for row in report["results"]) else 0


if __name__ == "__main__":
    common.run_main(main)
