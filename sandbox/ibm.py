"""IBM Video Streaming emulation: OAuth2 token, channel video listing, video expiration.

As the vendor documents it (the token, channel listing and video expiration APIs):

* ``POST /ibm/oauth2/token``: form ``grant_type=client_credentials`` and ``client_id``, client
  secret by HTTP Basic auth -> ``{"access_token", "token_type": "bearer", "expires_in"}``.
  Errors, in this order: 400 ``invalid_request`` (no ``grant_type`` or no ``client_id`` in the
  form), 501 ``unsupported_grant_type`` (a grant type the vendor does not know), 400
  ``invalid_client`` (bad or missing Basic credentials, a form ``client_id`` that is not
  theirs), 400 ``invalid_grant`` (``authorization_code`` / ``refresh_token`` / ``password``:
  grants the vendor knows but this client never received). Tokens really expire
  (``token_ttl_s``, real seconds) and can be revoked mid-run (``POST /_control/ibm/revoke``).
* ``GET /ibm/api/channels/{id}/videos.json?page=N&pagesize=M``: newest first (the vendor's
  "recent" order; knob ``listing_order``); pagesize max 50 (a larger one is clamped to 50,
  silently, as the vendor does); ``paging`` holds ``previous`` (from page 2) and ``next``
  (absent on the last page) as absolute URLs, ``item_count`` and ``page_count``. Unknown
  channel -> 404 ``not_found``. Knob ``listing_churn`` uploads and deletes videos between the
  pages of a listing (ibm_churn.py); the ground truth is ``GET /_control/ibm/listings``.
* ``GET /ibm/api/videos/{id}/expiration.json`` -> ``{"expiration": {"rule": "never"}}`` or
  ``{"expiration": {"rule": "at_given_time", "expires_at": <unix s>}}``; ``PUT`` with form
  field ``rule=never`` (the only accepted value, else 400 ``bad_request``) pins the rule to
  never and answers 200 with an empty body (knob ``put_body="json"``: ``{"success":true}``).
  Errors: 401 ``invalid_token``, 403 ``lack_of_ownership`` / ``forbidden`` (1% of videos
  each, deterministic), 404 ``not_found`` (1% of videos, and any unknown / deleted video), 503
  ``temporarily_unavailable`` (probability ``p_503``). Bodies are
  ``{"error": "...", "error_description": "..."}``.
* Rate limits in fixed windows, per endpoint (``token``, ``videos``, ``expiration``; GET and
  PUT share one) or, with ``ratelimit_scope="client"``, one budget per client address shared
  by the API endpoints (the token endpoint keeps its own). Every response carries the
  ``X-RateLimit-Limit``, ``-Remaining`` and ``-Reset`` (Unix time of the window's end) of the
  budget that applied; over it -> 429 with those headers.

Videos come from the shared world (``World.ibm_*``, see ibm_catalog.py). The expiration
endpoint is served by a raw ASGI fast path (starlette routing is too slow for >1,000
requests/s). State and knobs: ibm_state.py; control endpoints: ibm_control.py.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .ibm_control import control_routes
from .ibm_state import PAGESIZE_MAX, IbmState, ibm_state
from .world import IBM_CHANNEL_IDS

if TYPE_CHECKING:
    from .app import SandboxState

VENDOR = "ibm"
PREFIX = "/ibm"
_JSON = (b"content-type", b"application/json")
# grant types the vendor knows but a client-credentials client never holds a grant for
_OTHER_GRANTS = ("authorization_code", "refresh_token", "password")

__all__ = ["PREFIX", "VENDOR", "control_routes", "env_lines", "fast_paths", "routes"]

Result = tuple[int, list[tuple[bytes, bytes]], bytes]


def _err(status: int, error: str, description: str, headers: list) -> Result:
    body = orjson.dumps({"error": error, "error_description": description})
    if status == 401:
        headers = headers + [(b"www-authenticate", b'Bearer error="invalid_token"')]
    return status, headers, body


def _too_many(headers: list) -> Result:
    return _err(429, "too_many_requests", "Rate limit exceeded", headers)


def _basic_user(authorization: str | None) -> tuple[str | None, str]:
    if not authorization or authorization[:6].lower() != "basic ":
        return None, ""
    try:
        user, _, password = base64.b64decode(authorization[6:].strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None, ""
    return user, password


def handle_token(st: IbmState, authorization: str | None, body: bytes, client: str) -> Result:
    ok, rl = st.limits.hit("token", client, time.time())
    if not ok:
        return _too_many(rl)
    form = dict(parse_qsl(body.decode("latin-1"), keep_blank_values=True))
    grant = form.get("grant_type")
    for name in ("grant_type", "client_id"):
        if not form.get(name):
            return _err(400, "invalid_request", f"Missing required parameter: {name}", rl)
    if grant != "client_credentials" and grant not in _OTHER_GRANTS:
        return _err(501, "unsupported_grant_type", "The grant type is not supported", rl)
    user, password = _basic_user(authorization)
    if (
        user is None
        or user != st.creds.client_id
        or form["client_id"] != st.creds.client_id
        or not secrets.compare_digest(password, st.creds.client_secret)
    ):
        return _err(400, "invalid_client", "Client authentication failed", rl)
    if grant != "client_credentials":
        return _err(400, "invalid_grant", "The authorization grant is invalid or revoked", rl)
    token, ttl = st.issue()
    out = orjson.dumps({"access_token": token, "token_type": "bearer", "expires_in": ttl})
    return 200, rl, out


def _refuse(
    st: IbmState, endpoint: str, authorization: str | None, client: str
) -> tuple[Result | None, Any]:
    """What every API call checks first, in the vendor's order: the rate limit (429), the
    bearer token (401), then an injected 503. Returns (refusal or None, headers)."""
    ok, rl = st.limits.hit(endpoint, client, time.time())
    if not ok:
        return _too_many(rl), rl
    if not st.token_ok(authorization):
        return _err(
            401,
            "invalid_token",
            "The provided access token is missing, revoked, expired or malformed",
            rl,
        ), rl
    if st.p_503 and st.rng.random() < st.p_503:
        return _err(503, "temporarily_unavailable", "Temporary error, try again later", rl), rl
    return None, rl


def handle_videos(
    st: IbmState,
    channel: str,
    query: dict[str, str],
    authorization: str | None,
    base: str,
    client: str,
) -> Result:
    refused, rl = _refuse(st, "videos", authorization, client)
    if refused is not None:
        return refused
    if channel not in IBM_CHANNEL_IDS:
        return _err(404, "not_found", "Channel was not found", rl)
    try:
        page = int(query.get("page", "1"))
        asked = int(query.get("pagesize", str(PAGESIZE_MAX)))
    except ValueError:
        return _err(400, "bad_request", "page and pagesize must be integers", rl)
    if page < 1 or asked < 1:
        return _err(400, "bad_request", "page and pagesize must be positive", rl)
    size = min(asked, PAGESIZE_MAX)
    now = st.world.now_ms()
    st.world.settle(now)
    live = st.catalog.listing(channel, now)
    videos = [st.catalog.video_json(k) for k in live[(page - 1) * size : page * size]]
    url = f"{base}{PREFIX}/api/channels/{channel}/videos.json"
    paging: dict[str, Any] = {}
    if page > 1:
        paging["previous"] = f"{url}?page={page - 1}&pagesize={asked}"
    last = page * size >= len(live)
    if not last:
        paging["next"] = f"{url}?page={page + 1}&pagesize={asked}"
    paging["item_count"] = len(live)
    paging["page_count"] = -(-len(live) // size)
    body = orjson.dumps({"videos": videos, "paging": paging})
    st.listings.page_served(channel, page, size, live, last, now)
    return 200, rl, body


def handle_expiration(
    st: IbmState, method: str, video_id: str, authorization: str | None, body: bytes, client: str
) -> Result:
    refused, rl = _refuse(st, "expiration", authorization, client)
    if refused is not None:
        return refused
    if method == "PUT":
        form = dict(parse_qsl(body.decode("latin-1"), keep_blank_values=True))
        if form.get("rule") != "never":
            return _err(400, "bad_request", "rule is not provided or its value is not valid", rl)
    elif method != "GET":
        return _err(405, "method_not_allowed", "GET or PUT", rl)
    cat = st.catalog
    key = cat.decode(video_id)
    now = st.world.now_ms()
    if key is None or not cat.alive(key, now):
        return _err(404, "not_found", "Video was not found", rl)
    problem = cat.check_error(key)
    if problem == "lack_of_ownership":
        return _err(
            403, "lack_of_ownership", "The API user is not allowed to manage the given channel", rl
        )
    if problem == "forbidden":
        return _err(403, "forbidden", "Managing the expiration is disabled or not permitted", rl)
    if problem == "not_found":
        return _err(404, "not_found", "Video was not found", rl)
    if method == "PUT":
        cat.protect(key, now)
        st.puts += 1
        return 200, rl, (b'{"success":true}' if st.put_body == "json" else b"")
    rule, exp, _ = cat.expiration(key, now)
    if rule == "never":
        return 200, rl, b'{"expiration":{"rule":"never"}}'
    return 200, rl, b'{"expiration":{"rule":"at_given_time","expires_at":%d}}' % exp


# ---------------------------------------------------------------------------- starlette
def _response(res: Result) -> Response:
    status, headers, body = res
    r = Response(body, status_code=status, media_type="application/json")
    for k, v in headers:
        r.headers[k.decode()] = v.decode()
    return r


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def routes(state: SandboxState) -> list[Route]:
    async def token(request: Request) -> Response:
        st = ibm_state(state)
        res = handle_token(
            st, request.headers.get("authorization"), await request.body(), _client(request)
        )
        st.count("token", res[0])
        return _response(res)

    async def videos(request: Request) -> Response:
        st = ibm_state(state)
        base = f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"
        res = handle_videos(
            st,
            request.path_params["channel"],
            dict(request.query_params),
            request.headers.get("authorization"),
            base,
            _client(request),
        )
        st.count("videos", res[0])
        return _response(res)

    async def expiration(request: Request) -> Response:
        st = ibm_state(state)
        res = handle_expiration(
            st,
            request.method,
            request.path_params["video"],
            request.headers.get("authorization"),
            await request.body(),
            _client(request),
        )
        st.count("expiration", res[0])
        return _response(res)

    return [
        Route("/oauth2/token", token, methods=["POST"]),
        Route("/api/channels/{channel}/videos.json", videos, methods=["GET"]),
        Route("/api/videos/{video}/expiration.json", expiration, methods=["GET", "PUT"]),
    ]


async def _read_body(receive) -> bytes:
    chunks = []
    while True:
        m = await receive()
        chunks.append(m.get("body", b""))
        if not m.get("more_body"):
            return b"".join(chunks)


def fast_paths(state: SandboxState) -> dict[str, Any]:
    """``/ibm/api/videos/*`` as a raw ASGI app (the expiration endpoint's hot path)."""
    prefix = f"{PREFIX}/api/videos/"
    suffix = "/expiration.json"

    async def app(scope, receive, send) -> None:
        path: str = scope["path"]
        method = scope["method"]
        body = await _read_body(receive) if method == "PUT" else b""
        st = ibm_state(state)
        if not path.endswith(suffix) or "/" in path[len(prefix) : -len(suffix)]:
            res = _err(404, "not_found", "No such endpoint", [])
        else:
            auth = None
            for k, v in scope["headers"]:
                if k == b"authorization":
                    auth = v.decode("latin-1")
                    break
            client = scope.get("client")
            video = path[len(prefix) : -len(suffix)]
            res = handle_expiration(
                st, method, video, auth, body, client[0] if client else "unknown"
            )
            st.count("expiration", res[0])
        status, headers, out = res
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [_JSON, (b"content-length", str(len(out)).encode()), *headers],
            }
        )
        await send({"type": "http.response.body", "body": out})

    return {prefix + "*": app}


def env_lines(base_url: str, state: SandboxState) -> list[tuple[str, str]]:
    c = ibm_state(state).creds
    return [
        ("IBM_VIDEO_API_URL", f"{base_url}{PREFIX}/api"),
        ("IBM_VIDEO_TOKEN_URL", f"{base_url}{PREFIX}/oauth2/token"),
        ("IBM_VIDEO_CLIENT_ID", c.client_id),
        ("IBM_VIDEO_CLIENT_SECRET", c.client_secret),
        ("IBM_VIDEO_CHANNEL_IDS", ",".join(c.channel_ids)),
    ]
