"""Vietnamese text, pure Python: normalization, folding, syllables, document numbers, pyvi
segmentation and the layers the index is made of. Imports nothing of the project above it."""

from search_service.text.fold import fold, fold_token
from search_service.text.layers import index_layers, layers, word_tokens
from search_service.text.normalize import normalize_text, normalize_tones
from search_service.text.segment import is_word, segment
from search_service.text.syllables import SYLLABLE_RE, syllables, syllables_of

__all__ = ["SYLLABLE_RE", "fold", "fold_token", "index_layers", "is_word", "layers",
           "normalize_text", "normalize_tones", "segment", "syllables", "syllables_of",
           "word_tokens"]
