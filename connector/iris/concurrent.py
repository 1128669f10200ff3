"""Many calls, a bounded number in flight, results as they come.

:func:`bounded_map` runs ``fn(item)`` for every item with at most ``n`` running and yields
``(item, result)`` as each finishes (not in order). A failure of one item is yielded as its
result (the exception), so one bad item does not stop the others; an exception of a type
in ``fatal`` (bad credentials: nothing else can succeed) stops every worker and is raised.
``items`` may be an ``asyncio.Queue`` ended by ``None``: work that arrives while another
walk runs (the iris_ids the Watch walk reveals).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, TypeVar

from connector.kit.beside import worker_items

T = TypeVar("T")
R = TypeVar("R")


class _Fatal:
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


async def bounded_map(
    fn: Callable[[T], Awaitable[R]],
    items: Iterable[T] | asyncio.Queue[T | None],
    n: int,
    *,
    fatal: tuple[type[BaseException], ...] = (),
) -> AsyncIterator[tuple[T, R | Exception]]:
    """``(item, fn(item) or the Exception it raised)``, at most ``n`` calls at once."""
    n = max(1, int(n))
    source = worker_items(items)
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=4 * n)
    done = object()

    async def worker() -> None:
        try:
            async for item in source():
                try:
                    result: Any = await fn(item)
                except fatal as exc:
                    await queue.put(_Fatal(exc))
                    return
                except Exception as exc:  # this item's failure, reported with it
                    result = exc
                await queue.put((item, result))
        finally:
            await queue.put(done)

    tasks = [asyncio.create_task(worker()) for _ in range(n)]
    finished = 0
    try:
        while finished < n:
            got = await queue.get()
            if got is done:
                finished += 1
            elif isinstance(got, _Fatal):
                raise got.error
            else:
                yield got
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


__all__ = ["bounded_map"]
