"""connector.runtime.run_sync."""

from __future__ import annotations

import asyncio
import threading

import pytest

from connector.runtime import run_sync


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
