"""Streaming a video from VALT's CDN to a file: resumable, verified, hashed on the way.

The body goes to ``<final>.part`` in chunks (never whole in memory). Every request asks
``Range: bytes=<size of the part>-``, so a part left by an interrupted attempt or run is
resumed, its bytes hashed first so the sha256 covers the whole file. The length is checked
against ``Content-Range`` (206) or ``Content-Length`` (200, a server that ignores ranges:
the part starts over); a ``416`` whose ``bytes */size`` equals the part means it is
complete. Only a complete, verified part is renamed into place.

A 403 is the CDN refusing an expired URL: a new one is minted once and the download
resumes. A URL about to expire (``exp`` within the margin) is replaced before a request is
made. 429, 5xx and transport failures (the connection cut mid-body included) are retried
with the shared :class:`~connector.http.RetryPolicy`; the count of failures in a row resets
whenever bytes arrive. The URL with its token is used only in the request: every log line
and error shows the URL without it (and the redactor masks the token anyway).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from connector.http import Redactor, RetryPolicy, default_redactor
from connector.valt.client import MintedUrl

log = logging.getLogger(__name__)

_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")
_UNSATISFIED = re.compile(r"^bytes \*/(\d+)$")
Mint = Callable[[], Awaitable[MintedUrl | None]]


class DownloadError(RuntimeError):
    """The video could not be downloaded. The message is redacted when the error is made
    (it names the URL without its token anyway)."""

    def __init__(self, message: str) -> None:
        super().__init__(default_redactor().redact(message))


class VideoGone(DownloadError):
    """VALT or its CDN answered 404: the recording or video no longer exists."""


class _Retryable(Exception):
    def __init__(self, why: str, headers: httpx.Headers | None = None) -> None:
        super().__init__(why)
        self.headers = headers


@dataclass
class Downloaded:
    """A file in place: its length, sha256, and what it took."""

    path: Path
    nbytes: int
    sha256: str
    resumed_from: int = 0  # bytes of a .part found at the start
    requests: int = 0
    range_resumes: int = 0  # requests that continued a non-empty part
    remints: int = 0


def sha256_of(path: Path, sha: hashlib._Hash | None = None, chunk: int = 1 << 20) -> str:
    """sha256 hex of a file, read in chunks (``sha`` is updated when given)."""
    sha = sha or hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            sha.update(block)
    return sha.hexdigest()


class _Part:
    """The ``.part`` file being written: its size and the running sha256 of its bytes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = path.stat().st_size if path.exists() else 0
        self.sha = hashlib.sha256()

    async def hash_existing(self) -> None:
        if self.size:
            await asyncio.to_thread(sha256_of, self.path, self.sha)

    def restart(self) -> None:
        self.path.write_bytes(b"")
        self.size, self.sha = 0, hashlib.sha256()


