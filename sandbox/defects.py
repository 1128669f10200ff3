"""Response defects: vendors that answer *wrongly*, one realistic misbehaviour at a time.

A pure-ASGI middleware in front of the vendor apps, configured with ``/_control/defects``
(never applied to ``/_control``; cleared by ``POST /_control/reset``). A rule:

    {"vendor": "ibm" | "uplynk" | "all",   # first path segment; default "all"
     "path": "/ibm/api/channels/*/videos.json",  # glob (has * ? [) or substring of the
                                           # request path (no query); default "" = any
     "method": "GET",                      # optional
     "kind": "...",                        # below
     "times": 3 | null,                    # first N applications, null = every matching
                                           # request (a deterministic failure repeats)
     "params": {...}}                      # per kind, below

The first rule (in order) that matches a request and is not spent decides it. Whole-response
kinds answer in place of the vendor (its state is not touched: no token issued, no PUT
applied); every other kind rewrites the vendor's own 2xx answer, and a response it cannot
apply to (an error status, a body that is not JSON, a path that matches nothing) goes out
unchanged without spending the rule. A media file (``faults.is_media``: the video bytes of
VALT's CDN) is streamed through unbuffered and unchanged: only whole-response kinds apply to
it.

Whole response:
    html_200            200 text/html error page            params: body (str)
    empty_200           200, empty body                      params: content_type
    error_envelope_200  200 with the vendor's JSON error envelope: IBM {"error": "internal",
                        "error_description": ...}, Uplynk {"error": 1, "msg": ...}, VALT (and
                        its CDN, vendor "valt-cdn") {"error": {"code": 500, "message": ...}},
                        IRIS {"errors": [...]}
                                                             params: body (any JSON)
    status              any status and body                  params: status (required),
                        body (JSON, or str sent as is; default the vendor's error envelope),
                        content_type, headers ({name: value})
Encoding (the vendor's body, bytes changed):
    bom                 UTF-8 BOM before the body
    lying_encoding      Content-Encoding: gzip on the plain body    params: encoding
    invalid_utf8        bytes FF FE inside a string value   params: path (default: the first
                        string in document order), limit
    nan                 a number replaced by NaN            params: path (default: the first
                        number), limit, literal ("NaN", "Infinity", "-Infinity")
    deep_nesting        a value nested deeper than 1,024 levels (still valid JSON)
                                                            params: path (default "x_trace",
                        created), depth (default 1100)
Record level (parse, modify, re-serialize; path syntax in defects_json.py):
    drop_key            remove the value at params.path (e.g. "changes", "end", "videos")
    wrong_type          set params.path to params.value, default a value of another type
    set_value           params.path set to params.value, or scaled (params.scale: 0.001 for
                        seconds where ms are documented, 1000 for the reverse) or shifted
                        (params.add) when numeric; params.limit: first N matches only
    paging_next_loop    an IBM listing's last page gets ``paging.next`` = page N+1, and every
                        page past the end repeats the last real page's videos, forever (each
                        fake page is one application)
    token_without_token the token answer without ``access_token``

``GET /_control/defects`` returns the rules, each with ``matched`` (requests it was chosen
for), ``applied`` (responses it changed) and ``spent``.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .defects_json import rewrite
from .faults import is_media
from .stats import vendor_of

if TYPE_CHECKING:
    from .app import SandboxState

WHOLE = ("html_200", "empty_200", "error_envelope_200", "status")
ENCODING = ("bom", "lying_encoding", "invalid_utf8", "nan", "deep_nesting")
RECORD = ("drop_key", "wrong_type", "set_value", "paging_next_loop", "token_without_token")
KINDS = WHOLE + ENCODING + RECORD
_PATHS = ("path", "limit")
PARAMS: dict[str, tuple[str, ...]] = {
    "html_200": ("body",),
    "empty_200": ("content_type",),
    "error_envelope_200": ("body",),
    "status": ("status", "body", "content_type", "headers"),
    "bom": (),
    "lying_encoding": ("encoding",),
    "invalid_utf8": _PATHS,
    "nan": (*_PATHS, "literal"),
    "deep_nesting": ("path", "depth"),
    "drop_key": _PATHS,
    "wrong_type": (*_PATHS, "value"),
    "set_value": (*_PATHS, "value", "scale", "add"),
    "paging_next_loop": (),
    "token_without_token": (),
}
BOM = b"\xef\xbb\xbf"
HTML_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>Service Unavailable</title></head>\n"
    "<body><h1>We'll be right back</h1><p>The site is under maintenance.</p></body></html>\n"
)
IBM_REASONS = {
    400: "bad_request",
    401: "invalid_token",
    403: "forbidden",
    404: "not_found",
    429: "too_many_requests",
    500: "internal",
    503: "temporarily_unavailable",
}
Headers = list[tuple[bytes, bytes]]


def envelope(vendor: str, status: int) -> dict[str, Any]:
    """The vendor's own JSON error body for ``status`` (for status 200: an internal error)."""
    if vendor == "uplynk":
        return {"error": 1, "msg": f"Internal error (sandbox defect, HTTP {status})"}
    if vendor in ("valt", "valt-cdn"):
        code = 500 if status == 200 else status
        return {"error": {"code": code, "message": f"Sandbox defect: HTTP {status}"}}
    if vendor == "iris":
        return {"errors": [f"Sandbox defect: HTTP {status}"]}
    reason = "internal" if status == 200 else IBM_REASONS.get(status, "error")
    return {"error": reason, "error_description": f"Sandbox defect: HTTP {status}"}


