"""RateLimiter with a fake clock, and a virtual-time simulation against a fixed-window server."""

from __future__ import annotations

import asyncio
import math
import random

import pytest

from connector.http import RateLimiter

T0 = 1_700_000_000.0


class FakeClock:
    def __init__(self, t: float = T0) -> None:
        self.t = t
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    async def sleep(self, d: float) -> None:
        self.sleeps.append(d)
        self.t += d
        await asyncio.sleep(0)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """Event loop whose clock jumps to the next timer when nothing is ready."""

    def __init__(self, start: float) -> None:
        super().__init__()
        self._vtime = start
        self._clock_resolution = 1e-6  # > one ulp at Unix-epoch magnitudes

    def time(self) -> float:
        return self._vtime

    def _run_once(self) -> None:
        if not self._ready and self._scheduled:
            when = self._scheduled[0]._when
            if when > self._vtime:
                self._vtime = when
        super()._run_once()


def run_virtual(make_coro):
    """Run ``make_coro(loop)`` on a virtual-time loop (concurrent sleepers share its clock)."""
    loop = VirtualTimeLoop(T0)
    try:
        return loop.run_until_complete(make_coro(loop))
    finally:
        loop.close()


def limiter(clock: FakeClock, **kw) -> RateLimiter:
    return RateLimiter(clock=clock, sleep=clock.sleep, **kw)


def hdrs(limit, remaining, reset) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str(reset),
    }


def test_unconfigured_limiter_does_not_wait():
    c = FakeClock()
    lim = limiter(c)

    async def go():
        return [await lim.acquire() for _ in range(100)]

    assert sum(asyncio.run(go())) == 0 and c.t == T0 and lim.in_flight == 100


def test_paces_at_configured_rate():
    c = FakeClock()
    lim = limiter(c, rate=10)

    async def go():
        for _ in range(21):
            await lim.acquire()

    asyncio.run(go())
    assert c.t - T0 == pytest.approx(2.0)


def test_burst_allows_back_to_back_then_paces():
    c = FakeClock()
    lim = limiter(c, rate=10, burst=5)

    async def go():
        stamps = []
        for _ in range(7):
            await lim.acquire()
            stamps.append(round(c.t - T0, 6))
        return stamps

    assert asyncio.run(go()) == pytest.approx([0, 0, 0, 0, 0, 0.1, 0.2], abs=1e-5)


def test_concurrent_callers_get_distinct_evenly_spaced_slots():
    async def go(loop):
        lim = RateLimiter(rate=100, clock=loop.time)
        stamps: list[float] = []

        async def one():
            await lim.acquire()
            stamps.append(loop.time() - T0)

        await asyncio.gather(*(one() for _ in range(50)))
        return sorted(stamps)

    stamps = run_virtual(go)
    assert stamps == pytest.approx([i * 0.01 for i in range(50)], abs=1e-5)


def test_waits_for_reset_when_remaining_is_exhausted():
    c = FakeClock()
    lim = limiter(c, margin_s=0.0)

    async def go():
        await lim.acquire()
        lim.observe(hdrs(100, 0, T0 + 7.5))
        await lim.acquire()

    asyncio.run(go())
    assert c.t == pytest.approx(T0 + 7.5)


def test_in_flight_requests_count_against_remaining():
    c = FakeClock()
    lim = limiter(c, margin_s=0.0)

    async def go():
        for _ in range(5):
            await lim.acquire()  # 5 in flight
        lim.observe(hdrs(100, 4, T0 + 30))  # one answered: 4 left, 4 others unaccounted
        assert lim.in_flight == 4
        await lim.acquire()  # budget 4 - 4 = 0: must wait for the reset
        return c.t

    assert asyncio.run(go()) == pytest.approx(T0 + 30)


def test_budget_only_ratchets_down_within_a_window():
    c = FakeClock()
    lim = limiter(c, margin_s=0.0)

    async def go():
        for _ in range(3):
            await lim.acquire()
        lim.observe(hdrs(10, 2, T0 + 5))  # budget 2 - 2 in flight = 0
        lim.observe(hdrs(10, 7, T0 + 5))  # late, out-of-order response: must not raise it
        await lim.acquire()
        return c.t

    assert asyncio.run(go()) == pytest.approx(T0 + 5)


def test_stale_response_from_previous_window_is_ignored():
    c = FakeClock()
    lim = limiter(c)
    lim.observe(hdrs(10, 5, T0 + 10))
    lim.observe(hdrs(10, 0, T0 - 1))  # window already over
    assert lim._available == 5


