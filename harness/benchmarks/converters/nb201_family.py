"""NATS-Bench topology (``nats-tss``) and NAS-Bench-201 (``nb201-pth``) converters.

Both official files hold, per cell and training schedule (``hp`` = 12 or 200 epochs), an
``ArchResults`` with one ``ResultsCount`` per (dataset, seed): per-epoch train/eval accuracy, loss
and time, plus FLOPs, parameters and latency. They are read here ONLY through the official
readers (``nats_bench.create(..., fast_mode=True)`` and ``nas_201_api.NASBench201API``); the data
rules allow official formats through their official readers, and nothing else here unpickles
them (the NATS reader's own ``pickle.load`` is replaced, for the duration of a conversion, by the
allow-list unpickler: no checksum is published for the archive, so no file of it is trusted to
name code; see :func:`restricted_nats_pickles`). The per-epoch values are taken from each
seed's ``ResultsCount`` returned by the reader (``query_meta_info_by_index(i, hp).query(dataset,
seed)``), because the reader's own
``get_more_info`` recomputes cumulative sums over all seeds at every call (quadratic in epochs,
hours for the full file); every converted run's final epoch is then checked against
``get_more_info(i, dataset, iepoch=last, hp=hp, is_random=seed)``. ``hp`` and the seed are always
passed explicitly: the official API defaults to ``hp='12'`` and to one random seed.

Rows: one per (cell, dataset, hp, seed, epoch). Dataset names are made explicit:

==================  ==================  ==================================  ===============
official            ``dataset``         trained on                          val / test
==================  ==================  ==================================  ===============
``cifar10-valid``   ``cifar10_valid``   CIFAR-10 train half (25k)           x-valid / ori-test
``cifar10``         ``cifar10``         CIFAR-10 train + valid (50k)        none / ori-test
``cifar100``        ``cifar100``        CIFAR-100 train                     x-valid / x-test
``ImageNet16-120``  ``imagenet16_120``  ImageNet16-120 train                x-valid / x-test
==================  ==================  ==================================  ===============

``test_split`` names the test split of each row; ``val_acc`` is always x-valid (NaN for cifar10,
which has no validation split). ``ori_test_acc`` is the original test set whatever the dataset
(for cifar100 / ImageNet16-120 that is x-valid + x-test together: a report column, never a
search signal). In the official 200-epoch runs some splits are evaluated only after the last
epoch (cifar10-valid ori-test; cifar100 and ImageNet16-120 x-valid and x-test): their other
epochs are NaN, and the only per-epoch curves there are ``ori_test_acc`` and the train columns.
Times: ``train_time_s`` per epoch and ``train_time_cum_s`` cumulative, as recorded (the official
files store the same epoch-averaged time for every epoch of a run).
"""

from __future__ import annotations

import bz2
import math
import pickle
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from harness.benchmarks.converters import _cache
from harness.benchmarks.converters.safe_pickle import restricted_loads
from harness.errors import DataError

N_CELLS = 15_625
HPS: tuple[str, ...] = ("12", "200")
#: official dataset -> (harness name, validation split or None, test split)
DATASETS: dict[str, tuple[str, str | None, str]] = {
    "cifar10-valid": ("cifar10_valid", "x-valid", "ori-test"),
    "cifar10": ("cifar10", None, "ori-test"),
    "cifar100": ("cifar100", "x-valid", "x-test"),
    "ImageNet16-120": ("imagenet16_120", "x-valid", "x-test"),
}
FLOAT_COLUMNS: tuple[str, ...] = (
    "train_acc",
    "train_loss",
    "val_acc",
    "val_loss",
    "test_acc",
    "test_loss",
    "ori_test_acc",
    "ori_test_loss",
    "train_time_s",
    "train_time_cum_s",
    "val_time_s",
    "test_time_s",
    "flops_m",
    "params_mb",
    "latency_s",
)
#: the cross-check against get_more_info: the sums are the same float additions in the same
#: order, so any difference beyond rounding means a misread field
_TOL = 1e-9

# the official readers raise these for unreadable or malformed files
_READER_ERRORS = (
    ValueError,
    AssertionError,
    KeyError,
    IndexError,
    TypeError,
    AttributeError,
    EOFError,
    OSError,
    pickle.UnpicklingError,
)


