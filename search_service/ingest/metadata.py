"""Guess an administrative or Party document's metadata from its text.

The layout is fixed by Nghị định 30/2020/NĐ-CP (state bodies) and Hướng dẫn 36-HD/VPTW
(Party bodies): a header with the issuing body on the left and the national motto, the
place and the date on the right; the number ("Số: 123/QĐ-UBND", "Số 15-NQ/ĐU"); the type
in capitals on its own line with the subject under it; the body; the signature block
("TM. ỦY BAN NHÂN DÂN / CHỦ TỊCH / (Đã ký) / Nguyễn Văn An") and "Nơi nhận:".

Text extracted from a DOCX header table or a PDF may put both header columns on one line
("ỦY BAN NHÂN DÂN CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"), so the motto and the other column's
parts are cut out of each header line before it is read. Everything here is a guess:
explicit metadata (a JSONL record) wins, in the pipeline.
"""

from __future__ import annotations

import re
from datetime import date

from search_service.text.normalize import normalize_text
from search_service.text.numbers import doc_type_for, find_doc_numbers

HEADER_LINES = 40

# The type names; a heading is one of them in capitals, alone on its line.
DOC_TYPES = (
    "Nghị quyết", "Quyết định", "Kế hoạch", "Báo cáo", "Thông báo", "Chỉ thị", "Tờ trình",
    "Công văn", "Biên bản", "Hướng dẫn", "Chương trình", "Quy định", "Quy chế", "Kết luận",
    "Giấy mời", "Thông tri", "Đề án", "Phương án", "Công điện", "Thông cáo", "Quy trình",
    "Giấy giới thiệu", "Giấy ủy quyền", "Bản ghi nhớ", "Bản cam kết", "Lời kêu gọi",
    "Thông tư", "Nghị định", "Dự án", "Hợp đồng",
)
_TYPE_BY_HEADING = {name.upper(): name for name in DOC_TYPES}
# Types a page title may start with: "Công điện nêu rõ, ..." is a news sentence, not a type.
_HINT_TYPES = ("Nghị quyết", "Quyết định", "Kế hoạch", "Báo cáo", "Thông báo", "Chỉ thị",
               "Tờ trình", "Biên bản", "Hướng dẫn", "Chương trình", "Giấy mời", "Thông tri")

_MOTTO_RE = re.compile(
    r"CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM|ĐẢNG CỘNG SẢN VIỆT NAM"
    r"|Độc lập\s*-\s*Tự do\s*-\s*Hạnh phúc", re.IGNORECASE)
_UP = "A-ZĐÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴ"
_LOW = _UP.lower()
_PLACE = rf"(?:[{_UP}][{_LOW}]+ ?){{1,4}}"       # "Phúc Lợi", "Long Biên", "Hà Nội"
_SEPARATOR_RE = re.compile(r"^[\s\-_*=.~]*$")
_DATE_RE = re.compile(
    rf"{_PLACE},\s*ngày\s+(?P<d>\d{{1,2}})\s+tháng\s+(?P<m>\d{{1,2}})\s+năm\s+(?P<y>\d{{4}})")
_DATE_CUT_RE = re.compile(rf"{_PLACE},\s*ngày\b.*$")
_NUMBER_LABEL_RE = re.compile(r"\bSố\s*:?\s*(?=\d)")   # "số 97/2015/QH13" cites another
_SUBJECT_CUT_RE = re.compile(r"\b(V/v|Về việc)\b.*$")
_SIGN_HEAD_RE = re.compile(
    r"(^|\s)(T/M|TM\.|T\.M\.|KT\.|K/T|Q\.|TL\.|TUQ\.|TM)\s+(?P<body>\S.*)$")
