"""The audit log: who changed what, when, with each field's value before and after.

Entries are written in the same transaction as the change they describe, so the log never
claims a change that was rolled back, and no change escapes it.
"""

from __future__ import annotations

import json
import sqlite3

from search_service.library.database import dumps, now
from search_service.library.errors import InvalidValue

MAX_EVENTS = 1000


def record(conn: sqlite3.Connection, actor: str, action: str, document_id: str | None,
           changes: dict, at: str | None = None) -> None:
    """Append one entry; ``changes`` maps a field to ``[before, after]``."""
    conn.execute("INSERT INTO audit (at, actor, action, document_id, changes) "
                 "VALUES (?, ?, ?, ?, ?)",
                 (at or now(), check_actor(actor), action, document_id, dumps(changes)))


def events(conn: sqlite3.Connection, limit: int = 50, document_id: str | None = None,
           ) -> list[dict]:
    """The newest ``limit`` entries first (of one document when ``document_id`` is given)."""
    if not 1 <= limit <= MAX_EVENTS:
        raise InvalidValue(f"limit must be between 1 and {MAX_EVENTS}")
    where, params = ("WHERE document_id = ?", [document_id]) if document_id else ("", [])
    rows = conn.execute(f"SELECT at, actor, action, document_id, changes FROM audit {where} "
                        "ORDER BY id DESC LIMIT ?", [*params, limit]).fetchall()
    return [{"at": r["at"], "actor": r["actor"], "action": r["action"],
             "document_id": r["document_id"], "changes": json.loads(r["changes"])}
            for r in rows]


def check_actor(actor) -> str:
    """Every change names who made it: a user, a token, or a program (``cli:root``)."""
    if not isinstance(actor, str) or not actor.strip():
        raise InvalidValue("actor: every change must name who made it")
    return actor.strip()


def diff(before: dict, after: dict) -> dict:
    """``{field: [before, after]}`` for the fields whose value differs."""
    return {k: [before.get(k), after.get(k)] for k in sorted(set(before) | set(after))
            if before.get(k) != after.get(k)}
