"""Serving a whole ward: probes, access log, rate and depth limits, ETags, and the real server
(`serve --workers 2` on one port, SIGTERM finishing a request in flight)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import INTERNAL_IDS, PUBLIC_COUNT, WEB_DOCUMENTS, WEB_NEWS, RealServer

VISITOR = {"REMOTE_ADDR": "203.0.113.7"}        # a documentation address: not exempt
OTHER_VISITOR = {"REMOTE_ADDR": "198.51.100.4"}
ALL_DOCUMENTS = len(WEB_DOCUMENTS) + len(WEB_NEWS) + 1


def _wait_until(condition, seconds: float, step: float = 0.05):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    return condition()


@pytest.fixture
def warm_app(make_app):
    from search_service.web import ops

    app = make_app()
    ops.warm(app)
    return app


@pytest.fixture
def own_index(web_index, tmp_path) -> Path:
    """A copy of the web index that a test may change."""
    return Path(shutil.copytree(web_index, tmp_path / "index"))


# -- probes -----------------------------------------------------------------------------------
def test_healthz_answers_without_opening_the_index(make_app):
    app = make_app()
    response = app.test_client().get("/healthz")
    assert (response.status_code, response.get_json()) == (200, {"status": "ok",
                                                                 "pid": os.getpid()})
    assert not app.extensions["readiness"].warmed.is_set()


def test_readyz_reports_the_generation_served(warm_app, web_index):
    body = warm_app.test_client().get("/readyz").get_json()
    assert body["status"] == "ready"
    assert (body["generation"], body["latest_generation_on_disk"]) == (1, 1)
    assert body["documents"] == ALL_DOCUMENTS
    committed = (web_index / "_documents_1.toc").stat().st_mtime
    assert body["committed_at"].startswith(
        time.strftime("%Y-%m-%dT%H:%M", time.gmtime(committed)))


def test_readyz_is_503_until_the_index_is_open_then_ready(make_app):
    client = make_app().test_client()
    first = client.get("/readyz")
    assert (first.status_code, first.get_json()["reason"]) == (503, "opening the index")
    ready = _wait_until(lambda: client.get("/readyz").status_code == 200, 30, step=0.1)
    assert ready


def test_readyz_is_503_when_the_index_folder_loses_its_index(make_app, own_index):
    from search_service.web import ops

    app = make_app(INDEX_DIR=str(own_index))
    ops.warm(app)
    assert app.test_client().get("/readyz").status_code == 200
    own_index.rename(own_index.with_name("moved-away"))     # an unmounted disk, say
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "not_ready", "pid": os.getpid(),
                                   "reason": "the index folder holds no index"}


# -- access log -------------------------------------------------------------------------------
def test_one_access_line_per_request_without_the_login_query(warm_app, caplog):
    caplog.set_level(logging.INFO, logger="search_service.access")
    client = warm_app.test_client()
    client.get("/api/search?q=ph%C3%B2ng+ch%C3%A1y", environ_base=VISITOR)
    client.get("/login?next=/search%3Fq%3Dbi-mat")
    client.get("/khong-co")
    lines = [json.loads(r.getMessage()) for r in caplog.records
             if r.name == "search_service.access"]
    for line in lines:
        assert line.pop("ms") >= 0
    assert lines == [
        {"method": "GET", "path": "/api/search?q=ph%C3%B2ng+ch%C3%A1y", "status": 200,
         "generation": 1, "client": "203.0.113.7", "pid": os.getpid()},
        {"method": "GET", "path": "/login", "status": 200, "generation": None,
         "client": "127.0.0.1", "pid": os.getpid()},
        {"method": "GET", "path": "/khong-co", "status": 404, "generation": None,
         "client": "127.0.0.1", "pid": os.getpid()},
    ]


# -- limits -----------------------------------------------------------------------------------
def test_searches_over_the_limit_get_429_with_retry_after_on_the_api_and_the_page(make_app):
    client = make_app(RATE_LIMIT="3 per minute").test_client()
    for url in ("/api/search?q=a", "/search?q=b", "/search.xml?q=c"):
        assert client.get(url, environ_base=VISITOR).status_code == 200
    api = client.get("/api/search?q=d", environ_base=VISITOR)
    assert api.status_code == 429
    assert 1 <= int(api.headers["Retry-After"]) <= 60
    assert api.get_json()["error"]["code"] == "too_many_requests"
    page = client.get("/search?q=d", environ_base=VISITOR)
    assert page.status_code == 429 and 1 <= int(page.headers["Retry-After"]) <= 60
    assert "Bạn gửi quá nhiều yêu cầu" in page.get_data(as_text=True)
    # Per client: another address, and this machine itself (exempt), are still served.
    assert client.get("/api/search?q=d", environ_base=OTHER_VISITOR).status_code == 200
    assert all(client.get("/api/search?q=e").status_code == 200 for _ in range(5))
    # Other pages do not count.
    assert client.get("/api/documents/qd-123-2024", environ_base=VISITOR).status_code == 200


def test_forwarded_addresses_count_only_behind_trusted_proxies(make_app):
    proxy = {"REMOTE_ADDR": "10.0.0.2"}

    def statuses(app, forwarded_for):
        client = app.test_client()
        return [client.get("/api/search?q=a", environ_base=proxy,
                           headers={"X-Forwarded-For": ip}).status_code for ip in forwarded_for]

    clients = ["203.0.113.1", "203.0.113.2", "203.0.113.3"]
    assert statuses(make_app(RATE_LIMIT="2 per minute"), clients) == [200, 200, 429]
    assert statuses(make_app(RATE_LIMIT="2 per minute", TRUSTED_PROXIES=1), clients) == \
        [200, 200, 200]


def test_a_bad_rate_limit_setting_is_named(make_app):
    with pytest.raises(ValueError, match="SEARCH_RATE_LIMIT"):
        make_app(RATE_LIMIT="often")


@pytest.mark.parametrize("query, status", [
    ("page=100&per_page=10", 200), ("page=10&per_page=100", 200),
    ("page=101&per_page=10", 400), ("page=11&per_page=100", 400)])
def test_pages_deeper_than_the_result_depth_are_refused(client, query, status):
    response = client.get("/api/search?q=ph%C6%B0%E1%BB%9Dng&" + query)
    assert response.status_code == status
    if status == 400:
        assert response.get_json()["error"]["parameter"] == "page"
        assert "at most 1000" in response.get_json()["error"]["message"]
        page = client.get("/search?q=ph%C6%B0%E1%BB%9Dng&" + query)
        assert page.status_code == 400
        assert "Chỉ xem được 1.000 kết quả đầu tiên" in page.get_data(as_text=True)


# -- caching ----------------------------------------------------------------------------------
def test_etag_304_then_a_new_etag_after_a_commit(make_app, own_index, tmp_path):
    from search_service.ingest.pipeline import ingest_paths
    from search_service.web import ops

    app = make_app(INDEX_DIR=str(own_index))
    ops.warm(app)
    client = app.test_client()
    url = "/api/search?q=ph%C3%B2ng+ch%C3%A1y"
    first = client.get(url)
    assert first.status_code == 200 and first.headers["Cache-Control"] == "no-cache"
    tag = first.headers["ETag"]
    assert tag.startswith('W/"')
    again = client.get(url, headers={"If-None-Match": tag})
    assert (again.status_code, again.data, again.headers["ETag"]) == (304, b"", tag)
    assert client.get(url + "&page=2", headers={"If-None-Match": tag}).status_code == 200
    assert client.get("/search?q=ph%C3%B2ng+ch%C3%A1y",
                      headers={"If-None-Match": tag}).status_code == 200

    news = tmp_path / "moi.jsonl"
    news.write_text(json.dumps({"id": "tb-moi", "title": "Thông báo phòng cháy mùa khô",
                                "body": "Phòng cháy chữa cháy mùa khô năm nay.",
                                "published": "2024-12-01"}, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    assert ingest_paths(own_index, [news]).failed == 0
    # Until the new generation is swapped in, the old one answers: 200, never a stale 304.
    fresh = _wait_until(lambda: (r := client.get(url, headers={"If-None-Match": tag}))
                        .status_code == 200 and r.get_json()["total"] > first.get_json()["total"]
                        and r, 10)
    assert fresh, "the new commit was not served within 10 s"
    assert fresh.get_json()["total"] == first.get_json()["total"] + 1
    assert fresh.headers["ETag"] not in (None, tag)
    assert client.get("/readyz").get_json()["generation"] == 2


def test_staff_get_their_own_etag_and_no_store(client, staff_client):
    url = "/api/search?q=ph%C3%B2ng+ch%C3%A1y"
    visitor, staff = client.get(url), staff_client.get(url)
    assert visitor.headers["ETag"] != staff.headers["ETag"]
    assert staff.headers["Cache-Control"] == "no-store"
    assert {h.strip() for h in staff.headers["Vary"].split(",")} >= {"Cookie"}
    # The visitor's tag never answers the staff member's request, and the reverse.
    assert staff_client.get(url, headers={"If-None-Match": visitor.headers["ETag"]}) \
        .status_code == 200
    assert client.get(url, headers={"If-None-Match": staff.headers["ETag"]}).status_code == 200
    assert set(INTERNAL_IDS) & {h["id"] for h in staff.get_json()["hits"]}
    assert visitor.get_json()["total"] < staff.get_json()["total"] <= PUBLIC_COUNT + 2


# -- the real server --------------------------------------------------------------------------
def test_serve_with_two_workers_answers_on_one_port_from_two_processes(web_index, tmp_path):
    server = RealServer(web_index, tmp_path / "server.log", workers=2)
    try:
        server.wait_ready()
        pids: set[int] = set()
        deadline = time.monotonic() + 30
        with ThreadPoolExecutor(8) as pool:
            while len(pids) < 2 and time.monotonic() < deadline:
                answers = list(pool.map(lambda _: server.get("/api/search?q=ph%C6%B0%E1%BB%9Dng"
                                                             "&facets=false"), range(16)))
                assert {status for status, _ in answers} == {200}
                pids |= {server.get("/healthz")[1]["pid"] for _ in range(4)}
                pids |= {pid for pid in pool.map(lambda _: server.get("/readyz")[1]["pid"],
                                                 range(8))}
        assert len(pids) == 2, pids
        parents = {int(Path(f"/proc/{pid}/status").read_text().split("PPid:")[1].split()[0])
                   for pid in pids}
        assert parents == {server.proc.pid}
    finally:
        server.kill()


def test_sigterm_lets_a_request_in_flight_finish(web_index, tmp_path):
    server = RealServer(web_index, tmp_path / "server.log", workers=1)
    try:
        server.wait_ready()
        with socket.create_connection(("127.0.0.1", server.port), timeout=20) as slow:
            # A slow client: half of the request now, the rest after SIGTERM.
            slow.sendall(b"GET /api/search?q=ph%C3%B2ng+ch%C3%A1y&facets=false HTTP/1.1\r\n")
            time.sleep(0.5)
            server.proc.send_signal(signal.SIGTERM)
            time.sleep(1.0)
            assert server.proc.poll() is None, "the server did not wait for the request"
            slow.sendall(b"Host: 127.0.0.1\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := slow.recv(65536):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        assert json.loads(body)["total"] >= 2
        assert server.proc.wait(30) == 0
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
    finally:
        server.kill()


def test_no_address_is_exempt_by_default(monkeypatch, make_app):
    """An operator's reverse proxy on the same machine must not exempt every visitor."""
    monkeypatch.delenv("SEARCH_RATE_LIMIT_EXEMPT")
    client = make_app(RATE_LIMIT="2 per minute").test_client()
    assert [client.get("/api/search?q=a").status_code for _ in range(3)] == [200, 200, 429]