_POSITIONS = (
    "CHỦ TỊCH", "PHÓ CHỦ TỊCH", "BÍ THƯ", "PHÓ BÍ THƯ", "TRƯỞNG BAN", "PHÓ TRƯỞNG BAN",
    "CHÁNH VĂN PHÒNG", "TRƯỞNG PHÒNG", "TRƯỞNG CÔNG AN", "CHỦ TRÌ", "THƯ KÝ",
    "CHỦ TỌA", "TỔ TRƯỞNG", "NGƯỜI LẬP", "TRƯỞNG ĐOÀN",
)
_POSITION_RE = re.compile(r"(^|\s)(" + "|".join(_POSITIONS) + r")$")
_SIGN_NOTE_RE = re.compile(r"^\(?\s*(đã ký|ký|ký tên|ký, ghi rõ|đã ký và đóng dấu)\b.*\)?$",
                           re.IGNORECASE)
_NAME_RE = re.compile(rf"^(?:[{_UP}][{_LOW}]*\.?\s+){{1,5}}[{_UP}][{_LOW}]+$")
_BODY_START_RE = re.compile(
    r"^(Căn cứ|Kính gửi|Thực hiện|Theo|Xét|Hôm nay|Điều \d|Phần|I\.|1\.)", re.IGNORECASE)

_BODY_ABBREVIATIONS = (
    ("ỦY BAN NHÂN DÂN", "UBND"), ("HỘI ĐỒNG NHÂN DÂN", "HĐND"),
    ("ỦY BAN MẶT TRẬN TỔ QUỐC VIỆT NAM", "Ủy ban MTTQ Việt Nam"),
    ("ỦY BAN MẶT TRẬN TỔ QUỐC", "Ủy ban MTTQ"), ("MẶT TRẬN TỔ QUỐC VIỆT NAM", "MTTQ Việt Nam"),
    ("ĐOÀN THANH NIÊN CỘNG SẢN HỒ CHÍ MINH", "Đoàn TNCS Hồ Chí Minh"),
    ("ĐẢNG ỦY", "Đảng ủy"), ("ĐẢNG BỘ", "Đảng bộ"), ("CHI BỘ", "Chi bộ"),
    ("VĂN PHÒNG", "Văn phòng"), ("CÔNG AN", "Công an"), ("QUẬN ỦY", "Quận ủy"),
    ("HUYỆN ỦY", "Huyện ủy"), ("THÀNH ỦY", "Thành ủy"), ("TỈNH ỦY", "Tỉnh ủy"),
)
_LOCALITIES = ("THÀNH PHỐ", "THỊ TRẤN", "THỊ XÃ", "PHƯỜNG", "QUẬN", "HUYỆN", "TỈNH", "XÃ")
_ACRONYM_RE = re.compile(r"^[A-ZĐ]{2,}$")


def extract(text: str, title_hint: str | None = None) -> dict:
    """Return the metadata that can be read from ``text``; only the keys found.

    ``title_hint`` (an HTML title, a file name) helps when the text has no type heading.
    """
    lines = [line.strip() for line in normalize_text(text).splitlines()]
    heading_at, doc_type = _find_heading(lines)
    header = lines[:heading_at] if heading_at is not None else _header_without_heading(lines)
    found = {}
    number = _doc_number(header) or _hint_number(title_hint)
    if number:
        found["doc_number"] = number
    doc_type = doc_type or _type_from_number(number) or _type_from_hint(title_hint)
    if doc_type:
        found["doc_type"] = doc_type
    issuer = _issuer(header)
    if issuer:
        found["issuer"] = issuer
    published = _published(header)
    if published:
        found["published"] = published
    signer = _signer(lines)
    if signer:
        found["signer"] = signer
    title = _title(lines, heading_at, doc_type, header)
    if title:
        found["title"] = title
    return found


def first_meaningful_line(lines: list[str]) -> str | None:
    """The first line with words in it: separators ("-----", "*") are not titles."""
    for line in lines:
        if sum(c.isalpha() for c in line) >= 3:
            return line[:200]
    return None


def _find_heading(lines: list[str]) -> tuple[int | None, str | None]:
    """The index and type of the first line that is a type heading alone ("QUYẾT ĐỊNH")."""
    for index, line in enumerate(lines[:HEADER_LINES + 20]):
        name = _TYPE_BY_HEADING.get(re.sub(r"\s+", " ", line))
        if name:
            return index, name
    return None, None


