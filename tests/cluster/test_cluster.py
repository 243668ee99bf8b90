"""The cluster backend against real searchd daemons on loopback (Debian's sphinxsearch).

One cluster for the module: two shards, two mirrors each, a coordinator; the web corpus is
ingested into it and into an embedded index, and both engines must answer alike. Daemons are
killed on purpose below and always stopped at the end.
"""

from __future__ import annotations

import signal
import threading
import time

import pytest

from conftest import (INTERNAL_IDS, KIND_DOCUMENTS, KIND_QUESTION, SECRET_WORDS, STAFF_USERS,
                      write_web_corpus)
from search_service.cluster import local
from search_service.search import SearchRequest
from search_service.search.query import parse_query

pytestmark = pytest.mark.skipif(local.searchd_path() is None,
                                reason="searchd is not installed (apt-get install sphinxsearch)")

# Typed without diacritics, with a typo, with a wrong tone: what "did you mean" answers.
SUGGEST_QUERIES = ["phuong", "phong chay chua chay", "ho nghoe", "tiem chung", "tiem chumg",
                   "phòng chấy", "van ban chi dao", "hoc sinh", "tram y te",
                   "giay phep xay dung", "thong bao lich tiep dan", "ủy ban nhân dân",
                   "sen hong", "uy ban nhan dan"]
