"""The write API as a program uses it: an API token, real files, the real library and index.

Each test copies the web corpus's index into its own folder and opens its own library, with
one editor token and one viewer token made the way ``tokens create`` makes them.
"""

from __future__ import annotations

import io
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from conftest import FAST_HASH
from fixtures_files import (BC_LINES, QD_META, docx_without_document_xml, pdf_bytes,
                            scanned_pdf_bytes, write_docx)

from search_service.library import Library

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
DOCX_NAME = "Quyết định 123 rà soát hộ nghèo.docx"


@dataclass
class Site:
    app: object
    library: Library
    tokens: dict
    folder: Path

    def client(self):
        return self.app.test_client()

    def auth(self, role: str = "editor") -> dict:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@pytest.fixture
def site(tmp_path, web_index, make_app):
    index = tmp_path / "index"
    shutil.copytree(web_index, index)
    library = Library(tmp_path / "library", password_method=FAST_HASH)
    tokens = {"editor": library.tokens.create("website", "editor", actor="test"),
              "viewer": library.tokens.create("bao-cao", "viewer", actor="test")}
    yield Site(make_app(INDEX_DIR=str(index), LIBRARY_DIR=str(tmp_path / "library")),
               library, tokens, tmp_path)
    library.close()


@pytest.fixture(scope="module")
def docx_bytes(tmp_path_factory) -> bytes:
    return write_docx(tmp_path_factory.mktemp("docx")).read_bytes()


@pytest.fixture(scope="module")
def report_pdf() -> bytes:
    return pdf_bytes(BC_LINES)


def upload(client, data: bytes, name: str, headers: dict, **fields):
    return client.post("/api/documents", headers=headers, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), name), **fields})


def uploads(library) -> list:
    """The documents uploaded here: the first write also copies the documents of the index
    made before the library into it, as records without an original file."""
    return [d for d in library.list_documents(limit=500).documents if d.text_source != "index"]


def hit_ids(client, q: str, headers: dict | None = None) -> list[str]:
    response = client.get("/api/search", query_string={"q": q}, headers=headers or {})
    assert response.status_code == 200
    return [hit["id"] for hit in response.get_json()["hits"]]


# -- adding --------------------------------------------------------------------------------------
def test_a_new_file_is_201_with_the_document_as_the_api_shows_it(site, docx_bytes):
    client = site.client()
    response = upload(client, docx_bytes, DOCX_NAME, site.auth())
    assert response.status_code == 201
    doc = response.get_json()
    assert {k: doc.get(k) for k in ("doc_number", "doc_type", "signer", "visibility")} == {
        "doc_number": QD_META["doc_number"], "doc_type": QD_META["doc_type"],
        "signer": QD_META["signer"], "visibility": "public"}
    assert response.headers["Location"] == f"/api/documents/{doc['id']}"
    assert doc["links"]["original"] == f"/api/documents/{doc['id']}/original"
    assert client.get(response.headers["Location"]).get_json() == doc     # a resident's view
    assert doc["id"] in hit_ids(client, "rà soát hộ nghèo 2024")


def test_fields_sent_with_the_file_win_over_what_is_read(site, report_pdf):
    client = site.client()
    response = upload(client, report_pdf, "bao-cao-08.pdf", site.auth(),
                      doc_number="09/BC-HĐND", category="Giám sát", visibility="internal")
    assert response.status_code == 201
    doc = response.get_json()
    assert (doc["doc_number"], doc["category"], doc["visibility"]) == \
        ("09/BC-HĐND", "Giám sát", "internal")
    assert doc["title"] == "Báo cáo kết quả giám sát việc giải quyết đơn thư của công dân năm 2023"
    assert client.get(f"/api/documents/{doc['id']}").status_code == 404
    assert client.get(f"/api/documents/{doc['id']}", headers=site.auth("viewer")).status_code \
        == 200
    assert doc["id"] not in hit_ids(client, "09/BC-HĐND")
    assert hit_ids(client, "09/BC-HĐND", site.auth("viewer"))[0] == doc["id"]


def test_the_same_bytes_again_are_200_with_the_document_already_there(site, docx_bytes):
    client = site.client()
    first = upload(client, docx_bytes, DOCX_NAME, site.auth())
    again = upload(client, docx_bytes, "ban-sao.docx", site.auth())
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()
    assert len(uploads(site.library)) == 1


