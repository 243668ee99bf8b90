"""JSON Lines (``.jsonl``, ``.jsonl.gz``): one document per line with the fields of
:data:`search_service.documents.FIELDS` (the format of the shared corpus)."""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path

from search_service.documents import FIELDS
from search_service.ingest import IngestError


def parse(path: Path, data: bytes) -> list[dict]:
    """Every record of the file; a bad line fails the file and names the line."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise IngestError(f"corrupt gzip data: {exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(f"JSON Lines must be UTF-8 (byte {exc.start} is not)") from None
    docs = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise IngestError(f"line {number}: not valid JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise IngestError(f"line {number}: expected a JSON object")
        doc = {k: record[k] for k in FIELDS if record.get(k) not in (None, "")}
        if not str(doc.get("title", "")).strip() and not str(doc.get("body", "")).strip():
            raise IngestError(f"line {number}: no title and no body")
        docs.append(doc)
    if not docs:
        raise IngestError("the file holds no records")
    return docs
