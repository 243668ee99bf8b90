"""Relations between documents, read from the text: which documents a text names by number,
what it says it does to them, and from when it applies itself.

A Vietnamese legal text states its relations in fixed phrases (Nghị định 30/2020/NĐ-CP,
Luật Ban hành văn bản quy phạm pháp luật):

* ``based_on``: the preamble, "Căn cứ Nghị quyết số 12/NQ-HĐND ngày …;" (a line of its own);
* ``replaces``: "… thay thế Quyết định số 45/2018/QĐ-UBND …", or "Luật … số 81/2006/QH11 …
  hết hiệu lực kể từ ngày Luật này có hiệu lực" (the old text ceases because this one applies);
* ``amends``: "Sửa đổi, bổ sung một số điều của Quy chế ban hành kèm theo Quyết định số …";
* ``repeals`` / ``repeals_part``: "Bãi bỏ Quyết định số …" / "Bãi bỏ Điều 5 của Quyết định số …";
* ``implements``: a plan or guide carrying out a named text: "Thực hiện Nghị quyết số …".

A verb binds the numbers that follow it in its clause, up to a passive phrase ("… đã được sửa
đổi, bổ sung theo Luật số …" describes the cited text, it is not what this text does) or a
number that is only mentioned on the way ("… theo Nghị định số …"). Reading errs on the side of
saying nothing: a number with no such phrase is a mention, never a relation.

Pure: no Flask, no Whoosh, no database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from search_service.text.fold import fold
from search_service.text.normalize import normalize_text
from search_service.text.numbers import DocNumber, canonical, doc_type_for, find_doc_numbers

TYPES = ("based_on", "replaces", "amends", "repeals", "repeals_part", "implements")
EVIDENCE_CHARS = 400

# Names a cited text is called by (lowercase, diacritics kept): a verb binds a number only
# when the words after it name a text or a part of one ("thay thế Quyết định số …", not
# "giấy tờ thay thế Giấy báo tử theo … Nghị định số …").
_TEXT_NAMES = ("hiến pháp", "bộ luật", "luật", "pháp lệnh", "nghị quyết", "nghị định",
               "quyết định", "chỉ thị", "thông tư liên tịch", "thông tư", "kế hoạch",
               "hướng dẫn", "quy chế", "quy định", "chương trình", "thông báo", "công văn",
               "kết luận", "thông tri", "đề án", "văn bản", "phụ lục", "điều", "khoản",
               "điểm", "chương", "mục", "một số", "các", "toàn bộ", "cho", "nội dung", "tên",
               "tiêu đề", "cụm từ")
_PART = re.compile(r"\b(?:điều|khoản|điểm|chương|mục|phụ lục|một số|các điều|cụm từ|nội dung"
                   r"|tiêu đề)\b", re.IGNORECASE)
_HEAD = re.compile(r"\s*(?:" + "|".join(re.escape(n) for n in _TEXT_NAMES) + r")\b",
                   re.IGNORECASE)

# Active verbs, longest first. "Bãi bỏ, sửa đổi, bổ sung" amends (the text stays in force).
_VERBS = re.compile(
    r"(?P<amends>(?:bãi bỏ,\s*)?sửa đổi,?\s*bổ sung|sửa đổi|bổ sung một số|đính chính)"
    r"|(?P<replaces>thay thế)"
    r"|(?P<repeals>bãi bỏ|hủy bỏ|huỷ bỏ)"
    r"|(?P<implements>(?:triển khai\s+)?thực hiện|triển khai)"
    r"|(?P<ceases>hết hiệu lực(?:\s+thi hành)?)", re.IGNORECASE)
# "được sửa đổi", "đã bị bãi bỏ": the clause describes a cited text from here on.
_PASSIVE = re.compile(r"\b(?:đã\s+)?(?:được|bị)\s*$", re.IGNORECASE)
_PASSIVE_ANY = re.compile(r"\b(?:được|bị)\s+(?:sửa đổi|bổ sung|thay thế|bãi bỏ|hủy bỏ|huỷ bỏ"
                          r"|đính chính|hướng dẫn|quy định chi tiết)", re.IGNORECASE)
# Between two numbers of one verb: words that show the second is only mentioned on the way.
_DETOUR = re.compile(r"\b(?:theo|tại|bởi|căn cứ|hướng dẫn|quy định chi tiết|thi hành)\b",
                     re.IGNORECASE)
# "Thực hiện" implements only at the start of a clause or after "để/nhằm", naming a text
# directly: "thực hiện theo quy định tại …" is how a rule is applied, not a plan.
_IMPLEMENT_START = re.compile(r"(?:^|\b(?:để|nhằm|nhằm|tiếp tục|và)\s+)$", re.IGNORECASE)
_BASIS = re.compile(r"^(?:Căn cứ|Căn cứ vào|Căn cứ theo)\b")
_LIST_ITEM = re.compile(r"^\s*(?:[-+•]|[a-zđ]\)|\d{1,2}[.)]|[IVX]{1,4}\.)\s*", re.IGNORECASE)
_CLAUSE_END = re.compile(r";|(?<=[^\sA-ZĐ.][^\s.])\.(?=\s+[A-ZĐÀ-Ỹ\d\"“(-])|:\s")
_ISSUER = re.compile(r"^[\s,]*(?:ngày\s+[\d/.\-]+(?:\s+tháng\s+\d+\s+năm\s+\d{4})?\s*)?"
                     r"(?:của\s+)(?P<issuer>[^,;:()]+?)(?=\s+(?:về|quy định|ban hành|"
                     r"hướng dẫn|sửa đổi|thay thế|đã|được|và|như)\b|[,;:()]|$)", re.IGNORECASE)
_DATE_AFTER = re.compile(r"^[\s,]*ngày\s+(?P<d>\d{1,2})(?:\s+tháng\s+|[/.\-])(?P<m>\d{1,2})"
                         r"(?:\s+năm\s+|[/.\-])(?P<y>\d{4})", re.IGNORECASE)
_YEAR_IN_NUMBER = re.compile(r"\d+\s*[/-]\s*((?:19|20)\d\d)\s*/")
_NAMED = re.compile(r"\s*(?:" + "|".join(re.escape(n) for n in _TEXT_NAMES[:16]) + r")\b",
                    re.IGNORECASE)
_NAME_JUST_BEFORE = re.compile(r"\b(?:" + "|".join(re.escape(n) for n in _TEXT_NAMES[:16])
                               + r")\s*$", re.IGNORECASE)
_NAME_BEFORE = re.compile(r"(?P<name>" + "|".join(re.escape(n) for n in _TEXT_NAMES[:16])
                          + r")\b[^,;]{0,80}?\s*(?:số\s*:?\s*)?$", re.IGNORECASE)

# Effective date. "Quyết định này có hiệu lực (thi hành) (kể) từ ngày 01 tháng 7 năm 2024",
# "… kể từ ngày ký (ban hành)", "… sau 10 ngày kể từ ngày ký".
_EFFECT = re.compile(r"có hiệu lực(?:\s+thi hành)?(?P<rest>[^.;\n]{0,120})", re.IGNORECASE)
_EFFECT_DATE = re.compile(r"^\s*(?:kể\s+)?từ\s+ngày\s+(?P<d>\d{1,2})(?:\s+tháng\s+|[/.\-])"
                          r"(?P<m>\d{1,2})(?:\s+năm\s+|[/.\-])(?P<y>\d{4})", re.IGNORECASE)
_EFFECT_SIGNED = re.compile(r"^\s*(?:kể\s+)?(?:từ|sau)\s+ngày\s+(?:ký|ban hành|thông qua)",
                            re.IGNORECASE)
_EFFECT_AFTER = re.compile(r"^\s*(?:sau|kể từ sau)\s+(?P<n>\d{1,3})\s+ngày\s+(?:,\s*)?kể\s+từ"
                           r"\s+ngày\s+(?:ký|ban hành|thông qua)", re.IGNORECASE)
_THIS_TEXT = re.compile(r"\bnày\s*(?:đã[^.;]{0,80}?)?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Relation:
    """What this text does to a document it names by number.

    ``number`` is the number as written, ``key`` its canonical key; ``detail`` the part
    concerned ("Điều 5 của"); ``issuer``, ``year`` and ``target_type`` what the text says of
    the target (to tell apart several documents with one number); ``evidence`` the clause.
    """
    type: str
    number: str
    key: str
    evidence: str
    detail: str = ""
    issuer: str | None = None
    year: int | None = None
    target_type: str | None = None


@dataclass(frozen=True)
class Effective:
    """When the text says it applies: on a day, or some days after it is signed."""
    on: date | None
    days_after_signing: int | None
    evidence: str

    def resolve(self, signed: date | None) -> date | None:
        """The effective day, given the day the text was signed (its publication date)."""
        if self.on is not None:
            return self.on
        if signed is None or self.days_after_signing is None:
            return None
        return date.fromordinal(signed.toordinal() + self.days_after_signing)


@dataclass(frozen=True)
class Reading:
    relations: list[Relation]
    effective: Effective | None


def read(text: str, own_number: str | None = None) -> Reading:
    """The relations and the effective date a document's text states."""
    text = normalize_text(text or "")
    return Reading(extract_relations(text, own_number), extract_effective(text))