def schema() -> Any:
    import pyarrow as pa

    text = pa.dictionary(pa.int32(), pa.string())
    return pa.schema(
        [
            ("nb201_index", pa.int32()),
            ("arch_str", text),
            ("dataset", text),
            ("official_dataset", text),
            ("hp", pa.int16()),
            ("seed", pa.int32()),
            ("epoch", pa.int16()),
            ("test_split", text),
            *[(c, pa.float64()) for c in FLOAT_COLUMNS],
        ]
    )


def _series(
    mapping: Any, keys: Iterable[object], what: str, missing_ok: bool = False
) -> np.ndarray:
    """Values of ``mapping`` at ``keys`` as float64.

    A missing mapping gives NaN everywhere; a missing key is NaN with ``missing_ok`` (the official
    200-epoch runs evaluate some splits only after the last epoch) and an error otherwise.
    """
    keys = list(keys)
    if mapping is None or (isinstance(mapping, Mapping) and len(mapping) == 0):
        return np.full(len(keys), np.nan)
    out = np.full(len(keys), np.nan)
    try:
        for j, k in enumerate(keys):
            if missing_ok and k not in mapping:
                continue
            v = mapping[k]
            if v is not None:
                out[j] = float(v)
    except (KeyError, IndexError, TypeError, ValueError) as e:
        raise DataError(f"{what}: missing or non-numeric entry ({e!r})") from e
    return out


def _eval(res: Any, split: str | None, epochs: int, what: str) -> tuple[np.ndarray, ...]:
    """Accuracy, loss and time per epoch of one evaluation split (NaN where not evaluated)."""
    if split is None or split not in list(res.eval_names):
        nan = np.full(epochs, np.nan)
        return nan, nan, nan
    keys = [f"{split}@{i}" for i in range(epochs)]
    acc = _series(res.eval_acc1es, keys, f"{what} {split} accuracy", missing_ok=True)
    loss = _series(res.eval_losses, keys, f"{what} {split} loss", missing_ok=True)
    times = _series(res.eval_times, keys, f"{what} {split} time", missing_ok=True)
    return acc, loss, times


def _close(a: object, b: float) -> bool:
    if a is None:
        return math.isnan(b)
    return abs(float(a) - b) <= _TOL * max(1.0, abs(b))  # type: ignore[arg-type]


def _run_columns(
    api: Any,
    index: int,
    arch_str: str,
    hp: str,
    ds: str,
    seed: int,
    res: Any,
    cost: Mapping[str, Any],
) -> dict[str, Any]:
    name, val_split, test_split = DATASETS[ds]
    what = f"cell {index} {ds} hp={hp} seed={seed}"
    epochs = int(res.epochs)
    if epochs <= 0:
        raise DataError(f"{what}: {epochs} epochs recorded")
    train_acc = _series(res.train_acc1es, range(epochs), f"{what} train accuracy")
    train_loss = _series(res.train_losses, range(epochs), f"{what} train loss")
    train_time = _series(res.train_times, range(epochs), f"{what} train time")
    val_acc, val_loss, val_time = _eval(res, val_split, epochs, what)
    test_acc, test_loss, test_time = _eval(res, test_split, epochs, what)
    ori_acc, ori_loss, _ = _eval(res, "ori-test", epochs, what)

    # the official per-query path, at the final epoch, must agree with the per-seed fields read
    info = api.get_more_info(index, ds, iepoch=epochs - 1, hp=hp, is_random=seed)
    cum = np.cumsum(train_time)
    checks = [
        ("train-accuracy", train_acc[-1]),
        ("train-all-time", cum[-1]),
        ("test-accuracy", test_acc[-1]),
    ]
    if val_split is not None:
        checks.append(("valid-accuracy", val_acc[-1]))
    if ds not in ("cifar10", "cifar10-valid"):
        checks.append(("valtest-accuracy", ori_acc[-1]))
    for key, mine in checks:
        if not math.isnan(mine) and not _close(info.get(key), float(mine)):
            raise DataError(
                f"{what}: the official get_more_info gives {key}={info.get(key)!r} but the seed's "
                f"results give {mine!r}; the file does not have the expected layout"
            )

    def num(key: str) -> float:
        v = cost.get(key)
        return math.nan if v is None else float(v)

    n = epochs
    return {
        "nb201_index": np.full(n, index, dtype=np.int32),
        "arch_str": [arch_str] * n,
        "dataset": [name] * n,
        "official_dataset": [ds] * n,
        "hp": np.full(n, int(hp), dtype=np.int16),
        "seed": np.full(n, int(seed), dtype=np.int32),
        "epoch": np.arange(1, n + 1, dtype=np.int16),
        "test_split": [test_split] * n,
        "train_acc": train_acc,
        "train_loss": train_loss,
        "val_acc": val_acc,
        "val_loss": val_loss,
        "test_acc": test_acc,
        "test_loss": test_loss,
        "ori_test_acc": ori_acc,
        "ori_test_loss": ori_loss,
        "train_time_s": train_time,
        "train_time_cum_s": cum,
        "val_time_s": val_time,
        "test_time_s": test_time,
        "flops_m": np.full(n, num("flops")),
        "params_mb": np.full(n, num("params")),
        "latency_s": np.full(n, num("latency")),
    }


