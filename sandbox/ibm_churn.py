"""Changes to a channel *while it is being listed*, and the ground truth of every listing.

Offset paging over a channel that changes between two page requests shifts the pages: a video
uploaded at the top pushes every older one a place later (a naive client sees the last video
of a page again on the next page), a video deleted from a page already served pulls every
later one a place earlier (a naive client never sees the first video of the next page).

``listing_churn`` (``POST /_control/ibm/config``) makes the sandbox do that on purpose::

    {"every_requests": 3,        # after every 3rd page served in one listing of a channel
     "uploads": 2,               # upload 2 new videos to that channel (newest first: page 1)
     "deletes": 1,               # and delete 1 of its videos
     "delete_from": "served"}    # "served": from the pages already served (default), "any"

A *listing* of a channel starts with a ``page=1`` answer and is complete with the answer that
carries no ``paging.next``; a new ``page=1`` before that abandons it. Churn happens only
between two pages of one listing (never after the last page). Each listing's ground truth
(``GET /_control/ibm/listings``): the videos live when it started and still live when it
ended (``existed_throughout``: a correct client lists every one of them exactly once), and the
ids uploaded and deleted during it.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .ibm_catalog import IbmCatalog, Key
from .world import IBM_CHANNEL_IDS

DELETE_FROM = ("served", "any")
KEEP_LISTINGS = 64


@dataclass(frozen=True)
class ChurnSpec:
    """Uploads and deletions made between the pages of a listing."""

    every_requests: int
    uploads: int = 0
    deletes: int = 0
    delete_from: str = "served"

    @classmethod
    def parse(cls, spec: dict[str, Any] | None) -> ChurnSpec | None:
        """A spec from its JSON form; None (or ``{}``) switches churn off."""
        if not spec:
            return None
        if not isinstance(spec, dict):
            raise ValueError("listing_churn must be an object or null")
        unknown = set(spec) - {"every_requests", "uploads", "deletes", "delete_from"}
        if unknown:
            raise ValueError(f"unknown listing_churn fields: {sorted(unknown)}")
        out = cls(
            every_requests=int(spec.get("every_requests", 1)),
            uploads=int(spec.get("uploads", 0)),
            deletes=int(spec.get("deletes", 0)),
            delete_from=str(spec.get("delete_from", "served")),
        )
        if out.every_requests < 1 or out.uploads < 0 or out.deletes < 0:
            raise ValueError("listing_churn: every_requests >= 1, uploads and deletes >= 0")
        if out.delete_from not in DELETE_FROM:
            raise ValueError(f"listing_churn.delete_from: one of {DELETE_FROM}")
        return out

    def public(self) -> dict[str, Any]:
        return {
            "every_requests": self.every_requests,
            "uploads": self.uploads,
            "deletes": self.deletes,
            "delete_from": self.delete_from,
        }


@dataclass
class ListingRecord:
    """One listing of one channel, from its ``page=1`` to its last page."""

    number: int
    channel: str
    started_ms: int
    pagesize: int
    at_start: list[Key]
    pages: int = 0
    state: str = "in_progress"  # in_progress | complete | abandoned
    ended_ms: int | None = None
    uploaded: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    existed_throughout: list[str] | None = None  # set when the listing ends

    def public(self, catalog: IbmCatalog, now_ms: int) -> dict[str, Any]:
        throughout = self.existed_throughout
        if throughout is None:  # still in progress: as of now
            throughout = survivors(catalog, self.at_start, now_ms)
        return {
            "listing": self.number,
            "channel": self.channel,
            "state": self.state,
            "started_ms": self.started_ms,
            "ended_ms": self.ended_ms,
            "pagesize": self.pagesize,
            "pages": self.pages,
            "items_at_start": len(self.at_start),
            "existed_throughout": throughout,
            "uploaded": list(self.uploaded),
            "deleted": list(self.deleted),
        }


def survivors(catalog: IbmCatalog, keys: list[Key], now_ms: int) -> list[str]:
    """Ids of ``keys`` still live at ``now_ms``, in the given order."""
    return [catalog.video_id(k) for k in keys if catalog.alive(k, now_ms)]


class ListingTracker:
    """Follows every channel listing page by page; applies ``listing_churn`` between pages."""

    def __init__(self, catalog: IbmCatalog, seed: int) -> None:
        self.catalog = catalog
        self.churn: ChurnSpec | None = None
        self.records: deque[ListingRecord] = deque(maxlen=KEEP_LISTINGS)
        self.active: dict[str, ListingRecord] = {}
        self.started = 0
        self.rng = random.Random(f"{seed}:ibm-listing-churn")

    def page_served(
        self, channel: str, page: int, size: int, live: list[Key], last: bool, now_ms: int
    ) -> None:
        """Called after each listing page is answered (200): ``live`` is the channel's list the
        page was cut from, ``last`` whether the answer had no ``paging.next``."""
        if page == 1:
            old = self.active.pop(channel, None)
            if old is not None:
                self._end(old, "abandoned", now_ms)
            self.started += 1
            rec = ListingRecord(self.started, channel, now_ms, size, list(live))
            self.active[channel] = rec
            self.records.append(rec)
        rec = self.active.get(channel)
        if rec is None:  # a page > 1 without a page 1 this world: not a tracked listing
            return
        rec.pages += 1
        if last:
            del self.active[channel]
            self._end(rec, "complete", now_ms)
        elif self.churn is not None and rec.pages % self.churn.every_requests == 0:
            self._churn(rec, live[: page * size] if self.churn.delete_from == "served" else live)

    def _end(self, rec: ListingRecord, state: str, now_ms: int) -> None:
        rec.state = state
        rec.ended_ms = now_ms
        rec.existed_throughout = survivors(self.catalog, rec.at_start, now_ms)

    def _churn(self, rec: ListingRecord, pool: list[Key]) -> None:
        spec = self.churn
        assert spec is not None
        now = self.catalog.world.now_ms()
        for key in self.rng.sample(pool, min(spec.deletes, len(pool))):
            self.catalog.remove(key, now)
            rec.deleted.append(self.catalog.video_id(key))
        for _ in range(spec.uploads):
            rec.uploaded.append(self.catalog.video_id(self.catalog.upload(rec.channel, now)))

    def change(
        self, channel: str, uploads: int, deletes: int, delete_ids: list[str], now_ms: int
    ) -> dict[str, list[str]]:
        """Upload to / delete from ``channel`` now, outside any listing's churn: ``deletes``
        random live videos of the channel plus every id in ``delete_ids``."""
        if channel not in IBM_CHANNEL_IDS:
            raise ValueError(f"unknown channel {channel!r}; one of {IBM_CHANNEL_IDS}")
        if uploads < 0 or deletes < 0:
            raise ValueError("uploads and deletes must be >= 0")
        live = self.catalog.listing(channel, now_ms)
        keys = self.rng.sample(live, min(int(deletes), len(live)))
        for vid in delete_ids:
            key = self.catalog.decode(str(vid))
            if key is None or not self.catalog.alive(key, now_ms):
                raise ValueError(f"video {vid!r} is not a live IBM video")
            keys.append(key)
        for key in keys:
            self.catalog.remove(key, now_ms)
        up = [self.catalog.upload(channel, now_ms) for _ in range(int(uploads))]
        return {
            "uploaded": [self.catalog.video_id(k) for k in up],
            "deleted": [self.catalog.video_id(k) for k in keys],
        }

    def public(self, now_ms: int, channel: str | None = None) -> list[dict[str, Any]]:
        return [
            r.public(self.catalog, now_ms)
            for r in self.records
            if channel is None or r.channel == channel
        ]

    def clear(self) -> None:
        self.records.clear()
        self.active.clear()
