"""``llmotel experiment run|resume`` and ``llmotel experiments list|show|compare|report|export|import``.

``llmotel experiment run FILE.py[:NAME]`` loads the experiment(s) a Python file defines (without running its
``__main__`` block) and runs one; ``--fail-on-objectives`` makes the exit code 1 when an objective fails, the
CI gate. Exit codes: 0 ok, 1 objectives failed (with the flag) or the run failed, 2 a usage or configuration
error, 130 interrupted (resume with ``llmotel experiment resume RUN``). ``experiments compare
--fail-on-regression`` exits 1 when an evaluator regressed significantly.
"""

from __future__ import annotations

import argparse
import contextlib
import runpy
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from llmotel.errors import LlmotelError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def load_experiment(spec: str) -> Any:
    """The :class:`llmotel.Experiment` that ``FILE.py[:NAME]`` defines (NAME: a variable or experiment name)."""
    from llmotel.errors import ExperimentError
    from llmotel.experiments import Experiment

    path_text, _, name = spec.partition(":") if not Path(spec).exists() else (spec, "", "")
    path = Path(path_text).resolve()
    if not path.is_file():
        raise ExperimentError(f"no such file: {path_text}")
    sys.path.insert(0, str(path.parent))
    namespace = runpy.run_path(str(path), run_name="__llmotel_experiment__")
    found = {key: value for key, value in namespace.items() if isinstance(value, Experiment)}
    if name:
        chosen = found.get(name) or next((e for e in found.values() if e.name == name), None)
        if chosen is None:
            raise ExperimentError(f"{path_text} defines no experiment {name!r}; it defines {sorted(found) or 'none'}")
    elif len(found) == 1:
        name, chosen = next(iter(found.items()))
    else:
        raise ExperimentError(f"{path_text} defines {len(found)} experiments ({sorted(found)}): "
                              f"choose one with {path_text}:NAME")
    chosen.source = f"{path}:{name}"
    return chosen


def _metadata(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"--metadata takes key=value, got {pair!r}")
        out[key] = value
    return out


def _store(args: argparse.Namespace) -> Any:
    from llmotel.experiments import Store

    return Store(args.store)


def _report(result: Any, out: IO[str]) -> None:
    from llmotel.experiments.report import run_report

    out.write(run_report(result, record_limit=10) + "\n")


