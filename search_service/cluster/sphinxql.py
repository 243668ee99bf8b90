"""Talking SphinxQL (the MySQL protocol) to a cluster: the backend URL, one connection per
thread, and the errors a web reader or an operator sees when the cluster does not answer."""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

from search_service.errors import APIError

logger = logging.getLogger(__name__)

CONNECT_SECONDS = 1.0
READ_SECONDS = 15.0
# A coordinator's warning (or error) when it could not reach any mirror of a shard.
AGENT_FAILURE = re.compile(r"agent [^:]+:\d+: (?!remote query error)")
SCHEME = "sphinxql"


class ClusterUnavailable(APIError):
    """The cluster does not answer: 503, and the service keeps trying on the next request."""
    status = 503
    code = "backend_unavailable"
    title_vi = "Tạm thời chưa tra cứu được"

    def __init__(self, message: str):
        super().__init__(message, message_vi="Hệ thống tìm kiếm đang tạm ngừng hoạt động. "
                                             "Xin vui lòng thử lại sau ít phút.")


@dataclass(frozen=True)
class Backend:
    """Where the coordinator is: ``sphinxql://127.0.0.1:9306/ward``."""
    host: str
    port: int
    index: str

    @property
    def url(self) -> str:
        return f"{SCHEME}://{self.host}:{self.port}/{self.index}"


def parse_backend(value: str) -> Backend | None:
    """The cluster named by a ``SEARCH_BACKEND`` value; None for the embedded index.

    >>> parse_backend("sphinxql://127.0.0.1:9306/ward")
    Backend(host='127.0.0.1', port=9306, index='ward')
    >>> parse_backend("embedded") is None
    True
    """
    value = (value or "").strip()
    if value in ("", "embedded"):
        return None
    parts = urlsplit(value)
    index = parts.path.strip("/")
    if parts.scheme != SCHEME or not parts.hostname or not re.fullmatch(r"\w+", index or ""):
        raise ValueError(f"SEARCH_BACKEND must be 'embedded' or {SCHEME}://HOST:PORT/INDEX, "
                         f"not {value!r}")
    return Backend(parts.hostname, parts.port or 9306, index)


def connect(host: str, port: int, read_seconds: float = READ_SECONDS):
    """A SphinxQL connection (several statements per round trip allowed)."""
    import pymysql

    try:
        return pymysql.connect(host=host, port=port, user="", password="", autocommit=True,
                               charset="utf8", connect_timeout=CONNECT_SECONDS,
                               read_timeout=read_seconds, write_timeout=read_seconds,
                               client_flag=pymysql.constants.CLIENT.MULTI_STATEMENTS)
    except pymysql.MySQLError as exc:
        raise ClusterUnavailable(f"the search cluster at {host}:{port} does not answer: "
                                 f"{_reason(exc)}") from None


def _reason(exc) -> str:
    args = getattr(exc, "args", ())
    return str(args[1] if len(args) > 1 else exc).strip("\x00").splitlines()[0][:200]


class Connections:
    """One connection per thread to the coordinator, opened again after any failure."""

    def __init__(self, backend: Backend):
        self.backend = backend
        self._local = threading.local()

    def run(self, statements: list[tuple[str, tuple]]) -> list[tuple[list, dict]]:
        """Run statements in one round trip; per statement ``(rows, meta)`` where ``meta`` is
        its ``SHOW META`` (a statement may be followed by one: pass ``"SHOW META"``)."""
        import pymysql

        sql = ";\n".join(_bind(text, args) for text, args in statements)
        for attempt in (1, 2):
            conn = self._connection()
            try:
                with conn.cursor() as cur:
                    cur.execute(sql)
                    results = [list(cur.fetchall())]
                    while cur.nextset():
                        results.append(list(cur.fetchall()))
                return results
            except pymysql.ProgrammingError as exc:     # the query was refused or every agent failed
                if AGENT_FAILURE.search(_reason(exc)):
                    raise ClusterUnavailable(f"no shard of the search cluster answers: "
                                             f"{_reason(exc)}") from None
                raise
            except (pymysql.OperationalError, pymysql.InterfaceError, OSError) as exc:
                self._drop()
                if attempt == 2:
                    raise ClusterUnavailable(f"the search cluster at {self.backend.host}:"
                                             f"{self.backend.port} does not answer: "
                                             f"{_reason(exc)}") from None
        raise AssertionError("unreachable")

    def _connection(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = connect(self.backend.host, self.backend.port)
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - it is broken already
                pass

    def close(self) -> None:
        self._drop()


def _bind(text: str, args: tuple) -> str:
    from pymysql.converters import escape_item

    if not args:
        return text
    return text % tuple(escape_item(a, "utf8") for a in args)


def quote_match(text: str) -> str:
    """A MATCH() argument as a SphinxQL string literal (our keywords need no escaping)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
