"""IBM rate-limit scope: a budget per endpoint, or one per client address shared by the API
endpoints (the token endpoint, another host at the vendor, keeps its own)."""

from __future__ import annotations

import httpx
import pytest

from .ibm_client import Ibm

FOREVER = 1e9  # a window no test run crosses


@pytest.fixture
def ibm(fresh_sandbox):
    c = Ibm(fresh_sandbox.env)
    yield c
    c.close()


def video(sandbox) -> str:
    return next(r["id"] for r in sandbox.expected_ibm() if r["listed"] and not r["check_error"])


def budget(r: httpx.Response) -> tuple[int, int, int]:
    return (
        r.status_code,
        int(r.headers["X-RateLimit-Limit"]),
        int(r.headers["X-RateLimit-Remaining"]),
    )


def test_endpoint_scope_gives_each_endpoint_its_own_budget(ibm, fresh_sandbox):
    vid, channel = video(fresh_sandbox), ibm.channels[0]
    ibm.login()  # the token first, from the token budget
    fresh_sandbox.ibm_config(
        rate_limits={
            "videos": {"limit": 2, "window_s": FOREVER},
            "expiration": {"limit": 3, "window_s": FOREVER},
        }
    )
    assert fresh_sandbox.ibm_config()["ratelimit_scope"] == "endpoint"
    assert [budget(ibm.page(channel)) for _ in range(3)] == [(200, 2, 1), (200, 2, 0), (429, 2, 0)]
    assert [budget(ibm.expiration(vid)) for _ in range(4)] == [
        (200, 3, 2),
        (200, 3, 1),
        (200, 3, 0),
        (429, 3, 0),
    ]
    assert fresh_sandbox.ibm_stats()["responses_429"] == {"token": 0, "videos": 1, "expiration": 1}


def test_client_scope_shares_one_budget_across_the_api_but_not_the_token_endpoint(
    ibm, fresh_sandbox
):
    vid, channel = video(fresh_sandbox), ibm.channels[0]
    ibm.login()
    fresh_sandbox.ibm_config(
        ratelimit_scope="client",
        rate_limits={"client": {"limit": 4, "window_s": FOREVER}},
    )
    got = [
        budget(ibm.page(channel)),
        budget(ibm.expiration(vid)),
        budget(ibm.page(channel, 2)),
        budget(ibm.expiration(vid)),
        budget(ibm.expiration(vid)),
        budget(ibm.page(channel)),
    ]
    assert got == [(200, 4, 3), (200, 4, 2), (200, 4, 1), (200, 4, 0), (429, 4, 0), (429, 4, 0)]
    token = ibm.token_response()  # its own budget: default 20 per second
    assert token.status_code == 200 and int(token.headers["X-RateLimit-Limit"]) == 20
    stats = fresh_sandbox.ibm_stats()
    assert stats["responses_429"] == {"token": 0, "videos": 1, "expiration": 1}
    assert stats["clients"]["127.0.0.1"] == {"requests": 6, "responses_429": 2}


def test_client_scope_budgets_are_per_client_address(ibm, fresh_sandbox):
    vid = video(fresh_sandbox)
    ibm.login()
    fresh_sandbox.ibm_config(
        ratelimit_scope="client", rate_limits={"client": {"limit": 1, "window_s": FOREVER}}
    )
    assert budget(ibm.expiration(vid))[0] == 200
    assert budget(ibm.expiration(vid))[0] == 429
    other = Ibm(fresh_sandbox.env, transport=httpx.HTTPTransport(local_address="127.0.0.2"))
    try:
        other.login(ibm.login())
        assert budget(other.expiration(vid)) == (200, 1, 0)
    finally:
        other.close()
    assert set(fresh_sandbox.ibm_stats()["clients"]) == {"127.0.0.1", "127.0.0.2"}


def test_an_unknown_scope_is_refused(fresh_sandbox):
    with pytest.raises(RuntimeError, match="ratelimit_scope"):
        fresh_sandbox.ibm_config(ratelimit_scope="host")
