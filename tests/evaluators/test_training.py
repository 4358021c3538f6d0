"""Real training evaluator: tiny CPU trainings on the shipped MNIST-5k digits.

Every training here is deliberately tiny (a few hundred images, 1-2 epochs, 4-8 channels, one
thread) so the file runs in about a minute on a shared 2-core CPU; the figures that need bigger
trainings are in docs/TRAINING.md, not in tests.
"""

from __future__ import annotations

import math
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from harness.data.datasets import load_dataset, splits_from_arrays
from harness.errors import ConfigError, DataError, InvalidArchitecture, UnknownName
from harness.evaluators import training
from harness.evaluators.training import (
    Recipe,
    TrainingEvaluator,
    TrainingFailed,
    _augment,
    run_in_worker,
)
from harness.records import STATUS_FAILED
from harness.runner.loop import Budget, run_search
from harness.spaces import nb201

BEST = nb201.str_to_arch(
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
)
#: the smallest useful setting: learning barely starts, but every code path runs (~1 s)
TINY: dict[str, Any] = {
    "channels": 4,
    "cells_per_stage": 1,
    "n_train": 128,
    "n_val": 100,
    "n_test": 100,
    "batch_size": 32,
    "epochs": 2,
    "num_threads": 1,
    "device": "cpu",
}


def tiny(tmp_path: Path, **kw: Any) -> TrainingEvaluator:
    params = {**TINY, **kw}
    params.setdefault("cache_dir", tmp_path / "results")
    params.setdefault("checkpoint_dir", tmp_path / "ckpt")
    return TrainingEvaluator("nb201", "mnist-5k", **params)


def weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# -- learning ------------------------------------------------------------------------------------
def test_training_reaches_clearly_above_chance_on_mnist(tmp_path: Path) -> None:
    ev = tiny(tmp_path, channels=8, n_train=500, n_val=300, n_test=300, use_cache=False)
    r = ev.evaluate(BEST, seed=0)
    assert r.ok and r.status == "ok"
    assert r.signal == r.val and r.val > 20.0 and r.reported > 20.0  # chance: 10 %
    assert r.fidelity == 2
    assert r.cost.n_full == 1 and r.cost.train_s > 0 and r.cost.measured_s >= r.cost.train_s
    assert r.extras["images_per_s"] > 0 and r.extras["params"] > 0
    assert ev.records_train_time and not ev.is_proxy and ev.default_fidelity == 2


# -- determinism ---------------------------------------------------------------------------------
def test_same_seed_gives_identical_training_on_cpu(tmp_path: Path) -> None:
    a = tiny(tmp_path / "a", use_cache=False)
    b = tiny(tmp_path / "b", use_cache=False)
    ra, rb = a.evaluate(BEST, seed=3), b.evaluate(BEST, seed=3)
    assert (ra.val, ra.reported) == (rb.val, rb.reported)
    assert ra.extras["train_loss"] == rb.extras["train_loss"]
    assert a.last_outcome is not None and b.last_outcome is not None
    assert a.last_outcome.model is not None and b.last_outcome.model is not None
    assert same_weights(weights(a.last_outcome.model), weights(b.last_outcome.model))
    rc = a.evaluate(BEST, seed=4)  # another seed: other weights, other data order
    assert rc.extras["train_loss"] != ra.extras["train_loss"]


def test_global_rng_and_torch_settings_are_left_alone(tmp_path: Path) -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    threads = torch.get_num_threads()
    tiny(tmp_path, epochs=1, use_cache=False).evaluate(BEST)
    assert torch.equal(torch.rand(3), expected)
    assert torch.get_num_threads() == threads
    assert not torch.are_deterministic_algorithms_enabled()


# -- checkpoints ---------------------------------------------------------------------------------
class Interrupt(Exception):
    """Stands for a kill after epoch 1 (raised from the per-epoch hook)."""


