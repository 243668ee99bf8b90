"""Turn the bytes of a text file into NFC text, or refuse with a reason.

Ward files come as UTF-8 (with or without a BOM), UTF-16 with a BOM (Notepad's
"Unicode"), Windows-1258 (old Vietnamese Windows, where tone marks are separate
combining characters) and the bytes of the legacy fonts TCVN3 (.VnTime) and VNI
(VNI-Times), converted by :mod:`search_service.ingest.legacy` (also when such text was
pasted into a UTF-8 file). Anything else is refused: a clear error beats indexing mojibake
that no search will ever match.

charset-normalizer is deliberately not used: on short Windows-1258 text it answers
cp1250 ("Quyęět điňnh" for "Quyết định"), and the Vietnamese plausibility test below
decides better for the only legacy encoding we accept.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from search_service.text.normalize import normalize_text
from search_service.ingest import IngestError, legacy

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Letters of the Vietnamese alphabet beyond ASCII, every tone, both cases (NFC).
_VIET_LOWER = (
    "àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ"
)
_VIET_LETTERS = frozenset(_VIET_LOWER + _VIET_LOWER.upper())

# UTF-8 bytes read as Windows-1252 and saved again: "Ã¡" for "á", "Ä‘" for "đ",
# "Æ°" for "ư", "á»‡" for "ệ", "â€œ" for a curly quote.
_CP1252_HIGH = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"
_MOJIBAKE_RE = re.compile(
    "[ÂÃÄÅÆáâ][\u0080-\u00bf" + _CP1252_HIGH + "]"
)
_CONTROL_OK = frozenset("\t\n\r\f")


def decode(data: bytes) -> str:
    """Decode ``data`` to NFC text (one tone-mark style), or raise :class:`IngestError`.

    >>> decode("Phúc Lợi".encode("utf-16"))
    'Phúc Lợi'
    """
    text, _ = decode_with_encoding(data)
    return normalize_text(text)


def decode_with_encoding(data: bytes) -> tuple[str, str | None]:
    """``(text, legacy encoding or None)``: :func:`decode` before normalization.

    Legacy-font text is converted before anything normalizes it: moving tone marks
    (``oá`` → ``óa``) would break VNI's letter-and-mark spellings.
    """
    text = _decode_raw(data)
    fixed, encoding = legacy.fix_text(text)
    if encoding is not None:
        return fixed, encoding
    if _looks_like_mojibake(text):
        raise IngestError(
            "the text looks garbled (sequences such as 'Ã¡' or 'Ä‘'): it was converted "
            "with the wrong encoding before; open it and save it again as UTF-8")
    return text, None


def _decode_raw(data: bytes) -> str:
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(codec)
            except UnicodeDecodeError as exc:
                raise IngestError(
                    f"cannot detect the text encoding: it starts like {codec.upper()} "
                    f"but byte {exc.start} is invalid") from None
    if b"\x00" in data:
        raise IngestError("cannot detect the text encoding: the file contains binary data "
                          "(NUL bytes); save it as UTF-8 text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    eight_bit = _decode_cp1252(data)
    if legacy.detect(eight_bit):
        return eight_bit            # decode_with_encoding converts it
    text = _decode_cp1258(data)
    if text is None:
        raise IngestError(
            "cannot detect the text encoding: it is neither UTF-8, UTF-16, Windows-1258 "
            "nor the old TCVN3 (ABC) or VNI fonts' Vietnamese; save it as UTF-8")
    return text


def _decode_cp1252(data: bytes) -> str:
    """The bytes as Windows-1252, as Word shows an 8-bit font's text. Neither TCVN3 nor
    VNI uses the five bytes it leaves undefined: they become U+FFFD."""
    return data.decode("cp1252", errors="replace")


def _decode_cp1258(data: bytes) -> str | None:
    """Windows-1258 text, if the bytes decode to plausible Vietnamese; else None."""
    try:
        text = unicodedata.normalize("NFC", data.decode("cp1258"))
    except UnicodeDecodeError:
        return None
    return text if _plausible_vietnamese(text) else None


def _plausible_vietnamese(text: str) -> bool:
    """No control characters, no stray combining marks, only Vietnamese letters.

    Latin-1 or VNI bytes read as Windows-1258 give letters such as "ñ", "ä" or "µ",
    or tone marks left over on consonants, so they fail here.
    """
    for char in text:
        if char.isascii():
            if ord(char) < 32 and char not in _CONTROL_OK:
                return False
            continue
        category = unicodedata.category(char)
        if category.startswith("L"):
            if char not in _VIET_LETTERS:
                return False
        elif category in ("Mn", "Cc", "Co", "Cn"):
            return False
    return True


def _looks_like_mojibake(text: str) -> bool:
    """True when at least two runs of UTF-8-read-as-cp1252 characters occur."""
    count = 0
    for match in _MOJIBAKE_RE.finditer(text):
        if _reencodes_to_utf8(text[match.start():match.start() + 3]):
            count += 1
            if count >= 2:
                return True
    return False


def _reencodes_to_utf8(chunk: str) -> bool:
    """Does ``chunk`` start with cp1252 characters that are really one UTF-8 character?"""
    for size in (2, 3):
        piece = chunk[:size]
        try:
            raw = piece.encode("cp1252")
        except UnicodeEncodeError:
            try:
                raw = piece.encode("latin-1")
            except UnicodeEncodeError:
                continue
        try:
            decoded = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if len(decoded) == 1 and not decoded.isascii():
            return True
    return False
