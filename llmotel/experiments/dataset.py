"""``Dataset``: named, versioned records ``{input_data, expected_output?, metadata?}`` for experiments.

Records come from a list, a CSV file, a JSONL file or llmotel's own traces file (``LLMOTEL_TRACES_FILE``), so
production traffic becomes a regression set. Every record has a stable id (given, or a hash of its content) and
the dataset's version is a hash of all its records, stored with every run. A bad record is a
:class:`llmotel.DatasetError` naming it, raised when the dataset is built, before any task runs.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from llmotel import semconv as sc
from llmotel.errors import DatasetError
from llmotel.evaluation.types import EvaluationInput

RECORD_KEYS = ("input_data", "expected_output", "metadata", "id")


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys; raises ``ValueError``/``TypeError`` for values that are not JSON."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _digest(text: str, length: int = 16) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


@dataclass(frozen=True)
class Record:
    """One dataset record. ``id`` is given or a hash of ``input_data`` and ``expected_output``."""

    id: str
    input_data: Any
    expected_output: Any = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "input_data": self.input_data, "expected_output": self.expected_output,
                "metadata": dict(self.metadata)}


def _label(index: int, raw: Any) -> str:
    given = raw.get("id") if isinstance(raw, Mapping) else None
    return f"record {index} (id {given!r})" if isinstance(given, str) else f"record {index}"


def _record(index: int, raw: Any) -> tuple[Record, bool]:
    """A validated record, and whether its id was given (else it is the content hash)."""
    label = _label(index, raw)
    if not isinstance(raw, Mapping):
        raise DatasetError(f"{label}: a record is a dict with 'input_data', got {type(raw).__name__}")
    unknown = sorted(str(k) for k in raw if k not in RECORD_KEYS)
    if unknown:
        raise DatasetError(f"{label}: unknown keys {unknown}; a record has {', '.join(RECORD_KEYS)}")
    if "input_data" not in raw or raw["input_data"] is None:
        raise DatasetError(f"{label}: 'input_data' is missing")
    metadata = raw.get("metadata") or {}
    if not isinstance(metadata, Mapping) or not all(isinstance(k, str) for k in metadata):
        raise DatasetError(f"{label}: 'metadata' must be a dict with string keys")
    for key in ("input_data", "expected_output"):
        try:
            canonical_json(raw.get(key))
        except (TypeError, ValueError) as exc:
            raise DatasetError(f"{label}: {key!r} is not JSON-serialisable ({exc})") from None
    try:
        canonical_json(dict(metadata))
    except (TypeError, ValueError) as exc:
        raise DatasetError(f"{label}: 'metadata' is not JSON-serialisable ({exc})") from None
    given = raw.get("id")
    if given is not None and (not isinstance(given, str) or not given.strip()):
        raise DatasetError(f"{label}: 'id' must be a non-empty string, got {given!r}")
    record_id = given or _digest(canonical_json([raw["input_data"], raw.get("expected_output")]))
    return Record(record_id, raw["input_data"], raw.get("expected_output"), dict(metadata)), given is not None


class Dataset:
    """Named records for an experiment: ``Dataset("capitals", records=[{"input_data": ..., ...}, ...])``.

    Each record is a dict with ``input_data`` (required, any JSON value), ``expected_output`` and ``metadata``
    (optional) and ``id`` (optional; defaults to a hash of input and expected output, so it is stable across
    runs). ``context_fields`` names the ``input_data``/``metadata`` keys that hold RAG context, and
    ``question_field`` the one that holds the user's question, for evaluators that need them (``hallucination``,
    ``answer_relevance``). Raises :class:`llmotel.DatasetError` for a bad record, naming it.
    """

    def __init__(
        self,
        name: str,
        records: Iterable[Mapping[str, Any] | Record] = (),
        *,
        description: str | None = None,
        context_fields: Sequence[str] = (),
        question_field: str | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise DatasetError(f"a dataset needs a non-empty name, got {name!r}")
        self.name = name
        self.description = description
        self.context_fields = (context_fields,) if isinstance(context_fields, str) else tuple(context_fields)
        self.question_field = question_field
        built: list[Record] = []
        positions: dict[str, int] = {}
        hashed_seen: dict[str, int] = {}
        for index, raw in enumerate(records):
            record, given = _record(index, raw.to_dict() if isinstance(raw, Record) else raw)
            if not given:  # identical records get -2, -3, ... in order, so their ids stay stable
                count = hashed_seen.get(record.id, 0) + 1
                hashed_seen[record.id] = count
                if count > 1:
                    record = Record(f"{record.id}-{count}", record.input_data, record.expected_output,
                                    record.metadata)
            if record.id in positions:
                raise DatasetError(f"record {index}: id {record.id!r} is also the id of record {positions[record.id]}")
            positions[record.id] = index
            built.append(record)
        self._records = tuple(built)
        self._positions = positions

    @property
    def records(self) -> tuple[Record, ...]:
        return self._records

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[Record]:
        return iter(self._records)

    def __repr__(self) -> str:
        return f"Dataset({self.name!r}, {len(self)} records, version {self.version})"

    def get(self, record_id: str) -> Record:
        """The record with this id (:class:`llmotel.DatasetError` when there is none)."""
        position = self._positions.get(record_id)
        if position is None:
            raise DatasetError(f"dataset {self.name!r} has no record {record_id!r}")
        return self._records[position]

    def position(self, record_id: str) -> int:
        self.get(record_id)
        return self._positions[record_id]

    @cached_property
    def version(self) -> str:
        """A hash of every record (ids and content, in order): the same records give the same version."""
        digest = hashlib.sha256()
        for record in self._records:
            digest.update(canonical_json(record.to_dict()).encode())
            digest.update(b"\n")
        return digest.hexdigest()[:16]

    # --- loaders ------------------------------------------------------------------------------------------------

    @classmethod
    def from_jsonl(cls, path: str | os.PathLike[str], name: str | None = None, **options: Any) -> Dataset:
        """One record per line (``{"input_data": ..., "expected_output": ..., "metadata": ..., "id": ...}``)."""
        records = []
        with open(path, encoding="utf-8") as file:
            for number, line in enumerate(file, 1):
                if not line.strip():
                    continue
                try:
                    records.append(json.loads(line))
                except ValueError as exc:
                    raise DatasetError(f"{path}, line {number}: not JSON ({exc})") from None
        return cls(name or Path(path).stem, records, **options)

    @classmethod
    def from_csv(
        cls,
        path: str | os.PathLike[str],
        name: str | None = None,
        *,
        input_columns: str | Sequence[str] | None = None,
        expected_output_columns: str | Sequence[str] | None = None,
        metadata_columns: Sequence[str] = (),
        id_column: str | None = None,
        delimiter: str = ",",
        **options: Any,
    ) -> Dataset:
        """Records from a CSV file with a header row, by column mapping.

        ``input_columns`` as a list gives ``input_data`` as a dict of those columns, as one name gives that
        column's text; by default every column not used otherwise is input. ``expected_output_columns`` works
        the same way; ``metadata_columns`` become ``metadata``; ``id_column`` holds record ids.
        """
        with open(path, encoding="utf-8", newline="") as file:
            reader = csv.DictReader(file, delimiter=delimiter)
            header = list(reader.fieldnames or [])
            expected = _columns(expected_output_columns)
            used = set(expected) | set(metadata_columns) | ({id_column} if id_column else set())
            inputs = _columns(input_columns) if input_columns is not None else [c for c in header if c not in used]
            missing = sorted(c for c in [*inputs, *expected, *metadata_columns, *([id_column] if id_column else [])]
                             if c not in header)
            if missing:
                raise DatasetError(f"{path}: columns {missing} are not in the header {header}")
            if not inputs:
                raise DatasetError(f"{path}: no input columns")
            records: list[dict[str, Any]] = []
            for row in reader:
                record: dict[str, Any] = {
                    "input_data": row[input_columns] if isinstance(input_columns, str)
                    else {c: row[c] for c in inputs},
                }
                if expected:
                    record["expected_output"] = (row[expected_output_columns]
                                                 if isinstance(expected_output_columns, str)
                                                 else {c: row[c] for c in expected})
                if metadata_columns:
                    record["metadata"] = {c: row[c] for c in metadata_columns}
                if id_column:
                    record["id"] = row[id_column]
                records.append(record)
        return cls(name or Path(path).stem, records, **options)

    @classmethod
    def from_traces(
        cls,
        path: str | os.PathLike[str] | None = None,
        name: str | None = None,
        *,
        where: Callable[[EvaluationInput], bool] | None = None,
        limit: int | None = None,
        **options: Any,
    ) -> Dataset:
        """One record per LLM span of an OTLP/JSON traces file (default ``LLMOTEL_TRACES_FILE``).

        ``input_data`` is ``{"messages": [...]}`` (the span's ``gen_ai.input.messages``, plus
        ``"system_instructions"`` when it has them), ``expected_output`` the answer's text, ``metadata`` the
        model, provider and trace/span ids; the id is ``{trace_id}-{span_id}``. Spans recorded with content
        capture off have no messages and are skipped. ``where`` filters on the span's
        :class:`llmotel.evaluation.EvaluationInput`.
        """
        source = path if path is not None else os.environ.get("LLMOTEL_TRACES_FILE")
        if not source:
            raise DatasetError("Dataset.from_traces needs a path or LLMOTEL_TRACES_FILE")
        records = []
        for number, span in _otlp_json_spans(source):
            attributes = _attributes(span.get("attributes"))
            if attributes.get(sc.GEN_AI_OPERATION_NAME) not in sc.LLM_OPERATIONS:
                continue
            call = EvaluationInput.from_attributes(attributes, span.get("name", ""))
            if not call.input_messages or (where is not None and not where(call)):
                continue
            input_data: dict[str, Any] = {"messages": call.input_messages}
            if call.system_instructions:
                input_data["system_instructions"] = call.system_instructions
            metadata = {"trace_id": span.get("traceId", ""), "span_id": span.get("spanId", ""), "line": number,
                        "model": call.model or "", "provider": call.provider or ""}
            records.append({"id": f"{metadata['trace_id']}-{metadata['span_id']}", "input_data": input_data,
                            "expected_output": call.output_text, "metadata": metadata})
            if limit is not None and len(records) >= limit:
                break
        if not records:
            raise DatasetError(f"{source}: no LLM spans with captured messages")
        return cls(name or Path(source).stem, records, **options)


def _columns(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _otlp_json_spans(path: str | os.PathLike[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    with open(path, encoding="utf-8") as file:
        for number, line in enumerate(file, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except ValueError as exc:
                raise DatasetError(f"{path}, line {number}: not OTLP/JSON ({exc})") from None
            for resource_spans in data.get("resourceSpans", ()) if isinstance(data, dict) else ():
                for scope_spans in resource_spans.get("scopeSpans", ()):
                    for span in scope_spans.get("spans", ()):
                        if isinstance(span, dict):
                            yield number, span


def _any_value(value: Any) -> Any:
    """An OTLP/JSON ``AnyValue`` as a Python value."""
    if not isinstance(value, dict):
        return None
    if "stringValue" in value:
        return value["stringValue"]
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "arrayValue" in value:
        return [_any_value(v) for v in value["arrayValue"].get("values", ())]
    return None


def _attributes(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, list):
        return {}
    return {a["key"]: _any_value(a.get("value")) for a in raw if isinstance(a, dict) and isinstance(a.get("key"), str)}
