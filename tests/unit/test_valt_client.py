"""ValtClient against httpx.MockTransport: the token in the query string, the login cached
and renewed once on a 401, refused logins, answers of the wrong shape, 404s that are and
are not VALT's, download URLs at the top level or under data, their token kept out of
errors and the stored URL, and the JWT's expiry."""

from __future__ import annotations

import asyncio
import base64
import json

import httpx
import orjson
import pytest

from connector.config import ValtSettings
from connector.http import AuthenticationError, RetryPolicy
from connector.valt.auth import ValtAuthError
from connector.valt.client import ValtClient, ValtShapeError

PASSWORD = "valt-password-0123456789"
SETTINGS = ValtSettings("http://valt.test/valt", "operator", PASSWORD)
FAST = RetryPolicy(max_attempts=3, initial_wait_s=0.001, max_wait_s=0.01, jitter=False)
NOT_FOUND = {
    "type": "https://tools.ietf.org/html/rfc2616#section-10",
    "title": "An error occurred",
    "status": 404,
    "detail": "Not Found",
}
BAD = {"error": {"code": 401, "message": "Bad credentials."}}


def b64(obj: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def jwt(exp: int, iat: int = 1_800_000_000) -> str:
    return f"{b64({'typ': 'JWT', 'alg': 'HS256'})}.{b64({'iat': iat, 'exp': exp})}.c2lnbmF0dXJl"


class FakeValt:
    """Login hands out tok-1, tok-2, ...; ``api(request, token)`` answers the rest; tokens
    listed in ``dead`` get 401."""

    def __init__(self, api, login=None):
        self.api = api
        self.login = login
        self.issued: list[str] = []
        self.dead: set[str] = set()
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/valt/api/v3/login":
            if self.login is not None:
                return self.login(request)
            body = orjson.loads(request.content)
            assert body == {"username": "operator", "password": PASSWORD}
            self.issued.append(f"tok-{len(self.issued) + 1}-0123456789abcdef")
            return httpx.Response(200, json={"data": {"access_token": self.issued[-1]}})
        token = request.url.params.get("access_token")
        if token is None:
            return httpx.Response(
                401, json={"error": {"code": 401, "message": "No API key provided"}}
            )
        if token in self.dead or token not in self.issued:
            return httpx.Response(401, json=BAD)
        return self.api(request, token)

    def count(self, part: str) -> int:
        return sum(1 for r in self.requests if part in r.url.path)


def run_with(fake, coro_fn):
    async def go():
        async with ValtClient(
            SETTINGS, transport=httpx.MockTransport(fake), retry=FAST, fast_transport=False
        ) as client:
            return await coro_fn(client)

    return asyncio.run(go())


def records_api(request, token):
    return httpx.Response(200, json={"data": {"records": [{"id": 1, "name": "a"}]}})


def test_the_token_travels_in_the_query_string_and_the_login_is_cached():
    fake = FakeValt(records_api)

    async def two_pages(c):
        return [await c.list_page(0, 10), await c.list_page(10, 10, "01-02-2026")]

    pages = run_with(fake, two_pages)
    assert pages[0] == [{"id": 1, "name": "a"}]
    assert fake.count("/login") == 1
    lists = [r for r in fake.requests if r.url.path.endswith("/records")]
    assert [r.url.params["access_token"] for r in lists] == [fake.issued[0]] * 2
    assert orjson.loads(lists[1].content) == {"offset": 10, "limit": 10, "start_date": "01-02-2026"}
    assert lists[0].method == "POST"


def test_a_401_logs_in_again_once_and_retries_with_the_new_token():
    fake = FakeValt(records_api)

    async def revoke_then_list(c):
        await c.list_page(0, 10)
        fake.dead.add(fake.issued[0])
        return await c.list_page(0, 10), c.session.logins

    _, logins = run_with(fake, revoke_then_list)
    assert logins == 2
    tokens = [r.url.params.get("access_token") for r in fake.requests if "records" in r.url.path]
    assert tokens == [fake.issued[0], fake.issued[0], fake.issued[1]]


def test_401s_past_two_new_logins_are_an_authentication_error():
    """Every token refused: the first login and two re-logins (RetryPolicy.max_reauths),
    then AuthenticationError naming none of the tokens."""
    fake = FakeValt(lambda r, t: httpx.Response(401, json=BAD))
    with pytest.raises(AuthenticationError) as info:
        run_with(fake, lambda c: c.list_page(0, 10))
    assert fake.count("/login") == 3
    for token in fake.issued:
        assert token not in str(info.value)


@pytest.mark.parametrize(
    ("status", "body", "words"),
    [
        (401, {"data": "Invalid username or password"}, "Invalid username or password"),
        (200, {"data": {}}, "without data.access_token"),
        (200, {"data": {"access_token": ""}}, "without data.access_token"),
    ],
)
def test_a_refused_login_fails_at_once_naming_why_never_the_password(status, body, words):
    fake = FakeValt(records_api, login=lambda r: httpx.Response(status, json=body))
    with pytest.raises(ValtAuthError) as info:
        run_with(fake, lambda c: c.list_page(0, 10))
    assert words in str(info.value)
    assert PASSWORD not in str(info.value)
    assert fake.count("/login") == 1  # not retried


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"error": {"code": 500, "message": "boom"}}, "error envelope with status 200"),
        ({"data": {"recordings": []}}, "'data.records' is not a list"),
        ({"data": {"records": None}}, "'data.records' is not a list"),
        ([], "no 'data'"),
    ],
)
def test_a_listing_of_the_wrong_shape_is_an_error_never_an_empty_page(body, words):
    fake = FakeValt(lambda r, t: httpx.Response(200, json=body))
    with pytest.raises(ValtShapeError, match=words):
        run_with(fake, lambda c: c.list_page(0, 10))


