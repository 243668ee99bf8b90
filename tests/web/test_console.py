"""The staff console: logins from the library and their roles, forms guarded by CSRF tokens,
uploads, corrections, publishing, deleting; and one flow in a real browser.

Accounts are made in the library as ``users add`` makes them; the old ``STAFF_USERS`` setting
still holds ``can_bo`` (conftest), who is a viewer.
"""

from __future__ import annotations

import io
import re
import threading

import pytest
from bs4 import BeautifulSoup
from conftest import FAST_HASH, STAFF_PASSWORD, log_in
from fixtures_files import (BC_LINES, QD_META, docx_without_document_xml, pdf_bytes,
                           scan_pdf_bytes, write_docx)
from test_write_api import Site, hit_ids, uploads

from search_service.library import Library

EDITOR, VIEWER = "bien_tap", "chi_xem"
PASSWORD = "mật khẩu biên tập 2024"


@pytest.fixture
def site(tmp_path, web_index, make_app):
    import shutil

    shutil.copytree(web_index, tmp_path / "index")
    library = Library(tmp_path / "library", password_method=FAST_HASH)
    library.users.add(EDITOR, "editor", PASSWORD, actor="test")
    library.users.add(VIEWER, "viewer", PASSWORD, actor="test")
    yield Site(make_app(INDEX_DIR=str(tmp_path / "index"), LIBRARY_DIR=str(tmp_path / "library")),
               library, {}, tmp_path)
    library.close()


@pytest.fixture(scope="module")
def docx_bytes(tmp_path_factory) -> bytes:
    return write_docx(tmp_path_factory.mktemp("docx")).read_bytes()


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def login(client, user=EDITOR, password=PASSWORD):
    return log_in(client, user, password)


def staff(site, user=EDITOR):
    client = site.client()
    assert login(client, user).status_code == 302
    return client


def csrf(client, url="/console/") -> str:
    return soup(client.get(url)).select_one("input[name=csrf_token]")["value"]


def upload_form(client, files: list[tuple[bytes, str]], visibility="public", token=None,
                **headers):
    data = {"csrf_token": csrf(client) if token is None else token, "visibility": visibility,
            "files": [(io.BytesIO(data), name) for data, name in files]}
    return client.post("/console/upload", data=data, content_type="multipart/form-data",
                       headers=headers)


def uploaded_id(client, data: bytes, name: str, visibility="public") -> str:
    response = upload_form(client, [(data, name)], visibility, Accept="application/json")
    assert response.status_code == 200
    return response.get_json()["results"][0]["id"]


def edit_form(client, doc_id: str) -> dict:
    """The edit form's fields as the page fills them."""
    page = soup(client.get(f"/console/documents/{doc_id}"))
    form = page.select_one("form.console-form")
    values = {i["name"]: i.get("value", "") for i in form.select("input[type=hidden], "
                                                                  "input[type=text]")}
    values.update({t["name"]: t.get_text() for t in form.select("textarea")})
    values["visibility"] = form.select_one("input[name=visibility][checked]")["value"]
    return values


# -- logins from the library ---------------------------------------------------------------------
def test_library_users_log_in_and_see_internal_documents(site):
    for user in (EDITOR, VIEWER, "BIEN_TAP"):
        client = site.client()
        assert login(client, user).status_code == 302
        assert sorted(hit_ids(client, "sen hong")) == ["noi-bo-bc-15", "noi-bo-tt-07"]
        assert client.get("/console/").status_code == 200


def test_a_wrong_password_for_a_library_user_is_refused(site):
    client = site.client()
    response = login(client, EDITOR, "sai mật khẩu")
    assert response.status_code == 401
    assert hit_ids(client, "sen hong") == []


def test_lockout_counts_a_library_name_in_any_letter_case(site):
    client = site.client()
    statuses = [login(client, name, "sai").status_code
                for name in ("bien_tap", "BIEN_TAP", "Bien_Tap", "bien_TAP", "BiEn_TaP", "bien_tap")]
    assert statuses == [401] * 5 + [429]
    assert login(client).status_code == 429


