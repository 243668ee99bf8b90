"""Query → results: ranking, filters, facets, sorting, paging, snippets, suggestions.

One :class:`SearchEngine` per process, shared by its threads: each search reads one
immutable snapshot of the index (:mod:`search_service.search.snapshot`), so searches never wait on
each other, and a new commit is opened whole in the background and swapped in (never
Whoosh's ``Searcher.refresh()``, which returns wrong results after merges).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from dataclasses import fields as dataclass_fields
from datetime import date, datetime, timedelta

import numpy as np

from search_service import config
from search_service.errors import QueryTooLong
from search_service.search import highlight, query, rerank
from search_service.search.complete import complete
from search_service.text.numbers import canonical, type_abbreviation
from search_service.search.intent import issuer_matches
from search_service.search.news import news_mask, news_types
from search_service.search.query import (ParsedQuery, build_plan, parse_query,
                                  related_plan)
from search_service.search.ranking import EPOCH, MISSING_DATE, Clause, Collection, Plan
from search_service.index.schema import TEXT_FIELDS, open_index
from search_service.search.snapshot import FACETS, READERS, Generations, Snapshot
from search_service.search.suggest import correct, offered, offered_key

logger = logging.getLogger(__name__)

SCORED_FIELDS = tuple(TEXT_FIELDS)
SORTS = ("relevance", "date", "date_asc")
SCOPES = ("all", "title", "number")     # where the words are looked for
PHRASE_FIELDS = ("body_f", "title_f")   # where a quoted phrase or an excluded word is looked for
# Facet name -> the parameter that filters it (and names it in a suggested filter).
FILTER_KEYS = {"doc_type": "type", "category": "category", "issuer": "issuer", "year": "year",
               "validity": "validity"}
NUMBER_PREFIX_TERMS = 2000      # number keys read for a bare number ("45" → 45/KH-UBND, ...)


def check_query_length(q: str, limit: int | None = None) -> None:
    """Refuse a query longer than ``limit`` characters with :class:`QueryTooLong`; ``limit``
    None: the ``SEARCH_MAX_QUERY_CHARS`` setting (read only for a query that has words)."""
    if not q:
        return
    if limit is None:
        limit = int(config.load()["MAX_QUERY_CHARS"])
    if len(q) > limit:
        raise QueryTooLong(limit)


@dataclass
class SearchRequest:
    """Everything a search can ask for; the web layer validates values before building one.

    A filter takes one value or a list of them: any of the values (OR) within a facet, every
    facet (AND) across them.

    A query longer than ``max_query_chars`` (None: the ``SEARCH_MAX_QUERY_CHARS`` setting) is
    refused here, with :class:`~search_service.errors.QueryTooLong`, whichever engine runs it."""
    q: str = ""
    page: int = 1
    per_page: int = 10
    sort: str = "relevance"
    doc_type: str | list[str] | None = None
    category: str | list[str] | None = None
    issuer: str | list[str] | None = None
    year: int | list[int] | None = None
    date_from: date | None = None
    date_to: date | None = None
    facets: bool = True
    include_internal: bool = False
    news_only: bool = False     # news only, as search_service.search.news defines it
    snippets: bool = True       # lists that show titles only (latest news) need none
    scope: str = "all"          # all text, titles only, or số/ký hiệu only (SCOPES)
    validity: str | list[str] | None = None     # in_force, replaced, ... (#11)
    # Longest q accepted; the caller passes the setting it runs with (the web app its own).
    max_query_chars: int | None = field(default=None, compare=False)

    def __post_init__(self):
        check_query_length(self.q, self.max_query_chars)


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
    validity: str | None = None     # in_force, replaced, repealed, ... when known (#11)

    def to_dict(self) -> dict:
        """The hit as JSON gives it (``GET /api/search`` adds its links). Every field is a
        plain value, so a shallow copy is :func:`dataclasses.asdict` without its recursion."""
        return dict(self.__dict__)


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
    # Filters the query itself names ("nghị quyết … 2022"), offered, never applied:
    # ``[{"type": "Nghị quyết", "year": 2022}]``, keys as the URL parameters.
    suggested_filters: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The result as JSON gives it, the CLI's ``--json`` and ``GET /api/search`` alike:
        every field in order (a subclass's after them), the hits last."""
        out = {f.name: getattr(self, f.name) for f in dataclass_fields(self)}
        # A cached result is shared: its lists and dicts are copied (every other field, a
        # subclass's too, is a plain value; facet values and filters are flat dicts).
        out["facets"] = {name: [dict(v) for v in values] for name, values in self.facets.items()}
        out["suggested_filters"] = [dict(f) for f in self.suggested_filters]
        del out["hits"]
        out["hits"] = [hit.to_dict() for hit in self.hits]
        return out


