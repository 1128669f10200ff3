"""Refreshes beside the data API reads (``Refreshes.refresh_beside``): started as reads find
expired URLs; when the reads fail, a refresh already sent finishes and is recorded, and
those not yet sent are dropped and counted deferred."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from connector.iris.refresh import Refreshes


class FakeSync(Refreshes):
    """Only what ``refresh_beside`` / ``queue_refresh`` touch; one refresh at a time."""

    def __init__(self, max_refreshes: int = 100) -> None:
        self.expired: asyncio.Queue = asyncio.Queue()
        self.refreshes_queued = 0
        self.options = SimpleNamespace(max_refreshes=max_refreshes)
        self.report = SimpleNamespace(refresh_deferred=0)
        self.started: list[str] = []
        self.recorded: list[str] = []
        self.sending = asyncio.Event()

    async def refresh_expired(self, todo) -> None:  # one worker, each refresh takes a while
        while (item := await todo.get()) is not None:
            self.started.append(item)
            self.sending.set()
            await asyncio.sleep(0.05)
            self.recorded.append(item)


def test_refreshes_start_while_the_reads_go_on_and_all_are_recorded():
    async def go():
        sync = FakeSync()

        async def reads():
            for i in range(3):
                sync.queue_refresh(f"id{i}")
                await asyncio.sleep(0.01)
            started_during_reads = list(sync.started)
            await asyncio.sleep(0)
            return started_during_reads

        task = asyncio.ensure_future(reads())
        await sync.refresh_beside(task)
        return sync, task.result()

    sync, during = asyncio.run(go())
    assert during, "no refresh started before the reads ended"
    assert sync.recorded == ["id0", "id1", "id2"]


def test_failed_reads_let_the_refresh_in_flight_finish_and_drop_the_rest_as_deferred():
    async def go():
        sync = FakeSync()

        async def reads():
            for i in range(4):
                sync.queue_refresh(f"id{i}")
            await sync.sending.wait()  # the first refresh is on its way
            raise RuntimeError("the reads broke")

        with pytest.raises(RuntimeError, match="the reads broke"):
            await sync.refresh_beside(reads())
        return sync

    sync = asyncio.run(go())
    assert sync.recorded == ["id0"]  # sent, so finished and recorded
    assert sync.started == ["id0"]
    assert sync.report.refresh_deferred == 3  # never sent: the next run finds them expired


def test_refreshes_beyond_max_refreshes_are_counted_deferred_not_sent():
    async def go():
        sync = FakeSync(max_refreshes=2)

        async def reads():
            for i in range(5):
                sync.queue_refresh(f"id{i}")

        await sync.refresh_beside(reads())
        return sync

    sync = asyncio.run(go())
    assert sync.recorded == ["id0", "id1"]
    assert sync.report.refresh_deferred == 3
