"""metadata.extract: number, type, issuer, date, signer and title read from a document's text."""


import pytest

from conftest import SHARED
from fixtures_files import BC_LINES, BC_META, NQ_META, NQ_TEXT, QD_META, qd_text
from search_service.ingest.metadata import extract

SEED_DIR = SHARED / "seeds"

# A công văn has no type heading: the subject is the "V/v" line under the number. Here the
# two header columns share lines, as pypdf extracts a PDF made by Word.
CONG_VAN = """ỦY BAN NHÂN DÂN CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
PHƯỜNG PHÚC LỢI Độc lập - Tự do - Hạnh phúc
Số: 215/UBND-VP Phúc Lợi, ngày 12 tháng 9 năm 2023
V/v triển khai cấp căn cước
cho công dân trên địa bàn phường

Kính gửi: Các tổ dân phố thuộc phường Phúc Lợi.
Thực hiện Luật Căn cước năm 2023, UBND phường đề nghị các tổ dân phố thông báo lịch cấp
căn cước tại trụ sở Công an phường từ ngày 18 tháng 9 năm 2023.
Nơi nhận:
- Như trên;
- Lưu: VT.
KT. CHỦ TỊCH
PHÓ CHỦ TỊCH
(Đã ký)
Lê Minh Tuấn
"""

# A plan of a Party cell: the issuer is a chi bộ under the ward's Party organization.
KE_HOACH_CHI_BO = """ĐẢNG BỘ PHƯỜNG PHÚC LỢI
CHI BỘ TỔ DÂN PHỐ SỐ 5
*
Số 03-KH/CB
ĐẢNG CỘNG SẢN VIỆT NAM
Phúc Lợi, ngày 02 tháng 02 năm 2024
KẾ HOẠCH
Tổ chức học tập, quán triệt Nghị quyết Hội nghị lần thứ tám
Ban Chấp hành Trung ương Đảng khóa XIII
-----
I. MỤC ĐÍCH, YÊU CẦU
Giúp đảng viên nắm vững nội dung Nghị quyết.
T/M CHI BỘ
BÍ THƯ
Phạm Thị Lan
"""

# A submission whose date is not filled in yet (a draft): no published date is guessed.
TO_TRINH_DRAFT = """ỦY BAN NHÂN DÂN
PHƯỜNG PHÚC LỢI
Số: 12/TTr-UBND
CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc
Phúc Lợi, ngày    tháng    năm 2024
TỜ TRÌNH
Về việc đề nghị phê duyệt dự toán ngân sách phường năm 2025
Kính gửi: Hội đồng nhân dân phường Phúc Lợi.
Căn cứ Luật Ngân sách nhà nước ngày 25 tháng 6 năm 2015;
"""

# A news article (the ward website's export): no header, so nothing is guessed, even
# though the text mentions a "Nghị quyết" and a "Bí thư".
NEWS = """CÔNG TÁC ĐẢNG

Đảng bộ phường Phúc Lợi tổ chức hội nghị sơ kết giữa nhiệm kỳ
Ngày đăng 14/04/2018 | 10:39  | Lượt xem: 510

Sáng ngày 12/4/2018, Đảng bộ phường Phúc Lợi tổ chức Hội nghị sơ kết. Đồng chí Dương Ngọc
Dũng, Bí thư Đảng ủy, chủ tịch HĐND phường phát biểu. Nghị quyết Đại hội Đảng bộ phường
khóa XXIII được triển khai toàn diện.
"""


def _pdf_text(rows) -> str:
    """The report's rows with both columns on one line, as some PDF extractors give them."""
    return "\n".join(" ".join(part for part in row if part) for row in rows)


@pytest.mark.parametrize("text, expected", [
    (qd_text(), QD_META),
    (NQ_TEXT, NQ_META),
    (_pdf_text(BC_LINES), BC_META),
    (CONG_VAN, {
        "doc_number": "215/UBND-VP", "doc_type": "Công văn", "issuer": "UBND phường Phúc Lợi",
        "published": "2023-09-12", "signer": "Lê Minh Tuấn",
        "title": "Công văn về việc triển khai cấp căn cước cho công dân trên địa bàn phường",
    }),
    (KE_HOACH_CHI_BO, {
        "doc_number": "03-KH/CB", "doc_type": "Kế hoạch", "issuer": "Chi bộ Tổ dân phố số 5",
        "published": "2024-02-02", "signer": "Phạm Thị Lan",
        "title": "Kế hoạch tổ chức học tập, quán triệt Nghị quyết Hội nghị lần thứ tám "
                 "Ban Chấp hành Trung ương Đảng khóa XIII",
    }),
    (TO_TRINH_DRAFT, {
        "doc_number": "12/TTr-UBND", "doc_type": "Tờ trình", "issuer": "UBND phường Phúc Lợi",
        "title": "Tờ trình về việc đề nghị phê duyệt dự toán ngân sách phường năm 2025",
    }),
    (NEWS, {}),
    ("", {}),
], ids=["quyet-dinh", "nghi-quyet-dang-uy", "bao-cao-hdnd-pdf", "cong-van", "ke-hoach-chi-bo",
        "to-trinh-draft", "news", "empty"])
