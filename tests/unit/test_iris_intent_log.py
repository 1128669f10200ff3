"""Refresh intents are committed before their refresh goes out, in groups."""

from __future__ import annotations

import asyncio

import pytest

from connector.iris.refresh import IntentLog


class SlowCommits:
    """Commits that take a while, recording what each held and what was committed when."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.groups: list[list[str]] = []
        self.committed: set[str] = set()
        self.fail_on = fail_on

    async def __call__(self, ids: list[str], at_ms: int) -> None:
        self.groups.append(list(ids))
        await asyncio.sleep(0.02)
        if self.fail_on is not None and len(self.groups) == self.fail_on:
            raise OSError("disk full")
        self.committed.update(ids)


def test_record_returns_only_once_the_intent_is_committed_and_waiters_share_a_commit():
    commits = SlowCommits()
    log = IntentLog(commits)
    sent_after_commit: list[bool] = []

    async def send(iris_id: str, delay: float) -> int:
        await asyncio.sleep(delay)
        at = await log.record(iris_id)
        sent_after_commit.append(iris_id in commits.committed)
        return at

    async def main() -> list[int]:
        # a0 starts a commit alone; a1..a9 arrive while it is in flight and share the next
        return await asyncio.gather(send("a0", 0), *(send(f"a{i}", 0.005) for i in range(1, 10)))

    stamps = asyncio.run(main())
    assert all(sent_after_commit) and len(sent_after_commit) == 10
    assert commits.groups == [["a0"], [f"a{i}" for i in range(1, 10)]]
    assert len(set(stamps[1:])) == 1 and stamps[0] <= stamps[1]


def test_a_failed_commit_fails_every_refresh_waiting_for_it_and_sends_none():
    commits = SlowCommits(fail_on=2)
    log = IntentLog(commits)
    sent: list[str] = []

    async def send(iris_id: str, delay: float) -> None:
        await asyncio.sleep(delay)
        await log.record(iris_id)
        sent.append(iris_id)

    async def main() -> list:
        first = [send("a0", 0)]
        rest = [send(f"a{i}", 0.005) for i in range(1, 4)]
        return await asyncio.gather(*first, *rest, return_exceptions=True)

    results = asyncio.run(main())
    assert sent == ["a0"]
    assert all(isinstance(r, OSError) for r in results[1:])
    assert commits.committed == {"a0"}


def test_a_later_record_starts_a_new_commit_after_a_failure():
    commits = SlowCommits(fail_on=1)
    log = IntentLog(commits)

    async def main() -> int:
        with pytest.raises(OSError):
            await log.record("a0")
        return await log.record("a1")

    asyncio.run(main())
    assert commits.groups == [["a0"], ["a1"]] and commits.committed == {"a1"}
