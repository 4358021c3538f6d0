"""The README's sentences about the committed reports, written from those reports.

The README says what the committed reproduction reports conclude. Hand-written, those sentences
drift as soon as a report is regenerated; so the paragraphs between the markers
``<!-- generated: NAME -->`` and ``<!-- end generated -->`` are produced here from the committed
CSV tables (``nash dev readme`` rewrites them, and a test fails when they are stale).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from analysis import verdicts as V

#: what each of the reference study's conclusions claims, in the README's words
CLAIMS = {
    "a": "NAS-EA-FA V2 narrows the search space",
    "b": "the NASWOT score guides the search to good cells but cannot tell them apart",
    "c": "a larger NASWOT batch does not always help",
    "d": "the GA and NAS-EA-FA V2 answers come from different distributions",
    "e": "NAS-EA-FA V2 with validation fitness is the best choice for accelerating the search",
}
_BLOCK = re.compile(
    r"(<!-- generated: (?P<name>[a-z_]+) -->\n)(?P<body>.*?)(<!-- end generated -->)", re.S
)


def _setting(s: str) -> str:
    return s.removeprefix("acc_")


ACCELERATION = "reports/acceleration-full"
BASELINES = "reports/baselines"


def conclusions_paragraph(root: Path, rel: str = ACCELERATION) -> str:
    """One line per conclusion: how many settings say each verdict, naming the exceptions."""
    df = pd.read_csv(root / rel / "conclusions.csv")
    lines = [
        f"What the committed full run says about the study's conclusions "
        f"([{rel}/]({rel}/report.md); every verdict is a "
        "test with its statistic in the report; `inconclusive` means these run counts cannot "
        "reach p < 0.05):",
        "",
    ]
    for c, claim in CLAIMS.items():
        g = df[df["conclusion"] == c]
        if g.empty:
            lines.append(f"- ({c}) {claim}: not tested.")
            continue
        kinds = g["supported"].map(V.kind)
        counts = kinds.value_counts()
        major = str(counts.index[0])
        noun = "setting" if len(g) == 1 else "settings"
        parts = [f"**{major}** in {int(counts.iloc[0])} of {len(g)} {noun}"]
        for k in counts.index[1:]:
            names = ", ".join(f"`{_setting(s)}`" for s in g.loc[kinds == k, "setting"])
            parts.append(f"**{k}** in {names}")
        lines.append(f"- ({c}) {claim}: {'; '.join(parts)}.")
    return "\n".join(lines) + "\n"


def baselines_paragraph(root: Path, rel: str = BASELINES) -> str:
    """The NB201 rows and gaps by verdict, with the size of every difference."""
    rows = pd.read_csv(root / rel / "nb201_published.csv")
    gaps = pd.read_csv(root / rel / "nb201_gaps.csv")
    runs = sorted(set(rows["runs"].astype(int)))
    n_runs = "/".join(str(r) for r in runs)

    def by_kind(df: pd.DataFrame, label: str) -> list[str]:
        out = []
        kinds = df["verdict"].map(V.kind)
        for k in (V.REPRODUCED, V.DIFFERS, V.INCONCLUSIVE):
            sel = df[kinds == k]
            if sel.empty:
                continue
            items = [
                f"{label_of(r)} {r['ours - published [95 % CI]']}"
                if k != V.REPRODUCED
                else label_of(r)
                for _, r in sel.iterrows()
            ]
            out.append(f"**{k}** {len(sel)} of {len(df)} {label} ({'; '.join(items)})")
        return out

    def label_of(r: pd.Series) -> str:
        if "method" in r:
            naswot = str(r.get("source", "")).startswith("NASWOT")
            name = f"NASWOT {r['method']}" if naswot else r["method"]
        else:
            name = r["gap"]
        return f"{name} {r['dataset']}"

    lines = [
        f"`nash reproduce baselines` ({n_runs} runs per NB201 row; report committed in "
        f"[{rel}/]({rel}/report.md)) compares with the NB201 "
        "paper's Table 5 (REA, RS, REINFORCE, BOHB; 12-epoch search signal) and the NASWOT paper "
        "(N = 10 / 100 / 1000). A row is *reproduced* only when an equivalence test (TOST) puts "
        f"our mean within {V.MARGIN_SD:g} published standard deviations of the published one; "
        "differences are ours minus published with their 95 % CI:",
        "",
        *[f"- {x}." for x in by_kind(rows, "rows")],
        "- The gaps the tables are about, ours minus published gap: "
        + "; ".join(by_kind(gaps, "gaps"))
        + ".",
        "",
    ]
    return "\n".join(lines)


def generated_blocks(root: Path) -> dict[str, str]:
    """Marker name -> the block's text, from the committed reports under ``root``."""
    out = {}
    if (root / ACCELERATION / "conclusions.csv").is_file():
        out["conclusions"] = conclusions_paragraph(root)
    if (root / BASELINES / "nb201_gaps.csv").is_file():
        out["baselines"] = baselines_paragraph(root)
    return out


def render(readme: str, blocks: dict[str, str]) -> str:
    """``readme`` with every generated block replaced (blocks not in ``blocks`` kept)."""

    def sub(m: re.Match[str]) -> str:
        body = blocks.get(m["name"], m["body"])
        return f"{m.group(1)}{body}{m.group(4)}"

    return _BLOCK.sub(sub, readme)


def update_readme(root: Path) -> bool:
    """Rewrite the README's generated blocks from the committed reports; True if it changed."""
    path = root / "README.md"
    old = path.read_text()
    new = render(old, generated_blocks(root))
    if new != old:
        path.write_text(new)
    return new != old