def test_extract_reads_the_document_header(text, expected):
    assert extract(text) == expected


@pytest.mark.parametrize("header, issuer", [
    ("ỦY BAN NHÂN DÂN\nPHƯỜNG PHÚC LỢI", "UBND phường Phúc Lợi"),
    ("HỘI ĐỒNG NHÂN DÂN\nPHƯỜNG PHÚC LỢI", "HĐND phường Phúc Lợi"),
    ("ĐẢNG BỘ QUẬN LONG BIÊN\nĐẢNG ỦY PHƯỜNG PHÚC LỢI", "Đảng ủy phường Phúc Lợi"),
    ("ỦY BAN NHÂN DÂN\nQUẬN LONG BIÊN", "UBND quận Long Biên"),
    ("UBND QUẬN LONG BIÊN\nPHÒNG TÀI CHÍNH - KẾ HOẠCH", "Phòng Tài chính - Kế hoạch"),
    ("ỦY BAN NHÂN DÂN PHƯỜNG PHÚC LỢI", "UBND phường Phúc Lợi"),
    ("QUẬN LONG BIÊN\nCÔNG AN PHƯỜNG PHÚC LỢI", "Công an phường Phúc Lợi"),
    ("UỶ BAN NHÂN DÂN\nPHƯỜNG PHÚC LỢI", "UBND phường Phúc Lợi"),   # old tone style
])
def test_issuer_is_the_lower_header_line_in_proper_case(header, issuer):
    text = f"{header}\nSố: 10/TB-UBND\nTHÔNG BÁO\nLịch tiếp công dân tháng 6\n"
    assert extract(text)["issuer"] == issuer


@pytest.mark.parametrize("line, published", [
    ("Phúc Lợi, ngày 05 tháng 3 năm 2024", "2024-03-05"),
    ("Long Biên, ngày 5 tháng 03 năm 2024", "2024-03-05"),
    ("Hà Nội, ngày 31 tháng 12 năm 2023", "2023-12-31"),
    ("Phúc Lợi, ngày 31 tháng 02 năm 2024", None),            # no such day
    ("Phúc Lợi, ngày      tháng      năm 2024", None),        # not filled in
])
def test_published_comes_from_the_place_and_date_line(line, published):
    text = f"ỦY BAN NHÂN DÂN\nPHƯỜNG PHÚC LỢI\nSố: 10/TB-UBND\n{line}\nTHÔNG BÁO\nVề lịch họp\n"
    assert extract(text).get("published") == published


def test_a_date_in_the_body_is_not_the_publication_date():
    text = ("ỦY BAN NHÂN DÂN\nPHƯỜNG PHÚC LỢI\nSố: 10/TB-UBND\nTHÔNG BÁO\nVề lịch họp\n"
            "Căn cứ Luật ngày 19 tháng 6 năm 2015;\nPhúc Lợi, ngày 20 tháng 6 năm 2024 họp.\n")
    assert "published" not in extract(text)


def test_header_columns_sharing_a_line_are_read_apart():
    text = ("ỦY BAN NHÂN DÂN CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\n"
            "PHƯỜNG PHÚC LỢI Phúc Lợi, ngày 05 tháng 3 năm 2024\n"
            "Số: 30/TB-UBND Độc lập - Tự do - Hạnh phúc\n"
            "THÔNG BÁO\nLịch tiếp công dân của Chủ tịch UBND phường tháng 4\n")
    assert extract(text) == {
        "doc_number": "30/TB-UBND", "doc_type": "Thông báo", "issuer": "UBND phường Phúc Lợi",
        "published": "2024-03-05",
        "title": "Thông báo lịch tiếp công dân của Chủ tịch UBND phường tháng 4",
    }


@pytest.mark.parametrize("hint, expected", [
    ("Kế hoạch về tổ chức Tết Trung thu năm 2023", {"doc_type": "Kế hoạch"}),
    ("Quyết định số 45/QĐ-UBND về việc khen thưởng",
     {"doc_number": "45/QĐ-UBND", "doc_type": "Quyết định"}),
    ("Thiếu nhi vui Tết Trung thu", {}),
    ("Báo cáo tại hội nghị, đồng chí Bí thư nêu rõ số 1 là an toàn", {}),   # a headline
])
def test_title_hint_helps_when_the_text_has_no_header(hint, expected):
    assert extract("Các cháu thiếu nhi vui đón Trung thu tại nhà văn hóa.", title_hint=hint) \
        == expected


@pytest.mark.skipif(not SEED_DIR.is_dir(), reason="shared seed folder absent")
def test_the_seed_news_article_yields_no_guesses():
    for path in SEED_DIR.glob("*.txt"):
        assert extract(path.read_text(encoding="utf-8")) == {}
