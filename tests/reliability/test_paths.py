"""Nothing outside the results root is ever written or removed.

Before: benchmark and strategy labels went straight into run paths, so ``../../x`` wrote outside
``--out``, ``"/some/dir"`` replaced a pre-existing directory there, ``""`` wrote at the root of
the file system, and ``b`` / ``b/c`` collided (4 runs configured, 3 written, exit 0).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import ConfigError, NashError
from harness.runner import fsafe
from harness.runner.config import parse_experiment
from harness.runner.experiment import run_experiment

BAD_LABELS = ["../../../../x", "/some/dir", "", ".hidden", "b/c", "a\\b", "a b", "x\x00y", "é"]


@pytest.mark.parametrize("label", BAD_LABELS, ids=repr)
@pytest.mark.parametrize("kind", ["benchmark", "strategy"])
def test_unsafe_labels_are_refused(tiny, kind, label):
    cfg = tiny()
    cfg[kind][0]["label"] = label
    with pytest.raises(ConfigError, match="label"):
        parse_experiment(cfg)


def test_a_label_with_a_separator_cannot_escape_even_through_the_cli(
    nash, one_line_error, tiny_toml, tmp_path
):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("precious")
    text = tiny_toml.read_text().replace('label = "rs"', f'label = "{victim}"')
    tiny_toml.write_text(text)
    out = tmp_path / "out"
    one_line_error(nash("run", tiny_toml, "--out", out, "--no-progress"), "label")
    assert (victim / "keep.txt").read_text() == "precious"
    assert list(victim.iterdir()) == [victim / "keep.txt"]
    assert not out.exists()


@pytest.mark.parametrize(
    ("labels", "kind"),
    [(["rs", "RS"], "strategy"), (["Bench", "bench"], "benchmark")],
)
def test_labels_must_differ_ignoring_case(tiny, labels, kind):
    cfg = tiny()
    base = cfg[kind][0]
    cfg[kind] = [{**base, "label": lab} for lab in labels]
    with pytest.raises(ConfigError, match="ignoring case"):
        parse_experiment(cfg)


def test_distinct_labels_give_every_configured_run(tiny, tmp_path):
    cfg = tiny(
        strategy=[
            {"name": "random_search", "label": "rs"},
            {"name": "random_search", "label": "c-rs", "params": {"dedup": True}},
        ]
    )
    root = run_experiment(parse_experiment(cfg), tmp_path, workers=1, progress=False)
    assert len(list(root.rglob("run.json"))) == 4


def test_writes_and_removals_are_confined_to_the_root(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "f").write_text("x")
    with pytest.raises(NashError, match="outside the results directory"):
        fsafe.write_dir_atomic(root, root / ".." / "outside", {"a": b"1"})
    with pytest.raises(NashError, match="outside"):
        fsafe.remove_tree(root, outside)
    # a link inside the root that points outside is not followed
    (root / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(NashError):
        fsafe.write_dir_atomic(root, root / "link", {"a": b"1"})
    with pytest.raises(NashError):
        fsafe.write_dir_atomic(root, root / "link" / "seed=0", {"a": b"1"})
    with pytest.raises(NashError, match="link"):
        fsafe.remove_tree(root, root / "link")
    assert sorted(p.name for p in outside.iterdir()) == ["f"]


def test_a_run_path_that_is_a_file_is_refused_not_replaced(tiny, tmp_path):
    exp = parse_experiment(tiny(seeds=1))
    stray = tmp_path / "tiny" / "nb201-cifar10" / "rs" / "seed=0"
    stray.parent.mkdir(parents=True)
    stray.write_text("a user's file")
    with pytest.raises(NashError, match="not a run directory"):
        run_experiment(exp, tmp_path, workers=1, progress=False)
    assert stray.read_text() == "a user's file"


def test_out_pointing_at_a_file_is_one_line(nash, one_line_error, tiny_toml, tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    one_line_error(
        nash("run", tiny_toml, "--out", f, "--no-progress"), "is a file, not a directory"
    )
    assert f.read_text() == "x"


def test_manifests_record_the_trials_digest(tiny, tmp_path):
    root = run_experiment(parse_experiment(tiny(seeds=1)), tmp_path, workers=1, progress=False)
    (mf,) = root.rglob("run.json")
    m = json.loads(mf.read_text())
    tp = Path(mf.parent / "trials.parquet")
    assert m["trials_bytes"] == tp.stat().st_size and len(m["trials_sha256"]) == 64


def test_disk_full_while_writing_keeps_earlier_runs_and_leaves_nothing_half_written(
    tiny, tmp_path, monkeypatch
):
    exp = parse_experiment(tiny(seeds=3))
    real_fsync = fsafe.os.fsync
    calls = {"n": 0}

    def fsync(fd: int) -> None:  # the disk fills up while the second run is written
        calls["n"] += 1
        if calls["n"] > 2:
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(fsafe.os, "fsync", fsync)
    with pytest.raises(NashError, match=r"No space left on device.*kept"):
        run_experiment(exp, tmp_path, workers=1, progress=False)
    root = tmp_path / "tiny"
    assert len(list(root.glob("*/*/seed=*/run.json"))) == 1
    assert not list(root.rglob(".seed=*"))  # no temporary directory left behind
    monkeypatch.setattr(fsafe.os, "fsync", real_fsync)
    run_experiment(exp, tmp_path, workers=1, progress=False)  # space freed: resume
    assert len(list(root.glob("*/*/seed=*/run.json"))) == 3