def test_details_404_in_valts_shape_means_gone_any_other_404_is_an_error():
    answers = {"gone": (404, NOT_FOUND), "proxy": (404, {"message": "no route"})}

    def api(request, token):
        rid = request.url.path.rsplit("/", 1)[1]
        status, body = answers.get(rid, (200, {"data": {"id": rid, "name": "x"}}))
        return httpx.Response(status, json=body)

    fake = FakeValt(api)
    assert run_with(fake, lambda c: c.details("gone")) is None
    assert run_with(fake, lambda c: c.details("abc-1")) == {"id": "abc-1", "name": "x"}
    with pytest.raises(ValtShapeError, match="RFC 7807"):
        run_with(fake, lambda c: c.details("proxy"))


def test_details_many_yields_each_answer_and_keeps_going_after_a_failure():
    def api(request, token):
        rid = request.url.path.rsplit("/", 1)[1]
        if rid == "3":
            return httpx.Response(200, json={"error": {"code": 500}})
        if rid == "4":
            return httpx.Response(404, json=NOT_FOUND)
        return httpx.Response(200, json={"data": {"id": int(rid)}})

    async def all_of(c):
        return {rid: r async for rid, r in c.details_many([str(i) for i in range(1, 9)], 3)}

    got = run_with(FakeValt(api), all_of)
    assert set(got) == {str(i) for i in range(1, 9)}
    assert isinstance(got["3"], ValtShapeError) and got["4"] is None
    assert got["8"] == {"id": 8}


@pytest.mark.parametrize("shape", ["top", "data"])
def test_a_minted_url_is_stored_without_its_token_with_the_jwts_expiry(shape):
    token = jwt(exp=1_800_001_800)
    url = (
        "http://cdn.test/distribution/r1/1_r1_1.mp4?filename=Just%252Ba%252Broom.mp4"
        f"&access_token={token}"
    )

    def api(request, t):
        assert request.url.raw_path.startswith(b"/valt/api/v3/records/download/r1/v%201?")
        return httpx.Response(200, json={"url": url} if shape == "top" else {"data": {"url": url}})

    minted = run_with(FakeValt(api), lambda c: c.mint_url("r1", "v 1"))
    assert minted.url == url
    assert (
        minted.stored_url
        == "http://cdn.test/distribution/r1/1_r1_1.mp4?filename=Just%252Ba%252Broom.mp4"
    )
    assert minted.expires_at_ms == 1_800_001_800_000
    assert token not in repr(minted)


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (404, NOT_FOUND, None),
        (200, {"data": {"link": "x"}}, "no 'url'"),
        (200, {"url": "/relative/path.mp4?access_token=abcdefghijk"}, "absolute"),
    ],
)
def test_download_answers_that_are_gone_or_unusable(status, body, error):
    fake = FakeValt(lambda r, t: httpx.Response(status, json=body))
    if error is None:
        assert run_with(fake, lambda c: c.mint_url("r1", "v1")) is None
        return
    with pytest.raises(ValtShapeError, match=error) as info:
        run_with(fake, lambda c: c.mint_url("r1", "v1"))
    assert "abcdefghijk" not in str(info.value)


def test_settings_name_every_missing_variable_and_hide_the_password():
    from connector.config import MissingConfigError

    with pytest.raises(MissingConfigError) as info:
        ValtSettings.from_env({"VALT_USERNAME": "u"})
    assert info.value.missing == ["VALT_BASE_URL", "VALT_PASSWORD"]
    env = {"VALT_BASE_URL": "http://h/valt/", "VALT_USERNAME": "u", "VALT_PASSWORD": PASSWORD}
    settings = ValtSettings.from_env(env)
    assert settings.base_url == "http://h/valt"
    assert PASSWORD not in repr(settings) and "***" in repr(settings)
