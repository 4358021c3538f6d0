"""The ``nash`` command line.

User mistakes (``NashError``) print one line on stderr and exit with code 2; anything else is a
bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from typing import Any

from harness.errors import NashError

Handler = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse exits with 2 on usage errors already; keep its message to one line plus usage."""


def _cmd_query(args: argparse.Namespace) -> int:
    from harness.benchmarks import get_benchmark

    bench = get_benchmark(args.benchmark)
    key = bench.parse(args.arch)
    out: dict[str, Any] = {"benchmark": bench.name, **bench.cell_info(key)}
    if bench.query_note:
        out["note"] = bench.query_note
    out["metrics"] = bench.row(key)
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        _print_query(out)
    return 0


def _print_query(out: dict[str, object]) -> None:
    metrics = out.pop("metrics")
    for k, v in out.items():
        print(f"{k:>18}: {v}")
    assert isinstance(metrics, dict)
    if metrics and isinstance(next(iter(metrics.values())), dict):
        for ds, ms in metrics.items():
            print(f"[{ds}]")
            for m, v in ms.items():
                print(f"  {m:<40} {v:.6g}")
    else:
        for m, v in metrics.items():
            print(f"  {m:<40} {v:.6g}")


def _cmd_data(args: argparse.Namespace) -> int:
    from harness.benchmarks import registry

    if args.action in ("status", "verify"):
        verify = args.action == "verify"
        bad = 0
        print(f"data roots (in lookup order; {registry.env_summary()}):")
        from harness.paths import cache_dir, data_roots

        for r in data_roots():
            print(f"  {'found ' if r.is_dir() else 'absent'} {r}")
        print(f"cache: {cache_dir()}")
        for st in registry.status(verify=verify):
            if st.found is None:
                state = "MISSING"
                bad += 1
            elif st.ok is None:
                state = "found"
            elif st.ok:
                state = "sha256 ok"
            else:
                state = "SHA256 MISMATCH"
                bad += 1
            print(f"  {st.dataset:<12} {st.path:<60} {state}  {st.found or ''}")
        from harness.benchmarks import converters

        print("converters for official downloads:")
        for name, note in converters.STATUS.items():
            print(f"  {name:<28} {note}")
        from harness.benchmarks import fetch

        print("converters from the public originals (`nash data fetch`):")
        print("\n".join(fetch.status_lines()))
        if verify:  # the converted caches too, each file hashed in full
            from harness.benchmarks import cache_integrity

            print("converted caches (integrity record, every file hashed):")
            for d, why in cache_integrity.verify_all(cache_dir()):
                state = "ok    " if why is None else "FAILED"
                print(f"  {state} {d}" + (f"  ({why})" if why else ""))
                bad += why is not None
        if bad and verify:
            print(f"{bad} file(s) or cache(s) missing or corrupted", file=sys.stderr)
            return 2
        return 0
    if args.action == "convert":
        from harness.benchmarks import converters

        path = converters.convert(args.kind, args.source)
        print(f"converted {args.source} -> {path}")
        return 0
    if args.action == "fetch":
        from harness.benchmarks import fetch

        fetch.fetch(
            args.names, args.dest, base_url=args.base_url, convert=not args.no_convert,
            connect_timeout=args.timeout,
        )  # fmt: skip
        return 0
    if args.action == "summary":
        return _summary()
    raise NashError(f"unknown data action {args.action!r}")


