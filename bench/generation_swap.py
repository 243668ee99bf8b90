"""Swap: the CPU a server spends on a new index generation before it serves it, and after.

Over an index whose newest segments are the ones a commit added (``--new``, default 1), with
the word lists of its older segments already read (as a server that served the previous
generation has them), it reports the CPU (``time.thread_time``, medians of ``--rounds``) of
the columns and statistics (``Collection``), of the snapshot served before the swap (one
reader, the word lists already read), of the other readers opened after it, and of the word
list of each new segment (read after the swap, one at a time); and, for comparison, the whole
snapshot as it was built before commit 448c695 (8 readers, every word list read).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import common  # noqa: F401 - puts the repository root on sys.path
from common import BenchError

EXAMPLE = """\
example:
  .venv/bin/python bench/generation_swap.py --index /tmp/ingested --new 2 --rounds 5
"""


def cpu_ms(work) -> tuple[float, object]:
    started = time.thread_time()
    result = work()
    return 1000 * (time.thread_time() - started), result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, epilog=EXAMPLE,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, required=True, help="an index after a commit")
    parser.add_argument("--new", type=int, default=1, help="its segments the commit added")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)

    from search_service.index.schema import open_index
    from search_service.search.engine import SCORED_FIELDS
    from search_service.search.ranking import Collection
    from search_service.search.snapshot import COLUMNS, READERS, Snapshot
    from search_service.search.wordlists import WordLists

    if not list(args.index.glob("_*.toc")):
        raise BenchError(f"no index in {args.index}")
    index = open_index(args.index, create=False)
    times: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        words = WordLists()
        probe = Snapshot(index, SCORED_FIELDS, 1, words.known)
        reader = probe.open_reader()
        segments = len(reader.segments())
        for _ in range(max(0, segments - args.new)):       # the older segments' lists
            words.read_one(reader)
        steps = [("columns and statistics (Collection)",
                  lambda: Collection(reader, SCORED_FIELDS, COLUMNS)),
                 ("snapshot served before the swap", lambda: Snapshot(
                     index, SCORED_FIELDS, 1, words.known)),
                 (f"{READERS - 1} more readers, after the swap",
                  lambda: probe.add_readers(READERS - 1))]
        steps += [(f"word list of new segment {n + 1}, after the swap",
                   lambda: words.read_one(reader)) for n in range(min(args.new, segments))]
        steps.append(("whole snapshot, every word list read first",
                      lambda: Snapshot(index, SCORED_FIELDS, READERS, None)))
        for name, work in steps:
            ms, made = cpu_ms(work)
            times.setdefault(name, []).append(ms)
            if isinstance(made, Snapshot):
                made.retire()
        reader.close()
        probe.retire()
    print(f"{args.index}: {segments} segments, {args.new} new; CPU ms, median of {args.rounds}")
    for name, values in times.items():
        print(f"  {name:55s} {statistics.median(values):8.1f}")
    return 0


if __name__ == "__main__":
    common.run_main(main)
