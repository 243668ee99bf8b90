"""The sample ward documents in data/sample/ stay well-formed.

A newcomer's first run indexes this folder, so a broken file here means an empty or confusing
first search. Only the standard library is used: the check must not depend on the code it feeds.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import date, datetime
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
NEWS_FILES = sorted(SAMPLE.glob("news_*.txt"))
FIELDS = ("id", "title", "body", "category", "doc_type", "doc_number", "issuer", "signer",
          "published", "views", "source", "url", "visibility")
CATEGORIES = {"CÔNG TÁC ĐẢNG", "TIN TỨC - SỰ KIỆN", "VĂN HÓA - XÃ HỘI", "VĂN HOÁ - XÃ HỘI",
              "AN NINH - QUỐC PHÒNG", "Y TẾ - GIÁO DỤC", "KINH TẾ"}
# The export writes U+00A0 around the second bar, exactly as the seed file does.
DATE_LINE = re.compile(
    r"Ngày đăng (\d{2}/\d{2}/\d{4}) \| (\d{2}:\d{2}) \u00a0\|\u00a0Lượt xem: (\d+)")


def read_records() -> list[dict]:
    lines = (SAMPLE / "documents.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.mark.parametrize("path", NEWS_FILES, ids=lambda p: p.name)
def test_news_file_has_the_export_layout(path):
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    assert text == unicodedata.normalize("NFC", text)
    assert lines[0] in CATEGORIES
    assert lines[1] == ""
    assert len(lines[2].strip()) > 20
    match = DATE_LINE.fullmatch(lines[3])
    assert match, lines[3]
    posted = datetime.strptime(f"{match[1]} {match[2]}", "%d/%m/%Y %H:%M")
    assert datetime(2018, 1, 1) <= posted <= datetime(2025, 12, 31)
    assert lines[4] == ""
    paragraphs = [p for p in "\n".join(lines[5:]).split("\n\n") if p.strip()]
    assert len(paragraphs) >= 2


def test_news_mixes_old_and_new_tone_marks():
    texts = [p.read_text(encoding="utf-8") for p in NEWS_FILES]
    assert any(re.search(r"\b(hoá|khoẻ|thuỷ|uỷ)\b", t) for t in texts)
    assert any(re.search(r"\b(hóa|khỏe|thủy|ủy)\b", t) for t in texts)


def test_every_record_has_exactly_the_document_fields():
    for record in read_records():
        assert tuple(record) == FIELDS, record.get("id")


def test_records_have_valid_values():
    for record in read_records():
        assert record["visibility"] in ("public", "internal"), record["id"]
        assert date.fromisoformat(record["published"]).year in range(2018, 2026), record["id"]
        assert isinstance(record["views"], int) and record["views"] >= 0, record["id"]
        assert record["title"].strip() and record["body"].strip(), record["id"]
        assert record["body"] == unicodedata.normalize("NFC", record["body"]), record["id"]


def test_record_ids_are_unique():
    ids = [r["id"] for r in read_records()]
    assert len(ids) == len(set(ids))


def test_doc_numbers_use_state_and_party_styles():
    numbers = {r["doc_number"] for r in read_records()}
    assert {"123/QĐ-UBND", "45/KH-UBND", "15-NQ/ĐU", "05-CTr/ĐU", "03/2019/QĐ-UBND"} <= numbers


def test_sample_is_big_enough_and_has_internal_documents():
    records = read_records()
    assert len(records) + len(NEWS_FILES) >= 20
    assert len(NEWS_FILES) >= 10
    assert sum(r["visibility"] == "internal" for r in records) >= 3