def test_resume_after_interrupt_equals_uninterrupted(tmp_path: Path) -> None:
    full = tiny(tmp_path / "full", use_cache=False)
    r_full = full.evaluate(BEST, seed=1)
    assert full.last_outcome is not None and full.last_outcome.model is not None
    w_full = weights(full.last_outcome.model)

    def kill_after_first(epoch: int, metrics: dict[str, float]) -> None:
        if epoch == 1:
            raise Interrupt

    killed = tiny(tmp_path / "resumed", on_epoch=kill_after_first)
    with pytest.raises(Interrupt):
        killed.evaluate(BEST, seed=1)
    ckpt = killed.checkpoint_path(BEST, 2, seed=1)
    assert ckpt.is_file()
    assert torch.load(ckpt, weights_only=True)["epoch"] == 1
    assert not list((tmp_path / "resumed").rglob("*.tmp"))  # atomic: no torn files left

    resumed = tiny(tmp_path / "resumed")  # a fresh process would do the same
    r_res = resumed.evaluate(BEST, seed=1)
    assert r_res.extras["resumed_from_epoch"] == 1.0
    assert (r_res.val, r_res.reported) == (r_full.val, r_full.reported)
    assert r_res.extras["train_loss"] == r_full.extras["train_loss"]
    assert resumed.last_outcome is not None and resumed.last_outcome.model is not None
    assert same_weights(weights(resumed.last_outcome.model), w_full)
    assert not ckpt.exists()  # finished: the result is cached, the checkpoint removed


def test_foreign_or_torn_checkpoint_is_ignored(tmp_path: Path) -> None:
    ev = tiny(tmp_path, epochs=1, use_cache=False)
    ckpt = ev.checkpoint_path(BEST, 1)
    ckpt.parent.mkdir(parents=True)
    ckpt.write_bytes(b"not a checkpoint")
    r = ev.evaluate(BEST)
    assert r.ok and r.extras["resumed_from_epoch"] == 0.0


# -- failures ------------------------------------------------------------------------------------
def test_nan_loss_is_a_failed_evaluation_and_the_search_goes_on(tmp_path: Path) -> None:
    ev = tiny(tmp_path, lr=1e6)
    r = ev.evaluate(BEST)
    assert r.status == STATUS_FAILED and not r.ok and math.isnan(r.signal)
    assert "non-finite training loss" in r.reason
    assert r.cost.n_full == 1  # the budget was spent
    assert not ev.checkpoint_path(BEST, 2).exists()
    # deterministic on CPU, so the failure is cached: asking again trains nothing
    again = tiny(tmp_path, lr=1e6).evaluate(BEST)
    assert again.status == STATUS_FAILED and again.extras["cached"] == 1.0

    from harness.strategies import create

    strat = create("random_search", ev.space, seed=0)
    res = run_search(strat, tiny(tmp_path, lr=1e6, epochs=1), Budget(evaluations=4))
    status = [t.status for t in res.trials]
    assert len(status) == 4 and STATUS_FAILED in status[:-1]  # failures recorded; it goes on
    failed = [t for t in res.trials if t.status == STATUS_FAILED]
    assert all(math.isnan(t.signal) and t.charged_full == 1 for t in failed)


@pytest.mark.parametrize("exc", [torch.cuda.OutOfMemoryError("CUDA out of memory"), MemoryError()])
def test_out_of_memory_is_a_failed_evaluation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exc: BaseException
) -> None:
    def boom(*args: Any, **kw: Any) -> None:
        raise exc

    monkeypatch.setattr(training, "_train", boom)
    ev = tiny(tmp_path)
    r = ev.evaluate(BEST)
    assert r.status == STATUS_FAILED and "out of memory" in r.reason
    assert not list((tmp_path / "results").glob("*.json"))  # not cached: may fit next time


