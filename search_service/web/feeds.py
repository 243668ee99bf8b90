"""Atom feeds built with ElementTree, so every title and snippet is XML-escaped by the builder."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timezone

from search_service.search import Hit

ATOM = "http://www.w3.org/2005/Atom"
ET.register_namespace("", ATOM)
_STRIP = dict.fromkeys(c for c in range(32) if c not in (9, 10, 13))   # XML 1.0 forbids these


def _text(value) -> str:
    return str(value or "").translate(_STRIP)


def _sub(parent, tag: str, text=None, **attrs):
    el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", {k: _text(v) for k, v in attrs.items()})
    if text is not None:
        el.text = _text(text)
    return el


def _timestamp(published: str | None) -> str:
    if not published:
        return "1970-01-01T00:00:00Z"
    return datetime.fromisoformat(published).replace(tzinfo=timezone.utc).isoformat() \
        .replace("+00:00", "Z")


def atom_feed(title: str, self_url: str, html_url: str, hits: list[Hit], link_for,
              label=str) -> bytes:
    """An Atom document; ``link_for(hit)`` gives the absolute URL of a hit's page and
    ``label(value)`` how a category or type reads (the term stays the stored value)."""
    feed = ET.Element(f"{{{ATOM}}}feed")
    _sub(feed, "title", title)
    _sub(feed, "id", self_url)
    _sub(feed, "link", rel="self", href=self_url, type="application/atom+xml")
    _sub(feed, "link", rel="alternate", href=html_url, type="text/html")
    stamps = [_timestamp(h.published) for h in hits]
    _sub(feed, "updated", max(stamps) if stamps else _timestamp(None))
    author = _sub(feed, "author")
    _sub(author, "name", title.split(":")[0])
    for hit, stamp in zip(hits, stamps):
        entry = _sub(feed, "entry")
        url = link_for(hit)
        _sub(entry, "title", hit.title)
        _sub(entry, "id", url)
        _sub(entry, "link", rel="alternate", href=url, type="text/html")
        _sub(entry, "updated", stamp)
        if hit.published:
            _sub(entry, "published", stamp)
        for term in (hit.doc_type, hit.category):
            if term:
                _sub(entry, "category", term=term, label=label(term))
        # The snippet is already-escaped HTML (only <mark> is markup): type="html" says so,
        # and the builder escapes it once more for XML.
        _sub(entry, "summary", hit.snippet, type="html")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
