"""Snippets and marks: what a resident sees under each result, even for hostile documents."""

from __future__ import annotations

import re

from search_service.search.highlight import MAX_CHARS, mark, snippet
from test_search import build_engine, search


def marked(html: str) -> list[str]:
    return re.findall(r"<mark>(.*?)</mark>", html)


def test_snippet_shows_the_passage_with_the_most_distinct_words():
    text = ("Phòng họp tổ dân phố. " * 30 + "Lịch tiêm chủng phòng bệnh cho trẻ em. "
            + "Phòng họp. " * 30)
    html = snippet(text, {"tiem", "chung", "phong"})
    assert marked(html)[:3] == ["tiêm", "chủng", "phòng"]
    assert html.startswith("… ") and html.endswith(" …")


def test_a_huge_document_with_matches_everywhere_gives_a_short_snippet():
    # 8 MB and 360,000 matches: the old window search compared every match with every other.
    text = "Phòng cháy chữa cháy tại khu dân cư. Người dân tham gia đầy đủ. " * 125_000
    html = snippet(text, {"phong", "chay", "dan"})
    assert set(marked(html)) == {"Phòng", "cháy", "dân"}
    assert len(re.sub(r"</?mark>", "", html)) <= MAX_CHARS + 4


def test_marks_are_whole_syllables_in_any_case_and_diacritics():
    assert marked(mark("PHÒNG phòng Phong phongg ĐƯỜNG đường", {"phong", "duong"})) == [
        "PHÒNG", "phòng", "Phong", "ĐƯỜNG", "đường"]


def test_a_document_number_is_marked_whole_in_any_separator_style():
    text = "Thực hiện Nghị quyết số 15-NQ/ĐU, nay đủ điều kiện; xem 15/NQ-ĐU và 015 NQ ĐU."
    assert marked(mark(text, set(), ["15-nq-du"])) == ["15-NQ/ĐU", "15/NQ-ĐU", "015 NQ ĐU"]


def test_a_number_query_marks_the_number_not_its_parts(tmp_path):
    engine = build_engine(tmp_path, [
        {"id": "kh", "title": "Kế hoạch thực hiện nghị quyết",
         "body": "Có đủ điều kiện. Thực hiện Nghị quyết số 15-NQ/ĐU của Đảng ủy phường."},
        {"id": "du", "title": "Thông báo", "body": "Đủ 15 người dự họp."}])
    first = search(engine, "15-NQ/ĐU").hits[0]
    assert first.id == "kh"
    assert marked(first.snippet) == ["15-NQ/ĐU"]


def test_the_page_of_a_huge_document_shows_its_beginning_and_says_so(tmp_path):
    from search_service.web import create_app
    from search_service.web.ui import PAGE_TEXT_CHARS

    line = "Phòng cháy chữa cháy tại khu dân cư, người dân tham gia đầy đủ.\n"
    build_engine(tmp_path, [{"id": "dai", "title": "Tài liệu rất dài",
                             "body": line * (2 * PAGE_TEXT_CHARS // len(line))}])
    client = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "index"),
                         "SECRET_KEY": "x"}).test_client()
    page = client.get("/documents/dai?q=phong+chay").get_data(as_text=True)
    assert page.count("<mark>Phòng</mark>") == -(-PAGE_TEXT_CHARS // len(line))   # lines begun
    assert "Văn bản rất dài: trang này hiển thị 200.000 ký tự đầu" in page
    assert len(client.get("/api/documents/dai").get_json()["body"]) > 2 * PAGE_TEXT_CHARS - 100


def test_text_with_a_lone_surrogate_is_marked_around_it():
    """Text decoded from broken UTF-16 may hold a lone surrogate: matching folds the text
    character by character, and such a character stays where it is."""
    text = "Phòng \ud800 cháy chữa cháy"
    assert marked(mark(text, {"phong", "chay"})) == ["Phòng", "cháy", "cháy"]
    assert marked(snippet(text, {"chay"})) == ["cháy", "cháy"]
