"""The README's sentences about the committed reports are the ones the reports give."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis import readme as R
from analysis import verdicts as V

ROOT = Path(__file__).resolve().parents[1]


def test_readme_generated_blocks_are_up_to_date():
    text = (ROOT / "README.md").read_text()
    blocks = R.generated_blocks(ROOT)
    assert set(blocks) == {"conclusions", "baselines"}
    for name in blocks:
        assert f"<!-- generated: {name} -->" in text
    assert R.render(text, blocks) == text, "README is stale: run `nash dev readme`"


def test_conclusion_lines_count_the_committed_verdicts():
    df = pd.read_csv(ROOT / R.ACCELERATION / "conclusions.csv")
    para = R.conclusions_paragraph(ROOT)
    for c in R.CLAIMS:
        g = df[df["conclusion"] == c]
        kinds = g["supported"].map(V.kind).value_counts()
        line = next(x for x in para.splitlines() if x.startswith(f"- ({c})"))
        top = str(kinds.index[0])
        assert f"**{top}** in {int(kinds.iloc[0])} of {len(g)} setting" in line
        for k in kinds.index[1:]:
            assert f"**{k}** in `" in line


def test_render_replaces_only_the_marked_blocks():
    text = "a\n<!-- generated: x -->\nold\n<!-- end generated -->\nb\n"
    assert (
        R.render(text, {"x": "new\n"})
        == "a\n<!-- generated: x -->\nnew\n<!-- end generated -->\nb\n"
    )
    assert R.render(text, {}) == text


def test_nash_dev_readme_rewrites_a_stale_block(tmp_path):
    import shutil
    import subprocess
    import sys

    for rel in (R.ACCELERATION + "/conclusions.csv", R.BASELINES + "/nb201_published.csv"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, tmp_path / rel)
    shutil.copy(ROOT / R.BASELINES / "nb201_gaps.csv", tmp_path / R.BASELINES / "nb201_gaps.csv")
    good = (ROOT / "README.md").read_text()
    stale = good.replace("**yes** in", "**no** in", 1)
    assert stale != good
    (tmp_path / "README.md").write_text(stale)
    assert R.update_readme(tmp_path) is True
    assert (tmp_path / "README.md").read_text() == good
    assert R.update_readme(tmp_path) is False
    # the verb on the checkout itself: nothing to change when the README is current
    r = subprocess.run(
        [sys.executable, "-m", "harness.cli", "dev", "readme"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0 and "up to date" in r.stdout, r.stderr


def test_no_references_to_files_outside_the_repository_or_to_issue_numbers():
    import re

    # not even in docs/: issue numbers, notes and the shared docs outside the checkout (the
    # data search path ../shared/benchmarks_data is documented behaviour, not a reference)
    anywhere = re.compile(r"issue [0-9]|/work/notes|\.\./shared/docs|shared/docs/")
    # a bare DESIGN.md outside docs/ is not the project's own; docs/DESIGN.md is
    outside_docs = re.compile(r"(?<!docs/)DESIGN\.md")
    hits = []
    for top in ("harness", "analysis", "docs", "README.md"):
        base = ROOT / top
        files = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
        for path in files:
            if path.suffix not in {".py", ".md", ".toml", ".txt"}:
                continue
            in_docs = path.is_relative_to(ROOT / "docs")
            for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                if anywhere.search(line) or (not in_docs and outside_docs.search(line)):
                    hits.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not hits, "\n".join(hits)
