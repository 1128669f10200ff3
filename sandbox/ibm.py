"""IBM Video Streaming emulation: OAuth2 token, channel video listing, video expiration.

Follows /work/shared/VENDOR_APIS.md (IBM section) and vendor-docs/ibm-video-expiration.txt:

* ``POST /ibm/oauth2/token``: form ``grant_type=client_credentials`` (+ ``client_id``), client
  secret by HTTP Basic auth -> ``{"access_token", "token_type": "bearer", "expires_in"}``.
  Bad credentials -> 400 ``invalid_client``; another grant type -> 400 ``invalid_grant``.
  Tokens really expire (``token_ttl_s``, real seconds) and can be revoked mid-run
  (``POST /_control/ibm/revoke``, now or after N more API requests).
* ``GET /ibm/api/channels/{id}/videos.json?page=N&pagesize=M``: pagesize max 50 (a larger one
  is clamped to 50, silently, as the vendor does); ``paging.next`` is an absolute URL, absent
  on the last page; ``paging.previous`` from page 2. Unknown channel -> 404 ``not_found``.
* ``GET /ibm/api/videos/{id}/expiration.json`` -> ``{"expiration": {"rule": "never"}}`` or
  ``{"expiration": {"rule": "at_given_time", "expires_at": <unix s>}}``; ``PUT`` with form
  field ``rule=never`` (the only accepted value, else 400 ``bad_request``) pins the rule to
  never. Errors: 401 ``invalid_token``, 403 ``lack_of_ownership`` / ``forbidden`` (1% of videos
  each, deterministic), 404 ``not_found`` (1% of videos, and any unknown / deleted video), 503
  ``temporarily_unavailable`` (probability ``p_503``, control). Bodies are
  ``{"error": "...", "error_description": "..."}``.
* Rate limits per endpoint (``token``, ``videos``, ``expiration``; GET and PUT share one), in
  fixed windows: every response carries ``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and
  ``X-RateLimit-Reset`` (Unix time of the window's end); over the limit -> 429 with those
  headers. Limits are set with ``POST /_control/ibm/config``; 429s served are counted.

Videos come from the shared world (see ``World.ibm_*``): ~40% of canonical assets plus
IBM-only videos, over four channels; they appear (world.advance creates), disappear (hand
deletions, and expiry: the vendor deletes a video when its expiration passes) and their
expirations change over simulated time. The expiration endpoint is served by a raw ASGI fast
path (starlette routing is too slow for >1,000 requests/s).
"""

from __future__ import annotations

import base64
import binascii
import math
import random
import secrets
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import numpy as np
import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from .credentials import IbmCredentials, ibm_credentials
from .world import IBM_CHANNEL_IDS, World

if TYPE_CHECKING:
    from .app import SandboxState

VENDOR = "ibm"
PREFIX = "/ibm"
PAGESIZE_MAX = 50
ENDPOINTS = ("token", "videos", "expiration")
DEFAULT_LIMITS = {"token": (20, 1.0), "videos": (200, 1.0), "expiration": (2000, 1.0)}
DEFAULT_TOKEN_TTL_S = 86400.0
_JSON = (b"content-type", b"application/json")


class Window:
    """Fixed-window counter for one endpoint (real Unix time)."""

    __slots__ = ("limit", "window_s", "index", "count", "served_429", "requests")

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = int(limit)
        self.window_s = float(window_s)
        self.index = -1
        self.count = 0
        self.served_429 = 0
        self.requests = 0

    def hit(self, now: float) -> tuple[bool, list[tuple[bytes, bytes]]]:
        self.requests += 1
        idx = math.floor(now / self.window_s)
        if idx != self.index:
            self.index = idx
            self.count = 0
        ok = self.count < self.limit
        if ok:
            self.count += 1
        else:
            self.served_429 += 1
        reset = (idx + 1) * self.window_s
        reset_s = str(int(round(reset))) if abs(reset - round(reset)) < 1e-6 else f"{reset:.3f}"
        return ok, [
            (b"x-ratelimit-limit", str(self.limit).encode()),
            (b"x-ratelimit-remaining", str(max(0, self.limit - self.count)).encode()),
            (b"x-ratelimit-reset", reset_s.encode()),
        ]

    def public(self) -> dict[str, Any]:
        return {"limit": self.limit, "window_s": self.window_s}