class SearchEngine:
    """Searches one on-disk index; safe to share between the threads of a server."""

    def __init__(self, index_dir, create: bool = True, readers: int = READERS,
                 news: str | None = None):
        """``news``: the news types setting (default: ``SEARCH_NEWS_TYPES``)."""
        self.index = open_index(index_dir, create=create)
        self.news_types = news_types(news)
        self.generations = Generations(self.index, SCORED_FIELDS, readers)
        self.keep_results = bool(config.load()["RESULT_CACHE"])

    def snapshot(self) -> Snapshot:
        """The generation searches read now (a newer commit is being opened meanwhile)."""
        return self.generations.current()

    def refresh(self) -> Snapshot:
        """Open the newest commit now: for a script that has just ingested."""
        return self.generations.refresh()

    def warm(self) -> None:
        """Do the one-off work of a first search now (a server calls this before listening):
        the snapshot (columns, word list for suggestions) and the segmentation model."""
        from search_service.text.segment import segment

        segment("Khởi động")
        self.refresh()

    def close(self):
        self.generations.close()

    # -- search ------------------------------------------------------------------------------
    def search(self, req: SearchRequest) -> SearchResult:
        """The results of ``req`` in the generation served now.

        A result depends on the generation and the whole request alone, so each generation
        keeps its recent results (bounded; dropped with it): the key is every field of the
        request, ``include_internal`` among them, so a visitor is never given an answer
        worked out for staff. ``took_ms`` is always this call's own time. The
        ``SEARCH_RESULT_CACHE`` setting turns this off (every search ranked anew)."""
        started = time.perf_counter()
        snap = self.snapshot()
        if not self.keep_results:
            return self._search(snap, req, started)
        key = result_key(req)
        found, cached = snap.lexicon.results.get(key)
        if found:
            return replace(cached, hits=list(cached.hits), took_ms=_ms_since(started))
        result = self._search(snap, req, started)
        snap.lexicon.results.put(key, result)
        return replace(result, hits=list(result.hits))

    def _search(self, snap: Snapshot, req: SearchRequest, started: float) -> SearchResult:
        parsed = parse_query(req.q)
        with snap.reading() as col:
            within = self._filter(col, req)
            scores, found = self._text_match(col, req, parsed, within)
            matched = found & within
            order = self._order(col, req, parsed, scores, matched)
            first = (req.page - 1) * req.per_page
            page = order[first:first + req.per_page]
            marks = (parsed.highlight_terms(), parsed.number_keys)
            hits = [self._hit(col.stored(d), scores[d], marks, req.snippets)
                    for d in page]
            facets = self._facet_counts(col, matched, req, found) if req.facets else {}
            suggestion = self._suggestion(snap, col, req, parsed, order[:req.per_page])
            offered = _suggested_filters(col, req, parsed, matched)
        return SearchResult(
            query=req.q, normalized_query=parsed.normalized(), total=int(matched.sum()),
            page=req.page, per_page=req.per_page,
            took_ms=_ms_since(started), did_you_mean=suggestion, facets=facets, hits=hits,
            suggested_filters=offered)

    def _match(self, col: Collection, req: SearchRequest, parsed: ParsedQuery,
               second_look: bool = True):
        """``(scores, matched)``: the documents the request finds among those its reader may
        see, scored with statistics of those documents alone."""
        within = self._filter(col, req)
        scores, found = self._text_match(col, req, parsed, within, second_look)
        return scores, found & within

    def _text_match(self, col: Collection, req: SearchRequest, parsed: ParsedQuery,
                    within: np.ndarray, second_look: bool = True):
        """``(scores, found)``: what the words find among the documents the reader may see,
        before the filters (facet counts need both); second looks at a long question read
        the best documents ``within`` the filters."""
        scope = col.scope(public_only=not req.include_internal)
        if parsed.empty and not (req.scope == "number" and req.q.strip()):
            scores, matched = np.zeros(col.size), scope.mask.copy()
        else:
            plan = build_plan(parsed, scope.size, lambda f, t: col.doc_frequency(f, t, scope),
                              req.scope)
            plan.clauses += _number_clauses(col, scope, req, parsed)
            plan.prefer = _preferences(col, parsed) if req.scope != "number" else []
            scores, matched = col.score(plan, scope)
            if second_look and req.scope == "all" and query.is_long(parsed):
                scores = _second_look(col, scope, parsed, scores, matched & within)
        # Quoted phrases must match, ``-word`` must not (positions are in the postings).
        if parsed.phrases and req.scope != "number":
            matched &= col.reader.phrase_mask([[f for _, f in p] for p in parsed.phrases],
                                              PHRASE_FIELDS)
        if parsed.excluded:
            matched &= ~col.reader.terms_mask(parsed.excluded, PHRASE_FIELDS)
        return scores, matched

    def _suggestion(self, snap, col, req: SearchRequest, parsed: ParsedQuery,
                    first_page) -> str | None:
        """'Did you mean', offered only when the corrected query finds something else: a
        query typed without diacritics usually finds the same documents already."""
        def page_of(fixed):      # no second look at a long question's best documents
            scores, matched = self._match(col, req, fixed, second_look=False)
            if not matched.any():
                return None
            return self._order(col, replace(req, page=1), fixed, scores, matched
                               )[:req.per_page].tolist()

        # Whether it is offered depends on the whole request but its page: answered once per
        # generation (the generation's answers are dropped with it).
        key = ("offered", offered_key(req))
        found, answer = snap.lexicon.corrections.get(key)
        if not found:
            answer = offered(_correction(snap, col, parsed, req.include_internal),
                             first_page.tolist(), page_of)
            snap.lexicon.corrections.put(key, answer)
        return answer

    def _filter(self, col: Collection, req: SearchRequest, skip: str | None = None
                ) -> np.ndarray:
        """The documents the filters keep (``skip``: all but that facet's)."""
        mask = col.scope(public_only=not req.include_internal).mask.copy()
        for name in FILTER_KEYS:
            values = filter_values(getattr(req, name))
            if values and name != skip:
                codes = [col.codes_of(name, v) for v in values]
                mask &= np.isin(col.columns[name][0], codes)
        if req.news_only:
            mask &= news_mask(col, self.news_types)
        if req.date_from:
            mask &= col.published >= _seconds(req.date_from)
        if req.date_to and req.date_to < date.max:
            mask &= (col.published < _seconds(req.date_to + timedelta(days=1))) & \
                (col.published != MISSING_DATE)
        return mask

    @staticmethod
    def _order(col, req, parsed, scores, matched) -> np.ndarray:
        """Matched document numbers, best first (ties: the newer, then by id, so the order
        does not depend on where documents sit in the index)."""
        docs = np.flatnonzero(matched)
        needed = req.page * req.per_page
        if req.sort == "relevance" and not parsed.empty and len(docs) > 4 * needed:
            # Only the pages shown, and every document tied with the last of them.
            cut = np.partition(scores[docs], len(docs) - needed)[len(docs) - needed]
            docs = docs[scores[docs] >= cut]
        ids = col.id_rank[docs]
        if req.sort == "date_asc":
            dates = np.where(col.published[docs] == MISSING_DATE, np.iinfo(np.int64).max,
                             col.published[docs])
            keys = (ids, -scores[docs], dates)
        elif req.sort == "date" or parsed.empty:
            keys = (ids, -scores[docs], -col.published[docs].clip(min=MISSING_DATE + 1))
        else:
            keys = (ids, -col.published[docs].clip(min=MISSING_DATE + 1), -scores[docs])
        return docs[np.lexsort(keys)]

    def _facet_counts(self, col: Collection, matched: np.ndarray, req: SearchRequest,
                      found: np.ndarray | None = None) -> dict:
        """Counts per facet value. A facet with values chosen is counted over the results of
        the other filters (``found``: before any filter), so each of its values says how many
        results choosing it too (OR within a facet) would add."""
        facets = {}
        labels = col.scope(public_only=not req.include_internal).labels
        for name in FACETS:
            codes = col.columns[name][0]
            selected = filter_values(getattr(req, name))
            within = matched if not selected or found is None else \
                found & self._filter(col, req, skip=name)
            present = codes[within & (codes >= 0)]
            counts = np.bincount(present, minlength=len(labels[name]))
            chosen = {col.codes_of(name, v) for v in selected}
            items = {labels[name][i]: (int(c), i in chosen) for i, c in enumerate(counts) if c}
            for value in selected:
                code = col.codes_of(name, value)
                if code < 0 or not counts[code]:
                    items[value] = (0, True)
            order = (sorted(items.items(), key=lambda kv: -int(kv[0])) if name == "year" else
                     sorted(items.items(), key=lambda kv: (-kv[1][0], str(kv[0]))))
            facets[name] = [{"value": v, "count": c, "selected": s} for v, (c, s) in order]
        return facets

    @staticmethod
    def _hit(fields: dict, score, marks=(frozenset(), ()), snippet: bool = True) -> Hit:
        """A result; ``marks`` are the folded syllables and number keys to mark."""
        return Hit(
            id=fields["id"], title=fields.get("title", ""),
            title_html=highlight.mark(fields.get("title", ""), *marks),
            snippet=highlight.snippet(fields.get("body", ""), *marks) if snippet else "",
            score=round(float(score), 4),
            category=fields.get("category"), doc_type=fields.get("doc_type"),
            doc_number=fields.get("doc_number"), issuer=fields.get("issuer"),
            published=iso_date(fields.get("published")),
            views=fields.get("views"), url=fields.get("url"),
            visibility=fields.get("visibility", "public"),
            validity=fields.get("validity"))

    # -- documents -------------------------------------------------------------------------
    def get_document(self, doc_id: str, include_internal: bool = False) -> dict | None:
        """All stored fields of one document, or None if unknown or not visible."""
        with self.snapshot().reading() as col:
            docnum = col.reader.docnum_of(doc_id)
            fields = col.stored(docnum) if docnum is not None else None
        if not fields or (fields.get("visibility") != "public" and not include_internal):
            return None
        return _public_fields(fields)

    def documents_by_number(self, keys, include_internal: bool = False) -> dict[str, list[str]]:
        """The ids of the documents numbered with each canonical key (``45-2018-qd-ubnd``)."""
        out: dict[str, list[str]] = {}
        with self.snapshot().reading() as col:
            for key in dict.fromkeys(keys):
                found = [f for f in col.reader.stored_where("number_key", key)
                         if include_internal or f.get("visibility") == "public"]
                if found:
                    out[key] = sorted(f["id"] for f in found)
        return out

    def more_like_this(self, doc_id: str, limit: int = 5,
                       include_internal: bool = False) -> list[Hit]:
        """Documents that share the most distinctive syllables with ``doc_id``, weighed by
        what the reader may see only (like every score)."""
        with self.snapshot().reading() as col:
            docnum = col.reader.docnum_of(doc_id)
            if docnum is None:
                return []
            scope = col.scope(public_only=not include_internal)
            fields = col.stored(docnum)
            plan = related_plan(fields.get("title", "") + "\n" + fields.get("body", ""),
                                scope.size, lambda f, t: col.doc_frequency(f, t, scope))
            scores, matched = col.score(plan, scope)
            matched[docnum] = False
            docs = np.flatnonzero(matched)
            best = docs[np.lexsort((col.id_rank[docs], -scores[docs]))][:limit]
            return [self._hit(col.stored(d), scores[d], snippet=False)
                    for d in best]

    def latest(self, limit: int = 5, include_internal: bool = False, **filters) -> list[Hit]:
        """The newest documents (by publication date), optionally filtered."""
        req = SearchRequest(per_page=limit, facets=False, include_internal=include_internal,
                            snippets=False, **filters)
        return self.search(req).hits

    def facet_overview(self, include_internal: bool = False) -> dict:
        """Counts of every facet over the whole collection (for the home page)."""
        req = SearchRequest(include_internal=include_internal)
        with self.snapshot().reading() as col:
            return self._facet_counts(col, self._filter(col, req), req)

    # -- suggestions -------------------------------------------------------------------------
    def did_you_mean(self, parsed: ParsedQuery, include_internal: bool = False) -> str | None:
        """The query as the collection writes it: diacritics restored where they were left
        out, and syllables no document holds (typos, wrong tones) replaced by a near one."""
        snap = self.snapshot()
        with snap.reading() as col:
            return _correction(snap, col, parsed, include_internal)

    def complete(self, prefix: str, limit: int = 8, include_internal: bool = False) -> list[dict]:
        """What the reader may be typing: document numbers, types and categories, titles
        (``[{"text", "kind", "id"}]``, see :mod:`search_service.search.complete`)."""
        with self.snapshot().reading() as col:
            return complete(col, col.scope(public_only=not include_internal), prefix, limit)

    def suggest(self, prefix: str, limit: int = 8, include_internal: bool = False) -> list[str]:
        """Titles that complete what is typed, accent-insensitively."""
        return [item["text"] for item in self.complete(prefix, limit, include_internal)
                if item["kind"] == "document"]


