"""Sweep BM25's length normalisation ``b`` of some fields (``ranking.B``, a dict that
``tuning.py --sweep`` cannot set) and cross-validate it the way ``tuning.py`` does.

Each value answers every question of the three sets (as typed and folded); then the value
best on ALQAC is measured on BKAI and the reverse, and within each set on 5 folds.
"""

from __future__ import annotations

import argparse
import sys
import time

import common
import tuning

EXAMPLE = """\
example:
  .venv/bin/python bench/sweep_b.py title,title_f,title_bi,title_w 0.2,0.6
  .venv/bin/python bench/sweep_b.py body_bi 0.5,0.9
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("fields", help="index fields, separated by commas")
    parser.add_argument("values", help="values of b to compare (the current one is added)")
    cli = parser.parse_args(argv)
    from search_service.search import ranking

    fields = [f.strip() for f in cli.fields.split(",") if f.strip()]
    values = [float(v) for v in cli.values.split(",")]
    args = tuning.parse_args([])
    common.configure_logging(False)
    runner = tuning.Runner(args)
    saved = dict(ranking.B)
    current = ranking.B.get(fields[0], ranking.DEFAULT_B)
    results = {}
    try:
        for value in sorted(set(values) | {current}):
            started = time.perf_counter()
            ranking.B.update({f: value for f in fields})
            # The engine keeps whole results per generation (keyed by the request alone):
            # without this, every value after the first would be answered from the first's.
            runner.engine.snapshot().lexicon.results.clear()
            try:
                results[value] = runner.run({})
            finally:
                ranking.B.clear()
                ranking.B.update(saved)
            print(f"b={value}: {tuning.describe(results[value])} "
                  f"({time.perf_counter() - started:.0f}s)", flush=True)
        for split, figures in tuning.cross_validate(results, current).items():
            print(f"{split}: chosen {figures['chosen']}, held-out {figures['held_out']:.4f} "
                  f"(current {current}: {figures['base']:.4f})")
    finally:
        runner.engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(common.run_main(main))
