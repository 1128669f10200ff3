"""VALT (IPIVS) API v3 emulation: login, recordings list and details, download URLs, the CDN.

What the vendor documents, as served here (prefix ``/valt``):

* ``POST /api/v3/login``, JSON ``{"username", "password"}`` -> 200 ``{"data": {"access_token":
  "<32 hex>"}}``; wrong credentials (or missing fields) -> 401 ``{"data": "Invalid username or
  password"}``; a body that is not a JSON object -> 500. Tokens live ``token_ttl_s`` real
  seconds and can be revoked (``POST /_control/valt/revoke``).
* Every other call takes ``?access_token=`` in the query string. None (or empty) -> 401
  ``{"error": {"code": 401, "message": "No API key provided"}}``; unknown, expired or revoked ->
  401 ``{"error": {"code": 401, "message": "Bad credentials."}}``. Auth is checked before
  anything else.
* ``POST /api/v3/records``, optional JSON body: ``search`` (case-insensitive substring of the
  name), ``start_date`` / ``end_date`` (``MM-DD-YYYY``, inclusive, on the UTC date of
  ``created``), ``filter`` (ignored), ``offset`` (default 0), ``limit`` (default 50, clamped to
  ``list_cap``) -> ``{"data": {"records": [...]}}``, live recordings by ``created`` then id, no
  total. A body that is not JSON, not an object, or holds a bad date / offset / limit -> 500
  ``{"error": {"code": 500, "message": ...}}``.
* ``GET /api/v3/records/{id}`` -> ``{"data": {...}}`` with the listed fields plus ``template``,
  ``retention``, ``markers``, ``videos``; unknown or deleted -> 404 RFC 7807 body.
* ``GET /api/v3/records/download/{recordID}/{videoID}`` -> the CDN URL (valt_cdn.py) at the top
  level ``{"url"}`` or under ``{"data": {"url"}}`` (knob ``download_shape``); 404 RFC 7807.

Recordings: valt_catalog.py over ``World.valt_*``; knobs and counters: valt_state.py; control
endpoints (``/_control/valt``): valt_control.py. Every path is served by raw ASGI fast paths
(``/valt/*`` and ``/valt-cdn/*``): the 50,000-recording benchmark makes tens of thousands of
detail calls.
"""

from __future__ import annotations

import calendar
import re
import secrets
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import orjson
from starlette.routing import Route

from .valt_cdn import CDN_PREFIX, DIST, NOT_FOUND, download_filename, mint_jwt, serve_cdn
from .valt_control import control_routes
from .valt_state import ValtState, valt_state

if TYPE_CHECKING:
    from .app import SandboxState

VENDOR = "valt"
PREFIX = "/valt"
API = PREFIX + "/api/v3"
DEFAULT_LIMIT = 50
_DATE = re.compile(r"^(\d{2})-(\d{2})-(\d{4})$")

__all__ = ["PREFIX", "VENDOR", "control_routes", "env_lines", "fast_paths", "routes"]

Result = tuple[int, bytes]


def _error(code: int, message: str) -> Result:
    return code, orjson.dumps({"error": {"code": code, "message": message}})


class BadRequest(ValueError):
    """A request body VALT cannot read: answered 500, as the vendor does."""


def _auth(st: ValtState, query: dict[str, str]) -> Result | None:
    token = query.get("access_token")
    if not token:
        return _error(401, "No API key provided")
    if not st.token_ok(token):
        return _error(401, "Bad credentials.")
    return None


def _json_object(body: bytes, empty_ok: bool) -> dict[str, Any]:
    if not body.strip() and empty_ok:
        return {}
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadRequest("Syntax error") from None
    if doc is None and empty_ok:
        return {}
    if not isinstance(doc, dict):
        raise BadRequest("The request body must be a JSON object")
    return doc


def handle_login(st: ValtState, body: bytes) -> Result:
    try:
        doc = _json_object(body, empty_ok=False)
    except BadRequest as exc:
        return _error(500, str(exc))
    user, password = doc.get("username"), doc.get("password")
    c = st.creds
    if (
        isinstance(user, str)
        and isinstance(password, str)
        and secrets.compare_digest(user.encode(), c.username.encode())
        and secrets.compare_digest(password.encode(), c.password.encode())
    ):
        st.counters["logins"] += 1
        return 200, orjson.dumps({"data": {"access_token": st.issue()}})
    st.counters["login_failures"] += 1
    return 401, b'{"data":"Invalid username or password"}'


def _date(value: Any, name: str) -> int | None:
    """``MM-DD-YYYY`` -> Unix s of that UTC midnight (None when absent)."""
    if value is None or value == "":
        return None
    m = _DATE.match(value) if isinstance(value, str) else None
    if m is None:
        raise BadRequest(f"Invalid {name}: expected MM-DD-YYYY")
    month, day, year = (int(g) for g in m.groups())
    try:
        time.strptime(f"{year:04d}-{month:02d}-{day:02d}", "%Y-%m-%d")
    except ValueError:
        raise BadRequest(f"Invalid {name}: no such date") from None
    return calendar.timegm((year, month, day, 0, 0, 0))


def _count(value: Any, name: str, default: int, low: int) -> int:
    if value is None:
        return default
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise BadRequest(f"Invalid {name}: expected an integer >= {low}")
    return value


