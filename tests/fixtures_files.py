"""Realistic ward documents and the files the ingestion parsers read, made at test time.

Each ``write_*`` function writes one file into a folder (a pytest ``tmp_path``) and returns
its path. The documents follow Nghị định 30/2020/NĐ-CP and Hướng dẫn 36-HD/VPTW; the
names, numbers and people are made up.
"""

from __future__ import annotations

import io
import unicodedata
import zipfile
import zlib
from pathlib import Path

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")

# A decision of the ward People's Committee: header as a two-column table.
QD_LEFT = ["ỦY BAN NHÂN DÂN", "PHƯỜNG PHÚC LỢI", "-------", "Số: 123/QĐ-UBND"]
QD_RIGHT = ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
            "---------------", "Phúc Lợi, ngày 05 tháng 3 năm 2024"]
QD_BODY = [
    "QUYẾT ĐỊNH",
    "Về việc thành lập Tổ công tác rà soát hộ nghèo, hộ cận nghèo",
    "trên địa bàn phường năm 2024",
    "-----------",
    "CHỦ TỊCH ỦY BAN NHÂN DÂN PHƯỜNG PHÚC LỢI",
    "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015;",
    "Căn cứ Kế hoạch số 45/KH-UBND ngày 10 tháng 01 năm 2024 của UBND quận Long Biên;",
    "Xét đề nghị của công chức Văn hóa - Xã hội phường,",
    "QUYẾT ĐỊNH:",
    "Điều 1. Thành lập Tổ công tác rà soát hộ nghèo, hộ cận nghèo gồm các ông (bà) có tên "
    "sau: bà Lê Thị Hoa, công chức Văn hóa - Xã hội, Tổ trưởng; các tổ trưởng tổ dân phố.",
    "Điều 2. Tổ công tác có nhiệm vụ rà soát, thẩm định danh sách hộ nghèo, hộ cận nghèo "
    "của 14 tổ dân phố, hoàn thành trước ngày 30 tháng 11 năm 2024.",
    "Điều 3. Quyết định có hiệu lực kể từ ngày ký. Văn phòng HĐND và UBND, các ông (bà) có "
    "tên tại Điều 1 chịu trách nhiệm thi hành Quyết định này.",
]
QD_SIGN_LEFT = ["Nơi nhận:", "- Như Điều 3;", "- UBND quận Long Biên (để b/c);", "- Lưu: VT."]
QD_SIGN_RIGHT = ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "(Đã ký)", "Nguyễn Văn An"]
QD_META = {
    "doc_number": "123/QĐ-UBND", "doc_type": "Quyết định", "issuer": "UBND phường Phúc Lợi",
    "published": "2024-03-05", "signer": "Nguyễn Văn An",
    "title": "Quyết định về việc thành lập Tổ công tác rà soát hộ nghèo, hộ cận nghèo "
             "trên địa bàn phường năm 2024",
}

# A resolution of the ward Party committee (Hướng dẫn 36: "Số 15-NQ/ĐU", a star, "T/M").
NQ_TEXT = """ĐẢNG BỘ QUẬN LONG BIÊN
ĐẢNG ỦY PHƯỜNG PHÚC LỢI
*
Số 15-NQ/ĐU
ĐẢNG CỘNG SẢN VIỆT NAM
Phúc Lợi, ngày 20 tháng 01 năm 2024

NGHỊ QUYẾT
về lãnh đạo thực hiện nhiệm vụ chuyển đổi số năm 2024
-----

Thực hiện Nghị quyết Đại hội Đảng bộ phường lần thứ XXV, nhiệm kỳ 2020-2025, Đảng ủy phường
Phúc Lợi quyết nghị lãnh đạo chuyển đổi số trong cải cách hành chính và dịch vụ công trực tuyến.

T/M ĐẢNG ỦY
BÍ THƯ
(Đã ký)
Dương Ngọc Dũng

Nơi nhận:
- Ban Thường vụ Quận ủy (để b/c),
- Các chi bộ trực thuộc,
- Lưu Văn phòng Đảng ủy.
"""
NQ_META = {
    "doc_number": "15-NQ/ĐU", "doc_type": "Nghị quyết", "issuer": "Đảng ủy phường Phúc Lợi",
    "published": "2024-01-20", "signer": "Dương Ngọc Dũng",
    "title": "Nghị quyết về lãnh đạo thực hiện nhiệm vụ chuyển đổi số năm 2024",
}

