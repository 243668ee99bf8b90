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

A scan is read by OCR at 2-5 s a page, so the plain form's files are read by a background
thread (:class:`UploadJobs`, one per app, one job at a time: OCR keeps a core, the other is
for searches). The form's answer waits for that job as before, unless a file needs OCR (or
another upload is being read): then it sends the member of staff to the job's page,
``/console/uploads/<job>``, which says which page is being read and reloads itself every
2 s (no script needed) until the files are read, then shows the document. Only the one who
uploaded sees a job; finished jobs are forgotten after :data:`JOB_SECONDS`. A job's state is
also saved as JSON in the library folder (:data:`JOBS_FOLDER`), so that any of the server's
processes can show its page.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   url_for)

from search_service.errors import APIError, BadParameter, Forbidden
from search_service.ingest import IngestError
from search_service.library import VISIBILITIES, LibraryError, Principal
from search_service.library import NotFound as LibraryNotFound
from search_service.web.service import engine
from search_service.web.auth import check_csrf, library, session_principal
from search_service.web.relations_view import (TYPE_CHOICES, VALIDITY_LABELS,
                                                 console_relations)
from search_service.web.documents import keeps_original
from search_service.web.write_api import EDITABLE, apply_changes, intake, upload_name

logger = logging.getLogger(__name__)
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
JOB_SECONDS = 3600.0        # a finished upload job's page lasts this long
MAX_JOBS = 100              # jobs an app holds; the oldest finished ones go first
REFRESH_SECONDS = 2         # how often a job's page reloads itself
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
    if not files:
        if _wants_json():
            return {"results": []}, 400
        return render_template("console_upload.html", results=[], error="Chưa chọn tệp nào.",
                               **_upload_context()), 400
    job, done = _read_upload(principal, visibility, files)
    if _wants_json():               # console.js: one file, and it follows a job's progress
        if not done:                # read by OCR: console.js asks the job how it goes
            return {"job": url_for(".upload_job", job_id=job.id)}, 202
        return {"results": [_with_links(r) for r in job.results]}, 200
    if not done:
        return redirect(url_for(".upload_job", job_id=job.id), 303)
    page = render_template("console_upload.html", results=[_with_links(r) for r in job.results],
                           error=None, **_upload_context())
    return page, 200


def _read_upload(principal: Principal, visibility: str, files) -> tuple[UploadJob, bool]:
    """The form's files as a job, read until the form may answer: ``(job, True)`` once read,
    ``(job, False)`` while OCR reads it or another upload is read first. A job that failed
    raises what stopped it."""
    job = UploadJob(owner=principal.name, visibility=visibility,
                    files=[(upload_name(f.filename), f.read()) for f in files])
    intake()                        # the library exists: the job's state is kept in it
    if _jobs().submit(job):
        job.answer.wait()
    else:                           # too many jobs at once: read here, as before
        job.run()
    done = job.done.is_set()
    if done and job.failure is not None:
        raise job.failure
    return job, done


@bp.route("/uploads/<job_id>")
def upload_job(job_id: str):
    """How an upload read by OCR is going: reloads itself until done, then the document."""
    principal = staff()
    state = _jobs().state(job_id)
    if state is None or state["owner"] != principal.name:
        abort(404)                  # another person's job does not exist for this one
    results = [_with_links(r) for r in state["results"]]
    if _wants_json():
        return {"done": state["done"], "reading": None if state["done"] else _reading(state),
                "failure": state["failure"], "results": results}
    if not state["done"]:
        return render_template("console_upload_job.html", job=state, reading=_reading(state),
                               refresh=REFRESH_SECONDS, results=results)
    if state["failure"] is not None:
        return render_template("console_upload_job.html", job=state, reading=None,
                               refresh=None, results=results, failure=state["failure"]), 500
    if len(results) == 1 and results[0]["status"] != "refused":
        flash("Đã nhận (bản nháp)." if results[0]["status"] == "created"
              else "Tệp này đã có trong thư viện.")
        return redirect(results[0]["edit_url"], 303)
    return render_template("console_upload_job.html", job=state, reading=None, refresh=None,
                           results=results)


def _wants_json() -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _reading(state: dict) -> dict:
    """What a job's page says: the file being read, and the page of the scan if OCR."""
    name = state["current"]
    if name is None:
        return {"waiting": True, "name": None}
    last = next((p for p in reversed(state["pages"]) if p[0] == name), None)
    if last is None:
        return {"waiting": False, "name": name, "ocr": False}
    _, page, pages, _ = last
    return {"waiting": False, "name": name, "ocr": True, "read": page, "pages": pages,
            "page": min(page + 1, pages)}