def _summary() -> int:
    """Verify the shipped data and print the best cells per dataset and metric."""
    from harness.benchmarks import nb101 as t101
    from harness.benchmarks import nb201 as t201
    from harness.spaces import nb201

    t = t201.load()
    print("NAS-Bench-201 (15,625 cells; 6,466 up to isomorphism); accuracies in percent")
    print(f"{'dataset':<16}{'metric':<28}{'best':>9}  cells (index: arch)")
    for ds in t201.DATASETS:
        for m in ("val_acc@200", "val_acc@12", "test_acc@200", "test_acc@12"):
            if m not in t.metrics(ds):
                continue
            best, idx = t.optimum(ds, m)
            cells = "; ".join(f"{i}: {nb201.arch_to_str(nb201.arch_of_index(i))}" for i in idx)
            print(f"{ds:<16}{m:<28}{best:9.2f}  {cells}")
    # the test accuracy of the cell chosen by validation: the number a perfect search reports
    for ds in t201.DATASETS:
        sig = "val_acc@200" if ds == "cifar10" else "val_acc@12"
        _, idx = t.optimum(ds, sig)
        print(f"{ds:<16}test_acc@200 of best {sig}: {t.value(ds, 'test_acc@200', idx[0]):.2f}")
    tb = t101.load()
    best, hs = tb.optimum("val_acc@108")
    print(f"\nNAS-Bench-101 sample: {len(tb)} cells (validation only; no test accuracy shipped)")
    print(f"best val_acc@108 {best:.2f} at {', '.join(hs)}")
    mean_t = float(sum(tb.column("train_time_s@108"))) / len(tb)
    if math.isfinite(mean_t):
        print(f"mean recorded 108-epoch training time {mean_t:.0f} s")
    return 0


def _cmd_summary(args: argparse.Namespace) -> int:
    return _summary()


def _check_out_dir(out: str | None, flag: str = "--out") -> None:
    """An output directory that is a file is refused before anything is printed or written."""
    from pathlib import Path

    if out is not None and Path(out).exists() and not Path(out).is_dir():
        raise NashError(f"{flag} {out} is a file, not a directory; give a directory path")


def _check_run_flags(args: argparse.Namespace) -> None:
    """Refuse out-of-range numbers before anything runs (0 workers is no request for all)."""
    if args.workers is not None and args.workers < 1:
        raise NashError(f"--workers must be >= 1 (leave it out for all cores), got {args.workers}")
    if args.max_retries < 0:
        raise NashError(f"--max-retries must be >= 0, got {args.max_retries}")
    _check_out_dir(args.out)
    if args.seeds is not None:
        if args.seeds < 1:
            raise NashError(f"--seeds must be >= 1, got {args.seeds}")
        from harness.runner.config import check_seed_count

        try:
            check_seed_count(args.seeds)
        except NashError as e:
            raise NashError(f"--seeds: {e}") from None


def _cmd_run(args: argparse.Namespace) -> int:
    from harness.runner.config import load_experiment

    _check_run_flags(args)
    from harness.suites import experiment_path

    exp = load_experiment(experiment_path(args.experiment))
    if args.seeds is not None:
        from dataclasses import replace

        exp = replace(exp, seeds=tuple(range(args.seeds)))
    n = len(exp.runs())
    print(
        f"experiment {exp.name}: {len(exp.benchmarks)} benchmark(s) x {len(exp.strategies)} "
        f"strategies x {len(exp.seeds)} seeds = {n} runs -> {args.out}/{exp.name}",
        file=sys.stderr,
    )
    from harness.runner.experiment import run_experiments

    with _engine(args) as engine:
        grid = run_experiments(
            [exp], args.out, workers=args.workers, progress=not args.no_progress, engine=engine
        )
    from analysis.summary import summarize_experiment

    print(summarize_experiment(grid.roots[0]))
    return _report_failures(grid)


def _engine(args: argparse.Namespace) -> Any:
    from harness.runner.engines import make_engine

    return make_engine(
        args.engine, workers=args.workers, address=args.address, max_retries=args.max_retries
    )


def _report_failures(grid: Any) -> int:
    """Failed runs: one line each on stderr, exit 1 (the others are written; rerun retries)."""
    if not grid.failed:
        return 0
    for spec, err in grid.failed:
        print(f"run {spec.run_id} failed: {err}", file=sys.stderr)
    print(
        f"{len(grid.failed)} run(s) failed (see their failed.json); the same command retries "
        "them and keeps every finished run",
        file=sys.stderr,
    )
    return 1