@pytest.mark.parametrize("user, can_edit", [(EDITOR, True), (VIEWER, False), ("can_bo", False)])
def test_roles_decide_who_may_change_documents(site, user, can_edit):
    client = site.client()
    password = STAFF_PASSWORD if user == "can_bo" else PASSWORD
    assert login(client, user, password).status_code == 302
    assert client.get("/console/").status_code == 200
    assert client.get("/console/upload").status_code == (200 if can_edit else 403)
    response = upload_form(client, [(b"Th\xc3\xb4ng b\xc3\xa1o", "tb.txt")])
    assert response.status_code == (200 if can_edit else 403)
    assert len(uploads(site.library)) == (1 if can_edit else 0)


def test_the_library_wins_over_a_setting_user_of_the_same_name(site, make_app):
    site.library.users.add("can_bo", "editor", PASSWORD, actor="test")
    client = site.client()
    assert login(client, "can_bo", STAFF_PASSWORD).status_code == 401     # the setting's
    assert login(client, "can_bo", PASSWORD).status_code == 302
    assert client.get("/console/upload").status_code == 200


def test_removing_a_library_user_ends_their_session(site):
    client = staff(site, VIEWER)
    assert client.get("/console/").status_code == 200
    site.library.users.remove(VIEWER, actor="test")
    assert client.get("/console/").status_code == 302
    assert hit_ids(client, "sen hong") == []


def test_a_changed_role_counts_at_the_next_request(site):
    client = staff(site, EDITOR)
    assert client.get("/console/upload").status_code == 200
    site.library.users.remove(EDITOR, actor="test")
    site.library.users.add(EDITOR, "viewer", PASSWORD, actor="test")
    assert client.get("/console/upload").status_code == 403


def test_visitors_are_sent_to_the_login_page(site):
    response = site.client().get("/console/upload")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/console/upload"


# -- forms refuse requests without the session's CSRF token ---------------------------------------
@pytest.mark.parametrize("token", ["", "sai-ma", None])
def test_console_forms_refuse_a_missing_or_wrong_csrf_token(site, docx_bytes, token):
    client = staff(site)
    doc_id = uploaded_id(client, docx_bytes, "qd.docx")
    before = site.library.get(doc_id)
    form = {} if token is None else {"csrf_token": token}
    posts = [("/console/upload", {**form, "files": (io.BytesIO(b"abc"), "a.txt")}),
             (f"/console/documents/{doc_id}", {**form, "doc_number": "1/QĐ-UBND",
                                               "action": "publish"}),
             (f"/console/documents/{doc_id}/delete", form)]
    for url, data in posts:
        response = client.post(url, data=data, content_type="multipart/form-data")
        assert response.status_code == 403, url
        assert "Phiên làm việc đã hết hạn" in response.get_data(as_text=True)
    assert site.library.get(doc_id) == before
    assert len(uploads(site.library)) == 1


# -- uploading ------------------------------------------------------------------------------------
def test_the_plain_form_takes_several_files_and_says_what_became_of_each(site, docx_bytes):
    client = staff(site)
    response = upload_form(client, [(docx_bytes, "Quyết định 123.docx"),
                                    (docx_without_document_xml(), "bang-tinh.docx")])
    assert response.status_code == 200
    items = soup(response).select("#upload-results li")
    assert [i.select_one(".upload-name").get_text() for i in items] == \
        ["Quyết định 123.docx", "bang-tinh.docx"]
    assert items[0].select_one(".upload-status").get_text() == "Đã nhận (bản nháp)"
    assert items[0].select_one(".upload-title").get_text() == QD_META["title"]
    assert "Số hiệu 123/QĐ-UBND" in " ".join(items[0].select_one("dl").get_text(" ").split())
    assert items[1].select_one(".form-error").get_text() == \
        "Không nhận: Nội dung tệp không khớp với loại tệp ghi trong tên tệp."
    [doc] = uploads(site.library)
    assert (doc.is_published, doc.visibility) == (False, "public")       # a draft
    assert site.client().get(f"/api/documents/{doc.id}").status_code == 404


