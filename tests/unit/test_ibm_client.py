"""IbmClient and TokenProvider against httpx.MockTransport: empty PUT bodies, token
refusals, the rate-limit scope, channel listings that are not listings or never end,
expiration epochs."""

from __future__ import annotations

import asyncio
import time

import httpx
import orjson
import pytest

from connector.config import IbmSettings
from connector.http import RetryPolicy
from connector.ibm.client import IbmApiError, IbmClient, parse_expiration
from connector.ibm.token import IbmAuthError

SECRET = "s3cret-client-value"
SETTINGS = IbmSettings(
    api_url="http://ibm.test/api",
    token_url="http://ibm.test/oauth2/token",
    client_id="client-1",
    client_secret=SECRET,
    channel_ids=("77",),
)
FAST = RetryPolicy(max_attempts=4, initial_wait_s=0.001, max_wait_s=0.01, jitter=False)
TOKEN = {"access_token": "tok-123", "token_type": "bearer", "expires_in": 3600}


class FakeIbm:
    """Token endpoint answers ``token``; other paths go to ``api(request)``."""

    def __init__(self, api=None, token=None):
        self.api = api
        self.token = token or (lambda: httpx.Response(200, json=TOKEN))
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/oauth2/token":
            return self.token()
        return self.api(request)

    def count(self, path_part: str) -> int:
        return sum(1 for r in self.requests if path_part in r.url.path)


def run_with(fake, coro_fn, settings=SETTINGS, **kw):
    async def go():
        async with IbmClient(
            settings, transport=httpx.MockTransport(fake), retry=FAST, fast_transport=False, **kw
        ) as client:
            return await coro_fn(client)

    return asyncio.run(go())


async def _listing(client, channel="77"):
    return [page async for page in client.channel_pages(channel)]


# -- PUT expiration ---------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"", b"  \n", b'{"expiration": {"rule": "never"}}'])
def test_a_put_answered_200_with_an_empty_body_is_a_success(body):
    fake = FakeIbm(lambda r: httpx.Response(200, content=body))
    assert run_with(fake, lambda c: c.set_never("123")) == "ok"
    puts = [r for r in fake.requests if r.method == "PUT"]
    assert len(puts) == 1  # not retried
    assert puts[0].content == b"rule=never"


# -- token ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "words"),
    [
        (
            400,
            {"error": "invalid_request", "error_description": "client_id missing"},
            "invalid_request",
        ),
        (501, {"error": "unsupported_grant_type"}, "unsupported_grant_type"),
        (401, {"error": "invalid_client"}, "invalid_client"),
        (400, {"error": "invalid_grant"}, "invalid_grant"),
        (403, None, "403"),
        (200, {"token_type": "bearer", "expires_in": 3600}, "without an access_token"),
        (200, {"access_token": ""}, "without an access_token"),
        (200, "<html>proxy</html>", "not a JSON object"),
        (400, "<html>bad</html>", "400"),
    ],
)
def test_token_refusals_fail_fast_with_a_clear_message(status, body, words):
    content = (
        body.encode() if isinstance(body, str) else (b"" if body is None else orjson.dumps(body))
    )
    fake = FakeIbm(
        api=lambda r: httpx.Response(200, json={"videos": []}),
        token=lambda: httpx.Response(status, content=content),
    )
    with pytest.raises(IbmAuthError) as info:
        run_with(fake, _listing)
    message = str(info.value)
    assert words in message
    assert "http://ibm.test/oauth2/token" in message
    assert SECRET not in message
    assert fake.count("/oauth2/token") == 1  # never retried
    assert fake.count("/channels/") == 0


def test_a_token_endpoint_503_is_still_retried():
    answers = iter([httpx.Response(503), httpx.Response(200, json=TOKEN)])
    fake = FakeIbm(
        api=lambda r: httpx.Response(200, json={"videos": []}), token=lambda: next(answers)
    )
    assert run_with(fake, _listing) == [[]]
    assert fake.count("/oauth2/token") == 2


