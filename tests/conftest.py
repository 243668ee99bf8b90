"""Shared fixtures: a real index built from documents written here, and Flask apps over it.

The web corpus is small and deliberately awkward: internal documents that must never leak to
visitors, hostile text that must stay text, and ids holding '/', '#', '.' and markup.
"""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import pytest
from werkzeug.security import generate_password_hash

# `pytest` run from anywhere imports the package from this checkout, with no install step.
REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

# The shared corpus and seeds live beside the repository; tests that read them skip without it.
SHARED = REPO_ROOT.parent / "shared"

STAFF_PASSWORD = "mật-khẩu đúng 2024"
# Few iterations: the hash format is the real one, only cheaper to check in tests.
FAST_HASH = "pbkdf2:sha256:1000"
STAFF_USERS = "can_bo:" + generate_password_hash(STAFF_PASSWORD, method=FAST_HASH)

XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = "<img src=x onerror=alert(1)>"
HOSTILE_ID = 'tb"><svg onload=alert(1)>'
SECRET_WORDS = "Sen Hồng"       # a codename only the internal documents hold


def _doc(id_, title, body, published, **meta):
    return {"id": id_, "title": title, "body": body, "published": published, **meta}


UBND = "UBND phường Phúc Lợi"
WEB_DOCUMENTS = [
    _doc("qd-123-2024", "Quyết định thành lập Tổ công tác rà soát hộ nghèo, hộ cận nghèo năm 2024",
         "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015;\n"
         "Thành lập Tổ công tác rà soát hộ nghèo, hộ cận nghèo trên địa bàn phường Phúc Lợi.\n"
         "Tổ công tác hoàn thành việc rà soát trước ngày 30/11/2024.",
         "2024-03-05", doc_type="Quyết định", doc_number="123/QĐ-UBND", issuer=UBND,
         signer="Nguyễn Văn Hùng", category="Văn bản chỉ đạo, điều hành", views=215),
    _doc("qd-45-2023", "Quyết định ban hành quy chế phối hợp giữ gìn trật tự đô thị",
         "Ban hành kèm theo Quyết định này quy chế phối hợp giữ gìn trật tự đô thị, "
         "vệ sinh môi trường trên địa bàn phường Phúc Lợi.",
         "2023-05-12", doc_type="Quyết định", doc_number="45/QĐ-UBND", issuer=UBND,
         signer="Nguyễn Văn Hùng", category="Văn bản chỉ đạo, điều hành", views=88),
    _doc("kh-45-2022", "Kế hoạch diễn tập phương án phòng cháy chữa cháy tại khu dân cư năm 2022",
         "Căn cứ Luật Phòng cháy và chữa cháy; UBND phường Phúc Lợi xây dựng kế hoạch diễn tập "
         "phòng cháy chữa cháy và cứu nạn, cứu hộ tại tổ dân phố số 5.",
         "2022-09-15", doc_type="Kế hoạch", doc_number="45/KH-UBND", issuer=UBND,
         signer="Trần Minh Đức", category="An ninh - Quốc phòng", views=372),
    _doc("nq-05-2023", "Nghị quyết về kế hoạch đầu tư công trung hạn giai đoạn 2021 - 2025",
         "Hội đồng nhân dân phường Phúc Lợi quyết nghị thông qua kế hoạch đầu tư công trung hạn "
         "giai đoạn 2021 - 2025, ưu tiên cải tạo đường ngõ và nhà văn hóa tổ dân phố.",
         "2023-07-10", doc_type="Nghị quyết", doc_number="05/NQ-HĐND",
         issuer="HĐND phường Phúc Lợi", signer="Lê Thị Mai", category="Kinh tế - Ngân sách"),
    _doc("ct-01-2018", "Chỉ thị tăng cường phòng cháy, chữa cháy dịp Tết Nguyên đán Mậu Tuất",
         "Chủ tịch UBND phường Phúc Lợi yêu cầu tăng cường kiểm tra an toàn phòng cháy, chữa "
         "cháy tại các hộ kinh doanh, nhà trọ.",
         "2018-01-22", doc_type="Chỉ thị", doc_number="01/CT-UBND", issuer=UBND,
         signer="Nguyễn Văn Hùng", category="Văn bản chỉ đạo, điều hành", views=402),
    _doc("tb-12-2024", f"Thông báo lịch tiếp công dân {XSS_SCRIPT} tháng 6",
         f"Lịch tiếp công dân của Chủ tịch UBND phường Phúc Lợi {XSS_IMG} vào thứ Năm hằng tuần.\n"
         f"Địa điểm: trụ sở UBND phường {XSS_SCRIPT}",
         "2024-06-01", doc_type="Thông báo", doc_number="12/TB-UBND", issuer=UBND,
         category="Văn bản chỉ đạo, điều hành", url="javascript:alert(1)"),
    _doc(HOSTILE_ID, f"Tin nóng ngày hội {XSS_IMG} đại đoàn kết",
         "Ngày hội Đại đoàn kết toàn dân tộc tại tổ dân phố số 3 phường Phúc Lợi.",
         "2023-11-16", category='Tin "nóng" <b>đậm</b> & \'nhanh\'',
         issuer="<i>Ban</i> điều hành"),
    # Internal: newest of all, with a type, issuer, category and year nobody else has.
    _doc("noi-bo-tt-07", f"Tờ trình về nhân sự quy hoạch cán bộ chủ chốt, mật danh {SECRET_WORDS}",
         "Tờ trình nội bộ của phường Phúc Lợi về quy hoạch cán bộ. Không công bố. "
         "Phòng cháy chữa cháy và rà soát hộ nghèo là nhiệm vụ của các đồng chí được quy hoạch.",
         "2019-11-20", doc_type="Tờ trình", doc_number="07/TTr-UBND",
         issuer="Văn phòng Đảng ủy", category="Công tác cán bộ", visibility="internal"),
    _doc("noi-bo-bc-15", f"Báo cáo kiểm điểm tập thể Đảng ủy, mật danh {SECRET_WORDS}",
         "Báo cáo kiểm điểm nội bộ của Đảng ủy phường Phúc Lợi, hội nghị phòng cháy chữa cháy.",
         "2024-12-30", doc_type="Báo cáo", doc_number="15/BC-ĐU", issuer="Đảng ủy phường Phúc Lợi",
         category="Công tác cán bộ", visibility="internal"),
]

