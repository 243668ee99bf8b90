"""Relations between the library's documents and their validity, kept in the library.

What each document's text says (:mod:`search_service.ingest.relations`) is read once per
version of the document and stored with its evidence; a relation names its target by number
and is linked to the library's document with that number (canonical key; several candidates
are told apart by the issuer and year the text gives). Nothing needs calling on every change:
every read first catches up with the documents added or changed since (their ``updated``
differs from the one read) or touched by a deletion (a trigger marks them), so a target added after its source is linked then, and a
deleted target leaves its relations unlinked (``ON DELETE SET NULL``) until another document
with that number arrives. The status each document had when last computed is kept, and a
document whose status changes is marked for the search indexes the library feeds.

People's decisions win and are audited: a relation corrected by staff (another type, another
target, or "not a relation") hides what the text says of that number; a status set by staff
hides the computed one.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from datetime import date

from search_service.ingest import relations as reading
from search_service.ingest.validity import (STATUSES, Facts, Incoming, Override, Validity,
                                            validity_of)
from search_service.library import audit
from search_service.library.database import dumps, now
from search_service.library.errors import InvalidValue, NotFound

logger = logging.getLogger(__name__)

TYPES = reading.TYPES
NOT_A_RELATION = "none"
REVERSE = {"replaces": "replaced_by", "amends": "amended_by", "repeals": "repealed_by",
           "repeals_part": "partly_repealed_by", "based_on": "basis_of",
           "implements": "implemented_by"}
_TYPE_LIST = ", ".join(f"'{t}'" for t in (*TYPES, NOT_A_RELATION))
_STATUS_LIST = ", ".join(f"'{s}'" for s in STATUSES)

# Appended to search_service.library.migrations.MIGRATIONS (step 4).
MIGRATION = (
    f"""CREATE TABLE relations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        source_id TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
        type TEXT NOT NULL CHECK (type IN ({_TYPE_LIST})),
        number TEXT NOT NULL,
        number_key TEXT NOT NULL,
        target_id TEXT REFERENCES documents (id) ON DELETE SET NULL,
        evidence TEXT NOT NULL DEFAULT '',
        detail TEXT NOT NULL DEFAULT '',
        hints TEXT NOT NULL DEFAULT '{{}}' CHECK (json_valid(hints)),
        origin TEXT NOT NULL CHECK (origin IN ('text', 'staff')),
        pinned INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1)),
        actor TEXT,
        at TEXT
    )""",
    "CREATE INDEX relations_source ON relations (source_id)",
    "CREATE INDEX relations_target ON relations (target_id)",
    "CREATE INDEX relations_key ON relations (number_key)",
    # One row per document read: the version read, what linking needs of it, its effective
    # date, and the status last computed (``dirty``: recompute it at the next catch-up).
    f"""CREATE TABLE relation_reads (
        document_id TEXT PRIMARY KEY REFERENCES documents (id) ON DELETE CASCADE,
        read_updated TEXT NOT NULL,
        number TEXT,
        number_key TEXT,
        issuer TEXT,
        year INTEGER,
        doc_type TEXT,
        published TEXT,
        effective TEXT,
        effective_evidence TEXT,
        status TEXT CHECK (status IS NULL OR status IN ({_STATUS_LIST})),
        dirty INTEGER NOT NULL DEFAULT 1
    )""",
    "CREATE INDEX relation_reads_key ON relation_reads (number_key)",
    f"""CREATE TABLE validity_corrections (
        document_id TEXT PRIMARY KEY REFERENCES documents (id) ON DELETE CASCADE,
        status TEXT CHECK (status IS NULL OR status IN ({_STATUS_LIST})),
        since TEXT,
        by_id TEXT,
        effective TEXT,
        actor TEXT NOT NULL,
        at TEXT NOT NULL
    )""",
    # A deleted source no longer replaces or amends its targets: recompute their status; a
    # deleted target leaves its sources' relations to be linked again (another document may
    # have the number).
    """CREATE TRIGGER relations_document_deleted BEFORE DELETE ON documents BEGIN
        UPDATE relation_reads SET dirty = 1 WHERE document_id IN
            (SELECT target_id FROM relations WHERE source_id = OLD.id
             UNION SELECT source_id FROM relations WHERE target_id = OLD.id);
    END""",
)
_GENERIC_ISSUER_WORDS = frozenset({"ubnd", "hdnd", "du", "mttq", "uy", "ban", "nhan", "dan",
                                   "phuong", "quan", "huyen", "tinh", "thanh", "pho", "xa",
                                   "thi", "tran", "dang", "bo", "chi", "so", "cua"})


class Relations:
    """Relations and validity of one library's documents."""

    def __init__(self, library):
        self.library = library
        self.db = library.db
        # Documents whose status changed in this object's catch-ups: the caller sends them
        # to the index it writes (they are marked pending for every index anyway).
        self.changed: set[str] = set()

    # -- reading ---------------------------------------------------------------------------
    def document(self, doc_id: str, today: date | None = None) -> dict:
        """What the API shows of a document: ``effective``, ``relations``, ``related_by``
        and ``validity``. :class:`NotFound` when the library has no such document."""
        self.catch_up()
        today = today or date.today()
        with self.db.read() as conn:
            read = _read_row(conn, doc_id)
            validity = _validity(conn, doc_id, today)
            return {"effective": validity.effective and validity.effective.isoformat(),
                    "relations": _relations_of(conn, doc_id),
                    "related_by": _related_by(conn, doc_id),
                    "validity": validity.to_json(),
                    "effective_evidence": read["effective_evidence"]}

    def validity(self, doc_id: str, today: date | None = None) -> Validity:
        self.catch_up()
        with self.db.read() as conn:
            _read_row(conn, doc_id)
            return _validity(conn, doc_id, today or date.today())

    def statuses(self, today: date | None = None) -> dict[str, str]:
        """Every document's status on ``today`` (for building an index)."""
        self.catch_up()
        today = today or date.today()
        with self.db.read() as conn:
            ids = [r[0] for r in conn.execute("SELECT document_id FROM relation_reads")]
            return {doc_id: _validity(conn, doc_id, today).status for doc_id in ids}

    def statuses_of(self, ids, today: date | None = None) -> dict[str, str]:
        """The status of each of ``ids`` on ``today`` (for sending them to an index); ids
        the library has not read (or does not hold) are left out, as :meth:`statuses` does.
        For a caller that has just caught up (:meth:`read_now`, :meth:`catch_up`): no
        catch-up here."""
        today = today or date.today()
        out: dict[str, str] = {}
        with self.db.read() as conn:
            for doc_id in dict.fromkeys(ids):
                if conn.execute("SELECT 1 FROM relation_reads WHERE document_id = ?",
                                (doc_id,)).fetchone():
                    out[doc_id] = _validity(conn, doc_id, today).status
        return out

    def listing(self, doc_id: str) -> list[dict]:
        """What the console lists of a document's relations: those shown (as
        :meth:`document` gives them, with ``corrected``: a person set it) and those a person
        removed (``type`` None, ``removed`` True), so a removal can be undone."""
        self.catch_up()
        with self.db.read() as conn:
            _read_row(conn, doc_id)
            shown = [{**_relation_json(row), "corrected": row["origin"] == "staff",
                      "removed": False} for row in _shown(conn, "r.source_id = ?", (doc_id,))]
            removed = [{"type": None, "number": row["number"], "target_id": None,
                        "evidence": "", "detail": "", "origin": "staff", "corrected": True,
                        "removed": True} for row in conn.execute(
                "SELECT number FROM relations WHERE source_id = ? AND origin = 'staff' "
                "AND type = ?", (doc_id, NOT_A_RELATION))]
        return shown + removed

    # -- catching up -----------------------------------------------------------------------
    def catch_up(self, today: date | None = None) -> set[str]:
        """Read the documents added or changed since their last reading, link every relation
        again and recompute the statuses that may have moved; returns the ids whose status
        changed (they are marked for the indexes the library feeds). Cheap when nothing
        changed: two indexed queries."""
        conn = self.db.connection()
        if not _has_work(conn):
            return set()
        with self.db.write() as conn:
            stale = [r[0] for r in conn.execute(_STALE)]
            for doc_id in stale:
                _read_document(conn, doc_id)
            _link_all(conn)
            changed = _restatus(conn, today or date.today())
            _mark_for_indexes(conn, changed)
        if stale:
            logger.info("relations: read %d documents, %d statuses changed", len(stale),
                        len(changed))
        self.changed |= changed
        return changed

    def read_now(self, ids, today: date | None = None) -> set[str]:
        """Read just these documents (those added or changed since their last reading) and
        link only the relations their numbers touch, then recompute the statuses that may
        have moved; returns the ids whose status changed (marked for the indexes, as
        :meth:`catch_up` does). For ingestion, file by file: its cost does not grow with the
        library, while :meth:`catch_up` looks at every document. Other stale documents are
        left to the next :meth:`catch_up`."""
        ids = list(dict.fromkeys(ids))
        if not ids:
            return set()
        with self.db.write() as conn:
            stale = [i for i in ids if conn.execute(_STALE_ONE, (i,)).fetchone()]
            keys: set[str] = set()
            for doc_id in stale:
                keys |= _keys_touching(conn, doc_id)        # what it named and was named by
                _read_document(conn, doc_id)
                keys |= _keys_touching(conn, doc_id)        # and what it names now
            if stale:
                _link_all(conn, keys)
            changed = _restatus(conn, today or date.today())
            _mark_for_indexes(conn, changed)
        self.changed |= changed
        return changed

    # -- what people decide ----------------------------------------------------------------
    def correct_relation(self, source_id: str, number: str, rel_type: str | None, *,
                         actor: str, target_id: str | None = None) -> dict:
        """Set what ``source_id`` does to the document numbered ``number``: a type of
        :data:`TYPES`, or None for "no relation"; ``target_id`` pins the target."""
        actor = audit.check_actor(actor)
        if rel_type is not None and rel_type not in TYPES:
            raise InvalidValue(f"type must be one of {', '.join(TYPES)} (or none)")
        key = _number_key(number)
        self.catch_up()
        with self.db.write() as conn:
            _read_row(conn, source_id)
            if target_id is not None:
                _read_row(conn, target_id)
            before = _effective_for(conn, source_id, key)
            conn.execute("DELETE FROM relations WHERE source_id = ? AND number_key = ? "
                         "AND origin = 'staff'", (source_id, key))
            conn.execute(
                "INSERT INTO relations (source_id, type, number, number_key, target_id, "
                "origin, pinned, actor, at) VALUES (?, ?, ?, ?, ?, 'staff', ?, ?, ?)",
                (source_id, rel_type or NOT_A_RELATION, number.strip(), key, target_id,
                 int(target_id is not None), actor, now()))
            _link_all(conn, {key})      # caught up above: only this number's links can move
            after = _effective_for(conn, source_id, key)
            audit.record(conn, actor, "correct_relation", source_id,
                         {f"relation {number.strip()}": [before, after]})
            _dirty_targets(conn, [before, after])
        self.catch_up()
        return after or {"type": None, "number": number.strip()}

    def uncorrect_relation(self, source_id: str, number: str, *, actor: str) -> None:
        """Hand the relation back to what the text says."""
        actor = audit.check_actor(actor)
        key = _number_key(number)
        with self.db.write() as conn:
            _read_row(conn, source_id)
            before = _effective_for(conn, source_id, key)
            conn.execute("DELETE FROM relations WHERE source_id = ? AND number_key = ? "
                         "AND origin = 'staff'", (source_id, key))
            after = _effective_for(conn, source_id, key)
            audit.record(conn, actor, "uncorrect_relation", source_id,
                         {f"relation {number.strip()}": [before, after]})
            _dirty_targets(conn, [before, after])
        self.catch_up()

    def correct_validity(self, doc_id: str, *, actor: str, status: str | None = None,
                         since: str | None = None, by: str | None = None,
                         effective: str | None = None) -> Validity:
        """Set the status (and when, and by which document) or the effective date by hand."""
        actor = audit.check_actor(actor)
        if status is not None and status not in STATUSES:
            raise InvalidValue(f"status must be one of {', '.join(STATUSES)}")
        since, effective = _iso_day(since, "since"), _iso_day(effective, "effective")
        if status is None and effective is None:
            raise InvalidValue("give a status or an effective date")
        self.catch_up()
        with self.db.write() as conn:
            _read_row(conn, doc_id)
            before = _validity(conn, doc_id, date.today()).to_json()
            conn.execute("INSERT OR REPLACE INTO validity_corrections (document_id, status, "
                         "since, by_id, effective, actor, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (doc_id, status, since, by, effective, actor, now()))
            conn.execute("UPDATE relation_reads SET dirty = 1 WHERE document_id = ?", (doc_id,))
            after = _validity(conn, doc_id, date.today())
            audit.record(conn, actor, "correct_validity", doc_id,
                         {"validity": [before, after.to_json()]})
        self.catch_up()
        return after

    def uncorrect_validity(self, doc_id: str, *, actor: str) -> Validity:
        actor = audit.check_actor(actor)
        with self.db.write() as conn:
            _read_row(conn, doc_id)
            before = _validity(conn, doc_id, date.today()).to_json()
            conn.execute("DELETE FROM validity_corrections WHERE document_id = ?", (doc_id,))
            conn.execute("UPDATE relation_reads SET dirty = 1 WHERE document_id = ?", (doc_id,))
            after = _validity(conn, doc_id, date.today())
            audit.record(conn, actor, "uncorrect_validity", doc_id,
                         {"validity": [before, after.to_json()]})
        self.catch_up()
        return after


# -- catching up -----------------------------------------------------------------------------
_STALE = ("SELECT d.id FROM documents d LEFT JOIN relation_reads r ON r.document_id = d.id "
          "WHERE r.document_id IS NULL OR r.read_updated != d.updated")


_STALE_ONE = ("SELECT 1 FROM documents d LEFT JOIN relation_reads r ON r.document_id = d.id "
              "WHERE d.id = ? AND (r.document_id IS NULL OR r.read_updated != d.updated)")


def _keys_touching(conn: sqlite3.Connection, doc_id: str) -> set[str]:
    """The number keys whose links a new reading of ``doc_id`` may change: its own, those of
    the relations it states, those of the relations that name it."""
    keys = {r[0] for r in conn.execute(
        "SELECT number_key FROM relation_reads WHERE document_id = ? UNION "
        "SELECT number_key FROM relations WHERE source_id = ? OR target_id = ?",
        (doc_id, doc_id, doc_id))}
    return {k for k in keys if k}


def _has_work(conn: sqlite3.Connection) -> bool:
    return bool(conn.execute(_STALE + " LIMIT 1").fetchone()
                or conn.execute("SELECT 1 FROM relation_reads WHERE dirty = 1 LIMIT 1").fetchone())


def _read_document(conn: sqlite3.Connection, doc_id: str) -> None:
    """Read one document's text again: its relations (staff rows stay) and facts."""
    row = conn.execute("SELECT body, metadata, updated FROM documents WHERE id = ?",
                       (doc_id,)).fetchone()
    meta = json.loads(row["metadata"])
    number = meta.get("doc_number")
    key = _safe_key(number)
    published = _day(meta.get("published"))
    found = reading.read(row["body"], number)
    old_targets = [r[0] for r in conn.execute(
        "SELECT target_id FROM relations WHERE source_id = ? AND target_id IS NOT NULL",
        (doc_id,))]
    conn.execute("DELETE FROM relations WHERE source_id = ? AND origin = 'text'", (doc_id,))
    conn.executemany(
        "INSERT INTO relations (source_id, type, number, number_key, evidence, detail, hints, "
        "origin) VALUES (?, ?, ?, ?, ?, ?, ?, 'text')",
        [(doc_id, r.type, r.number, r.key, r.evidence, r.detail,
          dumps({"issuer": r.issuer, "year": r.year, "target_type": r.target_type}))
         for r in found.relations])
    effective = found.effective.resolve(published) if found.effective else None
    conn.execute(
        "INSERT OR REPLACE INTO relation_reads (document_id, read_updated, number, number_key, "
        "issuer, year, doc_type, published, effective, effective_evidence, status, dirty) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "(SELECT status FROM relation_reads WHERE document_id = ?), 1)",
        (doc_id, row["updated"], number, key, meta.get("issuer"),
         published.year if published else None, meta.get("doc_type"),
         published and published.isoformat(), effective and effective.isoformat(),
         found.effective.evidence if found.effective else None, doc_id))
    _mark_dirty(conn, old_targets)
    # Documents that name this one (its number may be new) and its own new targets.
    conn.execute("UPDATE relation_reads SET dirty = 1 WHERE document_id IN (SELECT source_id "
                 "FROM relations WHERE target_id = ?)", (doc_id,))


