"""Shared pieces of the benchmarks: corpus loading, metrics, the SQLite FTS5 baseline, and
building (or reusing) an index of our own engine under ``bench/out/``.

The benchmark scripts are run as files (``python bench/relevance.py``), so this module puts the
repository root on ``sys.path`` to make ``search_service`` importable.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import math
import re
import shutil
import sqlite3
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

DEFAULT_CORPUS = REPO_ROOT.parent / "shared" / "corpus"
OUT_DIR = REPO_ROOT / "bench" / "out"
LEGAL = "legal_alqac_articles.jsonl"
BKAI = "legal_passages_bkai.jsonl"
DANTRI = "news_dantri_2020.jsonl"
BAOMOI = "news_baomoi_2017.jsonl.gz"
MANIFEST = "bench-manifest.json"

logger = logging.getLogger(__name__)


class BenchError(Exception):
    """Something the user asked for cannot be measured; the message says why and what to do."""


# -- corpus ----------------------------------------------------------------------------------
def require_files(corpus: Path, names: Iterable[str]) -> list[Path]:
    """The corpus files, or a BenchError naming the ones that are missing."""
    paths = [Path(corpus) / name for name in names]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise BenchError("corpus file(s) not found: " + ", ".join(missing)
                         + " (point --corpus at the shared corpus folder, ../shared/corpus from the repository root)")
    return paths


def read_jsonl(path: Path, limit: int | None = None) -> Iterator[dict]:
    """Records of a JSON Lines file, gzip-compressed when its name ends in ``.gz``."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as lines:
        count = 0
        for line in lines:
            if limit is not None and count >= limit:
                return
            if line.strip():
                count += 1
                yield json.loads(line)


def load_documents(paths: Iterable[Path], limit: int | None = None) -> list[dict]:
    docs: list[dict] = []
    for path in paths:
        docs.extend(read_jsonl(path, None if limit is None else limit - len(docs)))
    return docs


# The development question sets: name -> (questions file, judgments file) in ``dev/``.
DEV_SETS = {"alqac": ("queries.jsonl", "qrels.tsv"),
            "bkai": ("bkai_queries.jsonl", "bkai_qrels.tsv")}


def load_dev(corpus: Path, limit: int | None = None, name: str = "alqac"
             ) -> tuple[list[tuple[str, str]], dict]:
    """``[(qid, question)]`` and ``{qid: {relevant doc ids}}`` of a development set."""
    queries_path, qrels_path = require_files(Path(corpus) / "dev", DEV_SETS[name])
    queries = [(q["qid"], q["query"]) for q in read_jsonl(queries_path)]
    qrels: dict[str, set[str]] = {}
    for line in qrels_path.read_text(encoding="utf-8").splitlines()[1:]:
        qid, doc_id, relevance = line.split("\t")
        if int(relevance) > 0:
            qrels.setdefault(qid, set()).add(doc_id)
    queries = [q for q in queries if q[0] in qrels]
    return (queries[:limit] if limit else queries), qrels


def known_item_queries(docs: list[dict], count: int = 200, seed: int = 13,
                       prefix: str = "dantri-", unique: str = "document"
                       ) -> tuple[list[tuple[str, str]], dict]:
    """Short queries the way residents type a headline they remember: 2 to 4 syllables of
    consecutive words of one news title (pyvi's words, not cut inside a word), lowercased,
    a third of them without diacritics; first and last syllables are not function words.

    Each phrase (folded, whole syllables) occurs in exactly one document of ``docs``, title
    or body, so that document is the one right answer. Deterministic for a given ``seed``.
    ``unique="title"`` asks less: the phrase occurs in exactly one *title* (other documents'
    text may hold it too), the way a resident remembers a headline whose words are common.
    """
    if unique not in ("document", "title"):
        raise BenchError(f"unique must be 'document' or 'title', not {unique!r}")
    import random

    from search_service.text.fold import fold as shared_fold
    from search_service.text.normalize import normalize_text
    from search_service.text.segment import segment
    from search_service.text.stopwords import STOP_WORDS

    rng = random.Random(seed)
    candidates = sorted((d for d in docs if d["id"].startswith(prefix) and d.get("title")),
                        key=lambda d: d["id"])
    rng.shuffle(candidates)
    proposals = []                          # (doc id, typed text, folded syllables)
    for doc in candidates[:count * 3]:
        words = [w.split("_") for w in segment(normalize_text(doc["title"])).split()
                 if all(p.isalnum() for p in w.split("_"))]
        for _ in range(6):
            start = rng.randrange(len(words)) if words else 0
            span = []
            for word in words[start:]:
                if len(span) + len(word) > 4:
                    break
                span += word
                if len(span) >= 2 and rng.random() < 0.5:
                    break
            folded = [shared_fold(w).lower() for w in span]
            content = [w for w in folded if w not in STOP_WORDS and not w.isdigit()]
            if len(span) < 2 or len(content) < 2 or folded[0] in STOP_WORDS \
                    or folded[-1] in STOP_WORDS:
                continue
            text = " ".join(span).lower()
            proposals.append((doc["id"], shared_fold(text) if rng.random() < 1 / 3 else text,
                              tuple(folded)))
    wanted = {p[2] for p in proposals}
    seen: dict[tuple, int] = dict.fromkeys(wanted, 0)
    for doc in docs:                        # how many documents hold each proposed phrase
        text = doc.get("title") or ""
        if unique == "document":
            text += " \n " + (doc.get("body") or "")
        syll = _FTS_TOKEN.findall(shared_fold(text).lower())
        found = {tuple(syll[i:i + n]) for n in (2, 3, 4) for i in range(len(syll) - n + 1)}
        for phrase in found & wanted:
            seen[phrase] += 1
    queries, qrels, used = [], {}, set()
    for doc_id, text, folded in proposals:
        if len(queries) < count and doc_id not in used and seen[folded] == 1:
            used.add(doc_id)
            qid = f"known-{len(queries) + 1}"
            queries.append((qid, text))
            qrels[qid] = {doc_id}
    return queries, qrels


