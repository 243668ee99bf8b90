"""Errors that carry their HTTP status, and the one function that builds every JSON error body.

Views raise these; one handler in ``search_service.web`` turns them into a response (JSON under
``/api/``, a Vietnamese HTML page elsewhere), so no view formats an error itself.

The on-disk index's own errors (:class:`IndexProblem`) are for operators: their messages name
server paths, so they carry no HTTP status and a web visitor never reads them.
"""

from __future__ import annotations


class APIError(Exception):
    """Base class: ``status`` and ``code`` say what the client gets back."""
    status = 500
    code = "internal_error"
    # What a ward user reads on an HTML error page (the message itself may be English).
    title_vi = "Đã có lỗi xảy ra"

    def __init__(self, message: str = "Internal server error", *, message_vi: str | None = None):
        super().__init__(message)
        self.message = message
        self.message_vi = message_vi or message

    def body(self) -> dict:
        return error_body(self.code, self.message)


class BadParameter(APIError):
    """A query-string parameter is missing its form or out of range; ``parameter`` names it."""
    status = 400
    code = "bad_parameter"
    title_vi = "Yêu cầu không hợp lệ"

    def __init__(self, parameter: str, message: str, *, message_vi: str | None = None):
        super().__init__(message, message_vi=message_vi)
        self.parameter = parameter

    def body(self) -> dict:
        return error_body(self.code, self.message, parameter=self.parameter)


class QueryTooLong(BadParameter):
    """The query is longer than the ``SEARCH_MAX_QUERY_CHARS`` setting allows; ``limit`` is the
    value in force. Raised by the search library (``SearchRequest``) for every caller; the
    message names the limit and the setting, for the operator reading the command line."""

    SETTING = "SEARCH_MAX_QUERY_CHARS"

    def __init__(self, limit: int):
        super().__init__("q", f"the query is longer than {limit:,} characters, the limit set by "
                              f"{self.SETTING}",
                         message_vi=f"Từ khóa dài quá {limit} ký tự.")
        self.limit = limit


class NotFound(APIError):
    status = 404
    code = "not_found"
    title_vi = "Không tìm thấy"


class Forbidden(APIError):
    status = 403
    code = "forbidden"
    title_vi = "Không được phép"


def error_body(code: str, message: str, **extra) -> dict:
    """``{"error": {"code": ..., "message": ..., **extra}}``: the only JSON error shape."""
    return {"error": {"code": code, "message": message, **extra}}


# -- the on-disk index -------------------------------------------------------------------------

class IndexProblem(Exception):
    """The index in ``path`` cannot be used; the message names the folder and what to do."""

    def __init__(self, path, message: str):
        super().__init__(message)
        self.path = path
        self.message = message


class IndexMissing(IndexProblem):
    """There is no index in the folder. ``creatable``: the folder does not exist or is empty,
    so an index may be made there without mixing with other files."""

    def __init__(self, path, reason: str, *, creatable: bool):
        super().__init__(path, f"no index at {path}: {reason}")
        self.creatable = creatable


class IndexDamaged(IndexProblem):
    """A file of the index is missing, truncated or corrupt: it cannot be searched as it is."""

    # What to do, said once: the library keeps every document, so the index is rebuilt from it.
    ADVICE = ("it cannot be repaired in place: rebuild it from the library (`reindex --index "
              "FOLDER`; the damaged folder is replaced once the new index is complete); an "
              "index kept without a library is made again by ingesting the original files "
              "into a new, empty folder (`ingest --index NEW_FOLDER FILES`)")

    def __init__(self, path, what: str):
        super().__init__(path, f"the index in {path} is damaged: {what}; {self.ADVICE}")
        self.what = what


class IndexUnreadable(IndexProblem):
    """The operating system refused to read the index (permissions, an I/O error)."""


class SearchUnavailable(IndexProblem, APIError):
    """The index cannot be read now: no snapshot could be opened, or reading one failed.

    An :class:`IndexProblem` for operators (``message`` names the folder; ``problem`` is what
    was found: :class:`IndexMissing`, :class:`IndexDamaged`, :class:`IndexUnreadable`), and an
    :class:`APIError` with status 503 for the web layer, whose body and page name no path.
    """
    status = 503
    code = "index_unavailable"
    title_vi = "Tạm thời chưa tra cứu được"
    PUBLIC_MESSAGE = "The search index cannot be read right now; retry in a few seconds"
    MESSAGE_VI = ("Hệ thống tra cứu tạm thời không đọc được dữ liệu văn bản. Xin vui lòng thử "
                  "lại sau ít phút; nếu vẫn không được, xin báo cho cán bộ phường.")

    def __init__(self, problem: IndexProblem, retry_seconds: float = 2.0):
        IndexProblem.__init__(self, problem.path, problem.message)
        self.problem = problem
        self.message_vi = self.MESSAGE_VI
        self.headers = {"Retry-After": str(max(1, round(retry_seconds)))}

    def body(self) -> dict:
        return error_body(self.code, self.PUBLIC_MESSAGE)
