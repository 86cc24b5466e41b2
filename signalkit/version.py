"""Package version (single source for pyproject and the store's provenance)."""

__version__ = "0.1.0"
