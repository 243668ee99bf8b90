"""Reading the ward's real files: encodings, DOCX, PDF, HTML, and the clear errors for bad ones."""

import gzip
import random
import unicodedata
from pathlib import Path

import pytest

import fixtures_files as fx
from conftest import SHARED
from search_service.ingest import IngestError, docx, encoding, formats, html, jsonl, pdf

SEED_DIR = SHARED / "seeds"
SAMPLES = [
    fx.ARTICLE_TXT,
    "Quyết định về việc thành lập Tổ công tác; Ủy ban nhân dân phường Phúc Lợi.",
    "Đường Nguyễn Văn Linh, ngõ 12 Vũ Đức Thận: khơi thông cống rãnh, ứng phó bão số 3.",
    "Hội đồng nhân dân phường khóa XXIII kỳ họp thứ 7 – chất vấn về hòa giải ở cơ sở.",
]


def _random_bytes(size: int = 4096) -> bytes:
    return random.Random(7).randbytes(size)


# --- encodings --------------------------------------------------------------------------

@pytest.mark.parametrize("codec", fx.ENCODINGS)
@pytest.mark.parametrize("text", SAMPLES, ids=["article", "quyet-dinh", "duong", "hdnd"])
def test_decode_gives_the_same_nfc_text_from_every_windows_encoding(text, codec):
    expected = text.replace("–", "-")        # normalize_text unifies dash look-alikes
    assert encoding.decode(fx.encode(text, codec)) == expected


def test_short_cp1258_text_is_not_mistaken_for_another_code_page():
    assert encoding.decode(fx.cp1258_bytes("Quyết định thành lập tổ công tác")) == \
        "Quyết định thành lập tổ công tác"


def test_decomposed_utf8_becomes_nfc_with_one_tone_style():
    raw = unicodedata.normalize("NFD", "Văn hoá, thuỷ lợi ở phường Phúc Lợi").encode("utf-8")
    assert encoding.decode(raw) == "Văn hóa, thủy lợi ở phường Phúc Lợi"


@pytest.mark.skipif(not SEED_DIR.is_dir(), reason="shared seed folder absent")
@pytest.mark.parametrize("codec", fx.ENCODINGS)
def test_the_seed_article_survives_every_encoding(codec):
    from search_service.text.normalize import normalize_text
    for path in SEED_DIR.glob("*.txt"):
        text = path.read_text(encoding="utf-8")
        assert encoding.decode(fx.encode(text, codec)) == normalize_text(text)


NOT_TEXT = "cannot detect the text encoding: the file contains binary data (NUL bytes); " \
           "save it as UTF-8 text"
UNKNOWN = "cannot detect the text encoding: it is neither UTF-8, UTF-16, Windows-1258 nor " \
          "the old TCVN3 (ABC) or VNI fonts' Vietnamese; save it as UTF-8"
GARBLED = "the text looks garbled (sequences such as 'Ã¡' or 'Ä‘'): it was converted with the " \
          "wrong encoding before; open it and save it again as UTF-8"


def test_decode_converts_text_typed_in_the_old_vni_font():
    # Since #10 (search_service/ingest/legacy.py); this was refused before.
    assert encoding.decode("Hoäi ñoàng nhaân daân phöôøng".encode("cp1252")) == \
        "Hội đồng nhân dân phường"


@pytest.mark.parametrize("data, message", [
    (_random_bytes(), NOT_TEXT),
    ("Phúc Lợi".encode("utf-16-le"), NOT_TEXT),                          # UTF-16 without BOM
    (bytes(range(0x80, 0x100)) * 4, UNKNOWN),
    ("Quyết định thành lập".encode("utf-8").decode("cp1252").encode("utf-8"), GARBLED),
], ids=["random", "utf16-no-bom", "high-bytes", "mojibake"])
def test_decode_refuses_what_it_cannot_read(data, message):
    with pytest.raises(IngestError) as error:
        encoding.decode(data)
    assert str(error.value) == message


# --- detection --------------------------------------------------------------------------

