"""Uplynk api2 emulation: signed requests, /api2/asset/{changes,get,list}.

As the vendor documents it (the api2 asset API):

* Every /api2 request carries ``msg`` and ``sig``, as GET query parameters or a POST
  form-urlencoded body (both accepted). ``msg`` = base64(zlib(json)); ``sig`` = lowercase hex
  HMAC-SHA256 of the msg bytes keyed with the API key. The JSON must carry ``_owner`` (the
  account's owner id) and ``_timestamp`` (int Unix seconds, at most 300 s from the REAL clock).
* Every response is HTTP 200 with a JSON object holding an integer ``error`` (0 = success);
  failures carry ``msg``.
* ``asset/changes``: ``start`` (ms, required); changes with ts >= start in ts order, at most
  ``changes_page_size`` per page; ``end`` = ts of the last change when the page is full, else
  the feed's now (inclusive at both ends). ``assets`` maps ids to the CURRENT state, except a
  deterministic ``changes_assets_omit_prob`` share of LIVE assets, which the client must fetch
  with asset/get (deleted assets are always included, with ``deleted``). Ordinary churn never
  puts a page (or more) of changes in one millisecond (at most changes_page_size - 1, while
  ``cap_changes_per_ms``), so paging with start=end makes progress; a burst
  (POST /_control/uplynk/burst) does: a page then holds changes_page_size changes at one ms,
  ``end`` is that ms, and asking again with start=end returns the same page (no sub-ms paging).
* ``asset/get``: exactly one of id / external_id / ids / external_ids, at most 1000; duplicates
  ignored; single form -> ``asset`` (an unknown or deleted one: error), list forms ->
  ``assets``: unknown / deleted ids skipped (``get_unknown="skip"``), or the whole batch
  answered ``{"error": 1, "msg": "asset not found: <first such id>"}`` (``"error"``).
* ``asset/list``: skip, limit 1..100 (default 100), order, query (or deprecated search);
  live assets only; ``shared_assets`` is always empty. Default order: ``created`` ascending.

Quirks the vendor may show (world knobs, sandbox/world/knobs.py; defaults = off):
``uplynk_clock_offset_s`` (the feed's clock, so every served timestamp, ``end`` and the
reading of ``start``, runs that far ahead of / behind the simulated clock; signing stays on
the real clock), ``create_action`` (creates served as ``"create"``), ``numbers_as_strings``
(that share of assets serve duration/autoexpire/created/lastmod as numeric strings),
``get_unknown``, ``cap_changes_per_ms``. Ground truth: /_control/uplynk/{expected,stats}.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import zlib
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import numpy as np
import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .clock import real_now_s
from .uplynk_control import control_routes as control_routes  # mounted at /_control/uplynk
from .uplynk_control import served
from .world.uplynk import with_media_base

if TYPE_CHECKING:
    from .app import SandboxState

VENDOR = "uplynk"
PREFIX = "/uplynk"
MAX_SKEW_S = 300
MAX_GET = 1000


class ApiError(Exception):
    pass


def _json(body: bytes | str) -> Response:
    if isinstance(body, str):
        body = body.encode()
    return Response(body, status_code=200, media_type="application/json")


def _error(msg: str) -> Response:
    return _json(orjson.dumps({"error": 1, "msg": msg}))


def sign(
    params: dict[str, Any], owner: str, api_key: str, timestamp: int | None = None
) -> dict[str, str]:
    """Client-side signing, as the vendor documents it (used by tests and tools)."""
    body = dict(params)
    body["_owner"] = owner
    body["_timestamp"] = real_now_s() if timestamp is None else int(timestamp)
    msg = base64.b64encode(zlib.compress(orjson.dumps(body), 9)).decode()
    sig = hmac.new(api_key.encode(), msg.encode(), hashlib.sha256).hexdigest()
    return {"msg": msg, "sig": sig}


async def _request_fields(request: Request) -> dict[str, str]:
    fields: dict[str, str] = dict(request.query_params)
    if request.method == "POST":
        raw = await request.body()
        if raw:
            fields.update(parse_qsl(raw.decode("latin-1"), keep_blank_values=True))
    return fields


def verify(fields: dict[str, str], owner: str, api_key: str) -> dict[str, Any]:
    """Check msg/sig as the vendor does; return the decoded parameters or raise ApiError."""
    msg = fields.get("msg")
    sig = fields.get("sig")
    if not msg or not sig:
        raise ApiError("missing msg or sig")
    good = hmac.new(api_key.encode(), msg.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(good, sig):
        raise ApiError("invalid signature")
    try:
        data = orjson.loads(zlib.decompress(base64.b64decode(msg, validate=False)))
    except (binascii.Error, zlib.error, orjson.JSONDecodeError, ValueError) as exc:
        raise ApiError("could not decode msg") from exc
    if not isinstance(data, dict):
        raise ApiError("msg is not a JSON object")
    if data.get("_owner") != owner:
        raise ApiError("invalid owner")
    ts = data.get("_timestamp")
    if not isinstance(ts, int) or isinstance(ts, bool):
        raise ApiError("missing or invalid _timestamp")
    if abs(real_now_s() - ts) > MAX_SKEW_S:
        raise ApiError("request timestamp is too old or too far in the future")
    return data


def _int_param(data: dict[str, Any], name: str, default: int | None = None) -> int:
    v = data.get(name, default)
    if v is None:
        raise ApiError(f"missing required parameter: {name}")
    if isinstance(v, bool):
        raise ApiError(f"invalid {name}")
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str) and v.strip().lstrip("-").isdigit():
        return int(v.strip())
    raise ApiError(f"invalid {name}")


def _list_param(v: Any, name: str) -> list[str]:
    if isinstance(v, str):
        s = v.strip()
        if s.startswith("["):
            try:
                v = orjson.loads(s)
            except orjson.JSONDecodeError as exc:
                raise ApiError(f"invalid {name}") from exc
        else:
            v = [p.strip() for p in s.split(",") if p.strip()]
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ApiError(f"{name} must be a list of strings")
    return v


def handlers(state: SandboxState) -> dict[str, Any]:
    """action -> handler(fields) -> JSON text; errors become {"error": 1, "msg": ...}."""

    def changes(data: dict[str, Any]) -> str:
        world = state.world
        start = _int_param(data, "start")
        ts, names, idx, end = world.uplynk_changes(start)
        ids = world.uplynk_ids(idx)
        ch = ",".join(f'[{t},"{a}","{i}"]' for t, a, i in zip(ts, names, ids, strict=True))
        uniq, first = np.unique(idx, return_index=True)
        uniq = uniq[np.argsort(first)]
        uniq = uniq[~world.omitted_from_changes(uniq)]
        uids = world.uplynk_ids(uniq)
        js = world.uplynk_json(uniq)
        assets = ",".join(f'"{a}":{j}' for a, j in zip(uids, js, strict=True))
        served(state).changes_pages += 1
        return f'{{"changes":[{ch}],"assets":{{{assets}}},"start":{start},"end":{end},"error":0}}'

    def get(data: dict[str, Any]) -> str:
        world = state.world
        given = [k for k in ("id", "external_id", "ids", "external_ids") if k in data]
        if len(given) != 1:
            raise ApiError("specify exactly one of id, external_id, ids, external_ids")
        key = given[0]
        world.settle()
        if key in ("id", "external_id"):
            v = data[key]
            i = world.uplynk_index(v) if key == "id" else world.external_index(v)
            if i is None or world.deleted_ms[i] != 0:
                raise ApiError("asset not found")
            return '{"asset":' + world.uplynk_json(np.array([i]))[0] + ',"error":0}'
        vals = _list_param(data[key], key)
        if len(vals) > MAX_GET:
            raise ApiError(f"at most {MAX_GET} assets may be retrieved per request")
        dec = world.uplynk_index if key == "ids" else world.external_index
        seen: set[int] = set()
        found: list[int] = []
        unknown: list[str] = []
        for v in vals:
            i = dec(v)
            if i is None or world.deleted_ms[i] != 0:
                if v not in unknown:
                    unknown.append(v)
            elif i not in seen:
                seen.add(i)
                found.append(i)
        counts = served(state)
        counts.get_batches += 1
        counts.get_unknown_ids += len(unknown)
        if unknown and world.get_unknown == "error":
            counts.get_error_batches += 1
            raise ApiError(f"asset not found: {unknown[0]}")
        js = world.uplynk_json(np.array(found, dtype=np.int64))
        return '{"assets":[' + ",".join(js) + '],"error":0}'

    def list_(data: dict[str, Any]) -> str:
        world = state.world
        limit = _int_param(data, "limit", 100)
        if not 1 <= limit <= 100:
            raise ApiError("limit must be between 1 and 100")
        skip = _int_param(data, "skip", 0)
        if skip < 0:
            raise ApiError("skip must be >= 0")
        query = data.get("query", data.get("search"))
        if query is not None and not isinstance(query, str):
            raise ApiError("invalid query")
        world.settle()
        try:
            res = world.list_order(data.get("order"), query)
        except ValueError as exc:
            raise ApiError(str(exc)) from exc
        js = world.uplynk_json(res[skip : skip + limit])
        return '{"assets":[' + ",".join(js) + '],"shared_assets":[],"error":0}'

    def unsupported(data: dict[str, Any]) -> str:
        raise ApiError("not supported by the sandbox")

    table = {"changes": changes, "get": get, "list": list_}

    def handle(action: str, fields: dict[str, str], base: str = "") -> bytes:
        """``base``: ``scheme://host`` the request addressed, put in front of mp4_urls."""
        creds = state.uplynk_credentials
        try:
            data = verify(fields, creds.owner, creds.api_key)
            return with_media_base(table.get(action, unsupported)(data).encode(), base)
        except ApiError as exc:
            return orjson.dumps({"error": 1, "msg": str(exc)})

    return handle


