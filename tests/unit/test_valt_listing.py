"""The VALT listing walk against an in-memory list that changes between pages (no HTTP):
deletions that shift offsets, a server that clamps the page size, one that ignores offset,
and the details that follow. A temporary warehouse holds what the walk commits."""

from __future__ import annotations

import asyncio

import pytest

from connector.http import Redactor, RequestMetrics
from connector.valt import SyncOptions, ValtListingError, ValtSync
from connector.warehouse import Warehouse

CREATED = 1_760_000_000
NOW = (CREATED + 100 * 86_400) * 1000


class FakeSession:
    logins = 1


class FakeVendor:
    """A VALT list of ``n`` recordings (ids ``r00000``...), ordered by created. After each
    list page at offset >= ``shift_from``, ``deletes_per_page`` recordings before that
    offset are deleted (those deleted stay answerable 404). ``cap`` clamps the limit."""

    def __init__(self, n, *, deletes_per_page=0, shift_from=10**9, cap=None, ignore_offset=False):
        self.live = [self.record(i) for i in range(n)]
        self.deleted: set[str] = set()
        self.deletes_per_page = deletes_per_page
        self.shift_from = shift_from
        self.cap = cap
        self.ignore_offset = ignore_offset
        self.pages: list[tuple[int, int]] = []
        self.redactor = Redactor()
        self.metrics = RequestMetrics()
        self.session = FakeSession()
        self.throughout: set[str] = {r["id"] for r in self.live}

    @staticmethod
    def record(i):
        return {"id": f"r{i:05d}", "name": f"rec {i}", "created": CREATED + i * 60}

    def details_of(self, rid):
        i = int(rid[1:])
        return dict(self.record(i), retention={"type": "infinitely"}, markers=[], videos=[])

    async def list_page(self, offset, limit, start_date=None):
        limit = min(limit, self.cap or limit)
        start = 0 if self.ignore_offset else offset
        page = self.live[start : start + limit]
        self.pages.append((offset, len(page)))
        if offset >= self.shift_from and self.deletes_per_page:
            for victim in self.live[: self.deletes_per_page]:
                self.deleted.add(victim["id"])
                self.throughout.discard(victim["id"])
            del self.live[: self.deletes_per_page]
        return page

    async def details_many(self, ids, concurrency=None):
        for rid in ids:
            yield rid, (None if rid in self.deleted else self.details_of(rid))


def sync(vendor, wh, **options):
    opts = SyncOptions(now_ms=NOW, **options)
    return asyncio.run(ValtSync(vendor, wh, opts).run())  # type: ignore[arg-type]


def stored(wh):
    return {r[0] for r in wh.query("SELECT record_id FROM raw.valt_recordings")}


@pytest.fixture
def wh(tmp_path):
    return Warehouse(tmp_path / "wh.duckdb", tmp_path / "lake")


def test_deletions_during_a_listing_hide_no_recording_that_existed_throughout(wh):
    vendor = FakeVendor(1000, deletes_per_page=7, shift_from=100)
    report = sync(vendor, wh, list_page_size=100, list_overlap=5)
    assert vendor.deleted, "no deletion shifted the listing: the test proves nothing"
    assert report.list_look_backs > 0
    missing = vendor.throughout - stored(wh)
    assert not missing, f"{len(missing)} recordings that existed throughout were never listed"


@pytest.mark.parametrize("window", [1, 8])
def test_a_server_that_clamps_the_page_is_walked_to_the_end(wh, window):
    """Pages of the server's 40, stride 35: 7 pages and the one that confirms the cap, plus
    at most the window's pages requested ahead past the end."""
    vendor = FakeVendor(237, cap=40)
    report = sync(vendor, wh, list_page_size=100, list_overlap=5, list_concurrency=window)
    assert stored(wh) == vendor.throughout
    assert report.list_pages == len(vendor.pages) <= 237 // 35 + 2 + (window - 1)
    if window > 1:
        assert len(vendor.pages) > 237 // 35 + 2, "no page was requested ahead"


def test_a_catalog_that_fits_one_page_costs_one_more_request_at_most(wh):
    vendor = FakeVendor(37)
    sync(vendor, wh, list_page_size=100, list_overlap=5)
    assert [p[0] for p in vendor.pages] == [0, 32]
    assert stored(wh) == vendor.throughout


def test_a_list_that_ignores_offset_fails_instead_of_looping(wh):
    vendor = FakeVendor(500, ignore_offset=True)
    with pytest.raises(ValtListingError, match="ignores offset"):
        sync(vendor, wh, list_page_size=100, list_overlap=5)
    # the second page gives it away; the window's other pages were already asked for
    assert len(vendor.pages) <= 1 + SyncOptions().list_concurrency
