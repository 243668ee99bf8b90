"""Segmentation: search_service.text.segment against pyvi itself, on every corpus document.

Both must give the same words (the index depends on it); the script counts differences and
reports the time of each, interleaved document by document so load on a shared machine hits
both alike.

example:
  .venv/bin/python bench/segmentation.py                      # all three corpora (~10 min)
  .venv/bin/python bench/segmentation.py --limit 2000         # the first 2,000 of each
"""

from __future__ import annotations

import argparse
import statistics
import time

from common import (BAOMOI, DANTRI, DEFAULT_CORPUS, LEGAL, configure_logging, read_jsonl,
                    require_files, run_main)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog=__doc__.split("\n\n", 2)[2],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default=DEFAULT_CORPUS, help="default: %(default)s")
    parser.add_argument("--limit", type=int, help="documents per corpus file")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    configure_logging(args.verbose)

    from pyvi import ViTokenizer

    from search_service.text.segment import default_segmenter

    segmenter = default_segmenter()
    ViTokenizer.tokenize("khởi động")
    total = different = 0
    ours, theirs = [], []
    for path in require_files(args.corpus, [LEGAL, DANTRI, BAOMOI]):
        for record in read_jsonl(path, args.limit):
            text = record.get("title", "") + "\n" + record.get("body", "")
            started = time.perf_counter()
            expected = ViTokenizer.tokenize(text)
            middle = time.perf_counter()
            got = segmenter.segment(text)
            theirs.append(middle - started)
            ours.append(time.perf_counter() - middle)
            total += 1
            if got != expected:
                different += 1
                print(f"different: {record.get('id')}")
    print(f"documents: {total}, different segmentations: {different}")
    print(f"pyvi: {sum(theirs):.1f} s in all, median {statistics.median(theirs) * 1000:.2f} ms/doc")
    print(f"ours: {sum(ours):.1f} s in all, median {statistics.median(ours) * 1000:.2f} ms/doc")
    print(f"speed-up (total time): {sum(theirs) / sum(ours):.2f}x")
    return 1 if different else 0


if __name__ == "__main__":
    run_main(main)
