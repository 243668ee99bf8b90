"""What the document page and its JSON twin show of relations and validity (#11).

The library is the source (:mod:`search_service.library.relations`): relations read once,
linked, corrected by staff. A document the library does not hold (an index ingested without
one) still shows what its own text says, its targets found through the index by number; its
status is then the one the index was built with, or ``unknown``. Nothing a reader may not see
is shown: a target or source that is internal is given without its id.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import date

from flask import url_for
from markupsafe import Markup, escape

from search_service.text.numbers import find_doc_numbers
from search_service.ingest import relations as reading
from search_service.library.errors import LibraryError
from search_service.web.service import engine

logger = logging.getLogger(__name__)

VALIDITY_LABELS = {"in_force": "Còn hiệu lực", "not_yet_in_force": "Chưa có hiệu lực",
                   "replaced": "Đã bị thay thế", "repealed": "Đã bị bãi bỏ",
                   "unknown": "Chưa xác định"}
# Sections of the page, in order: (title, relation types) forward, then reverse.
FORWARD = (("Văn bản căn cứ", ("based_on",)),
           ("Văn bản được sửa đổi / thay thế", ("replaces", "amends", "repeals",
                                                "repeals_part")),
           ("Văn bản được triển khai thực hiện", ("implements",)))
REVERSE = (("Bị thay thế bởi", ("replaced_by",)), ("Bị bãi bỏ bởi", ("repealed_by",)),
           ("Được sửa đổi, bổ sung bởi", ("amended_by",)),
           ("Bị bãi bỏ một phần bởi", ("partly_repealed_by",)),
           ("Được hướng dẫn bởi", ("implemented_by",)), ("Là căn cứ của", ("basis_of",)))
VERBS = {"replaces": "Thay thế", "amends": "Sửa đổi, bổ sung", "repeals": "Bãi bỏ",
         "repeals_part": "Bãi bỏ một phần", "based_on": "Căn cứ", "implements": "Thực hiện"}


def document_relations(doc: dict, include_internal: bool) -> dict:
    """``{"effective", "relations", "related_by", "validity"}`` of a document as the reader
    may see them (the API's keys)."""
    found = _from_library(doc["id"])
    if found is None:
        found = _from_text(doc, include_internal)
    visible = _visible(found, include_internal)
    for rel in found["relations"]:
        if rel["target_id"] not in visible:
            rel["target_id"] = None
    found["related_by"] = [r for r in found["related_by"] if r["source_id"] in visible]
    by = found["validity"].get("by")
    if by and by not in visible:
        found["validity"]["by"] = None
    for key in ("amended_by", "partly_repealed_by"):
        found["validity"][key] = [i for i in found["validity"].get(key, []) if i in visible]
    return found


def _from_library(doc_id: str) -> dict | None:
    from search_service.library import NotFound
    from search_service.library.relations import Relations
    from search_service.web.auth import library

    try:
        lib = library()
        return Relations(lib).document(doc_id) if lib is not None else None
    except NotFound:
        return None
    except (LibraryError, OSError, sqlite3.Error):  # the text can still be read
        logger.exception("relations of %s: the library could not be read", doc_id)
        return None


def _from_text(doc: dict, include_internal: bool) -> dict:
    text = reading.read(doc.get("body") or "", doc.get("doc_number"))
    keys = engine().documents_by_number([r.key for r in text.relations], include_internal)
    signed = _day(doc.get("published"))
    effective = text.effective.resolve(signed) if text.effective else None
    return {"effective": effective and effective.isoformat(),
            "relations": [{"type": r.type, "number": r.number, "evidence": r.evidence,
                           "detail": r.detail, "origin": "text",
                           "target_id": _only(keys.get(r.key), doc["id"])}
                          for r in text.relations],
            "related_by": [],
            "validity": {"status": doc.get("validity") or "unknown", "since": None, "by": None,
                         "amended_by": [], "partly_repealed_by": [], "corrected": False},
            "effective_evidence": text.effective.evidence if text.effective else None}


def _only(ids: list[str] | None, own: str) -> str | None:
    ids = [i for i in ids or [] if i != own]
    return ids[0] if len(ids) == 1 else None


def _visible(found: dict, include_internal: bool) -> set[str]:
    ids = {r["target_id"] for r in found["relations"]} | \
        {r["source_id"] for r in found["related_by"]} | {found["validity"].get("by")} | \
        set(found["validity"].get("amended_by", [])) | \
        set(found["validity"].get("partly_repealed_by", []))
    return {i for i in ids if i and engine().get_document(i, include_internal=include_internal)}


def page_view(doc: dict, found: dict, include_internal: bool) -> dict:
    """What the page's sections show: the status with its evidence, and the lists."""
    titles = _titles(found, include_internal)
    validity = found["validity"]
    by = validity.get("by")
    evidence = next((r.get("evidence") for r in found["related_by"] if r["source_id"] == by
                     and r["type"] in ("replaced_by", "repealed_by")), None)
    groups = []
    for title, kinds in FORWARD:
        items = [_item(r["target_id"], r["number"], titles, r.get("evidence"),
                       VERBS.get(r["type"]) if len(kinds) > 1 else None, r.get("detail"))
                 for r in found["relations"] if r["type"] in kinds]
        if items:
            groups.append({"title": title, "items": items})
    for title, kinds in REVERSE:
        items = [_item(r["source_id"], r.get("number"), titles, r.get("evidence"))
                 for r in found["related_by"] if r["type"] in kinds]
        if items:
            groups.append({"title": title, "items": items})
    return {"status": validity["status"], "label": VALIDITY_LABELS[validity["status"]],
            "since": validity.get("since"), "corrected": validity.get("corrected"),
            "by": _item(by, None, titles) if by else None, "evidence": evidence,
            "effective": found.get("effective"),
            "effective_evidence": found.get("effective_evidence"), "groups": groups}


def _titles(found: dict, include_internal: bool) -> dict[str, dict]:
    ids = {r["target_id"] for r in found["relations"]} | \
        {r["source_id"] for r in found["related_by"]} | {found["validity"].get("by")}
    out = {}
    for doc_id in ids - {None}:
        doc = engine().get_document(doc_id, include_internal=include_internal)
        if doc:
            out[doc_id] = doc
    return out


def _item(doc_id, number, titles, evidence=None, verb=None, detail=None) -> dict:
    doc = titles.get(doc_id) if doc_id else None
    number = number or (doc or {}).get("doc_number")
    label = " – ".join(filter(None, [number, (doc or {}).get("title")])) or doc_id
    return {"label": label, "url": url_for("ui.document", doc_id=doc_id) if doc else None,
            "evidence": evidence, "verb": verb, "detail": detail}


def link_numbers(paragraphs: list[Markup], own_number: str | None, found: dict,
                 include_internal: bool) -> list[Markup]:
    """The body's paragraphs with each number of a document the reader may open made a link."""
    own = reading._key(own_number) if own_number else None
    keys = {n.key for p in paragraphs for n in find_doc_numbers(str(p))} - {own}
    if not keys:
        return paragraphs
    targets = {k: _only(v, "") for k, v in engine().documents_by_number(
        sorted(keys), include_internal).items()}
    for rel in found["relations"]:          # the library's link wins (issuer, year, staff)
        key = reading._key(rel["number"])
        if rel["target_id"] and key:
            targets[key] = rel["target_id"]
    return [_linked(p, targets) for p in paragraphs]


def _linked(paragraph: Markup, targets: dict[str, str | None]) -> Markup:
    html, out, last = str(paragraph), [], 0
    for n in find_doc_numbers(html):
        target = targets.get(n.key)
        if not target or html.rfind("<", 0, n.start) > html.rfind(">", 0, n.start):
            continue                        # no document, or inside a tag
        out += [html[last:n.start], f'<a class="doc-ref" href="'
                f'{escape(url_for("ui.document", doc_id=target))}">{n.raw}</a>']
        last = n.end
    return Markup("".join(out) + html[last:]) if out else paragraph


def _day(value) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


# -- the staff console's relation page -------------------------------------------------------
# The types a person may choose, as the console's form lists them.
TYPE_CHOICES = tuple((t, VERBS[t]) for t in ("replaces", "repeals", "amends", "repeals_part",
                                             "based_on", "implements"))


def console_relations(lib, doc_id: str) -> dict:
    """What the console's relation page shows of a document the library holds: its
    relations (what the text says and what staff decided, removed ones included, each with
    its target's number and title), what other documents say of it, and its validity."""
    from search_service.library.relations import Relations

    rels = Relations(lib)
    rows = []
    for rel in rels.listing(doc_id):
        target = _library_title(lib, rel["target_id"])
        rows.append({**rel, "verb": VERBS.get(rel["type"]) if rel["type"] else None,
                     "target_title": target})
    found = rels.document(doc_id)
    incoming = [{**r, "label": _REVERSE_LABELS.get(r["type"], r["type"]),
                 "title": _library_title(lib, r["source_id"])} for r in found["related_by"]]
    validity = found["validity"]
    return {"relations": rows, "related_by": incoming, "validity": validity,
            "validity_label": VALIDITY_LABELS[validity["status"]],
            "validity_by": _library_title(lib, validity.get("by"))}


_REVERSE_LABELS = {kind: title for title, kinds in REVERSE for kind in kinds}


def _library_title(lib, doc_id: str | None) -> str | None:
    from search_service.library import NotFound

    if not doc_id:
        return None
    try:
        doc = lib.get(doc_id)
    except NotFound:
        return None
    return doc.metadata.get("title") or doc.title
