"""Rate limits: one Flask-Limiter ``Limiter`` for the whole app, initialised by ``create_app``.

Views decorate themselves with ``limiter.limit(...)``; code that needs a counter of its own (the
login's per-account lockout) uses ``counter()`` over the same storage. Counters live where
``RATELIMIT_STORAGE_URI`` says: ``memory://`` (the default) counts per server process.

A breached limit answers 429 with ``Retry-After``: a view's ``on_breach`` may render its own page,
otherwise the generic Vietnamese error page (or the JSON error under ``/api/``) is used.

Searches (the search page, its feed and ``/api/search``) share one budget per client address,
``RATE_LIMIT``; the client address comes from ``X-Forwarded-For`` only behind
``TRUSTED_PROXIES`` proxies. They also may not page deeper than ``MAX_RESULT_DEPTH`` results.
Completions (``/api/suggest``, asked while typing) get the same number per client, counted
apart: typing a query never uses up the searches it leads to.
"""

from __future__ import annotations

import functools
import math
import time

from flask import Flask, Response, current_app, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse
from limits.strategies import MovingWindowRateLimiter
from werkzeug.middleware.proxy_fix import ProxyFix

from search_service.errors import BadParameter
from search_service.web.service import error_response, vi_number

# Flask-Limiter's documented pattern: one instance at import time, bound to each app by init_app.
# Everything that would otherwise be frozen at the first init_app is passed here explicitly.
limiter = Limiter(key_func=get_remote_address, strategy="moving-window", headers_enabled=False,
                  retry_after="delta-seconds")

# The views that run a search: one budget per client for all of them.
SEARCH_ENDPOINTS = frozenset({"api.search", "ui.search", "ui.search_feed"})
# The rate-limited views and the budget each one counts against (RATE_LIMIT requests each).
BUDGETS = {**{endpoint: "search" for endpoint in SEARCH_ENDPOINTS}, "api.suggest": "suggest"}


def init_app(app: Flask) -> None:
    """Bind the limiter to ``app`` (fresh counters for a fresh in-memory storage)."""
    # Flask-Limiter copies RATELIMIT_ENABLED back onto the shared instance; reset it per app so
    # one app that disabled limits cannot disable them for the next one.
    app.config.setdefault("RATELIMIT_ENABLED", True)
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, _too_many_requests)
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:       # the last `proxies` hops of X-Forwarded-For are ours to believe
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies)
    if app.config.get("RATE_LIMIT"):
        try:
            parse_limit(app.config["RATE_LIMIT"])
        except ValueError as exc:
            raise ValueError(f"SEARCH_RATE_LIMIT: {exc}") from None
    app.before_request(_limit_searches)


def counter() -> MovingWindowRateLimiter:
    """A moving-window counter over the limiter's storage, for limits a decorator cannot express."""
    return MovingWindowRateLimiter(limiter.storage)


@functools.lru_cache(maxsize=32)
def parse_limit(value: str) -> RateLimitItem:
    """``"5 per 15 minutes"`` as a limit item (a bad setting raises ``ValueError``)."""
    return parse(value)


def _limit_searches():
    """Before a search or completion view: the client's budget for it, then (searches) the
    depth of the page asked."""
    budget = BUDGETS.get(request.endpoint)
    if budget is None:
        return None
    setting = current_app.config.get("RATE_LIMIT")
    client = get_remote_address()
    if setting and limiter.enabled and client not in _exempt(current_app.config):
        item = parse_limit(setting)
        if not counter().hit(item, budget, client):
            reset_at, _ = counter().get_window_stats(item, budget, client)
            return too_many_requests(wait_seconds(reset_at))
    if budget == "search":
        _check_depth(current_app.config.get("MAX_RESULT_DEPTH") or 0)
    return None


def _exempt(settings) -> frozenset[str]:
    return _addresses(settings.get("RATE_LIMIT_EXEMPT") or "")


@functools.lru_cache(maxsize=8)
def _addresses(value: str) -> frozenset[str]:
    return frozenset(a.strip() for a in value.split(",") if a.strip())


def _check_depth(depth: int) -> None:
    """Refuse ``page × per_page`` beyond ``depth`` results. Values the view's parser refuses
    anyway (not numbers, out of range) are left to it: it names them."""
    from search_service.web.params import MAX_PAGE, MAX_PER_PAGE

    try:
        page = int(request.args.get("page") or 1)
        per_page = int(request.args.get("per_page") or 10)
    except ValueError:
        return
    if depth <= 0 or not (1 < page <= MAX_PAGE and 1 <= per_page <= MAX_PER_PAGE):
        return
    if page * per_page > depth:
        deepest = max(1, depth // per_page)
        raise BadParameter(
            "page", f"only the first {depth} results can be paged to: page × per_page must be "
                    f"at most {depth} (with per_page={per_page}, page {deepest} at most); "
                    "narrow the search instead",
            message_vi=f"Chỉ xem được {vi_number(depth)} kết quả đầu tiên (với {per_page} kết "
                       f"quả mỗi trang: đến trang {vi_number(deepest)}). Xin thu hẹp tìm kiếm, "
                       "ví dụ chọn loại văn bản hoặc năm.")


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
    current = limiter.current_limit
    return too_many_requests(wait_seconds(current.window[0]) if current else 60)


def too_many_requests(seconds: int):
    """429 with ``Retry-After``: JSON under ``/api/``, the Vietnamese error page elsewhere."""
    body, status = error_response(
        429, "too_many_requests", "Too many requests; retry after %d seconds" % seconds,
        "Quá nhiều yêu cầu",
        "Bạn gửi quá nhiều yêu cầu. Xin thử lại sau %d phút." % wait_minutes(seconds))
    return body, status, {"Retry-After": str(seconds)}