# -- faults of the index's disk ---------------------------------------------------------------
READS = ["/api/search?q=ph%C3%B2ng+ch%C3%A1y", "/search?q=phong+chay", "/api/suggest?q=ph%C3%B2ng",
         "/api/documents/qd-123-2024", "/"]


def _snapshot_errors(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "search_service.search.snapshot" and r.levelno >= logging.ERROR]


def test_an_index_folder_moved_away_keeps_the_open_snapshot_answering(make_app, own_index,
                                                                      caplog):
    from search_service.web import ops

    app = make_app(INDEX_DIR=str(own_index))
    ops.warm(app)
    client = app.test_client()
    before = {url: client.get(url).get_data() for url in READS}
    moved = own_index.with_name("moved-away")
    own_index.rename(moved)                     # an unmounted disk, say
    for _ in range(3):
        for url in READS:
            response = client.get(url)
            assert response.status_code == 200, url
            if url.startswith("/api/search"):
                assert json.loads(response.data)["total"] == json.loads(before[url])["total"]
        time.sleep(0.25)                        # the generation check runs between requests
    assert client.get("/readyz").status_code == 503
    assert len(_snapshot_errors(caplog)) == 1, "the lost folder is logged once"
    moved.rename(own_index)
    assert _wait_until(lambda: client.get("/readyz").status_code == 200, 5)
    # Its files deleted for good: the snapshot holds them open and still answers.
    shutil.rmtree(own_index)
    assert all(client.get(url).status_code == 200 for url in READS)


