"""Past resolutions as they really are (#10): scans read by OCR, Word 97-2003 .doc files, and
text typed in the legacy fonts TCVN3 (.VnTime) and VNI (VNI-Times).

Every fixture is made here: page images drawn with Pillow in a DejaVu font, a scanned PDF
that holds only that picture, a Word 97 file built byte by byte (no .doc writer is installed:
LibreOffice would be 260 MB), and legacy bytes made from Unicode with our own table in
reverse. OCR is real Tesseract, so the pages read are few and small (some 1-2 s each).
"""

import gzip
import io
import itertools
import json
import re
import struct
from pathlib import Path

import pytest

from search_service.text.normalize import normalize_text
from search_service.ingest import IngestError, formats, legacy, ocr
from search_service.ingest.pipeline import ingest_paths
from search_service.search import SearchEngine, SearchRequest

from conftest import SHARED  # noqa: E402
FONTS = Path("/usr/share/fonts/truetype/dejavu")
needs_ocr = pytest.mark.skipif(
    not ocr.available() or not (FONTS / "DejaVuSerif.ttf").exists(),
    reason="needs tesseract-ocr, tesseract-ocr-vie and fonts-dejavu-core (make test installs "
           "them)")
needs_antiword = pytest.mark.skipif(
    not any((Path(p) / "antiword").exists() for p in ("/usr/bin", "/usr/local/bin")),
    reason="needs Debian's antiword (make test installs it)")

# --- the documents ------------------------------------------------------------------------

# A decision of 2001 typed in .VnTime: every line of its metadata must survive conversion.
DECISION = [
    "ỦY BAN NHÂN DÂN", "PHƯỜNG PHÚC LỢI", "Số: 45/QĐ-UBND",
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
    "Phúc Lợi, ngày 20 tháng 11 năm 2001",
    "QUYẾT ĐỊNH", "Về việc giao đất xây dựng nhà văn hóa tổ dân phố số 9",
    "Căn cứ Luật Đất đai năm 1993;",
    "Điều 1. Giao 250 mét vuông đất tại tổ dân phố số 9 để xây dựng nhà văn hóa.",
    "Điều 2. Cán bộ địa chính phường chịu trách nhiệm thi hành quyết định này.",
    "TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "(Đã ký)", "Trần Quang Khải",
    "Nơi nhận:", "- Như Điều 2;", "- Lưu VP.",
]
DECISION_METADATA = {
    "doc_number": "45/QĐ-UBND", "doc_type": "Quyết định", "issuer": "UBND phường Phúc Lợi",
    "published": "2001-11-20", "signer": "Trần Quang Khải",
    "title": "Quyết định về việc giao đất xây dựng nhà văn hóa tổ dân phố số 9",
}
# The scanned page: header in two columns, as Nghị định 30/2020 lays it out.
SCAN_LEFT = ["ỦY BAN NHÂN DÂN", "PHƯỜNG PHÚC LỢI", "Số: 27/QĐ-UBND"]
SCAN_RIGHT = ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
              "Phúc Lợi, ngày 12 tháng 3 năm 1998"]
SCAN_BODY = ["QUYẾT ĐỊNH", "Về việc nạo vét mương thoát nước tổ dân phố số 5", "",
             "Điều 1. Phê duyệt kế hoạch nạo vét mương thoát nước khu dân cư",
             "tổ dân phố số 5 trước mùa mưa bão năm 1998.", "",
             "TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "", "Nguyễn Văn Bình"]
PHOTO_LINES = ["THÔNG BÁO", "Lịch tiêm chủng vắc xin sởi cho trẻ em",
               "tại trạm y tế phường vào sáng thứ Bảy hằng tuần."]


def page_image(left, right, body, angle=0.0, dpi=150):
    """A half A4 page drawn in DejaVu Serif, turned by ``angle`` degrees like a scan."""
    from PIL import Image, ImageDraw, ImageFont

    scale = dpi / 72
    width, height = int(8.27 * dpi), int(5.2 * dpi)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONTS / "DejaVuSerif.ttf"), int(13 * scale))
    line = 20 * scale

    def centred(x, y, text):
        draw.text((x - draw.textlength(text, font=font) / 2, y), text, font=font, fill=0)

    y = 0.5 * dpi
    for number, (a, b) in enumerate(itertools.zip_longest(left, right, fillvalue="")):
        centred(width * 0.25, y + number * line, a)
        centred(width * 0.65, y + number * line, b)
    y += (len(left) + 1) * line
    for text in body:
        centred(width / 2, y, text)
        y += line
    if angle:
        image = image.rotate(angle, resample=Image.BICUBIC, fillcolor=255)
    return image


