"""IBM: the expirations of new videos are checked while the channels are still listed, and
the policy's plan after the listing does not check them twice (no HTTP: a fake client
whose listing waits for those checks; the real worker pool of ``IbmClient.expirations``)."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from connector.http import Redactor, RequestMetrics
from connector.ibm import IbmSync, SyncOptions
from connector.ibm.client import Expiration, IbmClient
from connector.warehouse import Warehouse

CREATED_S = 1_760_000_000
NOW_MS = (CREATED_S + 86_400) * 1000


class FakeIbm:
    """Two channels of ``per_channel`` videos in pages of 10. The second page of each
    channel is served only once every video of the channel's first page has had its
    expiration asked for: a sync that checks only after listing never gets there."""

    def __init__(self, per_channel: int = 30) -> None:
        self.settings = type("S", (), {"channel_ids": ["c1", "c2"]})()
        self.redactor = Redactor()
        self.metrics = RequestMetrics()
        self.expiration_metrics = RequestMetrics()
        self.tokens = type("T", (), {"fetched": 1})()
        self.listing_look_backs = 0
        self.concurrency = 4
        self.videos = {
            c: [str(1_000_000 + k * 1000 + i) for i in range(per_channel)]
            for k, c in enumerate(self.settings.channel_ids)
        }
        self.asked: Counter[str] = Counter()
        self.changed = asyncio.Event()

    expirations = IbmClient.expirations  # the real worker pool, over get_expiration below

    async def get_expiration(self, video_id: str) -> Expiration:
        self.asked[video_id] += 1
        self.changed.set()
        await asyncio.sleep(0)
        return Expiration(video_id, "ok", "never", None)

    async def channel_pages(self, channel_id: str, pagesize: int = 50):
        ids = self.videos[channel_id]
        for start in range(0, len(ids), 10):
            if start:
                first_page = ids[:10]
                while not all(self.asked[v] for v in first_page):
                    self.changed.clear()
                    await self.changed.wait()
            yield [
                {"id": v, "title": f"video {v}", "created_at": CREATED_S}
                for v in ids[start : start + 10]
            ]


@pytest.fixture
def wh(tmp_path):
    return Warehouse(tmp_path / "wh.duckdb", tmp_path / "lake")


def sync(client: FakeIbm, wh: Warehouse):
    options = SyncOptions(now_ms=NOW_MS, concurrency=4)
    return asyncio.run(asyncio.wait_for(IbmSync(client, wh, options).run(), timeout=20))  # type: ignore[arg-type]


def test_new_videos_are_checked_while_the_listing_runs_and_only_once(wh):
    client = FakeIbm()
    report = sync(client, wh)
    every = [v for ids in client.videos.values() for v in ids]
    assert set(client.asked) == set(every)
    assert max(client.asked.values()) == 1, "a video was checked twice in one run"
    assert report.checked_by_reason.get("new") == len(every) == report.selected
    assert report.expirations_checked == len(every)
    stored = {r[0] for r in wh.query("SELECT video_id FROM raw.ibm_expirations")}
    assert stored == set(every)


def test_a_second_run_checks_by_the_policy_and_nothing_during_the_listing(wh):
    sync(FakeIbm(), wh)
    client = FakeIbm()
    client.channel_pages = _plain_pages(client)  # nothing new: the listing must not wait
    report = sync(client, wh)
    assert report.checked_by_reason.get("new", 0) == 0
    assert sum(client.asked.values()) == report.selected  # the rolling share, once each


def _plain_pages(client: FakeIbm):
    async def pages(channel_id: str, pagesize: int = 50):
        ids = client.videos[channel_id]
        for start in range(0, len(ids), 10):
            yield [
                {"id": v, "title": f"video {v}", "created_at": CREATED_S}
                for v in ids[start : start + 10]
            ]

    return pages
