"""User query text → a Whoosh query that ranks the way Vietnamese readers expect.

Recall rests on folded syllables (context-dependent segmentation misses too much); exact
diacritics, folded syllable pairs, pyvi words and document numbers add precision on top.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from whoosh import query as wq

from search_service.analysis import fold_token, normalize_text, segment, syllables

# Weights of the layers a query term is matched in (tuned on the dev set as a whole, not per
# question; see bench/README.md).
EXACT_BOOST = 0.6      # the same diacritics as typed
PAIR_BOOST = 1.2       # two neighbouring syllables, folded
WORD_BOOST = 0.5       # a pyvi word of the query, with diacritics
NUMBER_BOOST = 30.0    # the document's own số/ký hiệu
ALL_TERMS_BOOST = 8.0  # short keyword queries: documents with every word first
SHORT_QUERY = 4        # at most this many content syllables make a "short" query

# Function words and question words: they carry no topic, so long questions drop them as
# single terms (they still count inside syllable pairs).
STOP_WORDS = frozenset(fold_token(w) for w in """
và của các là có được cho trong những với thì mà này đó theo về để khi như bị do nếu
hoặc một hai ra vào tại từ đến trên dưới sau trước nào gì ai đâu bao nhiêu không hay
sai đúng phải thế nên cũng đã đang sẽ rằng vì nhưng lại còn chỉ đều vẫn rất hơn nhất
ở bởi qua cùng nhau mỗi mọi
""".split())
# Stop words are kept where their diacritics tell them apart from content words.
_STOP_EXACT = frozenset("""
và của các là có được cho trong những với thì mà này đó theo về để khi như bị do nếu
hoặc một hai ra vào tại từ đến trên dưới sau trước nào gì ai đâu bao nhiêu không hay
sai đúng phải thế nên cũng đã đang sẽ rằng vì nhưng lại còn chỉ đều vẫn rất hơn nhất
ở bởi qua cùng nhau mỗi mọi
""".split())

_PHRASE_RE = re.compile(r'"([^"]*)"')
_EXCLUDE_RE = re.compile(r'(?:(?<=\s)|^)(?:-|NOT\s+)([^\s"]+)')
_OPERATOR_RE = re.compile(r"(?<!\S)(?:AND|OR|&&|\|\|)(?!\S)")


@dataclass
class ParsedQuery:
    """What the user asked for, split into the parts that match differently."""
    terms: list[tuple[str, str]] = field(default_factory=list)   # (exact lowercase, folded)
    phrases: list[list[tuple[str, str]]] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)            # folded syllables
    number_keys: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)               # pyvi words with diacritics

    @property
    def empty(self) -> bool:
        return not (self.terms or self.phrases or self.number_keys)

    def highlight_terms(self) -> set[str]:
        """Folded syllables worth marking in a snippet."""
        content = {f for e, f in self.terms if not _is_stop(e, f)} or {f for _, f in self.terms}
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
    parsed = ParsedQuery()
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


def build_query(parsed: ParsedQuery, doc_count: int, doc_frequency) -> wq.Query:
    """The ranking query. ``doc_frequency(field, term)`` lets long questions drop common terms."""
    clauses = []
    content = [(e, f) for e, f in _dedupe(parsed.terms) if not _is_stop(e, f)]
    long_query = len(content) > SHORT_QUERY
    if long_query:                 # a question: very common syllables add time, not ranking
        limit = 0.25 * max(doc_count, 1)
        content = [(e, f) for e, f in content if doc_frequency("body_f", f) < limit] or content
    elif not content:
        content = _dedupe(parsed.terms)
    unigrams = [_syllable_query(e, f) for e, f in content]
    clauses += unigrams
    clauses += _pair_queries(parsed.terms)
    clauses += [wq.Or([wq.Term("body_w", w), wq.Term("title_w", w)], boost=WORD_BOOST)
                for w in dict.fromkeys(parsed.words)]
    for key in dict.fromkeys(parsed.number_keys):
        clauses.append(wq.Term("number_key", key, boost=NUMBER_BOOST))
        clauses.append(wq.Or([wq.Term("body_f", key), wq.Term("title_f", key)], boost=2.0))
    for phrase in parsed.phrases:
        folded = [f for _, f in phrase]
        clauses.append(wq.Or([wq.Phrase("body_f", folded), wq.Phrase("title_f", folded)],
                             boost=2.0))
    if not long_query and len(unigrams) > 1:
        clauses.append(wq.And(unigrams, boost=ALL_TERMS_BOOST))
    return wq.Or(clauses) if len(clauses) > 1 else clauses[0]


def constraints(parsed: ParsedQuery) -> tuple[wq.Query | None, wq.Query | None]:
    """``(required, excluded)``: quoted phrases must match, ``-word`` must not.

    They are applied as the search's filter and mask rather than inside the ranking query:
    Whoosh's Require/AndNot matchers trip an assertion during block-quality skipping.
    """
    required = [wq.Or([wq.Phrase("body_f", [f for _, f in p]),
                       wq.Phrase("title_f", [f for _, f in p])]) for p in parsed.phrases]
    excluded = [wq.Term(fld, x) for x in parsed.excluded for fld in ("body_f", "title_f")]
    return (wq.And(required) if required else None, wq.Or(excluded) if excluded else None)


def _dedupe(terms):
    return list(dict.fromkeys(terms))


def _syllable_query(exact: str, folded: str) -> wq.Query:
    alternatives = [wq.Term("body_f", folded), wq.Term("title_f", folded)]
    if exact != folded:   # typed with diacritics: the same diacritics rank higher
        alternatives += [wq.Term("body", exact, boost=EXACT_BOOST),
                         wq.Term("title", exact, boost=EXACT_BOOST)]
    return wq.Or(alternatives)


def _pair_queries(terms) -> list[wq.Query]:
    pairs = []
    for (e1, f1), (e2, f2) in zip(terms, terms[1:]):
        if _is_stop(e1, f1) and _is_stop(e2, f2):
            continue
        pair = f1 + "_" + f2
        pairs.append(wq.Or([wq.Term("body_bi", pair), wq.Term("title_bi", pair)],
                           boost=PAIR_BOOST))
    return list({repr(p): p for p in pairs}.values())
