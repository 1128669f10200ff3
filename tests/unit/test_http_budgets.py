"""HostBudgets: endpoint families share one budget until the server's X-RateLimit-Limit
values show separate ones; requests end on the limiter they were acquired from."""

from __future__ import annotations

import asyncio

from connector.http import HostBudgets, RateLimiter
from tests.unit.test_http_ratelimit import run_virtual

T0 = 1_700_000_000.0


class FakeClock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    async def sleep(self, d: float) -> None:
        self.t += d
        await asyncio.sleep(0)


def budgets(clock: FakeClock) -> HostBudgets:
    return HostBudgets(lambda: RateLimiter(clock=clock, sleep=clock.sleep), name="test")


def headers(limit: int, remaining: int, clock: FakeClock) -> dict[str, str]:
    """A 1 s window's headers, the window ending 1 s from now."""
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str(clock() + 1.0),
    }


def listing_and_checks():
    """A fake clock, the budgets, and two families on them: listing and expiration."""
    clock = FakeClock()
    book = budgets(clock)
    return clock, book, book.family("listing"), book.family("expiration")


def answer(family, hdrs) -> None:
    """One request of ``family`` sent and answered with ``hdrs``."""
    asyncio.run(family.acquire())
    family.observe(hdrs)


def test_families_share_one_budget_until_the_headers_show_two():
    clock, book, listing, checks = listing_and_checks()
    answer(listing, headers(10, 9, clock))
    # what the listing's headers taught paces the other family too: one budget so far
    assert checks.interval == listing.interval > 0
    assert not book.apart


def test_families_reporting_different_limits_are_paced_apart():
    clock, book, listing, checks = listing_and_checks()
    answer(listing, headers(10, 9, clock))
    answer(checks, headers(1000, 999, clock))
    assert book.apart
    # each family paced by its own budget: 10/s and 1000/s (at the limiter's 95% safety)
    assert abs(listing.interval - 1 / (10 * 0.95)) < 1e-6
    assert abs(checks.interval - 1 / (1000 * 0.95)) < 1e-6
    assert listing.current is not checks.current


def test_one_budget_reported_on_every_endpoint_stays_shared():
    clock = FakeClock()
    book = budgets(clock)
    families = [book.family(n) for n in ("listing", "expiration", "token")]
    for i, fam in enumerate(families * 3):
        answer(fam, headers(200, 190 - i, clock))
    assert not book.apart
    assert len({id(f.current) for f in families}) == 1
    assert families[0].current is book.shared


def test_families_reporting_the_same_limit_keep_sharing_after_a_split():
    clock = FakeClock()
    book = budgets(clock)
    a, b, c = book.family("a"), book.family("b"), book.family("c")
    answer(a, headers(50, 49, clock))
    answer(b, headers(50, 48, clock))
    answer(c, headers(7, 6, clock))
    assert book.apart
    assert a.current is b.current is not c.current


def test_a_family_never_answered_with_headers_stays_on_the_shared_budget():
    clock = FakeClock()
    book = budgets(clock)
    a, b, quiet = book.family("a"), book.family("b"), book.family("token")
    answer(a, headers(10, 9, clock))
    answer(b, headers(1000, 999, clock))
    assert quiet.current is book.shared
    assert a.current is not book.shared and b.current is not book.shared


def test_a_request_in_flight_across_the_split_ends_on_the_limiter_it_was_acquired_from():
    clock, book, listing, checks = listing_and_checks()
    for _ in range(3):
        asyncio.run(checks.acquire())  # three checks in flight on the shared budget
    assert book.shared.in_flight == 3
    answer(listing, headers(10, 9, clock))
    checks.observe(headers(1000, 990, clock))  # the split: checks move to their own budget
    assert book.apart and checks.current is not book.shared
    checks.observe(headers(1000, 989, clock))
    checks.release()  # the third ends without a response
    assert book.shared.in_flight == 0
    assert checks.current.in_flight == 0
    assert checks.in_flight == 0


def test_a_new_budget_starts_from_the_last_headers_its_family_saw():
    clock, book, listing, checks = listing_and_checks()
    answer(checks, headers(1000, 999, clock))
    answer(listing, headers(10, 9, clock))  # the split happens on a listing response
    # the checks' new budget already knows their limit, before any further check response
    assert abs(checks.interval - 1 / (1000 * 0.95)) < 1e-6


def test_a_429_pauses_only_the_budget_of_the_family_that_got_it_once_apart():
    clock, book, listing, checks = listing_and_checks()
    answer(listing, headers(10, 9, clock))
    answer(checks, headers(1000, 999, clock))
    listing.pause_for(5.0)
    waited = asyncio.run(checks.acquire())
    assert waited < 0.01
    assert asyncio.run(listing.acquire()) >= 5.0


def test_requests_waiting_on_the_shared_budget_queue_again_when_their_family_moves():
    """The token endpoint's 1/s, taught to the shared budget before the split, must not
    keep the expiration calls already waiting a second apart (virtual time)."""

    async def go(loop):
        book = HostBudgets(lambda: RateLimiter(clock=loop.time), name="test")
        token, checks = book.family("token"), book.family("expiration")
        await checks.acquire()  # one check in flight before anything is known
        answer_now = {"X-RateLimit-Reset": str(loop.time() + 1.0)}
        await token.acquire()
        token.observe({**answer_now, "X-RateLimit-Limit": "1", "X-RateLimit-Remaining": "0"})
        # the shared budget now says: nothing left until the window ends, 1/s after that
        t0 = loop.time()
        ends: list[float] = []

        async def one_check():
            await checks.acquire()
            ends.append(loop.time() - t0)

        waiting = [asyncio.ensure_future(one_check()) for _ in range(5)]
        await asyncio.sleep(0.1)
        assert ends == []  # held by the shared budget
        # the check in flight answers: its own budget is 1,000/s, so they are apart
        checks.observe({**answer_now, "X-RateLimit-Limit": "1000", "X-RateLimit-Remaining": "999"})
        await asyncio.gather(*waiting)
        return ends

    ends = run_virtual(go)
    # all five within a few of the checks' own 1.05 ms intervals, not 1 s apart
    assert len(ends) == 5 and max(ends) < 0.2, ends
