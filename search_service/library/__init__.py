"""The ward's document library: the source of truth the search index is built from.

One folder (``library/`` at the repository root unless ``SEARCH_LIBRARY_DIR`` says otherwise)
holds ``library.sqlite3`` (documents, people's corrections, the audit log, staff accounts, API
tokens) and ``originals/`` (every original file, by content hash). Nothing here imports Flask
or click; :mod:`search_service.library.commands` is the command-line shell over it. In use::

    library = Library(folder)
    doc, created = library.add_document(data, name="qd-123.docx", record=parsed,
                                        actor="can_bo")
    library.correct(doc.id, {"doc_type": "Quyết định"}, actor="can_bo")
"""

from search_service.library.accounts import ROLES, Principal
from search_service.library.errors import (Conflict, InvalidValue, LibraryError, NotFound,
                                           SchemaTooNew)
from search_service.library.metadata import FIELDS, effective_metadata
from search_service.library.model import TEXT_SOURCES, VISIBILITIES, Document, DocumentPage
from search_service.library.store import Library

__all__ = ["Conflict", "Document", "DocumentPage", "FIELDS", "InvalidValue", "Library",
           "LibraryError", "NotFound", "Principal", "ROLES", "SchemaTooNew", "TEXT_SOURCES",
           "VISIBILITIES", "effective_metadata"]