@pytest.mark.parametrize("data, name, reason", [
    (docx_without_document_xml(), "bang-tinh.docx", "Excel spreadsheet"),
    (scanned_pdf_bytes(), "ban-quet.pdf", "text"),
    (b"MZ\x90\x00\x03\x00\x00\x00 not a document", "chuong-trinh.exe", "unsupported file type"),
])
def test_a_file_that_cannot_be_read_is_422_naming_why(site, data, name, reason):
    response = upload(site.client(), data, name, site.auth())
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "unreadable_file" and error["parameter"] == "file"
    assert reason in error["message"]
    assert uploads(site.library) == []


@pytest.mark.parametrize("fields, parameter", [
    ({}, "file"),
    ({"file": (io.BytesIO(b"x"), "a.txt"), "visibility": "secret"}, "visibility"),
    ({"file": (io.BytesIO(b"x"), "a.txt"), "is_published": "maybe"}, "is_published"),
])
def test_a_malformed_upload_is_400_naming_the_field(site, fields, parameter):
    response = site.client().post("/api/documents", headers=site.auth(), data=fields,
                                  content_type="multipart/form-data")
    assert response.status_code == 400
    assert response.get_json()["error"]["parameter"] == parameter


def test_an_upload_over_the_limit_is_413_before_it_is_read(tmp_path, web_index, make_app):
    library = Library(tmp_path / "library", password_method=FAST_HASH)
    token = library.tokens.create("website", "editor", actor="test")
    app = make_app(INDEX_DIR=str(tmp_path / "index"), LIBRARY_DIR=str(tmp_path / "library"),
                   MAX_FILE_MB=0.05)
    too_big = "Thông báo lịch tiếp công dân. ".encode() * 30_000     # 1 MB of UTF-8 text
    response = upload(app.test_client(), too_big, "thong-bao.txt",
                      {"Authorization": f"Bearer {token}"})
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "request_entity_too_large"
    assert uploads(library) == []
    library.close()


# -- correcting ----------------------------------------------------------------------------------
def test_a_correction_is_200_and_the_next_search_sees_it(site, docx_bytes):
    client = site.client()
    doc_id = upload(client, docx_bytes, DOCX_NAME, site.auth()).get_json()["id"]
    assert doc_id in hit_ids(client, "123/QĐ-UBND")
    response = client.patch(f"/api/documents/{doc_id}", headers=site.auth(),
                            json={"doc_number": "777/QĐ-UBND", "signer": None})
    assert response.status_code == 200
    doc = response.get_json()
    assert (doc["doc_number"], doc.get("signer")) == ("777/QĐ-UBND", None)
    assert hit_ids(client, "777/QĐ-UBND")[0] == doc_id
    assert hit_ids(client, "777-qd-ubnd")[0] == doc_id
    hit = client.get("/api/search", query_string={"q": "777/QĐ-UBND"}).get_json()["hits"][0]
    assert (hit["id"], hit["doc_number"]) == (doc_id, "777/QĐ-UBND")


def test_visibility_and_publishing_change_who_sees_it(site, docx_bytes):
    client = site.client()
    doc_id = upload(client, docx_bytes, DOCX_NAME, site.auth()).get_json()["id"]
    url = f"/api/documents/{doc_id}"
    assert client.patch(url, headers=site.auth(), json={"is_published": False}).status_code \
        == 200
    assert client.get(url).status_code == 404
    assert client.get(url + "/original").status_code == 404
    assert client.get(f"/documents/{doc_id}").status_code == 404
    assert client.get(url, headers=site.auth("viewer")).status_code == 200
    client.patch(url, headers=site.auth(), json={"is_published": True, "visibility": "internal"})
    assert client.get(url).status_code == 404
    client.patch(url, headers=site.auth(), json={"visibility": "public"})
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("body, parameter", [
    ({"body": "new text"}, "body"), ({"visibility": "everyone"}, "visibility"),
    ({"is_published": "yes"}, "is_published"), ({}, "body"), (["doc_number"], "body"),
    ({"published": "not a date"}, None), ({"title": ""}, None),
])
def test_a_bad_correction_is_400_and_changes_nothing(site, docx_bytes, body, parameter):
    client = site.client()
    doc = upload(client, docx_bytes, DOCX_NAME, site.auth()).get_json()
    events = len(site.library.events(100))
    response = client.patch(f"/api/documents/{doc['id']}", headers=site.auth(),
                            json={**body, "doc_number": "1/QĐ-UBND"} if isinstance(body, dict)
                            and body else body)
    assert response.status_code == 400
    assert response.get_json()["error"].get("parameter") == parameter
    assert client.get(f"/api/documents/{doc['id']}").get_json() == doc
    assert len(site.library.events(100)) == events