def _link_all(conn: sqlite3.Connection, keys: set[str] | None = None) -> None:
    """Link every relation not pinned by a person to the document its number names (only
    the relations with one of ``keys``, when given)."""
    docs: dict[str, list[sqlite3.Row]] = {}
    if keys is None:
        for d in conn.execute("SELECT document_id, number_key, issuer, year, doc_type "
                              "FROM relation_reads WHERE number_key IS NOT NULL"):
            docs.setdefault(d["number_key"], []).append(d)
        issuers = {r[0]: r[1] for r in conn.execute(
            "SELECT document_id, issuer FROM relation_reads")}
        relations = conn.execute("SELECT id, source_id, number_key, target_id, hints "
                                 "FROM relations WHERE pinned = 0").fetchall()
    else:
        relations = []
        for key in sorted(keys):
            docs[key] = conn.execute("SELECT document_id, number_key, issuer, year, doc_type "
                                     "FROM relation_reads WHERE number_key = ?",
                                     (key,)).fetchall()
            relations += conn.execute("SELECT id, source_id, number_key, target_id, hints "
                                      "FROM relations WHERE pinned = 0 AND number_key = ?",
                                      (key,)).fetchall()
        issuers = {}
        for source_id in {r["source_id"] for r in relations}:
            row = conn.execute("SELECT issuer FROM relation_reads WHERE document_id = ?",
                               (source_id,)).fetchone()
            issuers[source_id] = row[0] if row else None
    updates = []
    for rel in relations:
        target = _choose(docs.get(rel["number_key"], []), rel["source_id"],
                         json.loads(rel["hints"]), issuers.get(rel["source_id"]))
        if target != rel["target_id"]:
            updates.append((target, rel["id"], rel["target_id"]))
    for target, rel_id, old in updates:
        conn.execute("UPDATE relations SET target_id = ? WHERE id = ?", (target, rel_id))
        _mark_dirty(conn, [target, old])


