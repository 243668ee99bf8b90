"""Conditional requests: ``ETag`` and ``304 Not Modified`` for every page that reads the index.

A response's tag is a hash of what it was made from: the index generation (and the time that
generation was committed, so a rebuilt index never reuses a tag), the URL with its query
string, who asks (anonymous, or which staff member in which session), the app's settings and
code. A new commit therefore changes every tag, and so does the moment a new generation's
did-you-mean word list is complete (it is served before that: its suggestions may change). The tag is computed *before* the view runs and
a matching ``If-None-Match`` is answered at once, without searching.

Reading the generation before the view is what keeps a 304 correct: generations only grow,
so the body is of that generation or a newer one, never older; a body newer than its tag
costs one full answer later, never a stale 304.

Tags are weak (``W/"…"``): the same tag means the same results, while ``took_ms`` varies.
Anonymous answers get ``Cache-Control: no-cache`` (keep it, ask again each time); staff
answers keep the ``no-store`` the login code sets.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Flask, Response, current_app, g, request, session

from search_service import config
from search_service.index.schema import commit_time
from search_service.web.ops import GENERATION_KEY

# The endpoints whose answer depends only on the index, the URL and who asks.
CACHED = frozenset({"ui.index", "ui.search", "ui.document", "ui.feed", "ui.search_feed",
                    "api.search", "api.document", "api.suggest"})
# Settings that never change what a page shows (and secrets, which must not feed a public tag).
_NOT_IN_TAG = {"SECRET_KEY", "STAFF_USERS", "LIBRARY_DIR", "RATELIMIT_STORAGE_URI"}
PACKAGE = Path(__file__).resolve().parent.parent


def init_app(app: Flask) -> None:
    """Register the hooks; register after the limits, so a 429 comes before a 304."""
    app.extensions["etag_salt"] = _salt(app)
    app.before_request(_answer_if_unchanged)
    app.after_request(_tag_response)


def _salt(app: Flask) -> bytes:
    """What every tag of this deployment shares: its settings and its code (a new version of a
    template or of the ranking must not be answered with a 304). The same in every worker."""
    digest = hashlib.blake2b(digest_size=16)
    for setting in config.SETTINGS:
        if setting.name not in _NOT_IN_TAG:
            digest.update(f"{setting.name}={app.config.get(setting.name)!r}\n".encode())
    for path in sorted(PACKAGE.rglob("*")):
        if path.suffix in (".py", ".html", ".css", ".js", ".json") and path.is_file():
            stat = path.stat()
            digest.update(f"{path.relative_to(PACKAGE)} {stat.st_size} {stat.st_mtime_ns}\n"
                          .encode())
    return digest.digest()


def etag_for_request(generation: int, committed_ns: int, words: str = "complete") -> str:
    """The tag of this request's answer at ``generation`` (sent weak: ``W/"…"``). ``words``
    says whether the generation's did-you-mean word list was still being read ("partial"):
    its suggestions may change once it is complete, so its answers must not be kept."""
    digest = hashlib.blake2b(current_app.extensions["etag_salt"], digest_size=16)
    for part in (str(generation), str(committed_ns), words, current_app.config["INDEX_DIR"],
                 request.host_url, request.path, request.query_string.decode("latin-1"),
                 _who()):
        digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
    return digest.hexdigest()


def _who() -> str:
    """``anonymous``, or a hash of the credentials that let this reader see internal documents:
    the staff session (its pages carry its CSRF token) or the API token."""
    from search_service.web.auth import include_internal

    g.cache_anonymous = not include_internal()
    if g.cache_anonymous:
        return "anonymous"
    credentials = "\0".join((request.headers.get("Authorization", ""),
                             str(session.get("sid", "")), str(session.get("csrf", ""))))
    return "staff:" + hashlib.sha256(credentials.encode("utf-8", "surrogatepass")).hexdigest()


def _answer_if_unchanged():
    if request.method not in ("GET", "HEAD") or request.endpoint not in CACHED:
        return None
    engine = current_app.extensions["search_engine"]
    snap = engine.snapshot()          # the generation the view will read, or an older one
    request.environ[GENERATION_KEY] = snap.generation
    if hasattr(snap, "committed_at"):      # a cluster: -1 while a shard is missing
        if snap.generation < 0 or snap.committed_at is None:
            return None
        committed_ns = int(snap.committed_at * 1e9)
    else:
        committed = commit_time(current_app.config["INDEX_DIR"], snap.generation)
        if committed is None:              # the folder changed under us: answer, but never a 304
            return None
        committed_ns = int(committed * 1e9)
    words = "complete" if getattr(snap, "lexicon_complete", True) else "partial"
    g.etag = etag_for_request(snap.generation, committed_ns, words)
    sent = request.if_none_match
    if sent and not sent.star_tag and sent.contains_weak(g.etag):
        response = Response(status=304)
        response.set_etag(g.etag, weak=True)
        return response
    return None


def _tag_response(response: Response) -> Response:
    etag = g.get("etag")
    if etag is None or response.status_code not in (200, 304):
        return response
    response.set_etag(etag, weak=True)
    response.vary.update(("Cookie", "Authorization"))   # staff and visitors differ
    if g.get("cache_anonymous"):
        response.headers.setdefault("Cache-Control", "no-cache")
    return response