class IbmState:
    """IBM's mutable state for one world (rebuilt when the world is reset)."""

    def __init__(self, world: World, creds: IbmCredentials) -> None:
        self.world = world
        self.creds = creds
        self.lock = threading.Lock()
        self.token_ttl_s = DEFAULT_TOKEN_TTL_S
        self.tokens: dict[str, float] = {}  # token -> real expiry (Unix s)
        self.revoke_after: int | None = None
        self.limits = {ep: Window(*DEFAULT_LIMITS[ep]) for ep in ENDPOINTS}
        self.never_since: dict[str, int] = {}  # video id -> sim ms of the PUT rule=never
        self.p_503 = 0.0
        self.rng = random.Random(f"{world.seed}:ibm")
        self.tokens_issued = 0
        self.issued_log: list[str] = []  # every token issued (test ground truth; bounded)
        self.tokens_revoked = 0
        self.puts = 0
        self.responses: dict[tuple[str, int], int] = {}
        self._members: tuple[int, dict[str, list[int]]] | None = None
        self._only: dict[str, list[int]] | None = None
        self._listing: dict[str, tuple[tuple, list[tuple[bool, int]]]] = {}
        self.version = 0  # bumped by PUTs (invalidates listings)

    # -- counters / config -----------------------------------------------------------
    def count(self, endpoint: str, status: int) -> None:
        k = (endpoint, status)
        self.responses[k] = self.responses.get(k, 0) + 1

    def stats(self) -> dict[str, Any]:
        return {
            "requests": {ep: w.requests for ep, w in self.limits.items()},
            "responses_429": {ep: w.served_429 for ep, w in self.limits.items()},
            "responses": [
                {"endpoint": e, "status": s, "count": c}
                for (e, s), c in sorted(self.responses.items())
            ],
            "tokens_issued": self.tokens_issued,
            "tokens_revoked": self.tokens_revoked,
            "tokens_live": sum(1 for t in self.tokens.values() if t > time.time()),
            "puts": self.puts,
            "protected": len(self.never_since),
        }

    def reset_stats(self) -> None:
        for w in self.limits.values():
            w.requests = 0
            w.served_429 = 0
        self.responses.clear()
        self.tokens_issued = self.tokens_revoked = self.puts = 0

    def config(self) -> dict[str, Any]:
        return {
            "token_ttl_s": self.token_ttl_s,
            "rate_limits": {ep: w.public() for ep, w in self.limits.items()},
            "p_503": self.p_503,
            "pagesize_max": PAGESIZE_MAX,
            "revoke_after": self.revoke_after,
        }

    def configure(self, body: dict[str, Any]) -> None:
        unknown = set(body) - {"token_ttl_s", "rate_limits", "p_503"}
        if unknown:
            raise ValueError(f"unknown fields: {sorted(unknown)}")
        if "token_ttl_s" in body:
            ttl = float(body["token_ttl_s"])
            if ttl <= 0:
                raise ValueError("token_ttl_s must be positive")
            self.token_ttl_s = ttl
        for ep, spec in (body.get("rate_limits") or {}).items():
            if ep not in self.limits:
                raise ValueError(f"unknown endpoint {ep!r}; one of {ENDPOINTS}")
            w = self.limits[ep]
            limit = int(spec.get("limit", w.limit))
            window = float(spec.get("window_s", w.window_s))
            if limit < 1 or window <= 0:
                raise ValueError("limit must be >= 1 and window_s > 0")
            self.limits[ep] = Window(limit, window)
        if "p_503" in body:
            self.p_503 = float(body["p_503"])

    # -- tokens ------------------------------------------------------------------------
    def issue(self) -> tuple[str, int]:
        token = secrets.token_urlsafe(32)
        now = time.time()
        with self.lock:
            if len(self.tokens) > 10_000:
                self.tokens = {t: e for t, e in self.tokens.items() if e > now}
            self.tokens[token] = now + self.token_ttl_s
            self.tokens_issued += 1
            if len(self.issued_log) < 10_000:
                self.issued_log.append(token)
        return token, int(math.ceil(self.token_ttl_s))

    def revoke_all(self) -> int:
        with self.lock:
            n = len(self.tokens)
            self.tokens.clear()
            self.tokens_revoked += n
            self.revoke_after = None
        return n

    def token_ok(self, authorization: str | None) -> bool:
        if self.revoke_after is not None:
            self.revoke_after -= 1
            if self.revoke_after < 0:
                self.revoke_all()
        if not authorization:
            return False
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        exp = self.tokens.get(token.strip())
        return exp is not None and exp > time.time()

    # -- the catalog -------------------------------------------------------------------
    def decode(self, video_id: str) -> tuple[bool, int] | None:
        d = self.world.ibm_decode(video_id)
        if d is None:
            return None
        return (d[0] == "ibm_only", d[1])

    def expiration(self, vendor_only: bool, i: int, now_ms: int) -> tuple[str, int | None, bool]:
        vid = self.world.ibm_video_id(i, vendor_only)
        return self.world.ibm_expiration_at(i, vendor_only, now_ms, self.never_since.get(vid))

    def alive(self, vendor_only: bool, i: int, now_ms: int) -> bool:
        w = self.world
        if not vendor_only and (i >= w.n or w.ibm_hand_deleted(i)):
            return False
        return not self.expiration(vendor_only, i, now_ms)[2]

    def _channel_members(self) -> dict[str, list[tuple[bool, int]]]:
        w = self.world
        if self._only is None:
            j = np.arange(w.ibm_only_count, dtype=np.int64)
            chans = w.ibm_channel_ids(j, vendor_only=True) if len(j) else []
            only: dict[str, list[int]] = {c: [] for c in IBM_CHANNEL_IDS}
            for jj, c in zip(j.tolist(), chans, strict=True):
                only[c].append(jj)
            self._only = only
        if self._members is None or self._members[0] != w.n:
            idx, chans = w.ibm_member_codes()
            by: dict[str, list[int]] = {c: [] for c in IBM_CHANNEL_IDS}
            for i, c in zip(idx.tolist(), chans, strict=True):
                by[c].append(i)
            self._members = (w.n, by)
        return {
            c: [(True, j) for j in self._only[c]] + [(False, i) for i in self._members[1][c]]
            for c in IBM_CHANNEL_IDS
        }

    def listing(self, channel: str, now_ms: int) -> list[tuple[bool, int]]:
        """The channel's live videos at ``now_ms``: IBM-only ones first, then canonical
        ones by index (new videos append at the end)."""
        w = self.world
        elapsed = max(0, now_ms - w.epoch_ms)
        key = (w.n, w.mutations, self.version, elapsed // 3_600_000, elapsed // 86_400_000)
        hit = self._listing.get(channel)
        if hit is not None and hit[0] == key:
            return hit[1]
        members = self._channel_members().get(channel, [])
        live = [(vo, i) for vo, i in members if self.alive(vo, i, now_ms)]
        self._listing[channel] = (key, live)
        return live

    def video_json(self, vendor_only: bool, i: int) -> dict[str, Any]:
        v = self.world.ibm_video(i, vendor_only)
        return {
            "id": v["id"],
            "title": v["title"],
            "description": f"{v['title']} - sandbox video",
            "length": v["length"],
            "created_at": v["created_at"],
            "added_at": v["added_at"],
            "file_size": v["file_size"],
            "views": v["views"],
            "protect": v["protect"],
        }

    def expected(self, now_ms: int):
        """Every IBM video the world knows, with its state now (for tests and benches)."""
        for c, members in self._channel_members().items():
            for vo, i in members:
                vid = self.world.ibm_video_id(i, vo)
                rule, exp, expired = self.expiration(vo, i, now_ms)
                listed = self.alive(vo, i, now_ms)
                row = self.video_json(vo, i)
                row.update(
                    channel_id=c,
                    listed=listed,
                    rule=rule,
                    expires_at=exp,
                    check_error=self.world.ibm_check_error(i, vo),
                    malformed=(not vo and self.world.is_malformed(i)),
                    protected=vid in self.never_since,
                )
                yield row


def ibm_state(state: SandboxState) -> IbmState:
    st = getattr(state, "_ibm_state", None)
    if st is None or st.world is not state.world:
        creds = getattr(state, "ibm_credentials", None)
        if creds is None:
            creds = ibm_credentials()
            state.ibm_credentials = creds  # type: ignore[attr-defined]
        st = IbmState(state.world, creds)
        state._ibm_state = st  # type: ignore[attr-defined]
    return st


# ---------------------------------------------------------------------------- handlers
Result = tuple[int, list[tuple[bytes, bytes]], bytes]


def _err(status: int, error: str, description: str, headers: list) -> Result:
    body = orjson.dumps({"error": error, "error_description": description})
    if status == 401:
        headers = headers + [(b"www-authenticate", b'Bearer error="invalid_token"')]
    return status, headers, body


def _too_many(headers: list) -> Result:
    return _err(429, "too_many_requests", "Rate limit exceeded for this endpoint", headers)


def handle_token(st: IbmState, authorization: str | None, body: bytes) -> Result:
    ok, rl = st.limits["token"].hit(time.time())
    if not ok:
        return _too_many(rl)
    form = dict(parse_qsl(body.decode("latin-1"), keep_blank_values=True))
    if form.get("grant_type") != "client_credentials":
        return _err(400, "invalid_grant", "grant_type must be client_credentials", rl)
    user, password = None, None
    if authorization and authorization[:6].lower() == "basic ":
        try:
            user, _, password = base64.b64decode(authorization[6:].strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            user = None
    client_id = form.get("client_id") or user
    if (
        user is None
        or client_id != st.creds.client_id
        or user != st.creds.client_id
        or not secrets.compare_digest(password or "", st.creds.client_secret)
    ):
        return _err(400, "invalid_client", "Client authentication failed", rl)
    token, ttl = st.issue()
    body = orjson.dumps({"access_token": token, "token_type": "bearer", "expires_in": ttl})
    return 200, rl, body


def _refuse(st: IbmState, endpoint: str, authorization: str | None) -> tuple[Result | None, Any]:
    """What every API call checks first, in the vendor's order: the endpoint's rate limit
    (429), the bearer token (401), then an injected 503. Returns (refusal or None, headers)."""
    ok, rl = st.limits[endpoint].hit(time.time())
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
    st: IbmState, channel: str, query: dict[str, str], authorization: str | None, base: str
) -> Result:
    refused, rl = _refuse(st, "videos", authorization)
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
    live = st.listing(channel, now)
    chunk = live[(page - 1) * size : page * size]
    videos = [st.video_json(vo, i) for vo, i in chunk]
    url = f"{base}{PREFIX}/api/channels/{channel}/videos.json"
    paging: dict[str, str] = {}
    if page > 1:
        paging["previous"] = f"{url}?page={page - 1}&pagesize={asked}"
    if page * size < len(live):
        paging["next"] = f"{url}?page={page + 1}&pagesize={asked}"
    return 200, rl, orjson.dumps({"videos": videos, "paging": paging})


def handle_expiration(
    st: IbmState, method: str, video_id: str, authorization: str | None, body: bytes
) -> Result:
    refused, rl = _refuse(st, "expiration", authorization)
    if refused is not None:
        return refused
    if method == "PUT":
        form = dict(parse_qsl(body.decode("latin-1"), keep_blank_values=True))
        if form.get("rule") != "never":
            return _err(400, "bad_request", "rule is not provided or its value is not valid", rl)
    elif method != "GET":
        return _err(405, "method_not_allowed", "GET or PUT", rl)
    d = st.decode(video_id)
    now = st.world.now_ms()
    if d is None or not st.alive(d[0], d[1], now):
        return _err(404, "not_found", "Video was not found", rl)
    vo, i = d
    problem = st.world.ibm_check_error(i, vo)
    if problem == "lack_of_ownership":
        return _err(
            403, "lack_of_ownership", "The API user is not allowed to manage the given channel", rl
        )
    if problem == "forbidden":
        return _err(403, "forbidden", "Managing the expiration is disabled or not permitted", rl)
    if problem == "not_found":
        return _err(404, "not_found", "Video was not found", rl)
    if method == "PUT":
        vid = st.world.ibm_video_id(i, vo)
        with st.lock:
            st.never_since.setdefault(vid, now)
            st.puts += 1
            st.version += 1
        return 200, rl, b'{"success":true}'
    rule, exp, _ = st.expiration(vo, i, now)
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


def routes(state: SandboxState) -> list[Route]:
    async def token(request: Request) -> Response:
        st = ibm_state(state)
        res = handle_token(st, request.headers.get("authorization"), await request.body())
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
        )
        st.count("expiration", res[0])
        return _response(res)

    return [
        Route("/oauth2/token", token, methods=["POST"]),
        Route("/api/channels/{channel}/videos.json", videos, methods=["GET"]),
        Route("/api/videos/{video}/expiration.json", expiration, methods=["GET", "PUT"]),
    ]


