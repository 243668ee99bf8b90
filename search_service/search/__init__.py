"""Searching: query parsing, BM25F ranking over arrays, filters, facets, paging, highlighting,
did you mean and completion, over one generation of the index."""

from search_service.search.engine import (FACETS, SCOPES, SORTS, Hit, SearchEngine, SearchRequest,
                                          SearchResult, filter_values)

__all__ = ["FACETS", "SCOPES", "SORTS", "Hit", "SearchEngine", "SearchRequest", "SearchResult",
           "filter_values"]
