"""Pareto fronts, hypervolume, IGD+, attainment surfaces and anytime hypervolume of MO runs.

Why normalised indicators: objectives come in different units (accuracy in %, latency in ms),
so every indicator here is computed after mapping each objective linearly to [0, 1], 0 at the
ideal point (the best value in the whole benchmark) and 1 at the declared reference point (worse
than every cell, see :mod:`harness.evaluators.objectives`), all minimised. A hypervolume is then
the fraction of the objective box a front dominates, comparable across devices, and the true
front's hypervolume is the best any run can reach: hypervolume *regret* is the gap to it.

Nothing a reviewer must trust is hand-rolled: hypervolume and IGD+ are pymoo's indicators,
non-dominance and empirical attainment functions are moocore's (the library pymoo itself uses),
bootstrap intervals and tests come from :mod:`analysis.stats`.

Points are given in raw metric units with one direction (``"max"`` / ``"min"``) per column.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.load import ResultsError


def _as_points(points: Any, k: int) -> np.ndarray:
    f = np.asarray(points, dtype=np.float64)
    if f.size == 0:
        return np.empty((0, k))
    if f.ndim != 2 or f.shape[1] != k:
        raise ResultsError(f"points must be an [n, {k}] array, got shape {f.shape}")
    return f[np.isfinite(f).all(axis=1)]


def to_min(points: Any, directions: Sequence[str]) -> np.ndarray:
    """Points with maximised columns negated (every objective minimised)."""
    f = _as_points(points, len(directions))
    signs = np.array([-1.0 if d == "max" else 1.0 for d in directions])
    return f * signs


def nondominated(points: Any, directions: Sequence[str]) -> np.ndarray:
    """Boolean mask of the non-dominated rows (duplicates: the first is kept); NaN rows False."""
    import moocore

    f = np.asarray(points, dtype=np.float64)
    mask = np.zeros(len(f), dtype=bool)
    ok = np.isfinite(f).all(axis=1) if f.size else np.zeros(0, bool)
    if ok.any():
        mask[np.flatnonzero(ok)] = moocore.is_nondominated(
            to_min(f[ok], directions), keep_weakly=False
        )
    return mask


def pareto_front(points: Any, directions: Sequence[str]) -> np.ndarray:
    """The non-dominated points (raw units), sorted by the first objective, duplicates once."""
    f = np.asarray(points, dtype=np.float64)
    front = f[nondominated(f, directions)] if f.size else np.empty((0, len(directions)))
    return front[np.lexsort(front.T[::-1])] if len(front) else front


@dataclass(frozen=True)
class ObjectiveBox:
    """Directions, ideal point and reference point (raw units) of one objective set."""

    metrics: tuple[str, ...]
    directions: tuple[str, ...]
    ideal: tuple[float, ...]
    reference: tuple[float, ...]

    def __post_init__(self) -> None:
        k = len(self.directions)
        if not (len(self.metrics) == len(self.ideal) == len(self.reference) == k):
            raise ResultsError(
                "an objective box needs one metric, direction, ideal, reference each"
            )
        for m, d, i, r in zip(
            self.metrics, self.directions, self.ideal, self.reference, strict=True
        ):
            if not (i > r if d == "max" else i < r):
                raise ResultsError(
                    f"reference point {r} of {m!r} ({d}) is not worse than the ideal {i}"
                )

    @classmethod
    def from_manifest(cls, objectives: Mapping[str, Any]) -> ObjectiveBox:
        """From the ``evaluator.objectives`` block a run manifest records."""
        objs = objectives["objectives"]
        return cls(
            tuple(o["metric"] for o in objs),
            tuple(o["direction"] for o in objs),
            tuple(float(x) for x in objectives["ideal"]),
            tuple(float(x) for x in objectives["reference_point"]),
        )

    def normalise(self, points: Any) -> np.ndarray:
        """[0, 1] per objective, minimised: 0 at the ideal, 1 at the reference point."""
        f = _as_points(points, len(self.directions))
        lo, hi = np.array(self.ideal), np.array(self.reference)
        return (f - lo) / (hi - lo)

    def denormalise(self, z: Any) -> np.ndarray:
        lo, hi = np.array(self.ideal), np.array(self.reference)
        return lo + np.asarray(z, dtype=np.float64) * (hi - lo)


def hypervolume(points: Any, box: ObjectiveBox) -> float:
    """Normalised hypervolume (pymoo ``HV``) of ``points`` w.r.t. the box's reference point.

    In [0, 1]: the fraction of the box between ideal and reference that the points dominate.
    Points outside the box (worse than the reference in some objective) contribute nothing.
    """
    from pymoo.indicators.hv import HV

    z = box.normalise(points)
    z = z[(z < 1).all(axis=1)] if len(z) else z
    if len(z) == 0:
        return 0.0
    return float(HV(ref_point=np.ones(z.shape[1]))(z))


def igd_plus(points: Any, reference_front: Any, box: ObjectiveBox) -> float:
    """IGD+ (pymoo ``IGDPlus``) of ``points`` to ``reference_front``, in normalised units.

    0 when every reference point is weakly dominated; NaN without points.
    """
    from pymoo.indicators.igd_plus import IGDPlus

    z = box.normalise(points)
    if len(z) == 0:
        return math.nan
    return float(IGDPlus(box.normalise(reference_front))(z))


def attainment_surfaces(
    fronts: Sequence[Any], box: ObjectiveBox, percentiles: Sequence[float] = (25, 50, 75)
) -> dict[float, np.ndarray]:
    """Empirical attainment surfaces over runs (moocore ``eaf``), raw units, per percentile.

    The p % surface bounds the region attained by at least p % of the runs: 50 is the median
    attainment surface, 25 / 75 the quartile ones (25: attained by a quarter of the runs, the
    optimistic one). Each surface is returned as its points sorted by the first objective.
    """
    import moocore

    sets = [to_min(f, box.directions) for f in fronts]
    if not sets or any(len(s) == 0 for s in sets):
        raise ResultsError(
            f"{sum(len(s) == 0 for s in sets)} of {len(sets)} runs have no valid point; "
            "attainment surfaces need at least one run and a point from every run"
        )
    out: dict[float, np.ndarray] = {}
    data = np.vstack(sets)
    ids = np.concatenate([np.full(len(s), i + 1) for i, s in enumerate(sets)])
    # moocore: percentile p = attained by at least p % of the *given* sets
    eaf = moocore.eaf(data, sets=ids, percentiles=[float(p) for p in percentiles])
    signs = np.array([-1.0 if d == "max" else 1.0 for d in box.directions])
    for p in percentiles:
        pts = eaf[np.isclose(eaf[:, -1], float(p)), :-1] * signs
        out[float(p)] = pts[np.lexsort(pts.T[::-1])] if len(pts) else pts
    return out


def anytime_hypervolume(points: Any, box: ObjectiveBox, checkpoints: Sequence[int]) -> np.ndarray:
    """Hypervolume of the first ``t`` points of a run (rows in evaluation order) for each t."""
    f = np.asarray(points, dtype=np.float64)
    out = np.empty(len(checkpoints))
    for i, t in enumerate(checkpoints):
        head = f[: int(t)]
        out[i] = hypervolume(pareto_front(head, box.directions), box) if len(head) else 0.0
    return out


# -- run tables ------------------------------------------------------------------------------
def run_indicators(
    points: Any, box: ObjectiveBox, true_front: Any, true_hv: float
) -> dict[str, float]:
    """Final indicators of one run's evaluated points: HV, HV regret, IGD+, front size."""
    front = pareto_front(points, box.directions)
    hv = hypervolume(front, box)
    return {
        "hv": hv,
        "hv_regret": true_hv - hv,
        "hv_ratio": hv / true_hv if true_hv > 0 else math.nan,
        "igd_plus": igd_plus(front, true_front, box),
        "front_size": float(len(front)),
        "true_found": float(_n_found(front, np.asarray(true_front, dtype=np.float64))),
    }


def _n_found(front: np.ndarray, true_front: np.ndarray) -> int:
    """How many true-front points the run evaluated."""
    if not len(front) or not len(true_front):
        return 0
    have = {tuple(np.round(p, 9)) for p in front}
    return sum(tuple(np.round(p, 9)) in have for p in true_front)


def anytime_table(
    curves: pd.DataFrame,
    *,
    by: Sequence[str] = ("setting", "strategy_label"),
    value: str = "hv",
    n_resamples: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Mean anytime hypervolume with a seeded bootstrap CI per (setting, strategy, budget).

    ``curves``: one row per (run, checkpoint) with columns ``by``, ``evals`` and ``value``.
    """
    from analysis.stats import bootstrap_ci

    rows = []
    for key, g in curves.groupby([*by, "evals"], sort=True):
        x = g[value].to_numpy(dtype=float)
        lo, hi = bootstrap_ci(x, n_resamples=n_resamples, seed=seed, method="percentile")
        rows.append(
            dict(zip([*by, "evals"], key, strict=True))
            | {
                "mean": float(np.mean(x)),
                "lo": lo,
                "hi": hi,
                "median": float(np.median(x)),
                "n": len(x),
            }
        )
    return pd.DataFrame(rows)
