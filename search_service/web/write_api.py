"""The write API under ``/api/``: programs holding an API token add, correct and delete documents.

A token (``Authorization: Bearer TOKEN``, made with ``tokens create``) is checked by the library
against its stored hash. Writes need an editor's token; a viewer's token reads internal documents
and the audit log. Writes take tokens only, never the console's session cookie, so no page of
another site can make a logged-in browser write.

Every write goes through :class:`~search_service.library.intake.Intake` (library first, then the
index) and the engine is refreshed afterwards, so the next search sees the change. Originals are
served here too, to whoever may see their document, always as a download.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from pathlib import PurePosixPath
from urllib.parse import quote

from flask import Blueprint, Flask, current_app, request, send_file, url_for

from search_service.errors import BadParameter, Forbidden, NotFound, error_body
from search_service.ingest import IngestError
from search_service.library import VISIBILITIES, LibraryError, Principal
from search_service.library import NotFound as LibraryNotFound
from search_service.web.service import engine, error_response as _error_response
from search_service.web.auth import (Unauthorized, bearer_principal, current_principal,
                                     include_internal, library)
from search_service.web.documents import document_answer, from_old_index
from search_service.web.params import FALSE_WORDS, TRUE_WORDS

logger = logging.getLogger(__name__)
bp = Blueprint("write_api", __name__, url_prefix="/api")

# What people may correct (the intake's editable metadata), in the order forms show them.
EDITABLE = ("title", "doc_number", "doc_type", "issuer", "signer", "published", "category")
# Multipart boundaries and the metadata fields around the file itself.
UPLOAD_SLACK_BYTES = 256 * 1024
DEFAULT_AUDIT_EVENTS = 50
MAX_AUDIT_EVENTS = 1000
_MEDIA_TYPE_RE = re.compile(r"[A-Za-z0-9][\w.+-]*/[A-Za-z0-9][\w.+-]*")
_FALLBACK_UNSAFE = re.compile(r"[^A-Za-z0-9._ ()-]+")

LIBRARY_ERRORS_VI = {
    400: ("Dữ liệu không hợp lệ", "Giá trị nhập vào không hợp lệ."),
    404: ("Không tìm thấy", "Không tìm thấy tài liệu này trong thư viện."),
    409: ("Xung đột dữ liệu", "Thao tác trùng với dữ liệu đã có. Xin tải lại trang."),
    503: ("Máy chủ đang bận", "Chỉ mục đang được cập nhật. Xin thử lại sau ít phút."),
}


def init_app(app: Flask) -> None:
    """The upload limit, refused before a byte is read, and the answers to library errors."""
    if app.config.get("MAX_CONTENT_LENGTH") is None:
        app.config["MAX_CONTENT_LENGTH"] = \
            int(float(app.config["MAX_FILE_MB"]) * 1024 * 1024) + UPLOAD_SLACK_BYTES
    app.extensions["intake_lock"] = threading.Lock()
    app.register_error_handler(LibraryError, _library_error)
    app.register_error_handler(IngestError, _unreadable)


def intake():
    """The app's intake (library first, then the index), made at the first write."""
    from search_service.library.intake import Intake

    app = current_app
    with app.extensions["intake_lock"]:
        if app.extensions.get("intake") is None:
            app.extensions["intake"] = Intake(
                library(create=True), app.config["INDEX_DIR"],
                max_file_mb=float(app.config["MAX_FILE_MB"]),
                max_seconds=app.config.get("MAX_SECONDS_PER_FILE"))
        return app.extensions["intake"]


def actor_of(principal: Principal, via_token: bool) -> str:
    """How the audit log names who acted: ``token:NAME`` for programs, the user's name."""
    return f"token:{principal.name}" if via_token else principal.name


