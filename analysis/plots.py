"""Paper figures: anytime curves, final distributions, critical differences, predictor scatter.

Why one module with one style: figures in a paper must look like one family. Every function
here draws in :func:`paper_style` (8 pt fonts, embedded TrueType fonts in PDF, light grid),
at a paper width (:data:`WIDTHS`: 3.3 in for one column, 6.9 in for two), with the Okabe-Ito
palette (distinguishable with the common colour-vision deficiencies) and one colour, marker and
line style per strategy across every figure of a report (:func:`strategy_styles`). Lines also
differ by style and marker, so figures survive greyscale printing. :func:`save` writes vector
PDF (for LaTeX) and PNG (for Markdown and quick looks).

Every function returns the matplotlib Figure, so tests and notebooks can inspect it.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and CI

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats as ss

from analysis.load import X_AXES, Y_METRICS, ResultsError, RunSet, on_grid

#: Figure widths in inches for one- and two-column layouts (e.g. IEEE, NeurIPS/ICML).
WIDTHS = {"one": 3.3, "two": 6.9}

#: Okabe & Ito (2008) colour-blind-safe palette; yellow last (weak on white).
OKABE_ITO = {
    "black": "#000000",
    "vermillion": "#D55E00",
    "blue": "#0072B2",
    "bluish_green": "#009E73",
    "orange": "#E69F00",
    "reddish_purple": "#CC79A7",
    "sky_blue": "#56B4E9",
    "yellow": "#F0E442",
}

#: Fixed colours of the harness's strategies, so a strategy looks the same in every report.
KNOWN_COLORS = {
    "random_search": OKABE_ITO["black"],
    "aging_evolution": OKABE_ITO["vermillion"],
    "aging_evolution_nb101": OKABE_ITO["vermillion"],
    "genetic": OKABE_ITO["blue"],
    "genetic_study": OKABE_ITO["sky_blue"],
    "local_search": OKABE_ITO["bluish_green"],
    "nas_ea_fa": OKABE_ITO["orange"],
    "neural_predictor": OKABE_ITO["reddish_purple"],
    "zero_cost": OKABE_ITO["yellow"],
}
_MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "<", ">"]
_LINESTYLES = ["-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1))]


@dataclass(frozen=True)
class Style:
    """How one strategy is drawn."""

    color: str
    marker: str
    linestyle: Any


def strategy_styles(labels: Iterable[str]) -> dict[str, Style]:
    """A stable style per strategy label.

    Known strategy names keep their fixed colour; other labels take the unused palette colours
    in sorted label order (so the mapping depends on the set of labels, never on plot order),
    cycling when there are more strategies than colours. Markers and line styles follow the
    sorted order too.
    """
    ordered = sorted(dict.fromkeys(labels))
    used = {KNOWN_COLORS[s] for s in ordered if s in KNOWN_COLORS}
    free = [c for c in OKABE_ITO.values() if c not in used] or list(OKABE_ITO.values())
    out: dict[str, Style] = {}
    j = 0
    for i, s in enumerate(ordered):
        if s in KNOWN_COLORS:
            color = KNOWN_COLORS[s]
        else:
            color = free[j % len(free)]
            j += 1
        out[s] = Style(color, _MARKERS[i % len(_MARKERS)], _LINESTYLES[i % len(_LINESTYLES)])
    return out


@contextlib.contextmanager
def paper_style() -> Iterator[None]:
    """rcParams for print: small fonts, TrueType in PDF (venues reject Type 3), light grid."""
    rc: dict[str, Any] = {
        "font.size": 8,
        "axes.titlesize": 8,
        "axes.labelsize": 8,
        "xtick.labelsize": 7,
        "ytick.labelsize": 7,
        "legend.fontsize": 7,
        "legend.frameon": False,
        "lines.linewidth": 1.2,
        "lines.markersize": 3.5,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "grid.linewidth": 0.5,
        "pdf.fonttype": 42,
        "ps.fonttype": 42,
        "savefig.dpi": 300,
        "figure.dpi": 100,
    }
    with matplotlib.rc_context(cast(Any, rc)):
        yield


def save(fig: Figure, stem: str | Path, formats: Sequence[str] = ("pdf", "png")) -> list[Path]:
    """Write ``stem.pdf`` and ``stem.png`` (tight bounding box) and close the figure."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    # constrained layout already fits everything; a tight bbox would draw the figure twice
    tight = "tight" if fig.get_layout_engine() is None else None
    for fmt in formats:
        p = stem.with_suffix(f".{fmt}")
        fig.savefig(p, bbox_inches=tight, pad_inches=0.02)
        paths.append(p)
    plt.close(fig)
    return paths


