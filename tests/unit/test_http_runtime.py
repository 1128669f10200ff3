"""connector.runtime.run_sync."""

from __future__ import annotations

import asyncio
import gc
import threading

import pytest

from connector.runtime import SYNC_GC_THRESHOLD, run_sync


async def _whoami(x: int) -> tuple[int, str]:
    await asyncio.sleep(0)
    return x * 2, threading.current_thread().name


def test_run_sync_without_a_running_loop_runs_in_this_thread():
    assert run_sync(_whoami(2)) == (4, threading.current_thread().name)


def test_run_sync_inside_a_running_loop_uses_a_worker_thread():
    async def notebook_cell():
        return run_sync(_whoami(3))

    value, thread = asyncio.run(notebook_cell())
    assert value == 6 and thread != threading.current_thread().name


def test_run_sync_propagates_exceptions_from_the_worker_thread():
    async def boom():
        raise KeyError("x")

    async def cell():
        return run_sync(boom())

    with pytest.raises(KeyError):
        asyncio.run(cell())


def test_run_sync_collects_cycles_rarely_and_restores_the_collector_after():
    """Inside a sync the gen-0 threshold is raised and what existed before is frozen; after
    it (also after a nested sync and after an error) both are as they were."""
    before = gc.get_threshold()
    seen = []

    async def probe():
        seen.append((gc.get_threshold()[0], gc.get_freeze_count() > 0))
        run_sync_nested = await asyncio.to_thread(run_sync, inner())
        seen.append(run_sync_nested)
        seen.append((gc.get_threshold()[0], gc.get_freeze_count() > 0))

    async def inner():
        return (gc.get_threshold()[0], gc.get_freeze_count() > 0)

    async def fail():
        raise RuntimeError("boom")

    run_sync(probe())
    assert seen == [(SYNC_GC_THRESHOLD, True)] * 3
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
    with pytest.raises(RuntimeError):
        run_sync(fail())
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
