"""What counts as news: the rule behind the home page's "Tin mới" and ``/feed.xml``.

News is what a resident opens the site to learn: the ward website's articles, which carry no
loại văn bản, and documents whose type says they are news or a notice to the public. A JSON
Lines export or a staff member types articles as "Tin tức", "Tin" or "Bản tin"; a "Thông báo"
(the schedule of citizen receptions, a water cut, a recruitment) is written for residents even
when it has a number, so it is news too. Nghị quyết, Quyết định, Kế hoạch, Báo cáo... are
documents: residents find them by search and by type, not in the news.

The types come from the setting ``SEARCH_NEWS_TYPES`` (names separated by commas, compared
without regard to case or spacing); an empty setting leaves only the untyped articles.
"""

from __future__ import annotations

import numpy as np

from search_service import config
from search_service.text.normalize import normalize_text


def news_types(setting: str | None = None) -> frozenset[str]:
    """The comparison keys of the news types in ``setting`` (default: ``SEARCH_NEWS_TYPES``).

    >>> sorted(news_types("Tin tức,  THÔNG BÁO ,,bản  tin"))
    ['bản tin', 'thông báo', 'tin tức']
    """
    if setting is None:
        setting = str(config.load()["NEWS_TYPES"])
    return frozenset(filter(None, (type_key(name) for name in setting.split(","))))


def type_key(value) -> str:
    """A type as compared: one tone style, lower case, single spaces.

    >>> type_key("  TIN  TỨC ")
    'tin tức'
    """
    return " ".join(normalize_text(str(value)).casefold().split())


def news_mask(col, types: frozenset[str] | None = None) -> np.ndarray:
    """Documents that are news in the ranking collection ``col``: those without a loại văn
    bản, and those whose type is one of the news ``types`` (default: the setting)."""
    codes, values = col.columns["doc_type"]
    wanted = news_types() if types is None else types
    news_codes = [code for code, value in enumerate(values) if type_key(value) in wanted]
    return (codes < 0) | np.isin(codes, news_codes)
