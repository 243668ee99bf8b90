"""Query-string parameters shared by ``/search``, ``/api/search`` and ``/search.xml``.

One parser and one URL builder, so a UI page and its JSON twin always mean the same thing.
Every bad value becomes :class:`BadParameter` naming the parameter; nothing here raises anything else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from search_service.errors import BadParameter, QueryTooLong
from search_service.ingest.validity import STATUSES
from search_service.search import SCOPES, SORTS, SearchRequest, filter_values
from search_service.search.engine import check_query_length

MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 10
MAX_PAGE = 10_000          # deep enough for any real collection; keeps Whoosh's collector bounded
MAX_FILTER_CHARS = 200
MAX_FILTER_VALUES = 20     # values of one filter (type=A&type=B…): OR within a facet
MIN_YEAR, MAX_YEAR = 1900, 2100
DATE_PATTERN = r"^(19[0-9]{2}|20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}$"
_DAY_FIRST_RE = re.compile(r"^(?P<d>[0-9]{1,2})[/.-](?P<m>[0-9]{1,2})[/.-](?P<y>[0-9]{4})$")
TRUE_WORDS = {"true", "1", "yes", "on"}
FALSE_WORDS = {"false", "0", "no", "off"}

# Facet name in the engine → parameter name in URLs.
FACET_PARAMS = {"doc_type": "type", "category": "category", "issuer": "issuer", "year": "year",
                "validity": "validity"}
# The order parameters appear in generated URLs (stable URLs are shareable and cacheable).
URL_ORDER = ("q", "scope", "type", "category", "issuer", "year", "validity", "from", "to", "sort",
             "per_page", "page", "facets")


@dataclass(frozen=True)
class Param:
    """One documented parameter (also the source of the OpenAPI description)."""
    name: str
    schema: dict
    help: str


SEARCH_PARAMS = (
    Param("q", {"type": "string", "maxLength": 1000},
          "Words, \"quoted phrases\", -excluded words or a số hiệu; accents optional."),
    Param("page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
          "Page number; past the last page gives an empty list."),
    Param("per_page", {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE,
                       "default": DEFAULT_PER_PAGE}, "Results per page."),
    Param("sort", {"type": "string", "enum": list(SORTS), "default": "relevance"},
          "relevance, date (newest first) or date_asc (oldest first)."),
    Param("scope", {"type": "string", "enum": list(SCOPES), "default": "all"},
          "Where the words are looked for: all (title and text), title, or number "
          "(số/ký hiệu; a number's beginning finds every number that starts so)."),
    Param("type", {"type": "array", "items": {"type": "string"}, "maxItems": MAX_FILTER_VALUES},
          "Document type (loại văn bản), e.g. Quyết định. Repeat for several: any of them."),
    Param("category", {"type": "array", "items": {"type": "string"},
                       "maxItems": MAX_FILTER_VALUES},
          "Category (chuyên mục/lĩnh vực). Repeat for several: any of them."),
    Param("issuer", {"type": "array", "items": {"type": "string"},
                     "maxItems": MAX_FILTER_VALUES},
          "Issuing body (cơ quan ban hành). Repeat for several: any of them."),
    Param("year", {"type": "array", "items": {"type": "integer", "minimum": MIN_YEAR,
                                              "maximum": MAX_YEAR},
                   "maxItems": MAX_FILTER_VALUES},
          "Year of publication. Repeat for several: any of them. Different filters combine: "
          "type=A&type=B&year=2024 is (A or B) and 2024."),
    Param("from", {"type": "string", "format": "date", "pattern": DATE_PATTERN},
          "Published on or after (YYYY-MM-DD, years 1900-2100); not after `to`."),
    Param("to", {"type": "string", "format": "date", "pattern": DATE_PATTERN},
          "Published on or before (YYYY-MM-DD, years 1900-2100)."),
    Param("validity", {"type": "array", "items": {"type": "string", "enum": list(STATUSES)},
                       "maxItems": MAX_FILTER_VALUES},
          "Validity (tình trạng hiệu lực) as the library last computed it: in_force, "
          "not_yet_in_force, replaced, repealed or unknown. Repeat for several: any of them."),
    Param("facets", {"type": "boolean", "default": True}, "Include facet counts."),
)


def _clean(value: str | None) -> str:
    """Control characters become spaces: they are never meaningful in a search."""
    if value is None:
        return ""
    return "".join(c if c.isprintable() else " " for c in value).strip()


def _all(args, name: str) -> list[str]:
    """Every value of a repeated parameter (``type=A&type=B``), or its one value."""
    values = args.getlist(name) if hasattr(args, "getlist") else \
        ([] if args.get(name) is None else [args.get(name)])
    if len(values) > MAX_FILTER_VALUES:
        raise BadParameter(name, f"{name} is given more than {MAX_FILTER_VALUES} times",
                           message_vi=f"Chỉ chọn được tối đa {MAX_FILTER_VALUES} giá trị.")
    return values


def _one_or_many(values: list):
    """None, the one value, or the list: one value reads as it always did."""
    values = filter_values(values)
    return None if not values else values[0] if len(values) == 1 else values


def _ints(args, name: str, low: int, high: int, vi: str):
    return _one_or_many([_int({name: raw}, name, None, low, high, vi)
                         for raw in _all(args, name)])


def _texts(args, name: str, limit: int, vi: str):
    return _one_or_many([_text({name: raw}, name, limit, vi) for raw in _all(args, name)])


def _statuses(args):
    """``validity=in_force`` (repeatable): one of the statuses of #11."""
    values = [_clean(v) for v in _all(args, "validity")]
    for value in values:
        if value and value not in STATUSES:
            raise BadParameter("validity", f"validity must be one of {', '.join(STATUSES)}",
                               message_vi="Tình trạng hiệu lực không hợp lệ.")
    return _one_or_many(values)


