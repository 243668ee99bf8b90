"""Choose ranking constants honestly: sweep one constant at a time, fit on one set and report
the figure on the other (and on folds within each set), never the figure it was fitted on.

For each constant and value, every question of the ALQAC and BKAI sets (as typed and folded)
and the known-item queries is answered once; the reciprocal ranks are kept, so each split is
a cheap selection afterwards:

* ``alqac→bkai``: the value best on ALQAC, measured on BKAI; ``bkai→alqac`` the reverse;
* ``5-fold``: within each set, the value best on four folds, measured on the fifth (questions
  assigned to folds by a hash of their id), averaged over the folds;
* ``both 5-fold``: the value best on four folds of both sets together (one value shipped for
  both kinds of question), measured on the fifth fold of each.

A change is worth keeping only when its held-out figures beat the current value's on both
sets. "Did you mean" is switched off here: it never changes the ranking, only the time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

import common
import relevance
from common import BKAI, DANTRI, LEGAL

EXAMPLE = """\
example:
  .venv/bin/python bench/tuning.py --sweep PAIR_BOOST=0,0.6,1.2,2 --sweep K1=0.9,1.2,1.6
  .venv/bin/python bench/tuning.py --ablate EXACT_BOOST=0 --ablate PAIR_BOOST=0
"""
FOLDS = 5
TUNED_SETS = ("alqac", "bkai")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=common.DEFAULT_CORPUS)
    parser.add_argument("--out", type=Path, default=common.OUT_DIR)
    parser.add_argument("--sweep", action="append", default=[], metavar="NAME=V1,V2,...",
                        help="values of one ranking constant to compare (the current value "
                             "is added)")
    parser.add_argument("--ablate", action="append", default=[], metavar="NAME=VALUE[;N=V]",
                        help="one configuration against the current one (e.g. a layer off)")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="set a constant for the whole run (the base configuration)")
    parser.add_argument("--skip-base", action="store_true",
                        help="do not run the base configuration (ablations only, no sweeps)")
    parser.add_argument("--limit-queries", type=int, metavar="N")
    parser.add_argument("--known-count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--known-unique", choices=("document", "title"), default="document")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write every figure as JSON")
    args = parser.parse_args(argv)
    args.rebuild, args.keep_index, args.sets = False, True, list(relevance.SETS)
    return args


def fold_of(qid: str) -> int:
    return int(hashlib.sha1(qid.encode()).hexdigest(), 16) % FOLDS


class Runner:
    """Answers every question under a configuration; returns reciprocal ranks per set."""

    def __init__(self, args):
        paths = common.require_files(args.corpus, [LEGAL, BKAI, DANTRI])
        docs = common.load_documents(paths)
        self.sets = relevance.load_sets(args, docs)
        self.engine, _ = relevance.open_ours(args, paths)
        self.engine._suggestion = lambda *a, **k: None     # no effect on the ranking
        self.search = relevance.searcher(self.engine, 10)

    def run(self, params: dict) -> dict:
        """``{(set, variant): (qids, reciprocal ranks)}`` under ``params``."""
        saved = {}
        for name, value in params.items():
            module = relevance.constant_module(name)
            saved[name] = (module, getattr(module, name))
            setattr(module, name, type(getattr(module, name))(value))
        # The engine keeps whole results per generation, keyed by the request alone: without
        # this, every configuration after the first would be answered from the first's.
        self.engine.snapshot().lexicon.results.clear()
        try:
            out = {}
            for set_name, (queries, qrels) in self.sets.items():
                for variant, transform in relevance.VARIANTS:
                    ranks = [common.reciprocal_rank(self.search(transform(text)), qrels[qid])
                             for qid, text in queries]
                    out[(set_name, variant)] = ([q for q, _ in queries], np.array(ranks))
            return out
        finally:
            for name, (module, value) in saved.items():
                setattr(module, name, value)


def set_score(runs: dict, set_name: str, mask_of=None) -> float:
    """Mean MRR of a set over both variants (optionally over the questions ``mask_of`` keeps)."""
    values = []
    for variant, _ in relevance.VARIANTS:
        qids, rr = runs[(set_name, variant)]
        keep = np.array([mask_of(q) for q in qids]) if mask_of else np.ones(len(qids), bool)
        values.append(rr[keep].mean())
    return float(np.mean(values))


def cross_validate(results: dict, base) -> dict:
    """Held-out MRR of the fitted value, per split, next to the base value's."""
    values = list(results)
    out = {}
    for fit, test in (("alqac", "bkai"), ("bkai", "alqac")):
        best = max(values, key=lambda v: (set_score(results[v], fit), v == base))
        out[f"{fit}→{test}"] = {"chosen": best, "held_out": set_score(results[best], test),
                                "base": set_score(results[base], test)}
    for name in TUNED_SETS:
        out[f"{name} 5-fold"] = _held_out_folds(results, base, (name,))[name]
    # One value for both kinds of question, as shipped: fitted on four folds of both sets
    # together, measured on the fifth fold of each.
    for name, figures in _held_out_folds(results, base, TUNED_SETS).items():
        out[f"both 5-fold: {name}"] = figures
    return out


