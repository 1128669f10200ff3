"""walk_beside: a follower fed by a leading walk through a queue."""

from __future__ import annotations

import asyncio

import pytest

from connector.kit import walk_beside


async def lead(queue: asyncio.Queue, n: int, fail_at: int | None = None) -> None:
    for i in range(n):
        if i == fail_at:
            raise ValueError("lead broke")
        queue.put_nowait(i)
        await asyncio.sleep(0.001)


async def follow(queue: asyncio.Queue, got: list, fail_on: int | None = None) -> None:
    while (item := await queue.get()) is not None:
        if item == fail_on:
            raise PermissionError("bad credentials")
        await asyncio.sleep(0.002)  # slower than the lead: items wait in the queue
        got.append(item)


def test_the_follower_takes_everything_the_lead_queued_even_after_the_lead_ended():
    got: list = []

    async def main() -> None:
        queue: asyncio.Queue = asyncio.Queue()
        await walk_beside(lead(queue, 50), follow(queue, got), queue, "test")

    asyncio.run(main())
    assert got == list(range(50))


def test_a_follower_that_fails_stops_the_lead_and_its_error_is_raised():
    got: list = []
    stopped: list = []

    async def long_lead(queue: asyncio.Queue) -> None:
        try:
            await lead(queue, 10_000)
        except asyncio.CancelledError:
            stopped.append(True)
            raise

    async def main() -> None:
        queue: asyncio.Queue = asyncio.Queue()
        await walk_beside(long_lead(queue), follow(queue, got, fail_on=3), queue, "test")

    with pytest.raises(PermissionError):
        asyncio.run(main())
    assert stopped == [True] and got == [0, 1, 2]


def test_a_lead_that_fails_stops_the_follower_and_its_error_is_raised():
    async def main() -> None:
        queue: asyncio.Queue = asyncio.Queue()
        await walk_beside(lead(queue, 10, fail_at=5), follow(queue, []), queue, "test")

    with pytest.raises(ValueError, match="lead broke"):
        asyncio.run(main())


def test_a_follower_that_returns_before_the_lead_is_an_error():
    async def quits(queue: asyncio.Queue) -> None:
        await queue.get()

    async def main() -> None:
        queue: asyncio.Queue = asyncio.Queue()
        await walk_beside(lead(queue, 1000), quits(queue), queue, "test")

    with pytest.raises(RuntimeError, match="test: the walk beside ended"):
        asyncio.run(main())
