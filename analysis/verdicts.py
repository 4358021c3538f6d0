"""The rules that turn numbers into the words of a report: *reproduced*, *differs*, *yes*, *no*.

Every word a reproduction report prints comes from one function here, with its thresholds as
named constants, so that a reader can check what a word promises and a test can check that the
rule says what it should on inputs whose truth is known.

Two families:

- **Published rows** (:func:`published_row`, :func:`published_gap`): our runs against a number a
  paper reports as mean ± std over a known number of runs. The difference and its 95 % CI are
  always reported; the row says *reproduced* when a two one-sided test (TOST) shows the
  difference to be inside a declared equivalence margin, *differs* when the difference is
  significant and not inside the margin, and *inconclusive* otherwise (too few runs to tell).
  Within the published standard deviation is not a test: on NB201 cifar10 that band (0.30) is
  wider than the gap between REA and random search the table exists to show (0.22).
- **Study conclusions** (:func:`decide`, :func:`combine`): *yes* / *no* from a two-sided
  test at :data:`ALPHA`, and *inconclusive* when the run counts cannot produce a p-value below
  :data:`ALPHA` whatever the data (:func:`min_p_mwu` and friends): with 3 against 3 runs a
  two-sided Mann-Whitney test cannot go below p = 0.1, so "no" would only mean "this run cannot
  tell".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as ss

#: two-sided significance level of every test (and of each one-sided half of TOST)
ALPHA = 0.05
#: equivalence margin of a published row, in units of the published standard deviation. 0.2 is
#: a "small" standardised effect (Cohen); on NB201 cifar10 it is 0.06 points, well inside the
#: 0.15-0.22 point gaps between methods that the published table is about.
MARGIN_SD = 0.2
#: equivalence margin of a change in Spearman's rho (conclusion (c)): a change below 0.01
#: reorders almost no pairs of cells, so it cannot be what makes a batch size "help"
RHO_MARGIN = 0.01

REPRODUCED, DIFFERS, INCONCLUSIVE = "reproduced", "differs", "inconclusive"
YES, NO, PARTLY, NA = "yes", "no", "partly", "n/a"


def fmt_p(p: float) -> str:
    """A p-value as reports print it."""
    if not math.isfinite(p):
        return "p = n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


# -- published rows ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowVerdict:
    """Ours minus published, its 95 % CI, the TOST p-value and the word for it."""

    verdict: str  # reproduced / differs / inconclusive
    diff: float
    ci_lo: float
    ci_hi: float
    margin: float
    p_tost: float
    p_diff: float

    def text(self) -> str:
        """The verdict with the size where it matters (what the report's column prints)."""
        if self.verdict == DIFFERS:
            return f"differs by {self.diff:+.2f} [{self.ci_lo:+.2f}, {self.ci_hi:+.2f}]"
        if self.verdict == INCONCLUSIVE and not math.isfinite(self.ci_lo):
            return f"{INCONCLUSIVE} (fewer than 2 runs: no CI)"
        if self.verdict == INCONCLUSIVE:
            return (
                f"inconclusive (95 % CI [{self.ci_lo:+.2f}, {self.ci_hi:+.2f}] is wider than "
                f"the ±{self.margin:.2f} margin)"
            )
        return REPRODUCED


def equivalence(diff: float, se: float, df: float, margin: float) -> RowVerdict:
    """TOST and a two-sided test on a difference with standard error ``se``, ``df`` degrees.

    *reproduced*: both one-sided tests reject at :data:`ALPHA` (the 90 % CI lies inside
    ±``margin``), even when the difference is significant (then it is significant but smaller
    than the margin); *differs*: not shown equivalent and the 95 % CI excludes 0; otherwise
    *inconclusive*.
    """
    if not (math.isfinite(diff) and math.isfinite(se) and se > 0 and df > 0):
        return RowVerdict(INCONCLUSIVE, diff, math.nan, math.nan, margin, math.nan, math.nan)
    t = ss.t(df)
    half = float(t.ppf(1 - ALPHA / 2)) * se
    p_lower = float(t.sf((diff + margin) / se))  # H0: diff <= -margin
    p_upper = float(t.cdf((diff - margin) / se))  # H0: diff >= +margin
    p_tost = max(p_lower, p_upper)
    p_diff = float(2 * t.sf(abs(diff) / se))
    if p_tost < ALPHA:
        word = REPRODUCED
    elif p_diff < ALPHA:
        word = DIFFERS
    else:
        word = INCONCLUSIVE
    return RowVerdict(word, diff, diff - half, diff + half, margin, p_tost, p_diff)


def _welch(v1: float, n1: int, v2: float, n2: int) -> tuple[float, float]:
    """(standard error of a difference of two means, Welch-Satterthwaite degrees of freedom)."""
    a, b = v1 / n1, v2 / n2
    se = math.sqrt(a + b)
    den = (a * a / (n1 - 1) if n1 > 1 else 0.0) + (b * b / (n2 - 1) if n2 > 1 else 0.0)
    return se, ((a + b) ** 2 / den if den > 0 else math.nan)


def _clean(x: Sequence[float] | np.ndarray) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    return a[np.isfinite(a)]


def published_row(
    ours: Sequence[float] | np.ndarray, pub_mean: float, pub_std: float, pub_runs: int
) -> RowVerdict:
    """Our runs against a published mean ± std over ``pub_runs`` runs (Welch, TOST).

    Margin: :data:`MARGIN_SD` published standard deviations.
    """
    x = _clean(ours)
    if x.size < 2:
        return equivalence(math.nan, math.nan, math.nan, MARGIN_SD * pub_std)
    se, df = _welch(float(x.var(ddof=1)), x.size, pub_std**2, pub_runs)
    return equivalence(float(x.mean()) - pub_mean, se, df, MARGIN_SD * pub_std)


@dataclass(frozen=True)
class GapVerdict:
    """Our gap between two methods, the published gap, and the verdict on their difference."""

    ours: float
    ours_lo: float
    ours_hi: float
    published: float
    row: RowVerdict  # on (our gap - published gap)


def published_gap(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    pub_a: tuple[float, float],
    pub_b: tuple[float, float],
    pub_runs: int,
) -> GapVerdict:
    """Gap mean(a) - mean(b) against the published gap, both with their sampling error.

    The verdict applies :func:`equivalence` to (our gap - published gap), whose standard error
    combines our two groups' and the two published groups' (independent runs); the margin is
    :data:`MARGIN_SD` of the two published standard deviations' quadratic mean.
    """
    x, y = _clean(a), _clean(b)
    (ma, sa), (mb, sb) = pub_a, pub_b
    pub_gap = ma - mb
    margin = MARGIN_SD * math.sqrt((sa**2 + sb**2) / 2)
    if x.size < 2 or y.size < 2:
        nan = math.nan
        return GapVerdict(nan, nan, nan, pub_gap, equivalence(nan, nan, nan, margin))
    va, vb = float(x.var(ddof=1)), float(y.var(ddof=1))
    se_ours, df_ours = _welch(va, x.size, vb, y.size)
    gap = float(x.mean() - y.mean())
    half = float(ss.t(df_ours).ppf(1 - ALPHA / 2)) * se_ours
    terms = [(va, x.size), (vb, y.size), (sa**2, pub_runs), (sb**2, pub_runs)]
    se = math.sqrt(sum(v / n for v, n in terms))
    df = se**4 / sum((v / n) ** 2 / (n - 1) for v, n in terms)  # Welch-Satterthwaite
    row = equivalence(gap - pub_gap, se, df, margin)
    return GapVerdict(gap, gap - half, gap + half, pub_gap, row)


# -- conclusions ---------------------------------------------------------------------------------


def min_p_mwu(n1: int, n2: int) -> float:
    """Smallest two-sided p-value an exact Mann-Whitney (or KS) test can give for n1 vs n2 runs.

    Attained when the two samples do not overlap at all: 2 / C(n1 + n2, n1). 3 vs 3: 0.1.
    """
    if n1 < 1 or n2 < 1:
        return 1.0
    return min(1.0, 2.0 / math.comb(n1 + n2, n1))


def min_p_wilcoxon(n_pairs: int) -> float:
    """Smallest two-sided p-value of an exact Wilcoxon signed-rank test on ``n_pairs`` pairs.

    Attained when every difference has the same sign: 2 / 2^n. 4 pairs: 0.125.
    """
    if n_pairs < 1:
        return 1.0
    return min(1.0, 2.0 / 2.0**n_pairs)


def underpowered(min_p: float) -> str:
    """The word for a test these run counts cannot pass."""
    return (
        f"inconclusive (underpowered: the smallest achievable p with these run counts is "
        f"{min_p:.3g})"
    )


def kind(word: str) -> str:
    """The verdict's first word (``inconclusive (...)`` -> ``inconclusive``)."""
    return word.split(" ", 1)[0].rstrip(":,")


def decide(p: float, direction: bool, min_p: float, *, tests: int = 1) -> str:
    """*yes* when ``p`` < :data:`ALPHA` in the claimed ``direction``; *inconclusive* when no data
    could reach significance (``tests`` x ``min_p`` >= :data:`ALPHA`: ``tests`` is the size of a
    Holm family, whose smallest adjusted p is that many times the smallest raw p); else *no*.
    """
    if math.isfinite(p) and p < ALPHA and direction:
        return YES
    floor = min(1.0, tests * min_p)
    if floor >= ALPHA:
        return underpowered(floor)
    return NO


def combine(parts: Sequence[str]) -> str:
    """One verdict from the verdicts of a conclusion's clauses (a conjunction).

    Every clause *yes*: *yes*. No clause *no* but some inconclusive: that clause's
    *inconclusive* (the largest floor). Some *yes* and some *no*: *partly* (the conclusion holds
    in part: the report's statistic names which clause). Otherwise *no*.
    """
    kinds = [kind(p) for p in parts]
    if not parts:
        return NA
    if NO not in kinds:
        inc = [p for p in parts if kind(p) == INCONCLUSIVE]
        return max(inc, key=floor_of) if inc else YES
    return PARTLY if YES in kinds else NO


def floor_of(word: str) -> float:
    """The smallest achievable p named by an *inconclusive (underpowered: ...)* verdict."""
    try:
        return float(word.rsplit(" ", 1)[-1].rstrip(")"))
    except ValueError:
        return math.nan


def best_choice(faster: Sequence[str], worse: Sequence[str], blind_floor: float) -> str:
    """Conclusion (e): is the accelerated method the best choice?

    ``faster``: one :func:`decide` verdict per cost accounting (is it faster?); ``worse``: the
    variants it is significantly worse than; ``blind_floor``: the largest Holm floor among the
    quality comparisons (>= :data:`ALPHA`: "not worse" could not have failed, so it shows
    nothing). *no*: worse than some variant, or faster in no accounting. *inconclusive*: a
    deciding test could not pass with these run counts. *yes*: faster in every accounting and
    not worse. *partly*: faster in some accounting but not all (the verdict depends on how
    repeated queries are charged).
    """
    kinds = [kind(f) for f in faster]
    if worse or (kinds and all(k == NO for k in kinds)):
        return NO
    floors = [floor_of(f) for f in faster if kind(f) == INCONCLUSIVE]
    if blind_floor >= ALPHA:
        floors.append(blind_floor)
    if floors:
        return underpowered(min(1.0, max(floors)))
    return YES if all(k == YES for k in kinds) else PARTLY


def does_not_always_help(
    drops: Sequence[bool], gains: Sequence[bool], flat: Sequence[bool]
) -> str:
    """Conclusion (c), per step up in batch size: a significant drop, a significant gain, or a
    change shown negligible (inside ±:data:`RHO_MARGIN`).

    *yes*: some step drops or is negligible (that step does not help). *no*: every step
    gains. Otherwise *inconclusive*: the CIs cannot tell help from no help.
    """
    if any(drops) or any(flat):
        return YES
    if gains and all(gains):
        return NO
    return f"{INCONCLUSIVE} (no step shown to help, hurt or be within ±{RHO_MARGIN:g})"


# -- orderings -----------------------------------------------------------------------------------

#: words of :func:`ordering_pairs`
AGREES, REVERSED, NOT_SEPARATED = "agrees", "reversed", "not separated"


@dataclass(frozen=True)
class PairOrder:
    """Two methods in their published order (``better`` first) and what our runs say of it."""

    better: str
    worse: str
    #: our mean of ``better`` minus our mean of ``worse`` (higher = better, as accuracy)
    diff: float
    #: Holm-adjusted two-sided Mann-Whitney p over the family of all pairs
    p: float
    word: str


def ordering_pairs(
    ours: dict[str, np.ndarray], published_error: dict[str, float]
) -> list[PairOrder]:
    """Whether our runs order each pair of methods as the publication does.

    ``ours``: per method, a higher-is-better result per run (accuracy); ``published_error``:
    the published lower-is-better number (error). Each pair is tested two-sided (Mann-Whitney)
    with Holm's correction over all pairs: *agrees* / *reversed* when the adjusted p is below
    :data:`ALPHA` in the published / the opposite direction, *not separated* when it is not,
    and *inconclusive* (:func:`underpowered`) when the run counts could not reach significance
    within the family. Why pairs and not only Kendall's tau: a tau over means says nothing of
    whether an inversion is real or noise between methods a few hundredths apart.
    """
    methods = sorted((m for m in published_error if m in ours), key=published_error.__getitem__)
    pairs = [(a, b) for i, a in enumerate(methods) for b in methods[i + 1 :]]
    raw = []
    for a, b in pairs:
        x, y = _clean(ours[a]), _clean(ours[b])
        p = (
            float(ss.mannwhitneyu(x, y, alternative="two-sided").pvalue)
            if x.size and y.size
            else math.nan
        )
        raw.append(p)
    m = len(pairs)
    order = sorted(range(m), key=lambda i: (not math.isfinite(raw[i]), raw[i]))
    adj = [math.nan] * m
    run = 0.0
    for rank, i in enumerate(order):
        if math.isfinite(raw[i]):
            run = max(run, min(1.0, (m - rank) * raw[i]))
            adj[i] = run
    out = []
    for (a, b), p in zip(pairs, adj, strict=True):
        x, y = _clean(ours[a]), _clean(ours[b])
        diff = float(x.mean() - y.mean()) if x.size and y.size else math.nan
        floor = min(1.0, m * min_p_mwu(x.size, y.size))
        if math.isfinite(p) and p < ALPHA:
            word = AGREES if diff > 0 else REVERSED
        elif floor >= ALPHA:
            word = underpowered(floor)
        else:
            word = NOT_SEPARATED
        out.append(PairOrder(a, b, diff, p, word))
    return out
