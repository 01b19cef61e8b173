"""Pure statistics of item analysis and answer copying: plain numbers in, numbers out.

Variances are population variances (divided by n, as KR-20's p*q is): one attempt has a
standard deviation of 0, and a reliability of None (undefined).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

# Kelley's 27 %: the share of attempts in each of the upper and lower groups.
GROUP_SHARE = 0.27


def mean(values: Sequence[float]) -> float | None:
    """The arithmetic mean; None for no values."""
    return sum(values) / len(values) if values else None


def median(values: Sequence[float]) -> float | None:
    """The middle value (the mean of the two middle ones for an even count)."""
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def variance(values: Sequence[float]) -> float | None:
    """Population variance (divided by n); None for no values."""
    average = mean(values)
    if average is None:
        return None
    return sum((v - average) ** 2 for v in values) / len(values)


def stdev(values: Sequence[float]) -> float | None:
    """Population standard deviation; None for no values."""
    found = variance(values)
    return None if found is None else math.sqrt(found)


def correlation(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's r; None when either side has no variance or fewer than two pairs."""
    if len(xs) < 2 or len(xs) != len(ys):
        return None
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx <= 1e-12 or syy <= 1e-12:
        return None
    return sxy / math.sqrt(sxx * syy)


def discrimination(fractions: Sequence[float], totals: Sequence[float]) -> float | None:
    """Upper minus lower group's mean fraction of the item's points, the groups being the
    27 % of attempts with the highest and lowest total scores (at least one attempt each;
    ties at a boundary go by the order given). None for fewer than two attempts."""
    count = len(fractions)
    if count < 2:
        return None
    size = max(1, round(GROUP_SHARE * count))
    ranked = sorted(range(count), key=lambda i: totals[i])  # stable: ties keep their order
    lower = [fractions[i] for i in ranked[:size]]
    upper = [fractions[i] for i in ranked[-size:]]
    return sum(upper) / size - sum(lower) / size


def cronbach_alpha(items: Sequence[Sequence[float]]) -> float | None:
    """Cronbach's alpha of a complete matrix (a row per attempt, a column per item): KR-20
    for items scored 0/1. None for fewer than two items or attempts, or when the totals do
    not vary (every attempt scored the same)."""
    if len(items) < 2 or len(items[0]) < 2:
        return None
    k = len(items[0])
    totals = [sum(row) for row in items]
    total_variance = variance(totals) or 0.0
    if total_variance <= 1e-12:
        return None
    item_variance = sum(variance([row[j] for row in items]) or 0.0 for j in range(k))
    return k / (k - 1) * (1 - item_variance / total_variance)


def tail_at_least(probabilities: Sequence[float], observed: int) -> float:
    """P(X >= observed) where X counts successes of independent trials with these chances
    (a Poisson binomial: exact, by dynamic programming over the trials)."""
    if observed <= 0:
        return 1.0
    dist = [1.0]  # dist[k]: chance of k successes so far
    for p in probabilities:
        nxt = [0.0] * (len(dist) + 1)
        for k, chance in enumerate(dist):
            nxt[k] += chance * (1 - p)
            nxt[k + 1] += chance * p
        dist = nxt
    return min(1.0, sum(dist[observed:]))


def rounded(value: float | None, places: int = 4) -> float | None:
    """A statistic as the API shows it: rounded, None kept."""
    return None if value is None else round(value, places)
