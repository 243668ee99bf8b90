"""Web pages saved from the ward portal: the article only, with its title, date and category.

trafilatura 2.x cannot be imported with lxml 6 here (it needs the separate lxml_html_clean
package), so this is a careful BeautifulSoup pass instead: boilerplate elements (menus,
sidebars such as "Tin mới", footers, scripts, cookie banners) are dropped, then the element
that holds most of the paragraph text is taken as the article. Nothing is ever fetched.
"""

from __future__ import annotations

import codecs
import re
from datetime import datetime
from pathlib import Path

from search_service.analysis import normalize_text
from search_service.ingest import IngestError, metadata
from search_service.ingest.encoding import decode

_DROP_TAGS = ("script", "style", "noscript", "template", "iframe", "svg", "canvas", "form",
              "button", "input", "select", "textarea", "nav", "aside", "footer", "menu",
              "object", "embed", "link", "meta")
_BOILERPLATE = re.compile(
    r"(^|[-_ ])(menu|nav|navbar|sidebar|side|footer|breadcrumbs?|cookie|consent|banner|share|"
    r"social|comments?|related|tinmoi|tin-moi|tinlienquan|lienquan|advert|ads|quangcao|widget|"
    r"login|search|timkiem|popup|modal|copyright|toolbar|tags?|print|hotline)($|[-_ ])",
    re.IGNORECASE)
_CONTENT_HINT = re.compile(
    r"(article|content|detail|chitiet|news-body|post|entry|noidung|main)", re.IGNORECASE)
_BLOCK_TAGS = frozenset(
    "address article blockquote dd div dl dt figcaption figure h1 h2 h3 h4 h5 h6 header hr li "
    "main ol p pre section table tbody thead tfoot tr ul caption center".split())
_CELL_TAGS = frozenset(("td", "th"))
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.IGNORECASE)
_POSTED_RE = re.compile(
    r"Ngày đăng\s*:?\s*(\d{1,2})/(\d{1,2})/(\d{4})(?:\s*\|?\s*(\d{1,2}):(\d{2}))?"
    r"(?:.*?Lượt xem\s*:?\s*([\d.,]+))?", re.IGNORECASE)
_DATE_META = (("property", "article:published_time"), ("itemprop", "datePublished"),
              ("name", "pubdate"), ("name", "publishdate"), ("name", "date"),
              ("name", "DC.date.issued"), ("property", "og:published_time"))
_SAVED_FROM = re.compile(r"saved from url=\(\d+\)(\S+)")
_HOME = ("trang chủ", "home", "trang chu")


def parse(path: Path, data: bytes) -> list[dict]:
    """One document from a saved web page."""
    try:
        return _parse(path, data)
    except RecursionError:   # BeautifulSoup walks the tree recursively
        raise IngestError("the web page is nested too deeply to read") from None


def _parse(path: Path, data: bytes) -> list[dict]:
    from bs4 import BeautifulSoup

    markup = _decode(data)
    soup = BeautifulSoup(markup, "lxml")
    facts = _page_facts(soup, markup)        # read before the breadcrumbs are dropped
    _drop_boilerplate(soup)
    root = _article_root(soup)
    title = (_first_h1(root) or facts.pop("og_title", None) or facts.pop("title_tag", None)
             or _first_h1(soup))
    lines, posted = _strip_page_header([line for line in _lines(root) if line], title)
    if not posted:      # the date line often sits beside the content, under the <h1>
        match = _POSTED_RE.search(" ".join(soup.get_text(" ").split()))
        posted = _posted_facts(match) if match else {}
    if not lines:
        raise IngestError("the web page holds no article text")
    body = "\n".join(lines)
    doc = metadata.extract(body, title_hint=title)
    # what the page states outright wins over what is guessed from the text
    doc.update({k: v for k, v in facts.items() if k in ("published", "category", "url")})
    doc.update(posted)
    doc.setdefault("title", title or metadata.first_meaningful_line(lines) or path.stem)
    doc["body"] = body
    return [doc]


