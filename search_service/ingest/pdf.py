"""PDF files: the text layer (pypdf), OCR for pages without one, then metadata.

A scanned PDF has pictures, no text: its pages without text are rendered and read by OCR
(:mod:`search_service.ingest.ocr`; the document then says ``"text_source": "ocr"``), and a
scan in which OCR finds nothing is refused with a reason rather than indexed as an empty
document nobody can find. A text layer typed in a legacy font (.VnTime, VNI-Times) is
converted to Unicode (:mod:`search_service.ingest.legacy`). Huge PDFs are refused by a page cap;
a pathological one that takes too long is stopped by the time budget every format has
(:mod:`search_service.ingest.parserprocess`), so one file cannot stall a run.
"""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

from search_service.text.normalize import normalize_text
from search_service.ingest import IngestError, legacy, metadata

logger = logging.getLogger(__name__)
# pypdf logs every repair it attempts on a damaged file; the ingest report says what matters.
logging.getLogger("pypdf").setLevel(logging.ERROR)

MAX_PAGES = 500
MIN_LETTERS = 20        # fewer letters than this in the whole file: a scan, not text
MIN_PAGE_LETTERS = 10   # fewer on one page of a typed PDF: that page is scanned (or blank)
BLANK_CONTENT_BYTES = 64  # a page's drawing instructions up to this size draw nothing to read
RENDER_DPI = 300        # Tesseract reads best at 300 dpi
MAX_RENDER_SIDE = 4200  # pixels; a poster-sized page is rendered smaller
_LIGATURES = str.maketrans({"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl",
                            "\ufb03": "ffi", "\ufb04": "ffl"})


def parse(path: Path, data: bytes) -> list[dict]:
    """One document from a .pdf file."""
    reader = _open(data)
    pages = _extract(reader)
    # Pages with (almost) no text that draw something are scanned: the whole file, or a
    # signed last page or an annex among typed ones (or text turned into outlines). Blank
    # pages are not read.
    scanned = [n for n, text in enumerate(pages)
               if _letters(text) < MIN_PAGE_LETTERS and _draws_something(reader.pages[n])]
    if scanned:
        return [_ocr_document(path, data, pages, scanned)]
    if _letters("".join(pages)) < MIN_LETTERS:
        raise IngestError("the PDF holds no text: its pages are blank")
    return [_document(pages, path.stem)]


def _document(pages: list[str], fallback_title: str) -> dict:
    lines = [line for text in pages for line in text.split("\n") if line]
    return metadata.document_from_lines(lines, fallback_title)


def _ocr_document(path: Path, data: bytes, pages: list[str], scanned: list[int]) -> dict:
    """The document with the pages in ``scanned`` (0-based) read by OCR."""
    from search_service.ingest import ocr

    texts = ocr.read_pages((_renderer(data, n) for n in scanned), len(scanned),
                           name=path.name)
    if not any(texts) and _letters("".join(pages)) >= MIN_LETTERS:
        return _document(pages, path.stem)     # the pictures held no text: typed after all
    pages = list(pages)
    for number, text in zip(scanned, texts):
        pages[number] = text
    if _letters("".join(pages)) < MIN_LETTERS:
        raise IngestError("scanned PDF: OCR found no text in it (blank pages or pictures)")
    return ocr.document(pages, path.stem)


def _draws_something(page) -> bool:
    """Does the page draw a picture (an image XObject, maybe inside a form) or anything
    else (a content stream longer than a blank page's)? True when it cannot be read: OCR
    will tell."""
    try:
        if _draws_image(page.get("/Resources"), depth=0):
            return True
        contents = page.get_contents()
        return contents is not None and len(contents.get_data()) > BLANK_CONTENT_BYTES
    except Exception:  # noqa: BLE001 - damaged resource dictionaries
        logger.debug("cannot read a page's resources", exc_info=True)
        return True


def _draws_image(resources, depth: int) -> bool:
    if resources is None or depth > 3:
        return False
    xobjects = resources.get_object().get("/XObject")
    if xobjects is None:
        return False
    for ref in xobjects.get_object().values():
        xobject = ref.get_object()
        if xobject.get("/Subtype") == "/Image":
            return True
        if xobject.get("/Subtype") == "/Form" and _draws_image(xobject.get("/Resources"),
                                                                depth + 1):
            return True
    return False


def _renderer(data: bytes, number: int):
    """A function that renders page ``number`` (0-based) as a grey image, for OCR."""
    def render():
        import pypdfium2

        try:
            pdf = pypdfium2.PdfDocument(data)
            try:
                page = pdf[number]
                width, height = page.get_size()
                scale = min(RENDER_DPI / 72, MAX_RENDER_SIDE / max(width, height, 1))
                return page.render(scale=scale, grayscale=True).to_pil()
            finally:
                pdf.close()
        except pypdfium2.PdfiumError as exc:
            raise IngestError(f"corrupt PDF: page {number + 1} cannot be rendered for OCR "
                              f"({exc})") from None
    return render


def _letters(text: str) -> int:
    return sum(c.isalpha() for c in text)


def _open(data: bytes):
    import pypdf
    from pypdf.errors import PdfReadError

    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not _decrypt(reader):
            raise IngestError("the PDF is password-protected; save an unprotected copy")
        count = len(reader.pages)
    except IngestError:
        raise
    except PdfReadError as exc:
        raise IngestError(f"corrupt PDF: {' '.join(str(exc).split())}") from None
    except Exception as exc:  # noqa: BLE001 - pypdf raises many kinds on damaged files
        logger.debug("pypdf failed to open", exc_info=True)
        raise IngestError(f"corrupt PDF: {type(exc).__name__}: {exc}") from None
    if count == 0:
        raise IngestError("corrupt PDF: it has no pages")
    if count > MAX_PAGES:
        raise IngestError(f"the PDF has {count} pages; files over {MAX_PAGES} pages are "
                          "not indexed (split it)")
    return reader


def _decrypt(reader) -> bool:
    """Open "protected" PDFs that only restrict printing or copying (empty user password)."""
    try:
        return bool(reader.decrypt(""))
    except Exception:  # noqa: BLE001 - a missing AES backend or a damaged key
        logger.debug("pypdf could not decrypt", exc_info=True)
        return False


def _extract(reader) -> list[str]:
    """Each page's text, normalized (legacy fonts converted)."""
    pages = []
    for number, page in enumerate(reader.pages, start=1):
        try:
            pages.append(_clean(page.extract_text() or ""))
        except Exception as exc:  # noqa: BLE001 - damaged content streams
            logger.debug("pypdf failed on page %d", number, exc_info=True)
            raise IngestError(f"corrupt PDF: page {number} cannot be read "
                              f"({type(exc).__name__})") from None
    return pages


def _clean(text: str) -> str:
    """Legacy fonts converted, NFC, one tone style, ligatures spelled out, spaces tidied,
    one line per text line."""
    text = normalize_text(legacy.fix_text(text.translate(_LIGATURES))[0])
    lines = (re.sub(r"[ \t\f\v]+", " ", line).strip() for line in text.splitlines())
    return "\n".join(lines)