def result_key(req: SearchRequest) -> str:
    """What a cached result is kept under: every field of the request (query, filters, page,
    scope, sort, facets, snippets and whether internal documents may be seen)."""
    return repr([(f.name, getattr(req, f.name)) for f in dataclass_fields(req) if f.compare])


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def filter_values(value) -> list:
    """A filter's values as a list: ``None`` → ``[]``, one value → ``[value]``.

    >>> filter_values(None), filter_values("Kế hoạch"), filter_values(["A", "", "B"])
    ([], ['Kế hoạch'], ['A', 'B'])
    """
    if value is None or value == "":
        return []
    values = value if isinstance(value, (list, tuple)) else [value]
    return list(dict.fromkeys(v for v in values if v not in (None, "")))


def _second_look(col: Collection, scope, parsed: ParsedQuery, scores: np.ndarray,
                 matched: np.ndarray) -> np.ndarray:
    """Feedback, proximity and the kind of answer asked for (:mod:`search_service.search.rerank`)
    on a long question's scores; only documents it found are reordered."""
    if query.FEEDBACK_DOCS:
        extra = rerank.feedback_clauses(
            col, scope, scores, matched, {f for _, f in parsed.terms},
            query.STOP_WORDS.__contains__,
            docs=query.FEEDBACK_DOCS, terms=query.FEEDBACK_TERMS, weight=query.FEEDBACK_WEIGHT,
            field_clause=query.feedback_clause)
        if extra:
            more, _ = col.score(Plan(extra), scope)
            scores = np.where(matched, scores + more, scores)
    return rerank.look_again(col, scores, matched, parsed)