@pytest.mark.parametrize("name, make, kind", [
    ("a.txt", lambda d: fx.encode(fx.ARTICLE_TXT, "cp1258"), "text"),
    ("a.txt", lambda d: fx.ARTICLE_HTML.encode(), "html"),              # a page saved as .txt
    ("a.htm", lambda d: fx.ARTICLE_HTML.encode(), "html"),
    ("a.jsonl", lambda d: b'{"title": "x"}\n', "jsonl"),
    ("a.jsonl.gz", lambda d: __import__("gzip").compress(b'{"title": "x"}\n'), "jsonl"),
    ("a.docx", lambda d: fx.write_docx(d).read_bytes(), "docx"),
    ("A.PDF", lambda d: fx.write_pdf(d).read_bytes(), "pdf"),
    ("no-extension", lambda d: fx.write_pdf(d).read_bytes(), "pdf"),
])
def test_detect_by_extension_and_content(tmp_path, name, make, kind):
    assert formats.detect(Path(name), make(tmp_path)) == kind


@pytest.mark.parametrize("name, make, message", [
    ("a.txt", lambda d: b"", "empty file"),
    ("bang-tinh.xlsx", lambda d: fx.docx_without_document_xml(),
     "unsupported file type .xlsx (a spreadsheet)"),
    ("no-extension", lambda d: b"hello", "unknown file type (the name has no extension)"),
    ("trang.pdf", lambda d: fx.ARTICLE_HTML.encode(), "not a PDF file (content is an HTML page)"),
    ("x.pdf", lambda d: _random_bytes(), "not a PDF file (content is unrecognized binary data)"),
    ("x.docx", lambda d: fx.write_pdf(d).read_bytes(),
     "not a DOCX file (content is a PDF document)"),
    ("x.docx", lambda d: fx.docx_without_document_xml(),
     "not a DOCX file (content is an Excel spreadsheet)"),
    ("x.txt", lambda d: fx.write_docx(d).read_bytes(),
     "not a text file (content is a Word DOCX document)"),
    ("x.html", lambda d: b"\x89PNG\r\n\x1a\n" + bytes(100),
     "not an HTML page (content is an image)"),
], ids=["empty", "xlsx", "no-ext", "pdf-is-html", "pdf-random", "docx-is-pdf",
        "docx-is-xlsx", "txt-is-docx", "html-is-png"])
def test_detect_refuses_with_a_reason(tmp_path, name, make, message):
    with pytest.raises(IngestError) as error:
        formats.detect(Path(name), make(tmp_path))
    assert str(error.value) == message


def test_parse_file_reads_a_cp1258_article_export_with_the_text_parser(tmp_path):
    path = fx.write_text(tmp_path, fx.ARTICLE_TXT, "cp1258")
    [doc] = formats.parse_file(path, path.read_bytes())
    assert doc["title"] == "Chi bộ tổ dân phố số 5 tổ chức sinh hoạt chuyên đề quý II năm 2023"
    assert doc["body"] == fx.ARTICLE_TXT.split("\n\n", 2)[2].strip()


def test_parse_file_reads_a_web_page_saved_as_txt(tmp_path):
    path = tmp_path / "trang.txt"
    path.write_text(fx.ARTICLE_HTML, encoding="utf-8")
    [doc] = formats.parse_file(path, path.read_bytes())
    assert doc["body"] == "\n".join(fx.ARTICLE_PARAGRAPHS)


# --- JSON Lines ---------------------------------------------------------------------------

def test_jsonl_records_are_split_at_newlines_only():
    # U+2028 and U+0085 may stand raw inside a JSON string; splitlines() cut records there.
    data = '\ufeff{"title": "Thông báo", "body": "dòng 1\u2028dòng 2\u0085"}\r\n\n{"title": "B"}'
    assert jsonl.parse(Path("a.jsonl"), data.encode()) == [
        {"title": "Thông báo", "body": "dòng 1\u2028dòng 2\u0085"}, {"title": "B"}]


