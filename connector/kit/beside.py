"""A walk with a second walk beside it, fed by the first through a queue.

IBM checks the expirations of videos its channel listing shows for the first time while
the listing goes on; IRIS reads the iris_ids its Watch walk reveals while the walk goes on.
Both are :func:`walk_beside`: the leading walk puts work on ``queue``; the follower takes
it until the ``None`` put there once the leading walk has finished. Either one's error
stops both and is raised; a follower that ends before the leading walk is an error too.
A follower with several workers shares the queue through :func:`worker_items`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")


async def walk_beside(
    lead: Awaitable[None], follow: Awaitable[None], queue: asyncio.Queue[Any], name: str
) -> None:
    """Run ``lead`` and ``follow`` together; end ``queue`` with None when ``lead`` is done,
    then wait for ``follow`` to drain it. ``name`` says whose walks these are (errors)."""
    leading = asyncio.ensure_future(lead)
    following = asyncio.ensure_future(follow)
    try:
        await asyncio.wait({leading, following}, return_when=asyncio.FIRST_COMPLETED)
        if not leading.done():  # the follower failed first (credentials, retries): stop
            following.result()
            raise RuntimeError(f"{name}: the walk beside ended before the one it follows")
        leading.result()
        queue.put_nowait(None)
        await following
    finally:
        for task in (leading, following):
            task.cancel()
        await asyncio.gather(leading, following, return_exceptions=True)


def worker_items(
    items: Iterable[T] | asyncio.Queue[T | None],
) -> Callable[[], AsyncIterator[T]]:
    """One source of work for several workers: each calls the result once and iterates
    it. From a queue: what a leading walk puts there until its ``None`` (left in the queue
    for the other workers); from an iterable: its items, each to one worker."""
    if isinstance(items, asyncio.Queue):
        queue = items

        async def from_queue() -> AsyncIterator[T]:
            while (item := await queue.get()) is not None:
                yield item
            queue.put_nowait(None)

        return from_queue
    shared = iter(items)

    async def from_iterator() -> AsyncIterator[T]:
        for item in shared:
            yield item

    return from_iterator


__all__ = ["walk_beside", "worker_items"]
