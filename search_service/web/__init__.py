"""The Flask application: ``create_app()`` wires settings, the search engine and the blueprints.

``ui`` serves Vietnamese HTML pages and Atom feeds, ``api`` their JSON twins under ``/api/``,
``auth`` the staff login, ``write_api`` the token-authenticated writes under ``/api/`` and
``console`` the staff's pages for adding and correcting documents. Every error, whatever raised
it, is answered in one place here.
"""

from __future__ import annotations

import logging
import secrets

from flask import Flask, request
from werkzeug.exceptions import HTTPException

from search_service import config
from search_service.cluster import engine_for
from search_service.errors import APIError
# The blueprints take what they share (engine(), the error response) from web.service, never
# from this package, so importing them here makes no circle.
from search_service.web import api, auth, caching, console, limits, ops, ui, write_api
from search_service.web.service import error_response

logger = logging.getLogger(__name__)

# Defence in depth: even if some text slipped through unescaped, no inline script could run.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


__all__ = ["create_app"]


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app; ``test_config`` overrides settings (``INDEX_DIR``, ``STAFF_USERS``, ...)."""
    app = Flask(__name__)
    app.config.from_mapping(config.load(test_config))
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secrets.token_hex(32)   # sessions last as long as the process
    app.config.update(SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_HTTPONLY=True)
    app.json.ensure_ascii = False       # Vietnamese stays readable in JSON
    app.json.sort_keys = False
    app.extensions["search_engine"] = engine_for(app.config)

    ops.init_app(app)              # probes and the access log, which times everything after
    limits.init_app(app)
    auth.init_app(app)
    write_api.init_app(app)
    app.register_blueprint(ui.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(write_api.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(console.bp)
    app.context_processor(auth.template_context)
    app.jinja_env.filters.update(ui.FILTERS)
    _register_error_handlers(app)
    caching.init_app(app)          # after the limits: a 429 comes before a 304
    app.after_request(_security_headers)
    return app


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(APIError)
    def handle_api_error(exc: APIError):
        body, status = error_response(exc.status, exc.code, exc.message, exc.title_vi,
                                       exc.message_vi, exc.body())
        return body, status, getattr(exc, "headers", None) or {}

    @app.errorhandler(HTTPException)
    def handle_http_error(exc: HTTPException):
        status = exc.code or 500
        code = (exc.name or "error").lower().replace(" ", "_")
        title, message_vi = HTTP_MESSAGES_VI.get(status, ("Đã có lỗi xảy ra", exc.description))
        response = error_response(status, code, exc.description or exc.name, title, message_vi)
        if status == 405 and getattr(exc, "valid_methods", None):
            body, status = response
            return body, status, {"Allow": ", ".join(exc.valid_methods)}
        return response

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        logger.exception("unexpected error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "Internal server error",
                               "Đã có lỗi xảy ra",
                               "Máy chủ gặp sự cố khi xử lý yêu cầu. Xin vui lòng thử lại sau.")


HTTP_MESSAGES_VI = {
    400: ("Yêu cầu không hợp lệ", "Địa chỉ hoặc dữ liệu gửi lên không hợp lệ."),
    404: ("Không tìm thấy trang", "Trang bạn tìm không tồn tại hoặc đã được chuyển đi."),
    405: ("Phương thức không được hỗ trợ", "Trang này không nhận kiểu yêu cầu đó."),
    413: ("Dữ liệu quá lớn", "Dữ liệu gửi lên vượt quá giới hạn cho phép."),
    414: ("Địa chỉ quá dài", "Địa chỉ trang quá dài."),
    500: ("Đã có lỗi xảy ra", "Máy chủ gặp sự cố khi xử lý yêu cầu. Xin vui lòng thử lại sau."),
}


def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response
