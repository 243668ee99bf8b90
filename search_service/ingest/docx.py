"""Word documents (.docx): paragraphs and tables in document order, then metadata.

Vietnamese administrative documents put the header (issuer, motto, number, place and date)
and the signature block in borderless two-column tables, so tables are read where they
stand, row by row and cell by cell, one line per paragraph: metadata.extract reads lines.

Runs typed in a legacy Vietnamese font (TCVN3 ``.VnTime``, VNI ``VNI-Times``…: the run's
font, else its style's, else the document's default) are converted to Unicode by that font's
table (:mod:`search_service.ingest.legacy`); what remains is checked as a whole too, for
legacy text whose font was changed afterwards.
"""

from __future__ import annotations

import io
import logging
import zipfile
import zlib
from pathlib import Path

from search_service.text.normalize import normalize_text
from search_service.ingest import IngestError, legacy, metadata

logger = logging.getLogger(__name__)

MAX_UNPACKED_MB = 200   # a "zip bomb" would fill memory long before python-docx complains
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def parse(path: Path, data: bytes) -> list[dict]:
    """One document from a .docx file."""
    document = _open(data)
    fonts = _Fonts(document)
    text, _ = legacy.fix_text("\n".join(_block_lines(document.element.body, fonts)))
    lines = [normalize_text(line).strip() for line in text.split("\n")]
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


def _block_lines(container, fonts: _Fonts) -> list[str]:
    """Lines of a body or table cell: paragraphs and nested tables, in order."""
    lines = []
    for child in container.iterchildren():
        if child.tag == _W + "p":
            lines.extend(_paragraph_text(child, fonts).split("\n"))
        elif child.tag == _W + "tbl":
            lines.extend(_table_lines(child, fonts))
        elif child.tag == _W + "sdt":   # content controls wrap paragraphs and tables
            content = child.find(_W + "sdtContent")
            if content is not None:
                lines.extend(_block_lines(content, fonts))
    return lines


def _table_lines(table, fonts: _Fonts) -> list[str]:
    """Row by row, cell by cell; a merged cell is read once."""
    lines = []
    for row in table.iterchildren(_W + "tr"):
        for cell in row.iterchildren(_W + "tc"):
            if _continues_vertical_merge(cell):
                continue
            lines.extend(_block_lines(cell, fonts))
    return lines


def _continues_vertical_merge(cell) -> bool:
    merge = cell.find(f"{_W}tcPr/{_W}vMerge")
    return merge is not None and merge.get(_W + "val") in (None, "continue")


def _paragraph_text(paragraph, fonts: _Fonts) -> str:
    """Runs, hyperlinks and fields of one paragraph; tabs and breaks kept as spacing;
    runs in a legacy font converted."""
    parts = []
    for node in paragraph.iter(_W + "t", _W + "tab", _W + "br", _W + "cr"):
        if node.tag == _W + "t":
            parts.append(fonts.convert(node.text or "", node.getparent(), paragraph))
        elif node.tag == _W + "tab":
            parts.append(" ")
        else:
            parts.append("\n")
    return "".join(parts)


class _Fonts:
    """Which legacy encoding, if any, the font of a run implies (styles resolved)."""

    def __init__(self, document):
        try:
            styles = document.styles.element
        except Exception:  # noqa: BLE001 - a document without a styles part
            styles = None
        self._styles = {}
        self._cache: dict = {}
        self._default_paragraph = self._default = None
        if styles is None:
            return
        for style in styles.iterchildren(_W + "style"):
            self._styles[style.get(_W + "styleId")] = style
            if style.get(_W + "type") == "paragraph" and \
                    style.get(_W + "default") in ("1", "true"):
                self._default_paragraph = style.get(_W + "styleId")
        defaults = styles.find(f"{_W}docDefaults/{_W}rPrDefault/{_W}rPr")
        self._default = _font_of(defaults)

    def convert(self, text: str, run, paragraph) -> str:
        """``text`` of the run (a ``w:r``) in ``paragraph``, converted if its font is a
        legacy one; a TCVN3 "H" font (``.VnTimeH``) draws every letter as a capital."""
        font = self.font(run, paragraph)
        encoding = legacy.encoding_of_font(font)
        if encoding is None:
            return text
        text = legacy.to_unicode(text, encoding)
        return text.upper() if legacy.capitals_font(font) else text

    def font(self, run, paragraph) -> str | None:
        """The run's own font, else its character style's, its paragraph style's, the
        default paragraph style's, or the document default."""
        own = _font_of(run.find(_W + "rPr")) if run is not None and run.tag == _W + "r" else None
        if own:
            return own
        rstyle = run.find(f"{_W}rPr/{_W}rStyle") if run is not None else None
        pstyle = paragraph.find(f"{_W}pPr/{_W}pStyle")
        for style_id in (rstyle.get(_W + "val") if rstyle is not None else None,
                         pstyle.get(_W + "val") if pstyle is not None else None,
                         self._default_paragraph):
            font = self._style_font(style_id)
            if font:
                return font
        return self._default

    def _style_font(self, style_id: str | None, depth: int = 0) -> str | None:
        if style_id is None or depth > 10:
            return None
        if style_id not in self._cache:
            style = self._styles.get(style_id)
            font = None
            if style is not None:
                font = _font_of(style.find(_W + "rPr"))
                based = style.find(_W + "basedOn")
                if not font and based is not None:
                    font = self._style_font(based.get(_W + "val"), depth + 1)
            self._cache[style_id] = font
        return self._cache[style_id]


def _font_of(rpr) -> str | None:
    """The font named by a ``w:rPr`` for Latin text (where legacy fonts put Vietnamese)."""
    if rpr is None:
        return None
    fonts = rpr.find(_W + "rFonts")
    if fonts is None:
        return None
    return fonts.get(_W + "hAnsi") or fonts.get(_W + "ascii")