# News records without ids: the pipeline names them ``tin-tuc.jsonl#1``, ``#2``, ...
WEB_NEWS = [
    ("Phường Phúc Lợi tổ chức Hội nghị sơ kết công tác 6 tháng đầu năm 2024", "2024-07-05T08:30",
     "TIN TỨC - SỰ KIỆN", "Hội nghị đánh giá kết quả phát triển kinh tế - xã hội của phường."),
    ("Hội nghị tiếp xúc cử tri trước kỳ họp Hội đồng nhân dân", "2023-11-02T14:00",
     "TIN TỨC - SỰ KIỆN", "Cử tri phường Phúc Lợi kiến nghị về trật tự đô thị và đường ngõ."),
    ("Ra quân tổng vệ sinh môi trường, phòng chống sốt xuất huyết", "2023-08-20T07:00",
     "Y TẾ - GIÁO DỤC", "Các tổ dân phố ra quân phát quang bụi rậm, diệt bọ gậy."),
    ("Bồi dưỡng nghiệp vụ phòng cháy chữa cháy cho tổ liên gia an toàn", "2022-10-01T09:00",
     "AN NINH - QUỐC PHÒNG", "Công an phường hướng dẫn sử dụng bình chữa cháy cho tổ liên gia."),
    ("Trao quà Tết cho hộ nghèo, hộ cận nghèo phường Phúc Lợi", "2024-02-01T10:00",
     "VĂN HÓA - XÃ HỘI", "Trao 120 suất quà Tết cho hộ nghèo, hộ cận nghèo và gia đình chính sách."),
    ("Liên hoan văn nghệ chào mừng ngày hội Đại đoàn kết toàn dân tộc", "2023-11-15T19:30",
     "VĂN HÓA - XÃ HỘI", "Các tổ dân phố tham gia liên hoan văn nghệ tại nhà văn hóa phường."),
]

