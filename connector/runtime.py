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


def _load_malloc_trim():
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to trim
        return None


_malloc_trim = _load_malloc_trim()


def release_free_memory() -> None:
    """Hand memory freed by the last batch back to the OS (glibc only; no-op elsewhere).

    A sync frees each checkpoint's Arrow batches and DuckDB buffers, but glibc keeps freed
    memory in per-thread arenas, so RSS would keep the high-water mark of every batch and
    creep up with the catalog; trimming after each checkpoint keeps it flat.
    """
    if _malloc_trim is not None:
        _malloc_trim(0)