@pytest.mark.parametrize("data, message", [
    (b'{"title": "a"}\n{"title": "\xff"}\n', "JSON Lines must be UTF-8 (byte 26 is not)"),
    (gzip.compress(b'{"title": "a"}\n')[:-9], "corrupt gzip data: Compressed file ended before "
                                               "the end-of-stream marker was reached"),
    (gzip.compress(b'{"title": "a"}\n' * 10), "the file inflates to over 0.000134 MB, the "
                                              "limit per file"),
], ids=["not-utf8", "truncated-gzip", "over-the-limit"])
def test_jsonl_refuses_with_a_reason(data, message):
    with pytest.raises(IngestError) as error:
        jsonl.parse(Path("a.jsonl"), data, max_bytes=140)
    assert str(error.value) == message


# --- DOCX -------------------------------------------------------------------------------

QD_BODY = "\n".join(fx.QD_LEFT + fx.QD_RIGHT + fx.QD_BODY + fx.QD_SIGN_LEFT + fx.QD_SIGN_RIGHT)


def test_docx_reads_header_table_body_and_signature_in_order(tmp_path):
    path = fx.write_docx(tmp_path)
    assert docx.parse(path, path.read_bytes()) == [{**fx.QD_META, "body": QD_BODY}]


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated_docx_is_corrupt(tmp_path, cut):
    data = fx.write_docx(tmp_path).read_bytes()
    data = data[:int(len(data) * cut)]
    assert formats.detect(Path("x.docx"), data) == "docx"
    with pytest.raises(IngestError, match=r"^corrupt DOCX: the file is damaged or truncated"):
        docx.parse(Path("x.docx"), data)


def test_docx_without_text_is_refused(tmp_path):
    import docx as python_docx
    path = tmp_path / "trong.docx"
    python_docx.Document().save(str(path))
    with pytest.raises(IngestError, match="^the Word document holds no text$"):
        docx.parse(path, path.read_bytes())


# --- PDF --------------------------------------------------------------------------------

BC_BODY = "\n".join([
    "HỘI ĐỒNG NHÂN DÂN", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "PHƯỜNG PHÚC LỢI",
    "Độc lập - Tự do - Hạnh phúc", "Số: 08/BC-HĐND", "Long Biên, ngày 5 tháng 03 năm 2024",
    "BÁO CÁO", "Kết quả giám sát việc giải quyết đơn thư của công dân năm 2023",
    "Thực hiện Nghị quyết về chương trình giám sát năm 2023, Thường trực HĐND phường báo cáo "
    "kết quả", "giám sát việc tiếp công dân và giải quyết đơn thư như sau:",
    "1. Tổng số đơn thư nhận được: 42 đơn; đã giải quyết 40 đơn, đạt 95,2%.",
    "2. Kiến nghị UBND phường đẩy nhanh việc hòa giải tranh chấp đất đai ở cơ sở.",
    "Nơi nhận:", "TM. THƯỜNG TRỰC HĐND", "- Thường trực HĐND quận;", "KT. CHỦ TỊCH",
    "- Lưu: VT.", "PHÓ CHỦ TỊCH", "Trần Thị Bích Ngọc",
])


def test_pdf_text_is_extracted_as_nfc_with_metadata(tmp_path):
    path = fx.write_pdf(tmp_path)
    [doc] = pdf.parse(path, path.read_bytes())
    assert doc == {**fx.BC_META, "body": BC_BODY}
    assert unicodedata.is_normalized("NFC", doc["body"])


def test_pdf_pages_are_all_read(tmp_path):
    path = fx.write_pdf(tmp_path, pages=3)
    [doc] = pdf.parse(path, path.read_bytes())
    assert doc["body"] == "\n".join([BC_BODY] * 3)


@pytest.mark.parametrize("make, message", [
    (lambda: fx.encrypted_pdf_bytes(),
     "^the PDF is password-protected; save an unprotected copy$"),
    (lambda: fx.pdf_bytes(fx.BC_LINES)[:400], "^corrupt PDF: "),
    (lambda: b"%PDF-1.4\n" + _random_bytes(), "^corrupt PDF: "),
], ids=["encrypted", "truncated", "garbage-after-header"])
def test_unusable_pdfs_are_refused(make, message):
    with pytest.raises(IngestError, match=message):
        pdf.parse(Path("x.pdf"), make())