def _cmd_report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from analysis.load import read_experiment_json
    from analysis.report import build_report

    dirs = [Path(d) for d in args.results]
    out = args.out
    _check_out_dir(out)
    if out is None:  # reports/runs/<experiment> -> reports/<experiment>
        first = dirs[0]
        name = first.name
        ej = first / "experiment.json"
        if ej.is_file():
            name = read_experiment_json(ej)["name"]
        from harness.runner.validate import LABEL_RE

        if not LABEL_RE.fullmatch(name):
            raise NashError(f"cannot name a report after {name!r}; give --out")
        out = Path("reports") / name
    q = args.target_quantile
    if q is not None and not 0 < q < 0.5:
        raise NashError(
            f"--target-quantile must be in (0, 0.5), got {q}: above 0.5 fewer than half the "
            "baseline's runs reach it and its median time to target is undefined"
        )
    path = build_report(
        dirs, out, align=args.align, seed=args.seed, target_quantile=q, target=args.target
    )
    print(f"report written to {path}")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from harness.benchmarks import BENCHMARKS, get_benchmark
    from harness.spaces import SPACES
    from harness.strategies import STRATEGIES
    from harness.surrogates import SURROGATES

    what = args.what
    if what in ("all", "benchmarks"):
        print("benchmarks:")
        for e in BENCHMARKS:
            print(f"  {e.name:<18} {e.description}")
    if what in ("all", "datasets"):
        print("datasets and search signals:")
        for e in BENCHMARKS:
            try:
                bench = get_benchmark(e.name)
            except NashError as err:  # e.g. data not found here: say so, list the rest
                print(f"  {e.name}: unavailable ({err})")
                continue
            for ds in bench.datasets:
                sig = bench.metric_names(ds, "signal")
                prox = bench.metric_names(ds, "proxy")
                print(
                    f"  {e.name:<18} {ds:<16} signals: {', '.join(sig) or 'none'}; "
                    f"{len(prox)} zero-cost proxies"
                )
    if what in ("all", "strategies"):
        print("strategies:")
        for st in STRATEGIES:
            print(f"  {st.name:<24} {st.description}")
    if what in ("all", "spaces"):
        print("search spaces:")
        for sp in SPACES:
            print(f"  {sp.name:<22} {sp.description}")
    if what in ("all", "surrogates"):
        print("surrogates:")
        for su in SURROGATES:
            print(f"  {su.name:<22} {su.description}")
    for reg in (BENCHMARKS, SPACES, STRATEGIES, SURROGATES):
        for msg in reg.broken.values():
            print(f"skipped: {msg}", file=sys.stderr)
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    import os
    import platform
    import time
    from pathlib import Path

    from harness.runner.experiment import run_experiments
    from harness.suites import resolve_suite, run_priority

    _check_run_flags(args)
    out = Path(args.out or f"reports/{args.suite}")
    exps, gates = resolve_suite(
        args.suite,
        quick=args.quick,
        seeds=args.seeds,
        with_nb101_naswot=args.with_nb101_naswot,
        with_model_based=args.with_model_based,
        runs_dir=out / "runs",
    )
    n = sum(len(e.runs()) for e in exps)
    print(
        f"reproduce {args.suite}{' --quick' if args.quick else ''}: {len(exps)} experiments, "
        f"{n} runs -> {out}",
        file=sys.stderr,
    )
    executed = 0

    def done(spec: object, manifest: object) -> None:
        nonlocal executed
        executed += 1

    t0 = time.perf_counter()
    with _engine(args) as engine:
        grid = run_experiments(
            exps,
            out / "runs",
            workers=args.workers,
            progress=not args.no_progress,
            on_done=done,
            priority=run_priority,
            engine=engine,
        )
        engine_info = engine.describe()
    roots = grid.roots
    search_s = time.perf_counter() - t0
    if grid.failed:  # exit 1 like `nash run`: runs failed, the user's input was fine
        print("no report was written: the report needs every run of the suite", file=sys.stderr)
        return _report_failures(grid)
    timing = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "engine": engine_info,
        "workers": args.workers or os.cpu_count(),
        "runs_total": n,
        "runs_executed": executed,
        "search_s": search_s,
        "gates": [g.as_dict() for g in gates],
    }
    if args.suite == "hardware":
        from analysis.hardware_report import write_hardware_report

        print(f"report: {write_hardware_report(roots, out, quick=args.quick, timing=timing)}")
        return 0
    if args.suite == "baselines":
        from analysis.baselines import write_baselines_report

        print(f"report: {write_baselines_report(roots, out, timing, quick=args.quick)}")
        return 0
    from analysis.suite_report import write_suite_report

    batch = Path(__file__).resolve().parent / "zc_data" / "nb201_naswot_batch_sizes.csv"
    report = write_suite_report(
        args.suite,
        roots,
        out,
        quick=args.quick,
        timing=timing,
        batch_table=batch if batch.exists() else None,
    )
    print(f"report: {report}")
    return 0


