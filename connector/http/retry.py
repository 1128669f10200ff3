"""Retry policy and wait computation.

The wait before the next attempt is, in order of precedence:

1. ``Retry-After`` (delta seconds or an HTTP date), when present;
2. ``X-RateLimit-Reset - now``, when the response is a 429 or says
   ``X-RateLimit-Remaining: 0`` (a 503 carrying the headers of a healthy window does
   not wait for the window to roll);
3. exponential backoff ``initial_wait_s * 2**(attempt-1)`` with full jitter
   (uniform in ``[0, backoff]``).

Every wait is capped by ``max_wait_s`` and by what is left of ``max_elapsed_s``.
The retry loop itself is tenacity's ``AsyncRetrying`` (see ``_retrying.py``).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ._headers import get_header, parse_float, parse_reset, parse_retry_after


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds and backoff shape for retryable failures (429, 5xx, transport, parse)."""

    max_attempts: int = 8
    max_elapsed_s: float = 120.0
    initial_wait_s: float = 0.2
    max_wait_s: float = 30.0
    jitter: bool = True
    # 401s one request may answer with a re-login. A token can expire or be revoked between
    # a re-login and the retry (a short TTL, a slow server, a queue at the rate limiter), so
    # one is too few; a bound keeps a server that refuses every fresh token from looping.
    max_reauths: int = 2

    def backoff(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Exponential backoff after failed attempt number ``attempt`` (1-based)."""
        base = min(self.max_wait_s, self.initial_wait_s * (2 ** max(0, attempt - 1)))
        return base * rng() if self.jitter else base

    def header_wait(
        self, headers: Mapping[str, str] | None, status: int | None, now: float | None = None
    ) -> float | None:
        """Seconds the server asked us to wait, or ``None`` if it did not say."""
        if not headers:
            return None
        now = time.time() if now is None else now
        ra = parse_retry_after(get_header(headers, "Retry-After"), now)
        if ra is not None:
            return ra
        remaining = parse_float(get_header(headers, "X-RateLimit-Remaining"))
        if status == 429 or (remaining is not None and remaining <= 0):
            reset = parse_reset(get_header(headers, "X-RateLimit-Reset"), now)
            if reset is not None:
                return max(0.0, reset - now)
        return None

    def compute_wait(
        self,
        attempt: int,
        *,
        headers: Mapping[str, str] | None = None,
        status: int | None = None,
        elapsed_s: float = 0.0,
        now: float | None = None,
        rng: Callable[[], float] = random.random,
    ) -> float:
        """Seconds to sleep after failed attempt ``attempt``, all caps applied."""
        wait = self.header_wait(headers, status, now)
        if wait is None:
            wait = self.backoff(attempt, rng)
        budget = max(0.0, self.max_elapsed_s - elapsed_s)
        return max(0.0, min(wait, self.max_wait_s, budget))
