"""Sweep BM25's length normalisation ``b`` of some fields (``ranking.B``, a dict that
``tuning.py --sweep`` cannot set) and cross-validate it the way ``tuning.py`` does.

Each value answers every question of the three sets (as typed and folded); then the value
best on ALQAC is measured on BKAI and the reverse, and within each set on 5 folds.
``--grid NAME=V1,V2`` crosses every ``b`` with every value of another ranking constant (the
two are chosen together); ``--base B,V`` names the configuration the others are compared with
(default: the current one).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time

import common
import relevance
import tuning

EXAMPLE = """\
example:
  .venv/bin/python bench/sweep_b.py title,title_f,title_bi,title_w 0.2,0.6
  .venv/bin/python bench/sweep_b.py body_bi 0.5,0.9
  .venv/bin/python bench/sweep_b.py title,title_f,title_bi,title_w 0.4,0.6 \\
      --grid KIND_PENALTY=0,0.1,0.15,0.2 --base 0.4,0
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("fields", help="index fields, separated by commas")
    parser.add_argument("values", help="values of b to compare (the current one is added)")
    parser.add_argument("--grid", metavar="NAME=V1,V2,...",
                        help="another ranking constant, every value crossed with every b")
    parser.add_argument("--base", metavar="B[,V]",
                        help="the configuration compared with (default: the current one)")
    cli = parser.parse_args(argv)
    from search_service.search import ranking

    fields = [f.strip() for f in cli.fields.split(",") if f.strip()]
    name, _, raw = (cli.grid or "").partition("=")
    current = (ranking.B.get(fields[0], ranking.DEFAULT_B),
               getattr(relevance.constant_module(name), name) if name else None)
    b_values = sorted({float(v) for v in cli.values.split(",")} | {current[0]})
    grid_values = sorted({float(v) for v in raw.split(",")} | {current[1]}) if name else [None]
    base = current
    if cli.base:
        parts = [float(v) for v in cli.base.split(",")]
        base = (parts[0], parts[1] if name else None)
    args = tuning.parse_args([])
    common.configure_logging(False)
    runner = tuning.Runner(args)
    saved = dict(ranking.B)
    results = {}
    try:
        for b, value in itertools.product(b_values, grid_values):
            started = time.perf_counter()
            ranking.B.update({f: b for f in fields})
            try:                # (the runner drops the results the engine keeps per request)
                results[(b, value)] = runner.run({name: value} if name else {})
            finally:
                ranking.B.clear()
                ranking.B.update(saved)
            label = f"b={b}" + (f" {name}={value}" if name else "")
            print(f"{label}: {tuning.describe(results[(b, value)])} "
                  f"({time.perf_counter() - started:.0f}s)", flush=True)
        if base not in results:
            raise common.BenchError(f"--base {cli.base}: not one of the configurations run")
        for split, figures in tuning.cross_validate(results, base).items():
            print(f"{split}: chosen {figures['chosen']}, held-out {figures['held_out']:.4f} "
                  f"(base {base}: {figures['base']:.4f})")
    finally:
        runner.engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(common.run_main(main))
