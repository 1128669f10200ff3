"""Sending an attempt with aiohttp itself, for clients that need nothing from httpx.

httpx over aiohttp (``httpx_aiohttp``) costs ~170 us of client CPU per request beyond what
aiohttp alone costs (request building, the transport adapter, the response object):
~1.8 CPU-seconds of a 1M-asset Uplynk listing. A client without an ``httpx.Auth`` flow and
without a test transport can skip it: :class:`DirectSender` builds the request (form or
JSON body, query string), sends it on one ``aiohttp.ClientSession`` and returns the raw
body (Content-Encoding not undone, as ``body.read_raw`` returns it) with a
:class:`DirectAnswer`, which offers what ``AsyncHttpClient`` reads of a response
(``status_code``, ``reason_phrase``, ``headers``). Errors are aiohttp's, which the client
already sorts into retryable and fatal ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import aiohttp
import httpx
from yarl import URL


class DirectAnswer:
    """The parts of a response ``AsyncHttpClient`` reads (names as on ``httpx.Response``)."""

    __slots__ = ("status_code", "reason_phrase", "headers")

    def __init__(self, status: int, reason: str | None, headers: Mapping[str, str]) -> None:
        self.status_code = status
        self.reason_phrase = reason or ""
        self.headers = headers


def _timeout(value: float | httpx.Timeout) -> aiohttp.ClientTimeout:
    if isinstance(value, httpx.Timeout):
        return aiohttp.ClientTimeout(
            total=None, connect=value.connect, sock_read=value.read, sock_connect=value.connect
        )
    return aiohttp.ClientTimeout(total=None, connect=value, sock_read=value, sock_connect=value)


class DirectSender:
    """One aiohttp session for one client: ``await send(...)`` per attempt."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float | httpx.Timeout,
        max_connections: int,
        headers: Mapping[str, str],
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = _timeout(timeout)
        self.max_connections = max_connections
        self.headers = dict(headers)
        self._session: aiohttp.ClientSession | None = None
        self._urls: dict[str, URL] = {}

    def _open(self) -> aiohttp.ClientSession:
        # created on first use, inside the running loop (aiohttp's requirement)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self.max_connections, limit_per_host=0),
            timeout=self.timeout,
            headers=self.headers,
            auto_decompress=False,
            skip_auto_headers=("Accept-Encoding",),
        )
        return self._session

    def url(self, url: str, params: Mapping[str, Any] | None = None) -> str:
        """The absolute URL of ``url`` (relative ones joined to the base, its path kept)."""
        full = url if "://" in url else self.base_url + ("" if url.startswith("/") else "/") + url
        if params:
            full += ("&" if "?" in full else "?") + urlencode(params, doseq=True)
        return full

    async def send(
        self,
        method: str,
        url: str,
        *,
        data: Mapping[str, Any] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> tuple[DirectAnswer, bytes, int]:
        """Send one attempt to the absolute ``url`` (see :meth:`url`): (answer, raw body,
        request body bytes)."""
        target = self._urls.get(url)
        if target is None:
            try:
                target = URL(url, encoded=True)
            except ValueError as exc:
                raise aiohttp.InvalidURL(url) from exc
            if len(self._urls) < 256:  # a client's few endpoints; never one per query
                self._urls[url] = target
        body = content
        hdrs = dict(headers) if headers else {}
        if data is not None:
            body = urlencode(data, doseq=True).encode()
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        session = self._session or self._open()
        kw: dict[str, Any] = {"data": body, "headers": hdrs or None, "allow_redirects": False}
        if timeout is not None:
            kw["timeout"] = _timeout(timeout)
        async with session.request(method, target, **kw) as resp:
            raw = await resp.read()
            answer = DirectAnswer(resp.status, resp.reason, resp.headers)
        return answer, raw, len(body or b"")

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


__all__ = ["DirectAnswer", "DirectSender"]
