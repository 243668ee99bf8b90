"""Staff login: staff see internal documents everywhere; visitors never do.

Accounts come from the library (``users add NAME --role editor|viewer``: editors may also add,
correct, publish and delete) and from the older ``STAFF_USERS`` setting (``user:hash,...``,
werkzeug password hashes, never plaintext), whose users are viewers. A name the library knows is
the library's account: a setting entry of the same name is then ignored. A login starts a
server-side session: the signed cookie holds only a random session id, and ``sessions.sqlite3``
in ``LIBRARY_DIR`` (shared by every server process) holds its hash, so logging out, an idle or
absolute timeout, or removing the user ends it everywhere. Every form that changes anything
carries a per-session CSRF token. Programs use API tokens (``Authorization: Bearer``) under
``/api/`` instead, which the library checks by their hash.

Guessing is slowed three ways: attempts per client address (Flask-Limiter), failures per account
(a lockout counted before the password is checked, so parallel guesses cannot overshoot), and at
most a few password checks at once per process, so a flood of logins cannot take every CPU.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import os
import re
import secrets
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import (Blueprint, Flask, current_app, g, redirect, render_template, request, session,
                   url_for)
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.urls import iri_to_uri

from search_service.errors import APIError, Forbidden
from search_service.library import Library, Principal
from search_service.library.store import DATABASE
from search_service.web.limits import counter, limiter, parse_limit, wait_minutes, wait_seconds
from search_service.web.service import wants_json

logger = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)

HASH_METHOD = "pbkdf2:sha256"
SESSIONS_FILE = "sessions.sqlite3"
# The setting's users predate roles; they keep what they could do then: read internal documents.
LEGACY_ROLE = "viewer"
# How a session names a library account ("library:can_bo"); setting users are stored bare.
# Neither kind of name can hold ':', so the two never mix.
LIBRARY_PREFIX = "library:"
MAX_NEXT_CHARS = 2048
# pbkdf2 (hashlib) releases the GIL, so a check costs a CPU core, not the interpreter: allow
# half the cores at once, and answer "busy" at once rather than park a request thread (waitress
# has 8) in a queue: waiting login floods were what left searches no thread to run on.
_HASH_SLOTS = threading.BoundedSemaphore(max(1, (os.cpu_count() or 2) // 2))

WRONG_PASSWORD = "Tên đăng nhập hoặc mật khẩu không đúng."
ACCOUNT_LOCKED = "Đăng nhập sai quá nhiều lần. Xin thử lại sau {} phút."
CLIENT_LIMITED = "Có quá nhiều lần đăng nhập từ địa chỉ này. Xin thử lại sau {} phút."
BUSY = "Máy chủ đang bận. Xin thử lại sau vài giây."


def init_app(app: Flask) -> None:
    """Cookie flags, the session store and the login limits, checked at start-up."""
    app.config["SESSION_COOKIE_SECURE"] = bool(app.config["COOKIE_SECURE"])
    for name in ("LOGIN_LIMIT", "LOGIN_CLIENT_LIMIT"):
        try:
            parse_limit(app.config[name])
        except ValueError as exc:
            raise ValueError(f"SEARCH_{name}: {exc}") from None
    app.extensions["staff_sessions"] = SessionStore(
        Path(app.config["LIBRARY_DIR"]) / SESSIONS_FILE,
        idle_seconds=60 * app.config["SESSION_IDLE_MINUTES"],
        max_seconds=3600 * app.config["SESSION_MAX_HOURS"])
    app.extensions["library_lock"] = threading.Lock()
    _dummy_hash(_reference_method(staff_users(app.config["STAFF_USERS"])))   # made once, now


class Unauthorized(APIError):
    """No usable API token: missing where one is needed, unknown, or revoked."""
    status = 401
    code = "unauthorized"
    title_vi = "Cần đăng nhập"
    headers = {"WWW-Authenticate": 'Bearer realm="tra-cuu-phuong"'}


def library(create: bool = False) -> Library | None:
    """The app's library, opened once per process. Without ``create``, None while the folder
    holds no library yet: reading pages never creates one, and no library means no accounts."""
    app = current_app
    lib = app.extensions.get("library")
    if lib is not None:
        return lib
    folder = Path(app.config["LIBRARY_DIR"])
    if not create and not (folder / DATABASE).is_file():
        return None
    with app.extensions["library_lock"]:
        if app.extensions.get("library") is None:
            app.extensions["library"] = Library(folder)
        return app.extensions["library"]


class SessionStore:
    """Live staff sessions in SQLite; only a SHA-256 of each session id is stored.

    The file is made at the first login, so a server nobody logs in to writes nothing.
    """

    def __init__(self, path: Path, *, idle_seconds: float, max_seconds: float):
        self.path, self.idle, self.max_age = Path(path), idle_seconds, max_seconds
        self._ready = False

    def _open(self, create: bool = False) -> closing | None:
        if not self._ready:
            if not create and not self.path.exists():
                return None
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(self.path, timeout=10, isolation_level=None)) as db:
                db.execute("PRAGMA journal_mode=WAL")        # readers never wait for a writer
                db.execute("CREATE TABLE IF NOT EXISTS staff_sessions (id_hash TEXT PRIMARY KEY,"
                           " username TEXT NOT NULL, created REAL NOT NULL,"
                           " last_seen REAL NOT NULL, revoked REAL)")
            self._ready = True
        return closing(sqlite3.connect(self.path, timeout=10, isolation_level=None))

    @staticmethod
    def _hash(session_id: str) -> str:
        return hashlib.sha256(session_id.encode()).hexdigest()

    def start(self, username: str) -> str:
        """A new session for ``username``; returns the id to put in the cookie."""
        session_id, now = secrets.token_urlsafe(32), time.time()
        with self._open(create=True) as db:
            db.execute("DELETE FROM staff_sessions WHERE created < ?", (now - self.max_age,))
            db.execute("INSERT INTO staff_sessions VALUES (?, ?, ?, ?, NULL)",
                       (self._hash(session_id), username, now, now))
        return session_id

    def user(self, session_id: str) -> str | None:
        """Who owns this live session, or None when it is unknown, revoked or timed out."""
        now, connection = time.time(), self._open()
        if connection is None:
            return None
        with connection as db:
            row = db.execute("SELECT username, created, last_seen, revoked FROM staff_sessions"
                             " WHERE id_hash = ?", (self._hash(session_id),)).fetchone()
            if row is None:
                return None
            username, created, last_seen, revoked = row
            if revoked is not None or now - created > self.max_age or now - last_seen > self.idle:
                return None
            if now - last_seen > min(60, self.idle / 10):   # one write a minute, not per request
                db.execute("UPDATE staff_sessions SET last_seen = ? WHERE id_hash = ?",
                           (now, self._hash(session_id)))
        return username

    def revoke(self, session_id: str) -> None:
        connection = self._open()
        if connection is not None:
            with connection as db:
                db.execute("UPDATE staff_sessions SET revoked = ?"
                           " WHERE id_hash = ? AND revoked IS NULL",
                           (time.time(), self._hash(session_id)))


def hash_password(password: str) -> str:
    """The hash to put after ``user:`` in ``STAFF_USERS`` (for the CLI's hash command)."""
    return generate_password_hash(password, method=HASH_METHOD)


def staff_users(setting: str | None = None) -> dict[str, str]:
    """``STAFF_USERS`` as ``{user: hash}``; hashes contain ':' but never ','."""
    raw = current_app.config.get("STAFF_USERS", "") if setting is None else setting
    users = {}
    for pair in (raw or "").split(","):
        user, sep, pw_hash = pair.strip().partition(":")
        if user and sep and pw_hash:
            users[user.strip()] = pw_hash.strip()
    return users


def current_staff() -> str | None:
    """The logged-in staff member's name: a live session of an account that still exists."""
    principal = session_principal()
    return principal.name if principal else None


def session_principal() -> Principal | None:
    """Who the session cookie belongs to, with their role; None for visitors."""
    if "staff_principal" not in g:
        session_id = session.get("sid")
        principal = None
        if isinstance(session_id, str):
            stored = current_app.extensions["staff_sessions"].user(session_id)
            if stored is None:
                session.pop("sid")            # revoked or expired: forget it
            else:
                principal = _account(stored)
        g.staff_principal = principal
    return g.staff_principal


def _library_roles() -> dict[str, str]:
    """``{name: role}`` of the library's accounts (a ward has a handful)."""
    lib = library()
    return {row["name"]: row["role"] for row in lib.users.list()} if lib else {}


def _account(stored: str) -> Principal | None:
    """The account a session was started for, if it still exists (its role as it is now)."""
    roles = _library_roles()
    if stored.startswith(LIBRARY_PREFIX):
        name = stored[len(LIBRARY_PREFIX):]
        return Principal(name, roles[name]) if name in roles else None
    shadowed = stored.casefold() in {name.casefold() for name in roles}
    if stored in staff_users() and not shadowed:
        return Principal(stored, LEGACY_ROLE)
    return None


def bearer_principal() -> Principal | None:
    """The API token's owner under ``/api/``; None when no token was sent. A token that was
    sent but is malformed, unknown or revoked is refused (401), never read as "no token"."""
    if "bearer_principal" not in g:
        header = request.headers.get("Authorization")
        principal = None
        if header is not None and wants_json():      # under /api/
            scheme, _, token = header.strip().partition(" ")
            lib = library()
            if scheme.lower() == "bearer" and token.strip() and lib is not None:
                principal = lib.tokens.verify(token.strip())
            if principal is None:
                raise Unauthorized("The API token is missing, unknown or revoked",
                                   message_vi="Mã truy cập không hợp lệ hoặc đã bị thu hồi.")
        g.bearer_principal = principal
    return g.bearer_principal


def current_principal() -> Principal | None:
    """Who is asking: the API token's owner under ``/api/``, else the logged-in staff member."""
    return bearer_principal() or session_principal()


def include_internal() -> bool:
    """Whether this request may see internal documents (viewers and editors may)."""
    return current_principal() is not None


def can_edit() -> bool:
    """Whether this request may add, correct, publish and delete documents."""
    principal = current_principal()
    return principal is not None and principal.role == "editor"


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf() -> None:
    sent = request.form.get("csrf_token", "")
    if not hmac.compare_digest(sent.encode(), session.get("csrf", "").encode()) or not sent:
        raise Forbidden("CSRF token missing or wrong",
                        message_vi="Phiên làm việc đã hết hạn. Xin tải lại trang và thử lại.")


def template_context() -> dict:
    principal = session_principal()
    return {"staff_user": principal.name if principal else None,
            "staff_role": principal.role if principal else None,
            "staff_can_edit": bool(principal and principal.role == "editor"),
            "csrf_token": csrf_token}


# What browsers drop before parsing a URL: leading/trailing C0 controls and spaces, and every
# tab or newline anywhere (so "/\t/evil.example" is "//evil.example" to them).
_BROWSER_STRIPPED = re.compile(r"[\t\n\r]")
_C0_AND_SPACE = "".join(map(chr, range(0x21)))
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _safe_next(target: str | None) -> str:
    """``target`` if it is a path on this site, as a browser would read it; else the home page."""
    home = url_for("ui.index")
    if not target or len(target) > MAX_NEXT_CHARS:
        return home
    cleaned = _BROWSER_STRIPPED.sub("", target).strip(_C0_AND_SPACE)
    decoded = unquote(cleaned)
    if _CONTROL.search(decoded) or "\\" in decoded or decoded.startswith("//"):
        return home
    try:
        parts = urlsplit(cleaned)
    except ValueError:                # e.g. "http://[": not a URL at all
        return home
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return home
    return iri_to_uri(cleaned)


def _reference_method(users: dict[str, str]) -> str:
    """The hash method of the first configured user, so a dummy check costs what a real one does."""
    for pw_hash in users.values():
        method = pw_hash.split("$", 1)[0]
        if re.fullmatch(r"(pbkdf2:\w+(:\d{1,8})?|scrypt(:\d+){0,3})", method):
            return method
    return HASH_METHOD


@functools.lru_cache(maxsize=8)
def _dummy_hash(method: str) -> str:
    return generate_password_hash(secrets.token_urlsafe(16), method=method)


def _attempt(user: str, password: str) -> tuple[str, int | str | None]:
    """One login attempt: ``("ok", session name)`` or ``("wrong" | "locked" | "busy", seconds
    to wait)``. A busy answer takes nothing from the account's tries: the slot is taken before
    counting."""
    if not _HASH_SLOTS.acquire(blocking=False):
        return "busy", 2
    try:
        locked_for = _lock_account_attempt(user)
        if locked_for:
            return "locked", locked_for
        stored = _verify(user, password)
        return ("ok", stored) if stored else ("wrong", None)
    finally:
        _HASH_SLOTS.release()


def _verify(user: str, password: str) -> str | None:
    """The name to start a session for, if the password is right: a library account first,
    else a setting user. An unknown user costs the same hash work, so timing tells nothing."""
    lib = library()
    if lib is not None and user.casefold() in {n.casefold() for n in _library_roles()}:
        principal = lib.users.verify(user, password)
        return LIBRARY_PREFIX + principal.name if principal else None
    users = staff_users()
    pw_hash = users.get(user)
    try:
        if pw_hash is None:
            check_password_hash(_dummy_hash(_reference_method(users)), password)
            return None
        return user if check_password_hash(pw_hash, password) else None
    except (ValueError, TypeError):   # a malformed hash in the settings
        logger.error("STAFF_USERS holds an unusable hash for %s", user)
        return None


def _account_key(user: str) -> str:
    # Library names are case-insensitive: "CAN_BO" must not get tries of its own.
    return hashlib.sha256(user.casefold().encode()).hexdigest()[:32]   # bounded, whatever typed


def _lock_account_attempt(user: str) -> int | None:
    """Count this attempt against ``user``; seconds to wait when the account is locked."""
    if not limiter.enabled:
        return None
    item = parse_limit(current_app.config["LOGIN_LIMIT"])
    if counter().hit(item, "login-account", _account_key(user)):
        return None
    return wait_seconds(counter().get_window_stats(item, "login-account", _account_key(user))[0])


def _forget_failures(user: str) -> None:
    if limiter.enabled:
        item = parse_limit(current_app.config["LOGIN_LIMIT"])
        counter().clear(item, "login-account", _account_key(user))


def _login_page(next_url: str, error: str | None = None, status: int = 200,
                retry_after: int | None = None):
    page = render_template("login.html", error=error, next_url=next_url,
                           username=request.form.get("username", "")[:200])
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    return page, status, headers


def _client_limited(breach):
    """Flask-Limiter's on_breach for the per-address limit: the login page, with the wait."""
    seconds = wait_seconds(breach.window[0])      # reset_at adds a second: 900 s read 16 min
    logger.warning("login attempts from %s over the limit", request.remote_addr)
    page, status, headers = _login_page(_safe_next(request.values.get("next")),
                                        CLIENT_LIMITED.format(wait_minutes(seconds)), 429, seconds)
    return current_app.make_response((page, status, headers))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_CLIENT_LIMIT"], methods=["POST"],
               on_breach=_client_limited)