def _int(args, name: str, default: int | None, low: int, high: int, vi: str) -> int | None:
    raw = _clean(args.get(name))
    if not raw:
        return default
    try:
        value = int(raw, 10)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise BadParameter(name, f"{name} must be a whole number from {low} to {high}",
                           message_vi=f"{vi} phải là số nguyên từ {low} đến {high}.")
    return value


def parse_day(raw: str, day_first: bool = False) -> date | None:
    """A date as ISO ``2024-03-15`` or, with ``day_first``, as Vietnamese write it:
    ``15/03/2024``, ``15/3/2024``, ``15-03-2024``, ``15.03.2024``. None when it is not one.

    >>> parse_day("15/3/2024", day_first=True), parse_day("15/3/2024")
    (datetime.date(2024, 3, 15), None)
    """
    match = _DAY_FIRST_RE.match(raw) if day_first else None
    try:
        if match:
            return date(int(match["y"]), int(match["m"]), int(match["d"]))
        return date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        return None


def _date(args, name: str, vi: str, day_first: bool) -> date | None:
    raw = _clean(args.get(name))
    if not raw:
        return None
    value = parse_day(raw, day_first)
    if value is None or not MIN_YEAR <= value.year <= MAX_YEAR:
        example = "dạng ngày/tháng/năm, ví dụ 15/03/2024" if day_first else \
            "dạng NNNN-TT-NN (ví dụ 2024-03-15)"
        raise BadParameter(name, f"{name} must be a date as YYYY-MM-DD between {MIN_YEAR} "
                                 f"and {MAX_YEAR}",
                           message_vi=f"{vi} phải là ngày {example}.")
    return value


def _date_range(args, day_first: bool, problems: dict[str, str] | None):
    """``(from, to)``; with ``problems``, a bad bound is left out and its Vietnamese message
    kept under its parameter's name (a reversed range: both, under ``range``), instead of the
    whole request being refused."""
    bounds = []
    for name, vi in (("from", "Từ ngày"), ("to", "Đến ngày")):
        try:
            bounds.append(_date(args, name, vi, day_first))
        except BadParameter as exc:
            if problems is None:
                raise
            problems[name] = exc.message_vi
            bounds.append(None)
    start, end = bounds
    if start and end and start > end:
        message_vi = "“Từ ngày” phải trước hoặc bằng “Đến ngày”."
        if problems is None:
            raise BadParameter("from", "from must be on or before to", message_vi=message_vi)
        problems["range"] = message_vi
        return None, None
    return start, end


def _text(args, name: str, limit: int, vi: str) -> str | None:
    value = _clean(args.get(name))
    if len(value) > limit:
        raise BadParameter(name, f"{name} is longer than {limit} characters",
                           message_vi=f"{vi} dài quá {limit} ký tự.")
    return value or None


def _bool(args, name: str, default: bool) -> bool:
    raw = _clean(args.get(name)).lower()
    if not raw:
        return default
    if raw in TRUE_WORDS | FALSE_WORDS:
        return raw in TRUE_WORDS
    raise BadParameter(name, f"{name} must be true or false",
                       message_vi=f"Tham số {name} phải là true hoặc false.")