def test_a_dead_worker_is_reported_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(TrainingFailed) as e:
        run_in_worker(os._exit, 3)  # a child that dies without answering
    assert e.value.kind == "crash" and "exit code 3" in e.value.reason

    def crashed(*args: Any) -> None:
        raise TrainingFailed("crash", "training worker process died (signal SIGKILL)")

    monkeypatch.setattr(training, "run_in_worker", crashed)
    r = tiny(tmp_path, isolate=True).evaluate(BEST)
    assert r.status == STATUS_FAILED and "SIGKILL" in r.reason


# -- the results cache ---------------------------------------------------------------------------
def test_cache_hit_trains_nothing_and_costs_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = tiny(tmp_path, epochs=1)
    r1 = first.evaluate(BEST)
    assert first.n_trained == 1 and r1.extras["cached"] == 0.0
    assert len(list((tmp_path / "results").glob("*.json"))) == 1

    def no_training(*args: Any, **kw: Any) -> None:
        raise AssertionError("a cached training was trained again")

    monkeypatch.setattr(training, "train_cell", no_training)
    free = tiny(tmp_path, epochs=1, charge_cached=False)
    r2 = free.evaluate(BEST)
    assert (r2.val, r2.reported) == (r1.val, r1.reported) and r2.extras["cached"] == 1.0
    assert (r2.cost.n_full, r2.cost.train_s, r2.cost.measured_s) == (0, 0.0, 0.0)
    assert free.n_trained == 0 and free.n_cached == 1
    # default accounting: charged as the training it stands for, but no machine time
    charged = tiny(tmp_path, epochs=1).evaluate(BEST)
    assert charged.cost.n_full == 1 and charged.cost.train_s == r1.cost.train_s
    assert charged.cost.measured_s == 0.0
    # another recipe, fidelity or seed is another training
    monkeypatch.undo()
    assert tiny(tmp_path, epochs=1, lr=0.05).evaluate(BEST).extras["cached"] == 0.0


def test_cache_key_covers_recipe_data_and_network(tmp_path: Path) -> None:
    base = tiny(tmp_path)
    h = base.recipe_hash()
    assert tiny(tmp_path).recipe_hash() == h
    for kw in ({"lr": 0.2}, {"batch_size": 16}, {"n_train": 64}, {"channels": 8},
               {"split_seed": 1}, {"weight_decay": 0.0}):  # fmt: skip
        assert tiny(tmp_path, **kw).recipe_hash() != h, kw
    assert "_e2_s0_" in base.checkpoint_path(BEST, 2).name


# -- the search runs unchanged -------------------------------------------------------------------
def test_strategies_run_on_real_training_from_an_experiment_table(tmp_path: Path) -> None:
    from harness.runner.config import parse_experiment
    from harness.runner.experiment import run_experiment

    eparams = {**TINY, "epochs": 1, "n_train": 64, "channels": 2,
               "cache_dir": str(tmp_path / "results"), "checkpoint_dir": str(tmp_path / "ck")}  # fmt: skip
    raw = {
        "name": "train_tiny",
        "seeds": 1,
        "budget": {"evaluations": 5},
        "benchmark": [
            {
                "name": "nb201",
                "label": "mnist",
                "dataset": "mnist-5k",
                "evaluator": "training",
                "evaluator_params": eparams,
            }
        ],
        "strategy": [
            {"name": "random_search", "label": "rs"},
            {"name": "genetic", "label": "ga", "params": {"population_size": 3}},
            {
                "name": "aging_evolution",
                "label": "rea",
                "params": {"population_size": 3, "sample_size": 2},
            },
            {
                "name": "nas_ea_fa_v2_pan_yao_nb201",
                "label": "nasea",
                "params": {"population_size": 4, "k": 2, "h": 1},
            },
        ],
    }
    exp = parse_experiment(raw)
    root = run_experiment(exp, tmp_path / "runs", workers=1, progress=False)
    import json

    import pandas as pd

    for label in ("rs", "ga", "rea", "nasea"):
        d = root / "mnist" / label / "seed=0"
        manifest = json.loads((d / "run.json").read_text())
        assert manifest["evaluator"]["class"] == "TrainingEvaluator"
        assert manifest["n_evaluations_charged"] == 5
        df = pd.read_parquet(d / "trials.parquet")
        assert (df["status"] == "ok").all() and df["reported"].notna().all()
        assert (df.loc[~df["repeat"], "train_s"] > 0).all()


