"""What a cluster shard holds: one full-text field per analysis layer, attributes for filters
and facets, and how our tokens are spelled so that Sphinx keeps them whole.

Our analysis decides the tokens (:func:`search_service.text.layers.index_layers`); Sphinx only
splits on spaces. Every token is spelled in ``[a-z0-9_]`` with a capital letter naming its
field (``D`` + ``phong`` in ``body_f``), so a term of one field never meets the same
letters in another, and each (term, field) is a keyword of its own: that is what lets the
service read a document's frequency per field back and rank with our own BM25F.
"""

from __future__ import annotations

import hashlib
import re
import zlib

from search_service.search.ranking import facet_key

# Field → the capital that starts its tokens. Q (escape) and Z (hashed) are never prefixes.
FIELD_PREFIX = {"title": "A", "body": "B", "title_f": "C", "body_f": "D", "title_bi": "E",
                "body_bi": "G", "title_w": "H", "body_w": "I", "number_key": "K"}
TEXT_FIELDS = tuple(FIELD_PREFIX)
SCORED = tuple(f for f in FIELD_PREFIX if f != "number_key")     # fields with a length
FACET_ATTRS = ("doc_type", "category", "issuer", "validity")     # text facets and filters
MISSING_DATE = -(2 ** 62)
MAX_TOKEN = 40            # Sphinx keeps words up to 42 bytes; longer ones are hashed
_SAFE = re.compile(r"[a-z0-9_]+")


def spell(token: str) -> str:
    """A token in letters Sphinx keeps whole: ``[a-z0-9_]`` as is, any other character as
    ``Q<hex>Q``; a long result becomes ``Z`` and a hash.

    >>> spell("phong"), spell("phòng"), spell("15-nq-du")
    ('phong', 'phQf2Qng', '15Q2dQnqQ2dQdu')
    """
    if _SAFE.fullmatch(token):
        out = token
    else:
        out = "".join(c if _SAFE.fullmatch(c) else f"Q{ord(c):x}Q" for c in token)
    if len(out) > MAX_TOKEN:
        out = "Z" + hashlib.blake2b(token.encode("utf-8"), digest_size=8).hexdigest()
    return out


def keyword(field: str, token: str) -> str:
    """``token`` of ``field`` as the cluster indexes it (``keyword("body_f", "phong")``)."""
    return FIELD_PREFIX[field] + spell(token)


def doc_number(doc_id: str) -> int:
    """Sphinx's 64-bit document id for our string id (stable, never 0)."""
    value = int.from_bytes(hashlib.blake2b(doc_id.encode("utf-8"), digest_size=8).digest(),
                           "big") & (2 ** 63 - 1)
    return value or 1


def code(value) -> int:
    """A facet value's filter code: the same for every spelling of it (case, spacing)."""
    return zlib.crc32(str(facet_key(value)).encode("utf-8")) if value else 0


def field_tokens(analysed: dict, number_key: str | None) -> dict[str, list[str]]:
    """Each field's keywords, in order, for one document (``analysed``: the
    :func:`search_service.text.layers.index_layers` of ``{"title": ..., "body": ...}``)."""
    out: dict[str, list[str]] = {}
    for source in ("title", "body"):
        layers = analysed[source]
        out[source] = [keyword(source, t) for t in layers["exact"]]
        out[source + "_f"] = [keyword(source + "_f", t) for t, _ in layers["folded"]]
        out[source + "_bi"] = [keyword(source + "_bi", t) for t in layers["bigram"]]
        out[source + "_w"] = [keyword(source + "_w", t) for t in layers["word"]]
    keys = [k for k in (number_key or "").split(",") if k]
    out["number_key"] = [keyword("number_key", k) for k in keys]
    return out


def index_block(name: str, path) -> str:
    """The ``index`` section of one shard (an RT index)."""
    fields = "\n".join(f"    rt_field = {f}" for f in TEXT_FIELDS)
    lengths = "\n".join(f"    rt_attr_uint = len_{f}" for f in SCORED)
    strings = "\n".join(f"    rt_attr_string = {a}" for a in FACET_ATTRS)
    codes = "\n".join(f"    rt_attr_uint = {a}_code" for a in FACET_ATTRS)
    return f"""
index {name}
{{
    type = rt
    path = {path}
{fields}
    rt_attr_string = doc_id
    rt_attr_string = stored
    rt_attr_string = content_hash
    rt_attr_string = path
    rt_attr_string = file_hash
{strings}
{codes}
    rt_attr_uint = public
    rt_attr_uint = year
    rt_attr_bigint = published
    rt_attr_bigint = views
{lengths}
    # Our tokens are already analysed: keep them whole, capitals distinct, no stemming.
    charset_table = 0..9, A..Z, a..z, _
    min_word_len = 1
    index_field_lengths = 1
    dict = keywords
    min_prefix_len = 1
    rt_mem_limit = 256M
}}
"""


# -- the lexicon: what "did you mean" reads of the terms the cluster holds ----------------------
# Sphinx 2.2 cannot list the keywords of an index, so the writer keeps one row per term form in
# a second RT index on every mirror (``<shard>_lexicon``, behind ``<index>_lexicon`` on the
# coordinator). Rows are only added: a form whose documents are gone stays a candidate with no
# documents, as a term of a deleted document stays in a Whoosh segment until it is merged.
LEXICON_SUFFIX = "_lexicon"
SYLLABLE, WORD, FOLDED, STAMP, NUMBER = 0, 1, 2, 3, 8       # kinds of lexicon rows
IN_TITLE = 4      # added to SYLLABLE and WORD for a form of a title (body forms list first)
_KIND_PREFIX = {SYLLABLE: "S", WORD: "W", FOLDED: "T", NUMBER: "N"}
# Shard n's write stamp (the cluster's generation) is the row STAMP_ID + n: ids must differ
# between shards, since a coordinator merges rows of the same id from its agents into one.
STAMP_ID = 1
STAMP_IDS = 1024          # ids reserved for stamps; lexicon rows come above


def lexicon_key(kind: int, folded: str) -> str:
    """The keyword a lexicon row is found by: its kind and the folded form."""
    return _KIND_PREFIX[kind if kind in _KIND_PREFIX else kind - IN_TITLE] + spell(folded)


def lexicon_id(kind: int, form: str) -> int:
    return max(doc_number(f"\0lexicon:{kind}:{form}"), STAMP_ID + STAMP_IDS)


def lexicon_block(name: str, path) -> str:
    """The ``index`` section of one shard's lexicon (an RT index)."""
    return f"""
index {name}
{{
    type = rt
    path = {path}
    rt_field = key
    rt_attr_uint = kind
    rt_attr_string = form
    rt_attr_bigint = stamp
    charset_table = 0..9, A..Z, a..z, _
    min_word_len = 1
    dict = keywords
    min_prefix_len = 1
    rt_mem_limit = 64M
}}
"""
