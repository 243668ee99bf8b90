"""Features of a long question's best documents, for a learned reranker (issue #13).

The features are general — nothing names a collection or a source: the BM25 evidence of
each layer the engine scores (folded syllables, exact diacritics, folded pairs, pyvi words),
split into title and body; how much of the question each side covers; where and how close
together the question's content syllables are in the text; how much of the heading the
question names; lengths; and the engine's own score. They are computed for a few candidates
only (the top of the engine's order) from the posting arrays the engine has already read and
the stored text the proximity second look reads anyway.

``ltr.py`` extracts them for the dev questions and measures, by cross-validation,
whether a model over them ranks better than the engine on questions it was not trained on.
"""

from __future__ import annotations

import math

import numpy as np

from search_service.search import asks, query
from search_service.search.ranking import B, DEFAULT_B, K1, Plan
from search_service.search.rerank import _smallest_gap, folded_words
from search_service.text.fold import fold_token

LAYERS = {"body_f": "folded", "title_f": "folded", "body": "exact", "title": "exact",
          "body_bi": "pair", "title_bi": "pair", "body_w": "word", "title_w": "word"}
LAYER_NAMES = ("folded", "exact", "pair", "word")
LEAD_WORDS = 30          # the first words of a body: its heading or first sentence
FEATURE_NAMES = (
    [f"{layer}_{side}_{kind}" for layer in LAYER_NAMES for side in ("title", "body")
     for kind in ("score", "cover")]
    + ["engine_share", "engine_rank", "engine_gap",
       "title_cover", "title_precision", "lead_cover", "body_cover",
       "closeness", "adjacent", "first_position", "title_length", "body_length",
       "intent_match", "intent_other", "heading_precision",
       "question_length", "typed_diacritics"])


def _precision(words: list[str], asked: set[str]) -> float:
    """The share of the content syllables of ``words`` that are in ``asked``.

    >>> _precision("tieu chuan cua nhan vien".split(), {"nhan", "vien", "bao", "ve"})
    0.5
    """
    own = {w for w in words if w.isalpha() and w not in query.STOP_WORDS}
    return len(own & asked) / len(own) if own else 0.0


def intent_features(asked: frozenset[str], head: list[str]) -> tuple[float, float]:
    """Whether the heading names what the question asks for (anywhere in it), and whether
    it opens with the name of another kind of answer (:mod:`search_service.search.asks`)."""
    if not asked:
        return 0.0, 0.0
    return float(asks.names_kind(asked, head)), float(asks.opens_with_another_kind(asked, head))


def _side(fieldname: str) -> int:
    return 0 if fieldname.startswith("title") else 1


def layer_features(col, scope, plan: Plan, docs: np.ndarray) -> np.ndarray:
    """``(len(docs), 16)``: for each layer and side (title, body), the layer's BM25 over that
    side alone and the idf-weighted share of the layer's clauses the side holds, each as a
    share of what a document holding every clause could reach."""
    size = len(docs)
    where = np.full(col.size, -1, dtype=np.int64)
    where[docs] = np.arange(size)
    score = np.zeros((len(LAYER_NAMES), 2, size))
    cover = np.zeros((len(LAYER_NAMES), 2, size))
    reach = np.zeros(len(LAYER_NAMES))
    for clause in plan.clauses:
        layers = {LAYERS.get(f) for f, _, _ in clause.alternatives}
        if len(layers) != 1 or None in layers:
            continue                     # number keys: no layer of text
        layer = LAYER_NAMES.index(layers.pop())
        tf = np.zeros((2, size))
        df_hits = []
        for fieldname, term, weight in clause.alternatives:
            ids, weights = col.postings(fieldname, term)
            if not len(ids):
                continue
            df_hits.append(ids)
            rows = where[ids]
            keep = rows >= 0
            if not keep.any():
                continue
            rows, ids, weights = rows[keep], ids[keep], weights[keep]
            b = B.get(fieldname, DEFAULT_B)
            avg = scope.avg_length[fieldname] or 1.0
            norm = (1.0 - b) + b * col.lengths[fieldname][ids] / avg
            np.add.at(tf[_side(fieldname)], rows, weight * weights / norm)
        if not df_hits:
            continue
        union = np.unique(np.concatenate(df_hits)) if len(df_hits) > 1 else df_hits[0]
        df = int(scope.mask[union].sum())
        if not df:
            continue
        idf = math.log(1.0 + (scope.size - df + 0.5) / (df + 0.5)) * clause.boost
        reach[layer] += idf
        score[layer] += idf * tf * (K1 + 1.0) / (tf + K1)
        cover[layer] += idf * (tf > 0)
    reach = np.where(reach > 0, reach, 1.0)[:, None, None]
    score /= reach * (K1 + 1.0)
    cover /= reach
    out = np.stack([score, cover], axis=-1)          # layer, side, kind, doc
    return out.transpose(3, 0, 1, 2).reshape(size, -1)