def _validate(kind: str, params: dict[str, Any]) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown defect kind {kind!r}; one of {KINDS}")
    unknown = set(params) - set(PARAMS[kind])
    if unknown:
        raise ValueError(f"{kind}: unknown params {sorted(unknown)}; allowed {PARAMS[kind]}")
    if kind == "status" and not 100 <= int(params.get("status", 0)) <= 599:
        raise ValueError("status: params.status (100-599) is required")
    if kind in ("drop_key", "wrong_type", "set_value") and not params.get("path"):
        raise ValueError(f"{kind}: params.path is required")
    if kind == "set_value" and sum(k in params for k in ("value", "scale", "add")) != 1:
        raise ValueError("set_value: exactly one of params.value, params.scale, params.add")
    for name in ("scale", "add", "limit", "depth"):
        v = params.get(name, 0)
        if not isinstance(v, int | float) or isinstance(v, bool):
            raise ValueError(f"{kind}: params.{name} must be a number")


@dataclass
class DefectRule:
    kind: str
    vendor: str = "all"
    path: str = ""
    method: str | None = None
    times: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    matched: int = 0
    applied: int = 0
    loop_videos: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        _validate(self.kind, self.params)
        self.vendor = str(self.vendor or "all")
        self.path = str(self.path or "")
        if self.times is not None and int(self.times) < 0:
            raise ValueError("times must be >= 0 or null")
        self.times = None if self.times is None else int(self.times)

    def matches(self, vendor: str, path: str, method: str) -> bool:
        if self.vendor not in ("all", "*", "") and self.vendor.strip("/") != vendor:
            return False
        if self.method and self.method.upper() != method:
            return False
        if any(ch in self.path for ch in "*?["):
            return fnmatch.fnmatchcase(path, self.path)
        return self.path in path

    @property
    def spent(self) -> bool:
        return self.times is not None and self.applied >= self.times

    def public(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "vendor": self.vendor,
            "path": self.path,
            "method": self.method,
            "times": self.times,
            "params": self.params,
            "matched": self.matched,
            "applied": self.applied,
            "spent": self.spent,
        }


class Defects:
    """The active rules (replaced as a whole by each POST)."""

    def __init__(self) -> None:
        self.rules: list[DefectRule] = []

    def configure(self, spec: Any) -> None:
        if isinstance(spec, dict) and "rules" in spec:
            spec = spec["rules"]
        items = spec if isinstance(spec, list) else [spec]
        rules = []
        for it in items:
            if not isinstance(it, dict):
                raise ValueError("a defect rule is a JSON object")
            unknown = set(it) - {"kind", "vendor", "path", "method", "times", "params"}
            if unknown:
                raise ValueError(f"unknown defect fields: {sorted(unknown)}")
            if "kind" not in it:
                raise ValueError("kind is required")
            params = it.get("params") or {}
            if not isinstance(params, dict):
                raise ValueError("params must be an object")
            rules.append(DefectRule(**{**it, "params": params}))
        self.rules = rules

    def clear(self) -> None:
        self.rules = []

    def pick(self, vendor: str, path: str, method: str) -> DefectRule | None:
        for r in self.rules:
            if not r.spent and r.matches(vendor, path, method):
                return r
        return None

    def public(self) -> list[dict[str, Any]]:
        return [r.public() for r in self.rules]