QUERIES = ["phong chay", "phòng cháy chữa cháy", "15-NQ/ĐU", "123/QĐ-UBND", "hộ nghèo",
           "ke hoach dau tu cong", '"trật tự đô thị"', "quyết định -nghèo", "tiêm chủng",
           # a type, issuer or year named in the query is preferred (not filtered)
           "uy ban nhan dan", "quyết định 2024", "nghị quyết đảng ủy", "ubnd phuong",
           "kế hoạch năm 2022"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cluster")
    started = local.up(folder, shards=2, port=local.free_port())
    try:
        yield started
    finally:
        local.down(folder)


@pytest.fixture(scope="module")
def engines(cluster, web_index, tmp_path_factory):
    """``(embedded, cluster)`` engines over the same documents."""
    from search_service.cluster import cluster_target, engine_for
    from search_service.ingest.pipeline import ingest_paths

    corpus = write_web_corpus(tmp_path_factory.mktemp("web") / "corpus")
    settings = {"BACKEND": cluster.url, "INDEX_DIR": str(web_index), "NEWS_TYPES": None}
    summary = ingest_paths(tmp_path_factory.mktemp("unused"), [corpus],
                           target=cluster_target(settings))
    assert summary.failed == 0, summary.to_json()
    embedded = engine_for({**settings, "BACKEND": "embedded"})
    clustered = engine_for(settings)
    clustered.refresh()
    yield embedded, clustered
    embedded.close()
    clustered.close()


def _ids(result):
    return [hit.id for hit in result.hits]


@pytest.mark.parametrize("q", QUERIES)
@pytest.mark.parametrize("internal", [False, True])
def test_same_results_and_facets_as_embedded(engines, q, internal):
    embedded, clustered = engines
    req = SearchRequest(q=q, include_internal=internal)
    ours, theirs = embedded.search(req), clustered.search(req)
    assert (theirs.total, theirs.facets) == (ours.total, ours.facets)
    assert _ids(theirs) == _ids(ours)
    assert theirs.suggested_filters == ours.suggested_filters
    assert not theirs.partial


@pytest.mark.parametrize("filters", [{"doc_type": "Quyết định"}, {"year": 2023},
                                     {"category": "VĂN BẢN CHỈ ĐẠO, ĐIỀU HÀNH"},
                                     {"sort": "date"}, {"sort": "date_asc"}, {"news_only": True}])
def test_filters_and_sorts_match_embedded(engines, filters):
    embedded, clustered = engines
    req = SearchRequest(q="phường", per_page=20, **filters)
    ours, theirs = embedded.search(req), clustered.search(req)
    assert (theirs.total, theirs.facets, _ids(theirs)) == (ours.total, ours.facets, _ids(ours))


@pytest.mark.parametrize("q", ["tiêm chủng năm 2023", "ủy ban nhân dân phường"])
def test_news_only_with_a_year_or_an_issuer_in_the_words_matches_embedded(engines, q):
    """The words name a year or an issuer, so the filters they suggest are counted too: over
    news only, those counts once asked the cluster for a column no statement selected."""
    embedded, clustered = engines
    req = SearchRequest(q=q, per_page=20, news_only=True)
    ours, theirs = embedded.search(req), clustered.search(req)
    assert (theirs.total, theirs.facets, _ids(theirs)) == (ours.total, ours.facets, _ids(ours))
    assert theirs.suggested_filters == ours.suggested_filters


@pytest.mark.parametrize("scope,q", [("title", "phòng cháy"), ("title", "ke hoach"),
                                     ("title", "sen hong"), ("title", "123/QĐ-UBND"),
                                     ("number", "123/QĐ-UBND"), ("number", "phòng cháy"),
                                     ("number", "45"), ("number", "123/QĐ")])
@pytest.mark.parametrize("internal", [False, True])
def test_search_scopes_match_embedded(engines, scope, q, internal):
    embedded, clustered = engines
    req = SearchRequest(q=q, scope=scope, include_internal=internal)
    ours, theirs = embedded.search(req), clustered.search(req)
    assert (theirs.total, theirs.facets, _ids(theirs)) == (ours.total, ours.facets, _ids(ours))


@pytest.mark.parametrize("q", ["kế hoạch 45", "quyết định 45", "kế hoạch 45 phòng cháy",
                               "uy ban nhan dan", "kế hoạch năm 2022",
                               # long questions: the second look at how close the words are
                               "thông báo của ubnd phường về lịch tiếp công dân như thế nào",
                               "người dân cần làm gì để phòng cháy chữa cháy tại khu dân cư"])
def test_bare_numbers_and_named_parts_score_as_embedded(engines, q):
    """A bare number's keys (from the lexicon) and the type, issuer, year a query names
    weigh as they do embedded: same scores, not only the same order."""
    embedded, clustered = engines
    req = SearchRequest(q=q, include_internal=True)
    ours, theirs = embedded.search(req), clustered.search(req)
    assert [(h.id, h.score) for h in theirs.hits] == [(h.id, h.score) for h in ours.hits]


def test_overview_latest_and_documents_match_embedded(engines):
    embedded, clustered = engines
    assert clustered.facet_overview() == embedded.facet_overview()
    assert [h.id for h in clustered.latest(limit=5)] == [h.id for h in embedded.latest(limit=5)]
    assert clustered.get_document("qd-123-2024") == embedded.get_document("qd-123-2024")


def test_internal_documents_are_invisible_to_residents(engines):
    _, clustered = engines
    assert clustered.search(SearchRequest(q=SECRET_WORDS)).total == 0
    assert clustered.search(SearchRequest(q=SECRET_WORDS, include_internal=True)).total >= 1
    for doc_id in INTERNAL_IDS:
        assert clustered.get_document(doc_id) is None
        assert clustered.get_document(doc_id, include_internal=True)["id"] == doc_id
    everything = clustered.search(SearchRequest(per_page=100))
    assert not set(INTERNAL_IDS) & set(_ids(everything))


def test_number_and_accent_queries(engines):
    _, clustered = engines
    assert _ids(clustered.search(SearchRequest(q="123-QĐ/UBND")))[0] == "qd-123-2024"
    assert "kh-45-2022" in _ids(clustered.search(SearchRequest(q="phong chay")))


@pytest.mark.parametrize("q", SUGGEST_QUERIES)
@pytest.mark.parametrize("internal", [False, True])
def test_did_you_mean_matches_embedded(engines, q, internal):
    embedded, clustered = engines
    req = SearchRequest(q=q, include_internal=internal)
    assert clustered.search(req).did_you_mean == embedded.search(req).did_you_mean
    parsed = parse_query(q)
    assert (clustered.did_you_mean(parsed, include_internal=internal)
            == embedded.did_you_mean(parsed, include_internal=internal))


def test_did_you_mean_is_offered_on_the_cluster(engines):
    """Not None everywhere: restored diacritics and fixed typos are offered, only from what
    the reader may see, and only when the corrected query's first page differs."""
    _, clustered = engines
    assert clustered.search(SearchRequest(q="phuong")).did_you_mean == "phường"
    assert clustered.search(SearchRequest(q="ho nghoe")).did_you_mean == "hộ nghệ"
    assert clustered.search(SearchRequest(q="phong chay")).did_you_mean is None   # same page
    assert clustered.did_you_mean(parse_query("phong chay")) == "phòng cháy"
    assert clustered.search(SearchRequest(q="15-NQ/ĐU")).did_you_mean is None
    # The internal documents' codename is never offered to a resident.
    assert "hồng" not in (clustered.did_you_mean(parse_query("sen hong")) or "")
    assert clustered.did_you_mean(parse_query("sen hong"), include_internal=True) == "sen hồng"


def _searching(engine, stop, failures, partial):
    while not stop.is_set():
        try:
            result = engine.search(SearchRequest(q="phòng cháy chữa cháy"))
            partial.append(result.partial)
        except Exception as exc:  # noqa: BLE001 - every failure is the test's business
            failures.append(exc)


def test_a_mirror_killed_while_serving_fails_no_request(cluster, engines):
    _, clustered = engines
    expected = clustered.search(SearchRequest(q="phòng cháy chữa cháy")).total
    stop, failures, partial = threading.Event(), [], []
    worker = threading.Thread(target=_searching, args=(clustered, stop, failures, partial))
    worker.start()
    try:
        time.sleep(0.3)
        local.stop(cluster.daemon("shard0-a"), signal.SIGKILL)
        time.sleep(1.0)
        after = clustered.search(SearchRequest(q="phòng cháy chữa cháy"))
    finally:
        stop.set()
        worker.join(10)
        local.start(cluster.daemon("shard0-a"))
        local.wait_until_answering([cluster.daemon("shard0-a")])
    assert failures == [] and not any(partial) and len(partial) >= 3
    assert (after.total, after.partial) == (expected, False)


def test_a_shard_without_live_copy_gives_partial_results(cluster, engines, make_app):
    _, clustered = engines
    full = clustered.search(SearchRequest(q="phường", per_page=50)).total
    shard = [cluster.daemon("shard1-a"), cluster.daemon("shard1-b")]
    try:
        for daemon in shard:
            local.stop(daemon, signal.SIGKILL)
        result = clustered.search(SearchRequest(q="phường", per_page=50))
        client = make_app(BACKEND=cluster.url).test_client()
        response = client.get("/api/search?q=phuong")
    finally:
        for daemon in shard:
            local.start(daemon)
        local.wait_until_answering(shard)
    assert result.partial and 0 < result.total < full
    assert result.notice.startswith("Một phần dữ liệu")
    assert response.status_code == 200 and response.get_json()["partial"] is True


def test_cluster_down_is_a_503_then_recovers(cluster, make_app):
    app = make_app(BACKEND=cluster.url, STAFF_USERS=STAFF_USERS)
    client = app.test_client()
    assert client.get("/api/search?q=phuong").status_code == 200
    coordinator = cluster.daemon("coordinator")
    try:
        local.stop(coordinator, signal.SIGKILL)
        api = client.get("/api/search?q=phuong")
        page = client.get("/search?q=phuong")
        home = client.get("/")
    finally:
        local.start(coordinator)
        local.wait_until_answering([coordinator])
    assert api.status_code == 503
    assert api.get_json()["error"]["code"] == "backend_unavailable"
    assert page.status_code == home.status_code == 503
    assert "thử lại sau" in page.get_data(as_text=True)
    assert client.get("/api/search?q=phuong").status_code == 200


def test_local_cluster_commands(tmp_path):
    from click.testing import CliRunner

    from search_service.cli import main

    port = local.free_port()
    runner = CliRunner()
    try:
        up = runner.invoke(main, ["local-cluster", "up", "--dir", str(tmp_path), "--shards", "1",
                                  "--port", str(port)])
        assert up.exit_code == 0, up.output
        assert up.stdout.strip() == f"sphinxql://127.0.0.1:{port}/ward"
    finally:
        down = runner.invoke(main, ["local-cluster", "down", "--dir", str(tmp_path)])
    assert down.exit_code == 0
    assert down.stdout.startswith("stopped 3 daemons")
    assert not any(local._alive(d) for d in local.LocalCluster.load(tmp_path).daemons)


# -- readiness and generations ------------------------------------------------------------------


def _kill(daemons):
    for daemon in daemons:
        local.stop(daemon, signal.SIGKILL)


def _restart(daemons):
    for daemon in daemons:
        local.start(daemon)
    local.wait_until_answering(daemons)


def _serving_again(engine, seconds=10.0):
    deadline = time.monotonic() + seconds
    while (reason := engine.serving()) is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    return reason


def _whole(engine, seconds=10.0):
    """A snapshot of every shard (a loaded machine may miss an agent's deadline once: that
    snapshot says -1, by design, and the next one is whole)."""
    deadline = time.monotonic() + seconds
    while not (snap := engine.snapshot()).complete and time.monotonic() < deadline:
        time.sleep(0.1)
    return snap


def test_cluster_serves_while_each_shard_has_a_live_mirror(cluster, engines):
    embedded, clustered = engines
    snap = _whole(clustered)
    assert _serving_again(clustered) is None
    assert snap.complete and snap.generation > 0
    assert snap.doc_count == embedded.snapshot().doc_count
    shard = [cluster.daemon("shard1-a"), cluster.daemon("shard1-b")]
    try:
        _kill(shard[:1])
        one_mirror = clustered.serving()
        _kill(shard[1:])
        no_mirror, without = clustered.serving(), clustered.snapshot()
    finally:
        _restart(shard)
    assert one_mirror is None
    assert no_mirror and "no live mirror" in no_mirror
    assert (without.complete, without.generation) == (False, -1)     # never tagged as whole
    assert _serving_again(clustered) is None
    assert _whole(clustered).generation == snap.generation


def _write(cluster, delete: bool = False, documents=None):
    """Write (or delete) documents through the cluster writer, as ingestion does (by default
    one notice)."""
    from search_service.cluster.sphinxql import parse_backend
    from search_service.cluster.writer import ClusterTarget

    documents = documents or [{"id": "tam-thoi-1", "title": "Thông báo tạm thời",
                               "body": "Phường thử ghi một văn bản."}]
    writer = ClusterTarget(parse_backend(cluster.url)).writer()
    for doc in documents:
        if delete:
            writer.delete_by_term("id", doc["id"])
        else:
            writer.update_document(id=doc["id"], title=doc["title"], body=doc["body"],
                                   visibility="public")
    writer.commit()


def test_the_second_look_weighs_the_kind_of_answer_asked_for(cluster, engines, monkeypatch):
    """The cluster ranks a long question as the embedded engine does: a heading opening with
    another kind of rule than the one asked for ("Thủ tục …" for "những yêu cầu gì") weighs
    less, and without that the text repeating the subject would come first."""
    from search_service.search import query

    _, clustered = engines
    try:
        _write(cluster, documents=KIND_DOCUMENTS)
        clustered.refresh()
        first = _ids(clustered.search(SearchRequest(q=KIND_QUESTION)))[:1]
        monkeypatch.setattr(query, "KIND_PENALTY", 0.0)
        # another request: the cluster keeps each request's answer for its generation
        without = _ids(clustered.search(SearchRequest(q=KIND_QUESTION, per_page=11)))[:1]
    finally:
        _write(cluster, delete=True, documents=KIND_DOCUMENTS)
        clustered.refresh()
    assert (first, without) == (["tieu-chuan"], ["thu-tuc"])


def test_generation_grows_with_every_cluster_write(cluster, engines):
    _, clustered = engines
    before = _whole(clustered)
    try:
        _write(cluster)
        written = _whole(clustered)
    finally:
        _write(cluster, delete=True)
        clustered.refresh()
    deleted = _whole(clustered)
    assert written.generation > before.generation
    assert written.doc_count == before.doc_count + 1
    assert deleted.generation > written.generation and deleted.doc_count == before.doc_count
    assert deleted.committed_at and abs(deleted.committed_at - time.time()) < 60


def test_readyz_of_a_cluster_backed_app(cluster, engines, make_app, tmp_path):
    from search_service.web import ops

    _, clustered = engines
    app = make_app(BACKEND=cluster.url, INDEX_DIR=str(tmp_path))    # no index folder
    ops.warm(app)
    client = app.test_client()
    ready = client.get("/readyz")
    shard = [cluster.daemon("shard0-a"), cluster.daemon("shard0-b")]
    try:
        _kill(shard)
        down = client.get("/readyz")
    finally:
        _restart(shard)
    assert _serving_again(clustered) is None
    assert ready.status_code == 200, ready.get_json()
    assert ready.get_json()["generation"] == clustered.snapshot().generation
    assert ready.get_json()["documents"] == clustered.snapshot().doc_count
    assert down.status_code == 503
    assert client.get("/readyz").status_code == 200


def test_etag_changes_after_a_cluster_write(cluster, engines, make_app, tmp_path):
    _, clustered = engines
    client = make_app(BACKEND=cluster.url, INDEX_DIR=str(tmp_path)).test_client()
    url = "/api/search?q=phuong"
    first = client.get(url)
    etag = first.headers.get("ETag")
    assert first.status_code == 200 and etag
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    try:
        _write(cluster)
        after = client.get(url, headers={"If-None-Match": etag})
    finally:
        _write(cluster, delete=True)
        clustered.refresh()
    assert after.status_code == 200 and after.headers.get("ETag") not in (None, etag)
    assert client.get(url, headers={"If-None-Match": after.headers["ETag"]}).status_code == 200


def test_a_write_by_another_process_is_searched_within_the_generation_check(cluster, engines):
    """What a cluster engine keeps (counts, corrections, stored fields) is kept per
    generation: a document another writer adds is found, and its words corrected to, once
    the generation is asked again (at most GENERATION_SECONDS later), without a refresh."""
    from search_service.cluster.cache import GENERATION_SECONDS

    _, clustered = engines
    req = SearchRequest(q="thông báo tạm thời")
    before = clustered.search(req)
    assert clustered.search(req).total == before.total      # answered from what is kept
    assert clustered.did_you_mean(parse_query("tam thoi")) != "tạm thời"     # none has it
    try:
        _write(cluster)                                       # not through this engine
        time.sleep(GENERATION_SECONDS + 0.05)
        after = clustered.search(req)
        deadline = time.monotonic() + 5      # a loaded machine may miss one agent deadline
        while (after.partial or "tam-thoi-1" not in _ids(after)) and time.monotonic() < deadline:
            time.sleep(0.1)
            after = clustered.search(req)
        corrected = clustered.did_you_mean(parse_query("tam thoi"))
    finally:
        _write(cluster, delete=True)
    assert "tam-thoi-1" in _ids(after) and after.total == before.total + 1
    assert corrected == "tạm thời"
    time.sleep(GENERATION_SECONDS + 0.05)
    assert "tam-thoi-1" not in _ids(clustered.search(req))


def test_reindex_moves_the_library_onto_a_cluster(library, tmp_path):
    """``reindex`` with SEARCH_BACKEND naming a cluster rebuilds the cluster from the library
    (how a city moves from the embedded index to a cluster): every document of the library is
    searchable there as in the embedded index, one the library does not hold is deleted, and
    internal documents stay invisible to residents."""
    from click.testing import CliRunner

    from search_service.cli import main
    from search_service.cluster import engine_for
    from search_service.cluster.sphinxql import parse_backend
    from search_service.cluster.writer import ClusterTarget
    from search_service.ingest.pipeline import ingest_paths

    index = tmp_path / "index"
    assert ingest_paths(index, [write_web_corpus(tmp_path / "corpus")],
                        library=library).failed == 0
    held = sum(1 for _ in library.iter_documents())
    folder = tmp_path / "cluster"
    own = local.up(folder, shards=2, port=local.free_port())
    try:
        writer = ClusterTarget(parse_backend(own.url)).writer()
        writer.update_document(id="cu-khong-con", title="Văn bản cũ đã bỏ",
                               body="Một văn bản thư viện không còn giữ.", visibility="public")
        writer.commit()
        done = CliRunner().invoke(main, ["reindex", "--library", str(library.folder)],
                                  env={"SEARCH_BACKEND": own.url})
        assert done.exit_code == 0, done.output
        settings = {"BACKEND": own.url, "INDEX_DIR": str(index), "NEWS_TYPES": None}
        embedded = engine_for({**settings, "BACKEND": "embedded"})
        clustered = engine_for(settings)
        try:
            clustered.refresh()
            snap = _whole(clustered)
            assert snap.doc_count == embedded.snapshot().doc_count == held
            assert f"reindexed {held} documents into the cluster" in done.output
            for q in ["phong chay", "hộ nghèo", "15-NQ/ĐU", "van ban cu da bo"]:
                req = SearchRequest(q=q, include_internal=True)
                assert _ids(clustered.search(req)) == _ids(embedded.search(req)), q
            assert clustered.search(SearchRequest(q="văn bản cũ đã bỏ")).total == \
                embedded.search(SearchRequest(q="văn bản cũ đã bỏ")).total
            assert "cu-khong-con" not in _ids(clustered.search(
                SearchRequest(q="văn bản cũ đã bỏ", include_internal=True)))
            assert clustered.search(SearchRequest(q=SECRET_WORDS)).total == 0
            assert set(INTERNAL_IDS) <= set(_ids(clustered.search(
                SearchRequest(q=SECRET_WORDS, include_internal=True))))
        finally:
            embedded.close()
            clustered.close()
    finally:
        local.down(folder)
