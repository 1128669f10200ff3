"""IRIS.TV emulation: OAuth token, Watch / Next / Update, the IRIS_ID data API and the
source_url refresh, as the vendor documents them (personalization and source-URL refresh
documents) plus the contract's details:

* ``POST /iris/oauth/access_token``: form (urlencoded or multipart, as the doc's ``curl -F``)
  ``grant_type=none``, ``client_id``, ``client_secret``, ``scope=iris_tv`` -> 200
  ``{"access_token": "<40 hex>", "scope": "iris_tv"}``. A wrong client -> 401; another
  grant_type or scope -> 400. Tokens live ``token_ttl_s`` real seconds and can be revoked
  (``POST /_control/iris/revoke``).
* Every other call carries ``access_token`` and ``client_token`` in the query string, checked
  in this order: a wrong or missing ``client_token``, or no ``access_token`` -> 401
  ``{"errors": ["IRIS API: Check your authentication credentials"]}``; an unknown, expired or
  revoked access token -> 401 ``{"errors": ["The access token is no longer valid"]}`` (JSON,
  also on Watch and Next).
* ``GET /iris/watch?platform_id=&platform=&number=&user_id=&recs_only=true[&callback=]`` ->
  200 ``text/javascript`` JSONP in the samples' style (iris_jsonp.py): the asked-about asset
  first, then ``number`` recommendations (clamped to ``number_max``), and a new
  ``experience``. A platform_id IRIS does not hold exactly -> ``'default_recs': true`` and the
  default recommendations, no echo. ``platform`` must name the client's platform (any case).
* ``GET /iris/next?experience=&number=`` -> the experience's next ``number`` recommendations
  (JSONP, no echo); ``GET /iris/update?experience=&behavior[play]=1...`` -> JSON
  ``{"success": true, "behavior": {...}, "experience": ...}``. A missing or unknown
  experience -> 400 ``{"errors": ["invalid experience"]}``. Every Watch/Next whose
  ``recs_only`` is not exactly ``true`` is counted (stats ``recs_only_violations``), before
  any other check: a call refused with 401 or 400 counts too.
* ``GET /iris/v2/context/data_partner/metadata/video_assets?iris_id=`` -> the record
  (iris_catalog.py); unknown IRIS_ID -> 204, empty body; no iris_id -> 400.
* ``GET .../video_assets/source_url?iris_id=`` -> ``{"iris_id", "source_url"}``: a new URL
  (``url_ttl_s``), or for the assets the vendor cannot regenerate a URL that has already
  expired; NOT_AVAILABLE for an asset without one. 400 without iris_id, 404 for an unknown
  one, 500/503 with probability ``refresh_error_p``. Refreshes the vendor's rules forbid are
  counted (``refresh_violations``) and still answered.

Errors are ``{"errors": [strings]}``. State and knobs: iris_state.py; control endpoints:
iris_control.py; the media CDN serving the source URLs: media_cdn.py.
"""

from __future__ import annotations

import re
import secrets
import time
from email.parser import BytesParser
from email.policy import default as email_policy
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .iris_catalog import NOT_AVAILABLE
from .iris_control import control_routes
from .iris_jsonp import CALLBACK_RE, render
from .iris_state import IrisState, iris_state

if TYPE_CHECKING:
    from .app import SandboxState

VENDOR = "iris"
PREFIX = "/iris"
DATA_PATH = "/v2/context/data_partner/metadata/video_assets"
BAD_CREDENTIALS = "IRIS API: Check your authentication credentials"
NO_LONGER_VALID = "The access token is no longer valid"
INVALID_EXPERIENCE = "invalid experience"
_BEHAVIOR = re.compile(r"^behavior\[([a-z_]{1,40})\]$")

__all__ = ["PREFIX", "VENDOR", "control_routes", "env_lines", "routes"]


class IrisError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _json(obj: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(obj), status_code=status, media_type="application/json")


def _errors(status: int, message: str) -> Response:
    return _json({"errors": [message]}, status)


def base_of(request: Request) -> str:
    """``scheme://host[:port]`` as the client addressed the server."""
    return f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"