def whole_response(rule: DefectRule, vendor: str) -> tuple[int, Headers, bytes]:
    """The answer of a whole-response kind."""
    p = rule.params
    if rule.kind == "html_200":
        return (
            200,
            [(b"content-type", b"text/html; charset=utf-8")],
            p.get("body", HTML_PAGE).encode(),
        )
    if rule.kind == "empty_200":
        return 200, [(b"content-type", p.get("content_type", "application/json").encode())], b""
    status = 200 if rule.kind == "error_envelope_200" else int(p["status"])
    body = p.get("body", envelope(vendor, status))
    raw = body.encode() if isinstance(body, str) else orjson.dumps(body)
    ctype = p.get("content_type", "text/plain" if isinstance(body, str) else "application/json")
    headers = [(b"content-type", ctype.encode())]
    headers += [
        (str(k).lower().encode(), str(v).encode()) for k, v in (p.get("headers") or {}).items()
    ]
    return status, headers, raw


def loop_paging(rule: DefectRule, scope: dict[str, Any], body: bytes) -> bytes | None:
    """paging_next_loop: a last page (no ``next``) gets one; past the end, repeat."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("paging"), dict):
        return None
    videos = doc.get("videos")
    path = scope["path"]
    if isinstance(videos, list) and videos:
        rule.loop_videos[path] = videos
    if doc["paging"].get("next"):
        return None
    if not videos:
        doc["videos"] = rule.loop_videos.get(path, [])
    query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
    try:
        page = int(query.get("page", "1"))
    except ValueError:
        return None
    query["page"] = str(page + 1)
    host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "localhost")
    doc["paging"]["next"] = f"{scope.get('scheme', 'http')}://{host}{path}?{urlencode(query)}"
    return orjson.dumps(doc)


def rewrite_response(
    rule: DefectRule, scope: dict[str, Any], headers: Headers, body: bytes
) -> tuple[Headers, bytes] | None:
    """The vendor's 2xx answer with the rule's defect, or None when it does not apply."""
    if rule.kind == "bom":
        return (headers, BOM + body) if body else None
    if rule.kind == "lying_encoding":
        enc = str(rule.params.get("encoding", "gzip")).encode()
        return [(k, v) for k, v in headers if k.lower() != b"content-encoding"] + [
            (b"content-encoding", enc)
        ], body
    if rule.kind == "paging_next_loop":
        out = loop_paging(rule, scope, body)
    else:
        out = rewrite(rule.kind, body, rule.params)
    return None if out is None else (headers, out)


async def _send(send, status: int, headers: Headers, body: bytes) -> None:
    headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class DefectsMiddleware:
    """Serves the configured defects; passes everything through when there are none."""

    def __init__(self, app, defects: Defects, exempt: tuple[str, ...] = ("_control",)) -> None:
        self.app = app
        self.defects = defects
        self.exempt = exempt

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not self.defects.rules:
            return await self.app(scope, receive, send)
        path = scope["path"]
        vendor = vendor_of(path)
        rule = None if vendor in self.exempt else self.defects.pick(vendor, path, scope["method"])
        if rule is None:
            return await self.app(scope, receive, send)
        rule.matched += 1
        if rule.kind in WHOLE:
            rule.applied += 1
            return await _send(send, *whole_response(rule, vendor))
        start: dict[str, Any] = {}
        chunks: list[bytes] = []
        streaming = [False]  # a media file goes through as it comes

        async def buffer(message):
            if message["type"] == "http.response.start":
                streaming[0] = is_media(message.get("headers", []))
                if not streaming[0]:
                    start.update(message)
                    return
            elif message["type"] == "http.response.body" and not streaming[0]:
                chunks.append(message.get("body", b""))
                return
            await send(message)

        await self.app(scope, receive, buffer)
        if streaming[0]:
            return
        status, headers, body = start["status"], list(start.get("headers", [])), b"".join(chunks)
        out = None
        if 200 <= status < 300 and not rule.spent:
            out = rewrite_response(rule, scope, headers, body)
        if out is not None:
            rule.applied += 1
            headers, body = out
        await _send(send, status, headers, body)


def control_routes(state: SandboxState) -> list[Route]:
    """``/defects`` (mounted under /_control): GET the rules and their counts, POST one rule,
    a list or {"rules": [...]} (replaces every rule, counts from zero), DELETE clears."""

    async def defects(request: Request) -> Response:
        d: Defects = state.defects
        if request.method == "DELETE":
            d.clear()
        elif request.method == "POST":
            try:
                raw = await request.body()
                d.configure(orjson.loads(raw) if raw.strip() else [])
            except (ValueError, TypeError) as exc:
                return Response(
                    orjson.dumps({"detail": str(exc)}), 400, media_type="application/json"
                )
        return Response(orjson.dumps({"rules": d.public()}), media_type="application/json")

    return [Route("/defects", defects, methods=["GET", "POST", "DELETE"])]
