"""IrisClient against httpx.MockTransport: both tokens in every query string, recs_only
forced to true, one renewal on "no longer valid", client_token errors not retried,
refreshes sent once, the data API's 204, Watch shapes."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from connector.config import IrisSettings
from connector.http import HttpError, RetryPolicy
from connector.iris.auth import IrisAuthError
from connector.iris.client import IrisApiError, IrisClient
from connector.secrets import redact_text

SETTINGS = IrisSettings(
    base_url="http://iris.test/iris",
    client_id="client-1",
    client_secret="s3cret-iris-client",
    client_token="CLIENTTOKEN42",
    platform="VideoPublisher",
)
FAST = RetryPolicy(max_attempts=4, initial_wait_s=0.001, max_wait_s=0.01, jitter=False)
EXPIRED = {"errors": ["The access token is no longer valid"]}
BAD_CLIENT = {"errors": ["IRIS API: Check your authentication credentials"]}
WATCH_BODY = (
    "callback({\n'success': true,\n'next': [\n{\n'iris_id': 'iris_a',\n'platform_id': 'P1'',\n},"
    "\n{\n'iris_id': 'iris_b',\n'platform_id': 'P2',\n},\n],\n'experience': 'e1',\n})"
)


class FakeIris:
    """Tokens ``tok-1``, ``tok-2``, ... from the token path; other paths go to ``api``.
    ``requests`` keeps a copy of each request as it was sent (the auth flow reuses the
    request object for its one resend)."""

    def __init__(self, api):
        self.api = api
        self.tokens = 0
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(httpx.Request(request.method, request.url, content=request.read()))
        if request.url.path.endswith("/oauth/access_token"):
            self.tokens += 1
            return httpx.Response(200, json={"access_token": f"tok-{self.tokens}", "scope": "x"})
        return self.api(request)

    def calls(self, path_end: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path.endswith(path_end)]


def run_with(fake, coro_fn, **kw):
    async def go():
        async with IrisClient(
            SETTINGS, transport=httpx.MockTransport(fake), retry=FAST, **kw
        ) as client:
            return await coro_fn(client)

    return asyncio.run(go())


def jsonp(body: str = WATCH_BODY) -> httpx.Response:
    return httpx.Response(200, text=body, headers={"content-type": "text/javascript"})


def test_every_call_carries_both_tokens_and_watch_and_next_carry_recs_only_true():
    fake = FakeIris(lambda r: jsonp())

    async def calls(client):
        await client.watch("P1", 5)
        await client.next("e1", "P1", 5)
        # even a caller building its own recs_only cannot send anything else
        for path in ("/watch", "/next"):
            await client.http.request(
                "GET", path, params={"recs_only": "false", "platform_id": "P1"}, parse=None
            )
        await client.http.request("GET", "/other", parse=None)

    run_with(fake, calls)
    api = [r for r in fake.requests if not r.url.path.endswith("access_token")]
    assert len(api) == 5
    for r in api:
        assert r.url.params["access_token"] == "tok-1"
        assert r.url.params["client_token"] == "CLIENTTOKEN42"
    personalization = [r for r in api if r.url.path.endswith(("/watch", "/next"))]
    assert len(personalization) == 4
    assert all(r.url.params.get_list("recs_only") == ["true"] for r in personalization)
    assert "recs_only" not in api[-1].url.params


def test_the_token_call_is_the_documented_form():
    fake = FakeIris(lambda r: jsonp())
    run_with(fake, lambda c: c.watch("P1", 1))
    (token_call,) = fake.calls("/oauth/access_token")
    assert token_call.method == "POST"
    form = dict(httpx.QueryParams(token_call.content.decode()))
    assert form == {
        "grant_type": "none",
        "client_id": "client-1",
        "client_secret": "s3cret-iris-client",
        "scope": "iris_tv",
    }


def test_an_expired_token_is_renewed_once_and_the_call_sent_again():
    def api(request):
        if request.url.params["access_token"] == "tok-1":
            return httpx.Response(401, json=EXPIRED)
        return jsonp()

    fake = FakeIris(api)

    async def go(client):
        result = await client.watch("P1", 5)
        return result, client.session.renewals

    result, renewals = run_with(fake, go)
    assert result.echo["iris_id"] == "iris_a"
    assert renewals == 1
    assert fake.tokens == 2
    assert [r.url.params["access_token"] for r in fake.calls("/watch")] == ["tok-1", "tok-2"]


def test_a_token_refused_again_after_renewal_fails_without_a_third_try():
    fake = FakeIris(lambda r: httpx.Response(401, json=EXPIRED))
    with pytest.raises(IrisAuthError, match="again right after renewing"):
        run_with(fake, lambda c: c.watch("P1", 5))
    assert len(fake.calls("/watch")) == 2
    assert fake.tokens == 2


def test_a_wrong_client_token_fails_at_once_and_clearly():
    fake = FakeIris(lambda r: httpx.Response(401, json=BAD_CLIENT))
    with pytest.raises(IrisAuthError) as err:
        run_with(fake, lambda c: c.asset("iris_a"))
    assert "IRIS_CLIENT_TOKEN" in str(err.value)
    assert "Check your authentication credentials" in str(err.value)
    assert "CLIENTTOKEN42" not in str(err.value)
    assert len(fake.calls("/video_assets")) == 1, "a client_token error was retried"
    assert fake.tokens == 1, "a client_token error renewed the access token"


def test_concurrent_calls_with_a_stale_token_share_one_renewal():
    def api(request):
        if request.url.params["access_token"] == "tok-1":
            return httpx.Response(401, json=EXPIRED)
        return jsonp()

    fake = FakeIris(api)
    in_flight = [0, 0]

    async def overlapping(request):  # every call waits, so all 12 are out with tok-1
        in_flight[0] += 1
        in_flight[1] = max(in_flight)
        await asyncio.sleep(0.02)
        in_flight[0] -= 1
        return fake(request)

    async def go(client):
        await client.session.ensure()
        await asyncio.gather(*(client.watch(f"P{i}", 2) for i in range(12)))

    run_with(overlapping, go, concurrency=12)
    assert in_flight[1] == 12, "the calls did not overlap: the test proves nothing"
    assert len(fake.calls("/watch")) == 24
    assert fake.tokens == 2


def test_a_refused_token_call_names_the_variables_not_the_secret():
    def handler(request):
        if request.url.path.endswith("/oauth/access_token"):
            return httpx.Response(401, json=BAD_CLIENT)
        raise AssertionError("no API call without a token")

    with pytest.raises(IrisAuthError) as err:
        run_with(handler, lambda c: c.watch("P1", 5))
    text = str(err.value)
    assert "IRIS_CLIENT_ID" in text and "client-1" in text
    assert "s3cret-iris-client" not in text


def test_tokens_and_secrets_are_registered_with_the_redactor():
    fake = FakeIris(lambda r: jsonp())
    run_with(fake, lambda c: c.watch("P1", 1))
    text = "tok-1 is too short to register; s3cret-iris-client CLIENTTOKEN42"
    assert redact_text(text) == "tok-1 is too short to register; *** ***"


def test_a_refresh_answered_503_is_returned_and_not_retried():
    fake = FakeIris(lambda r: httpx.Response(503, json={"errors": ["please retry"]}))
    answer = run_with(fake, lambda c: c.refresh_source_url("iris_a"))
    assert answer.status == 503 and answer.source_url is None
    assert answer.errors == ["please retry"]
    assert len(fake.calls("/source_url")) == 1


def test_a_refresh_whose_answer_is_lost_is_not_sent_again():
    def api(request):
        raise httpx.ReadError("connection reset", request=request)

    fake = FakeIris(api)
    with pytest.raises(HttpError):
        run_with(fake, lambda c: c.refresh_source_url("iris_a"))
    assert len(fake.calls("/source_url")) == 1
    # the data API, by contrast, is retried by the core
    with pytest.raises(HttpError):
        run_with(fake, lambda c: c.asset("iris_a"))
    assert len(fake.calls("/video_assets")) == FAST.max_attempts


def test_a_refresh_url_comes_back_with_its_token_but_never_in_its_repr():
    url = "http://cdn.test/v.mp4?token=abcdef123456&expires=1"
    fake = FakeIris(lambda r: httpx.Response(200, json={"iris_id": "iris_a", "source_url": url}))
    answer = run_with(fake, lambda c: c.refresh_source_url("iris_a"))
    assert answer.source_url == url
    assert "abcdef123456" not in repr(answer)


def test_the_data_api_204_is_an_unknown_id_and_an_error_envelope_is_an_error():
    fake = FakeIris(lambda r: httpx.Response(204))
    assert run_with(fake, lambda c: c.asset("iris_x")) is None
    fake = FakeIris(lambda r: httpx.Response(200, json={"errors": ["boom"]}))
    with pytest.raises(IrisApiError, match="boom"):
        run_with(fake, lambda c: c.asset("iris_x"))


def test_default_recs_has_no_echo():
    body = "cb({'success': true, 'default_recs': true, 'next': [{'iris_id': 'd1'}], 'experience': 'e'})"
    result = run_with(FakeIris(lambda r: jsonp(body)), lambda c: c.watch("nobody", 1))
    assert result.default_recs is True
    assert result.echo is None
    assert result.recommendations == [{"iris_id": "d1"}]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("cb({'success': true, 'experience': 'e'})", "no 'next' list"),
        ("cb({'success': true, 'next': []})", "no 'experience'"),
        ("cb({'success': false, 'errors': ['x'], 'next': [], 'experience': 'e'})", "success false"),
        ("cb(['not', 'an', 'object'])", "not an object"),
    ],
)
def test_a_watch_of_the_wrong_shape_is_an_error_not_an_empty_result(body, problem):
    with pytest.raises(IrisApiError, match=problem):
        run_with(FakeIris(lambda r: jsonp(body)), lambda c: c.watch("P1", 1))


def test_next_with_an_invalid_experience_is_an_api_error():
    fake = FakeIris(lambda r: httpx.Response(400, json={"errors": ["invalid experience"]}))
    with pytest.raises(IrisApiError, match="invalid experience"):
        run_with(fake, lambda c: c.next("nope", "P1", 3))