def test_experiment_table_mistakes_are_config_errors(tmp_path: Path) -> None:
    from harness.runner.config import parse_experiment

    def exp(eparams: dict[str, Any], **bench: Any) -> Any:
        return parse_experiment({
            "name": "x", "seeds": 1, "budget": {"evaluations": 2},
            "benchmark": [{"name": "nb201", "dataset": "mnist-5k", "evaluator": "training",
                           "evaluator_params": eparams, **bench}],
            "strategy": [{"name": "random_search"}],
        })  # fmt: skip

    with pytest.raises(ConfigError, match="did you mean 'batch_size'"):
        exp({"batchsize": 8})
    with pytest.raises(ConfigError, match="disagree"):
        exp({"epochs": 2}, fidelity=3)
    with pytest.raises(UnknownName, match="training data set"):
        exp({"dataset": "mnist"})
    e = exp({"epochs": 1, "channels": 4})
    assert e.benchmarks[0].evaluator == "training"


# -- bad input -----------------------------------------------------------------------------------
def test_missing_cifar_path_names_the_expected_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="data_batch_1"):
        TrainingEvaluator("nb201", "cifar10")  # no path: nothing is downloaded
    with pytest.raises(DataError, match=r"data_batch_1.*test_batch"):
        TrainingEvaluator("nb201", "cifar10", path=tmp_path / "nowhere")
    with pytest.raises(DataError, match=r"train, test"):
        load_dataset("cifar100", path=tmp_path)
    with pytest.raises(DataError, match="val_data"):
        load_dataset("imagenet16-120", path=tmp_path)


def test_unknown_dataset_space_and_device(tmp_path: Path) -> None:
    with pytest.raises(UnknownName, match="did you mean 'cifar10'"):
        TrainingEvaluator("nb201", "cifar")
    with pytest.raises(UnknownName, match="network space"):
        TrainingEvaluator("nb301", "mnist-5k")
    with pytest.raises(ConfigError, match="device"):
        TrainingEvaluator("nb201", "mnist-5k", device="tpu")


def test_architecture_of_another_space_is_refused(tmp_path: Path) -> None:
    from harness.spaces.nb101 import NB101Cell

    cell = NB101Cell.from_spec(
        [[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["input", "conv3x3-bn-relu", "output"]
    )
    with pytest.raises(InvalidArchitecture, match="not a cell of the nb201 space"):
        tiny(tmp_path).evaluate(cell)
    ev101 = TrainingEvaluator("nb101", "mnist-5k", **{**TINY, "channels": 4},
                              cache_dir=tmp_path / "r", checkpoint_dir=tmp_path / "c")  # fmt: skip
    with pytest.raises(InvalidArchitecture, match="not a cell of the nb101 space"):
        ev101.evaluate(BEST)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"lr": 0.0}, "lr must be"),
        ({"lr": float("nan")}, "lr must be"),
        ({"momentum": 1.5}, "momentum"),
        ({"momentum": 0.0}, "nesterov = true needs momentum"),
        ({"batch_size": 0}, "batch_size must be a positive integer"),
        ({"weight_decay": -1e-4}, "weight_decay"),
        ({"label_smoothing": 1.0}, "label_smoothing"),
        ({"schedule": "step"}, "schedule"),
        ({"augment": "mixup"}, "augmentation"),
        ({"weight_decy": 0.1}, "did you mean .weight_decay."),
        ({"epochs": 0}, "epochs"),
        ({"channels": 0}, "channels"),
        ({"n_train": 10_000}, "n_train"),
    ],
)
def test_impossible_recipe_values_are_config_errors(
    tmp_path: Path, kw: dict[str, Any], match: str
) -> None:
    with pytest.raises((ConfigError, UnknownName), match=match):
        ev = tiny(tmp_path, **kw)
        ev.splits  # noqa: B018  (split sizes are checked when the data loads)


