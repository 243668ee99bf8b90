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

# kind: (what a question asking for it says, what a heading of that kind opens with)
KINDS = {
    "criteria": ("yeu cau|tieu chuan|tieu chi|dieu kien|dap ung",
                 "tieu chuan|tieu chi|dieu kien|yeu cau"),
    "dossier": ("ho so|giay to|tai lieu", "ho so|giay to|thanh phan"),
    "sanction": ("xu phat|bi phat|phat tien|muc phat|xu ly|ky luat|vi pham",
                 "xu phat|xu ly|vi pham|ky luat|muc phat"),
    "authority": ("ai|co quan nao|don vi nao|tham quyen|trach nhiem",
                  "tham quyen|trach nhiem|nhiem vu"),
    "time": ("bao lau|thoi han|thoi gian|khi nao|luc nao|thoi diem",
             "thoi han|thoi gian|thoi diem"),
    "procedure": ("thu tuc|trinh tu|cach thuc|quy trinh", "thu tuc|trinh tu|cach thuc|quy trinh"),
    "rights": ("co quyen|duoc quyen|quyen loi|quyen han", "quyen"),
    "duties": ("nghia vu", "nghia vu|trach nhiem"),
    "scope": ("doi tuong|nhung ai|truong hop nao|pham vi", "doi tuong|truong hop|pham vi"),
    "form": ("hinh thuc", "hinh thuc"),
    "amount": ("bao nhieu|muc|ty le", "muc|ty le"),
    "content": ("noi dung", "noi dung"),
    "principle": ("nguyen tac", "nguyen tac"),
    "cost": ("kinh phi|chi phi|le phi", "kinh phi|chi phi|le phi"),
}
HEADING_WORDS = 12      # of a text without a title, read as its heading


def _phrases(spec: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(phrase.split()) for phrase in spec.split("|"))


_ASKED = {kind: _phrases(cues) for kind, (cues, _) in KINDS.items()}
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
    return frozenset(kind for kind, cues in _ASKED.items()
                     if any(_holds(words, cue) for cue in cues))


def heading(title: list[str], body: list[str]) -> list[str]:
    """A document's heading: its title after "Điều N." if it has one, else its title, else
    the first words of its text.

    >>> heading("luat x dieu 20 tieu chuan trong tai vien".split(), [])
    ['tieu', 'chuan', 'trong', 'tai', 'vien']
    >>> heading([], "thu tuc cap giay phep gom cac buoc sau".split())[:3]
    ['thu', 'tuc', 'cap']
    """
    for i in range(len(title) - 1):
        if title[i] == "dieu" and title[i + 1][:1].isdigit():
            return title[i + 2:]
    return title or body[:HEADING_WORDS]


def names_kind(asked: frozenset[str], head: list[str]) -> bool:
    """Whether ``head`` names, anywhere, one of the kinds of answer ``asked`` for.

    >>> names_kind(frozenset({"criteria"}), "dieu kien cap phep".split())
    True
    """
    return any(_holds(head, h) for kind in asked for h in _HEADS[kind])


def opens_with_another_kind(asked: frozenset[str], head: list[str]) -> bool:
    """Whether ``head`` opens with the name of a kind the question did not ask for, and names
    none it asked for anywhere.

    >>> opens_with_another_kind(frozenset({"criteria"}), "thu tuc cap the".split())
    True
    >>> opens_with_another_kind(frozenset({"criteria"}), "tieu chuan nhan vien".split())
    False
    >>> opens_with_another_kind(frozenset(), "thu tuc cap the".split())
    False
    """
    if not asked or names_kind(asked, head):
        return False
    return any(_holds(head, h, 1) for kind in _HEADS.keys() - asked for h in _HEADS[kind])
