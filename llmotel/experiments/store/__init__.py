"""The experiment store: SQLite by default, PostgreSQL from a URL; one schema and one migration path."""

from llmotel.experiments.store.store import DEFAULT_PATH, ENVIRONMENT, Store, jsonable, store_url

__all__ = ["DEFAULT_PATH", "ENVIRONMENT", "Store", "jsonable", "store_url"]
