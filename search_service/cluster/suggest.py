"""'Did you mean' on a cluster: the correction of :mod:`search_service.search.suggest`, step
for step, with the cluster's lexicon (the term forms the writer keeps, see
:func:`schema.lexicon_block`) and cluster-wide document frequencies of what the reader may see.

search.suggest works on a Whoosh collection (term lists, postings as arrays); this module asks
the same questions in SphinxQL. Keep the two in step: a change of the rules there belongs here.
"""

from __future__ import annotations

import re
import string

from search_service.cluster import schema
from search_service.cluster.sphinxql import quote_match
from search_service.search.highlight import any_accents
from search_service.search.suggest import (SPELLING_SAMPLE, SPELLING_TEXT_CHARS,
                                           SYLLABLE_FIELDS, WORD_FIELDS, Lexicon,
                                           min_doc_frequency)
from search_service.text import SYLLABLE_RE, fold, fold_token

LEXICON_ROWS = 10_000      # forms read per question (a folded syllable has a few dozen at most)
_EDIT_LETTERS = string.ascii_lowercase + string.digits


def correct(engine, parsed, public_only: bool) -> str | None:
    """The corrected query, or None (as :func:`search.suggest.correct`): only the documents
    the reader may see (``public_only``) are consulted."""
    asked = _Questions(engine, public_only)
    text, fixed = _fix_typos(asked, parsed.text)
    if not fixed and any(e != f for e, f in parsed.terms):
        return None       # typed with diacritics, and every syllable is known

    texts: dict[int, str] = {}        # documents read once per query
    min_df = min_doc_frequency(asked.size)

    def choose(forms, folded, i, size):
        fields = WORD_FIELDS if size > 1 else SYLLABLE_FIELDS
        counts = dict(zip(forms, asked.frequencies(fields, forms)))
        forms = sorted((f for f in forms if counts[f] >= min_df), key=lambda f: -counts[f])
        if not forms:
            return None         # known only from documents this reader may not see
        left, right = max(i - 1, 0), min(i + size + 1, len(folded))
        for start, stop in dict.fromkeys([(left, right), (left, i + size), (i, right),
                                          (i, i + size)]):
            if stop - start < 2:
                continue
            tally = asked.spellings(texts, folded[start:stop], i - start, size)
            if tally:
                return max(tally, key=tally.get)
        return None if size > 1 else forms[0]

    restored = asked.lexicon(text).restore(text, choose) or (text if fixed else None)
    if restored and restored.lower() != parsed.text.lower():
        return restored
    return None


def _fix_typos(asked: "_Questions", text: str) -> tuple[str, bool]:
    """As search.suggest's: an unknown folded syllable becomes the most frequent one within one
    edit; one typed with diacritics that no visible document writes that way loses them."""
    words, fixed = SYLLABLE_RE.findall(text), False
    asked.prefetch([(("body_f", "title_f"), fold_token(w.lower())) for w in words]
                   + [(SYLLABLE_FIELDS, w.lower()) for w in words])     # one round trip
    for i, word in enumerate(words):
        lower, folded = word.lower(), fold_token(word.lower())
        if len(folded) < 3 or not folded.isalpha():
            continue
        if not asked.frequency(("body_f", "title_f"), folded):
            near_terms = asked.terms_within(folded)
            counts = dict(zip(near_terms, asked.frequencies(("body_f",), near_terms)))
            near = sorted((t for t, n in counts.items() if n), key=lambda t: -counts[t])
            if near:
                words[i], fixed = near[0], True
        elif lower != folded and not asked.frequency(SYLLABLE_FIELDS, lower):
            words[i], fixed = folded, True
    return " ".join(words), fixed


