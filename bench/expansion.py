"""Corpus-derived term associations as weighted query expansion for long questions (#13),
measured honestly: a configuration is fitted on one set and measured on the other, and on
folds within each (``tuning.cross_validate``).

Nothing outside the indexed documents is used: the associations are computed from the
6,491 documents of the relevance index (title and text, folded syllables and folded
syllable pairs, function words left out), the way an index could compute them when it is
built. Three kinds:

* ``lsa``: term vectors of a truncated SVD of the tf-idf document-term matrix (``--dims``);
  a question's expansion terms are the terms nearest (cosine) to the mean vector of its
  content syllables and pairs;
* ``cooc``: document co-occurrence, a term's association with the question the sum over
  the question's terms of P(term | question term) (documents holding both, at least 3),
  times the term's idf;
* ``w2v``: word2vec (gensim, when installed) on the documents' folded syllables, window 5;
* ``words``: word2vec on pyvi's words with diacritics (``hồ_sơ``), min count 5; a question's
  words (as typed with diacritics; a question without diacritics has none) are expanded by
  the nearest words of df 5 or more, as the pyvi word fields (``body_w``, ``title_w``).

Each question's ``--terms`` best candidates (not in the question, not a function word, in
fewer than 30% of the documents) join its plan as extra clauses: a syllable as the folded
fields (like a typed one), a pair as the pair fields, weighted ``weight × association /
best association``. The engine's ranking is otherwise untouched (monkeypatched here: nothing
is kept in the engine; see bench/README.md for the figures).

    .venv/bin/python bench/expansion.py --kind lsa --weights 0.05,0.1,0.2 --terms 5,10
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from scipy import sparse

import common
import tuning
from common import BKAI, DANTRI, LEGAL


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=common.DEFAULT_CORPUS)
    parser.add_argument("--out", type=Path, default=common.OUT_DIR)
    parser.add_argument("--kind", choices=("lsa", "cooc", "w2v", "words"), default="lsa")
    parser.add_argument("--dims", type=int, default=200, help="LSA dimensions")
    parser.add_argument("--min-df", type=int, default=3)
    parser.add_argument("--pairs", action="store_true", help="pairs as terms too")
    parser.add_argument("--weights", default="0.05,0.1,0.2")
    parser.add_argument("--terms", default="5,10")
    parser.add_argument("--limit-queries", type=int)
    parser.add_argument("--show", type=int, default=0, help="print the expansion of N questions")
    parser.add_argument("--json", type=Path)
    return parser.parse_args(argv)


def document_terms(doc: dict, pairs: bool) -> list[str]:
    """Folded content syllables (and pairs of neighbouring content syllables) of a document."""
    from search_service.search.rerank import folded_words
    from search_service.text.stopwords import STOP_WORDS

    words = folded_words((doc.get("title") or "") + " \n " + (doc.get("body") or ""))
    terms = [w for w in words if w.isalpha() and len(w) > 1 and w not in STOP_WORDS]
    if pairs:
        content = [w if (w.isalpha() and w not in STOP_WORDS) else None for w in words]
        terms += [a + "_" + b for a, b in zip(content, content[1:]) if a and b]
    return terms


def _word2vec():
    try:
        from gensim.models import Word2Vec
    except ImportError:
        raise common.BenchError("--kind w2v and words need gensim (pip install gensim==4.4.0); "
                                "it is not a dependency of the project") from None
    return Word2Vec


def document_words(doc: dict) -> list[str]:
    """pyvi's words of a document, lowercased, with diacritics (``hồ_sơ``)."""
    from search_service.text.normalize import normalize_text
    from search_service.text.segment import segment

    text = normalize_text((doc.get("title") or "") + " \n " + (doc.get("body") or ""))
    return [w for w in segment(text).lower().split()
            if all(p.isalpha() for p in w.split("_"))]


def question_words(text: str) -> list[str]:
    from search_service.text.normalize import normalize_text
    from search_service.text.segment import segment

    return [w for w in segment(normalize_text(text)).lower().split()
            if all(p.isalpha() for p in w.split("_"))]