# -- rate-limit scope -------------------------------------------------------------------


def _limited(request: httpx.Request) -> httpx.Response:
    headers = {
        "X-RateLimit-Limit": "10",
        "X-RateLimit-Remaining": "9",
        "X-RateLimit-Reset": str(int(time.time()) + 1),
    }
    return httpx.Response(200, json={"videos": []}, headers=headers)


def test_host_scope_shares_one_budget_between_listing_expiration_and_token_calls():
    async def learn(client):
        await _listing(client)
        return client

    client = run_with(FakeIbm(_limited), learn)
    assert client.ratelimit_scope == "host"
    token_limiter = client.tokens._http.rate_limiter
    assert (
        client.listing_limiter.current is client.expiration_limiter.current is token_limiter.current
    )
    # what the listing's headers taught paces the expiration calls too
    assert client.expiration_limiter.interval > 0


def test_endpoint_scope_keeps_a_budget_per_endpoint():
    async def learn(client):
        await _listing(client)
        return client

    client = run_with(FakeIbm(_limited), learn, ratelimit_scope="endpoint")
    assert client.listing_limiter is not client.expiration_limiter
    assert client.tokens._http.rate_limiter not in (
        client.listing_limiter,
        client.expiration_limiter,
    )
    assert client.listing_limiter.interval > 0
    assert client.expiration_limiter.interval == 0


def test_a_token_host_elsewhere_keeps_its_own_limiter_in_host_scope():
    other = IbmSettings(**{**SETTINGS.__dict__, "token_url": "http://login.test/oauth2/token"})
    client = IbmClient(other, fast_transport=False)
    assert client.tokens._http.rate_limiter is not client.listing_limiter
    asyncio.run(client.aclose())


def test_the_scope_setting_comes_from_the_environment_and_is_validated():
    env = {
        "IBM_VIDEO_CLIENT_ID": "c",
        "IBM_VIDEO_CLIENT_SECRET": "s",
        "IBM_VIDEO_CHANNEL_IDS": "1,2",
    }
    assert IbmSettings.from_env(env).ratelimit_scope == "host"
    assert (
        IbmSettings.from_env({**env, "IBM_VIDEO_RATELIMIT_SCOPE": "Endpoint"}).ratelimit_scope
        == "endpoint"
    )
    with pytest.raises(ValueError, match="IBM_VIDEO_RATELIMIT_SCOPE"):
        IbmSettings.from_env({**env, "IBM_VIDEO_RATELIMIT_SCOPE": "global"})
    assert "s" not in repr(IbmSettings.from_env(env)).split("client_secret=")[1][:5]


# -- channel listing --------------------------------------------------------------------

NEXT = "http://ibm.test/api/channels/77/videos.json?page={}&pagesize=50"


def _videos(ids):
    return [{"id": str(i), "title": f"v{i}"} for i in ids]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"error": "not_found", "error_description": "Channel was not found"}, "not_found"),
        ({"error": "internal"}, "error"),
        ({"paging": {}}, "'videos'"),
        ({"videos": None, "paging": {}}, "'videos'"),
        ({"videos": {"1": {}}}, "'videos'"),
        ([], "JSON object"),
        ({"videos": [], "paging": []}, "paging"),
        ({"videos": [], "paging": {"next": 2}}, "paging.next"),
    ],
)
def test_a_listing_page_that_is_not_a_listing_is_an_error_for_that_channel(body, words):
    fake = FakeIbm(lambda r: httpx.Response(200, json=body))
    with pytest.raises(IbmApiError) as info:
        run_with(fake, _listing)
    assert info.value.channel_id == "77"
    assert "channel 77" in str(info.value) and words in str(info.value)


def _pages(make_page, last: int = 100):
    """api handler serving page N (from the URL) as ``make_page(N)``; ``last`` ends the
    listing anyway (so a broken bound fails the test quickly instead of hanging it)."""

    def api(request: httpx.Request) -> httpx.Response:
        n = int(request.url.params["page"])
        body = make_page(n)
        if n >= last:
            body["paging"].pop("next", None)
        return httpx.Response(200, json=body)

    return api


