"""``Store``: runs, results, evaluations and run logs in SQLite (default) or PostgreSQL.

Location: ``store=`` (a path, a URL or a :class:`Store`), else ``LLMOTEL_STORE``, else ``.llmotel/llmotel.db``
under the working directory. SQLite runs in WAL mode with a busy timeout and short write transactions, so two
processes can write to one file at once; every finished record is committed as it finishes.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmotel.errors import ConfigurationError, ExperimentError

if TYPE_CHECKING:
    pass

DEFAULT_PATH = Path(".llmotel") / "llmotel.db"
ENVIRONMENT = "LLMOTEL_STORE"
_SQLITE_BUSY_MS = 60_000
_PG_MIGRATION_LOCK = 0x6C6C6D6F74656C  # "llmotel": one advisory lock id for migrations
_BATCH = 500


def _sa() -> Any:
    try:
        import sqlalchemy
    except ImportError as exc:
        raise ConfigurationError(
            "store", None, "the experiments extra: pip install 'llmotel[experiments]' (SQLAlchemy)"
        ) from exc
    return sqlalchemy


def store_url(location: str | os.PathLike[str] | None = None) -> str:
    """The SQLAlchemy URL for ``location`` (a path or URL), ``LLMOTEL_STORE`` or the default file."""
    raw = os.fspath(location) if location is not None else os.environ.get(ENVIRONMENT) or str(DEFAULT_PATH)
    if "://" not in raw:
        path = Path(raw).expanduser().resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    scheme, _, rest = raw.partition("://")
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    if scheme.startswith(("sqlite", "postgresql+")):
        return raw
    raise ConfigurationError("store", raw, "a file path, sqlite:///PATH or postgresql://USER@HOST:PORT/DB")


def jsonable(value: Any) -> Any:
    """A value the store can keep as JSON: non-finite floats and unknown objects become their repr."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    model_dump = getattr(value, "model_dump", None)  # pydantic models, e.g. an SDK response
    if callable(model_dump):
        with contextlib.suppress(Exception):
            return jsonable(model_dump(mode="json"))
    return repr(value)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