def fast_paths(state: SandboxState) -> dict[str, Any]:
    """``/ibm/api/videos/*`` as a raw ASGI app (the expiration endpoint's hot path)."""
    prefix = f"{PREFIX}/api/videos/"
    suffix = "/expiration.json"

    async def app(scope, receive, send) -> None:
        path: str = scope["path"]
        method = scope["method"]
        body = b""
        if method == "PUT":
            chunks = []
            while True:
                m = await receive()
                chunks.append(m.get("body", b""))
                if not m.get("more_body"):
                    break
            body = b"".join(chunks)
        st = ibm_state(state)
        if not path.endswith(suffix) or "/" in path[len(prefix) : -len(suffix)]:
            res = _err(404, "not_found", "No such endpoint", [])
        else:
            auth = None
            for k, v in scope["headers"]:
                if k == b"authorization":
                    auth = v.decode("latin-1")
                    break
            res = handle_expiration(st, method, path[len(prefix) : -len(suffix)], auth, body)
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


# ---------------------------------------------------------------------------- control
def control_routes(state: SandboxState) -> list[Route]:
    """Mounted under /_control/ibm: config, revoke, stats, videos (expected state), tokens."""

    async def _json_body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        d = orjson.loads(raw) if raw.strip() else {}
        if not isinstance(d, dict):
            raise ValueError("body must be a JSON object")
        return d

    def ok(obj: Any, status: int = 200) -> Response:
        return Response(orjson.dumps(obj), status_code=status, media_type="application/json")

    async def config(request: Request) -> Response:
        st = ibm_state(state)
        if request.method == "POST":
            try:
                st.configure(await _json_body(request))
            except (ValueError, TypeError, AttributeError) as exc:
                return ok({"detail": str(exc)}, 400)
        return ok(st.config())

    async def revoke(request: Request) -> Response:
        """Revoke every live token now, or ``{"after_requests": N}``: after N more API
        requests (a revocation in the middle of a run, at a deterministic point)."""
        st = ibm_state(state)
        try:
            b = await _json_body(request)
        except ValueError as exc:
            return ok({"detail": str(exc)}, 400)
        if b.get("after_requests") is not None:
            st.revoke_after = int(b["after_requests"])
            return ok({"revoke_after": st.revoke_after})
        return ok({"revoked": st.revoke_all()})

    async def stats(request: Request) -> Response:
        return ok(ibm_state(state).stats())

    async def stats_reset(request: Request) -> Response:
        st = ibm_state(state)
        st.reset_stats()
        return ok(st.stats())

    async def tokens(request: Request) -> Response:
        """Every access token issued since the world was built (for secret-leak tests)."""
        return ok({"tokens": list(ibm_state(state).issued_log)})

    async def videos(request: Request) -> Response:
        st = ibm_state(state)
        now = state.world.now_ms()
        state.world.settle(now)

        def gen():
            buf = []
            for row in st.expected(now):
                buf.append(orjson.dumps(row))
                if len(buf) >= 5000:
                    yield b"\n".join(buf) + b"\n"
                    buf = []
            if buf:
                yield b"\n".join(buf) + b"\n"

        return StreamingResponse(gen(), media_type="application/x-ndjson")

    return [
        Route("/config", config, methods=["GET", "POST"]),
        Route("/revoke", revoke, methods=["POST"]),
        Route("/stats", stats, methods=["GET"]),
        Route("/stats/reset", stats_reset, methods=["POST"]),
        Route("/videos", videos, methods=["GET"]),
        Route("/tokens", tokens, methods=["GET"]),
    ]


def env_lines(base_url: str, state: SandboxState) -> list[tuple[str, str]]:
    c = ibm_state(state).creds
    return [
        ("IBM_VIDEO_API_URL", f"{base_url}{PREFIX}/api"),
        ("IBM_VIDEO_TOKEN_URL", f"{base_url}{PREFIX}/oauth2/token"),
        ("IBM_VIDEO_CLIENT_ID", c.client_id),
        ("IBM_VIDEO_CLIENT_SECRET", c.client_secret),
        ("IBM_VIDEO_CHANNEL_IDS", ",".join(c.channel_ids)),
    ]
