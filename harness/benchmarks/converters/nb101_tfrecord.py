"""NAS-Bench-101 ``nasbench_only108.tfrecord`` / ``nasbench_full.tfrecord`` without TensorFlow.

The official NB101 reader (google-research/nasbench ``nasbench/api.py``) needs TensorFlow 1.x,
which does not install beside this project's stack, only to iterate TFRecord framing and parse one
small protobuf. Both formats are simple and stable, so they are read here directly:

- TFRecord framing, per record: ``uint64 length`` (little endian), ``uint32 masked_crc32c(length
  bytes)``, ``data``, ``uint32 masked_crc32c(data)``. Both CRCs are verified: a corrupted or
  truncated download fails with a :class:`DataError` naming the record and byte offset instead of
  producing wrong numbers.
- Each record's data is UTF-8 JSON ``[module_hash, epochs, raw_adjacency, raw_operations,
  raw_metrics]`` (as ``NASBench.__init__`` decodes it): ``raw_adjacency`` is the row-major 0/1
  string of the pruned ``dim x dim`` matrix, ``raw_operations`` the comma-separated op names,
  ``raw_metrics`` a base64 serialised ``nasbench.ModelMetrics`` protobuf (``model_metrics.proto``):

  - ``ModelMetrics``: 1 ``repeated EvaluationData evaluation_data``, 2 ``int32
    trainable_parameters``, 3 ``double total_time``;
  - ``EvaluationData``: 1 ``double current_epoch``, 2 ``double training_time``, 3 ``double
    train_accuracy``, 4 ``double validation_accuracy``, 5 ``double test_accuracy``, 6 ``string
    checkpoint_path``.

  As in the official API, ``evaluation_data[1]`` is the halfway evaluation and
  ``evaluation_data[2]`` the final one (``[0]`` is at initialisation and unused), and the repeat
  index of a record is its order of appearance among the records of the same (hash, epochs).

Accuracies stay fractions (0-1) as in the file. An unset optional field is NaN here (the
protobuf default the official API would return is 0.0, indistinguishable from a real zero).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from harness.benchmarks.converters import _cache
from harness.errors import DataError

# ---------------------------------------------------------------------------------------------
# CRC-32C (Castagnoli), as TFRecord uses it


def _crc_table() -> list[int]:
    poly = 0x82F63B78  # reversed Castagnoli polynomial
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc_table()


def _crc32c_py(data: bytes) -> int:
    crc = 0xFFFFFFFF
    table = _TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _pick_crc32c() -> Any:
    """A C implementation when installed (10-100x faster on a 0.5-2 GB file), else Python."""
    try:
        import crc32c as _c

        return _c.crc32c
    except ImportError:
        pass
    try:
        import google_crc32c as _g

        return _g.value
    except ImportError:
        return _crc32c_py


crc32c = _pick_crc32c()


def masked_crc32c(data: bytes) -> int:
    """TFRecord's masked CRC: rotate right by 15 bits and add a constant."""
    crc = int(crc32c(data)) & 0xFFFFFFFF
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def iter_tfrecord(path: Path) -> Iterator[bytes]:
    """Yield each record's data, verifying both CRCs; DataError on corruption or truncation."""
    with open(path, "rb") as f:
        yield from _iter_stream(f, path)


def _iter_stream(f: BinaryIO, path: Path) -> Iterator[bytes]:
    offset = 0
    n = 0
    while True:
        header = f.read(12)
        if not header:
            return
        where = f"{path}: record {n} at byte {offset}"
        if len(header) < 12:
            raise DataError(f"{where}: file ends inside a record header (truncated download?)")
        length_bytes = header[:8]
        (length,) = struct.unpack("<Q", length_bytes)
        (length_crc,) = struct.unpack("<I", header[8:])
        if masked_crc32c(length_bytes) != length_crc:
            raise DataError(
                f"{where}: length CRC mismatch: not a TFRecord file, or corrupted; "
                "download the file again"
            )
        data = f.read(length)
        footer = f.read(4)
        if len(data) < length or len(footer) < 4:
            raise DataError(
                f"{where}: file ends inside a {length}-byte record (truncated download?)"
            )
        (data_crc,) = struct.unpack("<I", footer)
        if masked_crc32c(data) != data_crc:
            raise DataError(
                f"{where}: data CRC mismatch: the record is corrupted; download the file again"
            )
        yield data
        offset += 16 + length
        n += 1


# ---------------------------------------------------------------------------------------------
# Protobuf wire format (only what ModelMetrics uses)

