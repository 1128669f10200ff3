"""Run coroutines from synchronous code (scripts, Dagster ops, notebooks)."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion and return its result.

    Without a running event loop in this thread this is ``asyncio.run(coro)``. When a
    loop is already running (Jupyter, an async framework) the coroutine runs with
    ``asyncio.run`` in a fresh worker thread (context variables copied) and this call
    blocks until it finishes; exceptions propagate. Create async clients inside the
    coroutine: they belong to the loop that runs it.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    ctx = contextvars.copy_context()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="run_sync") as pool:
        return pool.submit(ctx.run, asyncio.run, coro).result()
