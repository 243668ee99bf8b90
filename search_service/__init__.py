"""Tra cứu phường: Vietnamese-aware full-text search for a ward's documents.

Importing the core never imports Flask: the web layer lives in ``search_service.web``.
"""

__version__ = "0.1.0"
