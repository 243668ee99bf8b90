"""The OpenAPI 3 description of ``/api/``, built from the same parameter list the views parse."""

from __future__ import annotations

from search_service import __version__
from search_service.web.params import SEARCH_PARAMS

ERROR = {"$ref": "#/components/schemas/Error"}


def _error_response(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": ERROR}}}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


FACET_VALUE = {
    "type": "object", "required": ["value", "count", "selected"],
    "properties": {"value": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                   "count": {"type": "integer"}, "selected": {"type": "boolean"}},
}
NULLABLE_STR = {"type": ["string", "null"]}

HIT = {
    "type": "object",
    "required": ["id", "title", "snippet", "score", "category", "doc_type", "doc_number",
                 "issuer", "published", "views", "url"],
    "properties": {
        "id": {"type": "string"}, "title": {"type": "string"},
        "title_html": {"type": "string", "description": "Escaped HTML; only <mark> is markup."},
        "snippet": {"type": "string", "description": "Escaped HTML; only <mark> is markup."},
        "score": {"type": ["number", "null"]}, "category": NULLABLE_STR,
        "doc_type": NULLABLE_STR, "doc_number": NULLABLE_STR, "issuer": NULLABLE_STR,
        "published": {"type": ["string", "null"], "description": "ISO 8601 date-time"},
        "views": {"type": ["integer", "null"]}, "url": NULLABLE_STR,
        "visibility": {"type": "string", "enum": ["public", "internal"]},
    },
}

SEARCH_RESULT = {
    "type": "object",
    "required": ["query", "normalized_query", "total", "page", "per_page", "took_ms",
                 "did_you_mean", "facets", "hits"],
    "properties": {
        "query": {"type": "string"}, "normalized_query": {"type": "string"},
        "total": {"type": "integer"}, "page": {"type": "integer"},
        "per_page": {"type": "integer"}, "took_ms": {"type": "number"},
        "did_you_mean": NULLABLE_STR,
        "facets": {"type": "object", "additionalProperties": {"type": "array",
                                                              "items": FACET_VALUE}},
        "hits": {"type": "array", "items": HIT},
    },
}

COMPLETION = {
    "type": "object", "required": ["text", "kind", "id", "label", "url"],
    "properties": {
        "text": {"type": "string", "description": "The completion as stored (a title, a "
                                                  "number, a facet value)."},
        "label": {"type": "string", "description": "How it reads: a category or type in "
                                                   "capitals is given in sentence case."},
        "kind": {"type": "string", "enum": ["document", "number", "category", "type"],
                 "description": "document: a title; number: a số/ký hiệu; category, type: a "
                                "facet value."},
        "id": {"type": ["string", "null"], "description": "The document's id (document, "
                                                          "number)."},
        "url": {"type": "string", "description": "The page a choice opens: the document, or "
                                                 "the search filtered by the value."},
    },
}

SUGGESTIONS = {
    "type": "object", "required": ["suggestions"],
    "properties": {
        "query": {"type": "string"},
        "suggestions": {"type": "array", "maxItems": 8, "items": {"type": "string"},
                        "description": "Titles that complete the query."},
        "items": {"type": "array", "maxItems": 8, "items": COMPLETION,
                  "description": "Completions of every kind, best first."},
    },
}

ERROR_SCHEMA = {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"],
                             "properties": {"code": {"type": "string"},
                                            "message": {"type": "string"},
                                            "parameter": {"type": "string"}}}},
}


def _parameters(max_query_chars: int) -> list[dict]:
    params = [{"name": p.name, "in": "query", "required": False, "description": p.help,
               "schema": dict(p.schema)} for p in SEARCH_PARAMS]
    params[0]["schema"]["maxLength"] = max_query_chars      # q: the limit this server applies
    return params


def spec(max_query_chars: int = 1000) -> dict:
    """The whole OpenAPI document."""
    doc_id = {"name": "doc_id", "in": "path", "required": True, "schema": {"type": "string"},
              "description": "Document id (may contain '/', '#', '.'; percent-encode '#')."}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Tra cứu phường API", "version": __version__,
                 "description": "Vietnamese-aware search over a ward's news and documents. "
                                "Accents are optional in queries. Internal documents are "
                                "visible to logged-in staff only."},
        "paths": {
            "/api/search": {"get": {
                "summary": "Search documents", "operationId": "search",
                "parameters": _parameters(max_query_chars),
                "responses": {"200": _json(SEARCH_RESULT, "One page of results"),
                              "400": _error_response("A parameter is malformed or out of range")},
            }},
            "/api/documents/{doc_id}": {"get": {
                "summary": "One document with all its stored fields and body",
                "operationId": "getDocument", "parameters": [doc_id],
                "responses": {"200": _json({"type": "object", "required": ["id", "title"]},
                                           "The document"),
                              "404": _error_response("Unknown or not public")},
            }},
            "/api/suggest": {"get": {
                "summary": "Completions (titles, numbers, categories, types), "
                           "accent-insensitive", "operationId": "suggest",
                "parameters": [{"name": "q", "in": "query", "required": False,
                                "schema": {"type": "string", "maxLength": 200}}],
                "responses": {"200": _json(SUGGESTIONS, "Up to 8 titles and 8 completions"),
                              "400": _error_response("q is too long")},
            }},
        },
        "components": {"schemas": {"Error": ERROR_SCHEMA, "Hit": HIT, "Completion": COMPLETION}},
    }