def _failure_vi(exc: BaseException) -> str:
    """Why an upload job stopped (not a file refused: the server), as staff read it."""
    from search_service.library.intake import IndexBusy, IndexNotUpdated

    if isinstance(exc, IndexBusy):
        return ("Chỉ mục tìm kiếm đang được cập nhật (một lần nhập tài liệu khác đang chạy) nên "
                "tệp chưa được lưu. Xin thử tải lên lại sau một phút.")
    if isinstance(exc, IndexNotUpdated):
        return ("Tệp đã được lưu vào thư viện nhưng chưa cập nhật được chỉ mục tìm kiếm; việc "
                "này sẽ được làm lại ở lần thay đổi tiếp theo. Xem trong danh sách tài liệu.")
    return "Máy chủ gặp sự cố khi đọc tệp nên tệp chưa được lưu. Xin thử lại sau."


@dataclass(eq=False)
class UploadJob:
    """The files of one upload form, read in the background; what became of each."""

    owner: str
    visibility: str
    files: list                         # (name, bytes); emptied once read
    id: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    created: float = field(default_factory=time.monotonic)
    names: list = field(default_factory=list)
    results: list = field(default_factory=list)
    pages: list = field(default_factory=list)  # (name, page, pages, seconds) as OCR read them
    current: str | None = None          # the file being read
    failure: BaseException | None = None
    finished: float | None = None
    folder: Path | None = None          # where its state is saved, see save()
    done: threading.Event = field(default_factory=threading.Event)
    answer: threading.Event = field(default_factory=threading.Event)   # the form may answer

    def __post_init__(self):
        self.names = [name for name, _ in self.files]

    def run(self) -> None:
        """Read every file (in a thread with the app's context), then refresh the engine."""
        try:
            files, self.files = self.files, []
            for name, data in files:
                self.current = name
                self.save()
                self.results.append(_upload_one(name, data, self.visibility, self.owner,
                                                self._progress))
            if any(r["status"] != "refused" for r in self.results):
                engine().refresh()
        except BaseException as exc:  # noqa: BLE001 - shown on the job's page, and logged
            logger.exception("an upload of %s failed", ", ".join(self.names))
            self.failure = exc
        finally:
            self.current, self.finished = None, time.monotonic()
            self.save()
            self.done.set()
            self.answer.set()

    def _progress(self, name: str, page: int, pages: int, seconds: float) -> None:
        self.pages.append((name, page, pages, seconds))
        self.save()
        self.answer.set()               # OCR: the form answers with this job's page

    def state(self) -> dict:
        """What the job's page shows, as JSON (any server process may show it)."""
        return {"id": self.id, "owner": self.owner, "names": self.names,
                "results": list(self.results), "pages": list(self.pages),
                "current": self.current, "done": self.done.is_set() or self.finished is not None,
                "failure": None if self.failure is None else _failure_vi(self.failure)}

    def save(self) -> None:
        """Write the state where the app's other processes read it (gunicorn workers)."""
        if self.folder is None:
            return
        try:
            self.folder.mkdir(mode=0o700, exist_ok=True)
            temporary = self.folder / f".{self.id}.tmp"
            temporary.write_text(json.dumps(self.state(), ensure_ascii=False),
                                 encoding="utf-8")
            os.replace(temporary, self.folder / f"{self.id}.json")
        except OSError:
            logger.warning("cannot save the state of upload job %s", self.id, exc_info=True)


