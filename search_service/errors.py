"""Errors that carry their HTTP status, and the one function that builds every JSON error body.

Views raise these; one handler in ``search_service.web`` turns them into a response (JSON under
``/api/``, a Vietnamese HTML page elsewhere), so no view formats an error itself.
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