def _decode(data: bytes) -> str:
    """Valid UTF-8 is UTF-8 (pages often declare a charset they do not use); otherwise
    respect ``<meta charset>``, and without one let encoding.decode decide."""
    declared = _META_CHARSET.search(data[:4096])
    if declared and not _is_utf8(data) and not data.startswith(
            (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        name = declared.group(1).decode("ascii", "ignore").lower()
        try:
            return normalize_text(data.decode(name))
        except (LookupError, UnicodeDecodeError):
            pass
    text = decode(data)
    if "<" not in text:
        raise IngestError("not an HTML page (no markup)")
    return text


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _page_facts(soup, html: str) -> dict:
    """Title, date, category and address from the page's head and breadcrumbs."""
    facts = {"og_title": _meta(soup, "property", "og:title"), "title_tag": _title_tag(soup)}
    for attr, name in _DATE_META:
        value = _meta(soup, attr, name)
        if value and _iso(value):
            facts["published"] = _iso(value)
            break
    facts["category"] = _breadcrumb_category(soup, _first_h1(soup)) or _meta(
        soup, "property", "article:section")
    canonical = soup.find("link", rel="canonical")
    saved = _SAVED_FROM.search(html[:1000])
    facts["url"] = (_meta(soup, "property", "og:url")
                    or (canonical.get("href") if canonical else None)
                    or (saved.group(1) if saved else None))
    return {k: normalize_text(v).strip() for k, v in facts.items() if v}


def _meta(soup, attr: str, name: str) -> str | None:
    tag = soup.find("meta", attrs={attr: name}) or soup.find(attrs={attr: name})
    if tag is None:
        return None
    value = tag.get("content") or tag.get("datetime") or tag.get_text(" ", strip=True)
    return value.strip() or None


def _title_tag(soup) -> str | None:
    """``<title>`` without the site name after " - " or " | "."""
    if soup.title is None or not soup.title.string:
        return None
    return re.split(r"\s+[|\-]\s+", soup.title.string.strip())[0] or None


def _first_h1(node) -> str | None:
    h1 = node.find("h1")
    text = " ".join(h1.get_text(" ").split()) if h1 else ""
    return text or None


def _iso(value: str) -> str | None:
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=None).isoformat(timespec="minutes")


def _breadcrumb_category(soup, title: str | None) -> str | None:
    """The last breadcrumb that is neither the home page nor the article itself."""
    crumbs = soup.find(class_=re.compile("breadcrumb", re.I)) or soup.find(
        id=re.compile("breadcrumb", re.I))
    if crumbs is None:
        return None
    items = [" ".join(a.get_text(" ").split()) for a in crumbs.find_all(["a", "li", "span"])]
    items = [i for i in items if i and i.lower() not in _HOME and i != title and len(i) < 80]
    return items[-1] if items else None


def _drop_boilerplate(soup) -> None:
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    for tag in soup.find_all("header"):
        if tag.find_parent(["article", "main"]) is None:   # the site's banner
            tag.decompose()
    for tag in soup.find_all(True):
        if tag.decomposed or tag.name in ("html", "body"):
            continue
        marks = " ".join(tag.get("class") or []) + " " + (tag.get("id") or "")
        if _BOILERPLATE.search(marks) and not _holds_article(tag):
            tag.decompose()


def _holds_article(tag) -> bool:
    """A wrapper named like boilerplate ("has-sidebar") that holds the article stays."""
    return tag.find(["h1", "article"]) is not None or tag.find(
        attrs={"itemprop": "articleBody"}) is not None


def _article_root(soup):
    """The element that holds the article: marked up as such, or the densest in paragraphs."""
    marked = soup.find(attrs={"itemprop": "articleBody"}) or soup.find("article")
    if marked is not None and len(marked.get_text(strip=True)) > 100:
        return marked
    scores = {}
    for paragraph in soup.find_all(["p", "td", "pre"]):
        length = len(paragraph.get_text(strip=True))
        if length < 20:
            continue
        for depth, parent in enumerate(paragraph.parents):
            if parent.name in ("html", "[document]") or depth > 2:
                break
            bonus = 1.25 if _CONTENT_HINT.search(" ".join(parent.get("class") or [])
                                                 + " " + (parent.get("id") or "")) else 1.0
            scores[id(parent)] = scores.get(id(parent), (parent, 0.0))
            scores[id(parent)] = (parent, scores[id(parent)][1] + length * bonus / (depth + 1))
    if not scores:
        return soup.body or soup
    return max(scores.values(), key=lambda pair: pair[1])[0]


def _lines(node) -> list[str]:
    """Text with a line break at every block element; inline markup keeps words together."""
    from bs4 import NavigableString, Tag

    parts: list[str] = []

    def walk(element) -> None:
        for child in element.children:
            if isinstance(child, Tag):
                if child.name == "br":
                    parts.append("\n")
                elif child.name in _BLOCK_TAGS:
                    parts.append("\n")
                    walk(child)
                    parts.append("\n")
                elif child.name in _CELL_TAGS:
                    parts.append("\n")
                    walk(child)
                else:
                    walk(child)
            elif isinstance(child, NavigableString) and type(child) is NavigableString:
                parts.append(str(child))

    walk(node)
    text = normalize_text("".join(parts))
    return [re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in text.split("\n")]


def _strip_page_header(lines: list[str], title: str | None) -> tuple[list[str], dict]:
    """Drop the title and the "Ngày đăng … | Lượt xem: …" line from the body; keep their facts."""
    posted: dict = {}
    kept = []
    for index, line in enumerate(lines):
        match = _POSTED_RE.search(line) if index < 6 else None
        if match and not posted:
            posted = _posted_facts(match)
            continue
        if title and index < 6 and line == title:
            continue
        kept.append(line)
    return kept, posted


def _posted_facts(match) -> dict:
    day, month, year, hour, minute, views = match.groups()
    facts: dict = {}
    try:
        stamp = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0))
        facts["published"] = stamp.isoformat(timespec="minutes")
    except ValueError:
        pass
    if views:
        facts["views"] = int(re.sub(r"[.,]", "", views))
    return facts