def _choose(candidates: list, source_id: str, hints: dict, source_issuer: str | None
            ) -> str | None:
    """The candidate a relation means: the only one, or the one whose issuer and year fit
    best; None when none fits or several fit equally."""
    scored = []
    hint_words = reading.folded_issuer(hints.get("issuer"))
    own_words = reading.folded_issuer(source_issuer)
    for c in candidates:
        if c["document_id"] == source_id:
            continue
        words = reading.folded_issuer(c["issuer"])
        if hints.get("year") and c["year"] and hints["year"] != c["year"]:
            continue
        if hint_words and words and _places(hint_words) and _places(words) and \
                not _places(hint_words) & _places(words):
            continue
        score = (2 * bool(hints.get("year") and hints["year"] == c["year"])
                 + _overlap(hint_words or own_words, words)
                 + 0.5 * bool(hints.get("target_type") and hints["target_type"] == c["doc_type"]))
        scored.append((score, c["document_id"]))
    scored.sort(reverse=True)
    if not scored or (len(scored) > 1 and scored[0][0] == scored[1][0]):
        return None
    return scored[0][1]


def _places(words: set[str]) -> set[str]:
    return words - _GENERIC_ISSUER_WORDS


def _overlap(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def _restatus(conn: sqlite3.Connection, today: date) -> set[str]:
    """Recompute the status of the documents marked dirty; returns those that changed."""
    changed = set()
    for row in conn.execute("SELECT document_id, status FROM relation_reads WHERE dirty = 1"
                            ).fetchall():
        status = _validity(conn, row["document_id"], today).status
        conn.execute("UPDATE relation_reads SET status = ?, dirty = 0 WHERE document_id = ?",
                     (status, row["document_id"]))
        if status != row["status"]:
            changed.add(row["document_id"])
    return changed


def _mark_dirty(conn: sqlite3.Connection, ids) -> None:
    conn.executemany("UPDATE relation_reads SET dirty = 1 WHERE document_id = ?",
                     [(i,) for i in ids if i])


def _dirty_targets(conn: sqlite3.Connection, relations: list[dict | None]) -> None:
    _mark_dirty(conn, [r.get("target_id") for r in relations if r])


def _mark_for_indexes(conn: sqlite3.Connection, ids: set[str]) -> None:
    """Mark documents whose status changed for every index the library feeds (when the
    library feeds any: see :mod:`search_service.library.feeding`)."""
    if not ids or not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'index_pending'"
                                   ).fetchone():
        return
    conn.executemany("INSERT OR REPLACE INTO index_pending (index_path, document_id) "
                     "SELECT path, ? FROM indexes", [(i,) for i in sorted(ids)])