def handle_records(st: ValtState, query: dict[str, str], body: bytes) -> Result:
    refused = _auth(st, query)
    if refused is not None:
        return refused
    try:
        doc = _json_object(body, empty_ok=True)
        search = doc.get("search")
        if search is not None and not isinstance(search, str):
            raise BadRequest("Invalid search: expected a string")
        start = _date(doc.get("start_date"), "start_date")
        end = _date(doc.get("end_date"), "end_date")
        offset = _count(doc.get("offset"), "offset", 0, 0)
        limit = min(_count(doc.get("limit"), "limit", DEFAULT_LIMIT, 1), st.list_cap)
    except BadRequest as exc:
        return _error(500, str(exc))
    end_excl = None if end is None else end + 86_400
    records = st.catalog.page(search or None, start, end_excl, offset, limit)
    return 200, orjson.dumps({"data": {"records": records}})


def handle_details(st: ValtState, query: dict[str, str], record_id: str) -> Result:
    refused = _auth(st, query)
    if refused is not None:
        return refused
    code = st.catalog.live_code(record_id)
    if code is None:
        return 404, NOT_FOUND
    return 200, orjson.dumps({"data": st.catalog.details(code)})


def handle_download(
    st: ValtState, query: dict[str, str], record_id: str, video_id: str, base: str, host: str
) -> Result:
    refused = _auth(st, query)
    if refused is not None:
        return refused
    code = st.catalog.live_code(record_id)
    if code is None:
        return 404, NOT_FOUND
    rec = st.catalog.details(code)
    ids = [v["id"] for v in rec["videos"]]
    if video_id not in ids:
        return 404, NOT_FOUND
    n = ids.index(video_id) + 1
    jwt = mint_jwt(st.secret, host, st.download_ttl_s, int(time.time()))
    st.log_url_token(jwt)
    rid = str(rec["id"])
    url = (
        f"{base}{DIST}{rid}/{n}_{rid}_{n}.mp4"
        f"?filename={download_filename(rec['name'], rec['created'])}&access_token={jwt}"
    )
    shape = st.download_shape
    if shape == "mixed":
        shape = "top" if st.downloads_served % 2 == 0 else "data"
    st.downloads_served += 1
    st.counters["urls_minted"] += 1
    return 200, orjson.dumps({"url": url} if shape == "top" else {"data": {"url": url}})


# ---------------------------------------------------------------------------- ASGI
def _dispatch(
    st: ValtState, method: str, tail: list[str], query: dict[str, str], body: bytes, scope
) -> tuple[str, Result]:
    """(endpoint name for the counters, answer) of one API request; ``tail`` = the path
    after /valt/api/v3, split on "/"."""
    if tail == ["login"]:
        return "login", (handle_login(st, body) if method == "POST" else _not_allowed())
    if tail == ["records"]:
        return "records", (handle_records(st, query, body) if method == "POST" else _not_allowed())
    if len(tail) == 2 and tail[0] == "records" and tail[1]:
        return "details", (
            handle_details(st, query, tail[1]) if method == "GET" else _not_allowed()
        )
    if len(tail) == 4 and tail[:2] == ["records", "download"] and tail[2] and tail[3]:
        if method != "GET":
            return "download", _not_allowed()
        host = _header(scope, b"host") or "localhost"
        base = f"{scope.get('scheme', 'http')}://{host}"
        return "download", handle_download(st, query, tail[2], tail[3], base, host.split(":")[0])
    return "other", (404, NOT_FOUND)


def _not_allowed() -> Result:
    return _error(405, "Method Not Allowed")


def _header(scope, name: bytes) -> str | None:
    return next((v.decode("latin-1") for k, v in scope["headers"] if k == name), None)


async def _read_body(receive) -> bytes:
    chunks = []
    while True:
        m = await receive()
        chunks.append(m.get("body", b""))
        if not m.get("more_body"):
            return b"".join(chunks)


def fast_paths(state: SandboxState) -> dict[str, Any]:
    """``/valt/*`` (the API) and ``/valt-cdn/*`` (the CDN) as raw ASGI apps."""

    async def api(scope, receive, send) -> None:
        st = valt_state(state)
        path: str = scope["path"]
        method = scope["method"]
        body = await _read_body(receive) if method == "POST" else b""
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        tail = path[len(API) + 1 :].split("/") if path.startswith(API + "/") else []
        endpoint, (status, out) = _dispatch(st, method, tail, query, body, scope)
        if endpoint != "other":
            st.count(endpoint, status)
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(out))]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": out})

    async def cdn(scope, receive, send) -> None:
        st = valt_state(state)
        status = [0]

        async def noting_send(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await serve_cdn(st, scope, noting_send)
        finally:  # counted even when a fault cuts the body short
            st.count("cdn", status[0])

    return {PREFIX + "/*": api, CDN_PREFIX + "/*": cdn}


def routes(state: SandboxState) -> list[Route]:
    """Nothing for starlette: every VALT path is a fast path (see ``fast_paths``)."""
    return []


def env_lines(base_url: str, state: SandboxState) -> list[tuple[str, str]]:
    c = valt_state(state).creds
    return [
        ("VALT_BASE_URL", f"{base_url}{PREFIX}"),
        ("VALT_USERNAME", c.username),
        ("VALT_PASSWORD", c.password),
    ]