def _cmd_predictors(args: argparse.Namespace) -> int:
    """Surrogate rank quality vs training-set size (analysis.predictors does the work)."""
    from analysis.predictors import evaluate_predictors, write_report

    def ints(text: str, what: str) -> list[int]:
        try:
            return [int(x) for x in text.split(",") if x.strip()]
        except ValueError:
            raise NashError(f"{what} must be comma-separated integers, got {text!r}") from None

    names = [x.strip() for x in args.surrogates.split(",") if x.strip()]
    res = evaluate_predictors(
        args.benchmark,
        args.dataset,
        sizes=ints(args.sizes, "--sizes"),
        seeds=args.seeds,
        surrogate_names=names,
        encoding=args.encoding,
        test_size=args.test_size,
        graph_seeds=args.graph_seeds or None,
        graph_max_size=args.graph_max_size or None,
        split_seed=args.split_seed,
        progress=None if args.quiet else (lambda m: print(m, file=sys.stderr)),
    )
    path = write_report(res, args.out)
    print(f"predictor table written to {path}")
    return 0


def _cmd_score(args: argparse.Namespace) -> int:
    """``nash score BENCHMARK --proxy naswot``: resumable score tables (committed data).

    Benchmarks that declare a committed NASWOT table (``Benchmark.naswot_table``): NB201, one
    cell per isomorphism class (``--scope all``: every cell); NB101, the 292 distinct cells of
    the shipped NAS-Bench-Suite-Zero sample, keyed by the official hash.
    """
    from pathlib import Path

    from harness.errors import unknown
    from harness.evaluators.zero_cost import PROXIES, HashScoreTable, compute_score_table

    if args.proxy not in PROXIES:
        raise unknown(
            "score-table proxy (other proxies: nash dev proxies)",
            args.proxy,
            PROXIES,
        )
    if args.threads < 1:
        raise NashError(f"--threads must be >= 1, got {args.threads}")
    if args.limit is not None and args.limit < 0:
        raise NashError(f"--limit must be >= 0, got {args.limit}")
    if args.out is not None and (Path(args.out).is_dir() or Path(args.out).suffix != ".csv"):
        raise NashError(
            f"--out {args.out} must be the score table's file path ending in .csv (its "
            "settings go beside it as .json), e.g. --out scores/nb201_naswot.csv"
        )
    t = compute_score_table(
        args.benchmark,
        images=args.images,
        batch_size=args.batch_size,
        seed=args.seed,
        num_threads=args.threads,
        scope=args.scope,
        limit=args.limit,
        max_seconds=args.max_seconds,
        path=Path(args.out) if args.out else None,
        progress=not args.no_progress,
    )
    if isinstance(t, HashScoreTable):
        print(f"{t.path}: {len(t.rows)} of {t.meta.get('coverage_of')} cells")
    else:
        print(f"{t.path}: {len(t.rows)} cells, {t.meta.get('n_classes')} classes")
    return 0


