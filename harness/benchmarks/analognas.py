"""AnalogNAS-Bench (IBM analog-nas) from the data its PyPI package ``analog-nasbench`` ships.

What the package holds (``analognasbench/data.anb``, one pickle: a dict from NASLib-style NB201
op-index tuples to records; checked in the tests): all 15,625 NB201 cells, CIFAR-10 only, with

- ``baseline_accuracy``: standard (digital) training, 200 epochs;
- ``ptq_accuracy`` / ``qat_accuracy``: post-training quantisation / quantisation-aware training
  (20 more epochs) of that model;
- ``noisy_accuracy``: the digitally trained model evaluated on simulated analog in-memory
  hardware (aihwkit, PCM noise model);
- ``analog_accuracy``: hardware-aware training (HWT) on that simulated hardware;
- ``baseline_drift_<t>`` / ``analog_drift_<t>``: the noisy / HWT model after conductance drift of
  t = 60 s, 3,600 s, 86,400 s, 2,592,000 s (1 min, 1 h, 1 day, 30 days), as "value ± spread";
  the package README calls the first family ``noisy_drift_<t>``.

All are percentages on the CIFAR-10 TEST split: the benchmark's training script trains on the
50k training images and evaluates on the 10k test images (mean of 25 evaluation passes); there is
NO validation split and one training per cell (no seeds). Treated as the NB101 sample is: the
only accuracies are searched and reported, and every label says they are test-split numbers, so
a search on them selects on test data (the reported "test" is the searched number itself, not
a held-out one).

Op tuples: NASLib numbering (0 skip, 1 none, 2 conv3x3, 3 conv1x1, 4 avg_pool) and edge order
(0,1),(0,2),(0,3),(1,2),(1,3),(2,3); :func:`harness.spaces.nb201.from_naslib` maps them onto the
harness's NB201 cells, whose benchmark index is this benchmark's key (all 15,625 map, checked).

Loading: the pickle names two classes of the package (``Architecture``, ``DriftMeasurement``),
and the package's own reader imports ``pkg_resources``; it is read here with the project's
restricted unpickler after checking the pinned sha256, with those two names bound to plain local
record classes (no package code runs), then converted into a memory-mapped ``.npy`` matrix in
the cache directory.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import io
import json
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harness.benchmarks.base import Benchmark, Metric, Provenance
from harness.errors import DataError, InvalidArchitecture, NotInBenchmark
from harness.spaces import nb201

PACKAGE = "analog-nasbench"
PACKAGE_VERSIONS = ">=0.1.3,<0.2"
#: sha256 of analognasbench/data.anb in analog-nasbench 0.1.3
SHA256 = "85f3435b877aa2d36268d55ce07f6ff6d73643d17a840f1941745da5eb80db32"
DATASETS: tuple[str, ...] = ("cifar10",)
DRIFT_SECONDS: tuple[int, ...] = (60, 3600, 86400, 2592000)
_DRIFT_LABEL = {60: "1 min", 3600: "1 h", 86400: "1 day", 2592000: "30 days"}
ACCURACIES: tuple[tuple[str, str], ...] = (
    ("analog_accuracy", "hardware-aware training (HWT) on simulated analog hardware"),
    ("baseline_accuracy", "standard digital training, 200 epochs"),
    ("ptq_accuracy", "post-training quantisation of the digital model"),
    ("qat_accuracy", "quantisation-aware training of the digital model"),
    ("noisy_accuracy", "the digital model evaluated on simulated analog hardware"),
)
_FORMAT = 1
CITATION = (
    "AnalogNAS-Bench: A NAS Benchmark for Analog In-Memory Computing, arXiv:2506.18495 (2025), "
    "code and data in IBM/analog-nas analognasbench/; built on Dong & Yang, NAS-Bench-201, "
    "ICLR 2020"
)
_TEST = "CIFAR-10 TEST split, the only split (no validation)"


def _columns() -> list[tuple[str, str, str, str]]:
    """(column, package field, part, description): part is 'value' or 'uncertainty'."""
    out = []
    for field, what in ACCURACIES:
        out.append((field.replace("_accuracy", "_acc"), field, "value", f"{what}; {_TEST}"))
    for family, what in (
        ("baseline", "digital model on analog hardware"),
        ("analog", "HWT model"),
    ):
        for t in DRIFT_SECONDS:
            field = f"{family}_drift_{t}"
            desc = f"{what} after {_DRIFT_LABEL[t]} of drift; {_TEST}"
            out.append((f"{family}_drift_{t}s_acc", field, "value", desc))
            out.append((f"{family}_drift_{t}s_spread", field, "uncertainty", f"± of {desc}"))
    return out


COLUMNS = _columns()


def package_file() -> Path:
    """The installed package's data file (located without importing the package)."""
    spec = importlib.util.find_spec("analognasbench")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            f"AnalogNAS-Bench needs the {PACKAGE} package ({PACKAGE_VERSIONS}), which ships its "
            f"data: pip install '{PACKAGE}{PACKAGE_VERSIONS}'"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data.anb"


