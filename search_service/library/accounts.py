"""Staff accounts and API tokens, kept in the library's database.

Passwords are stored as werkzeug ``pbkdf2:sha256`` hashes; tokens as their SHA-256 only, so a
copy of the database (or a backup) gives nobody a way in. A token is shown once, when made.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
from typing import NamedTuple

from search_service.library import audit
from search_service.library.database import Database, now
from search_service.library.errors import Conflict, InvalidValue, NotFound

ROLES = ("editor", "viewer")
PASSWORD_METHOD = "pbkdf2:sha256"
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 1024
TOUCH_SECONDS = 60          # a token's last use is written at most once a minute
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


class Principal(NamedTuple):
    """Who is asking, once a password or token checked out."""
    name: str
    role: str


class Users:
    """Staff who sign in to the console: ``editor`` may change documents, ``viewer`` may read."""

    def __init__(self, db: Database, password_method: str = PASSWORD_METHOD):
        self.db = db
        self.method = password_method
        self._dummy_hash: str | None = None

    def add(self, name: str, role: str, password: str, *, actor: str) -> dict:
        """A new account; :class:`Conflict` if the name is taken (in any letter case)."""
        name, role = check_name(name, "user name"), check_role(role)
        pw_hash = self._hash(password)
        at = now()
        try:
            with self.db.write() as conn:
                conn.execute("INSERT INTO users (name, role, password_hash, created, updated) "
                             "VALUES (?, ?, ?, ?, ?)", (name, role, pw_hash, at, at))
                audit.record(conn, actor, "user_add", None,
                             {"user": [None, name], "role": [None, role]}, at)
        except sqlite3.IntegrityError:
            raise Conflict(f"there is already a user called {name!r}") from None
        return {"name": name, "role": role, "created": at, "updated": at}

    def list(self) -> list[dict]:
        rows = self.db.connection().execute(
            "SELECT name, role, created, updated FROM users ORDER BY name").fetchall()
        return [dict(row) for row in rows]

    def remove(self, name: str, *, actor: str) -> None:
        with self.db.write() as conn:
            row = _one(conn, "SELECT name, role FROM users WHERE name = ?", name, "user")
            conn.execute("DELETE FROM users WHERE name = ?", (name,))
            audit.record(conn, actor, "user_remove", None,
                         {"user": [row["name"], None], "role": [row["role"], None]})

    def set_password(self, name: str, password: str, *, actor: str) -> None:
        pw_hash = self._hash(password)
        with self.db.write() as conn:
            row = _one(conn, "SELECT name FROM users WHERE name = ?", name, "user")
            at = now()
            conn.execute("UPDATE users SET password_hash = ?, updated = ? WHERE name = ?",
                         (pw_hash, at, name))
            # The log says that it changed, never anything about the password itself.
            audit.record(conn, actor, "user_password", None,
                         {"user": [row["name"], row["name"]], "password": ["old", "new"]}, at)

    def verify(self, name: str, password: str) -> Principal | None:
        """The user, if the password is right. An unknown name costs the same hash check, so
        timing does not tell which names exist."""
        from werkzeug.security import check_password_hash

        row = None
        if isinstance(name, str) and _NAME_RE.fullmatch(name):
            row = self.db.connection().execute(
                "SELECT name, role, password_hash FROM users WHERE name = ?", (name,)).fetchone()
        pw_hash = row["password_hash"] if row else self._dummy()
        ok = isinstance(password, str) and check_password_hash(pw_hash, password)
        return Principal(row["name"], row["role"]) if ok and row else None

    def _hash(self, password) -> str:
        from werkzeug.security import generate_password_hash

        if not isinstance(password, str) or not \
                MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
            raise InvalidValue(f"a password must have {MIN_PASSWORD_CHARS} to "
                               f"{MAX_PASSWORD_CHARS} characters")
        return generate_password_hash(password, method=self.method)

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self._hash(secrets.token_urlsafe(16))
        return self._dummy_hash


class Tokens:
    """API tokens for programs (the ward website's publisher, a scanner's upload script)."""

    def __init__(self, db: Database):
        self.db = db

    def create(self, name: str, role: str, *, actor: str) -> str:
        """A new token, returned in clear this once; only its SHA-256 is stored."""
        name, role = check_name(name, "token name"), check_role(role)
        token = secrets.token_urlsafe(32)
        at = now()
        try:
            with self.db.write() as conn:
                conn.execute("INSERT INTO api_tokens (name, role, token_sha256, created) "
                             "VALUES (?, ?, ?, ?)", (name, role, token_hash(token), at))
                audit.record(conn, actor, "token_create", None,
                             {"token": [None, name], "role": [None, role]}, at)
        except sqlite3.IntegrityError:
            raise Conflict(f"there is already a token called {name!r}; revoke it first") \
                from None
        return token

    def list(self, include_revoked: bool = True) -> list[dict]:
        """Every token's name, role and dates; never the token or its hash."""
        where = "" if include_revoked else "WHERE revoked IS NULL"
        rows = self.db.connection().execute(
            f"SELECT name, role, created, last_used, revoked FROM api_tokens {where} "
            "ORDER BY name, id").fetchall()
        return [dict(row) for row in rows]

    def revoke(self, name: str, *, actor: str) -> None:
        with self.db.write() as conn:
            row = _one(conn, "SELECT id, name FROM api_tokens WHERE name = ? AND revoked IS NULL",
                       name, "token")
            at = now()
            conn.execute("UPDATE api_tokens SET revoked = ? WHERE id = ?", (at, row["id"]))
            audit.record(conn, actor, "token_revoke", None, {"token": [row["name"], None]}, at)

    def verify(self, token: str) -> Principal | None:
        """Who the token belongs to, unless it is unknown or revoked. The lookup is by hash,
        so comparing never touches the secret itself."""
        if not isinstance(token, str) or not token or len(token) > 200:
            return None
        digest = token_hash(token)
        conn = self.db.connection()
        row = conn.execute("SELECT id, name, role, last_used FROM api_tokens "
                           "WHERE token_sha256 = ? AND revoked IS NULL", (digest,)).fetchone()
        if row is None:
            return None
        self._touch(row)
        return Principal(row["name"], row["role"])

    def _touch(self, row) -> None:
        """Record the use; at most once a minute, so API reads do not all become writes."""
        from datetime import datetime

        at = now()
        last = row["last_used"]
        if last and (datetime.fromisoformat(at) - datetime.fromisoformat(last)).total_seconds() \
                < TOUCH_SECONDS:
            return
        with self.db.write() as conn:
            conn.execute("UPDATE api_tokens SET last_used = ? WHERE id = ?", (at, row["id"]))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_name(name, what: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise InvalidValue(f"{what} must be 1 to 64 letters, digits or . _ @ - (starting with "
                           f"a letter or digit), not {name!r}")
    return name


def check_role(role) -> str:
    if role not in ROLES:
        raise InvalidValue(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    return role


def _one(conn: sqlite3.Connection, sql: str, name: str, what: str) -> sqlite3.Row:
    row = conn.execute(sql, (name,)).fetchone()
    if row is None:
        raise NotFound(f"no {what} called {name!r}")
    return row
