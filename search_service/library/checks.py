"""Input the library refuses before anything is written, with a message naming the value."""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path

from search_service.library.errors import InvalidValue
from search_service.library.metadata import (FIELDS, clean_metadata, clean_text, clean_value,
                                             effective_metadata)
from search_service.library.model import VISIBILITIES, Original
from search_service.library.originals import sha256_of

MAX_ID_CHARS = 500
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_MEDIA_TYPES = {".jsonl": "application/jsonl", ".ndjson": "application/jsonl",
                ".md": "text/markdown", ".gz": "application/gzip"}


def effective(title: str, guesses: dict, corrections: dict) -> dict:
    """The shown metadata: the extracted title counts as one more guess."""
    return effective_metadata({"title": title, **guesses}, corrections)


def extracted(record) -> tuple[str, str, dict]:
    """A parser's record as ``(title, body, guesses)``, cleaned; the title defaults to the
    body's first line, cut as the index does it."""
    if not isinstance(record, dict):
        raise InvalidValue("record: expected the fields a parser read (a dict)")
    body = clean_text(record.get("body") or "", "body")
    title = clean_value("title", record.get("title"))
    title = title or clean_text(body[:120].split("\n")[0], "title")
    if not title:
        raise InvalidValue("the document has neither a title nor a body")
    guesses = clean_metadata({k: record[k] for k in FIELDS if k != "title" and k in record})
    return title, body, guesses


def original(data, name, media_type) -> Original:
    if not isinstance(data, bytes) or not data:
        raise InvalidValue("the original file is empty")
    if not isinstance(name, str) or not name.strip() or _CONTROL_RE.search(name) \
            or len(name) > 1000:
        raise InvalidValue(f"the original file's name is not usable: {name!r}")
    if not media_type:
        suffix = Path(name).suffix.lower()
        media_type = _MEDIA_TYPES.get(suffix) or mimetypes.guess_type(name)[0] \
            or "application/octet-stream"
    return Original(name=name.strip(), media_type=media_type, size=len(data),
                    sha256=sha256_of(data))


def record_id(record) -> str | None:
    """A record's own id; JSON Lines may give it as a number (``"id": 15``)."""
    value = record.get("id") if isinstance(record, dict) else None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value if value != "" else None


def check_id(doc_id) -> str | None:
    if doc_id is None:
        return None
    if not isinstance(doc_id, str) or not doc_id or len(doc_id) > MAX_ID_CHARS \
            or _CONTROL_RE.search(doc_id):
        raise InvalidValue(f"not a usable document id: {doc_id!r} (1 to {MAX_ID_CHARS} "
                           "characters, no control characters)")
    return doc_id


def visibility(value) -> str:
    """``public`` or ``internal``, in any letter case (JSON Lines records say ``Internal``)."""
    if isinstance(value, str):
        value = value.strip().lower()
    return check_choice("visibility", value, VISIBILITIES)


def check_choice(name: str, value, choices: tuple) -> str:
    if value not in choices:
        raise InvalidValue(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value