def test_the_script_upload_gets_json_for_one_file(site, docx_bytes):
    client = staff(site)
    response = upload_form(client, [(docx_bytes, "qd.docx")], "internal",
                           Accept="application/json")
    [result] = response.get_json()["results"]
    assert result["status"] == "created" and result["visibility"] == "Nội bộ"
    assert result["edit_url"] == f"/console/documents/{result['id']}"
    assert ["Số hiệu", "123/QĐ-UBND"] in result["metadata"]
    again = upload_form(client, [(docx_bytes, "qd.docx")], Accept="application/json")
    assert again.get_json()["results"][0]["status"] == "duplicate"


def test_a_form_with_no_file_says_so(site):
    client = staff(site)
    response = upload_form(client, [])
    assert response.status_code == 400
    assert soup(response).select_one(".form-error").get_text() == "Chưa chọn tệp nào."


def test_an_upload_over_the_limit_gets_the_vietnamese_413_page(site, make_app):
    app = make_app(INDEX_DIR=str(site.folder / "index"),
                   LIBRARY_DIR=str(site.folder / "library"), MAX_FILE_MB=0.05)
    client = app.test_client()
    assert login(client).status_code == 302
    response = upload_form(client, [(b"x" * 1_000_000, "lon.txt")])
    assert response.status_code == 413
    assert soup(response).h1.get_text() == "Dữ liệu quá lớn"
    assert uploads(site.library) == []


# -- correcting, publishing, deleting -------------------------------------------------------------
def test_correct_a_number_and_publish_then_residents_find_it(site, docx_bytes):
    client = staff(site)
    doc_id = uploaded_id(client, docx_bytes, "qd.docx")
    form = edit_form(client, doc_id)
    assert (form["doc_number"], form["published"], form["visibility"]) == \
        ("123/QĐ-UBND", "05/03/2024", "public")
    response = client.post(f"/console/documents/{doc_id}",
                           data={**form, "doc_number": "124/QĐ-UBND", "action": "publish"})
    assert (response.status_code, response.headers["Location"]) == \
        (303, f"/console/documents/{doc_id}")
    page = soup(client.get(response.headers["Location"]))
    assert page.select_one(".console-message").get_text() == "Đã lưu và công bố."
    resident = site.client()
    assert hit_ids(resident, "124/QĐ-UBND")[0] == doc_id
    [event] = site.library.events(1)
    assert (event["actor"], event["action"]) == (EDITOR, "publish")
    assert site.library.events(2)[1]["changes"] == {"doc_number": ["123/QĐ-UBND", "124/QĐ-UBND"]}


def test_a_bad_date_keeps_the_form_and_changes_nothing(site, docx_bytes):
    client = staff(site)
    doc_id = uploaded_id(client, docx_bytes, "qd.docx")
    before = site.library.get(doc_id)
    form = edit_form(client, doc_id)
    response = client.post(f"/console/documents/{doc_id}",
                           data={**form, "published": "31/02/2024", "signer": "Người khác",
                                 "action": "publish"})
    assert response.status_code == 400
    page = soup(response)
    assert page.select_one(".form-error").get_text() == \
        "Ngày ban hành phải có dạng ngày/tháng/năm, ví dụ 05/03/2024."
    assert page.select_one("#f-signer")["value"] == "Người khác"          # what was typed
    assert site.library.get(doc_id) == before


def test_unpublish_hides_from_residents_but_keeps_it(site, docx_bytes):
    client = staff(site)
    doc_id = uploaded_id(client, docx_bytes, "qd.docx")
    form = edit_form(client, doc_id)
    client.post(f"/console/documents/{doc_id}", data={**form, "action": "publish"})
    assert site.client().get(f"/documents/{doc_id}").status_code == 200
    client.post(f"/console/documents/{doc_id}", data={**form, "action": "unpublish"})
    assert site.client().get(f"/documents/{doc_id}").status_code == 404
    assert client.get(f"/documents/{doc_id}").status_code == 200           # staff still see it
    listed = soup(client.get("/console/", query_string={"state": "draft"}))
    assert [a["href"] for a in listed.select(".console-item-title a")] == \
        [f"/console/documents/{doc_id}"]
    published = soup(client.get("/console/", query_string={"state": "published"}))
    assert f"/console/documents/{doc_id}" not in \
        [a["href"] for a in published.select(".console-item-title a")]