async def read_form(request: Request) -> dict[str, str]:
    """A urlencoded or multipart/form-data body as a dict (strings only)."""
    body = await request.body()
    ctype = request.headers.get("content-type", "")
    if ctype.lower().startswith("multipart/form-data"):
        msg = BytesParser(policy=email_policy).parsebytes(
            b"Content-Type: " + ctype.encode("latin-1") + b"\r\n\r\n" + body
        )
        out = {}
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name:
                content = part.get_content()
                out[str(name)] = content if isinstance(content, str) else content.decode()
        return out
    return dict(parse_qsl(body.decode("latin-1"), keep_blank_values=True))


def check_auth(st: IrisState, q: dict[str, str]) -> None:
    """The client token first (a wrong one is not fixed by a new access token), then the
    access token. Raises IrisError(401)."""
    client_token = q.get("client_token") or ""
    if not secrets.compare_digest(client_token, st.creds.client_token):
        raise IrisError(401, BAD_CREDENTIALS)
    token = q.get("access_token")
    if not token:
        raise IrisError(401, BAD_CREDENTIALS)
    if not st.token_ok(token):
        raise IrisError(401, NO_LONGER_VALID)


def _number(st: IrisState, q: dict[str, str]) -> int:
    raw = q.get("number")
    if raw is None or raw == "":
        raise IrisError(400, "number is required")
    try:
        n = int(raw)
    except ValueError as exc:
        raise IrisError(400, "number must be an integer") from exc
    if n < 1:
        raise IrisError(400, "number must be at least 1")
    return min(n, st.knobs["number_max"])


def _callback(q: dict[str, str]) -> str | None:
    cb = q.get("callback")
    if cb and not CALLBACK_RE.match(cb):
        raise IrisError(400, "invalid callback")
    return cb or None


def _count_recs_only(st: IrisState, q: dict[str, str]) -> None:
    value = q.get("recs_only")
    if value != "true":
        st.recs_only_values["<missing>" if value is None else value[:20]] += 1


def _jsonp(text: str) -> Response:
    return Response(text.encode(), media_type="text/javascript")


def handle_watch(st: IrisState, q: dict[str, str], base: str) -> Response:
    _count_recs_only(st, q)
    check_auth(st, q)
    platform_id = q.get("platform_id")
    if not platform_id:
        raise IrisError(400, "platform_id is required")
    if (q.get("platform") or "").lower() != st.creds.platform.lower():
        raise IrisError(400, "invalid platform")
    number = _number(st, q)
    callback = _callback(q)
    w = st.world
    code = w.iris_platform_index(platform_id)
    version = 0 if code is None else w.iris_version(code)
    codes = w.iris_recommendations(code, version, number)
    experience = st.start_experience(code, version, len(codes))
    if code is not None:
        codes = [code, *codes]
    items = [st.catalog.watch_item(c, base) for c in codes]
    return _jsonp(render(callback, items, experience, default_recs=code is None))


def _experience(st: IrisState, q: dict[str, str]):
    eid = q.get("experience") or ""
    exp = st.experiences.get(eid)
    if exp is None:
        raise IrisError(400, INVALID_EXPERIENCE)
    return eid, exp


def handle_next(st: IrisState, q: dict[str, str], base: str) -> Response:
    _count_recs_only(st, q)
    check_auth(st, q)
    eid, exp = _experience(st, q)
    number = _number(st, q)
    callback = _callback(q)
    codes = st.world.iris_recommendations(exp.code, exp.version, exp.served + number)
    codes = codes[exp.served :]
    exp.served += len(codes)
    items = [st.catalog.watch_item(c, base) for c in codes]
    return _jsonp(render(callback, items, eid, watch=False))


def handle_update(st: IrisState, q: list[tuple[str, str]]) -> Response:
    d = dict(q)
    check_auth(st, d)
    eid, exp = _experience(st, d)
    behavior: dict[str, Any] = {}
    for k, v in q:
        m = _BEHAVIOR.match(k)
        if m is None:
            continue
        try:
            num = float(v)
        except ValueError as exc:
            raise IrisError(400, f"invalid {k}") from exc
        behavior[m.group(1)] = int(num) if num.is_integer() else num
        st.behaviors[m.group(1)] += 1
    exp.updates += 1
    return _json({"success": True, "behavior": behavior, "experience": eid})


def handle_asset(st: IrisState, q: dict[str, str], base: str) -> Response:
    check_auth(st, q)
    iris_id = q.get("iris_id")
    if not iris_id:
        raise IrisError(400, "iris_id is required")
    st.note_asset_read(iris_id)
    code = st.catalog.decode(iris_id)
    if code is None:
        return Response(b"", status_code=204)
    return _json(st.catalog.record(code, base))


