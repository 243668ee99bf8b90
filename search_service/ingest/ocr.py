"""Scans: the text of page images, read by Tesseract with its Vietnamese model.

Images (.png, .jpg, .tif — every page of a multi-page TIFF) are parsed here; PDF pages
without a text layer are rendered with PDFium and read here too (see
:mod:`search_service.ingest.pdf`). A document read this way carries ``"text_source": "ocr"``.

Why these parts (measured on a rendered ward decision, 2 cores; figures in the README):
pytesseract drives Debian's ``tesseract`` (packages ``tesseract-ocr``, ``tesseract-ocr-vie``)
and pypdfium2 renders PDF pages from a wheel, with no Ghostscript or poppler. OCRmyPDF
builds a whole new PDF around the same Tesseract call and took 35-60 s for one page against
about 2 s here. Tesseract runs on one thread (``OMP_THREAD_LIMIT=1``): on two cores its
default threads were twice as slow, and the other core stays free for searches.

Each page is made grey, scaled to at most :data:`MAX_SIDE` pixels, straightened
(:func:`deskew`: a 6° tilt cost 6% of the words before it) and read with page segmentation
mode 3, which finds the blocks of the two-column header ("ỦY BAN NHÂN DÂN … CỘNG HÒA XÃ HỘI
CHỦ NGHĨA VIỆT NAM") and of the signature block by itself. The text is NFC with one
tone-mark style, as everything else that enters.

OCR is slow (2-5 s a page), so it is bounded: at most ``SEARCH_OCR_MAX_PAGES`` pages per
file, and it stops with a clear error before it would overrun the per-file time budget
(``SEARCH_MAX_SECONDS_PER_FILE``; the parser process kills it at the budget regardless). It
runs in the parser process, never in a server's: searches are not slowed down.
"""

from __future__ import annotations

import io
import logging
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from search_service.text.normalize import normalize_text
from search_service.ingest import IngestError, metadata

logger = logging.getLogger(__name__)

LANGUAGE = "vie"
PAGE_SEGMENTATION = 3       # automatic blocks: the header's two columns, the signature block
RENDER_DPI = 300            # Tesseract's advice for PDF pages
MAX_SIDE = 4200             # pixels: A4 at 360 dpi; larger scans are scaled down
MAX_PIXELS = 80_000_000     # larger images are refused before they are decoded
MIN_INK = 0.001             # share of dark pixels under which a page is blank
MAX_SKEW = 8.0              # degrees searched by deskew()

def parse(path: Path, data: bytes) -> list[dict]:
    """One document from an image file (every frame of a TIFF is a page)."""
    pages = list(_image_pages(data))
    texts = read_pages(pages, len(pages), name=path.name)
    return [document(texts, path.stem)]


def document(texts: list[str], fallback_title: str) -> dict:
    """The document of OCR'd page texts, metadata guessed, marked as read by OCR."""
    lines = [line for text in texts for line in text.split("\n") if line]
    if sum(c.isalpha() for c in "".join(lines)) < 3:
        raise IngestError("OCR found no text in the scan (a blank page or a picture)")
    doc = metadata.document_from_lines(lines, fallback_title)
    doc["text_source"] = "ocr"
    return doc


def max_pages() -> int:
    """The setting ``SEARCH_OCR_MAX_PAGES``."""
    from search_service import config

    return int(config.load()["OCR_MAX_PAGES"])


def check_page_count(count: int) -> None:
    """Refuse a scan with more pages than ``SEARCH_OCR_MAX_PAGES``, before reading any."""
    limit = max_pages()
    if count > limit:
        raise IngestError(f"the scan has {count} pages to read by OCR; at most {limit} are "
                          "read per file (SEARCH_OCR_MAX_PAGES): split it or raise the setting")


def read_pages(pages: Iterable, count: int, *, name: str) -> list[str]:
    """The text of each page image (Pillow images, or callables that make one), in order.

    Stops with :class:`IngestError` when another page would not fit in the time budget.
    """
    check_page_count(count)
    budget = _budget()
    started = time.monotonic()
    texts, slowest = [], 0.0
    _report(name, 0, count, 0.0)
    for number, page in enumerate(pages, start=1):
        elapsed = time.monotonic() - started
        if elapsed + slowest > budget:
            raise IngestError(
                f"OCR stopped at page {number} of {count}: reading the scan would take over "
                f"the {budget:.1f} s left for the file (SEARCH_MAX_SECONDS_PER_FILE); raise "
                "it (about 3 s a page) or split the file")
        page_started = time.monotonic()
        image = page() if callable(page) else page
        texts.append(read_image(image, timeout=max(1.0, budget - elapsed)))
        seconds = time.monotonic() - page_started
        slowest = max(slowest, seconds)
        logger.info("OCR %s: page %d of %d read in %.1f s", name, number, count, seconds)
        _report(name, number, count, seconds)
    return texts


def _report(name: str, page: int, pages: int, seconds: float) -> None:
    """Tell the parent of a parser process of a page read (page 0, seconds 0.0: before the
    first); every page is logged at INFO too."""
    from search_service.ingest.parserprocess import page_read

    page_read(name, page, pages, seconds)