class Associations:
    """Term → index, and a function ``expand(query terms, n) -> [(term, score)]``."""

    def __init__(self, docs: list[dict], args):
        started = time.perf_counter()
        if args.kind == "words":
            cache = args.out / "expansion-words.json"
            if cache.is_file():
                streams = json.loads(cache.read_text(encoding="utf-8"))
            else:
                streams = [document_words(d) for d in docs]
                cache.write_text(json.dumps(streams, ensure_ascii=False), encoding="utf-8")
            args.min_df = max(args.min_df, 5)
        else:
            streams = [document_terms(d, args.pairs) for d in docs]
        df = Counter(t for s in streams for t in set(s))
        limit = 0.3 * len(docs)
        vocab = sorted(t for t, n in df.items() if args.min_df <= n < limit)
        self.index = {t: i for i, t in enumerate(vocab)}
        self.pairs = args.pairs
        self.joined = np.array(["_" in t for t in vocab], dtype=bool)
        self.vocab = vocab
        rows, cols, vals = [], [], []
        for d, stream in enumerate(streams):
            for term, tf in Counter(t for t in stream if t in self.index).items():
                rows.append(d)
                cols.append(self.index[term])
                vals.append(1.0 + math.log(tf))
        self.df = np.array([df[t] for t in vocab], dtype=float)
        idf = np.log(len(docs) / self.df)
        x = sparse.csr_matrix((vals, (rows, cols)), shape=(len(docs), len(vocab)))
        self.kind = args.kind
        if args.kind == "lsa":
            from sklearn.decomposition import TruncatedSVD
            from sklearn.preprocessing import normalize
            xt = normalize(x.multiply(idf).tocsr())
            svd = TruncatedSVD(args.dims, random_state=0).fit(xt)
            vectors = svd.components_.T * svd.singular_values_
            self.vectors = normalize(vectors)
        elif args.kind == "cooc":
            b = (x > 0).astype(np.float32).tocsc()
            self.binary = b
            self.n = len(docs)
        else:
            word2vec = _word2vec()
            model = word2vec(streams, vector_size=100, window=5, min_count=3, sg=1,
                             workers=1, epochs=5, seed=0)
            from sklearn.preprocessing import normalize
            self.vectors = normalize(np.stack([model.wv[t] if t in model.wv else
                                               np.zeros(100) for t in vocab]))
        self.seconds = time.perf_counter() - started

    def expand(self, terms: list[str], n: int) -> list[tuple[str, float]]:
        ids = [self.index[t] for t in dict.fromkeys(terms) if t in self.index]
        if not ids:
            return []
        if self.kind in ("lsa", "w2v", "words"):
            centre = self.vectors[ids].mean(axis=0)
            sims = self.vectors @ centre
        else:
            q = self.binary[:, ids]
            both = np.asarray((self.binary.T @ q).todense())          # vocab × len(ids)
            # P(term | question term) × idf(term): PMI alone favours the rarest terms, which
            # almost never reorder the question's candidates (measured: no change at all).
            cond = both / self.df[ids]
            cond[both < 3] = 0
            sims = cond.sum(axis=1) * np.log(self.n / self.df)
        sims[ids] = -np.inf
        if self.kind == "words":          # the word fields hold pyvi's joined words only
            sims[~self.joined] = -np.inf
        best = np.argpartition(-sims, n)[:n]
        best = best[np.argsort(-sims[best])]
        return [(self.vocab[i], float(sims[i])) for i in best if sims[i] > 0]


def install(assoc: Associations, config: dict):
    """Wrap ``query._build_plan`` so long questions get expansion clauses; returns undo."""
    from search_service.search import query
    from search_service.search.ranking import Clause

    original = query._build_plan
    cache: dict = {}

    def build(parsed, doc_count, doc_frequency):
        plan = original(parsed, doc_count, doc_frequency)
        if not config or not query.is_long(parsed):
            return plan
        content = query.content_syllables(parsed)
        terms = list(content)
        if assoc.kind == "words":
            terms = [w for w in question_words(parsed.text) if "_" in w]
        elif assoc.pairs:
            terms += [a + "_" + b for a, b in zip(content, content[1:])]
        key = (tuple(terms), config["terms"])
        if key not in cache:
            cache[key] = assoc.expand(terms, config["terms"])
        expansion = cache[key]
        if not expansion:
            return plan
        top = expansion[0][1]
        for term, score in expansion:
            weight = config["weight"] * score / top
            if assoc.kind == "words":
                plan.clauses.append(Clause([("body_w", term, 1.0), ("title_w", term, 1.0)],
                                           query.WORD_BOOST * weight))
            elif "_" in term:
                plan.clauses.append(Clause([("body_bi", term, 1.0), ("title_bi", term, 1.0)],
                                           query.PAIR_BOOST * weight))
            else:
                plan.clauses.append(query._syllable_clause(term, weight))
        return plan

    query._build_plan = build
    return lambda: setattr(query, "_build_plan", original)


def main(argv=None) -> int:
    args = parse_args(argv)
    common.configure_logging(False)
    paths = common.require_files(args.corpus, [LEGAL, BKAI, DANTRI])
    docs = common.load_documents(paths)
    assoc = Associations(docs, args)
    print(f"{args.kind}: {len(assoc.vocab)} terms, built in {assoc.seconds:.1f}s", flush=True)
    ns = argparse.Namespace(corpus=args.corpus, out=args.out, rebuild=False, keep_index=True,
                            sets=["alqac", "bkai"], limit_queries=args.limit_queries,
                            known_count=200, seed=13, known_unique="document")
    runner = tuning.Runner(ns)
    if args.show:
        from search_service.search.query import content_syllables, parse_query
        queries = runner.sets["bkai"][0][:args.show]
        for qid, text in queries:
            content = content_syllables(parse_query(text))
            terms = content + ([a + "_" + b for a, b in zip(content, content[1:])]
                               if args.pairs else [])
            if args.kind == "words":
                terms = [w for w in question_words(text) if "_" in w]
            print(text, "->", " ".join(t for t, _ in assoc.expand(terms, 10)))
    configs = [None] + [{"weight": float(w), "terms": int(n)}
                        for w in args.weights.split(",") for n in args.terms.split(",")]
    results = {}
    for config in configs:
        undo = install(assoc, config or {})
        try:
            runs = runner.run({})
        finally:
            undo()
        label = "none" if config is None else f"w={config['weight']:g},n={config['terms']}"
        results[label] = runs
        print(f"  {label}: {tuning.describe(runs)}", flush=True)
    cv = tuning.cross_validate(results, "none")
    for split, figures in cv.items():
        print(f"  {split}: chosen {figures['chosen']}, held-out {figures['held_out']:.4f} "
              f"(none: {figures['base']:.4f})")
    runner.engine.close()
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                         "cv": cv,
                                         "values": {k: tuning.describe(r)
                                                    for k, r in results.items()}},
                                        ensure_ascii=False, indent=1, default=str),
                             encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(common.run_main(main))
