"""Recognition and canonical keys of Vietnamese document numbers (số/ký hiệu).

pyvi splits ``15/NQ-ĐU`` into ``15 / NQ - ĐU``, so the analyzer finds numbers before segmentation
and indexes one token per number: its :func:`canonical` key (``15-nq-du``). Three printed styles:

* state ``{số}/{LOẠI}-{CƠ QUAN}``: ``15/QĐ-UBND``, ``6882/UBND-NC2`` (an agency first: a công văn);
* normative ``{số}/{năm}/{LOẠI}-{CƠ QUAN}``: ``123/2018/QĐ-UBND``, ``45/2019/QH14``;
* party ``{số}-{LOẠI}/{CƠ QUAN}``: ``15-NQ/ĐU``, ``36-HD/VPTW``.

A number always has a letter part, so dates (``12/4/2018``), times and fractions are never numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from search_service.text.fold import fold

# Printed type abbreviations (Nghị định 30/2020/NĐ-CP, Phụ lục III), upper-cased so that
# ``CTr``/``CT`` and ``TTr``/``TT`` stay apart while ``Qđ`` still reads as ``QĐ``.
_TYPES = {
    "NQ": "Nghị quyết", "QĐ": "Quyết định", "QYĐ": "Quy định", "KH": "Kế hoạch",
    "BC": "Báo cáo", "TB": "Thông báo", "CT": "Chỉ thị", "CTR": "Chương trình",
    "TTR": "Tờ trình", "HD": "Hướng dẫn", "HĐ": "Hợp đồng", "BB": "Biên bản",
    "TT": "Thông tư", "TTLT": "Thông tư liên tịch", "NĐ": "Nghị định",
    "VBHN": "Văn bản hợp nhất", "CV": "Công văn", "KL": "Kết luận", "CĐ": "Công điện",
    "PL": "Pháp lệnh", "QC": "Quy chế",
}
# A key has lost Đ: "hd" is read as the far more common Hướng dẫn (HD wins because it comes first).
_KEY_TYPES = {fold(abbr).lower(): name for abbr, name in reversed(_TYPES.items())}
# In a Party number (15-TT/ĐU) some abbreviations name other types than in state numbers.
_PARTY_TYPES = {"tt": "Thông tri"}
# Agencies that write công văn under their own name (``123/UBND-VP``); folded, lowercase.
_AGENCIES = frozenset({"ubnd", "hdnd", "ub", "ubmttq", "ubkt", "du", "tu", "qu", "hu", "ttg",
                       "vpcp", "vptw", "btc", "bct", "byt", "bca", "bnv", "bgddt", "mttq"})
# Query words that may open a loosely typed number ("15 nq du"): all are consonant clusters or
# agency names, none a Vietnamese syllable, so "điều 15 của luật" never becomes a number.
_LOOSE_FIRST = frozenset(_KEY_TYPES) | {"ubnd", "hdnd"}
_QH = re.compile(r"qh\d+")   # Quốc hội khóa N: the key part of a law's number

_L = "A-Za-zĐđ"              # document numbers use ASCII letters and Đ only
_CODE = rf"[A-ZĐ][{_L}0-9]*(?:&[{_L}0-9]+)*"
_CAPS = r"[A-ZĐ][A-ZĐ0-9]+(?:&[A-ZĐ0-9]+)*"
# Only the dash after the type may carry spaces ("15/QĐ - UBND"), and only before a caps agency.
_CODES = rf"{_CODE}(?:[ \t]*-[ \t]*{_CAPS})?(?:-{_CODE})*"
_SLASH = r"[ \t]?/[ \t]?"
_STRICT = re.compile(rf"""
    (?<![\w.,&/+-])(?<![A-ZĐ0-9]:)   # not in 100.000/kg, Km2+500/QL2, QCVN 10-MT:2015/BTNMT
    (?P<num>\d{{1,6}})
    (?: [/-](?:19|20)\d\d (?P<nsl>{_SLASH}) (?P<ncodes>{_CODES})          # 123/2018/QĐ-UBND
      | (?P<ssl>{_SLASH}) (?P<scodes>{_CODES})                            # 15/QĐ-UBND
      | (?P<pdash>[ \t]?-[ \t]?) (?P<ptype>{_CODE})
        (?P<psl>{_SLASH}) (?P<pcodes>{_CODES})                            # 15-NQ/ĐU
    )
    (?![\w&])
