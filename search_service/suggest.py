"""Restoring diacritics to a query typed without them, from the words the index holds."""

from __future__ import annotations

import re

from search_service.analysis import fold

# A form seen in one document only may be a typo in it; a small collection has to trust it.
MIN_DOC_FREQUENCY = 2
SMALL_COLLECTION = 2000


FORMS_KEPT = 3          # accented forms remembered per folded key, most frequent first


class Lexicon:
    """The most frequent accented forms of each folded syllable and pyvi word."""

    def __init__(self, syllables: dict[str, list[str]], words: dict[str, list[str]]):
        self.syllables = syllables
        self.words = words

    @classmethod
    def from_searcher(cls, searcher) -> "Lexicon":
        reader = searcher.reader()
        min_df = 1 if reader.doc_count() < SMALL_COLLECTION else MIN_DOC_FREQUENCY
        return cls(_best_forms(reader, ("body", "title"), min_df),
                   _best_forms(reader, ("body_w", "title_w"), min_df))

    def restore(self, text: str, choose=None) -> str | None:
        """``phuc loi`` → ``phúc lợi``; None when nothing would change.

        Syllables typed with diacritics are kept as typed. Words (2–3 syllables) are tried
        first, since their context picks the right tones.
        ``choose(forms, is_word, pairs)`` picks one of the candidate forms (or None), given the
        folded syllable pairs around a lone syllable: the term list spans every document, so
        the caller decides what the reader may see and which form fits the context.
        """
        choose = choose or (lambda forms, is_word, pairs: forms[0] if forms else None)
        tokens = re.findall(r"[^\W_]+", text)
        if not tokens:
            return None
        folded = [fold(t).lower() for t in tokens]
        out, i = [], 0
        while i < len(tokens):
            for size in (3, 2, 1):
                if i + size > len(tokens):
                    continue
                if size > 1 and any(fold(t) != t for t in tokens[i:i + size]):
                    continue      # typed with diacritics: a lone syllable keeps them
                key = "_".join(folded[i:i + size])
                if size == 1 and fold(tokens[i]) != tokens[i]:
                    out.append(tokens[i])
                    i += 1
                    break
                forms = (self.words if size > 1 else self.syllables).get(key, [])
                pairs = [] if size > 1 else _pairs_around(folded, i)
                form = choose(forms, size > 1, pairs) if forms else None
                if form:
                    out += [_like(t, f) for t, f in zip(tokens[i:i + size], form.split("_"))]
                    i += size
                    break
            else:
                out.append(tokens[i])
                i += 1
        restored = " ".join(out)
        return restored if restored.lower() != " ".join(tokens).lower() else None


def _pairs_around(folded: list[str], i: int) -> list[str]:
    """The folded syllable pairs a syllable forms with its neighbours (``ho_ngheo``)."""
    pairs = []
    if i > 0:
        pairs.append(folded[i - 1] + "_" + folded[i])
    if i + 1 < len(folded):
        pairs.append(folded[i] + "_" + folded[i + 1])
    return pairs


def _best_forms(reader, fields, min_df: int) -> dict[str, list[str]]:
    forms: dict[str, dict[str, int]] = {}
    for fieldname in fields:
        if fieldname not in reader.schema:
            continue
        for raw, info in reader.iter_field(fieldname):
            df = info.doc_frequency()
            term = raw.decode("utf-8") if isinstance(raw, bytes) else raw
            if df < min_df or not term.replace("_", "").isalpha():
                continue
            counts = forms.setdefault(fold(term), {})
            counts[term] = counts.get(term, 0) + df
    return {key: sorted(counts, key=lambda t: -counts[t])[:FORMS_KEPT]
            for key, counts in forms.items()}


def _like(typed: str, form: str) -> str:
    """``form`` with the capitalisation the user typed."""
    if typed.isupper() and len(typed) > 1:
        return form.upper()
    if typed[:1].isupper():
        return form[:1].upper() + form[1:]
    return form
