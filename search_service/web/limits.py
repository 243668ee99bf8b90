"""Rate limits: one Flask-Limiter ``Limiter`` for the whole app, initialised by ``create_app``.

Views decorate themselves with ``limiter.limit(...)``; code that needs a counter of its own (the
login's per-account lockout) uses ``counter()`` over the same storage. Counters live where
``RATELIMIT_STORAGE_URI`` says: ``memory://`` (the default) counts per server process.

A breached limit answers 429 with ``Retry-After``: a view's ``on_breach`` may render its own page,
otherwise the generic Vietnamese error page (or the JSON error under ``/api/``) is used.
"""

from __future__ import annotations

import math
import time

from flask import Flask, Response
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse
from limits.strategies import MovingWindowRateLimiter

# Flask-Limiter's documented pattern: one instance at import time, bound to each app by init_app.
# Everything that would otherwise be frozen at the first init_app is passed here explicitly.
limiter = Limiter(key_func=get_remote_address, strategy="moving-window", headers_enabled=False,
                  retry_after="delta-seconds")


def init_app(app: Flask) -> None:
    """Bind the limiter to ``app`` (fresh counters for a fresh in-memory storage)."""
    # Flask-Limiter copies RATELIMIT_ENABLED back onto the shared instance; reset it per app so
    # one app that disabled limits cannot disable them for the next one.
    app.config.setdefault("RATELIMIT_ENABLED", True)
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, _too_many_requests)


def counter() -> MovingWindowRateLimiter:
    """A moving-window counter over the limiter's storage, for limits a decorator cannot express."""
    return MovingWindowRateLimiter(limiter.storage)


def parse_limit(value: str) -> RateLimitItem:
    """``"5 per 15 minutes"`` as a limit item (a bad setting raises ``ValueError``)."""
    return parse(value)


def wait_seconds(reset_at: float) -> int:
    """Whole seconds until ``reset_at`` (an epoch time), at least 1: the ``Retry-After`` value."""
    return max(1, math.ceil(reset_at - time.time()))


def wait_minutes(seconds: int) -> int:
    """``seconds`` rounded up to whole minutes, at least 1, for a message a person reads."""
    return max(1, math.ceil(seconds / 60))


def _too_many_requests(exc: RateLimitExceeded):
    """A view's own 429 page when its ``on_breach`` made one, else the generic error page."""
    if isinstance(exc.response, Response):
        return exc.response
    from search_service.web import _error_response

    current = limiter.current_limit
    seconds = wait_seconds(current.window[0]) if current else 60
    body, status = _error_response(
        429, "too_many_requests", "Too many requests; retry after %d seconds" % seconds,
        "Quá nhiều yêu cầu",
        "Bạn gửi quá nhiều yêu cầu. Xin thử lại sau %d phút." % wait_minutes(seconds))
    return body, status, {"Retry-After": str(seconds)}
