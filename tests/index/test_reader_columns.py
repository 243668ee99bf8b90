"""Columns and field lengths read in one piece give exactly what Whoosh reads value by value.

``IndexReader`` reads the whoosh3 numeric and variable-bytes columns from one read of their
data (a new generation is built from them before it is served); Whoosh's own readers are the
reference, over a real index of several segments, with updated (deleted) documents and a
segment written without some columns.
"""

from __future__ import annotations

import json

import numpy as np

from search_service.index.reader import open_generation
from search_service.index.schema import open_index
from search_service.ingest.pipeline import ingest_paths

from conftest import DATA_DIR

COLUMNS = ["id", "doc_type", "category", "issuer", "visibility", "validity", "year", "views",
           "path", "content_hash"]
LENGTHS = ["title", "title_f", "title_bi", "title_w", "body", "body_f", "body_bi", "body_w"]


def _whoosh_values(leaf, fieldname: str, translate: bool) -> list:
    column = leaf.column_reader(fieldname, translate=translate)
    return list(column.load() if hasattr(column, "load") else column)


def test_columns_and_lengths_are_whooshs_own_values(tmp_path):
    index_dir = tmp_path / "index"
    ingest_paths(index_dir, [DATA_DIR], workers=0)
    news = tmp_path / "tin"
    news.mkdir()
    (news / "tin.jsonl").write_text("".join(json.dumps(
        {"id": f"tin-{n}", "title": f"Bản tin số {n}", "body": "Lịch tiêm chủng. " * n},
        ensure_ascii=False) + "\n" for n in range(1, 6)), encoding="utf-8")
    ingest_paths(index_dir, [news], workers=0)          # a second segment, no issuer nor year
    (news / "tin.jsonl").write_text(json.dumps(
        {"id": "tin-1", "title": "Bản tin số 1 (sửa)", "body": "Đã sửa."}, ensure_ascii=False)
        + "\n", encoding="utf-8")
    ingest_paths(index_dir, [news], workers=0)          # tin-1 updated: a deletion, a third

    reader = open_generation(open_index(index_dir)).open()
    try:
        leaves = reader._reader.leaf_readers()
        assert len(leaves) >= 3 and not reader.live().all()
        compared = 0
        for fieldname in COLUMNS:
            for translate in (True, False):
                expected = [(offset + n, value) for leaf, offset in leaves
                            if fieldname in leaf.schema and leaf.has_column(fieldname)
                            for n, value in enumerate(_whoosh_values(leaf, fieldname,
                                                                     translate))]
                assert list(reader.column_values(fieldname, translate)) == expected, fieldname
                compared += len(expected)
        assert compared > 0
        for fieldname in LENGTHS:
            expected = [leaf.doc_field_length(n, fieldname, 0) or 0
                        for leaf, _ in leaves for n in range(leaf.doc_count_all())]
            assert np.array_equal(reader.lengths(fieldname),
                                  np.array(expected, dtype=np.float32)), fieldname
    finally:
        reader.close()
