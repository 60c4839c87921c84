"""Per-key token buckets, on a fake clock."""

from __future__ import annotations

import pytest

from metalgraph.server.rate_limit import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_a_burst_is_allowed_then_refused_with_the_time_to_wait(clock: FakeClock) -> None:
    limiter = RateLimiter(rate_per_s=2, burst=5, clock=clock)
    assert [limiter.take("a") for _ in range(5)] == [None] * 5
    assert limiter.take("a") == pytest.approx(0.5)
    assert limiter.take("a", cost=3) == pytest.approx(1.5)


def test_a_refused_take_spends_nothing_and_waiting_the_retry_after_suffices(clock: FakeClock) -> None:
    limiter = RateLimiter(rate_per_s=7, burst=2, clock=clock)
    limiter.take("a")
    limiter.take("a")
    wait = limiter.take("a")
    assert wait == pytest.approx(1 / 7)
    assert limiter.take("a") == pytest.approx(1 / 7)
    assert wait is not None
    clock.advance(wait)  # refills 0.99999999999977 tokens: rounding must not refuse it
    assert limiter.take("a") is None
    assert limiter.take("a") is not None


def test_buckets_refill_over_time_up_to_the_burst(clock: FakeClock) -> None:
    limiter = RateLimiter(rate_per_s=2, burst=5, clock=clock)
    for _ in range(5):
        limiter.take("a")
    clock.advance(1.0)
    assert [limiter.take("a") for _ in range(2)] == [None, None]
    assert limiter.take("a") == pytest.approx(0.5)
    clock.advance(3_600)
    assert [limiter.take("a") for _ in range(5)] == [None] * 5
    assert limiter.take("a") is not None


def test_keys_have_their_own_buckets(clock: FakeClock) -> None:
    limiter = RateLimiter(rate_per_s=1, burst=1, clock=clock)
    assert limiter.take("a") is None
    assert limiter.take("a") is not None
    assert limiter.take("b") is None


def test_the_number_of_keys_is_bounded_least_recently_used_out(clock: FakeClock) -> None:
    limiter = RateLimiter(rate_per_s=1, burst=2, max_keys=3, clock=clock)
    for key in ("a", "b", "c"):
        limiter.take(key, cost=2)
    limiter.take("a")  # refused, but used: "b" is now the least recently used
    limiter.take("d")
    assert len(limiter) == 3
    assert limiter.take("a") is not None  # kept, still empty
    assert limiter.take("c") is not None
    assert limiter.take("b", cost=2) is None  # dropped, so it starts afresh
    for i in range(100):
        limiter.take(f"flood-{i}")
    assert len(limiter) == 3


def test_idle_buckets_are_dropped_once_they_would_be_full(clock: FakeClock) -> None:
    limiter = RateLimiter(rate_per_s=2, burst=4, clock=clock)
    for i in range(50):
        limiter.take(f"k{i}")
    assert len(limiter) == 50
    clock.advance(1.5)  # 4 tokens take 2 s to refill
    limiter.take("late")
    assert len(limiter) == 51
    clock.advance(0.5)
    limiter.take("later")
    assert len(limiter) == 2


def test_fractional_costs_and_zero_cost(clock: FakeClock) -> None:
    limiter = RateLimiter(rate_per_s=1, burst=1, clock=clock)
    assert limiter.take("a", cost=0.5) is None
    assert limiter.take("a", cost=0.5) is None
    assert limiter.take("a", cost=0.25) == pytest.approx(0.25)
    assert limiter.take("a", cost=0) is None


@pytest.mark.parametrize(
    ("rate", "burst", "max_keys"),
    [(0, 1, 1), (-1, 1, 1), (1, 0, 1), (1, 1, 0)],
)
def test_nonsense_settings_are_refused(rate: float, burst: int, max_keys: int) -> None:
    with pytest.raises(ValueError):
        RateLimiter(rate_per_s=rate, burst=burst, max_keys=max_keys)


def test_a_cost_that_could_never_pass_is_refused(clock: FakeClock) -> None:
    limiter = RateLimiter(rate_per_s=1, burst=3, clock=clock)
    with pytest.raises(ValueError, match="burst"):
        limiter.take("a", cost=4)
    with pytest.raises(ValueError):
        limiter.take("a", cost=-1)
