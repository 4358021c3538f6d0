"""Figures of multi-objective runs, in the style of :mod:`analysis.plots` (Okabe-Ito, PDF+PNG).

- :func:`plot_fronts`: accuracy vs cost (or vs a second accuracy), one panel per setting: every
  cell of the space (grey),
  the true Pareto front (black staircase) and each strategy's median attainment surface (with
  the interquartile band between the 25 % and 75 % surfaces);
- :func:`plot_anytime_regret`: hypervolume regret against evaluations, mean with bootstrap CI;
- the critical-difference diagram is :func:`analysis.plots.plot_cd_diagram` on final HV.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from analysis.pareto import ObjectiveBox
from analysis.plots import Style, _width, paper_style, strategy_styles


def _boundary(front: np.ndarray, box: ObjectiveBox) -> tuple[np.ndarray, np.ndarray, str]:
    """A front's attainment boundary in raw (x = objective 1, y = objective 0) coordinates.

    Returns x ascending, y, and the matplotlib step mode: a minimised x attains from each
    point rightwards ("post"), a maximised x leftwards ("pre"). The boundary is extended to the
    reference point so that every surface spans the same range.
    """
    if not len(front):
        return np.empty(0), np.empty(0), "post"
    f = front[np.argsort(front[:, 1])]
    x, y = f[:, 1], f[:, 0]
    if box.directions[1] == "min":
        return (
            np.concatenate([[x[0]], x, [box.reference[1]]]),
            np.concatenate([[box.reference[0]], y, [y[-1]]]),
            "post",
        )
    return (
        np.concatenate([[box.reference[1]], x, [x[-1]]]),
        np.concatenate([[y[0]], y, [box.reference[0]]]),
        "pre",
    )


def _step_eval(x: np.ndarray, y: np.ndarray, where: str, grid: np.ndarray) -> np.ndarray:
    """Values of a step function (x ascending, matplotlib ``where``) on ``grid``."""
    if not len(x):
        return np.full(len(grid), np.nan)
    if where == "post":
        i = np.searchsorted(x, grid, side="right") - 1
        return np.where(i >= 0, y[np.clip(i, 0, len(y) - 1)], np.nan)
    i = np.searchsorted(x, grid, side="left")
    return np.where(i < len(y), y[np.clip(i, 0, len(y) - 1)], np.nan)


def _panels(n: int, ncols: int, width: str | float, row_height: float) -> tuple[Figure, Any]:
    """A grid of ``n`` panels, ``ncols`` wide (the figures of this module share one layout)."""
    nrows = -(-n // ncols)
    return plt.subplots(
        nrows,
        min(ncols, n),
        figsize=(_width(width), row_height * nrows + 0.4),
        squeeze=False,
        layout="constrained",
    )


def _close_panels(fig: Figure, axes: Any, n: int, legend_cols: int) -> None:
    """Hide the unused panels and put one legend under the grid."""
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    handles, names = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncol=min(len(names), legend_cols))


def plot_fronts(
    panels: Sequence[Mapping[str, Any]],
    *,
    styles: Mapping[str, Style] | None = None,
    ncols: int = 3,
    width: str | float = "two",
    y_floor: float | None = 80.0,
) -> Figure:
    """One panel per setting. Each panel mapping holds ``title``, ``box``, ``cells`` (raw
    [n, 2] points: accuracy, cost), ``true_front`` and ``surfaces``: strategy -> {25, 50, 75:
    points}. The accuracy axis starts at ``y_floor`` (the fronts live above it)."""
    labels = sorted({s for p in panels for s in p["surfaces"]})
    styles = styles or strategy_styles(labels)
    n = len(panels)
    with paper_style():
        fig, axes = _panels(n, ncols, width, 2.1)
        for ax, p in zip(axes.flat, panels, strict=False):
            box: ObjectiveBox = p["box"]
            cells = np.asarray(p["cells"], dtype=float)
            ax.scatter(
                cells[:, 1], cells[:, 0], s=1, c="#BBBBBB", lw=0, rasterized=True, label="cells"
            )
            tx, ty, tw = _boundary(np.asarray(p["true_front"]), box)
            ax.step(tx, ty, where=tw, color="black", lw=1.0, label="true front")
            for lab in labels:
                surf = p["surfaces"].get(lab)
                if not surf:
                    continue
                st = styles[lab]
                mx, my, mw = _boundary(surf[50.0], box)
                ax.step(mx, my, where=mw, color=st.color, ls=st.linestyle, lw=1.0, label=lab)
                lx, ly, _ = _boundary(surf[25.0], box)
                hx, hy, _ = _boundary(surf[75.0], box)
                grid = np.union1d(lx, hx)
                lo = _step_eval(hx, hy, mw, grid)
                hi = _step_eval(lx, ly, mw, grid)
                ax.fill_between(grid, lo, hi, step=mw, color=st.color, alpha=0.12, lw=0)
            if box.directions[1] == "min":
                x_hi = float(np.nanquantile(cells[:, 1], 0.995))
                ax.set_xlim(box.ideal[1] - 0.02 * (x_hi - box.ideal[1]), x_hi)
            else:
                x_lo = float(np.nanquantile(cells[:, 1], 0.5))
                ax.set_xlim(x_lo, box.ideal[1] + 0.02 * (box.ideal[1] - x_lo))
            if y_floor is not None:
                ax.set_ylim(y_floor, box.ideal[0] + 0.5)
            ax.set_title(p["title"])
            ax.set_xlabel(p.get("xlabel", box.metrics[1]))
            ax.set_ylabel(p.get("ylabel", box.metrics[0]))
        _close_panels(fig, axes, n, 4)
    return fig


def plot_anytime_regret(
    table: pd.DataFrame,
    *,
    styles: Mapping[str, Style] | None = None,
    ncols: int = 3,
    width: str | float = "two",
    ylabel: str = "hypervolume regret",
) -> Figure:
    """Mean HV regret (bootstrap CI band) vs charged evaluations, one panel per setting.

    ``table``: :func:`analysis.pareto.anytime_table` output on the regret (columns setting,
    strategy_label, evals, mean, lo, hi). Log y axis: regrets shrink by orders of magnitude.
    """
    settings = list(dict.fromkeys(table["setting"]))
    labels = sorted(set(table["strategy_label"]))
    styles = styles or strategy_styles(labels)
    n = len(settings)
    with paper_style():
        fig, axes = _panels(n, ncols, width, 1.9)
        for ax, s in zip(axes.flat, settings, strict=False):
            g = table[table["setting"] == s]
            for lab in labels:
                h = g[g["strategy_label"] == lab].sort_values("evals")
                if h.empty:
                    continue
                st = styles[lab]
                ax.plot(h["evals"], h["mean"], color=st.color, ls=st.linestyle, label=lab)
                ax.fill_between(h["evals"], h["lo"], h["hi"], color=st.color, alpha=0.15, lw=0)
            ax.set_yscale("log")
            ax.set_title(str(s))
            ax.set_xlabel("charged evaluations")
            ax.set_ylabel(ylabel)
        _close_panels(fig, axes, n, 5)
    return fig