def extract_relations(text: str, own_number: str | None = None) -> list[Relation]:
    """Relations stated in ``text``, in order, one per (type, number); the document's own
    number (``own_number``, in its header) is never a relation.

    >>> [(r.type, r.number) for r in extract_relations(
    ...     "Căn cứ Nghị định số 30/2020/NĐ-CP ngày 05/3/2020 của Chính phủ;\\n"
    ...     "Điều 3. Quyết định này có hiệu lực kể từ ngày ký và thay thế Quyết định "
    ...     "số 45/2018/QĐ-UBND ngày 12/4/2018 của UBND phường.")]
    [('based_on', '30/2020/NĐ-CP'), ('replaces', '45/2018/QĐ-UBND')]
    """
    own = _key(own_number) if own_number else None
    found: list[Relation] = []
    seen: set[tuple[str, str]] = set()
    for clause, carried in _clauses(text):
        for rel in _clause_relations(clause, carried):
            if rel.key != own and (rel.type, rel.key) not in seen:
                seen.add((rel.type, rel.key))
                found.append(rel)
    return found


def extract_effective(text: str) -> Effective | None:
    """The date from which the text says it applies, or None when it does not say.

    Only a statement about the text itself counts ("Quyết định này có hiệu lực …", or a
    clause that starts with "Có hiệu lực"), not one about a cited text.

    >>> extract_effective("Điều 3. Quyết định này có hiệu lực kể từ ngày 01 tháng 7 năm 2024.").on
    datetime.date(2024, 7, 1)
    >>> extract_effective("Nghị quyết này có hiệu lực sau 10 ngày kể từ ngày ký.").days_after_signing
    10
    """
    for m in _EFFECT.finditer(text or ""):
        before = text[max(0, m.start() - 160):m.start()]
        line_start = before.rfind("\n") + 1
        own_clause = before[line_start:]
        if not (_THIS_TEXT.search(own_clause) or not own_clause.strip()):
            continue
        if find_doc_numbers(own_clause[-100:]):     # "trước ngày Nghị định số … có hiệu lực"
            continue
        rest = m["rest"]
        evidence = _sentence_around(text, m.start(), m.end())
        if (d := _EFFECT_DATE.match(rest)) and (day := _day(d)):
            return Effective(day, None, evidence)
        if a := _EFFECT_AFTER.match(rest):
            return Effective(None, int(a["n"]), evidence)
        if _EFFECT_SIGNED.match(rest):
            return Effective(None, 0, evidence)
    return None


