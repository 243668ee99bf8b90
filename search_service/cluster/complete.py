"""Completion while typing, on a cluster: numbers and title words by prefix (``dict =
keywords`` with ``min_prefix_len``), types and categories from the facet labels."""

from __future__ import annotations

from search_service.text.fold import fold
from search_service.cluster import schema
from search_service.search.complete import (MAX_FACET_ITEMS, MIN_PREFIX, _starts_with_words,
                                     number_prefix, title_items)
from search_service.search.query import parse_query


def complete(engine, prefix: str, limit: int, include_internal: bool) -> list[dict]:
    """``[{"text", "kind", "id"}]`` as :func:`search_service.search.complete.complete` returns."""
    public = "" if include_internal else " AND public = 1"
    items = _numbers(engine, prefix, limit, public)
    room = max(0, min(MAX_FACET_ITEMS, limit - len(items)))
    items += _facet_values(engine, prefix, not include_internal)[:room]
    items += _titles(engine, prefix, limit - len(items), public)
    return items[:limit]


def _rows(engine, match: str, order: str, limit: int, public: str) -> list[dict]:
    from search_service.cluster.sphinxql import quote_match
    from search_service.cluster.writer import stored_fields

    rows = engine._select(
        f"SELECT id, stored FROM {engine.index} WHERE MATCH({quote_match(match)}){public} "
        f"ORDER BY {order} LIMIT {limit} OPTION max_matches={limit}, ranker=bm25")
    return [stored_fields(text) for _, text in rows]


def _numbers(engine, prefix: str, limit: int, public: str) -> list[dict]:
    key = number_prefix(prefix)
    if key is None:
        return []
    found = _rows(engine, schema.keyword("number_key", key) + "*", "published DESC",
                  limit, public)
    return [{"text": f.get("doc_number") or f.get("title", ""), "kind": "number",
             "id": f["id"]} for f in found]


def _facet_values(engine, prefix: str, public_only: bool) -> list[dict]:
    wanted = fold(prefix).lower().split()
    if not wanted:
        return []
    labels = engine._scope(public_only).labels
    found = []
    for name, kind in (("doc_type", "type"), ("category", "category")):
        for value in labels.get(name, {}).values():
            if _starts_with_words(fold(str(value)).lower().split(), wanted):
                found.append((str(value), kind))
    return [{"text": value, "kind": kind, "id": None} for value, kind in sorted(found)]


def _titles(engine, prefix: str, limit: int, public: str) -> list[dict]:
    folded = [f for _, f in parse_query(prefix).terms]
    if not folded or limit <= 0:
        return []
    *whole, last = folded
    words = [schema.keyword("title_f", t) for t in whole]
    last_word = schema.keyword("title_f", last)
    words.append(last_word + "*" if len(last) >= MIN_PREFIX and last_word.isalnum()
                 else last_word)
    rows = _rows(engine, " ".join(words), "WEIGHT() DESC, published DESC", limit * 3, public)
    return title_items(rows, limit)