def _cell_runs(api: Any, index: int) -> list[dict[str, Any]]:
    arch_str = str(api.arch(index))
    runs = []
    for hp in HPS:
        archres = api.query_meta_info_by_index(index, hp=hp)
        for ds in archres.get_dataset_names():
            if ds not in DATASETS:
                known = ", ".join(DATASETS)
                raise DataError(f"cell {index} hp={hp}: unknown dataset {ds!r} (expected {known})")
            # = api.get_cost_info(index, ds, hp=hp), which deep-copies the cell's results first
            # (most of the conversion time); the tests check that both agree
            cost = archres.get_compute_costs(ds)
            for seed in archres.get_dataset_seeds(ds):
                res = archres.query(ds, seed)
                runs.append(_run_columns(api, index, arch_str, hp, ds, seed, res, cost))
    return runs


def _produce(
    api: Any,
    indices: list[int],
    writer: _cache.TableWriter,
    source: Path,
    after_cell: Callable[[int], None] | None = None,
    batch_cells: int = 64,
) -> None:
    names = [f.name for f in writer.schema]
    pending: list[dict[str, Any]] = []
    for k, index in enumerate(indices, 1):
        try:
            pending.extend(_cell_runs(api, index))
        except DataError as e:
            where = "" if f"cell {index} " in str(e) else f"cell {index}: "
            raise DataError(f"{source}: {where}{e}") from e
        except _READER_ERRORS as e:
            raise DataError(
                f"{source}: the official reader failed on cell {index} ({type(e).__name__}: {e}); "
                "the file is corrupted, truncated or not in the expected official format"
            ) from e
        if after_cell is not None:
            after_cell(index)
        if k % batch_cells == 0 or k == len(indices):
            writer.write(_cache.concat_columns(pending, names))
            pending = []


# ---------------------------------------------------------------------------------------------
# nats-tss

#: Every global the NATS-Bench fast-mode pickles name (measured on the real sample archive: nested
#: dicts of floats, numpy scalars and OrderedDicts). Nothing else is admitted: a file naming any
#: other global (``os.system``, a class with a ``__reduce__``) stops the conversion unread.
NATS_ALLOWED: frozenset[tuple[str, str]] = frozenset(
    {
        ("collections", "OrderedDict"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "dtype"),
    }
)
#: A decompressed NATS file larger than this is refused (the real meta file is 1.4 MB, a cell
#: 0.3 MB): a crafted bz2 stream cannot exhaust memory.
_NATS_MAX_BYTES = 512 << 20


def _nats_pickle_load(file_path: object, ext: str = ".pbz2") -> Any:
    """Drop-in for ``nats_bench.api_utils.pickle_load``: bz2, then the allow-list unpickler."""
    p = Path(str(file_path))
    if not p.is_file():
        p = Path(str(file_path) + ext)
    try:
        raw = p.read_bytes()
        dec = bz2.BZ2Decompressor()
        data = dec.decompress(raw, max_length=_NATS_MAX_BYTES)
    except (OSError, ValueError, EOFError) as e:
        raise DataError(f"{p}: not a bz2-compressed NATS-Bench file ({e})") from e
    if not dec.eof:
        raise DataError(
            f"{p}: truncated, or decompresses to more than {_NATS_MAX_BYTES >> 20} MB; not a "
            "NATS-Bench file"
        )
    return restricted_loads(data, NATS_ALLOWED, p)