def _preferences(col: Collection, parsed: ParsedQuery) -> list[tuple[np.ndarray, float]]:
    """The type, issuer and year the query names, as soft ranking preferences."""
    intent, prefer = parsed.intent, []
    if intent.doc_type:
        prefer.append((col.columns["doc_type"][0] == col.codes_of("doc_type", intent.doc_type),
                       query.TYPE_PREFERENCE))
    if intent.issuer:
        codes = [code for code, value in enumerate(col.columns["issuer"][1])
                 if issuer_matches(value, intent.issuer)]
        prefer.append((np.isin(col.columns["issuer"][0], codes), query.ISSUER_PREFERENCE))
    if intent.year:
        prefer.append((col.columns["year"][0] == col.codes_of("year", intent.year),
                       query.YEAR_PREFERENCE))
    return [(mask, factor) for mask, factor in prefer if mask.any()]


def number_search(req: SearchRequest, parsed: ParsedQuery
                  ) -> tuple[str, str | None, float] | None:
    """Which number keys a request names, as ``(prefix, wanted, boost)``, or None: a bare
    number with a type (``kế hoạch 45``) names the keys ``45-…`` whose type abbreviation is
    ``wanted`` (``KH``), boosted; ``scope=number`` every key that starts as the query does.
    Both backends read it here and list the keys from their own index (:func:`names_number`)."""
    if req.scope == "number":
        try:
            key = canonical(req.q)
        except ValueError:
            return None
        return key, None, 1.0
    if parsed.intent.number and not parsed.number_keys:
        abbreviation = type_abbreviation(parsed.intent.doc_type or "")
        if not abbreviation:
            return None
        return parsed.intent.number + "-", abbreviation, query.BARE_NUMBER_BOOST
    return None