# -- clauses ---------------------------------------------------------------------------------
def _clauses(text: str):
    """``(clause, carried verb)`` pairs: lines cut at ";", ". " and ": ". A clause that ends
    with ":" after a verb and names no number hands the verb to the list under it
    ("Bãi bỏ các văn bản sau:" / "a) Quyết định số …")."""
    carried: tuple[str, str] | None = None
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        if carried and not _LIST_ITEM.match(line):
            carried = None
        pieces = _split_line(line)
        for index, piece in enumerate(pieces):
            yield piece, carried if index == 0 else None
        last = pieces[-1] if pieces else ""
        verb = _last_active_verb(last)
        if last.rstrip().endswith(":") and verb and not find_doc_numbers(last):
            carried = (verb, last.strip())
        elif not _LIST_ITEM.match(line):
            carried = None


def _split_line(line: str) -> list[str]:
    pieces, start = [], 0
    for m in _CLAUSE_END.finditer(line):
        pieces.append(line[start:m.end()].strip())
        start = m.end()
    pieces.append(line[start:].strip())
    return [p for p in pieces if p]


def _last_active_verb(clause: str) -> str | None:
    verbs = [_verb_kind(m) for m in _VERBS.finditer(clause) if not _is_passive(clause, m)]
    verbs = [v for v in verbs if v]
    return verbs[-1] if verbs else None


