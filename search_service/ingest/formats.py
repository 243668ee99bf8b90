"""Which parser reads a file: decided by its extension AND its content.

Clerks rename files, save web pages as .txt and receive PDFs called .docx; a parser fed
the wrong bytes fails with a confusing library error, so the content is sniffed first and
a mismatch is reported in words ("not a DOCX file (content is a PDF document)").
"""

from __future__ import annotations

import importlib
import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

from search_service.ingest import IngestError

FORMATS = ("text", "jsonl", "docx", "pdf", "html", "doc", "image")

_EXTENSIONS = {
    ".txt": "text", ".text": "text", ".md": "text",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".jsonl.gz": "jsonl",
    ".docx": "docx", ".pdf": "pdf", ".html": "html", ".htm": "html", ".xhtml": "html",
    ".doc": "doc", ".png": "image", ".jpg": "image", ".jpeg": "image", ".tif": "image",
    ".tiff": "image",
}
_LABELS = {"text": "a text file", "jsonl": "a JSON Lines file", "docx": "a DOCX file",
           "pdf": "a PDF file", "html": "an HTML page", "doc": "a Word 97-2003 document",
           "image": "an image"}
_UNSUPPORTED_HINTS = {
    ".xls": " (a spreadsheet)", ".xlsx": " (a spreadsheet)", ".odt": " (save it as .docx)",
    ".rtf": " (save it as .docx)",
}
_HTML_RE = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b",
                      re.IGNORECASE | re.DOTALL)


def _lazy(name: str) -> Callable[..., list[dict]]:
    """A parser that imports its module on first use (pypdf and python-docx are slow)."""
    def parse(path: Path, data: bytes, **options) -> list[dict]:
        return importlib.import_module(f"search_service.ingest.{name}").parse(
            path, data, **options)
    parse.__name__ = f"parse_{name}"
    return parse


_MODULES = {"image": "ocr"}     # a format's parser module, when it is not named after it
PARSERS: dict[str, Callable[..., list[dict]]] = {
    name: _lazy(_MODULES.get(name, name)) for name in FORMATS}
# For a process that parses many files (ingest.parserprocess) to import them up front.
PARSER_MODULES = tuple(f"search_service.ingest.{_MODULES.get(name, name)}" for name in FORMATS)


def parse_file(path: Path, data: bytes) -> list[dict]:
    """Detect the format of one file and parse it into document dicts."""
    return parse_as(path, data)[1]


def parse_as(path: Path, data: bytes, *, max_bytes: int | None = None
             ) -> tuple[str, list[dict]]:
    """``(format, document dicts)`` of one file. ``max_bytes`` caps what a compressed file
    (``.jsonl.gz``) may inflate to; the file's own size is the caller's to check."""
    kind = detect(path, data)
    options = {"max_bytes": max_bytes} if kind == "jsonl" and max_bytes is not None else {}
    return kind, PARSERS[kind](path, data, **options)


def extension(path: Path) -> str:
    """".jsonl.gz" for the compressed corpus, otherwise the last suffix, lowercased."""
    suffixes = [s.lower() for s in path.suffixes[-2:]]
    if suffixes[-2:] == [".jsonl", ".gz"]:
        return ".jsonl.gz"
    return suffixes[-1] if suffixes else ""


def detect(path: Path, data: bytes) -> str:
    """One of :data:`FORMATS`, or :class:`IngestError` saying why the file is not usable."""
    ext = extension(path)
    if not data:
        raise IngestError("empty file")
    claimed = _EXTENSIONS.get(ext)
    content = sniff(data)
    if claimed is None:
        if not ext and content in ("pdf", "docx", "html"):
            return content
        if not ext:
            raise IngestError("unknown file type (the name has no extension)")
        raise IngestError(f"unsupported file type {ext}{_UNSUPPORTED_HINTS.get(ext, '')}")
    if claimed == content:
        return claimed
    if claimed in ("text", "html") and content in ("text", "html"):
        return content        # a web page saved as .txt, or a bare text saved as .htm
    if claimed == "jsonl" and content in ("text", "gzip"):
        return "jsonl"
    if claimed == "docx" and content == "broken-zip":
        return "docx"         # a truncated download: the parser says "corrupt DOCX"
    if (claimed, content) in (("doc", "ole"), ("docx", "ole")):
        return "doc"          # antiword says when an OLE file is not a Word document
    if claimed == "doc" and content in ("docx", "broken-zip"):
        return "docx"         # Word's "Save as .doc" that is really a .docx
    raise IngestError(f"not {_LABELS[claimed]} (content is {describe(data, content)})")


def sniff(data: bytes) -> str:
    """What the bytes are: a format name, or "zip", "broken-zip", "gzip", "ole", "image",
    "binary"."""
    head = data[:1024]
    if b"%PDF-" in head:
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        return _sniff_zip(data)
    if data.startswith(b"\x1f\x8b"):
        return "gzip"
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"
    if data.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"II*\x00", b"MM\x00*")):
        return "image"
    text_head = _text_head(head)
    if text_head is None:
        return "binary"
    return "html" if _HTML_RE.match(text_head) else "text"


def describe(data: bytes, content: str | None = None) -> str:
    """The content in words, for an error message."""
    content = content or sniff(data)
    if content == "zip":
        return _describe_zip(data)
    return {
        "pdf": "a PDF document", "docx": "a Word DOCX document", "html": "an HTML page",
        "text": "plain text", "gzip": "gzip-compressed data",
        "ole": "an old Microsoft Office 97-2003 file", "image": "an image",
        "binary": "unrecognized binary data", "broken-zip": "a damaged ZIP archive",
    }[content]


def _sniff_zip(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError):
        return "broken-zip"
    return "docx" if "word/document.xml" in names else "zip"


def _describe_zip(data: bytes) -> str:
    if _zip_has(data, "xl/workbook.xml"):
        return "an Excel spreadsheet"
    if _zip_has(data, "ppt/presentation.xml"):
        return "a PowerPoint presentation"
    if _zip_has(data, "content.xml"):
        return "an OpenDocument file"
    return "a ZIP archive"


def _zip_has(data: bytes, member: str) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return member in archive.namelist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError):
        return False


def _text_head(head: bytes) -> bytes | None:
    """The start of a text file as ASCII-compatible bytes, or None when it is binary."""
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"),
                       (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            text = head[len(bom):].decode(codec, errors="ignore")
            return text.encode("utf-8", errors="ignore")
    if b"\x00" in head:
        return None
    controls = sum(1 for b in head if b < 32 and b not in b"\t\n\r\f")
    return None if controls > len(head) // 100 + 1 else head
