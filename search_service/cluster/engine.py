"""``ClusterEngine``: the public methods of :class:`search_service.search.SearchEngine`, over
a Sphinx/Manticore cluster reached through its coordinator.

The cluster finds the matching documents, filters them by attributes, counts facets and
picks candidates with its own bm25f; the service ranks the candidates with our BM25F and the
cluster-wide statistics of what the reader may see, and makes snippets from the stored text.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np

from search_service.cluster import schema
from search_service.cluster.cache import GenerationCache
from search_service.cluster.complete import complete as completions
from search_service.cluster.ranking import RANKER, Matching, Stats, frequencies, matching, score
from search_service.cluster.sphinxql import (AGENT_FAILURE, Backend, ClusterUnavailable,
                                             Connections, quote_match)
from search_service.cluster.suggest import correct, first_questions
from search_service.cluster.writer import stored_fields
from search_service.search import query, rerank
from search_service.search.intent import issuer_matches
from search_service.search.news import news_types
from search_service.search.query import ParsedQuery, build_plan, parse_query, related_plan
from search_service.search.ranking import Clause
from search_service.search.engine import (FILTER_KEYS, NUMBER_PREFIX_TERMS, Hit, SearchEngine,
                                          SearchRequest, SearchResult, _public_fields, _seconds,
                                          filter_values, names_number, number_search)
from search_service.search.snapshot import FACETS
from search_service.search.suggest import offered, offered_key

logger = logging.getLogger(__name__)

CANDIDATES = 1000         # documents ranked by us per search, at least (the page and more)
# A short query also asks for the documents holding every word (which rank first): of the
# others, fewer are enough unless those are too few for the page (then all are asked again).
SHORT_CANDIDATES = 200
BATCH = 30                # queries per round trip (a coordinator passes at most 32 to an agent)
RETRIES = 4               # tries after a shard failed: round robin moves to its other mirror
RETRY_SECONDS = 0.05
PARTIAL_NOTICE = ("Một phần dữ liệu tạm thời không truy cập được: kết quả có thể chưa đầy đủ.")
_LENGTHS = tuple(f"len_{f}" for f in schema.SCORED)
_KNOWN_FACETS = tuple(n for n in FACETS if n == "year" or n in schema.FACET_ATTRS)
_PREFERRED = ("doc_type_code", "issuer", "year")     # what a query's intent prefers
NOTHING = "QQ"      # a keyword no document holds (Q only escapes inside a spelled token)


@dataclass
class ClusterResult(SearchResult):
    """A search result; ``partial`` when a shard had no live copy (its documents are missing)."""
    partial: bool = False
    notice: str | None = None


@dataclass(frozen=True)
class ClusterSnapshot:
    """What the web layer reads of a "snapshot".

    ``generation`` is the highest write stamp of the shards (the writer sets a shard's stamp,
    microseconds since the epoch and always higher than before, with every batch it sends), so
    it grows with every write or delete; 0 for a cluster never written. While some shard has
    no live mirror (``complete`` is False) it is -1: answers then lack that shard's documents
    and must not be tagged as the whole collection's. ``doc_count`` counts every document the
    cluster holds (internal ones too, as the embedded snapshot does)."""
    generation: int
    doc_count: int
    opened_at: float
    complete: bool = True
    reason: str | None = None        # why not complete: the coordinator's warning

    @property
    def committed_at(self) -> float | None:
        """When the generation was written (seconds since the epoch), if known."""
        return self.generation / 1e6 if self.generation > 0 else None


@dataclass
class _Scope:
    stats: Stats
    labels: dict[str, dict]          # facet → {code: label}


class ClusterEngine:
    """Searches a cluster; safe to share between the threads of a server."""

    def __init__(self, backend: Backend, news: str | None = None):
        self.backend = backend
        self.index = backend.index
        self.news_types = news_types(news)
        codes = [0] + [schema.code(t) for t in sorted(self.news_types)]
        # News: no type (code 0) or a news type; a plain filter, so any statement may use it.
        self._news_filter = f"doc_type_code IN ({', '.join(map(str, codes))})"
        self.connections = Connections(backend)
        self.cache = GenerationCache()
        self._call = threading.local()      # per thread: the call under way (see _begin)

    # -- lifecycle (as SearchEngine) ------------------------------------------------------------
    def warm(self) -> None:
        """Read the statistics now; a cluster that is down is reported, not fatal."""
        from search_service.text.segment import segment

        segment("Khởi động")
        try:
            self.refresh()
        except ClusterUnavailable as exc:
            logger.warning("%s", exc)

    def refresh(self) -> None:
        """Forget what was kept of the cluster (this process has just written to it)."""
        self.cache.forget()
        self._begin()
        self._scope(True)

    def close(self) -> None:
        self.connections.close()

    def snapshot(self) -> ClusterSnapshot:
        """The generation the cluster serves now, read at each call (one round trip: a
        cached generation could tag a newer answer as an older one); raises
        ClusterUnavailable when the coordinator does not answer or no shard does."""
        # Two round trips, each retried on its own: two distributed indexes in one round trip
        # take turns between mirrors out of step, and one of them may meet a dead mirror on
        # every try.
        counted, partial = self._run([(f"SELECT COUNT(*) FROM {self.index}", ()),
                                      ("SHOW META", ())])
        stamped, stamps_partial = self._run([
            (f"SELECT stamp FROM {self.index}{schema.LEXICON_SUFFIX} WHERE kind = "
             f"{schema.STAMP} ORDER BY stamp DESC LIMIT 1", ()), ("SHOW META", ())])
        count = int(counted[0][0][0]) if counted[0] else 0
        stamp = int(stamped[0][0][0]) if stamped[0] else 0
        complete = not (partial or stamps_partial)
        reason = "; ".join(filter(None, (dict(r[1]).get("warning") for r in (counted, stamped)
                                         if len(r) > 1)))
        self.cache.observe(stamp if complete else None)      # a generation check for free
        return ClusterSnapshot(stamp if complete else -1, count, time.time(), complete,
                               None if complete else reason or "a shard does not answer")

    def serving(self) -> str | None:
        """None when every shard answers (from at least one of its mirrors), else why not:
        what a readiness probe of a cluster-backed server asks."""
        try:
            snap = self.snapshot()
        except ClusterUnavailable as exc:
            return str(exc)
        if not snap.complete:
            return f"a shard of the search cluster has no live mirror ({snap.reason})"
        return None

    # -- talking to the cluster ---------------------------------------------------------------
    def _begin(self) -> bool:
        """Start a public call: ask the cluster's generation if it was not asked lately
        (what is kept is kept per generation), and take the token answers are kept under.
        True if the generation was asked."""
        due = self.cache.due()
        if due:
            self._check_generation()
        self._call.token = self.cache.token()
        self._call.counts = {}              # document frequencies read during this call
        return due

    def _check_generation(self) -> None:
        """One small query: the highest write stamp, and whether every shard answered."""
        results, partial = self._run([(
            f"SELECT stamp FROM {self.index}{schema.LEXICON_SUFFIX} WHERE kind = "
            f"{schema.STAMP} ORDER BY stamp DESC LIMIT 1", ()), ("SHOW META", ())])
        self.cache.observe(None if partial else int(results[0][0][0]) if results[0] else 0)

    def _token(self) -> int | None:
        return getattr(self._call, "token", None)

    def _counts(self) -> dict:
        if not hasattr(self._call, "counts"):
            self._call.counts = {}
        return self._call.counts

    def _kept(self, kind: str, key, compute):
        """What ``compute()`` answers, kept for this generation under ``(kind, key)``."""
        found, answer = self.cache.get(kind, key)
        if not found:
            token = self._token()
            answer = compute()
            self.cache.put(kind, key, answer, token)
        return answer

    def _run(self, statements) -> tuple[list, bool]:
        """Run statements (each SELECT followed by SHOW META); retried while a shard fails.
        Returns the result sets and whether some shard had no live copy."""
        for attempt in range(RETRIES + 1):
            results = self.connections.run(statements)
            warnings = [dict(r).get("warning", "") for r in results
                        if r and len(r[0]) == 2 and any(k == "total_found" for k, _ in r)]
            failed = any(AGENT_FAILURE.search(w) for w in warnings)
            if not failed:
                return results, False
            if attempt < RETRIES:
                time.sleep(RETRY_SECONDS * attempt)
        logger.warning("search answered without a shard: %s", "; ".join(filter(None, warnings)))
        self.cache.forget()          # nothing is kept while a shard is missing
        return results, True

    def _where(self, req: SearchRequest, match: str | None, skip: str | None = None) -> str:
        """The WHERE of a request (``skip``: all filters but that facet's, as the embedded
        engine counts a facet with values chosen)."""
        parts = [f"MATCH({quote_match(match)})"] if match else []
        if not req.include_internal:
            parts.append("public = 1")
        for name in schema.FACET_ATTRS + ("year",):
            values = filter_values(getattr(req, name, None))
            if values and name != skip:
                codes = [int(v) for v in values] if name == "year" else \
                    [schema.code(v) for v in values]
                column = "year" if name == "year" else f"{name}_code"
                parts.append(f"{column} IN ({', '.join(map(str, codes))})")
        if req.news_only:
            parts.append(self._news_filter)
        if req.date_from:
            parts.append(f"published >= {_seconds(req.date_from)}")
        if req.date_to and req.date_to < date.max:
            parts.append(f"published < {_seconds(req.date_to + timedelta(days=1))}")
            parts.append(f"published > {schema.MISSING_DATE}")
        return " AND ".join(parts) or "id > 0"

    def _scope(self, public_only: bool) -> _Scope:
        """Statistics and facet labels of what the reader may see (kept per generation)."""
        return self._kept("scope", public_only, lambda: self._read_scope(public_only))

    def _read_scope(self, public_only: bool) -> _Scope:
        where = "WHERE public = 1" if public_only else ""
        statements = [(f"SELECT COUNT(*) AS n, {', '.join(f'SUM({c})' for c in _LENGTHS)} "
                       f"FROM {self.index} {where}", ()), ("SHOW META", ())]
        for name in schema.FACET_ATTRS:
            statements += [(f"SELECT {name}, {name}_code, COUNT(*) AS n FROM {self.index} "
                            f"{where} GROUP BY {name} LIMIT 10000 OPTION max_matches=10000", ()),
                           ("SHOW META", ())]
        results, _ = self._run(statements)
        row = results[0][0] if results[0] else (0,) + (0,) * len(_LENGTHS)
        size = int(row[0] or 0)
        avg = {f: (float(row[i + 1] or 0) / size if size else 1.0)
               for i, f in enumerate(schema.SCORED)}
        labels = {name: _labels(results[2 + 2 * i]) for i, name in enumerate(schema.FACET_ATTRS)}
        return _Scope(Stats(size, avg), labels)

    def _doc_frequencies(self, matches: list[str], public_only: bool) -> list[int]:
        """Documents the reader may see that match each MATCH expression (kept per
        generation; those not known yet asked :data:`BATCH` to a round trip)."""
        wanted = self._unknown_counts(matches, public_only)
        for start in range(0, len(wanted), BATCH):
            chunk = wanted[start:start + BATCH]
            results, _ = self._run(self._count_statements(chunk, public_only))
            self._keep_counts(chunk, results, public_only)
        return [self._known_count(text, public_only) for text in matches]

    def _known_count(self, text: str, public_only: bool) -> int | None:
        key = (public_only, text)
        counts = self._counts()
        if key not in counts:
            found, n = self.cache.get("df", key)
            if not found:
                return None
            counts[key] = n
        return counts[key]

    def _unknown_counts(self, matches, public_only: bool) -> list[str]:
        return [t for t in dict.fromkeys(matches) if self._known_count(t, public_only) is None]

    def _count_statements(self, matches: list[str], public_only: bool) -> list:
        where = " AND public = 1" if public_only else ""
        statements = []
        for text in matches:
            statements += [(f"SELECT COUNT(*) FROM {self.index} WHERE MATCH({quote_match(text)})"
                            f"{where} OPTION ranker=none", ()), ("SHOW META", ())]
        return statements

    def _keep_counts(self, matches: list[str], results: list, public_only: bool) -> None:
        """Read the answers of :meth:`_count_statements` (``results``: their result sets)."""
        counts, token = self._counts(), self._token()
        for i, text in enumerate(matches):
            rows = results[2 * i]
            counts[(public_only, text)] = n = int(rows[0][0]) if rows else 0
            self.cache.put("df", (public_only, text), n, token)

    # -- search -------------------------------------------------------------------------------
    def search(self, req: SearchRequest) -> ClusterResult:
        """One page of results; a request asked before in this generation is answered from
        what was kept (a result without some shard's documents is never kept)."""
        started = time.perf_counter()
        checked = self._begin()
        key = repr(req)
        found, result = self.cache.get("result", key)
        if found and not checked:
            # A whole answer is only given again for the generation served this instant,
            # with every shard answering: one small query (still far less than a search).
            self._check_generation()
            self._call.token = self.cache.token()
            found, result = self.cache.get("result", key)
        token = self._token()
        if not found:
            result = self._search(req, started)
            if not result.partial:
                self.cache.put("result", key, result, token)
        return replace(result, took_ms=round((time.perf_counter() - started) * 1000, 2))

    def _search(self, req: SearchRequest, started: float) -> ClusterResult:
        parsed = parse_query(req.q)
        public_only = not req.include_internal
        scope = self._scope(public_only)
        # The counts "did you mean" will ask first, sent with the search's own statements.
        questions = ([] if self.cache.get("offered", offered_key(req))[0]
                     else self._correction_questions(parsed, public_only))
        m, match, statements, wider = self._candidates(req, parsed, scope, public_only,
                                                       questions)
        candidates = len(statements)
        if req.facets:
            for name in _KNOWN_FACETS:
                column = "year" if name == "year" else f"{name}_code"
                skip = name if filter_values(getattr(req, name, None)) else None
                statements += [(f"SELECT {column}, COUNT(*) AS n FROM "
                                f"{self.index} WHERE {self._where(req, match, skip)} "
                                f"GROUP BY {column} LIMIT 10000 "
                                f"OPTION max_matches=10000, ranker=none", ()), ("SHOW META", ())]
        asked = len(statements)
        # In the same round trip, the counts this search will need: each clause's documents
        # (for the score) and the first questions of "did you mean".
        counted = [m.clause_match(c) for c in range(len(m.clauses))] if m else []
        counted = self._unknown_counts(counted + questions,
                                       public_only)[:max(0, BATCH - asked // 2)]
        statements += self._count_statements(counted, public_only)
        results, partial = self._run_candidates(statements, wider, req.page * req.per_page)
        self._keep_counts(counted, results[asked:], public_only)
        total = int(dict(results[1]).get("total_found", 0))
        rows = _rows(results[:candidates])
        long_question = m is not None and req.scope == "all" and query.is_long(parsed)
        ranked = self._rank(rows, m, scope, public_only, req, parsed.empty,
                            _preferences(parsed, req),
                            parsed if long_question else None)
        page = ranked[(req.page - 1) * req.per_page:req.page * req.per_page]
        suggestion = self._suggestion(req, parsed, scope, public_only,
                                      [number for number, _ in ranked[:req.per_page]])
        marks = (parsed.highlight_terms(), parsed.number_keys)
        stored = self._stored([number for number, _ in page])
        hits = [SearchEngine._hit(stored[number], value, marks, req.snippets)
                for number, value in page if number in stored]
        facets = self._facets(results[candidates:asked], req, scope) if req.facets else {}
        return ClusterResult(
            query=req.q, normalized_query=parsed.normalized(), total=total, page=req.page,
            per_page=req.per_page, took_ms=round((time.perf_counter() - started) * 1000, 2),
            did_you_mean=suggestion, facets=facets, hits=hits, partial=partial,
            suggested_filters=self._suggested_filters(req, parsed, match, total, scope),
            notice=PARTIAL_NOTICE if partial else None)

    def _suggestion(self, req: SearchRequest, parsed: ParsedQuery, scope: _Scope,
                    public_only: bool, first_page: list[int]) -> str | None:
        """'Did you mean', as the embedded engine offers it: only when the corrected query
        finds something and its first page differs from this query's (kept per generation
        and request, as embedded)."""
        def page_of(fixed):
            ranked = self._ranked(replace(req, page=1, facets=False), fixed, scope, public_only)
            return [number for number, _ in ranked[:req.per_page]] if ranked else None

        return self._kept("offered", offered_key(req), lambda: offered(
            self._correction(parsed, public_only), first_page, page_of))

    def _suggested_filters(self, req: SearchRequest, parsed: ParsedQuery, match: str | None,
                           total: int, scope: _Scope) -> list[dict]:
        """The type, issuer and year the query names, offered as a filter that keeps some but
        not all of the results (as search.engine._suggested_filters)."""
        intent = parsed.intent
        if intent.empty or not total or req.scope == "number" or match is None:
            return []
        where = self._where(req, match)
        candidates = []        # (filter name, condition, label)
        if intent.doc_type and not req.doc_type:
            value = schema.code(intent.doc_type)
            candidates.append(("doc_type", f"doc_type_code = {value}",
                               scope.labels["doc_type"].get(value)))
        if intent.issuer and not req.issuer:
            labels = scope.labels["issuer"]
            rows = self._select(f"SELECT issuer_code, COUNT(*) AS n FROM {self.index} WHERE "
                                f"{where} GROUP BY issuer_code LIMIT 10000 "
                                f"OPTION max_matches=10000, ranker=none")
            fitting = [(int(n), labels[value]) for value, n in rows
                       if n and value in labels and issuer_matches(labels[value], intent.issuer)]
            if fitting:
                n, label = max(fitting, key=lambda nl: (nl[0], [-ord(c) for c in nl[1]]))
                candidates.append(("issuer", f"issuer_code = {schema.code(label)}", label))
        if intent.year and not req.year:
            candidates.append(("year", f"year = {int(intent.year)}", int(intent.year)))
        if not candidates:
            return []
        # Every combination in one round trip, then narrowed in order as embedded does.
        combos = [tuple(c for i, c in enumerate(candidates) if bits >> i & 1)
                  for bits in range(1, 2 ** len(candidates))]
        statements = []
        for combo in combos:
            statements += [(f"SELECT COUNT(*) FROM {self.index} WHERE {where} AND "
                            + " AND ".join(cond for _, cond, _ in combo)
                            + " OPTION ranker=none", ()), ("SHOW META", ())]
        results, _ = self._run(statements)
        counts = {combo: int(results[2 * i][0][0]) if results[2 * i] else 0
                  for i, combo in enumerate(combos)}
        suggestion, kept, kept_count = {}, (), total
        for candidate in candidates:
            narrower = kept + (candidate,)
            if counts[narrower] and candidate[2] is not None:
                suggestion[FILTER_KEYS[candidate[0]]] = candidate[2]
                kept, kept_count = narrower, counts[narrower]
        if not suggestion or kept_count == total:
            return []
        return [suggestion]

    def _correction(self, parsed: ParsedQuery, public_only: bool) -> str | None:
        """The corrected query (kept per generation, per reader's scope and query text)."""
        if not parsed.terms or parsed.number_keys:
            return None
        return self._kept("correction", (public_only, parsed.text),
                          lambda: correct(self, parsed, public_only))

    def _correction_questions(self, parsed: ParsedQuery, public_only: bool) -> list[str]:
        """The counts a correction of ``parsed`` would ask first, unless it is known."""
        if (not parsed.terms or parsed.number_keys
                or self.cache.get("correction", (public_only, parsed.text))[0]):
            return []
        return first_questions(parsed)

    def _ranked(self, req: SearchRequest, parsed: ParsedQuery, scope: _Scope,
                public_only: bool) -> list[tuple[int, float]]:
        """The documents ``parsed`` finds with the filters of ``req``, best first (the first
        ``req.page`` pages at least), as :meth:`search` ranks them."""
        m, _, statements, wider = self._candidates(req, parsed, scope, public_only)
        asked = len(statements)
        counted = self._unknown_counts([m.clause_match(c) for c in range(len(m.clauses))]
                                       if m else [], public_only)[:max(0, BATCH - asked // 2)]
        statements += self._count_statements(counted, public_only)
        results, _ = self._run_candidates(statements, wider, req.page * req.per_page)
        self._keep_counts(counted, results[asked:], public_only)
        return self._rank(_rows(results[:asked]), m, scope, public_only, req, parsed.empty,
                          _preferences(parsed, req))

    def _candidates(self, req: SearchRequest, parsed: ParsedQuery, scope: _Scope,
                    public_only: bool, also: list[str] = ()
                    ) -> tuple[Matching | None, str | None, list, tuple | None]:
        """``(matching, MATCH, statements, wider)``: the plan of a request, the statements
        that fetch its candidates (rows read by :func:`_rows`), and the first of them with
        every candidate when it asks fewer (see :meth:`_run_candidates`), else None."""
        m = self._matching(parsed, scope, public_only, req, also) if _scored(parsed, req) \
            else None
        match = _match_text(m, parsed) if m else None
        needed = req.page * req.per_page
        relevance = req.sort == "relevance" and m is not None
        limit = max(CANDIDATES, 2 * needed) if relevance else needed
        if not (m and m.all_of and relevance):
            return m, match, [self._candidates_sql(req, match, limit, relevance, m),
                              ("SHOW META", ())], None
        # A short query: the documents holding every word rank first, so ask for them all
        # and for fewer of the others.
        fewer = min(limit, max(SHORT_CANDIDATES, 2 * needed))
        everything = " ".join(m.clause_match(c) for c in m.all_of)
        statements = [self._candidates_sql(req, match, fewer, True, m), ("SHOW META", ()),
                      self._candidates_sql(req, _match_text(m, parsed, everything), limit,
                                           True, m), ("SHOW META", ())]
        wider = self._candidates_sql(req, match, limit, True, m) if fewer < limit else None
        return m, match, statements, wider

    def _run_candidates(self, statements: list, wider, needed: int) -> tuple[list, bool]:
        """Run a search's statements; when fewer candidates were asked (``wider`` is not
        None) and the documents holding every word do not fill the first ``needed`` places,
        the others decide those places: they are asked again, all of them."""
        results, partial = self._run(statements)
        if wider is not None:
            fetched, found = len(results[0]), int(dict(results[1]).get("total_found", 0))
            every = int(dict(results[3]).get("total_found", 0))
            if found > fetched and every < needed:
                again, again_partial = self._run([wider, ("SHOW META", ())])
                results[0:2] = again
                partial = partial or again_partial
        return results, partial

    def _matching(self, parsed: ParsedQuery, scope: _Scope, public_only: bool,
                  req: SearchRequest, also: list[str] = ()) -> Matching:
        """The plan of the embedded engine, with cluster-wide document frequencies, for the
        request's scope (all text, titles only, số/ký hiệu only). ``also``: counts the
        search will ask later, sent along if the plan asks the cluster anyway."""
        counts: dict[str, int] = {}

        def doc_frequency(fieldname: str, term: str) -> int:
            # Only long questions ask (to drop common syllables): then every syllable's
            # frequency in one round trip, on the first question.
            if not counts:
                content = list(dict.fromkeys(f for _, f in parsed.terms))
                asked = [schema.keyword("body_f", f) for f in content]
                room = BATCH - len(self._unknown_counts(asked, public_only))
                asked += [k for k in self._unknown_counts(also, public_only)
                          if k not in asked][:max(0, room)]
                counts.update(zip(content, self._doc_frequencies(asked, public_only)))
            if fieldname == "body_f" and term in counts:
                return counts[term]
            return self._doc_frequencies([schema.keyword(fieldname, term)], public_only)[0]

        plan = build_plan(parsed, scope.stats.size, doc_frequency, req.scope)
        plan.clauses += self._number_clauses(req, parsed, public_only)
        return matching(plan)

    def _number_clauses(self, req: SearchRequest, parsed: ParsedQuery, public_only: bool
                        ) -> list:
        """Number keys a bare number names (search.engine._number_clauses), listed from the
        lexicon: ``kế hoạch 45`` → 45/KH-…; with ``scope=number``, every number that starts
        as the query does."""
        named = number_search(req, parsed)
        if named is None:
            return []
        prefix, wanted, boost = named
        rows = self.select_kept("lexicon", (
            f"SELECT form FROM {self.index}{schema.LEXICON_SUFFIX} WHERE "
            f"MATCH({quote_match(schema.lexicon_key(schema.NUMBER, prefix) + '*')}) AND kind = "
            f"{schema.NUMBER} ORDER BY form ASC LIMIT {NUMBER_PREFIX_TERMS} "
            f"OPTION max_matches={NUMBER_PREFIX_TERMS}"))
        terms = [term for (term,) in rows if names_number(term, prefix, wanted)]
        counts = self._doc_frequencies([schema.keyword("number_key", t) for t in terms],
                                       public_only)
        return [Clause([("number_key", t, 1.0)], boost) for t, n in zip(terms, counts) if n]

    def _candidates_sql(self, req, match, limit: int, relevance: bool, m) -> tuple[str, tuple]:
        columns = "id, published, doc_id, " + ", ".join(_LENGTHS)     # as _rank reads them
        if m is not None:
            columns += ", PACKEDFACTORS() AS factors"
        if relevance:
            order = "WEIGHT() DESC, published DESC"
        elif req.sort == "date_asc":
            columns += f", IF(published = {schema.MISSING_DATE}, {2 ** 62}, published) AS shown"
            order = "shown ASC, WEIGHT() DESC"
        else:
            order = "published DESC, WEIGHT() DESC"
        columns += ", " + ", ".join(_PREFERRED)       # last: read from the end
        options = f"max_matches={max(limit, 1)}"
        if m is not None:
            options += f", ranker={RANKER}, idf='plain,tfidf_unnormalized'"
        return (f"SELECT {columns} FROM {self.index} "
                f"WHERE {self._where(req, match)} ORDER BY {order} LIMIT {max(limit, 1)} "
                f"OPTION {options}", ())

    def _rank(self, rows: dict, m: Matching | None, scope: _Scope, public_only: bool,
              req: SearchRequest, empty: bool, prefer=(), question: ParsedQuery | None = None
              ) -> list[tuple[int, float]]:
        """``(number, score)`` best first, ordered as the embedded engine orders; ``prefer``:
        ``(predicate of the preferred columns, factor)`` (see :func:`_preferences`);
        ``question``: a long question, for the embedded engine's second look."""
        scores: dict[int, tuple[float, bool]] = {}
        if m is not None and rows:
            df = self._doc_frequencies([m.clause_match(c) for c in range(len(m.clauses))],
                                       public_only)
            for number, row in rows.items():
                lengths = dict(zip(schema.SCORED, row[3:3 + len(_LENGTHS)]))
                value, hits = score(m, frequencies(row[3 + len(_LENGTHS)]), lengths,
                                    scope.stats, df)
                preferred = row[-len(_PREFERRED):]
                for wanted, factor in prefer:
                    if wanted(*preferred):
                        value *= factor
                scores[number] = (value, bool(m.all_of) and all(hits[c] for c in m.all_of))
            if any(all_hit for _, all_hit in scores.values()):
                top = max(v for v, _ in scores.values())
                scores = {n: (v + top if a else v, a) for n, (v, a) in scores.items()}
            if question is not None:
                scores = self._second_look(scores, question)
        ids = {number: row[2] for number, row in rows.items()}
        missing = math.inf

        def key(number):
            value = scores.get(number, (0.0, False))[0]
            published = rows[number][1]
            if req.sort == "date_asc":
                return (published if published != schema.MISSING_DATE else missing, -value,
                        ids[number])
            if req.sort == "date" or empty:
                return (-published, -value, ids[number])
            return (-value, -published, ids[number])

        return [(n, scores.get(n, (0.0, False))[0]) for n in sorted(rows, key=key)]

    def _second_look(self, scores: dict, question: ParsedQuery) -> dict:
        """The embedded engine's second look at a long question (:func:`rerank.look_again`):
        proximity and the kind of answer asked for, over the stored fields of the best."""
        numbers = list(scores)
        values = np.array([scores[n][0] for n in numbers], dtype=np.float64)
        matched = np.ones(len(numbers), dtype=bool)
        best = rerank.top_documents(values, matched, max(query.PROXIMITY_DOCS, query.KIND_DOCS))
        stored = self._stored([numbers[i] for i in best])   # one round trip for both looks

        class Rows:         # what the second look reads of a collection: stored fields
            def stored(self, i):
                return stored.get(numbers[i], {})

        values = rerank.look_again(Rows(), values, matched, question)
        return {n: (float(values[i]), scores[n][1]) for i, n in enumerate(numbers)}

    def _stored(self, numbers: list[int]) -> dict[int, dict]:
        """Stored fields of the documents numbered ``numbers`` (kept per generation: shared,
        never to be changed)."""
        out, missing = {}, []
        for number in numbers:
            found, fields = self.cache.get("stored", number)
            if found:
                out[number] = fields
            else:
                missing.append(number)
        token = self._token()
        for number, text in self._column("stored", missing).items():
            out[number] = fields = stored_fields(text)
            self.cache.put("stored", number, fields, token)
        return out

    def _column(self, column: str, numbers: list[int]) -> dict:
        """``{number: value of column}`` for the documents numbered ``numbers`` (one round
        trip; a number no shard answers for is left out)."""
        if not numbers:
            return {}
        rows = self._select(f"SELECT id, {column} FROM {self.index} WHERE id IN "
                            f"({', '.join(map(str, numbers))}) LIMIT {len(numbers)} "
                            f"OPTION max_matches={len(numbers)}")
        return dict(rows)

    def _select(self, sql: str) -> list:
        results, _ = self._run([(sql, ()), ("SHOW META", ())])
        return results[0]

    def select_kept(self, kind: str, sql: str) -> list:
        """The rows of ``sql``, kept for this generation (``kind``: a kind of
        :data:`cache.LIMITS`)."""
        return self._kept(kind, sql, lambda: self._select(sql))

    def _facets(self, results: list, req: SearchRequest, scope: _Scope) -> dict:
        """Facet counts as the embedded engine gives them (same order, same labels)."""
        facets = {name: [] for name in FACETS}        # a facet the cluster lacks stays empty
        for i, name in enumerate(_KNOWN_FACETS):
            counts = {row[0]: int(row[1]) for row in results[2 * i] if row[0]}
            labels = scope.labels.get(name, {})
            selected = filter_values(getattr(req, name, None))
            key = (lambda v: int(v)) if name == "year" else schema.code
            chosen = {key(v) for v in selected}
            items = {}
            for value, count in counts.items():
                label = value if name == "year" else labels.get(value)
                if label is not None:
                    items[label] = (count, value in chosen)
            for value in selected:
                if not counts.get(key(value)):
                    items[value] = (0, True)
            order = (sorted(items.items(), key=lambda kv: -int(kv[0])) if name == "year" else
                     sorted(items.items(), key=lambda kv: (-kv[1][0], str(kv[0]))))
            facets[name] = [{"value": v, "count": c, "selected": s} for v, (c, s) in order]
        return facets

    # -- documents ----------------------------------------------------------------------------
    def get_document(self, doc_id: str, include_internal: bool = False) -> dict | None:
        rows = self._select(f"SELECT doc_id, stored, public FROM {self.index} WHERE "
                            f"id = {schema.doc_number(doc_id)}")
        if not rows or rows[0][0] != doc_id or (not rows[0][2] and not include_internal):
            return None
        return _public_fields(stored_fields(rows[0][1]))

    def more_like_this(self, doc_id: str, limit: int = 5,
                       include_internal: bool = False) -> list[Hit]:
        """Documents sharing the most distinctive syllables with ``doc_id`` (as embedded)."""
        self._begin()
        doc = self.get_document(doc_id, include_internal=True)
        if doc is None:
            return []
        public_only = not include_internal
        scope = self._scope(public_only)
        text = doc.get("title", "") + "\n" + doc.get("body", "")
        plan = related_plan(text, scope.stats.size, self._body_frequency(text, public_only))
        if not plan.clauses:
            return []
        m = matching(plan)
        req = SearchRequest(include_internal=include_internal, facets=False)
        results, _ = self._run([self._candidates_sql(req, m.any_of(), CANDIDATES, True, m),
                                ("SHOW META", ())])
        rows = {r[0]: r for r in results[0] if r[0] != schema.doc_number(doc_id)}
        ranked = self._rank(rows, m, scope, public_only, req, False)[:limit]   # best first
        stored = self._stored([n for n, _ in ranked])
        return [SearchEngine._hit(stored[n], v, snippet=False) for n, v in ranked if n in stored]

    def _body_frequency(self, text: str, public_only: bool):
        """The ``doc_frequency`` of :func:`related_plan` for ``text``, its questions asked at
        once: a first pass records which terms related_plan asks about (its own filter of
        the text's syllables, not a copy of it)."""
        asked: list[str] = []
        related_plan(text, 1, lambda fieldname, term: asked.append(term) or 0)
        counts = dict(zip(asked, self._doc_frequencies(
            [schema.keyword("body_f", t) for t in asked], public_only)))
        return lambda fieldname, term: counts.get(term, 0)

    def latest(self, limit: int = 5, include_internal: bool = False, **filters) -> list[Hit]:
        req = SearchRequest(per_page=limit, facets=False, include_internal=include_internal,
                            snippets=False, **filters)
        return self.search(req).hits

    def facet_overview(self, include_internal: bool = False) -> dict:
        req = SearchRequest(include_internal=include_internal, per_page=1)
        return self.search(req).facets

    # -- suggestions --------------------------------------------------------------------------
    def did_you_mean(self, parsed: ParsedQuery, include_internal: bool = False) -> str | None:
        """The query as the collection writes it (see :mod:`search_service.cluster.suggest`)."""
        self._begin()
        return self._correction(parsed, not include_internal)

    def complete(self, prefix: str, limit: int = 8, include_internal: bool = False) -> list[dict]:
        """Document numbers, types and categories, and titles that complete ``prefix``."""
        self._begin()
        return completions(self, prefix, limit, include_internal)

    def suggest(self, prefix: str, limit: int = 8, include_internal: bool = False) -> list[str]:
        return [item["text"] for item in self.complete(prefix, limit, include_internal)
                if item["kind"] == "document"]


def _match_text(m: Matching, parsed: ParsedQuery, required: str = "") -> str:
    """The MATCH of a plan: any keyword, quoted phrases required, excluded words out (a plan
    left without a clause, as titles only may leave one, matches nothing)."""
    parts = [m.any_of() if m.clauses else NOTHING]
    if required:
        parts.append(required)
    for phrase in parsed.phrases:
        words = [f for _, f in phrase]
        parts.append('("' + " ".join(schema.keyword("body_f", w) for w in words) + '" | "'
                     + " ".join(schema.keyword("title_f", w) for w in words) + '")')
    for word in parsed.excluded:
        parts.append(f"-{schema.keyword('body_f', word)} -{schema.keyword('title_f', word)}")
    return " ".join(parts)



def _rows(results: list) -> dict:
    """``{number: row}`` of the candidate statements' results (each followed by its meta)."""
    return {row[0]: row for rows in results[::2] for row in rows}


def _scored(parsed: ParsedQuery, req: SearchRequest) -> bool:
    """Whether the words rank (as search.engine: an empty query lists by date, except a
    number typed with scope=number)."""
    return not parsed.empty or (req.scope == "number" and bool(req.q.strip()))


def _preferences(parsed: ParsedQuery, req: SearchRequest) -> list:
    """The type, issuer and year the query names, as the embedded engine prefers them
    (search.engine._preferences): predicates of ``(doc_type_code, issuer, year)``."""
    intent, prefer = parsed.intent, []
    if req.scope == "number":
        return prefer
    if intent.doc_type:
        wanted = schema.code(intent.doc_type)
        prefer.append((lambda t, i, y: t == wanted, query.TYPE_PREFERENCE))
    if intent.issuer:
        prefer.append((lambda t, i, y: bool(i) and issuer_matches(i, intent.issuer),
                       query.ISSUER_PREFERENCE))
    if intent.year:
        prefer.append((lambda t, i, y: y == int(intent.year), query.YEAR_PREFERENCE))
    return prefer


def _labels(rows) -> dict[int, str]:
    """Per value code, the form most documents write (not in capitals when another exists)."""
    best: dict[int, tuple] = {}
    for form, value_code, count in rows:
        if not form:
            continue
        rank = (-int(count), str(form).isupper(), str(form))
        if value_code not in best or rank < best[value_code][0]:
            best[value_code] = (rank, form)
    return {value_code: form for value_code, (_, form) in best.items()}