def verified_file() -> Path:
    from harness.benchmarks.registry import file_sha256

    path = package_file()
    if not path.is_file():
        raise DataError(f"{path} is missing: reinstall {PACKAGE} ({PACKAGE_VERSIONS})")
    got = file_sha256(path)
    if got != SHA256:
        raise DataError(
            f"{path}: sha256 {got} is not the pinned {SHA256} (analog-nasbench 0.1.3); reinstall "
            f"{PACKAGE}==0.1.3 or pin the new file's checksum after checking it"
        )
    return path


class _Record:
    """Stands in for the package's ``Architecture`` / ``DriftMeasurement``: an attribute bag
    (unpickling only sets ``__dict__``; none of the package's code runs)."""


_STAND_INS = {
    ("analognasbench.data", "Architecture"): _Record,
    ("analognasbench.data", "DriftMeasurement"): _Record,
}


def read_official() -> dict[tuple[int, ...], Any]:
    """The package's record dict via the restricted unpickler (pinned sha256, stand-in classes)."""
    from harness.benchmarks.converters.safe_pickle import _AllowListUnpickler

    class _Unpickler(_AllowListUnpickler):
        def find_class(self, module: str, name: str) -> Any:
            if (module, name) in _STAND_INS:
                return _STAND_INS[(module, name)]
            return super().find_class(module, name)  # the (empty) allow-list: refused

    path = package_file()
    try:
        data = path.read_bytes()
    except OSError as e:
        raise DataError(f"cannot read {path}: {e.strerror or e}") from e
    got = hashlib.sha256(data).hexdigest()
    if got != SHA256:
        raise DataError(
            f"{path}: sha256 {got} is not the pinned {SHA256}; refusing to unpickle it"
        )
    try:
        out = _Unpickler(io.BytesIO(data), frozenset(), path).load()
    except DataError:
        raise
    except Exception as e:
        raise DataError(f"{path}: not a loadable pickle ({type(e).__name__}: {e})") from e
    if not isinstance(out, dict):
        raise DataError(f"{path}: expected a dict of records, got {type(out).__name__}")
    return out


def _number(rec: Any, field: str, part: str, key: object) -> float:
    v = getattr(rec, field, None)
    if isinstance(v, _Record):
        v = getattr(v, part, None)
    elif part == "uncertainty":
        v = 0.0 if isinstance(v, int | float) else None
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise DataError(f"data.anb {key}: {field} ({part}) is {v!r}, not a number")
    return float(v)


def _convert() -> np.ndarray:
    """The value matrix [column, nb201 index], checked (every cell once, numbers only)."""
    data = read_official()
    if len(data) != nb201.N_CELLS:
        raise DataError(f"data.anb has {len(data)} cells, expected {nb201.N_CELLS}")
    values = np.full((len(COLUMNS), nb201.N_CELLS), np.nan)
    seen = np.zeros(nb201.N_CELLS, dtype=bool)
    for key, rec in data.items():
        try:
            idx = nb201.index_of(nb201.from_naslib(key))
        except (InvalidArchitecture, TypeError) as e:
            raise DataError(f"data.anb key {key!r} is not an NB201 op tuple: {e}") from e
        if getattr(rec, "architecture", None) != key:
            raise DataError(f"data.anb key {key!r} holds a record of {rec.architecture!r}")
        seen[idx] = True
        for i, (_, field, part, _) in enumerate(COLUMNS):
            values[i, idx] = _number(rec, field, part, key)
    if not seen.all():
        raise DataError("data.anb does not cover every NB201 cell")
    return values


