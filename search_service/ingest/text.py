"""Plain text files, and the ward website's article export (the seed's format).

The export looks like::

    CÔNG TÁC ĐẢNG

    Đảng bộ phường Phúc Lợi tổ chức hội nghị ...
    Ngày đăng 14/04/2018 | 10:39  | Lượt xem: 510

    Body paragraphs ...
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from search_service.ingest import IngestError

_POSTED_RE = re.compile(
    r"^\s*Ngày đăng\s*:?\s*(\d{1,2})/(\d{1,2})/(\d{4})"
    r"(?:\s*\|?\s*(\d{1,2}):(\d{2}))?"
    r"(?:.*?Lượt xem\s*:?\s*([\d.,]+))?",
    re.IGNORECASE,
)
_HEADER_LINES = 8


def parse(path: Path, data: bytes) -> list[dict]:
    """One document from a text file: the article export's layout if present, else plain text."""
    from search_service.ingest.encoding import decode

    text = decode(data).replace("\r\n", "\n").replace("\r", "\n")   # decode() normalizes
    lines = text.split("\n")
    if not any(line.strip() for line in lines):
        raise IngestError("the file holds no text")
    doc = _parse_article(lines)
    if doc is None:
        doc = _parse_plain(lines, path)
    return [doc]


def _parse_article(lines: list[str]) -> dict | None:
    """The export's header: category, title, then the 'Ngày đăng … | Lượt xem: …' line."""
    for i, line in enumerate(lines[:_HEADER_LINES]):
        match = _POSTED_RE.match(line)
        if not match:
            continue
        header = [h.strip() for h in lines[:i] if h.strip()]
        if not header:
            return None
        category = header[0] if len(header) > 1 else None
        title = " ".join(header[1:] if len(header) > 1 else header)
        day, month, year, hour, minute, views = match.groups()
        try:
            published = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0))
        except ValueError:
            raise IngestError(f"the date line is not a valid date: {line.strip()!r}") from None
        doc = {"title": title, "body": _join_body(lines[i + 1:]), "published": published}
        if category:
            doc["category"] = category
        if views:
            doc["views"] = int(re.sub(r"[.,]", "", views))
        return doc
    return None


def _parse_plain(lines: list[str], path: Path) -> dict:
    """Plain text: administrative documents keep their metadata in the text itself."""
    from search_service.ingest import metadata

    body = _join_body(lines)
    doc = {k: v for k, v in metadata.extract(body).items() if v}
    doc.setdefault("title", next((ln.strip() for ln in lines if ln.strip()), path.stem))
    doc["body"] = body
    return doc


def _join_body(lines: list[str]) -> str:
    """Paragraphs separated by one blank line, surrounding blank lines dropped."""
    body = "\n".join(line.rstrip() for line in lines).strip()
    return re.sub(r"\n{3,}", "\n\n", body)
