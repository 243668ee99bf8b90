"""The Vietnamese HTML pages and Atom feeds. Every page state is a URL; every page links its JSON twin."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, current_app, render_template, request, url_for
from markupsafe import Markup

from search_service.errors import NotFound
from search_service.search.highlight import mark
from search_service.search.query import parse_query
from search_service.search import FACETS
from search_service.web import relations_view
from search_service.web.auth import include_internal
from search_service.web.service import engine, latest_news, vi_label, vi_number
from search_service.web.feeds import atom_feed
from search_service.web.params import (FACET_PARAMS, changed, filter_count, has_filters,
                                       page_count, parse_search, request_args)

bp = Blueprint("ui", __name__)

LATEST_ON_HOME = 6
FEED_ENTRIES = 20
RELATED = 5
PAGE_TEXT_CHARS = 200_000   # of a document's text shown on its page (the API has it all)
FACET_LABELS = {"doc_type": "Loại văn bản", "category": "Chuyên mục", "issuer": "Cơ quan ban hành",
                "year": "Năm", "validity": "Hiệu lực"}
# What "Xem thêm 4 …" counts, per facet.
FACET_NOUNS = {"doc_type": "loại văn bản", "category": "chuyên mục", "issuer": "cơ quan",
               "year": "năm", "validity": "tình trạng"}
SORT_LABELS = {"relevance": "Liên quan nhất", "date": "Mới nhất", "date_asc": "Cũ nhất"}


@bp.route("/")
def index():
    internal = include_internal()
    overview = {name: [{**f, "url": url_for("ui.search", **{FACET_PARAMS[name]: f["value"]})}
                       for f in values]
                for name, values in engine().facet_overview(include_internal=internal).items()}
    latest = latest_news(LATEST_ON_HOME, include_internal=internal)
    return render_template("index.html", latest=latest, overview=overview,
                           facet_labels=FACET_LABELS, facet_nouns=FACET_NOUNS)


@bp.route("/search")
def search():
    # A mistyped or reversed date range keeps the page: the query, the other filters and the
    # results stay, and the problem is shown next to the date fields (answered as a 400).
    date_problems: dict[str, str] = {}
    req = parse_search(request.args, current_app.config["MAX_QUERY_CHARS"], include_internal(),
                       day_first=True, date_problems=date_problems)
    res = engine().search(req)
    args = request_args(req)
    last_page = page_count(res.total, res.per_page,
                           current_app.config.get("MAX_RESULT_DEPTH") or 0)
    page = render_template(
        "search.html", req=req, res=res, args=args, facets=_facet_links(res.facets, args),
        pages=_pages(res.page, last_page), last_page=last_page, filtered=has_filters(req),
        sort_labels=SORT_LABELS, facet_labels=FACET_LABELS, facet_nouns=FACET_NOUNS,
        date_problems=date_problems, date_values=_date_values(req, date_problems),
        shown=_shown_range(res, last_page),
        n_filters=filter_count(req),
        box_hidden={k: v for k, v in args.items() if k not in ("q", "page")},
        json_url=url_for("api.search", **args),
        feed_url=url_for("ui.search_feed", **changed(args, facets=None, per_page=None)),
        url=lambda **changes: url_for("ui.search", **changed(args, **changes)))
    return page, 400 if date_problems else 200


@bp.route("/documents/<path:doc_id>")
def document(doc_id: str):
    internal = include_internal()
    doc = engine().get_document(doc_id, include_internal=internal)
    if doc is None:
        raise NotFound(f"No document with id {doc_id!r}",
                       message_vi="Không tìm thấy tài liệu này. Có thể tài liệu đã bị gỡ "
                                  "hoặc địa chỉ bị sai.")
    q = (request.args.get("q") or "")[:current_app.config["MAX_QUERY_CHARS"]]
    terms = parse_query(q).highlight_terms() if q.strip() else set()
    body = doc.get("body") or ""
    shown = body[:PAGE_TEXT_CHARS]            # a huge text stays a page a phone can open
    paragraphs = [Markup(mark(p, terms)) for p in shown.split("\n") if p.strip()]
    found = relations_view.document_relations(doc, internal)      # validity, relations (#11)
    paragraphs = relations_view.link_numbers(paragraphs, doc.get("doc_number"), found, internal)
    related = engine().more_like_this(doc_id, limit=RELATED, include_internal=internal)
    return render_template("document.html", doc=doc, q=q,
                           validity=relations_view.page_view(doc, found, internal),
                           title_html=Markup(mark(doc.get("title", ""), terms)),
                           paragraphs=paragraphs, related=related,
                           cut=len(body) - len(shown), shown_chars=len(shown),
                           json_url=url_for("api.document", doc_id=doc_id))


@bp.route("/feed.xml")
def feed():
    """The latest public news. Feeds are public even for staff: their URLs get shared."""
    hits = latest_news(FEED_ENTRIES, include_internal=False)
    return _atom("Tra cứu phường: tin mới", url_for("ui.feed", _external=True),
                 url_for("ui.index", _external=True), hits)


@bp.route("/search.xml")
def search_feed():
    req = parse_search(request.args, current_app.config["MAX_QUERY_CHARS"], include_internal=False,
                       day_first=True)
    req.facets = False
    res = engine().search(req)
    args = request_args(req)
    title = f"Tra cứu phường: {req.q}" if req.q else "Tra cứu phường: kết quả tìm kiếm"
    return _atom(title, url_for("ui.search_feed", _external=True, **args),
                 url_for("ui.search", _external=True, **args), res.hits)


def _atom(title: str, self_url: str, html_url: str, hits) -> Response:
    body = atom_feed(title, self_url, html_url, hits,
                     lambda hit: url_for("ui.document", doc_id=hit.id, _external=True),
                     label=vi_label)
    return Response(body, mimetype="application/atom+xml")


# -- page helpers ----------------------------------------------------------------------------
def _pages(current: int, last: int) -> list[int | None]:
    """Page numbers to show: the ends and the neighbourhood of ``current``; None is a gap."""
    wanted = sorted({1, last, *range(max(1, current - 2), min(last, current + 2) + 1)})
    out: list[int | None] = []
    for n in wanted:
        if out and n - out[-1] > 1:
            out.append(None)
        out.append(n)
    return out


def _date_values(req, problems: dict[str, str]) -> dict[str, str]:
    """What the date fields show: a good date as dd/mm/yyyy, a bad one as it was typed."""
    out = {}
    for name, value in (("from", req.date_from), ("to", req.date_to)):
        if problems:
            out[name] = " ".join((request.args.get(name) or "").split())[:40]
        else:
            out[name] = value.strftime("%d/%m/%Y") if value else ""
    return out


def _shown_range(res, last_page: int) -> tuple[int, int] | None:
    """The numbers of the first and last results on this page, when there is more than one
    page (``11–13`` of 13); None otherwise."""
    if last_page < 2 or not res.hits:
        return None
    first = (res.page - 1) * res.per_page + 1
    return first, first + len(res.hits) - 1


def _facet_links(facets: dict, args: dict[str, str]) -> dict[str, list[dict]]:
    """Each facet value with the URL that toggles it (page back to 1)."""
    out = {}
    for name in FACETS:
        param = FACET_PARAMS[name]
        out[name] = [{**f, "url": url_for("ui.search", **changed(
            args, **{param: None if f["selected"] else f["value"]}))}
            for f in facets.get(name, [])]
    return out


# -- template filters ------------------------------------------------------------------------
def vi_date(value, with_time: bool = False) -> str:
    """``2024-03-05T08:15:00`` → ``05/03/2024`` (the way Vietnamese documents write dates)."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if with_time and (moment.hour or moment.minute):
        return moment.strftime("%d/%m/%Y %H:%M")
    return moment.strftime("%d/%m/%Y")


def vi_seconds(ms) -> str:
    """Milliseconds → seconds with a decimal comma: ``48.2`` → ``0,05``, ``3.1`` → ``0,003``."""
    seconds = (ms or 0) / 1000
    return f"{seconds:.{3 if seconds < 0.01 else 2}f}".replace(".", ",")


def pre_escaped(html: str) -> Markup:
    """The engine's snippet/title_html: already escaped, only ``<mark>`` is markup."""
    return Markup(html)


def status_or_label(value) -> str:
    """A validity status in Vietnamese (``in_force`` → ``Còn hiệu lực``), else :func:`vi_label`."""
    return relations_view.VALIDITY_LABELS.get(str(value), None) or vi_label(value)


FILTERS = {"vi_date": vi_date, "vi_number": vi_number, "vi_seconds": vi_seconds,
           "vi_label": status_or_label, "pre_escaped": pre_escaped}