def test_delete_asks_first_then_removes_everything(site, docx_bytes):
    client = staff(site)
    doc_id = uploaded_id(client, docx_bytes, "qd.docx")
    page = soup(client.get(f"/console/documents/{doc_id}"))
    confirm_url = page.find("a", string="Xóa tài liệu…")["href"]
    confirm = soup(client.get(confirm_url))
    assert confirm.h1.get_text() == "Xóa tài liệu?"
    assert len(uploads(site.library)) == 1                       # asking deletes nothing
    response = client.post(confirm_url, data={"csrf_token": csrf(client)})
    assert (response.status_code, response.headers["Location"]) == (303, "/console/")
    assert soup(client.get("/console/")).select_one(".console-message").get_text() == \
        f"Đã xóa “{QD_META['title']}”."
    assert uploads(site.library) == []
    assert client.get(f"/documents/{doc_id}").status_code == 404
    assert client.get(f"/console/documents/{doc_id}").status_code == 404


def test_editors_see_an_edit_link_on_the_document_page(site, docx_bytes):
    client = staff(site)
    doc_id = uploaded_id(client, docx_bytes, "qd.docx")
    page = soup(client.get(f"/documents/{doc_id}"))
    assert page.find("a", string="Sửa")["href"] == f"/console/documents/{doc_id}"
    viewer = soup(staff(site, VIEWER).get(f"/documents/{doc_id}"))
    assert viewer.find("a", string="Sửa") is None
    assert viewer.find("a", string="Tải văn bản gốc") is not None


def test_a_document_copied_from_an_old_index_says_it_has_no_original(site):
    importing = pytest.importorskip("search_service.library.importing")
    importing.import_index(site.library, site.folder / "index", actor="test")
    client = staff(site)
    page = soup(client.get("/console/documents/qd-123-2024"))
    assert page.find("a", string="Tải văn bản gốc") is None
    assert "Không có tệp gốc" in page.select_one(".console-links").get_text()
    public = soup(client.get("/documents/qd-123-2024"))
    assert public.find("a", string="Tải văn bản gốc") is None
    assert public.find("a", string="Sửa")["href"] == "/console/documents/qd-123-2024"


@pytest.mark.parametrize("query", [{"visibility": "bi-mat"}, {"state": "xoa"}, {"page": "0"},
                                   {"page": "abc"}])
def test_list_filters_that_make_no_sense_are_400(site, query):
    response = staff(site).get("/console/", query_string=query)
    assert response.status_code == 400


@pytest.mark.parametrize("q", ["\x00", "/", "-", "\u200b", "phòng\x00cháy"])
def test_list_text_without_letters_or_digits_is_no_filter(site, q):
    response = staff(site).get("/console/", query_string={"q": q})
    assert response.status_code == 200