def fold(text: str) -> str:
    """Every diacritic removed and đ → d, the way residents often type."""
    from search_service.text.fold import fold as shared_fold

    return shared_fold(text)


# -- metrics ---------------------------------------------------------------------------------
def reciprocal_rank(ranked: list[str], relevant: set[str], k: int = 10) -> float:
    """1/rank of the first relevant id in the top ``k``, else 0.

    >>> reciprocal_rank(["a", "b", "c"], {"c", "x"})
    0.3333333333333333
    """
    for rank, doc_id in enumerate(ranked[:k], start=1):
        if doc_id in relevant:
            return 1.0 / rank
    return 0.0


def recall(ranked: list[str], relevant: set[str], k: int = 10) -> float:
    """The share of the relevant ids found in the top ``k``.

    >>> recall(["a", "b", "c"], {"c", "x"})
    0.5
    """
    return len(relevant.intersection(ranked[:k])) / len(relevant) if relevant else 0.0


def evaluate(runs: dict[str, list[str]], qrels: dict, k: int = 10) -> dict:
    """Mean reciprocal rank, mean recall at ``k`` and success at 1 (the first hit is
    relevant) over the questions in ``runs``."""
    n = len(runs) or 1
    return {"queries": len(runs),
            f"mrr@{k}": sum(reciprocal_rank(r, qrels[q], k) for q, r in runs.items()) / n,
            f"recall@{k}": sum(recall(r, qrels[q], k) for q, r in runs.items()) / n,
            "success@1": sum(bool(r) and r[0] in qrels[q] for q, r in runs.items()) / n}