def test_a_correction_that_is_not_json_is_400(site):
    response = site.client().patch("/api/documents/x", headers=site.auth(), data="doc_number=1",
                                   content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert response.get_json()["error"]["parameter"] == "body"


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_documents_the_library_does_not_hold_are_404(site, method):
    # qd-123-2024 is in the index, imported before the library: the API cannot change it.
    for doc_id in ("khong-co", "qd-123-2024"):
        response = getattr(site.client(), method)(f"/api/documents/{doc_id}", headers=site.auth(),
                                                  json={"title": "Tiêu đề mới"})
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"


# -- deleting ------------------------------------------------------------------------------------
def test_a_deleted_document_is_gone_from_search_api_and_pages(site, docx_bytes):
    client = site.client()
    doc_id = upload(client, docx_bytes, DOCX_NAME, site.auth(),
                    doc_number="555/QĐ-UBND").get_json()["id"]
    response = client.delete(f"/api/documents/{doc_id}", headers=site.auth())
    assert (response.status_code, response.get_data()) == (204, b"")
    for headers in ({}, site.auth("viewer")):
        assert doc_id not in hit_ids(client, "555/QĐ-UBND", headers)
        assert client.get(f"/api/documents/{doc_id}", headers=headers).status_code == 404
        assert client.get(f"/api/documents/{doc_id}/original", headers=headers).status_code \
            == 404
    assert client.get(f"/documents/{doc_id}").status_code == 404
    assert client.delete(f"/api/documents/{doc_id}", headers=site.auth()).status_code == 404


# -- who may --------------------------------------------------------------------------------------
WRITES = [("post", "/api/documents"), ("patch", "/api/documents/qd-123-2024"),
          ("delete", "/api/documents/qd-123-2024")]


@pytest.mark.parametrize("method, url", WRITES)
@pytest.mark.parametrize("authorization", [None, "Bearer sai-ma", "Bearer ", "Basic Y2FuX2JvOng=",
                                           "bearer", "Bearer " + "x" * 500, "revoked"])
def test_writes_without_a_usable_token_are_401(site, method, url, authorization):
    if authorization == "revoked":
        token = site.library.tokens.create("cu", "editor", actor="test")
        site.library.tokens.revoke("cu", actor="test")
        authorization = f"Bearer {token}"
    headers = {"Authorization": authorization} if authorization else {}
    response = getattr(site.client(), method)(url, headers=headers, json={"title": "x"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="tra-cuu-phuong"'
    assert response.get_json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("method, url", WRITES)
def test_a_viewer_token_may_not_write(site, method, url):
    response = getattr(site.client(), method)(url, headers=site.auth("viewer"),
                                              json={"title": "x"})
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"


def test_a_staff_session_cookie_cannot_write_through_the_api(staff_client):
    response = staff_client.delete("/api/documents/qd-123-2024")
    assert response.status_code == 401


def test_a_token_sees_internal_documents_as_staff_do(site):
    client = site.client()
    assert hit_ids(client, "sen hong") == []
    for role in ("viewer", "editor"):
        assert sorted(hit_ids(client, "sen hong", site.auth(role))) == \
            ["noi-bo-bc-15", "noi-bo-tt-07"]
        response = client.get("/api/documents/noi-bo-tt-07", headers=site.auth(role))
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store"
    assert client.get("/api/search", query_string={"q": "sen hong"},
                      headers={"Authorization": "Bearer sai"}).status_code == 401


# -- the audit log --------------------------------------------------------------------------------
def test_the_audit_log_names_each_change_newest_first(site, docx_bytes):
    client = site.client()
    doc_id = upload(client, docx_bytes, DOCX_NAME, site.auth()).get_json()["id"]
    client.patch(f"/api/documents/{doc_id}", headers=site.auth(), json={"doc_number": "7/QĐ-UBND"})
    client.delete(f"/api/documents/{doc_id}", headers=site.auth())
    response = client.get("/api/audit", query_string={"limit": 3}, headers=site.auth("viewer"))
    assert response.status_code == 200
    events = response.get_json()["events"]
    assert [(e["action"], e["actor"], e["document_id"]) for e in events] == [
        ("delete", "token:website", doc_id), ("correct", "token:website", doc_id),
        ("add", "token:website", doc_id)]
    assert events[1]["changes"] == {"doc_number": ["123/QĐ-UBND", "7/QĐ-UBND"]}
    assert set(events[0]) == {"at", "actor", "action", "document_id", "changes"}
    assert events[0]["at"] >= events[1]["at"] >= events[2]["at"]
    one = client.get("/api/audit", query_string={"limit": 1, "document_id": doc_id},
                     headers=site.auth())
    assert one.get_json()["events"] == events[:1]


@pytest.mark.parametrize("limit", ["0", "1001", "abc", "-1", "1.5"])
def test_an_audit_limit_out_of_range_is_400(site, limit):
    response = site.client().get("/api/audit", query_string={"limit": limit},
                                 headers=site.auth())
    assert response.status_code == 400
    assert response.get_json()["error"]["parameter"] == "limit"


def test_the_audit_log_needs_a_token(site):
    response = site.client().get("/api/audit")
    assert response.status_code == 401


# -- originals ------------------------------------------------------------------------------------
def test_the_original_is_the_same_bytes_as_a_download(site, docx_bytes):
    client = site.client()
    doc_id = upload(client, docx_bytes, DOCX_NAME, site.auth()).get_json()["id"]
    response = client.get(f"/api/documents/{doc_id}/original")
    assert response.status_code == 200
    assert response.get_data() == docx_bytes
    assert response.headers["Content-Type"] == DOCX_TYPE
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"Quyet dinh 123 ra soat ho ngheo.docx\"; "
        "filename*=UTF-8''Quy%E1%BA%BFt%20%C4%91%E1%BB%8Bnh%20123%20r%C3%A0%20so%C3%A1t%20"
        "h%E1%BB%99%20ngh%C3%A8o.docx")


def test_an_html_original_is_never_shown_inline(site):
    page = ("<html><head><title>Thông báo lịch tiếp dân</title></head><body><p>Lịch tiếp "
            "công dân tháng 7.</p><script>alert(1)</script></body></html>").encode()
    client = site.client()
    doc_id = upload(client, page, "thong-bao.html", site.auth()).get_json()["id"]
    response = client.get(f"/api/documents/{doc_id}/original")
    assert response.get_data() == page
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_an_internal_original_is_404_exactly_like_its_document(site, report_pdf):
    client = site.client()
    doc_id = upload(client, report_pdf, "bao-cao-08.pdf", site.auth(),
                    visibility="internal").get_json()["id"]
    url = f"/api/documents/{doc_id}/original"
    anonymous = client.get(url)
    assert anonymous.status_code == 404
    assert anonymous.get_json()["error"]["code"] == "not_found"
    assert client.get(url, headers=site.auth("viewer")).get_data() == report_pdf


def test_document_pages_link_the_original_only_when_there_is_one(site, docx_bytes):
    client = site.client()
    doc_id = upload(client, docx_bytes, DOCX_NAME, site.auth()).get_json()["id"]
    page = BeautifulSoup(client.get(f"/documents/{doc_id}").get_data(as_text=True),
                         "html.parser")
    link = page.find("a", string="Tải văn bản gốc")
    assert link["href"] == f"/api/documents/{doc_id}/original"
    assert page.find("a", string="Sửa") is None                      # residents never edit
    old = BeautifulSoup(client.get("/documents/qd-123-2024").get_data(as_text=True),
                        "html.parser")
    assert old.find("a", string="Tải văn bản gốc") is None
    assert client.get("/api/documents/qd-123-2024/original").status_code == 404
    assert "original" not in client.get("/api/documents/qd-123-2024").get_json()["links"]


# -- the description ------------------------------------------------------------------------------
def test_openapi_describes_the_write_api(client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        **spec["components"]["securitySchemes"]["bearerAuth"], "type": "http",
        "scheme": "bearer"}
    operations = {(path, method): op for path, item in spec["paths"].items()
                  for method, op in item.items()}
    expected = {("/api/documents", "post"): {"201", "200", "400", "401", "403", "413", "422"},
                ("/api/documents/{doc_id}", "patch"): {"200", "400", "401", "403", "404"},
                ("/api/documents/{doc_id}", "delete"): {"204", "401", "403", "404"},
                ("/api/documents/{doc_id}/original", "get"): {"200", "404"},
                ("/api/audit", "get"): {"200", "400", "401"}}
    for key, statuses in expected.items():
        assert statuses <= set(operations[key]["responses"]), key


def test_documents_copied_from_an_old_index_have_no_original(site):
    importing = pytest.importorskip("search_service.library.importing")
    importing.import_index(site.library, site.folder / "index", actor="test")
    assert site.library.get("qd-123-2024").original.media_type == importing.INDEX_RECORD_TYPE
    client = site.client()
    assert client.get("/api/documents/qd-123-2024/original").status_code == 404
    assert "original" not in client.get("/api/documents/qd-123-2024").get_json()["links"]
    page = BeautifulSoup(client.get("/documents/qd-123-2024").get_data(as_text=True),
                         "html.parser")
    assert page.find("a", string="Tải văn bản gốc") is None
