"""Client-side rate limiter that adapts to ``X-RateLimit-*`` headers.

Algorithm
---------
Three mechanisms, checked in this order by every ``acquire()``:

1. **Pause.** ``pause_until(t)`` (called by the client after a 429) blocks every caller
   until ``t``; waiters then queue again through the pacer, so they do not all fire at
   ``t`` at once.
2. **Window budget guard.** Servers like IBM count requests in fixed windows and report
   ``X-RateLimit-Limit`` (L), ``X-RateLimit-Remaining`` (R) and ``X-RateLimit-Reset``
   (Unix seconds, possibly fractional; a value below 1e9 is read as a delta). When a
   response arrives, the requests still in flight may or may not have been counted by
   the server yet, so the budget we may still spend in this window is estimated as
   ``available = R - in_flight_others``; every later ``acquire`` spends one. Within one
   window the estimate only ratchets down (responses arrive out of order); a later
   ``Reset`` starts a new window and replaces it. When ``available < 1`` callers wait
   until the reset (plus ``margin_s``). After the reset passes the budget is unknown
   until the next response (only the pacer applies).
3. **Pacer (GCRA token bucket).** Requests are spaced ``interval`` apart, allowing
   ``burst`` back-to-back. ``interval`` is the larger of ``1/rate`` (the configured cap)
   and ``W / (safety * L)``, the sustainable rate derived from the headers, where ``W``
   is the window length: the smallest observed jump between successive ``Reset``
   values, never below the largest observed ``Reset - now`` (a lower bound of ``W``,
   used alone until a window boundary has been seen; the guard covers the excess).
   Each caller reserves its slot synchronously (no await between read and update), so
   concurrent callers get distinct, evenly spaced slots.

In-flight accounting: ``acquire`` counts a request as in flight; ``observe`` (response
received) or ``release`` (no response) ends it. The clock is Unix time by default
(``Reset`` is Unix time); clock skew with the server is not corrected.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

from ._headers import get_header, parse_float, parse_reset

_EPS = 1e-3


class RequestLimiter(Protocol):
    """What ``AsyncHttpClient`` asks of a limiter: a :class:`RateLimiter`, or one
    endpoint family's view of a host's budgets (``connector.http.budgets``)."""

    async def acquire(self) -> float: ...
    def release(self) -> None: ...
    def observe(self, headers: Mapping[str, str] | None) -> None: ...
    def pause_for(self, seconds: float) -> None: ...


class RateLimiter:
    """Async token bucket shared by all concurrent requests of one client (or vendor).

    ``rate``: max requests per second (``None``: no fixed cap, only what headers teach).
    ``burst``: requests allowed back-to-back. ``safety``: fraction of the server's
    advertised rate to aim for. ``clock``/``sleep`` are injectable for tests.
    """

    def __init__(
        self,
        rate: float | None = None,
        burst: int = 1,
        *,
        safety: float = 0.95,
        margin_s: float = 0.005,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive or None")
        self.rate = rate
        self.burst = max(1, int(burst))
        self.safety = safety
        self.margin_s = margin_s
        self._clock = clock
        self._sleep = sleep
        self._tat = 0.0  # theoretical arrival time of the next request (GCRA)
        self._paused_until = 0.0
        self._in_flight = 0
        self._limit: float | None = None
        self._reset: float | None = None  # end of the current server window (Unix s)
        self._last_reset: float | None = None
        self._available: float | None = None  # budget we may still spend in the window
        self._window_lb = 0.0
        self._window_min_delta: float | None = None

    # -- introspection -------------------------------------------------------------
    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def window_s(self) -> float | None:
        """Best estimate of the server's window length, if any."""
        if self._window_min_delta is not None:
            return max(self._window_min_delta, self._window_lb)
        return self._window_lb or None

    @property
    def interval(self) -> float:
        """Seconds between requests the pacer currently enforces (0 = unpaced)."""
        iv = 1.0 / self.rate if self.rate else 0.0
        w = self.window_s
        if self._limit and w:
            iv = max(iv, w / (self._limit * self.safety))
        return iv

    @property
    def effective_rate(self) -> float | None:
        iv = self.interval
        return 1.0 / iv if iv > 0 else None

    # -- control -------------------------------------------------------------------
    def pause_until(self, t: float) -> None:
        """Block every caller until clock time ``t`` (e.g. after a 429)."""
        if t > self._paused_until:
            self._paused_until = t
        if t > self._tat:
            self._tat = t

    def pause_for(self, seconds: float) -> None:
        """``pause_until(now + seconds)``."""
        self.pause_until(self._clock() + max(0.0, seconds))

    def _blocked_for(self, now: float) -> float:
        """Seconds the caller must wait before it may even queue (0 = may proceed)."""
        if now < self._paused_until:
            return self._paused_until - now
        if self._reset is not None:
            if now >= self._reset:
                self._reset = None  # window over: budget unknown until the next response
                self._available = None
            elif self._available is not None and self._available < 1:
                return self._reset - now + self.margin_s
        return 0.0

    async def acquire(self) -> float:
        """Wait for permission to send one request; returns the seconds waited."""
        waited = 0.0
        while True:
            now = self._clock()
            d = self._blocked_for(now)
            if d > 0:
                await self._sleep(d)
                waited += d
                continue
            iv = self.interval
            if iv > 0:
                tat = self._tat if self._tat > now else now
                slot = tat - (self.burst - 1) * iv
                self._tat = tat + iv
                if slot > now:
                    d = slot - now
                    await self._sleep(d)
                    waited += d
                    now = self._clock()
                    if self._blocked_for(now) > 0:
                        continue  # paused or out of budget meanwhile: queue again
            self._start()
            return waited

    def try_acquire(self) -> bool:
        """Take permission to send one request if it needs no wait; False otherwise."""
        now = self._clock()
        if self._blocked_for(now) > 0:
            return False
        iv = self.interval
        if iv > 0:
            tat = self._tat if self._tat > now else now
            if tat - (self.burst - 1) * iv > now:
                return False
            self._tat = tat + iv
        self._start()
        return True

    def _start(self) -> None:
        self._in_flight += 1
        if self._available is not None:
            self._available -= 1

    def release(self) -> None:
        """End an acquired request that got no response (transport error)."""
        if self._in_flight > 0:
            self._in_flight -= 1

    def observe(self, headers: Mapping[str, str] | None, now: float | None = None) -> None:
        """End an acquired request and learn from its response's rate-limit headers."""
        self.release()
        self.learn(headers, now)

    def learn(self, headers: Mapping[str, str] | None, now: float | None = None) -> None:
        """Learn from a response's rate-limit headers (no request ends: see ``observe``)."""
        if not headers:
            return
        limit = parse_float(get_header(headers, "X-RateLimit-Limit"))
        raw_reset = get_header(headers, "X-RateLimit-Reset")
        if limit is None and raw_reset is None:
            return
        now = self._clock() if now is None else now
        if limit is not None and limit > 0:
            self._limit = limit
        reset = parse_reset(raw_reset, now)
        if reset is None or reset <= now:
            return  # no window, or a response from a window already over
        remaining = parse_float(get_header(headers, "X-RateLimit-Remaining"))
        if reset - now > self._window_lb:
            self._window_lb = reset - now
        estimate = None if remaining is None else remaining - self._in_flight
        if self._last_reset is None or reset > self._last_reset + _EPS:
            if self._last_reset is not None:
                delta = reset - self._last_reset
                if self._window_min_delta is None or delta < self._window_min_delta:
                    self._window_min_delta = delta
            self._last_reset = reset
            self._reset = reset
            self._available = estimate
        elif reset >= self._last_reset - _EPS:  # same window
            self._reset = self._last_reset
            if estimate is not None and (self._available is None or estimate < self._available):
                self._available = estimate
        # else: a late response from an earlier window; ignore