def _header_without_heading(lines: list[str]) -> list[str]:
    """A công văn has no type heading: its header ends where the letter starts."""
    for index, line in enumerate(lines[:HEADER_LINES]):
        if _BODY_START_RE.match(line) or len(line) > 120:
            return lines[:index]
    return lines[:HEADER_LINES]


def _doc_number(header: list[str]) -> str | None:
    """The number printed after "Số" in the header, without the label."""
    for line in header:
        found = _number_label(line)
        if found:
            return found[1]
    return None


def _number_label(line: str) -> tuple[int, str] | None:
    """Where "Số: 123/QĐ-UBND" starts in ``line``, and the number; "tổ số 5" is no number."""
    for label in _NUMBER_LABEL_RE.finditer(line):
        number = _number_at(line, label.end())
        if number:
            return label.start(), number
    return None


def _hint_number(title_hint: str | None) -> str | None:
    """"Quyết định số 123/QĐ-UBND về ..." as a page title (only after a type name)."""
    if not _type_from_hint(title_hint):
        return None
    match = re.search(r"\bsố\s*:?\s*(?=\d)", title_hint, re.IGNORECASE)
    return _number_at(title_hint, match.end()) if match else None


def _type_from_number(number: str | None) -> str | None:
    return doc_type_for(number) if number else None


def _type_from_hint(title_hint: str | None) -> str | None:
    """"Kế hoạch số 12/KH-UBND ..." or "Thông báo về ..." as a page title gives the type;
    "Báo cáo tại Đại hội, ..." is a news headline, so a number or "về" must follow."""
    if not title_hint:
        return None
    words = normalize_text(title_hint).strip().lower()
    for name in _HINT_TYPES:
        rest = words[len(name):] if words.startswith(name.lower() + " ") else ""
        if re.match(r"\s+(số\s*:?\s*\d|về\b|v/v\b)", rest):
            return name
    return None


def _clean_header_line(line: str) -> str:
    """Cut the motto, the number, the date and the subject out of one header line."""
    line = _MOTTO_RE.sub(" ", line)
    found = _number_label(line)
    if found:
        line = line[:found[0]]
    line = _DATE_CUT_RE.sub(" ", line)
    line = _SUBJECT_CUT_RE.sub(" ", line)
    return re.sub(r"\s+", " ", line).strip(" -*_")


def _issuer(header: list[str]) -> str | None:
    """The issuing body: the lower line of the header block, read as a proper name."""
    if not any(_MOTTO_RE.search(line) or _number_label(line) for line in header):
        return None  # no administrative header: a news article's first line is no issuer
    block = []
    for raw in header:
        line = _clean_header_line(raw)
        if not line or _SEPARATOR_RE.match(line):
            continue
        if line.upper() != line or not any(c.isalpha() for c in line):
            continue
        block.append(line)
    if not block:
        return None
    lower = block[-1]
    if len(block) >= 2 and lower.startswith(_LOCALITIES):
        lower = f"{block[-2]} {lower}"
    return _proper_name(lower)


def _proper_name(caps: str) -> str:
    """"ỦY BAN NHÂN DÂN PHƯỜNG PHÚC LỢI" → "UBND phường Phúc Lợi"."""
    for locality in _LOCALITIES:
        match = re.search(rf"(^|\s){locality}\s+(?P<place>.+)$", caps)
        if match:
            body = caps[:match.start()].strip()
            place = match.group("place").title()
            return " ".join(filter(None, [_body_name(body), locality.lower(), place]))
    return _body_name(caps)


def _body_name(caps: str) -> str:
    """Abbreviate the well-known bodies; otherwise capitalize each name segment."""
    if not caps:
        return ""
    for long, short in _BODY_ABBREVIATIONS:
        if caps.startswith(long):
            rest = caps[len(long):].strip()
            return f"{short} {_segments(rest)}".strip()
    words = caps.split(" ", 1)
    head = words[0].capitalize()
    return f"{head} {_segments(words[1])}" if len(words) > 1 else head


