"""Text typed in the legacy Vietnamese fonts, TCVN3 (ABC) and VNI, turned into Unicode.

Before Unicode, ward offices typed Vietnamese in 8-bit fonts that draw Vietnamese letters in
place of Latin-1 ones. Word, a PDF or a text file keeps those bytes, so the text reads as
``Ph­êng Phóc Lîi`` (TCVN3, fonts ``.VnTime``, ``.VnArial``…) or ``Phöôøng Phuùc Lôïi``
(VNI, fonts ``VNI-Times``, ``VNI-Helve``…) for "Phường Phúc Lợi", and no search finds it.

Tables, written here from the published standards:

* TCVN3 is TCVN 5712:1993 "VN3": one byte per letter in 0xA1-0xFE. The bytes were checked
  one by one against glibc's iconv converter ``TCVN5712-1`` (its 0xA1-0xFF half; the lower
  half holds VN1 capitals over ASCII controls and Windows punctuation, never typed with the
  .VnTime fonts, so it is left out). Capitals with a tone mark have no byte: the "H" fonts
  (``.VnTimeH``) draw the lowercase bytes as capitals, which :func:`to_unicode` restores.
* VNI (VNI Software's Windows fonts) writes a letter as its base letter followed by one
  mark character: ``aù`` for "á", ``oâ`` for "ô", ``ôï`` for "ợ", ``ö`` for "ư"; checked
  against the VNI table of xvnkb (Dao Hai Lam, GPL; the table only, not its code).

Which one a text uses is decided by what the conversion does to its words: legacy text is
full of words that are not Vietnamese syllables ("Ph­êng", "Lôïi") and become syllables
when converted, while Unicode Vietnamese gets no better (it usually has letters such as
"ư" or "ạ" that no legacy text can hold, and such lines are never touched).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

TCVN3 = "tcvn3"
VNI = "vni"
ENCODINGS = (TCVN3, VNI)

# --- TCVN3 (TCVN 5712:1993 VN3), bytes 0xA1-0xFF ------------------------------------------
_TCVN3_BYTES = {
    0xA1: "Ă", 0xA2: "Â", 0xA3: "Ê", 0xA4: "Ô", 0xA5: "Ơ", 0xA6: "Ư", 0xA7: "Đ",
    0xA8: "ă", 0xA9: "â", 0xAA: "ê", 0xAB: "ô", 0xAC: "ơ", 0xAD: "ư", 0xAE: "đ",
    0xAF: "Ằ", 0xB0: "\u0300", 0xB1: "\u0309", 0xB2: "\u0303", 0xB3: "\u0301", 0xB4: "\u0323",
    0xB5: "à", 0xB6: "ả", 0xB7: "ã", 0xB8: "á", 0xB9: "ạ", 0xBA: "Ẳ", 0xBB: "ằ", 0xBC: "ẳ",
    0xBD: "ẵ", 0xBE: "ắ", 0xBF: "Ẵ", 0xC0: "Ắ", 0xC1: "Ầ", 0xC2: "Ẩ", 0xC3: "Ẫ", 0xC4: "Ấ",
    0xC5: "Ề", 0xC6: "ặ", 0xC7: "ầ", 0xC8: "ẩ", 0xC9: "ẫ", 0xCA: "ấ", 0xCB: "ậ", 0xCC: "è",
    0xCD: "Ể", 0xCE: "ẻ", 0xCF: "ẽ", 0xD0: "é", 0xD1: "ẹ", 0xD2: "ề", 0xD3: "ể", 0xD4: "ễ",
    0xD5: "ế", 0xD6: "ệ", 0xD7: "ì", 0xD8: "ỉ", 0xD9: "Ễ", 0xDA: "Ế", 0xDB: "Ồ", 0xDC: "ĩ",
    0xDD: "í", 0xDE: "ị", 0xDF: "ò", 0xE0: "Ổ", 0xE1: "ỏ", 0xE2: "õ", 0xE3: "ó", 0xE4: "ọ",
    0xE5: "ồ", 0xE6: "ổ", 0xE7: "ỗ", 0xE8: "ố", 0xE9: "ộ", 0xEA: "ờ", 0xEB: "ở", 0xEC: "ỡ",
    0xED: "ớ", 0xEE: "ợ", 0xEF: "ù", 0xF0: "Ỗ", 0xF1: "ủ", 0xF2: "ũ", 0xF3: "ú", 0xF4: "ụ",
    0xF5: "ừ", 0xF6: "ử", 0xF7: "ữ", 0xF8: "ứ", 0xF9: "ự", 0xFA: "ỳ", 0xFB: "ỷ", 0xFC: "ỹ",
    0xFD: "ý", 0xFE: "ỵ", 0xFF: "Ố",
}
# Programs show those bytes as the Latin-1 characters of the same number (0xB8 → "¸").
_TCVN3_DECODE = str.maketrans({chr(byte): char for byte, char in _TCVN3_BYTES.items()})
# Typing in VN3, a capital with a tone is its lowercase byte in an "H" font.
_TCVN3_ENCODE = {char: chr(byte) for byte, char in _TCVN3_BYTES.items()
                 if byte <= 0xAE or char.islower()}

# --- VNI: base letter + mark character -----------------------------------------------------
_TONES = "\u0301\u0300\u0309\u0303\u0323"          # sắc, huyền, hỏi, ngã, nặng
_VNI_TONES = "ùøûõï"                               # after a, e, o, u, y, ơ, ư
_VNI_HAT_TONES = "áàåãä"                           # after a circumflex (â, ê, ô)
_VNI_BREVE_TONES = "éèúüë"                         # after a breve (ă)
_VNI_VOWELS = {     # letter → (VNI spelling, the marks that carry its tones)
    "a": ("a", _VNI_TONES), "â": ("aâ", _VNI_HAT_TONES), "ă": ("aê", _VNI_BREVE_TONES),
    "e": ("e", _VNI_TONES), "ê": ("eâ", _VNI_HAT_TONES), "o": ("o", _VNI_TONES),
    "ô": ("oâ", _VNI_HAT_TONES), "ơ": ("ô", _VNI_TONES), "u": ("u", _VNI_TONES),
    "ư": ("ö", _VNI_TONES), "y": ("y", _VNI_TONES),
}
_VNI_SINGLES = {"í": "í", "ì": "ì", "ỉ": "æ", "ĩ": "ó", "ị": "ò", "ỵ": "î", "đ": "ñ"}


def _vni_table() -> dict[str, str]:
    """Every Vietnamese letter (both cases) → its VNI spelling."""
    table = dict(_VNI_SINGLES)
    for letter, (spelling, marks) in _VNI_VOWELS.items():
        table[letter] = spelling
        for tone, mark in zip(_TONES, marks):
            if letter == "y" and tone == "\u0323":
                continue                                # ỵ is a single character
            # "aâ" + sắc is "aá": the tone's mark takes the place of the hat or breve mark
            toned = spelling[0] + mark if len(spelling) == 2 else spelling + mark
            table[unicodedata.normalize("NFC", letter + tone)] = toned
    table.update({letter.upper(): spelling.upper() for letter, spelling in table.items()})
    return {letter: spelling for letter, spelling in table.items() if letter != spelling}


_VNI_ENCODE = _vni_table()
_VNI_DECODE = {spelling: letter for letter, spelling in _VNI_ENCODE.items()}
# A capitalized word may carry a lowercase mark ("Aù" for "Á"): read it as a capital too.
_VNI_DECODE.update({s[0] + s[1:].lower(): letter for letter, s in _VNI_ENCODE.items()
                    if len(s) == 2 and s[0].isupper() and s[0] + s[1:].lower() not in _VNI_DECODE})
_VNI_RE = re.compile("|".join(re.escape(s) for s in sorted(_VNI_DECODE, key=len, reverse=True)))

# --- deciding -----------------------------------------------------------------------------
# Windows code page 1252 beyond ASCII: what an 8-bit legacy text can hold once decoded.
_CP1252_HIGH = "".join(bytes([b]).decode("cp1252", "ignore") for b in range(0x80, 0x100))
_LEGACY_LINE_RE = re.compile(f"^[\\x00-\\x7f{re.escape(_CP1252_HIGH)}]*$")
_HAS_HIGH_RE = re.compile(f"[{re.escape(_CP1252_HIGH)}]")
_WORD_STRIP = "\"'()[]{}<>,.;:!?*/\\|-_=+`~…“”‘’–—"
_ONSET = r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnprstvx])?"
_NUCLEUS = (r"(?:iêu|yêu|oai|oao|oay|oeo|uây|uôi|ươi|ươu|uyê|uya|uyu|"
            r"ai|ao|au|ay|âu|ây|eo|êu|ia|iê|iu|oa|oă|oe|oi|oo|ôi|ơi|ua|uâ|uê|ui|uô|uơ|uy|"
            r"ưa|ưi|ưu|ươ|yê|[aăâeêioôơuưy])")
_SYLLABLE_RE = re.compile(f"^{_ONSET}{_NUCLEUS}(?:ch|ng|nh|[cmnpt])?$")
_TONE_MARKS = frozenset(_TONES)
DETECT_WORDS = 400      # the first words beyond ASCII tell the encoding of a long text
MIN_GAIN = 2            # words that become Vietnamese syllables, net, before converting


def to_unicode(text: str, encoding: str) -> str:
    """``text`` (legacy bytes read as Windows-1252) converted from ``encoding``.

    >>> to_unicode("Ph\\u00adêng Phóc Lîi", "tcvn3"), to_unicode("Phöôøng Phuùc Lôïi", "vni")
    ('Phường Phúc Lợi', 'Phường Phúc Lợi')
    >>> to_unicode("ñY BAN NH©N D©N PH¦êNG", "tcvn3")
    'ỦY BAN NHÂN DÂN PHƯỜNG'
    """
    if encoding == TCVN3:
        return _restore_capitals(text, text.translate(_TCVN3_DECODE))
    if encoding == VNI:
        return unicodedata.normalize("NFC", _VNI_RE.sub(lambda m: _VNI_DECODE[m[0]], text))
    raise ValueError(f"unknown legacy encoding {encoding!r}")


def from_unicode(text: str, encoding: str) -> str:
    """Unicode ``text`` as a legacy font stores it (read as Windows-1252); the reverse of
    :func:`to_unicode`, for making test files. Encode with ``.encode("cp1252")``."""
    table = _TCVN3_ENCODE if encoding == TCVN3 else _VNI_ENCODE
    out = []
    for char in unicodedata.normalize("NFC", text):
        if encoding == TCVN3 and char not in table and char.lower() in table:
            char = char.lower()                 # drawn as a capital by the "H" font
        out.append(table.get(char, char))
    return "".join(out)


def encoding_of_font(font: str | None) -> str | None:
    """The legacy encoding a font's name implies: ``.VnTime`` → tcvn3, ``VNI-Times`` → vni.

    >>> encoding_of_font(".VnTimeH"), encoding_of_font("VNI-Helve"), encoding_of_font("Arial")
    ('tcvn3', 'vni', None)
    """
    name = (font or "").strip().lower()
    if name.startswith(".vn"):
        return TCVN3
    if name.startswith(("vni-", "vni ")):
        return VNI
    return None


def capitals_font(font: str | None) -> bool:
    """Does this TCVN3 font draw every letter as a capital (``.VnTimeH``, ``.VnArialH``)?"""
    name = (font or "").strip()
    return encoding_of_font(name) == TCVN3 and name.endswith("H")


def fix_text(text: str) -> tuple[str, str | None]:
    """``text`` with its legacy-font lines converted, and the encoding found (or None).

    Lines holding a character no legacy font can produce (ư, ạ, ễ…) are Unicode already
    and stay as they are, so a document mixing both is converted line by line.

    >>> fix_text("Ph\\u00adêng Phóc Lîi tæ chøc héi nghÞ")
    ('Phường Phúc Lợi tổ chức hội nghị', 'tcvn3')
    >>> fix_text("Phường Phúc Lợi tổ chức hội nghị")
    ('Phường Phúc Lợi tổ chức hội nghị', None)
    """
    if not _HAS_HIGH_RE.search(text):
        return text, None
    lines = text.split("\n")
    candidates = [i for i, line in enumerate(lines)
                  if _HAS_HIGH_RE.search(line) and _LEGACY_LINE_RE.match(line)]
    if not candidates:
        return text, None
    encoding = detect("\n".join(lines[i] for i in candidates))
    if encoding is None:
        return text, None
    for i in candidates:
        converted = to_unicode(lines[i], encoding)
        if _line_gains(lines[i], converted):
            lines[i] = converted
    return "\n".join(lines), encoding


def detect(text: str) -> str | None:
    """The legacy encoding ``text`` is typed in, or None when it reads as Unicode."""
    words = _changeable_words(text)[:DETECT_WORDS]
    if not words:
        return None
    best, best_gain = None, 0
    for encoding in ENCODINGS:
        valid_before = valid_after = changed = 0
        for word in words:
            converted = _word_to_unicode(word, encoding)
            if converted == word:
                continue
            changed += 1
            valid_before += is_syllable(word)
            valid_after += is_syllable(converted)
        gain = valid_after - valid_before
        if gain >= MIN_GAIN and valid_after >= 0.6 * changed and gain > best_gain:
            best, best_gain = encoding, gain
    return best


@lru_cache(maxsize=1 << 16)         # words repeat: a text has a few thousand distinct ones
def is_syllable(word: str) -> bool:
    """Is ``word`` one Vietnamese syllable (any case, at most one tone mark)?

    >>> [is_syllable(w) for w in ("Phường", "nghiêng", "gì", "Lôïi", "Ph\\u00adêng", "été")]
    [True, True, True, False, False, False]
    """
    letters = []
    tones = 0
    for char in unicodedata.normalize("NFD", word.lower()):
        if char in _TONE_MARKS:
            tones += 1
        elif unicodedata.combining(char) and letters:
            letters[-1] = unicodedata.normalize("NFC", letters[-1] + char)
        else:
            letters.append(char)
    return tones <= 1 and bool(_SYLLABLE_RE.match("".join(letters)))


@lru_cache(maxsize=1 << 16)
def _word_to_unicode(word: str, encoding: str) -> str:
    return to_unicode(word, encoding)


def _changeable_words(text: str) -> list[str]:
    """The words of ``text`` that hold a character beyond ASCII, punctuation stripped."""
    words = (w.strip(_WORD_STRIP) for w in text.split())
    return [w for w in words if w and not w.isascii() and not any(c.isdigit() for c in w)]


def _line_gains(line: str, converted: str) -> bool:
    """Convert each line of a legacy document unless it reads worse converted.

    "Sè: 15/NQ-§U" (for "Số: 15/NQ-ĐU") reads as well either way: it is converted.
    """
    before = sum(map(is_syllable, _changeable_words(line)))
    return sum(map(is_syllable, _changeable_words(converted))) >= before


def _restore_capitals(original: str, converted: str) -> str:
    """Capitalize what was typed in capitals with an "H" font: "PH¦êNG" → "PHƯờNG" → "PHƯỜNG".

    A word whose ASCII letters are all capitals, one of them after its first letter, was
    typed in capitals, and so was every word of a line of such words ("XÃ" in "CỘNG HÒA XÃ
    HỘI"). Alone, "Hµ" may be "Hà" or "HÀ", and stays "Hà".
    """
    if converted == original:
        return converted
    lines = converted.split("\n")
    for number, line in enumerate(lines):
        words = line.split()
        if any(map(_typed_in_capitals, words)) and all(map(_no_small_ascii, words)):
            lines[number] = line.upper()
        else:
            lines[number] = re.sub(
                r"\S+", lambda m: m[0].upper() if _typed_in_capitals(m[0]) else m[0], line)
    return "\n".join(lines)


def _no_small_ascii(word: str) -> bool:
    return not any(c.isascii() and c.islower() for c in word)


def _typed_in_capitals(word: str) -> bool:
    """"NHâN", "ñY": capitals after the first letter; "Tæ" ("Tổ") is only capitalized."""
    word = word.strip(_WORD_STRIP)
    ascii_letters = [c for c in word if c.isascii() and c.isalpha()]
    return (all(c.isupper() for c in ascii_letters) and any(c.islower() for c in word)
            and any(c.isupper() for c in word[1:] if c.isascii()))
