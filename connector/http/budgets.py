"""Rate-limit budgets of one API host whose scope is not known: shared until the server's
own headers tell them apart.

A vendor may count requests per endpoint (a budget each) or per client (one budget for
everything); IBM's public pages say both. Pacing every call with one budget is safe either
way, but when the budgets are really separate the smallest one throttles everything: IBM's
listing budget (200 calls/s in the sandbox) held the expiration calls beside it, whose
budget is 2,000/s, to ~240/s.

A budget has one ``X-RateLimit-Limit``, so endpoint families whose responses report
different limits cannot be sharing one. :class:`HostBudgets` starts every family on one
shared :class:`~connector.http.RateLimiter`; from the moment two families have reported
different limits, each family is paced by the limiter of the limit it reports (families
reporting the same limit keep sharing one: it may be the same budget), and a family that
has reported none stays on the shared one. Budgets once told apart are never merged again.
A request ends on the limiter it was acquired from, so in-flight counts stay exact across
the split; the new limiters start from the last headers each family saw, and requests
still waiting on the shared budget when their family moves queue again on its own (the
token endpoint's 1/s taught to the shared budget must not keep 64 expiration calls
queued a second apart after the split).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Mapping

from ._headers import get_header, parse_float
from .ratelimit import RateLimiter

log = logging.getLogger(__name__)


class HostBudgets:
    """The budgets of one host, handed out per endpoint family (:meth:`family`).

    >>> budgets = HostBudgets(lambda: RateLimiter(burst=16))
    >>> listing, checks = budgets.family("listing"), budgets.family("expiration")
    """

    def __init__(self, make: Callable[[], RateLimiter], name: str = "api") -> None:
        self.name = name
        self._make = make
        self.shared = make()
        self._by_limit: dict[float, RateLimiter] = {}
        self._families: dict[str, FamilyLimiter] = {}

    @property
    def apart(self) -> bool:
        """Whether the headers have shown more than one budget (then families moved)."""
        return bool(self._by_limit)

    def family(self, name: str) -> FamilyLimiter:
        """The limiter of one endpoint family (the same object for the same name)."""
        fam = self._families.get(name)
        if fam is None:
            fam = self._families[name] = FamilyLimiter(self, name)
        return fam

    def _reported(self, family: FamilyLimiter, limit: float) -> None:
        """``family``'s response reported ``limit``: tell budgets apart when it shows two."""
        if family.limit == limit:
            return
        family.limit = limit
        if self.apart:
            self._move(family)
            return
        limits = {f.limit for f in self._families.values() if f.limit is not None}
        if len(limits) < 2:
            return
        log.info(
            "%s: the rate-limit headers show separate budgets (%s): pacing each apart",
            self.name,
            ", ".join(
                f"{f.name} {f.limit:g}" for f in self._families.values() if f.limit is not None
            ),
        )
        for fam in self._families.values():
            if fam.limit is not None:
                self._move(fam)

    def _move(self, family: FamilyLimiter) -> None:
        assert family.limit is not None
        limiter = self._by_limit.get(family.limit)
        if limiter is None:
            limiter = self._by_limit[family.limit] = self._make()
        if limiter is not family.current:
            family.current = limiter
            limiter.learn(family.last_headers)
            family._moved.set()  # requests waiting on the old budget queue again
            family._moved = asyncio.Event()


class FamilyLimiter:
    """One endpoint family's limiter within :class:`HostBudgets` (what ``AsyncHttpClient``
    calls: ``acquire``, ``observe``, ``release``, ``pause_for``)."""

    def __init__(self, budgets: HostBudgets, name: str) -> None:
        self.budgets = budgets
        self.name = name
        self.current: RateLimiter = budgets.shared
        self.limit: float | None = None  # the X-RateLimit-Limit its responses last reported
        self.last_headers: Mapping[str, str] | None = None
        self._acquired: deque[RateLimiter] = deque()  # where each request in flight was
        self._moved = asyncio.Event()  # set when the family moves to another budget

    async def acquire(self) -> float:
        """Wait for the family's budget; a wait cut short by a move to another budget
        queues again on the new one (a pace learned from another family's headers must
        not hold requests already waiting)."""
        limiter = self.current
        if limiter.try_acquire():
            self._acquired.append(limiter)
            return 0.0
        clock = limiter._clock
        t0 = clock()
        while True:
            moved = self._moved
            acquiring = asyncio.ensure_future(limiter.acquire())
            mover = asyncio.ensure_future(moved.wait())
            try:
                await asyncio.wait({acquiring, mover}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                mover.cancel()
                if not acquiring.done():
                    acquiring.cancel()
                    await asyncio.gather(acquiring, return_exceptions=True)
            if not acquiring.cancelled() and acquiring.done():
                acquiring.result()
                self._acquired.append(limiter)
                return max(0.0, clock() - t0)
            limiter = self.current

    def release(self) -> None:
        if self._acquired:
            self._acquired.popleft().release()

    def observe(self, headers: Mapping[str, str] | None) -> None:
        self.release()
        if headers:
            limit = parse_float(get_header(headers, "X-RateLimit-Limit"))
            if limit is not None and limit > 0:
                self.last_headers = headers
                self.budgets._reported(self, limit)
        self.current.learn(headers)

    def pause_for(self, seconds: float) -> None:
        self.current.pause_for(seconds)

    @property
    def interval(self) -> float:
        """Seconds between this family's requests as its budget paces them now."""
        return self.current.interval

    @property
    def in_flight(self) -> int:
        return len(self._acquired)


__all__ = ["FamilyLimiter", "HostBudgets"]