@contextmanager
def restricted_nats_pickles() -> Iterator[None]:
    """Make the official NATS reader unpickle through the allow-list while the block runs.

    The reader loads cells lazily (fast mode), so the whole conversion runs inside this block.
    """
    import nats_bench
    from nats_bench import api_size, api_topology, api_utils

    modules = (nats_bench, api_utils, api_topology, api_size)
    saved = [(m, m.pickle_load) for m in modules]
    for m in modules:
        m.pickle_load = _nats_pickle_load
    try:
        yield
    finally:
        for m, f in saved:
            m.pickle_load = f


_CELL_FILE = re.compile(r"^(\d+)\.pickle\.pbz2$")


def open_nats_tss(path: Path) -> Any:
    """The official NATS-Bench topology reader over an extracted ``*-simple`` archive directory."""
    if not path.is_dir():
        raise DataError(
            f"nats-tss: {path} is not a directory; pass the extracted fast-mode archive directory "
            "(e.g. NATS-tss-v1_0-3ffb9-simple/ with meta.pickle.pbz2 and 000000.pickle.pbz2 ...): "
            "untar NATS-tss-v1_0-3ffb9-simple.tar first"
        )
    if not (path / "meta.pickle.pbz2").is_file():
        raise DataError(
            f"nats-tss: {path} has no meta.pickle.pbz2: not a NATS-Bench fast-mode archive "
            "directory (expected NATS-tss-v1_0-3ffb9-simple/ with meta.pickle.pbz2 and one "
            "NNNNNN.pickle.pbz2 per cell)"
        )
    try:
        import nats_bench
    except ImportError as e:  # pragma: no cover - installed with the 'official' extra
        raise DataError(
            "nats-tss needs the official reader: pip install 'nasbench-harness[official]'"
        ) from e
    try:
        with restricted_nats_pickles():
            api = nats_bench.create(str(path), "tss", fast_mode=True, verbose=False)
    except _READER_ERRORS as e:
        raise DataError(
            f"nats-tss: the official reader cannot open {path} ({type(e).__name__}: {e}); "
            "meta.pickle.pbz2 is corrupted or not a NATS-Bench file"
        ) from e
    _check_space(api, path, "nats-tss")
    return api


def _check_space(api: Any, path: Path, kind: str) -> None:
    n = len(api)
    first = str(api.arch(0)) if n else ""
    if n != N_CELLS or not first.startswith("|"):
        raise DataError(
            f"{kind}: {path} describes {n} architectures (first {first!r}), not the 15,625 cells "
            "of the topology space (NAS-Bench-201 / NATS-Bench tss); a size-space (sss) archive?"
        )


def nats_cell_indices(path: Path) -> list[int]:
    out = []
    for p in _cache._dir_files(path):
        m = _CELL_FILE.match(p.name)
        if m:
            out.append(int(m.group(1)))
    bad = [i for i in out if not 0 <= i < N_CELLS]
    if bad:
        raise DataError(f"nats-tss: {path} has cell files outside 0..15624: {bad[:5]}")
    if len(set(out)) != len(out):
        raise DataError(f"nats-tss: {path} has the same cell twice (e.g. 000011 and 11)")
    return sorted(out)


def convert_nats_tss(
    source: Path, sha: str, *, version: int, status: str, verified_sources: Mapping[str, str],
    force: bool = False,
) -> Path:  # fmt: skip
    with restricted_nats_pickles():
        return _convert_nats_tss(source, sha, version, status, verified_sources, force)


def _convert_nats_tss(
    source: Path, sha: str, version: int, status: str, verified_sources: Mapping[str, str],
    force: bool,
) -> Path:  # fmt: skip
    api = open_nats_tss(source)
    indices = nats_cell_indices(source)
    if not indices:
        raise DataError(f"nats-tss: {source} holds no NNNNNN.pickle.pbz2 cell files")

    def forget(index: int) -> None:
        # the reader caches every cell it touched; a full conversion would hold all 15,625
        api.arch2infos_dict.pop(index, None)

    def produce(writer: _cache.TableWriter) -> dict[str, Any]:
        _produce(api, indices, writer, source, after_cell=forget)
        return {
            "cells_converted": len(indices),
            "cells_in_space": N_CELLS,
            "complete": len(indices) == N_CELLS,
        }

    return _cache.build(
        kind="nats-tss",
        version=version,
        source=source,
        sha=sha,
        schema=schema(),
        group_by=("dataset", "hp"),
        produce=produce,
        manifest_extra=_manifest_extra("nats_bench", status, sha, verified_sources),
        force=force,
    )


