"""The staff console under ``/console``: upload files, check what was read, correct, publish.

Pages for logged-in staff only. Viewers may look (the list and each document as the library
holds it); editors also upload, correct, change visibility, publish, unpublish and delete.
Every form that changes anything carries the session's CSRF token (``auth.check_csrf``), and
every change goes through the same :func:`~search_service.web.write_api.apply_changes` as the
write API, so the console and programs follow one set of rules.

Relations between documents (#11) have a page of their own per document, where staff remove
a relation the machine misread, add a missing one or give one another type; the library
audits it and the documents whose validity moves are sent to the index at once.

Uploads arrive as drafts (not published): staff see what was read, correct it, choose who may
see it, then publish. ``console.js`` sends each file on its own with a progress bar; without
script the same form sends them all at once.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from flask import (Blueprint, abort, flash, redirect, render_template, request, url_for)

from search_service.errors import APIError, BadParameter, Forbidden
from search_service.ingest import IngestError
from search_service.library import VISIBILITIES, LibraryError, Principal
from search_service.library import NotFound as LibraryNotFound
from search_service.web.service import engine
from search_service.web.auth import check_csrf, library, session_principal
from search_service.web.relations_view import TYPE_CHOICES, console_relations
from search_service.web.write_api import (EDITABLE, apply_changes, has_original, intake,
                                          upload_name)

bp = Blueprint("console", __name__, url_prefix="/console")

PER_PAGE = 20
EXCERPT_CHARS = 600
PREVIEW_CHARS = 4000
LABELS = {"title": "Tiêu đề", "doc_number": "Số hiệu", "doc_type": "Loại văn bản",
          "issuer": "Cơ quan ban hành", "signer": "Người ký", "published": "Ngày ban hành",
          "category": "Chuyên mục"}
VISIBILITY_LABELS = {"public": "Công khai", "internal": "Nội bộ"}
STATES = {"published": True, "draft": False}
# What ingestion says about a file (English, for operators) → what a clerk reads.
REASONS_VI = (("empty file", "Tệp rỗng."),
              ("(content is", "Nội dung tệp không khớp với loại tệp ghi trong tên tệp."),
              ("unsupported file type", "Chưa hỗ trợ loại tệp này."),
              ("unknown file type", "Không rõ loại tệp (tên tệp không có phần mở rộng)."),
              ("corrupt", "Tệp bị hỏng hoặc không đúng định dạng."),
              ("holds no text", "Tệp không có chữ (có thể là bản chụp/quét)."),
              ("no text", "Tệp không có chữ (có thể là bản chụp/quét)."),
              ("encrypted", "Tệp được đặt mật khẩu."),
              ("password", "Tệp được đặt mật khẩu."),
              ("larger than", "Tệp quá lớn."),
              ("too large", "Tệp quá lớn."),
              ("seconds", "Đọc tệp quá lâu."))
_DAY_FIRST = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:\s+(\d{1,2}):(\d{2}))?")
VIETNAM = timezone(timedelta(hours=7))       # no daylight saving time
SAVED = {"save": "Đã lưu.", "publish": "Đã lưu và công bố.",
         "unpublish": "Đã lưu và ngừng công bố: người dân không còn thấy tài liệu này."}


def staff(editor: bool = False) -> Principal:
    """The logged-in staff member; visitors go to the login page, viewers get 403 on writes."""
    principal = session_principal()
    if principal is None:
        abort(redirect(url_for("auth.login", next=request.full_path.rstrip("?"))))
    if editor and principal.role != "editor":
        raise Forbidden("Viewers may not change documents",
                        message_vi="Tài khoản của bạn chỉ được xem, không được thêm hay sửa "
                                   "tài liệu.")
    return principal


# -- the list ----------------------------------------------------------------------------------
@bp.route("/")
def documents():
    staff()
    args = {name: " ".join(_printable(request.args.get(name) or "").split())[:200]
            for name in ("q", "visibility", "state", "type")}
    if not any(c.isalnum() for c in args["q"]):
        args["q"] = ""              # "/" or "-" alone: nothing to look for (nor to fail on)
    page = _page_number(request.args.get("page"))
    if args["visibility"] and args["visibility"] not in VISIBILITIES:
        raise BadParameter("visibility", "visibility must be public or internal",
                           message_vi="Bộ lọc phạm vi không hợp lệ.")
    if args["state"] and args["state"] not in STATES:
        raise BadParameter("state", "state must be published or draft",
                           message_vi="Bộ lọc trạng thái không hợp lệ.")
    lib = library()
    found = lib.list_documents(visibility=args["visibility"] or None,
                               is_published=STATES.get(args["state"]),
                               doc_type=args["type"] or None, text=args["q"] or None,
                               limit=PER_PAGE, offset=(page - 1) * PER_PAGE) if lib else None
    kept = {k: v for k, v in args.items() if v}
    return render_template(
        "console_documents.html", found=found, args=args, page=page,
        previous_url=url_for(".documents", **kept, page=page - 1) if page > 1 else None,
        next_url=url_for(".documents", **kept, page=page + 1)
        if found and page * PER_PAGE < found.total else None,
        labels=LABELS, visibility_labels=VISIBILITY_LABELS)


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else " " for c in text)


def _page_number(raw: str | None) -> int:
    if raw in (None, ""):
        return 1
    if not raw.isdigit() or not 1 <= int(raw) <= 100_000:
        raise BadParameter("page", "page must be a whole number from 1",
                           message_vi="Số trang không hợp lệ.")
    return int(raw)


# -- uploading ---------------------------------------------------------------------------------
@bp.route("/upload")
def upload_form():
    staff(editor=True)
    return render_template("console_upload.html", results=None, **_upload_context())


@bp.route("/upload", methods=["POST"])
def upload():
    check_csrf()
    principal = staff(editor=True)
    visibility = request.form.get("visibility", "public")
    if visibility not in VISIBILITIES:
        raise BadParameter("visibility", "visibility must be public or internal",
                           message_vi="Phạm vi không hợp lệ.")
    files = [f for f in request.files.getlist("files") if f.filename]
    results = [_upload_one(f, visibility, principal.name) for f in files]
    if any(r["status"] != "refused" for r in results):
        engine().refresh()
    if "application/json" in request.headers.get("Accept", ""):
        return {"results": results}, 200 if files else 400
    error = None if files else "Chưa chọn tệp nào."
    page = render_template("console_upload.html", results=results, error=error,
                           **_upload_context())
    return page, 200 if files else 400


def _upload_context() -> dict:
    from flask import current_app

    max_mb = float(current_app.config["MAX_FILE_MB"])
    return {"max_mb_text": f"{max_mb:g}".replace(".", ","),
            "max_bytes": int(max_mb * 1024 * 1024),
            "visibility_labels": VISIBILITY_LABELS}


def _upload_one(upload, visibility: str, actor: str) -> dict:
    """One file as a draft: what was read from it, or why it was refused."""
    name = upload_name(upload.filename)
    try:
        doc, created = intake().add(name, upload.read(), visibility=visibility,
                                    published=False, actor=actor)
    except IngestError as exc:
        return {"name": name, "status": "refused", "reason": reason_vi(str(exc)),
                "detail": str(exc)}
    except LibraryError as exc:
        if getattr(exc, "status", 500) >= 500:
            raise
        return {"name": name, "status": "refused", "reason": "Thư viện không nhận tệp này.",
                "detail": str(exc)}
    return {"name": name, "status": "created" if created else "duplicate", "id": doc.id,
            "title": doc.metadata.get("title") or doc.title,
            "excerpt": _excerpt(doc.body, EXCERPT_CHARS),
            "metadata": [[LABELS[k], _shown(k, doc.metadata.get(k))] for k in EDITABLE
                         if k != "title" and doc.metadata.get(k)],
            "visibility": VISIBILITY_LABELS.get(doc.visibility, doc.visibility),
            "is_published": doc.is_published,
            "edit_url": url_for(".edit", doc_id=doc.id)}


def reason_vi(reason: str) -> str:
    """Why a file was refused, in Vietnamese (the technical detail is shown beside it)."""
    lowered = reason.lower()
    for needle, vietnamese in REASONS_VI:
        if needle in lowered:
            return vietnamese
    return "Không đọc được tệp này."


# -- one document ------------------------------------------------------------------------------
@bp.route("/documents/<path:doc_id>")
def edit(doc_id: str):
    staff()
    return _edit_page(doc_id)


@bp.route("/documents/<path:doc_id>", methods=["POST"])
def save(doc_id: str):
    check_csrf()
    principal = staff(editor=True)
    doc = _library_document(doc_id)
    action = request.form.get("action", "save")
    if action not in SAVED:
        raise BadParameter("action", "unknown action")
    try:
        changes = _form_changes(doc)
        if action != "save":
            changes["is_published"] = action == "publish"
        if changes:
            apply_changes(doc_id, changes, principal.name)
    except (APIError, LibraryError) as exc:
        if getattr(exc, "status", 500) != 400:
            raise
        return _edit_page(doc_id, error=_form_error(exc), typed=request.form), 400
    flash(SAVED[action] if changes else "Không có gì thay đổi.")
    return redirect(url_for(".edit", doc_id=doc_id), 303)


def _form_changes(doc) -> dict:
    """The fields whose typed value differs from what the document shows."""
    changes = {}
    for name in EDITABLE:
        typed = " ".join((request.form.get(name) or "").split())
        if typed == _shown(name, doc.metadata.get(name)):
            continue
        if name == "title" and not typed:
            raise BadParameter("title", "a document must keep a title",
                               message_vi="Tiêu đề không được để trống.")
        changes[name] = _iso_date(typed) if name == "published" and typed else typed or None
    visibility = request.form.get("visibility")
    if visibility in VISIBILITIES and visibility != doc.visibility:
        changes["visibility"] = visibility
    return changes


def _form_error(exc) -> str:
    if isinstance(exc, APIError) and exc.message_vi != exc.message:
        return exc.message_vi
    return f"Giá trị không hợp lệ: {exc}"


def _edit_page(doc_id: str, error: str | None = None, typed=None):
    doc = _library_document(doc_id)
    values = {name: _shown(name, doc.metadata.get(name)) for name in EDITABLE}
    if typed is not None:
        values = {name: typed.get(name, "") for name in EDITABLE}
    guesses = {"title": doc.title, **doc.guesses}
    return render_template(
        "console_document.html", doc=doc, values=values, error=error, labels=LABELS,
        guesses={k: _shown(k, guesses.get(k)) for k in EDITABLE},
        visibility=(typed or {}).get("visibility") or doc.visibility,
        visibility_labels=VISIBILITY_LABELS, preview=_excerpt(doc.body, PREVIEW_CHARS),
        indexed=engine().get_document(doc_id, include_internal=True) is not None,
        has_original=has_original(doc_id))


@bp.route("/documents/<path:doc_id>/delete")
def confirm_delete(doc_id: str):
    staff(editor=True)
    return render_template("console_delete.html", doc=_library_document(doc_id))


@bp.route("/documents/<path:doc_id>/delete", methods=["POST"])
def delete(doc_id: str):
    check_csrf()
    principal = staff(editor=True)
    doc = _library_document(doc_id)
    intake().delete(doc_id, actor=principal.name)
    engine().refresh()
    flash(f"Đã xóa “{doc.metadata.get('title') or doc.title}”.")
    return redirect(url_for(".documents"), 303)


# -- relations between documents (#11) ---------------------------------------------------------
RELATION_SAVED = {"add": "Đã lưu quan hệ {number}.",
                  "remove": "Đã gỡ quan hệ {number}: máy đọc nhầm.",
                  "restore": "Đã trả quan hệ {number} về như máy đọc từ văn bản."}


@bp.route("/documents/<path:doc_id>/relations")
def relations(doc_id: str):
    staff()
    return _relations_page(doc_id)


@bp.route("/documents/<path:doc_id>/relations", methods=["POST"])
def correct_relation(doc_id: str):
    """Correct a relation the machine read: remove a wrong one, add a missing one (or give
    one another type), or hand one back to the text. Audited by the library; the documents
    whose validity changes are sent to the index with it."""
    check_csrf()
    principal = staff(editor=True)
    _library_document(doc_id)
    action = request.form.get("action", "")
    if action not in RELATION_SAVED:
        raise BadParameter("action", "action must be add, remove or restore",
                           message_vi="Thao tác không hợp lệ.")
    number = " ".join((request.form.get("number") or "").split())
    rel_type = request.form.get("type") or ""
    try:
        if action == "add" and rel_type not in dict(TYPE_CHOICES):
            raise BadParameter("type", "choose the relation's type",
                               message_vi="Hãy chọn loại quan hệ.")
        if action == "restore":
            intake().uncorrect_relation(doc_id, number, actor=principal.name)
        else:
            intake().correct_relation(doc_id, number, rel_type if action == "add" else None,
                                      actor=principal.name)
    except (APIError, LibraryError) as exc:
        if getattr(exc, "status", 500) != 400:
            raise
        return _relations_page(doc_id, error=_relation_error(exc),
                               typed={"number": number, "type": rel_type}), 400
    engine().refresh()
    flash(RELATION_SAVED[action].format(number=number))
    return redirect(url_for(".relations", doc_id=doc_id), 303)


def _relation_error(exc) -> str:
    if isinstance(exc, APIError):
        return _form_error(exc)
    text = str(exc)
    if text.startswith("number:"):
        return "Số hiệu văn bản không đúng dạng (ví dụ 45/QĐ-UBND hoặc 12-NQ/ĐU)."
    if text.startswith("type"):
        return "Loại quan hệ không hợp lệ."
    return f"Giá trị không hợp lệ: {text}"


def _relations_page(doc_id: str, error: str | None = None, typed=None):
    doc = _library_document(doc_id)
    return render_template(
        "console_relations.html", doc=doc, error=error, typed=typed or {},
        types=TYPE_CHOICES, **console_relations(library(), doc_id))


def _library_document(doc_id: str):
    lib = library()
    if lib is None:
        raise LibraryNotFound(f"no document {doc_id!r} in the library")
    return lib.get(doc_id)


# -- helpers for templates ---------------------------------------------------------------------
@bp.app_context_processor
def _document_actions() -> dict:
    """``document_actions(doc_id)`` for the public document page: the original's download
    and, for editors, the console's edit page (only for documents the library holds)."""
    def document_actions(doc_id: str) -> dict:
        lib = library()
        try:
            doc = lib.get(doc_id) if lib is not None else None
        except LibraryNotFound:
            doc = None
        if doc is None:
            return {}
        actions = {}
        if has_original(doc_id):
            actions["original_url"] = url_for("write_api.original", doc_id=doc_id)
        principal = session_principal()
        if principal is not None and principal.role == "editor":
            actions["edit_url"] = url_for("console.edit", doc_id=doc_id)
        return actions
    return {"document_actions": document_actions}


