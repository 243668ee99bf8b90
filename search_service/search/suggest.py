"""'Did you mean': a query as the collection writes it, from the words the index holds.

Diacritics are restored where they were left out, and a syllable no document holds is
replaced by a near one. Which tones a syllable takes depends on its neighbours (``phat tu``
is ``phạt tù`` after ``bị`` but ``phật tử`` after ``các``), and the index keeps syllable pairs
folded only, so a few documents holding the same folded neighbours are read to see how they
spell it.

Working that out reads postings and stored texts, and a search asks for it whenever a query has
words, so each snapshot keeps the answers it gave (:class:`Corrections`): per scope (what a
visitor may see, or staff) and query text, bounded, and gone with the snapshot's generation.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict

import numpy as np

from search_service.text import SYLLABLE_RE, fold, fold_token
from search_service.search.highlight import any_accents

# A form seen in one document only may be a typo in it; a small collection has to trust it.
MIN_DOC_FREQUENCY = 2
SMALL_COLLECTION = 2000


SPELLING_SAMPLE = 12    # documents read to see how a syllable is spelled in its context
SPELLING_TEXT_CHARS = 200_000   # of each one's text (bounded for huge documents)
SYLLABLE_FIELDS = ("body", "title")
WORD_FIELDS = ("body_w", "title_w")
CORRECTIONS_CACHED = 4096     # answers kept per generation (queries are at most a few KB)


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

    def forget(self) -> None:
        """Drop the cached answers (the generation is no longer served)."""
        self.corrections.clear()

    @classmethod
    def from_reader(cls, reader, cache: dict | None = None) -> "Lexicon":
        cache = {} if cache is None else cache
        parts, current = [], set()
        for key, segment in reader.segments():
            current.add(key)
            if key not in cache:
                cache[key] = (_forms(segment, SYLLABLE_FIELDS), _forms(segment, WORD_FIELDS))
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


class Corrections:
    """Answers of :func:`correct` for one generation, least recently used out first.

    Keys are ``(scope, text)``: ``scope`` is ``"public"`` or ``"staff"``, since the answer
    depends on the documents the reader may see, and a visitor must never be given an answer
    worked out from internal documents. Shared by every thread reading the generation.
    """

    def __init__(self, limit: int = CORRECTIONS_CACHED):
        self.limit = limit
        self.hits = self.misses = 0
        self._answers: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key) -> tuple[bool, str | None]:
        """``(True, answer)`` when ``key`` was answered before, else ``(False, None)``."""
        with self._lock:
            if key in self._answers:
                self._answers.move_to_end(key)
                self.hits += 1
                return True, self._answers[key]
            self.misses += 1
            return False, None

    def put(self, key, answer: str | None) -> None:
        with self._lock:
            self._answers[key] = answer
            self._answers.move_to_end(key)
            while len(self._answers) > self.limit:
                self._answers.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._answers.clear()

    def __len__(self) -> int:
        return len(self._answers)


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
    visible = scope.mask
    text, fixed = _fix_typos(col, scope, parsed.text)
    if not fixed and any(e != f for e, f in parsed.terms):
        return None       # typed with diacritics, and every syllable is known

    texts: dict[int, list] = {}       # documents read once per query
    min_df = min_doc_frequency(scope.size)

    def choose(forms, folded, i, size):
        """How visible documents spell these syllables between the same neighbours (both,
        else either side, else alone for a word); without such a document, the form of a
        lone syllable that the most visible documents hold."""
        fields = WORD_FIELDS if size > 1 else SYLLABLE_FIELDS
        counts = {f: _frequency(col, scope, fields, f) for f in forms}
        forms = sorted((f for f in forms if counts[f] >= min_df), key=lambda f: -counts[f])
        if not forms:
            return None         # known only from documents this reader may not see
        left, right = max(i - 1, 0), min(i + size + 1, len(folded))
        for start, stop in dict.fromkeys([(left, right), (left, i + size), (i, right),
                                          (i, i + size)]):
            if stop - start < 2:
                continue
            tally = _spellings(col, visible, texts, folded[start:stop], i - start, size)
            if tally:
                return max(tally, key=tally.get)
        return None if size > 1 else forms[0]

    restored = lexicon.restore(text, choose) or (text if fixed else None)
    if restored and restored.lower() != parsed.text.lower():
        return restored
    return None


def _fix_typos(col, scope, text: str) -> tuple[str, bool]:
    """``text`` with unknown syllables replaced (folded, for :meth:`Lexicon.restore`):
    a folded syllable no visible document holds becomes the most frequent one within one
    edit; one typed with diacritics that no visible document writes that way loses them."""
    words, fixed = SYLLABLE_RE.findall(text), False
    for i, word in enumerate(words):
        lower, folded = word.lower(), fold_token(word.lower())
        if len(folded) < 3 or not folded.isalpha():
            continue
        if not _frequency(col, scope, ("body_f", "title_f"), folded):
            counts = {t: col.doc_frequency("body_f", t, scope)
                      for t in col.reader.terms_within("body_f", folded, 1, prefix=1)}
            near = sorted((t for t, n in counts.items() if n), key=lambda t: -counts[t])
            if near:
                words[i], fixed = near[0], True
        elif lower != folded and not _frequency(col, scope, SYLLABLE_FIELDS, lower):
            words[i], fixed = folded, True
    return " ".join(words), fixed


def _frequency(col, scope, fields, term: str) -> int:
    """Documents of ``scope`` holding ``term`` in each of ``fields``, added up."""
    return sum(col.doc_frequency(f, term, scope) for f in fields)


def _spellings(col, visible: np.ndarray, texts: dict, window: list[str], offset: int,
               size: int) -> dict:
    """How documents spell ``window[offset:offset + size]`` where its folded neighbours are
    ``window``: ``{"phạt_tù": 12, ...}`` over a sample of the documents holding every folded
    pair of the window (the index keeps pairs folded only, so the stored text decides)."""
    docs = visible.copy()
    for a, b in zip(window, window[1:]):
        pair_docs = np.zeros(col.size, dtype=bool)
        for fieldname in ("body_bi", "title_bi"):
            pair_docs[col.postings(fieldname, a + "_" + b)[0]] = True
        docs &= pair_docs
    tally: dict[str, int] = {}
    pattern = re.compile(r"(?<![^\W_])" + r"[\W_]+".join(map(any_accents, window))
                         + r"(?![^\W_])")
    for docnum in np.flatnonzero(docs)[:SPELLING_SAMPLE]:
        if docnum not in texts:
            fields = col.reader.stored(docnum)
            texts[docnum] = fields.get("title", "") + "\n" + fields.get("body", "")
        for match in pattern.finditer(texts[docnum], 0, SPELLING_TEXT_CHARS):
            parts = SYLLABLE_RE.findall(match.group().lower())
            form = "_".join(parts[offset:offset + size])
            tally[form] = tally.get(form, 0) + 1
    return tally


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
