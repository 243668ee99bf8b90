"""'Did you mean': a query as the collection writes it, from the words the index holds.

Diacritics are restored where they were left out, and a syllable no document holds is
replaced by a near one. Which tones a syllable takes depends on its neighbours (``phat tu``
is ``phạt tù`` after ``bị`` but ``phật tử`` after ``các``), and the index keeps syllable pairs
folded only, so a few documents holding the same folded neighbours are read to see how they
spell it.

The rule (:func:`correction`) asks its questions of a :class:`Visible`, the documents one
reader may see: :class:`CollectionView` answers them over the embedded collection, and
:mod:`search_service.cluster.suggest` over a Sphinx cluster, so both backends offer the same.

Working that out reads postings and stored texts, and a search asks for it whenever a query has
words, so each snapshot keeps the answers it gave (:class:`Corrections`): per scope (what a
visitor may see, or staff) and query text, bounded, and gone with the snapshot's generation.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Protocol

import numpy as np

from search_service.lru import LRU
from search_service.text.fold import fold, fold_token
from search_service.text.syllables import SYLLABLE_RE
from search_service.search.highlight import fold_text, term_pattern, word_matches
from search_service.search.query import parse_query

# A form seen in one document only may be a typo in it; a small collection has to trust it.
MIN_DOC_FREQUENCY = 2
SMALL_COLLECTION = 2000


SPELLING_SAMPLE = 12    # documents read to see how a syllable is spelled in its context
SPELLING_TEXT_CHARS = 200_000   # of each one's text (bounded for huge documents)
SYLLABLE_FIELDS = ("body", "title")
FOLDED_FIELDS = ("body_f", "title_f")
WORD_FIELDS = ("body_w", "title_w")
CORRECTIONS_CACHED = 4096     # answers kept per generation (queries are at most a few KB)
# Search results kept per generation, counted in hits plus one per result: a result of 10
# hits (titles, marked titles, snippets, facets) holds about 26 KB, so at most about 20 MB.
RESULTS_CACHED = 8_000


def min_doc_frequency(documents: int) -> int:
    """How many documents must write a form before it is offered."""
    return 1 if documents < SMALL_COLLECTION else MIN_DOC_FREQUENCY


class Lexicon:
    """The accented forms of each folded syllable and pyvi word, as candidates.

    The term lists span every document, internal ones included, so they only propose forms:
    which of them a reader is offered is decided per query from the documents that reader
    may see (:func:`correct`). Forms are listed per segment, and a segment never changes, so
    a new generation reads only its new segments' terms (``cache``, kept across them).
    """

    def __init__(self, parts: list[tuple[dict, dict]]):
        self._parts = parts          # per segment: ({folded: [syllables]}, {folded: [words]})
        self.corrections = Corrections()   # this generation's answers of :func:`correct`
        # Whole search results of this generation (the engine's, keyed by the whole request):
        # kept here because the lexicon is what a generation drops when it is retired.
        self.results = LRU(RESULTS_CACHED, weight=_result_weight)

    def forget(self) -> None:
        """Drop the cached answers (the generation is no longer served)."""
        self.corrections.clear()
        self.results.clear()

    @classmethod
    def from_reader(cls, reader, cache: dict | None = None) -> "Lexicon":
        cache = {} if cache is None else cache
        parts, current = [], set()
        for key, segment in reader.segments():
            current.add(key)
            if key not in cache:
                cache[key] = segment_words(segment)
            parts.append(cache[key])
        for gone in set(cache) - current:      # segments merged away
            del cache[gone]
        return cls(parts)

    def forms(self, folded: str, words: bool = False) -> list[str]:
        """Forms of ``folded`` (``phuc`` or ``phuc_loi``) in any segment, in term order."""
        found = [f for part in self._parts for f in part[1 if words else 0].get(folded, ())]
        return list(dict.fromkeys(found)) if len(self._parts) > 1 else found

    def restore(self, text: str, choose=None) -> str | None:
        """``phuc loi`` → ``phúc lợi``; None when nothing would change.

        Syllables typed with diacritics are kept as typed. Words (2–3 syllables) are tried
        first, since their context picks the right tones.
        ``choose(forms, folded, i, size)`` picks one of the candidate forms (or None) for the
        folded syllables ``folded[i:i + size]`` in their context: the term list spans every
        document, so the caller decides what the reader may see and which form fits.
        """
        choose = choose or (lambda forms, folded, i, size: forms[0])
        tokens = SYLLABLE_RE.findall(text)
        if not tokens:
            return None
        folded = [fold(t).lower() for t in tokens]
        accented = [fold(t) != t for t in tokens]
        out, i = [], 0
        while i < len(tokens):
            for size in (3, 2, 1):
                if i + size > len(tokens) or (size > 1 and any(accented[i:i + size])):
                    continue      # typed with diacritics: that syllable is kept as typed
                if accented[i]:
                    out.append(tokens[i])
                    i += 1
                    break
                key = "_".join(folded[i:i + size])
                forms = self.forms(key, words=size > 1)
                form = choose(forms, folded, i, size) if forms else None
                if form:
                    out += [_like(t, f) for t, f in zip(tokens[i:i + size], form.split("_"))]
                    i += size
                    break
            else:
                out.append(tokens[i])
                i += 1
        restored = " ".join(out)
        return restored if restored.lower() != " ".join(tokens).lower() else None


class Corrections(LRU):
    """Answers of :func:`correct` for one generation, least recently used out first.

    Keys are ``(scope, text)``: ``scope`` is ``"public"`` or ``"staff"``, since the answer
    depends on the documents the reader may see, and a visitor must never be given an answer
    worked out from internal documents. The engine also keeps here whether a correction is
    :func:`offered`, keyed ``("offered", request)``. Shared by every thread reading the
    generation.
    """

    def __init__(self, limit: int = CORRECTIONS_CACHED):
        super().__init__(limit)


def _result_weight(result) -> int:
    """What a cached search result counts against :data:`RESULTS_CACHED`: its hits, and one."""
    return 1 + len(result.hits)


def correct(col, lexicon: Lexicon, parsed, scope) -> str | None:
    """The corrected query, or None. ``col`` is the ranking collection (postings, document
    frequencies); only the documents of ``scope`` (what the reader may see) are consulted,
    so the answer is the same as if no other document existed.

    ``lexicon`` is the one of ``col``'s generation: it keeps the answers given (per scope and
    query text), so a repeated query is answered without reading the index again."""
    key = _cache_key(col, parsed, scope)
    if key is not None:
        found, answer = lexicon.corrections.get(key)
        if found:
            return answer
    answer = _correct(col, lexicon, parsed, scope)
    if key is not None:
        lexicon.corrections.put(key, answer)
    return answer


def _cache_key(col, parsed, scope) -> tuple[str, str] | None:
    """``("public" or "staff", text)``; None for a scope of another kind (never cached).

    The answer depends on the text alone (its syllables, case and spacing as normalized by
    the query parser) and on the documents of the scope."""
    for public_only, name in ((True, "public"), (False, "staff")):
        if scope is col.scope(public_only=public_only):
            return name, parsed.text
    return None


def _correct(col, lexicon: Lexicon, parsed, scope) -> str | None:
    return correction(CollectionView(col, lexicon, scope), parsed)


class Visible(Protocol):
    """What a correction asks of the documents one reader may see, whatever holds them.

    :func:`correction` decides with these answers alone, so the rule is written once: the
    embedded engine answers over its collection (:class:`CollectionView`), the cluster over
    SphinxQL. One object answers one correction, so it may keep what it read meanwhile.
    """

    size: int     # documents the reader may see

    def frequencies(self, fields, terms) -> list[int]:
        """Per term, the visible documents holding it in each of ``fields``, added up."""

    def prefetch(self, questions) -> None:
        """``(fields, term)`` pairs :meth:`frequencies` will be asked soon (a hint: a backend
        with round trips asks them all at once)."""

    def near(self, folded: str) -> list[str]:
        """Folded body syllables any document holds within one edit of ``folded`` that start
        with its letter, in term order (Whoosh's ``terms_within(..., 1, prefix=1)``)."""

    def lexicon(self, text: str) -> Lexicon:
        """A lexicon holding at least the forms of every syllable and run of 2–3 syllables
        of ``text`` (in the order the embedded lexicon lists them)."""

    def samples(self, window: list[str]) -> list[str]:
        """The stored texts (title, newline, body) of at most :data:`SPELLING_SAMPLE` visible
        documents holding every folded pair of ``window``, in document order."""


def correction(visible: Visible, parsed) -> str | None:
    """The corrected query, or None: the rule both backends follow, over what ``visible``
    (the documents the reader may see) answers."""
    text, fixed = _fix_typos(visible, parsed.text)
    if not fixed and any(e != f for e, f in parsed.terms):
        return None       # typed with diacritics, and every syllable is known

    min_df = min_doc_frequency(visible.size)

    def choose(forms, folded, i, size):
        """How visible documents spell these syllables between the same neighbours (both,
        else either side, else alone for a word); without such a document, the form of a
        lone syllable that the most visible documents hold."""
        fields = WORD_FIELDS if size > 1 else SYLLABLE_FIELDS
        counts = dict(zip(forms, visible.frequencies(fields, forms)))
        forms = sorted((f for f in forms if counts[f] >= min_df), key=lambda f: -counts[f])
        if not forms:
            return None         # known only from documents this reader may not see
        left, right = max(i - 1, 0), min(i + size + 1, len(folded))
        for start, stop in dict.fromkeys([(left, right), (left, i + size), (i, right),
                                          (i, i + size)]):
            if stop - start < 2:
                continue
            window = folded[start:stop]
            tally = _spellings(visible.samples(window), window, i - start, size)
            if tally:
                return max(tally, key=tally.get)
        return None if size > 1 else forms[0]

    restored = visible.lexicon(text).restore(text, choose) or (text if fixed else None)
    if restored and restored.lower() != parsed.text.lower():
        return restored
    return None


def _fix_typos(visible: Visible, text: str) -> tuple[str, bool]:
    """``text`` with unknown syllables replaced (folded, for :meth:`Lexicon.restore`):
    a folded syllable no visible document holds becomes the most frequent one within one
    edit; one typed with diacritics that no visible document writes that way loses them."""
    words, fixed = SYLLABLE_RE.findall(text), False
    visible.prefetch([(FOLDED_FIELDS, fold_token(w.lower())) for w in words]
                     + [(SYLLABLE_FIELDS, w.lower()) for w in words])
    for i, word in enumerate(words):
        lower, folded = word.lower(), fold_token(word.lower())
        if len(folded) < 3 or not folded.isalpha():
            continue
        if not _frequency(visible, FOLDED_FIELDS, folded):
            terms = visible.near(folded)
            counts = dict(zip(terms, visible.frequencies(("body_f",), terms)))
            near = sorted((t for t, n in counts.items() if n), key=lambda t: -counts[t])
            if near:
                words[i], fixed = near[0], True
        elif lower != folded and not _frequency(visible, SYLLABLE_FIELDS, lower):
            words[i], fixed = folded, True
    return " ".join(words), fixed


def _frequency(visible: Visible, fields, term: str) -> int:
    """Visible documents holding ``term`` in each of ``fields``, added up."""
    return visible.frequencies(fields, [term])[0]


def _spellings(texts, window: list[str], offset: int, size: int) -> dict:
    """How ``texts`` spell ``window[offset:offset + size]`` where its folded neighbours are
    ``window``: ``{"phạt_tù": 12, ...}`` (the index keeps pairs folded only, so the stored
    text decides)."""
    tally: dict[str, int] = {}
    for text in texts:
        folded = fold_text(text[:SPELLING_TEXT_CHARS])
        for start, stop in _window_matches(folded, window, SPELLING_TEXT_CHARS):
            parts = SYLLABLE_RE.findall(text[start:stop].lower())
            form = "_".join(parts[offset:offset + size])
            tally[form] = tally.get(form, 0) + 1
    return tally


_SEPARATOR = re.compile(r"[\W_]+")


def _window_matches(text: str, window: list[str], end: int):
    """Spans of ``window``'s syllables written in a row (separated by anything but letters
    and digits) in ``text[:end]`` (folded: any diacritics and case in the text it was folded
    from, see ``highlight.fold_text``), each a whole word: what one pattern
    of them all (syllables joined by separators) finds, but from the patterns of the syllables,
    each compiled once per process, instead of compiling one for every window asked."""
    first, rest = term_pattern(window[0]), [term_pattern(w) for w in window[1:]]
    after = 0
    for start, stop in word_matches(first, text, end):
        if start < after:
            continue
        for pattern in rest:
            gap = _SEPARATOR.match(text, stop, end)
            found = gap and pattern.match(text, gap.end(), end)
            if not found:
                break
            stop = found.end()
        else:
            yield start, stop
            after = stop


class CollectionView:
    """:class:`Visible` over the embedded collection: ``col`` (postings, document
    frequencies, stored texts), its generation's ``lexicon``, and ``scope``, what the reader
    may see."""

    def __init__(self, col, lexicon: Lexicon, scope):
        self.col, self._lexicon, self.scope = col, lexicon, scope
        self.size = scope.size
        self._texts: dict[int, str] = {}      # documents read once per correction

    def frequencies(self, fields, terms) -> list[int]:
        return [sum(self.col.doc_frequency(f, t, self.scope) for f in fields) for t in terms]

    def prefetch(self, questions) -> None:
        pass            # in memory: nothing to gain from asking ahead

    def near(self, folded: str) -> list[str]:
        return list(self.col.reader.terms_within("body_f", folded, 1, prefix=1))

    def lexicon(self, text: str) -> Lexicon:
        return self._lexicon

    def samples(self, window: list[str]) -> list[str]:
        col, docs = self.col, self.scope.mask.copy()
        for a, b in zip(window, window[1:]):
            pair_docs = np.zeros(col.size, dtype=bool)
            for fieldname in ("body_bi", "title_bi"):
                pair_docs[col.postings(fieldname, a + "_" + b)[0]] = True
            docs &= pair_docs
        out = []
        for docnum in np.flatnonzero(docs)[:SPELLING_SAMPLE]:
            if docnum not in self._texts:
                fields = col.stored(docnum)
                self._texts[docnum] = fields.get("title", "") + "\n" + fields.get("body", "")
            out.append(self._texts[docnum])
        return out


def segment_words(segment) -> tuple[dict, dict]:
    """One segment's part of a :class:`Lexicon`: ``({folded: [syllables]}, {folded:
    [words]})``."""
    return _forms(segment, SYLLABLE_FIELDS), _forms(segment, WORD_FIELDS)


def _forms(segment, fields) -> dict[str, list[str]]:
    """``{folded: [forms]}`` of the alphabetic terms of ``fields`` of one segment."""
    forms: dict[str, dict[str, None]] = {}
    for fieldname in fields:
        for term in segment.terms(fieldname):
            if term.replace("_", "").isalpha():
                forms.setdefault(fold(term), {})[term] = None
    return {key: list(found) for key, found in forms.items()}


def _like(typed: str, form: str) -> str:
    """``form`` with the capitalisation the user typed."""
    if typed.isupper() and len(typed) > 1:
        return form.upper()
    if typed[:1].isupper():
        return form[:1].upper() + form[1:]
    return form


def offered_key(req) -> str:
    """What :func:`offered`'s answer to a request is kept under: it depends on the whole
    request (a :class:`~search_service.search.engine.SearchRequest`) but its page."""
    return repr(dataclasses.replace(req, page=1, facets=False, snippets=False))


def offered(suggestion: str | None, first_page, page_of) -> str | None:
    """The rule of when "did you mean" is shown, for every backend: only when the corrected
    query finds something and its first page differs from this query's (a query typed
    without diacritics usually finds the same documents already). ``page_of(parsed)`` gives
    the corrected query's first page (document numbers), or None when nothing matches; a
    first pass is enough to tell, so it is parsed without pyvi words."""
    if suggestion is None:
        return None
    page = page_of(parse_query(suggestion, words=False))
    if page is None or not len(page) or set(page) == set(first_page):
        return None
    return suggestion
