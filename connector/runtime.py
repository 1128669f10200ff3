"""Run coroutines from synchronous code (scripts, Dagster ops, notebooks)."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import threading
from collections.abc import Coroutine, Iterator
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
    with fewer_gc_passes():
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(coro)
        ctx = contextvars.copy_context()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="run_sync") as pool:
            return pool.submit(ctx.run, asyncio.run, coro).result()


#: allocations between two passes of the cyclic collector during a sync (Python's default: 700)
SYNC_GC_THRESHOLD = 50_000
_gc_lock = threading.Lock()
_gc_depth = 0
_gc_saved: tuple[int, int, int] | None = None


@contextlib.contextmanager
def fewer_gc_passes() -> Iterator[None]:
    """Run the cyclic garbage collector rarely while a sync runs.

    A sync allocates millions of short-lived objects (parsed pages, row tuples) that
    reference counting frees on its own; with the default threshold the collector still
    ran ~6,500 times in a 1M-asset Uplynk sync, ~4.2 s of the event loop's time with the
    GIL held (0.5 s with this). ``gc.freeze()`` also sets aside what the process held
    before the sync (modules, Dagster's objects), so the rare full pass does not walk it.
    Nested and concurrent syncs in one process share one setting, restored by the last.
    """
    global _gc_depth, _gc_saved
    with _gc_lock:
        if _gc_depth == 0:
            _gc_saved = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(SYNC_GC_THRESHOLD, *_gc_saved[1:])
        _gc_depth += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_depth -= 1
            if _gc_depth == 0 and _gc_saved is not None:
                gc.set_threshold(*_gc_saved)
                gc.unfreeze()
                _gc_saved = None


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