def test_derives_rate_from_limit_and_window():
    c = FakeClock()
    lim = limiter(c, safety=1.0)
    lim.observe(hdrs(100, 90, T0 + 1))  # lower bound of the window: 1 s
    c.t += 1.5
    lim.observe(hdrs(100, 99, T0 + 61))  # reset jumped by 60 s
    c.t = T0 + 1.5
    assert lim.window_s == pytest.approx(60) and lim.effective_rate == pytest.approx(100 / 60)


def test_reset_given_as_delta_seconds_is_accepted():
    c = FakeClock()
    lim = limiter(c, margin_s=0.0)

    async def go():
        await lim.acquire()
        lim.observe(
            {"x-ratelimit-limit": "5", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "3"}
        )
        await lim.acquire()

    asyncio.run(go())
    assert c.t == pytest.approx(T0 + 3)


def test_pause_until_blocks_all_callers_together_then_spreads_them():
    async def go(loop):
        lim = RateLimiter(rate=100, clock=loop.time)
        stamps: list[float] = []

        async def one():
            await lim.acquire()
            stamps.append(loop.time() - T0)

        tasks = [asyncio.ensure_future(one()) for _ in range(10)]
        await asyncio.sleep(0)  # they queue first
        lim.pause_until(T0 + 2)  # a 429 arrives: everyone still waiting backs off
        await asyncio.gather(*tasks)
        return sorted(stamps)

    stamps = run_virtual(go)
    assert stamps[0] == pytest.approx(0.0, abs=1e-5)  # already sent before the 429
    later = stamps[1:]
    assert min(later) >= 2.0 - 1e-6
    assert max(later) - min(later) >= 0.07  # spread by the pacer, not a thundering herd


def test_release_ends_in_flight_without_headers():
    lim = limiter(FakeClock())
    asyncio.run(lim.acquire())
    lim.release()
    lim.release()
    assert lim.in_flight == 0


# --- simulation -----------------------------------------------------------------------


class FixedWindowServer:
    """Counts requests per fixed window; answers 429 over the limit (like IBM)."""

    def __init__(self, clock, limit: int, window: float, integer_reset: bool) -> None:
        self.clock, self.limit, self.window = clock, limit, window
        self.integer_reset = integer_reset
        self.idx = None
        self.count = 0

    def handle(self) -> tuple[int, dict[str, str]]:
        now = self.clock()
        idx = math.floor(now / self.window)
        if idx != self.idx:
            self.idx, self.count = idx, 0
        reset = (idx + 1) * self.window
        reset_s = str(math.ceil(reset)) if self.integer_reset else f"{reset:.3f}"
        if self.count >= self.limit:
            return 429, hdrs(self.limit, 0, reset_s)
        self.count += 1
        return 200, hdrs(self.limit, self.limit - self.count, reset_s)


def simulate(limit, window, concurrency, n, integer_reset=False, seed=1):
    loop = VirtualTimeLoop(T0 + 0.37)
    rng = random.Random(seed)

    async def main():
        lim = RateLimiter(clock=loop.time)
        server = FixedWindowServer(loop.time, limit, window, integer_reset)
        stats = {"ok": 0, "429": 0}

        async def worker():
            while stats["ok"] < n:
                await lim.acquire()
                await asyncio.sleep(rng.uniform(0.001, 0.04))  # request on the wire
                status, headers = server.handle()
                await asyncio.sleep(rng.uniform(0.001, 0.04))  # response on the wire
                lim.observe(headers)
                if status == 429:
                    stats["429"] += 1
                    lim.pause_until(float(headers["X-RateLimit-Reset"]))
                else:
                    stats["ok"] += 1

        start = loop.time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return stats, loop.time() - start

    try:
        stats, elapsed = loop.run_until_complete(main())
    finally:
        loop.close()
    return stats["ok"] / elapsed, stats["429"] / (stats["ok"] + stats["429"])


@pytest.mark.parametrize(
    ("limit", "window", "concurrency", "n", "integer_reset"),
    [
        (1000, 1.0, 64, 10_000, False),
        (1000, 1.0, 200, 10_000, True),
        (600, 60.0, 32, 3_000, True),
    ],
)
def test_rate_limiter_stays_under_header_limit(limit, window, concurrency, n, integer_reset):
    rate, share_429 = simulate(limit, window, concurrency, n, integer_reset)
    server_rate = limit / window
    assert rate >= 0.90 * server_rate
    assert rate <= 1.0 * server_rate + limit / (n / server_rate)  # at most one window extra
    assert share_429 < 0.01