def _segments(caps: str) -> str:
    """"TÀI CHÍNH - KẾ HOẠCH" → "Tài chính - Kế hoạch"; acronyms stay in capitals."""
    parts = []
    for segment in caps.split(" - "):
        words = [w if _ACRONYM_RE.match(w) and not _has_vowel(w) else w.lower()
                 for w in segment.split()]
        if words:
            words[0] = words[0][0].upper() + words[0][1:]
        parts.append(" ".join(words))
    return " - ".join(parts)


def _has_vowel(word: str) -> bool:
    return any(c in "AEIOUY" for c in word)


def _published(header: list[str]) -> str | None:
    """"Phúc Lợi, ngày 05 tháng 3 năm 2024" → "2024-03-05"."""
    for line in header:
        match = _DATE_RE.search(line)
        if not match:
            continue
        try:
            day = date(int(match["y"]), int(match["m"]), int(match["d"]))
        except ValueError:
            continue
        return day.isoformat()
    return None


def _signer(lines: list[str]) -> str | None:
    """The name under the last signature block ("TM. ỦY BAN NHÂN DÂN / CHỦ TỊCH / ...")."""
    starts = [i for i, line in enumerate(lines) if _is_signature_head(line)]
    for start in reversed(starts):
        for line in lines[start + 1:start + 12]:
            if line.lower().startswith("nơi nhận"):
                break
            if not line or line.isupper() or _SIGN_NOTE_RE.match(line):
                continue
            if _NAME_RE.match(line):
                return line
    return None


def _is_signature_head(line: str) -> bool:
    """"TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "BÍ THƯ" (maybe after the other column)."""
    head = _SIGN_HEAD_RE.search(line)
    return bool(head and head.group("body").isupper() or _POSITION_RE.search(line))


def _title(lines: list[str], heading_at: int | None, doc_type: str | None,
           header: list[str]) -> str | None:
    """Type plus subject: "Quyết định về việc thành lập Tổ công tác ..."."""
    if heading_at is not None:
        subject = _subject_lines(lines[heading_at + 1:heading_at + 5])
    else:
        subject = _vv_subject(header)
    if not subject:
        return doc_type if heading_at is not None else None
    if not doc_type:
        return subject[0].upper() + subject[1:]
    return f"{doc_type} {_lower_first(subject)}"


def _subject_lines(candidates: list[str]) -> str:
    parts = []
    for line in candidates:
        if not line or _SEPARATOR_RE.match(line) or line.isupper() or _BODY_START_RE.match(line):
            break
        parts.append(line)
    return " ".join(parts)


def _vv_subject(header: list[str]) -> str:
    """A công văn has no type heading; its subject is the "V/v ..." line under the number."""
    for index, line in enumerate(header):
        match = _SUBJECT_CUT_RE.search(line)
        if match:
            rest = _subject_lines(header[index + 1:index + 3])
            return " ".join(filter(None, [match.group(0).strip(), rest]))
    return ""


def _lower_first(subject: str) -> str:
    """"V/v ..." → "về việc ..."; "Về ..." → "về ..."; proper names and acronyms stay."""
    if subject.startswith("V/v"):
        return "về việc" + subject[3:]
    first = subject.split(" ", 1)[0]
    if _ACRONYM_RE.match(first) or first in ("Đảng", "Nhà", "Quốc", "Chính", "Đại", "Ủy",
                                             "Mặt", "Hội", "Đoàn", "Bác"):
        return subject
    return subject[0].lower() + subject[1:]



def _number_at(line: str, pos: int) -> str | None:
    """The số/ký hiệu that starts at ``line[pos]``, as printed."""
    for found in find_doc_numbers(line[pos:]):
        if found.start <= 1:
            return found.raw
    return None


def document_from_lines(lines: list[str], fallback_title: str) -> dict:
    """A document from the text lines of a file: its body and what the text says of itself."""
    body = "\n".join(lines)
    doc = extract(body)
    doc.setdefault("title", first_meaningful_line(lines) or fallback_title)
    doc["body"] = body
    return doc
