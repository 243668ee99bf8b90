"""User query text → a ranking plan (and the phrases and exclusions to mask) that ranks
the way Vietnamese readers expect.

Recall rests on folded syllables (context-dependent segmentation misses too much); exact
diacritics, folded syllable pairs, pyvi words and document numbers add precision on top.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

from search_service.text.fold import fold_token
from search_service.text.normalize import normalize_text
from search_service.text.segment import segment
from search_service.text.syllables import syllables
from search_service.text.stopwords import QUESTION_PHRASES, STOP_EXACT, STOP_WORDS
from search_service.search.intent import Intent, recognize
from search_service.search.ranking import Clause, Plan

# Weights of the layers a query term is matched in (tuned on the dev set as a whole, not per
# question; see bench/README.md).
TITLE_WEIGHT = 1.0     # on top of the title fields' index-time boost of 2
FOLDED_BOOST = 1.0     # a syllable without diacritics: the recall layer
EXACT_BOOST = 0.6      # the same diacritics as typed
PAIR_BOOST = 1.2       # two neighbouring syllables, folded
WORD_BOOST = 0.5       # a pyvi word of the query, with diacritics
NUMBER_BOOST = 30.0    # the document's own số/ký hiệu
STOP_WEIGHT = 1.0      # a function word's syllable, as a single term
QUESTION_WEIGHT = 0.2  # a syllable of a question phrase or legal boilerplate ("như thế nào")
# Soft preferences for what staff type besides the subject (search_service.search.intent): the
# scores of documents of that type, issuer or year are multiplied by these. Not tuned on the
# dev questions (they name none); large enough to reorder close scores, never a filter.
TYPE_PREFERENCE = 1.5
ISSUER_PREFERENCE = 1.2
YEAR_PREFERENCE = 1.5
INTENT_WORD_WEIGHT = 0.3   # as text, a year or a link word of those parts ("năm", "của")
BARE_NUMBER_BOOST = 10.0   # "kế hoạch 45": a số/ký hiệu 45/KH-…, by its number key
# Second looks at long questions (search_service.search.rerank); 0 turns one off.
FEEDBACK_DOCS = 0          # top documents read for pseudo-relevance feedback
FEEDBACK_TERMS = 10        # syllables they add to the question
FEEDBACK_WEIGHT = 0.3      # the weight of the strongest of them
PROXIMITY_DOCS = 20        # top documents reordered by how close the question's words are
PROXIMITY_WINDOW = 4.0     # a gap of this many syllables counts 1/e of adjacent ones
PROXIMITY_WEIGHT = 0.3     # the most a document's score grows for it
KIND_DOCS = 20             # top documents whose heading is compared with the kind asked for
KIND_PENALTY = 0.15        # a heading opening with another kind of answer: score × (1 - this)
# Short queries (a headline remembered): the title's own evidence, added apart from the BM25F
# sum of title and body, so a phrase many bodies repeat does not outweigh the one title
# holding it. Per neighbouring pair (title_bi) and per syllable (title_f); 0 turns one off.
TITLE_PAIR_BOOST = 4.0   # fitted on known-item seed 13, held out on seed 29 (bench/README.md)
TITLE_TERM_BOOST = 0.0
QUESTION_TITLE_PAIR_BOOST = 0.0   # the same pair clause for long questions (measured: not kept)
SHORT_QUERY = 4        # at most this many content syllables make a "short" query
COMMON_TERM_SHARE = 0.3  # long questions skip syllables found in more documents than this
RELATED_TERMS = 12       # syllables that describe a document when looking for related ones
RELATED_TEXT_CHARS = 20_000   # of its text, read for them (bounded for huge documents)

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
    intent: Intent = field(default_factory=Intent)   # type, issuer, year, number typed

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
    return exact in STOP_EXACT or (exact == folded and folded in STOP_WORDS)


# Question phrases by the fold of their first syllable, longest first: a query is read once.
_QUESTION_INDEX: dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]] = {}
for _phrase in sorted(QUESTION_PHRASES, key=len, reverse=True):
    _QUESTION_INDEX.setdefault(fold_token(_phrase[0]), []).append(
        (_phrase, tuple(fold_token(w) for w in _phrase)))


def question_marks(terms: list[tuple[str, str]]) -> list[bool]:
    """Which syllables belong to a question phrase or boilerplate. A syllable typed with
    diacritics must match them ("não" is no "nào"); one typed without matches by its fold.

    >>> question_marks([("hồ", "ho"), ("sơ", "so"), ("gồm", "gom"), ("những", "nhung"),
    ...                 ("gì", "gi")])
    [False, False, True, True, True]
    >>> question_marks([("co", "co"), ("bi", "bi"), ("xu", "xu"), ("phat", "phat"),
    ...                 ("khong", "khong")])
    [True, True, False, False, False]
    """
    marks = [False] * len(terms)
    for start, (_, first) in enumerate(terms):
        for exact_phrase, folded_phrase in _QUESTION_INDEX.get(first, ()):
            end = start + len(exact_phrase)
            if end <= len(terms) and all(
                    e == pe or (e == f and f == pf) for (e, f), pe, pf in
                    zip(terms[start:end], exact_phrase, folded_phrase)):
                marks[start:end] = [True] * len(exact_phrase)
    return marks


def term_weights(terms: list[tuple[str, str]]) -> dict[tuple[str, str], float]:
    """Each distinct syllable's weight: question phrases and function words weigh less
    (soft stop words); a syllable that also occurs as content keeps its full weight."""
    weights: dict[tuple[str, str], float] = {}
    for term, marked in zip(terms, question_marks(terms)):
        weight = QUESTION_WEIGHT if marked else STOP_WEIGHT if _is_stop(*term) else 1.0
        weights[term] = max(weights.get(term, 0.0), weight)
    return weights


def _terms(text: str, mode: str = "query") -> tuple[list[tuple[str, str]], list[str]]:
    """Syllables as (exact, folded) pairs, and the document-number keys, of ``text``."""
    terms, keys = [], []
    for syllable, _, _, key in syllables(text, mode):
        if key:
            keys.append(key)
        lower = syllable.lower()
        terms.append((lower, fold_token(lower)))
    return terms, keys


def parse_query(text: str, words: bool = True) -> ParsedQuery:
    """Plain words and quoted phrases; ``-word``/``NOT word`` excludes; never fails.

    ``words=False`` leaves pyvi's words out (a quick comparison needs no segmentation)."""
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
    parsed.intent = recognize([f for _, f in terms],
                              {p for key in keys for p in key.split("-")})
    parsed.intent.parts = {n + len(parsed.terms) for n in parsed.intent.parts}
    parsed.terms += terms
    parsed.number_keys += keys
    if words and any(e != f for e, f in parsed.terms):   # pyvi joins only accented words
        parsed.words = [w.lower() for w in segment(text).split()
                        if "_" in w and all(p.isalpha() for p in w.split("_"))]
    return parsed


