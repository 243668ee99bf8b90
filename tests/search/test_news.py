"""What counts as news (search_service/news.py): untyped articles and the news types, the way
exports and staff type them, on the home page's "Tin mới" and in /feed.xml."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from bs4 import BeautifulSoup
from conftest import build_index, write_jsonl

from search_service.search.news import news_types
from search_service.search import SearchEngine

ATOM = "{http://www.w3.org/2005/Atom}"


def _doc(id_, title, published, **meta):
    return {"id": id_, "title": title, "body": title + ".", "published": published, **meta}


DOCS = [
    _doc("bai-viet", "Ra quân tổng vệ sinh môi trường tổ dân phố số 2", "2024-01-01"),
    _doc("tin-go", "Khai giảng lớp học tiếng Anh miễn phí cho thiếu nhi", "2024-02-01",
         doc_type="Tin tức", category="Văn hóa - Xã hội"),
    _doc("tin-hoa", "Trao học bổng cho học sinh vượt khó học giỏi", "2024-03-01",
         doc_type="TIN TỨC", category="TIN TỨC - SỰ KIỆN"),
    _doc("ban-tin", "Bản tin phường tháng 4", "2024-04-01", doc_type="Bản tin"),
    _doc("tb-lich", "Thông báo lịch tiếp công dân tháng 5", "2024-05-01", doc_type="Thông báo",
         doc_number="12/TB-UBND", issuer="UBND phường Phúc Lợi"),
    _doc("qd", "Quyết định thành lập tổ công tác cải cách hành chính", "2024-06-01",
         doc_type="Quyết định", doc_number="30/QĐ-UBND"),
    _doc("kh", "Kế hoạch tổng vệ sinh môi trường mùa mưa", "2024-07-01", doc_type="Kế hoạch",
         doc_number="31/KH-UBND"),
    _doc("tin-noi-bo", "Tin nội bộ về nhân sự văn phòng", "2024-08-01", doc_type="Tin",
         visibility="internal"),
]
PUBLIC_NEWS = ["tb-lich", "ban-tin", "tin-hoa", "tin-go", "bai-viet"]


@pytest.fixture(scope="module")
def news_index(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("news-corpus")
    write_jsonl(corpus / "trang-web.jsonl", DOCS)
    return build_index(tmp_path_factory.mktemp("news") / "index", corpus)


@pytest.fixture(scope="module")
def engine(news_index):
    engine = SearchEngine(news_index)
    yield engine
    engine.close()


def news_ids(engine, include_internal=False) -> list[str]:
    return [h.id for h in engine.latest(limit=20, news_only=True,
                                        include_internal=include_internal)]


def test_news_are_untyped_articles_news_types_and_notices_newest_first(engine):
    assert news_ids(engine) == PUBLIC_NEWS
    assert news_ids(engine, include_internal=True) == ["tin-noi-bo"] + PUBLIC_NEWS


@pytest.mark.parametrize("setting, expected", [
    ("Tin tức", ["tin-hoa", "tin-go", "bai-viet"]),          # any case: TIN TỨC too
    ("tin tuc, Thông  báo", ["tb-lich", "bai-viet"]),         # accents count; spaces do not
    ("", ["bai-viet"]),
])
def test_the_news_types_come_from_the_setting(news_index, monkeypatch, setting, expected):
    monkeypatch.setenv("SEARCH_NEWS_TYPES", setting)
    assert news_ids(SearchEngine(news_index)) == expected        # read when the engine starts
    monkeypatch.delenv("SEARCH_NEWS_TYPES")
    assert news_ids(SearchEngine(news_index, news=setting)) == expected   # or given to it


def test_an_app_takes_the_news_types_from_its_settings(news_index):
    from search_service.web import create_app

    app = create_app({"TESTING": True, "INDEX_DIR": str(news_index), "NEWS_TYPES": ""})
    assert news_ids(app.extensions["search_engine"]) == ["bai-viet"]


def test_news_types_parse_a_comma_separated_setting():
    assert news_types(" Tin tức,, BẢN TIN ") == frozenset({"tin tức", "bản tin"})
    assert news_types() == frozenset({"tin tức", "tin", "bản tin", "thông báo"})


@pytest.fixture(scope="module")
def client(news_index):
    from search_service.web import create_app

    return create_app({"TESTING": True, "INDEX_DIR": str(news_index)}).test_client()


def test_the_feed_lists_typed_news_and_notices(client):
    root = ET.fromstring(client.get("/feed.xml").data)
    ids = [e.find(ATOM + "link").get("href").rsplit("/", 1)[1] for e in root.findall(ATOM + "entry")]
    assert ids == PUBLIC_NEWS
    categories = {c.get("term"): c.get("label") for c in root.iter(ATOM + "category")}
    assert categories["TIN TỨC - SỰ KIỆN"] == "Tin tức - Sự kiện"


def test_the_home_page_lists_typed_news(client):
    soup = BeautifulSoup(client.get("/").get_data(as_text=True), "html.parser")
    titles = [" ".join(a.get_text().split()) for a in soup.select(".home-latest .hit-title a")]
    assert titles == [DOCS[4]["title"], DOCS[3]["title"], DOCS[2]["title"], DOCS[1]["title"],
                      DOCS[0]["title"]]