def percentile(values: list[float], p: float) -> float:
    """Linear-interpolated percentile (``p`` in 0..100), as numpy's default computes it."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * p / 100
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


# -- the SQLite FTS5 baseline ----------------------------------------------------------------
_FTS_TOKEN = re.compile(r"[^\W_]+")


def fts5_query(text: str) -> str:
    """Any text as an FTS5 query: the OR of its tokens, each quoted so nothing is an operator.

    >>> fts5_query('Điều 5 "NEAR" a-b')
    '"Điều" OR "5" OR "NEAR" OR "a" OR "b"'
    """
    tokens = dict.fromkeys(_FTS_TOKEN.findall(text))
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in tokens)


class Fts5Baseline:
    """The same documents in SQLite FTS5 (title + body, unicode61 without diacritics, bm25)."""

    def __init__(self, path: str = ":memory:"):
        self.db = sqlite3.connect(path)
        self.db.execute('CREATE VIRTUAL TABLE IF NOT EXISTS docs USING fts5('
                        'id UNINDEXED, title, body, tokenize="unicode61 remove_diacritics 2")')

    def add(self, docs: Iterable[dict]) -> None:
        self.db.executemany("INSERT INTO docs (id, title, body) VALUES (?, ?, ?)",
                            ((d["id"], d.get("title") or "", d.get("body") or "") for d in docs))
        self.db.commit()

    def search(self, text: str, k: int = 10) -> list[str]:
        match = fts5_query(text)
        if not match:
            return []
        rows = self.db.execute("SELECT id FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) "
                               "LIMIT ?", (match, k))
        return [row[0] for row in rows]

    def size_bytes(self) -> int:
        pages = self.db.execute("PRAGMA page_count").fetchone()[0]
        return pages * self.db.execute("PRAGMA page_size").fetchone()[0]

    def close(self) -> None:
        self.db.close()


def build_fts5(docs: list[dict]) -> tuple[Fts5Baseline, float]:
    """An in-memory FTS5 index of ``docs`` and the seconds it took."""
    started = time.perf_counter()
    fts = Fts5Baseline()
    fts.add(docs)
    return fts, time.perf_counter() - started


# -- our engine ------------------------------------------------------------------------------
def engine_api():
    """``(ingest_paths, SearchEngine, SearchRequest)``, or a BenchError saying what is missing."""
    try:
        from search_service.ingest.pipeline import ingest_paths
        from search_service.search import SearchEngine, SearchRequest
    except ImportError as exc:
        raise BenchError(f"the search engine is not importable yet: {exc}") from exc
    return ingest_paths, SearchEngine, SearchRequest


# The modules that decide what the index holds. Query-side code (search/) is left out on
# purpose: tuning the ranking must not cost a re-index every time.
INDEX_SOURCES = ("text/*.py", "index/*.py", "documents.py", "ingest/*.py")


def engine_fingerprint() -> str:
    """A hash of the indexing code: an index built by other code is rebuilt, not reused."""
    digest = hashlib.sha1()
    package = REPO_ROOT / "search_service"
    for path in sorted(p for pattern in INDEX_SOURCES for p in package.glob(pattern)):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _files_key(paths: Iterable[Path]) -> list:
    return [[str(p), p.stat().st_size, int(p.stat().st_mtime)] for p in paths]


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def ensure_index(index_dir: Path, paths: list[Path], rebuild: bool = False,
                 extra: dict | None = None, make_inputs=None, keep: bool = False) -> dict:
    """Our index of ``paths`` in ``index_dir``, reused when the inputs and the engine are unchanged.

    ``extra`` adds to what must match for reuse (e.g. a subset size); ``make_inputs()``, when
    given, returns the files to ingest instead of ``paths`` (called only when building).
    ``keep`` reuses an index of the same files even if the indexing code changed since (for
    tuning the query side while others edit ingestion).
    Returns ``{"built": bool, "seconds": float | None, "documents": int}``.
    """
    index_dir = Path(index_dir)
    wanted = {"files": _files_key(paths), "engine": engine_fingerprint(), **(extra or {})}
    manifest = index_dir / MANIFEST
    if not rebuild and manifest.is_file():
        saved = json.loads(manifest.read_text(encoding="utf-8"))
        inputs = saved.get("inputs") or {}
        same_files = keep and {k: v for k, v in inputs.items() if k != "engine"} == \
            {k: v for k, v in wanted.items() if k != "engine"}
        if inputs == wanted or same_files:
            return {"built": False, "seconds": saved.get("seconds"),
                    "documents": saved.get("documents")}
    remove_bench_dir(index_dir)
    ingest_paths, _, _ = engine_api()
    index_dir.mkdir(parents=True)
    manifest.write_text(json.dumps({"inputs": None}), encoding="utf-8")   # ours, even if we crash
    logger.info("indexing %s into %s", ", ".join(p.name for p in paths), index_dir)
    inputs = make_inputs() if make_inputs else paths
    started = time.perf_counter()
    summary = ingest_paths(index_dir, inputs, max_file_mb=1024)
    seconds = time.perf_counter() - started
    if summary.failed:
        errors = [f"{f.path}: {f.error}" for f in summary.files if f.outcome == "failed"]
        raise BenchError("ingestion failed for " + "; ".join(errors))
    documents = sum(len(f.documents) for f in summary.files)
    manifest.write_text(json.dumps({"inputs": wanted, "seconds": seconds,
                                    "documents": documents}), encoding="utf-8")
    return {"built": True, "seconds": seconds, "documents": documents}


def remove_bench_dir(path: Path) -> None:
    """Delete a folder this module made; refuse anything else rather than lose someone's data."""
    path = Path(path)
    if not path.exists():
        return
    if any(path.iterdir()) and not (path / MANIFEST).is_file() and not path.name.startswith("tmp-"):
        raise BenchError(f"{path} exists and was not made by the benchmarks; remove it yourself")
    shutil.rmtree(path)


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def run_main(main) -> None:
    """Run a benchmark's ``main()``, turning a BenchError into a clear message and exit 2."""
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