def build_plan(parsed: ParsedQuery, doc_count: int, doc_frequency, scope: str = "all") -> Plan:
    """What to score. ``doc_frequency(field, term)`` lets long questions drop common terms;
    ``scope`` is ``all``, ``title`` (title fields only) or ``number`` (số/ký hiệu only)."""
    plan = _build_plan(parsed, doc_count, doc_frequency)
    if scope == "all":
        return plan
    wanted = "title" if scope == "title" else "number_key"
    narrowed = Plan()
    for number, clause in enumerate(plan.clauses):
        kept = [a for a in clause.alternatives if a[0].startswith(wanted)]
        if kept:
            if number in plan.all_of:
                narrowed.all_of.append(len(narrowed.clauses))
            narrowed.clauses.append(Clause(kept, clause.boost))
    return narrowed


def _build_plan(parsed: ParsedQuery, doc_count: int, doc_frequency) -> Plan:
    plan = Plan()
    # Every syllable ranks (dropping function words measured worse); long questions drop the
    # syllables common enough to cost time without separating documents. The words naming a
    # type, issuer or year (staff's "nghị quyết phòng cháy 2022") rank as text, but whether a
    # query is short, and which words a document must all hold, is decided by the subject.
    content = _dedupe(parsed.terms)
    subject = _dedupe([t for n, t in enumerate(parsed.terms)
                       if n not in parsed.intent.parts]) or content
    long_query = len(subject) > SHORT_QUERY
    if long_query:                 # a question: very common syllables add time, not ranking
        limit = COMMON_TERM_SHARE * max(doc_count, 1)
        content = [(e, f) for e, f in content if doc_frequency("body_f", f) < limit] or content
    weights = term_weights(parsed.terms) if long_query else {}
    for n in parsed.intent.parts:      # "năm 2022", "của": metadata more than text
        term = parsed.terms[n]
        if parsed.intent.weak(term[1]) and term not in subject:
            weights[term] = min(weights.get(term, 1.0), INTENT_WORD_WEIGHT)
    plan.clauses += [_syllable_clause(f, weights.get((e, f), 1.0)) for e, f in content]
    if not long_query and len(subject) > 1 and not (parsed.number_keys or parsed.intent.number):
        # A number lookup ranks by the number instead.
        plan.all_of = [n for n, t in enumerate(content) if t in subject]
    if any(e != f for e, f in parsed.terms):   # typed with diacritics: every syllable is exact
        plan.clauses += [_exact_clause(e, weights.get((e, f), 1.0)) for e, f in content]
    plan.clauses += _pair_clauses(parsed.terms, question_marks(parsed.terms)
                                  if long_query else None)
    if not long_query:
        plan.clauses += _title_clauses(parsed.terms, content)
    elif QUESTION_TITLE_PAIR_BOOST:
        plan.clauses += [Clause([("title_bi", c.alternatives[0][1], 1.0)],
                                QUESTION_TITLE_PAIR_BOOST)
                         for c in _pair_clauses(parsed.terms, question_marks(parsed.terms))]
    plan.clauses += [Clause([("body_w", w, 1.0), ("title_w", w, TITLE_WEIGHT)], WORD_BOOST)
                     for w in dict.fromkeys(parsed.words)]
    for key in dict.fromkeys(parsed.number_keys):
        plan.clauses.append(Clause([("number_key", key, 1.0)], NUMBER_BOOST))
        plan.clauses.append(Clause([("body_f", key, 1.0), ("title_f", key, TITLE_WEIGHT)], 2.0))
    for phrase in parsed.phrases:   # phrases also rank by their words
        plan.clauses += [_syllable_clause(f) for _, f in _dedupe(phrase)]
        plan.clauses += _pair_clauses(phrase)
    return plan


