"""Relations read from the shared legal corpus (#11): how many of each type, and a sample to
check by hand (the evidence of each, printed in full).

    .venv/bin/python bench/relations.py                 # counts and a sample of 50
    .venv/bin/python bench/relations.py --sample 0 --json counts.json

National laws cite and amend each other ("Bãi bỏ khoản 3 Điều 19 của Luật Thủ đô số
25/2012/QH13", "Luật … số 81/2006/QH11 … hết hiệu lực kể từ ngày Luật này có hiệu lực").
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from search_service.ingest.relations import TYPES, read  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
FILES = ("legal_alqac_articles.jsonl", "legal_passages_bkai.jsonl")


def relations_of_corpus(folder: Path) -> tuple[list[tuple[str, object]], int, int, float]:
    """``(doc id, relation)`` pairs, documents read, effective dates found, seconds."""
    found, docs, effective = [], 0, 0
    started = time.perf_counter()
    for name in FILES:
        with open(folder / name, encoding="utf-8") as lines:
            for line in lines:
                doc = json.loads(line)
                reading = read(doc.get("body") or "", doc.get("doc_number"))
                found += [(doc["id"], rel) for rel in reading.relations]
                effective += reading.effective is not None
                docs += 1
    return found, docs, effective, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--sample", type=int, default=50, help="relations to print for checking")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json", type=Path, help="write the counts here")
    args = parser.parse_args()
    found, docs, effective, seconds = relations_of_corpus(args.corpus)
    counts = Counter(rel.type for _, rel in found)
    print(f"{docs} documents read in {seconds:.1f}s; {len(found)} relations; "
          f"{effective} effective dates")
    for kind in TYPES:
        print(f"  {kind:14} {counts[kind]:5}")
    sample = random.Random(args.seed).sample(found, min(args.sample, len(found)))
    for number, (doc_id, rel) in enumerate(sample, 1):
        print(f"\n[{number}] {doc_id}: {rel.type} {rel.number}"
              f"{' (' + rel.detail + ')' if rel.detail else ''}\n    {rel.evidence}")
    if args.json:
        args.json.write_text(json.dumps({"documents": docs, "relations": len(found),
                                         "effective": effective, "by_type": dict(counts)},
                                        ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
