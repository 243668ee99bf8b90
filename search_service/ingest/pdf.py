"""PDF files with a text layer (pypdf), then metadata.

A scanned PDF has pictures, no text: it is refused with a reason (it needs OCR) rather
than indexed as an empty document nobody can find. Huge PDFs are refused by a page cap;
a pathological one that takes too long is stopped by the time budget every format has
(:mod:`search_service.ingest.parserprocess`), so one file cannot stall a run.
"""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

from search_service.analysis import normalize_text
from search_service.ingest import IngestError, metadata

logger = logging.getLogger(__name__)
# pypdf logs every repair it attempts on a damaged file; the ingest report says what matters.
logging.getLogger("pypdf").setLevel(logging.ERROR)

MAX_PAGES = 500
MIN_LETTERS = 20        # fewer letters than this in the whole file: a scan, not text
_LIGATURES = str.maketrans({"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl",
                            "\ufb03": "ffi", "\ufb04": "ffl"})


def parse(path: Path, data: bytes) -> list[dict]:
    """One document from a .pdf file."""
    reader = _open(data)
    text = _extract(reader)
    if sum(c.isalpha() for c in text) < MIN_LETTERS:
        raise IngestError("scanned PDF with no text layer; needs OCR")
    lines = [line for line in text.split("\n") if line]
    return [metadata.document_from_lines(lines, path.stem)]


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


def _extract(reader) -> str:
    """All pages' text, normalized."""
    pages = []
    for number, page in enumerate(reader.pages, start=1):
        try:
            pages.append(_clean(page.extract_text() or ""))
        except Exception as exc:  # noqa: BLE001 - damaged content streams
            logger.debug("pypdf failed on page %d", number, exc_info=True)
            raise IngestError(f"corrupt PDF: page {number} cannot be read "
                              f"({type(exc).__name__})") from None
    return "\n".join(pages)


def _clean(text: str) -> str:
    """NFC, one tone style, ligatures spelled out, spaces tidied, one line per text line."""
    text = normalize_text(text.translate(_LIGATURES))
    lines = (re.sub(r"[ \t\f\v]+", " ", line).strip() for line in text.splitlines())
    return "\n".join(lines)
