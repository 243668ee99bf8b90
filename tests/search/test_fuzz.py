"""Whatever the query string holds, the answer is a 200 or a clear 4xx: never a 500."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

# Plausible values mixed with anything at all: the parser must hold against both.
ANY_TEXT = st.text(max_size=60)
NUMBERS = st.integers(min_value=-10**20, max_value=10**20).map(str)
VALUES = {
    "q": st.one_of(ANY_TEXT, st.sampled_from(['"phòng cháy', "hoi nghi", "123/QĐ-UBND", "-",
                                              "NOT AND OR", "\x00", "x" * 1001])),
    "page": st.one_of(NUMBERS, ANY_TEXT, st.integers(1, 5).map(str)),
    "per_page": st.one_of(NUMBERS, ANY_TEXT, st.integers(1, 100).map(str)),
    "sort": st.one_of(ANY_TEXT, st.sampled_from(["relevance", "date", "date_asc"])),
    "type": st.one_of(ANY_TEXT, st.sampled_from(["Quyết định", "Kế hoạch"])),
    "category": ANY_TEXT,
    "issuer": ANY_TEXT,
    "year": st.one_of(NUMBERS, ANY_TEXT, st.integers(1890, 2110).map(str)),
    "from": st.one_of(ANY_TEXT, st.dates().map(str)),
    "to": st.one_of(ANY_TEXT, st.dates().map(str)),
    "facets": st.one_of(ANY_TEXT, st.sampled_from(["true", "false", "0", "1"])),
}
PARAMS = st.fixed_dictionaries({}, optional=VALUES)


@pytest.fixture(scope="module")
def fuzz_client(web_index):
    from search_service.web import create_app

    return create_app({"TESTING": True, "INDEX_DIR": str(web_index)}).test_client()


def _check(response, json_expected: bool):
    assert response.status_code in (200, 400), response.get_data(as_text=True)[:300]
    if json_expected:
        body = response.get_json()
        if response.status_code == 400:
            assert set(body["error"]) >= {"code", "message", "parameter"}
        else:
            assert isinstance(body["hits"], list)


@FUZZ
@given(params=PARAMS)
def test_api_search_never_fails(fuzz_client, params):
    _check(fuzz_client.get("/api/search", query_string=params), json_expected=True)


@FUZZ
@given(params=PARAMS, url=st.sampled_from(["/search", "/search.xml"]))
def test_ui_search_and_feed_never_fail(fuzz_client, params, url):
    _check(fuzz_client.get(url, query_string=params), json_expected=False)


@FUZZ
@given(raw=st.binary(max_size=80))
def test_raw_query_strings_never_fail(fuzz_client, raw):
    """Bytes that are not UTF-8, stray '%', '&' and '=' straight into the query string."""
    query = quote(raw, safe="&=%+")
    for path in ("/api/search", "/search", "/api/suggest"):
        response = fuzz_client.get(path + "?" + query)
        assert response.status_code in (200, 400)


@FUZZ
@given(doc_id=st.text(min_size=1, max_size=40), q=ANY_TEXT)
def test_document_pages_never_fail(fuzz_client, doc_id, q):
    path = quote(doc_id, safe="")
    for prefix in ("/api/documents/", "/documents/"):
        response = fuzz_client.get(prefix + path, query_string={"q": q})
        assert response.status_code in (200, 404, 308), response.status_code


@FUZZ
@given(q=ANY_TEXT)
def test_suggest_never_fails(fuzz_client, q):
    response = fuzz_client.get("/api/suggest", query_string={"q": q})
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert len(response.get_json()["suggestions"]) <= 8


def test_openapi_cases_never_fail_and_match_the_schema(web_index):
    """schemathesis drives /api/ from its own OpenAPI description, through the WSGI app:
    no 500, and every answer has the documented status, content type and shape."""
    schemathesis = pytest.importorskip("schemathesis")
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (content_type_conformance,
                                                   response_schema_conformance,
                                                   status_code_conformance)

    from search_service.web import create_app

    app = create_app({"TESTING": True, "INDEX_DIR": str(web_index)})
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    checks = [not_a_server_error, status_code_conformance, content_type_conformance,
              response_schema_conformance]
    for result in schema.get_all_operations():
        operation = result.ok()

        @FUZZ
        @given(case=operation.as_strategy())
        def run(case):
            case.call_and_validate(checks=checks)
        run()
