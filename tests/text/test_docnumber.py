"""Document numbers (số/ký hiệu): recognition in documents and queries, keys, document types."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import SHARED
from search_service.text.normalize import normalize_text
from search_service.text.numbers import (DocNumber, canonical, doc_type_for, find_doc_numbers,
                                      query_doc_numbers)

KEY = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
CORPUS = SHARED / "corpus"

PRINTED = [
    # state style {số}/{LOẠI}-{CƠ QUAN}
    ("15/QĐ-UBND", "15-qd-ubnd"),
    ("02/QyĐ-UBND", "2-qyd-ubnd"),
    ("12/TTr-HCT", "12-ttr-hct"),
    ("6882/UBND-NC2", "6882-ubnd-nc2"),
    ("15/NQ-ĐU", "15-nq-du"),
    ("01/KH-UBND", "1-kh-ubnd"),
    ("123/BC-UBND", "123-bc-ubnd"),
    ("03/VBHN-VPQH", "3-vbhn-vpqh"),
    ("1880/QĐ-TTg", "1880-qd-ttg"),
    ("2916/C67-P9", "2916-c67-p9"),
    ("67/CP", "67-cp"),
    # normative style {số}/{năm}/{LOẠI}-{CƠ QUAN}
    ("123/2018/QĐ-UBND", "123-2018-qd-ubnd"),
    ("05/2021/TT-BNN&PTNT", "5-2021-tt-bnn-ptnt"),
    ("45/2019/QH14", "45-2019-qh14"),
    ("30/2020/NĐ-CP", "30-2020-nd-cp"),
    ("91/2015/QH13", "91-2015-qh13"),
    ("19-2017/NQ-CP", "19-2017-nq-cp"),
    ("05/2015/TTLT-BTP-BCA-BYT", "5-2015-ttlt-btp-bca-byt"),
    # party style {số}-{LOẠI}/{CƠ QUAN}
    ("15-NQ/ĐU", "15-nq-du"),
    ("18-NQ/TW", "18-nq-tw"),
    ("36-HD/VPTW", "36-hd-vptw"),
    ("05-CTr/ĐU", "5-ctr-du"),
    ("181-QĐ/TW", "181-qd-tw"),
    # spaces around a separator, as printed in real articles
    ("15/QĐ - UBND", "15-qd-ubnd"),
    ("116/2020/NĐ - CP", "116-2020-nd-cp"),
    ("1333/UBND- TNMT", "1333-ubnd-tnmt"),
    ("301/ BGDĐT-GDMN", "301-bgddt-gdmn"),
    ("119 /BC-BCT", "119-bc-bct"),
    ("155/2016/ NĐ-CP", "155-2016-nd-cp"),
    ("05 - CT/TW", "5-ct-tw"),
    ("42 -CT/TW", "42-ct-tw"),
]


@pytest.mark.parametrize("raw, key", PRINTED)
def test_printed_number_is_found_in_a_sentence(raw, key):
    text = f"Căn cứ {raw} ngày 14/04/2018 của cấp trên;"
    assert find_doc_numbers(text) == [DocNumber(7, 7 + len(raw), raw, key)]


@pytest.mark.parametrize("raw, key", PRINTED)
def test_printed_number_alone_and_in_a_query(raw, key):
    expected = [DocNumber(0, len(raw), raw, key)]
    assert find_doc_numbers(raw) == expected
    assert query_doc_numbers(raw) == expected


def test_spans_in_a_real_sentence():
    text = ("Thực hiện Nghị quyết số 15-NQ/ĐU ngày 12/4/2018 và "
            "Quyết định 123/2018/QĐ-UBND")
    assert find_doc_numbers(text) == [
        DocNumber(24, 32, "15-NQ/ĐU", "15-nq-du"),
        DocNumber(62, 78, "123/2018/QĐ-UBND", "123-2018-qd-ubnd"),
    ]


def test_numbers_next_to_punctuation():
    text = "Căn cứ Kế hoạch số 45/KH-UBND, Tờ trình 12/TTr-HCT; Chỉ thị 05-CT/TW."
    assert [(d.start, d.end, d.raw) for d in find_doc_numbers(text)] == [
        (19, 29, "45/KH-UBND"), (40, 50, "12/TTr-HCT"), (60, 68, "05-CT/TW")]


@pytest.mark.parametrize("text", [
    "Sáng ngày 12/4/2018, Đảng bộ tổ chức hội nghị",
    "Ngày đăng 14/04/2018 | 10:39  | Lượt xem: 510",
    "nhiệm kỳ 2015-2020", "Đại hội lần thứ XXIII", "khoá XXIII/2015",
    "phòng chống dịch Covid-19", "các ca F0 và F1", "Quốc lộ QL1A", "tỷ lệ 1/2 và 3/4",
    "điện thoại 0903 123 456 hoặc 024-3826-1234", "giá 100.000/kg", "phục vụ 24/7",
    "iPhone 7/Plus", "mạng 5/5G", "tốc độ 60 km/h", "Roda JC và U.19/U.21",
    "QCVN 10-MT:2015/BTNMT", "đoạn Km287+00-Km312+500/QL2", "Ảnh: 2017 - REUTERS/E",
    "trang 3 / TW", "số 15/Covid-AB", "Điều 15 của Luật", "5-Series, 7-Eleven, 32-bit",
    "", "không có số nào",
])
def test_not_a_document_number(text):
    assert find_doc_numbers(text) == []


@pytest.mark.parametrize("text, raw", [
    ("Quyết định 15/QĐ - Ủy ban", "15/QĐ"),       # spaced dash only before an all-caps agency
    ("theo 15/QĐ-UBND - HĐND phường", "15/QĐ-UBND"),  # only the first dash may be spaced
    ("Nghị định 67/CP - Thông tư", "67/CP"),
    ("công văn số 13/HATA - 2017 về", "13/HATA"),
    ("văn bản 763/UBND.TNMT", "763/UBND"),
])
def test_leniency_stops_where_it_gets_ambiguous(text, raw):
    assert [d.raw for d in find_doc_numbers(text)] == [raw]


def test_dash_look_alikes_after_normalize_text():
    text = normalize_text("Nghị quyết 15\u2013NQ/ĐU và Quyết định 123/2018/QĐ\u2014UBND")
    assert [d.key for d in find_doc_numbers(text)] == ["15-nq-du", "123-2018-qd-ubnd"]


@pytest.mark.parametrize("raw, key", [
    ("15/NQ-ĐU", "15-nq-du"), ("15-nq/đu", "15-nq-du"), ("15 NQ DU", "15-nq-du"),
    ("15-NQ/ĐU", "15-nq-du"), ("15nq-du", "15-nq-du"),
    ("123/2018/QĐ-UBND", "123-2018-qd-ubnd"), ("05/2021/TT-BNN&PTNT", "5-2021-tt-bnn-ptnt"),
    ("45/2019/QH14", "45-2019-qh14"), ("02/QyĐ-UBND", "2-qyd-ubnd"), ("00/NQ-CP", "0-nq-cp"),
    ("  15 / QĐ - UBND ", "15-qd-ubnd"), ("6882/UBND-NC02", "6882-ubnd-nc02"),
])
def test_canonical(raw, key):
    assert canonical(raw) == key


@pytest.mark.parametrize("raw", ["", "  ", "/-/", "§"])
def test_canonical_refuses_text_without_a_number(raw):
    with pytest.raises(ValueError, match="not a document number"):
        canonical(raw)


@pytest.mark.parametrize("function", [canonical, find_doc_numbers, query_doc_numbers,
                                      doc_type_for])
def test_non_text_input_is_a_clear_type_error(function):
    with pytest.raises(TypeError, match="must be a str, not NoneType"):
        function(None)


QUERIES = [
    ("15 NQ DU", "15 NQ DU", "15-nq-du"),
    ("15 nq đu", "15 nq đu", "15-nq-du"),
    ("15 nq du", "15 nq du", "15-nq-du"),
    ("123 2018 qđ ubnd", "123 2018 qđ ubnd", "123-2018-qd-ubnd"),
    ("15/nq/du", "15/nq/du", "15-nq-du"),
    ("15nq-du", "15nq-du", "15-nq-du"),
    ("15-nq/du", "15-nq/du", "15-nq-du"),
    ("15/nq-đu", "15/nq-đu", "15-nq-du"),
    ("15 - nq - du", "15 - nq - du", "15-nq-du"),
    ("6882 ubnd nc2", "6882 ubnd nc2", "6882-ubnd-nc2"),
    ("05 2021 tt bnn ptnt", "05 2021 tt bnn ptnt", "5-2021-tt-bnn-ptnt"),
    ("45 2019 qh14", "45 2019 qh14", "45-2019-qh14"),
    ("12 ttr hct", "12 ttr hct", "12-ttr-hct"),
    ("02 qyd ubnd", "02 qyd ubnd", "2-qyd-ubnd"),
    ("2383/bvhttdl-tcdl", "2383/bvhttdl-tcdl", "2383-bvhttdl-tcdl"),
    ("15/nq", "15/nq", "15-nq"),
    ("nghị quyết 15 nq đu về phúc lợi", "15 nq đu", "15-nq-du"),
    ("quyet dinh 123 2018 qd ubnd phuong phuc loi", "123 2018 qd ubnd", "123-2018-qd-ubnd"),
    ("15 NQ DU PHUC LOI", "15 NQ DU", "15-nq-du"),
    ("Quyết định 15/QĐ-UBND về", "15/QĐ-UBND", "15-qd-ubnd"),
]


@pytest.mark.parametrize("query, raw, key", QUERIES)
def test_query_forms(query, raw, key):
    start = query.index(raw)
    assert query_doc_numbers(query) == [DocNumber(start, start + len(raw), raw, key)]


def test_query_with_two_numbers_in_different_forms():
    assert query_doc_numbers("nghi quyet 15-NQ/ĐU va 16 nq du") == [
        DocNumber(11, 19, "15-NQ/ĐU", "15-nq-du"), DocNumber(23, 31, "16 nq du", "16-nq-du")]


@pytest.mark.parametrize("query", [
    "điều 15 của luật", "dieu 15 luat dat dai", "khoản 2 UBND phường", "khoan 2 ubnd phuong",
    "15 nq", "100/ha", "kế hoạch năm 2020 UBND TP", "nam 2020 ubnd tp", "giá 100.000/kg",
    "covid 19", "Covid-19", "ngày 12/4/2018", "4g lte", "nhà 15 ngõ 2", "phòng 3 tầng 2",
])
def test_query_words_that_are_not_numbers(query):
    assert query_doc_numbers(query) == []


@pytest.mark.parametrize("raw, doc_type", [
    ("15-NQ/ĐU", "Nghị quyết"), ("15/QĐ-UBND", "Quyết định"), ("02/QyĐ-UBND", "Quy định"),
    ("01/KH-UBND", "Kế hoạch"), ("123/BC-UBND", "Báo cáo"), ("23/TB-UBND", "Thông báo"),
    ("05-CT/TW", "Chỉ thị"), ("05-CTr/ĐU", "Chương trình"), ("12/TTr-HCT", "Tờ trình"),
    ("36-HD/VPTW", "Hướng dẫn"), ("07/HĐ-UBND", "Hợp đồng"), ("03/BB-UBND", "Biên bản"),
    ("05/2021/TT-BNN&PTNT", "Thông tư"), ("30/2020/NĐ-CP", "Nghị định"),
    ("45/2019/QH14", "Luật"), ("03/VBHN-VPQH", "Văn bản hợp nhất"),
    ("6882/UBND-NC2", "Công văn"), ("123/UBND-VP", "Công văn"), ("152/TTg-CN", "Công văn"),
    ("2383/BVHTTDL-TCDL", "Công văn"), ("24-KL/TW", "Kết luận"),
    # keys: case and Đ are gone, yet ctr/ct and ttr/tt stay apart; "hd" reads as Hướng dẫn
    ("5-ctr-du", "Chương trình"), ("5-ct-tw", "Chỉ thị"), ("12-ttr-hct", "Tờ trình"),
    ("5-2021-tt-bnn-ptnt", "Thông tư"), ("36-hd-vptw", "Hướng dẫn"), ("15-qd-ubnd", "Quyết định"),
    ("2-qyd-ubnd", "Quy định"), ("45-2019-qh14", "Luật"), ("6882-ubnd-nc2", "Công văn"),
    ("15 nq đu", "Nghị quyết"), ("15nq-du", "Nghị quyết"),
])
def test_doc_type_for(raw, doc_type):
    assert doc_type_for(raw) == doc_type


@pytest.mark.parametrize("raw", [
    "", "hello", "12/4/2018", "2015-2020", "NQ-ĐU", "67/CP", "333/2017/UBTVQH14",
    "15-XYZ/TW", "14/2009/HS-ST",
])
def test_doc_type_for_unknown(raw):
    assert doc_type_for(raw) is None


@given(st.text(alphabet=st.sampled_from(list("0123456789/-–: .,&+NQĐUCTrKHdđqyABeẩ\t")),
               max_size=40))
def test_any_text_gives_consistent_matches(text):
    for found in (find_doc_numbers(text), query_doc_numbers(text)):
        ends = [0]
        for doc in found:
            assert doc.start >= ends[-1] and text[doc.start:doc.end] == doc.raw
            assert KEY.fullmatch(doc.key) and doc.key == canonical(doc.raw)
            assert any(c.isalpha() for c in doc.raw)
            ends.append(doc.end)
    assert set(find_doc_numbers(text)) <= set(query_doc_numbers(text))


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not available")
def test_real_news_numbers_are_found_and_dates_are_not():
    keys = set()
    with open(CORPUS / "news_dantri_2020.jsonl", encoding="utf-8") as lines:
        for line in lines:
            for doc in find_doc_numbers(normalize_text(json.loads(line)["body"])):
                assert KEY.fullmatch(doc.key) and re.search(r"[a-z]", doc.key), doc
                keys.add(doc.key)
    # "116/2020/NĐ-CP" and "116/2020/NĐ - CP" both occur: one key
    assert {"116-2020-nd-cp", "115-2020-nd-cp", "34-2018-qh14", "522-qd-ttg", "6386-bnv-ccvc",
            "27-kl-tw"} <= keys


@pytest.mark.parametrize("raw, doc_type", [
    ("12-TT/ĐU", "Thông tri"),          # a Party number: TT is a thông tri
    ("12/2020/TT-BTC", "Thông tư"),     # a state number: TT is a thông tư
    ("05-KL/TW", "Kết luận"),
])
def test_party_abbreviations_name_party_types(raw, doc_type):
    assert doc_type_for(raw) == doc_type
