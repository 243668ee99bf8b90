"""The document model shared by ingestion, the index and the web layer."""

from __future__ import annotations

from datetime import date, datetime

FIELDS = ("id", "title", "body", "category", "doc_type", "doc_number", "issuer", "signer",
          "published", "views", "source", "url", "visibility")
VISIBILITIES = ("public", "internal")


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