# -- reading what is stored --------------------------------------------------------------------
def _read_row(conn: sqlite3.Connection, doc_id: str) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM relation_reads WHERE document_id = ?", (doc_id,)).fetchone()
    if row is None:
        raise NotFound(f"no document {doc_id!r} in the library")
    return row


def _shown(conn: sqlite3.Connection, where: str, params: tuple) -> list[sqlite3.Row]:
    """Relations as shown: a staff row hides the text rows of its (source, number)."""
    return conn.execute(
        f"SELECT * FROM relations r WHERE {where} AND r.type != 'none' AND (r.origin = 'staff' "
        "OR NOT EXISTS (SELECT 1 FROM relations s WHERE s.origin = 'staff' AND "
        "s.source_id = r.source_id AND s.number_key = r.number_key)) ORDER BY r.id",
        params).fetchall()


def _relation_json(row: sqlite3.Row) -> dict:
    return {"type": row["type"], "number": row["number"], "target_id": row["target_id"],
            "evidence": row["evidence"], "detail": row["detail"], "origin": row["origin"]}


def _relations_of(conn: sqlite3.Connection, doc_id: str) -> list[dict]:
    return [_relation_json(r) for r in _shown(conn, "r.source_id = ?", (doc_id,))]


def _related_by(conn: sqlite3.Connection, doc_id: str) -> list[dict]:
    out = []
    for r in _shown(conn, "r.target_id = ?", (doc_id,)):
        source = conn.execute("SELECT number FROM relation_reads WHERE document_id = ?",
                              (r["source_id"],)).fetchone()
        out.append({"type": REVERSE[r["type"]], "source_id": r["source_id"],
                    "number": source["number"] if source else None,
                    "evidence": r["evidence"]})
    return out


