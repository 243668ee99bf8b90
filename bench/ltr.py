"""A learned reranker over the engine's best documents, measured honestly (issue #13).

For every question of the ALQAC and BKAI sets (as typed and folded), the engine's top ``--k``
documents of a long question (the questions its second look reorders; known-item queries are
short, so a reranker there never runs) get the general features of
:mod:`ltr_features` — layer and field scores, coverage, proximity, heading
match, lengths, the engine's score; never a source or an id. Then models are fitted on one
part and measured on another, next to the engine's figure on the same questions:

* ``alqac→bkai``: trained on every ALQAC question, MRR@10 on BKAI; ``bkai→alqac`` the reverse;
* ``5-fold``: within each set, trained on four folds (by a hash of the question id, as
  ``tuning.py``; a question's typed and folded forms are in the same fold), measured on the
  fifth, averaged.

Models: LightGBM LambdaRank (a few fixed, small configurations, all reported) and a linear
pairwise model (logistic regression on feature differences). MRR@10 is the mean over as typed
and folded, as ``tuning.py`` reports it. The features are cached in ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import common
import relevance
import tuning
from common import BKAI, DANTRI, LEGAL

EXAMPLE = """\
example:
  .venv/bin/python bench/ltr.py                    # extract (cached) and cross-validate
  .venv/bin/python bench/ltr.py --k 50 --json bench/out/ltr-50.json
"""
SETS = ("alqac", "bkai")
LGB_CONFIGS = {      # fixed before looking at held-out figures; every one is reported
    "lgb-small": dict(num_leaves=7, learning_rate=0.05, n_estimators=150, min_child_samples=40),
    "lgb-tiny": dict(num_leaves=3, learning_rate=0.05, n_estimators=100, min_child_samples=80),
    "lgb-mid": dict(num_leaves=15, learning_rate=0.03, n_estimators=300, min_child_samples=20),
}


FEW = ("engine_share", "title_precision", "heading_precision", "intent_match", "intent_other",
       "title_cover", "closeness")      # the engine and the heading signals, nothing else


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=common.DEFAULT_CORPUS)
    parser.add_argument("--out", type=Path, default=common.OUT_DIR)
    parser.add_argument("--k", type=int, default=30, help="candidates reranked (default 30)")
    parser.add_argument("--limit-queries", type=int, metavar="N")
    parser.add_argument("--refresh", action="store_true", help="extract the features again")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the figures as JSON")
    parser.add_argument("--rule", action="append", default=[], metavar="FEATURE",
                        help="also measure score × (1 + w × FEATURE), w fitted on the "
                             "training part (repeatable)")
    parser.add_argument("--curve", action="append", default=[], metavar="FEATURE",
                        help="print MRR@10 per set under score × (1 + w × FEATURE) for each w")
    parser.add_argument("--models", action="append", default=[], metavar="NAME",
                        help="only the models whose name contains NAME (repeatable)")
    parser.add_argument("--importance", action="store_true",
                        help="print the gain of each feature in a model trained on both sets")
    args = parser.parse_args(argv)
    args.rebuild, args.keep_index, args.sets = False, True, list(SETS)
    args.known_count, args.seed = 200, 13
    return args


# -- extraction ------------------------------------------------------------------------------
def extract(args) -> dict:
    """Features, labels and the engine's reciprocal rank of every question and variant."""
    from search_service.search.engine import SearchRequest
    from ltr_features import FEATURE_NAMES, features
    from search_service.search.query import build_plan, is_long, parse_query

    paths = common.require_files(args.corpus, [LEGAL, BKAI, DANTRI])
    docs = common.load_documents(paths)
    sets = relevance.load_sets(args, docs)
    engine, _ = relevance.open_ours(args, paths)
    rows = {"X": [], "label": [], "group": [], "set": [], "variant": [], "qid": [],
            "engine_rr": [], "long": []}
    started = time.perf_counter()
    try:
        snap = engine.snapshot()
        for set_name, (queries, qrels) in sets.items():
            for variant, transform in relevance.VARIANTS:
                for qid, text in queries:
                    req = SearchRequest(q=transform(text), per_page=args.k,
                                        include_internal=True, facets=False, snippets=False)
                    parsed = parse_query(req.q)
                    with snap.reading() as col:
                        scope = col.scope(public_only=False)
                        scores, matched = engine._match(col, req, parsed)
                        order = engine._order(col, req, parsed, scores, matched)[:args.k]
                        ids = [col.stored(d)["id"] for d in order]
                        long = is_long(parsed)
                        if long and len(order):
                            plan = build_plan(parsed, scope.size,
                                              lambda f, t: col.doc_frequency(f, t, scope))
                            X = features(col, scope, parsed, plan, order, scores)
                        else:
                            X = np.zeros((len(order), len(FEATURE_NAMES)))
                    group = len(rows["qid"])
                    rows["X"].append(X)
                    rows["label"].append(np.array([d in qrels[qid] for d in ids], float))
                    rows["group"].append(np.full(len(order), group))
                    rows["set"].append(set_name)
                    rows["variant"].append(variant)
                    rows["qid"].append(qid)
                    rows["engine_rr"].append(common.reciprocal_rank(ids, qrels[qid]))
                    rows["long"].append(long)
                print(f"  {set_name} {variant}: {len(queries)} questions "
                      f"({time.perf_counter() - started:.0f}s)", flush=True)
    finally:
        engine.close()
    return {"X": np.vstack(rows["X"]), "label": np.concatenate(rows["label"]),
            "group": np.concatenate(rows["group"]), "set": np.array(rows["set"]),
            "variant": np.array(rows["variant"]), "qid": np.array(rows["qid"]),
            "engine_rr": np.array(rows["engine_rr"]), "long": np.array(rows["long"])}


