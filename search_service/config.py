"""Every setting once: name, default, help. Read from ``SEARCH_*`` environment variables.

This is the only module that reads ``os.environ``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    name: str
    default: object
    help: str


SETTINGS = [
    Setting("INDEX_DIR", str(REPO_ROOT / "index"), "Folder of the on-disk Whoosh index."),
    Setting("SAMPLE_DIR", str(REPO_ROOT / "data" / "sample"),
            "Sample documents ingested by `serve` when the index is empty."),
    Setting("MAX_FILE_MB", 50.0, "Files larger than this many megabytes are refused by ingestion."),
    Setting("MAX_SECONDS_PER_FILE", 60.0,
            "Ingestion stops reading a file (any format) after this many seconds and refuses it."),
    Setting("OCR_MAX_PAGES", 20,
            "Scanned pages (PDF pages without text, image frames) read by OCR per file; more: "
            "refused."),
    Setting("MAX_QUERY_CHARS", 1000, "Longest query answered; longer ones are refused."),
    Setting("SECRET_KEY", "", "Flask session key; a random one is made per process when empty."),
    Setting("STAFF_USERS", "",
            "Staff logins as user:pbkdf2-hash pairs separated by commas (see README)."),
    Setting("LIBRARY_DIR", str(REPO_ROOT / "library"),
            "Folder of the ward's library data; staff sessions live in sessions.sqlite3 there."),
    Setting("SESSION_IDLE_MINUTES", 60, "A staff session unused this many minutes ends."),
    Setting("SESSION_MAX_HOURS", 12,
            "A staff session ends this many hours after login, used or not."),
    Setting("COOKIE_SECURE", False,
            "Send the session cookie over HTTPS only; turn on when served behind HTTPS."),
    Setting("LOGIN_LIMIT", "5 per 15 minutes",
            "Failed logins allowed per account before it is refused for the rest of the window."),
    Setting("LOGIN_CLIENT_LIMIT", "30 per 15 minutes",
            "Login attempts (POST /login) allowed per client address."),
    Setting("RATELIMIT_STORAGE_URI", "memory://",
            "Where rate-limit counters live; memory:// counts per server process."),
    Setting("RATE_LIMIT", "120 per minute",
            "Searches (search page, its feed, /api/search) allowed per client address, and "
            "as many completions (/api/suggest), counted apart; empty: no limit. Counted per "
            "server process."),
    Setting("RATE_LIMIT_EXEMPT", "",
            "Client addresses never rate-limited, separated by commas (e.g. a monitoring host)."),
    Setting("TRUSTED_PROXIES", 0,
            "Reverse proxies in front of the server; above 0, the client address is read from "
            "X-Forwarded-For (that many hops)."),
    Setting("MAX_RESULT_DEPTH", 1000,
            "Deepest result a search may page to (page × per_page); deeper pages are refused."),
    Setting("RESULT_CACHE", True,
            "Keep each index generation's recent search results (at most about 20 MB per "
            "server process) and answer a repeated search from them; false: rank every search "
            "anew."),
    Setting("NEWS_TYPES", "Tin tức, Tin, Bản tin, Thông báo",
            "Document types listed as news (with untyped articles), separated by commas."),
    Setting("BACKEND", "embedded",
            "embedded (the Whoosh index in INDEX_DIR) or a cluster: sphinxql://HOST:PORT/INDEX."),
]


def _coerce(value: str, default: object) -> object:
    if isinstance(default, bool):        # before int: bool is an int
        return _yes_no(value)
    if isinstance(default, (int, float)):
        return type(default)(value)
    return value


def _yes_no(value: str) -> bool:
    """``1/true/yes/on`` or ``0/false/no/off`` (any case); anything else is a mistake to report."""
    word = value.strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("", "0", "false", "no", "off"):
        return False
    raise ValueError(f"not a yes/no value: {value!r} (use 1 or 0)")


def load(overrides: dict | None = None) -> dict:
    """Return every setting: defaults, then ``SEARCH_<NAME>`` variables, then ``overrides``."""
    values = {}
    for setting in SETTINGS:
        raw = os.environ.get("SEARCH_" + setting.name)
        try:
            values[setting.name] = (setting.default if raw is None
                                    else _coerce(raw, setting.default))
        except ValueError as exc:      # name the setting: the operator has a dozen of them
            raise ValueError(f"SEARCH_{setting.name}={raw!r}: {exc}") from None
    if overrides:
        values.update(overrides)
    return values


def index_dir(explicit: str | None = None) -> Path:
    """The index folder: ``explicit``, else ``SEARCH_INDEX_DIR``, else ``index/`` at the repo root."""
    return Path(explicit or load()["INDEX_DIR"])
