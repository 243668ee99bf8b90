"""One document as the API answers it: its stored fields, its links (page, JSON, original),
its relations and validity. Shared by the read API and the write API (which answers a write
with the document as it now is)."""

from __future__ import annotations

from flask import url_for

from search_service.errors import NotFound
from search_service.library import NotFound as LibraryNotFound
from search_service.web import relations_view
from search_service.web.auth import library
from search_service.web.service import engine


def document_answer(doc_id: str, include_internal: bool) -> dict:
    """``GET /api/documents/<id>``'s body; NotFound when unknown or not visible."""
    doc = engine().get_document(doc_id, include_internal=include_internal)
    if doc is None:
        raise NotFound(f"No document with id {doc_id!r}",
                       message_vi="Không tìm thấy tài liệu này.")
    doc["links"] = document_links(doc_id)
    found = relations_view.document_relations(doc, include_internal)     # #11
    doc.update({k: found[k] for k in ("effective", "relations", "related_by", "validity")})
    return doc


def document_links(doc_id: str) -> dict:
    links = {"html": url_for("ui.document", doc_id=doc_id),
             "json": url_for("api.document", doc_id=doc_id)}
    if has_original(doc_id):
        links["original"] = url_for("write_api.original", doc_id=doc_id)
    return links


def has_original(doc_id: str) -> bool:
    """Whether the library keeps this document's original (a cheap check: no file access)."""
    lib = library()
    if lib is None:
        return False
    try:
        doc = lib.get(doc_id)
    except LibraryNotFound:
        return False
    return keeps_original(doc)


def keeps_original(doc) -> bool:
    """Whether the library keeps the original of ``doc``, a document it holds."""
    return not from_old_index(doc.original)


def from_old_index(original) -> bool:
    """Copied from an index made before the library: its "original" is only the record that
    index held, not a file anybody uploaded."""
    try:
        from search_service.library.importing import INDEX_RECORD_TYPE
    except ImportError:                 # a library that never imported an old index
        return False
    return original.media_type == INDEX_RECORD_TYPE