def test_pdf_protected_only_against_copying_is_read():
    [doc] = pdf.parse(Path("x.pdf"), fx.encrypted_pdf_bytes(user_password=""))
    assert doc == {**fx.BC_META, "body": BC_BODY}


def test_pdf_over_the_page_cap_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(pdf, "MAX_PAGES", 2)
    path = fx.write_pdf(tmp_path, pages=3)
    with pytest.raises(IngestError) as error:
        pdf.parse(path, path.read_bytes())
    assert str(error.value) == "the PDF has 3 pages; files over 2 pages are not indexed (split it)"


# --- HTML -------------------------------------------------------------------------------

def test_html_keeps_the_article_and_drops_the_portal_boilerplate(tmp_path):
    path = fx.write_article_html(tmp_path)
    [doc] = html.parse(path, path.read_bytes())
    assert doc == {
        "title": fx.ARTICLE_TITLE, "body": "\n".join(fx.ARTICLE_PARAGRAPHS),
        "published": "2023-06-06T08:15", "views": 1234, "category": "Tài nguyên - Môi trường",
        "url": "https://phucloi.longbien.hanoi.gov.vn/tin-tuc/ra-quan-tong-ve-sinh-moi-truong",
    }
    for boilerplate in fx.ARTICLE_BOILERPLATE:
        assert boilerplate not in doc["body"]


def test_html_meta_published_time_is_used_when_there_is_no_date_line(tmp_path):
    page = fx.ARTICLE_HTML.replace(
        '<div class="date">Ngày đăng 06/06/2023 | 08:15 &nbsp;| Lượt xem: 1.234</div>', ""
    ).replace("<head>", '<head><meta property="article:published_time" '
                        'content="2023-06-06T09:30:00+07:00">')
    [doc] = html.parse(Path("a.html"), page.encode())
    assert (doc["published"], "views" in doc) == ("2023-06-06T09:30", False)


REPORT_PAGE_BODY = "\n".join([
    "HỘI ĐỒNG NHÂN DÂN", "PHƯỜNG PHÚC LỢI", "-------", "Số: 08/BC-HĐND",
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "---------------",
    "Long Biên, ngày 5 tháng 03 năm 2024", "BÁO CÁO",
    "Kết quả giám sát việc giải quyết đơn thư của công dân năm 2023",
    "Thực hiện Nghị quyết về chương trình giám sát năm 2023, Thường trực HĐND phường báo cáo "
    "kết quả giám sát việc tiếp công dân và giải quyết đơn thư như sau:",
    "1. Tổng số đơn thư nhận được: 42 đơn; đã giải quyết 40 đơn, đạt 95,2%.",
    "2. Kiến nghị UBND phường đẩy nhanh việc hòa giải tranh chấp đất đai ở cơ sở.",
    "Nơi nhận:", "- Thường trực HĐND quận;", "- Lưu: VT.",
    "TM. THƯỜNG TRỰC HĐND", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH", "Trần Thị Bích Ngọc",
])


def test_saved_cp1258_report_page_gives_text_and_document_metadata(tmp_path):
    path = fx.write_report_html(tmp_path)
    [doc] = html.parse(path, path.read_bytes())
    assert doc == {
        **fx.BC_META, "body": REPORT_PAGE_BODY,
        "url": "https://phucloi.longbien.hanoi.gov.vn/van-ban/bao-cao-08-bc-hdnd",
    }


@pytest.mark.parametrize("page, message", [
    ("<html><head><title>Trang</title></head><body><nav>Trang chủ</nav></body></html>",
     "^the web page holds no article text$"),
    ("just words, no markup at all", r"^not an HTML page \(no markup\)$"),
])
def test_html_without_an_article_is_refused(page, message):
    with pytest.raises(IngestError, match=message):
        html.parse(Path("a.html"), page.encode())