def names_number(term: str, prefix: str, wanted: str | None) -> bool:
    """Whether the number key ``term`` is one :func:`number_search`'s ``(prefix, wanted)``
    names: the prefix itself or a whole first part of the key, of the wanted type if any."""
    if not term.startswith(prefix) or (term != prefix and
                                       not term.startswith(prefix.rstrip("-") + "-")):
        return False
    return not wanted or wanted in term.split("-")[1:3]


def _number_clauses(col: Collection, scope, req: SearchRequest, parsed: ParsedQuery
                    ) -> list[Clause]:
    """Number keys a bare number names: ``kế hoạch 45`` → 45/KH-…, 45/2022/KH-…; with
    ``scope=number``, every number that starts as the query does (``45`` → 45/…)."""
    named = number_search(req, parsed)
    if named is None:
        return []
    prefix, wanted, boost = named
    return [Clause([("number_key", term, 1.0)], boost)
            for term in col.terms_with_prefix("number_key", prefix, NUMBER_PREFIX_TERMS)
            if names_number(term, prefix, wanted)
            and col.doc_frequency("number_key", term, scope)]   # numbers the reader may see


def _suggested_filters(col: Collection, req: SearchRequest, parsed: ParsedQuery,
                       matched: np.ndarray) -> list[dict]:
    """``[{"type": …, "issuer": …, "year": …}]``: the parts of the query that name a type,
    an issuer or a year, as a filter that keeps some but not all of the results."""
    intent = parsed.intent
    if intent.empty or not matched.any() or req.scope == "number":
        return []
    labels = col.scope(public_only=not req.include_internal).labels
    candidates = []
    if intent.doc_type and not req.doc_type:
        candidates.append(("doc_type", [col.codes_of("doc_type", intent.doc_type)]))
    if intent.issuer and not req.issuer:
        codes = col.columns["issuer"][0]
        counts = np.bincount(codes[matched & (codes >= 0)], minlength=len(labels["issuer"]))
        fitting = [c for c, value in enumerate(col.columns["issuer"][1])
                   if counts[c] and issuer_matches(value, intent.issuer)]
        if fitting:
            candidates.append(("issuer", [max(fitting, key=lambda c: (counts[c], -c))]))
    if intent.year and not req.year:
        candidates.append(("year", [col.codes_of("year", intent.year)]))
    suggestion, kept = {}, matched.copy()
    for name, codes in candidates:
        narrower = kept & np.isin(col.columns[name][0], codes)
        if narrower.any():
            suggestion[FILTER_KEYS[name]] = labels[name][codes[0]]
            kept = narrower
    if not suggestion or kept.sum() == matched.sum():
        return []
    return [suggestion]


def _correction(snap: Snapshot, col: Collection, parsed: ParsedQuery,
                include_internal: bool) -> str | None:
    if not parsed.terms or parsed.number_keys:
        return None
    return correct(col, snap.lexicon, parsed, col.scope(public_only=not include_internal))


def _public_fields(fields: dict) -> dict:
    """Stored fields as the outside world sees them (no bookkeeping)."""
    out = {k: v for k, v in fields.items() if k not in ("path", "content_hash", "file_hash")}
    out["published"] = iso_date(out.get("published"))
    return out


def _seconds(day: date) -> int:
    return int((datetime(day.year, day.month, day.day) - EPOCH).total_seconds())


def iso_date(value: datetime | None) -> str | None:
    """``2018-04-14T10:39`` for a time of day, ``2024-03-05`` for a date alone."""
    if value is None:
        return None
    if value.time() == datetime.min.time():
        return value.date().isoformat()
    return value.isoformat(timespec="minutes")
