"""The fast segmenter must give exactly pyvi's output: the index depends on it."""

from __future__ import annotations

import gzip
import itertools
import json
from pathlib import Path

import pytest
from pyvi import ViTokenizer

from conftest import SHARED
from search_service.text.segment import default_segmenter

CORPUS = SHARED / "corpus"
DATA = Path(__file__).resolve().parents[1] / "data"


def texts_of(path: Path, every: int):
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as lines:
        for line in itertools.islice(lines, 0, None, every):
            record = json.loads(line)
            yield record.get("title", "") + "\n" + record.get("body", "")


@pytest.mark.parametrize("text", [
    "Đảng bộ phường Phúc Lợi tổ chức Hội nghị sơ kết giữa nhiệm kỳ",
    "Hồ Chí Minh, Châu Âu và châu âu; Việt Nam - Local Brands (“Top10”)",
    "Nghị quyết 15/NQ-ĐU ngày 12/4/2018, lúc 10:39, giá 100.000 đồng/kg...",
    "NGƯỜI LAO ĐỘNG có thể thỏa thuận nghỉ hằng năm như thế nào?",
    "e-mail: ubnd@phucloi.example.vn ==> http://phucloi.example.vn/tin-tuc",
    "Tp. Hà Nội, ThS. Nguyễn Văn A; Mr. B >> C -> D",
    "", "   ", "?", "a",
])
def test_same_words_as_pyvi(text):
    assert default_segmenter().segment(text) == ViTokenizer.tokenize(text)


def test_same_words_as_pyvi_on_the_ward_fixtures():
    texts = [p.read_text(encoding="utf-8") for p in sorted(DATA.rglob("*.txt"))]
    texts += list(texts_of(DATA / "ward.jsonl", 1))
    assert texts
    for text in texts:
        assert default_segmenter().segment(text) == ViTokenizer.tokenize(text)


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not here")
@pytest.mark.parametrize("name, every", [
    ("legal_alqac_articles.jsonl", 20), ("news_dantri_2020.jsonl", 20),
    ("news_baomoi_2017.jsonl.gz", 200),
])
def test_same_words_as_pyvi_on_real_text(name, every):
    """A sample of every corpus (bench/segmentation.py compares every document)."""
    differences = [text[:80] for text in texts_of(CORPUS / name, every)
                   if default_segmenter().segment(text) != ViTokenizer.tokenize(text)]
    assert differences == []