def test_with_no_snapshot_a_missing_index_is_503_never_500_until_it_is_back(make_app, own_index,
                                                                           tmp_path):
    backup = Path(shutil.copytree(own_index, tmp_path / "backup"))
    app = make_app(INDEX_DIR=str(own_index))    # created, never searched: no snapshot yet
    client = app.test_client()
    shutil.rmtree(own_index)
    api = client.get(READS[0])
    assert api.status_code == 503 and int(api.headers["Retry-After"]) >= 1
    assert api.get_json()["error"]["code"] == "index_unavailable"
    assert str(own_index) not in api.get_data(as_text=True)     # no server path for visitors
    page = client.get(READS[1])
    assert page.status_code == 503
    text = page.get_data(as_text=True)
    assert "Tạm thời chưa tra cứu được" in text and "thử lại sau ít phút" in text
    assert str(own_index) not in text
    assert {client.get(url).status_code for url in READS} == {503}
    assert client.get("/readyz").status_code == 503
    shutil.copytree(backup, own_index)
    assert _wait_until(lambda: client.get(READS[0]).status_code == 200, 10)
    assert _wait_until(lambda: client.get("/readyz").status_code == 200, 10)


def test_a_damaged_new_generation_leaves_the_old_one_answering_and_readyz_not_ready(
        make_app, own_index, caplog):
    from search_service.web import ops

    app = make_app(INDEX_DIR=str(own_index))
    ops.warm(app)
    client = app.test_client()
    total = client.get(READS[0]).get_json()["total"]
    (own_index / "_documents_2.toc").write_bytes(b"\x00not a table of contents")
    not_ready = _wait_until(lambda: client.get("/readyz").status_code == 503, 10)
    assert not_ready and client.get("/readyz").get_json()["reason"] == \
        "the index cannot be read"
    for _ in range(20):
        response = client.get(READS[0])
        assert response.status_code == 200 and response.get_json()["total"] == total
        time.sleep(0.05)
    assert len(_snapshot_errors(caplog)) == 1, "tried again, but logged once"
    (own_index / "_documents_2.toc").unlink()
    assert _wait_until(lambda: client.get("/readyz").status_code == 200, 5)


