"""The engine calls the views share."""

from __future__ import annotations

from flask import url_for

from search_service.search import Hit
from search_service.web import engine


def latest_news(limit: int, include_internal: bool = False) -> list[Hit]:
    """The newest news (what counts as news: :mod:`search_service.news`), newest first; with
    no news at all, the newest documents stand in."""
    news = engine().latest(limit=limit, include_internal=include_internal, news_only=True)
    return news or engine().latest(limit=limit, include_internal=include_internal)


def completions(prefix: str, limit: int = 8, include_internal: bool = False) -> list[dict]:
    """What the search box offers while typing, each ``{"text", "kind", "id", "url"}``: a
    document's title or số hiệu opens the document, a category or type runs the filtered
    search (``url`` says where a choice leads)."""
    complete = getattr(engine(), "complete", None)
    if complete is None:        # an engine without typed completions: titles, searched for
        items = [{"text": title, "kind": "document", "id": None}
                 for title in engine().suggest(prefix, limit, include_internal)]
    else:
        items = complete(prefix, limit=limit, include_internal=include_internal)
    return [{**item, "url": _completion_url(item)} for item in items]


def _completion_url(item: dict) -> str:
    if item.get("id") and item["kind"] in ("document", "number"):
        return url_for("ui.document", doc_id=item["id"])
    if item["kind"] == "category":
        return url_for("ui.search", category=item["text"])
    if item["kind"] == "type":
        return url_for("ui.search", type=item["text"])
    return url_for("ui.search", q=item["text"])
