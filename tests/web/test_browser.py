"""A real browser (Debian chromium through Playwright) against a real server on 127.0.0.1.

One server and one browser for the module. The index is the web corpus plus one article typed
"Tin tức", the way a JSON Lines export or a staff member types news.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from conftest import (FAST_HASH, HOSTILE_ID, XSS_IMG, XSS_SCRIPT, build_index, write_jsonl,
                      write_web_corpus)
from fixtures_files import scan_pdf_bytes

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# axe-core from the npm registry, installed by `make test` (pinned in the Makefile).
AXE = Path(__file__).resolve().parents[2] / ".cache/npm/node_modules/axe-core/axe.min.js"
AXE_VERSION = "4.14.1"
WIDTHS = {"phone": (360, 740), "desktop": (1280, 900)}

TYPED_NEWS = {"id": "tin-thu-vien", "title": "Khai trương thư viện sách cộng đồng tổ dân phố số 7",
              "body": "Thư viện mở cửa các buổi tối trong tuần cho thiếu nhi và người cao tuổi.",
              "published": "2025-01-10T09:00", "doc_type": "Tin tức",
              "category": "VĂN HÓA - XÃ HỘI"}

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed")


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    """The app served by werkzeug in a thread, on a free port."""
    from werkzeug.serving import make_server

    from search_service.web import create_app

    root = tmp_path_factory.mktemp("browser")
    corpus = write_web_corpus(root / "corpus")
    write_jsonl(corpus / "tin-go-tay.jsonl", [TYPED_NEWS])
    app = create_app({"TESTING": True, "INDEX_DIR": str(build_index(root / "index", corpus)),
                      "SECRET_KEY": "browser"})
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


def new_page(browser, width: str = "desktop", **options):
    """A page in a fresh context that records every dialog (a fired alert() is an XSS hole)."""
    w, h = WIDTHS[width]
    context = browser.new_context(viewport={"width": w, "height": h}, locale="vi-VN",
                                  is_mobile=width == "phone", has_touch=width == "phone",
                                  **options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    return page


@pytest.fixture
def page(browser):
    page = new_page(browser)
    yield page
    assert page.dialogs == []
    page.context.close()


@pytest.fixture(params=list(WIDTHS))
def any_page(browser, request):
    """The same test at 360 px (a phone) and at 1280 px."""
    page = new_page(browser, request.param)
    yield page
    assert page.dialogs == []
    page.context.close()


def hit_titles(page) -> list[str]:
    return [t.strip() for t in page.locator("li.hit .hit-title a").all_inner_texts()]


def focused(page) -> dict:
    return page.evaluate("""() => { const e = document.activeElement;
        return {id: e.id, text: e.innerText || '', in_hit: !!e.closest('li.hit'),
                in_results: !!e.closest('#ket-qua')}; }""")


# -- searching ---------------------------------------------------------------------------------
def test_search_from_the_home_page(page, server_url):
    page.goto(server_url + "/")
    page.get_by_label("Tìm tin tức, văn bản của phường").fill("phong chay")
    page.get_by_role("button", name="Tìm kiếm").click()
    page.wait_for_url("**/search?q=phong+chay")
    titles = hit_titles(page)           # two titles name it: a directive and a drill plan
    assert "phòng cháy" in titles[0].lower()
    assert "Kế hoạch diễn tập phương án phòng cháy chữa cháy tại khu dân cư năm 2022" in titles[:2]
    assert page.get_by_role("heading", level=1).inner_text() == "Kết quả tìm kiếm cho “phong chay”"
    assert page.locator(".summary").inner_text().startswith("Tìm thấy ")


def test_toggle_a_facet_on_and_off(page, server_url):
    page.goto(server_url + "/search?q=phòng+cháy")
    before = len(hit_titles(page))
    page.locator(".facet a", has_text="Kế hoạch").click()
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
    assert "đang xem 5–8" in page.locator(".summary").inner_text()


def test_open_a_document_from_the_results(page, server_url):
    page.goto(server_url + "/search?q=rà+soát+hộ+nghèo")
    page.locator("li.hit .hit-title a").first.click()
    page.wait_for_url(lambda url: "/documents/qd-123-2024?q=" in url)
    assert page.locator("h1").inner_text() == \
        "Quyết định thành lập Tổ công tác rà soát hộ nghèo, hộ cận nghèo năm 2024"
    assert page.locator(".properties").inner_text().count("123/QĐ-UBND") == 1


def test_the_news_list_holds_typed_news_and_notices(page, server_url):
    page.goto(server_url + "/")
    latest = [t.strip() for t in page.locator(".home-latest .hit-title a").all_inner_texts()]
    assert latest[:3] == [TYPED_NEWS["title"],
                          "Phường Phúc Lợi tổ chức Hội nghị sơ kết công tác 6 tháng đầu năm 2024",
                          f"Thông báo lịch tiếp công dân {XSS_SCRIPT} tháng 6"]
    assert page.locator(".home-latest .tag").first.inner_text() == "Tin tức"


# -- keyboard ----------------------------------------------------------------------------------
def test_keyboard_reaches_the_search_box_and_submits(page, server_url):
    page.goto(server_url + "/")
    for _ in range(4):                    # the skip link, the brand, staff login, the box
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "q"
    page.keyboard.type("hội nghị")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/search?q=" in url)
    assert len(hit_titles(page)) > 0


def tabs_to_first_result(page) -> int:
    page.locator("#q").focus()
    for presses in range(1, 80):
        page.keyboard.press("Tab")
        if focused(page)["in_hit"]:
            return presses
    raise AssertionError("Tab never reached a result")


@pytest.mark.parametrize("path", ["/search?q=phòng+cháy", "/search?q=quyet+dinh&type=Quyết+định"])
def test_few_tab_presses_lead_from_the_search_box_to_the_first_result(any_page, server_url,
                                                                      path):
    any_page.goto(server_url + path)
    assert tabs_to_first_result(any_page) <= 5


def test_the_skip_link_lands_on_the_results(any_page, server_url):
    any_page.goto(server_url + "/search?q=phòng+cháy")
    any_page.keyboard.press("Tab")
    assert focused(any_page)["text"] == "Bỏ qua, đến kết quả tìm kiếm"
    any_page.keyboard.press("Enter")
    any_page.keyboard.press("Tab")
    assert focused(any_page)["in_results"]
    if any_page.viewport_size["width"] > 900:
        assert focused(any_page)["in_hit"]
    else:                                  # the link to the filters, then the first result
        assert focused(any_page)["text"] == "Bộ lọc và sắp xếp"


# -- dates -------------------------------------------------------------------------------------
def set_reversed_range(page):
    page.locator(".filter-form #from").fill("01/06/2024")
    page.locator(".filter-form #to").fill("01/01/2024")
    page.get_by_role("button", name="Áp dụng").click()


def test_a_reversed_date_range_is_stopped_before_it_is_sent(page, server_url):
    url = server_url + "/search?q=h%E1%BB%99i+ngh%E1%BB%8B"
    page.goto(url)
    set_reversed_range(page)
    error = page.locator("#date-error")
    assert error.inner_text() == "“Từ ngày” phải trước hoặc bằng “Đến ngày”."
    assert page.url == url                              # nothing was sent
    assert focused(page)["id"] == "from"
    assert page.locator("#from").get_attribute("aria-invalid") == "true"
    assert page.locator("#q").input_value() == "hội nghị"
    page.locator("#to").fill("31/12/2024")
    page.get_by_role("button", name="Áp dụng").click()
    page.wait_for_url(lambda u: "to=31%2F12%2F2024" in u)
    assert page.locator(".active-filters .chip").inner_text().startswith(
        "Từ 01/06/2024 đến 31/12/2024")


def test_without_javascript_a_reversed_range_keeps_the_search(browser, server_url):
    page = new_page(browser, java_script_enabled=False)
    try:
        page.goto(server_url + "/search?q=h%E1%BB%99i+ngh%E1%BB%8B&type=Quy%E1%BA%BFt+%C4%91%E1%BB%8Bnh")
        set_reversed_range(page)
        page.wait_for_url(lambda u: "from=" in u)
        assert page.locator("#q").input_value() == "hội nghị"
        assert page.locator(".filter-form #from").input_value() == "01/06/2024"
        assert page.locator("#date-error").inner_text() == \
            "“Từ ngày” phải trước hoặc bằng “Đến ngày”."
        assert page.locator(".active-filters .chip").inner_text().startswith(
            "Loại văn bản: Quyết định")
    finally:
        page.context.close()


# -- facets ------------------------------------------------------------------------------------
def test_xem_them_opens_the_rest_of_a_facet_list_from_the_keyboard(any_page, server_url):
    any_page.goto(server_url + "/search")
    facet = any_page.locator(".facet").filter(has=any_page.get_by_role("heading", name="Chuyên mục"))
    hidden = facet.locator("details.facet-more a")
    # 8 categories (two spellings of "An ninh - Quốc phòng" are one): 5 shown, 3 behind.
    assert hidden.count() == 3 and not hidden.first.is_visible()
    more = facet.locator("summary")
    assert more.inner_text().startswith("Xem thêm 3 chuyên mục")
    more.focus()
    any_page.keyboard.press("Enter")
    assert hidden.first.is_visible() and hidden.last.is_visible()
    assert more.inner_text().startswith("Thu gọn")
    assert any_page.evaluate("document.documentElement.scrollWidth") <= \
        any_page.viewport_size["width"]


# -- completions -------------------------------------------------------------------------------
def test_completions_are_a_listbox_that_opens_what_is_chosen(page, server_url):
    page.goto(server_url + "/")
    box = page.get_by_role("combobox", name="Tìm tin tức, văn bản của phường")
    box.press_sequentially("quyet dinh", delay=20)
    listbox = page.get_by_role("listbox")
    listbox.wait_for()
    assert box.get_attribute("aria-expanded") == "true"
    assert box.get_attribute("aria-controls") == listbox.get_attribute("id")
    items = page.request.get(server_url + "/api/suggest?q=quyet+dinh").json()["items"]
    options = page.get_by_role("option")
    # On a slow machine a list for a shorter prefix may show first: wait for the whole word's.
    expect = pytest.importorskip("playwright.sync_api").expect
    expect(options).to_have_text([re.compile("^" + re.escape(i["label"])) for i in items])
    assert [o.split("\n")[0] for o in options.all_inner_texts()] == [i["label"] for i in items]
    # The keyboard: down to the first document, Enter opens it.
    first_doc = next(n for n, i in enumerate(items) if i["kind"] == "document")
    for _ in range(first_doc + 1):
        box.press("ArrowDown")
    assert box.get_attribute("aria-activedescendant") == options.nth(first_doc).get_attribute("id")
    assert options.nth(first_doc).get_attribute("aria-selected") == "true"
    box.press("Enter")
    page.wait_for_url(lambda u: unquote(u).endswith(items[first_doc]["url"]))
    if items[first_doc]["id"]:
        assert page.locator("h1").inner_text() == items[first_doc]["text"]
    # A click on a type runs the filtered search; Escape closes the list.
    page.goto(server_url + "/")
    box.press_sequentially("quyet dinh", delay=20)
    listbox.wait_for()
    box.press("Escape")
    assert listbox.is_hidden() and box.get_attribute("aria-expanded") == "false"
    box.press("ArrowDown")
    types = [n for n, i in enumerate(items) if i["kind"] == "type"]
    if types:
        options.nth(types[0]).click()
        page.wait_for_url(lambda u: "/search?type=" in u)
        assert page.locator(".active-filters .chip").inner_text().startswith(
            "Loại văn bản: Quyết định")


# -- what every page must pass -----------------------------------------------------------------
AXE_PAGES = ["/", "/search?q=phòng+cháy", "/search?q=quyet+dinh&type=Quyết+định&from=2019-01-01",
             "/search?q=x&from=01/06/2024&to=01/01/2024", "/documents/qd-123-2024?q=hộ+nghèo",
             "/login"]


@pytest.mark.skipif(not AXE.exists(), reason="axe-core is not installed: run `make test`")
@pytest.mark.parametrize("width", list(WIDTHS))
def test_axe_finds_no_violations(browser, server_url, width):
    # The CSP forbids inline scripts, axe's own included: this context does not apply it.
    page = new_page(browser, width, bypass_csp=True)
    source = AXE.read_text(encoding="utf-8")
    try:
        found = {}
        for path in AXE_PAGES:
            page.goto(server_url + path)
            page.add_script_tag(content=source)
            assert page.evaluate("axe.version") == AXE_VERSION
            violations = page.evaluate("""async () => (await axe.run()).violations.map(
                v => [v.id, v.nodes.map(n => n.target.join(' '))])""")
            if violations:
                found[path] = violations
        assert found == {}
    finally:
        page.context.close()


TARGET_SIZES = """() => [...document.querySelectorAll(
      'a[href], button, input:not([type=hidden]), select, summary')]
    .filter(e => e.getClientRects().length && !e.classList.contains('skip'))
    .map(e => [e.innerText.trim().slice(0, 30) || e.name, e.getBoundingClientRect()])
    .filter(([, r]) => r.height < 24 || r.width < 24)
    .map(([name, r]) => [name, Math.round(r.width), Math.round(r.height)])"""


def test_tap_targets_are_at_least_24_px(any_page, server_url):
    small = {}
    for path in ("/", "/search?q=quyet+dinh&type=Quyết+định&from=2019-01-01",
                 "/search?q=zzzz&type=Chỉ+thị", "/documents/qd-123-2024?q=hộ+nghèo",
                 "/search?page=0"):
        any_page.goto(server_url + path)
        found = any_page.evaluate(TARGET_SIZES)
        if found:
            small[path] = found
    assert small == {}


def test_the_placeholder_fits_in_the_search_box_on_a_phone(browser, server_url):
    page = new_page(browser, "phone")
    try:
        for path in ("/", "/search?q="):
            page.goto(server_url + path)
            room, needed = page.locator("#q").evaluate("""box => {
                const s = getComputedStyle(box);
                const ctx = document.createElement('canvas').getContext('2d');
                ctx.font = s.font;
                return [box.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight),
                        ctx.measureText(box.placeholder).width]; }""")
            assert needed <= room, (path, needed, room)
    finally:
        page.context.close()


def test_phone_width_has_no_horizontal_scroll(browser, server_url):
    page = new_page(browser, "phone")
    try:
        for path in ("/", "/search?q=phòng+cháy", "/search?q=hoi+nghi&type=Quyết+định",
                     "/documents/qd-123-2024?q=hộ+nghèo", "/documents/" + quote(HOSTILE_ID),
                     "/login", "/search?page=0", "/search?from=01/06/2024&to=01/01/2024"):
            page.goto(server_url + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 360, (path, width)
        page.goto(server_url + "/search?q=phòng+cháy")
        page.get_by_role("link", name="Bộ lọc và sắp xếp").click()
        assert page.locator("#bo-loc").is_visible() and page.url.endswith("#bo-loc")
    finally:
        page.context.close()


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
    page.locator("#q").press_sequentially("ng", delay=20)     # completions render text too
    page.wait_for_timeout(300)            # give any injected handler time to fire
    assert page.dialogs == []


# -- the staff console's script follows an upload read by OCR (#10) ----------------------------
def test_the_console_script_shows_a_scan_read_page_by_page(browser, tmp_path, web_index,
                                                           make_app):
    import shutil

    from werkzeug.serving import make_server

    from search_service.ingest import ocr
    from search_service.library import Library

    if not ocr.available():
        pytest.skip("needs tesseract-ocr and tesseract-ocr-vie (make test installs them)")
    shutil.copytree(web_index, tmp_path / "index")
    library = Library(tmp_path / "library", password_method=FAST_HASH)
    library.users.add("bien_tap", "editor", "mật khẩu 2024", actor="test")
    app = make_app(INDEX_DIR=str(tmp_path / "index"), LIBRARY_DIR=str(tmp_path / "library"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    scan = tmp_path / "quet-1998.pdf"
    scan.write_bytes(scan_pdf_bytes([
        ["QUYẾT ĐỊNH", "Về việc nạo vét mương thoát nước"],
        ["Điều 1. Phê duyệt kế hoạch nạo vét mương", "trước mùa mưa bão năm 1998."]], height=220))
    page = new_page(browser)
    try:
        page.goto(url + "/login")
        page.fill("#username", "bien_tap")
        page.fill("#password", "mật khẩu 2024")
        page.click("button[type=submit]")
        page.goto(url + "/console/upload")
        page.set_input_files("#upload-files", str(scan))
        page.click("#upload-form button[type=submit]")
        status = page.locator("#upload-results .upload-status")
        status.filter(has_text=re.compile(r"Đang nhận dạng chữ \(OCR\): trang [12]/2…")
                      ).wait_for(timeout=60_000)
        page.locator("#upload-results .upload-created").wait_for(timeout=120_000)
        assert page.locator("#upload-results .upload-status").inner_text() == \
            "Đã nhận (bản nháp)"
        assert page.dialogs == []
    finally:
        page.context.close()
        server.shutdown()
        thread.join(timeout=5)
        library.close()