_KIND = "analognas-table"
_SOURCES = {"analognasbench/data.anb": SHA256}


def _cache_dir() -> Path:
    from harness.paths import cache_dir

    return cache_dir() / f"analognas-{SHA256[:16]}-v{_FORMAT}"


def build_cache(force: bool = False) -> Path:
    """Convert the package file into the cache (atomic, with an integrity record)."""
    from harness.benchmarks import cache_integrity

    d = _cache_dir()
    if not force and cache_integrity.check(d, kind=_KIND, sources=_SOURCES) is None:
        return d
    return _build()


def _build() -> Path:
    from harness.benchmarks import cache_integrity

    values = _convert()

    def write(tmp: Path) -> None:
        np.save(tmp / "values.npy", values)
        (tmp / "columns.json").write_text(json.dumps([c for c, *_ in COLUMNS]))

    return cache_integrity.build(
        _cache_dir(), write, kind=_KIND, sources=_SOURCES, keep_valid=True
    )


@functools.cache
def load() -> np.ndarray:
    """The process-wide value matrix [column, nb201 index] (memory-mapped, read-only; a cache
    that fails its integrity check is rebuilt with a notice)."""
    from harness.benchmarks import cache_integrity

    verified_file()
    d = cache_integrity.open_verified(_cache_dir(), kind=_KIND, sources=_SOURCES, rebuild=_build)
    values = np.load(d / "values.npy", mmap_mode="r")
    cols = json.loads((d / "columns.json").read_text())
    if values.shape != (len(COLUMNS), nb201.N_CELLS) or cols != [c for c, *_ in COLUMNS]:
        raise DataError(f"{d}: the cache does not hold the expected columns; delete it")
    return values


@functools.cache
def _naslib_index() -> dict[tuple[int, ...], int]:
    """NASLib op tuple -> NB201 index for all 15,625 cells (scalar lookups)."""
    out = {}
    for idx in range(nb201.N_CELLS):
        out[nb201.to_naslib(nb201.arch_of_index(idx))] = idx
    return out


def key_of_naslib(op_indices: object) -> int:
    """NB201 index of an analog-nasbench / NASLib op tuple; an error names what is wrong."""
    if type(op_indices) is tuple:
        hit = _naslib_index().get(op_indices)
        if hit is not None:
            return hit
    try:
        t = tuple(int(x) for x in op_indices)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        raise InvalidArchitecture(
            f"an AnalogNAS-Bench cell is 6 op indices in 0..4, got {op_indices!r}"
        ) from None
    if len(t) != nb201.N_EDGES or any(not 0 <= x < nb201.N_OPS for x in t):
        raise InvalidArchitecture(
            f"{op_indices!r} is outside the AnalogNAS-Bench space: 6 op indices in 0..4 (NASLib "
            "order: 0 skip_connect, 1 none, 2 nor_conv_3x3, 3 nor_conv_1x1, 4 avg_pool_3x3; edges "
            "(0,1),(0,2),(0,3),(1,2),(1,3),(2,3))"
        )
    return nb201.index_of(nb201.from_naslib(t))