class _Questions:
    """What one correction asks the cluster, a round trip per batch of questions."""

    def __init__(self, engine, public_only: bool):
        self.engine, self.public_only = engine, public_only
        self.size = engine._scope(public_only).stats.size
        self.lexicon_index = engine.index + schema.LEXICON_SUFFIX

    def frequencies(self, fields, terms) -> list[int]:
        """Per term, the visible documents holding it in each of ``fields``, added up."""
        terms = list(terms)
        keywords = [schema.keyword(f, t) for t in terms for f in fields]
        counts = self.engine._doc_frequencies(keywords, self.public_only) if keywords else []
        return [sum(counts[i * len(fields):(i + 1) * len(fields)]) for i in range(len(terms))]

    def prefetch(self, questions) -> None:
        """Ask for the frequencies of ``(fields, term)`` pairs in one round trip (cached)."""
        keywords = [schema.keyword(f, t) for fields, t in questions for f in fields]
        if keywords:
            self.engine._doc_frequencies(list(dict.fromkeys(keywords)), self.public_only)

    def frequency(self, fields, term: str) -> int:
        return self.frequencies(fields, [term])[0]

    def _forms(self, keys: list[str], kinds: tuple[int, ...]) -> list[tuple[int, str]]:
        if not keys:
            return []
        match = " | ".join(dict.fromkeys(keys))
        return [(int(kind), form) for kind, form in self.engine._select(
            f"SELECT kind, form FROM {self.lexicon_index} WHERE MATCH({quote_match(match)}) "
            f"AND kind IN ({', '.join(map(str, kinds))}) LIMIT {LEXICON_ROWS} "
            f"OPTION max_matches={LEXICON_ROWS}")]

    def terms_within(self, folded: str) -> list[str]:
        """Folded body syllables within one edit of ``folded`` that start with its letter
        (Whoosh's ``terms_within(..., 1, prefix=1)``), in term order."""
        head, tail = folded[:1], folded[1:]
        near = {folded}
        for i in range(len(tail) + 1):
            for c in _EDIT_LETTERS:
                near.add(head + tail[:i] + c + tail[i:])                 # one letter more
                if i < len(tail):
                    near.add(head + tail[:i] + c + tail[i + 1:])         # one letter other
            if i < len(tail):
                near.add(head + tail[:i] + tail[i + 1:])                 # one letter less
        keys = [schema.lexicon_key(schema.FOLDED, t) for t in sorted(near)]
        found = {form for _, form in self._forms(keys, (schema.FOLDED,))}
        return sorted(t for t in found if t in near)

    def lexicon(self, text: str) -> Lexicon:
        """The forms of every syllable and every run of 2–3 syllables of ``text``, as the
        embedded lexicon lists them (body terms first, then title terms, each in term order)."""
        folded = [fold(t).lower() for t in SYLLABLE_RE.findall(text)]
        keys = []
        for size in (1, 2, 3):
            for i in range(len(folded) - size + 1):
                kind = schema.SYLLABLE if size == 1 else schema.WORD
                keys.append(schema.lexicon_key(kind, "_".join(folded[i:i + size])))
        kinds = (schema.SYLLABLE, schema.WORD, schema.SYLLABLE + schema.IN_TITLE,
                 schema.WORD + schema.IN_TITLE)
        found = sorted(set(self._forms(keys, kinds)), key=lambda kf: (kf[0] >= schema.IN_TITLE,
                                                                       kf[1]))
        syllables: dict[str, dict[str, None]] = {}
        words: dict[str, dict[str, None]] = {}
        for kind, form in found:
            into = words if kind % schema.IN_TITLE == schema.WORD else syllables
            into.setdefault(fold(form), {})[form] = None
        return Lexicon([({k: list(v) for k, v in syllables.items()},
                         {k: list(v) for k, v in words.items()})])

    def spellings(self, texts: dict, window: list[str], offset: int, size: int) -> dict:
        """How visible documents holding every folded pair of ``window`` spell
        ``window[offset:offset + size]`` (a sample of them, as search.suggest reads)."""
        from search_service.cluster.writer import stored_fields

        pairs = [a + "_" + b for a, b in zip(window, window[1:])]
        match = " ".join(f"({schema.keyword('body_bi', p)} | {schema.keyword('title_bi', p)})"
                         for p in pairs)
        where = " AND public = 1" if self.public_only else ""
        numbers = []
        for number, stored in self.engine._select(
                f"SELECT id, stored FROM {self.engine.index} WHERE MATCH({quote_match(match)})"
                f"{where} ORDER BY id ASC LIMIT {SPELLING_SAMPLE} "
                f"OPTION max_matches={SPELLING_SAMPLE}"):
            numbers.append(number)
            if number not in texts:
                fields = stored_fields(stored)
                texts[number] = fields.get("title", "") + "\n" + fields.get("body", "")
        tally: dict[str, int] = {}
        pattern = re.compile(r"(?<![^\W_])" + r"[\W_]+".join(map(any_accents, window))
                             + r"(?![^\W_])")
        for number in numbers:
            for found in pattern.finditer(texts.get(number, ""), 0, SPELLING_TEXT_CHARS):
                parts = SYLLABLE_RE.findall(found.group().lower())
                form = "_".join(parts[offset:offset + size])
                tally[form] = tally.get(form, 0) + 1
        return tally
