"""The Vietnamese HTML pages and Atom feeds, read the way a browser would (BeautifulSoup)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest
from bs4 import BeautifulSoup
from conftest import (EXPORT_ID, HOSTILE_ID, INTERNAL_IDS, NEWS_IDS, SECRET_WORDS, STAFF_PASSWORD,
                      XSS_IMG, XSS_SCRIPT)
from werkzeug.security import check_password_hash

from search_service.web.auth import hash_password

ATOM = "{http://www.w3.org/2005/Atom}"


def page(client, url, status=200, **params):
    response = client.get(url, query_string=params or None)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.content_type == "text/html; charset=utf-8"
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def text(node) -> str:
    return " ".join(node.get_text(" ").split())


def query_of(href: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(href).query)


def hit_titles(soup) -> list[str]:
    return [text(h) for h in soup.select("li.hit .hit-title a")]


def doc_url(doc_id: str) -> str:
    return "/documents/" + quote(doc_id, safe="/")


# -- home ------------------------------------------------------------------------------------
def test_home_has_a_labelled_search_box_latest_news_and_types(client):
    soup = page(client, "/")
    assert soup.html["lang"] == "vi"
    box = soup.select_one("form[role=search] input[name=q]")
    assert text(soup.select_one(f"label[for={box['id']}]")) == "Tìm tin tức, văn bản của phường"
    latest = hit_titles(soup.select_one(".home-latest"))
    assert latest == [        # news and notices, newest first; other documents are under types
        "Phường Phúc Lợi tổ chức Hội nghị sơ kết công tác 6 tháng đầu năm 2024",
        f"Thông báo lịch tiếp công dân {XSS_SCRIPT} tháng 6",
        "Trao quà Tết cho hộ nghèo, hộ cận nghèo phường Phúc Lợi",
        f"Tin nóng ngày hội {XSS_IMG} đại đoàn kết",
        "Liên hoan văn nghệ chào mừng ngày hội Đại đoàn kết toàn dân tộc",
        "Hội nghị tiếp xúc cử tri trước kỳ họp Hội đồng nhân dân"]
    assert [h.name for h in soup.select(".home-latest .hit-title")] == ["h3"] * 6   # under h2
    types = {text(a.select_one(".facet-value")): (text(a.select_one(".count")), a["href"])
             for a in soup.select(".home-browse a")}
    assert types["Quyết định"] == ("2", "/search?type=Quy%E1%BA%BFt+%C4%91%E1%BB%8Bnh")


# -- search results --------------------------------------------------------------------------
def test_results_show_count_metadata_and_highlights(client):
    soup = page(client, "/search", q="phòng cháy")
    assert text(soup.h1) == "Kết quả tìm kiếm cho “phòng cháy”"
    assert "visually-hidden" not in soup.h1.get("class", [])
    assert text(soup.select_one(".summary")).startswith("Tìm thấy 4 kết quả (0,")
    assert text(soup.select_one(".summary")).endswith("giây)")
    hits = soup.select("li.hit")
    assert all(h.select_one(".hit-title").name == "h2" for h in hits)   # right under the h1
    # Two titles name "phòng cháy" about as well; which comes first is the ranking's business.
    plan = next(h for h in hits if "45/KH-UBND" in text(h))
    assert text(plan.select_one(".hit-title")) == \
        "Kế hoạch diễn tập phương án phòng cháy chữa cháy tại khu dân cư năm 2022"
    assert [text(m) for m in plan.select(".hit-title mark")] == ["phòng", "cháy", "cháy"]
    assert text(plan.select_one(".hit-meta")) == \
        "Số hiệu: 45/KH-UBND Kế hoạch UBND phường Phúc Lợi 15/09/2022"
    assert plan.select_one(".snippet mark") is not None
    assert plan.select_one(".hit-title a")["href"] == "/documents/kh-45-2022?q=ph%C3%B2ng+ch%C3%A1y"
    assert {text(h.select_one(".hit-title")) for h in hits[:2]} == {   # text() spaces marks
        "Kế hoạch diễn tập phương án phòng cháy chữa cháy tại khu dân cư năm 2022",
        "Chỉ thị tăng cường phòng cháy , chữa cháy dịp Tết Nguyên đán Mậu Tuất"}


def test_results_link_their_json_twin_and_feed_from_the_footer(client):
    soup = page(client, "/search", q="phòng cháy", type="Kế hoạch")
    twins = {text(a): a["href"] for a in soup.select("footer .dev-links a")}
    assert twins == {
        "Kết quả này dạng JSON": "/api/search?q=ph%C3%B2ng+ch%C3%A1y&type=K%E1%BA%BF+ho%E1%BA%A1ch",
        "Kết quả này dạng Atom": "/search.xml?q=ph%C3%B2ng+ch%C3%A1y&type=K%E1%BA%BF+ho%E1%BA%A1ch",
        "Theo dõi tin mới (Atom)": "/feed.xml",
        "API cho nhà phát triển (OpenAPI)": "/api/openapi.json"}
    assert not soup.main.find("a", href=twins["Kết quả này dạng JSON"])     # not among results
    assert client.get(twins["Kết quả này dạng JSON"]).get_json()["total"] == 1


def facet_link(soup, label: str, value: str):
    for section in soup.select(".facet"):
        if text(section.h3) == label:
            for a in section.select("a"):
                if text(a.select_one(".facet-value")).lstrip("✓ ") == value:
                    return a
    raise AssertionError(f"no facet link {label}: {value}")


def test_facet_links_toggle_their_filter_and_reset_the_page(client):
    soup = page(client, "/search", q="phòng cháy", per_page="2", page="2")
    link = facet_link(soup, "Loại văn bản", "Kế hoạch")
    assert text(link.select_one(".count")) == "1"
    assert query_of(link["href"]) == {"q": ["phòng cháy"], "type": ["Kế hoạch"], "per_page": ["2"]}
    filtered = page(client, link["href"])
    assert hit_titles(filtered) == [
        "Kế hoạch diễn tập phương án phòng cháy chữa cháy tại khu dân cư năm 2022"]
    selected = facet_link(filtered, "Loại văn bản", "Kế hoạch")
    assert "selected" in selected["class"] and selected["aria-current"] == "true"
    assert query_of(selected["href"]) == {"q": ["phòng cháy"], "per_page": ["2"]}
    assert text(filtered.select_one(".active-filters .chip")) == "Loại văn bản: Kế hoạch ×"


def test_filter_form_keeps_the_query_and_shows_current_values(client):
    soup = page(client, "/search", q="hội nghị", sort="date", **{"from": "2023-01-01",
                                                                  "to": "2024-12-31"})
    form = soup.select_one("form.filter-form")
    assert form.select_one("input[name=q]")["value"] == "hội nghị"
    assert form.select_one("select[name=sort] option[selected]")["value"] == "date"
    assert form.select_one("input[name=from]")["value"] == "01/01/2023"      # as Vietnamese write
    assert form.select_one("input[name=to]")["value"] == "31/12/2024"
    assert text(soup.select_one("#date-hint")) == "Nhập theo dạng ngày/tháng/năm: dd/mm/yyyy"
    for name in ("sort", "from", "to"):
        control = form.select_one(f"[name={name}]")
        assert soup.select_one(f"label[for={control['id']}]") is not None
    dates = [t["datetime"][:10] for t in soup.select("li.hit time")]
    assert dates == sorted(dates, reverse=True) and len(dates) > 2
    assert "2023-01-01" <= dates[-1] and dates[0] <= "2024-12-31"


def test_pagination_links_move_between_pages(client):
    soup = page(client, "/search", per_page="4")
    pager = soup.select_one("nav.pagination")
    assert text(pager.select_one("[aria-current=page]")) == "1"
    next_link = pager.select_one("a[rel=next]")
    assert text(next_link) == "Trang sau ›"
    assert query_of(next_link["href"]) == {"per_page": ["4"], "page": ["2"]}
    second = page(client, next_link["href"])
    assert text(second.select_one("nav.pagination [aria-current=page]")) == "2"
    assert query_of(second.select_one("a[rel=prev]")["href"]) == {"per_page": ["4"]}
    assert not set(hit_titles(soup)) & set(hit_titles(second))


def test_did_you_mean_links_the_accented_query(client):
    soup = page(client, "/search", q="tiep cong dann")
    suggestion = soup.select_one(".did-you-mean")
    assert text(suggestion) == "Có phải bạn muốn tìm: tiếp công dân ?"
    assert query_of(suggestion.a["href"]) == {"q": ["tiếp công dân"]}


def test_empty_results_help_with_a_link_without_filters(client):
    soup = page(client, "/search", q="hội nghị", type="Chỉ thị")
    empty = soup.select_one(".empty")
    assert text(empty.h2) == "Không tìm thấy kết quả nào cho “hội nghị”."
    retry = [a for a in empty.select("a") if text(a) == "Thử bỏ bộ lọc"][0]
    assert retry["href"] == "/search?q=h%E1%BB%99i+ngh%E1%BB%8B"
    unfiltered = client.get("/api/search?q=h%E1%BB%99i+ngh%E1%BB%8B").get_json()["total"]
    assert len(hit_titles(page(client, retry["href"]))) == unfiltered > 0


def test_page_past_the_end_offers_the_last_page(client):
    soup = page(client, "/search", q="hội nghị", page="9")
    assert "chỉ có 1 trang" in text(soup.select_one(".empty"))


@pytest.mark.parametrize("params, message", [
    ({"page": "0"}, "Số trang phải là số nguyên từ 1 đến 10000."),
    ({"per_page": "100000"}, "Số kết quả mỗi trang phải là số nguyên từ 1 đến 100."),
    ({"sort": "bogus"}, "Cách sắp xếp không hợp lệ."),
    ({"year": "abc"}, "Năm phải là số nguyên từ 1900 đến 2100."),
])
def test_bad_parameters_give_a_vietnamese_400_page(client, params, message):
    soup = page(client, "/search", status=400, **params)
    assert soup.html["lang"] == "vi"
    assert text(soup.h1) == "Yêu cầu không hợp lệ"
    assert message in text(soup)
    assert "Traceback" not in str(soup)


# -- dates as residents type them; a bad range keeps the search ------------------------------
def hit_ids(soup) -> set[str]:
    return {unquote(urlsplit(a["href"]).path)[len("/documents/"):]
            for a in soup.select("li.hit .hit-title a")}


@pytest.mark.parametrize("start, end", [("05/03/2024", "01/06/2024"), ("5/3/2024", "1.6.2024"),
                                        ("2024-03-05", "2024-06-01")])
def test_dates_are_typed_day_first_or_iso(client, start, end):
    soup = page(client, "/search", **{"from": start, "to": end})
    assert hit_ids(soup) == {"qd-123-2024", "tb-12-2024"}
    assert [soup.select_one(f".filter-form input[name={n}]")["value"] for n in ("from", "to")] \
        == ["05/03/2024", "01/06/2024"]
    assert text(soup.select_one(".active-filters .chip")) == "Từ 05/03/2024 đến 01/06/2024 ×"
    assert query_of(soup.select_one("footer a.twin-json")["href"]) == \
        {"from": ["2024-03-05"], "to": ["2024-06-01"]}          # the API's twin speaks ISO


def date_problem(soup) -> tuple[str, list[str]]:
    """The message next to the date fields and the fields marked invalid."""
    invalid = [i["name"] for i in soup.select(".date-range input[aria-invalid=true]")]
    for name in invalid:
        assert "date-error" in soup.select_one(f"input[name={name}]")["aria-describedby"]
    return text(soup.select_one(".date-range #date-error")), invalid


def test_a_reversed_date_range_keeps_the_search_and_says_why_next_to_the_fields(client):
    soup = page(client, "/search", status=400, q="hội nghị", type="Quyết định", sort="date",
                **{"from": "01/06/2024", "to": "01/01/2024"})
    assert soup.select_one("#q")["value"] == "hội nghị"
    form = soup.select_one("form.filter-form")
    assert {i["name"]: i["value"] for i in form.select("input[type=hidden]")} == \
        {"q": "hội nghị", "type": "Quyết định"}
    assert form.select_one("select[name=sort] option[selected]")["value"] == "date"
    assert [form.select_one(f"input[name={n}]")["value"] for n in ("from", "to")] == \
        ["01/06/2024", "01/01/2024"]                           # as typed, to be corrected
    assert date_problem(soup) == ("“Từ ngày” phải trước hoặc bằng “Đến ngày”.", ["from", "to"])
    alert = soup.select_one("#date-alert")
    assert alert.a["href"] == "#from" and "chưa lọc theo ngày" in text(alert)
    assert text(soup.h1) == "Kết quả tìm kiếm cho “hội nghị”"
    assert "Yêu cầu không hợp lệ" not in text(soup)


def test_a_mistyped_date_is_shown_next_to_its_field_and_the_other_one_kept(client):
    soup = page(client, "/search", status=400, q="phòng cháy",
                **{"from": "31/02/2024", "to": "2024-12-31"})
    assert date_problem(soup) == (
        "Từ ngày phải là ngày dạng ngày/tháng/năm, ví dụ 15/03/2024.", ["from"])
    assert text(soup.select_one(".active-filters .chip")) == "Đến 31/12/2024 ×"
    assert len(hit_titles(soup)) == 4


def test_the_api_keeps_iso_dates_and_its_error(client):
    body = client.get("/api/search", query_string={"from": "01/06/2024"}).get_json()
    assert body["error"]["parameter"] == "from"
    reversed_ = client.get("/api/search", query_string={"from": "2024-06-01", "to": "2024-01-01"})
    assert (reversed_.status_code, reversed_.get_json()["error"]["parameter"]) == (400, "from")


# -- facets: the first values, then "Xem thêm"; one case for categories -----------------------
def facet_section(soup, label: str):
    return next(s for s in soup.select(".facet, .facet-box") if text(s.find(["h2", "h3"])) == label)


def test_long_facet_lists_show_the_top_values_and_a_xem_them(client):
    soup = page(client, "/search")
    categories = facet_section(soup, "Chuyên mục")
    top = [text(a.select_one(".facet-value")) for a in categories.select(":scope > ul a")]
    assert len(top) == 5
    # "AN NINH - QUỐC PHÒNG" and "An ninh - Quốc phòng" are one category (1 + 1 documents).
    assert top[:3] == ["Văn bản chỉ đạo, điều hành", "An ninh - Quốc phòng", "Tin tức - Sự kiện"]
    more = categories.select_one("details.facet-more")
    assert more.get("open") is None
    assert text(more.summary.select_one(".when-closed")) == "Xem thêm 3 chuyên mục"
    assert len(more.select("a")) == 3
    assert facet_section(soup, "Loại văn bản").select_one("details") is None   # 4 values: all


def test_category_names_show_in_one_case_and_link_the_stored_value(client):
    soup = page(client, "/")
    links = {text(a.select_one(".facet-value")): query_of(a["href"])["category"][0]
             for a in facet_section(soup, "Chuyên mục").select("a")}
    assert links["Tin tức - Sự kiện"] == "TIN TỨC - SỰ KIỆN"
    assert links["Văn bản chỉ đạo, điều hành"] == "Văn bản chỉ đạo, điều hành"
    assert not any(label.isupper() for label in links)
    assert "Tin tức - Sự kiện" in [text(t) for t in soup.select(".home-latest .tag")]


# -- page layout: results before filters, developer links in the footer ----------------------
def test_results_come_before_the_filters_and_the_skip_link_reaches_them(client):
    soup = page(client, "/search", q="phòng cháy")
    skip = soup.select_one("a.skip")
    assert (text(skip), skip["href"]) == ("Bỏ qua, đến kết quả tìm kiếm", "#ket-qua")
    order = [el.get("id") for el in soup.select("#ket-qua, #bo-loc")]
    assert order == ["ket-qua", "bo-loc"]
    assert soup.select_one("#ket-qua li.hit") is not None
    assert soup.select_one(".to-filters a")["href"] == "#bo-loc"
    headings = [(h.name, text(h)) for h in soup.select("h1, h2, h3")]
    assert headings[0] == ("h1", "Kết quả tìm kiếm cho “phòng cháy”")
    assert headings[-4:] == [("h3", "Loại văn bản"), ("h3", "Chuyên mục"),
                             ("h3", "Cơ quan ban hành"), ("h3", "Năm")]


@pytest.mark.parametrize("params, summary", [
    ({"per_page": "4", "page": "4"}, "Tìm thấy 14 kết quả, đang xem 13–14"),
    ({"per_page": "4", "page": "2"}, "Tìm thấy 14 kết quả, đang xem 5–8"),
    ({"q": "phòng cháy"}, "Tìm thấy 4 kết quả")])
def test_the_summary_says_which_results_a_page_shows(client, params, summary):
    shown = text(page(client, "/search", **params).select_one(".summary"))
    assert shown.rsplit(" (", 1)[0] == summary


def test_the_home_page_keeps_developer_links_in_the_footer(client):
    soup = page(client, "/")
    assert {text(a) for a in soup.select("footer .dev-links a")} == \
        {"Theo dõi tin mới (Atom)", "API cho nhà phát triển (OpenAPI)"}
    assert not soup.main.find("a", string=lambda s: s and ("JSON" in s or "Atom" in s))


def test_the_search_box_placeholder_is_short_and_examples_are_in_the_hint(client):
    soup = page(client, "/")
    box = soup.select_one("#q")
    assert box["placeholder"] == "Từ khóa hoặc số hiệu"
    assert text(soup.select_one("#" + box["aria-describedby"])).startswith(
        "Ví dụ: phòng cháy, 01/CT-UBND, hoi nghi.")


# -- completions -----------------------------------------------------------------------------
def test_completions_say_what_a_choice_opens(client):
    body = client.get("/api/suggest", query_string={"q": "quyet dinh"}).get_json()
    assert set(body) == {"query", "suggestions", "items"}
    assert body["suggestions"] == [i["text"] for i in body["items"] if i["kind"] == "document"]
    for item in body["items"]:
        assert set(item) == {"text", "kind", "id", "label", "url"}
        if item["kind"] in ("document", "number") and item["id"]:
            assert item["url"] == doc_url(item["id"])
            assert client.get(item["url"]).status_code == 200
        elif item["kind"] in ("category", "type"):
            param = "type" if item["kind"] == "type" else "category"
            assert query_of(item["url"]) == {param: [item["text"]]}
    documents = {i["text"]: i["url"] for i in body["items"] if i["kind"] == "document"}
    assert documents["Quyết định thành lập Tổ công tác rà soát hộ nghèo, hộ cận nghèo năm 2024"] \
        in ("/documents/qd-123-2024", "/search?q=" + quote(
            "Quyết định thành lập Tổ công tác rà soát hộ nghèo, hộ cận nghèo năm 2024"))


def test_completions_of_categories_read_in_sentence_case_and_filter_by_the_stored_value(client):
    items = client.get("/api/suggest", query_string={"q": "tin tuc"}).get_json()["items"]
    category = next(i for i in items if i["text"] == "TIN TỨC - SỰ KIỆN")
    assert (category["kind"], category["label"]) == ("category", "Tin tức - Sự kiện")
    assert query_of(category["url"]) == {"category": ["TIN TỨC - SỰ KIỆN"]}


def test_completions_are_described_in_openapi(client):
    spec = client.get("/api/openapi.json").get_json()
    schema = spec["paths"]["/api/suggest"]["get"]["responses"]["200"]["content"][
        "application/json"]["schema"]
    assert schema["properties"]["suggestions"]["items"] == {"type": "string"}
    assert schema["properties"]["items"]["items"]["properties"]["kind"]["enum"] == \
        ["document", "number", "category", "type"]


def test_unknown_page_is_a_vietnamese_404(client):
    soup = page(client, "/khong-co-trang-nay", status=404)
    assert text(soup.h1) == "Không tìm thấy trang"


def test_pages_send_a_content_security_policy(client):
    policy = client.get("/").headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "object-src 'none'" in policy


# -- documents -------------------------------------------------------------------------------
def properties(soup) -> dict[str, str]:
    dl = soup.select_one(".properties dl")
    return {text(dt): text(dd) for dt, dd in zip(dl.select("dt"), dl.select("dd"))}


def test_document_page_shows_its_properties(client):
    soup = page(client, "/documents/qd-123-2024")
    assert text(soup.h1) == "Quyết định thành lập Tổ công tác rà soát hộ nghèo, hộ cận nghèo năm 2024"
    assert text(soup.select_one(".properties h2")) == "Thuộc tính"
    assert properties(soup) == {
        "Số hiệu": "123/QĐ-UBND", "Loại văn bản": "Quyết định",
        "Cơ quan ban hành": "UBND phường Phúc Lợi", "Người ký": "Nguyễn Văn Hùng",
        "Ngày ban hành": "05/03/2024", "Chuyên mục": "Văn bản chỉ đạo, điều hành", "Lượt xem": "215"}
    assert [text(p) for p in soup.select(".doc-body p")][-1] == \
        "Tổ công tác hoàn thành việc rà soát trước ngày 30/11/2024."
    assert soup.select_one("footer a.twin-json")["href"] == "/api/documents/qd-123-2024"


def test_news_page_shows_the_posting_date_and_time(client):
    soup = page(client, doc_url(EXPORT_ID))
    assert properties(soup) == {"Ngày đăng": "14/04/2018 10:39", "Chuyên mục": "Công tác Đảng",
                                "Lượt xem": "510"}
    link = soup.select_one(".properties a")          # shown in sentence case, linked as stored
    assert query_of(link["href"]) == {"category": ["CÔNG TÁC ĐẢNG"]}


def test_document_page_highlights_the_query_it_came_from(client):
    soup = page(client, "/documents/kh-45-2022", q="phong chay")
    assert {text(m) for m in soup.select(".doc-body mark")} == {"Phòng", "cháy", "phòng"}
    assert soup.select_one(".back a")["href"] == "/search?q=phong+chay"


def test_document_page_lists_related_public_documents(client):
    soup = page(client, "/documents/kh-45-2022")
    related = hit_titles(soup.select_one(".related"))
    assert related and "Kế hoạch diễn tập" not in " ".join(related)
    assert not any(SECRET_WORDS in title for title in related)


@pytest.mark.parametrize("doc_id", [EXPORT_ID, NEWS_IDS[2], HOSTILE_ID])
def test_awkward_ids_open_from_the_result_links(client, doc_id):
    soup = page(client, "/search", per_page="100")
    links = {unquote(a["href"]): a["href"] for a in soup.select("li.hit .hit-title a")}
    document = page(client, links["/documents/" + doc_id])
    twin = document.select_one("footer a.twin-json")["href"]
    assert unquote(twin) == "/api/documents/" + doc_id
    assert client.get(twin).get_json()["id"] == doc_id


def test_unknown_document_is_a_vietnamese_404(client):
    soup = page(client, "/documents/khong-co", status=404)
    assert text(soup.h1) == "Không tìm thấy"


# -- internal documents never reach visitors ----------------------------------------------------
@pytest.mark.parametrize("url", ["/", "/search", "/search?q=sen+hong", "/search?q=phòng+cháy",
                                 "/documents/kh-45-2022", "/documents/qd-123-2024",
                                 "/feed.xml", "/search.xml", "/search.xml?q=sen+hong"])
def test_internal_documents_appear_nowhere_for_visitors(client, url):
    body = client.get(url).get_data(as_text=True)
    assert SECRET_WORDS.lower() not in body.lower()
    for word in ("Tờ trình", "Công tác cán bộ", "Văn phòng Đảng ủy", "noi-bo"):
        assert word not in body


@pytest.mark.parametrize("doc_id", INTERNAL_IDS)
def test_internal_document_pages_are_404_for_visitors(client, doc_id):
    page(client, doc_url(doc_id), status=404)


# -- hostile text stays text -----------------------------------------------------------------
@pytest.mark.parametrize("url", ["/", "/search?q=lịch+tiếp+công+dân", "/search?q=ngày+hội",
                                 "/documents/tb-12-2024", "/documents/tb-12-2024?q=tiếp+dân",
                                 doc_url(HOSTILE_ID), "/search?q=" + quote(XSS_SCRIPT)])
def test_hostile_text_is_escaped(client, url):
    body = client.get(url).get_data(as_text=True)
    assert "<script>alert" not in body and "<img src=x" not in body and "<svg onload" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body or "&lt;img src=x onerror=alert(1)&gt;" \
        in body or "&lt;svg onload=alert(1)&gt;" in body


def test_hostile_title_reads_as_text_on_its_page(client):
    soup = page(client, "/documents/tb-12-2024")
    assert text(soup.h1) == f"Thông báo lịch tiếp công dân {XSS_SCRIPT} tháng 6"
    assert soup.find("script", string="alert(1)") is None
    assert XSS_IMG in text(soup.select_one(".doc-body"))


def test_javascript_urls_are_not_made_links(client):
    soup = page(client, "/documents/tb-12-2024")
    assert not soup.select('a[href^="javascript:"]')


def test_hostile_facet_values_are_escaped_and_round_trip(client):
    soup = page(client, "/search", q="ngày hội")
    link = facet_link(soup, "Chuyên mục", 'Tin "nóng" <b>đậm</b> & \'nhanh\'')
    assert hit_titles(page(client, link["href"])) == [f"Tin nóng ngày hội {XSS_IMG} đại đoàn kết"]


# -- Atom feeds ------------------------------------------------------------------------------
def feed_entries(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response.content_type == "application/atom+xml; charset=utf-8"
    root = ET.fromstring(response.data)
    assert root.tag == ATOM + "feed"
    return response.data, [(e.findtext(ATOM + "title"), e.find(ATOM + "link").get("href"))
                           for e in root.findall(ATOM + "entry")]


def test_feed_lists_the_latest_public_documents_newest_first(client):
    raw, entries = feed_entries(client, "/feed.xml")
    assert entries[0] == ("Phường Phúc Lợi tổ chức Hội nghị sơ kết công tác 6 tháng đầu năm 2024",
                          "http://localhost/documents/tin-tuc.jsonl%231")
    titles = [title for title, _ in entries]
    assert f"Tin nóng ngày hội {XSS_IMG} đại đoàn kết" in titles     # as text, after parsing
    assert b"<img" not in raw
    assert len(titles) == 9 and f"Thông báo lịch tiếp công dân {XSS_SCRIPT} tháng 6" in titles
    assert not any(t.startswith(("Quyết định", "Kế hoạch", "Nghị quyết", "Chỉ thị")) for t in titles)


def test_search_feed_follows_the_search_parameters(client):
    _, entries = feed_entries(client, "/search.xml?q=phòng+cháy&type=Kế+hoạch")
    assert entries == [("Kế hoạch diễn tập phương án phòng cháy chữa cháy tại khu dân cư năm 2022",
                        "http://localhost/documents/kh-45-2022")]


def test_search_feed_rejects_bad_parameters(client):
    assert client.get("/search.xml?page=0").status_code == 400


# -- staff login -----------------------------------------------------------------------------
def login_token(client) -> str:
    soup = page(client, "/login")
    return soup.select_one("input[name=csrf_token]")["value"]


def test_login_form_is_labelled_and_carries_a_csrf_token(client):
    soup = page(client, "/login")
    for name in ("username", "password"):
        control = soup.select_one(f"input[name={name}]")
        assert soup.select_one(f"label[for={control['id']}]") is not None
    assert len(soup.select_one("input[name=csrf_token]")["value"]) > 20


def test_login_without_the_csrf_token_is_refused(client):
    response = client.post("/login", data={"username": "can_bo", "password": STAFF_PASSWORD})
    assert response.status_code == 403
    assert SECRET_WORDS not in client.get("/search?q=sen+hong").get_data(as_text=True)


def test_wrong_password_is_refused_in_vietnamese(client):
    token = login_token(client)
    response = client.post("/login", data={"csrf_token": token, "username": "can_bo",
                                           "password": "sai"})
    assert response.status_code == 401
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in response.get_data(as_text=True)


def test_staff_see_internal_documents_with_a_badge(staff_client):
    soup = page(staff_client, "/search", q="sen hong")
    assert len(hit_titles(soup)) == 2
    assert [text(b) for b in soup.select("li.hit .badge-internal")] == ["Nội bộ", "Nội bộ"]
    document = page(staff_client, "/documents/noi-bo-tt-07")
    assert text(document.select_one(".doc-kicker .badge-internal")) == "Nội bộ"
    assert "Tờ trình" in text(page(staff_client, "/").select_one(".home-browse"))


def test_feeds_stay_public_for_staff(staff_client):
    assert SECRET_WORDS.encode() not in staff_client.get("/feed.xml").data


def test_logout_needs_the_token_and_hides_internal_documents_again(staff_client):
    assert staff_client.post("/logout").status_code == 403
    soup = page(staff_client, "/")
    token = soup.select_one("form[action='/logout'] input[name=csrf_token]")["value"]
    assert staff_client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert hit_titles(page(staff_client, "/search", q="sen hong")) == []


@pytest.mark.parametrize("target, expected", [
    ("/search?q=sen+hong", "/search?q=sen+hong"), ("//evil.example/", "/"),
    ("https://evil.example/", "/"), ("/\\evil.example", "/")])
def test_login_only_redirects_within_the_site(client, target, expected):
    token = login_token(client)
    response = client.post("/login", data={"csrf_token": token, "username": "can_bo",
                                           "password": STAFF_PASSWORD, "next": target})
    assert response.headers["Location"] == expected


def test_hash_password_makes_a_salted_hash_not_plaintext():
    first, second = hash_password("bí mật"), hash_password("bí mật")
    assert first != second and "bí mật" not in first
    assert check_password_hash(first, "bí mật") and not check_password_hash(first, "bi mat")


def test_unknown_users_and_malformed_settings_cannot_log_in(make_app):
    client = make_app(STAFF_USERS="ai_do:khong-phai-hash, :x, rong").test_client()
    token = login_token(client)
    response = client.post("/login", data={"csrf_token": token, "username": "ai_do",
                                           "password": "khong-phai-hash"})
    assert response.status_code == 401


def test_facet_links_add_a_second_value_and_take_one_away(client):
    soup = page(client, "/search", q="phòng cháy", type="Kế hoạch")
    link = facet_link(soup, "Loại văn bản", "Chỉ thị")
    assert query_of(link["href"]) == {"q": ["phòng cháy"], "type": ["Kế hoạch", "Chỉ thị"]}
    both = page(client, link["href"])
    assert len(hit_titles(both)) == 2
    assert [text(c) for c in both.select(".active-filters .chip")] == \
        ["Loại văn bản: Chỉ thị ×", "Loại văn bản: Kế hoạch ×"]
    remove = facet_link(both, "Loại văn bản", "Kế hoạch")
    assert query_of(remove["href"]) == {"q": ["phòng cháy"], "type": ["Chỉ thị"]}
    form = both.select_one("form.filter-form")
    assert [i["value"] for i in form.select("input[type=hidden][name=type]")] == \
        ["Kế hoạch", "Chỉ thị"]
    assert [i["value"] for i in both.select("form[role=search] input[name=type]")] == \
        ["Kế hoạch", "Chỉ thị"]


def test_the_filter_form_chooses_where_to_search(client):
    soup = page(client, "/search", q="45/KH-UBND", scope="number")
    assert soup.select_one("form.filter-form select[name=scope] option[selected]")["value"] == \
        "number"
    assert hit_titles(soup) == [
        "Kế hoạch diễn tập phương án phòng cháy chữa cháy tại khu dân cư năm 2022"]
    assert query_of(soup.select_one("a.twin-json")["href"])["scope"] == ["number"]


def test_a_query_naming_a_type_and_year_offers_a_link_to_that_filter(client):
    soup = page(client, "/search", q="kế hoạch phòng cháy 2022")
    offer = soup.select_one(".suggested-filter a")
    assert text(offer) == "Chỉ xem Kế hoạch năm 2022?"
    assert query_of(offer["href"]) == {"q": ["kế hoạch phòng cháy 2022"], "type": ["Kế hoạch"],
                                       "year": ["2022"]}
    assert page(client, offer["href"]).select_one(".suggested-filter") is None
