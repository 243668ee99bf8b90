"""pyvi's word segmentation, computed faster with the same model and the same output.

pyvi builds a dict of features per syllable and lets sklearn-crfsuite convert them; most of
its time goes there. Here each syllable's features are strings built once per distinct
syllable and fed to the same CRF tagger. Features pyvi sends with the value False (weight 0)
add nothing to a CRF score, so they are left out; everything else is sent as pyvi sends it,
so the labels are the same (a test compares both on real text).
"""

from __future__ import annotations

import string
from functools import lru_cache

_PUNCTUATION = frozenset(string.punctuation)


class Segmenter:
    """``segment(text)`` equals ``pyvi.ViTokenizer.tokenize(text)``."""

    def __init__(self):
        from pyvi.ViTokenizer import ViTokenizer  # unpickles the CRF model: load only when needed

        self._pyvi = ViTokenizer
        self._tagger = ViTokenizer.model.tagger_
        self._bi_grams = ViTokenizer.bi_grams
        self._tri_grams = ViTokenizer.tri_grams

    def segment(self, text: str) -> str:
        _, syllables = self._pyvi.sylabelize(text)
        if not syllables:
            return text
        labels = self._tagger.tag(self._features(syllables))
        return _join(syllables, labels)

    def _features(self, sent: list[str]) -> list[list[str]]:
        lowered = [w.lower() for w in sent]
        own = [_own(w) for w in sent]
        last = len(sent) - 1
        # Whether the pair (triple) starting at each syllable is in pyvi's lists, looked up
        # once: a syllable's features ask about the pair before it and the pair after it.
        pair = [a + " " + b in self._bi_grams for a, b in zip(lowered, lowered[1:])]
        triple = [" ".join(t) in self._tri_grams
                  for t in zip(lowered, lowered[1:], lowered[2:])]
        items = []
        for i in range(len(sent)):
            feats = ["bias"] + own[i][0]
            if i > 0:
                feats += own[i - 1][1]
                if pair[i - 1]:
                    feats.append("-1:word.bi_gram()")
                if i > 1 and triple[i - 2]:
                    feats.append("-2:word.tri_gram()")
            if i < last:
                feats += own[i + 1][2]
                if pair[i]:
                    feats.append("+1:word.bi_gram()")
                if i < last - 1 and triple[i]:
                    feats.append("+2:word.tri_gram()")
            items.append(feats)
        return items


@lru_cache(maxsize=65536)
def _own(word: str) -> tuple[list[str], list[str], list[str]]:
    """A syllable's features as seen from itself, from the next syllable, from the previous."""
    lower = word.lower()
    flags = [("isupper()", word.isupper()), ("istitle()", word.istitle())]
    current = ["word.lower():" + lower] + [f"word.{n}" for n, v in flags if v]
    if word.isdigit():
        current.append("word.isdigit()")
    before = ["-1:word.lower():" + lower] + [f"-1:word.{n}" for n, v in reversed(flags) if v]
    after = ["+1:word.lower():" + lower] + [f"+1:word.{n}" for n, v in reversed(flags) if v]
    return current, before, after


def _join(sent: list[str], labels: list[str]) -> str:
    """pyvi's rule for joining syllables into words, as it writes it."""
    output = sent[0]
    for i in range(1, len(labels)):
        if (labels[i] == "I_W" and sent[i] not in _PUNCTUATION and sent[i - 1] not in _PUNCTUATION
                and not sent[i][0].isdigit() and not sent[i - 1][0].isdigit()
                and not (sent[i][0].istitle() and not sent[i - 1][0].istitle())):
            output += "_" + sent[i]
        else:
            output += " " + sent[i]
    return output


@lru_cache(maxsize=1)
def default_segmenter() -> Segmenter:
    return Segmenter()


@lru_cache(maxsize=8)
def segment(text: str) -> str:
    """pyvi's segmentation of ``text``; cached because several fields analyze one text."""
    return default_segmenter().segment(text) if text.strip() else ""


def is_word(token: str) -> bool:
    """The word rule: a word of the index is a segmented token of two or more alphabetic
    syllables (``hội_nghị``); single syllables belong to the syllable layers."""
    return "_" in token and all(part.isalpha() for part in token.split("_"))