def _cmd_zc_report(args: argparse.Namespace) -> int:
    from analysis.zero_cost_report import write_zero_cost_report

    path = write_zero_cost_report(args.out, runs=args.runs, seed=args.seed)
    print(f"report written to {path}")
    return 0


#: maintenance verbs: `nash dev NAME ARGS...` runs NAME's own command line (module, function)
DEV_TOOLS = {
    "proxies": ("harness.evaluators.proxies", "main", "zero-cost proxy validation tables"),
    "zero-cost": ("harness.evaluators.zero_cost", "main", "NASWOT score tables (low level)"),
    "training": ("harness.evaluators.training", "main", "real-training bench and Kendall tau"),
    "nb201-genome": ("harness.spaces.nb201_genome", "_main", "cells the study genome reaches"),
    "nb201-order": ("harness.spaces.nb201", "_main", "regenerate the NB201 index order"),
    "nb101-enum": ("harness.spaces.nb101_enum", "main", "enumerate NB101; rebuild 30k specs"),
}


def _cmd_dev(args: argparse.Namespace) -> int:
    if args.tool == "readme":
        from pathlib import Path

        from analysis.readme import update_readme
        from harness.paths import REPO_ROOT

        if not (REPO_ROOT / "README.md").is_file():
            raise NashError("nash dev readme rewrites a checkout's README.md; run it from one")
        changed = update_readme(REPO_ROOT)
        print(f"{Path(REPO_ROOT, 'README.md')}: {'updated' if changed else 'up to date'}")
        return 0
    import importlib
    import os

    module, func, _ = DEV_TOOLS[args.tool]
    if args.tool in ("proxies", "zero-cost"):
        os.environ.setdefault("OMP_NUM_THREADS", "1")  # scoring is timed on one thread
    fn = getattr(importlib.import_module(module), func)
    sys.argv = [f"nash dev {args.tool}", *args.rest]
    code = fn()
    return int(code or 0)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="nash",
        description="nasbench-harness: reproducible NAS experiments on tabular benchmarks.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    q = sub.add_parser("query", help="print every metric of one cell")
    q.add_argument("benchmark", help="a registered benchmark (see `nash list benchmarks`)")
    q.add_argument(
        "arch",
        help="NB201: official arch string or index 0..15624; NB101: hash or spec string",
    )
    q.add_argument("--json", action="store_true", help="machine-readable output")
    q.set_defaults(func=_cmd_query)

    d = sub.add_parser("data", help="find, verify and convert benchmark data")
    dsub = d.add_subparsers(dest="action", required=True, metavar="ACTION")
    dsub.add_parser("status", help="where each data file was found")
    dsub.add_parser("verify", help="check every file's sha256 (exit 2 on a mismatch)")
    dsub.add_parser("summary", help="best cells per dataset from the shipped tables")
    c = dsub.add_parser("convert", help="convert an official download into the harness cache")
    c.add_argument("kind", help="nats-tss | nb201-pth | nb101-tfrecord")
    c.add_argument("source", help="path to the official file or directory")
    fe = dsub.add_parser("fetch", help="download, verify and convert data from public sources")
    fe.add_argument(
        "names", nargs="*", help="data sets or official files (default: all data sets)"
    )
    fe.add_argument("--dest", default=None, help="data directory (default: first writable of "
                    "$NASH_DATA_DIR, ./benchmarks_data)")  # fmt: skip
    fe.add_argument("--base-url", default=None, help="mirror laid out as <base>/<host>/<path> "
                    "(default: $NASH_FETCH_BASE_URL, else the public URLs)")  # fmt: skip
    fe.add_argument("--no-convert", action="store_true", help="official files: download only")
    fe.add_argument("--timeout", type=float, default=5.0, help="connect timeout, s (default 5)")
    d.set_defaults(func=_cmd_data)

    s = sub.add_parser("summary", help="verify the shipped data and print the best cells")
    s.set_defaults(func=_cmd_summary)

    r = sub.add_parser("run", help="run an experiment TOML (resumable; parallel over runs)")
    r.add_argument("experiment", help="path to an experiment TOML, e.g. experiments/X.toml")
    r.add_argument("--out", default="reports/runs", help="results root (default reports/runs)")
    r.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    r.add_argument("--seeds", type=int, default=None, help="override: run seeds 0..N-1")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    r.add_argument(
        "--engine",
        default="local",
        choices=("local", "ray"),
        help="local process pool (default) or ray (a local instance, or --address)",
    )
    r.add_argument(
        "--address",
        default=None,
        help="Ray cluster head HOST:PORT, 'auto' or ray://HOST:PORT (with --engine ray)",
    )
    r.add_argument(
        "--max-retries",
        type=int,
        default=2,
        help="retries of a run whose worker died (default 2), then it is recorded failed",
    )
    r.set_defaults(func=_cmd_run)

    rp = sub.add_parser("report", help="statistics, figures and tables from result directories")
    rp.add_argument("results", nargs="+", help="experiment result dir(s), e.g. reports/runs/X")
    rp.add_argument("--out", default=None, help="output dir (default reports/<experiment>)")
    rp.add_argument(
        "--align",
        action="store_true",
        help="compare runs of different budgets by cutting at the smallest (with a warning)",
    )
    rp.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    tg = rp.add_mutually_exclusive_group()
    tg.add_argument(
        "--target-quantile",
        type=float,
        default=None,
        help="acceleration target: this quantile of the baseline's final results (default: "
        "25%%, raised per setting up to 45%% where that target is reached at once)",
    )
    tg.add_argument("--target", type=float, default=None, help="acceleration target: a value")
    rp.set_defaults(func=_cmd_report)

    rp = sub.add_parser(
        "reproduce", help="run a reproduction suite and write its report (resumable)"
    )
    rp.add_argument("suite", help="acceleration | baselines | hardware")
    rp.add_argument("--quick", action="store_true", help="a first look: few seeds, minutes")
    rp.add_argument(
        "--with-nb101-naswot",
        action="store_true",
        help="also run NB101 with NASWOT fitness, computing scores (about 6 CPU-s per new "
        "cell; on by itself with a GPU; otherwise only runs whose scores are all cached)",
    )
    rp.add_argument(
        "--with-model-based",
        action="store_true",
        help="baselines: also run the model-based NB101 150-query ordering (BANANAS, GP-BO, "
        "BOHB, TPE on the 30k pool and on nb101-surrogate; minutes per BANANAS / GP-BO run) and "
        "the NB201 multi-fidelity runs behind the anytime figure on charged cost",
    )
    rp.add_argument("--seeds", type=int, default=None, help="override every seed count")
    rp.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    rp.add_argument("--out", default=None, help="report directory (default reports/<suite>)")
    rp.add_argument("--no-progress", action="store_true", help="no progress bar")
    rp.add_argument(
        "--engine",
        default="local",
        choices=("local", "ray"),
        help="local process pool (default) or ray (a local instance, or --address)",
    )
    rp.add_argument(
        "--address",
        default=None,
        help="Ray cluster head HOST:PORT, 'auto' or ray://HOST:PORT (with --engine ray)",
    )
    rp.add_argument(
        "--max-retries",
        type=int,
        default=2,
        help="retries of a run whose worker died (default 2), then it is recorded failed",
    )
    rp.set_defaults(func=_cmd_reproduce)

    pr = sub.add_parser(
        "predictors", help="surrogate rank quality (Kendall tau, precision@k) vs training size"
    )
    pr.add_argument("--benchmark", default="nb201", help="nb201 (default) or nb101-30k")
    pr.add_argument("--dataset", default="cifar10", help="dataset (default cifar10)")
    pr.add_argument("--sizes", default="50,100,200,500,1000", help="training-set sizes")
    pr.add_argument("--seeds", type=int, default=3, help="seeds per size (default 3)")
    pr.add_argument(
        "--surrogates", default="xgb,gcn,mlp,random_forest", help="registered surrogate names"
    )
    pr.add_argument(
        "--encoding",
        default=None,
        help="vector encoding for vector surrogates (default: onehot on nb201, adjacency on "
        "nb101-30k); graph surrogates always take 'graph'",
    )
    pr.add_argument(
        "--test-size",
        type=int,
        default=3000,
        help="fixed held-out sample size (default 3000; 0 = every cell not trained on)",
    )
    pr.add_argument(
        "--graph-seeds",
        type=int,
        default=1,
        help="cap on seeds for graph surrogates (GCN, the slow one; default 1, 0 = no cap)",
    )
    pr.add_argument(
        "--graph-max-size", type=int, default=0, help="largest n for graph surrogates (0 = all)"
    )
    pr.add_argument("--split-seed", type=int, default=0, help="seed of the held-out sample")
    pr.add_argument("--out", default="reports/predictors", help="output dir")
    pr.add_argument("--quiet", action="store_true", help="no per-fit progress lines")
    pr.set_defaults(func=_cmd_predictors)

    sc = sub.add_parser("score", help="compute a zero-cost score table (resumable, cached)")
    sc.add_argument("benchmark", help="a benchmark with a committed table (nb201, nb101)")
    sc.add_argument("--proxy", default="naswot", help="naswot (default)")
    sc.add_argument(
        "--scope",
        default="classes",
        choices=("classes", "all"),
        help="whole-space tables: which cells",
    )
    sc.add_argument("--images", default="cifar10", help="cifar10 (default) or mnist")
    sc.add_argument("--batch-size", type=int, default=128, help="images per batch (2..)")
    sc.add_argument("--seed", type=int, default=0, help="weights seed (default 0)")
    sc.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    sc.add_argument("--max-seconds", type=float, default=None, help="stop after this long")
    sc.add_argument("--limit", type=int, default=None, help="score at most this many cells")
    sc.add_argument("--out", default=None, help="table path (default: the committed table)")
    sc.add_argument("--no-progress", action="store_true", help="no progress bar")
    sc.set_defaults(func=_cmd_score)

    zr = sub.add_parser("zc-report", help="zero-cost validation report from committed tables")
    zr.add_argument("--out", default="reports/zero_cost", help="default reports/zero_cost")
    zr.add_argument("--runs", type=int, default=500, help="NASWOT search runs (default 500)")
    zr.add_argument("--seed", type=int, default=0, help="search / bootstrap seed")
    zr.set_defaults(func=_cmd_zc_report)

    ls = sub.add_parser("list", help="list benchmarks, datasets, strategies, spaces")
    ls.add_argument(
        "what",
        nargs="?",
        default="all",
        choices=["all", "benchmarks", "datasets", "strategies", "spaces", "surrogates"],
    )
    ls.set_defaults(func=_cmd_list)

    dv = sub.add_parser("dev", help="maintenance: README blocks, table and figure generators")
    dv.add_argument(
        "tool",
        choices=["readme", *DEV_TOOLS],
        help="readme: rewrite the README's generated blocks from the committed reports; "
        + "; ".join(f"{k}: {v[2]}" for k, v in DEV_TOOLS.items()),
    )
    dv.add_argument("rest", nargs=argparse.REMAINDER, help="arguments of the tool")
    dv.set_defaults(func=_cmd_dev)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
        sys.stdout.flush()
    except NashError as e:
        print(f"nash: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM while runs execute
        signum = int(getattr(e, "signum", 2))
        print(
            "nash: interrupted; finished runs are kept and the same command resumes",
            file=sys.stderr,
        )
        return 128 + signum
    except BrokenPipeError:  # `nash list | head -1`: the reader has gone, which is no error
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return code


if __name__ == "__main__":
    sys.exit(main())