def is_long(parsed: ParsedQuery) -> bool:
    """A question rather than keywords: more subject syllables than ``SHORT_QUERY``."""
    subject = {t for n, t in enumerate(parsed.terms) if n not in parsed.intent.parts}
    return len(subject) > SHORT_QUERY


def content_syllables(parsed: ParsedQuery) -> list[str]:
    """The question's folded syllables that say what it is about, in order: no function
    word, no question phrase, no number."""
    marks = question_marks(parsed.terms)
    return [f for (e, f), m in zip(parsed.terms, marks)
            if not m and not _is_stop(e, f) and f.isalpha()]


def feedback_clause(folded: str, weight: float) -> Clause:
    """A syllable added by feedback: the folded fields, like a typed one."""
    return _syllable_clause(folded, weight)


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


def _dedupe(terms):
    return list(dict.fromkeys(terms))


def _syllable_clause(folded: str, weight: float = 1.0) -> Clause:
    return Clause([("body_f", folded, 1.0), ("title_f", folded, TITLE_WEIGHT)],
                  FOLDED_BOOST * weight)


def _exact_clause(exact: str, weight: float = 1.0) -> Clause:
    """Typed with diacritics: documents with the same diacritics rank higher."""
    return Clause([("body", exact, 1.0), ("title", exact, TITLE_WEIGHT)], EXACT_BOOST * weight)


def _title_clauses(terms, content) -> list[Clause]:
    """A short query's pairs and syllables in the title alone (``TITLE_PAIR_BOOST``,
    ``TITLE_TERM_BOOST``): separate clauses, so the title's match adds to the body's instead
    of saturating with it."""
    clauses = []
    if TITLE_PAIR_BOOST:
        clauses += [Clause([("title_bi", pair.alternatives[0][1], 1.0)], TITLE_PAIR_BOOST)
                    for pair in _pair_clauses(terms)]
    if TITLE_TERM_BOOST:
        clauses += [Clause([("title_f", f, 1.0)], TITLE_TERM_BOOST) for _, f in content]
    return clauses


def _pair_clauses(terms, marks=None) -> list[Clause]:
    """Neighbouring syllables, folded; none of two function words, nor (``marks``) of two
    syllables of a question phrase."""
    pairs = {}
    marks = marks or [False] * len(terms)
    for (e1, f1), (e2, f2), m1, m2 in zip(terms, terms[1:], marks, marks[1:]):
        if (_is_stop(e1, f1) and _is_stop(e2, f2)) or (m1 and m2 and QUESTION_WEIGHT < 1):
            continue
        pair = f1 + "_" + f2
        pairs[pair] = Clause([("body_bi", pair, 1.0), ("title_bi", pair, TITLE_WEIGHT)],
                             PAIR_BOOST)
    return list(pairs.values())
