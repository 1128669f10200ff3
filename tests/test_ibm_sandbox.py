"""The IBM emulation answers as documented: token errors, paging, every expiration error
with its status and body, rate-limit headers and 429s."""

from __future__ import annotations

import time

import httpx
import pytest


@pytest.fixture
def ibm(fresh_sandbox):
    fresh_sandbox.reset(seed=7, assets=600)
    env = fresh_sandbox.env
    with httpx.Client(timeout=10) as c:
        yield fresh_sandbox, env, c


def token(env, c, **overrides) -> httpx.Response:
    data = {"grant_type": "client_credentials", "client_id": env["IBM_VIDEO_CLIENT_ID"]}
    auth = (env["IBM_VIDEO_CLIENT_ID"], env["IBM_VIDEO_CLIENT_SECRET"])
    data.update(overrides.pop("data", {}))
    return c.post(env["IBM_VIDEO_TOKEN_URL"], data=data, auth=overrides.pop("auth", auth))


def test_token_and_its_errors(ibm):
    sb, env, c = ibm
    r = token(env, c)
    body = r.json()
    assert r.status_code == 200 and body["token_type"] == "bearer" and body["expires_in"] == 86400
    for k in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
        assert k in r.headers
    bad = token(env, c, auth=(env["IBM_VIDEO_CLIENT_ID"], "wrong"))
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_client"
    assert "error_description" in bad.json()
    grant = token(env, c, data={"grant_type": "password"})
    assert grant.status_code == 400 and grant.json()["error"] == "invalid_grant"


def test_paging_clamps_pagesize_and_next_is_absolute_and_absent_on_the_last_page(ibm):
    sb, env, c = ibm
    h = {"Authorization": f"Bearer {token(env, c).json()['access_token']}"}
    url = f"{env['IBM_VIDEO_API_URL']}/channels/{env['IBM_VIDEO_CHANNEL_IDS'].split(',')[0]}/videos.json"
    seen, pages = [], 0
    r = c.get(url, params={"page": 1, "pagesize": 100}, headers=h)
    while True:
        body = r.json()
        pages += 1
        assert len(body["videos"]) <= 50
        seen += [v["id"] for v in body["videos"]]
        nxt = body["paging"].get("next")
        if pages > 1:
            assert body["paging"]["previous"].startswith("http://")
        if not nxt:
            break
        assert len(body["videos"]) == 50 and nxt.startswith("http://127.0.0.1:")
        r = c.get(nxt, headers=h)
    assert pages >= 2 and len(seen) == len(set(seen))
    assert (
        {
            "id",
            "title",
            "description",
            "length",
            "created_at",
            "added_at",
            "file_size",
            "views",
            "protect",
        }
        <= set(body["videos"][0])
        if body["videos"]
        else True
    )
    unknown = c.get(url.replace("/channels/", "/channels/999"), headers=h)
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"


def test_expiration_bodies_and_every_documented_error(ibm):
    sb, env, c = ibm
    tok = token(env, c).json()["access_token"]
    h = {"Authorization": f"Bearer {tok}"}
    api = env["IBM_VIDEO_API_URL"]
    rows = [r for r in sb.expected_ibm() if r["listed"]]
    by = {}
    for r in rows:
        by.setdefault(r["check_error"] or r["rule"], r["id"])
    assert set(by) == {"never", "at_given_time", "lack_of_ownership", "forbidden", "not_found"}

    def get(vid, headers=h):
        return c.get(f"{api}/videos/{vid}/expiration.json", headers=headers)

    assert get(by["never"]).json() == {"expiration": {"rule": "never"}}
    at = get(by["at_given_time"]).json()["expiration"]
    assert at["rule"] == "at_given_time" and isinstance(at["expires_at"], int)
    for kind, status in (("lack_of_ownership", 403), ("forbidden", 403), ("not_found", 404)):
        r = get(by[kind])
        assert (
            r.status_code == status and r.json()["error"] == kind and r.json()["error_description"]
        )
    assert get("1").status_code == 404
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {tok}"}):
        r = get(by["never"], headers)
        assert r.status_code == 401 and r.json()["error"] == "invalid_token"
    put = c.put(
        f"{api}/videos/{by['at_given_time']}/expiration.json", headers=h, data={"rule": "later"}
    )
    assert put.status_code == 400 and put.json()["error"] == "bad_request"
    put = c.put(f"{api}/videos/{by['at_given_time']}/expiration.json", headers=h, data={})
    assert put.status_code == 400
    put = c.put(
        f"{api}/videos/{by['at_given_time']}/expiration.json", headers=h, data={"rule": "never"}
    )
    assert put.status_code == 200
    assert get(by["at_given_time"]).json() == {"expiration": {"rule": "never"}}
    sb.ibm_config(p_503=1.0)
    r = get(by["never"])
    assert r.status_code == 503 and r.json()["error"] == "temporarily_unavailable"
    sb.ibm_config(p_503=0.0)
    # revocation and expiry
    sb.ibm_revoke()
    assert get(by["never"]).status_code == 401
    sb.ibm_config(token_ttl_s=0.3)
    h2 = {"Authorization": f"Bearer {token(env, c).json()['access_token']}"}
    assert get(by["never"], h2).status_code == 200
    time.sleep(0.4)
    assert get(by["never"], h2).status_code == 401


def test_rate_limit_headers_and_429(ibm):
    sb, env, c = ibm
    sb.ibm_config(rate_limits={"expiration": {"limit": 5, "window_s": 2}})
    h = {"Authorization": f"Bearer {token(env, c).json()['access_token']}"}
    vid = next(r["id"] for r in sb.expected_ibm() if r["listed"] and not r["check_error"])
    statuses, remaining = [], []
    for _ in range(8):
        r = c.get(f"{env['IBM_VIDEO_API_URL']}/videos/{vid}/expiration.json", headers=h)
        statuses.append(r.status_code)
        remaining.append(int(r.headers["X-RateLimit-Remaining"]))
        assert int(r.headers["X-RateLimit-Limit"]) == 5
        assert float(r.headers["X-RateLimit-Reset"]) > time.time() - 0.5
    assert 429 in statuses and statuses.count(200) <= 5 + 5  # at most two windows' worth
    assert min(remaining) == 0
    assert sb.ibm_stats()["responses_429"]["expiration"] == statuses.count(429)