@bp.app_template_filter("vi_local_time")
def vi_local_time(value) -> str:
    """A stored UTC time as staff read it: ``05/03/2024 15:20`` in Vietnam's time."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value or "")
    if moment.tzinfo is not None:
        moment = moment.astimezone(VIETNAM)
    return moment.strftime("%d/%m/%Y %H:%M")


def _shown(name: str, value) -> str:
    """A stored value as a form shows it: dates as dd/mm/yyyy, nothing as ''."""
    if value in (None, ""):
        return ""
    if name == "published":
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
        return moment.strftime("%d/%m/%Y %H:%M" if moment.hour or moment.minute else "%d/%m/%Y")
    return " ".join(str(value).split())


def _iso_date(typed: str) -> str:
    """``05/03/2024`` (or ``05/03/2024 08:30``, or ISO) as the library stores dates."""
    match = _DAY_FIRST.fullmatch(typed)
    if match:
        day, month, year, hour, minute = match.groups()
        try:
            moment = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0))
        except ValueError:
            moment = None
        if moment is not None:
            return moment.isoformat() if hour else moment.date().isoformat()
    try:
        return datetime.fromisoformat(typed).isoformat()
    except ValueError:
        raise BadParameter("published", f"not a date: {typed!r}",
                           message_vi="Ngày ban hành phải có dạng ngày/tháng/năm, "
                                      "ví dụ 05/03/2024.") from None


def _excerpt(text: str, limit: int) -> str:
    text = (text or "").strip()
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"
