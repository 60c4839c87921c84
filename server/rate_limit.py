"""Per-key token buckets: each key may spend `burst` tokens at once, refilled at `rate_per_s`.

`take` never awaits, so under asyncio it runs whole between two awaits of other tasks: no lock is
needed (and none would help threads; this class is for one event loop).

Memory is bounded. A bucket left alone for `burst / rate_per_s` seconds is full again, as good as
none, so it is dropped; and beyond `max_keys` keys the least recently used one is dropped, which gives
that key a fresh burst when it comes back (a flood of distinct keys buys that much leniency, no more).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

_SLACK = 1e-6
"""Float tolerance, in tokens: after waiting exactly the retry-after, a take succeeds."""


@dataclass
class _Bucket:
    tokens: float
    seen: float
    """When the bucket was last touched (clock time)."""


class RateLimiter:
    def __init__(
        self,
        rate_per_s: float,
        burst: int,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate_per_s <= 0:
            raise ValueError("rate_per_s must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        if max_keys < 1:
            raise ValueError("max_keys must be at least 1")
        self.rate = float(rate_per_s)
        self.burst = burst
        self.max_keys = max_keys
        self._clock = clock
        self._idle_s = burst / self.rate
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()  # least recently used first

    def take(self, key: str, cost: float = 1.0) -> float | None:
        """Spend `cost` tokens of `key`'s bucket: None when allowed, else the seconds to wait first.

        A refused take spends nothing. `cost` must lie between 0 and `burst`, or it could never pass.
        """
        if not 0 <= cost <= self.burst:
            raise ValueError(f"cost must be between 0 and the burst ({self.burst}), not {cost}")
        now = self._clock()
        self._evict_idle(now)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._buckets.popitem(last=False)
            bucket = self._buckets[key] = _Bucket(tokens=float(self.burst), seen=now)
        else:
            self._buckets.move_to_end(key)
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.seen) * self.rate)
            bucket.seen = now
        if bucket.tokens + _SLACK >= cost:
            bucket.tokens = max(bucket.tokens - cost, 0.0)
            return None
        return (cost - bucket.tokens) / self.rate

    def __len__(self) -> int:
        """How many keys have a bucket."""
        return len(self._buckets)

    def _evict_idle(self, now: float) -> None:
        # Buckets are in order of last use, so the idle ones are at the front.
        while self._buckets:
            bucket = next(iter(self._buckets.values()))
            if now - bucket.seen < self._idle_s:
                return
            self._buckets.popitem(last=False)