# The ward website's text export layout (the seed's), in a folder: the id is ``tin/000_45b0.txt``.
EXPORT_TEXT = (
    "CÔNG TÁC ĐẢNG\n\n"
    "Đảng bộ phường Phúc Lợi tổ chức hội nghị sơ kết giữa nhiệm kỳ 2015-2020\n"
    "Ngày đăng 14/04/2018 | 10:39 \u00a0|\u00a0Lượt xem: 510\n\n"
    "Sáng ngày 12/4/2018, Đảng bộ phường Phúc Lợi tổ chức Hội nghị sơ kết giữa nhiệm kỳ.\n\n"
    "Hội nghị đánh giá kết quả nửa nhiệm kỳ và đề ra nhiệm vụ trọng tâm.\n"
)
EXPORT_ID = "tin/000_45b0.txt"
NEWS_IDS = [f"tin-tuc.jsonl#{n}" for n in range(1, len(WEB_NEWS) + 1)]
INTERNAL_IDS = ["noi-bo-tt-07", "noi-bo-bc-15"]
PUBLIC_COUNT = len(WEB_DOCUMENTS) - len(INTERNAL_IDS) + len(WEB_NEWS) + 1


# One subject under two headings: the procedure's text repeats the subject more, the criteria
# answer "… cần đáp ứng những yêu cầu gì?" (the second look's kind of answer asked for).
KIND_DOCUMENTS = [
    {"id": "thu-tuc", "title": "Thủ tục tuyển dụng nhân viên bảo vệ", "published": "2024-05-02",
     "body": "Nhân viên bảo vệ nộp đơn tại phường; phường xét đơn của nhân viên bảo vệ."},
    {"id": "tieu-chuan", "title": "Tiêu chuẩn nhân viên bảo vệ", "published": "2024-05-01",
     "body": "Nhân viên bảo vệ phải đủ 18 tuổi và có sức khỏe tốt."},
]
KIND_QUESTION = "Nhân viên bảo vệ cần đáp ứng những yêu cầu gì?"


def write_jsonl(path: Path, records) -> Path:
    """Write ``records`` to ``path`` as JSON Lines (UTF-8, Vietnamese as is); return the path."""
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                    encoding="utf-8")
    return path


def write_web_corpus(folder: Path) -> Path:
    """Write the web corpus files into ``folder`` and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    write_jsonl(folder / "van-ban.jsonl", WEB_DOCUMENTS)
    write_jsonl(folder / "tin-tuc.jsonl", [
        {"title": title, "published": published, "category": category, "body": body, "views": 100}
        for title, published, category, body in WEB_NEWS])
    (folder / "tin").mkdir(exist_ok=True)
    (folder / EXPORT_ID).write_text(EXPORT_TEXT, encoding="utf-8")
    return folder


def free_port() -> int:
    """A TCP port free on 127.0.0.1 just now, for a real server a test starts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RealServer:
    """`python -m search_service serve` in its own process group on 127.0.0.1 (``verbose``:
    with ``-v``, so its log says what it does)."""

    def __init__(self, index: Path, log: Path, workers: int, verbose: bool = False):
        import subprocess

        self.port = free_port()
        self.log = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "search_service", *(["-v"] if verbose else []), "serve",
                 "--index", str(index), "--host", "127.0.0.1", "--port", str(self.port),
                 "--workers", str(workers), "--threads", "2"],
                cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def get(self, path: str, timeout: float = 10):
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, json.loads(response.read() or b"null")
        finally:
            conn.close()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, condition, what: str, seconds: float = 90) -> None:
        """Until ``condition()`` holds; fails naming ``what`` (with the log) when the server
        exits or ``seconds`` pass."""
        import time

        deadline = time.monotonic() + seconds
        while not condition():
            if self.proc.poll() is not None:
                pytest.fail(f"the server exited: {self.log_text()[-3000:]}")
            if time.monotonic() >= deadline:
                pytest.fail(f"{what}: {self.log_text()[-3000:]}")
            time.sleep(0.2)

    def ready(self) -> bool:
        try:
            return self.get("/readyz", timeout=2)[0] == 200
        except OSError:
            return False

    def wait_ready(self, seconds: float = 90) -> None:
        self.wait_for(self.ready, "the server was not ready", seconds)

    def kill(self) -> None:
        import os
        import signal

        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)    # the group this test started
        self.proc.wait(10)