def _manifest_extra(
    distribution: str, status: str, sha: str, verified_sources: Mapping[str, str]
) -> dict[str, Any]:
    from importlib import metadata

    try:
        version = metadata.version(distribution)
    except metadata.PackageNotFoundError:  # pragma: no cover
        version = "unknown"
    return {
        "reader": f"{distribution} {version}",
        "verified_against_real_download": False,
        "verification": status,
        "source_is_verified_sample": sha in verified_sources,
        "verified_sample": verified_sources.get(sha),
        "units": {
            "accuracy": "percent",
            "time": "seconds",
            "flops_m": "MFLOPs",
            "params_mb": "millions of parameters (the official 'params', labelled MB)",
            "latency_s": "seconds per batch (official latency)",
            "epoch": "1-based: epochs trained so far (official iepoch = epoch - 1)",
        },
    }


# ---------------------------------------------------------------------------------------------
# nb201-pth


def _torch_safe_globals() -> list[Any]:
    """Numpy scalar types the NB201 file may hold, for torch's weights-only unpickler.

    ``torch.load`` (called by the official reader) refuses every global not explicitly allowed;
    numpy scalars are plain data, so they are allowed under both their numpy 2 and numpy 1 names.
    """
    out: list[Any] = []
    try:
        from numpy._core import multiarray as ma
    except ImportError:  # pragma: no cover - numpy 1
        from numpy.core import multiarray as ma  # type: ignore[no-redef]
    out.append(ma.scalar)
    out.append((ma.scalar, "numpy.core.multiarray.scalar"))
    out.append(np.dtype)
    for t in (np.float64, np.float32, np.int64, np.int32, np.bool_):
        out.append(type(np.dtype(t)))
    return out


def open_nb201_pth(path: Path) -> Any:
    """The official NAS-Bench-201 reader over a ``NAS-Bench-201-v1_*.pth`` file."""
    if not path.is_file():
        raise DataError(
            f"nb201-pth: {path} is not a file; pass NAS-Bench-201-v1_1-096897.pth (or v1_0)"
        )
    try:
        import torch
        from nas_201_api import NASBench201API
    except ImportError as e:  # pragma: no cover - installed with the 'official' extra
        raise DataError(
            "nb201-pth needs the official reader: pip install 'nasbench-harness[official]'"
        ) from e
    try:
        with torch.serialization.safe_globals(_torch_safe_globals()):
            api = NASBench201API(str(path), verbose=False)
    except (*_READER_ERRORS, RuntimeError) as e:
        msg = str(e).splitlines()
        detail = next((m.strip() for m in msg if "Unsupported global" in m), msg[0] if msg else "")
        raise DataError(
            f"nb201-pth: the official reader cannot load {path} ({type(e).__name__}: {detail}); "
            "the file is corrupted, truncated, not a NAS-Bench-201 .pth, or holds objects other "
            "than the benchmark's plain data"
        ) from e
    _check_space(api, path, "nb201-pth")
    return api


def convert_nb201_pth(
    source: Path, sha: str, *, version: int, status: str, force: bool = False
) -> Path:
    api = open_nb201_pth(source)
    indices = sorted(int(i) for i in api.evaluated_indexes)
    if not indices:
        raise DataError(f"nb201-pth: {source} holds no evaluated cells")

    def produce(writer: _cache.TableWriter) -> dict[str, Any]:
        _produce(api, indices, writer, source)
        return {
            "cells_converted": len(indices),
            "cells_in_space": N_CELLS,
            "complete": len(indices) == N_CELLS,
        }

    return _cache.build(
        kind="nb201-pth",
        version=version,
        source=source,
        sha=sha,
        schema=schema(),
        group_by=("dataset", "hp"),
        produce=produce,
        manifest_extra=_manifest_extra("nas-bench-201", status, sha, {}),
        force=force,
    )


__all__ = [
    "DATASETS",
    "HPS",
    "N_CELLS",
    "convert_nats_tss",
    "convert_nb201_pth",
    "open_nats_tss",
    "open_nb201_pth",
    "schema",
]