def login():
    next_url = _safe_next(request.values.get("next"))
    if request.method == "GET":
        return _login_page(next_url)
    check_csrf()
    user = request.form.get("username", "").strip()
    outcome, detail = _attempt(user, request.form.get("password", ""))
    if outcome == "busy":
        return _login_page(next_url, BUSY, 503, detail)
    if outcome == "locked":
        logger.warning("login refused: too many failures for %r", user[:50])
        return _login_page(next_url, ACCOUNT_LOCKED.format(wait_minutes(detail)), 429, detail)
    if outcome == "wrong":
        logger.warning("failed staff login for %r", user[:50])
        return _login_page(next_url, WRONG_PASSWORD, 401)
    _forget_failures(user)
    _end_session()                                        # no fixation: always a new session
    session.clear()
    session["sid"] = current_app.extensions["staff_sessions"].start(detail)
    session["csrf"] = secrets.token_urlsafe(32)           # a new token for the new session
    logger.info("staff login: %s", user)
    return redirect(next_url)


def _end_session() -> None:
    session_id = session.get("sid")
    if isinstance(session_id, str):
        current_app.extensions["staff_sessions"].revoke(session_id)


@bp.route("/logout", methods=["POST"])
def logout():
    check_csrf()
    _end_session()
    session.clear()
    return redirect(url_for("ui.index"))


@bp.after_app_request
def _no_store_for_staff(response):
    """Pages for staff (and the login page) and answers to API tokens must not stay in a
    shared or back-button cache."""
    has_cookie = current_app.config["SESSION_COOKIE_NAME"] in request.cookies
    if request.endpoint == "auth.login" or (has_cookie and session.get("sid")) \
            or "Authorization" in request.headers:
        response.headers["Cache-Control"] = "no-store"
    return response
