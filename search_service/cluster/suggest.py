"""'Did you mean' on a cluster: the rule of :func:`search_service.search.suggest.correction`,
asked of the cluster: its lexicon (the term forms the writer keeps, see
:func:`schema.lexicon_block`) and cluster-wide document frequencies of what the reader may see,
in SphinxQL. Only the questions live here; how their answers are weighed lives there.
"""

from __future__ import annotations

import string

from search_service.cluster import schema
from search_service.cluster.sphinxql import quote_match
from search_service.search.suggest import SPELLING_SAMPLE, Lexicon, correction
from search_service.text.fold import fold
from search_service.text.syllables import SYLLABLE_RE

LEXICON_ROWS = 10_000      # forms read per question (a folded syllable has a few dozen at most)
_EDIT_LETTERS = string.ascii_lowercase + string.digits


def correct(engine, parsed, public_only: bool) -> str | None:
    """The corrected query, or None (as :func:`search.suggest.correct`): only the documents
    the reader may see (``public_only``) are consulted."""
    return correction(_Questions(engine, public_only), parsed)


class _Asked(Exception):
    """The first questions of a correction (see :func:`first_questions`)."""

    def __init__(self, keywords: list[str]):
        super().__init__()
        self.keywords = keywords


class _FirstQuestions:
    """A :class:`search.suggest.Visible` that stops the rule at its first question."""
    size = 0

    def prefetch(self, questions) -> None:
        raise _Asked(_keywords(questions))

    def frequencies(self, fields, terms):
        raise _Asked([])

    near = lexicon = samples = frequencies


def first_questions(parsed) -> list[str]:
    """The MATCH keywords whose counts a correction of ``parsed`` asks first (every syllable
    typed, folded and as typed): the rule is run until it asks, so a search can send them
    with its own statements instead of the rule's own round trip."""
    try:
        correction(_FirstQuestions(), parsed)
    except _Asked as asked:
        return asked.keywords
    return []


def _keywords(questions) -> list[str]:
    """The MATCH keywords of ``(fields, term)`` questions, each once."""
    return list(dict.fromkeys(schema.keyword(f, t) for fields, t in questions for f in fields))


class _Questions:
    """What one correction asks the cluster (:class:`search.suggest.Visible`), a round trip
    per batch of questions."""

    def __init__(self, engine, public_only: bool):
        self.engine, self.public_only = engine, public_only
        self._texts: dict[int, str] = {}        # documents read once per correction
        self.size = engine._scope(public_only).stats.size
        self.lexicon_index = engine.index + schema.LEXICON_SUFFIX

    def frequencies(self, fields, terms) -> list[int]:
        """Per term, the visible documents holding it in each of ``fields``, added up."""
        terms = list(terms)
        keywords = [schema.keyword(f, t) for t in terms for f in fields]
        counts = self.engine._doc_frequencies(keywords, self.public_only) if keywords else []
        return [sum(counts[i * len(fields):(i + 1) * len(fields)]) for i in range(len(terms))]

    def prefetch(self, questions) -> None:
        """Ask for the frequencies of ``(fields, term)`` pairs in one round trip (kept)."""
        keywords = _keywords(questions)
        if keywords:
            self.engine._doc_frequencies(keywords, self.public_only)

    def _forms(self, keys: list[str], kinds: tuple[int, ...]) -> list[tuple[int, str]]:
        if not keys:
            return []
        match = " | ".join(dict.fromkeys(keys))
        return [(int(kind), form) for kind, form in self.engine.select_kept("lexicon", (
            f"SELECT kind, form FROM {self.lexicon_index} WHERE MATCH({quote_match(match)}) "
            f"AND kind IN ({', '.join(map(str, kinds))}) LIMIT {LEXICON_ROWS} "
            f"OPTION max_matches={LEXICON_ROWS}"))]

    def near(self, folded: str) -> list[str]:
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

    def samples(self, window: list[str]) -> list[str]:
        """The stored texts of the first visible documents (by id) holding every folded pair
        of ``window``."""
        from search_service.cluster.writer import stored_fields

        pairs = [a + "_" + b for a, b in zip(window, window[1:])]
        match = " ".join(f"({schema.keyword('body_bi', p)} | {schema.keyword('title_bi', p)})"
                         for p in pairs)
        where = " AND public = 1" if self.public_only else ""
        out = []
        for number, stored in self.engine.select_kept("samples", (
                f"SELECT id, stored FROM {self.engine.index} WHERE MATCH({quote_match(match)})"
                f"{where} ORDER BY id ASC LIMIT {SPELLING_SAMPLE} "
                f"OPTION max_matches={SPELLING_SAMPLE}, ranker=none")):
            if number not in self._texts:
                fields = stored_fields(stored)
                self._texts[number] = fields.get("title", "") + "\n" + fields.get("body", "")
            out.append(self._texts[number])
        return out
