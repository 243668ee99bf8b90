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
        "validity": {"type": ["string", "null"], "description": "in_force, not_yet_in_force, "
                     "replaced, repealed or unknown, as the library computed it (#11)."},
    },
}

# What GET /api/documents/<id> adds to the stored fields (#11).
RELATIONS = {
    "effective": {"type": ["string", "null"], "format": "date",
                  "description": "When the text says it applies."},
    "relations": {"type": "array", "description": "What this text does to the documents "
                  "it names by number (target_id null: not in the collection).",
                  "items": {"type": "object", "required": ["type", "number", "target_id",
                                                           "evidence"],
                            "properties": {
                                "type": {"type": "string", "enum": [
                                    "based_on", "replaces", "amends", "repeals",
                                    "repeals_part", "implements"]},
                                "number": {"type": "string"}, "target_id": NULLABLE_STR,
                                "evidence": {"type": "string"}}}},
    "related_by": {"type": "array", "items": {"type": "object", "properties": {
        "type": {"type": "string", "enum": ["replaced_by", "amended_by", "repealed_by",
                                            "partly_repealed_by", "basis_of",
                                            "implemented_by"]},
        "source_id": {"type": "string"}, "number": NULLABLE_STR}}},
    "validity": {"type": "object", "required": ["status", "since", "by"], "properties": {
        "status": {"type": "string", "enum": ["in_force", "not_yet_in_force", "replaced",
                                              "repealed", "unknown"]},
        "since": {"type": ["string", "null"], "format": "date"}, "by": NULLABLE_STR}},
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
        "suggested_filters": {
            "type": "array", "description": "Filters the query itself names (\"nghị quyết "
            "phòng cháy 2022\"), offered and never applied: each object holds URL parameters "
            "(type, issuer, year) that keep some but not all of the results.",
            "items": {"type": "object", "properties": {
                "type": {"type": "string"}, "issuer": {"type": "string"},
                "year": {"type": "integer"}}}},
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


# The write API: what may be sent and what comes back.
EDITABLE_FIELDS = {
    "title": "Tiêu đề", "doc_number": "Số/ký hiệu, e.g. 123/QĐ-UBND",
    "doc_type": "Loại văn bản, e.g. Quyết định", "issuer": "Cơ quan ban hành",
    "signer": "Người ký", "published": "Date issued or published (YYYY-MM-DD)",
    "category": "Chuyên mục",
}
VISIBILITY = {"type": "string", "enum": ["public", "internal"],
              "description": "public: everyone once published; internal: staff and tokens only."}
DOCUMENT = {
    "type": "object", "required": ["id", "title", "links"],
    "description": "The stored fields of a document (the keys of a search hit and its body).",
    "properties": {
        "id": {"type": "string"}, "title": {"type": "string"}, "body": {"type": "string"},
        "visibility": VISIBILITY,
        "links": {"type": "object", "required": ["html", "json"], "properties": {
            "html": {"type": "string"}, "json": {"type": "string"},
            "original": {"type": "string", "description": "Download of the original file, "
                                                          "when the library keeps it."}}},
        "text_source": {"type": "string", "enum": ["ocr"],
                        "description": "Present only when the text was read from a scan by "
                                       "OCR (it may hold misread words)."},
        **RELATIONS,
    },
}
UPLOAD = {
    "type": "object", "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": "DOCX, PDF with text, HTML, plain text or JSON Lines."},
        **{name: {"type": "string", "description": f"{help_}; wins over what is read from "
                                                  "the file."}
           for name, help_ in EDITABLE_FIELDS.items()},
        "visibility": VISIBILITY,
        "is_published": {"type": "boolean", "default": True,
                         "description": "false keeps the document as a draft, hidden from "
                                        "residents."},
    },
}
CHANGES = {
    "type": "object", "minProperties": 1, "additionalProperties": False,
    "description": "Fields to correct (null or \"\" clears one), the visibility, and whether "
                   "the document is published.",
    "properties": {
        **{name: {"type": ["string", "null"], "description": help_}
           for name, help_ in EDITABLE_FIELDS.items()},
        "visibility": VISIBILITY,
        "is_published": {"type": "boolean"},
    },
}
AUDIT = {
    "type": "object", "required": ["events"],
    "properties": {"events": {"type": "array", "items": {
        "type": "object", "required": ["at", "actor", "action", "document_id", "changes"],
        "properties": {
            "at": {"type": "string", "description": "ISO 8601, UTC"},
            "actor": {"type": "string", "description": "A user, token:NAME, or cli:USER."},
            "action": {"type": "string", "description": "add, correct, set_visibility, "
                                                        "publish, unpublish, delete, ..."},
            "document_id": {"type": ["string", "null"]},
            "changes": {"type": "object", "description": "field: [before, after]"},
        }}}},
}
TOKEN = [{"bearerAuth": []}]
TOKEN_OPTIONAL = [{}, {"bearerAuth": []}]
UNAUTHORIZED = {**_error_response("The API token is missing, unknown or revoked"),
                "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}}}
FORBIDDEN = _error_response("The token is a viewer's: it may read, not write")
BUSY = _error_response("The index is being written by another run; retry shortly")

# Conditional requests (web/caching.py) and rate limits (web/limits.py) of the read endpoints.
RETRY_AFTER = {"Retry-After": {"description": "Whole seconds to wait before asking again.",
                               "schema": {"type": "integer", "minimum": 1}}}
ETAG = {"description": "A weak tag of this answer (index generation, URL, who asks); send it "
                       "back in If-None-Match to get 304 while nothing changed.",
        "schema": {"type": "string"}}
# If-None-Match is described here rather than as a parameter: the parameter lists are the
# ones the views parse (web/params.py).
NOT_MODIFIED = {"description": "Not modified, no body: the request's If-None-Match holds the "
                               "ETag of an earlier answer that still holds (no commit since)",
                "headers": {"ETag": ETAG}}
TOO_MANY = {**_error_response("Too many requests from this client address "
                              "(SEARCH_RATE_LIMIT); code too_many_requests"),
            "headers": RETRY_AFTER}
UNAVAILABLE = {**_error_response("The index cannot be read right now (code "
                                 "index_unavailable) or the search cluster does not answer "
                                 "(backend_unavailable); retry later"),
               "headers": RETRY_AFTER}


def _read(responses: dict, *, limited: bool) -> dict:
    """A read endpoint's answers: 200 with its ETag, 304, 503, and 429 when ``limited``."""
    out = {**responses, "304": NOT_MODIFIED, "503": UNAVAILABLE}
    out["200"] = {**responses["200"], "headers": {"ETag": ETAG}}
    if limited:
        out["429"] = TOO_MANY
    return dict(sorted(out.items()))


def _write_paths(doc_id: dict) -> dict:
    """The operations that need a token, and the original files."""
    upload = {"post": {
        "summary": "Add a document from a file", "operationId": "addDocument",
        "security": TOKEN,
        "requestBody": {"required": True,
                        "content": {"multipart/form-data": {"schema": UPLOAD}}},
        "responses": {"201": _json(DOCUMENT, "Added; Location names it"),
                      "200": _json(DOCUMENT, "The same bytes were added before: that "
                                             "document"),
                      "400": _error_response("No file, or a field's value is not acceptable"),
                      "401": UNAUTHORIZED, "403": FORBIDDEN,
                      "409": _error_response("Conflicts with what the library holds"),
                      "413": _error_response("Larger than SEARCH_MAX_FILE_MB"),
                      "422": _error_response("The file cannot be read; the message says why"),
                      "503": BUSY}}}
    one = {
        "patch": {
            "summary": "Correct a document's metadata, visibility or publication",
            "operationId": "patchDocument", "parameters": [doc_id], "security": TOKEN,
            "requestBody": {"required": True,
                            "content": {"application/json": {"schema": CHANGES}}},
            "responses": {"200": _json(DOCUMENT, "The corrected document; searches see it "
                                                 "at once"),
                          "400": _error_response("An unknown field or a bad value; nothing "
                                                 "was changed"),
                          "401": UNAUTHORIZED, "403": FORBIDDEN,
                          "404": _error_response("No such document in the library"),
                          "503": BUSY}},
        "delete": {
            "summary": "Delete a document and its original", "operationId": "deleteDocument",
            "parameters": [doc_id], "security": TOKEN,
            "responses": {"204": {"description": "Deleted: gone from search, API and pages"},
                          "401": UNAUTHORIZED, "403": FORBIDDEN,
                          "404": _error_response("No such document in the library"),
                          "503": BUSY}},
    }
    original = {"get": {
        "summary": "The original file, byte for byte, as a download",
        "operationId": "getOriginal", "parameters": [doc_id], "security": TOKEN_OPTIONAL,
        "responses": {"200": {"description": "The file, with its media type and "
                                             "Content-Disposition: attachment",
                              "content": {"*/*": {"schema": {"type": "string",
                                                             "format": "binary"}}}},
                      "401": UNAUTHORIZED,
                      "404": _error_response("Unknown, not visible to the caller, or kept "
                                             "without its original")}}}
    audit = {"get": {
        "summary": "The audit log, newest first", "operationId": "audit",
        "security": TOKEN,
        "parameters": [
            {"name": "limit", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}},
            {"name": "document_id", "in": "query", "required": False,
             "schema": {"type": "string"}, "description": "Only this document's events."}],
        "responses": {"200": _json(AUDIT, "Who changed what, when"),
                      "400": _error_response("limit out of range"),
                      "401": UNAUTHORIZED}}}
    return {"/api/documents": upload, "/api/documents/{doc_id}/original": original,
            "/api/audit": audit}, one


