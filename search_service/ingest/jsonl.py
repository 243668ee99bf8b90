"""JSON Lines (``.jsonl``, ``.jsonl.gz``): one document per line with the fields of
:data:`search_service.documents.FIELDS` (the format of the shared corpus).

A compressed file is inflated as it is read, a line at a time, and never past the limits: a
1 MB ``.jsonl.gz`` can inflate to gigabytes, so the size limit applies to the inflated bytes
(the run's ``max_file_mb``), and one record may not be larger than :data:`MAX_RECORD_MB`.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from pathlib import Path

from search_service.documents import FIELDS
from search_service.ingest import IngestError

MAX_RECORD_MB = 10          # one document's JSON: some 3,000 pages of text
DEFAULT_MAX_BYTES = 50 * 1024 * 1024


def parse(path: Path, data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> list[dict]:
    """Every record of the file; a bad line fails the file and names the line.

    ``max_bytes``: the most (inflated) bytes read; a larger file is refused.
    """
    docs = []
    for number, line in _lines(data, max_bytes):
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


def _lines(data: bytes, max_bytes: int):
    """``(line number, text)`` for each line, inflating gzip data as it goes."""
    record_limit = min(MAX_RECORD_MB * 1024 * 1024, max_bytes)
    compressed = data[:2] == b"\x1f\x8b"
    stream = gzip.GzipFile(fileobj=io.BytesIO(data)) if compressed else io.BytesIO(data)
    read, number = 0, 0
    while True:
        try:
            raw = stream.readline(record_limit + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise IngestError(f"corrupt gzip data: {exc}") from None
        if not raw:
            return
        number += 1
        read += len(raw)
        if read > max_bytes:
            raise IngestError(f"the file inflates to over {_mb(max_bytes)} MB, the limit "
                              "per file")
        if len(raw) > record_limit:
            raise IngestError(f"line {number}: the record is over {_mb(record_limit)} MB, "
                              "the limit per record")
        yield number, _decode(raw, number, read - len(raw))


def _decode(raw: bytes, number: int, offset: int) -> str:
    try:
        return raw.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError as exc:
        raise IngestError(f"JSON Lines must be UTF-8 (byte {offset + exc.start} is "
                          "not)") from None


def _mb(size: int) -> str:
    return f"{size / 1048576:.3g}"
