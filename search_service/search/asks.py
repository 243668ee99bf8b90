"""What kind of answer a question asks for, and whether a document's heading names another.

Vietnamese legal texts name each article or passage by the kind of rule it holds: "Tiêu chuẩn
…", "Hồ sơ …", "Thẩm quyền …", "Thời hạn …". A question names the kind it wants in its own
words: "… phải đáp ứng những yêu cầu gì?" asks for what a heading calls "Tiêu chuẩn …" or
"Điều kiện …", "… trong thời gian bao lâu?" for "Thời hạn …". A heading that opens with the name
of another kind ("Thủ tục …" when criteria are asked) seldom holds the answer, even when it
shares the question's subject: :func:`search_service.search.rerank.kind_factors` lowers it.

The table is written from the conventions of legal headings, not fitted to questions; what it
changes is measured in bench/README.md. Every word here is folded (no diacritics, đ → d).
"""

from __future__ import annotations

import re

from search_service.text.normalize import normalize_text

# kind: (what a question asking for it says, folded: questions are often typed without
# diacritics; what a heading of that kind opens with, with them: a document keeps its
# diacritics, and they tell "Mức …" (an amount) from "Mục …" (a section, an aim))
KINDS = {
    "criteria": ("yeu cau|tieu chuan|tieu chi|dieu kien|dap ung",
                 "tiêu chuẩn|tiêu chí|điều kiện|yêu cầu"),
    "dossier": ("ho so|giay to|tai lieu", "hồ sơ|giấy tờ|thành phần"),
    "sanction": ("xu phat|bi phat|phat tien|muc phat|xu ly|ky luat|vi pham",
                 "xử phạt|xử lý|xử lí|vi phạm|kỷ luật|kỉ luật|mức phạt"),
    "authority": ("ai|co quan nao|don vi nao|tham quyen|trach nhiem",
                  "thẩm quyền|trách nhiệm|nhiệm vụ"),
    "time": ("bao lau|thoi han|thoi gian|khi nao|luc nao|thoi diem",
             "thời hạn|thời gian|thời điểm"),
    "procedure": ("thu tuc|trinh tu|cach thuc|quy trinh", "thủ tục|trình tự|cách thức|quy trình"),
    "rights": ("co quyen|duoc quyen|quyen loi|quyen han", "quyền"),
    "duties": ("nghia vu", "nghĩa vụ|trách nhiệm"),
    "scope": ("doi tuong|nhung ai|truong hop nao|pham vi", "đối tượng|trường hợp|phạm vi"),
    "form": ("hinh thuc", "hình thức"),
    "amount": ("bao nhieu|muc|ty le", "mức|tỷ lệ|tỉ lệ"),
    "content": ("noi dung", "nội dung"),
    "principle": ("nguyen tac", "nguyên tắc"),
    "cost": ("kinh phi|chi phi|le phi", "kinh phí|chi phí|lệ phí"),
}
HEADING_WORDS = 12      # of a text without a title, read as its heading
HEADING_CHARS = 200     # of a title, or of a text without one, read for the heading
_WORDS = re.compile(r"[^\W_]+")


def _phrases(spec: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(words(phrase)) for phrase in spec.split("|"))


def words(text: str) -> list[str]:
    """Lowercase syllables of ``text`` with their diacritics, in one tone-mark style.

    >>> words("Điều 5. Thời hạn xử lý hồ sơ")
    ['điều', '5', 'thời', 'hạn', 'xử', 'lý', 'hồ', 'sơ']
    >>> words("Huỷ bỏ") == words("Hủy bỏ")
    True
    """
    return _WORDS.findall(normalize_text(text).lower())


# " yeu cau ": a cue as it stands among a question's syllables joined by spaces
_ASKED = {kind: tuple(f" {' '.join(cue)} " for cue in _phrases(cues))
          for kind, (cues, _) in KINDS.items()}
_HEADS = {kind: _phrases(heads) for kind, (_, heads) in KINDS.items()}


def _holds(words: list[str], phrase: tuple[str, ...], limit: int | None = None) -> bool:
    """Whether ``phrase`` occurs in ``words``, starting within the first ``limit`` words.

    >>> _holds(["tieu", "chuan", "nhan", "vien"], ("tieu", "chuan"), 1)
    True
    >>> _holds(["nhan", "vien", "tieu", "chuan"], ("tieu", "chuan"), 1)
    False
    """
    n = len(phrase)
    stop = len(words) - n + 1 if limit is None else min(len(words) - n + 1, limit)
    return any(tuple(words[i:i + n]) == phrase for i in range(stop))


def asked_kinds(words: list[str]) -> frozenset[str]:
    """The kinds of answer a question (its folded syllables, in order) asks for.

    >>> sorted(asked_kinds("nhan vien bao ve can dap ung nhung yeu cau gi".split()))
    ['criteria']
    >>> sorted(asked_kinds("giay phep xay dung".split()))
    []
    """
    text = f" {' '.join(words)} "
    return frozenset(kind for kind, cues in _ASKED.items() if any(cue in text for cue in cues))


def heading(title: list[str], body: list[str]) -> list[str]:
    """A document's heading (:func:`words` of its title and text): its title after "Điều N."
    if it has one, else its title, else the first words of its text.

    >>> heading(words("Luật X – Điều 20. Tiêu chuẩn trọng tài viên"), [])
    ['tiêu', 'chuẩn', 'trọng', 'tài', 'viên']
    >>> heading([], words("Thủ tục cấp giấy phép gồm các bước sau"))[:3]
    ['thủ', 'tục', 'cấp']
    """
    for i in range(len(title) - 1):
        if title[i] == "điều" and title[i + 1][:1].isdigit():
            return title[i + 2:]
    return title or body[:HEADING_WORDS]


def heading_of(fields: dict) -> list[str]:
    """:func:`heading` of a document's stored fields (its text read only without a title).

    >>> heading_of({"title": "", "body": "Thời hạn giải quyết hồ sơ là 5 ngày"})[:2]
    ['thời', 'hạn']
    """
    title = words((fields.get("title") or "")[:HEADING_CHARS])
    return heading(title, [] if title else words((fields.get("body") or "")[:HEADING_CHARS]))


def names_kind(asked: frozenset[str], head: list[str]) -> bool:
    """Whether ``head`` names, anywhere, one of the kinds of answer ``asked`` for.

    >>> names_kind(frozenset({"criteria"}), words("Điều kiện cấp phép"))
    True
    """
    return any(_holds(head, h) for kind in asked for h in _HEADS[kind])


def opens_with_another_kind(asked: frozenset[str], head: list[str]) -> bool:
    """Whether ``head`` opens with the name of a kind the question did not ask for, and names
    none it asked for anywhere.

    >>> opens_with_another_kind(frozenset({"criteria"}), words("Thủ tục cấp thẻ"))
    True
    >>> opens_with_another_kind(frozenset({"criteria"}), words("Tiêu chuẩn nhân viên"))
    False
    >>> opens_with_another_kind(frozenset({"criteria"}), words("Mục tiêu của chương trình"))
    False
    >>> opens_with_another_kind(frozenset(), words("Thủ tục cấp thẻ"))
    False
    """
    if not asked or names_kind(asked, head):
        return False
    return any(_holds(head, h, 1) for kind in _HEADS.keys() - asked for h in _HEADS[kind])
