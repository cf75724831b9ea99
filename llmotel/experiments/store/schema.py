"""The experiment store's tables (SQLAlchemy Core, one schema for SQLite and PostgreSQL) and its migrations.

``llmotel_schema`` holds the schema version. Each migration moves the schema one version up inside one
transaction, taken under a lock (SQLite ``BEGIN IMMEDIATE``, a PostgreSQL advisory lock), so two processes
opening a new store at once migrate it once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlalchemy as sa

metadata = sa.MetaData()

schema_version = sa.Table(
    "llmotel_schema", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)

experiments = sa.Table(
    "experiments", metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("id", sa.String(36), nullable=False, unique=True),
    sa.Column("description", sa.Text),
    sa.Column("tags", sa.JSON),
    sa.Column("created_at", sa.Float, nullable=False),
)

dataset_records = sa.Table(
    "dataset_records", metadata,
    sa.Column("dataset_version", sa.String(32), primary_key=True),
    sa.Column("record_id", sa.String(200), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("input_data", sa.JSON),
    sa.Column("expected_output", sa.JSON),
    sa.Column("metadata", sa.JSON),
)

runs = sa.Table(
    "runs", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("experiment_name", sa.String(200), nullable=False, index=True),
    sa.Column("experiment_id", sa.String(36), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # dataset | block
    sa.Column("status", sa.String(16), nullable=False),  # running | completed | interrupted | failed
    sa.Column("dataset_name", sa.String(200)),
    sa.Column("dataset_version", sa.String(32)),
    sa.Column("iterations", sa.Integer, nullable=False),
    sa.Column("records_total", sa.Integer, nullable=False),
    sa.Column("results_done", sa.Integer, nullable=False),
    sa.Column("results_failed", sa.Integer, nullable=False),
    sa.Column("input_tokens", sa.BigInteger, nullable=False),
    sa.Column("output_tokens", sa.BigInteger, nullable=False),
    sa.Column("config", sa.JSON),
    sa.Column("run_metadata", sa.JSON),
    sa.Column("objectives", sa.JSON),
    sa.Column("summary", sa.JSON),
    sa.Column("objective_results", sa.JSON),
    sa.Column("passed", sa.Boolean),
    sa.Column("error", sa.Text),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float),
)

run_records = sa.Table(
    "run_records", metadata,
    sa.Column("run_id", sa.String(36), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("record_id", sa.String(200), nullable=False),
)

results = sa.Table(
    "results", metadata,
    sa.Column("run_id", sa.String(36), primary_key=True),
    sa.Column("record_id", sa.String(200), primary_key=True),
    sa.Column("iteration", sa.Integer, primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("status", sa.String(8), nullable=False),  # ok | error
    sa.Column("output", sa.JSON),
    sa.Column("error_type", sa.String(200)),
    sa.Column("error_message", sa.Text),
    sa.Column("latency_s", sa.Float),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("input_tokens", sa.Integer),
    sa.Column("output_tokens", sa.Integer),
    sa.Column("llm_calls", sa.Integer, nullable=False),
    sa.Column("trace_id", sa.String(32)),
    sa.Column("span_id", sa.String(16)),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Index("ix_results_position", "run_id", "position"),
)

evaluations = sa.Table(
    "evaluations", metadata,
    sa.Column("run_id", sa.String(36), primary_key=True),
    sa.Column("record_id", sa.String(200), primary_key=True),
    sa.Column("iteration", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(16)),
    sa.Column("value", sa.JSON),
    sa.Column("label", sa.String(200)),
    sa.Column("reasoning", sa.Text),
    sa.Column("assessment", sa.String(8)),
    sa.Column("tags", sa.JSON),
    sa.Column("details", sa.JSON),
    sa.Column("error_type", sa.String(200)),
    sa.Column("error_message", sa.Text),
    sa.Index("ix_evaluations_position", "run_id", "position"),
)

record_aggregates = sa.Table(
    "record_aggregates", metadata,
    sa.Column("run_id", sa.String(36), primary_key=True),
    sa.Column("record_id", sa.String(200), primary_key=True),
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("aggregate", sa.JSON),  # RecordAggregate.to_dict(), or null when the record has no value
    sa.Column("objective_passed", sa.Boolean),  # null: no objective on this metric
    sa.Index("ix_record_aggregates_position", "run_id", "position"),
)

run_log = sa.Table(
    "run_log", metadata,
    sa.Column("run_id", sa.String(36), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),  # prompt | model | call
    sa.Column("entry", sa.JSON, nullable=False),
)

run_usage = sa.Table(
    "run_usage", metadata,
    sa.Column("run_id", sa.String(36), primary_key=True),
    sa.Column("provider", sa.String(100), primary_key=True),  # "" when the span did not say
    sa.Column("model", sa.String(200), primary_key=True),  # the response's model, else the requested one; or ""
    sa.Column("input_tokens", sa.BigInteger, nullable=False),
    sa.Column("output_tokens", sa.BigInteger, nullable=False),
    sa.Column("calls", sa.Integer, nullable=False),
)

#: version -> the tables that migration creates (each migration is one transaction)
MIGRATIONS: Sequence[tuple[int, Callable[[sa.Connection], None]]] = (
    (1, lambda conn: metadata.create_all(conn, tables=[experiments, dataset_records, runs, run_records, results,
                                                        evaluations, record_aggregates])),
    # 2: the run log (prompts, models and, for block runs, the conversation)
    (2, lambda conn: metadata.create_all(conn, tables=[run_log])),
    # 3: token usage per model (the cost of a run that used several models)
    (3, lambda conn: metadata.create_all(conn, tables=[run_usage])),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]