def _effective_for(conn: sqlite3.Connection, source_id: str, key: str) -> dict | None:
    rows = _shown(conn, "r.source_id = ? AND r.number_key = ?", (source_id, key))
    staff = conn.execute("SELECT 1 FROM relations WHERE source_id = ? AND number_key = ? AND "
                         "origin = 'staff' AND type = 'none'", (source_id, key)).fetchone()
    if staff or not rows:
        return None
    return {k: rows[0][k] for k in ("type", "number", "target_id")}


def _validity(conn: sqlite3.Connection, doc_id: str, today: date) -> Validity:
    read = conn.execute("SELECT * FROM relation_reads WHERE document_id = ?",
                        (doc_id,)).fetchone()
    fix = conn.execute("SELECT * FROM validity_corrections WHERE document_id = ?",
                       (doc_id,)).fetchone()
    effective = _day(fix["effective"]) if fix and fix["effective"] else \
        _day(read["effective"] if read else None)
    facts = Facts(read["doc_type"] if read else None, _day(read["published"] if read else None),
                  effective)
    incoming = []
    for r in _shown(conn, "r.target_id = ?", (doc_id,)):
        source = conn.execute("SELECT r.effective, r.published, c.effective AS fixed FROM "
                              "relation_reads r LEFT JOIN validity_corrections c ON "
                              "c.document_id = r.document_id WHERE r.document_id = ?",
                              (r["source_id"],)).fetchone()
        applies = source and _day(source["fixed"] or source["effective"] or source["published"])
        incoming.append(Incoming(r["type"], r["source_id"], applies or None))
    override = (Override(fix["status"], _day(fix["since"]), fix["by_id"])
                if fix and fix["status"] else None)
    return validity_of(facts, incoming, today, override)


# -- values ----------------------------------------------------------------------------------
def _number_key(number) -> str:
    if not isinstance(number, str) or not number.strip():
        raise InvalidValue("number: give the document number as written")
    from search_service.text.numbers import query_doc_numbers

    found = query_doc_numbers(number.strip())
    if len(found) != 1 or found[0].raw != number.strip():
        raise InvalidValue(f"number: not a document number: {number!r}")
    return found[0].key


def _safe_key(number: str | None) -> str | None:
    from search_service.text.numbers import canonical

    try:
        return canonical(number) if number else None
    except ValueError:
        return None


def _day(value) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _iso_day(value, name: str) -> str | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value.isoformat()
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()) \
            or _day(value) is None:
        raise InvalidValue(f"{name}: not an ISO date (YYYY-MM-DD): {value!r}")
    return value.strip()
