"""The Whoosh analyzers are adapters over text.layers, and indexes written before the text
package (whose schemas name ``search_service.analysis.SyllableTokenizer`` and friends) still
open, analyze the same way and take new documents through the fast writers."""

from __future__ import annotations

import pickle

import pytest
from whoosh.analysis import LowercaseFilter
from whoosh.fields import ID, STORED, TEXT, Schema
from whoosh.index import create_in, open_dir

from search_service.index import analyzers
from search_service.index.analyzers import (FoldFilter, SyllableBigramFilter, SyllableTokenizer,
                                            VietnameseWordTokenizer, bigram_analyzer,
                                            exact_analyzer, folded_analyzer, layer_of,
                                            word_analyzer)
from search_service.index.bulkwriter import BufferedSegmentWriter, fast_indexers
from search_service.text.layers import index_layers

TEXTS = ["Quyết định số 15/QĐ-UBND về phòng cháy, chữa cháy năm 2024",
         "Kế hoạch 45/KH-UBND: Thuỷ lợi, khoẻ mạnh; hoà giải ở cơ sở",
         "Nghị quyết 15-NQ/ĐU của Đảng ủy phường Phúc Lợi", "", "   "]


def _legacy():
    """The analyzers as the schema of an index written before the text package held them."""
    return {"exact": SyllableTokenizer() | LowercaseFilter(),
            "folded": SyllableTokenizer() | LowercaseFilter() | FoldFilter(),
            "bigram": SyllableTokenizer() | LowercaseFilter() | FoldFilter()
            | SyllableBigramFilter(),
            "word": VietnameseWordTokenizer()}


def _tokens(analyzer, text, **kw):
    return [(t.text, t.pos) for t in analyzer(text, positions=True, **kw)]


NEW = {"exact": exact_analyzer, "folded": folded_analyzer, "bigram": bigram_analyzer,
       "word": word_analyzer}


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("layer", sorted(NEW))
def test_old_pipelines_yield_the_tokens_of_todays_analyzers(layer, text):
    old = _legacy()[layer]
    assert layer_of(old) == layer == layer_of(NEW[layer]())
    assert _tokens(old, text) == _tokens(NEW[layer](), text)
    assert _tokens(old, text, mode="query") == _tokens(NEW[layer](), text, mode="query")


@pytest.mark.parametrize("text", TEXTS)
def test_analyzers_yield_what_the_fast_writers_index(text):
    layers = index_layers(text)
    assert [t for t, _ in _tokens(exact_analyzer(), text)] == layers["exact"]
    assert _tokens(folded_analyzer(), text) == layers["folded"]
    assert [t for t, _ in _tokens(bigram_analyzer(), text)] == layers["bigram"]
    assert [t for t, _ in _tokens(word_analyzer(), text)] == layers["word"]


def test_a_schema_pickled_under_the_old_module_name_loads(monkeypatch):
    """Bytes exactly as an old index holds them: class paths in ``search_service.analysis``."""
    for cls in (SyllableTokenizer, FoldFilter, SyllableBigramFilter, VietnameseWordTokenizer):
        monkeypatch.setattr(cls, "__module__", "search_service.analysis")
    old_bytes = pickle.dumps(Schema(body_f=TEXT(analyzer=_legacy()["folded"]),
                                    body_w=TEXT(analyzer=_legacy()["word"])))
    monkeypatch.undo()
    assert b"search_service.analysis" in old_bytes
    schema = pickle.loads(old_bytes)
    assert layer_of(schema["body_f"].analyzer) == "folded"
    assert _tokens(schema["body_f"].analyzer, "Phúc Lợi 15/QĐ-UBND") == \
        _tokens(folded_analyzer(), "Phúc Lợi 15/QĐ-UBND")
    assert analyzers.layer_of(schema["body_w"].analyzer) == "word"


def _old_index(folder):
    legacy = _legacy()
    schema = Schema(id=ID(stored=True, unique=True), title=STORED(),
                    body=TEXT(analyzer=legacy["exact"], phrase=False),
                    body_f=TEXT(analyzer=legacy["folded"]),
                    body_bi=TEXT(analyzer=legacy["bigram"], phrase=False),
                    body_w=TEXT(analyzer=legacy["word"], phrase=False))
    folder.mkdir()
    create_in(str(folder), schema)
    return open_dir(str(folder))


def _postings(folder) -> dict:
    with open_dir(str(folder)).searcher() as searcher:
        reader = searcher.reader()
        return {field: {term: sorted(reader.postings(field, term).items_as("frequency"))
                        for term in reader.lexicon(field)}
                for field in ("body", "body_f", "body_bi", "body_w")}


def test_an_old_index_takes_documents_through_the_fast_writer(tmp_path):
    """Whoosh's own writer (running the old pipelines) and the fast writer (running the
    layers) index the same terms with the same frequencies."""
    fast_ix, plain_ix = _old_index(tmp_path / "fast"), _old_index(tmp_path / "plain")
    assert set(fast_indexers(fast_ix.schema)) == {"body", "body_f", "body_bi", "body_w"}
    fast, plain = BufferedSegmentWriter(fast_ix), plain_ix.writer()
    for writer in (fast, plain):
        for number, text in enumerate(TEXTS):
            writer.add_document(id=str(number), title=text[:20], body=text, body_f=text,
                                body_bi=text, body_w=text)
        writer.commit()
    got = _postings(tmp_path / "fast")
    assert got == _postings(tmp_path / "plain")
    assert b"15_qd" in got["body_bi"] and b"phong_chay" in got["body_bi"]
    assert "kế_hoạch".encode() in got["body_w"]
