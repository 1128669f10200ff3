"""Ordered background checkpoints: a source's commits run in a worker thread, one at a
time and in submission order, while the event loop keeps fetching and parsing.

Each checkpoint is one warehouse transaction that writes a batch and then the stream's
state (its cursor) with it, so the cursor can never be ahead of the data. At most one
commit is in flight: submitting the next waits for the previous one (back-pressure, and
order: a later cursor is never committed before an earlier one).

A checkpoint goes through ``Warehouse.transact``: when its commit conflicts with another
writer's (DuckLake), the write function runs again in a new transaction, so write functions
must be re-runnable (they write through ``tx`` only). The report counters a failed attempt
added (the difference of the report's numbers across the attempt) are taken back before the
next one, so a replayed checkpoint is counted once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from connector.runtime import release_free_memory
from connector.warehouse import Warehouse, WriteTx

log = logging.getLogger(__name__)

Write = Callable[[WriteTx], None]


class Checkpointer:
    """Commits ``write(tx)`` plus ``state`` for ``stream`` in a worker thread, in order.

    >>> await checkpoints.submit(lambda tx: write_batch(tx, batch, report), state)  # doctest: +SKIP
    >>> await checkpoints.drain()  # doctest: +SKIP
    """

    def __init__(self, warehouse: Warehouse, stream: str, report: Any = None) -> None:
        self.warehouse = warehouse
        self.stream = stream
        #: the run's report (a dataclass), whose counters a replayed attempt must not repeat
        self.report = report
        self.committed = 0
        #: the state of the last committed checkpoint (None until one commits a state)
        self.last_state: dict[str, Any] | None = None
        self._writing: asyncio.Future | None = None
        #: submit and drain take turns, so concurrent tasks (IBM's channels) queue in order
        self._turn = asyncio.Lock()
        self._added: dict[str, int | float] = {}

    async def submit(
        self,
        write: Write | None,
        state: dict[str, Any] | None = None,
        *,
        wait: bool = False,
        note: str = "",
    ) -> None:
        """Start committing ``write`` (and ``state``, a snapshot the caller no longer
        mutates) once the previous commit is done; with ``wait``, return when committed.
        ``note`` goes into the log line written once the transaction has committed."""
        async with self._turn:
            await self._wait_for_commit()
            loop = asyncio.get_running_loop()
            self._writing = loop.run_in_executor(None, self._commit, write, state, note)
        if wait:
            await self.drain()

    async def drain(self) -> None:
        """Wait for the commit in flight, if any (its error is raised here)."""
        async with self._turn:
            await self._wait_for_commit()

    async def _wait_for_commit(self) -> None:
        if self._writing is not None:
            writing, self._writing = self._writing, None
            await writing

    def _commit(self, write: Write | None, state: dict[str, Any] | None, note: str) -> None:
        self._added = {}
        self.warehouse.transact(lambda tx: self._attempt(tx, write, state))
        self._added = {}
        self.committed += 1
        if state is not None:
            self.last_state = state
        log.info("%s checkpoint %d committed%s", self.stream, self.committed, note and f": {note}")
        release_free_memory()

    def _attempt(self, tx: WriteTx, write: Write | None, state: dict[str, Any] | None) -> None:
        """One try at the checkpoint's transaction (again after a conflict)."""
        for name, added in self._added.items():  # a previous try that did not commit
            setattr(self.report, name, getattr(self.report, name) - added)
        before = _counters(self.report)
        if write is not None:
            write(tx)
        if state is not None:
            tx.set_state(self.stream, state)
        after = _counters(self.report)
        self._added = {k: after[k] - v for k, v in before.items() if after[k] != v}


def _counters(report: Any) -> dict[str, int | float]:
    """The numeric fields of a dataclass report (nothing for None)."""
    if report is None or not dataclasses.is_dataclass(report):
        return {}
    values = {f.name: getattr(report, f.name) for f in dataclasses.fields(report)}
    return {
        k: v for k, v in values.items() if isinstance(v, int | float) and not isinstance(v, bool)
    }