def test_fidelity_must_be_positive_epochs(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="fidelity"):
        tiny(tmp_path).evaluate(BEST, fidelity=0)


def test_data_that_does_not_fit_the_networks(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 40)
    grey = rng.integers(0, 255, (40, 1, 32, 32), dtype=np.uint8)
    with pytest.raises(ConfigError, match="3-channel"):
        splits_from_arrays("grey", grey, y, n_val=5, n_test=5)
    odd = rng.integers(0, 255, (40, 3, 30, 30), dtype=np.uint8)
    with pytest.raises(ConfigError, match="divisible by 4"):
        splits_from_arrays("odd", odd, y, n_val=5, n_test=5)
    ok = splits_from_arrays("mine", rng.integers(0, 255, (40, 3, 16, 16), dtype=np.uint8), y,
                            n_val=5, n_test=5)  # fmt: skip
    assert ok.sizes() == {"train": 30, "val": 5, "test": 5} and ok.num_classes == 3
    r = TrainingEvaluator("nb201", ok, **{**TINY, "n_train": None, "n_val": None,
                          "n_test": None, "epochs": 1}, use_cache=False,
                          checkpoint_dir=tmp_path)  # fmt: skip
    assert r.evaluate(BEST).ok  # 16x16 images (ImageNet16-sized) train too


# -- data ----------------------------------------------------------------------------------------
def _write_batch(path: Path, x: np.ndarray, labels: list[int], key: str = "labels") -> None:
    # the official files are Python 2 pickles with bytes keys
    path.write_bytes(pickle.dumps({b"data": x, key.encode(): labels, b"batch_label": b"x"}))


