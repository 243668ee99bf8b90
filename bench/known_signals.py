"""Known-item queries under ranking constants: the dev seed and a held-out one, each made two
ways (the phrase unique in the collection, or unique among titles only), in one process.

Only short queries are touched by the title signals, so this answers the known-item sets
alone (fast); ``tuning.py`` checks the long questions separately.

    .venv/bin/python bench/known_signals.py --sweep TITLE_PAIR_BOOST=0,0.5,1,2
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import common
import relevance
from common import BKAI, DANTRI, LEGAL

SETS = ((13, "document"), (13, "title"), (29, "document"), (29, "title"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=common.DEFAULT_CORPUS)
    parser.add_argument("--out", type=Path, default=common.OUT_DIR)
    parser.add_argument("--known-count", type=int, default=300)
    parser.add_argument("--sweep", action="append", default=[], metavar="NAME=V1,V2,...")
    parser.add_argument("--config", action="append", default=[], metavar="N=V;N=V",
                        help="a combination of constants to measure as one configuration")
    parser.add_argument("--details", type=Path, help="write the failures (rank > 1) here")
    args = parser.parse_args(argv)
    common.configure_logging(False)

    paths = common.require_files(args.corpus, [LEGAL, BKAI, DANTRI])
    docs = common.load_documents(paths)
    sets = {}
    for seed, unique in SETS:
        ns = argparse.Namespace(out=args.out, seed=seed, known_count=args.known_count,
                                known_unique=unique)
        sets[(seed, unique)] = relevance.known_items(ns, docs)
    ns = argparse.Namespace(out=args.out, rebuild=False, keep_index=True)
    engine, _ = relevance.open_ours(ns, paths)
    engine._suggestion = lambda *a, **k: None
    search = relevance.searcher(engine, 10)

    def run(params: dict) -> dict:
        saved = {}
        for name, value in params.items():
            module = relevance.constant_module(name)
            saved[name] = (module, getattr(module, name))
            setattr(module, name, type(getattr(module, name))(value))
        engine.snapshot().lexicon.results.clear()
        try:
            out = {}
            for key, (queries, qrels) in sets.items():
                for variant, transform in relevance.VARIANTS:
                    out[key + (variant,)] = [
                        (qid, common.reciprocal_rank(search(transform(t)), qrels[qid]))
                        for qid, t in queries]
            return out
        finally:
            for name, (module, value) in saved.items():
                setattr(module, name, value)

    configs = [{}]
    for spec in args.sweep:
        name, _, raw = spec.partition("=")
        configs += [{name: float(v)} for v in raw.split(",")]
    configs += [{k: float(v) for k, v in (p.split("=", 1) for p in c.split(";"))}
                for c in args.config]
    print("config".ljust(44) + "  ".join(f"{s}/{u[:3]}".rjust(13) for s, u in SETS)
          + "   (MRR@10 as typed / folded)")
    for params in configs:
        out = run(params)
        cells = []
        for seed, unique in SETS:
            typed = np.mean([r for _, r in out[(seed, unique, "as typed")]])
            folded = np.mean([r for _, r in out[(seed, unique, "folded")]])
            cells.append(f"{typed:.3f}/{folded:.3f}".rjust(13))
        label = ";".join(f"{k}={v:g}" for k, v in params.items()) or "current"
        print(label.ljust(44) + "  ".join(cells), flush=True)
        if args.details and not params:
            with args.details.open("w", encoding="utf-8") as fh:
                for key, rows in out.items():
                    for qid, rr in rows:
                        if rr < 1:
                            fh.write(f"{key}\t{qid}\t{rr:.3f}\n")
    engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(common.run_main(main))