class CdnDownloader:
    """Downloads videos with one pooled ``httpx.AsyncClient`` (see the module doc)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        redactor: Redactor,
        *,
        retry: RetryPolicy | None = None,
        remint_margin_s: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.http = http
        self.redactor = redactor
        self.retry = retry or RetryPolicy()
        self.remint_margin_s = remint_margin_s
        self.clock = clock

    def _stale(self, url: MintedUrl) -> bool:
        """True when ``url`` expires within the margin (10% of its life at most)."""
        if url.expires_at_ms is None:
            return False
        life_s = max(0.0, (url.expires_at_ms - url.minted_at_ms) / 1000)
        margin = min(self.remint_margin_s, 0.1 * life_s)
        return url.expires_at_ms / 1000 - margin <= self.clock()

    async def fetch(self, url: MintedUrl, mint: Mint, final: Path) -> Downloaded:
        """Download to ``final`` (via ``final.part``); ``mint`` makes a new URL."""
        final.parent.mkdir(parents=True, exist_ok=True)
        part = _Part(final.with_name(final.name + ".part"))
        await part.hash_existing()
        done = Downloaded(final, 0, "", resumed_from=part.size)
        total: int | None = None
        failures, reminted_for_403 = 0, False
        while total is None or part.size < total:
            if self._stale(url):
                url = await self._remint(mint, done, "about to expire")
            before = part.size
            try:
                status, total = await self._request(url, part, total, done)
            except _Retryable as exc:
                failures = 0 if part.size > before else failures + 1
                await self._pause(failures, exc, url)
                continue
            if status == 403:
                if reminted_for_403:
                    raise DownloadError(f"CDN refused a fresh URL (403): {url.stored_url}")
                url, reminted_for_403 = await self._remint(mint, done, "refused (403)"), True
                continue
            failures, reminted_for_403 = 0, False
        if part.size != total:
            part.restart()
            raise DownloadError(f"{url.stored_url}: got {part.size} bytes, expected {total}")
        await asyncio.to_thread(_fsync_and_replace, part.path, final)
        done.nbytes, done.sha256 = part.size, part.sha.hexdigest()
        return done

    async def _remint(self, mint: Mint, done: Downloaded, why: str) -> MintedUrl:
        fresh = await mint()
        if fresh is None:
            raise VideoGone("the download answered 404 when a new URL was minted")
        done.remints += 1
        log.info("valt download URL %s: minted a new one", why)
        return fresh

    async def _pause(self, failures: int, exc: _Retryable, url: MintedUrl) -> None:
        """Wait before the next attempt; none after one that brought bytes (``failures``
        is then 0); DownloadError once ``failures`` reaches the policy's attempts."""
        if failures >= self.retry.max_attempts:
            raise DownloadError(f"{url.stored_url}: gave up after {failures} failures: {exc}")
        wait = self.retry.compute_wait(failures, headers=exc.headers) if failures else 0.0
        log.warning(
            "valt download %s: %s; retrying in %.2fs",
            self.redactor.url(url.stored_url),
            self.redactor.redact(str(exc)),
            wait,
        )
        await asyncio.sleep(wait)

    async def _request(
        self, url: MintedUrl, part: _Part, total: int | None, done: Downloaded
    ) -> tuple[int, int | None]:
        """One GET from the part's size on: (status, total length known after it)."""
        done.requests += 1
        done.range_resumes += part.size > 0
        headers = {"Range": f"bytes={part.size}-", "Accept-Encoding": "identity"}
        try:
            async with self.http.stream("GET", url.url, headers=headers) as resp:
                log.debug(
                    "valt GET %s (from byte %d) -> %d",
                    self.redactor.url(url.url),
                    part.size,
                    resp.status_code,
                )
                return await self._answer(resp, url, part, total)
        except httpx.TransportError as exc:
            raise _Retryable(f"{type(exc).__name__}: {exc or 'connection lost'}") from None

    async def _answer(
        self, resp: httpx.Response, url: MintedUrl, part: _Part, total: int | None
    ) -> tuple[int, int | None]:
        status, where = resp.status_code, url.stored_url
        if status in (403, 404):
            if status == 404:
                raise VideoGone(f"CDN answered 404 for {where}")
            return status, total
        if status == 429 or status >= 500:
            raise _Retryable(f"CDN answered {status}", resp.headers)
        if status == 416:
            size = _unsatisfied_size(resp)
            if size is not None and size == part.size:
                return status, size  # the part is the whole file
            part.restart()  # longer than the file: start over
            return status, total
        if status == 206:
            first, length = _content_range(resp, where)
            if first != part.size:
                raise _Retryable(f"CDN answered bytes from {first}, asked from {part.size}")
        elif status == 200:
            if "content-range" in resp.headers:
                raise _Retryable("CDN answered 200 with a Content-Range (a cut response)")
            if part.size:
                part.restart()  # the server ignores ranges: the whole file again
            length = _content_length(resp, where)
        else:
            raise DownloadError(f"CDN answered {status} for {where}")
        if total is not None and length != total:
            raise _Retryable(f"CDN says the file has {length} bytes, earlier {total}")
        await self._write_body(resp, part)
        return status, length

    async def _write_body(self, resp: httpx.Response, part: _Part) -> None:
        with part.path.open("ab") as f:
            try:
                # as received: a chunker would hold bytes back, lost if the connection drops
                async for chunk in resp.aiter_raw():
                    f.write(chunk)
                    part.sha.update(chunk)
                    part.size += len(chunk)
            finally:
                f.flush()


def _content_range(resp: httpx.Response, where: str) -> tuple[int, int]:
    """(first byte, total length) of a 206's ``Content-Range``."""
    m = _CONTENT_RANGE.match(resp.headers.get("content-range", "").strip())
    if m is None:
        raise DownloadError(f"CDN answered 206 without a usable Content-Range for {where}")
    return int(m.group(1)), int(m.group(3))


def _content_length(resp: httpx.Response, where: str) -> int:
    value = resp.headers.get("content-length", "")
    if not value.isdigit():
        raise DownloadError(f"CDN answered 200 without a Content-Length for {where}")
    return int(value)


def _unsatisfied_size(resp: httpx.Response) -> int | None:
    m = _UNSATISFIED.match(resp.headers.get("content-range", "").strip())
    return None if m is None else int(m.group(1))


def _fsync_and_replace(part: Path, final: Path) -> None:
    with part.open("rb+") as f:
        os.fsync(f.fileno())
    os.replace(part, final)