class UploadJobs:
    """An app's upload jobs: read one at a time by a thread that ends when none are left."""

    def __init__(self, app):
        self.app = app
        self.folder = Path(app.config["LIBRARY_DIR"]) / JOBS_FOLDER
        self.jobs: dict[str, UploadJob] = {}
        self.queue: queue.Queue = queue.Queue()
        self.lock = threading.Lock()
        self.worker: threading.Thread | None = None
        self.busy = False                       # the worker is reading a job

    def submit(self, job: UploadJob) -> bool:
        """Queue ``job``; False when the app holds too many jobs that are not done."""
        with self.lock:
            self._expire()
            if len(self.jobs) >= MAX_JOBS:
                return False
            self.jobs[job.id] = job
            job.folder = self.folder
            job.save()
            if self.busy:                       # another upload is being read: say so
                job.answer.set()
            self.queue.put(job)
            if self.worker is None:
                self.worker = threading.Thread(target=self._work, name="console-uploads",
                                               daemon=True)
                self.worker.start()
        return True

    def get(self, job_id: str) -> UploadJob | None:
        with self.lock:
            return self.jobs.get(job_id)

    def state(self, job_id: str) -> dict | None:
        """A job's state: this process's own, else one another process saved."""
        with self.lock:
            job = self.jobs.get(job_id)
            if job is not None:
                return job.state()
        if not _JOB_ID.fullmatch(job_id):
            return None
        try:
            path = self.folder / f"{job_id}.json"
            if time.time() - path.stat().st_mtime > JOB_SECONDS:
                return None
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def _expire(self) -> None:
        now = time.monotonic()
        finished = sorted((j for j in self.jobs.values() if j.finished is not None),
                          key=lambda j: j.finished)
        for job in finished:
            if now - job.finished > JOB_SECONDS or len(self.jobs) >= MAX_JOBS:
                del self.jobs[job.id]
        try:
            saved = sorted(self.folder.glob("*.json"), key=lambda p: p.stat().st_mtime)
        except OSError:
            return
        for number, path in enumerate(saved):
            try:
                if len(saved) - number > MAX_JOBS or \
                        time.time() - path.stat().st_mtime > JOB_SECONDS:
                    path.unlink()
            except OSError:
                pass

    def _work(self) -> None:
        from search_service.ingest import parserprocess

        with self.app.app_context():
            try:
                while True:
                    with self.lock:
                        try:
                            job = self.queue.get_nowait()
                        except queue.Empty:
                            self.worker = None
                            return
                        self.busy = True
                    try:
                        job.run()
                    finally:
                        self.busy = False
            finally:
                parserprocess.shared().close()      # this thread's parser child


def _jobs() -> UploadJobs:
    app = current_app._get_current_object()
    with _JOBS_LOCK:
        jobs = app.extensions.get("console_upload_jobs")
        if jobs is None:
            jobs = app.extensions["console_upload_jobs"] = UploadJobs(app)
        return jobs


_JOBS_LOCK = threading.Lock()
_JOB_ID = re.compile(r"[A-Za-z0-9_-]{24}")
JOBS_FOLDER = ".upload-jobs"        # in the library folder: every server process reads it


def _upload_context() -> dict:
    max_mb = float(current_app.config["MAX_FILE_MB"])
    return {"max_mb_text": f"{max_mb:g}".replace(".", ","),
            "max_bytes": int(max_mb * 1024 * 1024),
            "visibility_labels": VISIBILITY_LABELS}


def _upload_one(name: str, data: bytes, visibility: str, actor: str,
                on_progress=None) -> dict:
    """One file as a draft: what was read from it, or why it was refused (links are added
    by :func:`_with_links`, in a request: this may run in the upload thread)."""
    try:
        doc, created = intake().add(name, data, visibility=visibility, published=False,
                                    actor=actor, on_progress=on_progress)
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
            "is_published": doc.is_published}


def _with_links(result: dict) -> dict:
    if "id" not in result:
        return result
    return {**result, "edit_url": url_for(".edit", doc_id=result["id"])}


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
    principal, doc = _editor_form(doc_id)
    action = request.form.get("action", "save")
    if action not in SAVED:
        raise BadParameter("action", "unknown action")
    try:
        changes = _form_changes(doc)
        if action != "save":
            changes["is_published"] = action == "publish"
        if changes:
            apply_changes(doc_id, changes, principal.name)
    except FORM_REFUSALS as exc:
        _unless_correctable(exc)
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


def _editor_form(doc_id: str):
    """A form that changes ``doc_id``: its CSRF token checked, ``(editor, the library's
    document)`` (404 before anything else is read from the form)."""
    check_csrf()
    principal = staff(editor=True)
    return principal, _library_document(doc_id)


# What a form's change may be refused with; a 400 among them is shown on the form.
FORM_REFUSALS = (APIError, LibraryError)


def _unless_correctable(exc: Exception) -> None:
    """Re-raise ``exc`` unless its author can correct it on the form (a 400): anything else
    goes to the app's error pages."""
    if getattr(exc, "status", 500) != 400:
        raise exc