def load_or_extract(args) -> dict:
    path = args.out / f"ltr-features-{args.k}-{args.limit_queries or 'all'}.npz"
    from ltr_features import FEATURE_NAMES
    if path.is_file() and not args.refresh:
        data = dict(np.load(path, allow_pickle=False))
        if data["X"].shape[1] == len(FEATURE_NAMES):
            return data
    data = extract(args)
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **data)
    return data


# -- evaluation ------------------------------------------------------------------------------
def reranked_rr(data: dict, predicted: np.ndarray, questions: np.ndarray) -> np.ndarray:
    """Reciprocal rank (top 10) of each question in ``questions`` (group numbers) when its
    candidates are ordered by ``predicted`` (long questions only; the others keep the
    engine's order and figure)."""
    out = np.empty(len(questions))
    for n, q in enumerate(questions):
        if not data["long"][q]:
            out[n] = data["engine_rr"][q]
            continue
        rows = np.flatnonzero(data["group"] == q)
        order = rows[np.argsort(-predicted[rows], kind="stable")][:10]
        hits = np.flatnonzero(data["label"][order] > 0)
        out[n] = 1.0 / (hits[0] + 1) if len(hits) else 0.0
    return out


def set_mrr(data: dict, rr: np.ndarray, questions: np.ndarray) -> float:
    """Mean over the variants of the mean reciprocal rank (as tuning.py reports a set);
    ``rr`` is aligned with ``questions``."""
    variants = data["variant"][questions]
    return float(np.mean([rr[variants == v].mean() for v, _ in relevance.VARIANTS]))


def rows_of(data: dict, questions: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.isin(data["group"], questions))


