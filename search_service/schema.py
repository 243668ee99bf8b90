"""The Whoosh schema and opening/creating the on-disk index.

With ``search.py`` this is the only module that knows Whoosh, so the engine can be swapped.
"""

from __future__ import annotations

import logging
from pathlib import Path

from whoosh import index
from whoosh.filedb.filestore import FileStorage
from whoosh.fields import DATETIME, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema

from search_service.analysis import (bigram_analyzer, exact_analyzer, folded_analyzer,
                                     word_analyzer)

logger = logging.getLogger(__name__)

INDEX_NAME = "documents"

# Searchable text fields and the source field each one is built from. Title fields weigh more:
# a match in the title says more about a document than one in a long body.
TEXT_FIELDS = {
    "title": "title", "title_f": "title", "title_bi": "title", "title_w": "title",
    "body": "body", "body_f": "body", "body_bi": "body", "body_w": "body",
}


def build_schema() -> Schema:
    """Every field of a document as the index keeps it."""
    return Schema(
        id=ID(stored=True, unique=True, sortable=True),
        # Exact syllables (diacritics kept): stored, for display and highlighting. Phrases
        # are matched on the folded fields, so these need no positions.
        title=TEXT(analyzer=exact_analyzer(), stored=True, phrase=False, field_boost=2.0),
        body=TEXT(analyzer=exact_analyzer(), stored=True, phrase=False),
        # Folded syllables: recall without diacritics, phrases.
        title_f=TEXT(analyzer=folded_analyzer(), field_boost=2.0),
        body_f=TEXT(analyzer=folded_analyzer()),
        # Folded syllable pairs: word-level precision that survives missing diacritics.
        title_bi=TEXT(analyzer=bigram_analyzer(), phrase=False, field_boost=2.0),
        body_bi=TEXT(analyzer=bigram_analyzer(), phrase=False),
        # pyvi's multi-syllable words.
        title_w=TEXT(analyzer=word_analyzer(), phrase=False, field_boost=2.0),
        body_w=TEXT(analyzer=word_analyzer(), phrase=False),
        # Metadata: stored for display, sortable columns for facets and sorting.
        doc_number=STORED(),
        number_key=KEYWORD(lowercase=False, commas=True),
        category=ID(stored=True, sortable=True),
        doc_type=ID(stored=True, sortable=True),
        issuer=ID(stored=True, sortable=True),
        signer=STORED(),
        published=DATETIME(stored=True, sortable=True),
        year=NUMERIC(stored=False, sortable=True, signed=False, bits=32),
        views=NUMERIC(stored=True, sortable=True, bits=64),
        source=STORED(),
        url=STORED(),
        visibility=ID(stored=True, sortable=True),
        # Bookkeeping for incremental ingestion, kept in columns so a run reads them cheaply.
        path=ID(stored=True, sortable=True),
        content_hash=ID(sortable=True),
        file_hash=ID(sortable=True),
    )


def open_index(index_dir: str | Path, create: bool = True):
    """Open the index in ``index_dir``, creating the folder and an empty index if needed.

    Files are read, not memory-mapped: whoosh3 copies every file it opens from a mapped
    segment into a private buffer, which made a server's memory grow with the index size
    (350 MB for 5.5k documents); plain reads keep it near 150 MB at the same speed.
    """
    path = Path(index_dir)
    if index.exists_in(str(path), indexname=INDEX_NAME):
        return FileStorage(str(path), supports_mmap=False).open_index(INDEX_NAME)
    if not create:
        raise FileNotFoundError(f"no index in {path}")
    path.mkdir(parents=True, exist_ok=True)
    logger.info("creating an empty index in %s", path)
    return FileStorage(str(path), supports_mmap=False).create_index(build_schema(), INDEX_NAME)