def _width(width: str | float) -> float:
    if isinstance(width, str):
        if width not in WIDTHS:
            raise ValueError(f"width must be one of {list(WIDTHS)} or inches, got {width!r}")
        return WIDTHS[width]
    return float(width)


def _panels(n: int, width: str | float, height: float) -> tuple[Figure, list[Any]]:
    w = _width(width)
    ncols = 1 if w < 4 else min(n, 3)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(w, height * nrows), squeeze=False, layout="constrained"
    )
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _ncols(fig: Figure) -> int:
    gs = fig.axes[0].get_gridspec() if fig.axes else None
    return int(gs.ncols) if gs is not None else 1


def _legend(fig: Figure, axes: list[Any]) -> None:
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        wide = fig.get_figwidth() > 4
        # as many columns as fit the figure's width (long labels would be cut off at the edges):
        # a column is its handle and spacing (~38 pt) plus ~0.6 em per character
        size = float(
            matplotlib.rcParams["legend.fontsize"]
            if isinstance(matplotlib.rcParams["legend.fontsize"], int | float)
            else 8
        )
        col_pt = 38 + 0.6 * size * max(len(lab) for lab in labels)
        fit = max(1, int(fig.get_figwidth() * 72 // col_pt))
        fig.legend(
            handles,
            labels,
            loc="outside lower center",
            ncol=min(len(labels), 5 if wide else 2, fit),
            handlelength=2.2,
            columnspacing=1.2,
        )


# -- anytime curves ----------------------------------------------------------------------------
def plot_anytime(
    rs: RunSet,
    *,
    x: str = "cum_evals",
    y: str = "incumbent_reported",
    band: str = "iqr",
    width: str | float = "two",
    height: float = 2.0,
    styles: Mapping[str, Style] | None = None,
    metric_label: str | None = None,
) -> Figure:
    """Incumbent against cost, one panel per setting.

    ``band="iqr"``: median with the interquartile range (robust; the default, since final
    accuracies are skewed near the optimum); ``band="ci"``: mean with a 95% t-interval.
    Regret is drawn on a log axis. The benchmark optimum is a dotted grey line.
    """
    if band not in ("iqr", "ci"):
        raise ValueError(f"band must be 'iqr' or 'ci', got {band!r}")
    styles = styles or strategy_styles(rs.strategies)
    settings = rs.settings
    with paper_style():
        fig, axes = _panels(len(settings), width, height)
        for ax, setting in zip(axes, settings, strict=True):
            runs = rs.runs[rs.runs["setting"] == setting]
            sub = RunSet(runs, rs.trials[rs.trials["run_id"].isin(runs["run_id"])])
            grid, keys, vals = on_grid(sub, x=x, y=y)
            for strat, idx in keys.groupby("strategy_label", sort=False).indices.items():
                v = vals[idx]
                st = styles[str(strat)]
                with np.errstate(all="ignore"), _quiet():
                    if band == "iqr":
                        mid = np.nanmedian(v, axis=0)
                        lo, hi = np.nanquantile(v, [0.25, 0.75], axis=0)
                    else:
                        mid = np.nanmean(v, axis=0)
                        n = np.sum(np.isfinite(v), axis=0)
                        sem = np.nanstd(v, axis=0, ddof=1) / np.sqrt(n)
                        half = ss.t.ppf(0.975, np.maximum(n - 1, 1)) * sem
                        lo, hi = mid - half, mid + half
                ax.plot(
                    grid,
                    mid,
                    color=st.color,
                    linestyle=st.linestyle,
                    marker=st.marker,
                    markevery=max(1, len(grid) // 6),
                    label=f"{strat} (n={len(idx)})" if len(axes) == 1 else strat,
                )
                ax.fill_between(grid, lo, hi, color=st.color, alpha=0.15, linewidth=0)
            opt = float(runs["optimum"].iloc[0])
            if y == "incumbent_reported" and math.isfinite(opt):
                ax.axhline(opt, color="0.5", linestyle=":", linewidth=0.8, label="optimum")
            if y == "regret" and np.nanmax(vals, initial=0.0) > 0:
                ax.set_yscale("log")
                ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            ax.set_title(setting)
            ax.set_xlabel(X_AXES[x])
            if y == "incumbent_reported":
                _clip_low(ax, vals)
        what = "median, IQR" if band == "iqr" else "mean, 95% CI"
        ylab = metric_label or Y_METRICS[y]
        for i, ax in enumerate(axes):
            if i % _ncols(fig) == 0:
                ax.set_ylabel(f"{ylab}\n({what})")
        _legend(fig, axes)
    return fig


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _clip_low(ax: Any, vals: np.ndarray) -> None:
    """Start the y axis at the 10th percentile of the early values: the first random cells
    (often near 10 %) would otherwise squash the part of the curve a reader cares about."""
    finite = vals[np.isfinite(vals)]
    if finite.size:
        lo = np.nanquantile(vals[:, max(0, vals.shape[1] // 10)], 0.1)
        top = ax.get_ylim()[1]
        if np.isfinite(lo) and lo < top:
            ax.set_ylim(bottom=lo)


# -- final distributions -----------------------------------------------------------------------
def plot_final_distributions(
    finals: pd.DataFrame,
    *,
    value: str = "final_reported",
    kind: str = "box",
    width: str | float = "two",
    height: float = 2.2,
    styles: Mapping[str, Style] | None = None,
    value_label: str | None = None,
    seed: int = 0,
) -> Figure:
    """Final-metric distributions per strategy, one panel per setting.

    ``kind``: ``"box"`` (box plot with every run as a jittered point: shows n and ties at the
    optimum), ``"violin"`` (with median and quartile ticks) or ``"ecdf"`` (empirical CDF, the
    view that answers "same distribution or not" next to the KS test).
    """
    if kind not in ("box", "violin", "ecdf"):
        raise ValueError(f"kind must be 'box', 'violin' or 'ecdf', got {kind!r}")
    if value not in finals.columns:
        raise ResultsError(f"unknown metric {value!r}; available: {', '.join(finals.columns)}")
    styles = styles or strategy_styles(finals["strategy_label"])
    settings = list(dict.fromkeys(finals["setting"]))
    rng = np.random.default_rng(seed)
    label = value_label or value.replace("_", " ")
    with paper_style():
        fig, axes = _panels(len(settings), width, height)
        for ax, setting in zip(axes, settings, strict=True):
            g = finals[finals["setting"] == setting]
            strats = list(dict.fromkeys(g["strategy_label"]))
            data = [g.loc[g["strategy_label"] == s, value].dropna().to_numpy() for s in strats]
            if kind == "ecdf":
                for s, d in zip(strats, data, strict=True):
                    st = styles[s]
                    xs = np.sort(d)
                    ax.step(
                        xs,
                        np.arange(1, xs.size + 1) / xs.size,
                        where="post",
                        color=st.color,
                        linestyle=st.linestyle,
                        label=s,
                    )
                ax.set_xlabel(label)
                ax.set_ylabel("fraction of runs")
            else:
                pos = np.arange(len(strats))
                if kind == "box":
                    bp = ax.boxplot(
                        data,
                        positions=pos,
                        widths=0.55,
                        showfliers=False,
                        patch_artist=True,
                        medianprops={"color": "black", "linewidth": 1.0},
                    )
                    for patch, s in zip(bp["boxes"], strats, strict=True):
                        patch.set_facecolor(styles[s].color)
                        patch.set_alpha(0.35)
                    for i, (s, d) in enumerate(zip(strats, data, strict=True)):
                        jitter = rng.uniform(-0.18, 0.18, d.size)
                        ax.scatter(
                            i + jitter,
                            d,
                            s=4,
                            color=styles[s].color,
                            alpha=0.6,
                            linewidths=0,
                        )
                else:
                    vp = ax.violinplot(
                        data, positions=pos, showmedians=True, quantiles=[[0.25, 0.75]] * len(data)
                    )
                    for body, s in zip(vp["bodies"], strats, strict=True):
                        body.set_facecolor(styles[s].color)
                        body.set_edgecolor(styles[s].color)
                        body.set_alpha(0.45)
                    for part in ("cmedians", "cmins", "cmaxes", "cbars", "cquantiles"):
                        if part in vp:
                            vp[part].set_color("0.2")
                            vp[part].set_linewidth(0.8)
                ax.set_xticks(pos, strats, rotation=20, ha="right")
                ax.set_ylabel(label)
                ax.grid(axis="x", visible=False)
            ax.set_title(setting)
        if kind == "ecdf":
            _legend(fig, axes)
    return fig


# -- critical difference -----------------------------------------------------------------------
def plot_cd_diagram(
    ranks: pd.Series,
    sig_matrix: pd.DataFrame,
    *,
    cd: float | None = None,
    title: str = "",
    width: str | float = "one",
    styles: Mapping[str, Style] | None = None,
) -> Figure:
    """Critical-difference diagram (scikit-posthocs): average ranks, Nemenyi cliques as bars."""
    import scikit_posthocs as sp

    styles = styles or strategy_styles(ranks.index)
    colors = {s: styles[s].color for s in ranks.index}
    with paper_style():
        fig, ax = plt.subplots(figsize=(_width(width), 0.6 + 0.18 * len(ranks)))
        sig = sig_matrix.fillna(1.0)
        sp.critical_difference_diagram(
            ranks.to_dict(),
            sig,
            ax=ax,
            color_palette=colors,
            label_fmt_left="{label} ({rank:.2f})",
            label_fmt_right="({rank:.2f}) {label}",
        )
        ax.grid(False)
        t = title
        if cd is not None and math.isfinite(cd):
            t = f"{title}  (Nemenyi CD = {cd:.2f})" if title else f"Nemenyi CD = {cd:.2f}"
        ax.set_title(t, fontsize=8, pad=16)  # the rank axis sits on top
    return fig


# -- predictors and proxies --------------------------------------------------------------------
def plot_predicted_vs_true(
    y_true: Sequence[float] | np.ndarray,
    y_pred: Sequence[float] | np.ndarray,
    *,
    label: str = "surrogate",
    unit: str = "accuracy [%]",
    width: str | float = "one",
    color: str = OKABE_ITO["blue"],
) -> Figure:
    """Predicted against true values with the identity line and Kendall's tau (scipy).

    Kendall's tau is the figure of merit for a surrogate that only ranks candidates.
    """
    yt = np.asarray(y_true, dtype=float)
    yp = np.asarray(y_pred, dtype=float)
    if yt.shape != yp.shape:
        raise ValueError(f"y_true and y_pred differ in shape: {yt.shape} vs {yp.shape}")
    ok = np.isfinite(yt) & np.isfinite(yp)
    tau = ss.kendalltau(yt[ok], yp[ok])
    rho = ss.spearmanr(yt[ok], yp[ok])
    w = _width(width)
    with paper_style():
        fig, ax = plt.subplots(figsize=(w, w * 0.9), layout="constrained")
        ax.scatter(yt[ok], yp[ok], s=5, alpha=0.5, color=color, linewidths=0)
        lo = float(min(yt[ok].min(), yp[ok].min()))
        hi = float(max(yt[ok].max(), yp[ok].max()))
        ax.plot([lo, hi], [lo, hi], color="0.4", linestyle="--", linewidth=0.8)
        ax.set_xlabel(f"true {unit}")
        ax.set_ylabel(f"predicted {unit}")
        ax.set_title(
            f"{label}: Kendall τ = {tau.statistic:.3f}, Spearman ρ = {rho.statistic:.3f} "
            f"(n = {int(ok.sum())})"
        )
    return fig


def plot_zc_hexbin(
    score: Sequence[float] | np.ndarray,
    acc: Sequence[float] | np.ndarray,
    *,
    score_label: str = "zero-cost score",
    acc_label: str = "accuracy [%]",
    title: str = "",
    width: str | float = "one",
    gridsize: int = 45,
) -> Figure:
    """Zero-cost score against accuracy as a log-count hexbin, with Spearman and Kendall.

    A hexbin, not a scatter: thousands of cells overplot. Colour map cividis (colour-blind
    safe, monotone in lightness).
    """
    s = np.asarray(score, dtype=float)
    a = np.asarray(acc, dtype=float)
    if s.shape != a.shape:
        raise ValueError(f"score and acc differ in shape: {s.shape} vs {a.shape}")
    ok = np.isfinite(s) & np.isfinite(a)
    rho = ss.spearmanr(s[ok], a[ok]).statistic
    tau = ss.kendalltau(s[ok], a[ok]).statistic
    # sentinel scores (e.g. -1e8 for a cell the proxy failed on) would squash the axis: they
    # stay in the rank correlations (ranks are robust to them) but are left off the plot
    q1, med, q3 = np.quantile(s[ok], [0.25, 0.5, 0.75])
    shown = ok & (np.abs(s - med) <= 20 * max(q3 - q1, 1e-12))
    n_off = int(ok.sum() - shown.sum())
    w = _width(width)
    with paper_style():
        fig, ax = plt.subplots(figsize=(w, w * 0.85), layout="constrained")
        hb = ax.hexbin(s[shown], a[shown], gridsize=gridsize, bins="log", cmap="cividis", mincnt=1)
        fig.colorbar(hb, ax=ax, label="cells (log)")
        ax.set_xlabel(score_label + (f" ({n_off} outlier(s) off axis)" if n_off else ""))
        ax.set_ylabel(acc_label)
        ax.grid(False)
        head = f"{title}\n" if title else ""
        ax.set_title(f"{head}Spearman ρ = {rho:.3f}, Kendall τ = {tau:.3f} (n = {int(ok.sum())})")
    return fig


def zc_hexbin(
    benchmark: str = "nb201",
    dataset: str = "cifar10",
    proxy: str = "zc_nwot",
    metric: str = "val_acc@200",
) -> Figure:
    """A benchmark's shipped zero-cost column against an accuracy column, over all its cells.

    Cells whose accuracy is at chance level (~10 % on cifar10; e.g. disconnected cells) are
    kept: they are part of the space a proxy must rank.
    """
    from harness.benchmarks import get_benchmark

    bench = get_benchmark(benchmark)
    note = "" if dataset == "cifar10" else " (scores on CIFAR-10 images)"
    return plot_zc_hexbin(
        bench.column(dataset, proxy),
        bench.column(dataset, metric),
        score_label=f"{proxy}{note}",
        acc_label=f"{dataset} {metric} [%]",
        title=f"{bench.name} {dataset}",
    )


def nb201_zc_hexbin(
    dataset: str = "cifar10", proxy: str = "zc_nwot", metric: str = "val_acc@200"
) -> Figure:
    """The NB201 demonstration of :func:`zc_hexbin`."""
    return zc_hexbin("nb201", dataset, proxy, metric)