def _held_out_folds(results: dict, base, sets) -> dict:
    """Per set of ``sets``: the value best on four folds of ``sets`` together, measured on the
    fifth, averaged over the folds (``{set: {chosen, held_out, base}}``)."""
    values = list(results)
    held = {name: [] for name in sets}
    base_held = {name: [] for name in sets}
    chosen = []
    for k in range(FOLDS):
        train = lambda q, k=k: fold_of(q) != k     # noqa: E731
        test = lambda q, k=k: fold_of(q) == k      # noqa: E731
        best = max(values, key=lambda v: (sum(set_score(results[v], name, train)
                                              for name in sets), v == base))
        chosen.append(best)
        for name in sets:
            held[name].append(set_score(results[best], name, test))
            base_held[name].append(set_score(results[base], name, test))
    return {name: {"chosen": chosen, "held_out": float(np.mean(held[name])),
                   "base": float(np.mean(base_held[name]))} for name in sets}


def describe(runs: dict) -> str:
    return "  ".join(f"{s}/{v[:5]} {runs[(s, v)][1].mean():.4f}" for s, v in runs)


def main(argv=None) -> int:
    args = parse_args(argv)
    common.configure_logging(False)
    base_params = relevance.apply_params(args.param)
    runner = Runner(args)
    report = {"base": base_params, "sweeps": {}, "ablations": {}}
    started = time.perf_counter()
    if args.skip_base and args.sweep:
        raise common.BenchError("--skip-base is for ablations only: a sweep needs the base")
    base_runs = None if args.skip_base else runner.run({})
    if base_runs is not None:
        print(f"base {base_params}: {describe(base_runs)}  "
              f"({time.perf_counter() - started:.0f}s)", flush=True)
    for spec in args.sweep:
        name, _, raw = spec.partition("=")
        current = getattr(relevance.constant_module(name), name)
        values = sorted({type(current)(float(v)) for v in raw.split(",")} | {current})
        results = {}
        for value in values:
            results[value] = base_runs if value == current else runner.run({name: value})
            print(f"  {name}={value}: {describe(results[value])}", flush=True)
        cv = cross_validate(results, current)
        for split, figures in cv.items():
            print(f"  {name} {split}: chosen {figures['chosen']}, held-out "
                  f"{figures['held_out']:.4f} (current {current}: {figures['base']:.4f})")
        report["sweeps"][name] = {"values": {str(v): describe(r) for v, r in results.items()},
                                  "cv": cv}
    for spec in args.ablate:
        params = dict(p.split("=", 1) for p in spec.split(";"))
        runs = runner.run({k: float(v) for k, v in params.items()})
        print(f"ablate {spec}: {describe(runs)}", flush=True)
        report["ablations"][spec] = describe(runs)
    runner.engine.close()
    if args.json:
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str),
                             encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(common.run_main(main))