class Store:
    """The experiment store at ``location`` (see :func:`store_url`); migrated to the current schema on open
    (``migrate=False`` leaves that to :meth:`migrate`)."""

    def __init__(self, location: str | os.PathLike[str] | None = None, migrate: bool = True) -> None:
        sa = _sa()
        from llmotel.experiments.store import schema

        self.t = schema
        self._inserts: dict[tuple[str, bool], tuple[str, list[str], frozenset[str]]] = {}
        self.url = store_url(location)
        self.is_sqlite = self.url.startswith("sqlite")
        options: dict[str, Any] = {"json_serializer": _dumps}
        if self.is_sqlite:
            options["connect_args"] = {"timeout": _SQLITE_BUSY_MS / 1000, "check_same_thread": False}
        else:
            options["pool_pre_ping"] = True
        try:
            self.engine = sa.create_engine(self.url, **options)
        except Exception as exc:  # an unknown dialect or a missing driver
            raise ConfigurationError("store", self.display_url, f"a reachable database ({exc})") from exc
        if self.is_sqlite:
            self._sqlite_events()
        try:
            if migrate:
                self._migrate_retrying_sqlite_deadlocks()
        except ConfigurationError:
            raise
        except Exception as exc:
            raise ConfigurationError("store", self.display_url, f"a reachable, writable database ({exc})") from exc

    @property
    def display_url(self) -> str:
        """The URL without a password."""
        return self.engine.url.render_as_string(hide_password=True) if hasattr(self, "engine") else self.url

    def _sqlite_events(self) -> None:
        sa = _sa()

        @sa.event.listens_for(self.engine, "connect")
        def connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # transactions are begun below, explicitly
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_MS}")
            cursor.close()

        @sa.event.listens_for(self.engine, "begin")
        def begin(conn: Any) -> None:
            # writers take the write lock up front: a deferred transaction that later needs it can deadlock
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("llmotel_write") else "BEGIN")

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextlib.contextmanager
    def writing(self) -> Iterator[Any]:
        """One write transaction."""
        with self.engine.connect() as conn:
            conn.execution_options(llmotel_write=True)
            with conn.begin():
                yield conn

    @contextlib.contextmanager
    def reading(self) -> Iterator[Any]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    # --- schema -------------------------------------------------------------------------------------------------

    def schema_version(self) -> int:
        sa = _sa()
        with self.reading() as conn:
            if not sa.inspect(conn).has_table(self.t.schema_version.name):
                return 0
            return int(conn.execute(sa.select(self.t.schema_version.c.version)).scalar() or 0)

    def _migrate_retrying_sqlite_deadlocks(self) -> None:
        """:meth:`migrate`, retried when SQLite answers "database is locked" at once: it does so without waiting
        for the busy timeout when waiting could deadlock (several processes or threads opening a new store file
        together), and the documented remedy is to roll back and try again."""
        deadline = time.monotonic() + _SQLITE_BUSY_MS / 1000
        delay = 0.01
        while True:
            try:
                self.migrate()
                return
            except _sa().exc.OperationalError as exc:
                if not self.is_sqlite or "locked" not in str(exc) or time.monotonic() + delay > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def migrate(self, to: int | None = None) -> None:
        """Bring the schema up to version ``to`` (one transaction per migration, under a lock)."""
        sa = _sa()
        to = self.t.SCHEMA_VERSION if to is None else to
        current = self.schema_version()
        if current > self.t.SCHEMA_VERSION:
            raise ConfigurationError("store", self.display_url, f"a store of schema version <= "
                                     f"{self.t.SCHEMA_VERSION}; it has version {current}: upgrade llmotel")
        for version, step in self.t.MIGRATIONS:
            if version > to:
                break
            with self.writing() as conn:
                if not self.is_sqlite:
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
                self.t.metadata.create_all(conn, tables=[self.t.schema_version])
                found = conn.execute(sa.select(self.t.schema_version.c.version)).scalar()
                if found is not None and found >= version:
                    continue  # another process got here first
                step(conn)
                if found is None:
                    conn.execute(sa.insert(self.t.schema_version).values(id=1, version=version))
                else:
                    conn.execute(sa.update(self.t.schema_version).values(version=version))

    # --- helpers ------------------------------------------------------------------------------------------------

    @property
    def _mark(self) -> str:
        return "?" if self.is_sqlite else "%s"

    def _insert(self, conn: Any, table: Any, rows: Sequence[Mapping[str, Any]], ignore: bool = False) -> None:
        """``executemany`` straight to the driver: SQLAlchemy's per-row processing was most of a write's cost."""
        if not rows:
            return
        key = (table.name, ignore)
        prepared = self._inserts.get(key)
        if prepared is None:
            sa = _sa()
            columns = [c.name for c in table.columns]
            json_columns = frozenset(c.name for c in table.columns if isinstance(c.type, sa.JSON))
            marks = ", ".join(f"{self._mark}::json" if c in json_columns and not self.is_sqlite else self._mark
                              for c in columns)
            verb = "INSERT OR IGNORE INTO" if ignore and self.is_sqlite else "INSERT INTO"
            tail = " ON CONFLICT DO NOTHING" if ignore and not self.is_sqlite else ""
            sql = f"{verb} {table.name} ({', '.join(columns)}) VALUES ({marks}){tail}"
            prepared = self._inserts[key] = (sql, columns, json_columns)
        sql, columns, json_columns = prepared
        conn.exec_driver_sql(sql, [
            tuple(_dumps(row[c]) if c in json_columns and row.get(c) is not None else row.get(c) for c in columns)
            for row in rows])

    def _rows_between(self, table: Any, run_id: str, first: int, last: int, order: str) -> list[dict[str, Any]]:
        """A run's rows of ``table`` at positions ``first..last``, read straight from the driver (SQLAlchemy's
        per-row type processing was most of the time ``compare`` and ``report`` spent reading 10,000 records).
        JSON columns are decoded as :func:`_json_value` says; booleans come back as bool on both databases."""
        sa, m = _sa(), self._mark
        columns = [c.name for c in table.columns]
        json_columns = {c.name for c in table.columns if isinstance(c.type, sa.JSON)} if self.is_sqlite else set()
        bool_columns = {c.name for c in table.columns if isinstance(c.type, sa.Boolean)}
        with self.reading() as conn:
            rows = conn.exec_driver_sql(f"SELECT {', '.join(columns)} FROM {table.name} WHERE run_id = {m} AND "
                                        f"position BETWEEN {m} AND {m} ORDER BY {order}", (run_id, first, last)
                                        ).fetchall()
        if not json_columns and not bool_columns:
            return [dict(zip(columns, row, strict=True)) for row in rows]
        decoders = [(_json_value if c in json_columns else _boolean if c in bool_columns else None) for c in columns]
        return [{c: (v if d is None or v is None else d(v)) for c, v, d in zip(columns, row, decoders, strict=True)}
                for row in rows]

    def _insert_ignore(self, table: Any) -> Any:
        from sqlalchemy.dialects import postgresql, sqlite

        return (sqlite.insert if self.is_sqlite else postgresql.insert)(table).on_conflict_do_nothing()

    # --- experiments, datasets, runs ----------------------------------------------------------------------------

    def experiment_id(self, name: str, description: str | None = None, tags: Mapping[str, str] | None = None,
                      new_id: str | None = None) -> str:
        """The id of experiment ``name``, created (with ``new_id``) when it is new."""
        sa = _sa()
        import uuid

        with self.writing() as conn:
            conn.execute(self._insert_ignore(self.t.experiments).values(
                name=name, id=new_id or str(uuid.uuid4()), description=description, tags=dict(tags or {}),
                created_at=time.time()))
            experiments = self.t.experiments
            return str(conn.execute(sa.select(experiments.c.id).where(experiments.c.name == name)).scalar_one())

    def experiment(self, name: str) -> dict[str, Any]:
        sa, experiments = _sa(), self.t.experiments
        with self.reading() as conn:
            row = conn.execute(sa.select(experiments).where(experiments.c.name == name)).mappings().first()
        return dict(row) if row is not None else {}

    def save_dataset_records(self, version: str, records: Iterable[tuple[int, Any]]) -> None:
        """Keep a dataset version's records (once per version)."""
        sa = _sa()
        with self.reading() as conn:
            exists = conn.execute(sa.select(self.t.dataset_records.c.record_id)
                                  .where(self.t.dataset_records.c.dataset_version == version).limit(1)).first()
        if exists:
            return
        rows = ({"dataset_version": version, "record_id": r.id, "position": p, "input_data": jsonable(r.input_data),
                 "expected_output": jsonable(r.expected_output), "metadata": jsonable(dict(r.metadata))}
                for p, r in records)
        for batch in _batches(rows, 5000):
            with self.writing() as conn:
                self._insert(conn, self.t.dataset_records, batch, ignore=True)

    def create_run(self, row: Mapping[str, Any], record_ids: Sequence[tuple[int, str]] = ()) -> None:
        with self.writing() as conn:
            conn.execute(_sa().insert(self.t.runs).values(**row))
        for batch in _batches(({"run_id": row["id"], "position": p, "record_id": r} for p, r in record_ids), 5000):
            with self.writing() as conn:
                self._insert(conn, self.t.run_records, batch)

    def update_run(self, run_id: str, **values: Any) -> None:
        with self.writing() as conn:
            conn.execute(_sa().update(self.t.runs).where(self.t.runs.c.id == run_id).values(**values))

    def run(self, ref: str) -> dict[str, Any]:
        """The run with this id or unique id prefix, or ``latest`` (:class:`llmotel.ExperimentError` if none)."""
        sa = _sa()
        with self.reading() as conn:
            if ref == "latest":
                query = sa.select(self.t.runs).order_by(self.t.runs.c.started_at.desc()).limit(1)
            else:
                query = sa.select(self.t.runs).where(self.t.runs.c.id.startswith(ref, autoescape=True)).limit(2)
            rows = conn.execute(query).mappings().all()
        if not rows:
            raise ExperimentError(f"no run {ref!r} in {self.display_url}")
        if len(rows) > 1:
            raise ExperimentError(f"run id prefix {ref!r} is ambiguous in {self.display_url}")
        return dict(rows[0])

    def runs(self, experiment: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        sa = _sa()
        query = sa.select(self.t.runs).order_by(self.t.runs.c.started_at.desc()).limit(limit)
        if experiment is not None:
            query = query.where(self.t.runs.c.experiment_name == experiment)
        with self.reading() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def run_record_ids(self, run_id: str) -> list[tuple[int, str]]:
        sa = _sa()
        with self.reading() as conn:
            return [(p, r) for p, r in conn.execute(
                sa.select(self.t.run_records.c.position, self.t.run_records.c.record_id)
                .where(self.t.run_records.c.run_id == run_id).order_by(self.t.run_records.c.position))]

    def finished_units(self, run_id: str) -> set[tuple[str, int]]:
        """The (record id, iteration) pairs of a run that have a stored result."""
        sa, results = _sa(), self.t.results
        with self.reading() as conn:
            return {(r, i) for r, i in conn.execute(
                sa.select(results.c.record_id, results.c.iteration).where(results.c.run_id == run_id))}

    # --- results ------------------------------------------------------------------------------------------------

    def write_units(self, run_id: str, units: Sequence[Any]) -> None:
        """Results, their evaluations and run-log entries of finished record x runs, in one transaction."""
        result_rows, value_rows, log_rows = [], [], []
        usage: dict[tuple[str, str], list[int]] = {}
        done = failed = input_tokens = output_tokens = 0
        for u in units:
            for key, (model_in, model_out, calls) in u.usage.items():
                total = usage.setdefault(key, [0, 0, 0])
                total[0] += model_in
                total[1] += model_out
                total[2] += calls
            result_rows.append({
                "run_id": run_id, "record_id": u.record_id, "iteration": u.iteration, "position": u.position,
                "status": u.status, "output": jsonable(u.output), "error_type": u.error_type,
                "error_message": u.error_message, "latency_s": u.latency_s, "attempts": u.attempts,
                "input_tokens": u.input_tokens, "output_tokens": u.output_tokens, "llm_calls": u.llm_calls,
                "trace_id": u.trace_id, "span_id": u.span_id, "started_at": u.started_at,
            })
            done += 1
            failed += u.status != "ok"
            input_tokens += u.input_tokens or 0
            output_tokens += u.output_tokens or 0
            for v in u.values:
                value_rows.append({
                    "run_id": run_id, "record_id": u.record_id, "iteration": u.iteration, "name": v.name,
                    "position": u.position, "kind": v.kind, "value": jsonable(v.value), "label": v.label,
                    "reasoning": v.reasoning, "assessment": v.assessment, "tags": dict(v.tags) or None,
                    "details": jsonable(dict(v.metadata)) or None, "error_type": v.error_type,
                    "error_message": v.error_message,
                })
            log_rows += [{"run_id": run_id, "seq": seq, "kind": kind, "entry": jsonable(entry)}
                         for seq, kind, entry in u.log]
        mark = self._mark
        with self.writing() as conn:
            self._insert(conn, self.t.results, result_rows)
            self._insert(conn, self.t.evaluations, value_rows)
            self._insert(conn, self.t.run_log, log_rows)
            if usage:
                conn.exec_driver_sql(
                    f"INSERT INTO run_usage (run_id, provider, model, input_tokens, output_tokens, calls) "
                    f"VALUES ({mark}, {mark}, {mark}, {mark}, {mark}, {mark}) ON CONFLICT (run_id, provider, model) "
                    "DO UPDATE SET input_tokens = run_usage.input_tokens + excluded.input_tokens, "
                    "output_tokens = run_usage.output_tokens + excluded.output_tokens, "
                    "calls = run_usage.calls + excluded.calls",
                    [(run_id, provider, model, *total) for (provider, model), total in sorted(usage.items())])
            conn.exec_driver_sql(
                f"UPDATE runs SET results_done = results_done + {mark}, results_failed = results_failed + {mark}, "
                f"input_tokens = input_tokens + {mark}, output_tokens = output_tokens + {mark} WHERE id = {mark}",
                (done, failed, input_tokens, output_tokens, run_id))

    def results_between(self, run_id: str, first: int, last: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Results and evaluations of the records at positions ``first..last``, in position and run order."""
        return (self._rows_between(self.t.results, run_id, first, last, "position, iteration"),
                self._rows_between(self.t.evaluations, run_id, first, last, "position, iteration"))

    def measures_between(self, run_id: str, first: int, last: int
                         ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Like :meth:`results_between`, only the columns aggregation needs (no outputs, reasoning or details),
        read straight from the driver."""
        m = self._mark
        result_columns = ("record_id", "iteration", "status", "latency_s", "input_tokens", "output_tokens")
        value_columns = ("record_id", "iteration", "name", "value", "error_type")
        where = f"WHERE run_id = {m} AND position BETWEEN {m} AND {m}"
        with self.reading() as conn:
            results = conn.exec_driver_sql(f"SELECT {', '.join(result_columns)} FROM results {where}",
                                           (run_id, first, last)).fetchall()
            values = conn.exec_driver_sql(f"SELECT {', '.join(value_columns)} FROM evaluations {where} "
                                          "ORDER BY position, iteration", (run_id, first, last)).fetchall()
        return ([dict(zip(result_columns, r, strict=True)) for r in results],
                [{"record_id": r, "iteration": i, "name": n, "value": _json_value(v) if self.is_sqlite else v,
                  "error_type": e}
                 for r, i, n, v, e in values])

    def value_names(self, run_id: str) -> list[str]:
        """The names of a run's evaluator and metric values, sorted."""
        sa, evaluations = _sa(), self.t.evaluations
        with self.reading() as conn:
            return sorted(conn.execute(sa.select(evaluations.c.name).where(evaluations.c.run_id == run_id)
                                       .distinct()).scalars())

    def usage(self, run_id: str) -> list[dict[str, Any]]:
        """A run's token usage per model: ``{"provider", "model", "input_tokens", "output_tokens", "calls"}``
        (empty for runs stored before schema version 3, or that made no LLM calls)."""
        sa, usage = _sa(), self.t.run_usage
        with self.reading() as conn:
            return [dict(r) for r in conn.execute(
                sa.select(usage).where(usage.c.run_id == run_id).order_by(usage.c.provider, usage.c.model)).mappings()]

    def write_aggregates(self, run_id: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            with self.writing() as conn:
                self._insert(conn, self.t.record_aggregates, [{"run_id": run_id, **r} for r in rows])

    def clear_aggregates(self, run_id: str) -> None:
        with self.writing() as conn:
            conn.execute(_sa().delete(self.t.record_aggregates).where(self.t.record_aggregates.c.run_id == run_id))

    def aggregates_between(self, run_id: str, first: int, last: int) -> list[dict[str, Any]]:
        return self._rows_between(self.t.record_aggregates, run_id, first, last, "position")

    def dataset_records(self, version: str, record_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        sa = _sa()
        out: dict[str, dict[str, Any]] = {}
        for batch in _batches(iter(record_ids), _BATCH):
            with self.reading() as conn:
                for row in conn.execute(sa.select(self.t.dataset_records).where(
                        self.t.dataset_records.c.dataset_version == version,
                        self.t.dataset_records.c.record_id.in_(batch))).mappings():
                    out[row["record_id"]] = dict(row)
        return out

    # --- run log ------------------------------------------------------------------------------------

    def add_log(self, run_id: str, entries: Sequence[tuple[int, str, Any]]) -> None:
        if entries:
            with self.writing() as conn:
                conn.execute(_sa().insert(self.t.run_log),
                             [{"run_id": run_id, "seq": s, "kind": k, "entry": jsonable(e)} for s, k, e in entries])

    def log(self, run_id: str, kinds: Sequence[str] | None = None) -> list[dict[str, Any]]:
        sa = _sa()
        query = sa.select(self.t.run_log).where(self.t.run_log.c.run_id == run_id).order_by(self.t.run_log.c.seq)
        if kinds is not None:
            query = query.where(self.t.run_log.c.kind.in_(list(kinds)))
        with self.reading() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    # --- whole tables of one run (export) -----------------------------------------------------------------------

    def rows(self, table_name: str, run_id: str, order: Sequence[str] = ()) -> Iterator[dict[str, Any]]:
        """Every row of one run in a table, streamed in batches."""
        sa = _sa()
        table = self.t.metadata.tables[table_name]
        key = table.c.run_id if "run_id" in table.c else table.c.id
        columns = [table.c[name] for name in order] or list(table.primary_key.columns)
        offset = 0
        while True:
            with self.reading() as conn:
                batch = conn.execute(sa.select(table).where(key == run_id).order_by(*columns)
                                     .limit(_BATCH * 4).offset(offset)).mappings().all()
            yield from (dict(r) for r in batch)
            if len(batch) < _BATCH * 4:
                return
            offset += len(batch)

    def insert_rows(self, table_name: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            with self.writing() as conn:
                conn.execute(self._insert_ignore(self.t.metadata.tables[table_name]), list(rows))

    def delete_run(self, run_id: str) -> None:
        sa = _sa()
        with self.writing() as conn:
            t = self.t
            for table in (t.run_usage, t.run_log, t.record_aggregates, t.evaluations, t.results, t.run_records):
                conn.execute(sa.delete(table).where(table.c.run_id == run_id))
            conn.execute(sa.delete(self.t.runs).where(self.t.runs.c.id == run_id))


def _boolean(raw: Any) -> bool:
    return bool(raw)


def _json_value(raw: Any) -> Any:
    """A JSON column's value as SQLite's driver returns it: the text, or a number (a JSON column has numeric
    affinity there, so ``1.5`` comes back as a float). psycopg decodes json itself: a string is the value."""
    return json.loads(raw) if isinstance(raw, str) else raw


def _batches(rows: Iterator[Any] | Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
