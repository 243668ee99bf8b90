"""Word documents (.docx): paragraphs and tables in document order, then metadata.

Vietnamese administrative documents put the header (issuer, motto, number, place and date)
and the signature block in borderless two-column tables, so tables are read where they
stand, row by row and cell by cell, one line per paragraph: metadata.extract reads lines.
"""

from __future__ import annotations

import io
import logging
import zipfile
import zlib
from pathlib import Path

from search_service.analysis import normalize_text
from search_service.ingest import IngestError, metadata

logger = logging.getLogger(__name__)

MAX_UNPACKED_MB = 200   # a "zip bomb" would fill memory long before python-docx complains
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def parse(path: Path, data: bytes) -> list[dict]:
    """One document from a .docx file."""
    document = _open(data)
    lines = [normalize_text(line).strip() for line in _block_lines(document.element.body)]
    lines = [line for line in lines if line]
    if not lines:
        raise IngestError("the Word document holds no text")
    return [metadata.document_from_lines(lines, path.stem)]


def _open(data: bytes):
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
            if unpacked > MAX_UNPACKED_MB * 1024 * 1024:     # before inflating anything
                raise IngestError(f"corrupt DOCX: it unpacks to over {MAX_UNPACKED_MB} MB")
            bad = archive.testzip()
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, RuntimeError,
            NotImplementedError) as exc:  # RuntimeError: an encrypted zip
        raise IngestError(f"corrupt DOCX: the file is damaged or truncated ({exc})") from None
    if bad is not None:
        raise IngestError(f"corrupt DOCX: the part {bad} is damaged")
    try:
        return docx.Document(io.BytesIO(data))
    except PackageNotFoundError:
        raise IngestError("corrupt DOCX: it is not a Word document package") from None
    except Exception as exc:  # noqa: BLE001 - python-docx raises KeyError, lxml and zip errors
        logger.debug("python-docx failed", exc_info=True)
        raise IngestError(f"corrupt DOCX: {type(exc).__name__}: {exc}") from None


def _block_lines(container) -> list[str]:
    """Lines of a body or table cell: paragraphs and nested tables, in order."""
    lines = []
    for child in container.iterchildren():
        if child.tag == _W + "p":
            lines.extend(_paragraph_text(child).split("\n"))
        elif child.tag == _W + "tbl":
            lines.extend(_table_lines(child))
        elif child.tag == _W + "sdt":   # content controls wrap paragraphs and tables
            content = child.find(_W + "sdtContent")
            if content is not None:
                lines.extend(_block_lines(content))
    return lines


def _table_lines(table) -> list[str]:
    """Row by row, cell by cell; a merged cell is read once."""
    lines = []
    for row in table.iterchildren(_W + "tr"):
        for cell in row.iterchildren(_W + "tc"):
            if _continues_vertical_merge(cell):
                continue
            lines.extend(_block_lines(cell))
    return lines


def _continues_vertical_merge(cell) -> bool:
    merge = cell.find(f"{_W}tcPr/{_W}vMerge")
    return merge is not None and merge.get(_W + "val") in (None, "continue")


def _paragraph_text(paragraph) -> str:
    """Runs, hyperlinks and fields of one paragraph; tabs and breaks kept as spacing."""
    parts = []
    for node in paragraph.iter(_W + "t", _W + "tab", _W + "br", _W + "cr"):
        if node.tag == _W + "t":
            parts.append(node.text or "")
        elif node.tag == _W + "tab":
            parts.append(" ")
        else:
            parts.append("\n")
    return "".join(parts)