def text_features(col, parsed, docs: np.ndarray, window: float = 4.0) -> np.ndarray:
    """``(len(docs), 12)`` from the stored title and text: coverage of the question's content
    syllables in the title, the lead and the body; the share of the title's own content
    syllables the question names; closeness and adjacency of neighbouring content syllables;
    the first content syllable's position; the lengths; whether the heading names what the
    question asks for (:data:`search_service.search.asks.KINDS`), and the share of its words
    the question names."""
    content = query.content_syllables(parsed)
    wanted = set(content)
    asked = {f for _, f in parsed.terms}
    pairs = [(a, b) for a, b in zip(content, content[1:]) if a != b]
    intents = asks.asked_kinds([f for _, f in parsed.terms])
    out = np.zeros((len(docs), 12))
    for n, docnum in enumerate(docs):
        fields = col.stored(docnum)
        title = folded_words(fields.get("title") or "")
        body = folded_words(fields.get("body") or "")
        own = {w for w in title if w.isalpha() and w not in query.STOP_WORDS}
        kind_head = asks.heading_of(fields)
        head = [fold_token(w) for w in kind_head]      # for the share the question names
        positions: dict[str, list[int]] = {}
        for i, word in enumerate(title + body):
            if word in wanted:
                positions.setdefault(word, []).append(i)
        gaps = [_smallest_gap(positions[a], positions[b]) for a, b in pairs
                if a in positions and b in positions]
        first = next((i for i, w in enumerate(body) if w in wanted), len(body))
        share = (lambda words: len(wanted & set(words)) / len(wanted)) if wanted else \
            (lambda words: 0.0)
        out[n] = (share(title), len(own & asked) / len(own) if own else 0.0,
                  share(body[:LEAD_WORDS]), share(body),
                  sum(math.exp(-(g - 1) / window) for g in gaps) / len(pairs) if pairs else 0.0,
                  sum(g == 1 for g in gaps) / len(pairs) if pairs else 0.0,
                  math.log1p(first), math.log1p(len(title)), math.log1p(len(body)),
                  *intent_features(intents, kind_head), _precision(head, asked))
    return out


def features(col, scope, parsed, plan: Plan, docs: np.ndarray, scores: np.ndarray
             ) -> np.ndarray:
    """``(len(docs), len(FEATURE_NAMES))`` for ``docs``, the engine's best first."""
    engine = scores[docs]
    top = engine[0] if len(engine) and engine[0] > 0 else 1.0
    rank = np.log1p(np.arange(len(docs)))
    typed = float(any(e != f for e, f in parsed.terms))
    own = np.column_stack([engine / top, rank, (top - engine) / top])
    asked = np.column_stack([np.full(len(docs), math.log1p(len(query.content_syllables(parsed)))),
                             np.full(len(docs), typed)])
    return np.hstack([layer_features(col, scope, plan, docs), own,
                      text_features(col, parsed, docs), asked])
