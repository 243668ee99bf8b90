"""Screenshots of the home page and a results page at phone (360 px) and desktop (1280 px) width.

Builds a throw-away index from ``data/sample/``, serves the app on 127.0.0.1 and shoots it with
Debian chromium. Run from the repository root:

    .venv/bin/python docs/make_screenshots.py
"""

from __future__ import annotations

import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from search_service.ingest.pipeline import ingest_paths  # noqa: E402
from search_service.web import create_app  # noqa: E402

PAGES = {"": "/search?q=phong+chay", "-home": "/"}
WIDTHS = {"phone": (360, 740), "desktop": (1280, 900)}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ingest_paths(Path(tmp) / "index", [ROOT / "data" / "sample"])
        app = create_app({"INDEX_DIR": str(Path(tmp) / "index"), "SECRET_KEY": "shots",
                          "LIBRARY_DIR": str(Path(tmp) / "library")})
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            shoot(f"http://127.0.0.1:{server.server_port}")
        finally:
            server.shutdown()


def shoot(base_url: str) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                    args=CHROMIUM_ARGS)
        for kind, (width, height) in WIDTHS.items():
            context = browser.new_context(viewport={"width": width, "height": height},
                                          device_scale_factor=1, locale="vi-VN",
                                          is_mobile=width < 500, has_touch=width < 500)
            page = context.new_page()
            for suffix, path in PAGES.items():
                name = f"screenshot{suffix}-{kind}.png"
                page.goto(base_url + path)
                page.screenshot(path=str(ROOT / "docs" / name), full_page=False)
                print(f"docs/{name} ({width}×{height})")
            context.close()
        browser.close()


if __name__ == "__main__":
    main()
