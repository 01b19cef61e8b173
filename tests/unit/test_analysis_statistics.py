"""The pure pieces of item analysis and answer copying, against closed forms and brute force."""

from __future__ import annotations

import math
import random
import uuid
from itertools import combinations

import pytest

from shared.analysis import copying
from shared.analysis import statistics as st


def test_the_poisson_binomial_tail_matches_the_binomial_when_chances_are_equal():
    n, p = 10, 1 / 3
    for x in range(n + 1):
        binomial = sum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(x, n + 1))
        assert st.tail_at_least([p] * n, x) == pytest.approx(binomial, rel=1e-12)
    # Unequal chances, by hand: P(X >= 2) for 0.5, 0.2 = 0.1; P(X >= 1) = 1 - 0.5 * 0.8 = 0.6.
    assert st.tail_at_least([0.5, 0.2], 2) == pytest.approx(0.1)
    assert st.tail_at_least([0.5, 0.2], 1) == pytest.approx(0.6)
    assert st.tail_at_least([0.5, 0.2], 0) == 1.0


def test_kr20_is_alpha_on_zero_one_items():
    # Three items, four students: p = .75, .5, .25; KR-20 = k/(k-1) (1 - sum pq / var).
    rows = [[1, 1, 1], [1, 1, 0], [1, 0, 0], [0, 0, 0]]
    totals = [3, 2, 1, 0]  # population variance 1.25
    kr20 = 3 / 2 * (1 - (0.75 * 0.25 + 0.25 + 0.25 * 0.75) / 1.25)
    assert st.variance(totals) == 1.25
    assert st.cronbach_alpha(rows) == pytest.approx(kr20) == pytest.approx(0.75)
    assert st.cronbach_alpha([[1, 1], [1, 1]]) is None  # no variance
    assert st.cronbach_alpha([[1, 0]]) is None  # one attempt


def test_discrimination_uses_27_percent_groups():
    # 10 attempts: groups of round(2.7) = 3. Upper three all right, lower three all wrong.
    totals = list(range(10))
    fractions = [0, 0, 0, 1, 0, 1, 0, 1, 1, 1]
    assert st.discrimination(fractions, totals) == 1.0
    assert st.discrimination([1], [5]) is None


def test_the_prefix_filter_finds_every_pair_brute_force_finds():
    rng = random.Random(7)
    questions = [str(uuid.uuid4()) for _ in range(25)]
    wrong = {}
    for _ in range(60):
        wrong[str(uuid.uuid4())] = {
            q: rng.choice("BCD") for q in questions if rng.random() < 0.5
        }  # fmt: skip
    for needed in (3, 6, 9):
        brute = {
            tuple(sorted((a, b)))
            for a, b in combinations(wrong, 2)
            if sum(1 for q, ans in wrong[a].items() if wrong[b].get(q) == ans) >= needed
        }
        found = {tuple(sorted(pair)) for pair in copying._candidates(wrong, needed)}
        assert brute <= found


def test_no_pair_is_examined_when_no_count_could_be_significant():
    # Two equally popular wrong answers (chance 1/2 each): 10,000 attempts compare about
    # 5e7 pairs, so p <= 0.01 / 5e7 = 2e-10 needs 0.5^x <= 2e-10: x >= 33 (0.5^32 = 2.3e-10).
    assert copying._fewest_identical([0.5, 0.6], 0.01 / 5e7) == 33
    assert 0.5**32 > 0.01 / 5e7 >= 0.5**33
    assert copying._fewest_identical([1.0], 0.01) > 10**6  # one wrong answer: no evidence
