"""Query → results: ranking, filters, facets, sorting, paging, snippets, suggestions.

One :class:`SearchEngine` per process keeps a warm searcher and reopens it when a commit
made it stale (never Whoosh's ``Searcher.refresh()``, which returns wrong results after merges).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from whoosh import query as wq
from whoosh import scoring, sorting

from search_service import highlight
from search_service.query import ParsedQuery, build_query, constraints, parse_query
from search_service.schema import open_index
from search_service.suggest import Lexicon

logger = logging.getLogger(__name__)

FACETS = ("doc_type", "category", "issuer", "year")
SORTS = ("relevance", "date", "date_asc")


@dataclass
class SearchRequest:
    """Everything a search can ask for; the web layer validates values before building one."""
    q: str = ""
    page: int = 1
    per_page: int = 10
    sort: str = "relevance"
    doc_type: str | None = None
    category: str | None = None
    issuer: str | None = None
    year: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    facets: bool = True
    include_internal: bool = False


@dataclass
class Hit:
    id: str
    title: str
    title_html: str
    snippet: str
    score: float | None
    category: str | None = None
    doc_type: str | None = None
    doc_number: str | None = None
    issuer: str | None = None
    published: str | None = None
    views: int | None = None
    url: str | None = None
    visibility: str = "public"


@dataclass
class SearchResult:
    query: str
    normalized_query: str
    total: int
    page: int
    per_page: int
    took_ms: float
    did_you_mean: str | None
    facets: dict = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)


class SearchEngine:
    """Searches one on-disk index; safe to share between the threads of a server."""

    def __init__(self, index_dir):
        self.index = open_index(index_dir)
        self._lock = threading.RLock()
        self._searcher = None
        self._lexicon = None

    # -- the shared searcher ---------------------------------------------------------------
    def searcher(self):
        """A searcher that sees the latest commit."""
        with self._lock:
            if self._searcher is None or not self._searcher.up_to_date():
                if self._searcher is not None:
                    self._searcher.close()
                self._searcher = self.index.searcher(weighting=scoring.BM25F(B=0.75, K1=1.2))
                self._lexicon = None
            return self._searcher

    def close(self):
        with self._lock:
            if self._searcher is not None:
                self._searcher.close()
                self._searcher = None

    # -- search ------------------------------------------------------------------------------
    def search(self, req: SearchRequest) -> SearchResult:
        started = time.perf_counter()
        parsed = parse_query(req.q)
        with self._lock:
            searcher = self.searcher()
            if parsed.empty:
                q = wq.Every()
            else:
                q = build_query(parsed, searcher.doc_count(),
                                lambda fld, term: searcher.doc_frequency(fld, term))
            required, excluded = constraints(parsed)
            results = searcher.search_page(
                q, req.page, pagelen=req.per_page, filter=self._filter(req, required),
                mask=excluded,
                sortedby=self._sort(req, parsed), groupedby=self._facets(req),
                terms=False)
            hits = [self._hit(r, parsed) for r in results] if req.page <= results.pagecount \
                else []
            total = len(results)
            facets = self._facet_counts(results, req) if req.facets else {}
            suggestion = self.did_you_mean(req.q, parsed, total)
        return SearchResult(
            query=req.q, normalized_query=parsed.normalized(), total=total, page=req.page,
            per_page=req.per_page, took_ms=round((time.perf_counter() - started) * 1000, 2),
            did_you_mean=suggestion, facets=facets, hits=hits)

    @staticmethod
    def _filter(req: SearchRequest, required=None):
        clauses = [required] if required is not None else []
        if not req.include_internal:
            clauses.append(wq.Term("visibility", "public"))
        for name in ("doc_type", "category", "issuer"):
            if getattr(req, name):
                clauses.append(wq.Term(name, getattr(req, name)))
        if req.year:
            clauses.append(wq.NumericRange("year", req.year, req.year))
        if req.date_from or req.date_to:
            start = datetime.combine(req.date_from, datetime.min.time()) if req.date_from else None
            end = (datetime.combine(req.date_to, datetime.min.time()) + timedelta(days=1)
                   - timedelta(microseconds=1)) if req.date_to else None
            clauses.append(wq.DateRange("published", start, end))
        if not clauses:
            return None
        return wq.And(clauses) if len(clauses) > 1 else clauses[0]

    @staticmethod
    def _sort(req: SearchRequest, parsed: ParsedQuery):
        if req.sort == "date" or (req.sort == "relevance" and parsed.empty):
            return sorting.MultiFacet([sorting.FieldFacet("published", reverse=True),
                                       sorting.FieldFacet("id")])
        if req.sort == "date_asc":
            return sorting.MultiFacet([sorting.FieldFacet("published"), sorting.FieldFacet("id")])
        return None

    @staticmethod
    def _facets(req: SearchRequest):
        if not req.facets:
            return None
        return {name: sorting.FieldFacet(name, maptype=sorting.Count) for name in FACETS}

    @staticmethod
    def _facet_counts(results, req: SearchRequest) -> dict:
        facets = {}
        for name in FACETS:
            counts = {k: v for k, v in results.results.groups(name).items() if k not in (None, "", 0)}
            selected = getattr(req, name)
            if selected and selected not in counts:
                counts[selected] = 0
            facets[name] = [
                {"value": value, "count": count, "selected": value == selected}
                for value, count in sorted(counts.items(),
                                           key=lambda kv: (-kv[1], str(kv[0])))
            ]
        facets["year"].sort(key=lambda f: -int(f["value"]))
        return facets

    @staticmethod
    def _hit(result, parsed: ParsedQuery) -> Hit:
        fields = result.fields()
        terms = parsed.highlight_terms()
        published = fields.get("published")
        return Hit(
            id=fields["id"], title=fields.get("title", ""),
            title_html=highlight.mark(fields.get("title", ""), terms),
            snippet=highlight.snippet(fields.get("body", ""), terms),
            score=round(result.score, 4) if result.score is not None else None,
            category=fields.get("category"), doc_type=fields.get("doc_type"),
            doc_number=fields.get("doc_number"), issuer=fields.get("issuer"),
            published=iso_date(published),
            views=fields.get("views"), url=fields.get("url"),
            visibility=fields.get("visibility", "public"))

    # -- documents -------------------------------------------------------------------------
    def get_document(self, doc_id: str, include_internal: bool = False) -> dict | None:
        """All stored fields of one document, or None if unknown or not visible."""
        with self._lock:
            fields = self.searcher().document(id=doc_id)
        if not fields or (fields.get("visibility") != "public" and not include_internal):
            return None
        return _public_fields(fields)

    def more_like_this(self, doc_id: str, limit: int = 5,
                       include_internal: bool = False) -> list[Hit]:
        """Documents that share the most distinctive terms with ``doc_id``."""
        with self._lock:
            searcher = self.searcher()
            docnum = searcher.document_number(id=doc_id)
            if docnum is None:
                return []
            fields = searcher.stored_fields(docnum)
            text = fields.get("title", "") + "\n" + fields.get("body", "")
            results = searcher.more_like(
                docnum, "body_f", text=text, top=limit, numterms=12,
                filter=None if include_internal else wq.Term("visibility", "public"))
            return [self._hit(r, ParsedQuery()) for r in results]

    def latest(self, limit: int = 5, include_internal: bool = False, **filters) -> list[Hit]:
        """The newest documents (by publication date), optionally filtered."""
        req = SearchRequest(per_page=limit, facets=False, include_internal=include_internal,
                            **filters)
        return self.search(req).hits

    def facet_overview(self, include_internal: bool = False) -> dict:
        """Counts of every facet over the whole collection (for the home page)."""
        req = SearchRequest(per_page=1, include_internal=include_internal)
        return self.search(req).facets

    # -- suggestions -------------------------------------------------------------------------
    def did_you_mean(self, text: str, parsed: ParsedQuery, total: int) -> str | None:
        """The query with its diacritics restored, when it was typed without them."""
        if not parsed.terms or any(e != f for e, f in parsed.terms):
            return None
        with self._lock:
            if self._lexicon is None:
                self._lexicon = Lexicon.from_searcher(self.searcher())
            return self._lexicon.restore(text)

    def suggest(self, prefix: str, limit: int = 8, include_internal: bool = False) -> list[str]:
        """Titles that complete what is typed, accent-insensitively."""
        parsed = parse_query(prefix)
        folded = [f for _, f in parsed.terms]
        if not folded:
            return []
        clauses = [wq.Term("title_f", f) for f in folded[:-1]]
        clauses.append(wq.Or([wq.Term("title_f", folded[-1]), wq.Prefix("title_f", folded[-1])]))
        q = wq.And(clauses) if len(clauses) > 1 else clauses[0]
        with self._lock:
            results = self.searcher().search(
                q, limit=limit * 3,
                filter=None if include_internal else wq.Term("visibility", "public"))
            titles = list(dict.fromkeys(r["title"] for r in results))
        return titles[:limit]


def _public_fields(fields: dict) -> dict:
    """Stored fields as the outside world sees them (no bookkeeping)."""
    out = {k: v for k, v in fields.items() if k not in ("path", "content_hash", "file_hash")}
    out["published"] = iso_date(out.get("published"))
    return out


def iso_date(value: datetime | None) -> str | None:
    """``2018-04-14T10:39`` for a time of day, ``2024-03-05`` for a date alone."""
    if value is None:
        return None
    if value.time() == datetime.min.time():
        return value.date().isoformat()
    return value.isoformat(timespec="minutes")
