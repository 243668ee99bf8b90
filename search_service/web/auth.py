"""Staff login: staff see internal documents everywhere; visitors never do.

Users come from the ``STAFF_USERS`` setting (``user:hash,user2:hash``, werkzeug password hashes,
never plaintext). The session remembers who logged in; every form that changes the session carries
a per-session CSRF token.
"""

from __future__ import annotations

import hmac
import logging
import secrets

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from werkzeug.security import check_password_hash, generate_password_hash

from search_service.errors import Forbidden

logger = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)

HASH_METHOD = "pbkdf2:sha256"


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
    """The logged-in staff member, if still listed in the settings."""
    user = session.get("staff")
    return user if user and user in staff_users() else None


def include_internal() -> bool:
    """Whether this request may see internal documents."""
    return current_staff() is not None


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
    return {"staff_user": current_staff(), "csrf_token": csrf_token}


def _safe_next(target: str | None) -> str:
    """Only a path on this site: ``//evil.example`` and ``http://...`` go home instead."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("ui.index")


def _verify(user: str, password: str) -> bool:
    pw_hash = staff_users().get(user)
    if pw_hash is None:
        return False
    try:
        return check_password_hash(pw_hash, password)
    except (ValueError, TypeError):   # a malformed hash in the settings
        logger.error("STAFF_USERS holds an unusable hash for %s", user)
        return False


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    next_url = _safe_next(request.values.get("next"))
    if request.method == "POST":
        check_csrf()
        user = request.form.get("username", "").strip()
        if _verify(user, request.form.get("password", "")):
            session.clear()
            session["staff"] = user
            session["csrf"] = secrets.token_urlsafe(32)     # a new token for the new session
            logger.info("staff login: %s", user)
            return redirect(next_url)
        error = "Tên đăng nhập hoặc mật khẩu không đúng."
        logger.warning("failed staff login for %r", user[:50])
    status = 401 if error else 200
    return render_template("login.html", error=error, next_url=next_url,
                           username=request.form.get("username", "")), status


@bp.route("/logout", methods=["POST"])
def logout():
    check_csrf()
    session.clear()
    return redirect(url_for("ui.index"))