_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise ValueError("varint longer than 10 bytes")


def parse_fields(buf: bytes) -> dict[int, list[tuple[int, Any]]]:
    """Decode one protobuf message into ``{field number: [(wire type, raw value), ...]}``.

    Varints come back as unsigned ints, fixed64/fixed32 as their raw bytes, length-delimited
    fields as bytes; interpretation is left to the caller, who knows the schema.
    """
    out: dict[int, list[tuple[int, Any]]] = {}
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if field == 0:
            raise ValueError("field number 0")
        value: Any
        if wire == _VARINT:
            value, pos = _varint(buf, pos)
        elif wire == _I64:
            value, pos = buf[pos : pos + 8], pos + 8
            if len(value) < 8:
                raise ValueError("truncated fixed64")
        elif wire == _LEN:
            size, pos = _varint(buf, pos)
            value, pos = buf[pos : pos + size], pos + size
            if len(value) < size:
                raise ValueError("truncated length-delimited field")
        elif wire == _I32:
            value, pos = buf[pos : pos + 4], pos + 4
            if len(value) < 4:
                raise ValueError("truncated fixed32")
        else:
            raise ValueError(f"unsupported wire type {wire} (groups are not used by ModelMetrics)")
        out.setdefault(field, []).append((wire, value))
    return out


def _double(fields: dict[int, list[tuple[int, Any]]], number: int, name: str) -> float:
    vals = fields.get(number)
    if not vals:
        return math.nan
    wire, raw = vals[-1]  # proto2: the last occurrence of a non-repeated field wins
    if wire != _I64:
        raise ValueError(f"{name} has wire type {wire}, expected a double (1)")
    return float(struct.unpack("<d", raw)[0])


def _int32(fields: dict[int, list[tuple[int, Any]]], number: int, name: str) -> int | None:
    vals = fields.get(number)
    if not vals:
        return None
    wire, raw = vals[-1]
    if wire != _VARINT:
        raise ValueError(f"{name} has wire type {wire}, expected a varint (0)")
    raw &= 0xFFFFFFFF  # int32 is sign-extended to 64 bits on the wire
    return raw - (1 << 32) if raw & 0x80000000 else raw


EVAL_FIELDS: tuple[tuple[int, str], ...] = (
    (1, "current_epoch"),
    (2, "training_time"),
    (3, "train_accuracy"),
    (4, "validation_accuracy"),
    (5, "test_accuracy"),
)


def parse_model_metrics(buf: bytes) -> dict[str, Any]:
    """``nasbench.ModelMetrics`` -> {evaluation_data: [dict], trainable_parameters, total_time}."""
    fields = parse_fields(buf)
    evals = []
    for wire, raw in fields.get(1, []):
        if wire != _LEN:
            raise ValueError(f"evaluation_data has wire type {wire}, expected a message (2)")
        sub = parse_fields(raw)
        evals.append({name: _double(sub, num, name) for num, name in EVAL_FIELDS})
    return {
        "evaluation_data": evals,
        "trainable_parameters": _int32(fields, 2, "trainable_parameters"),
        "total_time": _double(fields, 3, "total_time"),
    }


# ---------------------------------------------------------------------------------------------
# Records -> rows

_OPS = frozenset({"input", "output", "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"})
FLOAT_COLUMNS: tuple[str, ...] = (
    "halfway_epoch",
    "halfway_training_time_s",
    "halfway_train_acc",
    "halfway_val_acc",
    "halfway_test_acc",
    "final_epoch",
    "final_training_time_s",
    "final_train_acc",
    "final_val_acc",
    "final_test_acc",
    "total_time_s",
)


def schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            ("module_hash", pa.string()),
            ("epochs", pa.int16()),
            ("repeat", pa.int16()),
            ("n_vertices", pa.int8()),
            ("adjacency", pa.string()),
            ("ops", pa.string()),
            ("trainable_parameters", pa.int64()),
            *[(c, pa.float64()) for c in FLOAT_COLUMNS],
        ]
    )


