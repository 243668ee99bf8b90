"""What staff type besides the subject: a document type, an issuer, a year, a bare number.

``nghị quyết phòng cháy 2022``, ``quyết định của UBND về hộ nghèo năm 2023``, ``kế hoạch 45
2022``: the subject is "phòng cháy", "hộ nghèo"; the rest describes the document. Those parts
become soft preferences (a ranking boost, a suggested filter), never hard filters: a year
typed may be the year in the title, and a type typed may be a word of the subject.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from search_service.text.fold import fold

# Types as staff name them (folded syllables) → the type as documents write it. Recognised
# at the start of a query only: "nghị quyết phòng cháy", not "theo quy định của nghị quyết".
DOC_TYPES = {
    "nghi quyet": "Nghị quyết", "quyet dinh": "Quyết định", "ke hoach": "Kế hoạch",
    "bao cao": "Báo cáo", "thong bao": "Thông báo", "chi thi": "Chỉ thị",
    "cong van": "Công văn", "huong dan": "Hướng dẫn", "to trinh": "Tờ trình",
    "bien ban": "Biên bản", "quy che": "Quy chế", "chuong trinh": "Chương trình",
    "ket luan": "Kết luận", "cong dien": "Công điện", "thong tu": "Thông tư",
    "nghi dinh": "Nghị định", "luat": "Luật", "bo luat": "Bộ luật",
}
# Issuers as typed (folded syllables) → the forms an issuer facet value may hold (folded).
ISSUERS = {
    "ubnd": ("ubnd", "uy ban nhan dan"), "uy ban nhan dan": ("ubnd", "uy ban nhan dan"),
    "uy ban": ("ubnd", "uy ban nhan dan"),
    "hdnd": ("hdnd", "hoi dong nhan dan"), "hoi dong nhan dan": ("hdnd", "hoi dong nhan dan"),
    "dang uy": ("dang uy",), "ubmttq": ("ubmttq", "mat tran to quoc"),
    "mat tran to quoc": ("ubmttq", "mat tran to quoc"),
}
_LINKS = frozenset({"cua", "ve", "nam", "so"})      # "của UBND", "về hộ nghèo", "năm 2023"
_YEAR = re.compile(r"(?:19[5-9]\d|20\d\d)")
_NUMBER = re.compile(r"\d{1,5}")


@dataclass
class Intent:
    """The parts of a query that describe the document rather than its subject."""
    doc_type: str | None = None         # as documents write it: "Nghị quyết"
    issuer: tuple[str, ...] = ()        # folded forms an issuer value may hold
    year: int | None = None
    number: str | None = None           # a bare number typed after a type: "45"
    parts: set[int] = field(default_factory=set)    # positions of these syllables

    @property
    def empty(self) -> bool:
        return not (self.doc_type or self.issuer or self.year or self.number)

    def weak(self, folded: str) -> bool:
        """Whether a syllable of these parts says little as text: the year, a link word."""
        return folded in _LINKS or folded == str(self.year)


def recognize(folded: list[str], number_parts: set[str] = frozenset()) -> Intent:
    """The type, issuer, year and bare number in a query's folded syllables.

    ``number_parts`` are syllables of a document number the query holds (a year inside
    ``123/2018/QĐ-UBND`` is no year of publication).

    >>> i = recognize("ke hoach 45 2022".split())
    >>> i.doc_type, i.year, i.number, sorted(i.parts)
    ('Kế hoạch', 2022, '45', [0, 1, 2, 3])
    >>> i = recognize("quyet dinh cua ubnd ve ho ngheo nam 2023".split())
    >>> i.doc_type, i.issuer, i.year, sorted(i.parts)
    ('Quyết định', ('ubnd', 'uy ban nhan dan'), 2023, [0, 1, 2, 3, 4, 7, 8])
    >>> recognize("phong chay chua chay".split()).empty
    True
    """
    intent = Intent()
    n = len(folded)
    for size in (2, 1):
        name = DOC_TYPES.get(" ".join(folded[:size]))
        if name and n > size:
            intent.doc_type, intent.parts = name, set(range(size))
            break
    for start in range(n):
        for size in (4, 3, 2, 1):
            forms = ISSUERS.get(" ".join(folded[start:start + size]))
            if forms and not intent.issuer and not intent.parts & set(range(start, start + size)):
                intent.issuer = forms
                intent.parts |= set(range(start, start + size))
                if start and folded[start - 1] == "cua":
                    intent.parts.add(start - 1)
    for i, word in enumerate(folded):
        if i in intent.parts or word in number_parts:
            continue
        if _YEAR.fullmatch(word) and intent.year is None:
            intent.year = int(word)
            intent.parts.add(i)
            if i and folded[i - 1] == "nam":
                intent.parts.add(i - 1)
        elif _NUMBER.fullmatch(word) and intent.doc_type and intent.number is None:
            intent.number = str(int(word))
            intent.parts.add(i)
    for i, word in enumerate(folded):            # "về" after a recognised part links it
        if word == "ve" and i - 1 in intent.parts and intent.issuer:
            intent.parts.add(i)
    if len(intent.parts) >= n:                  # nothing left: the words are the subject
        intent.parts = set(range(n)) if intent.number else set()
    return intent


def issuer_matches(value: str, forms: tuple[str, ...]) -> bool:
    """Whether an issuer facet value is written with one of ``forms``.

    >>> issuer_matches("UBND phường Phúc Lợi", ("ubnd", "uy ban nhan dan"))
    True
    >>> issuer_matches("HĐND phường Phúc Lợi", ("ubnd", "uy ban nhan dan"))
    False
    """
    text = " " + " ".join(re.findall(r"[a-z0-9]+", fold(str(value)).lower())) + " "
    return any(f" {form} " in text for form in forms)
