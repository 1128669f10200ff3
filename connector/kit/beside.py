"""A walk with a second walk beside it, fed by the first through a queue.

IBM checks the expirations of videos its channel listing shows for the first time while
the listing goes on; IRIS reads the iris_ids its Watch walk reveals while the walk goes on.
Both are :func:`walk_beside`: the leading walk puts work on ``queue``; the follower takes
it until the ``None`` put there once the leading walk has finished. Either one's error
stops both and is raised; a follower that ends before the leading walk is an error too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any


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


__all__ = ["walk_beside"]