def routes(state: SandboxState) -> list[Route]:
    """Routes mounted under /uplynk (the same handlers also serve the ASGI fast path)."""
    handle = handlers(state)

    async def ep(request: Request) -> Response:
        try:
            fields = await _request_fields(request)
        except ValueError:
            return _error("could not parse the request")
        base = f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"
        return _json(handle(request.path_params["action"], fields, base))

    return [
        Route("/api2/asset/{action}", ep, methods=["GET", "POST"]),
        Route("/api2/{rest:path}", ep_unsupported, methods=["GET", "POST"]),
    ]


async def ep_unsupported(request: Request) -> Response:
    return _error("not supported by the sandbox")


def fast_paths(state: SandboxState) -> dict[str, Any]:
    """Raw ASGI handlers for the hot endpoints (skip starlette routing and Request objects)."""
    handle = handlers(state)

    def make(action: str):
        async def app(scope, receive, send) -> None:
            fields = dict(
                parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
            )
            if scope["method"] == "POST":
                chunks = []
                while True:
                    m = await receive()
                    chunks.append(m.get("body", b""))
                    if not m.get("more_body"):
                        break
                raw = b"".join(chunks)
                if raw:
                    fields.update(parse_qsl(raw.decode("latin-1"), keep_blank_values=True))
            elif scope["method"] != "GET":
                body = b'{"error":1,"msg":"method not allowed"}'
                fields = None
            if fields is not None:
                body = handle(action, fields, _base(scope))
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})

        return app

    return {f"{PREFIX}/api2/asset/{a}": make(a) for a in ("changes", "get", "list")}


def _base(scope) -> str:
    """``scheme://host`` of a raw ASGI request (the Host header, else the server address)."""
    for k, v in scope["headers"]:
        if k == b"host":
            return f"{scope.get('scheme', 'http')}://{v.decode('latin-1')}"
    host, port = scope.get("server") or ("127.0.0.1", 80)
    return f"{scope.get('scheme', 'http')}://{host}:{port}"


def env_lines(base_url: str, state: SandboxState) -> list[tuple[str, str]]:
    """Lines printed at startup (KEY=value) for this vendor."""
    c = state.uplynk_credentials
    return [
        ("UPLYNK_BASE_URL", f"{base_url}{PREFIX}"),
        ("UPLYNK_OWNER", c.owner),
        ("UPLYNK_API_KEY", c.api_key),
    ]