def _verb_kind(m: re.Match) -> str | None:
    return next((k for k in ("amends", "replaces", "repeals", "implements", "ceases") if m[k]),
                None)


def _is_passive(clause: str, m: re.Match) -> bool:
    return bool(_PASSIVE.search(clause[max(0, m.start() - 12):m.start()]))


# -- one clause ------------------------------------------------------------------------------
def _clause_relations(clause: str, carried: tuple[str, str] | None) -> list[Relation]:
    numbers = find_doc_numbers(clause)
    if not numbers:
        return []
    evidence = _evidence(clause, carried)
    if _BASIS.match(clause):        # a preamble line; "- Căn cứ vào …" in an article instructs
        return [_relation("based_on", clause, n, evidence) for n in numbers]
    found = _ceasing(clause, numbers, evidence)
    if carried and not found:
        kind = carried[0]
        kind = "replaces" if kind == "ceases" else kind
        first = numbers[0]
        if kind != "implements":
            detail = clause[:first.start].strip()
            if kind == "repeals" and _PART.search(detail):
                kind = "repeals_part"
            found.append(_relation(kind, clause, first, evidence, detail))
    return found + _bound_by_verbs(clause, numbers, evidence,
                                   {n.start for n in numbers if _taken(found, n)})


def _taken(found: list[Relation], number: DocNumber) -> bool:
    return any(r.number == number.raw for r in found)


def _ceasing(clause: str, numbers: list[DocNumber], evidence: str) -> list[Relation]:
    """"Luật … số 81/2006/QH11 (đã được sửa đổi … theo Luật số 36/2013/QH13) hết hiệu lực
    kể từ ngày Luật này có hiệu lực": every number before the verb ceases."""
    m = next((m for m in _VERBS.finditer(clause) if m["ceases"]), None)
    if m is None or not re.search(r"\bnày\b", clause[m.end():m.end() + 80]):
        return []
    out = []
    for n in numbers:
        if n.start > m.start():
            break
        part = clause[max(0, n.start - 60):n.start]
        kind = "repeals_part" if _PART.search(_since_last_number(part)) and out == [] \
            and re.search(r"\bcủa\s+\S+[^,;]*$", part) else "replaces"
        out.append(_relation(kind, clause, n, evidence))
    return out


def _since_last_number(text: str) -> str:
    return text.rsplit("/", 1)[-1]


def _bound_by_verbs(clause: str, numbers: list[DocNumber], evidence: str,
                    skip: set[int]) -> list[Relation]:
    """Numbers bound by the active verb before them in the clause (not "hết hiệu lực")."""
    out: list[Relation] = []
    verbs = [m for m in _VERBS.finditer(clause) if not m["ceases"]]
    for i, verb in enumerate(verbs):
        if _is_passive(clause, verb):
            continue
        kind = _verb_kind(verb)
        if _describes_a_text(clause, verb, numbers):
            continue
        if kind == "implements" and not _IMPLEMENT_START.search(
                _LIST_ITEM.sub("", clause[:verb.start()], count=1)):
            continue
        end = verbs[i + 1].start() if i + 1 < len(verbs) else len(clause)
        passive = _PASSIVE_ANY.search(clause, verb.end(), end)
        end = passive.start() if passive else end
        previous = None
        for n in numbers:
            if n.start < verb.end() or n.start >= end or n.start in skip:
                continue
            if previous is None:
                gap = clause[verb.end():n.start]
                if not _HEAD.match(gap) or len(gap) > 200:
                    break
                if kind == "implements" and (_PART.search(gap) or not _NAMED.match(gap)):
                    break
            elif _DETOUR.search(clause[previous.end:n.start]):
                break
            detail = clause[verb.end():n.start].strip() if previous is None else ""
            out.append(_relation(_refine(kind, detail), clause, n, evidence, detail))
            previous = n
    return out


