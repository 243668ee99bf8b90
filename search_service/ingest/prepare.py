"""One parsed record → the document the index stores: checked, normalized, typed, hashed.

Everything a record could get wrong is refused here with a :class:`DocumentError` naming the
field, before anything is written, because Whoosh fails mid-document on a bad value and that
would abort the whole run.
"""

from __future__ import annotations

import hashlib
import json

from search_service.text.normalize import normalize_text
from search_service.documents import FIELDS, OCR, VISIBILITIES, DocumentError, parse_published
from search_service.index.schema import TEXT_FIELDS

_GUESSED_KEYS = ("title", "doc_type", "doc_number", "issuer", "signer", "published")


def with_guesses(record: dict) -> dict:
    """Fill what a record lacks from its text; what the record says always wins.

    A record's number implies its type, so a type guessed from the text is not used then.
    """
    from search_service.ingest import metadata

    body = record.get("body")
    if not isinstance(body, str) or not body.strip():
        return record
    guessed = metadata.extract(body)     # extract() normalizes its text
    keys = [k for k in _GUESSED_KEYS if record.get(k) in (None, "")]
    if record.get("doc_number"):
        keys = [k for k in keys if k != "doc_type"]
    return {**{k: guessed[k] for k in keys if guessed.get(k)}, **record}


def prepare_document(raw: dict, default_visibility: str | None = None) -> dict:
    """A parsed record as the index stores it: normalized text, typed values, hashes."""
    from search_service.text import numbers as docnumber

    doc = {}
    for key in FIELDS:
        if key == "text_source":        # only text read by OCR is marked: documents.OCR
            if raw.get(key) == OCR:
                doc[key] = OCR
            continue
        value = _text(raw.get(key), key) if key not in ("published", "views") else raw.get(key)
        if isinstance(value, str):
            value = normalize_text(value).strip()
        if value not in (None, ""):
            doc[key] = value
    if not doc.get("title") and not doc.get("body"):
        raise DocumentError("the document has neither a title nor a body")
    doc.setdefault("title", doc.get("body", "")[:120].split("\n")[0])
    doc["published"] = parse_published(doc.get("published"))
    doc["views"] = _int(doc.get("views"), "views")
    doc["visibility"] = str(doc.get("visibility") or default_visibility or "public").lower()
    if doc["visibility"] not in VISIBILITIES:
        raise DocumentError(f"visibility must be public or internal, not {doc['visibility']!r}")
    if doc.get("doc_number"):
        doc["number_key"] = docnumber.canonical(doc["doc_number"])
        doc.setdefault("doc_type", docnumber.doc_type_for(doc["doc_number"]))
    doc = {k: v for k, v in doc.items() if v is not None}
    doc["content_hash"] = hashlib.sha1(
        json.dumps(doc, sort_keys=True, default=str).encode("utf-8")).hexdigest()
    return doc


def _text(value, name: str) -> str | None:
    """A text field as a string: numbers are spelled out, lists and objects refused.

    Checked here because Whoosh fails mid-document on them, which would abort the whole run.
    """
    if value is None or isinstance(value, str):
        if value and not _encodable(value):
            raise DocumentError(f"{name}: holds characters that are not valid Unicode")
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise DocumentError(f"{name}: expected text, found {type(value).__name__}")


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:          # a lone surrogate from JSON "\ud800"
        return False
    return True


def _int(value, name: str) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise DocumentError(f"{name}: not a whole number: {value!r}")
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise DocumentError(f"{name}: not a whole number: {value!r}") from None
    if not 0 <= number < 2 ** 63:       # the index keeps it in 64 bits
        raise DocumentError(f"{name}: out of range: {value!r}")
    return number


def index_fields(doc: dict) -> dict:
    """The keyword arguments for the index writer: the document plus its derived fields."""
    fields = {k: v for k, v in doc.items() if k != "published" or v}
    if doc.get("published"):
        fields["year"] = doc["published"].year
    for name, source in TEXT_FIELDS.items():    # the same text, analyzed once per layer
        if name != source:
            fields[name] = doc.get(source, "")
    return fields