def _budget() -> float:
    """Seconds this file may still take: what the parser process allows it (it kills the
    parser at its deadline), else the setting ``SEARCH_MAX_SECONDS_PER_FILE``."""
    from search_service import config
    from search_service.ingest.parserprocess import time_left

    left = time_left()
    return float(config.load()["MAX_SECONDS_PER_FILE"]) if left is None else max(left, 0.0)


def read_image(image, *, timeout: float = 0) -> str:
    """The text of one page image: grey, scaled, straightened, read, normalized."""
    image = _prepared(image)
    if _ink(image) < MIN_INK:
        return ""                               # blank: nothing to read, no time spent
    return _clean(_tesseract(deskew(image), timeout))


def deskew(image):
    """``image`` turned upright, by the angle whose rows of ink are sharpest.

    Text lines of a straight page make row sums that jump between ink and paper; a tilted
    page smears them. The angle is searched on a small copy (some 0.2 s a page): Tesseract
    itself does not straighten a page, and a 6° tilt lost 6% of the words.
    """
    import numpy as np
    from PIL import Image

    small = image.copy()
    small.thumbnail((900, 900))
    ink = Image.fromarray(((np.asarray(small) < 128) * 255).astype(np.uint8))

    def sharpness(angle: float) -> float:
        rows = np.asarray(ink.rotate(angle, resample=Image.NEAREST)).sum(axis=1, dtype=float)
        return float(np.var(np.diff(rows)))

    coarse = max(np.arange(-MAX_SKEW, MAX_SKEW + 0.01, 1.0), key=sharpness)
    angle = max(np.arange(coarse - 0.9, coarse + 0.91, 0.15), key=sharpness)
    if abs(angle) < 0.2:
        return image
    return image.rotate(float(angle), resample=Image.BICUBIC, expand=True, fillcolor=255)


# -- images -------------------------------------------------------------------------------

def _image_pages(data: bytes) -> Iterator:
    """Each frame of an image file, checked, as a Pillow image (loaded when read)."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        width, height = image.size
        frames = getattr(image, "n_frames", 1)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError,
            Image.DecompressionBombError) as exc:
        raise IngestError(f"corrupt image: {_reason(exc)}") from None
    if width * height > MAX_PIXELS:
        raise IngestError(f"the image is too large to read ({width} × {height} pixels; "
                          f"at most {MAX_PIXELS // 1_000_000} million)")
    check_page_count(frames)
    for frame in range(frames):
        yield lambda frame=frame: _load_frame(image, frame, frames)


def _load_frame(image, frame: int, frames: int):
    from PIL import Image

    try:
        image.seek(frame)
        image.load()
        return image.copy()
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
        where = f"page {frame + 1} of {frames}: " if frames > 1 else ""
        raise IngestError(f"corrupt image: {where}{_reason(exc)}") from None


def _reason(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _prepared(image):
    """Grey, at most MAX_SIDE pixels on its longer side."""
    from PIL import Image, ImageOps

    if image.mode in ("RGBA", "LA", "P"):       # transparency over white, not black
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, "white")
        image = Image.alpha_composite(background, image)
    image = ImageOps.grayscale(image) if image.mode != "L" else image
    if max(image.size) > MAX_SIDE:
        image = image.copy()
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.LANCZOS)
    return image


def _ink(image) -> float:
    """Share of dark pixels, on a small copy."""
    import numpy as np

    small = image.copy()
    small.thumbnail((600, 600))
    return float((np.asarray(small) < 128).mean())


# -- Tesseract ----------------------------------------------------------------------------

def _tesseract(image, timeout: float) -> str:
    import pytesseract

    # One OpenMP thread: twice as fast on two cores, and a core left for searching. An
    # operator's own OMP_THREAD_LIMIT wins.
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    try:
        return pytesseract.image_to_string(
            image, lang=LANGUAGE, config=f"--psm {PAGE_SEGMENTATION}", timeout=timeout)
    except pytesseract.TesseractNotFoundError:
        raise IngestError("OCR needs Tesseract: install the Debian packages tesseract-ocr "
                          "and tesseract-ocr-vie (see the README)") from None
    except pytesseract.TesseractError as exc:
        if LANGUAGE in str(exc.message) and "load" in str(exc.message).lower():
            raise IngestError("OCR needs Tesseract's Vietnamese model: install the Debian "
                              "package tesseract-ocr-vie") from None
        raise IngestError(f"OCR failed: {' '.join(str(exc.message).split())[:200]}") from None
    except RuntimeError as exc:                 # pytesseract's "Tesseract process timeout"
        raise IngestError(f"OCR of a page took over the time left for the file "
                          f"({timeout:.0f} s, SEARCH_MAX_SECONDS_PER_FILE)") from exc


def _clean(text: str) -> str:
    """NFC, one tone style, spaces tidied, one line per text line, no empty lines."""
    lines = (" ".join(line.split()) for line in normalize_text(text).splitlines())
    return "\n".join(line for line in lines if line)


def available() -> bool:
    """Is Tesseract with its Vietnamese model installed?"""
    try:
        import pytesseract

        return LANGUAGE in pytesseract.get_languages()
    except Exception:  # noqa: BLE001 - not installed, or not runnable
        return False
