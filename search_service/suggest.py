"""Restoring diacritics to a query typed without them, from the words the index holds."""

from __future__ import annotations

import re

from search_service.analysis import fold

MIN_DOC_FREQUENCY = 2   # a form seen once may be a typo in a document


FORMS_KEPT = 3          # accented forms remembered per folded key, most frequent first


class Lexicon:
    """The most frequent accented forms of each folded syllable and pyvi word."""

    def __init__(self, syllables: dict[str, list[str]], words: dict[str, list[str]]):
        self.syllables = syllables
        self.words = words

    @classmethod
    def from_searcher(cls, searcher) -> "Lexicon":
        reader = searcher.reader()
        return cls(_best_forms(reader, ("body", "title")), _best_forms(reader, ("body_w", "title_w")))

    def restore(self, text: str, visible=lambda form, is_word: True) -> str | None:
        """``phuc loi`` → ``phúc lợi``; None when nothing would change.

        Words (2–3 syllables) are tried first, since their context picks the right tones.
        ``visible(form, is_word)`` says whether the reader may see a form: the term list
        spans every document, internal ones included.
        """
        tokens = re.findall(r"[^\W_]+", text)
        if not tokens:
            return None
        out, i = [], 0
        while i < len(tokens):
            for size in (3, 2, 1):
                chunk = tokens[i:i + size]
                if len(chunk) < size:
                    continue
                key = "_".join(fold(t).lower() for t in chunk)
                forms = (self.words if size > 1 else self.syllables).get(key, ())
                form = next((f for f in forms if visible(f, size > 1)), None)
                if form:
                    out += [_like(t, f) for t, f in zip(chunk, form.split("_"))]
                    i += size
                    break
            else:
                out.append(tokens[i])
                i += 1
        restored = " ".join(out)
        return restored if restored.lower() != " ".join(tokens).lower() else None


def _best_forms(reader, fields) -> dict[str, list[str]]:
    forms: dict[str, dict[str, int]] = {}
    for fieldname in fields:
        if fieldname not in reader.schema:
            continue
        for raw, info in reader.iter_field(fieldname):
            df = info.doc_frequency()
            term = raw.decode("utf-8") if isinstance(raw, bytes) else raw
            if df < MIN_DOC_FREQUENCY or not term.replace("_", "").isalpha():
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
