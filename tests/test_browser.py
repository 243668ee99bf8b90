"""A real browser (Debian chromium through Playwright) against a real server on 127.0.0.1."""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import quote

import pytest
from conftest import HOSTILE_ID, XSS_IMG, XSS_SCRIPT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed")


@pytest.fixture(scope="module")
def server_url(web_index):
    """The app served by werkzeug in a thread, on a free port."""
    from werkzeug.serving import make_server

    from search_service.web import create_app

    app = create_app({"TESTING": True, "INDEX_DIR": str(web_index), "SECRET_KEY": "browser"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh page that records every dialog (a fired alert() means an XSS hole)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    yield page
    assert page.dialogs == []
    context.close()


def hit_titles(page) -> list[str]:
    return [t.strip() for t in page.locator("li.hit .hit-title a").all_inner_texts()]


def test_search_from_the_home_page(page, server_url):
    page.goto(server_url + "/")
    page.get_by_label("Tìm tin tức, văn bản của phường").fill("phong chay")
    page.get_by_role("button", name="Tìm kiếm").click()
    page.wait_for_url("**/search?q=phong+chay")
    assert hit_titles(page)[0] == \
        "Kế hoạch diễn tập phương án phòng cháy chữa cháy tại khu dân cư năm 2022"
    assert page.locator(".summary").inner_text().startswith("Tìm thấy ")


def test_toggle_a_facet_on_and_off(page, server_url):
    page.goto(server_url + "/search?q=phòng+cháy")
    before = len(hit_titles(page))
    facet = page.locator(".facet a", has_text="Kế hoạch")
    facet.click()
    page.wait_for_url(lambda url: "type=K" in url)
    assert hit_titles(page) == [
        "Kế hoạch diễn tập phương án phòng cháy chữa cháy tại khu dân cư năm 2022"]
    page.locator(".facet a.selected").click()
    page.wait_for_load_state()
    assert "type=" not in page.url
    assert len(hit_titles(page)) == before


def test_page_through_results(page, server_url):
    page.goto(server_url + "/search?per_page=4")
    first = hit_titles(page)
    page.get_by_role("link", name="Trang sau ›").click()
    page.wait_for_url(lambda url: url.endswith("page=2"))
    second = hit_titles(page)
    assert len(second) == 4 and not set(first) & set(second)
    assert page.locator(".pagination [aria-current=page]").inner_text() == "2"


def test_open_a_document_from_the_results(page, server_url):
    page.goto(server_url + "/search?q=rà+soát+hộ+nghèo")
    page.locator("li.hit .hit-title a").first.click()
    page.wait_for_url(lambda url: "/documents/qd-123-2024?q=" in url)
    assert page.locator("h1").inner_text() == \
        "Quyết định thành lập Tổ công tác rà soát hộ nghèo, hộ cận nghèo năm 2024"
    assert page.locator(".properties").inner_text().count("123/QĐ-UBND") == 1


def test_keyboard_reaches_the_search_box_and_submits(page, server_url):
    page.goto(server_url + "/")
    page.keyboard.press("Tab")            # the skip link
    page.keyboard.press("Tab")            # the brand link
    page.keyboard.press("Tab")            # staff login
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "q"
    page.keyboard.type("hội nghị")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/search?q=" in url)
    assert len(hit_titles(page)) > 0


def test_phone_width_has_no_horizontal_scroll(browser, server_url):
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True,
                                  has_touch=True, device_scale_factor=2)
    page = context.new_page()
    try:
        for path in ("/", "/search?q=phòng+cháy", "/search?q=hoi+nghi&type=Quyết+định",
                     "/documents/qd-123-2024?q=hộ+nghèo", "/documents/" + quote(HOSTILE_ID),
                     "/login", "/search?page=0"):
            page.goto(server_url + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 360, (path, width)
        page.goto(server_url + "/search?q=phòng+cháy")
        assert page.locator("details.filters-box").get_attribute("open") is None   # folded
    finally:
        context.close()


def test_hostile_documents_show_as_text_and_run_nothing(page, server_url):
    page.goto(server_url + "/search?q=lịch+tiếp+công+dân")
    assert XSS_SCRIPT in hit_titles(page)[0]
    page.goto(server_url + "/documents/tb-12-2024?q=tiếp+dân")
    assert XSS_IMG in page.locator(".doc-body").inner_text()
    page.goto(server_url + "/documents/" + quote(HOSTILE_ID))
    assert XSS_IMG in page.locator("h1").inner_text()
    page.goto(server_url + "/search?q=" + quote(XSS_SCRIPT + XSS_IMG))
    assert page.get_by_label("Tìm tin tức, văn bản của phường").input_value() == \
        XSS_SCRIPT + XSS_IMG
    page.wait_for_timeout(300)            # give any injected handler time to fire
    assert page.dialogs == []


def test_suggestions_appear_while_typing(page, server_url):
    page.goto(server_url + "/")
    page.get_by_label("Tìm tin tức, văn bản của phường").press_sequentially("quyet dinh",
                                                                               delay=20)
    options = page.locator("#goi-y option")
    options.first.wait_for(state="attached", timeout=5000)
    values = sorted(options.evaluate_all("os => os.map(o => o.value)"))
    assert values == ["Quyết định ban hành quy chế phối hợp giữ gìn trật tự đô thị",
                      "Quyết định thành lập Tổ công tác rà soát hộ nghèo, hộ cận nghèo năm 2024"]
