"""The JSON API under ``/api/``: the twin of every UI page, described in ``/api/openapi.json``."""

from __future__ import annotations

from flask import Blueprint, current_app, request, url_for

from search_service.errors import BadParameter
from search_service.search import SearchResult
from search_service.web import openapi
from search_service.web.auth import include_internal
from search_service.web.params import changed, page_count, parse_search, request_args
from search_service.web.service import completions, engine
from search_service.web.documents import document_answer

bp = Blueprint("api", __name__, url_prefix="/api")

MAX_SUGGEST_CHARS = 200


def hit_links(doc_id: str) -> dict:
    """What a hit adds to the engine's fields: links to its document's pages."""
    return {"html": url_for("ui.document", doc_id=doc_id),
            "json": url_for("api.document", doc_id=doc_id)}


def _document_links():
    """``links(doc_id)``: :func:`hit_links` for every hit of one answer, with the routes built
    once (``url_for`` costs tens of microseconds; a page of hits asked for 20 of them)."""
    quote = current_app.url_map.converters["path"](current_app.url_map).to_url
    html = url_for("ui.document", doc_id="_")[:-1]
    json = url_for("api.document", doc_id="_")[:-1]
    return lambda doc_id: {"html": html + quote(doc_id), "json": json + quote(doc_id)}


def result_json(res: SearchResult, args: dict[str, str]) -> dict:
    """A search result (as the CLI's ``--json`` prints it) with links: each hit's, the
    neighbouring pages' and the HTML twin's."""
    out = res.to_dict()
    links = _document_links() if out["hits"] else None
    for hit in out["hits"]:
        hit["links"] = links(hit["id"])
    last_page = page_count(res.total, res.per_page,
                           current_app.config.get("MAX_RESULT_DEPTH") or 0)
    out["links"] = {
        "html": url_for("ui.search", **args),
        "next": url_for("api.search", **changed(args, page=res.page + 1))
        if res.page < last_page else None,
        "previous": url_for("api.search", **changed(args, page=min(res.page - 1, last_page)))
        if res.page > 1 else None,
    }
    return out


@bp.route("/search")
def search():
    req = parse_search(request.args, current_app.config["MAX_QUERY_CHARS"], include_internal())
    res = engine().search(req)
    return result_json(res, request_args(req))


@bp.route("/documents/<path:doc_id>")
def document(doc_id: str):
    return document_answer(doc_id, include_internal())


@bp.route("/suggest")
def suggest():
    q = request.args.get("q") or ""
    if len(q) > MAX_SUGGEST_CHARS:
        raise BadParameter("q", f"q is longer than {MAX_SUGGEST_CHARS} characters")
    q = "".join(c if c.isprintable() else " " for c in q)
    items = completions(q, limit=8, include_internal=include_internal())
    # "suggestions" keeps its meaning (the titles that complete q); "items" are every kind.
    return {"query": q,
            "suggestions": [item["text"] for item in items if item["kind"] == "document"],
            "items": items}


@bp.route("/openapi.json")
def openapi_json():
    return openapi.spec(current_app.config["MAX_QUERY_CHARS"])