def handle_refresh(st: IrisState, q: dict[str, str], base: str) -> Response:
    check_auth(st, q)
    iris_id = q.get("iris_id")
    if not iris_id:
        raise IrisError(400, "The request did not include an iris_id")
    st.note_refresh()
    cat = st.catalog
    code = cat.decode(iris_id)
    if code is None:
        raise IrisError(404, "IRIS_ID not found")
    w = st.world
    available = w.iris_source_kind(code) != "not_available"
    if not available:
        st.refresh_violations["not_available"] += 1
    elif code in cat.gave_up:
        st.refresh_violations["after_expired"] += 1
    p = st.knobs["refresh_error_p"]
    if p and st.rng.random() < p:
        status = 500 if st.rng.random() < 0.5 else 503
        st.refresh_outcomes[f"error_{status}"] += 1
        raise IrisError(status, "The IRIS.TV server encountered an error; please retry")
    if not available:
        st.refresh_outcomes["not_available"] += 1
        return _json({"iris_id": iris_id, "source_url": NOT_AVAILABLE})
    now = int(time.time())
    if cat.expires(code) > now:
        st.refreshes_before_expiry += 1
    if code in cat.gave_up or w.iris_refresh_expired(code):
        cat.refreshed[code] = now - 60 - (w._iris_h(code) >> 40) % 3600
        cat.gave_up.add(code)
        st.refresh_outcomes["expired"] += 1
    else:
        cat.refreshed[code] = now + st.knobs["url_ttl_s"]
        st.refresh_outcomes["refreshed"] += 1
    return _json({"iris_id": iris_id, "source_url": cat.source_url(code, base)})


async def handle_token(st: IrisState, request: Request) -> Response:
    form = await read_form(request)
    cid = form.get("client_id") or ""
    secret = form.get("client_secret") or ""
    if not (
        secrets.compare_digest(cid, st.creds.client_id)
        and secrets.compare_digest(secret, st.creds.client_secret)
    ):
        raise IrisError(401, BAD_CREDENTIALS)
    if form.get("grant_type") != "none":
        raise IrisError(400, "unsupported grant_type: use grant_type=none")
    if form.get("scope") != "iris_tv":
        raise IrisError(400, "invalid scope: use scope=iris_tv")
    return _json({"access_token": st.issue(), "scope": "iris_tv"})


def routes(state: SandboxState) -> list[Route]:
    """Routes mounted under /iris (see the module docstring)."""

    def endpoint(name: str, handler):
        async def ep(request: Request) -> Response:
            st = iris_state(state)
            try:
                res = await handler(st, request)
            except IrisError as exc:
                res = _errors(exc.status, str(exc))
            st.count(name, res.status_code)
            return res

        return Route(
            "/oauth/access_token" if name == "token" else PATHS[name],
            ep,
            methods=["POST"] if name == "token" else ["GET"],
        )

    async def watch(st, request):
        return handle_watch(st, dict(request.query_params), base_of(request))

    async def next_(st, request):
        return handle_next(st, dict(request.query_params), base_of(request))

    async def update(st, request):
        return handle_update(st, request.query_params.multi_items())

    async def asset(st, request):
        return handle_asset(st, dict(request.query_params), base_of(request))

    async def refresh(st, request):
        return handle_refresh(st, dict(request.query_params), base_of(request))

    table = {
        "token": handle_token,
        "watch": watch,
        "next": next_,
        "update": update,
        "video_assets": asset,
        "source_url": refresh,
    }
    return [endpoint(name, h) for name, h in table.items()]


PATHS = {
    "watch": "/watch",
    "next": "/next",
    "update": "/update",
    "video_assets": DATA_PATH,
    "source_url": DATA_PATH + "/source_url",
}


def env_lines(base_url: str, state: SandboxState) -> list[tuple[str, str]]:
    c = iris_state(state).creds
    return [
        ("IRIS_BASE_URL", f"{base_url}{PREFIX}"),
        ("IRIS_CLIENT_ID", c.client_id),
        ("IRIS_CLIENT_SECRET", c.client_secret),
        ("IRIS_CLIENT_TOKEN", c.client_token),
        ("IRIS_PLATFORM", c.platform),
    ]
