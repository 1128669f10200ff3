"""Reading and answering ``/_control`` requests: a JSON object in, JSON out."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object ({} for an empty body); ValueError for anything else."""
    raw = await request.body()
    d = orjson.loads(raw) if raw.strip() else {}
    if not isinstance(d, dict):
        raise ValueError("body must be a JSON object")
    return d


def ok(obj: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(obj), status_code=status, media_type="application/json")


def ndjson(rows: Iterable[Any], batch: int = 2000) -> StreamingResponse:
    """A streamed NDJSON answer of JSON-able rows, ``batch`` lines per chunk."""

    def gen():
        buf = []
        for row in rows:
            buf.append(orjson.dumps(row))
            if len(buf) >= batch:
                yield b"\n".join(buf) + b"\n"
                buf = []
        if buf:
            yield b"\n".join(buf) + b"\n"

    return StreamingResponse(gen(), media_type="application/x-ndjson")


class _Counted(Protocol):
    def stats(self) -> dict[str, Any]: ...
    def reset_stats(self) -> None: ...


def stats_routes(counted: Callable[[], _Counted]) -> list[Route]:
    """``GET /stats`` and ``POST /stats/reset`` (answering the zeroed stats) of the vendor
    state ``counted()`` returns (looked up per request: a world reset replaces it)."""

    async def stats(request: Request) -> Response:
        return ok(counted().stats())

    async def stats_reset(request: Request) -> Response:
        st = counted()
        st.reset_stats()
        return ok(st.stats())

    return [
        Route("/stats", stats, methods=["GET"]),
        Route("/stats/reset", stats_reset, methods=["POST"]),
    ]
