"""The engine calls the views share."""

from __future__ import annotations

from search_service.search import Hit
from search_service.web import engine


def latest_news(limit: int, include_internal: bool = False) -> list[Hit]:
    """The newest news articles (documents without a loại văn bản), newest first; with no
    news at all, the newest documents stand in."""
    news = engine().latest(limit=limit, include_internal=include_internal, news_only=True)
    return news or engine().latest(limit=limit, include_internal=include_internal)
