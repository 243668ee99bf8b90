"""The Whoosh analyzers of our text fields: thin adapters over :mod:`search_service.text.layers`.

Each field kind has one analyzer, :class:`LayerTokenizer` for its layer; the tokens are the
ones the fast segment writers index, because both come from the same functions.

Whoosh pickles a schema's analyzers into the index. Indexes written before the text package
existed name ``search_service.analysis.SyllableTokenizer`` and friends; that module name is
kept as an alias of this one (see :mod:`search_service.index`) and the old classes below
produce their tokens from the same layer functions, so those indexes still open and write.
"""

from __future__ import annotations

from whoosh.analysis import Filter, LowercaseFilter, Token, Tokenizer
from whoosh.analysis.analyzers import CompositeAnalyzer

from search_service.text.fold import fold_token
from search_service.text.layers import layers, pairs, word_tokens

LAYERS = ("exact", "folded", "bigram", "word")


class LayerTokenizer(Tokenizer):
    """The tokens of one layer (``exact``, ``folded``, ``bigram`` or ``word``)."""

    def __init__(self, layer: str):
        if layer not in LAYERS:
            raise ValueError(f"unknown layer {layer!r}")
        self.layer = layer

    def __eq__(self, other):
        return type(other) is type(self) and other.layer == self.layer

    def __hash__(self):
        return hash((type(self), self.layer))

    def __call__(self, value, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True, mode="",
                 **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        token.boost, token.stopped = 1.0, False
        if self.layer == "word":
            for text, position in word_tokens(value):
                token.text = text
                if positions:
                    token.pos = start_pos + position
                yield token
            return
        got = layers(value, "query" if mode == "query" else "")
        if self.layer == "bigram":
            texts, at = got.bigram, got.bigram_at
        else:
            texts = got.exact if self.layer == "exact" else got.folded
            at = range(len(texts))
        for text, i in zip(texts, at):
            token.text = text
            token.is_number_key = got.keys[i]
            if positions:
                token.pos = start_pos + got.positions[i]
            if chars:
                token.startchar = start_char + got.starts[i]
                token.endchar = start_char + got.ends[i]
            yield token


def exact_analyzer():
    """Syllables with their diacritics (one tone style), lowercased: exact matches rank higher.

    Syllables without diacritics are kept too: in a query typed with diacritics, ``trong``
    means ``trong`` and not ``trọng``, and 'did you mean' needs to know how often each is
    written."""
    return LayerTokenizer("exact")


def folded_analyzer():
    """Syllables without diacritics: the recall layer (``phuc loi`` finds ``Phúc Lợi``)."""
    return LayerTokenizer("folded")


def bigram_analyzer():
    """Folded syllable pairs: phrase-like precision that survives missing diacritics."""
    return LayerTokenizer("bigram")


def word_analyzer():
    """pyvi's multi-syllable words, with diacritics."""
    return LayerTokenizer("word")


def layer_of(analyzer) -> str | None:
    """Which layer a field's analyzer yields, for today's analyzers and the old pipelines
    (``SyllableTokenizer | LowercaseFilter | FoldFilter ...``); None for any other."""
    if isinstance(analyzer, LayerTokenizer):
        return analyzer.layer
    if isinstance(analyzer, VietnameseWordTokenizer):
        return "word"
    if isinstance(analyzer, CompositeAnalyzer):
        kinds = tuple(type(item) for item in analyzer.items)
        return _LEGACY.get(kinds)
    return None


# --- The analyzers of indexes written before the text package (kept so they open) ----------

class SyllableTokenizer(Tokenizer):
    """Old: the ``exact`` layer's tokens (already lowercase)."""

    def __call__(self, value, **kwargs):
        return LayerTokenizer("exact")(value, **kwargs)


class FoldFilter(Filter):
    """Old: folds each token."""

    def __call__(self, tokens):
        for t in tokens:
            t.text = fold_token(t.text)
            yield t


class SyllableBigramFilter(Filter):
    """Old: pairs of neighbouring syllables, by the one bigram rule."""

    def __call__(self, tokens):
        previous = None
        for t in tokens:
            if getattr(t, "is_number_key", False):
                continue
            if previous is not None:
                text = t.text
                t.text = pairs([previous, text])[0]
                yield t
                t.text = text
            previous = t.text


class VietnameseWordTokenizer(Tokenizer):
    """Old: the ``word`` layer."""

    def __call__(self, value, **kwargs):
        return LayerTokenizer("word")(value, **kwargs)


_LEGACY = {
    (SyllableTokenizer, LowercaseFilter): "exact",
    (SyllableTokenizer, LowercaseFilter, FoldFilter): "folded",
    (SyllableTokenizer, LowercaseFilter, FoldFilter, SyllableBigramFilter): "bigram",
}