def require_token(role: str | None = None) -> Principal:
    """The API token's owner; 401 without a usable token, 403 when its role is not ``role``."""
    principal = bearer_principal()
    if principal is None:
        raise Unauthorized("An API token is needed: Authorization: Bearer TOKEN",
                           message_vi="Cần mã truy cập của cán bộ.")
    if role is not None and principal.role != role:
        raise Forbidden(f"This token ({principal.role}) may not change documents",
                        message_vi="Tài khoản này chỉ được xem, không được sửa.")
    return principal


# -- writes ------------------------------------------------------------------------------------
@bp.route("/documents", methods=["POST"])
def add_document():
    actor = actor_of(require_token("editor"), via_token=True)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise BadParameter("file", "Send the document as the multipart field 'file'")
    fields = {name: request.form[name] for name in EDITABLE if request.form.get(name, "").strip()}
    visibility = request.form.get("visibility") or None
    if visibility is not None and visibility not in VISIBILITIES:
        raise BadParameter("visibility", f"visibility must be one of {', '.join(VISIBILITIES)}")
    published = form_bool("is_published", default=True)
    doc, created = intake().add(upload_name(upload.filename), upload.read(), fields=fields or None,
                                visibility=visibility, published=published, actor=actor)
    engine().refresh()
    headers = {"Location": url_for("api.document", doc_id=doc.id)}
    return document_json(doc.id), 201 if created else 200, headers


@bp.route("/documents/<path:doc_id>", methods=["PATCH"])
def patch_document(doc_id: str):
    actor = actor_of(require_token("editor"), via_token=True)
    changes = request.get_json(silent=True)
    if not isinstance(changes, dict) or not changes:
        raise BadParameter("body", "Send a JSON object of the fields to change")
    apply_changes(doc_id, changes, actor)
    return document_json(doc_id)


@bp.route("/documents/<path:doc_id>", methods=["DELETE"])
def delete_document(doc_id: str):
    actor = actor_of(require_token("editor"), via_token=True)
    intake().delete(doc_id, actor=actor)
    engine().refresh()
    return "", 204


def apply_changes(doc_id: str, changes: dict, actor: str) -> None:
    """Metadata corrections, then visibility, then publishing; every value is checked before
    the first write, so a bad one changes nothing."""
    unknown = sorted(set(changes) - set(EDITABLE) - {"visibility", "is_published"})
    if unknown:
        raise BadParameter(unknown[0], f"{unknown[0]!r} cannot be changed; editable: "
                           f"{', '.join(EDITABLE)}, visibility, is_published")
    visibility, published = changes.get("visibility"), changes.get("is_published")
    if "visibility" in changes and visibility not in VISIBILITIES:
        raise BadParameter("visibility", f"visibility must be one of {', '.join(VISIBILITIES)}")
    if "is_published" in changes and not isinstance(published, bool):
        raise BadParameter("is_published", "is_published must be true or false")
    library(create=True).get(doc_id)                   # 404 before anything is written
    metadata = {name: changes[name] for name in EDITABLE if name in changes}
    try:
        if metadata:
            intake().correct(doc_id, metadata, actor=actor)
        if visibility is not None:
            intake().set_visibility(doc_id, visibility, actor=actor)
        if published is not None:
            (intake().publish if published else intake().unpublish)(doc_id, actor=actor)
    finally:
        engine().refresh()


