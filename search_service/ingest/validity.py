"""Whether a document is in force on a given day, from the relations other documents state.

A document is ``replaced`` or ``repealed`` from the day the later document that says so
applies (its effective date, else the day it was signed); ``not_yet_in_force`` before its own
effective date; ``in_force`` otherwise, when it is a kind of text that has a validity at all
(a decision, a resolution, a plan — not a report or a news item) or states an effective
date; ``unknown`` for the rest. Amendments and partial repeals leave a document in force and
are listed with it. A person's decision (``override``) wins over all of this.

Pure: the library gathers the facts, this module only decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

STATUSES = ("in_force", "not_yet_in_force", "replaced", "repealed", "unknown")
# Texts that take effect and are later replaced or repealed.
TYPES_WITH_VALIDITY = frozenset({
    "Hiến pháp", "Bộ luật", "Luật", "Pháp lệnh", "Nghị quyết", "Nghị định", "Quyết định",
    "Chỉ thị", "Thông tư", "Thông tư liên tịch", "Quy định", "Quy chế", "Kế hoạch",
    "Hướng dẫn", "Chương trình", "Thông tri", "Đề án", "Phương án", "Quy trình", "Kết luận",
    "Văn bản hợp nhất",
})
# Relation type (stated by the source) → what it does to its target.
ENDING = {"replaces": "replaced", "repeals": "repealed"}


@dataclass(frozen=True)
class Facts:
    """What is known of the document itself."""
    doc_type: str | None = None
    published: date | None = None
    effective: date | None = None


@dataclass(frozen=True)
class Incoming:
    """A relation another document (``source_id``) states about this one."""
    type: str
    source_id: str
    applies_from: date | None = None     # the source's effective date, else its signing day


@dataclass(frozen=True)
class Override:
    """A person's decision on the status; ``since`` and ``by`` are optional."""
    status: str
    since: date | None = None
    by: str | None = None


@dataclass
class Validity:
    status: str
    since: date | None = None
    by: str | None = None
    effective: date | None = None
    amended_by: list[str] = field(default_factory=list)
    partly_repealed_by: list[str] = field(default_factory=list)
    corrected: bool = False

    def to_json(self) -> dict:
        """``{"status", "since", "by", ...}`` with ISO dates, as the API returns it."""
        return {"status": self.status, "since": _iso(self.since), "by": self.by,
                "amended_by": list(self.amended_by),
                "partly_repealed_by": list(self.partly_repealed_by),
                "corrected": self.corrected}


def validity_of(facts: Facts, incoming: list[Incoming], today: date,
                override: Override | None = None) -> Validity:
    """The document's status on ``today``.

    >>> ended = Incoming("replaces", "qd-2024", date(2024, 7, 1))
    >>> validity_of(Facts("Quyết định", date(2018, 4, 12)), [ended], date(2024, 8, 1)).status
    'replaced'
    >>> validity_of(Facts("Quyết định", date(2018, 4, 12)), [ended], date(2024, 6, 1)).status
    'in_force'
    """
    applied = [r for r in incoming if r.applies_from is None or r.applies_from <= today]
    amended = _sources(applied, "amends")
    partly = _sources(applied, "repeals_part")
    start = facts.effective or facts.published
    result = Validity("unknown", effective=facts.effective, amended_by=amended,
                      partly_repealed_by=partly)
    endings = sorted((r for r in applied if r.type in ENDING),
                     key=lambda r: (r.applies_from or date.min, r.type != "replaces",
                                    r.source_id))
    if endings:
        first = endings[0]
        result.status, result.since, result.by = ENDING[first.type], first.applies_from, \
            first.source_id
    elif facts.effective and facts.effective > today:
        result.status, result.since = "not_yet_in_force", facts.effective
    elif facts.effective or (facts.doc_type in TYPES_WITH_VALIDITY and start):
        result.status, result.since = "in_force", start
    if override is not None:
        result.status, result.since, result.by = override.status, override.since, override.by
        result.corrected = True
    return result


def _sources(relations: list[Incoming], kind: str) -> list[str]:
    out: list[str] = []
    for r in sorted(relations, key=lambda r: (r.applies_from or date.min, r.source_id)):
        if r.type == kind and r.source_id not in out:
            out.append(r.source_id)
    return out


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None