""", re.VERBOSE)
_PARTY_RAW = re.compile(r"\s*\d+\s*-\s*[^\W\d_][^/]*/")   # 15-NQ/ĐU; a key has no slash
_CODE_SEP = re.compile(r"[ \t]*[-&][ \t]*")
_PARTS = re.compile(r"[^\W_]+")
_KEY_PARTS = re.compile(r"[a-z0-9]+")        # a key is plain ASCII whatever the input held
_GLUED = re.compile(r"(\d+)([^\W\d_]+)")
_YEAR = re.compile(r"(?:19|20)\d\d")
_VOWELS = frozenset("aeiouy")
_YEAR_WORD = re.compile(r"(?<![a-z])nam\s+$")
_PRINTED = re.compile(r"/-*|-/-*")          # separators of state and party numbers
_PRINTED_YEAR = re.compile(r"[/-]/-*")      # ... and of normative ones
# Query scanning: a number, maybe glued to its type ("15nq"), then words joined by separators.
_Q_START = re.compile(r"(?<![\w.,&/+-])\d")
_Q_NUM = re.compile(rf"(\d{{1,6}})([{_L}]+)?(?![\w&])")
_Q_PART = re.compile(rf"([ \t]*[/-][ \t]*|[ \t]+)([{_L}0-9]+(?:&[{_L}0-9]+)*)(?![\w&])")


@dataclass(frozen=True)
class DocNumber:
    """A document number found in text: its span, the text as printed and its canonical key."""

    start: int
    end: int
    raw: str
    key: str


def _require_str(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    return value


def canonical(raw: str) -> str:
    """The key of a document number: folded, lowercase, parts joined by '-' without leading zeros.

    Every printed or typed form of one number gets the same key, so the key is what is indexed.

    >>> canonical("15-NQ/ĐU"), canonical("05/2021/TT-BNN&PTNT"), canonical("15nq đu")
    ('15-nq-du', '5-2021-tt-bnn-ptnt', '15-nq-du')
    """
    parts = _split(fold(_require_str(raw, "raw")).lower(), _KEY_PARTS)
    if not parts:
        raise ValueError(f"not a document number: {raw!r}")
    return "-".join(str(int(p)) if p.isdigit() else p for p in parts)


def _split(text: str, pattern: re.Pattern = _PARTS) -> list[str]:
    """Alphanumeric parts; a number glued to its type ("15nq") counts as two parts."""
    parts = pattern.findall(text)
    glued = _GLUED.fullmatch(parts[0]) if parts else None
    return list(glued.groups()) + parts[1:] if glued else parts


def _code_ok(code: str) -> bool:
    """A printed code is a capital abbreviation (``QĐ``, ``QyĐ``, ``TTg``, ``NC2``), not a word."""
    upper = sum(c.isupper() for c in code)
    return len(code) >= 2 and code[0].isupper() and upper > sum(c.islower() for c in code)


def _strict_ok(m: re.Match) -> bool:
    codes = m["ncodes"] or m["scodes"] or m["pcodes"]
    slash = m["nsl"] or m["ssl"] or m["psl"]
    if slash != "/" and "-" not in codes:        # "15 /QĐ-UBND" yes, "trang 3 / TW" no
        return False
    if m["ptype"] is not None:
        known = m["ptype"].upper() in _TYPES
        if (m["pdash"] != "-" and not known) or not _code_ok(m["ptype"]):   # not "2017 - REUTERS/E"
            return False
    return all(_code_ok(code) for code in _CODE_SEP.split(codes))


def find_doc_numbers(text: str) -> list[DocNumber]:
    """Document numbers printed in document text, left to right, non-overlapping.

    >>> [d.raw for d in find_doc_numbers("Theo 15-NQ/ĐU ngày 12/4/2018 và 123/2018/QĐ-UBND.")]
    ['15-NQ/ĐU', '123/2018/QĐ-UBND']
    """
    if "/" not in _require_str(text, "text"):   # every style has a slash: skip most paragraphs fast
        return []
    return [DocNumber(m.start(), m.end(), m[0], canonical(m[0]))
            for m in _STRICT.finditer(text) if _strict_ok(m)]


def query_doc_numbers(query: str) -> list[DocNumber]:
    """Document numbers in a search box: printed forms plus typed ones (``15 nq du``, ``15/nq/du``).

    The spans tell the caller which characters of the query were read as a number.

    >>> query_doc_numbers("nghị quyết 15 nq đu về phúc lợi")
    [DocNumber(start=11, end=19, raw='15 nq đu', key='15-nq-du')]
    """
    found = find_doc_numbers(query)
    taken = [(d.start, d.end) for d in found]
    for m in _Q_START.finditer(query):
        if any(s <= m.start() < e for s, e in taken):
            continue
        doc = _parse_loose(query, m.start())
        if doc and not any(s < doc.end and doc.start < e for s, e in taken):
            found.append(doc)
            taken.append((doc.start, doc.end))
    return sorted(found, key=lambda d: d.start)


def _parse_loose(text: str, pos: int) -> DocNumber | None:
    """Read a typed number at ``pos``: number, optional year, type, agencies."""
    m = _Q_NUM.match(text, pos)
    if not m:
        return None
    seps: list[str] = []
    words: list[str] = []       # the letter parts: the type, then agencies
    year = False
    end = m.end()
    if m[2]:                    # "15nq-du": only a known type may be glued to the number
        if fold(m[2]).lower() not in _LOOSE_FIRST:
            return None
        seps, words = ["glued"], [m[2]]
    while part := _Q_PART.match(text, end):
        sep, word = part[1], part[2]
        if not words and not year and _YEAR.fullmatch(word):
            year = True
        elif not word[0].isdigit() and (not words or sep in ("/", "-") or _agency_like(word)):
            words.append(word)
        else:
            break
        seps.append(sep)
        end = part.end()
    start = m.start()
    if not words or not _loose_ok(words, seps, year) or _is_year_of(text, start, m[1], seps):
        return None
    return DocNumber(start, end, text[start:end], canonical(text[start:end]))


def _is_year_of(text: str, start: int, number: str, seps: list[str]) -> bool:
    """Whether a loosely typed number is a year: "kế hoạch năm 2020 UBND TP"."""
    loose = any(s not in ("/", "-") for s in seps)
    return loose and bool(_YEAR.fullmatch(number)) and bool(
        _YEAR_WORD.search(fold(text[max(0, start - 6):start]).lower()))


def _agency_like(word: str) -> bool:
    """Whether a space-separated word reads as an agency (``ubnd``, ``btc``, ``nc2``), not a word.

    Vietnamese syllables all have a vowel; abbreviations mostly have none.
    """
    folded = fold(word).lower()
    return (any(c.isdigit() for c in word) or folded in _AGENCIES
            or (len(folded) >= 2 and not _VOWELS & set(folded)))


def _loose_ok(words: list[str], seps: list[str], year: bool) -> bool:
    first = fold(words[0]).lower()
    known = first in _LOOSE_FIRST or bool(_QH.fullmatch(first)) or (
        words[0].isupper() and len(words[0]) >= 2)
    # Tight punctuation in a printed shape ("15/nq-du", "2383/bvhttdl-tcdl") is evidence enough.
    printed = _PRINTED_YEAR if year else _PRINTED
    if all(s in ("/", "-") for s in seps) and printed.fullmatch("".join(seps)):
        return known or len(words) > 1 or year
    return known and (len(words) > 1 or year)


def type_abbreviation(doc_type: str) -> str | None:
    """The abbreviation that stands for ``doc_type`` in a number key (folded, lowercase), or
    None: :func:`doc_type_for` the other way round.

    >>> type_abbreviation("Kế hoạch"), type_abbreviation("Tờ trình"), type_abbreviation("Luật")
    ('kh', 'ttr', None)
    """
    return _KEY_ABBREVIATIONS.get(doc_type)


_KEY_ABBREVIATIONS = {name: key for key, name in _KEY_TYPES.items()}


def doc_type_for(raw_or_key: str) -> str | None:
    """The document type named by a number's type abbreviation, or None when it names none.

    >>> doc_type_for("15-NQ/ĐU"), doc_type_for("05-CTr/ĐU"), doc_type_for("6882/UBND-NC2")
    ('Nghị quyết', 'Chương trình', 'Công văn')
    """
    parts = _split(_require_str(raw_or_key, "raw_or_key"))
    if len(parts) < 2 or not parts[0].isdigit():
        return None
    letters = [p for p in parts[1:] if not p.isdigit()]
    if not letters:
        return None
    first = letters[0]
    key = fold(first).lower()
    if key in _PARTY_TYPES and _PARTY_RAW.match(raw_or_key):
        return _PARTY_TYPES[key]      # the Party's own types (Hướng dẫn 36-HD/VPTW)
    name = _TYPES.get(first.upper()) or _KEY_TYPES.get(key)
    if name:
        return name
    if _QH.fullmatch(key):
        return "Luật"
    normative = len(parts) > 2 and _YEAR.fullmatch(parts[1])
    party = _PARTY_RAW.match(raw_or_key)
    if not normative and not party and (key in _AGENCIES or len(letters) > 1):
        return "Công văn"
    return None
