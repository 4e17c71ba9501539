"""The runtime API's endpoints' pieces (runtime/app.py): the rate limit."""

import pytest

from cronium.runtime.app import RateLimitedError, RateLimiter


def test_the_rate_limit_counts_per_execution_per_minute() -> None:
    limiter = RateLimiter(per_minute=3)
    for _ in range(3):
        limiter.check(1, now=60.0)
    limiter.check(2, now=61.0)
    with pytest.raises(RateLimitedError, match="more than 3 runtime API calls"):
        limiter.check(1, now=62.0)
    limiter.check(1, now=121.0)  # a new minute
