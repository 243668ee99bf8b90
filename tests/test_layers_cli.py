"""The core is a library: the command line's search and ingest run without the web framework
(Flask and Werkzeug are imported by `serve` and the web app only)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
WEB_FRAMEWORK = re.compile(r"\|\s+(flask|werkzeug)(\.|$)", re.IGNORECASE | re.MULTILINE)


def _imported_web_framework(args: list[str], tmp_path: Path) -> list[str]:
    env = {**os.environ, "SEARCH_LIBRARY_DIR": str(tmp_path / "library"),
           "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "search_service", *args],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    return sorted({m.group(1).lower() for m in WEB_FRAMEWORK.finditer(done.stderr)})


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("layers")
    (root / "files").mkdir()
    (root / "files" / "tin.txt").write_text("Diễn tập phòng cháy chữa cháy tại tổ dân phố số 3",
                                           encoding="utf-8")
    return root


def test_ingest_imports_no_web_framework(folder):
    assert _imported_web_framework(["ingest", "--workers", "0", "--index",
                                    str(folder / "index"), str(folder / "files")], folder) == []


def test_search_imports_no_web_framework(folder):
    if not (folder / "index").is_dir():
        _imported_web_framework(["ingest", "--workers", "0", "--index", str(folder / "index"),
                                 str(folder / "files")], folder)
    assert _imported_web_framework(["search", "--index", str(folder / "index"), "--json",
                                    "phòng cháy"], folder) == []