def test_a_next_that_keeps_repeating_the_same_videos_stops_with_a_clear_error():
    fake = FakeIbm(
        _pages(lambda n: {"videos": _videos(range(50)), "paging": {"next": NEXT.format(n + 1)}})
    )
    with pytest.raises(IbmApiError, match="no video not already listed"):
        run_with(fake, _listing)
    assert fake.count("/channels/") == 4  # the first page, then 3 pages of nothing new


def test_a_next_beyond_the_reported_page_count_stops_with_a_clear_error():
    def page(n):
        ids = range(n * 50, n * 50 + 50)  # always new videos
        return {"videos": _videos(ids), "paging": {"next": NEXT.format(n + 1), "page_count": 4}}

    fake = FakeIbm(_pages(page))
    with pytest.raises(IbmApiError, match="page_count=4"):
        run_with(fake, _listing)
    assert fake.count("/channels/") == 4 + 5  # page_count plus the slack of 5 pages


def test_a_next_beyond_the_reported_item_count_stops_with_a_clear_error():
    def page(n):
        ids = range(n * 50, n * 50 + 50)
        return {"videos": _videos(ids), "paging": {"next": NEXT.format(n + 1), "item_count": "120"}}

    fake = FakeIbm(_pages(page))
    with pytest.raises(IbmApiError, match="item_count=120"):
        run_with(fake, _listing)
    assert fake.count("/channels/") == 3 + 5  # ceil(120 / 50) pages plus the slack


def test_a_listing_without_counts_stops_at_the_hard_cap():
    def page(n):
        return {"videos": _videos([n]), "paging": {"next": NEXT.format(n + 1)}}

    fake = FakeIbm(_pages(page))
    with pytest.raises(IbmApiError, match="hard cap of 30 pages"):
        run_with(fake, _listing, max_listing_pages=30)
    assert fake.count("/channels/") == 30


def test_a_listing_that_shifts_under_uploads_within_its_counts_completes():
    """Newest first: 3 uploads between pages repeat the tail of the last page."""
    total = 230

    def page(n):
        start = (n - 1) * 50 - 3 * (n - 1)  # shifted back by 3 per page
        ids = list(range(max(0, start), min(total + 3 * n, start + 50)))
        nxt = {"next": NEXT.format(n + 1)} if start + 50 < total + 3 * n else {}
        return {
            "videos": _videos(ids),
            "paging": {**nxt, "item_count": total + 3 * n, "page_count": 5},
        }

    pages = run_with(FakeIbm(_pages(page)), _listing)
    seen = {v["id"] for p in pages for v in p}
    assert len(pages) == 6 and len(seen) >= total


def test_a_next_url_seen_before_is_an_error():
    fake = FakeIbm(_pages(lambda n: {"videos": _videos([n]), "paging": {"next": NEXT.format(2)}}))
    with pytest.raises(IbmApiError, match="repeats"):
        run_with(fake, _listing)


def test_a_next_to_another_host_is_an_error():
    body = {"videos": [], "paging": {"next": "http://evil.test/api/channels/77/videos.json?page=2"}}
    with pytest.raises(IbmApiError, match="another host"):
        run_with(FakeIbm(lambda r: httpx.Response(200, json=body)), _listing)


# -- expiration epochs ------------------------------------------------------------------


def test_expiration_epochs_are_range_checked_seconds():
    ok = parse_expiration(
        "1", 200, {"expiration": {"rule": "at_given_time", "expires_at": "1732400000"}}
    )
    assert ok.expires_at == 1_732_400_000
    for bad in (1_732_400_000_000, 0, None, "soon", True):
        with pytest.raises(ValueError, match="expires_at"):
            parse_expiration("1", 200, {"expiration": {"rule": "at_given_time", "expires_at": bad}})
