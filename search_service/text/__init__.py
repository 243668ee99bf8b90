"""Vietnamese text, pure Python: normalization (``normalize``), folding (``fold``), syllables,
document numbers (``numbers``), pyvi segmentation (``segment``), stop words, and the layers the
index is made of (``layers``). Imports nothing of the project above it.

Import from the module that holds a name (``from search_service.text.fold import fold``): the
package re-exports nothing, so ``search_service.text.fold`` is always the module."""
