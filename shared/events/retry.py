"""The retry policy of everything delivered out of the process (webhooks, LTI grade passback)."""

from __future__ import annotations

import random
from datetime import timedelta

# A receiver may be down for a night: keep trying for a day, then give up and say so.
GIVE_UP_AFTER = timedelta(hours=24)
FIRST_DELAY_SECONDS = 30.0
MAX_DELAY_SECONDS = 3600.0

_jitter = random.SystemRandom()


def next_try_delay(tries: int, *, rng: random.Random = _jitter) -> float:
    """Seconds to wait after the `tries`-th failed try: exponential, capped, full jitter.

    Full jitter (uniform between half and all of the exponential step) keeps a thousand
    deliveries that failed together from retrying together.
    """
    step = min(MAX_DELAY_SECONDS, FIRST_DELAY_SECONDS * 2 ** max(0, tries - 1))
    return rng.uniform(step / 2, step)