def _finish(result: Any, fail_on_objectives: bool) -> int:
    _report(result, sys.stdout)
    print(f"\nrun id: {result.run_id}")
    if result.status != "completed":
        return EXIT_FAILED
    if fail_on_objectives and not result.passed:
        failed = [o.objective.metric for o in result.objectives if not o.passed]
        print(f"objectives failed: {', '.join(failed)}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    experiment = load_experiment(args.file)
    if args.store is not None:
        experiment.use_store(args.store)
    result = experiment.run(
        jobs=args.jobs, runs=args.runs, sample_size=args.sample, record_ids=args.record or None,
        max_retries=args.max_retries, raise_errors=args.raise_errors, metadata=_metadata(args.metadata),
        progress=False if args.no_progress else None, seed=args.seed,
    )
    return _finish(result, args.fail_on_objectives)


def _resume(args: argparse.Namespace) -> int:
    from llmotel.errors import ExperimentError

    store = _store(args)
    run = store.run(args.run)
    source = args.file or (run["run_metadata"] or {}).get("source")
    if not source:
        raise ExperimentError(f"run {run['id']} was not started from a file: give FILE.py[:NAME]")
    experiment = load_experiment(source)
    experiment.use_store(store)
    result = experiment.resume(run["id"], jobs=args.jobs, max_retries=args.max_retries,
                               progress=False if args.no_progress else None)
    return _finish(result, args.fail_on_objectives)


def _list(args: argparse.Namespace) -> int:
    from llmotel.experiments.report import runs_table

    runs = _store(args).runs(args.experiment, args.limit)
    print(runs_table(runs) if runs else "no runs")
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    from llmotel.experiments import ExperimentResult
    from llmotel.experiments.filters import bind, run_kinds
    from llmotel.experiments.report import run_report

    result = ExperimentResult(_store(args), args.run)
    where = None
    if args.where is not None:
        where = bind(args.where, run_kinds(result.summary_details), int(result.run["iterations"]))
    print(run_report(result, record_limit=args.records, where=where))
    return EXIT_OK


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[IO[str]]:
    if path is None or path == "-":
        yield sys.stdout
        return
    with open(path, "w", encoding="utf-8", newline="") as file:
        yield file


@contextlib.contextmanager
def _sides(args: argparse.Namespace) -> Iterator[tuple[Any, Any]]:
    """The two sides of ``compare`` / ``report --compare``: A (before) and B (after)."""
    from llmotel.errors import ExperimentError
    from llmotel.experiments.compare import baseline, side

    store = _store(args)
    if args.baseline is not None:
        if args.b is not None:
            raise ExperimentError("give one run with --baseline (it is compared with the baseline), or two runs")
        current = side(store, args.a)
        with baseline(store, args.baseline, current.result) as before:
            yield before, current
        return
    if args.b is None:
        raise ExperimentError("compare needs two runs (A B), or one run and --baseline BRANCH|FILE.jsonl")
    yield side(store, args.a), side(store, args.b)


def _compare(args: argparse.Namespace) -> int:
    from llmotel.experiments.compare import compare

    with _sides(args) as (before, after):
        comparison = compare(before, after, seed=args.seed, resamples=args.resamples,
                             lower_is_better=args.lower_is_better)
        with _output(args.output) as out:
            if args.format == "markdown":
                from llmotel.experiments.markdown import comparison_markdown

                out.write(comparison_markdown(comparison, record_limit=args.records))
            else:
                from llmotel.experiments.report import comparison_report

                out.write(comparison_report(comparison, record_limit=args.records) + "\n")
    if args.fail_on_regression and comparison.regressions:
        names = ", ".join(m.name for m in comparison.regressions)
        print(f"regressed significantly: {names}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _report_command(args: argparse.Namespace) -> int:
    from llmotel.errors import ExperimentError
    from llmotel.experiments import ExperimentResult

    if args.compare is not None and args.baseline is not None:
        raise ExperimentError("give --compare OTHER or --baseline BRANCH|FILE.jsonl, not both")
    comparing = args.compare is not None or args.baseline is not None
    run_ref, iteration, _ = args.a.partition("#")
    if iteration and not comparing:
        raise ExperimentError(f"{args.a!r}: RUN#N picks one run of a multi-run experiment for a comparison "
                              "(with --compare OTHER or --baseline); the report of RUN shows all its runs")
    store = _store(args)
    result = ExperimentResult(store, run_ref)  # the page shows the whole run; RUN#N's iteration is compared
    args.b, args.a = (args.a, args.compare) if args.compare is not None else (None, args.a)
    with contextlib.ExitStack() as stack:
        comparison, rows = None, None
        if comparing:
            from llmotel.experiments.compare import compare

            before, after = stack.enter_context(_sides(args))
            if args.format == "html" and after.result.run_id == result.run_id:
                from llmotel.experiments.html_report import RecordRows

                rows = RecordRows(result)
                after.observe = rows.add  # the table's rows are built as the comparison reads the run
            comparison = compare(before, after, seed=args.seed, resamples=args.resamples,
                                 lower_is_better=args.lower_is_better)
        if args.format == "markdown":
            from llmotel.experiments.markdown import comparison_markdown, run_markdown

            page = run_markdown(result) + ("\n" + comparison_markdown(comparison) if comparison else "")
        else:
            from llmotel.experiments.html_report import render

            page = render(result, comparison, rows=rows)
    with _output(args.output) as out:
        out.write(page)
    if args.output not in (None, "-"):
        print(f"wrote {args.output} ({len(page.encode('utf-8')) / 1e6:.1f} MB)", file=sys.stderr)
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    from llmotel.experiments import transfer

    with _output(args.output) as out:
        if args.format == "csv":
            transfer.export_csv(_store(args), args.run, out)
        else:
            transfer.export_jsonl(_store(args), args.run, out)
    return EXIT_OK


def _import(args: argparse.Namespace) -> int:
    from llmotel.experiments import transfer

    store = _store(args)
    with open(args.file, encoding="utf-8") as source:
        run_id = transfer.import_jsonl(store, source, replace=args.replace)
    print(f"imported run {run_id} into {store.display_url}")
    return EXIT_OK


def _guarded(command: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        from llmotel.experiments import ExperimentInterrupted

        try:
            return int(command(args))
        except ExperimentInterrupted as exc:
            print(f"\n{exc}", file=sys.stderr)
            return EXIT_INTERRUPTED
        except KeyboardInterrupt:
            print("\ninterrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        except (LlmotelError, OSError) as exc:
            print(f"llmotel: {exc}", file=sys.stderr)
            return EXIT_USAGE

    return run


def _store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", default=None,
                        help="store path or URL (default: LLMOTEL_STORE, else .llmotel/llmotel.db)")


def _run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--jobs", type=int, default=None, help="records in flight (default: the experiment's, 10)")
    parser.add_argument("--max-retries", type=int, default=0, help="retries of a task after a provider's 429")
    parser.add_argument("--fail-on-objectives", action="store_true", help="exit 1 when an objective fails")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    _store_option(parser)


def _compare_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--baseline", default=None, metavar="BRANCH|FILE.jsonl",
                        help="compare the run with the latest completed run of its experiment on this git branch, "
                             "or with a run exported to FILE.jsonl")
    parser.add_argument("--lower-is-better", action="append", default=[], metavar="NAME",
                        help="an evaluator whose lower values are better (repeat)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap and permutation draws")
    parser.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples")


def add_commands(commands: Any) -> None:
    """Add ``experiment`` and ``experiments`` to the ``llmotel`` command's subparsers."""
    experiment = commands.add_parser("experiment", help="run an experiment defined in a Python file")
    sub = experiment.add_subparsers(dest="experiment_cmd", required=True)
    run = sub.add_parser("run", help="run FILE.py[:NAME] over its dataset")
    run.add_argument("file", metavar="FILE.py[:NAME]")
    run.add_argument("--runs", type=int, default=None, help="runs per record (default: the experiment's)")
    run.add_argument("--sample", type=int, default=None, help="run this many records, chosen at random")
    run.add_argument("--seed", type=int, default=None, help="seed of --sample")
    run.add_argument("--record", action="append", default=[], metavar="ID", help="run only this record (repeat)")
    run.add_argument("--metadata", action="append", default=[], metavar="KEY=VALUE", help="run metadata (repeat)")
    run.add_argument("--raise-errors", action="store_true", help="stop at the first task or evaluator error")
    _run_options(run)
    run.set_defaults(func=_guarded(_run))
    resume = sub.add_parser("resume", help="finish an interrupted run")
    resume.add_argument("run", metavar="RUN", help="run id (or a unique prefix)")
    resume.add_argument("file", nargs="?", default=None, metavar="FILE.py[:NAME]",
                        help="default: the file the run was started from")
    _run_options(resume)
    resume.set_defaults(func=_guarded(_resume))

    experiments = commands.add_parser("experiments", help="list, show, export and import experiment runs")
    sub = experiments.add_subparsers(dest="experiments_cmd", required=True)
    listing = sub.add_parser("list", help="recent runs")
    listing.add_argument("--experiment", default=None, help="only this experiment's runs")
    listing.add_argument("--limit", type=int, default=50)
    _store_option(listing)
    listing.set_defaults(func=_guarded(_list))
    show = sub.add_parser("show", help="a run: summary, objectives, records, run log")
    show.add_argument("run", metavar="RUN", help="run id, unique prefix, or 'latest'")
    show.add_argument("--records", type=int, default=20, help="records to show")
    show.add_argument("--where", default=None, metavar="EXPR",
                      help='only the records (or record runs) matching EXPR, e.g. "exact_match.avg < 1", '
                           '"sentiment.mode == negative", "run == 1 and tokens > 1000"')
    _store_option(show)
    show.set_defaults(func=_guarded(_show))
    compare = sub.add_parser("compare", help="two runs side by side: significance per evaluator, flipped "
                             "records, output diffs, tokens, cost and what changed")
    compare.add_argument("a", metavar="A", help="the run before: id, prefix, latest, or RUN#N (its N-th run)")
    compare.add_argument("b", metavar="B", nargs="?", default=None, help="the run after (omit with --baseline)")
    _compare_options(compare)
    compare.add_argument("--fail-on-regression", action="store_true",
                         help="exit 1 when an evaluator regressed significantly (the CI gate)")
    compare.add_argument("--format", choices=("text", "markdown"), default="text")
    compare.add_argument("--records", type=int, default=20, help="records shown (changed ones first)")
    compare.add_argument("-o", "--output", default=None, help="file (default: stdout)")
    _store_option(compare)
    compare.set_defaults(func=_guarded(_compare))
    report = sub.add_parser("report", help="a run (and its comparison) as one self-contained HTML file, or as "
                            "GitHub-flavoured Markdown")
    report.add_argument("a", metavar="RUN", help="run id, unique prefix, latest; RUN#N (its N-th run) with "
                        "--compare or --baseline compares that run")
    report.add_argument("--compare", default=None, metavar="OTHER", help="compare RUN with OTHER (the run before)")
    _compare_options(report)
    report.add_argument("--format", choices=("html", "markdown"), default="html")
    report.add_argument("-o", "--output", default=None, help="file (default: stdout)")
    _store_option(report)
    report.set_defaults(func=_guarded(_report_command))
    export = sub.add_parser("export", help="a run as JSONL (with the run log) or CSV")
    export.add_argument("run", metavar="RUN")
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    export.add_argument("-o", "--output", default=None, help="file (default: stdout)")
    _store_option(export)
    export.set_defaults(func=_guarded(_export))
    load = sub.add_parser("import", help="load a JSONL export (e.g. a baseline from main)")
    load.add_argument("file", metavar="FILE")
    load.add_argument("--replace", action="store_true", help="replace the run if the store has it")
    _store_option(load)
    load.set_defaults(func=_guarded(_import))
