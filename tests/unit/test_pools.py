"""The pool draw as a pure function: seeded, distinct, never a fixed question, pools that
share questions leave each other enough, and the exam order is kept."""

from __future__ import annotations

from shared.services.pools import draw


def pool(position, candidates, count, points=None):
    return {"pool": {"position": position, "tag": "t", "count": count, "points": points,
                     "candidates": candidates}}  # fmt: skip


def test_the_same_seed_draws_the_same_questions_and_another_seed_usually_not():
    entries = [pool(1, [f"q{i}" for i in range(30)], 5)]
    assert draw(entries, 42) == draw(entries, 42)
    assert len({tuple(draw(entries, seed).order) for seed in range(20)}) > 1


def test_draws_are_distinct_and_skip_the_fixed_questions():
    entries = [{"question_id": "q0"}, pool(2, ["q0", "q1", "q2", "q3"], 3)]
    for seed in range(50):
        result = draw(entries, seed)
        assert result.order[0] == "q0" and sorted(result.order[1:]) == ["q1", "q2", "q3"]
        assert set(result.drawn) == {"q1", "q2", "q3"}
        assert all(d == {"entry": 2, "points": None} for d in result.drawn.values())


def test_overlapping_pools_both_get_their_count_in_exam_order():
    wide = pool(1, ["a1", "a2", "a3", "b1", "b2"], 3, points="2.00")
    narrow = pool(2, ["b1", "b2"], 2)  # drawn first: it has fewer candidates
    for seed in range(50):
        result = draw([wide, narrow], seed)
        assert len(set(result.order)) == 5
        assert sorted(result.order[:3]) == ["a1", "a2", "a3"]
        assert sorted(result.order[3:]) == ["b1", "b2"]
        assert result.drawn["a1"]["points"] == "2.00" and result.drawn["b1"]["entry"] == 2


def test_a_short_pool_gives_what_there_is_and_an_exam_without_pools_has_no_seed():
    assert draw([pool(1, ["q1"], 3)], 7).order == ["q1"]
    plain = draw([{"question_id": "q1"}, {"question_id": "q2"}], 7)
    assert (plain.order, plain.drawn, plain.seed) == (["q1", "q2"], {}, None)
