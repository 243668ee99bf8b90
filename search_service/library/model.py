"""What the library hands out: documents with their metadata as guessed, as corrected and as
shown, and the original file they came from."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, field

VISIBILITIES = ("public", "internal")
# How the body was obtained: from the original's text, by OCR, typed by hand, or copied from a
# search index made before the library existed ("index": no original file was ever kept).
TEXT_SOURCES = ("text", "ocr", "manual", "index")

COLUMNS = ("id, title, body, guesses, corrections, metadata, visibility, is_published, "
           "text_source, original_name, media_type, original_size, sha256, created, updated")


@dataclass(frozen=True)
class Original:
    """The file a document was read from; the bytes live under ``originals/`` by hash."""
    name: str
    media_type: str
    size: int
    sha256: str


@dataclass
class Document:
    """One document of the library.

    ``title`` and ``body`` are the text as extracted; ``guesses`` the metadata read from it;
    ``corrections`` what people set (``{field: {"value", "by", "at"}}``); ``metadata`` what the
    document shows: the guesses (and title) overlaid with the corrections.
    """
    id: str
    title: str
    body: str
    guesses: dict
    corrections: dict
    metadata: dict
    visibility: str
    is_published: bool
    text_source: str
    original: Original
    created: str
    updated: str

    def to_dict(self, body: bool = True) -> dict:
        """Plain JSON-ready values; ``body=False`` for lists, where the text is not shown."""
        data = asdict(self)
        if not body:
            del data["body"]
        return data


@dataclass
class DocumentPage:
    """One page of a filtered list, with the number of documents on all pages."""
    total: int
    limit: int
    offset: int
    documents: list[Document] = field(default_factory=list)


def from_row(row: sqlite3.Row) -> Document:
    return Document(
        id=row["id"], title=row["title"], body=row["body"],
        guesses=json.loads(row["guesses"]), corrections=json.loads(row["corrections"]),
        metadata=json.loads(row["metadata"]), visibility=row["visibility"],
        is_published=bool(row["is_published"]), text_source=row["text_source"],
        original=Original(row["original_name"], row["media_type"], row["original_size"],
                          row["sha256"]),
        created=row["created"], updated=row["updated"])


def audit_view(doc: Document) -> dict:
    """The values of a document the audit log compares: what a person sees and decides.

    The body is summarized (length and hash prefix): the log must not hold every text twice.
    """
    from search_service.library.originals import sha256_of

    text = f"{len(doc.body)} characters, sha256 {sha256_of(doc.body.encode())[:12]}"
    return {**doc.metadata, "visibility": doc.visibility, "is_published": doc.is_published,
            "text_source": doc.text_source, "text": text, "original": doc.original.name,
            "sha256": doc.original.sha256}


def guess_view(doc: Document) -> dict:
    """What re-reading a file changes: the guesses, the text and the original (the audit of a
    re-guess compares these, since corrected fields keep their shown value)."""
    view = audit_view(doc)
    return {"title": doc.title, **doc.guesses, "text_source": doc.text_source,
            "text": view["text"], "original": view["original"], "sha256": view["sha256"]}
