"""User query text → a ranking plan (and Whoosh masks for phrases and exclusions) that ranks
the way Vietnamese readers expect.

Recall rests on folded syllables (context-dependent segmentation misses too much); exact
diacritics, folded syllable pairs, pyvi words and document numbers add precision on top.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

from whoosh import query as wq

from search_service.analysis import fold_token, normalize_text, segment, syllables
from search_service.ranking import Clause, Plan

# Weights of the layers a query term is matched in (tuned on the dev set as a whole, not per
# question; see bench/README.md).
TITLE_WEIGHT = 1.0     # on top of the title fields' index-time boost of 2
EXACT_BOOST = 0.6      # the same diacritics as typed
PAIR_BOOST = 1.2       # two neighbouring syllables, folded
WORD_BOOST = 0.5       # a pyvi word of the query, with diacritics
NUMBER_BOOST = 30.0    # the document's own số/ký hiệu
SHORT_QUERY = 4        # at most this many content syllables make a "short" query
COMMON_TERM_SHARE = 0.3  # long questions skip syllables found in more documents than this
RELATED_TERMS = 12       # syllables that describe a document when looking for related ones
RELATED_TEXT_CHARS = 20_000   # of its text, read for them (bounded for huge documents)

# Function words and question words: not worth a mark in a snippet, nor a syllable pair of
# their own. (They still rank as single terms: dropping them measured worse.)
_STOP_EXACT = frozenset("""
và của các là có được cho trong những với thì mà này đó theo về để khi như bị do nếu
hoặc một hai ra vào tại từ đến trên dưới sau trước nào gì ai đâu bao nhiêu không hay
sai đúng phải thế nên cũng đã đang sẽ rằng vì nhưng lại còn chỉ đều vẫn rất hơn nhất
ở bởi qua cùng nhau mỗi mọi
""".split())
# Typed without diacritics, a syllable counts as a stop word if any of them folds to it.
STOP_WORDS = frozenset(fold_token(w) for w in _STOP_EXACT)

_PHRASE_RE = re.compile(r'"([^"]*)"')
_EXCLUDE_RE = re.compile(r'(?:(?<=\s)|^)(?:-|NOT\s+)([^\s"]+)')
_OPERATOR_RE = re.compile(r"(?<!\S)(?:AND|OR|&&|\|\|)(?!\S)")


@dataclass
class ParsedQuery:
    """What the user asked for, split into the parts that match differently."""
    text: str = ""                                                # normalized query text
    terms: list[tuple[str, str]] = field(default_factory=list)   # (exact lowercase, folded)
    phrases: list[list[tuple[str, str]]] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)            # folded syllables
    number_keys: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)               # pyvi words with diacritics

    @property
    def empty(self) -> bool:
        return not (self.terms or self.phrases or self.number_keys)

    def highlight_terms(self) -> set[str]:
        """Folded syllables worth marking in a snippet. The parts of a document number are
        not (``15/NQ-ĐU`` would mark every "đủ"): the number is marked whole instead."""
        parts = Counter(p for key in self.number_keys for p in key.split("-"))
        terms = []
        for exact, folded in self.terms:
            if parts[folded]:
                parts[folded] -= 1
            else:
                terms.append((exact, folded))
        content = {f for e, f in terms if not _is_stop(e, f)} or {f for _, f in terms}
        for phrase in self.phrases:
            content.update(f for _, f in phrase)
        return content

    def normalized(self) -> str:
        """The query as searched: folded syllables, phrases quoted, exclusions marked."""
        parts = [f for _, f in self.terms]
        parts += ['"' + " ".join(f for _, f in p) + '"' for p in self.phrases]
        parts += ["-" + x for x in self.excluded]
        return " ".join(parts)


def _is_stop(exact: str, folded: str) -> bool:
    """Function words: not worth a mark in a snippet, nor a pair of their own."""
    return exact in _STOP_EXACT or (exact == folded and folded in STOP_WORDS)


def _terms(text: str, mode: str = "query") -> tuple[list[tuple[str, str]], list[str]]:
    """Syllables as (exact, folded) pairs, and the document-number keys, of ``text``."""
    terms, keys = [], []
    for syllable, _, _, key in syllables(text, mode):
        if key:
            keys.append(key)
        lower = syllable.lower()
        terms.append((lower, fold_token(lower)))
    return terms, keys


def parse_query(text: str) -> ParsedQuery:
    """Plain words and quoted phrases; ``-word``/``NOT word`` excludes; never fails."""
    text = normalize_text(text.replace("\x00", " "))
    text = "".join(c if c.isprintable() else " " for c in text)
    parsed = ParsedQuery(text=text)
    for phrase in _PHRASE_RE.findall(text):
        terms, keys = _terms(phrase)
        parsed.number_keys += keys
        if len(terms) > 1:
            parsed.phrases.append(terms)
        else:
            parsed.terms += terms
    text = _PHRASE_RE.sub(" ", text).replace('"', " ")
    for word in _EXCLUDE_RE.findall(text):
        parsed.excluded += [f for _, f in _terms(word, "")[0]]
    text = _OPERATOR_RE.sub(" ", _EXCLUDE_RE.sub(" ", text))
    terms, keys = _terms(text)
    parsed.terms += terms
    parsed.number_keys += keys
    if any(e != f for e, f in parsed.terms):   # pyvi only joins words typed with diacritics
        parsed.words = [w.lower() for w in segment(text).split()
                        if "_" in w and all(p.isalpha() for p in w.split("_"))]
    return parsed


def build_plan(parsed: ParsedQuery, doc_count: int, doc_frequency) -> Plan:
    """What to score. ``doc_frequency(field, term)`` lets long questions drop common terms."""
    plan = Plan()
    # Every syllable ranks (dropping function words measured worse); long questions drop the
    # syllables common enough to cost time without separating documents.
    content = _dedupe(parsed.terms)
    long_query = len(content) > SHORT_QUERY
    if long_query:                 # a question: very common syllables add time, not ranking
        limit = COMMON_TERM_SHARE * max(doc_count, 1)
        content = [(e, f) for e, f in content if doc_frequency("body_f", f) < limit] or content
    plan.clauses += [_syllable_clause(f) for _, f in content]
    if not long_query and len(content) > 1 and not parsed.number_keys:
        plan.all_of = list(range(len(content)))   # a number lookup ranks by the number instead
    if any(e != f for e, f in parsed.terms):   # typed with diacritics: every syllable is exact
        plan.clauses += [_exact_clause(e) for e, _ in content]
    plan.clauses += _pair_clauses(parsed.terms)
    plan.clauses += [Clause([("body_w", w, 1.0), ("title_w", w, TITLE_WEIGHT)], WORD_BOOST)
                     for w in dict.fromkeys(parsed.words)]
    for key in dict.fromkeys(parsed.number_keys):
        plan.clauses.append(Clause([("number_key", key, 1.0)], NUMBER_BOOST))
        plan.clauses.append(Clause([("body_f", key, 1.0), ("title_f", key, TITLE_WEIGHT)], 2.0))
    for phrase in parsed.phrases:   # phrases also rank by their words
        plan.clauses += [_syllable_clause(f) for _, f in _dedupe(phrase)]
        plan.clauses += _pair_clauses(phrase)
    return plan


def related_plan(text: str, doc_count: int, doc_frequency) -> Plan:
    """What to score to find documents like one whose text is ``text``: its
    ``RELATED_TERMS`` most distinctive content syllables (frequency × idf), each weighted so."""
    counts: dict[str, int] = {}
    for syllable, _, _, _ in syllables(text[:RELATED_TEXT_CHARS]):
        lower = syllable.lower()
        folded = fold_token(lower)
        if len(folded) > 1 and folded.isalpha() and not _is_stop(lower, folded):
            counts[folded] = counts.get(folded, 0) + 1
    weights = {}
    for term, tf in counts.items():
        df = doc_frequency("body_f", term)
        if df:
            weights[term] = math.log1p(tf) * math.log(1.0 + (doc_count - df + 0.5) / (df + 0.5))
    best = sorted(weights, key=lambda t: (-weights[t], t))[:RELATED_TERMS]
    top = max((weights[t] for t in best), default=1.0) or 1.0
    return Plan([Clause(_syllable_clause(t).alternatives, weights[t] / top) for t in best])


def constraints(parsed: ParsedQuery) -> tuple[wq.Query | None, wq.Query | None]:
    """``(required, excluded)``: quoted phrases must match, ``-word`` must not.

    Whoosh finds these (positions are in its postings); ranking does not need them.
    """
    required = [wq.Or([wq.Phrase("body_f", [f for _, f in p]),
                       wq.Phrase("title_f", [f for _, f in p])]) for p in parsed.phrases]
    excluded = [wq.Term(fld, x) for x in parsed.excluded for fld in ("body_f", "title_f")]
    return (wq.And(required) if required else None, wq.Or(excluded) if excluded else None)


def _dedupe(terms):
    return list(dict.fromkeys(terms))


def _syllable_clause(folded: str) -> Clause:
    return Clause([("body_f", folded, 1.0), ("title_f", folded, TITLE_WEIGHT)])


def _exact_clause(exact: str) -> Clause:
    """Typed with diacritics: documents with the same diacritics rank higher."""
    return Clause([("body", exact, 1.0), ("title", exact, TITLE_WEIGHT)], EXACT_BOOST)


def _pair_clauses(terms) -> list[Clause]:
    pairs = {}
    for (e1, f1), (e2, f2) in zip(terms, terms[1:]):
        if _is_stop(e1, f1) and _is_stop(e2, f2):
            continue
        pair = f1 + "_" + f2
        pairs[pair] = Clause([("body_bi", pair, 1.0), ("title_bi", pair, TITLE_WEIGHT)],
                             PAIR_BOOST)
    return list(pairs.values())