def form_bool(name: str, default: bool) -> bool:
    raw = (request.form.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in TRUE_WORDS or raw in FALSE_WORDS:
        return raw in TRUE_WORDS
    raise BadParameter(name, f"{name} must be true or false")


def upload_name(filename: str) -> str:
    """The file's own name, without the folders some browsers send (``C:\\Users\\…\\qd.docx``)."""
    return unicodedata.normalize("NFC", re.split(r"[\\/]", filename)[-1]).strip() or filename


# -- reads -------------------------------------------------------------------------------------
@bp.route("/audit")
def audit():
    """The audit log, newest first; any API token (or staff session) may read it."""
    if current_principal() is None:
        require_token()
    limit = request.args.get("limit", str(DEFAULT_AUDIT_EVENTS)).strip()
    if not limit.isdigit() or not 1 <= int(limit) <= MAX_AUDIT_EVENTS:
        raise BadParameter("limit", f"limit must be a whole number from 1 to {MAX_AUDIT_EVENTS}")
    document_id = request.args.get("document_id") or None
    lib = library()
    events = lib.events(int(limit), document_id) if lib is not None else []
    return {"events": events}


@bp.route("/documents/<path:doc_id>/original")
def original(doc_id: str):
    """The stored bytes, unchanged, as a download; 404 for whoever may not see the document."""
    found = original_file(doc_id)
    if found is None:
        raise NotFound(f"No original file for document {doc_id!r}",
                       message_vi="Không có văn bản gốc của tài liệu này.")
    info, path = found
    response = send_file(path, as_attachment=True, download_name="original", conditional=True,
                         max_age=0)
    media_type = info.media_type if _MEDIA_TYPE_RE.fullmatch(info.media_type or "") \
        else "application/octet-stream"
    response.headers["Content-Type"] = media_type        # as stored: no charset guessed for it
    response.headers["Content-Disposition"] = content_disposition(info.name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Even a browser that ignored the attachment could run nothing from it.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def original_file(doc_id: str):
    """``(Original, path)`` when this request may see the document and it has its file."""
    if engine().get_document(doc_id, include_internal=include_internal()) is None:
        return None
    lib = library()
    if lib is None:
        return None
    try:
        info, path = lib.original_path(doc_id)
    except LibraryNotFound:             # indexed before the library existed: no original
        return None
    except LibraryError as exc:
        logger.error("original of %r cannot be served: %s", doc_id, exc)
        return None
    return None if from_old_index(info) else (info, path)


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback name and the real one (RFC 6266, RFC 5987).

    >>> content_disposition("Quyết định số 123.docx")
    'attachment; filename="Quyet dinh so 123.docx"; filename*=UTF-8\\'\\'Quy%E1%BA%BFt%20%C4%91%E1%BB%8Bnh%20s%E1%BB%91%20123.docx'
    """
    name = unicodedata.normalize("NFC", PurePosixPath(name.replace("\\", "/")).name) or "van-ban"
    folded = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    ascii_name = "".join(c for c in folded if not unicodedata.combining(c))
    fallback = _FALLBACK_UNSAFE.sub("_", ascii_name).strip(" .") or "van-ban"
    return (f'attachment; filename="{fallback}"; '
            f"filename*=UTF-8''{quote(name, safe='')}")


def document_json(doc_id: str) -> dict:
    """The document exactly as ``GET /api/documents/<id>`` gives it to this caller (a token
    holder, so internal documents included)."""
    return document_answer(doc_id, include_internal=True)


# -- errors ------------------------------------------------------------------------------------
def _library_error(exc: LibraryError):
    """The library's refusals carry their status; a 500 among them says nothing of the server."""
    status = getattr(exc, "status", 500)
    if status >= 500 and status != 503:
        logger.error("library error on %s %s: %s", request.method, request.path, exc)
        return _error_response(500, "internal_error", "Internal server error",
                               "Đã có lỗi xảy ra",
                               "Máy chủ gặp sự cố khi xử lý yêu cầu. Xin vui lòng thử lại sau.")
    title, message_vi = LIBRARY_ERRORS_VI.get(status, LIBRARY_ERRORS_VI[400])
    body = error_body(getattr(exc, "code", "library_error"), str(exc))
    response = _error_response(status, body["error"]["code"], str(exc), title, message_vi, body)
    return (*response, {"Retry-After": "5"}) if status == 503 else response


def _unreadable(exc: IngestError):
    """A file that cannot be read is the client's problem, named: 422."""
    return _error_response(422, "unreadable_file", str(exc), "Không đọc được tệp",
                           f"Không đọc được tệp: {exc}", error_body("unreadable_file", str(exc),
                                                                    parameter="file"))
