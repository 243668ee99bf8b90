"""The engine calls the views share, with the guards the web layer adds on top."""

from __future__ import annotations

from search_service.search import Hit, SearchRequest, SearchResult
from search_service.web import engine

NEWS_LOOKAHEAD = 5   # fetch this many times the wanted number, then keep the news among them


def run_search(req: SearchRequest) -> SearchResult:
    """``engine.search(req)``; a visitor's "did you mean" must lead to public documents.

    WORKAROUND (reported to the lead): the engine restores diacritics from every document,
    internal ones included, so a visitor typing an internal codename without accents got it back
    accented. Until the lexicon is built from public documents only, a suggestion that finds no
    public document is dropped (it would not help the visitor anyway).
    """
    res = engine().search(req)
    if res.did_you_mean and not req.include_internal:
        probe = SearchRequest(q=res.did_you_mean, per_page=1, facets=False)
        if engine().search(probe).total == 0:
            res.did_you_mean = None
    return res


def latest_news(limit: int, include_internal: bool = False) -> list[Hit]:
    """The newest news articles (documents without a loại văn bản), newest first.

    The engine filters by a type but not by "no type", so take a few times more of the newest
    documents and keep the news; with no news at all, the newest documents stand in.
    """
    hits = engine().latest(limit=limit * NEWS_LOOKAHEAD, include_internal=include_internal)
    news = [h for h in hits if not h.doc_type and not h.doc_number]
    return (news or hits)[:limit]
