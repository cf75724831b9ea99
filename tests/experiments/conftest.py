"""Fixtures for the experiment tests: a store per test (SQLite file, or a database on a real PostgreSQL server),
llmotel enabled with in-memory span export."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llmotel

from .postgres import PostgresServer, bin_dir


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the session; skipped when PostgreSQL is not installed (a failure in CI)."""
    found = bin_dir()
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL (initdb, pg_ctl) is required in CI: .ci/run installs it")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    server = PostgresServer(found).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """A fresh store location: a SQLite file, or a new database on the PostgreSQL server."""
    if request.param == "sqlite":
        return str(tmp_path / "store.db")
    server = request.getfixturevalue("postgres_server")
    return server.database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def sqlite_store(tmp_path) -> str:
    return str(tmp_path / "store.db")


@pytest.fixture
def spans() -> InMemorySpanExporter:
    """llmotel enabled, exporting to memory (call ``llmotel.flush()`` before reading)."""
    exporter = InMemorySpanExporter()
    llmotel.enable(exporter=exporter, export=llmotel.ExportOptions(console=False))
    return exporter