def test_a_file_damaged_under_the_served_snapshot_is_503_not_500(make_app, own_index):
    from search_service.web import ops

    app = make_app(INDEX_DIR=str(own_index))
    ops.warm(app)
    client = app.test_client()
    assert client.get(READS[0]).status_code == 200
    for segment in own_index.glob("*.seg"):     # truncated in place: the open file shrinks
        with open(segment, "r+b") as handle:
            handle.truncate(segment.stat().st_size // 3)
    statuses = {url: client.get(url.replace("ph%C3%B2ng", "ti%C3%AAm")).status_code
                for url in READS}
    assert set(statuses.values()) <= {200, 404, 503} and 503 in statuses.values(), statuses
    assert client.get("/readyz").status_code == 503


def test_a_real_server_survives_its_index_folder_going_away(own_index, tmp_path):
    server = RealServer(own_index, tmp_path / "server.log", workers=1)
    try:
        server.wait_ready()
        status, first = server.get("/api/search?q=ph%C3%B2ng+ch%C3%A1y")
        assert status == 200
        own_index.rename(tmp_path / "moved")
        answers = []
        for _ in range(10):
            answers.append(server.get("/api/search?q=ph%C3%B2ng+ch%C3%A1y"))
            time.sleep(0.1)
        assert {status for status, _ in answers} == {200}
        assert {body["total"] for _, body in answers} == {first["total"]}
        assert server.get("/readyz")[0] == 503
        assert "\"status\": 500" not in server.log.read_text(errors="replace")
    finally:
        server.kill()


# -- completion's rate limit, and the OpenAPI description of 304 and 429 -----------------------
def test_completions_have_a_budget_of_their_own(make_app):
    client = make_app(RATE_LIMIT="3 per minute").test_client()
    url = "/api/suggest?q=ph%C3%B2ng"
    assert [client.get(url, environ_base=VISITOR).status_code for _ in range(3)] == [200] * 3
    over = client.get(url, environ_base=VISITOR)
    assert over.status_code == 429 and 1 <= int(over.headers["Retry-After"]) <= 60
    assert over.get_json()["error"]["code"] == "too_many_requests"
    # Typing did not use up the searches, nor another client's completions.
    assert client.get("/api/search?q=a", environ_base=VISITOR).status_code == 200
    assert client.get(url, environ_base=OTHER_VISITOR).status_code == 200
    # Nor the reverse: searches up to their limit leave completions alone.
    for _ in range(3):
        client.get("/api/search?q=b", environ_base=OTHER_VISITOR)
    assert client.get("/api/search?q=b", environ_base=OTHER_VISITOR).status_code == 429
    assert client.get(url, environ_base=OTHER_VISITOR).status_code == 200


READ_OPERATIONS = r"^/api/(search|suggest|documents/\{doc_id\})$"


def _schema_checks():
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (content_type_conformance,
                                                   response_headers_conformance,
                                                   response_schema_conformance,
                                                   status_code_conformance)
    return [not_a_server_error, status_code_conformance, content_type_conformance,
            response_schema_conformance, response_headers_conformance]


def test_304_429_and_503_answers_are_the_documented_ones(make_app, own_index):
    """Real 304, 429 and 503 answers of the read endpoints, checked by schemathesis against
    the OpenAPI document (status, content type, body and headers)."""
    schemathesis = pytest.importorskip("schemathesis")

    app = make_app(RATE_LIMIT="2 per minute", RATE_LIMIT_EXEMPT="",
                   INDEX_DIR=str(own_index))
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    cases = {"/api/search": {"query": {"q": "phòng cháy"}},
             "/api/suggest": {"query": {"q": "phòng"}},
             "/api/documents/{doc_id}": {"path_parameters": {"doc_id": "qd-123-2024"}}}
    seen: dict[str, set[int]] = {}
    for path, parts in cases.items():
        operation = schema[path]["GET"]
        first = operation.Case(**parts).call()
        assert first.status_code == 200
        tag = first.headers["etag"][0]          # schemathesis: lower-case names, value lists
        for _ in range(3):        # 304 while under the limit, then 429 (limited endpoints)
            case = operation.Case(**parts, headers={"If-None-Match": tag})
            response = case.call()
            case.validate_response(response, checks=_schema_checks())
            seen.setdefault(path, set()).add(response.status_code)
    assert seen == {"/api/search": {304, 429}, "/api/suggest": {304, 429},
                    "/api/documents/{doc_id}": {304}}

    app = make_app(INDEX_DIR=str(own_index))
    shutil.rmtree(own_index)          # before the app's first search: 503 everywhere
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    for path, parts in cases.items():
        case = schema[path]["GET"].Case(**parts)
        response = case.call()
        assert response.status_code == 503      # documented: all but "no 5xx" must hold
        case.validate_response(response, checks=_schema_checks()[1:])


def test_schemathesis_over_the_read_endpoints_with_the_rate_limit_on(make_app):
    """Generated requests to the read endpoints of a rate-limited app: once over the limit
    they get 429, which must be documented like every other answer."""
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings

    app = make_app(RATE_LIMIT="10 per minute", RATE_LIMIT_EXEMPT="")
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    statuses: set[int] = set()
    for result in schema.include(path_regex=READ_OPERATIONS, method="GET").get_all_operations():
        operation = result.ok()

        @settings(max_examples=25, deadline=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case):
            response = case.call()
            statuses.add(response.status_code)
            case.validate_response(response, checks=_schema_checks())
        run()
    assert 429 in statuses and statuses <= {200, 304, 400, 401, 404, 429}


def test_the_pager_never_links_past_the_result_depth(make_app):
    """With more results than SEARCH_MAX_RESULT_DEPTH, the last page offered is the deepest
    one allowed (its link answers 200), and the page says why there are no more."""
    from bs4 import BeautifulSoup

    client = make_app(MAX_RESULT_DEPTH=6).test_client()
    total = client.get("/api/search?per_page=2").get_json()["total"]
    assert total > 6
    answer = client.get("/api/search?per_page=2&page=3").get_json()
    assert answer["links"]["next"] is None and answer["links"]["previous"]
    html = BeautifulSoup(client.get("/search?per_page=2&page=2").get_data(as_text=True),
                         "html.parser")
    pager = html.select_one("nav.pagination")
    numbers = [a.get_text() for a in pager.select("a[aria-label], [aria-current=page]")]
    assert numbers == ["1", "2", "3"]
    for link in pager.select("a"):
        assert client.get(link["href"]).status_code == 200
    assert "Chỉ xem được 6 kết quả đầu tiên" in html.select_one(".pagination-limit").get_text()
    last = BeautifulSoup(client.get("/search?per_page=2&page=3").get_data(as_text=True),
                         "html.parser")
    assert last.select_one("nav.pagination a[rel=next]") is None


def test_answers_made_while_the_word_list_is_read_get_their_own_etag(make_app):
    """A new generation is served before its did-you-mean word list is complete; a browser
    must not keep (304) a page whose suggestion changes once the list is complete."""
    from search_service.web.caching import etag_for_request

    app = make_app()
    with app.test_request_context("/api/search?q=quynhh"):
        partial = etag_for_request(7, 1_700_000_000, "partial")
        complete = etag_for_request(7, 1_700_000_000, "complete")
        assert partial != complete
        assert complete == etag_for_request(7, 1_700_000_000)
