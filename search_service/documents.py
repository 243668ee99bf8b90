"""The document model shared by ingestion, the index and the web layer."""

from __future__ import annotations

from datetime import date, datetime

FIELDS = ("id", "title", "body", "category", "doc_type", "doc_number", "issuer", "signer",
          "published", "views", "source", "url", "visibility", "text_source")
VISIBILITIES = ("public", "internal")
# How a document's text was obtained, as the index keeps it: only text read by OCR from a scan
# is marked (``"text_source": "ocr"``), since a reader must be told it may hold misread words;
# any other value, and no value, means the text is the file's own. So documents of an index
# made before the mark existed read exactly as they did, and the API's JSON only gains the key
# where it applies.
OCR = "ocr"


class DocumentError(ValueError):
    """A document dict is not usable (no id, a bad date, an unknown visibility, ...)."""


def parse_published(value) -> datetime | None:
    """Accept a date, a datetime or an ISO string (``2018-04-14`` or ``2018-04-14T10:39``)."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip().replace("Z", "")).replace(tzinfo=None)
        except ValueError:
            pass
    raise DocumentError(f"published: not an ISO date: {value!r}")
