"""JSON Lines (``.jsonl``, ``.jsonl.gz``): one document per line with the fields of
:data:`search_service.documents.FIELDS` (the format of the shared corpus).

A compressed file is inflated as it is read, a line at a time, and never past the limits: a
1 MB ``.jsonl.gz`` can inflate to gigabytes, so the size limit applies to the inflated bytes
(the run's ``max_file_mb``), and one record may not be larger than :data:`MAX_RECORD_MB`.
"""

from __future__ import annotations

import gzip
import io
import itertools
import json
import zlib
from pathlib import Path

from search_service.documents import FIELDS
from search_service.ingest import IngestError

MAX_RECORD_MB = 10          # one document's JSON: some 3,000 pages of text
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
_CHUNK = 1 << 20


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
    """``(line number, text)`` for each line that is not empty, inflating gzip data a chunk
    at a time. Empty lines are skipped at C speed: a 50 KB file can inflate to 50 million
    of them (read a line at a time, that took over two minutes)."""
    record_limit = min(MAX_RECORD_MB * 1024 * 1024, max_bytes)
    stream = gzip.GzipFile(fileobj=io.BytesIO(data)) if data[:2] == b"\x1f\x8b" \
        else io.BytesIO(data)
    pending, number, offset = b"", 0, 0     # the unfinished line; lines and bytes before it
    while chunk := _read(stream):
        if offset + len(pending) + len(chunk) > max_bytes:
            raise IngestError(f"the file inflates to over {_mb(max_bytes)} MB, the limit "
                              "per file")
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        if len(pending) > record_limit:
            raise _too_big(number + len(lines) + 1, record_limit)
        yield from _numbered(lines, number, offset, record_limit)
        number += len(lines)
        offset += sum(map(len, lines)) + len(lines)
    yield from _numbered([pending], number, offset, record_limit)


def _read(stream) -> bytes:
    try:
        return stream.read(_CHUNK)
    except (OSError, EOFError, zlib.error) as exc:
        raise IngestError(f"corrupt gzip data: {exc}") from None


def _numbered(lines: list[bytes], before: int, offset: int, record_limit: int):
    """The lines that are not empty, numbered from ``before`` + 1, decoded; ``offset``: the
    file's bytes before them (for the error message)."""
    for index, raw in itertools.compress(enumerate(lines), lines):
        number = before + index + 1
        if len(raw) > record_limit:
            raise _too_big(number, record_limit)
        try:
            text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            start = offset + sum(map(len, lines[:index])) + index
            raise IngestError(f"JSON Lines must be UTF-8 (byte {start + exc.start} is "
                              "not)") from None
        yield number, text


def _too_big(number: int, record_limit: int) -> IngestError:
    return IngestError(f"line {number}: the record is over {_mb(record_limit)} MB, the limit "
                       "per record")


def _mb(size: int) -> str:
    return f"{size / 1048576:.3g}"
