"""The shared retry policy: growing, capped and spread out."""

import random

from shared.events.retry import MAX_DELAY_SECONDS, next_try_delay


def test_delays_grow_then_stop_at_the_cap():
    rng = random.Random(7)
    firsts = [next_try_delay(1, rng=rng) for _ in range(50)]
    fifths = [next_try_delay(5, rng=rng) for _ in range(50)]
    late = [next_try_delay(30, rng=rng) for _ in range(50)]
    assert max(firsts) <= 30 < min(fifths)
    assert max(late) <= MAX_DELAY_SECONDS and min(late) >= MAX_DELAY_SECONDS / 2


def test_deliveries_that_failed_together_do_not_retry_together():
    rng = random.Random(1)
    delays = {round(next_try_delay(3, rng=rng), 3) for _ in range(100)}
    assert len(delays) > 90
