"""The library's SQLite schema, as a list of steps applied in order.

``PRAGMA user_version`` holds how many steps a database has had. Opening a library applies the
missing steps in one transaction, so an old library is upgraded in place and a fresh one is
built by the very same steps. Never edit a step once released: append a new one (and a test
that upgrades a library holding data across it).

Each step is a tuple of single statements, not a script: Python's ``executescript`` commits
before it runs, which would make an upgrade half-done when a later statement fails.
"""

from __future__ import annotations

import sqlite3

from search_service.library.errors import SchemaTooNew

# Step 1: documents and the audit log.
_DOCUMENTS = (
    """CREATE TABLE documents (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        guesses TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(guesses)),
        corrections TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(corrections)),
        metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
        find_text TEXT NOT NULL DEFAULT '',
        visibility TEXT NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'internal')),
        is_published INTEGER NOT NULL DEFAULT 1 CHECK (is_published IN (0, 1)),
        text_source TEXT NOT NULL DEFAULT 'text',
        original_name TEXT NOT NULL,
        media_type TEXT NOT NULL,
        original_size INTEGER NOT NULL CHECK (original_size >= 0),
        sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
        created TEXT NOT NULL,
        updated TEXT NOT NULL
    )""",
    "CREATE INDEX documents_sha256 ON documents (sha256)",
    """CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        document_id TEXT,
        changes TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(changes))
    )""",
    "CREATE INDEX audit_document ON audit (document_id, id)",
)

# Step 2: staff accounts and API tokens (only the SHA-256 of a token is kept).
_ACCOUNTS = (
    """CREATE TABLE users (
        name TEXT PRIMARY KEY COLLATE NOCASE,
        role TEXT NOT NULL CHECK (role IN ('editor', 'viewer')),
        password_hash TEXT NOT NULL,
        created TEXT NOT NULL,
        updated TEXT NOT NULL
    )""",
    """CREATE TABLE api_tokens (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL COLLATE NOCASE,
        role TEXT NOT NULL CHECK (role IN ('editor', 'viewer')),
        token_sha256 TEXT NOT NULL UNIQUE CHECK (length(token_sha256) = 64),
        created TEXT NOT NULL,
        last_used TEXT,
        revoked TEXT
    )""",
    # A name is reused only once its token is revoked; revoked tokens stay listed for the record.
    "CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked IS NULL",
)

# Step 3: how the library feeds search indexes. ``sources``: the file a document was ingested
# from (its absolute path, ingestion's key of the bytes, and the visibility ingestion chose,
# which tells a person's later choice apart). ``indexes``: the index folders built from this
# library. ``index_pending``: per index, the documents changed since that index last received
# them, marked by triggers in the transaction of the change itself, so no change (whoever
# makes it) can be missed by the next index write; a newer mark gets a higher ``seq``.
_FEEDING = (
    """CREATE TABLE sources (
        document_id TEXT PRIMARY KEY REFERENCES documents (id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        file_key TEXT NOT NULL,
        visibility TEXT NOT NULL CHECK (visibility IN ('public', 'internal'))
    )""",
    "CREATE INDEX sources_path ON sources (path)",
    """CREATE TABLE indexes (
        path TEXT PRIMARY KEY,
        registered TEXT NOT NULL
    )""",
    """CREATE TABLE index_pending (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        index_path TEXT NOT NULL REFERENCES indexes (path) ON DELETE CASCADE,
        document_id TEXT NOT NULL,
        UNIQUE (index_path, document_id)
    )""",
    """CREATE TRIGGER documents_added AFTER INSERT ON documents BEGIN
        INSERT OR REPLACE INTO index_pending (index_path, document_id)
            SELECT path, NEW.id FROM indexes;
    END""",
    """CREATE TRIGGER documents_changed AFTER UPDATE ON documents BEGIN
        INSERT OR REPLACE INTO index_pending (index_path, document_id)
            SELECT path, NEW.id FROM indexes;
    END""",
    """CREATE TRIGGER documents_deleted AFTER DELETE ON documents BEGIN
        INSERT OR REPLACE INTO index_pending (index_path, document_id)
            SELECT path, OLD.id FROM indexes;
    END""",
)

# Step 4: relations between documents and their validity (#11), defined with the code that
# uses them in search_service.library.relations.
from search_service.library.relations import MIGRATION as _RELATIONS  # noqa: E402

MIGRATIONS: tuple[tuple[str, ...], ...] = (_DOCUMENTS, _ACCOUNTS, _FEEDING, _RELATIONS)
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    """How many steps this database has had (0 for a new, empty file)."""
    return conn.execute("PRAGMA user_version").fetchone()[0]


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Apply the missing steps up to ``target`` in one transaction; returns the steps applied.

    The version is read inside the write transaction, so two processes opening a new library
    at once apply each step exactly once. A database newer than this code is refused, never
    written: an older program must not damage what a newer one wrote.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = schema_version(conn)
        if current > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"the library's database has schema version {current}, but this program "
                f"knows only up to {SCHEMA_VERSION}: upgrade the program")
        for step in MIGRATIONS[current:target]:
            for statement in step:
                conn.execute(statement)
        if target > current:
            conn.execute(f"PRAGMA user_version = {int(target)}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return max(0, target - current)