def png_bytes(image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def scanned_pdf(image) -> bytes:
    """A PDF whose only content is the picture, as a scanner makes it (no text layer)."""
    out = io.BytesIO()
    image.save(out, format="PDF", resolution=150)
    return out.getvalue()


def tiff_pages(count: int) -> bytes:
    frames = [page_image([], [], [f"Trang {n + 1}", "Tổ dân phố số 5"]) for n in range(count)]
    out = io.BytesIO()
    frames[0].save(out, format="TIFF", save_all=True, append_images=frames[1:])
    return out.getvalue()


# --- a Word 97 file, byte by byte ([MS-DOC] and [MS-CFB]) ---------------------------------

END, FREE, FAT_SECTOR, NO_STREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF


def word97(lines: list[str], eight_bit: bool = False) -> bytes:
    """A minimal Word 97 .doc: one piece of text (UTF-16, or one byte per character as an
    8-bit font's text is kept) and an empty style sheet, in an OLE compound file."""
    text = "\r".join(lines) + "\r"
    start = 0x400
    body = text.encode("cp1252" if eight_bit else "utf-16-le")
    fc = (start * 2) | 0x40000000 if eight_bit else start        # bit 30: "compressed"
    clx = struct.pack("<BI", 2, 16) + struct.pack("<IIHIH", 0, len(text), 0, fc, 0)
    stsh = struct.pack("<H9H", 18, 0, 10, 1, 0, 0, 0, 0, 0, 0)
    fib = bytearray(start)
    struct.pack_into("<7H", fib, 0, 0xA5EC, 0xC1, 0, 0x0409, 0, 0x1200, 0xBF)  # 1Table
    struct.pack_into("<II", fib, 24, start, start + len(body))
    struct.pack_into("<H", fib, 32, 14)
    struct.pack_into("<H", fib, 62, 22)
    struct.pack_into("<I", fib, 64, start + len(body))
    struct.pack_into("<I", fib, 76, len(text))                                # ccpText
    struct.pack_into("<H", fib, 152, 0x5D)
    struct.pack_into("<II", fib, 154 + 8, len(clx), len(stsh))                # fcStshf
    struct.pack_into("<II", fib, 154 + 33 * 8, 0, len(clx))                   # fcClx
    return _compound({"WordDocument": _sectors(bytes(fib) + body),
                      "1Table": _sectors(clx + stsh)})


def _sectors(data: bytes) -> bytes:
    """Padded to whole 512-byte sectors and at least 4096 bytes (so no mini stream)."""
    data = data.ljust(4096, b"\0")
    return data + bytes(-len(data) % 512)


def _compound(streams: dict[str, bytes]) -> bytes:
    sectors, fat, first = [], [], {}
    for name, data in streams.items():
        first[name] = len(sectors)
        count = len(data) // 512
        sectors += [data[i * 512:(i + 1) * 512] for i in range(count)]
        fat += [first[name] + i + 1 for i in range(count - 1)] + [END]
    directory = len(sectors)
    names = sorted(streams, key=lambda n: (len(n), n.upper()))
    entries = [_entry("Root Entry", 5, END, 0, child=1)] + [
        _entry(name, 2, first[name], len(streams[name]),
               right=i + 2 if i + 1 < len(names) else NO_STREAM)
        for i, name in enumerate(names)]
    sectors.append(b"".join(entries).ljust(512, b"\0"))
    fat.append(END)
    fat_count = (len(fat) + 127) // 127
    first_fat = len(sectors)
    fat += [FAT_SECTOR] * fat_count
    fat += [FREE] * (fat_count * 128 - len(fat))
    sectors += [struct.pack("<128I", *fat[i * 128:(i + 1) * 128]) for i in range(fat_count)]
    header = bytearray(512)
    header[:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<5H", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<9I", header, 40, 0, fat_count, directory, 0, 4096, END, 0, END, 0)
    struct.pack_into("<109I", header, 76,
                     *range(first_fat, first_fat + fat_count), *[FREE] * (109 - fat_count))
    return bytes(header) + b"".join(sectors)


def _entry(name, kind, start, size, *, child=NO_STREAM, right=NO_STREAM):
    encoded = (name + "\0").encode("utf-16-le")
    return struct.pack("<64sHBBIII16sIQQIQ", encoded, len(encoded), kind, 1, NO_STREAM, right,
                       child, bytes(16), 0, 0, 0, start, size)


def legacy_docx(lines: list[str]) -> bytes:
    """A DOCX typed the old way: the Normal style in .VnTime, capitals in .VnTimeH runs."""
    import docx

    document = docx.Document()
    document.styles["Normal"].font.name = ".VnTime"
    for line in lines:
        paragraph = document.add_paragraph()
        if line.isupper():
            typed = "".join(c.lower() if c.isascii() else c
                            for c in legacy.from_unicode(line, "tcvn3"))
            run = paragraph.add_run(typed)
            run.font.name = ".VnTimeH"      # the H font draws small letters as capitals
        else:
            paragraph.add_run(legacy.from_unicode(line, "tcvn3"))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def legacy_bytes(lines: list[str], encoding: str) -> bytes:
    return legacy.from_unicode("\r\n".join(lines), encoding).encode("cp1252")


# --- the archive, ingested once ----------------------------------------------------------

@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("luu-tru")
    (folder / "qd-45-tcvn3.txt").write_bytes(legacy_bytes(DECISION, "tcvn3"))
    (folder / "qd-45-vni.txt").write_bytes(legacy_bytes(DECISION, "vni"))
    (folder / "qd-45-vntime.docx").write_bytes(legacy_docx(DECISION))
    if not needs_antiword.args[0]:
        (folder / "qd-45.doc").write_bytes(word97(DECISION))
        (folder / "qd-45-tcvn3.doc").write_bytes(
            word97(legacy.from_unicode("\n".join(DECISION), "tcvn3").split("\n"), True))
    if not needs_ocr.args[0]:
        (folder / "qd-27-scan.pdf").write_bytes(
            scanned_pdf(page_image(SCAN_LEFT, SCAN_RIGHT, SCAN_BODY, angle=2.0)))
        (folder / "tiem-chung.png").write_bytes(png_bytes(page_image([], [], PHOTO_LINES)))
    return folder


@pytest.fixture(scope="module")
def engine(archive, tmp_path_factory):
    index = tmp_path_factory.mktemp("index")
    summary = ingest_paths(index, [archive], workers=0)
    assert summary.failed == 0, summary.to_json()
    engine = SearchEngine(index)
    yield engine
    engine.close()


def ids(engine, q: str) -> set[str]:
    return {hit.id for hit in engine.search(SearchRequest(q=q, per_page=50)).hits}


LEGACY_FILES = {"qd-45-tcvn3.txt", "qd-45-vni.txt", "qd-45-vntime.docx"}


@pytest.mark.parametrize("q", ["nhà văn hóa tổ dân phố số 9", "nha van hoa to dan pho so 9",
                               "Trần Quang Khải", "45/QĐ-UBND"])
def test_legacy_font_text_is_found_by_unicode_queries(engine, q):
    assert LEGACY_FILES <= ids(engine, q)


@needs_antiword
@pytest.mark.parametrize("q", ["giao đất xây dựng nhà văn hóa", "giao dat xay dung"])
def test_word_97_documents_are_found(engine, q):
    assert {"qd-45.doc", "qd-45-tcvn3.doc"} <= ids(engine, q)


@needs_ocr
@pytest.mark.parametrize("q, expected", [
    ("nạo vét mương thoát nước", "qd-27-scan.pdf"), ("nao vet muong thoat nuoc", "qd-27-scan.pdf"),
    ("27/QĐ-UBND", "qd-27-scan.pdf"),
    ("tiêm chủng vắc xin sởi", "tiem-chung.png"), ("tiem chung vac xin soi", "tiem-chung.png"),
])
def test_scans_are_found_by_the_words_on_the_page(engine, q, expected):
    assert expected in ids(engine, q)


# --- what each file says of itself -------------------------------------------------------

def parsed(archive: Path, name: str) -> dict:
    path = archive / name
    kind, docs = formats.parse_as(path, path.read_bytes())
    assert len(docs) == 1
    return docs[0]


def metadata_of(doc: dict) -> dict:
    return {k: doc.get(k) for k in DECISION_METADATA}


@pytest.mark.parametrize("name", sorted(LEGACY_FILES) + [
    pytest.param("qd-45.doc", marks=needs_antiword),
    pytest.param("qd-45-tcvn3.doc", marks=needs_antiword)])
def test_legacy_documents_give_their_metadata_and_unicode_text(archive, name):
    doc = parsed(archive, name)
    assert metadata_of(doc) == DECISION_METADATA
    assert doc["body"] == normalize_text("\n".join(DECISION))
    assert "text_source" not in doc


@needs_ocr
def test_a_scanned_pdf_is_read_by_ocr_with_its_metadata(archive):
    doc = parsed(archive, "qd-27-scan.pdf")
    assert doc["text_source"] == "ocr"
    assert {k: doc.get(k) for k in ("doc_number", "doc_type", "issuer", "signer")} == {
        "doc_number": "27/QĐ-UBND", "doc_type": "Quyết định",
        "issuer": "UBND phường Phúc Lợi", "signer": "Nguyễn Văn Bình"}
    assert "Điều 1. Phê duyệt kế hoạch nạo vét mương thoát nước khu dân cư" in doc["body"]


# --- limits and damaged files: one clear line each ---------------------------------------

def test_a_scan_over_the_page_limit_is_refused_before_any_ocr(monkeypatch):
    monkeypatch.setenv("SEARCH_OCR_MAX_PAGES", "2")
    with pytest.raises(IngestError) as error:
        formats.parse_as(Path("ho-so.tif"), tiff_pages(3))
    assert str(error.value) == (
        "the scan has 3 pages to read by OCR; at most 2 are read per file "
        "(SEARCH_OCR_MAX_PAGES): split it or raise the setting")


@needs_ocr
def test_a_scan_over_the_time_budget_stops_with_a_clear_error(monkeypatch):
    monkeypatch.setenv("SEARCH_MAX_SECONDS_PER_FILE", "0.3")
    with pytest.raises(IngestError, match=r"SEARCH_MAX_SECONDS_PER_FILE") as error:
        formats.parse_as(Path("ho-so.tif"), tiff_pages(4))
    assert str(error.value).startswith(("OCR stopped at page ", "OCR of a page took over"))


def test_damaged_files_fail_alone_with_a_reason(tmp_path):
    folder = tmp_path / "hong"
    folder.mkdir()
    png = png_bytes(page_image([], [], ["Tổ dân phố"], dpi=40))
    (folder / "cat-ngang.png").write_bytes(png[:len(png) // 2])
    (folder / "rac.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(300))
    (folder / "ole-rong.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500))
    (folder / "van-ban.doc").write_bytes(b"Quyet dinh")
    (folder / "tot.txt").write_bytes(legacy_bytes(DECISION, "vni"))
    summary = ingest_paths(tmp_path / "index", [folder], workers=0)
    errors = {Path(f.path).name: f.error for f in summary.files if f.outcome == "failed"}
    assert set(errors) == {"cat-ngang.png", "rac.jpg", "ole-rong.doc", "van-ban.doc"}
    assert errors["cat-ngang.png"].startswith("corrupt image: ")
    assert errors["rac.jpg"].startswith("corrupt image: ")
    assert errors["van-ban.doc"] == "not a Word 97-2003 document (content is plain text)"
    if not needs_antiword.args[0]:
        assert errors["ole-rong.doc"] == (
            "corrupt Word 97-2003 document: the file is not a Word Document.")
    assert not any("Traceback" in e or "unexpected" in e for e in errors.values())
    assert summary.added == 1


# --- the conversion itself ---------------------------------------------------------------

@pytest.mark.parametrize("encoding, typed", [
    ("tcvn3", "Ph\u00adêng Phóc Lîi"), ("vni", "Phöôøng Phuùc Lôïi")])
def test_the_issues_examples_read_as_phuong_phuc_loi(encoding, typed):
    assert legacy.fix_text(typed + " tæ chøc héi nghÞ" if encoding == "tcvn3" else
                           typed + " toå chöùc hoäi nghò") == (
        "Phường Phúc Lợi " + "tổ chức hội nghị", encoding)


def test_a_mixed_document_converts_only_its_legacy_lines():
    text = "Phường Phúc Lợi (Unicode)\n" + legacy.from_unicode(
        "Hội nghị tổng kết công tác năm 2001 của phường", "vni")
    assert legacy.fix_text(text) == (
        "Phường Phúc Lợi (Unicode)\nHội nghị tổng kết công tác năm 2001 của phường", "vni")


@pytest.mark.skipif(not (SHARED / "corpus").is_dir(), reason="shared corpus absent")
def test_no_unicode_document_of_the_corpus_is_converted():
    corpus = SHARED / "corpus"
    with open(corpus / "news_dantri_2020.jsonl", encoding="utf-8") as news, \
            open(corpus / "legal_alqac_articles.jsonl", encoding="utf-8") as laws, \
            gzip.open(corpus / "news_baomoi_2017.jsonl.gz", "rt", encoding="utf-8") as more:
        records = [json.loads(line) for line in itertools.chain(
            itertools.islice(news, 700), itertools.islice(laws, 600), itertools.islice(more, 700))]
    texts = ["\n".join(str(r.get(k) or "") for k in ("title", "body", "text")) for r in records]
    assert len(texts) == 2000
    converted = [t[:80] for t in texts if legacy.fix_text(t)[1] is not None]
    assert converted == []


# --- a text read by OCR says so, from the parser to the reader ---------------------------

OCR_NOTE = "Văn bản được nhận dạng tự động từ bản quét (OCR); nội dung có thể có lỗi"


@pytest.fixture(scope="module")
def shelved(tmp_path_factory):
    """A scanned PDF and a typed one ingested through a library, as the CLI does it; a web
    app over the index and that library."""
    from fixtures_files import write_pdf

    from search_service.library import Library
    from search_service.web import create_app

    root = tmp_path_factory.mktemp("ocr-mark")
    folder = root / "van-ban"
    folder.mkdir()
    (folder / "qd-27-scan.pdf").write_bytes(
        scanned_pdf(page_image(SCAN_LEFT, SCAN_RIGHT, SCAN_BODY)))
    write_pdf(folder, "bao-cao-08.pdf")
    library = Library(root / "library")
    summary = ingest_paths(root / "index", [folder], workers=0, library=library)
    assert summary.failed == 0, summary.to_json()
    app = create_app({"TESTING": True, "INDEX_DIR": str(root / "index"),
                      "LIBRARY_DIR": str(root / "library"), "SECRET_KEY": "test-secret"})
    yield root, library, app.test_client()
    library.close()


def document_page(client, doc_id: str):
    from bs4 import BeautifulSoup

    response = client.get(f"/documents/{doc_id}")
    assert response.status_code == 200
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


@needs_ocr
def test_a_scan_read_by_ocr_is_marked_in_the_library_the_index_the_api_and_the_page(shelved):
    root, library, client = shelved
    assert library.get("qd-27-scan.pdf").text_source == "ocr"
    engine = SearchEngine(root / "index")
    try:
        assert engine.get_document("qd-27-scan.pdf")["text_source"] == "ocr"
    finally:
        engine.close()
    api = client.get("/api/documents/qd-27-scan.pdf").get_json()
    assert api["text_source"] == "ocr"
    soup = document_page(client, "qd-27-scan.pdf")
    note = soup.select_one(".ocr-note")
    assert note is not None and OCR_NOTE in " ".join(note.get_text(" ").split())
    # The note sits by the text it warns about.
    assert note.find_next_sibling(class_="doc-body") is not None


@needs_ocr
def test_a_typed_pdf_carries_no_ocr_mark(shelved):
    root, library, client = shelved
    assert library.get("bao-cao-08.pdf").text_source == "text"
    api = client.get("/api/documents/bao-cao-08.pdf").get_json()
    assert "text_source" not in api          # the JSON of a typed document is unchanged
    soup = document_page(client, "bao-cao-08.pdf")
    assert soup.select_one(".ocr-note") is None and OCR_NOTE not in soup.get_text()


@needs_ocr
def test_an_index_rebuilt_from_the_library_keeps_the_ocr_mark(shelved, tmp_path):
    from search_service.library.reindex import reindex

    root, library, _ = shelved
    assert reindex(library, tmp_path / "rebuilt") == 2
    engine = SearchEngine(tmp_path / "rebuilt")
    try:
        assert engine.get_document("qd-27-scan.pdf")["text_source"] == "ocr"
        assert "text_source" not in engine.get_document("bao-cao-08.pdf")
    finally:
        engine.close()


def test_an_index_made_before_the_mark_still_opens_and_takes_marked_documents(tmp_path):
    """An index whose schema has no text_source field (made before it existed) keeps
    opening, and keeps accepting documents, OCR-marked ones included, in this process and
    in the index's worker processes (which read the schema from disk)."""
    from whoosh.filedb.filestore import FileStorage

    from search_service.index.schema import INDEX_NAME, build_schema, check_index, open_index

    old = build_schema()
    old.remove("text_source")
    index = tmp_path / "index"
    index.mkdir()
    FileStorage(str(index)).create_index(old, INDEX_NAME)
    source = tmp_path / "cu"
    source.mkdir()
    (source / "thong-bao.txt").write_text(
        "Thông báo lịch tiếp công dân của phường Phúc Lợi", encoding="utf-8")
    assert ingest_paths(index, [source], workers=0).added == 1
    assert "text_source" in open_index(index).schema          # added when opened

    # As a scanner's export would give them: 40 records, so a batch reaches the worker.
    scans = tmp_path / "quet.jsonl"
    scans.write_text("".join(json.dumps(
        {"id": f"quet-{n}", "title": f"Quyết định số {n} về nạo vét mương",
         "body": "Phê duyệt kế hoạch nạo vét mương thoát nước tổ dân phố số 5",
         "text_source": "ocr"}, ensure_ascii=False) + "\n" for n in range(40)),
        encoding="utf-8")
    summary = ingest_paths(index, [scans], workers=1)
    assert (summary.added, summary.failed) == (40, 0), summary.to_json()
    assert check_index(index).documents == 41
    engine = SearchEngine(index)
    try:
        assert {engine.get_document(f"quet-{n}")["text_source"] for n in range(40)} == {"ocr"}
        assert "text_source" not in engine.get_document("thong-bao.txt")
        assert len(ids(engine, "nạo vét mương")) == 40
    finally:
        engine.close()


def test_an_index_made_before_the_mark_opens_unchanged_while_a_writer_holds_it(tmp_path):
    from whoosh.filedb.filestore import FileStorage

    from search_service.index.schema import INDEX_NAME, build_schema, open_index

    old = build_schema()
    old.remove("text_source")
    storage = FileStorage(str(tmp_path))
    storage.create_index(old, INDEX_NAME)
    lock = storage.lock(f"{INDEX_NAME}_WRITELOCK")
    assert lock.acquire(blocking=False)
    try:
        ix = open_index(tmp_path)
        assert "text_source" not in ix.schema and ix.doc_count() == 0
    finally:
        lock.release()
    assert "text_source" in open_index(tmp_path).schema


# --- a web page in a legacy font that declares its charset --------------------------------

@pytest.mark.parametrize("encoding", ["tcvn3", "vni"])
@pytest.mark.parametrize("charset", ["windows-1252", "windows-1258", "iso-8859-1"])
def test_a_legacy_font_web_page_declaring_its_charset_is_converted(tmp_path, encoding, charset):
    heading = "Thông báo kết quả hội nghị"
    article = "".join(f"<p>{legacy.from_unicode(line, encoding)}</p>\n" for line in DECISION)
    portal = legacy.from_unicode("Cổng thông tin điện tử phường", encoding)
    page = (f'<html><head><meta charset="{charset}"><title>{portal}</title></head>'
            f"<body><article><h1>{legacy.from_unicode(heading, encoding)}</h1>\n{article}"
            "</article></body></html>")
    path = tmp_path / "thong-bao.html"
    path.write_bytes(page.encode("cp1252"))
    kind, docs = formats.parse_as(path, path.read_bytes())
    assert docs[0]["body"] == normalize_text("\n".join(DECISION))
    assert metadata_of(docs[0]) == DECISION_METADATA


def cp1258_bytes(text: str) -> bytes:
    """Vietnamese as Windows-1258 spells it: a base letter, then its tone as a combining mark."""
    import unicodedata

    tones = "\u0300\u0301\u0303\u0309\u0323"
    out = []
    for char in text:
        parts = unicodedata.normalize("NFD", char)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in tones))
        out.append((base + "".join(c for c in parts if c in tones)).encode("cp1258"))
    return b"".join(out)


def test_a_windows_1258_page_is_not_taken_for_a_legacy_font(tmp_path):
    page = (b'<html><head><meta charset="windows-1258"></head><body><article><h1>'
            + cp1258_bytes("Thông báo kết quả hội nghị") + b"</h1>\n"
            + b"".join(b"<p>" + cp1258_bytes(line) + b"</p>\n" for line in DECISION)
            + b"</article></body></html>")
    path = tmp_path / "thong-bao.html"
    path.write_bytes(page)
    kind, docs = formats.parse_as(path, page)
    assert docs[0]["body"] == normalize_text("\n".join(DECISION))


# --- OCR progress, page by page (#10) -------------------------------------------------------

def two_page_scan() -> bytes:
    """A scanned PDF of two pages, pictures only."""
    first = page_image(SCAN_LEFT, SCAN_RIGHT, SCAN_BODY[:2])
    second = page_image([], [], SCAN_BODY[3:])
    out = io.BytesIO()
    first.save(out, format="PDF", resolution=150, save_all=True, append_images=[second])
    return out.getvalue()


@needs_ocr
def test_the_parser_process_forwards_each_page_read_before_the_answer(tmp_path):
    from search_service.ingest.parserprocess import ParserProcess

    parser = ParserProcess()
    seen = []
    try:
        kind, docs = parser.parse(Path("quet-1998.pdf"), two_page_scan(), seconds=120,
                                  max_bytes=1 << 24,
                                  on_progress=lambda *page: seen.append(page))
        assert kind == "pdf" and docs[0]["text_source"] == "ocr"
        assert [page[:3] for page in seen] == [("quet-1998.pdf", 0, 2), ("quet-1998.pdf", 1, 2),
                                              ("quet-1998.pdf", 2, 2)]
        assert all(page[3] > 0 for page in seen[1:])
        # A display that fails does not fail the file, and the next file is answered in turn.
        kind, docs = parser.parse(Path("a.txt"), "Thông báo họp tổ dân phố".encode(),
                                  seconds=30, max_bytes=1 << 20, on_progress=lambda *_: 1 / 0)
        assert kind == "text"
        kind, _ = parser.parse(Path("quet.pdf"), two_page_scan(), seconds=120,
                               max_bytes=1 << 24, on_progress=lambda *_: 1 / 0)
        assert kind == "pdf"
    finally:
        parser.close()


@needs_ocr
def test_progress_does_not_extend_the_time_allowed_per_file(tmp_path):
    from search_service.ingest.parserprocess import ParserProcess

    import time

    parser = ParserProcess()
    seen = []
    try:
        parser.start()
        parser.parse(Path("a.txt"), b"ready", seconds=30, max_bytes=1 << 20)
        started = time.monotonic()
        with pytest.raises(IngestError, match="SEARCH_MAX_SECONDS_PER_FILE"):
            parser.parse(Path("quet.tif"), tiff_pages(20), seconds=2, max_bytes=1 << 24,
                         on_progress=lambda *page: seen.append(page))
        assert time.monotonic() - started < 4
        assert seen and seen[0][1:3] == (0, 20) and len(seen) < 21
        kind, _ = parser.parse(Path("a.txt"), b"next file", seconds=30, max_bytes=1 << 20)
        assert kind == "text"
    finally:
        parser.close()


@needs_ocr
def test_ingest_prints_each_page_of_a_scan_on_stderr(tmp_path):
    from click.testing import CliRunner

    from search_service.cli import main

    folder = tmp_path / "ho-so"
    folder.mkdir()
    (folder / "quet-1998.pdf").write_bytes(two_page_scan())
    (folder / "thong-bao.txt").write_text("Thông báo họp tổ dân phố số 5", encoding="utf-8")
    result = CliRunner().invoke(main, ["ingest", "--index", str(tmp_path / "index"),
                                       "--library", str(tmp_path / "library"),
                                       "--workers", "0", str(folder)])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("OCR ")]
    assert [line.split(" (")[0] for line in lines] == [
        "OCR quet-1998.pdf: page 1/2", "OCR quet-1998.pdf: page 2/2"], result.stderr
    assert all(re.fullmatch(r"OCR \S+: page \d/2 \(\d+\.\d s\)", line) for line in lines)
    again = CliRunner().invoke(main, ["ingest", "--index", str(tmp_path / "index"),
                                      "--library", str(tmp_path / "library"),
                                      "--workers", "0", str(folder)])
    assert again.exit_code == 0 and "OCR" not in again.stderr       # unchanged: not read again
