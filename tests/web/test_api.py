"""The JSON API: parameters, filters, facets, sorting, paging, errors, and what visitors may see."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from conftest import (EXPORT_ID, HOSTILE_ID, INTERNAL_IDS, NEWS_IDS, PUBLIC_COUNT, SECRET_WORDS,
                      XSS_IMG, XSS_SCRIPT)

from search_service.web.params import SEARCH_PARAMS

HIT_KEYS = {"id", "title", "snippet", "score", "category", "doc_type", "doc_number", "issuer",
            "published", "views", "url"}
RESULT_KEYS = {"query", "normalized_query", "total", "page", "per_page", "took_ms",
               "did_you_mean", "facets", "hits"}
FIRE = {"kh-45-2022", "ct-01-2018", NEWS_IDS[3]}          # public documents about phòng cháy


def search(client, **params):
    response = client.get("/api/search", query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def ids(result) -> list[str]:
    return [hit["id"] for hit in result["hits"]]


def all_ids(client, **params) -> set[str]:
    return set(ids(search(client, per_page=100, **params)))


def top_ids(client, n=3, **params) -> set[str]:
    return set(ids(search(client, **params))[:n])


# -- the result shape ------------------------------------------------------------------------
def test_search_returns_the_documented_keys(client):
    result = search(client, q="phòng cháy")
    assert RESULT_KEYS <= set(result)
    assert result["query"] == "phòng cháy"
    assert result["normalized_query"] == "phong chay"
    assert (result["page"], result["per_page"]) == (1, 10)
    assert all(HIT_KEYS <= set(hit) for hit in result["hits"])
    assert set(result["facets"]) == {"doc_type", "category", "issuer", "year", "validity"}


def test_hit_holds_the_document_metadata(client):
    hit = search(client, q="123/QĐ-UBND")["hits"][0]
    assert {k: hit[k] for k in ("id", "doc_type", "doc_number", "issuer", "published", "views")} \
        == {"id": "qd-123-2024", "doc_type": "Quyết định", "doc_number": "123/QĐ-UBND",
            "issuer": "UBND phường Phúc Lợi", "published": "2024-03-05", "views": 215}
    assert hit["links"] == {"html": "/documents/qd-123-2024",
                            "json": "/api/documents/qd-123-2024"}


@pytest.mark.parametrize("q", ["phòng cháy", "phong chay", "PHONG CHAY", "Phòng  Cháy"])
def test_search_is_accent_and_case_insensitive(client, q):
    assert top_ids(client, q=q) == FIRE


@pytest.mark.parametrize("q, first", [
    ("123/QĐ-UBND", "qd-123-2024"),
    ("45/KH-UBND", "kh-45-2022"),
    ("quy chế trật tự đô thị", "qd-45-2023"),
    ("dau tu cong trung han", "nq-05-2023"),
])
def test_search_ranks_the_document_asked_for_first(client, q, first):
    assert ids(search(client, q=q))[0] == first


def test_did_you_mean_is_offered_when_it_changes_the_results(client):
    assert search(client, q="tiep cong dann")["did_you_mean"] == "tiếp công dân"
    assert search(client, q="doan kett")["did_you_mean"] == "đoàn kết"
    # Typed without diacritics, the query already finds what the accented one would.
    assert search(client, q="hoi nghi")["did_you_mean"] is None
    assert search(client, q="hội nghị")["did_you_mean"] is None


# -- filters and facets ----------------------------------------------------------------------
@pytest.mark.parametrize("params, expected", [
    ({"type": "Quyết định"}, {"qd-123-2024", "qd-45-2023"}),
    ({"issuer": "HĐND phường Phúc Lợi"}, {"nq-05-2023"}),
    ({"category": "VĂN HÓA - XÃ HỘI"}, {NEWS_IDS[4], NEWS_IDS[5]}),
    ({"year": "2018"}, {"ct-01-2018", EXPORT_ID}),
    ({"from": "2024-03-05", "to": "2024-06-01"}, {"qd-123-2024", "tb-12-2024"}),
    ({"from": "2024-07-05"}, {NEWS_IDS[0]}),
    ({"to": "2018-01-22"}, {"ct-01-2018"}),
    ({"q": "phong chay", "type": "Kế hoạch"}, {"kh-45-2022"}),
    ({"q": "phong chay", "year": "2022"}, {"kh-45-2022", NEWS_IDS[3]}),
])
def test_filters_narrow_the_results(client, params, expected):
    assert all_ids(client, **params) == expected


def test_facets_count_values_and_mark_the_selected_one(client):
    facets = search(client, q="phòng cháy")["facets"]
    assert facets["doc_type"] == [
        {"value": "Chỉ thị", "count": 1, "selected": False},
        {"value": "Kế hoạch", "count": 1, "selected": False}]
    assert facets["year"] == [{"value": 2023, "count": 1, "selected": False},
                              {"value": 2022, "count": 2, "selected": False},
                              {"value": 2018, "count": 1, "selected": False}]
    selected = search(client, q="phòng cháy", type="Kế hoạch")["facets"]["doc_type"]
    assert {"value": "Kế hoạch", "count": 1, "selected": True} in selected


@pytest.mark.parametrize("value", ["false", "0", "no", "off", "FALSE"])
def test_facets_can_be_turned_off(client, value):
    assert search(client, q="phòng cháy", facets=value)["facets"] == {}


# -- sorting and paging ----------------------------------------------------------------------
@pytest.mark.parametrize("sort, reverse", [("date", True), ("date_asc", False)])
def test_sort_by_date(client, sort, reverse):
    hits = search(client, q="phường Phúc Lợi", sort=sort, per_page=100)["hits"]
    dates = [h["published"][:10] for h in hits]
    assert len(dates) > 5
    assert dates == sorted(dates, reverse=reverse)


def test_empty_query_lists_every_public_document_newest_first(client):
    result = search(client, per_page=100)
    assert result["total"] == PUBLIC_COUNT
    assert result["hits"][0]["id"] == NEWS_IDS[0]           # 2024-07-05, the newest public one


def test_pages_partition_the_results(client):
    seen = []
    for page in range(1, 6):
        result = search(client, per_page=3, page=page)
        assert result["page"] == page
        seen += ids(result)
    assert len(seen) == PUBLIC_COUNT == len(set(seen))


def test_page_past_the_end_is_empty_not_an_error(client):
    result = search(client, q="phòng cháy", page=50)
    assert (result["total"], result["hits"], result["page"]) == (4, [], 50)
    assert result["links"]["next"] is None
    assert result["links"]["previous"] == "/api/search?q=ph%C3%B2ng+ch%C3%A1y"


def test_links_point_to_neighbour_pages_and_the_html_twin(client):
    links = search(client, q="phường", per_page=2, page=2, type="Quyết định")["links"]
    assert links == {
        "html": "/search?q=ph%C6%B0%E1%BB%9Dng&type=Quy%E1%BA%BFt+%C4%91%E1%BB%8Bnh&per_page=2&page=2",
        "next": None,
        "previous": "/api/search?q=ph%C6%B0%E1%BB%9Dng&type=Quy%E1%BA%BFt+%C4%91%E1%BB%8Bnh"
                    "&per_page=2",
    }


# -- odd but valid input -----------------------------------------------------------------------
@pytest.mark.parametrize("q", [
    '"phòng cháy', 'phòng cháy"', '""', "phòng\x00cháy", "phòng\x07\x1bcháy", "\u202ephòng",
    "AND OR NOT", "-", "title:phòng", "*", "phòng*", "(phòng", "\\", "%00", "x" * 1000,
    "🔥 phòng cháy", "\ufeffphòng",
])
def test_odd_queries_are_answered(client, q):
    result = search(client, q=q)
    assert isinstance(result["total"], int)


def test_control_characters_do_not_change_the_results(client):
    assert top_ids(client, q="phòng\x00cháy\x07") == FIRE


def test_unbalanced_quote_still_finds_the_words(client):
    assert top_ids(client, q='"phòng cháy') == FIRE


# -- errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize("params, parameter", [
    ({"page": "0"}, "page"), ({"page": "-1"}, "page"), ({"page": "abc"}, "page"),
    ({"page": "1.5"}, "page"), ({"page": "99999999999999999999"}, "page"),
    ({"per_page": "0"}, "per_page"), ({"per_page": "101"}, "per_page"),
    ({"per_page": "100000"}, "per_page"),
    ({"sort": "bogus"}, "sort"), ({"sort": "date desc"}, "sort"),
    ({"year": "abc"}, "year"), ({"year": "20245"}, "year"), ({"year": "-2024"}, "year"),
    ({"from": "2024-13-45"}, "from"), ({"to": "yesterday"}, "to"), ({"from": "15/03/2024"}, "from"),
    ({"to": "9999-12-31"}, "to"),
    ({"from": "2024-06-01", "to": "2024-01-01"}, "from"),
    ({"facets": "maybe"}, "facets"),
    ({"q": "x" * 1001}, "q"),
    ({"type": "x" * 201}, "type"),
])
def test_bad_parameters_are_400_naming_the_parameter(client, params, parameter):
    response = client.get("/api/search", query_string=params)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert (error["code"], error["parameter"]) == ("bad_parameter", parameter)
    assert parameter in error["message"]


def test_query_length_limit_comes_from_the_settings(make_app):
    client = make_app(MAX_QUERY_CHARS=20).test_client()
    assert client.get("/api/search", query_string={"q": "x" * 20}).status_code == 200
    response = client.get("/api/search", query_string={"q": "x" * 21})
    assert response.get_json() == {"error": {"code": "bad_parameter", "parameter": "q",
                                             "message": "q is longer than 20 characters"}}


def test_the_query_length_check_is_the_librarys(make_app):
    """The API refuses what SearchRequest refuses, at the limit the app was given."""
    from search_service.errors import QueryTooLong
    from search_service.search import SearchRequest

    with pytest.raises(QueryTooLong) as refused:
        SearchRequest(q="x" * 21, max_query_chars=20)
    assert refused.value.limit == 20 and "SEARCH_MAX_QUERY_CHARS" in str(refused.value)
    assert SearchRequest(q="x" * 20, max_query_chars=20).q == "x" * 20
    client = make_app(MAX_QUERY_CHARS=20).test_client()
    page = client.get("/search", query_string={"q": "x" * 21})
    assert page.status_code == 400
    assert "Từ khóa dài quá 20 ký tự." in page.get_data(as_text=True)


def test_the_cli_prints_the_api_json_less_its_links(client, web_index):
    """One to_dict for both: the CLI's --json is the API's answer without the links."""
    import json

    from click.testing import CliRunner

    from search_service.cli import main

    api = search(client, q="phòng cháy", per_page=5)
    printed = CliRunner().invoke(main, ["search", "--index", str(web_index), "--json",
                                        "--limit", "5", "phòng cháy"])
    assert printed.exit_code == 0, printed.output
    cli = json.loads(printed.stdout)
    del api["links"]
    for hit in api["hits"]:
        del hit["links"]
    api["took_ms"] = cli["took_ms"] = 0
    assert list(cli) == list(api) and cli == api


def test_unknown_api_route_is_404_json(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_wrong_method_is_405_json(client):
    response = client.post("/api/search")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_unexpected_exception_is_a_generic_500_and_logged(make_app, caplog):
    app = make_app()

    @app.route("/api/broken")
    def broken():
        raise RuntimeError("secret detail /srv/index")

    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/api/broken")
    assert response.status_code == 500
    assert response.get_json() == {"error": {"code": "internal_error",
                                             "message": "Internal server error"}}
    assert "secret detail" in caplog.text


# -- documents -------------------------------------------------------------------------------
def test_document_has_every_stored_field_and_the_body(client):
    doc = client.get("/api/documents/qd-123-2024").get_json()
    assert {k: doc[k] for k in ("id", "title", "doc_type", "doc_number", "issuer", "signer",
                                "published", "views", "category", "visibility")} == {
        "id": "qd-123-2024",
        "title": "Quyết định thành lập Tổ công tác rà soát hộ nghèo, hộ cận nghèo năm 2024",
        "doc_type": "Quyết định", "doc_number": "123/QĐ-UBND", "issuer": "UBND phường Phúc Lợi",
        "signer": "Nguyễn Văn Hùng", "published": "2024-03-05", "views": 215,
        "category": "Văn bản chỉ đạo, điều hành", "visibility": "public"}
    assert "Tổ công tác hoàn thành việc rà soát trước ngày 30/11/2024." in doc["body"]
    assert "path" not in doc and "content_hash" not in doc


@pytest.mark.parametrize("doc_id", [EXPORT_ID, NEWS_IDS[0], HOSTILE_ID])
def test_ids_with_slashes_hashes_and_markup_resolve(client, doc_id):
    response = client.get("/api/documents/" + quote(doc_id, safe="/"))
    assert response.status_code == 200
    assert response.get_json()["id"] == doc_id


def test_hit_links_resolve_for_awkward_ids(client):
    for hit in search(client, per_page=100)["hits"]:
        assert client.get(hit["links"]["json"]).get_json()["id"] == hit["id"]


@pytest.mark.parametrize("doc_id", ["nope", "qd-123-2024/extra", *INTERNAL_IDS])
def test_unknown_or_internal_document_is_404(client, doc_id):
    response = client.get("/api/documents/" + quote(doc_id, safe="/"))
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


# -- suggestions -----------------------------------------------------------------------------
@pytest.mark.parametrize("q", ["quyet dinh", "quyết định", "QUYẾT ĐỊ", "quyet di"])
def test_suggest_completes_titles_accent_insensitively(client, q):
    suggestions = client.get("/api/suggest", query_string={"q": q}).get_json()["suggestions"]
    assert sorted(suggestions) == [
        "Quyết định ban hành quy chế phối hợp giữ gìn trật tự đô thị",
        "Quyết định thành lập Tổ công tác rà soát hộ nghèo, hộ cận nghèo năm 2024"]


def test_suggest_gives_at_most_eight(client):
    suggestions = client.get("/api/suggest?q=p").get_json()["suggestions"]
    assert len(suggestions) <= 8


@pytest.mark.parametrize("q", ["", " ", "\x00", "zzzzqqq"])
def test_suggest_without_matches_is_empty(client, q):
    assert client.get("/api/suggest", query_string={"q": q}).get_json()["suggestions"] == []


def test_suggest_refuses_overlong_input(client):
    response = client.get("/api/suggest", query_string={"q": "x" * 201})
    assert response.status_code == 400
    assert response.get_json()["error"]["parameter"] == "q"


# -- internal documents never reach visitors ----------------------------------------------------
INTERNAL_ONLY = {"doc_type": {"Tờ trình", "Báo cáo"}, "issuer": {"Văn phòng Đảng ủy",
                 "Đảng ủy phường Phúc Lợi"}, "category": {"Công tác cán bộ"}, "year": {2019}}


def test_internal_documents_are_not_found_by_visitors(client):
    assert search(client, q=SECRET_WORDS)["total"] == 0
    assert search(client, q="sen hong")["total"] == 0
    assert not set(INTERNAL_IDS) & all_ids(client, q="phòng cháy chữa cháy hộ nghèo")
    assert not set(INTERNAL_IDS) & all_ids(client, type="Tờ trình")


def test_facet_counts_leave_internal_documents_out(client):
    facets = search(client)["facets"]
    for name, values in INTERNAL_ONLY.items():
        assert not values & {f["value"] for f in facets[name]}, name


def test_did_you_mean_does_not_reveal_internal_words(client, staff_client):
    # Visitors are corrected from public words only.
    assert "hồng" not in (search(client, q="sen hong")["did_you_mean"] or "").lower()
    assert "hồng" not in (search(client, q="sen hongg")["did_you_mean"] or "").lower()


def test_suggestions_leave_internal_titles_out(client):
    assert client.get("/api/suggest?q=sen hong").get_json()["suggestions"] == []
    assert client.get("/api/suggest?q=to trinh").get_json()["suggestions"] == []


def test_staff_see_internal_documents(staff_client):
    result = search(staff_client, q=SECRET_WORDS)
    assert set(ids(result)) == set(INTERNAL_IDS)
    assert {h["visibility"] for h in result["hits"]} == {"internal"}
    assert {"value": "Tờ trình", "count": 1, "selected": False} in result["facets"]["doc_type"]
    assert staff_client.get("/api/documents/noi-bo-tt-07").status_code == 200
    assert len(staff_client.get("/api/suggest?q=sen hong").get_json()["suggestions"]) == 2


# -- hostile text ----------------------------------------------------------------------------
def test_hostile_text_is_escaped_in_snippets_and_titles(client):
    hit = search(client, q="lịch tiếp công dân")["hits"][0]
    assert hit["id"] == "tb-12-2024"
    assert hit["title"] == f"Thông báo lịch tiếp công dân {XSS_SCRIPT} tháng 6"   # plain text
    assert "<script>" not in hit["title_html"] and "&lt;script&gt;" in hit["title_html"]
    assert "<img" not in hit["snippet"] and "&lt;img src=x onerror=alert(1)&gt;" in hit["snippet"]
    assert XSS_IMG not in hit["snippet"]


# -- the OpenAPI description -----------------------------------------------------------------
def test_openapi_describes_every_endpoint_and_parameter(client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    # The read endpoints (the write API of the staff console adds its own).
    assert {"/api/search", "/api/documents/{doc_id}", "/api/suggest"} <= set(spec["paths"])
    documented = {p["name"] for p in spec["paths"]["/api/search"]["get"]["parameters"]}
    assert documented == {"q", "scope", "page", "per_page", "sort", "type", "category", "issuer",
                          "year", "validity", "from", "to", "facets"}
    result = spec["paths"]["/api/search"]["get"]["responses"]["200"]
    assert "suggested_filters" in result["content"]["application/json"]["schema"]["properties"]
    assert all(p.help for p in SEARCH_PARAMS)


# -- several values per filter, search scope, suggested filters -------------------------------
def test_a_repeated_filter_is_any_of_its_values(client):
    both = search(client, q="phòng cháy", type=["Kế hoạch", "Chỉ thị"], per_page=100)
    assert set(ids(both)) == {"kh-45-2022", "ct-01-2018"}
    assert [f["value"] for f in both["facets"]["doc_type"] if f["selected"]] == \
        ["Chỉ thị", "Kế hoạch"]
    assert set(ids(search(client, q="phòng cháy", type=["Kế hoạch", "Chỉ thị"],
                          year=[2018, 2023]))) == {"ct-01-2018"}


def test_links_keep_every_value_of_a_repeated_filter(client):
    result = search(client, q="phòng cháy", type=["Kế hoạch", "Chỉ thị"], per_page=1)
    assert parse_qs(urlsplit(result["links"]["next"]).query)["type"] == ["Kế hoạch", "Chỉ thị"]
    assert parse_qs(urlsplit(result["links"]["html"]).query)["type"] == ["Kế hoạch", "Chỉ thị"]


def test_one_value_of_a_filter_reads_as_before(client):
    assert ids(search(client, q="phòng cháy", type="Kế hoạch")) == ["kh-45-2022"]


@pytest.mark.parametrize("params, parameter", [
    ({"scope": "body"}, "scope"), ({"year": ["2024", "12"]}, "year"),
    ({"type": ["x"] * 21}, "type"),
])
def test_bad_scope_and_filter_values_are_400(client, params, parameter):
    response = client.get("/api/search", query_string={"q": "x", **params})
    assert response.status_code == 400
    assert response.get_json()["error"]["parameter"] == parameter


def test_scope_title_and_number(client):
    assert ids(search(client, q="45/KH-UBND", scope="number")) == ["kh-45-2022"]
    assert ids(search(client, q="ngày hội", scope="title"))[0] in {HOSTILE_ID, NEWS_IDS[5]}
    assert search(client, q="hằng tuần")["total"] == 1
    assert search(client, q="hằng tuần", scope="title")["total"] == 0


def test_a_query_naming_a_type_and_year_offers_them_as_a_filter(client):
    result = search(client, q="kế hoạch phòng cháy 2022")
    assert result["suggested_filters"] == [{"type": "Kế hoạch", "year": 2022}]
    assert result["hits"][0]["id"] == "kh-45-2022" and result["total"] > 1
    assert search(client, q="phòng cháy")["suggested_filters"] == []