def _form_error(exc, hints: tuple = ()) -> str:
    """What the form says of a refused value: our own errors' Vietnamese message; for the
    library's, the first of ``hints`` (``(how its message starts, what to say)``) that fits."""
    if isinstance(exc, APIError):
        if exc.message_vi != exc.message:
            return exc.message_vi
    else:
        for start, vietnamese in hints:
            if str(exc).startswith(start):
                return vietnamese
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
        has_original=keeps_original(doc))


@bp.route("/documents/<path:doc_id>/delete")
def confirm_delete(doc_id: str):
    staff(editor=True)
    return render_template("console_delete.html", doc=_library_document(doc_id))


@bp.route("/documents/<path:doc_id>/delete", methods=["POST"])
def delete(doc_id: str):
    principal, doc = _editor_form(doc_id)
    intake().delete(doc_id, actor=principal.name)
    engine().refresh()
    flash(f"Đã xóa “{doc.metadata.get('title') or doc.title}”.")
    return redirect(url_for(".documents"), 303)


# -- relations between documents (#11) ---------------------------------------------------------
RELATION_SAVED = {"add": "Đã lưu quan hệ {number}.",
                  "remove": "Đã gỡ quan hệ {number}: máy đọc nhầm.",
                  "restore": "Đã trả quan hệ {number} về như máy đọc từ văn bản."}
# The library's refusals of a relation or a validity, as the forms say them (see _form_error).
RELATION_HINTS = (("number:", "Số hiệu văn bản không đúng dạng (ví dụ 45/QĐ-UBND hoặc "
                              "12-NQ/ĐU)."),
                  ("type", "Loại quan hệ không hợp lệ."))
VALIDITY_HINTS = (("since", "Ngày không đúng dạng (năm-tháng-ngày, ví dụ 2024-07-01)."),)


@bp.route("/documents/<path:doc_id>/relations")
def relations(doc_id: str):
    staff()
    return _relations_page(doc_id)


@bp.route("/documents/<path:doc_id>/relations", methods=["POST"])
def correct_relation(doc_id: str):
    """Correct a relation the machine read: remove a wrong one, add a missing one (or give
    one another type), or hand one back to the text. Audited by the library; the documents
    whose validity changes are sent to the index with it."""
    principal, _ = _editor_form(doc_id)
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
    except FORM_REFUSALS as exc:
        _unless_correctable(exc)
        return _relations_page(doc_id, error=_form_error(exc, RELATION_HINTS),
                               typed={"number": number, "type": rel_type}), 400
    engine().refresh()
    flash(RELATION_SAVED[action].format(number=number))
    return redirect(url_for(".relations", doc_id=doc_id), 303)


@bp.route("/documents/<path:doc_id>/validity", methods=["POST"])
def correct_validity(doc_id: str):
    """Set a document's validity by hand, or hand it back to what its relations and dates
    say. Audited by the library; the document is sent to the index with it."""
    principal, _ = _editor_form(doc_id)
    action = request.form.get("action", "")
    status = request.form.get("status") or ""
    since = (request.form.get("since") or "").strip() or None
    try:
        if action == "restore":
            intake().uncorrect_validity(doc_id, actor=principal.name)
        elif action == "set":
            if status not in VALIDITY_LABELS:
                raise BadParameter("status", "choose the status",
                                   message_vi="Hãy chọn tình trạng hiệu lực.")
            intake().correct_validity(doc_id, actor=principal.name, status=status, since=since)
        else:
            raise BadParameter("action", "action must be set or restore",
                               message_vi="Thao tác không hợp lệ.")
    except FORM_REFUSALS as exc:
        _unless_correctable(exc)
        return _relations_page(doc_id, error=_form_error(exc, VALIDITY_HINTS)), 400
    engine().refresh()
    flash("Đã trả tình trạng hiệu lực về như máy xác định." if action == "restore"
          else f"Đã lưu tình trạng hiệu lực: {VALIDITY_LABELS[status]}.")
    return redirect(url_for(".relations", doc_id=doc_id), 303)


def _relations_page(doc_id: str, error: str | None = None, typed=None):
    doc = _library_document(doc_id)
    return render_template(
        "console_relations.html", doc=doc, error=error, typed=typed or {},
        types=TYPE_CHOICES, validity_choices=list(VALIDITY_LABELS.items()),
        **console_relations(library(), doc_id))


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
        if keeps_original(doc):
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
