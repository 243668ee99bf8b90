"""Relevance on the development questions: MRR@10 and Recall@10, ours against SQLite FTS5.

Both systems index the legal articles plus the Dân trí news (as distractors) and answer the same
questions twice: as typed, and with every diacritic removed, as residents often type.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import common
from common import DANTRI, LEGAL, BenchError

EXAMPLE = """\
example:
  .venv/bin/python bench/relevance.py                      # full run, table
  .venv/bin/python bench/relevance.py --limit-queries 30   # quick look
  .venv/bin/python bench/relevance.py --only fts5 --json   # the baseline alone, as JSON
"""


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=common.DEFAULT_CORPUS,
                        help="folder with the corpus files and dev/ (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=common.OUT_DIR,
                        help="where our cached index lives (default: %(default)s)")
    parser.add_argument("--rebuild", action="store_true",
                        help="rebuild our index even if the cached one is up to date")
    parser.add_argument("--limit-queries", type=int, metavar="N",
                        help="use only the first N questions")
    parser.add_argument("--k", type=int, default=10, help="cut-off rank (default: 10)")
    parser.add_argument("--only", choices=("ours", "fts5"), help="measure one system only")
    parser.add_argument("--details", type=Path, metavar="FILE",
                        help="write each question's rank of the first relevant hit (JSON Lines)")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    args = parser.parse_args(argv)
    if args.limit_queries is not None and args.limit_queries < 1:
        parser.error("--limit-queries must be at least 1")
    return args


def run_system(name: str, search, queries, qrels, k: int) -> tuple[list[dict], list[dict]]:
    """Each query variant through ``search(text) -> ids``: metric rows and per-question ranks."""
    rows, details = [], []
    for variant, transform in (("as typed", str), ("folded", common.fold)):
        runs, errors, started = {}, [], time.perf_counter()
        for qid, text in queries:
            try:
                runs[qid] = search(transform(text))
            except Exception as exc:   # one failing question must not hide the others' numbers
                errors.append(f"{qid}: {type(exc).__name__}: {exc}")
                runs[qid] = []
        seconds = time.perf_counter() - started
        row = {"system": name, "variant": variant, **common.evaluate(runs, qrels, k),
               "mean_ms": 1000 * seconds / max(len(queries), 1), "errors": len(errors)}
        if errors:
            row["first_error"] = errors[0]
        rows.append(row)
        for qid, ranked in runs.items():
            rank = next((i for i, d in enumerate(ranked, 1) if d in qrels[qid]), None)
            details.append({"system": name, "variant": variant, "qid": qid, "rank": rank,
                            "top": ranked[:3]})
    return rows, details


def measure_fts5(paths, queries, qrels, k: int) -> tuple[list[dict], list[dict], dict]:
    docs = common.load_documents(paths)
    fts, seconds = common.build_fts5(docs)
    try:
        rows, details = run_system("sqlite-fts5", lambda q: fts.search(q, k), queries, qrels, k)
    finally:
        fts.close()
    return rows, details, {"documents": len(docs), "build_seconds": round(seconds, 2)}


def measure_ours(paths, out: Path, rebuild: bool, queries, qrels, k: int):
    _, SearchEngine, SearchRequest = common.engine_api()
    info = common.ensure_index(out / "relevance-index", paths, rebuild)
    engine = SearchEngine(out / "relevance-index")

    def search(text: str) -> list[str]:
        req = SearchRequest(q=text, per_page=k, include_internal=True, facets=False)
        return [hit.id for hit in engine.search(req).hits]

    try:
        rows, details = run_system("ours", search, queries, qrels, k)
    finally:
        engine.close()
    return rows, details, info


def print_table(report: dict, k: int) -> None:
    print(f"{report['queries']} questions, top {k}; corpus {report['corpus']}")
    print(f"{'system':<12} {'variant':<9} {f'MRR@{k}':>7} {f'Recall@{k}':>9} {'ms/query':>9}"
          f" {'errors':>6}")
    for row in report["results"]:
        print(f"{row['system']:<12} {row['variant']:<9} {row[f'mrr@{k}']:>7.3f} "
              f"{row[f'recall@{k}']:>9.3f} {row['mean_ms']:>9.1f} {row['errors']:>6}")
    for name, info in report["indexes"].items():
        print(f"{name}: {json.dumps(info, ensure_ascii=False)}")
    for row in report["results"]:
        if row.get("first_error"):
            print(f"{row['system']} {row['variant']}: first error: {row['first_error']}",
                  file=sys.stderr)


def main(argv=None) -> int:
    args = parse_args(argv)
    common.configure_logging(args.verbose)
    paths = common.require_files(args.corpus, [LEGAL, DANTRI])
    queries, qrels = common.load_dev(args.corpus, args.limit_queries)
    if not queries:
        raise BenchError(f"no judged questions in {args.corpus / 'dev'}")
    report = {"corpus": str(args.corpus), "queries": len(queries), "k": args.k,
              "results": [], "indexes": {}}
    details = []
    if args.only != "ours":
        rows, more, info = measure_fts5(paths, queries, qrels, args.k)
        report["results"] += rows
        report["indexes"]["sqlite-fts5"] = info
        details += more
    if args.only != "fts5":
        rows, more, info = measure_ours(paths, args.out, args.rebuild, queries, qrels, args.k)
        report["results"][:0] = rows
        report["indexes"]["ours"] = info
        details += more
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