def parse_search(args, max_query_chars: int = 1000, include_internal: bool = False, *,
                 day_first: bool = False, date_problems: dict[str, str] | None = None
                 ) -> SearchRequest:
    """A validated :class:`SearchRequest` from a query string (``request.args``).

    The API takes ISO dates only; pages also take ``dd/mm/yyyy`` (``day_first``), the way
    residents type them. Given a ``date_problems`` dict, a bad date range does not refuse the
    request: the dates are left out and the messages, by parameter, go into the dict.
    """
    q = args.get("q") or ""
    try:            # the library's limit, on q as sent (before control characters go)
        check_query_length(q, max_query_chars)
    except QueryTooLong as exc:     # said as every other parameter is
        raise BadParameter("q", f"q is longer than {exc.limit} characters",
                           message_vi=exc.message_vi) from None
    sort = _clean(args.get("sort")) or "relevance"
    if sort not in SORTS:
        raise BadParameter("sort", f"sort must be one of {', '.join(SORTS)}",
                           message_vi="Cách sắp xếp không hợp lệ.")
    scope = _clean(args.get("scope")) or "all"
    if scope not in SCOPES:
        raise BadParameter("scope", f"scope must be one of {', '.join(SCOPES)}",
                           message_vi="Phạm vi tìm kiếm không hợp lệ.")
    req = SearchRequest(
        q=_clean(q),
        page=_int(args, "page", 1, 1, MAX_PAGE, "Số trang"),
        per_page=_int(args, "per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE, "Số kết quả mỗi trang"),
        sort=sort,
        doc_type=_texts(args, "type", MAX_FILTER_CHARS, "Loại văn bản"),
        category=_texts(args, "category", MAX_FILTER_CHARS, "Chuyên mục"),
        issuer=_texts(args, "issuer", MAX_FILTER_CHARS, "Cơ quan ban hành"),
        year=_ints(args, "year", MIN_YEAR, MAX_YEAR, "Năm"),
        validity=_statuses(args),
        facets=_bool(args, "facets", True),
        include_internal=include_internal,
        scope=scope,
        max_query_chars=max_query_chars,
    )
    req.date_from, req.date_to = _date_range(args, day_first, date_problems)
    return req


def page_count(total: int, per_page: int, max_depth: int = 0) -> int:
    """The number of the last page of results that may be asked for (1 when there are none):
    with ``max_depth`` (``SEARCH_MAX_RESULT_DEPTH``), no page past that many results.

    >>> page_count(0, 10), page_count(25, 10), page_count(5000, 10, 1000)
    (1, 3, 100)
    >>> page_count(5000, 30, 1000), page_count(50, 10, 1000)
    (33, 5)
    """
    last = max(1, -(-total // per_page))
    return min(last, max(1, max_depth // per_page)) if max_depth > 0 else last


def request_args(req: SearchRequest) -> dict[str, str | list[str]]:
    """The query string that reproduces ``req`` (defaults left out), in a stable order; a
    filter with several values is a list (``url_for`` repeats the parameter)."""
    values = {
        "q": req.q, "scope": None if req.scope == "all" else req.scope,
        "type": req.doc_type, "category": req.category, "issuer": req.issuer,
        "year": req.year, "validity": req.validity,
        "from": req.date_from and req.date_from.isoformat(),
        "to": req.date_to and req.date_to.isoformat(),
        "sort": None if req.sort == "relevance" else req.sort,
        "per_page": None if req.per_page == DEFAULT_PER_PAGE else req.per_page,
        "page": None if req.page == 1 else req.page,
        "facets": None if req.facets else "false",
    }
    return {k: _url_value(values[k]) for k in URL_ORDER if filter_values(values[k])}


def _url_value(value) -> str | list[str]:
    values = [str(v) for v in filter_values(value)]
    return values[0] if len(values) == 1 else values


def _same(a, b) -> bool:
    return " ".join(str(a).casefold().split()) == " ".join(str(b).casefold().split())


def changed(args: dict, add: dict | None = None, remove: dict | None = None,
            **changes) -> dict:
    """``args`` with some parameters set (a value, or a list) or removed (None); ``add`` and
    ``remove`` (``{"type": "Kế hoạch"}``) add a value to a filter or take one away, as a
    facet link does. The page goes back to 1 unless it is one of the changes, since another
    filter means another result list.

    >>> changed({"q": "x", "type": "A", "page": "2"}, add={"type": "B"})
    {'q': 'x', 'type': ['A', 'B']}
    >>> changed({"q": "x", "type": ["A", "B"]}, remove={"type": "a"})
    {'q': 'x', 'type': 'B'}
    """
    out = {k: v for k, v in args.items() if k != "page"}
    for key, value in changes.items():
        key = "from" if key == "from_" else key
        if not filter_values(value) or (key == "page" and value == 1):
            out.pop(key, None)
        else:
            out[key] = _url_value(value)
    for key, value in (add or {}).items():
        current = filter_values(out.get(key))
        if not any(_same(v, value) for v in current):
            out[key] = _url_value(current + [value])
    for key, value in (remove or {}).items():
        kept = [v for v in filter_values(out.get(key)) if not _same(v, value)]
        out[key] = _url_value(kept)
        if not kept:
            del out[key]
    return {k: out[k] for k in URL_ORDER if k in out}


def has_filters(req: SearchRequest) -> bool:
    return filter_count(req) > 0


def filter_count(req: SearchRequest) -> int:
    """How many filter values are on; a date range counts once."""
    return sum(len(filter_values(v)) for v in (req.doc_type, req.category, req.issuer,
                                               req.year, req.validity)) + \
        bool(req.date_from or req.date_to)
