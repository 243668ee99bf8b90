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

from search_service.text.normalize import normalize_text
from search_service.ingest import IngestError, legacy, metadata
from search_service.ingest.encoding import decode

# Far above a ward portal's article page (some 5,000 tags) or a long report saved from Word.
MAX_TAGS = 100_000
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
# Single-byte charsets a legacy-font page may declare: their bytes are the font's bytes.
_WESTERN_8BIT = frozenset(("cp1252", "cp1258", "iso8859-1", "iso8859-15"))
_TAG_RE = re.compile(r"(<[^>]*>)")
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.IGNORECASE)
_POSTED_RE = re.compile(
    r"Ngày đăng\s*:?\s*(\d{1,2})/(\d{1,2})/(\d{4})(?:\s*\|?\s*(\d{1,2}):(\d{2}))?"
    r"(?:.*?Lượt xem\s*:?\s*([\d.,]+))?", re.IGNORECASE)
_DATE_META = (("property", "article:published_time"), ("itemprop", "datePublished"),
              ("name", "pubdate"), ("name", "publishdate"), ("name", "date"),
              ("name", "DC.date.issued"), ("property", "og:published_time"))
_SAVED_FROM = re.compile(r"saved from url=\(\d+\)(\S+)")
_HOME = ("trang chủ", "home", "trang chu")
_MAX_CRUMBS = 20
_META_ATTRS = ("property", "itemprop", "name")
_BREADCRUMB = re.compile("breadcrumb", re.IGNORECASE)


def parse(path: Path, data: bytes) -> list[dict]:
    """One document from a saved web page."""
    try:
        return _parse(path, data)
    except RecursionError:   # a last resort: parts of bs4 we do not call may recurse
        raise IngestError("the web page is nested too deeply to read") from None


