"""Restoring diacritics to a query typed without them, from the words the index holds."""

from __future__ import annotations

import re

from search_service.analysis import fold

MIN_DOC_FREQUENCY = 2   # a form seen once may be a typo in a document


class Lexicon:
    """The most frequent accented form of each folded syllable and pyvi word."""

    def __init__(self, syllables: dict[str, str], words: dict[str, str]):
        self.syllables = syllables
        self.words = words

    @classmethod
    def from_searcher(cls, searcher) -> "Lexicon":
        reader = searcher.reader()
        return cls(_best_forms(reader, ("body", "title")), _best_forms(reader, ("body_w", "title_w")))

    def restore(self, text: str) -> str | None:
        """``phuc loi`` → ``phúc lợi``; None when nothing would change.

        Words (2–3 syllables) are tried first, since their context picks the right tones.
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
                form = (self.words if size > 1 else self.syllables).get(key)
                if form:
                    out += [_like(t, f) for t, f in zip(chunk, form.split("_"))]
                    i += size
                    break
            else:
                out.append(tokens[i])
                i += 1
        restored = " ".join(out)
        return restored if restored.lower() != " ".join(tokens).lower() else None


def _best_forms(reader, fields) -> dict[str, str]:
    best: dict[str, tuple[int, str]] = {}
    for fieldname in fields:
        if fieldname not in reader.schema:
            continue
        for raw, info in reader.iter_field(fieldname):
            df = info.doc_frequency()
            term = raw.decode("utf-8") if isinstance(raw, bytes) else raw
            if df < MIN_DOC_FREQUENCY or not term.replace("_", "").isalpha():
                continue
            key = fold(term)
            if key not in best or best[key][0] < df:
                best[key] = (df, term)
    return {k: v for k, (_, v) in best.items()}


def _like(typed: str, form: str) -> str:
    """``form`` with the capitalisation the user typed."""
    if typed.isupper() and len(typed) > 1:
        return form.upper()
    if typed[:1].isupper():
        return form[:1].upper() + form[1:]
    return form
