"""What the views share: the app's engine and the calls they make on it, the one error
response (JSON under ``/api/``, the Vietnamese error page elsewhere), and how stored values
are shown.

The blueprints import these from here, never from the package ``search_service.web``: its app
factory imports the blueprints, so nothing below it may import it back.
"""

from __future__ import annotations

from flask import current_app, render_template, request, url_for

from search_service.errors import error_body
from search_service.text.fold import fold
from search_service.search import Hit, SearchEngine


def engine() -> SearchEngine:
    """The app's shared engine (one warm searcher per process)."""
    return current_app.extensions["search_engine"]


def wants_json() -> bool:
    """Whether this request is the JSON API's (errors are answered in JSON there)."""
    return request.path == "/api" or request.path.startswith("/api/")


def error_response(status: int, code: str, message: str, title_vi: str, message_vi: str,
                   body: dict | None = None):
    """``(body, status)``: the JSON error body under ``/api/``, else the Vietnamese error page."""
    if wants_json():
        return body or error_body(code, message), status
    return render_template("error.html", status=status, title=title_vi, message=message_vi), status


def latest_news(limit: int, include_internal: bool = False) -> list[Hit]:
    """The newest news (what counts as news: :mod:`search_service.search.news`), newest first; with
    no news at all, the newest documents stand in."""
    news = engine().latest(limit=limit, include_internal=include_internal, news_only=True)
    return news or engine().latest(limit=limit, include_internal=include_internal)


def completions(prefix: str, limit: int = 8, include_internal: bool = False) -> list[dict]:
    """What the search box offers while typing, each ``{"text", "kind", "id", "label", "url"}``:
    a document's title or số hiệu opens the document, a category or type runs the filtered
    search (``url`` says where a choice leads; ``label`` is how it reads)."""
    items = engine().complete(prefix, limit=limit, include_internal=include_internal)
    return [{**item, "label": vi_label(item["text"]) if item["kind"] in ("category", "type")
             else item["text"], "url": _completion_url(item)} for item in items]


def _completion_url(item: dict) -> str:
    if item.get("id") and item["kind"] in ("document", "number"):
        return url_for("ui.document", doc_id=item["id"])
    if item["kind"] == "category":
        return url_for("ui.search", category=item["text"])
    if item["kind"] == "type":
        return url_for("ui.search", type=item["text"])
    return url_for("ui.search", q=item["text"])


def vi_number(value) -> str:
    """``12345`` → ``12.345``."""
    try:
        return f"{int(value):,}".replace(",", ".")
    except (TypeError, ValueError):
        return str(value or "")


def vi_label(value) -> str:
    """A category or type in one case: the website's export writes some in capitals, staff
    in sentence case. Display only: links keep the stored value.

    >>> vi_label("TIN TỨC - SỰ KIỆN"), vi_label("CÔNG TÁC ĐẢNG"), vi_label("VĂN BẢN HĐND")
    ('Tin tức - Sự kiện', 'Công tác Đảng', 'Văn bản HĐND')
    >>> vi_label("Văn bản chỉ đạo, điều hành"), vi_label("PHÒNG CHỐNG COVID-19")
    ('Văn bản chỉ đạo, điều hành', 'Phòng chống COVID-19')
    """
    text = str(value or "")
    if text != text.upper() or not any(c.isalpha() for c in text):
        return text
    segments = []
    for segment in text.split(" - "):
        words = [_word_case(w) for w in segment.split(" ")]
        if words and words[0]:
            words[0] = words[0][0].upper() + words[0][1:]
        segments.append(" ".join(words))
    return " - ".join(segments)


def _word_case(word: str) -> str:
    """Acronyms (no vowel: UBND, HĐND) and words with digits stay; Đảng keeps its capital."""
    if any(c.isdigit() for c in word) or not any(c in "AEIOUY" for c in fold(word).upper()):
        return word
    lower = word.lower()
    return "Đảng" if lower == "đảng" else lower