# A report of the ward People's Council, as a PDF made by Word would extract: both
# header columns on one line.
BC_LINES = [
    ("HỘI ĐỒNG NHÂN DÂN", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
    ("PHƯỜNG PHÚC LỢI", "Độc lập - Tự do - Hạnh phúc"),
    ("Số: 08/BC-HĐND", "Long Biên, ngày 5 tháng 03 năm 2024"),
    ("", ""),
    ("BÁO CÁO", None),
    ("Kết quả giám sát việc giải quyết đơn thư của công dân năm 2023", None),
    ("", None),
    ("Thực hiện Nghị quyết về chương trình giám sát năm 2023, Thường trực HĐND phường báo "
     "cáo kết quả giám sát việc tiếp công dân và giải quyết đơn thư như sau:", None),
    ("1. Tổng số đơn thư nhận được: 42 đơn; đã giải quyết 40 đơn, đạt 95,2%.", None),
    ("2. Kiến nghị UBND phường đẩy nhanh việc hòa giải tranh chấp đất đai ở cơ sở.", None),
    ("", None),
    ("Nơi nhận:", "TM. THƯỜNG TRỰC HĐND"),
    ("- Thường trực HĐND quận;", "KT. CHỦ TỊCH"),
    ("- Lưu: VT.", "PHÓ CHỦ TỊCH"),
    ("", "Trần Thị Bích Ngọc"),
]
BC_META = {
    "doc_number": "08/BC-HĐND", "doc_type": "Báo cáo", "issuer": "HĐND phường Phúc Lợi",
    "published": "2024-03-05", "signer": "Trần Thị Bích Ngọc",
    "title": "Báo cáo kết quả giám sát việc giải quyết đơn thư của công dân năm 2023",
}


def qd_text() -> str:
    """The decision as plain text, header columns one after the other."""
    lines = QD_LEFT + QD_RIGHT + [""] + QD_BODY + QD_SIGN_LEFT + QD_SIGN_RIGHT
    return "\n".join(lines) + "\n"


def cp1258_bytes(text: str) -> bytes:
    """Encode like Vietnamese Windows: base letters from the code page, tone marks combining.

    Python's cp1258 codec has no precomposed "ế" or "ợ", so a letter it cannot encode is
    split into its base letter (with circumflex, breve or horn) and a combining tone mark.
    """
    tones = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
    out = []
    for char in unicodedata.normalize("NFC", text):
        try:
            out.append(char.encode("cp1258"))
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", char)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in tones))
        out.append(base.encode("cp1258") + "".join(c for c in parts if c in tones)
                   .encode("cp1258"))
    return b"".join(out)


def write_docx(folder: Path, name: str = "quyet-dinh-123.docx") -> Path:
    """The decision as Word makes it: header and signature in two-column tables."""
    import docx

    document = docx.Document()
    _two_column_table(document, QD_LEFT, QD_RIGHT)
    for line in QD_BODY:
        document.add_paragraph(line)
    _two_column_table(document, QD_SIGN_LEFT, QD_SIGN_RIGHT)
    path = folder / name
    document.save(str(path))
    return path


def _two_column_table(document, left: list[str], right: list[str]) -> None:
    table = document.add_table(rows=1, cols=2)
    for cell, lines in zip(table.rows[0].cells, (left, right)):
        cell.paragraphs[0].text = lines[0]
        for line in lines[1:]:
            cell.add_paragraph(line)


def pdf_bytes(rows: list[tuple[str, str | None]], pages: int = 1) -> bytes:
    """A text PDF in DejaVu Sans; each row is (left text, right text or None)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("DejaVuSans", str(FONT_DIR / "DejaVuSans.ttf")))
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    for _ in range(pages):
        pdf.setFont("DejaVuSans", 10)
        y = 800
        for left, right in rows:
            for chunk in _wrap(left, 95):
                pdf.drawString(50, y, chunk)
                if right:
                    pdf.drawString(300, y, right)
                    right = None
                y -= 16
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _wrap(text: str, width: int) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + len(word) >= width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return lines + [line] if line else lines or [""]


def write_pdf(folder: Path, name: str = "bao-cao-08.pdf", pages: int = 1) -> Path:
    path = folder / name
    path.write_bytes(pdf_bytes(BC_LINES, pages))
    return path


def scanned_pdf_bytes() -> bytes:
    """A PDF page with only a picture, like a scanner makes: no text layer."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    for i in range(20):
        pdf.rect(50 + i * 10, 700 - i * 20, 300, 8, fill=1)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def scan_pdf_bytes(pages: list[list[str]], height: int | None = None) -> bytes:
    """A PDF holding only pictures of ``pages`` (lines in DejaVu Serif at 150 dpi, no text
    layer), as a scanner makes: for OCR. Each page is ``height`` pixels, or just tall enough."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(FONT_DIR / "DejaVuSerif.ttf"), 27)
    images = []
    for lines in pages:
        image = Image.new("L", (1240, height or 120 + 45 * len(lines)), 255)
        draw = ImageDraw.Draw(image)
        for number, line in enumerate(lines):
            draw.text((80, 60 + 45 * number), line, font=font, fill=0)
        images.append(image)
    out = io.BytesIO()
    images[0].save(out, format="PDF", resolution=150, save_all=True, append_images=images[1:])
    return out.getvalue()


def encrypted_pdf_bytes(user_password: str = "matkhau") -> bytes:
    """The report PDF protected by a password; an empty user password only restricts copying."""
    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(pdf_bytes(BC_LINES)))
    writer = pypdf.PdfWriter()
    for page in reader.pages:
        writer.add_page(page)
    writer.encrypt(user_password=user_password, owner_password="chu-so-huu")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def slow_pdf_bytes(operations: int) -> bytes:
    """A one-page PDF whose compressed content stream holds ``operations`` text-drawing
    operators: a few kilobytes that keep a PDF text extractor busy for a long time."""
    content = zlib.compress(b"BT /F1 12 Tf 72 720 Td (Phuc Loi) Tj ET\n" * operations, 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(content) + content
        + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def docx_without_document_xml() -> bytes:
    """A valid zip that is not a Word document (an .xlsx-like package)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


# A news article on the ward portal, with the portal's real boilerplate around it.
ARTICLE_TITLE = "Phường Phúc Lợi ra quân tổng vệ sinh môi trường hưởng ứng Ngày Môi trường thế giới"
ARTICLE_PARAGRAPHS = [
    "Sáng ngày 5/6/2023, UBND phường Phúc Lợi phối hợp với Ủy ban MTTQ phường tổ chức ra quân "
    "tổng vệ sinh môi trường tại 14 tổ dân phố.",
    "Hơn 500 cán bộ, đoàn viên, hội viên và nhân dân đã tham gia thu gom rác thải, phát quang "
    "bụi rậm, khơi thông cống rãnh dọc đường Phúc Lợi & ngõ 12 Vũ Đức Thận.",
    "Đồng chí Nguyễn Văn An, Chủ tịch UBND phường đề nghị các tổ dân phố duy trì ra quân vào "
    "sáng Chủ nhật hằng tuần.",
]
ARTICLE_HTML = """<!DOCTYPE html>
<html lang="vi">
<head>
<meta charset="utf-8">
<title>Phường Phúc Lợi ra quân tổng vệ sinh môi trường hưởng ứng Ngày Môi trường thế giới - Cổng thông tin điện tử phường Phúc Lợi</title>
<meta property="og:title" content="Phường Phúc Lợi ra quân tổng vệ sinh môi trường hưởng ứng Ngày Môi trường thế giới">
<meta property="og:url" content="https://phucloi.longbien.hanoi.gov.vn/tin-tuc/ra-quan-tong-ve-sinh-moi-truong">
<link rel="stylesheet" href="/css/site.css">
<style>.menu{float:left} .tin-moi li{color:#333}</style>
<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments)}gtag('js',new Date());</script>
</head>
<body>
<header class="site-header">
  <div class="logo"><a href="/"><img src="/logo.png" alt="Quốc huy"></a>
  <span>ỦY BAN NHÂN DÂN PHƯỜNG PHÚC LỢI</span><span>QUẬN LONG BIÊN - THÀNH PHỐ HÀ NỘI</span></div>
  <form class="search" action="/tim-kiem"><input name="q" placeholder="Tìm kiếm..."><button>Tìm</button></form>
</header>
<nav class="main-menu"><ul>
  <li><a href="/">Trang chủ</a></li><li><a href="/gioi-thieu">Giới thiệu</a></li>
  <li><a href="/tin-tuc">Tin tức - Sự kiện</a></li><li><a href="/van-ban">Văn bản chỉ đạo điều hành</a></li>
  <li><a href="/thu-tuc">Thủ tục hành chính</a></li><li><a href="/lien-he">Liên hệ</a></li>
</ul></nav>
<div class="container">
  <div class="breadcrumb"><a href="/">Trang chủ</a> &gt; <a href="/tin-tuc">Tin tức - Sự kiện</a> &gt; <a href="/tin-tuc/moi-truong">Tài nguyên - Môi trường</a></div>
  <div class="row">
    <div class="col-md-8 news-detail">
      <h1 class="title">Phường Phúc Lợi ra quân tổng vệ sinh môi trường hưởng ứng Ngày Môi trường thế giới</h1>
      <div class="date">Ngày đăng 06/06/2023 | 08:15 &nbsp;| Lượt xem: 1.234</div>
      <div class="content">
        <p>Sáng ngày 5/6/2023, <b>UBND phường Phúc Lợi</b> phối hợp với Ủy ban MTTQ phường tổ chức ra quân tổng vệ sinh môi trường tại 14 tổ dân phố.</p>
        <p>Hơn 500 cán bộ, đoàn viên, hội viên và nhân dân đã tham gia thu gom rác thải, phát quang bụi rậm, khơi thông cống rãnh dọc đường Phúc Lợi &amp; ngõ 12 Vũ&nbsp;Đức&nbsp;Thận.</p>
        <p>Đồng chí <a href="/nguoi/nguyen-van-an">Nguyễn Văn An</a>, Chủ tịch UBND phường đề nghị các tổ dân phố duy trì ra quân vào sáng Chủ nhật hằng tuần.</p>
      </div>
      <div class="share-buttons"><a href="#">Chia sẻ Facebook</a> <a href="#">In bài viết</a></div>
      <div class="tin-lien-quan related"><h3>Tin liên quan</h3><ul>
        <li><a href="/tin-tuc/1">Phường Phúc Lợi tổ chức Tết trồng cây</a></li>
        <li><a href="/tin-tuc/2">Ra quân dọn dẹp kênh Cầu Bây</a></li></ul></div>
    </div>
    <aside class="col-md-4">
      <div class="box tin-moi"><h3>Tin mới</h3><ul>
        <li><a href="/tin-tuc/3">Hội nghị tiếp xúc cử tri trước kỳ họp thứ 7</a></li>
        <li><a href="/tin-tuc/4">Lịch tiếp công dân tháng 6 năm 2023</a></li></ul></div>
      <div class="box"><h3>Liên kết website</h3><a href="https://longbien.hanoi.gov.vn">Quận Long Biên</a></div>
    </aside>
  </div>
</div>
<footer class="footer">
  <p>Cổng thông tin điện tử phường Phúc Lợi - Quận Long Biên</p>
  <p>Địa chỉ: Số 1 phố Phúc Lợi, phường Phúc Lợi, quận Long Biên, Hà Nội. Điện thoại: 024.3875.1234</p>
  <p>Ghi rõ nguồn khi phát hành lại thông tin từ website này.</p>
</footer>
<div id="cookie-consent">Trang web sử dụng cookie để cải thiện trải nghiệm. <a href="#">Đồng ý</a></div>
<script>document.getElementById('cookie-consent').onclick=function(){this.remove()};</script>
</body>
</html>
"""
ARTICLE_BOILERPLATE = ["Trang chủ", "Giới thiệu", "Tin mới", "Hội nghị tiếp xúc cử tri",
                       "Địa chỉ", "cookie", "Tin liên quan", "Chia sẻ", "dataLayer", "float:left",
                       "Tìm kiếm", "Liên kết website", "Quốc huy"]

# The report, saved from the portal with Chrome (Windows-1258 page, header table).
REPORT_HTML = """<!-- saved from url=(0066)https://phucloi.longbien.hanoi.gov.vn/van-ban/bao-cao-08-bc-hdnd -->
<html><head>
<meta http-equiv="Content-Type" content="text/html; charset=windows-1258">
<title>Báo cáo kết quả giám sát việc giải quyết đơn thư | Phường Phúc Lợi</title>
<script src="/js/jquery.min.js"></script>
</head><body>
<div id="menu"><a href="/">Trang chủ</a> | <a href="/van-ban">Văn bản</a></div>
<div id="noidung">
<table class="header-table" width="100%"><tr>
<td><b>HỘI ĐỒNG NHÂN DÂN<br>PHƯỜNG PHÚC LỢI</b><br>-------<br>Số: 08/BC-HĐND</td>
<td><b>CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM<br>Độc lập - Tự do - Hạnh phúc</b><br>---------------<br><i>Long Biên, ngày 5 tháng 03 năm 2024</i></td>
</tr></table>
<p align="center"><b>BÁO CÁO</b></p>
<p align="center"><b>Kết quả giám sát việc giải quyết đơn thư của công dân năm 2023</b></p>
<p>Thực hiện Nghị quyết về chương trình giám sát năm 2023, Thường trực HĐND phường báo cáo kết quả giám sát việc tiếp công dân và giải quyết đơn thư như sau:</p>
<p>1. Tổng số đơn thư nhận được: 42 đơn; đã giải quyết 40 đơn, đạt 95,2%.</p>
<p>2. Kiến nghị UBND phường đẩy nhanh việc hòa giải tranh chấp đất đai ở cơ sở.</p>
<table width="100%"><tr>
<td><b><i>Nơi nhận:</i></b><br>- Thường trực HĐND quận;<br>- Lưu: VT.</td>
<td align="center"><b>TM. THƯỜNG TRỰC HĐND<br>KT. CHỦ TỊCH<br>PHÓ CHỦ TỊCH</b><br><br><br><b>Trần Thị Bích Ngọc</b></td>
</tr></table>
</div>
<div class="footer">Bản quyền thuộc UBND phường Phúc Lợi</div>
</body></html>
"""


def write_article_html(folder: Path, name: str = "ra-quan-ve-sinh.html") -> Path:
    path = folder / name
    path.write_text(ARTICLE_HTML, encoding="utf-8")
    return path


def write_report_html(folder: Path, name: str = "bao-cao-08.htm") -> Path:
    """The report page as Windows-1258 bytes, tone marks as combining characters."""
    path = folder / name
    path.write_bytes(cp1258_bytes(REPORT_HTML))
    return path


# Text in the ward website's export format, and the encodings Windows tools save it in.
ARTICLE_TXT = (
    "CÔNG TÁC ĐẢNG\n\n"
    "Chi bộ tổ dân phố số 5 tổ chức sinh hoạt chuyên đề quý II năm 2023\n"
    "Ngày đăng 20/06/2023 | 14:05 | Lượt xem: 87\n\n"
    "Chiều ngày 19/6/2023, Chi bộ tổ dân phố số 5 phường Phúc Lợi tổ chức sinh hoạt chuyên đề "
    "\"Học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh\". Đồng chí Bí thư chi bộ "
    "quán triệt việc giữ gìn vệ sinh, hòa giải mâu thuẫn ở khu dân cư và thủy lợi nội đồng.\n"
)
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16-le-bom", "utf-16-be-bom", "cp1258")


def encode(text: str, encoding: str) -> bytes:
    """``text`` as a Windows tool would save it: BOMs for UTF-16, combining tones for cp1258."""
    if encoding == "cp1258":
        return cp1258_bytes(text)
    if encoding == "utf-16-le-bom":
        return b"\xff\xfe" + text.encode("utf-16-le")
    if encoding == "utf-16-be-bom":
        return b"\xfe\xff" + text.encode("utf-16-be")
    return text.encode(encoding)


def write_text(folder: Path, text: str, encoding: str, name: str = "bai-viet.txt") -> Path:
    path = folder / name
    path.write_bytes(encode(text, encoding))
    return path
