"""The index: Whoosh lives here and only here.

The schema and its analyzers, the fast segment writers and their worker pool, opening one
generation of the index, reading postings, lengths and columns as arrays, phrase and exclusion
masks, term lists and prefixes. Every use of whoosh3 internals sits in this package.
"""

import sys

from search_service.index import analyzers

# Indexes written before this package existed pickled their analyzers under this name.
sys.modules.setdefault("search_service.analysis", analyzers)