def build_index(index_dir: Path, corpus: Path) -> Path:
    from search_service.ingest.pipeline import ingest_paths

    summary = ingest_paths(index_dir, [corpus])
    assert summary.failed == 0, summary.to_json()
    return index_dir


def search_results(index: Path, queries: list[str], internal: bool) -> dict:
    """Ids, order and scores for every query (by date when empty): what 'the same search
    results' of two indexes means."""
    from search_service.search import SearchEngine, SearchRequest

    engine = SearchEngine(index, create=False)
    try:
        return {q: [(h.id, h.score) for h in engine.search(SearchRequest(
            q=q, per_page=50, include_internal=internal, sort="relevance" if q else "date")).hits]
            for q in queries}
    finally:
        engine.close()


def build_engine(folder: Path, docs: list[dict], name: str = "docs.jsonl"):
    """A SearchEngine over a tiny index of ``docs`` (``folder/corpus/<name>``, ``folder/index``),
    for cases of their own; the caller closes it."""
    from search_service.search import SearchEngine

    corpus = folder / "corpus"
    corpus.mkdir(parents=True)
    write_jsonl(corpus / name, docs)
    return SearchEngine(build_index(folder / "index", corpus))


@pytest.fixture(scope="session", autouse=True)
def library_dir(tmp_path_factory) -> Path:
    """Every app of the run keeps its library (staff sessions) in a temporary folder, never in
    the repository's ``library/``: SEARCH_LIBRARY_DIR is set before any app or server starts."""
    folder = tmp_path_factory.mktemp("library")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SEARCH_LIBRARY_DIR", str(folder))
        # Test clients all come from this machine: only tests that say so are rate-limited.
        patch.setenv("SEARCH_RATE_LIMIT_EXEMPT", "127.0.0.1, ::1")
        yield folder


@pytest.fixture(scope="session")
def web_index(tmp_path_factory) -> Path:
    """A real Whoosh index of the web corpus, built once (pyvi indexing is slowish). Read-only."""
    root = tmp_path_factory.mktemp("web")
    return build_index(root / "index", write_web_corpus(root / "corpus"))


@pytest.fixture
def make_app(web_index):
    """``make_app(**settings)``: a fresh app over the shared index, settings overridable."""
    from search_service.web import create_app

    def make(**overrides):
        settings = {"TESTING": True, "INDEX_DIR": str(web_index), "SECRET_KEY": "test-secret",
                    "STAFF_USERS": STAFF_USERS, "MAX_QUERY_CHARS": 1000}
        return create_app({**settings, **overrides})
    return make


@pytest.fixture
def library(tmp_path):
    """An empty library of this test's own (cheap password hashes); closed afterwards."""
    from search_service.library import Library

    lib = Library(tmp_path / "library", password_method=FAST_HASH)
    yield lib
    lib.close()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


def log_in(client, username: str = "can_bo", password: str = STAFF_PASSWORD):
    """Post the real login form (with the CSRF token its page holds); the response."""
    from bs4 import BeautifulSoup

    page = BeautifulSoup(client.get("/login").get_data(as_text=True), "html.parser")
    token = page.select_one("input[name=csrf_token]")["value"]
    return client.post("/login", data={"csrf_token": token, "username": username,
                                       "password": password})


@pytest.fixture
def staff_client(app):
    """A client logged in as staff through the real login form."""
    client = app.test_client()
    response = log_in(client)
    assert response.status_code == 302
    return client


# --- The core engine's corpus: tests/data (ward.jsonl and articles in the export layout) ---

DATA_DIR = Path(__file__).resolve().parent / "data"
ARTICLE_ID = "articles/so-ket-giua-nhiem-ky.txt"   # the seed's layout, written for the tests
NFD_ARTICLE_ID = "articles/san-choi-nfd.txt"         # saved decomposed (NFD), as macOS does


@pytest.fixture(scope="session")
def ward_index(tmp_path_factory) -> Path:
    """A real index of tests/data, built once (pyvi indexing is slowish). Read-only."""
    return build_index(tmp_path_factory.mktemp("ward") / "index", DATA_DIR)


@pytest.fixture(scope="session")
def ward_engine(ward_index):
    """One SearchEngine over ``ward_index``, shared like a server's."""
    from search_service.search import SearchEngine

    engine = SearchEngine(ward_index)
    yield engine
    engine.close()