def _parameters(max_query_chars: int) -> list[dict]:
    params = [{"name": p.name, "in": "query", "required": False, "description": p.help,
               "schema": dict(p.schema)} for p in SEARCH_PARAMS]
    params[0]["schema"]["maxLength"] = max_query_chars      # q: the limit this server applies
    return params


def spec(max_query_chars: int = 1000) -> dict:
    """The whole OpenAPI document."""
    doc_id = {"name": "doc_id", "in": "path", "required": True, "schema": {"type": "string"},
              "description": "Document id (may contain '/', '#', '.'; percent-encode '#')."}
    write_paths, one_document = _write_paths(doc_id)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Tra cứu phường API", "version": __version__,
                 "description": "Vietnamese-aware search over a ward's news and documents. "
                                "Accents are optional in queries. Internal documents are "
                                "visible to logged-in staff and API tokens only. Writes need "
                                "an editor's API token (Authorization: Bearer TOKEN)."},
        "paths": {
            "/api/search": {"get": {
                "summary": "Search documents", "operationId": "search",
                "parameters": _parameters(max_query_chars), "security": TOKEN_OPTIONAL,
                "responses": _read({"200": _json(SEARCH_RESULT, "One page of results"),
                                    "400": _error_response("A parameter is malformed or out "
                                                           "of range, or the page is deeper "
                                                           "than SEARCH_MAX_RESULT_DEPTH"),
                                    "401": UNAUTHORIZED}, limited=True),
            }},
            "/api/documents/{doc_id}": {"get": {
                "summary": "One document with all its stored fields and body",
                "operationId": "getDocument", "parameters": [doc_id],
                "security": TOKEN_OPTIONAL,
                "responses": _read({"200": _json(DOCUMENT, "The document"),
                                    "401": UNAUTHORIZED,
                                    "404": _error_response("Unknown or not public")},
                                   limited=False),
            }, **one_document},
            **write_paths,
            "/api/suggest": {"get": {
                "summary": "Completions (titles, numbers, categories, types), "
                           "accent-insensitive", "operationId": "suggest",
                "parameters": [{"name": "q", "in": "query", "required": False,
                                "schema": {"type": "string", "maxLength": 200}}],
                "responses": _read({"200": _json(SUGGESTIONS, "Up to 8 titles and 8 "
                                                              "completions"),
                                    "400": _error_response("q is too long"),
                                    "401": UNAUTHORIZED}, limited=True),
            }},
        },
        "components": {
            "schemas": {"Error": ERROR_SCHEMA, "Hit": HIT, "Completion": COMPLETION},
            "securitySchemes": {"bearerAuth": {
                "type": "http", "scheme": "bearer",
                "description": "An API token from `python -m search_service tokens create`. "
                               "Viewer tokens read internal documents; editor tokens also "
                               "write."}},
        },
    }
