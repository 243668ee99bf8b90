"""What can go wrong in the library, in words a clerk or an API client can act on.

Each error carries the HTTP status the web layer should answer with, so the write API and the
console map them in one place without the library importing Flask.
"""

from __future__ import annotations


class LibraryError(Exception):
    """Base class: the library refused an operation and changed nothing."""
    status = 500
    code = "library_error"


class NotFound(LibraryError):
    """No document, user or token by that name or id."""
    status = 404
    code = "not_found"


class Conflict(LibraryError):
    """The operation clashes with what the library holds (a name in use, a non-empty folder)."""
    status = 409
    code = "conflict"


class InvalidValue(LibraryError):
    """A value given to the library is not acceptable (a bad role, date, or archive)."""
    status = 400
    code = "invalid_value"


class SchemaTooNew(LibraryError):
    """The database was written by a newer version of this program: never touch it."""
    code = "schema_too_new"