def _parse(path: Path, data: bytes) -> list[dict]:
    from bs4 import BeautifulSoup

    # Counted before parsing, at C speed: BeautifulSoup keeps some 700 bytes and spends some
    # 40 µs per tag, so a 50 MB file of "<b>" would take gigabytes and most of an hour.
    tags = data.count(b"<")
    if tags > MAX_TAGS:
        raise IngestError(f"the web page is too large to read: {tags:,} tags, over the "
                          f"{MAX_TAGS:,} read per page (save the article alone)")
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
    respect ``<meta charset>``, and without one let encoding.decode decide.

    Either way text typed in a legacy font (TCVN3, VNI) is converted, as
    :func:`~search_service.ingest.encoding.decode` does it: such pages were saved declaring
    the Western charset their font's bytes were shown in."""
    declared = _META_CHARSET.search(data[:4096])
    if declared and not _is_utf8(data) and not data.startswith(
            (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        name = declared.group(1).decode("ascii", "ignore").lower()
        try:
            return normalize_text(_legacy_fixed(data, data.decode(name), name))
        except (LookupError, UnicodeDecodeError):
            pass
    text = decode(data)
    if "<" not in text:
        raise IngestError("not an HTML page (no markup)")
    return text


def _legacy_fixed(data: bytes, text: str, charset: str) -> str:
    """``text`` (``data`` read in its declared ``charset``) with legacy-font lines converted
    before anything normalizes it. The legacy tables read the bytes as Windows-1252, so a page
    declaring an 8-bit Western charset (Windows-1252 or -1258, ISO-8859-1) is read that way
    first: Windows-1258 would turn some of the fonts' letters into combining marks."""
    if codecs.lookup(charset).name in _WESTERN_8BIT:
        fixed, found = _fix_between_tags(data.decode("cp1252", errors="replace"))
        if found is not None:
            return fixed
    return _fix_between_tags(text)[0]


def _fix_between_tags(markup: str) -> tuple[str, str | None]:
    """:func:`legacy.fix_text` of the text between the tags, each piece on lines of its own:
    a tag glued to a word ("<p>ñY BAN") would hide that the word was typed in capitals
    ("ỦY BAN"), and tags are never legacy text. The conversion keeps the number of lines, so
    every piece goes back where it was."""
    parts = _TAG_RE.split(markup)
    texts = parts[0::2]
    fixed, found = legacy.fix_text("\n".join(texts))
    if found is None:
        return markup, None
    lines, start = fixed.split("\n"), 0
    for number, piece in enumerate(texts):
        count = piece.count("\n") + 1
        parts[2 * number] = "\n".join(lines[start:start + count])
        start += count
    return "".join(parts), found


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _page_facts(soup, html: str) -> dict:
    """Title, date, category and address from the page's head and breadcrumbs."""
    found = _landmarks(soup)
    facts = {"og_title": _meta(found, "property", "og:title"),
             "title_tag": _title_tag(found.get("title"))}
    for attr, name in _DATE_META:
        value = _meta(found, attr, name)
        if value and _iso(value):
            facts["published"] = _iso(value)
            break
    h1 = found.get("h1")
    facts["category"] = _breadcrumb_category(
        found.get("crumbs-class") or found.get("crumbs-id"),
        _first_h1(h1) if h1 is not None else None) or _meta(found, "property", "article:section")
    canonical = found.get("canonical")
    saved = _SAVED_FROM.search(html[:1000])
    facts["url"] = (_meta(found, "property", "og:url")
                    or (canonical.get("href") if canonical else None)
                    or (saved.group(1) if saved else None))
    return {k: normalize_text(v).strip() for k, v in facts.items() if v}


def _landmarks(soup) -> dict:
    """The first tag of each kind :func:`_page_facts` reads, found in one pass over the page
    (a ``soup.find`` per fact read the whole page twenty times)."""
    from bs4 import Tag

    found: dict = {}
    for tag in soup.descendants:
        if not isinstance(tag, Tag):
            continue
        keys = [tag.name] if tag.name in ("title", "h1") else []
        for attr in _META_ATTRS:
            value = tag.get(attr)
            if isinstance(value, str):
                keys.append(("any", attr, value))
                if tag.name == "meta":
                    keys.append(("meta", attr, value))
        if tag.name == "link" and "canonical" in (tag.get("rel") or ()):
            keys.append("canonical")
        if _BREADCRUMB.search(" ".join(tag.get("class") or ())):
            keys.append("crumbs-class")
        if _BREADCRUMB.search(tag.get("id") or ""):
            keys.append("crumbs-id")
        for key in keys:
            found.setdefault(key, tag)
    return found


def _meta(found: dict, attr: str, name: str) -> str | None:
    """A ``<meta>`` value, or the text of any other tag carrying the attribute."""
    tag = found.get(("meta", attr, name)) or found.get(("any", attr, name))
    if tag is None:
        return None
    value = tag.get("content") or tag.get("datetime") or tag.get_text(" ", strip=True)
    return value.strip() or None


def _title_tag(title) -> str | None:
    """``<title>`` without the site name after " - " or " | "."""
    if title is None or not title.string:
        return None
    return re.split(r"\s+[|\-]\s+", title.string.strip())[0] or None


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


def _breadcrumb_category(crumbs, title: str | None) -> str | None:
    """The last breadcrumb that is neither the home page nor the article itself."""
    if crumbs is None:
        return None
    # A handful of crumbs at most: each get_text reads the whole element below it.
    items = [" ".join(a.get_text(" ").split())
             for a in crumbs.find_all(["a", "li", "span"], limit=_MAX_CRUMBS)]
    items = [i for i in items if i and i.lower() not in _HOME and i != title and len(i) < 80]
    return items[-1] if items else None


def _drop_boilerplate(soup) -> None:
    """Drop menus, sidebars, footers, scripts and the site's banner; keep what holds the article.

    Every pass visits each tag once: a page nested 100,000 levels deep must cost what 100,000
    sibling tags cost. (Asking each tag whether it holds the article with ``tag.find`` made
    this quadratic in the depth, and so did bs4's own ``tag.decomposed``.)
    """
    kept = _drop_by_name(soup)
    holders = _article_holders(kept)
    dropped: set[int] = set()
    outermost = []
    for tag in kept:                        # document order: a parent comes before its children
        if id(tag.parent) in dropped:
            dropped.add(id(tag))
            continue
        marks = " ".join(tag.get("class") or []) + " " + (tag.get("id") or "")
        if (tag.name not in ("html", "body") and _BOILERPLATE.search(marks)
                and id(tag) not in holders):
            dropped.add(id(tag))
            outermost.append(tag)
    for tag in outermost:                   # only now: a decomposed tag forgets its parent
        tag.decompose()


def _drop_by_name(soup) -> list:
    """Decompose scripts, menus, footers (:data:`_DROP_TAGS`) and a ``<header>`` outside
    ``<article>``/``<main>`` (the site's banner); return the other tags in document order."""
    kept, doomed = [], []
    stack = [(child, False) for child in reversed(_child_tags(soup))]
    while stack:
        tag, in_article = stack.pop()
        if tag.name in _DROP_TAGS or (tag.name == "header" and not in_article):
            doomed.append(tag)
            continue
        kept.append(tag)
        inside = in_article or tag.name in ("article", "main")
        stack.extend((child, inside) for child in reversed(_child_tags(tag)))
    for tag in doomed:                      # none is inside another: their insides were skipped
        tag.decompose()
    return kept


def _article_holders(tags: list) -> set[int]:
    """``id()`` of every tag with an ``<h1>``, ``<article>`` or ``articleBody`` below it: a
    wrapper named like boilerplate ("has-sidebar") that holds the article stays."""
    holders: set[int] = set()
    for tag in reversed(tags):              # children before parents
        if (id(tag) in holders or tag.name in ("h1", "article")
                or tag.get("itemprop") == "articleBody"):
            holders.add(id(tag.parent))
    return holders


def _child_tags(node) -> list:
    from bs4 import Tag

    return [child for child in node.contents if isinstance(child, Tag)]


def _text_lengths(node) -> dict[int, int]:
    """``id(tag)`` → the length of ``tag.get_text(strip=True)`` for every tag below ``node``,
    computed in one pass from the innermost tags out (``get_text`` on each would be
    quadratic in the depth)."""
    from bs4 import CData, NavigableString, Tag

    lengths: dict[int, int] = {}
    tags = [d for d in node.descendants if isinstance(d, Tag)]
    for tag in reversed(tags):
        total = 0
        for child in tag.contents:
            if isinstance(child, Tag):
                total += lengths[id(child)]
            elif type(child) in (NavigableString, CData):
                total += len(child.strip())
        lengths[id(tag)] = total
    return lengths


def _article_root(soup):
    """The element that holds the article: marked up as such, or the densest in paragraphs."""
    marked = soup.find(attrs={"itemprop": "articleBody"}) or soup.find("article")
    if marked is not None and len(marked.get_text(strip=True)) > 100:
        return marked
    lengths = _text_lengths(soup)
    scores = {}
    for paragraph in soup.find_all(["p", "td", "pre"]):
        length = lengths[id(paragraph)]
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


_BLOCK_END = object()       # marks where a block element ends in :func:`_lines`' stack


def _lines(node) -> list[str]:
    """Text with a line break at every block element; inline markup keeps words together.

    Walks with its own stack, not by recursion: pages nest deeper than Python's stack.
    """
    from bs4 import NavigableString, Tag

    parts: list[str] = []
    stack = list(reversed(node.contents))
    while stack:
        item = stack.pop()
        if item is _BLOCK_END:
            parts.append("\n")
        elif isinstance(item, Tag):
            if item.name == "br":
                parts.append("\n")
                continue
            if item.name in _BLOCK_TAGS:
                parts.append("\n")
                stack.append(_BLOCK_END)
            elif item.name in _CELL_TAGS:
                parts.append("\n")
            stack.extend(reversed(item.contents))
        elif type(item) is NavigableString:
            parts.append(str(item))
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