def test_what_a_file_says_stays_text(site):
    hostile = ("<script>alert(1)</script> Thông báo <img src=x onerror=alert(1)>\n"
               "Nội dung thông báo về lịch tiếp công dân.").encode()
    client = staff(site)
    doc_id = uploaded_id(client, hostile, "<b>tb</b>.txt")
    for url in (f"/console/documents/{doc_id}", "/console/"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;" in html


# -- headers --------------------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["/console/", "/console/upload"])
def test_console_pages_are_not_stored_and_keep_the_security_headers(site, url):
    response = staff(site).get(url)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert not soup(response).select("script:not([src])")                  # no inline script


# -- one flow in a real browser -------------------------------------------------------------------
@pytest.fixture
def served(site):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, site.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


def test_staff_upload_correct_publish_and_a_resident_downloads(site, served, tmp_path,
                                                               docx_bytes):
    from test_browser import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    docx = tmp_path / "Quyết định 123.docx"
    docx.write_bytes(docx_bytes)
    pdf = tmp_path / "bao-cao-08.pdf"
    pdf.write_bytes(pdf_bytes(BC_LINES))
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=CHROMIUM_ARGS)
        staff_page = browser.new_context(viewport={"width": 360, "height": 740},
                                         locale="vi-VN").new_page()
        staff_page.set_default_timeout(15_000)
        staff_page.goto(served + "/console/upload")                       # → the login page
        staff_page.get_by_label("Tên đăng nhập").fill(EDITOR)
        staff_page.get_by_label("Mật khẩu").fill(PASSWORD)
        staff_page.get_by_role("button", name="Đăng nhập").click()
        staff_page.wait_for_url("**/console/upload")
        staff_page.locator("#upload-files").set_input_files([str(docx), str(pdf)])
        staff_page.get_by_role("button", name="Tải lên").click()
        links = staff_page.get_by_role("link", name="Xem, sửa và công bố")
        links.nth(1).wait_for()
        assert staff_page.locator(".upload-progress").count() == 0
        assert staff_page.evaluate("document.documentElement.scrollWidth") == 360   # no sideways
        edit_urls = [links.nth(i).get_attribute("href") for i in range(2)]

        staff_page.goto(served + edit_urls[0])                            # the decision
        staff_page.get_by_label("Số hiệu").fill("321/QĐ-UBND")
        staff_page.get_by_role("button", name="Lưu và công bố").click()
        staff_page.get_by_text("Đã lưu và công bố.").wait_for()
        staff_page.goto(served + edit_urls[1])                            # the report
        staff_page.get_by_label("Nội bộ: chỉ cán bộ xem được").check()
        staff_page.get_by_role("button", name="Lưu và công bố").click()
        staff_page.get_by_text("Đã lưu và công bố.").wait_for()

        resident = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN",
                                       accept_downloads=True).new_page()
        resident.set_default_timeout(15_000)
        resident.goto(served + "/search?q=321%2FQĐ-UBND")
        resident.locator("li.hit .hit-title a").first.click()
        resident.wait_for_url("**/documents/**")
        assert resident.locator("h1").inner_text() == QD_META["title"]
        with resident.expect_download() as download:
            resident.get_by_role("link", name="Tải văn bản gốc").click()
        assert download.value.suggested_filename == "Quyết định 123.docx"
        assert open(download.value.path(), "rb").read() == docx_bytes
        assert resident.get_by_role("link", name="Sửa").count() == 0

        report_id = edit_urls[1].rsplit("/", 1)[1]
        resident.goto(served + "/search?q=08%2FBC-HĐND")
        titles = resident.locator("li.hit .hit-title a").all_inner_texts()
        assert not any("giám sát việc giải quyết đơn thư" in t for t in titles)
        assert resident.goto(served + f"/documents/{report_id}").status == 404
        assert resident.goto(served + f"/api/documents/{report_id}/original").status == 404
        browser.close()
    assert re.fullmatch(r"/console/documents/[0-9a-f]{16}", edit_urls[1])


# -- a scan read by OCR in the background, its progress page by page (#10) ------------------------
def needs_ocr():
    from search_service.ingest import ocr

    if not ocr.available():
        pytest.skip("needs tesseract-ocr and tesseract-ocr-vie (make test installs them)")


SCAN_PAGES = [["QUYẾT ĐỊNH", "Về việc nạo vét mương thoát nước", "tổ dân phố số 5 năm 1998"],
              ["Điều 1. Phê duyệt kế hoạch nạo vét mương", "trước mùa mưa bão năm 1998."]]


def follow_job(client, url: str) -> tuple[list[str], object]:
    """The texts the job's page showed while it ran, and the answer once it was done."""
    import time

    shown = []
    for _ in range(600):
        response = client.get(url)
        if response.status_code != 200 or not soup(response).select(
                'meta[http-equiv="refresh"]'):
            return shown, response
        shown.append(" ".join(soup(response).select_one(".upload-status").get_text().split()))
        time.sleep(0.1)
    raise AssertionError(f"the upload job did not end: {shown[-3:]}")


