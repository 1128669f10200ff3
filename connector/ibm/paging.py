"""Checks on one IBM channel listing: a page's shape, and a bound on the walk.

IBM pages a channel with ``paging.next`` and says how big the listing is
(``paging.page_count``, ``paging.item_count``). A listing must end: :class:`ListingBound`
stops it with an :class:`IbmApiError` naming the channel when ``next`` keeps going past
what the vendor reported (plus slack for uploads during the walk), when pages stop
bringing videos not seen before, or past a hard cap of pages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from connector.records import number

HARD_MAX_PAGES = 200_000


class IbmApiError(RuntimeError):
    """IBM answered something the connector cannot use (bad shape, an error envelope with
    status 200, a listing that does not end, a foreign next URL...). ``channel_id`` names
    the channel when the call was a channel listing."""

    def __init__(self, message: str, *, channel_id: str | None = None) -> None:
        super().__init__(message)
        self.channel_id = channel_id


def listing_videos(body: Any, channel_id: str, redact: Any = str) -> tuple[list[Any], dict]:
    """``(videos, paging)`` of one listing page; IbmApiError when the shape is wrong.

    A 200 answer that is an error envelope (``{"error": ...}``) or lacks the ``videos``
    list is an error for the channel, never an empty page. ``redact`` scrubs the vendor's
    error text.
    """
    where = f"IBM channel {channel_id} listing"
    if not isinstance(body, dict):
        raise IbmApiError(
            f"{where}: not a JSON object ({type(body).__name__})", channel_id=channel_id
        )
    videos = body.get("videos")
    if "error" in body and videos is None:
        detail = redact(f"{body.get('error')} {body.get('error_description') or ''}".strip())
        raise IbmApiError(f"{where}: 200 OK with an error: {detail}", channel_id=channel_id)
    if not isinstance(videos, list):
        got = "missing" if videos is None else type(videos).__name__
        raise IbmApiError(f"{where}: 'videos' is not a list ({got})", channel_id=channel_id)
    paging = body.get("paging")
    if paging is None:
        paging = {}
    if not isinstance(paging, dict):
        raise IbmApiError(f"{where}: 'paging' is not an object", channel_id=channel_id)
    nxt = paging.get("next")
    if nxt is not None and not isinstance(nxt, str):
        raise IbmApiError(f"{where}: paging.next is not a URL: {nxt!r}", channel_id=channel_id)
    return videos, paging


def _count(paging: dict, name: str) -> int | None:
    """A positive count the vendor reported, None when absent or unusable (a hint only)."""
    try:
        value = number(paging.get(name), name)
    except ValueError:
        return None
    return int(value) if value > 0 else None


def item_count(paging: dict) -> int | None:
    """The channel's size as a listing page reports it (``paging.item_count``), if usable."""
    return _count(paging, "item_count")


@dataclass
class ListingBound:
    """Bound on one channel's walk, fed every page with :meth:`check`.

    Past ``page_count`` (or ``ceil(item_count / first page size)``) + slack pages, after
    ``stall_pages`` consecutive pages without a video id not seen before, or past
    ``max_pages``: IbmApiError. Slack is ``max(slack_pages, 10%)`` of the bound.
    """

    channel_id: str
    max_pages: int = HARD_MAX_PAGES
    stall_pages: int = 3
    slack_pages: int = 5
    pages: int = 0
    page_count: int | None = None
    item_count: int | None = None
    first_size: int = 0
    stalled: int = 0
    seen: set[str] = field(default_factory=set)

    def reported_pages(self) -> int | None:
        """The largest listing length the vendor reported, in pages."""
        estimates = []
        if self.page_count is not None:
            estimates.append(self.page_count)
        if self.item_count is not None and self.first_size > 0:
            estimates.append(math.ceil(self.item_count / self.first_size))
        return max(estimates) if estimates else None

    def check(self, videos: list[Any], paging: dict) -> None:
        """Account for one page; raise if following its ``next`` would break the bound."""
        self.pages += 1
        if self.pages == 1:
            self.first_size = len(videos)
        for name in ("page_count", "item_count"):
            reported = _count(paging, name)
            if reported is not None and reported > (getattr(self, name) or 0):
                setattr(self, name, reported)
        ids = {str(v["id"]) for v in videos if isinstance(v, dict) and v.get("id") is not None}
        new = ids - self.seen
        self.seen |= new
        self.stalled = 0 if new else self.stalled + 1
        if not paging.get("next"):
            return
        where = f"IBM channel {self.channel_id} listing"
        if self.stalled >= self.stall_pages:
            raise IbmApiError(
                f"{where}: {self.stalled} pages in a row (up to page {self.pages}) brought no "
                "video not already listed, and paging.next keeps going",
                channel_id=self.channel_id,
            )
        reported = self.reported_pages()
        if reported is not None:
            bound = reported + max(self.slack_pages, reported // 10)
            if self.pages >= bound:
                raise IbmApiError(
                    f"{where}: paging.next continues past page {self.pages}, beyond the "
                    f"page_count={self.page_count} / item_count={self.item_count} the vendor "
                    "reported",
                    channel_id=self.channel_id,
                )
        if self.pages >= self.max_pages:
            raise IbmApiError(
                f"{where}: paging.next continues past the hard cap of {self.max_pages} pages",
                channel_id=self.channel_id,
            )
