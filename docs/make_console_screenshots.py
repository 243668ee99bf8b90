"""Screenshots of the staff console at phone (360 px) and desktop (1280 px) width.

Builds a throw-away index from ``data/sample/`` and a throw-away library with one editor,
serves the app on 127.0.0.1, logs in with Debian chromium, uploads a Word decision and a PDF
report (the test suite's own builders) and shoots the upload results, the review page and
the list (the upload page whole, the others as the screen shows them). Run from the repository root:

    .venv/bin/python docs/make_console_screenshots.py
"""

from __future__ import annotations

import secrets
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from fixtures_files import BC_LINES, pdf_bytes, write_docx  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from search_service.ingest.pipeline import ingest_paths  # noqa: E402
from search_service.library import Library  # noqa: E402
from search_service.web import create_app  # noqa: E402

WIDTHS = {"phone": (360, 740), "desktop": (1280, 900)}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
EDITOR = "bien_tap"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ingest_paths(tmp / "index", [ROOT / "data" / "sample"])
        password = secrets.token_urlsafe(16)          # made here, never written anywhere
        with Library(tmp / "library") as library:
            library.users.add(EDITOR, "editor", password, actor="docs")
        files = [write_docx(tmp, "Quyết định 123-QĐ-UBND.docx"), tmp / "bao-cao-08.pdf"]
        files[1].write_bytes(pdf_bytes(BC_LINES))
        app = create_app({"INDEX_DIR": str(tmp / "index"), "SECRET_KEY": "shots",
                          "LIBRARY_DIR": str(tmp / "library")})
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            shoot(f"http://127.0.0.1:{server.server_port}", password, files)
        finally:
            server.shutdown()


def shoot(base_url: str, password: str, files: list[Path]) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                    args=CHROMIUM_ARGS)
        edit_url = None
        for kind, (width, height) in WIDTHS.items():
            context = browser.new_context(viewport={"width": width, "height": height},
                                          device_scale_factor=1, locale="vi-VN",
                                          is_mobile=width < 500, has_touch=width < 500)
            page = context.new_page()
            page.goto(base_url + "/login?next=/console/upload")
            page.get_by_label("Tên đăng nhập").fill(EDITOR)
            page.get_by_label("Mật khẩu").fill(password)
            page.get_by_role("button", name="Đăng nhập").click()
            page.wait_for_url("**/console/upload")
            page.locator("#upload-files").set_input_files([str(f) for f in files])
            page.get_by_role("button", name="Tải lên").click()
            page.get_by_role("link", name="Xem, sửa và công bố").nth(1).wait_for()
            save(page, f"console-upload-{kind}.png", width, height, full_page=True)
            edit_url = edit_url or page.get_by_role("link", name="Xem, sửa và công bố") \
                .first.get_attribute("href")
            page.goto(base_url + edit_url)
            save(page, f"console-document-{kind}.png", width, height)
            page.goto(base_url + "/console/")
            save(page, f"console-list-{kind}.png", width, height)
            context.close()
        browser.close()


def save(page, name: str, width: int, height: int, full_page: bool = False) -> None:
    page.screenshot(path=str(ROOT / "docs" / name), full_page=full_page)
    print(f"docs/{name} ({width}×{height})")


if __name__ == "__main__":
    main()