class Linear:
    """Pairwise logistic regression (a linear RankNet) on standardised features (``only``:
    these features alone)."""

    def __init__(self, c: float = 0.1, only: tuple[str, ...] = ()):
        from ltr_features import FEATURE_NAMES

        self.c = c
        self.columns = [FEATURE_NAMES.index(f) for f in only] or list(range(len(FEATURE_NAMES)))

    def fit(self, X, y, group):
        from sklearn.linear_model import LogisticRegression

        X = X[:, self.columns]
        self.mean, self.std = X.mean(0), X.std(0) + 1e-9
        Z = (X - self.mean) / self.std
        diffs = []
        for g in np.unique(group):
            rows = np.flatnonzero(group == g)
            good, bad = rows[y[rows] > 0], rows[y[rows] == 0]
            if len(good) and len(bad):
                diffs.append((Z[good][:, None, :] - Z[bad][None, :, :]).reshape(-1, Z.shape[1]))
        D = np.vstack(diffs)
        D = np.vstack([D, -D])
        t = np.r_[np.ones(len(D) // 2), np.zeros(len(D) // 2)]
        self.model = LogisticRegression(C=self.c, fit_intercept=False, max_iter=2000).fit(D, t)
        return self

    def predict(self, X):
        return ((X[:, self.columns] - self.mean) / self.std) @ self.model.coef_[0]


class Lambda:
    """LightGBM LambdaRank, optimising NDCG@10 (with one relevant document, close to MRR)."""

    def __init__(self, **params):
        self.params = params

    def fit(self, X, y, group):
        import lightgbm

        order = np.argsort(group, kind="stable")
        _, sizes = np.unique(group[order], return_counts=True)
        self.model = lightgbm.LGBMRanker(objective="lambdarank", metric="ndcg",
                                         lambdarank_truncation_level=10, subsample=0.8,
                                         subsample_freq=1, colsample_bytree=0.8,
                                         random_state=13, verbose=-1, n_jobs=1, **self.params)
        self.model.fit(X[order], y[order], group=sizes)
        return self

    def predict(self, X):
        return self.model.predict(X)


class Rule:
    """One signal on top of the engine: ``score × (1 + w × feature)``, ``w`` the value of
    ``GRID`` best on the training questions (ties: the smallest change)."""

    GRID = (-0.2, -0.1, -0.05, 0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0)

    def __init__(self, feature: str):
        from ltr_features import FEATURE_NAMES

        self.column = FEATURE_NAMES.index(feature)
        self.engine = FEATURE_NAMES.index("engine_share")

    def fit(self, X, y, group):
        def mrr(w):
            rr = []
            for g in np.unique(group):
                rows = np.flatnonzero(group == g)
                order = rows[np.argsort(-self._score(X[rows], w), kind="stable")][:10]
                hits = np.flatnonzero(y[order] > 0)
                rr.append(1.0 / (hits[0] + 1) if len(hits) else 0.0)
            return np.mean(rr)
        self.w = max(self.GRID, key=lambda w: (mrr(w), -abs(w)))
        return self

    def _score(self, X, w):
        return X[:, self.engine] * (1.0 + w * X[:, self.column])

    def predict(self, X):
        return self._score(X, self.w)


def trainable(data: dict, questions: np.ndarray) -> np.ndarray:
    """Questions a model can learn from: long, with a relevant document among the candidates
    and a non-relevant one."""
    keep = []
    for q in questions:
        labels = data["label"][data["group"] == q]
        if data["long"][q] and labels.any() and not labels.all():
            keep.append(q)
    return np.array(keep)


def held_out(data: dict, make, train: np.ndarray, test: np.ndarray) -> np.ndarray:
    """Reciprocal ranks of ``test`` under a model fitted on ``train``."""
    fit_rows = rows_of(data, trainable(data, train))
    model = make().fit(data["X"][fit_rows], data["label"][fit_rows], data["group"][fit_rows])
    test_rows = rows_of(data, test)
    predicted = np.zeros(len(data["label"]))
    predicted[test_rows] = model.predict(data["X"][test_rows])
    return reranked_rr(data, predicted, test)


def cross_validate(data: dict, make) -> dict:
    """Held-out MRR@10 and the engine's on the same questions, per split."""
    groups = np.arange(len(data["qid"]))
    by_set = {s: groups[data["set"] == s] for s in SETS}
    out = {}
    for fit, test in (("alqac", "bkai"), ("bkai", "alqac")):
        rr = held_out(data, make, by_set[fit], by_set[test])
        engine_rr = data["engine_rr"][by_set[test]]
        out[f"{fit}→{test}"] = (set_mrr(data, rr, by_set[test]),
                                set_mrr(data, engine_rr, by_set[test]),
                                int((rr > engine_rr).sum()), int((rr < engine_rr).sum()))
    for name in SETS:
        questions = by_set[name]
        folds = np.array([tuning.fold_of(q) for q in data["qid"][questions]])
        model_rr = np.empty(len(questions))
        for k in range(tuning.FOLDS):
            model_rr[folds == k] = held_out(data, make, questions[folds != k],
                                            questions[folds == k])
        # Folds are averaged as tuning.py does: the mean of each fold's figure.
        fold_figures = [_fold_mrr(data, model_rr, questions, folds, k)
                        for k in range(tuning.FOLDS)]
        engine = [_fold_mrr(data, data["engine_rr"][questions], questions, folds, k)
                  for k in range(tuning.FOLDS)]
        engine_rr = data["engine_rr"][questions]
        out[f"{name} 5-fold"] = (float(np.mean(fold_figures)), float(np.mean(engine)),
                                 int((model_rr > engine_rr).sum()),
                                 int((model_rr < engine_rr).sum()))
    # The final model would be trained on both sets: four folds of each, the fifth measured.
    folds = np.array([tuning.fold_of(q) for q in data["qid"]])
    model_rr = np.empty(len(groups))
    for k in range(tuning.FOLDS):
        model_rr[folds == k] = held_out(data, make, groups[folds != k], groups[folds == k])
    for name in SETS:
        questions = by_set[name]
        engine_rr = data["engine_rr"][questions]
        out[f"both 5-fold: {name}"] = (
            float(np.mean([_fold_mrr(data, model_rr[questions], questions, folds[questions], k)
                           for k in range(tuning.FOLDS)])),
            float(np.mean([_fold_mrr(data, engine_rr, questions, folds[questions], k)
                           for k in range(tuning.FOLDS)])),
            int((model_rr[questions] > engine_rr).sum()),
            int((model_rr[questions] < engine_rr).sum()))
    return out


def _fold_mrr(data, rr_of_questions, questions, folds, k) -> float:
    """MRR (mean over variants) of fold ``k``; ``rr_of_questions`` is aligned with
    ``questions``."""
    keep = folds == k
    variants = data["variant"][questions][keep]
    rr = rr_of_questions[keep]
    return float(np.mean([rr[variants == v].mean() for v, _ in relevance.VARIANTS]))


def curve(data: dict, feature: str) -> dict:
    """MRR@10 of each set and variant under ``score × (1 + w × feature)`` for each ``w``."""
    rule = Rule(feature)
    out = {}
    for w in Rule.GRID:
        predicted = rule._score(data["X"], w)
        figures = {}
        for name in SETS:
            for variant, _ in relevance.VARIANTS:
                questions = np.flatnonzero((data["set"] == name) & (data["variant"] == variant))
                figures[f"{name}/{variant[:5]}"] = float(
                    reranked_rr(data, predicted, questions).mean())
        out[w] = figures
    return out


def importance(data: dict) -> list[tuple[str, float]]:
    from ltr_features import FEATURE_NAMES

    groups = trainable(data, np.arange(len(data["qid"])))
    rows = rows_of(data, groups)
    model = Lambda(**LGB_CONFIGS["lgb-small"]).fit(data["X"][rows], data["label"][rows],
                                                   data["group"][rows])
    gain = model.model.booster_.feature_importance("gain")
    return sorted(zip(FEATURE_NAMES, gain / gain.sum()), key=lambda kv: -kv[1])


def main(argv=None) -> int:
    args = parse_args(argv)
    common.configure_logging(False)
    started = time.perf_counter()
    data = load_or_extract(args)
    n = len(data["qid"])
    print(f"{n} question-variants, {len(data['label'])} candidates (k={args.k}); long: "
          f"{int(data['long'].sum())}; relevant among the candidates: "
          f"{int(sum(data['label'][data['group'] == q].any() for q in range(n)))} "
          f"({time.perf_counter() - started:.0f}s)", flush=True)
    models = {name: (lambda p=p: Lambda(**p)) for name, p in LGB_CONFIGS.items()}
    models.update({"linear C=0.01": lambda: Linear(0.01), "linear C=1": lambda: Linear(1.0),
                   "linear-few C=0.01": lambda: Linear(0.01, FEW)})
    for feature in args.rule:
        models[f"rule {feature}"] = lambda f=feature: Rule(f)
    report = {"k": args.k, "models": {}}
    print("engine → model, MRR@10 (mean of as typed and folded) on held-out questions, "
          "+better/-worse question-variants")
    print(f"{'model':<24} " + " ".join(f"{s:>28}" for s in
                                       ("alqac→bkai", "bkai→alqac", "alqac 5-fold",
                                        "bkai 5-fold", "both 5-fold: alqac",
                                        "both 5-fold: bkai")))
    for name, make in models.items():
        if args.models and not any(m in name for m in args.models):
            continue
        cv = cross_validate(data, make)
        report["models"][name] = cv
        print(f"{name:<24} " + " ".join(f"{e:.4f} → {m:.4f} +{up}/-{down}".rjust(28)
                                        for m, e, up, down in cv.values()), flush=True)
    for feature in args.curve:
        report.setdefault("curves", {})[feature] = figures = curve(data, feature)
        for w, row in figures.items():
            print(f"  {feature} w={w:+.2f}: " + "  ".join(f"{k} {v:.4f}" for k, v in row.items()))
    if args.importance:
        report["importance"] = importance(data)
        for feature, share in report["importance"]:
            print(f"  {feature:<22} {share:.3f}")
    if args.json:
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(common.run_main(main))