class AnalogNASBenchmark(Benchmark):
    """AnalogNAS-Bench: the 15,625 NB201 cells on CIFAR-10 under analog in-memory computing."""

    name = "analognas"
    aliases = ("analog-nasbench", "analognas-bench")
    description = (
        "AnalogNAS-Bench: 15,625 NB201 cells, CIFAR-10 accuracy under analog in-memory computing "
        "(baseline, PTQ, QAT, noisy, HWT, drift 1 min..30 days); TEST split only"
    )
    datasets = DATASETS
    space = "nb201"
    compatible_spaces = ("nb201-study-genome",)
    fidelities = ()
    fidelity_meaning = "none: one 200-epoch training per cell (QAT and HWT fine-tune it)"
    continues_training = False
    seed_policy = "none"  # one training per cell
    #: the reported number IS test-split accuracy, but not held out: the search signal is the
    #: same column (there is no validation split); every label says so
    has_test = True
    no_validation_split = True

    query_note = (
        "CIFAR-10 TEST-split accuracy in %, the benchmark's only split (no validation); "
        "*_spread: the published ± of the drift values"
    )

    def parse(self, text: str) -> Hashable:
        """An NB201 arch string or index, or an analog-nasbench op tuple such as
        ``(0, 0, 0, 4, 3, 2)`` (NASLib numbering)."""
        s = text.strip()
        if s.startswith("(") and s.endswith(")"):
            parts = [x.strip() for x in s[1:-1].split(",") if x.strip()]
            try:
                return key_of_naslib(tuple(int(x) for x in parts))
            except ValueError:
                return key_of_naslib(parts)  # raises, naming the tuple
        return nb201.index_of(nb201.parse(s))

    @functools.cache  # noqa: B019 - benchmarks are process-wide singletons
    def metrics(self, dataset: str) -> list[Metric]:
        self.dataset(dataset)
        return [
            Metric(c, "info", "min", "%", None, desc)
            if part == "uncertainty"
            else Metric(c, "signal", "max", "%", None, desc)
            for c, _, part, desc in COLUMNS
        ]

    def _row(self, dataset: str, metric: str) -> int:
        self.metric(dataset, metric)
        return [c for c, *_ in COLUMNS].index(metric)

    def key_of(self, cell: Hashable) -> Hashable:
        return nb201.index_of(cell)  # type: ignore[arg-type]

    def cell_of(self, key: Hashable) -> Hashable:
        return nb201.arch_of_index(int(key))  # type: ignore[call-overload]

    def keys(self, dataset: str) -> Sequence[Hashable]:
        self.dataset(dataset)
        return range(nb201.N_CELLS)

    def values(self, dataset: str, metric: str, keys: Sequence[Hashable]) -> np.ndarray:
        i = self._row(dataset, metric)
        try:
            idx = np.asarray(keys, dtype=np.int64).reshape(-1)
        except (TypeError, ValueError):
            raise NotInBenchmark(f"AnalogNAS-Bench keys are NB201 indices, got {keys!r}") from None
        if idx.size and (idx.min() < 0 or idx.max() >= nb201.N_CELLS):
            bad = idx[(idx < 0) | (idx >= nb201.N_CELLS)][0]
            raise NotInBenchmark(f"NB201 index {int(bad)} is outside 0..{nb201.N_CELLS - 1}")
        return np.asarray(load()[i], dtype=np.float64)[idx]

    def column(self, dataset: str, metric: str) -> np.ndarray:
        return np.asarray(load()[self._row(dataset, metric)], dtype=np.float64)

    def value(self, dataset: str, metric: str, key: Hashable) -> float:
        """One value (the scalar path: no array conversions)."""
        i = self._rows.get((dataset, metric))
        if i is None:
            i = self._rows[(dataset, metric)] = self._row(dataset, metric)
        if isinstance(key, bool) or not isinstance(key, int | np.integer):
            raise NotInBenchmark(f"AnalogNAS-Bench keys are NB201 indices, got {key!r}")
        if not 0 <= key < nb201.N_CELLS:
            raise NotInBenchmark(f"NB201 index {key} is outside 0..{nb201.N_CELLS - 1}")
        return float(load()[i, key])

    @functools.cached_property
    def _rows(self) -> dict[tuple[str, str], int]:
        return {}

    def report_label(self, dataset: str) -> str:
        m = self.metric(dataset, self.report_metric(dataset))
        return f"{m.name}: {m.description} (searched and reported on the same test numbers)"

    def provenance(self) -> Provenance:
        return Provenance(
            source=f"PyPI {PACKAGE} 0.1.3 (IBM/analog-nas, analognasbench/), data.anb",
            licence="not declared (the wheel has no licence metadata): local use; check "
            "IBM/analog-nas before redistributing",
            citation=CITATION,
            files={"analognasbench/data.anb": SHA256},
            notes="CIFAR-10 test split only; no validation split; one training per cell",
        )

    def network(self, cell: Hashable, dataset: str, **kwargs: Any) -> Any:
        from harness.models import build_network

        return build_network("nb201", cell, **kwargs)