def test_cifar_and_imagenet16_python_batches_are_read(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    c10 = tmp_path / "cifar-10-batches-py"
    c10.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        _write_batch(c10 / name, rng.integers(0, 255, (12, 3072), dtype=np.uint8),
                     list(rng.integers(0, 10, 12)))  # fmt: skip
    s = load_dataset("cifar10", path=tmp_path, n_val=10)  # the parent directory works too
    assert s.sizes() == {"train": 50, "val": 10, "test": 12}
    assert s.train_x.shape[1:] == (3, 32, 32) and s.augment == "crop_flip"
    assert torch.equal(load_dataset("cifar10", path=c10, n_val=10).val_x, s.val_x)

    c100 = tmp_path / "cifar-100-python"
    c100.mkdir()
    for name in ("train", "test"):
        _write_batch(c100 / name, rng.integers(0, 255, (20, 3072), dtype=np.uint8),
                     list(rng.integers(0, 100, 20)), key="fine_labels")  # fmt: skip
    s100 = load_dataset("cifar100", path=c100)
    assert s100.num_classes == 100 and s100.sizes() == {"train": 20, "val": 10, "test": 10}

    im = tmp_path / "ImageNet16"
    im.mkdir()
    for name in [f"train_data_batch_{i}" for i in range(1, 11)] + ["val_data"]:
        labels = list(rng.integers(1, 200, 30))  # 1-based; only 1..120 are kept
        _write_batch(im / name, rng.integers(0, 255, (30, 768), dtype=np.uint8), labels)
    si = load_dataset("imagenet16-120", path=im)
    assert si.num_classes == 120 and si.image_size == 16
    assert int(si.train_y.max()) < 120 and int(si.train_y.min()) >= 0

    bad = tmp_path / "bad" / "cifar-10-batches-py"
    bad.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        _write_batch(bad / name, np.zeros((4, 1024), dtype=np.uint8), [0] * 4)
    with pytest.raises(DataError, match=r"uint8 \[N, 3072\]"):
        load_dataset("cifar10", path=bad)


def test_a_pickle_that_runs_code_is_refused(tmp_path: Path) -> None:
    d = tmp_path / "cifar-10-batches-py"
    d.mkdir()

    class Evil:
        def __reduce__(self) -> tuple[Any, ...]:
            return (os.system, ("true",))

    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (d / name).write_bytes(pickle.dumps({"data": Evil()}))
    with pytest.raises(DataError, match="refusing"):
        load_dataset("cifar10", path=d)


def test_splits_are_fixed_by_seed_and_disjoint() -> None:
    a, b = load_dataset("mnist-5k"), load_dataset("mnist-5k")
    assert torch.equal(a.val_x, b.val_x) and torch.equal(a.train_y, b.train_y)
    assert a.sizes() == {"train": 3000, "val": 1000, "test": 1000}
    c = load_dataset("mnist-5k", split_seed=1)
    assert not torch.equal(a.val_y, c.val_y)

    def rows(x: torch.Tensor) -> set[bytes]:
        return {r.tobytes() for r in x.numpy()}

    tr, va, te = rows(a.train_x), rows(a.val_x), rows(a.test_x)
    assert not (tr & va) and not (tr & te) and not (va & te)
    small = load_dataset("mnist-5k", n_train=100)
    assert torch.equal(small.train_x, a.train_x[:100])  # a prefix of the same order
    assert a.train_x.shape[1:] == (3, 32, 32) and a.train_x.dtype == torch.uint8


def test_sklearn_digits_are_upsampled_to_32x32() -> None:
    s = load_dataset("digits")
    assert s.num_classes == 10 and s.train_x.shape[1:] == (3, 32, 32)
    assert s.sizes() == {"train": 1197, "val": 300, "test": 300}
    img = s.train_x[0, 0]
    assert torch.equal(img[::4, ::4].repeat_interleave(4, 0).repeat_interleave(4, 1), img)


# -- pieces --------------------------------------------------------------------------------------
def test_augmentation_is_seeded_and_keeps_shape() -> None:
    x = torch.randint(0, 255, (8, 3, 32, 32), dtype=torch.uint8)
    a = _augment(x, "crop_flip", 4, torch.Generator().manual_seed(1))
    b = _augment(x, "crop_flip", 4, torch.Generator().manual_seed(1))
    assert a.shape == x.shape and a.dtype == torch.uint8 and torch.equal(a, b)
    assert torch.equal(_augment(x, "crop", 0, torch.Generator()), x)  # no padding: identity
    assert _augment(x, "none", 4, torch.Generator()) is x


def test_cosine_schedule_spans_the_training() -> None:
    r = Recipe()
    assert r.lr_at(0, 100) == pytest.approx(0.1)
    assert r.lr_at(50, 100) == pytest.approx(0.05)
    assert r.lr_at(100, 100) == pytest.approx(0.0, abs=1e-12)
    assert Recipe(schedule="constant").lr_at(99, 100) == 0.1
    assert (r.momentum, r.nesterov, r.weight_decay, r.batch_size, r.label_smoothing) == (
        0.9, True, 5e-4, 256, 0.0)  # fmt: skip


def test_isolated_worker_training_matches_in_process(tmp_path: Path) -> None:
    ev = tiny(tmp_path / "w", epochs=1, isolate=True, use_cache=False)
    r = ev.evaluate(BEST)
    direct = tiny(tmp_path / "d", epochs=1, use_cache=False).evaluate(BEST)
    assert r.ok and (r.val, r.reported) == (direct.val, direct.reported)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_training_with_amp(tmp_path: Path) -> None:
    ev = tiny(tmp_path, device="cuda", channels=8, n_train=500, n_val=300, n_test=300,
              use_cache=False)  # fmt: skip
    r = ev.evaluate(BEST)
    assert r.ok and r.val > 20.0 and ev.device.startswith("cuda")
    assert r.extras["peak_mem_mb"] > 0