def test_a_scan_upload_shows_each_page_then_the_document(site):
    needs_ocr()
    client = staff(site)
    response = upload_form(client, [(scan_pdf_bytes(SCAN_PAGES), "quet-1998.pdf")])
    assert response.status_code == 303
    job_url = response.headers["Location"]
    assert re.fullmatch(r"/console/uploads/[\w-]+", job_url)
    shown, done = follow_job(client, job_url)
    assert shown and all(re.fullmatch(r"Đang nhận dạng chữ \(OCR\) tệp quet-1998\.pdf: "
                                      r"trang [12]/2…", text) for text in shown), shown
    [doc] = uploads(site.library)
    assert done.status_code == 303 and done.headers["Location"] == f"/console/documents/{doc.id}"
    assert (doc.text_source, doc.is_published) == ("ocr", False)
    page = client.get(done.headers["Location"])
    assert "Đã nhận (bản nháp)." in page.get_data(as_text=True)
    job = site.app.extensions["console_upload_jobs"].get(job_url.rsplit("/", 1)[1])
    assert [p[:3] for p in job.pages] == [("quet-1998.pdf", 0, 2), ("quet-1998.pdf", 1, 2),
                                         ("quet-1998.pdf", 2, 2)]
    # Only the one who uploaded sees the job: other staff and visitors do not.
    site.library.users.add("bien_tap_2", "editor", PASSWORD, actor="test")
    for other in ("bien_tap_2", VIEWER):
        assert staff(site, other).get(job_url).status_code == 404
    assert site.client().get(job_url).status_code == 302        # to the login page
    assert client.get("/console/uploads/khong-co").status_code == 404
    # Another server process (a gunicorn worker) reads the job's state from the library folder.
    site.app.extensions["console_upload_jobs"].jobs.clear()
    again = client.get(job_url)
    assert again.status_code == 303 and again.headers["Location"] == f"/console/documents/{doc.id}"
    assert staff(site, "bien_tap_2").get(job_url).status_code == 404


def test_text_files_uploaded_with_a_scan_are_listed_when_all_are_read(site, docx_bytes):
    needs_ocr()
    client = staff(site)
    response = upload_form(client, [(docx_bytes, "qd.docx"),
                                    (scan_pdf_bytes(SCAN_PAGES[:1]), "quet.pdf"),
                                    (b"", "rong.txt")])
    assert response.status_code == 303
    shown, done = follow_job(client, response.headers["Location"])
    assert done.status_code == 200
    items = soup(done).select("#upload-results li")
    assert [i.select_one(".upload-name").get_text() for i in items] == \
        ["qd.docx", "quet.pdf", "rong.txt"]
    assert [i.select_one(".upload-status, .form-error").get_text() for i in items] == \
        ["Đã nhận (bản nháp)", "Đã nhận (bản nháp)", "Không nhận: Tệp rỗng."]
    assert len(uploads(site.library)) == 2


def test_a_scan_sent_by_the_console_script_is_followed_page_by_page(site):
    """console.js posts one file asking for JSON: a scan answers 202 with its job, whose JSON
    says the page being read until the document is there."""
    import time

    needs_ocr()
    client = staff(site)
    response = upload_form(client, [(scan_pdf_bytes(SCAN_PAGES), "quet-js.pdf")],
                           Accept="application/json")
    assert response.status_code == 202
    job_url = response.get_json()["job"]
    assert re.fullmatch(r"/console/uploads/[\w-]+", job_url)
    seen = []
    for _ in range(600):
        state = client.get(job_url, headers={"Accept": "application/json"}).get_json()
        if state["done"]:
            break
        if state["reading"] and state["reading"].get("ocr"):
            seen.append((state["reading"]["page"], state["reading"]["pages"]))
        time.sleep(0.1)
    assert state["done"] and state["failure"] is None
    [result] = state["results"]
    assert result["status"] == "created" and result["edit_url"].startswith("/console/documents/")
    assert seen and all(pages == 2 and page in (1, 2) for page, pages in seen)
    assert staff(site, VIEWER).get(job_url, headers={"Accept": "application/json"}
                                   ).status_code == 404
