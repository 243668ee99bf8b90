"""Effective metadata: what the machine guessed, overlaid with what people corrected.

The one rule of the library lives in :func:`effective_metadata`: a field a person corrected
keeps the person's value, whatever later guesses say. Re-reading a file (the same one or a new
version) replaces the guesses only, so a clerk never has to fix the same field twice.
"""

from __future__ import annotations

import re
from datetime import datetime

from search_service.library.errors import InvalidValue

# Metadata a document can have, guessed from its file and correctable by people. The body is
# not here: it is the extracted text itself, replaced as a whole when the file is read again.
FIELDS = ("title", "category", "doc_type", "doc_number", "issuer", "signer", "published",
          "views", "source", "url")
MAX_TEXT_CHARS = 1000
_SPACES_RE = re.compile(r"\s+")


def effective_metadata(guessed: dict, corrections: dict) -> dict:
    """The metadata a document shows: ``guessed`` overlaid with ``corrections``.

    ``corrections`` maps a field to ``{"value": ..., "by": ..., "at": ...}``. A corrected field
    takes the person's value even when it equals the guess, and a correction to ``None`` (the
    person cleared the field) hides the guess. Fields without a value are left out. Last, a
    number names its type (``32/KH-UBND``: Kế hoạch) when no type is given, as the index
    does, so the library shows what a search will show (clearing the type of a numbered
    document therefore shows the type its number names; correct the type to change it).

    >>> effective_metadata({"doc_type": "Quyết định", "issuer": "UBND"},
    ...                    {"doc_type": {"value": "Kế hoạch"}, "issuer": {"value": None}})
    {'doc_type': 'Kế hoạch'}
    """
    merged = {k: v for k, v in guessed.items() if v is not None}
    for field, correction in corrections.items():
        if correction.get("value") is None:
            merged.pop(field, None)
        else:
            merged[field] = correction["value"]
    if not merged.get("doc_type") and merged.get("doc_number"):
        from search_service.text.numbers import doc_type_for

        implied = doc_type_for(merged["doc_number"])
        if implied:
            merged["doc_type"] = implied
    return merged


def with_corrections(corrections: dict, changes: dict, actor: str, at: str) -> dict:
    """``corrections`` after a person set the fields in ``changes`` (values already clean)."""
    updated = dict(corrections)
    for field, value in changes.items():
        updated[field] = {"value": value, "by": actor, "at": at}
    return updated


def clean_value(field: str, value):
    """``value`` as the library stores it for ``field``: normalized text, an ISO date, a whole
    number, or None for "no value". Anything else is an :class:`InvalidValue` naming the field."""
    if field not in FIELDS:
        raise InvalidValue(f"unknown metadata field {field!r}; known: {', '.join(FIELDS)}")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if field == "published":
        return _iso_date(value)
    if field == "views":
        return _whole_number(value)
    return _text(field, value)


def clean_metadata(values: dict) -> dict:
    """Every field of ``values`` cleaned; fields without a value are dropped."""
    cleaned = {field: clean_value(field, value) for field, value in values.items()}
    return {k: v for k, v in cleaned.items() if v is not None}


def clean_text(value: str, name: str) -> str:
    """Extracted text as stored: NFC with one tone-mark style, surrounding space removed."""
    from search_service.text.normalize import normalize_text

    if not isinstance(value, str):
        raise InvalidValue(f"{name}: expected text, found {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidValue(f"{name}: holds characters that are not valid Unicode") from None
    return normalize_text(value).strip()


def find_text(metadata: dict) -> str:
    """What the library's own title/number filter matches: title and number, folded and
    lowercased, plus the number's canonical key, so ``phong chay`` and ``45-kh`` both work."""
    parts = [fold_for_find(metadata.get("title") or ""),
             fold_for_find(metadata.get("doc_number") or "")]
    if metadata.get("doc_number"):
        parts.append(number_key(metadata["doc_number"]))
    return " | ".join(parts)


def fold_for_find(text: str) -> str:
    """Text as :func:`find_text` stores it: no diacritics, lowercase, single spaces."""
    from search_service.text.fold import fold

    return _SPACES_RE.sub(" ", fold(text).lower()).strip()


def number_key(text: str) -> str:
    """The canonical key of a document number (``15/NQ-ĐU`` → ``15-nq-du``)."""
    from search_service.text import numbers as docnumber

    return docnumber.canonical(text)


def _iso_date(value) -> str:
    from search_service.documents import DocumentError, parse_published

    try:
        parsed: datetime = parse_published(value)
    except DocumentError:
        raise InvalidValue(f"published: not an ISO date (YYYY-MM-DD): {value!r}") from None
    if parsed.time() == datetime.min.time():
        return parsed.date().isoformat()
    return parsed.isoformat()


def _whole_number(value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InvalidValue(f"views: not a whole number: {value!r}")
    try:
        number = int(value)
    except ValueError:
        raise InvalidValue(f"views: not a whole number: {value!r}") from None
    if not 0 <= number < 2 ** 63:       # the index keeps it in 64 bits
        raise InvalidValue(f"views: out of range: {value!r}")
    return number


def _text(field: str, value) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)          # "số 15" typed as a number
    text = clean_text(value, field)
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidValue(f"{field}: longer than {MAX_TEXT_CHARS} characters")
    return text