def decode_record(data: bytes) -> dict[str, Any]:
    """One TFRecord payload -> one row (without the repeat index); ValueError when malformed."""
    try:
        row = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"payload is not UTF-8 JSON ({e})") from e
    if not (isinstance(row, list) and len(row) == 5):
        raise ValueError("payload is not the list [module_hash, epochs, adjacency, ops, metrics]")
    module_hash, epochs, raw_adj, raw_ops, raw_metrics = row
    if not (isinstance(module_hash, str) and len(module_hash) == 32):
        raise ValueError(f"module hash {module_hash!r} is not a 32-character MD5 hex string")
    if not (isinstance(epochs, int) and epochs > 0):
        raise ValueError(f"epochs {epochs!r} is not a positive integer")
    if not (isinstance(raw_adj, str) and set(raw_adj) <= {"0", "1"}):
        raise ValueError(f"adjacency {raw_adj!r} is not a 0/1 string")
    dim = math.isqrt(len(raw_adj))
    if dim * dim != len(raw_adj) or not 2 <= dim <= 7:
        raise ValueError(f"adjacency has {len(raw_adj)} bits, not the square of 2..7 vertices")
    ops = raw_ops.split(",") if isinstance(raw_ops, str) else []
    if len(ops) != dim or ops[0] != "input" or ops[-1] != "output" or not set(ops) <= _OPS:
        raise ValueError(f"operations {raw_ops!r} do not fit a {dim}-vertex NB101 cell")
    try:
        metrics = parse_model_metrics(base64.b64decode(raw_metrics, validate=True))
    except (binascii.Error, TypeError) as e:
        raise ValueError(f"metrics are not base64 ({e})") from e
    evals = metrics["evaluation_data"]
    if len(evals) < 3:
        raise ValueError(
            f"{len(evals)} evaluations, expected 3 (initial, halfway, final) as nasbench reads"
        )
    half, final = evals[1], evals[2]
    params = metrics["trainable_parameters"]
    return {
        "module_hash": module_hash,
        "epochs": epochs,
        "n_vertices": dim,
        "adjacency": raw_adj,
        "ops": raw_ops,
        "trainable_parameters": -1 if params is None else params,
        "halfway_epoch": half["current_epoch"],
        "halfway_training_time_s": half["training_time"],
        "halfway_train_acc": half["train_accuracy"],
        "halfway_val_acc": half["validation_accuracy"],
        "halfway_test_acc": half["test_accuracy"],
        "final_epoch": final["current_epoch"],
        "final_training_time_s": final["training_time"],
        "final_train_acc": final["train_accuracy"],
        "final_val_acc": final["validation_accuracy"],
        "final_test_acc": final["test_accuracy"],
        "total_time_s": metrics["total_time"],
    }


def _batch(rows: list[dict[str, Any]], names: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {n: [r[n] for r in rows] for n in names}
    for c in FLOAT_COLUMNS:
        out[c] = np.asarray(out[c], dtype=np.float64)
    return out


def convert_nb101_tfrecord(
    source: Path, sha: str, *, version: int, status: str, force: bool = False
) -> Path:
    if not source.is_file():
        raise DataError(
            f"nb101-tfrecord: {source} is not a file; pass nasbench_only108.tfrecord or "
            "nasbench_full.tfrecord"
        )

    def produce(writer: _cache.TableWriter) -> dict[str, Any]:
        names = [f.name for f in writer.schema]
        repeats: dict[tuple[str, int], int] = {}
        rows: list[dict[str, Any]] = []
        n = 0
        for n, data in enumerate(iter_tfrecord(source), 1):
            try:
                row = decode_record(data)
            except ValueError as e:
                raise DataError(
                    f"nb101-tfrecord: {source}: record {n - 1} is not a NAS-Bench-101 record: {e}"
                ) from e
            key = (row["module_hash"], row["epochs"])
            row["repeat"] = repeats.get(key, 0)
            repeats[key] = row["repeat"] + 1
            rows.append(row)
            if len(rows) >= 50_000:
                writer.write(_batch(rows, names))
                rows = []
        if rows:
            writer.write(_batch(rows, names))
        if n == 0:
            raise DataError(f"nb101-tfrecord: {source} holds no records")
        hashes = {h for h, _ in repeats}
        return {
            "records": n,
            "unique_cells": len(hashes),
            "epochs_present": sorted({e for _, e in repeats}),
            "reader": "harness TFRecord + protobuf decoder (no TensorFlow); crc32c: "
            + getattr(crc32c, "__module__", "python"),
            "verified_against_real_download": False,
            "verification": status,
            "units": {
                "accuracy": "fraction (0-1), as in the official file",
                "time": "seconds (training time up to that evaluation, evaluation excluded)",
            },
        }

    return _cache.build(
        kind="nb101-tfrecord",
        version=version,
        source=source,
        sha=sha,
        schema=schema(),
        group_by=("epochs",),
        produce=produce,
        manifest_extra={},
        force=force,
    )