def _describes_a_text(clause: str, verb: re.Match, numbers: list[DocNumber]) -> bool:
    """"Nghị định số 169/2018/NĐ-CP … sửa đổi, bổ sung …", "Luật sửa đổi, bổ sung …": the verb
    names what a cited text did (or a text's name), unless "này" makes it this text."""
    before = clause[:verb.start()]
    if re.search(r"\bnày\b", before[-60:]):
        return False
    return bool(any(n.end <= verb.start() for n in numbers)
                or _NAME_JUST_BEFORE.search(before))


def _refine(kind: str, detail: str) -> str:
    """A part of a text: repealing it is partial, replacing it amends the text."""
    whole = re.search(r"\b(?:quy chế|quy định|văn bản)\b.*\bban hành kèm theo\b", detail,
                      re.IGNORECASE)
    if kind == "repeals" and _PART.search(detail):
        return "repeals_part"
    if kind == "replaces" and _PART.search(detail) and not whole:
        return "amends"
    return kind


def _relation(kind: str, clause: str, n: DocNumber, evidence: str, detail: str = ""
              ) -> Relation:
    after = clause[n.end:n.end + 200]
    issuer = _ISSUER.match(after)
    year = _YEAR_IN_NUMBER.match(n.raw)
    when = _DATE_AFTER.match(after)
    name = _NAME_BEFORE.search(clause[max(0, n.start - 100):n.start])
    target_type = (name["name"].capitalize() if name and name["name"].lower() not in (
        "văn bản", "điều", "khoản", "điểm", "chương", "mục", "phụ lục") else None)
    detail = _LIST_ITEM.sub("", detail, count=1)
    detail = re.sub(r"\s*\bsố\s*:?$", "", detail) if _PART.search(detail) else ""
    return Relation(
        type=kind, number=n.raw, key=n.key, evidence=evidence, detail=_short(detail, 120),
        issuer=issuer["issuer"].strip() if issuer else None,
        year=int(year[1]) if year else (int(when["y"]) if when else None),
        target_type=doc_type_for(n.raw) or target_type)


def _evidence(clause: str, carried: tuple[str, str] | None) -> str:
    text = f"{carried[1]} {clause}" if carried else clause
    return _short(text, EVIDENCE_CHARS)


def _short(text: str, limit: int) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _sentence_around(text: str, start: int, end: int) -> str:
    left = max(text.rfind("\n", 0, start), text.rfind(". ", 0, start - 1))
    right = text.find("\n", end)
    right = len(text) if right < 0 else right
    dot = text.find(". ", end)
    if 0 <= dot < right:
        right = dot + 1
    return _short(text[left + 1:right], EVIDENCE_CHARS)


def _day(m: re.Match) -> date | None:
    try:
        return date(int(m["y"]), int(m["m"]), int(m["d"]))
    except ValueError:
        return None


def _key(number: str) -> str | None:
    try:
        return canonical(number)
    except ValueError:
        return None


def folded_issuer(issuer: str | None) -> set[str]:
    """An issuer as a set of folded words, for comparing "UBND phường Phúc Lợi" with "Ủy ban
    nhân dân phường Phúc Lợi" (the long forms are abbreviated first)."""
    if not issuer:
        return set()
    text = fold(normalize_text(issuer)).lower()
    for long, short in (("uy ban nhan dan", "ubnd"), ("hoi dong nhan dan", "hdnd"),
                        ("dang uy", "du"), ("mat tran to quoc", "mttq")):
        text = text.replace(long, short)
    return set(re.findall(r"\w+", text)) - {"cua", "va"}
